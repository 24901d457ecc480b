/*
 * store_sqlite: the SQLite driver, the embedded default.
 *
 * WAL lets readers run beside the one writer; store.c hands out the writer
 * slot, so concurrent writers in this process queue on a condition variable
 * instead of spinning in SQLite's busy handler (which still covers other
 * processes on the same file). Each connection keeps its prepared
 * statements: the server runs the same few statements on every request,
 * and parsing them again each time was most of a request's cost.
 */
#include "store/store_internal.h"
#include "store/store_sql.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/xalloc.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define SQLITE_BUSY_TIMEOUT_MS 10000
/* Enough for every fixed statement of the server; dynamic ones rotate out. */
#define SQLITE_STATEMENT_CACHE 96

struct cached_statement {
	char *sql;
	sqlite3_stmt *stmt;
};

/* What the pool holds for one SQLite connection. */
struct sqlite_conn {
	sqlite3 *db;
	struct cached_statement cache[SQLITE_STATEMENT_CACHE];
	size_t next_victim; /* replaced in turn when the cache is full */
};

static pthread_once_t sqlite_configured = PTHREAD_ONCE_INIT;

/*
 * Memory statistics take one global mutex on every allocation, which
 * serialised all connections under load; nothing reads them.
 */
static void configure_sqlite(void)
{
	if (sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK)
		sqlite3_initialize();
}

static int sqlite_error(sqlite3 *db, struct err *e)
{
	int code = sqlite3_extended_errcode(db);
	if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY)
		return err_set(e, STORE_CONFLICT_MARK "%s", sqlite3_errmsg(db));
	return err_set(e, "SQLite: %s", sqlite3_errmsg(db));
}

static int sqlite_script(struct store *store, void *conn, const char *sql, struct err *e)
{
	(void)store;
	sqlite3 *db = ((struct sqlite_conn *)conn)->db;
	char *message = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &message) != SQLITE_OK) {
		int code = sqlite3_extended_errcode(db);
		if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY)
			err_set(e, STORE_CONFLICT_MARK "%s", message ? message : "unique");
		else
			err_set(e, "SQLite: %s", message ? message : sqlite3_errmsg(db));
		sqlite3_free(message);
		return -1;
	}
	return 0;
}

static int sqlite_connect(struct store *store, void **conn, struct err *e)
{
	pthread_once(&sqlite_configured, configure_sqlite);
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	/* The database holds password hashes and ciphertexts: owner only. SQLite
	 * gives its -wal and -shm files the database file's mode. */
	int fd = open(store->target, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	if (sqlite3_open_v2(store->target, &db, flags, NULL) != SQLITE_OK) {
		err_set(e, "cannot open SQLite database %s: %s", store->target,
			db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return -1;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, SQLITE_BUSY_TIMEOUT_MS);
	struct sqlite_conn *c = xcalloc(1, sizeof(*c));
	c->db = db;
	/* synchronous=NORMAL is durable in WAL mode except for the last
	 * transactions before a power loss; a crash of the process loses nothing. */
	if (sqlite_script(store, c,
			  "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; "
			  "PRAGMA synchronous=NORMAL;",
			  e) != 0) {
		err_prefix(e, "cannot set up SQLite database %s", store->target);
		sqlite3_close(db);
		free(c);
		return -1;
	}
	*conn = c;
	return 0;
}

static void sqlite_disconnect(void *conn)
{
	struct sqlite_conn *c = conn;
	if (!c)
		return;
	for (size_t i = 0; i < SQLITE_STATEMENT_CACHE; i++) {
		sqlite3_finalize(c->cache[i].stmt);
		free(c->cache[i].sql);
	}
	sqlite3_close_v2(c->db);
	free(c);
}

static bool sqlite_usable(void *conn)
{
	/* A connection left inside a transaction would hand it to the next user. */
	return conn != NULL && sqlite3_get_autocommit(((struct sqlite_conn *)conn)->db);
}

/*
 * The prepared statement for sql, from the cache or prepared now (and
 * kept). Statements are reset and unbound after each use, so a cached one
 * is always ready to bind.
 */
static int statement_for(struct sqlite_conn *c, const char *sql, sqlite3_stmt **out, struct err *e)
{
	for (size_t i = 0; i < SQLITE_STATEMENT_CACHE; i++) {
		if (c->cache[i].sql && strcmp(c->cache[i].sql, sql) == 0) {
			*out = c->cache[i].stmt;
			return 0;
		}
	}
	sqlite3_stmt *stmt = NULL;
	const char *tail = NULL;
	if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, &tail) !=
	    SQLITE_OK)
		return sqlite_error(c->db, e);
	if (!stmt)
		return err_set(e, "empty statement");
	if (tail && tail[strspn(tail, " \t\r\n;")] != '\0') {
		sqlite3_finalize(stmt);
		return err_set(e, "one statement at a time: text follows the first statement");
	}
	struct cached_statement *slot = &c->cache[c->next_victim];
	c->next_victim = (c->next_victim + 1) % SQLITE_STATEMENT_CACHE;
	sqlite3_finalize(slot->stmt);
	free(slot->sql);
	slot->sql = xstrdup(sql);
	slot->stmt = stmt;
	*out = stmt;
	return 0;
}

