/*
 * Tests for the GitHub workflow loader (workflow_load) and the local
 * action.yml loader, against the syntax GitHub documents: every key it
 * accepts loads, anything else is an error naming file:line:column.
 */
#include "pipeline/workflow.h"
#include "pipeline/workflow_load.h"
#include "util/buf.h"
#include "util/err.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static struct workflow *parse_ok(const char *text)
{
	struct err e = ERR_INIT;
	struct workflow *wf = NULL;
	if (workflow_parse(&wf, "ci.yml", text, strlen(text), &e) != 0)
		fail_msg("unexpected error: %s\ninput:\n%s", e.msg, text);
	assert_non_null(wf);
	assert_int_equal(wf->kind, WORKFLOW_GITHUB);
	assert_string_equal(wf->file, "ci.yml");
	return wf;
}

/* The message must start with expected (file:line:column: ...). */
static void parse_err(const char *text, const char *expected)
{
	struct err e = ERR_INIT;
	struct workflow *wf = (struct workflow *)1;
	if (workflow_parse(&wf, "ci.yml", text, strlen(text), &e) == 0)
		fail_msg("parsed without error, expected: %s\ninput:\n%s", expected, text);
	assert_null(wf);
	if (strncmp(e.msg, expected, strlen(expected)) != 0)
		fail_msg("message\n  %s\ndoes not start with\n  %s", e.msg, expected);
}

static void assert_contains(const char *haystack, const char *needle)
{
	if (!strstr(haystack, needle))
		fail_msg("'%s' does not contain '%s'", haystack, needle);
}

static struct workflow_job *job(const struct workflow *wf, const char *id)
{
	struct workflow_job *j = workflow_find_job(wf, id);
	if (!j)
		fail_msg("no job '%s'", id);
	return j;
}

static const char *object_text(const json_t *obj, const char *key)
{
	const json_t *value = json_object_get(obj, key);
	if (!json_is_string(value))
		fail_msg("'%s' is not a string", key);
	return json_string_value(value);
}

/* The smallest valid job, appended to headers that test the rest. */
#define ONE_JOB            \
	"jobs:\n"          \
	"  build:\n"       \
	"    runs-on: x\n" \
	"    steps:\n"     \
	"      - run: make\n"

static void test_every_documented_key(void **state)
{
	(void)state;
	struct workflow *wf = parse_ok("name: CI\n"
				       "run-name: Deploy by @${{ github.actor }}\n"
				       "on:\n"
				       "  push:\n"
				       "    branches: [main]\n"
				       "permissions: read-all\n"
				       "env:\n"
				       "  GLOBAL: yes\n"
				       "defaults:\n"
				       "  run:\n"
				       "    shell: bash\n"
				       "    working-directory: ./scripts\n"
				       "concurrency:\n"
				       "  group: ${{ github.ref }}\n"
				       "  cancel-in-progress: true\n"
				       "jobs:\n"
				       "  setup:\n"
				       "    runs-on: ubuntu-latest\n"
				       "    steps:\n"
				       "      - run: echo hi\n"
				       "  build:\n"
				       "    name: Build ${{ matrix.os }}\n"
				       "    permissions:\n"
				       "      contents: read\n"
				       "    needs: setup\n"
				       "    if: github.event_name == 'push'\n"
				       "    runs-on: ${{ matrix.os }}\n"
				       "    snapshot: my-image\n"
				       "    environment:\n"
				       "      name: production\n"
				       "      url: https://example.com\n"
				       "    concurrency: build-${{ github.ref }}\n"
				       "    outputs:\n"
				       "      version: ${{ steps.v.outputs.version }}\n"
				       "    env:\n"
				       "      JOB: 1\n"
				       "    defaults:\n"
				       "      run:\n"
				       "        shell: sh\n"
				       "    timeout-minutes: 30\n"
				       "    strategy:\n"
				       "      fail-fast: false\n"
				       "      max-parallel: 2\n"
				       "      matrix:\n"
				       "        os: [ubuntu-latest, macos-latest]\n"
				       "    continue-on-error: ${{ matrix.experimental }}\n"
				       "    container:\n"
				       "      image: node:20\n"
				       "      env:\n"
				       "        NODE_ENV: development\n"
				       "      ports: [80]\n"
				       "      volumes: [my_docker_volume:/volume_mount]\n"
				       "      options: --cpus 1\n"
				       "    services:\n"
				       "      redis:\n"
				       "        image: redis\n"
				       "        ports: ['6379:6379']\n"
				       "    steps:\n"
				       "      - id: v\n"
				       "        name: Version\n"
				       "        if: ${{ success() }}\n"
				       "        run: echo version=1 >> $GITHUB_OUTPUT\n"
				       "        shell: bash\n"
				       "        working-directory: ./app\n"
				       "        env:\n"
				       "          STEP: x\n"
				       "        continue-on-error: true\n"
				       "        timeout-minutes: 5\n"
				       "      - uses: actions/setup-node@v4\n"
				       "        with:\n"
				       "          node-version: 20\n"
				       "          args: --flag\n"
				       "          entrypoint: /bin/sh\n");
	assert_string_equal(wf->name, "CI");
	assert_int_equal(wf->triggers_count, 1);
	assert_string_equal(wf->triggers[0].event, "push");
	assert_string_equal(object_text(wf->env, "GLOBAL"), "yes");
	assert_string_equal(object_text(wf->defaults_run, "shell"), "bash");
	assert_string_equal(object_text(wf->defaults_run, "working-directory"), "./scripts");
	assert_int_equal(wf->jobs_count, 2);
	assert_string_equal(wf->jobs[0]->id, "setup");
	assert_string_equal(wf->jobs[1]->id, "build");

	struct workflow_job *b = job(wf, "build");
	assert_int_equal(b->line, 21);
	assert_string_equal(b->name, "Build ${{ matrix.os }}");
	assert_int_equal(b->needs_count, 1);
	assert_string_equal(b->needs[0], "setup");
	assert_string_equal(b->condition, "github.event_name == 'push'");
	assert_string_equal(json_string_value(b->runs_on), "${{ matrix.os }}");
	assert_string_equal(b->environment, "production");
	assert_string_equal(object_text(b->outputs, "version"), "${{ steps.v.outputs.version }}");
	assert_string_equal(object_text(b->env, "JOB"), "1");
	assert_string_equal(object_text(b->defaults_run, "shell"), "sh");
	assert_string_equal(b->timeout_minutes, "30");
	assert_string_equal(b->fail_fast, "false");
	assert_string_equal(b->max_parallel, "2");
	assert_true(json_is_object(b->matrix));
	assert_int_equal(json_array_size(json_object_get(b->matrix, "os")), 2);
	assert_string_equal(b->continue_on_error, "${{ matrix.experimental }}");
	assert_string_equal(json_string_value(json_object_get(b->container, "image")), "node:20");
	assert_non_null(json_object_get(b->services, "redis"));
	assert_null(b->uses);
	assert_int_equal(b->steps_count, 2);

	const struct workflow_step *s = b->steps[0];
	assert_int_equal(s->line, 59);
	assert_string_equal(s->id, "v");
	assert_string_equal(s->name, "Version");
	assert_string_equal(s->condition, "${{ success() }}");
	assert_string_equal(s->run, "echo version=1 >> $GITHUB_OUTPUT");
	assert_null(s->uses);
	assert_string_equal(s->shell, "bash");
	assert_string_equal(s->working_directory, "./app");
	assert_string_equal(object_text(s->env, "STEP"), "x");
	assert_string_equal(s->continue_on_error, "true");
	assert_string_equal(s->timeout_minutes, "5");

	s = b->steps[1];
	assert_null(s->id);
	assert_null(s->run);
	assert_string_equal(s->uses, "actions/setup-node@v4");
	assert_string_equal(object_text(s->with, "node-version"), "20");
	assert_string_equal(object_text(s->with, "args"), "--flag");
	assert_string_equal(object_text(s->with, "entrypoint"), "/bin/sh");
	workflow_free(wf);
}

