/*
 * The audit log on both drivers: the hash chain, tamper and deletion
 * detection, concurrent appenders, the detail rule and GET /api/v1/audit.
 */
#include "api/audit.h"

#include "api/api.h"
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

#include <cmocka.h>

static struct pg_server pg;

struct fixture {
	char dir[256];
	struct buf url;
	struct store *store;
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

static int open_fixture(struct fixture *f, void **state)
{
	struct err fail = ERR_INIT;
	if (store_open(&f->store, buf_cstr(&f->url), &fail) != 0 ||
	    store_migrate(f->store, &fail) != 0) {
		print_error("store (%s): %s\n", buf_cstr(&f->url), fail.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int setup_sqlite(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/ampel-audit-XXXXXX");
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
	store_close(f->store);
	if (f->dir[0])
		nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	buf_free(&f->url);
	free(f);
	return 0;
}

static void append_some(struct store *store, int count)
{
	for (int i = 0; i < count; i++) {
		char target[32];
		snprintf(target, sizeof(target), "secret/s%d", i);
		json_t *detail = json_pack("{s:s, s:i}", "scope", "pipeline", "key_version", i);
		OK(audit_append(store, i % 2 ? "alice" : "bob",
				i % 3 ? "secret.update" : "user.login", target, detail, e));
		json_decref(detail);
	}
	OK(audit_append(store, NULL, "system.start", NULL, NULL, e));
}

static void expect_intact(struct store *store, int64_t count)
{
	int64_t checked = -1, bad = -1;
	struct err fail = ERR_INIT;
	if (audit_verify(store, &checked, &bad, &fail) != 0)
		fail_msg("audit_verify: %s", fail.msg);
	assert_int_equal(checked, count);
	assert_int_equal(bad, 0);
}

static void expect_bad(struct store *store, int64_t seq, const char *why)
{
	int64_t checked = -1, bad = -1;
	struct err fail = ERR_INIT;
	assert_int_equal(audit_verify(store, &checked, &bad, &fail), -1);
	if (bad != seq)
		fail_msg("expected entry %" PRId64 " to be reported, got %" PRId64 ": %s", seq, bad,
			 fail.msg);
	assert_int_equal(checked, seq - 1);
	assert_non_null(strstr(fail.msg, why));
}

static void test_chain_verifies(void **state)
{
	struct fixture *f = *state;
	expect_intact(f->store, 0);
	append_some(f->store, 6);
	expect_intact(f->store, 7);
	json_t *rows = NULL;
	OK(store_query(f->store, "SELECT seq, prev_hash, hash FROM audit_log ORDER BY seq", NULL, 0,
		       &rows, e));
	assert_int_equal(json_array_size(rows), 7);
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(rows, 0), "prev_hash")),
		AUDIT_GENESIS_HASH);
	for (size_t i = 1; i < 7; i++) {
		json_t *row = json_array_get(rows, i), *before = json_array_get(rows, i - 1);
		assert_int_equal(json_integer_value(json_object_get(row, "seq")),
				 (json_int_t)i + 1);
		assert_string_equal(json_string_value(json_object_get(row, "prev_hash")),
				    json_string_value(json_object_get(before, "hash")));
	}
	json_decref(rows);
}

static void tamper(struct store *store, const char *set_sql, struct store_param value)
{
	OK(store_exec(store, set_sql, &value, 1, NULL, e));
}

static void test_tampering_any_column_is_detected(void **state)
{
	struct fixture *f = *state;
	append_some(f->store, 5);
	json_t *orig = NULL;
	OK(store_query_one(f->store,
			   "SELECT at, actor, action, target, detail, prev_hash, hash FROM "
			   "audit_log WHERE seq = 3",
			   NULL, 0, &orig, e));
	assert_non_null(orig);
	struct {
		const char *sql;
		struct store_param value;
		const char *why;
	} cases[] = {
		{ "UPDATE audit_log SET at = ? WHERE seq = 3", STORE_INT_PARAM(12345), "changed" },
		{ "UPDATE audit_log SET actor = ? WHERE seq = 3", STORE_TEXT_PARAM("mallory"),
		  "changed" },
		{ "UPDATE audit_log SET action = ? WHERE seq = 3", STORE_TEXT_PARAM("nothing"),
		  "changed" },
		{ "UPDATE audit_log SET target = ? WHERE seq = 3", STORE_NULL_PARAM, "changed" },
		/* Same meaning, different bytes: still caught. */
		{ "UPDATE audit_log SET detail = ? WHERE seq = 3",
		  STORE_TEXT_PARAM("{\"key_version\": 2, \"scope\": \"pipeline\"}"), "changed" },
		{ "UPDATE audit_log SET prev_hash = ? WHERE seq = 3",
		  STORE_TEXT_PARAM(AUDIT_GENESIS_HASH), "does not link" },
		{ "UPDATE audit_log SET hash = ? WHERE seq = 3",
		  STORE_TEXT_PARAM(AUDIT_GENESIS_HASH), "changed" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tamper(f->store, cases[i].sql, cases[i].value);
		expect_bad(f->store, 3, cases[i].why);
		/* Put the row back: the chain verifies again. */
		struct store_param back[] = {
			STORE_INT_PARAM(json_integer_value(json_object_get(orig, "at"))),
			STORE_TEXT_PARAM(json_string_value(json_object_get(orig, "actor"))),
			STORE_TEXT_PARAM(json_string_value(json_object_get(orig, "action"))),
			STORE_TEXT_PARAM(json_string_value(json_object_get(orig, "target"))),
			STORE_TEXT_PARAM(json_string_value(json_object_get(orig, "detail"))),
			STORE_TEXT_PARAM(json_string_value(json_object_get(orig, "prev_hash"))),
			STORE_TEXT_PARAM(json_string_value(json_object_get(orig, "hash"))),
		};
		OK(store_exec(f->store,
			      "UPDATE audit_log SET at = ?, actor = ?, action = ?, target = ?, "
			      "detail = ?, prev_hash = ?, hash = ? WHERE seq = 3",
			      back, 7, NULL, e));
		expect_intact(f->store, 6);
	}
	/* Renumbering a row leaves a gap where it was. */
	OK(store_exec(f->store, "UPDATE audit_log SET seq = 40 WHERE seq = 4", NULL, 0, NULL, e));
	expect_bad(f->store, 4, "missing");
	OK(store_exec(f->store, "UPDATE audit_log SET seq = 4 WHERE seq = 40", NULL, 0, NULL, e));
	expect_intact(f->store, 6);
	json_decref(orig);
}

static void test_deleting_a_row_is_detected(void **state)
{
	struct fixture *f = *state;
	append_some(f->store, 5);
	OK(store_exec(f->store, "DELETE FROM audit_log WHERE seq = 2", NULL, 0, NULL, e));
	expect_bad(f->store, 2, "missing");
	/* The first row too: the chain starts at seq 1. */
	append_some(f->store, 0);
	OK(store_exec(f->store, "DELETE FROM audit_log WHERE seq = 1", NULL, 0, NULL, e));
	expect_bad(f->store, 1, "missing");
}

#define THREADS	   8
#define PER_THREAD 15
struct appender {
	struct store *store;
	int index;
	int failures;
};

static void *append_thread(void *arg)
{
	struct appender *a = arg;
	for (int i = 0; i < PER_THREAD; i++) {
		char actor[32];
		snprintf(actor, sizeof(actor), "agent-%d", a->index);
		json_t *detail = json_pack("{s:i}", "n", i);
		struct err fail = ERR_INIT;
		if (audit_append(a->store, actor, "test.concurrent", "x", detail, &fail) != 0) {
			print_error("append: %s\n", fail.msg);
			a->failures++;
		}
		json_decref(detail);
	}
	return NULL;
}

static void test_concurrent_appends_keep_one_chain(void **state)
{
	struct fixture *f = *state;
	pthread_t threads[THREADS];
	struct appender appenders[THREADS];
	for (int i = 0; i < THREADS; i++) {
		appenders[i] = (struct appender){ .store = f->store, .index = i };
		assert_int_equal(pthread_create(&threads[i], NULL, append_thread, &appenders[i]),
				 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(threads[i], NULL);
		assert_int_equal(appenders[i].failures, 0);
	}
	expect_intact(f->store, THREADS * PER_THREAD);
	json_t *row = NULL;
	OK(store_query_one(f->store,
			   "SELECT COUNT(*) AS n, MAX(seq) AS top, COUNT(DISTINCT prev_hash) AS "
			   "links FROM audit_log",
			   NULL, 0, &row, e));
	assert_int_equal(json_integer_value(json_object_get(row, "n")), THREADS * PER_THREAD);
	assert_int_equal(json_integer_value(json_object_get(row, "top")), THREADS * PER_THREAD);
	/* No two entries claim the same predecessor: the chain never forked. */
	assert_int_equal(json_integer_value(json_object_get(row, "links")), THREADS * PER_THREAD);
	json_decref(row);
}

static void test_detail_never_carries_values(void **state)
{
	struct fixture *f = *state;
	const char *bad[] = { "{\"value\": \"hunter2\"}", "{\"a\": {\"password\": \"x\"}}",
			      "{\"list\": [{\"Token\": \"t\"}]}", "{\"ciphertext\": \"c\"}" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *detail = json_loads(bad[i], 0, NULL);
		struct err fail = ERR_INIT;
		assert_int_equal(
			audit_append(f->store, "alice", "secret.create", "s", detail, &fail), -1);
		assert_non_null(strstr(fail.msg, "never carry values"));
		assert_null(strstr(fail.msg, "hunter2"));
		json_decref(detail);
	}
	json_t *not_object = json_string("x");
	struct err fail = ERR_INIT;
	assert_int_equal(audit_append(f->store, "alice", "a", NULL, not_object, &fail), -1);
	json_decref(not_object);
	assert_int_equal(audit_append(f->store, "alice", NULL, NULL, NULL, &fail), -1);
	/* Inside a caller's transaction: commits with it, or vanishes with a rollback. */
	struct store_tx *tx = NULL;
	OK(store_tx_begin(f->store, &tx, e));
	OK(audit_append_tx(tx, "alice", "in.tx", NULL, NULL, e));
	store_tx_rollback(tx);
	OK(store_tx_begin(f->store, &tx, e));
	OK(audit_append_tx(tx, "alice", "in.tx", NULL, NULL, e));
	OK(store_tx_commit(tx, e));
	expect_intact(f->store, 1);
}

/* --- the route --- */

struct call {
	struct arena *arena;
	struct http_response res;
	json_t *body;
};

static void call_get(struct call *c, struct http_router *router, const char *path,
		     const struct http_pair *query, size_t query_count)
{
	static struct api_caller caller = { .user_id = "0190a0b0-0000-7000-8000-000000000001",
					    .name = "auditor" };
	c->arena = arena_new();
	struct http_request req = {
		.method = "GET",
		.path = path,
		.query = query,
		.query_count = query_count,
		.arena = c->arena,
		.context = &caller,
		.body = "",
	};
	c->res = http_router_dispatch(router, &req);
	c->body = json_loadb(c->res.body.data ? c->res.body.data : "", c->res.body.len, 0, NULL);
}

static void call_free(struct call *c)
{
	json_decref(c->body);
	http_response_free(&c->res);
	arena_free(c->arena);
}

static void test_route_lists_filters_and_pages(void **state)
{
	struct fixture *f = *state;
	append_some(f->store, 6); /* 7 entries: bob, alice, bob, alice, bob, alice, system */
	struct api_context ctx = { .store = f->store };
	struct http_router *router = http_router_new();
	OK(api_audit_register(router, &ctx, e));
	assert_string_equal(http_route_meta(http_router_at(router, 0))->permission, "audit:read");

	struct call c;
	call_get(&c, router, "/api/v1/audit", NULL, 0);
	assert_int_equal(c.res.status, 200);
	json_t *items = json_object_get(c.body, "items");
	assert_int_equal(json_array_size(items), 7);
	/* Newest first, with the chain fields and detail as JSON. */
	json_t *first = json_array_get(items, 0);
	assert_int_equal(json_integer_value(json_object_get(first, "seq")), 7);
	assert_string_equal(json_string_value(json_object_get(first, "action")), "system.start");
	assert_true(json_is_null(json_object_get(first, "actor")));
	json_t *last = json_array_get(items, 6);
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(last, "detail"), "key_version")),
		0);
	assert_string_equal(json_string_value(json_object_get(last, "prev_hash")),
			    AUDIT_GENESIS_HASH);
	assert_true(json_is_null(json_object_get(c.body, "next_cursor")));
	call_free(&c);

