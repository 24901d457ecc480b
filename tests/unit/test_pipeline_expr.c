#include "pipeline/expr.h"
#include "util/buf.h"
#include "util/err.h"

#include <math.h>
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

/* The contexts every case evaluates against (vegetables is the example of
 * GitHub's documentation on object filters). */
static const char contexts_json[] =
	"{"
	"\"github\": {\"ref\": \"refs/heads/main\", \"event_name\": \"push\", \"run_number\": 42,"
	"  \"event\": {\"commits\": [{\"id\": \"a\", \"author\": {\"name\": \"Mona\"}, "
	"\"message\": \"fix\"},"
	"    {\"id\": \"b\", \"author\": {\"name\": \"Lisa\"}}],"
	"    \"labels\": [{\"name\": \"bug\"}, {\"name\": \"ci\"}]}},"
	"\"env\": {\"NAME\": \"world\", \"EMPTY\": \"\", \"NUM\": \"3\", \"Mixed\": \"m\"},"
	"\"matrix\": {\"os\": \"ubuntu\", \"node\": 18, \"list\": [1, 2, 3], \"nested\": [[1, 2], "
	"[3]],"
	"  \"half\": 0.5},"
	"\"steps\": {\"build\": {\"outputs\": {\"result\": \"ok\"}, \"conclusion\": \"success\"},"
	"  \"my-step\": {\"outputs\": {\"x\": \"dash\"}}},"
	"\"secrets\": {\"TOKEN\": \"s3cr3t\"},"
	"\"vegetables\": [{\"name\": \"carrot\", \"ediblePortions\": [\"roots\", \"stems\"]},"
	"  {\"name\": \"cabbage\", \"ediblePortions\": [\"leaves\"]},"
	"  {\"name\": \"onion\", \"ediblePortions\": [\"bulbs\", \"stems\"]}]"
	"}";

static json_t *contexts;

