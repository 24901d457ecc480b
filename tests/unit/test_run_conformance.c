/*
 * The `ampel run` conformance suite: every directory under
 * tests/conformance/ is a tiny repository plus expected.yaml saying what
 * GitHub Actions (or GitLab CI) does with it. Each case runs the real binary
 * (`ampel -q run <case> --json <args>`) and every mismatch is printed with
 * the case name, so one run shows the whole picture of what conforms.
 *
 * expected.yaml keys: description, args (extra `ampel run` arguments), exit,
 * conclusion, jobs (display name -> result), steps and outcomes ('<job>/<step
 * id>' -> conclusion / outcome), outputs (job -> outputs subset), output (log
 * substrings, in order), not_output (never on stdout or stderr), stderr
 * (substrings, for exit 2), summary (job -> step summary substrings),
 * not_jobs (names that must not run), workflows (how many ran) and anywhere
 * (substrings of stdout or stderr).
 *
 * AMPEL_CONFORMANCE_FILTER=<substring> runs only the cases whose name holds
 * it; AMPEL_CONFORMANCE_VERBOSE=1 prints each case's output on failure.
 */
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/spawn.h"
#include "util/str.h"
#include "util/vec.h"
#include "util/xalloc.h"
#include "util/yaml.h"

#include <dirent.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>

#include <cmocka.h>

#define CONFORMANCE_DIR	 AMPEL_SOURCE_ROOT "/tests/conformance"
#define CASE_TIMEOUT_MS	 60000
#define CONFORMANCE_JOBS 8

struct conformance_case {
	char *name;
	char *dir;
	struct buf problems; /* one mismatch per line */
	struct buf stdout_text;
	struct buf stderr_text;
	int exit_code;
};

struct suite {
	const char *root; /* a directory of cases */
	bool strict;	  /* every case must say what it pins down (description) */
	struct vec cases; /* struct conformance_case * */
	char *temp_root;
	pthread_mutex_t lock;
	size_t next;
};

