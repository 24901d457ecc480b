/*
 * credentials_routes: the HTTP routes of deployment credentials
 * (/api/v1/deployment-providers, /api/v1/deployment-credentials): who may
 * read, write, validate and resolve them, each write audited in its own
 * transaction. Storage and sealing are in credentials.c.
 */
#include "api/credentials.h"
#include "api/credentials_internal.h"

#include "api/api_internal.h"
#include "api/audit.h"
#include "api/rbac.h"
#include "api/secrets.h"
#include "http/response.h"
#include "http/router.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

/* --- /api/v1/deployment-providers --- */

static struct http_response handle_providers(struct http_request *req)
{
	struct credentials_module *m = req->user_data;
	return http_response_json(200, json_pack("{s:O}", "items", m->catalog));
}

static struct http_response handle_provider(struct http_request *req)
{
	struct credentials_module *m = req->user_data;
	const char *id = http_request_param(req, "id");
	const struct provider *p = credentials_provider_find(m, id);
	if (!p)
		return credentials_unknown_provider(m, 404, id);
	return http_response_json(200, json_deep_copy(p->spec));
}

/* --- /api/v1/deployment-credentials --- */

static struct http_response not_found(const char *id)
{
	if (!credentials_id_valid(id))
		return http_response_error(404, "no such deployment credential");
	return http_response_error(404, "no deployment credential with id '%.*s'",
				   credentials_clip(id, 64), id);
}

/*
 * The route's permission was checked by the guard in ?project= (or
 * globally); this checks it where the credential lives: in its repository,
 * or globally for an account default.
 */
static bool caller_may(struct http_request *req, struct credentials_module *m,
		       const char *permission, const char *repository_id,
		       struct http_response *denied)
{
	if (rbac_caller_can(req, m->ctx, permission, repository_id))
		return true;
	api_audit(m->ctx, api_actor(req), "access.denied", req->route,
		  json_pack("{s:s, s:s, s:s?}", "method", req->method, "permission", permission,
			    "project", repository_id));
	*denied = repository_id
			  ? http_response_error(403, "you lack the permission %s in project %s",
						permission, repository_id)
			  : http_response_error(403,
						"you lack the permission %s for account-wide "
						"deployment credentials (it must be granted "
						"globally)",
						permission);
	return false;
}

/* ?repository_id=, else ?project= (what the guard checked); empty means absent. */
static int query_repository(const struct http_request *req, const char **out,
			    struct http_response *error)
{
	const char *repository_id = http_request_query(req, "repository_id");
	const char *project = http_request_query(req, "project");
	if (repository_id && !*repository_id)
		repository_id = NULL;
	if (project && !*project)
		project = NULL;
	if (repository_id && project && strcmp(repository_id, project) != 0) {
		*error = http_response_error_detail(
			400, NULL, json_pack("{s:s}", "field", "repository_id"),
			"repository_id and project name different repositories: give one");
		return -1;
	}
	*out = repository_id ? repository_id : project;
	if (*out && !credentials_id_valid(*out)) {
		*error = http_response_error_detail(400, NULL,
						    json_pack("{s:s}", "field", "repository_id"),
						    "repository_id must be 1 to 200 printable "
						    "characters");
		return -1;
	}
	return 0;
}

/* 0 when it exists; else -1 with a 422 naming repository_id (or a 500). */
static int repository_exists(struct http_request *req, struct credentials_module *m,
			     const char *repository_id, int status, struct http_response *error)
{
	struct store_param p = STORE_TEXT_PARAM(repository_id);
	json_t *row = NULL;
	struct err e = ERR_INIT;
	if (store_query_one(m->ctx->store, "SELECT id FROM repositories WHERE id = ?", &p, 1, &row,
			    &e) != 0) {
		*error = api_store_error(req, &e, "repository");
		return -1;
	}
	if (!row) {
		*error = http_response_error_detail(
			status, NULL, json_pack("{s:s}", "field", "repository_id"),
			"repository_id: no repository with id '%s'", repository_id);
		return -1;
	}
	json_decref(row);
	return 0;
}

