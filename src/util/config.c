#include "util/config.h"

#include "util/buf.h"
#include "util/err.h"
#include "util/map.h"
#include "util/str.h"
#include "util/xalloc.h"
#include "util/yaml.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* An ampel.yaml is a screenful; a megabyte is already a mistake. */
#define CONFIG_MAX_FILE_SIZE (1024u * 1024u)
/* Longest value quoted back in an error: enough to recognise it. */
#define CONFIG_QUOTE_MAX 60
/* Keys longer than this get no "did you mean" (the table is tiny). */
#define CONFIG_SUGGEST_MAX 64

static int check_listen(const char *value, const char **why);

/*
 * The settings every ampel command understands. Subsystems with their own
 * settings add them with config_define; only what main.c itself needs
 * before a command runs, or what many modules share, belongs here.
 */
static const struct config_setting base_settings[] = {
	{ .key = "log.level",
	  .env = "AMPEL_LOG_LEVEL",
	  .type = CONFIG_ENUM,
	  .default_value = "warn",
	  .allowed = "debug|info|warn|error|off",
	  .description = "least severe log event that is written" },
	{ .key = "log.format",
	  .env = "AMPEL_LOG_FORMAT",
	  .type = CONFIG_ENUM,
	  .default_value = "text",
	  .allowed = "text|json",
	  .description = "log lines as text or as JSON objects" },
	{ .key = "data_dir",
	  .env = "AMPEL_DATA_DIR",
	  .type = CONFIG_STRING,
	  .default_value = "./data",
	  .description = "directory for the SQLite database, repositories, logs and artifacts" },
	{ .key = "listen",
	  .env = "AMPEL_LISTEN",
	  .type = CONFIG_STRING,
	  .default_value = "127.0.0.1:8080",
	  .description = "address and port the server listens on",
	  .check = check_listen },
	{ .key = "database_url",
	  .env = "AMPEL_DATABASE_URL",
	  .type = CONFIG_STRING,
	  .default_value = "",
	  .flags = CONFIG_SECRET,
	  .description = "PostgreSQL URL (postgres://...); empty = SQLite under data_dir" },
	{ .key = "workers",
	  .env = "AMPEL_WORKERS",
	  .type = CONFIG_INT,
	  .default_value = "2",
	  .min = 0,
	  .max = 256,
	  .description = "threads of the server that run background jobs; 0: none" },
	{ .key = "job_lease_seconds",
	  .env = "AMPEL_JOB_LEASE_SECONDS",
	  .type = CONFIG_INT,
	  .default_value = "60",
	  .min = 1,
	  .max = 86400,
	  .description = "how long a job stays taken without a heartbeat (crash recovery time)" },
	{ .key = "config_dir",
	  .env = "AMPEL_CONFIG_DIR",
	  .type = CONFIG_STRING,
	  .default_value = "",
	  .description = "directory whose files override the built-in knowledge files" },
	{ .key = "quiet",
	  .env = "AMPEL_QUIET",
	  .type = CONFIG_BOOL,
	  .default_value = "false",
	  .description = "no progress display" },
};

struct config_entry {
	struct config_setting def; /* strings owned by the entry */
	char *value;
	char *source;
	long long number; /* int value, bool 0/1, duration in ms */
};

struct config {
	struct map *by_key; /* key -> entry, in registration order */
	struct map *by_env; /* env name -> entry */
};

/* A validated value waiting for the rest of its layer to validate too. */
struct staged {
	struct config_entry *entry;
	char *value;
	char *source;
	long long number;
};

static void entry_free(void *p)
{
	struct config_entry *entry = p;
	if (!entry)
		return;
	free((char *)entry->def.key);
	free((char *)entry->def.env);
	free((char *)entry->def.default_value);
	free((char *)entry->def.allowed);
	free((char *)entry->def.description);
	free(entry->value);
	free(entry->source);
	free(entry);
}

