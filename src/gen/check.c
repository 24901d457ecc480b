/*
 * check: walks a workflow (GitHub Actions or GitLab CI) and reports what
 * the rules loaded by check_rules.c find in it, sorted and deduplicated.
 */
#include "gen/check.h"
#include "gen/check_internal.h"
#include "gen/files.h"

#include "util/buf.h"
#include "util/err.h"
#include "util/str.h"
#include "util/vec.h"
#include "util/xalloc.h"
#include "util/yaml.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Values quoted in messages are cut here: a message is one readable line. */
#define CHECK_QUOTE_MAX 80

void check_finding_free(void *finding)
{
	struct check_finding *f = finding;
	if (!f)
		return;
	free(f->rule);
	free(f->severity);
	free(f->message);
	free(f);
}

/* ---- matching ---- */

struct check_walk {
	const struct check_rules *rules;
	const char *text;
	size_t len;
	struct vec *findings;
	pcre2_match_data *match;
	struct vec triggers;	/* const char *, the workflow's events */
	struct vec secret_env;	/* const char *, env names set from secrets.* */
	struct vec tainted_env; /* const char *, env names set from untrusted input */
};

static bool check_on(const struct check_walk *w, enum check_id id)
{
	const struct check_rule *r = &w->rules->rules[id];
	return r->present && r->severity != SEVERITY_OFF;
}

static bool check_match_any(struct check_walk *w, const struct vec *patterns, const char *s,
			    size_t len)
{
	for (size_t i = 0; i < patterns->len; i++)
		if (pcre2_match(patterns->items[i], (PCRE2_SPTR)s, len, 0, 0, w->match,
				w->rules->match_context) >= 0)
			return true;
	return false;
}

static bool check_word_in(const struct vec *words, const char *s, size_t len)
{
	for (size_t i = 0; i < words->len; i++) {
		const char *word = words->items[i];
		if (strlen(word) == len && strncasecmp(word, s, len) == 0)
			return true;
	}
	return false;
}

/* ---- positions ---- */

/* The byte offset of a node's first character (marks count characters). */
static size_t check_offset_of(const struct check_walk *w, const struct yaml_node *node)
{
	size_t i = 0;
	for (int line = 1; line < node->line && i < w->len; i++)
		if (w->text[i] == '\n')
			line++;
	for (int column = 1; i < w->len && w->text[i] != '\n'; i++) {
		if (((unsigned char)w->text[i] & 0xC0) == 0x80)
			continue;
		if (column++ == node->column)
			break;
	}
	return i;
}

/*
 * Where needle sits in the source, searching from the node's start (after
 * *cursor bytes already consumed) over about as many bytes as the scalar
 * can span; block scalars keep their lines verbatim, so a script line or
 * an expression is found at its own line. Falls back to the node itself.
 */
static void check_locate(const struct check_walk *w, const struct yaml_node *node,
			 const char *needle, size_t needle_len, size_t *cursor, int *line,
			 int *column)
{
	*line = node->line;
	*column = node->column;
	if (needle_len == 0)
		return;
	size_t start = check_offset_of(w, node);
	size_t lines = 1;
	for (size_t i = 0; i < node->length; i++)
		lines += node->value[i] == '\n';
	size_t span = node->length * 2 + lines * ((size_t)node->column + 16) + 64;
	size_t from = start + *cursor;
	size_t end = start + span < w->len ? start + span : w->len;
	if (from >= end || end - from < needle_len)
		return;
	const char *hit = memmem(w->text + from, end - from, needle, needle_len);
	if (!hit)
		return;
	size_t at = (size_t)(hit - w->text);
	*cursor = at + needle_len - start;
	int l = node->line, c = node->column;
	for (size_t i = start; i < at; i++) {
		if (w->text[i] == '\n') {
			l++;
			c = 1;
		} else if (((unsigned char)w->text[i] & 0xC0) != 0x80) {
			c++;
		}
	}
	*line = l;
	*column = c;
}

/* ---- findings ---- */

