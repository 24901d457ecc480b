#include "store/migrations.h"

#include "store/store.h"
#include "store/store_internal.h"
#include "store/store_sql.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>

/*
 * The rules (docs/store.md): ids are TEXT (store_new_id), times INTEGER
 * milliseconds since the epoch, flags INTEGER 0/1, lists and maps TEXT
 * holding JSON, no AUTOINCREMENT/SERIAL, no vendor functions. Unique
 * constraints over a nullable column use COALESCE in an index, because
 * NULLs never collide.
 */
static const char migration_1[] =
	"CREATE TABLE users (\n"
	"  id TEXT PRIMARY KEY,\n"
	"  name TEXT NOT NULL UNIQUE,\n"
	"  email TEXT UNIQUE,\n"
	"  kind TEXT NOT NULL CHECK (kind IN ('human', 'agent')),\n"
	"  password_hash TEXT,\n"
	"  created_by TEXT REFERENCES users(id),\n"
	"  created_at INTEGER NOT NULL,\n"
	"  disabled INTEGER NOT NULL DEFAULT 0\n"
	");\n"
	"CREATE TABLE api_tokens (\n"
	"  id TEXT PRIMARY KEY,\n"
	"  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,\n"
	"  name TEXT NOT NULL,\n"
	"  token_hash TEXT NOT NULL UNIQUE,\n"
	"  scopes TEXT NOT NULL DEFAULT '[]',\n"
	"  project TEXT,\n"
	"  expires_at INTEGER,\n"
	"  last_used_at INTEGER,\n"
	"  created_at INTEGER NOT NULL,\n"
	"  revoked_at INTEGER\n"
	");\n"
	"CREATE INDEX api_tokens_user ON api_tokens(user_id);\n"
	"CREATE TABLE sessions (\n"
	"  id TEXT PRIMARY KEY,\n"
	"  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,\n"
	"  token_hash TEXT NOT NULL UNIQUE,\n"
	"  csrf_token TEXT NOT NULL,\n"
	"  address TEXT,\n"
	"  user_agent TEXT,\n"
	"  created_at INTEGER NOT NULL,\n"
	"  last_seen_at INTEGER,\n"
	"  expires_at INTEGER NOT NULL,\n"
	"  revoked_at INTEGER\n"
	");\n"
	"CREATE INDEX sessions_user ON sessions(user_id);\n"
	"CREATE TABLE refresh_tokens (\n"
	"  id TEXT PRIMARY KEY,\n"
	"  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,\n"
	"  family TEXT NOT NULL,\n"
	"  token_hash TEXT NOT NULL UNIQUE,\n"
	"  created_at INTEGER NOT NULL,\n"
	"  expires_at INTEGER NOT NULL,\n"
	"  rotated_at INTEGER,\n"
	"  revoked INTEGER NOT NULL DEFAULT 0\n"
	");\n"
	"CREATE INDEX refresh_tokens_family ON refresh_tokens(family);\n"
	"CREATE TABLE roles (\n"
	"  id TEXT PRIMARY KEY,\n"
	"  name TEXT NOT NULL UNIQUE,\n"
	"  description TEXT,\n"
	"  system INTEGER NOT NULL DEFAULT 0,\n"
	"  created_at INTEGER NOT NULL\n"
	");\n"
	"CREATE TABLE role_permissions (\n"
	"  role_id TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,\n"
	"  permission TEXT NOT NULL,\n"
	"  PRIMARY KEY (role_id, permission)\n"
	");\n"
	"CREATE TABLE role_bindings (\n"
	"  id TEXT PRIMARY KEY,\n"
	"  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,\n"
	"  role_id TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,\n"
	"  project TEXT,\n"
	"  created_by TEXT REFERENCES users(id),\n"
	"  created_at INTEGER NOT NULL\n"
	");\n"
	"CREATE UNIQUE INDEX role_bindings_unique ON role_bindings(user_id, role_id, "
	"COALESCE(project, ''));\n"
	"CREATE TABLE delegations (\n"
	"  id TEXT PRIMARY KEY,\n"
	"  from_user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,\n"
	"  to_user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,\n"
	"  project TEXT,\n"
	"  permissions TEXT NOT NULL,\n"
	"  reason TEXT NOT NULL,\n"
	"  created_at INTEGER NOT NULL,\n"
	"  expires_at INTEGER,\n"
	"  revoked_at INTEGER\n"
	");\n"
	"CREATE INDEX delegations_to ON delegations(to_user_id);\n"
	"CREATE TABLE secrets (\n"
	"  id TEXT PRIMARY KEY,\n"
	"  scope TEXT NOT NULL CHECK (scope IN ('pipeline', 'agent', 'deploy', 'all')),\n"
	"  project TEXT,\n"
	"  name TEXT NOT NULL,\n"
	"  ciphertext BLOB NOT NULL,\n"
	"  nonce BLOB NOT NULL,\n"
	"  key_version INTEGER NOT NULL,\n"
	"  version INTEGER NOT NULL DEFAULT 1,\n"
	"  created_by TEXT REFERENCES users(id),\n"
	"  created_at INTEGER NOT NULL,\n"
	"  updated_at INTEGER NOT NULL\n"
	");\n"
	"CREATE UNIQUE INDEX secrets_unique ON secrets(COALESCE(project, ''), name);\n"
	"CREATE TABLE audit_log (\n"
	"  seq INTEGER PRIMARY KEY,\n"
	"  at INTEGER NOT NULL,\n"
	"  actor TEXT,\n"
	"  action TEXT NOT NULL,\n"
	"  target TEXT,\n"
	"  detail TEXT,\n"
	"  prev_hash TEXT NOT NULL,\n"
	"  hash TEXT NOT NULL\n"
	");\n"
	"CREATE TABLE login_attempts (\n"
	"  id TEXT PRIMARY KEY,\n"
	"  name TEXT,\n"
	"  address TEXT,\n"
	"  at INTEGER NOT NULL,\n"
	"  success INTEGER NOT NULL\n"
	");\n"
	"CREATE INDEX login_attempts_name ON login_attempts(name, at);\n"
	"CREATE INDEX login_attempts_address ON login_attempts(address, at);\n"
	"CREATE TABLE jobs (\n"
	"  id TEXT PRIMARY KEY,\n"
	"  kind TEXT NOT NULL,\n"
	"  payload TEXT NOT NULL,\n"
	"  state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'dead')),\n"
	"  attempts INTEGER NOT NULL DEFAULT 0,\n"
	"  max_attempts INTEGER NOT NULL,\n"
	"  run_at INTEGER NOT NULL,\n"
	"  lease_owner TEXT,\n"
	"  lease_expires_at INTEGER,\n"
	"  last_error TEXT,\n"
	"  created_at INTEGER NOT NULL,\n"
	"  updated_at INTEGER NOT NULL,\n"
	"  finished_at INTEGER\n"
	");\n"
	"CREATE INDEX jobs_due ON jobs(state, run_at);\n";

