#include "api/auth.h"

#include "api/api.h"
#include "api/api_internal.h"
#include "api/passwords.h"
#include "api/rbac.h"
#include "api/tokens.h"
#include "api/users.h"
#include "http/router.h"
#include "store/store.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"
#include "util/map.h"
#include "util/str.h"
#include "util/xalloc.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * What the guard leaves in req->context: the caller first, so api_caller()
 * reads it, then how it authenticated, for logout and CSRF.
 */
struct auth_request {
	struct api_caller caller;
	char session_id[STORE_ID_SIZE]; /* cookie session or access token */
	char *family;			/* the access token's refresh family */
	bool via_cookie;
	char *csrf_token;
};

/*
 * The guard's state. A token's scopes never change once it is made, so
 * callers share one parsed copy per token instead of leaking one per request.
 */
struct auth_state {
	struct api_context *ctx;
	pthread_mutex_t lock;
	struct map *scopes_by_token; /* token id → json_t * (array) */
};

static void json_free_value(void *value)
{
	json_decref(value);
}

static void auth_state_free(void *ptr)
{
	struct auth_state *state = ptr;
	map_free(state->scopes_by_token, json_free_value);
	pthread_mutex_destroy(&state->lock);
	free(state);
}

static json_t *cached_scopes(struct auth_state *state, const char *token_id, const char *text)
{
	pthread_mutex_lock(&state->lock);
	json_t *scopes = map_get(state->scopes_by_token, token_id);
	if (!scopes) {
		scopes = json_loads(text ? text : "[]", 0, NULL);
		if (!json_is_array(scopes)) {
			json_decref(scopes);
			scopes = json_array();
		}
		map_put(state->scopes_by_token, token_id, scopes);
	}
	pthread_mutex_unlock(&state->lock);
	return scopes;
}

/* ---- credentials ---- */

static int session_create(struct store *store, const char *user_id, const char *kind,
			  const char *family, const char *address, const char *user_agent,
			  int64_t ttl_ms, char token[PASSWORDS_TOKEN_SIZE],
			  char csrf[PASSWORDS_TOKEN_SIZE], struct err *e)
{
	char id[STORE_ID_SIZE], hash[PASSWORDS_TOKEN_HASH_SIZE];
	bool cookie = strcmp(kind, "cookie") == 0;
	passwords_token_new(cookie ? "amps_" : "ampa_", token);
	passwords_token_hash(token, hash);
	csrf[0] = '\0';
	if (cookie)
		passwords_token_new("", csrf);
	store_new_id(id);
	int64_t now = store_now_ms();
	struct store_param params[] = {
		STORE_TEXT_PARAM(id),
		STORE_TEXT_PARAM(user_id),
		STORE_TEXT_PARAM(hash),
		STORE_TEXT_PARAM(csrf),
		address ? STORE_TEXT_PARAM(address) : STORE_NULL_PARAM,
		user_agent ? STORE_TEXT_PARAM(user_agent) : STORE_NULL_PARAM,
		STORE_INT_PARAM(now),
		STORE_INT_PARAM(now + ttl_ms),
		STORE_TEXT_PARAM(kind),
		family ? STORE_TEXT_PARAM(family) : STORE_NULL_PARAM,
	};
	return store_exec(
		store,
		"INSERT INTO sessions (id, user_id, token_hash, csrf_token, address, "
		"user_agent, created_at, expires_at, kind, family) VALUES (?, ?, ?, ?, ?, "
		"?, ?, ?, ?, ?)",
		params, 10, NULL, e);
}

static int refresh_create(struct store *store, const char *user_id, const char *family,
			  char token[PASSWORDS_TOKEN_SIZE], struct err *e)
{
	char id[STORE_ID_SIZE], hash[PASSWORDS_TOKEN_HASH_SIZE];
	passwords_token_new("ampr_", token);
	passwords_token_hash(token, hash);
	store_new_id(id);
	int64_t now = store_now_ms();
	struct store_param params[] = {
		STORE_TEXT_PARAM(id),	  STORE_TEXT_PARAM(user_id),
		STORE_TEXT_PARAM(family), STORE_TEXT_PARAM(hash),
		STORE_INT_PARAM(now),	  STORE_INT_PARAM(now + AUTH_REFRESH_TTL_MS),
	};
	return store_exec(
		store,
		"INSERT INTO refresh_tokens (id, user_id, family, token_hash, created_at, "
		"expires_at) VALUES (?, ?, ?, ?, ?, ?)",
		params, 6, NULL, e);
}

