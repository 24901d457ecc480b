/*
 * step_process: runs one process of a step with the runner's protocol.
 *
 * The environment a GitHub runner gives a step (CI, GITHUB_*, RUNNER_*, the
 * runner files), the optional bubblewrap sandbox, the workflow commands the
 * process prints, the runner files it writes, and masking of every line
 * before it reaches the sink or the report: all of it once, for `run:`
 * scripts, Node actions, post steps and the built-in actions alike.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/mask.h"
#include "pipeline/run_internal.h"
#include "pipeline/runner_files.h"
#include "pipeline/workflow.h"
#include "pipeline/workflow_commands.h"
#include "util/fs.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/spawn.h"
#include "util/str.h"
#include "util/xalloc.h"

extern char **environ;

void leg_emit(struct leg_run *lr, const char *step, enum run_line_kind kind, const char *text)
{
	const struct run_options *opt = lr->run->opt;
	if (!opt->on_line)
		return;
	struct buf masked = BUF_INIT;
	mask_apply_buf(lr->run->mask, text, strlen(text), &masked);
	opt->on_line(opt->line_ctx, lr->leg->display, step, kind, masked.data ? masked.data : "");
	buf_free(&masked);
}

void leg_log_line(struct leg_run *lr, json_t *log, const char *step, enum run_line_kind kind,
		  const char *text)
{
	if (log) {
		struct buf masked = BUF_INIT;
		mask_apply_buf(lr->run->mask, text, strlen(text), &masked);
		json_array_append_new(log, json_string(masked.data ? masked.data : ""));
		buf_free(&masked);
	}
	leg_emit(lr, step, kind, text);
}

/* The environment every process of the leg starts from, as NAME=VALUE strings. */
static void environment_add(struct vec *out, const char *name, const char *value)
{
	struct buf entry = BUF_INIT;
	buf_addf(&entry, "%s=%s", name, value ? value : "");
	vec_push(out, buf_detach(&entry));
}

static void environment_add_object(struct vec *out, const json_t *object)
{
	const char *name;
	const json_t *value;
	json_object_foreach((json_t *)object, name, value)
		environment_add(out, name, json_string_value(value));
}

static void runner_environment(struct leg_run *lr, struct vec *out)
{
	const json_t *github = json_object_get(lr->contexts, "github");
	static const struct {
		const char *var;
		const char *field;
	} from_github[] = {
		{ "GITHUB_REPOSITORY", "repository" },
		{ "GITHUB_REPOSITORY_OWNER", "repository_owner" },
		{ "GITHUB_SHA", "sha" },
		{ "GITHUB_REF", "ref" },
		{ "GITHUB_REF_NAME", "ref_name" },
		{ "GITHUB_REF_TYPE", "ref_type" },
		{ "GITHUB_HEAD_REF", "head_ref" },
		{ "GITHUB_BASE_REF", "base_ref" },
		{ "GITHUB_EVENT_NAME", "event_name" },
		{ "GITHUB_WORKFLOW", "workflow" },
		{ "GITHUB_JOB", "job" },
		{ "GITHUB_RUN_ID", "run_id" },
		{ "GITHUB_RUN_NUMBER", "run_number" },
		{ "GITHUB_RUN_ATTEMPT", "run_attempt" },
		{ "GITHUB_ACTOR", "actor" },
		{ "GITHUB_TRIGGERING_ACTOR", "triggering_actor" },
		{ "GITHUB_SERVER_URL", "server_url" },
		{ "GITHUB_API_URL", "api_url" },
		{ "GITHUB_GRAPHQL_URL", "graphql_url" },
		{ "GITHUB_WORKSPACE", "workspace" },
		{ "GITHUB_RETENTION_DAYS", "retention_days" },
	};
	environment_add(out, "CI", "true");
	environment_add(out, "GITHUB_ACTIONS", "true");
	for (size_t i = 0; i < sizeof(from_github) / sizeof(*from_github); i++)
		environment_add(out, from_github[i].var,
				json_string_value(json_object_get(github, from_github[i].field)));
	const json_t *runner = json_object_get(lr->contexts, "runner");
	environment_add(out, "RUNNER_OS", json_string_value(json_object_get(runner, "os")));
	environment_add(out, "RUNNER_ARCH", json_string_value(json_object_get(runner, "arch")));
	environment_add(out, "RUNNER_NAME", json_string_value(json_object_get(runner, "name")));
	environment_add(out, "RUNNER_TEMP", lr->temp);
	environment_add(out, "RUNNER_TOOL_CACHE",
			json_string_value(json_object_get(runner, "tool_cache")));
	environment_add(out, "RUNNER_WORKSPACE", lr->dir);
	environment_add(out, "GITHUB_EVENT_PATH",
			json_string_value(json_object_get(runner, "event_path")));
}