static void staged_free(void *p)
{
	struct staged *s = p;
	if (!s)
		return;
	free(s->value);
	free(s->source);
	free(s);
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

const char *config_type_name(enum config_type type)
{
	switch (type) {
	case CONFIG_STRING:
		return "string";
	case CONFIG_INT:
		return "int";
	case CONFIG_BOOL:
		return "bool";
	case CONFIG_DURATION:
		return "duration";
	case CONFIG_ENUM:
		return "enum";
	}
	return "?";
}

/* Quotes a value for an error message: bounded, and printable whatever came in. */
static void quote_value(struct buf *out, const char *value)
{
	size_t n = 0;
	buf_addch(out, '\'');
	for (const unsigned char *p = (const unsigned char *)value; *p; p++, n++) {
		if (n == CONFIG_QUOTE_MAX) {
			buf_adds(out, "...");
			break;
		}
		if (*p < 0x20 || *p == 0x7f)
			buf_addf(out, "\\x%02x", *p);
		else
			buf_addch(out, (char)*p);
	}
	buf_addch(out, '\'');
}

/* What a valid value of setting s looks like, for "must be <this>". */
static void describe_expected(struct buf *out, const struct config_setting *s)
{
	switch (s->type) {
	case CONFIG_STRING:
		buf_adds(out, "a string");
		break;
	case CONFIG_INT:
		if (s->min == 0 && s->max == 0)
			buf_adds(out, "a whole number");
		else
			buf_addf(out, "a whole number from %ld to %ld", s->min, s->max);
		break;
	case CONFIG_BOOL:
		buf_adds(out, "true or false");
		break;
	case CONFIG_DURATION:
		buf_adds(out, "a duration such as 500ms, 30s, 5m or 1h30m");
		break;
	case CONFIG_ENUM:
		buf_adds(out, "one of ");
		for (const char *p = s->allowed; *p; p++) {
			if (*p == '|')
				buf_adds(out, ", ");
			else
				buf_addch(out, *p);
		}
		break;
	}
}

static int parse_bool(const char *text, long long *number)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (str_eq_icase(text, yes[i])) {
			*number = 1;
			return 0;
		}
		if (str_eq_icase(text, no[i])) {
			*number = 0;
			return 0;
		}
	}
	return -1;
}

static int parse_int(const char *text, const struct config_setting *s, long long *number)
{
	const char *p = text;
	/* strtol would take leading spaces and a '+'; a setting is written plainly. */
	if (*p == '-')
		p++;
	if (!isdigit((unsigned char)*p))
		return -1;
	errno = 0;
	char *end;
	long value = strtol(text, &end, 10);
	if (*end || errno == ERANGE)
		return -1;
	if (!(s->min == 0 && s->max == 0) && (value < s->min || value > s->max))
		return -1;
	*number = value;
	return 0;
}

static long long duration_unit_ms(const char **p)
{
	const char *u = *p;
	if (u[0] == 'm' && u[1] == 's') {
		*p += 2;
		return 1;
	}
	*p += 1;
	switch (u[0]) {
	case 's':
		return 1000;
	case 'm':
		return 60 * 1000LL;
	case 'h':
		return 3600 * 1000LL;
	case 'd':
		return 86400 * 1000LL;
	}
	return 0;
}

/* "1h30m", "250ms", or a bare "45", which is seconds as in most tools. */
static int parse_duration(const char *text, long long *number)
{
	bool bare = *text && strspn(text, "0123456789") == strlen(text);
	long long total = 0;
	const char *p = text;
	if (!isdigit((unsigned char)*p))
		return -1;
	while (*p) {
		long long n = 0;
		if (!isdigit((unsigned char)*p))
			return -1;
		for (; isdigit((unsigned char)*p); p++) {
			if (n > (LLONG_MAX - 9) / 10)
				return -1;
			n = n * 10 + (*p - '0');
		}
		long long unit = bare ? 1000 : *p ? duration_unit_ms(&p) : 0;
		if (unit == 0 || n > LLONG_MAX / unit || total > LLONG_MAX - n * unit)
			return -1;
		total += n * unit;
	}
	*number = total;
	return 0;
}

