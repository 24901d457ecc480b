#include "api/audit.h"

#include "api/api.h"
#include "api/api_internal.h"
#include "http/response.h"
#include "http/router.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AUDIT_HASH_BYTES 32
#define AUDIT_HASH_HEX	 (AUDIT_HASH_BYTES * 2 + 1)
/* Appenders that lost a race for the next seq try again this many times. */
#define AUDIT_APPEND_ATTEMPTS 8
#define AUDIT_VERIFY_BATCH    500
/* pg_advisory_xact_lock key that serialises appenders across servers. */
#define AUDIT_PG_LOCK_KEY "7236450122"

static const char *const forbidden_detail_keys[] = {
	"value",     "password",   "token",	  "secret", "ciphertext",
	"plaintext", "master_key", "private_key", "key",
};

/* True when obj (recursively) has a member whose name suggests a secret value. */
static const char *find_forbidden_key(const json_t *value)
{
	if (json_is_object(value)) {
		const char *name;
		json_t *member;
		json_object_foreach((json_t *)value, name, member)
		{
			for (size_t i = 0;
			     i < sizeof(forbidden_detail_keys) / sizeof(forbidden_detail_keys[0]);
			     i++)
				if (strcasecmp(name, forbidden_detail_keys[i]) == 0)
					return name;
			const char *inner = find_forbidden_key(member);
			if (inner)
				return inner;
		}
	} else if (json_is_array(value)) {
		size_t i;
		json_t *item;
		json_array_foreach(value, i, item)
		{
			const char *inner = find_forbidden_key(item);
			if (inner)
				return inner;
		}
	}
	return NULL;
}

static json_t *string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/*
 * hash = hex(BLAKE2b-256(prev_hash "\n" canonical)), where canonical is the
 * entry {"action","actor","at","detail","seq","target"} as compact JSON
 * with sorted keys, detail being the stored text (or null). Hashing the
 * stored detail text, not a re-serialisation of it, means any byte changed
 * in the column is caught.
 */
