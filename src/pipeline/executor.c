/*
 * executor: schedules a workflow's jobs; see executor.h.
 *
 * The scheduler runs on the caller's thread and owns all job state under
 * one lock; each job leg runs on its own thread (step.c) and reports back
 * through a condition variable. A job starts when every job it needs is
 * done, its `if:` holds and its matrix has been expanded with the outputs
 * of those jobs, which is why expansion happens here, at start time, and
 * not when the file is read.
 */
#include "pipeline/executor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/mask.h"
#include "pipeline/matrix.h"
#include "pipeline/run_internal.h"
#include "pipeline/workflow.h"
#include "pipeline/workflow_load.h"
#include "util/fs.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/str.h"
#include "util/xalloc.h"

#define DEFAULT_MAX_PARALLEL 4

static void run_info(struct run *run, const char *job, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void run_info(struct run *run, const char *job, const char *fmt, ...)
{
	struct buf text = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&text, fmt, ap);
	va_end(ap);
	if (run->opt->on_line) {
		struct buf masked = BUF_INIT;
		mask_apply_buf(run->mask, text.data, text.len, &masked);
		run->opt->on_line(run->opt->line_ctx, job, NULL, RUN_LINE_INFO, masked.data);
		buf_free(&masked);
	}
	buf_free(&text);
}

/*
 * Replaces every string holding `${{` in value with what it evaluates to,
 * keys included. As in the runner's templates, a `${{ insert }}` key merges
 * the mapping it evaluates to into its parent, and a sequence item that is
 * one expression evaluating to a sequence is spliced into its parent (what
 * act does for matrices built from fromJSON).
 */
json_t *run_evaluate_value(const json_t *value, const struct expr_env *env, struct err *e)
{
	if (json_is_string(value)) {
		const char *text = json_string_value(value);
		json_t *out = NULL;
		if (!strstr(text, "${{"))
			return json_incref((json_t *)value);
		return expr_interpolate_value(text, env, &out, e) < 0 ? NULL : out;
	}
	if (json_is_array(value)) {
		json_t *out = json_array();
		size_t i;
		const json_t *item;
		json_array_foreach(value, i, item)
		{
			json_t *evaluated = run_evaluate_value(item, env, e);
			if (!evaluated) {
				json_decref(out);
				return NULL;
			}
			if (json_is_string(item) && json_is_array(evaluated)) {
				json_array_extend(out, evaluated);
				json_decref(evaluated);
			} else {
				json_array_append_new(out, evaluated);
			}
		}
		return out;
	}
	if (json_is_object(value)) {
		json_t *out = json_object();
		const char *key;
		const json_t *item;
		json_object_foreach((json_t *)value, key, item)
		{
			json_t *evaluated = run_evaluate_value(item, env, e);
			if (!evaluated) {
				json_decref(out);
				return NULL;
			}
			if (expr_is_insert_directive(key)) {
				if (!json_is_object(evaluated)) {
					json_decref(evaluated);
					json_decref(out);
					err_set(e, "${{ insert }} needs a mapping");
					return NULL;
				}
				json_object_update(out, evaluated);
				json_decref(evaluated);
				continue;
			}
			struct buf name = BUF_INIT;
			if (strstr(key, "${{") && expr_interpolate(key, env, &name, e) < 0) {
				buf_free(&name);
				json_decref(evaluated);
				json_decref(out);
				return NULL;
			}
			json_object_set_new(out, name.len ? name.data : key, evaluated);
			buf_free(&name);
		}
		return out;
	}
	return json_incref((json_t *)value);
}

/* Env values are strings however they evaluate (`PORT: ${{ 3000 }}`). */
json_t *run_evaluate_env(const json_t *env, const struct expr_env *expr_env, struct err *e)
{
	json_t *out = json_object();
	if (json_is_string(env)) {
		/* env: ${{ fromJSON(...) }} */
		json_t *value = run_evaluate_value(env, expr_env, e);
		if (!value || !json_is_object(value)) {
			if (value)
				err_set(e, "env: the expression must give a mapping");
			json_decref(value);
			json_decref(out);
			return NULL;
		}
		json_decref(out);
		out = value;
		env = value;
	}
	const char *key;
	const json_t *item;
	json_t *strings = json_object();
	json_object_foreach((json_t *)env, key, item)
	{
		struct buf text = BUF_INIT;
		if (json_is_string(item)) {
			if (expr_interpolate(json_string_value(item), expr_env, &text, e) < 0) {
				buf_free(&text);
				json_decref(strings);
				json_decref(out);
				err_prefix(e, "env %s", key);
				return NULL;
			}
		} else {
			char *converted = expr_value_to_string(item);
			buf_adds(&text, converted);
			free(converted);
		}
		json_object_set_new(strings, key, json_string(text.data ? text.data : ""));
		buf_free(&text);
	}
	json_decref(out);
	return strings;
}

