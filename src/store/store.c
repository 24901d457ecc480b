#include "store/store.h"

#include "store/store_internal.h"
#include "util/fs.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/str.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* Enough for a server's request threads and its job workers; opened lazily. */
#define STORE_POOL_MAX 8

struct store_tx {
	struct store *store;
	size_t slot;
	bool failed;
};

/* ---- URLs ---- */

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static char *percent_decode(const char *s, size_t len)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < len; i++) {
		int hi, lo;
		if (s[i] == '%' && i + 2 < len && (hi = hex_value(s[i + 1])) >= 0 &&
		    (lo = hex_value(s[i + 2])) >= 0) {
			buf_addch(&b, (char)(hi << 4 | lo));
			i += 2;
		} else {
			buf_addch(&b, s[i]);
		}
	}
	return buf_detach(&b); /* NULL when s is empty */
}

/*
 * Finds the password spans of a postgres URI: the userinfo's after ':' and
 * any password= query parameter. display gets the URI with both masked;
 * *password the first one found (raw, as written), for scrubbing messages.
 */
static void mask_url_password(const char *url, struct buf *display, char **password)
{
	*password = NULL;
	const char *authority = strstr(url, "://");
	authority = authority ? authority + 3 : url;
	size_t authority_len = strcspn(authority, "/?");
	const char *at = NULL;
	for (const char *p = authority; p < authority + authority_len; p++)
		if (*p == '@')
			at = p;
	const char *colon = NULL;
	if (at)
		colon = memchr(authority, ':', (size_t)(at - authority));
	const char *cursor = url;
	if (colon && colon + 1 < at) {
		*password = xstrndup(colon + 1, (size_t)(at - colon - 1));
		buf_add(display, cursor, (size_t)(colon + 1 - cursor));
		buf_adds(display, "***");
		cursor = at;
	}
	const char *query = strchr(authority, '?');
	while (query && *query) {
		const char *param = query + 1;
		size_t param_len = strcspn(param, "&");
		if (str_starts_with(param, "password=")) {
			const char *value = param + strlen("password=");
			if (!*password)
				*password = xstrndup(value, param_len - strlen("password="));
			buf_add(display, cursor, (size_t)(value - cursor));
			buf_adds(display, "***");
			cursor = param + param_len;
		}
		query = param[param_len] ? param + param_len : NULL;
	}
	buf_adds(display, cursor);
}

static void replace_all(struct err *e, const char *needle)
{
	if (!e || !needle || !*needle || !strstr(e->msg, needle))
		return;
	struct buf b = BUF_INIT;
	const char *p = e->msg, *hit;
	while ((hit = strstr(p, needle))) {
		buf_add(&b, p, (size_t)(hit - p));
		buf_adds(&b, "***");
		p = hit + strlen(needle);
	}
	buf_adds(&b, p);
	err_set(e, "%s", buf_cstr(&b));
	buf_free(&b);
}

static void scrub_password(const char *password, struct err *e)
{
	if (!password)
		return;
	replace_all(e, password);
	char *decoded = percent_decode(password, strlen(password));
	replace_all(e, decoded);
	free(decoded);
}

void store_scrub_error(const struct store *store, struct err *e)
{
	scrub_password(store->password, e);
}

static int parse_url(struct store *store, const char *url, struct err *e)
{
	struct buf display = BUF_INIT;
	if (!url || !*url)
		return err_set(e, "database URL is empty: use sqlite:PATH or postgres://…");
	if (str_starts_with(url, "postgres://") || str_starts_with(url, "postgresql://")) {
		store->driver = &store_pg_driver;
		store->target = xstrdup(url);
		mask_url_password(url, &display, &store->password);
		store->display = buf_detach(&display);
		return 0;
	}
	const char *path = url;
	if (str_starts_with(url, "sqlite:")) {
		path = url + strlen("sqlite:");
		if (str_starts_with(path, "//"))
			path += 2;
	} else if (strstr(url, "://")) {
		char *password;
		mask_url_password(url, &display, &password);
		free(password);
		err_set(e, "database URL '%s': unknown scheme (use sqlite:PATH or postgres://…)",
			buf_cstr(&display));
		buf_free(&display);
		return -1;
	}
	if (!*path)
		return err_set(e, "database URL '%s': the SQLite file path is empty", url);
	if (strcmp(path, ":memory:") == 0)
		return err_set(e,
			       "database URL '%s': an in-memory SQLite database is one per "
			       "connection; use a file",
			       url);
	store->driver = &store_sqlite_driver;
	store->target = xstrdup(path);
	buf_addf(&display, "sqlite:%s", path);
	store->display = buf_detach(&display);
	return fs_make_parents(path, 0700, e);
}

/* ---- the pool ---- */

