/*
 * Deployment credentials on both drivers, through the real router with
 * every API module registered and the real auth guard: the provider
 * catalog, validation against it, sealing and masking, resolution
 * (repository, else account default), permissions, rotation and row
 * binding of the ciphertexts.
 */
#include "api/credentials.h"

#include "api/audit.h"
#include "api/secrets.h"
#include "util/embed.h"
#include "util/json.h"
#include "util/log.h"

#include "api_auth_harness.h"

#include <sys/stat.h>

/* Every secret value contains this marker: no response, log row or message may. */
#define MARKER	"s3cr3tMARK"
#define TOKEN_A "fo1_" MARKER "Alpha"
#define TOKEN_B "fo1_" MARKER "Bravo"
#define TOKEN_C "FlyV1 " MARKER "Charlie"
#define REPO_1	"0190a0b0-0000-7000-8000-0000000000r1"
#define REPO_2	"0190a0b0-0000-7000-8000-0000000000r2"

#define OK(call)                                                  \
	do {                                                      \
		struct err e_ = ERR_INIT;                         \
		struct err *e = &e_;                              \
		if ((call) != 0)                                  \
			fail_msg("%s failed: %s", #call, e_.msg); \
	} while (0)

/* The harness's fixture with every /api/v1 module instead of auth alone. */
static int register_all(void **state)
{
	struct fixture *f = *state;
	struct err fail = ERR_INIT;
	unsetenv("AMPEL_MASTER_KEY");
	/* The PostgreSQL fixture has no directory of its own: the master key needs one. */
	if (!f->dir[0]) {
		snprintf(f->dir, sizeof(f->dir), "/tmp/ampel-credentials-XXXXXX");
		if (!mkdtemp(f->dir))
			return -1;
	}
	f->ctx.data_dir = f->dir;
	http_router_free(f->router);
	f->router = http_router_new();
	if (api_register_all(f->router, &f->ctx, &fail) != 0) {
		print_error("api_register_all: %s\n", fail.msg);
		return -1;
	}
	return 0;
}

static int setup_all_sqlite(void **state)
{
	return setup_sqlite(state) != 0 ? -1 : register_all(state);
}

static int setup_all_pg(void **state)
{
	return setup_pg(state) != 0 ? -1 : register_all(state);
}

#define PUT(f, path, bearer, body) call((f), NULL, "PUT", (path), (bearer), (body), NULL)

/* Fails when a response carries a secret value; returns r for chaining. */
static struct reply checked(struct reply r)
{
	char *text = r.body ? json_dumps(r.body, 0) : NULL;
	if (text && strstr(text, MARKER))
		fail_msg("a response carries a secret value: %s", text);
	free(text);
	return r;
}

static const char *error_field(const struct reply *r)
{
	return json_string_value(json_object_get(json_object_get(r->body, "error"), "field"));
}

static const char *error_message(const struct reply *r)
{
	return json_string_value(json_object_get(json_object_get(r->body, "error"), "message"));
}

static const char *user_id(struct fixture *f, const char *name)
{
	static char id[STORE_ID_SIZE];
	struct store_param p = STORE_TEXT_PARAM(name);
	json_t *row = NULL;
	OK(store_query_one(f->store, "SELECT id FROM users WHERE name = ?", &p, 1, &row, e));
	assert_non_null(row);
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(row, "id")));
	json_decref(row);
	return id;
}

static void add_repository(struct fixture *f, const char *id, const char *name)
{
	struct store_param p[] = { STORE_TEXT_PARAM(id), STORE_TEXT_PARAM(name),
				   STORE_TEXT_PARAM(user_id(f, "admin")) };
	OK(store_exec(f->store,
		      "INSERT INTO repositories (id, name, owner_id, source_kind, source, path, "
		      "default_branch, state, error, created_at, updated_at) VALUES (?, ?, ?, "
		      "'path', '/srv/app', '/srv/app', 'main', 'ready', NULL, 1, 1)",
		      p, 3, NULL, e));
}

/* An admin "admin" (token in *admin) and two repositories. */
static void prepare(struct fixture *f, char **admin)
{
	create_user(f, "admin", true);
	*admin = login_token(f, "admin");
	add_repository(f, REPO_1, "web");
	add_repository(f, REPO_2, "api");
}

/* Creates a credential and returns its id (a new string). */
static char *create(struct fixture *f, const char *token, const char *body)
{
	struct reply r = checked(POST(f, "/api/v1/deployment-credentials", token, body));
	expect_status(&r, 201, body);
	char *id = xstrdup(body_str(&r, "id"));
	reply_free(&r);
	return id;
}

static json_t *resolved(struct fixture *f, const char *repository_id)
{
	json_t *fields = NULL;
	OK(credentials_resolve(&f->ctx, "flyio", repository_id, &fields, e));
	return fields;
}

static void expect_resolved_token(struct fixture *f, const char *repository_id,
				  const char *expected)
{
	json_t *fields = resolved(f, repository_id);
	assert_non_null(fields);
	assert_string_equal(json_string_value(json_object_get(fields, "FLY_API_TOKEN")), expected);
	json_decref(fields);
}

static int64_t count_rows(struct fixture *f, const char *sql_text)
{
	json_t *row = NULL;
	OK(store_query_one(f->store, sql_text, NULL, 0, &row, e));
	int64_t n = json_integer_value(json_object_get(row, "n"));
	json_decref(row);
	return n;
}

/* Nothing outside the ciphertexts holds a secret value, and the audit chain is intact. */
static void expect_no_values_stored(struct fixture *f)
{
	json_t *rows = NULL;
	OK(store_query(f->store, "SELECT * FROM audit_log", NULL, 0, &rows, e));
	char *text = json_dumps(rows, 0);
	assert_null(strstr(text, MARKER));
	free(text);
	json_decref(rows);
	OK(store_query(f->store, "SELECT fields FROM deployment_credentials", NULL, 0, &rows, e));
	text = json_dumps(rows, 0);
	assert_null(strstr(text, MARKER));
	free(text);
	json_decref(rows);
	int64_t checked_count, bad;
	OK(audit_verify(f->store, &checked_count, &bad, e));
}

