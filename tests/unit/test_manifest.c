#include "intel/manifest.h"

#include "intel/languages.h"
#include "intel/project.h"
#include "intel/scan.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/map.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define REPOS AMPEL_SOURCE_ROOT "/tests/fixtures/repos/"

struct fixture {
	struct language_table *languages;
	struct scan *scan;
	struct arena *arena;
	struct project *p;
};

static void fixture_open(struct fixture *f, const char *repo, const char *dir)
{
	struct err e = ERR_INIT;
	memset(f, 0, sizeof(*f));
	if (language_table_load(&f->languages, &e) < 0)
		fail_msg("languages: %s", e.msg);
	struct buf root = BUF_INIT;
	buf_addf(&root, "%s%s", REPOS, repo);
	if (scan_tree(&f->scan, root.data, f->languages, NULL, &e) < 0)
		fail_msg("scan %s: %s", root.data, e.msg);
	buf_free(&root);
	f->arena = arena_new();
	f->p = project_new(f->arena, dir);
	assert_int_equal(manifest_read_project(f->p, f->scan, f->arena), 0);
}

static void fixture_close(struct fixture *f)
{
	project_free(f->p);
	arena_free(f->arena);
	scan_free(f->scan);
	language_table_free(f->languages);
}

static void dump_dependencies(const struct project *p)
{
	for (size_t i = 0; i < p->dependencies.len; i++) {
		const struct dependency *d = p->dependencies.items[i];
		print_message("  %s %s '%s'%s (%s)\n", d->ecosystem, d->name, d->version,
			      d->dev ? " dev" : "", d->source);
	}
}

static void assert_dep(const struct project *p, const char *ecosystem, const char *name,
		       const char *version, bool dev)
{
	const struct dependency *d = project_dependency(p, name);
	if (!d) {
		dump_dependencies(p);
		fail_msg("no dependency '%s'", name);
	}
	assert_string_equal(d->ecosystem, ecosystem);
	if (strcmp(d->version, version) != 0)
		fail_msg("dependency '%s': version '%s', expected '%s'", name, d->version, version);
	if (d->dev != dev)
		fail_msg("dependency '%s': dev is %d, expected %d", name, d->dev, dev);
}

static void assert_no_dep(const struct project *p, const char *name)
{
	if (project_dependency(p, name))
		fail_msg("unexpected dependency '%s'", name);
}

static void assert_runtime(const struct project *p, const char *runtime, const char *version)
{
	const char *got = map_get(p->runtimes, runtime);
	if (!got)
		fail_msg("no runtime '%s'", runtime);
	if (strcmp(got, version) != 0)
		fail_msg("runtime '%s' is '%s', expected '%s'", runtime, got, version);
}

static void assert_script(const struct project *p, const char *name, const char *command)
{
	const char *got = map_get(p->scripts, name);
	if (!got)
		fail_msg("no script '%s'", name);
	assert_string_equal(got, command);
}

static void assert_members(const struct project *p, ...)
{
	va_list ap;
	va_start(ap, p);
	size_t n = 0;
	for (const char *m = va_arg(ap, const char *); m; m = va_arg(ap, const char *), n++) {
		const char *got = n < p->workspace_members.len ? p->workspace_members.items[n] : "";
		if (strcmp(got, m) != 0)
			fail_msg("workspace member %zu is '%s', expected '%s'", n, got, m);
	}
	va_end(ap);
	assert_int_equal(p->workspace_members.len, n);
	assert_true(p->is_workspace_root);
}

static void assert_warning(const struct scan *scan, const char *needle)
{
	for (size_t i = 0; i < scan->warnings.len; i++)
		if (strstr(scan->warnings.items[i], needle))
			return;
	for (size_t i = 0; i < scan->warnings.len; i++)
		print_message("  warning: %s\n", (const char *)scan->warnings.items[i]);
	fail_msg("no warning containing '%s'", needle);
}

static void assert_manifest(const struct project *p, const char *path)
{
	for (size_t i = 0; i < p->manifests.len; i++)
		if (strcmp(p->manifests.items[i], path) == 0)
			return;
	fail_msg("manifest '%s' not recorded", path);
}

