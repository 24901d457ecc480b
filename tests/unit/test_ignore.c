#include "util/buf.h"
#include "util/err.h"
#include "util/ignore.h"

#include <fcntl.h>
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

/* One frame at the root holding text. */
static struct ignore_stack *stack_with(const char *text)
{
	struct ignore_stack *s = ignore_stack_new(0);
	ignore_stack_push(s, "");
	ignore_stack_add_rules(s, text, strlen(text));
	return s;
}

static void test_basename_patterns_match_at_any_depth(void **state)
{
	(void)state;
	struct ignore_stack *s = stack_with("*.log\nfoo\n");
	assert_true(ignore_check(s, "x.log", false));
	assert_true(ignore_check(s, "a/b/x.log", false));
	assert_false(ignore_check(s, "x.log.txt", false));
	assert_true(ignore_check(s, "foo", false));
	assert_true(ignore_check(s, "foo", true));
	assert_true(ignore_check(s, "a/foo", true));
	assert_false(ignore_check(s, "foobar", false));
	assert_false(ignore_check(s, "a/foo.c", false));
	ignore_stack_free(s);
}

static void test_comments_blank_lines_and_escapes(void **state)
{
	(void)state;
	struct ignore_stack *s =
		stack_with("# comment\n\n   \n\\#hash\n\\!bang\n  # not a comment\n");
	assert_false(ignore_check(s, "# comment", false));
	assert_false(ignore_check(s, "comment", false));
	assert_true(ignore_check(s, "#hash", false));
	assert_true(ignore_check(s, "!bang", false));
	/* leading spaces are part of the pattern */
	assert_true(ignore_check(s, "  # not a comment", false));
	ignore_stack_free(s);
}

static void test_trailing_spaces(void **state)
{
	(void)state;
	struct ignore_stack *s = stack_with("a  \nb\\ \nc\\  \nd\r\n");
	assert_true(ignore_check(s, "a", false));
	assert_false(ignore_check(s, "a  ", false));
	/* an escaped space stays */
	assert_true(ignore_check(s, "b ", false));
	assert_false(ignore_check(s, "b", false));
	assert_true(ignore_check(s, "c ", false));
	/* CRLF line endings */
	assert_true(ignore_check(s, "d", false));
	ignore_stack_free(s);
}

static void test_negation_last_match_wins(void **state)
{
	(void)state;
	struct ignore_stack *s = stack_with("*.log\n!keep.log\n");
	assert_true(ignore_check(s, "x.log", false));
	assert_false(ignore_check(s, "keep.log", false));
	assert_false(ignore_check(s, "sub/keep.log", false));
	ignore_stack_free(s);

	s = stack_with("!keep.log\n*.log\n");
	assert_true(ignore_check(s, "keep.log", false));
	ignore_stack_free(s);
}

static void test_dir_only(void **state)
{
	(void)state;
	struct ignore_stack *s = stack_with("build/\n");
	assert_true(ignore_check(s, "build", true));
	assert_false(ignore_check(s, "build", false));
	assert_true(ignore_check(s, "src/build", true));
	/* ignore_check judges the path alone; ignore_check_path sees the parent */
	assert_false(ignore_check(s, "build/out.o", false));
	assert_true(ignore_check_path(s, "build/out.o", false));
	assert_true(ignore_check_path(s, "a/build/x/out.o", false));
	assert_false(ignore_check_path(s, "a/builds/out.o", false));
	ignore_stack_free(s);
}

static void test_anchoring(void **state)
{
	(void)state;
	struct ignore_stack *s = stack_with("/root.txt\ndoc/frotz\n/tmp/\n");
	assert_true(ignore_check(s, "root.txt", false));
	assert_false(ignore_check(s, "a/root.txt", false));
	/* a middle slash anchors too */
	assert_true(ignore_check(s, "doc/frotz", false));
	assert_false(ignore_check(s, "a/doc/frotz", false));
	assert_true(ignore_check(s, "tmp", true));
	assert_false(ignore_check(s, "tmp", false));
	assert_false(ignore_check(s, "src/tmp", true));
	ignore_stack_free(s);
}

static void test_double_star_rules(void **state)
{
	(void)state;
	struct ignore_stack *s = stack_with("**/logs\nabc/**\na/**/b\n");
	assert_true(ignore_check(s, "logs", true));
	assert_true(ignore_check(s, "x/y/logs", false));
	assert_true(ignore_check(s, "abc/x", false));
	assert_true(ignore_check(s, "abc/x/y", false));
	assert_false(ignore_check(s, "abc", true));
	assert_true(ignore_check(s, "a/b", false));
	assert_true(ignore_check(s, "a/x/y/b", false));
	assert_false(ignore_check(s, "x/a/b", false));
	ignore_stack_free(s);
}

static void test_cannot_reinclude_below_excluded_dir(void **state)
{
	(void)state;
	struct ignore_stack *s = stack_with("logs/\n!logs/important.log\n");
	/* the negation matches the file itself... */
	assert_false(ignore_check(s, "logs/important.log", false));
	/* ...but git never looks inside the excluded directory */
	assert_true(ignore_check_path(s, "logs/important.log", false));
	ignore_stack_free(s);

	/* the documented way: exclude the contents, not the directory */
	s = stack_with("/logs/*\n!/logs/important.log\n");
	assert_false(ignore_check_path(s, "logs/important.log", false));
	assert_true(ignore_check_path(s, "logs/other.log", false));
	assert_false(ignore_check_path(s, "logs", true));
	ignore_stack_free(s);
}

