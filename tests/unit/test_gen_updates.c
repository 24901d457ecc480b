/*
 * Dependency update configuration: golden dependabot.yml and renovate.json
 * for fixture repositories, byte-identical on every run, and every
 * dependabot.yml generated for any fixture holds to the shape of
 * SchemaStore's dependabot-2.0 schema (checked here field by field).
 *
 * After an intended change, regenerate the goldens and review the diff:
 *   AMPEL_UPDATE_GOLDEN=1 build/tests/test_gen_updates
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gen/files.h"
#include "gen/updates.h"
#include "intel/analyze.h"
#include "intel/document.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/yaml.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REPOS  AMPEL_SOURCE_ROOT "/tests/fixtures/repos"
#define GOLDEN AMPEL_SOURCE_ROOT "/tests/golden/updates"

static json_t *analyze_fixture(const char *name)
{
	char root[512];
	snprintf(root, sizeof(root), "%s/%s", REPOS, name);
	struct err e = ERR_INIT;
	struct analysis *analysis = NULL;
	struct analyze_options options = { 0 };
	if (analyze_repository(&analysis, root, &options, &e) < 0)
		fail_msg("analyze %s: %s", root, e.msg);
	json_t *document = document_render(analysis);
	analysis_free(analysis);
	return document;
}

static int generate(const char *fixture, bool renovate, struct gen_files *out)
{
	json_t *document = analyze_fixture(fixture);
	struct err e = ERR_INIT;
	int rc = gen_updates(document, renovate, "ampel generate updates --renovate", out, &e);
	if (rc == -1)
		fail_msg("%s: %s", fixture, e.msg);
	json_decref(document);
	return rc;
}

static void compare_golden(const char *fixture, const struct gen_file *file, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s/%s", GOLDEN, fixture, name);
	struct err e = ERR_INIT;
	if (getenv("AMPEL_UPDATE_GOLDEN")) {
		char dir[512];
		snprintf(dir, sizeof(dir), "%s/%s", GOLDEN, fixture);
		mkdir(AMPEL_SOURCE_ROOT "/tests/golden", 0755);
		mkdir(GOLDEN, 0755);
		mkdir(dir, 0755);
		struct buf content = BUF_INIT;
		buf_adds(&content, file->content);
		if (buf_write_file(&content, path, &e) < 0)
			fail_msg("%s", e.msg);
		buf_free(&content);
		return;
	}
	struct buf want = BUF_INIT;
	if (buf_read_file(&want, path, 0, &e) < 0)
		fail_msg("%s (regenerate with AMPEL_UPDATE_GOLDEN=1)", e.msg);
	if (strcmp(want.data, file->content) != 0)
		print_message("%s differs from the golden; got:\n%s", path, file->content);
	assert_string_equal(file->content, want.data);
	buf_free(&want);
}

static void check_golden(const char *fixture)
{
	struct gen_files files = GEN_FILES_INIT;
	assert_int_equal(generate(fixture, true, &files), 0);
	assert_int_equal(files.files.len, 2);
	const struct gen_file *dependabot = gen_files_find(&files, ".github/dependabot.yml");
	const struct gen_file *renovate = gen_files_find(&files, "renovate.json");
	assert_non_null(dependabot);
	assert_non_null(renovate);
	compare_golden(fixture, dependabot, "dependabot.yml");
	compare_golden(fixture, renovate, "renovate.json");
	gen_files_free(&files);
}

static void test_golden_monorepo_npm_workspaces(void **state)
{
	(void)state;
	check_golden("monorepo-npm-workspaces");
}

static void test_golden_polyglot_subfolders(void **state)
{
	(void)state;
	check_golden("polyglot-subfolders");
}

static void test_golden_node_deployed(void **state)
{
	(void)state;
	check_golden("node-deployed");
}

static void test_golden_python_django_poetry(void **state)
{
	(void)state;
	check_golden("python-django-poetry");
}

static void test_golden_dotnet_aspnetcore(void **state)
{
	(void)state;
	check_golden("dotnet-aspnetcore");
}

/* The dependabot.yml of a fixture, as JSON (YAML 1.2 typing). */
static json_t *dependabot_json(const struct gen_files *files)
{
	const struct gen_file *file = gen_files_find(files, ".github/dependabot.yml");
	assert_non_null(file);
	struct yaml_doc *doc = NULL;
	struct err e = ERR_INIT;
	if (yaml_parse(&doc, "dependabot.yml", file->content, strlen(file->content), &e) < 0)
		fail_msg("%s", e.msg);
	json_t *value = json_from_yaml(doc->root);
	yaml_doc_free(doc);
	return value;
}

