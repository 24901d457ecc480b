#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/yaml.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct yaml_doc *parse_ok(const char *text)
{
	struct yaml_doc *doc = NULL;
	struct err e = ERR_INIT;
	int rc = yaml_parse(&doc, "t.yml", text, strlen(text), &e);
	if (rc != 0)
		fail_msg("unexpected error: %s", e.msg);
	assert_non_null(doc);
	return doc;
}

/* Parses text expecting failure; returns the message. */
static const char *parse_fail(const char *text, struct err *e)
{
	struct yaml_doc *doc = (struct yaml_doc *)0x1;
	err_clear(e);
	assert_int_equal(yaml_parse(&doc, "t.yml", text, strlen(text), e), -1);
	assert_null(doc);
	assert_true(err_is_set(e));
	return e->msg;
}

static void assert_contains(const char *haystack, const char *needle)
{
	const char *found = strstr(haystack, needle);
	if (!found)
		print_error("'%s' does not contain '%s'\n", haystack, needle);
	assert_non_null(found);
}

static void assert_scalar(const struct yaml_node *n, const char *value)
{
	assert_non_null(n);
	assert_int_equal(n->kind, YAML_SCALAR);
	assert_string_equal(n->value, value);
	assert_int_equal(n->length, strlen(value));
}

static void test_block_mapping_positions(void **state)
{
	struct yaml_doc *doc = parse_ok("name: ci\n"
					"on:\n"
					"  push:\n"
					"    branches: [main, 'dev']\n"
					"jobs:\n"
					"  - a\n"
					"  - b\n");
	const struct yaml_node *root = doc->root;
	assert_int_equal(root->kind, YAML_MAPPING);
	assert_int_equal(root->count, 3);
	assert_int_equal(root->line, 1);
	assert_int_equal(root->column, 1);
	assert_scalar(yaml_get(root, "name"), "ci");
	assert_int_equal(yaml_get(root, "name")->line, 1);
	assert_int_equal(yaml_get(root, "name")->column, 7);
	const struct yaml_node *branches =
		yaml_get(yaml_get(yaml_get(root, "on"), "push"), "branches");
	assert_non_null(branches);
	assert_int_equal(branches->kind, YAML_SEQUENCE);
	assert_int_equal(branches->count, 2);
	assert_int_equal(branches->line, 4);
	assert_int_equal(branches->column, 15);
	assert_scalar(branches->items[0], "main");
	assert_false(branches->items[0]->quoted);
	assert_scalar(branches->items[1], "dev");
	assert_true(branches->items[1]->quoted);
	assert_int_equal(branches->items[1]->column, 22);
	const struct yaml_node *jobs = yaml_get(root, "jobs");
	assert_int_equal(jobs->kind, YAML_SEQUENCE);
	assert_scalar(jobs->items[1], "b");
	assert_int_equal(jobs->items[1]->line, 7);
	assert_int_equal(jobs->items[1]->column, 5);
	/* Keys keep document order. */
	assert_string_equal(root->pairs[0].key->value, "name");
	assert_string_equal(root->pairs[1].key->value, "on");
	assert_string_equal(root->pairs[2].key->value, "jobs");
	assert_int_equal(root->pairs[2].key->line, 5);
	assert_null(yaml_get(root, "missing"));
	assert_null(yaml_get(jobs, "a"));
	assert_null(yaml_get(NULL, "a"));
	yaml_doc_free(doc);
}