static void test_on_string_list_map(void **state)
{
	(void)state;
	struct workflow *wf = parse_ok("on: push\n" ONE_JOB);
	assert_int_equal(wf->triggers_count, 1);
	assert_string_equal(wf->triggers[0].event, "push");
	assert_null(wf->triggers[0].filters);
	assert_null(workflow_find_trigger(wf, "pull_request"));
	workflow_free(wf);

	wf = parse_ok("on: [push, fork]\n" ONE_JOB);
	assert_int_equal(wf->triggers_count, 2);
	assert_string_equal(wf->triggers[0].event, "push");
	assert_string_equal(wf->triggers[1].event, "fork");
	workflow_free(wf);

	wf = parse_ok("on:\n"
		      "  push:\n"
		      "    branches: [main, 'releases/**']\n"
		      "    tags: [v*]\n"
		      "  pull_request:\n"
		      "    types: [opened, reopened]\n"
		      "  workflow_dispatch:\n"
		      "  schedule:\n"
		      "    - cron: '30 5 * * 1,3'\n"
		      "  label:\n"
		      "    types:\n"
		      "      - created\n" ONE_JOB);
	assert_int_equal(wf->triggers_count, 5);
	const struct workflow_trigger *push = workflow_find_trigger(wf, "push");
	assert_non_null(push);
	assert_true(json_is_object(push->filters));
	assert_int_equal(json_array_size(json_object_get(push->filters, "branches")), 2);
	assert_string_equal(
		json_string_value(json_array_get(json_object_get(push->filters, "tags"), 0)), "v*");
	assert_null(workflow_find_trigger(wf, "workflow_dispatch")->filters);
	const struct workflow_trigger *schedule = workflow_find_trigger(wf, "schedule");
	assert_true(json_is_array(schedule->filters));
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(schedule->filters, 0), "cron")),
		"30 5 * * 1,3");
	assert_non_null(workflow_find_trigger(wf, "label"));
	workflow_free(wf);
}

static void test_on_errors(void **state)
{
	(void)state;
	parse_err(ONE_JOB, "ci.yml:1:1: the workflow has no 'on'");
	parse_err("on:\n"
		  "  push: [main]\n" ONE_JOB,
		  "ci.yml:2:9: on.push must be a mapping of filters");
	parse_err("on: [push, [pull_request]]\n" ONE_JOB,
		  "ci.yml:1:12: on: expected an event name");
	/* A misspelt event would silently never run. */
	parse_err("on: pusj\n" ONE_JOB, "ci.yml:1:5: unknown event 'pusj'");
	parse_err("on: [push, pull-request]\n" ONE_JOB,
		  "ci.yml:1:12: unknown event 'pull-request'");
	parse_err("on:\n"
		  "  push:\n"
		  "    branch: [main]\n" ONE_JOB,
		  "ci.yml:3:5: unknown key 'branch' in on.push");
	parse_err("on:\n"
		  "  push:\n"
		  "    branches: [main]\n"
		  "    branches-ignore: [dev]\n" ONE_JOB,
		  "ci.yml:4:5: on.push cannot have both 'branches' and 'branches-ignore'");
	parse_err("on:\n"
		  "  pull_request:\n"
		  "    paths: [src/**]\n"
		  "    paths-ignore: [docs/**]\n" ONE_JOB,
		  "ci.yml:4:5: on.pull_request cannot have both 'paths' and 'paths-ignore'");
}

