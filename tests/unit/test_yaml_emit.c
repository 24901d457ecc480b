/*
 * yaml_emit: exact layout for the shapes workflows use, and round trips of
 * every string YAML readers are known to misread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/yaml.h"
#include "util/yaml_emit.h"

#include <string.h>

static json_t *parse_json(const char *text)
{
	json_error_t error;
	json_t *value = json_loads(text, JSON_DECODE_ANY, &error);
	if (!value)
		fail_msg("bad test JSON: %s", error.text);
	return value;
}

static void assert_emits(const char *json_text, const char *yaml_text,
			 const struct yaml_emit_options *options)
{
	json_t *value = parse_json(json_text);
	struct buf out = BUF_INIT;
	yaml_emit(&out, value, options);
	assert_string_equal(buf_cstr(&out), yaml_text);
	buf_free(&out);
	json_decref(value);
}

static void test_workflow_layout(void **state)
{
	assert_emits("{\"name\": \"ci\", \"on\": {\"push\": {\"branches\": [\"main\"]}},"
		     " \"jobs\": {\"test\": {\"runs-on\": \"ubuntu-latest\", \"steps\": ["
		     "{\"uses\": \"actions/checkout@v4\"},"
		     "{\"name\": \"Test\", \"run\": \"npm test\", \"env\": {\"CI\": \"true\"}}]}}}",
		     "name: ci\n"
		     "on:\n"
		     "  push:\n"
		     "    branches:\n"
		     "      - main\n"
		     "jobs:\n"
		     "  test:\n"
		     "    runs-on: ubuntu-latest\n"
		     "    steps:\n"
		     "      - uses: actions/checkout@v4\n"
		     "      - name: Test\n"
		     "        run: npm test\n"
		     "        env:\n"
		     "          CI: 'true'\n",
		     NULL);
}

static void test_spaced_sections(void **state)
{
	static const char *const spaced[] = { "jobs", NULL };
	struct yaml_emit_options options = { YAML_EMIT_SPACED, spaced };
	assert_emits("{\"a\": 1, \"jobs\": {\"x\": {\"k\": 1}, \"y\": {\"k\": 2}}}",
		     "a: 1\n"
		     "\n"
		     "jobs:\n"
		     "  x:\n"
		     "    k: 1\n"
		     "\n"
		     "  y:\n"
		     "    k: 2\n",
		     &options);
}

static void test_scalars_and_empties(void **state)
{
	assert_emits("{\"i\": 3, \"r\": 1.5, \"whole\": 2.0, \"t\": true, \"f\": false,"
		     " \"n\": null, \"o\": {}, \"l\": [], \"nested\": [[1, 2]]}",
		     "i: 3\nr: 1.5\nwhole: 2.0\nt: true\nf: false\nn: null\no: {}\nl: []\n"
		     "nested:\n  - - 1\n    - 2\n",
		     NULL);
}

static void test_literal_blocks(void **state)
{
	assert_emits("{\"run\": \"npm ci\\nnpm test\\n\"}", "run: |\n  npm ci\n  npm test\n", NULL);
	assert_emits("{\"run\": \"a\\n\\nb\"}", "run: |-\n  a\n\n  b\n", NULL);
	assert_emits("{\"s\": [\"x\\ny\\n\\n\"]}", "s:\n  - |+\n    x\n    y\n\n", NULL);
	/* A leading space would need an indentation indicator: quoted instead. */
	assert_emits("{\"run\": \" a\\nb\"}", "run: \" a\\nb\"\n", NULL);
}

/* Every string must read back as itself, with our parser's YAML 1.2 rules. */
static void test_round_trip_of_tricky_strings(void **state)
{
	static const char *const tricky[] = {
		"on",
		"ON",
		"yes",
		"No",
		"off",
		"y",
		"n",
		"true",
		"False",
		"null",
		"~",
		"",
		"1",
		"1.20",
		"-1",
		"+1",
		"0x1F",
		"0o17",
		"1_000",
		"1e3",
		".5",
		".inf",
		"-.NaN",
		"1:20",
		"*.js",
		"&anchor",
		"!tag",
		"|",
		">",
		"%x",
		"@x",
		"`x`",
		"#comment",
		"a #b",
		"a: b",
		"a:b",
		"key:",
		"- item",
		"-",
		"?",
		"[x]",
		"{x}",
		"'q'",
		"\"d\"",
		"trailing ",
		" leading",
		"tab\there",
		"${{ secrets.TOKEN }}",
		"node:20-alpine",
		"ubuntu-latest",
		"it's",
		"C:\\path",
		"émoji ✓",
		"line\nbreak",
		"bell\a",
		"@scope/pkg",
		"v1.2.3",
		"3.10",
		"20.x",
		"=",
		"a,b",
	};
	for (size_t i = 0; i < sizeof(tricky) / sizeof(*tricky); i++) {
		json_t *value = json_pack("{s:s}", "k", tricky[i]);
		struct buf out = BUF_INIT;
		yaml_emit(&out, value, NULL);
		struct yaml_doc *doc = NULL;
		struct err e = ERR_INIT;
		if (yaml_parse(&doc, "emitted", out.data, out.len, &e) < 0)
			fail_msg("'%s' emitted as %s did not parse: %s", tricky[i], out.data,
				 e.msg);
		json_t *back = json_from_yaml(doc->root);
		const char *text = json_string_value(json_object_get(back, "k"));
		if (!text || strcmp(text, tricky[i]) != 0)
			fail_msg("'%s' emitted as %s read back as %s", tricky[i], out.data,
				 text ? text : "a non-string");
		json_decref(back);
		yaml_doc_free(doc);
		buf_free(&out);
		json_decref(value);
	}
}

static void test_plain_where_people_write_plain(void **state)
{
	assert_true(yaml_plain_safe("actions/checkout@v4"));
	assert_true(yaml_plain_safe("npm ci"));
	assert_true(yaml_plain_safe("${{ matrix.node }}"));
	assert_true(yaml_plain_safe("node:20"));
	assert_false(yaml_plain_safe("on"));
	assert_false(yaml_plain_safe("20"));
	assert_false(yaml_plain_safe("**/*.lock"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_workflow_layout),
		cmocka_unit_test(test_spaced_sections),
		cmocka_unit_test(test_scalars_and_empties),
		cmocka_unit_test(test_literal_blocks),
		cmocka_unit_test(test_round_trip_of_tricky_strings),
		cmocka_unit_test(test_plain_where_people_write_plain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