/* Ends a refresh family: its refresh tokens and the access tokens issued from it. */
static int family_revoke(struct store *store, const char *family, struct err *e)
{
	struct store_param fam = STORE_TEXT_PARAM(family);
	struct store_param at_fam[] = { STORE_INT_PARAM(store_now_ms()), fam };
	if (store_exec(store, "UPDATE refresh_tokens SET revoked = 1 WHERE family = ?", &fam, 1,
		       NULL, e) != 0)
		return -1;
	return store_exec(store,
			  "UPDATE sessions SET revoked_at = ? WHERE family = ? AND revoked_at IS "
			  "NULL",
			  at_fam, 2, NULL, e);
}

/* A new access token and refresh token in family: {"access_token", …}. */
static json_t *token_pair(struct store *store, const char *user_id, const char *family,
			  const char *address, const char *user_agent, struct err *e)
{
	char access[PASSWORDS_TOKEN_SIZE], refresh[PASSWORDS_TOKEN_SIZE],
		unused[PASSWORDS_TOKEN_SIZE];
	if (session_create(store, user_id, "access", family, address, user_agent,
			   AUTH_ACCESS_TTL_MS, access, unused, e) != 0 ||
	    refresh_create(store, user_id, family, refresh, e) != 0)
		return NULL;
	json_t *out = json_pack("{s:s,s:s,s:s,s:I}", "access_token", access, "refresh_token",
				refresh, "token_type", "Bearer", "expires_in",
				(json_int_t)(AUTH_ACCESS_TTL_MS / 1000));
	sodium_memzero(access, sizeof(access));
	sodium_memzero(refresh, sizeof(refresh));
	return out;
}

/* ---- login throttling ---- */

/*
 * Consecutive failures (newest first, back to the last success, within the
 * window) of one account or one address; after `free_failures` each further
 * failure doubles the wait before the next try: 1 s, 2 s, 4 s … up to the cap.
 */
static int throttle_wait(struct store *store, const char *column, const char *value,
			 int free_failures, int64_t now, int64_t *retry_at, struct err *e)
{
	char sql[256];
	snprintf(sql, sizeof(sql),
		 "SELECT at, success FROM login_attempts WHERE %s = ? AND at > ? ORDER BY at "
		 "DESC LIMIT 200",
		 column);
	struct store_param params[] = { STORE_TEXT_PARAM(value),
					STORE_INT_PARAM(now - AUTH_FAILURE_WINDOW_MS) };
	json_t *rows;
	*retry_at = 0;
	if (store_query(store, sql, params, 2, &rows, e) != 0)
		return -1;
	int failures = 0;
	int64_t last_failure = 0;
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
	{
		if (json_get_int(row, "success", 0))
			break;
		if (!failures)
			last_failure = json_get_int(row, "at", 0);
		failures++;
	}
	json_decref(rows);
	if (failures >= free_failures) {
		int shift = failures - free_failures;
		int64_t wait = shift > 20 ? AUTH_MAX_BACKOFF_MS : 1000LL << shift;
		if (wait > AUTH_MAX_BACKOFF_MS)
			wait = AUTH_MAX_BACKOFF_MS;
		*retry_at = last_failure + wait;
	}
	return 0;
}

static void attempt_record(struct store *store, const char *name, const char *address, bool success)
{
	char id[STORE_ID_SIZE];
	store_new_id(id);
	struct store_param params[] = {
		STORE_TEXT_PARAM(id),
		STORE_TEXT_PARAM(name),
		address ? STORE_TEXT_PARAM(address) : STORE_NULL_PARAM,
		STORE_INT_PARAM(store_now_ms()),
		STORE_INT_PARAM(success ? 1 : 0),
	};
	struct err e = ERR_INIT;
	if (store_exec(store,
		       "INSERT INTO login_attempts (id, name, address, at, success) VALUES (?, ?, "
		       "?, ?, ?)",
		       params, 5, NULL, &e) != 0)
		log_warn("auth", "cannot record a login attempt", "error", e.msg);
}

