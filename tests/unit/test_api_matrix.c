/*
 * The whole API over real HTTP, on SQLite and on a real PostgreSQL: the
 * server runs in-process on 127.0.0.1 (an ephemeral port) with every
 * /api/v1 route, and libcurl talks to it.
 *
 * - The RBAC matrix: every route of the router's table (so routes added
 *   later are covered without touching this file) × every identity (global
 *   roles, a project-bound role, agents with and without a delegation,
 *   narrowed API tokens, and dead credentials) must be allowed or 403/401
 *   exactly as the role table says. The expectation is computed
 *   here from that table with a matcher of our own, not the library's.
 * - Hostile input: malformed JSON, wrong types, oversized bodies, unknown
 *   routes, wrong methods, bad media types and bad query values all get
 *   the documented 4xx with a JSON error, never a 5xx.
 * - Credentials over HTTP: CSRF, refresh-token reuse, login throttling,
 *   secret values never returned nor logged, and the audit chain failing
 *   verification after a row is altered.
 */
#include "api/api.h"
#include "api/audit.h"
#include "api/auth.h"
#include "api/passwords.h"
#include "http/openapi.h"
#include "http/response.h"
#include "http/router.h"
#include "http/server.h"
#include "store/jobs.h"
#include "store/store.h"
#include "support/pg_server.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"
#include "util/xalloc.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <ftw.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PASSWORD	   "correct horse battery"
#define PLACEHOLDER_ID	   "zz_matrix_placeholder"
#define MATRIX_PROJECT	   "p1"
#define OTHER_PROJECT	   "p2"		 /* where nobody was given anything: tenant isolation */
#define MAX_BODY	   (1024 * 1024) /* the server's default, docs/http.md */
#define SECRET_VALUE	   "s3cr3t-matrix-value-7f1c"
#define MAX_FAILURES_SHOWN 40

static struct pg_server pg;

static double seconds_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the role table, written out here on purpose ---- */

static const struct {
	const char *role;
	const char *permissions[8];
} role_table[] = {
	{ "admin", { "*" } },
	{ "developer",
	  { "project:read", "project:write", "agent:run", "deploy:read", "observe:read",
	    "secret:read" } },
	{ "ops",
	  { "deploy:read", "deploy:promote", "observe:read", "observe:write", "alert:manage",
	    "secret:read" } },
	{ "viewer", { "*:read" } },
	{ "agent", { NULL } },
};

/* "*", "res:*", "*:act" and exact "res:act"; wanted is always "res:act". */
static bool grant_covers(const char *held, const char *wanted)
{
	if (strcmp(held, "*") == 0 || strcmp(held, wanted) == 0)
		return true;
	const char *hc = strchr(held, ':'), *wc = strchr(wanted, ':');
	if (!hc || !wc)
		return false;
	bool resource =
		(hc - held == 1 && held[0] == '*') ||
		(hc - held == wc - wanted && strncmp(held, wanted, (size_t)(hc - held)) == 0);
	bool action = strcmp(hc + 1, "*") == 0 || strcmp(hc + 1, wc + 1) == 0;
	return resource && action;
}

static bool role_covers(const char *role, const char *wanted)
{
	for (size_t r = 0; r < sizeof(role_table) / sizeof(*role_table); r++) {
		if (strcmp(role_table[r].role, role) != 0)
			continue;
		for (size_t p = 0; role_table[r].permissions[p]; p++)
			if (grant_covers(role_table[r].permissions[p], wanted))
				return true;
	}
	return false;
}

static bool list_covers(const char *const *list, const char *wanted)
{
	for (size_t i = 0; list[i]; i++)
		if (grant_covers(list[i], wanted))
			return true;
	return false;
}

/* ---- identities ---- */

enum credential {
	CRED_API_TOKEN,	   /* an amp_ token of the user */
	CRED_ACCESS_TOKEN, /* an ampa_ access token from login */
	CRED_NONE,	   /* no Authorization at all */
	CRED_BOGUS,	   /* a well-formed but unknown token */
	CRED_BASIC,	   /* Authorization: Basic … */
	CRED_REVOKED,	   /* an API token revoked with DELETE /api/v1/tokens/{id} */
	CRED_EXPIRED,	   /* an API token whose expiry has passed */
	CRED_DISABLED,	   /* an API token of a user disabled with DELETE /api/v1/users/{id} */
};

struct identity {
	const char *label;
	const char *user; /* the account it is ("admin" or one made here) */
	bool agent;
	const char *roles[3];	     /* bound globally */
	const char *p1_roles[3];     /* bound in project p1 */
	const char *delegated_p1[3]; /* delegated by admin in p1 */
	const char *scopes[3];	     /* the token's scopes; none: ["*"] */
	const char *token_project;   /* the token is restricted to this project */
	enum credential credential;
	char *bearer; /* filled at setup */
};

static const struct identity identity_template[] = {
	{ .label = "admin", .user = "admin", .roles = { "admin" } },
	{ .label = "admin (access token)",
	  .user = "admin",
	  .roles = { "admin" },
	  .credential = CRED_ACCESS_TOKEN },
	{ .label = "developer (access token)",
	  .user = "m-dev",
	  .roles = { "developer" },
	  .credential = CRED_ACCESS_TOKEN },
	{ .label = "developer", .user = "m-dev", .roles = { "developer" } },
	{ .label = "ops", .user = "m-ops", .roles = { "ops" } },
	{ .label = "viewer", .user = "m-viewer", .roles = { "viewer" } },
	{ .label = "no roles", .user = "m-nobody" },
	{ .label = "developer in p1", .user = "m-dev-p1", .p1_roles = { "developer" } },
	{ .label = "agent", .user = "m-agent", .agent = true },
	{ .label = "agent with delegation in p1",
	  .user = "m-agent-p1",
	  .agent = true,
	  .delegated_p1 = { "project:read", "secret:read" } },
	{ .label = "admin token scoped project:read",
	  .user = "admin",
	  .roles = { "admin" },
	  .scopes = { "project:read" } },
	{ .label = "admin token of project p1",
	  .user = "admin",
	  .roles = { "admin" },
	  .token_project = MATRIX_PROJECT },
	{ .label = "anonymous", .credential = CRED_NONE },
	{ .label = "unknown token", .credential = CRED_BOGUS },
	{ .label = "basic auth", .credential = CRED_BASIC },
	{ .label = "revoked token",
	  .user = "m-viewer",
	  .roles = { "viewer" },
	  .credential = CRED_REVOKED },
	{ .label = "expired token",
	  .user = "m-ops",
	  .roles = { "ops" },
	  .credential = CRED_EXPIRED },
	{ .label = "disabled user",
	  .user = "m-gone",
	  .roles = { "developer" },
	  .credential = CRED_DISABLED },
};

enum { IDENTITY_COUNT = sizeof(identity_template) / sizeof(*identity_template) };

static bool credential_dead(const struct identity *id)
{
	return id->credential != CRED_API_TOKEN && id->credential != CRED_ACCESS_TOKEN;
}

/* What the issue says the identity may do with `permission` in project (NULL: none). */
static bool identity_allowed(const struct identity *id, const char *permission, const char *project)
{
	bool in_p1 = project && strcmp(project, MATRIX_PROJECT) == 0;
	bool held = false;
	for (size_t i = 0; !id->agent && id->roles[i]; i++)
		held = held || role_covers(id->roles[i], permission);
	for (size_t i = 0; !id->agent && in_p1 && id->p1_roles[i]; i++)
		held = held || role_covers(id->p1_roles[i], permission);
	if (in_p1 && list_covers(id->delegated_p1, permission))
		held = true; /* the grantor, admin, holds "*" */
	if (id->scopes[0] && !list_covers(id->scopes, permission))
		return false;
	if (id->token_project && (!project || strcmp(project, id->token_project) != 0))
		return false;
	return held;
}

/* ---- the fixture: a store, the API and a real server ---- */

struct fixture {
	const char *driver;
	char dir[256];
	struct buf url;
	struct store *store;
	struct jobs *jobs;
	struct api_context ctx;
	struct http_router *router;
	struct http_server *server;
	char base[64];
	char *admin_password;
	char log_path[300];
	FILE *log;
	CURL *curl; /* one handle: keep-alive, as clients do */
	struct identity ids[IDENTITY_COUNT];
};

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static int open_fixture(struct fixture *f, void **state)
{
	struct err fail = ERR_INIT;
	passwords_set_fast_for_tests(true);
	snprintf(f->log_path, sizeof(f->log_path), "%s/server.log", f->dir);
	f->log = fopen(f->log_path, "w+");
	if (!f->log)
		return -1;
	log_set_stream(f->log);
	log_set_level(LOG_INFO);
	if (store_open(&f->store, buf_cstr(&f->url), &fail) != 0 ||
	    store_migrate(f->store, &fail) != 0) {
		print_error("store: %s\n", fail.msg);
		return -1;
	}
	f->jobs = jobs_new(f->store, NULL);
	f->ctx = (struct api_context){ .store = f->store, .jobs = f->jobs, .data_dir = f->dir };
	if (api_bootstrap_admin(&f->ctx, &f->admin_password, &fail) != 0 || !f->admin_password) {
		print_error("api_bootstrap_admin: %s\n", fail.msg);
		return -1;
	}
	f->router = http_router_new();
	struct http_system_routes system = { .openapi = { .title = "Ampel", .version = "test" } };
	if (http_register_system_routes(f->router, &system, &fail) != 0 ||
	    api_register_all(f->router, &f->ctx, &fail) != 0) {
		print_error("routes: %s\n", fail.msg);
		return -1;
	}
	struct http_server_options options = {
		.listen = "127.0.0.1:0",
		.threads = 4,
		.router = f->router,
	};
	if (http_server_start(&f->server, &options, &fail) != 0) {
		print_error("http_server_start: %s\n", fail.msg);
		return -1;
	}
	snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%u", http_server_port(f->server));
	f->curl = curl_easy_init();
	memcpy(f->ids, identity_template, sizeof(identity_template));
	*state = f;
	return 0;
}

