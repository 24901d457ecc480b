/*
 * Fuzzes the expression language: any bytes must check, evaluate,
 * interpolate and serve as an if: condition or fail with a message, never
 * crash or hang, and whatever evaluates must be JSON jansson can write.
 * Evaluating parses more strictly than checking with any name allowed, so
 * an expression that evaluates must also check.
 */
#include "pipeline/expr.h"
#include "util/buf.h"
#include "util/err.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *fuzz_contexts(void)
{
	static json_t *contexts;
	if (!contexts) {
		contexts =
			json_loads("{\"github\": {\"ref\": \"refs/heads/main\", \"run_number\": 7,"
				   " \"event\": {\"labels\": [{\"name\": \"bug\"}, {}]}},"
				   " \"env\": {\"NAME\": \"world\", \"EMPTY\": \"\"},"
				   " \"matrix\": {\"os\": \"linux\", \"list\": [1, \"2\", null],"
				   " \"nested\": [[1], {\"a\": [true]}]}}",
				   0, NULL);
		if (!contexts)
			abort();
	}
	return contexts;
}

static void expect_message(const struct err *e)
{
	if (!e->msg[0])
		abort();
}

static void expect_writable(json_t *value)
{
	if (!value)
		abort();
	char *text = json_dumps(value, JSON_ENCODE_ANY);
	if (!text)
		abort();
	free(text);
	char *s = expr_value_to_string(value);
	free(s);
	(void)expr_value_truthy(value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	struct expr_env env = { fuzz_contexts(), EXPR_STATUS_SUCCESS, NULL, false };
	if (size > 0)
		env.status = (enum expr_status)(data[0] % 3);
	env.allow_status_functions = size > 1 && (data[1] & 1);

	struct err e = ERR_INIT;
	int checked = expr_check(text, NULL, &e);
	if (checked != 0)
		expect_message(&e);

	json_t *value = NULL;
	err_clear(&e);
	if (expr_evaluate(text, &env, &value, &e) == 0) {
		if (checked != 0)
			abort();
		expect_writable(value);
		json_decref(value);
	} else {
		if (value)
			abort();
		expect_message(&e);
	}

	struct buf out = BUF_INIT;
	err_clear(&e);
	if (expr_interpolate(text, &env, &out, &e) != 0)
		expect_message(&e);
	buf_free(&out);

	value = NULL;
	err_clear(&e);
	if (expr_interpolate_value(text, &env, &value, &e) == 0) {
		expect_writable(value);
		json_decref(value);
	} else {
		expect_message(&e);
	}

	bool truthy;
	err_clear(&e);
	if (expr_condition(text, &env, &truthy, &e) != 0)
		expect_message(&e);

	free(text);
	return 0;
}