/* The allowed spelling of text in s->allowed (case-insensitive), or NULL. */
static char *match_enum(const char *text, const char *allowed)
{
	size_t text_len = strlen(text);
	for (const char *p = allowed; *p;) {
		size_t n = strcspn(p, "|");
		if (n == text_len && strncasecmp(p, text, n) == 0)
			return xstrndup(p, n);
		p += n;
		if (*p == '|')
			p++;
	}
	return NULL;
}

/*
 * Checks text against s and produces the value kept: normalised text and
 * its number. On failure, writes "<key> must be <expected>, not '<text>'".
 */
static int value_parse(const struct config_setting *s, const char *text, char **value_out,
		       long long *number_out, struct buf *problem)
{
	long long number = 0;
	char *value = NULL;
	int rc = 0;
	switch (s->type) {
	case CONFIG_STRING:
		break;
	case CONFIG_INT:
		rc = parse_int(text, s, &number);
		if (rc == 0) {
			struct buf b = BUF_INIT;
			buf_addf(&b, "%lld", number);
			value = buf_detach(&b);
		}
		break;
	case CONFIG_BOOL:
		rc = parse_bool(text, &number);
		if (rc == 0)
			value = xstrdup(number ? "true" : "false");
		break;
	case CONFIG_DURATION:
		rc = parse_duration(text, &number);
		break;
	case CONFIG_ENUM:
		value = match_enum(text, s->allowed);
		rc = value ? 0 : -1;
		break;
	}
	const char *why = NULL;
	if (rc == 0 && s->check && s->check(value ? value : text, &why) < 0)
		rc = -1;
	if (rc < 0) {
		free(value);
		buf_addf(problem, "%s must be ", s->key);
		if (why)
			buf_adds(problem, why);
		else
			describe_expected(problem, s);
		buf_adds(problem, ", not ");
		quote_value(problem, text);
		return -1;
	}
	*value_out = value ? value : xstrdup(text);
	*number_out = number;
	return 0;
}

/* Accepts host:port, [v6]:port and :port (every interface). */
static int check_listen(const char *value, const char **why)
{
	*why = "an address such as 127.0.0.1:8080, [::1]:8080 or :8080";
	const char *colon = strrchr(value, ':');
	if (!colon)
		return -1;
	size_t host_len = (size_t)(colon - value);
	if (value[0] == '[') {
		if (host_len < 3 || value[host_len - 1] != ']')
			return -1;
	} else if (memchr(value, ':', host_len)) {
		return -1; /* an IPv6 address needs brackets to tell it from the port */
	}
	for (size_t i = 0; i < host_len; i++)
		if (isspace((unsigned char)value[i]))
			return -1;
	const char *port = colon + 1;
	size_t digits = strspn(port, "0123456789");
	if (digits == 0 || digits > 5 || port[digits] || atol(port) > 65535)
		return -1;
	return 0;
}

/* Optimal string alignment distance: a swapped pair of letters costs 1. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t rows[3][CONFIG_SUGGEST_MAX + 1];
	size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
	if (la > CONFIG_SUGGEST_MAX || lb > CONFIG_SUGGEST_MAX)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			if (prev[j - 1] + cost < best)
				best = prev[j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    prev2[j - 2] + 1 < best)
				best = prev2[j - 2] + 1;
			cur[j] = best;
		}
		size_t *t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return prev[lb];
}

/* Consider candidate (n bytes of s) as the suggestion for key. */
static void suggest_consider(const char *key, const char *s, size_t n, struct buf *best,
			     size_t *best_distance)
{
	char candidate[CONFIG_SUGGEST_MAX + 1];
	if (n > CONFIG_SUGGEST_MAX)
		return;
	memcpy(candidate, s, n);
	candidate[n] = '\0';
	size_t d = edit_distance(key, candidate);
	if (d < *best_distance) {
		*best_distance = d;
		buf_reset(best);
		buf_adds(best, candidate);
	}
}

