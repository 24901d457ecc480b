/*
 * Generation on the real-world skeletons (tests/fixtures/realworld/): every
 * file Ampel writes for them must pass the real validators, and use the
 * runtime version and commands the analysis found.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gen/ci.h"
#include "gen/dockerfile.h"
#include "gen/files.h"
#include "intel/analyze.h"
#include "intel/document.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/spawn.h"
#include "util/str.h"
#include "util/vec.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REALWORLD AMPEL_SOURCE_ROOT "/tests/fixtures/realworld"

static json_t *analyze_app(const char *root)
{
	struct err e = ERR_INIT;
	struct analysis *analysis = NULL;
	struct analyze_options options = { 0 };
	if (analyze_repository(&analysis, root, &options, &e) < 0)
		fail_msg("analyze %s: %s", root, e.msg);
	json_t *document = document_render(analysis);
	analysis_free(analysis);
	return document;
}

/* Apps of all sets, as "a/owner__repo" paths below REALWORLD. */
static void list_apps(struct vec *apps)
{
	static const char *const sets[] = { "a", "b", "c", "d", "e", "f", "g" };
	for (size_t s = 0; s < sizeof(sets) / sizeof(*sets); s++) {
		struct buf dir = BUF_INIT;
		buf_addf(&dir, REALWORLD "/%s", sets[s]);
		DIR *d = opendir(dir.data);
		for (struct dirent *entry; d && (entry = readdir(d));) {
			if (entry->d_type != DT_DIR || !strstr(entry->d_name, "__"))
				continue;
			struct buf app = BUF_INIT;
			buf_addf(&app, "%s/%s", sets[s], entry->d_name);
			vec_push(apps, buf_detach(&app));
		}
		if (d)
			closedir(d);
		buf_free(&dir);
	}
}

/* The workflow mentions the project's install and test commands and version. */
static void check_github_uses_analysis(const char *app, const json_t *analysis,
				       const struct gen_files *files)
{
	const json_t *root = document_find_project(analysis, ".");
	const struct gen_file *ci = gen_files_find(files, ".github/workflows/ci.yml");
	if (!root || !ci)
		return; /* monorepos get one workflow per project */
	if (strstr(ci->content, "\n# Not covered: .:"))
		return; /* the workflow says why the root has no job (a runtime it cannot set up) */
	/* An exact version the project pins is the one CI sets up. */
	static const char *const runtime_of[][2] = {
		{ "javascript", "node" }, { "typescript", "node" }, { "python", "python" },
		{ "go", "go" },		  { "ruby", "ruby" },	    { "php", "php" },
		{ "java", "java" },	  { "kotlin", "java" },	    { "elixir", "elixir" },
		{ "scala", "java" },	  { "clojure", "java" },    { "haskell", "ghc" },
		{ "crystal", "crystal" }, { "zig", "zig" },	    { "gleam", "gleam" },
	};
	const char *language = json_string_value(json_object_get(root, "primary_language"));
	for (size_t i = 0; language && i < sizeof(runtime_of) / sizeof(*runtime_of); i++) {
		if (strcmp(language, runtime_of[i][0]) != 0)
			continue;
		const char *version = json_string_value(
			json_object_get(json_object_get(root, "runtimes"), runtime_of[i][1]));
		bool exact =
			version && *version && strspn(version, "0123456789.") == strlen(version);
		if (exact && !strstr(ci->content, version))
			fail_msg("%s: ci.yml does not set up %s %s", app, runtime_of[i][1],
				 version);
	}
	const json_t *commands = json_object_get(root, "commands");
	static const char *const kinds[] = { "install", "test" };
	for (size_t i = 0; i < sizeof(kinds) / sizeof(*kinds); i++) {
		const char *command = json_string_value(json_object_get(commands, kinds[i]));
		if (command && !strstr(ci->content, command))
			fail_msg("%s: ci.yml does not run the %s command '%s'", app, kinds[i],
				 command);
	}
}

static void test_realworld_generation_is_valid(void **state)
{
	const char *shared = getenv("AMPEL_SHARED_DIR");
	struct buf script = BUF_INIT;
	buf_addf(&script, "%s/validators/validate-generated.sh",
		 shared && *shared ? shared : AMPEL_SOURCE_ROOT "/../shared");
	if (access(script.data, R_OK) != 0)
		fail_msg("validators not found at %s (set AMPEL_SHARED_DIR)", script.data);
	char dir[] = "/tmp/ampel-test-generate-XXXXXX";
	assert_non_null(mkdtemp(dir));

	struct vec apps = VEC_INIT;
	list_apps(&apps);
	assert_true(apps.len >= 100);
	static const enum ci_provider providers[] = { CI_GITHUB, CI_GITLAB, CI_BITBUCKET,
						      CI_JENKINS };
	size_t written = 0, unsupported = 0, attempts = 0;
	for (size_t i = 0; i < apps.len; i++) {
		const char *app = apps.items[i];
		struct buf root = BUF_INIT, out = BUF_INIT;
		buf_addf(&root, REALWORLD "/%s", app);
		json_t *analysis = analyze_app(root.data);
		for (size_t p = 0; p <= sizeof(providers) / sizeof(*providers); p++) {
			struct gen_files files = GEN_FILES_INIT;
			struct err e = ERR_INIT;
			int rc;
			if (p < sizeof(providers) / sizeof(*providers)) {
				struct ci_options options = { .provider = providers[p],
							      .command = "test" };
				rc = gen_ci(analysis, &options, &files, &e);
			} else {
				struct dockerfile_options options = { .command = "test" };
				rc = gen_dockerfile(analysis, &options, &files, &e);
			}
			attempts++;
			if (rc == GEN_UNSUPPORTED) {
				unsupported++;
			} else if (rc < 0) {
				fail_msg("%s: %s", app, e.msg);
			} else {
				if (p == 0)
					check_github_uses_analysis(app, analysis, &files);
				buf_reset(&out);
				buf_addf(&out, "%s/%zu-%zu", dir, i, p);
				mkdir(out.data, 0755);
				if (gen_files_write(&files, out.data, true, &e) < 0)
					fail_msg("%s", e.msg);
				written += files.files.len;
			}
			gen_files_free(&files);
		}
		json_decref(analysis);
		buf_free(&root);
		buf_free(&out);
	}
	vec_free(&apps, free);

	struct buf output = BUF_INIT;
	const char *argv[] = { "bash", script.data, dir, NULL };
	struct spawn_options options = { .argv = argv,
					 .stderr_to = SPAWN_DEVNULL,
					 .stdout_buf = &output,
					 .timeout_ms = 600000 };
	struct spawn_result result;
	struct err e = ERR_INIT;
	assert_int_equal(spawn_run(&options, &result, &e), 0);
	const char *summary = strstr(buf_cstr(&output), "valid ");
	printf("real-world generation: %zu files from %zu attempts (%zu unsupported stacks): %s",
	       written, attempts, unsupported, summary ? summary : "no summary\n");
	if (result.exit_code != 0) {
		for (const char *line = output.data; line && *line;) {
			const char *nl = strchr(line, '\n');
			if (str_starts_with(line, "FAIL "))
				printf("%.*s\n", (int)(nl ? nl - line : (long)strlen(line)), line);
			line = nl ? nl + 1 : NULL;
		}
		fail_msg("validate-generated.sh exited %d", result.exit_code);
	}
	struct buf rm = BUF_INIT;
	buf_addf(&rm, "rm -rf %s", dir);
	assert_int_equal(system(rm.data), 0);
	buf_free(&rm);
	buf_free(&output);
	buf_free(&script);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_realworld_generation_is_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
