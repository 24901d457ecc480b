/*
 * credentials: deployment credentials, checked against the provider
 * catalog that `ampel generate cd` writes workflows from, so what the
 * server accepts and what the generated workflows ask for are the same
 * fields. Secret fields are sealed by the secrets module (same keys, same
 * rotation); the rest stay in clear so listings need no decryption.
 * docs/deployment-credentials.md has the design.
 */
#include "api/credentials.h"

#include "api/api.h"
#include "api/api_internal.h"
#include "api/audit.h"
#include "api/rbac.h"
#include "api/secrets.h"
#include "gen/cd.h"
#include "http/response.h"
#include "http/router.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The first member of every credential's associated data: changing the layout means v2. */
#define CREDENTIAL_AD_TAG "ampel-credential/v1"
/* Values come from API callers: bound the backtracking a pattern may do on them. */
#define CREDENTIAL_MATCH_LIMIT 100000

#define CREDENTIAL_COLUMNS                                                               \
	"SELECT id, provider, repository_id, fields, version, key_version, created_by, " \
	"created_at, updated_at FROM deployment_credentials"

/* One field of a provider's schema, with its pattern compiled once. */
struct field_rule {
	const json_t *spec; /* {name, label, type, required, secret, pattern?, options?} */
	const char *name;
	const char *type;
	bool required;
	bool secret;
	pcre2_code *re;
};

struct provider {
	const json_t *spec;
	const char *id;
	struct field_rule *fields;
	size_t field_count;
};

/* The routes' user_data: the catalog loaded at registration. */
struct credentials_module {
	struct api_context *ctx;
	json_t *catalog;
	struct provider *providers;
	size_t provider_count;
	pcre2_match_context *match_context;
};

static void module_free(void *ptr)
{
	struct credentials_module *m = ptr;
	if (!m)
		return;
	for (size_t i = 0; i < m->provider_count; i++) {
		for (size_t f = 0; f < m->providers[i].field_count; f++)
			pcre2_code_free(m->providers[i].fields[f].re);
		free(m->providers[i].fields);
	}
	free(m->providers);
	pcre2_match_context_free(m->match_context);
	json_decref(m->catalog);
	free(m);
}

/*
 * UTF mode because values are JSON strings; DOLLAR_ENDONLY because a
 * pattern's $ must not accept a value that ends in a newline.
 */
static int compile_pattern(const char *provider, const char *field, const char *pattern,
			   pcre2_code **out, struct err *e)
{
	int code;
	PCRE2_SIZE offset;
	*out = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
			     PCRE2_UTF | PCRE2_DOLLAR_ENDONLY, &code, &offset, NULL);
	if (*out)
		return 0;
	PCRE2_UCHAR message[256];
	pcre2_get_error_message(code, message, sizeof(message));
	return err_set(e, "deployment provider '%s' credential '%s': pattern at offset %zu: %s",
		       provider, field, (size_t)offset, (const char *)message);
}

static int module_load(struct credentials_module *m, struct err *e)
{
	if (cd_providers_describe(&m->catalog, e) != 0)
		return err_prefix(e, "cannot load the deployment providers");
	m->match_context = pcre2_match_context_create(NULL);
	pcre2_set_match_limit(m->match_context, CREDENTIAL_MATCH_LIMIT);
	m->provider_count = json_array_size(m->catalog);
	m->providers = xcalloc(m->provider_count ? m->provider_count : 1, sizeof(*m->providers));
	for (size_t i = 0; i < m->provider_count; i++) {
		struct provider *p = &m->providers[i];
		p->spec = json_array_get(m->catalog, i);
		p->id = json_string_value(json_object_get(p->spec, "id"));
		const json_t *fields = json_object_get(p->spec, "credentials");
		p->field_count = json_array_size(fields);
		p->fields = xcalloc(p->field_count ? p->field_count : 1, sizeof(*p->fields));
		for (size_t f = 0; f < p->field_count; f++) {
			struct field_rule *rule = &p->fields[f];
			rule->spec = json_array_get(fields, f);
			rule->name = json_string_value(json_object_get(rule->spec, "name"));
			rule->type = json_string_value(json_object_get(rule->spec, "type"));
			rule->required = json_is_true(json_object_get(rule->spec, "required"));
			rule->secret = json_is_true(json_object_get(rule->spec, "secret"));
			const char *pattern =
				json_string_value(json_object_get(rule->spec, "pattern"));
			if (pattern &&
			    compile_pattern(p->id, rule->name, pattern, &rule->re, e) != 0)
				return -1;
		}
	}
	return 0;
}