/*
 * Short-lived access tokens live in sessions beside cookie sessions (kind
 * 'cookie' or 'access'); an access token remembers its refresh-token family
 * so that reuse of a rotated refresh token revokes the access tokens too.
 */
static const char migration_2[] =
	"ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'cookie';\n"
	"ALTER TABLE sessions ADD COLUMN family TEXT;\n"
	"CREATE INDEX sessions_family ON sessions(family);\n";

/*
 * Secrets are encrypted under data keys, one per key version, each stored
 * here wrapped (AEAD) under the master key, which never enters the
 * database. Rotation adds a version, re-encrypts every secret and deletes
 * the older versions in one transaction.
 */
static const char migration_3[] = "CREATE TABLE secret_keys (\n"
				  "  version INTEGER PRIMARY KEY,\n"
				  "  wrapped_key BLOB NOT NULL,\n"
				  "  nonce BLOB NOT NULL,\n"
				  "  created_at INTEGER NOT NULL\n"
				  ");\n";

/*
 * Repositories the server knows (registered by local path or cloned from a
 * git URL into the data directory), the analyses of them, the CI/CD
 * suggestions made from an analysis, and deployment credentials per
 * provider: the account default (repository_id NULL) or one repository's
 * override. A repository's id is also its RBAC project. An analysis
 * remembers the job that made it, so a job run twice after a crash still
 * leaves one analysis.
 */
