#include "intel/runtimes.h"

#include "intel/languages.h"
#include "intel/manifest.h"
#include "intel/project.h"
#include "intel/scan.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/map.h"

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define REPOS AMPEL_SOURCE_ROOT "/tests/fixtures/repos/"

struct fixture {
	struct language_table *languages;
	struct scan *scan;
	struct arena *arena;
	struct project *p;
};

static void fixture_open_path(struct fixture *f, const char *root, const char *dir, bool manifests)
{
	struct err e = ERR_INIT;
	memset(f, 0, sizeof(*f));
	if (language_table_load(&f->languages, &e) < 0)
		fail_msg("languages: %s", e.msg);
	if (scan_tree(&f->scan, root, f->languages, NULL, &e) < 0)
		fail_msg("scan %s: %s", root, e.msg);
	f->arena = arena_new();
	f->p = project_new(f->arena, dir);
	if (runtimes_detect(f->p, f->scan, f->arena, &e) < 0)
		fail_msg("runtimes_detect: %s", e.msg);
	if (manifests)
		assert_int_equal(manifest_read_project(f->p, f->scan, f->arena), 0);
}

static void fixture_open(struct fixture *f, const char *repo, const char *dir)
{
	struct buf root = BUF_INIT;
	buf_addf(&root, "%s%s", REPOS, repo);
	fixture_open_path(f, root.data, dir, false);
	buf_free(&root);
}

static void fixture_close(struct fixture *f)
{
	project_free(f->p);
	arena_free(f->arena);
	scan_free(f->scan);
	language_table_free(f->languages);
}

static void assert_runtime(const struct project *p, const char *runtime, const char *version,
			   const char *source)
{
	const char *got = map_get(p->runtimes, runtime);
	if (!got)
		fail_msg("no runtime '%s'", runtime);
	if (strcmp(got, version) != 0)
		fail_msg("runtime '%s' is '%s', expected '%s'", runtime, got, version);
	const char *from = map_get(p->runtime_sources, runtime);
	if (strcmp(from, source) != 0)
		fail_msg("runtime '%s' comes from '%s', expected '%s'", runtime, from, source);
}

/* ---- a scratch repository ---- */

static char scratch[64];

