#include "util/progress.h"

#include "util/buf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

static FILE *out;

static int setup(void **state)
{
	out = tmpfile();
	if (!out)
		return -1;
	progress_set_quiet(false);
	return 0;
}

static int teardown(void **state)
{
	progress_set_output(NULL, false);
	progress_set_quiet(false);
	fclose(out);
	return 0;
}

static char *written(void)
{
	fflush(out);
	long len = ftell(out);
	assert_true(len >= 0);
	char *s = calloc(1, (size_t)len + 1);
	assert_non_null(s);
	rewind(out);
	assert_int_equal(fread(s, 1, (size_t)len, out), (size_t)len);
	return s;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void test_tty_shows_label_count_and_clears(void **state)
{
	progress_set_output(out, true);
	struct progress *p = progress_start("Analyzing");
	progress_set_unit(p, "files");
	assert_non_null(p);
	sleep_ms(120);
	progress_update(p, 1234, "src/foo");
	progress_done(p, NULL);

	char *s = written();
	assert_non_null(strstr(s, "Analyzing"));
	assert_non_null(strstr(s, "1234 files  src/foo"));
	assert_non_null(strstr(s, "\r\033[K"));
	/* The last thing written erases the line. */
	size_t len = strlen(s);
	assert_true(len >= 4);
	assert_string_equal(s + len - 4, "\r\033[K");
	free(s);
}

static void test_final_message_and_total(void **state)
{
	progress_set_output(out, true);
	struct progress *p = progress_start("Cloning");
	progress_set_total(p, 40);
	sleep_ms(120);
	progress_update(p, 12, NULL);
	progress_done(p, "Cloned 40 objects");

	char *s = written();
	assert_non_null(strstr(s, "Cloning"));
	assert_non_null(strstr(s, " 12/40"));
	size_t len = strlen(s);
	const char *tail = "\r\033[KCloned 40 objects\n";
	assert_true(len >= strlen(tail));
	assert_string_equal(s + len - strlen(tail), tail);
	free(s);
}

static void test_redraws_are_rate_limited(void **state)
{
	progress_set_output(out, true);
	struct progress *p = progress_start("Counting");
	for (size_t i = 0; i < 10000; i++)
		progress_update(p, i, "x");
	progress_done(p, NULL);

	char *s = written();
	size_t draws = 0;
	for (const char *q = s; (q = strstr(q, "Counting")) != NULL; q++)
		draws++;
	/* The first draw, maybe one more if the loop was slow; never 10000. */
	assert_true(draws >= 1);
	assert_true(draws < 50);
	free(s);
}

static void test_detail_is_sanitized_and_fits(void **state)
{
	progress_set_output(out, true);
	struct progress *p = progress_start("Walking");
	struct buf detail = BUF_INIT;
	buf_adds(&detail, "evil\033]0;title\007");
	for (int i = 0; i < 300; i++)
		buf_addch(&detail, 'd');
	buf_adds(&detail, "/end.txt");
	sleep_ms(120);
	progress_update(p, 1, detail.data);
	progress_done(p, NULL);

	char *s = written();
	assert_null(strstr(s, "\033]"));
	assert_null(strchr(s, '\007'));
	assert_non_null(strstr(s, "/end.txt"));
	/* Every drawn line fits the 80 columns assumed for a non-terminal. */
	for (char *line = strtok(s, "\r"); line; line = strtok(NULL, "\r")) {
		size_t cols = 0;
		for (const char *c = line; *c; c++) {
			if (((unsigned char)*c & 0xC0) != 0x80)
				cols++;
		}
		assert_true(cols <= 3 + 80); /* "\033[K" is 3 bytes */
	}
	buf_free(&detail);
	free(s);
}

static void test_not_a_tty_writes_nothing(void **state)
{
	progress_set_output(out, false); /* a tmpfile is not a terminal */
	struct progress *p = progress_start("Analyzing");
	progress_set_unit(p, "files");
	assert_non_null(p);
	progress_set_total(p, 5);
	sleep_ms(120);
	progress_update(p, 3, "src/x");
	progress_tick(p);
	progress_done(p, "done");

	char *s = written();
	assert_string_equal(s, "");
	free(s);
}

static void test_quiet_writes_nothing(void **state)
{
	progress_set_output(out, true);
	progress_set_quiet(true);
	struct progress *p = progress_start("Analyzing");
	progress_set_unit(p, "files");
	sleep_ms(120);
	progress_update(p, 3, "src/x");
	progress_done(p, "done");

	char *s = written();
	assert_string_equal(s, "");
	free(s);
}

static void test_null_handle_is_harmless(void **state)
{
	progress_update(NULL, 1, "x");
	progress_tick(NULL);
	progress_set_total(NULL, 3);
	progress_set_unit(NULL, "x");
	progress_done(NULL, "x");
	char *s = written();
	assert_string_equal(s, "");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tty_shows_label_count_and_clears, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_final_message_and_total, setup, teardown),
		cmocka_unit_test_setup_teardown(test_redraws_are_rate_limited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_detail_is_sanitized_and_fits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_tty_writes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quiet_writes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_null_handle_is_harmless, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
