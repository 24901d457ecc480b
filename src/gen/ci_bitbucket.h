/*
 * ci_bitbucket: the CI plan written for Bitbucket Pipelines.
 *
 * Bitbucket Pipelines: bitbucket-pipelines.yml with one step per project
 * (in parallel when several), changesets conditions, file-keyed caches.
 */
#ifndef AMPEL_GEN_CI_BITBUCKET_H
#define AMPEL_GEN_CI_BITBUCKET_H

struct ci_plan;
struct ci_options;
struct gen_files;
struct err;

int ci_bitbucket_write(const struct ci_plan *plan, const struct ci_options *options,
		       struct gen_files *out, struct err *e);

#endif
