/*
 * envvars: the environment variables an app reads, so deploy configs can
 * name the secrets and settings to provide. Found in .env.example-style
 * files (names only, never values), compose files and source code, with
 * the PCRE2 patterns of config/source-patterns.yaml (shared with port.c).
 */
#ifndef AMPEL_INTEL_ENVVARS_H
#define AMPEL_INTEL_ENVVARS_H

#include <stdbool.h>
#include <stddef.h>

struct arena;
struct err;
struct project;
struct scan;
struct scan_file;
struct vec;

/*
 * Bounds on the source read per project and per call, so a huge repository
 * stays fast: files past the count are not read (a warning says so), and
 * bigger files are skipped (they are bundles and data, not code people
 * write).
 */
#define SOURCE_SCAN_MAX_FILES	   1000
#define SOURCE_SCAN_MAX_FILE_BYTES (256 * 1024)

/*
 * Records every variable project p reads, as project_add_env(name,
 * "path:line"). Reads only files whose scan_file->project is p (the
 * orchestrator assigns them first) that are not vendored/generated and not
 * tests (the `skip` globs of source-patterns.yaml). Names must match
 * ^[A-Z_][A-Z0-9_]*$ and not be in the `noise` list. Returns -1 only when
 * the pattern file cannot be loaded; that error is added to scan's
 * warnings.
 */
int envvars_detect(struct project *p, struct scan *scan, struct arena *arena);

/*
 * Reading the source files is most of envvars_detect's time, and it needs
 * nothing the other detectors find: started right after the projects are
 * known (every file's project set), it runs on other threads while they
 * work. envvars_detect_prefetched then gives what envvars_detect would,
 * warnings included and in the same order, waiting for the reading first;
 * a project not prefetched is read then. NULL prefetch is allowed
 * throughout (the patterns did not load: envvars_detect reports it).
 */
struct envvars_prefetch;
struct envvars_prefetch *envvars_prefetch_start(const struct vec *projects, struct scan *scan);
int envvars_detect_prefetched(struct project *p, struct scan *scan, struct arena *arena,
			      struct envvars_prefetch *prefetch);
void envvars_prefetch_free(struct envvars_prefetch *prefetch);

/* True when name is an upper-case variable name: ^[A-Z_][A-Z0-9_]*$. */
bool envvars_name_is_valid(const char *name, size_t len);

/* ---- config/source-patterns.yaml, shared with port.c ---- */

enum source_pattern_kind { SOURCE_PATTERN_ENV, SOURCE_PATTERN_PORT };

/* How the capture of an env pattern holds names. */
enum source_pattern_list {
	SOURCE_LIST_NONE,	 /* the capture is one name */
	SOURCE_LIST_COMMA,	 /* `A, B: alias, C = 1`: leading name of each item */
	SOURCE_LIST_ASSIGNMENTS, /* `A=1 B="x y"`: each NAME= word */
};

/* Port tiers, strongest first (see source-patterns.yaml). */
enum port_tier { PORT_TIER_DOCKERFILE, PORT_TIER_DEPLOY, PORT_TIER_CONFIG, PORT_TIER_CODE };
#define PORT_TIERS 4

struct source_pattern; /* one compiled entry */
struct source_patterns;

/* Parses and compiles a patterns file; file names it in errors. */
int source_patterns_parse(struct source_patterns **out, const char *file, const char *data,
			  size_t len, struct err *e);
void source_patterns_free(struct source_patterns *patterns);
/*
 * The process-wide set, loaded from source-patterns.yaml (or its
 * --config-dir override) and compiled once; never freed by the caller.
 * Thread-safe. A failed load is retried on the next call.
 */
int source_patterns_shared(const struct source_patterns **out, struct err *e);

const char *source_pattern_id(const struct source_pattern *pattern);
enum port_tier source_pattern_tier(const struct source_pattern *pattern);

/*
 * Called for each match of a pattern in a file: capture group 1 (not
 * NUL-terminated) and the 1-based line where the capture starts.
 */
typedef void (*source_match_fn)(const struct source_pattern *pattern, const struct scan_file *file,
				const char *capture, size_t capture_len, int line, void *ctx);

/*
 * Runs the patterns of a kind (and, for ports, of one tier; tier < 0 = all)
 * over the files of project p they select, reading each file once, within
 * the SOURCE_SCAN_* bounds. Unreadable and binary files are skipped. Files
 * are read on several threads, but fn runs on the caller's, in file order.
 */
void source_patterns_run(const struct source_patterns *patterns, enum source_pattern_kind kind,
			 int tier, struct project *p, struct scan *scan, source_match_fn fn,
			 void *ctx);

/* The file's path from the project's directory ("src/app.js"). */
const char *source_project_path(const struct project *p, const struct scan_file *file);

#endif