static bool in_list(const char *value, const char *const *list)
{
	for (; value && *list; list++)
		if (strcmp(value, *list) == 0)
			return true;
	return false;
}

static void assert_keys_in(const json_t *obj, const char *const *allowed, const char *where)
{
	assert_true(json_is_object(obj));
	const char *key;
	const json_t *value;
	json_object_foreach((json_t *)obj, key, value)
	{
		(void)value;
		if (!in_list(key, allowed))
			fail_msg("%s: key '%s' is not in the dependabot-2.0 schema", where, key);
	}
}

/*
 * What SchemaStore's dependabot-2.0.json requires of the fields Ampel
 * writes: additionalProperties false at each level, the enums, and
 * directory XOR directories.
 */
static void assert_dependabot_schema(const json_t *doc, const char *fixture)
{
	static const char *const top[] = { "version", "updates", "registries",
					   "enable-beta-ecosystems", NULL };
	static const char *const update[] = { "allow",
					      "assignees",
					      "commit-message",
					      "cooldown",
					      "directories",
					      "directory",
					      "groups",
					      "ignore",
					      "insecure-external-code-execution",
					      "labels",
					      "milestone",
					      "open-pull-requests-limit",
					      "package-ecosystem",
					      "pull-request-branch-name",
					      "rebase-strategy",
					      "registries",
					      "schedule",
					      "target-branch",
					      "vendor",
					      "versioning-strategy",
					      NULL };
	static const char *const ecosystems[] = { "bun",
						  "bundler",
						  "cargo",
						  "composer",
						  "devcontainers",
						  "docker",
						  "docker-compose",
						  "dotnet-sdk",
						  "elm",
						  "gitsubmodule",
						  "github-actions",
						  "gomod",
						  "gradle",
						  "helm",
						  "maven",
						  "mix",
						  "npm",
						  "nuget",
						  "pip",
						  "pub",
						  "swift",
						  "terraform",
						  "uv",
						  NULL };
	static const char *const intervals[] = { "daily",	 "weekly", "monthly", "quarterly",
						 "semiannually", "yearly", "cron",    NULL };
	static const char *const group_keys[] = { "applies-to",	      "dependency-type", "patterns",
						  "exclude-patterns", "update-types",	 NULL };
	static const char *const update_types[] = { "major", "minor", "patch", NULL };
	static const char *const commit_keys[] = { "prefix", "prefix-development", "include",
						   NULL };

	assert_keys_in(doc, top, fixture);
	assert_int_equal(json_integer_value(json_object_get(doc, "version")), 2);
	const json_t *updates = json_object_get(doc, "updates");
	assert_true(json_is_array(updates) && json_array_size(updates) > 0);
	size_t i;
	const json_t *u;
	json_array_foreach(updates, i, u)
	{
		assert_keys_in(u, update, fixture);
		assert_true(in_list(json_get_str(u, "package-ecosystem", NULL), ecosystems));
		const json_t *dir = json_object_get(u, "directory");
		const json_t *dirs = json_object_get(u, "directories");
		assert_true((dir != NULL) != (dirs != NULL));
		if (dir)
			assert_true(json_string_value(dir)[0] == '/');
		size_t k;
		const json_t *d;
		json_array_foreach(dirs, k, d)
		{
			assert_true(json_is_string(d) && json_string_value(d)[0] == '/');
		}
		const json_t *schedule = json_object_get(u, "schedule");
		assert_true(in_list(json_get_str(schedule, "interval", NULL), intervals));
		assert_true(json_is_integer(json_object_get(u, "open-pull-requests-limit")));
		const json_t *commit = json_object_get(u, "commit-message");
		assert_keys_in(commit, commit_keys, fixture);
		assert_true(strlen(json_get_str(commit, "prefix", "")) <= 50);
		const char *name;
		const json_t *group;
		assert_true(json_object_size(json_object_get(u, "groups")) >= 1);
		json_object_foreach(json_object_get(u, "groups"), name, group)
		{
			assert_keys_in(group, group_keys, fixture);
			const json_t *t;
			json_array_foreach(json_object_get(group, "update-types"), k, t)
			{
				assert_true(in_list(json_string_value(t), update_types));
			}
		}
	}
}

/*
 * Fixtures with nothing Dependabot updates: no manifest, Zig, C with a
 * Makefile, Deno and Clojure's deps.edn (Dependabot has no ecosystem for
 * either).
 */
static const char *const nothing_to_update[] = {
	"no-manifest",	  "zig-hello",	"c-make-deps",
	"c-make-install", "deno-fresh", "clojure-ring-deps"
};

