/*
 * step: runs one job leg — its workspace, contexts and steps.
 *
 * A leg is what a GitHub runner does for one job: it builds the contexts,
 * evaluates each step's `if:` against the job's status so far, decides each
 * step's name, shell, working directory, timeout and continue-on-error,
 * records outcomes in the `steps` context, evaluates the job's outputs and
 * runs the actions' post steps last. The processes themselves, with the
 * runner's environment, files and commands, are step_process.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/mask.h"
#include "pipeline/run_internal.h"
#include "pipeline/runner_files.h"
#include "pipeline/workflow.h"
#include "pipeline/workflow_commands.h"
#include "util/fs.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/spawn.h"
#include "util/str.h"
#include "util/xalloc.h"

/* GitHub's own default: six hours per job. */
#define DEFAULT_JOB_TIMEOUT_MINUTES 360

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void expr_env_for(struct leg_run *lr, struct expr_env *env, json_t *contexts)
{
	env->contexts = contexts;
	env->status = lr->status;
	env->workspace = lr->workspace;
	env->allow_status_functions = false;
}

/* `shell:` to argv, with {0} the script file, as the runner documents. */
static char **shell_argv(const char *shell, const char *script)
{
	const char *template;
	if (!shell || strcmp(shell, "bash") == 0)
		template = shell ? "bash --noprofile --norc -eo pipefail {0}" : "bash -e {0}";
	else if (strcmp(shell, "sh") == 0)
		template = "sh -e {0}";
	else if (strcmp(shell, "python") == 0)
		template = access("/usr/bin/python", X_OK) == 0 ? "python {0}" : "python3 {0}";
	else if (strcmp(shell, "pwsh") == 0 || strcmp(shell, "powershell") == 0)
		template = "pwsh -command . '{0}'";
	else
		template = shell;
	struct vec words = VEC_INIT;
	str_split(template, ' ', &words);
	bool placed = false;
	struct vec argv = VEC_INIT;
	for (size_t i = 0; i < words.len; i++) {
		const char *word = words.items[i];
		if (!*word)
			continue;
		const char *hole = strstr(word, "{0}");
		if (hole) {
			struct buf arg = BUF_INIT;
			buf_add(&arg, word, (size_t)(hole - word));
			buf_adds(&arg, script);
			buf_adds(&arg, hole + 3);
			vec_push(&argv, buf_detach(&arg));
			placed = true;
		} else {
			vec_push(&argv, xstrdup(word));
		}
	}
	if (!placed)
		vec_push(&argv, xstrdup(script));
	vec_push(&argv, NULL);
	vec_free(&words, free);
	return (char **)argv.items;
}

static const char *default_shell(struct leg_run *lr)
{
	const char *shell = json_string_value(json_object_get(lr->job->defaults_run, "shell"));
	if (!shell)
		shell = json_string_value(json_object_get(lr->run->wf->defaults_run, "shell"));
	return shell;
}

static const char *default_working_directory(struct leg_run *lr)
{
	const char *dir =
		json_string_value(json_object_get(lr->job->defaults_run, "working-directory"));
	if (!dir)
		dir = json_string_value(
			json_object_get(lr->run->wf->defaults_run, "working-directory"));
	return dir;
}

static long step_timeout_ms(struct leg_run *lr, const struct workflow_step *step,
			    const struct expr_env *env)
{
	long long remaining = lr->deadline_ms - now_ms();
	if (remaining < 1)
		remaining = 1;
	if (step->timeout_minutes) {
		json_t *value = NULL;
		struct err e = ERR_INIT;
		if (expr_interpolate_value(step->timeout_minutes, env, &value, &e) == 0) {
			double minutes = json_is_number(value)	 ? json_number_value(value)
					 : json_is_string(value) ? atof(json_string_value(value))
								 : 0;
			if (minutes > 0 && minutes * 60000 < (double)remaining)
				remaining = (long long)(minutes * 60000);
		}
		err_clear(&e);
		json_decref(value);
	}
	return (long)remaining;
}