/* Appends "; did you mean 'x'?" when a key or group is a likely typo of key. */
static void suggest_key(const struct config *cfg, const char *key, struct buf *out)
{
	size_t limit = strlen(key) / 3;
	if (limit < 1)
		limit = 1;
	if (limit > 3)
		limit = 3;
	struct buf best = BUF_INIT;
	size_t best_distance = SIZE_MAX;
	const char *k;
	void *v;
	for (size_t i = 0; map_next(cfg->by_key, &i, &k, &v);) {
		/* Groups too, so `lgo:` suggests `log`. */
		for (const char *dot = strchr(k, '.'); dot; dot = strchr(dot + 1, '.'))
			suggest_consider(key, k, (size_t)(dot - k), &best, &best_distance);
		suggest_consider(key, k, strlen(k), &best, &best_distance);
	}
	if (best_distance > 0 && best_distance <= limit)
		buf_addf(out, "; did you mean '%s'?", buf_cstr(&best));
	buf_free(&best);
}

static int unknown_key_error(const struct config *cfg, const char *where, const char *key,
			     struct err *e)
{
	struct buf msg = BUF_INIT;
	if (where)
		buf_addf(&msg, "%s: ", where);
	buf_adds(&msg, "unknown setting ");
	quote_value(&msg, key);
	suggest_key(cfg, key, &msg);
	err_set(e, "%s", buf_cstr(&msg));
	buf_free(&msg);
	return -1;
}

/* True when key is a group of settings: some setting is "<key>.<rest>". */
static bool is_group(const struct config *cfg, const char *key)
{
	size_t n = strlen(key);
	const char *k;
	void *v;
	for (size_t i = 0; map_next(cfg->by_key, &i, &k, &v);)
		if (strncmp(k, key, n) == 0 && k[n] == '.')
			return true;
	return false;
}

static void list_group(const struct config *cfg, const char *key, struct buf *out)
{
	size_t n = strlen(key);
	const char *k;
	void *v;
	bool first = true;
	for (size_t i = 0; map_next(cfg->by_key, &i, &k, &v);) {
		if (strncmp(k, key, n) == 0 && k[n] == '.') {
			buf_addf(out, "%s%s", first ? "" : ", ", k);
			first = false;
		}
	}
}

static void entry_assign(struct config_entry *entry, char *value, char *source, long long number)
{
	free(entry->value);
	free(entry->source);
	entry->value = value;
	entry->source = source;
	entry->number = number;
}

static void staged_apply(struct map *staged)
{
	const char *k;
	void *v;
	for (size_t i = 0; map_next(staged, &i, &k, &v);) {
		struct staged *s = v;
		entry_assign(s->entry, s->value, s->source, s->number);
		s->value = NULL;
		s->source = NULL;
	}
}

static bool valid_key(const char *key)
{
	if (!key || !islower((unsigned char)key[0]))
		return false;
	for (const char *p = key; *p; p++) {
		if (*p == '.') {
			if (!islower((unsigned char)p[1]))
				return false;
		} else if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) &&
			   *p != '_') {
			return false;
		}
	}
	return true;
}

