#include "intel/runtimes.h"

#include "intel/project.h"
#include "intel/scan.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/embed.h"
#include "util/err.h"
#include "util/json.h"
#include "util/map.h"
#include "util/str.h"
#include "util/toml.h"
#include "util/vec.h"
#include "util/xalloc.h"
#include "util/yaml.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Patterns run on files from the repository: bound their backtracking. */
#define RUNTIMES_MATCH_LIMIT 1000000u

enum runtime_reader { READ_PATTERN, READ_JSON, READ_TOML };

struct runtime_entry {
	char *runtime;
	char *file;
	enum runtime_reader reader;
	char *key_path; /* json/toml */
	pcre2_code *re; /* pattern */
};

struct runtime_table {
	struct vec entries; /* struct runtime_entry * */
	pcre2_match_context *match_context;
};

static void runtime_entry_free(void *item)
{
	struct runtime_entry *entry = item;
	free(entry->runtime);
	free(entry->file);
	free(entry->key_path);
	pcre2_code_free(entry->re);
	free(entry);
}

void runtime_table_free(struct runtime_table *table)
{
	if (!table)
		return;
	vec_free(&table->entries, runtime_entry_free);
	pcre2_match_context_free(table->match_context);
	free(table);
}

size_t runtime_table_count(const struct runtime_table *table)
{
	return table ? table->entries.len : 0;
}

/* ---- loading ---- */

