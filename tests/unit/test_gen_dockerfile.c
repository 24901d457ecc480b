/*
 * gen_dockerfile: the Dockerfile and .dockerignore for every fixture
 * repository, pinned by golden files and checked by the real linter.
 *
 * Golden files live in tests/golden/dockerfile/<fixture>/ at the paths the
 * generator gives (Dockerfile, .dockerignore; apps/api/Dockerfile and
 * apps/api/Dockerfile.dockerignore for a workspace member). After an
 * intended change, regenerate them and review the diff:
 *
 *     AMPEL_UPDATE_GOLDEN=1 meson test -C build gen_dockerfile
 *
 * The Ampel version in the header comment is stored as @AMPEL_VERSION@ so a
 * release does not touch every golden file.
 *
 * The validator test writes every fixture's files into one temporary tree
 * and runs ../shared/validators/validate-generated.sh on it (dockerfilelint
 * with all rules; $AMPEL_SHARED_DIR overrides where shared/ is). The script
 * installs its npm packages on first use, so it needs node and npm.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gen/dockerfile.h"
#include "gen/files.h"
#include "intel/analyze.h"
#include "intel/document.h"
#include "util/buf.h"
#include "util/embed.h"
#include "util/err.h"
#include "util/json.h"
#include "util/spawn.h"
#include "util/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIXTURES AMPEL_SOURCE_ROOT "/tests/fixtures/repos"
#define GOLDEN	 AMPEL_SOURCE_ROOT "/tests/golden/dockerfile"

/* The fixtures with golden files: one per stack the recipes serve. */
static const char *const golden_fixtures[] = {
	"node-express",
	"node-nextjs-pnpm",
	"node-nestjs",
	"node-sveltekit-bun",
	"node-nuxt",
	"node-remix",
	"node-astro",
	"node-fastify",
	"node-deployed",
	"python-django-poetry",
	"python-fastapi-uv",
	"python-flask-pip",
	"python-requirements-dir",
	"python-pip-console-script",
	"python-pipenv",
	"node-vite-react-yarn-berry",
	"node-angular",
	"python-module-main",
	"go-gin",
	"go-echo",
	"go-fiber",
	"go-cmd-server",
	"rust-axum",
	"rust-actix",
	"rust-rocket",
	"rust-workspace",
	"rust-server-bins",
	"java-spring-maven",
	"java-quarkus-gradle",
	"kotlin-spring-gradle-kts",
	"kotlin-ktor-gradle",
	"ruby-rails",
	"ruby-sinatra",
	"php-laravel",
	"php-symfony",
	"elixir-phoenix",
	"dotnet-aspnetcore",
	"swift-vapor",
	"deno-fresh",
	"monorepo-npm-workspaces",
	"monorepo-turbo-pnpm",
	"go-work-monorepo",
	"polyglot-subfolders",
};

/* Stacks Ampel must refuse rather than guess. */
static const char *const unsupported_fixtures[] = {
	"no-manifest", "dart-flutter",		"zig-hello",
	"python-pdm",  "python-setuptools-lib", "java-maven-multimodule",
};

static json_t *analyze_fixture(const char *fixture)
{
	struct err e = ERR_INIT;
	struct analysis *analysis = NULL;
	struct analyze_options options = { 0 };
	struct buf root = BUF_INIT;
	buf_addf(&root, FIXTURES "/%s", fixture);
	if (analyze_repository(&analysis, root.data, &options, &e) < 0)
		fail_msg("analyze %s: %s", fixture, e.msg);
	json_t *document = document_render(analysis);
	analysis_free(analysis);
	buf_free(&root);
	return document;
}

static int generate(const json_t *document, const char *project, struct gen_files *files,
		    struct err *e)
{
	struct dockerfile_options options = { project, "ampel generate dockerfile" };
	return gen_dockerfile(document, &options, files, e);
}