static bool valid_env(const char *env)
{
	if (!str_starts_with(env, "AMPEL_") || !env[6])
		return false;
	return strspn(env, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == strlen(env);
}

static bool valid_allowed(const char *allowed)
{
	if (!allowed || !*allowed || allowed[0] == '|')
		return false;
	for (const char *p = allowed; *p; p++)
		if (*p == '|' && (p[1] == '|' || p[1] == '\0'))
			return false;
	return true;
}

int config_define(struct config *cfg, const struct config_setting *s, struct err *e)
{
	if (!valid_key(s->key))
		return err_set(e, "setting '%s': a key is lower-case words joined by '.'",
			       s->key ? s->key : "");
	if (map_has(cfg->by_key, s->key))
		return err_set(e, "setting '%s' is defined twice", s->key);
	const char *k;
	void *v;
	size_t n = strlen(s->key);
	for (size_t i = 0; map_next(cfg->by_key, &i, &k, &v);) {
		size_t kn = strlen(k);
		if ((kn > n && strncmp(k, s->key, n) == 0 && k[n] == '.') ||
		    (n > kn && strncmp(s->key, k, kn) == 0 && s->key[kn] == '.'))
			return err_set(e, "setting '%s' clashes with '%s': one would be a group",
				       s->key, k);
	}
	if (s->env && !valid_env(s->env))
		return err_set(e, "setting '%s': environment name '%s' must be AMPEL_ and A-Z0-9_",
			       s->key, s->env);
	if (s->env && map_has(cfg->by_env, s->env))
		return err_set(e, "setting '%s': environment name %s is taken", s->key, s->env);
	if (s->type == CONFIG_ENUM && !valid_allowed(s->allowed))
		return err_set(e, "setting '%s': an enum needs allowed values as \"a|b|c\"",
			       s->key);
	if (s->type == CONFIG_INT && s->min > s->max)
		return err_set(e, "setting '%s': min is above max", s->key);

	struct buf problem = BUF_INIT;
	char *value;
	long long number;
	const char *def = s->default_value ? s->default_value : "";
	if (value_parse(s, def, &value, &number, &problem) < 0) {
		err_set(e, "default of %s", buf_cstr(&problem));
		buf_free(&problem);
		return -1;
	}
	struct config_entry *entry = xcalloc(1, sizeof(*entry));
	entry->def = *s;
	entry->def.key = xstrdup(s->key);
	entry->def.env = dup_or_null(s->env);
	entry->def.default_value = xstrdup(def);
	entry->def.allowed = dup_or_null(s->allowed);
	entry->def.description = xstrdup(s->description ? s->description : "");
	entry_assign(entry, value, xstrdup("default"), number);
	map_put(cfg->by_key, entry->def.key, entry);
	if (entry->def.env)
		map_put(cfg->by_env, entry->def.env, entry);
	return 0;
}

struct config *config_new(void)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	cfg->by_key = map_new();
	cfg->by_env = map_new();
	for (size_t i = 0; i < sizeof(base_settings) / sizeof(base_settings[0]); i++) {
		struct err e = ERR_INIT;
		/* The table is ours; a bad entry is caught by the unit tests. */
		if (config_define(cfg, &base_settings[i], &e) < 0)
			abort();
	}
	return cfg;
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	map_free(cfg->by_env, NULL);
	map_free(cfg->by_key, entry_free);
	free(cfg);
}

/* One ampel.yaml being applied. */
struct file_load {
	struct config *cfg;
	const char *file;
	struct map *staged; /* key -> struct staged; catches one key spelt twice */
	struct err *e;
};

static int load_mapping(struct file_load *l, const struct yaml_node *map, const char *prefix);

static int load_value(struct file_load *l, const struct yaml_node *key_node,
		      const struct yaml_node *value, const char *key, struct config_entry *entry)
{
	if (value->kind != YAML_SCALAR) {
		struct buf expected = BUF_INIT;
		describe_expected(&expected, &entry->def);
		yaml_err(l->e, l->file, value, "%s must be %s, not a %s", key, buf_cstr(&expected),
			 yaml_kind_name(value->kind));
		buf_free(&expected);
		return -1;
	}
	const char *text = yaml_is_null(value) ? "" : value->value;
	if (strlen(text) != value->length && !yaml_is_null(value))
		return yaml_err(l->e, l->file, value, "%s: a value cannot contain a NUL byte", key);
	struct staged *earlier = map_get(l->staged, key);
	if (earlier)
		return yaml_err(l->e, l->file, key_node, "%s is set twice (first at %s)", key,
				earlier->source);
	struct buf problem = BUF_INIT;
	char *normal;
	long long number;
	if (value_parse(&entry->def, text, &normal, &number, &problem) < 0) {
		yaml_err(l->e, l->file, value, "%s", buf_cstr(&problem));
		buf_free(&problem);
		return -1;
	}
	struct staged *s = xcalloc(1, sizeof(*s));
	struct buf source = BUF_INIT;
	buf_addf(&source, "%s:%d", l->file, key_node->line);
	s->entry = entry;
	s->value = normal;
	s->source = buf_detach(&source);
	s->number = number;
	map_put(l->staged, key, s);
	return 0;
}

