/*
 * entry_points: where a project's program starts, as command placeholders.
 *
 * The command templates of config/detection-rules.yaml name the program
 * they build or start through placeholders ({app}, {go_command},
 * {dotnet_project}, ...), kept in the project's entry_points. Those a
 * manifest declares are put there as it is read (package.json's main, a
 * pyproject's console script, a Cargo package's binaries, a Swift
 * package's executable: src/intel/manifest_*.c); this module finds the
 * others in the tree: the Python package holding wsgi.py, the Go main
 * package under cmd/, the .NET project that serves, the launcher script
 * named after its package. A placeholder left unset is honest: the
 * alternative naming it gives way to the next one.
 */
#ifndef AMPEL_INTEL_ENTRY_POINTS_H
#define AMPEL_INTEL_ENTRY_POINTS_H

#include <stdbool.h>

struct arena;
struct map;
struct project;
struct scan;

/*
 * Puts each entry point found in the tree for p into vars (name -> const
 * char *, in arena), beside those its manifests put there.
 */
void entry_points_guess(const struct project *p, struct scan *scan, struct arena *arena,
			struct map *vars);

/*
 * Whether a program's name says it is the one that serves: "server", "api",
 * "web", "mini-redis-server", "chat_api" (of several, the others are
 * helpers: a CLI, a migration, a worker).
 */
bool entry_point_serves(const char *name);

#endif
