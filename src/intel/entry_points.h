/*
 * entry_points: where a project's program starts, as command placeholders.
 *
 * The command templates of config/detection-rules.yaml name the program
 * they build or start through placeholders ({app}, {go_command},
 * {dotnet_project}, ...). This module finds their values in the tree: the
 * Python package holding wsgi.py, the Go main package under cmd/, the .NET
 * project that serves, the launcher script named after its package. A
 * placeholder left unset is honest: the alternative naming it gives way to
 * the next one.
 */
#ifndef AMPEL_INTEL_ENTRY_POINTS_H
#define AMPEL_INTEL_ENTRY_POINTS_H

struct arena;
struct map;
struct project;
struct scan;

/* Puts each entry point found for p into vars (name -> const char *, in arena). */
void entry_points_guess(const struct project *p, struct scan *scan, struct arena *arena,
			struct map *vars);

#endif