/* A value quoted in a message: one line, bounded, no control characters. */
static void check_add_quoted(struct buf *out, const char *s)
{
	size_t n = 0;
	for (; n < CHECK_QUOTE_MAX && s[n]; n++)
		buf_addch(out, (unsigned char)s[n] < 0x20 || s[n] == 0x7f ? '?' : s[n]);
	if (s[n])
		buf_adds(out, "...");
}

static void check_expand(struct buf *out, const char *template, const char *const *vars)
{
	for (const char *p = template; *p; p++) {
		size_t n = *p == '{' ? strspn(p + 1, "abcdefghijklmnopqrstuvwxyz_") : 0;
		const char *value = NULL;
		if (n && p[1 + n] == '}')
			for (const char *const *v = vars; v && v[0]; v += 2)
				if (strlen(v[0]) == n && strncmp(v[0], p + 1, n) == 0)
					value = v[1];
		if (!value) {
			buf_addch(out, *p);
			continue;
		}
		check_add_quoted(out, value);
		p += n + 1;
	}
}

/* vars: name, value pairs ending with NULL. */
static void check_report(struct check_walk *w, enum check_id id, int line, int column,
			 const char *const *vars)
{
	const struct check_rule *r = &w->rules->rules[id];
	if (!r->present || r->severity == SEVERITY_OFF)
		return;
	struct buf message = BUF_INIT;
	check_expand(&message, r->message, vars);
	buf_adds(&message, "; fix: ");
	check_expand(&message, r->fix, vars);
	struct check_finding *f = xcalloc(1, sizeof(*f));
	f->rule = xstrdup(check_rule_id(id));
	f->severity = xstrdup(r->severity == SEVERITY_ERROR ? "error" : "warning");
	f->line = line;
	f->column = column;
	f->message = buf_detach(&message);
	vec_push(w->findings, f);
}

static void check_report_at(struct check_walk *w, enum check_id id, const struct yaml_node *node,
			    const char *const *vars)
{
	check_report(w, id, node->line, node->column, vars);
}

/* ---- env and expressions ---- */

static bool check_ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* True when s (len bytes) names env.NAME for a NAME in names. */
static bool check_mentions_env_expr(const char *s, size_t len, const struct vec *names)
{
	for (size_t i = 0; i + 4 <= len; i++) {
		if (strncmp(s + i, "env.", 4) != 0 || (i > 0 && check_ident_char(s[i - 1])))
			continue;
		size_t n = 0;
		while (i + 4 + n < len && check_ident_char(s[i + 4 + n]))
			n++;
		for (size_t k = 0; k < names->len; k++) {
			const char *name = names->items[k];
			if (strlen(name) == n && strncmp(name, s + i + 4, n) == 0)
				return true;
		}
	}
	return false;
}

/* True when a shell line expands $NAME, ${NAME}, $env:NAME or ${{ env.NAME }}. */
static bool check_mentions_var(const char *s, size_t len, const struct vec *names)
{
	if (check_mentions_env_expr(s, len, names))
		return true;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '$')
			continue;
		size_t j = i + 1;
		if (j < len && s[j] == '{')
			j++;
		else if (j + 4 <= len && strncasecmp(s + j, "env:", 4) == 0)
			j += 4;
		size_t n = 0;
		while (j + n < len && check_ident_char(s[j + n]))
			n++;
		for (size_t k = 0; k < names->len; k++) {
			const char *name = names->items[k];
			if (n && strlen(name) == n && strncmp(name, s + j, n) == 0)
				return true;
		}
	}
	return false;
}

/* Every ${{ }} in s: calls back with the trimmed inside and the whole. */
struct check_expr {
	const char *inner, *whole;
	size_t inner_len, whole_len;
};

static bool check_next_expr(const char **p, struct check_expr *x)
{
	const char *open = strstr(*p, "${{");
	if (!open)
		return false;
	const char *close = strstr(open + 3, "}}");
	if (!close)
		return false;
	const char *a = open + 3, *b = close;
	while (a < b && isspace((unsigned char)*a))
		a++;
	while (b > a && isspace((unsigned char)b[-1]))
		b--;
	*x = (struct check_expr){ a, open, (size_t)(b - a), (size_t)(close + 2 - open) };
	*p = close + 2;
	return true;
}

