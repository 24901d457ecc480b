#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "intel/entry_points.h"
#include "intel/languages.h"
#include "intel/manifest.h"
#include "intel/project.h"
#include "intel/rules.h"
#include "intel/scan.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/map.h"
#include "util/str.h"
#include "util/vec.h"
#include "util/xalloc.h"
#include "util/yaml.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define RULE_FIXTURES AMPEL_SOURCE_ROOT "/tests/fixtures/rules"
#define REPO_FIXTURES AMPEL_SOURCE_ROOT "/tests/fixtures/repos"

static struct rule_set *rules;
static struct language_table *languages;

static int group_setup(void **state)
{
	struct err e = ERR_INIT;
	if (rules_load(&rules, &e) < 0 || language_table_load(&languages, &e) < 0) {
		fprintf(stderr, "setup: %s\n", e.msg);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	rules_free(rules);
	language_table_free(languages);
	return 0;
}

static void assert_contains(const char *haystack, const char *needle)
{
	if (!haystack || !strstr(haystack, needle))
		fail_msg("'%s' does not contain '%s'", haystack ? haystack : "(null)", needle);
}

/* ------------------------------------------------------------------ */
/* Validation: every mistake names the file, the line and the rule.    */

static void expect_parse_error(const char *yaml, const char *where, const char *what)
{
	struct rule_set *set = NULL;
	struct err e = ERR_INIT;
	if (rules_parse(&set, "config/detection-rules.yaml", yaml, strlen(yaml), &e) == 0) {
		rules_free(set);
		fail_msg("parsed, expected an error containing '%s'", what);
	}
	assert_null(set);
	assert_contains(e.msg, where);
	assert_contains(e.msg, what);
}

static void test_validate_signal_type(void **state)
{
	expect_parse_error("rules:\n"
			   "  - id: nextjs\n"
			   "    name: Next.js\n"
			   "    kind: framework\n"
			   "    signals:\n"
			   "      - weight: 0.9\n",
			   "config/detection-rules.yaml:6:",
			   "rule 'nextjs': signal needs one of file, dependency, content, json, "
			   "script");
	expect_parse_error("rules:\n"
			   "  - id: a\n"
			   "    name: A\n"
			   "    kind: framework\n"
			   "    signals:\n"
			   "      - {file: x, dependency: y, weight: 0.5}\n",
			   ":6:", "found file and dependency");
}

static void test_validate_kind_and_keys(void **state)
{
	expect_parse_error("rules:\n"
			   "  - id: a\n"
			   "    name: A\n"
			   "    kind: frameworks\n"
			   "    signals: [{file: x, weight: 0.5}]\n",
			   ":4:", "rule 'a': unknown kind 'frameworks'");
	expect_parse_error("rules:\n"
			   "  - id: a\n"
			   "    name: A\n"
			   "    kind: framework\n"
			   "    colour: blue\n"
			   "    signals: [{file: x, weight: 0.5}]\n",
			   ":5:", "rule 'a': unknown key 'colour'");
	expect_parse_error("rules:\n"
			   "  - id: a\n"
			   "    name: A\n"
			   "    kind: framework\n"
			   "    signals:\n"
			   "      - file: x\n"
			   "        in: y\n"
			   "        weight: 0.5\n",
			   ":7:", "unknown key 'in' in a file signal");
	expect_parse_error("rules:\n"
			   "  - id: A\n"
			   "    name: A\n",
			   ":2:", "rule needs an 'id' of lowercase");
	expect_parse_error("rules:\n"
			   "  - id: a\n"
			   "    kind: framework\n"
			   "    signals: [{file: x, weight: 0.5}]\n",
			   ":2:", "rule 'a': name must be a non-empty string");
	expect_parse_error("threshold: 0.3\nrulez: []\n", ":2:", "unknown top-level key 'rulez'");
	expect_parse_error("threshold: 1.5\nrules: []\n", ":1:", "threshold must be a number");
	expect_parse_error("rules:\n"
			   "  - id: a\n"
			   "    name: A\n"
			   "    kind: framework\n"
			   "    signals: []\n",
			   ":5:", "rule 'a': needs a non-empty list of signals");
}

static void test_validate_weights(void **state)
{
	static const char *const bad[] = { "0", "1.5", "-0.2", "abc", "0.5x", "[0.5]" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct buf yaml = BUF_INIT;
		buf_addf(&yaml,
			 "rules:\n"
			 "  - id: a\n"
			 "    name: A\n"
			 "    kind: linter\n"
			 "    signals:\n"
			 "      - file: x\n"
			 "        weight: %s\n",
			 bad[i]);
		expect_parse_error(yaml.data, ":7:", "rule 'a': weight must be a number in (0,1]");
		buf_free(&yaml);
	}
	expect_parse_error("rules:\n"
			   "  - id: a\n"
			   "    name: A\n"
			   "    kind: linter\n"
			   "    signals:\n"
			   "      - file: x\n",
			   ":6:", "rule 'a': signal needs a weight");
}

static void test_validate_patterns_and_globs(void **state)
{
	expect_parse_error("rules:\n"
			   "  - id: bad-re\n"
			   "    name: B\n"
			   "    kind: framework\n"
			   "    signals:\n"
			   "      - content: 'from (flask'\n"
			   "        in: app.py\n"
			   "        weight: 0.5\n",
			   ":6:", "rule 'bad-re': bad pattern 'from (flask' at offset 11:");
	expect_parse_error("rules:\n"
			   "  - id: a\n"
			   "    name: A\n"
			   "    kind: framework\n"
			   "    signals:\n"
			   "      - script: '[z-a]'\n"
			   "        weight: 0.5\n",
			   ":6:", "bad pattern '[z-a]' at offset");
	expect_parse_error("rules:\n"
			   "  - id: a\n"
			   "    name: A\n"
			   "    kind: framework\n"
			   "    signals:\n"
			   "      - file: 'next.config.{js,mjs}'\n"
			   "        weight: 0.5\n",
			   ":6:", "uses braces");
	expect_parse_error("rules:\n"
			   "  - id: a\n"
			   "    name: A\n"
			   "    kind: framework\n"
			   "    signals:\n"
			   "      - file: 'src/[a'\n"
			   "        weight: 0.5\n",
			   ":6:", "invalid glob 'src/[a'");
	expect_parse_error("rules:\n"
			   "  - id: a\n"
			   "    name: A\n"
			   "    kind: framework\n"
			   "    signals:\n"
			   "      - content: x\n"
			   "        weight: 0.5\n",
			   ":6:", "a content signal needs 'in'");
	expect_parse_error(
		"rules:\n"
		"  - id: a\n"
		"    name: A\n"
		"    kind: linter\n"
		"    front_end: dev-server\n"
		"    signals: [{file: x, weight: 0.5}]\n",
		":5:", "front_end (dev-server or dev-server-unless-start) is for frameworks");
	expect_parse_error("rules:\n"
			   "  - id: a\n"
			   "    name: A\n"
			   "    kind: framework\n"
			   "    front_end: spa\n"
			   "    signals: [{file: x, weight: 0.5}]\n",
			   ":5:", "front_end (dev-server or dev-server-unless-start)");
	expect_parse_error("script_fallbacks:\n  install: [ci]\nrules: []\n",
			   ":2:", "'install' is not build, test, lint or start");
	expect_parse_error("script_fallbacks:\n  start: start:prod\nrules: []\n",
			   ":2:", "script_fallbacks.start must be a list");
	expect_parse_error("image_programs:\n  node: {program: node}\nrules: []\n", ":2:",
			   "image_programs.node must be {program: NAME, first: [GLOB, ...]}");
	expect_parse_error("image_programs:\n  node: {program: node, first: [x], when: y}\n"
			   "rules: []\n",
			   ":2:", "image_programs.node: unknown key 'when'");
	expect_parse_error("rules:\n"
			   "  - id: a\n"
			   "    name: A\n"
			   "    kind: framework\n"
			   "    signals: [{file: x, weight: 0.5}]\n"
			   "    commands:\n"
			   "      start:\n"
			   "        - run: go run ./cmd/{go_command}\n"
			   "        - run: go run {binary}\n",
			   ":9:", "unknown placeholder '{binary}' (known: run, exec, port");
}

static void test_validate_relations(void **state)
{
	const char *base = "rules:\n"
			   "  - id: a\n"
			   "    name: A\n"
			   "    kind: framework\n"
			   "    signals: [{file: x, weight: 0.5}]\n";
	struct buf yaml = BUF_INIT;

	buf_addf(&yaml,
		 "%s  - id: a\n    name: A2\n    kind: framework\n"
		 "    signals: [{file: y, weight: 0.5}]\n",
		 base);
	expect_parse_error(yaml.data, ":6:", "rule 'a' is defined twice (first at line 2)");

	buf_reset(&yaml);
	buf_addf(&yaml, "%s    implies: [react]\n", base);
	expect_parse_error(yaml.data, ":6:", "rule 'a': implies names unknown rule 'react'");

	buf_reset(&yaml);
	buf_addf(&yaml, "%s    overrides: a\n", base);
	expect_parse_error(yaml.data, ":6:", "overrides names itself");

	buf_reset(&yaml);
	buf_addf(&yaml,
		 "%s    implies: [b]\n  - id: b\n    name: B\n    kind: framework\n"
		 "    implies: [a]\n    signals: [{file: y, weight: 0.5}]\n",
		 base);
	expect_parse_error(yaml.data, ":", "implies forms a cycle");

	buf_reset(&yaml);
	buf_addf(&yaml,
		 "%s    excludes: [b]\n  - id: b\n    name: B\n    kind: framework\n"
		 "    excludes: [a]\n    signals: [{file: y, weight: 0.5}]\n",
		 base);
	expect_parse_error(yaml.data, ":6:", "'a' and 'b' exclude each other");
	buf_free(&yaml);
}

static void test_validate_scope_port_commands(void **state)
{
	expect_parse_error("rules:\n"
			   "  - id: a\n"
			   "    name: A\n"
			   "    kind: framework\n"
			   "    scope: repository\n"
			   "    signals: [{file: x, weight: 0.5}]\n",
			   ":5:", "only ci, cd and container rules may have repository scope");
	expect_parse_error("rules:\n"
			   "  - id: a\n"
			   "    name: A\n"
			   "    kind: ci\n"
			   "    scope: repository\n"
			   "    signals: [{dependency: x, weight: 0.5}]\n",
			   ":6:", "a repository-scope rule sees files only");
	expect_parse_error("rules:\n"
			   "  - id: a\n"
			   "    name: A\n"
			   "    kind: framework\n"
			   "    port: 70000\n"
			   "    signals: [{file: x, weight: 0.5}]\n",
			   ":5:", "port must be a number from 1 to 65535");
	expect_parse_error("rules:\n"
			   "  - id: a\n"
			   "    name: A\n"
			   "    kind: framework\n"
			   "    signals: [{file: x, weight: 0.5}]\n"
			   "    commands:\n"
			   "      start: gunicorn {modul}.wsgi\n",
			   ":7:", "unknown placeholder '{modul}'");
	expect_parse_error("rules:\n"
			   "  - id: a\n"
			   "    name: A\n"
			   "    kind: framework\n"
			   "    signals: [{file: x, weight: 0.5}]\n"
			   "    commands:\n"
			   "      install:\n"
			   "        - run: npm install\n"
			   "        - run: npm ci\n"
			   "          when_file: package-lock.json\n",
			   ":8:", "only the last command may be unconditional");
	expect_parse_error("rules:\n"
			   "  - id: a\n"
			   "    name: A\n"
			   "    kind: framework\n"
			   "    signals: [{file: x, weight: 0.5}]\n"
			   "    commands:\n"
			   "      deploy: fly deploy\n",
			   ":7:", "unknown command 'deploy'");
	expect_parse_error("rules:\n"
			   "  - id: a\n"
			   "    name: A\n"
			   "    kind: framework\n"
			   "    ecosystem: npmjs\n"
			   "    signals: [{file: x, weight: 0.5}]\n",
			   ":5:", "unknown ecosystem 'npmjs'");
	expect_parse_error("rules:\n"
			   "  - id: a\n"
			   "    name: A\n"
			   "    kind: framework\n"
			   "    signals: [{dependency: x, dev: sometimes, weight: 0.5}]\n",
			   ":5:", "dev must be true, false or any");
}

/* when_content: a pattern checked at load, with the files it reads. */
static void test_validate_when_content(void **state)
{
	static const char head[] = "rules:\n"
				   "  - id: a\n"
				   "    name: A\n"
				   "    kind: framework\n"
				   "    signals: [{file: x, weight: 0.5}]\n"
				   "    commands:\n"
				   "      build:\n";
	struct buf yaml = BUF_INIT;
	buf_addf(&yaml,
		 "%s        - run: mix release\n          when_content: '^releases:'\n"
		 "        - run: mix compile\n",
		 head);
	expect_parse_error(yaml.data, ":9:", "rule 'a': when_content needs 'in'");
	buf_reset(&yaml);
	buf_addf(&yaml,
		 "%s        - run: mix release\n          in: mix.exs\n"
		 "        - run: mix compile\n",
		 head);
	expect_parse_error(yaml.data, ":9:", "rule 'a': when_content needs 'in'");
	buf_reset(&yaml);
	buf_addf(&yaml,
		 "%s        - run: mix release\n          when_content: 'releases:('\n"
		 "          in: mix.exs\n"
		 "        - run: mix compile\n",
		 head);
	expect_parse_error(yaml.data, ":9:", "rule 'a': bad pattern 'releases:('");
	buf_reset(&yaml);
	buf_addf(&yaml,
		 "%s        - run: mix release\n          when_content: 'releases:'\n"
		 "          in: /mix.exs\n"
		 "        - run: mix compile\n",
		 head);
	expect_parse_error(yaml.data, ":10:", "must be relative");
	buf_reset(&yaml);
	buf_addf(&yaml,
		 "%s        - run: mix release\n          when_content: 'releases:'\n"
		 "          in: mix.exs\n"
		 "          when_file: rel/**\n"
		 "        - run: mix compile\n",
		 head);
	expect_parse_error(yaml.data, ":8:", "a command has one of when_file");
	buf_reset(&yaml);
	buf_addf(&yaml,
		 "%s        - run: mix release\n          when_content: 'releases:'\n"
		 "          in: mix.exs\n"
		 "        - run: mix compile\n",
		 head);
	struct rule_set *set = NULL;
	struct err e = ERR_INIT;
	if (rules_parse(&set, "t.yaml", yaml.data, yaml.len, &e) < 0)
		fail_msg("%s", e.msg);
	assert_string_equal(rule_command(rules_find(set, "a"), COMMAND_BUILD), "mix compile");
	rules_free(set);
	buf_free(&yaml);
}

/* A valid file parses, and what it says is what the accessors say. */
static void test_parse_minimal(void **state)
{
	const char *yaml = "threshold: 0.4\n"
			   "rules:\n"
			   "  - id: web\n"
			   "    name: Web\n"
			   "    kind: framework\n"
			   "    ecosystem: npm\n"
			   "    language: javascript\n"
			   "    port: 3000\n"
			   "    implies: [lib]\n"
			   "    signals: [{dependency: web, weight: 0.9}]\n"
			   "    commands:\n"
			   "      start: node {main}\n"
			   "      install:\n"
			   "        - {run: npm ci, when_file: package-lock.json}\n"
			   "    vars: {run: npm run}\n"
			   "  - id: lib\n"
			   "    name: Lib\n"
			   "    kind: framework\n"
			   "    signals: [{file: lib.js, weight: 0.5}]\n";
	struct rule_set *set = NULL;
	struct err e = ERR_INIT;
	if (rules_parse(&set, "t.yaml", yaml, strlen(yaml), &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(rules_count(set), 2);
	assert_true(rules_threshold(set) > 0.39 && rules_threshold(set) < 0.41);
	const struct rule *web = rules_find(set, "web");
	assert_non_null(web);
	assert_ptr_equal(rules_get(set, 0), web);
	assert_string_equal(rule_id(web), "web");
	assert_string_equal(rule_name(web), "Web");
	assert_int_equal(rule_kind(web), FINDING_FRAMEWORK);
	assert_string_equal(rule_ecosystem(web), "npm");
	assert_string_equal(rule_language(web), "javascript");
	assert_int_equal(rule_port(web), 3000);
	assert_string_equal(rule_command(web, COMMAND_START), "node {main}");
	assert_null(rule_command(web, COMMAND_INSTALL)); /* only a conditional one */
	assert_null(rule_command(web, COMMAND_TEST));
	assert_string_equal(rule_var(web, "run"), "npm run");
	assert_null(rule_var(web, "exec"));
	assert_null(rule_ecosystem(rules_find(set, "lib")));
	assert_null(rules_find(set, "nope"));
	rules_free(set);
}

static void test_expand(void **state)
{
	struct map *vars = map_new();
	map_put(vars, "exec", "npx");
	map_put(vars, "port", "8080");
	map_put(vars, "module", "mysite");
	struct buf out = BUF_INIT;

	assert_int_equal(rules_expand("{exec} next start -p {port}", vars, &out), 0);
	assert_string_equal(out.data, "npx next start -p 8080");

	buf_reset(&out);
	map_put(vars, "exec", "");
	assert_int_equal(rules_expand("{exec} pytest", vars, &out), 0);
	assert_string_equal(out.data, "pytest");

	buf_reset(&out);
	assert_int_equal(
		rules_expand("gunicorn {module}.wsgi --bind 0.0.0.0:${PORT:-{port}}", vars, &out),
		0);
	assert_string_equal(out.data, "gunicorn mysite.wsgi --bind 0.0.0.0:${PORT:-8080}");

	buf_reset(&out);
	assert_int_equal(rules_expand("uvicorn {app} --port {port} {x-y} {", vars, &out), -1);
	assert_string_equal(out.data, "uvicorn {app} --port 8080 {x-y} {");

	buf_reset(&out);
	assert_int_equal(rules_expand("make", NULL, &out), 0);
	assert_string_equal(out.data, "make");
	buf_free(&out);
	map_free(vars, NULL);
}

/* ------------------------------------------------------------------ */
/* The embedded rule file                                              */

static void test_embedded_rules_cover_the_issue(void **state)
{
	static const char *const required[] = {
		/* frameworks */
		"react", "nextjs", "vue", "nuxt", "svelte", "sveltekit", "angular", "remix",
		"astro", "express", "nestjs", "fastify", "django", "flask", "fastapi", "rails",
		"sinatra", "laravel", "symfony", "spring-boot", "quarkus", "axum", "actix-web",
		"rocket", "gin", "echo", "fiber", "phoenix", "aspnet-core", "vapor",
		/* package managers */
		"npm", "yarn-classic", "yarn-berry", "pnpm", "bun", "pip", "poetry", "pipenv", "uv",
		"pdm", "cargo", "go", "maven", "gradle", "bundler", "composer", "mix", "dotnet",
		"swiftpm", "pub",
		/* build tools */
		"vite", "webpack", "esbuild", "rollup", "turbo", "nx", "lerna", "tsc", "babel",
		"make", "cmake", "setuptools", "hatch",
		/* test frameworks */
		"jest", "vitest", "mocha", "playwright", "cypress", "pytest", "unittest", "tox",
		"cargo-test", "go-test", "junit", "rspec", "minitest", "phpunit", "exunit", "xunit",
		"nunit", "xctest", "flutter-test",
		/* linters */
		"eslint", "prettier", "biome", "ruff", "flake8", "black", "pylint", "mypy",
		"rubocop", "golangci-lint", "clippy", "phpstan", "credo", "ktlint", "checkstyle",
		/* ci */
		"github", "gitlab", "bitbucket", "jenkins", "circleci", "travis", "azure-pipelines",
		"drone", "woodpecker",
		/* cd */
		"flyio", "kubernetes", "helm", "heroku", "google-app-engine", "vercel", "netlify",
		"render", "railway", "serverless", "terraform", "aws-ecs", "google-cloud-run",
		"digitalocean", "azure-container-apps",
		/* containers */
		"docker", "containerfile", "docker-compose"
	};
	for (size_t i = 0; i < sizeof(required) / sizeof(*required); i++)
		if (!rules_find(rules, required[i]))
			fail_msg("no rule '%s' in detection-rules.yaml", required[i]);

	static const struct {
		const char *id;
		int port;
	} ports[] = { { "nextjs", 3000 },  { "vite", 5173 },	    { "django", 8000 },
		      { "flask", 5000 },   { "fastapi", 8000 },	    { "rails", 3000 },
		      { "laravel", 8000 }, { "spring-boot", 8080 }, { "quarkus", 8080 },
		      { "phoenix", 4000 }, { "aspnet-core", 8080 }, { "gin", 8080 },
		      { "express", 3000 }, { "nestjs", 3000 },	    { "astro", 4321 },
		      { "nuxt", 3000 },	   { "sveltekit", 3000 },   { "remix", 3000 },
		      { "angular", 4200 }, { "sinatra", 4567 },	    { "vapor", 8080 },
		      { "rocket", 8000 },  { "actix-web", 8080 } };
	for (size_t i = 0; i < sizeof(ports) / sizeof(*ports); i++)
		assert_int_equal(rule_port(rules_find(rules, ports[i].id)), ports[i].port);

	assert_string_equal(rule_command(rules_find(rules, "npm"), COMMAND_INSTALL), "npm install");
	assert_string_equal(rule_command(rules_find(rules, "phoenix"), COMMAND_START),
			    "mix phx.server");
	assert_string_equal(rule_var(rules_find(rules, "pnpm"), "exec"), "pnpm exec");
	assert_string_equal(rule_var(rules_find(rules, "pip"), "exec"), "");

	size_t per_kind[FINDING_CONTAINER + 1] = { 0 };
	for (size_t i = 0; i < rules_count(rules); i++)
		per_kind[rule_kind(rules_get(rules, i))]++;
	for (int k = 0; k <= FINDING_CONTAINER; k++) {
		print_message("%s: %zu rules\n", finding_kind_name((enum finding_kind)k),
			      per_kind[k]);
		assert_true(per_kind[k] >= 3);
	}
}

/* ------------------------------------------------------------------ */
/* Fixture cases: tests/fixtures/rules/<case>/{tree/, case.yaml}       */

struct case_run {
	const char *name;
	struct scan *scan;
	struct arena *arena;
	struct vec projects; /* struct project * */
	int failures;
};

static void case_fail(struct case_run *run, const struct yaml_node *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void case_fail(struct case_run *run, const struct yaml_node *at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct buf msg = BUF_INIT;
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	print_error("%s/case.yaml:%d: %s\n", run->name, at ? at->line : 0, msg.data);
	buf_free(&msg);
	run->failures++;
}

static int parse_kind_name(const char *name)
{
	for (int k = 0; k <= FINDING_CONTAINER; k++)
		if (str_eq(name, finding_kind_name((enum finding_kind)k)))
			return k;
	return -1;
}

/* Splits "a b c" into at most max words (copies in the arena). */
static size_t split_words(struct arena *arena, const char *text, const char **words, size_t max)
{
	size_t n = 0;
	for (const char *c = text; *c && n < max;) {
		while (*c == ' ')
			c++;
		size_t len = strcspn(c, " ");
		if (len)
			words[n++] = arena_strndup(arena, c, len);
		c += len;
	}
	return n;
}

static void fill_project(struct case_run *run, struct project *p, const struct yaml_node *spec)
{
	const struct yaml_node *deps = yaml_get(spec, "dependencies");
	for (size_t i = 0; deps && i < deps->count; i++) {
		const char *w[4] = { 0 };
		size_t n = split_words(run->arena, yaml_str(deps->items[i]), w, 4);
		bool dev = n > 2 && str_eq(w[n - 1], "dev");
		const char *version = n > 2 && !(n == 3 && dev) ? w[2] : "";
		struct buf source = BUF_INIT;
		buf_addf(&source, "%s%s%s", p->dir, *p->dir ? "/" : "",
			 str_eq(w[0], "npm")	     ? "package.json"
			 : str_eq(w[0], "pypi")	     ? "pyproject.toml"
			 : str_eq(w[0], "go")	     ? "go.mod"
			 : str_eq(w[0], "cargo")     ? "Cargo.toml"
			 : str_eq(w[0], "rubygems")  ? "Gemfile"
			 : str_eq(w[0], "packagist") ? "composer.json"
			 : str_eq(w[0], "hex")	     ? "mix.exs"
			 : str_eq(w[0], "pub")	     ? "pubspec.yaml"
			 : str_eq(w[0], "maven")     ? "pom.xml"
						     : "manifest");
		project_add_dependency(p, run->arena, w[0], w[1], version, dev, source.data);
		buf_free(&source);
	}
	const struct yaml_node *scripts = yaml_get(spec, "scripts");
	for (size_t i = 0; scripts && i < scripts->count; i++)
		map_put(p->scripts, yaml_str(scripts->pairs[i].key),
			arena_strdup(run->arena, yaml_str(scripts->pairs[i].value)));
	const struct yaml_node *members = yaml_get(spec, "workspace");
	for (size_t i = 0; members && i < members->count; i++) {
		p->is_workspace_root = true;
		vec_push(&p->workspace_members,
			 arena_strdup(run->arena, yaml_str(members->items[i])));
	}
}

static void dump_findings(const struct project *p)
{
	for (size_t i = 0; i < p->findings.len; i++) {
		const struct finding *f = p->findings.items[i];
		print_message("    %s %s %.3f [%s]%s%s\n", finding_kind_name(f->kind), f->id,
			      f->confidence, f->evidence ? f->evidence : "",
			      f->path ? " path=" : "", f->path ? f->path : "");
	}
}

static void check_expect(struct case_run *run, struct project *p, const struct yaml_node *item)
{
	const char *w[3] = { 0 };
	bool top = false;
	if (item->kind == YAML_SCALAR) {
		size_t n = split_words(run->arena, yaml_str(item), w, 3);
		top = n == 3 && str_eq(w[2], "top");
	} else {
		w[0] = yaml_str(yaml_get(item, "kind"));
		w[1] = yaml_str(yaml_get(item, "id"));
		top = str_eq(yaml_str(yaml_get(item, "top")), "true");
	}
	int kind = w[0] ? parse_kind_name(w[0]) : -1;
	if (kind < 0 || !w[1]) {
		case_fail(run, item, "bad expectation");
		return;
	}
	const struct finding *f = project_find(p, (enum finding_kind)kind, w[1]);
	if (!f) {
		case_fail(run, item, "project '%s': no %s '%s'", p->path, w[0], w[1]);
		return;
	}
	if (!f->rule)
		case_fail(run, item, "%s: finding->rule is not set", w[1]);
	if (top && project_top(p, (enum finding_kind)kind) != f)
		case_fail(run, item, "project '%s': top %s is '%s', not '%s'", p->path, w[0],
			  project_top(p, (enum finding_kind)kind)->id, w[1]);
	if (item->kind != YAML_MAPPING)
		return;
	const char *text;
	if ((text = yaml_str(yaml_get(item, "min"))) && f->confidence < strtod(text, NULL))
		case_fail(run, item, "%s: confidence %.3f < %s", w[1], f->confidence, text);
	if ((text = yaml_str(yaml_get(item, "max"))) && f->confidence > strtod(text, NULL))
		case_fail(run, item, "%s: confidence %.3f > %s", w[1], f->confidence, text);
	if ((text = yaml_str(yaml_get(item, "evidence"))) &&
	    (!f->evidence || !strstr(f->evidence, text)))
		case_fail(run, item, "%s: evidence '%s' lacks '%s'", w[1],
			  f->evidence ? f->evidence : "(null)", text);
	if ((text = yaml_str(yaml_get(item, "port"))) && f->rule &&
	    rule_port(f->rule) != atoi(text))
		case_fail(run, item, "%s: port %d, not %s", w[1], rule_port(f->rule), text);
	/*
	 * The template that applies to this tree: entry points as found in it
	 * (those its manifests declare too, read from a scratch project so
	 * the case's own dependencies stay the only ones), the other
	 * placeholders standing for themselves.
	 */
	struct arena *arena = arena_new();
	struct map *vars = map_new();
	static const char *const own[] = { "run", "exec", "port", "name", "js" };
	for (size_t i = 0; i < sizeof(own) / sizeof(*own); i++)
		map_put(vars, own[i], arena_printf(arena, "{%s}", own[i]));
	struct project *declared = project_new(arena, p->dir);
	manifest_read_project(declared, run->scan, arena);
	const char *entry;
	void *value;
	for (size_t cursor = 0; map_next(declared->entry_points, &cursor, &entry, &value);)
		map_put(vars, entry, value);
	project_free(declared);
	entry_points_guess(p, run->scan, arena, vars);
	const struct yaml_node *commands = yaml_get(item, "commands");
	for (size_t i = 0; commands && f->rule && i < commands->count; i++) {
		const char *name = yaml_str(commands->pairs[i].key);
		/* null: the rule has no such command for this project */
		const char *want = yaml_is_null(commands->pairs[i].value)
					   ? NULL
					   : yaml_str(commands->pairs[i].value);
		int ck = command_kind_parse(name);
		const char *got = ck < 0 ? NULL
					 : rule_project_command(f->rule, (enum command_kind)ck, p,
								run->scan, vars);
		if (!str_eq(got, want))
			case_fail(run, commands->pairs[i].value, "%s: %s command '%s', not '%s'",
				  w[1], name, got ? got : "(null)", want ? want : "(null)");
	}
	map_free(vars, NULL);
	arena_free(arena);
}

static void check_absent(struct case_run *run, struct project *p, const struct yaml_node *item)
{
	const char *w[2] = { 0 };
	split_words(run->arena, yaml_str(item), w, 2);
	int kind = w[0] ? parse_kind_name(w[0]) : -1;
	if (kind < 0 || !w[1])
		case_fail(run, item, "bad absent entry");
	else if (project_find(p, (enum finding_kind)kind, w[1]))
		case_fail(run, item, "project '%s': unexpected %s '%s'", p->path, w[0], w[1]);
}

static void check_repository(struct case_run *run, struct project *root,
			     const struct yaml_node *list, bool want)
{
	for (size_t i = 0; list && i < list->count; i++) {
		const char *w[3] = { 0 };
		split_words(run->arena, yaml_str(list->items[i]), w, 3);
		int kind = w[0] ? parse_kind_name(w[0]) : -1;
		bool found = false;
		for (size_t j = 0; j < root->findings.len && !found; j++) {
			const struct finding *f = root->findings.items[j];
			found = (int)f->kind == kind && str_eq(f->id, w[1]) &&
				str_eq(f->path, w[2]);
		}
		if (found != want)
			case_fail(run, list->items[i], "%s %s at %s: %s", w[0], w[1], w[2],
				  want ? "not found" : "found, should not be");
	}
}

static struct project *case_project(struct case_run *run, const char *dir)
{
	for (size_t i = 0; i < run->projects.len; i++) {
		struct project *p = run->projects.items[i];
		if (str_eq(p->dir, dir))
			return p;
	}
	return NULL;
}

/* The deepest project holding dir (the root holds everything). */
static struct project *case_owner(struct case_run *run, const char *dir,
				  const struct project * not )
{
	struct project *best = NULL;
	for (size_t i = 0; i < run->projects.len; i++) {
		struct project *p = run->projects.items[i];
		size_t len = strlen(p->dir);
		if (p == not || (len && (strncmp(dir, p->dir, len) != 0 ||
					 (dir[len] != '/' && dir[len] != '\0'))))
			continue;
		if (!best || len > strlen(best->dir))
			best = p;
	}
	return best;
}

static void test_rule_case(void **state)
{
	const char *name = *state;
	struct case_run run = { .name = name, .arena = arena_new() };
	struct err e = ERR_INIT;
	struct buf path = BUF_INIT;
	struct yaml_doc *doc = NULL;

	buf_addf(&path, "%s/%s/case.yaml", RULE_FIXTURES, name);
	if (yaml_load_file(&doc, path.data, &e) < 0)
		fail_msg("%s", e.msg);
	buf_reset(&path);
	buf_addf(&path, "%s/%s/tree", RULE_FIXTURES, name);
	if (scan_tree(&run.scan, path.data, languages, NULL, &e) < 0)
		fail_msg("%s", e.msg);

	/* The projects, parents first; the root is always one. */
	const struct yaml_node *specs = yaml_get(doc->root, "projects");
	vec_push(&run.projects, project_new(run.arena, ""));
	for (size_t i = 0; specs && i < specs->count; i++) {
		const char *dir = yaml_str(yaml_get(specs->items[i], "dir"));
		if (*dir && !case_project(&run, dir))
			vec_push(&run.projects, project_new(run.arena, dir));
	}
	for (size_t i = 0; i < run.projects.len; i++) {
		struct project *p = run.projects.items[i];
		p->parent = *p->dir ? case_owner(&run, p->dir, p) : NULL;
		const struct yaml_node *spec = doc->root;
		for (size_t j = 0; specs && j < specs->count; j++)
			if (str_eq(yaml_str(yaml_get(specs->items[j], "dir")), p->dir))
				spec = specs->items[j];
		fill_project(&run, p, spec);
	}
	for (size_t i = 0; i < run.scan->files.len; i++) {
		struct scan_file *f = run.scan->files.items[i];
		f->project = case_owner(&run, f->dir, NULL);
	}

	struct project *root = run.projects.items[0];
	for (size_t i = 0; i < run.projects.len; i++)
		assert_int_equal(
			rules_apply_project(rules, run.projects.items[i], run.scan, run.arena), 0);
	assert_int_equal(rules_apply_repository(rules, root, run.scan, run.arena), 0);

	for (size_t i = 0; i < run.projects.len; i++) {
		struct project *p = run.projects.items[i];
		const struct yaml_node *spec = doc->root;
		for (size_t j = 0; specs && j < specs->count; j++)
			if (str_eq(yaml_str(yaml_get(specs->items[j], "dir")), p->dir))
				spec = specs->items[j];
		const struct yaml_node *expect = yaml_get(spec, "expect");
		const struct yaml_node *absent = yaml_get(spec, "absent");
		for (size_t j = 0; expect && j < expect->count; j++)
			check_expect(&run, p, expect->items[j]);
		for (size_t j = 0; absent && j < absent->count; j++)
			check_absent(&run, p, absent->items[j]);
	}
	check_repository(&run, root, yaml_get(doc->root, "repository"), true);
	check_repository(&run, root, yaml_get(doc->root, "repository_absent"), false);
	for (size_t i = 0; i < run.scan->warnings.len; i++)
		print_message("warning: %s\n", (const char *)run.scan->warnings.items[i]);

	/* RULES_TEST_DUMP=1 shows every finding, to write a new case's expectations. */
	int failures = run.failures;
	if (failures || getenv("RULES_TEST_DUMP"))
		for (size_t i = 0; i < run.projects.len; i++) {
			print_message("  project '%s' found:\n",
				      ((struct project *)run.projects.items[i])->path);
			dump_findings(run.projects.items[i]);
		}
	for (size_t i = 0; i < run.projects.len; i++)
		project_free(run.projects.items[i]);
	vec_free(&run.projects, NULL);
	scan_free(run.scan);
	yaml_doc_free(doc);
	arena_free(run.arena);
	buf_free(&path);
	if (failures)
		fail_msg("%s: %d expectation(s) not met", name, failures);
}

/* ------------------------------------------------------------------ */
/* Larger behaviour                                                    */

/* Every file of a big tree is looked at once; a rule set applies in linear time. */
static void test_many_files_stay_fast(void **state)
{
	struct arena *arena = arena_new();
	struct scan scan = { 0 };
	scan.arena = arena;
	scan.root = "/nonexistent";
	struct project *p = project_new(arena, "");
	for (int i = 0; i < 100000; i++) {
		struct scan_file *f = arena_calloc(arena, 1, sizeof(*f));
		char *path = arena_printf(arena, "pkg%03d/sub/file%05d.%s", i % 500, i,
					  i % 3 ? "go" : "txt");
		f->path = path;
		f->name = strrchr(path, '/') + 1;
		f->dir = arena_strndup(arena, path, (size_t)(f->name - path - 1));
		f->project = p;
		vec_push(&scan.files, f);
	}
	struct scan_file *mod = arena_calloc(arena, 1, sizeof(*mod));
	mod->path = mod->name = "go.mod";
	mod->dir = "";
	mod->project = p;
	vec_insert(&scan.files, 0, mod);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(rules_apply_project(rules, p, &scan, arena), 0);
	assert_int_equal(rules_apply_repository(rules, p, &scan, arena), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	print_message("rules over 100001 files: %.1f ms\n", ms);
	assert_non_null(project_find(p, FINDING_PACKAGE_MANAGER, "go"));
	assert_null(project_find(p, FINDING_TEST_FRAMEWORK, "go-test"));
	vec_free(&scan.files, NULL);
	vec_free(&scan.warnings, NULL);
	project_free(p);
	arena_free(arena);
}

/*
 * The fixture repositories of the analysis tests, with dependencies read by
 * the manifest readers: each repository as one project, "kind id [top]".
 */
static const struct {
	const char *repo;
	const char *findings[6];
} repo_expectations[] = {
	{ "java-maven-multimodule", { "package_manager maven top" } },
	{ "java-quarkus-gradle", { "framework quarkus", "package_manager gradle top" } },
	{ "java-spring-maven",
	  { "framework spring-boot", "package_manager maven top", "test_framework junit" } },
	{ "kotlin-spring-gradle-kts", { "framework spring-boot", "package_manager gradle top" } },
	{ "node-angular", { "framework angular", "package_manager npm top" } },
	{ "node-astro", { "framework astro", "package_manager npm top" } },
	{ "node-express", { "framework express", "package_manager npm top" } },
	{ "node-fastify", { "framework fastify", "package_manager npm top" } },
	{ "node-nestjs", { "framework nestjs", "package_manager npm top" } },
	{ "node-nextjs-pnpm",
	  { "framework nextjs", "framework react", "package_manager pnpm top" } },
	{ "node-nuxt", { "framework nuxt", "framework vue", "package_manager npm top" } },
	{ "node-remix", { "framework remix", "framework react", "build_tool vite" } },
	{ "node-sveltekit-bun",
	  { "framework sveltekit", "framework svelte", "package_manager bun top" } },
	{ "node-vite-react-yarn-berry",
	  { "framework react", "build_tool vite", "package_manager yarn-berry top" } },
	{ "php-laravel", { "framework laravel", "package_manager composer top" } },
	{ "php-symfony", { "framework symfony", "package_manager composer top" } },
	{ "python-django-poetry", { "framework django", "package_manager poetry top" } },
	{ "python-fastapi-uv", { "framework fastapi", "package_manager uv top" } },
	{ "python-flask-pip", { "framework flask", "package_manager pip top" } },
	{ "python-pdm", { "package_manager pdm top" } },
	{ "python-pipenv", { "package_manager pipenv top" } },
	{ "python-setuptools-lib", { "build_tool setuptools", "test_framework tox" } },
	{ "ruby-rails", { "framework rails", "package_manager bundler top" } },
	{ "ruby-sinatra", { "framework sinatra", "package_manager bundler top" } },
	{ "rust-actix", { "framework actix-web", "package_manager cargo top" } },
	{ "rust-axum", { "framework axum", "package_manager cargo top" } },
	{ "rust-rocket", { "framework rocket", "package_manager cargo top" } },
	{ "rust-workspace", { "package_manager cargo top" } },
};

static int check_repository_fixture(const char *name, struct project *p)
{
	int failures = 0;
	for (size_t i = 0; i < sizeof(repo_expectations) / sizeof(*repo_expectations); i++) {
		if (!str_eq(repo_expectations[i].repo, name))
			continue;
		for (const char *const *want = repo_expectations[i].findings; *want; want++) {
			char kind_name[32], id[64], top[8] = "";
			if (sscanf(*want, "%31s %63s %7s", kind_name, id, top) < 2)
				fail_msg("bad expectation '%s'", *want);
			enum finding_kind kind = (enum finding_kind)parse_kind_name(kind_name);
			const struct finding *f = project_find(p, kind, id);
			if (!f || (*top && project_top(p, kind) != f)) {
				print_error("repos/%s: %s %s%s\n", name, kind_name, id,
					    f ? " is not the top one" : " not found");
				failures++;
			}
		}
	}
	return failures;
}

static void test_fixture_repositories(void **state)
{
	DIR *dir = opendir(REPO_FIXTURES);
	if (!dir)
		fail_msg("cannot open %s", REPO_FIXTURES);
	size_t ran = 0;
	int failures = 0;
	struct dirent *entry;
	while ((entry = readdir(dir))) {
		if (entry->d_name[0] == '.')
			continue;
		struct buf root = BUF_INIT;
		buf_addf(&root, "%s/%s", REPO_FIXTURES, entry->d_name);
		struct stat st;
		struct scan *scan = NULL;
		struct err e = ERR_INIT;
		if (stat(root.data, &st) < 0 || !S_ISDIR(st.st_mode) ||
		    scan_tree(&scan, root.data, languages, NULL, &e) < 0) {
			buf_free(&root);
			continue;
		}
		struct arena *arena = arena_new();
		struct project *p = project_new(arena, "");
		for (size_t i = 0; i < scan->files.len; i++)
			((struct scan_file *)scan->files.items[i])->project = p;
		manifest_read_project(p, scan, arena);
		assert_int_equal(rules_apply_project(rules, p, scan, arena), 0);
		assert_int_equal(rules_apply_repository(rules, p, scan, arena), 0);
		ran++;
		int failed = check_repository_fixture(entry->d_name, p);
		if (failed || getenv("RULES_TEST_DUMP")) {
			print_message("  repos/%s found:\n", entry->d_name);
			dump_findings(p);
		}
		failures += failed;
		project_free(p);
		arena_free(arena);
		scan_free(scan);
		buf_free(&root);
	}
	closedir(dir);
	print_message("rules ran over %zu fixture repositories\n", ran);
	if (failures)
		fail_msg("%d fixture repository expectation(s) not met", failures);
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_validate_signal_type),
		cmocka_unit_test(test_validate_kind_and_keys),
		cmocka_unit_test(test_validate_weights),
		cmocka_unit_test(test_validate_patterns_and_globs),
		cmocka_unit_test(test_validate_relations),
		cmocka_unit_test(test_validate_scope_port_commands),
		cmocka_unit_test(test_validate_when_content),
		cmocka_unit_test(test_parse_minimal),
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_embedded_rules_cover_the_issue),
		cmocka_unit_test(test_many_files_stay_fast),
		cmocka_unit_test(test_fixture_repositories),
	};
	size_t nfixed = sizeof(fixed) / sizeof(*fixed);

	/* One test per fixture case, so a failure names its case. */
	struct vec names = VEC_INIT;
	DIR *dir = opendir(RULE_FIXTURES);
	for (struct dirent *entry; dir && (entry = readdir(dir));) {
		struct buf spec = BUF_INIT;
		struct stat st;
		buf_addf(&spec, "%s/%s/case.yaml", RULE_FIXTURES, entry->d_name);
		if (entry->d_name[0] != '.' && stat(spec.data, &st) == 0)
			vec_push(&names, xstrdup(entry->d_name));
		buf_free(&spec);
	}
	if (dir)
		closedir(dir);
	vec_sort(&names, compare_names);
	if (!names.len) {
		fprintf(stderr, "no rule fixtures under %s\n", RULE_FIXTURES);
		return 1;
	}

	struct CMUnitTest *tests = xcalloc(nfixed + names.len, sizeof(*tests));
	memcpy(tests, fixed, sizeof(fixed));
	for (size_t i = 0; i < names.len; i++) {
		struct CMUnitTest *t = &tests[nfixed + i];
		t->name = names.items[i];
		t->test_func = test_rule_case;
		t->initial_state = names.items[i];
	}
	int rc = _cmocka_run_group_tests("rules", tests, nfixed + names.len, group_setup,
					 group_teardown);
	free(tests);
	vec_free(&names, free);
	return rc;
}