static void test_quoted_styles_and_tags(void **state)
{
	struct yaml_doc *doc = parse_ok("plain: x\n"
					"single: 'x'\n"
					"double: \"a\\tb\"\n"
					"literal: |\n"
					"  line1\n"
					"  line2\n"
					"folded: >\n"
					"  one\n"
					"  two\n"
					"ref: !reference [.setup, script]\n"
					"str: !!str 12\n"
					"nul: \"a\\0b\"\n");
	const struct yaml_node *r = doc->root;
	assert_false(yaml_get(r, "plain")->quoted);
	assert_null(yaml_get(r, "plain")->tag);
	assert_true(yaml_get(r, "single")->quoted);
	assert_true(yaml_get(r, "double")->quoted);
	assert_scalar(yaml_get(r, "double"), "a\tb");
	assert_true(yaml_get(r, "literal")->quoted);
	assert_scalar(yaml_get(r, "literal"), "line1\nline2\n");
	assert_true(yaml_get(r, "folded")->quoted);
	assert_scalar(yaml_get(r, "folded"), "one two\n");
	const struct yaml_node *ref = yaml_get(r, "ref");
	assert_int_equal(ref->kind, YAML_SEQUENCE);
	assert_non_null(ref->tag);
	assert_string_equal(ref->tag, "!reference");
	assert_int_equal(ref->count, 2);
	assert_scalar(ref->items[0], ".setup");
	assert_string_equal(yaml_get(r, "str")->tag, "tag:yaml.org,2002:str");
	/* Embedded NUL survives: length is the real length. */
	const struct yaml_node *nul = yaml_get(r, "nul");
	assert_int_equal(nul->length, 3);
	assert_memory_equal(nul->value, "a\0b", 4);
	yaml_doc_free(doc);
}

static void test_nested_flow_and_block(void **state)
{
	struct yaml_doc *doc = parse_ok("matrix: {os: [linux, {name: mac, arch: [arm64, x64]}], "
					"n: 3}\n"
					"steps:\n"
					"  - run: make\n"
					"    env: {A: '1', B: [x, y]}\n"
					"  - [a, [b, [c]]]\n"
					"empty_map: {}\n"
					"empty_seq: []\n");
	const struct yaml_node *r = doc->root;
	const struct yaml_node *os = yaml_get(yaml_get(r, "matrix"), "os");
	assert_int_equal(os->count, 2);
	const struct yaml_node *arch = yaml_get(os->items[1], "arch");
	assert_scalar(arch->items[1], "x64");
	const struct yaml_node *steps = yaml_get(r, "steps");
	assert_int_equal(steps->count, 2);
	assert_scalar(yaml_get(yaml_get(steps->items[0], "env"), "A"), "1");
	const struct yaml_node *deep = steps->items[1]->items[1]->items[1];
	assert_int_equal(deep->kind, YAML_SEQUENCE);
	assert_scalar(deep->items[0], "c");
	assert_int_equal(yaml_get(r, "empty_map")->kind, YAML_MAPPING);
	assert_int_equal(yaml_get(r, "empty_map")->count, 0);
	assert_int_equal(yaml_get(r, "empty_seq")->kind, YAML_SEQUENCE);
	assert_int_equal(yaml_get(r, "empty_seq")->count, 0);
	yaml_doc_free(doc);
}

static void test_anchor_alias_same_node(void **state)
{
	struct yaml_doc *doc = parse_ok("base: &b {image: alpine}\n"
					"copy: *b\n"
					"word: &w hello\n"
					"list: [*w, *w]\n");
	const struct yaml_node *r = doc->root;
	assert_ptr_equal(yaml_get(r, "base"), yaml_get(r, "copy"));
	const struct yaml_node *list = yaml_get(r, "list");
	assert_ptr_equal(list->items[0], yaml_get(r, "word"));
	assert_ptr_equal(list->items[1], yaml_get(r, "word"));
	assert_scalar(list->items[0], "hello");
	yaml_doc_free(doc);
}

static void test_anchor_redefined(void **state)
{
	struct yaml_doc *doc = parse_ok("a: &x one\nb: *x\nc: &x two\nd: *x\n");
	assert_scalar(yaml_get(doc->root, "b"), "one");
	assert_scalar(yaml_get(doc->root, "d"), "two");
	yaml_doc_free(doc);
}

static void test_undefined_alias(void **state)
{
	struct err e;
	const char *msg = parse_fail("a: 1\nb:\n  c: *nope\n", &e);
	assert_contains(msg, "t.yml:3:6:");
	assert_contains(msg, "undefined alias '*nope'");
}

static void test_recursive_alias(void **state)
{
	struct err e;
	const char *msg = parse_fail("a: &x\n  b: *x\n", &e);
	assert_contains(msg, "t.yml:2:6:");
	assert_contains(msg, "contains it");
	msg = parse_fail("- &s [1, *s]\n", &e);
	assert_contains(msg, "t.yml:1:10:");
}