/* ---- markers ---- */

static void test_marks_project(void **state)
{
	(void)state;
	const char *yes[] = { "package.json",  "deno.json",	   "pyproject.toml",
			      "setup.py",      "requirements.txt", "Pipfile",
			      "Cargo.toml",    "go.mod",	   "go.work",
			      "pom.xml",       "build.gradle.kts", "settings.gradle",
			      "Gemfile",       "composer.json",	   "mix.exs",
			      "Api.csproj",    "App.fsproj",	   "Todo.sln",
			      "Package.swift", "pubspec.yaml",	   "build.zig",
			      "acme.gemspec" };
	const char *no[] = { "package-lock.json",
			     "yarn.lock",
			     "requirements-dev.txt",
			     "pnpm-workspace.yaml",
			     "turbo.json",
			     "README.md",
			     "Cargo.lock",
			     "go.sum",
			     "main.go",
			     "csproj",
			     "",
			     "build.zig.zon" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++)
		if (!manifest_marks_project(yes[i]))
			fail_msg("%s should mark a project", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(*no); i++)
		if (manifest_marks_project(no[i]))
			fail_msg("%s should not mark a project", no[i]);
	assert_false(manifest_marks_project(NULL));
	assert_true(manifest_is_known("requirements-dev.txt"));
	assert_true(manifest_is_known("pnpm-workspace.yaml"));
	assert_false(manifest_is_known("index.js"));
}

/* ---- JavaScript ---- */

static void test_npm_express(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, "node-express", "");
	assert_string_equal(f.p->name, "express-api");
	assert_manifest(f.p, "package.json");
	assert_dep(f.p, "npm", "express", "^4.18.2", false);
	assert_dep(f.p, "npm", "pg", "^8.11.3", false);
	assert_dep(f.p, "npm", "jest", "^29.7.0", true);
	assert_dep(f.p, "npm", "nodemon", "^3.0.3", true);
	assert_int_equal(f.p->dependencies.len, 7);
	assert_script(f.p, "start", "node src/index.js");
	assert_script(f.p, "test", "jest");
	assert_int_equal(map_count(f.p->scripts), 4);
	assert_runtime(f.p, "node", ">=18");
	assert_false(f.p->is_workspace_root);
	assert_int_equal(f.scan->warnings.len, 0);
	fixture_close(&f);
}

static void test_npm_package_manager(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, "node-nextjs-pnpm", "");
	assert_runtime(f.p, "pnpm", "8.15.4");
	assert_null(map_get(f.p->runtimes, "node"));
	assert_dep(f.p, "npm", "next", "14.1.0", false);
	assert_dep(f.p, "npm", "typescript", "^5.3.3", true);
	assert_script(f.p, "build", "next build");
	fixture_close(&f);

	fixture_open(&f, "node-vite-react-yarn-berry", "");
	assert_runtime(f.p, "yarn", "4.1.0");
	assert_dep(f.p, "npm", "vite", "^5.1.0", true);
	assert_script(f.p, "build", "tsc && vite build");
	fixture_close(&f);

	/* The "+sha512..." integrity suffix is not part of the version. */
	fixture_open(&f, "monorepo-turbo-pnpm", "");
	assert_runtime(f.p, "pnpm", "9.0.0");
	assert_runtime(f.p, "node", ">=18");
	fixture_close(&f);
}

static void test_npm_workspaces(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, "monorepo-npm-workspaces", "");
	assert_members(f.p, "apps/*", "packages/*", NULL);
	assert_dep(f.p, "npm", "prettier", "^3.2.5", true);
	fixture_close(&f);

	fixture_open(&f, "monorepo-npm-workspaces", "apps/web");
	assert_string_equal(f.p->name, "@acme/web");
	assert_dep(f.p, "npm", "@acme/ui", "*", false);
	assert_false(f.p->is_workspace_root);
	assert_manifest(f.p, "apps/web/package.json");
	const struct dependency *d = project_dependency(f.p, "next");
	assert_non_null(d);
	assert_string_equal(d->source, "apps/web/package.json");
	fixture_close(&f);

	/* pnpm-workspace.yaml lists members; negated patterns are exclusions. */
	fixture_open(&f, "monorepo-turbo-pnpm", "");
	assert_members(f.p, "apps/*", "packages/*", NULL);
	assert_manifest(f.p, "turbo.json");
	assert_manifest(f.p, "pnpm-workspace.yaml");
	fixture_close(&f);
}