static bool check_untrusted(struct check_walk *w, const char *s, size_t len)
{
	if (!check_on(w, CHECK_SCRIPT_INJECTION))
		return false;
	const struct vec *untrusted = &w->rules->rules[CHECK_SCRIPT_INJECTION].lists[F_UNTRUSTED];
	return check_match_any(w, untrusted, s, len) ||
	       check_mentions_env_expr(s, len, &w->tainted_env);
}

/* Adds the names of env: entries to the scopes; the caller restores lengths. */
static void check_push_env(struct check_walk *w, const struct yaml_node *env)
{
	if (!env || env->kind != YAML_MAPPING)
		return;
	for (size_t i = 0; i < env->count; i++) {
		const char *name = check_key(env->pairs[i].key);
		const char *value = yaml_str(env->pairs[i].value);
		if (!name || !value)
			continue;
		const char *p = value;
		struct check_expr x;
		while (check_next_expr(&p, &x)) {
			if (memmem(x.inner, x.inner_len, "secrets.", 8))
				vec_push(&w->secret_env, (void *)name);
			else if (check_untrusted(w, x.inner, x.inner_len))
				vec_push(&w->tainted_env, (void *)name);
		}
	}
}

/* ---- scripts ---- */

static const char *check_first_trigger(const struct check_walk *w, const struct vec *wanted)
{
	for (size_t i = 0; i < w->triggers.len; i++) {
		const char *t = w->triggers.items[i];
		if (check_word_in(wanted, t, strlen(t)))
			return t;
	}
	return NULL;
}

static void check_script_line(struct check_walk *w, const struct yaml_node *node, const char *line,
			      size_t len, bool script_has_secret, const char *pr_trigger,
			      size_t *cursor)
{
	const struct check_rule *echo = &w->rules->rules[CHECK_SECRETS_ECHOED];
	const struct check_rule *target = &w->rules->rules[CHECK_PR_TARGET_CHECKOUT];
	while (len && isspace((unsigned char)*line))
		line++, len--;
	while (len && isspace((unsigned char)line[len - 1]))
		len--;
	if (len == 0)
		return;
	bool echoed = false;
	if (check_on(w, CHECK_SECRETS_ECHOED)) {
		echoed = check_match_any(w, &echo->lists[F_ECHO_PATTERNS], line, len) ||
			 (check_match_any(w, &echo->lists[F_PRINT_PATTERNS], line, len) &&
			  check_mentions_var(line, len, &w->secret_env)) ||
			 ((w->secret_env.len || script_has_secret) &&
			  check_match_any(w, &echo->lists[F_DUMP_PATTERNS], line, len));
	}
	bool fetches = pr_trigger && check_on(w, CHECK_PR_TARGET_CHECKOUT) &&
		       check_match_any(w, &target->lists[F_RUN_PATTERNS], line, len);
	if (!echoed && !fetches)
		return;
	int l, c;
	check_locate(w, node, line, len, cursor, &l, &c);
	char *text = xstrndup(line, len);
	if (echoed)
		check_report(w, CHECK_SECRETS_ECHOED, l, c,
			     (const char *const[]){ "what", text, NULL });
	if (fetches)
		check_report(w, CHECK_PR_TARGET_CHECKOUT, l, c,
			     (const char *const[]){ "trigger", pr_trigger, "value", text, NULL });
	free(text);
}

/* A run: or github-script script: its expressions, then its lines. */
static void check_script(struct check_walk *w, const struct yaml_node *node, const char *key,
			 const char *pr_trigger)
{
	if (!node || node->kind != YAML_SCALAR)
		return;
	size_t cursor = 0;
	bool has_secret = false;
	const char *p = node->value;
	struct check_expr x;
	while (check_next_expr(&p, &x)) {
		char *inner = xstrndup(x.inner, x.inner_len);
		has_secret = has_secret || strstr(inner, "secrets.") != NULL;
		if (check_untrusted(w, x.inner, x.inner_len)) {
			int l, c;
			check_locate(w, node, x.whole, x.whole_len, &cursor, &l, &c);
			check_report(w, CHECK_SCRIPT_INJECTION, l, c,
				     (const char *const[]){ "expr", inner, "key", key, NULL });
		}
		free(inner);
	}
	cursor = 0;
	for (const char *line = node->value; *line;) {
		size_t n = strcspn(line, "\n");
		check_script_line(w, node, line, n, has_secret, pr_trigger, &cursor);
		line += n + (line[n] == '\n');
	}
}

