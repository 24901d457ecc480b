#include "pipeline/gitlab.h"
#include "pipeline/workflow.h"
#include "util/err.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define FIXTURES AMPEL_SOURCE_ROOT "/tests/fixtures/gitlab"

/* A push to main unless a test says otherwise. */
static struct gitlab_context push_main(void)
{
	struct gitlab_context ctx = {
		.branch = "main",
		.default_branch = "main",
		.pipeline_source = "push",
		.commit_sha = "0123456789abcdef0123",
	};
	return ctx;
}

static struct workflow *parse_ctx(const char *text, const struct gitlab_context *ctx)
{
	struct err e = ERR_INIT;
	struct workflow *wf = NULL;
	if (gitlab_parse(&wf, "test.yml", text, strlen(text), ctx, &e) != 0)
		fail_msg("unexpected error: %s\ninput:\n%s", e.msg, text);
	assert_non_null(wf);
	assert_int_equal(wf->kind, WORKFLOW_GITLAB);
	return wf;
}

static struct workflow *parse_ok(const char *text)
{
	struct gitlab_context ctx = push_main();
	return parse_ctx(text, &ctx);
}

/* The message must start with expected (file:line:column: ...). */
static void parse_err(const char *text, const char *expected)
{
	struct gitlab_context ctx = push_main();
	struct err e = ERR_INIT;
	struct workflow *wf = (struct workflow *)1;
	if (gitlab_parse(&wf, "test.yml", text, strlen(text), &ctx, &e) == 0)
		fail_msg("parsed without error, expected: %s\ninput:\n%s", expected, text);
	assert_null(wf);
	if (strncmp(e.msg, expected, strlen(expected)) != 0)
		fail_msg("message\n  %s\ndoes not start with\n  %s", e.msg, expected);
}

static struct workflow_job *job(const struct workflow *wf, const char *id)
{
	struct workflow_job *j = workflow_find_job(wf, id);
	if (!j)
		fail_msg("no job '%s'", id);
	return j;
}

static bool has_job(const struct workflow *wf, const char *id)
{
	return workflow_find_job(wf, id) != NULL;
}

static bool has_need(const struct workflow_job *j, const char *id)
{
	for (size_t i = 0; i < j->needs_count; i++)
		if (strcmp(j->needs[i], id) == 0)
			return true;
	return false;
}

static const char *env(const struct workflow_job *j, const char *name)
{
	json_t *v = json_object_get(j->env, name);
	return v ? json_string_value(v) : NULL;
}

static const char *script(const struct workflow_job *j)
{
	for (size_t i = 0; i < j->steps_count; i++)
		if (j->steps[i]->name && strcmp(j->steps[i]->name, "Script") == 0)
			return j->steps[i]->run;
	fail_msg("job '%s' has no Script step", j->id);
	return NULL;
}

static void test_stages_become_needs(void **state)
{
	(void)state;
	struct workflow *wf = parse_ok("deploy:\n"
				       "  stage: deploy\n"
				       "  script: ./deploy\n"
				       "unit:\n"
				       "  script: make check\n"
				       "compile:\n"
				       "  stage: build\n"
				       "  script:\n"
				       "    - make\n"
				       "    - make docs\n"
				       "lint:\n"
				       "  stage: build\n"
				       "  script: make lint\n");
	assert_int_equal(wf->jobs_count, 4);
	/* Stage order, then file order. */
	assert_string_equal(wf->jobs[0]->id, "compile");
	assert_string_equal(wf->jobs[1]->id, "lint");
	assert_string_equal(wf->jobs[2]->id, "unit");
	assert_string_equal(wf->jobs[3]->id, "deploy");
	assert_int_equal(job(wf, "compile")->needs_count, 0);
	struct workflow_job *unit = job(wf, "unit");
	assert_int_equal(unit->needs_count, 2);
	assert_true(has_need(unit, "compile") && has_need(unit, "lint"));
	struct workflow_job *deploy = job(wf, "deploy");
	assert_int_equal(deploy->needs_count, 3);
	assert_true(has_need(deploy, "unit"));
	assert_string_equal(deploy->condition, "success()");

	struct workflow_job *compile = job(wf, "compile");
	assert_int_equal(compile->steps_count, 2);
	assert_string_equal(compile->steps[0]->name, "Get sources");
	assert_string_equal(compile->steps[0]->uses, "actions/checkout@v4");
	assert_string_equal(compile->steps[1]->shell, "bash");
	assert_string_equal(script(compile), "set -eo pipefail\n"
					     "printf '%s\\n' '$ make'\n"
					     "make\n"
					     "printf '%s\\n' '$ make docs'\n"
					     "make docs\n");
	assert_string_equal(env(compile, "CI_JOB_NAME"), "compile");
	assert_string_equal(env(compile, "CI_JOB_STAGE"), "build");
	assert_string_equal(env(compile, "CI_PROJECT_DIR"), "${{ github.workspace }}");
	assert_string_equal(env(compile, "CI_COMMIT_BRANCH"), "main");
	assert_string_equal(env(compile, "CI_COMMIT_REF_NAME"), "main");
	assert_string_equal(env(compile, "CI_COMMIT_SHA"), "0123456789abcdef0123");
	assert_string_equal(env(compile, "CI_COMMIT_SHORT_SHA"), "01234567");
	assert_string_equal(env(compile, "CI_PIPELINE_SOURCE"), "push");
	assert_string_equal(env(compile, "CI_DEFAULT_BRANCH"), "main");
	assert_string_equal(env(compile, "CI"), "true");
	assert_string_equal(env(compile, "GITLAB_CI"), "true");
	assert_null(env(compile, "CI_COMMIT_TAG"));

	assert_string_equal(wf->name, "test.yml");
	assert_int_equal(wf->triggers_count, 1);
	assert_string_equal(wf->triggers[0].event, "push");
	assert_null(wf->triggers[0].filters);
	workflow_free(wf);
}