static int setup_sqlite(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	f->driver = "sqlite";
	snprintf(f->dir, sizeof(f->dir), "/tmp/ampel-matrix-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	buf_addf(&f->url, "sqlite:%s/ampel.db", f->dir);
	return open_fixture(f, state);
}

static int setup_pg(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct err fail = ERR_INIT;
	f->driver = "postgresql";
	snprintf(f->dir, sizeof(f->dir), "/tmp/ampel-matrix-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	if (pg_server_create_database(&pg, &f->url, &fail) != 0) {
		print_error("%s\n", fail.msg);
		return -1;
	}
	return open_fixture(f, state);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (!f)
		return 0;
	if (f->curl)
		curl_easy_cleanup(f->curl);
	http_server_free(f->server);
	http_router_free(f->router);
	jobs_free(f->jobs);
	store_close(f->store);
	log_set_stream(NULL);
	if (f->log)
		fclose(f->log);
	for (size_t i = 0; i < IDENTITY_COUNT; i++)
		free(f->ids[i].bearer);
	if (f->admin_password) {
		memset(f->admin_password, 0, strlen(f->admin_password));
		free(f->admin_password);
	}
	nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	buf_free(&f->url);
	free(f);
	return 0;
}

static int group_setup_pg(void **state)
{
	(void)state;
	struct err fail = ERR_INIT;
	if (pg_server_start(&pg, &fail) != 0) {
		print_error("the PostgreSQL half of this suite needs a server: %s\n", fail.msg);
		return -1;
	}
	return 0;
}

static int group_teardown_pg(void **state)
{
	(void)state;
	pg_server_stop(&pg);
	return 0;
}

/* ---- the client ---- */

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

/* The value of a response header, or NULL; points into a static buffer. */
static const char *reply_header(const struct reply *r, const char *name)
{
	static char value[512];
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

struct request {
	const char *method;
	const char *path;	   /* with the query string */
	const char *authorization; /* the whole header value, or NULL */
	const char *body;	   /* NULL: none */
	size_t body_len;
	const char *content_type;   /* NULL: application/json when there is a body */
	const char *const *headers; /* more "Name: value" lines, NULL-terminated */
	bool expect_continue;	    /* let curl send Expect: 100-continue */
};

static void send_request(struct fixture *f, const struct request *rq, struct reply *out)
{
	memset(out, 0, sizeof(*out));
	CURL *curl = f->curl;
	curl_easy_reset(curl);
	struct buf url = BUF_INIT, line = BUF_INIT;
	buf_addf(&url, "%s%s", f->base, rq->path);
	struct curl_slist *list = NULL;
	if (rq->authorization) {
		buf_addf(&line, "Authorization: %s", rq->authorization);
		list = curl_slist_append(list, buf_cstr(&line));
	}
	if (rq->body) {
		buf_reset(&line);
		buf_addf(&line, "Content-Type: %s",
			 rq->content_type ? rq->content_type : "application/json");
		list = curl_slist_append(list, buf_cstr(&line));
	}
	if (!rq->expect_continue)
		list = curl_slist_append(list, "Expect:");
	for (size_t i = 0; rq->headers && rq->headers[i]; i++)
		list = curl_slist_append(list, rq->headers[i]);
	curl_easy_setopt(curl, CURLOPT_URL, buf_cstr(&url));
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
	if (rq->body) {
		curl_easy_setopt(curl, CURLOPT_POST, 1L);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, rq->body);
	}
	if (strcmp(rq->method, "HEAD") == 0)
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	else if (strcmp(rq->method, rq->body ? "POST" : "GET") != 0)
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, rq->method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out->body);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &out->headers);
	CURLcode rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
	else
		buf_addf(&out->body, "(curl: %s)", curl_easy_strerror(rc));
	if (out->body.len)
		out->json = json_loadb(out->body.data, out->body.len, 0, NULL);
	curl_slist_free_all(list);
	buf_free(&url);
	buf_free(&line);
}

static const char *bearer_header(struct buf *scratch, const char *token)
{
	buf_reset(scratch);
	buf_addf(scratch, "Bearer %s", token);
	return buf_cstr(scratch);
}

/* A simple JSON call for setup: METHOD path as bearer (NULL: none) with body. */
static void call(struct fixture *f, const char *method, const char *path, const char *bearer,
		 const char *body, struct reply *out)
{
	struct buf auth = BUF_INIT;
	struct request rq = { .method = method,
			      .path = path,
			      .authorization = bearer ? bearer_header(&auth, bearer) : NULL,
			      .body = body,
			      .body_len = body ? strlen(body) : 0 };
	send_request(f, &rq, out);
	buf_free(&auth);
}

static void expect_status(struct reply *r, long status, const char *what)
{
	if (r->status != status)
		fail_msg("%s: status %ld, expected %ld: %s", what, r->status, status,
			 buf_cstr(&r->body));
}

static const char *reply_str(const struct reply *r, const char *key)
{
	return json_string_value(json_object_get(r->json, key));
}

/* Whether an error response has the documented shape {"error":{"code","message"}}. */
static bool error_shaped(const struct reply *r)
{
	json_t *error = json_object_get(r->json, "error");
	return json_is_object(r->json) && json_is_string(json_object_get(error, "code")) &&
	       json_is_string(json_object_get(error, "message")) &&
	       json_string_length(json_object_get(error, "message")) > 0;
}

static const char *error_code(const struct reply *r)
{
	const char *code =
		json_string_value(json_object_get(json_object_get(r->json, "error"), "code"));
	return code ? code : "";
}

/* ---- identities, made through the API as the bootstrapped admin ---- */

static char *login(struct fixture *f, const char *name, const char *password)
{
	struct buf body = BUF_INIT;
	json_t *b = json_pack("{s:s,s:s}", "name", name, "password", password);
	char *text = json_dumps(b, JSON_COMPACT);
	struct reply r;
	call(f, "POST", "/api/v1/auth/login", NULL, text, &r);
	expect_status(&r, 200, name);
	char *token = xstrdup(reply_str(&r, "access_token"));
	reply_free(&r);
	free(text);
	json_decref(b);
	buf_free(&body);
	return token;
}

/* POST path {body} as bearer, expects 201, returns member `key` of the answer. */
static char *create(struct fixture *f, const char *path, const char *bearer, const char *body,
		    const char *key)
{
	struct reply r;
	call(f, "POST", path, bearer, body, &r);
	expect_status(&r, 201, path);
	char *value = key ? xstrdup(reply_str(&r, key)) : NULL;
	reply_free(&r);
	return value;
}

static void create_human(struct fixture *f, const char *admin, const char *name, const char *role)
{
	struct buf body = BUF_INIT;
	buf_addf(&body,
		 "{\"name\":\"%s\",\"email\":\"%s@example.com\",\"password\":\"" PASSWORD
		 "\"%s%s%s}",
		 name, name, role ? ",\"role\":\"" : "", role ? role : "", role ? "\"" : "");
	free(create(f, "/api/v1/users", admin, buf_cstr(&body), NULL));
	buf_free(&body);
}

