/* workflow: the pipeline model; see workflow.h. */
#include "pipeline/workflow.h"

#include <string.h>

#include "util/xalloc.h"

static void strings_free(char **items, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(items[i]);
	free(items);
}

static void step_free(struct workflow_step *step)
{
	free(step->id);
	free(step->name);
	free(step->condition);
	free(step->run);
	free(step->uses);
	json_decref(step->with);
	json_decref(step->env);
	free(step->shell);
	free(step->working_directory);
	free(step->continue_on_error);
	free(step->timeout_minutes);
	free(step);
}

static void job_free(struct workflow_job *job)
{
	free(job->id);
	free(job->name);
	free(job->condition);
	strings_free(job->needs, job->needs_count);
	json_decref(job->runs_on);
	json_decref(job->env);
	json_decref(job->defaults_run);
	json_decref(job->outputs);
	json_decref(job->matrix);
	free(job->fail_fast);
	free(job->max_parallel);
	free(job->timeout_minutes);
	free(job->continue_on_error);
	json_decref(job->container);
	json_decref(job->services);
	free(job->environment);
	free(job->uses);
	json_decref(job->with);
	json_decref(job->secrets);
	for (size_t i = 0; i < job->steps_count; i++)
		step_free(job->steps[i]);
	free(job->steps);
	strings_free(job->artifact_paths, job->artifact_paths_count);
	free(job);
}

void workflow_free(struct workflow *wf)
{
	if (!wf)
		return;
	free(wf->file);
	free(wf->name);
	for (size_t i = 0; i < wf->triggers_count; i++) {
		free(wf->triggers[i].event);
		json_decref(wf->triggers[i].filters);
	}
	free(wf->triggers);
	json_decref(wf->env);
	json_decref(wf->defaults_run);
	for (size_t i = 0; i < wf->jobs_count; i++)
		job_free(wf->jobs[i]);
	free(wf->jobs);
	free(wf);
}

void workflow_action_free(struct workflow_action *action)
{
	if (!action)
		return;
	free(action->file);
	free(action->dir);
	free(action->name);
	json_decref(action->inputs);
	json_decref(action->outputs);
	free(action->using);
	free(action->main);
	free(action->pre);
	free(action->post);
	free(action->pre_if);
	free(action->post_if);
	if (action->composite)
		job_free(action->composite);
	free(action);
}

struct workflow_job *workflow_find_job(const struct workflow *wf, const char *id)
{
	for (size_t i = 0; i < wf->jobs_count; i++)
		if (strcmp(wf->jobs[i]->id, id) == 0)
			return wf->jobs[i];
	return NULL;
}

const struct workflow_trigger *workflow_find_trigger(const struct workflow *wf, const char *event)
{
	for (size_t i = 0; i < wf->triggers_count; i++)
		if (strcmp(wf->triggers[i].event, event) == 0)
			return &wf->triggers[i];
	return NULL;
}

struct workflow *workflow_new(enum workflow_kind kind, const char *file)
{
	struct workflow *wf = xcalloc(1, sizeof(*wf));
	wf->kind = kind;
	wf->file = xstrdup(file);
	return wf;
}

struct workflow_job *workflow_add_job(struct workflow *wf, const char *id, int line)
{
	struct workflow_job *job = xcalloc(1, sizeof(*job));
	job->id = xstrdup(id);
	job->line = line;
	wf->jobs = xrealloc(wf->jobs, (wf->jobs_count + 1) * sizeof(*wf->jobs));
	wf->jobs[wf->jobs_count++] = job;
	return job;
}

struct workflow_step *workflow_job_add_step(struct workflow_job *job, int line)
{
	struct workflow_step *step = xcalloc(1, sizeof(*step));
	step->line = line;
	job->steps = xrealloc(job->steps, (job->steps_count + 1) * sizeof(*job->steps));
	job->steps[job->steps_count++] = step;
	return step;
}

void workflow_job_add_need(struct workflow_job *job, const char *id)
{
	job->needs = xrealloc(job->needs, (job->needs_count + 1) * sizeof(*job->needs));
	job->needs[job->needs_count++] = xstrdup(id);
}
