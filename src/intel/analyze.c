#include "intel/analyze.h"

#include "intel/languages.h"
#include "intel/project.h"
#include "intel/scan.h"
#include "util/arena.h"
#include "util/buf.h"
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

/* Counts the bytes of each language in the files a project holds. */
static void analyze_languages(struct analysis *analysis, struct project *p)
{
	struct map *shares = map_new();
	uint64_t total = 0;
	for (size_t i = 0; i < analysis->scan->files.len; i++) {
		const struct scan_file *f = analysis->scan->files.items[i];
		if (f->project != p || f->foreign || !f->language || !language_counts(f->language))
			continue;
		struct language_share *share = map_get(shares, f->language->id);
		if (!share) {
			share = arena_calloc(analysis->arena, 1, sizeof(*share));
			share->id = f->language->id;
			map_put(shares, share->id, share);
			vec_push(&p->languages, share);
		}
		share->bytes += f->size;
		share->files++;
		total += f->size;
	}
	map_free(shares, NULL);
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

/* Gives every file to the deepest project whose directory holds it. */
static void analyze_assign_files(struct analysis *analysis)
{
	struct map *by_dir = map_new();
	for (size_t i = 0; i < analysis->projects.len; i++) {
		struct project *p = analysis->projects.items[i];
		map_put(by_dir, p->dir, p);
	}
	struct buf dir = BUF_INIT;
	for (size_t i = 0; i < analysis->scan->files.len; i++) {
		struct scan_file *f = analysis->scan->files.items[i];
		buf_reset(&dir);
		buf_adds(&dir, f->dir);
		for (;;) {
			struct project *p = map_get(by_dir, buf_cstr(&dir));
			if (p) {
				f->project = p;
				break;
			}
			char *slash = strrchr(buf_cstr(&dir), '/');
			if (!dir.len)
				break;
			buf_truncate(&dir, slash ? (size_t)(slash - dir.data) : 0);
		}
	}
	buf_free(&dir);
	map_free(by_dir, NULL);
}

int analyze_repository(struct analysis **out, const char *root,
		       const struct analyze_options *options, struct err *e)
{
	double start = analyze_now_ms();
	struct analysis *analysis = xcalloc(1, sizeof(*analysis));
	analysis->root = root;
	analysis->arena = arena_new();
	if (language_table_load(&analysis->languages, e) < 0)
		goto fail;

	struct progress *progress = options->progress ? progress_start("Analyzing") : NULL;
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
	analyze_assign_files(analysis);
	for (size_t i = 0; i < analysis->projects.len; i++)
		analyze_languages(analysis, analysis->projects.items[i]);

	analysis->elapsed_ms = analyze_now_ms() - start;
	*out = analysis;
	return 0;
fail:
	analysis_free(analysis);
	return -1;
}
