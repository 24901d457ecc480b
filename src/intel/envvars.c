#include "intel/envvars.h"

#include "intel/project.h"
#include "intel/scan.h"
#include "intel/sources.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/map.h"
#include "util/vec.h"
#include "util/xalloc.h"
#include "util/yaml.h"

#include <stdlib.h>
#include <string.h>

/* ---- environment variables ---- */

bool envvars_name_is_valid(const char *name, size_t len)
{
	if (!len || (name[0] >= '0' && name[0] <= '9'))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

struct envvars_ctx {
	const struct source_patterns *set;
	struct project *p;
	struct arena *arena;
	struct buf name;
	struct buf source;
};

static void envvars_add(struct envvars_ctx *c, const struct source_pattern *pattern,
			const char *path, const char *name, size_t len, int line)
{
	if (!envvars_name_is_valid(name, len))
		return;
	buf_reset(&c->name);
	buf_add(&c->name, name, len);
	if (source_patterns_is_noise(c->set, c->name.data) ||
	    (pattern && source_pattern_ignores(pattern, c->name.data)))
		return;
	buf_reset(&c->source);
	buf_addf(&c->source, "%s:%d", path, line);
	project_add_env(c->p, c->arena, c->name.data, c->source.data);
}

static bool envvars_ident_char(char c, bool first)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == '$' ||
	       (!first && c >= '0' && c <= '9');
}

/* Blanks quoted text so that values inside quotes are never taken for names. */
static void envvars_blank_quotes(char *s, size_t len)
{
	char quote = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (quote) {
			if (c == '\\' && i + 1 < len && s[i + 1] != '\n')
				s[i++] = ' ';
			else if (c == quote)
				quote = 0;
			if (s[i] != '\n')
				s[i] = ' ';
		} else if (c == '"' || c == '\'' || c == '`') {
			quote = c;
			s[i] = ' ';
		}
	}
}

static void envvars_add_list(struct envvars_ctx *c, const struct source_pattern *pattern,
			     const struct scan_file *file, const char *capture, size_t len,
			     int line)
{
	enum source_pattern_list mode = source_pattern_list(pattern);
	char *s = xstrndup(capture, len);
	envvars_blank_quotes(s, len);
	size_t i = 0;
	while (i < len) {
		/* at the start of an item: a comma-separated one or a word */
		while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' ||
				   (mode == SOURCE_LIST_COMMA && s[i] == ','))) {
			if (s[i] == '\n')
				line++;
			i++;
		}
		size_t begin = i;
		while (i < len && envvars_ident_char(s[i], i == begin))
			i++;
		size_t end = i;
		bool take = end > begin; /* `...rest` has no leading name */
		if (mode == SOURCE_LIST_ASSIGNMENTS)
			take = take && i < len && s[i] == '=';
		if (take)
			envvars_add(c, pattern, file->path, s + begin, end - begin, line);
		/* skip the rest of the item */
		char stop = mode == SOURCE_LIST_COMMA ? ',' : ' ';
		while (i < len && s[i] != stop &&
		       !(stop == ' ' && (s[i] == '\t' || s[i] == '\n'))) {
			if (s[i] == '\n')
				line++;
			i++;
		}
	}
	free(s);
}

static void envvars_on_match(const struct source_pattern *pattern, const struct scan_file *file,
			     const char *capture, size_t len, int line, void *ctx)
{
	if (source_pattern_list(pattern) == SOURCE_LIST_NONE)
		envvars_add(ctx, pattern, file->path, capture, len, line);
	else
		envvars_add_list(ctx, pattern, file, capture, len, line);
}

/* A compose `environment:` is a mapping of names or a list of "NAME=value". */
static void envvars_compose_environment(struct envvars_ctx *c, const char *path,
					const struct yaml_node *env)
{
	if (!env || env->kind == YAML_SCALAR)
		return;
	for (size_t i = 0; i < env->count; i++) {
		const struct yaml_node *node =
			env->kind == YAML_MAPPING ? env->pairs[i].key : env->items[i];
		const char *text = yaml_str(node);
		if (!text)
			continue;
		size_t len = strcspn(text, "=");
		envvars_add(c, NULL, path, text, len, node->line);
	}
}

static void envvars_compose(struct envvars_ctx *c, struct scan *scan)
{
	struct buf text = BUF_INIT;
	const struct vec *files = scan_project_files(scan, c->p);
	for (size_t i = 0; i < files->len; i++) {
		const struct scan_file *file = files->items[i];
		if (file->foreign || !source_patterns_is_compose_file(c->set, c->p, file) ||
		    scan_file_size(scan, file) > SOURCE_SCAN_MAX_FILE_BYTES)
			continue;
		struct err e = ERR_INIT;
		struct yaml_doc *doc = NULL;
		if (scan_read(scan, file, &text, &e) < 0 ||
		    yaml_parse(&doc, file->path, text.data, text.len, &e) < 0) {
			log_debug("envvars", "compose file not read", "path", file->path, "error",
				  e.msg);
			continue;
		}
		const struct yaml_node *services =
			doc->root ? yaml_get(doc->root, "services") : NULL;
		for (size_t j = 0;
		     services && services->kind == YAML_MAPPING && j < services->count; j++)
			envvars_compose_environment(
				c, file->path, yaml_get(services->pairs[j].value, "environment"));
		yaml_doc_free(doc);
	}
	buf_free(&text);
}

/* The source files of every project, read ahead (see envvars.h). */
struct envvars_prefetch {
	struct source_prefetch *reading;
};

struct envvars_prefetch *envvars_prefetch_start(const struct vec *projects, struct scan *scan)
{
	struct err e = ERR_INIT;
	const struct source_patterns *set = NULL;
	if (source_patterns_shared(&set, &e) < 0)
		return NULL; /* envvars_detect reports it */
	struct envvars_prefetch *prefetch = xcalloc(1, sizeof(*prefetch));
	prefetch->reading = source_prefetch_start(set, SOURCE_PATTERN_ENV, projects, scan);
	return prefetch;
}

void envvars_prefetch_free(struct envvars_prefetch *prefetch)
{
	if (!prefetch)
		return;
	source_prefetch_free(prefetch->reading);
	free(prefetch);
}

int envvars_detect_prefetched(struct project *p, struct scan *scan, struct arena *arena,
			      struct envvars_prefetch *prefetch)
{
	struct err e = ERR_INIT;
	const struct source_patterns *set = NULL;
	if (source_patterns_shared(&set, &e) < 0) {
		scan_warn(scan, "%s", e.msg);
		return -1;
	}
	struct envvars_ctx c = { .set = set, .p = p, .arena = arena };
	buf_init(&c.name);
	buf_init(&c.source);
	source_prefetch_run(prefetch ? prefetch->reading : NULL, set, SOURCE_PATTERN_ENV, p, scan,
			    envvars_on_match, &c);
	envvars_compose(&c, scan);
	buf_free(&c.name);
	buf_free(&c.source);
	return 0;
}

int envvars_detect(struct project *p, struct scan *scan, struct arena *arena)
{
	return envvars_detect_prefetched(p, scan, arena, NULL);
}