static void test_merge_single(void **state)
{
	struct yaml_doc *doc = parse_ok(".defaults: &defaults\n"
					"  image: ruby\n"
					"  stage: test\n"
					"  tags: [docker]\n"
					"job:\n"
					"  script: rake\n"
					"  <<: *defaults\n"
					"  stage: deploy\n");
	const struct yaml_node *job = yaml_get(doc->root, "job");
	assert_int_equal(job->kind, YAML_MAPPING);
	assert_int_equal(job->count, 4);
	/* Merged pairs sit where `<<` was; explicit keys override. */
	assert_string_equal(job->pairs[0].key->value, "script");
	assert_string_equal(job->pairs[1].key->value, "image");
	assert_string_equal(job->pairs[2].key->value, "tags");
	assert_string_equal(job->pairs[3].key->value, "stage");
	assert_scalar(yaml_get(job, "stage"), "deploy");
	assert_scalar(yaml_get(job, "image"), "ruby");
	assert_null(yaml_get(job, "<<"));
	/* The source mapping is untouched. */
	assert_int_equal(yaml_get(doc->root, ".defaults")->count, 3);
	yaml_doc_free(doc);
}

static void test_merge_list_and_nested(void **state)
{
	struct yaml_doc *doc = parse_ok("a: &a {x: 1, y: 1}\n"
					"b: &b {y: 2, z: 2}\n"
					"c: &c\n"
					"  <<: [*a, *b]\n"
					"  w: 0\n"
					"d:\n"
					"  <<: *c\n"
					"  <<: {w: 9, v: 9}\n"
					"e: {<<: {q: 1}, '<<': literal}\n");
	const struct yaml_node *c = yaml_get(doc->root, "c");
	assert_int_equal(c->count, 4);
	/* First mapping in the list wins. */
	assert_scalar(yaml_get(c, "y"), "1");
	assert_scalar(yaml_get(c, "z"), "2");
	assert_scalar(yaml_get(c, "x"), "1");
	assert_scalar(yaml_get(c, "w"), "0");
	const struct yaml_node *d = yaml_get(doc->root, "d");
	/* A later `<<` wins over an earlier one. */
	assert_scalar(yaml_get(d, "w"), "9");
	assert_scalar(yaml_get(d, "v"), "9");
	assert_scalar(yaml_get(d, "x"), "1");
	assert_int_equal(d->count, 5);
	/* A quoted '<<' is an ordinary key. */
	const struct yaml_node *e = yaml_get(doc->root, "e");
	assert_int_equal(e->count, 2);
	assert_scalar(yaml_get(e, "q"), "1");
	assert_scalar(yaml_get(e, "<<"), "literal");
	yaml_doc_free(doc);
}

static void test_merge_bad_source(void **state)
{
	struct err e;
	const char *msg = parse_fail("a:\n  b: 1\n  <<: scalar\n", &e);
	assert_contains(msg, "t.yml:3:3:");
	assert_contains(msg, "merge key '<<' needs a mapping");
	assert_contains(msg, "'scalar'");
	msg = parse_fail("x: &x [1]\ny: {<<: [*x]}\n", &e);
	assert_contains(msg, "t.yml:2:5:");
	assert_contains(msg, "found a sequence");
}

static void test_duplicate_keys(void **state)
{
	struct err e;
	const char *msg = parse_fail("name: a\nother: b\nname: c\n", &e);
	assert_contains(msg, "t.yml:3:1:");
	assert_contains(msg, "duplicate key 'name'");
	assert_contains(msg, "first defined at line 1");
	msg = parse_fail("top:\n  {a: 1, b: 2, a: 3}\n", &e);
	assert_contains(msg, "t.yml:2:16:");
	assert_contains(msg, "line 2, column 4");
	/* Same key text, different quoting: still the same key. */
	msg = parse_fail("k: 1\n'k': 2\n", &e);
	assert_contains(msg, "t.yml:2:1:");
	/* Many keys: the hashed path finds the duplicate too. */
	struct buf b = BUF_INIT;
	for (int i = 0; i < 500; i++)
		buf_addf(&b, "key%d: %d\n", i, i);
	buf_adds(&b, "key123: again\n");
	msg = parse_fail(buf_cstr(&b), &e);
	assert_contains(msg, "t.yml:501:1: duplicate key 'key123' (first defined at line 124");
	buf_free(&b);
	/* A duplicate only within a merge is fine: explicit keys override. */
	struct yaml_doc *doc = parse_ok("a: &a {k: 1}\nb: {<<: *a, k: 2}\n");
	yaml_doc_free(doc);
}

