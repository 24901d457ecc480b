#include "util/toml.h"
#include "util/buf.h"
#include "util/err.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static json_t *parse_ok(const char *text)
{
	struct err e = ERR_INIT;
	json_t *root = NULL;
	if (toml_parse(&root, "test.toml", text, strlen(text), &e) != 0)
		fail_msg("unexpected error: %s", e.msg);
	assert_non_null(root);
	assert_true(json_is_object(root));
	return root;
}

static void parse_err(const char *text, const char *expected)
{
	struct err e = ERR_INIT;
	json_t *root = (json_t *)1;
	if (toml_parse(&root, "test.toml", text, strlen(text), &e) == 0)
		fail_msg("parsed without error, expected: %s\ninput: %s", expected, text);
	assert_null(root);
	assert_string_equal(e.msg, expected);
}

/* Follows "a.b.0.c": object keys and array indexes separated by dots. */
static json_t *at(json_t *root, const char *path)
{
	json_t *node = root;
	const char *p = path;
	while (node && *p) {
		size_t n = strcspn(p, ".");
		char part[128];
		assert_true(n < sizeof(part));
		memcpy(part, p, n);
		part[n] = '\0';
		if (json_is_array(node))
			node = json_array_get(node, strtoul(part, NULL, 10));
		else
			node = json_object_get(node, part);
		p += n + (p[n] == '.');
	}
	if (!node)
		fail_msg("no value at '%s'", path);
	return node;
}

static const char *str_at(json_t *root, const char *path)
{
	json_t *v = at(root, path);
	if (!json_is_string(v))
		fail_msg("'%s' is not a string", path);
	return json_string_value(v);
}

static long long int_at(json_t *root, const char *path)
{
	json_t *v = at(root, path);
	if (!json_is_integer(v))
		fail_msg("'%s' is not an integer", path);
	return json_integer_value(v);
}

static double real_at(json_t *root, const char *path)
{
	json_t *v = at(root, path);
	if (!json_is_real(v))
		fail_msg("'%s' is not a float", path);
	return json_real_value(v);
}

static void test_cargo_manifest(void **state)
{
	(void)state;
	json_t *root = parse_ok(
		"[package]\n"
		"name = \"ripgrep\"\n"
		"version = \"14.1.0\"  # x-release-please-version\n"
		"authors = [\"Andrew Gallant <jamslam@gmail.com>\"]\n"
		"description = \"\"\"\n"
		"ripgrep is a line-oriented search tool that recursively searches the current\n"
		"directory for a regex pattern while respecting gitignore rules.\n"
		"\"\"\"\n"
		"keywords = [\"regex\", \"grep\", \"egrep\", \"search\", \"pattern\"]\n"
		"license = \"Unlicense OR MIT\"\n"
		"exclude = [\n  \"HomebrewFormula\",\n  \"/.github/\",\n]\n"
		"edition = \"2021\"\n"
		"rust-version = \"1.72\"\n"
		"\n"
		"[[bin]]\nbench = false\npath = \"crates/core/main.rs\"\nname = \"rg\"\n"
		"\n"
		"[[test]]\nname = \"integration\"\npath = \"tests/tests.rs\"\n"
		"\n"
		"[workspace]\nmembers = [\n  \"crates/globset\",\n  \"crates/grep\",\n]\n"
		"\n"
		"[dependencies]\n"
		"anyhow = \"1.0.75\"\n"
		"grep = { version = \"0.3.1\", path = \"crates/grep\" }\n"
		"serde = { version = \"1.0\", features = [\"derive\"], optional = true }\n"
		"\n"
		"[target.'cfg(all(target_env = \"musl\", target_pointer_width = \"64\"))'"
		".dependencies.jemallocator]\n"
		"version = \"0.5.0\"\n"
		"\n"
		"[features]\nsimd-accel = [\"grep/simd-accel\"]\n"
		"\n"
		"[profile.release]\ndebug = 1\nlto = true\nopt-level = 3\n");
	assert_string_equal(str_at(root, "package.name"), "ripgrep");
	assert_string_equal(str_at(root, "package.version"), "14.1.0");
	assert_string_equal(str_at(root, "package.rust-version"), "1.72");
	assert_string_equal(str_at(root, "package.description"),
			    "ripgrep is a line-oriented search tool that recursively searches the "
			    "current\ndirectory for a regex pattern while respecting gitignore "
			    "rules.\n");
	assert_int_equal(json_array_size(at(root, "package.keywords")), 5);
	assert_string_equal(str_at(root, "package.exclude.1"), "/.github/");
	assert_string_equal(str_at(root, "bin.0.name"), "rg");
	assert_true(json_is_false(at(root, "bin.0.bench")));
	assert_string_equal(str_at(root, "test.0.path"), "tests/tests.rs");
	assert_string_equal(str_at(root, "dependencies.anyhow"), "1.0.75");
	assert_string_equal(str_at(root, "dependencies.grep.path"), "crates/grep");
	assert_string_equal(str_at(root, "dependencies.serde.features.0"), "derive");
	assert_true(json_is_true(at(root, "dependencies.serde.optional")));
	json_t *cfg =
		json_object_get(at(root, "target"),
				"cfg(all(target_env = \"musl\", target_pointer_width = \"64\"))");
	assert_non_null(cfg);
	assert_string_equal(str_at(cfg, "dependencies.jemallocator.version"), "0.5.0");
	assert_int_equal(int_at(root, "profile.release.opt-level"), 3);
	assert_int_equal(int_at(root, "profile.release.debug"), 1);
	/* Tables keep the order they were written in. */
	const char *order[] = { "package",	"bin",	  "test",     "workspace",
				"dependencies", "target", "features", "profile" };
	size_t i = 0;
	const char *key;
	json_t *value;
	json_object_foreach(root, key, value)
	{
		(void)value;
		assert_true(i < 8);
		assert_string_equal(key, order[i++]);
	}
	assert_int_equal(i, 8);
	json_decref(root);
}

