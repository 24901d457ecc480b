#define PCRE2_CODE_UNIT_WIDTH 8
#include "intel/sources.h"

#include "intel/envvars.h"
#include "intel/languages.h"
#include "intel/project.h"
#include "intel/scan.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/embed.h"
#include "util/err.h"
#include "util/glob.h"
#include "util/log.h"
#include "util/map.h"
#include "util/str.h"
#include "util/vec.h"
#include "util/xalloc.h"
#include "util/yaml.h"

#include <pcre2.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/*
 * Bounds on one match, so a pattern from an override directory that
 * backtracks badly costs a skipped file, not a hung analysis.
 */
#define SOURCE_MATCH_LIMIT 1000000
#define SOURCE_DEPTH_LIMIT 10000

struct source_pattern {
	char *id;
	enum source_pattern_kind kind;
	enum port_tier tier;
	enum source_pattern_list list;
	struct map *ignore; /* names this pattern never reports; NULL = none */
	pcre2_code *code;
};

/*
 * Which patterns read a file, indexed so that choosing them costs a hash
 * lookup or two per file, not a loop over every pattern: by language id, by
 * literal base name, and the few wildcard globs checked one by one.
 */
struct source_selector {
	struct map *by_language; /* language id -> struct vec * of patterns */
	struct map *by_name;	 /* base name -> struct vec * of patterns */
	struct vec wildcards;	 /* struct source_glob * */
};

struct source_glob {
	struct glob *glob;
	bool whole_path; /* against the project-relative path, else the base name */
	const struct source_pattern *pattern; /* NULL for plain file sets */
};

/*
 * The `skip` globs, each kept in the cheapest form that decides it exactly,
 * since every file a pattern selects is checked against all of them:
 * "<star><star>/test/<star><star>" is a directory of that name at any depth,
 * "test/<star><star>" one at the top, "<star><star>/glob" (no '/') a glob of
 * the base name, anything else a glob of the whole path.
 */
struct source_skip {
	struct vec any_dirs;   /* char * */
	struct vec top_dirs;   /* char * */
	struct vec name_globs; /* struct glob * */
	struct vec path_globs; /* struct glob * */
};

struct source_patterns {
	struct vec patterns;		  /* struct source_pattern *, owned */
	struct source_selector select[2]; /* per enum source_pattern_kind */
	/* The port patterns again, one selector per tier: port detection runs
	 * tier by tier over every file of a project. */
	struct source_selector port_tiers[PORT_TIERS];
	struct source_selector compose; /* compose files (patterns unused) */
	struct source_skip skip;	/* files never read */
	struct map *noise;		/* env names never reported */
	pcre2_match_context *match_context;
	uint32_t ovector_pairs; /* enough for the pattern with the most groups */
};

static const char *const port_tier_names[PORT_TIERS] = { "dockerfile", "deploy", "config", "code" };

/* ---- loading ---- */

static void source_selector_init(struct source_selector *s)
{
	s->by_language = map_new();
	s->by_name = map_new();
}

static void source_vec_free(void *item)
{
	vec_free(item, NULL);
	free(item);
}

static void source_glob_free(void *item)
{
	struct source_glob *g = item;
	glob_free(g->glob);
	free(g);
}

static void source_selector_free(struct source_selector *s)
{
	map_free(s->by_language, source_vec_free);
	map_free(s->by_name, source_vec_free);
	vec_free(&s->wildcards, source_glob_free);
}

static void source_pattern_free(void *item)
{
	struct source_pattern *pattern = item;
	free(pattern->id);
	map_free(pattern->ignore, NULL);
	pcre2_code_free(pattern->code);
	free(pattern);
}

void source_patterns_free(struct source_patterns *patterns)
{
	if (!patterns)
		return;
	vec_free(&patterns->patterns, source_pattern_free);
	for (int i = 0; i < 2; i++)
		source_selector_free(&patterns->select[i]);
	for (int i = 0; i < PORT_TIERS; i++)
		source_selector_free(&patterns->port_tiers[i]);
	source_selector_free(&patterns->compose);
	vec_free(&patterns->skip.any_dirs, free);
	vec_free(&patterns->skip.top_dirs, free);
	vec_free(&patterns->skip.name_globs, (void (*)(void *))glob_free);
	vec_free(&patterns->skip.path_globs, (void (*)(void *))glob_free);
	map_free(patterns->noise, NULL);
	pcre2_match_context_free(patterns->match_context);
	free(patterns);
}

