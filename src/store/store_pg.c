/*
 * store_pg: the PostgreSQL driver (libpq), for servers that share state.
 *
 * Statements arrive with `?` placeholders and are sent as $n with typed
 * parameters (int8, float8, bytea in binary); results come back as text and
 * are turned into JSON by column type, so a row reads the same as on SQLite.
 */
#include "store/store_internal.h"
#include "store/store_sql.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/xalloc.h"

#include <errno.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Type OIDs from pg_type.h (stable across versions). */
#define PG_BOOL	   16
#define PG_BYTEA   17
#define PG_INT8	   20
#define PG_INT2	   21
#define PG_INT4	   23
#define PG_OID	   26
#define PG_FLOAT4  700
#define PG_FLOAT8  701
#define PG_NUMERIC 1700

/* libpq messages end with a newline; errors read better on one line. */
static void add_trimmed(struct buf *b, const char *message)
{
	size_t len = strlen(message);
	while (len && (message[len - 1] == '\n' || message[len - 1] == ' '))
		len--;
	bool space = false;
	for (size_t i = 0; i < len; i++) {
		bool blank = message[i] == '\n' || message[i] == '\t' || message[i] == ' ';
		if (!blank || !space)
			buf_addch(b, blank ? ' ' : message[i]);
		space = blank;
	}
}

static int pg_connection_error(PGconn *conn, const char *prefix, struct err *e)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, prefix);
	add_trimmed(&b, conn ? PQerrorMessage(conn) : "out of memory");
	err_set(e, "%s", buf_cstr(&b));
	buf_free(&b);
	return -1;
}

static int pg_result_error(PGconn *conn, const PGresult *res, struct err *e)
{
	if (!res)
		return pg_connection_error(conn, "PostgreSQL: ", e);
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	struct buf b = BUF_INIT;
	/* 23505 unique_violation; the DETAIL (which names the values) stays out. */
	buf_adds(&b, state && strcmp(state, "23505") == 0 ? STORE_CONFLICT_MARK : "PostgreSQL: ");
	add_trimmed(&b, primary ? primary : PQerrorMessage(conn));
	err_set(e, "%s", buf_cstr(&b));
	buf_free(&b);
	return -1;
}

static void ignore_notice(void *arg, const char *message)
{
	/* "relation already exists, skipping" and the like are not news. */
}

static int pg_connect(struct store *store, void **conn_out, struct err *e)
{
	/* Defaults first: what the URL itself says comes later and wins. Without
	 * a timeout an unreachable host would hang the start for minutes. */
	const char *const keywords[] = { "connect_timeout", "fallback_application_name", "dbname",
					 NULL };
	const char *const values[] = { "10", "ampel", store->target, NULL };
	PGconn *conn = PQconnectdbParams(keywords, values, 1);
	if (!conn || PQstatus(conn) != CONNECTION_OK) {
		struct buf prefix = BUF_INIT;
		buf_addf(&prefix, "cannot connect to PostgreSQL %s: ", store->display);
		pg_connection_error(conn, buf_cstr(&prefix), e);
		buf_free(&prefix);
		PQfinish(conn);
		return -1;
	}
	PQsetNoticeProcessor(conn, ignore_notice, NULL);
	if (PQsetClientEncoding(conn, "UTF8") != 0) {
		pg_connection_error(conn, "cannot set the client encoding to UTF8: ", e);
		PQfinish(conn);
		return -1;
	}
	*conn_out = conn;
	return 0;
}

static void pg_disconnect(void *conn)
{
	PQfinish(conn);
}

static bool pg_usable(void *conn)
{
	return PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) == PQTRANS_IDLE;
}

static int pg_script(struct store *store, void *conn, const char *sql, struct err *e)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	int rc = 0;
	if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
		rc = pg_result_error(conn, res, e);
	PQclear(res);
	return rc;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* bytea text output is "\x" and hex (bytea_output = hex, the default since 9.0). */
static json_t *bytea_to_base64(const char *text, size_t len)
{
	struct buf raw = BUF_INIT, encoded = BUF_INIT;
	if (len >= 2 && text[0] == '\\' && text[1] == 'x') {
		for (size_t i = 2; i + 1 < len; i += 2) {
			int hi = hex_digit(text[i]), lo = hex_digit(text[i + 1]);
			if (hi < 0 || lo < 0)
				break;
			buf_addch(&raw, (char)(hi << 4 | lo));
		}
	} else {
		size_t n = 0;
		unsigned char *bytes = PQunescapeBytea((const unsigned char *)text, &n);
		if (bytes)
			buf_add(&raw, bytes, n);
		PQfreemem(bytes);
	}
	store_sql_base64(&encoded, (const unsigned char *)buf_cstr(&raw), raw.len);
	json_t *value = json_string(buf_cstr(&encoded));
	buf_free(&raw);
	buf_free(&encoded);
	return value;
}