	struct http_pair by_actor[] = { { "actor", "alice" }, { "action", "secret.update" } };
	call_get(&c, router, "/api/v1/audit", by_actor, 2);
	assert_int_equal(c.res.status, 200);
	items = json_object_get(c.body, "items");
	assert_true(json_array_size(items) > 0);
	size_t i;
	json_t *item;
	json_array_foreach(items, i, item)
	{
		assert_string_equal(json_string_value(json_object_get(item, "actor")), "alice");
		assert_string_equal(json_string_value(json_object_get(item, "action")),
				    "secret.update");
	}
	call_free(&c);

	struct http_pair by_target[] = { { "target", "secret/s4" } };
	call_get(&c, router, "/api/v1/audit", by_target, 1);
	assert_int_equal(json_array_size(json_object_get(c.body, "items")), 1);
	call_free(&c);

	struct http_pair future[] = { { "since", "99999999999999" } };
	call_get(&c, router, "/api/v1/audit", future, 1);
	assert_int_equal(json_array_size(json_object_get(c.body, "items")), 0);
	call_free(&c);

	struct http_pair bad_since[] = { { "since", "yesterday" } };
	call_get(&c, router, "/api/v1/audit", bad_since, 1);
	assert_int_equal(c.res.status, 400);
	call_free(&c);

