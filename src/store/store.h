/*
 * store: the server's database, SQLite or PostgreSQL behind one interface.
 *
 * Everything the server keeps (users, tokens, secrets, audit, jobs…) goes
 * through here, written once in portable SQL: `?` placeholders (rewritten to
 * $1… for PostgreSQL), TEXT/INTEGER/BLOB/REAL columns, no vendor functions.
 * SQLite is the embedded default (WAL, busy timeout, one writer at a time);
 * PostgreSQL is for scale-out. Rows come back as JSON objects so API
 * handlers can return them with little glue.
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
	const char *text; /* STORE_TEXT (NUL-terminated) */
	int64_t integer;  /* STORE_INT */
	double real;	  /* STORE_REAL */
	const void *blob; /* STORE_BLOB */
	size_t blob_len;
};

#define STORE_TEXT_PARAM(s) ((struct store_param){ .type = STORE_TEXT, .text = (s) })
#define STORE_INT_PARAM(i) ((struct store_param){ .type = STORE_INT, .integer = (i) })
#define STORE_NULL_PARAM ((struct store_param){ .type = STORE_NULL })

/*
 * url: "sqlite:PATH" or a plain path (SQLite, created with its directory),
 * or "postgres://…" / "postgresql://…" (a libpq connection URI). Errors never
 * contain the password of a URL.
 */
int store_open(struct store **out, const char *url, struct err *e);
void store_close(struct store *store);
enum store_kind store_kind(const struct store *store);

/* Applies the numbered migrations not yet applied, in one transaction each. */
int store_migrate(struct store *store, struct err *e);
/* The highest migration applied, and the highest this binary knows. */
int store_schema_version(struct store *store, int *applied, int *known, struct err *e);
/* A cheap round trip, for readiness checks. */
int store_ping(struct store *store, struct err *e);

/* Runs one statement; *changed (when not NULL) gets the rows it changed. */
int store_exec(struct store *store, const char *sql, const struct store_param *params,
	       size_t count, int64_t *changed, struct err *e);
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
 * connection. SQLite gets one writer at a time, as it allows.
 */
struct store_tx;
int store_tx_begin(struct store *store, struct store_tx **tx, struct err *e);
int store_tx_exec(struct store_tx *tx, const char *sql, const struct store_param *params,
		  size_t count, int64_t *changed, struct err *e);
int store_tx_query(struct store_tx *tx, const char *sql, const struct store_param *params,
		   size_t count, json_t **rows, struct err *e);
int store_tx_commit(struct store_tx *tx, struct err *e);
void store_tx_rollback(struct store_tx *tx);

/* For /metrics: connections in the pool and how many are in use. */
void store_pool_stats(struct store *store, size_t *size, size_t *in_use);

#endif
