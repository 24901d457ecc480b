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

#include <stddef.h>
#include <stdint.h>

struct api_context;
struct err;
struct http_router;

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

/*
 * The value of a secret for a consumer of for_scope ("pipeline", "agent"
 * or "deploy"): the project's secret of that name, else the global one,
 * if its scope is for_scope or "all". *value is NUL-terminated; release it
 * with secrets_value_free (which wipes it). Each reveal is audited.
 */
int secrets_reveal(struct api_context *ctx, const char *project, const char *name,
		   const char *for_scope, char **value, struct err *e);
void secrets_value_free(char *value);

/*
 * Creates a new key version and, in one transaction, re-encrypts every
 * secret under it and deletes the older versions (kept until then to
 * decrypt). The new data key is random and stored in secret_keys wrapped
 * under the master key, which does not change.
 */
int secrets_rotate_key(struct api_context *ctx, int64_t *reencrypted, struct err *e);

/* /api/v1/secrets (permissions "secret:read", "secret:write"); checks the master key. */
int api_secrets_register(struct http_router *router, struct api_context *ctx, struct err *e);

#endif
