/*
 * Authentication on both drivers: login, cookies and CSRF, bearer access
 * tokens, API tokens (shown once, expiry, revocation), refresh rotation with
 * reuse detection, login throttling, logout, the first-admin bootstrap, and
 * the audit entries each of these writes.
 */
#include "unit/api_auth_harness.h"

static void test_login_and_cookie_flags(void **state)
{
	struct fixture *f = *state;
	create_user(f, "alice", false);
	struct reply r = POST(f, "/api/v1/auth/login", NULL,
			      "{\"name\":\"alice\",\"password\":\"correct horse battery\"}");
	expect_status(&r, 200, "login");
	assert_true(strncmp(body_str(&r, "access_token"), "ampa_", 5) == 0);
	assert_true(strncmp(body_str(&r, "refresh_token"), "ampr_", 5) == 0);
	assert_non_null(body_str(&r, "csrf_token"));
	assert_non_null(strstr(r.set_cookie, "ampel_session=amps_"));
	assert_non_null(strstr(r.set_cookie, "HttpOnly"));
	assert_non_null(strstr(r.set_cookie, "SameSite=Strict"));
	assert_non_null(strstr(r.set_cookie, "Path=/"));
	reply_free(&r);
	/* by email too */
	r = POST(f, "/api/v1/auth/login", NULL,
		 "{\"email\":\"alice@example.com\",\"password\":\"correct horse battery\"}");
	expect_status(&r, 200, "login by email");
	reply_free(&r);
	assert_int_equal(audit_count(f, "auth.login", "alice"), 2);
}

static void test_login_failures_look_the_same(void **state)
{
	struct fixture *f = *state;
	create_user(f, "alice", false);
	struct reply bad = POST(f, "/api/v1/auth/login", NULL,
				"{\"name\":\"alice\",\"password\":\"wrong password\"}");
	struct reply unknown = POST(f, "/api/v1/auth/login", NULL,
				    "{\"name\":\"nobody\",\"password\":\"wrong password\"}");
	expect_status(&bad, 401, "bad password");
	expect_status(&unknown, 401, "unknown user");
	char *a = json_dumps(bad.body, JSON_SORT_KEYS),
	     *b = json_dumps(unknown.body, JSON_SORT_KEYS);
	assert_string_equal(a, b);
	free(a);
	free(b);
	assert_string_equal(bad.set_cookie, "");
	reply_free(&bad);
	reply_free(&unknown);
	assert_int_equal(audit_count(f, "auth.login_failed", "alice"), 1);
	assert_int_equal(audit_count(f, "auth.login_failed", "nobody"), 1);
}

static void test_cookie_session_needs_csrf(void **state)
{
	struct fixture *f = *state;
	create_user(f, "alice", false);
	struct reply r = POST(f, "/api/v1/auth/login", NULL,
			      "{\"name\":\"alice\",\"password\":\"correct horse battery\"}");
	expect_status(&r, 200, "login");
	char cookie[256], csrf[128];
	snprintf(cookie, sizeof(cookie), "%.*s", (int)strcspn(r.set_cookie, ";"), r.set_cookie);
	snprintf(csrf, sizeof(csrf), "%s", body_str(&r, "csrf_token"));
	reply_free(&r);

	r = call(f, NULL, "GET", "/api/v1/auth/me", NULL, NULL, "Cookie", cookie, NULL);
	expect_status(&r, 200, "me with cookie");
	assert_string_equal(body_str(&r, "via"), "cookie");
	assert_string_equal(body_str(&r, "csrf_token"), csrf);
	reply_free(&r);

	r = call(f, NULL, "POST", "/api/v1/tokens", NULL, "{\"name\":\"ci\"}", "Cookie", cookie,
		 NULL);
	expect_status(&r, 403, "cookie POST without CSRF");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(r.body, "error"), "code")),
		"csrf_failed");
	reply_free(&r);
	r = call(f, NULL, "POST", "/api/v1/tokens", NULL, "{\"name\":\"ci\"}", "Cookie", cookie,
		 "X-CSRF-Token", "not-the-token", NULL);
	expect_status(&r, 403, "cookie POST with a wrong CSRF token");
	reply_free(&r);
	r = call(f, NULL, "POST", "/api/v1/tokens", NULL, "{\"name\":\"ci\"}", "Cookie", cookie,
		 "X-CSRF-Token", csrf, NULL);
	expect_status(&r, 201, "cookie POST with CSRF");
	reply_free(&r);

	/* Logout through the cookie ends the session and clears the cookie. */
	r = call(f, NULL, "POST", "/api/v1/auth/logout", NULL, NULL, "Cookie", cookie,
		 "X-CSRF-Token", csrf, NULL);
	expect_status(&r, 204, "logout");
	assert_non_null(strstr(r.set_cookie, "Max-Age=0"));
	reply_free(&r);
	r = call(f, NULL, "GET", "/api/v1/auth/me", NULL, NULL, "Cookie", cookie, NULL);
	expect_status(&r, 401, "me after logout");
	reply_free(&r);
	assert_int_equal(audit_count(f, "auth.logout", "alice"), 1);
}