static void test_npm_frameworks(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, "node-nestjs", "");
	assert_dep(f.p, "npm", "@nestjs/core", "^10.0.0", false);
	assert_dep(f.p, "npm", "@nestjs/cli", "^10.0.0", true);
	assert_script(f.p, "lint", "eslint \"{src,apps,libs,test}/**/*.ts\" --fix");
	assert_runtime(f.p, "node", ">=20");
	fixture_close(&f);

	fixture_open(&f, "node-sveltekit-bun", "");
	assert_dep(f.p, "npm", "@sveltejs/kit", "^2.5.0", true);
	assert_script(f.p, "dev", "vite dev");
	fixture_close(&f);
}

/* ---- Python ---- */

static void test_python_poetry(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, "python-django-poetry", "");
	assert_string_equal(f.p->name, "mysite");
	assert_runtime(f.p, "python", "^3.11");
	assert_dep(f.p, "pypi", "django", "^5.0.2", false);
	assert_dep(f.p, "pypi", "psycopg", "^3.1.18", false);
	assert_dep(f.p, "pypi", "pytest-django", "^4.8.0", true);
	assert_no_dep(f.p, "python");
	assert_no_dep(f.p, "poetry-core");
	assert_int_equal(f.p->dependencies.len, 7);
	fixture_close(&f);
}

static void test_python_requirements(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, "python-flask-pip", "");
	assert_dep(f.p, "pypi", "Flask", "==3.0.2", false);
	assert_dep(f.p, "pypi", "gunicorn", ">=21.2,<22", false);
	assert_dep(f.p, "pypi", "python-dotenv", "~=1.0.1", false);
	assert_dep(f.p, "pypi", "requests", ">=2.31.0", false);
	assert_dep(f.p, "pypi", "SQLAlchemy", "", false);
	assert_dep(f.p, "pypi", "pytest", "==8.0.1", true);
	assert_dep(f.p, "pypi", "flake8", ">=7.0", true);
	assert_int_equal(f.p->dependencies.len, 7);
	assert_manifest(f.p, "requirements-dev.txt");
	fixture_close(&f);
}

static void test_python_uv_pdm(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, "python-fastapi-uv", "");
	assert_string_equal(f.p->name, "fastapi-todo");
	assert_runtime(f.p, "python", ">=3.12");
	assert_dep(f.p, "pypi", "fastapi", ">=0.109.2", false);
	assert_dep(f.p, "pypi", "uvicorn", ">=0.27.1", false);
	assert_dep(f.p, "pypi", "httpx", ">=0.26.0", true);
	assert_dep(f.p, "pypi", "ruff", ">=0.2.1", true);
	fixture_close(&f);

	fixture_open(&f, "python-pdm", "");
	assert_runtime(f.p, "python", ">=3.10,<3.13");
	assert_dep(f.p, "pypi", "litestar", ">=2.6", false);
	assert_dep(f.p, "pypi", "httpx", ">=0.26", false);
	assert_dep(f.p, "pypi", "asyncpg", ">=0.29", false);
	assert_dep(f.p, "pypi", "pytest-asyncio", "", true);
	assert_dep(f.p, "pypi", "ruff", "", true);
	assert_script(f.p, "start", "litestar run"); /* [tool.pdm.scripts] */
	fixture_close(&f);
}

