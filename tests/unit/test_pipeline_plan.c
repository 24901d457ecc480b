/*
 * Tests for what decides which jobs exist and whether a workflow runs:
 * strategy.matrix expansion (matrix) and `on:` filters and inputs
 * (trigger). The cases are GitHub's documented examples wherever the docs
 * give one, with GitHub's documented results.
 */
#include "pipeline/matrix.h"
#include "pipeline/trigger.h"
#include "pipeline/workflow.h"
#include "pipeline/workflow_load.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static json_t *json(const char *text)
{
	json_error_t error;
	json_t *value = json_loads(text, JSON_DECODE_ANY, &error);
	if (!value)
		fail_msg("bad test JSON: %s: %s", text, error.text);
	return value;
}

/* Expands matrix (JSON text), expecting success. */
static json_t *expand(const char *matrix)
{
	json_t *m = json(matrix);
	json_t *legs = NULL;
	struct err e = ERR_INIT;
	if (matrix_expand(m, "build", &legs, &e) != 0)
		fail_msg("unexpected error: %s\nmatrix: %s", e.msg, matrix);
	json_decref(m);
	assert_true(json_is_array(legs));
	return legs;
}

static void expand_err(const char *matrix, const char *expected)
{
	json_t *m = json(matrix);
	json_t *legs = (json_t *)1;
	struct err e = ERR_INIT;
	if (matrix_expand(m, "build", &legs, &e) == 0)
		fail_msg("expanded without error, expected: %s\nmatrix: %s", expected, matrix);
	assert_null(legs);
	json_decref(m);
	if (strcmp(e.msg, expected) != 0)
		fail_msg("message\n  %s\nis not\n  %s", e.msg, expected);
}

/* The legs must be exactly expected (a JSON array), in order. */
static void assert_legs(json_t *legs, const char *expected)
{
	json_t *want = json(expected);
	if (!json_equal(legs, want)) {
		char *got = json_dumps(legs, JSON_COMPACT);
		fail_msg("legs\n  %s\nare not\n  %s", got, expected);
	}
	json_decref(want);
	json_decref(legs);
}

static void test_matrix_single_and_multi_dimension(void **state)
{
	(void)state;
	assert_legs(expand("{\"version\": [10, 12, 14]}"),
		    "[{\"version\": 10}, {\"version\": 12}, {\"version\": 14}]");
	/* The docs' six jobs: the first key varies slowest. */
	assert_legs(expand("{\"os\": [\"ubuntu-22.04\", \"ubuntu-20.04\"], \"version\": [10, 12, "
			   "14]}"),
		    "[{\"os\": \"ubuntu-22.04\", \"version\": 10},"
		    " {\"os\": \"ubuntu-22.04\", \"version\": 12},"
		    " {\"os\": \"ubuntu-22.04\", \"version\": 14},"
		    " {\"os\": \"ubuntu-20.04\", \"version\": 10},"
		    " {\"os\": \"ubuntu-20.04\", \"version\": 12},"
		    " {\"os\": \"ubuntu-20.04\", \"version\": 14}]");
	/* A vector of objects: each object is one value. */
	assert_legs(expand("{\"os\": [\"ubuntu-latest\", \"macos-latest\"],"
			   " \"node\": [{\"version\": 14},"
			   "  {\"version\": 20, \"env\": "
			   "\"NODE_OPTIONS=--openssl-legacy-provider\"}]}"),
		    "[{\"os\": \"ubuntu-latest\", \"node\": {\"version\": 14}},"
		    " {\"os\": \"ubuntu-latest\", \"node\": {\"version\": 20, \"env\": "
		    "\"NODE_OPTIONS=--openssl-legacy-provider\"}},"
		    " {\"os\": \"macos-latest\", \"node\": {\"version\": 14}},"
		    " {\"os\": \"macos-latest\", \"node\": {\"version\": 20, \"env\": "
		    "\"NODE_OPTIONS=--openssl-legacy-provider\"}}]");
}

static void test_matrix_exclude_docs_example(void **state)
{
	(void)state;
	/* 12 combinations minus one full and two partial matches: nine jobs. */
	json_t *legs = expand("{\"os\": [\"macos-latest\", \"windows-latest\"],"
			      " \"version\": [12, 14, 16],"
			      " \"environment\": [\"staging\", \"production\"],"
			      " \"exclude\": ["
			      "  {\"os\": \"macos-latest\", \"version\": 12, \"environment\": "
			      "\"production\"},"
			      "  {\"os\": \"windows-latest\", \"version\": 16}]}");
	assert_int_equal(json_array_size(legs), 9);
	assert_legs(legs,
		    "[{\"os\": \"macos-latest\", \"version\": 12, \"environment\": \"staging\"},"
		    " {\"os\": \"macos-latest\", \"version\": 14, \"environment\": \"staging\"},"
		    " {\"os\": \"macos-latest\", \"version\": 14, \"environment\": "
		    "\"production\"},"
		    " {\"os\": \"macos-latest\", \"version\": 16, \"environment\": \"staging\"},"
		    " {\"os\": \"macos-latest\", \"version\": 16, \"environment\": "
		    "\"production\"},"
		    " {\"os\": \"windows-latest\", \"version\": 12, \"environment\": "
		    "\"staging\"},"
		    " {\"os\": \"windows-latest\", \"version\": 12, \"environment\": "
		    "\"production\"},"
		    " {\"os\": \"windows-latest\", \"version\": 14, \"environment\": "
		    "\"staging\"},"
		    " {\"os\": \"windows-latest\", \"version\": 14, \"environment\": "
		    "\"production\"}]");
	/* A partial match inside an object value. */
	assert_legs(expand("{\"os\": [\"linux\", \"mac\"],"
			   " \"node\": [{\"version\": 14, \"lts\": true}, {\"version\": 20}],"
			   " \"exclude\": [{\"os\": \"mac\", \"node\": {\"version\": 14}}]}"),
		    "[{\"os\": \"linux\", \"node\": {\"version\": 14, \"lts\": true}},"
		    " {\"os\": \"linux\", \"node\": {\"version\": 20}},"
		    " {\"os\": \"mac\", \"node\": {\"version\": 20}}]");
	/* Values are compared as typed: the string "12" is not the number 12. */
	assert_int_equal(json_array_size(legs = expand("{\"v\": [12, 14], \"exclude\": [{\"v\": "
						       "\"12\"}]}")),
			 2);
	json_decref(legs);
}

