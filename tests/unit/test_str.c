#include "util/err.h"
#include "util/str.h"
#include "util/vec.h"

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_starts_ends(void **state)
{
	assert_true(str_starts_with("refs/heads/main", "refs/heads/"));
	assert_true(str_starts_with("abc", ""));
	assert_true(str_starts_with("abc", "abc"));
	assert_false(str_starts_with("ab", "abc"));
	assert_false(str_starts_with("", "a"));
	assert_true(str_ends_with("main.c", ".c"));
	assert_true(str_ends_with("x", ""));
	assert_true(str_ends_with(".c", ".c"));
	assert_false(str_ends_with("c", ".c"));
	assert_false(str_ends_with("main.h", ".c"));
}

static void test_eq(void **state)
{
	assert_true(str_eq("a", "a"));
	assert_false(str_eq("a", "b"));
	assert_true(str_eq(NULL, NULL));
	assert_false(str_eq(NULL, "a"));
	assert_false(str_eq("a", NULL));
	assert_true(str_eq_icase("Dockerfile", "DOCKERFILE"));
	assert_false(str_eq_icase("Dockerfile", "Dockerfil"));
	assert_true(str_eq_icase(NULL, NULL));
	assert_false(str_eq_icase(NULL, ""));
}

static void test_trim(void **state)
{
	char a[] = "  \t hello world \r\n";
	assert_string_equal(str_trim(a), "hello world");
	char b[] = "   ";
	assert_string_equal(str_trim(b), "");
	char c[] = "";
	assert_string_equal(str_trim(c), "");
	char d[] = "x";
	assert_string_equal(str_trim(d), "x");
}

static void test_lower(void **state)
{
	char s[] = "MiXeD-Case_123 \xc3\x84";
	assert_ptr_equal(str_lower(s), s);
	/* Non-ASCII bytes are left alone whatever the locale. */
	assert_string_equal(s, "mixed-case_123 \xc3\x84");
}

static void test_split(void **state)
{
	struct vec v = VEC_INIT;
	str_split("a,b,,c", ',', &v);
	assert_int_equal(v.len, 4);
	assert_string_equal(vec_get(&v, 0), "a");
	assert_string_equal(vec_get(&v, 1), "b");
	assert_string_equal(vec_get(&v, 2), "");
	assert_string_equal(vec_get(&v, 3), "c");
	vec_free(&v, free);

	str_split("", ',', &v);
	assert_int_equal(v.len, 1);
	assert_string_equal(vec_get(&v, 0), "");
	vec_free(&v, free);

	str_split(",", ',', &v);
	assert_int_equal(v.len, 2);
	assert_string_equal(vec_get(&v, 0), "");
	assert_string_equal(vec_get(&v, 1), "");
	vec_free(&v, free);

	/* Appends to what is already there. */
	vec_push(&v, NULL);
	str_split("x:y", ':', &v);
	assert_int_equal(v.len, 3);
	assert_null(vec_get(&v, 0));
	assert_string_equal(vec_get(&v, 2), "y");
	vec_free(&v, free);
}

static void test_parse_long_ok(void **state)
{
	struct err e = ERR_INIT;
	long v = 0;
	assert_int_equal(str_parse_long("42", 1, 100, &v, "timeout-minutes", &e), 0);
	assert_int_equal(v, 42);
	assert_int_equal(str_parse_long("-5", -10, 10, &v, "n", &e), 0);
	assert_int_equal(v, -5);
	assert_int_equal(str_parse_long("+7", 0, 10, &v, "n", &e), 0);
	assert_int_equal(v, 7);
	assert_int_equal(str_parse_long("1", 1, 100, &v, "n", &e), 0);
	assert_int_equal(str_parse_long("100", 1, 100, &v, "n", &e), 0);
	assert_int_equal(v, 100);
	assert_int_equal(str_parse_long("9223372036854775807", 0, LONG_MAX, &v, "n", &e), 0);
	assert_int_equal(v, LONG_MAX);
	assert_false(err_is_set(&e));
}