#define ACCOUNT_BODY                                                                  \
	"{\"provider\": \"flyio\", \"fields\": {\"FLY_API_TOKEN\": \"" TOKEN_A "\", " \
	"\"FLY_REGION\": \"iad\"}}"
#define REPO_1_BODY                                                                 \
	"{\"provider\": \"flyio\", \"repository_id\": \"" REPO_1 "\", \"fields\": " \
	"{\"FLY_API_TOKEN\": \"" TOKEN_B "\"}}"

static void test_providers_listed_with_schemas(void **state)
{
	struct fixture *f = *state;
	char *admin;
	prepare(f, &admin);
	create_user(f, "vera", false);
	char *vera = login_token(f, "vera");
	struct reply r = POST(f, "/api/v1/role-bindings", admin,
			      "{\"user\": \"vera\", \"role\": \"viewer\"}");
	expect_status(&r, 201, "bind viewer");
	reply_free(&r);

	r = GET(f, "/api/v1/deployment-providers", NULL);
	expect_status(&r, 401, "anonymous");
	reply_free(&r);

	r = GET(f, "/api/v1/deployment-providers", vera);
	expect_status(&r, 200, "providers");
	json_t *items = json_object_get(r.body, "items");
	assert_true(json_array_size(items) >= 6);
	json_t *fly = NULL, *item;
	size_t i;
	json_array_foreach(items, i, item)
	{
		assert_non_null(json_object_get(item, "regions"));
		assert_non_null(json_object_get(item, "default_region"));
		assert_non_null(json_object_get(item, "docs"));
		assert_true(json_array_size(json_object_get(item, "credentials")) > 0);
		if (strcmp(json_get_str(item, "id", ""), "flyio") == 0)
			fly = item;
	}
	assert_non_null(fly);
	assert_string_equal(json_get_str(fly, "name", ""), "Fly.io");
	assert_string_equal(json_get_str(fly, "default_region", ""), "iad");
	json_t *token = json_array_get(json_object_get(fly, "credentials"), 0);
	assert_string_equal(json_get_str(token, "name", ""), "FLY_API_TOKEN");
	assert_string_equal(json_get_str(token, "type", ""), "api_token");
	assert_true(json_is_true(json_object_get(token, "required")));
	assert_true(json_is_true(json_object_get(token, "secret")));
	assert_non_null(strstr(json_get_str(token, "pattern", ""), "fo1_"));
	assert_non_null(json_get_str(token, "label", NULL));
	json_t *region = json_array_get(json_object_get(fly, "credentials"), 1);
	assert_string_equal(json_get_str(region, "type", ""), "region");
	assert_false(json_is_true(json_object_get(region, "secret")));
	reply_free(&r);

	r = GET(f, "/api/v1/deployment-providers/aws-ecs", vera);
	expect_status(&r, 200, "one provider");
	assert_string_equal(body_str(&r, "default_region"), "us-east-1");
	reply_free(&r);
	r = GET(f, "/api/v1/deployment-providers/heroku", vera);
	expect_status(&r, 404, "unknown provider");
	assert_non_null(strstr(error_message(&r), "flyio"));
	reply_free(&r);

	/* Every route has its metadata, and the OpenAPI document shows them. */
	size_t seen = 0;
	for (size_t k = 0; k < http_router_count(f->router); k++) {
		const struct http_route *route = http_router_at(f->router, k);
		if (!strstr(http_route_pattern(route), "/deployment-"))
			continue;
		const struct http_route_meta *meta = http_route_meta(route);
		seen++;
		assert_non_null(meta->summary);
		assert_string_equal(meta->tags, "deployments");
		const char *want = strcmp(http_route_method(route), "GET") == 0 ? "deploy:read"
										: "deploy:write";
		assert_string_equal(meta->permission, want);
		if (strcmp(http_route_method(route), "DELETE") != 0)
			assert_non_null(meta->response_schema);
	}
	assert_int_equal(seen, 9);
	free(vera);
	free(admin);
}

