/*
 * auth: who is calling, and may they. Login, logout, refresh and /me;
 * cookie sessions with a CSRF token; short-lived access tokens with
 * rotating refresh tokens; login throttling; the router guard that
 * authenticates every request and enforces each route's permission.
 */
#ifndef AMPEL_API_AUTH_H
#define AMPEL_API_AUTH_H

#include <stdbool.h>
#include <stdint.h>

struct api_context;
struct err;
struct http_router;

#define AUTH_SESSION_COOKIE "ampel_session"
#define AUTH_CSRF_HEADER    "X-CSRF-Token"
/* Lifetimes, in milliseconds. */
#define AUTH_ACCESS_TTL_MS  (15LL * 60 * 1000)
#define AUTH_REFRESH_TTL_MS (30LL * 24 * 3600 * 1000)
#define AUTH_SESSION_TTL_MS (12LL * 3600 * 1000)
/* An API token's last_used_at is recorded at most this often. */
#define AUTH_TOKEN_USE_RESOLUTION_MS (60LL * 1000)
/* Failures in the window before backoff starts, per account and per address. */
#define AUTH_ACCOUNT_FREE_FAILURES 5
#define AUTH_ADDRESS_FREE_FAILURES 20
#define AUTH_FAILURE_WINDOW_MS	   (15LL * 60 * 1000)
#define AUTH_MAX_BACKOFF_MS	   (15LL * 60 * 1000)

/*
 * Registers every identity and access route (auth, users, agents, tokens,
 * roles, role bindings, delegations), creates the system roles when they
 * are missing, and installs the guard on router.
 */
int api_auth_register(struct http_router *router, struct api_context *ctx, struct err *e);

/*
 * Creates the first admin "admin" with a generated password (*password_out,
 * to free; shown once) when no user holds the admin role; otherwise
 * *password_out = NULL.
 */
int api_bootstrap_admin(struct api_context *ctx, char **password_out, struct err *e);
/* A person with a password; admin binds the admin role globally. */
int api_create_user(struct api_context *ctx, const char *name, const char *email,
		    const char *password, bool admin, struct err *e);

#endif
