/*
 * The HTTP layer against a real server on 127.0.0.1 (an ephemeral port),
 * driven by libcurl: routing, errors, limits, headers, the access log,
 * system routes, metrics, the OpenAPI document, pagination, graceful
 * shutdown and many requests at once.
 */
#include "http/metrics.h"
#include "http/openapi.h"
#include "http/response.h"
#include "http/router.h"
#include "http/server.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"
#include "util/xalloc.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { MAX_BODY = 4096, ITEM_COUNT = 25, PAGE_DEFAULT = 10, PAGE_MAX = 20 };

/* One server per test, so that metrics and logs start empty. */
struct fixture {
	struct http_router *router;
	struct http_metrics *metrics;
	struct http_server *server;
	FILE *log;
	char base[64];
};

static struct fixture fx;
static atomic_bool ready_flag;
static atomic_int shutdown_hook_runs;

/* The slow route blocks until the test releases it. */
static pthread_mutex_t slow_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slow_cond = PTHREAD_COND_INITIALIZER;
static bool slow_entered;
static bool slow_released;

/* ---- handlers ---- */

static struct http_response handle_user_tokens(struct http_request *req)
{
	const char *q = http_request_query(req, "q");
	return http_response_json(200,
				  json_pack("{s:s,s:s,s:s?}", "user", http_request_param(req, "id"),
					    "route", req->route, "q", q));
}

static struct http_response handle_user_me(struct http_request *req)
{
	return http_response_json(200, json_pack("{s:s}", "user", "me"));
}

static struct http_response handle_user_delete(struct http_request *req)
{
	return http_response_empty(204);
}

static struct http_response handle_echo(struct http_request *req)
{
	json_t *body;
	struct http_response error;
	if (http_request_json(req, &body, &error) != 0)
		return error;
	return http_response_json(201, body);
}

static struct http_response handle_error(struct http_request *req)
{
	int status = atoi(http_request_param(req, "status"));
	return http_response_error(status, "this is a %d", status);
}

static struct http_response handle_files(struct http_request *req)
{
	const char *path = http_request_param(req, "path");
	return http_response_text(200, "text/plain", path, strlen(path));
}

static struct http_response handle_page(struct http_request *req)
{
	static const char html[] = "<!doctype html><title>x</title>";
	return http_response_text(200, "text/html; charset=utf-8", html, sizeof(html) - 1);
}

static struct http_response handle_items(struct http_request *req)
{
	struct http_page page;
	struct http_response error;
	if (http_page_from_request(req, PAGE_DEFAULT, PAGE_MAX, &page, &error) != 0)
		return error;
	int start = 1;
	if (page.after_id)
		start = atoi(page.after_id + strlen("item-")) + 1;
	json_t *items = json_array();
	char id[32] = "";
	int i = start;
	for (; i <= ITEM_COUNT && json_array_size(items) < page.limit; i++) {
		snprintf(id, sizeof(id), "item-%03d", i);
		json_array_append_new(items, json_pack("{s:s}", "id", id));
	}
	http_page_free(&page);
	return http_response_json(200, http_page_envelope(items, i <= ITEM_COUNT ? id : NULL));
}

static struct http_response handle_slow(struct http_request *req)
{
	pthread_mutex_lock(&slow_lock);
	slow_entered = true;
	pthread_cond_broadcast(&slow_cond);
	while (!slow_released)
		pthread_cond_wait(&slow_cond, &slow_lock);
	pthread_mutex_unlock(&slow_lock);
	return http_response_text(200, "text/plain", "done", 4);
}

static struct http_response handle_secret(struct http_request *req)
{
	return http_response_json(200, json_pack("{s:s}", "caller", (const char *)req->context));
}

/* Bearer "good" is user alice; anything else is refused before the handler. */
static bool guard(struct http_request *req, const struct http_route *route,
		  struct http_response *denied, void *user)
{
	const char *permission = http_route_meta(route)->permission;
	if (!permission)
		return true;
	const char *auth = http_request_header(req, "Authorization");
	if (!auth) {
		*denied = http_response_error(401, "log in first");
		return false;
	}
	if (strcmp(auth, "Bearer good") != 0) {
		*denied = http_response_error(403, "you lack %s", permission);
		return false;
	}
	req->context = "alice";
	return true;
}

static int ready_check(void *user, struct err *e)
{
	if (atomic_load(&ready_flag))
		return 0;
	return err_set(e, "database unreachable: connection refused");
}

static void collect_jobs(struct buf *out, void *user)
{
	http_metrics_write_family(out, "ampel_jobs", "gauge", "Jobs by state.");
	const char *queued[] = { "state", "queued", NULL };
	const char *odd[] = { "state", "we\"ird\\\nname", NULL };
	http_metrics_write_sample(out, "ampel_jobs", queued, 3);
	http_metrics_write_sample(out, "ampel_jobs", odd, 1);
}

static void on_shutdown(void *user)
{
	atomic_fetch_add(&shutdown_hook_runs, 1);
}

/* ---- fixture ---- */

static void add_route(const char *spec, http_handler_fn *fn, struct http_route_meta meta)
{
	struct err e = ERR_INIT;
	if (http_router_add(fx.router, spec, fn, NULL, &meta, &e) != 0)
		fail_msg("%s", e.msg);
}

