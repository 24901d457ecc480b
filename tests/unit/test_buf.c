#include "util/buf.h"
#include "util/err.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

/* A fresh directory per test so that file tests cannot see each other. */
static int tmpdir_setup(void **state)
{
	const char *base = getenv("TMPDIR");
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/ampel-test-buf-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(path.data)) {
		buf_free(&path);
		return -1;
	}
	*state = buf_detach(&path);
	return 0;
}

static int tmpdir_teardown(void **state)
{
	char *dir = *state;
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *ent;
		while ((ent = readdir(d))) {
			if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
				continue;
			struct buf p = BUF_INIT;
			buf_addf(&p, "%s/%s", dir, ent->d_name);
			chmod(p.data, 0700);
			if (unlink(p.data) != 0)
				rmdir(p.data);
			buf_free(&p);
		}
		closedir(d);
	}
	rmdir(dir);
	free(dir);
	return 0;
}

static void test_init_state_is_usable(void **state)
{
	struct buf b = BUF_INIT;
	assert_string_equal(buf_cstr(&b), "");
	assert_int_equal(b.len, 0);
	buf_truncate(&b, 0);
	buf_rtrim(&b);
	buf_reset(&b);
	assert_string_equal(buf_cstr(&b), "");
	char *s = buf_detach(&b);
	assert_string_equal(s, "");
	free(s);
	assert_null(b.data);
	buf_free(&b);

	buf_init(&b);
	assert_null(b.data);
	assert_int_equal(b.cap, 0);
	buf_free(&b);
}

static void test_many_small_appends(void **state)
{
	struct buf b = BUF_INIT;
	for (int i = 0; i < 100000; i++)
		buf_addch(&b, (char)('a' + i % 26));
	assert_int_equal(b.len, 100000);
	assert_true(b.cap > b.len);
	assert_int_equal(b.data[b.len], '\0');
	for (size_t i = 0; i < b.len; i++)
		assert_int_equal(b.data[i], 'a' + (int)(i % 26));
	buf_free(&b);
}

static void test_add_binary_and_strings(void **state)
{
	struct buf b = BUF_INIT;
	buf_add(&b, "a\0b", 3);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "a\0b", 4);
	buf_adds(&b, "cd");
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.data, "a\0bcd", 6);
	buf_add(&b, NULL, 0);
	assert_int_equal(b.len, 5);
	buf_free(&b);
}

static void test_addf_small_and_big(void **state)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "%d-%s", 42, "x");
	assert_string_equal(b.data, "42-x");

	/* Longer than any initial capacity, to exercise the second vsnprintf. */
	char *big = xmalloc(200001);
	memset(big, 'z', 200000);
	big[200000] = '\0';
	buf_addf(&b, "[%s]", big);
	assert_int_equal(b.len, 4 + 200002);
	assert_int_equal(b.data[4], '[');
	assert_int_equal(b.data[5], 'z');
	assert_int_equal(b.data[200005], ']');
	assert_int_equal(b.data[b.len], '\0');
	assert_int_equal(strlen(b.data), b.len);

	/* Exactly at the capacity boundary, where an off-by-one would show. */
	buf_reset(&b);
	for (size_t n = 0; n < 300; n++) {
		buf_reset(&b);
		buf_addf(&b, "%.*s", (int)n, big);
		assert_int_equal(b.len, n);
		assert_int_equal(strlen(b.data), n);
	}
	free(big);
	buf_free(&b);
}

static void test_addf_appends_many_times(void **state)
{
	struct buf b = BUF_INIT;
	for (int i = 0; i < 10000; i++)
		buf_addf(&b, "%05d,", i);
	assert_int_equal(b.len, 60000);
	assert_memory_equal(b.data + 6 * 9999, "09999,", 6);
	assert_memory_equal(b.data, "00000,00001,", 12);
	buf_free(&b);
}

static void test_truncate_reset_rtrim(void **state)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, "hello world");
	buf_truncate(&b, 5);
	assert_string_equal(b.data, "hello");
	buf_truncate(&b, 100);
	assert_string_equal(b.data, "hello");
	size_t cap = b.cap;
	buf_reset(&b);
	assert_string_equal(b.data, "");
	assert_int_equal(b.cap, cap);

	buf_adds(&b, "text \t\r\n\f\v ");
	buf_rtrim(&b);
	assert_string_equal(b.data, "text");
	assert_int_equal(b.len, 4);

	buf_reset(&b);
	buf_adds(&b, " \n ");
	buf_rtrim(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");

	/* A NUL byte is data, not whitespace. */
	buf_reset(&b);
	buf_add(&b, "x\0", 2);
	buf_rtrim(&b);
	assert_int_equal(b.len, 2);
	buf_free(&b);
}

static void test_detach(void **state)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, "owned");
	char *s = buf_detach(&b);
	assert_string_equal(s, "owned");
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	buf_adds(&b, "again");
	assert_string_equal(buf_cstr(&b), "again");
	free(s);
	buf_free(&b);
}