/* ---- handlers ---- */

static void set_session_cookie(struct http_request *req, struct http_response *res,
			       const char *value, int64_t max_age_s)
{
	const char *proto = http_request_header(req, "X-Forwarded-Proto");
	bool secure = proto && str_eq_icase(proto, "https");
	char cookie[256];
	snprintf(cookie, sizeof(cookie),
		 AUTH_SESSION_COOKIE "=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict%s",
		 value, (long long)max_age_s, secure ? "; Secure" : "");
	http_response_set_header(res, "Set-Cookie", cookie);
}

/*
 * The User-Agent kept with a session, or NULL: a header may carry any
 * bytes, and a database refuses text that is not UTF-8 (PostgreSQL would
 * fail the whole login).
 */
static const char *session_user_agent(const struct http_request *req)
{
	const char *agent = http_request_header(req, "User-Agent");
	return agent && str_utf8_invalid_at(agent, strlen(agent)) == strlen(agent) ? agent : NULL;
}

static struct http_response login(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	json_t *body;
	struct http_response res;
	if (http_request_json(req, &body, &res) != 0)
		return res;
	const char *name = json_get_str(body, "name", json_get_str(body, "email", NULL));
	const char *password = json_get_str(body, "password", NULL);
	if (!name || !*name || !password || strlen(name) > 320) {
		json_decref(body);
		return http_response_error(422, "login needs \"name\" (or \"email\") and "
						"\"password\" strings");
	}
	const char *address = req->client_address ? req->client_address : "";
	int64_t now = store_now_ms(), account_retry = 0, address_retry = 0;
	struct err e = ERR_INIT;
	if (throttle_wait(ctx->store, "name", name, AUTH_ACCOUNT_FREE_FAILURES, now, &account_retry,
			  &e) != 0 ||
	    throttle_wait(ctx->store, "address", address, AUTH_ADDRESS_FREE_FAILURES, now,
			  &address_retry, &e) != 0) {
		json_decref(body);
		return api_store_error(req, &e, "login");
	}
	int64_t retry_at = account_retry > address_retry ? account_retry : address_retry;
	if (retry_at > now) {
		int64_t seconds = (retry_at - now + 999) / 1000;
		api_audit(ctx, NULL, "auth.login_throttled", name,
			  json_pack("{s:s,s:I}", "address", address, "retry_after",
				    (json_int_t)seconds));
		res = http_response_error_detail(
			429, NULL, json_pack("{s:I}", "retry_after", (json_int_t)seconds),
			"too many failed logins: try again in %lld s", (long long)seconds);
		char text[32];
		snprintf(text, sizeof(text), "%lld", (long long)seconds);
		http_response_set_header(&res, "Retry-After", text);
		json_decref(body);
		return res;
	}
	json_t *user = NULL;
	struct store_param params[] = { STORE_TEXT_PARAM(name), STORE_TEXT_PARAM(name) };
	if (store_query_one(
		    ctx->store,
		    "SELECT id, name, email, kind, password_hash, disabled FROM users WHERE "
		    "(name = ? OR email = ?) AND kind = 'human'",
		    params, 2, &user, &e) != 0) {
		json_decref(body);
		return api_store_error(req, &e, "login");
	}
	bool ok;
	if (user && !json_get_int(user, "disabled", 0))
		ok = passwords_verify(json_get_str(user, "password_hash", NULL), password);
	else {
		passwords_verify_dummy(password);
		ok = false;
	}
	attempt_record(ctx->store, name, address, ok);
	if (!ok) {
		api_audit(ctx, NULL, "auth.login_failed", name,
			  json_pack("{s:s}", "address", address));
		json_decref(user);
		json_decref(body);
		return http_response_error(401, "invalid name or password");
	}
	const char *user_id = json_get_str(user, "id", "");
	const char *agent = session_user_agent(req);
	char family[STORE_ID_SIZE], cookie[PASSWORDS_TOKEN_SIZE], csrf[PASSWORDS_TOKEN_SIZE];
	store_new_id(family);
	json_t *out = NULL;
	if (session_create(ctx->store, user_id, "cookie", NULL, address, agent, AUTH_SESSION_TTL_MS,
			   cookie, csrf, &e) == 0)
		out = token_pair(ctx->store, user_id, family, address, agent, &e);
	if (!out) {
		json_decref(user);
		json_decref(body);
		return api_store_error(req, &e, "session");
	}
	json_object_set_new(out, "csrf_token", json_string(csrf));
	json_object_set_new(out, "user",
			    json_pack("{s:s,s:s,s:s}", "id", user_id, "name",
				      json_get_str(user, "name", ""), "kind", "human"));
	api_audit(ctx, json_get_str(user, "name", ""), "auth.login", json_get_str(user, "name", ""),
		  json_pack("{s:s,s:s}", "address", address, "family", family));
	res = http_response_json(200, out);
	set_session_cookie(req, &res, cookie, AUTH_SESSION_TTL_MS / 1000);
	sodium_memzero(cookie, sizeof(cookie));
	json_decref(user);
	json_decref(body);
	return res;
}