static int setup(void **state)
{
	memset(&fx, 0, sizeof(fx));
	atomic_store(&ready_flag, true);
	atomic_store(&shutdown_hook_runs, 0);
	slow_entered = slow_released = false;
	fx.log = tmpfile();
	log_set_stream(fx.log);
	log_set_level(LOG_INFO);
	fx.router = http_router_new();
	fx.metrics = http_metrics_new();
	http_metrics_add_collector(fx.metrics, collect_jobs, NULL);
	http_router_set_guard(fx.router, guard, NULL);
	struct err e = ERR_INIT;
	struct http_system_routes system = {
		.ready = ready_check,
		.metrics = fx.metrics,
		.openapi = { .title = "Ampel test", .version = "1" },
	};
	if (http_register_system_routes(fx.router, &system, &e) != 0)
		fail_msg("%s", e.msg);
	add_route("GET /api/v1/users/{id}/tokens", handle_user_tokens,
		  (struct http_route_meta){ .summary = "List a user's tokens",
					    .tags = "users, tokens",
					    .response_schema = "Token",
					    .permission = NULL,
					    .query = "q" });
	add_route("GET /api/v1/users/me", handle_user_me,
		  (struct http_route_meta){ .summary = "The caller", .tags = "users" });
	add_route("DELETE /api/v1/users/{id}", handle_user_delete,
		  (struct http_route_meta){ .summary = "Delete a user",
					    .permission = "user:delete",
					    .success_status = 204 });
	add_route("POST /api/v1/echo", handle_echo,
		  (struct http_route_meta){ .summary = "Echo a JSON object",
					    .request_schema = "Anything",
					    .response_schema = "Anything",
					    .success_status = 201 });
	add_route("GET /api/v1/errors/{status}", handle_error,
		  (struct http_route_meta){ .summary = "Answer with an error" });
	add_route("GET /api/v1/items", handle_items,
		  (struct http_route_meta){ .summary = "Items, paginated",
					    .response_schema = "Item",
					    .paginated = true });
	add_route("GET /api/v1/slow", handle_slow, (struct http_route_meta){ .summary = "Slow" });
	add_route("GET /api/v1/secret", handle_secret,
		  (struct http_route_meta){ .summary = "Needs a permission",
					    .permission = "secret:read" });
	add_route("GET /files/{path...}", handle_files, (struct http_route_meta){ 0 });
	add_route("GET /page", handle_page, (struct http_route_meta){ 0 });
	static const struct http_schema_spec schemas[] = {
		{ "Token", "{\"type\": \"object\", \"required\": [\"id\"], "
			   "\"properties\": {\"id\": {\"type\": \"string\"}}}" },
		{ "Anything", "{\"type\": \"object\", \"properties\": {}}" },
		{ "Item", "{\"type\": \"object\", \"properties\": {\"id\": {\"type\": "
			  "\"integer\"}}}" },
	};
	if (http_router_add_schemas(fx.router, schemas, sizeof(schemas) / sizeof(*schemas), &e) !=
	    0)
		fail_msg("%s", e.msg);
	struct http_server_options options = {
		.listen = "127.0.0.1:0",
		.threads = 4,
		.max_body_bytes = MAX_BODY,
		.router = fx.router,
		.metrics = fx.metrics,
	};
	if (http_server_start(&fx.server, &options, &e) != 0)
		fail_msg("%s", e.msg);
	http_server_on_shutdown(fx.server, on_shutdown, NULL);
	snprintf(fx.base, sizeof(fx.base), "http://127.0.0.1:%u", http_server_port(fx.server));
	return 0;
}

static int teardown(void **state)
{
	http_server_free(fx.server);
	http_router_free(fx.router);
	http_metrics_free(fx.metrics);
	log_set_stream(NULL);
	fclose(fx.log);
	return 0;
}

/* ---- client ---- */

struct reply {
	long status;
	struct buf body;
	struct buf headers;
	json_t *json;
};

static size_t on_body(char *data, size_t size, size_t n, void *user)
{
	buf_add(user, data, size * n);
	return size * n;
}

static size_t on_header(char *data, size_t size, size_t n, void *user)
{
	struct buf *headers = user;
	/* Keep only the last response's headers (a 100 Continue comes first). */
	if (size * n > 5 && strncmp(data, "HTTP/", 5) == 0)
		buf_reset(headers);
	buf_add(headers, data, size * n);
	return size * n;
}

static void reply_free(struct reply *r)
{
	buf_free(&r->body);
	buf_free(&r->headers);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

/* The value of a response header, or NULL; points into a per-thread buffer. */
static const char *reply_header(const struct reply *r, const char *name)
{
	static _Thread_local char value[512];
	size_t name_len = strlen(name);
	const char *line = buf_cstr(&r->headers);
	while (*line) {
		const char *end = strstr(line, "\r\n");
		size_t len = end ? (size_t)(end - line) : strlen(line);
		if (len > name_len && line[name_len] == ':' &&
		    str_eq_icase_n(line, name_len, name, name_len)) {
			const char *v = line + name_len + 1;
			while (*v == ' ')
				v++;
			snprintf(value, sizeof(value), "%.*s", (int)(len - (size_t)(v - line)), v);
			return value;
		}
		if (!end)
			break;
		line = end + 2;
	}
	return NULL;
}

/*
 * One request on handle (reused for keep-alive; NULL for a fresh one).
 * headers: NULL-terminated list of "Name: value".
 */
static CURLcode request_on(CURL *handle, const char *method, const char *path, const char *body,
			   size_t body_len, const char *const *headers, struct reply *out)
{
	memset(out, 0, sizeof(*out));
	CURL *curl = handle ? handle : curl_easy_init();
	curl_easy_reset(curl);
	struct buf url = BUF_INIT;
	buf_addf(&url, "%s%s", fx.base, path);
	struct curl_slist *list = NULL;
	for (size_t i = 0; headers && headers[i]; i++)
		list = curl_slist_append(list, headers[i]);
	curl_easy_setopt(curl, CURLOPT_URL, url.data);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	if (body) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out->body);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &out->headers);
	CURLcode rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
	const char *type = reply_header(out, "Content-Type");
	if (type && str_starts_with(type, "application/json"))
		out->json = json_loadb(buf_cstr(&out->body), out->body.len, 0, NULL);
	curl_slist_free_all(list);
	buf_free(&url);
	if (!handle)
		curl_easy_cleanup(curl);
	return rc;
}

static void request(const char *method, const char *path, const char *body,
		    const char *const *headers, struct reply *out)
{
	CURLcode rc = request_on(NULL, method, path, body, body ? strlen(body) : 0, headers, out);
	if (rc != CURLE_OK)
		fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
}

static void assert_error(const struct reply *r, long status, const char *code)
{
	assert_int_equal(r->status, status);
	assert_non_null(r->json);
	json_t *error = json_object_get(r->json, "error");
	assert_true(json_is_object(error));
	assert_string_equal(json_string_value(json_object_get(error, "code")), code);
	const char *message = json_string_value(json_object_get(error, "message"));
	assert_non_null(message);
	assert_true(strlen(message) > 0);
}

static char *read_log(void)
{
	fflush(fx.log);
	rewind(fx.log);
	struct buf text = BUF_INIT;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), fx.log)) > 0)
		buf_add(&text, chunk, n);
	return buf_detach(&text);
}

/* RFC 6901: "/paths/~1api~1v1~1echo/post" (~1 is '/', ~0 is '~'); NULL when absent. */
static json_t *json_pointer(json_t *doc, const char *pointer)
{
	json_t *at = doc;
	const char *p = pointer;
	while (at && *p == '/') {
		p++;
		struct buf token = BUF_INIT;
		while (*p && *p != '/') {
			if (p[0] == '~' && p[1] == '1') {
				buf_addch(&token, '/');
				p += 2;
			} else if (p[0] == '~' && p[1] == '0') {
				buf_addch(&token, '~');
				p += 2;
			} else {
				buf_addch(&token, *p++);
			}
		}
		if (json_is_array(at))
			at = json_array_get(at, strtoul(buf_cstr(&token), NULL, 10));
		else
			at = json_object_get(at, buf_cstr(&token));
		buf_free(&token);
	}
	return at;
}

