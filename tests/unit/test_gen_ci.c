/*
 * CI generation: every fixture repository is analysed and its CI files
 * generated for each provider, compared with golden files, checked for the
 * facts that matter (versions, steps that exist, path filters) and run
 * through the real validators (actionlint, the GitHub workflow schema, the
 * GitLab and Bitbucket JSON schemas, the Jenkinsfile check).
 *
 * Regenerate the golden files after an intended change with
 *   AMPEL_UPDATE_GOLDEN=1 meson test -C BUILD gen_ci
 * and review the diff under tests/golden/ci/. AMPEL_GENCI_KEEP=DIR keeps
 * the tree handed to the validators.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gen/ci.h"
#include "gen/files.h"
#include "gen/plan.h"
#include "gen/templates.h"
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

#define REPOS  AMPEL_SOURCE_ROOT "/tests/fixtures/repos"
#define GOLDEN AMPEL_SOURCE_ROOT "/tests/golden/ci"

static const char *const providers[] = { "github", "gitlab", "bitbucket", "jenkins" };

static const char *const golden_fixtures[] = {
	"node-express",
	"node-nextjs-pnpm",
	"python-django-poetry",
	"python-fastapi-uv",
	"go-gin",
	"rust-axum",
	"java-spring-maven",
	"kotlin-spring-gradle-kts",
	"ruby-rails",
	"php-laravel",
	"elixir-phoenix",
	"dotnet-aspnetcore",
	"swift-vapor",
	"dart-flutter",
	"deno-fresh",
	"monorepo-turbo-pnpm",
	"polyglot-subfolders",
};

/*
 * Stacks without a fixture repository of their own: real-world skeletons
 * (tests/fixtures/realworld), and an analysis document written here where
 * the analysis does not yet name the package manager (Gleam) or infer a
 * test command (the Clojure CLI), or no skeleton builds with it (Meson).
 */
static const struct {
	const char *name;    /* the golden directory */
	const char *fixture; /* below tests/fixtures, or NULL: a document made here */
} language_fixtures[] = {
	{ "haskell-cabal", "realworld/b/koalaman__shellcheck" },
	{ "haskell-stack", "realworld/b/hadolint__hadolint" },
	{ "crystal-shards", "realworld/b/kemalcr__kemal" },
	{ "clojure-leiningen", "realworld/b/weavejester__compojure" },
	{ "clojure-deps", NULL },
	{ "scala-sbt", "realworld/b/scala__scala3-example-project" },
	{ "zig-hello", "repos/zig-hello" },
	{ "gleam", NULL },
	{ "c-cmake", "realworld/b/DaveGamble__cJSON" },
	{ "c-make", "realworld/b/antirez__kilo" },
	{ "cpp-meson", NULL },
};
#define LANGUAGE_COUNT (sizeof(language_fixtures) / sizeof(*language_fixtures))

/* A one-project analysis document, as ampel analyze --json writes it. */
static json_t *made_document(const char *name)
{
	const char *language = NULL, *pm = NULL, *install = NULL, *build = NULL, *test = NULL;
	json_t *runtimes = json_object(), *build_tools = json_array();
	if (str_eq(name, "gleam")) {
		language = "gleam", pm = "gleam", install = "gleam deps download";
		build = "gleam build", test = "gleam test";
		json_object_set_new(runtimes, "gleam", json_string("1.5.1"));
		json_object_set_new(runtimes, "erlang", json_string("26.2"));
	} else if (str_eq(name, "clojure-deps")) {
		language = "clojure", pm = "clojure", install = "clojure -P";
		test = "clojure -X:test";
		json_object_set_new(runtimes, "java", json_string("17"));
	} else {
		language = "cpp";
		build = "meson setup build && meson compile -C build";
		test = "meson test -C build";
		json_array_append_new(build_tools, json_string("meson"));
	}
	json_t *project =
		json_pack("{s:s, s:s, s:s, s:[], s:o, s:o, s:{s:s?, s:n, s:s?, s:s?, s:n}}", "path",
			  ".", "name", name, "primary_language", language, "package_managers",
			  "runtimes", runtimes, "build_tools", build_tools, "commands", "install",
			  install, "lint", "build", build, "test", test, "start");
	if (pm)
		json_array_append_new(json_object_get(project, "package_managers"),
				      json_string(pm));
	return json_pack("{s:s, s:[o]}", "schema", "ampel.analysis/v1", "projects", project);
}