static json_t *needs_context(struct run *run, const struct workflow_job *job)
{
	json_t *needs = json_object();
	for (size_t n = 0; n < job->needs_count; n++)
		for (size_t j = 0; j < run->jobs_count; j++) {
			struct job_state *need = &run->jobs[j];
			if (strcmp(need->job->id, job->needs[n]) != 0)
				continue;
			json_t *entry = json_object();
			json_object_set_new(entry, "result", json_string(need->result));
			json_object_set_new(entry, "outputs", json_or_empty_object(need->outputs));
			json_object_set_new(needs, need->job->id, entry);
		}
	return needs;
}

/* The contexts a job-level expression (if, matrix, name, env) may use. */
json_t *run_job_contexts(struct run *run, const struct workflow_job *job)
{
	json_t *contexts = json_object();
	json_object_set(contexts, "github", run->github);
	json_object_set_new(contexts, "needs", needs_context(run, job));
	json_object_set(contexts, "inputs", run->inputs);
	json_object_set_new(contexts, "vars",
			    run->opt->vars ? json_deep_copy(run->opt->vars) : json_object());
	json_object_set(contexts, "secrets", run->secrets);
	json_object_set(contexts, "env", run->env);
	return contexts;
}

/* Cancelled beats failed beats skipped beats success, over the needed jobs. */
static enum expr_status needs_status(struct run *run, const struct workflow_job *job)
{
	enum expr_status status = EXPR_STATUS_SUCCESS;
	for (size_t n = 0; n < job->needs_count; n++)
		for (size_t j = 0; j < run->jobs_count; j++) {
			struct job_state *need = &run->jobs[j];
			if (strcmp(need->job->id, job->needs[n]) != 0)
				continue;
			if (strcmp(need->result, "cancelled") == 0)
				status = EXPR_STATUS_CANCELLED;
			else if (strcmp(need->result, "failure") == 0 && !need->allowed_failure &&
				 status != EXPR_STATUS_CANCELLED)
				status = EXPR_STATUS_FAILURE;
			else if (strcmp(need->result, "skipped") == 0 &&
				 status == EXPR_STATUS_SUCCESS)
				status = EXPR_STATUS_SKIPPED;
		}
	return status;
}

static void job_finish(struct run *run, struct job_state *js, const char *result)
{
	js->phase = JOB_DONE;
	js->result = result;
	if (!js->outputs)
		js->outputs = json_object();
	if (strcmp(result, "skipped") != 0 && strcmp(result, "success") != 0)
		run_info(run, js->job->id, "job %s: %s", js->job->id, result);
}

static char *leg_display(struct run *run, const struct workflow_job *job, const json_t *matrix,
			 const struct expr_env *env)
{
	struct buf name = BUF_INIT;
	buf_adds(&name, run->job_prefix ? run->job_prefix : "");
	struct err e = ERR_INIT;
	size_t prefix_len = name.len;
	if (!job->name) {
		buf_adds(&name, job->id);
	} else if (expr_interpolate(job->name, env, &name, &e) < 0) {
		buf_truncate(&name, prefix_len); /* shown as written */
		buf_adds(&name, job->name);
	}
	err_clear(&e);
	/* GitHub appends the matrix values unless the name uses them. */
	if (matrix && !(job->name && strstr(job->name, "matrix."))) {
		char *label = matrix_leg_label(matrix);
		buf_addf(&name, " (%s)", label);
		free(label);
	}
	return buf_detach(&name);
}

static bool text_is_true(const char *text, const struct expr_env *env, bool fallback)
{
	if (!text)
		return fallback;
	json_t *value = NULL;
	struct err e = ERR_INIT;
	if (expr_interpolate_value(text, env, &value, &e) < 0) {
		err_clear(&e);
		return fallback;
	}
	bool truthy = json_is_string(value) ? str_eq_icase(json_string_value(value), "true")
					    : expr_value_truthy(value);
	json_decref(value);
	return truthy;
}