/* ---- tests ---- */

static void test_routing_with_params(void **state)
{
	struct reply r;
	request("GET", "/api/v1/users/42/tokens?q=abc", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "user")), "42");
	assert_string_equal(json_string_value(json_object_get(r.json, "route")),
			    "/api/v1/users/{id}/tokens");
	assert_string_equal(json_string_value(json_object_get(r.json, "q")), "abc");
	reply_free(&r);

	/* A literal segment beats a parameter. */
	request("GET", "/api/v1/users/me", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "user")), "me");
	reply_free(&r);
	/* …and for other methods the parameter route still applies. */
	request("DELETE", "/api/v1/users/me", NULL,
		(const char *[]){ "Authorization: Bearer good", NULL }, &r);
	assert_int_equal(r.status, 204);
	reply_free(&r);

	/* A {rest...} parameter takes the remaining path. */
	request("GET", "/files/a/b/c.txt", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(buf_cstr(&r.body), "a/b/c.txt");
	reply_free(&r);
	request("GET", "/files/", NULL, NULL, &r);
	assert_int_equal(r.status, 404);
	reply_free(&r);

	/* HEAD is GET without a body. */
	request("HEAD", "/health", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 0);
	reply_free(&r);
}

static void test_router_schemas(void **state)
{
	struct http_router *router = http_router_new();
	struct err e = ERR_INIT;
	assert_null(http_router_schema(router, "Thing"));
	assert_int_equal(http_router_add_schema(router, "Thing",
						"{\"type\": \"object\", \"properties\": "
						"{\"id\": {\"type\": \"string\"}}}",
						&e),
			 0);
	const json_t *thing = http_router_schema(router, "Thing");
	assert_non_null(thing);
	assert_string_equal(json_string_value(json_object_get(thing, "type")), "object");
	/* Twice, not JSON, not an object, duplicate keys, no name: refused, naming the schema. */
	assert_int_equal(http_router_add_schema(router, "Thing", "{}", &e), -1);
	assert_non_null(strstr(e.msg, "Thing"));
	assert_int_equal(http_router_add_schema(router, "Bad", "{\"type\": ", &e), -1);
	assert_non_null(strstr(e.msg, "Bad"));
	assert_int_equal(http_router_add_schema(router, "Bad", "[]", &e), -1);
	assert_int_equal(http_router_add_schema(router, "Bad", "{\"a\": 1, \"a\": 2}", &e), -1);
	assert_int_equal(http_router_add_schema(router, "", "{}", &e), -1);
	assert_null(http_router_schema(router, "Bad"));
	/* The document takes the router's schema over http_openapi_info's, else a placeholder. */
	assert_int_equal(http_router_add(router, "POST /api/v1/things", handle_echo, NULL,
					 &(struct http_route_meta){ .request_schema = "Thing",
								    .response_schema = "Other" },
					 &e),
			 0);
	json_t *given =
		json_pack("{s:{s:s},s:{s:s}}", "Thing", "type", "string", "Other", "type", "array");
	struct http_openapi_info info = { .schemas = given };
	json_t *doc = http_openapi_build(router, &info);
	json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
	assert_true(json_equal(json_object_get(schemas, "Thing"), (json_t *)thing));
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(schemas, "Other"), "type")),
		"array");
	json_decref(doc);
	doc = http_openapi_build(router, NULL);
	schemas = json_object_get(json_object_get(doc, "components"), "schemas");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(schemas, "Other"), "type")),
		"object");
	json_decref(doc);
	json_decref(given);
	http_router_free(router);
}

static void test_router_table(void **state)
{
	struct http_router *router = http_router_new();
	struct err e = ERR_INIT;
	assert_int_equal(http_router_add(router, "GET /a/{id}", handle_user_me, NULL, NULL, &e), 0);
	assert_int_equal(http_router_add(router, "GET /a/{other}", handle_user_me, NULL, NULL, &e),
			 -1);
	assert_non_null(strstr(e.msg, "already added"));
	assert_int_equal(http_router_add(router, "GET a", handle_user_me, NULL, NULL, &e), -1);
	assert_int_equal(http_router_add(router, "GET /a/{x", handle_user_me, NULL, NULL, &e), -1);
	assert_int_equal(http_router_add(router, "GET /a/x{y}", handle_user_me, NULL, NULL, &e),
			 -1);
	assert_int_equal(http_router_add(router, "GET /{p...}/x", handle_user_me, NULL, NULL, &e),
			 -1);
	assert_int_equal(http_router_add(router, "GET /a//b", handle_user_me, NULL, NULL, &e), -1);
	assert_int_equal(http_router_add(router, "GET /b/", handle_user_me, NULL, NULL, &e), -1);
	assert_int_equal(http_router_add(router, "BREW /c", handle_user_me, NULL, NULL, &e), -1);
	assert_int_equal(http_router_add(router, "GET /x/{a}/{a}", handle_user_me, NULL, NULL, &e),
			 -1);
	assert_int_equal(http_router_add(router, "/nomethod", handle_user_me, NULL, NULL, &e), -1);
	assert_int_equal(http_router_add(router, "GET /", handle_user_me, NULL, NULL, &e), 0);
	assert_int_equal(http_router_count(router), 2);
	const struct http_route *route = http_router_at(router, 0);
	assert_string_equal(http_route_method(route), "GET");
	assert_string_equal(http_route_pattern(route), "/a/{id}");
	assert_int_equal(http_route_param_count(route), 1);
	assert_string_equal(http_route_param_name(route, 0), "id");
	http_router_free(router);
}

static void test_not_found_and_method_not_allowed(void **state)
{
	struct reply r;
	request("GET", "/nope", NULL, NULL, &r);
	assert_error(&r, 404, "not_found");
	reply_free(&r);
	request("GET", "/api/v1/users/42/tokens/extra", NULL, NULL, &r);
	assert_error(&r, 404, "not_found");
	reply_free(&r);

	request("POST", "/api/v1/users/42/tokens", "{}", NULL, &r);
	assert_error(&r, 405, "method_not_allowed");
	assert_string_equal(reply_header(&r, "Allow"), "GET, HEAD, OPTIONS");
	reply_free(&r);

	request("PUT", "/api/v1/users/42", "{}", NULL, &r);
	assert_error(&r, 405, "method_not_allowed");
	assert_string_equal(reply_header(&r, "Allow"), "DELETE, OPTIONS");
	reply_free(&r);

	request("OPTIONS", "/api/v1/users/42/tokens", NULL, NULL, &r);
	assert_int_equal(r.status, 204);
	assert_string_equal(reply_header(&r, "Allow"), "GET, HEAD, OPTIONS");
	reply_free(&r);
}

struct chunked_source {
	size_t left;
};

