/*
 * audit: the server's append-only, hash-chained audit log, and GET /api/v1/audit.
 *
 * Every auth, RBAC, secret and credential event is one row whose hash covers
 * the previous row's hash and the row itself, so a changed, reordered or
 * deleted row breaks the chain at a seq that audit_verify() names.
 *
 * The rule for callers: an entry's detail describes an event (names, ids,
 * scopes, versions), never a secret. Secret values, passwords, tokens, key
 * material and ciphertexts never go into actor, target or detail; the
 * member names that usually carry them ("value", "password", "token",
 * "secret", "ciphertext", "plaintext", "master_key", "private_key", "key")
 * are refused anywhere in detail, so such a mistake fails in tests instead
 * of leaking into a log that is kept forever.
 */
#ifndef AMPEL_API_AUDIT_H
#define AMPEL_API_AUDIT_H

#include <jansson.h>
#include <stdint.h>

struct api_context;
struct err;
struct http_router;
struct store;
struct store_tx;

/* prev_hash of the first entry: 64 zeros. */
#define AUDIT_GENESIS_HASH "0000000000000000000000000000000000000000000000000000000000000000"

/*
 * Appends one entry in its own transaction (concurrent appenders, in this
 * process or in other servers on the same PostgreSQL, are serialised, so
 * the chain never forks). actor: who acted (the caller's user name, NULL
 * for the system); action: "secret.create", "user.login"…; target: what it
 * acted on (may be NULL); detail: a JSON object or NULL (not stolen).
 * Must not be called from inside a store transaction: use audit_append_tx.
 */
int audit_append(struct store *store, const char *actor, const char *action, const char *target,
		 const json_t *detail, struct err *e);
/* The same inside the caller's transaction: the entry commits or rolls back with it. */
int audit_append_tx(struct store_tx *tx, const char *actor, const char *action, const char *target,
		    const json_t *detail, struct err *e);

/*
 * Recomputes the whole chain. 0: intact, *checked entries. -1 with
 * *first_bad_seq > 0: the first entry that was changed, is missing (a gap
 * in seq) or does not link to the one before, e says which and how;
 * *checked is the count of good entries before it. -1 with
 * *first_bad_seq == 0: the store failed. Deleting the newest entries
 * leaves a valid shorter chain: compare *checked with an earlier count (or
 * the last hash) kept elsewhere to see that.
 */
int audit_verify(struct store *store, int64_t *checked, int64_t *first_bad_seq, struct err *e);

/* GET /api/v1/audit (permission "audit:read"). */
int api_audit_register(struct http_router *router, struct api_context *ctx, struct err *e);

#endif