static const char migration_4[] =
	"CREATE TABLE repositories (\n"
	"  id TEXT PRIMARY KEY,\n"
	"  name TEXT NOT NULL,\n"
	"  owner_id TEXT NOT NULL REFERENCES users(id),\n"
	"  source_kind TEXT NOT NULL CHECK (source_kind IN ('path', 'url')),\n"
	"  source TEXT NOT NULL,\n"
	"  path TEXT NOT NULL,\n"
	"  default_branch TEXT,\n"
	"  state TEXT NOT NULL CHECK (state IN ('cloning', 'ready', 'failed')),\n"
	"  error TEXT,\n"
	"  created_at INTEGER NOT NULL,\n"
	"  updated_at INTEGER NOT NULL\n"
	");\n"
	"CREATE UNIQUE INDEX repositories_owner_name ON repositories(owner_id, name);\n"
	"CREATE TABLE analyses (\n"
	"  id TEXT PRIMARY KEY,\n"
	"  repository_id TEXT NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,\n"
	"  job_id TEXT UNIQUE,\n"
	"  commit_sha TEXT,\n"
	"  document TEXT NOT NULL,\n"
	"  created_at INTEGER NOT NULL\n"
	");\n"
	"CREATE INDEX analyses_repository ON analyses(repository_id, created_at);\n"
	"CREATE TABLE suggestions (\n"
	"  id TEXT PRIMARY KEY,\n"
	"  repository_id TEXT NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,\n"
	"  analysis_id TEXT NOT NULL REFERENCES analyses(id) ON DELETE CASCADE,\n"
	"  type TEXT NOT NULL CHECK (type IN ('ci', 'cd')),\n"
	"  provider TEXT NOT NULL,\n"
	"  target TEXT,\n"
	"  title TEXT NOT NULL,\n"
	"  files TEXT NOT NULL,\n"
	"  status TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected', "
	"'applied')),\n"
	"  branch TEXT,\n"
	"  commit_sha TEXT,\n"
	"  created_at INTEGER NOT NULL,\n"
	"  updated_at INTEGER NOT NULL\n"
	");\n"
	"CREATE INDEX suggestions_repository ON suggestions(repository_id, status);\n"
	"CREATE TABLE deployment_credentials (\n"
	"  id TEXT PRIMARY KEY,\n"
	"  provider TEXT NOT NULL,\n"
	"  repository_id TEXT REFERENCES repositories(id) ON DELETE CASCADE,\n"
	"  fields TEXT NOT NULL,\n"
	"  ciphertext BLOB NOT NULL,\n"
	"  nonce BLOB NOT NULL,\n"
	"  key_version INTEGER NOT NULL,\n"
	"  version INTEGER NOT NULL DEFAULT 1,\n"
	"  created_by TEXT REFERENCES users(id),\n"
	"  created_at INTEGER NOT NULL,\n"
	"  updated_at INTEGER NOT NULL\n"
	");\n"
	"CREATE UNIQUE INDEX deployment_credentials_unique ON "
	"deployment_credentials(provider, COALESCE(repository_id, ''));\n";

static const struct store_migration migrations[] = {
	{ 1, "server foundation: identity, access, secrets, audit, jobs", migration_1 },
	{ 2, "sessions: access tokens and their refresh family", migration_2 },
	{ 3, "secrets: wrapped data keys per key version", migration_3 },
	{ 4, "repositories, analyses, suggestions, deployment credentials", migration_4 },
};

const struct store_migration *store_migrations(size_t *count)
{
	*count = sizeof(migrations) / sizeof(migrations[0]);
	return migrations;
}

static const char schema_migrations_sql[] = "CREATE TABLE IF NOT EXISTS schema_migrations (\n"
					    "  version INTEGER PRIMARY KEY,\n"
					    "  name TEXT NOT NULL,\n"
					    "  applied_at INTEGER NOT NULL\n"
					    ")";

/* Any number of servers may start at once; one key serialises their migrations. */
static const char pg_lock_sql[] = "SELECT pg_advisory_lock(7236450121)";
static const char pg_unlock_sql[] = "SELECT pg_advisory_unlock(7236450121)";

static int run_ddl(struct store *store, void *conn, const char *sql, struct err *e)
{
	if (store_kind(store) != STORE_POSTGRES)
		return store->driver->script(store, conn, sql, e);
	struct buf mapped = BUF_INIT;
	store_sql_map_types_pg(&mapped, sql);
	int rc = store->driver->script(store, conn, buf_cstr(&mapped), e);
	buf_free(&mapped);
	return rc;
}

static int applied_version(struct store *store, void *conn, bool in_tx, int *applied, struct err *e)
{
	json_t *rows = NULL;
	*applied = 0;
	struct store_param name = STORE_TEXT_PARAM("schema_migrations");
	if (store->driver->run(store, conn, store->driver->table_exists_sql, &name, 1, in_tx, NULL,
			       &rows, e) != 0)
		return -1;
	bool exists = json_array_size(rows) > 0;
	json_decref(rows);
	if (!exists)
		return 0;
	if (store->driver->run(store, conn,
			       "SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations",
			       NULL, 0, in_tx, NULL, &rows, e) != 0)
		return -1;
	*applied = (int)json_integer_value(json_object_get(json_array_get(rows, 0), "version"));
	json_decref(rows);
	return 0;
}

