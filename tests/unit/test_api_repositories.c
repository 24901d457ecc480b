/*
 * /api/v1/repositories and /api/v1/jobs/{id} on both drivers, through the
 * whole API router (api_register_all) with real git repositories: register
 * by path and by URL (cloned by the worker pool), bad bodies, credentials
 * in URLs never shown, tenant isolation between users, delete.
 */
#include "api/repositories.h"

#include "api/api.h"
#include "api/auth.h"
#include "api/passwords.h"
#include "http/openapi.h"
#include "http/response.h"
#include "http/router.h"
#include "store/jobs.h"
#include "store/store.h"
#include "store/workers.h"
#include "support/pg_server.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/xalloc.h"

#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static struct pg_server pg;

#define PASSWORD    "correct horse battery"
#define DEADLINE_MS 60000

struct fixture {
	char dir[256];	/* data directory and SQLite file */
	char work[256]; /* git repositories the tests make */
	struct buf url;
	struct store *store;
	struct jobs *jobs;
	struct workers *workers;
	struct api_context ctx;
	struct http_router *router;
	char *root, *alice, *bob, *carol; /* access tokens */
};

struct reply {
	int status;
	json_t *body;
};

#define OK(call)                                                  \
	do {                                                      \
		struct err e_ = ERR_INIT;                         \
		struct err *e = &e_;                              \
		if ((call) != 0)                                  \
			fail_msg("%s failed: %s", #call, e_.msg); \
	} while (0)

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&t, NULL);
}

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* --- requests --- */

static struct reply call(struct fixture *f, const char *method, const char *path,
			 const char *bearer, const char *body)
{
	struct arena *arena = arena_new();
	struct http_pair headers[2];
	size_t count = 0;
	if (bearer)
		headers[count++] = (struct http_pair){ "Authorization",
						       arena_printf(arena, "Bearer %s", bearer) };
	headers[count++] = (struct http_pair){ "Content-Type", "application/json" };
	struct http_pair query[4];
	size_t query_count = 0;
	char *copy = arena_strdup(arena, path);
	char *q = strchr(copy, '?');
	if (q) {
		*q++ = '\0';
		for (char *part = strtok(q, "&"); part && query_count < 4;
		     part = strtok(NULL, "&")) {
			char *eq = strchr(part, '=');
			if (eq)
				*eq++ = '\0';
			query[query_count++] = (struct http_pair){ part, eq ? eq : "" };
		}
	}
	struct http_request req = {
		.method = method,
		.path = copy,
		.headers = headers,
		.header_count = count,
		.query = query,
		.query_count = query_count,
		.body = body ? body : "",
		.body_len = body ? strlen(body) : 0,
		.client_address = "127.0.0.1",
		.request_id = "test",
		.arena = arena,
	};
	struct http_response res = http_router_dispatch(f->router, &req);
	struct reply r = { .status = res.status };
	if (res.body.len)
		r.body = json_loads(buf_cstr(&res.body), 0, NULL);
	http_response_free(&res);
	arena_free(arena);
	return r;
}

static void reply_free(struct reply *r)
{
	json_decref(r->body);
	r->body = NULL;
}

static void expect_status(const struct reply *r, int status, const char *what)
{
	if (r->status != status) {
		char *text = r->body ? json_dumps(r->body, JSON_COMPACT) : NULL;
		fail_msg("%s: status %d, expected %d: %s", what, r->status, status,
			 text ? text : "(no body)");
	}
}

/* A 422 that names field. */
static void expect_field_error(struct fixture *f, const char *token, const char *body,
			       const char *field)
{
	struct reply r = call(f, "POST", "/api/v1/repositories", token, body);
	expect_status(&r, 422, body);
	const char *named =
		json_string_value(json_object_get(json_object_get(r.body, "error"), "field"));
	if (!named || strcmp(named, field) != 0)
		fail_msg("%s: error names field '%s', expected '%s'", body, named ? named : "",
			 field);
	reply_free(&r);
}

static const char *str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static char *login(struct fixture *f, const char *name)
{
	char body[256];
	snprintf(body, sizeof(body), "{\"name\":\"%s\",\"password\":\"%s\"}", name, PASSWORD);
	struct reply r = call(f, "POST", "/api/v1/auth/login", NULL, body);
	expect_status(&r, 200, "login");
	char *token = xstrdup(str(r.body, "access_token"));
	reply_free(&r);
	return token;
}

static void create_user(struct fixture *f, const char *name, bool admin)
{
	char email[128];
	snprintf(email, sizeof(email), "%s@example.com", name);
	OK(api_create_user(&f->ctx, name, email, PASSWORD, admin, e));
}

