/*
 * analyze: tells what a repository is, project by project.
 *
 * The one entry point of repository intelligence: it walks the tree once
 * (scan), finds the projects in it, and runs each detector over them in
 * order. The result is rendered by document.h.
 */
#ifndef AMPEL_INTEL_ANALYZE_H
#define AMPEL_INTEL_ANALYZE_H

#include <stdbool.h>

#include "util/vec.h"

struct arena;
struct err;
struct language_table;
struct rule_set;
struct scan;

struct analysis {
	const char *root;
	struct scan *scan;
	struct vec projects; /* struct project *, by path; "." first */
	struct language_table *languages;
	struct rule_set *rules;
	struct arena *arena; /* strings of projects and findings */
	double elapsed_ms;
};

struct analyze_options {
	bool progress; /* show a progress display on a terminal */
};

int analyze_repository(struct analysis **out, const char *root,
		       const struct analyze_options *options, struct err *e);
void analysis_free(struct analysis *analysis);

#endif
