/*
 * ci_jenkins: the CI plan written for Jenkins.
 *
 * Jenkins: a declarative Jenkinsfile with one stage per project on a
 * pinned docker agent, changeset conditions and a timeout.
 */
#ifndef AMPEL_GEN_CI_JENKINS_H
#define AMPEL_GEN_CI_JENKINS_H

struct ci_plan;
struct ci_options;
struct gen_files;
struct err;

int ci_jenkins_write(const struct ci_plan *plan, const struct ci_options *options,
		     struct gen_files *out, struct err *e);

#endif