static void test_pyproject_poetry(void **state)
{
	(void)state;
	json_t *root = parse_ok("[tool.poetry]\n"
				"name = \"my-app\"\n"
				"version = \"0.1.0\"\n"
				"description = \"\"\n"
				"authors = [\"Jane Doe <jane@example.com>\"]\n"
				"packages = [{include = \"my_app\", from = \"src\"}]\n"
				"\n"
				"[tool.poetry.dependencies]\n"
				"python = \"^3.11\"\n"
				"django = \"^4.2\"\n"
				"requests = { version = \"^2.31\", extras = [\"socks\"] }\n"
				"\n"
				"[tool.poetry.group.dev.dependencies]\n"
				"pytest = \"^7.4\"\n"
				"\n"
				"[tool.poetry.scripts]\n"
				"my-app = \"my_app.cli:main\"\n"
				"\n"
				"[build-system]\n"
				"requires = [\"poetry-core\"]\n"
				"build-backend = \"poetry.core.masonry.api\"\n"
				"\n"
				"[tool.pytest.ini_options]\n"
				"addopts = \"-ra -q\"\n");
	assert_string_equal(str_at(root, "tool.poetry.name"), "my-app");
	assert_string_equal(str_at(root, "tool.poetry.description"), "");
	assert_string_equal(str_at(root, "tool.poetry.packages.0.from"), "src");
	assert_string_equal(str_at(root, "tool.poetry.dependencies.python"), "^3.11");
	assert_string_equal(str_at(root, "tool.poetry.dependencies.requests.extras.0"), "socks");
	assert_string_equal(str_at(root, "tool.poetry.group.dev.dependencies.pytest"), "^7.4");
	assert_string_equal(str_at(root, "tool.poetry.scripts.my-app"), "my_app.cli:main");
	assert_string_equal(str_at(root, "build-system.build-backend"), "poetry.core.masonry.api");
	assert_string_equal(str_at(root, "tool.pytest.ini_options.addopts"), "-ra -q");
	json_decref(root);
}

static void test_pyproject_pep621(void **state)
{
	(void)state;
	json_t *root = parse_ok("[build-system]\n"
				"requires = [\"setuptools>=61.0\", \"wheel\"]\n"
				"build-backend = \"setuptools.build_meta\"\n"
				"\n"
				"[project]\n"
				"name = \"example-package\"\n"
				"version = \"0.0.1\"\n"
				"authors = [\n"
				"  { name=\"Example Author\", email=\"author@example.com\" },\n"
				"]\n"
				"requires-python = \">=3.8\"\n"
				"license = {text = \"MIT\"}\n"
				"classifiers = [\n"
				"    \"Programming Language :: Python :: 3\",\n"
				"    \"Operating System :: OS Independent\",\n"
				"]\n"
				"dependencies = [\n"
				"  \"fastapi>=0.100\",\n"
				"  'uvicorn[standard]',  # the ASGI server\n"
				"]\n"
				"\n"
				"[project.optional-dependencies]\n"
				"test = [\"pytest>=7\", \"httpx\"]\n"
				"\n"
				"[project.scripts]\n"
				"example = \"example_package.cli:main\"\n"
				"\n"
				"[tool.ruff]\n"
				"line-length = 100\n"
				"[tool.ruff.lint]\n"
				"select = [\"E\", \"F\", \"I\"]\n");
	assert_string_equal(str_at(root, "build-system.requires.0"), "setuptools>=61.0");
	assert_string_equal(str_at(root, "project.name"), "example-package");
	assert_string_equal(str_at(root, "project.authors.0.email"), "author@example.com");
	assert_string_equal(str_at(root, "project.requires-python"), ">=3.8");
	assert_string_equal(str_at(root, "project.license.text"), "MIT");
	assert_string_equal(str_at(root, "project.dependencies.1"), "uvicorn[standard]");
	assert_int_equal(json_array_size(at(root, "project.dependencies")), 2);
	assert_string_equal(str_at(root, "project.optional-dependencies.test.1"), "httpx");
	assert_string_equal(str_at(root, "project.scripts.example"), "example_package.cli:main");
	assert_int_equal(int_at(root, "tool.ruff.line-length"), 100);
	assert_string_equal(str_at(root, "tool.ruff.lint.select.2"), "I");
	json_decref(root);
}

static void test_fly_toml(void **state)
{
	(void)state;
	json_t *root = parse_ok("# fly.toml app configuration file generated for my-app on "
				"2023-10-12T09:14:03+02:00\n"
				"#\n"
				"\n"
				"app = \"my-app\"\n"
				"primary_region = \"ams\"\n"
				"kill_signal = \"SIGINT\"\n"
				"\n"
				"[build]\n"
				"  dockerfile = \"Dockerfile\"\n"
				"\n"
				"[env]\n"
				"  PORT = \"8080\"\n"
				"\n"
				"[http_service]\n"
				"  internal_port = 8080\n"
				"  force_https = true\n"
				"  min_machines_running = 0\n"
				"  processes = [\"app\"]\n"
				"\n"
				"  [http_service.concurrency]\n"
				"    type = \"requests\"\n"
				"    hard_limit = 250\n"
				"\n"
				"[[http_service.checks]]\n"
				"  grace_period = \"10s\"\n"
				"  method = \"GET\"\n"
				"  path = \"/healthz\"\n"
				"\n"
				"[[vm]]\n"
				"  cpu_kind = \"shared\"\n"
				"  cpus = 1\n"
				"  memory_mb = 1024\n"
				"\n"
				"[deploy]\n"
				"  release_command = \"bin/migrate\"\n");
	assert_string_equal(str_at(root, "app"), "my-app");
	assert_string_equal(str_at(root, "primary_region"), "ams");
	assert_string_equal(str_at(root, "build.dockerfile"), "Dockerfile");
	assert_string_equal(str_at(root, "env.PORT"), "8080");
	assert_int_equal(int_at(root, "http_service.internal_port"), 8080);
	assert_true(json_is_true(at(root, "http_service.force_https")));
	assert_int_equal(int_at(root, "http_service.min_machines_running"), 0);
	assert_string_equal(str_at(root, "http_service.concurrency.type"), "requests");
	assert_int_equal(int_at(root, "http_service.concurrency.hard_limit"), 250);
	assert_string_equal(str_at(root, "http_service.checks.0.path"), "/healthz");
	assert_int_equal(int_at(root, "vm.0.memory_mb"), 1024);
	assert_string_equal(str_at(root, "deploy.release_command"), "bin/migrate");
	json_decref(root);
}