static int entry_hash(char out[AUDIT_HASH_HEX], const char *prev_hash, int64_t seq, int64_t at,
		      const char *actor, const char *action, const char *target,
		      const char *detail_text)
{
	json_t *entry = json_object();
	json_object_set_new(entry, "seq", json_integer(seq));
	json_object_set_new(entry, "at", json_integer(at));
	json_object_set_new(entry, "actor", string_or_null(actor));
	json_object_set_new(entry, "action", string_or_null(action));
	json_object_set_new(entry, "target", string_or_null(target));
	json_object_set_new(entry, "detail", string_or_null(detail_text));
	char *canonical = json_dumps(entry, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	json_decref(entry);
	if (!canonical)
		return -1;
	unsigned char digest[AUDIT_HASH_BYTES];
	crypto_generichash_state state;
	crypto_generichash_init(&state, NULL, 0, sizeof(digest));
	crypto_generichash_update(&state, (const unsigned char *)prev_hash, strlen(prev_hash));
	crypto_generichash_update(&state, (const unsigned char *)"\n", 1);
	crypto_generichash_update(&state, (const unsigned char *)canonical, strlen(canonical));
	crypto_generichash_final(&state, digest, sizeof(digest));
	free(canonical);
	sodium_bin2hex(out, AUDIT_HASH_HEX, digest, sizeof(digest));
	return 0;
}

/* 1: lost the race for the next seq (retry in a new transaction); 0 done; -1 failed. */
static int append_in(struct store_tx *tx, const char *actor, const char *action, const char *target,
		     const char *detail_text, struct err *e)
{
	if (store_kind(store_tx_store(tx)) == STORE_POSTGRES) {
		/* Held to the end of the transaction: one appender at a time across servers. */
		if (store_tx_exec(tx, "SELECT pg_advisory_xact_lock(" AUDIT_PG_LOCK_KEY ")", NULL,
				  0, NULL, e) != 0)
			return err_prefix(e, "cannot lock the audit log");
	}
	json_t *last = NULL;
	if (store_tx_query_one(tx, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
			       NULL, 0, &last, e) != 0)
		return err_prefix(e, "cannot read the audit log");
	int64_t seq = last ? json_integer_value(json_object_get(last, "seq")) + 1 : 1;
	char prev[AUDIT_HASH_HEX];
	snprintf(prev, sizeof(prev), "%s",
		 last ? json_string_value(json_object_get(last, "hash")) : AUDIT_GENESIS_HASH);
	json_decref(last);
	int64_t at = store_now_ms();
	char hash[AUDIT_HASH_HEX];
	if (entry_hash(hash, prev, seq, at, actor, action, target, detail_text) != 0)
		return err_set(e, "cannot serialise the audit entry");
	struct store_param params[] = {
		STORE_INT_PARAM(seq),
		STORE_INT_PARAM(at),
		actor ? STORE_TEXT_PARAM(actor) : STORE_NULL_PARAM,
		STORE_TEXT_PARAM(action),
		target ? STORE_TEXT_PARAM(target) : STORE_NULL_PARAM,
		detail_text ? STORE_TEXT_PARAM(detail_text) : STORE_NULL_PARAM,
		STORE_TEXT_PARAM(prev),
		STORE_TEXT_PARAM(hash),
	};
	int64_t changed = 0;
	if (store_tx_exec(
		    tx,
		    "INSERT INTO audit_log (seq, at, actor, action, target, detail, prev_hash, "
		    "hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (seq) DO NOTHING",
		    params, sizeof(params) / sizeof(params[0]), &changed, e) != 0)
		return err_prefix(e, "cannot append to the audit log");
	return changed == 1 ? 0 : 1;
}

static int prepare(const char *action, const json_t *detail, char **detail_text, struct err *e)
{
	*detail_text = NULL;
	if (!action || !*action)
		return err_set(e, "audit entry without an action");
	if (detail && !json_is_null(detail)) {
		if (!json_is_object(detail))
			return err_set(e, "audit entry '%s': detail must be a JSON object", action);
		const char *bad = find_forbidden_key(detail);
		if (bad)
			return err_set(e,
				       "audit entry '%s': detail member '%s' may hold a secret; "
				       "audit details name things, they never carry values",
				       action, bad);
		*detail_text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
		if (!*detail_text)
			return err_set(e, "audit entry '%s': cannot serialise detail", action);
	}
	return 0;
}

int audit_append_tx(struct store_tx *tx, const char *actor, const char *action, const char *target,
		    const json_t *detail, struct err *e)
{
	char *detail_text;
	if (prepare(action, detail, &detail_text, e) != 0)
		return -1;
	int rc = append_in(tx, actor, action, target, detail_text, e);
	free(detail_text);
	/* Inside the caller's transaction a lost race cannot be retried here. */
	if (rc == 1)
		return err_set(e, "conflict: another audit entry took the same seq; retry");
	return rc;
}

int audit_append(struct store *store, const char *actor, const char *action, const char *target,
		 const json_t *detail, struct err *e)
{
	char *detail_text;
	if (prepare(action, detail, &detail_text, e) != 0)
		return -1;
	int rc = -1;
	for (int attempt = 0; attempt < AUDIT_APPEND_ATTEMPTS; attempt++) {
		struct store_tx *tx = NULL;
		if (store_tx_begin(store, &tx, e) != 0)
			break;
		rc = append_in(tx, actor, action, target, detail_text, e);
		if (rc != 0) {
			store_tx_rollback(tx);
			if (rc < 0)
				break;
			continue;
		}
		if (store_tx_commit(tx, e) == 0)
			break;
		/* A commit that lost to a concurrent appender: try again with the new head. */
		rc = store_error_is_conflict(e) ? 1 : -1;
		if (rc < 0)
			break;
	}
	free(detail_text);
	if (rc == 1)
		return err_set(e, "cannot append to the audit log: too many concurrent appenders");
	return rc;
}

int audit_verify(struct store *store, int64_t *checked, int64_t *first_bad_seq, struct err *e)
{
	*checked = 0;
	*first_bad_seq = 0;
	char prev[AUDIT_HASH_HEX] = AUDIT_GENESIS_HASH;
	int64_t expected = 1;
	for (;;) {
		struct store_param params[] = { STORE_INT_PARAM(expected - 1),
						STORE_INT_PARAM(AUDIT_VERIFY_BATCH) };
		json_t *rows = NULL;
		if (store_query(store,
				"SELECT seq, at, actor, action, target, detail, prev_hash, hash "
				"FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?",
				params, 2, &rows, e) != 0)
			return err_prefix(e, "cannot read the audit log");
		size_t count = json_array_size(rows);
		for (size_t i = 0; i < count; i++) {
			json_t *row = json_array_get(rows, i);
			int64_t seq = json_integer_value(json_object_get(row, "seq"));
			const char *stored_prev =
				json_string_value(json_object_get(row, "prev_hash"));
			const char *stored_hash = json_string_value(json_object_get(row, "hash"));
			const char *why = NULL;
			int64_t bad = seq;
			char hash[AUDIT_HASH_HEX];
			if (seq != expected) {
				why = "is missing (deleted, or its seq was changed)";
				bad = expected;
			} else if (!stored_prev || strcmp(stored_prev, prev) != 0) {
				why = "does not link to the entry before it (prev_hash differs)";
			} else if (entry_hash(hash, prev, seq,
					      json_integer_value(json_object_get(row, "at")),
					      json_string_value(json_object_get(row, "actor")),
					      json_string_value(json_object_get(row, "action")),
					      json_string_value(json_object_get(row, "target")),
					      json_string_value(json_object_get(row, "detail"))) !=
					   0 ||
				   !stored_hash || strcmp(stored_hash, hash) != 0) {
				why = "was changed (its hash does not match its content)";
			}
			if (why) {
				json_decref(rows);
				*first_bad_seq = bad;
				return err_set(e,
					       "audit log entry %" PRId64 " %s; %" PRId64
					       " entries before it verify",
					       bad, why, *checked);
			}
			snprintf(prev, sizeof(prev), "%s", hash); /* equal to stored_hash here */
			(*checked)++;
			expected++;
		}
		json_decref(rows);
		if (count < AUDIT_VERIFY_BATCH)
			return 0;
	}
}

/* --- GET /api/v1/audit --- */

static json_t *entry_json(json_t *row)
{
	json_t *item = json_object();
	json_object_set(item, "seq", json_object_get(row, "seq"));
	json_object_set(item, "at", json_object_get(row, "at"));
	json_object_set(item, "actor", json_object_get(row, "actor"));
	json_object_set(item, "action", json_object_get(row, "action"));
	json_object_set(item, "target", json_object_get(row, "target"));
	const char *detail = json_string_value(json_object_get(row, "detail"));
	json_t *parsed = detail ? json_loads(detail, 0, NULL) : NULL;
	json_object_set_new(item, "detail", parsed ? parsed : json_null());
	json_object_set(item, "prev_hash", json_object_get(row, "prev_hash"));
	json_object_set(item, "hash", json_object_get(row, "hash"));
	return item;
}

static bool parse_int64(const char *s, int64_t *out)
{
	size_t digits = strspn(s, "0123456789");
	if (digits == 0 || digits > 18 || s[digits] != '\0')
		return false;
	*out = (int64_t)strtoll(s, NULL, 10);
	return true;
}

#define AUDIT_MAX_FILTERS 6

static struct http_response handle_audit_list(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	struct http_page page;
	struct http_response error;
	if (http_page_from_request(req, 50, 500, &page, &error) != 0)
		return error;
	struct buf sql = BUF_INIT;
	struct store_param params[AUDIT_MAX_FILTERS];
	size_t count = 0;
	buf_adds(&sql, "SELECT seq, at, actor, action, target, detail, prev_hash, hash FROM "
		       "audit_log WHERE 1 = 1");
	static const char *const text_filters[] = { "actor", "action", "target" };
	for (size_t i = 0; i < 3; i++) {
		const char *value = http_request_query(req, text_filters[i]);
		if (value) {
			buf_addf(&sql, " AND %s = ?", text_filters[i]);
			params[count++] = STORE_TEXT_PARAM(value);
		}
	}
	const char *since = http_request_query(req, "since");
	int64_t since_ms = 0, cursor_seq = 0;
	if (since) {
		if (!parse_int64(since, &since_ms)) {
			buf_free(&sql);
			http_page_free(&page);
			return http_response_error(
				400,
				"since must be a time in milliseconds since the epoch, not '%s'",
				since);
		}
		buf_adds(&sql, " AND at >= ?");
		params[count++] = STORE_INT_PARAM(since_ms);
	}
	/* Newest first: the next page continues below the last seq seen. */
	bool backwards = page.after_id && page.direction == HTTP_PAGE_PREV;
	if (page.after_id) {
		if (!parse_int64(page.after_id, &cursor_seq)) {
			buf_free(&sql);
			http_page_free(&page);
			return http_response_error(400, "invalid cursor: pass the next_cursor of a "
							"previous page as is");
		}
		buf_adds(&sql, backwards ? " AND seq > ?" : " AND seq < ?");
		params[count++] = STORE_INT_PARAM(cursor_seq);
	}
	buf_adds(&sql, backwards ? " ORDER BY seq ASC LIMIT ?" : " ORDER BY seq DESC LIMIT ?");
	params[count++] = STORE_INT_PARAM((int64_t)page.limit + 1);
	json_t *rows = NULL;
	struct err e = ERR_INIT;
	int rc = store_query(ctx->store, buf_cstr(&sql), params, count, &rows, &e);
	buf_free(&sql);
	if (rc != 0) {
		http_page_free(&page);
		return api_store_error(req, &e, "audit entry");
	}
	size_t total = json_array_size(rows);
	bool more = total > page.limit;
	size_t shown = more ? page.limit : total;
	json_t *items = json_array();
	for (size_t i = 0; i < shown; i++) {
		size_t index = backwards ? shown - 1 - i : i;
		json_array_append_new(items, entry_json(json_array_get(rows, index)));
	}
	char next[32] = "";
	if (more && !backwards && shown > 0)
		snprintf(next, sizeof(next), "%" PRId64,
			 (int64_t)json_integer_value(
				 json_object_get(json_array_get(items, shown - 1), "seq")));
	json_decref(rows);
	http_page_free(&page);
	return http_response_json(200, http_page_envelope(items, next[0] ? next : NULL));
}

/* The body schemas the routes below name (OpenAPI 3.0 schema objects; docs/http.md). */
static const struct http_schema_spec audit_schemas[] = {
	{ "AuditEntryList",
	  "{\"type\":\"object\","
	  "\"required\":[\"seq\",\"at\",\"actor\",\"action\",\"target\",\"detail\","
	  "\"prev_hash\",\"hash\"],\"properties\":{"
	  "\"seq\":{\"type\":\"integer\"},"
	  "\"at\":{\"type\":\"integer\",\"format\":\"int64\"},"
	  "\"actor\":{\"type\":\"string\",\"nullable\":true},"
	  "\"action\":{\"type\":\"string\"},"
	  "\"target\":{\"type\":\"string\",\"nullable\":true},"
	  "\"detail\":{\"type\":\"object\",\"nullable\":true},"
	  "\"prev_hash\":{\"type\":\"string\"},"
	  "\"hash\":{\"type\":\"string\"}}}" },
};

int api_audit_register(struct http_router *router, struct api_context *ctx, struct err *e)
{
	const struct http_route_meta meta = {
		.summary = "List audit log entries, newest first",
		.tags = "audit",
		.response_schema = "AuditEntryList",
		.permission = "audit:read",
		.query = "actor,action,target,since",
		.paginated = true,
	};
	if (http_router_add_schemas(router, audit_schemas,
				    sizeof(audit_schemas) / sizeof(*audit_schemas), e) != 0)
		return -1;
	return http_router_add(router, "GET /api/v1/audit", handle_audit_list, ctx, &meta, e);
}
