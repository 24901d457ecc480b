/*
 * sources: config/source-patterns.yaml loaded and compiled (PCRE2), and run
 * over a project's files on several threads with results replayed in file
 * order. envvars.c finds environment variables with it, port.c ports.
 */
#ifndef AMPEL_INTEL_SOURCES_H
#define AMPEL_INTEL_SOURCES_H

#include <stdbool.h>
#include <stddef.h>

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

/* Whether file is one of p's compose files (`compose_files`, not skipped). */
bool source_patterns_is_compose_file(const struct source_patterns *set, const struct project *p,
				     const struct scan_file *file);
/* Whether name is in the `noise` list: a variable every process has. */
bool source_patterns_is_noise(const struct source_patterns *set, const char *name);
enum source_pattern_list source_pattern_list(const struct source_pattern *pattern);
/* Whether the pattern's own `ignore` list holds name. */
bool source_pattern_ignores(const struct source_pattern *pattern, const char *name);

/*
 * Reading ahead: starts reading, on other threads, the files the patterns
 * of kind select in each of projects (struct project *). source_prefetch_run
 * then does what source_patterns_run(set, kind, -1, ...) would, callbacks
 * in the same order, after waiting for the reading; a project not
 * prefetched (or a NULL prefetch) is read then.
 */
struct source_prefetch;
struct source_prefetch *source_prefetch_start(const struct source_patterns *set,
					      enum source_pattern_kind kind,
					      const struct vec *projects, struct scan *scan);
void source_prefetch_run(struct source_prefetch *prefetch, const struct source_patterns *set,
			 enum source_pattern_kind kind, struct project *p, struct scan *scan,
			 source_match_fn fn, void *ctx);
void source_prefetch_free(struct source_prefetch *prefetch);

#endif
