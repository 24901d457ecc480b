#include "intel/analyze.h"

#include "intel/commands.h"
#include "intel/envvars.h"
#include "intel/languages.h"
#include "intel/manifest.h"
#include "intel/port.h"
#include "intel/project.h"
#include "intel/projects.h"
#include "intel/rules.h"
#include "intel/runtimes.h"
#include "intel/scan.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/str.h"
#include "util/err.h"
#include "util/map.h"
#include "util/progress.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static double analyze_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void analyze_free_project(void *item)
{
	project_free(item);
}

void analysis_free(struct analysis *analysis)
{
	if (!analysis)
		return;
	vec_free(&analysis->projects, analyze_free_project);
	scan_free(analysis->scan);
	language_table_free(analysis->languages);
	rules_free(analysis->rules);
	arena_free(analysis->arena);
	free(analysis);
}

static int analyze_compare_shares(const void *a, const void *b)
{
	const struct language_share *sa = *(const struct language_share *const *)a;
	const struct language_share *sb = *(const struct language_share *const *)b;
	if (sa->bytes != sb->bytes)
		return sa->bytes < sb->bytes ? 1 : -1;
	return strcmp(sa->id, sb->id);
}

/* Adds f's bytes to its language's share in p; the running total in *total. */
static void analyze_count_file(struct analysis *analysis, struct project *p,
			       const struct scan_file *f, struct language_share **last,
			       uint64_t *total)
{
	if (f->foreign || !f->language || !language_counts(f->language))
		return;
	/* A project has a few languages: comparing id pointers beats hashing
	 * each of a repository's files. */
	struct language_share *share = *last && (*last)->id == f->language->id ? *last : NULL;
	for (size_t j = 0; !share && j < p->languages.len; j++) {
		struct language_share *known = p->languages.items[j];
		if (known->id == f->language->id)
			share = known;
	}
	if (!share) {
		share = arena_calloc(analysis->arena, 1, sizeof(*share));
		share->id = f->language->id;
		vec_push(&p->languages, share);
	}
	*last = share;
	share->bytes += f->size;
	share->files++;
	*total += f->size;
}

/*
 * Counts the bytes of each language in the files a project holds; the
 * root counts the whole repository, so a monorepo's root says what the
 * repository is written in, and so does a project whose source is all in
 * its members (a .NET solution's folder, a workspace root of manifests).
 */
static void analyze_languages(struct analysis *analysis, struct project *p, bool whole_folder)
{
	uint64_t total = 0;
	struct language_share *last = NULL;
	const struct vec *files =
		*p->dir ? scan_project_files(analysis->scan, p) : &analysis->scan->files;
	for (size_t i = 0; i < files->len && !whole_folder; i++)
		analyze_count_file(analysis, p, files->items[i], &last, &total);
	if (!total && *p->dir) {
		struct buf prefix = BUF_INIT;
		buf_addf(&prefix, "%s/", p->dir);
		files = &analysis->scan->files;
		for (size_t i = scan_first_under(analysis->scan, prefix.data); i < files->len;
		     i++) {
			const struct scan_file *f = files->items[i];
			if (!str_starts_with(f->path, prefix.data))
				break;
			analyze_count_file(analysis, p, f, &last, &total);
		}
		buf_free(&prefix);
	}
	vec_sort(&p->languages, analyze_compare_shares);
	for (size_t i = 0; i < p->languages.len; i++) {
		struct language_share *share = p->languages.items[i];
		share->confidence = total ? (double)share->bytes / (double)total : 0;
	}
	/* Markup (Vue, Svelte, HTML) is primary only when nothing is programmed. */
	for (int pass = 0; pass < 2 && !p->primary_language; pass++)
		for (size_t i = 0; i < p->languages.len && !p->primary_language; i++) {
			struct language_share *share = p->languages.items[i];
			const struct language *language =
				language_by_id(analysis->languages, share->id);
			if (pass == 1 || language->type == LANGUAGE_PROGRAMMING)
				p->primary_language = share->id;
		}
}

/*
 * Whether none of p's own languages is one its package managers build (a
 * Maven parent or a .NET solution folder whose own files are a Dockerfile
 * and scripts, its Java or C# all in its modules): then its folder's
 * languages are its own.
 */