static void test_create_resolve_and_mask(void **state)
{
	struct fixture *f = *state;
	char *admin;
	prepare(f, &admin);
	/* Nothing yet: resolution finds nothing, in C and over HTTP. */
	assert_null(resolved(f, REPO_1));
	struct reply r = GET(f,
			     "/api/v1/deployment-credentials/resolve?provider=flyio&"
			     "repository_id=" REPO_1,
			     admin);
	expect_status(&r, 404, "resolve without credentials");
	reply_free(&r);

	r = checked(POST(f, "/api/v1/deployment-credentials", admin, ACCOUNT_BODY));
	expect_status(&r, 201, "account default");
	char *account_id = xstrdup(body_str(&r, "id"));
	json_t *fields = json_object_get(r.body, "fields");
	assert_string_equal(json_get_str(fields, "FLY_API_TOKEN", ""), CREDENTIALS_MASK);
	assert_string_equal(json_get_str(fields, "FLY_REGION", ""), "iad");
	assert_true(json_is_null(json_object_get(r.body, "repository_id")));
	assert_string_equal(body_str(&r, "provider"), "flyio");
	assert_int_equal(json_integer_value(json_object_get(r.body, "version")), 1);
	assert_int_equal(json_integer_value(json_object_get(r.body, "key_version")), 1);
	assert_string_equal(body_str(&r, "created_by"), user_id(f, "admin"));
	assert_null(json_object_get(r.body, "ciphertext"));
	reply_free(&r);

	/* The account default applies to every repository until one has its own. */
	r = checked(GET(
		f, "/api/v1/deployment-credentials/resolve?provider=flyio&repository_id=" REPO_1,
		admin));
	expect_status(&r, 200, "resolve to the account default");
	assert_string_equal(body_str(&r, "scope"), "account");
	assert_string_equal(body_str(&r, "id"), account_id);
	reply_free(&r);
	expect_resolved_token(f, REPO_1, TOKEN_A);

	char *repo_id = create(f, admin, REPO_1_BODY);
	r = checked(GET(
		f, "/api/v1/deployment-credentials/resolve?provider=flyio&repository_id=" REPO_1,
		admin));
	expect_status(&r, 200, "resolve to the repository's");
	assert_string_equal(body_str(&r, "scope"), "repository");
	assert_string_equal(body_str(&r, "id"), repo_id);
	assert_string_equal(json_get_str(json_object_get(r.body, "fields"), "FLY_API_TOKEN", ""),
			    CREDENTIALS_MASK);
	reply_free(&r);
	r = checked(GET(
		f, "/api/v1/deployment-credentials/resolve?provider=flyio&repository_id=" REPO_2,
		admin));
	expect_status(&r, 200, "another repository");
	assert_string_equal(body_str(&r, "scope"), "account");
	reply_free(&r);
	r = checked(GET(f, "/api/v1/deployment-credentials/resolve?provider=flyio", admin));
	expect_status(&r, 200, "the account");
	assert_string_equal(body_str(&r, "id"), account_id);
	reply_free(&r);

	/* In C, in clear: the repository's own (no merging with the default), else the default. */
	fields = resolved(f, REPO_1);
	assert_string_equal(json_get_str(fields, "FLY_API_TOKEN", ""), TOKEN_B);
	assert_null(json_object_get(fields, "FLY_REGION"));
	json_decref(fields);
	fields = resolved(f, REPO_2);
	assert_string_equal(json_get_str(fields, "FLY_API_TOKEN", ""), TOKEN_A);
	assert_string_equal(json_get_str(fields, "FLY_REGION", ""), "iad");
	json_decref(fields);
	expect_resolved_token(f, NULL, TOKEN_A);
	json_t *none = NULL;
	OK(credentials_resolve(&f->ctx, "aws-ecs", REPO_1, &none, e));
	assert_null(none);
	assert_int_equal(audit_count(f, "credential.reveal", NULL), 4);
	assert_int_equal(audit_count(f, "credential.reveal",
				     "repositories/" REPO_1 "/deployment-credentials/flyio"),
			 1);

	r = GET(f, "/api/v1/deployment-credentials/resolve?provider=aws-ecs", admin);
	expect_status(&r, 404, "no aws-ecs credential");
	reply_free(&r);
	r = GET(f, "/api/v1/deployment-credentials/resolve?provider=nope", admin);
	expect_status(&r, 400, "unknown provider");
	assert_string_equal(error_field(&r), "provider");
	reply_free(&r);
	r = GET(f, "/api/v1/deployment-credentials/resolve", admin);
	expect_status(&r, 400, "no provider");
	assert_string_equal(error_field(&r), "provider");
	reply_free(&r);
	r = GET(f, "/api/v1/deployment-credentials/resolve?provider=flyio&repository_id=missing",
		admin);
	expect_status(&r, 404, "unknown repository");
	reply_free(&r);

	/* Listing: masked, filtered, paginated. */
	r = checked(GET(f, "/api/v1/deployment-credentials", admin));
	expect_status(&r, 200, "list");
	json_t *items = json_object_get(r.body, "items");
	assert_int_equal(json_array_size(items), 2);
	json_t *item;
	size_t i;
	json_array_foreach(items, i, item)
	{
		assert_string_equal(
			json_get_str(json_object_get(item, "fields"), "FLY_API_TOKEN", ""),
			CREDENTIALS_MASK);
		assert_null(json_object_get(item, "nonce"));
		assert_non_null(json_object_get(item, "updated_at"));
	}
	reply_free(&r);
	r = checked(GET(f, "/api/v1/deployment-credentials?repository_id=" REPO_1, admin));
	assert_int_equal(json_array_size(json_object_get(r.body, "items")), 1);
	assert_string_equal(
		json_get_str(json_array_get(json_object_get(r.body, "items"), 0), "id", ""),
		repo_id);
	reply_free(&r);
	r = checked(GET(f, "/api/v1/deployment-credentials?scope=account&provider=flyio", admin));
	assert_int_equal(json_array_size(json_object_get(r.body, "items")), 1);
	reply_free(&r);
	r = checked(GET(f, "/api/v1/deployment-credentials?provider=aws-ecs", admin));
	assert_int_equal(json_array_size(json_object_get(r.body, "items")), 0);
	reply_free(&r);
	r = GET(f, "/api/v1/deployment-credentials?provider=nope", admin);
	expect_status(&r, 400, "list by an unknown provider");
	reply_free(&r);
	r = GET(f, "/api/v1/deployment-credentials?scope=everywhere", admin);
	expect_status(&r, 400, "bad scope");
	assert_string_equal(error_field(&r), "scope");
	reply_free(&r);
	r = checked(GET(f, "/api/v1/deployment-credentials?limit=1", admin));
	assert_int_equal(json_array_size(json_object_get(r.body, "items")), 1);
	assert_true(json_is_string(json_object_get(r.body, "next_cursor")));
	reply_free(&r);

	char path[256];
	snprintf(path, sizeof(path), "/api/v1/deployment-credentials/%s", repo_id);
	r = checked(GET(f, path, admin));
	expect_status(&r, 200, "get");
	assert_string_equal(body_str(&r, "repository_id"), REPO_1);
	assert_string_equal(json_get_str(json_object_get(r.body, "fields"), "FLY_API_TOKEN", ""),
			    CREDENTIALS_MASK);
	reply_free(&r);
	r = GET(f, "/api/v1/deployment-credentials/0190a0b0-0000-7000-8000-00000000dead", admin);
	expect_status(&r, 404, "get unknown");
	reply_free(&r);

	/*
	 * Ids and providers that cannot be one (not UTF-8: PostgreSQL would refuse
	 * them): refused by the router or the handler, never a 5xx.
	 */
	const char *odd[] = { "GET", "PUT", "DELETE" };
	for (size_t k = 0; k < 3; k++) {
		r = call(f, NULL, odd[k], "/api/v1/deployment-credentials/\xff\xfe", admin,
			 strcmp(odd[k], "PUT") == 0 ? "{\"fields\": {}}" : NULL, NULL);
		/* The router may refuse such a path first (400); never a 5xx. */
		if (r.status != 400)
			expect_status(&r, 404, odd[k]);
		assert_non_null(r.body);
		reply_free(&r);
	}
	r = GET(f, "/api/v1/deployment-credentials/resolve?provider=\xff\xc0", admin);
	expect_status(&r, 400, "provider not UTF-8");
	assert_non_null(r.body);
	reply_free(&r);
	r = GET(f, "/api/v1/deployment-credentials?repository_id=\xed\xa0\x80", admin);
	expect_status(&r, 400, "repository_id not UTF-8");
	assert_non_null(r.body);
	reply_free(&r);
	r = GET(f, "/api/v1/deployment-providers/\xc0\x80", admin);
	if (r.status != 400)
		expect_status(&r, 404, "provider id not UTF-8");
	assert_non_null(r.body);
	reply_free(&r);

	/* The secret is sealed: the clear column names it, without a value. */
	json_t *row = NULL;
	struct store_param p = STORE_TEXT_PARAM(account_id);
	OK(store_query_one(f->store, "SELECT fields FROM deployment_credentials WHERE id = ?", &p,
			   1, &row, e));
	assert_string_equal(json_get_str(row, "fields", ""),
			    "{\"FLY_API_TOKEN\":null,\"FLY_REGION\":\"iad\"}");
	json_decref(row);

	/* A repository's deletion takes its credentials with it. */
	sql(f, "DELETE FROM repositories WHERE id = ?", REPO_1);
	assert_int_equal(count_rows(f, "SELECT COUNT(*) AS n FROM deployment_credentials"), 1);

	assert_int_equal(audit_count(f, "credential.create", NULL), 2);
	expect_no_values_stored(f);
	free(account_id);
	free(repo_id);
	free(admin);
}

