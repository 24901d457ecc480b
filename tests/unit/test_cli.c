/*
 * The ampel program as users meet it: dispatch, help, global options,
 * settings errors and exit statuses, run as a real process.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/spawn.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct run {
	int status;
	struct buf out;
	struct buf err;
};

/* Runs the ampel binary with args (NULL-terminated) and extra env entries. */
static void run_ampel(struct run *r, const char *const *env, ...)
{
	const char *argv[32] = { AMPEL_BINARY };
	size_t argc = 1;
	va_list ap;
	va_start(ap, env);
	for (const char *arg; (arg = va_arg(ap, const char *)) && argc < 31;)
		argv[argc++] = arg;
	va_end(ap);
	argv[argc] = NULL;

	static const char *const unset[] = { "AMPEL_CONFIG",	"AMPEL_CONFIG_DIR",
					     "AMPEL_LOG_LEVEL", "AMPEL_LOG_FORMAT",
					     "AMPEL_QUIET",	NULL };
	buf_init(&r->out);
	buf_init(&r->err);
	struct spawn_options opt = {
		.argv = argv,
		.cwd = AMPEL_SOURCE_ROOT,
		.env_unset = unset,
		.env = env,
		.stdout_buf = &r->out,
		.stderr_buf = &r->err,
		.timeout_ms = 60000,
	};
	struct spawn_result result;
	struct err e = ERR_INIT;
	assert_int_equal(spawn_run(&opt, &result, &e), 0);
	r->status = result.exit_code;
}

static void run_free(struct run *r)
{
	buf_free(&r->out);
	buf_free(&r->err);
}

static void test_help_lists_commands(void **state)
{
	struct run r;
	run_ampel(&r, NULL, "--help", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(buf_cstr(&r.out), "analyze"));
	assert_non_null(strstr(buf_cstr(&r.out), "--log-format"));
	run_free(&r);

	run_ampel(&r, NULL, "help", "analyze", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(buf_cstr(&r.out), "usage: ampel analyze"));
	run_free(&r);

	run_ampel(&r, NULL, "analyze", "--help", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(buf_cstr(&r.out), "usage: ampel analyze"));
	run_free(&r);
}

static void test_version(void **state)
{
	struct run r;
	run_ampel(&r, NULL, "--version", NULL);
	assert_int_equal(r.status, 0);
	assert_string_equal(buf_cstr(&r.out), "ampel " AMPEL_VERSION "\n");
	run_free(&r);
}

static void test_usage_errors_exit_2(void **state)
{
	struct run r;
	run_ampel(&r, NULL, "frobnicate", NULL);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(buf_cstr(&r.err), "'frobnicate' is not an ampel command"));
	run_free(&r);

	run_ampel(&r, NULL, "--frobnicate", "analyze", NULL);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(buf_cstr(&r.err), "--frobnicate"));
	run_free(&r);

	run_ampel(&r, NULL, "analyze", "--frobnicate", NULL);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(buf_cstr(&r.err), "unknown option '--frobnicate'"));
	assert_string_equal(buf_cstr(&r.out), "");
	run_free(&r);

	run_ampel(&r, NULL, "help", "frobnicate", NULL);
	assert_int_equal(r.status, 2);
	run_free(&r);

	run_ampel(&r, NULL, "analyze", "/nonexistent/dir", NULL);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(buf_cstr(&r.err), "'/nonexistent/dir' is not a directory"));
	run_free(&r);

	run_ampel(&r, NULL, NULL);
	assert_int_equal(r.status, 2);
	run_free(&r);

	/* A broken event payload is named with its line and column. */
	char payload[] = "/tmp/ampel-cli-event-XXXXXX";
	int fd = mkstemp(payload);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\n  \"inputs\": {,\n}\n", 18), 18);
	close(fd);
	run_ampel(&r, NULL, "run", "--event-path", payload, "examples/node-express", NULL);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(buf_cstr(&r.err), "--event-path: "));
	assert_non_null(strstr(buf_cstr(&r.err), ":2:"));
	run_free(&r);
	fd = open(payload, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "[1]", 3), 3);
	close(fd);
	run_ampel(&r, NULL, "run", "--event-path", payload, "examples/node-express", NULL);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(buf_cstr(&r.err), "the payload must be a JSON object"));
	run_free(&r);
	unlink(payload);
}

static void test_bad_settings_are_named(void **state)
{
	struct run r;
	run_ampel(&r, NULL, "--log-level", "loud", "version", NULL);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(buf_cstr(&r.err), "loud"));
	assert_non_null(strstr(buf_cstr(&r.err), "debug"));
	run_free(&r);

	static const char *const env[] = { "AMPEL_LOG_FORMAT=xml", NULL };
	run_ampel(&r, env, "version", NULL);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(buf_cstr(&r.err), "AMPEL_LOG_FORMAT"));
	run_free(&r);

	run_ampel(&r, NULL, "--config", "/nonexistent/ampel.yaml", "version", NULL);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(buf_cstr(&r.err), "/nonexistent/ampel.yaml"));
	run_free(&r);
}

static void test_analyze_json_document(void **state)
{
	struct run r;
	run_ampel(&r, NULL, "--quiet", "analyze", "--json", "examples/node-express", NULL);
	assert_int_equal(r.status, 0);
	json_error_t error;
	json_t *doc = json_loads(buf_cstr(&r.out), 0, &error);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "schema")), "ampel.analysis/v1");
	json_t *project = json_array_get(json_object_get(doc, "projects"), 0);
	assert_string_equal(json_string_value(json_object_get(project, "path")), ".");
	assert_string_equal(json_string_value(json_object_get(project, "primary_language")),
			    "javascript");
	json_decref(doc);
	assert_string_equal(buf_cstr(&r.err), "");
	run_free(&r);
}

