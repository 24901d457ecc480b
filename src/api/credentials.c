/*
 * credentials: deployment credentials, checked against the provider
 * catalog that `ampel generate cd` writes workflows from, so what the
 * server accepts and what the generated workflows ask for are the same
 * fields. Secret fields are sealed by the secrets module (same keys, same
 * rotation); the rest stay in clear so listings need no decryption.
 * This file stores and resolves them; credentials_routes.c serves them,
 * and the catalog and the validation of fields are in credentials_schema.c.
 * docs/deployment-credentials.md has the design.
 */
#include "api/credentials.h"
#include "api/credentials_internal.h"

#include "api/api_internal.h"
#include "api/audit.h"
#include "api/secrets.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* The first member of every credential's associated data: changing the layout means v2. */
#define CREDENTIAL_AD_TAG "ampel-credential/v1"

static json_t *credential_ad(const char *provider, const char *repository_id)
{
	return json_pack("[s, s, s?]", CREDENTIAL_AD_TAG, provider, repository_id);
}

char *credentials_target(const char *provider, const char *repository_id)
{
	struct buf target = BUF_INIT;
	if (repository_id)
		buf_addf(&target, "repositories/%s/deployment-credentials/%s", repository_id,
			 provider);
	else
		buf_addf(&target, "deployment-credentials/%s", provider);
	return buf_detach(&target);
}

/*
 * Splits valid fields into the clear column (secret names map to null, so
 * listings know what to mask without decrypting) and the object to seal.
 */
void credentials_split_fields(const struct provider *p, const json_t *fields, json_t **clear,
			      json_t **sealed, json_t **names)
{
	*clear = json_object();
	*sealed = json_object();
	*names = json_array();
	for (size_t i = 0; i < p->field_count; i++) {
		const struct field_rule *rule = &p->fields[i];
		json_t *value = json_object_get(fields, rule->name);
		if (!json_is_string(value))
			continue;
		json_array_append_new(*names, json_string(rule->name));
		json_object_set_new(*clear, rule->name,
				    rule->secret ? json_null() : json_copy(value));
		if (rule->secret)
			json_object_set_new(*sealed, rule->name, json_copy(value));
	}
}

/* Seals the secret fields (as one JSON object) for the row of provider and repository_id. */
int credentials_seal_fields(const struct secrets_keys *keys, const char *provider,
			    const char *repository_id, const json_t *sealed,
			    struct secrets_sealed *out, struct err *e)
{
	char *plain = json_dumps(sealed, JSON_COMPACT | JSON_SORT_KEYS);
	json_t *ad = credential_ad(provider, repository_id);
	int rc = secrets_seal_value(keys, ad, plain, strlen(plain), out, e);
	json_decref(ad);
	secrets_value_free(plain);
	return rc;
}

/* A stored row as the API shows it: fields parsed, every secret one masked. */
json_t *credentials_present(const json_t *row)
{
	json_t *out = json_deep_copy(row);
	json_t *stored = json_loads(json_string_value(json_object_get(row, "fields")), 0, NULL);
	json_t *fields = json_object();
	const char *name;
	json_t *value;
	json_object_foreach(stored, name, value)
	{
		json_object_set_new(fields, name,
				    json_is_string(value) ? json_copy(value)
							  : json_string(CREDENTIALS_MASK));
	}
	json_decref(stored);
	json_object_set_new(out, "fields", fields);
	return out;
}

/* *row NULL when there is none (an id that cannot be one included). */
int credentials_read(struct store *store, const char *id, json_t **row, struct err *e)
{
	*row = NULL;
	if (!credentials_id_valid(id))
		return 0;
	struct store_param p = STORE_TEXT_PARAM(id);
	return store_query_one(store, CREDENTIAL_COLUMNS " WHERE id = ?", &p, 1, row, e);
}

static void wipe_plain(char *plain, size_t len)
{
	if (plain) {
		sodium_memzero(plain, len);
		free(plain);
	}
}

int credentials_reseal_tx(struct store_tx *tx, const struct secrets_keys *keys, int64_t *count,
			  struct err *e)
{
	*count = 0;
	json_t *rows = NULL;
	if (store_tx_query(
		    tx,
		    "SELECT id, provider, repository_id, ciphertext, nonce, key_version FROM "
		    "deployment_credentials ORDER BY id",
		    NULL, 0, &rows, e) != 0)
		return err_prefix(e, "cannot read the deployment credentials");
	int rc = 0;
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
	{
		const char *provider = json_string_value(json_object_get(row, "provider"));
		const char *repository_id =
			json_string_value(json_object_get(row, "repository_id"));
		json_t *ad = credential_ad(provider, repository_id);
		char *plain = NULL;
		size_t plain_len = 0;
		struct secrets_sealed sealed = { .ciphertext = BUF_INIT };
		rc = secrets_open_value(NULL, keys, ad, row, &plain, &plain_len, e);
		if (rc != 0)
			err_prefix(e,
				   "the deployment credential for %s of %s%s cannot be opened; "
				   "nothing was changed",
				   provider, repository_id ? "repository " : "the account",
				   repository_id ? repository_id : "");
		else
			rc = secrets_seal_value(keys, ad, plain, plain_len, &sealed, e);
		wipe_plain(plain, plain_len);
		json_decref(ad);
		if (rc == 0) {
			struct store_param params[] = {
				STORE_BLOB_PARAM(sealed.ciphertext.data, sealed.ciphertext.len),
				STORE_BLOB_PARAM(sealed.nonce, SECRETS_NONCE_BYTES),
				STORE_INT_PARAM(sealed.key_version),
				STORE_TEXT_PARAM(json_string_value(json_object_get(row, "id"))),
			};
			rc = store_tx_exec(tx,
					   "UPDATE deployment_credentials SET ciphertext = ?, "
					   "nonce = ?, key_version = ? WHERE id = ?",
					   params, 4, NULL, e);
		}
		secrets_sealed_free(&sealed);
		if (rc != 0)
			break;
		(*count)++;
	}
	json_decref(rows);
	if (rc != 0)
		*count = 0;
	return rc;
}