static void test_custom_stages_and_pre_post(void **state)
{
	(void)state;
	struct workflow *wf = parse_ok("stages: [lint, ship]\n"
				       "cleanup:\n"
				       "  stage: .post\n"
				       "  script: echo bye\n"
				       "ship:\n"
				       "  stage: ship\n"
				       "  script: echo ship\n"
				       "prepare:\n"
				       "  stage: .pre\n"
				       "  script: echo hi\n"
				       "check:\n"
				       "  stage: lint\n"
				       "  script: echo lint\n");
	assert_string_equal(wf->jobs[0]->id, "prepare");
	assert_string_equal(wf->jobs[1]->id, "check");
	assert_string_equal(wf->jobs[2]->id, "ship");
	assert_string_equal(wf->jobs[3]->id, "cleanup");
	assert_int_equal(job(wf, "cleanup")->needs_count, 3);
	workflow_free(wf);

	/* Only .pre/.post jobs: GitLab does not run such a pipeline. */
	wf = parse_ok("a:\n  stage: .pre\n  script: x\n");
	assert_int_equal(wf->jobs_count, 0);
	workflow_free(wf);
}

static void test_needs(void **state)
{
	(void)state;
	struct workflow *wf = parse_ok("build:\n"
				       "  stage: build\n"
				       "  script: make\n"
				       "docs:\n"
				       "  stage: build\n"
				       "  script: make docs\n"
				       "early:\n"
				       "  stage: deploy\n"
				       "  needs: []\n"
				       "  script: echo now\n"
				       "dag:\n"
				       "  stage: deploy\n"
				       "  needs:\n"
				       "    - build\n"
				       "    - job: docs\n"
				       "      artifacts: false\n"
				       "    - job: missing\n"
				       "      optional: true\n"
				       "    - pipeline: $PARENT_PIPELINE_ID\n"
				       "      job: other\n"
				       "  script: echo dag\n");
	assert_int_equal(job(wf, "early")->needs_count, 0);
	struct workflow_job *dag = job(wf, "dag");
	assert_int_equal(dag->needs_count, 2);
	assert_true(has_need(dag, "build") && has_need(dag, "docs"));
	workflow_free(wf);

	parse_err("a:\n  script: x\n  needs: [nope]\n",
		  "test.yml:3:11: job 'a': needs 'nope', which is not defined");
	parse_err("a:\n  script: x\n  rules:\n    - if: $NEVER_SET\n"
		  "b:\n  stage: deploy\n  script: y\n  needs: [a]\n",
		  "test.yml:8:11: job 'b': needs 'a', which is not in this pipeline");
}

static void test_extends_deep_merge(void **state)
{
	(void)state;
	struct workflow *wf = parse_ok(".base:\n"
				       "  image: alpine:3\n"
				       "  variables:\n"
				       "    A: base-a\n"
				       "    B: base-b\n"
				       "  script:\n"
				       "    - base one\n"
				       "    - base two\n"
				       ".mid:\n"
				       "  extends: .base\n"
				       "  variables:\n"
				       "    B: mid-b\n"
				       "  script: [mid]\n"
				       ".other:\n"
				       "  timeout: 10m\n"
				       "  variables:\n"
				       "    C: other-c\n"
				       "job:\n"
				       "  extends: [.mid, .other]\n"
				       "  variables:\n"
				       "    D: job-d\n");
	assert_int_equal(wf->jobs_count, 1);
	struct workflow_job *j = job(wf, "job");
	/* Hashes merge key by key; arrays are replaced. */
	assert_string_equal(env(j, "A"), "base-a");
	assert_string_equal(env(j, "B"), "mid-b");
	assert_string_equal(env(j, "C"), "other-c");
	assert_string_equal(env(j, "D"), "job-d");
	assert_string_equal(script(j), "set -eo pipefail\nprintf '%s\\n' '$ mid'\nmid\n");
	assert_string_equal(json_string_value(j->container), "alpine:3");
	assert_string_equal(j->timeout_minutes, "10");
	workflow_free(wf);

	parse_err(".a:\n  extends: .b\n.b:\n  extends: .a\njob:\n  extends: .a\n  script: x\n",
		  "test.yml:4:12: extends: '.a' extends itself (a cycle)");
	parse_err("job:\n  extends: .nope\n  script: x\n",
		  "test.yml:2:12: extends: '.nope' is not defined");
}

static void test_reference(void **state)
{
	(void)state;
	struct workflow *wf = parse_ok(".setup:\n"
				       "  script:\n"
				       "    - echo setup\n"
				       "    - echo more\n"
				       "  variables:\n"
				       "    SHARED: yes-shared\n"
				       ".vars:\n"
				       "  LEVEL: deep\n"
				       "job:\n"
				       "  variables: !reference [.setup, variables]\n"
				       "  script:\n"
				       "    - !reference [.setup, script]\n"
				       "    - echo main\n"
				       "other:\n"
				       "  variables: !reference [.vars]\n"
				       "  script: !reference [job, script]\n");
	struct workflow_job *j = job(wf, "job");
	assert_string_equal(env(j, "SHARED"), "yes-shared");
	assert_string_equal(script(j), "set -eo pipefail\n"
				       "printf '%s\\n' '$ echo setup'\n"
				       "echo setup\n"
				       "printf '%s\\n' '$ echo more'\n"
				       "echo more\n"
				       "printf '%s\\n' '$ echo main'\n"
				       "echo main\n");
	struct workflow_job *other = job(wf, "other");
	assert_string_equal(env(other, "LEVEL"), "deep");
	assert_string_equal(script(other), script(j));
	workflow_free(wf);

	parse_err("job:\n  script: !reference [.nope, script]\n",
		  "test.yml:2:11: !reference [.nope]: not found");
	parse_err(".a:\n  x: !reference [.b, x]\n.b:\n  x: !reference [.a, x]\n"
		  "job:\n  script: !reference [.a, x]\n",
		  "test.yml:");
}

