/*
 * config: Ampel's own settings, layered built-in default <- ampel.yaml <-
 * AMPEL_* environment <- command-line flag, each value validated against
 * a registry of known settings and remembering where it came from.
 */
#ifndef AMPEL_UTIL_CONFIG_H
#define AMPEL_UTIL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct err;

enum config_type {
	CONFIG_STRING,
	CONFIG_INT,	 /* decimal, within [min, max] */
	CONFIG_BOOL,	 /* true/false, yes/no, on/off, 1/0 (any case) */
	CONFIG_DURATION, /* 250ms, 30s, 5m, 1h30m, 2d; a bare number is seconds */
	CONFIG_ENUM,	 /* one of `allowed` (any case, stored as spelled there) */
};

enum config_flags {
	CONFIG_SECRET = 1 << 0, /* listings must mask the value (it may hold a password) */
};

struct config_setting {
	const char *key; /* dotted, e.g. "log.level"; a YAML mapping per dot */
	const char *env; /* e.g. "AMPEL_LOG_LEVEL"; NULL = not settable from env */
	enum config_type type;
	const char *default_value; /* text, validated like any other value */
	const char *allowed;	   /* CONFIG_ENUM: "debug|info|warn|error|off" */
	long min, max;		   /* CONFIG_INT bounds; both 0 = any long */
	unsigned flags;		   /* enum config_flags */
	const char *description;   /* one line for listings and docs */
	/*
	 * Optional extra check on a value that already has the right type:
	 * returns 0, or -1 after writing what is expected (e.g. "an address
	 * such as 127.0.0.1:8080") to why.
	 */
	int (*check)(const char *value, const char **why);
};

struct config;

/* A set of values holding the built-in settings at their defaults. */
struct config *config_new(void);
void config_free(struct config *cfg);

/*
 * Registers one more setting (copied) at its default. Modules call this
 * before anything is loaded, since a file naming an unregistered key is
 * an error. Fails on a malformed or duplicate key or env name, a key that
 * would be both a value and a group (log vs log.level), or a bad default.
 */
int config_define(struct config *cfg, const struct config_setting *setting, struct err *e);

/*
 * Applies an ampel.yaml: nested mappings name settings (`log: {level: x}`
 * is log.level; `log.level: x` works too). Unknown keys, wrong types and
 * keys given twice are errors reading "<path>:<line>:<column>: ...".
 */
int config_load_file(struct config *cfg, const char *path, struct err *e);
/* The same for a document in memory; name is used in errors and sources. */
int config_load_string(struct config *cfg, const char *name, const char *data, size_t len,
		       struct err *e);
/*
 * Applies every registered AMPEL_* variable found in environ (the first
 * of duplicates, like getenv). An empty value counts as unset; unknown
 * AMPEL_* names are ignored. Errors start with the variable's name.
 */
int config_load_env(struct config *cfg, char *const *envp, struct err *e);
/*
 * The file and environment layers as every command loads them: the file
 * is file_flag, else $AMPEL_CONFIG, else ./ampel.yaml when it exists. A
 * file that was asked for must exist; the implicit one may be absent.
 */
int config_load_standard(struct config *cfg, const char *file_flag, char *const *envp,
			 struct err *e);
/*
 * Sets key from a command-line flag or a program; source names it in
 * errors and in config_source ("--log-level"; NULL = "set").
 */
int config_set(struct config *cfg, const char *key, const char *value, const char *source,
	       struct err *e);

/*
 * The current value as text (normalised: "true"/"false", an enum value
 * as listed); NULL when key is not registered.
 */
const char *config_get(const struct config *cfg, const char *key);
/* 0 when key is unknown or not an int. */
long config_get_int(const struct config *cfg, const char *key);
/* false when key is unknown or not a bool. */
bool config_get_bool(const struct config *cfg, const char *key);
/* Milliseconds; 0 when key is unknown or not a duration. */
long long config_get_duration_ms(const struct config *cfg, const char *key);
/*
 * Where the value came from: "default", "<file>:<line>",
 * "env AMPEL_X" or the flag's source string. NULL when key is unknown.
 */
const char *config_source(const struct config *cfg, const char *key);
/* The registered setting, or NULL. */
const struct config_setting *config_find(const struct config *cfg, const char *key);

struct config_item {
	const struct config_setting *setting;
	const char *value;
	const char *source;
};

/* Registration order: for (size_t i = 0; config_next(cfg, &i, &item);) */
bool config_next(const struct config *cfg, size_t *cursor, struct config_item *item);

/* "string", "int", "bool", "duration" or "enum". */
const char *config_type_name(enum config_type type);

#endif
