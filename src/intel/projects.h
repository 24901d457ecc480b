/*
 * projects: finds the projects a repository holds.
 *
 * A monorepo's packages and unrelated apps in subfolders each need their
 * own build, so each directory with a manifest is a project; the root is
 * always one, so that a repository without any manifest still gets its
 * languages. Files belong to the deepest project that holds them.
 */
#ifndef AMPEL_INTEL_PROJECTS_H
#define AMPEL_INTEL_PROJECTS_H

struct analysis;

/* Fills analysis->projects (root first, then by path) and each file's project. */
void projects_discover(struct analysis *analysis);
/* Links workspace members to their workspace root once manifests are read. */
void projects_link_workspaces(struct analysis *analysis);

/*
 * Moves the CI, CD and container findings (found repository-wide, on the
 * root) to the project whose directory holds their file.
 */
void projects_place_repository_findings(struct analysis *analysis);

#endif
