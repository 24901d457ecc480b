#include "intel/rules.h"
#include "intel/rules_internal.h"

#include "intel/project.h"
#include "intel/scan.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/glob.h"
#include "util/json.h"
#include "util/map.h"
#include "util/str.h"
#include "util/vec.h"
#include "util/xalloc.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Evidence quotes values; long ones are cut so a document stays readable. */
#define RULES_EVIDENCE_VALUE_MAX 80
/* A finding carried from a workspace root is a little weaker than its own proof. */
#define RULES_INHERIT_FACTOR 0.9

/* ------------------------------------------------------------------ */
/* Accessors                                                            */

size_t rules_count(const struct rule_set *rules)
{
	return rules->rules.len;
}

const struct rule *rules_get(const struct rule_set *rules, size_t i)
{
	return vec_get(&rules->rules, i);
}

const struct rule *rules_find(const struct rule_set *rules, const char *id)
{
	return map_get(rules->by_id, id);
}

double rules_threshold(const struct rule_set *rules)
{
	return rules->threshold;
}

const char *rule_id(const struct rule *rule)
{
	return rule->id;
}

const char *rule_name(const struct rule *rule)
{
	return rule->name;
}

enum finding_kind rule_kind(const struct rule *rule)
{
	return rule->kind;
}

const char *rule_ecosystem(const struct rule *rule)
{
	return rule->ecosystem;
}

const char *rule_language(const struct rule *rule)
{
	return rule->language;
}

int rule_port(const struct rule *rule)
{
	return rule->port;
}

const char *rule_var(const struct rule *rule, const char *name)
{
	return rule->vars ? map_get(rule->vars, name) : NULL;
}

enum rule_front_end rule_front_end(const struct rule *rule)
{
	return rule->front_end;
}

const struct vec *rule_targets_in(const struct rule *rule)
{
	return &rule->targets_in;
}

const struct vec *rules_script_fallbacks(const struct rule_set *rules, enum command_kind kind)
{
	return &rules->script_fallbacks[kind];
}

const char *rules_image_program(const struct rule_set *rules, const char *image, const char *first)
{
	for (size_t i = 0; image && first && i < rules->image_programs.len; i++) {
		const struct image_program *ip = rules->image_programs.items[i];
		if (!str_eq(ip->image, image))
			continue;
		for (size_t j = 0; j < ip->first.len; j++)
			if (fnmatch(ip->first.items[j], first, 0) == 0)
				return ip->program;
		return NULL;
	}
	return NULL;
}

const char *rule_command(const struct rule *rule, enum command_kind kind)
{
	size_t n = rule->command_counts[kind];
	const struct command_alternative *last = n ? &rule->commands[kind][n - 1] : NULL;
	return last && command_alternative_unconditional(last) ? last->run : NULL;
}

static void project_prefix(const struct project *p, struct buf *out)
{
	buf_reset(out);
	if (*p->dir)
		buf_addf(out, "%s/", p->dir);
}

/*
 * Whether a file under p's folder matches g (relative to it): nested
 * projects' files too, for the tree is what `when_file` asks about (a
 * Flutter app's android/ holds a Gradle build of its own).
 */
static bool project_has_file(const struct project *p, const struct scan *scan, const struct glob *g)
{
	struct buf prefix = BUF_INIT;
	project_prefix(p, &prefix);
	bool found = false;
	for (size_t i = scan_first_under(scan, buf_cstr(&prefix)); i < scan->files.len && !found;
	     i++) {
		const struct scan_file *f = scan->files.items[i];
		if (!str_starts_with(f->path, buf_cstr(&prefix)))
			break;
		found = glob_matches(g, f->path + prefix.len);
	}
	buf_free(&prefix);
	return found;
}

/*
 * Whether one of p's own files that the alternative's `in` globs match
 * (relative to p->dir) holds its `when_content` pattern. Vendored files and
 * files over SCAN_CONTENT_LIMIT are not read, as for content signals.
 */
