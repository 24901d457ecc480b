/*
 * Fuzzes the workflow security checker: any bytes, read as a GitHub
 * workflow or as a GitLab CI file, must be checked or refused cleanly,
 * with every finding well-formed, and never crash or leak.
 */
#include "gen/check.h"
#include "util/err.h"
#include "util/vec.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Loaded once: compiling the patterns per input would drown the search. */
static struct check_rules *rules;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err e = ERR_INIT;
	if (!rules && check_rules_load(&rules, &e) < 0)
		abort();
	/* The first byte picks the dialect, so both walkers see every shape. */
	const char *path = size && (data[0] & 1) ? ".gitlab-ci.yml" : ".github/workflows/ci.yml";
	struct vec findings = VEC_INIT;
	int rc = check_workflow_with(rules, path, (const char *)data, size, &findings, &e);
	if (rc < 0 && (!err_is_set(&e) || findings.len))
		abort();
	for (size_t i = 0; i < findings.len; i++) {
		const struct check_finding *f = findings.items[i];
		if (!f->rule || !f->severity || !f->message || f->line < 1 || f->column < 1 ||
		    strchr(f->message, '\n'))
			abort();
	}
	vec_free(&findings, check_finding_free);
	return 0;
}