static void test_other_manifests(void **state)
{
	(void)state;
	json_t *root = parse_ok("[toolchain]\n"
				"channel = \"1.75.0\"\n"
				"components = [ \"rustfmt\", \"clippy\" ]\n"
				"profile = \"minimal\"\n");
	assert_string_equal(str_at(root, "toolchain.channel"), "1.75.0");
	assert_string_equal(str_at(root, "toolchain.components.1"), "clippy");
	json_decref(root);
	root = parse_ok(
		"[build]\n  command = \"npm run build\"\n  publish = \"dist\"\n"
		"[build.environment]\n  NODE_VERSION = \"20\"\n"
		"[[redirects]]\n  from = \"/api/*\"\n  to = \"/.netlify/functions/:splat\"\n"
		"  status = 200\n"
		"[[headers]]\n  for = \"/*\"\n  [headers.values]\n    X-Frame-Options = "
		"\"DENY\"\n");
	assert_string_equal(str_at(root, "build.environment.NODE_VERSION"), "20");
	assert_int_equal(int_at(root, "redirects.0.status"), 200);
	assert_string_equal(str_at(root, "headers.0.values.X-Frame-Options"), "DENY");
	json_decref(root);
}

static void test_integers(void **state)
{
	(void)state;
	json_t *root = parse_ok("a = 42\nb = +17\nc = -17\nd = 0\ne = +0\nf = -0\n"
				"g = 1_000_000\nh = 5_349_221\n"
				"hex = 0xDEADbeef\nhex2 = 0x00ff\noct = 0o755\nbin = 0b1101_0110\n"
				"max = 9223372036854775807\nmin = -9223372036854775808\n"
				"hexmax = 0x7FFF_FFFF_FFFF_FFFF\n");
	assert_int_equal(int_at(root, "a"), 42);
	assert_int_equal(int_at(root, "b"), 17);
	assert_int_equal(int_at(root, "c"), -17);
	assert_int_equal(int_at(root, "d"), 0);
	assert_int_equal(int_at(root, "e"), 0);
	assert_int_equal(int_at(root, "f"), 0);
	assert_int_equal(int_at(root, "g"), 1000000);
	assert_int_equal(int_at(root, "h"), 5349221);
	assert_int_equal(int_at(root, "hex"), 0xDEADBEEF);
	assert_int_equal(int_at(root, "hex2"), 255);
	assert_int_equal(int_at(root, "oct"), 0755);
	assert_int_equal(int_at(root, "bin"), 0xD6);
	assert_true(int_at(root, "max") == INT64_MAX);
	assert_true(int_at(root, "min") == INT64_MIN);
	assert_true(int_at(root, "hexmax") == INT64_MAX);
	json_decref(root);
}

static void test_floats_and_booleans(void **state)
{
	(void)state;
	json_t *root = parse_ok("a = 1.0\nb = 3.1415\nc = -0.01\nd = 5e+22\ne = 1e06\n"
				"f = -2E-2\ng = 6.626e-34\nh = 224_617.445_991_228\ni = -0.0\n"
				"j = 0e0\nk = 1e-400\nhuge = 1e400\nnhuge = -1_0e4_00\n"
				"pinf = inf\nplus = +inf\nminf = -inf\nnan1 = nan\nnan2 = +nan\n"
				"nan3 = -nan\nyes = true\nno = false\n");
	assert_float_equal(real_at(root, "a"), 1.0, 0);
	assert_float_equal(real_at(root, "b"), 3.1415, 0);
	assert_float_equal(real_at(root, "c"), -0.01, 0);
	assert_float_equal(real_at(root, "d"), 5e22, 0);
	assert_float_equal(real_at(root, "e"), 1e6, 0);
	assert_float_equal(real_at(root, "f"), -0.02, 0);
	assert_float_equal(real_at(root, "g"), 6.626e-34, 0);
	assert_float_equal(real_at(root, "h"), 224617.445991228, 0);
	assert_true(signbit(real_at(root, "i")));
	assert_float_equal(real_at(root, "j"), 0, 0);
	assert_float_equal(real_at(root, "k"), 0, 0);
	assert_string_equal(str_at(root, "huge"), "inf");
	assert_string_equal(str_at(root, "nhuge"), "-inf");
	assert_string_equal(str_at(root, "pinf"), "inf");
	assert_string_equal(str_at(root, "plus"), "inf");
	assert_string_equal(str_at(root, "minf"), "-inf");
	assert_string_equal(str_at(root, "nan1"), "nan");
	assert_string_equal(str_at(root, "nan2"), "nan");
	assert_string_equal(str_at(root, "nan3"), "nan");
	assert_true(json_is_true(at(root, "yes")));
	assert_true(json_is_false(at(root, "no")));
	json_decref(root);
}

