/*
 * Secrets on both drivers: sealing and revealing, row binding, the master
 * key (environment and key file), rotation, and /api/v1/secrets, which
 * never hands a value back.
 */
#include "api/secrets.h"

#include "api/api.h"
#include "api/audit.h"
#include "http/response.h"
#include "http/router.h"
#include "store/store.h"
#include "support/pg_server.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

static struct pg_server pg;

#define VALUE_A "s3cr3t-VALUE-alpha"
#define VALUE_B "s3cr3t-VALUE-bravo"
#define KEY_1	"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
#define KEY_2	"ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="

struct fixture {
	char dir[256]; /* the data directory (and SQLite's file) */
	struct buf url;
	struct store *store;
	struct api_context ctx;
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

static struct fixture *fixture_new(void)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/ampel-secrets-XXXXXX");
	if (!mkdtemp(f->dir))
		return NULL;
	unsetenv("AMPEL_MASTER_KEY");
	return f;
}

static int open_fixture(struct fixture *f, void **state)
{
	struct err fail = ERR_INIT;
	if (store_open(&f->store, buf_cstr(&f->url), &fail) != 0 ||
	    store_migrate(f->store, &fail) != 0) {
		print_error("store (%s): %s\n", buf_cstr(&f->url), fail.msg);
		return -1;
	}
	f->ctx = (struct api_context){ .store = f->store, .data_dir = f->dir };
	*state = f;
	return 0;
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
	store_close(f->store);
	nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	buf_free(&f->url);
	free(f);
	unsetenv("AMPEL_MASTER_KEY");
	return 0;
}

static void put(struct fixture *f, const char *project, const char *name, const char *scope,
		const char *value)
{
	OK(secrets_put(&f->ctx, "alice", project, name, scope, value, strlen(value), NULL, e));
}

static void expect_revealed(struct fixture *f, const char *project, const char *name,
			    const char *for_scope, const char *expected)
{
	char *value = NULL;
	struct err fail = ERR_INIT;
	if (secrets_reveal(&f->ctx, project, name, for_scope, &value, &fail) != 0)
		fail_msg("reveal %s: %s", name, fail.msg);
	assert_string_equal(value, expected);
	secrets_value_free(value);
}

/* Reveal fails; the message contains want and none of the test values. */
static void expect_reveal_error(struct fixture *f, const char *project, const char *name,
				const char *for_scope, const char *want)
{
	char *value = (char *)"unchanged";
	struct err fail = ERR_INIT;
	assert_int_equal(secrets_reveal(&f->ctx, project, name, for_scope, &value, &fail), -1);
	assert_null(value);
	if (!strstr(fail.msg, want))
		fail_msg("expected '%s' in: %s", want, fail.msg);
	assert_null(strstr(fail.msg, VALUE_A));
	assert_null(strstr(fail.msg, VALUE_B));
}

/* Nothing the store keeps outside the ciphertexts holds a value. */
static void expect_no_values_stored(struct fixture *f)
{
	json_t *rows = NULL;
	OK(store_query(f->store, "SELECT * FROM audit_log", NULL, 0, &rows, e));
	char *text = json_dumps(rows, 0);
	assert_null(strstr(text, VALUE_A));
	assert_null(strstr(text, VALUE_B));
	assert_null(strstr(text, "s3cr3t"));
	free(text);
	json_decref(rows);
	int64_t checked, bad;
	OK(audit_verify(f->store, &checked, &bad, e));
}