static void bind_role(struct fixture *f, const char *user, const char *role, const char *project)
{
	char body[256];
	if (project)
		snprintf(body, sizeof(body), "{\"user\":\"%s\",\"role\":\"%s\",\"project\":\"%s\"}",
			 user, role, project);
	else
		snprintf(body, sizeof(body), "{\"user\":\"%s\",\"role\":\"%s\"}", user, role);
	struct reply r = call(f, "POST", "/api/v1/role-bindings", f->root, body);
	expect_status(&r, 201, body);
	reply_free(&r);
}

static int64_t count_rows(struct fixture *f, const char *sql, const char *arg)
{
	struct store_param p = STORE_TEXT_PARAM(arg);
	json_t *row = NULL;
	OK(store_query_one(f->store, sql, &p, arg ? 1 : 0, &row, e));
	int64_t n = json_integer_value(json_object_get(row, "n"));
	json_decref(row);
	return n;
}

/* --- git --- */

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

#define GIT "git -c user.name=Test -c user.email=test@example.com -c init.defaultBranch=trunk"

/* A working tree <work>/<name> with one commit on branch trunk and a subdirectory. */
static char *make_work_tree(struct fixture *f, const char *name)
{
	struct buf dir = BUF_INIT;
	buf_addf(&dir, "%s/%s", f->work, name);
	sh("mkdir -p '%s/sub' && cd '%s' && echo hello > sub/file.txt && " GIT " init -q && " GIT
	   " add . && " GIT " commit -q -m first",
	   dir.data, dir.data);
	return buf_detach(&dir);
}

/* A bare repository made from a working tree; its HEAD commit in head. */
static char *make_bare(struct fixture *f, const char *name, char head[64])
{
	char *tree = make_work_tree(f, name);
	struct buf bare = BUF_INIT;
	buf_addf(&bare, "%s/%s.git", f->work, name);
	sh("git clone -q --bare '%s' '%s'", tree, bare.data);
	struct buf command = BUF_INIT;
	buf_addf(&command, "git -C '%s' rev-parse HEAD", bare.data);
	FILE *out = popen(command.data, "r");
	assert_non_null(out);
	assert_non_null(fgets(head, 64, out));
	head[strcspn(head, "\n")] = '\0';
	pclose(out);
	buf_free(&command);
	free(tree);
	return buf_detach(&bare);
}

static bool git_head_is(const char *dir, const char *want)
{
	struct buf command = BUF_INIT;
	buf_addf(&command, "git -C '%s' rev-parse HEAD 2>/dev/null", dir);
	FILE *out = popen(command.data, "r");
	char head[64] = "";
	if (out) {
		if (!fgets(head, sizeof(head), out))
			head[0] = '\0';
		pclose(out);
	}
	head[strcspn(head, "\n")] = '\0';
	buf_free(&command);
	return strcmp(head, want) == 0;
}

/* --- fixture --- */

static int open_fixture(struct fixture *f, void **state)
{
	struct err fail = ERR_INIT;
	passwords_set_fast_for_tests(true);
	unsetenv("AMPEL_MASTER_KEY");
	if (store_open(&f->store, buf_cstr(&f->url), &fail) != 0 ||
	    store_migrate(f->store, &fail) != 0) {
		print_error("store: %s\n", fail.msg);
		return -1;
	}
	/* Two attempts, retried at once: a clone that cannot succeed dies quickly. */
	struct jobs_options options = { .max_attempts = 2,
					.backoff_base_ms = 20,
					.backoff_max_ms = 50 };
	f->jobs = jobs_new(f->store, &options);
	f->ctx = (struct api_context){ .store = f->store, .jobs = f->jobs, .data_dir = f->dir };
	f->router = http_router_new();
	if (api_register_all(f->router, &f->ctx, &fail) != 0) {
		print_error("api_register_all: %s\n", fail.msg);
		return -1;
	}
	*state = f;
	create_user(f, "root", true);
	create_user(f, "alice", false);
	create_user(f, "bob", false);
	create_user(f, "carol", false);
	f->root = login(f, "root");
	f->alice = login(f, "alice");
	f->bob = login(f, "bob");
	f->carol = login(f, "carol");
	bind_role(f, "alice", "developer", NULL);
	/* carol may create repositories and nothing else: all she sees is what she owns. */
	struct reply r = call(f, "POST", "/api/v1/roles", f->root,
			      "{\"name\":\"creator\",\"permissions\":[\"project:write\"]}");
	expect_status(&r, 201, "custom role");
	reply_free(&r);
	bind_role(f, "carol", "creator", NULL);
	return 0;
}