/* The content with the running version replaced, as golden files store it. */
static char *normalise(const char *content)
{
	struct buf out = BUF_INIT;
	const char *version = AMPEL_VERSION;
	for (const char *p = content; *p;) {
		if (strncmp(p, version, strlen(version)) == 0) {
			buf_adds(&out, "@AMPEL_VERSION@");
			p += strlen(version);
		} else {
			buf_addch(&out, *p++);
		}
	}
	return buf_detach(&out);
}

static void make_parents(const char *path)
{
	char *copy = strdup(path);
	for (char *s = strchr(copy + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(copy, 0755);
		*s = '/';
	}
	free(copy);
}

static void write_text(const char *path, const char *text)
{
	make_parents(path);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_golden_files(void **state)
{
	(void)state;
	bool update = getenv("AMPEL_UPDATE_GOLDEN") && *getenv("AMPEL_UPDATE_GOLDEN");
	struct buf failures = BUF_INIT;
	int compared = 0;
	for (size_t i = 0; i < sizeof(golden_fixtures) / sizeof(*golden_fixtures); i++) {
		const char *fixture = golden_fixtures[i];
		json_t *document = analyze_fixture(fixture);
		struct gen_files files = GEN_FILES_INIT;
		struct err e = ERR_INIT;
		int rc = generate(document, NULL, &files, &e);
		if (rc != 0) {
			buf_addf(&failures, "  %s: generate returned %d: %s\n", fixture, rc, e.msg);
		} else if (files.files.len != 2) {
			buf_addf(&failures,
				 "  %s: %zu files, want a Dockerfile and an ignore file\n", fixture,
				 files.files.len);
		}
		for (size_t j = 0; rc == 0 && j < files.files.len; j++) {
			const struct gen_file *f = files.files.items[j];
			struct buf path = BUF_INIT, want = BUF_INIT;
			buf_addf(&path, GOLDEN "/%s/%s", fixture, f->path);
			char *got = normalise(f->content);
			if (update) {
				write_text(path.data, got);
			} else if (buf_read_file(&want, path.data, 0, &e) < 0) {
				buf_addf(&failures, "  %s: %s (AMPEL_UPDATE_GOLDEN=1 writes it)\n",
					 fixture, e.msg);
			} else if (strcmp(want.data, got) != 0) {
				buf_addf(&failures, "  %s: %s differs from the golden file\n",
					 fixture, f->path);
			}
			compared++;
			free(got);
			buf_free(&path);
			buf_free(&want);
		}
		gen_files_free(&files);
		json_decref(document);
	}
	printf("dockerfile golden files: %d compared%s\n", compared, update ? " (updated)" : "");
	if (failures.len)
		fail_msg("golden files:\n%s", failures.data);
	buf_free(&failures);
}

static void test_output_is_deterministic(void **state)
{
	(void)state;
	const char *fixtures[] = { "node-nextjs-pnpm", "monorepo-npm-workspaces", "ruby-rails" };
	for (size_t i = 0; i < 3; i++) {
		json_t *document = analyze_fixture(fixtures[i]);
		struct gen_files a = GEN_FILES_INIT, b = GEN_FILES_INIT;
		struct err e = ERR_INIT;
		assert_int_equal(generate(document, NULL, &a, &e), 0);
		assert_int_equal(generate(document, NULL, &b, &e), 0);
		assert_int_equal(a.files.len, b.files.len);
		for (size_t j = 0; j < a.files.len; j++) {
			const struct gen_file *fa = a.files.items[j], *fb = b.files.items[j];
			assert_string_equal(fa->path, fb->path);
			assert_string_equal(fa->content, fb->content);
		}
		gen_files_free(&a);
		gen_files_free(&b);
		json_decref(document);
	}
}

static void test_unsupported_stacks_write_nothing(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(unsupported_fixtures) / sizeof(*unsupported_fixtures); i++) {
		json_t *document = analyze_fixture(unsupported_fixtures[i]);
		struct gen_files files = GEN_FILES_INIT;
		struct err e = ERR_INIT;
		int rc = generate(document, NULL, &files, &e);
		if (rc != GEN_UNSUPPORTED)
			fail_msg("%s: want GEN_UNSUPPORTED, got %d (%s)", unsupported_fixtures[i],
				 rc, e.msg);
		assert_int_equal(files.files.len, 0);
		assert_true(strstr(e.msg, "cannot write a Dockerfile") != NULL);
		printf("  %s: %s\n", unsupported_fixtures[i], e.msg);
		gen_files_free(&files);
		json_decref(document);
	}
}

/* A one-project analysis document with the given stack, for the version rules. */
static json_t *synthetic(const char *pm, const char *runtime, const char *version,
			 const char *start)
{
	json_t *runtimes = json_object();
	if (version)
		json_object_set_new(runtimes, runtime, json_string(version));
	json_t *project = json_pack(
		"{s:s, s:s, s:[s], s:s, s:[], s:[s], s:o, s:{s:s, s:n, s:s?}, s:i, s:[], s:n}",
		"path", ".", "name", "app", "manifests", "package.json", "primary_language",
		"javascript", "frameworks", "package_managers", pm, "runtimes", runtimes,
		"commands", "install", "npm ci", "build", "start", start, "port", 8080, "env",
		"workspace");
	return json_pack("{s:s, s:[o]}", "schema", "ampel.analysis/v1", "projects", project);
}

/* The FROM line of a generated Dockerfile, or the error. */
static void expect_from(const char *pm, const char *runtime, const char *declared, const char *want)
{
	json_t *document = synthetic(pm, runtime, declared, "node server.js");
	struct gen_files files = GEN_FILES_INIT;
	struct err e = ERR_INIT;
	int rc = generate(document, NULL, &files, &e);
	if (!want) {
		assert_int_equal(rc, GEN_UNSUPPORTED);
		assert_true(strstr(e.msg, declared) != NULL);
	} else {
		if (rc != 0)
			fail_msg("%s %s: %s", runtime, declared ? declared : "(none)", e.msg);
		const struct gen_file *f = gen_files_find(&files, "Dockerfile");
		assert_non_null(f);
		const char *from = strstr(f->content, "\nFROM ");
		assert_non_null(from);
		if (strncmp(from + 6, want, strlen(want)) != 0)
			fail_msg("%s %s: want FROM %s, got %.60s", runtime,
				 declared ? declared : "(none)", want, from + 6);
	}
	gen_files_free(&files);
	json_decref(document);
}

static void test_versions_are_normalised(void **state)
{
	(void)state;
	expect_from("npm", "node", "^18.2.0", "node:18-bookworm-slim\n");
	expect_from("npm", "node", "20.11.0", "node:20-bookworm-slim\n");
	expect_from("npm", "node", "v22.3.0", "node:22-bookworm-slim\n");
	expect_from("npm", "node", ">=18", "node:22-bookworm-slim\n");
	expect_from("npm", "node", ">=18 <21", "node:20-bookworm-slim\n");
	expect_from("npm", "node", "^16 || ^18", "node:18-bookworm-slim\n");
	expect_from("npm", "node", "18.x", "node:18-bookworm-slim\n");
	expect_from("npm", "node", "lts/*", "node:22-bookworm-slim\n");
	expect_from("npm", "node", NULL, "node:22-bookworm-slim\n");
	expect_from("npm", "node", "24", "node:24-bookworm-slim\n");
	expect_from("npm", "node", "14.21.3", NULL);
	expect_from("pip", "python", ">=3.10", "python:3.13-slim-bookworm AS build");
	expect_from("pip", "python", ">=3.10,<3.13", "python:3.12-slim-bookworm AS build");
	expect_from("pip", "python", "~=3.11", "python:3.13-slim-bookworm AS build");
	expect_from("pip", "python", "3.11.7", "python:3.11-slim-bookworm AS build");
	expect_from("pip", "python", "^3.9", "python:3.13-slim-bookworm AS build");
	expect_from("pip", "python", "3.8", NULL);
	expect_from("bundler", "ruby", "~> 3.1", "ruby:3.3-slim-bookworm AS build");
	expect_from("bundler", "ruby", "~> 3.1.2", "ruby:3.1-slim-bookworm AS build");
	/* Go's directive is a floor: an old one builds with the oldest maintained Go. */
	expect_from("go", "go", "1.17", "golang:1.21-bookworm AS build");
	expect_from("go", "go", "1.22", "golang:1.22-bookworm AS build");
}

/* Deployments route to where the image listens: a static site's nginx, else the app. */
static void test_image_port(void **state)
{
	(void)state;
	json_t *document = analyze_fixture("node-angular");
	assert_int_equal(gen_dockerfile_port(document, document_find_project(document, ".")), 8080);
	json_decref(document);
	document = analyze_fixture("node-express");
	assert_int_equal(gen_dockerfile_port(document, document_find_project(document, ".")), 0);
	json_decref(document);
}

static void test_project_option_picks_a_member(void **state)
{
	(void)state;
	json_t *document = analyze_fixture("monorepo-npm-workspaces");
	struct gen_files files = GEN_FILES_INIT;
	struct err e = ERR_INIT;
	assert_int_equal(generate(document, "apps/web", &files, &e), 0);
	const struct gen_file *f = gen_files_find(&files, "apps/web/Dockerfile");
	assert_non_null(f);
	/* built from the workspace root: the lock file and every member's manifest first */
	assert_non_null(strstr(f->content, "COPY package.json package-lock.json* "));
	assert_non_null(strstr(f->content, "COPY apps/api/package.json apps/api/\n"));
	assert_non_null(strstr(f->content, "WORKDIR /app/apps/web\nRUN npm run build\n"));
	assert_non_null(strstr(f->content, "docker build -f apps/web/Dockerfile"));
	assert_non_null(gen_files_find(&files, "apps/web/Dockerfile.dockerignore"));
	gen_files_free(&files);

	assert_int_equal(generate(document, "nowhere", &files, &e), -1);
	assert_non_null(strstr(e.msg, "nowhere"));
	gen_files_free(&files);
	json_decref(document);
}

/* A broken override of config/dockerfiles.yaml is an error naming the file and line. */
static void test_invalid_recipes_are_reported(void **state)
{
	(void)state;
	char dir[] = "/tmp/ampel-dockerfile-config-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct buf path = BUF_INIT, original = BUF_INIT;
	struct err e = ERR_INIT;
	assert_int_equal(embed_read_config("dockerfiles.yaml", &original, NULL, &e), 0);
	buf_addf(&path, "%s/dockerfiles.yaml", dir);
	struct {
		const char *from, *to, *want;
	} cases[] = {
		{ "    install: \"{install} --omit=dev && npm cache clean --force\"",
		  "    install: \"{instal} --omit=dev\"",
		  "recipe 'node-npm': unknown placeholder {instal}" },
		{ "    id: go\n", "    id: go\n    colour: blue\n",
		  "recipe 'go': unknown key 'colour'" },
		{ "    runtime: go\n", "    runtime: golang\n", "runtime 'golang' has no entry" },
		{ "  - id: swift\n", "  - id: go\n", "recipe 'go': duplicate id" },
		{ "  - {start: \"flask run\", ", "  - {colour: blue, start: \"flask run\", ",
		  "recipe '(listen_everywhere)': unknown key 'colour'" },
	};
	json_t *document = analyze_fixture("go-gin");
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const char *at = strstr(original.data, cases[i].from);
		assert_non_null(at);
		struct buf broken = BUF_INIT;
		buf_add(&broken, original.data, (size_t)(at - original.data));
		buf_adds(&broken, cases[i].to);
		buf_adds(&broken, at + strlen(cases[i].from));
		write_text(path.data, broken.data);
		embed_set_override_dir(dir);
		struct gen_files files = GEN_FILES_INIT;
		err_clear(&e);
		assert_int_equal(generate(document, NULL, &files, &e), -1);
		embed_set_override_dir(NULL);
		if (!strstr(e.msg, cases[i].want) || !strstr(e.msg, "dockerfiles.yaml:"))
			fail_msg("want \"%s\" with file:line, got \"%s\"", cases[i].want, e.msg);
		assert_int_equal(files.files.len, 0);
		buf_free(&broken);
	}
	json_decref(document);
	unlink(path.data);
	rmdir(dir);
	buf_free(&path);
	buf_free(&original);
}

