/*
 * RBAC on both drivers: the system roles, 401 versus 403, project-scoped
 * bindings, delegations (subset rule, expiry, revocation, grantor losing
 * the permission), agents acting only with delegated permissions, token
 * scopes and project restriction, and the audit entries.
 */
#include "api/rbac.h"
#include "unit/api_auth_harness.h"

/* A project route, as later modules will add them, to test scoping. */
static struct http_response project_write(struct http_request *req)
{
	(void)req;
	return http_response_json(200, json_pack("{s:b}", "ok", 1));
}

static int setup_rbac(void **state, int (*base)(void **))
{
	if (base(state) != 0)
		return -1;
	struct fixture *f = *state;
	struct err e = ERR_INIT;
	if (http_router_add(f->router, "POST /api/v1/projects/{project}/things", project_write,
			    NULL, &(struct http_route_meta){ .permission = "project:write" },
			    &e) != 0)
		return -1;
	create_user(f, "root", true);
	create_user(f, "dev", false);
	create_user(f, "view", false);
	create_user(f, "op", false);
	return 0;
}

static int setup_rbac_sqlite(void **state)
{
	return setup_rbac(state, setup_sqlite);
}

static int setup_rbac_pg(void **state)
{
	return setup_rbac(state, setup_pg);
}

static void bind(struct fixture *f, const char *admin, const char *user, const char *role,
		 const char *project, int status)
{
	char body[256];
	if (project)
		snprintf(body, sizeof(body), "{\"user\":\"%s\",\"role\":\"%s\",\"project\":\"%s\"}",
			 user, role, project);
	else
		snprintf(body, sizeof(body), "{\"user\":\"%s\",\"role\":\"%s\"}", user, role);
	struct reply r = POST(f, "/api/v1/role-bindings", admin, body);
	expect_status(&r, status, "bind");
	reply_free(&r);
}

static int project_call(struct fixture *f, const char *token, const char *project)
{
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/projects/%s/things", project);
	struct reply r = POST(f, path, token, "{}");
	int status = r.status;
	reply_free(&r);
	return status;
}

static bool me_has(struct fixture *f, const char *token, const char *project,
		   const char *permission)
{
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/auth/me%s%s", project ? "?project=" : "",
		 project ? project : "");
	struct reply r = GET(f, path, token);
	expect_status(&r, 200, "me");
	bool has = false;
	size_t i;
	json_t *item;
	json_array_foreach(json_object_get(r.body, "permissions"), i,
			   item) if (strcmp(json_string_value(item), permission) == 0) has = true;
	reply_free(&r);
	return has;
}

static void test_system_roles(void **state)
{
	struct fixture *f = *state;
	char *root = login_token(f, "root");
	struct reply r = GET(f, "/api/v1/roles/developer", root);
	expect_status(&r, 200, "developer role");
	char *perms = json_dumps(json_object_get(r.body, "permissions"), JSON_COMPACT);
	assert_string_equal(perms, "[\"agent:run\",\"deploy:read\",\"observe:read\","
				   "\"project:read\",\"project:write\",\"secret:read\"]");
	free(perms);
	reply_free(&r);
	r = GET(f, "/api/v1/roles/ops", root);
	perms = json_dumps(json_object_get(r.body, "permissions"), JSON_COMPACT);
	assert_string_equal(perms, "[\"alert:manage\",\"deploy:promote\",\"deploy:read\","
				   "\"observe:read\",\"observe:write\",\"secret:read\"]");
	free(perms);
	reply_free(&r);
	r = GET(f, "/api/v1/roles/agent", root);
	assert_int_equal(json_array_size(json_object_get(r.body, "permissions")), 0);
	reply_free(&r);
	r = GET(f, "/api/v1/roles?limit=2", root);
	expect_status(&r, 200, "roles page");
	assert_int_equal(json_array_size(json_object_get(r.body, "items")), 2);
	assert_true(json_is_string(json_object_get(r.body, "next_cursor")));
	reply_free(&r);
	/* A whole list: each role carries its own permissions, as GET of one does. */
	r = GET(f, "/api/v1/roles?limit=100", root);
	expect_status(&r, 200, "roles");
	size_t i;
	json_t *role;
	int checked = 0;
	json_array_foreach(json_object_get(r.body, "items"), i, role)
	{
		const char *name = json_string_value(json_object_get(role, "name"));
		char path[128];
		snprintf(path, sizeof(path), "/api/v1/roles/%s", name);
		struct reply one = GET(f, path, root);
		assert_true(json_equal(json_object_get(role, "permissions"),
				       json_object_get(one.body, "permissions")));
		assert_true(json_is_boolean(json_object_get(role, "system")));
		reply_free(&one);
		checked++;
	}
	assert_true(checked >= 4);
	reply_free(&r);
	free(root);
}