/* One migration in its own transaction, unless another starter applied it first. */
static int apply_one(struct store *store, void *conn, const struct store_migration *m,
		     bool *applied_now, struct err *e)
{
	bool sqlite = store_kind(store) == STORE_SQLITE;
	*applied_now = false;
	if (sqlite)
		store_writer_acquire(store);
	int rc = store->driver->script(store, conn, store->driver->begin_sql, e);
	if (rc == 0) {
		json_t *rows = NULL;
		struct store_param version = STORE_INT_PARAM(m->version);
		rc = store->driver->run(
			store, conn, "SELECT 1 AS present FROM schema_migrations WHERE version = ?",
			&version, 1, true, NULL, &rows, e);
		bool done = rc == 0 && json_array_size(rows) > 0;
		json_decref(rows);
		if (rc == 0 && !done)
			rc = run_ddl(store, conn, m->sql, e);
		if (rc == 0 && !done) {
			struct store_param params[] = {
				STORE_INT_PARAM(m->version),
				STORE_TEXT_PARAM(m->name),
				STORE_INT_PARAM(store_now_ms()),
			};
			rc = store->driver->run(store, conn,
						"INSERT INTO schema_migrations (version, name, "
						"applied_at) VALUES (?, ?, ?)",
						params, 3, true, NULL, NULL, e);
		}
		if (rc == 0)
			rc = store->driver->script(store, conn, "COMMIT", e);
		if (rc != 0)
			store->driver->script(store, conn, "ROLLBACK", NULL);
		else
			*applied_now = !done;
	}
	if (sqlite)
		store_writer_release(store);
	if (rc != 0)
		err_prefix(e, "migration %d (%s)", m->version, m->name);
	return rc;
}

static int migrate_on(struct store *store, void *conn, struct err *e)
{
	size_t count;
	const struct store_migration *list = store_migrations(&count);
	int known = count ? list[count - 1].version : 0, applied;
	if (applied_version(store, conn, false, &applied, e) != 0)
		return -1;
	if (applied > known)
		return err_set(e,
			       "database schema is at version %d but this binary knows only up to "
			       "%d: run a newer ampel",
			       applied, known);
	if (applied == known)
		return 0;
	bool sqlite = store_kind(store) == STORE_SQLITE;
	if (sqlite)
		store_writer_acquire(store);
	int rc = run_ddl(store, conn, schema_migrations_sql, e);
	if (sqlite)
		store_writer_release(store);
	if (rc != 0)
		return err_prefix(e, "cannot create schema_migrations");
	for (size_t i = 0; i < count; i++) {
		if (list[i].version <= applied)
			continue;
		bool applied_now;
		if (apply_one(store, conn, &list[i], &applied_now, e) != 0)
			return -1;
		if (applied_now) {
			char version[16];
			snprintf(version, sizeof(version), "%d", list[i].version);
			log_info("store", "migration applied", "version", version, "name",
				 list[i].name, "database", store_describe(store));
		}
	}
	return 0;
}

int store_migrate(struct store *store, struct err *e)
{
	size_t slot;
	if (store_conn_acquire(store, &slot, e) != 0)
		return -1;
	void *conn = store_conn_at(store, slot);
	bool pg = store_kind(store) == STORE_POSTGRES;
	int rc = 0;
	if (pg && store->driver->script(store, conn, pg_lock_sql, e) != 0)
		rc = err_prefix(e, "cannot take the migration lock");
	if (rc == 0) {
		rc = migrate_on(store, conn, e);
		if (pg)
			store->driver->script(store, conn, pg_unlock_sql, NULL);
	}
	store_conn_release(store, slot);
	if (rc != 0)
		store_scrub_error(store, e);
	return rc;
}

int store_schema_version(struct store *store, int *applied, int *known, struct err *e)
{
	size_t count, slot;
	const struct store_migration *list = store_migrations(&count);
	if (known)
		*known = count ? list[count - 1].version : 0;
	if (store_conn_acquire(store, &slot, e) != 0)
		return -1;
	int version = 0;
	int rc = applied_version(store, store_conn_at(store, slot), false, &version, e);
	store_conn_release(store, slot);
	if (rc != 0)
		store_scrub_error(store, e);
	else if (applied)
		*applied = version;
	return rc;
}