static void test_dates_and_times(void **state)
{
	(void)state;
	json_t *root = parse_ok("odt1 = 1979-05-27T07:32:00Z\n"
				"odt2 = 1979-05-27T00:32:00-07:00\n"
				"odt3 = 1979-05-27T00:32:00.999999+05:30\n"
				"odt4 = 1979-05-27 07:32:00Z\n"
				"odt5 = 1979-05-27t07:32:00z\n"
				"ldt1 = 1979-05-27T07:32:00\n"
				"ldt2 = 1979-05-27 00:32:00.999999\n"
				"ld = 1979-05-27\n"
				"leap = 2024-02-29\n"
				"lt1 = 07:32:00\n"
				"lt2 = 00:32:00.999999\n"
				"in_array = [1979-05-27, 1979-05-27 07:32:00]\n");
	assert_string_equal(str_at(root, "odt1"), "1979-05-27T07:32:00Z");
	assert_string_equal(str_at(root, "odt2"), "1979-05-27T00:32:00-07:00");
	assert_string_equal(str_at(root, "odt3"), "1979-05-27T00:32:00.999999+05:30");
	assert_string_equal(str_at(root, "odt4"), "1979-05-27 07:32:00Z");
	assert_string_equal(str_at(root, "odt5"), "1979-05-27t07:32:00z");
	assert_string_equal(str_at(root, "ldt1"), "1979-05-27T07:32:00");
	assert_string_equal(str_at(root, "ldt2"), "1979-05-27 00:32:00.999999");
	assert_string_equal(str_at(root, "ld"), "1979-05-27");
	assert_string_equal(str_at(root, "leap"), "2024-02-29");
	assert_string_equal(str_at(root, "lt1"), "07:32:00");
	assert_string_equal(str_at(root, "lt2"), "00:32:00.999999");
	assert_string_equal(str_at(root, "in_array.1"), "1979-05-27 07:32:00");
	json_decref(root);
}

