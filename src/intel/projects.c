#include "intel/projects.h"

#include "intel/analyze.h"
#include "intel/manifest.h"
#include "intel/project.h"
#include "intel/scan.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/glob.h"
#include "util/map.h"
#include "util/str.h"

#include <stdlib.h>
#include <string.h>

static bool projects_dir_has_manifest(const struct scan *scan, const char *dir)
{
	const struct vec *files = scan_dir_files(scan, dir);
	for (size_t i = 0; i < files->len; i++) {
		const struct scan_file *f = files->items[i];
		if (manifest_marks_project(f->name))
			return true;
	}
	return false;
}

static int projects_compare(const void *a, const void *b)
{
	const struct project *pa = *(const struct project *const *)a;
	const struct project *pb = *(const struct project *const *)b;
	return strcmp(pa->dir, pb->dir);
}

/* The nearest project above dir, walking up one directory at a time. */
static struct project *projects_enclosing(struct map *by_dir, const char *dir, struct buf *scratch)
{
	buf_reset(scratch);
	buf_adds(scratch, dir);
	for (;;) {
		struct project *p = map_get(by_dir, buf_cstr(scratch));
		if (p)
			return p;
		if (!scratch->len)
			return NULL;
		char *slash = strrchr(scratch->data, '/');
		buf_truncate(scratch, slash ? (size_t)(slash - scratch->data) : 0);
	}
}

static struct map *projects_by_dir(const struct analysis *analysis)
{
	struct map *by_dir = map_new();
	for (size_t i = 0; i < analysis->projects.len; i++) {
		struct project *p = analysis->projects.items[i];
		map_put(by_dir, p->dir, p);
	}
	return by_dir;
}

void projects_discover(struct analysis *analysis)
{
	struct scan *scan = analysis->scan;
	struct map *by_dir = projects_by_dir(analysis);
	for (size_t i = 0; i < scan->dirs.len; i++) {
		const char *dir = scan->dirs.items[i];
		if (*dir && !map_has(by_dir, dir) && projects_dir_has_manifest(scan, dir)) {
			struct project *p = project_new(analysis->arena, dir);
			vec_push(&analysis->projects, p);
			map_put(by_dir, p->dir, p);
		}
	}
	/* The root stays first: it is where repository-wide findings go. */
	struct project *root = analysis->projects.items[0];
	vec_remove(&analysis->projects, 0);
	vec_sort(&analysis->projects, projects_compare);
	vec_insert(&analysis->projects, 0, root);

	struct buf scratch = BUF_INIT;
	for (size_t i = 1; i < analysis->projects.len; i++) {
		struct project *p = analysis->projects.items[i];
		const char *slash = strrchr(p->dir, '/');
		char *parent_dir = arena_strndup(analysis->arena, p->dir,
						 slash ? (size_t)(slash - p->dir) : 0);
		p->parent = projects_enclosing(by_dir, parent_dir, &scratch);
	}
	/* Files come sorted by path, so a directory's files mostly follow each other. */
	const char *last_dir = NULL;
	struct project *last_project = NULL;
	for (size_t i = 0; i < scan->files.len; i++) {
		struct scan_file *f = scan->files.items[i];
		if (!last_dir || strcmp(last_dir, f->dir) != 0) {
			last_dir = f->dir;
			last_project = projects_enclosing(by_dir, f->dir, &scratch);
		}
		f->project = last_project;
	}
	buf_free(&scratch);
	map_free(by_dir, NULL);
}

/* Whether member path (from the root) is declared by the workspace's globs. */
static bool projects_is_member(const struct project *workspace, const struct project *p,
			       struct buf *scratch)
{
	for (size_t i = 0; i < workspace->workspace_members.len; i++) {
		const char *pattern = workspace->workspace_members.items[i];
		while (str_starts_with(pattern, "./"))
			pattern += 2;
		buf_reset(scratch);
		if (*workspace->dir)
			buf_addf(scratch, "%s/", workspace->dir);
		buf_adds(scratch, pattern);
		buf_truncate(scratch, scratch->len - (str_ends_with(scratch->data, "/") ? 1 : 0));
		if (glob_match(scratch->data, p->dir))
			return true;
	}
	return false;
}

void projects_link_workspaces(struct analysis *analysis)
{
	struct buf scratch = BUF_INIT;
	for (size_t i = 0; i < analysis->projects.len; i++) {
		struct project *workspace = analysis->projects.items[i];
		if (!workspace->is_workspace_root)
			continue;
		for (size_t j = 0; j < analysis->projects.len; j++) {
			struct project *p = analysis->projects.items[j];
			if (p != workspace && projects_is_member(workspace, p, &scratch))
				p->workspace = workspace;
		}
	}
	buf_free(&scratch);
}

void projects_place_repository_findings(struct analysis *analysis)
{
	struct project *root = analysis->projects.items[0];
	struct map *by_dir = projects_by_dir(analysis);
	struct buf dir = BUF_INIT;
	struct buf scratch = BUF_INIT;
	for (size_t i = 0; i < root->findings.len;) {
		struct finding *f = root->findings.items[i];
		bool repository_wide = f->kind == FINDING_CI || f->kind == FINDING_CD ||
				       f->kind == FINDING_CONTAINER;
		const char *slash = f->path ? strrchr(f->path, '/') : NULL;
		struct project *owner = NULL;
		if (repository_wide && slash) {
			buf_reset(&dir);
			buf_add(&dir, f->path, (size_t)(slash - f->path));
			owner = projects_enclosing(by_dir, dir.data, &scratch);
		}
		if (owner && owner != root) {
			vec_remove(&root->findings, i);
			vec_push(&owner->findings, f);
		} else {
			i++;
		}
	}
	buf_free(&dir);
	buf_free(&scratch);
	map_free(by_dir, NULL);
}
