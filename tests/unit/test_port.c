#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "intel/languages.h"
#include "intel/port.h"
#include "intel/project.h"
#include "intel/rules.h"
#include "intel/scan.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

#define SOURCES AMPEL_SOURCE_ROOT "/tests/fixtures/sources/"

struct fixture {
	struct language_table *languages;
	struct scan *scan;
	struct arena *arena;
	struct project *p;
	struct project *sub;
};

static void fixture_open(struct fixture *f, const char *name, const char *sub_dir)
{
	struct err e = ERR_INIT;
	memset(f, 0, sizeof(*f));
	if (language_table_load(&f->languages, &e) < 0)
		fail_msg("languages: %s", e.msg);
	struct buf root = BUF_INIT;
	buf_addf(&root, "%s%s", SOURCES, name);
	if (scan_tree(&f->scan, root.data, f->languages, NULL, &e) < 0)
		fail_msg("scan: %s", e.msg);
	buf_free(&root);
	f->arena = arena_new();
	f->p = project_new(f->arena, "");
	if (sub_dir)
		f->sub = project_new(f->arena, sub_dir);
	for (size_t i = 0; i < f->scan->files.len; i++) {
		struct scan_file *file = f->scan->files.items[i];
		size_t n = sub_dir ? strlen(sub_dir) : 0;
		bool in_sub =
			sub_dir && strncmp(file->path, sub_dir, n) == 0 && file->path[n] == '/';
		file->project = in_sub ? f->sub : f->p;
	}
}

static void fixture_close(struct fixture *f)
{
	project_free(f->p);
	project_free(f->sub);
	arena_free(f->arena);
	scan_free(f->scan);
	language_table_free(f->languages);
}

static void assert_port(const char *fixture, int port, const char *source)
{
	struct fixture f;
	fixture_open(&f, fixture, NULL);
	assert_int_equal(port_detect(f.p, f.scan, f.arena), 0);
	if (f.p->port != port)
		print_error("%s: port %d from %s, expected %d from %s\n", fixture, f.p->port,
			    f.p->port_source ? f.p->port_source : "nothing", port,
			    source ? source : "nothing");
	assert_int_equal(f.p->port, port);
	if (source)
		assert_string_equal(f.p->port_source, source);
	else
		assert_null(f.p->port_source);
	fixture_close(&f);
}

/* The node fixture has EXPOSE 8080, PORT=4000 in .env.example and `|| 3000` in code. */
static void test_expose_beats_config_and_code(void **state)
{
	(void)state;
	assert_port("node", 8080, "Dockerfile:6");
}

static void test_config_beats_code(void **state)
{
	(void)state;
	assert_port("java", 8081, "src/main/resources/application.properties:4");
}

static void test_deploy_beats_code(void **state)
{
	(void)state;
	assert_port("port-fly", 8080, "fly.toml:4");
}

/* EXPOSE 99999 and PORT=70000 are not ports: the listen call decides. */
static void test_out_of_range_ignored(void **state)
{
	(void)state;
	assert_port("port-out-of-range", 4000, "src/index.js:2");
}

/* The project's own Dockerfile beats a dev container's, though it sorts later. */
static void test_nearest_dockerfile_wins(void **state)
{
	(void)state;
	assert_port("port-nearest", 8080, "Dockerfile:2");
}

static void test_code_per_language(void **state)
{
	(void)state;
	assert_port("python", 8000, "main.py:7");
	assert_port("go", 8080, "main.go:18");
	assert_port("rust", 3000, "src/main.rs:9");
	assert_port("port-actix", 8088, "src/main.rs:6");
	assert_port("ruby", 3000, "config/puma.rb:2");
	assert_port("elixir", 4000, "config/runtime.exs:7");
	assert_port("csharp", 5000, "Program.cs:4");
}

static void test_config_files(void **state)
{
	(void)state;
	assert_port("port-spring-yaml", 8082, "src/main/resources/application.yml:7");
	assert_port("port-procfile", 5000, "Procfile:2");
}

static void test_nothing_tells(void **state)
{
	(void)state;
	assert_port("port-none", 0, NULL);
}