static void source_index_add(struct map *index, const char *key, const struct source_pattern *p)
{
	struct vec *list = map_get(index, key);
	if (!list) {
		list = xcalloc(1, sizeof(*list));
		map_put(index, key, list);
	}
	vec_push(list, (void *)p);
}

/* A non-empty list of non-empty strings, or absent; calls add for each. */
static int source_each_string(const char *file, const struct yaml_node *node, const char *what,
			      const char *id, int (*add)(void *, const char *), void *ctx,
			      struct err *e)
{
	if (!node)
		return 0;
	if (node->kind != YAML_SEQUENCE || node->count == 0)
		return yaml_err(e, file, node, "%s '%s': %s must be a non-empty list", "pattern",
				id, what);
	for (size_t i = 0; i < node->count; i++) {
		const char *value = yaml_str(node->items[i]);
		if (!value || !*value)
			return yaml_err(e, file, node->items[i],
					"pattern '%s': %s must hold non-empty strings", id, what);
		if (add(ctx, value) < 0)
			return yaml_err(e, file, node->items[i],
					"pattern '%s': %s: '%s' is invalid", id, what, value);
	}
	return 0;
}

struct source_select_ctx {
	struct source_selector *selectors[2]; /* the second may be NULL */
	const struct source_pattern *pattern;
};

static int source_add_language(void *ctx, const char *id)
{
	struct source_select_ctx *c = ctx;
	for (int i = 0; i < 2 && c->selectors[i]; i++)
		source_index_add(c->selectors[i]->by_language, id, c->pattern);
	return 0;
}

static int source_add_file_glob(void *ctx, const char *pattern)
{
	struct source_select_ctx *c = ctx;
	for (int i = 0; i < 2 && c->selectors[i]; i++) {
		struct source_selector *selector = c->selectors[i];
		if (!glob_has_wildcards(pattern) && !strchr(pattern, '/')) {
			source_index_add(selector->by_name, pattern, c->pattern);
			continue;
		}
		struct glob *g = glob_compile(pattern, 0);
		if (!glob_is_valid(g)) {
			glob_free(g);
			return -1;
		}
		struct source_glob *sg = xcalloc(1, sizeof(*sg));
		sg->glob = g;
		sg->whole_path = strchr(pattern, '/') != NULL;
		sg->pattern = c->pattern;
		vec_push(&selector->wildcards, sg);
	}
	return 0;
}

static int source_add_ignore(void *ctx, const char *name)
{
	struct source_pattern *pattern = ctx;
	if (!envvars_name_is_valid(name, strlen(name)))
		return -1;
	map_put(pattern->ignore, name, (void *)1);
	return 0;
}

static bool source_key_known(const char *key, const char *const *known)
{
	for (; *known; known++)
		if (strcmp(key, *known) == 0)
			return true;
	return false;
}

static int source_compile(struct source_pattern *pattern, const char *file,
			  const struct yaml_node *entry, bool caseless, struct err *e)
{
	const struct yaml_node *node = yaml_get(entry, "pattern");
	const char *text = yaml_str(node);
	if (!text || !*text)
		return yaml_err(e, file, node ? node : entry,
				"pattern '%s': 'pattern' must be a non-empty string", pattern->id);
	int code;
	PCRE2_SIZE offset;
	uint32_t options = PCRE2_MULTILINE | (caseless ? PCRE2_CASELESS : 0);
	pattern->code = pcre2_compile((PCRE2_SPTR)text, PCRE2_ZERO_TERMINATED, options, &code,
				      &offset, NULL);
	if (!pattern->code) {
		PCRE2_UCHAR message[256];
		pcre2_get_error_message(code, message, sizeof(message));
		return yaml_err(e, file, node, "pattern '%s': at offset %zu: %s", pattern->id,
				(size_t)offset, (const char *)message);
	}
	uint32_t captures = 0;
	pcre2_pattern_info(pattern->code, PCRE2_INFO_CAPTURECOUNT, &captures);
	if (captures < 1)
		return yaml_err(e, file, node,
				"pattern '%s': needs a capture group (group 1 is "
				"what is extracted)",
				pattern->id);
	/* Without JIT (unsupported platform) the interpreter still matches. */
	(void)pcre2_jit_compile(pattern->code, PCRE2_JIT_COMPLETE);
	return 0;
}

