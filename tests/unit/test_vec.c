#include "util/vec.h"
#include "util/xalloc.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define P(n) ((void *)(uintptr_t)(n))
#define N(p) ((uintptr_t)(p))

static void test_push_pop_get(void **state)
{
	struct vec v = VEC_INIT;
	assert_null(vec_pop(&v));
	assert_null(vec_get(&v, 0));
	for (uintptr_t i = 1; i <= 10000; i++)
		vec_push(&v, P(i));
	assert_int_equal(v.len, 10000);
	assert_true(v.cap >= v.len);
	for (size_t i = 0; i < v.len; i++)
		assert_int_equal(N(vec_get(&v, i)), i + 1);
	assert_null(vec_get(&v, 10000));
	assert_null(vec_get(&v, SIZE_MAX));
	for (uintptr_t i = 10000; i >= 1; i--)
		assert_int_equal(N(vec_pop(&v)), i);
	assert_int_equal(v.len, 0);
	assert_null(vec_pop(&v));
	vec_free(&v, NULL);
	assert_null(v.items);
	assert_int_equal(v.cap, 0);
}

static void assert_contents(const struct vec *v, const uintptr_t *want, size_t n)
{
	assert_int_equal(v->len, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(N(v->items[i]), want[i]);
}

static void test_insert(void **state)
{
	struct vec v = VEC_INIT;
	vec_insert(&v, 0, P(2));
	vec_insert(&v, 0, P(1));
	vec_insert(&v, 2, P(4));
	vec_insert(&v, 2, P(3));
	static const uintptr_t a[] = { 1, 2, 3, 4 };
	assert_contents(&v, a, 4);
	/* Past the end appends rather than writing out of bounds. */
	vec_insert(&v, 99, P(5));
	static const uintptr_t b[] = { 1, 2, 3, 4, 5 };
	assert_contents(&v, b, 5);
	/* Inserting across a growth boundary. */
	for (uintptr_t i = 0; i < 100; i++)
		vec_insert(&v, 1, P(100 + i));
	assert_int_equal(v.len, 105);
	assert_int_equal(N(v.items[0]), 1);
	assert_int_equal(N(v.items[1]), 199);
	assert_int_equal(N(v.items[100]), 100);
	assert_int_equal(N(v.items[101]), 2);
	assert_int_equal(N(v.items[104]), 5);
	vec_free(&v, NULL);
}

static void test_remove(void **state)
{
	struct vec v = VEC_INIT;
	for (uintptr_t i = 0; i < 6; i++)
		vec_push(&v, P(i));
	assert_int_equal(N(vec_remove(&v, 0)), 0);
	assert_int_equal(N(vec_remove(&v, 4)), 5);
	assert_int_equal(N(vec_remove(&v, 1)), 2);
	static const uintptr_t want[] = { 1, 3, 4 };
	assert_contents(&v, want, 3);
	assert_null(vec_remove(&v, 3));
	assert_int_equal(v.len, 3);
	vec_free(&v, NULL);
}

static int compare_strings(const void *a, const void *b)
{
	const char *const *x = a;
	const char *const *y = b;
	return strcmp(*x, *y);
}

static void test_sort(void **state)
{
	struct vec v = VEC_INIT;
	static const char *const words[] = { "pear", "apple", "fig", "banana", "cherry", "apple" };
	for (size_t i = 0; i < 6; i++)
		vec_push(&v, xstrdup(words[i]));
	vec_sort(&v, compare_strings);
	static const char *const want[] = { "apple", "apple", "banana", "cherry", "fig", "pear" };
	for (size_t i = 0; i < 6; i++)
		assert_string_equal(vec_get(&v, i), want[i]);
	vec_free(&v, free);

	/* Empty and single-item vectors sort without touching cmp. */
	vec_sort(&v, NULL);
	vec_push(&v, xstrdup("only"));
	vec_sort(&v, NULL);
	assert_string_equal(vec_get(&v, 0), "only");
	vec_free(&v, free);
}

static int compare_numbers(const void *a, const void *b)
{
	uintptr_t x = N(*(void *const *)a), y = N(*(void *const *)b);
	return (x > y) - (x < y);
}

static void test_sort_many(void **state)
{
	struct vec v = VEC_INIT;
	uint32_t seed = 12345;
	for (int i = 0; i < 5000; i++) {
		seed = seed * 1103515245u + 12345u;
		vec_push(&v, P(seed >> 8));
	}
	vec_sort(&v, compare_numbers);
	for (size_t i = 1; i < v.len; i++)
		assert_true(N(v.items[i - 1]) <= N(v.items[i]));
	vec_free(&v, NULL);
}

static int freed;

static void count_free(void *p)
{
	freed++;
	free(p);
}

static void test_free_hook(void **state)
{
	struct vec v = VEC_INIT;
	for (int i = 0; i < 7; i++)
		vec_push(&v, xmalloc(16));
	freed = 0;
	vec_free(&v, count_free);
	assert_int_equal(freed, 7);
	assert_int_equal(v.len, 0);
	/* The vector is reusable after vec_free. */
	vec_push(&v, P(1));
	assert_int_equal(v.len, 1);
	vec_free(&v, NULL);
}

/* Lists of names: membership by content, not by pointer; NULL is never held. */
static void test_strings(void **state)
{
	(void)state;
	struct vec v = { 0 };
	char other[] = "api";
	vec_push_unique_str(&v, "server");
	vec_push_unique_str(&v, "api");
	vec_push_unique_str(&v, other);
	vec_push_unique_str(&v, "server");
	assert_int_equal(v.len, 2);
	assert_true(vec_has_str(&v, "api"));
	assert_true(vec_has_str(&v, other));
	assert_false(vec_has_str(&v, "web"));
	assert_false(vec_has_str(&v, NULL));
	vec_free(&v, NULL);
	assert_false(vec_has_str(&v, "api"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_push_pop_get), cmocka_unit_test(test_insert),
		cmocka_unit_test(test_remove),	     cmocka_unit_test(test_sort),
		cmocka_unit_test(test_sort_many),    cmocka_unit_test(test_free_hook),
		cmocka_unit_test(test_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