static void scratch_write(const char *path, const char *text)
{
	struct buf full = BUF_INIT, dir = BUF_INIT;
	buf_addf(&full, "%s/%s", scratch, path);
	buf_adds(&dir, full.data);
	char *slash = strrchr(dir.data, '/');
	*slash = '\0';
	struct buf mk = BUF_INIT;
	buf_addf(&mk, "mkdir -p '%s'", dir.data);
	assert_int_equal(system(mk.data), 0);
	FILE *fp = fopen(full.data, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	buf_free(&full);
	buf_free(&dir);
	buf_free(&mk);
}

static int scratch_remove(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int scratch_setup(void **state)
{
	(void)state;
	snprintf(scratch, sizeof(scratch), "/tmp/ampel-runtimes-XXXXXX");
	return mkdtemp(scratch) ? 0 : -1;
}

static int scratch_teardown(void **state)
{
	(void)state;
	return nftw(scratch, scratch_remove, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- tests ---- */

static void test_table_loads(void **state)
{
	(void)state;
	struct runtime_table *table = NULL;
	struct err e = ERR_INIT;
	if (runtime_table_load(&table, &e) < 0)
		fail_msg("%s", e.msg);
	assert_true(runtime_table_count(table) >= 30);
	runtime_table_free(table);
}

static void parse_fails(const char *yaml, const char *expected)
{
	struct runtime_table *table = NULL;
	struct err e = ERR_INIT;
	if (runtime_table_parse(&table, "runtimes.yaml", yaml, strlen(yaml), &e) == 0)
		fail_msg("parsed, expected: %s", expected);
	assert_null(table);
	if (!strstr(e.msg, expected))
		fail_msg("error '%s' does not contain '%s'", e.msg, expected);
}

static void test_table_validation(void **state)
{
	(void)state;
	parse_fails("other: 1\n", "runtimes.yaml:1:1: expected a 'runtimes' list");
	parse_fails("", "runtimes.yaml: empty file");
	parse_fails("runtimes:\n  - runtime: node\n    file: .nvmrc\n    pattern: '(['\n",
		    "runtimes.yaml:4:14: entry '.nvmrc': pattern: missing terminating ]");
	parse_fails("runtimes:\n  - runtime: node\n    file: .nvmrc\n    pattern: '(a)(b)'\n",
		    "runtimes.yaml:4:14: entry '.nvmrc': pattern must have exactly one capture "
		    "group (the version), it has 2");
	parse_fails("runtimes:\n  - runtime: node\n    file: .nvmrc\n    pattern: 'a'\n",
		    "it has 0");
	parse_fails("runtimes:\n  - file: .nvmrc\n    pattern: '(a)'\n",
		    "runtimes.yaml:2:5: entry '.nvmrc': 'runtime' must be a lowercase id");
	parse_fails("runtimes:\n  - runtime: Node\n    file: .nvmrc\n    pattern: '(a)'\n",
		    "'runtime' must be a lowercase id");
	parse_fails("runtimes:\n  - runtime: node\n    file: .nvmrc\n    patern: '(a)'\n",
		    "runtimes.yaml:4:5: entry '.nvmrc': unknown field 'patern'");
	parse_fails("runtimes:\n  - runtime: node\n    file: .nvmrc\n    pattern: '(a)'\n"
		    "    json: a.b\n",
		    "needs exactly one of 'pattern', 'json' or 'toml'");
	parse_fails("runtimes:\n  - runtime: node\n    file: .nvmrc\n",
		    "needs exactly one of 'pattern', 'json' or 'toml'");
	parse_fails("runtimes:\n  - runtime: node\n    file: ../.nvmrc\n    json: a\n",
		    "file must be a relative path inside the directory");
	parse_fails("runtimes:\n  - runtime: node\n    pattern: '(a)'\n", "entry without a 'file'");
	parse_fails("runtimes:\n  - runtime: node\n    file: .nvmrc\n    json: [a]\n",
		    "runtimes.yaml:4:11: entry '.nvmrc': 'json' must be a non-empty string");
	parse_fails("runtimes:\n  - just a string\n", "each entry must be a mapping");

	struct runtime_table *table = NULL;
	struct err e = ERR_INIT;
	const char *ok = "runtimes:\n  - runtime: node\n    file: .nvmrc\n    pattern: '(\\S+)'\n";
	assert_int_equal(runtime_table_parse(&table, "x.yaml", ok, strlen(ok), &e), 0);
	assert_int_equal(runtime_table_count(table), 1);
	runtime_table_free(table);
}

static void test_normalize(void **state)
{
	(void)state;
	struct arena *arena = arena_new();
	const char *cases[][2] = {
		{ "v20.11.0", "20.11.0" },
		{ "  20 \n", "20" },
		{ "lts/*", "lts/*" },
		{ "lts/iron", "lts/iron" },
		{ "python-3.11.4", "3.11.4" },
		{ "python-3.11", "3.11" },
		{ "ruby-3.2.2", "3.2.2" },
		{ "go1.22.1", "1.22.1" },
		{ "\"1.76.0\"", "1.76.0" },
		{ "'3.12'", "3.12" },
		{ "stable", "stable" },
		{ "nightly-2024-01-01", "nightly-2024-01-01" },
		{ "pypy3.10-7.3.12", "pypy3.10-7.3.12" },
		{ "jruby-9.4.5.0", "jruby-9.4.5.0" },
		{ "vim", "vim" },
		{ "", "" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const char *got = runtime_normalize_version(arena, cases[i][0]);
		if (strcmp(got, cases[i][1]) != 0)
			fail_msg("'%s' -> '%s', expected '%s'", cases[i][0], got, cases[i][1]);
	}
	assert_string_equal(runtime_normalize_version(arena, NULL), "");
	arena_free(arena);
}

static void test_fixture_version_files(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, "node-express", "");
	assert_runtime(f.p, "node", "20.11.0", ".nvmrc");
	fixture_close(&f);

	fixture_open(&f, "node-nextjs-pnpm", "");
	assert_runtime(f.p, "node", "20.11.0", ".node-version");
	fixture_close(&f);

	fixture_open(&f, "node-sveltekit-bun", "");
	assert_runtime(f.p, "bun", "1.1.21", ".bun-version");
	fixture_close(&f);

	fixture_open(&f, "python-flask-pip", "");
	assert_runtime(f.p, "python", "3.11.4", "runtime.txt");
	fixture_close(&f);

	fixture_open(&f, "python-fastapi-uv", "");
	assert_runtime(f.p, "python", "3.12", ".python-version");
	fixture_close(&f);

	fixture_open(&f, "rust-axum", "");
	assert_runtime(f.p, "rust", "1.76.0", "rust-toolchain.toml");
	fixture_close(&f);

	fixture_open(&f, "rust-workspace", "");
	assert_runtime(f.p, "rust", "stable", "rust-toolchain");
	fixture_close(&f);

	fixture_open(&f, "ruby-rails", "");
	assert_runtime(f.p, "ruby", "3.2.2", ".ruby-version");
	fixture_close(&f);

	fixture_open(&f, "elixir-phoenix", "");
	assert_runtime(f.p, "elixir", "1.16.1", ".tool-versions");
	assert_runtime(f.p, "erlang", "26.2.1", ".tool-versions");
	assert_null(map_get(f.p->runtimes, "node"));
	fixture_close(&f);

	fixture_open(&f, "go-fiber", "");
	assert_runtime(f.p, "go", "1.22.0", ".go-version");
	fixture_close(&f);

	fixture_open(&f, "deno-fresh", "");
	assert_runtime(f.p, "deno", "1.41.0", ".dvmrc");
	fixture_close(&f);
}

/* Version files in enclosing directories apply too, the nearest first. */
static void test_fixture_inherited(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, "dotnet-aspnetcore", "src/TodoApi");
	assert_runtime(f.p, "dotnet", "8.0.100", "global.json");
	fixture_close(&f);

	fixture_open(&f, "monorepo-npm-workspaces", "apps/web");
	assert_runtime(f.p, "node", "20", ".nvmrc");
	fixture_close(&f);
}

/* Called first, version files win over the ranges manifests declare. */
static void test_version_files_win(void **state)
{
	(void)state;
	struct fixture f;
	struct buf root = BUF_INIT;
	buf_adds(&root, REPOS "node-express");
	fixture_open_path(&f, root.data, "", true);
	assert_runtime(f.p, "node", "20.11.0", ".nvmrc");
	fixture_close(&f);

	buf_reset(&root);
	buf_adds(&root, REPOS "python-django-poetry");
	fixture_open_path(&f, root.data, "", true);
	assert_runtime(f.p, "python", "3.11.7", ".python-version");
	fixture_close(&f);

	buf_reset(&root);
	buf_adds(&root, REPOS "go-gin");
	fixture_open_path(&f, root.data, "", true);
	assert_runtime(f.p, "go", "1.22.1", "go.mod");
	fixture_close(&f);
	buf_free(&root);
}

static void test_scratch_formats(void **state)
{
	(void)state;
	scratch_write(".tool-versions", "# tools\nnodejs 18.19.0 20.11.0\npython 3.12.1\n"
					"golang 1.22.0\njava temurin-21.0.2+13.0.LTS\nphp 8.3.2\n"
					"flutter 3.19.0-stable\n");
	scratch_write(".sdkmanrc", "# sdkman\njava=17.0.10-tem\n");
	scratch_write("svc/system.properties", "java.runtime.version=11\n");
	scratch_write("svc/rust-toolchain", "[toolchain]\nchannel = \"1.75.0\"\n");
	scratch_write("svc/.nvmrc", "# comment\n\nlts/hydrogen\n");
	scratch_write("app/mise.toml", "[tools]\nnode = [\"22\", \"20\"]\npython = \"3.13\"\n");
	scratch_write("app/global.json", "{ \"sdk\": { \"version\": 8 } }\n");
	scratch_write("bad/global.json", "{ \"sdk\": \n");
	scratch_write("bad/rust-toolchain.toml", "[toolchain\n");
	scratch_write("fvm/.fvmrc", "{\"flutter\": \"3.19.3\"}\n");

	struct fixture f;
	fixture_open_path(&f, scratch, "", false);
	assert_runtime(f.p, "node", "18.19.0", ".tool-versions");
	assert_runtime(f.p, "python", "3.12.1", ".tool-versions");
	assert_runtime(f.p, "go", "1.22.0", ".tool-versions");
	/* .sdkmanrc comes before .tool-versions in the table. */
	assert_runtime(f.p, "java", "17.0.10", ".sdkmanrc");
	assert_runtime(f.p, "php", "8.3.2", ".tool-versions");
	assert_runtime(f.p, "flutter", "3.19.0", ".tool-versions");
	fixture_close(&f);

	fixture_open_path(&f, scratch, "svc", false);
	assert_runtime(f.p, "java", "11", "svc/system.properties");
	assert_runtime(f.p, "rust", "1.75.0", "svc/rust-toolchain");
	assert_runtime(f.p, "node", "lts/hydrogen", "svc/.nvmrc");
	assert_runtime(f.p, "python", "3.12.1", ".tool-versions");
	fixture_close(&f);

	fixture_open_path(&f, scratch, "app", false);
	assert_runtime(f.p, "node", "22", "app/mise.toml");
	assert_runtime(f.p, "python", "3.13", "app/mise.toml");
	assert_null(map_get(f.p->runtimes, "dotnet")); /* a number is not a version string */
	fixture_close(&f);

	fixture_open_path(&f, scratch, "bad", false);
	assert_null(map_get(f.p->runtimes, "dotnet"));
	assert_null(map_get(f.p->runtimes, "rust"));
	bool json_warned = false, toml_warned = false;
	for (size_t i = 0; i < f.scan->warnings.len; i++) {
		const char *w = f.scan->warnings.items[i];
		json_warned = json_warned || strncmp(w, "bad/global.json:2:", 18) == 0;
		toml_warned = toml_warned || strncmp(w, "bad/rust-toolchain.toml:1:", 26) == 0;
	}
	assert_true(json_warned);
	assert_true(toml_warned);
	fixture_close(&f);

	fixture_open_path(&f, scratch, "fvm", false);
	assert_runtime(f.p, "flutter", "3.19.3", "fvm/.fvmrc");
	fixture_close(&f);

	runtimes_cleanup();
	runtimes_cleanup(); /* twice is harmless */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_loads),
		cmocka_unit_test(test_table_validation),
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_fixture_version_files),
		cmocka_unit_test(test_fixture_inherited),
		cmocka_unit_test(test_version_files_win),
		cmocka_unit_test_setup_teardown(test_scratch_formats, scratch_setup,
						scratch_teardown),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	runtimes_cleanup();
	return failed;
}
