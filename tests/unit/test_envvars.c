#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "intel/envvars.h"
#include "intel/languages.h"
#include "intel/project.h"
#include "intel/scan.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SOURCES AMPEL_SOURCE_ROOT "/tests/fixtures/sources/"

struct fixture {
	struct language_table *languages;
	struct scan *scan;
	struct arena *arena;
	struct project *p;
	struct project *sub; /* a second project, when one was asked for */
};

/* Scans a fixture; every file goes to p, or to sub when under sub_dir. */
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

/* "NAME@source" lines joined by '\n', for one readable comparison. */
static char *env_list(const struct project *p)
{
	struct buf out = BUF_INIT;
	for (size_t i = 0; i < p->env.len; i++) {
		const struct env_var *v = p->env.items[i];
		buf_addf(&out, "%s@%s\n", v->name, v->source);
	}
	return buf_detach(&out);
}

static void assert_env(const char *fixture, const char *expected)
{
	struct fixture f;
	fixture_open(&f, fixture, NULL);
	assert_int_equal(envvars_detect(f.p, f.scan, f.arena), 0);
	char *got = env_list(f.p);
	if (strcmp(got, expected) != 0)
		print_error("%s: got\n%s\nexpected\n%s\n", fixture, got, expected);
	assert_string_equal(got, expected);
	free(got);
	fixture_close(&f);
}

static void test_node(void **state)
{
	(void)state;
	assert_env("node", "API_KEY@src/server.js:2\n"
			   "APP_NAME@Dockerfile:3\n"
			   "BUILD_SHA@Dockerfile:2\n"
			   "DATABASE_URL@.env.example:2\n"
			   "EXTRA@Dockerfile:3\n"
			   "FEATURE_FLAGS@docker-compose.yml:6\n"
			   "LEGACY_SETTING@Dockerfile:4\n"
			   "LOG_LEVEL@src/server.js:2\n"
			   "NODE_ENV@Dockerfile:3\n"
			   "PORT@.env.example:4\n"
			   "QUEUE_NAME@docker-compose.yml:10\n"
			   "REDIS_URL@src/server.js:2\n"
			   "SENTRY_DSN@docker-compose.yml:5\n"
			   "SESSION_SECRET@.env.example:3\n"
			   "STRIPE_TOKEN@src/server.js:5\n"
			   "VITE_API_URL@src/client.ts:1\n");
}

/* Values of .env.example (and quoted defaults) must never reach the output. */
static void test_values_never_recorded(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, "node", NULL);
	assert_int_equal(envvars_detect(f.p, f.scan, f.arena), 0);
	char *got = env_list(f.p);
	assert_null(strstr(got, "supersecret"));
	assert_null(strstr(got, "hunter2"));
	assert_null(strstr(got, "postgres://"));
	assert_null(strstr(got, "SNEAKY"));
	assert_null(strstr(got, "4000"));
	free(got);
	fixture_close(&f);
}

/* Shell noise, lower-case names, Vite built-ins, tests and vendored code. */
static void test_noise_filtered(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, "node", NULL);
	assert_int_equal(envvars_detect(f.p, f.scan, f.arena), 0);
	char *got = env_list(f.p);
	assert_null(strstr(got, "HOME@"));
	assert_null(strstr(got, "npm_package_version"));
	assert_null(strstr(got, "lowercase_name"));
	assert_null(strstr(got, "MODE@"));
	assert_null(strstr(got, "TEST_ONLY_SECRET"));
	assert_null(strstr(got, "VENDORED_VAR"));
	free(got);
	fixture_close(&f);
}

static void test_python(void **state)
{
	(void)state;
	assert_env("python", "DATABASE_URL@app/settings.py:7\n"
			     "DJANGO_DEBUG@app/settings.py:6\n"
			     "DJANGO_SECRET_KEY@app/settings.py:5\n"
			     "DJANGO_SETTINGS_MODULE@app/settings.py:10\n"
			     "REDIS_URL@app/settings.py:8\n"
			     "SENTRY_DSN@app/settings.py:9\n");
}

static void test_go(void **state)
{
	(void)state;
	assert_env("go", "API_KEY@main.go:12\n"
			 "DATABASE_URL@main.go:11\n");
}

static void test_rust(void **state)
{
	(void)state;
	assert_env("rust", "CARGO_PKG_VERSION@src/main.rs:8\n"
			   "DATABASE_URL@src/main.rs:6\n"
			   "RUST_LOG@src/main.rs:7\n");
}

static void test_ruby(void **state)
{
	(void)state;
	assert_env("ruby", "PORT@config/puma.rb:2\n"
			   "REDIS_URL@app.rb:4\n"
			   "SECRET_KEY_BASE@app.rb:3\n"
			   "WEB_CONCURRENCY@config/puma.rb:1\n");
}

