/*
 * Fuzzes the GitHub workflow loader and what runs on its result: any bytes
 * must load or fail with a "fuzz.yml..." message, and a workflow that loads
 * must survive matrix expansion of every static matrix and trigger
 * matching against a fixed push event.
 */
#include "pipeline/matrix.h"
#include "pipeline/trigger.h"
#include "pipeline/workflow.h"
#include "pipeline/workflow_load.h"
#include "util/buf.h"
#include "util/err.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A matrix is static when no string in it is an expression. */
static bool has_expression(const json_t *value)
{
	if (json_is_string(value))
		return strstr(json_string_value(value), "${{") != NULL;
	size_t i;
	const char *key;
	json_t *item;
	if (json_is_array(value)) {
		json_array_foreach((json_t *)value, i, item) if (has_expression(item)) return true;
	} else if (json_is_object(value)) {
		json_object_foreach((json_t *)value, key,
				    item) if (has_expression(item)) return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err e = ERR_INIT;
	struct workflow *wf = NULL;
	if (workflow_parse(&wf, "fuzz.yml", (const char *)data, size, &e) != 0) {
		if (wf || strncmp(e.msg, "fuzz.yml", 8) != 0)
			abort();
		return 0;
	}
	if (!wf || wf->jobs_count == 0)
		abort();
	for (size_t i = 0; i < wf->jobs_count; i++) {
		const struct workflow_job *job = wf->jobs[i];
		if (!job->matrix || has_expression(job->matrix))
			continue;
		json_t *legs = NULL;
		err_clear(&e);
		if (matrix_expand(job->matrix, job->id, &legs, &e) == 0) {
			if (!json_is_array(legs) || json_array_size(legs) == 0)
				abort();
			char *label = matrix_leg_label(json_array_get(legs, 0));
			free(label);
			json_decref(legs);
		} else if (legs || !err_is_set(&e)) {
			abort();
		}
	}
	static const char *const changed[] = { "src/main.c", "docs/README.md", ".github/x.yml" };
	struct trigger_event push = {
		.name = "push",
		.ref = "refs/heads/releases/v1.2-alpha",
		.changed_files = changed,
		.changed_count = 3,
		.changed_known = true,
	};
	struct buf why = BUF_INIT;
	trigger_matches(wf, &push, &why);
	push.ref = "refs/tags/v1.2.3";
	trigger_matches(wf, &push, NULL);
	buf_free(&why);
	json_t *inputs = NULL;
	err_clear(&e);
	if (trigger_inputs(wf, "workflow_dispatch", NULL, NULL, &inputs, &e) == 0)
		json_decref(inputs);
	err_clear(&e);
	/* Defaults of a called workflow are expressions over github and vars. */
	json_t *contexts = json_pack("{s:{s:s},s:{}}", "github", "ref_name", "main", "vars");
	if (trigger_inputs(wf, "workflow_call", NULL, contexts, &inputs, &e) == 0)
		json_decref(inputs);
	json_decref(contexts);
	workflow_free(wf);
	return 0;
}