static void test_bearer_and_api_tokens(void **state)
{
	struct fixture *f = *state;
	create_user(f, "alice", false);
	struct reply r = GET(f, "/api/v1/auth/me", NULL);
	expect_status(&r, 401, "no credentials");
	assert_non_null(strstr(r.www_authenticate, "Bearer"));
	reply_free(&r);
	r = GET(f, "/api/v1/auth/me", "ampa_forged");
	expect_status(&r, 401, "forged access token");
	reply_free(&r);
	r = GET(f, "/api/v1/auth/me", "something-else");
	expect_status(&r, 401, "unknown token kind");
	reply_free(&r);

	char *access = login_token(f, "alice");
	r = GET(f, "/api/v1/auth/me", access);
	expect_status(&r, 200, "me with access token");
	assert_string_equal(body_str(&r, "via"), "access_token");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(r.body, "user"), "name")),
		"alice");
	reply_free(&r);

	r = POST(f, "/api/v1/tokens", access,
		 "{\"name\":\"ci\",\"scopes\":[\"project:read\"],\"expires_in\":3600}");
	expect_status(&r, 201, "create token");
	char *token = xstrdup(body_str(&r, "token"));
	char *token_id = xstrdup(body_str(&r, "id"));
	assert_true(strncmp(token, "amp_", 4) == 0);
	reply_free(&r);

	/* Shown once: the list has no value and no hash. */
	r = GET(f, "/api/v1/tokens", access);
	expect_status(&r, 200, "list tokens");
	char *text = json_dumps(r.body, 0);
	assert_null(strstr(text, token));
	assert_null(strstr(text, "token_hash"));
	assert_null(json_object_get(json_array_get(json_object_get(r.body, "items"), 0), "token"));
	free(text);
	reply_free(&r);
	/* Stored hashed only. */
	json_t *rows = NULL;
	struct err e = ERR_INIT;
	assert_int_equal(store_query(f->store, "SELECT * FROM api_tokens", NULL, 0, &rows, &e), 0);
	text = json_dumps(rows, 0);
	assert_null(strstr(text, token));
	free(text);
	json_decref(rows);

	r = GET(f, "/api/v1/auth/me", token);
	expect_status(&r, 200, "me with API token");
	assert_string_equal(body_str(&r, "via"), "api_token");
	reply_free(&r);
	json_t *row = NULL;
	struct store_param idp = STORE_TEXT_PARAM(token_id);
	assert_int_equal(store_query_one(f->store,
					 "SELECT last_used_at FROM api_tokens WHERE id = ?", &idp,
					 1, &row, &e),
			 0);
	assert_true(json_integer_value(json_object_get(row, "last_used_at")) > 0);
	json_decref(row);

	/* Expired. */
	sql(f, "UPDATE api_tokens SET expires_at = 1000 WHERE id = ?", token_id);
	r = GET(f, "/api/v1/auth/me", token);
	expect_status(&r, 401, "expired token");
	reply_free(&r);
	sql(f, "UPDATE api_tokens SET expires_at = NULL WHERE id = ?", token_id);
	/* Revoked. */
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/tokens/%s", token_id);
	r = DELETE(f, path, access);
	expect_status(&r, 204, "revoke token");
	reply_free(&r);
	r = GET(f, "/api/v1/auth/me", token);
	expect_status(&r, 401, "revoked token");
	reply_free(&r);
	assert_int_equal(audit_count(f, "token.create", "alice"), 1);
	assert_int_equal(audit_count(f, "token.revoke", "ci"), 1);

	/* An expired access token. */
	sql(f, "UPDATE sessions SET expires_at = 1000 WHERE kind = ?", "access");
	r = GET(f, "/api/v1/auth/me", access);
	expect_status(&r, 401, "expired access token");
	reply_free(&r);
	free(access);
	free(token);
	free(token_id);
}