static int run_script(struct leg_run *lr, const struct workflow_step *step, struct step_process *sp,
		      const struct expr_env *env, const char *script)
{
	struct buf file = BUF_INIT;
	struct buf shell_text = BUF_INIT;
	const char *shell = step->shell ? step->shell : default_shell(lr);
	struct err shell_error = ERR_INIT;
	if (shell && strstr(shell, "${{")) {
		if (expr_interpolate(shell, env, &shell_text, &shell_error) < 0) {
			leg_log_line(lr, sp->log, sp->step_name, RUN_LINE_ANNOTATION,
				     shell_error.msg);
			err_clear(&shell_error);
			buf_free(&shell_text);
			return 1;
		}
		shell = shell_text.data;
	}
	bool python = shell && strcmp(shell, "python") == 0;
	buf_addf(&file, "%s/step%s", lr->temp, python ? ".py" : ".sh");
	/* Scratch, not data: no temp-and-rename, no fsync. */
	FILE *f = fopen(file.data, "w");
	bool written = f && fputs(script, f) >= 0;
	if (f && fclose(f) != 0)
		written = false;
	if (!written) {
		struct buf text = BUF_INIT;
		buf_addf(&text, "error: cannot write %s", file.data);
		leg_log_line(lr, sp->log, sp->step_name, RUN_LINE_ANNOTATION, text.data);
		buf_free(&text);
		buf_free(&file);
		buf_free(&shell_text);
		return 1;
	}
	if (!shell && access("/bin/bash", X_OK) != 0 && access("/usr/bin/bash", X_OK) != 0)
		shell = "sh";
	sp->argv = shell_argv(shell, file.data);
	const char *dir =
		step->working_directory ? step->working_directory : default_working_directory(lr);
	struct buf dir_text = BUF_INIT;
	struct err e = ERR_INIT;
	if (dir && expr_interpolate(dir, env, &dir_text, &e) < 0) {
		leg_log_line(lr, sp->log, sp->step_name, RUN_LINE_ANNOTATION, e.msg);
		err_clear(&e);
	}
	char *cwd = workspace_join(lr->workspace, dir_text.data);
	buf_free(&dir_text);
	sp->cwd = cwd;
	sp->timeout_ms = step_timeout_ms(lr, step, env);
	int exit_code;
	bool timed_out, cancelled;
	step_process_run(lr, sp, &exit_code, &timed_out, &cancelled);
	if (timed_out) {
		leg_log_line(lr, sp->log, sp->step_name, RUN_LINE_ANNOTATION,
			     "error: the step was cancelled: it ran past its timeout");
		exit_code = exit_code ? exit_code : 124;
	} else if (cancelled) {
		leg_log_line(lr, sp->log, sp->step_name, RUN_LINE_ANNOTATION,
			     "error: the step was cancelled");
		exit_code = exit_code ? exit_code : 130;
	} else if (exit_code != 0) {
		struct buf text = BUF_INIT;
		buf_addf(&text, "error: Process completed with exit code %d.", exit_code);
		leg_log_line(lr, sp->log, sp->step_name, RUN_LINE_ANNOTATION, text.data);
		buf_free(&text);
	}
	argv_free(sp->argv);
	sp->argv = NULL;
	free(cwd);
	buf_free(&file);
	buf_free(&shell_text);
	return exit_code;
}

static char *step_display_name(const struct workflow_step *step, const struct expr_env *env)
{
	struct buf name = BUF_INIT;
	if (step->name) {
		struct err e = ERR_INIT;
		if (expr_interpolate(step->name, env, &name, &e) < 0) {
			buf_reset(&name);
			buf_adds(&name, step->name);
		}
		err_clear(&e);
	} else if (step->run) {
		const char *end = strchr(step->run, '\n');
		buf_adds(&name, "Run ");
		buf_add(&name, step->run, end ? (size_t)(end - step->run) : strlen(step->run));
	} else {
		buf_addf(&name, "Run %s", step->uses);
	}
	return buf_detach(&name);
}