/* PATH with the steps' GITHUB_PATH additions in front, newest first. */
static char *search_path(struct leg_run *lr, const json_t *env)
{
	struct buf path = BUF_INIT;
	size_t i;
	const json_t *dir;
	json_array_foreach(lr->path, i, dir) buf_addf(&path, "%s:", json_string_value(dir));
	const char *base = json_string_value(json_object_get(env, "PATH"));
	if (!base)
		base = json_string_value(json_object_get(lr->env, "PATH"));
	if (!base)
		base = getenv("PATH");
	buf_adds(&path, base ? base : "/usr/local/bin:/usr/bin:/bin");
	return buf_detach(&path);
}

struct output_state {
	struct leg_run *lr;
	struct step_process *sp;
	struct workflow_command_parser parser;
};

static void annotation(struct output_state *st, const struct workflow_command *cmd,
		       const char *level)
{
	struct buf text = BUF_INIT;
	const char *file = workflow_command_property(cmd, "file");
	const char *line = workflow_command_property(cmd, "line");
	const char *title = workflow_command_property(cmd, "title");
	buf_addf(&text, "%s: ", level);
	if (file)
		buf_addf(&text, "%s%s%s: ", file, line ? ":" : "", line ? line : "");
	if (title)
		buf_addf(&text, "%s: ", title);
	buf_adds(&text, cmd->message ? cmd->message : "");
	leg_log_line(st->lr, st->sp->log, st->sp->step_name, RUN_LINE_ANNOTATION, text.data);
	buf_free(&text);
}

static void handle_command(struct output_state *st, const struct workflow_command *cmd)
{
	struct leg_run *lr = st->lr;
	struct step_process *sp = st->sp;
	const char *message = cmd->message ? cmd->message : "";
	if (cmd->warning) {
		struct buf text = BUF_INIT;
		buf_addf(&text, "warning: %s", cmd->warning);
		leg_log_line(lr, sp->log, sp->step_name, RUN_LINE_ANNOTATION, text.data);
		buf_free(&text);
	}
	if (cmd->error) {
		struct buf text = BUF_INIT;
		buf_addf(&text, "error: %s", cmd->error);
		leg_log_line(lr, sp->log, sp->step_name, RUN_LINE_ANNOTATION, text.data);
		buf_free(&text);
		sp->command_failed |= cmd->fails_step;
		return;
	}
	switch (cmd->kind) {
	case WORKFLOW_COMMAND_ADD_MASK:
		mask_add(lr->run->mask, message);
		break;
	case WORKFLOW_COMMAND_GROUP:
		leg_log_line(lr, sp->log, sp->step_name, RUN_LINE_GROUP, message);
		break;
	case WORKFLOW_COMMAND_ERROR:
		annotation(st, cmd, "error");
		break;
	case WORKFLOW_COMMAND_WARNING:
		annotation(st, cmd, "warning");
		break;
	case WORKFLOW_COMMAND_NOTICE:
		annotation(st, cmd, "notice");
		break;
	case WORKFLOW_COMMAND_DEBUG:
		if (str_eq(json_string_value(
				   json_object_get(lr->run->secrets, "ACTIONS_STEP_DEBUG")),
			   "true"))
			leg_log_line(lr, sp->log, sp->step_name, RUN_LINE_OUTPUT, message);
		break;
	case WORKFLOW_COMMAND_SET_OUTPUT:
		if (cmd->target_name && sp->outputs)
			json_object_set_new(sp->outputs, cmd->target_name, json_string(message));
		break;
	case WORKFLOW_COMMAND_SAVE_STATE:
		if (cmd->target_name)
			json_object_set_new(lr->state, cmd->target_name, json_string(message));
		break;
	case WORKFLOW_COMMAND_SET_ENV: /* only reached with ACTIONS_ALLOW_UNSECURE_COMMANDS */
		if (cmd->target_name)
			json_object_set_new(lr->env, cmd->target_name, json_string(message));
		break;
	case WORKFLOW_COMMAND_ADD_PATH:
		json_array_insert_new(lr->path, 0, json_string(message));
		break;
	default:
		/* endgroup, echo, matchers, stop/resume: nothing to show */
		break;
	}
}

static void on_output(void *ctx, enum spawn_stream stream, const char *data, size_t len)
{
	(void)stream;
	struct output_state *st = ctx;
	struct workflow_command cmd;
	int is_command = workflow_command_parse_line(&st->parser, data, len, &cmd);
	if (is_command == 1) {
		handle_command(st, &cmd);
		workflow_command_clear(&cmd);
		return;
	}
	leg_log_line(st->lr, st->sp->log, st->sp->step_name, RUN_LINE_OUTPUT, data);
}