static size_t read_chunks(char *out, size_t size, size_t n, void *user)
{
	struct chunked_source *src = user;
	size_t len = size * n < 1000 ? size * n : 1000;
	if (len > src->left)
		len = src->left;
	memset(out, 'x', len);
	src->left -= len;
	return len;
}

static void test_body_limit(void **state)
{
	struct reply r;
	/* Declared too large: refused from the Content-Length, before the body. */
	char *big = xmalloc(MAX_BODY * 4 + 1);
	memset(big, ' ', MAX_BODY * 4);
	big[0] = '{';
	big[MAX_BODY * 4 - 1] = '}';
	big[MAX_BODY * 4] = '\0';
	request("POST", "/api/v1/echo", big,
		(const char *[]){ "Content-Type: application/json", NULL }, &r);
	assert_error(&r, 413, "payload_too_large");
	reply_free(&r);

	/* Chunked, with no length to go by: refused once it passes the limit. */
	CURL *curl = curl_easy_init();
	struct chunked_source src = { .left = MAX_BODY * 3 };
	struct buf body = BUF_INIT, headers = BUF_INIT;
	struct buf url = BUF_INIT;
	buf_addf(&url, "%s/api/v1/echo", fx.base);
	struct curl_slist *list = curl_slist_append(NULL, "Transfer-Encoding: chunked");
	list = curl_slist_append(list, "Expect:");
	curl_easy_setopt(curl, CURLOPT_URL, url.data);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_chunks);
	curl_easy_setopt(curl, CURLOPT_READDATA, &src);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &headers);
	CURLcode rc = curl_easy_perform(curl);
	long status = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	/* The rest of the body was read and dropped, so the answer arrives intact. */
	assert_int_equal(rc, CURLE_OK);
	assert_int_equal(status, 413);
	assert_non_null(strstr(buf_cstr(&body), "payload_too_large"));
	curl_slist_free_all(list);
	curl_easy_cleanup(curl);
	buf_free(&body);
	buf_free(&headers);
	buf_free(&url);

	/* Far too large, and the client waits for 100 Continue: refused before it sends. */
	size_t huge_len = 8u * 1024 * 1024;
	char *huge = xmalloc(huge_len);
	memset(huge, ' ', huge_len);
	assert_int_equal(request_on(NULL, "POST", "/api/v1/echo", huge, huge_len,
				    (const char *[]){ "Expect: 100-continue", NULL }, &r),
			 CURLE_OK);
	assert_error(&r, 413, "payload_too_large");
	reply_free(&r);
	free(huge);

	/* Exactly at the limit is fine. */
	memset(big, ' ', MAX_BODY);
	big[0] = '{';
	big[MAX_BODY - 1] = '}';
	big[MAX_BODY] = '\0';
	request("POST", "/api/v1/echo", big, NULL, &r);
	assert_int_equal(r.status, 201);
	reply_free(&r);
	free(big);
}

static void test_malformed_json(void **state)
{
	struct reply r;
	request("POST", "/api/v1/echo", "{\"a\": 1,\n \"b\": }",
		(const char *[]){ "Content-Type: application/json", NULL }, &r);
	assert_error(&r, 400, "bad_request");
	json_t *error = json_object_get(r.json, "error");
	const char *message = json_string_value(json_object_get(error, "message"));
	assert_non_null(strstr(message, "line 2, column"));
	assert_int_equal(json_integer_value(json_object_get(error, "line")), 2);
	assert_true(json_integer_value(json_object_get(error, "column")) > 0);
	reply_free(&r);

	request("POST", "/api/v1/echo", "", NULL, &r);
	assert_error(&r, 400, "bad_request");
	reply_free(&r);
	request("POST", "/api/v1/echo", "{\"a\":1,\"a\":2}", NULL, &r);
	assert_error(&r, 400, "bad_request");
	reply_free(&r);
	request("POST", "/api/v1/echo", "[1, 2]", NULL, &r);
	assert_error(&r, 422, "unprocessable");
	reply_free(&r);
	request("POST", "/api/v1/echo", "{}", (const char *[]){ "Content-Type: text/plain", NULL },
		&r);
	assert_error(&r, 415, "unsupported_media_type");
	reply_free(&r);

	request("POST", "/api/v1/echo", "{\"name\": \"ampel\"}",
		(const char *[]){ "Content-Type: application/json; charset=utf-8", NULL }, &r);
	assert_int_equal(r.status, 201);
	assert_string_equal(json_string_value(json_object_get(r.json, "name")), "ampel");
	reply_free(&r);
}

static void test_error_shapes(void **state)
{
	static const struct {
		int status;
		const char *code;
	} cases[] = {
		{ 400, "bad_request" },	       { 401, "unauthorized" },
		{ 403, "forbidden" },	       { 404, "not_found" },
		{ 405, "method_not_allowed" }, { 409, "conflict" },
		{ 413, "payload_too_large" },  { 422, "unprocessable" },
		{ 429, "too_many_requests" },  { 500, "internal" },
		{ 503, "unavailable" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[64];
		snprintf(path, sizeof(path), "/api/v1/errors/%d", cases[i].status);
		struct reply r;
		request("GET", path, NULL, NULL, &r);
		assert_error(&r, cases[i].status, cases[i].code);
		assert_string_equal(reply_header(&r, "Content-Type"), "application/json");
		/* Nothing but "error" at the top. */
		assert_int_equal(json_object_size(r.json), 1);
		reply_free(&r);
		assert_string_equal(http_status_code(cases[i].status), cases[i].code);
	}
	assert_string_equal(http_status_code(299), "error");

	/* The guard's refusals take the same shape. */
	struct reply r;
	request("GET", "/api/v1/secret", NULL, NULL, &r);
	assert_error(&r, 401, "unauthorized");
	reply_free(&r);
	request("GET", "/api/v1/secret", NULL,
		(const char *[]){ "Authorization: Bearer bad", NULL }, &r);
	assert_error(&r, 403, "forbidden");
	reply_free(&r);
	request("GET", "/api/v1/secret", NULL,
		(const char *[]){ "Authorization: Bearer good", NULL }, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "caller")), "alice");
	reply_free(&r);
}

static void test_security_headers(void **state)
{
	static const char *const paths[] = { "/health", "/api/v1/users/1/tokens", "/nope",
					     "/metrics", "/page" };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct reply r;
		request("GET", paths[i], NULL, NULL, &r);
		assert_string_equal(reply_header(&r, "X-Content-Type-Options"), "nosniff");
		assert_string_equal(reply_header(&r, "X-Frame-Options"), "DENY");
		assert_string_equal(reply_header(&r, "Referrer-Policy"), "no-referrer");
		const char *csp = reply_header(&r, "Content-Security-Policy");
		assert_non_null(csp);
		if (strcmp(paths[i], "/page") == 0)
			assert_non_null(strstr(csp, "default-src 'self'"));
		else
			assert_string_equal(csp,
					    "default-src 'none'; frame-ancestors 'none'; sandbox");
		const char *cache = reply_header(&r, "Cache-Control");
		if (str_starts_with(paths[i], "/api/"))
			assert_string_equal(cache, "no-store");
		else
			assert_null(cache);
		reply_free(&r);
	}
}