static void test_matrix_include_docs_example(void **state)
{
	(void)state;
	/* The fruit/animal example: six jobs, in the documented order. */
	assert_legs(expand("{\"fruit\": [\"apple\", \"pear\"], \"animal\": [\"cat\", \"dog\"],"
			   " \"include\": ["
			   "  {\"color\": \"green\"},"
			   "  {\"color\": \"pink\", \"animal\": \"cat\"},"
			   "  {\"fruit\": \"apple\", \"shape\": \"circle\"},"
			   "  {\"fruit\": \"banana\"},"
			   "  {\"fruit\": \"banana\", \"animal\": \"cat\"}]}"),
		    "[{\"fruit\": \"apple\", \"animal\": \"cat\", \"color\": \"pink\", \"shape\": "
		    "\"circle\"},"
		    " {\"fruit\": \"apple\", \"animal\": \"dog\", \"color\": \"green\", \"shape\": "
		    "\"circle\"},"
		    " {\"fruit\": \"pear\", \"animal\": \"cat\", \"color\": \"pink\"},"
		    " {\"fruit\": \"pear\", \"animal\": \"dog\", \"color\": \"green\"},"
		    " {\"fruit\": \"banana\"},"
		    " {\"fruit\": \"banana\", \"animal\": \"cat\"}]");
}

static void test_matrix_include_extends_and_adds(void **state)
{
	(void)state;
	/* npm: 6 joins only the windows-latest / 16 leg. */
	json_t *legs =
		expand("{\"os\": [\"windows-latest\", \"ubuntu-latest\"],"
		       " \"node\": [12, 14, 16],"
		       " \"include\": [{\"os\": \"windows-latest\", \"node\": 16, \"npm\": 6}]}");
	assert_int_equal(json_array_size(legs), 6);
	size_t i;
	json_t *leg;
	size_t with_npm = 0;
	json_array_foreach(legs, i, leg)
	{
		if (json_object_get(leg, "npm")) {
			with_npm++;
			assert_string_equal(json_string_value(json_object_get(leg, "os")),
					    "windows-latest");
			assert_int_equal(json_integer_value(json_object_get(leg, "node")), 16);
		}
	}
	assert_int_equal(with_npm, 1);
	json_decref(legs);

	/* version 17 matches no leg: ten jobs, the new one last. */
	legs = expand("{\"os\": [\"macos-latest\", \"windows-latest\", \"ubuntu-latest\"],"
		      " \"version\": [12, 14, 16],"
		      " \"include\": [{\"os\": \"windows-latest\", \"version\": 17}]}");
	assert_int_equal(json_array_size(legs), 10);
	json_t *last = json("{\"os\": \"windows-latest\", \"version\": 17}");
	assert_true(json_equal(json_array_get(legs, 9), last));
	json_decref(last);
	json_decref(legs);

	/* Five perl versions on ubuntu plus two on macos: seven jobs. */
	legs = expand("{\"os\": [\"ubuntu-latest\"],"
		      " \"perl\": [\"5.16\", \"5.20\", \"5.26\", \"5.30\", \"latest\"],"
		      " \"include\": [{\"os\": \"macos-latest\", \"perl\": \"5.26\"},"
		      "  {\"os\": \"macos-latest\", \"perl\": \"latest\"}]}");
	assert_int_equal(json_array_size(legs), 7);
	json_decref(legs);

	/* Include runs after exclude, so it can add an excluded leg back. */
	assert_legs(expand("{\"os\": [\"a\", \"b\"], \"exclude\": [{\"os\": \"b\"}],"
			   " \"include\": [{\"os\": \"b\", \"extra\": true}]}"),
		    "[{\"os\": \"a\"}, {\"os\": \"b\", \"extra\": true}]");
}

static void test_matrix_include_only(void **state)
{
	(void)state;
	assert_legs(expand("{\"include\": ["
			   " {\"site\": \"production\", \"datacenter\": \"site-a\"},"
			   " {\"site\": \"staging\", \"datacenter\": \"site-b\"}]}"),
		    "[{\"site\": \"production\", \"datacenter\": \"site-a\"},"
		    " {\"site\": \"staging\", \"datacenter\": \"site-b\"}]");
}