/* The problem about field in a 422's error.problems, or NULL. */
static const char *problem_about(const struct reply *r, const char *field)
{
	json_t *problems = json_object_get(json_object_get(r->body, "error"), "problems");
	size_t i;
	json_t *item;
	json_array_foreach(problems, i, item)
	{
		if (strcmp(json_get_str(item, "field", ""), field) == 0)
			return json_get_str(item, "message", "");
	}
	return NULL;
}

static void expect_invalid(struct fixture *f, const char *token, const char *body,
			   const char *field, const char *words)
{
	struct reply r = checked(POST(f, "/api/v1/deployment-credentials/validate", token, body));
	expect_status(&r, 422, body);
	const char *message = problem_about(&r, field);
	if (!message || !strstr(message, words))
		fail_msg("%s: expected a problem about %s saying '%s' in %s", body, field, words,
			 json_dumps(r.body, JSON_COMPACT));
	assert_non_null(error_field(&r));
	reply_free(&r);
}

static void test_validation(void **state)
{
	struct fixture *f = *state;
	char *admin;
	prepare(f, &admin);
	struct reply r = checked(POST(f, "/api/v1/deployment-credentials/validate", admin,
				      "{\"provider\": \"flyio\", \"fields\": {\"FLY_API_TOKEN\": "
				      "\"" TOKEN_C "\", \"FLY_REGION\": \"fra\"}}"));
	expect_status(&r, 200, "valid");
	assert_true(json_is_true(json_object_get(r.body, "valid")));
	reply_free(&r);
	/* Optional fields may be left out. */
	r = checked(POST(f, "/api/v1/deployment-credentials/validate", admin,
			 "{\"provider\": \"flyio\", \"fields\": {\"FLY_API_TOKEN\": \"" TOKEN_A
			 "\"}}"));
	expect_status(&r, 200, "valid without a region");
	reply_free(&r);

	expect_invalid(f, admin, "{\"provider\": \"flyio\", \"fields\": {\"FLY_REGION\": \"iad\"}}",
		       "fields.FLY_API_TOKEN", "is required");
	expect_invalid(f, admin,
		       "{\"provider\": \"flyio\", \"fields\": {\"FLY_API_TOKEN\": \"bearer " MARKER
		       "\"}}",
		       "fields.FLY_API_TOKEN", "does not match the pattern");
	/* $ does not accept a trailing newline. */
	expect_invalid(f, admin,
		       "{\"provider\": \"flyio\", \"fields\": {\"FLY_API_TOKEN\": \"" TOKEN_A
		       "\\n\"}}",
		       "fields.FLY_API_TOKEN", "does not match");
	expect_invalid(f, admin,
		       "{\"provider\": \"flyio\", \"fields\": {\"FLY_API_TOKEN\": \"" TOKEN_A
		       "\", \"FLY_ORG\": \"acme\"}}",
		       "fields.FLY_ORG", "is not a credential field of flyio");
	expect_invalid(f, admin,
		       "{\"provider\": \"flyio\", \"fields\": {\"FLY_API_TOKEN\": \"" TOKEN_A
		       "\", \"FLY_REGION\": \"mars\"}}",
		       "fields.FLY_REGION", "must be one of the regions of flyio");
	expect_invalid(f, admin, "{\"provider\": \"flyio\", \"fields\": {\"FLY_API_TOKEN\": 42}}",
		       "fields.FLY_API_TOKEN", "must be a string");
	expect_invalid(f, admin,
		       "{\"provider\": \"flyio\", \"fields\": {\"FLY_API_TOKEN\": \"" TOKEN_A
		       "\", \"FLY_REGION\": \"\"}}",
		       "fields.FLY_REGION", "must not be empty");
	expect_invalid(f, admin,
		       "{\"provider\": \"flyio\", \"fields\": {\"FLY_API_TOKEN\": \"********\"}}",
		       "fields.FLY_API_TOKEN", "send the real value");
	expect_invalid(f, admin, "{\"provider\": \"heroku\", \"fields\": {}}", "provider",
		       "unknown provider 'heroku'");
	expect_invalid(f, admin, "{\"fields\": {}}", "provider", "provider is required");
	expect_invalid(f, admin, "{\"provider\": \"flyio\", \"fields\": [\"FLY_API_TOKEN\"]}",
		       "fields", "must be an object");
	expect_invalid(f, admin,
		       "{\"provider\": \"aws-ecs\", \"fields\": {\"AWS_ROLE_TO_ASSUME\": "
		       "\"arn:aws:iam::123:role/x\", \"AWS_REGION\": \"us-east-1\", \"APP_URL\": "
		       "\"https://x.example\"}}",
		       "fields.AWS_ROLE_TO_ASSUME", "does not match");

	/* Every problem at once, the first also as the error's field and message. */
	r = checked(POST(f, "/api/v1/deployment-credentials/validate", admin,
			 "{\"provider\": \"flyio\", \"fields\": {\"FLY_ORG\": \"acme\", "
			 "\"FLY_REGION\": \"mars\"}}"));
	expect_status(&r, 422, "three problems");
	assert_int_equal(
		json_array_size(json_object_get(json_object_get(r.body, "error"), "problems")), 3);
	assert_non_null(problem_about(&r, "fields.FLY_ORG"));
	assert_non_null(problem_about(&r, "fields.FLY_API_TOKEN"));
	assert_non_null(problem_about(&r, "fields.FLY_REGION"));
	assert_string_equal(error_field(&r), "fields.FLY_ORG");
	reply_free(&r);

	r = POST(f, "/api/v1/deployment-credentials/validate", admin, "{\"provider\": ");
	expect_status(&r, 400, "malformed JSON");
	reply_free(&r);

	/* Creating checks the same, and the repository. */
	r = checked(POST(f, "/api/v1/deployment-credentials", admin,
			 "{\"provider\": \"flyio\", \"fields\": {\"FLY_API_TOKEN\": \"x" MARKER
			 "\"}}"));
	expect_status(&r, 422, "create with a bad token");
	assert_string_equal(error_field(&r), "fields.FLY_API_TOKEN");
	reply_free(&r);
	r = checked(POST(f, "/api/v1/deployment-credentials", admin,
			 "{\"provider\": \"flyio\", \"repository_id\": \"missing\", \"fields\": "
			 "{\"FLY_API_TOKEN\": \"" TOKEN_A "\"}}"));
	expect_status(&r, 422, "create for an unknown repository");
	assert_string_equal(error_field(&r), "repository_id");
	reply_free(&r);
	r = checked(POST(f, "/api/v1/deployment-credentials", admin,
			 "{\"provider\": \"flyio\", \"repository_id\": 7, \"fields\": "
			 "{\"FLY_API_TOKEN\": \"" TOKEN_A "\"}}"));
	expect_status(&r, 422, "repository_id not a string");
	assert_string_equal(error_field(&r), "repository_id");
	reply_free(&r);
	r = POST(f, "/api/v1/deployment-credentials", admin, "[]");
	expect_status(&r, 422, "not an object");
	reply_free(&r);

	/* validate stores nothing. */
	assert_int_equal(count_rows(f, "SELECT COUNT(*) AS n FROM deployment_credentials"), 0);
	expect_no_values_stored(f);
	free(admin);
}