static int bind_params(sqlite3 *db, sqlite3_stmt *stmt, const struct store_param *params,
		       size_t count, struct err *e)
{
	int expected = sqlite3_bind_parameter_count(stmt);
	if ((size_t)expected != count)
		return err_set(e, "statement has %d placeholders but %zu values were given",
			       expected, count);
	for (size_t i = 0; i < count; i++) {
		int at = (int)i + 1, rc = SQLITE_OK;
		const struct store_param *p = &params[i];
		switch (p->type) {
		case STORE_NULL:
			rc = sqlite3_bind_null(stmt, at);
			break;
		case STORE_TEXT:
			rc = p->text ? sqlite3_bind_text(stmt, at, p->text, -1, SQLITE_STATIC)
				     : sqlite3_bind_null(stmt, at);
			break;
		case STORE_INT:
			rc = sqlite3_bind_int64(stmt, at, p->integer);
			break;
		case STORE_REAL:
			rc = sqlite3_bind_double(stmt, at, p->real);
			break;
		case STORE_BLOB:
			/* A NULL pointer would bind SQL NULL; an empty blob is still a blob. */
			rc = p->blob_len ? sqlite3_bind_blob64(stmt, at, p->blob, p->blob_len,
							       SQLITE_STATIC)
					 : sqlite3_bind_zeroblob(stmt, at, 0);
			break;
		default:
			return err_set(e, "parameter %zu has an unknown type", i + 1);
		}
		if (rc != SQLITE_OK)
			return sqlite_error(db, e);
	}
	return 0;
}

static int row_to_json(sqlite3_stmt *stmt, json_t **out, struct err *e)
{
	json_t *row = json_object();
	int columns = sqlite3_column_count(stmt);
	for (int i = 0; i < columns; i++) {
		const char *name = sqlite3_column_name(stmt, i);
		json_t *value = NULL;
		switch (sqlite3_column_type(stmt, i)) {
		case SQLITE_INTEGER:
			value = json_integer(sqlite3_column_int64(stmt, i));
			break;
		case SQLITE_FLOAT:
			value = json_real(sqlite3_column_double(stmt, i));
			break;
		case SQLITE_TEXT: {
			const char *text = (const char *)sqlite3_column_text(stmt, i);
			value = json_stringn(text ? text : "",
					     (size_t)sqlite3_column_bytes(stmt, i));
			if (!value) {
				json_decref(row);
				return err_set(e, "column %s: text is not valid UTF-8", name);
			}
			break;
		}
		case SQLITE_BLOB: {
			struct buf b = BUF_INIT;
			const void *data = sqlite3_column_blob(stmt, i);
			store_sql_base64(&b, data, (size_t)sqlite3_column_bytes(stmt, i));
			value = json_string(buf_cstr(&b));
			buf_free(&b);
			break;
		}
		default:
			value = json_null();
		}
		json_object_set_new(row, name ? name : "?", value);
	}
	*out = row;
	return 0;
}

static int sqlite_run(struct store *store, void *conn, const char *sql,
		      const struct store_param *params, size_t count, bool in_tx, int64_t *changed,
		      json_t **rows, struct err *e)
{
	struct sqlite_conn *c = conn;
	sqlite3 *db = c->db;
	sqlite3_stmt *stmt = NULL;
	if (statement_for(c, sql, &stmt, e) != 0)
		return -1;
	if (bind_params(db, stmt, params, count, e) != 0) {
		sqlite3_clear_bindings(stmt);
		return -1;
	}
	bool writer = !in_tx && !sqlite3_stmt_readonly(stmt);
	if (writer)
		store_writer_acquire(store);
	json_t *result = rows ? json_array() : NULL;
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (!result)
			continue;
		json_t *row = NULL;
		if (row_to_json(stmt, &row, e) != 0)
			break;
		json_array_append_new(result, row);
	}
	int status = 0;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		status = sqlite_error(db, e);
	else if (rc == SQLITE_ROW) /* row_to_json failed and filled e */
		status = -1;
	if (status == 0 && changed)
		*changed = sqlite3_changes64(db);
	/* Done with it: a statement left running would hold a read transaction. */
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	if (writer)
		store_writer_release(store);
	if (status != 0) {
		json_decref(result);
		return -1;
	}
	if (rows)
		*rows = result;
	return 0;
}

const struct store_driver store_sqlite_driver = {
	.kind = STORE_SQLITE,
	.connect = sqlite_connect,
	.disconnect = sqlite_disconnect,
	.usable = sqlite_usable,
	.run = sqlite_run,
	.script = sqlite_script,
	/* IMMEDIATE takes SQLite's write lock now, so a transaction never fails
	 * later on upgrading from reader to writer. */
	.begin_sql = "BEGIN IMMEDIATE",
	.table_exists_sql = "SELECT 1 AS present FROM sqlite_master WHERE type = 'table' AND "
			    "name = ?",
};