static void test_refresh_rotation_and_reuse(void **state)
{
	struct fixture *f = *state;
	create_user(f, "alice", false);
	struct reply r = POST(f, "/api/v1/auth/login", NULL,
			      "{\"name\":\"alice\",\"password\":\"correct horse battery\"}");
	char *first = xstrdup(body_str(&r, "refresh_token"));
	reply_free(&r);
	char body[256];
	snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", first);
	r = POST(f, "/api/v1/auth/refresh", NULL, body);
	expect_status(&r, 200, "refresh");
	char *second = xstrdup(body_str(&r, "refresh_token"));
	char *access = xstrdup(body_str(&r, "access_token"));
	assert_string_not_equal(first, second);
	reply_free(&r);
	r = GET(f, "/api/v1/auth/me", access);
	expect_status(&r, 200, "new access token");
	reply_free(&r);

	/* The rotated token comes back: the whole family dies. */
	r = POST(f, "/api/v1/auth/refresh", NULL, body);
	expect_status(&r, 401, "reuse");
	reply_free(&r);
	snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", second);
	r = POST(f, "/api/v1/auth/refresh", NULL, body);
	expect_status(&r, 401, "newest token of a revoked family");
	reply_free(&r);
	r = GET(f, "/api/v1/auth/me", access);
	expect_status(&r, 401, "access token of a revoked family");
	reply_free(&r);
	r = POST(f, "/api/v1/auth/refresh", NULL, "{\"refresh_token\":\"ampr_nothing\"}");
	expect_status(&r, 401, "unknown refresh token");
	reply_free(&r);
	assert_int_equal(audit_count(f, "auth.refresh", "alice"), 1);
	assert_true(audit_count(f, "auth.refresh_reuse", "alice") >= 1);
	free(first);
	free(second);
	free(access);
}

