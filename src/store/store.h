/*
 * store: the server's database, SQLite or PostgreSQL behind one interface.
 *
 * Everything the server keeps (users, tokens, secrets, audit, jobs…) goes
 * through here, written once in portable SQL: `?` placeholders (rewritten to
 * $1… for PostgreSQL), TEXT/INTEGER/BLOB/REAL columns, no vendor functions.
 * SQLite is the embedded default (WAL, busy timeout, one writer at a time);
 * PostgreSQL is for scale-out. Rows come back as JSON objects so API
 * handlers can return them with little glue. docs/store.md has the rules.
 */
#ifndef AMPEL_STORE_STORE_H
#define AMPEL_STORE_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct err;
struct store;

enum store_kind { STORE_SQLITE, STORE_POSTGRES };

enum store_param_type { STORE_NULL, STORE_TEXT, STORE_INT, STORE_REAL, STORE_BLOB };

/* A bound value for a `?` placeholder. */
struct store_param {
	enum store_param_type type;
	const char *text; /* STORE_TEXT (NUL-terminated, UTF-8) */
	int64_t integer;  /* STORE_INT */
	double real;	  /* STORE_REAL */
	const void *blob; /* STORE_BLOB */
	size_t blob_len;
};

#define STORE_TEXT_PARAM(s) ((struct store_param){ .type = STORE_TEXT, .text = (s) })
#define STORE_INT_PARAM(i)  ((struct store_param){ .type = STORE_INT, .integer = (i) })
#define STORE_REAL_PARAM(r) ((struct store_param){ .type = STORE_REAL, .real = (r) })
#define STORE_BLOB_PARAM(p, n) \
	((struct store_param){ .type = STORE_BLOB, .blob = (p), .blob_len = (n) })
#define STORE_NULL_PARAM ((struct store_param){ .type = STORE_NULL })

/*
 * url: "sqlite:PATH" or a plain path (SQLite, created with its directory),
 * or "postgres://…" / "postgresql://…" (a libpq connection URI). One
 * connection is made at once, so a wrong URL fails here. Errors never
 * contain the password of a URL.
 */
int store_open(struct store **out, const char *url, struct err *e);
/* Every handle and transaction must be finished before. */
void store_close(struct store *store);
enum store_kind store_kind(const struct store *store);
/* The URL with its password replaced by "***", for logs and messages. */
const char *store_describe(const struct store *store);

/* Applies the numbered migrations not yet applied, in one transaction each. */
int store_migrate(struct store *store, struct err *e);
/* The highest migration applied (0: none), and the highest this binary knows. */
int store_schema_version(struct store *store, int *applied, int *known, struct err *e);
/* A cheap round trip, for readiness checks. */
int store_ping(struct store *store, struct err *e);

/* Runs one statement; *changed (when not NULL) gets the rows it changed. */
int store_exec(struct store *store, const char *sql, const struct store_param *params, size_t count,
	       int64_t *changed, struct err *e);
/*
 * Runs a query; *rows is a new JSON array of objects keyed by column name
 * (INTEGER → integer, REAL → real, TEXT → string, NULL → null, BLOB →
 * base64 string).
 */
int store_query(struct store *store, const char *sql, const struct store_param *params,
		size_t count, json_t **rows, struct err *e);
/* The first row, or *row = NULL when there is none. */
int store_query_one(struct store *store, const char *sql, const struct store_param *params,
		    size_t count, json_t **row, struct err *e);

/*
 * Transactions hold one pooled connection until commit or rollback (both
 * free the handle); statements outside a transaction take any free
 * connection. Every transaction may write: on SQLite it holds the one
 * writer slot from begin to end, so a thread inside a transaction must not
 * write through store_exec (that waits for the slot it holds). A failed
 * statement dooms the transaction on both drivers: commit then rolls back
 * and fails. Use INSERT … ON CONFLICT DO NOTHING rather than catching a
 * conflict inside a transaction. Inside a transaction use only store_tx_*:
 * a pooled statement from the same thread can wait forever for a
 * connection or for the writer slot that the transaction holds.
 */
struct store_tx;
int store_tx_begin(struct store *store, struct store_tx **tx, struct err *e);
int store_tx_exec(struct store_tx *tx, const char *sql, const struct store_param *params,
		  size_t count, int64_t *changed, struct err *e);
int store_tx_query(struct store_tx *tx, const char *sql, const struct store_param *params,
		   size_t count, json_t **rows, struct err *e);
int store_tx_query_one(struct store_tx *tx, const char *sql, const struct store_param *params,
		       size_t count, json_t **row, struct err *e);
int store_tx_commit(struct store_tx *tx, struct err *e);
void store_tx_rollback(struct store_tx *tx);
struct store *store_tx_store(const struct store_tx *tx);

/*
 * True when e was filled because a UNIQUE or PRIMARY KEY constraint refused
 * the row (the API's 409). Such messages contain "conflict: ", which
 * err_prefix() keeps.
 */
bool store_error_is_conflict(const struct err *e);

/* For /metrics: connections in the pool and how many are in use. */
void store_pool_stats(struct store *store, size_t *size, size_t *in_use);

/* A new id: a UUIDv7 (time-ordered, 74 random bits) in its 36-char text form. */
#define STORE_ID_SIZE 37
void store_new_id(char out[STORE_ID_SIZE]);
/* Wall-clock milliseconds since the epoch, the store's one time format. */
int64_t store_now_ms(void);

#endif
