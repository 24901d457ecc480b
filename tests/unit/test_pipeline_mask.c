#include "pipeline/mask.h"
#include "util/buf.h"
#include "util/xalloc.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static char *apply(const struct mask *m, const char *text)
{
	return mask_apply(m, text, strlen(text), NULL);
}

static void assert_masked(const struct mask *m, const char *text, const char *expected)
{
	char *got = apply(m, text);
	assert_string_equal(got, expected);
	free(got);
}

struct mask_case {
	const char *secrets[4];
	const char *text;
	const char *expected;
};

static const struct mask_case cases[] = {
	{ { NULL }, "nothing to hide", "nothing to hide" },
	{ { "abc123" }, "token abc123 here", "token *** here" },
	{ { "abc123" }, "abc123abc", "***abc" },
	{ { "abc123" }, "abc123 and abc123", "*** and ***" },
	{ { "abc123" }, "abc12 abc1234", "abc12 ***4" },
	{ { "s" }, "sss", "***" },		     /* occurrences that touch are one range */
	{ { "aa" }, "aaa", "***" },		     /* overlapping occurrences of one secret */
	{ { "abcd", "cdef" }, "xabcdefx", "x***x" }, /* overlapping secrets: their union */
	{ { "abc", "def" }, "abcdef", "***" },	     /* adjacent secrets */
	{ { "abc", "def" }, "abc def", "*** ***" },
	{ { "abc", "abcdef" }, "abcdefg", "***g" }, /* the longest wins */
	{ { "abc", "abcdef" }, "abcdeg", "***deg" },
	{ { "bc", "abcd" }, "abcd", "***" },
	{ { "c", "xbcdy" }, "axbcdyb", "a***b" }, /* a short one inside a longer one */
	{ { "c", "xbcdy" }, "cxbcdy", "***" },
	{ { "ab", "b", "bcd" }, "zabcdz", "z***z" },
	{ { "secret" }, "", "" },
	{ { "\xff\xfe" },
	  "a\xff\xfe"
	  "b",
	  "a***b" },
	{ { "a b" }, "a  b a b", "a  b ***" },
	{ { "***" }, "x***y", "x***y" },
};

static void test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mask *m = mask_new();
		for (size_t s = 0; s < 4 && cases[i].secrets[s]; s++)
			mask_add(m, cases[i].secrets[s]);
		char *got = apply(m, cases[i].text);
		if (strcmp(got, cases[i].expected) != 0)
			fail_msg("case %zu: '%s' gave '%s', expected '%s'", i, cases[i].text, got,
				 cases[i].expected);
		free(got);
		mask_free(m);
	}
}

static void test_null_mask_copies(void **state)
{
	(void)state;
	assert_masked(NULL, "plain", "plain");
	assert_int_equal(mask_count(NULL), 0);
	mask_add(NULL, "ignored");
	struct buf out = BUF_INIT;
	mask_apply_buf(NULL, "", 0, &out);
	assert_string_equal(buf_cstr(&out), "");
	buf_free(&out);
}

static void test_empty_and_blank_values_ignored(void **state)
{
	(void)state;
	struct mask *m = mask_new();
	mask_add(m, "");
	mask_add(m, " ");
	mask_add(m, "\t \r\n");
	mask_add(m, NULL);
	assert_int_equal(mask_count(m), 0);
	assert_masked(m, "a b\tc", "a b\tc");
	mask_free(m);
}

static void test_duplicates_count_once(void **state)
{
	(void)state;
	struct mask *m = mask_new();
	mask_add(m, "hunter2");
	mask_add(m, "hunter2");
	mask_add(m, "hunter");
	assert_int_equal(mask_count(m), 2);
	assert_masked(m, "hunter hunter2", "*** ***");
	mask_free(m);
}