static void test_matrix_errors(void **state)
{
	(void)state;
	expand_err("{\"os\": []}", "job 'build': matrix.os is an empty list");
	expand_err("{\"os\": \"linux\"}", "job 'build': matrix.os must be a list of values");
	expand_err("[1, 2]", "job 'build': strategy.matrix must be a mapping");
	expand_err("\"${{ fromJSON(x) }}\"", "job 'build': strategy.matrix must be a mapping");
	expand_err("{\"os\": [\"a\"], \"include\": {\"os\": \"b\"}}",
		   "job 'build': matrix.include must be a list of mappings");
	expand_err("{\"os\": [\"a\"], \"exclude\": [\"a\"]}",
		   "job 'build': matrix.exclude[0] must be a mapping");
	expand_err("{\"os\": [\"a\", \"b\"], \"exclude\": [{\"os\": \"a\"}, {\"os\": \"b\"}]}",
		   "job 'build': the matrix has no legs left (every combination was excluded)");
	expand_err("{}", "job 'build': strategy.matrix defines no values");
	expand_err("{\"include\": []}", "job 'build': strategy.matrix defines no values");
}

/* A vector of n numbers, as JSON text. */
static void add_vector(struct buf *b, const char *name, int n)
{
	buf_addf(b, "\"%s\": [", name);
	for (int i = 0; i < n; i++)
		buf_addf(b, "%s%d", i ? "," : "", i);
	buf_adds(b, "]");
}

static void test_matrix_leg_limit(void **state)
{
	(void)state;
	struct buf text = BUF_INIT;
	buf_adds(&text, "{");
	add_vector(&text, "a", 64);
	buf_adds(&text, ",");
	add_vector(&text, "b", 64);
	buf_adds(&text, "}");
	json_t *legs = expand(text.data);
	assert_int_equal(json_array_size(legs), MATRIX_MAX_LEGS);
	json_decref(legs);

	buf_reset(&text);
	buf_adds(&text, "{");
	add_vector(&text, "a", 17);
	buf_adds(&text, ",");
	add_vector(&text, "b", 17);
	buf_adds(&text, ",");
	add_vector(&text, "c", 17);
	buf_adds(&text, "}");
	expand_err(text.data, "job 'build': the matrix has more than 4096 legs");

	/* An include that adds a leg past the limit. */
	buf_reset(&text);
	buf_adds(&text, "{");
	add_vector(&text, "a", 64);
	buf_adds(&text, ",");
	add_vector(&text, "b", 64);
	buf_adds(&text, ", \"include\": [{\"a\": 99}]}");
	expand_err(text.data, "job 'build': the matrix has more than 4096 legs");
	buf_free(&text);
}

static void test_matrix_leg_label(void **state)
{
	(void)state;
	json_t *leg = json("{\"node\": 18, \"os\": \"ubuntu-latest\", \"x\": {\"a\": true}}");
	char *label = matrix_leg_label(leg);
	assert_string_equal(label, "18, ubuntu-latest, {\"a\":true}");
	free(label);
	json_decref(leg);
}

/* ---- triggers ---- */

static struct workflow *workflow(const char *on)
{
	struct buf text = BUF_INIT;
	buf_addf(&text,
		 "%s"
		 "jobs:\n"
		 "  a:\n"
		 "    runs-on: x\n"
		 "    steps: [{run: a}]\n",
		 on);
	struct err e = ERR_INIT;
	struct workflow *wf = NULL;
	if (workflow_parse(&wf, "ci.yml", text.data, text.len, &e) != 0)
		fail_msg("unexpected error: %s\ninput:\n%s", e.msg, text.data);
	buf_free(&text);
	return wf;
}

static bool runs(const struct workflow *wf, const char *event, const char *ref)
{
	struct trigger_event ev = { .name = event, .ref = ref };
	return trigger_matches(wf, &ev, NULL);
}

static bool pushes(const struct workflow *wf, const char *ref, const char *const *files)
{
	size_t count = 0;
	while (files && files[count])
		count++;
	struct trigger_event ev = {
		.name = "push",
		.ref = ref,
		.changed_files = files,
		.changed_count = count,
		.changed_known = files != NULL,
	};
	return trigger_matches(wf, &ev, NULL);
}

static void test_trigger_events(void **state)
{
	(void)state;
	struct workflow *wf = workflow("on: [push, workflow_dispatch]\n");
	assert_true(runs(wf, "push", "refs/heads/anything/at/all"));
	assert_true(runs(wf, "push", "refs/tags/v1"));
	assert_true(runs(wf, "workflow_dispatch", "refs/heads/main"));
	struct buf why = BUF_INIT;
	struct trigger_event ev = { .name = "pull_request", .ref = "refs/pull/1/merge" };
	assert_false(trigger_matches(wf, &ev, &why));
	assert_string_equal(why.data, "not triggered by pull_request");
	workflow_free(wf);

	/* A bare pull_request runs on opened, synchronize and reopened only. */
	wf = workflow("on: pull_request\n");
	ev.activity = "reopened";
	assert_true(trigger_matches(wf, &ev, &why));
	ev.activity = "closed";
	assert_false(trigger_matches(wf, &ev, &why));
	assert_string_equal(why.data,
			    "pull_request runs on opened, synchronize and reopened, not closed");
	buf_free(&why);
	workflow_free(wf);
}