static void test_unauthenticated_401_forbidden_403(void **state)
{
	struct fixture *f = *state;
	char *root = login_token(f, "root");
	bind(f, root, "view", "viewer", NULL, 201);
	char *view = login_token(f, "view");
	struct reply r = GET(f, "/api/v1/users", NULL);
	expect_status(&r, 401, "anonymous");
	reply_free(&r);
	r = GET(f, "/api/v1/users", view);
	expect_status(&r, 200, "viewer reads");
	reply_free(&r);
	r = POST(f, "/api/v1/users", view,
		 "{\"name\":\"x\",\"email\":\"x@example.com\",\"password\":\"long enough\"}");
	expect_status(&r, 403, "viewer writes");
	reply_free(&r);
	assert_true(audit_count(f, "access.denied", "/api/v1/users") >= 1);
	assert_int_equal(audit_count(f, "role_binding.create", "view"), 1);
	free(root);
	free(view);
}

static void test_project_scoped_binding(void **state)
{
	struct fixture *f = *state;
	char *root = login_token(f, "root");
	bind(f, root, "dev", "developer", "alpha", 201);
	bind(f, root, "dev", "developer", "alpha", 409);
	char *dev = login_token(f, "dev");
	assert_int_equal(project_call(f, dev, "alpha"), 200);
	assert_int_equal(project_call(f, dev, "beta"), 403);
	assert_true(me_has(f, dev, "alpha", "project:write"));
	assert_false(me_has(f, dev, NULL, "project:write"));
	assert_int_equal(project_call(f, root, "beta"), 200);
	free(root);
	free(dev);
}

static void test_delegation_to_agent(void **state)
{
	struct fixture *f = *state;
	char *root = login_token(f, "root");
	bind(f, root, "dev", "developer", "alpha", 201);
	char *dev = login_token(f, "dev");

	/* dev is a developer in alpha only: it acts in that project. */
	struct reply r = POST(f, "/api/v1/agents?project=alpha", dev, "{\"name\":\"bot\"}");
	expect_status(&r, 201, "create agent");
	char *agent_id = xstrdup(body_str(&r, "id"));
	assert_string_equal(body_str(&r, "kind"), "agent");
	reply_free(&r);
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/agents/%s/tokens?project=alpha", agent_id);
	r = POST(f, path, dev, "{\"name\":\"bot-token\"}");
	expect_status(&r, 201, "agent token");
	char *bot = xstrdup(body_str(&r, "token"));
	reply_free(&r);
	/* Agents hold nothing of their own, and role bindings cannot change that. */
	assert_int_equal(project_call(f, bot, "alpha"), 403);
	bind(f, root, "bot", "developer", NULL, 422);
	r = POST(f, "/api/v1/agents", bot, "{\"name\":\"bot2\"}");
	expect_status(&r, 403, "an agent cannot create agents");
	reply_free(&r);

	/* Subset rule: dev cannot delegate what it does not hold. */
	r = POST(f, "/api/v1/delegations", dev,
		 "{\"to\":\"bot\",\"project\":\"alpha\",\"permissions\":[\"deploy:promote\"],"
		 "\"reason\":\"ship it\",\"expires_in\":3600}");
	expect_status(&r, 403, "delegate what one lacks");
	reply_free(&r);
	r = POST(f, "/api/v1/delegations", dev,
		 "{\"to\":\"bot\",\"project\":\"beta\",\"permissions\":[\"project:write\"],"
		 "\"reason\":\"other project\",\"expires_in\":3600}");
	expect_status(&r, 403, "delegate in a project one has no role in");
	reply_free(&r);
	r = POST(f, "/api/v1/delegations", dev,
		 "{\"to\":\"bot\",\"project\":\"alpha\",\"permissions\":[\"project:write\"],"
		 "\"reason\":\"no expiry\"}");
	expect_status(&r, 422, "delegation without expiry");
	reply_free(&r);
	r = POST(f, "/api/v1/delegations", dev,
		 "{\"to\":\"bot\",\"project\":\"alpha\",\"permissions\":[\"project:write\"],"
		 "\"reason\":\"fix the build\",\"expires_in\":3600}");
	expect_status(&r, 201, "delegate");
	char *delegation = xstrdup(body_str(&r, "id"));
	reply_free(&r);
	assert_int_equal(audit_count(f, "delegation.create", "bot"), 1);
	assert_int_equal(audit_count(f, "delegation.denied", "bot"), 2);

	assert_int_equal(project_call(f, bot, "alpha"), 200);
	assert_int_equal(project_call(f, bot, "beta"), 403);
	r = POST(f, "/api/v1/delegations", bot,
		 "{\"to\":\"dev\",\"project\":\"alpha\",\"permissions\":[\"project:write\"],"
		 "\"reason\":\"re-delegate\",\"expires_in\":60}");
	expect_status(&r, 403, "agents do not delegate");
	reply_free(&r);

	/* Expiry. */
	sql(f, "UPDATE delegations SET expires_at = 1000 WHERE id = ?", delegation);
	assert_int_equal(project_call(f, bot, "alpha"), 403);
	sql(f, "UPDATE delegations SET expires_at = 99999999999999 WHERE id = ?", delegation);
	assert_int_equal(project_call(f, bot, "alpha"), 200);
	/* The grantor losing the role takes the grant with it. */
	sql(f,
	    "UPDATE role_bindings SET project = 'gamma' WHERE user_id = (SELECT id FROM users "
	    "WHERE name = ?)",
	    "dev");
	assert_int_equal(project_call(f, bot, "alpha"), 403);
	sql(f,
	    "UPDATE role_bindings SET project = 'alpha' WHERE user_id = (SELECT id FROM users "
	    "WHERE name = ?)",
	    "dev");
	assert_int_equal(project_call(f, bot, "alpha"), 200);
	/* Revocation. */
	snprintf(path, sizeof(path), "/api/v1/delegations/%s", delegation);
	r = DELETE(f, path, dev);
	expect_status(&r, 204, "revoke");
	reply_free(&r);
	assert_int_equal(project_call(f, bot, "alpha"), 403);
	assert_int_equal(audit_count(f, "delegation.revoke", "bot"), 1);
	assert_int_equal(audit_count(f, "agent.create", "bot"), 1);

	free(root);
	free(dev);
	free(bot);
	free(agent_id);
	free(delegation);
}