static bool runtime_valid_key(const char *s)
{
	if (!s || !islower((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '-')
			return false;
	return true;
}

static int runtime_compile(struct runtime_entry *entry, const char *file,
			   const struct yaml_node *node, struct err *e)
{
	int code;
	PCRE2_SIZE offset;
	entry->re = pcre2_compile((PCRE2_SPTR)yaml_str(node), PCRE2_ZERO_TERMINATED,
				  PCRE2_MULTILINE | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code,
				  &offset, NULL);
	if (!entry->re) {
		PCRE2_UCHAR message[256];
		pcre2_get_error_message(code, message, sizeof(message));
		return yaml_err(e, file, node, "entry '%s': pattern: %s at offset %zu", entry->file,
				(const char *)message, (size_t)offset);
	}
	uint32_t captures = 0;
	pcre2_pattern_info(entry->re, PCRE2_INFO_CAPTURECOUNT, &captures);
	if (captures != 1)
		return yaml_err(e, file, node,
				"entry '%s': pattern must have exactly one capture group (the "
				"version), it has %u",
				entry->file, captures);
	(void)pcre2_jit_compile(entry->re, PCRE2_JIT_COMPLETE);
	return 0;
}

static int runtime_parse_entry(struct runtime_table *table, const char *file,
			       const struct yaml_node *node, struct err *e)
{
	static const char *const fields[] = { "runtime", "file", "pattern", "json", "toml" };
	if (node->kind != YAML_MAPPING)
		return yaml_err(e, file, node, "each entry must be a mapping");
	const char *path = yaml_str(yaml_get(node, "file"));
	if (!path || !*path)
		return yaml_err(e, file, node, "entry without a 'file'");
	struct runtime_entry *entry = xcalloc(1, sizeof(*entry));
	entry->file = xstrdup(path);
	vec_push(&table->entries, entry);

	for (size_t i = 0; i < node->count; i++) {
		const char *key = yaml_str(node->pairs[i].key);
		bool known = false;
		for (size_t k = 0; k < sizeof(fields) / sizeof(*fields); k++)
			known = known || str_eq(key, fields[k]);
		if (!known)
			return yaml_err(e, file, node->pairs[i].key,
					"entry '%s': unknown field '%s' (expected runtime, file, "
					"pattern, json or toml)",
					path, key ? key : "?");
		if (!yaml_str(node->pairs[i].value) || !*yaml_str(node->pairs[i].value))
			return yaml_err(e, file, node->pairs[i].value,
					"entry '%s': '%s' must be a non-empty string", path, key);
	}
	if (path[0] == '/' || strstr(path, ".."))
		return yaml_err(e, file, yaml_get(node, "file"),
				"entry '%s': file must be a relative path inside the directory",
				path);
	const char *runtime = yaml_str(yaml_get(node, "runtime"));
	if (!runtime_valid_key(runtime))
		return yaml_err(e, file, node,
				"entry '%s': 'runtime' must be a lowercase id such as node", path);
	entry->runtime = xstrdup(runtime);

	const struct yaml_node *pattern = yaml_get(node, "pattern");
	const struct yaml_node *json = yaml_get(node, "json");
	const struct yaml_node *toml = yaml_get(node, "toml");
	if ((pattern != NULL) + (json != NULL) + (toml != NULL) != 1)
		return yaml_err(e, file, node,
				"entry '%s': needs exactly one of 'pattern', 'json' or 'toml'",
				path);
	if (pattern) {
		entry->reader = READ_PATTERN;
		return runtime_compile(entry, file, pattern, e);
	}
	entry->reader = json ? READ_JSON : READ_TOML;
	entry->key_path = xstrdup(yaml_str(json ? json : toml));
	return 0;
}

int runtime_table_parse(struct runtime_table **out, const char *file, const char *data, size_t len,
			struct err *e)
{
	struct yaml_doc *doc = NULL;
	if (yaml_parse(&doc, file, data, len, e) < 0)
		return -1;
	struct runtime_table *table = xcalloc(1, sizeof(*table));
	table->match_context = pcre2_match_context_create(NULL);
	pcre2_set_match_limit(table->match_context, RUNTIMES_MATCH_LIMIT);
	int rc = -1;
	const struct yaml_node *list = doc->root ? yaml_get(doc->root, "runtimes") : NULL;
	if (!list || list->kind != YAML_SEQUENCE) {
		if (doc->root)
			yaml_err(e, file, doc->root, "expected a 'runtimes' list");
		else
			err_set(e, "%s: empty file, expected a 'runtimes' list", file);
		goto out;
	}
	for (size_t i = 0; i < list->count; i++)
		if (runtime_parse_entry(table, file, list->items[i], e) < 0)
			goto out;
	rc = 0;
out:
	yaml_doc_free(doc);
	if (rc < 0) {
		runtime_table_free(table);
		return -1;
	}
	*out = table;
	return 0;
}

int runtime_table_load(struct runtime_table **out, struct err *e)
{
	struct buf data = BUF_INIT;
	char *origin = NULL;
	int rc = embed_read_config("runtimes.yaml", &data, &origin, e);
	if (rc == 0)
		rc = runtime_table_parse(out, origin, buf_cstr(&data), data.len, e);
	free(origin);
	buf_free(&data);
	return rc;
}

/* ---- normalising ---- */

const char *runtime_normalize_version(struct arena *arena, const char *raw)
{
	struct buf v = BUF_INIT;
	buf_adds(&v, raw ? raw : "");
	char *s = str_trim(v.data);
	size_t len = strlen(s);
	if (len >= 2 && (s[0] == '"' || s[0] == '\'') && s[len - 1] == s[0]) {
		s[len - 1] = '\0';
		s = str_trim(s + 1);
	}
	/*
	 * "python-3.11", "ruby-3.2.2", "go1.22": a runtime's name glued to the
	 * number. Only those names: "nightly-2024-01-01" must stay whole.
	 */
	static const char *const names[] = { "python", "ruby",	  "node",  "nodejs", "java",
					     "jdk",    "openjdk", "php",   "deno",   "bun",
					     "zig",    "dart",	  "swift", "dotnet", "elixir",
					     "erlang", "golang",  "go",	   "rust" };
	size_t alpha = 0;
	while (isalpha((unsigned char)s[alpha]))
		alpha++;
	if (alpha == 1 && (s[0] == 'v' || s[0] == 'V') && isdigit((unsigned char)s[1])) {
		s++;
	} else {
		for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
			size_t n = strlen(names[i]);
			if (alpha == n && strncmp(s, names[i], n) == 0) {
				const char *rest = s + n + (s[n] == '-');
				if (isdigit((unsigned char)*rest))
					s = (char *)rest;
				break;
			}
		}
	}
	const char *out = arena_strdup(arena, s);
	buf_free(&v);
	return out;
}

/* ---- detection ---- */

static const char *runtime_from_json(json_t *root, const char *key_path)
{
	json_t *node = root;
	for (const char *p = key_path; node && *p;) {
		size_t n = strcspn(p, ".");
		char key[128];
		if (n >= sizeof(key) || !json_is_object(node))
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		node = json_object_get(node, key);
		p += n + (p[n] == '.');
	}
	if (json_is_array(node))
		node = json_array_get(node, 0);
	return json_is_string(node) ? json_string_value(node) : NULL;
}

/* The version an entry reads from content, copied into out; false when absent. */
static bool runtime_extract(const struct runtime_table *table, const struct runtime_entry *entry,
			    struct scan *scan, const char *path, const struct buf *content,
			    struct buf *out)
{
	buf_reset(out);
	if (entry->reader == READ_PATTERN) {
		pcre2_match_data *match = pcre2_match_data_create_from_pattern(entry->re, NULL);
		int rc = pcre2_match(entry->re, (PCRE2_SPTR)buf_cstr(content), content->len, 0, 0,
				     match, table->match_context);
		if (rc > 1) {
			PCRE2_SIZE *ovector = pcre2_get_ovector_pointer(match);
			if (ovector[2] != PCRE2_UNSET)
				buf_add(out, buf_cstr(content) + ovector[2],
					ovector[3] - ovector[2]);
		}
		pcre2_match_data_free(match);
		return out->len > 0;
	}
	json_t *root = NULL;
	struct err e = ERR_INIT;
	int rc = entry->reader == READ_JSON
			 ? json_read_string(&root, path, buf_cstr(content), content->len, &e)
			 : toml_parse(&root, path, buf_cstr(content), content->len, &e);
	if (rc < 0) {
		scan_warn(scan, "%s", e.msg);
		return false;
	}
	const char *value = runtime_from_json(root, entry->key_path);
	if (value)
		buf_adds(out, value);
	json_decref(root);
	return out->len > 0;
}

static void runtime_detect_dir(const struct runtime_table *table, struct project *p,
			       struct scan *scan, struct arena *arena, const char *dir)
{
	struct buf path = BUF_INIT, content = BUF_INIT, version = BUF_INIT;
	const struct scan_file *loaded = NULL; /* entries of one file share its content */
	for (size_t i = 0; i < table->entries.len; i++) {
		const struct runtime_entry *entry = table->entries.items[i];
		if (map_has(p->runtimes, entry->runtime))
			continue;
		buf_reset(&path);
		buf_addf(&path, "%s%s%s", dir, *dir ? "/" : "", entry->file);
		const struct scan_file *file = scan_find(scan, buf_cstr(&path));
		if (!file)
			continue;
		if (file != loaded) {
			struct err e = ERR_INIT;
			loaded = file;
			if (scan_read(scan, file, &content, &e) < 0) {
				scan_warn(scan, "%s", e.msg);
				buf_reset(&content);
				continue;
			}
		}
		if (runtime_extract(table, entry, scan, file->path, &content, &version))
			project_set_runtime(p, arena, entry->runtime,
					    runtime_normalize_version(arena, buf_cstr(&version)),
					    file->path);
	}
	buf_free(&path);
	buf_free(&content);
	buf_free(&version);
}

int runtime_table_detect(const struct runtime_table *table, struct project *p, struct scan *scan,
			 struct arena *arena)
{
	struct buf dir = BUF_INIT;
	buf_adds(&dir, p->dir);
	for (;;) {
		runtime_detect_dir(table, p, scan, arena, buf_cstr(&dir));
		if (!dir.len)
			break;
		char *slash = strrchr(dir.data, '/');
		buf_truncate(&dir, slash ? (size_t)(slash - dir.data) : 0);
	}
	buf_free(&dir);
	return 0;
}

static pthread_mutex_t runtimes_lock = PTHREAD_MUTEX_INITIALIZER;
static struct runtime_table *runtimes_cached;

int runtimes_detect(struct project *p, struct scan *scan, struct arena *arena, struct err *e)
{
	pthread_mutex_lock(&runtimes_lock);
	int rc = runtimes_cached ? 0 : runtime_table_load(&runtimes_cached, e);
	const struct runtime_table *table = runtimes_cached;
	pthread_mutex_unlock(&runtimes_lock);
	if (rc < 0)
		return -1;
	return runtime_table_detect(table, p, scan, arena);
}

void runtimes_cleanup(void)
{
	pthread_mutex_lock(&runtimes_lock);
	runtime_table_free(runtimes_cached);
	runtimes_cached = NULL;
	pthread_mutex_unlock(&runtimes_lock);
}