static void test_unknown_keys(void **state)
{
	(void)state;
	parse_err("on: push\n"
		  "job:\n"
		  "  a: 1\n",
		  "ci.yml:2:1: unknown key 'job' in the workflow");
	parse_err("on: push\n"
		  "jobs:\n"
		  "  build:\n"
		  "    runs-on: x\n"
		  "    need: other\n"
		  "    steps:\n"
		  "      - run: make\n",
		  "ci.yml:5:5: unknown key 'need' in a job");
	parse_err("on: push\n"
		  "jobs:\n"
		  "  build:\n"
		  "    runs-on: x\n"
		  "    steps:\n"
		  "      - run: make\n"
		  "        working_directory: src\n",
		  "ci.yml:7:9: unknown key 'working_directory' in a step");
	parse_err("on: push\n"
		  "jobs:\n"
		  "  build:\n"
		  "    runs-on: x\n"
		  "    strategy:\n"
		  "      fail_fast: false\n"
		  "    steps:\n"
		  "      - run: make\n",
		  "ci.yml:6:7: unknown key 'fail_fast' in strategy");
	parse_err("on: push\n"
		  "defaults:\n"
		  "  shell: bash\n" ONE_JOB,
		  "ci.yml:3:3: unknown key 'shell' in defaults");
	parse_err("on: push\n"
		  "defaults:\n"
		  "  run:\n"
		  "    shel: bash\n" ONE_JOB,
		  "ci.yml:4:5: unknown key 'shel' in defaults.run");
}

static void test_structure_errors(void **state)
{
	(void)state;
	parse_err("", "ci.yml: the workflow is empty");
	parse_err("- on\n", "ci.yml:1:1: a workflow must be a mapping");
	parse_err("on: push\n", "ci.yml:1:1: the workflow needs a mapping of jobs");
	parse_err("on: push\njobs: []\n", "ci.yml:2:7: the workflow needs a mapping of jobs");
	parse_err("on: push\njobs: {}\n", "ci.yml:2:7: the workflow needs a mapping of jobs");
	parse_err("on: push\n"
		  "jobs:\n"
		  "  build:\n"
		  "    steps:\n"
		  "      - run: make\n",
		  "ci.yml:3:3: job 'build' has no 'runs-on'");
	parse_err("on: push\n"
		  "jobs:\n"
		  "  build:\n"
		  "    runs-on: x\n",
		  "ci.yml:3:3: job 'build' needs a non-empty list of steps");
	parse_err("on: push\n"
		  "jobs:\n"
		  "  build:\n"
		  "    runs-on: x\n"
		  "    steps: []\n",
		  "ci.yml:5:12: job 'build' needs a non-empty list of steps");
	parse_err("on: push\n"
		  "jobs:\n"
		  "  build: yes\n",
		  "ci.yml:3:10: a job must be a mapping");
	parse_err("on: push\n"
		  "jobs:\n"
		  "  build:\n"
		  "    runs-on: x\n"
		  "    steps:\n"
		  "      - make\n",
		  "ci.yml:6:9: a step must be a mapping");
	parse_err("on: push\n"
		  "name: [a]\n" ONE_JOB,
		  "ci.yml:2:7: name must be a string");
	/* YAML errors and duplicate keys keep their positions. */
	parse_err("on: push\n"
		  "jobs:\n"
		  "  a:\n"
		  "    runs-on: x\n"
		  "    steps: [{run: a}]\n"
		  "  a:\n"
		  "    runs-on: x\n"
		  "    steps: [{run: b}]\n",
		  "ci.yml:6:3:");
	parse_err("on: push\njobs: [\n", "ci.yml:");
	/* Keys that are not scalars are errors, not crashes. */
	parse_err("on: push\n"
		  "jobs:\n"
		  "  ? [a]\n"
		  "  : {runs-on: x, steps: [{run: a}]}\n",
		  "ci.yml:3:5: a job id must be a string");
	parse_err("on:\n"
		  "  ? {push: 1}\n"
		  "  : {}\n" ONE_JOB,
		  "ci.yml:2:5: on: expected an event name");
	parse_err("on: push\n"
		  "env:\n"
		  "  ? [A]\n"
		  "  : b\n" ONE_JOB,
		  "ci.yml:3:5: env: names must be strings");
}