/* The credential id; false with a store error or a 404 in *res when there is none. */
static bool load_credential(struct http_request *req, struct credentials_module *m, const char *id,
			    json_t **row, struct http_response *res)
{
	struct err e = ERR_INIT;
	if (credentials_read(m->ctx->store, id, row, &e) != 0) {
		*res = api_store_error(req, &e, "deployment credential");
		return false;
	}
	if (!*row) {
		*res = not_found(id);
		return false;
	}
	return true;
}

/*
 * The credential of the route's {id}, when the caller has permission where
 * it lives; false with the error in *res (and *row NULL) otherwise.
 */
static bool load_for_caller(struct http_request *req, struct credentials_module *m,
			    const char *permission, json_t **row, struct http_response *res)
{
	if (!load_credential(req, m, http_request_param(req, "id"), row, res))
		return false;
	if (caller_may(req, m, permission,
		       json_string_value(json_object_get(*row, "repository_id")), res))
		return true;
	json_decref(*row);
	*row = NULL;
	return false;
}

static struct http_response credential_response(struct http_request *req,
						struct credentials_module *m, int status,
						const char *id)
{
	json_t *row;
	struct http_response res;
	if (!load_credential(req, m, id, &row, &res))
		return res;
	json_t *out = credentials_present(row);
	json_decref(row);
	return http_response_json(status, out);
}

static struct http_response handle_list(struct http_request *req)
{
	struct credentials_module *m = req->user_data;
	struct http_response res;
	const char *repository_id;
	if (query_repository(req, &repository_id, &res) != 0)
		return res;
	const char *provider = http_request_query(req, "provider");
	if (provider && *provider && !credentials_provider_find(m, provider))
		return credentials_unknown_provider(m, 400, provider);
	const char *scope = http_request_query(req, "scope");
	if (scope && *scope && strcmp(scope, "account") != 0 && strcmp(scope, "repository") != 0)
		return http_response_error_detail(400, NULL, json_pack("{s:s}", "field", "scope"),
						  "scope must be account or repository");
	if (!caller_may(req, m, "deploy:read", repository_id, &res))
		return res;
	struct store_param params[2];
	size_t count = 0;
	struct buf sql = BUF_INIT;
	buf_adds(&sql, CREDENTIAL_COLUMNS " WHERE 1 = 1");
	if (provider && *provider) {
		buf_adds(&sql, " AND provider = ?");
		params[count++] = STORE_TEXT_PARAM(provider);
	}
	if (repository_id) {
		buf_adds(&sql, " AND repository_id = ?");
		params[count++] = STORE_TEXT_PARAM(repository_id);
	}
	if (scope && strcmp(scope, "account") == 0)
		buf_adds(&sql, " AND repository_id IS NULL");
	else if (scope && strcmp(scope, "repository") == 0)
		buf_adds(&sql, " AND repository_id IS NOT NULL");
	json_t *rows;
	char *next;
	if (api_list_rows(req, m->ctx->store, buf_cstr(&sql), params, count, &rows, &next, &res) !=
	    0) {
		buf_free(&sql);
		return res;
	}
	buf_free(&sql);
	json_t *items = json_array();
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row) json_array_append_new(items, credentials_present(row));
	json_decref(rows);
	res = http_response_json(200, http_page_envelope(items, next));
	free(next);
	return res;
}

static struct http_response handle_get(struct http_request *req)
{
	json_t *row;
	struct http_response res;
	if (!load_for_caller(req, req->user_data, "deploy:read", &row, &res))
		return res;
	res = http_response_json(200, credentials_present(row));
	json_decref(row);
	return res;
}

/*
 * Validates fields for provider_value (a JSON value): true with *p, or
 * false with a 422 listing every problem in *res.
 */