static bool continue_on_error(const struct workflow_step *step, const struct expr_env *env)
{
	if (!step->continue_on_error)
		return false;
	json_t *value = NULL;
	struct err e = ERR_INIT;
	bool yes = false;
	if (expr_interpolate_value(step->continue_on_error, env, &value, &e) == 0)
		yes = json_is_string(value) ? str_eq_icase(json_string_value(value), "true")
					    : expr_value_truthy(value);
	err_clear(&e);
	json_decref(value);
	return yes;
}

/* The contexts a step's expressions see: the leg's, with this scope's steps and inputs. */
static json_t *step_contexts(struct leg_run *lr, struct step_scope *scope, json_t *env)
{
	json_t *contexts = json_copy(lr->contexts);
	json_object_set(contexts, "steps", scope->steps);
	json_object_set(contexts, "env", env);
	if (scope->inputs)
		json_object_set(contexts, "inputs", scope->inputs);
	json_t *job = json_deep_copy(json_object_get(lr->contexts, "job"));
	json_object_set_new(job, "status",
			    json_string(lr->status == EXPR_STATUS_SUCCESS   ? "success"
					: lr->status == EXPR_STATUS_FAILURE ? "failure"
									    : "cancelled"));
	json_object_set_new(contexts, "job", job);
	if (scope->action_dir) {
		json_t *github = json_deep_copy(json_object_get(lr->contexts, "github"));
		json_object_set_new(github, "action_path", json_string(scope->action_dir));
		json_object_set_new(contexts, "github", github);
	}
	return contexts;
}

static void step_report(struct step_scope *scope, const char *id, const char *name,
			const char *outcome, const char *conclusion, json_t *outputs, json_t *log,
			long long started)
{
	json_t *entry = json_object();
	json_object_set_new(entry, "id", json_string(id));
	json_object_set_new(entry, "name", json_string(name));
	json_object_set_new(entry, "outcome", json_string(outcome));
	json_object_set_new(entry, "conclusion", json_string(conclusion));
	json_object_set(entry, "outputs", outputs);
	json_object_set_new(entry, "duration_ms", json_integer(now_ms() - started));
	json_object_set(entry, "log", log);
	json_array_append_new(scope->reports, entry);

	json_t *context = json_object();
	json_object_set(context, "outputs", outputs);
	json_object_set_new(context, "outcome", json_string(outcome));
	json_object_set_new(context, "conclusion", json_string(conclusion));
	json_object_set_new(scope->steps, id, context);
}