static void test_job_ids(void **state)
{
	(void)state;
	struct workflow *wf = parse_ok("on: push\n"
				       "jobs:\n"
				       "  _private:\n"
				       "    runs-on: x\n"
				       "    steps: [{run: a}]\n"
				       "  build-2_x:\n"
				       "    runs-on: x\n"
				       "    steps: [{run: a}]\n");
	assert_non_null(job(wf, "_private"));
	assert_non_null(job(wf, "build-2_x"));
	workflow_free(wf);
	parse_err("on: push\n"
		  "jobs:\n"
		  "  2build:\n"
		  "    runs-on: x\n"
		  "    steps: [{run: a}]\n",
		  "ci.yml:3:3: job id '2build' must start with a letter or '_'");
	parse_err("on: push\n"
		  "jobs:\n"
		  "  build.linux:\n"
		  "    runs-on: x\n"
		  "    steps: [{run: a}]\n",
		  "ci.yml:3:3: job id 'build.linux'");
}

static void test_needs(void **state)
{
	(void)state;
	struct workflow *wf = parse_ok("on: push\n"
				       "jobs:\n"
				       "  job1:\n"
				       "    runs-on: x\n"
				       "    steps: [{run: a}]\n"
				       "  job2:\n"
				       "    needs: job1\n"
				       "    runs-on: x\n"
				       "    steps: [{run: a}]\n"
				       "  job3:\n"
				       "    needs: [job1, job2]\n"
				       "    runs-on: x\n"
				       "    steps: [{run: a}]\n");
	assert_int_equal(job(wf, "job1")->needs_count, 0);
	assert_int_equal(job(wf, "job2")->needs_count, 1);
	assert_string_equal(job(wf, "job2")->needs[0], "job1");
	assert_int_equal(job(wf, "job3")->needs_count, 2);
	assert_string_equal(job(wf, "job3")->needs[1], "job2");
	workflow_free(wf);

	/* A job may need one defined later in the file. */
	wf = parse_ok("on: push\n"
		      "jobs:\n"
		      "  deploy:\n"
		      "    needs: [build]\n"
		      "    runs-on: x\n"
		      "    steps: [{run: a}]\n"
		      "  build:\n"
		      "    runs-on: x\n"
		      "    steps: [{run: a}]\n");
	workflow_free(wf);

	parse_err("on: push\n"
		  "jobs:\n"
		  "  a:\n"
		  "    runs-on: x\n"
		  "    steps: [{run: a}]\n"
		  "  b:\n"
		  "    needs: [a, buld]\n"
		  "    runs-on: x\n"
		  "    steps: [{run: a}]\n",
		  "ci.yml:6: job 'b' needs 'buld', which does not exist");
	parse_err("on: push\n"
		  "jobs:\n"
		  "  a:\n"
		  "    needs: {b: 1}\n"
		  "    runs-on: x\n"
		  "    steps: [{run: a}]\n",
		  "ci.yml:4:12: needs must be a job id or a list of them");
	parse_err("on: push\n"
		  "jobs:\n"
		  "  a:\n"
		  "    needs: [[b]]\n"
		  "    runs-on: x\n"
		  "    steps: [{run: a}]\n",
		  "ci.yml:4:13: needs: expected a job id");
}

static void test_needs_cycles(void **state)
{
	(void)state;
	parse_err("on: push\n"
		  "jobs:\n"
		  "  a:\n"
		  "    needs: a\n"
		  "    runs-on: x\n"
		  "    steps: [{run: a}]\n",
		  "ci.yml:3: jobs 'a' and 'a' need each other");
	parse_err("on: push\n"
		  "jobs:\n"
		  "  a:\n"
		  "    needs: b\n"
		  "    runs-on: x\n"
		  "    steps: [{run: a}]\n"
		  "  b:\n"
		  "    needs: a\n"
		  "    runs-on: x\n"
		  "    steps: [{run: a}]\n",
		  "ci.yml:7: jobs 'b' and 'a' need each other");
	/* A longer cycle behind an innocent job. */
	struct err e = ERR_INIT;
	struct workflow *wf = NULL;
	const char *text = "on: push\n"
			   "jobs:\n"
			   "  start:\n"
			   "    runs-on: x\n"
			   "    steps: [{run: a}]\n"
			   "  a:\n"
			   "    needs: [start, c]\n"
			   "    runs-on: x\n"
			   "    steps: [{run: a}]\n"
			   "  b:\n"
			   "    needs: a\n"
			   "    runs-on: x\n"
			   "    steps: [{run: a}]\n"
			   "  c:\n"
			   "    needs: b\n"
			   "    runs-on: x\n"
			   "    steps: [{run: a}]\n";
	assert_int_equal(workflow_parse(&wf, "ci.yml", text, strlen(text), &e), -1);
	assert_null(wf);
	assert_contains(e.msg, "ci.yml:");
	assert_contains(e.msg, "cycle");
	/* A diamond is not a cycle. */
	wf = parse_ok("on: push\n"
		      "jobs:\n"
		      "  a:\n"
		      "    runs-on: x\n"
		      "    steps: [{run: a}]\n"
		      "  b:\n"
		      "    needs: a\n"
		      "    runs-on: x\n"
		      "    steps: [{run: a}]\n"
		      "  c:\n"
		      "    needs: a\n"
		      "    runs-on: x\n"
		      "    steps: [{run: a}]\n"
		      "  d:\n"
		      "    needs: [b, c]\n"
		      "    runs-on: x\n"
		      "    steps: [{run: a}]\n");
	workflow_free(wf);
}