static void test_round_trip_and_resolution(void **state)
{
	struct fixture *f = *state;
	put(f, NULL, "TOKEN", "all", VALUE_A);
	put(f, "web", "TOKEN", "pipeline", VALUE_B);
	put(f, NULL, "DEPLOY_KEY", "deploy", VALUE_A);
	expect_revealed(f, NULL, "TOKEN", "pipeline", VALUE_A);
	/* A project's secret wins over the global one of the same name. */
	expect_revealed(f, "web", "TOKEN", "pipeline", VALUE_B);
	expect_revealed(f, "api", "TOKEN", "agent", VALUE_A);
	/* Scope: a pipeline-only secret is not for agents; a deploy one not for pipelines. */
	expect_reveal_error(f, "web", "TOKEN", "agent", "is for pipeline, not for agent");
	expect_revealed(f, "web", "DEPLOY_KEY", "deploy", VALUE_A);
	expect_reveal_error(f, NULL, "DEPLOY_KEY", "pipeline", "is for deploy");
	expect_reveal_error(f, NULL, "MISSING", "pipeline", "no secret named 'MISSING'");
	expect_reveal_error(f, NULL, "TOKEN", "all", "revealed for pipeline, agent or deploy");
	/* Binary-safe and empty values. */
	put(f, NULL, "EMPTY", "all", "");
	expect_revealed(f, NULL, "EMPTY", "agent", "");
	/* Bad input is refused without echoing the value. */
	struct err fail = ERR_INIT;
	assert_int_equal(secrets_put(&f->ctx, "alice", NULL, "bad name", "all", VALUE_A,
				     strlen(VALUE_A), NULL, &fail),
			 -1);
	assert_null(strstr(fail.msg, VALUE_A));
	assert_int_equal(secrets_put(&f->ctx, "alice", NULL, "OK", "everyone", VALUE_A,
				     strlen(VALUE_A), NULL, &fail),
			 -1);
	assert_non_null(strstr(fail.msg, "scope must be"));
	assert_null(strstr(fail.msg, VALUE_A));
	/* Every change and every reveal is audited, without values. */
	json_t *row = NULL;
	OK(store_query_one(f->store,
			   "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'secret.reveal'",
			   NULL, 0, &row, e));
	assert_int_equal(json_integer_value(json_object_get(row, "n")), 5);
	json_decref(row);
	expect_no_values_stored(f);
}

static json_t *secret_row(struct fixture *f, const char *name)
{
	struct store_param p = STORE_TEXT_PARAM(name);
	json_t *row = NULL;
	OK(store_query_one(f->store,
			   "SELECT id, ciphertext, nonce, key_version, version FROM secrets WHERE "
			   "name = ?",
			   &p, 1, &row, e));
	assert_non_null(row);
	return row;
}

static void test_ciphertext_differs_per_write(void **state)
{
	struct fixture *f = *state;
	put(f, NULL, "SAME", "all", VALUE_A);
	json_t *first = secret_row(f, "SAME");
	put(f, NULL, "SAME", "all", VALUE_A);
	json_t *second = secret_row(f, "SAME");
	assert_string_not_equal(json_string_value(json_object_get(first, "nonce")),
				json_string_value(json_object_get(second, "nonce")));
	assert_string_not_equal(json_string_value(json_object_get(first, "ciphertext")),
				json_string_value(json_object_get(second, "ciphertext")));
	assert_int_equal(json_integer_value(json_object_get(second, "version")), 2);
	/* Two secrets with the same value do not share a ciphertext either. */
	put(f, NULL, "OTHER", "all", VALUE_A);
	json_t *other = secret_row(f, "OTHER");
	assert_string_not_equal(json_string_value(json_object_get(other, "ciphertext")),
				json_string_value(json_object_get(second, "ciphertext")));
	expect_revealed(f, NULL, "SAME", "agent", VALUE_A);
	json_decref(first);
	json_decref(second);
	json_decref(other);
}

static void test_swapped_ciphertext_fails(void **state)
{
	struct fixture *f = *state;
	put(f, NULL, "ALPHA", "all", VALUE_A);
	put(f, NULL, "BRAVO", "all", VALUE_B);
	put(f, "web", "ALPHA", "all", VALUE_B);
	/* ALPHA gets BRAVO's ciphertext and nonce: the AEAD's associated data refuses it. */
	OK(store_exec(
		f->store,
		"UPDATE secrets SET ciphertext = (SELECT ciphertext FROM secrets WHERE name = "
		"'BRAVO'), nonce = (SELECT nonce FROM secrets WHERE name = 'BRAVO') WHERE "
		"name = 'ALPHA' AND project IS NULL",
		NULL, 0, NULL, e));
	expect_reveal_error(f, NULL, "ALPHA", "pipeline", "cannot be decrypted");
	expect_revealed(f, NULL, "BRAVO", "pipeline", VALUE_B);
	/* Moving a row to another project or scope breaks it too. */
	OK(store_exec(f->store, "UPDATE secrets SET project = 'api' WHERE project = 'web'", NULL, 0,
		      NULL, e));
	expect_reveal_error(f, "api", "ALPHA", "pipeline", "cannot be decrypted");
	OK(store_exec(f->store, "UPDATE secrets SET scope = 'pipeline' WHERE name = 'BRAVO'", NULL,
		      0, NULL, e));
	expect_reveal_error(f, NULL, "BRAVO", "pipeline", "cannot be decrypted");
	/* Rotation refuses to touch anything while a row cannot be opened. */
	struct secrets_rotation rotation = { .secrets = -1 };
	struct err fail = ERR_INIT;
	assert_int_equal(secrets_rotate_key(&f->ctx, &rotation, &fail), -1);
	assert_non_null(strstr(fail.msg, "nothing was changed"));
	assert_int_equal(rotation.secrets, 0);
	json_t *row = NULL;
	OK(store_query_one(f->store, "SELECT MAX(version) AS v FROM secret_keys", NULL, 0, &row,
			   e));
	assert_int_equal(json_integer_value(json_object_get(row, "v")), 1);
	json_decref(row);
}