static char *path_in(const char *dir, const char *name)
{
	struct buf p = BUF_INIT;
	buf_addf(&p, "%s/%s", dir, name);
	return buf_detach(&p);
}

static void test_write_then_read(void **state)
{
	char *path = path_in(*state, "data.bin");
	struct err e = ERR_INIT;
	struct buf out = BUF_INIT;
	for (int i = 0; i < 50000; i++)
		buf_addch(&out, (char)(i * 7));
	assert_int_equal(buf_write_file(&out, path, &e), 0);
	assert_false(err_is_set(&e));

	struct buf in = BUF_INIT;
	buf_adds(&in, "prefix:");
	assert_int_equal(buf_read_file(&in, path, 0, &e), 0);
	assert_int_equal(in.len, 7 + out.len);
	assert_memory_equal(in.data, "prefix:", 7);
	assert_memory_equal(in.data + 7, out.data, out.len);
	assert_int_equal(in.data[in.len], '\0');

	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);

	buf_free(&in);
	buf_free(&out);
	free(path);
}

static void test_read_empty_file(void **state)
{
	char *path = path_in(*state, "empty");
	struct err e = ERR_INIT;
	struct buf b = BUF_INIT;
	assert_int_equal(buf_write_file(&b, path, &e), 0);
	assert_int_equal(buf_read_file(&b, path, 10, &e), 0);
	assert_int_equal(b.len, 0);
	assert_string_equal(buf_cstr(&b), "");
	buf_free(&b);
	free(path);
}

static void test_read_missing_names_path(void **state)
{
	char *path = path_in(*state, "does-not-exist.yaml");
	struct err e = ERR_INIT;
	struct buf b = BUF_INIT;
	buf_adds(&b, "keep");
	assert_int_equal(buf_read_file(&b, path, 0, &e), -1);
	assert_non_null(strstr(e.msg, path));
	assert_non_null(strstr(e.msg, "No such file or directory"));
	assert_string_equal(b.data, "keep");
	buf_free(&b);
	free(path);
}

static void test_read_directory_fails(void **state)
{
	struct err e = ERR_INIT;
	struct buf b = BUF_INIT;
	assert_int_equal(buf_read_file(&b, *state, 0, &e), -1);
	assert_non_null(strstr(e.msg, (const char *)*state));
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void test_read_size_cap(void **state)
{
	char *path = path_in(*state, "big");
	struct err e = ERR_INIT;
	struct buf b = BUF_INIT;
	for (int i = 0; i < 1000; i++)
		buf_addch(&b, 'x');
	assert_int_equal(buf_write_file(&b, path, &e), 0);

	struct buf in = BUF_INIT;
	buf_adds(&in, "before");
	assert_int_equal(buf_read_file(&in, path, 999, &e), -1);
	assert_non_null(strstr(e.msg, path));
	assert_non_null(strstr(e.msg, "999"));
	assert_string_equal(in.data, "before");

	/* Exactly at the limit is allowed. */
	err_clear(&e);
	assert_int_equal(buf_read_file(&in, path, 1000, &e), 0);
	assert_int_equal(in.len, 6 + 1000);
	buf_free(&in);
	buf_free(&b);
	free(path);
}

/* Files whose size stat cannot tell (pipes, /proc) must still honour the cap. */
static void test_read_size_cap_without_stat(void **state)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	char chunk[4096];
	memset(chunk, 'p', sizeof(chunk));
	assert_int_equal(write(fds[1], chunk, sizeof(chunk)), (ssize_t)sizeof(chunk));
	close(fds[1]);
	struct buf path = BUF_INIT;
	buf_addf(&path, "/proc/self/fd/%d", fds[0]);
	struct err e = ERR_INIT;
	struct buf b = BUF_INIT;
	assert_int_equal(buf_read_file(&b, path.data, 100, &e), -1);
	assert_non_null(strstr(e.msg, "100"));
	assert_int_equal(b.len, 0);
	close(fds[0]);
	buf_free(&b);
	buf_free(&path);
}

static void test_write_replaces_atomically(void **state)
{
	char *path = path_in(*state, "config.yaml");
	struct err e = ERR_INIT;
	struct buf b = BUF_INIT;
	buf_adds(&b, "old contents that are longer");
	assert_int_equal(buf_write_file(&b, path, &e), 0);
	struct stat before;
	assert_int_equal(stat(path, &before), 0);

	buf_reset(&b);
	buf_adds(&b, "new");
	assert_int_equal(buf_write_file(&b, path, &e), 0);
	struct stat after;
	assert_int_equal(stat(path, &after), 0);
	/* A rename gives a new inode; writing in place would keep the old one. */
	assert_int_not_equal(before.st_ino, after.st_ino);

	struct buf in = BUF_INIT;
	assert_int_equal(buf_read_file(&in, path, 0, &e), 0);
	assert_string_equal(in.data, "new");

	/* No temporary file is left behind. */
	DIR *d = opendir(*state);
	assert_non_null(d);
	int entries = 0;
	struct dirent *ent;
	while ((ent = readdir(d))) {
		if (ent->d_name[0] != '.')
			entries++;
	}
	closedir(d);
	assert_int_equal(entries, 1);

	buf_free(&in);
	buf_free(&b);
	free(path);
}

