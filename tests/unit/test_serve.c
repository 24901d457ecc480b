/*
 * Tests for `ampel serve` as a process: it starts on a free port with
 * SQLite under its data directory and with a real PostgreSQL, answers
 * /health, /ready, /metrics and the OpenAPI document, refuses bad settings
 * with exit 2, and stops cleanly on SIGTERM.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "support/pg_server.h"
#include "util/buf.h"
#include "util/err.h"

struct served {
	pid_t pid;
	int out; /* the server's stdout */
	char base[128];
};

/* Starts `ampel serve` with args and reads the address it prints. */
static void serve_start(struct served *s, const char *data_dir, const char *database)
{
	int pipe_fds[2];
	assert_int_equal(pipe(pipe_fds), 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		dup2(pipe_fds[1], 1);
		close(pipe_fds[0]);
		close(pipe_fds[1]);
		const char *argv[] = { AMPEL_BINARY,
				       "serve",
				       "--listen",
				       "127.0.0.1:0",
				       "--data",
				       data_dir,
				       database ? "--database" : NULL,
				       database,
				       NULL };
		execv(AMPEL_BINARY, (char *const *)argv);
		_exit(127);
	}
	close(pipe_fds[1]);
	s->out = pipe_fds[0];
	struct buf line = BUF_INIT;
	char c;
	while (read(s->out, &c, 1) == 1 && c != '\n')
		buf_addch(&line, c);
	const char *url = strstr(line.data ? line.data : "", "http://");
	if (!url)
		fail_msg("serve printed '%s', not its address", line.data ? line.data : "");
	size_t len = strcspn(url, " ");
	snprintf(s->base, sizeof(s->base), "%.*s", (int)len, url);
	buf_free(&line);
}

static int serve_stop(struct served *s)
{
	kill(s->pid, SIGTERM);
	int status = 0;
	assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
	close(s->out);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static size_t collect(char *data, size_t size, size_t count, void *user)
{
	buf_add(user, data, size * count);
	return size * count;
}

static long get(const struct served *s, const char *path, struct buf *body)
{
	char url[256];
	snprintf(url, sizeof(url), "%s%s", s->base, path);
	CURL *curl = curl_easy_init();
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
	long status = 0;
	if (curl_easy_perform(curl) == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(curl);
	return status;
}

static void check_server(const struct served *s)
{
	struct buf body = BUF_INIT;
	assert_int_equal(get(s, "/health", &body), 200);
	buf_reset(&body);
	assert_int_equal(get(s, "/ready", &body), 200);
	buf_reset(&body);
	assert_int_equal(get(s, "/metrics", &body), 200);
	assert_non_null(strstr(body.data, "ampel_jobs{state=\"queued\"} 0"));
	assert_non_null(strstr(body.data, "ampel_db_pool_connections"));
	buf_reset(&body);
	assert_int_equal(get(s, "/api/v1/openapi.json", &body), 200);
	assert_non_null(strstr(body.data, "\"openapi\""));
	buf_reset(&body);
	assert_int_equal(get(s, "/api/v1/nothing-here", &body), 404);
	assert_non_null(strstr(body.data, "\"not_found\""));
	buf_free(&body);
}

static char *temp_dir(void)
{
	char *dir = strdup("/tmp/ampel-test-serve-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void remove_dir(const char *dir)
{
	struct buf command = BUF_INIT;
	buf_addf(&command, "rm -rf '%s'", dir);
	assert_int_equal(system(command.data), 0);
	buf_free(&command);
}

static void test_serves_with_sqlite_and_stops_on_sigterm(void **state)
{
	(void)state;
	char *dir = temp_dir();
	struct buf data = BUF_INIT;
	buf_addf(&data, "%s/data", dir);
	struct served s;
	serve_start(&s, data.data, NULL);
	check_server(&s);
	assert_int_equal(serve_stop(&s), 0);
	struct buf db = BUF_INIT;
	buf_addf(&db, "%s/ampel.db", data.data);
	assert_int_equal(access(db.data, F_OK), 0);
	/* a second start finds the migrations applied */
	serve_start(&s, data.data, NULL);
	check_server(&s);
	assert_int_equal(serve_stop(&s), 0);
	remove_dir(dir);
	free(dir);
	buf_free(&data);
	buf_free(&db);
}

static void test_serves_with_postgresql(void **state)
{
	(void)state;
	struct pg_server pg = { 0 };
	struct err e = ERR_INIT;
	if (pg_server_start(&pg, &e) != 0)
		fail_msg("cannot start PostgreSQL: %s", e.msg);
	struct buf url = BUF_INIT;
	if (pg_server_create_database(&pg, &url, &e) != 0) {
		pg_server_stop(&pg);
		fail_msg("%s", e.msg);
	}
	char *dir = temp_dir();
	struct served s;
	serve_start(&s, dir, url.data);
	check_server(&s);
	int status = serve_stop(&s);
	pg_server_stop(&pg);
	assert_int_equal(status, 0);
	remove_dir(dir);
	free(dir);
	buf_free(&url);
}

static void test_bad_listen_address_is_a_usage_error(void **state)
{
	(void)state;
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execl(AMPEL_BINARY, AMPEL_BINARY, "serve", "--listen", "no-port", (char *)NULL);
		_exit(127);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 2);
}

/* Runs ampel with args (NULL-terminated), output discarded; the exit status. */
static int ampel_status(const char *const *args)
{
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		const char *argv[16] = { AMPEL_BINARY };
		for (size_t i = 0; args[i] && i < 14; i++)
			argv[i + 1] = args[i];
		execv(AMPEL_BINARY, (char *const *)argv);
		_exit(127);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void test_admin_creates_users_and_detects_audit_tampering(void **state)
{
	(void)state;
	char *dir = temp_dir();
	const char *create[] = {
		"admin",   "--data", dir, "create-user", "alice", "--email", "alice@example.org",
		"--admin", NULL
	};
	assert_int_equal(ampel_status(create), 0);
	const char *again[] = {
		"admin", "--data", dir, "create-user", "alice", "--email", "other@example.org", NULL
	};
	assert_int_not_equal(ampel_status(again), 0);
	const char *verify[] = { "admin", "--data", dir, "audit", "verify", NULL };
	assert_int_equal(ampel_status(verify), 0);
	const char *rotate[] = { "admin", "--data", dir, "rotate-key", NULL };
	assert_int_equal(ampel_status(rotate), 0);
	assert_int_equal(ampel_status(verify), 0);

	/* Change one audit row behind the server's back. */
	struct buf url = BUF_INIT;
	buf_addf(&url, "sqlite:%s/ampel.db", dir);
	struct store *store = NULL;
	struct err e = ERR_INIT;
	if (store_open(&store, url.data, &e) < 0)
		fail_msg("%s", e.msg);
	int64_t changed = 0;
	if (store_exec(store, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 1", NULL, 0,
		       &changed, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(changed, 1);
	store_close(store);
	assert_int_equal(ampel_status(verify), 1);

	const char *usage[] = { "admin", "--data", dir, "create-user", "bob", NULL };
	assert_int_equal(ampel_status(usage), 2);
	remove_dir(dir);
	free(dir);
	buf_free(&url);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serves_with_sqlite_and_stops_on_sigterm),
		cmocka_unit_test(test_serves_with_postgresql),
		cmocka_unit_test(test_bad_listen_address_is_a_usage_error),
		cmocka_unit_test(test_admin_creates_users_and_detects_audit_tampering),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return failed;
}