static void test_syntax_errors(void **state)
{
	struct err e;
	const char *msg = parse_fail("a: 1\nb: 2\nc: d: e\n", &e);
	assert_contains(msg, "t.yml:3:5: mapping values are not allowed in this context");
	msg = parse_fail("list:\n  - a\n  - [b, c\n", &e);
	assert_contains(msg, "t.yml:4:1:");
	assert_contains(msg, "while parsing a flow sequence at line 3, column 5");
	msg = parse_fail("key: \"unterminated\n", &e);
	assert_contains(msg, "t.yml:2:1:");
	assert_contains(msg, "found unexpected end of stream");
	msg = parse_fail("a:\n  b: 1\n c: 2\n", &e);
	assert_contains(msg, "t.yml:3:2:");
	msg = parse_fail("x: @bad\n", &e);
	assert_contains(msg, "t.yml:1:4:");
	assert_contains(msg, "cannot start any token");
}

static void test_tabs(void **state)
{
	struct err e;
	/* A tab cannot indent YAML. */
	const char *msg = parse_fail("a:\n\tb: 1\n", &e);
	assert_contains(msg, "t.yml:2:");
	assert_contains(msg, "tab");
	/* Tabs inside values and after the colon are fine. */
	struct yaml_doc *doc = parse_ok("a:\tone\tvalue\nb: \"x\ty\"\n");
	assert_scalar(yaml_get(doc->root, "a"), "one\tvalue");
	assert_scalar(yaml_get(doc->root, "b"), "x\ty");
	yaml_doc_free(doc);
}

static void test_unicode(void **state)
{
	struct yaml_doc *doc = parse_ok("greeting: héllo wörld\n"
					"emoji: \"\\U0001F600\"\n"
					"ключ: значение\n"
					"é: 1\n");
	assert_scalar(yaml_get(doc->root, "greeting"), "héllo wörld");
	assert_scalar(yaml_get(doc->root, "emoji"), "\xF0\x9F\x98\x80");
	assert_scalar(yaml_get(doc->root, "ключ"), "значение");
	/* Columns count characters, not bytes. */
	assert_int_equal(yaml_get(doc->root, "é")->column, 4);
	yaml_doc_free(doc);
	/* A BOM is skipped. */
	doc = parse_ok("\xEF\xBB\xBFk: v\n");
	assert_scalar(yaml_get(doc->root, "k"), "v");
	yaml_doc_free(doc);
	struct err e;
	const char *msg = parse_fail("ok: 1\nbad: \xff\xfe\n", &e);
	assert_contains(msg, "t.yml:2:6:");
	assert_contains(msg, "UTF-8");
}

static void test_empty_documents(void **state)
{
	const char *empties[] = { "", "# only a comment\n", "---\n", "---\n...\n", "   \n\n" };
	for (size_t i = 0; i < sizeof(empties) / sizeof(*empties); i++) {
		struct yaml_doc *doc = parse_ok(empties[i]);
		assert_null(doc->root);
		assert_string_equal(doc->file, "t.yml");
		yaml_doc_free(doc);
	}
	struct yaml_doc *doc = NULL;
	struct err e = ERR_INIT;
	assert_int_equal(yaml_parse(&doc, NULL, NULL, 0, &e), 0);
	assert_null(doc->root);
	yaml_doc_free(doc);
	/* A quoted empty string is a value, not an empty document. */
	doc = parse_ok("''\n");
	assert_non_null(doc->root);
	assert_true(doc->root->quoted);
	yaml_doc_free(doc);
}