static bool analyze_source_in_members(const struct project *p)
{
	bool managed = false;
	for (size_t i = 0; i < p->findings.len; i++) {
		const struct finding *f = p->findings.items[i];
		const char *language = f->rule ? rule_language(f->rule) : NULL;
		if (f->kind != FINDING_PACKAGE_MANAGER || !language)
			continue;
		managed = true;
		for (size_t j = 0; j < p->languages.len; j++) {
			const struct language_share *share = p->languages.items[j];
			if (str_eq(language_family(share->id), language_family(language)))
				return false;
		}
	}
	return managed && *p->dir;
}

/*
 * How sure the whole entry is: the evidence of its package manager, its
 * framework and (at half weight, since bytes alone do not say how a project
 * is built) its primary language, combined as independent signals are.
 */
static double analyze_project_confidence(const struct project *p)
{
	double doubt = 1.0;
	const struct finding *pm = project_top(p, FINDING_PACKAGE_MANAGER);
	const struct finding *framework = project_top(p, FINDING_FRAMEWORK);
	if (pm)
		doubt *= 1.0 - pm->confidence;
	if (framework)
		doubt *= 1.0 - framework->confidence;
	for (size_t i = 0; i < p->languages.len; i++) {
		const struct language_share *share = p->languages.items[i];
		if (share->id == p->primary_language)
			doubt *= 1.0 - 0.5 * share->confidence;
	}
	return 1.0 - doubt;
}

/*
 * Runs the detectors in the order their inputs need: version files before
 * manifests (the first runtime version recorded wins), manifests before
 * rules (dependencies are signals), rules before port (framework default
 * ports) and port before commands ({port}). The source files searched for
 * environment variables need none of that, so they are read on other
 * threads meanwhile.
 */
static int analyze_projects(struct analysis *analysis, struct err *e)
{
	struct scan *scan = analysis->scan;
	struct arena *arena = analysis->arena;
	struct envvars_prefetch *sources = envvars_prefetch_start(&analysis->projects, scan);
	for (size_t i = 0; i < analysis->projects.len; i++) {
		struct project *p = analysis->projects.items[i];
		analyze_languages(analysis, p, false);
		if (runtimes_detect(p, scan, arena, e) < 0) {
			envvars_prefetch_free(sources);
			return -1;
		}
		manifest_read_project(p, scan, arena);
	}
	projects_link_workspaces(analysis);
	for (size_t i = 0; i < analysis->projects.len; i++)
		rules_apply_project(analysis->rules, analysis->projects.items[i], scan, arena);
	rules_apply_repository(analysis->rules, analysis->projects.items[0], scan, arena);
	projects_place_repository_findings(analysis);
	for (size_t i = 0; i < analysis->projects.len; i++) {
		struct project *p = analysis->projects.items[i];
		if (analyze_source_in_members(p)) {
			p->languages.len = 0;
			p->primary_language = NULL;
			analyze_languages(analysis, p, true);
		}
		/* Pattern-file errors are already among the scan's warnings. */
		envvars_detect_prefetched(p, scan, arena, sources);
		port_detect(p, scan, arena);
		commands_infer(p, analysis->rules, scan, arena);
		p->confidence = analyze_project_confidence(p);
	}
	envvars_prefetch_free(sources);
	return 0;
}

int analyze_repository(struct analysis **out, const char *root,
		       const struct analyze_options *options, struct err *e)
{
	double start = analyze_now_ms();
	struct analysis *analysis = xcalloc(1, sizeof(*analysis));
	analysis->root = root;
	analysis->arena = arena_new();
	if (language_table_load(&analysis->languages, e) < 0 || rules_load(&analysis->rules, e) < 0)
		goto fail;

	struct progress *progress = NULL;
	if (options->progress) {
		progress = progress_start("Analyzing");
		progress_set_unit(progress, "files");
	}
	int rc = scan_tree(&analysis->scan, root, analysis->languages, progress, e);
	if (progress)
		progress_done(progress, NULL);
	if (rc < 0)
		goto fail;

	struct project *top = project_new(analysis->arena, "");
	char *real = realpath(root, NULL);
	const char *slash = real ? strrchr(real, '/') : NULL;
	top->name = arena_strdup(analysis->arena, slash && slash[1] ? slash + 1 : root);
	free(real);
	vec_push(&analysis->projects, top);
	projects_discover(analysis);
	if (analyze_projects(analysis, e) < 0)
		goto fail;

	analysis->elapsed_ms = analyze_now_ms() - start;
	*out = analysis;
	return 0;
fail:
	analysis_free(analysis);
	return -1;
}