static void test_write_failure_keeps_old_file(void **state)
{
	struct err e = ERR_INIT;
	struct buf b = BUF_INIT;

	/* The target is a directory: rename must fail and the temp file must go. */
	char *dir = path_in(*state, "subdir");
	assert_int_equal(mkdir(dir, 0700), 0);
	char *inner = path_in(dir, "keep");
	buf_adds(&b, "x");
	assert_int_equal(buf_write_file(&b, inner, &e), 0);
	assert_int_equal(buf_write_file(&b, dir, &e), -1);
	assert_non_null(strstr(e.msg, dir));
	unlink(inner);

	/* Missing parent directory. */
	err_clear(&e);
	char *missing = path_in(*state, "no/such/dir/file");
	assert_int_equal(buf_write_file(&b, missing, &e), -1);
	assert_true(err_is_set(&e));

	DIR *d = opendir(*state);
	assert_non_null(d);
	struct dirent *ent;
	while ((ent = readdir(d)))
		assert_null(strstr(ent->d_name, ".tmp"));
	closedir(d);
	rmdir(dir);
	free(missing);
	free(inner);
	free(dir);
	buf_free(&b);
}

static void test_write_keeps_mode(void **state)
{
	char *path = path_in(*state, "secret");
	struct err e = ERR_INIT;
	struct buf b = BUF_INIT;
	buf_adds(&b, "v1");
	assert_int_equal(buf_write_file(&b, path, &e), 0);
	assert_int_equal(chmod(path, 0600), 0);
	buf_adds(&b, "v2");
	assert_int_equal(buf_write_file(&b, path, &e), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	buf_free(&b);
	free(path);
}

struct writer {
	const char *path;
	char fill;
	int failures;
};

static void *write_many_times(void *arg)
{
	struct writer *w = arg;
	struct buf b = BUF_INIT;
	for (int i = 0; i < 100000; i++)
		buf_addch(&b, w->fill);
	for (int i = 0; i < 20; i++) {
		struct err e = ERR_INIT;
		if (buf_write_file(&b, w->path, &e) != 0)
			w->failures++;
	}
	buf_free(&b);
	return NULL;
}

/* Concurrent writers of one file: every reader sees one whole version. */
static void test_concurrent_writers(void **state)
{
	char *path = path_in(*state, "shared");
	struct writer writers[4];
	pthread_t threads[4];
	for (int i = 0; i < 4; i++) {
		writers[i] = (struct writer){ path, (char)('A' + i), 0 };
		assert_int_equal(pthread_create(&threads[i], NULL, write_many_times, &writers[i]),
				 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(threads[i], NULL);
		assert_int_equal(writers[i].failures, 0);
	}
	struct err e = ERR_INIT;
	struct buf in = BUF_INIT;
	assert_int_equal(buf_read_file(&in, path, 0, &e), 0);
	assert_int_equal(in.len, 100000);
	for (size_t i = 1; i < in.len; i++)
		assert_int_equal(in.data[i], in.data[0]);
	buf_free(&in);
	free(path);
}

static void test_xalloc_helpers(void **state)
{
	assert_int_equal(xalloc_grow_capacity(0, 1), 8);
	assert_int_equal(xalloc_grow_capacity(0, 9), 16);
	assert_int_equal(xalloc_grow_capacity(8, 8), 8);
	assert_int_equal(xalloc_grow_capacity(10, 11), 20);
	assert_true(xalloc_grow_capacity(16, 1000) >= 1000);

	char *s = xstrndup("abcdef", 3);
	assert_string_equal(s, "abc");
	free(s);
	s = xstrndup("ab", 10);
	assert_string_equal(s, "ab");
	free(s);
	s = xstrdup("");
	assert_string_equal(s, "");
	free(s);
	unsigned char *z = xcalloc(16, 4);
	for (int i = 0; i < 64; i++)
		assert_int_equal(z[i], 0);
	z = xrealloc(z, 4096);
	z[4095] = 1;
	free(z);
	free(xmalloc(0));
	free(xcalloc(0, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_state_is_usable),
		cmocka_unit_test(test_many_small_appends),
		cmocka_unit_test(test_add_binary_and_strings),
		cmocka_unit_test(test_addf_small_and_big),
		cmocka_unit_test(test_addf_appends_many_times),
		cmocka_unit_test(test_truncate_reset_rtrim),
		cmocka_unit_test(test_detach),
		cmocka_unit_test_setup_teardown(test_write_then_read, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_read_empty_file, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_read_missing_names_path, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_read_directory_fails, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_read_size_cap, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test(test_read_size_cap_without_stat),
		cmocka_unit_test_setup_teardown(test_write_replaces_atomically, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_write_failure_keeps_old_file, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_write_keeps_mode, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_writers, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test(test_xalloc_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