static void test_multi_document(void **state)
{
	const char *text = "a: 1\n"
			   "---\n"
			   "- x\n"
			   "- y\n"
			   "---\n"
			   "---\n"
			   "scalar\n"
			   "...\n";
	struct yaml_doc **docs = NULL;
	size_t count = 0;
	struct err e = ERR_INIT;
	assert_int_equal(yaml_parse_all(&docs, &count, "m.yml", text, strlen(text), &e), 0);
	assert_int_equal(count, 4);
	assert_int_equal(docs[0]->root->kind, YAML_MAPPING);
	assert_int_equal(docs[1]->root->kind, YAML_SEQUENCE);
	assert_int_equal(docs[1]->root->line, 3);
	assert_null(docs[2]->root);
	assert_scalar(docs[3]->root, "scalar");
	assert_int_equal(docs[3]->root->line, 7);
	yaml_docs_free(docs, count);

	/* yaml_parse keeps only the first. */
	struct yaml_doc *doc = parse_ok(text);
	assert_int_equal(doc->root->kind, YAML_MAPPING);
	yaml_doc_free(doc);

	/* Anchors do not cross documents. */
	const char *cross = "a: &x 1\n---\nb: *x\n";
	assert_int_equal(yaml_parse_all(&docs, &count, "m.yml", cross, strlen(cross), &e), -1);
	assert_contains(e.msg, "m.yml:3:4: undefined alias");
	assert_null(docs);
	assert_int_equal(count, 0);

	/* An error in a later document fails the whole stream. */
	const char *late = "a: 1\n---\nb: [\n";
	assert_int_equal(yaml_parse_all(&docs, &count, "m.yml", late, strlen(late), &e), -1);
	assert_contains(e.msg, "m.yml:4:1:");

	assert_int_equal(yaml_parse_all(&docs, &count, "m.yml", "", 0, &e), 0);
	assert_int_equal(count, 0);
	yaml_docs_free(docs, count);
}

static void test_billion_laughs(void **state)
{
	const char *bomb = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
			   "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
			   "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
			   "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
			   "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
			   "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
			   "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
			   "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
			   "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]\n";
	struct err e;
	const char *msg = parse_fail(bomb, &e);
	assert_contains(msg, "alias bomb");
	assert_contains(msg, "t.yml:7:");

	/* The same shape through merge keys. */
	struct buf b = BUF_INIT;
	buf_adds(&b, "m0: &m0 {");
	for (int k = 0; k < 200; k++)
		buf_addf(&b, "%sk%d: v", k ? ", " : "", k);
	buf_adds(&b, "}\n");
	for (int i = 0; i < 20000; i++)
		buf_addf(&b, "x%d: {<<: *m0}\n", i);
	msg = parse_fail(buf_cstr(&b), &e);
	assert_contains(msg, "alias bomb");
	buf_free(&b);

	/* Moderate reuse is fine. */
	struct yaml_doc *doc = parse_ok("a: &a [1, 2, 3]\nb: [*a, *a, *a]\nc: {<<: {x: 1}}\n");
	assert_int_equal(yaml_get(doc->root, "b")->count, 3);
	yaml_doc_free(doc);
}

static void test_depth_limit(void **state)
{
	struct buf b = BUF_INIT;
	for (int i = 0; i < 2000; i++)
		buf_addch(&b, '[');
	for (int i = 0; i < 2000; i++)
		buf_addch(&b, ']');
	struct err e;
	const char *msg = parse_fail(buf_cstr(&b), &e);
	assert_contains(msg, "nesting deeper than");
	buf_free(&b);
	buf_init(&b);
	for (int i = 0; i < 100; i++)
		buf_addch(&b, '[');
	for (int i = 0; i < 100; i++)
		buf_addch(&b, ']');
	struct yaml_doc *doc = parse_ok(buf_cstr(&b));
	yaml_doc_free(doc);
	buf_free(&b);
}

