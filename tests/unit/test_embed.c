#include "util/embed.h"
#include "util/buf.h"
#include "util/err.h"

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

struct fixture {
	char *dir; /* a fresh override directory */
};

static void write_file(const char *dir, const char *name, const char *text)
{
	struct buf path = BUF_INIT;
	struct buf data = BUF_INIT;
	struct err e = ERR_INIT;
	buf_addf(&path, "%s/%s", dir, name);
	buf_adds(&data, text);
	assert_int_equal(buf_write_file(&data, buf_cstr(&path), &e), 0);
	buf_free(&path);
	buf_free(&data);
}

static void remove_entry(const char *dir, const char *name)
{
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/%s", dir, name);
	if (unlink(buf_cstr(&path)) < 0)
		rmdir(buf_cstr(&path));
	buf_free(&path);
}

static int dir_setup(void **state)
{
	const char *base = getenv("TMPDIR");
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/ampel-test-embed-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(path.data)) {
		buf_free(&path);
		return -1;
	}
	struct fixture *f = calloc(1, sizeof(*f));
	f->dir = buf_detach(&path);
	*state = f;
	return 0;
}

static int dir_teardown(void **state)
{
	struct fixture *f = *state;
	static const char *const names[] = { "languages.yaml", "extra.yaml", "sub" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		remove_entry(f->dir, names[i]);
	rmdir(f->dir);
	free(f->dir);
	free(f);
	embed_set_override_dir(NULL);
	return 0;
}

static void test_find_languages(void **state)
{
	const struct embed_file *f = embed_find("languages.yaml");
	assert_non_null(f);
	assert_string_equal(f->name, "languages.yaml");
	assert_true(f->size > 0);
	assert_int_equal(f->data[f->size], '\0');
	assert_int_equal(strlen((const char *)f->data), f->size);
	assert_non_null(strstr((const char *)f->data, "languages:"));
	assert_null(embed_find("no-such-file.yaml"));
	assert_null(embed_find(""));
	assert_null(embed_find(NULL));
}

static void test_table_is_terminated_and_counted(void **state)
{
	size_t n = 0;
	while (embed_files[n].name)
		n++;
	assert_int_equal(n, embed_files_count);
	assert_true(n >= 1);
}

/* The embedded copy must be byte for byte the file in the source tree. */
static void test_embedded_matches_source(void **state)
{
	struct buf source = BUF_INIT;
	struct err e = ERR_INIT;
	assert_int_equal(buf_read_file(&source, AMPEL_SOURCE_ROOT "/config/languages.yaml", 0, &e),
			 0);
	const struct embed_file *f = embed_find("languages.yaml");
	assert_non_null(f);
	assert_int_equal(f->size, source.len);
	assert_memory_equal(f->data, source.data, source.len);
	buf_free(&source);
}

static void test_read_embedded(void **state)
{
	struct buf out = BUF_INIT;
	struct err e = ERR_INIT;
	char *origin = NULL;
	embed_set_override_dir(NULL);
	assert_null(embed_override_dir());
	assert_int_equal(embed_read_config("languages.yaml", &out, &origin, &e), 0);
	assert_string_equal(origin, "config/languages.yaml");
	assert_int_equal(out.len, embed_find("languages.yaml")->size);
	free(origin);
	buf_free(&out);
}

static void test_origin_is_optional(void **state)
{
	struct buf out = BUF_INIT;
	struct err e = ERR_INIT;
	assert_int_equal(embed_read_config("languages.yaml", &out, NULL, &e), 0);
	assert_true(out.len > 0);
	buf_free(&out);
}

static void test_override_dir_wins(void **state)
{
	struct fixture *f = *state;
	write_file(f->dir, "languages.yaml", "languages: []\n");
	embed_set_override_dir(f->dir);
	assert_string_equal(embed_override_dir(), f->dir);

	struct buf out = BUF_INIT;
	struct err e = ERR_INIT;
	char *origin = NULL;
	assert_int_equal(embed_read_config("languages.yaml", &out, &origin, &e), 0);
	assert_string_equal(buf_cstr(&out), "languages: []\n");
	struct buf expected = BUF_INIT;
	buf_addf(&expected, "%s/languages.yaml", f->dir);
	assert_string_equal(origin, buf_cstr(&expected));
	free(origin);
	buf_free(&expected);
	buf_free(&out);
}

/* A trailing slash on --config-dir must not produce "dir//name". */
static void test_override_dir_trailing_slash(void **state)
{
	struct fixture *f = *state;
	write_file(f->dir, "languages.yaml", "x: 1\n");
	struct buf dir = BUF_INIT;
	buf_addf(&dir, "%s/", f->dir);
	embed_set_override_dir(buf_cstr(&dir));
	buf_free(&dir);

	struct buf out = BUF_INIT;
	struct err e = ERR_INIT;
	char *origin = NULL;
	assert_int_equal(embed_read_config("languages.yaml", &out, &origin, &e), 0);
	assert_null(strstr(origin, "//"));
	free(origin);
	buf_free(&out);
}

/* Overriding one file leaves the others built in. */
static void test_override_falls_back_per_file(void **state)
{
	struct fixture *f = *state;
	embed_set_override_dir(f->dir);
	struct buf out = BUF_INIT;
	struct err e = ERR_INIT;
	char *origin = NULL;
	assert_int_equal(embed_read_config("languages.yaml", &out, &origin, &e), 0);
	assert_string_equal(origin, "config/languages.yaml");
	assert_int_equal(out.len, embed_find("languages.yaml")->size);
	free(origin);
	buf_free(&out);
}

/* A file that is only in the override directory can be read too. */
static void test_override_adds_file(void **state)
{
	struct fixture *f = *state;
	write_file(f->dir, "extra.yaml", "a: b\n");
	embed_set_override_dir(f->dir);
	struct buf out = BUF_INIT;
	struct err e = ERR_INIT;
	assert_int_equal(embed_read_config("extra.yaml", &out, NULL, &e), 0);
	assert_string_equal(buf_cstr(&out), "a: b\n");
	buf_free(&out);
}

static void test_missing_file_is_error(void **state)
{
	struct fixture *f = *state;
	struct buf out = BUF_INIT;
	struct err e = ERR_INIT;
	char *origin = (char *)"untouched";
	embed_set_override_dir(NULL);
	assert_int_equal(embed_read_config("nope.yaml", &out, &origin, &e), -1);
	assert_string_equal(e.msg, "config file 'nope.yaml' is not built in");
	assert_null(origin);

	embed_set_override_dir(f->dir);
	assert_int_equal(embed_read_config("nope.yaml", &out, NULL, &e), -1);
	assert_non_null(strstr(e.msg, "'nope.yaml' is neither in "));
	assert_non_null(strstr(e.msg, f->dir));
	assert_int_equal(out.len, 0);
	buf_free(&out);
}

static void test_bad_names_rejected(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"../etc/passwd", "a/b.yaml", "/etc/passwd", "..", "x..yaml", ".", ""
	};
	embed_set_override_dir(f->dir);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct buf out = BUF_INIT;
		struct err e = ERR_INIT;
		char *origin = NULL;
		assert_int_equal(embed_read_config(bad[i], &out, &origin, &e), -1);
		assert_true(err_is_set(&e));
		assert_null(origin);
		assert_int_equal(out.len, 0);
		buf_free(&out);
	}
	struct err e = ERR_INIT;
	struct buf out = BUF_INIT;
	assert_int_equal(embed_read_config("../languages.yaml", &out, NULL, &e), -1);
	assert_string_equal(e.msg, "config file name '../languages.yaml' must be a plain file "
				   "name (no '/' or '..')");
	assert_int_equal(embed_read_config(NULL, &out, NULL, &e), -1);
	buf_free(&out);
}