static bool is_hex(const char *s, size_t len)
{
	return strlen(s) == len && strspn(s, "0123456789abcdef") == len;
}

static void test_request_id_and_access_log(void **state)
{
	struct reply a, b, c, d;
	request("GET", "/health", NULL, NULL, &a);
	request("GET", "/health", NULL, NULL, &b);
	char id_a[80], id_b[80];
	snprintf(id_a, sizeof(id_a), "%s", reply_header(&a, "X-Request-Id"));
	snprintf(id_b, sizeof(id_b), "%s", reply_header(&b, "X-Request-Id"));
	assert_true(is_hex(id_a, 32));
	assert_true(is_hex(id_b, 32));
	assert_string_not_equal(id_a, id_b);
	/* A caller's id is kept when tame, replaced otherwise. */
	request("GET", "/health", NULL, (const char *[]){ "X-Request-Id: trace-123.abc", NULL },
		&c);
	assert_string_equal(reply_header(&c, "X-Request-Id"), "trace-123.abc");
	request("GET", "/health", NULL, (const char *[]){ "X-Request-Id: bad id<script>", NULL },
		&d);
	assert_true(is_hex(reply_header(&d, "X-Request-Id"), 32));
	reply_free(&a);
	reply_free(&b);
	reply_free(&c);
	reply_free(&d);

	/* Secrets in the Authorization header, the query or the body never reach the log. */
	struct reply e;
	request("POST", "/api/v1/echo?token=querysecret", "{\"password\": \"bodysecret\"}",
		(const char *[]){ "Authorization: Bearer headersecret", "X-Request-Id: logged-1",
				  NULL },
		&e);
	assert_int_equal(e.status, 201);
	reply_free(&e);
	/* Completion (and so the log line) may trail the response by a moment. */
	char *log = NULL;
	for (int tries = 0; tries < 500; tries++) {
		free(log);
		log = read_log();
		if (strstr(log, "request_id=logged-1"))
			break;
		usleep(10000);
	}
	const char *line = strstr(log, "request_id=logged-1");
	assert_non_null(line);
	while (line > log && line[-1] != '\n')
		line--;
	const char *end = strchr(line, '\n');
	char *entry = xstrndup(line, end ? (size_t)(end - line) : strlen(line));
	assert_non_null(strstr(entry, "http: request"));
	assert_non_null(strstr(entry, "method=POST"));
	assert_non_null(strstr(entry, "path=/api/v1/echo"));
	assert_non_null(strstr(entry, "route=/api/v1/echo"));
	assert_non_null(strstr(entry, "status=201"));
	assert_non_null(strstr(entry, "bytes="));
	assert_non_null(strstr(entry, "duration_ms="));
	assert_non_null(strstr(entry, "remote=127.0.0.1"));
	assert_null(strstr(log, "headersecret"));
	assert_null(strstr(log, "querysecret"));
	assert_null(strstr(log, "bodysecret"));
	free(entry);
	free(log);
}

static void test_health_and_ready(void **state)
{
	struct reply r;
	request("GET", "/health", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "status")), "ok");
	reply_free(&r);

	request("GET", "/ready", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "status")), "ready");
	reply_free(&r);

	atomic_store(&ready_flag, false);
	request("GET", "/ready", NULL, NULL, &r);
	assert_int_equal(r.status, 503);
	assert_string_equal(json_string_value(json_object_get(r.json, "reason")),
			    "database unreachable: connection refused");
	assert_error(&r, 503, "unavailable");
	reply_free(&r);

	/* Liveness does not depend on readiness. */
	request("GET", "/health", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	reply_free(&r);
}

/* The value of the sample line that starts with prefix (name and labels), or -1. */
static double metric_value(const char *text, const char *prefix)
{
	size_t len = strlen(prefix);
	for (const char *line = text; line && *line;) {
		if (strncmp(line, prefix, len) == 0 && line[len] == ' ')
			return strtod(line + len + 1, NULL);
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -1;
}

static void test_metrics(void **state)
{
	CURL *curl = curl_easy_init();
	struct reply r;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(
			request_on(curl, "GET", "/api/v1/users/7/tokens", NULL, 0, NULL, &r),
			CURLE_OK);
		reply_free(&r);
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(request_on(curl, "GET", "/no/such/thing", NULL, 0, NULL, &r),
				 CURLE_OK);
		reply_free(&r);
	}
	assert_int_equal(request_on(curl, "GET", "/api/v1/errors/409", NULL, 0, NULL, &r),
			 CURLE_OK);
	reply_free(&r);
	/* Clients invent methods; they share one label value. */
	assert_int_equal(request_on(curl, "FROB", "/no/such/thing", NULL, 0, NULL, &r), CURLE_OK);
	reply_free(&r);
	/* Same connection: each request completed before the next was read. */
	assert_int_equal(request_on(curl, "GET", "/metrics", NULL, 0, NULL, &r), CURLE_OK);
	curl_easy_cleanup(curl);
	assert_int_equal(r.status, 200);
	assert_string_equal(reply_header(&r, "Content-Type"), HTTP_METRICS_CONTENT_TYPE);
	const char *text = buf_cstr(&r.body);
	assert_non_null(strstr(text, "# HELP ampel_http_requests_total "));
	assert_non_null(strstr(text, "# TYPE ampel_http_requests_total counter\n"));
	assert_non_null(strstr(text, "# TYPE ampel_http_request_duration_seconds histogram\n"));
	assert_non_null(strstr(text, "# TYPE ampel_http_requests_in_flight gauge\n"));
	assert_true(metric_value(text, "ampel_http_requests_total{method=\"GET\",route=\"/api/v1/"
				       "users/{id}/tokens\",status=\"200\"}") == 3);
	assert_true(metric_value(text, "ampel_http_requests_total{method=\"GET\",route="
				       "\"unmatched\",status=\"404\"}") == 2);
	assert_true(metric_value(text, "ampel_http_requests_total{method=\"GET\",route=\"/api/v1/"
				       "errors/{status}\",status=\"409\"}") == 1);
	assert_true(metric_value(text, "ampel_http_requests_total{method=\"OTHER\",route="
				       "\"unmatched\",status=\"404\"}") == 1);
	assert_true(metric_value(text, "ampel_http_request_duration_seconds_count{method=\"GET\","
				       "route=\"/api/v1/users/{id}/tokens\"}") == 3);
	assert_true(metric_value(text, "ampel_http_request_duration_seconds_bucket{method=\"GET\","
				       "route=\"/api/v1/users/{id}/tokens\",le=\"+Inf\"}") == 3);
	assert_true(metric_value(text, "ampel_http_request_duration_seconds_sum{method=\"GET\","
				       "route=\"/api/v1/users/{id}/tokens\"}") >= 0);
	/* The scrape itself is in flight. */
	assert_true(metric_value(text, "ampel_http_requests_in_flight") >= 1);
	/* A collector's family, with label values escaped. */
	assert_non_null(
		strstr(text, "# HELP ampel_jobs Jobs by state.\n# TYPE ampel_jobs gauge\n"));
	assert_true(metric_value(text, "ampel_jobs{state=\"queued\"}") == 3);
	assert_non_null(strstr(text, "ampel_jobs{state=\"we\\\"ird\\\\\\nname\"} 1\n"));
	reply_free(&r);

	/* The writers on their own. */
	struct buf out = BUF_INIT;
	http_metrics_write_family(&out, "x_total", "counter", "Back\\slash and\nnewline.");
	http_metrics_write_sample(&out, "x_total", NULL, 0.25);
	assert_string_equal(buf_cstr(&out), "# HELP x_total Back\\\\slash and\\nnewline.\n"
					    "# TYPE x_total counter\nx_total 0.25\n");
	buf_free(&out);
}