	/* Pages of 3: 7, 6, 5 / 4, 3, 2 / 1. */
	int64_t expected = 7;
	char *cursor = NULL;
	for (int page = 0; page < 3; page++) {
		struct http_pair q[] = { { "limit", "3" }, { "cursor", cursor } };
		call_get(&c, router, "/api/v1/audit", q, cursor ? 2 : 1);
		assert_int_equal(c.res.status, 200);
		items = json_object_get(c.body, "items");
		assert_int_equal(json_array_size(items), page < 2 ? 3 : 1);
		json_array_foreach(items, i, item) assert_int_equal(
			json_integer_value(json_object_get(item, "seq")), expected--);
		free(cursor);
		const char *next = json_string_value(json_object_get(c.body, "next_cursor"));
		cursor = next ? strdup(next) : NULL;
		assert_true(page < 2 ? cursor != NULL : cursor == NULL);
		call_free(&c);
	}
	http_router_free(router);
}

#define AUDIT_TESTS(setup)                                                                         \
	{                                                                                          \
		cmocka_unit_test_setup_teardown(test_chain_verifies, setup, teardown),             \
			cmocka_unit_test_setup_teardown(test_tampering_any_column_is_detected,     \
							setup, teardown),                          \
			cmocka_unit_test_setup_teardown(test_deleting_a_row_is_detected, setup,    \
							teardown),                                 \
			cmocka_unit_test_setup_teardown(test_concurrent_appends_keep_one_chain,    \
							setup, teardown),                          \
			cmocka_unit_test_setup_teardown(test_detail_never_carries_values, setup,   \
							teardown),                                 \
			cmocka_unit_test_setup_teardown(test_route_lists_filters_and_pages, setup, \
							teardown),                                 \
	}

int main(void)
{
	log_set_level(LOG_WARN);
	const struct CMUnitTest sqlite[] = AUDIT_TESTS(setup_sqlite);
	const struct CMUnitTest postgres[] = AUDIT_TESTS(setup_pg);
	int failed = cmocka_run_group_tests_name("api_audit_sqlite", sqlite, NULL, NULL);
	struct err fail = ERR_INIT;
	if (pg_server_start(&pg, &fail) != 0) {
		print_error("the PostgreSQL half of this suite needs a server: %s\n", fail.msg);
		return 1;
	}
	failed += cmocka_run_group_tests_name("api_audit_postgres", postgres, NULL, NULL);
	pg_server_stop(&pg);
	return failed ? 1 : 0;
}
