#include "api/secrets.h"

#include "api/api.h"
#include "api/api_internal.h"
#include "api/audit.h"
#include "api/credentials.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_BYTES	crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define NONCE_BYTES	crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES	crypto_aead_xchacha20poly1305_ietf_ABYTES
#define MASTER_KEY_ENV	"AMPEL_MASTER_KEY"
#define MASTER_KEY_FILE "master.key"
/* Serialises secret writers and rotation across servers on PostgreSQL. */
#define SECRETS_PG_LOCK_SQL "SELECT pg_advisory_xact_lock(7236450123)"

/* Key material lives in sodium_malloc memory: locked, guarded, wiped on free. */
struct master_key {
	unsigned char key[KEY_BYTES];
	char source[PATH_MAX + 32]; /* where it came from, for messages */
};

struct keyring {
	size_t count;
	int64_t current; /* the newest version, 0 when there is none */
	int64_t versions[64];
	unsigned char *keys; /* count * KEY_BYTES, sodium_malloc */
};

_Static_assert(NONCE_BYTES == SECRETS_NONCE_BYTES, "secrets.h nonce size");

/* What secrets_write_begin hands to other modules that seal values. */
struct secrets_keys {
	struct master_key *master;
	struct keyring ring;
};

static const char *const scopes[] = { "pipeline", "agent", "deploy", "all" };

bool secrets_scope_valid(const char *scope, bool allow_all)
{
	for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++)
		if (scope && strcmp(scope, scopes[i]) == 0)
			return allow_all || strcmp(scope, "all") != 0;
	return false;
}