static void test_default(void **state)
{
	(void)state;
	struct workflow *wf = parse_ok("default:\n"
				       "  image: node:20\n"
				       "  before_script: [npm ci]\n"
				       "  after_script: [echo done]\n"
				       "  timeout: 1h\n"
				       "  tags: [docker]\n"
				       "  retry: 2\n"
				       "test:\n"
				       "  script: npm test\n"
				       "own:\n"
				       "  image: {name: 'python:3.12', entrypoint: ['']}\n"
				       "  before_script: []\n"
				       "  script: pytest\n"
				       "bare:\n"
				       "  inherit:\n"
				       "    default: [timeout]\n"
				       "  script: ls\n");
	struct workflow_job *test = job(wf, "test");
	assert_string_equal(json_string_value(test->container), "node:20");
	assert_string_equal(test->timeout_minutes, "60");
	assert_int_equal(test->steps_count, 3);
	assert_string_equal(script(test), "set -eo pipefail\n"
					  "printf '%s\\n' '$ npm ci'\n"
					  "npm ci\n"
					  "printf '%s\\n' '$ npm test'\n"
					  "npm test\n");
	struct workflow_step *after = test->steps[2];
	assert_string_equal(after->name, "After script");
	assert_string_equal(after->condition, "always()");
	assert_string_equal(after->continue_on_error, "true");
	assert_string_equal(after->run,
			    "set -eo pipefail\nprintf '%s\\n' '$ echo done'\necho done\n");

	struct workflow_job *own = job(wf, "own");
	assert_string_equal(json_string_value(own->container), "python:3.12");
	assert_string_equal(script(own), "set -eo pipefail\nprintf '%s\\n' '$ pytest'\npytest\n");

	struct workflow_job *bare = job(wf, "bare");
	assert_null(bare->container);
	assert_string_equal(bare->timeout_minutes, "60");
	assert_int_equal(bare->steps_count, 2);
	workflow_free(wf);

	/* The deprecated top-level spelling works too. */
	wf = parse_ok("image: ruby:3\nbefore_script: [bundle]\njob:\n  script: rake\n");
	assert_string_equal(json_string_value(job(wf, "job")->container), "ruby:3");
	workflow_free(wf);

	parse_err("default:\n  stage: build\njob:\n  script: x\n",
		  "test.yml:2:3: default: unknown key 'stage'");
}

/* Whether a job whose only rule is `if: expr` is in the pipeline. */
static bool rule_holds(const char *expr, const struct gitlab_context *ctx)
{
	char text[1024];
	snprintf(text, sizeof(text),
		 "variables:\n"
		 "  GLOBAL: global-value\n"
		 "  EMPTY: ''\n"
		 "  PATTERN: /^rel/\n"
		 "job:\n"
		 "  variables:\n"
		 "    LOCAL: local-value\n"
		 "  script: x\n"
		 "  rules:\n"
		 "    - if: '%s'\n",
		 expr);
	struct workflow *wf = parse_ctx(text, ctx);
	bool found = has_job(wf, "job");
	workflow_free(wf);
	return found;
}