static const struct provider *provider_find(const struct credentials_module *m, const char *id)
{
	for (size_t i = 0; id && i < m->provider_count; i++)
		if (strcmp(m->providers[i].id, id) == 0)
			return &m->providers[i];
	return NULL;
}

static const struct field_rule *field_find(const struct provider *p, const char *name)
{
	for (size_t i = 0; i < p->field_count; i++)
		if (strcmp(p->fields[i].name, name) == 0)
			return &p->fields[i];
	return NULL;
}

/* "a, b, c": the ids of a JSON array of strings (or of the providers), for messages. */
static void join_strings(struct buf *out, const json_t *list)
{
	size_t i;
	const json_t *item;
	json_array_foreach(list, i, item)
	{
		buf_addf(out, "%s%s", i ? ", " : "", json_string_value(item));
	}
}

static char *provider_ids(const struct credentials_module *m)
{
	struct buf out = BUF_INIT;
	for (size_t i = 0; i < m->provider_count; i++)
		buf_addf(&out, "%s%s", i ? ", " : "", m->providers[i].id);
	return buf_detach(&out);
}

/* Printable, valid UTF-8 (PostgreSQL refuses anything else as text), at most 200 bytes. */
static bool id_valid(const char *id)
{
	if (!id || !*id || strlen(id) > 200)
		return false;
	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	json_t *utf8 = json_string(id); /* NULL when not UTF-8 */
	json_decref(utf8);
	return utf8 != NULL;
}