static struct fixture *fixture_new(void)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/ampel-repos-XXXXXX");
	snprintf(f->work, sizeof(f->work), "/tmp/ampel-repos-work-XXXXXX");
	if (!mkdtemp(f->dir) || !mkdtemp(f->work))
		return NULL;
	return f;
}

static int setup_sqlite(void **state)
{
	struct fixture *f = fixture_new();
	if (!f)
		return -1;
	buf_addf(&f->url, "sqlite:%s/ampel.db", f->dir);
	return open_fixture(f, state);
}

static int setup_pg(void **state)
{
	struct fixture *f = fixture_new();
	struct err fail = ERR_INIT;
	if (!f || pg_server_create_database(&pg, &f->url, &fail) != 0) {
		print_error("%s\n", fail.msg);
		return -1;
	}
	return open_fixture(f, state);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	workers_free(f->workers);
	http_router_free(f->router);
	jobs_free(f->jobs);
	store_close(f->store);
	nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	nftw(f->work, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f->root);
	free(f->alice);
	free(f->bob);
	free(f->carol);
	buf_free(&f->url);
	free(f);
	return 0;
}

static int group_setup_pg(void **state)
{
	(void)state;
	struct err fail = ERR_INIT;
	if (pg_server_start(&pg, &fail) != 0) {
		print_error("the PostgreSQL half of this suite needs a server: %s\n", fail.msg);
		return -1;
	}
	return 0;
}

static int group_teardown_pg(void **state)
{
	(void)state;
	pg_server_stop(&pg);
	return 0;
}

/* The worker pool of the server, with the API's handlers. */
static void start_workers(struct fixture *f)
{
	struct workers_options options = { .worker = "test", .threads = 1, .idle_poll_ms = 50 };
	f->workers = workers_new(f->jobs, &options);
	f->ctx.workers = f->workers;
	OK(api_register_workers(f->workers, &f->ctx, e));
	OK(workers_start(f->workers, e));
}

/* Waits until the job reaches state (done, dead…) and returns its JSON. */
static json_t *wait_job(struct fixture *f, const char *token, const char *id, const char *state)
{
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/jobs/%s", id);
	int64_t until = now_ms() + DEADLINE_MS;
	for (;;) {
		struct reply r = call(f, "GET", path, token, NULL);
		expect_status(&r, 200, "job");
		if (strcmp(str(r.body, "state"), state) == 0)
			return r.body;
		if (now_ms() > until)
			fail_msg("job %s is %s, not %s, at the deadline", id, str(r.body, "state"),
				 state);
		reply_free(&r);
		sleep_ms(20);
	}
}

static json_t *register_path(struct fixture *f, const char *token, const char *path)
{
	char body[PATH_MAX + 32];
	snprintf(body, sizeof(body), "{\"path\":\"%s\"}", path);
	struct reply r = call(f, "POST", "/api/v1/repositories", token, body);
	expect_status(&r, 201, body);
	return r.body;
}

/* --- tests --- */

static void test_register_by_path(void **state)
{
	struct fixture *f = *state;
	char *tree = make_work_tree(f, "webshop");
	char resolved[PATH_MAX];
	assert_non_null(realpath(tree, resolved));
	/* A directory inside the working tree registers its top level. */
	char sub[PATH_MAX + 8];
	snprintf(sub, sizeof(sub), "%s/sub", tree);
	json_t *repo = register_path(f, f->alice, sub);
	assert_string_equal(str(repo, "name"), "webshop");
	assert_string_equal(str(repo, "source_kind"), "path");
	assert_string_equal(str(repo, "source"), sub);
	assert_string_equal(str(repo, "path"), resolved);
	assert_string_equal(str(repo, "state"), "ready");
	assert_string_equal(str(repo, "default_branch"), "trunk");
	const char *id = str(repo, "id");
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/repositories/%s", id);
	struct reply r = call(f, "GET", path, f->alice, NULL);
	expect_status(&r, 200, "get");
	assert_string_equal(str(r.body, "id"), id);
	reply_free(&r);
	/* The creator owns it: the owner role, bound in the repository's project. */
	assert_int_equal(count_rows(f,
				    "SELECT COUNT(*) AS n FROM role_bindings b JOIN roles r ON "
				    "r.id = b.role_id WHERE r.name = 'owner' AND b.project = ?",
				    id),
			 1);
	char target[128];
	snprintf(target, sizeof(target), "repositories/%s", id);
	assert_int_equal(count_rows(f,
				    "SELECT COUNT(*) AS n FROM audit_log WHERE action = "
				    "'repository.create' AND target = ?",
				    target),
			 1);
	/* A name is unique per owner; an explicit name makes a second registration fine. */
	char body[PATH_MAX + 64];
	snprintf(body, sizeof(body), "{\"path\":\"%s\"}", tree);
	r = call(f, "POST", "/api/v1/repositories", f->alice, body);
	expect_status(&r, 409, "same name again");
	reply_free(&r);
	snprintf(body, sizeof(body), "{\"path\":\"%s\",\"name\":\"webshop-2\"}", tree);
	r = call(f, "POST", "/api/v1/repositories", f->alice, body);
	expect_status(&r, 201, "another name");
	reply_free(&r);
	/* Without project:write nobody registers anything. */
	snprintf(body, sizeof(body), "{\"path\":\"%s\",\"name\":\"bobs\"}", tree);
	r = call(f, "POST", "/api/v1/repositories", f->bob, body);
	expect_status(&r, 403, "bob has no project:write");
	reply_free(&r);
	r = call(f, "POST", "/api/v1/repositories", NULL, body);
	expect_status(&r, 401, "anonymous");
	reply_free(&r);
	json_decref(repo);
	free(tree);
}