static void test_master_key_from_environment(void **state)
{
	struct fixture *f = *state;
	setenv("AMPEL_MASTER_KEY", KEY_1, 1);
	put(f, NULL, "ENVY", "all", VALUE_A);
	expect_revealed(f, NULL, "ENVY", "pipeline", VALUE_A);
	/* No key file is written when the key comes from the environment. */
	char path[512];
	snprintf(path, sizeof(path), "%s/master.key", f->dir);
	struct stat st;
	assert_int_not_equal(stat(path, &st), 0);
	/* Another key: every use fails and says what to do. */
	setenv("AMPEL_MASTER_KEY", KEY_2, 1);
	expect_reveal_error(f, NULL, "ENVY", "pipeline", "is not the key these secrets were");
	struct err fail = ERR_INIT;
	assert_int_equal(secrets_check_master_key(&f->ctx, &fail), -1);
	assert_non_null(strstr(fail.msg, "AMPEL_MASTER_KEY"));
	assert_null(strstr(fail.msg, KEY_2));
	assert_int_equal(secrets_put(&f->ctx, "alice", NULL, "NEW", "all", VALUE_B, strlen(VALUE_B),
				     NULL, &fail),
			 -1);
	struct http_router *router = http_router_new();
	assert_int_equal(api_secrets_register(router, &f->ctx, &fail), -1);
	http_router_free(router);
	/* Not a key at all. */
	setenv("AMPEL_MASTER_KEY", "c2hvcnQ=", 1);
	assert_int_equal(secrets_check_master_key(&f->ctx, &fail), -1);
	assert_non_null(strstr(fail.msg, "base64-encoded 32-byte key"));
	assert_null(strstr(fail.msg, "c2hvcnQ="));
	setenv("AMPEL_MASTER_KEY", KEY_1, 1);
	OK(secrets_check_master_key(&f->ctx, e));
	expect_revealed(f, NULL, "ENVY", "pipeline", VALUE_A);
}

static void test_master_key_file(void **state)
{
	struct fixture *f = *state;
	char path[512];
	snprintf(path, sizeof(path), "%s/master.key", f->dir);
	OK(secrets_check_master_key(&f->ctx, e));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	put(f, NULL, "FILED", "all", VALUE_A);
	expect_revealed(f, NULL, "FILED", "deploy", VALUE_A);
	/* A key file others can read is refused, clearly. */
	assert_int_equal(chmod(path, 0644), 0);
	struct err fail = ERR_INIT;
	assert_int_equal(secrets_check_master_key(&f->ctx, &fail), -1);
	assert_non_null(strstr(fail.msg, "has mode 0644"));
	assert_non_null(strstr(fail.msg, "chmod 600"));
	expect_reveal_error(f, NULL, "FILED", "deploy", "has mode 0644");
	assert_int_equal(chmod(path, 0600), 0);
	expect_revealed(f, NULL, "FILED", "deploy", VALUE_A);
	/* A replaced key file is a wrong key. */
	FILE *out = fopen(path, "w");
	assert_non_null(out);
	fputs(KEY_2 "\n", out);
	fclose(out);
	expect_reveal_error(f, NULL, "FILED", "deploy", "cannot unwrap secret key version 1");
	out = fopen(path, "w");
	fputs("not a key\n", out);
	fclose(out);
	expect_reveal_error(f, NULL, "FILED", "deploy", "must hold one base64-encoded");
}