static int source_parse_pattern(struct source_patterns *set, const char *file,
				const struct yaml_node *entry, enum source_pattern_kind kind,
				struct err *e)
{
	static const char *const known[] = { "id",   "pattern", "languages", "files", "caseless",
					     "list", "ignore",	"tier",	     NULL };
	if (entry->kind != YAML_MAPPING)
		return yaml_err(e, file, entry, "each pattern must be a mapping");
	const char *id = yaml_str(yaml_get(entry, "id"));
	if (!id || !*id)
		return yaml_err(e, file, entry, "pattern without an 'id'");
	for (size_t i = 0; i < set->patterns.len; i++)
		if (strcmp(((struct source_pattern *)set->patterns.items[i])->id, id) == 0)
			return yaml_err(e, file, entry, "pattern '%s' is defined twice", id);
	for (size_t i = 0; i < entry->count; i++) {
		const char *key = yaml_str(entry->pairs[i].key);
		if (!key || !source_key_known(key, known))
			return yaml_err(e, file, entry->pairs[i].key,
					"pattern '%s': unknown key '%s'", id, key ? key : "?");
	}
	struct source_pattern *pattern = xcalloc(1, sizeof(*pattern));
	pattern->id = xstrdup(id);
	pattern->kind = kind;
	vec_push(&set->patterns, pattern);

	bool caseless = false;
	const struct yaml_node *node = yaml_get(entry, "caseless");
	if (node && yaml_bool(node, file, &caseless, e) < 0)
		return err_prefix(e, "pattern '%s'", id);
	if (source_compile(pattern, file, entry, caseless, e) < 0)
		return -1;
	uint32_t captures = 0;
	pcre2_pattern_info(pattern->code, PCRE2_INFO_CAPTURECOUNT, &captures);
	if (captures + 1 > set->ovector_pairs)
		set->ovector_pairs = captures + 1;

	const struct yaml_node *list = yaml_get(entry, "list");
	const struct yaml_node *ignore = yaml_get(entry, "ignore");
	const struct yaml_node *tier = yaml_get(entry, "tier");
	if (kind == SOURCE_PATTERN_PORT) {
		if (list || ignore)
			return yaml_err(e, file, list ? list : ignore,
					"pattern '%s': 'list' and 'ignore' are for env patterns",
					id);
		const char *name = yaml_str(tier);
		int index = -1;
		for (int i = 0; name && i < PORT_TIERS; i++)
			if (strcmp(name, port_tier_names[i]) == 0)
				index = i;
		if (index < 0)
			return yaml_err(
				e, file, tier ? tier : entry,
				"pattern '%s': tier must be dockerfile, deploy, config or code",
				id);
		pattern->tier = (enum port_tier)index;
	} else {
		if (tier)
			return yaml_err(e, file, tier, "pattern '%s': 'tier' is for port patterns",
					id);
		const char *mode = yaml_str(list);
		if (!list)
			pattern->list = SOURCE_LIST_NONE;
		else if (mode && strcmp(mode, "comma") == 0)
			pattern->list = SOURCE_LIST_COMMA;
		else if (mode && strcmp(mode, "assignments") == 0)
			pattern->list = SOURCE_LIST_ASSIGNMENTS;
		else
			return yaml_err(e, file, list,
					"pattern '%s': list must be 'comma' or 'assignments'", id);
		if (ignore) {
			pattern->ignore = map_new();
			if (source_each_string(file, ignore, "ignore (upper-case names)", id,
					       source_add_ignore, pattern, e) < 0)
				return -1;
		}
	}