static void make_identities(struct fixture *f)
{
	struct identity *ids = f->ids;
	char *admin_access = login(f, "admin", f->admin_password);
	char *admin =
		create(f, "/api/v1/tokens", admin_access, "{\"name\":\"matrix-admin\"}", "token");
	create_human(f, admin, "m-dev", "developer");
	create_human(f, admin, "m-ops", "ops");
	create_human(f, admin, "m-viewer", "viewer");
	create_human(f, admin, "m-nobody", NULL);
	create_human(f, admin, "m-dev-p1", NULL);
	create_human(f, admin, "m-gone", "developer");
	free(create(f, "/api/v1/role-bindings", admin,
		    "{\"user\":\"m-dev-p1\",\"role\":\"developer\",\"project\":\"p1\"}", NULL));
	char *agent = create(f, "/api/v1/agents", admin, "{\"name\":\"m-agent\"}", "id");
	char *agent_p1 = create(f, "/api/v1/agents", admin, "{\"name\":\"m-agent-p1\"}", "id");
	free(create(f, "/api/v1/delegations", admin,
		    "{\"to\":\"m-agent-p1\",\"permissions\":[\"project:read\",\"secret:read\"],"
		    "\"reason\":\"the RBAC matrix\",\"project\":\"p1\",\"expires_in\":86400}",
		    NULL));

	struct buf path = BUF_INIT;
	for (size_t i = 0; i < IDENTITY_COUNT; i++) {
		struct identity *id = &ids[i];
		switch (id->credential) {
		case CRED_NONE:
			break;
		case CRED_BOGUS:
			id->bearer = xstrdup(
				"Bearer amp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
			break;
		case CRED_BASIC:
			id->bearer = xstrdup("Basic YWRtaW46cGFzc3dvcmQ=");
			break;
		case CRED_ACCESS_TOKEN: {
			char *token = strcmp(id->user, "admin") == 0 ? xstrdup(admin_access)
								     : login(f, id->user, PASSWORD);
			struct buf h = BUF_INIT;
			id->bearer = xstrdup(bearer_header(&h, token));
			buf_free(&h);
			free(token);
			break;
		}
		default: {
			/* An API token: people make their own, agents get theirs from admin. */
			json_t *body = json_pack("{s:s}", "name", "matrix");
			if (id->scopes[0]) {
				json_t *scopes = json_array();
				for (size_t s = 0; id->scopes[s]; s++)
					json_array_append_new(scopes, json_string(id->scopes[s]));
				json_object_set_new(body, "scopes", scopes);
			}
			if (id->token_project)
				json_object_set_new(body, "project",
						    json_string(id->token_project));
			char *text = json_dumps(body, JSON_COMPACT);
			char *token, *token_id = NULL;
			buf_reset(&path);
			struct reply r;
			if (id->agent) {
				buf_addf(&path, "/api/v1/agents/%s/tokens",
					 strcmp(id->user, "m-agent") == 0 ? agent : agent_p1);
				call(f, "POST", buf_cstr(&path), admin, text, &r);
			} else {
				char *access = strcmp(id->user, "admin") == 0
						       ? xstrdup(admin_access)
						       : login(f, id->user, PASSWORD);
				call(f, "POST", "/api/v1/tokens", access, text, &r);
				free(access);
			}
			expect_status(&r, 201, id->label);
			token = xstrdup(reply_str(&r, "token"));
			token_id = xstrdup(reply_str(&r, "id"));
			reply_free(&r);
			struct buf h = BUF_INIT;
			id->bearer = xstrdup(bearer_header(&h, token));
			buf_free(&h);
			if (id->credential == CRED_REVOKED) {
				buf_reset(&path);
				buf_addf(&path, "/api/v1/tokens/%s", token_id);
				call(f, "DELETE", buf_cstr(&path), admin, NULL, &r);
				expect_status(&r, 204, "revoke a token");
				reply_free(&r);
			} else if (id->credential == CRED_EXPIRED) {
				/* As if its time had come: the expiry is in the past. */
				struct store_param p = STORE_TEXT_PARAM(token_id);
				int64_t changed = 0;
				struct err e = ERR_INIT;
				if (store_exec(f->store,
					       "UPDATE api_tokens SET expires_at = 1 WHERE id = ?",
					       &p, 1, &changed, &e) != 0 ||
				    changed != 1)
					fail_msg("expire a token: %s", e.msg);
			} else if (id->credential == CRED_DISABLED) {
				buf_reset(&path);
				buf_addf(&path, "/api/v1/users/%s", id->user);
				call(f, "DELETE", buf_cstr(&path), admin, NULL, &r);
				expect_status(&r, 204, "disable a user");
				reply_free(&r);
			}
			free(token);
			free(token_id);
			free(text);
			json_decref(body);
			break;
		}
		}
	}
	buf_free(&path);
	free(agent);
	free(agent_p1);
	free(admin);
	free(admin_access);
}

/* The bearer of the identity labelled so (a "Bearer …" header value). */
static const char *bearer_of(struct fixture *f, const char *label)
{
	for (size_t i = 0; i < IDENTITY_COUNT; i++)
		if (strcmp(f->ids[i].label, label) == 0)
			return f->ids[i].bearer;
	fail_msg("no identity %s", label);
	return NULL;
}

/* ---- the route table ---- */

struct route_case {
	const struct http_route *route;
	const char *method;
	const char *pattern;
	const struct http_route_meta *meta;
	int rank; /* what may destroy identities goes last */
};

static bool pattern_is(const char *pattern, const char *suffix)
{
	size_t n = strlen(pattern), m = strlen(suffix);
	return n >= m && strcmp(pattern + n - m, suffix) == 0;
}

static int route_rank(const char *method, const char *pattern)
{
	if (pattern_is(pattern, "/logout"))
		return 2;
	return strcmp(method, "DELETE") == 0 ? 1 : 0;
}

/* The routes in table order, then stably sorted by rank. */
static struct route_case *route_cases(struct fixture *f, size_t *count)
{
	size_t n = http_router_count(f->router);
	struct route_case *cases = xcalloc(n ? n : 1, sizeof(*cases));
	for (size_t i = 0; i < n; i++) {
		const struct http_route *route = http_router_at(f->router, i);
		cases[i] = (struct route_case){ .route = route,
						.method = http_route_method(route),
						.pattern = http_route_pattern(route),
						.meta = http_route_meta(route) };
		cases[i].rank = route_rank(cases[i].method, cases[i].pattern);
	}
	/* A stable insertion sort by rank: table order within a rank. */
	for (size_t i = 1; i < n; i++) {
		struct route_case c = cases[i];
		size_t j = i;
		while (j > 0 && cases[j - 1].rank > c.rank) {
			cases[j] = cases[j - 1];
			j--;
		}
		cases[j] = c;
	}
	*count = n;
	return cases;
}

static const char *route_permission(const struct route_case *c)
{
	return c->meta ? c->meta->permission : NULL;
}

/* The route's own project parameter: meta's project_param, else {project}. */
static const char *route_project_param(const struct route_case *c)
{
	if (c->meta && c->meta->project_param)
		return c->meta->project_param;
	for (size_t i = 0; i < http_route_param_count(c->route); i++)
		if (strcmp(http_route_param_name(c->route, i), "project") == 0)
			return "project";
	return NULL;
}

/* The pattern with each {param} filled: the project param with project, the rest with value. */
static void route_path_in(const struct route_case *c, const char *value, const char *project,
			  struct buf *out)
{
	const char *project_param = route_project_param(c);
	for (const char *p = c->pattern; *p;) {
		if (*p != '{') {
			buf_addch(out, *p++);
			continue;
		}
		const char *end = strchr(p, '}');
		if (!end)
			fail_msg("bad pattern %s", c->pattern);
		size_t len = (size_t)(end - p - 1);
		if (len > 3 && strncmp(end - 3, "...", 3) == 0)
			len -= 3;
		bool is_project = project_param && strlen(project_param) == len &&
				  strncmp(p + 1, project_param, len) == 0;
		buf_adds(out, is_project ? project : value);
		p = end + 1;
	}
}

static void route_path(const struct route_case *c, const char *value, struct buf *out)
{
	route_path_in(c, value, MATRIX_PROJECT, out);
}

static bool method_has_body(const char *method)
{
	return strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
	       strcmp(method, "PATCH") == 0;
}

/* Whether a concrete path (no query) matches a pattern, as the router does. */
static bool pattern_matches(const char *pattern, const char *path)
{
	const char *p = pattern, *q = path;
	while (*p && *q) {
		if (*p != '/' || *q != '/')
			return false;
		p++;
		q++;
		size_t plen = strcspn(p, "/"), qlen = strcspn(q, "/");
		if (*p == '{') {
			if (plen > 5 && strncmp(p + plen - 4, "...}", 4) == 0)
				return *q != '\0';
			if (qlen == 0)
				return false;
		} else if (plen != qlen || strncmp(p, q, plen) != 0) {
			return false;
		}
		p += plen;
		q += qlen;
	}
	return !*p && !*q;
}

/* ---- failure collection: every case runs, then one report ---- */

struct failures {
	size_t count;
	struct buf text;
	json_t *seen; /* key → how many failures of that kind */
};

/* Records a failure; only the first two of each kind (key) are shown. */
static void failure_add(struct failures *fl, const char *key, const char *fmt, ...)
{
	fl->count++;
	if (!fl->seen)
		fl->seen = json_object();
	json_int_t n = json_integer_value(json_object_get(fl->seen, key)) + 1;
	json_object_set_new(fl->seen, key, json_integer(n));
	if (n > 2 || json_object_size(fl->seen) > MAX_FAILURES_SHOWN)
		return;
	va_list ap;
	va_start(ap, fmt);
	char line[1024];
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	buf_addf(&fl->text, "  %s\n", line);
}

static void failures_report(struct failures *fl, const char *what, const char *driver)
{
	if (fl->count) {
		/* One line per print: cmocka cuts long messages. */
		print_error("%s on %s: %zu failing cases of %zu kinds (two of each):\n", what,
			    driver, fl->count, json_object_size(fl->seen));
		for (const char *line = buf_cstr(&fl->text); *line;) {
			const char *end = strchr(line, '\n');
			size_t len = end ? (size_t)(end - line) : strlen(line);
			print_error("%.*s\n", (int)len, line);
			line += len + (end ? 1 : 0);
		}
		buf_free(&fl->text);
		json_decref(fl->seen);
		fail_msg("%s: %zu failing cases", what, fl->count);
	}
	buf_free(&fl->text);
	json_decref(fl->seen);
}

/* The body, cut for a report line. */
static const char *short_body(const struct reply *r)
{
	static char text[300];
	snprintf(text, sizeof(text), "%.*s", (int)(r->body.len < 280 ? r->body.len : 280),
		 r->body.data ? r->body.data : "");
	for (char *p = text; *p; p++)
		if (*p == '\n')
			*p = ' ';
	return text;
}

/* ---- 1. the RBAC matrix ---- */

static void check_matrix_case(struct fixture *f, const struct route_case *c,
			      const struct identity *id, const char *project, const char *path,
			      const struct reply *r, struct failures *fl, size_t *refined)
{
	const char *permission = route_permission(c);
	const char *why = NULL;
	char expected[64] = "";
	bool self = permission && strcmp(permission, "self:use") == 0;
	if (r->status == 0 || r->status >= 500)
		why = "a 5xx or no answer";
	else if (r->status >= 400 && !error_shaped(r))
		why = "an error without {\"error\":{\"code\",\"message\"}}";
	else if (!permission) {
		if (r->status == 401 || r->status == 403)
			why = "a public route refused";
	} else if (credential_dead(id)) {
		if (r->status != 401)
			why = "dead credentials must get 401";
		else if (!reply_header(r, "WWW-Authenticate"))
			why = "a 401 without WWW-Authenticate";
		snprintf(expected, sizeof(expected), "401");
	} else if (self) {
		bool plain = strcmp(c->method, "GET") == 0 && http_route_param_count(c->route) == 0;
		if (r->status == 401 || (plain && r->status == 403))
			why = "self:use is held by every authenticated caller";
	} else {
		/* The guard's refusal, word for word (src/api/auth.c), tells it from a handler's.
		 */
		char guard_text[256];
		snprintf(guard_text, sizeof(guard_text), "you lack the permission %s%s%s",
			 permission, project ? " in project " : "", project ? project : "");
		const char *message = json_string_value(
			json_object_get(json_object_get(r->json, "error"), "message"));
		bool by_guard = r->status == 403 && message && strcmp(message, guard_text) == 0;
		if (identity_allowed(id, permission, project)) {
			/*
			 * A handler may refine what the guard let through (account-wide
			 * objects need a global grant): a 403 of its own is not the guard's.
			 */
			if (r->status == 401 || by_guard)
				why = "allowed by the role table, yet refused";
			else if (r->status == 403)
				(*refined)++;
			snprintf(expected, sizeof(expected), "allowed");
		} else {
			if (r->status != 403)
				why = "not allowed by the role table, yet not 403";
			else if (strcmp(error_code(r), "forbidden") != 0)
				why = "a 403 whose code is not forbidden";
			else if (!by_guard)
				why = "refused by the handler, not by the guard (the guard let it "
				      "in)";
			snprintf(expected, sizeof(expected), "403");
		}
	}
	/* No answer ever carries a credential, whoever asks. */
	for (size_t i = 0; !why && i < IDENTITY_COUNT; i++) {
		const char *b = f->ids[i].bearer;
		const char *token = b ? strchr(b, ' ') : NULL;
		if (token && strlen(token + 1) > 20 && r->body.len &&
		    strstr(buf_cstr(&r->body), token + 1))
			why = "the answer contains a token";
	}
	char key[512];
	snprintf(key, sizeof(key), "%s %s %s", c->method, c->pattern, id->label);
	if (why)
		failure_add(fl, key,
			    "%s %s (route %s, permission %s) as '%s'%s%s: status %ld%s%s: %s: %s",
			    c->method, path, c->pattern, permission ? permission : "public",
			    id->label, project ? " in " : "", project ? project : "", r->status,
			    expected[0] ? ", expected " : "", expected, why, short_body(r));
}

static void test_rbac_matrix(void **state)
{
	struct fixture *f = *state;
	make_identities(f);
	size_t count;
	struct route_case *cases = route_cases(f, &count);
	struct failures fl = { 0 };
	double started = seconds_now();
	size_t checked = 0, protected_routes = 0, refined = 0;
	struct buf path = BUF_INIT;
	for (size_t i = 0; i < count; i++) {
		const struct route_case *c = &cases[i];
		if (route_permission(c))
			protected_routes++;
		bool own_project = route_project_param(c) != NULL;
		for (size_t k = 0; k < IDENTITY_COUNT; k++) {
			const struct identity *id = &f->ids[k];
			/*
			 * Each identity globally, in p1 and in p2 (a route naming its
			 * project: in p1 and p2); logout (which ends an access token) once.
			 */
			static const char *const contexts[] = { NULL, MATRIX_PROJECT,
								OTHER_PROJECT };
			size_t first = own_project ? 1 : 0;
			size_t last = c->rank == 2 ? first : 2;
			for (size_t x = first; x <= last; x++) {
				const char *project = contexts[x];
				buf_reset(&path);
				route_path_in(c, PLACEHOLDER_ID, project ? project : MATRIX_PROJECT,
					      &path);
				if (project && !own_project)
					buf_addf(&path, "?project=%s", project);
				bool body = method_has_body(c->method);
				struct request rq = { .method = c->method,
						      .path = buf_cstr(&path),
						      .authorization = id->bearer,
						      .body = body ? "{}" : NULL,
						      .body_len = body ? 2 : 0 };
				struct reply r;
				send_request(f, &rq, &r);
				check_matrix_case(f, c, id, project, buf_cstr(&path), &r, &fl,
						  &refined);
				checked++;
				reply_free(&r);
			}
		}
	}
	print_message("api_matrix (%s): %zu route × identity cases checked (%zu routes, %zu "
		      "protected, %d identities; %zu allowed by the guard and refused by the "
		      "handler) in %.1f s\n",
		      f->driver, checked, count, protected_routes, IDENTITY_COUNT, refined,
		      seconds_now() - started);
	buf_free(&path);
	free(cases);
	/* The table must hold what the routes need, or the matrix proves little. */
	assert_true(count >= 30);
	assert_true(protected_routes >= 20);
	failures_report(&fl, "RBAC matrix", f->driver);

	/* The many denials were all audited, and the chain is whole. */
	int64_t audited = 0, bad = 0;
	struct err e = ERR_INIT;
	if (audit_verify(f->store, &audited, &bad, &e) != 0)
		fail_msg("audit chain after the matrix: %s (seq %lld)", e.msg, (long long)bad);
	assert_true(audited > 100);
}

/* ---- 0. the OpenAPI schemas against the answers ---- */

/* A schema as written, or the one its $ref names in the document. */
static json_t *schema_resolve(json_t *doc, json_t *schema)
{
	const char *ref = json_string_value(json_object_get(schema, "$ref"));
	if (!ref || !str_starts_with(ref, "#/components/schemas/"))
		return schema;
	return json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"),
			       ref + strlen("#/components/schemas/"));
}

