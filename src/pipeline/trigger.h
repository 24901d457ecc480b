/*
 * trigger: decides whether a workflow runs for an event, and with which inputs.
 *
 * `on:` filters (branches, tags, paths, their -ignore forms, `!` negation)
 * follow GitHub's documented rules, so `ampel run --event push` runs the
 * same workflows a push to GitHub would; dispatch and call inputs are typed
 * and defaulted the way the `inputs` context sees them.
 */
#ifndef AMPEL_PIPELINE_TRIGGER_H
#define AMPEL_PIPELINE_TRIGGER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct buf;
struct err;
struct workflow;

struct trigger_event {
	const char *name; /* push, pull_request, workflow_dispatch, schedule, workflow_call… */
	const char *ref;  /* refs/heads/<branch> or refs/tags/<tag> */
	const char *base_ref; /* pull_request: the branch merged into */
	const char *head_ref; /* pull_request: the branch merged; NULL: the ref's */
	/* The activity type (`types:` filters): opened, closed, published…;
	 * NULL: synchronize for pull_request events, else unknown (passes). */
	const char *activity;
	/* Files the event changes, for paths filters; when unknown the filters
	 * pass, since nothing says the workflow should not run. */
	const char *const *changed_files;
	size_t changed_count;
	bool changed_known;
};

/* True when wf runs for ev; otherwise why (when not NULL) gets the reason. */
bool trigger_matches(const struct workflow *wf, const struct trigger_event *ev, struct buf *why);

/*
 * The inputs context for a workflow_dispatch or workflow_call event: given
 * (object of strings from --input, or of values from a caller's `with:`)
 * checked against the declared inputs, typed (boolean, number, choice,
 * string, environment) and completed with defaults. A default may hold
 * ${{ }} (workflow_call allows github and vars there): it is evaluated
 * with default_contexts, or taken as text when that is NULL. *out is a new
 * object.
 */
int trigger_inputs(const struct workflow *wf, const char *event, const json_t *given,
		   const json_t *default_contexts, json_t **out, struct err *e);

#endif
