/*
 * makefile: the targets of a project's Makefile (or of its Taskfile, the
 * YAML task runner's), so that where the maintainers wrap their build or
 * their server in `make build` / `task dev` the inferred command is theirs
 * (config/detection-rules.yaml, `when_target`). Only what decides that is
 * read: targets, prerequisites, recipes and the default goal; variables
 * are not expanded and nothing is run.
 */
#ifndef AMPEL_INTEL_MAKEFILE_H
#define AMPEL_INTEL_MAKEFILE_H

#include "intel/project.h" /* enum command_kind */

#include <stdbool.h>
#include <stddef.h>

struct makefile;

/* Parses a Makefile's text; never fails (what is not understood is skipped). */
struct makefile *makefile_parse(const char *text, size_t len);
/*
 * Reads a Taskfile (taskfile.dev, version 3) as targets: each task's
 * `cmds`/`cmd` are its recipe, `deps` and the tasks its cmds call its
 * prerequisites. NULL when the text is not YAML with a `tasks` mapping.
 */
struct makefile *makefile_from_taskfile(const char *text, size_t len);
void makefile_free(struct makefile *mk);

/*
 * Whether `make TARGET` does the job of a command of kind: TARGET is
 * defined, its own recipe does not run a container or release tool (a
 * `build:` that runs `docker build` packages, it does not build), and, for
 * a build, does not run the test suite. ".DEFAULT_GOAL" names the goal a
 * plain `make` runs: by GNU convention `all` or `default` (or one set with
 * .DEFAULT_GOAL, or a file to make), and only when something under it
 * builds rather than tests, lints, installs, cleans or generates.
 */
bool makefile_target_does(const struct makefile *mk, const char *target, enum command_kind kind);

/* The default goal (the first ordinary target, or .DEFAULT_GOAL), or NULL. */
const char *makefile_default_goal(const struct makefile *mk);

#endif
