/*
 * The store on both drivers: every test body runs once on SQLite (a temp
 * file) and once on a real PostgreSQL that this program starts on loopback.
 */
#include "store/store.h"

#include "store/migrations.h"
#include "store/store_sql.h"
#include "support/pg_server.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <ftw.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static struct pg_server pg;

struct fixture {
	char dir[256]; /* SQLite's temp dir */
	struct buf url;
	struct store *store;
};

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static int open_fixture(struct fixture *f, void **state)
{
	struct err fail = ERR_INIT;
	if (store_open(&f->store, buf_cstr(&f->url), &fail) != 0) {
		print_error("store_open(%s): %s\n", buf_cstr(&f->url), fail.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int setup_sqlite(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/ampel-store-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	/* A directory that does not exist yet: store_open creates it. */
	buf_addf(&f->url, "sqlite:%s/data/nested/ampel.db", f->dir);
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

static int group_setup_pg(void **state)
{
	struct err fail = ERR_INIT;
	if (pg_server_start(&pg, &fail) != 0) {
		print_error("the PostgreSQL half of this suite needs a server and none could be "
			    "started: %s\n",
			    fail.msg);
		return -1;
	}
	return 0;
}

static int group_teardown_pg(void **state)
{
	pg_server_stop(&pg);
	return 0;
}

#define OK(call)                                                  \
	do {                                                      \
		struct err e_ = ERR_INIT;                         \
		struct err *e = &e_;                              \
		if ((call) != 0)                                  \
			fail_msg("%s failed: %s", #call, e_.msg); \
	} while (0)

/* Test tables are DDL like migrations: SQLite's types, mapped for PostgreSQL. */
static void exec_ddl(struct store *store, const char *sql)
{
	struct buf mapped = BUF_INIT;
	if (store_kind(store) == STORE_POSTGRES)
		store_sql_map_types_pg(&mapped, sql);
	else
		buf_adds(&mapped, sql);
	OK(store_exec(store, buf_cstr(&mapped), NULL, 0, NULL, e));
	buf_free(&mapped);
}

static int64_t count_rows(struct store *store, const char *table)
{
	struct buf sql = BUF_INIT;
	json_t *row = NULL;
	buf_addf(&sql, "SELECT COUNT(*) AS n FROM %s", table);
	OK(store_query_one(store, buf_cstr(&sql), NULL, 0, &row, e));
	int64_t n = json_integer_value(json_object_get(row, "n"));
	json_decref(row);
	buf_free(&sql);
	return n;
}

static void insert_user(struct store *store, const char *name, const char *email)
{
	char id[STORE_ID_SIZE];
	store_new_id(id);
	struct store_param params[] = {
		STORE_TEXT_PARAM(id),
		STORE_TEXT_PARAM(name),
		email ? STORE_TEXT_PARAM(email) : STORE_NULL_PARAM,
		STORE_INT_PARAM(store_now_ms()),
	};
	OK(store_exec(store,
		      "INSERT INTO users (id, name, email, kind, created_at) VALUES (?, ?, ?, "
		      "'human', ?)",
		      params, 4, NULL, e));
}

/* ---- tests run on both drivers ---- */

static void test_migrate_idempotent(void **state)
{
	struct fixture *f = *state;
	int applied = -1, known = -1;
	OK(store_schema_version(f->store, &applied, &known, e));
	assert_int_equal(applied, 0);
	assert_true(known >= 1);
	OK(store_migrate(f->store, e));
	OK(store_schema_version(f->store, &applied, NULL, e));
	assert_int_equal(applied, known);
	OK(store_migrate(f->store, e));
	OK(store_schema_version(f->store, &applied, NULL, e));
	assert_int_equal(applied, known);

	static const char *const tables[] = {
		"users",
		"api_tokens",
		"sessions",
		"refresh_tokens",
		"roles",
		"role_permissions",
		"role_bindings",
		"delegations",
		"secrets",
		"audit_log",
		"login_attempts",
		"jobs",
		"schema_migrations",
	};
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		assert_int_equal(count_rows(f->store, tables[i]),
				 strcmp(tables[i], "schema_migrations") ? 0 : known);
}

struct migrate_race {
	const char *url;
	int rc;
	char msg[1024];
};

static void *migrate_thread(void *arg)
{
	struct migrate_race *race = arg;
	struct store *store = NULL;
	struct err fail = ERR_INIT;
	race->rc = store_open(&store, race->url, &fail);
	if (race->rc == 0)
		race->rc = store_migrate(store, &fail);
	snprintf(race->msg, sizeof(race->msg), "%s", fail.msg);
	store_close(store);
	return NULL;
}

/* Several servers starting at once on one fresh database all come up. */
static void test_migrate_concurrent_starters(void **state)
{
	struct fixture *f = *state;
	struct migrate_race races[4];
	pthread_t threads[4];
	for (int i = 0; i < 4; i++) {
		races[i] = (struct migrate_race){ .url = buf_cstr(&f->url) };
		pthread_create(&threads[i], NULL, migrate_thread, &races[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(threads[i], NULL);
		if (races[i].rc != 0)
			fail_msg("starter %d: %s", i, races[i].msg);
	}
	int applied, known;
	OK(store_schema_version(f->store, &applied, &known, e));
	assert_int_equal(applied, known);
	assert_int_equal(count_rows(f->store, "schema_migrations"), known);
}

static void test_params_round_trip(void **state)
{
	struct fixture *f = *state;
	exec_ddl(f->store, "CREATE TABLE things (id TEXT PRIMARY KEY, i INTEGER, r REAL, "
			   "s TEXT, b BLOB, n TEXT)");
	unsigned char bytes[256];
	for (int i = 0; i < 256; i++)
		bytes[i] = (unsigned char)i;
	const char *unicode = "Grüße 🚦 日本語 'quoted' \"double\" ? $1 \\ back";
	struct store_param rows[][6] = {
		{ STORE_TEXT_PARAM("a"), STORE_INT_PARAM(INT64_MAX), STORE_REAL_PARAM(3.25),
		  STORE_TEXT_PARAM(unicode), STORE_BLOB_PARAM(bytes, sizeof(bytes)),
		  STORE_NULL_PARAM },
		{ STORE_TEXT_PARAM("b"), STORE_INT_PARAM(INT64_MIN), STORE_REAL_PARAM(-1e-300),
		  STORE_TEXT_PARAM(""), STORE_BLOB_PARAM(NULL, 0), STORE_TEXT_PARAM("x") },
		{ STORE_TEXT_PARAM("c"), STORE_NULL_PARAM, STORE_NULL_PARAM, STORE_NULL_PARAM,
		  STORE_NULL_PARAM, STORE_NULL_PARAM },
	};
	for (size_t r = 0; r < 3; r++) {
		int64_t changed = 0;
		OK(store_exec(f->store,
			      "INSERT INTO things (id, i, r, s, b, n) VALUES (?, ?, ?, ?, ?, ?)",
			      rows[r], 6, &changed, e));
		assert_int_equal(changed, 1);
	}
	json_t *result = NULL;
	OK(store_query(f->store, "SELECT id, i, r, s, b, n FROM things ORDER BY id", NULL, 0,
		       &result, e));
	assert_int_equal(json_array_size(result), 3);
	json_t *a = json_array_get(result, 0), *b = json_array_get(result, 1),
	       *c = json_array_get(result, 2);

	assert_true(json_is_integer(json_object_get(a, "i")));
	assert_true(json_integer_value(json_object_get(a, "i")) == INT64_MAX);
	assert_true(json_is_real(json_object_get(a, "r")));
	assert_true(json_real_value(json_object_get(a, "r")) == 3.25);
	assert_string_equal(json_string_value(json_object_get(a, "s")), unicode);
	char expected[400];
	sodium_bin2base64(expected, sizeof(expected), bytes, sizeof(bytes),
			  sodium_base64_VARIANT_ORIGINAL);
	assert_string_equal(json_string_value(json_object_get(a, "b")), expected);
	assert_true(json_is_null(json_object_get(a, "n")));

	assert_true(json_integer_value(json_object_get(b, "i")) == INT64_MIN);
	assert_true(json_real_value(json_object_get(b, "r")) == -1e-300);
	assert_string_equal(json_string_value(json_object_get(b, "s")), "");
	assert_string_equal(json_string_value(json_object_get(b, "b")), "");
	assert_string_equal(json_string_value(json_object_get(b, "n")), "x");

	const char *keys[] = { "i", "r", "s", "b", "n" };
	for (size_t k = 0; k < 5; k++)
		assert_true(json_is_null(json_object_get(c, keys[k])));
	json_decref(result);

	/* Parameters in WHERE: a blob and a unicode text match exactly. */
	json_t *row = NULL;
	struct store_param where[] = { STORE_BLOB_PARAM(bytes, sizeof(bytes)),
				       STORE_TEXT_PARAM(unicode) };
	OK(store_query_one(f->store, "SELECT id FROM things WHERE b = ? AND s = ?", where, 2, &row,
			   e));
	assert_non_null(row);
	assert_string_equal(json_string_value(json_object_get(row, "id")), "a");
	json_decref(row);

	/* An integral REAL stays a real; SUM over INTEGER stays an integer. */
	struct store_param whole[] = { STORE_TEXT_PARAM("d"), STORE_INT_PARAM(5),
				       STORE_REAL_PARAM(5.0) };
	OK(store_exec(f->store, "INSERT INTO things (id, i, r) VALUES (?, ?, ?)", whole, 3, NULL,
		      e));
	OK(store_query_one(f->store,
			   "SELECT r, SUM(i) AS total FROM things WHERE id = 'd' GROUP BY r", NULL,
			   0, &row, e));
	assert_true(json_is_real(json_object_get(row, "r")));
	assert_true(json_is_integer(json_object_get(row, "total")));
	assert_int_equal(json_integer_value(json_object_get(row, "total")), 5);
	json_decref(row);
	OK(store_exec(f->store, "DELETE FROM things WHERE id = 'd'", NULL, 0, NULL, e));

	/* Expressions come back typed alike on both drivers. */
	struct store_param n = STORE_INT_PARAM(41);
	OK(store_query_one(
		f->store,
		"SELECT ? + 1 AS next, COUNT(*) AS n, SUM(i) AS s, 'text' AS t FROM things "
		"WHERE id = 'c'",
		&n, 1, &row, e));
	assert_int_equal(json_integer_value(json_object_get(row, "next")), 42);
	assert_int_equal(json_integer_value(json_object_get(row, "n")), 1);
	assert_true(json_is_null(json_object_get(row, "s")));
	assert_string_equal(json_string_value(json_object_get(row, "t")), "text");
	json_decref(row);

	/* No row: NULL, not an error. */
	struct store_param missing = STORE_TEXT_PARAM("nope");
	OK(store_query_one(f->store, "SELECT id FROM things WHERE id = ?", &missing, 1, &row, e));
	assert_null(row);

	int64_t changed = -1;
	OK(store_exec(f->store, "UPDATE things SET n = 'y' WHERE id <> 'zzz'", NULL, 0, &changed,
		      e));
	assert_int_equal(changed, 3);
}

static void test_placeholders_in_literals(void **state)
{
	struct fixture *f = *state;
	json_t *row = NULL;
	struct store_param params[] = { STORE_TEXT_PARAM("one"), STORE_INT_PARAM(2) };
	OK(store_query_one(f->store,
			   "SELECT '?' AS q, ? AS p, 'it''s ?' AS r, \"?x\".v AS \"a?\", ? AS p2 "
			   "/* ? */ FROM (SELECT 1 AS v) \"?x\" -- trailing ?\n",
			   params, 2, &row, e));
	assert_non_null(row);
	assert_string_equal(json_string_value(json_object_get(row, "q")), "?");
	assert_string_equal(json_string_value(json_object_get(row, "p")), "one");
	assert_string_equal(json_string_value(json_object_get(row, "r")), "it's ?");
	assert_int_equal(json_integer_value(json_object_get(row, "a?")), 1);
	assert_int_equal(json_integer_value(json_object_get(row, "p2")), 2);
	json_decref(row);

	/* Too few or too many values is an error, not a crash. */
	struct err fail = ERR_INIT;
	assert_int_equal(store_query_one(f->store, "SELECT ? AS a, ? AS b", params, 1, &row, &fail),
			 -1);
	assert_non_null(strstr(fail.msg, "placeholders"));
	err_clear(&fail);
	assert_int_equal(store_exec(f->store, "SELECT '?' AS a", params, 1, NULL, &fail), -1);
	err_clear(&fail);
	assert_int_equal(store_exec(f->store, "SELEC nonsense", NULL, 0, NULL, &fail), -1);
	assert_true(err_is_set(&fail));
	assert_false(store_error_is_conflict(&fail));
}

static void test_unique_violation_is_conflict(void **state)
{
	struct fixture *f = *state;
	OK(store_migrate(f->store, e));
	insert_user(f->store, "ada", "ada@example.org");
	char id[STORE_ID_SIZE];
	store_new_id(id);
	struct store_param params[] = { STORE_TEXT_PARAM(id), STORE_TEXT_PARAM("ada"),
					STORE_INT_PARAM(1) };
	struct err fail = ERR_INIT;
	const char *sql =
		"INSERT INTO users (id, name, kind, created_at) VALUES (?, ?, 'human', ?)";
	assert_int_equal(store_exec(f->store, sql, params, 3, NULL, &fail), -1);
	assert_true(store_error_is_conflict(&fail));
	err_prefix(&fail, "create user 'ada'");
	assert_true(store_error_is_conflict(&fail));

	/* Two users without email: NULLs never collide. */
	insert_user(f->store, "bob", NULL);
	insert_user(f->store, "eve", NULL);

	/* A CHECK or a foreign key refusing is not a conflict (and foreign keys are on). */
	err_clear(&fail);
	params[1] = STORE_TEXT_PARAM("carol");
	assert_int_equal(store_exec(f->store,
				    "INSERT INTO users (id, name, kind, created_at) VALUES (?, ?, "
				    "'robot', ?)",
				    params, 3, NULL, &fail),
			 -1);
	assert_false(store_error_is_conflict(&fail));
	err_clear(&fail);
	struct store_param token[] = { STORE_TEXT_PARAM(id), STORE_TEXT_PARAM("no-such-user"),
				       STORE_TEXT_PARAM("hash"), STORE_INT_PARAM(1) };
	assert_int_equal(store_exec(f->store,
				    "INSERT INTO api_tokens (id, user_id, name, token_hash, "
				    "created_at) VALUES (?, ?, 'ci', ?, ?)",
				    token, 4, NULL, &fail),
			 -1);
	assert_false(store_error_is_conflict(&fail));

	/* Unique over a nullable column through COALESCE: one global binding. */
	json_t *row = NULL;
	OK(store_query_one(f->store, "SELECT id FROM users WHERE name = 'ada'", NULL, 0, &row, e));
	const char *user = json_string_value(json_object_get(row, "id"));
	struct store_param role[] = { STORE_TEXT_PARAM("role-1") };
	OK(store_exec(f->store,
		      "INSERT INTO roles (id, name, system, created_at) VALUES (?, 'admin', 1, 0)",
		      role, 1, NULL, e));
	for (int i = 0; i < 2; i++) {
		char binding[STORE_ID_SIZE];
		store_new_id(binding);
		struct store_param bind[] = { STORE_TEXT_PARAM(binding), STORE_TEXT_PARAM(user),
					      STORE_TEXT_PARAM("role-1") };
		err_clear(&fail);
		int rc = store_exec(f->store,
				    "INSERT INTO role_bindings (id, user_id, role_id, project, "
				    "created_at) VALUES (?, ?, ?, NULL, 0)",
				    bind, 3, NULL, &fail);
		assert_int_equal(rc, i == 0 ? 0 : -1);
		if (i == 1)
			assert_true(store_error_is_conflict(&fail));
	}
	json_decref(row);
}

static void test_transactions(void **state)
{
	struct fixture *f = *state;
	OK(store_migrate(f->store, e));
	struct store_tx *tx;

	OK(store_tx_begin(f->store, &tx, e));
	assert_ptr_equal(store_tx_store(tx), f->store);
	char id[STORE_ID_SIZE];
	store_new_id(id);
	struct store_param p[] = { STORE_TEXT_PARAM(id), STORE_TEXT_PARAM("committed") };
	OK(store_tx_exec(tx,
			 "INSERT INTO users (id, name, kind, created_at) VALUES (?, ?, 'human', 0)",
			 p, 2, NULL, e));
	json_t *row = NULL;
	OK(store_tx_query_one(tx, "SELECT COUNT(*) AS n FROM users", NULL, 0, &row, e));
	assert_int_equal(json_integer_value(json_object_get(row, "n")), 1);
	json_decref(row);
	OK(store_tx_commit(tx, e));
	assert_int_equal(count_rows(f->store, "users"), 1);

	OK(store_tx_begin(f->store, &tx, e));
	store_new_id(id);
	p[1] = STORE_TEXT_PARAM("rolled-back");
	OK(store_tx_exec(tx,
			 "INSERT INTO users (id, name, kind, created_at) VALUES (?, ?, 'human', 0)",
			 p, 2, NULL, e));
	store_tx_rollback(tx);
	assert_int_equal(count_rows(f->store, "users"), 1);

	/* A failed statement dooms the transaction: its earlier rows go too. */
	OK(store_tx_begin(f->store, &tx, e));
	store_new_id(id);
	p[1] = STORE_TEXT_PARAM("doomed");
	OK(store_tx_exec(tx,
			 "INSERT INTO users (id, name, kind, created_at) VALUES (?, ?, 'human', 0)",
			 p, 2, NULL, e));
	struct err fail = ERR_INIT;
	store_new_id(id);
	p[1] = STORE_TEXT_PARAM("committed");
	assert_int_equal(store_tx_exec(tx,
				       "INSERT INTO users (id, name, kind, created_at) VALUES (?, "
				       "?, 'human', 0)",
				       p, 2, NULL, &fail),
			 -1);
	assert_true(store_error_is_conflict(&fail));
	err_clear(&fail);
	assert_int_equal(store_tx_commit(tx, &fail), -1);
	assert_non_null(strstr(fail.msg, "rolled back"));
	assert_int_equal(count_rows(f->store, "users"), 1);

	size_t size, in_use;
	store_pool_stats(f->store, &size, &in_use);
	assert_int_equal(in_use, 0);
}

struct worker {
	struct store *store;
	int index;
	int failures;
	char msg[1024];
};

static void *insert_worker(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < 40; i++) {
		struct err fail = ERR_INIT;
		char id[STORE_ID_SIZE], name[64];
		store_new_id(id);
		snprintf(name, sizeof(name), "user-%d-%d", w->index, i);
		struct store_param p[] = { STORE_TEXT_PARAM(id), STORE_TEXT_PARAM(name) };
		const char *sql =
			"INSERT INTO users (id, name, kind, created_at) VALUES (?, ?, 'agent', 0)";
		int rc;
		if (i % 4 == 0) { /* some in transactions, with a read inside */
			struct store_tx *tx;
			rc = store_tx_begin(w->store, &tx, &fail);
			if (rc == 0) {
				json_t *rows = NULL;
				rc = store_tx_exec(tx, sql, p, 2, NULL, &fail);
				if (rc == 0)
					rc = store_tx_query(tx, "SELECT COUNT(*) AS n FROM users",
							    NULL, 0, &rows, &fail);
				json_decref(rows);
				if (rc == 0)
					rc = store_tx_commit(tx, &fail);
				else
					store_tx_rollback(tx);
			}
		} else {
			rc = store_exec(w->store, sql, p, 2, NULL, &fail);
		}
		if (rc == 0 && i % 3 == 0) { /* readers beside the writers */
			json_t *rows = NULL;
			rc = store_query(w->store, "SELECT id FROM users LIMIT 5", NULL, 0, &rows,
					 &fail);
			json_decref(rows);
		}
		if (rc != 0) {
			w->failures++;
			snprintf(w->msg, sizeof(w->msg), "%s", fail.msg);
		}
	}
	return NULL;
}

static void test_concurrent_pool(void **state)
{
	struct fixture *f = *state;
	OK(store_migrate(f->store, e));
	enum { THREADS = 12 };
	struct worker workers[THREADS];
	pthread_t threads[THREADS];
	for (int i = 0; i < THREADS; i++) {
		workers[i] = (struct worker){ .store = f->store, .index = i };
		pthread_create(&threads[i], NULL, insert_worker, &workers[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(threads[i], NULL);
		if (workers[i].failures)
			fail_msg("thread %d: %d failures, last: %s", i, workers[i].failures,
				 workers[i].msg);
	}
	assert_int_equal(count_rows(f->store, "users"), THREADS * 40);
	size_t size = 0, in_use = 99;
	store_pool_stats(f->store, &size, &in_use);
	assert_true(size >= 1 && size <= 8); /* more threads than connections: they waited */
	assert_int_equal(in_use, 0);
}

static void test_ping_and_describe(void **state)
{
	struct fixture *f = *state;
	OK(store_ping(f->store, e));
	const char *described = store_describe(f->store);
	if (store_kind(f->store) == STORE_SQLITE)
		assert_true(strncmp(described, "sqlite:", 7) == 0);
	else
		assert_true(strncmp(described, "postgresql://", 13) == 0);
	if (store_kind(f->store) == STORE_SQLITE) {
		json_t *row = NULL;
		OK(store_query_one(f->store, "PRAGMA journal_mode", NULL, 0, &row, e));
		assert_string_equal(json_string_value(json_object_get(row, "journal_mode")), "wal");
		json_decref(row);
		OK(store_query_one(f->store, "PRAGMA foreign_keys", NULL, 0, &row, e));
		assert_int_equal(json_integer_value(json_object_get(row, "foreign_keys")), 1);
		json_decref(row);
	}
}

/* PostgreSQL only: a connection the server dropped leaves the pool, the next one works. */
static void test_pg_broken_connection_is_replaced(void **state)
{
	struct fixture *f = *state;
	json_t *row = NULL;
	OK(store_query_one(f->store, "SELECT pg_backend_pid() AS pid", NULL, 0, &row, e));
	struct store_param pid = STORE_INT_PARAM(json_integer_value(json_object_get(row, "pid")));
	json_decref(row);
	struct store *other = NULL;
	OK(store_open(&other, buf_cstr(&f->url), e));
	OK(store_exec(other, "SELECT pg_terminate_backend(CAST(? AS INTEGER))", &pid, 1, NULL, e));
	store_close(other);

	size_t size = 0;
	store_pool_stats(f->store, &size, NULL);
	assert_int_equal(size, 1);
	/* The dead connection fails one statement and leaves the pool (the backend
	 * may take a moment to exit, so the first ping may still succeed). */
	for (int i = 0; i < 2; i++) {
		struct err ignored = ERR_INIT;
		store_ping(f->store, &ignored);
	}
	OK(store_ping(f->store, e));
	store_pool_stats(f->store, &size, NULL);
	assert_int_equal(size, 1);
}

/* ---- tests without a database ---- */

static void test_bad_urls_never_show_the_password(void **state)
{
	const char *urls[] = {
		"postgres://ampel:S3cretPw@127.0.0.1:1/db?connect_timeout=2",
		"postgresql://ampel:S3cretPw@[::1/db",
		"postgresql://ampel@127.0.0.1:1/db?password=S3cretPw&sslmode=bogus",
		"postgresql://ampel:S3cret%21Pw@127.0.0.1:1/db?connect_timeout=2",
		"postgresql://ampel:S3cretPw@127.0.0.1:1/db?no_such_option=S3cretPw",
		"mysql://ampel:S3cretPw@127.0.0.1/db",
	};
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		struct store *store = NULL;
		struct err fail = ERR_INIT;
		assert_int_equal(store_open(&store, urls[i], &fail), -1);
		assert_null(store);
		assert_true(err_is_set(&fail));
		if (strstr(fail.msg, "S3cret") || strstr(fail.msg, "%21Pw") ||
		    strstr(fail.msg, "!Pw"))
			fail_msg("password in the error for URL %zu: %s", i, fail.msg);
	}
	struct store *store = NULL;
	struct err fail = ERR_INIT;
	assert_int_equal(store_open(&store, "", &fail), -1);
	assert_int_equal(store_open(&store, "sqlite:", &fail), -1);
	assert_int_equal(store_open(&store, "sqlite::memory:", &fail), -1);
}

static void test_sql_rewrite(void **state)
{
	struct buf out = BUF_INIT;
	size_t n = store_sql_rewrite_placeholders(
		&out, "SELECT '?', 'a''?', \"?\", ? -- ?\n/* ? */ ?, '?");
	assert_int_equal(n, 2);
	assert_string_equal(buf_cstr(&out), "SELECT '?', 'a''?', \"?\", $1 -- ?\n/* ? */ $2, '?");
	buf_reset(&out);
	store_sql_map_types_pg(&out, "CREATE TABLE t (a INTEGER, b real, c BLOB, d TEXT, "
				     "integers INTEGER, e TEXT DEFAULT 'INTEGER')");
	assert_string_equal(buf_cstr(&out),
			    "CREATE TABLE t (a BIGINT, b DOUBLE PRECISION, c BYTEA, d TEXT, "
			    "integers BIGINT, e TEXT DEFAULT 'INTEGER')");
	/* RFC 4648's test vectors: BLOB columns come back as standard base64. */
	static const char *const vectors[][2] = { { "", "" },
						  { "f", "Zg==" },
						  { "fo", "Zm8=" },
						  { "foo", "Zm9v" },
						  { "foob", "Zm9vYg==" },
						  { "fooba", "Zm9vYmE=" },
						  { "foobar", "Zm9vYmFy" } };
	for (size_t i = 0; i < sizeof(vectors) / sizeof(*vectors); i++) {
		buf_reset(&out);
		store_sql_base64(&out, (const unsigned char *)vectors[i][0], strlen(vectors[i][0]));
		assert_string_equal(buf_cstr(&out), vectors[i][1]);
	}
	buf_free(&out);
}

static void test_ids(void **state)
{
	char previous[STORE_ID_SIZE] = "";
	for (int i = 0; i < 2000; i++) {
		char id[STORE_ID_SIZE];
		store_new_id(id);
		assert_int_equal(strlen(id), 36);
		assert_int_equal(id[14], '7');
		assert_true(strchr("89ab", id[19]) != NULL);
		assert_true(strcmp(id, previous) != 0);
		/* Time-ordered to the millisecond; equal prefixes only within one. */
		assert_true(strncmp(id, previous, 13) >= 0);
		memcpy(previous, id, sizeof(id));
	}
	assert_true(store_now_ms() > 1700000000000LL);
}

#define STORE_TESTS(setup)                                                                        \
	{                                                                                         \
		cmocka_unit_test_setup_teardown(test_migrate_idempotent, setup, teardown),        \
			cmocka_unit_test_setup_teardown(test_migrate_concurrent_starters, setup,  \
							teardown),                                \
			cmocka_unit_test_setup_teardown(test_params_round_trip, setup, teardown), \
			cmocka_unit_test_setup_teardown(test_placeholders_in_literals, setup,     \
							teardown),                                \
			cmocka_unit_test_setup_teardown(test_unique_violation_is_conflict, setup, \
							teardown),                                \
			cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),      \
			cmocka_unit_test_setup_teardown(test_concurrent_pool, setup, teardown),   \
			cmocka_unit_test_setup_teardown(test_ping_and_describe, setup, teardown), \
	}

int main(void)
{
	log_set_level(LOG_WARN);
	const struct CMUnitTest plain[] = {
		cmocka_unit_test(test_bad_urls_never_show_the_password),
		cmocka_unit_test(test_sql_rewrite),
		cmocka_unit_test(test_ids),
	};
	const struct CMUnitTest sqlite[] = STORE_TESTS(setup_sqlite);
	const struct CMUnitTest postgres[] = STORE_TESTS(setup_pg);
	const struct CMUnitTest postgres_only[] = {
		cmocka_unit_test_setup_teardown(test_pg_broken_connection_is_replaced, setup_pg,
						teardown),
	};
	int failed = cmocka_run_group_tests_name("store", plain, NULL, NULL);
	failed += cmocka_run_group_tests_name("store_sqlite", sqlite, NULL, NULL);
	if (group_setup_pg(NULL) != 0)
		return 1;
	failed += cmocka_run_group_tests_name("store_postgres", postgres, NULL, NULL);
	failed += cmocka_run_group_tests_name("store_postgres_only", postgres_only, NULL, NULL);
	group_teardown_pg(NULL);
	return failed ? 1 : 0;
}