static struct http_response refresh(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	json_t *body;
	struct http_response res;
	if (http_request_json(req, &body, &res) != 0)
		return res;
	const char *token = json_get_str(body, "refresh_token", NULL);
	if (!token) {
		json_decref(body);
		return http_response_error(422, "refresh needs a \"refresh_token\" string");
	}
	char hash[PASSWORDS_TOKEN_HASH_SIZE];
	passwords_token_hash(token, hash);
	json_decref(body);
	struct store_param hp = STORE_TEXT_PARAM(hash);
	json_t *row = NULL;
	struct err e = ERR_INIT;
	if (store_query_one(
		    ctx->store,
		    "SELECT r.id, r.user_id, r.family, r.expires_at, r.rotated_at, r.revoked, "
		    "u.name, u.disabled FROM refresh_tokens r JOIN users u ON u.id = "
		    "r.user_id WHERE r.token_hash = ?",
		    &hp, 1, &row, &e) != 0)
		return api_store_error(req, &e, "refresh token");
	if (!row)
		return http_response_error(401, "invalid refresh token: log in again");
	int64_t now = store_now_ms();
	char family[STORE_ID_SIZE], user_id[STORE_ID_SIZE], name[128];
	snprintf(family, sizeof(family), "%s", json_get_str(row, "family", ""));
	snprintf(user_id, sizeof(user_id), "%s", json_get_str(row, "user_id", ""));
	snprintf(name, sizeof(name), "%s", json_get_str(row, "name", ""));
	bool reused = !json_is_null(json_object_get(row, "rotated_at")) ||
		      json_get_int(row, "revoked", 0);
	bool expired =
		json_get_int(row, "expires_at", 0) <= now || json_get_int(row, "disabled", 0);
	struct store_param rotate[] = { STORE_INT_PARAM(now),
					STORE_TEXT_PARAM(json_get_str(row, "id", "")) };
	int64_t changed = 0;
	if (!reused && !expired &&
	    store_exec(ctx->store,
		       "UPDATE refresh_tokens SET rotated_at = ? WHERE id = ? AND rotated_at IS "
		       "NULL AND revoked = 0",
		       rotate, 2, &changed, &e) != 0) {
		json_decref(row);
		return api_store_error(req, &e, "refresh token");
	}
	json_decref(row);
	if (expired)
		return http_response_error(401, "the refresh token has expired: log in again");
	if (reused || changed != 1) {
		/* A rotated token came back: someone holds a copy. End the whole family. */
		if (family_revoke(ctx->store, family, &e) != 0)
			return api_store_error(req, &e, "refresh token");
		api_audit(ctx, name, "auth.refresh_reuse", name,
			  json_pack("{s:s,s:s}", "family", family, "address",
				    req->client_address ? req->client_address : ""));
		return http_response_error(401, "this refresh token was already used; every "
						"token of its login was revoked: log in again");
	}
	json_t *out = token_pair(ctx->store, user_id, family, req->client_address,
				 session_user_agent(req), &e);
	if (!out)
		return api_store_error(req, &e, "refresh token");
	api_audit(ctx, name, "auth.refresh", name, json_pack("{s:s}", "family", family));
	return http_response_json(200, out);
}