static int load_pair(struct file_load *l, const struct yaml_pair *pair, const char *prefix)
{
	const struct yaml_node *key_node = pair->key;
	if (key_node->kind != YAML_SCALAR || strlen(key_node->value) != key_node->length)
		return yaml_err(l->e, l->file, key_node, "a setting name must be plain text");
	struct buf key = BUF_INIT;
	if (prefix)
		buf_addf(&key, "%s.", prefix);
	buf_adds(&key, key_node->value);
	int rc = 0;
	struct config_entry *entry = map_get(l->cfg->by_key, buf_cstr(&key));
	if (entry) {
		rc = load_value(l, key_node, pair->value, buf_cstr(&key), entry);
	} else if (is_group(l->cfg, buf_cstr(&key))) {
		if (pair->value->kind == YAML_MAPPING) {
			rc = load_mapping(l, pair->value, buf_cstr(&key));
		} else if (!yaml_is_null(pair->value)) {
			struct buf members = BUF_INIT;
			list_group(l->cfg, buf_cstr(&key), &members);
			rc = yaml_err(l->e, l->file, pair->value,
				      "'%s' is a group of settings (%s), written as a mapping",
				      buf_cstr(&key), buf_cstr(&members));
			buf_free(&members);
		}
	} else {
		struct buf where = BUF_INIT;
		buf_addf(&where, "%s:%d:%d", l->file, key_node->line, key_node->column);
		rc = unknown_key_error(l->cfg, buf_cstr(&where), buf_cstr(&key), l->e);
		buf_free(&where);
	}
	buf_free(&key);
	return rc;
}

static int load_mapping(struct file_load *l, const struct yaml_node *map, const char *prefix)
{
	for (size_t i = 0; i < map->count; i++)
		if (load_pair(l, &map->pairs[i], prefix) < 0)
			return -1;
	return 0;
}

int config_load_string(struct config *cfg, const char *name, const char *data, size_t len,
		       struct err *e)
{
	struct yaml_doc *doc = NULL;
	if (!name)
		name = "ampel.yaml";
	if (yaml_parse(&doc, name, data, len, e) < 0)
		return -1;
	int rc = 0;
	struct file_load l = { cfg, name, map_new(), e };
	const struct yaml_node *root = doc->root;
	if (root && !yaml_is_null(root)) {
		if (root->kind != YAML_MAPPING)
			rc = yaml_err(e, name, root,
				      "ampel.yaml must be a mapping of settings, not a %s",
				      yaml_kind_name(root->kind));
		else
			rc = load_mapping(&l, root, NULL);
	}
	/* All or nothing: a file with one mistake changes no setting. */
	if (rc == 0)
		staged_apply(l.staged);
	map_free(l.staged, staged_free);
	yaml_doc_free(doc);
	return rc;
}

int config_load_file(struct config *cfg, const char *path, struct err *e)
{
	struct buf data = BUF_INIT;
	int rc = buf_read_file(&data, path, CONFIG_MAX_FILE_SIZE, e);
	if (rc == 0)
		rc = config_load_string(cfg, path, buf_cstr(&data), data.len, e);
	buf_free(&data);
	return rc;
}

/* The value of name in environ (first occurrence), or NULL. */
static const char *env_lookup(char *const *envp, const char *name)
{
	size_t n = strlen(name);
	for (char *const *p = envp; p && *p; p++)
		if (strncmp(*p, name, n) == 0 && (*p)[n] == '=')
			return *p + n + 1;
	return NULL;
}

