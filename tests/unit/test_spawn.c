#include "util/spawn.h"

#include "util/buf.h"
#include "util/err.h"
#include "util/vec.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

/* Collects callback output as "o:line" / "e:line" strings. */
struct lines {
	struct vec items;
	size_t calls;
	bool saw_unterminated; /* data[len] was not NUL */
};

static void collect(void *ctx, enum spawn_stream stream, const char *data, size_t len)
{
	struct lines *l = ctx;
	struct buf b = BUF_INIT;
	buf_adds(&b, stream == SPAWN_STDOUT ? "o:" : "e:");
	buf_add(&b, data, len);
	vec_push(&l->items, buf_detach(&b));
	l->calls++;
	if (data[len] != '\0')
		l->saw_unterminated = true;
}

static const char *line_at(const struct lines *l, size_t i)
{
	const char *s = vec_get(&l->items, i);
	return s ? s : "(none)";
}

static void lines_free(struct lines *l)
{
	vec_free(&l->items, free);
}

static int run_sh(const char *script, struct spawn_options *opt, struct spawn_result *res,
		  struct err *e)
{
	opt->shell_command = script;
	return spawn_run(opt, res, e);
}

/* A zombie left for a non-reaping init counts as gone. */
static bool process_alive(pid_t pid)
{
	if (kill(pid, 0) != 0)
		return false;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	char line[512] = "";
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	const char *paren = strrchr(line, ')');
	return !(paren && paren[1] == ' ' && paren[2] == 'Z');
}