	const struct yaml_node *languages = yaml_get(entry, "languages");
	const struct yaml_node *files = yaml_get(entry, "files");
	if (!languages && !files)
		return yaml_err(
			e, file, entry,
			"pattern '%s': needs 'languages' or 'files' to choose what it reads", id);
	struct source_select_ctx ctx = {
		{ &set->select[kind],
		  kind == SOURCE_PATTERN_PORT ? &set->port_tiers[pattern->tier] : NULL },
		pattern
	};
	if (source_each_string(file, languages, "languages", id, source_add_language, &ctx, e) <
		    0 ||
	    source_each_string(file, files, "files (globs)", id, source_add_file_glob, &ctx, e) < 0)
		return -1;
	return 0;
}

static int source_parse_patterns(struct source_patterns *set, const char *file,
				 const struct yaml_node *section, const char *section_name,
				 enum source_pattern_kind kind, struct err *e)
{
	const struct yaml_node *list = yaml_get(section, "patterns");
	if (!list || list->kind != YAML_SEQUENCE)
		return yaml_err(e, file, list ? list : section, "%s: expected a 'patterns' list",
				section_name);
	for (size_t i = 0; i < list->count; i++)
		if (source_parse_pattern(set, file, list->items[i], kind, e) < 0)
			return -1;
	return 0;
}

/* "name/<star><star>" with a plain name: the name, else NULL. */
static char *source_skip_dir_name(const char *pattern)
{
	size_t len = strlen(pattern);
	if (len <= 3 || strcmp(pattern + len - 3, "/**") != 0)
		return NULL;
	char *name = xstrndup(pattern, len - 3);
	if (strchr(name, '/') || glob_has_wildcards(name)) {
		free(name);
		return NULL;
	}
	return name;
}

static int source_add_skip(void *ctx, const char *pattern)
{
	struct source_skip *skip = ctx;
	struct glob *g = glob_compile(pattern, 0);
	if (!glob_is_valid(g)) {
		glob_free(g);
		return -1;
	}
	bool anywhere = str_starts_with(pattern, "**/");
	const char *rest = anywhere ? pattern + 3 : pattern;
	char *dir = source_skip_dir_name(rest);
	if (dir) {
		vec_push(anywhere ? &skip->any_dirs : &skip->top_dirs, dir);
		glob_free(g);
	} else if (anywhere && *rest && !strchr(rest, '/')) {
		vec_push(&skip->name_globs, glob_compile(rest, 0));
		glob_free(g);
	} else {
		vec_push(&skip->path_globs, g);
	}
	return 0;
}

static int source_add_noise(void *ctx, const char *name)
{
	if (!envvars_name_is_valid(name, strlen(name)))
		return -1;
	map_put(ctx, name, (void *)1);
	return 0;
}

static int source_parse_root(struct source_patterns *set, const char *file,
			     const struct yaml_node *root, struct err *e)
{
	if (!root || root->kind != YAML_MAPPING)
		return root ? yaml_err(e, file, root, "expected a mapping with 'env' and 'port'")
			    : err_set(e, "%s: empty file, expected 'env' and 'port'", file);
	const struct yaml_node *env = yaml_get(root, "env");
	const struct yaml_node *port = yaml_get(root, "port");
	if (!env || env->kind != YAML_MAPPING || !port || port->kind != YAML_MAPPING)
		return yaml_err(e, file, root, "'env' and 'port' must both be mappings");
	if (source_each_string(file, yaml_get(root, "skip"), "skip (globs)", "skip",
			       source_add_skip, &set->skip, e) < 0 ||
	    source_each_string(file, yaml_get(env, "noise"), "noise (upper-case names)", "noise",
			       source_add_noise, set->noise, e) < 0)
		return -1;
	struct source_select_ctx compose = { { &set->compose, NULL }, NULL };
	if (source_each_string(file, yaml_get(env, "compose_files"), "compose_files (globs)",
			       "compose_files", source_add_file_glob, &compose, e) < 0)
		return -1;
	if (source_parse_patterns(set, file, env, "env", SOURCE_PATTERN_ENV, e) < 0 ||
	    source_parse_patterns(set, file, port, "port", SOURCE_PATTERN_PORT, e) < 0)
		return -1;
	return 0;
}