static bool file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static void test_generate_writes_all_or_nothing(void **state)
{
	char dir[] = "/tmp/ampel-test-generate-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct run r;
	run_ampel(&r, NULL, "-q", "generate", "ci", "examples/node-express", "--provider", "github",
		  "--out", dir, NULL);
	assert_int_equal(r.status, 0);
	run_free(&r);
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/.github/workflows/ci.yml", dir);
	struct buf first = BUF_INIT;
	struct err e = ERR_INIT;
	assert_int_equal(buf_read_file(&first, path.data, 0, &e), 0);
	assert_non_null(strstr(first.data, "actions/checkout@v4"));

	/* A second run refuses the existing file and writes nothing. */
	run_ampel(&r, NULL, "-q", "generate", "ci", "examples/node-express", "--provider", "github",
		  "--security", "--out", dir, NULL);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(buf_cstr(&r.err), "exists"));
	run_free(&r);
	struct buf again = BUF_INIT;
	assert_int_equal(buf_read_file(&again, path.data, 0, &e), 0);
	assert_string_equal(first.data, again.data);

	run_ampel(&r, NULL, "-q", "generate", "ci", "examples/node-express", "--provider", "github",
		  "--security", "--out", dir, "--force", NULL);
	assert_int_equal(r.status, 0);
	run_free(&r);
	buf_reset(&again);
	assert_int_equal(buf_read_file(&again, path.data, 0, &e), 0);
	assert_string_not_equal(first.data, again.data);

	struct buf cmd = BUF_INIT;
	buf_addf(&cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd.data), 0);
	buf_free(&cmd);
	buf_free(&first);
	buf_free(&again);
	buf_free(&path);
}

static void test_generate_json_and_saved_analysis(void **state)
{
	char file[] = "/tmp/ampel-test-analysis-XXXXXX";
	int fd = mkstemp(file);
	assert_true(fd >= 0);
	struct run r;
	run_ampel(&r, NULL, "-q", "analyze", "--json", "tests/fixtures/repos/go-gin", NULL);
	assert_int_equal(r.status, 0);
	assert_int_equal(write(fd, r.out.data, r.out.len), (ssize_t)r.out.len);
	close(fd);
	run_free(&r);

	run_ampel(&r, NULL, "-q", "generate", "dockerfile", "--analysis", file, "--json", NULL);
	assert_int_equal(r.status, 0);
	json_t *listing = json_loads(buf_cstr(&r.out), 0, NULL);
	assert_non_null(listing);
	json_t *first = json_array_get(json_object_get(listing, "files"), 0);
	assert_string_equal(json_string_value(json_object_get(first, "path")), "Dockerfile");
	assert_non_null(
		strstr(json_string_value(json_object_get(first, "content")), "FROM golang:"));
	json_decref(listing);
	run_free(&r);
	unlink(file);
	assert_false(file_exists(file));
}

static void test_generate_exit_statuses(void **state)
{
	struct run r;
	/* Unsupported stack: 3, with what was detected, and nothing printed. */
	run_ampel(&r, NULL, "-q", "generate", "ci",
		  "tests/fixtures/realworld/b/barryclark__jekyll-now", "--provider", "gitlab",
		  NULL);
	assert_int_equal(r.status, 3);
	assert_non_null(strstr(buf_cstr(&r.err), "scss"));
	assert_string_equal(buf_cstr(&r.out), "");
	run_free(&r);

	run_ampel(&r, NULL, "generate", "ci", "examples/node-express", NULL);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(buf_cstr(&r.err), "--provider"));
	run_free(&r);

	run_ampel(&r, NULL, "generate", "dockerfile", "--matrix", "examples/node-express", NULL);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(buf_cstr(&r.err), "--matrix does not apply"));
	run_free(&r);

	run_ampel(&r, NULL, "generate", "ci", "--provider", "circleci", ".", NULL);
	assert_int_equal(r.status, 2);
	run_free(&r);

	run_ampel(&r, NULL, "generate", "helm", NULL);
	assert_int_equal(r.status, 2);
	run_free(&r);
}

static void test_generate_check_flags_injection(void **state)
{
	char file[] = "/tmp/ampel-test-workflow-XXXXXX";
	int fd = mkstemp(file);
	assert_true(fd >= 0);
	static const char workflow[] = "on: issues\n"
				       "permissions:\n"
				       "  contents: read\n"
				       "jobs:\n"
				       "  greet:\n"
				       "    runs-on: ubuntu-latest\n"
				       "    steps:\n"
				       "      - run: echo \"${{ github.event.issue.title }}\"\n";
	assert_int_equal(write(fd, workflow, sizeof(workflow) - 1), (ssize_t)sizeof(workflow) - 1);
	close(fd);
	struct run r;
	run_ampel(&r, NULL, "generate", "check", file, NULL);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(buf_cstr(&r.out), ":8:"));
	assert_non_null(strstr(buf_cstr(&r.out), "github.event.issue.title"));
	run_free(&r);
	unlink(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_help_lists_commands),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_usage_errors_exit_2),
		cmocka_unit_test(test_bad_settings_are_named),
		cmocka_unit_test(test_analyze_json_document),
		cmocka_unit_test(test_generate_writes_all_or_nothing),
		cmocka_unit_test(test_generate_json_and_saved_analysis),
		cmocka_unit_test(test_generate_exit_statuses),
		cmocka_unit_test(test_generate_check_flags_injection),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