/*
 * Runner files: made once per leg and emptied before each step, which reads
 * the same to the step as fresh files and spares a file creation (costly on
 * ext4) for each of them on every step.
 */
int step_files_make(struct leg_run *lr, struct err *e)
{
	struct step_files *files = &lr->files;
	const char *names[] = { "env", "output", "path", "state", "summary" };
	char **fields[] = { &files->env, &files->output, &files->path, &files->state,
			    &files->summary };
	for (size_t i = 0; i < 5; i++) {
		struct buf path = BUF_INIT;
		buf_addf(&path, "%s/_runner_file_commands/%s", lr->temp, names[i]);
		*fields[i] = buf_detach(&path);
		FILE *f = fopen(*fields[i], "w");
		if (!f)
			return err_errno(e, "cannot create %s", *fields[i]);
		fclose(f);
	}
	return 0;
}

static void step_files_reset(const struct step_files *files)
{
	const char *paths[] = { files->env, files->output, files->path, files->state,
				files->summary };
	for (size_t i = 0; i < 5; i++)
		if (truncate(paths[i], 0) < 0) {
			FILE *f = fopen(paths[i], "w"); /* a step deleted it */
			if (f)
				fclose(f);
		}
}

void step_files_free(struct step_files *files)
{
	free(files->env);
	free(files->output);
	free(files->path);
	free(files->state);
	free(files->summary);
}

/* Reads back what the step wrote into its runner files. */
static void step_files_apply(struct leg_run *lr, struct step_process *sp,
			     const struct step_files *files)
{
	struct err e = ERR_INIT;
	struct runner_pair *pairs = NULL;
	size_t count = 0;
	if (runner_file_read_pairs("GITHUB_ENV", files->env, &pairs, &count, &e) == 0) {
		for (size_t i = 0; i < count; i++) {
			if (runner_file_env_name_blocked(pairs[i].name)) {
				struct buf text = BUF_INIT;
				buf_addf(&text, "error: GITHUB_ENV may not set %s", pairs[i].name);
				leg_log_line(lr, sp->log, sp->step_name, RUN_LINE_ANNOTATION,
					     text.data);
				buf_free(&text);
				continue;
			}
			json_object_set_new(lr->env, pairs[i].name, json_string(pairs[i].value));
		}
		runner_pairs_free(pairs, count);
	} else {
		leg_log_line(lr, sp->log, sp->step_name, RUN_LINE_ANNOTATION, e.msg);
		err_clear(&e);
	}
	if (runner_file_read_pairs("GITHUB_OUTPUT", files->output, &pairs, &count, &e) == 0) {
		for (size_t i = 0; sp->outputs && i < count; i++)
			json_object_set_new(sp->outputs, pairs[i].name,
					    json_string(pairs[i].value));
		runner_pairs_free(pairs, count);
	} else {
		leg_log_line(lr, sp->log, sp->step_name, RUN_LINE_ANNOTATION, e.msg);
		err_clear(&e);
	}
	if (runner_file_read_pairs("GITHUB_STATE", files->state, &pairs, &count, &e) == 0) {
		for (size_t i = 0; i < count; i++)
			json_object_set_new(lr->state, pairs[i].name, json_string(pairs[i].value));
		runner_pairs_free(pairs, count);
	} else {
		err_clear(&e);
	}
	struct buf data = BUF_INIT;
	if (buf_read_file(&data, files->path, 1 << 20, &e) == 0 && data.len) {
		char **dirs = NULL;
		size_t dirs_count = 0;
		if (runner_file_parse_paths(data.data, data.len, &dirs, &dirs_count, &e) == 0) {
			for (size_t i = 0; i < dirs_count; i++)
				json_array_insert_new(lr->path, 0, json_string(dirs[i]));
			runner_paths_free(dirs, dirs_count);
		}
	}
	err_clear(&e);
	buf_reset(&data);
	if (buf_read_file(&data, files->summary, 1 << 20, &e) == 0 && data.len) {
		json_t *report = lr->leg->report;
		const char *before = json_string_value(json_object_get(report, "summary"));
		struct buf summary = BUF_INIT;
		buf_adds(&summary, before ? before : "");
		struct buf masked = BUF_INIT;
		mask_apply_buf(lr->run->mask, data.data, data.len, &masked);
		buf_add(&summary, masked.data, masked.len);
		json_object_set_new(report, "summary", json_string(summary.data));
		buf_free(&summary);
		buf_free(&masked);
	}
	err_clear(&e);
	buf_free(&data);
}

/*
 * bwrap in front of the step's argv. Order matters: later binds cover
 * earlier ones, so the private /tmp comes before the leg's own directories
 * (which usually live under /tmp).
 */