static void test_run_uses_exclusive(void **state)
{
	(void)state;
	parse_err("on: push\n"
		  "jobs:\n"
		  "  a:\n"
		  "    runs-on: x\n"
		  "    steps:\n"
		  "      - run: make\n"
		  "        uses: actions/checkout@v4\n",
		  "ci.yml:6:9: a step needs exactly one of 'run' and 'uses'");
	parse_err("on: push\n"
		  "jobs:\n"
		  "  a:\n"
		  "    runs-on: x\n"
		  "    steps:\n"
		  "      - name: nothing\n",
		  "ci.yml:6:9: a step needs exactly one of 'run' and 'uses'");
	parse_err("on: push\n"
		  "jobs:\n"
		  "  a:\n"
		  "    runs-on: x\n"
		  "    steps:\n"
		  "      - run: [make]\n",
		  "ci.yml:6:14: run must be a string");
	/* A block scalar keeps its lines. */
	struct workflow *wf = parse_ok("on: push\n"
				       "jobs:\n"
				       "  a:\n"
				       "    runs-on: x\n"
				       "    steps:\n"
				       "      - run: |\n"
				       "          make\n"
				       "          make test\n");
	assert_string_equal(wf->jobs[0]->steps[0]->run, "make\nmake test\n");
	workflow_free(wf);
}

static void test_step_ids(void **state)
{
	(void)state;
	struct workflow *wf = parse_ok("on: push\n"
				       "jobs:\n"
				       "  a:\n"
				       "    runs-on: x\n"
				       "    steps:\n"
				       "      - id: _first-1\n"
				       "        run: a\n"
				       "      - id: second\n"
				       "        run: b\n"
				       "  b:\n"
				       "    runs-on: x\n"
				       "    steps:\n"
				       "      - id: second\n"
				       "        run: b\n");
	assert_string_equal(job(wf, "a")->steps[0]->id, "_first-1");
	/* The same id in another job is fine. */
	assert_string_equal(job(wf, "b")->steps[0]->id, "second");
	workflow_free(wf);

	parse_err("on: push\n"
		  "jobs:\n"
		  "  a:\n"
		  "    runs-on: x\n"
		  "    steps:\n"
		  "      - id: build\n"
		  "        run: a\n"
		  "      - id: build\n"
		  "        run: b\n",
		  "ci.yml:8:13: step id 'build' is used twice in job 'a'");
	parse_err("on: push\n"
		  "jobs:\n"
		  "  a:\n"
		  "    runs-on: x\n"
		  "    steps:\n"
		  "      - id: 1st\n"
		  "        run: a\n",
		  "ci.yml:6:13: step id '1st' must start with a letter or '_'");
	parse_err("on: push\n"
		  "jobs:\n"
		  "  a:\n"
		  "    runs-on: x\n"
		  "    steps:\n"
		  "      - id: my step\n"
		  "        run: a\n",
		  "ci.yml:6:13: step id 'my step'");
	parse_err("on: push\n"
		  "jobs:\n"
		  "  a:\n"
		  "    runs-on: x\n"
		  "    steps:\n"
		  "      - id: ''\n"
		  "        run: a\n",
		  "ci.yml:6:13: step id ''");
}

static void test_reusable_workflow_jobs(void **state)
{
	(void)state;
	struct workflow *wf =
		parse_ok("on: push\n"
			 "jobs:\n"
			 "  local:\n"
			 "    uses: ./.github/workflows/called.yml\n"
			 "    with:\n"
			 "      config-path: .github/labeler.yml\n"
			 "      debug: true\n"
			 "      retries: 3\n"
			 "    secrets: inherit\n"
			 "  remote:\n"
			 "    needs: local\n"
			 "    if: always()\n"
			 "    permissions: {}\n"
			 "    concurrency: remote\n"
			 "    strategy:\n"
			 "      matrix:\n"
			 "        target: [dev, stage]\n"
			 "    uses: octo-org/repo/.github/workflows/w.yml@main\n"
			 "    secrets:\n"
			 "      access-token: ${{ secrets.PERSONAL_ACCESS_TOKEN }}\n");
	struct workflow_job *local = job(wf, "local");
	assert_string_equal(local->uses, "./.github/workflows/called.yml");
	assert_null(local->runs_on);
	assert_int_equal(local->steps_count, 0);
	assert_string_equal(object_text(local->with, "config-path"), ".github/labeler.yml");
	assert_string_equal(object_text(local->with, "debug"), "true");
	assert_string_equal(object_text(local->with, "retries"), "3");
	assert_true(json_is_string(local->secrets));
	assert_string_equal(json_string_value(local->secrets), "inherit");
	struct workflow_job *remote = job(wf, "remote");
	assert_string_equal(remote->uses, "octo-org/repo/.github/workflows/w.yml@main");
	assert_string_equal(object_text(remote->secrets, "access-token"),
			    "${{ secrets.PERSONAL_ACCESS_TOKEN }}");
	assert_null(remote->with);
	assert_string_equal(remote->needs[0], "local");
	workflow_free(wf);

	parse_err("on: push\n"
		  "jobs:\n"
		  "  call:\n"
		  "    uses: ./.github/workflows/called.yml\n"
		  "    steps:\n"
		  "      - run: a\n",
		  "ci.yml:5:5: job 'call' calls a reusable workflow and cannot have 'steps'");
	parse_err("on: push\n"
		  "jobs:\n"
		  "  call:\n"
		  "    runs-on: ubuntu-latest\n"
		  "    uses: ./.github/workflows/called.yml\n",
		  "ci.yml:4:5: job 'call' calls a reusable workflow and cannot have 'runs-on'");
	parse_err(
		"on: push\n"
		"jobs:\n"
		"  build:\n"
		"    runs-on: x\n"
		"    with:\n"
		"      a: b\n"
		"    steps: [{run: a}]\n",
		"ci.yml:4:5: job 'build': 'with' and 'secrets' belong to reusable workflow calls");
	parse_err("on: push\n"
		  "jobs:\n"
		  "  build:\n"
		  "    runs-on: x\n"
		  "    secrets: inherit\n"
		  "    steps: [{run: a}]\n",
		  "ci.yml:4:5: job 'build': 'with' and 'secrets'");
	parse_err("on: push\n"
		  "jobs:\n"
		  "  call:\n"
		  "    uses: ./w.yml\n"
		  "    secrets: everything\n",
		  "ci.yml:5:14: secrets must be a mapping");
}