/* Decides whether a ready job runs and, if so, creates its legs. Lock held. */
static void job_start(struct run *run, struct job_state *js)
{
	const struct workflow_job *job = js->job;
	json_t *contexts = run_job_contexts(run, job);
	struct expr_env env = { .contexts = contexts,
				.status = needs_status(run, job),
				.workspace = run->opt->repo_dir,
				.allow_status_functions = true };
	if (atomic_load(&run->cancel))
		env.status = EXPR_STATUS_CANCELLED;
	bool runs = false;
	struct err e = ERR_INIT;
	if (expr_condition(job->condition ? job->condition : "", &env, &runs, &e) < 0) {
		run_info(run, job->id, "%s:%d: job '%s': if: %s", run->wf->file, job->line, job->id,
			 e.msg);
		err_clear(&e);
		json_decref(contexts);
		job_finish(run, js, "failure");
		return;
	}
	if (!runs) {
		json_decref(contexts);
		job_finish(run, js, env.status == EXPR_STATUS_CANCELLED ? "cancelled" : "skipped");
		return;
	}
	env.allow_status_functions = false;

	json_t *legs = NULL;
	if (job->matrix) {
		json_t *matrix = run_evaluate_value(job->matrix, &env, &e);
		if (!matrix || matrix_expand(matrix, job->id, &legs, &e) < 0) {
			run_info(run, job->id, "%s:%d: %s", run->wf->file, job->line, e.msg);
			err_clear(&e);
			json_decref(matrix);
			json_decref(contexts);
			job_finish(run, js, "failure");
			return;
		}
		json_decref(matrix);
	}
	js->fail_fast = text_is_true(job->fail_fast, &env, true);
	js->max_parallel = job->max_parallel ? atol(job->max_parallel) : 0;
	js->legs_count = legs ? json_array_size(legs) : 1;
	js->legs = xcalloc(js->legs_count, sizeof(*js->legs));
	for (size_t i = 0; i < js->legs_count; i++) {
		struct leg *leg = xcalloc(1, sizeof(*leg));
		leg->run = run;
		leg->state = js;
		leg->index = i;
		leg->matrix = legs ? json_incref(json_array_get(legs, i)) : NULL;
		json_object_set_new(contexts, "matrix", json_or_empty_object(leg->matrix));
		leg->display = leg_display(run, job, leg->matrix, &env);
		js->legs[i] = leg;
	}
	json_decref(legs);
	json_decref(contexts);
	js->phase = JOB_RUNNING;
	js->outputs = json_object();
}

static void *leg_thread(void *arg)
{
	struct leg *leg = arg;
	struct run *run = leg->run;
	leg_execute(leg);
	pthread_mutex_lock(&run->lock);
	struct job_state *js = leg->state;
	js->legs_running--;
	js->legs_done++;
	run->legs_running--;
	if (leg->outputs)
		json_object_update(js->outputs, leg->outputs);
	if (strcmp(leg->result, "failure") == 0 && !leg->continue_on_error && js->fail_fast &&
	    js->legs_count > 1)
		atomic_store(&js->cancel, 1);
	pthread_cond_broadcast(&run->changed);
	pthread_mutex_unlock(&run->lock);
	return NULL;
}

/* A job is done when every leg has finished; legs fail-fast kept from starting count as cancelled.
 */
static void job_collect(struct run *run, struct job_state *js)
{
	if (js->legs_done < js->legs_started || js->legs_started < js->legs_count)
		return;
	const char *result = "success";
	bool allowed = true; /* every failed leg had continue-on-error */
	for (size_t i = 0; i < js->legs_count; i++) {
		struct leg *leg = js->legs[i];
		if (!leg->result)
			leg->result = "cancelled";
		if (strcmp(leg->result, "failure") == 0) {
			result = "failure";
			allowed &= leg->continue_on_error;
		} else if (strcmp(leg->result, "cancelled") == 0 &&
			   strcmp(result, "success") == 0) {
			result = "cancelled";
		}
	}
	allowed &= strcmp(result, "failure") == 0;
	js->allowed_failure = allowed;
	job_finish(run, js, result);
}

static void legs_start(struct run *run, struct job_state *js, size_t limit)
{
	while (js->legs_started < js->legs_count && run->legs_running < limit &&
	       (js->max_parallel <= 0 || js->legs_running < (size_t)js->max_parallel)) {
		struct leg *leg = js->legs[js->legs_started++];
		if (atomic_load(&js->cancel) || atomic_load(&run->cancel)) {
			/* fail-fast: legs not yet started never start */
			leg->result = "cancelled";
			js->legs_done++;
			continue;
		}
		js->legs_running++;
		run->legs_running++;
		if (pthread_create(&leg->thread, NULL, leg_thread, leg) != 0) {
			js->legs_running--;
			run->legs_running--;
			leg->result = "failure";
			js->legs_done++;
			run_info(run, js->job->id, "cannot start a thread for %s", leg->display);
		}
	}
}

/* -j JOB runs that job and the jobs it needs, transitively. */
static void select_jobs(struct run *run, const char *id, bool *selected)
{
	for (size_t j = 0; j < run->jobs_count; j++) {
		if (strcmp(run->jobs[j].job->id, id) != 0 || selected[j])
			continue;
		selected[j] = true;
		for (size_t n = 0; n < run->jobs[j].job->needs_count; n++)
			select_jobs(run, run->jobs[j].job->needs[n], selected);
	}
}

