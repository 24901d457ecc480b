/*
 * bench_plan: how long planning a workflow takes — loading and checking the
 * file, matching its triggers and expanding every job's matrix — without
 * running anything. Prints the best of N rounds in milliseconds.
 * Usage: bench_plan WORKFLOW.yml [ROUNDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "pipeline/matrix.h"
#include "pipeline/trigger.h"
#include "pipeline/workflow.h"
#include "pipeline/workflow_load.h"
#include "util/err.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_plan WORKFLOW.yml [ROUNDS]\n");
		return 2;
	}
	int rounds = argc > 2 ? atoi(argv[2]) : 7;
	double best = -1;
	size_t legs = 0;
	for (int r = 0; r < rounds; r++) {
		double start = now_ms();
		struct err e = ERR_INIT;
		struct workflow *wf = NULL;
		if (workflow_load(&wf, argv[1], &e) < 0) {
			fprintf(stderr, "%s\n", e.msg);
			return 1;
		}
		struct trigger_event event = { .name = "push", .ref = "refs/heads/main" };
		if (!trigger_matches(wf, &event, NULL)) {
			fprintf(stderr, "%s: not triggered by push\n", argv[1]);
			return 1;
		}
		legs = 0;
		for (size_t j = 0; j < wf->jobs_count; j++) {
			json_t *expanded = NULL;
			if (!wf->jobs[j]->matrix) {
				legs++;
				continue;
			}
			if (matrix_expand(wf->jobs[j]->matrix, wf->jobs[j]->id, &expanded, &e) <
			    0) {
				fprintf(stderr, "%s\n", e.msg);
				return 1;
			}
			legs += json_array_size(expanded);
			json_decref(expanded);
		}
		workflow_free(wf);
		double took = now_ms() - start;
		if (best < 0 || took < best)
			best = took;
	}
	printf("%zu legs planned in %.3f ms (best of %d)\n", legs, best, rounds);
	return 0;
}