static bool project_has_content(const struct project *p, const struct scan *scan,
				const struct command_alternative *alt)
{
	struct buf prefix = BUF_INIT, text = BUF_INIT;
	project_prefix(p, &prefix);
	bool found = false;
	pcre2_match_data *match = pcre2_match_data_create(1, NULL);
	for (size_t i = scan_first_under(scan, buf_cstr(&prefix)); i < scan->files.len && !found;
	     i++) {
		const struct scan_file *f = scan->files.items[i];
		if (!str_starts_with(f->path, buf_cstr(&prefix)))
			break;
		if (f->project != p || f->foreign)
			continue;
		bool wanted = false;
		for (size_t g = 0; g < alt->when_in.len && !wanted; g++)
			wanted = glob_matches(alt->when_in.items[g], f->path + prefix.len);
		buf_reset(&text);
		if (!wanted || scan_read(scan, f, &text, NULL) < 0)
			continue;
		/* Any error, a hit match limit included, is no proof. */
		found = pcre2_match(alt->when_re, (PCRE2_SPTR)buf_cstr(&text), text.len, 0, 0,
				    match, (pcre2_match_context *)alt->match_context) >= 0;
	}
	pcre2_match_data_free(match);
	buf_free(&text);
	buf_free(&prefix);
	return found;
}

/* Whether every placeholder of template_text has a value in vars. */
static bool placeholders_known(const char *template_text, const struct map *vars)
{
	struct buf scratch = BUF_INIT;
	bool known = rules_expand(template_text, vars, &scratch) == 0;
	buf_free(&scratch);
	return known;
}

const char *rule_project_command(const struct rule *rule, enum command_kind kind,
				 const struct project *p, const struct scan *scan,
				 const struct map *vars)
{
	for (size_t i = 0; i < rule->command_counts[kind]; i++) {
		const struct command_alternative *alt = &rule->commands[kind][i];
		if (alt->when_target)
			continue; /* the project's own targets: rule_target_command */
		if (alt->when_entry_point && (!vars || !placeholders_known(alt->run, vars)))
			continue;
		if ((!alt->when_file || project_has_file(p, scan, alt->when_glob)) &&
		    (!alt->when_dependency || project_dependency(p, alt->when_dependency)) &&
		    (!alt->when_content || project_has_content(p, scan, alt)))
			return alt->run;
	}
	return NULL;
}

const char *rule_target_command(const struct rule *rule, enum command_kind kind,
				rule_target_fn holds, void *ctx)
{
	for (size_t i = 0; i < rule->command_counts[kind]; i++) {
		const struct command_alternative *alt = &rule->commands[kind][i];
		if (alt->when_target && alt->run && holds(alt->when_target, kind, ctx))
			return alt->run;
	}
	return NULL;
}

int rules_expand(const char *template_text, const struct map *vars, struct buf *out)
{
	int rc = 0;
	for (const char *c = template_text; *c;) {
		size_t n = *c == '{' ? strspn(c + 1, "abcdefghijklmnopqrstuvwxyz_") : 0;
		if (!n || c[1 + n] != '}' || (c > template_text && c[-1] == '$')) {
			buf_addch(out, *c++);
			continue;
		}
		struct buf name = BUF_INIT;
		buf_add(&name, c + 1, n);
		const char *value = vars ? map_get(vars, name.data) : NULL;
		buf_free(&name);
		if (!value) {
			buf_add(out, c, n + 2);
			rc = -1;
		} else {
			buf_adds(out, value);
		}
		c += n + 2;
		if (value && !*value && *c == ' ')
			c++;
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* Evaluation                                                           */

struct signal_hit {
	bool matched;
	char *evidence; /* malloc'd */
};

/* What one apply call keeps: the file being looked at is read at most once. */
struct apply {
	const struct rule_set *rules;
	struct scan *scan;
	pcre2_match_data *match;
	const struct scan_file *file; /* whose content/json below are cached */
	struct buf content;
	int content_state; /* 0 unread, 1 read, -1 unreadable */
	json_t *json;
	int json_state;
};

static const char *apply_content(struct apply *a, const struct scan_file *f)
{
	if (a->file != f) {
		a->file = f;
		a->content_state = a->json_state = 0;
		json_decref(a->json);
		a->json = NULL;
	}
	if (a->content_state == 0) {
		struct err e = ERR_INIT;
		a->content_state = 1;
		if (scan_file_size(a->scan, f) > SCAN_CONTENT_LIMIT) {
			a->content_state = -1;
		} else if (scan_read(a->scan, f, &a->content, &e) < 0) {
			/* A binary file is simply not what a pattern looks for. */
			if (!str_ends_with(e.msg, "binary file"))
				scan_warn(a->scan, "%s", e.msg);
			a->content_state = -1;
		}
	}
	return a->content_state > 0 ? buf_cstr(&a->content) : NULL;
}

static json_t *apply_json(struct apply *a, const struct scan_file *f)
{
	const char *text = apply_content(a, f);
	if (text && a->json_state == 0) {
		struct err e = ERR_INIT;
		/* An invalid manifest is the manifest reader's to report. */
		a->json_state =
			json_read_string(&a->json, f->path, text, a->content.len, &e) == 0 ? 1 : -1;
	}
	return a->json_state > 0 ? a->json : NULL;
}

static bool pattern_matches(const struct apply *a, const pcre2_code *re, const char *text,
			    size_t len, size_t *offset)
{
	/* Any error, a hit match limit included, is no proof. */
	int rc = pcre2_match(re, (PCRE2_SPTR)text, len, 0, 0, a->match, a->rules->match_context);
	if (rc >= 0 && offset)
		*offset = pcre2_get_ovector_pointer(a->match)[0];
	return rc >= 0;
}

static char *evidence_quote(const char *fmt_head, const char *value)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, fmt_head);
	size_t len = strcspn(value, "\r\n");
	if (len > RULES_EVIDENCE_VALUE_MAX)
		len = RULES_EVIDENCE_VALUE_MAX;
	buf_add(&b, value, len);
	if (value[len])
		buf_adds(&b, "...");
	return buf_detach(&b);
}