/* Names are environment-variable names: pipelines expose secrets as such. */
static bool name_valid(const char *name)
{
	if (!name || !*name || strlen(name) > 128 || (*name >= '0' && *name <= '9'))
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

static bool project_valid(const char *project)
{
	if (!project)
		return true;
	if (!*project || strlen(project) > 200)
		return false;
	for (const unsigned char *p = (const unsigned char *)project; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

int secrets_validate_names(const char *project, const char *name, struct err *e)
{
	if (!name_valid(name))
		return err_set(e, "secret name must be 1 to 128 letters, digits or underscores, "
				  "not starting with a digit");
	if (!project_valid(project))
		return err_set(e, "project must be 1 to 200 printable characters");
	return 0;
}

/* --- the master key --- */

static int decode_key(unsigned char key[KEY_BYTES], const char *text, size_t len)
{
	size_t got = 0;
	if (sodium_base642bin(key, KEY_BYTES, text, len, " \t\r\n", &got, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	return got == KEY_BYTES ? 0 : -1;
}

/*
 * Creates the key file when there is none. The key is written to a
 * temporary file and linked into place, so a reader never sees a file
 * half-written, and of two first uses at once (two requests, two
 * processes) one key wins and both use it.
 */
static int create_key_file(const char *path, struct err *e)
{
	if (access(path, F_OK) == 0)
		return 0;
	struct buf temp = BUF_INIT;
	buf_addf(&temp, "%s.new-XXXXXX", path);
	int fd = mkostemp(temp.data, O_CLOEXEC);
	if (fd < 0) {
		int rc = err_errno(e, "cannot create the master key file %s", path);
		buf_free(&temp);
		return rc;
	}
	unsigned char *key = sodium_malloc(KEY_BYTES);
	char *text = sodium_malloc(
		sodium_base64_ENCODED_LEN(KEY_BYTES, sodium_base64_VARIANT_ORIGINAL) + 1);
	int rc = 0;
	if (!key || !text) {
		rc = err_set(e, "out of locked memory for the master key");
	} else {
		randombytes_buf(key, KEY_BYTES);
		sodium_bin2base64(
			text, sodium_base64_ENCODED_LEN(KEY_BYTES, sodium_base64_VARIANT_ORIGINAL),
			key, KEY_BYTES, sodium_base64_VARIANT_ORIGINAL);
		size_t len = strlen(text);
		text[len++] = '\n';
		if (fchmod(fd, 0600) != 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) != 0)
			rc = err_errno(e, "cannot write the master key file %s", path);
	}
	close(fd);
	if (rc == 0 && link(temp.data, path) == 0)
		log_info("secrets", "master key created", "path", path);
	else if (rc == 0 && errno != EEXIST) /* EEXIST: another first use won; use its key */
		rc = err_errno(e, "cannot create the master key file %s", path);
	unlink(temp.data);
	buf_free(&temp);
	sodium_free(key);
	sodium_free(text);
	return rc;
}

static int read_key_file(struct master_key *master, const char *path, struct err *e)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_errno(e, "cannot open the master key file %s", path);
	struct stat st;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return err_errno(e, "cannot stat the master key file %s", path);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(e, "master key file %s is not a regular file", path);
	}
	if (st.st_mode & 077) {
		close(fd);
		return err_set(e,
			       "master key file %s has mode %04o: it must be readable by its owner "
			       "only; run chmod 600 %s (and check who could have read it)",
			       path, (unsigned)(st.st_mode & 07777), path);
	}
	char *text = sodium_malloc(256);
	if (!text) {
		close(fd);
		return err_set(e, "out of locked memory for the master key");
	}
	ssize_t len = read(fd, text, 255);
	close(fd);
	int rc = 0;
	if (len < 0)
		rc = err_errno(e, "cannot read the master key file %s", path);
	else if (decode_key(master->key, text, (size_t)len) != 0)
		rc = err_set(e, "master key file %s must hold one base64-encoded 32-byte key",
			     path);
	sodium_free(text);
	return rc;
}

static int master_key_load(struct api_context *ctx, struct master_key **out, struct err *e)
{
	if (sodium_init() < 0)
		return err_set(e, "libsodium cannot be initialised");
	struct master_key *master = sodium_malloc(sizeof(*master));
	if (!master)
		return err_set(e, "out of locked memory for the master key");
	*out = NULL;
	const char *env = getenv(MASTER_KEY_ENV);
	int rc = 0;
	if (env && *env) {
		snprintf(master->source, sizeof(master->source), "%s", MASTER_KEY_ENV);
		if (decode_key(master->key, env, strlen(env)) != 0)
			rc = err_set(e,
				     "%s must be a base64-encoded 32-byte key (make one with "
				     "`openssl rand -base64 32`)",
				     MASTER_KEY_ENV);
	} else if (!ctx->data_dir || !*ctx->data_dir) {
		rc = err_set(e, "no master key: set %s or give the server a data directory",
			     MASTER_KEY_ENV);
	} else {
		snprintf(master->source, sizeof(master->source), "%s/%s", ctx->data_dir,
			 MASTER_KEY_FILE);
		if (mkdir(ctx->data_dir, 0700) != 0 && errno != EEXIST)
			rc = err_errno(e, "cannot create the data directory %s", ctx->data_dir);
		if (rc == 0)
			rc = create_key_file(master->source, e);
		if (rc == 0)
			rc = read_key_file(master, master->source, e);
	}
	if (rc != 0) {
		sodium_free(master);
		return -1;
	}
	*out = master;
	return 0;
}

/* --- sealing --- */

static char *data_key_ad(int64_t version)
{
	char *ad = malloc(48);
	if (ad)
		snprintf(ad, 48, "ampel-data-key/v1:%" PRId64, version);
	return ad;
}

/* Associated data: the row's identity, so a ciphertext only opens in its own row. */
static char *secret_ad(const char *scope, const char *project, const char *name, int64_t version)
{
	json_t *ad = json_pack("[s, s, s?, s, I]", "ampel-secret/v1", scope, project, name,
			       (json_int_t)version);
	char *text = json_dumps(ad, JSON_COMPACT);
	json_decref(ad);
	return text;
}

static int seal(struct buf *ciphertext, unsigned char nonce[NONCE_BYTES], const unsigned char *key,
		const void *plain, size_t plain_len, const char *ad)
{
	randombytes_buf(nonce, NONCE_BYTES);
	buf_reset(ciphertext);
	buf_grow(ciphertext, plain_len + TAG_BYTES + 1);
	unsigned long long len = 0;
	crypto_aead_xchacha20poly1305_ietf_encrypt((unsigned char *)ciphertext->data, &len, plain,
						   plain_len, (const unsigned char *)ad, strlen(ad),
						   NULL, nonce, key);
	ciphertext->len = (size_t)len;
	return 0;
}

/* Opens base64 columns; *plain is sodium_malloc'ed (plus a NUL) and *plain_len set. */
static int open_sealed(unsigned char **plain, size_t *plain_len, const unsigned char *key,
		       const char *ciphertext_b64, const char *nonce_b64, const char *ad)
{
	*plain = NULL;
	size_t b64_len = ciphertext_b64 ? strlen(ciphertext_b64) : 0;
	unsigned char *sealed = malloc(b64_len + 1);
	unsigned char nonce[NONCE_BYTES];
	size_t sealed_len = 0, nonce_len = 0;
	int rc = -1;
	if (sealed && nonce_b64 &&
	    sodium_base642bin(sealed, b64_len + 1, ciphertext_b64, b64_len, NULL, &sealed_len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) == 0 &&
	    sodium_base642bin(nonce, sizeof(nonce), nonce_b64, strlen(nonce_b64), NULL, &nonce_len,
			      NULL, sodium_base64_VARIANT_ORIGINAL) == 0 &&
	    nonce_len == NONCE_BYTES && sealed_len >= TAG_BYTES) {
		*plain = sodium_malloc(sealed_len - TAG_BYTES + 1);
		unsigned long long len = 0;
		if (*plain && crypto_aead_xchacha20poly1305_ietf_decrypt(
				      *plain, &len, NULL, sealed, sealed_len,
				      (const unsigned char *)ad, strlen(ad), nonce, key) == 0) {
			(*plain)[len] = '\0';
			*plain_len = (size_t)len;
			rc = 0;
		}
	}
	if (rc != 0 && *plain) {
		sodium_free(*plain);
		*plain = NULL;
	}
	free(sealed);
	return rc;
}

/* --- the key ring (data keys per version) --- */

static void keyring_free(struct keyring *ring)
{
	if (ring->keys)
		sodium_free(ring->keys);
	memset(ring, 0, sizeof(*ring));
}

static const unsigned char *keyring_key(const struct keyring *ring, int64_t version)
{
	for (size_t i = 0; i < ring->count; i++)
		if (ring->versions[i] == version)
			return ring->keys + i * KEY_BYTES;
	return NULL;
}

static int unwrap_row(struct keyring *ring, const struct master_key *master, json_t *row,
		      struct err *e)
{
	int64_t version = json_integer_value(json_object_get(row, "version"));
	if (ring->count >= sizeof(ring->versions) / sizeof(ring->versions[0]))
		return err_set(e, "too many secret key versions: rotate the key");
	char *ad = data_key_ad(version);
	unsigned char *plain = NULL;
	size_t len = 0;
	int rc = ad ? open_sealed(&plain, &len, master->key,
				  json_string_value(json_object_get(row, "wrapped_key")),
				  json_string_value(json_object_get(row, "nonce")), ad)
		    : -1;
	free(ad);
	if (rc != 0 || len != KEY_BYTES) {
		if (plain)
			sodium_free(plain);
		return err_set(e,
			       "the master key from %s cannot unwrap secret key version %" PRId64
			       ": it is not the key these secrets were encrypted with; set %s or "
			       "restore the original master key file",
			       master->source, version, MASTER_KEY_ENV);
	}
	memcpy(ring->keys + ring->count * KEY_BYTES, plain, KEY_BYTES);
	sodium_free(plain);
	ring->versions[ring->count++] = version;
	if (version > ring->current)
		ring->current = version;
	return 0;
}

/* Why a sealed row did not open (beside store or memory failures, -1). */
enum open_failure { OPEN_KEY_GONE = 1, OPEN_TAMPERED = 2 };

/*
 * Opens a row's ciphertext (ciphertext, nonce, key_version) under ad_text.
 * The data key comes from keys when given (inside a write), else from the
 * row itself (wrapped_key and key_nonce read in the same statement, NULL
 * when that version is gone), unwrapped with ctx's master key. 0 with
 * *opened (sodium memory) or an enum open_failure; -1 with e set.
 */
static int open_row(struct api_context *ctx, const struct keyring *keys, const json_t *row,
		    const char *ad_text, unsigned char **opened, size_t *opened_len, struct err *e)
{
	int64_t version = json_integer_value(json_object_get(row, "key_version"));
	struct master_key *master = NULL;
	struct keyring ring = { 0 };
	const unsigned char *key = NULL;
	int rc = 0;
	if (keys) {
		key = keyring_key(keys, version);
		rc = key ? 0 : OPEN_KEY_GONE;
	} else if (!json_is_string(json_object_get(row, "wrapped_key"))) {
		rc = OPEN_KEY_GONE;
	} else if (master_key_load(ctx, &master, e) != 0) {
		rc = -1;
	} else {
		ring.keys = sodium_allocarray(1, KEY_BYTES);
		json_t *key_row = json_pack("{s:I, s:O, s:O}", "version", (json_int_t)version,
					    "wrapped_key", json_object_get(row, "wrapped_key"),
					    "nonce", json_object_get(row, "key_nonce"));
		rc = ring.keys ? unwrap_row(&ring, master, key_row, e)
			       : err_set(e, "out of locked memory for secret keys");
		json_decref(key_row);
		key = ring.keys;
	}
	if (rc == 0 && open_sealed(opened, opened_len, key,
				   json_string_value(json_object_get(row, "ciphertext")),
				   json_string_value(json_object_get(row, "nonce")), ad_text) != 0)
		rc = OPEN_TAMPERED;
	if (ring.keys)
		keyring_free(&ring);
	if (master)
		sodium_free(master);
	return rc;
}

static int keyring_load(struct keyring *ring, struct store *store, struct store_tx *tx,
			const struct master_key *master, struct err *e)
{
	memset(ring, 0, sizeof(*ring));
	ring->keys =
		sodium_allocarray(sizeof(ring->versions) / sizeof(ring->versions[0]), KEY_BYTES);
	if (!ring->keys)
		return err_set(e, "out of locked memory for secret keys");
	json_t *rows = NULL;
	static const char sql[] =
		"SELECT version, wrapped_key, nonce FROM secret_keys ORDER BY version";
	int rc = tx ? store_tx_query(tx, sql, NULL, 0, &rows, e)
		    : store_query(store, sql, NULL, 0, &rows, e);
	if (rc != 0) {
		keyring_free(ring);
		return err_prefix(e, "cannot read the secret keys");
	}
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
	{
		if (unwrap_row(ring, master, row, e) != 0) {
			rc = -1;
			break;
		}
	}
	json_decref(rows);
	if (rc != 0)
		keyring_free(ring);
	return rc;
}

/* Adds a fresh random data key as version current + 1, stored wrapped. */
static int keyring_add(struct keyring *ring, struct store_tx *tx, const struct master_key *master,
		       struct err *e)
{
	if (ring->count >= sizeof(ring->versions) / sizeof(ring->versions[0]))
		return err_set(e, "too many secret key versions");
	int64_t version = ring->current + 1;
	unsigned char *key = ring->keys + ring->count * KEY_BYTES;
	randombytes_buf(key, KEY_BYTES);
	unsigned char nonce[NONCE_BYTES];
	struct buf wrapped = BUF_INIT;
	char *ad = data_key_ad(version);
	if (!ad)
		return err_set(e, "out of memory");
	seal(&wrapped, nonce, master->key, key, KEY_BYTES, ad);
	free(ad);
	struct store_param params[] = {
		STORE_INT_PARAM(version),
		STORE_BLOB_PARAM(wrapped.data, wrapped.len),
		STORE_BLOB_PARAM(nonce, NONCE_BYTES),
		STORE_INT_PARAM(store_now_ms()),
	};
	int rc = store_tx_exec(tx,
			       "INSERT INTO secret_keys (version, wrapped_key, nonce, created_at) "
			       "VALUES (?, ?, ?, ?)",
			       params, 4, NULL, e);
	buf_free(&wrapped);
	if (rc != 0)
		return err_prefix(e, "cannot store secret key version %" PRId64, version);
	ring->versions[ring->count++] = version;
	ring->current = version;
	return 0;
}

/* Opens a write transaction that holds the secrets lock and the unwrapped key ring. */
static int write_begin(struct api_context *ctx, struct store_tx **tx, struct master_key **master,
		       struct keyring *ring, struct err *e)
{
	*tx = NULL;
	if (master_key_load(ctx, master, e) != 0)
		return -1;
	if (store_tx_begin(ctx->store, tx, e) != 0)
		goto fail;
	if (store_kind(ctx->store) == STORE_POSTGRES &&
	    store_tx_exec(*tx, SECRETS_PG_LOCK_SQL, NULL, 0, NULL, e) != 0)
		goto fail;
	if (keyring_load(ring, NULL, *tx, *master, e) != 0)
		goto fail;
	if (ring->count == 0 && keyring_add(ring, *tx, *master, e) != 0) {
		keyring_free(ring);
		goto fail;
	}
	return 0;
fail:
	if (*tx)
		store_tx_rollback(*tx);
	*tx = NULL;
	sodium_free(*master);
	*master = NULL;
	return -1;
}

static void write_end(struct master_key *master, struct keyring *ring)
{
	keyring_free(ring);
	sodium_free(master);
}

static char *secret_target(const char *project, const char *name)
{
	struct buf target = BUF_INIT;
	if (project)
		buf_addf(&target, "projects/%s/secrets/%s", project, name);
	else
		buf_addf(&target, "secrets/%s", name);
	return buf_detach(&target);
}

int secrets_check_master_key(struct api_context *ctx, struct err *e)
{
	struct master_key *master;
	if (master_key_load(ctx, &master, e) != 0)
		return -1;
	struct keyring ring;
	int rc = keyring_load(&ring, ctx->store, NULL, master, e);
	if (rc == 0)
		keyring_free(&ring);
	sodium_free(master);
	return rc;
}

/*
 * Writes the secret inside tx (which holds the secrets' write lock); 1,
 * and nothing written, when it exists and replace is false.
 */
static int put_in(struct store_tx *tx, const struct keyring *ring, const char *actor,
		  const char *project, const char *name, const char *scope, const char *value,
		  size_t value_len, bool replace, int *created, struct err *e)
{
	struct store_param key[] = { STORE_TEXT_PARAM(project ? project : ""),
				     STORE_TEXT_PARAM(name) };
	json_t *existing = NULL;
	if (store_tx_query_one(
		    tx,
		    "SELECT id, version FROM secrets WHERE COALESCE(project, '') = ? AND "
		    "name = ?",
		    key, 2, &existing, e) != 0)
		return -1;
	if (existing && !replace) {
		json_decref(existing);
		return 1;
	}
	char *ad = secret_ad(scope, project, name, ring->current);
	unsigned char nonce[NONCE_BYTES];
	struct buf sealed = BUF_INIT;
	seal(&sealed, nonce, keyring_key(ring, ring->current), value, value_len, ad);
	free(ad);
	int64_t now = store_now_ms(), version = 1;
	int rc;
	if (existing) {
		version = json_integer_value(json_object_get(existing, "version")) + 1;
		struct store_param params[] = {
			STORE_TEXT_PARAM(scope),
			STORE_BLOB_PARAM(sealed.data, sealed.len),
			STORE_BLOB_PARAM(nonce, NONCE_BYTES),
			STORE_INT_PARAM(ring->current),
			STORE_INT_PARAM(version),
			STORE_INT_PARAM(now),
			STORE_TEXT_PARAM(json_string_value(json_object_get(existing, "id"))),
		};
		rc = store_tx_exec(tx,
				   "UPDATE secrets SET scope = ?, ciphertext = ?, nonce = ?, "
				   "key_version = ?, version = ?, updated_at = ? WHERE id = ?",
				   params, 7, NULL, e);
	} else {
		char id[STORE_ID_SIZE];
		store_new_id(id);
		struct store_param params[] = {
			STORE_TEXT_PARAM(id),
			STORE_TEXT_PARAM(scope),
			project ? STORE_TEXT_PARAM(project) : STORE_NULL_PARAM,
			STORE_TEXT_PARAM(name),
			STORE_BLOB_PARAM(sealed.data, sealed.len),
			STORE_BLOB_PARAM(nonce, NONCE_BYTES),
			STORE_INT_PARAM(ring->current),
			STORE_INT_PARAM(now),
			STORE_INT_PARAM(now),
		};
		rc = store_tx_exec(
			tx,
			"INSERT INTO secrets (id, scope, project, name, ciphertext, nonce, "
			"key_version, version, created_at, updated_at) VALUES (?, ?, ?, ?, "
			"?, ?, ?, 1, ?, ?)",
			params, 9, NULL, e);
	}
	/* The sealed bytes are not secret, but keep the buffer no longer than needed. */
	buf_free(&sealed);
	if (rc != 0)
		goto out;
	if (created)
		*created = !existing;
	char *target = secret_target(project, name);
	json_t *detail = json_pack("{s:s, s:s?, s:s, s:I, s:I}", "name", name, "project", project,
				   "scope", scope, "version", (json_int_t)version, "key_version",
				   (json_int_t)ring->current);
	rc = audit_append_tx(tx, actor, existing ? "secret.update" : "secret.create", target,
			     detail, e);
	json_decref(detail);
	free(target);
out:
	json_decref(existing);
	return rc;
}

/* secrets_put and secrets_create: 1 when create-only found it existing. */
static int secrets_write(struct api_context *ctx, const char *actor, const char *project,
			 const char *name, const char *scope, const char *value, size_t value_len,
			 bool replace, int *created, struct err *e)
{
	if (secrets_validate_names(project, name, e) != 0)
		return -1;
	if (!secrets_scope_valid(scope, true))
		return err_set(e, "scope must be one of pipeline, agent, deploy, all");
	if (!value)
		return err_set(e, "secret '%s' has no value", name);
	if (value_len > SECRETS_MAX_VALUE)
		return err_set(e, "secret '%s' is longer than %d bytes", name, SECRETS_MAX_VALUE);
	struct store_tx *tx;
	struct master_key *master;
	struct keyring ring;
	if (write_begin(ctx, &tx, &master, &ring, e) != 0)
		return err_prefix(e, "cannot store secret '%s'", name);
	int rc = put_in(tx, &ring, actor, project, name, scope, value, value_len, replace, created,
			e);
	if (rc == 0)
		rc = store_tx_commit(tx, e);
	else
		store_tx_rollback(tx);
	write_end(master, &ring);
	return rc >= 0 ? rc : err_prefix(e, "cannot store secret '%s'", name);
}

int secrets_put(struct api_context *ctx, const char *actor, const char *project, const char *name,
		const char *scope, const char *value, size_t value_len, int *created, struct err *e)
{
	return secrets_write(ctx, actor, project, name, scope, value, value_len, true, created, e);
}

int secrets_create(struct api_context *ctx, const char *actor, const char *project,
		   const char *name, const char *scope, const char *value, size_t value_len,
		   struct err *e)
{
	return secrets_write(ctx, actor, project, name, scope, value, value_len, false, NULL, e);
}

int secrets_delete(struct api_context *ctx, const char *actor, const char *project,
		   const char *name, bool *found, struct err *e)
{
	*found = false;
	struct store_tx *tx;
	if (store_tx_begin(ctx->store, &tx, e) != 0)
		return -1;
	int64_t changed = 0;
	int rc = 0;
	if (store_kind(ctx->store) == STORE_POSTGRES)
		rc = store_tx_exec(tx, SECRETS_PG_LOCK_SQL, NULL, 0, NULL, e);
	if (rc == 0) {
		struct store_param key[] = { STORE_TEXT_PARAM(project ? project : ""),
					     STORE_TEXT_PARAM(name) };
		rc = store_tx_exec(
			tx, "DELETE FROM secrets WHERE COALESCE(project, '') = ? AND name = ?", key,
			2, &changed, e);
	}
	if (rc == 0 && changed > 0) {
		*found = true;
		char *target = secret_target(project, name);
		json_t *detail = json_pack("{s:s, s:s?}", "name", name, "project", project);
		rc = audit_append_tx(tx, actor, "secret.delete", target, detail, e);
		json_decref(detail);
		free(target);
	}
	if (rc == 0)
		return store_tx_commit(tx, e);
	store_tx_rollback(tx);
	return -1;
}

void secrets_value_free(char *value)
{
	if (value) {
		sodium_memzero(value, strlen(value));
		free(value);
	}
}

int secrets_reveal(struct api_context *ctx, const char *project, const char *name,
		   const char *for_scope, char **value, struct err *e)
{
	*value = NULL;
	if (secrets_validate_names(project, name, e) != 0)
		return -1;
	if (!secrets_scope_valid(for_scope, false))
		return err_set(e, "secrets are revealed for pipeline, agent or deploy, not '%s'",
			       for_scope ? for_scope : "");
	/* The secret and its wrapped key in one statement: a rotation cannot fall between. */
	struct store_param key[] = { STORE_TEXT_PARAM(project ? project : ""),
				     STORE_TEXT_PARAM(name) };
	json_t *rows = NULL;
	if (store_query(ctx->store,
			"SELECT s.scope, s.project, s.ciphertext, s.nonce, s.key_version, "
			"k.wrapped_key, k.nonce AS key_nonce FROM secrets s LEFT JOIN "
			"secret_keys k ON k.version = s.key_version WHERE (COALESCE(s.project, "
			"'') = ? OR s.project IS NULL) AND s.name = ? ORDER BY "
			"COALESCE(s.project, '') DESC",
			key, 2, &rows, e) != 0)
		return err_prefix(e, "cannot read secret '%s'", name);
	json_t *row = json_array_get(rows, 0); /* the project's before the global one */
	if (!row) {
		json_decref(rows);
		return err_set(e, "no secret named '%s'%s%s", name, project ? " in project " : "",
			       project ? project : "");
	}
	const char *scope = json_string_value(json_object_get(row, "scope"));
	const char *row_project = json_string_value(json_object_get(row, "project"));
	if (strcmp(scope, "all") != 0 && strcmp(scope, for_scope) != 0) {
		err_set(e, "secret '%s' is for %s, not for %s", name, scope, for_scope);
		json_decref(rows);
		return -1;
	}
	int64_t key_version = json_integer_value(json_object_get(row, "key_version"));
	unsigned char *plain = NULL;
	size_t plain_len = 0;
	char *ad = secret_ad(scope, row_project, name, key_version);
	int rc = open_row(ctx, NULL, row, ad, &plain, &plain_len, e);
	free(ad);
	if (rc == OPEN_KEY_GONE)
		rc = err_set(e,
			     "secret '%s' is sealed under key version %" PRId64
			     ", which no longer exists",
			     name, key_version);
	else if (rc == OPEN_TAMPERED)
		rc = err_set(e,
			     "secret '%s' cannot be decrypted: its ciphertext was changed or "
			     "belongs to another secret",
			     name);
	if (rc == 0) {
		*value = malloc(plain_len + 1);
		memcpy(*value, plain, plain_len + 1);
		sodium_free(plain);
		char *target = secret_target(row_project, name);
		json_t *detail = json_pack("{s:s, s:s?, s:s}", "name", name, "project", row_project,
					   "for", for_scope);
		struct err audit_error = ERR_INIT;
		if (audit_append(ctx->store, NULL, "secret.reveal", target, detail, &audit_error) !=
		    0) {
			/* An unaudited reveal must not happen. */
			secrets_value_free(*value);
			*value = NULL;
			rc = err_set(e, "cannot audit the reveal of secret '%s': %s", name,
				     audit_error.msg);
		}
		json_decref(detail);
		free(target);
	}
	json_decref(rows);
	return rc;
}

int secrets_rotate_key(struct api_context *ctx, struct secrets_rotation *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	int64_t count = 0;
	struct store_tx *tx;
	struct master_key *master;
	struct keyring ring;
	if (write_begin(ctx, &tx, &master, &ring, e) != 0)
		return err_prefix(e, "cannot rotate the secret key");
	int64_t old_current = ring.current;
	int rc = keyring_add(&ring, tx, master, e);
	json_t *rows = NULL;
	if (rc == 0)
		rc = store_tx_query(
			tx,
			"SELECT id, scope, project, name, ciphertext, nonce, key_version "
			"FROM secrets ORDER BY id",
			NULL, 0, &rows, e);
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
	{
		if (rc != 0)
			break;
		const char *scope = json_string_value(json_object_get(row, "scope"));
		const char *project = json_string_value(json_object_get(row, "project"));
		const char *name = json_string_value(json_object_get(row, "name"));
		int64_t version = json_integer_value(json_object_get(row, "key_version"));
		const unsigned char *old_key = keyring_key(&ring, version);
		char *ad = secret_ad(scope, project, name, version);
		unsigned char *plain = NULL;
		size_t plain_len = 0;
		if (!old_key ||
		    open_sealed(&plain, &plain_len, old_key,
				json_string_value(json_object_get(row, "ciphertext")),
				json_string_value(json_object_get(row, "nonce")), ad) != 0) {
			rc = err_set(e,
				     "secret '%s'%s%s cannot be decrypted with key version %" PRId64
				     "; nothing was changed",
				     name, project ? " of project " : "", project ? project : "",
				     version);
			free(ad);
			break;
		}
		free(ad);
		ad = secret_ad(scope, project, name, ring.current);
		unsigned char nonce[NONCE_BYTES];
		struct buf sealed = BUF_INIT;
		seal(&sealed, nonce, keyring_key(&ring, ring.current), plain, plain_len, ad);
		sodium_free(plain);
		free(ad);
		struct store_param params[] = {
			STORE_BLOB_PARAM(sealed.data, sealed.len),
			STORE_BLOB_PARAM(nonce, NONCE_BYTES),
			STORE_INT_PARAM(ring.current),
			STORE_TEXT_PARAM(json_string_value(json_object_get(row, "id"))),
		};
		rc = store_tx_exec(tx,
				   "UPDATE secrets SET ciphertext = ?, nonce = ?, key_version = ? "
				   "WHERE id = ?",
				   params, 4, NULL, e);
		buf_free(&sealed);
		if (rc == 0)
			count++;
	}
	json_decref(rows);
	/* Credentials are sealed under the same keys: re-seal them before the old keys go. */
	int64_t credentials = 0;
	if (rc == 0) {
		struct secrets_keys keys = { .master = master, .ring = ring };
		rc = credentials_reseal_tx(tx, &keys, &credentials, e);
	}
	if (rc == 0) {
		struct store_param current = STORE_INT_PARAM(ring.current);
		rc = store_tx_exec(tx, "DELETE FROM secret_keys WHERE version <> ?", &current, 1,
				   NULL, e);
	}
	if (rc == 0) {
		json_t *detail = json_pack(
			"{s:I, s:I, s:I, s:I}", "key_version", (json_int_t)ring.current,
			"previous_key_version", (json_int_t)old_current, "reencrypted",
			(json_int_t)count, "credentials_reencrypted", (json_int_t)credentials);
		rc = audit_append_tx(tx, NULL, "secret.rotate_key", "secrets", detail, e);
		json_decref(detail);
	}
	if (rc == 0)
		rc = store_tx_commit(tx, e);
	else
		store_tx_rollback(tx);
	int64_t new_version = ring.current;
	write_end(master, &ring);
	if (rc != 0)
		return err_prefix(e, "cannot rotate the secret key");
	out->key_version = new_version;
	out->secrets = count;
	out->credentials = credentials;
	return 0;
}

/* --- sealing for other tables --- */

/* The caller's associated data with the key version appended, as compact JSON. */
static char *value_ad(const json_t *ad, int64_t version)
{
	if (!json_is_array(ad))
		return NULL;
	json_t *full = json_deep_copy(ad);
	json_array_append_new(full, json_integer((json_int_t)version));
	char *text = json_dumps(full, JSON_COMPACT);
	json_decref(full);
	return text;
}

int secrets_write_begin(struct api_context *ctx, struct store_tx **tx, struct secrets_keys **keys,
			struct err *e)
{
	*keys = NULL;
	struct secrets_keys *k = calloc(1, sizeof(*k));
	if (!k)
		return err_set(e, "out of memory");
	if (write_begin(ctx, tx, &k->master, &k->ring, e) != 0) {
		free(k);
		return -1;
	}
	*keys = k;
	return 0;
}

void secrets_keys_free(struct secrets_keys *keys)
{
	if (!keys)
		return;
	write_end(keys->master, &keys->ring);
	free(keys);
}

int secrets_seal_value(const struct secrets_keys *keys, const json_t *ad, const void *plain,
		       size_t plain_len, struct secrets_sealed *out, struct err *e)
{
	out->ciphertext = (struct buf)BUF_INIT;
	out->key_version = 0;
	const unsigned char *key = keyring_key(&keys->ring, keys->ring.current);
	char *text = value_ad(ad, keys->ring.current);
	if (!key || !text) {
		free(text);
		return err_set(e, key ? "associated data must be a JSON array"
				      : "no current data key to seal with");
	}
	seal(&out->ciphertext, out->nonce, key, plain, plain_len, text);
	free(text);
	out->key_version = keys->ring.current;
	return 0;
}

void secrets_sealed_free(struct secrets_sealed *sealed)
{
	buf_free(&sealed->ciphertext);
}

int secrets_open_value(struct api_context *ctx, const struct secrets_keys *keys, const json_t *ad,
		       const json_t *row, char **plain, size_t *plain_len, struct err *e)
{
	*plain = NULL;
	*plain_len = 0;
	int64_t version = json_integer_value(json_object_get(row, "key_version"));
	char *text = value_ad(ad, version);
	if (!text)
		return err_set(e, "associated data must be a JSON array");
	unsigned char *opened = NULL;
	size_t opened_len = 0;
	int rc = open_row(ctx, keys ? &keys->ring : NULL, row, text, &opened, &opened_len, e);
	free(text);
	if (rc == OPEN_KEY_GONE)
		return err_set(e,
			       "it is sealed under key version %" PRId64 ", which no longer exists",
			       version);
	if (rc == OPEN_TAMPERED)
		return err_set(e, "it cannot be decrypted: its ciphertext was changed or belongs "
				  "to another row");
	if (rc != 0)
		return -1;
	*plain = malloc(opened_len + 1);
	if (!*plain) {
		sodium_free(opened);
		return err_set(e, "out of memory");
	}
	memcpy(*plain, opened, opened_len + 1);
	*plain_len = opened_len;
	sodium_free(opened);
	return 0;
}
