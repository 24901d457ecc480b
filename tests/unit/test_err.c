#include "util/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void test_set_and_clear(void **state)
{
	struct err e = ERR_INIT;
	assert_false(err_is_set(&e));
	assert_int_equal(err_set(&e, "rule '%s': %d problems", "rust", 3), -1);
	assert_true(err_is_set(&e));
	assert_string_equal(e.msg, "rule 'rust': 3 problems");
	err_clear(&e);
	assert_false(err_is_set(&e));
	assert_string_equal(e.msg, "");
}

static void test_null_err_is_allowed(void **state)
{
	assert_int_equal(err_set(NULL, "x %d", 1), -1);
	assert_int_equal(err_errno(NULL, "x"), -1);
	assert_int_equal(err_prefix(NULL, "ctx"), -1);
	err_clear(NULL);
	assert_false(err_is_set(NULL));
}

static void test_errno_appends_strerror(void **state)
{
	struct err e = ERR_INIT;
	errno = ENOENT;
	assert_int_equal(err_errno(&e, "%s: cannot open", "a.yaml"), -1);
	assert_string_equal(e.msg, "a.yaml: cannot open: No such file or directory");
}

/* The errno of the call must survive the formatting that happens inside. */
static int err_errno_after_clobber(struct err *e)
{
	errno = EACCES;
	return err_errno(e, "%s", "file");
}

static void test_errno_uses_value_at_call(void **state)
{
	struct err e = ERR_INIT;
	err_errno_after_clobber(&e);
	assert_string_equal(e.msg, "file: Permission denied");
}

static void test_prefix_chain(void **state)
{
	struct err e = ERR_INIT;
	err_set(&e, "build_steps must be a list");
	assert_int_equal(err_prefix(&e, "template '%s'", "rust"), -1);
	err_prefix(&e, "%s:%d", "config/ci-templates.yaml", 42);
	assert_string_equal(
		e.msg, "config/ci-templates.yaml:42: template 'rust': build_steps must be a list");
}

static void test_prefix_on_empty_message(void **state)
{
	struct err e = ERR_INIT;
	err_prefix(&e, "ctx");
	assert_string_equal(e.msg, "ctx: ");
}

static void test_long_message_truncates_safely(void **state)
{
	char long_text[4000];
	memset(long_text, 'm', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	struct err e = ERR_INIT;
	err_set(&e, "%s", long_text);
	assert_int_equal(strlen(e.msg), sizeof(e.msg) - 1);

	errno = EIO;
	err_errno(&e, "%s", long_text);
	assert_int_equal(strlen(e.msg), sizeof(e.msg) - 1);

	/* Prefixing a full message keeps the prefix and stays terminated. */
	err_prefix(&e, "outer");
	assert_int_equal(strlen(e.msg), sizeof(e.msg) - 1);
	assert_memory_equal(e.msg, "outer: mmm", 10);

	/* A prefix longer than the whole buffer. */
	err_set(&e, "inner");
	err_prefix(&e, "%s", long_text);
	assert_true(strlen(e.msg) < sizeof(e.msg));
	assert_int_equal(e.msg[0], 'm');

	/* Many prefixes in a row never overflow. */
	err_set(&e, "root cause");
	for (int i = 0; i < 500; i++)
		err_prefix(&e, "level %d", i);
	assert_true(strlen(e.msg) < sizeof(e.msg));
	assert_memory_equal(e.msg, "level 499: level 498: ", 22);
}

static void test_prefix_may_use_own_message(void **state)
{
	struct err e = ERR_INIT;
	err_set(&e, "abc");
	err_prefix(&e, "[%s]", e.msg);
	assert_string_equal(e.msg, "[abc]: abc");
}

static int err_vset_wrapper(struct err *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = err_vset(e, fmt, ap);
	va_end(ap);
	return rc;
}

static void test_vset(void **state)
{
	struct err e = ERR_INIT;
	assert_int_equal(err_vset_wrapper(&e, "%s=%d", "k", 7), -1);
	assert_string_equal(e.msg, "k=7");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_and_clear),
		cmocka_unit_test(test_null_err_is_allowed),
		cmocka_unit_test(test_errno_appends_strerror),
		cmocka_unit_test(test_errno_uses_value_at_call),
		cmocka_unit_test(test_prefix_chain),
		cmocka_unit_test(test_prefix_on_empty_message),
		cmocka_unit_test(test_long_message_truncates_safely),
		cmocka_unit_test(test_prefix_may_use_own_message),
		cmocka_unit_test(test_vset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