int source_patterns_parse(struct source_patterns **out, const char *file, const char *data,
			  size_t len, struct err *e)
{
	struct yaml_doc *doc = NULL;
	if (yaml_parse(&doc, file, data, len, e) < 0)
		return -1;
	struct source_patterns *set = xcalloc(1, sizeof(*set));
	for (int i = 0; i < 2; i++)
		source_selector_init(&set->select[i]);
	for (int i = 0; i < PORT_TIERS; i++)
		source_selector_init(&set->port_tiers[i]);
	source_selector_init(&set->compose);
	set->noise = map_new();
	set->match_context = pcre2_match_context_create(NULL);
	pcre2_set_match_limit(set->match_context, SOURCE_MATCH_LIMIT);
	pcre2_set_depth_limit(set->match_context, SOURCE_DEPTH_LIMIT);
	int rc = source_parse_root(set, file, doc->root, e);
	yaml_doc_free(doc);
	if (rc < 0) {
		source_patterns_free(set);
		return -1;
	}
	*out = set;
	return 0;
}

static pthread_mutex_t source_shared_lock = PTHREAD_MUTEX_INITIALIZER;
static struct source_patterns *source_shared_set;

int source_patterns_shared(const struct source_patterns **out, struct err *e)
{
	int rc = 0;
	pthread_mutex_lock(&source_shared_lock);
	if (!source_shared_set) {
		struct buf data = BUF_INIT;
		char *origin = NULL;
		rc = embed_read_config("source-patterns.yaml", &data, &origin, e);
		if (rc == 0)
			rc = source_patterns_parse(&source_shared_set, origin, buf_cstr(&data),
						   data.len, e);
		free(origin);
		buf_free(&data);
	}
	*out = source_shared_set;
	pthread_mutex_unlock(&source_shared_lock);
	return rc;
}

/* ---- running ---- */

const char *source_project_path(const struct project *p, const struct scan_file *file)
{
	size_t n = strlen(p->dir);
	if (n && strncmp(file->path, p->dir, n) == 0 && file->path[n] == '/')
		return file->path + n + 1;
	return file->path;
}

static void source_push_unique(struct vec *out, const struct vec *from,
			       enum source_pattern_kind kind, int tier)
{
	for (size_t i = 0; from && i < from->len; i++) {
		const struct source_pattern *p = from->items[i];
		if (kind == SOURCE_PATTERN_PORT && tier >= 0 && (int)p->tier != tier)
			continue;
		bool seen = false;
		for (size_t j = 0; j < out->len && !seen; j++)
			seen = out->items[j] == p;
		if (!seen)
			vec_push(out, (void *)p);
	}
}

/* Fills out with the patterns of the selector that read file (in file order). */
static void source_select(const struct source_selector *s, const struct scan_file *file,
			  const char *rel, enum source_pattern_kind kind, int tier, struct vec *out)
{
	out->len = 0;
	/* Most selectors have few entries, and most files are in none. */
	if (file->language && map_count(s->by_language))
		source_push_unique(out, map_get(s->by_language, file->language->id), kind, tier);
	if (map_count(s->by_name))
		source_push_unique(out, map_get(s->by_name, file->name), kind, tier);
	for (size_t i = 0; i < s->wildcards.len; i++) {
		const struct source_glob *g = s->wildcards.items[i];
		if (glob_matches(g->glob, g->whole_path ? rel : file->name)) {
			struct vec one = { (void **)&g->pattern, 1, 1 };
			source_push_unique(out, &one, kind, tier);
		}
	}
}

/* For plain file sets (compose files): whether any name or glob selects file. */
static bool source_selector_has_file(const struct source_selector *s, const struct scan_file *file,
				     const char *rel)
{
	if (map_count(s->by_name) && map_has(s->by_name, file->name))
		return true;
	for (size_t i = 0; i < s->wildcards.len; i++) {
		const struct source_glob *g = s->wildcards.items[i];
		if (glob_matches(g->glob, g->whole_path ? rel : file->name))
			return true;
	}
	return false;
}

static bool source_dir_is(const struct vec *names, const char *dir, size_t len)
{
	for (size_t i = 0; i < names->len; i++) {
		const char *name = names->items[i];
		if (strlen(name) == len && memcmp(name, dir, len) == 0)
			return true;
	}
	return false;
}