int credentials_resolve(struct api_context *ctx, const char *provider, const char *repository_id,
			json_t **fields, struct err *e)
{
	*fields = NULL;
	if (!credentials_id_valid(provider))
		return err_set(e, "provider must be a provider id such as flyio");
	if (repository_id && !credentials_id_valid(repository_id))
		return err_set(e, "repository_id must be 1 to 200 printable characters");
	/* The credential and its data key in one statement: a rotation cannot fall between. */
	struct store_param params[] = { STORE_TEXT_PARAM(provider),
					STORE_TEXT_PARAM(repository_id ? repository_id : "") };
	json_t *rows = NULL;
	if (store_query(
		    ctx->store,
		    "SELECT c.id, c.provider, c.repository_id, c.fields, c.ciphertext, c.nonce, "
		    "c.key_version, k.wrapped_key, k.nonce AS key_nonce FROM "
		    "deployment_credentials c LEFT JOIN secret_keys k ON k.version = "
		    "c.key_version WHERE c.provider = ? AND (COALESCE(c.repository_id, '') = ? "
		    "OR c.repository_id IS NULL) ORDER BY COALESCE(c.repository_id, '') DESC",
		    params, 2, &rows, e) != 0)
		return err_prefix(e, "cannot read the deployment credentials of %s", provider);
	json_t *row = json_array_get(rows, 0); /* the repository's before the account's */
	if (!row) {
		json_decref(rows);
		return 0;
	}
	const char *row_repository = json_string_value(json_object_get(row, "repository_id"));
	const char *id = json_string_value(json_object_get(row, "id"));
	json_t *ad = credential_ad(provider, row_repository);
	char *plain = NULL;
	size_t plain_len = 0;
	int rc = secrets_open_value(ctx, NULL, ad, row, &plain, &plain_len, e);
	json_decref(ad);
	/* json_is_object evaluates its argument twice: load first. */
	json_t *secret = rc == 0 ? json_loadb(plain, plain_len, 0, NULL) : NULL;
	if (rc == 0 && !json_is_object(secret))
		rc = err_set(e, "its sealed fields are not a JSON object");
	wipe_plain(plain, plain_len);
	json_t *result = NULL;
	if (rc == 0) {
		result = json_loads(json_string_value(json_object_get(row, "fields")), 0, NULL);
		if (!json_is_object(result))
			rc = err_set(e, "its clear fields are not a JSON object");
	}
	if (rc == 0) {
		const char *name;
		json_t *value;
		json_object_foreach(secret, name, value)
		{
			/* A copy: the sealed object's strings are wiped below. */
			json_object_set_new(result, name, json_copy(value));
		}
		/* A secret field with no sealed value (the row was edited by hand) is left out. */
		void *tmp;
		json_object_foreach_safe(result, tmp, name, value)
		{
			if (!json_is_string(value))
				json_object_del(result, name);
		}
		char *target = credentials_target(provider, row_repository);
		json_t *detail = json_pack("{s:s, s:s, s:s?, s:s?, s:s}", "id", id, "provider",
					   provider, "repository_id", repository_id,
					   "resolved_repository_id", row_repository, "scope",
					   row_repository ? "repository" : "account");
		struct err audit_error = ERR_INIT;
		/* An unaudited reveal must not happen. */
		if (audit_append(ctx->store, NULL, "credential.reveal", target, detail,
				 &audit_error) != 0)
			rc = err_set(e, "cannot audit the reveal: %s", audit_error.msg);
		json_decref(detail);
		free(target);
	}
	if (secret) {
		credentials_wipe_fields(secret);
		json_decref(secret);
	}
	if (rc != 0) {
		if (result) {
			credentials_wipe_fields(result);
			json_decref(result);
		}
		err_prefix(e, "the deployment credential for %s of %s%s cannot be used", provider,
			   row_repository ? "repository " : "the account",
			   row_repository ? row_repository : "");
	} else {
		*fields = result;
	}
	json_decref(rows); /* row_repository points into it */
	return rc;
}
