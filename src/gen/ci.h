/*
 * ci: CI workflows for GitHub Actions, GitLab CI, Bitbucket Pipelines and
 * Jenkins, written from the analysis of a repository.
 *
 * The analysis says what each project is (runtime versions, package
 * manager, lock files, commands); the templates in config/ci-templates.yaml
 * say how each provider sets that stack up, caches it and audits it. One
 * job per project; only the steps that exist.
 */
#ifndef AMPEL_GEN_CI_H
#define AMPEL_GEN_CI_H

#include <jansson.h>
#include <stdbool.h>

#include "util/vec.h"

struct err;
struct gen_files;

enum ci_provider { CI_GITHUB, CI_GITLAB, CI_BITBUCKET, CI_JENKINS };

struct ci_options {
	enum ci_provider provider;
	bool cache;	     /* dependency caching keyed on lock files */
	bool matrix;	     /* several runtime versions (and OS where the provider has it) */
	bool security;	     /* dependency audit and secret scanning */
	bool coverage;	     /* coverage reports */
	struct vec branches; /* const char *: branches that trigger; empty = the default branch */
	struct vec custom_steps; /* const char *: "name=command", run after the tests */
	const char *command;	 /* the command line, for the header comment */
};

/* Parses "github|gitlab|bitbucket|jenkins"; -1 when unknown. */
int ci_provider_parse(const char *name, enum ci_provider *out);

/*
 * Adds the provider's CI file(s) to out. Returns 0, -1 with e on a bad
 * template or option, or GEN_UNSUPPORTED with e saying what was detected
 * when no project has a stack the templates serve.
 */
int gen_ci(const json_t *analysis, const struct ci_options *options, struct gen_files *out,
	   struct err *e);

#endif
