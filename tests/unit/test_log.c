#include "util/log.h"

#include "util/buf.h"
#include "util/str.h"
#include "util/vec.h"

#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct capture {
	char *data;
	size_t size;
	FILE *stream;
};

static int capture_setup(void **state)
{
	struct capture *c = calloc(1, sizeof(*c));
	c->stream = open_memstream(&c->data, &c->size);
	if (!c->stream)
		return -1;
	log_set_stream(c->stream);
	log_set_level(LOG_DEBUG);
	log_set_format(LOG_FORMAT_TEXT);
	*state = c;
	return 0;
}

static int capture_teardown(void **state)
{
	struct capture *c = *state;
	log_set_stream(NULL);
	log_set_level(LOG_INFO);
	log_set_format(LOG_FORMAT_TEXT);
	fclose(c->stream);
	free(c->data);
	free(c);
	return 0;
}

/* Everything written so far; the capture starts again empty. */
static char *capture_take(struct capture *c)
{
	fclose(c->stream);
	char *out = c->data;
	c->data = NULL;
	c->size = 0;
	c->stream = open_memstream(&c->data, &c->size);
	assert_non_null(c->stream);
	log_set_stream(c->stream);
	return out;
}

static void assert_timestamp(const char *s)
{
	/* 2026-11-23T18:00:00.123Z */
	static const char pattern[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	for (size_t i = 0; pattern[i]; i++) {
		if (pattern[i] == 'd')
			assert_true(isdigit((unsigned char)s[i]));
		else
			assert_int_equal(s[i], pattern[i]);
	}
}

static void test_text_format(void **state)
{
	struct capture *c = *state;
	log_info("pipeline", "job started", "job", "build", "attempt", "2");
	char *out = capture_take(c);
	assert_timestamp(out);
	assert_string_equal(out + 24, " INFO  pipeline: job started job=build attempt=2\n");
	free(out);

	log_error("store", "query failed");
	out = capture_take(c);
	assert_string_equal(out + 24, " ERROR store: query failed\n");
	free(out);

	log_warn("x", "m");
	out = capture_take(c);
	assert_string_equal(out + 24, " WARN  x: m\n");
	free(out);

	log_debug("x", "m");
	out = capture_take(c);
	assert_string_equal(out + 24, " DEBUG x: m\n");
	free(out);
}

static void test_text_quoting(void **state)
{
	struct capture *c = *state;
	log_info("http", "request", "path", "/a b", "q", "say \"hi\"", "eq", "a=b", "empty", "",
		 "null", (const char *)NULL, "nl", "one\ntwo", "back", "c:\\dir", "plain",
		 "ok-value_1.2/x");
	char *out = capture_take(c);
	assert_string_equal(out + 24, " INFO  http: request path=\"/a b\" q=\"say \\\"hi\\\"\" "
				      "eq=\"a=b\" empty=\"\" null=\"\" nl=\"one\\ntwo\" "
				      "back=\"c:\\\\dir\" plain=ok-value_1.2/x\n");
	free(out);

	/* A message with a newline still makes one line. */
	log_info("m", "first\nsecond\r\x01", "k", "tab\there");
	out = capture_take(c);
	assert_string_equal(out + 24, " INFO  m: first\\nsecond\\r\\x01 k=\"tab\\there\"\n");
	assert_int_equal(strchr(out, '\n') - out, (long)strlen(out) - 1);
	free(out);
}

static void test_json_format(void **state)
{
	struct capture *c = *state;
	log_set_format(LOG_FORMAT_JSON);
	log_warn("deploy", "health check \"failed\"\n", "target", "fly", "detail",
		 "line1\nline2\ttab \\ \x01 \xc3\xa9", "empty", (const char *)NULL);
	char *out = capture_take(c);
	size_t len = strlen(out);
	assert_true(len > 0);
	assert_int_equal(out[len - 1], '\n');
	assert_null(memchr(out, '\n', len - 1));

	json_error_t error;
	json_t *obj = json_loads(out, 0, &error);
	if (!obj)
		fail_msg("invalid JSON line: %s: %s", error.text, out);
	assert_true(json_is_object(obj));
	const char *time = json_string_value(json_object_get(obj, "time"));
	assert_non_null(time);
	assert_timestamp(time);
	assert_int_equal(strlen(time), 24);
	assert_string_equal(json_string_value(json_object_get(obj, "level")), "warn");
	assert_string_equal(json_string_value(json_object_get(obj, "module")), "deploy");
	assert_string_equal(json_string_value(json_object_get(obj, "msg")),
			    "health check \"failed\"\n");
	assert_string_equal(json_string_value(json_object_get(obj, "target")), "fly");
	assert_string_equal(json_string_value(json_object_get(obj, "detail")),
			    "line1\nline2\ttab \\ \x01 \xc3\xa9");
	assert_string_equal(json_string_value(json_object_get(obj, "empty")), "");
	assert_int_equal(json_object_size(obj), 7);
	/* Field order is fixed so the lines read well with grep too. */
	assert_true(str_starts_with(out, "{\"time\":\""));
	assert_non_null(strstr(out, "\",\"level\":\"warn\",\"module\":\"deploy\",\"msg\":"));
	json_decref(obj);
	free(out);
}

static void test_json_invalid_utf8_stays_valid(void **state)
{
	struct capture *c = *state;
	log_set_format(LOG_FORMAT_JSON);
	/* Lone continuation, truncated sequence, overlong, surrogate, past U+10FFFF. */
	log_info("m", "bad \x80 \xc3 \xc0\xaf \xed\xa0\x80 \xf5\x80\x80\x80 end", "k\"ey",
		 "\xff\x7f");
	char *out = capture_take(c);
	json_error_t error;
	json_t *obj = json_loads(out, 0, &error);
	if (!obj)
		fail_msg("invalid JSON line: %s: %s", error.text, out);
	const char *msg = json_string_value(json_object_get(obj, "msg"));
	assert_true(str_starts_with(msg, "bad \xef\xbf\xbd "));
	assert_true(str_ends_with(msg, " end"));
	assert_string_equal(json_string_value(json_object_get(obj, "k\"ey")), "\xef\xbf\xbd\x7f");
	json_decref(obj);
	free(out);
}

static void test_level_filtering(void **state)
{
	struct capture *c = *state;
	log_set_level(LOG_WARN);
	assert_int_equal(log_get_level(), LOG_WARN);
	log_debug("m", "d");
	log_info("m", "i");
	log_warn("m", "w");
	log_error("m", "e");
	char *out = capture_take(c);
	assert_null(strstr(out, "m: d"));
	assert_null(strstr(out, "m: i"));
	assert_non_null(strstr(out, "WARN  m: w\n"));
	assert_non_null(strstr(out, "ERROR m: e\n"));
	free(out);

	log_set_level(LOG_OFF);
	log_error("m", "e");
	out = capture_take(c);
	assert_string_equal(out, "");
	free(out);

	log_set_level(LOG_DEBUG);
	log_debug("m", "d");
	out = capture_take(c);
	assert_non_null(strstr(out, "DEBUG m: d\n"));
	free(out);

	/* LOG_OFF is not a level an event can have. */
	log_emit(LOG_OFF, "m", "never", (const char *)NULL);
	out = capture_take(c);
	assert_string_equal(out, "");
	free(out);
}

static void test_parse(void **state)
{
	enum log_level level = LOG_INFO;
	assert_int_equal(log_parse_level("debug", &level), 0);
	assert_int_equal(level, LOG_DEBUG);
	assert_int_equal(log_parse_level("WARN", &level), 0);
	assert_int_equal(level, LOG_WARN);
	assert_int_equal(log_parse_level("warning", &level), 0);
	assert_int_equal(level, LOG_WARN);
	assert_int_equal(log_parse_level("error", &level), 0);
	assert_int_equal(level, LOG_ERROR);
	assert_int_equal(log_parse_level("off", &level), 0);
	assert_int_equal(level, LOG_OFF);
	assert_int_equal(log_parse_level("info", &level), 0);
	assert_int_equal(level, LOG_INFO);
	assert_int_equal(log_parse_level("verbose", &level), -1);
	assert_int_equal(log_parse_level("", &level), -1);
	assert_int_equal(log_parse_level(NULL, &level), -1);
	assert_int_equal(level, LOG_INFO);

	enum log_format format = LOG_FORMAT_TEXT;
	assert_int_equal(log_parse_format("json", &format), 0);
	assert_int_equal(format, LOG_FORMAT_JSON);
	assert_int_equal(log_parse_format("text", &format), 0);
	assert_int_equal(format, LOG_FORMAT_TEXT);
	assert_int_equal(log_parse_format("yaml", &format), -1);
	assert_int_equal(log_parse_format(NULL, &format), -1);
	assert_int_equal(format, LOG_FORMAT_TEXT);
}

enum { THREADS = 8, EVENTS = 500 };

static void *log_from_thread(void *arg)
{
	char id[16];
	snprintf(id, sizeof(id), "%d", (int)(intptr_t)arg);
	/* Long values make interleaving likely if one event were several writes. */
	char filler[600];
	memset(filler, 'a' + (int)(intptr_t)arg, sizeof(filler) - 1);
	filler[sizeof(filler) - 1] = '\0';
	for (int i = 0; i < EVENTS; i++)
		log_info("thread", "event", "thread", id, "filler", filler);
	return NULL;
}

static void test_threads_one_line_per_event(void **state)
{
	struct capture *c = *state;
	log_set_format(LOG_FORMAT_JSON);
	pthread_t threads[THREADS];
	for (intptr_t i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, log_from_thread, (void *)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	char *out = capture_take(c);
	struct vec lines = VEC_INIT;
	str_split(out, '\n', &lines);
	assert_int_equal(lines.len, THREADS * EVENTS + 1);
	assert_string_equal(vec_get(&lines, lines.len - 1), "");
	int per_thread[THREADS] = { 0 };
	for (size_t i = 0; i + 1 < lines.len; i++) {
		json_error_t error;
		json_t *obj = json_loads(vec_get(&lines, i), 0, &error);
		if (!obj)
			fail_msg("line %zu is not JSON: %s", i, error.text);
		int t = atoi(json_string_value(json_object_get(obj, "thread")));
		assert_in_range(t, 0, THREADS - 1);
		const char *filler = json_string_value(json_object_get(obj, "filler"));
		assert_int_equal(strlen(filler), 599);
		assert_int_equal(filler[0], 'a' + t);
		assert_int_equal(filler[598], 'a' + t);
		per_thread[t]++;
		json_decref(obj);
	}
	for (int t = 0; t < THREADS; t++)
		assert_int_equal(per_thread[t], EVENTS);
	vec_free(&lines, free);
	free(out);
}

static void test_null_module_and_message(void **state)
{
	struct capture *c = *state;
	log_emit(LOG_INFO, NULL, NULL, (const char *)NULL);
	char *out = capture_take(c);
	assert_string_equal(out + 24, " INFO  -: \n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_text_format, capture_setup, capture_teardown),
		cmocka_unit_test_setup_teardown(test_text_quoting, capture_setup, capture_teardown),
		cmocka_unit_test_setup_teardown(test_json_format, capture_setup, capture_teardown),
		cmocka_unit_test_setup_teardown(test_json_invalid_utf8_stays_valid, capture_setup,
						capture_teardown),
		cmocka_unit_test_setup_teardown(test_level_filtering, capture_setup,
						capture_teardown),
		cmocka_unit_test(test_parse),
		cmocka_unit_test_setup_teardown(test_threads_one_line_per_event, capture_setup,
						capture_teardown),
		cmocka_unit_test_setup_teardown(test_null_module_and_message, capture_setup,
						capture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