static void test_register_by_url_clones(void **state)
{
	struct fixture *f = *state;
	char head[64];
	char *bare = make_bare(f, "service", head);
	char body[PATH_MAX + 64];
	snprintf(body, sizeof(body), "{\"url\":\"file://%s\"}", bare);
	struct reply r = call(f, "POST", "/api/v1/repositories", f->alice, body);
	expect_status(&r, 202, "register by url");
	json_t *repo = json_object_get(r.body, "repository");
	assert_string_equal(str(repo, "name"), "service");
	assert_string_equal(str(repo, "source_kind"), "url");
	assert_string_equal(str(repo, "state"), "cloning");
	assert_true(json_is_null(json_object_get(repo, "default_branch")));
	char *id = xstrdup(str(repo, "id"));
	char *job_id = xstrdup(str(r.body, "job_id"));
	char *clone = xstrdup(str(repo, "path"));
	reply_free(&r);
	char resolved[PATH_MAX], expected[PATH_MAX + 64];
	assert_non_null(realpath(f->dir, resolved));
	snprintf(expected, sizeof(expected), "%s/repositories/%s", resolved, id);
	assert_string_equal(clone, expected);
	/* The job is there, queued with the repository (same transaction). */
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/jobs/%s", job_id);
	r = call(f, "GET", path, f->alice, NULL);
	expect_status(&r, 200, "job");
	assert_string_equal(str(r.body, "state"), "queued");
	assert_string_equal(str(r.body, "kind"), REPOSITORIES_CLONE_JOB);
	assert_string_equal(str(r.body, "repository_id"), id);
	reply_free(&r);

	start_workers(f);
	json_t *job = wait_job(f, f->alice, job_id, "done");
	assert_int_equal(json_integer_value(json_object_get(job, "attempts")), 1);
	json_decref(job);
	snprintf(path, sizeof(path), "/api/v1/repositories/%s", id);
	r = call(f, "GET", path, f->alice, NULL);
	expect_status(&r, 200, "repository after clone");
	assert_string_equal(str(r.body, "state"), "ready");
	assert_string_equal(str(r.body, "default_branch"), "trunk");
	assert_true(json_is_null(json_object_get(r.body, "error")));
	reply_free(&r);
	assert_true(git_head_is(clone, head));
	char file[PATH_MAX + 32];
	snprintf(file, sizeof(file), "%s/sub/file.txt", clone);
	assert_int_equal(access(file, F_OK), 0);
	/* No temporary directory is left beside it. */
	snprintf(file, sizeof(file), "%s/repositories/.%s.clone-1", f->dir, id);
	assert_int_not_equal(access(file, F_OK), 0);

	/* Idempotent: as after a crash between the rename and the update, with a
	 * temporary directory left by another crashed attempt, a new run only
	 * clears up and marks the repository ready. */
	OK(store_exec(f->store, "UPDATE repositories SET state = 'cloning' WHERE id = ?",
		      &STORE_TEXT_PARAM(id), 1, NULL, e));
	snprintf(file, sizeof(file), "%s/repositories/.%s.clone-7", f->dir, id);
	sh("mkdir -p '%s/junk'", file);
	char again[STORE_ID_SIZE];
	json_t *payload = json_pack("{s:s}", "repository_id", id);
	OK(jobs_enqueue(f->jobs, REPOSITORIES_CLONE_JOB, payload, 0, again, e));
	json_decref(payload);
	workers_wake(f->workers);
	json_decref(wait_job(f, f->alice, again, "done"));
	snprintf(path, sizeof(path), "/api/v1/repositories/%s", id);
	r = call(f, "GET", path, f->alice, NULL);
	assert_string_equal(str(r.body, "state"), "ready");
	reply_free(&r);
	assert_true(git_head_is(clone, head));
	assert_int_not_equal(access(file, F_OK), 0);
	free(id);
	free(job_id);
	free(clone);
	free(bare);
}