/* ---- analysis documents, one per fixture, kept for the whole run ---- */

struct doc_cache {
	char *name;
	json_t *document;
};
static struct vec documents;

static json_t *analysis_of(const char *fixture)
{
	for (size_t i = 0; i < documents.len; i++) {
		struct doc_cache *d = documents.items[i];
		if (str_eq(d->name, fixture))
			return d->document;
	}
	/* A language fixture by its golden name, else a fixture repository. */
	const char *path = NULL;
	bool made = false;
	for (size_t i = 0; i < LANGUAGE_COUNT; i++) {
		if (str_eq(language_fixtures[i].name, fixture)) {
			path = language_fixtures[i].fixture;
			made = !path;
		}
	}
	struct doc_cache *d = xcalloc(1, sizeof(*d));
	d->name = xstrdup(fixture);
	if (made) {
		d->document = made_document(fixture);
	} else {
		struct buf root = BUF_INIT;
		if (path)
			buf_addf(&root, "%s/../%s", REPOS, path);
		else
			buf_addf(&root, "%s/%s", REPOS, fixture);
		struct err e = ERR_INIT;
		struct analysis *analysis = NULL;
		struct analyze_options options = { 0 };
		if (analyze_repository(&analysis, root.data, &options, &e) < 0)
			fail_msg("analyze %s: %s", fixture, e.msg);
		d->document = document_render(analysis);
		analysis_free(analysis);
		buf_free(&root);
	}
	vec_push(&documents, d);
	return d->document;
}

static int free_documents(void **state)
{
	(void)state;
	for (size_t i = 0; i < documents.len; i++) {
		struct doc_cache *d = documents.items[i];
		json_decref(d->document);
		free(d->name);
		free(d);
	}
	vec_free(&documents, NULL);
	return 0;
}

/* ---- generating ---- */

struct variant {
	const char *name; /* "default", "all-options" */
	bool cache, matrix, security, coverage;
	const char *branches[3];
	const char *custom[3];
};

static const struct variant plain = { "default", false, false, false, false, { 0 }, { 0 } };
static const struct variant every_option = {
	"all-options",
	true,
	true,
	true,
	true,
	{ "main", "release/*", NULL },
	{ "Smoke test=echo smoke test passed", NULL, NULL },
};

static int generate(const char *fixture, const char *provider, const struct variant *v,
		    struct gen_files *out, struct err *e)
{
	struct ci_options options = { 0 };
	assert_int_equal(ci_provider_parse(provider, &options.provider), 0);
	options.cache = v->cache;
	options.matrix = v->matrix;
	options.security = v->security;
	options.coverage = v->coverage;
	options.command = "ampel generate ci";
	for (size_t i = 0; i < 3 && v->branches[i]; i++)
		vec_push(&options.branches, (void *)v->branches[i]);
	for (size_t i = 0; i < 3 && v->custom[i]; i++)
		vec_push(&options.custom_steps, (void *)v->custom[i]);
	int rc = gen_ci(analysis_of(fixture), &options, out, e);
	vec_free(&options.branches, NULL);
	vec_free(&options.custom_steps, NULL);
	return rc;
}

static char *generated(const char *fixture, const char *provider, const struct variant *v,
		       const char *path)
{
	struct gen_files files = GEN_FILES_INIT;
	struct err e = ERR_INIT;
	if (generate(fixture, provider, v, &files, &e) != 0)
		fail_msg("%s/%s: %s", fixture, provider, e.msg);
	const struct gen_file *f = gen_files_find(&files, path);
	if (!f)
		fail_msg("%s/%s: no %s generated", fixture, provider, path);
	char *content = xstrdup(f->content);
	gen_files_free(&files);
	return content;
}