static void test_python_pipenv_setuptools(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, "python-pipenv", "");
	assert_runtime(f.p, "python", "3.10");
	assert_dep(f.p, "pypi", "flask", "==3.0.2", false);
	assert_dep(f.p, "pypi", "requests", "", false);
	assert_dep(f.p, "pypi", "celery", ">=5.3", false);
	assert_dep(f.p, "pypi", "pytest", "", true);
	fixture_close(&f);

	fixture_open(&f, "python-setuptools-lib", "");
	assert_string_equal(f.p->name, "acme-tools");
	assert_runtime(f.p, "python", ">=3.8");
	assert_dep(f.p, "pypi", "click", ">=8.0", false);
	assert_dep(f.p, "pypi", "tomli", "", false);
	assert_dep(f.p, "pypi", "pyyaml", "", false);
	assert_dep(f.p, "pypi", "rich", ">=13,<14", false);
	assert_dep(f.p, "pypi", "pytest", "", true);
	fixture_close(&f);
}

/* ---- Rust, Go ---- */

static void test_cargo(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, "rust-axum", "");
	assert_string_equal(f.p->name, "axum-api");
	assert_dep(f.p, "cargo", "axum", "0.7.4", false);
	assert_dep(f.p, "cargo", "tokio", "1.36", false);
	assert_dep(f.p, "cargo", "tower", "0.4", true);
	fixture_close(&f);

	fixture_open(&f, "rust-actix", "");
	assert_runtime(f.p, "rust", "1.72");
	assert_dep(f.p, "cargo", "actix-web", "4", false);
	assert_dep(f.p, "cargo", "vergen", "8", false);
	fixture_close(&f);

	fixture_open(&f, "rust-workspace", "");
	assert_members(f.p, "crates/*", "cli", NULL);
	assert_runtime(f.p, "rust", "1.74");
	assert_int_equal(f.p->dependencies.len, 0);
	fixture_close(&f);

	fixture_open(&f, "rust-workspace", "crates/server");
	assert_dep(f.p, "cargo", "ws-core", "", false);
	assert_dep(f.p, "cargo", "axum", "0.7", false);
	fixture_close(&f);
}

static void test_go(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, "go-gin", "");
	assert_string_equal(f.p->name, "github.com/acme/gin-api");
	assert_runtime(f.p, "go", "1.22.1"); /* the toolchain line is the exact one */
	assert_dep(f.p, "go", "github.com/gin-gonic/gin", "v1.9.1", false);
	assert_dep(f.p, "go", "github.com/jackc/pgx/v5", "v5.5.3", false);
	assert_no_dep(f.p, "github.com/bytedance/sonic");
	assert_int_equal(f.p->dependencies.len, 3);
	fixture_close(&f);

	fixture_open(&f, "go-echo", "");
	assert_runtime(f.p, "go", "1.21");
	assert_dep(f.p, "go", "github.com/labstack/echo/v4", "v4.11.4", false);
	assert_int_equal(f.p->dependencies.len, 1);
	fixture_close(&f);

	fixture_open(&f, "go-work-monorepo", "");
	assert_members(f.p, "api", "worker", "shared", NULL);
	assert_runtime(f.p, "go", "1.22");
	fixture_close(&f);
}

/* ---- JVM ---- */

static void test_maven(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, "java-spring-maven", "");
	assert_string_equal(f.p->name, "demo");
	assert_runtime(f.p, "java", "17");
	assert_dep(f.p, "maven", "org.springframework.boot:spring-boot-starter-parent", "3.2.2",
		   false);
	assert_dep(f.p, "maven", "org.springframework.boot:spring-boot-starter-web", "", false);
	assert_dep(f.p, "maven", "org.springdoc:springdoc-openapi-starter-webmvc-ui", "2.3.0",
		   false);
	assert_dep(f.p, "maven", "org.postgresql:postgresql", "", false);
	assert_dep(f.p, "maven", "org.springframework.boot:spring-boot-starter-test", "", true);
	assert_no_dep(f.p, "org.springframework.boot:spring-boot-maven-plugin");
	fixture_close(&f);

	fixture_open(&f, "java-maven-multimodule", "");
	assert_members(f.p, "core", "service", NULL);
	assert_runtime(f.p, "java", "21");
	fixture_close(&f);

	fixture_open(&f, "java-maven-multimodule", "core");
	assert_dep(f.p, "maven", "org.junit.jupiter:junit-jupiter", "5.10.2", true);
	fixture_close(&f);
}