static bool source_skipped(const struct source_patterns *set, const char *rel)
{
	const struct source_skip *skip = &set->skip;
	const char *slash = strrchr(rel, '/');
	const char *name = slash ? slash + 1 : rel;
	/* Each directory on the way, the first one also against top_dirs. */
	for (const char *dir = rel; slash && dir < slash;) {
		const char *end = strchr(dir, '/');
		size_t len = (size_t)(end - dir);
		if (source_dir_is(&skip->any_dirs, dir, len) ||
		    (dir == rel && source_dir_is(&skip->top_dirs, dir, len)))
			return true;
		dir = end + 1;
	}
	for (size_t i = 0; i < skip->name_globs.len; i++)
		if (glob_matches(skip->name_globs.items[i], name))
			return true;
	for (size_t i = 0; i < skip->path_globs.len; i++)
		if (glob_matches(skip->path_globs.items[i], rel))
			return true;
	return false;
}

/* Advances a line count from offset *at to target (matches come in order). */
static int source_line_at(const char *text, size_t target, size_t *at, int *line)
{
	if (target < *at) {
		*at = 0;
		*line = 1;
	}
	const char *s = text + *at;
	const char *end = text + target;
	while ((s = memchr(s, '\n', (size_t)(end - s))) != NULL) {
		(*line)++;
		s++;
	}
	*at = target;
	return *line;
}

/*
 * Reading and matching the files is most of the time analysis spends on a
 * big project, so it runs on several threads (scan_parallel_*): the files
 * are chosen first, in path order, each file's matches are kept with it,
 * and the callbacks then run on the caller's thread in the order a single
 * thread would have made them, so results never depend on timing.
 */

/* One match of a pattern in a job's file; len SOURCE_GAVE_UP when the
 * pattern hit its match limit there. */
struct source_hit {
	const struct source_pattern *pattern;
	size_t offset; /* of the capture in the job's captures */
	size_t len;
	int line;
};
#define SOURCE_GAVE_UP SIZE_MAX

struct source_run;

/* One file to read, its patterns, and once read, what they matched. */
struct source_job {
	const struct source_run *run;
	const struct scan_file *file;
	size_t first_pattern; /* its patterns in the run's pattern list */
	size_t pattern_count;
	struct source_hit *hits;
	size_t hit_count, hit_cap;
	struct buf captures;
};

/* The files of one project chosen for one kind (and tier) of patterns. */
struct source_run {
	const struct source_patterns *set;
	const struct project *p;
	enum source_pattern_kind kind;
	struct source_job *jobs;
	size_t count;
	bool capped;	     /* files past SOURCE_SCAN_MAX_FILES were left out */
	struct vec patterns; /* const struct source_pattern *, each job's in turn */
};

/* What the reading threads work through: the jobs of one or more runs. */
struct source_reading {
	const struct scan *scan;
	uint32_t ovector_pairs;
	struct source_job **jobs;
	size_t count;
};

static void source_job_hit(struct source_job *job, const struct source_pattern *pattern,
			   const char *capture, size_t len, int line)
{
	if (job->hit_count == job->hit_cap) {
		job->hit_cap = xalloc_grow_capacity(job->hit_cap, job->hit_count + 1);
		job->hits = xrealloc(job->hits, job->hit_cap * sizeof(*job->hits));
	}
	struct source_hit *hit = &job->hits[job->hit_count++];
	hit->pattern = pattern;
	hit->offset = job->captures.len;
	hit->len = len;
	hit->line = line;
	if (len != SOURCE_GAVE_UP)
		buf_add(&job->captures, capture, len);
}

static void source_match_all(const struct source_patterns *set,
			     const struct source_pattern *pattern, const char *text, size_t len,
			     pcre2_match_data *md, struct source_job *job)
{
	size_t start = 0, at = 0;
	int line = 1;
	while (start <= len) {
		int rc = pcre2_match(pattern->code, (PCRE2_SPTR)text, len, start, 0, md,
				     set->match_context);
		if (rc < 0) {
			if (rc != PCRE2_ERROR_NOMATCH)
				source_job_hit(job, pattern, NULL, SOURCE_GAVE_UP, 0);
			break;
		}
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		if (rc >= 2 && ov[2] != PCRE2_UNSET)
			source_job_hit(job, pattern, text + ov[2], ov[3] - ov[2],
				       source_line_at(text, ov[2], &at, &line));
		start = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
	}
}