static void test_env_values_are_strings(void **state)
{
	(void)state;
	struct workflow *wf = parse_ok("on: push\n"
				       "env:\n"
				       "  PORT: 3000\n"
				       "  DEBUG: true\n"
				       "  RATIO: 1.10\n"
				       "  OCTAL: 0o17\n"
				       "  EMPTY:\n"
				       "  TILDE: ~\n"
				       "  QUOTED: '3000'\n"
				       "  EXPR: ${{ github.sha }}\n"
				       "jobs:\n"
				       "  a:\n"
				       "    runs-on: x\n"
				       "    env: ${{ fromJSON(needs.setup.outputs.env) }}\n"
				       "    steps:\n"
				       "      - run: a\n"
				       "        env: {}\n");
	assert_string_equal(object_text(wf->env, "PORT"), "3000");
	assert_string_equal(object_text(wf->env, "DEBUG"), "true");
	assert_string_equal(object_text(wf->env, "RATIO"), "1.10");
	assert_string_equal(object_text(wf->env, "OCTAL"), "0o17");
	assert_string_equal(object_text(wf->env, "EMPTY"), "");
	assert_string_equal(object_text(wf->env, "TILDE"), "");
	assert_string_equal(object_text(wf->env, "QUOTED"), "3000");
	assert_string_equal(object_text(wf->env, "EXPR"), "${{ github.sha }}");
	/* An expression yielding a mapping stays an expression. */
	assert_true(json_is_string(wf->jobs[0]->env));
	assert_string_equal(json_string_value(wf->jobs[0]->env),
			    "${{ fromJSON(needs.setup.outputs.env) }}");
	assert_true(json_is_object(wf->jobs[0]->steps[0]->env));
	assert_int_equal(json_object_size(wf->jobs[0]->steps[0]->env), 0);
	workflow_free(wf);

	parse_err("on: push\n"
		  "env:\n"
		  "  LIST: [a, b]\n" ONE_JOB,
		  "ci.yml:3:9: env 'LIST' must be a string");
	parse_err("on: push\n"
		  "env: hello\n" ONE_JOB,
		  "ci.yml:2:6: env must be a mapping");
	parse_err("on: push\n"
		  "jobs:\n"
		  "  a:\n"
		  "    runs-on: x\n"
		  "    steps:\n"
		  "      - uses: a/b@v1\n"
		  "        with:\n"
		  "          opts: {x: 1}\n",
		  "ci.yml:8:17: with 'opts' must be a string");
}

static void test_runs_on_forms(void **state)
{
	(void)state;
	struct workflow *wf = parse_ok("on: push\n"
				       "jobs:\n"
				       "  a:\n"
				       "    runs-on: [self-hosted, linux, x64]\n"
				       "    steps: [{run: a}]\n"
				       "  b:\n"
				       "    runs-on:\n"
				       "      group: ubuntu-runners\n"
				       "      labels: ubuntu-20.04-16core\n"
				       "    environment: staging\n"
				       "    steps: [{run: a}]\n");
	assert_true(json_is_array(job(wf, "a")->runs_on));
	assert_int_equal(json_array_size(job(wf, "a")->runs_on), 3);
	assert_true(json_is_object(job(wf, "b")->runs_on));
	assert_string_equal(json_string_value(json_object_get(job(wf, "b")->runs_on, "group")),
			    "ubuntu-runners");
	assert_string_equal(job(wf, "b")->environment, "staging");
	workflow_free(wf);
}

static void test_strategy_forms(void **state)
{
	(void)state;
	struct workflow *wf = parse_ok("on: push\n"
				       "jobs:\n"
				       "  a:\n"
				       "    runs-on: x\n"
				       "    strategy:\n"
				       "      matrix: ${{ fromJSON(needs.setup.outputs.matrix) }}\n"
				       "      fail-fast: ${{ github.ref == 'refs/heads/main' }}\n"
				       "    steps: [{run: a}]\n");
	assert_true(json_is_string(wf->jobs[0]->matrix));
	assert_string_equal(wf->jobs[0]->fail_fast, "${{ github.ref == 'refs/heads/main' }}");
	workflow_free(wf);

	/* Matrix values keep their YAML types (numbers stay numbers). */
	wf = parse_ok("on: push\n"
		      "jobs:\n"
		      "  a:\n"
		      "    runs-on: x\n"
		      "    strategy:\n"
		      "      matrix:\n"
		      "        version: [10, 12]\n"
		      "        include:\n"
		      "          - version: 12\n"
		      "            npm: 6\n"
		      "    steps: [{run: a}]\n");
	const json_t *version = json_object_get(wf->jobs[0]->matrix, "version");
	assert_true(json_is_integer(json_array_get(version, 0)));
	assert_true(json_is_array(json_object_get(wf->jobs[0]->matrix, "include")));
	workflow_free(wf);

	parse_err("on: push\n"
		  "jobs:\n"
		  "  a:\n"
		  "    runs-on: x\n"
		  "    strategy:\n"
		  "      matrix: [a, b]\n"
		  "    steps: [{run: a}]\n",
		  "ci.yml:6:15: strategy.matrix must be a mapping or an expression");
	parse_err("on: push\n"
		  "jobs:\n"
		  "  a:\n"
		  "    runs-on: x\n"
		  "    strategy: fast\n"
		  "    steps: [{run: a}]\n",
		  "ci.yml:5:15: strategy must be a mapping");
}

