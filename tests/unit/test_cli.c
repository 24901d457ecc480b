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

#include <jansson.h>
#include <stdio.h>
#include <string.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_help_lists_commands),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_usage_errors_exit_2),
		cmocka_unit_test(test_bad_settings_are_named),
		cmocka_unit_test(test_analyze_json_document),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