static void test_gradle(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, "java-quarkus-gradle", "");
	assert_string_equal(f.p->name, "code-with-quarkus");
	assert_runtime(f.p, "java", "17");
	assert_dep(f.p, "maven", "io.quarkus", "", false);
	assert_dep(f.p, "maven", "io.quarkus:quarkus-resteasy-reactive", "", false);
	assert_dep(f.p, "maven", "org.apache.commons:commons-lang3", "3.14.0", false);
	assert_dep(f.p, "maven", "io.quarkus:quarkus-junit5", "", true);
	assert_false(f.p->is_workspace_root);
	fixture_close(&f);

	fixture_open(&f, "kotlin-spring-gradle-kts", "");
	assert_string_equal(f.p->name, "kotlin-demo");
	assert_runtime(f.p, "java", "21");
	assert_dep(f.p, "maven", "org.springframework.boot", "3.2.2", false);
	assert_dep(f.p, "maven", "org.jetbrains.kotlin.jvm", "1.9.22", false);
	assert_dep(f.p, "maven", "org.jetbrains.kotlin.plugin.spring", "1.9.22", false);
	assert_dep(f.p, "maven", "org.springframework.boot:spring-boot-starter-web", "", false);
	assert_dep(f.p, "maven", "org.jetbrains.kotlin:kotlin-reflect", "", false);
	assert_dep(f.p, "maven", "org.postgresql:postgresql", "42.7.1", false);
	assert_dep(f.p, "maven", "org.springframework.boot:spring-boot-starter-test", "", true);
	fixture_close(&f);
}

/* ---- Ruby, PHP, Elixir ---- */

static void test_gemfile(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, "ruby-rails", "");
	assert_runtime(f.p, "ruby", "3.2.2");
	assert_dep(f.p, "rubygems", "rails", "~> 7.1.3", false);
	assert_dep(f.p, "rubygems", "puma", ">= 5.0", false);
	assert_dep(f.p, "rubygems", "bootsnap", "", false);
	assert_dep(f.p, "rubygems", "debug", "", true);
	assert_dep(f.p, "rubygems", "rspec-rails", "~> 6.1", true);
	assert_dep(f.p, "rubygems", "web-console", "", true);
	assert_dep(f.p, "rubygems", "capybara", "", true);
	assert_dep(f.p, "rubygems", "tzinfo-data", "", false);
	assert_dep(f.p, "rubygems", "importmap-rails", "", false);
	assert_int_equal(f.p->dependencies.len, 10);
	fixture_close(&f);

	fixture_open(&f, "ruby-sinatra", "");
	assert_dep(f.p, "rubygems", "sinatra", "~> 4.0", false);
	assert_dep(f.p, "rubygems", "rack-test", "", true);
	assert_dep(f.p, "rubygems", "rspec", "~> 3.13", true);
	fixture_close(&f);
}

static void test_composer(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, "php-laravel", "");
	assert_string_equal(f.p->name, "laravel/laravel");
	assert_runtime(f.p, "php", "^8.2");
	assert_dep(f.p, "packagist", "laravel/framework", "^11.0", false);
	assert_dep(f.p, "packagist", "phpunit/phpunit", "^10.5", true);
	assert_no_dep(f.p, "php");
	assert_no_dep(f.p, "ext-pdo");
	assert_script(f.p, "post-autoload-dump",
		      "Illuminate\\Foundation\\ComposerScripts::postAutoloadDump && @php artisan "
		      "package:discover --ansi");
	assert_script(f.p, "test", "phpunit");
	/* The package.json beside it adds npm dependencies; composer names it. */
	assert_dep(f.p, "npm", "laravel-vite-plugin", "^1.0", true);
	assert_script(f.p, "build", "vite build");
	fixture_close(&f);

	fixture_open(&f, "php-symfony", "");
	assert_runtime(f.p, "php", ">=8.2");
	assert_dep(f.p, "packagist", "symfony/framework-bundle", "7.0.*", false);
	assert_script(f.p, "post-install-cmd", "@auto-scripts");
	assert_null(map_get(f.p->scripts, "auto-scripts"));
	fixture_close(&f);
}