static struct http_response logout(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	const struct auth_request *auth = req->context;
	if (auth->caller.token_id)
		return http_response_error(400, "an API token is not a login: revoke it with "
						"DELETE /api/v1/tokens/{id}");
	struct err e = ERR_INIT;
	struct store_param params[] = { STORE_INT_PARAM(store_now_ms()),
					STORE_TEXT_PARAM(auth->session_id) };
	if (store_exec(ctx->store, "UPDATE sessions SET revoked_at = ? WHERE id = ?", params, 2,
		       NULL, &e) != 0 ||
	    (auth->family && family_revoke(ctx->store, auth->family, &e) != 0))
		return api_store_error(req, &e, "session");
	api_audit(ctx, auth->caller.name, "auth.logout", auth->caller.name,
		  json_pack("{s:s}", "via", auth->via_cookie ? "cookie" : "access_token"));
	struct http_response res = http_response_empty(204);
	if (auth->via_cookie)
		set_session_cookie(req, &res, "", 0);
	return res;
}

static struct http_response me(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	const struct auth_request *auth = req->context;
	const char *project = http_request_query(req, "project");
	json_t *user = NULL, *perms = NULL;
	struct err e = ERR_INIT;
	if (users_find(ctx->store, auth->caller.user_id, &user, &e) != 0 || !user ||
	    rbac_effective_permissions(ctx->store, auth->caller.user_id, auth->caller.is_agent,
				       project, &perms, &e) != 0) {
		json_decref(user);
		return api_store_error(req, &e, "user");
	}
	json_t *out = json_pack("{s:o,s:o,s:s}", "user", user, "permissions", perms, "via",
				auth->via_cookie	? "cookie"
				: auth->caller.token_id ? "api_token"
							: "access_token");
	if (auth->caller.scopes)
		json_object_set(out, "scopes", auth->caller.scopes);
	if (auth->csrf_token)
		json_object_set_new(out, "csrf_token", json_string(auth->csrf_token));
	if (project)
		json_object_set_new(out, "project", json_string(project));
	return http_response_json(200, out);
}

/* ---- the guard ---- */

static const char *cookie_value(const char *header, const char *name, struct arena *arena)
{
	size_t name_len = strlen(name);
	for (const char *p = header; p && *p;) {
		while (*p == ' ' || *p == ';')
			p++;
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len > name_len && strncmp(p, name, name_len) == 0 && p[name_len] == '=')
			return arena_strndup(arena, p + name_len + 1, len - name_len - 1);
		p = end;
	}
	return NULL;
}

static bool deny(struct http_response *denied, int status, const char *code, const char *message)
{
	*denied = http_response_error_detail(status, code, NULL, "%s", message);
	if (status == 401)
		http_response_set_header(denied, "WWW-Authenticate", "Bearer realm=\"ampel\"");
	return false;
}