static void test_clone_failure_hides_credentials(void **state)
{
	struct fixture *f = *state;
	/* Nothing listens on port 1: the clone fails at once, twice, then the job is dead. */
	struct reply r = call(f, "POST", "/api/v1/repositories", f->alice,
			      "{\"url\":\"https://robot:hunter2secret@127.0.0.1:1/team/app.git\"}");
	expect_status(&r, 202, "register with credentials");
	char *text = json_dumps(r.body, 0);
	assert_null(strstr(text, "hunter2secret"));
	free(text);
	json_t *repo = json_object_get(r.body, "repository");
	assert_string_equal(str(repo, "name"), "app");
	assert_string_equal(str(repo, "source"), "https://robot:***@127.0.0.1:1/team/app.git");
	char *id = xstrdup(str(repo, "id"));
	char *job_id = xstrdup(str(r.body, "job_id"));
	reply_free(&r);
	start_workers(f);
	json_t *job = wait_job(f, f->alice, job_id, "dead");
	assert_int_equal(json_integer_value(json_object_get(job, "attempts")), 2);
	const char *last_error = str(job, "last_error");
	assert_non_null(last_error);
	assert_non_null(strstr(last_error, "cannot clone https://robot:***@127.0.0.1:1"));
	assert_null(strstr(last_error, "hunter2secret"));
	json_decref(job);
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/repositories/%s", id);
	r = call(f, "GET", path, f->alice, NULL);
	expect_status(&r, 200, "failed repository");
	assert_string_equal(str(r.body, "state"), "failed");
	assert_non_null(strstr(str(r.body, "error"), "cannot clone"));
	text = json_dumps(r.body, 0);
	assert_null(strstr(text, "hunter2secret"));
	free(text);
	reply_free(&r);
	/* Nor in the list, the audit log or the jobs table (the payload names only the id). */
	r = call(f, "GET", "/api/v1/repositories", f->alice, NULL);
	text = json_dumps(r.body, 0);
	assert_null(strstr(text, "hunter2secret"));
	free(text);
	reply_free(&r);
	json_t *rows = NULL;
	OK(store_query(f->store, "SELECT * FROM audit_log", NULL, 0, &rows, e));
	text = json_dumps(rows, 0);
	assert_null(strstr(text, "hunter2secret"));
	free(text);
	json_decref(rows);
	OK(store_query(f->store, "SELECT * FROM jobs", NULL, 0, &rows, e));
	text = json_dumps(rows, 0);
	assert_null(strstr(text, "hunter2secret"));
	free(text);
	json_decref(rows);
	free(id);
	free(job_id);
}

