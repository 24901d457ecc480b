/* util/fs: directories made with their parents, trees removed whole. */
#include "util/buf.h"
#include "util/err.h"
#include "util/fs.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static char *temp_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/ampel-fs-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(path.data));
	return buf_detach(&path);
}

static char *join(const char *dir, const char *rel)
{
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/%s", dir, rel);
	return buf_detach(&path);
}

static bool is_dir(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void test_make_dirs_and_parents(void **state)
{
	(void)state;
	char *root = temp_dir();
	char *deep = join(root, "a/b/c");
	struct err e = ERR_INIT;
	assert_int_equal(fs_make_dirs(deep, 0700, &e), 0);
	assert_true(is_dir(deep));
	assert_int_equal(fs_make_dirs(deep, 0700, &e), 0); /* existing: kept */

	char *file = join(root, "x/y/file.txt");
	assert_int_equal(fs_make_parents(file, 0755, &e), 0);
	char *parent = join(root, "x/y");
	assert_true(is_dir(parent));
	assert_int_equal(access(file, F_OK), -1); /* the file itself is not made */

	/* A file in the way is an error that names the path. */
	char *blocker = join(root, "blocker");
	FILE *f = fopen(blocker, "w");
	assert_non_null(f);
	fclose(f);
	char *under = join(root, "blocker/inside");
	assert_int_equal(fs_make_dirs(under, 0755, &e), -1);
	assert_non_null(strstr(e.msg, "blocker"));

	assert_int_equal(fs_remove_tree(root, &e), 0);
	free(under);
	free(blocker);
	free(parent);
	free(file);
	free(deep);
	free(root);
}

static void test_remove_tree(void **state)
{
	(void)state;
	char *root = temp_dir();
	char *outside = temp_dir();
	char *kept = join(outside, "kept.txt");
	FILE *f = fopen(kept, "w");
	assert_non_null(f);
	fclose(f);

	char *locked = join(root, "cache/mod");
	struct err e = ERR_INIT;
	assert_int_equal(fs_make_dirs(locked, 0755, &e), 0);
	char *inner = join(locked, "file.go");
	f = fopen(inner, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(chmod(locked, 0555), 0); /* as Go's module cache leaves it */
	char *link = join(root, "link");
	assert_int_equal(symlink(outside, link), 0);

	assert_int_equal(fs_remove_tree(root, &e), 0);
	assert_int_equal(access(root, F_OK), -1);
	assert_int_equal(access(kept, F_OK), 0);       /* the link was removed, not followed */
	assert_int_equal(fs_remove_tree(root, &e), 0); /* gone already */

	assert_int_equal(fs_remove_tree(outside, &e), 0);
	free(link);
	free(inner);
	free(locked);
	free(kept);
	free(outside);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_make_dirs_and_parents),
		cmocka_unit_test(test_remove_tree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
