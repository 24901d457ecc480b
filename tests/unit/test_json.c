#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/yaml.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void assert_contains(const char *haystack, const char *needle)
{
	const char *found = strstr(haystack, needle);
	if (!found)
		print_error("'%s' does not contain '%s'\n", haystack, needle);
	assert_non_null(found);
}

static json_t *read_ok(const char *text)
{
	json_t *v = NULL;
	struct err e = ERR_INIT;
	if (json_read_string(&v, "t.json", text, strlen(text), &e) != 0)
		fail_msg("unexpected error: %s", e.msg);
	assert_non_null(v);
	return v;
}

static char *write_str(const json_t *v, unsigned flags)
{
	struct buf b = BUF_INIT;
	struct err e = ERR_INIT;
	if (json_write_buf(&b, v, flags, &e) != 0)
		fail_msg("unexpected error: %s", e.msg);
	return buf_detach(&b);
}

static void test_read_values(void **state)
{
	json_t *v =
		read_ok("{\"name\": \"ampel\", \"n\": 3, \"ok\": true, \"list\": [1, 2.5, null]}");
	assert_true(json_is_object(v));
	assert_string_equal(json_get_str(v, "name", "def"), "ampel");
	assert_int_equal(json_get_int(v, "n", -1), 3);
	assert_true(json_get_bool(v, "ok", false));
	assert_int_equal(json_array_size(json_object_get(v, "list")), 3);
	json_decref(v);
	/* Scalars at top level are accepted. */
	v = read_ok("42");
	assert_true(json_is_integer(v));
	json_decref(v);
	v = read_ok("\"x\"");
	assert_string_equal(json_string_value(v), "x");
	json_decref(v);
}

static void test_read_errors(void **state)
{
	json_t *v = (json_t *)0x1;
	struct err e = ERR_INIT;
	const char *text = "{\n  \"a\": 1,\n  \"b\": tru\n}\n";
	assert_int_equal(json_read_string(&v, "t.json", text, strlen(text), &e), -1);
	assert_null(v);
	assert_contains(e.msg, "t.json:3:");
	assert_contains(e.msg, "invalid token");

	text = "{\"a\": 1, \"a\": 2}";
	assert_int_equal(json_read_string(&v, "t.json", text, strlen(text), &e), -1);
	assert_contains(e.msg, "t.json:1:");
	assert_contains(e.msg, "duplicate object key");

	text = "[1, 2";
	assert_int_equal(json_read_string(&v, "t.json", text, strlen(text), &e), -1);
	assert_contains(e.msg, "t.json:1:");

	text = "{} trailing";
	assert_int_equal(json_read_string(&v, "t.json", text, strlen(text), &e), -1);
	assert_contains(e.msg, "end of file expected");

	assert_int_equal(json_read_string(&v, "t.json", "", 0, &e), -1);
	assert_contains(e.msg, "t.json:");

	assert_int_equal(json_read_string(&v, NULL, NULL, 0, &e), -1);
	assert_contains(e.msg, "<input>");

	text = "\"\xff\"";
	assert_int_equal(json_read_string(&v, "t.json", text, strlen(text), &e), -1);
	assert_contains(e.msg, "unable to decode byte 0xff");
}

static void test_write_compact_and_pretty(void **state)
{
	json_t *v = read_ok("{\"z\": 1, \"a\": [true, null, \"s\"], \"m\": {\"k\": \"v\"}}");
	char *s = write_str(v, 0);
	/* Insertion order, no spaces, no newline. */
	assert_string_equal(s, "{\"z\":1,\"a\":[true,null,\"s\"],\"m\":{\"k\":\"v\"}}");
	free(s);
	s = write_str(v, JSON_WRITE_SORT_KEYS);
	assert_string_equal(s, "{\"a\":[true,null,\"s\"],\"m\":{\"k\":\"v\"},\"z\":1}");
	free(s);
	s = write_str(v, JSON_WRITE_PRETTY);
	assert_string_equal(s, "{\n"
			       "  \"z\": 1,\n"
			       "  \"a\": [\n"
			       "    true,\n"
			       "    null,\n"
			       "    \"s\"\n"
			       "  ],\n"
			       "  \"m\": {\n"
			       "    \"k\": \"v\"\n"
			       "  }\n"
			       "}\n");
	free(s);
	s = write_str(v, JSON_WRITE_INDENT(4) | JSON_WRITE_SORT_KEYS);
	assert_true(strncmp(s, "{\n    \"a\": [\n        true,", 25) == 0);
	assert_true(s[strlen(s) - 1] == '}');
	free(s);
	json_decref(v);

	v = json_string("h\xc3\xa9");
	s = write_str(v, JSON_WRITE_NEWLINE);
	assert_string_equal(s, "\"h\xc3\xa9\"\n");
	free(s);
	s = write_str(v, JSON_WRITE_ASCII);
	assert_string_equal(s, "\"h\\u00E9\"");
	free(s);
	json_decref(v);
}