int steps_execute(struct leg_run *lr, struct workflow_step **steps, size_t count,
		  struct step_scope *scope)
{
	for (size_t i = 0; i < count; i++) {
		const struct workflow_step *step = steps[i];
		bool cancelled_before = atomic_load(&lr->leg->cancel);
		if (cancelled_before)
			lr->status = EXPR_STATUS_CANCELLED;
		long long started = now_ms();
		struct buf generated_id = BUF_INIT;
		buf_addf(&generated_id, "__%s%zu", scope->label ? "composite_" : "step_", i + 1);
		const char *id = step->id ? step->id : generated_id.data;

		/* The step's env context: the leg's env, then the step's own. */
		json_t *env_object = json_deep_copy(lr->env);
		json_t *contexts = step_contexts(lr, scope, env_object);
		struct expr_env env;
		expr_env_for(lr, &env, contexts);
		struct err e = ERR_INIT;
		char *name = step_display_name(step, &env);
		json_t *outputs = json_object();
		json_t *log = json_array();
		const char *outcome = "success";

		json_t *step_env =
			step->env ? run_evaluate_env(step->env, &env, &e) : json_object();
		if (step_env && scope->action_dir)
			json_object_set_new(step_env, "GITHUB_ACTION_PATH",
					    json_string(scope->action_dir));
		if (step_env) {
			json_object_update(env_object, step_env);
			json_object_set(contexts, "env", env_object);
		}
		bool runs = false;
		env.allow_status_functions = true;
		if (!step_env ||
		    expr_condition(step->condition ? step->condition : "", &env, &runs, &e) < 0) {
			struct buf text = BUF_INIT;
			buf_addf(&text, "error: %s:%d: %s", lr->run->wf->file, step->line, e.msg);
			leg_log_line(lr, log, name, RUN_LINE_ANNOTATION, text.data);
			buf_free(&text);
			err_clear(&e);
			outcome = "failure";
		} else if (!runs) {
			outcome = "skipped";
		} else {
			env.allow_status_functions = false;
			leg_emit(lr, name, RUN_LINE_STEP_START, name);
			struct step_process sp = { .step_name = name,
						   .step_id = id,
						   .env = step_env,
						   .outputs = outputs,
						   .log = log };
			int exit_code;
			if (lr->run->opt->dry_run) {
				exit_code = 0; /* planned, not run */
			} else if (step->run) {
				struct buf script = BUF_INIT;
				if (expr_interpolate(step->run, &env, &script, &e) < 0) {
					struct buf text = BUF_INIT;
					buf_addf(&text, "error: %s:%d: %s", lr->run->wf->file,
						 step->line, e.msg);
					leg_log_line(lr, log, name, RUN_LINE_ANNOTATION, text.data);
					buf_free(&text);
					err_clear(&e);
					exit_code = 1;
				} else {
					exit_code = run_script(lr, step, &sp, &env,
							       script.data ? script.data : "");
				}
				buf_free(&script);
			} else {
				json_t *inputs = step->with ? run_evaluate_env(step->with, &env, &e)
							    : json_object();
				if (!inputs) {
					leg_log_line(lr, log, name, RUN_LINE_ANNOTATION, e.msg);
					err_clear(&e);
					exit_code = 1;
				} else {
					exit_code = action_run(lr, scope, step, name, step_env,
							       inputs, outputs, log);
				}
				json_decref(inputs);
			}
			bool cancelled_now = !cancelled_before && atomic_load(&lr->leg->cancel);
			outcome = exit_code == 0  ? "success"
				  : cancelled_now ? "cancelled"
						  : "failure";
		}
		const char *conclusion = outcome;
		if (strcmp(outcome, "failure") == 0 && continue_on_error(step, &env))
			conclusion = "success";
		if (strcmp(conclusion, "failure") == 0)
			lr->status = EXPR_STATUS_FAILURE;
		else if (strcmp(conclusion, "cancelled") == 0)
			lr->status = EXPR_STATUS_CANCELLED;
		if (strcmp(outcome, "skipped") != 0) {
			struct buf text = BUF_INIT;
			buf_addf(&text, "%s %s", conclusion, name);
			leg_emit(lr, name, RUN_LINE_STEP_END, text.data);
			buf_free(&text);
		}
		step_report(scope, id, name, outcome, conclusion, outputs, log, started);
		json_decref(step_env);
		json_decref(outputs);
		json_decref(log);
		json_decref(contexts);
		json_decref(env_object);
		free(name);
		buf_free(&generated_id);
	}
	return 0;
}

static json_t *runner_context(struct leg_run *lr)
{
	struct utsname host;
	const char *arch = "X64";
	if (uname(&host) == 0) {
		if (strcmp(host.machine, "aarch64") == 0)
			arch = "ARM64";
		else if (strncmp(host.machine, "arm", 3) == 0)
			arch = "ARM";
		else if (strcmp(host.machine, "i686") == 0 || strcmp(host.machine, "i386") == 0)
			arch = "X86";
	}
	json_t *runner = json_object();
	json_object_set_new(runner, "os", json_string("Linux"));
	json_object_set_new(runner, "arch", json_string(arch));
	json_object_set_new(runner, "name", json_string("ampel"));
	json_object_set_new(runner, "environment", json_string("self-hosted"));
	json_object_set_new(runner, "temp", json_string(lr->temp));
	char *tool_cache = workspace_join(lr->run->work_dir, "_tool");
	json_object_set_new(runner, "tool_cache", json_string(tool_cache));
	free(tool_cache);
	char *event_path = workspace_join(lr->temp, "_github_workflow/event.json");
	json_object_set_new(runner, "event_path", json_string(event_path));
	free(event_path);
	json_object_set_new(runner, "debug", json_string(""));
	return runner;
}

