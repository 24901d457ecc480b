/*
 * check: security review of CI workflows.
 *
 * Flags what turns a workflow into an attack path: untrusted event data
 * (titles, bodies, branch names, comments) interpolated into run: scripts,
 * pull_request_target checking out the pull request's head, secrets
 * echoed, write-all permissions, third-party actions not pinned. The
 * patterns are data: config/workflow-security.yaml. Every file Ampel
 * generates passes it.
 */
#ifndef AMPEL_GEN_CHECK_H
#define AMPEL_GEN_CHECK_H

#include <stddef.h>

#include "util/vec.h"

struct err;

struct check_finding {
	char *rule;	/* "script-injection", "unpinned-action", ... */
	char *severity; /* "error" or "warning" */
	int line;
	int column;
	char *message; /* what is wrong and how to fix it */
};

/*
 * Checks one workflow (GitHub Actions YAML; GitLab CI files get the checks
 * that apply). findings receives struct check_finding *, sorted by line
 * and column. Returns 0 (even with findings), -1 when the file is not
 * valid YAML or the rule file is invalid (e names the line).
 */
int check_workflow(const char *path, const char *text, size_t len, struct vec *findings,
		   struct err *e);
void check_finding_free(void *finding);

/*
 * The rules themselves, for callers that check many files (or fuzz): load
 * once, check each file with check_workflow_with. check_rules_load reads
 * workflow-security.yaml (the override directory's or the embedded one);
 * errors read "<file>:<line>:<column>: rule '<id>': <problem>".
 */
struct check_rules;
int check_rules_load(struct check_rules **out, struct err *e);
int check_rules_parse(struct check_rules **out, const char *file, const char *data, size_t len,
		      struct err *e);
void check_rules_free(struct check_rules *rules);
int check_workflow_with(const struct check_rules *rules, const char *path, const char *text,
			size_t len, struct vec *findings, struct err *e);

/*
 * Every workflow among generated files (GitHub workflows, .gitlab-ci.yml)
 * must pass the review: -1 with e naming the file, line and problem of the
 * first error-severity finding. rules NULL: loaded for this call.
 */
struct gen_files;
int check_generated_files(const struct check_rules *rules, const struct gen_files *files,
			  struct err *e);

#endif
