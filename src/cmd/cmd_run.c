/*
 * ampel run: runs a repository's workflows on this machine, like a CI would.
 *
 * Finds the workflows (GitHub Actions syntax under .github/workflows or
 * .ampel/workflows, or a .gitlab-ci.yml), works out the event as a push of
 * the current checkout would look (ref, sha, changed files from git), runs
 * every workflow the event triggers through the pipeline executor, streams
 * its lines to the terminal and ends with a summary, or a JSON document.
 */
#include "cmd/cmd.h"

#include <dirent.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/executor.h"
#include "pipeline/gitlab.h"
#include "pipeline/mask.h"
#include "pipeline/trigger.h"
#include "pipeline/workflow.h"
#include "pipeline/workflow_load.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/spawn.h"
#include "util/str.h"
#include "util/vec.h"
#include "util/xalloc.h"

const char cmd_run_usage[] =
	"usage: ampel run [PATH] [-W FILE|DIR] [-j JOB] [--event EVENT] [options]\n"
	"\n"
	"Runs the workflows of the repository at PATH (default: the current directory)\n"
	"on this machine, as GitHub Actions would for the event: .github/workflows/ and\n"
	".ampel/workflows/ (GitHub Actions syntax), or .gitlab-ci.yml when there are none.\n"
	"Each job leg runs in its own workspace; actions/checkout copies PATH's working\n"
	"tree into it. Exit status: 0 every job succeeded, 1 a job failed, 2 a usage or\n"
	"workflow error (with file and line).\n"
	"\n"
	"Options:\n"
	"  -W, --workflows FILE|DIR  the workflow file, or a directory of them\n"
	"  -j, --job JOB             run only JOB and the jobs it needs\n"
	"  --event EVENT             push (default), pull_request, workflow_dispatch,\n"
	"                            schedule, workflow_call, …\n"
	"  --ref REF                 the pushed ref (default: the checkout's branch)\n"
	"  --base-ref BRANCH         pull_request: the branch merged into (default: main)\n"
	"  --activity TYPE           the event's activity for types: filters (default for\n"
	"                            pull_request: synchronize), e.g. closed, published\n"
	"  --event-path FILE         the event's payload (github.event, GITHUB_EVENT_PATH)\n"
	"                            as a webhook would deliver it; its \"inputs\" fill the\n"
	"                            inputs not given with --input\n"
	"  --input NAME=VALUE        a workflow_dispatch / workflow_call input (repeatable)\n"
	"  --secret NAME=VALUE       a secret, masked in every line (repeatable)\n"
	"  --secret-file FILE        secrets from a NAME=VALUE file\n"
	"  --var NAME=VALUE          a configuration variable, the vars context (repeatable)\n"
	"  --env NAME=VALUE          extra environment for every step (repeatable)\n"
	"  --parallel N              job legs run at once (default 4)\n"
	"  --host                    run container: jobs' steps on this machine\n"
	"  --sandbox                 run every step under bubblewrap (bwrap): read-only\n"
	"                            file system but for the job's own directories\n"
	"  --work-dir DIR            keep workspaces and artifacts in DIR\n"
	"  --list                    list the workflows and jobs, and whether the event\n"
	"                            runs them; run nothing\n"
	"  --dry-run                 plan: evaluate triggers, conditions and matrices\n"
	"  --json                    print the results as JSON (ampel.run/v1); the live\n"
	"                            log goes to stderr\n"
	"  -h, --help                show this help\n";

static atomic_int interrupted;

static void on_interrupt(int signal_number)
{
	(void)signal_number;
	atomic_store(&interrupted, 1);
}

struct run_settings {
	const char *root;
	const char *workflows;
	const char *job;
	const char *event;
	const char *ref;
	const char *base_ref;
	const char *head_ref; /* pull requests: from the payload, else the ref's branch */
	const char *activity;
	const char *work_dir;
	json_t *event_payload; /* --event-path, or NULL */
	json_t *inputs, *secrets, *vars, *env;
	long parallel;
	bool host, sandbox, list, dry_run, json, quiet;
};