static void propagate_cancel(struct run *run)
{
	bool cancelled = atomic_load(&run->cancel) ||
			 (run->opt->cancel && atomic_load(run->opt->cancel)) ||
			 (run->parent && atomic_load(&run->parent->cancel));
	if (!cancelled)
		return;
	atomic_store(&run->cancel, 1);
	for (size_t j = 0; j < run->jobs_count; j++)
		for (size_t i = 0; i < run->jobs[j].legs_started; i++)
			atomic_store(&run->jobs[j].legs[i]->cancel, 1);
}

static void schedule(struct run *run)
{
	size_t limit =
		run->opt->max_parallel > 0 ? (size_t)run->opt->max_parallel : DEFAULT_MAX_PARALLEL;
	pthread_mutex_lock(&run->lock);
	for (;;) {
		propagate_cancel(run);
		bool all_done = true;
		for (size_t j = 0; j < run->jobs_count; j++) {
			struct job_state *js = &run->jobs[j];
			if (js->phase == JOB_PENDING) {
				bool ready = true;
				for (size_t n = 0; n < js->job->needs_count; n++) {
					for (size_t k = 0; k < run->jobs_count; k++)
						if (strcmp(run->jobs[k].job->id,
							   js->job->needs[n]) == 0 &&
						    run->jobs[k].phase != JOB_DONE)
							ready = false;
				}
				if (ready)
					job_start(run, js);
			}
			if (js->phase == JOB_RUNNING) {
				for (size_t i = 0; i < js->legs_started; i++)
					if (atomic_load(&js->cancel))
						atomic_store(&js->legs[i]->cancel, 1);
				legs_start(run, js, limit);
				job_collect(run, js);
			}
			if (js->phase != JOB_DONE)
				all_done = false;
		}
		if (all_done)
			break;
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 100 * 1000 * 1000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&run->changed, &run->lock, &until);
	}
	pthread_mutex_unlock(&run->lock);
	for (size_t j = 0; j < run->jobs_count; j++)
		for (size_t i = 0; i < run->jobs[j].legs_count; i++)
			if (run->jobs[j].legs[i]->thread)
				pthread_join(run->jobs[j].legs[i]->thread, NULL);
}

static json_t *github_context(const struct run_options *opt, const struct workflow *wf,
			      const char *run_id)
{
	json_t *github = json_object();
	const char *ref = opt->event.ref ? opt->event.ref : "refs/heads/main";
	bool tag = str_starts_with(ref, "refs/tags/");
	const char *ref_name = strrchr(ref, '/') && (tag || str_starts_with(ref, "refs/heads/"))
				       ? ref + (tag ? strlen("refs/tags/") : strlen("refs/heads/"))
				       : ref;
	const char *repository = opt->repository ? opt->repository : "local/repository";
	const char *slash = strchr(repository, '/');
	json_object_set_new(github, "event_name", json_string(opt->event.name));
	json_object_set_new(github, "ref", json_string(ref));
	json_object_set_new(github, "ref_name", json_string(ref_name));
	json_object_set_new(github, "ref_type", json_string(tag ? "tag" : "branch"));
	json_object_set_new(
		github, "sha",
		json_string(opt->sha ? opt->sha : "0000000000000000000000000000000000000000"));
	json_object_set_new(github, "repository", json_string(repository));
	json_object_set_new(github, "repository_owner",
			    json_stringn(repository, slash ? (size_t)(slash - repository)
							   : strlen(repository)));
	json_object_set_new(github, "actor", json_string(opt->actor ? opt->actor : "ampel"));
	json_object_set_new(github, "triggering_actor",
			    json_string(opt->actor ? opt->actor : "ampel"));
	json_object_set_new(github, "workflow", json_string(wf->name ? wf->name : wf->file));
	json_object_set_new(github, "run_id", json_string(run_id));
	json_object_set_new(github, "run_number", json_string("1"));
	json_object_set_new(github, "run_attempt", json_string("1"));
	json_object_set_new(github, "server_url", json_string("https://github.com"));
	json_object_set_new(github, "api_url", json_string("https://api.github.com"));
	json_object_set_new(github, "graphql_url", json_string("https://api.github.com/graphql"));
	json_object_set_new(github, "retention_days", json_string("90"));
	json_object_set_new(github, "token", json_string(""));
	bool pull = str_starts_with(opt->event.name, "pull_request");
	json_object_set_new(github, "base_ref",
			    json_string(pull && opt->event.base_ref ? opt->event.base_ref : ""));
	const char *head_ref = opt->event.head_ref ? opt->event.head_ref : ref_name;
	json_object_set_new(github, "head_ref", json_string(pull ? head_ref : ""));
	json_t *event = opt->event_payload ? json_deep_copy(opt->event_payload) : json_object();
	if (!opt->event_payload && pull)
		json_object_set_new(
			event, "action",
			json_string(opt->event.activity ? opt->event.activity : "synchronize"));
	if (!opt->event_payload && strcmp(opt->event.name, "push") == 0) {
		json_object_set_new(event, "ref", json_string(ref));
		json_object_set_new(event, "after", json_string(opt->sha ? opt->sha : ""));
	}
	json_object_set_new(github, "event", event);
	return github;
}

