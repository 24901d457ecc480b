/*
 * Tests for the executor as a library (src/pipeline/executor.h): what the
 * server will rely on beyond the CLI — the line sink, cancellation from
 * another thread, job selection and the work directory. Feature-by-feature
 * behaviour is pinned by the conformance suite (test_run_conformance).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/executor.h"
#include "pipeline/workflow.h"
#include "pipeline/workflow_load.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/xalloc.h"

struct lines {
	pthread_mutex_t lock;
	struct buf text;
};

static void collect(void *ctx, const char *job, const char *step, enum run_line_kind kind,
		    const char *text)
{
	struct lines *lines = ctx;
	pthread_mutex_lock(&lines->lock);
	buf_addf(&lines->text, "%d [%s] %s | %s\n", (int)kind, job, step ? step : "", text);
	pthread_mutex_unlock(&lines->lock);
}

static struct workflow *parse(const char *yaml)
{
	struct workflow *wf = NULL;
	struct err e = ERR_INIT;
	if (workflow_parse(&wf, "test.yml", yaml, strlen(yaml), &e) < 0)
		fail_msg("%s", e.msg);
	return wf;
}

static char *temp_dir(void)
{
	char *dir = xstrdup("/tmp/ampel-test-run-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return dir;
}

static json_t *run(const char *yaml, struct run_options *options, struct lines *lines)
{
	struct workflow *wf = parse(yaml);
	char *repo = options->repo_dir ? NULL : temp_dir(); /* the caller's, or an empty one */
	char *cache = temp_dir();
	if (repo)
		options->repo_dir = repo;
	options->cache_dir = cache;
	if (!options->event.name)
		options->event.name = "push";
	if (lines) {
		options->on_line = collect;
		options->line_ctx = lines;
	}
	json_t *result = NULL;
	struct err e = ERR_INIT;
	if (pipeline_run(wf, options, &result, &e) < 0)
		fail_msg("%s", e.msg);
	workflow_free(wf);
	if (repo)
		rmdir(repo);
	rmdir(cache);
	free(repo);
	free(cache);
	return result;
}

static const char *job_result(const json_t *result, const char *name)
{
	size_t i;
	const json_t *job;
	json_array_foreach(json_object_get(result, "jobs"), i,
			   job) if (strcmp(json_string_value(json_object_get(job, "name")), name) ==
				    0) return json_string_value(json_object_get(job, "result"));
	return NULL;
}

static void test_lines_are_masked_before_the_sink(void **state)
{
	(void)state;
	struct lines lines = { PTHREAD_MUTEX_INITIALIZER, BUF_INIT };
	json_t *secrets = json_pack("{s:s}", "TOKEN", "hunter2");
	struct run_options options = { .secrets = secrets };
	json_t *result = run("on: push\n"
			     "jobs:\n"
			     "  a:\n"
			     "    runs-on: x\n"
			     "    steps:\n"
			     "      - run: echo \"token=${{ secrets.TOKEN }}\"\n"
			     "      - run: echo '::add-mask::later'; echo \"it is later now\"\n",
			     &options, &lines);
	assert_string_equal(json_string_value(json_object_get(result, "conclusion")), "success");
	assert_non_null(strstr(lines.text.data, "token=***"));
	assert_non_null(strstr(lines.text.data, "it is *** now"));
	assert_null(strstr(lines.text.data, "hunter2"));
	char *dump = json_dumps(result, 0);
	assert_null(strstr(dump, "hunter2"));
	free(dump);
	json_decref(result);
	json_decref(secrets);
	buf_free(&lines.text);
}

struct canceller {
	atomic_int *flag;
};

static void *cancel_soon(void *arg)
{
	struct canceller *c = arg;
	struct timespec pause = { 0, 300 * 1000 * 1000 };
	nanosleep(&pause, NULL);
	atomic_store(c->flag, 1);
	return NULL;
}

static void test_cancel_from_another_thread_stops_the_run(void **state)
{
	(void)state;
	atomic_int cancel = 0;
	struct canceller c = { &cancel };
	pthread_t thread;
	pthread_create(&thread, NULL, cancel_soon, &c);
	struct run_options options = { .cancel = &cancel };
	time_t start = time(NULL);
	json_t *result = run("on: push\n"
			     "jobs:\n"
			     "  slow:\n"
			     "    runs-on: x\n"
			     "    steps:\n"
			     "      - run: sleep 30\n"
			     "      - run: echo cleaned up\n"
			     "        if: always()\n"
			     "  after:\n"
			     "    needs: slow\n"
			     "    runs-on: x\n"
			     "    steps:\n"
			     "      - run: echo never\n",
			     &options, NULL);
	pthread_join(thread, NULL);
	assert_true(time(NULL) - start < 20);
	assert_string_equal(job_result(result, "slow"), "cancelled");
	const char *after = job_result(result, "after");
	assert_true(strcmp(after, "cancelled") == 0 || strcmp(after, "skipped") == 0);
	/* always() steps still run after a cancel, as on GitHub */
	const json_t *steps =
		json_object_get(json_array_get(json_object_get(result, "jobs"), 0), "steps");
	assert_string_equal(json_string_value(json_object_get(json_array_get(steps, 1), "outcome")),
			    "success");
	json_decref(result);
}

