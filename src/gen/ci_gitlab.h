/*
 * ci_gitlab: the CI plan written for GitLab CI.
 *
 * GitLab CI: .gitlab-ci.yml with one job per project in the test stage,
 * images pinned to the runtime version, rules:changes per project path.
 */
#ifndef AMPEL_GEN_CI_GITLAB_H
#define AMPEL_GEN_CI_GITLAB_H

struct ci_plan;
struct ci_options;
struct gen_files;
struct err;

int ci_gitlab_write(const struct ci_plan *plan, const struct ci_options *options,
		    struct gen_files *out, struct err *e);

#endif