static void test_mix(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, "elixir-phoenix", "");
	assert_string_equal(f.p->name, "hello");
	assert_runtime(f.p, "elixir", "~> 1.14");
	assert_dep(f.p, "hex", "phoenix", "~> 1.7.11", false);
	assert_dep(f.p, "hex", "postgrex", ">= 0.0.0", false);
	assert_dep(f.p, "hex", "floki", ">= 0.30.0", true);
	assert_dep(f.p, "hex", "phoenix_live_reload", "~> 1.2", true);
	assert_dep(f.p, "hex", "credo", "~> 1.7", true);
	assert_dep(f.p, "hex", "esbuild", "~> 0.8", false);
	assert_dep(f.p, "hex", "heroicons", "", false);
	assert_int_equal(f.p->dependencies.len, 12);
	fixture_close(&f);
}

/* ---- .NET, Swift, Dart, Deno, Zig ---- */

static void test_dotnet(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, "dotnet-aspnetcore", "");
	assert_members(f.p, "src/TodoApi", "tests/TodoApi.Tests", NULL);
	assert_manifest(f.p, "TodoApi.sln");
	fixture_close(&f);

	fixture_open(&f, "dotnet-aspnetcore", "src/TodoApi");
	assert_string_equal(f.p->name, "TodoApi");
	assert_runtime(f.p, "dotnet", "8.0");
	assert_dep(f.p, "nuget", "Microsoft.NET.Sdk.Web", "", false);
	assert_dep(f.p, "nuget", "Microsoft.EntityFrameworkCore", "8.0.2", false);
	assert_dep(f.p, "nuget", "Swashbuckle.AspNetCore", "6.5.0", false);
	assert_int_equal(f.p->dependencies.len, 4);
	fixture_close(&f);

	fixture_open(&f, "dotnet-aspnetcore", "tests/TodoApi.Tests");
	assert_dep(f.p, "nuget", "xunit", "2.6.6", false);
	assert_no_dep(f.p, "Microsoft.NET.Sdk");
	fixture_close(&f);
}

static void test_swift_dart_deno_zig(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, "swift-vapor", "");
	assert_string_equal(f.p->name, "TodoBackend");
	assert_runtime(f.p, "swift", "5.9");
	assert_dep(f.p, "swift", "vapor", "4.89.0", false);
	assert_dep(f.p, "swift", "fluent-postgres-driver", "2.8.0", false);
	assert_int_equal(f.p->dependencies.len, 3);
	fixture_close(&f);

	fixture_open(&f, "dart-flutter", "");
	assert_string_equal(f.p->name, "weather_app");
	assert_runtime(f.p, "dart", ">=3.2.0 <4.0.0");
	assert_runtime(f.p, "flutter", ">=3.16.0");
	assert_dep(f.p, "pub", "http", "^1.2.0", false);
	assert_dep(f.p, "pub", "flutter", "", false);
	assert_dep(f.p, "pub", "flutter_lints", "^3.0.0", true);
	fixture_close(&f);

	fixture_open(&f, "deno-fresh", "");
	assert_dep(f.p, "deno", "fresh", "1.6.8", false);
	assert_dep(f.p, "deno", "preact", "10.19.6", false);
	assert_dep(f.p, "deno", "@std/dotenv", "^0.225.0", false);
	assert_dep(f.p, "deno", "zod", "^3.22.4", false);
	assert_dep(f.p, "deno", "std", "0.211.0", false);
	assert_no_dep(f.p, "~");
	assert_script(f.p, "start", "deno run -A --watch=static/,routes/ dev.ts");
	fixture_close(&f);

	fixture_open(&f, "zig-hello", "");
	assert_string_equal(f.p->name, "hello");
	assert_runtime(f.p, "zig", "0.12.0");
	assert_manifest(f.p, "build.zig");
	fixture_close(&f);
}

/* ---- hostile input ---- */