static void test_rotate_reencrypts_everything(void **state)
{
	struct fixture *f = *state;
	const char *names[] = { "ONE", "TWO", "THREE" };
	put(f, NULL, "ONE", "all", VALUE_A);
	put(f, "web", "TWO", "pipeline", VALUE_B);
	put(f, "api", "THREE", "deploy", VALUE_A);
	json_t *before[3];
	for (int i = 0; i < 3; i++)
		before[i] = secret_row(f, names[i]);
	struct secrets_rotation rotation;
	OK(secrets_rotate_key(&f->ctx, &rotation, e));
	assert_int_equal(rotation.secrets, 3);
	json_t *rows = NULL;
	OK(store_query(f->store, "SELECT ciphertext, nonce, key_version FROM secrets", NULL, 0,
		       &rows, e));
	char *all = json_dumps(rows, 0);
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
		assert_int_equal(json_integer_value(json_object_get(row, "key_version")), 2);
	for (int k = 0; k < 3; k++) {
		/* The old ciphertexts are gone from the table. */
		assert_null(
			strstr(all, json_string_value(json_object_get(before[k], "ciphertext"))));
		json_decref(before[k]);
	}
	free(all);
	json_decref(rows);
	/* Only the new key version remains. */
	OK(store_query(f->store, "SELECT version FROM secret_keys", NULL, 0, &rows, e));
	assert_int_equal(json_array_size(rows), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 0), "version")),
			 2);
	json_decref(rows);
	expect_revealed(f, NULL, "ONE", "agent", VALUE_A);
	expect_revealed(f, "web", "TWO", "pipeline", VALUE_B);
	expect_revealed(f, "api", "THREE", "deploy", VALUE_A);
	/* New writes use the new version; a second rotation works as well. */
	put(f, NULL, "FOUR", "all", VALUE_B);
	json_t *four = secret_row(f, "FOUR");
	assert_int_equal(json_integer_value(json_object_get(four, "key_version")), 2);
	json_decref(four);
	OK(secrets_rotate_key(&f->ctx, &rotation, e));
	assert_int_equal(rotation.secrets, 4);
	expect_revealed(f, NULL, "FOUR", "agent", VALUE_B);
	json_t *audit = NULL;
	OK(store_query_one(
		f->store,
		"SELECT detail FROM audit_log WHERE action = 'secret.rotate_key' ORDER BY "
		"seq DESC LIMIT 1",
		NULL, 0, &audit, e));
	assert_non_null(
		strstr(json_string_value(json_object_get(audit, "detail")), "\"key_version\":3"));
	json_decref(audit);
	expect_no_values_stored(f);
}

/* --- the routes --- */

struct call {
	struct arena *arena;
	struct http_response res;
	json_t *body;
	char *text; /* the response body as text, for "no value in it" checks */
};

static void call(struct call *c, struct http_router *router, const char *method, const char *path,
		 const char *body, const struct http_pair *query, size_t query_count)
{
	static char caller_name[] = "alice";
	static struct api_caller caller = { .user_id = "0190a0b0-0000-7000-8000-000000000001",
					    .name = caller_name };
	static const struct http_pair json_header[] = { { "Content-Type", "application/json" } };
	c->arena = arena_new();
	struct http_request req = {
		.method = method,
		.path = path,
		.query = query,
		.query_count = query_count,
		.headers = json_header,
		.header_count = 1,
		.body = body ? body : "",
		.body_len = body ? strlen(body) : 0,
		.arena = c->arena,
		.context = &caller,
	};
	c->res = http_router_dispatch(router, &req);
	c->text = xstrndup(c->res.body.data ? c->res.body.data : "", c->res.body.len);
	c->body = json_loads(c->text, 0, NULL);
	assert_null(strstr(c->text, VALUE_A));
	assert_null(strstr(c->text, VALUE_B));
	assert_null(strstr(c->text, "s3cr3t"));
}

static void call_free(struct call *c)
{
	json_decref(c->body);
	free(c->text);
	http_response_free(&c->res);
	arena_free(c->arena);
}