static void test_parse_long_not_number(void **state)
{
	static const char *const bad[] = { "abc", "12abc", " 12", "12 ", "0x10", "1.5",
					   "--1", "+",	   "-",	  "1e3", "٣" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct err e = ERR_INIT;
		long v = 1234;
		assert_int_equal(str_parse_long(bad[i], 1, 100, &v, "timeout-minutes", &e), -1);
		assert_int_equal(v, 1234);
		struct err want = ERR_INIT;
		err_set(&want, "timeout-minutes: '%s' is not a whole number", bad[i]);
		assert_string_equal(e.msg, want.msg);
	}
}

static void test_parse_long_range(void **state)
{
	struct err e = ERR_INIT;
	long v = 7;
	assert_int_equal(str_parse_long("0", 1, 100, &v, "timeout-minutes", &e), -1);
	assert_string_equal(e.msg, "timeout-minutes: '0' must be between 1 and 100");
	assert_int_equal(str_parse_long("101", 1, 100, &v, "timeout-minutes", &e), -1);
	assert_string_equal(e.msg, "timeout-minutes: '101' must be between 1 and 100");
	assert_int_equal(
		str_parse_long("99999999999999999999999", 1, 100, &v, "timeout-minutes", &e), -1);
	assert_non_null(strstr(e.msg, "must be between 1 and 100"));
	assert_int_equal(v, 7);
}

static void test_parse_long_empty(void **state)
{
	struct err e = ERR_INIT;
	long v = 7;
	assert_int_equal(str_parse_long("", 1, 100, &v, "retries", &e), -1);
	assert_non_null(strstr(e.msg, "retries"));
	err_clear(&e);
	assert_int_equal(str_parse_long(NULL, 1, 100, &v, "retries", &e), -1);
	assert_non_null(strstr(e.msg, "retries"));
	assert_int_equal(v, 7);
}

static void test_blank(void **state)
{
	assert_true(str_blank(NULL));
	assert_true(str_blank(""));
	assert_true(str_blank(" \t\r\n"));
	assert_false(str_blank(" x "));
}

static void test_utf8(void **state)
{
	(void)state;
	static const struct {
		const char *bytes;
		size_t sequence; /* of the first character */
	} cases[] = {
		{ "a", 1 },
		{ "\xc3\xa9", 2 },	   /* é */
		{ "\xe2\x82\xac", 3 },	   /* € */
		{ "\xf0\x9f\x9a\xa6", 4 }, /* 🚦 */
		{ "\xc0\xaf", 0 },	   /* overlong '/' */
		{ "\xe0\x80\xaf", 0 },	   /* overlong, three bytes */
		{ "\xed\xa0\x80", 0 },	   /* a surrogate */
		{ "\xf4\x90\x80\x80", 0 }, /* past U+10FFFF */
		{ "\xe2\x82", 0 },	   /* cut short */
		{ "\x80", 0 },		   /* a lone continuation byte */
		{ "\xff", 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		assert_int_equal(str_utf8_sequence(cases[i].bytes, strlen(cases[i].bytes)),
				 cases[i].sequence);
	const char text[] = "ok \xc3\xa9t\xc3\xa9 \xed\xa0\x80 after";
	assert_int_equal(str_utf8_invalid_at(text, strlen(text)), 9);
	assert_int_equal(str_utf8_invalid_at(text, 9), 9);
	assert_int_equal(str_utf8_invalid_at("", 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_starts_ends),
		cmocka_unit_test(test_eq),
		cmocka_unit_test(test_trim),
		cmocka_unit_test(test_lower),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_parse_long_ok),
		cmocka_unit_test(test_parse_long_not_number),
		cmocka_unit_test(test_parse_long_range),
		cmocka_unit_test(test_parse_long_empty),
		cmocka_unit_test(test_blank),
		cmocka_unit_test(test_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