/*
 * Adds to problems (one line each, at path) where value disagrees with
 * schema: a JSON type other than the declared one, null where the schema is
 * not nullable, a value outside its enum, a required property missing, a
 * property an additionalProperties: false schema does not list.
 */
static void schema_check(json_t *doc, json_t *schema, const json_t *value, const char *path,
			 struct buf *problems)
{
	schema = schema_resolve(doc, schema);
	if (!json_is_object(schema)) {
		buf_addf(problems, "%s: no schema\n", path);
		return;
	}
	if (json_is_null(value)) {
		if (!json_is_true(json_object_get(schema, "nullable")))
			buf_addf(problems, "%s: null, but not nullable\n", path);
		return;
	}
	const char *type = json_string_value(json_object_get(schema, "type"));
	bool ok = !type || (str_eq(type, "string") && json_is_string(value)) ||
		  (str_eq(type, "integer") && json_is_integer(value)) ||
		  (str_eq(type, "number") && json_is_number(value)) ||
		  (str_eq(type, "boolean") && json_is_boolean(value)) ||
		  (str_eq(type, "array") && json_is_array(value)) ||
		  (str_eq(type, "object") && json_is_object(value));
	if (!ok) {
		char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
		buf_addf(problems, "%s: %.60s is not of type %s\n", path, text, type);
		free(text);
		return;
	}
	json_t *choices = json_object_get(schema, "enum");
	if (choices) {
		bool found = false;
		size_t i;
		json_t *choice;
		json_array_foreach(choices, i, choice) found = found || json_equal(choice, value);
		if (!found)
			buf_addf(problems, "%s: %s is not in the enum\n", path,
				 json_is_string(value) ? json_string_value(value) : "value");
	}
	struct buf at = BUF_INIT;
	if (json_is_array(value)) {
		size_t i;
		json_t *item;
		json_array_foreach(value, i, item)
		{
			buf_reset(&at);
			buf_addf(&at, "%s[%zu]", path, i);
			schema_check(doc, json_object_get(schema, "items"), item, buf_cstr(&at),
				     problems);
		}
	}
	if (json_is_object(value)) {
		json_t *properties = json_object_get(schema, "properties");
		json_t *additional = json_object_get(schema, "additionalProperties");
		size_t i;
		json_t *name;
		json_array_foreach(json_object_get(schema, "required"), i, name)
		{
			if (!json_object_get(value, json_string_value(name)))
				buf_addf(problems, "%s: required %s missing\n", path,
					 json_string_value(name));
		}
		const char *key;
		json_t *member;
		json_object_foreach((json_t *)value, key, member)
		{
			buf_reset(&at);
			buf_addf(&at, "%s.%s", path, key);
			json_t *declared = json_object_get(properties, key);
			if (declared)
				schema_check(doc, declared, member, buf_cstr(&at), problems);
			else if (json_is_false(additional))
				buf_addf(problems, "%s: not in the schema\n", buf_cstr(&at));
			else if (json_is_object(additional))
				schema_check(doc, additional, member, buf_cstr(&at), problems);
		}
	}
	buf_free(&at);
}

/* The documented success body of METHOD pattern: a $ref, or the list envelope. */
static json_t *response_schema(json_t *doc, const char *method, const char *pattern, int status)
{
	char lower[16], code[8];
	size_t n = 0;
	for (; n < sizeof(lower) - 1 && method[n]; n++)
		lower[n] = (char)(method[n] | 0x20);
	lower[n] = '\0';
	snprintf(code, sizeof(code), "%d", status);
	json_t *op =
		json_object_get(json_object_get(json_object_get(doc, "paths"), pattern), lower);
	return json_object_get(
		json_object_get(
			json_object_get(json_object_get(json_object_get(op, "responses"), code),
					"content"),
			"application/json"),
		"schema");
}

/* The reply to METHOD pattern carries its documented schema; fails naming each problem. */
static void expect_schema(json_t *doc, const char *method, const char *pattern,
			  const struct reply *r)
{
	json_t *schema = response_schema(doc, method, pattern, (int)r->status);
	if (!schema)
		fail_msg("%s %s: no documented %ld response: %s", method, pattern, r->status,
			 short_body(r));
	struct buf problems = BUF_INIT;
	schema_check(doc, schema, r->json, "$", &problems);
	if (problems.len)
		fail_msg("%s %s answered against its schema:\n%s", method, pattern,
			 buf_cstr(&problems));
	buf_free(&problems);
}

