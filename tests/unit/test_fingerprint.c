#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "intel/fingerprint.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const next_a =
	"{\"schema\": \"ampel.analysis/v1\", \"root\": \"/r/next-a\", \"projects\": [{"
	"\"path\": \".\","
	"\"languages\": [{\"name\": \"typescript\", \"confidence\": 0.9, \"bytes\": 900},"
	"               {\"name\": \"javascript\", \"confidence\": 0.1, \"bytes\": 100}],"
	"\"frameworks\": [{\"name\": \"nextjs\", \"confidence\": 0.9},"
	"                {\"name\": \"react\", \"confidence\": 0.9}],"
	"\"package_managers\": [\"pnpm\"], \"build_tools\": [], \"test_frameworks\": [\"vitest\"],"
	"\"linters\": [\"eslint\"], \"runtimes\": {\"node\": \"20\"},"
	"\"ci\": [{\"provider\": \"github\", \"path\": \".github/workflows/ci.yml\"}]}]}";

/* The same stack written in another order: must give the same fingerprint. */
static const char *const next_a_shuffled =
	"{\"root\": \"/r/next-a2\", \"schema\": \"ampel.analysis/v1\", \"projects\": [{"
	"\"runtimes\": {\"node\": \"20\"}, \"linters\": [\"eslint\"],"
	"\"ci\": [{\"provider\": \"github\"}],"
	"\"frameworks\": [{\"name\": \"react\", \"confidence\": 0.9},"
	"                {\"name\": \"nextjs\", \"confidence\": 0.9}],"
	"\"test_frameworks\": [\"vitest\"], \"package_managers\": [\"pnpm\"],"
	"\"languages\": [{\"name\": \"javascript\", \"confidence\": 0.1},"
	"               {\"name\": \"typescript\", \"confidence\": 0.9}]}]}";

static const char *const next_b =
	"{\"schema\": \"ampel.analysis/v1\", \"root\": \"/r/next-b\", \"projects\": [{"
	"\"languages\": [{\"name\": \"typescript\", \"confidence\": 0.8},"
	"               {\"name\": \"css\", \"confidence\": 0.2}],"
	"\"frameworks\": [{\"name\": \"nextjs\", \"confidence\": 0.8},"
	"                {\"name\": \"react\", \"confidence\": 0.85}],"
	"\"package_managers\": [\"npm\"], \"test_frameworks\": [\"jest\"],"
	"\"runtimes\": {\"node\": \"18\"}, \"ci\": [{\"provider\": \"github\"}]}]}";

static const char *const django =
	"{\"schema\": \"ampel.analysis/v1\", \"root\": \"/r/django\", \"projects\": [{"
	"\"languages\": [{\"name\": \"python\", \"confidence\": 1.0}],"
	"\"frameworks\": [{\"name\": \"django\", \"confidence\": 0.9}],"
	"\"package_managers\": [\"pip\"], \"test_frameworks\": [\"pytest\"],"
	"\"runtimes\": {\"python\": \"3.12\"}, \"ci\": [{\"provider\": \"github\"}]}]}";

static json_t *load(const char *text)
{
	json_t *doc = NULL;
	struct err e = ERR_INIT;
	if (json_read_string(&doc, "doc", text, strlen(text), &e) < 0)
		fail_msg("%s", e.msg);
	return doc;
}

static char *fingerprint_text(const char *doc_text)
{
	json_t *doc = load(doc_text);
	struct fingerprint *fp = fingerprint_from_document(doc);
	json_t *j = fingerprint_to_json(fp);
	struct buf out = BUF_INIT;
	struct err e = ERR_INIT;
	assert_int_equal(json_write_buf(&out, j, 0, &e), 0);
	json_decref(j);
	fingerprint_free(fp);
	json_decref(doc);
	return buf_detach(&out);
}

static double cosine(const char *a_text, const char *b_text)
{
	json_t *a = load(a_text), *b = load(b_text);
	struct fingerprint *fa = fingerprint_from_document(a);
	struct fingerprint *fb = fingerprint_from_document(b);
	double c = fingerprint_cosine(fa, fb);
	fingerprint_free(fa);
	fingerprint_free(fb);
	json_decref(a);
	json_decref(b);
	return c;
}