/* 0: authenticated; 1: no credentials; -1: bad credentials (denied filled). */
static int authenticate(struct auth_state *state, struct http_request *req,
			struct auth_request *auth, struct http_response *denied)
{
	struct store *store = state->ctx->store;
	const char *authorization = http_request_header(req, "Authorization");
	const char *token = NULL;
	bool api_token = false;
	if (authorization) {
		if (strncasecmp(authorization, "Bearer ", 7) != 0)
			return deny(denied, 401, NULL, "Authorization must be \"Bearer <token>\""),
			       -1;
		token = authorization + 7;
		api_token = str_starts_with(token, "amp_");
		if (!api_token && !str_starts_with(token, "ampa_"))
			return deny(denied, 401, NULL, "unknown kind of bearer token"), -1;
	} else {
		token = cookie_value(http_request_header(req, "Cookie"), AUTH_SESSION_COOKIE,
				     req->arena);
		if (!token || !*token)
			return 1;
		auth->via_cookie = true;
	}
	char hash[PASSWORDS_TOKEN_HASH_SIZE];
	passwords_token_hash(token, hash);
	struct store_param params[] = { STORE_TEXT_PARAM(hash),
					STORE_TEXT_PARAM(auth->via_cookie ? "cookie" : "access") };
	json_t *row = NULL;
	struct err e = ERR_INIT;
	int rc = api_token
			 ? store_query_one(
				   store,
				   "SELECT t.id, t.user_id, t.scopes, t.project, t.expires_at, "
				   "t.revoked_at, t.last_used_at, u.name, u.kind, "
				   "u.disabled FROM api_tokens t "
				   "JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?",
				   params, 1, &row, &e)
			 : store_query_one(store,
					   "SELECT s.id, s.user_id, s.family, s.csrf_token, "
					   "s.expires_at, s.revoked_at, u.name, u.kind, u.disabled "
					   "FROM sessions s JOIN users u ON u.id = s.user_id WHERE "
					   "s.token_hash = ? AND s.kind = ?",
					   params, 2, &row, &e);
	if (rc != 0) {
		*denied = api_store_error(req, &e, "session");
		return -1;
	}
	int64_t now = store_now_ms();
	const char *problem = NULL;
	if (!row)
		problem = auth->via_cookie ? "the session is not valid: log in again"
					   : "the token is not valid";
	else if (!json_is_null(json_object_get(row, "revoked_at")))
		problem = "the credential was revoked";
	else if (json_get_int(row, "expires_at", 0) && json_get_int(row, "expires_at", 0) <= now)
		problem = "the credential has expired";
	else if (json_get_int(row, "disabled", 0))
		problem = "the account is disabled";
	if (problem) {
		json_decref(row);
		return deny(denied, 401, NULL, problem), -1;
	}
	struct api_caller *caller = &auth->caller;
	snprintf(caller->user_id, sizeof(caller->user_id), "%s", json_get_str(row, "user_id", ""));
	caller->name = arena_strdup(req->arena, json_get_str(row, "name", ""));
	caller->is_agent = strcmp(json_get_str(row, "kind", ""), "agent") == 0;
	if (api_token) {
		caller->token_id = arena_strdup(req->arena, json_get_str(row, "id", ""));
		const char *token_project = json_get_str(row, "project", NULL);
		caller->token_project =
			token_project ? arena_strdup(req->arena, token_project) : NULL;
		caller->scopes =
			cached_scopes(state, caller->token_id, json_get_str(row, "scopes", "[]"));
		/* A write per request would queue every request behind the one
		 * writer; the last use to the minute is what people look at. */
		int64_t last_used = json_get_int(row, "last_used_at", 0);
		struct store_param used[] = { STORE_INT_PARAM(now),
					      STORE_TEXT_PARAM(caller->token_id) };
		if (now - last_used >= AUTH_TOKEN_USE_RESOLUTION_MS &&
		    store_exec(store, "UPDATE api_tokens SET last_used_at = ? WHERE id = ?", used,
			       2, NULL, &e) != 0)
			log_warn("auth", "cannot record token use", "error", e.msg);
	} else {
		snprintf(auth->session_id, sizeof(auth->session_id), "%s",
			 json_get_str(row, "id", ""));
		const char *family = json_get_str(row, "family", NULL);
		auth->family = family ? arena_strdup(req->arena, family) : NULL;
		if (auth->via_cookie)
			auth->csrf_token =
				arena_strdup(req->arena, json_get_str(row, "csrf_token", ""));
	}
	json_decref(row);
	return 0;
}

static const char *request_project(const struct http_request *req,
				   const struct http_route_meta *meta)
{
	if (meta && meta->project_param)
		return http_request_param(req, meta->project_param);
	const char *project = http_request_param(req, "project");
	return project ? project : http_request_query(req, "project");
}