static void test_is_null_and_str(void **state)
{
	struct yaml_doc *doc = parse_ok("a:\nb: ~\nc: null\nd: NULL\ne: ''\nf: 'null'\ng: x\n"
					"h: !!null ''\ni: []\nj: Null\nk: nil\n");
	const struct yaml_node *r = doc->root;
	assert_true(yaml_is_null(yaml_get(r, "a")));
	assert_true(yaml_is_null(yaml_get(r, "b")));
	assert_true(yaml_is_null(yaml_get(r, "c")));
	assert_true(yaml_is_null(yaml_get(r, "d")));
	assert_true(yaml_is_null(yaml_get(r, "j")));
	assert_false(yaml_is_null(yaml_get(r, "e")));
	assert_false(yaml_is_null(yaml_get(r, "f")));
	assert_false(yaml_is_null(yaml_get(r, "g")));
	assert_false(yaml_is_null(yaml_get(r, "h")));
	assert_false(yaml_is_null(yaml_get(r, "i")));
	assert_false(yaml_is_null(yaml_get(r, "k")));
	assert_true(yaml_is_null(NULL));
	assert_string_equal(yaml_str(yaml_get(r, "g")), "x");
	assert_string_equal(yaml_str(yaml_get(r, "a")), "");
	assert_null(yaml_str(yaml_get(r, "i")));
	assert_null(yaml_str(NULL));
	assert_string_equal(yaml_kind_name(YAML_SCALAR), "scalar");
	assert_string_equal(yaml_kind_name(YAML_SEQUENCE), "sequence");
	assert_string_equal(yaml_kind_name(YAML_MAPPING), "mapping");
	yaml_doc_free(doc);
}

static void test_bool(void **state)
{
	struct yaml_doc *doc = parse_ok("t: [true, True, TRUE]\nf: [false, False, FALSE]\n"
					"bad: [yes, 'true', tRUE, 1, {a: b}, '', on]\n");
	const struct yaml_node *r = doc->root;
	struct err e = ERR_INIT;
	bool v;
	for (size_t i = 0; i < 3; i++) {
		v = false;
		assert_int_equal(yaml_bool(yaml_get(r, "t")->items[i], "t.yml", &v, &e), 0);
		assert_true(v);
		v = true;
		assert_int_equal(yaml_bool(yaml_get(r, "f")->items[i], "t.yml", &v, &e), 0);
		assert_false(v);
	}
	const struct yaml_node *bad = yaml_get(r, "bad");
	const char *expect[] = {
		"t.yml:3:7: expected true or false, found 'yes'",
		"t.yml:3:12: expected true or false, found 'true' (a quoted string)",
		"t.yml:3:20: expected true or false, found 'tRUE'",
		"t.yml:3:26: expected true or false, found '1'",
		"t.yml:3:29: expected true or false, found a mapping",
		"t.yml:3:37: expected true or false, found '' (a quoted string)",
		"t.yml:3:41: expected true or false, found 'on'",
	};
	assert_int_equal(bad->count, 7);
	for (size_t i = 0; i < bad->count; i++) {
		v = true;
		err_clear(&e);
		assert_int_equal(yaml_bool(bad->items[i], "t.yml", &v, &e), -1);
		assert_string_equal(e.msg, expect[i]);
		assert_true(v);
	}
	assert_int_equal(yaml_bool(NULL, "t.yml", &v, &e), -1);
	assert_string_equal(e.msg, "t.yml: expected true or false, found nothing");
	yaml_doc_free(doc);
}