static void test_hostile(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, "hostile", "");
	assert_warning(f.scan, "package.json:5:");
	assert_warning(f.scan, "Cargo.toml:5:");
	assert_warning(f.scan, "pom.xml:9:1: invalid XML:");
	assert_warning(f.scan, "pyproject.toml:");
	assert_warning(f.scan, "composer.json:1:1: expected a JSON object");
	assert_int_equal(f.p->dependencies.len, 0);
	assert_int_equal(f.p->manifests.len, 5);
	fixture_close(&f);

	fixture_open(&f, "hostile", "nested");
	assert_warning(f.scan, "nested/pubspec.yaml:");
	fixture_close(&f);

	fixture_open(&f, "no-manifest", "");
	assert_int_equal(f.p->manifests.len, 0);
	assert_int_equal(f.p->dependencies.len, 0);
	assert_int_equal(f.scan->warnings.len, 0);
	fixture_close(&f);
}

/*
 * The hostile fixture plus what git cannot hold or should not: a symlink
 * loop, a symlinked manifest pointing outside, an unreadable manifest, a
 * 3 MB manifest and a binary one. Built in a temporary copy at test time.
 */
static void test_hostile_runtime_files(void **state)
{
	(void)state;
	char root[] = "/tmp/ampel-hostile-XXXXXX";
	assert_non_null(mkdtemp(root));
	struct buf cmd = BUF_INIT;
	buf_addf(&cmd,
		 "cp -R '%shostile/.' '%s' && cd '%s' && ln -s . loop && mkdir -p a big bin "
		 "secret link && ln -s ../a a/up && ln -s /etc/passwd link/package.json && "
		 "printf '{\"name\": \"secret\"}' > secret/package.json && chmod 000 "
		 "secret/package.json && head -c 3145728 /dev/zero | tr '\\0' ' ' > "
		 "big/package.json && printf '{\"a\":\"\\000\\001\"}' > bin/composer.json",
		 REPOS, root, root);
	assert_int_equal(system(cmd.data), 0);

	struct language_table *languages = NULL;
	struct scan *scan = NULL;
	struct err e = ERR_INIT;
	assert_int_equal(language_table_load(&languages, &e), 0);
	if (scan_tree(&scan, root, languages, NULL, &e) < 0)
		fail_msg("scan: %s", e.msg);
	struct arena *arena = arena_new();
	const char *dirs[] = { "", "a", "big", "bin", "secret", "link", "nested" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
		struct project *p = project_new(arena, dirs[i]);
		assert_int_equal(manifest_read_project(p, scan, arena), 0);
		assert_int_equal(p->dependencies.len, 0);
		if (strcmp(dirs[i], "link") == 0)
			assert_int_equal(p->manifests.len, 0); /* symlinked files are not read */
		project_free(p);
	}
	assert_warning(scan, "big/package.json: not read, 3145728 bytes is over the");
	assert_warning(scan, "bin/composer.json: binary file");
	/* Root reads an unreadable file anyway; anyone else gets a warning. */
	if (geteuid() != 0)
		assert_warning(scan, "secret/package.json");

	arena_free(arena);
	scan_free(scan);
	language_table_free(languages);
	buf_reset(&cmd);
	buf_addf(&cmd, "chmod -R u+rwx '%s' && rm -rf '%s'", root, root);
	assert_int_equal(system(cmd.data), 0);
	buf_free(&cmd);
}

/* Parses text as the manifest at path into a fresh project. */
static void text_open(struct fixture *f, const char *path, const char *text)
{
	struct err e = ERR_INIT;
	memset(f, 0, sizeof(*f));
	if (language_table_load(&f->languages, &e) < 0)
		fail_msg("languages: %s", e.msg);
	if (scan_tree(&f->scan, REPOS "no-manifest", f->languages, NULL, &e) < 0)
		fail_msg("scan: %s", e.msg);
	f->arena = arena_new();
	f->p = project_new(f->arena, "");
	assert_int_equal(manifest_read_text(f->p, f->scan, f->arena, path, text, strlen(text)), 0);
}