static void test_openapi_matches_router(void **state)
{
	struct reply r;
	request("GET", "/api/v1/openapi.json", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	json_t *doc = r.json;
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.0.3");
	assert_string_equal(json_string_value(json_pointer(doc, "/info/title")), "Ampel test");
	json_t *paths = json_object_get(doc, "paths");
	json_t *components = json_object_get(doc, "components");
	json_t *ids = json_object();
	size_t operations = 0;

	/* Every route of the table is in the document, with its parameters. */
	for (size_t i = 0; i < http_router_count(fx.router); i++) {
		const struct http_route *route = http_router_at(fx.router, i);
		const struct http_route_meta *meta = http_route_meta(route);
		struct buf path = BUF_INIT;
		const char *pattern = http_route_pattern(route);
		const char *rest = strstr(pattern, "...}");
		if (rest) {
			buf_add(&path, pattern, (size_t)(rest - pattern));
			buf_adds(&path, "}");
		} else {
			buf_adds(&path, pattern);
		}
		char method[16];
		snprintf(method, sizeof(method), "%s", http_route_method(route));
		str_lower(method);
		json_t *op = json_object_get(json_object_get(paths, path.data), method);
		if (!op)
			fail_msg("%s %s missing from the OpenAPI document", method, path.data);
		buf_free(&path);

		const char *id = json_string_value(json_object_get(op, "operationId"));
		assert_non_null(id);
		assert_false(json_object_get(ids, id) != NULL);
		json_object_set_new(ids, id, json_true());
		if (meta->summary)
			assert_string_equal(json_string_value(json_object_get(op, "summary")),
					    meta->summary);

		size_t path_params = 0;
		json_t *params = json_object_get(op, "parameters");
		size_t j;
		json_t *p;
		json_array_foreach(params, j, p)
		{
			if (strcmp(json_string_value(json_object_get(p, "in")), "path") != 0)
				continue;
			assert_true(json_is_true(json_object_get(p, "required")));
			assert_string_equal(json_string_value(json_object_get(p, "name")),
					    http_route_param_name(route, path_params));
			path_params++;
		}
		assert_int_equal(path_params, http_route_param_count(route));

		if (meta->permission)
			assert_string_equal(json_string_value(json_object_get(op, "x-permission")),
					    meta->permission);
		char success[8];
		snprintf(success, sizeof(success), "%d",
			 meta->success_status ? meta->success_status : 200);
		json_t *responses = json_object_get(op, "responses");
		assert_non_null(json_object_get(responses, success));
		/* Every $ref resolves. */
		const char *status;
		json_t *res;
		json_object_foreach(responses, status, res)
		{
			const char *ref = json_string_value(json_object_get(res, "$ref"));
			if (!ref)
				continue;
			assert_true(str_starts_with(ref, "#/components/responses/"));
			assert_non_null(json_object_get(json_object_get(components, "responses"),
							ref + strlen("#/components/responses/")));
		}
		/* Every schema it names was registered, and is in the document as it was. */
		const char *named[] = { meta->request_schema, meta->response_schema };
		for (size_t n = 0; n < 2; n++) {
			if (!named[n])
				continue;
			const json_t *registered = http_router_schema(fx.router, named[n]);
			if (!registered)
				fail_msg("%s %s names schema %s, which nobody registered",
					 http_route_method(route), http_route_pattern(route),
					 named[n]);
			assert_true(json_equal(
				json_object_get(json_object_get(components, "schemas"), named[n]),
				(json_t *)registered));
		}
		if (http_route_param_count(route) > 0)
			assert_non_null(json_object_get(responses, "404"));
		if (meta->permission)
			assert_non_null(json_object_get(responses, "403"));
		operations++;
	}

	/* And nothing else. */
	size_t documented = 0;
	const char *path;
	json_t *item;
	json_object_foreach(paths, path, item)
	{
		documented += json_object_size(item);
	}
	assert_int_equal(documented, operations);

	/* Specific shapes. */
	json_t *items = json_pointer(doc, "/paths/~1api~1v1~1items/get");
	assert_non_null(items);
	json_t *params = json_object_get(items, "parameters");
	int found = 0;
	size_t k;
	json_t *p;
	json_array_foreach(params, k, p)
	{
		const char *name = json_string_value(json_object_get(p, "name"));
		found += strcmp(name, "limit") == 0 || strcmp(name, "cursor") == 0;
	}
	assert_int_equal(found, 2);
	assert_non_null(json_pointer(components, "/schemas/Item"));
	assert_non_null(json_pointer(components, "/schemas/Error"));
	assert_non_null(json_pointer(
		doc, "/paths/~1api~1v1~1echo/post/requestBody/content/application~1json/schema"));
	assert_non_null(json_pointer(doc, "/paths/~1files~1{path}/get/parameters/0/name"));
	json_t *tags = json_pointer(doc, "/paths/~1api~1v1~1users~1{id}~1tokens/get/tags");
	assert_int_equal(json_array_size(tags), 2);
	assert_string_equal(json_string_value(json_array_get(tags, 1)), "tokens");
	json_decref(ids);
	reply_free(&r);
}

static void test_pagination(void **state)
{
	/* Round trip, both directions. */
	struct err e = ERR_INIT;
	char *cursor = http_cursor_encode("a8f1-42", HTTP_PAGE_PREV);
	assert_true(strspn(cursor,
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
		    strlen(cursor));
	char *id = NULL;
	enum http_page_direction dir = HTTP_PAGE_NEXT;
	assert_int_equal(http_cursor_decode(cursor, &id, &dir, &e), 0);
	assert_string_equal(id, "a8f1-42");
	assert_int_equal(dir, HTTP_PAGE_PREV);
	free(id);
	/* Any single changed character is refused. */
	for (size_t i = 0; cursor[i]; i++) {
		char saved = cursor[i];
		cursor[i] = saved == 'A' ? 'B' : 'A';
		assert_int_equal(http_cursor_decode(cursor, &id, &dir, &e), -1);
		assert_null(id);
		cursor[i] = saved;
	}
	free(cursor);
	assert_int_equal(http_cursor_decode("", &id, &dir, &e), -1);
	assert_int_equal(http_cursor_decode("!!!", &id, &dir, &e), -1);
	assert_int_equal(http_cursor_decode("e30", &id, &dir, &e), -1); /* "{}" unsigned */

	/* Through the server: follow next_cursor to the end. */
	CURL *curl = curl_easy_init();
	struct buf path = BUF_INIT;
	buf_adds(&path, "/api/v1/items?limit=10");
	int seen = 0, pages = 0;
	for (;;) {
		struct reply r;
		assert_int_equal(request_on(curl, "GET", path.data, NULL, 0, NULL, &r), CURLE_OK);
		assert_int_equal(r.status, 200);
		json_t *items = json_object_get(r.json, "items");
		size_t i;
		json_t *item;
		json_array_foreach(items, i, item)
		{
			char expected[32];
			snprintf(expected, sizeof(expected), "item-%03d", ++seen);
			assert_string_equal(json_string_value(json_object_get(item, "id")),
					    expected);
		}
		pages++;
		json_t *next = json_object_get(r.json, "next_cursor");
		assert_non_null(next);
		if (json_is_null(next)) {
			reply_free(&r);
			break;
		}
		buf_reset(&path);
		buf_addf(&path, "/api/v1/items?limit=10&cursor=%s", json_string_value(next));
		reply_free(&r);
	}
	assert_int_equal(seen, ITEM_COUNT);
	assert_int_equal(pages, 3);

	struct reply r;
	/* Default and maximum limits. */
	request_on(curl, "GET", "/api/v1/items", NULL, 0, NULL, &r);
	assert_int_equal(json_array_size(json_object_get(r.json, "items")), PAGE_DEFAULT);
	reply_free(&r);
	request_on(curl, "GET", "/api/v1/items?limit=1000", NULL, 0, NULL, &r);
	assert_int_equal(json_array_size(json_object_get(r.json, "items")), PAGE_MAX);
	reply_free(&r);
	static const char *const bad[] = {
		"/api/v1/items?limit=0",	 "/api/v1/items?limit=abc",
		"/api/v1/items?limit=-5",	 "/api/v1/items?limit=%2B5",
		"/api/v1/items?cursor=garbage!", "/api/v1/items?cursor="
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		request_on(curl, "GET", bad[i], NULL, 0, NULL, &r);
		assert_error(&r, 400, "bad_request");
		reply_free(&r);
	}
	/* A real cursor, tampered with. */
	char *good = http_cursor_encode("item-005", HTTP_PAGE_NEXT);
	good[3] = good[3] == 'x' ? 'y' : 'x';
	buf_reset(&path);
	buf_addf(&path, "/api/v1/items?cursor=%s", good);
	request_on(curl, "GET", path.data, NULL, 0, NULL, &r);
	assert_error(&r, 400, "bad_request");
	assert_non_null(
		strstr(json_string_value(json_pointer(r.json, "/error/message")), "cursor"));
	reply_free(&r);
	free(good);
	buf_free(&path);
	curl_easy_cleanup(curl);
}

struct slow_call {
	struct reply reply;
	CURLcode rc;
};

static void *slow_request_thread(void *arg)
{
	struct slow_call *call = arg;
	call->rc = request_on(NULL, "GET", "/api/v1/slow", NULL, 0, NULL, &call->reply);
	return NULL;
}

struct stop_call {
	unsigned grace_ms;
	int rc;
	struct err e;
};

static void *stop_thread(void *arg)
{
	struct stop_call *call = arg;
	call->rc = http_server_stop(fx.server, call->grace_ms, &call->e);
	return NULL;
}

static bool connection_refused(unsigned short port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port) };
	inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
	int rc = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
	int saved = errno;
	close(fd);
	return rc != 0 && saved == ECONNREFUSED;
}