static void test_every_fixture_gives_a_valid_config(void **state)
{
	(void)state;
	DIR *dir = opendir(REPOS);
	assert_non_null(dir);
	int generated = 0, unsupported = 0;
	for (struct dirent *d; (d = readdir(dir));) {
		char path[512];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", REPOS, d->d_name);
		if (d->d_name[0] == '.' || stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		struct gen_files files = GEN_FILES_INIT;
		int rc = generate(d->d_name, true, &files);
		if (rc == GEN_UNSUPPORTED) {
			assert_int_equal(files.files.len, 0);
			bool expected = false;
			for (size_t i = 0;
			     i < sizeof(nothing_to_update) / sizeof(*nothing_to_update); i++)
				expected = expected || strcmp(d->d_name, nothing_to_update[i]) == 0;
			if (!expected)
				fail_msg("%s: no dependency updates, but it has dependencies",
					 d->d_name);
			unsupported++;
		} else {
			json_t *doc = dependabot_json(&files);
			assert_dependabot_schema(doc, d->d_name);
			json_decref(doc);
			const struct gen_file *renovate = gen_files_find(&files, "renovate.json");
			json_t *value = NULL;
			struct err e = ERR_INIT;
			if (json_read_string(&value, "renovate.json", renovate->content,
					     strlen(renovate->content), &e) < 0)
				fail_msg("%s", e.msg);
			assert_true(json_is_array(json_object_get(value, "packageRules")));
			json_decref(value);
			generated++;
		}
		gen_files_free(&files);
	}
	closedir(dir);
	assert_true(generated >= 35);
	assert_true(unsupported <= (int)(sizeof(nothing_to_update) / sizeof(*nothing_to_update)));
}

static void test_workspaces_and_subfolders(void **state)
{
	(void)state;
	struct gen_files files = GEN_FILES_INIT;
	assert_int_equal(generate("monorepo-npm-workspaces", false, &files), 0);
	assert_int_equal(files.files.len, 1); /* no renovate.json unless asked */
	json_t *doc = dependabot_json(&files);
	/* npm workspaces: one entry at the root covers every member. */
	assert_int_equal(json_array_size(json_object_get(doc, "updates")), 1);
	json_decref(doc);
	gen_files_free(&files);

	assert_int_equal(generate("go-work-monorepo", false, &files), 0);
	doc = dependabot_json(&files);
	/* go.work members keep their own go.mod: one directory each. */
	const json_t *go = json_array_get(json_object_get(doc, "updates"), 0);
	assert_string_equal(json_get_str(go, "package-ecosystem", ""), "gomod");
	assert_int_equal(json_array_size(json_object_get(go, "directories")), 3);
	json_decref(doc);
	gen_files_free(&files);

	assert_int_equal(generate("php-laravel", false, &files), 0);
	doc = dependabot_json(&files);
	assert_int_equal(json_array_size(json_object_get(doc, "updates")), 2);
	json_decref(doc);
	gen_files_free(&files);
}

static void test_unsupported_and_bad_input(void **state)
{
	(void)state;
	struct gen_files files = GEN_FILES_INIT;
	assert_int_equal(generate("no-manifest", true, &files), GEN_UNSUPPORTED);
	assert_int_equal(files.files.len, 0);
	struct err e = ERR_INIT;
	json_t *junk = json_pack("{s:s}", "projects", "nope");
	assert_int_equal(gen_updates(junk, false, NULL, &files, &e), -1);
	assert_non_null(strstr(e.msg, "projects"));
	json_decref(junk);
	gen_files_free(&files);
}

static void test_deterministic(void **state)
{
	(void)state;
	struct gen_files a = GEN_FILES_INIT, b = GEN_FILES_INIT;
	assert_int_equal(generate("node-deployed", true, &a), 0);
	assert_int_equal(generate("node-deployed", true, &b), 0);
	assert_int_equal(a.files.len, b.files.len);
	for (size_t i = 0; i < a.files.len; i++) {
		const struct gen_file *x = a.files.items[i], *y = b.files.items[i];
		assert_string_equal(x->path, y->path);
		assert_string_equal(x->content, y->content);
	}
	gen_files_free(&a);
	gen_files_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_monorepo_npm_workspaces),
		cmocka_unit_test(test_golden_polyglot_subfolders),
		cmocka_unit_test(test_golden_node_deployed),
		cmocka_unit_test(test_golden_python_django_poetry),
		cmocka_unit_test(test_golden_dotnet_aspnetcore),
		cmocka_unit_test(test_every_fixture_gives_a_valid_config),
		cmocka_unit_test(test_workspaces_and_subfolders),
		cmocka_unit_test(test_unsupported_and_bad_input),
		cmocka_unit_test(test_deterministic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
