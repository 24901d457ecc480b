/*
 * Shared by test_api_auth.c and test_api_rbac.c: a store (SQLite temp file
 * or a database on the throw-away PostgreSQL), a router with the identity
 * and access routes, and calls through http_router_dispatch with real
 * request structs, each with its own arena as the server gives them.
 */
#ifndef AMPEL_TESTS_API_AUTH_HARNESS_H
#define AMPEL_TESTS_API_AUTH_HARNESS_H

#include "api/api.h"
#include "api/auth.h"
#include "api/passwords.h"
#include "http/response.h"
#include "http/router.h"
#include "store/store.h"
#include "support/pg_server.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/xalloc.h"

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static struct pg_server pg;

struct fixture {
	char dir[256];
	struct buf url;
	struct store *store;
	struct api_context ctx;
	struct http_router *router;
};

/* One answer: status, parsed body (or NULL), and the headers we look at. */
struct reply {
	int status;
	json_t *body;
	char set_cookie[512];
	char retry_after[32];
	char www_authenticate[128];
};

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static int open_fixture(struct fixture *f, void **state)
{
	struct err fail = ERR_INIT;
	passwords_set_fast_for_tests(true);
	if (store_open(&f->store, buf_cstr(&f->url), &fail) != 0 ||
	    store_migrate(f->store, &fail) != 0) {
		print_error("store: %s\n", fail.msg);
		return -1;
	}
	f->ctx.store = f->store;
	f->ctx.data_dir = f->dir[0] ? f->dir : "/tmp";
	f->router = http_router_new();
	if (api_auth_register(f->router, &f->ctx, &fail) != 0) {
		print_error("api_auth_register: %s\n", fail.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int setup_sqlite(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/ampel-auth-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	buf_addf(&f->url, "sqlite:%s/ampel.db", f->dir);
	return open_fixture(f, state);
}

static int setup_pg(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct err fail = ERR_INIT;
	if (pg_server_create_database(&pg, &f->url, &fail) != 0) {
		print_error("%s\n", fail.msg);
		return -1;
	}
	return open_fixture(f, state);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	http_router_free(f->router);
	store_close(f->store);
	if (f->dir[0])
		nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
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

static void reply_free(struct reply *r)
{
	json_decref(r->body);
	r->body = NULL;
}

/*
 * Dispatches METHOD path with body (NULL: none) and extra headers given as
 * name, value pairs ending with NULL. Credentials: bearer (NULL: none).
 */
static struct reply call(struct fixture *f, const char *address, const char *method,
			 const char *path, const char *bearer, const char *body, ...)
{
	struct arena *arena = arena_new();
	struct http_pair headers[8];
	size_t count = 0;
	if (bearer) {
		headers[count++] = (struct http_pair){ "Authorization",
						       arena_printf(arena, "Bearer %s", bearer) };
	}
	va_list ap;
	va_start(ap, body);
	for (const char *name; (name = va_arg(ap, const char *)) && count < 8;) {
		const char *value = va_arg(ap, const char *);
		headers[count++] = (struct http_pair){ name, value };
	}
	va_end(ap);
	/* The query string is split off as the server does. */
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
		.client_address = address ? address : "127.0.0.1",
		.request_id = "test",
		.arena = arena,
	};
	struct http_response res = http_router_dispatch(f->router, &req);
	struct reply r = { .status = res.status };
	if (res.body.len)
		r.body = json_loads(buf_cstr(&res.body), 0, NULL);
	const char *v;
	if ((v = http_response_header(&res, "Set-Cookie")))
		snprintf(r.set_cookie, sizeof(r.set_cookie), "%s", v);
	if ((v = http_response_header(&res, "Retry-After")))
		snprintf(r.retry_after, sizeof(r.retry_after), "%s", v);
	if ((v = http_response_header(&res, "WWW-Authenticate")))
		snprintf(r.www_authenticate, sizeof(r.www_authenticate), "%s", v);
	http_response_free(&res);
	arena_free(arena);
	return r;
}

#define GET(f, path, bearer)	    call((f), NULL, "GET", (path), (bearer), NULL, NULL)
#define POST(f, path, bearer, body) call((f), NULL, "POST", (path), (bearer), (body), NULL)
#define DELETE(f, path, bearer)	    call((f), NULL, "DELETE", (path), (bearer), NULL, NULL)

static void expect_status(struct reply *r, int status, const char *what)
{
	if (r->status != status) {
		char *text = r->body ? json_dumps(r->body, JSON_COMPACT) : NULL;
		fail_msg("%s: status %d, expected %d: %s", what, r->status, status,
			 text ? text : "(no body)");
	}
}

static const char *body_str(const struct reply *r, const char *key)
{
	return json_string_value(json_object_get(r->body, key));
}

static void create_user(struct fixture *f, const char *name, bool admin)
{
	struct err e = ERR_INIT;
	char email[128];
	snprintf(email, sizeof(email), "%s@example.com", name);
	if (api_create_user(&f->ctx, name, email, "correct horse battery", admin, &e) != 0)
		fail_msg("api_create_user(%s): %s", name, e.msg);
}

/* Logs in and returns the access token (a new string). */
static char *login_token(struct fixture *f, const char *name)
{
	char body[256];
	snprintf(body, sizeof(body), "{\"name\":\"%s\",\"password\":\"correct horse battery\"}",
		 name);
	struct reply r = POST(f, "/api/v1/auth/login", NULL, body);
	expect_status(&r, 200, "login");
	char *token = xstrdup(body_str(&r, "access_token"));
	reply_free(&r);
	return token;
}

/* Rows of the audit log with this action (and target when not NULL). */
static int audit_count(struct fixture *f, const char *action, const char *target)
{
	struct store_param params[] = { STORE_TEXT_PARAM(action),
					STORE_TEXT_PARAM(target ? target : "") };
	json_t *row = NULL;
	struct err e = ERR_INIT;
	if (store_query_one(
		    f->store,
		    target ? "SELECT COUNT(*) AS n FROM audit_log WHERE action = ? AND "
			     "target = ?"
			   : "SELECT COUNT(*) AS n FROM audit_log WHERE action = ? AND ? = ''",
		    params, 2, &row, &e) != 0)
		fail_msg("audit query: %s", e.msg);
	int n = (int)json_integer_value(json_object_get(row, "n"));
	json_decref(row);
	return n;
}

static void sql(struct fixture *f, const char *statement, const char *text)
{
	struct store_param p = STORE_TEXT_PARAM(text);
	struct err e = ERR_INIT;
	if (store_exec(f->store, statement, &p, text ? 1 : 0, NULL, &e) != 0)
		fail_msg("%s: %s", statement, e.msg);
}

#define BOTH_DRIVERS(list, setup_fn)                                                           \
	do {                                                                                   \
		const struct CMUnitTest sqlite_tests[] = { list(setup_sqlite) };               \
		const struct CMUnitTest pg_tests[] = { list(setup_pg) };                       \
		int failed_ = cmocka_run_group_tests_name("sqlite", sqlite_tests, NULL, NULL); \
		failed_ += cmocka_run_group_tests_name("postgresql", pg_tests, group_setup_pg, \
						       group_teardown_pg);                     \
		return failed_;                                                                \
	} while (0)

#endif