/* Looks up "a.b.c" in a JSON document; NULL when any step is missing. */
static json_t *json_key_path(json_t *doc, const char *path)
{
	struct buf key = BUF_INIT;
	json_t *node = doc;
	for (const char *c = path; node;) {
		size_t n = strcspn(c, ".");
		buf_reset(&key);
		buf_add(&key, c, n);
		node = json_is_object(node) ? json_object_get(node, key.data) : NULL;
		if (!c[n])
			break;
		c += n + 1;
	}
	buf_free(&key);
	return node && !json_is_null(node) ? node : NULL;
}

/*
 * Whether a file, content or json signal holds for f, which one of the
 * signal's globs matched. Fills *evidence (malloc'd) when it does.
 */
static bool apply_file_signal(struct apply *a, const struct rule_signal *s,
			      const struct scan_file *f, char **evidence)
{
	struct buf b = BUF_INIT;
	if (s->type == SIGNAL_FILE) {
		buf_addf(&b, "%s: exists", f->path);
	} else if (s->type == SIGNAL_CONTENT) {
		const char *text = f->foreign ? NULL : apply_content(a, f);
		size_t offset;
		if (!text || !pattern_matches(a, s->re, text, a->content.len, &offset)) {
			buf_free(&b);
			return false;
		}
		size_t line = 1;
		for (const char *c = text; (c = memchr(c, '\n', offset - (size_t)(c - text))); c++)
			line++;
		if (s->describe)
			buf_addf(&b, "%s:%zu: %s", f->path, line, s->describe);
		else
			buf_addf(&b, "%s:%zu: matches /%s/", f->path, line, s->pattern);
	} else {
		json_t *doc = apply_json(a, f);
		json_t *value = doc ? json_key_path(doc, s->key_path) : NULL;
		char *text = NULL;
		if (value)
			text = json_is_string(value)
				       ? xstrdup(json_string_value(value))
				       : json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
		bool ok = text && (!s->re || pattern_matches(a, s->re, text, strlen(text), NULL));
		if (ok) {
			buf_addf(&b, "%s: %s = ", f->path, s->key_path);
			char *quoted = evidence_quote(buf_cstr(&b), text);
			buf_reset(&b);
			buf_adds(&b, quoted);
			free(quoted);
		}
		free(text);
		if (!ok) {
			buf_free(&b);
			return false;
		}
	}
	*evidence = buf_detach(&b);
	return true;
}

/* The lists of globs that may match f: by its name, by its extension, the rest. */
static void index_candidates(const struct glob_index *index, const struct scan_file *f,
			     const struct vec **lists)
{
	const char *dot = strrchr(f->name, '.');
	lists[0] = map_get(index->by_name, f->name);
	lists[1] = dot ? map_get(index->by_ext, dot) : NULL;
	lists[2] = &index->general;
}

static bool name_may_match(const struct glob_ref *ref, const char *name)
{
	return (!ref->head || str_starts_with(name, ref->head)) &&
	       (!ref->tail || str_ends_with(name, ref->tail));
}