int config_load_env(struct config *cfg, char *const *envp, struct err *e)
{
	struct map *staged = map_new();
	int rc = 0;
	const char *k;
	void *v;
	for (size_t i = 0; rc == 0 && map_next(cfg->by_env, &i, &k, &v);) {
		struct config_entry *entry = v;
		const char *text = env_lookup(envp, k);
		if (!text || !*text)
			continue;
		struct buf problem = BUF_INIT;
		char *normal;
		long long number;
		if (value_parse(&entry->def, text, &normal, &number, &problem) < 0) {
			rc = err_set(e, "%s: %s", k, buf_cstr(&problem));
		} else {
			struct staged *s = xcalloc(1, sizeof(*s));
			struct buf source = BUF_INIT;
			buf_addf(&source, "env %s", k);
			s->entry = entry;
			s->value = normal;
			s->source = buf_detach(&source);
			s->number = number;
			map_put(staged, entry->def.key, s);
		}
		buf_free(&problem);
	}
	if (rc == 0)
		staged_apply(staged);
	map_free(staged, staged_free);
	return rc;
}

int config_load_standard(struct config *cfg, const char *file_flag, char *const *envp,
			 struct err *e)
{
	const char *file = file_flag;
	const char *from_env = NULL;
	if (!file) {
		from_env = env_lookup(envp, "AMPEL_CONFIG");
		if (from_env && *from_env)
			file = from_env;
	}
	if (file) {
		struct buf data = BUF_INIT;
		int rc = buf_read_file(&data, file, CONFIG_MAX_FILE_SIZE, e);
		if (rc < 0 && file == from_env)
			err_prefix(e, "AMPEL_CONFIG");
		if (rc == 0)
			rc = config_load_string(cfg, file, buf_cstr(&data), data.len, e);
		buf_free(&data);
		if (rc < 0)
			return -1;
	} else if (access("ampel.yaml", F_OK) == 0) {
		if (config_load_file(cfg, "ampel.yaml", e) < 0)
			return -1;
	}
	return config_load_env(cfg, envp, e);
}

int config_set(struct config *cfg, const char *key, const char *value, const char *source,
	       struct err *e)
{
	if (!source)
		source = "set";
	struct config_entry *entry = key ? map_get(cfg->by_key, key) : NULL;
	if (!entry)
		return unknown_key_error(cfg, source, key ? key : "", e);
	struct buf problem = BUF_INIT;
	char *normal;
	long long number;
	if (value_parse(&entry->def, value ? value : "", &normal, &number, &problem) < 0) {
		err_set(e, "%s: %s", source, buf_cstr(&problem));
		buf_free(&problem);
		return -1;
	}
	entry_assign(entry, normal, xstrdup(source), number);
	return 0;
}

static const struct config_entry *entry_of(const struct config *cfg, const char *key)
{
	return key ? map_get(cfg->by_key, key) : NULL;
}

const char *config_get(const struct config *cfg, const char *key)
{
	const struct config_entry *entry = entry_of(cfg, key);
	return entry ? entry->value : NULL;
}

long config_get_int(const struct config *cfg, const char *key)
{
	const struct config_entry *entry = entry_of(cfg, key);
	return entry && entry->def.type == CONFIG_INT ? (long)entry->number : 0;
}

bool config_get_bool(const struct config *cfg, const char *key)
{
	const struct config_entry *entry = entry_of(cfg, key);
	return entry && entry->def.type == CONFIG_BOOL && entry->number != 0;
}

long long config_get_duration_ms(const struct config *cfg, const char *key)
{
	const struct config_entry *entry = entry_of(cfg, key);
	return entry && entry->def.type == CONFIG_DURATION ? entry->number : 0;
}

const char *config_source(const struct config *cfg, const char *key)
{
	const struct config_entry *entry = entry_of(cfg, key);
	return entry ? entry->source : NULL;
}

const struct config_setting *config_find(const struct config *cfg, const char *key)
{
	const struct config_entry *entry = entry_of(cfg, key);
	return entry ? &entry->def : NULL;
}

bool config_next(const struct config *cfg, size_t *cursor, struct config_item *item)
{
	const char *k;
	void *v;
	if (!map_next(cfg->by_key, cursor, &k, &v))
		return false;
	const struct config_entry *entry = v;
	item->setting = &entry->def;
	item->value = entry->value;
	item->source = entry->source;
	return true;
}