/* ---- actions and images ---- */

static bool check_full_sha(const char *ref)
{
	size_t n = strspn(ref, "0123456789abcdefABCDEF");
	return ref[n] == '\0' && (n == 40 || n == 64);
}

static void check_image(struct check_walk *w, const struct yaml_node *node, const char *image)
{
	if (!check_on(w, CHECK_IMAGE_UNPINNED) || !image || !*image || strchr(image, '$') ||
	    strchr(image, '@'))
		return;
	const char *last = strrchr(image, '/');
	const char *colon = strchr(last ? last : image, ':');
	const struct vec *mutable = &w->rules->rules[CHECK_IMAGE_UNPINNED].lists[F_WORDS];
	if (colon && colon[1] && !check_word_in(mutable, colon + 1, strlen(colon + 1)))
		return;
	check_report_at(w, CHECK_IMAGE_UNPINNED, node,
			(const char *const[]){ "image", image, NULL });
}

static void check_uses(struct check_walk *w, const struct yaml_node *node)
{
	const char *uses = yaml_str(node);
	if (!uses || !*uses || str_starts_with(uses, "./") || str_starts_with(uses, "../") ||
	    strstr(uses, "${{"))
		return;
	if (str_starts_with(uses, "docker://")) {
		check_image(w, node, uses + strlen("docker://"));
		return;
	}
	const char *at = strchr(uses, '@');
	char *action = at ? xstrndup(uses, (size_t)(at - uses)) : xstrdup(uses);
	const char *ref = at && at[1] ? at + 1 : NULL;
	const struct vec *branches = &w->rules->rules[CHECK_UNPINNED_ACTION].lists[F_WORDS];
	const struct vec *owners = &w->rules->rules[CHECK_ACTION_TAG_NOT_SHA].lists[F_WORDS];
	if (!ref || check_word_in(branches, ref, strlen(ref))) {
		check_report_at(w, CHECK_UNPINNED_ACTION, node,
				(const char *const[]){
					"action", action, "ref",
					ref ? ref : "no version (its default branch)", NULL });
	} else if (!check_full_sha(ref)) {
		size_t owner_len = strcspn(action, "/");
		if (!check_word_in(owners, action, owner_len))
			check_report_at(
				w, CHECK_ACTION_TAG_NOT_SHA, node,
				(const char *const[]){ "action", action, "ref", ref, NULL });
	}
	free(action);
}

/* "actions/checkout@v4" is actions/checkout, whatever the ref and case. */
static bool check_is_action(const char *uses, const char *name)
{
	size_t n = strlen(name);
	return uses && strncasecmp(uses, name, n) == 0 && (uses[n] == '@' || uses[n] == '\0');
}

static void check_steps(struct check_walk *w, const struct yaml_node *steps, const char *pr_trigger)
{
	if (!steps || steps->kind != YAML_SEQUENCE)
		return;
	const struct vec *ref_patterns =
		&w->rules->rules[CHECK_PR_TARGET_CHECKOUT].lists[F_REF_PATTERNS];
	for (size_t i = 0; i < steps->count; i++) {
		const struct yaml_node *step = steps->items[i];
		if (step->kind != YAML_MAPPING)
			continue;
		size_t secrets = w->secret_env.len, tainted = w->tainted_env.len;
		check_push_env(w, yaml_get(step, "env"));
		const struct yaml_node *uses = yaml_get(step, "uses");
		const struct yaml_node *with = yaml_get(step, "with");
		if (uses)
			check_uses(w, uses);
		if (check_is_action(yaml_str(uses), "actions/checkout") && pr_trigger &&
		    check_on(w, CHECK_PR_TARGET_CHECKOUT)) {
			static const char *const inputs[] = { "ref", "repository" };
			for (size_t k = 0; k < 2; k++) {
				const struct yaml_node *v = yaml_get(with, inputs[k]);
				if (v && yaml_str(v) &&
				    check_match_any(w, ref_patterns, v->value, v->length))
					check_report_at(w, CHECK_PR_TARGET_CHECKOUT, v,
							(const char *const[]){ "trigger",
									       pr_trigger, "value",
									       v->value, NULL });
			}
		}
		if (check_is_action(yaml_str(uses), "actions/github-script"))
			check_script(w, yaml_get(with, "script"), "script", pr_trigger);
		check_script(w, yaml_get(step, "run"), "run", pr_trigger);
		w->secret_env.len = secrets;
		w->tainted_env.len = tainted;
	}
}