static void test_strings_and_escapes(void **state)
{
	(void)state;
	json_t *root = parse_ok(
		"basic = \"I'm a string. \\\"You can quote me\\\". "
		"Name\\tJos\\u00E9\\nLoc\\tSF.\"\n"
		"escapes = \"\\b\\t\\n\\f\\r\\\"\\\\\"\n"
		"unicode = \"\\u00e9 \\u20AC \\U0001F600\"\n"
		"nul = \"a\\u0000b\"\n"
		"tab = \"a\tb\"\n"
		"utf8 = \"caf\xC3\xA9 \xE2\x82\xAC\"\n"
		"ml = \"\"\"\nRoses are red\nViolets are blue\"\"\"\n"
		"ml_crlf = \"\"\"\r\none\r\ntwo\"\"\"\n"
		"fold = \"\"\"\\\n       The quick brown \\\n\n\n       fox.\\\n       \"\"\"\n"
		"fold_ws = \"\"\"a \\  \t\n  b\"\"\"\n"
		"quotes = \"\"\"Here are two quotation marks: \"\". Simple enough.\"\"\"\n"
		"five = \"\"\"Here are fifteen quotation marks: "
		"\"\"\\\"\"\"\\\"\"\"\\\"\"\"\\\"\"\"\\\".\"\"\"\n"
		"end_quotes = \"\"\"\"This,\" she said, \"is just a pointless statement.\"\"\"\"\n"
		"lit = 'C:\\Users\\nodejs\\templates'\n"
		"lit_quote = 'Tom \"Dubs\" Preston-Werner'\n"
		"ml_lit = '''\nThe first newline is\ntrimmed in raw strings.\n   All other "
		"whitespace\n   is preserved.\n'''\n"
		"ml_lit_quotes = '''Here are fifteen quotation marks: "
		"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"'''\n"
		"ml_lit_end = ''''That,' she said, 'is still pointless.''''\n"
		"empty = \"\"\nempty_lit = ''\nempty_ml = \"\"\"\"\"\"\n");
	assert_string_equal(str_at(root, "basic"),
			    "I'm a string. \"You can quote me\". Name\tJos\xC3\xA9\nLoc\tSF.");
	assert_string_equal(str_at(root, "escapes"), "\b\t\n\f\r\"\\");
	assert_string_equal(str_at(root, "unicode"), "\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
	json_t *nul = at(root, "nul");
	assert_int_equal(json_string_length(nul), 3);
	assert_memory_equal(json_string_value(nul), "a\0b", 3);
	assert_string_equal(str_at(root, "tab"), "a\tb");
	assert_string_equal(str_at(root, "utf8"), "caf\xC3\xA9 \xE2\x82\xAC");
	assert_string_equal(str_at(root, "ml"), "Roses are red\nViolets are blue");
	assert_string_equal(str_at(root, "ml_crlf"), "one\ntwo");
	assert_string_equal(str_at(root, "fold"), "The quick brown fox.");
	assert_string_equal(str_at(root, "fold_ws"), "a b");
	assert_string_equal(str_at(root, "quotes"),
			    "Here are two quotation marks: \"\". Simple enough.");
	assert_string_equal(str_at(root, "five"),
			    "Here are fifteen quotation marks: \"\"\"\"\"\"\"\"\"\"\"\"\"\"\".");
	assert_string_equal(str_at(root, "end_quotes"),
			    "\"This,\" she said, \"is just a pointless statement.\"");
	assert_string_equal(str_at(root, "lit"), "C:\\Users\\nodejs\\templates");
	assert_string_equal(str_at(root, "lit_quote"), "Tom \"Dubs\" Preston-Werner");
	assert_string_equal(str_at(root, "ml_lit"), "The first newline is\ntrimmed in raw "
						    "strings.\n   All other whitespace\n   is "
						    "preserved.\n");
	assert_string_equal(str_at(root, "ml_lit_quotes"),
			    "Here are fifteen quotation marks: \"\"\"\"\"\"\"\"\"\"\"\"\"\"\"");
	assert_string_equal(str_at(root, "ml_lit_end"), "'That,' she said, 'is still pointless.'");
	assert_string_equal(str_at(root, "empty"), "");
	assert_string_equal(str_at(root, "empty_lit"), "");
	assert_string_equal(str_at(root, "empty_ml"), "");
	json_decref(root);
}

static void test_keys(void **state)
{
	(void)state;
	json_t *root = parse_ok("bare_key-1 = 1\n"
				"1234 = 2\n"
				"\"127.0.0.1\" = 3\n"
				"\"character encoding\" = 4\n"
				"'key2' = 5\n"
				"'quoted \"value\"' = 6\n"
				"\"\" = 7\n"
				"physical.color = \"orange\"\n"
				"physical . shape = \"round\"\n"
				"site.\"google.com\" = true\n"
				"3.14159 = \"pi\"\n"
				"\"\\u0000\" = 8\n"
				"\"\\u00e9\" = 9\n");
	assert_int_equal(int_at(root, "bare_key-1"), 1);
	assert_int_equal(int_at(root, "1234"), 2);
	assert_int_equal(json_integer_value(json_object_get(root, "127.0.0.1")), 3);
	assert_int_equal(json_integer_value(json_object_get(root, "character encoding")), 4);
	assert_int_equal(int_at(root, "key2"), 5);
	assert_int_equal(json_integer_value(json_object_get(root, "quoted \"value\"")), 6);
	assert_int_equal(json_integer_value(json_object_get(root, "")), 7);
	assert_string_equal(str_at(root, "physical.color"), "orange");
	assert_string_equal(str_at(root, "physical.shape"), "round");
	assert_true(json_is_true(json_object_get(at(root, "site"), "google.com")));
	assert_string_equal(str_at(root, "3.14159"), "pi");
	assert_int_equal(json_integer_value(json_object_getn(root, "\0", 1)), 8);
	assert_int_equal(json_integer_value(json_object_get(root, "\xC3\xA9")), 9);
	json_decref(root);
}

static void test_arrays_and_inline_tables(void **state)
{
	(void)state;
	json_t *root = parse_ok("integers = [ 1, 2, 3 ]\n"
				"nested = [ [ 1, 2 ], [\"a\", 'b', \"\"\"c\"\"\"] ]\n"
				"mixed = [ 0.1, 0.2, 1, \"x\", { x = 1 } ]\n"
				"multi = [\n  1, # one\n  # nothing\n  2,\n]\n"
				"empty = [ ]\n"
				"empty_lines = [\n\n]\n"
				"name = { first = \"Tom\", last = \"Preston-Werner\" }\n"
				"point = {x=1,y=2}\n"
				"animal = { type.name = \"pug\", type.size = \"small\" }\n"
				"deep = { a = { b = [ { c = 1 } ] } }\n"
				"empty_table = {}\n"
				"ml_in_inline = { list = [\n 1,\n 2\n], s = \"\"\"x\ny\"\"\" }\n");
	assert_int_equal(json_array_size(at(root, "integers")), 3);
	assert_int_equal(int_at(root, "nested.0.1"), 2);
	assert_string_equal(str_at(root, "nested.1.2"), "c");
	assert_float_equal(real_at(root, "mixed.0"), 0.1, 0);
	assert_int_equal(int_at(root, "mixed.2"), 1);
	assert_int_equal(int_at(root, "mixed.4.x"), 1);
	assert_int_equal(json_array_size(at(root, "multi")), 2);
	assert_int_equal(json_array_size(at(root, "empty")), 0);
	assert_int_equal(json_array_size(at(root, "empty_lines")), 0);
	assert_string_equal(str_at(root, "name.last"), "Preston-Werner");
	assert_int_equal(int_at(root, "point.y"), 2);
	assert_string_equal(str_at(root, "animal.type.size"), "small");
	assert_int_equal(int_at(root, "deep.a.b.0.c"), 1);
	assert_int_equal(json_object_size(at(root, "empty_table")), 0);
	assert_int_equal(int_at(root, "ml_in_inline.list.1"), 2);
	assert_string_equal(str_at(root, "ml_in_inline.s"), "x\ny");
	json_decref(root);
}

static void test_tables(void **state)
{
	(void)state;
	json_t *root = parse_ok("top = 0\n"
				"[a.b.c]\nx = 1\n"
				"[a]\ny = 2\n" /* a super-table may be defined afterwards */
				"[ d . 'e' . \"f\" ]\nz = 3\n"
				"[fruit]\napple.color = \"red\"\napple.taste.sweet = true\n"
				"[fruit.apple.texture]\nsmooth = true\n"
				"[[products]]\nname = \"Hammer\"\n"
				"[[products]]\n"
				"[[products]]\nname = \"Nail\"\n"
				"[[fruits]]\nname = \"apple\"\n"
				"[fruits.physical]\ncolor = \"red\"\n"
				"[[fruits.varieties]]\nname = \"red delicious\"\n"
				"[[fruits.varieties]]\nname = \"granny smith\"\n"
				"[[fruits]]\nname = \"banana\"\n"
				"[[fruits.varieties]]\nname = \"plantain\"\n"
				"[crlf]\r\nk = 1\r\n");
	assert_int_equal(int_at(root, "top"), 0);
	assert_int_equal(int_at(root, "a.b.c.x"), 1);
	assert_int_equal(int_at(root, "a.y"), 2);
	assert_int_equal(int_at(root, "d.e.f.z"), 3);
	assert_true(json_is_true(at(root, "fruit.apple.taste.sweet")));
	assert_true(json_is_true(at(root, "fruit.apple.texture.smooth")));
	assert_int_equal(json_array_size(at(root, "products")), 3);
	assert_int_equal(json_object_size(at(root, "products.1")), 0);
	assert_string_equal(str_at(root, "products.2.name"), "Nail");
	assert_string_equal(str_at(root, "fruits.0.physical.color"), "red");
	assert_string_equal(str_at(root, "fruits.0.varieties.1.name"), "granny smith");
	assert_string_equal(str_at(root, "fruits.1.name"), "banana");
	assert_string_equal(str_at(root, "fruits.1.varieties.0.name"), "plantain");
	assert_int_equal(json_array_size(at(root, "fruits.1.varieties")), 1);
	assert_int_equal(int_at(root, "crlf.k"), 1);
	json_decref(root);
}

static void test_whitespace_comments_and_empty(void **state)
{
	(void)state;
	json_t *root = parse_ok("");
	assert_int_equal(json_object_size(root), 0);
	json_decref(root);
	root = parse_ok("# only a comment");
	assert_int_equal(json_object_size(root), 0);
	json_decref(root);
	root = parse_ok("\xEF\xBB\xBF\t a\t=\t1 # trailing \xC3\xA9 comment\t\n\n\n b=2");
	assert_int_equal(int_at(root, "a"), 1);
	assert_int_equal(int_at(root, "b"), 2);
	json_decref(root);
	/* Bytes after a NUL still count: the length, not the terminator, ends input. */
	struct err e = ERR_INIT;
	json_t *out = NULL;
	assert_int_equal(toml_parse(&out, NULL, "a = 1\0b", 7, &e), -1);
	assert_string_equal(e.msg, "<input>:1:6: expected end of line after value, found U+0000");
}

struct bad_case {
	const char *input;
	const char *message;
};

static const struct bad_case bad_cases[] = {
	/* redefinitions */
	{ "a = 1\na = 2\n", "test.toml:2:1: duplicate key 'a'" },
	{ "[package]\nname = \"a\"\n  name = \"b\"\n", "test.toml:3:3: duplicate key 'name'" },
	{ "\"a\" = 1\na = 2\n", "test.toml:2:1: duplicate key 'a'" },
	{ "a.b = 1\na.b = 2\n", "test.toml:2:1: duplicate key 'a.b'" },
	{ "a = 1\na.b = 2\n", "test.toml:2:1: key 'a' is already an integer" },
	{ "[a]\nb = 1\n[a]\nc = 2\n", "test.toml:3:1: table 'a' is already defined" },
	{ "[a.b]\n[a]\n[a]\n", "test.toml:3:1: table 'a' is already defined" },
	{ "[a]\nb = 1\n[a.b]\n", "test.toml:3:1: key 'a.b' is already an integer" },
	{ "[fruit]\napple.color = \"red\"\n[fruit.apple]\n",
	  "test.toml:3:1: table 'fruit.apple' is already defined" },
	{ "a.b = 1\n[a]\n", "test.toml:2:1: table 'a' is already defined" },
	{ "[a.b.c]\nz = 9\n[a]\nb.c.t = 1\n",
	  "test.toml:4:3: cannot add keys to table 'b.c' defined elsewhere" },
	{ "[[a]]\n[a]\n", "test.toml:2:1: 'a' is already an array of tables" },
	{ "[a]\n[[a]]\n", "test.toml:2:1: table 'a' is already defined, not an array of tables" },
	{ "[x]\n[x.\"y\"]\n[x . y]\n", "test.toml:3:1: table 'x . y' is already defined" },
	/* inline tables and static arrays are complete as written */
	{ "a = {b = 1}\na.c = 2\n", "test.toml:2:1: cannot add keys to inline table 'a'" },
	{ "a = {b = 1}\n[a]\n", "test.toml:2:1: cannot extend table 'a', defined inline" },
	{ "a = {b = {}}\n[a.b.c]\n", "test.toml:2:1: cannot extend table 'a', defined inline" },
	{ "a = [1]\n[[a]]\n", "test.toml:2:1: cannot extend array 'a', defined inline" },
	{ "a = {b = 1, b = 2}\n", "test.toml:1:13: duplicate key 'b'" },
	{ "a = {b = {c = 1}, b.d = 2}\n", "test.toml:1:19: cannot add keys to inline table 'b'" },
	{ "a = {b = 1,}\n", "test.toml:1:12: trailing comma in inline table" },
	{ "a = {b = 1\n}\n",
	  "test.toml:1:11: expected ',' or '}' (an inline table is one line), found end of line" },
	/* syntax */
	{ "version 1.0\n", "test.toml:1:9: expected '=' after key 'version', found '1'" },
	{ "[package]\nname = \"x\"\nversion \"1\"\n",
	  "test.toml:3:9: expected '=' after key 'version', found '\"'" },
	{ "= 1\n", "test.toml:1:1: expected a key, found '='" },
	{ "a =\n", "test.toml:1:4: expected a value, found end of line" },
	{ "a = 1 b = 2\n", "test.toml:1:7: expected end of line after value, found 'b'" },
	{ "a = abc\n", "test.toml:1:5: invalid value 'abc' (strings need quotes)" },
	{ "a = True\n", "test.toml:1:5: invalid value 'True' (strings need quotes)" },
	{ "[a\nb = 1\n",
	  "test.toml:1:3: expected ']' closing the table header, found end of line" },
	{ "[[a]\n",
	  "test.toml:1:5: expected ']]' closing the array of tables header, found end of line" },
	{ "[a] b = 1\n", "test.toml:1:5: expected end of line after table header, found 'b'" },
	{ "[]\n", "test.toml:1:2: expected a key, found ']'" },
	{ "a = [1 2]\n", "test.toml:1:8: expected ',' or ']' in array, found '2'" },
	{ "a = [1,,]\n", "test.toml:1:8: expected a value, found ','" },
	{ "a = [1,\n2\n", "test.toml:1:5: unterminated array" },
	{ "a = 1\rb = 2\n", "test.toml:1:6: expected end of line after value, found U+000D" },
	{ "\r", "test.toml:1:1: carriage return without a newline" },
	{ "# bell \x07\n", "test.toml:1:8: control character U+0007 in comment" },
	{ "a = 1\n\xC3\x28 = 2\n", "test.toml:2:1: invalid UTF-8 byte 0xC3" },
	{ "a = \"\xED\xA0\x80\"\n", "test.toml:1:6: invalid UTF-8 byte 0xED" },
	/* strings */
	{ "a = \"abc\n", "test.toml:1:5: unterminated string" },
	{ "a = 'abc\n", "test.toml:1:5: unterminated string" },
	{ "x = 1\na = \"\"\"abc\n\n", "test.toml:2:5: unterminated string" },
	{ "a = '''abc''\n", "test.toml:1:5: unterminated string" },
	{ "a = \"a\\qb\"\n", "test.toml:1:7: invalid escape sequence: backslash followed by 'q'" },
	{ "a = \"\\x41\"\n", "test.toml:1:6: invalid escape sequence: backslash followed by 'x'" },
	{ "a = \"a\\ \n b\"\n",
	  "test.toml:1:7: invalid escape sequence: backslash followed by ' '" },
	{ "a = \"\"\"a\\ b\"\"\"\n",
	  "test.toml:1:9: only whitespace may follow a line-ending backslash" },
	{ "a = \"\\u00G0\"\n", "test.toml:1:6: \\u escape needs 4 hex digits" },
	{ "a = \"\\U0000004\"\n", "test.toml:1:6: \\U escape needs 8 hex digits" },
	{ "a = \"\\uD800\"\n", "test.toml:1:6: \\uD800 is not a Unicode scalar value" },
	{ "a = \"\\U00110000\"\n", "test.toml:1:6: \\U00110000 is not a Unicode scalar value" },
	{ "a = \"tab\tok, bell\x07 not\"\n",
	  "test.toml:1:18: control character U+0007 must be escaped" },
	{ "a = \"\"\"x\x7f\"\"\"\n", "test.toml:1:9: control character U+007F must be escaped" },
	{ "a = \"\"\"x\"\"\"\"\"\"\n", "test.toml:1:14: too many quotes closing a string" },
	{ "\"\"\"a\"\"\" = 1\n", "test.toml:1:3: expected '=' after key '\"\"', found '\"'" },
	/* numbers */
	{ "a = 01\n", "test.toml:1:5: leading zeros are not allowed in '01'" },
	{ "a = -01.5\n", "test.toml:1:5: leading zeros are not allowed in '-01.5'" },
	{ "a = 1__0\n",
	  "test.toml:1:5: invalid number '1__0': underscores must sit between digits" },
	{ "a = _1\n", "test.toml:1:5: invalid value '_1' (strings need quotes)" },
	{ "a = 1_\n", "test.toml:1:5: invalid number '1_': underscores must sit between digits" },
	{ "a = 0x_1\n",
	  "test.toml:1:5: invalid number '0x_1': underscores must sit between digits" },
	{ "a = 1.\n", "test.toml:1:5: invalid number '1.'" },
	{ "a = .5\n", "test.toml:1:5: invalid number '.5'" },
	{ "a = 1.e5\n", "test.toml:1:5: invalid number '1.e5'" },
	{ "a = 1e\n", "test.toml:1:5: invalid number '1e'" },
	{ "a = 0X1F\n", "test.toml:1:5: invalid number '0X1F'" },
	{ "a = 0b102\n", "test.toml:1:5: invalid number '0b102'" },
	{ "a = +0x1\n", "test.toml:1:5: a sign is not allowed on '+0x1'" },
	{ "a = 9223372036854775808\n",
	  "test.toml:1:5: integer '9223372036854775808' does not fit in 64 bits" },
	{ "a = -9223372036854775809\n",
	  "test.toml:1:5: integer '-9223372036854775809' does not fit in 64 bits" },
	{ "a = 0x8000000000000000\n",
	  "test.toml:1:5: integer '0x8000000000000000' does not fit in 64 bits" },
	{ "a = infinity\n", "test.toml:1:5: invalid value 'infinity' (strings need quotes)" },
	{ "a = Inf\n", "test.toml:1:5: invalid value 'Inf' (strings need quotes)" },
	/* dates and times */
	{ "a = 1979-13-01\n", "test.toml:1:5: invalid date or time '1979-13-01'" },
	{ "a = 2023-02-29\n", "test.toml:1:5: invalid date or time '2023-02-29'" },
	{ "a = 1979-05-27T25:00:00\n",
	  "test.toml:1:5: invalid date or time '1979-05-27T25:00:00'" },
	{ "a = 07:32\n", "test.toml:1:5: invalid date or time '07:32'" },
	{ "a = 1979-05-27T07:32:00+7:00\n",
	  "test.toml:1:5: invalid date or time '1979-05-27T07:32:00+7:00'" },
	{ "a = 1979-05-27T07:32:00.\n",
	  "test.toml:1:5: invalid date or time '1979-05-27T07:32:00.'" },
	/* messages name odd keys safely */
	{ "\"a\\nb\" = 1\n\"a\\nb\" = 2\n", "test.toml:2:1: duplicate key '\"a\\nb\"'" },
};

static void test_errors(void **state)
{
	(void)state;
	/* Reports every wrong case at once, then fails. */
	int wrong = 0;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(*bad_cases); i++) {
		struct err e = ERR_INIT;
		json_t *root = NULL;
		const char *text = bad_cases[i].input;
		if (toml_parse(&root, "test.toml", text, strlen(text), &e) == 0) {
			print_error("case %zu parsed without error\n", i);
			json_decref(root);
			wrong++;
		} else if (strcmp(e.msg, bad_cases[i].message) != 0) {
			print_error("case %zu: got      %s\n         expected %s\n", i, e.msg,
				    bad_cases[i].message);
			wrong++;
		}
	}
	assert_int_equal(wrong, 0);
}

