#include "util/buf.h"
#include "util/map.h"
#include "util/xalloc.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define P(n) ((void *)(uintptr_t)(n))
#define N(p) ((uintptr_t)(p))

static void key_of(char *out, size_t size, size_t i)
{
	snprintf(out, size, "key-%zu", i);
}

static void test_basic(void **state)
{
	struct map *m = map_new();
	assert_int_equal(map_count(m), 0);
	assert_null(map_get(m, "a"));
	assert_false(map_has(m, "a"));
	assert_null(map_del(m, "a"));
	assert_null(map_put(m, "a", P(1)));
	assert_null(map_put(m, "b", P(2)));
	assert_int_equal(N(map_get(m, "a")), 1);
	assert_int_equal(N(map_get(m, "b")), 2);
	assert_int_equal(map_count(m), 2);
	assert_int_equal(N(map_put(m, "a", P(3))), 1);
	assert_int_equal(map_count(m), 2);
	assert_int_equal(N(map_get(m, "a")), 3);

	/* A NULL value is a present key. */
	assert_null(map_put(m, "nothing", NULL));
	assert_true(map_has(m, "nothing"));
	assert_null(map_get(m, "nothing"));
	assert_int_equal(map_count(m), 3);

	/* The empty string is a key like any other. */
	map_put(m, "", P(9));
	assert_int_equal(N(map_get(m, "")), 9);
	assert_int_equal(N(map_del(m, "b")), 2);
	assert_false(map_has(m, "b"));
	assert_int_equal(map_count(m), 3);
	map_free(m, NULL);
	map_free(NULL, NULL);
}

static void test_key_is_copied(void **state)
{
	struct map *m = map_new();
	char key[] = "mutable";
	map_put(m, key, P(1));
	key[0] = 'X';
	assert_int_equal(N(map_get(m, "mutable")), 1);
	assert_null(map_get(m, key));
	map_free(m, NULL);
}

static void test_many_keys(void **state)
{
	enum { COUNT = 100000 };
	struct map *m = map_new();
	char key[32];
	for (size_t i = 0; i < COUNT; i++) {
		key_of(key, sizeof(key), i);
		assert_null(map_put(m, key, P(i + 1)));
	}
	assert_int_equal(map_count(m), COUNT);
	for (size_t i = 0; i < COUNT; i++) {
		key_of(key, sizeof(key), i);
		assert_int_equal(N(map_get(m, key)), i + 1);
	}
	assert_null(map_get(m, "key-100000"));

	/* Delete every odd key. */
	for (size_t i = 1; i < COUNT; i += 2) {
		key_of(key, sizeof(key), i);
		assert_int_equal(N(map_del(m, key)), i + 1);
		assert_null(map_del(m, key));
	}
	assert_int_equal(map_count(m), COUNT / 2);
	for (size_t i = 0; i < COUNT; i++) {
		key_of(key, sizeof(key), i);
		assert_int_equal(map_has(m, key), i % 2 == 0);
	}

	/* Iteration sees the even keys, in insertion order. */
	size_t seen = 0;
	const char *k;
	void *v;
	for (size_t cursor = 0; map_next(m, &cursor, &k, &v);) {
		key_of(key, sizeof(key), seen * 2);
		assert_string_equal(k, key);
		assert_int_equal(N(v), seen * 2 + 1);
		seen++;
	}
	assert_int_equal(seen, COUNT / 2);

	/* Reinserted keys go to the end of the order. */
	for (size_t i = 1; i < COUNT; i += 2) {
		key_of(key, sizeof(key), i);
		assert_null(map_put(m, key, P(i + 1)));
	}
	assert_int_equal(map_count(m), COUNT);
	seen = 0;
	for (size_t cursor = 0; map_next(m, &cursor, &k, &v);) {
		size_t want = seen < COUNT / 2 ? seen * 2 : (seen - COUNT / 2) * 2 + 1;
		key_of(key, sizeof(key), want);
		assert_string_equal(k, key);
		assert_int_equal(N(v), want + 1);
		seen++;
	}
	assert_int_equal(seen, COUNT);
	map_free(m, NULL);
}

static void test_order_is_insertion_order(void **state)
{
	struct map *m = map_new();
	static const char *const keys[] = { "zeta", "alpha", "mid", "beta", "omega" };
	for (size_t i = 0; i < 5; i++)
		map_put(m, keys[i], P(i));
	/* Updating a value keeps its place. */
	map_put(m, "zeta", P(100));
	map_del(m, "mid");
	static const char *const want[] = { "zeta", "alpha", "beta", "omega" };
	size_t i = 0;
	const char *k;
	for (size_t cursor = 0; map_next(m, &cursor, &k, NULL);)
		assert_string_equal(k, want[i++]);
	assert_int_equal(i, 4);
	map_free(m, NULL);
}

static void test_delete_during_iteration(void **state)
{
	struct map *m = map_new();
	char key[32];
	for (size_t i = 0; i < 1000; i++) {
		key_of(key, sizeof(key), i);
		map_put(m, key, P(i));
	}
	const char *k;
	void *v;
	size_t visited = 0;
	for (size_t cursor = 0; map_next(m, &cursor, &k, &v);) {
		visited++;
		if (N(v) % 3 == 0)
			map_del(m, k);
	}
	assert_int_equal(visited, 1000);
	assert_int_equal(map_count(m), 1000 - 334);
	map_free(m, NULL);
}

/* Put and delete the same few keys many times, which reuses tombstones. */
static void test_churn(void **state)
{
	struct map *m = map_new();
	char key[32];
	for (size_t round = 0; round < 200000; round++) {
		key_of(key, sizeof(key), round % 7);
		map_put(m, key, P(round + 1));
		if (round % 2)
			assert_int_equal(N(map_del(m, key)), round + 1);
	}
	assert_true(map_count(m) <= 7);
	size_t seen = 0;
	for (size_t cursor = 0; map_next(m, &cursor, NULL, NULL);)
		seen++;
	assert_int_equal(seen, map_count(m));
	map_free(m, NULL);
}

static void test_free_values(void **state)
{
	struct map *m = map_new();
	map_put(m, "a", xstrdup("one"));
	map_put(m, "b", xstrdup("two"));
	free(map_put(m, "a", xstrdup("three")));
	free(map_del(m, "b"));
	map_put(m, "c", NULL);
	/* value_free gets each live value; the sanitizer build checks for leaks. */
	map_free(m, free);
}

static void test_similar_keys(void **state)
{
	struct map *m = map_new();
	struct buf key = BUF_INIT;
	/* Prefixes of one another, to catch length-insensitive comparison. */
	for (size_t i = 0; i < 64; i++) {
		map_put(m, buf_cstr(&key), P(i + 1));
		buf_addch(&key, 'a');
	}
	buf_reset(&key);
	for (size_t i = 0; i < 64; i++) {
		assert_int_equal(N(map_get(m, buf_cstr(&key))), i + 1);
		buf_addch(&key, 'a');
	}
	map_put(m, "caf\xc3\xa9", P(500));
	assert_int_equal(N(map_get(m, "caf\xc3\xa9")), 500);
	assert_null(map_get(m, "cafe"));
	buf_free(&key);
	map_free(m, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_key_is_copied),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_order_is_insertion_order),
		cmocka_unit_test(test_delete_during_iteration),
		cmocka_unit_test(test_churn),
		cmocka_unit_test(test_free_values),
		cmocka_unit_test(test_similar_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