static bool dependency_matches(const struct rule_signal *s, const struct dependency *d)
{
	if (s->ecosystem && strcmp(s->ecosystem, d->ecosystem) != 0)
		return false;
	if ((s->dev == DEV_ONLY && !d->dev) || (s->dev == DEV_NEVER && d->dev))
		return false;
	for (size_t i = 0; i < s->names.len; i++) {
		const struct glob *g = s->name_globs.items[i];
		if (g ? glob_matches(g, d->name) : strcasecmp(s->names.items[i], d->name) == 0)
			return true;
	}
	return false;
}

static bool apply_dependency_signal(const struct rule_signal *s, const struct project *p,
				    char **evidence)
{
	for (size_t i = 0; i < p->dependencies.len; i++) {
		const struct dependency *d = p->dependencies.items[i];
		if (!dependency_matches(s, d))
			continue;
		struct buf b = BUF_INIT;
		buf_addf(&b, "%s: dependency %s%s", d->source && *d->source ? d->source : p->path,
			 d->name, d->dev ? " (dev)" : "");
		*evidence = buf_detach(&b);
		return true;
	}
	return false;
}

static bool apply_script_signal(struct apply *a, const struct rule_signal *s,
				const struct project *p, char **evidence)
{
	const char *name;
	void *value;
	for (size_t cursor = 0; p->scripts && map_next(p->scripts, &cursor, &name, &value);) {
		bool named = !s->script_names.len;
		for (size_t i = 0; i < s->script_names.len && !named; i++)
			named = glob_matches(s->script_names.items[i], name);
		if (!named || !value || !pattern_matches(a, s->re, value, strlen(value), NULL))
			continue;
		struct buf head = BUF_INIT;
		buf_addf(&head, "script %s: ", name);
		*evidence = evidence_quote(head.data, value);
		buf_free(&head);
		return true;
	}
	return false;
}

/*
 * The nearest enclosing workspace root that declares p as a member, or
 * NULL. Members are declared relative to the root (a glob such as "packages/<star>").
 */
static const struct project *workspace_root_of(const struct project *p)
{
	for (const struct project *q = p->parent; q; q = q->parent) {
		size_t len = strlen(q->dir);
		if (!q->is_workspace_root || (len && strncmp(p->dir, q->dir, len) != 0))
			continue;
		const char *rel = p->dir + len + (len && p->dir[len] == '/');
		for (size_t i = 0; i < q->workspace_members.len; i++)
			if (glob_match(q->workspace_members.items[i], rel))
				return q;
	}
	return NULL;
}

struct rule_score {
	double miss; /* Π(1 - weight) over matched signals */
	double best; /* the strongest signal's weight */
	const char *evidence;
	bool own; /* a signal of the rule itself held, not only an implication */
	bool drop;
};

static void score_add(struct rule_score *score, double weight, const char *evidence)
{
	score->miss *= 1 - weight;
	if (weight > score->best) {
		score->best = weight;
		score->evidence = evidence;
	}
}

static void apply_init(struct apply *a, const struct rule_set *rules, struct scan *scan)
{
	memset(a, 0, sizeof(*a));
	a->rules = rules;
	a->scan = scan;
	a->match = pcre2_match_data_create(1, NULL);
}

static void apply_done(struct apply *a)
{
	pcre2_match_data_free(a->match);
	buf_free(&a->content);
	json_decref(a->json);
}

static void add_kinds(const struct rule *r, struct project *p, struct arena *arena,
		      const struct rule_score *score, const char *path)
{
	for (int k = FINDING_FRAMEWORK; k <= FINDING_CONTAINER; k++) {
		if (k != (int)r->kind && !(r->also_kinds & (1u << k)))
			continue;
		double confidence = 1 - score->miss;
		if (!path) {
			struct finding *f =
				project_add_finding(p, arena, (enum finding_kind)k, r->id, r->name,
						    confidence, score->evidence);
			if (!f->rule)
				f->rule = r;
			continue;
		}
		bool seen = false;
		for (size_t i = 0; i < p->findings.len && !seen; i++) {
			const struct finding *f = p->findings.items[i];
			seen = f->kind == (enum finding_kind)k && str_eq(f->id, r->id) &&
			       (r->report_first || str_eq(f->path, path));
		}
		if (seen)
			continue;
		struct finding *f = arena_calloc(arena, 1, sizeof(*f));
		f->kind = (enum finding_kind)k;
		f->id = arena_strdup(arena, r->id);
		f->name = arena_strdup(arena, r->name);
		f->confidence = confidence;
		f->evidence = arena_strdup(arena, score->evidence);
		f->path = arena_strdup(arena, path);
		f->rule = r;
		vec_push(&p->findings, f);
	}
}