static void problem(struct conformance_case *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void problem(struct conformance_case *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_adds(&c->problems, "  ");
	buf_vaddf(&c->problems, fmt, ap);
	buf_addch(&c->problems, '\n');
	va_end(ap);
}

static int compare_names(const void *a, const void *b)
{
	const struct conformance_case *const *x = a;
	const struct conformance_case *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

static void suite_find_cases(struct suite *s)
{
	DIR *dir = opendir(s->root);
	if (!dir)
		fail_msg("cannot open %s", s->root);
	const char *filter = getenv("AMPEL_CONFORMANCE_FILTER");
	for (struct dirent *d; (d = readdir(dir));) {
		if (d->d_name[0] == '.')
			continue;
		if (filter && *filter && !strstr(d->d_name, filter))
			continue;
		struct buf path = BUF_INIT;
		buf_addf(&path, "%s/%s/expected.yaml", s->root, d->d_name);
		struct stat st;
		bool is_case = stat(buf_cstr(&path), &st) == 0;
		buf_free(&path);
		if (!is_case)
			continue;
		struct conformance_case *c = xcalloc(1, sizeof(*c));
		c->name = xstrdup(d->d_name);
		struct buf dir_path = BUF_INIT;
		buf_addf(&dir_path, "%s/%s", s->root, d->d_name);
		c->dir = buf_detach(&dir_path);
		buf_init(&c->problems);
		buf_init(&c->stdout_text);
		buf_init(&c->stderr_text);
		vec_push(&s->cases, c);
	}
	closedir(dir);
	vec_sort(&s->cases, compare_names);
}

static void case_free(void *item)
{
	struct conformance_case *c = item;
	free(c->name);
	free(c->dir);
	buf_free(&c->problems);
	buf_free(&c->stdout_text);
	buf_free(&c->stderr_text);
	free(c);
}

/* The text of a scalar expectation, whatever its YAML type. */
static const char *scalar_text(const struct yaml_node *n)
{
	return n && n->kind == YAML_SCALAR ? n->value : NULL;
}

/* Compact text of a JSON value: strings as themselves, others as JSON. */
static char *json_text(const json_t *v)
{
	if (!v)
		return xstrdup("(absent)");
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	char *dumped = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	char *copy = xstrdup(dumped ? dumped : "?");
	free(dumped);
	return copy;
}

/* A job, then the jobs of the workflow it called (reusable workflows). */
static void collect_job_tree(const json_t *job, struct vec *jobs)
{
	vec_push(jobs, (void *)job);
	size_t i;
	const json_t *called;
	json_array_foreach(json_object_get(job, "called"), i, called)
		collect_job_tree(called, jobs);
}

/* The jobs of every workflow in the document, in order. */
static void collect_jobs(const json_t *doc, struct vec *jobs)
{
	const json_t *workflows = json_object_get(doc, "workflows");
	size_t i;
	const json_t *wf;
	json_array_foreach(workflows, i, wf)
	{
		size_t j;
		const json_t *job;
		json_array_foreach(json_object_get(wf, "jobs"), j, job) collect_job_tree(job, jobs);
	}
}

static const json_t *find_job(const struct vec *jobs, const char *name)
{
	for (size_t i = 0; i < jobs->len; i++) {
		const json_t *job = vec_get(jobs, i);
		if (strcmp(json_get_str(job, "name", ""), name) == 0)
			return job;
	}
	return NULL;
}

static const json_t *find_step(const json_t *job, const char *id)
{
	size_t i;
	const json_t *step;
	json_array_foreach(json_object_get(job, "steps"), i, step)
	{
		if (strcmp(json_get_str(step, "id", ""), id) == 0)
			return step;
	}
	return NULL;
}

static void check_job_results(struct conformance_case *c, const struct yaml_node *expect,
			      const struct vec *jobs)
{
	for (size_t i = 0; expect && i < expect->count; i++) {
		const char *name = scalar_text(expect->pairs[i].key);
		const char *want = scalar_text(expect->pairs[i].value);
		const json_t *job = find_job(jobs, name);
		if (!job) {
			problem(c, "jobs: '%s' is not in the results (wanted %s)", name, want);
			continue;
		}
		const char *got = json_get_str(job, "result", "(none)");
		if (!want || strcmp(got, want) != 0)
			problem(c, "jobs: '%s' result is %s, wanted %s", name, got, want);
	}
}

/* steps: / outcomes: '<job name>/<step id>' -> conclusion / outcome. */
static void check_steps(struct conformance_case *c, const struct yaml_node *expect,
			const struct vec *jobs, const char *field)
{
	for (size_t i = 0; expect && i < expect->count; i++) {
		const char *key = scalar_text(expect->pairs[i].key);
		const char *want = scalar_text(expect->pairs[i].value);
		const char *slash = strrchr(key, '/');
		if (!slash) {
			problem(c, "expected.yaml: step key '%s' is not '<job>/<step id>'", key);
			continue;
		}
		char *job_name = xstrndup(key, (size_t)(slash - key));
		const json_t *job = find_job(jobs, job_name);
		const json_t *step = job ? find_step(job, slash + 1) : NULL;
		if (!job)
			problem(c, "%s: job '%s' is not in the results", field, job_name);
		else if (!step)
			problem(c, "%s: step '%s' is not in job '%s'", field, slash + 1, job_name);
		else {
			const char *got = json_get_str(step, field, "(none)");
			if (!want || strcmp(got, want) != 0)
				problem(c, "%s: '%s' is %s, wanted %s", field, key, got, want);
		}
		free(job_name);
	}
}

static void check_outputs(struct conformance_case *c, const struct yaml_node *expect,
			  const struct vec *jobs)
{
	for (size_t i = 0; expect && i < expect->count; i++) {
		const char *name = scalar_text(expect->pairs[i].key);
		const struct yaml_node *want = expect->pairs[i].value;
		const json_t *job = find_job(jobs, name);
		if (!job) {
			problem(c, "outputs: job '%s' is not in the results", name);
			continue;
		}
		const json_t *outputs = json_object_get(job, "outputs");
		for (size_t k = 0; want && want->kind == YAML_MAPPING && k < want->count; k++) {
			const char *key = scalar_text(want->pairs[k].key);
			const char *value = scalar_text(want->pairs[k].value);
			const json_t *got = json_object_get(outputs, key);
			char *text = json_text(got);
			if (!got || !value || strcmp(text, value) != 0)
				problem(c, "outputs: '%s.%s' is '%s', wanted '%s'", name, key, text,
					value ? value : "?");
			free(text);
		}
	}
}

/* Every log line of every step of every job, joined with newlines. */
static void collect_logs(const struct vec *jobs, struct buf *out)
{
	for (size_t i = 0; i < jobs->len; i++) {
		size_t s;
		const json_t *step;
		json_array_foreach(json_object_get(vec_get(jobs, i), "steps"), s, step)
		{
			size_t l;
			const json_t *line;
			json_array_foreach(json_object_get(step, "log"), l, line)
			{
				buf_adds(out, json_is_string(line) ? json_string_value(line) : "");
				buf_addch(out, '\n');
			}
		}
	}
}

static void check_output_order(struct conformance_case *c, const struct yaml_node *expect,
			       const char *logs)
{
	const char *from = logs;
	for (size_t i = 0; expect && i < expect->count; i++) {
		const char *want = scalar_text(expect->items[i]);
		if (!want)
			continue;
		const char *at = strstr(from, want);
		if (at) {
			from = at + strlen(want);
		} else if (strstr(logs, want)) {
			problem(c, "output: '%s' appears, but not after '%s'", want,
				i > 0 ? scalar_text(expect->items[i - 1]) : "");
		} else {
			problem(c, "output: '%s' is not in the job logs", want);
		}
	}
}

static void check_summaries(struct conformance_case *c, const struct yaml_node *expect,
			    const struct vec *jobs)
{
	for (size_t i = 0; expect && i < expect->count; i++) {
		const char *name = scalar_text(expect->pairs[i].key);
		const struct yaml_node *want = expect->pairs[i].value;
		const json_t *job = find_job(jobs, name);
		if (!job) {
			problem(c, "summary: job '%s' is not in the results", name);
			continue;
		}
		const char *summary = json_get_str(job, "summary", "");
		size_t n = want->kind == YAML_SEQUENCE ? want->count : 1;
		for (size_t k = 0; k < n; k++) {
			const char *text =
				scalar_text(want->kind == YAML_SEQUENCE ? want->items[k] : want);
			if (text && !strstr(summary, text))
				problem(c, "summary: job '%s' summary lacks '%s' (it is '%s')",
					name, text, summary);
		}
	}
}

static void check_json(struct conformance_case *c, const struct yaml_node *expect)
{
	json_t *doc = NULL;
	struct err e = ERR_INIT;
	if (json_read_string(&doc, "stdout", c->stdout_text.data ? c->stdout_text.data : "",
			     c->stdout_text.len, &e) < 0) {
		problem(c, "stdout is not a JSON document: %s", e.msg);
		return;
	}
	if (!str_eq(json_get_str(doc, "schema", NULL), "ampel.run/v1"))
		problem(c, "schema is '%s', wanted ampel.run/v1", json_get_str(doc, "schema", ""));

	const char *conclusion = scalar_text(yaml_get(expect, "conclusion"));
	if (conclusion && strcmp(json_get_str(doc, "conclusion", "(none)"), conclusion) != 0)
		problem(c, "conclusion is %s, wanted %s", json_get_str(doc, "conclusion", "(none)"),
			conclusion);

	const char *workflows = scalar_text(yaml_get(expect, "workflows"));
	if (workflows) {
		size_t got = json_array_size(json_object_get(doc, "workflows"));
		if ((size_t)strtoul(workflows, NULL, 10) != got)
			problem(c, "%zu workflows ran, wanted %s", got, workflows);
	}

	struct vec jobs = { 0 };
	collect_jobs(doc, &jobs);
	check_job_results(c, yaml_get(expect, "jobs"), &jobs);
	const struct yaml_node *absent = yaml_get(expect, "not_jobs");
	for (size_t i = 0; absent && absent->kind == YAML_SEQUENCE && i < absent->count; i++)
		if (scalar_text(absent->items[i]) && find_job(&jobs, scalar_text(absent->items[i])))
			problem(c, "not_jobs: '%s' is in the results",
				scalar_text(absent->items[i]));
	check_steps(c, yaml_get(expect, "steps"), &jobs, "conclusion");
	check_steps(c, yaml_get(expect, "outcomes"), &jobs, "outcome");
	check_outputs(c, yaml_get(expect, "outputs"), &jobs);
	check_summaries(c, yaml_get(expect, "summary"), &jobs);

	struct buf logs = BUF_INIT;
	buf_adds(&logs, "");
	collect_logs(&jobs, &logs);
	check_output_order(c, yaml_get(expect, "output"), buf_cstr(&logs));
	buf_free(&logs);
	vec_free(&jobs, NULL);
	json_decref(doc);
}

static void check_absent(struct conformance_case *c, const struct yaml_node *expect)
{
	for (size_t i = 0; expect && i < expect->count; i++) {
		const char *text = scalar_text(expect->items[i]);
		if (!text)
			continue;
		if (strstr(buf_cstr(&c->stdout_text), text))
			problem(c, "not_output: '%s' appears on stdout", text);
		if (strstr(buf_cstr(&c->stderr_text), text))
			problem(c, "not_output: '%s' appears on stderr", text);
	}
}

static void check_stderr(struct conformance_case *c, const struct yaml_node *expect)
{
	for (size_t i = 0; expect && i < expect->count; i++) {
		const char *text = scalar_text(expect->items[i]);
		if (text && !strstr(buf_cstr(&c->stderr_text), text))
			problem(c, "stderr: lacks '%s'", text);
	}
}

/* anywhere: substrings of stdout or stderr (messages that may go to either). */
static void check_anywhere(struct conformance_case *c, const struct yaml_node *expect)
{
	for (size_t i = 0; expect && i < expect->count; i++) {
		const char *text = scalar_text(expect->items[i]);
		if (text && !strstr(buf_cstr(&c->stdout_text), text) &&
		    !strstr(buf_cstr(&c->stderr_text), text))
			problem(c, "anywhere: '%s' is neither on stdout nor on stderr", text);
	}
}

static bool needs_json(const struct yaml_node *expect)
{
	static const char *const keys[] = { "conclusion", "jobs",      "steps",
					    "outcomes",	  "outputs",   "summary",
					    "output",	  "workflows", "not_jobs" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (yaml_get(expect, keys[i]))
			return true;
	return false;
}

static void run_case(struct conformance_case *c, const struct suite *s)
{
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/expected.yaml", c->dir);
	struct yaml_doc *doc = NULL;
	struct err e = ERR_INIT;
	if (yaml_load_file(&doc, buf_cstr(&path), &e) < 0 || !doc->root ||
	    doc->root->kind != YAML_MAPPING) {
		problem(c, "cannot read expected.yaml: %s", err_is_set(&e) ? e.msg : "not a map");
		buf_free(&path);
		yaml_doc_free(doc);
		return;
	}
	buf_free(&path);
	const struct yaml_node *expect = doc->root;
	if (s->strict && !yaml_get(expect, "description"))
		problem(c, "expected.yaml: no description");

	/* Each case gets its own HOME and cache, so cache hits never leak. */
	struct buf home = BUF_INIT;
	buf_addf(&home, "%s/%s", s->temp_root, c->name);
	mkdir(buf_cstr(&home), 0700);
	struct buf cache = BUF_INIT;
	buf_addf(&cache, "%s/.cache", buf_cstr(&home));
	mkdir(buf_cstr(&cache), 0700);
	struct buf tmp = BUF_INIT;
	buf_addf(&tmp, "%s/tmp", buf_cstr(&home));
	mkdir(buf_cstr(&tmp), 0700);
	struct buf env_home = BUF_INIT, env_cache = BUF_INIT, env_tmp = BUF_INIT;
	buf_addf(&env_home, "HOME=%s", buf_cstr(&home));
	buf_addf(&env_cache, "XDG_CACHE_HOME=%s", buf_cstr(&cache));
	buf_addf(&env_tmp, "TMPDIR=%s", buf_cstr(&tmp));
	/* The cases live inside Ampel's own repository: stop git's discovery at
	 * their folder, so each case is a tree without git, as the expectations
	 * assume, and the runs never touch the repository's index. */
	struct buf ceiling = BUF_INIT;
	buf_addf(&ceiling, "GIT_CEILING_DIRECTORIES=%s", s->root);
	const char *env[] = { buf_cstr(&env_home), buf_cstr(&env_cache), buf_cstr(&env_tmp),
			      buf_cstr(&ceiling), NULL };
	static const char *const unset[] = {
		"AMPEL_CONFIG",
		"AMPEL_CONFIG_DIR",
		"AMPEL_LOG_LEVEL",
		"AMPEL_LOG_FORMAT",
		"AMPEL_QUIET",
		"GITHUB_ACTIONS",
		"GITHUB_ENV",
		"GITHUB_OUTPUT",
		"GITHUB_PATH",
		"GITHUB_WORKSPACE",
		"CI",
		"GITLAB_CI",
		NULL,
	};

	struct vec argv = { 0 };
	vec_push(&argv, (void *)AMPEL_BINARY);
	vec_push(&argv, (void *)"-q");
	vec_push(&argv, (void *)"run");
	vec_push(&argv, c->dir);
	vec_push(&argv, (void *)"--json");
	const struct yaml_node *args = yaml_get(expect, "args");
	for (size_t i = 0; args && args->kind == YAML_SEQUENCE && i < args->count; i++)
		if (scalar_text(args->items[i]))
			vec_push(&argv, (void *)scalar_text(args->items[i]));
	vec_push(&argv, NULL);

	struct spawn_options opt = {
		.argv = (const char *const *)argv.items,
		.cwd = c->dir,
		.env_unset = unset,
		.env = env,
		.stdout_buf = &c->stdout_text,
		.stderr_buf = &c->stderr_text,
		.timeout_ms = CASE_TIMEOUT_MS,
		.kill_grace_ms = 1000,
	};
	struct spawn_result result = { 0 };
	if (spawn_run(&opt, &result, &e) < 0) {
		problem(c, "cannot start ampel: %s", e.msg);
		goto done;
	}
	c->exit_code = result.exit_code;
	if (result.timed_out) {
		problem(c, "ampel hung: killed after %d s", CASE_TIMEOUT_MS / 1000);
		goto done;
	}
	if (result.signal) {
		problem(c, "ampel crashed: signal %d", result.signal);
		goto done;
	}

	const char *exit_text = scalar_text(yaml_get(expect, "exit"));
	int want_exit = exit_text ? atoi(exit_text) : 0;
	if (result.exit_code != want_exit) {
		const char *end = strchr(buf_cstr(&c->stderr_text), '\n');
		int shown = end ? (int)(end - buf_cstr(&c->stderr_text)) : (int)c->stderr_text.len;
		if (shown > 300)
			shown = 300;
		problem(c, "exit status is %d, wanted %d (stderr: %.*s)", result.exit_code,
			want_exit, shown, buf_cstr(&c->stderr_text));
	}

	if (needs_json(expect))
		check_json(c, expect);
	check_absent(c, yaml_get(expect, "not_output"));
	check_stderr(c, yaml_get(expect, "stderr"));
	check_anywhere(c, yaml_get(expect, "anywhere"));

done:
	vec_free(&argv, NULL);
	buf_free(&home);
	buf_free(&cache);
	buf_free(&tmp);
	buf_free(&env_home);
	buf_free(&env_cache);
	buf_free(&env_tmp);
	buf_free(&ceiling);
	yaml_doc_free(doc);
}

static void *worker(void *arg)
{
	struct suite *s = arg;
	for (;;) {
		pthread_mutex_lock(&s->lock);
		size_t i = s->next++;
		pthread_mutex_unlock(&s->lock);
		if (i >= s->cases.len)
			return NULL;
		run_case(vec_get(&s->cases, i), s);
	}
}

static void remove_tree(const char *path)
{
	const char *argv[] = { "rm", "-rf", path, NULL };
	struct spawn_options opt = { .argv = argv, .timeout_ms = 30000 };
	struct spawn_result result;
	struct err e = ERR_INIT;
	(void)spawn_run(&opt, &result, &e);
}

/* Runs every case of root in parallel; prints the failures; returns how many pass. */
static size_t suite_run(const char *root, bool strict, size_t *total)
{
	struct suite s = { .root = root, .strict = strict, .next = 0 };
	pthread_mutex_init(&s.lock, NULL);
	suite_find_cases(&s);
	const char *filter = getenv("AMPEL_CONFORMANCE_FILTER");
	if (!filter || !*filter)
		assert_true(s.cases.len > 0);

	const char *tmpdir = getenv("TMPDIR");
	struct buf temp = BUF_INIT;
	buf_addf(&temp, "%s/ampel-conformance-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	assert_non_null(mkdtemp(temp.data));
	s.temp_root = temp.data;

	pthread_t threads[CONFORMANCE_JOBS];
	size_t started = 0;
	for (; started < CONFORMANCE_JOBS && started < s.cases.len; started++)
		assert_int_equal(pthread_create(&threads[started], NULL, worker, &s), 0);
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);

	const char *verbose = getenv("AMPEL_CONFORMANCE_VERBOSE");
	size_t passed = 0;
	for (size_t i = 0; i < s.cases.len; i++) {
		struct conformance_case *c = vec_get(&s.cases, i);
		if (c->problems.len == 0) {
			passed++;
			continue;
		}
		printf("FAIL %s\n%s", c->name, buf_cstr(&c->problems));
		if (verbose && *verbose && strcmp(verbose, "0") != 0)
			printf("  --- stdout ---\n%s\n  --- stderr ---\n%s\n",
			       buf_cstr(&c->stdout_text), buf_cstr(&c->stderr_text));
	}
	remove_tree(s.temp_root);
	*total = s.cases.len;
	buf_free(&temp);
	vec_free(&s.cases, case_free);
	pthread_mutex_destroy(&s.lock);
	return passed;
}

static void test_conformance_suite(void **state)
{
	(void)state;
	size_t total = 0;
	size_t passed = suite_run(CONFORMANCE_DIR, true, &total);
	printf("conformance: %zu/%zu cases pass\n", passed, total);
	fflush(stdout);
	assert_int_equal(passed, total);
}

/*
 * Runs one held-out suite of third-party cases and asserts the share where
 * Ampel reaches the reference runner's success or failure stays at least
 * floor (the level reached after its single measurement).
 */
static void thirdparty_suite(const char *dir, const char *label, double floor)
{
	size_t total = 0;
	size_t passed = suite_run(dir, false, &total);
	if (total == 0)
		return; /* AMPEL_CONFORMANCE_FILTER left none */
	printf("third-party (%s): %zu/%zu same success/failure as the reference (%.1f%%)\n", label,
	       passed, total, 100.0 * (double)passed / (double)total);
	fflush(stdout);
	assert_true((double)passed / (double)total >= floor);
}

/*
 * nektos/act's host-environment cases (tests/thirdparty, held out until
 * measured once at 21/33). The five that differ test act's own
 * conventions, a command GitHub disabled, or need pwsh
 * (tests/thirdparty/NOTES.md).
 */
static void test_thirdparty_act_cases(void **state)
{
	(void)state;
	thirdparty_suite(AMPEL_SOURCE_ROOT "/tests/thirdparty/act", "act host cases", 0.84);
}

/*
 * The second held-out set: entries of act's main event table that need no
 * container, network or event payload (tests/thirdparty/act-events/NOTES.md).
 * Measured once at 8/11; the three misses were general bugs (expressions in
 * workflow_call input defaults, YAML-boolean action input defaults), fixed.
 */
static void test_thirdparty_act_event_cases(void **state)
{
	(void)state;
	thirdparty_suite(AMPEL_SOURCE_ROOT "/tests/thirdparty/act-events", "act event cases", 1.0);
}

/*
 * The third held-out set: act's payload, input and secret tables and the
 * Forgejo and Gitea forks' extra cases (tests/thirdparty/act-3/NOTES.md).
 * Measured once at 9/11; pull-request head/base refs now come from the
 * payload. input-from-cli still differs on purpose: it dispatches an
 * undeclared input, which GitHub (and Ampel) refuse and act accepts.
 */
static void test_thirdparty_act3_cases(void **state)
{
	(void)state;
	thirdparty_suite(AMPEL_SOURCE_ROOT "/tests/thirdparty/act-3", "act-3 cases", 0.90);
}

/*
 * The fourth held-out set: entries of act's forks (Gitea, liteyuki-runner,
 * check-spelling's act, act-cli) and later act tables whose fixtures the
 * earlier sets lacked (tests/thirdparty/act-4/NOTES.md). Measured once at
 * 9/11; both misses were general bugs (a uses step's env did not reach a
 * Node action, a composite's outputs did not see it), fixed.
 */
static void test_thirdparty_act4_cases(void **state)
{
	(void)state;
	thirdparty_suite(AMPEL_SOURCE_ROOT "/tests/thirdparty/act-4", "act-4 cases", 1.0);
}

/*
 * The fifth held-out set: github-act-runner's test workflows (its CI asserts
 * which succeed and which exit 1) and act-test-runner's and
 * gradle-act-plugin's asserted outcomes (tests/thirdparty/act-5/NOTES.md).
 * Measured once at 19/19, the first set measured after the fixes above.
 */
static void test_thirdparty_act5_cases(void **state)
{
	(void)state;
	thirdparty_suite(AMPEL_SOURCE_ROOT "/tests/thirdparty/act-5", "act-5 cases", 1.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conformance_suite),
		cmocka_unit_test(test_thirdparty_act_cases),
		cmocka_unit_test(test_thirdparty_act_event_cases),
		cmocka_unit_test(test_thirdparty_act3_cases),
		cmocka_unit_test(test_thirdparty_act4_cases),
		cmocka_unit_test(test_thirdparty_act5_cases),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
