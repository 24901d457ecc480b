#include "util/arena.h"

#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static void assert_aligned(const void *p)
{
	assert_int_equal((uintptr_t)p % alignof(max_align_t), 0);
}

static void assert_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(p[i], 0);
}

static void test_many_allocations(void **state)
{
	struct arena *a = arena_new();
	enum { N = 20000 };
	unsigned char **ptrs = calloc(N, sizeof(*ptrs));
	for (size_t i = 0; i < N; i++) {
		size_t size = 1 + (i * 37) % 300;
		ptrs[i] = arena_alloc(a, size);
		assert_non_null(ptrs[i]);
		assert_aligned(ptrs[i]);
		assert_zero(ptrs[i], size);
		memset(ptrs[i], (int)(i & 0xff), size);
	}
	/* Nothing overlapped: every block still holds what was written into it. */
	for (size_t i = 0; i < N; i++) {
		size_t size = 1 + (i * 37) % 300;
		for (size_t j = 0; j < size; j++)
			assert_int_equal(ptrs[i][j], i & 0xff);
	}
	assert_true(arena_used(a) >= (size_t)N);
	free(ptrs);
	arena_free(a);
}

static void test_big_allocations(void **state)
{
	struct arena *a = arena_new();
	unsigned char *small = arena_alloc(a, 10);
	memset(small, 1, 10);
	unsigned char *big = arena_alloc(a, 1 << 20);
	assert_aligned(big);
	assert_zero(big, 1 << 20);
	memset(big, 2, 1 << 20);
	unsigned char *after = arena_alloc(a, 10);
	assert_aligned(after);
	assert_zero(after, 10);
	/* The head chunk kept serving small requests after the big one. */
	assert_true(after > small && after - small < 4096);
	unsigned char *exact = arena_alloc(a, 64 * 1024);
	assert_zero(exact, 64 * 1024);
	assert_int_equal(small[9], 1);
	assert_int_equal(big[(1 << 20) - 1], 2);
	assert_true(arena_used(a) >= (1 << 20) + 64 * 1024 + 20);
	arena_free(a);
}

static void test_zero_size_and_used(void **state)
{
	struct arena *a = arena_new();
	assert_int_equal(arena_used(a), 0);
	void *p = arena_alloc(a, 0);
	void *q = arena_alloc(a, 0);
	assert_non_null(p);
	assert_ptr_not_equal(p, q);
	size_t before = arena_used(a);
	arena_alloc(a, 100);
	assert_true(arena_used(a) >= before + 100);
	arena_free(a);
	arena_free(NULL);
}

static void test_calloc_zeroed(void **state)
{
	struct arena *a = arena_new();
	long *xs = arena_calloc(a, 1000, sizeof(long));
	assert_aligned(xs);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(xs[i], 0);
	arena_free(a);
}

/* Size overflow must stop the program rather than hand out a short block. */
static void assert_child_aborts(void (*fn)(struct arena *))
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Keep the expected abort message out of the test output. */
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0)
			dup2(devnull, 2);
		struct arena *a = arena_new();
		fn(a);
		_exit(0);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}

static void calloc_overflow(struct arena *a)
{
	arena_calloc(a, SIZE_MAX / 2, 4);
}

static void alloc_overflow(struct arena *a)
{
	arena_alloc(a, SIZE_MAX - 3);
}

static void test_calloc_overflow_aborts(void **state)
{
	assert_child_aborts(calloc_overflow);
}

static void test_alloc_overflow_aborts(void **state)
{
	assert_child_aborts(alloc_overflow);
}

static void test_strings(void **state)
{
	struct arena *a = arena_new();
	char *s = arena_strdup(a, "hello");
	assert_string_equal(s, "hello");
	char *t = arena_strndup(a, "hello world", 5);
	assert_string_equal(t, "hello");
	char *u = arena_strndup(a, "hi", 100);
	assert_string_equal(u, "hi");
	char *v = arena_strdup(a, "");
	assert_string_equal(v, "");
	char *f = arena_printf(a, "%s:%d:%d", "ci.yml", 3, 14);
	assert_string_equal(f, "ci.yml:3:14");

	char long_text[3000];
	memset(long_text, 'q', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	char *g = arena_printf(a, "<%s>", long_text);
	assert_int_equal(strlen(g), sizeof(long_text) + 1);
	assert_int_equal(g[0], '<');
	assert_int_equal(g[sizeof(long_text)], '>');
	assert_string_equal(s, "hello");
	arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_allocations),
		cmocka_unit_test(test_big_allocations),
		cmocka_unit_test(test_zero_size_and_used),
		cmocka_unit_test(test_calloc_zeroed),
		cmocka_unit_test(test_calloc_overflow_aborts),
		cmocka_unit_test(test_alloc_overflow_aborts),
		cmocka_unit_test(test_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