/* Each project reads only its own files. */
static void test_projects_separate(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, "mono", "apps/api");
	assert_int_equal(port_detect(f.p, f.scan, f.arena), 0);
	assert_int_equal(port_detect(f.sub, f.scan, f.arena), 0);
	assert_int_equal(f.p->port, 0);
	assert_int_equal(f.sub->port, 7000);
	assert_string_equal(f.sub->port_source, "apps/api/index.js:2");
	fixture_close(&f);
}

/* The real rule set, loaded once for the fallback tests. */
static struct rule_set *test_rules;

static void add_framework(struct project *p, struct arena *arena, const char *id, double confidence)
{
	if (!test_rules) {
		struct err e = ERR_INIT;
		if (rules_load(&test_rules, &e) < 0)
			fail_msg("rules: %s", e.msg);
	}
	const struct rule *rule = rules_find(test_rules, id);
	assert_non_null(rule);
	struct finding *f =
		project_add_finding(p, arena, FINDING_FRAMEWORK, id, id, confidence, "test");
	f->rule = rule;
}

static void test_framework_default(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, "port-none", NULL);
	/* findings come after port_detect: its own fallback would already use them */
	assert_int_equal(port_detect(f.p, f.scan, f.arena), 0);
	assert_int_equal(f.p->port, 0);
	/* React is more confident, but Next.js implies it: the specific one decides. */
	add_framework(f.p, f.arena, "react", 0.95);
	add_framework(f.p, f.arena, "nextjs", 0.9);
	add_framework(f.p, f.arena, "django", 0.5);
	port_from_findings(f.p, f.arena, rule_port);
	assert_int_equal(f.p->port, 3000);
	assert_string_equal(f.p->port_source, "framework default (nextjs)");
	fixture_close(&f);
}

/* Equal confidences: the smaller id wins, whatever order the rules ran in. */
static void test_framework_default_tie(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, "port-none", NULL);
	add_framework(f.p, f.arena, "django", 0.8);
	add_framework(f.p, f.arena, "flask", 0.8);
	port_from_findings(f.p, f.arena, rule_port);
	assert_int_equal(f.p->port, 8000);
	assert_string_equal(f.p->port_source, "framework default (django)");
	fixture_close(&f);
}

/* With the real rule engine: port_detect falls back to the rule's `port:`. */
static void test_real_rule_default(void **state)
{
	(void)state;
	struct rule_set *rules = NULL;
	struct err e = ERR_INIT;
	if (rules_load(&rules, &e) < 0)
		fail_msg("rules: %s", e.msg);
	const struct rule *next = rules_find(rules, "nextjs");
	assert_non_null(next);
	assert_true(rule_port(next) > 0);
	struct fixture f;
	fixture_open(&f, "port-none", NULL);
	struct finding *finding = project_add_finding(f.p, f.arena, FINDING_FRAMEWORK, "nextjs",
						      "Next.js", 0.9, "test");
	finding->rule = next;
	assert_int_equal(port_detect(f.p, f.scan, f.arena), 0);
	assert_int_equal(f.p->port, rule_port(next));
	assert_string_equal(f.p->port_source, "framework default (nextjs)");
	fixture_close(&f);
	rules_free(rules);
}

/* Code beats the framework default. */
static void test_code_beats_default(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, "port-out-of-range", NULL);
	assert_int_equal(port_detect(f.p, f.scan, f.arena), 0);
	add_framework(f.p, f.arena, "nextjs", 0.9);
	port_from_findings(f.p, f.arena, rule_port);
	assert_int_equal(f.p->port, 4000);
	assert_string_equal(f.p->port_source, "src/index.js:2");
	fixture_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expose_beats_config_and_code),
		cmocka_unit_test(test_config_beats_code),
		cmocka_unit_test(test_deploy_beats_code),
		cmocka_unit_test(test_out_of_range_ignored),
		cmocka_unit_test(test_nearest_dockerfile_wins),
		cmocka_unit_test(test_code_per_language),
		cmocka_unit_test(test_config_files),
		cmocka_unit_test(test_nothing_tells),
		cmocka_unit_test(test_projects_separate),
		cmocka_unit_test(test_framework_default),
		cmocka_unit_test(test_framework_default_tie),
		cmocka_unit_test(test_real_rule_default),
		cmocka_unit_test(test_code_beats_default),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	rules_free(test_rules);
	return failed;
}