/* How much of s to quote in a message: at most max bytes, never half a UTF-8 character. */
static int clip(const char *s, int max)
{
	int n = (int)strlen(s);
	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

static struct http_response not_found(const char *id)
{
	if (!id_valid(id))
		return http_response_error(404, "no such deployment credential");
	return http_response_error(404, "no deployment credential with id '%.*s'", clip(id, 64),
				   id);
}

/* 400/404 for a provider id from a path or query: quoted only when it is printable UTF-8. */
static struct http_response unknown_provider(const struct credentials_module *m, int status,
					     const char *provider)
{
	char *known = provider_ids(m);
	json_t *details = status == 400 ? json_pack("{s:s}", "field", "provider") : NULL;
	struct http_response res;
	if (!provider || !*provider)
		res = http_response_error_detail(status, NULL, details,
						 "provider is required: one of %s", known);
	else if (!id_valid(provider))
		res = http_response_error_detail(status, NULL, details,
						 "unknown provider: one of %s", known);
	else
		res = http_response_error_detail(status, NULL, details,
						 "unknown provider '%.*s': one of %s",
						 clip(provider, 64), provider, known);
	free(known);
	return res;
}

/* --- validation --- */

static void problem(json_t *problems, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void problem(json_t *problems, const char *field, const char *fmt, ...)
{
	struct buf message = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&message, fmt, ap);
	va_end(ap);
	json_array_append_new(
		problems, json_pack("{s:s, s:s}", "field", field, "message", buf_cstr(&message)));
	buf_free(&message);
}

static bool in_list(const json_t *list, const char *value)
{
	size_t i;
	const json_t *item;
	json_array_foreach(list, i, item)
	{
		if (strcmp(json_string_value(item), value) == 0)
			return true;
	}
	return false;
}

/* Messages never quote a value: a secret one must not come back in an error. */
static void check_value(const struct credentials_module *m, const struct provider *p,
			const struct field_rule *rule, const json_t *value, json_t *problems)
{
	struct buf field = BUF_INIT;
	buf_addf(&field, "fields.%s", rule->name);
	const char *label = json_string_value(json_object_get(rule->spec, "label"));
	const char *text = json_string_value(value);
	size_t len = json_string_length(value);
	if (!value || json_is_null(value)) {
		if (rule->required)
			problem(problems, field.data, "%s is required (%s)", field.data, label);
	} else if (!json_is_string(value)) {
		problem(problems, field.data, "%s must be a string", field.data);
	} else if (len == 0) {
		problem(problems, field.data, "%s must not be empty%s", field.data,
			rule->required ? " (it is required)" : ": leave it out instead");
	} else if (len > SECRETS_MAX_VALUE || strlen(text) != len) {
		problem(problems, field.data, "%s must be text of at most %d bytes without NUL",
			field.data, SECRETS_MAX_VALUE);
	} else if (rule->secret && strcmp(text, CREDENTIALS_MASK) == 0) {
		problem(problems, field.data,
			"%s is the mask listings show (\"%s\"): send the real value", field.data,
			CREDENTIALS_MASK);
	} else if (strcmp(rule->type, "region") == 0 &&
		   !in_list(json_object_get(p->spec, "regions"), text)) {
		struct buf regions = BUF_INIT;
		join_strings(&regions, json_object_get(p->spec, "regions"));
		problem(problems, field.data, "%s must be one of the regions of %s: %s", field.data,
			p->id, buf_cstr(&regions));
		buf_free(&regions);
	} else if (strcmp(rule->type, "select") == 0 &&
		   !in_list(json_object_get(rule->spec, "options"), text)) {
		struct buf options = BUF_INIT;
		join_strings(&options, json_object_get(rule->spec, "options"));
		problem(problems, field.data, "%s must be one of %s", field.data,
			buf_cstr(&options));
		buf_free(&options);
	} else if (rule->re) {
		pcre2_match_data *match = pcre2_match_data_create_from_pattern(rule->re, NULL);
		int rc =
			pcre2_match(rule->re, (PCRE2_SPTR)text, len, 0, 0, match, m->match_context);
		pcre2_match_data_free(match);
		if (rc < 0)
			problem(problems, field.data, "%s does not match the pattern %s (%s)",
				field.data,
				json_string_value(json_object_get(rule->spec, "pattern")), label);
	}
	buf_free(&field);
}

/*
 * Every problem of provider (a JSON value from the body) and fields, as
 * {field, message} in *problems (a new array, empty when valid); *out the
 * provider when it is known.
 */
static json_t *validate(const struct credentials_module *m, const json_t *provider_value,
			const json_t *fields, const struct provider **out)
{
	json_t *problems = json_array();
	*out = NULL;
	const char *id = json_string_value(provider_value);
	const struct provider *p = provider_find(m, id);
	if (!p) {
		char *known = provider_ids(m);
		if (!provider_value || json_is_null(provider_value))
			problem(problems, "provider", "provider is required: one of %s", known);
		else if (!json_is_string(provider_value))
			problem(problems, "provider", "provider must be a string: one of %s",
				known);
		else
			problem(problems, "provider", "unknown provider '%.*s': one of %s",
				clip(id, 64), id, known);
		free(known);
	}
	if (!json_is_object(fields)) {
		problem(problems, "fields",
			"fields must be an object of the provider's credential fields, name to "
			"value");
		return problems;
	}
	if (!p)
		return problems;
	const char *name;
	const json_t *value;
	json_object_foreach((json_t *)fields, name, value)
	{
		if (!field_find(p, name)) {
			struct buf field = BUF_INIT, known = BUF_INIT;
			buf_addf(&field, "fields.%.*s", clip(name, 128), name);
			for (size_t i = 0; i < p->field_count; i++)
				buf_addf(&known, "%s%s", i ? ", " : "", p->fields[i].name);
			problem(problems, field.data, "%s is not a credential field of %s (%s)",
				field.data, p->id, buf_cstr(&known));
			buf_free(&field);
			buf_free(&known);
		}
	}
	for (size_t i = 0; i < p->field_count; i++)
		check_value(m, p, &p->fields[i], json_object_get(fields, p->fields[i].name),
			    problems);
	*out = p;
	return problems;
}

/* 422 listing every problem; the first one is also the error's message and field. */
static struct http_response problems_response(json_t *problems)
{
	const json_t *first = json_array_get(problems, 0);
	size_t more = json_array_size(problems) - 1;
	const char *message = json_string_value(json_object_get(first, "message"));
	json_t *details = json_pack("{s:O, s:o}", "field", json_object_get(first, "field"),
				    "problems", problems);
	return http_response_error_detail(422, NULL, details, "%s%s", message,
					  more ? " (and more: see error.problems)" : "");
}

/* The body's string values may be secrets: wipe our copy once done with them. */
static void wipe_fields(json_t *fields)
{
	const char *name;
	json_t *value;
	json_object_foreach(fields, name, value)
	{
		if (json_is_string(value))
			sodium_memzero((char *)json_string_value(value), json_string_length(value));
	}
}

/* --- storage --- */

static json_t *credential_ad(const char *provider, const char *repository_id)
{
	return json_pack("[s, s, s?]", CREDENTIAL_AD_TAG, provider, repository_id);
}

static char *credential_target(const char *provider, const char *repository_id)
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
static void split_fields(const struct provider *p, const json_t *fields, json_t **clear,
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
static int seal_fields(const struct secrets_keys *keys, const char *provider,
		       const char *repository_id, const json_t *sealed, struct secrets_sealed *out,
		       struct err *e)
{
	char *plain = json_dumps(sealed, JSON_COMPACT | JSON_SORT_KEYS);
	json_t *ad = credential_ad(provider, repository_id);
	int rc = secrets_seal_value(keys, ad, plain, strlen(plain), out, e);
	json_decref(ad);
	secrets_value_free(plain);
	return rc;
}

/* A stored row as the API shows it: fields parsed, every secret one masked. */
static json_t *present(const json_t *row)
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
static int read_credential(struct store *store, const char *id, json_t **row, struct err *e)
{
	*row = NULL;
	if (!id_valid(id))
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
	if (!id_valid(provider))
		return err_set(e, "provider must be a provider id such as flyio");
	if (repository_id && !id_valid(repository_id))
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
		char *target = credential_target(provider, row_repository);
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
		wipe_fields(secret);
		json_decref(secret);
	}
	if (rc != 0) {
		if (result) {
			wipe_fields(result);
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
	const struct provider *p = provider_find(m, id);
	if (!p)
		return unknown_provider(m, 404, id);
	return http_response_json(200, json_deep_copy(p->spec));
}

/* --- /api/v1/deployment-credentials --- */

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
	if (*out && !id_valid(*out)) {
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

static struct http_response credential_response(struct http_request *req,
						struct credentials_module *m, int status,
						const char *id)
{
	json_t *row = NULL;
	struct err e = ERR_INIT;
	if (read_credential(m->ctx->store, id, &row, &e) != 0)
		return api_store_error(req, &e, "deployment credential");
	if (!row)
		return not_found(id);
	json_t *out = present(row);
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
	if (provider && *provider && !provider_find(m, provider))
		return unknown_provider(m, 400, provider);
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
	json_array_foreach(rows, i, row) json_array_append_new(items, present(row));
	json_decref(rows);
	res = http_response_json(200, http_page_envelope(items, next));
	free(next);
	return res;
}

static struct http_response handle_get(struct http_request *req)
{
	struct credentials_module *m = req->user_data;
	const char *id = http_request_param(req, "id");
	json_t *row = NULL;
	struct err e = ERR_INIT;
	if (read_credential(m->ctx->store, id, &row, &e) != 0)
		return api_store_error(req, &e, "deployment credential");
	if (!row)
		return not_found(id);
	struct http_response res;
	if (caller_may(req, m, "deploy:read",
		       json_string_value(json_object_get(row, "repository_id")), &res))
		res = http_response_json(200, present(row));
	json_decref(row);
	return res;
}

static struct http_response handle_validate(struct http_request *req)
{
	struct credentials_module *m = req->user_data;
	json_t *body = NULL;
	struct http_response res;
	if (http_request_json(req, &body, &res) != 0)
		return res;
	const struct provider *p;
	json_t *problems =
		validate(m, json_object_get(body, "provider"), json_object_get(body, "fields"), &p);
	if (json_array_size(problems))
		res = problems_response(problems);
	else {
		json_decref(problems);
		res = http_response_json(200,
					 json_pack("{s:b, s:s}", "valid", 1, "provider", p->id));
	}
	wipe_fields(json_object_get(body, "fields"));
	json_decref(body);
	return res;
}

/* Inserts (409 when provider + repository has one) and audits, in one transaction. */
static struct http_response insert_credential(struct http_request *req,
					      struct credentials_module *m,
					      const struct provider *p, const char *repository_id,
					      const json_t *fields)
{
	json_t *clear, *sealed_fields, *names;
	split_fields(p, fields, &clear, &sealed_fields, &names);
	struct store_tx *tx = NULL;
	struct secrets_keys *keys = NULL;
	struct secrets_sealed sealed = { .ciphertext = BUF_INIT };
	struct err e = ERR_INIT;
	char id[STORE_ID_SIZE];
	store_new_id(id);
	int64_t changed = 0;
	int rc = secrets_write_begin(m->ctx, &tx, &keys, &e);
	if (rc == 0)
		rc = seal_fields(keys, p->id, repository_id, sealed_fields, &sealed, &e);
	wipe_fields(sealed_fields);
	json_decref(sealed_fields);
	char *clear_text = json_dumps(clear, JSON_COMPACT | JSON_SORT_KEYS);
	const struct api_caller *caller = api_caller(req);
	int64_t now = store_now_ms();
	if (rc == 0) {
		struct store_param params[] = {
			STORE_TEXT_PARAM(id),
			STORE_TEXT_PARAM(p->id),
			repository_id ? STORE_TEXT_PARAM(repository_id) : STORE_NULL_PARAM,
			STORE_TEXT_PARAM(clear_text),
			STORE_BLOB_PARAM(sealed.ciphertext.data, sealed.ciphertext.len),
			STORE_BLOB_PARAM(sealed.nonce, SECRETS_NONCE_BYTES),
			STORE_INT_PARAM(sealed.key_version),
			caller ? STORE_TEXT_PARAM(caller->user_id) : STORE_NULL_PARAM,
			STORE_INT_PARAM(now),
			STORE_INT_PARAM(now),
		};
		rc = store_tx_exec(
			tx,
			"INSERT INTO deployment_credentials (id, provider, "
			"repository_id, fields, ciphertext, nonce, key_version, version, "
			"created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, "
			"1, ?, ?, ?) ON CONFLICT DO NOTHING",
			params, 10, &changed, &e);
	}
	if (rc == 0 && changed > 0) {
		char *target = credential_target(p->id, repository_id);
		json_t *detail =
			json_pack("{s:s, s:s, s:s?, s:O, s:i, s:I}", "id", id, "provider", p->id,
				  "repository_id", repository_id, "fields", names, "version", 1,
				  "key_version", (json_int_t)sealed.key_version);
		rc = audit_append_tx(tx, api_actor(req), "credential.create", target, detail, &e);
		json_decref(detail);
		free(target);
	}
	if (tx) {
		if (rc == 0 && changed > 0)
			rc = store_tx_commit(tx, &e);
		else
			store_tx_rollback(tx);
	}
	secrets_keys_free(keys);
	secrets_sealed_free(&sealed);
	free(clear_text);
	json_decref(clear);
	json_decref(names);
	if (rc != 0) {
		log_error("credentials", "cannot store a deployment credential", "provider", p->id,
			  "error", e.msg);
		return store_error_is_conflict(&e) ? api_store_error(req, &e, "credential")
						   : http_response_error(500, "%s", e.msg);
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
		if (!id_valid(*repository_id)) {
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
	json_t *fields = json_object_get(body, "fields");
	const char *repository_id;
	const struct provider *p = NULL;
	json_t *problems = NULL;
	if (read_scope(body, &repository_id, &res) != 0)
		goto out;
	if (!caller_may(req, m, "deploy:write", repository_id, &res))
		goto out;
	if (repository_id && repository_exists(req, m, repository_id, 422, &res) != 0)
		goto out;
	problems = validate(m, json_object_get(body, "provider"), fields, &p);
	if (json_array_size(problems)) {
		res = problems_response(problems);
		problems = NULL;
		goto out;
	}
	res = insert_credential(req, m, p, repository_id, fields);
out:
	json_decref(problems);
	if (json_is_object(fields))
		wipe_fields(fields);
	json_decref(body);
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
	json_t *clear, *sealed_fields, *names;
	split_fields(p, fields, &clear, &sealed_fields, &names);
	struct store_tx *tx = NULL;
	struct secrets_keys *keys = NULL;
	struct secrets_sealed sealed = { .ciphertext = BUF_INIT };
	struct err e = ERR_INIT;
	json_t *current = NULL;
	int rc = secrets_write_begin(m->ctx, &tx, &keys, &e);
	if (rc == 0)
		rc = seal_fields(keys, p->id, repository_id, sealed_fields, &sealed, &e);
	wipe_fields(sealed_fields);
	json_decref(sealed_fields);
	char *clear_text = json_dumps(clear, JSON_COMPACT | JSON_SORT_KEYS);
	/* The version inside the transaction: a concurrent update counts too. */
	struct store_param key = STORE_TEXT_PARAM(id);
	if (rc == 0)
		rc = store_tx_query_one(tx,
					"SELECT version FROM deployment_credentials WHERE id = ?",
					&key, 1, &current, &e);
	int64_t version = json_integer_value(json_object_get(current, "version")) + 1;
	if (rc == 0 && current) {
		struct store_param params[] = {
			STORE_TEXT_PARAM(clear_text),
			STORE_BLOB_PARAM(sealed.ciphertext.data, sealed.ciphertext.len),
			STORE_BLOB_PARAM(sealed.nonce, SECRETS_NONCE_BYTES),
			STORE_INT_PARAM(sealed.key_version),
			STORE_INT_PARAM(version),
			STORE_INT_PARAM(store_now_ms()),
			STORE_TEXT_PARAM(id),
		};
		rc = store_tx_exec(tx,
				   "UPDATE deployment_credentials SET fields = ?, ciphertext = ?, "
				   "nonce = ?, key_version = ?, version = ?, updated_at = ? WHERE "
				   "id = ?",
				   params, 7, NULL, &e);
	}
	if (rc == 0 && current) {
		char *target = credential_target(p->id, repository_id);
		json_t *detail = json_pack("{s:s, s:s, s:s?, s:O, s:I, s:I}", "id", id, "provider",
					   p->id, "repository_id", repository_id, "fields", names,
					   "version", (json_int_t)version, "key_version",
					   (json_int_t)sealed.key_version);
		rc = audit_append_tx(tx, api_actor(req), "credential.update", target, detail, &e);
		json_decref(detail);
		free(target);
	}
	if (tx) {
		if (rc == 0 && current)
			rc = store_tx_commit(tx, &e);
		else
			store_tx_rollback(tx);
	}
	secrets_keys_free(keys);
	secrets_sealed_free(&sealed);
	free(clear_text);
	json_decref(clear);
	json_decref(names);
	bool found = current != NULL;
	json_decref(current);
	if (rc != 0) {
		log_error("credentials", "cannot update a deployment credential", "id", id, "error",
			  e.msg);
		return http_response_error(500, "%s", e.msg);
	}
	if (!found)
		return not_found(id);
	return credential_response(req, m, 200, id);
}

static struct http_response handle_put(struct http_request *req)
{
	struct credentials_module *m = req->user_data;
	const char *id = http_request_param(req, "id");
	json_t *body = NULL;
	struct http_response res;
	if (http_request_json(req, &body, &res) != 0)
		return res;
	json_t *fields = json_object_get(body, "fields");
	json_t *row = NULL, *problems = NULL;
	struct err e = ERR_INIT;
	if (read_credential(m->ctx->store, id, &row, &e) != 0) {
		res = api_store_error(req, &e, "deployment credential");
		goto out;
	}
	if (!row) {
		res = not_found(id);
		goto out;
	}
	const json_t *row_provider = json_object_get(row, "provider");
	const json_t *row_repository = json_object_get(row, "repository_id");
	if (!caller_may(req, m, "deploy:write", json_string_value(row_repository), &res))
		goto out;
	/* provider and repository_id name the credential: a PUT cannot move it. */
	const json_t *given = json_object_get(body, "provider");
	if (given && !json_equal(given, row_provider)) {
		res = http_response_error_detail(
			422, NULL, json_pack("{s:s}", "field", "provider"),
			"provider cannot change: delete this credential and create another");
		goto out;
	}
	given = json_object_get(body, "repository_id");
	if (given && !json_equal(given, row_repository)) {
		res = http_response_error_detail(
			422, NULL, json_pack("{s:s}", "field", "repository_id"),
			"repository_id cannot change: delete this credential and create another");
		goto out;
	}
	const struct provider *p;
	problems = validate(m, row_provider, fields, &p);
	if (json_array_size(problems)) {
		res = problems_response(problems);
		problems = NULL;
		goto out;
	}
	res = update_credential(req, m, p, row, fields);
out:
	json_decref(problems);
	json_decref(row);
	if (json_is_object(fields))
		wipe_fields(fields);
	json_decref(body);
	return res;
}

static struct http_response handle_delete(struct http_request *req)
{
	struct credentials_module *m = req->user_data;
	const char *id = http_request_param(req, "id");
	json_t *row = NULL;
	struct err e = ERR_INIT;
	if (read_credential(m->ctx->store, id, &row, &e) != 0)
		return api_store_error(req, &e, "deployment credential");
	if (!row)
		return not_found(id);
	const char *provider = json_string_value(json_object_get(row, "provider"));
	const char *repository_id = json_string_value(json_object_get(row, "repository_id"));
	struct http_response res;
	if (!caller_may(req, m, "deploy:write", repository_id, &res)) {
		json_decref(row);
		return res;
	}
	struct store_tx *tx;
	int64_t changed = 0;
	int rc = store_tx_begin(m->ctx->store, &tx, &e);
	if (rc == 0) {
		struct store_param key = STORE_TEXT_PARAM(id);
		rc = store_tx_exec(tx, "DELETE FROM deployment_credentials WHERE id = ?", &key, 1,
				   &changed, &e);
		if (rc == 0 && changed > 0) {
			char *target = credential_target(provider, repository_id);
			json_t *detail = json_pack("{s:s, s:s, s:s?}", "id", id, "provider",
						   provider, "repository_id", repository_id);
			rc = audit_append_tx(tx, api_actor(req), "credential.delete", target,
					     detail, &e);
			json_decref(detail);
			free(target);
		}
		if (rc == 0)
			rc = store_tx_commit(tx, &e);
		else
			store_tx_rollback(tx);
	}
	json_decref(row);
	if (rc != 0)
		return api_store_error(req, &e, "deployment credential");
	if (changed == 0)
		return not_found(id);
	return http_response_empty(204);
}

static struct http_response handle_resolve(struct http_request *req)
{
	struct credentials_module *m = req->user_data;
	struct http_response res;
	const char *repository_id;
	if (query_repository(req, &repository_id, &res) != 0)
		return res;
	const char *provider = http_request_query(req, "provider");
	if (!provider_find(m, provider))
		return unknown_provider(m, 400, provider);
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
	json_t *out = present(row);
	json_decref(row);
	json_object_set_new(out, "scope",
			    json_string(json_is_string(json_object_get(out, "repository_id"))
						? "repository"
						: "account"));
	return http_response_json(200, out);
}

int api_credentials_register(struct http_router *router, struct api_context *ctx, struct err *e)
{
	struct credentials_module *m = xcalloc(1, sizeof(*m));
	m->ctx = ctx;
	if (module_load(m, e) != 0) {
		module_free(m);
		return -1;
	}
	http_router_keep(router, m, module_free);
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
	return http_router_add_all(router, routes, sizeof(routes) / sizeof(*routes), m, e);
}