static json_t *fetch_openapi(struct fixture *f)
{
	struct reply r;
	call(f, "GET", "/api/v1/openapi.json", NULL, NULL, &r);
	expect_status(&r, 200, "openapi.json");
	json_t *doc = json_incref(r.json);
	reply_free(&r);
	return doc;
}

/*
 * Every schema a route names was registered by its module (not left to the
 * placeholder object), and real answers agree with their schemas.
 */
static void test_openapi_schemas(void **state)
{
	struct fixture *f = *state;
	json_t *doc = fetch_openapi(f);
	json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
	struct buf missing = BUF_INIT;
	for (size_t i = 0; i < http_router_count(f->router); i++) {
		const struct http_route *route = http_router_at(f->router, i);
		const struct http_route_meta *meta = http_route_meta(route);
		const char *names[] = { meta->request_schema, meta->response_schema };
		for (size_t k = 0; k < 2; k++) {
			if (!names[k])
				continue;
			json_t *emitted = json_object_get(schemas, names[k]);
			if (!http_router_schema(f->router, names[k]))
				buf_addf(&missing,
					 "%s %s names schema %s, which no module registered\n",
					 http_route_method(route), http_route_pattern(route),
					 names[k]);
			else if (!json_equal(emitted,
					     (json_t *)http_router_schema(f->router, names[k])) ||
				 json_object_size(json_object_get(emitted, "properties")) == 0)
				buf_addf(&missing,
					 "schema %s: not emitted as registered, or without "
					 "properties\n",
					 names[k]);
		}
	}
	if (missing.len)
		fail_msg("%s", buf_cstr(&missing));
	buf_free(&missing);

	/* Login, refresh, me. */
	struct reply r;
	struct buf body = BUF_INIT;
	buf_addf(&body, "{\"name\":\"admin\",\"password\":\"%s\"}", f->admin_password);
	call(f, "POST", "/api/v1/auth/login", NULL, buf_cstr(&body), &r);
	expect_status(&r, 200, "login");
	expect_schema(doc, "POST", "/api/v1/auth/login", &r);
	char *access = xstrdup(reply_str(&r, "access_token"));
	buf_reset(&body);
	buf_addf(&body, "{\"refresh_token\":\"%s\"}", reply_str(&r, "refresh_token"));
	reply_free(&r);
	call(f, "POST", "/api/v1/auth/refresh", NULL, buf_cstr(&body), &r);
	expect_status(&r, 200, "refresh");
	expect_schema(doc, "POST", "/api/v1/auth/refresh", &r);
	reply_free(&r);
	call(f, "GET", "/api/v1/auth/me", access, NULL, &r);
	expect_status(&r, 200, "me");
	expect_schema(doc, "GET", "/api/v1/auth/me", &r);
	reply_free(&r);

	/* A secret, created, read and listed. */
	call(f, "POST", "/api/v1/secrets", access,
	     "{\"name\":\"schema_secret\",\"value\":\"v\",\"scope\":\"deploy\"}", &r);
	expect_status(&r, 201, "create a secret");
	expect_schema(doc, "POST", "/api/v1/secrets", &r);
	reply_free(&r);
	call(f, "GET", "/api/v1/secrets/schema_secret", access, NULL, &r);
	expect_status(&r, 200, "get a secret");
	expect_schema(doc, "GET", "/api/v1/secrets/{name}", &r);
	reply_free(&r);
	call(f, "GET", "/api/v1/secrets", access, NULL, &r);
	expect_status(&r, 200, "list secrets");
	expect_schema(doc, "GET", "/api/v1/secrets", &r);
	reply_free(&r);

	/* A repository registered by path, and the users and audit lists. */
	struct buf tree = BUF_INIT;
	buf_addf(&tree, "%s/schema-repo", f->dir);
	buf_reset(&body);
	buf_addf(&body, "git init -q '%s' >/dev/null 2>&1", buf_cstr(&tree));
	assert_int_equal(system(buf_cstr(&body)), 0);
	buf_reset(&body);
	buf_addf(&body, "{\"path\":\"%s\"}", buf_cstr(&tree));
	call(f, "POST", "/api/v1/repositories", access, buf_cstr(&body), &r);
	expect_status(&r, 201, "register a repository");
	expect_schema(doc, "POST", "/api/v1/repositories", &r);
	buf_reset(&body);
	buf_addf(&body, "/api/v1/repositories/%s", reply_str(&r, "id"));
	reply_free(&r);
	call(f, "GET", buf_cstr(&body), access, NULL, &r);
	expect_status(&r, 200, "get a repository");
	expect_schema(doc, "GET", "/api/v1/repositories/{id}", &r);
	reply_free(&r);
	/* By URL: 202 with the repository and its clone job, the second documented answer. */
	buf_reset(&body);
	buf_addf(&body, "{\"url\":\"file://%s\",\"name\":\"schema-clone\"}", buf_cstr(&tree));
	call(f, "POST", "/api/v1/repositories", access, buf_cstr(&body), &r);
	expect_status(&r, 202, "clone a repository");
	expect_schema(doc, "POST", "/api/v1/repositories", &r);
	reply_free(&r);
	const char *lists[] = { "/api/v1/users",	"/api/v1/repositories",
				"/api/v1/audit",	"/api/v1/roles",
				"/api/v1/tokens",	"/api/v1/deployment-providers",
				"/api/v1/role-bindings" };
	for (size_t i = 0; i < sizeof(lists) / sizeof(*lists); i++) {
		call(f, "GET", lists[i], access, NULL, &r);
		expect_status(&r, 200, lists[i]);
		expect_schema(doc, "GET", lists[i], &r);
		reply_free(&r);
	}
	call(f, "GET", "/api/v1/deployment-providers/flyio", access, NULL, &r);
	expect_status(&r, 200, "a deployment provider");
	expect_schema(doc, "GET", "/api/v1/deployment-providers/{id}", &r);
	reply_free(&r);
	buf_free(&tree);
	buf_free(&body);
	free(access);
	json_decref(doc);
}

/* ---- 2. hostile input ---- */

/* want_status: the exact status; ANY_4XX; or LENIENT (no 5xx, errors well shaped). */
enum { ANY_4XX = 0, LENIENT = -1 };

static void check_error_reply(const char *what, const char *method, const char *path,
			      const struct reply *r, long want_status, const char *want_code,
			      struct failures *fl)
{
	const char *why = NULL;
	if (r->status == 0 || r->status >= 500)
		why = "a 5xx or no answer";
	else if (want_status == LENIENT && r->status < 400)
		return;
	else if (want_status > 0 && r->status != want_status)
		why = "not the documented status";
	else if (want_status == ANY_4XX && r->status < 400)
		why = "not a 4xx";
	else if (!error_shaped(r))
		why = "not a JSON {\"error\":{\"code\",\"message\"}}";
	else if (want_code && strcmp(error_code(r), want_code) != 0)
		why = "not the documented code";
	if (!why)
		return;
	char want[32];
	if (want_status > 0)
		snprintf(want, sizeof(want), "%ld", want_status);
	else
		snprintf(want, sizeof(want), "%s", want_status == ANY_4XX ? "4xx" : "no 5xx");
	char key[512];
	snprintf(key, sizeof(key), "%s %s %.200s", what, method, path);
	failure_add(fl, key, "%s: %s %s: status %ld (want %s %s): %s: %s", what, method, path,
		    r->status, want, want_code ? want_code : "", why, short_body(r));
}

/* Names of the request body's properties from the OpenAPI document, or NULL. */
static json_t *schema_properties(json_t *doc, const char *pattern, const char *method)
{
	char lower[16];
	size_t n = 0;
	for (; n < sizeof(lower) - 1 && method[n]; n++)
		lower[n] = (char)(method[n] | 0x20);
	lower[n] = '\0';
	json_t *op =
		json_object_get(json_object_get(json_object_get(doc, "paths"), pattern), lower);
	json_t *schema = json_object_get(
		json_object_get(json_object_get(json_object_get(op, "requestBody"), "content"),
				"application/json"),
		"schema");
	const char *ref = json_string_value(json_object_get(schema, "$ref"));
	if (ref && str_starts_with(ref, "#/components/schemas/"))
		schema = json_object_get(
			json_object_get(json_object_get(doc, "components"), "schemas"),
			ref + strlen("#/components/schemas/"));
	json_t *properties = json_object_get(schema, "properties");
	return json_is_object(properties) && json_object_size(properties) ? properties : NULL;
}

/* Field names the API's request bodies use, sent to routes that take no body. */
static const char *const fallback_fields[] = {
	"name",	       "email",	     "password",    "role",	     "role_id",
	"user",	       "user_id",    "value",	    "scope",	     "project",
	"permissions", "scopes",     "to",	    "to_user_id",    "reason",
	"expires_in",  "expires_at", "description", "refresh_token", "url",
	"path",	       "provider",   "fields",	    "repository_id", "id",
	"kind",	       NULL,
};

/*
 * A value for a field, alone (then a 4xx is due: a lone field of the wrong
 * type) and in a plausible body (then any answer but a 5xx). Strings are
 * tried only in the plausible body (for most fields a string is right), and
 * only the values most likely to reach past the first check go there.
 */
static const struct {
	const char *json;
	bool alone, deep;
} odd_values[] = {
	{ "5", true, false },
	{ "1.5", true, false },
	{ "-9223372036854775808", true, true },
	{ "9223372036854775807", false, true },
	{ "true", true, false },
	{ "null", true, false },
	{ "[]", true, false },
	{ "{}", true, false },
	{ "[1,\"a\",null,{}]", false, true },
	{ "\"\"", false, true },
	{ "@long", false, true }, /* 64 KiB of text: longer than any name, under the limit */
	{ "\"\\u00e9\\ud83d\\ude00 \\u0001\\t../..\"", false, true },
	{ NULL, false, false },
};