static bool fields_valid(const struct credentials_module *m, const json_t *provider_value,
			 const json_t *fields, const struct provider **p, struct http_response *res)
{
	json_t *problems = credentials_validate(m, provider_value, fields, p);
	if (json_array_size(problems)) {
		*res = credentials_problems_response(problems);
		return false;
	}
	json_decref(problems);
	return true;
}

/* Frees a request's body once its fields, which may be secrets, are wiped. */
static void body_free(json_t *body)
{
	credentials_wipe_fields(json_object_get(body, "fields"));
	json_decref(body);
}

static struct http_response handle_validate(struct http_request *req)
{
	struct credentials_module *m = req->user_data;
	json_t *body = NULL;
	struct http_response res;
	if (http_request_json(req, &body, &res) != 0)
		return res;
	const struct provider *p;
	if (fields_valid(m, json_object_get(body, "provider"), json_object_get(body, "fields"), &p,
			 &res))
		res = http_response_json(200,
					 json_pack("{s:b, s:s}", "valid", 1, "provider", p->id));
	body_free(body);
	return res;
}

/*
 * A write of a credential's fields: the clear column, the field names for
 * the audit and the secret fields sealed, inside a transaction that holds
 * the secrets lock (so a rotation cannot fall between sealing and storing).
 */
struct credential_write {
	struct store_tx *tx; /* NULL when it could not begin */
	struct secrets_keys *keys;
	struct secrets_sealed sealed;
	json_t *clear, *names;
	char *clear_text;
	struct err e;
};

/* Begins w (to be ended by write_end whatever this returns): 0, or -1 with w->e set. */
static int write_begin(struct credential_write *w, struct credentials_module *m,
		       const struct provider *p, const char *repository_id, const json_t *fields)
{
	*w = (struct credential_write){ .sealed = { .ciphertext = BUF_INIT }, .e = ERR_INIT };
	json_t *sealed_fields;
	credentials_split_fields(p, fields, &w->clear, &sealed_fields, &w->names);
	int rc = secrets_write_begin(m->ctx, &w->tx, &w->keys, &w->e);
	if (rc == 0)
		rc = credentials_seal_fields(w->keys, p->id, repository_id, sealed_fields,
					     &w->sealed, &w->e);
	credentials_wipe_fields(sealed_fields);
	json_decref(sealed_fields);
	w->clear_text = json_dumps(w->clear, JSON_COMPACT | JSON_SORT_KEYS);
	return rc;
}

/*
 * Ends a transaction (tx may be NULL): when rc is 0 and the change was
 * applied, audits action on the credential of provider and repository_id
 * (taking detail) and commits; otherwise rolls back. Returns rc, or the
 * audit's or the commit's failure.
 */
static int audit_commit(struct store_tx *tx, struct http_request *req, int rc, bool applied,
			const char *action, const char *provider, const char *repository_id,
			json_t *detail, struct err *e)
{
	if (rc == 0 && applied) {
		char *target = credentials_target(provider, repository_id);
		rc = audit_append_tx(tx, api_actor(req), action, target, detail, e);
		free(target);
	}
	json_decref(detail);
	if (tx) {
		if (rc == 0 && applied)
			rc = store_tx_commit(tx, e);
		else
			store_tx_rollback(tx);
	}
	return rc;
}

/* Ends w as audit_commit does, with the field names and key version in the detail; frees w. */
static int write_end(struct credential_write *w, struct http_request *req, int rc, bool applied,
		     const char *action, const char *id, const char *provider,
		     const char *repository_id, int64_t version)
{
	json_t *detail =
		json_pack("{s:s, s:s, s:s?, s:O, s:I, s:I}", "id", id, "provider", provider,
			  "repository_id", repository_id, "fields", w->names, "version",
			  (json_int_t)version, "key_version", (json_int_t)w->sealed.key_version);
	rc = audit_commit(w->tx, req, rc, applied, action, provider, repository_id, detail, &w->e);
	secrets_keys_free(w->keys);
	secrets_sealed_free(&w->sealed);
	free(w->clear_text);
	json_decref(w->clear);
	json_decref(w->names);
	return rc;
}

