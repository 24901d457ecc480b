/*
 * Crash safety of background jobs, with the real `ampel serve` on SQLite
 * and on PostgreSQL: a repository clone is held in the middle (git's
 * uploadpack.packObjectsHook, allowed only from global config, hence
 * GIT_CONFIG_GLOBAL, creates a marker and sleeps), the server and every
 * process it started are killed with SIGKILL, and a second server on the
 * same data directory and database finishes the job once the lease has
 * run out: one job, two attempts, one repository, one valid clone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "support/pg_server.h"
#include "util/buf.h"
#include "util/err.h"

/* Waiting for something to happen; never an assertion on how long it took. */
#define DEADLINE_MS 90000

struct server {
	pid_t pid; /* also its session and process group */
	int out;   /* its stdout */
	char base[128];
	char password[128]; /* printed on the first start only */
};

/* Sessions of servers still running, so a failed test leaves none behind (teardown). */
static pid_t running[4];
static struct pg_server pg;
static char scenario_dir[64]; /* the test's files, removed by teardown */

static void remember(pid_t pid, bool add)
{
	for (size_t i = 0; i < sizeof(running) / sizeof(*running); i++) {
		if (add && running[i] == 0) {
			running[i] = pid;
			return;
		}
		if (!add && running[i] == pid)
			running[i] = 0;
	}
}

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&t, NULL);
}

/* One line of fd (without '\n') into line; false at EOF or the deadline. */
static bool read_line(int fd, struct buf *line, int64_t deadline)
{
	buf_reset(line);
	buf_adds(line, "");
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return false;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int ready = poll(&p, 1, (int)left);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0)
			return false;
		char c;
		ssize_t n = read(fd, &c, 1);
		if (n <= 0)
			return false;
		if (c == '\n')
			return true;
		buf_addch(line, c);
	}
}

/*
 * Starts `ampel serve` in its own session with one worker and a 2 s job
 * lease; git_config is the global git config its clones see.
 */
static void server_start(struct server *s, const char *data_dir, const char *database,
			 const char *git_config)
{
	memset(s, 0, sizeof(*s));
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		setsid();
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		setenv("AMPEL_WORKERS", "1", 1);
		setenv("AMPEL_JOB_LEASE_SECONDS", "2", 1);
		setenv("GIT_CONFIG_GLOBAL", git_config, 1);
		setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
		unsetenv("AMPEL_MASTER_KEY");
		unsetenv("AMPEL_CONFIG");
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
	close(fds[1]);
	s->out = fds[0];
	remember(s->pid, true);
	struct buf line = BUF_INIT;
	int64_t deadline = now_ms() + DEADLINE_MS;
	if (!read_line(s->out, &line, deadline))
		fail_msg("ampel serve printed no address");
	const char *url = strstr(line.data, "http://");
	if (!url)
		fail_msg("ampel serve printed '%s', not its address", line.data);
	snprintf(s->base, sizeof(s->base), "%.*s", (int)strcspn(url, " "), url);
	/* The second line names the first admin's password, or how to log in. */
	if (!read_line(s->out, &line, deadline))
		fail_msg("ampel serve stopped after its address");
	const char *password = strstr(line.data, "with password ");
	if (password) {
		password += strlen("with password ");
		snprintf(s->password, sizeof(s->password), "%.*s", (int)strcspn(password, " "),
			 password);
	}
	buf_free(&line);
}