static void test_login_throttling(void **state)
{
	struct fixture *f = *state;
	create_user(f, "alice", false);
	const char *bad = "{\"name\":\"alice\",\"password\":\"wrong password\"}";
	const char *good = "{\"name\":\"alice\",\"password\":\"correct horse battery\"}";
	for (int i = 0; i < AUTH_ACCOUNT_FREE_FAILURES; i++) {
		struct reply r = POST(f, "/api/v1/auth/login", NULL, bad);
		expect_status(&r, 401, "free failure");
		reply_free(&r);
	}
	/* Now even the right password waits. */
	struct reply r = POST(f, "/api/v1/auth/login", NULL, good);
	expect_status(&r, 429, "throttled");
	assert_true(atoi(r.retry_after) >= 1);
	reply_free(&r);
	assert_int_equal(audit_count(f, "auth.login_throttled", "alice"), 1);
	/* A second later (moved back in the table) one more try is allowed; it fails… */
	sql(f, "UPDATE login_attempts SET at = at - 1500 WHERE name = ?", "alice");
	r = POST(f, "/api/v1/auth/login", NULL, bad);
	expect_status(&r, 401, "try after the wait");
	reply_free(&r);
	/* …and the wait doubles: 1.5 s back is not enough now. */
	sql(f, "UPDATE login_attempts SET at = at - 1500 WHERE name = ?", "alice");
	r = POST(f, "/api/v1/auth/login", NULL, good);
	expect_status(&r, 429, "doubled backoff");
	assert_true(atoi(r.retry_after) >= 1);
	reply_free(&r);
	sql(f, "UPDATE login_attempts SET at = at - 3000 WHERE name = ?", "alice");
	r = POST(f, "/api/v1/auth/login", NULL, good);
	expect_status(&r, 200, "after the backoff");
	reply_free(&r);

	/* Per address: many names from one address. */
	for (int i = 0; i < AUTH_ADDRESS_FREE_FAILURES; i++) {
		char body[128];
		snprintf(body, sizeof(body), "{\"name\":\"guess%d\",\"password\":\"x\"}", i);
		r = call(f, "10.0.0.9", "POST", "/api/v1/auth/login", NULL, body, NULL);
		expect_status(&r, 401, "address failure");
		reply_free(&r);
	}
	r = call(f, "10.0.0.9", "POST", "/api/v1/auth/login", NULL, good, NULL);
	expect_status(&r, 429, "address throttled");
	reply_free(&r);
	r = call(f, "10.0.0.10", "POST", "/api/v1/auth/login", NULL, good, NULL);
	expect_status(&r, 200, "another address");
	reply_free(&r);
}

static void test_logout_access_token(void **state)
{
	struct fixture *f = *state;
	create_user(f, "alice", false);
	char *access = login_token(f, "alice");
	struct reply r = POST(f, "/api/v1/auth/logout", access, NULL);
	expect_status(&r, 204, "logout");
	reply_free(&r);
	r = GET(f, "/api/v1/auth/me", access);
	expect_status(&r, 401, "after logout");
	reply_free(&r);
	free(access);
}

static void test_bootstrap_admin(void **state)
{
	struct fixture *f = *state;
	char *password = NULL;
	struct err e = ERR_INIT;
	assert_int_equal(api_bootstrap_admin(&f->ctx, &password, &e), 0);
	assert_non_null(password);
	char body[256];
	snprintf(body, sizeof(body), "{\"name\":\"admin\",\"password\":\"%s\"}", password);
	struct reply r = POST(f, "/api/v1/auth/login", NULL, body);
	expect_status(&r, 200, "admin login");
	char *access = xstrdup(body_str(&r, "access_token"));
	reply_free(&r);
	r = GET(f, "/api/v1/users", access);
	expect_status(&r, 200, "admin lists users");
	reply_free(&r);
	free(access);
	free(password);
	password = (char *)"unchanged";
	assert_int_equal(api_bootstrap_admin(&f->ctx, &password, &e), 0);
	assert_null(password);
	assert_int_equal(audit_count(f, "user.bootstrap_admin", "admin"), 1);
}

#define AUTH_TESTS(setup)                                                                          \
	cmocka_unit_test_setup_teardown(test_login_and_cookie_flags, setup, teardown),             \
		cmocka_unit_test_setup_teardown(test_login_failures_look_the_same, setup,          \
						teardown),                                         \
		cmocka_unit_test_setup_teardown(test_cookie_session_needs_csrf, setup, teardown),  \
		cmocka_unit_test_setup_teardown(test_bearer_and_api_tokens, setup, teardown),      \
		cmocka_unit_test_setup_teardown(test_refresh_rotation_and_reuse, setup, teardown), \
		cmocka_unit_test_setup_teardown(test_login_throttling, setup, teardown),           \
		cmocka_unit_test_setup_teardown(test_logout_access_token, setup, teardown),        \
		cmocka_unit_test_setup_teardown(test_bootstrap_admin, setup, teardown)

int main(void)
{
	BOTH_DRIVERS(AUTH_TESTS, setup_sqlite);
}