/* The catalog is data: a provider with a select field, from an override directory. */
static void test_catalog_from_override_directory(void **state)
{
	struct fixture *f = *state;
	char dir[] = "/tmp/ampel-providers-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof(path), "%s/deployment-providers.yaml", dir);
	FILE *out = fopen(path, "w");
	assert_non_null(out);
	fputs("version: 1\n"
	      "targets:\n"
	      "  - id: tiny\n"
	      "    name: Tiny Cloud\n"
	      "    api_base: https://api.tiny.example\n"
	      "    docs: https://tiny.example/docs\n"
	      "    default_region: north\n"
	      "    regions: [north, south]\n"
	      "    credentials:\n"
	      "      - {name: TINY_KEY, label: Key, type: secret, required: true, pattern: "
	      "'^tk_[a-z]+$'}\n"
	      "      - {name: TINY_PLAN, label: Plan, type: select, required: true, options: "
	      "[hobby, pro]}\n"
	      "    defaults:\n"
	      "      default: {port: 8080, memory: 256, cpu: \"1\"}\n",
	      out);
	fclose(out);
	embed_set_override_dir(dir);
	struct http_router *router = http_router_new();
	struct err fail = ERR_INIT;
	int rc = api_credentials_register(router, &f->ctx, &fail);
	embed_set_override_dir(NULL);
	if (rc != 0)
		fail_msg("register with the override: %s", fail.msg);
	struct http_router *saved = f->router;
	/* Dispatch through the override's routes, with the real guard installed on it. */
	OK(api_auth_register(router, &f->ctx, e));
	f->router = router;
	char *admin;
	prepare(f, &admin);
	struct reply r = GET(f, "/api/v1/deployment-providers", admin);
	expect_status(&r, 200, "override providers");
	assert_int_equal(json_array_size(json_object_get(r.body, "items")), 1);
	json_t *plan = json_array_get(
		json_object_get(json_array_get(json_object_get(r.body, "items"), 0), "credentials"),
		1);
	assert_string_equal(json_get_str(plan, "type", ""), "select");
	assert_int_equal(json_array_size(json_object_get(plan, "options")), 2);
	reply_free(&r);
	expect_invalid(f, admin,
		       "{\"provider\": \"tiny\", \"fields\": {\"TINY_KEY\": \"tk_abc\", "
		       "\"TINY_PLAN\": \"enterprise\"}}",
		       "fields.TINY_PLAN", "must be one of hobby, pro");
	r = checked(POST(f, "/api/v1/deployment-credentials", admin,
			 "{\"provider\": \"tiny\", \"fields\": {\"TINY_KEY\": \"tk_"
			 "abc\", "
			 "\"TINY_PLAN\": \"pro\"}}"));
	expect_status(&r, 201, "create with a select");
	assert_string_equal(json_get_str(json_object_get(r.body, "fields"), "TINY_PLAN", ""),
			    "pro");
	assert_string_equal(json_get_str(json_object_get(r.body, "fields"), "TINY_KEY", ""),
			    CREDENTIALS_MASK);
	reply_free(&r);
	f->router = saved;
	http_router_free(router);

	/* A broken catalog fails at registration, naming the file and the field. */
	out = fopen(path, "w");
	fputs("version: 1\n"
	      "targets:\n"
	      "  - id: tiny\n"
	      "    name: Tiny Cloud\n"
	      "    api_base: https://api.tiny.example\n"
	      "    docs: https://tiny.example/docs\n"
	      "    default_region: north\n"
	      "    regions: [north]\n"
	      "    credentials:\n"
	      "      - {name: TINY_KEY, label: Key, type: secret, required: true, pattern: "
	      "'^(tk_'}\n"
	      "    defaults:\n"
	      "      default: {port: 8080, memory: 256, cpu: \"1\"}\n",
	      out);
	fclose(out);
	embed_set_override_dir(dir);
	router = http_router_new();
	assert_int_equal(api_credentials_register(router, &f->ctx, &fail), -1);
	http_router_free(router);
	embed_set_override_dir(NULL);
	assert_non_null(strstr(fail.msg, "deployment-providers.yaml"));
	assert_non_null(strstr(fail.msg, "TINY_KEY"));
	remove(path);
	rmdir(dir);
	free(admin);
}