static char *make_temp_dir(void)
{
	char *dir = strdup("/tmp/ampel-test-workflow-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/%s", dir, name);
	FILE *f = fopen(path.data, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	buf_free(&path);
}

static void remove_file(const char *dir, const char *name)
{
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/%s", dir, name);
	unlink(path.data);
	buf_free(&path);
}

static void test_load_file(void **state)
{
	(void)state;
	char *dir = make_temp_dir();
	write_file(dir, "ci.yml", "on: push\n" ONE_JOB);
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/ci.yml", dir);
	struct err e = ERR_INIT;
	struct workflow *wf = NULL;
	assert_int_equal(workflow_load(&wf, path.data, &e), 0);
	assert_string_equal(wf->file, path.data);
	assert_int_equal(wf->jobs_count, 1);
	workflow_free(wf);

	write_file(dir, "ci.yml",
		   "on: push\n"
		   "jobs:\n"
		   "  a:\n"
		   "    runs-on: x\n");
	assert_int_equal(workflow_load(&wf, path.data, &e), -1);
	assert_null(wf);
	assert_contains(e.msg, path.data);
	assert_contains(e.msg, ":3:3: job 'a' needs a non-empty list of steps");

	remove_file(dir, "ci.yml");
	err_clear(&e);
	assert_int_equal(workflow_load(&wf, path.data, &e), -1);
	assert_null(wf);
	assert_true(err_is_set(&e));
	buf_free(&path);
	rmdir(dir);
	free(dir);
}

/* Loads DIR/action.yml written from text, expecting success. */
static struct workflow_action *action_ok(const char *dir, const char *text)
{
	write_file(dir, "action.yml", text);
	struct err e = ERR_INIT;
	struct workflow_action *action = NULL;
	if (workflow_action_load(&action, dir, &e) != 0)
		fail_msg("unexpected error: %s\ninput:\n%s", e.msg, text);
	assert_non_null(action);
	remove_file(dir, "action.yml");
	return action;
}

/* The message must contain "action.yml:" followed by expected. */
static void action_err(const char *dir, const char *text, const char *expected)
{
	write_file(dir, "action.yml", text);
	struct err e = ERR_INIT;
	struct workflow_action *action = (struct workflow_action *)1;
	if (workflow_action_load(&action, dir, &e) == 0)
		fail_msg("loaded without error, expected: %s\ninput:\n%s", expected, text);
	assert_null(action);
	struct buf want = BUF_INIT;
	buf_addf(&want, "%s/action.yml:%s", dir, expected);
	if (strncmp(e.msg, want.data, want.len) != 0)
		fail_msg("message\n  %s\ndoes not start with\n  %s", e.msg, want.data);
	buf_free(&want);
	remove_file(dir, "action.yml");
}

static void test_action_composite(void **state)
{
	(void)state;
	char *dir = make_temp_dir();
	struct workflow_action *action = action_ok(
		dir, "name: Hello\n"
		     "description: Greet someone\n"
		     "author: octocat\n"
		     "branding:\n"
		     "  icon: award\n"
		     "  color: green\n"
		     "inputs:\n"
		     "  who-to-greet:\n"
		     "    description: Who to greet\n"
		     "    required: true\n"
		     "    default: World\n"
		     "outputs:\n"
		     "  random-number:\n"
		     "    description: Random number\n"
		     "    value: ${{ steps.random-number-generator.outputs.random-number }}\n"
		     "runs:\n"
		     "  using: composite\n"
		     "  steps:\n"
		     "    - name: Set Greeting\n"
		     "      run: echo \"Hello $INPUT_WHO_TO_GREET.\"\n"
		     "      shell: bash\n"
		     "      env:\n"
		     "        INPUT_WHO_TO_GREET: ${{ inputs.who-to-greet }}\n"
		     "    - id: random-number-generator\n"
		     "      run: echo \"random-number=$RANDOM\" >> $GITHUB_OUTPUT\n"
		     "      shell: bash\n"
		     "      working-directory: ${{ github.action_path }}\n"
		     "    - uses: actions/checkout@v4\n"
		     "      with:\n"
		     "        fetch-depth: 0\n");
	assert_string_equal(action->name, "Hello");
	assert_string_equal(action->dir, dir);
	assert_contains(action->file, "/action.yml");
	assert_string_equal(action->using, "composite");
	assert_non_null(action->composite);
	assert_int_equal(action->composite->steps_count, 3);
	assert_string_equal(action->composite->steps[0]->shell, "bash");
	assert_string_equal(action->composite->steps[1]->id, "random-number-generator");
	assert_string_equal(action->composite->steps[2]->uses, "actions/checkout@v4");
	assert_string_equal(object_text(action->composite->steps[2]->with, "fetch-depth"), "0");
	const json_t *input = json_object_get(action->inputs, "who-to-greet");
	assert_string_equal(json_string_value(json_object_get(input, "default")), "World");
	assert_true(json_is_true(json_object_get(input, "required")));
	assert_non_null(
		json_object_get(json_object_get(action->outputs, "random-number"), "value"));
	workflow_action_free(action);

	action_err(dir,
		   "name: x\n"
		   "runs:\n"
		   "  using: composite\n"
		   "  steps:\n"
		   "    - run: echo hi\n"
		   "      shell: bash\n"
		   "    - run: echo no shell\n",
		   "7:7: a run step of a composite action needs 'shell'");
	action_err(dir,
		   "runs:\n"
		   "  using: composite\n",
		   "2:3: a composite action needs a list of runs.steps");
	action_err(dir,
		   "runs:\n"
		   "  using: composite\n"
		   "  steps:\n"
		   "    - shell: bash\n",
		   "4:7: a step needs exactly one of 'run' and 'uses'");
	action_err(dir,
		   "runs:\n"
		   "  using: composite\n"
		   "  steps:\n"
		   "    - uses: a/b@v1\n"
		   "      timeout: 5\n",
		   "5:7: unknown key 'timeout' in a step");
	rmdir(dir);
	free(dir);
}

static void test_action_node_and_docker(void **state)
{
	(void)state;
	char *dir = make_temp_dir();
	struct workflow_action *action = action_ok(dir, "name: Node\n"
							"runs:\n"
							"  using: node20\n"
							"  main: dist/index.js\n"
							"  pre: dist/setup.js\n"
							"  pre-if: runner.os == 'linux'\n"
							"  post: dist/cleanup.js\n"
							"  post-if: success()\n");
	assert_string_equal(action->using, "node20");
	assert_string_equal(action->main, "dist/index.js");
	assert_string_equal(action->pre, "dist/setup.js");
	assert_string_equal(action->pre_if, "runner.os == 'linux'");
	assert_string_equal(action->post, "dist/cleanup.js");
	assert_string_equal(action->post_if, "success()");
	assert_null(action->composite);
	assert_true(json_is_object(action->inputs));
	assert_true(json_is_object(action->outputs));
	workflow_action_free(action);

	action = action_ok(dir, "name: Docker\n"
				"runs:\n"
				"  using: docker\n"
				"  image: Dockerfile\n"
				"  args: ['${{ inputs.who }}']\n"
				"  entrypoint: /entry.sh\n"
				"  pre-entrypoint: /setup.sh\n"
				"  post-entrypoint: /cleanup.sh\n"
				"  env:\n"
				"    A: b\n");
	assert_string_equal(action->using, "docker");
	workflow_action_free(action);

	action_err(dir,
		   "runs:\n"
		   "  using: node20\n",
		   "2:3: a Node action needs runs.main");
	action_err(dir,
		   "runs:\n"
		   "  using: python3\n"
		   "  main: x.py\n",
		   "2:10: runs.using 'python3' is not one of");
	action_err(dir,
		   "runs:\n"
		   "  using: docker\n",
		   "2:3: a Docker action needs runs.image");
	action_err(dir,
		   "runs:\n"
		   "  main: index.js\n",
		   "2:3: runs.using is missing");
	action_err(dir, "name: no runs\n", "1:1: the action has no 'runs'");
	action_err(dir,
		   "name: x\n"
		   "versions: 2\n"
		   "runs:\n"
		   "  using: node20\n"
		   "  main: a.js\n",
		   "2:1: unknown key 'versions' in an action");
	action_err(dir,
		   "runs:\n"
		   "  using: node20\n"
		   "  mian: a.js\n",
		   "3:3: unknown key 'mian' in runs");

	/* action.yaml is found when there is no action.yml. */
	write_file(dir, "action.yaml", "runs:\n  using: node24\n  main: a.js\n");
	struct err e = ERR_INIT;
	assert_int_equal(workflow_action_load(&action, dir, &e), 0);
	assert_contains(action->file, "/action.yaml");
	workflow_action_free(action);
	remove_file(dir, "action.yaml");

	/* No action file at all names the directory. */
	assert_int_equal(workflow_action_load(&action, dir, &e), -1);
	assert_null(action);
	struct buf want = BUF_INIT;
	buf_addf(&want, "no action.yml in %s: ", dir);
	assert_int_equal(strncmp(e.msg, want.data, want.len), 0);
	if (strstr(e.msg, ": : "))
		fail_msg("doubled separator: %s", e.msg);
	buf_free(&want);
	rmdir(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_documented_key),
		cmocka_unit_test(test_on_string_list_map),
		cmocka_unit_test(test_on_errors),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_structure_errors),
		cmocka_unit_test(test_job_ids),
		cmocka_unit_test(test_needs),
		cmocka_unit_test(test_needs_cycles),
		cmocka_unit_test(test_run_uses_exclusive),
		cmocka_unit_test(test_step_ids),
		cmocka_unit_test(test_reusable_workflow_jobs),
		cmocka_unit_test(test_env_values_are_strings),
		cmocka_unit_test(test_runs_on_forms),
		cmocka_unit_test(test_strategy_forms),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_action_composite),
		cmocka_unit_test(test_action_node_and_docker),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
