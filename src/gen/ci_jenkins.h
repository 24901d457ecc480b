/*
 * ci_jenkins: the CI plan written for Jenkins.
 *
 * Jenkins: a declarative Jenkinsfile with one stage per project on a
 * pinned docker agent, changeset conditions and a timeout.
 */
#ifndef AMPEL_GEN_CI_JENKINS_H
#define AMPEL_GEN_CI_JENKINS_H

struct buf;
struct ci_plan;
struct ci_options;
struct gen_files;
struct err;

int ci_jenkins_write(const struct ci_plan *plan, const struct ci_options *options,
		     struct gen_files *out, struct err *e);

/* Groovy text, shared with the deploy Jenkinsfile (cd_jenkins.c). */
void ci_jenkins_indent(struct buf *out, int level); /* four spaces a level */
/* "<indent>text\n". */
void ci_jenkins_line(struct buf *out, int level, const char *text);
/* A single-quoted Groovy string: no interpolation. */
void ci_jenkins_quote(struct buf *out, const char *text);

#endif