/* A body where every known field is plausible, to reach deeper than the first check. */
static json_t *plausible_body(void)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:[s],s:[s],s:s,s:s,s:i,s:s,s:s}", "name",
			 "matrix-hostile", "email", "hostile@example.com", "password", PASSWORD,
			 "role", "viewer", "value", "v", "scope", "all", "permissions",
			 "project:read", "scopes", "project:read", "to", "m-nobody", "reason",
			 "hostile input", "expires_in", 60, "user", "m-nobody", "description", "d");
}

static void test_hostile_input(void **state)
{
	struct fixture *f = *state;
	make_identities(f);
	const char *admin = bearer_of(f, "admin");
	double started = seconds_now();
	size_t count;
	struct route_case *cases = route_cases(f, &count);
	struct failures fl = { 0 };
	size_t checked = 0;
	struct buf path = BUF_INIT;
	struct reply r;

	/* The OpenAPI document: what each route's body schema names. */
	struct request doc_rq = { .method = "GET", .path = "/api/v1/openapi.json" };
	send_request(f, &doc_rq, &r);
	expect_status(&r, 200, "openapi.json");
	json_t *doc = json_incref(r.json);
	reply_free(&r);

	/* Deeply nested arrays: 10 000 levels. */
	enum { DEPTH = 10000 };
	char *nested = xmalloc(2 * DEPTH + 1);
	memset(nested, '[', DEPTH);
	memset(nested + DEPTH, ']', DEPTH);
	nested[2 * DEPTH] = '\0';
	char *nested_objects = xmalloc(6 * DEPTH + 3);
	{
		size_t n = 0;
		for (int i = 0; i < DEPTH; i++) {
			memcpy(nested_objects + n, "{\"a\":", 5);
			n += 5;
		}
		nested_objects[n++] = '1';
		memset(nested_objects + n, '}', DEPTH);
		n += DEPTH;
		nested_objects[n] = '\0';
	}
	const struct {
		const char *body;
		size_t len;
		long status; /* 0: any 4xx */
	} malformed[] = {
		{ "{", 1, 400 },
		{ "{\"a\":", 5, 400 },
		{ "[1,2", 4, 400 },
		{ "\xff\xfe", 2, 400 },
		{ "{\"a\":\"\xff\xfe\"}", 10, 400 },
		{ "{\"a\":\"\\u0000\"}", 14, 400 },
		{ "{\"a\":1,\"a\":2}", 13, 400 },
		{ "", 0, 400 },
		{ "   ", 3, 400 },
		{ "{} {}", 5, 400 },
		{ "\"a JSON string\"", 15, 422 },
		{ "[]", 2, 422 },
		{ "null", 4, 422 },
		{ "5", 1, 422 },
		{ nested, 2 * DEPTH, 0 },
		{ nested_objects, strlen(nested_objects), 0 },
	};

	json_t *base = plausible_body();
	char *long_chars = xmalloc(64 * 1024 + 1);
	memset(long_chars, 'a', 64 * 1024);
	long_chars[64 * 1024] = '\0';
	json_t *long_text = json_string(long_chars);
	free(long_chars);
	for (size_t i = 0; i < count; i++) {
		const struct route_case *c = &cases[i];
		if (!method_has_body(c->method) || c->rank > 0)
			continue;
		buf_reset(&path);
		route_path(c, PLACEHOLDER_ID, &path);
		if (!route_project_param(c))
			buf_adds(&path, "?project=" MATRIX_PROJECT);
		const char *p = buf_cstr(&path);
		bool reads_body = c->meta && c->meta->request_schema;
		/* A placeholder id in the path may be a 404 before the body is read. */
		bool placeholder =
			http_route_param_count(c->route) > (route_project_param(c) ? 1 : 0);
		long exact_malformed = 0;

		/* Malformed JSON. */
		for (size_t m = 0; m < sizeof(malformed) / sizeof(*malformed); m++) {
			struct request rq = { .method = c->method,
					      .path = p,
					      .authorization = admin,
					      .body = malformed[m].body,
					      .body_len = malformed[m].len };
			send_request(f, &rq, &r);
			exact_malformed = !reads_body	? LENIENT
					  : placeholder ? ANY_4XX
							: malformed[m].status;
			check_error_reply("malformed JSON", c->method, p, &r, exact_malformed,
					  exact_malformed == 400   ? "bad_request"
					  : exact_malformed == 422 ? "unprocessable"
								   : NULL,
					  &fl);
			checked++;
			reply_free(&r);
		}

		/*
		 * Wrong types: each field of the route's request schema alone (a
		 * 4xx is due unless the value fits the field's schema), then each
		 * in a plausible body. Routes without a body schema get the names
		 * the API's bodies use, to show that a body they ignore is harmless.
		 */
		json_t *properties = schema_properties(doc, c->pattern, c->method);
		const char *names[64];
		size_t name_count = 0;
		if (properties) {
			const char *key;
			json_t *value;
			json_object_foreach(properties, key, value)
			{
				if (name_count < 63)
					names[name_count++] = key;
			}
		} else if (reads_body) {
			failure_add(
				&fl, c->pattern,
				"%s %s: its request schema %s lists no properties in the OpenAPI "
				"document",
				c->method, c->pattern, c->meta->request_schema);
		} else {
			for (size_t k = 0; fallback_fields[k] && name_count < 63; k++)
				names[name_count++] = fallback_fields[k];
		}
		for (size_t k = 0; k < name_count; k++) {
			for (size_t v = 0; odd_values[v].json; v++) {
				json_t *value = long_text;
				if (strcmp(odd_values[v].json, "@long") == 0)
					json_incref(value);
				else
					value = json_loads(odd_values[v].json, JSON_DECODE_ANY,
							   NULL);
				assert_non_null(value);
				json_t *alone = json_object();
				json_object_set(alone, names[k], value);
				json_t *deep = json_deep_copy(base);
				json_object_set(deep, names[k], value);
				json_t *bodies[] = { alone, deep };
				/* A value the schema allows may be a success alone. */
				bool fits = false;
				if (properties) {
					struct buf problems = BUF_INIT;
					schema_check(doc, json_object_get(properties, names[k]),
						     value, names[k], &problems);
					fits = problems.len == 0;
					buf_free(&problems);
				}
				for (int b = odd_values[v].alone && !fits ? 0 : 1;
				     b < (odd_values[v].deep ? 2 : 1); b++) {
					char *text = json_dumps(bodies[b], JSON_COMPACT);
					struct request rq = { .method = c->method,
							      .path = p,
							      .authorization = admin,
							      .body = text,
							      .body_len = strlen(text) };
					send_request(f, &rq, &r);
					checked++;
					if (b == 0 && reads_body) {
						check_error_reply("wrong type", c->method, p, &r,
								  ANY_4XX, NULL, &fl);
					} else if (r.status == 0 || r.status >= 500 ||
						   (r.status >= 400 && !error_shaped(&r))) {
						failure_add(&fl, c->pattern,
							    "odd value in a plausible body: %s "
							    "%s %s: status %ld: %s",
							    c->method, p, text, r.status,
							    short_body(&r));
					}
					reply_free(&r);
					free(text);
				}
				json_decref(alone);
				json_decref(deep);
				json_decref(value);
			}
		}
		if (reads_body) {
			const char *mixed = "{\"name\": 5, \"value\": [], \"scope\": {}}";
			struct request rq = { .method = c->method,
					      .path = p,
					      .authorization = admin,
					      .body = mixed,
					      .body_len = strlen(mixed) };
			send_request(f, &rq, &r);
			check_error_reply("wrong types", c->method, p, &r, ANY_4XX, NULL, &fl);
			checked++;
			reply_free(&r);
		}

		/* A body that is not JSON. */
		const char *types[] = { "text/plain", "application/xml",
					"multipart/form-data; boundary=x", "image/png" };
		for (size_t t = 0; t < sizeof(types) / sizeof(*types); t++) {
			struct request rq = { .method = c->method,
					      .path = p,
					      .authorization = admin,
					      .body = "{}",
					      .body_len = 2,
					      .content_type = types[t] };
			send_request(f, &rq, &r);
			check_error_reply(
				"media type", c->method, p, &r,
				!reads_body   ? LENIENT
				: placeholder ? ANY_4XX
					      : 415,
				reads_body && !placeholder ? "unsupported_media_type" : NULL, &fl);
			checked++;
			reply_free(&r);
		}

		/* One byte over the limit: refused from Content-Length, with and without
		 * 100-continue. */
		size_t big_len = MAX_BODY + 1;
		char *big = xmalloc(big_len);
		memset(big, ' ', big_len);
		big[0] = '{';
		big[big_len - 1] = '}';
		for (int expect = 0; expect <= 1; expect++) {
			struct request rq = { .method = c->method,
					      .path = p,
					      .authorization = admin,
					      .body = big,
					      .body_len = big_len,
					      .expect_continue = expect };
			send_request(f, &rq, &r);
			check_error_reply("oversized body", c->method, p, &r, 413,
					  "payload_too_large", &fl);
			checked++;
			reply_free(&r);
		}
		/* Far over it (and no Content-Length to go by: chunked) is still a 413. */
		const char *chunked[] = { "Transfer-Encoding: chunked", NULL };
		struct request rq = { .method = c->method,
				      .path = p,
				      .authorization = admin,
				      .body = big,
				      .body_len = big_len,
				      .headers = chunked };
		send_request(f, &rq, &r);
		check_error_reply("oversized chunked body", c->method, p, &r, 413,
				  "payload_too_large", &fl);
		checked++;
		reply_free(&r);
		free(big);
	}
	json_decref(base);
	json_decref(long_text);

	/* Wrong methods: 405 with Allow naming the methods the path has; OPTIONS: 204. */
	const char *methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE" };
	for (size_t i = 0; i < count; i++) {
		const struct route_case *c = &cases[i];
		bool seen = false;
		for (size_t j = 0; j < i; j++)
			seen = seen || strcmp(cases[j].pattern, c->pattern) == 0;
		if (seen)
			continue;
		buf_reset(&path);
		route_path(c, PLACEHOLDER_ID, &path);
		const char *p = buf_cstr(&path);
		for (size_t m = 0; m < sizeof(methods) / sizeof(*methods); m++) {
			/* Any route whose pattern takes this path with this method. */
			bool registered = false;
			for (size_t j = 0; j < count; j++)
				registered =
					registered || (strcmp(cases[j].method, methods[m]) == 0 &&
						       pattern_matches(cases[j].pattern, p));
			if (registered)
				continue;
			bool body = method_has_body(methods[m]);
			struct request rq = { .method = methods[m],
					      .path = p,
					      .authorization = admin,
					      .body = body ? "{}" : NULL,
					      .body_len = body ? 2 : 0 };
			send_request(f, &rq, &r);
			check_error_reply("wrong method", methods[m], p, &r, 405,
					  "method_not_allowed", &fl);
			const char *allow = reply_header(&r, "Allow");
			if (r.status == 405 &&
			    (!allow || !strstr(allow, c->method) || strstr(allow, methods[m])))
				failure_add(&fl, p,
					    "wrong method: %s %s: Allow '%s' (should name %s)",
					    methods[m], p, allow ? allow : "(none)", c->method);
			checked++;
			reply_free(&r);
		}
		/* HEAD is the GET route's answer, status for status. */
		bool has_get = false;
		for (size_t j = 0; j < count; j++)
			has_get = has_get || (strcmp(cases[j].method, "GET") == 0 &&
					      pattern_matches(cases[j].pattern, p));
		if (has_get) {
			struct request get = { .method = "GET", .path = p, .authorization = admin };
			struct request head = { .method = "HEAD",
						.path = p,
						.authorization = admin };
			struct reply got;
			send_request(f, &get, &got);
			send_request(f, &head, &r);
			if (r.status != got.status || r.status >= 500)
				failure_add(&fl, p, "HEAD %s: status %ld, GET gave %ld", p,
					    r.status, got.status);
			checked += 2;
			reply_free(&got);
			reply_free(&r);
		}
		struct request rq = { .method = "OPTIONS", .path = p };
		send_request(f, &rq, &r);
		const char *allow = reply_header(&r, "Allow");
		if (r.status != 204 || !allow || !strstr(allow, c->method))
			failure_add(&fl, p, "OPTIONS %s: status %ld, Allow '%s'", p, r.status,
				    allow ? allow : "(none)");
		checked++;
		reply_free(&r);
	}

	/* Unknown routes: 404 not_found, with and without credentials. */
	struct buf long_path = BUF_INIT;
	buf_adds(&long_path, "/api/v1/");
	for (int i = 0; i < 400; i++)
		buf_adds(&long_path, "zzzzz");
	const struct {
		const char *path;
		long anonymous, admin; /* the statuses wanted */
	} odd_paths[] = {
		{ "/api/v1/zz-nothing-here", 404, 404 },
		{ "/api/v1/users/" PLACEHOLDER_ID "/zz/zz", 404, 404 },
		{ "/api/v2/users", 404, 404 },
		{ "/api/v1/users/", 404, 404 },
		{ "/api/v1//users", 404, 404 },
		{ "/api/v1/%2e%2e/%2e%2e/etc/passwd", 404, 404 },
		{ "/zz", 404, 404 },
		{ "/api", 404, 404 },
		{ "/api/v1", 404, 404 },
		{ buf_cstr(&long_path), 404, 404 },
		/* Known routes with odd input: the guard first, then the handler. */
		{ "/api/v1/users?limit=5/", 401, 400 },
		{ "/api/v1/users/a%2Fb", 404, 404 },
		/* Not UTF-8 (a database would refuse it), or a NUL that would cut the path. */
		{ "/api/v1/users/%ff%fe", 400, 400 },
		{ "/api/v1/users/%00", 400, 400 },
		{ "/api/v1/users/admin%00x", 400, 400 },
		{ "/api/v1/users/%C0%80", 400, 400 },
		{ "/api/v1/roles/%ed%a0%80", 400, 400 },
		{ "/api/v1/%00", 400, 400 },
		{ "/api/v1/zz-nothing%ff", 400, 400 },
		{ "/api/v1/users/" PLACEHOLDER_ID "?x=%ff", 400, 400 },
		{ "/api/v1/users/" PLACEHOLDER_ID "?project=a%00b", 400, 400 },
		{ "/api/v1/users?limit=%00", 400, 400 },
		{ "/api/v1/audit?actor=%ff", 400, 400 },
		{ "/api/v1/users/" PLACEHOLDER_ID "?%ff=1", 400, 400 },
	};
	for (size_t u = 0; u < sizeof(odd_paths) / sizeof(*odd_paths); u++) {
		for (int auth = 0; auth <= 1; auth++) {
			struct request rq = { .method = "GET",
					      .path = odd_paths[u].path,
					      .authorization = auth ? admin : NULL };
			send_request(f, &rq, &r);
			long want = auth ? odd_paths[u].admin : odd_paths[u].anonymous;
			check_error_reply("odd path", "GET", odd_paths[u].path, &r, want,
					  want == 404	? "not_found"
					  : want == 400 ? "bad_request"
							: "unauthorized",
					  &fl);
			checked++;
			reply_free(&r);
		}
	}
	buf_free(&long_path);
	/* Each pattern with more segments, when no route takes that path. */
	for (size_t i = 0; i < count; i++) {
		const struct route_case *c = &cases[i];
		buf_reset(&path);
		route_path(c, PLACEHOLDER_ID, &path);
		buf_adds(&path, "/zz-extra/zz-extra/zz-extra");
		bool known = false;
		for (size_t j = 0; j < count; j++)
			known = known || pattern_matches(cases[j].pattern, buf_cstr(&path));
		if (known)
			continue;
		struct request rq = { .method = c->method,
				      .path = buf_cstr(&path),
				      .authorization = admin };
		send_request(f, &rq, &r);
		check_error_reply("unknown route", c->method, buf_cstr(&path), &r, 404, "not_found",
				  &fl);
		checked++;
		reply_free(&r);
	}

	/* Bad pagination on every paginated route: 400 (any 4xx under a placeholder parent). */
	const struct {
		const char *query;
		bool strict; /* documented as 400 */
	} queries[] = {
		{ "limit=0", true },
		{ "limit=-1", true },
		{ "limit=%2B5", true },
		{ "limit=abc", true },
		{ "limit=1e3", true },
		{ "limit=", true },
		{ "cursor=not-a-cursor", true },
		{ "cursor=%ff%00", true },
		{ "cursor=", true },
		{ "limit=99999999999999999999999", false },
		{ "limit=5&limit=abc", false },
	};
	for (size_t i = 0; i < count; i++) {
		const struct route_case *c = &cases[i];
		if (!c->meta || !c->meta->paginated || strcmp(c->method, "GET") != 0)
			continue;
		for (size_t q = 0; q < sizeof(queries) / sizeof(*queries); q++) {
			buf_reset(&path);
			route_path(c, PLACEHOLDER_ID, &path);
			buf_addf(&path, "?%s", queries[q].query);
			struct request rq = { .method = "GET",
					      .path = buf_cstr(&path),
					      .authorization = admin };
			send_request(f, &rq, &r);
			long want = !queries[q].strict		       ? LENIENT
				    : http_route_param_count(c->route) ? ANY_4XX
								       : 400;
			check_error_reply("bad pagination", "GET", buf_cstr(&path), &r, want,
					  want == 400 ? "bad_request" : NULL, &fl);
			checked++;
			reply_free(&r);
		}
	}

	print_message("api_matrix (%s): %zu hostile requests checked in %.1f s\n", f->driver,
		      checked, seconds_now() - started);
	buf_free(&path);
	free(nested);
	free(nested_objects);
	json_decref(doc);
	free(cases);
	failures_report(&fl, "hostile input", f->driver);

	/* After all that the server still answers. */
	call(f, "GET", "/health", NULL, NULL, &r);
	expect_status(&r, 200, "health after the hostile sweep");
	reply_free(&r);
}