static void test_duplicate_update_delete(void **state)
{
	struct fixture *f = *state;
	char *admin;
	prepare(f, &admin);
	char *account_id = create(f, admin, ACCOUNT_BODY);
	struct reply r = checked(POST(f, "/api/v1/deployment-credentials", admin, ACCOUNT_BODY));
	expect_status(&r, 409, "duplicate account default");
	assert_non_null(strstr(error_message(&r), "already exists"));
	reply_free(&r);
	char *repo_id = create(f, admin, REPO_1_BODY);
	r = checked(POST(f, "/api/v1/deployment-credentials", admin, REPO_1_BODY));
	expect_status(&r, 409, "duplicate repository credential");
	reply_free(&r);
	/* The same repository may hold another provider's. */
	char *aws_id = create(f, admin,
			      "{\"provider\": \"aws-ecs\", \"repository_id\": \"" REPO_1
			      "\", \"fields\": {\"AWS_ROLE_TO_ASSUME\": "
			      "\"arn:aws:iam::123456789012:role/deploy\", \"AWS_REGION\": "
			      "\"eu-west-1\", \"APP_URL\": \"https://web.example\"}}");

	char path[256];
	snprintf(path, sizeof(path), "/api/v1/deployment-credentials/%s", repo_id);
	r = checked(PUT(f, path, admin,
			"{\"fields\": {\"FLY_API_TOKEN\": \"" TOKEN_C "\", \"FLY_REGION\": "
			"\"fra\"}}"));
	expect_status(&r, 200, "update");
	assert_int_equal(json_integer_value(json_object_get(r.body, "version")), 2);
	assert_string_equal(json_get_str(json_object_get(r.body, "fields"), "FLY_REGION", ""),
			    "fra");
	reply_free(&r);
	json_t *fields = resolved(f, REPO_1);
	assert_string_equal(json_get_str(fields, "FLY_API_TOKEN", ""), TOKEN_C);
	assert_string_equal(json_get_str(fields, "FLY_REGION", ""), "fra");
	json_decref(fields);

	/* A bad update changes nothing. */
	r = checked(PUT(f, path, admin, "{\"fields\": {\"FLY_REGION\": \"fra\"}}"));
	expect_status(&r, 422, "update without the token");
	assert_string_equal(error_field(&r), "fields.FLY_API_TOKEN");
	reply_free(&r);
	r = checked(PUT(f, path, admin,
			"{\"provider\": \"aws-ecs\", \"fields\": {\"FLY_API_TOKEN\": \"" TOKEN_A
			"\"}}"));
	expect_status(&r, 422, "update moving provider");
	assert_string_equal(error_field(&r), "provider");
	reply_free(&r);
	r = checked(PUT(f, path, admin,
			"{\"repository_id\": null, \"fields\": {\"FLY_API_TOKEN\": \"" TOKEN_A
			"\"}}"));
	expect_status(&r, 422, "update moving repository");
	assert_string_equal(error_field(&r), "repository_id");
	reply_free(&r);
	r = checked(PUT(f, "/api/v1/deployment-credentials/nope", admin,
			"{\"fields\": {\"FLY_API_TOKEN\": \"" TOKEN_A "\"}}"));
	expect_status(&r, 404, "update unknown");
	reply_free(&r);
	expect_resolved_token(f, REPO_1, TOKEN_C);
	r = checked(GET(f, path, admin));
	assert_int_equal(json_integer_value(json_object_get(r.body, "version")), 2);
	reply_free(&r);

	r = DELETE(f, path, admin);
	expect_status(&r, 204, "delete");
	reply_free(&r);
	r = GET(f, path, admin);
	expect_status(&r, 404, "get deleted");
	reply_free(&r);
	r = DELETE(f, path, admin);
	expect_status(&r, 404, "delete again");
	reply_free(&r);
	/* Back to the account default. */
	expect_resolved_token(f, REPO_1, TOKEN_A);
	r = checked(GET(
		f, "/api/v1/deployment-credentials/resolve?provider=flyio&repository_id=" REPO_1,
		admin));
	assert_string_equal(body_str(&r, "id"), account_id);
	reply_free(&r);

	assert_int_equal(audit_count(f, "credential.update",
				     "repositories/" REPO_1 "/deployment-credentials/flyio"),
			 1);
	assert_int_equal(audit_count(f, "credential.delete",
				     "repositories/" REPO_1 "/deployment-credentials/flyio"),
			 1);
	/* The audit names the fields, never their values. */
	json_t *row = NULL;
	OK(store_query_one(f->store,
			   "SELECT actor, detail FROM audit_log WHERE action = 'credential.update'",
			   NULL, 0, &row, e));
	assert_string_equal(json_get_str(row, "actor", ""), "admin");
	assert_non_null(strstr(json_get_str(row, "detail", ""), "FLY_API_TOKEN"));
	json_decref(row);
	expect_no_values_stored(f);
	free(account_id);
	free(repo_id);
	free(aws_id);
	free(admin);
}