/* Runs on any thread: each job belongs to one range. */
static void source_read_jobs(size_t begin, size_t end, void *ctx)
{
	const struct source_reading *reading = ctx;
	struct buf text = BUF_INIT;
	pcre2_match_data *md = pcre2_match_data_create(reading->ovector_pairs, NULL);
	for (size_t i = begin; i < end; i++) {
		struct source_job *job = reading->jobs[i];
		const struct source_run *run = job->run;
		struct err e = ERR_INIT;
		if (scan_read(reading->scan, job->file, &text, &e) < 0)
			continue; /* binary or unreadable: nothing an app reads */
		for (size_t j = 0; j < job->pattern_count; j++)
			source_match_all(run->set, run->patterns.items[job->first_pattern + j],
					 text.data, text.len, md, job);
	}
	pcre2_match_data_free(md);
	buf_free(&text);
}

/* Files per range handed to a thread: a few, so the last ranges even out. */
#define SOURCE_FILES_PER_CHUNK 8

/* Chooses the files (and their patterns) of p that a run reads. */
static void source_run_select(struct source_run *run, const struct source_patterns *set,
			      enum source_pattern_kind kind, int tier, const struct project *p,
			      struct scan *scan)
{
	memset(run, 0, sizeof(*run));
	run->set = set;
	run->p = p;
	run->kind = kind;
	struct vec selected = VEC_INIT;
	const struct source_selector *selector = kind == SOURCE_PATTERN_PORT && tier >= 0
							 ? &set->port_tiers[tier]
							 : &set->select[kind];
	size_t cap = 0;
	const struct vec *files = scan_project_files(scan, p);
	for (size_t i = 0; i < files->len; i++) {
		const struct scan_file *file = files->items[i];
		if (file->foreign)
			continue;
		const char *rel = source_project_path(p, file);
		source_select(selector, file, rel, kind, tier, &selected);
		if (!selected.len || source_skipped(set, rel) ||
		    scan_file_size(scan, file) > SOURCE_SCAN_MAX_FILE_BYTES)
			continue;
		if (run->count == SOURCE_SCAN_MAX_FILES) {
			run->capped = true;
			break;
		}
		if (run->count == cap) {
			cap = xalloc_grow_capacity(cap, run->count + 1);
			run->jobs = xrealloc(run->jobs, cap * sizeof(*run->jobs));
		}
		struct source_job *job = &run->jobs[run->count++];
		memset(job, 0, sizeof(*job));
		job->run = run;
		job->file = file;
		job->first_pattern = run->patterns.len;
		job->pattern_count = selected.len;
		for (size_t j = 0; j < selected.len; j++)
			vec_push(&run->patterns, selected.items[j]);
	}
	vec_free(&selected, NULL);
}

/* Adds run's jobs to what the reading threads work through. */
static void source_reading_add(struct source_reading *reading, struct source_run *run)
{
	reading->jobs =
		xrealloc(reading->jobs, (reading->count + run->count + 1) * sizeof(*reading->jobs));
	for (size_t i = 0; i < run->count; i++)
		reading->jobs[reading->count++] = &run->jobs[i];
}

static void source_run_free(struct source_run *run)
{
	for (size_t i = 0; i < run->count; i++) {
		free(run->jobs[i].hits);
		buf_free(&run->jobs[i].captures);
	}
	free(run->jobs);
	vec_free(&run->patterns, NULL);
	memset(run, 0, sizeof(*run));
}

/* Once read: the warning and the callbacks, in file order; frees the run. */
static void source_run_replay(struct source_run *run, struct scan *scan, source_match_fn fn,
			      void *ctx)
{
	if (run->capped)
		scan_warn(scan, "%s: only the first %d source files were searched for %s",
			  run->p->path, SOURCE_SCAN_MAX_FILES,
			  run->kind == SOURCE_PATTERN_ENV ? "environment variables" : "ports");
	for (size_t i = 0; i < run->count; i++) {
		const struct source_job *job = &run->jobs[i];
		for (size_t j = 0; j < job->hit_count; j++) {
			const struct source_hit *hit = &job->hits[j];
			if (hit->len == SOURCE_GAVE_UP)
				log_debug("envvars", "pattern gave up on a file", "pattern",
					  hit->pattern->id, "path", job->file->path);
			else
				fn(hit->pattern, job->file, job->captures.data + hit->offset,
				   hit->len, hit->line, ctx);
		}
	}
	source_run_free(run);
}