static json_t *numeric_to_json(const char *text)
{
	if (!strpbrk(text, ".eE")) {
		errno = 0;
		char *end;
		long long v = strtoll(text, &end, 10);
		if (errno == 0 && *end == '\0')
			return json_integer(v);
	}
	double d = strtod(text, NULL);
	return isfinite(d) ? json_real(d) : json_null();
}

static json_t *value_to_json(const PGresult *res, int row, int column)
{
	if (PQgetisnull(res, row, column))
		return json_null();
	const char *text = PQgetvalue(res, row, column);
	size_t len = (size_t)PQgetlength(res, row, column);
	switch (PQftype(res, column)) {
	case PG_INT2:
	case PG_INT4:
	case PG_INT8:
	case PG_OID:
		return json_integer(strtoll(text, NULL, 10));
	case PG_BOOL: /* portable SQL has no booleans: 0/1 as on SQLite */
		return json_integer(text[0] == 't');
	case PG_FLOAT4:
	case PG_FLOAT8: {
		/* Always a real, also when integral ("5"), as SQLite's REAL is. */
		double d = strtod(text, NULL);
		return isfinite(d) ? json_real(d) : json_null();
	}
	case PG_NUMERIC: /* SUM(INTEGER) is numeric here and INTEGER on SQLite */
		return numeric_to_json(text);
	case PG_BYTEA:
		return bytea_to_base64(text, len);
	default: {
		json_t *value = json_stringn(text, len);
		return value ? value : json_null();
	}
	}
}

static json_t *result_to_json(const PGresult *res)
{
	json_t *rows = json_array();
	int columns = PQnfields(res);
	for (int r = 0; r < PQntuples(res); r++) {
		json_t *row = json_object();
		for (int c = 0; c < columns; c++)
			json_object_set_new(row, PQfname(res, c), value_to_json(res, r, c));
		json_array_append_new(rows, row);
	}
	return rows;
}

static int pg_run(struct store *store, void *conn, const char *sql,
		  const struct store_param *params, size_t count, bool in_tx, int64_t *changed,
		  json_t **rows, struct err *e)
{
	struct buf rewritten = BUF_INIT;
	size_t placeholders = store_sql_rewrite_placeholders(&rewritten, sql);
	if (placeholders != count) {
		buf_free(&rewritten);
		return err_set(e, "statement has %zu placeholders but %zu values were given",
			       placeholders, count);
	}
	size_t n = count ? count : 1;
	Oid *types = xcalloc(n, sizeof(*types));
	const char **values = xcalloc(n, sizeof(*values));
	int *lengths = xcalloc(n, sizeof(*lengths));
	int *formats = xcalloc(n, sizeof(*formats));
	char(*numbers)[32] = xcalloc(n, sizeof(*numbers));
	int rc = 0;
	for (size_t i = 0; i < count && rc == 0; i++) {
		const struct store_param *p = &params[i];
		switch (p->type) {
		case STORE_NULL:
			break;
		case STORE_TEXT:
			/* Unknown type: the server infers it from the context, as a literal. */
			values[i] = p->text;
			break;
		case STORE_INT:
			types[i] = PG_INT8;
			snprintf(numbers[i], sizeof(numbers[i]), "%lld", (long long)p->integer);
			values[i] = numbers[i];
			break;
		case STORE_REAL:
			types[i] = PG_FLOAT8;
			snprintf(numbers[i], sizeof(numbers[i]), "%.17g", p->real);
			values[i] = numbers[i];
			break;
		case STORE_BLOB:
			if (p->blob_len > INT32_MAX) {
				rc = err_set(e, "parameter %zu: blob larger than 2 GiB", i + 1);
				break;
			}
			types[i] = PG_BYTEA;
			values[i] = p->blob_len ? p->blob : "";
			lengths[i] = (int)p->blob_len;
			formats[i] = 1;
			break;
		default:
			rc = err_set(e, "parameter %zu has an unknown type", i + 1);
		}
	}
	PGresult *res = NULL;
	if (rc == 0) {
		res = PQexecParams(conn, buf_cstr(&rewritten), (int)count, types, values, lengths,
				   formats, 0);
		ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
		if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
			if (changed)
				*changed = strtoll(PQcmdTuples(res), NULL, 10);
			if (rows)
				*rows = result_to_json(res);
		} else {
			rc = pg_result_error(conn, res, e);
		}
	}
	PQclear(res);
	free(types);
	free(values);
	free(lengths);
	free(formats);
	free(numbers);
	buf_free(&rewritten);
	return rc;
}

const struct store_driver store_pg_driver = {
	.kind = STORE_POSTGRES,
	.connect = pg_connect,
	.disconnect = pg_disconnect,
	.usable = pg_usable,
	.run = pg_run,
	.script = pg_script,
	.begin_sql = "BEGIN",
	.table_exists_sql = "SELECT 1 AS present FROM information_schema.tables WHERE "
			    "table_schema = current_schema() AND table_name = ?",
};