static void test_permissions(void **state)
{
	struct fixture *f = *state;
	char *admin;
	prepare(f, &admin);
	char *repo_id = create(f, admin, REPO_1_BODY);
	char *account_id = create(f, admin, ACCOUNT_BODY);
	create_user(f, "vera", false);
	create_user(f, "dora", false);
	struct reply r = POST(f, "/api/v1/role-bindings", admin,
			      "{\"user\": \"vera\", \"role\": \"viewer\"}");
	expect_status(&r, 201, "bind viewer");
	reply_free(&r);
	r = POST(f, "/api/v1/role-bindings", admin,
		 "{\"user\": \"dora\", \"role\": \"owner\", \"project\": \"" REPO_2 "\"}");
	expect_status(&r, 201, "bind owner of repository 2");
	reply_free(&r);
	char *vera = login_token(f, "vera");
	char *dora = login_token(f, "dora");
	char path[256];
	snprintf(path, sizeof(path), "/api/v1/deployment-credentials/%s", repo_id);

	/* A viewer reads (masked) and writes nothing. */
	r = checked(GET(f, "/api/v1/deployment-credentials", vera));
	expect_status(&r, 200, "viewer lists");
	assert_int_equal(json_array_size(json_object_get(r.body, "items")), 2);
	reply_free(&r);
	r = POST(f, "/api/v1/deployment-credentials", vera, REPO_1_BODY);
	expect_status(&r, 403, "viewer creates");
	reply_free(&r);
	r = PUT(f, path, vera, "{\"fields\": {\"FLY_API_TOKEN\": \"" TOKEN_C "\"}}");
	expect_status(&r, 403, "viewer updates");
	reply_free(&r);
	r = DELETE(f, path, vera);
	expect_status(&r, 403, "viewer deletes");
	reply_free(&r);
	r = POST(f, "/api/v1/deployment-credentials/validate", vera, ACCOUNT_BODY);
	expect_status(&r, 403, "viewer validates");
	reply_free(&r);
	expect_resolved_token(f, REPO_1, TOKEN_B);

	/* An owner of repository 2 manages its credentials, and nothing else. */
	r = POST(f, "/api/v1/deployment-credentials", dora,
		 "{\"provider\": \"flyio\", \"repository_id\": \"" REPO_2 "\", \"fields\": "
		 "{\"FLY_API_TOKEN\": \"" TOKEN_C "\"}}");
	expect_status(&r, 403, "owner without ?project= (checked globally by the guard)");
	reply_free(&r);
	r = checked(POST(f, "/api/v1/deployment-credentials?project=" REPO_2, dora,
			 "{\"provider\": \"flyio\", \"repository_id\": \"" REPO_2 "\", \"fields\": "
			 "{\"FLY_API_TOKEN\": \"" TOKEN_C "\"}}"));
	expect_status(&r, 201, "owner creates in its repository");
	char *dora_id = xstrdup(body_str(&r, "id"));
	reply_free(&r);
	r = POST(f, "/api/v1/deployment-credentials?project=" REPO_2, dora,
		 "{\"provider\": \"aws-ecs\", \"fields\": {\"AWS_ROLE_TO_ASSUME\": "
		 "\"arn:aws:iam::123456789012:role/deploy\", \"AWS_REGION\": \"eu-west-1\", "
		 "\"APP_URL\": \"https://web.example\"}}");
	expect_status(&r, 403, "owner of a repository creates an account default");
	assert_non_null(strstr(error_message(&r), "account-wide"));
	reply_free(&r);
	r = POST(f, "/api/v1/deployment-credentials?project=" REPO_2, dora,
		 "{\"provider\": \"aws-ecs\", \"repository_id\": \"" REPO_1 "\", \"fields\": {}}");
	expect_status(&r, 403, "owner of repository 2 writes into repository 1");
	reply_free(&r);
	r = PUT(f, path, dora, "{\"fields\": {\"FLY_API_TOKEN\": \"" TOKEN_C "\"}}");
	expect_status(&r, 403, "owner of repository 2 updates repository 1's");
	reply_free(&r);
	char own[256];
	snprintf(own, sizeof(own), "/api/v1/deployment-credentials/%s?project=" REPO_2, dora_id);
	r = checked(GET(f, own, dora));
	expect_status(&r, 200, "owner reads its own");
	reply_free(&r);
	snprintf(own, sizeof(own), "/api/v1/deployment-credentials/%s?project=" REPO_2, account_id);
	r = GET(f, own, dora);
	expect_status(&r, 403, "owner of a repository reads the account default by id");
	reply_free(&r);
	r = checked(GET(f, "/api/v1/deployment-credentials?project=" REPO_2, dora));
	expect_status(&r, 200, "owner lists its repository's");
	assert_int_equal(json_array_size(json_object_get(r.body, "items")), 1);
	reply_free(&r);
	r = GET(f, "/api/v1/deployment-credentials?project=" REPO_2 "&repository_id=" REPO_1, dora);
	expect_status(&r, 400, "project and repository_id disagree");
	reply_free(&r);
	r = GET(f, "/api/v1/deployment-credentials", dora);
	expect_status(&r, 403, "owner of a repository lists everything");
	reply_free(&r);
	r = checked(GET(f, "/api/v1/deployment-credentials/resolve?provider=flyio&project=" REPO_2,
			dora));
	expect_status(&r, 200, "owner resolves its repository");
	assert_string_equal(body_str(&r, "scope"), "repository");
	reply_free(&r);
	snprintf(own, sizeof(own), "/api/v1/deployment-credentials/%s?project=" REPO_2, dora_id);
	r = DELETE(f, own, dora);
	expect_status(&r, 204, "owner deletes its own");
	reply_free(&r);

	assert_true(audit_count(f, "access.denied", NULL) >= 9);
	expect_no_values_stored(f);
	free(dora_id);
	free(repo_id);
	free(account_id);
	free(vera);
	free(dora);
	free(admin);
}

static json_t *credential_rows(struct fixture *f)
{
	json_t *rows = NULL;
	OK(store_query(f->store,
		       "SELECT id, ciphertext, nonce, key_version, version FROM "
		       "deployment_credentials ORDER BY id",
		       NULL, 0, &rows, e));
	return rows;
}

