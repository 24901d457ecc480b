/*
 * matrix: expands `strategy.matrix` into the list of job legs.
 *
 * GitHub's rules are subtle (an `include` entry extends every combination it
 * does not contradict, else becomes a new one; `exclude` removes partial
 * matches), and they decide which jobs exist at all, so they live in one
 * place with their own tests. The input is already evaluated: expressions
 * in the matrix are resolved by the executor first.
 */
#ifndef AMPEL_PIPELINE_MATRIX_H
#define AMPEL_PIPELINE_MATRIX_H

#include <jansson.h>

struct err;

/* More legs than this is a mistake (GitHub allows 256 per workflow run). */
#define MATRIX_MAX_LEGS 4096

/*
 * matrix: an object of vectors plus optional include/exclude lists. *out is
 * a new array of objects, one per leg, in GitHub's order (the first key
 * varies slowest, includes that add legs come last). what names the job in
 * error messages.
 */
int matrix_expand(const json_t *matrix, const char *what, json_t **out, struct err *e);

/* "node 18, ubuntu-latest": the values of a leg, for job display names. */
char *matrix_leg_label(const json_t *leg);

#endif
