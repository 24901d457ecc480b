/*
 * server: the HTTP server (libmicrohttpd, epoll, a thread pool) around a router.
 *
 * It owns what every request shares: the body limit and timeouts, the
 * security and request-id headers, the access log line, the metrics, and a
 * graceful stop that lets in-flight requests finish before shutdown hooks
 * (job lease release) run. Handlers never see libmicrohttpd.
 */
#ifndef AMPEL_HTTP_SERVER_H
#define AMPEL_HTTP_SERVER_H

#include "http/openapi.h"

#include <stdbool.h>
#include <stddef.h>

struct err;
struct http_metrics;
struct http_router;
struct http_server;

struct http_server_options {
	const char *listen;		  /* "ADDR:PORT", "[::1]:PORT", ":PORT"; port 0 picks one */
	unsigned threads;		  /* worker threads; 0: 4 */
	size_t max_body_bytes;		  /* larger bodies get 413; 0: 1 MiB */
	unsigned idle_timeout_seconds;	  /* a silent connection is closed; 0: 30 */
	unsigned request_timeout_seconds; /* a body must arrive within; 0: 60 */
	unsigned max_connections;	  /* 0: 1000 */
	struct http_router *router;	  /* required; not modified once started */
	struct http_metrics *metrics;	  /* optional: where requests are counted */
};

#define HTTP_SERVER_DEFAULT_LISTEN "127.0.0.1:8080"

/*
 * Starts listening and serving on worker threads. Fails with a message
 * naming the address (in use, not an address, no permission).
 */
int http_server_start(struct http_server **out, const struct http_server_options *options,
		      struct err *e);
/* The bound port (the real one when 0 was asked for) and "ADDR:PORT". */
unsigned short http_server_port(const struct http_server *server);
const char *http_server_address(const struct http_server *server);

/* Hooks run by http_server_stop after the last request, newest first. */
typedef void http_shutdown_fn(void *user);
void http_server_on_shutdown(struct http_server *server, http_shutdown_fn *hook, void *user);

/*
 * Asks http_server_wait to return. Async-signal-safe: call it from a
 * SIGTERM/SIGINT handler.
 */
void http_server_request_stop(struct http_server *server);
/* Blocks until http_server_request_stop. */
void http_server_wait(struct http_server *server);

/*
 * Graceful stop: refuses new connections at once, lets in-flight requests
 * finish for up to grace_ms, closes the rest, then runs the shutdown hooks.
 * A handler still running at the deadline is waited for (threads cannot be
 * killed safely), but the failure says how many there were. Idempotent.
 */
int http_server_stop(struct http_server *server, unsigned grace_ms, struct err *e);
/* Requests being handled now. */
unsigned http_server_in_flight(const struct http_server *server);
/* Stops (with a 10 s grace) if still running, and frees. */
void http_server_free(struct http_server *server);

/*
 * Readiness: 0 when the server can take traffic, else -1 with the reason
 * in e ("database unreachable: …", "migrations pending: 3 of 7 applied").
 */
typedef int http_ready_fn(void *user, struct err *e);

struct http_system_routes {
	http_ready_fn *ready; /* NULL: ready whenever not shutting down */
	void *ready_user;
	struct http_metrics *metrics;	  /* GET /metrics when not NULL */
	struct http_openapi_info openapi; /* of GET /api/v1/openapi.json */
};

/*
 * GET /health (liveness: 200 {"status":"ok"}), GET /ready (200, or 503
 * with the reason, also while draining), GET /metrics, GET
 * /api/v1/openapi.json (built from the router on each request, so routes
 * added later appear). system is copied; its strings and schemas must
 * outlive the router.
 */
int http_register_system_routes(struct http_router *router, const struct http_system_routes *system,
				struct err *e);

#endif