static void test_routes_never_return_values(void **state)
{
	struct fixture *f = *state;
	struct http_router *router = http_router_new();
	OK(api_secrets_register(router, &f->ctx, e));
	for (size_t i = 0; i < http_router_count(router); i++) {
		const struct http_route *route = http_router_at(router, i);
		const char *want = strcmp(http_route_method(route), "GET") == 0 ? "secret:read"
										: "secret:write";
		assert_string_equal(http_route_meta(route)->permission, want);
	}
	struct call c;
	call(&c, router, "POST", "/api/v1/secrets",
	     "{\"name\": \"API_TOKEN\", \"value\": \"" VALUE_A "\", \"scope\": \"pipeline\"}", NULL,
	     0);
	assert_int_equal(c.res.status, 201);
	assert_string_equal(json_string_value(json_object_get(c.body, "name")), "API_TOKEN");
	assert_string_equal(json_string_value(json_object_get(c.body, "scope")), "pipeline");
	assert_true(json_is_null(json_object_get(c.body, "project")));
	assert_int_equal(json_integer_value(json_object_get(c.body, "key_version")), 1);
	assert_null(json_object_get(c.body, "value"));
	assert_null(json_object_get(c.body, "ciphertext"));
	call_free(&c);

	call(&c, router, "POST", "/api/v1/secrets",
	     "{\"name\": \"API_TOKEN\", \"value\": \"" VALUE_B "\"}", NULL, 0);
	assert_int_equal(c.res.status, 409);
	call_free(&c);

	call(&c, router, "POST", "/api/v1/secrets",
	     "{\"name\": \"API_TOKEN\", \"value\": \"" VALUE_B "\", \"project\": \"web\", "
	     "\"scope\": \"deploy\"}",
	     NULL, 0);
	assert_int_equal(c.res.status, 201);
	assert_string_equal(json_string_value(json_object_get(c.body, "project")), "web");
	call_free(&c);

	/* Mistakes are answered without echoing the value. */
	call(&c, router, "POST", "/api/v1/secrets",
	     "{\"name\": \"X\", \"value\": \"" VALUE_A "\", \"scope\": \"" VALUE_B "x\"}", NULL, 0);
	assert_int_equal(c.res.status, 422);
	call_free(&c);
	call(&c, router, "POST", "/api/v1/secrets",
	     "{\"name\": \"bad-name\", \"value\": \"" VALUE_A "\"}", NULL, 0);
	assert_int_equal(c.res.status, 422);
	call_free(&c);
	call(&c, router, "POST", "/api/v1/secrets", "{\"name\": \"X\", \"value\": \"" VALUE_A "\",",
	     NULL, 0);
	assert_int_equal(c.res.status, 400);
	call_free(&c);

	call(&c, router, "PUT", "/api/v1/secrets/API_TOKEN", "{\"value\": \"" VALUE_B "\"}", NULL,
	     0);
	assert_int_equal(c.res.status, 200);
	assert_int_equal(json_integer_value(json_object_get(c.body, "version")), 2);
	assert_string_equal(json_string_value(json_object_get(c.body, "scope")), "all");
	call_free(&c);
	expect_revealed(f, NULL, "API_TOKEN", "agent", VALUE_B);

	struct http_pair web[] = { { "project", "web" } };
	call(&c, router, "PUT", "/api/v1/secrets/NEW_ONE", "{\"value\": \"" VALUE_A "\"}", web, 1);
	assert_int_equal(c.res.status, 201);
	call_free(&c);

	call(&c, router, "GET", "/api/v1/secrets", NULL, NULL, 0);
	assert_int_equal(c.res.status, 200);
	assert_int_equal(json_array_size(json_object_get(c.body, "items")), 3);
	json_t *item;
	size_t i;
	json_array_foreach(json_object_get(c.body, "items"), i, item)
	{
		assert_null(json_object_get(item, "value"));
		assert_null(json_object_get(item, "ciphertext"));
		assert_null(json_object_get(item, "nonce"));
		assert_non_null(json_object_get(item, "updated_at"));
	}
	call_free(&c);

	call(&c, router, "GET", "/api/v1/secrets", NULL, web, 1);
	assert_int_equal(json_array_size(json_object_get(c.body, "items")), 2);
	call_free(&c);

	struct http_pair page[] = { { "limit", "2" } };
	call(&c, router, "GET", "/api/v1/secrets", NULL, page, 1);
	assert_int_equal(json_array_size(json_object_get(c.body, "items")), 2);
	assert_true(json_is_string(json_object_get(c.body, "next_cursor")));
	call_free(&c);

	call(&c, router, "GET", "/api/v1/secrets/API_TOKEN", NULL, web, 1);
	assert_int_equal(c.res.status, 200);
	assert_string_equal(json_string_value(json_object_get(c.body, "scope")), "deploy");
	call_free(&c);

	call(&c, router, "DELETE", "/api/v1/secrets/API_TOKEN", NULL, web, 1);
	assert_int_equal(c.res.status, 204);
	call_free(&c);
	call(&c, router, "GET", "/api/v1/secrets/API_TOKEN", NULL, web, 1);
	assert_int_equal(c.res.status, 404);
	call_free(&c);
	call(&c, router, "DELETE", "/api/v1/secrets/API_TOKEN", NULL, web, 1);
	assert_int_equal(c.res.status, 404);
	call_free(&c);
	/* The global one is still there. */
	expect_revealed(f, "web", "API_TOKEN", "agent", VALUE_B);

	json_t *actions = NULL;
	OK(store_query(f->store, "SELECT actor, action, target FROM audit_log ORDER BY seq", NULL,
		       0, &actions, e));
	char *text = json_dumps(actions, 0);
	assert_non_null(strstr(text, "\"secret.create\""));
	assert_non_null(strstr(text, "\"secret.update\""));
	assert_non_null(strstr(text, "\"secret.delete\""));
	assert_non_null(strstr(text, "projects/web/secrets/API_TOKEN"));
	assert_non_null(strstr(text, "\"alice\""));
	free(text);
	json_decref(actions);
	expect_no_values_stored(f);
	http_router_free(router);
}