static void test_features_named_and_sorted(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		double weight;
	} expected[] = {
		{ "ci:github", 0.25 },
		{ "framework:nextjs", 0.9 },
		{ "framework:react", 0.9 },
		{ "language:javascript", 0.1 },
		{ "language:typescript", 0.9 },
		{ "lint:eslint", 0.25 },
		{ "pm:pnpm", 0.5 },
		{ "runtime:node", 0.75 },
		{ "test:vitest", 0.5 },
	};
	json_t *doc = load(next_a);
	struct fingerprint *fp = fingerprint_from_document(doc);
	json_t *j = fingerprint_to_json(fp);
	assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
	json_t *features = json_object_get(j, "features");
	assert_int_equal(json_object_size(features), sizeof(expected) / sizeof(*expected));
	const char *name;
	json_t *weight;
	size_t i = 0;
	json_object_foreach(features, name, weight)
	{
		assert_string_equal(name, expected[i].name);
		assert_true(json_real_value(weight) == expected[i].weight);
		i++;
	}
	json_decref(j);
	fingerprint_free(fp);
	json_decref(doc);
}

static void test_deterministic(void **state)
{
	(void)state;
	char *a = fingerprint_text(next_a);
	char *b = fingerprint_text(next_a);
	char *c = fingerprint_text(next_a_shuffled);
	assert_string_equal(a, b);
	assert_string_equal(a, c);
	free(a);
	free(b);
	free(c);
}

static void test_rounded_to_4_decimals(void **state)
{
	(void)state;
	json_t *doc = load("{\"projects\": [{\"languages\": [{\"name\": \"go\", "
			   "\"confidence\": 0.123456}]}]}");
	struct fingerprint *fp = fingerprint_from_document(doc);
	assert_int_equal(fp->count, 1);
	assert_string_equal(fp->features[0].name, "language:go");
	assert_true(fp->features[0].weight == 0.1235);
	fingerprint_free(fp);
	json_decref(doc);
}

static void test_identical_is_one(void **state)
{
	(void)state;
	assert_true(fabs(cosine(next_a, next_a) - 1.0) < 1e-12);
	assert_true(fabs(cosine(next_a, next_a_shuffled) - 1.0) < 1e-12);
}

static void test_unrelated_near_zero(void **state)
{
	(void)state;
	double c = cosine(next_a, django);
	assert_true(c >= 0);
	assert_true(c < 0.05); /* only ci:github in common */
	assert_true(cosine("{\"projects\": []}", next_a) == 0);
	assert_true(cosine("{}", "{}") == 0);
}

static void test_nextjs_closer_to_nextjs(void **state)
{
	(void)state;
	double next = cosine(next_a, next_b);
	double other = cosine(next_a, django);
	assert_true(next > 0.6);
	assert_true(next > other);
}

static void test_rank(void **state)
{
	(void)state;
	json_t *self = load(next_a);
	json_t *others[] = { load(django), load(next_b), load(next_a_shuffled) };
	struct fingerprint_match matches[3];
	struct err e = ERR_INIT;
	assert_int_equal(fingerprint_rank(self, others, 3, matches, &e), 0);
	assert_string_equal(matches[0].root, "/r/next-a2");
	assert_int_equal(matches[0].index, 2);
	assert_true(matches[0].similarity == 1.0);
	assert_string_equal(matches[1].root, "/r/next-b");
	assert_string_equal(matches[2].root, "/r/django");
	assert_true(matches[1].similarity > matches[2].similarity);
	/* rounded to 4 decimals */
	assert_true(round(matches[1].similarity * 10000) / 10000 == matches[1].similarity);
	for (size_t i = 0; i < 3; i++)
		json_decref(others[i]);
	json_decref(self);
}

/* Equal similarities are ordered by root, whatever order they came in. */
static void test_rank_ties_by_root(void **state)
{
	(void)state;
	json_t *self = load(django);
	json_t *z = load(next_a), *a = load(next_a);
	json_object_set_new(z, "root", json_string("/r/z"));
	json_object_set_new(a, "root", json_string("/r/a"));
	json_t *others[] = { z, a };
	struct fingerprint_match matches[2];
	struct err e = ERR_INIT;
	assert_int_equal(fingerprint_rank(self, others, 2, matches, &e), 0);
	assert_string_equal(matches[0].root, "/r/a");
	assert_string_equal(matches[1].root, "/r/z");
	json_decref(z);
	json_decref(a);
	json_decref(self);
}

