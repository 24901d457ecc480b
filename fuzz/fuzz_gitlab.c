/*
 * Fuzzes the GitLab CI translator: any bytes must either translate into a
 * well-formed workflow or fail with a "file:line:column" message, without
 * crashing, leaking or running away (extends, !reference, expressions and
 * regexes are all reachable from the input).
 */
#include "pipeline/gitlab.h"
#include "pipeline/workflow.h"
#include "util/err.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const variables[] = { "FUZZ=1", "EMPTY=", NULL };
	const struct gitlab_context ctx = {
		.branch = "main",
		.default_branch = "main",
		.pipeline_source = "push",
		.commit_sha = "0123456789abcdef0123456789abcdef01234567",
		.variables = variables,
	};
	struct err e = ERR_INIT;
	struct workflow *wf = NULL;
	if (gitlab_parse(&wf, "fuzz.yml", (const char *)data, size, &ctx, &e) != 0) {
		if (wf || strncmp(e.msg, "fuzz.yml:", 9) != 0)
			abort();
		return 0;
	}
	if (!wf || wf->kind != WORKFLOW_GITLAB || wf->triggers_count != 1)
		abort();
	for (size_t i = 0; i < wf->jobs_count; i++) {
		const struct workflow_job *job = wf->jobs[i];
		if (!job->id || !job->condition || job->steps_count == 0)
			abort();
		for (size_t k = 0; k < job->needs_count; k++)
			if (!workflow_find_job(wf, job->needs[k]))
				abort();
		for (size_t k = 0; k < job->steps_count; k++)
			if (!job->steps[k]->run == !job->steps[k]->uses)
				abort();
	}
	workflow_free(wf);
	return 0;
}
