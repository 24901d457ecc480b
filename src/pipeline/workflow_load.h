/*
 * workflow_load: reads a GitHub Actions workflow file into the pipeline model.
 *
 * Workflows are written by people and agents, and a typo must not become a
 * job that silently never runs: every key is checked against the syntax
 * GitHub accepts, `needs` must name jobs that exist and form no cycle, and
 * each error names file:line:column.
 */
#ifndef AMPEL_PIPELINE_WORKFLOW_LOAD_H
#define AMPEL_PIPELINE_WORKFLOW_LOAD_H

#include <stddef.h>

struct err;
struct workflow;
struct workflow_action;

int workflow_parse(struct workflow **out, const char *file, const char *data, size_t len,
		   struct err *e);
int workflow_load(struct workflow **out, const char *path, struct err *e);

/* Reads DIR/action.yml (or action.yaml) of a local action. */
int workflow_action_load(struct workflow_action **out, const char *dir, struct err *e);

#endif