static void wait_slow_entered(void)
{
	pthread_mutex_lock(&slow_lock);
	while (!slow_entered)
		pthread_cond_wait(&slow_cond, &slow_lock);
	pthread_mutex_unlock(&slow_lock);
}

static void release_slow(void)
{
	pthread_mutex_lock(&slow_lock);
	slow_released = true;
	pthread_cond_broadcast(&slow_cond);
	pthread_mutex_unlock(&slow_lock);
}

static void test_graceful_shutdown(void **state)
{
	unsigned short port = http_server_port(fx.server);
	assert_false(connection_refused(port));
	struct slow_call slow = { 0 };
	pthread_t slow_thread;
	pthread_create(&slow_thread, NULL, slow_request_thread, &slow);
	wait_slow_entered();
	assert_int_equal(http_server_in_flight(fx.server), 1);

	struct stop_call stop = { .grace_ms = 20000, .e = ERR_INIT };
	pthread_t stopper;
	pthread_create(&stopper, NULL, stop_thread, &stop);
	/* Stopping starts by closing the door; the slow request is still inside. */
	bool refused = false;
	for (int tries = 0; tries < 1000 && !refused; tries++) {
		refused = connection_refused(port);
		if (!refused)
			usleep(5000);
	}
	assert_true(refused);
	assert_int_equal(http_server_in_flight(fx.server), 1);
	assert_int_equal(atomic_load(&shutdown_hook_runs), 0);

	release_slow();
	pthread_join(slow_thread, NULL);
	assert_int_equal(slow.rc, CURLE_OK);
	assert_int_equal(slow.reply.status, 200);
	assert_string_equal(buf_cstr(&slow.reply.body), "done");
	assert_string_equal(reply_header(&slow.reply, "Connection"), "close");
	reply_free(&slow.reply);
	pthread_join(stopper, NULL);
	assert_int_equal(stop.rc, 0);
	assert_int_equal(atomic_load(&shutdown_hook_runs), 1);
	assert_int_equal(http_server_in_flight(fx.server), 0);

	/* Idempotent: a second stop does nothing, the hook ran once. */
	struct err e = ERR_INIT;
	assert_int_equal(http_server_stop(fx.server, 1000, &e), 0);
	assert_int_equal(atomic_load(&shutdown_hook_runs), 1);
}