static int setup(void **state)
{
	json_error_t jerr;
	contexts = json_loads(contexts_json, 0, &jerr);
	if (!contexts) {
		fprintf(stderr, "contexts: %s at %d:%d\n", jerr.text, jerr.line, jerr.column);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	json_decref(contexts);
	return 0;
}

static struct expr_env env_with(enum expr_status status)
{
	struct expr_env env = { contexts, status, NULL, false };
	return env;
}

struct value_case {
	const char *expression;
	const char *expected; /* JSON text */
};

static void check_values(const struct value_case *cases, size_t count)
{
	struct expr_env env = env_with(EXPR_STATUS_SUCCESS);
	for (size_t i = 0; i < count; i++) {
		struct err e = ERR_INIT;
		json_t *got = NULL;
		if (expr_evaluate(cases[i].expression, &env, &got, &e) != 0)
			fail_msg("%s: unexpected error: %s", cases[i].expression, e.msg);
		json_error_t jerr;
		json_t *want = json_loads(cases[i].expected, JSON_DECODE_ANY, &jerr);
		if (!want)
			fail_msg("bad expectation '%s': %s", cases[i].expected, jerr.text);
		if (!json_equal(got, want)) {
			char *text = json_dumps(got, JSON_ENCODE_ANY);
			fail_msg("%s: got %s, expected %s", cases[i].expression, text,
				 cases[i].expected);
		}
		json_decref(got);
		json_decref(want);
	}
}

struct string_case {
	const char *text;
	const char *expected;
};

/* Interpolates, so the value is seen through GitHub's string conversion. */
static void check_strings(const struct string_case *cases, size_t count)
{
	struct expr_env env = env_with(EXPR_STATUS_SUCCESS);
	for (size_t i = 0; i < count; i++) {
		struct err e = ERR_INIT;
		struct buf out = BUF_INIT;
		if (expr_interpolate(cases[i].text, &env, &out, &e) != 0)
			fail_msg("%s: unexpected error: %s", cases[i].text, e.msg);
		if (strcmp(buf_cstr(&out), cases[i].expected) != 0)
			fail_msg("%s: got '%s', expected '%s'", cases[i].text, buf_cstr(&out),
				 cases[i].expected);
		buf_free(&out);
	}
}

struct error_case {
	const char *expression;
	const char *message; /* exact */
};

static void check_errors(const struct error_case *cases, size_t count)
{
	struct expr_env env = env_with(EXPR_STATUS_SUCCESS);
	for (size_t i = 0; i < count; i++) {
		struct err e = ERR_INIT;
		json_t *got = (json_t *)1;
		if (expr_evaluate(cases[i].expression, &env, &got, &e) == 0)
			fail_msg("%s: evaluated without error, expected: %s", cases[i].expression,
				 cases[i].message);
		assert_null(got);
		if (strcmp(e.msg, cases[i].message) != 0)
			fail_msg("%s:\n got      %s\n expected %s", cases[i].expression, e.msg,
				 cases[i].message);
	}
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void test_literals(void **state)
{
	static const struct value_case cases[] = {
		{ "null", "null" },
		{ "true", "true" },
		{ "false", "false" },
		{ "711", "711" },
		{ "-9.2", "-9.2" },
		{ "0xff", "255" },
		{ "0xFF", "255" },
		{ "0xFFFFFFFF", "-1" }, /* the runner parses hex as an Int32 */
		{ "0o17", "15" },
		{ "-2.99e-2", "-0.0299" },
		{ "1e3", "1000" },
		{ "1E+2", "100" },
		{ ".5", "0.5" },
		{ "+7", "7" },
		{ "1.", "1" },
		{ "  42  ", "42" },
		{ "'Mona the Octocat'", "\"Mona the Octocat\"" },
		{ "'It''s open source!'", "\"It's open source!\"" },
		{ "''", "\"\"" },
		{ "''''", "\"'\"" },
		{ "'ünïcødé'", "\"ünïcødé\"" },
		{ "NaN", "\"NaN\"" },
		{ "Infinity", "\"Infinity\"" },
		{ "-Infinity", "\"-Infinity\"" },
		{ "1e400", "\"Infinity\"" },
		{ "9007199254740993", "9007199254740992" },
		{ "1e20", "1e20" },
	};
	check_values(cases, COUNT(cases));
}

static void test_comparisons_and_coercion(void **state)
{
	static const struct value_case cases[] = {
		{ "1 == 1", "true" },
		{ "1 != 2", "true" },
		{ "1 < 2", "true" },
		{ "2 <= 2", "true" },
		{ "3 > 2", "true" },
		{ "3 >= 4", "false" },
		{ "'abc' == 'ABC'", "true" },
		{ "'abc' != 'ABC'", "false" },
		{ "'a' < 'B'", "true" },
		{ "'b' > 'A'", "true" },
		{ "'a' <= 'A'", "true" },
		{ "'_' > 'a'", "true" }, /* ordinal on upper case: 'A' < '_' */
		{ "'Ärger' == 'äRGER'", "true" },
		{ "1 == '1'", "true" },
		{ "'' == 0", "true" },
		{ "null == 0", "true" },
		{ "null == ''", "true" },
		{ "null == null", "true" },
		{ "null == false", "true" },
		{ "true == 1", "true" },
		{ "false == 0", "true" },
		{ "true == 'true'", "false" },
		{ "'0x10' == 16", "true" },
		{ "' 5 ' == 5", "true" },
		{ "'1e2' == 100", "true" },
		{ "'abc' == 0", "false" },
		{ "'abc' != 0", "true" },
		{ "NaN == NaN", "false" },
		{ "NaN != NaN", "true" },
		{ "NaN < 1", "false" },
		{ "NaN >= NaN", "false" },
		{ "Infinity > 1e308", "true" },
		{ "'infinity' == Infinity", "true" },
		{ "false < true", "true" },
		{ "true > false", "true" },
		{ "null < 1", "true" },
		{ "'' < 1", "true" },
		{ "1 < 'abc'", "false" },
		{ "1 >= 'abc'", "false" },
		{ "-0 == 0", "true" },
		{ "github == github", "true" },
		{ "github.event == github.event", "true" },
		{ "matrix.list == matrix.list", "true" },
		{ "fromJSON('[]') == fromJSON('[]')", "false" },
		{ "fromJSON('{}') != fromJSON('{}')", "true" },
		{ "matrix.list == 'Array'", "false" },
		{ "github > github", "false" },
		{ "github >= github", "true" },
		{ "matrix.node == '18'", "true" },
		{ "matrix.node == 18.0", "true" },
		{ "github.run_number > 41", "true" },
		{ "env.NUM == 3", "true" },
		{ "env.NUM > 10", "false" },
		{ "env.NUM > '10'", "true" }, /* two strings compare as text */
	};
	check_values(cases, COUNT(cases));
}

static void test_logic_and_precedence(void **state)
{
	static const struct value_case cases[] = {
		{ "!true", "false" },
		{ "!0", "true" },
		{ "!-0", "true" },
		{ "!''", "true" },
		{ "!'a'", "false" },
		{ "!'0'", "false" },
		{ "!null", "true" },
		{ "!NaN", "true" },
		{ "!github", "false" },
		{ "!fromJSON('[]')", "false" },
		{ "!!'x'", "true" },
		{ "!1 == false", "true" },
		{ "1 && 'a'", "\"a\"" },
		{ "0 && 'a'", "0" },
		{ "'' || 'default'", "\"default\"" },
		{ "'x' || 'y'", "\"x\"" },
		{ "null || false", "false" },
		{ "env.MISSING || env.NAME", "\"world\"" },
		{ "matrix.half && matrix.list", "[1, 2, 3]" },
		{ "true && false || true", "true" },
		{ "false || true && false", "false" },
		{ "true || false && false", "true" },
		{ "(true || false) && 'z'", "\"z\"" },
		{ "1 < 2 == true", "true" },
		{ "2 < 1 == 1 < 2", "false" },
		{ "1 == 1 && 2 == 2", "true" },
		{ "!(1 == 2)", "true" },
		{ "((((1))))", "1" },
		{ "false && fromJSON('not json')", "false" },
		{ "true || fromJSON('not json')", "true" },
		{ "1 && 2 && 3 && 4 && 5", "5" },
		{ "0 || '' || null || 'last'", "\"last\"" },
	};
	check_values(cases, COUNT(cases));
}

static void test_property_access(void **state)
{
	static const struct value_case cases[] = {
		{ "github.ref", "\"refs/heads/main\"" },
		{ "github.REF", "\"refs/heads/main\"" },
		{ "GITHUB.Ref", "\"refs/heads/main\"" },
		{ "github['ref']", "\"refs/heads/main\"" },
		{ "github['REF']", "\"refs/heads/main\"" },
		{ "github.event.commits[0].id", "\"a\"" },
		{ "github.event.commits[1]['author'].name", "\"Lisa\"" },
		{ "github.event.commits[5]", "null" },
		{ "github.event.commits[-1]", "null" },
		{ "github.event.commits['1'].id", "\"b\"" },
		{ "github.event.commits[1.7].id", "\"b\"" },
		{ "github.event.commits[true].id", "\"b\"" },
		{ "github.event.commits['x']", "null" },
		{ "github.missing", "null" },
		{ "github.missing.deeper[0]", "null" },
		{ "github.ref.length", "null" },
		{ "github.ref[0]", "null" },
		{ "matrix.node.x", "null" },
		{ "github[github]", "null" },
		{ "steps.build.outputs.result", "\"ok\"" },
		{ "steps.my-step.outputs.x", "\"dash\"" },
		{ "steps['my-step'].outputs['x']", "\"dash\"" },
		{ "env.EMPTY", "\"\"" },
		{ "env.mixed", "\"m\"" },
		{ "github.run_number", "42" },
		{ "matrix['node']", "18" },
		{ "matrix[format('{0}', 'os')]", "\"ubuntu\"" },
		{ "matrix.half", "0.5" },
		{ "fromJSON('{\"1\": \"one\"}')[1]", "\"one\"" },
		{ "fromJSON('{\"true\": \"yes\"}').true", "\"yes\"" },
		{ "fromJSON('{\"null\": 0}').null", "0" },
		{ "(github).ref", "\"refs/heads/main\"" },
		{ "fromJSON('[[5]]')[0][0]", "5" },
		{ "github . ref", "\"refs/heads/main\"" },
	};
	check_values(cases, COUNT(cases));
}

static void test_object_filters(void **state)
{
	static const struct value_case cases[] = {
		{ "github.event.commits.*.author.name", "[\"Mona\", \"Lisa\"]" },
		{ "github.event.labels.*.name", "[\"bug\", \"ci\"]" },
		{ "github.event.commits.*.message", "[\"fix\"]" },
		{ "github.event.commits[*].id", "[\"a\", \"b\"]" },
		{ "vegetables.*.name", "[\"carrot\", \"cabbage\", \"onion\"]" },
		{ "vegetables.*.ediblePortions",
		  "[[\"roots\", \"stems\"], [\"leaves\"], [\"bulbs\", \"stems\"]]" },
		{ "vegetables.*.ediblePortions.*",
		  "[\"roots\", \"stems\", \"leaves\", \"bulbs\", \"stems\"]" },
		{ "vegetables.*.ediblePortions[1]", "[\"stems\", \"stems\"]" },
		{ "matrix.nested.*", "[[1, 2], [3]]" },
		{ "matrix.nested.*.*", "[1, 2, 3]" },
		{ "matrix.nested.*[0]", "[1, 3]" },
		{ "matrix.list[*]", "[1, 2, 3]" },
		{ "matrix.list.*", "[1, 2, 3]" },
		{ "github.ref.*", "[]" },
		{ "github.missing.*.x", "[]" },
		{ "fromJSON('{\"a\":{\"n\":1},\"b\":{\"n\":2}}').*.n", "[1, 2]" },
		{ "fromJSON('{\"a\":1,\"b\":2}').*", "[1, 2]" },
		{ "steps.*.outputs.result", "[\"ok\"]" },
		{ "(github.event.commits.*).id", "[\"a\", \"b\"]" },
		{ "github.event.commits.*.ID", "[\"a\", \"b\"]" },
		{ "contains(github.event.labels.*.name, 'BUG')", "true" },
		{ "contains(github.event.labels.*.name, 'feature')", "false" },
		{ "join(github.event.commits.*.id, '+')", "\"a+b\"" },
	};
	check_values(cases, COUNT(cases));
}

static void test_functions(void **state)
{
	static const struct value_case cases[] = {
		{ "contains('Hello world', 'WORLD')", "true" },
		{ "contains('Hello world', 'xyz')", "false" },
		{ "contains('abc', '')", "true" },
		{ "contains(null, '')", "true" },
		{ "contains(123, 2)", "true" },
		{ "contains(true, 'RU')", "true" },
		{ "contains('Straße', 'STRASSE')", "false" },
		{ "contains('ÄÖÜ', 'öü')", "true" },
		{ "contains(fromJSON('[1, 2]'), '2')", "true" },
		{ "contains(fromJSON('[\"a\", \"B\"]'), 'b')", "true" },
		{ "contains(fromJSON('[null]'), 0)", "true" },
		{ "contains(fromJSON('[]'), '')", "false" },
		{ "contains(github, 'ref')", "false" },
		{ "contains('Array', matrix.list)", "false" },
		{ "CONTAINS('a', 'A')", "true" },
		{ "startsWith('Hello', 'he')", "true" },
		{ "startsWith('a', 'abc')", "false" },
		{ "startsWith('abc', '')", "true" },
		{ "startsWith(github.ref, 'refs/heads/')", "true" },
		{ "endsWith('Hello', 'LO')", "true" },
		{ "endsWith('Hello', 'he')", "false" },
		{ "endsWith(fromJSON('[1]'), '1')", "false" },
		{ "endsWith(1.5, 5)", "true" },
		{ "format('Hello {0} {1} {2}', 'Mona', 'the', 'Octocat')",
		  "\"Hello Mona the Octocat\"" },
		{ "format('{{Hello {0} {1} {2}!}}', 'Mona', 'the', 'Octocat')",
		  "\"{Hello Mona the Octocat!}\"" },
		{ "format('{0}{0}', 'x')", "\"xx\"" },
		{ "format('{1}', 'a', 'b')", "\"b\"" },
		{ "format('{00}', 'z')", "\"z\"" },
		{ "format('{0}', 1.5)", "\"1.5\"" },
		{ "format('{0}|{1}|{2}', null, true, 100)", "\"|true|100\"" },
		{ "format('no braces')", "\"no braces\"" },
		{ "format('{0}', github)", "\"Object\"" },
		{ "format('{0}', matrix.list)", "\"Array\"" },
		{ "format('}}{{')", "\"}{\"" },
		{ "format('{0}', 'a', fromJSON('unused is never evaluated'))", "\"a\"" },
		{ "format('')", "\"\"" },
		{ "join(fromJSON('[\"a\", \"b\"]'))", "\"a,b\"" },
		{ "join(matrix.list, ' | ')", "\"1 | 2 | 3\"" },
		{ "join(matrix.list, github)", "\"1,2,3\"" },
		{ "join('abc')", "\"abc\"" },
		{ "join(5, '-')", "\"5\"" },
		{ "join(github)", "\"\"" },
		{ "join(fromJSON('[]'), '-')", "\"\"" },
		{ "join(fromJSON('[null, true, 1.5, [1], {}]'))", "\",true,1.5,Array,Object\"" },
		{ "toJSON(matrix.list)", "\"[\\n  1,\\n  2,\\n  3\\n]\"" },
		{ "toJSON(fromJSON('{\"a\":{\"b\":[]},\"c\":{}}'))",
		  "\"{\\n  \\\"a\\\": {\\n    \\\"b\\\": []\\n  },\\n  \\\"c\\\": {}\\n}\"" },
		{ "toJSON(fromJSON('[[1],{\"k\":null}]'))",
		  "\"[\\n  [\\n    1\\n  ],\\n  {\\n    \\\"k\\\": null\\n  }\\n]\"" },
		{ "toJSON('x\"y')", "\"\\\"x\\\\\\\"y\\\"\"" },
		{ "toJSON(null)", "\"null\"" },
		{ "toJSON(1.5)", "\"1.5\"" },
		{ "toJSON(1e20)", "\"1E+20\"" },
		{ "toJSON(true)", "\"true\"" },
		{ "toJSON(fromJSON('\"a\\nb\\u0001\\u2028/é\"'))",
		  "\"\\\"a\\\\nb\\\\u0001\\\\u2028/é\\\"\"" },
		{ "toJSON(matrix.half)", "\"0.5\"" },
		{ "ToJson(github.event.labels.*.name)",
		  "\"[\\n  \\\"bug\\\",\\n  \\\"ci\\\"\\n]\"" },
		{ "fromJSON('{\"a\":1}').a", "1" },
		{ "fromJSON('true')", "true" },
		{ "fromJSON('[1, 2.5, -0.5e1]')", "[1, 2.5, -5]" },
		{ "fromJSON('null')", "null" },
		{ "fromJSON('\"s\"')", "\"s\"" },
		{ "fromJSON(' 12 ')", "12" },
		{ "fromJSON('1e300')", "1e300" },
		{ "fromJSON(toJSON(github.event.labels))",
		  "[{\"name\": \"bug\"}, {\"name\": \"ci\"}]" },
		{ "fromjson('{\"x\": {\"y\": [1]}}').x.y[0]", "1" },
	};
	check_values(cases, COUNT(cases));
}

static void test_string_conversion(void **state)
{
	static const struct string_case cases[] = {
		{ "${{ 1.0 }}", "1" },
		{ "${{ 0.1 }}", "0.1" },
		{ "${{ 1e15 }}", "1E+15" },
		{ "${{ 123456789012345 }}", "123456789012345" },
		{ "${{ 1e-5 }}", "1E-05" },
		{ "${{ 0.0001 }}", "0.0001" },
		{ "${{ -0 }}", "-0" },
		{ "${{ -1.5 }}", "-1.5" },
		{ "${{ 3.14159265358979323 }}", "3.14159265358979" },
		{ "${{ NaN }}", "NaN" },
		{ "${{ Infinity }}", "Infinity" },
		{ "${{ -Infinity }}", "-Infinity" },
		{ "${{ null }}", "" },
		{ "${{ true }}/${{ false }}", "true/false" },
		{ "${{ github.event.labels }}", "Array" },
		{ "${{ github }}", "Object" },
		{ "${{ github.run_number }}", "42" },
		{ "${{ matrix.half }}", "0.5" },
	};
	check_strings(cases, COUNT(cases));
}

static void test_interpolation(void **state)
{
	static const struct string_case cases[] = {
		{ "Hello ${{ env.NAME }}!", "Hello world!" },
		{ "${{ 1 }}-${{ true }}-${{ null }}-${{ 'x' }}", "1-true--x" },
		{ "no expressions here", "no expressions here" },
		{ "", "" },
		{ "${{ format('{0}}}', 'x') }}", "x}" },
		{ "${{ format('{{{0}', 'x') }}", "{x" },
		{ "a ${{ '}}' }} b", "a }} b" },
		{ "a ${{ 'it''s }}' }} b", "a it's }} b" },
		{ "$ {{ x }} and ${ {y}}", "$ {{ x }} and ${ {y}}" },
		{ "${{ 'a' }}${{ 'b' }}", "ab" },
		{ "${{'tight'}}", "tight" },
		{ "multi\nline ${{ matrix.os }}\n", "multi\nline ubuntu\n" },
		{ "}} stray ${{ 1 }} }}", "}} stray 1 }}" },
		{ "${{ steps.build.outputs.result == 'ok' && 'pass' || 'fail' }}", "pass" },
	};
	check_strings(cases, COUNT(cases));

	struct expr_env env = env_with(EXPR_STATUS_SUCCESS);
	struct err e = ERR_INIT;
	struct buf out = BUF_INIT;
	assert_int_equal(expr_interpolate("x ${{ 1 ", &env, &out, &e), -1);
	assert_string_equal(e.msg, "'x ${{ 1 ' at column 3: '${{' is not closed by '}}'");
	assert_int_equal(expr_interpolate("x ${{ '}}' ", &env, &out, &e), -1);
	assert_int_equal(expr_interpolate("${{ }}", &env, &out, &e), -1);
	assert_string_equal(e.msg, "expression '' at column 1: expected an expression");
	assert_int_equal(expr_interpolate("ok ${{ foo( }}", &env, &out, &e), -1);
	assert_string_equal(e.msg, "expression 'foo(' at column 5: expected ')'");
	buf_free(&out);

	/* NULL env: no contexts, but literals and functions work. */
	struct buf plain = BUF_INIT;
	assert_int_equal(expr_interpolate("${{ format('{0}!', 'hi') }}", NULL, &plain, &e), 0);
	assert_string_equal(plain.data, "hi!");
	buf_free(&plain);
}

static void test_interpolate_value(void **state)
{
	struct expr_env env = env_with(EXPR_STATUS_SUCCESS);
	static const struct value_case cases[] = {
		{ "${{ fromJSON('[1,2]') }}", "[1, 2]" },
		{ "  ${{ 5 }}\n", "5" },
		{ "${{ true }}", "true" },
		{ "${{ null }}", "null" },
		{ "${{ matrix }}", NULL },
		{ "v${{ 5 }}", "\"v5\"" },
		{ "plain", "\"plain\"" },
		{ " keep spaces ", "\" keep spaces \"" },
		{ "${{ 1 }} ${{ 2 }}", "\"1 2\"" },
		{ "${{ 1 }}${{ 2 }}", "\"12\"" },
		{ "${{ fromJSON('{\"include\": [{\"os\": \"linux\"}]}') }}",
		  "{\"include\": [{\"os\": \"linux\"}]}" },
	};
	for (size_t i = 0; i < COUNT(cases); i++) {
		struct err e = ERR_INIT;
		json_t *got = NULL;
		if (expr_interpolate_value(cases[i].expression, &env, &got, &e) != 0)
			fail_msg("%s: %s", cases[i].expression, e.msg);
		json_t *want = cases[i].expected
				       ? json_loads(cases[i].expected, JSON_DECODE_ANY, NULL)
				       : json_incref(json_object_get(contexts, "matrix"));
		if (!json_equal(got, want))
			fail_msg("%s: got %s", cases[i].expression,
				 json_dumps(got, JSON_ENCODE_ANY));
		json_decref(want);
		json_decref(got);
	}
	/* A whole-value integer stays an integer for timeout-minutes. */
	struct err e = ERR_INIT;
	json_t *got = NULL;
	assert_int_equal(expr_interpolate_value("${{ 10 }}", &env, &got, &e), 0);
	assert_true(json_is_integer(got));
	json_decref(got);
	/* JSON strings are UTF-8: other text is refused rather than mangled. */
	assert_int_equal(expr_interpolate_value("ab\xff ${{ 1 }}", &env, &got, &e), -1);
	assert_null(got);
	assert_string_equal(e.msg, "'ab? ${{ 1 }}' at column 3: not valid UTF-8");
	assert_int_equal(expr_interpolate_value("${{ nosuch }}", &env, &got, &e), -1);
	assert_null(got);
	assert_string_equal(e.msg,
			    "expression 'nosuch' at column 1: unrecognized named-value 'nosuch'");
}

struct condition_case {
	const char *text;
	enum expr_status status;
	bool expected;
};

static void test_conditions(void **state)
{
	static const struct condition_case cases[] = {
		{ "", EXPR_STATUS_SUCCESS, true },
		{ "  ", EXPR_STATUS_FAILURE, false },
		{ "true", EXPR_STATUS_SUCCESS, true },
		{ "true", EXPR_STATUS_FAILURE, false },
		{ "true", EXPR_STATUS_CANCELLED, false },
		{ "failure()", EXPR_STATUS_FAILURE, true },
		{ "failure()", EXPR_STATUS_SUCCESS, false },
		{ "success()", EXPR_STATUS_SUCCESS, true },
		{ "success()", EXPR_STATUS_CANCELLED, false },
		{ "SUCCESS()", EXPR_STATUS_FAILURE, false },
		{ "always()", EXPR_STATUS_FAILURE, true },
		{ "always()", EXPR_STATUS_CANCELLED, true },
		{ "cancelled()", EXPR_STATUS_CANCELLED, true },
		{ "cancelled()", EXPR_STATUS_FAILURE, false },
		{ "!cancelled()", EXPR_STATUS_FAILURE, true },
		{ "success() || failure()", EXPR_STATUS_FAILURE, true },
		{ "failure() && github.ref == 'refs/heads/main'", EXPR_STATUS_FAILURE, true },
		{ "always() && false", EXPR_STATUS_FAILURE, false },
		{ "${{ github.ref == 'refs/heads/main' }}", EXPR_STATUS_SUCCESS, true },
		{ "  ${{ github.ref == 'refs/heads/dev' }}  ", EXPR_STATUS_SUCCESS, false },
		{ "${{ always() }}", EXPR_STATUS_FAILURE, true },
		{ "github.ref == 'refs/heads/dev'", EXPR_STATUS_SUCCESS, false },
		{ "0", EXPR_STATUS_SUCCESS, false },
		{ "'false'", EXPR_STATUS_SUCCESS, true }, /* a non-empty string */
		{ "env.EMPTY", EXPR_STATUS_SUCCESS, false },
		{ "github.event.labels", EXPR_STATUS_SUCCESS, true },
		/* success() && (...) is false first: the rest is never evaluated. */
		{ "fromJSON('bad')", EXPR_STATUS_FAILURE, false },
		/* Text around expressions is one string: true when not empty. */
		{ "${{ false }} && ${{ false }}", EXPR_STATUS_SUCCESS, true },
		{ "${{ false }} && ${{ false }}", EXPR_STATUS_FAILURE, false },
		{ "x ${{ failure() }}", EXPR_STATUS_FAILURE, true },
	};
	for (size_t i = 0; i < COUNT(cases); i++) {
		struct expr_env env = env_with(cases[i].status);
		struct err e = ERR_INIT;
		bool got = !cases[i].expected;
		if (expr_condition(cases[i].text, &env, &got, &e) != 0)
			fail_msg("'%s': %s", cases[i].text, e.msg);
		if (got != cases[i].expected)
			fail_msg("'%s' (status %d): got %d", cases[i].text, (int)cases[i].status,
				 got);
	}

	struct expr_env env = env_with(EXPR_STATUS_SUCCESS);
	struct err e = ERR_INIT;
	bool got;
	assert_int_equal(expr_condition("fromJSON('bad')", &env, &got, &e), -1);
	assert_non_null(strstr(e.msg, "fromJSON: invalid JSON"));
	assert_int_equal(expr_condition("github.ref ==", &env, &got, &e), -1);
	assert_string_equal(e.msg, "expression 'github.ref ==' at column 14: unexpected end of "
				   "expression");
	assert_int_equal(expr_condition("${{ 1 ", &env, &got, &e), -1);
	assert_int_equal(expr_condition("ok() && success()", &env, &got, &e), -1);
	assert_string_equal(e.msg, "expression 'ok() && success()' at column 1: unrecognized "
				   "function 'ok'");
}

static void test_status_functions_outside_if(void **state)
{
	struct expr_env env = env_with(EXPR_STATUS_SUCCESS);
	struct err e = ERR_INIT;
	json_t *got = NULL;
	assert_int_equal(expr_evaluate("success()", &env, &got, &e), -1);
	assert_string_equal(e.msg, "expression 'success()' at column 1: the status function "
				   "'success' is only allowed in 'if' conditions");
	env.allow_status_functions = true;
	assert_int_equal(expr_evaluate("success() && !failure() && !cancelled() && always()", &env,
				       &got, &e),
			 0);
	assert_true(json_is_true(got));
	json_decref(got);
	env.status = EXPR_STATUS_FAILURE;
	assert_int_equal(expr_evaluate("failure()", &env, &got, &e), 0);
	assert_true(json_is_true(got));
	json_decref(got);
}

static void test_errors(void **state)
{
	static const struct error_case cases[] = {
		{ "foo(", "expression 'foo(' at column 5: expected ')'" },
		{ "foo()", "expression 'foo()' at column 1: unrecognized function 'foo'" },
		{ "1 == bar(1)",
		  "expression '1 == bar(1)' at column 6: unrecognized function 'bar'" },
		{ "nosuch.x",
		  "expression 'nosuch.x' at column 1: unrecognized named-value 'nosuch'" },
		{ "contains('a')", "expression 'contains('a')' at column 9: too few arguments for "
				   "'contains' (expects 2)" },
		{ "join(1, 2, 3)", "expression 'join(1, 2, 3)' at column 5: too many arguments for "
				   "'join' (expects at most 2)" },
		{ "format()", "expression 'format()' at column 7: too few arguments for 'format' "
			      "(expects at least 1)" },
		{ "toJSON(1, 2)", "expression 'toJSON(1, 2)' at column 7: too many arguments for "
				  "'toJSON' (expects 1)" },
		{ "1 ==", "expression '1 ==' at column 5: unexpected end of expression" },
		{ "1 = 2", "expression '1 = 2' at column 3: unexpected symbol '='" },
		{ "1 & 2", "expression '1 & 2' at column 3: unexpected symbol '&'" },
		{ "'abc", "expression ''abc' at column 1: unterminated string" },
		{ "\"abc\"", "expression '\"abc\"' at column 1: unexpected symbol '\"abc\"'" },
		{ "'a'[0]", "expression ''a'[0]' at column 4: unexpected symbol '['" },
		{ "1.x", "expression '1.x' at column 1: unexpected symbol '1.x'" },
		{ "(1, 2)", "expression '(1, 2)' at column 3: expected ')' instead of ','" },
		{ "", "expression '' at column 1: expected an expression" },
		{ "   ", "expression '   ' at column 4: expected an expression" },
		{ "1 2", "expression '1 2' at column 3: unexpected symbol '2'" },
		{ "github.1abc", "expression 'github.1abc' at column 8: unexpected symbol '1abc'" },
		{ "-0x10", "expression '-0x10' at column 1: unexpected symbol '-0x10'" },
		{ "0x100000000", "expression '0x100000000' at column 1: unexpected symbol "
				 "'0x100000000'" },
		{ "github.",
		  "expression 'github.' at column 8: expected a property name after '.'" },
		{ "github[1", "expression 'github[1' at column 9: expected ']'" },
		{ "github.ref(1)",
		  "expression 'github.ref(1)' at column 11: unexpected symbol '('" },
		{ "!", "expression '!' at column 2: unexpected end of expression" },
		{ "a$b", "expression 'a$b' at column 1: unexpected symbol 'a$b'" },
		{ "'ä' == ä", "expression ''ä' == ä' at column 8: unexpected symbol 'ä'" },
		{ "true(1)", "expression 'true(1)' at column 5: unexpected symbol '('" },
		{ "format('{1}', 'a')",
		  "expression 'format('{1}', 'a')' at column 1: the format "
		  "string references more arguments than were supplied: '{1}'" },
		{ "format('{0', 'a')", "expression 'format('{0', 'a')' at column 1: the format "
				       "string is invalid: '{0'" },
		{ "format('a}b')", "expression 'format('a}b')' at column 1: the format string is "
				   "invalid: 'a}b'" },
		{ "format('{a}', 1)",
		  "expression 'format('{a}', 1)' at column 1: the format string "
		  "is invalid: '{a}'" },
		{ "format('{256}', 1)", "expression 'format('{256}', 1)' at column 1: the format "
					"string is invalid: '{256}'" },
		{ "format('{0:x}', 1)",
		  "expression 'format('{0:x}', 1)' at column 1: the format "
		  "specifiers 'x' are not valid for objects of type 'Number'" },
		{ "fromJSON('')",
		  "expression 'fromJSON('')' at column 1: fromJSON: invalid JSON at "
		  "line 1, column 0: unexpected token near end of file" },
		{ "fromJSON('{')", "expression 'fromJSON('{')' at column 1: fromJSON: invalid JSON "
				   "at line 1, column 1: string or '}' expected near end of file" },
		{ "hashFiles('*')", "expression 'hashFiles('*')' at column 1: hashFiles is not "
				    "available here (no workspace)" },
		{ "\xff", "expression '?' at column 1: not valid UTF-8" },
		{ "'a\xc3(' == 1", "expression ''a?(' == 1' at column 3: not valid UTF-8" },
	};
	check_errors(cases, COUNT(cases));

	/* A long expression is quoted in part. */
	struct buf src = BUF_INIT;
	buf_adds(&src, "'");
	for (int i = 0; i < 300; i++)
		buf_addch(&src, 'x');
	buf_adds(&src, "' ==");
	struct expr_env env = env_with(EXPR_STATUS_SUCCESS);
	struct err e = ERR_INIT;
	json_t *got = NULL;
	assert_int_equal(expr_evaluate(src.data, &env, &got, &e), -1);
	assert_non_null(strstr(e.msg, "...' at column 306: unexpected end of expression"));
	buf_free(&src);
}

static void expect_depth_error(const char *src)
{
	struct expr_env env = env_with(EXPR_STATUS_SUCCESS);
	struct err e = ERR_INIT;
	json_t *got = NULL;
	if (expr_evaluate(src, &env, &got, &e) == 0)
		fail_msg("deep expression evaluated (%zu bytes)", strlen(src));
	if (!strstr(e.msg, "exceeds the maximum nesting depth of 50"))
		fail_msg("%.60s...: %s", src, e.msg);
	assert_int_equal(expr_check(src, NULL, &e), -1);
}

static void test_depth_limits(void **state)
{
	struct expr_env env = env_with(EXPR_STATUS_SUCCESS);
	struct err e = ERR_INIT;
	json_t *got = NULL;
	struct buf src = BUF_INIT;

	/* 49 negations and a literal: a tree 50 deep, the runner's limit. */
	for (int i = 0; i < 49; i++)
		buf_addch(&src, '!');
	buf_adds(&src, "true");
	assert_int_equal(expr_evaluate(src.data, &env, &got, &e), 0);
	assert_true(json_is_false(got));
	json_decref(got);
	buf_reset(&src);
	for (int i = 0; i < 60; i++)
		buf_addch(&src, '!');
	buf_adds(&src, "true");
	expect_depth_error(src.data);

	buf_reset(&src);
	for (int i = 0; i < 20000; i++)
		buf_addch(&src, '(');
	expect_depth_error(src.data);

	buf_reset(&src);
	for (int i = 0; i < 5000; i++)
		buf_addch(&src, '[');
	struct err e2 = ERR_INIT;
	assert_int_equal(expr_evaluate(src.data, &env, &got, &e2), -1);

	buf_reset(&src);
	buf_adds(&src, "matrix");
	for (int i = 0; i < 60; i++)
		buf_adds(&src, "[0]");
	expect_depth_error(src.data);

	buf_reset(&src);
	buf_adds(&src, "1");
	for (int i = 0; i < 60; i++)
		buf_adds(&src, " == 1");
	expect_depth_error(src.data);

	buf_reset(&src);
	for (int i = 0; i < 60; i++)
		buf_adds(&src, "format('{0}', ");
	buf_adds(&src, "1");
	for (int i = 0; i < 60; i++)
		buf_addch(&src, ')');
	expect_depth_error(src.data);

	/* && and || chains are flat, as in the runner: long ones are fine. */
	buf_reset(&src);
	buf_adds(&src, "true");
	for (int i = 0; i < 2000; i++)
		buf_adds(&src, " && true");
	buf_adds(&src, " || (false || 0)");
	assert_int_equal(expr_evaluate(src.data, &env, &got, &e), 0);
	assert_true(json_is_true(got));
	json_decref(got);

	/* Longer than the runner's 21000 characters. */
	buf_reset(&src);
	buf_addch(&src, '\'');
	for (int i = 0; i < EXPR_MAX_LENGTH; i++)
		buf_addch(&src, 'x');
	buf_addch(&src, '\'');
	assert_int_equal(expr_evaluate(src.data, &env, &got, &e), -1);
	assert_non_null(strstr(e.msg, "longer than the limit of 21000 bytes"));

	/* A result that doubles at every level is stopped, not built. */
	buf_reset(&src);
	buf_adds(&src, "format('{0}{0}{0}{0}{0}{0}{0}{0}', ");
	for (int i = 0; i < 12; i++)
		buf_adds(&src, "format('{0}{0}{0}{0}{0}{0}{0}{0}', ");
	buf_adds(&src, "'0123456789'");
	for (int i = 0; i < 13; i++)
		buf_addch(&src, ')');
	assert_int_equal(expr_evaluate(src.data, &env, &got, &e), -1);
	assert_non_null(strstr(e.msg, "larger than the limit"));
	buf_free(&src);
}

static void test_check(void **state)
{
	static const char *const allowed[] = { "github", "env", NULL };
	struct err e = ERR_INIT;
	assert_int_equal(expr_check("github.ref == 'x' && anything.at.all", NULL, &e), 0);
	assert_int_equal(expr_check("GitHub.ref && env.X", allowed, &e), 0);
	assert_int_equal(expr_check("success() || hashFiles('**') != ''", allowed, &e), 0);
	assert_int_equal(expr_check("github.ref && matrix.os", allowed, &e), -1);
	assert_string_equal(e.msg, "expression 'github.ref && matrix.os' at column 15: "
				   "unrecognized named-value 'matrix'");
	assert_int_equal(expr_check("foo()", NULL, &e), -1);
	assert_string_equal(e.msg, "expression 'foo()' at column 1: unrecognized function 'foo'");
	assert_int_equal(expr_check("format()", NULL, &e), -1);
	assert_int_equal(expr_check("foo(", NULL, &e), -1);
	assert_string_equal(e.msg, "expression 'foo(' at column 5: expected ')'");
	/* Only syntax is checked: a bad format string is a run-time error. */
	assert_int_equal(expr_check("format('{9}')", NULL, &e), 0);
	/* Columns count characters, not bytes. */
	assert_int_equal(expr_check("'ääää' == )", NULL, &e), -1);
	assert_string_equal(e.msg, "expression ''ääää' == )' at column 11: unexpected symbol ')'");
}

static void test_value_helpers(void **state)
{
	struct {
		json_t *value;
		const char *text;
		bool truthy;
	} cases[] = {
		{ json_null(), "", false },
		{ json_true(), "true", true },
		{ json_false(), "false", false },
		{ json_integer(5), "5", true },
		{ json_integer(0), "0", false },
		{ json_real(-0.0), "-0", false },
		{ json_real(2.5), "2.5", true },
		{ json_real(1e20), "1E+20", true },
		{ json_string(""), "", false },
		{ json_string("0"), "0", true },
		{ json_string("false"), "false", true },
		{ json_array(), "Array", true },
		{ json_object(), "Object", true },
	};
	for (size_t i = 0; i < COUNT(cases); i++) {
		char *text = expr_value_to_string(cases[i].value);
		assert_string_equal(text, cases[i].text);
		free(text);
		assert_int_equal(expr_value_truthy(cases[i].value), cases[i].truthy);
		json_decref(cases[i].value);
	}
	char *text = expr_value_to_string(NULL);
	assert_string_equal(text, "");
	free(text);
	assert_false(expr_value_truthy(NULL));
}

/* ------------------------------------------------------------- hashFiles */

static void write_file(const char *dir, const char *name, const char *data, size_t len)
{
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/%s", dir, name);
	FILE *f = fopen(path.data, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	buf_free(&path);
}

static void expect_hash(const char *workspace, const char *expression, const char *expected)
{
	struct expr_env env = env_with(EXPR_STATUS_SUCCESS);
	env.workspace = workspace;
	struct err e = ERR_INIT;
	json_t *got = NULL;
	if (expr_evaluate(expression, &env, &got, &e) != 0)
		fail_msg("%s: %s", expression, e.msg);
	assert_true(json_is_string(got));
	if (strcmp(json_string_value(got), expected) != 0)
		fail_msg("%s: got '%s', expected '%s'", expression, json_string_value(got),
			 expected);
	json_decref(got);
}

/*
 * The expected values are sha256(sha256(file1) || sha256(file2) || ...),
 * computed once with an independent SHA-256 (Python's hashlib); sha256 of
 * the million-'a' file is the FIPS 180-2 test vector cdc76e5c...
 */
#define HASH_A	     "4f8b42c22dd3729b519ba6f68d2da7cc5b2d606d05daed5ad5128cc03e6c6358"
#define HASH_D	     "ddfafe7925d46e633decb4cb3c933b4c2f7d56679487f4b88ea3e6422eb2b81c"
#define HASH_A_B_C   "19c55ec6049e8bec5d4e6eedcfcd6835234f322ee81f430198977e0de63bc62d"
#define HASH_A_C     "62646a7edfd4862e11bb34d0336a7974ef836b618053cfc46b1fc7155d31832b"
#define HASH_B_A     "bddbdf7e9df02f902ee5dd61b2b513d7566a2112ff97db7dc3b6d184a43ef0e3"
#define HASH_C_D     "ed729edb4727d0c77a48e88fecab6186b7e364839da9625c7f99686b23fc21da"
#define HASH_A_B_C_D "2bd33ee757cfb4012210b17dbf68fe716c0814876815d8afbbfff23529902a01"

static void test_hash_files(void **state)
{
	char dir[] = "/tmp/ampel-expr-XXXXXX";
	char outside[] = "/tmp/ampel-expr-outside-XXXXXX";
	assert_non_null(mkdtemp(dir));
	assert_non_null(mkdtemp(outside));
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/sub", dir);
	assert_int_equal(mkdir(path.data, 0755), 0);
	buf_adds(&path, "/deeper");
	assert_int_equal(mkdir(path.data, 0755), 0);

	write_file(dir, "a.txt", "abc", 3);
	write_file(dir, "b.txt", "", 0);
	char *million = malloc(1000000);
	assert_non_null(million);
	memset(million, 'a', 1000000);
	write_file(dir, "sub/c.txt", million, 1000000);
	free(million);
	write_file(dir, "sub/deeper/d.js", "d", 1);
	/* A link out of the workspace is never read. */
	write_file(outside, "secret.txt", "secret", 6);
	struct buf target = BUF_INIT, link = BUF_INIT;
	buf_addf(&target, "%s/secret.txt", outside);
	buf_addf(&link, "%s/link.txt", dir);
	assert_int_equal(symlink(target.data, link.data), 0);

	expect_hash(dir, "hashFiles('a.txt')", HASH_A);
	expect_hash(dir, "hashFiles('./a.txt')", HASH_A);
	expect_hash(dir, "hashFiles('nomatch/*')", "");
	expect_hash(dir, "hashFiles('*.none')", "");
	expect_hash(dir, "hashFiles('**/*.txt')", HASH_A_B_C);
	expect_hash(dir, "hashFiles('**/*.txt', '!b.txt')", HASH_A_C);
	expect_hash(dir, "hashFiles('**/*.txt\n!b.txt')", HASH_A_C);
	expect_hash(dir, "hashFiles('**/*.txt', '!**/b.*', '# a comment', '')", HASH_A_C);
	expect_hash(dir, "hashFiles('**', '!b.txt', 'b.txt', '!link.txt')", HASH_A_B_C_D);
	expect_hash(dir, "hashFiles('sub')", HASH_C_D);
	expect_hash(dir, "hashFiles('sub/')", HASH_C_D);
	expect_hash(dir, "hashFiles('sub/**', 'sub/deeper')", HASH_C_D);
	expect_hash(dir, "hashFiles('**/*.js')", HASH_D);
	expect_hash(dir, "hashFiles('SUB/**')", "");
	/* Search paths are walked in pattern order, as the runner does. */
	expect_hash(dir, "hashFiles('b.txt', 'a.txt')", HASH_B_A);
	expect_hash(dir, "hashFiles('a.txt', 'a.txt')", HASH_A);
	expect_hash(dir, "hashFiles('../a.txt')", "");
	expect_hash(dir, "hashFiles('sub/../a.txt')", HASH_A);
	expect_hash(dir, "hashFiles('link.txt')", "");
	expect_hash(dir, "hashFiles('--follow-symbolic-links', 'a.txt')", HASH_A);
	expect_hash(dir, "hashFiles('!a.txt')", "");

	struct buf expression = BUF_INIT;
	buf_addf(&expression, "hashFiles('%s/a.txt')", dir);
	expect_hash(dir, expression.data, HASH_A);
	buf_reset(&expression);
	buf_addf(&expression, "hashFiles('%s')", target.data);
	expect_hash(dir, expression.data, "");

	struct expr_env env = env_with(EXPR_STATUS_SUCCESS);
	env.workspace = dir;
	struct err e = ERR_INIT;
	json_t *got = NULL;
	assert_int_equal(expr_evaluate("hashFiles('--bogus', 'a.txt')", &env, &got, &e), -1);
	assert_non_null(strstr(e.msg, "hashFiles: invalid option '--bogus'"));
	assert_int_equal(expr_evaluate("hashFiles('a.txt') != ''", &env, &got, &e), 0);
	assert_true(json_is_true(got));
	json_decref(got);
	env.workspace = "/nonexistent/ampel-expr";
	assert_int_equal(expr_evaluate("hashFiles('a.txt')", &env, &got, &e), -1);
	assert_non_null(strstr(e.msg, "cannot open the workspace"));

	unlink(link.data);
	unlink(target.data);
	rmdir(outside);
	const char *files[] = { "a.txt", "b.txt", "sub/c.txt", "sub/deeper/d.js" };
	for (size_t i = 0; i < COUNT(files); i++) {
		buf_reset(&path);
		buf_addf(&path, "%s/%s", dir, files[i]);
		unlink(path.data);
	}
	buf_reset(&path);
	buf_addf(&path, "%s/sub/deeper", dir);
	rmdir(path.data);
	buf_reset(&path);
	buf_addf(&path, "%s/sub", dir);
	rmdir(path.data);
	rmdir(dir);
	buf_free(&expression);
	buf_free(&target);
	buf_free(&link);
	buf_free(&path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_comparisons_and_coercion),
		cmocka_unit_test(test_logic_and_precedence),
		cmocka_unit_test(test_property_access),
		cmocka_unit_test(test_object_filters),
		cmocka_unit_test(test_functions),
		cmocka_unit_test(test_string_conversion),
		cmocka_unit_test(test_interpolation),
		cmocka_unit_test(test_interpolate_value),
		cmocka_unit_test(test_conditions),
		cmocka_unit_test(test_status_functions_outside_if),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_depth_limits),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_value_helpers),
		cmocka_unit_test(test_hash_files),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