static void test_int(void **state)
{
	struct yaml_doc *doc =
		parse_ok("ok: [0, 42, -7, +5, 0x1F, 0xff, 0o17, 007, "
			 "9223372036854775807, -9223372036854775808]\n"
			 "bad: [1.5, abc, '12', 0x, 0o8, -0x1, 1_000, "
			 "9223372036854775808, -9223372036854775809, 0x8000000000000000, "
			 "~, 99999999999999999999999, ' 1']\n");
	const long long want[] = { 0, 42, -7, 5, 31, 255, 15, 7, LLONG_MAX, LLONG_MIN };
	const struct yaml_node *ok = yaml_get(doc->root, "ok");
	struct err e = ERR_INIT;
	assert_int_equal(ok->count, 10);
	for (size_t i = 0; i < ok->count; i++) {
		long long v = 12345;
		if (yaml_int(ok->items[i], "t.yml", &v, &e) != 0)
			fail_msg("%s", e.msg);
		assert_true(v == want[i]);
	}
	const struct yaml_node *bad = yaml_get(doc->root, "bad");
	assert_int_equal(bad->count, 13);
	for (size_t i = 0; i < bad->count; i++) {
		long long v = 12345;
		err_clear(&e);
		assert_int_equal(yaml_int(bad->items[i], "t.yml", &v, &e), -1);
		assert_true(v == 12345);
		assert_true(strncmp(e.msg, "t.yml:2:", 8) == 0);
	}
	err_clear(&e);
	yaml_int(bad->items[1], "t.yml", &(long long){ 0 }, &e);
	assert_string_equal(e.msg, "t.yml:2:12: expected an integer, found 'abc'");
	yaml_int(bad->items[2], "t.yml", &(long long){ 0 }, &e);
	assert_string_equal(e.msg, "t.yml:2:17: expected an integer, found '12' (a quoted string)");
	yaml_int(bad->items[7], "t.yml", &(long long){ 0 }, &e);
	assert_string_equal(e.msg, "t.yml:2:45: integer '9223372036854775808' is out of range");
	yaml_int(bad->items[10], "t.yml", &(long long){ 0 }, &e);
	assert_string_equal(e.msg, "t.yml:2:108: expected an integer, found an empty value");
	yaml_doc_free(doc);
}

static void test_err_helper(void **state)
{
	struct yaml_doc *doc = parse_ok("a:\n  b: c\n");
	struct err e = ERR_INIT;
	const struct yaml_node *b = yaml_get(yaml_get(doc->root, "a"), "b");
	assert_int_equal(yaml_err(&e, "x.yml", b, "bad %s %d", "thing", 7), -1);
	assert_string_equal(e.msg, "x.yml:2:6: bad thing 7");
	assert_int_equal(yaml_err(&e, "x.yml", NULL, "top"), -1);
	assert_string_equal(e.msg, "x.yml: top");
	yaml_doc_free(doc);
}

static void test_load_file(void **state)
{
	char path[] = "/tmp/ampel-test-yaml-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *text = "k: v\nlist:\n  - 1\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	struct yaml_doc *doc = NULL;
	struct err e = ERR_INIT;
	assert_int_equal(yaml_load_file(&doc, path, &e), 0);
	assert_string_equal(doc->file, path);
	assert_scalar(yaml_get(doc->root, "k"), "v");
	yaml_doc_free(doc);

	FILE *f = fopen(path, "w");
	fputs("k: v\nk: w\n", f);
	fclose(f);
	assert_int_equal(yaml_load_file(&doc, path, &e), -1);
	assert_null(doc);
	assert_true(strncmp(e.msg, path, strlen(path)) == 0);
	assert_contains(e.msg, ":2:1: duplicate key 'k'");
	unlink(path);

	assert_int_equal(yaml_load_file(&doc, "/nonexistent/ampel.yml", &e), -1);
	assert_null(doc);
	assert_contains(e.msg, "/nonexistent/ampel.yml");
}

static void test_arena_owns_tree(void **state)
{
	struct yaml_doc *doc = parse_ok("a: [1, 2, 3]\n");
	assert_non_null(doc->arena);
	assert_true(arena_used(doc->arena) > 0);
	yaml_doc_free(doc);
	yaml_doc_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_block_mapping_positions),
		cmocka_unit_test(test_quoted_styles_and_tags),
		cmocka_unit_test(test_nested_flow_and_block),
		cmocka_unit_test(test_anchor_alias_same_node),
		cmocka_unit_test(test_anchor_redefined),
		cmocka_unit_test(test_undefined_alias),
		cmocka_unit_test(test_recursive_alias),
		cmocka_unit_test(test_merge_single),
		cmocka_unit_test(test_merge_list_and_nested),
		cmocka_unit_test(test_merge_bad_source),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_tabs),
		cmocka_unit_test(test_unicode),
		cmocka_unit_test(test_empty_documents),
		cmocka_unit_test(test_multi_document),
		cmocka_unit_test(test_billion_laughs),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_is_null_and_str),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_int),
		cmocka_unit_test(test_err_helper),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_arena_owns_tree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