static void test_java_spring(void **state)
{
	(void)state;
	assert_env("java", "API_KEY@src/main/java/com/example/App.java:8\n"
			   "DB_PASSWORD@src/main/resources/application.properties:2\n"
			   "JDBC_DATABASE_URL@src/main/resources/application.properties:1\n"
			   "MAIL_HOST@src/main/java/com/example/App.java:4\n"
			   "PORT@src/main/resources/application.properties:4\n");
}

static void test_php(void **state)
{
	(void)state;
	assert_env("php", "APP_KEY@config/app.php:4\n"
			  "APP_NAME@config/app.php:3\n"
			  "DB_HOST@config/app.php:5\n"
			  "MAIL_MAILER@config/app.php:6\n");
}

static void test_elixir(void **state)
{
	(void)state;
	assert_env("elixir", "DATABASE_URL@config/runtime.exs:3\n"
			     "PORT@config/runtime.exs:7\n"
			     "SECRET_KEY_BASE@config/runtime.exs:4\n");
}

static void test_csharp(void **state)
{
	(void)state;
	assert_env("csharp", "CONNECTION_STRING@Program.cs:2\n");
}

/* Each project reads only its own files; sources stay paths from the root. */
static void test_projects_separate(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, "mono", "apps/api");
	assert_int_equal(envvars_detect(f.p, f.scan, f.arena), 0);
	assert_int_equal(envvars_detect(f.sub, f.scan, f.arena), 0);
	char *root = env_list(f.p);
	char *api = env_list(f.sub);
	assert_string_equal(root, "ROOT_VAR@server.js:1\n");
	assert_string_equal(api, "API_VAR@apps/api/index.js:1\n");
	free(root);
	free(api);
	fixture_close(&f);
}