static void test_rank_rejects_other_schema(void **state)
{
	(void)state;
	json_t *self = load(next_a);
	json_t *bad = load("{\"schema\": \"something/v9\", \"root\": \"/r/x\"}");
	json_t *others[] = { bad };
	struct fingerprint_match matches[1];
	struct err e = ERR_INIT;
	assert_int_equal(fingerprint_rank(self, others, 1, matches, &e), -1);
	assert_string_equal(e.msg, "other document 0 (/r/x): schema 'something/v9' is not "
				   "ampel.analysis/v1");
	json_t *list = fingerprint_similar_json(self, others, 1, &e);
	assert_null(list);
	json_decref(bad);
	json_decref(self);
}

static void test_json_round_trip(void **state)
{
	(void)state;
	json_t *doc = load(next_b);
	struct fingerprint *fp = fingerprint_from_document(doc);
	json_t *j = fingerprint_to_json(fp);
	struct fingerprint *back = NULL;
	struct err e = ERR_INIT;
	assert_int_equal(fingerprint_from_json(&back, j, &e), 0);
	assert_int_equal(back->count, fp->count);
	assert_true(fabs(fingerprint_cosine(fp, back) - 1.0) < 1e-12);
	/* A stored document carrying only its fingerprint compares the same. */
	json_t *stored = json_pack("{s:s, s:O}", "root", "/r/stored", "fingerprint", j);
	struct fingerprint *from_stored = fingerprint_from_document(stored);
	assert_int_equal(from_stored->count, fp->count);
	json_object_set_new(json_object_get(j, "features"), "pm:npm", json_integer(3));
	assert_int_equal(fingerprint_from_json(&back, j, &e) == 0 ? 0 : -1, -1);
	assert_non_null(strstr(e.msg, "'pm:npm'"));
	fingerprint_free(from_stored);
	fingerprint_free(back);
	fingerprint_free(fp);
	json_decref(stored);
	json_decref(j);
	json_decref(doc);
}

static void test_similar_json_explains(void **state)
{
	(void)state;
	json_t *self = load(next_a);
	json_t *others[] = { load(django), load(next_b) };
	struct err e = ERR_INIT;
	json_t *list = fingerprint_similar_json(self, others, 2, &e);
	assert_non_null(list);
	assert_int_equal(json_array_size(list), 2);
	json_t *first = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(first, "root")), "/r/next-b");
	json_t *shared = json_object_get(first, "shared");
	assert_string_equal(json_string_value(json_array_get(shared, 0)), "framework:react");
	/* equal contributions (0.9 * 0.8) in name order */
	assert_string_equal(json_string_value(json_array_get(shared, 1)), "framework:nextjs");
	assert_string_equal(json_string_value(json_array_get(shared, 2)), "language:typescript");
	json_t *second = json_array_get(list, 1);
	shared = json_object_get(second, "shared");
	assert_int_equal(json_array_size(shared), 1);
	assert_string_equal(json_string_value(json_array_get(shared, 0)), "ci:github");
	json_decref(list);
	json_decref(others[0]);
	json_decref(others[1]);
	json_decref(self);
}

/* Several projects: a feature keeps its highest weight. */
static void test_projects_merged(void **state)
{
	(void)state;
	json_t *doc = load("{\"projects\": ["
			   "{\"languages\": [{\"name\": \"go\", \"confidence\": 0.4}]},"
			   "{\"languages\": [{\"name\": \"go\", \"confidence\": 0.7}],"
			   " \"frameworks\": [\"gin\"]}]}");
	struct fingerprint *fp = fingerprint_from_document(doc);
	assert_int_equal(fp->count, 2);
	assert_string_equal(fp->features[0].name, "framework:gin");
	assert_true(fp->features[0].weight == 1.0);
	assert_string_equal(fp->features[1].name, "language:go");
	assert_true(fp->features[1].weight == 0.7);
	fingerprint_free(fp);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_features_named_and_sorted),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_rounded_to_4_decimals),
		cmocka_unit_test(test_identical_is_one),
		cmocka_unit_test(test_unrelated_near_zero),
		cmocka_unit_test(test_nextjs_closer_to_nextjs),
		cmocka_unit_test(test_rank),
		cmocka_unit_test(test_rank_ties_by_root),
		cmocka_unit_test(test_rank_rejects_other_schema),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_similar_json_explains),
		cmocka_unit_test(test_projects_merged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