void source_patterns_run(const struct source_patterns *set, enum source_pattern_kind kind, int tier,
			 struct project *p, struct scan *scan, source_match_fn fn, void *ctx)
{
	struct source_run run;
	source_run_select(&run, set, kind, tier, p, scan);
	struct source_reading reading = { .scan = scan, .ovector_pairs = set->ovector_pairs };
	source_reading_add(&reading, &run);
	scan_parallel_for(reading.count, SOURCE_FILES_PER_CHUNK, source_read_jobs, &reading);
	free(reading.jobs);
	source_run_replay(&run, scan, fn, ctx);
}

bool source_patterns_is_compose_file(const struct source_patterns *set, const struct project *p,
				     const struct scan_file *file)
{
	const char *rel = source_project_path(p, file);
	return source_selector_has_file(&set->compose, file, rel) && !source_skipped(set, rel);
}

bool source_patterns_is_noise(const struct source_patterns *set, const char *name)
{
	return map_has(set->noise, name);
}

enum source_pattern_list source_pattern_list(const struct source_pattern *pattern)
{
	return pattern->list;
}

bool source_pattern_ignores(const struct source_pattern *pattern, const char *name)
{
	return pattern->ignore && map_has(pattern->ignore, name);
}

/* ---- reading ahead ---- */

struct source_prefetch {
	struct source_run *runs; /* one per project, in the order given */
	size_t run_count;
	size_t next; /* where the next project's run likely is */
	struct source_reading reading;
	struct scan_parallel *threads; /* NULL once the reading is done */
};

struct source_prefetch *source_prefetch_start(const struct source_patterns *set,
					      enum source_pattern_kind kind,
					      const struct vec *projects, struct scan *scan)
{
	struct source_prefetch *prefetch = xcalloc(1, sizeof(*prefetch));
	prefetch->runs = xcalloc(projects->len + 1, sizeof(*prefetch->runs));
	prefetch->run_count = projects->len;
	prefetch->reading.scan = scan;
	prefetch->reading.ovector_pairs = set->ovector_pairs;
	for (size_t i = 0; i < projects->len; i++) {
		source_run_select(&prefetch->runs[i], set, kind, -1, projects->items[i], scan);
		source_reading_add(&prefetch->reading, &prefetch->runs[i]);
	}
	prefetch->threads = scan_parallel_start(prefetch->reading.count, SOURCE_FILES_PER_CHUNK,
						source_read_jobs, &prefetch->reading);
	return prefetch;
}

void source_prefetch_free(struct source_prefetch *prefetch)
{
	if (!prefetch)
		return;
	scan_parallel_wait(prefetch->threads);
	for (size_t i = 0; i < prefetch->run_count; i++)
		source_run_free(&prefetch->runs[i]);
	free(prefetch->runs);
	free(prefetch->reading.jobs);
	free(prefetch);
}

/* p's run once every file is read, or NULL when p was not prefetched. */
static struct source_run *source_prefetched_run(struct source_prefetch *prefetch,
						const struct project *p)
{
	if (prefetch->threads) {
		scan_parallel_wait(prefetch->threads);
		prefetch->threads = NULL;
	}
	for (size_t n = 0; n < prefetch->run_count; n++) {
		size_t i = (prefetch->next + n) % prefetch->run_count;
		if (prefetch->runs[i].p == p && prefetch->runs[i].set) {
			prefetch->next = i + 1;
			return &prefetch->runs[i];
		}
	}
	return NULL;
}

void source_prefetch_run(struct source_prefetch *prefetch, const struct source_patterns *set,
			 enum source_pattern_kind kind, struct project *p, struct scan *scan,
			 source_match_fn fn, void *ctx)
{
	struct source_run *run = prefetch ? source_prefetched_run(prefetch, p) : NULL;
	if (run && run->set == set && run->kind == kind)
		source_run_replay(run, scan, fn, ctx);
	else
		source_patterns_run(set, kind, -1, p, scan, fn, ctx);
}