static void test_depth_cap(void **state)
{
	(void)state;
	struct buf text = BUF_INIT;
	/* TOML_MAX_DEPTH nested arrays are fine, one more is refused. */
	buf_adds(&text, "a = ");
	for (int i = 0; i < TOML_MAX_DEPTH; i++)
		buf_addch(&text, '[');
	for (int i = 0; i < TOML_MAX_DEPTH; i++)
		buf_addch(&text, ']');
	json_t *root = parse_ok(text.data);
	json_decref(root);

	buf_reset(&text);
	buf_adds(&text, "a = ");
	for (int i = 0; i < 100000; i++)
		buf_addch(&text, '[');
	parse_err(text.data, "test.toml:1:133: nesting is deeper than 128 levels");

	buf_reset(&text);
	buf_adds(&text, "a = ");
	for (int i = 0; i < 100000; i++)
		buf_adds(&text, "{b=");
	parse_err(text.data, "test.toml:1:389: nesting is deeper than 128 levels");

	buf_reset(&text);
	buf_addch(&text, '[');
	for (int i = 0; i < 200; i++)
		buf_adds(&text, i ? ".k" : "k");
	buf_adds(&text, "]\n");
	parse_err(text.data, "test.toml:1:258: key has more than 128 parts");

	/* Depth adds up across headers, dotted keys and inline values. */
	buf_reset(&text);
	buf_addch(&text, '[');
	for (int i = 0; i < 100; i++)
		buf_adds(&text, i ? ".k" : "k");
	buf_adds(&text, "]\n");
	for (int i = 0; i < 100; i++)
		buf_adds(&text, i ? ".k" : "k");
	buf_adds(&text, " = 1\n");
	parse_err(text.data, "test.toml:2:57: nesting is deeper than 128 levels");
	buf_free(&text);
}