/* Inserts (409 when provider + repository has one) and audits, in one transaction. */
static struct http_response insert_credential(struct http_request *req,
					      struct credentials_module *m,
					      const struct provider *p, const char *repository_id,
					      const json_t *fields)
{
	struct credential_write w;
	int rc = write_begin(&w, m, p, repository_id, fields);
	char id[STORE_ID_SIZE];
	store_new_id(id);
	int64_t changed = 0;
	const struct api_caller *caller = api_caller(req);
	int64_t now = store_now_ms();
	if (rc == 0) {
		struct store_param params[] = {
			STORE_TEXT_PARAM(id),
			STORE_TEXT_PARAM(p->id),
			repository_id ? STORE_TEXT_PARAM(repository_id) : STORE_NULL_PARAM,
			STORE_TEXT_PARAM(w.clear_text),
			STORE_BLOB_PARAM(w.sealed.ciphertext.data, w.sealed.ciphertext.len),
			STORE_BLOB_PARAM(w.sealed.nonce, SECRETS_NONCE_BYTES),
			STORE_INT_PARAM(w.sealed.key_version),
			caller ? STORE_TEXT_PARAM(caller->user_id) : STORE_NULL_PARAM,
			STORE_INT_PARAM(now),
			STORE_INT_PARAM(now),
		};
		rc = store_tx_exec(
			w.tx,
			"INSERT INTO deployment_credentials (id, provider, "
			"repository_id, fields, ciphertext, nonce, key_version, version, "
			"created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, "
			"1, ?, ?, ?) ON CONFLICT DO NOTHING",
			params, 10, &changed, &w.e);
	}
	rc = write_end(&w, req, rc, changed > 0, "credential.create", id, p->id, repository_id, 1);
	if (rc != 0) {
		log_error("credentials", "cannot store a deployment credential", "provider", p->id,
			  "error", w.e.msg);
		return store_error_is_conflict(&w.e) ? api_store_error(req, &w.e, "credential")
						     : http_response_error(500, "%s", w.e.msg);
	}
	if (changed == 0)
		return http_response_error(
			409,
			"a deployment credential for %s already exists for %s%s: PUT "
			"/api/v1/deployment-credentials/{id} replaces its fields",
			p->id, repository_id ? "repository " : "the account",
			repository_id ? repository_id : "");
	return credential_response(req, m, 201, id);
}

/* provider and repository_id of a create body: 0, or -1 with a 422 naming the field. */
static int read_scope(const json_t *body, const char **repository_id, struct http_response *error)
{
	const json_t *repository = json_object_get(body, "repository_id");
	*repository_id = NULL;
	if (repository && !json_is_null(repository)) {
		*repository_id = json_string_value(repository);
		if (!credentials_id_valid(*repository_id)) {
			*error = http_response_error_detail(
				422, NULL, json_pack("{s:s}", "field", "repository_id"),
				"repository_id must be a repository id (1 to 200 printable "
				"characters), or null for the account default");
			return -1;
		}
	}
	return 0;
}

static struct http_response handle_create(struct http_request *req)
{
	struct credentials_module *m = req->user_data;
	json_t *body = NULL;
	struct http_response res;
	if (http_request_json(req, &body, &res) != 0)
		return res;
	const char *repository_id;
	const struct provider *p;
	if (read_scope(body, &repository_id, &res) == 0 &&
	    caller_may(req, m, "deploy:write", repository_id, &res) &&
	    (!repository_id || repository_exists(req, m, repository_id, 422, &res) == 0) &&
	    fields_valid(m, json_object_get(body, "provider"), json_object_get(body, "fields"), &p,
			 &res))
		res = insert_credential(req, m, p, repository_id, json_object_get(body, "fields"));
	body_free(body);
	return res;
}