json_t *json_or_empty_object(json_t *value)
{
	return value ? json_incref(value) : json_object();
}

static void run_init(struct run *run, const struct workflow *wf, const struct run_options *opt)
{
	run->wf = wf;
	run->opt = opt;
	pthread_mutex_init(&run->lock, NULL);
	pthread_cond_init(&run->changed, NULL);
	run->jobs_count = wf->jobs_count;
	run->jobs = xcalloc(wf->jobs_count + 1, sizeof(*run->jobs));
	for (size_t j = 0; j < wf->jobs_count; j++) {
		run->jobs[j].job = wf->jobs[j];
		run->jobs[j].result = "skipped";
	}
}

static int run_prepare_top(struct run *run, struct err *e)
{
	const struct run_options *opt = run->opt;
	if (opt->work_dir) {
		run->work_dir = xstrdup(opt->work_dir);
		if (fs_make_dirs(run->work_dir, 0755, e) < 0)
			return -1;
	} else {
		const char *tmp = getenv("TMPDIR");
		struct buf dir = BUF_INIT;
		buf_addf(&dir, "%s/ampel-run-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(dir.data)) {
			int rc = err_errno(e, "cannot create a work directory under %s",
					   tmp && *tmp ? tmp : "/tmp");
			buf_free(&dir);
			return rc;
		}
		run->work_dir = buf_detach(&dir);
	}
	run->artifacts_dir = workspace_join(run->work_dir, "_artifacts");
	if (opt->cache_dir) {
		run->cache_dir = xstrdup(opt->cache_dir);
	} else {
		const char *xdg = getenv("XDG_CACHE_HOME");
		const char *home = getenv("HOME");
		struct buf dir = BUF_INIT;
		if (xdg && *xdg)
			buf_addf(&dir, "%s/ampel/actions-cache", xdg);
		else
			buf_addf(&dir, "%s/.cache/ampel/actions-cache",
				 home && *home ? home : "/tmp");
		run->cache_dir = buf_detach(&dir);
	}
	run->mask = mask_new();
	run->secrets = opt->secrets ? json_deep_copy(opt->secrets) : json_object();
	const char *name;
	const json_t *value;
	json_object_foreach(run->secrets, name, value)
		mask_add(run->mask, json_string_value(value));
	char run_id[32];
	snprintf(run_id, sizeof(run_id), "%lld%03d", (long long)time(NULL), getpid() % 1000);
	run->github = github_context(opt, run->wf, run_id);
	return 0;
}

/* Inputs and the workflow's env, once contexts exist. */
static int run_prepare_contexts(struct run *run, const char *event, const json_t *given,
				struct err *e)
{
	/* github and vars, all a workflow_call input's default may use */
	json_t *contexts = json_object();
	json_object_set(contexts, "github", run->github);
	json_object_set_new(contexts, "vars",
			    run->opt->vars ? json_deep_copy(run->opt->vars) : json_object());
	if (trigger_inputs(run->wf, event, given,
			   strcmp(event, "workflow_call") == 0 ? contexts : NULL, &run->inputs,
			   e) < 0) {
		json_decref(contexts);
		return -1;
	}
	/* A dispatch event carries its inputs too, as strings. */
	json_t *payload = json_object_get(run->github, "event");
	if (strcmp(event, "workflow_dispatch") == 0 && !run->opt->event_payload) {
		json_t *strings = json_object();
		const char *name;
		const json_t *value;
		json_object_foreach(run->inputs, name, value)
		{
			char *text = expr_value_to_string(value);
			json_object_set_new(strings, name, json_string(text));
			free(text);
		}
		json_object_set_new(payload, "inputs", strings);
	}
	json_object_set(contexts, "inputs", run->inputs);
	json_object_set(contexts, "secrets", run->secrets);
	json_object_set_new(contexts, "env", json_object());
	struct expr_env env = { .contexts = contexts, .workspace = run->opt->repo_dir };
	json_t *options_env = run->opt->env ? json_deep_copy(run->opt->env) : json_object();
	json_t *wf_env = run->wf->env ? run_evaluate_env(run->wf->env, &env, e) : json_object();
	json_decref(contexts);
	if (!wf_env) {
		json_decref(options_env);
		return err_prefix(e, "%s", run->wf->file);
	}
	json_object_update(options_env, wf_env);
	json_decref(wf_env);
	run->env = options_env;
	return 0;
}