static void test_long_key_in_message(void **state)
{
	(void)state;
	struct buf text = BUF_INIT, expected = BUF_INIT;
	/* The cut falls inside 'é' and must not split it. */
	for (int i = 0; i < 2; i++) {
		buf_addch(&text, '"');
		for (int j = 0; j < 198; j++)
			buf_addch(&text, 'k');
		buf_adds(&text, "\xC3\xA9 and more\" = 1\n");
	}
	buf_adds(&expected, "test.toml:2:1: duplicate key '\"");
	for (int j = 0; j < 198; j++)
		buf_addch(&expected, 'k');
	buf_adds(&expected, "...'");
	parse_err(text.data, expected.data);
	buf_free(&text);
	buf_free(&expected);
}

static void test_big_input(void **state)
{
	(void)state;
	struct buf text = BUF_INIT;
	buf_adds(&text, "list = [");
	for (int i = 0; i < 200000; i++)
		buf_addf(&text, "%d,", i);
	buf_adds(&text, "]\n");
	for (int i = 0; i < 20000; i++)
		buf_addf(&text, "[[t]]\nk%d = \"v\"\n[t.sub]\nx.y = %d\n", i, i);
	for (int i = 0; i < 20000; i++)
		buf_addf(&text, "[table%d]\nkey = %d.5\n", i, i);
	json_t *root = parse_ok(text.data);
	assert_int_equal(json_array_size(at(root, "list")), 200000);
	assert_int_equal(int_at(root, "list.199999"), 199999);
	assert_int_equal(json_array_size(at(root, "t")), 20000);
	assert_int_equal(int_at(root, "t.19999.sub.x.y"), 19999);
	assert_float_equal(real_at(root, "table19999.key"), 19999.5, 0);
	json_decref(root);
	buf_free(&text);
}