static void test_bad_bodies(void **state)
{
	struct fixture *f = *state;
	char *tree = make_work_tree(f, "good");
	char body[PATH_MAX + 128];
	snprintf(body, sizeof(body), "{\"path\":\"%s\",\"url\":\"file:///x.git\"}", tree);
	expect_field_error(f, f->alice, body, "url");
	expect_field_error(f, f->alice, "{}", "path");
	expect_field_error(f, f->alice, "{\"name\":\"x\"}", "path");
	expect_field_error(f, f->alice, "{\"path\":\"relative/dir\"}", "path");
	expect_field_error(f, f->alice, "{\"path\":\"\"}", "path");
	expect_field_error(f, f->alice, "{\"path\":\"/no/such/directory\"}", "path");
	expect_field_error(f, f->alice, "{\"path\":42}", "path");
	/* A directory outside any working tree. */
	snprintf(body, sizeof(body), "{\"path\":\"%s\"}", f->dir);
	expect_field_error(f, f->alice, body, "path");
	snprintf(body, sizeof(body), "{\"path\":\"%s\",\"branch\":\"main\"}", tree);
	expect_field_error(f, f->alice, body, "branch");
	snprintf(body, sizeof(body), "{\"path\":\"%s\",\"name\":\"../escape\"}", tree);
	expect_field_error(f, f->alice, body, "name");
	snprintf(body, sizeof(body), "{\"path\":\"%s\",\"name\":\"\"}", tree);
	expect_field_error(f, f->alice, body, "name");
	expect_field_error(f, f->alice, "{\"url\":\"ext::sh -c touch% /tmp/pwned\"}", "url");
	expect_field_error(f, f->alice, "{\"url\":\"-uhttps://example.com/x.git\"}", "url");
	expect_field_error(f, f->alice, "{\"url\":\"ftp://example.com/x.git\"}", "url");
	expect_field_error(f, f->alice, "{\"url\":\"just-a-word\"}", "url");
	expect_field_error(f, f->alice, "{\"url\":\"\"}", "url");
	struct reply r = call(f, "POST", "/api/v1/repositories", f->alice, "{\"path\": ");
	expect_status(&r, 400, "malformed JSON");
	reply_free(&r);
	r = call(f, "POST", "/api/v1/repositories", f->alice, "[1]");
	expect_status(&r, 422, "not an object");
	reply_free(&r);
	/* Nothing was registered, nothing queued. */
	assert_int_equal(count_rows(f, "SELECT COUNT(*) AS n FROM repositories", NULL), 0);
	assert_int_equal(count_rows(f, "SELECT COUNT(*) AS n FROM jobs", NULL), 0);
	/* scp-like and https URLs are accepted (the clone may fail later, not the request). */
	r = call(f, "POST", "/api/v1/repositories", f->alice,
		 "{\"url\":\"git@example.invalid:team/tool.git\"}");
	expect_status(&r, 202, "scp-like url");
	assert_string_equal(str(json_object_get(r.body, "repository"), "name"), "tool");
	reply_free(&r);
	free(tree);
}

/* The ids a caller's list holds, following every cursor with pages of limit. */
static json_t *list_ids(struct fixture *f, const char *token, int limit)
{
	json_t *ids = json_array();
	char *cursor = NULL;
	for (int pages = 0; pages < 20; pages++) {
		char path[512];
		if (cursor)
			snprintf(path, sizeof(path), "/api/v1/repositories?limit=%d&cursor=%s",
				 limit, cursor);
		else
			snprintf(path, sizeof(path), "/api/v1/repositories?limit=%d", limit);
		struct reply r = call(f, "GET", path, token, NULL);
		expect_status(&r, 200, "list");
		json_t *items = json_object_get(r.body, "items");
		assert_true(json_array_size(items) <= (size_t)limit);
		size_t i;
		json_t *item;
		json_array_foreach(items, i, item)
		{
			json_array_append_new(ids, json_string(str(item, "id")));
		}
		free(cursor);
		cursor = NULL;
		const char *next = str(r.body, "next_cursor");
		if (next) {
			assert_int_equal(json_array_size(items), (size_t)limit);
			cursor = xstrdup(next);
		}
		reply_free(&r);
		if (!cursor)
			break;
	}
	free(cursor);
	return ids;
}

static bool contains(const json_t *ids, const char *id)
{
	size_t i;
	const json_t *item;
	json_array_foreach(ids, i, item)
	{
		if (strcmp(json_string_value(item), id) == 0)
			return true;
	}
	return false;
}

