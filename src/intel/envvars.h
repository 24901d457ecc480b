/*
 * envvars: the environment variables an app reads, so deploy configs can
 * name the secrets and settings to provide. Found in .env.example-style
 * files (names only, never values), compose files and source code, with
 * the patterns of config/source-patterns.yaml, run by sources.c.
 */
#ifndef AMPEL_INTEL_ENVVARS_H
#define AMPEL_INTEL_ENVVARS_H

#include "intel/sources.h" /* SOURCE_SCAN_* bounds */

#include <stdbool.h>
#include <stddef.h>

struct arena;
struct project;
struct scan;
struct vec;

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

#endif