static int leg_prepare(struct leg_run *lr, struct err *e)
{
	struct leg *leg = lr->leg;
	struct run *run = lr->run;
	struct buf dir = BUF_INIT;
	buf_addf(&dir, "%s/%s", run->work_dir, lr->job->id);
	if (leg->state->legs_count > 1)
		buf_addf(&dir, "-%zu", leg->index + 1);
	lr->dir = buf_detach(&dir);
	lr->workspace = workspace_join(lr->dir, "workspace");
	lr->temp = workspace_join(lr->dir, "temp");
	char *commands = workspace_join(lr->temp, "_runner_file_commands");
	char *event_dir = workspace_join(lr->temp, "_github_workflow");
	int rc = fs_make_dirs(lr->workspace, 0755, e) < 0 || fs_make_dirs(commands, 0755, e) < 0 ||
				 fs_make_dirs(event_dir, 0755, e) < 0
			 ? -1
			 : 0;
	free(commands);
	free(event_dir);
	if (rc < 0)
		return -1;

	pthread_mutex_lock(&run->lock);
	lr->contexts = run_job_contexts(run, lr->job);
	pthread_mutex_unlock(&run->lock);
	json_t *github = json_deep_copy(json_object_get(lr->contexts, "github"));
	json_object_set_new(github, "job", json_string(lr->job->id));
	json_object_set_new(github, "workspace", json_string(lr->workspace));
	json_object_set_new(github, "action", json_string(""));
	json_object_set_new(lr->contexts, "github", github);
	json_t *runner = runner_context(lr);
	json_object_set_new(lr->contexts, "runner", runner);
	if (json_write_file(json_object_get(github, "event"),
			    json_string_value(json_object_get(runner, "event_path")), 0, e) < 0)
		return -1;
	json_object_set_new(lr->contexts, "matrix", json_or_empty_object(leg->matrix));
	json_t *strategy = json_object();
	json_object_set_new(strategy, "fail-fast", json_boolean(leg->state->fail_fast));
	json_object_set_new(strategy, "job-index", json_integer((json_int_t)leg->index));
	json_object_set_new(strategy, "job-total",
			    json_integer((json_int_t)leg->state->legs_count));
	json_object_set_new(strategy, "max-parallel",
			    json_integer(leg->state->max_parallel > 0
						 ? leg->state->max_parallel
						 : (json_int_t)leg->state->legs_count));
	json_object_set_new(lr->contexts, "strategy", strategy);
	json_t *job = json_object();
	json_object_set_new(job, "status", json_string("success"));
	json_object_set_new(job, "container", json_object());
	json_object_set_new(job, "services", json_object());
	json_object_set_new(lr->contexts, "job", job);
	json_object_set_new(lr->contexts, "steps", json_object());

	struct expr_env env;
	expr_env_for(lr, &env, lr->contexts);
	json_t *job_env = lr->job->env ? run_evaluate_env(lr->job->env, &env, e) : json_object();
	if (!job_env)
		return err_prefix(e, "%s:%d: job '%s'", run->wf->file, lr->job->line, lr->job->id);
	lr->env = json_deep_copy(run->env);
	/* With --host the container's env: still describes what the steps expect. */
	const json_t *container_env = json_object_get(lr->job->container, "env");
	if (container_env && run->opt->host) {
		json_t *evaluated = run_evaluate_env(container_env, &env, e);
		if (!evaluated) {
			json_decref(job_env);
			return err_prefix(e, "%s:%d: container.env", run->wf->file, lr->job->line);
		}
		json_object_update(lr->env, evaluated);
		json_decref(evaluated);
	}
	json_object_update(lr->env, job_env);
	json_decref(job_env);
	lr->path = json_array();
	lr->state = json_object();
	if (step_files_make(lr, e) < 0)
		return -1;

	double minutes = DEFAULT_JOB_TIMEOUT_MINUTES;
	if (lr->job->timeout_minutes) {
		json_t *value = NULL;
		if (expr_interpolate_value(lr->job->timeout_minutes, &env, &value, e) < 0)
			return err_prefix(e, "%s:%d: timeout-minutes", run->wf->file,
					  lr->job->line);
		minutes = json_is_number(value)	  ? json_number_value(value)
			  : json_is_string(value) ? atof(json_string_value(value))
						  : minutes;
		json_decref(value);
	}
	lr->deadline_ms = now_ms() + (long long)(minutes * 60000);
	return 0;
}

