/*
 * migrations: the numbered schema changes, applied in order at start.
 *
 * Each is portable DDL written with SQLite's storage types (TEXT, INTEGER,
 * REAL, BLOB); store_sql maps them for PostgreSQL. A landed migration is
 * never edited: a change is a new, higher number. store_migrate() and
 * store_schema_version() (store.h) are implemented here.
 */
#ifndef AMPEL_STORE_MIGRATIONS_H
#define AMPEL_STORE_MIGRATIONS_H

#include <stddef.h>

struct store_migration {
	int version; /* 1, 2, 3… without gaps */
	const char *name;
	const char *sql; /* one or more statements, no parameters */
};

/* The migrations this binary knows, in version order. */
const struct store_migration *store_migrations(size_t *count);

#endif