static void check_permissions(struct check_walk *w, const struct yaml_node *node, const char *scope)
{
	if (str_eq(yaml_str(node), "write-all"))
		check_report_at(w, CHECK_PERMISSIONS_WRITE_ALL, node,
				(const char *const[]){ "scope", scope, NULL });
}

static void check_runs_on(struct check_walk *w, const struct yaml_node *node, const char *job)
{
	if (!node || !check_on(w, CHECK_SELF_HOSTED_RUNNER))
		return;
	const struct yaml_node *labels =
		node->kind == YAML_MAPPING ? yaml_get(node, "labels") : node;
	bool self_hosted = false;
	if (labels && labels->kind == YAML_SCALAR)
		self_hosted = strcasecmp(labels->value, "self-hosted") == 0;
	for (size_t i = 0; labels && labels->kind == YAML_SEQUENCE && i < labels->count; i++)
		self_hosted =
			self_hosted || str_eq_icase(yaml_str(labels->items[i]), "self-hosted");
	const char *trigger =
		check_first_trigger(w, &w->rules->rules[CHECK_SELF_HOSTED_RUNNER].lists[F_WORDS]);
	if (self_hosted && trigger)
		check_report_at(w, CHECK_SELF_HOSTED_RUNNER, node,
				(const char *const[]){ "job", job, "trigger", trigger, NULL });
}

static void check_container(struct check_walk *w, const struct yaml_node *node)
{
	if (!node)
		return;
	const struct yaml_node *image = node->kind == YAML_MAPPING ? yaml_get(node, "image") : node;
	const char *name = image ? yaml_str(image) : NULL;
	if (name)
		check_image(w, image, name);
}

static void check_collect_triggers(struct check_walk *w, const struct yaml_node *on)
{
	if (!on)
		return;
	if (on->kind == YAML_SCALAR)
		vec_push(&w->triggers, (void *)on->value);
	for (size_t i = 0; on->kind == YAML_SEQUENCE && i < on->count; i++)
		if (yaml_str(on->items[i]))
			vec_push(&w->triggers, (void *)on->items[i]->value);
	for (size_t i = 0; on->kind == YAML_MAPPING && i < on->count; i++)
		vec_push(&w->triggers, (void *)check_key(on->pairs[i].key));
}