static void test_multiline_value(void **state)
{
	(void)state;
	struct mask *m = mask_new();
	mask_add(m, "-----BEGIN KEY-----\r\nMIIBOgIBAAJB\r\n\r\n  \n-----END KEY-----");
	/* The whole value and its three non-blank lines. */
	assert_int_equal(mask_count(m), 4);
	assert_masked(m, "MIIBOgIBAAJB", "***");
	assert_masked(m, "key: MIIBOgIBAAJB.", "key: ***.");
	assert_masked(m, "-----END KEY-----", "***");
	assert_masked(m, "-----BEGIN KEY-----\r\nMIIBOgIBAAJB\r\n\r\n  \n-----END KEY-----", "***");
	/* The blank lines of the value are not secrets. */
	assert_masked(m, "a  b", "a  b");
	mask_free(m);
}

static void test_single_line_value_with_trailing_newline(void **state)
{
	(void)state;
	struct mask *m = mask_new();
	mask_add(m, "tok\n");
	assert_int_equal(mask_count(m), 2); /* "tok\n" and "tok" */
	assert_masked(m, "tok", "***");
	mask_free(m);
}

static void test_text_with_nul_bytes(void **state)
{
	(void)state;
	struct mask *m = mask_new();
	mask_add(m, "pw");
	size_t len = 0;
	char *got = mask_apply(m, "a\0pw\0b", 6, &len);
	assert_int_equal(len, 7);
	assert_memory_equal(got, "a\0***\0b", 7);
	free(got);
	mask_free(m);
}

static void test_apply_buf_appends(void **state)
{
	(void)state;
	struct mask *m = mask_new();
	mask_add(m, "xyz");
	struct buf out = BUF_INIT;
	buf_adds(&out, "> ");
	mask_apply_buf(m, "axyzb", 5, &out);
	assert_string_equal(out.data, "> a***b");
	buf_free(&out);
	mask_free(m);
}

static void test_add_after_apply(void **state)
{
	(void)state;
	struct mask *m = mask_new();
	mask_add(m, "one");
	assert_masked(m, "one two three", "*** two three");
	mask_add(m, "two");
	mask_add(m, "three");
	assert_masked(m, "one two three", "*** *** ***");
	mask_add(m, "ne tw"); /* bridges two earlier ones: all one range */
	assert_masked(m, "one two three", "*** ***");
	mask_free(m);
}

/* 64 KiB lines against secrets that share long prefixes with the text. */
static void test_large_line(void **state)
{
	(void)state;
	size_t n = 64 * 1024;
	char *text = xmalloc(n + 1);
	memset(text, 'a', n);
	text[n] = '\0';
	struct mask *m = mask_new();
	char secret[1002];
	memset(secret, 'a', 1000);
	secret[1000] = 'b';
	secret[1001] = '\0';
	mask_add(m, secret);
	for (int i = 0; i < 1000; i++) {
		char name[32];
		snprintf(name, sizeof(name), "secret-%d", i);
		mask_add(m, name);
	}
	assert_masked(m, text, text);
	text[n - 1] = 'b';
	size_t len = 0;
	char *got = mask_apply(m, text, n, &len);
	assert_int_equal(len, n - 1001 + 3);
	assert_memory_equal(got + n - 1001, "***", 4);
	assert_int_equal(strspn(got, "a"), n - 1001);
	free(got);

	/* Many secrets on one long line. */
	struct buf line = BUF_INIT;
	struct buf expected = BUF_INIT;
	for (int i = 0; line.len < n; i++) {
		buf_addf(&line, "x secret-%d y ", i % 1000);
		buf_adds(&expected, "x *** y ");
	}
	assert_masked(m, line.data, expected.data);
	buf_free(&line);
	buf_free(&expected);
	free(text);
	mask_free(m);
}

/* The runner's algorithm, directly: mark every occurrence; a covered run, touching
 * occurrences included, becomes one "***". */