/* excludes drop whatever a found rule names; overrides only what it beats. */
static void apply_precedence(const struct rule_set *rules, struct rule_score *scores,
			     const bool *considered)
{
	for (size_t i = 0; i < rules->rules.len; i++) {
		const struct rule *r = rules->rules.items[i];
		double confidence = 1 - scores[i].miss;
		if ((considered && !considered[i]) || confidence < rules->threshold)
			continue;
		for (size_t j = 0; j < r->excludes.len + r->overrides.len; j++) {
			bool excludes = j < r->excludes.len;
			const struct rule *target =
				excludes ? r->excludes.items[j]
					 : r->overrides.items[j - r->excludes.len];
			struct rule_score *other = &scores[target->index];
			if (considered && !considered[target->index])
				continue;
			if (excludes || confidence > 1 - other->miss)
				other->drop = true;
		}
	}
}

int rules_apply_project(const struct rule_set *rules, struct project *p, struct scan *scan,
			struct arena *arena)
{
	struct apply a;
	apply_init(&a, rules, scan);
	struct signal_hit *hits = xcalloc(rules->signal_count + 1, sizeof(*hits));
	struct rule_score *scores = xcalloc(rules->rules.len + 1, sizeof(*scores));
	for (size_t i = 0; i < rules->rules.len; i++)
		scores[i].miss = 1;

	/* One pass over the project's files, trying only the globs their names can match. */
	struct buf prefix = BUF_INIT;
	project_prefix(p, &prefix);
	for (size_t i = scan_first_under(scan, buf_cstr(&prefix)); i < scan->files.len; i++) {
		const struct scan_file *f = scan->files.items[i];
		if (!str_starts_with(f->path, buf_cstr(&prefix)))
			break;
		if (f->project != p)
			continue;
		const char *rel = f->path + prefix.len;
		const struct vec *lists[3];
		index_candidates(&rules->project_index, f, lists);
		for (int l = 0; l < 3; l++)
			for (size_t j = 0; lists[l] && j < lists[l]->len; j++) {
				const struct glob_ref *ref = lists[l]->items[j];
				struct signal_hit *hit = &hits[ref->signal->index];
				if (!hit->matched && name_may_match(ref, f->name) &&
				    glob_matches(ref->glob, rel))
					hit->matched = apply_file_signal(&a, ref->signal, f,
									 &hit->evidence);
			}
	}
	buf_free(&prefix);

	const struct project *workspace = workspace_root_of(p);
	for (size_t i = 0; i < rules->rules.len; i++) {
		const struct rule *r = rules->rules.items[i];
		for (size_t j = 0; j < r->signals.len; j++) {
			const struct rule_signal *s = r->signals.items[j];
			struct signal_hit *hit = &hits[s->index];
			if (s->type == SIGNAL_DEPENDENCY)
				hit->matched = apply_dependency_signal(s, p, &hit->evidence);
			else if (s->type == SIGNAL_SCRIPT)
				hit->matched = apply_script_signal(&a, s, p, &hit->evidence);
			if (hit->matched) {
				score_add(&scores[i], s->weight, hit->evidence);
				scores[i].own = true;
			}
		}
		const struct finding *f =
			r->inherit && workspace ? project_find(workspace, r->kind, r->id) : NULL;
		if (f && f->rule == r)
			score_add(&scores[i], f->confidence * RULES_INHERIT_FACTOR,
				  arena_printf(arena, "workspace %s: %s", workspace->path,
					       f->evidence ? f->evidence : r->id));
	}

