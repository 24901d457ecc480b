/*
 * Fuzzes what every JSON route of the API does with a request body: one
 * SQLite store in a temp dir, every /api/v1 route, the bootstrapped admin's
 * API token. The first byte picks a route that takes a body, the second
 * what its path parameters are (a missing id, a real agent, the admin, a
 * secret, the project), the rest is the body, dispatched as the server
 * does (a fresh arena per request, bearer credentials, a JSON type).
 * A 5xx, or an error that is not {"error":{"code","message"}}, aborts.
 * FUZZ_API_ROUTES=1 in the environment lists which first byte is which
 * route (the table grows; seeds in fuzz/corpus/api/ start with that byte).
 */
#include "api/api.h"
#include "api/auth.h"
#include "api/passwords.h"
#include "http/response.h"
#include "http/router.h"
#include "store/jobs.h"
#include "store/store.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What path parameters are filled with: the second byte picks one. */
static const char *const param_values[] = { "zz_fuzz_missing", "fuzz-agent", "admin", "FUZZ_SECRET",
					    "p1" };
enum { PARAM_VALUE_COUNT = sizeof(param_values) / sizeof(*param_values) };

static struct {
	struct store *store;
	struct jobs *jobs;
	struct api_context ctx;
	struct http_router *router;
	char dir[64];
	char authorization[128];
	const struct http_route *body_routes[128];
	size_t body_route_count;
} fx;

static void die(const char *what, const char *message)
{
	fprintf(stderr, "fuzz_api: %s: %s\n", what, message);
	abort();
}

/* Dispatches METHOD path (query after '?') with body as the server would. */
static struct http_response dispatch(const char *method, const char *path, const char *body,
				     size_t body_len, const char *bearer, struct arena *arena)
{
	struct http_pair headers[2];
	size_t header_count = 0;
	headers[header_count++] = (struct http_pair){ "Content-Type", "application/json" };
	if (bearer)
		headers[header_count++] = (struct http_pair){ "Authorization", bearer };
	struct http_pair query[1];
	size_t query_count = 0;
	char *copy = arena_strdup(arena, path);
	char *q = strchr(copy, '?');
	if (q) {
		*q++ = '\0';
		char *eq = strchr(q, '=');
		if (eq)
			*eq++ = '\0';
		query[query_count++] = (struct http_pair){ q, eq ? eq : "" };
	}
	/* The server's bodies are NUL-terminated (and may hold NULs). */
	char *text = arena_alloc(arena, body_len + 1);
	memcpy(text, body, body_len);
	text[body_len] = '\0';
	struct http_request req = {
		.method = method,
		.path = copy,
		.headers = headers,
		.header_count = header_count,
		.query = query,
		.query_count = query_count,
		.body = text,
		.body_len = body_len,
		.client_address = "127.0.0.1",
		.request_id = "fuzz",
		.arena = arena,
	};
	return http_router_dispatch(fx.router, &req);
}

/* A setup call that must succeed: returns member key of the JSON answer (strdup'd). */
static char *setup_call(const char *method, const char *path, const char *body, const char *bearer,
			int want, const char *key)
{
	struct arena *arena = arena_new();
	struct http_response res = dispatch(method, path, body, strlen(body), bearer, arena);
	if (res.status != want)
		die(path, buf_cstr(&res.body));
	char *value = NULL;
	if (key) {
		json_t *doc = json_loads(buf_cstr(&res.body), 0, NULL);
		const char *s = json_string_value(json_object_get(doc, key));
		if (!s)
			die(path, "no such member in the answer");
		value = strdup(s);
		json_decref(doc);
	}
	http_response_free(&res);
	arena_free(arena);
	return value;
}

static void cleanup(void)
{
	char command[128];
	snprintf(command, sizeof(command), "rm -rf '%s'", fx.dir);
	if (fx.dir[0] && system(command) != 0)
		fprintf(stderr, "fuzz_api: could not remove %s\n", fx.dir);
}