static void test_rule_expressions(void **state)
{
	(void)state;
	struct gitlab_context ctx = push_main();
	static const char *const user[] = { "FROM_USER=yes", NULL };
	ctx.variables = user;
	static const struct {
		const char *expr;
		bool holds;
	} cases[] = {
		{ "$CI_COMMIT_BRANCH", true },
		{ "$CI_COMMIT_TAG", false },
		{ "$EMPTY", false },
		{ "$GLOBAL", true },
		{ "$LOCAL == \"local-value\"", true },
		{ "$FROM_USER == \"yes\"", true },
		{ "$CI_COMMIT_BRANCH == \"main\"", true },
		{ "$CI_COMMIT_BRANCH == \"dev\"", false },
		{ "\"main\" == $CI_COMMIT_BRANCH", true },
		{ "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH", true },
		{ "$CI_COMMIT_BRANCH != \"dev\"", true },
		{ "$CI_COMMIT_BRANCH =~ /^ma/", true },
		{ "$CI_COMMIT_BRANCH =~ /^MA/", false },
		{ "$CI_COMMIT_BRANCH =~ /^MA/i", true },
		{ "$CI_COMMIT_BRANCH !~ /^ma/", false },
		{ "$UNSET =~ /.*/", false },
		{ "$UNSET !~ /x/", true },
		{ "$UNSET == null", true },
		{ "$EMPTY == null", false },
		{ "$EMPTY == \"\"", true },
		{ "$UNSET == $ALSO_UNSET", true },
		{ "$UNSET != null", false },
		{ "$CI_PIPELINE_SOURCE == \"push\" && $CI", true },
		{ "$CI_PIPELINE_SOURCE == \"web\" && $CI", false },
		{ "$CI_PIPELINE_SOURCE == \"web\" || $GITLAB_CI == \"true\"", true },
		{ "$A || $B && $C", false },
		{ "$CI || $B && $C", true },
		{ "($CI || $B) && $C", false },
		{ "($CI_COMMIT_TAG || $CI_COMMIT_BRANCH) && $CI_COMMIT_REF_NAME =~ /main/", true },
		{ "\"release-1\" =~ $PATTERN", true },
		{ "$GLOBAL =~ $PATTERN", false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool holds = rule_holds(cases[i].expr, &ctx);
		if (holds != cases[i].holds)
			fail_msg("'%s' evaluated to %s", cases[i].expr, holds ? "true" : "false");
	}

	struct gitlab_context tag = { .tag = "v1.2.0", .pipeline_source = "push" };
	assert_true(rule_holds("$CI_COMMIT_TAG =~ /^v\\d+\\.\\d+/", &tag));
	assert_false(rule_holds("$CI_COMMIT_BRANCH", &tag));
	assert_true(rule_holds("$CI_COMMIT_REF_NAME == \"v1.2.0\"", &tag));
	struct gitlab_context mr = push_main();
	mr.pipeline_source = "merge_request_event";
	assert_true(rule_holds("$CI_PIPELINE_SOURCE == \"merge_request_event\"", &mr));
	assert_false(rule_holds("$CI_COMMIT_BRANCH", &mr));
	assert_true(rule_holds("$CI_MERGE_REQUEST_SOURCE_BRANCH_NAME == \"main\"", &mr));
}

static void test_rule_expression_errors(void **state)
{
	(void)state;
	parse_err("job:\n  script: x\n  rules:\n    - if: $A == \n",
		  "test.yml:4:11: rules:if: expected a variable, a string, a regex or null");
	parse_err("job:\n  script: x\n  rules:\n    - if: '($A'\n",
		  "test.yml:4:11: rules:if: expected ')'");
	parse_err("job:\n  script: x\n  rules:\n    - if: '$A = \"x\"'\n",
		  "test.yml:4:11: rules:if: unexpected '='");
	parse_err("job:\n  script: x\n  rules:\n    - if: '$A =~ \"x\"'\n",
		  "test.yml:4:11: rules:if: =~ needs a /regex/");
	parse_err("job:\n  script: x\n  rules:\n    - if: '$A =~ /(/'\n",
		  "test.yml:4:11: bad regex /(/");
	parse_err("job:\n  script: x\n  rules:\n    - if: '$A =~ /x/q'\n",
		  "test.yml:4:11: unknown regex flag 'q'");
	parse_err("job:\n  script: x\n  rules:\n    - if: \"$A == 'x\"\n",
		  "test.yml:4:11: rules:if: unterminated string");
	/* A later rule is checked even when an earlier one matched. */
	parse_err("job:\n  script: x\n  rules:\n    - when: always\n    - if: '&&'\n",
		  "test.yml:5:11: rules:if:");
}

static void test_rules_when(void **state)
{
	(void)state;
	struct workflow *wf = parse_ok("never:\n"
				       "  script: x\n"
				       "  rules:\n"
				       "    - if: $CI_COMMIT_BRANCH == \"main\"\n"
				       "      when: never\n"
				       "    - when: always\n"
				       "first:\n"
				       "  script: x\n"
				       "  rules:\n"
				       "    - if: $CI\n"
				       "      when: always\n"
				       "      allow_failure: true\n"
				       "      variables:\n"
				       "        FROM_RULE: first\n"
				       "    - when: never\n"
				       "manual:\n"
				       "  script: x\n"
				       "  rules:\n"
				       "    - when: manual\n"
				       "delayed:\n"
				       "  script: x\n"
				       "  when: delayed\n"
				       "  start_in: 5 minutes\n"
				       "nomatch:\n"
				       "  script: x\n"
				       "  rules:\n"
				       "    - if: $CI_COMMIT_TAG\n"
				       "jobwhen:\n"
				       "  when: on_failure\n"
				       "  script: x\n"
				       "  rules:\n"
				       "    - if: $CI\n"
				       "fallback:\n"
				       "  script: x\n"
				       "  rules:\n"
				       "    - if: $CI_COMMIT_TAG\n"
				       "    - changes: [src/**/*]\n"
				       "      when: on_success\n"
				       "empty:\n"
				       "  script: x\n"
				       "  rules: []\n"
				       "downstream:\n"
				       "  trigger: group/project\n");
	assert_false(has_job(wf, "never"));
	assert_false(has_job(wf, "manual"));
	assert_false(has_job(wf, "delayed"));
	assert_false(has_job(wf, "nomatch"));
	assert_false(has_job(wf, "empty"));
	assert_false(has_job(wf, "downstream"));
	struct workflow_job *first = job(wf, "first");
	assert_string_equal(first->condition, "always()");
	assert_string_equal(first->continue_on_error, "true");
	assert_string_equal(env(first, "FROM_RULE"), "first");
	assert_string_equal(job(wf, "jobwhen")->condition, "failure()");
	assert_string_equal(job(wf, "fallback")->condition, "success()");
	workflow_free(wf);

	parse_err("job:\n  script: x\n  rules:\n    - when: sometimes\n",
		  "test.yml:4:13: when must be one of on_success, on_failure, always, manual, "
		  "delayed, never");
	parse_err("job:\n  script: x\n  rules:\n    - if: $CI\n      unless: $X\n",
		  "test.yml:5:7: rules: unknown key 'unless'");
	parse_err("job:\n  script: x\n  only: [main]\n  rules:\n    - when: always\n",
		  "test.yml:4:3: job 'job': rules cannot be used together with only/except");
}

static void test_rules_exists(void **state)
{
	(void)state;
	struct gitlab_context ctx = push_main();
	ctx.repo_dir = FIXTURES "/repo";
	struct workflow *wf = parse_ctx("yes:\n"
					"  script: x\n"
					"  rules:\n"
					"    - exists: ['ci/*.yml']\n"
					"deep:\n"
					"  script: x\n"
					"  rules:\n"
					"    - exists:\n"
					"        paths: ['**/test.yml']\n"
					"no:\n"
					"  script: x\n"
					"  rules:\n"
					"    - exists: [package.json]\n",
					&ctx);
	assert_true(has_job(wf, "yes"));
	assert_true(has_job(wf, "deep"));
	assert_false(has_job(wf, "no"));
	workflow_free(wf);
}

static bool job_in(const char *yaml_job, const struct gitlab_context *ctx)
{
	char text[1024];
	snprintf(text, sizeof(text), "job:\n  script: x\n%s", yaml_job);
	struct workflow *wf = parse_ctx(text, ctx);
	bool found = has_job(wf, "job");
	workflow_free(wf);
	return found;
}

static void test_only_except(void **state)
{
	(void)state;
	struct gitlab_context main_push = push_main();
	struct gitlab_context feature = push_main();
	feature.branch = "feature/login";
	struct gitlab_context tag = { .tag = "v2.0.0", .pipeline_source = "push" };
	struct gitlab_context mr = push_main();
	mr.pipeline_source = "merge_request_event";
	struct gitlab_context schedule = push_main();
	schedule.pipeline_source = "schedule";

	/* No only/except: branches and tags, not merge requests. */
	assert_true(job_in("", &main_push));
	assert_true(job_in("", &tag));
	assert_false(job_in("", &mr));

	assert_true(job_in("  only: [main]\n", &main_push));
	assert_false(job_in("  only: [main]\n", &feature));
	assert_true(job_in("  only: ['/^feature\\//']\n", &feature));
	assert_true(job_in("  only: [tags]\n", &tag));
	assert_false(job_in("  only: [tags]\n", &main_push));
	assert_true(job_in("  only: [merge_requests]\n", &mr));
	assert_true(job_in("  only: [schedules]\n", &schedule));
	assert_false(job_in("  only: [schedules, web]\n", &main_push));
	assert_true(job_in("  only: [branches]\n", &feature));
	assert_false(job_in("  only: [branches]\n", &mr));
	assert_true(job_in("  only: ['main@group/project']\n", &main_push));
	assert_false(job_in("  except: [main]\n", &main_push));
	assert_true(job_in("  except: [main]\n", &feature));
	assert_false(job_in("  except: ['/^v\\d/']\n", &tag));
	assert_false(job_in("  except: [main]\n", &mr));

	/* only: keys all must hold; except: any excludes. */
	assert_true(job_in("  only:\n    refs: [main]\n    variables: [$CI]\n", &main_push));
	assert_false(job_in("  only:\n    refs: [main]\n    variables: [$NOPE]\n", &main_push));
	assert_true(job_in("  only:\n    variables: [$NOPE, $CI_COMMIT_BRANCH == 'main']\n",
			   &main_push));
	assert_true(job_in("  only:\n    refs: [main]\n    changes: [src/*]\n", &main_push));
	assert_false(job_in("  except:\n    refs: [dev]\n    variables: [$CI]\n", &main_push));
	assert_true(job_in("  except:\n    refs: [dev]\n    variables: [$NOPE]\n", &main_push));
	assert_true(
		job_in("  except:\n    variables: ['$CI_COMMIT_BRANCH =~ /feat/']\n", &main_push));

	parse_err("job:\n  script: x\n  only:\n    branches: [main]\n",
		  "test.yml:4:5: only: unknown key 'branches'");
	parse_err("job:\n  script: x\n  only:\n    variables: ['$X ==']\n",
		  "test.yml:4:17: only:variables: expected a variable");
}

static void test_allow_failure_and_when(void **state)
{
	(void)state;
	struct workflow *wf = parse_ok("a:\n  script: x\n  allow_failure: true\n"
				       "b:\n  script: x\n  allow_failure:\n    exit_codes: [137]\n"
				       "c:\n  script: x\n  allow_failure: false\n"
				       "cleanup:\n  stage: deploy\n  when: always\n  script: x\n"
				       "report:\n  stage: deploy\n  when: on_failure\n  script: x\n"
				       "button:\n  when: manual\n  script: x\n");
	assert_string_equal(job(wf, "a")->continue_on_error, "true");
	assert_string_equal(job(wf, "b")->continue_on_error, "true");
	assert_null(job(wf, "c")->continue_on_error);
	assert_string_equal(job(wf, "cleanup")->condition, "always()");
	assert_string_equal(job(wf, "report")->condition, "failure()");
	assert_false(has_job(wf, "button"));
	/* A manual job is not waited for. */
	assert_false(has_need(job(wf, "cleanup"), "button"));
	workflow_free(wf);

	parse_err("a:\n  script: x\n  allow_failure: maybe\n",
		  "test.yml:3:18: expected true or false");
	parse_err("a:\n  script: x\n  when: later\n", "test.yml:3:9: when must be one of");
}

static void test_timeouts(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		const char *minutes;
	} cases[] = {
		{ "1h 30m", "90" },
		{ "90 minutes", "90" },
		{ "2h", "120" },
		{ "45s", "1" },
		{ "1 hour and 5 min", "65" },
		{ "3 hours 30 minutes", "210" },
		{ "1d", "1440" },
		{ "1.5h", "90" },
		{ "600", "10" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[256];
		snprintf(text, sizeof(text), "job:\n  script: x\n  timeout: %s\n", cases[i].text);
		struct workflow *wf = parse_ok(text);
		if (strcmp(wf->jobs[0]->timeout_minutes, cases[i].minutes) != 0)
			fail_msg("'%s' gave %s minutes", cases[i].text,
				 wf->jobs[0]->timeout_minutes);
		workflow_free(wf);
	}
	parse_err("job:\n  script: x\n  timeout: soon\n",
		  "test.yml:3:12: job 'job': timeout: cannot read 'soon' as a duration");
	parse_err("job:\n  script: x\n  timeout: 3 fortnights\n",
		  "test.yml:3:12: job 'job': timeout:");
}

static void test_parallel(void **state)
{
	(void)state;
	struct workflow *wf = parse_ok("shard:\n"
				       "  parallel: 3\n"
				       "  script: run-shard\n"
				       "matrix:\n"
				       "  parallel:\n"
				       "    matrix:\n"
				       "      - PROVIDER: aws\n"
				       "        STACK: [monitoring, app1]\n"
				       "      - PROVIDER: [gcp, azure]\n"
				       "  script: deploy\n");
	struct workflow_job *shard = job(wf, "shard");
	json_t *index = json_object_get(shard->matrix, "CI_NODE_INDEX");
	assert_int_equal(json_array_size(index), 3);
	assert_string_equal(json_string_value(json_array_get(index, 0)), "1");
	assert_string_equal(json_string_value(json_array_get(index, 2)), "3");
	assert_string_equal(env(shard, "CI_NODE_INDEX"), "${{ matrix.CI_NODE_INDEX }}");
	assert_string_equal(env(shard, "CI_NODE_TOTAL"), "3");

	struct workflow_job *m = job(wf, "matrix");
	json_t *include = json_object_get(m->matrix, "include");
	assert_int_equal(json_object_size(m->matrix), 1);
	assert_int_equal(json_array_size(include), 4);
	json_t *c0 = json_array_get(include, 0);
	assert_string_equal(json_string_value(json_object_get(c0, "PROVIDER")), "aws");
	assert_string_equal(json_string_value(json_object_get(c0, "STACK")), "monitoring");
	json_t *c1 = json_array_get(include, 1);
	assert_string_equal(json_string_value(json_object_get(c1, "STACK")), "app1");
	json_t *c3 = json_array_get(include, 3);
	assert_string_equal(json_string_value(json_object_get(c3, "PROVIDER")), "azure");
	assert_null(json_object_get(c3, "STACK"));
	assert_string_equal(env(m, "PROVIDER"), "${{ matrix.PROVIDER }}");
	assert_string_equal(env(m, "STACK"), "${{ matrix.STACK }}");
	assert_string_equal(env(m, "CI_NODE_TOTAL"), "4");
	workflow_free(wf);

	parse_err("job:\n  script: x\n  parallel: 500\n",
		  "test.yml:3:13: job 'job': parallel must be 1 to 200");
	parse_err("job:\n  script: x\n  parallel:\n    matrix:\n      - A: "
		  "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]\n"
		  "        B: [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]\n",
		  "test.yml:5:9: job 'job': parallel:matrix makes more than 200 jobs");
}

static void test_include_local(void **state)
{
	(void)state;
	struct gitlab_context ctx = push_main();
	ctx.repo_dir = FIXTURES "/repo";
	struct err e = ERR_INIT;
	struct workflow *wf = NULL;
	if (gitlab_load(&wf, FIXTURES "/repo/.gitlab-ci.yml", &ctx, &e) != 0)
		fail_msg("%s", e.msg);
	/* build from the main file (extending an included template), unit
	 * from a wildcard include; docker's rules:exists finds no Dockerfile. */
	assert_int_equal(wf->jobs_count, 2);
	struct workflow_job *build = job(wf, "build");
	assert_string_equal(json_string_value(build->container), "gcc:13");
	assert_string_equal(env(build, "GREETING"), "hello");
	assert_string_equal(env(build, "FROM_BASE"), "base");
	assert_string_equal(script(build), "set -eo pipefail\nprintf '%s\\n' '$ make $TARGET'\n"
					   "make $TARGET\n");
	assert_string_equal(env(build, "TARGET"), "release");
	struct workflow_job *unit = job(wf, "unit");
	assert_true(has_need(unit, "build"));
	assert_string_equal(json_string_value(json_object_get(wf->env, "GREETING")), "hello");
	workflow_free(wf);

	/* Without a repo_dir, the file's directory is the repository. */
	wf = NULL;
	if (gitlab_load(&wf, FIXTURES "/repo/.gitlab-ci.yml", NULL, &e) != 0)
		fail_msg("%s", e.msg);
	workflow_free(wf);

	assert_int_not_equal(gitlab_load(&wf, FIXTURES "/repo/remote.yml", &ctx, &e), 0);
	assert_null(wf);
	assert_string_equal(e.msg, FIXTURES "/repo/remote.yml:3:5: include:remote is not "
					    "supported by ampel run: only local files can be "
					    "included");
}

static void test_include_errors(void **state)
{
	(void)state;
	struct gitlab_context ctx = push_main();
	ctx.repo_dir = FIXTURES "/repo";
	static const struct {
		const char *text;
		const char *message;
	} cases[] = {
		{ "include: 'https://example.com/x.yml'\njob:\n  script: x\n",
		  "test.yml:1:10: include: remote file 'https://example.com/x.yml' cannot be "
		  "fetched" },
		{ "include:\n  - template: Auto-DevOps.gitlab-ci.yml\njob:\n  script: x\n",
		  "test.yml:2:5: include:template is not supported by ampel run" },
		{ "include:\n  - project: group/x\n    file: a.yml\njob:\n  script: x\n",
		  "test.yml:2:5: include:project is not supported" },
		{ "include: missing.yml\njob:\n  script: x\n",
		  "test.yml:1:10: include: 'missing.yml' is not a file in the repository" },
		{ "include: ../outside.yml\njob:\n  script: x\n",
		  "test.yml:1:10: include: '../outside.yml' must be a path inside the repository" },
		{ "include: 'nothing/*.yml'\njob:\n  script: x\n",
		  "test.yml:1:10: include: 'nothing/*.yml' matches no file" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct err e = ERR_INIT;
		struct workflow *wf = NULL;
		if (gitlab_parse(&wf, "test.yml", cases[i].text, strlen(cases[i].text), &ctx, &e) ==
		    0)
			fail_msg("no error for:\n%s", cases[i].text);
		if (strncmp(e.msg, cases[i].message, strlen(cases[i].message)) != 0)
			fail_msg("message\n  %s\ndoes not start with\n  %s", e.msg,
				 cases[i].message);
	}
	/* An included file's own errors name that file. */
	struct err e = ERR_INIT;
	struct workflow *wf = NULL;
	const char *text =
		"include: ci/base.yml\njob:\n  extends: .build-template\n  stage: nope\n";
	assert_int_not_equal(gitlab_parse(&wf, "test.yml", text, strlen(text), &ctx, &e), 0);
	assert_string_equal(e.msg, "test.yml:4:10: job 'job': stage 'nope' is not in stages "
				   "(.pre, build, test, .post)");
	text = "include: ci/base.yml\njob:\n  extends: .build-template\n  scripts: x\n";
	assert_int_not_equal(gitlab_parse(&wf, "test.yml", text, strlen(text), &ctx, &e), 0);
	assert_string_equal(e.msg, "test.yml:4:3: job 'job': unknown key 'scripts'");
}

static void test_hidden_jobs(void **state)
{
	(void)state;
	struct workflow *wf = parse_ok(".template:\n  script: hidden\n"
				       ".anchors: &commands\n  - echo anchored\n"
				       "job:\n  script: *commands\n");
	assert_int_equal(wf->jobs_count, 1);
	assert_string_equal(wf->jobs[0]->id, "job");
	workflow_free(wf);
	parse_err(".only:\n  script: x\n", "test.yml:1:1: no jobs");
}

static void test_workflow_rules(void **state)
{
	(void)state;
	const char *text = "workflow:\n"
			   "  rules:\n"
			   "    - if: $CI_COMMIT_TAG\n"
			   "      variables:\n"
			   "        DEPLOY: 'yes'\n"
			   "    - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"\n"
			   "      when: never\n"
			   "    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n"
			   "variables:\n"
			   "  DEPLOY: 'no'\n"
			   "job:\n"
			   "  script: x\n"
			   "  only: [branches, tags]\n";
	struct workflow *wf = parse_ok(text);
	assert_int_equal(wf->jobs_count, 1);
	assert_string_equal(env(wf->jobs[0], "DEPLOY"), "no");
	workflow_free(wf);

	struct gitlab_context tag = { .tag = "v1", .pipeline_source = "push" };
	wf = parse_ctx(text, &tag);
	assert_int_equal(wf->jobs_count, 1);
	assert_string_equal(env(wf->jobs[0], "DEPLOY"), "yes");
	assert_string_equal(json_string_value(json_object_get(wf->env, "DEPLOY")), "yes");
	workflow_free(wf);

	struct gitlab_context feature = push_main();
	feature.branch = "feature";
	wf = parse_ctx(text, &feature);
	assert_int_equal(wf->jobs_count, 0);
	workflow_free(wf);

	struct gitlab_context mr = push_main();
	mr.pipeline_source = "merge_request_event";
	wf = parse_ctx(text, &mr);
	assert_int_equal(wf->jobs_count, 0);
	workflow_free(wf);

	parse_err("workflow:\n  rules:\n    - when: manual\njob:\n  script: x\n",
		  "test.yml:3:13: when must be one of always, never");
}

static void test_variables_and_escaping(void **state)
{
	(void)state;
	struct gitlab_context ctx = push_main();
	static const char *const user[] = { "TOKEN=from-user", "BAD", NULL };
	ctx.variables = user;
	struct workflow *wf = parse_ctx("variables:\n"
					"  REGISTRY: registry.example.com\n"
					"  IMAGE: $REGISTRY/app:$CI_COMMIT_SHORT_SHA\n"
					"  TEMPLATE: 'literal ${{ secrets.X }}'\n"
					"  RAW:\n"
					"    value: '$REGISTRY'\n"
					"    expand: false\n"
					"  DESCRIBED:\n"
					"    value: '1.10'\n"
					"    description: a version\n"
					"  TOKEN: from-file\n"
					"  BIN: ${CI_PROJECT_DIR}/bin:$PATH\n"
					"  DOLLARS: 'a$$b'\n"
					"job:\n"
					"  image: $REGISTRY/builder:1\n"
					"  services:\n"
					"    - postgres:16\n"
					"    - name: redis:7\n"
					"      alias: cache\n"
					"      variables:\n"
					"        REDIS_ARGS: --save ''\n"
					"  environment:\n"
					"    name: review/$CI_COMMIT_REF_SLUG\n"
					"  artifacts:\n"
					"    paths: [dist/, 'out/$CI_JOB_NAME']\n"
					"    expire_in: 1 week\n"
					"  script:\n"
					"    - echo \"${{ not an expression }}\"\n"
					"    - |\n"
					"      for i in 1 2; do\n"
					"        echo $i\n"
					"      done\n",
					&ctx);
	struct workflow_job *j = job(wf, "job");
	assert_string_equal(env(j, "IMAGE"), "registry.example.com/app:01234567");
	assert_string_equal(env(j, "TEMPLATE"), "literal ${{ '${{' }} secrets.X }}");
	assert_string_equal(env(j, "RAW"), "$REGISTRY");
	assert_string_equal(env(j, "DESCRIBED"), "1.10");
	assert_string_equal(env(j, "TOKEN"), "from-user");
	assert_string_equal(env(j, "BIN"), "${{ github.workspace }}/bin:$PATH");
	assert_string_equal(env(j, "DOLLARS"), "a$b");
	assert_string_equal(json_string_value(json_object_get(wf->env, "IMAGE")),
			    "registry.example.com/app:01234567");
	assert_string_equal(json_string_value(j->container), "registry.example.com/builder:1");
	json_t *pg = json_object_get(j->services, "postgres");
	assert_non_null(pg);
	assert_string_equal(json_string_value(json_object_get(pg, "image")), "postgres:16");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(pg, "env"), "REGISTRY")),
		"registry.example.com");
	json_t *cache = json_object_get(j->services, "cache");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(cache, "env"), "REDIS_ARGS")),
		"--save ''");
	assert_string_equal(j->environment, "review/main");
	assert_int_equal(j->artifact_paths_count, 2);
	assert_string_equal(j->artifact_paths[0], "dist/");
	assert_string_equal(j->artifact_paths[1], "out/job");
	assert_string_equal(script(j),
			    "set -eo pipefail\n"
			    "printf '%s\\n' '$ echo \"${{ '${{' }} not an expression }}\"'\n"
			    "echo \"${{ '${{' }} not an expression }}\"\n"
			    "printf '%s\\n' '$ for i in 1 2; do # collapsed multi-line command'\n"
			    "for i in 1 2; do\n  echo $i\ndone\n\n");
	workflow_free(wf);
}