/* The processes of session sid that are still alive (not zombies). */
static int session_processes(pid_t sid, bool kill_them)
{
	DIR *proc = opendir("/proc");
	assert_non_null(proc);
	struct dirent *entry;
	int alive = 0;
	while ((entry = readdir(proc))) {
		if (entry->d_name[0] < '0' || entry->d_name[0] > '9')
			continue;
		char path[PATH_MAX], stat_line[1024];
		snprintf(path, sizeof(path), "/proc/%s/stat", entry->d_name);
		FILE *file = fopen(path, "r");
		if (!file)
			continue;
		size_t n = fread(stat_line, 1, sizeof(stat_line) - 1, file);
		fclose(file);
		stat_line[n] = '\0';
		/* pid (comm) state ppid pgrp session: comm may hold anything, up to the last ')' */
		char *end = strrchr(stat_line, ')');
		char state;
		int ppid, pgrp, session;
		if (!end || sscanf(end + 1, " %c %d %d %d", &state, &ppid, &pgrp, &session) != 4)
			continue;
		if (session != sid || state == 'Z' || state == 'X')
			continue;
		alive++;
		if (kill_them)
			kill((pid_t)atoi(entry->d_name), SIGKILL);
	}
	closedir(proc);
	return alive;
}

/* SIGKILL for the server and everything it started (git runs in process groups of its own). */
static void server_crash(struct server *s)
{
	kill(-s->pid, SIGKILL);
	int64_t deadline = now_ms() + DEADLINE_MS;
	while (session_processes(s->pid, true) > 0) {
		if (now_ms() > deadline)
			fail_msg("processes of the killed server are still running");
		sleep_ms(20);
	}
	int status = 0;
	assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
	remember(s->pid, false);
	assert_true(WIFSIGNALED(status));
	close(s->out);
}

static int server_stop(struct server *s)
{
	kill(s->pid, SIGTERM);
	int status = 0;
	assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
	remember(s->pid, false);
	close(s->out);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* --- HTTP --- */

static size_t collect(char *data, size_t size, size_t count, void *user)
{
	buf_add(user, data, size * count);
	return size * count;
}

/* One request; the parsed JSON body in *body (may be NULL); the status. */
static long request(const struct server *s, const char *method, const char *path, const char *token,
		    const char *payload, json_t **body)
{
	char url[512];
	snprintf(url, sizeof(url), "%s%s", s->base, path);
	struct buf text = BUF_INIT;
	CURL *curl = curl_easy_init();
	struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
	char auth[512];
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		headers = curl_slist_append(headers, auth);
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	if (payload)
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &text);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	long status = 0;
	if (curl_easy_perform(curl) == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	if (body)
		*body = text.len ? json_loads(text.data, 0, NULL) : NULL;
	buf_free(&text);
	return status;
}

static char *login(const struct server *s, const char *password)
{
	char payload[256];
	snprintf(payload, sizeof(payload), "{\"name\":\"admin\",\"password\":\"%s\"}", password);
	json_t *body = NULL;
	long status = request(s, "POST", "/api/v1/auth/login", NULL, payload, &body);
	if (status != 200)
		fail_msg("login: status %ld", status);
	char *token = strdup(json_string_value(json_object_get(body, "access_token")));
	json_decref(body);
	return token;
}

static json_t *get_json(const struct server *s, const char *token, const char *path)
{
	json_t *body = NULL;
	long status = request(s, "GET", path, token, NULL, &body);
	if (status != 200)
		fail_msg("GET %s: status %ld", path, status);
	return body;
}

static const char *str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* --- files and git --- */

static void sh(const char *fmt, ...)
{
	struct buf command = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&command, fmt, ap);
	va_end(ap);
	buf_adds(&command, " >/dev/null 2>&1");
	if (system(command.data) != 0)
		fail_msg("command failed: %s", command.data);
	buf_free(&command);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *file = fopen(path, "w");
	assert_non_null(file);
	fputs(text, file);
	fclose(file);
	assert_int_equal(chmod(path, mode), 0);
}

static void git_head(const char *dir, char head[64])
{
	struct buf command = BUF_INIT;
	buf_addf(&command, "git -C '%s' rev-parse HEAD 2>/dev/null", dir);
	FILE *out = popen(command.data, "r");
	head[0] = '\0';
	if (out) {
		if (!fgets(head, 64, out))
			head[0] = '\0';
		pclose(out);
	}
	head[strcspn(head, "\n")] = '\0';
	buf_free(&command);
}