/* Replaces every field of a row (version + 1) and audits, in one transaction. */
static struct http_response update_credential(struct http_request *req,
					      struct credentials_module *m,
					      const struct provider *p, const json_t *row,
					      const json_t *fields)
{
	const char *id = json_string_value(json_object_get(row, "id"));
	const char *repository_id = json_string_value(json_object_get(row, "repository_id"));
	struct credential_write w;
	int rc = write_begin(&w, m, p, repository_id, fields);
	json_t *current = NULL;
	/* The version inside the transaction: a concurrent update counts too. */
	struct store_param key = STORE_TEXT_PARAM(id);
	if (rc == 0)
		rc = store_tx_query_one(w.tx,
					"SELECT version FROM deployment_credentials WHERE id = ?",
					&key, 1, &current, &w.e);
	int64_t version = json_integer_value(json_object_get(current, "version")) + 1;
	if (rc == 0 && current) {
		struct store_param params[] = {
			STORE_TEXT_PARAM(w.clear_text),
			STORE_BLOB_PARAM(w.sealed.ciphertext.data, w.sealed.ciphertext.len),
			STORE_BLOB_PARAM(w.sealed.nonce, SECRETS_NONCE_BYTES),
			STORE_INT_PARAM(w.sealed.key_version),
			STORE_INT_PARAM(version),
			STORE_INT_PARAM(store_now_ms()),
			STORE_TEXT_PARAM(id),
		};
		rc = store_tx_exec(w.tx,
				   "UPDATE deployment_credentials SET fields = ?, ciphertext = ?, "
				   "nonce = ?, key_version = ?, version = ?, updated_at = ? WHERE "
				   "id = ?",
				   params, 7, NULL, &w.e);
	}
	bool found = current != NULL;
	json_decref(current);
	rc = write_end(&w, req, rc, found, "credential.update", id, p->id, repository_id, version);
	if (rc != 0) {
		log_error("credentials", "cannot update a deployment credential", "id", id, "error",
			  w.e.msg);
		return http_response_error(500, "%s", w.e.msg);
	}
	if (!found)
		return not_found(id);
	return credential_response(req, m, 200, id);
}

static struct http_response handle_put(struct http_request *req)
{
	struct credentials_module *m = req->user_data;
	json_t *body = NULL;
	struct http_response res;
	if (http_request_json(req, &body, &res) != 0)
		return res;
	json_t *fields = json_object_get(body, "fields");
	json_t *row = NULL;
	const struct provider *p;
	if (!load_for_caller(req, m, "deploy:write", &row, &res))
		goto out;
	/* provider and repository_id name the credential: a PUT cannot move it. */
	static const char *const fixed[] = { "provider", "repository_id" };
	for (size_t i = 0; i < sizeof(fixed) / sizeof(*fixed); i++) {
		const json_t *given = json_object_get(body, fixed[i]);
		if (given && !json_equal(given, json_object_get(row, fixed[i]))) {
			res = http_response_error_detail(
				422, NULL, json_pack("{s:s}", "field", fixed[i]),
				"%s cannot change: delete this credential and create another",
				fixed[i]);
			goto out;
		}
	}
	if (fields_valid(m, json_object_get(row, "provider"), fields, &p, &res))
		res = update_credential(req, m, p, row, fields);
out:
	json_decref(row);
	body_free(body);
	return res;
}