int store_conn_acquire(struct store *store, size_t *slot, struct err *e)
{
	pthread_mutex_lock(&store->lock);
	for (;;) {
		size_t empty = store->slots_max;
		for (size_t i = 0; i < store->slots_max; i++) {
			if (store->states[i] == STORE_SLOT_IDLE) {
				store->states[i] = STORE_SLOT_BUSY;
				pthread_mutex_unlock(&store->lock);
				*slot = i;
				return 0;
			}
			if (store->states[i] == STORE_SLOT_EMPTY && empty == store->slots_max)
				empty = i;
		}
		if (empty < store->slots_max) {
			/* Connect without the lock: a slow server must not stall the pool. */
			store->states[empty] = STORE_SLOT_CONNECTING;
			pthread_mutex_unlock(&store->lock);
			void *conn = NULL;
			int rc = store->driver->connect(store, &conn, e);
			pthread_mutex_lock(&store->lock);
			if (rc != 0) {
				store->states[empty] = STORE_SLOT_EMPTY;
				pthread_cond_broadcast(&store->changed);
				pthread_mutex_unlock(&store->lock);
				store_scrub_error(store, e);
				return -1;
			}
			store->conns[empty] = conn;
			store->states[empty] = STORE_SLOT_BUSY;
			pthread_mutex_unlock(&store->lock);
			*slot = empty;
			return 0;
		}
		pthread_cond_wait(&store->changed, &store->lock);
	}
}

void store_conn_release(struct store *store, size_t slot)
{
	void *broken = NULL;
	pthread_mutex_lock(&store->lock);
	if (store->driver->usable(store->conns[slot])) {
		store->states[slot] = STORE_SLOT_IDLE;
	} else {
		broken = store->conns[slot];
		store->conns[slot] = NULL;
		store->states[slot] = STORE_SLOT_EMPTY;
	}
	pthread_cond_broadcast(&store->changed);
	pthread_mutex_unlock(&store->lock);
	if (broken)
		store->driver->disconnect(broken);
}

void *store_conn_at(struct store *store, size_t slot)
{
	return store->conns[slot];
}

void store_writer_acquire(struct store *store)
{
	pthread_mutex_lock(&store->writer_lock);
	while (store->writer_held)
		pthread_cond_wait(&store->writer_free, &store->writer_lock);
	store->writer_held = true;
	pthread_mutex_unlock(&store->writer_lock);
}

void store_writer_release(struct store *store)
{
	pthread_mutex_lock(&store->writer_lock);
	store->writer_held = false;
	pthread_cond_signal(&store->writer_free);
	pthread_mutex_unlock(&store->writer_lock);
}

void store_pool_stats(struct store *store, size_t *size, size_t *in_use)
{
	size_t open = 0, busy = 0;
	pthread_mutex_lock(&store->lock);
	for (size_t i = 0; i < store->slots_max; i++) {
		if (store->states[i] == STORE_SLOT_IDLE || store->states[i] == STORE_SLOT_BUSY)
			open++;
		if (store->states[i] == STORE_SLOT_BUSY)
			busy++;
	}
	pthread_mutex_unlock(&store->lock);
	if (size)
		*size = open;
	if (in_use)
		*in_use = busy;
}

/* ---- open and close ---- */

int store_open(struct store **out, const char *url, struct err *e)
{
	*out = NULL;
	if (sodium_init() < 0)
		return err_set(e, "cannot initialise libsodium");
	struct store *store = xcalloc(1, sizeof(*store));
	pthread_mutex_init(&store->lock, NULL);
	pthread_cond_init(&store->changed, NULL);
	pthread_mutex_init(&store->writer_lock, NULL);
	pthread_cond_init(&store->writer_free, NULL);
	store->slots_max = STORE_POOL_MAX;
	store->conns = xcalloc(store->slots_max, sizeof(*store->conns));
	store->states = xcalloc(store->slots_max, sizeof(*store->states));
	if (parse_url(store, url, e) != 0) {
		scrub_password(store->password, e);
		store_close(store);
		return -1;
	}
	size_t slot;
	if (store_conn_acquire(store, &slot, e) != 0) {
		store_scrub_error(store, e);
		store_close(store);
		return -1;
	}
	store_conn_release(store, slot);
	*out = store;
	return 0;
}

void store_close(struct store *store)
{
	if (!store)
		return;
	for (size_t i = 0; i < store->slots_max; i++)
		if (store->conns[i])
			store->driver->disconnect(store->conns[i]);
	free(store->conns);
	free(store->states);
	pthread_mutex_destroy(&store->lock);
	pthread_cond_destroy(&store->changed);
	pthread_mutex_destroy(&store->writer_lock);
	pthread_cond_destroy(&store->writer_free);
	free(store->target);
	free(store->display);
	free(store->password);
	free(store);
}

enum store_kind store_kind(const struct store *store)
{
	return store->driver->kind;
}

const char *store_describe(const struct store *store)
{
	return store->display;
}

/* ---- statements ---- */

static int run_pooled(struct store *store, const char *sql, const struct store_param *params,
		      size_t count, int64_t *changed, json_t **rows, struct err *e)
{
	size_t slot;
	if (store_conn_acquire(store, &slot, e) != 0)
		return -1;
	int rc = store->driver->run(store, store->conns[slot], sql, params, count, false, changed,
				    rows, e);
	store_conn_release(store, slot);
	if (rc != 0)
		store_scrub_error(store, e);
	return rc;
}