static char *naive_mask(const char *const *secrets, size_t count, const char *text)
{
	size_t n = strlen(text);
	int *covered = xcalloc(n + 1, sizeof(*covered));
	for (size_t s = 0; s < count; s++) {
		size_t len = strlen(secrets[s]);
		for (size_t i = 0; len && i + len <= n; i++) {
			if (memcmp(text + i, secrets[s], len) == 0) {
				for (size_t k = i; k < i + len; k++)
					covered[k] = 1;
			}
		}
	}
	struct buf out = BUF_INIT;
	buf_add(&out, "", 0);
	for (size_t i = 0; i < n;) {
		if (covered[i]) {
			while (i < n && covered[i])
				i++;
			buf_adds(&out, "***");
		} else {
			buf_addch(&out, text[i++]);
		}
	}
	free(covered);
	return buf_detach(&out);
}

static void test_matches_naive_algorithm(void **state)
{
	(void)state;
	unsigned seed = 12345;
	for (int round = 0; round < 2000; round++) {
		char secrets[4][6];
		const char *list[4];
		size_t count = 1 + (seed = seed * 1103515245u + 12345u) % 4;
		struct mask *m = mask_new();
		for (size_t s = 0; s < count; s++) {
			size_t len = 1 + (seed = seed * 1103515245u + 12345u) % 5;
			for (size_t k = 0; k < len; k++)
				secrets[s][k] =
					(char)('a' + (seed = seed * 1103515245u + 12345u) % 3);
			secrets[s][len] = '\0';
			list[s] = secrets[s];
			mask_add(m, secrets[s]);
		}
		char text[40];
		size_t len = (seed = seed * 1103515245u + 12345u) % 39;
		for (size_t k = 0; k < len; k++)
			text[k] = (char)('a' + (seed = seed * 1103515245u + 12345u) % 4);
		text[len] = '\0';
		char *expected = naive_mask(list, count, text);
		char *got = apply(m, text);
		if (strcmp(got, expected) != 0)
			fail_msg("round %d: '%s' gave '%s', expected '%s'", round, text, got,
				 expected);
		free(expected);
		free(got);
		mask_free(m);
	}
}

struct reader_arg {
	struct mask *m;
	int failures;
};

static void *reader_thread(void *arg)
{
	struct reader_arg *r = arg;
	for (int i = 0; i < 2000; i++) {
		char *got = apply(r->m, "fixed-secret and more");
		if (strcmp(got, "*** and more") != 0)
			r->failures++;
		free(got);
	}
	return NULL;
}

/* Jobs log from their threads while another job adds masks. */
static void test_concurrent_readers_and_adds(void **state)
{
	(void)state;
	struct mask *m = mask_new();
	mask_add(m, "fixed-secret");
	pthread_t threads[4];
	struct reader_arg args[4];
	for (int i = 0; i < 4; i++) {
		args[i].m = m;
		args[i].failures = 0;
		assert_int_equal(pthread_create(&threads[i], NULL, reader_thread, &args[i]), 0);
	}
	for (int i = 0; i < 500; i++) {
		char value[32];
		snprintf(value, sizeof(value), "added-%d", i);
		mask_add(m, value);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(threads[i], NULL);
		assert_int_equal(args[i].failures, 0);
	}
	assert_int_equal(mask_count(m), 501);
	assert_masked(m, "added-499 added-0", "*** ***");
	mask_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_null_mask_copies),
		cmocka_unit_test(test_empty_and_blank_values_ignored),
		cmocka_unit_test(test_duplicates_count_once),
		cmocka_unit_test(test_multiline_value),
		cmocka_unit_test(test_single_line_value_with_trailing_newline),
		cmocka_unit_test(test_text_with_nul_bytes),
		cmocka_unit_test(test_apply_buf_appends),
		cmocka_unit_test(test_add_after_apply),
		cmocka_unit_test(test_large_line),
		cmocka_unit_test(test_matches_naive_algorithm),
		cmocka_unit_test(test_concurrent_readers_and_adds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