static json_t *run_report(struct run *run)
{
	json_t *jobs = json_array();
	bool failed = false, cancelled = false;
	for (size_t j = 0; j < run->jobs_count; j++) {
		struct job_state *js = &run->jobs[j];
		if (strcmp(js->result, "failure") == 0 && !js->allowed_failure)
			failed = true;
		if (strcmp(js->result, "cancelled") == 0)
			cancelled = true;
		if (js->left_out)
			continue;
		if (js->legs_count == 0) {
			json_t *entry = json_object();
			json_object_set_new(entry, "id", json_string(js->job->id));
			struct buf name = BUF_INIT;
			buf_addf(&name, "%s%s", run->job_prefix ? run->job_prefix : "",
				 js->job->name ? js->job->name : js->job->id);
			json_object_set_new(entry, "name", json_string(name.data));
			buf_free(&name);
			json_object_set_new(entry, "result", json_string(js->result));
			json_object_set_new(entry, "steps", json_array());
			json_array_append_new(jobs, entry);
			continue;
		}
		for (size_t i = 0; i < js->legs_count; i++) {
			struct leg *leg = js->legs[i];
			json_t *entry = leg->report ? json_incref(leg->report) : json_object();
			json_object_set_new(entry, "id", json_string(js->job->id));
			json_object_set_new(entry, "name", json_string(leg->display));
			if (leg->matrix)
				json_object_set(entry, "matrix", leg->matrix);
			json_object_set_new(entry, "result", json_string(leg->result));
			if (!json_object_get(entry, "steps"))
				json_object_set_new(entry, "steps", json_array());
			json_array_append_new(jobs, entry);
		}
		if (js->allowed_failure)
			json_object_set_new(json_array_get(jobs, json_array_size(jobs) - 1),
					    "continue_on_error", json_true());
	}
	json_t *report = json_object();
	json_object_set_new(report, "workflow",
			    json_string(run->wf->name ? run->wf->name : run->wf->file));
	json_object_set_new(report, "file", json_string(run->wf->file));
	json_object_set_new(report, "event", json_string(run->opt->event.name));
	json_object_set_new(report, "conclusion",
			    json_string(failed	    ? "failure"
					: cancelled ? "cancelled"
						    : "success"));
	json_object_set_new(report, "jobs", jobs);
	return report;
}

/* Outputs and summaries may carry a secret a step printed; nothing leaves unmasked. */
static void mask_json_strings(const struct mask *mask, json_t *value)
{
	if (json_is_string(value)) {
		struct buf masked = BUF_INIT;
		mask_apply_buf(mask, json_string_value(value), json_string_length(value), &masked);
		json_string_setn(value, masked.data ? masked.data : "", masked.len);
		buf_free(&masked);
	} else if (json_is_array(value)) {
		size_t i;
		json_t *item;
		json_array_foreach(value, i, item) mask_json_strings(mask, item);
	} else if (json_is_object(value)) {
		const char *key;
		json_t *item;
		json_object_foreach(value, key, item) mask_json_strings(mask, item);
	}
}

static void run_free(struct run *run)
{
	for (size_t j = 0; j < run->jobs_count; j++) {
		struct job_state *js = &run->jobs[j];
		for (size_t i = 0; i < js->legs_count; i++) {
			json_decref(js->legs[i]->matrix);
			json_decref(js->legs[i]->outputs);
			json_decref(js->legs[i]->report);
			free(js->legs[i]->display);
			free(js->legs[i]);
		}
		free(js->legs);
		json_decref(js->outputs);
	}
	free(run->jobs);
	json_decref(run->inputs);
	json_decref(run->env);
	pthread_mutex_destroy(&run->lock);
	pthread_cond_destroy(&run->changed);
}

/*
 * A call of a local reusable workflow must give its required inputs and no
 * undeclared ones; like GitHub, that is a workflow error before anything runs.
 */