static void test_every_prefix(void **state)
{
	(void)state;
	/* Truncated input must fail cleanly or parse, never crash or leak. */
	const char *doc = "[package]\nname = \"x\" # c\nv = [1, {a = 'b'}, \"\"\"m\nl\"\"\", "
			  "1979-05-27T07:32:00Z]\n[[bin]]\np.q = 0x1F\nr = '''\nx'''\n";
	size_t len = strlen(doc);
	for (size_t n = 0; n <= len; n++) {
		struct err e = ERR_INIT;
		json_t *root = NULL;
		if (toml_parse(&root, "cut.toml", doc, n, &e) == 0) {
			assert_non_null(root);
			json_decref(root);
		} else {
			assert_null(root);
			assert_memory_equal(e.msg, "cut.toml:", 9);
		}
	}
}

static void test_load_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/ampel-test-toml-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct buf path = BUF_INIT;
	struct err e = ERR_INIT;
	buf_addf(&path, "%s/Cargo.toml", dir);
	struct buf body = BUF_INIT;
	buf_adds(&body, "[package]\nname = \"demo\"\n");
	assert_int_equal(buf_write_file(&body, path.data, &e), 0);
	json_t *root = NULL;
	assert_int_equal(toml_load_file(&root, path.data, &e), 0);
	assert_string_equal(str_at(root, "package.name"), "demo");
	json_decref(root);

	buf_adds(&body, "name = \"again\"\n");
	assert_int_equal(buf_write_file(&body, path.data, &e), 0);
	assert_int_equal(toml_load_file(&root, path.data, &e), -1);
	assert_null(root);
	struct buf expected = BUF_INIT;
	buf_addf(&expected, "%s:3:1: duplicate key 'name'", path.data);
	assert_string_equal(e.msg, expected.data);

	/* Larger than the cap: refused before parsing. */
	FILE *f = fopen(path.data, "w");
	assert_non_null(f);
	assert_int_equal(ftruncate(fileno(f), TOML_MAX_FILE_SIZE + 1), 0);
	fclose(f);
	assert_int_equal(toml_load_file(&root, path.data, &e), -1);
	assert_non_null(strstr(e.msg, "limit"));
	unlink(path.data);
	assert_int_equal(toml_load_file(&root, path.data, &e), -1);
	assert_non_null(strstr(e.msg, "Cargo.toml"));
	rmdir(dir);
	buf_free(&expected);
	buf_free(&body);
	buf_free(&path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cargo_manifest),
		cmocka_unit_test(test_pyproject_poetry),
		cmocka_unit_test(test_pyproject_pep621),
		cmocka_unit_test(test_fly_toml),
		cmocka_unit_test(test_other_manifests),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_floats_and_booleans),
		cmocka_unit_test(test_dates_and_times),
		cmocka_unit_test(test_strings_and_escapes),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_arrays_and_inline_tables),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_whitespace_comments_and_empty),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_depth_cap),
		cmocka_unit_test(test_long_key_in_message),
		cmocka_unit_test(test_big_input),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_load_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
