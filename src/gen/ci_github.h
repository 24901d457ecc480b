/*
 * ci_github: the CI plan written for GitHub Actions.
 *
 * GitHub Actions: .github/workflows/ci.yml, or one ci-<job>.yml per project
 * in a repository of several (native paths filters, no third-party
 * change detection), plus secret-scan.yml with --security.
 */
#ifndef AMPEL_GEN_CI_GITHUB_H
#define AMPEL_GEN_CI_GITHUB_H

struct ci_plan;
struct ci_options;
struct gen_files;
struct err;

int ci_github_write(const struct ci_plan *plan, const struct ci_options *options,
		    struct gen_files *out, struct err *e);

#endif