static void *release_later(void *arg)
{
	usleep(300 * 1000);
	release_slow();
	return NULL;
}

static void test_shutdown_deadline(void **state)
{
	struct slow_call slow = { 0 };
	pthread_t slow_thread, releaser;
	pthread_create(&slow_thread, NULL, slow_request_thread, &slow);
	wait_slow_entered();
	/* The grace period ends before the handler does: the stop says so. */
	pthread_create(&releaser, NULL, release_later, NULL);
	struct err e = ERR_INIT;
	assert_int_equal(http_server_stop(fx.server, 50, &e), -1);
	assert_non_null(strstr(e.msg, "1 request was still running"));
	assert_int_equal(atomic_load(&shutdown_hook_runs), 1);
	pthread_join(releaser, NULL);
	pthread_join(slow_thread, NULL);
	reply_free(&slow.reply);
}

static void test_wait_and_request_stop(void **state)
{
	/* What a SIGTERM handler does: request_stop; the main thread's wait returns. */
	http_server_request_stop(fx.server);
	http_server_wait(fx.server);
	struct err e = ERR_INIT;
	assert_int_equal(http_server_stop(fx.server, 1000, &e), 0);

	/* A busy or malformed address is a clear error. */
	struct http_server *other = NULL;
	struct http_server_options options = { .listen = "127.0.0.1:99999", .router = fx.router };
	assert_int_equal(http_server_start(&other, &options, &e), -1);
	assert_non_null(strstr(e.msg, "127.0.0.1:99999"));
	options.listen = "nonsense";
	assert_int_equal(http_server_start(&other, &options, &e), -1);
	assert_non_null(strstr(e.msg, "ADDR:PORT"));
	options.listen = "127.0.0.1:0";
	assert_int_equal(http_server_start(&other, &options, &e), 0);
	struct http_server *clash = NULL;
	char taken[64];
	snprintf(taken, sizeof(taken), "127.0.0.1:%u", http_server_port(other));
	options.listen = taken;
	assert_int_equal(http_server_start(&clash, &options, &e), -1);
	assert_non_null(strstr(e.msg, taken));
	http_server_free(other);
	options.listen = "[::1]:0";
	if (http_server_start(&other, &options, &e) == 0) { /* when the host has IPv6 */
		assert_true(str_starts_with(http_server_address(other), "[::1]:"));
		http_server_free(other);
	}
}

static void send_all(int fd, const char *text)
{
	size_t len = strlen(text);
	while (len > 0) {
		ssize_t n = send(fd, text, len, MSG_NOSIGNAL);
		assert_true(n > 0);
		text += n;
		len -= (size_t)n;
	}
}

static void test_request_timeout(void **state)
{
	/* A server that gives a request body one second to arrive. */
	struct http_server *server = NULL;
	struct err e = ERR_INIT;
	struct http_server_options options = { .listen = "127.0.0.1:0",
					       .request_timeout_seconds = 1,
					       .router = fx.router };
	assert_int_equal(http_server_start(&server, &options, &e), 0);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in addr = { .sin_family = AF_INET,
				    .sin_port = htons(http_server_port(server)) };
	inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	send_all(fd, "POST /api/v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
		     "Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n");
	usleep(1300 * 1000);
	send_all(fd, "1\r\n}\r\n0\r\n\r\n");
	/*
	 * libmicrohttpd cannot answer in the middle of a body, so the server
	 * closes the connection; the access log says why.
	 */
	struct buf response = BUF_INIT;
	char chunk[4096];
	ssize_t n;
	while ((n = recv(fd, chunk, sizeof(chunk), 0)) > 0)
		buf_add(&response, chunk, (size_t)n);
	close(fd);
	assert_int_equal(response.len, 0);
	http_server_free(server);
	char *log = read_log();
	assert_non_null(strstr(log, "status=408"));
	assert_non_null(strstr(log, "outcome=closed"));
	free(log);
	buf_free(&response);
}

enum { CLIENTS = 16, REQUESTS_PER_CLIENT = 25 };

struct client_run {
	int index;
	int ok;
};

static void *client_thread(void *arg)
{
	struct client_run *run = arg;
	CURL *curl = curl_easy_init();
	for (int i = 0; i < REQUESTS_PER_CLIENT; i++) {
		char path[64], expected[32];
		snprintf(expected, sizeof(expected), "u%d-%d", run->index, i);
		snprintf(path, sizeof(path), "/api/v1/users/%s/tokens", expected);
		struct reply r;
		/* Half on a kept-alive connection, half on fresh ones. */
		CURLcode rc = request_on(i % 2 ? curl : NULL, "GET", path, NULL, 0, NULL, &r);
		if (rc == CURLE_OK && r.status == 200 &&
		    str_eq(json_string_value(json_object_get(r.json, "user")), expected))
			run->ok++;
		else
			fprintf(stderr, "request %s: %s, status %ld\n", path,
				curl_easy_strerror(rc), r.status);
		reply_free(&r);
	}
	curl_easy_cleanup(curl);
	return NULL;
}

static void test_concurrency(void **state)
{
	pthread_t threads[CLIENTS];
	struct client_run runs[CLIENTS];
	for (int i = 0; i < CLIENTS; i++) {
		runs[i] = (struct client_run){ .index = i };
		pthread_create(&threads[i], NULL, client_thread, &runs[i]);
	}
	for (int i = 0; i < CLIENTS; i++) {
		pthread_join(threads[i], NULL);
		assert_int_equal(runs[i].ok, REQUESTS_PER_CLIENT);
	}
	/* Every request was counted once the last completions ran. */
	const char *series = "ampel_http_requests_total{method=\"GET\",route=\"/api/v1/users/"
			     "{id}/tokens\",status=\"200\"}";
	double count = -1;
	for (int tries = 0; tries < 500; tries++) {
		struct buf text = BUF_INIT;
		http_metrics_render(fx.metrics, &text);
		count = metric_value(text.data, series);
		buf_free(&text);
		if (count == CLIENTS * REQUESTS_PER_CLIENT)
			break;
		usleep(10000);
	}
	assert_true(count == CLIENTS * REQUESTS_PER_CLIENT);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_routing_with_params, setup, teardown),
		cmocka_unit_test(test_router_table),
		cmocka_unit_test(test_router_schemas),
		cmocka_unit_test_setup_teardown(test_not_found_and_method_not_allowed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_body_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_shapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_security_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_id_and_access_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_health_and_ready, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_openapi_matches_router, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pagination, setup, teardown),
		cmocka_unit_test_setup_teardown(test_graceful_shutdown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_and_request_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrency, setup, teardown),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return failed;
}
