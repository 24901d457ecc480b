/*
 * manifest: reads the package manifests of a project (package.json,
 * pyproject.toml, Cargo.toml, go.mod, pom.xml, Gemfile, ...) into its name,
 * direct dependencies, scripts, declared runtime versions and workspace.
 *
 * Manifests come from repositories under analysis, so they are untrusted:
 * a file that cannot be parsed becomes a warning naming file:line, never a
 * failure, and whatever the other manifests say is still recorded.
 */
#ifndef AMPEL_INTEL_MANIFEST_H
#define AMPEL_INTEL_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>

struct arena;
struct project;
struct scan;

/*
 * True for a file name whose presence makes its directory a project
 * (package.json, go.mod, *.csproj, *.sln, settings.gradle, ...). Lock files
 * and tool configs do not: they always sit next to a marking manifest.
 */
bool manifest_marks_project(const char *file_name);

/*
 * True for any file name manifest_read_project reads (the markers, plus
 * requirements-dev.txt, pnpm-workspace.yaml, lerna.json, nx.json, ...).
 */
bool manifest_is_known(const char *file_name);

/*
 * Reads every manifest directly in p->dir and fills p:
 *   name               the first declared name (package.json before others)
 *   manifests          paths from the repository root, in file order
 *   dependencies       direct ones; ecosystems npm pypi cargo go maven rubygems
 *                      packagist hex nuget swift pub deno
 *   scripts            package.json "scripts", composer.json "scripts",
 *                      deno.json "tasks": name -> command
 *   runtimes           ranges declared in manifests (engines.node,
 *                      requires-python, go directive, rust-version, ...).
 *                      Package-manager pins go under their own key:
 *                      packageManager "pnpm@8.15.4" gives {"pnpm": "8.15.4"}
 *                      (also "npm", "yarn", "bun"), pubspec environment.flutter
 *                      gives "flutter". Call runtimes_detect first: version
 *                      files are more precise and project_set_runtime keeps
 *                      the first value.
 *   is_workspace_root, workspace_members (member globs/paths as declared,
 *                      relative to p->dir, "./" and trailing "/" removed)
 * Unparseable manifests become scan warnings "path:line:column: problem".
 * Returns 0 (-1 only on an impossible internal error).
 */
int manifest_read_project(struct project *p, struct scan *scan, struct arena *arena);

/*
 * Reads one manifest from memory as if it were the file at path (from the
 * repository root; its base name selects the parser). For tests and fuzzing.
 * Returns 0, or -1 when no parser knows the file name.
 */
int manifest_read_text(struct project *p, struct scan *scan, struct arena *arena, const char *path,
		       const char *data, size_t len);

#endif