static struct http_response handle_delete(struct http_request *req)
{
	struct credentials_module *m = req->user_data;
	json_t *row;
	struct http_response res;
	if (!load_for_caller(req, m, "deploy:write", &row, &res))
		return res;
	const char *id = json_string_value(json_object_get(row, "id"));
	const char *provider = json_string_value(json_object_get(row, "provider"));
	const char *repository_id = json_string_value(json_object_get(row, "repository_id"));
	struct store_tx *tx;
	int64_t changed = 0;
	struct err e = ERR_INIT;
	int rc = store_tx_begin(m->ctx->store, &tx, &e);
	if (rc == 0) {
		struct store_param key = STORE_TEXT_PARAM(id);
		rc = store_tx_exec(tx, "DELETE FROM deployment_credentials WHERE id = ?", &key, 1,
				   &changed, &e);
		json_t *detail = json_pack("{s:s, s:s, s:s?}", "id", id, "provider", provider,
					   "repository_id", repository_id);
		rc = audit_commit(tx, req, rc, changed > 0, "credential.delete", provider,
				  repository_id, detail, &e);
	}
	if (rc != 0)
		res = api_store_error(req, &e, "deployment credential");
	else if (changed == 0)
		res = not_found(id);
	else
		res = http_response_empty(204);
	json_decref(row);
	return res;
}

static struct http_response handle_resolve(struct http_request *req)
{
	struct credentials_module *m = req->user_data;
	struct http_response res;
	const char *repository_id;
	if (query_repository(req, &repository_id, &res) != 0)
		return res;
	const char *provider = http_request_query(req, "provider");
	if (!credentials_provider_find(m, provider))
		return credentials_unknown_provider(m, 400, provider);
	if (!caller_may(req, m, "deploy:read", repository_id, &res))
		return res;
	if (repository_id && repository_exists(req, m, repository_id, 404, &res) != 0)
		return res;
	struct store_param params[] = { STORE_TEXT_PARAM(provider),
					STORE_TEXT_PARAM(repository_id ? repository_id : "") };
	json_t *row = NULL;
	struct err e = ERR_INIT;
	if (store_query_one(m->ctx->store,
			    CREDENTIAL_COLUMNS " WHERE provider = ? AND (COALESCE(repository_id, "
					       "'') = ? OR repository_id IS NULL) ORDER BY "
					       "COALESCE(repository_id, '') DESC LIMIT 1",
			    params, 2, &row, &e) != 0)
		return api_store_error(req, &e, "deployment credential");
	if (!row)
		return http_response_error(
			404,
			"no deployment credential for %s%s%s and no account "
			"default: POST /api/v1/deployment-credentials creates one",
			provider, repository_id ? " in repository " : "",
			repository_id ? repository_id : "");
	json_t *out = credentials_present(row);
	json_decref(row);
	json_object_set_new(out, "scope",
			    json_string(json_is_string(json_object_get(out, "repository_id"))
						? "repository"
						: "account"));
	return http_response_json(200, out);
}

/* The body schemas the routes below name (OpenAPI 3.0 schema objects; docs/http.md). */
static const char deployment_credential_list_schema[] =
	"{\"type\":\"object\","
	"\"required\":[\"id\",\"provider\",\"repository_id\",\"fields\","
	"\"version\",\"key_version\",\"created_by\",\"created_at\","
	"\"updated_at\"],\"properties\":{"
	"\"id\":{\"type\":\"string\"},"
	"\"provider\":{\"type\":\"string\"},"
	"\"repository_id\":{\"type\":\"string\",\"nullable\":true},"
	"\"fields\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"},"
	"\"description\":\"secret fields masked\"},"
	"\"version\":{\"type\":\"integer\"},"
	"\"key_version\":{\"type\":\"integer\"},"
	"\"created_by\":{\"type\":\"string\",\"nullable\":true},"
	"\"created_at\":{\"type\":\"integer\",\"format\":\"int64\"},"
	"\"updated_at\":{\"type\":\"integer\",\"format\":\"int64\"}}}";