static void test_tenant_isolation(void **state)
{
	struct fixture *f = *state;
	char *tree = make_work_tree(f, "shared");
	char body[PATH_MAX + 64];
	char ids[4][STORE_ID_SIZE];
	const char *names[] = { "x", "y", "w" };
	for (int i = 0; i < 3; i++) {
		snprintf(body, sizeof(body), "{\"path\":\"%s\",\"name\":\"%s\"}", tree, names[i]);
		struct reply r = call(f, "POST", "/api/v1/repositories", f->alice, body);
		expect_status(&r, 201, body);
		snprintf(ids[i], sizeof(ids[i]), "%s", str(r.body, "id"));
		reply_free(&r);
	}
	/* carol, who may only create, owns what she creates. */
	snprintf(body, sizeof(body), "{\"path\":\"%s\",\"name\":\"z\"}", tree);
	struct reply r = call(f, "POST", "/api/v1/repositories", f->carol, body);
	expect_status(&r, 201, "carol creates z");
	snprintf(ids[3], sizeof(ids[3]), "%s", str(r.body, "id"));
	reply_free(&r);
	/* bob holds no global role; he is a developer in x only. */
	bind_role(f, "bob", "developer", ids[0]);

	json_t *seen = list_ids(f, f->bob, 1);
	assert_int_equal(json_array_size(seen), 1);
	assert_true(contains(seen, ids[0]));
	json_decref(seen);
	seen = list_ids(f, f->carol, 2);
	assert_int_equal(json_array_size(seen), 1);
	assert_true(contains(seen, ids[3]));
	json_decref(seen);
	/* A global project:read sees everything, page by page. */
	seen = list_ids(f, f->alice, 1);
	assert_int_equal(json_array_size(seen), 4);
	json_decref(seen);
	seen = list_ids(f, f->root, 3);
	assert_int_equal(json_array_size(seen), 4);
	json_decref(seen);

	char path[128];
	snprintf(path, sizeof(path), "/api/v1/repositories/%s", ids[0]);
	r = call(f, "GET", path, f->bob, NULL);
	expect_status(&r, 200, "bob reads x");
	reply_free(&r);
	snprintf(path, sizeof(path), "/api/v1/repositories/%s", ids[1]);
	r = call(f, "GET", path, f->bob, NULL);
	expect_status(&r, 403, "bob reads y");
	reply_free(&r);
	r = call(f, "DELETE", path, f->bob, NULL);
	expect_status(&r, 403, "bob deletes y");
	reply_free(&r);
	r = call(f, "GET", path, f->carol, NULL);
	expect_status(&r, 403, "carol reads y");
	reply_free(&r);
	snprintf(path, sizeof(path), "/api/v1/repositories/%s", ids[3]);
	r = call(f, "GET", path, f->carol, NULL);
	expect_status(&r, 200, "carol reads z");
	reply_free(&r);
	/* An unknown id: 404 for a global reader, 403 (nothing learned) for others. */
	r = call(f, "GET", "/api/v1/repositories/01900000-0000-7000-8000-000000000000", f->root,
		 NULL);
	expect_status(&r, 404, "unknown id");
	reply_free(&r);
	r = call(f, "GET", "/api/v1/repositories/01900000-0000-7000-8000-000000000000", f->bob,
		 NULL);
	expect_status(&r, 403, "unknown id, bob");
	reply_free(&r);

	/* A job is visible exactly where its repository is. */
	char head[64];
	char *bare = make_bare(f, "private", head);
	snprintf(body, sizeof(body), "{\"url\":\"%s\"}", bare);
	r = call(f, "POST", "/api/v1/repositories", f->carol, body);
	expect_status(&r, 202, "carol clones");
	char *job_id = xstrdup(str(r.body, "job_id"));
	reply_free(&r);
	snprintf(path, sizeof(path), "/api/v1/jobs/%s", job_id);
	r = call(f, "GET", path, f->carol, NULL);
	expect_status(&r, 200, "carol's job");
	reply_free(&r);
	r = call(f, "GET", path, f->bob, NULL);
	expect_status(&r, 404, "bob and carol's job");
	reply_free(&r);
	r = call(f, "GET", "/api/v1/jobs/01900000-0000-7000-8000-000000000000", f->root, NULL);
	expect_status(&r, 404, "unknown job");
	reply_free(&r);
	r = call(f, "GET", path, NULL, NULL);
	expect_status(&r, 401, "anonymous job");
	reply_free(&r);
	free(job_id);
	free(bare);
	free(tree);
}