static void setup(void)
{
	struct err e = ERR_INIT;
	log_set_level(LOG_OFF);
	passwords_set_fast_for_tests(true);
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/ampel-fuzz-api-XXXXXX");
	if (!mkdtemp(fx.dir))
		die("mkdtemp", fx.dir);
	atexit(cleanup);
	char url[128];
	snprintf(url, sizeof(url), "sqlite:%s/ampel.db", fx.dir);
	if (store_open(&fx.store, url, &e) != 0 || store_migrate(fx.store, &e) != 0)
		die("store", e.msg);
	fx.jobs = jobs_new(fx.store, NULL);
	fx.ctx = (struct api_context){ .store = fx.store, .jobs = fx.jobs, .data_dir = fx.dir };
	char *password = NULL;
	if (api_bootstrap_admin(&fx.ctx, &password, &e) != 0 || !password)
		die("bootstrap", e.msg);
	fx.router = http_router_new();
	if (api_register_all(fx.router, &fx.ctx, &e) != 0)
		die("routes", e.msg);

	/* The admin's API token, made as a client would; and things for ids to name. */
	struct buf body = BUF_INIT;
	buf_addf(&body, "{\"name\":\"admin\",\"password\":\"%s\"}", password);
	free(password);
	char *access = setup_call("POST", "/api/v1/auth/login", buf_cstr(&body), NULL, 200,
				  "access_token");
	char bearer[128];
	snprintf(bearer, sizeof(bearer), "Bearer %s", access);
	char *token =
		setup_call("POST", "/api/v1/tokens", "{\"name\":\"fuzz\"}", bearer, 201, "token");
	snprintf(fx.authorization, sizeof(fx.authorization), "Bearer %s", token);
	free(setup_call("POST", "/api/v1/agents", "{\"name\":\"fuzz-agent\"}", fx.authorization,
			201, NULL));
	free(setup_call("POST", "/api/v1/secrets?project=p1",
			"{\"name\":\"FUZZ_SECRET\",\"value\":\"v\",\"project\":\"p1\"}",
			fx.authorization, 201, NULL));
	free(access);
	free(token);
	buf_free(&body);

	for (size_t i = 0; i < http_router_count(fx.router); i++) {
		const struct http_route *route = http_router_at(fx.router, i);
		const char *method = http_route_method(route);
		if ((strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
		     strcmp(method, "PATCH") == 0) &&
		    fx.body_route_count < sizeof(fx.body_routes) / sizeof(*fx.body_routes))
			fx.body_routes[fx.body_route_count++] = route;
	}
	if (!fx.body_route_count)
		die("routes", "no route takes a body");
	/* FUZZ_API_ROUTES=1: which first byte is which route, for writing seeds. */
	if (getenv("FUZZ_API_ROUTES"))
		for (size_t i = 0; i < fx.body_route_count; i++)
			fprintf(stderr, "fuzz_api: byte %zu: %s %s\n", i,
				http_route_method(fx.body_routes[i]),
				http_route_pattern(fx.body_routes[i]));
}

/* The pattern with every {param} (or {param...}) replaced by value. */
static const char *fill_path(const struct http_route *route, const char *value, struct arena *arena)
{
	struct buf out = BUF_INIT;
	const char *project = http_route_meta(route)->project_param;
	bool has_project = false;
	for (const char *p = http_route_pattern(route); *p;) {
		const char *end = *p == '{' ? strchr(p, '}') : NULL;
		if (!end) {
			buf_addch(&out, *p++);
			continue;
		}
		size_t len = (size_t)(end - p - 1);
		if (len > 3 && strncmp(end - 3, "...", 3) == 0)
			len -= 3;
		bool is_project =
			(project && strlen(project) == len && strncmp(p + 1, project, len) == 0) ||
			(len == 7 && strncmp(p + 1, "project", 7) == 0);
		has_project = has_project || is_project;
		buf_adds(&out, is_project ? "p1" : value);
		p = end + 1;
	}
	if (!has_project)
		buf_adds(&out, "?project=p1");
	const char *path = arena_strdup(arena, buf_cstr(&out));
	buf_free(&out);
	return path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!fx.router)
		setup();
	if (size < 2)
		return 0;
	const struct http_route *route = fx.body_routes[data[0] % fx.body_route_count];
	const char *value = param_values[data[1] % PARAM_VALUE_COUNT];
	struct arena *arena = arena_new();
	const char *path = fill_path(route, value, arena);
	struct http_response res = dispatch(http_route_method(route), path, (const char *)data + 2,
					    size - 2, fx.authorization, arena);
	if (res.status >= 500 || res.status < 100) {
		fprintf(stderr, "fuzz_api: %s %s answered %d: %s\n", http_route_method(route), path,
			res.status, buf_cstr(&res.body));
		abort();
	}
	if (res.status >= 400) {
		json_t *doc = json_loads(buf_cstr(&res.body), 0, NULL);
		json_t *error = json_object_get(doc, "error");
		if (!json_is_string(json_object_get(error, "code")) ||
		    !json_is_string(json_object_get(error, "message"))) {
			fprintf(stderr, "fuzz_api: %s %s answered %d without an error object: %s\n",
				http_route_method(route), path, res.status, buf_cstr(&res.body));
			abort();
		}
		json_decref(doc);
	}
	http_response_free(&res);
	arena_free(arena);
	return 0;
}