static void post_steps_run(struct leg_run *lr, json_t *reports)
{
	for (size_t i = lr->post_steps.len; i-- > 0;) {
		struct post_step *post = lr->post_steps.items[i];
		json_t *contexts = json_copy(lr->contexts);
		struct expr_env env;
		expr_env_for(lr, &env, contexts);
		env.allow_status_functions = true;
		bool runs = true;
		struct err e = ERR_INIT;
		if (expr_condition(post->condition ? post->condition : "", &env, &runs, &e) < 0)
			err_clear(&e);
		json_decref(contexts);
		if (!runs)
			continue;
		long long started = now_ms();
		json_t *log = json_array();
		json_t *outputs = json_object();
		struct step_process sp = {
			.step_name = post->name,
			.argv = post->argv,
			.cwd = lr->workspace,
			.env = post->env,
			.timeout_ms = (long)(lr->deadline_ms - now_ms()),
			.outputs = outputs,
			.log = log,
		};
		leg_emit(lr, post->name, RUN_LINE_STEP_START, post->name);
		int exit_code;
		bool timed_out, cancelled;
		step_process_run(lr, &sp, &exit_code, &timed_out, &cancelled);
		const char *outcome = exit_code == 0 ? "success" : "failure";
		if (exit_code != 0)
			lr->status = EXPR_STATUS_FAILURE;
		json_t *entry = json_object();
		json_object_set_new(entry, "id", json_string("post"));
		json_object_set_new(entry, "name", json_string(post->name));
		json_object_set_new(entry, "outcome", json_string(outcome));
		json_object_set_new(entry, "conclusion", json_string(outcome));
		json_object_set_new(entry, "duration_ms", json_integer(now_ms() - started));
		json_object_set_new(entry, "log", log);
		json_array_append_new(reports, entry);
		json_decref(outputs);
	}
}

/* Job outputs: evaluated once the steps are done, with their contexts. */
static json_t *leg_outputs(struct leg_run *lr)
{
	json_t *outputs = json_object();
	const char *name;
	const json_t *value;
	struct expr_env env;
	expr_env_for(lr, &env, lr->contexts);
	json_object_foreach(lr->job->outputs, name, value)
	{
		struct buf text = BUF_INIT;
		struct err e = ERR_INIT;
		if (expr_interpolate(json_string_value(value), &env, &text, &e) == 0) {
			/* As on GitHub: an output holding a secret is not handed on. */
			struct buf masked = BUF_INIT;
			mask_apply_buf(lr->run->mask, text.data ? text.data : "", text.len,
				       &masked);
			if (masked.len != text.len ||
			    memcmp(masked.data ? masked.data : "", text.data ? text.data : "",
				   text.len) != 0) {
				struct buf warning = BUF_INIT;
				buf_addf(&warning,
					 "warning: skip output '%s' since it may contain a secret",
					 name);
				leg_emit(lr, NULL, RUN_LINE_INFO, warning.data);
				buf_free(&warning);
			} else {
				json_object_set_new(outputs, name,
						    json_string(text.data ? text.data : ""));
			}
			buf_free(&masked);
		} else
			leg_emit(lr, NULL, RUN_LINE_INFO, e.msg);
		err_clear(&e);
		buf_free(&text);
	}
	return outputs;
}

