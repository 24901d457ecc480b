/*
 * secrets: encrypted secrets, global or per project, and /api/v1/secrets.
 *
 * Values are sealed with XChaCha20-Poly1305 under a data key per key
 * version; data keys are stored wrapped under the master key
 * (AMPEL_MASTER_KEY, else <data_dir>/master.key). The HTTP API is
 * write-only for values: only secrets_reveal() hands a value back, to
 * pipelines and deployments inside the server. docs/api.md has the design.
 */
#ifndef AMPEL_API_SECRETS_H
#define AMPEL_API_SECRETS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

struct api_context;
struct err;
struct http_router;
struct store_tx;

/* Largest secret value accepted, in bytes. */
#define SECRETS_MAX_VALUE 65536

/*
 * Loads the master key (creating <data_dir>/master.key, mode 0600, when
 * neither it nor AMPEL_MASTER_KEY exists) and checks that it unwraps the
 * current data key: a wrong key fails here, at start, with what to do.
 */
int secrets_check_master_key(struct api_context *ctx, struct err *e);

/*
 * Creates or replaces a secret. project NULL: global. scope: "pipeline",
 * "agent", "deploy" or "all". actor: for the audit log. *created (may be
 * NULL) tells whether it is new. The value never appears in e.
 */
int secrets_put(struct api_context *ctx, const char *actor, const char *project, const char *name,
		const char *scope, const char *value, size_t value_len, int *created,
		struct err *e);
/* Creates a secret that does not exist yet: 1 (nothing written) when it does. */
int secrets_create(struct api_context *ctx, const char *actor, const char *project,
		   const char *name, const char *scope, const char *value, size_t value_len,
		   struct err *e);
/* Deletes a secret (audited): 0 with *found; -1 on a store failure. */
int secrets_delete(struct api_context *ctx, const char *actor, const char *project,
		   const char *name, bool *found, struct err *e);
/*
 * Secret names are environment-variable names (pipelines expose them as
 * such); a project is an id. 0, or -1 with what is wrong.
 */
int secrets_validate_names(const char *project, const char *name, struct err *e);
/* Whether scope is pipeline, agent, deploy (or all, when allow_all). */
bool secrets_scope_valid(const char *scope, bool allow_all);

/*
 * The value of a secret for a consumer of for_scope ("pipeline", "agent"
 * or "deploy"): the project's secret of that name, else the global one,
 * if its scope is for_scope or "all". *value is NUL-terminated; release it
 * with secrets_value_free (which wipes it). Each reveal is audited.
 */
int secrets_reveal(struct api_context *ctx, const char *project, const char *name,
		   const char *for_scope, char **value, struct err *e);
void secrets_value_free(char *value);

/* What one rotation did: the new key version and what it re-encrypted. */
struct secrets_rotation {
	int64_t key_version;
	int64_t secrets;
	int64_t credentials; /* deployment credentials (credentials_reseal_tx) */
};

/*
 * Creates a new key version and, in one transaction, re-encrypts every
 * secret and every deployment credential under it and deletes the older
 * versions (kept until then to decrypt). The new data key is random and
 * stored in secret_keys wrapped under the master key, which does not
 * change.
 */
int secrets_rotate_key(struct api_context *ctx, struct secrets_rotation *out, struct err *e);

/*
 * Sealing for other tables (deployment credentials): the same data keys,
 * the same AEAD, the same lock against rotation as secrets.
 */
#define SECRETS_NONCE_BYTES 24

/* The unwrapped data keys (locked memory), held for the length of a write transaction. */
struct secrets_keys;

/* A sealed value as a row stores it (ciphertext and nonce as BLOBs, key_version). */
struct secrets_sealed {
	struct buf ciphertext;
	unsigned char nonce[SECRETS_NONCE_BYTES];
	int64_t key_version;
};

/*
 * Begins a write transaction that holds the secrets lock, so a rotation
 * cannot fall between sealing and storing, and unwraps the data keys into
 * *keys. Commit or roll back *tx, then secrets_keys_free(*keys).
 */
int secrets_write_begin(struct api_context *ctx, struct store_tx **tx, struct secrets_keys **keys,
			struct err *e);
void secrets_keys_free(struct secrets_keys *keys);

/*
 * Seals plain under the newest data key with a fresh random nonce. ad is
 * the associated data as a JSON array naming the row ("ampel-credential/v1",
 * provider…); the key version is appended to it, so a ciphertext opens only
 * in the row (and key version) it was sealed for.
 */
int secrets_seal_value(const struct secrets_keys *keys, const json_t *ad, const void *plain,
		       size_t plain_len, struct secrets_sealed *out, struct err *e);
void secrets_sealed_free(struct secrets_sealed *sealed);

/*
 * Opens a value sealed by secrets_seal_value. row has ciphertext, nonce
 * (base64, as the store returns BLOBs) and key_version. With keys (inside
 * secrets_write_begin) the key comes from them; with keys NULL the row must
 * also carry the data key read in the same statement (wrapped_key and
 * key_nonce of secret_keys, NULL when that version is gone), unwrapped with
 * ctx's master key. *plain is NUL-terminated; free it with
 * secrets_value_free. Errors say why and never hold key material.
 */
int secrets_open_value(struct api_context *ctx, const struct secrets_keys *keys, const json_t *ad,
		       const json_t *row, char **plain, size_t *plain_len, struct err *e);

/* /api/v1/secrets (permissions "secret:read", "secret:write"); checks the master key. */
int api_secrets_register(struct http_router *router, struct api_context *ctx, struct err *e);

#endif