static void test_write_appends_and_round_trips(void **state)
{
	struct buf b = BUF_INIT;
	struct err e = ERR_INIT;
	buf_adds(&b, "prefix:");
	json_t *v = json_pack("{s:i, s:[s, f]}", "n", 7, "l", "x", 0.5);
	assert_int_equal(json_write_buf(&b, v, 0, &e), 0);
	assert_string_equal(buf_cstr(&b), "prefix:{\"n\":7,\"l\":[\"x\",0.5]}");
	/* Same value, same bytes. */
	char *again = write_str(v, 0);
	assert_string_equal(again, buf_cstr(&b) + strlen("prefix:"));
	free(again);
	json_t *back = NULL;
	assert_int_equal(json_read_string(&back, "b", b.data + 7, b.len - 7, &e), 0);
	assert_true(json_equal(v, back));
	json_decref(back);
	json_decref(v);
	assert_int_equal(json_write_buf(&b, NULL, 0, &e), -1);
	assert_string_equal(buf_cstr(&b), "prefix:{\"n\":7,\"l\":[\"x\",0.5]}");
	buf_free(&b);
}

static void test_file_round_trip(void **state)
{
	char dir[] = "/tmp/ampel-test-json-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/out.json", dir);
	struct err e = ERR_INIT;
	json_t *v = json_pack("{s:s, s:b}", "a", "b", "c", 1);
	assert_int_equal(json_write_file(v, buf_cstr(&path), JSON_WRITE_PRETTY, &e), 0);
	json_t *back = NULL;
	assert_int_equal(json_read_file(&back, buf_cstr(&path), &e), 0);
	assert_true(json_equal(v, back));
	json_decref(back);

	struct buf text = BUF_INIT;
	assert_int_equal(buf_read_file(&text, buf_cstr(&path), 0, &e), 0);
	assert_string_equal(buf_cstr(&text), "{\n  \"a\": \"b\",\n  \"c\": true\n}\n");
	buf_free(&text);

	FILE *f = fopen(buf_cstr(&path), "w");
	fputs("{\n\"a\": [1,\n 2,,]\n}\n", f);
	fclose(f);
	back = (json_t *)0x1;
	assert_int_equal(json_read_file(&back, buf_cstr(&path), &e), -1);
	assert_null(back);
	assert_true(strncmp(e.msg, buf_cstr(&path), path.len) == 0);
	assert_contains(e.msg, ":3:");

	unlink(buf_cstr(&path));
	rmdir(dir);
	assert_int_equal(json_read_file(&back, buf_cstr(&path), &e), -1);
	assert_contains(e.msg, buf_cstr(&path));
	buf_free(&path);
	json_decref(v);
}

static void test_getters(void **state)
{
	json_t *v = read_ok("{\"s\": \"x\", \"i\": -12, \"r\": 1.5, \"b\": false, \"n\": null, "
			    "\"big\": 9223372036854775807}");
	assert_string_equal(json_get_str(v, "s", "d"), "x");
	assert_string_equal(json_get_str(v, "i", "d"), "d");
	assert_string_equal(json_get_str(v, "missing", "d"), "d");
	assert_null(json_get_str(v, "n", NULL));
	assert_int_equal(json_get_int(v, "i", 0), -12);
	assert_true(json_get_int(v, "big", 0) == LLONG_MAX);
	assert_int_equal(json_get_int(v, "r", 99), 99);
	assert_int_equal(json_get_int(v, "s", 99), 99);
	assert_false(json_get_bool(v, "b", true));
	assert_true(json_get_bool(v, "i", true));
	assert_true(json_get_bool(v, "missing", true));
	json_t *arr = json_array();
	assert_string_equal(json_get_str(arr, "s", "d"), "d");
	assert_int_equal(json_get_int(NULL, "i", 5), 5);
	assert_false(json_get_bool(NULL, "b", false));
	json_decref(arr);
	json_decref(v);
}

