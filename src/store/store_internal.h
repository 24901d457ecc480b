/*
 * store_internal: what store.c shares with its drivers and migrations.
 *
 * A driver turns one connection into statements and rows; store.c owns the
 * pool, transactions and the SQLite writer slot, so a driver never sees
 * more than the one connection it is handed.
 */
#ifndef AMPEL_STORE_STORE_INTERNAL_H
#define AMPEL_STORE_STORE_INTERNAL_H

#include "store/store.h"

#include <pthread.h>

/* Drivers start a unique-violation message with this; see store_error_is_conflict. */
#define STORE_CONFLICT_MARK "conflict: "

struct store_driver {
	enum store_kind kind;
	/* Opens one connection to store->target. */
	int (*connect)(struct store *store, void **conn, struct err *e);
	void (*disconnect)(void *conn);
	/* False when the connection broke and must not go back to the pool. */
	bool (*usable)(void *conn);
	/*
	 * One statement with parameters; rows NULL for exec. in_tx: the caller
	 * holds a transaction (and, on SQLite, the writer slot).
	 */
	int (*run)(struct store *store, void *conn, const char *sql,
		   const struct store_param *params, size_t count, bool in_tx, int64_t *changed,
		   json_t **rows, struct err *e);
	/* Several statements without parameters (migrations, BEGIN/COMMIT). */
	int (*script)(struct store *store, void *conn, const char *sql, struct err *e);
	const char *begin_sql;
	/* One `?`: the table name; a row when the table exists. */
	const char *table_exists_sql;
};

extern const struct store_driver store_sqlite_driver;
extern const struct store_driver store_pg_driver;

enum store_slot_state { STORE_SLOT_EMPTY, STORE_SLOT_CONNECTING, STORE_SLOT_IDLE, STORE_SLOT_BUSY };

struct store {
	const struct store_driver *driver;
	char *target;	/* SQLite path or libpq URI (holds the password: never print) */
	char *display;	/* target with the password masked */
	char *password; /* to scrub from driver messages; NULL when none */

	pthread_mutex_t lock;
	pthread_cond_t changed;
	size_t slots_max;
	void **conns;
	enum store_slot_state *states;

	/* SQLite's one writer: held by a write statement or a transaction. */
	pthread_mutex_t writer_lock;
	pthread_cond_t writer_free;
	bool writer_held;
};

/* Takes a connection from the pool (waits when all are busy); *slot for release. */
int store_conn_acquire(struct store *store, size_t *slot, struct err *e);
void store_conn_release(struct store *store, size_t slot);
void *store_conn_at(struct store *store, size_t slot);

void store_writer_acquire(struct store *store);
void store_writer_release(struct store *store);

/* Replaces the URL's password in e's message with "***". */
void store_scrub_error(const struct store *store, struct err *e);

#endif