static int check_calls(const struct workflow *wf, const char *repo_dir, struct err *e)
{
	for (size_t j = 0; j < wf->jobs_count; j++) {
		const struct workflow_job *job = wf->jobs[j];
		if (!job->uses || !str_starts_with(job->uses, "./"))
			continue;
		char *path = workspace_join(repo_dir, job->uses + 2);
		struct workflow *called = NULL;
		int rc = workflow_load(&called, path, e);
		free(path);
		if (rc < 0)
			return err_prefix(e, "%s:%d: job '%s'", wf->file, job->line, job->id);
		const struct workflow_trigger *trigger =
			workflow_find_trigger(called, "workflow_call");
		const json_t *declared =
			trigger ? json_object_get(trigger->filters, "inputs") : NULL;
		const char *name;
		const json_t *spec;
		if (!trigger)
			rc = err_set(e,
				     "%s:%d: job '%s': %s is not a reusable workflow (no "
				     "on.workflow_call)",
				     wf->file, job->line, job->id, job->uses);
		json_object_foreach((json_t *)job->with, name,
				    spec) if (rc == 0 && !json_object_get(declared, name)) rc =
			err_set(e,
				"%s:%d: job '%s' gives input '%s', which %s does not "
				"declare",
				wf->file, job->line, job->id, name, job->uses);
		json_object_foreach((json_t *)declared, name, spec)
		{
			const json_t *required = json_object_get(spec, "required");
			bool is_required = json_is_true(required) ||
					   (json_is_string(required) &&
					    str_eq_icase(json_string_value(required), "true"));
			if (rc == 0 && is_required && !json_object_get(spec, "default") &&
			    !json_object_get(job->with, name))
				rc = err_set(e,
					     "%s:%d: job '%s' calls %s without its required input "
					     "'%s'",
					     wf->file, job->line, job->id, job->uses, name);
		}
		workflow_free(called);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int pipeline_run(const struct workflow *wf, const struct run_options *options, json_t **result,
		 struct err *e)
{
	*result = NULL;
	if (check_calls(wf, options->repo_dir, e) < 0)
		return -1;
	struct run run = { 0 };
	run_init(&run, wf, options);
	int rc = -1;
	if (run_prepare_top(&run, e) < 0 ||
	    run_prepare_contexts(&run, options->event.name, options->inputs, e) < 0)
		goto done;
	if (options->only_job) {
		bool *selected = xcalloc(run.jobs_count + 1, sizeof(*selected));
		select_jobs(&run, options->only_job, selected);
		bool any = false;
		for (size_t j = 0; j < run.jobs_count; j++)
			any |= selected[j];
		if (!any) {
			free(selected);
			err_set(e, "%s: there is no job '%s'", wf->file, options->only_job);
			goto done;
		}
		for (size_t j = 0; j < run.jobs_count; j++)
			if (!selected[j]) {
				run.jobs[j].phase = JOB_DONE;
				run.jobs[j].left_out = true;
			}
		free(selected);
	}
	schedule(&run);
	*result = run_report(&run);
	mask_json_strings(run.mask, *result);
	rc = 0;
done:
	if (run.work_dir && !options->keep_work && !options->work_dir) {
		struct err ignored = ERR_INIT;
		fs_remove_tree(run.work_dir, &ignored);
		err_clear(&ignored);
	}
	free(run.work_dir);
	free(run.artifacts_dir);
	free(run.cache_dir);
	mask_free(run.mask);
	json_decref(run.github);
	json_decref(run.secrets);
	run_free(&run);
	return rc;
}

/*
 * A job that calls a reusable workflow runs it as a nested run on the
 * job's thread: same workspace root, masks and secrets (or the mapped
 * subset), its inputs from `with:`, its outputs from on.workflow_call.outputs.
 */
int executor_call_workflow(struct leg_run *lr, json_t **outputs, json_t **called_jobs,
			   const char **result)
{
	*called_jobs = NULL;
	struct run *caller = lr->run;
	const struct workflow_job *job = lr->job;
	*outputs = json_object();
	*result = "failure";
	struct err e = ERR_INIT;
	if (!str_starts_with(job->uses, "./")) {
		struct buf text = BUF_INIT;
		buf_addf(&text,
			 "job '%s': reusable workflow '%s' is remote; Ampel runs reusable "
			 "workflows from this repository (uses: ./.github/workflows/FILE.yml)",
			 job->id, job->uses);
		leg_emit(lr, NULL, RUN_LINE_INFO, text.data);
		buf_free(&text);
		return -1;
	}
	char *path = workspace_join(caller->opt->repo_dir, job->uses + 2);
	struct workflow *called = NULL;
	if (workflow_load(&called, path, &e) < 0) {
		leg_emit(lr, NULL, RUN_LINE_INFO, e.msg);
		err_clear(&e);
		free(path);
		return -1;
	}
	free(path);
	if (!workflow_find_trigger(called, "workflow_call")) {
		struct buf text = BUF_INIT;
		buf_addf(&text, "%s is not a reusable workflow (no on.workflow_call)", job->uses);
		leg_emit(lr, NULL, RUN_LINE_INFO, text.data);
		buf_free(&text);
		workflow_free(called);
		return -1;
	}
	struct expr_env env;
	expr_env_for(lr, &env, lr->contexts);
	json_t *with = job->with ? run_evaluate_value(job->with, &env, &e) : json_object();
	json_t *secrets = NULL;
	if (json_is_string(job->secrets))
		secrets = json_deep_copy(caller->secrets);
	else if (job->secrets)
		secrets = run_evaluate_env(job->secrets, &env, &e);
	else
		secrets = json_object();
	if (!with || !secrets) {
		leg_emit(lr, NULL, RUN_LINE_INFO, e.msg);
		err_clear(&e);
		json_decref(with);
		json_decref(secrets);
		workflow_free(called);
		return -1;
	}

	struct run nested = { 0 };
	struct run_options nested_options = *caller->opt;
	nested_options.event.name = caller->opt->event.name;
	run_init(&nested, called, &nested_options);
	nested.parent = caller;
	struct buf prefix = BUF_INIT;
	buf_addf(&prefix, "%s / ", lr->leg->display);
	nested.job_prefix = prefix.data;
	nested.work_dir = workspace_join(lr->dir, "called");
	nested.artifacts_dir = xstrdup(caller->artifacts_dir);
	nested.cache_dir = xstrdup(caller->cache_dir);
	nested.mask = caller->mask;
	nested.secrets = secrets;
	nested.github = json_deep_copy(caller->github);
	json_t *call_contexts = json_object();
	json_object_set(call_contexts, "github", nested.github);
	json_object_set_new(call_contexts, "vars",
			    caller->opt->vars ? json_deep_copy(caller->opt->vars) : json_object());
	int rc = trigger_inputs(called, "workflow_call", with, call_contexts, &nested.inputs, &e);
	json_decref(with);
	if (rc == 0) {
		json_object_set(call_contexts, "inputs", nested.inputs);
		json_object_set(call_contexts, "secrets", nested.secrets);
		struct expr_env wf_env = { .contexts = call_contexts,
					   .workspace = caller->opt->repo_dir };
		nested.env =
			called->env ? run_evaluate_env(called->env, &wf_env, &e) : json_object();
		if (!nested.env)
			rc = -1;
	}
	json_decref(call_contexts);
	if (rc < 0) {
		leg_emit(lr, NULL, RUN_LINE_INFO, e.msg);
		err_clear(&e);
	} else {
		schedule(&nested);
		json_t *report = run_report(&nested);
		*result = json_string_value(json_object_get(report, "conclusion"));
		*result = strcmp(*result, "success") == 0     ? "success"
			  : strcmp(*result, "cancelled") == 0 ? "cancelled"
							      : "failure";
		/* on.workflow_call.outputs.<name>.value, evaluated against `jobs` */
		json_t *jobs = json_object();
		for (size_t j = 0; j < nested.jobs_count; j++) {
			json_t *entry = json_object();
			json_object_set_new(entry, "result", json_string(nested.jobs[j].result));
			json_object_set_new(entry, "outputs",
					    json_or_empty_object(nested.jobs[j].outputs));
			json_object_set_new(jobs, nested.jobs[j].job->id, entry);
		}
		json_t *contexts = json_object();
		json_object_set_new(contexts, "jobs", jobs);
		json_object_set(contexts, "inputs", nested.inputs);
		json_object_set(contexts, "github", nested.github);
		struct expr_env out_env = { .contexts = contexts,
					    .workspace = caller->opt->repo_dir };
		const json_t *declared = json_object_get(
			workflow_find_trigger(called, "workflow_call")->filters, "outputs");
		const char *name;
		const json_t *spec;
		json_object_foreach((json_t *)declared, name, spec)
		{
			const char *text = json_string_value(json_object_get(spec, "value"));
			struct buf value = BUF_INIT;
			if (text && expr_interpolate(text, &out_env, &value, &e) == 0)
				json_object_set_new(*outputs, name,
						    json_string(value.data ? value.data : ""));
			err_clear(&e);
			buf_free(&value);
		}
		json_decref(contexts);
		/* The called jobs' reports become part of the caller's. */
		*called_jobs = json_incref(json_object_get(report, "jobs"));
		json_decref(report);
	}
	nested.mask = NULL;
	free(nested.work_dir);
	free(nested.artifacts_dir);
	free(nested.cache_dir);
	json_decref(nested.github);
	json_decref(nested.secrets);
	run_free(&nested);
	buf_free(&prefix);
	workflow_free(called);
	return rc;
}