static void test_rotation_reencrypts_credentials(void **state)
{
	struct fixture *f = *state;
	char *admin;
	prepare(f, &admin);
	char *account_id = create(f, admin, ACCOUNT_BODY);
	char *repo_id = create(f, admin, REPO_1_BODY);
	OK(secrets_put(&f->ctx, "admin", NULL, "OTHER", "all", "x" MARKER, 11, NULL, e));
	json_t *before = credential_rows(f);
	struct secrets_rotation rotation;
	OK(secrets_rotate_key(&f->ctx, &rotation, e));
	assert_int_equal(rotation.key_version, 2);
	assert_int_equal(rotation.secrets, 1);
	assert_int_equal(rotation.credentials, 2);
	json_t *after = credential_rows(f);
	assert_int_equal(json_array_size(after), 2);
	for (size_t i = 0; i < 2; i++) {
		json_t *old = json_array_get(before, i), *now = json_array_get(after, i);
		assert_int_equal(json_integer_value(json_object_get(old, "key_version")), 1);
		assert_int_equal(json_integer_value(json_object_get(now, "key_version")), 2);
		assert_string_not_equal(json_get_str(old, "ciphertext", ""),
					json_get_str(now, "ciphertext", ""));
		assert_string_not_equal(json_get_str(old, "nonce", ""),
					json_get_str(now, "nonce", ""));
		/* Content unchanged: the credential's own version stays. */
		assert_int_equal(json_integer_value(json_object_get(now, "version")), 1);
	}
	json_decref(before);
	json_decref(after);
	expect_resolved_token(f, REPO_1, TOKEN_B);
	expect_resolved_token(f, REPO_2, TOKEN_A);
	/* The listing shows the key version; writes after rotation use the new key. */
	char path[256];
	snprintf(path, sizeof(path), "/api/v1/deployment-credentials/%s", account_id);
	struct reply r = checked(GET(f, path, admin));
	assert_int_equal(json_integer_value(json_object_get(r.body, "key_version")), 2);
	reply_free(&r);
	/* A second rotation re-encrypts the credentials again. */
	OK(secrets_rotate_key(&f->ctx, &rotation, e));
	assert_int_equal(rotation.secrets, 1);
	assert_int_equal(rotation.credentials, 2);
	expect_resolved_token(f, NULL, TOKEN_A);
	assert_int_equal(count_rows(f, "SELECT COUNT(*) AS n FROM deployment_credentials WHERE "
				       "key_version = 3"),
			 2);
	json_t *row = NULL;
	OK(store_query_one(
		f->store,
		"SELECT detail FROM audit_log WHERE action = 'secret.rotate_key' ORDER BY "
		"seq DESC LIMIT 1",
		NULL, 0, &row, e));
	assert_non_null(strstr(json_get_str(row, "detail", ""), "\"credentials_reencrypted\":2"));
	json_decref(row);
	expect_no_values_stored(f);
	free(account_id);
	free(repo_id);
	free(admin);
}

static void expect_resolve_error(struct fixture *f, const char *repository_id, const char *want)
{
	json_t *fields = (json_t *)1;
	struct err fail = ERR_INIT;
	assert_int_equal(credentials_resolve(&f->ctx, "flyio", repository_id, &fields, &fail), -1);
	assert_null(fields);
	if (!strstr(fail.msg, want))
		fail_msg("expected '%s' in: %s", want, fail.msg);
	assert_null(strstr(fail.msg, MARKER));
}

static void test_moved_ciphertext_fails(void **state)
{
	struct fixture *f = *state;
	char *admin;
	prepare(f, &admin);
	char *account_id = create(f, admin, ACCOUNT_BODY);
	char *repo_id = create(f, admin, REPO_1_BODY);
	int reveals = audit_count(f, "credential.reveal", NULL);
	/* The account default gets repository 1's ciphertext: the associated data refuses it. */
	OK(store_exec(f->store,
		      "UPDATE deployment_credentials SET ciphertext = (SELECT ciphertext FROM "
		      "deployment_credentials WHERE repository_id IS NOT NULL), nonce = (SELECT "
		      "nonce FROM deployment_credentials WHERE repository_id IS NOT NULL) WHERE "
		      "repository_id IS NULL",
		      NULL, 0, NULL, e));
	expect_resolve_error(f, NULL, "cannot be decrypted");
	expect_resolve_error(f, REPO_2, "the account");
	expect_resolved_token(f, REPO_1, TOKEN_B);
	/* A row moved to another repository does not open there either. */
	OK(store_exec(f->store,
		      "UPDATE deployment_credentials SET repository_id = '" REPO_2
		      "' WHERE repository_id = '" REPO_1 "'",
		      NULL, 0, NULL, e));
	expect_resolve_error(f, REPO_2, "cannot be decrypted");
	/* Failed reveals are not audited as reveals. */
	assert_int_equal(audit_count(f, "credential.reveal", NULL), reveals + 1);
	/* Rotation touches nothing while a credential cannot be opened. */
	struct secrets_rotation rotation = { .secrets = -1 };
	struct err fail = ERR_INIT;
	assert_int_equal(secrets_rotate_key(&f->ctx, &rotation, &fail), -1);
	assert_non_null(strstr(fail.msg, "nothing was changed"));
	assert_int_equal(rotation.secrets, 0);
	assert_int_equal(count_rows(f, "SELECT MAX(version) AS n FROM secret_keys"), 1);
	assert_int_equal(count_rows(f, "SELECT COUNT(*) AS n FROM deployment_credentials WHERE "
				       "key_version = 1"),
			 2);
	/* A sealed key version that is gone is named as such. */
	OK(store_exec(f->store, "UPDATE deployment_credentials SET key_version = 9", NULL, 0, NULL,
		      e));
	expect_resolve_error(f, REPO_2, "key version 9, which no longer exists");
	free(account_id);
	free(repo_id);
	free(admin);
}

#define CREDENTIALS_TESTS(setup)                                                                \
	cmocka_unit_test_setup_teardown(test_providers_listed_with_schemas, setup, teardown),   \
		cmocka_unit_test_setup_teardown(test_create_resolve_and_mask, setup, teardown), \
		cmocka_unit_test_setup_teardown(test_validation, setup, teardown),              \
		cmocka_unit_test_setup_teardown(test_catalog_from_override_directory, setup,    \
						teardown),                                      \
		cmocka_unit_test_setup_teardown(test_duplicate_update_delete, setup, teardown), \
		cmocka_unit_test_setup_teardown(test_permissions, setup, teardown),             \
		cmocka_unit_test_setup_teardown(test_rotation_reencrypts_credentials, setup,    \
						teardown),                                      \
		cmocka_unit_test_setup_teardown(test_moved_ciphertext_fails, setup, teardown)

int main(void)
{
	log_set_level(LOG_ERROR);
	const struct CMUnitTest sqlite_tests[] = { CREDENTIALS_TESTS(setup_all_sqlite) };
	const struct CMUnitTest pg_tests[] = { CREDENTIALS_TESTS(setup_all_pg) };
	int failed =
		cmocka_run_group_tests_name("api_credentials_sqlite", sqlite_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("api_credentials_postgresql", pg_tests,
					      group_setup_pg, group_teardown_pg);
	return failed ? 1 : 0;
}