static void test_nested_frames(void **state)
{
	(void)state;
	struct ignore_stack *s = stack_with("*.tmp\n/top-only\nsecret\n");
	const char *sub = "!keep.tmp\n/local\n*.gen\n";
	ignore_stack_push(s, "pkg/sub");
	ignore_stack_add_rules(s, sub, strlen(sub));
	assert_int_equal(ignore_stack_depth(s), 2);

	assert_true(ignore_check(s, "pkg/sub/x.tmp", false));
	/* the deeper file wins */
	assert_false(ignore_check(s, "pkg/sub/keep.tmp", false));
	assert_true(ignore_check(s, "keep.tmp", false));
	/* anchored to the nested file's directory */
	assert_true(ignore_check(s, "pkg/sub/local", false));
	assert_false(ignore_check(s, "local", false));
	assert_false(ignore_check(s, "pkg/sub/deeper/local", false));
	/* nested rules do not apply outside their directory */
	assert_false(ignore_check(s, "pkg/x.gen", false));
	assert_false(ignore_check(s, "pkg/subx/x.gen", false));
	assert_true(ignore_check(s, "pkg/sub/a/x.gen", false));
	/* root anchored rule is relative to the root */
	assert_true(ignore_check(s, "top-only", false));
	assert_false(ignore_check(s, "pkg/sub/top-only", false));
	assert_true(ignore_check(s, "pkg/sub/secret", false));

	ignore_stack_pop(s);
	assert_true(ignore_check(s, "pkg/sub/keep.tmp", false));
	assert_false(ignore_check(s, "pkg/sub/local", false));
	ignore_stack_free(s);
}

static void test_odd_lines_do_not_crash(void **state)
{
	(void)state;
	const char text[] = "!\n/\n!/\n\\\n[\n**\n!**\n***/\n\xef\xbb\xbf\n\\ \n\0x\n";
	struct ignore_stack *s = ignore_stack_new(0);
	/* rules before any push land in an implicit root frame */
	ignore_stack_add_rules(s, text, sizeof(text) - 1);
	assert_false(ignore_check(s, "anything", false));
	assert_true(ignore_check(s, " ", false));
	ignore_stack_free(s);
}

static void test_byte_order_mark(void **state)
{
	(void)state;
	struct ignore_stack *s = stack_with("\xef\xbb\xbf"
					    "first\n");
	assert_true(ignore_check(s, "first", false));
	ignore_stack_free(s);
}

static void test_casefold(void **state)
{
	(void)state;
	struct ignore_stack *s = ignore_stack_new(IGNORE_CASEFOLD);
	ignore_stack_push(s, "");
	ignore_stack_add_rules(s, "*.LOG\n", 6);
	assert_true(ignore_check(s, "a/x.log", false));
	ignore_stack_free(s);
}

static void test_add_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/ampel-test-ignore-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct buf path = BUF_INIT, content = BUF_INIT;
	struct err e = ERR_INIT;
	struct ignore_stack *s = ignore_stack_new(0);
	ignore_stack_push(s, "");

	/* missing is fine */
	buf_addf(&path, "%s/missing", dir);
	assert_int_equal(ignore_stack_add_file_at(s, AT_FDCWD, path.data, false, &e), 0);

	buf_reset(&path);
	buf_addf(&path, "%s/.gitignore", dir);
	buf_adds(&content, "*.o\n");
	assert_int_equal(buf_write_file(&content, path.data, &e), 0);
	assert_int_equal(ignore_stack_add_file_at(s, AT_FDCWD, path.data, false, &e), 0);
	assert_true(ignore_check(s, "main.o", false));

	/* a symlinked ignore file is not followed unless asked */
	struct buf link = BUF_INIT;
	buf_addf(&link, "%s/link", dir);
	assert_int_equal(symlink(path.data, link.data), 0);
	ignore_stack_pop(s);
	ignore_stack_push(s, "");
	assert_int_equal(ignore_stack_add_file_at(s, AT_FDCWD, link.data, false, &e), 0);
	assert_false(ignore_check(s, "main.o", false));
	assert_int_equal(ignore_stack_add_file_at(s, AT_FDCWD, link.data, true, &e), 0);
	assert_true(ignore_check(s, "main.o", false));

	/* a directory is not a rules file and adds nothing */
	assert_int_equal(ignore_stack_add_file_at(s, AT_FDCWD, dir, true, &e), 0);

	unlink(link.data);
	unlink(path.data);
	rmdir(dir);
	buf_free(&link);
	buf_free(&path);
	buf_free(&content);
	ignore_stack_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basename_patterns_match_at_any_depth),
		cmocka_unit_test(test_comments_blank_lines_and_escapes),
		cmocka_unit_test(test_trailing_spaces),
		cmocka_unit_test(test_negation_last_match_wins),
		cmocka_unit_test(test_dir_only),
		cmocka_unit_test(test_anchoring),
		cmocka_unit_test(test_double_star_rules),
		cmocka_unit_test(test_cannot_reinclude_below_excluded_dir),
		cmocka_unit_test(test_nested_frames),
		cmocka_unit_test(test_odd_lines_do_not_crash),
		cmocka_unit_test(test_byte_order_mark),
		cmocka_unit_test(test_casefold),
		cmocka_unit_test(test_add_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