static void test_delete(void **state)
{
	struct fixture *f = *state;
	char head[64];
	char *bare = make_bare(f, "doomed", head);
	char *tree = make_work_tree(f, "mine");
	char body[PATH_MAX + 64];
	snprintf(body, sizeof(body), "{\"url\":\"file://%s\"}", bare);
	struct reply r = call(f, "POST", "/api/v1/repositories", f->alice, body);
	expect_status(&r, 202, "clone");
	char *cloned = xstrdup(str(json_object_get(r.body, "repository"), "id"));
	char *clone_dir = xstrdup(str(json_object_get(r.body, "repository"), "path"));
	char *job_id = xstrdup(str(r.body, "job_id"));
	reply_free(&r);
	start_workers(f);
	json_decref(wait_job(f, f->alice, job_id, "done"));
	assert_true(git_head_is(clone_dir, head));
	json_t *local = register_path(f, f->alice, tree);
	/* bob, a developer in the cloned one, may delete it; the clone goes with it. */
	bind_role(f, "bob", "developer", cloned);
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/repositories/%s", cloned);
	r = call(f, "DELETE", path, f->bob, NULL);
	expect_status(&r, 204, "delete the clone");
	reply_free(&r);
	assert_int_not_equal(access(clone_dir, F_OK), 0);
	r = call(f, "GET", path, f->root, NULL);
	expect_status(&r, 404, "deleted");
	reply_free(&r);
	r = call(f, "DELETE", path, f->root, NULL);
	expect_status(&r, 404, "deleted twice");
	reply_free(&r);
	/* Its grants went with it. */
	assert_int_equal(
		count_rows(f, "SELECT COUNT(*) AS n FROM role_bindings WHERE project = ?", cloned),
		0);
	char target[128];
	snprintf(target, sizeof(target), "repositories/%s", cloned);
	assert_int_equal(count_rows(f,
				    "SELECT COUNT(*) AS n FROM audit_log WHERE action = "
				    "'repository.delete' AND target = ?",
				    target),
			 1);
	/* A local path is the user's own: deleting the registration leaves it alone. */
	snprintf(path, sizeof(path), "/api/v1/repositories/%s", str(local, "id"));
	r = call(f, "DELETE", path, f->alice, NULL);
	expect_status(&r, 204, "delete the path registration");
	reply_free(&r);
	char file[PATH_MAX + 32];
	snprintf(file, sizeof(file), "%s/sub/file.txt", tree);
	assert_int_equal(access(file, F_OK), 0);
	assert_int_equal(count_rows(f, "SELECT COUNT(*) AS n FROM repositories", NULL), 0);
	json_decref(local);
	free(cloned);
	free(clone_dir);
	free(job_id);
	free(tree);
	free(bare);
}

static void test_openapi_describes_the_routes(void **state)
{
	struct fixture *f = *state;
	static const char *const specs[][2] = {
		{ "GET", "/api/v1/repositories" },	{ "POST", "/api/v1/repositories" },
		{ "GET", "/api/v1/repositories/{id}" }, { "DELETE", "/api/v1/repositories/{id}" },
		{ "GET", "/api/v1/jobs/{id}" },
	};
	for (size_t s = 0; s < sizeof(specs) / sizeof(*specs); s++) {
		bool found = false;
		for (size_t i = 0; i < http_router_count(f->router); i++) {
			const struct http_route *route = http_router_at(f->router, i);
			if (strcmp(http_route_method(route), specs[s][0]) != 0 ||
			    strcmp(http_route_pattern(route), specs[s][1]) != 0)
				continue;
			const struct http_route_meta *meta = http_route_meta(route);
			assert_non_null(meta->summary);
			assert_non_null(strstr(meta->tags, "repositories"));
			assert_non_null(meta->permission);
			if (strcmp(specs[s][0], "DELETE") != 0)
				assert_non_null(meta->response_schema);
			if (strcmp(specs[s][0], "POST") == 0)
				assert_non_null(meta->request_schema);
			found = true;
		}
		if (!found)
			fail_msg("no route %s %s", specs[s][0], specs[s][1]);
	}
	/* The OpenAPI document carries them, with their permissions. */
	json_t *doc = http_openapi_build(f->router, NULL);
	json_t *paths = json_object_get(doc, "paths");
	assert_string_equal(
		str(json_object_get(json_object_get(paths, "/api/v1/repositories"), "post"),
		    "x-permission"),
		"project:write");
	assert_string_equal(
		str(json_object_get(json_object_get(paths, "/api/v1/repositories/{id}"), "delete"),
		    "x-permission"),
		"project:write");
	assert_non_null(json_object_get(json_object_get(paths, "/api/v1/jobs/{id}"), "get"));
	assert_non_null(
		json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"),
				"RepositoryCreate"));
	json_decref(doc);
}

#define REPOSITORY_TESTS(setup)                                                                \
	cmocka_unit_test_setup_teardown(test_register_by_path, setup, teardown),               \
		cmocka_unit_test_setup_teardown(test_register_by_url_clones, setup, teardown), \
		cmocka_unit_test_setup_teardown(test_clone_failure_hides_credentials, setup,   \
						teardown),                                     \
		cmocka_unit_test_setup_teardown(test_bad_bodies, setup, teardown),             \
		cmocka_unit_test_setup_teardown(test_tenant_isolation, setup, teardown),       \
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),                 \
		cmocka_unit_test_setup_teardown(test_openapi_describes_the_routes, setup,      \
						teardown)

int main(void)
{
	const struct CMUnitTest sqlite_tests[] = { REPOSITORY_TESTS(setup_sqlite) };
	const struct CMUnitTest pg_tests[] = { REPOSITORY_TESTS(setup_pg) };
	int failed = cmocka_run_group_tests_name("sqlite", sqlite_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("postgresql", pg_tests, group_setup_pg,
					      group_teardown_pg);
	return failed;
}