static void check_github(struct check_walk *w, const struct yaml_node *root)
{
	check_collect_triggers(w, yaml_get(root, "on"));
	const char *pr_trigger = check_first_trigger(
		w, &w->rules->rules[CHECK_PR_TARGET_CHECKOUT].lists[F_PR_TRIGGERS]);
	const struct yaml_node *permissions = yaml_get(root, "permissions");
	if (permissions)
		check_permissions(w, permissions, "the workflow");
	check_push_env(w, yaml_get(root, "env"));
	const struct yaml_node *jobs = yaml_get(root, "jobs");
	bool job_without_permissions = false;
	for (size_t i = 0; jobs && jobs->kind == YAML_MAPPING && i < jobs->count; i++) {
		const char *name = check_key(jobs->pairs[i].key);
		const struct yaml_node *job = jobs->pairs[i].value;
		if (job->kind != YAML_MAPPING)
			continue;
		struct buf scope = BUF_INIT;
		buf_addf(&scope, "job '%s'", name);
		const struct yaml_node *job_permissions = yaml_get(job, "permissions");
		if (job_permissions)
			check_permissions(w, job_permissions, scope.data);
		else
			job_without_permissions = true;
		buf_free(&scope);
		check_runs_on(w, yaml_get(job, "runs-on"), name);
		if (yaml_get(job, "uses"))
			check_uses(w, yaml_get(job, "uses"));
		check_container(w, yaml_get(job, "container"));
		const struct yaml_node *services = yaml_get(job, "services");
		for (size_t k = 0;
		     services && services->kind == YAML_MAPPING && k < services->count; k++)
			check_container(w, services->pairs[k].value);
		size_t secrets = w->secret_env.len, tainted = w->tainted_env.len;
		check_push_env(w, yaml_get(job, "env"));
		check_steps(w, yaml_get(job, "steps"), pr_trigger);
		w->secret_env.len = secrets;
		w->tainted_env.len = tainted;
	}
	if (!permissions && job_without_permissions)
		check_report_at(w, CHECK_PERMISSIONS_MISSING, root, (const char *const[]){ NULL });
	/* A composite action (action.yml) runs steps of its own. */
	const struct yaml_node *runs = yaml_get(root, "runs");
	if (runs && runs->kind == YAML_MAPPING)
		check_steps(w, yaml_get(runs, "steps"), NULL);
}

/* ---- GitLab CI ---- */

static void check_gitlab_script(struct check_walk *w, const struct yaml_node *node)
{
	if (!node || !check_on(w, CHECK_SECRETS_ECHOED))
		return;
	for (size_t i = 0; node->kind == YAML_SEQUENCE && i < node->count; i++)
		check_gitlab_script(w, node->items[i]);
	if (node->kind != YAML_SCALAR)
		return;
	const struct vec *patterns =
		&w->rules->rules[CHECK_SECRETS_ECHOED].lists[F_GITLAB_PATTERNS];
	size_t cursor = 0;
	for (const char *line = node->value; *line;) {
		size_t n = strcspn(line, "\n");
		const char *s = line;
		size_t len = n;
		while (len && isspace((unsigned char)*s))
			s++, len--;
		if (len && check_match_any(w, patterns, s, len)) {
			int l, c;
			check_locate(w, node, s, len, &cursor, &l, &c);
			char *text = xstrndup(s, len);
			check_report(w, CHECK_SECRETS_ECHOED, l, c,
				     (const char *const[]){ "what", text, NULL });
			free(text);
		}
		line += n + (line[n] == '\n');
	}
}

static void check_gitlab_images(struct check_walk *w, const struct yaml_node *job)
{
	const struct yaml_node *image = yaml_get(job, "image");
	if (image && image->kind == YAML_MAPPING)
		image = yaml_get(image, "name");
	const char *name = image ? yaml_str(image) : NULL;
	if (name)
		check_image(w, image, name);
	const struct yaml_node *services = yaml_get(job, "services");
	for (size_t i = 0; services && services->kind == YAML_SEQUENCE && i < services->count;
	     i++) {
		const struct yaml_node *s = services->items[i];
		if (s->kind == YAML_MAPPING)
			s = yaml_get(s, "name");
		name = s ? yaml_str(s) : NULL;
		if (name)
			check_image(w, s, name);
	}
}

static void check_gitlab(struct check_walk *w, const struct yaml_node *root)
{
	static const char *const not_jobs[] = { "variables", "workflow", "include", "stages",
						"cache",     "spec",	 NULL };
	check_gitlab_images(w, root);
	for (size_t i = 0; i < root->count; i++) {
		const char *key = check_key(root->pairs[i].key);
		const struct yaml_node *job = root->pairs[i].value;
		bool skip = job->kind != YAML_MAPPING;
		for (size_t k = 0; !skip && not_jobs[k]; k++)
			skip = strcmp(key, not_jobs[k]) == 0;
		if (skip)
			continue;
		check_gitlab_images(w, job);
		check_gitlab_script(w, yaml_get(job, "before_script"));
		check_gitlab_script(w, yaml_get(job, "script"));
		check_gitlab_script(w, yaml_get(job, "after_script"));
	}
}