static char **sandbox_argv(struct leg_run *lr, const struct step_process *sp)
{
	struct vec argv = VEC_INIT;
	const char *fixed[] = { "bwrap",
				"--ro-bind",
				"/",
				"/",
				"--dev",
				"/dev",
				"--proc",
				"/proc",
				"--tmpfs",
				"/tmp",
				"--unshare-pid",
				"--unshare-ipc",
				"--unshare-uts",
				"--die-with-parent",
				"--new-session" };
	for (size_t i = 0; i < sizeof(fixed) / sizeof(*fixed); i++)
		vec_push(&argv, xstrdup(fixed[i]));
	const char *writable[] = { lr->dir, lr->run->artifacts_dir, lr->run->cache_dir };
	for (size_t i = 0; i < 3; i++) {
		struct err ignored = ERR_INIT;
		if (fs_make_dirs(writable[i], 0755, &ignored) < 0) {
			err_clear(&ignored);
			continue;
		}
		vec_push(&argv, xstrdup("--bind"));
		vec_push(&argv, xstrdup(writable[i]));
		vec_push(&argv, xstrdup(writable[i]));
	}
	if (sp->cwd) {
		vec_push(&argv, xstrdup("--chdir"));
		vec_push(&argv, xstrdup(sp->cwd));
	}
	vec_push(&argv, xstrdup("--"));
	for (char **arg = sp->argv; *arg; arg++)
		vec_push(&argv, xstrdup(*arg));
	vec_push(&argv, NULL);
	return (char **)argv.items;
}

int step_process_run(struct leg_run *lr, struct step_process *sp, int *exit_code, bool *timed_out,
		     bool *cancelled)
{
	const struct step_files files = lr->files;
	step_files_reset(&files);
	struct vec env = VEC_INIT;
	for (char **var = environ; *var; var++)
		vec_push(&env, xstrdup(*var));
	runner_environment(lr, &env);
	environment_add_object(&env, lr->env);
	if (sp->env)
		environment_add_object(&env, sp->env);
	if (sp->step_id)
		environment_add(&env, "GITHUB_ACTION", sp->step_id);
	environment_add(&env, "GITHUB_ENV", files.env);
	environment_add(&env, "GITHUB_OUTPUT", files.output);
	environment_add(&env, "GITHUB_PATH", files.path);
	environment_add(&env, "GITHUB_STATE", files.state);
	environment_add(&env, "GITHUB_STEP_SUMMARY", files.summary);
	char *path = search_path(lr, sp->env);
	environment_add(&env, "PATH", path);
	free(path);
	vec_push(&env, NULL);

	char **argv = lr->run->opt->sandbox ? sandbox_argv(lr, sp) : sp->argv;
	struct output_state st = { .lr = lr, .sp = sp };
	workflow_command_parser_init(&st.parser);
	const char *unsecure =
		json_string_value(json_object_get(lr->env, "ACTIONS_ALLOW_UNSECURE_COMMANDS"));
	if (sp->env && json_object_get(sp->env, "ACTIONS_ALLOW_UNSECURE_COMMANDS"))
		unsecure = json_string_value(
			json_object_get(sp->env, "ACTIONS_ALLOW_UNSECURE_COMMANDS"));
	st.parser.allow_unsecure_commands = workflow_command_flag_enabled(unsecure);
	struct spawn_options so = {
		.argv = (const char *const *)argv,
		.cwd = sp->cwd,
		.clear_env = true,
		.env = (const char *const *)env.items,
		.stderr_to = SPAWN_TO_STDOUT,
		.on_output = on_output,
		.output_ctx = &st,
		.timeout_ms = sp->timeout_ms,
		/* A step that starts after the cancel (if: always()) gets to finish. */
		.cancel = atomic_load(&lr->leg->cancel) ? NULL : &lr->leg->cancel,
		.drain_ms = 2000,
	};
	struct spawn_result result = { 0 };
	struct err e = ERR_INIT;
	int rc = spawn_run(&so, &result, &e);
	workflow_command_parser_free(&st.parser);
	vec_free(&env, free);
	if (argv != sp->argv)
		argv_free(argv);
	if (rc < 0) {
		leg_log_line(lr, sp->log, sp->step_name, RUN_LINE_ANNOTATION, e.msg);
		err_clear(&e);
		*exit_code = 127;
		*timed_out = *cancelled = false;
		return -1;
	}
	step_files_apply(lr, sp, &files);
	*exit_code = result.exit_code == 0 && sp->command_failed ? 1 : result.exit_code;
	*timed_out = result.timed_out;
	*cancelled = result.cancelled;
	return 0;
}

void argv_free(char **argv)
{
	for (char **arg = argv; arg && *arg; arg++)
		free(*arg);
	free(argv);
}