static bool guard(struct http_request *req, const struct http_route *route,
		  struct http_response *denied, void *user)
{
	struct auth_state *state = user;
	const struct http_route_meta *meta = http_route_meta(route);
	const char *permission = meta ? meta->permission : NULL;
	if (!permission)
		return true;
	struct auth_request *auth = arena_calloc(req->arena, 1, sizeof(*auth));
	int rc = authenticate(state, req, auth, denied);
	if (rc < 0)
		return false;
	if (rc > 0)
		return deny(denied, 401, NULL,
			    "authentication required: log in or send \"Authorization: Bearer "
			    "<token>\"");
	bool safe = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0 ||
		    strcmp(req->method, "OPTIONS") == 0;
	if (auth->via_cookie && !safe &&
	    !passwords_equal(http_request_header(req, AUTH_CSRF_HEADER), auth->csrf_token))
		return deny(denied, 403, "csrf_failed",
			    "this request needs the session's CSRF token in the " AUTH_CSRF_HEADER
			    " header (from login or GET /api/v1/auth/me)");
	req->context = auth;
	if (strcmp(permission, RBAC_SELF) == 0)
		return true;
	const char *project = request_project(req, meta);
	if (!rbac_caller_can(req, state->ctx, permission, project)) {
		req->context = NULL;
		api_audit(state->ctx, auth->caller.name, "access.denied", req->route,
			  json_pack("{s:s,s:s,s:s?}", "method", req->method, "permission",
				    permission, "project", project));
		char message[256];
		snprintf(message, sizeof(message), "you lack the permission %s%s%s", permission,
			 project ? " in project " : "", project ? project : "");
		return deny(denied, 403, NULL, message);
	}
	return true;
}

/* ---- bootstrap and registration ---- */

int api_create_user(struct api_context *ctx, const char *name, const char *email,
		    const char *password, bool admin, struct err *e)
{
	if (!password || strlen(password) < PASSWORDS_MIN_LENGTH)
		return err_set(e, "the password must have at least %d characters",
			       PASSWORDS_MIN_LENGTH);
	char id[STORE_ID_SIZE];
	if (rbac_bootstrap(ctx->store, e) != 0)
		return -1;
	if (users_create(ctx->store, name, email, password, "human", NULL, id, e) != 0)
		return store_error_is_conflict(e)
			       ? err_set(e, "a user named %s or with this email already exists",
					 name)
			       : -1;
	if (admin && users_bind_role(ctx->store, id, "admin", NULL, e) != 0)
		return -1;
	api_audit(ctx, NULL, "user.create", name,
		  json_pack("{s:s,s:s,s:b}", "id", id, "kind", "human", "admin", admin));
	return 0;
}

int api_bootstrap_admin(struct api_context *ctx, char **password_out, struct err *e)
{
	*password_out = NULL;
	/* Without the system roles there is no admin binding; api_create_user makes them. */
	json_t *row = NULL;
	if (store_query_one(
		    ctx->store,
		    "SELECT b.id FROM role_bindings b JOIN roles r ON r.id = b.role_id WHERE "
		    "r.name = 'admin' AND b.project IS NULL LIMIT 1",
		    NULL, 0, &row, e) != 0)
		return -1;
	if (row) {
		json_decref(row);
		return 0;
	}
	char password[32];
	passwords_generate(password);
	if (api_create_user(ctx, "admin", NULL, password, true, e) != 0)
		return err_prefix(e, "cannot create the first admin");
	api_audit(ctx, NULL, "user.bootstrap_admin", "admin", NULL);
	*password_out = strdup(password);
	sodium_memzero(password, sizeof(password));
	return 0;
}