static bool check_is_gitlab(const char *path, const struct yaml_node *root)
{
	const char *base = path ? strrchr(path, '/') : NULL;
	base = base ? base + 1 : path;
	if (base &&
	    (str_ends_with(base, ".gitlab-ci.yml") || str_ends_with(base, ".gitlab-ci.yaml")))
		return true;
	if (yaml_get(root, "jobs") || yaml_get(root, "runs"))
		return false;
	if (yaml_get(root, "stages"))
		return true;
	for (size_t i = 0; i < root->count; i++)
		if (yaml_get(root->pairs[i].value, "script"))
			return true;
	return false;
}

/* ---- entry points ---- */

static int check_finding_cmp(const void *a, const void *b)
{
	const struct check_finding *x = *(const struct check_finding *const *)a;
	const struct check_finding *y = *(const struct check_finding *const *)b;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->column != y->column)
		return x->column < y->column ? -1 : 1;
	return strcmp(x->rule, y->rule);
}

int check_workflow_with(const struct check_rules *rules, const char *path, const char *text,
			size_t len, struct vec *findings, struct err *e)
{
	const char *file = path ? path : "<workflow>";
	if (!rules)
		return err_set(e, "%s: no workflow-security rules loaded", file);
	struct yaml_doc *doc = NULL;
	if (yaml_parse(&doc, file, text, len, e) < 0)
		return -1;
	const struct yaml_node *root = doc->root;
	if (root && root->kind == YAML_MAPPING) {
		struct vec found = VEC_INIT;
		struct check_walk w = {
			.rules = rules, .text = text, .len = len, .findings = &found
		};
		w.match = pcre2_match_data_create(1, NULL);
		if (check_is_gitlab(path, root))
			check_gitlab(&w, root);
		else
			check_github(&w, root);
		pcre2_match_data_free(w.match);
		vec_free(&w.triggers, NULL);
		vec_free(&w.secret_env, NULL);
		vec_free(&w.tainted_env, NULL);
		/* Sorted, and one finding per rule and place (aliases repeat nodes). */
		vec_sort(&found, check_finding_cmp);
		struct check_finding *kept = NULL;
		for (size_t i = 0; i < found.len; i++) {
			struct check_finding *f = found.items[i];
			if (kept && check_finding_cmp(&f, &kept) == 0) {
				check_finding_free(f);
				continue;
			}
			vec_push(findings, f);
			kept = f;
		}
		free(found.items);
	}
	yaml_doc_free(doc);
	return 0;
}

int check_workflow(const char *path, const char *text, size_t len, struct vec *findings,
		   struct err *e)
{
	struct check_rules *rules = NULL;
	if (check_rules_load(&rules, e) < 0)
		return -1;
	int rc = check_workflow_with(rules, path, text, len, findings, e);
	check_rules_free(rules);
	return rc;
}

int check_generated_files(const struct check_rules *rules, const struct gen_files *files,
			  struct err *e)
{
	struct check_rules *loaded = NULL;
	if (!rules) {
		if (check_rules_load(&loaded, e) < 0)
			return -1;
		rules = loaded;
	}
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < files->files.len; i++) {
		const struct gen_file *f = files->files.items[i];
		if (!str_starts_with(f->path, ".github/workflows/") &&
		    !str_ends_with(f->path, ".gitlab-ci.yml"))
			continue;
		struct vec findings = VEC_INIT;
		rc = check_workflow_with(rules, f->path, f->content, strlen(f->content), &findings,
					 e);
		for (size_t j = 0; rc == 0 && j < findings.len; j++) {
			const struct check_finding *finding = findings.items[j];
			if (strcmp(finding->severity, "error") == 0)
				rc = err_set(e,
					     "%s:%d: generated file fails the security check: %s",
					     f->path, finding->line, finding->message);
		}
		vec_free(&findings, check_finding_free);
	}
	check_rules_free(loaded);
	return rc < 0 ? -1 : 0;
}