static void write_file(const char *dir, const char *name, const char *data, size_t len)
{
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/%s", dir, name);
	FILE *f = fopen(path.data, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	buf_free(&path);
}

/* Binary files and files over the size bound are skipped, never a crash. */
static void test_hostile_files_skipped(void **state)
{
	(void)state;
	char dir[] = "/tmp/ampel-envvars-XXXXXX";
	assert_non_null(mkdtemp(dir));
	static const char binary[] = "\x7f"
				     "ELF\0\0process.env.BINARY_VAR\n";
	write_file(dir, "bin.js", binary, sizeof(binary) - 1);
	size_t big_len = SOURCE_SCAN_MAX_FILE_BYTES + 100;
	char *big = malloc(big_len);
	memset(big, ' ', big_len);
	memcpy(big + big_len - 25, "process.env.BIG_VAR;\n", 21);
	write_file(dir, "big.js", big, big_len);
	free(big);
	const char ok[] = "process.env.OK_VAR;\n";
	write_file(dir, "ok.js", ok, sizeof(ok) - 1);

	struct err e = ERR_INIT;
	struct language_table *languages = NULL;
	struct scan *scan = NULL;
	assert_int_equal(language_table_load(&languages, &e), 0);
	assert_int_equal(scan_tree(&scan, dir, languages, NULL, &e), 0);
	struct arena *arena = arena_new();
	struct project *p = project_new(arena, "");
	for (size_t i = 0; i < scan->files.len; i++)
		((struct scan_file *)scan->files.items[i])->project = p;
	assert_int_equal(envvars_detect(p, scan, arena), 0);
	char *got = env_list(p);
	assert_string_equal(got, "OK_VAR@ok.js:1\n");
	free(got);
	project_free(p);
	arena_free(arena);
	scan_free(scan);
	language_table_free(languages);
	const char *names[] = { "bin.js", "big.js", "ok.js" };
	for (size_t i = 0; i < 3; i++) {
		struct buf path = BUF_INIT;
		buf_addf(&path, "%s/%s", dir, names[i]);
		unlink(path.data);
		buf_free(&path);
	}
	rmdir(dir);
}

static void test_name_validity(void **state)
{
	(void)state;
	assert_true(envvars_name_is_valid("DATABASE_URL", 12));
	assert_true(envvars_name_is_valid("_X1", 3));
	assert_false(envvars_name_is_valid("1X", 2));
	assert_false(envvars_name_is_valid("apiKey", 6));
	assert_false(envvars_name_is_valid("A-B", 3));
	assert_false(envvars_name_is_valid("", 0));
}

static void test_shared_patterns_load(void **state)
{
	(void)state;
	const struct source_patterns *a = NULL, *b = NULL;
	struct err e = ERR_INIT;
	assert_int_equal(source_patterns_shared(&a, &e), 0);
	assert_int_equal(source_patterns_shared(&b, &e), 0);
	assert_non_null(a);
	assert_ptr_equal(a, b); /* compiled once */
}

/* A bad patterns file fails with "file:line:column: pattern '<id>': ...". */
static void assert_parse_error(const char *yaml, const char *needle)
{
	struct source_patterns *set = NULL;
	struct err e = ERR_INIT;
	assert_int_equal(source_patterns_parse(&set, "sp.yaml", yaml, strlen(yaml), &e), -1);
	assert_null(set);
	if (!strstr(e.msg, needle))
		print_error("'%s' does not contain '%s'\n", e.msg, needle);
	assert_non_null(strstr(e.msg, needle));
}

#define HEAD	"env:\n  patterns:\n"
#define PORT_OK "port:\n  patterns: []\n"

static void test_parse_errors(void **state)
{
	(void)state;
	assert_parse_error(
		HEAD
		"    - id: a\n      languages: [go]\n      pattern: 'os\\.Getenv\\(('\n" PORT_OK,
		"sp.yaml:5:");
	assert_parse_error(
		HEAD
		"    - id: a\n      languages: [go]\n      pattern: 'os\\.Getenv\\(('\n" PORT_OK,
		"pattern 'a': at offset");
	assert_parse_error(
		HEAD "    - id: nocap\n      languages: [go]\n      pattern: 'Getenv'\n" PORT_OK,
		"sp.yaml:5:16: pattern 'nocap': needs a capture group");
	assert_parse_error(HEAD
			   "    - id: a\n      languages: [go]\n      pattern: '(x)'\n"
			   "    - id: a\n      languages: [go]\n      pattern: '(y)'\n" PORT_OK,
			   "sp.yaml:6:7: pattern 'a' is defined twice");
	assert_parse_error(HEAD "    - id: a\n      pattern: '(x)'\n" PORT_OK,
			   "pattern 'a': needs 'languages' or 'files'");
	assert_parse_error(HEAD "    - id: a\n      languages: [go]\n      pattern: '(x)'\n      "
				"lsit: comma\n" PORT_OK,
			   "sp.yaml:6:7: pattern 'a': unknown key 'lsit'");
	assert_parse_error(HEAD "    - id: a\n      languages: [go]\n      pattern: '(x)'\n      "
				"list: semicolon\n" PORT_OK,
			   "pattern 'a': list must be 'comma' or 'assignments'");
	assert_parse_error(HEAD "    - id: a\n      languages: [go]\n      pattern: '(x)'\n      "
				"ignore: [lower]\n" PORT_OK,
			   "pattern 'a': ignore (upper-case names): 'lower' is invalid");
	assert_parse_error(
		"env:\n  patterns: []\nport:\n  patterns:\n    - id: p\n      files: [fly.toml]\n  "
		"    pattern: '(\\d+)'\n      tier: best\n",
		"sp.yaml:8:13: pattern 'p': tier must be dockerfile, deploy, config or code");
	assert_parse_error(HEAD "    - id: nopat\n      languages: [go]\n" PORT_OK,
			   "sp.yaml:3:7: pattern 'nopat': 'pattern' must be a non-empty string");
	assert_parse_error(HEAD
			   "    - id: a\n      files: ['[oops']\n      pattern: '(x)'\n" PORT_OK,
			   "sp.yaml:4:15: pattern 'a': files (globs): '[oops' is invalid");
	assert_parse_error("env:\n  patterns: []\n", "'env' and 'port' must both be mappings");
	assert_parse_error("", "sp.yaml: empty file");
}

static void test_parse_minimal(void **state)
{
	(void)state;
	const char *yaml =
		"skip: ['**/*_test.go']\n"
		"env:\n  noise: [HOME]\n  patterns:\n"
		"    - id: go\n      languages: [go]\n      pattern: 'Getenv\\(\"(\\w+)\"'\n"
		"port:\n  patterns:\n"
		"    - id: p\n      tier: code\n      files: ['*.go']\n      pattern: ':(\\d+)'\n";
	struct source_patterns *set = NULL;
	struct err e = ERR_INIT;
	if (source_patterns_parse(&set, "sp.yaml", yaml, strlen(yaml), &e) < 0)
		fail_msg("%s", e.msg);
	source_patterns_free(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node),
		cmocka_unit_test(test_values_never_recorded),
		cmocka_unit_test(test_noise_filtered),
		cmocka_unit_test(test_python),
		cmocka_unit_test(test_go),
		cmocka_unit_test(test_rust),
		cmocka_unit_test(test_ruby),
		cmocka_unit_test(test_java_spring),
		cmocka_unit_test(test_php),
		cmocka_unit_test(test_elixir),
		cmocka_unit_test(test_csharp),
		cmocka_unit_test(test_projects_separate),
		cmocka_unit_test(test_hostile_files_skipped),
		cmocka_unit_test(test_name_validity),
		cmocka_unit_test(test_shared_patterns_load),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_minimal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