static void test_git_strategy_none(void **state)
{
	(void)state;
	struct workflow *wf = parse_ok("job:\n  variables:\n    GIT_STRATEGY: none\n  script: x\n");
	assert_int_equal(wf->jobs[0]->steps_count, 1);
	assert_string_equal(wf->jobs[0]->steps[0]->name, "Script");
	workflow_free(wf);
}

static void test_inherit_variables(void **state)
{
	(void)state;
	struct workflow *wf = parse_ok("variables:\n  A: a\n  B: b\n"
				       "none:\n  inherit:\n    variables: false\n  script: x\n"
				       "some:\n  inherit:\n    variables: [B]\n  script: x\n");
	assert_string_equal(env(job(wf, "none"), "A"), "");
	assert_string_equal(env(job(wf, "none"), "B"), "");
	assert_string_equal(env(job(wf, "some"), "A"), "");
	assert_string_equal(env(job(wf, "some"), "B"), "b");
	workflow_free(wf);
}

static void test_errors(void **state)
{
	(void)state;
	parse_err("job:\n  script: x\n  scirpt: y\n",
		  "test.yml:3:3: job 'job': unknown key 'scirpt'");
	parse_err("job:\n  stage: build\n", "test.yml:1:1: job 'job': script is required");
	parse_err("job:\n  script: []\n", "test.yml:2:11: job 'job': script is required");
	parse_err("job:\n  script:\n    - {a: b}\n",
		  "test.yml:3:7: job 'job': script: each command must be a string");
	parse_err("job:\n  stage: lint\n  script: x\n",
		  "test.yml:2:10: job 'job': stage 'lint' is not in stages (.pre, build, test, "
		  "deploy, .post)");
	parse_err("stages: [build]\njob:\n  script: x\n",
		  "test.yml:2:1: job 'job': stage 'test' is not in stages (.pre, build, .post)");
	/* Found by fuzzing: a null stage once read freed memory. */
	parse_err("stages: [build, null]\njob:\n  script: x\n",
		  "test.yml:1:17: stages: each stage must be a name");
	parse_err("job: [a, b]\n", "test.yml:1:6: job 'job' must be a mapping of job keywords");
	parse_err("job:\n  run:\n    - name: x\n      script: y\n", "test.yml:");
	parse_err("spec:\n  inputs: {}\n", "test.yml:1:1: spec: headers");
	parse_err("", "test.yml:1:1: the file is empty");
	parse_err("- a\n- b\n", "test.yml:1:1: a GitLab CI file must be a mapping");
	parse_err("variables:\n  A: [1, 2]\njob:\n  script: x\n",
		  "test.yml:2:6: variables: A: a variable's value must be a string");
	parse_err("job:\n  script: x\n  image: {entrypoint: ['']}\n",
		  "test.yml:3:10: job 'job': image needs a name");
	parse_err("job:\n  script: x\n  rules: {if: $CI}\n", "test.yml:3:10: rules must be a list");
	parse_err("job: {script: x, needs: build}\n",
		  "test.yml:1:25: job 'job': needs must be a list");
	/* Jobs that do not run in this pipeline are still checked. */
	parse_err("job:\n  script: x\n  only: [tags]\n  timeout: never\n",
		  "test.yml:4:12: job 'job': timeout: cannot read 'never'");
}