struct creator {
	struct fixture *f;
	char value[32];
	int rc;
};

static void *create_one(void *arg)
{
	struct creator *c = arg;
	struct err fail = ERR_INIT;
	c->rc = secrets_create(&c->f->ctx, "alice", NULL, "RACE", "all", c->value, strlen(c->value),
			       &fail);
	if (c->rc < 0)
		print_error("create: %s\n", fail.msg);
	return NULL;
}

/*
 * POST's create-only write: of creators racing for one name exactly one
 * wins, and its value is the one stored (the check is inside the write).
 */
static void test_create_only_once(void **state)
{
	struct fixture *f = *state;
	enum { CREATORS = 6 };
	struct creator creators[CREATORS];
	pthread_t threads[CREATORS];
	for (int i = 0; i < CREATORS; i++) {
		creators[i].f = f;
		snprintf(creators[i].value, sizeof(creators[i].value), "value-%d", i);
		assert_int_equal(pthread_create(&threads[i], NULL, create_one, &creators[i]), 0);
	}
	int winners = 0, winner = -1;
	for (int i = 0; i < CREATORS; i++) {
		pthread_join(threads[i], NULL);
		assert_true(creators[i].rc == 0 || creators[i].rc == 1);
		if (creators[i].rc == 0) {
			winners++;
			winner = i;
		}
	}
	assert_int_equal(winners, 1);
	expect_revealed(f, NULL, "RACE", "pipeline", creators[winner].value);
	json_t *rows = NULL;
	OK(store_query(f->store, "SELECT action FROM audit_log WHERE action = 'secret.create'",
		       NULL, 0, &rows, e));
	assert_int_equal(json_array_size(rows), 1);
	json_decref(rows);
}

#define SECRETS_TESTS(setup)                                                                      \
	{                                                                                         \
		cmocka_unit_test_setup_teardown(test_round_trip_and_resolution, setup, teardown), \
			cmocka_unit_test_setup_teardown(test_ciphertext_differs_per_write, setup, \
							teardown),                                \
			cmocka_unit_test_setup_teardown(test_swapped_ciphertext_fails, setup,     \
							teardown),                                \
			cmocka_unit_test_setup_teardown(test_master_key_from_environment, setup,  \
							teardown),                                \
			cmocka_unit_test_setup_teardown(test_master_key_file, setup, teardown),   \
			cmocka_unit_test_setup_teardown(test_rotate_reencrypts_everything, setup, \
							teardown),                                \
			cmocka_unit_test_setup_teardown(test_routes_never_return_values, setup,   \
							teardown),                                \
			cmocka_unit_test_setup_teardown(test_create_only_once, setup, teardown),  \
	}

int main(void)
{
	log_set_level(LOG_WARN);
	const struct CMUnitTest sqlite[] = SECRETS_TESTS(setup_sqlite);
	const struct CMUnitTest postgres[] = SECRETS_TESTS(setup_pg);
	int failed = cmocka_run_group_tests_name("api_secrets_sqlite", sqlite, NULL, NULL);
	struct err fail = ERR_INIT;
	if (pg_server_start(&pg, &fail) != 0) {
		print_error("the PostgreSQL half of this suite needs a server: %s\n", fail.msg);
		return 1;
	}
	failed += cmocka_run_group_tests_name("api_secrets_postgres", postgres, NULL, NULL);
	pg_server_stop(&pg);
	return failed ? 1 : 0;
}