static void test_trigger_push_branches_and_tags(void **state)
{
	(void)state;
	struct workflow *wf = workflow("on:\n"
				       "  push:\n"
				       "    branches:\n"
				       "      - main\n"
				       "      - 'mona/octocat'\n"
				       "      - 'releases/**'\n");
	assert_true(runs(wf, "push", "refs/heads/main"));
	assert_true(runs(wf, "push", "refs/heads/mona/octocat"));
	assert_true(runs(wf, "push", "refs/heads/releases/10"));
	assert_true(runs(wf, "push", "refs/heads/releases/beta/mona"));
	assert_false(runs(wf, "push", "refs/heads/dev"));
	assert_false(runs(wf, "push", "refs/heads/mainline"));
	/* Only branch filters: a tag push does not run, even one named main. */
	assert_false(runs(wf, "push", "refs/tags/main"));
	struct buf why = BUF_INIT;
	struct trigger_event ev = { .name = "push", .ref = "refs/heads/dev" };
	assert_false(trigger_matches(wf, &ev, &why));
	assert_string_equal(why.data, "the branch filters exclude dev");
	buf_free(&why);
	workflow_free(wf);

	wf = workflow("on:\n"
		      "  push:\n"
		      "    tags:\n"
		      "      - v2\n"
		      "      - v1.*\n");
	assert_true(runs(wf, "push", "refs/tags/v2"));
	assert_true(runs(wf, "push", "refs/tags/v1.9.1"));
	assert_false(runs(wf, "push", "refs/tags/v3"));
	/* Only tag filters: a branch push does not run. */
	assert_false(runs(wf, "push", "refs/heads/v2"));
	workflow_free(wf);

	wf = workflow("on:\n"
		      "  push:\n"
		      "    branches: [main]\n"
		      "    tags: ['v*']\n");
	assert_true(runs(wf, "push", "refs/heads/main"));
	assert_true(runs(wf, "push", "refs/tags/v1.0"));
	assert_false(runs(wf, "push", "refs/heads/v1.0"));
	assert_false(runs(wf, "push", "refs/tags/main"));
	workflow_free(wf);

	/* Ignore forms. */
	wf = workflow("on:\n"
		      "  push:\n"
		      "    branches-ignore:\n"
		      "      - 'mona/octocat'\n"
		      "      - 'releases/**-alpha'\n"
		      "    tags-ignore:\n"
		      "      - v2\n"
		      "      - v1.*\n");
	assert_true(runs(wf, "push", "refs/heads/main"));
	assert_true(runs(wf, "push", "refs/heads/releases/10"));
	assert_false(runs(wf, "push", "refs/heads/mona/octocat"));
	assert_false(runs(wf, "push", "refs/heads/releases/beta/3-alpha"));
	assert_true(runs(wf, "push", "refs/tags/v3"));
	assert_false(runs(wf, "push", "refs/tags/v1.9"));
	workflow_free(wf);

	/* Only branches-ignore: tags are not a branch, so they do not run. */
	wf = workflow("on:\n"
		      "  push:\n"
		      "    branches-ignore: [dev]\n");
	assert_true(runs(wf, "push", "refs/heads/main"));
	assert_false(runs(wf, "push", "refs/tags/v1"));
	workflow_free(wf);
}

static void test_trigger_negation_order(void **state)
{
	(void)state;
	struct workflow *wf = workflow("on:\n"
				       "  push:\n"
				       "    branches:\n"
				       "      - 'releases/**'\n"
				       "      - '!releases/**-alpha'\n");
	assert_true(runs(wf, "push", "refs/heads/releases/10"));
	assert_true(runs(wf, "push", "refs/heads/releases/beta/mona"));
	assert_false(runs(wf, "push", "refs/heads/releases/10-alpha"));
	assert_false(runs(wf, "push", "refs/heads/releases/beta/3-alpha"));
	assert_false(runs(wf, "push", "refs/heads/main"));
	workflow_free(wf);

	/* A later positive pattern re-includes. */
	wf = workflow("on:\n"
		      "  push:\n"
		      "    branches:\n"
		      "      - 'releases/**'\n"
		      "      - '!releases/**-alpha'\n"
		      "      - 'releases/keep-alpha'\n");
	assert_true(runs(wf, "push", "refs/heads/releases/keep-alpha"));
	assert_false(runs(wf, "push", "refs/heads/releases/other-alpha"));
	workflow_free(wf);

	/* A negation before the positive pattern has nothing to exclude yet. */
	wf = workflow("on:\n"
		      "  push:\n"
		      "    branches:\n"
		      "      - '!releases/**-alpha'\n"
		      "      - 'releases/**'\n");
	assert_true(runs(wf, "push", "refs/heads/releases/10-alpha"));
	workflow_free(wf);
}