/* NAME=VALUE into an object; the value may itself contain '='. */
static int add_assignment(json_t *object, const char *text, const char *option)
{
	const char *equals = strchr(text, '=');
	if (!equals || equals == text)
		return cmd_usage_error("run", "%s expects NAME=VALUE, got '%s'", option, text);
	char *name = xstrndup(text, (size_t)(equals - text));
	json_object_set_new(object, name, json_string(equals + 1));
	free(name);
	return EXIT_OK;
}

/*
 * The event payload of --event-path: a JSON object, as GitHub writes it to
 * GITHUB_EVENT_PATH. Inputs it carries (a dispatch's, a call's) count as
 * given, unless --input gives them too.
 */
static int read_event_payload(struct run_settings *s, const char *path)
{
	json_t *payload = NULL;
	struct err e = ERR_INIT;
	if (json_read_file(&payload, path, &e) < 0) {
		int status = cmd_usage_error("run", "--event-path: %s", e.msg);
		err_clear(&e);
		return status;
	}
	if (!json_is_object(payload)) {
		json_decref(payload);
		return cmd_usage_error("run", "--event-path: %s: the payload must be a JSON object",
				       path);
	}
	const char *name;
	json_t *value;
	json_object_foreach(json_object_get(payload, "inputs"), name, value)
	{
		if (!json_object_get(s->inputs, name))
			json_object_set(s->inputs, name, value);
	}
	json_decref(s->event_payload);
	s->event_payload = payload;
	return EXIT_OK;
}

/* A string at a path of keys in the payload, or NULL. */
static const char *payload_string(const json_t *payload, const char *const *keys)
{
	const json_t *at = payload;
	for (; *keys && at; keys++)
		at = json_object_get(at, *keys);
	return json_string_value(at);
}

/*
 * What the runner reads from the payload, as GitHub's does: a pull
 * request's head and base branches and its activity (`action`), a push's
 * ref. Options given on the command line win.
 */
static void apply_payload_facts(struct run_settings *s)
{
	const json_t *payload = s->event_payload;
	if (!payload)
		return;
	static const char *const base[] = { "pull_request", "base", "ref", NULL };
	static const char *const head[] = { "pull_request", "head", "ref", NULL };
	static const char *const action[] = { "action", NULL };
	static const char *const ref[] = { "ref", NULL };
	if (str_starts_with(s->event, "pull_request")) {
		if (!s->base_ref)
			s->base_ref = payload_string(payload, base);
		s->head_ref = payload_string(payload, head);
	}
	if (!s->activity)
		s->activity = payload_string(payload, action);
	if (!s->ref && strcmp(s->event, "push") == 0)
		s->ref = payload_string(payload, ref);
}

static int read_secret_file(json_t *secrets, const char *path)
{
	struct buf data = BUF_INIT;
	struct err e = ERR_INIT;
	if (buf_read_file(&data, path, 1 << 20, &e) < 0) {
		buf_free(&data);
		return cmd_usage_error("run", "--secret-file: %s", e.msg);
	}
	struct vec lines = VEC_INIT;
	str_split(data.data ? data.data : "", '\n', &lines);
	int status = EXIT_OK;
	for (size_t i = 0; i < lines.len && status == EXIT_OK; i++) {
		char *line = str_trim(lines.items[i]);
		if (!*line || *line == '#')
			continue;
		if (!strchr(line, '=')) {
			status = cmd_usage_error("run", "%s:%zu: expected NAME=VALUE", path, i + 1);
			break;
		}
		status = add_assignment(secrets, line, "--secret-file");
	}
	vec_free(&lines, free);
	buf_free(&data);
	return status;
}