static void make_parents(const char *path)
{
	char *copy = xstrdup(path);
	for (char *slash = strchr(copy + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(copy, 0755);
		*slash = '/';
	}
	free(copy);
}

/* ---- templates ---- */

static void test_templates_load(void **state)
{
	(void)state;
	struct ci_templates *t = NULL;
	struct err e = ERR_INIT;
	assert_int_equal(ci_templates_load(&t, &e), 0);
	assert_non_null(ci_templates_runtime(t, "node"));
	assert_non_null(ci_templates_pm(t, "pnpm"));
	assert_non_null(ci_templates_runtime(t, "zig"));
	assert_ptr_equal(ci_templates_tool_owner(t, "stack"), ci_templates_runtime(t, "ghc"));
	assert_ptr_equal(ci_templates_tool_owner(t, "cargo"), ci_templates_runtime(t, "rust"));
	ci_templates_free(t);
}

static void expect_template_error(const char *yaml, const char *want)
{
	struct ci_templates *t = NULL;
	struct err e = ERR_INIT;
	assert_int_equal(ci_templates_parse(&t, "ci-templates.yaml", yaml, strlen(yaml), &e), -1);
	assert_null(t);
	if (!strstr(e.msg, want))
		fail_msg("error '%s' does not say '%s'", e.msg, want);
}

#define SETTINGS                                                                          \
	"settings:\n  timeout_minutes: 30\n  default_branches: [main]\n"                  \
	"  github_runner: ubuntu-latest\n  checkout: actions/checkout@v4\n"               \
	"  cache_action: actions/cache@v4\n  upload_action: actions/upload-artifact@v4\n" \
	"secret_scan:\n  github: [{uses: gitleaks/gitleaks-action@v2}]\n  image: g:1\n"   \
	"  commands: [gitleaks detect]\n"

static void test_templates_errors(void **state)
{
	(void)state;
	expect_template_error(SETTINGS "runtimes:\n  node:\n    name: Node\n    default: '20'\n"
				       "    image: node:{version}\n    colour: red\n"
				       "    github: [{uses: actions/setup-node@v4}]\n"
				       "package_managers: {}\n",
			      "ci-templates.yaml:17:5: runtime 'node': unknown field 'colour'");
	expect_template_error(SETTINGS "runtimes:\n  node:\n    name: Node\n    default: '20'\n"
				       "    image: node:{version}\n"
				       "    github: [{uses: actions/setup-node}]\n"
				       "package_managers: {}\n",
			      "must be pinned to a version");
	expect_template_error(SETTINGS "runtimes:\n  node:\n    name: Node\n    default: '20'\n"
				       "    image: node:latest\n"
				       "    github: [{uses: actions/setup-node@v4}]\n"
				       "package_managers: {}\n",
			      "image (or image_setup) must be pinned to the runtime version");
	expect_template_error(SETTINGS "runtimes: {}\npackage_managers:\n  npm:\n"
				       "    runtimes: [nodejs]\n    workspace: members\n",
			      "package manager 'npm': unknown runtime 'nodejs'");
	expect_template_error(SETTINGS "runtimes: {}\npackage_managers:\n  npm:\n"
				       "    runtimes: []\n    workspace: everywhere\n",
			      "'runtimes' must name at least one runtime");
	expect_template_error("settings:\n  timeout_minutes: forever\n", "timeout_minutes");
}

static void test_versions(void **state)
{
	(void)state;
	struct ci_templates *t = NULL;
	struct err e = ERR_INIT;
	assert_int_equal(ci_templates_load(&t, &e), 0);
	static const struct {
		const char *runtime, *declared, *want;
	} cases[] = {
		{ "node", "20.11.0", "20.11.0" },
		{ "node", "^18.2", "18" },
		{ "node", ">=18", "24" },
		{ "node", "^22.1.0", "22" },
		{ "node", "20.x", "20" },
		{ "node", NULL, "22" },
		{ "node", "lts/*", "22" },
		{ "python", ">=3.10,<3.13", "3.12" },
		{ "python", "~=3.11", "3.13" },
		{ "python", "3.11.7", "3.11.7" },
		{ "python", ">=3.8", "3.13" },
		{ "python", ">=3.14", "3.14" },
		{ "php", "^8.2", "8.4" },
		{ "php", ">=8.1 <8.4", "8.3" },
		{ "dart", ">=3.2.0 <4.0.0", "3.5" },
		{ "ruby", "~> 3.2.0", "3.2" },
		{ "rust", "stable", "stable" },
		{ "go", "1.22.1", "1.22.1" },
		{ "node", "^16 || ^20", "20" },
		{ "java", "v17", "17" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		bool exact;
		char *got = ci_runtime_resolve_version(ci_templates_runtime(t, cases[i].runtime),
						       cases[i].declared, &exact);
		if (!str_eq(got, cases[i].want))
			fail_msg("%s '%s': want %s, got %s", cases[i].runtime,
				 cases[i].declared ? cases[i].declared : "(none)", cases[i].want,
				 got);
		free(got);
	}
	struct vec versions = VEC_INIT;
	ci_runtime_matrix_versions(ci_templates_runtime(t, "node"), "20.11.0", "20.11.0",
				   &versions);
	assert_int_equal(versions.len, 3);
	assert_string_equal(versions.items[0], "20.11.0");
	assert_string_equal(versions.items[2], "24");
	vec_free(&versions, free);
	ci_runtime_matrix_versions(ci_templates_runtime(t, "python"), ">=3.10,<3.13", "3.12",
				   &versions);
	assert_int_equal(versions.len, 3); /* 3.10 3.11 3.12, not 3.13 */
	assert_string_equal(versions.items[0], "3.10");
	vec_free(&versions, free);
	ci_templates_free(t);
}

/* ---- golden files ---- */

static void check_golden(const char *dir, const struct gen_files *files, int *failures,
			 struct buf *report)
{
	bool update = getenv("AMPEL_UPDATE_GOLDEN") && *getenv("AMPEL_UPDATE_GOLDEN");
	for (size_t i = 0; i < files->files.len; i++) {
		const struct gen_file *f = files->files.items[i];
		struct buf path = BUF_INIT, want = BUF_INIT;
		buf_addf(&path, "%s/%s/%s", GOLDEN, dir, f->path);
		if (update) {
			struct buf content = BUF_INIT;
			struct err e = ERR_INIT;
			buf_adds(&content, f->content);
			make_parents(path.data);
			if (buf_write_file(&content, path.data, &e) < 0)
				fail_msg("%s", e.msg);
			buf_free(&content);
		} else {
			struct err e = ERR_INIT;
			if (buf_read_file(&want, path.data, 0, &e) < 0 ||
			    !str_eq(want.data, f->content)) {
				(*failures)++;
				buf_addf(report, "  %s differs from %s/%s\n", path.data, dir,
					 f->path);
			}
		}
		buf_free(&path);
		buf_free(&want);
	}
}

static void run_golden(const struct variant *v, const char *const *fixtures, size_t count,
		       const char *suffix)
{
	int failures = 0;
	struct buf report = BUF_INIT;
	for (size_t i = 0; i < count; i++) {
		for (size_t p = 0; p < 4; p++) {
			struct gen_files files = GEN_FILES_INIT;
			struct err e = ERR_INIT;
			if (generate(fixtures[i], providers[p], v, &files, &e) != 0)
				fail_msg("%s/%s: %s", fixtures[i], providers[p], e.msg);
			struct buf dir = BUF_INIT;
			buf_addf(&dir, "%s%s/%s", fixtures[i], suffix, providers[p]);
			check_golden(dir.data, &files, &failures, &report);
			buf_free(&dir);
			gen_files_free(&files);
		}
	}
	if (failures)
		fail_msg("%d golden files differ (AMPEL_UPDATE_GOLDEN=1 regenerates):\n%s",
			 failures, report.data);
	buf_free(&report);
}

static void test_golden_default(void **state)
{
	(void)state;
	run_golden(&plain, golden_fixtures, sizeof(golden_fixtures) / sizeof(*golden_fixtures), "");
}

/* Haskell, Crystal, Clojure, Scala, Zig, Gleam, C and C++: plain and every option. */
static void test_golden_languages(void **state)
{
	(void)state;
	const char *names[LANGUAGE_COUNT];
	for (size_t i = 0; i < LANGUAGE_COUNT; i++)
		names[i] = language_fixtures[i].name;
	run_golden(&plain, names, LANGUAGE_COUNT, "");
	run_golden(&every_option, names, LANGUAGE_COUNT, "+all-options");
}

static void test_golden_all_options(void **state)
{
	(void)state;
	static const char *const fixtures[] = { "node-express", "python-fastapi-uv",
						"monorepo-turbo-pnpm" };
	run_golden(&every_option, fixtures, 3, "+all-options");
}

/* ---- facts ---- */

static void assert_contains(const char *text, const char *want)
{
	if (!strstr(text, want)) {
		print_error("expected '%s' in:\n", want);
		print_error("%s\n", text);
		fail();
	}
}

static void assert_lacks(const char *text, const char *unwanted)
{
	if (strstr(text, unwanted)) {
		print_error("did not expect '%s' in:\n", unwanted);
		print_error("%s\n", text);
		fail();
	}
}

static void test_versions_and_commands(void **state)
{
	(void)state;
	char *gh = generated("node-express", "github", &plain, ".github/workflows/ci.yml");
	assert_contains(gh, "node-version: '20.11.0'");
	assert_contains(gh, "run: npm run lint");
	assert_contains(gh, "permissions:\n  contents: read");
	assert_contains(gh, "timeout-minutes: 30");
	assert_contains(gh, "cancel-in-progress: true");
	assert_contains(gh, "# Generated by Ampel");
	assert_contains(gh, "an Express app (javascript, npm)");
	assert_lacks(gh, "cache:"); /* no --cache */
	free(gh);
	char *gl = generated("python-pdm", "gitlab", &plain, ".gitlab-ci.yml");
	assert_contains(gl, "image: python:3.12");
	assert_contains(gl, "pip install pdm");
	free(gl);
	char *jf = generated("java-spring-maven", "jenkins", &plain, "Jenkinsfile");
	assert_contains(jf, "image 'maven:3-eclipse-temurin-17'");
	assert_contains(jf, "sh './mvnw test'");
	assert_contains(jf, "MAVEN_ARGS = '--batch-mode --no-transfer-progress'");
	assert_contains(jf, "timeout(time: 30, unit: 'MINUTES')");
	free(jf);
	char *bb = generated("php-laravel", "bitbucket", &plain, "bitbucket-pipelines.yml");
	assert_contains(bb, "image: php:8.4-cli");
	assert_contains(bb, "composer run-script test");
	free(bb);
}

static void test_no_lint_step_without_lint_command(void **state)
{
	(void)state;
	for (size_t p = 0; p < 4; p++) {
		const char *path = p == 0   ? ".github/workflows/ci.yml"
				   : p == 1 ? ".gitlab-ci.yml"
				   : p == 2 ? "bitbucket-pipelines.yml"
					    : "Jenkinsfile";
		char *text = generated("go-gin", providers[p], &plain, path);
		assert_lacks(text, "Lint");
		assert_lacks(text, "lint");
		assert_contains(text, "go test ./...");
		free(text);
		/* and one that has a lint command keeps it */
		text = generated("python-fastapi-uv", providers[p], &plain, path);
		assert_contains(text, "uv run ruff check .");
		free(text);
	}
}

static void test_options(void **state)
{
	(void)state;
	char *gh = generated("node-express", "github", &every_option, ".github/workflows/ci.yml");
	assert_contains(gh, "cache: npm");
	assert_contains(gh, "node-version: ${{ matrix.node-version }}");
	assert_contains(gh, "- macos-latest");
	assert_contains(gh, "npm audit --audit-level=high");
	assert_contains(gh, "gitleaks/gitleaks-action@v2");
	assert_contains(gh, "npm run test -- --coverage");
	assert_contains(gh, "actions/upload-artifact@v4");
	assert_contains(gh, "release/*");
	assert_contains(gh, "name: Smoke test\n        run: echo smoke test passed");
	free(gh);
	char *gl = generated("python-fastapi-uv", "gitlab", &every_option, ".gitlab-ci.yml");
	assert_contains(gl, "RUNTIME_IMAGE:");
	assert_contains(gl, "UV_CACHE_DIR: $CI_PROJECT_DIR/.cache/uv");
	assert_contains(gl, "- .cache/uv");
	assert_contains(gl, "uv run --with pip-audit pip-audit");
	assert_contains(gl, "uv run pytest --cov --cov-report=xml");
	assert_contains(gl, "$CI_COMMIT_BRANCH =~ /^release\\/.*$/");
	assert_contains(gl, "zricethezav/gitleaks");
	free(gl);
	char *bb = generated("rust-axum", "bitbucket", &every_option, "bitbucket-pipelines.yml");
	assert_contains(bb, "parallel:");
	assert_contains(bb, "image: rust:1.76.0");
	assert_contains(bb, "image: rust:1\n");
	assert_contains(bb, "cargo audit");
	free(bb);
	char *jf = generated("go-gin", "jenkins", &every_option, "Jenkinsfile");
	assert_contains(jf, "matrix {");
	assert_contains(jf, "'golang:1.22.1'");
	assert_contains(jf, "GOMODCACHE = \"${WORKSPACE}/.go/pkg/mod\"");
	assert_contains(jf, "branch 'release/*'");
	assert_contains(jf, "govulncheck");
	free(jf);

	/* a custom step without '=' is refused */
	struct variant bad = plain;
	bad.custom[0] = "no-equals-sign";
	struct gen_files files = GEN_FILES_INIT;
	struct err e = ERR_INIT;
	assert_int_equal(generate("node-express", "github", &bad, &files, &e), -1);
	assert_contains(e.msg, "expected name=command");
	assert_int_equal(files.files.len, 0);
}

static void test_monorepo(void **state)
{
	(void)state;
	struct gen_files files = GEN_FILES_INIT;
	struct err e = ERR_INIT;
	assert_int_equal(generate("monorepo-turbo-pnpm", "github", &plain, &files, &e), 0);
	/* apps/docs, apps/web and packages/ui; not the root, not the idle eslint-config */
	assert_int_equal(files.files.len, 3);
	const struct gen_file *web = gen_files_find(&files, ".github/workflows/ci-web.yml");
	assert_non_null(web);
	assert_contains(web->content, "paths:\n      - apps/web/**\n      - package.json");
	assert_contains(web->content, "- pnpm-lock.yaml");
	assert_contains(web->content, "working-directory: apps/web");
	assert_contains(web->content, "pnpm/action-setup@v4");
	assert_lacks(web->content, "version: \"9\""); /* pinned by packageManager */
	gen_files_free(&files);

	char *gl = generated("monorepo-turbo-pnpm", "gitlab", &plain, ".gitlab-ci.yml");
	assert_contains(gl, "changes:\n        - apps/web/**/*");
	free(gl);
	char *bb = generated("polyglot-subfolders", "bitbucket", &plain, "bitbucket-pipelines.yml");
	assert_contains(bb, "includePaths:\n                    - backend/**");
	free(bb);
	char *jf = generated("monorepo-turbo-pnpm", "jenkins", &plain, "Jenkinsfile");
	assert_contains(jf, "changeset 'apps/docs/**'");
	free(jf);
	/* Maven modules build from the parent: one job */
	char *gh =
		generated("java-maven-multimodule", "github", &plain, ".github/workflows/ci.yml");
	assert_contains(gh, "java-version: '21'");
	free(gh);
}

static void test_deterministic(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(golden_fixtures) / sizeof(*golden_fixtures); i++) {
		for (size_t p = 0; p < 4; p++) {
			struct gen_files a = GEN_FILES_INIT, b = GEN_FILES_INIT;
			struct err e = ERR_INIT;
			assert_int_equal(
				generate(golden_fixtures[i], providers[p], &every_option, &a, &e),
				0);
			assert_int_equal(
				generate(golden_fixtures[i], providers[p], &every_option, &b, &e),
				0);
			assert_int_equal(a.files.len, b.files.len);
			for (size_t k = 0; k < a.files.len; k++) {
				const struct gen_file *fa = a.files.items[k],
						      *fb = b.files.items[k];
				assert_string_equal(fa->path, fb->path);
				assert_string_equal(fa->content, fb->content);
			}
			gen_files_free(&a);
			gen_files_free(&b);
		}
	}
}

static void test_unsupported(void **state)
{
	(void)state;
	static const struct {
		const char *fixture, *names;
	} cases[] = { { "../realworld/b/barryclark__jekyll-now", "scss" },
		      { "no-manifest", "python" } };
	for (size_t i = 0; i < 2; i++) {
		for (size_t p = 0; p < 4; p++) {
			struct gen_files files = GEN_FILES_INIT;
			struct err e = ERR_INIT;
			assert_int_equal(
				generate(cases[i].fixture, providers[p], &plain, &files, &e),
				GEN_UNSUPPORTED);
			assert_int_equal(files.files.len, 0);
			assert_contains(e.msg, "unsupported stack");
			assert_contains(e.msg, cases[i].names);
		}
	}
	/* Mixed signals: the root's commands need maven and cargo, so only the Dart project. */
	char *gh = generated("hostile", "github", &plain, ".github/workflows/ci.yml");
	assert_contains(gh, "# Not covered: .: javascript with ");
	assert_contains(gh, "needs another runtime than Node.js");
	assert_contains(gh, "dart test");
	free(gh);
}

/* ---- validators ---- */

static char *shared_dir(void)
{
	const char *env = getenv("AMPEL_SHARED_DIR");
	struct buf b = BUF_INIT;
	if (env && *env)
		buf_adds(&b, env);
	else
		buf_adds(&b, AMPEL_SOURCE_ROOT "/../shared");
	return buf_detach(&b);
}

static void output_line(void *ctx, enum spawn_stream stream, const char *data, size_t len)
{
	struct buf *out = ctx;
	(void)stream;
	buf_add(out, data, len);
	buf_addch(out, '\n');
}

static void test_validators(void **state)
{
	(void)state;
	char *shared = shared_dir();
	struct buf script = BUF_INIT;
	buf_addf(&script, "%s/validators/validate-generated.sh", shared);
	free(shared);
	if (access(script.data, X_OK) != 0)
		fail_msg("validators not found: %s (set AMPEL_SHARED_DIR)", script.data);
	const char *keep = getenv("AMPEL_GENCI_KEEP");
	char tmpl[] = "/tmp/ampel-genci-XXXXXX";
	const char *dir = keep && *keep ? keep : mkdtemp(tmpl);
	assert_non_null(dir);

	size_t written = 0;
	DIR *repos = opendir(REPOS);
	assert_non_null(repos);
	struct vec names = VEC_INIT;
	for (struct dirent *d; (d = readdir(repos));)
		if (d->d_name[0] != '.' && d->d_type == DT_DIR)
			vec_push(&names, xstrdup(d->d_name));
	closedir(repos);
	for (size_t i = 0; i < LANGUAGE_COUNT; i++)
		if (!language_fixtures[i].fixture ||
		    !str_starts_with(language_fixtures[i].fixture, "repos/"))
			vec_push(&names, xstrdup(language_fixtures[i].name));
	const struct variant *variants[] = { &plain, &every_option };
	for (size_t i = 0; i < names.len; i++) {
		for (size_t v = 0; v < 2; v++) {
			for (size_t p = 0; p < 4; p++) {
				struct gen_files files = GEN_FILES_INIT;
				struct err e = ERR_INIT;
				int rc = generate(names.items[i], providers[p], variants[v], &files,
						  &e);
				if (rc == GEN_UNSUPPORTED)
					continue;
				if (rc != 0)
					fail_msg("%s/%s: %s", (const char *)names.items[i],
						 providers[p], e.msg);
				struct buf out = BUF_INIT;
				buf_addf(&out, "%s/%s/%s/%s", dir, (const char *)names.items[i],
					 variants[v]->name, providers[p]);
				/* gen_files_write makes the directories below out */
				make_parents(out.data);
				mkdir(out.data, 0755);
				if (gen_files_write(&files, out.data, true, &e) < 0)
					fail_msg("%s", e.msg);
				written += files.files.len;
				buf_free(&out);
				gen_files_free(&files);
			}
		}
	}
	vec_free(&names, free);

	struct buf output = BUF_INIT;
	const char *argv[] = { "bash", script.data, dir, NULL };
	struct spawn_options options = { 0 };
	options.argv = argv;
	options.stderr_to = SPAWN_DEVNULL;
	options.on_output = output_line;
	options.output_ctx = &output;
	options.timeout_ms = 600000;
	struct spawn_result result;
	struct err e = ERR_INIT;
	if (spawn_run(&options, &result, &e) < 0)
		fail_msg("%s", e.msg);
	/* The summary, and every failure, for the log. */
	const char *last = output.data;
	for (const char *p = output.data; p && *p;
	     p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (str_starts_with(p, "FAIL "))
			fprintf(stderr, "%.*s\n", (int)strcspn(p, "\n"), p);
		if (*p)
			last = p;
	}
	fprintf(stderr, "validators (%zu generated files): %s", written, last ? last : "");
	if (result.exit_code != 0)
		fail_msg("validate-generated.sh exited %d", result.exit_code);
	if (!keep || !*keep) {
		struct buf rm = BUF_INIT;
		const char *rm_argv[] = { "rm", "-rf", dir, NULL };
		struct buf ignored = BUF_INIT;
		spawn_capture(rm_argv, NULL, &ignored, NULL, &e);
		buf_free(&ignored);
		buf_free(&rm);
	}
	buf_free(&output);
	buf_free(&script);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_templates_load),
		cmocka_unit_test(test_templates_errors),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_golden_default),
		cmocka_unit_test(test_golden_all_options),
		cmocka_unit_test(test_golden_languages),
		cmocka_unit_test(test_versions_and_commands),
		cmocka_unit_test(test_no_lint_step_without_lint_command),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_monorepo),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_validators),
	};
	return cmocka_run_group_tests(tests, NULL, free_documents);
}