static void test_trigger_branch_pattern_cheat_sheet(void **state)
{
	(void)state;
	static const struct {
		const char *pattern;
		const char *branch;
		bool matches;
	} cases[] = {
		{ "feature/*", "feature/my-branch", true },
		{ "feature/*", "feature/your-branch", true },
		{ "feature/*", "feature/beta-a/my-branch", false },
		{ "feature/**", "feature/beta-a/my-branch", true },
		{ "feature/**", "feature/your-branch", true },
		{ "feature/**", "feature/mona/the/octocat", true },
		{ "main", "main", true },
		{ "releases/mona-the-octocat", "releases/mona-the-octocat", true },
		{ "*", "main", true },
		{ "*", "releases", true },
		{ "*", "releases/v1", false },
		{ "**", "all/the/branches", true },
		{ "**", "every/tag", true },
		{ "*feature", "mona-feature", true },
		{ "*feature", "feature", true },
		{ "*feature", "ver-10-feature", true },
		{ "v2*", "v2", true },
		{ "v2*", "v2.0", true },
		{ "v2*", "v2.9", true },
		{ "v2*", "v3", false },
		{ "v[12].[0-9]+.[0-9]+", "v1.10.1", true },
		{ "v[12].[0-9]+.[0-9]+", "v2.0.0", true },
		{ "v[12].[0-9]+.[0-9]+", "v3.0.0", false },
		{ "v[12].[0-9]+.[0-9]+", "v1..1", false },
		/* `?`: zero or one of the preceding character. */
		{ "Octoc?t", "Octot", true },
		{ "Octoc?t", "Octoct", true },
		{ "[CB]at", "Cat", true },
		{ "[CB]at", "Bat", true },
		{ "[CB]at", "Rat", false },
		{ "[1-2]00", "100", true },
		{ "[1-2]00", "200", true },
		{ "[1-2]00", "300", false },
		/* `\` makes a special character literal. */
		{ "release\\*", "release*", true },
		{ "release\\*", "release1", false },
		/* An unparsable pattern matches nothing. */
		{ "release[", "release[", false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		json_t *filters = json_pack("{s:[s]}", "branches", cases[i].pattern);
		struct workflow_trigger trigger = { .event = "push", .filters = filters };
		struct workflow wf = { .file = "ci.yml",
				       .triggers = &trigger,
				       .triggers_count = 1 };
		struct buf ref = BUF_INIT;
		buf_addf(&ref, "refs/heads/%s", cases[i].branch);
		if (runs(&wf, "push", ref.data) != cases[i].matches)
			fail_msg("'%s' %s '%s'", cases[i].pattern,
				 cases[i].matches ? "should match" : "should not match",
				 cases[i].branch);
		buf_free(&ref);
		json_decref(filters);
	}
}

/* Matching time and stack stay bounded whatever the pattern. */
static void test_trigger_pattern_pathological(void **state)
{
	(void)state;
	struct buf pattern = BUF_INIT;
	for (int i = 0; i < 100000; i++)
		buf_adds(&pattern, "a?");
	struct buf name = BUF_INIT;
	for (int i = 0; i < 200; i++)
		buf_adds(&name, "a");
	json_t *filters = json_pack("{s:[s]}", "branches", pattern.data);
	struct workflow_trigger trigger = { .event = "push", .filters = filters };
	struct workflow wf = { .file = "ci.yml", .triggers = &trigger, .triggers_count = 1 };
	struct buf ref = BUF_INIT;
	buf_addf(&ref, "refs/heads/%s", name.data);
	assert_true(runs(&wf, "push", ref.data));
	json_decref(filters);

	buf_reset(&pattern);
	for (int i = 0; i < 200; i++)
		buf_adds(&pattern, "*a");
	buf_adds(&pattern, "b");
	filters = json_pack("{s:[s]}", "branches", pattern.data);
	trigger.filters = filters;
	assert_false(runs(&wf, "push", ref.data));
	json_decref(filters);
	buf_free(&pattern);
	buf_free(&name);
	buf_free(&ref);
}

/* Whether a push to main changing file runs a workflow with these path patterns. */
static bool path_matches(const char *const *patterns, const char *file)
{
	json_t *list = json_array();
	for (size_t i = 0; patterns[i]; i++)
		json_array_append_new(list, json_string(patterns[i]));
	json_t *filters = json_object();
	json_object_set_new(filters, "paths", list);
	struct workflow_trigger trigger = { .event = "push", .filters = filters };
	struct workflow wf = { .file = "ci.yml", .triggers = &trigger, .triggers_count = 1 };
	const char *files[] = { file, NULL };
	bool result = pushes(&wf, "refs/heads/main", files);
	json_decref(filters);
	return result;
}

static void test_trigger_path_pattern_cheat_sheet(void **state)
{
	(void)state;
	static const struct {
		const char *patterns[4];
		const char *file;
		bool matches;
	} cases[] = {
		{ { "*" }, "README.md", true },
		{ { "*" }, "server.rb", true },
		{ { "*" }, "docs/README.md", false },
		{ { "*.jsx?" }, "page.js", true },
		{ { "*.jsx?" }, "page.jsx", true },
		{ { "*.jsx?" }, "page.jsxx", false },
		{ { "**" }, "all/the/files.md", true },
		{ { "*.js" }, "app.js", true },
		{ { "*.js" }, "index.js", true },
		{ { "*.js" }, "js/index.js", false },
		{ { "**.js" }, "index.js", true },
		{ { "**.js" }, "js/index.js", true },
		{ { "**.js" }, "src/js/app.js", true },
		{ { "docs/*" }, "docs/README.md", true },
		{ { "docs/*" }, "docs/file.txt", true },
		{ { "docs/*" }, "docs/mona/octocat.txt", false },
		{ { "docs/**" }, "docs/README.md", true },
		{ { "docs/**" }, "docs/mona/octocat.txt", true },
		{ { "docs/**" }, "src/docs/a.md", false },
		{ { "docs/**/*.md" }, "docs/README.md", true },
		{ { "docs/**/*.md" }, "docs/mona/hello-world.md", true },
		{ { "docs/**/*.md" }, "docs/a/markdown/file.md", true },
		{ { "docs/**/*.md" }, "docs/a/markdown/file.txt", false },
		{ { "**/docs/**" }, "docs/hello.md", true },
		{ { "**/docs/**" }, "dir/docs/my-file.txt", true },
		{ { "**/docs/**" }, "space/docs/plan/space.doc", true },
		{ { "**/README.md" }, "README.md", true },
		{ { "**/README.md" }, "js/README.md", true },
		{ { "**/*src/**" }, "a/src/app.js", true },
		{ { "**/*src/**" }, "my-src/code/js/app.js", true },
		{ { "**/*-post.md" }, "my-post.md", true },
		{ { "**/*-post.md" }, "path/their-post.md", true },
		{ { "**/migrate-*.sql" }, "migrate-10909.sql", true },
		{ { "**/migrate-*.sql" }, "db/migrate-v1.0.sql", true },
		{ { "**/migrate-*.sql" }, "db/sept/migrate-v1.sql", true },
		{ { "*.md", "!README.md" }, "hello.md", true },
		{ { "*.md", "!README.md" }, "README.md", false },
		{ { "*.md", "!README.md" }, "docs/hello.md", false },
		{ { "*.md", "!README.md", "README*" }, "hello.md", true },
		{ { "*.md", "!README.md", "README*" }, "README.md", true },
		{ { "*.md", "!README.md", "README*" }, "README.doc", true },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		if (path_matches(cases[i].patterns, cases[i].file) != cases[i].matches)
			fail_msg("paths [%s, ...] %s '%s'", cases[i].patterns[0],
				 cases[i].matches ? "should match" : "should not match",
				 cases[i].file);
}

static void test_trigger_paths(void **state)
{
	(void)state;
	struct workflow *wf = workflow("on:\n"
				       "  push:\n"
				       "    paths:\n"
				       "      - 'sub-project/**'\n"
				       "      - '!sub-project/docs/**'\n");
	const char *code[] = { "sub-project/src/a.c", NULL };
	const char *docs[] = { "sub-project/docs/readme.md", NULL };
	const char *both[] = { "sub-project/docs/readme.md", "sub-project/src/a.c", NULL };
	const char *none[] = { NULL };
	assert_true(pushes(wf, "refs/heads/main", code));
	assert_false(pushes(wf, "refs/heads/main", docs));
	assert_true(pushes(wf, "refs/heads/main", both));
	/* With no changed files the workflow does not run. */
	assert_false(pushes(wf, "refs/heads/main", none));
	/* When the changed files are unknown nothing says not to run. */
	assert_true(pushes(wf, "refs/heads/main", NULL));
	struct buf why = BUF_INIT;
	struct trigger_event ev = { .name = "push",
				    .ref = "refs/heads/main",
				    .changed_files = docs,
				    .changed_count = 1,
				    .changed_known = true };
	assert_false(trigger_matches(wf, &ev, &why));
	assert_string_equal(why.data, "no changed file matches the paths filters");
	buf_free(&why);
	workflow_free(wf);

	/* paths-ignore: runs unless every changed file is ignored. */
	wf = workflow("on:\n"
		      "  push:\n"
		      "    paths-ignore:\n"
		      "      - 'docs/**'\n");
	const char *only_docs[] = { "docs/a.md", "docs/b/c.md", NULL };
	const char *mixed[] = { "docs/a.md", "src/main.c", NULL };
	assert_false(pushes(wf, "refs/heads/main", only_docs));
	assert_true(pushes(wf, "refs/heads/main", mixed));
	assert_true(pushes(wf, "refs/heads/main", NULL));
	workflow_free(wf);

	/* Branch and path filters must both be satisfied. */
	wf = workflow("on:\n"
		      "  push:\n"
		      "    branches: [main]\n"
		      "    tags: ['v*']\n"
		      "    paths: ['**.js']\n");
	const char *js[] = { "src/app.js", NULL };
	const char *css[] = { "src/app.css", NULL };
	assert_true(pushes(wf, "refs/heads/main", js));
	assert_false(pushes(wf, "refs/heads/main", css));
	assert_false(pushes(wf, "refs/heads/dev", js));
	/* Path filters are not evaluated for pushes of tags. */
	assert_true(pushes(wf, "refs/tags/v1", css));
	assert_true(pushes(wf, "refs/tags/v1", none));
	workflow_free(wf);
}

static bool pull_request(const struct workflow *wf, const char *event, const char *base,
			 const char *const *files)
{
	size_t count = 0;
	while (files && files[count])
		count++;
	struct trigger_event ev = {
		.name = event,
		.ref = "refs/pull/7/merge",
		.base_ref = base,
		.changed_files = files,
		.changed_count = count,
		.changed_known = files != NULL,
	};
	return trigger_matches(wf, &ev, NULL);
}

static void test_trigger_pull_request(void **state)
{
	(void)state;
	struct workflow *wf = workflow("on:\n"
				       "  pull_request:\n"
				       "    branches:\n"
				       "      - main\n"
				       "      - 'mona/octocat'\n"
				       "      - 'releases/**'\n"
				       "  pull_request_target:\n"
				       "    branches-ignore: ['releases/**-alpha']\n");
	assert_true(pull_request(wf, "pull_request", "main", NULL));
	assert_true(pull_request(wf, "pull_request", "releases/10", NULL));
	assert_false(pull_request(wf, "pull_request", "dev", NULL));
	struct buf why = BUF_INIT;
	struct trigger_event ev = { .name = "pull_request", .base_ref = "dev" };
	assert_false(trigger_matches(wf, &ev, &why));
	assert_string_equal(why.data, "the branch filters exclude base branch dev");
	buf_free(&why);
	assert_true(pull_request(wf, "pull_request_target", "main", NULL));
	assert_false(pull_request(wf, "pull_request_target", "releases/beta/3-alpha", NULL));
	workflow_free(wf);

	wf = workflow("on:\n"
		      "  pull_request:\n"
		      "    paths: ['**.js']\n");
	const char *js[] = { "web/app.js", NULL };
	const char *md[] = { "README.md", NULL };
	assert_true(pull_request(wf, "pull_request", "anything", js));
	assert_false(pull_request(wf, "pull_request", "anything", md));
	assert_true(pull_request(wf, "pull_request", "anything", NULL));
	workflow_free(wf);
}

/* ---- inputs ---- */

static const char *dispatch_workflow = "on:\n"
				       "  workflow_dispatch:\n"
				       "    inputs:\n"
				       "      logLevel:\n"
				       "        description: Log level\n"
				       "        required: true\n"
				       "        default: warning\n"
				       "        type: choice\n"
				       "        options: [info, warning, debug]\n"
				       "      print_tags:\n"
				       "        description: True to print to STDOUT\n"
				       "        required: true\n"
				       "        type: boolean\n"
				       "      tags:\n"
				       "        description: Test scenario tags\n"
				       "        required: true\n"
				       "        type: string\n"
				       "      environment:\n"
				       "        description: Environment to run tests against\n"
				       "        type: environment\n"
				       "        required: true\n"
				       "      retries:\n"
				       "        type: number\n"
				       "        default: 3\n"
				       "      dry_run:\n"
				       "        type: boolean\n"
				       "        default: false\n"
				       "      note:\n"
				       "        description: untyped and optional\n";

static json_t *inputs_ok(const struct workflow *wf, const char *event, const char *given)
{
	json_t *g = given ? json(given) : NULL;
	json_t *out = NULL;
	struct err e = ERR_INIT;
	if (trigger_inputs(wf, event, g, NULL, &out, &e) != 0)
		fail_msg("unexpected error: %s\ngiven: %s", e.msg, given ? given : "(none)");
	json_decref(g);
	assert_true(json_is_object(out));
	return out;
}

static void inputs_err(const struct workflow *wf, const char *event, const char *given,
		       const char *expected)
{
	json_t *g = given ? json(given) : NULL;
	json_t *out = (json_t *)1;
	struct err e = ERR_INIT;
	if (trigger_inputs(wf, event, g, NULL, &out, &e) == 0)
		fail_msg("no error, expected: %s\ngiven: %s", expected, given ? given : "(none)");
	assert_null(out);
	json_decref(g);
	if (strcmp(e.msg, expected) != 0)
		fail_msg("message\n  %s\nis not\n  %s", e.msg, expected);
}

static void test_inputs_dispatch(void **state)
{
	(void)state;
	struct workflow *wf = workflow(dispatch_workflow);
	json_t *in = inputs_ok(wf, "workflow_dispatch",
			       "{\"print_tags\": \"true\", \"tags\": \"smoke\","
			       " \"environment\": \"staging\"}");
	assert_string_equal(json_string_value(json_object_get(in, "logLevel")), "warning");
	assert_true(json_is_true(json_object_get(in, "print_tags")));
	assert_string_equal(json_string_value(json_object_get(in, "tags")), "smoke");
	assert_string_equal(json_string_value(json_object_get(in, "environment")), "staging");
	assert_true(json_is_number(json_object_get(in, "retries")));
	assert_true(json_number_value(json_object_get(in, "retries")) == 3);
	assert_true(json_is_false(json_object_get(in, "dry_run")));
	/* An optional input without default is the empty string. */
	assert_string_equal(json_string_value(json_object_get(in, "note")), "");
	assert_int_equal(json_object_size(in), 7);
	json_decref(in);

	/* Strings from --input are typed. */
	in = inputs_ok(wf, "workflow_dispatch",
		       "{\"logLevel\": \"debug\", \"print_tags\": \"False\", \"tags\": \"\","
		       " \"environment\": \"prod\", \"retries\": \"2.5\", \"dry_run\": \"TRUE\"}");
	assert_string_equal(json_string_value(json_object_get(in, "logLevel")), "debug");
	assert_true(json_is_false(json_object_get(in, "print_tags")));
	assert_true(json_number_value(json_object_get(in, "retries")) == 2.5);
	assert_true(json_is_true(json_object_get(in, "dry_run")));
	json_decref(in);

	inputs_err(wf, "workflow_dispatch", "{\"tags\": \"a\", \"environment\": \"e\"}",
		   "ci.yml: input 'print_tags' is required");
	inputs_err(wf, "workflow_dispatch",
		   "{\"print_tags\": \"yes\", \"tags\": \"a\", \"environment\": \"e\"}",
		   "ci.yml: input 'print_tags' must be true or false");
	inputs_err(wf, "workflow_dispatch",
		   "{\"print_tags\": \"true\", \"tags\": \"a\", \"environment\": \"e\","
		   " \"logLevel\": \"trace\"}",
		   "ci.yml: input 'logLevel': 'trace' is not one of its options");
	inputs_err(wf, "workflow_dispatch",
		   "{\"print_tags\": \"true\", \"tags\": \"a\", \"environment\": \"e\","
		   " \"retries\": \"three\"}",
		   "ci.yml: input 'retries' must be a number, not 'three'");
	inputs_err(wf, "workflow_dispatch",
		   "{\"print_tags\": \"true\", \"tags\": \"a\", \"environment\": \"e\","
		   " \"retries\": \"nan\"}",
		   "ci.yml: input 'retries' must be a number, not 'nan'");
	inputs_err(wf, "workflow_dispatch",
		   "{\"print_tags\": \"true\", \"tags\": \"a\", \"environment\": \"e\","
		   " \"retries\": \"\"}",
		   "ci.yml: input 'retries' must be a number, not ''");
	inputs_err(wf, "workflow_dispatch",
		   "{\"print_tags\": \"true\", \"tags\": \"a\", \"environment\": \"e\","
		   " \"verbose\": \"1\"}",
		   "ci.yml: input 'verbose' is not declared under on.workflow_dispatch.inputs");
	workflow_free(wf);

	/* A workflow that declares no inputs takes none. */
	wf = workflow("on: workflow_dispatch\n");
	in = inputs_ok(wf, "workflow_dispatch", NULL);
	assert_int_equal(json_object_size(in), 0);
	json_decref(in);
	in = inputs_ok(wf, "workflow_dispatch", "{}");
	json_decref(in);
	inputs_err(wf, "workflow_dispatch", "{\"x\": \"1\"}",
		   "ci.yml: input 'x' is not declared under on.workflow_dispatch.inputs");
	workflow_free(wf);

	wf = workflow("on:\n"
		      "  workflow_dispatch:\n"
		      "    inputs:\n"
		      "      level:\n"
		      "        type: severity\n"
		      "        default: x\n");
	inputs_err(wf, "workflow_dispatch", NULL,
		   "ci.yml: input 'level' has an unknown type 'severity'");
	workflow_free(wf);
}

static void test_inputs_call(void **state)
{
	(void)state;
	struct workflow *wf = workflow("on:\n"
				       "  workflow_call:\n"
				       "    inputs:\n"
				       "      config-path:\n"
				       "        required: true\n"
				       "        type: string\n"
				       "      debug:\n"
				       "        type: boolean\n"
				       "      retries:\n"
				       "        type: number\n"
				       "      label:\n"
				       "        type: string\n"
				       "        default: none\n"
				       "    secrets:\n"
				       "      token:\n"
				       "        required: true\n"
				       "    outputs:\n"
				       "      result:\n"
				       "        value: ${{ jobs.a.outputs.r }}\n");
	/* A caller's `with:` may pass typed values. */
	json_t *in = inputs_ok(wf, "workflow_call",
			       "{\"config-path\": \".github/labeler.yml\", \"debug\": true,"
			       " \"retries\": 2, \"label\": 7}");
	assert_string_equal(json_string_value(json_object_get(in, "config-path")),
			    ".github/labeler.yml");
	assert_true(json_is_true(json_object_get(in, "debug")));
	assert_int_equal(json_integer_value(json_object_get(in, "retries")), 2);
	assert_string_equal(json_string_value(json_object_get(in, "label")), "7");
	json_decref(in);

	/* Defaults by type when nothing is given and nothing is declared. */
	in = inputs_ok(wf, "workflow_call", "{\"config-path\": \"x\"}");
	assert_true(json_is_false(json_object_get(in, "debug")));
	assert_true(json_is_number(json_object_get(in, "retries")));
	assert_true(json_number_value(json_object_get(in, "retries")) == 0);
	assert_string_equal(json_string_value(json_object_get(in, "label")), "none");
	json_decref(in);

	inputs_err(wf, "workflow_call", "{}", "ci.yml: input 'config-path' is required");
	inputs_err(wf, "workflow_call", "{\"config-path\": \"x\", \"debug\": 1}",
		   "ci.yml: input 'debug' must be true or false");
	inputs_err(wf, "workflow_call", "{\"config-path\": \"x\", \"other\": 1}",
		   "ci.yml: input 'other' is not declared under on.workflow_call.inputs");
	/* Another event's inputs are not these. */
	inputs_err(wf, "workflow_dispatch", "{\"config-path\": \"x\"}",
		   "ci.yml: input 'config-path' is not declared under "
		   "on.workflow_dispatch.inputs");
	workflow_free(wf);

	/* Defaults of a called workflow may be expressions over github and vars. */
	wf = workflow("on:\n"
		      "  workflow_call:\n"
		      "    inputs:\n"
		      "      n:\n"
		      "        type: number\n"
		      "        default: ${{ 1 }}\n"
		      "      ref:\n"
		      "        type: string\n"
		      "        default: on ${{ github.ref_name }}\n"
		      "      bad:\n"
		      "        type: number\n"
		      "        default: ${{ vars.MISSING }}x\n");
	json_t *contexts = json("{\"github\": {\"ref_name\": \"main\"}, \"vars\": {}}");
	json_t *given = json("{\"bad\": 2}");
	struct err e = ERR_INIT;
	json_t *out = NULL;
	assert_int_equal(trigger_inputs(wf, "workflow_call", given, contexts, &out, &e), 0);
	assert_int_equal(json_integer_value(json_object_get(out, "n")), 1);
	assert_string_equal(json_string_value(json_object_get(out, "ref")), "on main");
	json_decref(out);
	assert_int_equal(trigger_inputs(wf, "workflow_call", NULL, contexts, &out, &e), -1);
	assert_string_equal(e.msg, "ci.yml: input 'bad' must be a number, not 'x'");
	err_clear(&e);
	json_decref(given);
	json_decref(contexts);
	workflow_free(wf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matrix_single_and_multi_dimension),
		cmocka_unit_test(test_matrix_exclude_docs_example),
		cmocka_unit_test(test_matrix_include_docs_example),
		cmocka_unit_test(test_matrix_include_extends_and_adds),
		cmocka_unit_test(test_matrix_include_only),
		cmocka_unit_test(test_matrix_errors),
		cmocka_unit_test(test_matrix_leg_limit),
		cmocka_unit_test(test_matrix_leg_label),
		cmocka_unit_test(test_trigger_events),
		cmocka_unit_test(test_trigger_push_branches_and_tags),
		cmocka_unit_test(test_trigger_negation_order),
		cmocka_unit_test(test_trigger_branch_pattern_cheat_sheet),
		cmocka_unit_test(test_trigger_path_pattern_cheat_sheet),
		cmocka_unit_test(test_trigger_pattern_pathological),
		cmocka_unit_test(test_trigger_paths),
		cmocka_unit_test(test_trigger_pull_request),
		cmocka_unit_test(test_inputs_dispatch),
		cmocka_unit_test(test_inputs_call),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