/* The body schemas the routes below name (OpenAPI 3.0 schema objects; docs/http.md). */
static const struct http_schema_spec auth_schemas[] = {
	{ "LoginInput", "{\"type\":\"object\",\"description\":\"name or email, and password\","
			"\"required\":[\"password\"],\"properties\":{"
			"\"name\":{\"type\":\"string\"},"
			"\"email\":{\"type\":\"string\"},"
			"\"password\":{\"type\":\"string\"}}}" },
	{ "Login", "{\"type\":\"object\","
		   "\"required\":[\"access_token\",\"refresh_token\",\"token_type\","
		   "\"expires_in\",\"csrf_token\",\"user\"],\"properties\":{"
		   "\"access_token\":{\"type\":\"string\"},"
		   "\"refresh_token\":{\"type\":\"string\"},"
		   "\"token_type\":{\"type\":\"string\",\"enum\":[\"Bearer\"]},"
		   "\"expires_in\":{\"type\":\"integer\",\"description\":\"seconds\"},"
		   "\"csrf_token\":{\"type\":\"string\"},"
		   "\"user\":{\"type\":\"object\",\"required\":[\"id\",\"name\",\"kind\"],"
		   "\"properties\":{\"id\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},"
		   "\"kind\":{\"type\":\"string\",\"enum\":[\"human\"]}}}}}" },
	{ "RefreshInput", "{\"type\":\"object\","
			  "\"required\":[\"refresh_token\"],\"properties\":{"
			  "\"refresh_token\":{\"type\":\"string\"}}}" },
	{ "TokenPair", "{\"type\":\"object\","
		       "\"required\":[\"access_token\",\"refresh_token\",\"token_type\","
		       "\"expires_in\"],\"properties\":{"
		       "\"access_token\":{\"type\":\"string\"},"
		       "\"refresh_token\":{\"type\":\"string\"},"
		       "\"token_type\":{\"type\":\"string\",\"enum\":[\"Bearer\"]},"
		       "\"expires_in\":{\"type\":\"integer\",\"description\":\"seconds\"}}}" },
	{ "Me",
	  "{\"type\":\"object\","
	  "\"required\":[\"user\",\"permissions\",\"via\"],\"properties\":{"
	  "\"user\":{\"$ref\":\"#/components/schemas/User\"},"
	  "\"permissions\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
	  "\"via\":{\"type\":\"string\",\"enum\":[\"cookie\",\"api_token\",\"access_token\"]},"
	  "\"scopes\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
	  "\"csrf_token\":{\"type\":\"string\"},"
	  "\"project\":{\"type\":\"string\"}}}" },
};

int api_auth_register(struct http_router *router, struct api_context *ctx, struct err *e)
{
	if (rbac_bootstrap(ctx->store, e) != 0)
		return -1;
	const struct http_route_spec routes[] = {
		{ "POST /api/v1/auth/login",
		  login,
		  { .summary = "Log in: a session cookie, an access token and a refresh token",
		    .tags = "auth",
		    .request_schema = "LoginInput",
		    .response_schema = "Login" } },
		{ "POST /api/v1/auth/refresh",
		  refresh,
		  { .summary = "Trade a refresh token for a new access and refresh token",
		    .tags = "auth",
		    .request_schema = "RefreshInput",
		    .response_schema = "TokenPair" } },
		{ "POST /api/v1/auth/logout",
		  logout,
		  { .summary = "End the current session or access token",
		    .tags = "auth",
		    .permission = RBAC_SELF,
		    .success_status = 204 } },
		{ "GET /api/v1/auth/me",
		  me,
		  { .summary = "The caller, its effective permissions and CSRF token",
		    .tags = "auth",
		    .query = "project",
		    .response_schema = "Me",
		    .permission = RBAC_SELF } },
	};
	if (http_router_add_schemas(router, auth_schemas,
				    sizeof(auth_schemas) / sizeof(*auth_schemas), e) != 0)
		return -1;
	if (http_router_add_all(router, routes, sizeof(routes) / sizeof(*routes), ctx, e) != 0)
		return -1;
	if (users_register(router, ctx, e) != 0 || tokens_register(router, ctx, e) != 0 ||
	    rbac_register(router, ctx, e) != 0)
		return -1;
	struct auth_state *state = xcalloc(1, sizeof(*state));
	state->ctx = ctx;
	pthread_mutex_init(&state->lock, NULL);
	state->scopes_by_token = map_new();
	http_router_keep(router, state, auth_state_free);
	http_router_set_guard(router, guard, state);
	return 0;
}