	/*
	 * Implied rules come after the rules implying them, so chains add up.
	 * A rule's own evidence stays its evidence: "implied by" only explains
	 * a finding nothing else proves.
	 */
	char **implied_evidence = xcalloc(rules->rules.len + 1, sizeof(char *));
	for (size_t i = 0; i < rules->order.len; i++) {
		const struct rule *r = rules->order.items[i];
		double confidence = 1 - scores[r->index].miss;
		if (confidence < rules->threshold)
			continue;
		for (size_t j = 0; j < r->implies.len; j++) {
			const struct rule *target = r->implies.items[j];
			struct rule_score *score = &scores[target->index];
			if (score->own) {
				score->miss *= 1 - confidence;
				continue;
			}
			if (confidence > score->best) {
				struct buf b = BUF_INIT;
				buf_addf(&b, "implied by %s", r->name);
				free(implied_evidence[target->index]);
				implied_evidence[target->index] = buf_detach(&b);
			}
			score_add(score, confidence, implied_evidence[target->index]);
		}
	}
	apply_precedence(rules, scores, NULL);
	for (size_t i = 0; i < rules->rules.len; i++) {
		const struct rule *r = rules->rules.items[i];
		if (!r->repository && !scores[i].drop && 1 - scores[i].miss >= rules->threshold)
			add_kinds(r, p, arena, &scores[i], NULL);
	}

	for (size_t i = 0; i < rules->rules.len; i++)
		free(implied_evidence[i]);
	free(implied_evidence);
	for (size_t i = 0; i < rules->signal_count; i++)
		free(hits[i].evidence);
	free(hits);
	free(scores);
	apply_done(&a);
	return 0;
}

int rules_apply_repository(const struct rule_set *rules, struct project *root, struct scan *scan,
			   struct arena *arena)
{
	struct apply a;
	apply_init(&a, rules, scan);
	size_t nrules = rules->rules.len;
	struct rule_score *scores = xcalloc(nrules + 1, sizeof(*scores));
	bool *touched = xcalloc(nrules + 1, sizeof(*touched));
	bool *signal_seen = xcalloc(rules->signal_count + 1, sizeof(*signal_seen));
	struct vec evidence = VEC_INIT;	    /* char *: this file's, freed after it */
	struct vec touched_list = VEC_INIT; /* struct rule *: rules this file moved */
	struct vec seen_list = VEC_INIT;    /* struct rule_signal * */

	/* Per file: each rule's signals that hold for this very file make its score. */
	for (size_t i = 0; i < scan->files.len; i++) {
		const struct scan_file *f = scan->files.items[i];
		if (f->foreign)
			continue;
		const struct vec *lists[3];
		index_candidates(&rules->repository_index, f, lists);
		for (int l = 0; l < 3; l++)
			for (size_t j = 0; lists[l] && j < lists[l]->len; j++) {
				const struct glob_ref *ref = lists[l]->items[j];
				const struct rule_signal *s = ref->signal;
				char *text = NULL;
				if (signal_seen[s->index] || !name_may_match(ref, f->name) ||
				    !glob_matches(ref->glob, f->path) ||
				    !apply_file_signal(&a, s, f, &text))
					continue;
				signal_seen[s->index] = true;
				vec_push(&seen_list, (void *)s);
				vec_push(&evidence, text);
				struct rule_score *score = &scores[s->rule->index];
				if (!touched[s->rule->index]) {
					touched[s->rule->index] = true;
					vec_push(&touched_list, s->rule);
					*score = (struct rule_score){ .miss = 1 };
				}
				score_add(score, s->weight, text);
			}
		if (touched_list.len) {
			apply_precedence(rules, scores, touched);
			for (size_t j = 0; j < touched_list.len; j++) {
				const struct rule *r = touched_list.items[j];
				struct rule_score *score = &scores[r->index];
				if (!score->drop && 1 - score->miss >= rules->threshold)
					add_kinds(r, root, arena, score, f->path);
				touched[r->index] = false;
				*score = (struct rule_score){ .miss = 1 };
			}
		}
		for (size_t j = 0; j < seen_list.len; j++)
			signal_seen[((const struct rule_signal *)seen_list.items[j])->index] =
				false;
		seen_list.len = touched_list.len = 0;
		vec_free(&evidence, free);
	}
	vec_free(&seen_list, NULL);
	vec_free(&touched_list, NULL);
	free(signal_seen);
	free(touched);
	free(scores);
	apply_done(&a);
	return 0;
}

bool rule_implies(const struct rule *rule, const struct rule *other)
{
	for (size_t i = 0; i < rule->implies.len; i++)
		if (rule->implies.items[i] == other)
			return true;
	return false;
}

bool finding_is_implied(const struct project *p, const struct finding *f)
{
	for (size_t i = 0; i < p->findings.len; i++) {
		const struct finding *other = p->findings.items[i];
		if (other != f && other->rule && f->rule && rule_implies(other->rule, f->rule))
			return true;
	}
	return false;
}