int store_exec(struct store *store, const char *sql, const struct store_param *params, size_t count,
	       int64_t *changed, struct err *e)
{
	return run_pooled(store, sql, params, count, changed, NULL, e);
}

int store_query(struct store *store, const char *sql, const struct store_param *params,
		size_t count, json_t **rows, struct err *e)
{
	*rows = NULL;
	return run_pooled(store, sql, params, count, NULL, rows, e);
}

static int first_row(json_t *rows, json_t **row)
{
	*row = json_array_size(rows) ? json_incref(json_array_get(rows, 0)) : NULL;
	json_decref(rows);
	return 0;
}

int store_query_one(struct store *store, const char *sql, const struct store_param *params,
		    size_t count, json_t **row, struct err *e)
{
	json_t *rows;
	*row = NULL;
	if (store_query(store, sql, params, count, &rows, e) != 0)
		return -1;
	return first_row(rows, row);
}

int store_ping(struct store *store, struct err *e)
{
	json_t *rows = NULL;
	int rc = store_query(store, "SELECT 1 AS ok", NULL, 0, &rows, e);
	json_decref(rows);
	return rc;
}

/* ---- transactions ---- */

static bool serialises_writes(const struct store *store)
{
	return store->driver->kind == STORE_SQLITE;
}

int store_tx_begin(struct store *store, struct store_tx **tx, struct err *e)
{
	*tx = NULL;
	size_t slot;
	if (store_conn_acquire(store, &slot, e) != 0)
		return -1;
	if (serialises_writes(store))
		store_writer_acquire(store);
	if (store->driver->script(store, store->conns[slot], store->driver->begin_sql, e) != 0) {
		if (serialises_writes(store))
			store_writer_release(store);
		store_conn_release(store, slot);
		store_scrub_error(store, e);
		return err_prefix(e, "cannot begin a transaction");
	}
	*tx = xcalloc(1, sizeof(**tx));
	(*tx)->store = store;
	(*tx)->slot = slot;
	return 0;
}

static int tx_run(struct store_tx *tx, const char *sql, const struct store_param *params,
		  size_t count, int64_t *changed, json_t **rows, struct err *e)
{
	struct store *store = tx->store;
	if (tx->failed)
		return err_set(e, "transaction already failed; roll it back");
	if (store->driver->run(store, store->conns[tx->slot], sql, params, count, true, changed,
			       rows, e) != 0) {
		tx->failed = true;
		store_scrub_error(store, e);
		return -1;
	}
	return 0;
}

int store_tx_exec(struct store_tx *tx, const char *sql, const struct store_param *params,
		  size_t count, int64_t *changed, struct err *e)
{
	return tx_run(tx, sql, params, count, changed, NULL, e);
}

int store_tx_query(struct store_tx *tx, const char *sql, const struct store_param *params,
		   size_t count, json_t **rows, struct err *e)
{
	*rows = NULL;
	return tx_run(tx, sql, params, count, NULL, rows, e);
}

int store_tx_query_one(struct store_tx *tx, const char *sql, const struct store_param *params,
		       size_t count, json_t **row, struct err *e)
{
	json_t *rows;
	*row = NULL;
	if (store_tx_query(tx, sql, params, count, &rows, e) != 0)
		return -1;
	return first_row(rows, row);
}

static void tx_finish(struct store_tx *tx)
{
	if (serialises_writes(tx->store))
		store_writer_release(tx->store);
	store_conn_release(tx->store, tx->slot);
	free(tx);
}

int store_tx_commit(struct store_tx *tx, struct err *e)
{
	struct store *store = tx->store;
	void *conn = store->conns[tx->slot];
	if (tx->failed) {
		store->driver->script(store, conn, "ROLLBACK", NULL);
		tx_finish(tx);
		return err_set(e, "transaction rolled back: a statement in it failed");
	}
	if (store->driver->script(store, conn, "COMMIT", e) != 0) {
		store->driver->script(store, conn, "ROLLBACK", NULL);
		tx_finish(tx);
		store_scrub_error(store, e);
		return err_prefix(e, "commit failed");
	}
	tx_finish(tx);
	return 0;
}

void store_tx_rollback(struct store_tx *tx)
{
	if (!tx)
		return;
	tx->store->driver->script(tx->store, tx->store->conns[tx->slot], "ROLLBACK", NULL);
	tx_finish(tx);
}

struct store *store_tx_store(const struct store_tx *tx)
{
	return tx->store;
}

/* ---- errors, ids, time ---- */

bool store_error_is_conflict(const struct err *e)
{
	return e && strstr(e->msg, STORE_CONFLICT_MARK) != NULL;
}

void store_new_id(char out[STORE_ID_SIZE])
{
	unsigned char b[16];
	uint64_t ms = (uint64_t)store_now_ms();
	randombytes_buf(b + 6, sizeof(b) - 6);
	for (int i = 0; i < 6; i++)
		b[i] = (unsigned char)(ms >> (40 - 8 * i));
	b[6] = (unsigned char)(0x70 | (b[6] & 0x0f)); /* version 7 */
	b[8] = (unsigned char)(0x80 | (b[8] & 0x3f)); /* RFC 4122 variant */
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[o] = '\0';
}

int64_t store_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