/* ---- 3. credentials over HTTP ---- */

/* The Set-Cookie value "ampel_session=…" up to the first ';'. */
static char *session_cookie(const struct reply *r)
{
	const char *set = reply_header(r, "Set-Cookie");
	if (!set)
		fail_msg("login set no cookie");
	size_t len = strcspn(set, ";");
	char *cookie = xmalloc(len + 1);
	memcpy(cookie, set, len);
	cookie[len] = '\0';
	return cookie;
}

static bool file_contains(const char *path, const char *needle)
{
	FILE *in = fopen(path, "r");
	if (!in)
		return false;
	struct buf text = BUF_INIT;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
		buf_add(&text, chunk, n);
	fclose(in);
	bool found = text.len && strstr(buf_cstr(&text), needle) != NULL;
	buf_free(&text);
	return found;
}

static void test_credentials_over_http(void **state)
{
	struct fixture *f = *state;
	struct reply r;
	struct buf body = BUF_INIT;

	/* CSRF: a cookie alone cannot change anything. */
	buf_addf(&body, "{\"name\":\"admin\",\"password\":\"%s\"}", f->admin_password);
	call(f, "POST", "/api/v1/auth/login", NULL, buf_cstr(&body), &r);
	expect_status(&r, 200, "login");
	char *cookie = session_cookie(&r);
	char *csrf = xstrdup(reply_str(&r, "csrf_token"));
	char *access = xstrdup(reply_str(&r, "access_token"));
	char *refresh = xstrdup(reply_str(&r, "refresh_token"));
	reply_free(&r);
	struct buf cookie_header = BUF_INIT, csrf_header = BUF_INIT, wrong_csrf = BUF_INIT;
	buf_addf(&cookie_header, "Cookie: %s", cookie);
	buf_addf(&csrf_header, "X-CSRF-Token: %s", csrf);
	buf_addf(&wrong_csrf, "X-CSRF-Token: %sx", csrf);
	const char *cookie_only[] = { buf_cstr(&cookie_header), NULL };
	const char *cookie_wrong[] = { buf_cstr(&cookie_header), buf_cstr(&wrong_csrf), NULL };
	const char *cookie_csrf[] = { buf_cstr(&cookie_header), buf_cstr(&csrf_header), NULL };
	const char *token_body = "{\"name\":\"via-cookie\"}";
	struct request rq = { .method = "POST",
			      .path = "/api/v1/tokens",
			      .body = token_body,
			      .body_len = strlen(token_body),
			      .headers = cookie_only };
	send_request(f, &rq, &r);
	expect_status(&r, 403, "cookie without CSRF token");
	assert_string_equal(error_code(&r), "csrf_failed");
	reply_free(&r);
	rq.headers = cookie_wrong;
	send_request(f, &rq, &r);
	expect_status(&r, 403, "cookie with a wrong CSRF token");
	assert_string_equal(error_code(&r), "csrf_failed");
	reply_free(&r);
	rq.headers = cookie_csrf;
	send_request(f, &rq, &r);
	expect_status(&r, 201, "cookie with its CSRF token");
	char *cookie_token = xstrdup(reply_str(&r, "token"));
	reply_free(&r);
	struct request get_me = { .method = "GET",
				  .path = "/api/v1/auth/me",
				  .headers = cookie_only };
	send_request(f, &get_me, &r);
	expect_status(&r, 200, "GET with the cookie alone");
	assert_string_equal(reply_str(&r, "csrf_token"), csrf);
	reply_free(&r);

	/* Refresh: rotates; a used refresh token ends its whole family. */
	buf_reset(&body);
	buf_addf(&body, "{\"refresh_token\":\"%s\"}", refresh);
	call(f, "POST", "/api/v1/auth/refresh", NULL, buf_cstr(&body), &r);
	expect_status(&r, 200, "refresh");
	char *access2 = xstrdup(reply_str(&r, "access_token"));
	assert_string_not_equal(reply_str(&r, "refresh_token"), refresh);
	reply_free(&r);
	call(f, "GET", "/api/v1/auth/me", access2, NULL, &r);
	expect_status(&r, 200, "the new access token");
	reply_free(&r);
	call(f, "POST", "/api/v1/auth/refresh", NULL, buf_cstr(&body), &r);
	expect_status(&r, 401, "a refresh token used twice");
	reply_free(&r);
	call(f, "GET", "/api/v1/auth/me", access2, NULL, &r);
	expect_status(&r, 401, "an access token of a family ended by reuse");
	reply_free(&r);
	call(f, "GET", "/api/v1/auth/me", access, NULL, &r);
	expect_status(&r, 401, "the first access token of that family");
	reply_free(&r);

	/* A User-Agent that is not UTF-8 is not a reason to fail a login (PostgreSQL). */
	buf_reset(&body);
	buf_addf(&body, "{\"name\":\"admin\",\"password\":\"%s\"}", f->admin_password);
	const char *odd_agent[] = { "User-Agent: \xff\xfe\xc0\x80 agent", NULL };
	struct request odd_login = { .method = "POST",
				     .path = "/api/v1/auth/login",
				     .body = buf_cstr(&body),
				     .body_len = body.len,
				     .headers = odd_agent };
	send_request(f, &odd_login, &r);
	expect_status(&r, 200, "login with a User-Agent that is not UTF-8");
	reply_free(&r);

	/* Throttling: after 5 failures for a name, even the right password waits. */
	free(create(f, "/api/v1/users", cookie_token,
		    "{\"name\":\"m-throttled\",\"email\":\"t@example.com\",\"password\":\"" PASSWORD
		    "\"}",
		    NULL));
	for (int i = 0; i < 5; i++) {
		call(f, "POST", "/api/v1/auth/login", NULL,
		     "{\"name\":\"m-throttled\",\"password\":\"wrong password!\"}", &r);
		expect_status(&r, 401, "a wrong password");
		reply_free(&r);
	}
	call(f, "POST", "/api/v1/auth/login", NULL,
	     "{\"name\":\"m-throttled\",\"password\":\"" PASSWORD "\"}", &r);
	expect_status(&r, 429, "the right password while throttled");
	assert_string_equal(error_code(&r), "too_many_requests");
	assert_non_null(reply_header(&r, "Retry-After"));
	assert_true(atoi(reply_header(&r, "Retry-After")) >= 1);
	reply_free(&r);

	/* A secret goes in and never comes out, nor into the log or the audit log. */
	call(f, "POST", "/api/v1/secrets", cookie_token,
	     "{\"name\":\"MATRIX_SECRET\",\"value\":\"" SECRET_VALUE "\",\"project\":\"p1\"}", &r);
	expect_status(&r, 201, "create a secret");
	assert_null(strstr(buf_cstr(&r.body), SECRET_VALUE));
	reply_free(&r);
	const char *reads[] = { "/api/v1/secrets", "/api/v1/secrets?project=p1",
				"/api/v1/secrets/MATRIX_SECRET?project=p1", "/api/v1/audit" };
	for (size_t i = 0; i < sizeof(reads) / sizeof(*reads); i++) {
		call(f, "GET", reads[i], cookie_token, NULL, &r);
		expect_status(&r, 200, reads[i]);
		if (strstr(buf_cstr(&r.body), SECRET_VALUE))
			fail_msg("GET %s returned the secret value", reads[i]);
		if (strstr(buf_cstr(&r.body), cookie_token))
			fail_msg("GET %s returned an API token", reads[i]);
		reply_free(&r);
	}
	/* Tenant isolation: p2 does not see p1's secret. */
	call(f, "GET", "/api/v1/secrets?project=p2", cookie_token, NULL, &r);
	expect_status(&r, 200, "secrets of p2");
	assert_null(strstr(buf_cstr(&r.body), "MATRIX_SECRET"));
	reply_free(&r);
	call(f, "GET", "/api/v1/secrets/MATRIX_SECRET?project=p2", cookie_token, NULL, &r);
	expect_status(&r, 404, "p1's secret asked for in p2");
	reply_free(&r);

	json_t *rows = NULL;
	struct err e = ERR_INIT;
	if (store_query(f->store, "SELECT * FROM audit_log", NULL, 0, &rows, &e) != 0)
		fail_msg("%s", e.msg);
	char *all = json_dumps(rows, JSON_COMPACT);
	assert_null(strstr(all, SECRET_VALUE));
	assert_null(strstr(all, f->admin_password));
	assert_null(strstr(all, cookie_token));
	free(all);
	json_decref(rows);
	fflush(f->log);
	assert_false(file_contains(f->log_path, SECRET_VALUE));
	assert_false(file_contains(f->log_path, f->admin_password));
	assert_false(file_contains(f->log_path, cookie_token));
	assert_false(file_contains(f->log_path, refresh));
	assert_false(file_contains(f->log_path, csrf));
	assert_true(file_contains(f->log_path, "/api/v1/secrets")); /* the log did record */

	/* The audit chain verifies, then fails after one row is altered behind its back. */
	int64_t checked = 0, bad = 0;
	if (audit_verify(f->store, &checked, &bad, &e) != 0)
		fail_msg("audit chain: %s", e.msg);
	assert_true(checked > 10);
	int64_t changed = 0, tampered = checked / 2;
	struct store_param seq = STORE_INT_PARAM(tampered);
	if (store_exec(f->store, "UPDATE audit_log SET target = 'tampered' WHERE seq = ?", &seq, 1,
		       &changed, &e) != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(changed, 1);
	err_clear(&e);
	assert_int_equal(audit_verify(f->store, &checked, &bad, &e), -1);
	assert_int_equal(bad, tampered);

	buf_free(&body);
	buf_free(&cookie_header);
	buf_free(&csrf_header);
	buf_free(&wrong_csrf);
	free(cookie);
	free(csrf);
	free(access);
	free(access2);
	free(refresh);
	free(cookie_token);
}

#define MATRIX_TESTS(setup)                                                             \
	cmocka_unit_test_setup_teardown(test_rbac_matrix, setup, teardown),             \
		cmocka_unit_test_setup_teardown(test_openapi_schemas, setup, teardown), \
		cmocka_unit_test_setup_teardown(test_hostile_input, setup, teardown),   \
		cmocka_unit_test_setup_teardown(test_credentials_over_http, setup, teardown)

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest sqlite_tests[] = { MATRIX_TESTS(setup_sqlite) };
	const struct CMUnitTest pg_tests[] = { MATRIX_TESTS(setup_pg) };
	int failed = cmocka_run_group_tests_name("sqlite", sqlite_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("postgresql", pg_tests, group_setup_pg,
					      group_teardown_pg);
	curl_global_cleanup();
	return failed;
}