static void test_effective_union_and_token_limits(void **state)
{
	struct fixture *f = *state;
	char *root = login_token(f, "root");
	bind(f, root, "op", "ops", NULL, 201);
	bind(f, root, "dev", "viewer", NULL, 201);
	bind(f, root, "dev", "developer", "alpha", 201);
	char *op = login_token(f, "op");
	struct reply r = POST(f, "/api/v1/delegations", op,
			      "{\"to\":\"dev\",\"project\":\"alpha\",\"permissions\":"
			      "[\"deploy:promote\"],\"reason\":\"release\",\"expires_in\":600}");
	expect_status(&r, 201, "ops delegates");
	reply_free(&r);
	char *dev = login_token(f, "dev");
	assert_true(me_has(f, dev, "alpha", "*:read"));
	assert_true(me_has(f, dev, "alpha", "project:write"));
	assert_true(me_has(f, dev, "alpha", "deploy:promote"));
	assert_false(me_has(f, dev, "beta", "deploy:promote"));
	assert_false(me_has(f, dev, "beta", "project:write"));

	/* A token scoped to reading cannot write, whatever its owner holds. */
	r = POST(f, "/api/v1/tokens", dev, "{\"name\":\"ro\",\"scopes\":[\"project:read\"]}");
	expect_status(&r, 201, "scoped token");
	char *ro = xstrdup(body_str(&r, "token"));
	reply_free(&r);
	assert_int_equal(project_call(f, ro, "alpha"), 403);
	/* A token limited to a project. */
	r = POST(f, "/api/v1/tokens", root, "{\"name\":\"alpha-only\",\"project\":\"alpha\"}");
	expect_status(&r, 201, "project token");
	char *alpha_only = xstrdup(body_str(&r, "token"));
	reply_free(&r);
	assert_int_equal(project_call(f, alpha_only, "alpha"), 200);
	assert_int_equal(project_call(f, alpha_only, "beta"), 403);
	r = GET(f, "/api/v1/users", alpha_only);
	expect_status(&r, 403, "project token on a global route");
	reply_free(&r);
	free(root);
	free(op);
	free(dev);
	free(ro);
	free(alpha_only);
}

static void test_permission_matching(void **state)
{
	(void)state;
	assert_true(rbac_permission_covers("*", "deploy:promote"));
	assert_true(rbac_permission_covers("deploy:*", "deploy:promote"));
	assert_true(rbac_permission_covers("*:read", "deploy:read"));
	assert_false(rbac_permission_covers("*:read", "deploy:promote"));
	assert_false(rbac_permission_covers("deploy:read", "deploy:*"));
	assert_false(rbac_permission_covers("dep:read", "deploy:read"));
	assert_true(rbac_permission_valid("alert:manage"));
	assert_false(rbac_permission_valid("alert"));
	assert_false(rbac_permission_valid("a:b:c"));
	assert_false(rbac_permission_valid("Deploy:read"));
}

#define RBAC_TESTS(setup)                                                                      \
	cmocka_unit_test_setup_teardown(test_system_roles, setup, teardown),                   \
		cmocka_unit_test_setup_teardown(test_unauthenticated_401_forbidden_403, setup, \
						teardown),                                     \
		cmocka_unit_test_setup_teardown(test_project_scoped_binding, setup, teardown), \
		cmocka_unit_test_setup_teardown(test_delegation_to_agent, setup, teardown),    \
		cmocka_unit_test_setup_teardown(test_effective_union_and_token_limits, setup,  \
						teardown)

int main(void)
{
	const struct CMUnitTest pure[] = { cmocka_unit_test(test_permission_matching) };
	int failed = cmocka_run_group_tests_name("permissions", pure, NULL, NULL);
	const struct CMUnitTest sqlite_tests[] = { RBAC_TESTS(setup_rbac_sqlite) };
	const struct CMUnitTest pg_tests[] = { RBAC_TESTS(setup_rbac_pg) };
	failed += cmocka_run_group_tests_name("sqlite", sqlite_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("postgresql", pg_tests, group_setup_pg,
					      group_teardown_pg);
	return failed;
}