static void collect_line(void *ctx, enum spawn_stream stream, const char *data, size_t len)
{
	(void)stream;
	struct buf *out = ctx;
	buf_add(out, data, len);
	buf_addch(out, '\n');
}

static void remove_tree(const char *dir)
{
	const char *argv[] = { "rm", "-rf", dir, NULL };
	struct buf ignored = BUF_INIT;
	int code = 0;
	spawn_capture(argv, NULL, &ignored, &code, NULL);
	buf_free(&ignored);
}

/* Every fixture repository's Dockerfile through dockerfilelint (all rules). */
static void test_validator_accepts_every_fixture(void **state)
{
	(void)state;
	char dir[] = "/tmp/ampel-dockerfile-validate-XXXXXX";
	assert_non_null(mkdtemp(dir));
	const char *const *fixtures = golden_fixtures;
	size_t written = 0;
	for (size_t i = 0; i < sizeof(golden_fixtures) / sizeof(*golden_fixtures); i++) {
		json_t *document = analyze_fixture(fixtures[i]);
		struct gen_files files = GEN_FILES_INIT;
		struct err e = ERR_INIT;
		assert_int_equal(generate(document, NULL, &files, &e), 0);
		struct buf out = BUF_INIT;
		buf_addf(&out, "%s/%s", dir, fixtures[i]);
		mkdir(out.data, 0755);
		if (gen_files_write(&files, out.data, false, &e) < 0)
			fail_msg("%s", e.msg);
		written += files.files.len;
		buf_free(&out);
		gen_files_free(&files);
		json_decref(document);
	}
	const char *shared = getenv("AMPEL_SHARED_DIR");
	struct buf script = BUF_INIT, output = BUF_INIT;
	buf_addf(&script, "%s/validators/validate-generated.sh",
		 shared && *shared ? shared : AMPEL_SOURCE_ROOT "/../shared");
	if (access(script.data, X_OK) != 0) {
		remove_tree(dir);
		fail_msg("validator not found: %s (set AMPEL_SHARED_DIR)", script.data);
	}
	const char *argv[] = { script.data, dir, NULL };
	struct spawn_options options = { .argv = argv,
					 .stderr_to = SPAWN_TO_STDOUT,
					 .on_output = collect_line,
					 .output_ctx = &output,
					 .timeout_ms = 600000 };
	struct spawn_result result;
	struct err e = ERR_INIT;
	if (spawn_run(&options, &result, &e) < 0)
		fail_msg("%s", e.msg);
	remove_tree(dir);
	buf_rtrim(&output);
	const char *last = strrchr(output.data, '\n');
	last = last ? last + 1 : output.data;
	printf("dockerfile validator (%zu files written): %s\n", written, last);
	if (result.exit_code != 0)
		fail_msg("validate-generated.sh exited %d:\n%s", result.exit_code, output.data);
	assert_true(str_starts_with(last, "valid "));
	buf_free(&script);
	buf_free(&output);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_files),
		cmocka_unit_test(test_output_is_deterministic),
		cmocka_unit_test(test_unsupported_stacks_write_nothing),
		cmocka_unit_test(test_versions_are_normalised),
		cmocka_unit_test(test_image_port),
		cmocka_unit_test(test_project_option_picks_a_member),
		cmocka_unit_test(test_invalid_recipes_are_reported),
		cmocka_unit_test(test_validator_accepts_every_fixture),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