static void leg_run_free(struct leg_run *lr)
{
	free(lr->dir);
	free(lr->workspace);
	free(lr->temp);
	json_decref(lr->contexts);
	json_decref(lr->env);
	json_decref(lr->path);
	json_decref(lr->state);
	vec_free(&lr->post_steps, post_step_free);
	step_files_free(&lr->files);
}

/* A reason the leg could not run its steps: shown, and kept in the report. */
void leg_fail(struct leg_run *lr, const char *message)
{
	struct buf text = BUF_INIT;
	buf_addf(&text, "error: %s", message);
	leg_emit(lr, NULL, RUN_LINE_INFO, text.data);
	buf_free(&text);
	struct buf masked = BUF_INIT;
	mask_apply_buf(lr->run->mask, message, strlen(message), &masked);
	json_object_set_new(lr->leg->report, "error", json_string(masked.data ? masked.data : ""));
	buf_free(&masked);
}

int leg_execute(struct leg *leg)
{
	struct leg_run lr = { .leg = leg, .run = leg->run, .job = leg->state->job };
	long long started = now_ms();
	leg->report = json_object();
	struct err e = ERR_INIT;
	json_t *steps_reports = json_array();
	leg->result = "failure";
	if (leg_prepare(&lr, &e) < 0) {
		leg_fail(&lr, e.msg);
		err_clear(&e);
	} else if (lr.job->uses) {
		json_t *called = NULL;
		executor_call_workflow(&lr, &leg->outputs, &called, &leg->result);
		if (called)
			json_object_set_new(leg->report, "called", called);
	} else if ((lr.job->container || lr.job->services) && !lr.run->opt->host) {
		leg_fail(&lr,
			 "this job runs in a container (container:/services:), which Ampel "
			 "does not start yet; run with --host to run its steps on this machine");
	} else {
		struct step_scope scope = { .steps = json_object_get(lr.contexts, "steps"),
					    .reports = steps_reports };
		steps_execute(&lr, lr.job->steps, lr.job->steps_count, &scope);
		post_steps_run(&lr, steps_reports);
		/* GitLab keeps artifacts:paths of successful jobs for the jobs after. */
		if (lr.run->wf->kind == WORKFLOW_GITLAB && lr.status == EXPR_STATUS_SUCCESS &&
		    lr.job->artifact_paths_count > 0) {
			json_t *log = json_array();
			if (actions_save_gitlab_artifacts(&lr, log) != 0)
				lr.status = EXPR_STATUS_FAILURE;
			json_decref(log);
		}
		leg->outputs = leg_outputs(&lr);
		if (lr.status == EXPR_STATUS_FAILURE && lr.job->continue_on_error) {
			/* per leg: `continue-on-error: ${{ matrix.experimental }}` */
			struct expr_env env;
			expr_env_for(&lr, &env, lr.contexts);
			json_t *value = NULL;
			if (expr_interpolate_value(lr.job->continue_on_error, &env, &value, &e) ==
			    0)
				leg->continue_on_error =
					json_is_string(value)
						? str_eq_icase(json_string_value(value), "true")
						: expr_value_truthy(value);
			err_clear(&e);
			json_decref(value);
		}
		leg->result = atomic_load(&leg->cancel) && lr.status != EXPR_STATUS_SUCCESS
				      ? "cancelled"
			      : lr.status == EXPR_STATUS_SUCCESS ? "success"
			      : lr.status == EXPR_STATUS_FAILURE ? "failure"
								 : "cancelled";
	}
	json_object_set_new(leg->report, "steps", steps_reports);
	json_object_set_new(leg->report, "outputs", json_or_empty_object(leg->outputs));
	json_object_set_new(leg->report, "duration_ms", json_integer(now_ms() - started));
	leg_run_free(&lr);
	return 0;
}