static void test_text_edge_cases(void **state)
{
	(void)state;
	struct fixture f;
	/* Workspaces as an object, non-string values, volta pins before engines. */
	text_open(&f, "package.json",
		  "{\"name\": 7, \"workspaces\": {\"packages\": [\"./libs/*/\", 3]},"
		  " \"dependencies\": {\"a\": {\"x\": 1}}, \"scripts\": {\"s\": 1},"
		  " \"volta\": {\"node\": \"20.11.1\"}, \"engines\": {\"node\": \">=18\"}}");
	assert_members(f.p, "libs/*", NULL);
	assert_dep(f.p, "npm", "a", "", false);
	assert_int_equal(map_count(f.p->scripts), 0);
	assert_runtime(f.p, "node", "20.11.1");
	assert_string_equal(f.p->name, "");
	fixture_close(&f);

	text_open(&f, "go.mod",
		  "module \"example.com/q\"\ngo 1.20\nrequire example.com/a v1.0.0\n"
		  "require (\n\texample.com/b v0.1.0 // indirect\n\t// comment\n"
		  "\texample.com/c v2.0.0+incompatible\n)\nreplace x => ../x\n");
	assert_string_equal(f.p->name, "example.com/q");
	assert_dep(f.p, "go", "example.com/a", "v1.0.0", false);
	assert_dep(f.p, "go", "example.com/c", "v2.0.0+incompatible", false);
	assert_no_dep(f.p, "example.com/b");
	assert_no_dep(f.p, "x");
	fixture_close(&f);

	text_open(&f, "deno.jsonc",
		  "{\n  // comment\n  \"name\": \"@scope/app\", /* block */\n  \"tasks\": "
		  "{\"dev\": {\"command\": \"deno run main.ts\"}},\n  \"workspace\": [\"./a\", "
		  "\"./b\",],\n}\n");
	assert_string_equal(f.p->name, "@scope/app");
	assert_script(f.p, "dev", "deno run main.ts");
	assert_members(f.p, "a", "b", NULL);
	fixture_close(&f);

	text_open(
		&f, "requirements/test.txt",
		"--index-url https://x\n-e .\nhttps://x/y.whl\npytest \\\n  >=8\n# c\nmock # x\n");
	assert_dep(f.p, "pypi", "pytest", ">=8", true);
	assert_dep(f.p, "pypi", "mock", "", true);
	assert_int_equal(f.p->dependencies.len, 2);
	fixture_close(&f);

	text_open(&f, "settings.gradle",
		  "rootProject.name = 'multi'\ninclude 'app', ':libs:core'\n");
	assert_string_equal(f.p->name, "multi");
	assert_members(f.p, "app", "libs/core", NULL);
	fixture_close(&f);

	text_open(
		&f, "x.gemspec",
		"Gem::Specification.new do |s|\n  s.name = \"gemmy\"\n  s.required_ruby_version = "
		"\">= 3.0\"\n  s.add_dependency \"rack\", \"~> 3.0\"\n  "
		"s.add_development_dependency \"rake\"\nend\n");
	assert_string_equal(f.p->name, "gemmy");
	assert_runtime(f.p, "ruby", ">= 3.0");
	assert_dep(f.p, "rubygems", "rack", "~> 3.0", false);
	assert_dep(f.p, "rubygems", "rake", "", true);
	fixture_close(&f);

	assert_int_equal(manifest_read_text(NULL, NULL, NULL, "README.md", "", 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_marks_project),
		cmocka_unit_test(test_npm_express),
		cmocka_unit_test(test_npm_package_manager),
		cmocka_unit_test(test_npm_workspaces),
		cmocka_unit_test(test_npm_frameworks),
		cmocka_unit_test(test_python_poetry),
		cmocka_unit_test(test_python_requirements),
		cmocka_unit_test(test_python_uv_pdm),
		cmocka_unit_test(test_python_pipenv_setuptools),
		cmocka_unit_test(test_cargo),
		cmocka_unit_test(test_go),
		cmocka_unit_test(test_maven),
		cmocka_unit_test(test_gradle),
		cmocka_unit_test(test_gemfile),
		cmocka_unit_test(test_composer),
		cmocka_unit_test(test_mix),
		cmocka_unit_test(test_dotnet),
		cmocka_unit_test(test_swift_dart_deno_zig),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_hostile_runtime_files),
		cmocka_unit_test(test_text_edge_cases),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
