#include "util/glob.h"
#include "util/xalloc.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct wildmatch_case {
	const char *pattern;
	const char *text;
	int match;	    /* git's `wildmatch` column */
	int match_casefold; /* git's `iwildmatch` column */
};

/* git's t/t3070-wildmatch.sh, the wildmatch and iwildmatch columns. */
static const struct wildmatch_case wildmatch_cases[] = {
	{ "foo", "foo", 1, 1 },
	{ "bar", "foo", 0, 0 },
	{ "", "", 1, 1 },
	{ "???", "foo", 1, 1 },
	{ "??", "foo", 0, 0 },
	{ "*", "foo", 1, 1 },
	{ "f*", "foo", 1, 1 },
	{ "*f", "foo", 0, 0 },
	{ "*foo*", "foo", 1, 1 },
	{ "*ob*a*r*", "foobar", 1, 1 },
	{ "*ab", "aaaaaaabababab", 1, 1 },
	{ "foo\\*", "foo*", 1, 1 },
	{ "foo\\*bar", "foobar", 0, 0 },
	{ "f\\\\oo", "f\\oo", 1, 1 },
	{ "*[al]?", "ball", 1, 1 },
	{ "[ten]", "ten", 0, 0 },
	{ "**[!te]", "ten", 1, 1 },
	{ "**[!ten]", "ten", 0, 0 },
	{ "t[a-g]n", "ten", 1, 1 },
	{ "t[!a-g]n", "ten", 0, 0 },
	{ "t[!a-g]n", "ton", 1, 1 },
	{ "t[^a-g]n", "ton", 1, 1 },
	{ "a[]]b", "a]b", 1, 1 },
	{ "a[]-]b", "a-b", 1, 1 },
	{ "a[]-]b", "a]b", 1, 1 },
	{ "a[]-]b", "aab", 0, 0 },
	{ "a[]a-]b", "aab", 1, 1 },
	{ "]", "]", 1, 1 },
	{ "foo*bar", "foo/baz/bar", 0, 0 },
	{ "foo**bar", "foo/baz/bar", 0, 0 },
	{ "foo**bar", "foobazbar", 1, 1 },
	{ "foo/**/bar", "foo/baz/bar", 1, 1 },
	{ "foo/**/**/bar", "foo/baz/bar", 1, 1 },
	{ "foo/**/bar", "foo/b/a/z/bar", 1, 1 },
	{ "foo/**/**/bar", "foo/b/a/z/bar", 1, 1 },
	{ "foo/**/bar", "foo/bar", 1, 1 },
	{ "foo/**/**/bar", "foo/bar", 1, 1 },
	{ "foo?bar", "foo/bar", 0, 0 },
	{ "foo[/]bar", "foo/bar", 0, 0 },
	{ "foo[^a-z]bar", "foo/bar", 0, 0 },
	{ "f[^eiu][^eiu][^eiu][^eiu][^eiu]r", "foo/bar", 0, 0 },
	{ "f[^eiu][^eiu][^eiu][^eiu][^eiu]r", "foo-bar", 1, 1 },
	{ "**/foo", "foo", 1, 1 },
	{ "**/foo", "XXX/foo", 1, 1 },
	{ "**/foo", "bar/baz/foo", 1, 1 },
	{ "*/foo", "bar/baz/foo", 0, 0 },
	{ "**/bar*", "foo/bar/baz", 0, 0 },
	{ "**/bar/*", "deep/foo/bar/baz", 1, 1 },
	{ "**/bar/*", "deep/foo/bar/baz/", 0, 0 },
	{ "**/bar/**", "deep/foo/bar/baz/", 1, 1 },
	{ "**/bar/*", "deep/foo/bar", 0, 0 },
	{ "**/bar/**", "deep/foo/bar/", 1, 1 },
	{ "**/bar**", "foo/bar/baz", 0, 0 },
	{ "*/bar/**", "foo/bar/baz/x", 1, 1 },
	{ "*/bar/**", "deep/foo/bar/baz/x", 0, 0 },
	{ "**/bar/*/*", "deep/foo/bar/baz/x", 1, 1 },
	{ "a[c-c]st", "acrt", 0, 0 },
	{ "a[c-c]rt", "acrt", 1, 1 },
	{ "[!]-]", "]", 0, 0 },
	{ "[!]-]", "a", 1, 1 },
	{ "\\", "", 0, 0 },
	{ "\\", "\\", 0, 0 },
	{ "*/\\", "XXX/\\", 0, 0 },
	{ "*/\\\\", "XXX/\\", 1, 1 },
	{ "foo", "foo", 1, 1 },
	{ "@foo", "@foo", 1, 1 },
	{ "@foo", "foo", 0, 0 },
	{ "\\[ab]", "[ab]", 1, 1 },
	{ "[[]ab]", "[ab]", 1, 1 },
	{ "[[:]ab]", "[ab]", 1, 1 },
	{ "[[::]ab]", "[ab]", 0, 0 },
	{ "[[:digit]ab]", "[ab]", 1, 1 },
	{ "[\\[:]ab]", "[ab]", 1, 1 },
	{ "\\??\\?b", "?a?b", 1, 1 },
	{ "\\a\\b\\c", "abc", 1, 1 },
	{ "", "foo", 0, 0 },
	{ "**/t[o]", "foo/bar/baz/to", 1, 1 },
	{ "[[:alpha:]][[:digit:]][[:upper:]]", "a1B", 1, 1 },
	{ "[[:digit:][:upper:][:space:]]", "a", 0, 1 },
	{ "[[:digit:][:upper:][:space:]]", "A", 1, 1 },
	{ "[[:digit:][:upper:][:space:]]", "1", 1, 1 },
	{ "[[:digit:][:upper:][:spaci:]]", "1", 0, 0 },
	{ "[[:digit:][:upper:][:space:]]", " ", 1, 1 },
	{ "[[:digit:][:upper:][:space:]]", ".", 0, 0 },
	{ "[[:digit:][:punct:][:space:]]", ".", 1, 1 },
	{ "[[:xdigit:]]", "5", 1, 1 },
	{ "[[:xdigit:]]", "f", 1, 1 },
	{ "[[:xdigit:]]", "D", 1, 1 },
	{ "[[:alnum:][:alpha:][:blank:][:cntrl:][:digit:][:graph:][:lower:][:print:][:punct:][:"
	  "space:][:upper:][:xdigit:]]",
	  "_", 1, 1 },
	{ "[^[:alnum:][:alpha:][:blank:][:cntrl:][:digit:][:lower:][:space:][:upper:][:xdigit:]]",
	  ".", 1, 1 },
	{ "[a-c[:digit:]x-z]", "5", 1, 1 },
	{ "[a-c[:digit:]x-z]", "b", 1, 1 },
	{ "[a-c[:digit:]x-z]", "y", 1, 1 },
	{ "[a-c[:digit:]x-z]", "q", 0, 0 },
	{ "[\\\\-^]", "]", 1, 1 },
	{ "[\\\\-^]", "[", 0, 0 },
	{ "[\\-_]", "-", 1, 1 },
	{ "[\\]]", "]", 1, 1 },
	{ "[\\]]", "\\]", 0, 0 },
	{ "[\\]]", "\\", 0, 0 },
	{ "a[]b", "ab", 0, 0 },
	{ "a[]b", "a[]b", 0, 0 },
	{ "ab[", "ab[", 0, 0 },
	{ "[!", "ab", 0, 0 },
	{ "[-", "ab", 0, 0 },
	{ "[-]", "-", 1, 1 },
	{ "[a-", "-", 0, 0 },
	{ "[!a-", "-", 0, 0 },
	{ "[--A]", "-", 1, 1 },
	{ "[--A]", "5", 1, 1 },
	{ "[ --]", " ", 1, 1 },
	{ "[ --]", "$", 1, 1 },
	{ "[ --]", "-", 1, 1 },
	{ "[ --]", "0", 0, 0 },
	{ "[---]", "-", 1, 1 },
	{ "[------]", "-", 1, 1 },
	{ "[a-e-n]", "j", 0, 0 },
	{ "[a-e-n]", "-", 1, 1 },
	{ "[!------]", "a", 1, 1 },
	{ "[]-a]", "[", 0, 0 },
	{ "[]-a]", "^", 1, 1 },
	{ "[!]-a]", "^", 0, 0 },
	{ "[!]-a]", "[", 1, 1 },
	{ "[a^bc]", "^", 1, 1 },
	{ "[a-]b]", "-b]", 1, 1 },
	{ "[\\]", "\\", 0, 0 },
	{ "[\\\\]", "\\", 1, 1 },
	{ "[!\\\\]", "\\", 0, 0 },
	{ "[A-\\\\]", "G", 1, 1 },
	{ "b*a", "aaabbb", 0, 0 },
	{ "*ba*", "aabcaa", 0, 0 },
	{ "[,]", ",", 1, 1 },
	{ "[\\\\,]", ",", 1, 1 },
	{ "[\\\\,]", "\\", 1, 1 },
	{ "[,-.]", "-", 1, 1 },
	{ "[,-.]", "+", 0, 0 },
	{ "[,-.]", "-.]", 0, 0 },
	{ "[\\1-\\3]", "2", 1, 1 },
	{ "[\\1-\\3]", "3", 1, 1 },
	{ "[\\1-\\3]", "4", 0, 0 },
	{ "[[-\\]]", "\\", 1, 1 },
	{ "[[-\\]]", "[", 1, 1 },
	{ "[[-\\]]", "]", 1, 1 },
	{ "[[-\\]]", "-", 0, 0 },
	{ "-*-*-*-*-*-*-12-*-*-*-m-*-*-*",
	  "-adobe-courier-bold-o-normal--12-120-75-75-m-70-iso8859-1", 1, 1 },
	{ "-*-*-*-*-*-*-12-*-*-*-m-*-*-*",
	  "-adobe-courier-bold-o-normal--12-120-75-75-X-70-iso8859-1", 0, 0 },
	{ "-*-*-*-*-*-*-12-*-*-*-m-*-*-*",
	  "-adobe-courier-bold-o-normal--12-120-75-75-/-70-iso8859-1", 0, 0 },
	{ "XXX/*/*/*/*/*/*/12/*/*/*/m/*/*/*",
	  "XXX/adobe/courier/bold/o/normal//12/120/75/75/m/70/iso8859/1", 1, 1 },
	{ "XXX/*/*/*/*/*/*/12/*/*/*/m/*/*/*",
	  "XXX/adobe/courier/bold/o/normal//12/120/75/75/X/70/iso8859/1", 0, 0 },
	{ "**/*a*b*g*n*t", "abcd/abcdefg/abcdefghijk/abcdefghijklmnop.txt", 1, 1 },
	{ "**/*a*b*g*n*t", "abcd/abcdefg/abcdefghijk/abcdefghijklmnop.txtz", 0, 0 },
	{ "*/*/*", "foo", 0, 0 },
	{ "*/*/*", "foo/bar", 0, 0 },
	{ "*/*/*", "foo/bba/arr", 1, 1 },
	{ "*/*/*", "foo/bb/aa/rr", 0, 0 },
	{ "**/**/**", "foo/bb/aa/rr", 1, 1 },
	{ "*X*i", "abcXdefXghi", 1, 1 },
	{ "*X*i", "ab/cXd/efXg/hi", 0, 0 },
	{ "*/*X*/*/*i", "ab/cXd/efXg/hi", 1, 1 },
	{ "**/*X*/**/*i", "ab/cXd/efXg/hi", 1, 1 },
	{ "fo", "foo", 0, 0 },
	{ "foo/bar", "foo/bar", 1, 1 },
	{ "foo/*", "foo/bar", 1, 1 },
	{ "foo/*", "foo/bba/arr", 0, 0 },
	{ "foo/**", "foo/bba/arr", 1, 1 },
	{ "foo*", "foo/bba/arr", 0, 0 },
	{ "foo**", "foo/bba/arr", 0, 0 },
	{ "foo/*arr", "foo/bba/arr", 0, 0 },
	{ "foo/**arr", "foo/bba/arr", 0, 0 },
	{ "foo/*z", "foo/bba/arr", 0, 0 },
	{ "foo/**z", "foo/bba/arr", 0, 0 },
	{ "foo?bar", "foo/bar", 0, 0 },
	{ "foo[/]bar", "foo/bar", 0, 0 },
	{ "foo[^a-z]bar", "foo/bar", 0, 0 },
	{ "*Xg*i", "ab/cXd/efXg/hi", 0, 0 },
	{ "[A-Z]", "a", 0, 1 },
	{ "[A-Z]", "A", 1, 1 },
	{ "[a-z]", "A", 0, 1 },
	{ "[a-z]", "a", 1, 1 },
	{ "[[:upper:]]", "a", 0, 1 },
	{ "[[:upper:]]", "A", 1, 1 },
	{ "[[:lower:]]", "A", 0, 1 },
	{ "[[:lower:]]", "a", 1, 1 },
	{ "[B-Za]", "A", 0, 1 },
	{ "[B-Za]", "a", 1, 1 },
	{ "[B-a]", "A", 0, 1 },
	{ "[B-a]", "a", 1, 1 },
	{ "[Z-y]", "z", 0, 1 },
	{ "[Z-y]", "Z", 1, 1 },
};