static const struct http_schema_spec credentials_schemas[] = {
	{ "DeploymentProviderList",
	  "{\"type\":\"object\","
	  "\"required\":[\"items\"],\"properties\":{"
	  "\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":[\"id\","
	  "\"name\",\"docs\",\"regions\",\"default_region\",\"credentials\"],\"properties\":{"
	  "\"id\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},\"docs\":{\"type\":"
	  "\"string\"},\"regions\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},\"default_"
	  "region\":{\"type\":\"string\"},\"credentials\":{\"type\":\"array\",\"items\":{\"type\":"
	  "\"object\",\"required\":[\"name\",\"label\",\"type\",\"required\",\"secret\"],"
	  "\"properties\":{\"name\":{\"type\":\"string\"},\"label\":{\"type\":\"string\"},\"type\":"
	  "{\"type\":\"string\",\"enum\":[\"api_token\",\"secret\",\"text\",\"select\",\"region\"]}"
	  ",\"required\":{\"type\":\"boolean\"},\"secret\":{\"type\":\"boolean\"},\"pattern\":{"
	  "\"type\":\"string\"},\"options\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}}"
	  "}}}}}" },
	{ "DeploymentProvider",
	  "{\"type\":\"object\","
	  "\"required\":[\"id\",\"name\",\"docs\",\"regions\",\"default_region\","
	  "\"credentials\"],\"properties\":{"
	  "\"id\":{\"type\":\"string\"},"
	  "\"name\":{\"type\":\"string\"},"
	  "\"docs\":{\"type\":\"string\"},"
	  "\"regions\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
	  "\"default_region\":{\"type\":\"string\"},"
	  "\"credentials\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":["
	  "\"name\",\"label\",\"type\",\"required\",\"secret\"],\"properties\":{\"name\":{\"type\":"
	  "\"string\"},\"label\":{\"type\":\"string\"},\"type\":{\"type\":\"string\",\"enum\":["
	  "\"api_token\",\"secret\",\"text\",\"select\",\"region\"]},\"required\":{\"type\":"
	  "\"boolean\"},\"secret\":{\"type\":\"boolean\"},\"pattern\":{\"type\":\"string\"},"
	  "\"options\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}}}}" },
	{ "DeploymentCredentialList", deployment_credential_list_schema },
	{ "DeploymentCredential", deployment_credential_list_schema },
	{ "DeploymentCredentialCreate",
	  "{\"type\":\"object\","
	  "\"required\":[\"provider\",\"fields\"],\"properties\":{"
	  "\"provider\":{\"type\":\"string\"},"
	  "\"repository_id\":{\"type\":\"string\",\"nullable\":true},"
	  "\"fields\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}}}}" },
	{ "DeploymentCredentialValidate",
	  "{\"type\":\"object\","
	  "\"required\":[\"provider\",\"fields\"],\"properties\":{"
	  "\"provider\":{\"type\":\"string\"},"
	  "\"fields\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}}}}" },
	{ "DeploymentCredentialValidation", "{\"type\":\"object\","
					    "\"required\":[\"valid\",\"provider\"],\"properties\":{"
					    "\"valid\":{\"type\":\"boolean\"},"
					    "\"provider\":{\"type\":\"string\"}}}" },
	{ "DeploymentCredentialPut",
	  "{\"type\":\"object\",\"description\":\"provider and repository_id, if given, must be "
	  "the credential's\","
	  "\"required\":[\"fields\"],\"properties\":{"
	  "\"fields\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}},"
	  "\"provider\":{\"type\":\"string\"},"
	  "\"repository_id\":{\"type\":\"string\",\"nullable\":true}}}" },
	{ "DeploymentCredentialResolution",
	  "{\"type\":\"object\","
	  "\"required\":[\"id\",\"provider\",\"repository_id\",\"fields\","
	  "\"version\",\"key_version\",\"created_by\",\"created_at\","
	  "\"updated_at\",\"scope\"],\"properties\":{"
	  "\"id\":{\"type\":\"string\"},"
	  "\"provider\":{\"type\":\"string\"},"
	  "\"repository_id\":{\"type\":\"string\",\"nullable\":true},"
	  "\"fields\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"},"
	  "\"description\":\"secret fields masked\"},"
	  "\"version\":{\"type\":\"integer\"},"
	  "\"key_version\":{\"type\":\"integer\"},"
	  "\"created_by\":{\"type\":\"string\",\"nullable\":true},"
	  "\"created_at\":{\"type\":\"integer\",\"format\":\"int64\"},"
	  "\"updated_at\":{\"type\":\"integer\",\"format\":\"int64\"},"
	  "\"scope\":{\"type\":\"string\",\"enum\":[\"repository\",\"account\"]}}}" },
};

int api_credentials_register(struct http_router *router, struct api_context *ctx, struct err *e)
{
	struct credentials_module *m = xcalloc(1, sizeof(*m));
	m->ctx = ctx;
	if (credentials_module_load(m, e) != 0) {
		credentials_module_free(m);
		return -1;
	}
	http_router_keep(router, m, credentials_module_free);
	const struct http_route_spec routes[] = {
		{ "GET /api/v1/deployment-providers",
		  handle_providers,
		  { .summary = "Deployment providers: credential schemas and regions",
		    .tags = "deployments",
		    .response_schema = "DeploymentProviderList",
		    .permission = "deploy:read" } },
		{ "GET /api/v1/deployment-providers/{id}",
		  handle_provider,
		  { .summary = "One deployment provider: its credential schema and regions",
		    .tags = "deployments",
		    .response_schema = "DeploymentProvider",
		    .permission = "deploy:read" } },
		{ "GET /api/v1/deployment-credentials",
		  handle_list,
		  { .summary = "List deployment credentials (secret fields masked)",
		    .tags = "deployments",
		    .response_schema = "DeploymentCredentialList",
		    .permission = "deploy:read",
		    .query = "provider,repository_id,scope,project",
		    .paginated = true } },
		{ "POST /api/v1/deployment-credentials",
		  handle_create,
		  { .summary = "Create an account default or a repository's deployment credential",
		    .tags = "deployments",
		    .request_schema = "DeploymentCredentialCreate",
		    .response_schema = "DeploymentCredential",
		    .permission = "deploy:write",
		    .query = "project",
		    .success_status = 201 } },
		{ "POST /api/v1/deployment-credentials/validate",
		  handle_validate,
		  { .summary = "Check fields against a provider's credential schema, storing "
			       "nothing",
		    .tags = "deployments",
		    .request_schema = "DeploymentCredentialValidate",
		    .response_schema = "DeploymentCredentialValidation",
		    .permission = "deploy:write",
		    .query = "project" } },
		{ "GET /api/v1/deployment-credentials/resolve",
		  handle_resolve,
		  { .summary = "Which credential a repository's deployments use (masked)",
		    .tags = "deployments",
		    .response_schema = "DeploymentCredentialResolution",
		    .permission = "deploy:read",
		    .query = "provider,repository_id,project" } },
		{ "GET /api/v1/deployment-credentials/{id}",
		  handle_get,
		  { .summary = "A deployment credential (secret fields masked)",
		    .tags = "deployments",
		    .response_schema = "DeploymentCredential",
		    .permission = "deploy:read",
		    .query = "project" } },
		{ "PUT /api/v1/deployment-credentials/{id}",
		  handle_put,
		  { .summary = "Replace a deployment credential's fields",
		    .tags = "deployments",
		    .request_schema = "DeploymentCredentialPut",
		    .response_schema = "DeploymentCredential",
		    .permission = "deploy:write",
		    .query = "project" } },
		{ "DELETE /api/v1/deployment-credentials/{id}",
		  handle_delete,
		  { .summary = "Delete a deployment credential",
		    .tags = "deployments",
		    .permission = "deploy:write",
		    .query = "project",
		    .success_status = 204 } },
	};
	if (http_router_add_schemas(router, credentials_schemas,
				    sizeof(credentials_schemas) / sizeof(*credentials_schemas),
				    e) != 0)
		return -1;
	return http_router_add_all(router, routes, sizeof(routes) / sizeof(*routes), m, e);
}