/* A mistyped --config-dir must not be ignored in silence. */
static void test_missing_override_dir_is_error(void **state)
{
	struct fixture *f = *state;
	struct buf dir = BUF_INIT;
	buf_addf(&dir, "%s/does-not-exist", f->dir);
	embed_set_override_dir(buf_cstr(&dir));
	struct buf out = BUF_INIT;
	struct err e = ERR_INIT;
	assert_int_equal(embed_read_config("languages.yaml", &out, NULL, &e), -1);
	assert_non_null(strstr(e.msg, buf_cstr(&dir)));
	assert_non_null(strstr(e.msg, "No such file or directory"));
	buf_free(&dir);
	buf_free(&out);
}

/* A directory where the file should be is reported with its path. */
static void test_override_not_regular_file(void **state)
{
	struct fixture *f = *state;
	struct buf sub = BUF_INIT;
	buf_addf(&sub, "%s/sub", f->dir);
	assert_int_equal(mkdir(buf_cstr(&sub), 0700), 0);
	embed_set_override_dir(f->dir);
	struct buf out = BUF_INIT;
	struct err e = ERR_INIT;
	assert_int_equal(embed_read_config("sub", &out, NULL, &e), -1);
	struct buf expected = BUF_INIT;
	buf_addf(&expected, "%s: not a regular file", buf_cstr(&sub));
	assert_string_equal(e.msg, buf_cstr(&expected));
	buf_free(&expected);
	buf_free(&sub);
	buf_free(&out);
}

static void test_set_override_copies_and_clears(void **state)
{
	char dir[] = "/some/where";
	embed_set_override_dir(dir);
	dir[1] = 'X';
	assert_string_equal(embed_override_dir(), "/some/where");
	embed_set_override_dir(NULL);
	assert_null(embed_override_dir());
}

/* Reading appends, like buf_read_file, so callers can concatenate. */
static void test_read_appends(void **state)
{
	struct buf out = BUF_INIT;
	struct err e = ERR_INIT;
	buf_adds(&out, "prefix\n");
	assert_int_equal(embed_read_config("languages.yaml", &out, NULL, &e), 0);
	assert_true(strncmp(buf_cstr(&out), "prefix\n", 7) == 0);
	assert_int_equal(out.len, 7 + embed_find("languages.yaml")->size);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_languages),
		cmocka_unit_test(test_table_is_terminated_and_counted),
		cmocka_unit_test(test_embedded_matches_source),
		cmocka_unit_test(test_read_embedded),
		cmocka_unit_test(test_origin_is_optional),
		cmocka_unit_test_setup_teardown(test_override_dir_wins, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_override_dir_trailing_slash, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_override_falls_back_per_file, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_override_adds_file, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_missing_file_is_error, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_bad_names_rejected, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_missing_override_dir_is_error, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_override_not_regular_file, dir_setup,
						dir_teardown),
		cmocka_unit_test(test_set_override_copies_and_clears),
		cmocka_unit_test(test_read_appends),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