static void test_wildmatch_suite(void **state)
{
	(void)state;
	int failures = 0;
	for (size_t i = 0; i < sizeof(wildmatch_cases) / sizeof(wildmatch_cases[0]); i++) {
		const struct wildmatch_case *c = &wildmatch_cases[i];
		bool got = glob_match(c->pattern, c->text);
		bool got_icase = glob_match_flags(c->pattern, c->text, GLOB_CASEFOLD);
		if (got != (c->match == 1)) {
			print_error("pattern '%s' text '%s': expected %d got %d\n", c->pattern,
				    c->text, c->match, got);
			failures++;
		}
		if (got_icase != (c->match_casefold == 1)) {
			print_error("casefold pattern '%s' text '%s': expected %d got %d\n",
				    c->pattern, c->text, c->match_casefold, got_icase);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

static void test_star_does_not_cross_slash(void **state)
{
	(void)state;
	assert_true(glob_match("*.c", "main.c"));
	assert_false(glob_match("*.c", "src/main.c"));
	assert_true(glob_match("src/*.c", "src/main.c"));
	assert_false(glob_match("src/*.c", "src/util/main.c"));
	assert_true(glob_match("*/*.c", "src/main.c"));
	assert_true(glob_match("*", ""));
	assert_false(glob_match("*", "a/b"));
	assert_false(glob_match("?", "/"));
}

static void test_double_star_forms(void **state)
{
	(void)state;
	/* leading */
	assert_true(glob_match("**/x", "x"));
	assert_true(glob_match("**/x", "a/b/x"));
	assert_false(glob_match("**/x", "a/bx"));
	/* inner: zero or more directories */
	assert_true(glob_match("a/**/b", "a/b"));
	assert_true(glob_match("a/**/b", "a/x/b"));
	assert_true(glob_match("a/**/b", "a/x/y/z/b"));
	assert_false(glob_match("a/**/b", "ab"));
	assert_false(glob_match("a/**/b", "a/xb"));
	/* trailing: everything inside, not the directory itself */
	assert_true(glob_match("a/**", "a/b"));
	assert_true(glob_match("a/**", "a/b/c/d"));
	assert_false(glob_match("a/**", "a"));
	assert_false(glob_match("a/**", "ab/c"));
	/* alone */
	assert_true(glob_match("**", ""));
	assert_true(glob_match("**", "a/b/c"));
	/* not a whole component: behaves like * */
	assert_true(glob_match("a**", "abc"));
	assert_false(glob_match("a**", "a/c"));
	assert_false(glob_match("**a", "x/a"));
	/* several in a row */
	assert_true(glob_match("**/**/x", "x"));
	assert_true(glob_match("a/**/**/b", "a/b"));
	assert_true(glob_match("***/x", "q/x"));
	/* escaped slash after ** still counts as a component boundary */
	assert_true(glob_match("**\\/x", "a/b/x"));
}

static void test_classes_and_escapes(void **state)
{
	(void)state;
	assert_true(glob_match("[abc].txt", "b.txt"));
	assert_false(glob_match("[abc].txt", "d.txt"));
	assert_true(glob_match("[!abc].txt", "d.txt"));
	assert_true(glob_match("[^abc].txt", "d.txt"));
	assert_true(glob_match("file[0-9][0-9]", "file42"));
	assert_false(glob_match("file[0-9]", "filex"));
	assert_true(glob_match("[[:alpha:]]*", "readme"));
	assert_false(glob_match("[[:alpha:]]*", "1readme"));
	assert_true(glob_match("[[:space:]]", "\t"));
	assert_false(glob_match("[!a]", "/"));
	assert_true(glob_match("\\*", "*"));
	assert_false(glob_match("\\*", "x"));
	assert_true(glob_match("a\\?", "a?"));
	assert_false(glob_match("a\\?", "ab"));
	assert_true(glob_match("\\#*", "#notes"));
	/* bytes above 127 are plain bytes and never letters */
	assert_true(glob_match("caf?", "caf\xc3"));
	assert_false(glob_match("[[:alpha:]]", "\xc3"));
}

static void test_invalid_patterns_match_nothing(void **state)
{
	(void)state;
	const char *invalid[] = { "[", "[abc", "a\\", "[[:nope:]]", "*[", "[!", "x/**/[" };
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		struct glob *g = glob_compile(invalid[i], 0);
		assert_false(glob_is_valid(g));
		assert_false(glob_matches(g, invalid[i]));
		assert_false(glob_matches(g, ""));
		assert_false(glob_matches(g, "abc"));
		glob_free(g);
	}
	struct glob *g = glob_compile("[a]", 0);
	assert_true(glob_is_valid(g));
	glob_free(g);
}

static void test_leading_dots_and_empty(void **state)
{
	(void)state;
	/* git's wildmatch gives dot files no special treatment */
	assert_true(glob_match("*", ".hidden"));
	assert_true(glob_match("*.yml", ".travis.yml"));
	assert_true(glob_match("**/*.yml", ".github/workflows/ci.yml"));
	assert_true(glob_match("?git", ".git"));
	assert_true(glob_match("", ""));
	assert_false(glob_match("", "a"));
	assert_false(glob_match("a", ""));
}

static void test_casefold(void **state)
{
	(void)state;
	assert_false(glob_match("README.md", "readme.MD"));
	assert_true(glob_match_flags("README.md", "readme.MD", GLOB_CASEFOLD));
	assert_true(glob_match_flags("*.JPG", "photo.jpg", GLOB_CASEFOLD));
	assert_true(glob_match_flags("Docs/**", "docs/a/b", GLOB_CASEFOLD));
}

static void test_compiled_reuse_and_length(void **state)
{
	(void)state;
	struct glob *g = glob_compile("src/**/*.c", 0);
	assert_true(glob_matches(g, "src/main.c"));
	assert_true(glob_matches(g, "src/util/glob.c"));
	assert_false(glob_matches(g, "src/util/glob.h"));
	assert_false(glob_matches(g, "lib/main.c"));
	/* the length bounds the text: "src/main.c" inside a longer buffer */
	assert_true(glob_matches_n(g, "src/main.c.orig", 10));
	assert_false(glob_matches_n(g, "src/main.c.orig", 12));
	glob_free(g);
	glob_free(NULL);
}

/* Each of these makes a naive backtracking matcher take exponential time. */
static void test_pathological_patterns_are_fast(void **state)
{
	(void)state;
	size_t n = 20001; /* odd, so the text below ends in 'a' */
	char *text = xmalloc(n + 1);
	memset(text, 'a', n);
	text[n] = '\0';
	assert_false(glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", text));
	assert_true(glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a", text));
	for (size_t i = 1; i < n; i += 2)
		text[i] = '/';
	assert_false(glob_match("**/a/**/a/**/a/**/a/**/a/**/a/**/b", text));
	assert_true(glob_match("**/a/**/a/**/a/**/a/**/a/**/a/**/a", text));
	free(text);
}

/* More than 256 tokens takes the heap path of the state sets. */
static void test_long_pattern(void **state)
{
	(void)state;
	size_t n = 600;
	char *pattern = xmalloc(n * 2 + 1);
	char *text = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++) {
		pattern[2 * i] = '*';
		pattern[2 * i + 1] = 'x';
		text[i] = 'x';
	}
	pattern[2 * n] = '\0';
	text[n] = '\0';
	assert_true(glob_match(pattern, text));
	text[n - 1] = 'y';
	assert_false(glob_match(pattern, text));
	free(pattern);
	free(text);
}

static void test_has_wildcards(void **state)
{
	(void)state;
	assert_false(glob_has_wildcards("src/main.c"));
	assert_true(glob_has_wildcards("*.c"));
	assert_true(glob_has_wildcards("a?"));
	assert_true(glob_has_wildcards("[ab]"));
	assert_true(glob_has_wildcards("a\\b"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wildmatch_suite),
		cmocka_unit_test(test_star_does_not_cross_slash),
		cmocka_unit_test(test_double_star_forms),
		cmocka_unit_test(test_classes_and_escapes),
		cmocka_unit_test(test_invalid_patterns_match_nothing),
		cmocka_unit_test(test_leading_dots_and_empty),
		cmocka_unit_test(test_casefold),
		cmocka_unit_test(test_compiled_reuse_and_length),
		cmocka_unit_test(test_pathological_patterns_are_fast),
		cmocka_unit_test(test_long_pattern),
		cmocka_unit_test(test_has_wildcards),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