static int64_t count_rows(struct store *store, const char *sql)
{
	json_t *row = NULL;
	struct err e = ERR_INIT;
	if (store_query_one(store, sql, NULL, 0, &row, &e) != 0)
		fail_msg("%s: %s", sql, e.msg);
	int64_t n = json_integer_value(json_object_get(row, "n"));
	json_decref(row);
	return n;
}

/* --- the scenario --- */

static void crash_during_clone(const char *database)
{
	char *dir = scenario_dir;
	snprintf(scenario_dir, sizeof(scenario_dir), "/tmp/ampel-serve-jobs-XXXXXX");
	assert_non_null(mkdtemp(dir));
	char path[PATH_MAX + 64], data[PATH_MAX], bare[PATH_MAX], marker[PATH_MAX], hook[PATH_MAX],
		hooked_config[PATH_MAX], plain_config[PATH_MAX];
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(bare, sizeof(bare), "%s/origin.git", dir);
	snprintf(marker, sizeof(marker), "%s/clone-started", dir);
	snprintf(hook, sizeof(hook), "%s/hold-clone.sh", dir);
	snprintf(hooked_config, sizeof(hooked_config), "%s/gitconfig-hooked", dir);
	snprintf(plain_config, sizeof(plain_config), "%s/gitconfig-plain", dir);

	/* The repository to clone: one commit on trunk. */
	sh("cd '%s' && mkdir work && cd work && echo hello > README && git -c "
	   "init.defaultBranch=trunk init -q && git add README && git -c user.name=Test -c "
	   "user.email=test@example.com commit -q -m first && git clone -q --bare . '%s'",
	   dir, bare);
	char head[64];
	git_head(bare, head);
	assert_int_equal(strlen(head), 40);

	/* git upload-pack runs this instead of pack-objects: the clone hangs right there. */
	struct buf text = BUF_INIT;
	buf_addf(&text, "#!/bin/sh\ntouch '%s'\nsleep 3600\nexec \"$@\"\n", marker);
	write_file(hook, text.data, 0755);
	buf_reset(&text);
	buf_addf(&text, "[uploadpack]\n\tpackObjectsHook = %s\n", hook);
	write_file(hooked_config, text.data, 0644);
	write_file(plain_config, "", 0644);
	buf_free(&text);

	struct server first;
	server_start(&first, data, database, hooked_config);
	if (!first.password[0])
		fail_msg("the first start printed no admin password");
	char *token = login(&first, first.password);
	char payload[PATH_MAX + 32];
	snprintf(payload, sizeof(payload), "{\"url\":\"file://%s\"}", bare);
	json_t *created = NULL;
	long status = request(&first, "POST", "/api/v1/repositories", token, payload, &created);
	if (status != 202)
		fail_msg("register: status %ld", status);
	char repo_id[STORE_ID_SIZE], job_id[STORE_ID_SIZE];
	snprintf(repo_id, sizeof(repo_id), "%s", str(json_object_get(created, "repository"), "id"));
	snprintf(job_id, sizeof(job_id), "%s", str(created, "job_id"));
	json_decref(created);
	char job_path[128], repo_path[128];
	snprintf(job_path, sizeof(job_path), "/api/v1/jobs/%s", job_id);
	snprintf(repo_path, sizeof(repo_path), "/api/v1/repositories/%s", repo_id);

	/* The clone is under way and held: the job is running, under the first server's lease. */
	int64_t deadline = now_ms() + DEADLINE_MS;
	while (access(marker, F_OK) != 0) {
		if (now_ms() > deadline)
			fail_msg("the clone never reached the hook (is uploadpack.packObjectsHook "
				 "honoured from GIT_CONFIG_GLOBAL?)");
		sleep_ms(20);
	}
	json_t *job = get_json(&first, token, job_path);
	assert_string_equal(str(job, "state"), "running");
	assert_int_equal(json_integer_value(json_object_get(job, "attempts")), 1);
	json_decref(job);
	json_t *repo = get_json(&first, token, repo_path);
	assert_string_equal(str(repo, "state"), "cloning");
	json_decref(repo);

	server_crash(&first);

	/* The same data and database, and a git that clones normally. */
	struct server second;
	server_start(&second, data, database, plain_config);
	deadline = now_ms() + DEADLINE_MS;
	for (;;) {
		job = get_json(&second, token, job_path);
		const char *state = str(job, "state");
		if (state && strcmp(state, "done") == 0)
			break;
		if (state && strcmp(state, "dead") == 0)
			fail_msg("the job died: %s", str(job, "last_error"));
		if (now_ms() > deadline)
			fail_msg("job still %s at the deadline", str(job, "state"));
		json_decref(job);
		sleep_ms(100);
	}
	assert_int_equal(json_integer_value(json_object_get(job, "attempts")), 2);
	/* The second attempt took over the lease of the killed server. */
	assert_non_null(strstr(str(job, "last_error"), "expired"));
	json_decref(job);
	repo = get_json(&second, token, repo_path);
	assert_string_equal(str(repo, "state"), "ready");
	assert_string_equal(str(repo, "default_branch"), "trunk");
	char clone[PATH_MAX];
	snprintf(clone, sizeof(clone), "%s", str(repo, "path"));
	json_decref(repo);
	assert_int_equal(server_stop(&second), 0);

	/* One clone, the right commit, and nothing left of the crashed attempt. */
	char cloned_head[64];
	git_head(clone, cloned_head);
	assert_string_equal(cloned_head, head);
	snprintf(path, sizeof(path), "%s/README", clone);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/repositories", data);
	DIR *clones = opendir(path);
	assert_non_null(clones);
	int entries = 0;
	struct dirent *entry;
	while ((entry = readdir(clones))) {
		if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
			continue;
		assert_string_equal(entry->d_name, repo_id);
		entries++;
	}
	closedir(clones);
	assert_int_equal(entries, 1);

	/* Exactly once in effect: one job row, one repository row. */
	struct buf url = BUF_INIT;
	if (database)
		buf_adds(&url, database);
	else
		buf_addf(&url, "sqlite:%s/ampel.db", data);
	struct store *store = NULL;
	struct err e = ERR_INIT;
	if (store_open(&store, url.data, &e) != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(count_rows(store, "SELECT COUNT(*) AS n FROM jobs"), 1);
	assert_int_equal(count_rows(store, "SELECT COUNT(*) AS n FROM jobs WHERE state = 'done'"),
			 1);
	assert_int_equal(count_rows(store, "SELECT COUNT(*) AS n FROM repositories"), 1);
	store_close(store);
	buf_free(&url);
	free(token);
}

/* Kills what a failed test left running. */
static int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(running) / sizeof(*running); i++) {
		if (!running[i])
			continue;
		kill(-running[i], SIGKILL);
		for (int round = 0; round < 500 && session_processes(running[i], true) > 0; round++)
			sleep_ms(20);
		waitpid(running[i], NULL, 0);
		running[i] = 0;
	}
	pg_server_stop(&pg);
	memset(&pg, 0, sizeof(pg));
	if (scenario_dir[0]) {
		struct buf command = BUF_INIT;
		buf_addf(&command, "rm -rf '%s'", scenario_dir);
		if (system(command.data) != 0)
			print_error("cannot remove %s\n", scenario_dir);
		buf_free(&command);
		scenario_dir[0] = '\0';
	}
	return 0;
}

static void test_crash_during_clone_sqlite(void **state)
{
	(void)state;
	crash_during_clone(NULL);
}

static void test_crash_during_clone_postgresql(void **state)
{
	(void)state;
	struct err e = ERR_INIT;
	if (pg_server_start(&pg, &e) != 0)
		fail_msg("cannot start PostgreSQL: %s", e.msg);
	struct buf url = BUF_INIT;
	if (pg_server_create_database(&pg, &url, &e) != 0)
		fail_msg("%s", e.msg);
	crash_during_clone(url.data);
	buf_free(&url);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_crash_during_clone_sqlite, teardown),
		cmocka_unit_test_teardown(test_crash_during_clone_postgresql, teardown),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return failed;
}