static void test_only_job_runs_it_and_its_needs(void **state)
{
	(void)state;
	struct run_options options = { .only_job = "b" };
	json_t *result = run("on: push\n"
			     "jobs:\n"
			     "  a:\n"
			     "    runs-on: x\n"
			     "    steps: [{run: 'true'}]\n"
			     "  b:\n"
			     "    needs: a\n"
			     "    runs-on: x\n"
			     "    steps: [{run: 'true'}]\n"
			     "  c:\n"
			     "    runs-on: x\n"
			     "    steps: [{run: 'true'}]\n",
			     &options, NULL);
	assert_int_equal(json_array_size(json_object_get(result, "jobs")), 2);
	assert_string_equal(job_result(result, "a"), "success");
	assert_string_equal(job_result(result, "b"), "success");
	assert_null(job_result(result, "c"));
	json_decref(result);
}

static void test_work_dir_is_kept_when_given(void **state)
{
	(void)state;
	char *work = temp_dir();
	struct run_options options = { .work_dir = work };
	json_t *result = run("on: push\n"
			     "jobs:\n"
			     "  a:\n"
			     "    runs-on: x\n"
			     "    steps:\n"
			     "      - run: echo kept > out.txt\n",
			     &options, NULL);
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/a/workspace/out.txt", work);
	assert_int_equal(access(path.data, F_OK), 0);
	buf_free(&path);
	json_decref(result);
	struct buf cleanup = BUF_INIT;
	buf_addf(&cleanup, "rm -rf '%s'", work);
	assert_int_equal(system(cleanup.data), 0);
	buf_free(&cleanup);
	free(work);
}

/*
 * actions/checkout copies the working tree as it is; with ref: it checks
 * out that commit of the repository instead (a tag, a branch, a sha).
 */
static void test_checkout_ref_checks_out_that_commit(void **state)
{
	(void)state;
	char *repo = temp_dir();
	struct buf setup = BUF_INIT;
	buf_addf(&setup,
		 "cd '%s' && git init -q -b main && echo one > version && git add version && "
		 "git -c user.name=t -c user.email=t@t commit -qm one && git tag v1 && "
		 "echo two > version && git -c user.name=t -c user.email=t@t commit -qam two && "
		 "echo three > version",
		 repo);
	assert_int_equal(system(setup.data), 0);
	struct lines lines = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct run_options options = { .repo_dir = repo };
	json_t *result = run("on: push\n"
			     "jobs:\n"
			     "  tree:\n"
			     "    runs-on: x\n"
			     "    steps:\n"
			     "      - uses: actions/checkout@v4\n"
			     "      - run: echo \"tree has $(cat version)\"\n"
			     "  tag:\n"
			     "    runs-on: x\n"
			     "    steps:\n"
			     "      - uses: actions/checkout@v4\n"
			     "        with: {ref: v1, path: sub}\n"
			     "      - run: echo \"tag has $(cat sub/version) at $(git -C sub "
			     "describe --tags)\"\n"
			     "  missing:\n"
			     "    runs-on: x\n"
			     "    steps:\n"
			     "      - uses: actions/checkout@v4\n"
			     "        with: {ref: no-such-branch}\n",
			     &options, &lines);
	const char *text = buf_cstr(&lines.text);
	if (!strstr(text, "tree has three") || !strstr(text, "tag has one at v1") ||
	    !strstr(text, "error: ref 'no-such-branch' is not a commit"))
		fail_msg("unexpected output:\n%s", text);
	assert_string_equal(job_result(result, "tree"), "success");
	assert_string_equal(job_result(result, "tag"), "success");
	assert_string_equal(job_result(result, "missing"), "failure");
	json_decref(result);
	buf_reset(&setup);
	buf_addf(&setup, "rm -rf '%s'", repo);
	assert_int_equal(system(setup.data), 0);
	buf_free(&setup);
	buf_free(&lines.text);
	free(repo);
}

static void test_sandbox_keeps_steps_inside_their_directories(void **state)
{
	(void)state;
	/* The probe lies outside /tmp: the sandbox's /tmp is private anyway. */
	char probe[] = "/var/tmp/ampel-sandbox-probe-XXXXXX";
	int fd = mkstemp(probe);
	assert_true(fd >= 0);
	close(fd);
	unlink(probe);
	struct buf yaml = BUF_INIT;
	buf_addf(&yaml,
		 "on: push\n"
		 "jobs:\n"
		 "  a:\n"
		 "    runs-on: x\n"
		 "    steps:\n"
		 "      - run: touch %s\n"
		 "        continue-on-error: true\n"
		 "      - run: echo fine > in-workspace.txt\n",
		 probe);
	struct run_options options = { .sandbox = true };
	json_t *result = run(yaml.data, &options, NULL);
	assert_int_not_equal(access(probe, F_OK), 0);
	const json_t *steps =
		json_object_get(json_array_get(json_object_get(result, "jobs"), 0), "steps");
	assert_string_equal(json_string_value(json_object_get(json_array_get(steps, 0), "outcome")),
			    "failure");
	assert_string_equal(json_string_value(json_object_get(json_array_get(steps, 1), "outcome")),
			    "success");
	unlink(probe);
	json_decref(result);
	buf_free(&yaml);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_are_masked_before_the_sink),
		cmocka_unit_test(test_cancel_from_another_thread_stops_the_run),
		cmocka_unit_test(test_only_job_runs_it_and_its_needs),
		cmocka_unit_test(test_work_dir_is_kept_when_given),
		cmocka_unit_test(test_checkout_ref_checks_out_that_commit),
		cmocka_unit_test(test_sandbox_keeps_steps_inside_their_directories),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