static void test_null_context(void **state)
{
	(void)state;
	const char *text = "job:\n  script: x\n  rules:\n    - exists: [anything]\n";
	struct err e = ERR_INIT;
	struct workflow *wf = NULL;
	assert_int_equal(gitlab_parse(&wf, "t.yml", text, strlen(text), NULL, &e), 0);
	/* No repository to look into: exists holds; no branch: push to nothing. */
	assert_int_equal(wf->jobs_count, 1);
	assert_string_equal(env(wf->jobs[0], "CI_PIPELINE_SOURCE"), "push");
	assert_null(env(wf->jobs[0], "CI_COMMIT_BRANCH"));
	workflow_free(wf);

	/* Without rules a job runs in a branch pipeline, known branch or not. */
	text = "job:\n  script: x\n";
	assert_int_equal(gitlab_parse(&wf, "t.yml", text, strlen(text), NULL, &e), 0);
	assert_int_equal(wf->jobs_count, 1);
	workflow_free(wf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stages_become_needs),
		cmocka_unit_test(test_custom_stages_and_pre_post),
		cmocka_unit_test(test_needs),
		cmocka_unit_test(test_extends_deep_merge),
		cmocka_unit_test(test_reference),
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_rule_expressions),
		cmocka_unit_test(test_rule_expression_errors),
		cmocka_unit_test(test_rules_when),
		cmocka_unit_test(test_rules_exists),
		cmocka_unit_test(test_only_except),
		cmocka_unit_test(test_allow_failure_and_when),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_parallel),
		cmocka_unit_test(test_include_local),
		cmocka_unit_test(test_include_errors),
		cmocka_unit_test(test_hidden_jobs),
		cmocka_unit_test(test_workflow_rules),
		cmocka_unit_test(test_variables_and_escaping),
		cmocka_unit_test(test_git_strategy_none),
		cmocka_unit_test(test_inherit_variables),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_null_context),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
