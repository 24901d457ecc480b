/*
 * runtimes: the runtime versions a repository pins in version files
 * (.nvmrc, .python-version, rust-toolchain.toml, .tool-versions, global.json...).
 *
 * Which file pins which runtime, and how to read it, is data
 * (config/runtimes.yaml), validated at load like every knowledge file.
 */
#ifndef AMPEL_INTEL_RUNTIMES_H
#define AMPEL_INTEL_RUNTIMES_H

#include <stddef.h>

struct arena;
struct err;
struct project;
struct scan;

struct runtime_table;

/* Loads runtimes.yaml (embedded, or from the --config-dir override). */
int runtime_table_load(struct runtime_table **out, struct err *e);
/*
 * Parses and validates a runtimes file from memory. Errors read
 * "<file>:<line>:<column>: entry '<file name>': <problem>".
 */
int runtime_table_parse(struct runtime_table **out, const char *file, const char *data, size_t len,
			struct err *e);
void runtime_table_free(struct runtime_table *table);
size_t runtime_table_count(const struct runtime_table *table);

/*
 * Records on p the versions its version files pin: the files in p->dir
 * first, then in each enclosing directory up to the root (nvm, pyenv and
 * asdf look upward too), in table order within a directory. Versions are
 * normalised (runtime_normalize_version); the first one per runtime wins,
 * so call this BEFORE manifest_read_project. Unreadable or unparseable
 * files become scan warnings. Returns 0.
 */
int runtime_table_detect(const struct runtime_table *table, struct project *p, struct scan *scan,
			 struct arena *arena);

/*
 * runtime_table_detect with a table loaded once per process (thread-safe);
 * fails only when runtimes.yaml itself is invalid. runtimes_cleanup frees
 * the cached table (for leak checkers; optional at exit).
 */
int runtimes_detect(struct project *p, struct scan *scan, struct arena *arena, struct err *e);
void runtimes_cleanup(void);

/*
 * "v20.11.0" -> "20.11.0", "python-3.11.4" -> "3.11.4", "go1.22" -> "1.22",
 * quotes and blanks removed; aliases such as "lts/iron", "stable", "latest"
 * are kept as written. Returns an arena string ("" for nothing).
 */
const char *runtime_normalize_version(struct arena *arena, const char *raw);

#endif
