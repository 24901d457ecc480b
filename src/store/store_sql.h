/*
 * store_sql: the text work on portable SQL that both drivers need.
 *
 * Placeholders are `?` everywhere; PostgreSQL wants $1…, and a `?` inside a
 * string literal, a quoted identifier or a comment is not a placeholder.
 * Migrations are written with SQLite's four storage types and mapped to
 * PostgreSQL's 64-bit equivalents here, so one schema text serves both.
 */
#ifndef AMPEL_STORE_STORE_SQL_H
#define AMPEL_STORE_STORE_SQL_H

#include <stddef.h>

struct buf;

/* Appends sql with each placeholder `?` replaced by $1, $2…; returns how many. */
size_t store_sql_rewrite_placeholders(struct buf *out, const char *sql);

/*
 * Appends migration DDL for PostgreSQL: the type words INTEGER → BIGINT,
 * REAL → DOUBLE PRECISION, BLOB → BYTEA outside literals and comments.
 */
void store_sql_map_types_pg(struct buf *out, const char *sql);

/* Appends data as standard base64 (with padding). */
void store_sql_base64(struct buf *out, const unsigned char *data, size_t len);

#endif