static bool wait_gone(pid_t pid)
{
	for (int i = 0; i < 200; i++) {
		if (!process_alive(pid))
			return true;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return false;
}

static pid_t read_pid_file(const char *path)
{
	struct buf b = BUF_INIT;
	struct err e = ERR_INIT;
	pid_t pid = -1;
	if (buf_read_file(&b, path, 0, &e) == 0 && b.len > 0)
		pid = (pid_t)atoi(b.data);
	buf_free(&b);
	return pid;
}

static char *make_temp_dir(void)
{
	char *dir = xstrdup("/tmp/ampel-test-spawn-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void remove_tree(const char *dir)
{
	const char *argv[] = { "rm", "-rf", dir, NULL };
	struct buf out = BUF_INIT;
	struct err e = ERR_INIT;
	assert_int_equal(spawn_capture(argv, NULL, &out, NULL, &e), 0);
	buf_free(&out);
}

static void test_exit_codes(void **state)
{
	struct spawn_options opt = { 0 };
	struct spawn_result res;
	struct err e = ERR_INIT;

	assert_int_equal(run_sh("exit 3", &opt, &res, &e), 0);
	assert_int_equal(res.exit_code, 3);
	assert_int_equal(res.signal, 0);
	assert_false(res.timed_out);
	assert_false(res.cancelled);

	const char *argv[] = { "true", NULL };
	struct spawn_options opt2 = { .argv = argv };
	assert_int_equal(spawn_run(&opt2, &res, &e), 0);
	assert_int_equal(res.exit_code, 0);
	assert_true(res.duration_ms >= 0);
}

static void test_terminating_signal(void **state)
{
	struct spawn_options opt = { 0 };
	struct spawn_result res;
	struct err e = ERR_INIT;

	assert_int_equal(run_sh("kill -USR1 $$", &opt, &res, &e), 0);
	assert_int_equal(res.signal, SIGUSR1);
	assert_int_equal(res.exit_code, -1);
	assert_false(res.timed_out);
}

static void test_lines_with_partial_last_line(void **state)
{
	struct lines l = { VEC_INIT, 0, false };
	struct spawn_options opt = { .on_output = collect, .output_ctx = &l };
	struct spawn_result res;
	struct err e = ERR_INIT;

	assert_int_equal(run_sh("printf 'a\\n\\nb\\n'; printf 'err1\\n' >&2; printf partial", &opt,
				&res, &e),
			 0);
	assert_int_equal(res.exit_code, 0);
	/* Order between the two pipes is not defined; within each it is. */
	struct buf out = BUF_INIT, err = BUF_INIT;
	for (size_t i = 0; i < l.items.len; i++) {
		const char *s = line_at(&l, i);
		buf_adds(s[0] == 'o' ? &out : &err, s + 2);
		buf_addch(s[0] == 'o' ? &out : &err, '|');
	}
	assert_string_equal(buf_cstr(&out), "a||b|partial|");
	assert_string_equal(buf_cstr(&err), "err1|");
	assert_false(l.saw_unterminated);
	buf_free(&out);
	buf_free(&err);
	lines_free(&l);
}

static void test_long_lines_split_at_cap(void **state)
{
	struct lines l = { VEC_INIT, 0, false };
	struct spawn_options opt = { .on_output = collect, .output_ctx = &l, .line_max = 10 };
	struct spawn_result res;
	struct err e = ERR_INIT;

	/* 25 bytes, then exactly 10, then 3 without a newline. */
	assert_int_equal(
		run_sh("printf 'aaaaaaaaaabbbbbbbbbbccccc\\n0123456789\\nxyz'", &opt, &res, &e), 0);
	assert_int_equal(l.items.len, 5);
	assert_string_equal(line_at(&l, 0), "o:aaaaaaaaaa");
	assert_string_equal(line_at(&l, 1), "o:bbbbbbbbbb");
	assert_string_equal(line_at(&l, 2), "o:ccccc");
	assert_string_equal(line_at(&l, 3), "o:0123456789");
	assert_string_equal(line_at(&l, 4), "o:xyz");
	lines_free(&l);
}

static void test_default_line_cap_is_64k(void **state)
{
	struct lines l = { VEC_INIT, 0, false };
	struct spawn_options opt = { .on_output = collect, .output_ctx = &l };
	struct spawn_result res;
	struct err e = ERR_INIT;

	assert_int_equal(run_sh("head -c 150000 /dev/zero | tr '\\0' x", &opt, &res, &e), 0);
	assert_int_equal(l.items.len, 3);
	assert_int_equal(strlen(line_at(&l, 0)), 2 + 65536);
	assert_int_equal(strlen(line_at(&l, 1)), 2 + 65536);
	assert_int_equal(strlen(line_at(&l, 2)), 2 + 150000 - 2 * 65536);
	lines_free(&l);
}

static struct buf raw_seen;

static void collect_raw(void *ctx, enum spawn_stream stream, const char *data, size_t len)
{
	(void)ctx;
	assert_int_equal(stream, SPAWN_STDOUT);
	buf_add(&raw_seen, data, len);
}

static void test_raw_mode(void **state)
{
	struct spawn_options opt = { .on_output = collect_raw, .raw_output = true };
	struct spawn_result res;
	struct err e = ERR_INIT;

	buf_init(&raw_seen);
	assert_int_equal(run_sh("printf 'one\\ntwo'", &opt, &res, &e), 0);
	assert_string_equal(buf_cstr(&raw_seen), "one\ntwo");
	buf_free(&raw_seen);
}

static void test_large_output_both_streams(void **state)
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	struct spawn_options opt = { .stdout_buf = &out, .stderr_buf = &err };
	struct spawn_result res;
	struct err e = ERR_INIT;

	/* Alternating bursts: reading only one pipe at a time would deadlock. */
	assert_int_equal(run_sh("for i in 1 2 3 4; do head -c 1000000 /dev/zero; "
				"head -c 1000000 /dev/zero >&2; done",
				&opt, &res, &e),
			 0);
	assert_int_equal(res.exit_code, 0);
	assert_int_equal(out.len, 4000000);
	assert_int_equal(err.len, 4000000);
	buf_free(&out);
	buf_free(&err);
}

static void test_stdin_data_large(void **state)
{
	size_t n = 5 * 1000 * 1000;
	char *input = xmalloc(n);
	for (size_t i = 0; i < n; i++)
		input[i] = (char)('a' + i % 26);
	struct buf out = BUF_INIT;
	const char *argv[] = { "cat", NULL };
	struct spawn_options opt = {
		.argv = argv, .stdin_data = input, .stdin_len = n, .stdout_buf = &out
	};
	struct spawn_result res;
	struct err e = ERR_INIT;

	assert_int_equal(spawn_run(&opt, &res, &e), 0);
	assert_int_equal(res.exit_code, 0);
	assert_int_equal(out.len, n);
	assert_memory_equal(out.data, input, n);
	free(input);
	buf_free(&out);
}

static void test_stdin_default_is_devnull(void **state)
{
	struct buf out = BUF_INIT;
	const char *argv[] = { "wc", "-c", NULL };
	struct spawn_options opt = { .argv = argv, .stdout_buf = &out };
	struct spawn_result res;
	struct err e = ERR_INIT;

	assert_int_equal(spawn_run(&opt, &res, &e), 0);
	buf_rtrim(&out);
	assert_string_equal(buf_cstr(&out), "0");
	buf_free(&out);
}

static void test_child_closing_stdin_early_is_not_sigpipe(void **state)
{
	size_t n = 4 * 1000 * 1000;
	char *input = xcalloc(n, 1);
	/* Closes stdin but lives on, so our writes meet a pipe with no reader. */
	const char *argv[] = { "sh", "-c", "exec 0<&-; sleep 0.1", NULL };
	struct spawn_options opt = { .argv = argv, .stdin_data = input, .stdin_len = n };
	struct spawn_result res;
	struct err e = ERR_INIT;
	sigset_t before, after, pending;

	/* SIGPIPE is at its default here, so a stray one would end the test. */
	pthread_sigmask(SIG_SETMASK, NULL, &before);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(spawn_run(&opt, &res, &e), 0);
		assert_int_equal(res.exit_code, 0);
	}
	pthread_sigmask(SIG_SETMASK, NULL, &after);
	assert_int_equal(sigismember(&before, SIGPIPE), sigismember(&after, SIGPIPE));
	sigpending(&pending);
	assert_false(sigismember(&pending, SIGPIPE));
	free(input);
}

static void test_env_override_and_unset(void **state)
{
	struct buf out = BUF_INIT;
	const char *env[] = { "AMPEL_SPAWN_A=one", "AMPEL_SPAWN_B=two=2", NULL };
	const char *unset[] = { "AMPEL_SPAWN_GONE", NULL };
	struct spawn_options opt = { .env = env, .env_unset = unset, .stdout_buf = &out };
	struct spawn_result res;
	struct err e = ERR_INIT;

	setenv("AMPEL_SPAWN_A", "old", 1);
	setenv("AMPEL_SPAWN_GONE", "here", 1);
	setenv("AMPEL_SPAWN_KEPT", "kept", 1);
	assert_int_equal(run_sh("echo \"$AMPEL_SPAWN_A,$AMPEL_SPAWN_B,${AMPEL_SPAWN_GONE-unset},"
				"$AMPEL_SPAWN_KEPT\"; env | grep -c '^AMPEL_SPAWN_A='",
				&opt, &res, &e),
			 0);
	assert_string_equal(buf_cstr(&out), "one,two=2,unset,kept\n1\n");
	unsetenv("AMPEL_SPAWN_A");
	unsetenv("AMPEL_SPAWN_GONE");
	unsetenv("AMPEL_SPAWN_KEPT");
	buf_free(&out);
}

static void test_explicit_environment(void **state)
{
	struct buf out = BUF_INIT;
	const char *argv[] = { "env", NULL };
	const char *env[] = { "A=1", "B=2", NULL };
	struct spawn_options opt = {
		.argv = argv, .clear_env = true, .env = env, .stdout_buf = &out
	};
	struct spawn_result res;
	struct err e = ERR_INIT;

	/* No PATH in the child's environment: the default PATH finds env. */
	assert_int_equal(spawn_run(&opt, &res, &e), 0);
	assert_string_equal(buf_cstr(&out), "A=1\nB=2\n");
	buf_free(&out);
}

static void test_path_comes_from_child_env(void **state)
{
	char *dir = make_temp_dir();
	struct buf script = BUF_INIT, out = BUF_INIT, path_env = BUF_INIT;
	struct err e = ERR_INIT;

	buf_addf(&script, "%s/ampel-hello", dir);
	FILE *f = fopen(script.data, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\necho hello from path\n", f);
	fclose(f);
	assert_int_equal(chmod(script.data, 0755), 0);

	buf_addf(&path_env, "PATH=%s:/usr/bin:/bin", dir);
	const char *argv[] = { "ampel-hello", NULL };
	const char *env[] = { path_env.data, NULL };
	struct spawn_options opt = { .argv = argv, .env = env, .stdout_buf = &out };
	struct spawn_result res;
	assert_int_equal(spawn_run(&opt, &res, &e), 0);
	assert_string_equal(buf_cstr(&out), "hello from path\n");

	remove_tree(dir);
	free(dir);
	buf_free(&script);
	buf_free(&out);
	buf_free(&path_env);
}

static void test_bad_env_entry(void **state)
{
	const char *argv[] = { "true", NULL };
	const char *env[] = { "NOEQUALS", NULL };
	struct spawn_options opt = { .argv = argv, .env = env };
	struct spawn_result res;
	struct err e = ERR_INIT;

	assert_int_equal(spawn_run(&opt, &res, &e), -1);
	assert_string_equal(e.msg, "environment entry 'NOEQUALS' is not NAME=VALUE");
}

static void test_cwd(void **state)
{
	char *dir = make_temp_dir();
	char real[PATH_MAX];
	assert_non_null(realpath(dir, real));
	struct buf out = BUF_INIT;
	const char *argv[] = { "pwd", "-P", NULL };
	struct spawn_options opt = { .argv = argv, .cwd = dir, .stdout_buf = &out };
	struct spawn_result res;
	struct err e = ERR_INIT;

	assert_int_equal(spawn_run(&opt, &res, &e), 0);
	buf_rtrim(&out);
	assert_string_equal(buf_cstr(&out), real);

	/* A relative program path is relative to cwd, as in a shell there. */
	struct buf script = BUF_INIT;
	buf_addf(&script, "%s/run.sh", dir);
	FILE *f = fopen(script.data, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\necho ran\n", f);
	fclose(f);
	assert_int_equal(chmod(script.data, 0755), 0);
	const char *argv2[] = { "./run.sh", NULL };
	struct spawn_options opt2 = { .argv = argv2, .cwd = dir, .stdout_buf = &out };
	buf_reset(&out);
	assert_int_equal(spawn_run(&opt2, &res, &e), 0);
	assert_string_equal(buf_cstr(&out), "ran\n");

	remove_tree(dir);
	free(dir);
	buf_free(&out);
	buf_free(&script);
}

static void test_missing_program(void **state)
{
	const char *argv[] = { "ampel-no-such-program-zz", "x", NULL };
	struct spawn_options opt = { .argv = argv };
	struct spawn_result res;
	struct err e = ERR_INIT;

	assert_int_equal(spawn_run(&opt, &res, &e), -1);
	assert_string_equal(e.msg, "ampel-no-such-program-zz: command not found");

	const char *argv2[] = { "/nonexistent/tool", NULL };
	opt.argv = argv2;
	assert_int_equal(spawn_run(&opt, &res, &e), -1);
	assert_string_equal(e.msg, "/nonexistent/tool: cannot run: No such file or directory");

	const char *argv3[] = { "/tmp", NULL };
	opt.argv = argv3;
	assert_int_equal(spawn_run(&opt, &res, &e), -1);
	assert_string_equal(e.msg, "/tmp: cannot run: is a directory");

	struct buf out = BUF_INIT;
	assert_int_equal(spawn_capture(argv, NULL, &out, NULL, &e), -1);
	assert_string_equal(e.msg, "ampel-no-such-program-zz: command not found");
	buf_free(&out);
}

static void test_exec_failure_is_not_exit_127(void **state)
{
	char *dir = make_temp_dir();
	struct buf script = BUF_INIT;
	struct err e = ERR_INIT;

	/* Exists and is executable, but its interpreter does not exist: only
	 * exec itself can find that out. */
	buf_addf(&script, "%s/bad.sh", dir);
	FILE *f = fopen(script.data, "w");
	assert_non_null(f);
	fputs("#!/nonexistent/interpreter\n", f);
	fclose(f);
	assert_int_equal(chmod(script.data, 0755), 0);
	const char *argv[] = { script.data, NULL };
	struct spawn_options opt = { .argv = argv };
	struct spawn_result res;
	assert_int_equal(spawn_run(&opt, &res, &e), -1);
	assert_non_null(strstr(e.msg, "bad.sh: cannot run: No such file or directory"));

	remove_tree(dir);
	free(dir);
	buf_free(&script);
}

static void test_missing_cwd(void **state)
{
	const char *argv[] = { "true", NULL };
	struct spawn_options opt = { .argv = argv, .cwd = "/nonexistent/ampel-dir" };
	struct spawn_result res;
	struct err e = ERR_INIT;

	assert_int_equal(spawn_run(&opt, &res, &e), -1);
	assert_string_equal(e.msg,
			    "true: working directory '/nonexistent/ampel-dir' does not exist");
}

static void test_shell_command_and_custom_shell(void **state)
{
	struct buf out = BUF_INIT;
	struct spawn_options opt = { .shell_command = "echo $((1 + 2))", .stdout_buf = &out };
	struct spawn_result res;
	struct err e = ERR_INIT;

	assert_int_equal(spawn_run(&opt, &res, &e), 0);
	assert_string_equal(buf_cstr(&out), "3\n");

	const char *shell[] = { "/bin/sh", "-e", "-c", NULL };
	struct spawn_options opt2 = { .shell_command = "false; echo not reached",
				      .shell = shell,
				      .stdout_buf = &out };
	buf_reset(&out);
	assert_int_equal(spawn_run(&opt2, &res, &e), 0);
	assert_int_equal(res.exit_code, 1);
	assert_string_equal(buf_cstr(&out), "");
	buf_free(&out);
}

static void test_stderr_merged_into_stdout(void **state)
{
	struct buf out = BUF_INIT;
	struct spawn_options opt = { .stdout_buf = &out, .stderr_to = SPAWN_TO_STDOUT };
	struct spawn_result res;
	struct err e = ERR_INIT;

	assert_int_equal(run_sh("echo a; echo b >&2; echo c", &opt, &res, &e), 0);
	assert_string_equal(buf_cstr(&out), "a\nb\nc\n");

	struct spawn_options bad = { .shell_command = "true", .stdout_to = SPAWN_TO_STDOUT };
	assert_int_equal(spawn_run(&bad, &res, &e), -1);
	buf_free(&out);
}

static void test_timeout_kills_whole_group(void **state)
{
	char *dir = make_temp_dir();
	struct buf script = BUF_INIT, pidfile = BUF_INIT;
	/* A grace longer than the bound below: only SIGTERM reaching the
	 * grandchild, not the later SIGKILL, can make this return in time. */
	struct spawn_options opt = { .timeout_ms = 300, .kill_grace_ms = 30000 };
	struct spawn_result res;
	struct err e = ERR_INIT;

	/* The grandchild also holds stdout open: EOF alone would never come. */
	buf_addf(&pidfile, "%s/pid", dir);
	buf_addf(&script, "sleep 30 & echo $! > '%s'; sleep 30", pidfile.data);
	assert_int_equal(run_sh(script.data, &opt, &res, &e), 0);
	assert_true(res.timed_out);
	assert_false(res.cancelled);
	assert_int_equal(res.signal, SIGTERM);
	assert_true(res.duration_ms >= 250);
	assert_true(res.duration_ms < 10000);

	pid_t grandchild = read_pid_file(pidfile.data);
	assert_true(grandchild > 0);
	assert_true(wait_gone(grandchild));

	remove_tree(dir);
	free(dir);
	buf_free(&script);
	buf_free(&pidfile);
}

static void test_sigterm_ignored_gets_sigkill(void **state)
{
	struct spawn_options opt = { .timeout_ms = 200, .kill_grace_ms = 300 };
	struct spawn_result res;
	struct err e = ERR_INIT;

	assert_int_equal(run_sh("trap '' TERM; sleep 30; sleep 30", &opt, &res, &e), 0);
	assert_true(res.timed_out);
	assert_int_equal(res.signal, SIGKILL);
	assert_true(res.duration_ms >= 400);
	assert_true(res.duration_ms < 10000);
}

struct canceller {
	atomic_int flag;
};

static void *cancel_later(void *arg)
{
	struct canceller *c = arg;
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	atomic_store(&c->flag, 1);
	return NULL;
}

static void test_cancel_from_another_thread(void **state)
{
	struct canceller c;
	atomic_init(&c.flag, 0);
	const char *argv[] = { "sleep", "30", NULL };
	struct spawn_options opt = { .argv = argv, .cancel = &c.flag };
	struct spawn_result res;
	struct err e = ERR_INIT;
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, cancel_later, &c), 0);
	assert_int_equal(spawn_run(&opt, &res, &e), 0);
	pthread_join(t, NULL);
	assert_true(res.cancelled);
	assert_false(res.timed_out);
	assert_int_equal(res.signal, SIGTERM);
	assert_true(res.duration_ms < 10000);

	/* Cancelled before it started: nothing runs. */
	struct buf err_out = BUF_INIT;
	struct spawn_options again = { .shell_command = "echo ran >&2",
				       .cancel = &c.flag,
				       .stderr_buf = &err_out };
	assert_int_equal(spawn_run(&again, &res, &e), 0);
	assert_true(res.cancelled);
	assert_int_equal(res.exit_code, -1);
	assert_int_equal(err_out.len, 0);
	buf_free(&err_out);
}

static void test_drain_bound_for_background_children(void **state)
{
	char *dir = make_temp_dir();
	struct buf script = BUF_INIT, pidfile = BUF_INIT, out = BUF_INIT;
	struct spawn_options opt = { .drain_ms = 200, .stdout_buf = &out };
	struct spawn_result res;
	struct err e = ERR_INIT;

	buf_addf(&pidfile, "%s/pid", dir);
	buf_addf(&script, "sleep 30 & echo $! > '%s'; echo started", pidfile.data);
	assert_int_equal(run_sh(script.data, &opt, &res, &e), 0);
	assert_int_equal(res.exit_code, 0);
	assert_false(res.timed_out);
	assert_true(res.duration_ms < 10000);
	assert_string_equal(buf_cstr(&out), "started\n");

	pid_t background = read_pid_file(pidfile.data);
	assert_true(background > 0);
	assert_true(process_alive(background)); /* not ours to kill on success */
	kill(background, SIGKILL);
	assert_true(wait_gone(background));

	remove_tree(dir);
	free(dir);
	buf_free(&script);
	buf_free(&pidfile);
	buf_free(&out);
}

static void test_escaped_grandchild_does_not_hang_us(void **state)
{
	char *dir = make_temp_dir();
	struct buf script = BUF_INIT, pidfile = BUF_INIT;
	struct spawn_options opt = { .timeout_ms = 200, .kill_grace_ms = 200 };
	struct spawn_result res;
	struct err e = ERR_INIT;

	/* setsid leaves our process group, so no group kill reaches it, and
	 * it holds stdout open for 30 s. */
	buf_addf(&pidfile, "%s/pid", dir);
	buf_addf(&script, "setsid sleep 30 & echo $! > '%s'; sleep 30", pidfile.data);
	assert_int_equal(run_sh(script.data, &opt, &res, &e), 0);
	assert_true(res.timed_out);
	assert_true(res.duration_ms < 10000);

	pid_t escaped = read_pid_file(pidfile.data);
	assert_true(escaped > 0);
	kill(escaped, SIGKILL);
	assert_true(wait_gone(escaped));

	remove_tree(dir);
	free(dir);
	buf_free(&script);
	buf_free(&pidfile);
}

static void test_no_fd_leak(void **state)
{
	/* Opened without O_CLOEXEC on purpose, as careless code might. */
	int stray = open("/dev/null", O_RDONLY);
	assert_true(stray >= 0);
	struct buf out = BUF_INIT;
	struct spawn_options opt = { .stdout_buf = &out, .stdin_data = "x", .stdin_len = 1 };
	struct spawn_result res;
	struct err e = ERR_INIT;

	/* ls runs in the child, listing the shell's fds, not its own. */
	assert_int_equal(run_sh("ls /proc/$$/fd", &opt, &res, &e), 0);
	assert_string_equal(buf_cstr(&out), "0\n1\n2\n");
	close(stray);
	buf_free(&out);
}

static void test_capture(void **state)
{
	struct buf out = BUF_INIT;
	struct err e = ERR_INIT;
	int code = -5;

	const char *ok[] = { "printf", "hello", NULL };
	assert_int_equal(spawn_capture(ok, NULL, &out, NULL, &e), 0);
	assert_string_equal(buf_cstr(&out), "hello");

	const char *fail[] = { "sh", "-c", "echo partial; echo 'fatal: not a repo' >&2; exit 4",
			       NULL };
	buf_reset(&out);
	assert_int_equal(spawn_capture(fail, NULL, &out, NULL, &e), -1);
	assert_string_equal(e.msg, "sh: exited with status 4: fatal: not a repo");
	assert_string_equal(buf_cstr(&out), "partial\n");

	assert_int_equal(spawn_capture(fail, NULL, &out, &code, &e), 0);
	assert_int_equal(code, 4);

	const char *killed[] = { "sh", "-c", "kill -KILL $$", NULL };
	assert_int_equal(spawn_capture(killed, NULL, &out, NULL, &e), -1);
	assert_string_equal(e.msg, "sh: killed by signal 9");
	buf_free(&out);
}

struct worker {
	int id;
	int failures;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	char expect[32];
	snprintf(expect, sizeof(expect), "worker %d\n", w->id);
	for (int i = 0; i < 20; i++) {
		struct buf out = BUF_INIT;
		struct err e = ERR_INIT;
		char id[16];
		snprintf(id, sizeof(id), "%d", w->id);
		const char *argv[] = { "sh", "-c", "echo worker $0", id, NULL };
		if (spawn_capture(argv, NULL, &out, NULL, &e) != 0 ||
		    strcmp(buf_cstr(&out), expect) != 0)
			w->failures++;
		buf_free(&out);
	}
	return NULL;
}

static void test_many_threads(void **state)
{
	pthread_t threads[6];
	struct worker workers[6];
	for (int i = 0; i < 6; i++) {
		workers[i] = (struct worker){ .id = i, .failures = 0 };
		assert_int_equal(pthread_create(&threads[i], NULL, worker_run, &workers[i]), 0);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(threads[i], NULL);
		assert_int_equal(workers[i].failures, 0);
	}
}

static void test_devnull_and_nothing_to_run(void **state)
{
	struct buf out = BUF_INIT;
	struct spawn_options opt = { .stdout_to = SPAWN_DEVNULL, .stdout_buf = &out };
	struct spawn_result res;
	struct err e = ERR_INIT;

	assert_int_equal(run_sh("echo hidden", &opt, &res, &e), 0);
	assert_int_equal(res.exit_code, 0);
	assert_int_equal(out.len, 0);

	struct spawn_options empty = { 0 };
	assert_int_equal(spawn_run(&empty, &res, &e), -1);
	assert_string_equal(e.msg, "nothing to run: no program given");
	buf_free(&out);
}

static void test_program_found(void **state)
{
	(void)state;
	assert_true(spawn_program_found("sh"));
	assert_true(spawn_program_found("/bin/sh"));
	assert_false(spawn_program_found("ampel-no-such-program-here"));
	assert_false(spawn_program_found("/"));
	assert_false(spawn_program_found(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_terminating_signal),
		cmocka_unit_test(test_lines_with_partial_last_line),
		cmocka_unit_test(test_long_lines_split_at_cap),
		cmocka_unit_test(test_default_line_cap_is_64k),
		cmocka_unit_test(test_raw_mode),
		cmocka_unit_test(test_large_output_both_streams),
		cmocka_unit_test(test_stdin_data_large),
		cmocka_unit_test(test_stdin_default_is_devnull),
		cmocka_unit_test(test_child_closing_stdin_early_is_not_sigpipe),
		cmocka_unit_test(test_env_override_and_unset),
		cmocka_unit_test(test_explicit_environment),
		cmocka_unit_test(test_path_comes_from_child_env),
		cmocka_unit_test(test_bad_env_entry),
		cmocka_unit_test(test_cwd),
		cmocka_unit_test(test_missing_program),
		cmocka_unit_test(test_exec_failure_is_not_exit_127),
		cmocka_unit_test(test_missing_cwd),
		cmocka_unit_test(test_shell_command_and_custom_shell),
		cmocka_unit_test(test_stderr_merged_into_stdout),
		cmocka_unit_test(test_timeout_kills_whole_group),
		cmocka_unit_test(test_sigterm_ignored_gets_sigkill),
		cmocka_unit_test(test_cancel_from_another_thread),
		cmocka_unit_test(test_drain_bound_for_background_children),
		cmocka_unit_test(test_escaped_grandchild_does_not_hang_us),
		cmocka_unit_test(test_no_fd_leak),
		cmocka_unit_test(test_capture),
		cmocka_unit_test(test_many_threads),
		cmocka_unit_test(test_devnull_and_nothing_to_run),
		cmocka_unit_test(test_program_found),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