static char *git_output(const char *root, const char *const *args)
{
	/* Only reading: no optional locks, so a run never blocks the user's git. */
	const char *argv[12] = { "git", "--no-optional-locks", "-C", root };
	size_t n = 4;
	for (; *args && n < 11; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	struct buf out = BUF_INIT;
	int exit_code = 0;
	struct err e = ERR_INIT;
	if (spawn_capture(argv, NULL, &out, &exit_code, &e) < 0 || exit_code != 0) {
		err_clear(&e);
		buf_free(&out);
		return NULL;
	}
	buf_rtrim(&out);
	return buf_detach(&out);
}

/* What a push of this checkout would change: uncommitted work, else the last commit. */
static void changed_files(const char *root, struct vec *out)
{
	static const char *const dirty[] = { "status", "--porcelain", "--untracked-files=all",
					     "--",     ".",	      NULL };
	static const char *const last[] = { "show", "--name-only", "--format=", "HEAD", NULL };
	char *text = git_output(root, dirty);
	bool from_status = text && *text;
	if (!from_status) {
		free(text);
		text = git_output(root, last);
	}
	struct vec lines = VEC_INIT;
	str_split(text ? text : "", '\n', &lines);
	for (size_t i = 0; i < lines.len; i++) {
		const char *line = lines.items[i];
		if (from_status) {
			if (strlen(line) < 4)
				continue;
			line += 3;
			const char *arrow = strstr(line, " -> ");
			if (arrow)
				line = arrow + 4;
		}
		if (*line)
			vec_push(out, xstrdup(line));
	}
	vec_free(&lines, free);
	free(text);
}

static bool has_suffix_yaml(const char *name)
{
	return str_ends_with(name, ".yml") || str_ends_with(name, ".yaml");
}

static int name_compare(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_directory(const char *dir, struct vec *out)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct vec found = VEC_INIT;
	struct dirent *entry;
	while ((entry = readdir(d)))
		if (entry->d_name[0] != '.' && has_suffix_yaml(entry->d_name)) {
			struct buf path = BUF_INIT;
			buf_addf(&path, "%s/%s", dir, entry->d_name);
			vec_push(&found, buf_detach(&path));
		}
	closedir(d);
	vec_sort(&found, name_compare);
	for (size_t i = 0; i < found.len; i++)
		vec_push(out, found.items[i]);
	vec_free(&found, NULL);
}

static int find_workflows(const struct run_settings *s, struct vec *out)
{
	struct stat st;
	if (s->workflows) {
		if (stat(s->workflows, &st) != 0)
			return cmd_usage_error("run", "-W: '%s' does not exist", s->workflows);
		if (S_ISDIR(st.st_mode))
			list_directory(s->workflows, out);
		else
			vec_push(out, xstrdup(s->workflows));
		if (out->len == 0)
			return cmd_usage_error("run", "no workflow files in %s", s->workflows);
		return EXIT_OK;
	}
	static const char *const dirs[] = { ".github/workflows", ".ampel/workflows" };
	for (size_t i = 0; i < 2; i++) {
		struct buf dir = BUF_INIT;
		buf_addf(&dir, "%s/%s", s->root, dirs[i]);
		list_directory(dir.data, out);
		buf_free(&dir);
	}
	if (out->len == 0) {
		struct buf gitlab = BUF_INIT;
		buf_addf(&gitlab, "%s/.gitlab-ci.yml", s->root);
		if (access(gitlab.data, R_OK) == 0)
			vec_push(out, buf_detach(&gitlab));
		buf_free(&gitlab);
	}
	if (out->len == 0)
		return cmd_usage_error("run",
				       "no workflows in %s (looked in .github/workflows, "
				       ".ampel/workflows and .gitlab-ci.yml); use -W FILE",
				       s->root);
	return EXIT_OK;
}

static bool is_gitlab_file(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	return str_starts_with(base, ".gitlab-ci") || str_ends_with(path, ".gitlab-ci.yml");
}

struct terminal {
	bool to_stderr;
	bool quiet;
	pthread_mutex_t lock;
};

static void print_line(void *ctx, const char *job, const char *step, enum run_line_kind kind,
		       const char *text)
{
	struct terminal *t = ctx;
	if (t->quiet)
		return;
	FILE *f = t->to_stderr ? stderr : stdout;
	char stamp[16];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
	/* Long step names (a run step is named after its first line) would bury the output. */
	char short_step[48];
	if (step && strlen(step) >= sizeof(short_step)) {
		memcpy(short_step, step, sizeof(short_step) - 4);
		memcpy(short_step + sizeof(short_step) - 4, "...", 4);
		step = short_step;
	}
	pthread_mutex_lock(&t->lock);
	switch (kind) {
	case RUN_LINE_STEP_START:
		fprintf(f, "%s [%s] > %s\n", stamp, job, text);
		break;
	case RUN_LINE_STEP_END: {
		const char *space = strchr(text, ' ');
		size_t len = space ? (size_t)(space - text) : strlen(text);
		const char *mark = strncmp(text, "success", len) == 0 ? "ok" : "FAILED";
		if (strncmp(text, "cancelled", len) == 0)
			mark = "cancelled";
		fprintf(f, "%s [%s] < %s: %s\n", stamp, job, mark, space ? space + 1 : "");
		break;
	}
	case RUN_LINE_GROUP:
		fprintf(f, "%s [%s] %s | ## %s\n", stamp, job, step ? step : "", text);
		break;
	case RUN_LINE_INFO:
		fprintf(f, "%s [%s] %s\n", stamp, job, text);
		break;
	case RUN_LINE_OUTPUT:
	case RUN_LINE_ANNOTATION:
		fprintf(f, "%s [%s] %s | %s\n", stamp, job, step ? step : "", text);
		break;
	}
	fflush(f);
	pthread_mutex_unlock(&t->lock);
}

static void print_summary(const json_t *report)
{
	printf("\n%-40s %-10s %s\n", "JOB", "RESULT", "DURATION");
	size_t i;
	const json_t *job;
	json_array_foreach(json_object_get(report, "jobs"), i, job)
	{
		long long ms = json_integer_value(json_object_get(job, "duration_ms"));
		printf("%-40s %-10s %lld.%01lld s\n",
		       json_string_value(json_object_get(job, "name")),
		       json_string_value(json_object_get(job, "result")), ms / 1000,
		       (ms % 1000) / 100);
	}
	printf("workflow %s: %s\n", json_string_value(json_object_get(report, "workflow")),
	       json_string_value(json_object_get(report, "conclusion")));
}

static void print_listing(const struct workflow *wf, bool runs, const char *why)
{
	printf("%s (%s)%s%s\n", wf->file, wf->name ? wf->name : "unnamed",
	       runs ? "" : ": not run, ", runs ? "" : why);
	for (size_t j = 0; j < wf->jobs_count; j++) {
		const struct workflow_job *job = wf->jobs[j];
		printf("  %-24s", job->id);
		for (size_t n = 0; n < job->needs_count; n++)
			printf("%s%s", n ? ", " : " needs ", job->needs[n]);
		if (job->matrix)
			printf("%smatrix", job->needs_count ? "; " : " ");
		putchar('\n');
	}
}

static int load_workflow(const struct run_settings *s, const char *path, const char *ref,
			 const char *sha, struct workflow **wf, struct err *e)
{
	if (!is_gitlab_file(path))
		return workflow_load(wf, path, e);
	bool tag = str_starts_with(ref, "refs/tags/");
	const char *short_ref = strchr(ref, '/') ? strrchr(ref, '/') + 1 : ref;
	if (str_starts_with(ref, "refs/heads/"))
		short_ref = ref + strlen("refs/heads/");
	struct vec variables = VEC_INIT;
	const char *name;
	const json_t *value;
	json_object_foreach(s->vars, name, value)
	{
		struct buf entry = BUF_INIT;
		buf_addf(&entry, "%s=%s", name, json_string_value(value));
		vec_push(&variables, buf_detach(&entry));
	}
	json_object_foreach(s->env, name, value)
	{
		struct buf entry = BUF_INIT;
		buf_addf(&entry, "%s=%s", name, json_string_value(value));
		vec_push(&variables, buf_detach(&entry));
	}
	vec_push(&variables, NULL);
	const char *source = strcmp(s->event, "pull_request") == 0	  ? "merge_request_event"
			     : strcmp(s->event, "workflow_dispatch") == 0 ? "web"
			     : strcmp(s->event, "schedule") == 0	  ? "schedule"
									  : "push";
	struct gitlab_context ctx = {
		.repo_dir = s->root,
		.branch = tag ? NULL : short_ref,
		.tag = tag ? short_ref : NULL,
		.default_branch = "main",
		.pipeline_source = source,
		.commit_sha = sha,
		.variables = (const char *const *)variables.items,
	};
	int rc = gitlab_load(wf, path, &ctx, e);
	vec_free(&variables, free);
	return rc;
}

static int run_all(struct run_settings *s)
{
	struct vec files = VEC_INIT;
	int status = find_workflows(s, &files);
	if (status != EXIT_OK) {
		vec_free(&files, free);
		return status;
	}
	apply_payload_facts(s);
	static const char *const head_ref[] = { "symbolic-ref", "-q", "HEAD", NULL };
	static const char *const head_sha[] = { "rev-parse", "HEAD", NULL };
	static const char *const origin[] = { "remote", "get-url", "origin", NULL };
	char *ref = s->ref ? NULL : git_output(s->root, head_ref);
	char *sha = git_output(s->root, head_sha);
	char *remote = git_output(s->root, origin);
	struct buf ref_text = BUF_INIT;
	if (s->ref && !str_starts_with(s->ref, "refs/"))
		buf_addf(&ref_text, "refs/heads/%s", s->ref);
	else
		buf_adds(&ref_text, s->ref ? s->ref : ref ? ref : "refs/heads/main");
	/* owner/name from the origin URL (https or scp-like), else local/<dir> */
	struct buf repository = BUF_INIT;
	if (remote) {
		char *end = remote + strlen(remote);
		if (str_ends_with(remote, ".git"))
			end -= 4;
		*end = '\0';
		char *slash = strrchr(remote, '/');
		char *owner_start = slash;
		while (owner_start && owner_start > remote && owner_start[-1] != '/' &&
		       owner_start[-1] != ':')
			owner_start--;
		if (slash && owner_start)
			buf_adds(&repository, owner_start);
	}
	if (!repository.len) {
		char *absolute = realpath(s->root, NULL);
		const char *base = absolute ? strrchr(absolute, '/') : NULL;
		buf_addf(&repository, "local/%s", base && base[1] ? base + 1 : "repository");
		free(absolute);
	}
	struct vec changed = VEC_INIT;
	changed_files(s->root, &changed);

	struct terminal terminal = { .to_stderr = s->json, .quiet = s->quiet };
	pthread_mutex_init(&terminal.lock, NULL);
	struct run_options options = {
		.repo_dir = s->root,
		.work_dir = s->work_dir,
		.event = { .name = s->event,
			   .ref = ref_text.data,
			   .base_ref = s->base_ref ? s->base_ref : "main",
			   .head_ref = s->head_ref,
			   .activity = s->activity,
			   .changed_files = (const char *const *)changed.items,
			   .changed_count = changed.len,
			   .changed_known = sha != NULL },
		.sha = sha,
		.repository = repository.data,
		.event_payload = s->event_payload,
		.inputs = s->inputs,
		.secrets = s->secrets,
		.vars = s->vars,
		.env = s->env,
		.only_job = s->job,
		.max_parallel = (int)s->parallel,
		.dry_run = s->dry_run,
		.host = s->host,
		.sandbox = s->sandbox,
		.cancel = &interrupted,
		.on_line = print_line,
		.line_ctx = &terminal,
	};
	json_t *results = json_array();
	bool any_failed = false, any_ran = false;
	for (size_t i = 0; i < files.len && status == EXIT_OK; i++) {
		struct workflow *wf = NULL;
		struct err e = ERR_INIT;
		if (load_workflow(s, files.items[i], ref_text.data, sha, &wf, &e) < 0) {
			fprintf(stderr, "ampel run: %s\n", e.msg);
			status = EXIT_USAGE;
			break;
		}
		struct buf why = BUF_INIT;
		bool runs = trigger_matches(wf, &options.event, &why);
		if (s->job && !workflow_find_job(wf, s->job)) {
			runs = false;
			buf_reset(&why);
			buf_addf(&why, "no job '%s'", s->job);
		}
		if (s->list) {
			print_listing(wf, runs, why.data ? why.data : "");
		} else if (!runs) {
			if (!s->quiet)
				fprintf(stderr, "ampel run: %s: not run: %s\n", wf->file, why.data);
		} else {
			json_t *report = NULL;
			any_ran = true;
			if (pipeline_run(wf, &options, &report, &e) < 0) {
				fprintf(stderr, "ampel run: %s\n", e.msg);
				status = EXIT_USAGE;
			} else {
				if (!s->json && !s->quiet)
					print_summary(report);
				any_failed |= strcmp(json_string_value(
							     json_object_get(report, "conclusion")),
						     "success") != 0;
				json_array_append_new(results, report);
			}
		}
		buf_free(&why);
		workflow_free(wf);
		err_clear(&e);
	}
	if (status == EXIT_OK && !s->list && !any_ran && !s->quiet)
		fprintf(stderr, "ampel run: no workflow runs for the %s event\n", s->event);
	if (status == EXIT_OK && s->json && !s->list) {
		json_t *document = json_pack(
			"{s:s, s:s, s:s, s:O}", "schema", "ampel.run/v1", "event", s->event,
			"conclusion", any_failed ? "failure" : "success", "workflows", results);
		struct buf out = BUF_INIT;
		json_write_buf(&out, document, JSON_WRITE_PRETTY, NULL);
		fwrite(out.data, 1, out.len, stdout);
		buf_free(&out);
		json_decref(document);
	}
	if (status == EXIT_OK && any_failed)
		status = EXIT_FAILED;
	json_decref(results);
	pthread_mutex_destroy(&terminal.lock);
	vec_free(&changed, free);
	vec_free(&files, free);
	buf_free(&ref_text);
	buf_free(&repository);
	free(ref);
	free(sha);
	free(remote);
	return status;
}

int cmd_run(int argc, char **argv, struct cmd_context *ctx)
{
	enum {
		OPT_EVENT = 256,
		OPT_REF,
		OPT_BASE_REF,
		OPT_ACTIVITY,
		OPT_EVENT_PATH,
		OPT_INPUT,
		OPT_SECRET,
		OPT_SECRET_FILE,
		OPT_VAR,
		OPT_ENV,
		OPT_PARALLEL,
		OPT_HOST,
		OPT_SANDBOX,
		OPT_WORK_DIR,
		OPT_LIST,
		OPT_DRY_RUN,
		OPT_JSON,
	};
	static const struct option long_options[] = {
		{ "workflows", required_argument, NULL, 'W' },
		{ "job", required_argument, NULL, 'j' },
		{ "event", required_argument, NULL, OPT_EVENT },
		{ "ref", required_argument, NULL, OPT_REF },
		{ "base-ref", required_argument, NULL, OPT_BASE_REF },
		{ "activity", required_argument, NULL, OPT_ACTIVITY },
		{ "event-path", required_argument, NULL, OPT_EVENT_PATH },
		{ "input", required_argument, NULL, OPT_INPUT },
		{ "secret", required_argument, NULL, OPT_SECRET },
		{ "secret-file", required_argument, NULL, OPT_SECRET_FILE },
		{ "var", required_argument, NULL, OPT_VAR },
		{ "env", required_argument, NULL, OPT_ENV },
		{ "parallel", required_argument, NULL, OPT_PARALLEL },
		{ "host", no_argument, NULL, OPT_HOST },
		{ "sandbox", no_argument, NULL, OPT_SANDBOX },
		{ "work-dir", required_argument, NULL, OPT_WORK_DIR },
		{ "list", no_argument, NULL, OPT_LIST },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct run_settings s = { .event = "push",
				  .inputs = json_object(),
				  .secrets = json_object(),
				  .vars = json_object(),
				  .env = json_object(),
				  .quiet = ctx->quiet };
	int status = EXIT_OK;
	int opt;
	while (status == EXIT_OK &&
	       (opt = getopt_long(argc, argv, "W:j:h", long_options, NULL)) != -1) {
		struct err e = ERR_INIT;
		switch (opt) {
		case 'W':
			s.workflows = optarg;
			break;
		case 'j':
			s.job = optarg;
			break;
		case OPT_EVENT:
			s.event = optarg;
			break;
		case OPT_REF:
			s.ref = optarg;
			break;
		case OPT_BASE_REF:
			s.base_ref = optarg;
			break;
		case OPT_ACTIVITY:
			s.activity = optarg;
			break;
		case OPT_EVENT_PATH:
			status = read_event_payload(&s, optarg);
			break;
		case OPT_INPUT:
			status = add_assignment(s.inputs, optarg, "--input");
			break;
		case OPT_SECRET:
			status = add_assignment(s.secrets, optarg, "--secret");
			break;
		case OPT_SECRET_FILE:
			status = read_secret_file(s.secrets, optarg);
			break;
		case OPT_VAR:
			status = add_assignment(s.vars, optarg, "--var");
			break;
		case OPT_ENV:
			status = add_assignment(s.env, optarg, "--env");
			break;
		case OPT_PARALLEL:
			if (str_parse_long(optarg, 1, 256, &s.parallel, "--parallel", &e) < 0) {
				status = cmd_usage_error("run", "%s", e.msg);
				err_clear(&e);
			}
			break;
		case OPT_HOST:
			s.host = true;
			break;
		case OPT_SANDBOX:
			s.sandbox = true;
			break;
		case OPT_WORK_DIR:
			s.work_dir = optarg;
			break;
		case OPT_LIST:
			s.list = true;
			break;
		case OPT_DRY_RUN:
			s.dry_run = true;
			break;
		case OPT_JSON:
			s.json = true;
			break;
		case 'h':
			fputs(cmd_run_usage, stdout);
			status = -1;
			break;
		default:
			status = cmd_usage_error("run", "unknown option or missing value '%s'",
						 argv[optind - 1]);
		}
	}
	struct stat st;
	if (status == EXIT_OK) {
		s.root = optind < argc ? argv[optind] : ".";
		if (argc - optind > 1)
			status = cmd_usage_error("run", "expected one PATH, got %d", argc - optind);
		else if (stat(s.root, &st) != 0 || !S_ISDIR(st.st_mode))
			status = cmd_usage_error("run", "'%s' is not a directory", s.root);
		else if (s.sandbox && !spawn_program_found("bwrap"))
			status = cmd_usage_error("run", "--sandbox needs bubblewrap (bwrap), which "
							"is not installed");
	}
	if (status == EXIT_OK) {
		struct sigaction action = { .sa_handler = on_interrupt };
		sigemptyset(&action.sa_mask);
		sigaction(SIGINT, &action, NULL);
		sigaction(SIGTERM, &action, NULL);
		status = run_all(&s);
	}
	json_decref(s.event_payload);
	json_decref(s.inputs);
	json_decref(s.secrets);
	json_decref(s.vars);
	json_decref(s.env);
	return status < 0 ? EXIT_OK : status;
}