static json_t *convert(const char *yaml_text, struct yaml_doc **doc_out)
{
	struct err e = ERR_INIT;
	struct yaml_doc *doc = NULL;
	if (yaml_parse(&doc, "t.yml", yaml_text, strlen(yaml_text), &e) != 0)
		fail_msg("yaml: %s", e.msg);
	json_t *v = json_from_yaml(doc->root);
	assert_non_null(v);
	*doc_out = doc;
	return v;
}

static void test_from_yaml_types(void **state)
{
	struct yaml_doc *doc;
	json_t *v = convert("nulls: [~, null, Null, NULL, '', \"null\"]\n"
			    "empty:\n"
			    "bools: [true, False, TRUE, 'true', yes, on]\n"
			    "ints: [0, -17, +3, 0x1f, 0o17, 007, '12', !!str 12]\n"
			    "floats: [1.5, -0.25, .5, 1e3, 2.5E-2, +1., 1.0]\n"
			    "special: [.inf, -.inf, .nan, 1.2.3, 0x, 1_000]\n"
			    "bigint: 123456789012345678901234567890\n"
			    "bighex: 0xffffffffffffffffffff\n"
			    "text: |\n  multi\n  line\n",
			    &doc);
	char *s = write_str(v, 0);
	assert_string_equal(s,
			    "{\"nulls\":[null,null,null,null,\"\",\"null\"],"
			    "\"empty\":null,"
			    "\"bools\":[true,false,true,\"true\",\"yes\",\"on\"],"
			    "\"ints\":[0,-17,3,31,15,7,\"12\",\"12\"],"
			    "\"floats\":[1.5,-0.25,0.5,1000.0,0.025000000000000001,1.0,1.0],"
			    "\"special\":[\".inf\",\"-.inf\",\".nan\",\"1.2.3\",\"0x\",\"1_000\"],"
			    "\"bigint\":1.2345678901234568e29,"
			    "\"bighex\":\"0xffffffffffffffffffff\","
			    "\"text\":\"multi\\nline\\n\"}");
	free(s);
	assert_true(json_is_integer(json_array_get(json_object_get(v, "ints"), 1)));
	assert_true(json_is_real(json_array_get(json_object_get(v, "floats"), 6)));
	json_decref(v);
	yaml_doc_free(doc);
}

static void test_from_yaml_structure(void **state)
{
	struct yaml_doc *doc;
	json_t *v = convert("base: &b {image: alpine, n: 1}\n"
			    "job:\n"
			    "  <<: *b\n"
			    "  n: 2\n"
			    "  steps:\n"
			    "    - run: make\n"
			    "    - !reference [.x, y]\n"
			    "1: int key\n"
			    "null: null key\n"
			    "? [a, b]\n"
			    ": complex\n"
			    "\"a\\0b\": nul key\n",
			    &doc);
	char *s = write_str(v, 0);
	assert_string_equal(s, "{\"base\":{\"image\":\"alpine\",\"n\":1},"
			       "\"job\":{\"image\":\"alpine\",\"n\":2,"
			       "\"steps\":[{\"run\":\"make\"},[\".x\",\"y\"]]},"
			       "\"1\":\"int key\",\"null\":\"null key\","
			       "\"[\\\"a\\\",\\\"b\\\"]\":\"complex\","
			       "\"a\\u0000b\":\"nul key\"}");
	free(s);
	json_decref(v);
	yaml_doc_free(doc);

	v = json_from_yaml(NULL);
	assert_true(json_is_null(v));
	json_decref(v);

	v = convert("- 1\n- [2, [3]]\n", &doc);
	s = write_str(v, 0);
	assert_string_equal(s, "[1,[2,[3]]]");
	free(s);
	json_decref(v);
	yaml_doc_free(doc);

	/* Aliases are expanded into independent copies. */
	v = convert("a: &a [1]\nb: *a\n", &doc);
	assert_true(json_equal(json_object_get(v, "a"), json_object_get(v, "b")));
	assert_ptr_not_equal(json_object_get(v, "a"), json_object_get(v, "b"));
	json_decref(v);
	yaml_doc_free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_values),
		cmocka_unit_test(test_read_errors),
		cmocka_unit_test(test_write_compact_and_pretty),
		cmocka_unit_test(test_write_appends_and_round_trips),
		cmocka_unit_test(test_file_round_trip),
		cmocka_unit_test(test_getters),
		cmocka_unit_test(test_from_yaml_types),
		cmocka_unit_test(test_from_yaml_structure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
