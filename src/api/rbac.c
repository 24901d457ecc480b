#include "api/rbac.h"

#include "api/api.h"
#include "api/api_internal.h"
#include "api/users.h"
#include "http/router.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* The system roles, each created on the first start that knows it. */
static const struct {
	const char *name;
	const char *description;
	const char *permissions[8];
} system_roles[] = {
	{ "admin", "everything", { "*" } },
	{ "developer",
	  "project read/write, agent run, deploy read, observe read, secret read",
	  { "project:read", "project:write", "agent:run", "deploy:read", "observe:read",
	    "secret:read" } },
	{ "ops",
	  "deploy read/promote, observe read/write, alert manage, secret read",
	  { "deploy:read", "deploy:promote", "observe:read", "observe:write", "alert:manage",
	    "secret:read" } },
	{ "viewer", "read-only", { "*:read" } },
	{ "agent", "nothing by default: agents act with delegated permissions", { NULL } },
	/* Bound per project to whoever creates it (a repository's id is its project). */
	{ "owner",
	  "everything within one project",
	  { "project:*", "secret:*", "deploy:*", "observe:*", "agent:run", "alert:manage",
	    "delegation:*" } },
};

static bool word_valid(const char *s, size_t len)
{
	if (len == 1 && s[0] == '*')
		return true;
	if (len == 0 || len > 64)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(islower(c) || isdigit(c) || c == '_' || c == '-'))
			return false;
	}
	return true;
}

bool rbac_permission_valid(const char *permission)
{
	if (!permission)
		return false;
	if (strcmp(permission, "*") == 0)
		return true;
	const char *colon = strchr(permission, ':');
	if (!colon || strchr(colon + 1, ':'))
		return false;
	return word_valid(permission, (size_t)(colon - permission)) &&
	       word_valid(colon + 1, strlen(colon + 1));
}

bool rbac_permission_covers(const char *held, const char *wanted)
{
	if (!held || !wanted)
		return false;
	if (strcmp(held, "*") == 0 || strcmp(held, wanted) == 0)
		return true;
	const char *hc = strchr(held, ':'), *wc = strchr(wanted, ':');
	if (!hc || !wc)
		return false;
	size_t hr = (size_t)(hc - held), wr = (size_t)(wc - wanted);
	bool resource = (hr == 1 && held[0] == '*') || (hr == wr && strncmp(held, wanted, hr) == 0);
	bool action = strcmp(hc + 1, "*") == 0 || strcmp(hc + 1, wc + 1) == 0;
	return resource && action;
}

bool rbac_set_covers(const json_t *held, const char *wanted)
{
	size_t i;
	const json_t *item;
	json_array_foreach(held, i, item)
	{
		if (rbac_permission_covers(json_string_value(item), wanted))
			return true;
	}
	return false;
}

static void add_unique(json_t *set, const char *permission)
{
	size_t i;
	const json_t *item;
	json_array_foreach(set, i, item)
	{
		if (strcmp(json_string_value(item), permission) == 0)
			return;
	}
	json_array_append_new(set, json_string(permission));
}

int rbac_bootstrap(struct store *store, struct err *e)
{
	int64_t now = store_now_ms();
	for (size_t r = 0; r < sizeof(system_roles) / sizeof(*system_roles); r++) {
		char id[STORE_ID_SIZE];
		store_new_id(id);
		struct store_tx *tx;
		if (store_tx_begin(store, &tx, e) != 0)
			return -1;
		struct store_param role[] = {
			STORE_TEXT_PARAM(id),
			STORE_TEXT_PARAM(system_roles[r].name),
			STORE_TEXT_PARAM(system_roles[r].description),
			STORE_INT_PARAM(now),
		};
		int64_t changed = 0;
		int rc = store_tx_exec(
			tx,
			"INSERT INTO roles (id, name, description, system, created_at) "
			"VALUES (?, ?, ?, 1, ?) ON CONFLICT (name) DO NOTHING",
			role, 4, &changed, e);
		for (size_t p = 0; rc == 0 && changed == 1 && system_roles[r].permissions[p]; p++) {
			struct store_param perm[] = {
				STORE_TEXT_PARAM(id),
				STORE_TEXT_PARAM(system_roles[r].permissions[p]),
			};
			rc = store_tx_exec(tx,
					   "INSERT INTO role_permissions (role_id, permission) "
					   "VALUES (?, ?)",
					   perm, 2, NULL, e);
		}
		if (rc != 0) {
			store_tx_rollback(tx);
			return err_prefix(e, "cannot create the system role %s",
					  system_roles[r].name);
		}
		if (store_tx_commit(tx, e) != 0)
			return -1;
	}
	return 0;
}

int rbac_role_permissions(struct store *store, const char *user_id, const char *project,
			  json_t **out, struct err *e)
{
	struct store_param params[] = {
		STORE_TEXT_PARAM(user_id),
		project ? STORE_TEXT_PARAM(project) : STORE_TEXT_PARAM(""),
	};
	json_t *rows;
	*out = NULL;
	if (store_query(store,
			"SELECT DISTINCT rp.permission FROM role_bindings b "
			"JOIN role_permissions rp ON rp.role_id = b.role_id "
			"JOIN users u ON u.id = b.user_id "
			"WHERE b.user_id = ? AND u.disabled = 0 AND "
			"(b.project IS NULL OR b.project = ?) ORDER BY rp.permission",
			params, 2, &rows, e) != 0)
		return -1;
	/* DISTINCT already made the list a set. */
	*out = json_array();
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
		json_array_append(*out, json_object_get(row, "permission"));
	json_decref(rows);
	return 0;
}

/*
 * Adds to set what delegations give user_id in project: each grant only as
 * far as its grantor still holds it.
 */
static int add_delegated(struct store *store, const char *user_id, const char *project, json_t *set,
			 struct err *e)
{
	struct store_param params[] = {
		STORE_TEXT_PARAM(user_id),
		STORE_INT_PARAM(store_now_ms()),
		project ? STORE_TEXT_PARAM(project) : STORE_TEXT_PARAM(""),
	};
	json_t *rows;
	if (store_query(store,
			"SELECT d.from_user_id, d.project, d.permissions FROM delegations d "
			"JOIN users u ON u.id = d.from_user_id "
			"WHERE d.to_user_id = ? AND d.revoked_at IS NULL AND u.disabled = 0 AND "
			"(d.expires_at IS NULL OR d.expires_at > ?) AND "
			"(d.project IS NULL OR d.project = ?) ORDER BY d.id",
			params, 3, &rows, e) != 0)
		return -1;
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
	{
		json_t *grantor = NULL;
		const json_t *dp = json_object_get(row, "project");
		if (rbac_role_permissions(store, json_get_str(row, "from_user_id", ""),
					  json_is_string(dp) ? json_string_value(dp) : NULL,
					  &grantor, e) != 0) {
			json_decref(rows);
			return -1;
		}
		json_t *granted = json_loads(json_get_str(row, "permissions", "[]"), 0, NULL);
		size_t j;
		json_t *item;
		json_array_foreach(granted, j, item)
		{
			const char *p = json_string_value(item);
			if (p && rbac_set_covers(grantor, p))
				add_unique(set, p);
		}
		json_decref(granted);
		json_decref(grantor);
	}
	json_decref(rows);
	return 0;
}

int rbac_effective_permissions(struct store *store, const char *user_id, bool is_agent,
			       const char *project, json_t **out, struct err *e)
{
	*out = NULL;
	json_t *set = NULL;
	if (is_agent)
		set = json_array();
	else if (rbac_role_permissions(store, user_id, project, &set, e) != 0)
		return -1;
	if (add_delegated(store, user_id, project, set, e) != 0) {
		json_decref(set);
		return -1;
	}
	*out = set;
	return 0;
}

int rbac_check(struct store *store, const char *user_id, bool is_agent, const char *project,
	       const char *permission, bool *allowed, struct err *e)
{
	*allowed = false;
	if (strcmp(permission, RBAC_SELF) == 0) {
		*allowed = true;
		return 0;
	}
	/*
	 * A human's own roles usually answer: only when they do not are the
	 * delegations read (one query per request instead of two).
	 */
	json_t *set = NULL;
	if (is_agent)
		set = json_array();
	else if (rbac_role_permissions(store, user_id, project, &set, e) != 0)
		return -1;
	int rc = 0;
	if (!rbac_set_covers(set, permission))
		rc = add_delegated(store, user_id, project, set, e);
	*allowed = rc == 0 && rbac_set_covers(set, permission);
	json_decref(set);
	return rc;
}

bool rbac_caller_can(const struct http_request *req, struct api_context *ctx,
		     const char *permission, const char *project)
{
	const struct api_caller *caller = api_caller(req);
	if (!caller)
		return false;
	if (caller->scopes && !rbac_set_covers(caller->scopes, permission))
		return false;
	const char *restricted = caller->token_project;
	if (restricted && (!project || strcmp(project, restricted) != 0))
		return false;
	struct err e = ERR_INIT;
	bool allowed = false;
	if (rbac_check(ctx->store, caller->user_id, caller->is_agent, project, permission, &allowed,
		       &e) != 0)
		return false;
	return allowed;
}

/* ---- /api/v1/roles ---- */

/* Gives each role of rows (an array) its permissions: one query for the page. */
static int roles_attach_permissions(struct store *store, json_t *rows, struct err *e)
{
	size_t count = json_array_size(rows);
	if (count == 0)
		return 0;
	struct buf sql = BUF_INIT;
	buf_adds(&sql, "SELECT role_id, permission FROM role_permissions WHERE role_id IN (");
	struct store_param *params = xcalloc(count, sizeof(*params));
	size_t i;
	json_t *role;
	json_array_foreach(rows, i, role)
	{
		buf_adds(&sql, i ? ", ?" : "?");
		params[i] = STORE_TEXT_PARAM(json_get_str(role, "id", ""));
		json_object_set_new(role, "permissions", json_array());
		json_object_set_new(role, "system",
				    json_boolean(json_get_int(role, "system", 0) != 0));
	}
	buf_adds(&sql, ") ORDER BY permission");
	json_t *found = NULL;
	int rc = store_query(store, sql.data, params, count, &found, e);
	free(params);
	buf_free(&sql);
	if (rc != 0)
		return -1;
	json_t *row;
	json_array_foreach(found, i, row)
	{
		const char *role_id = json_get_str(row, "role_id", "");
		size_t j;
		json_array_foreach(rows, j, role)
		{
			if (strcmp(json_get_str(role, "id", ""), role_id) == 0)
				json_array_append(json_object_get(role, "permissions"),
						  json_object_get(row, "permission"));
		}
	}
	json_decref(found);
	return 0;
}

#define ROLE_COLUMNS "SELECT id, name, description, system, created_at FROM roles"

static struct http_response roles_list(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	json_t *rows;
	char *next;
	struct http_response error;
	if (api_list_rows(req, ctx->store, ROLE_COLUMNS " WHERE 1 = 1", NULL, 0, &rows, &next,
			  &error) != 0)
		return error;
	struct err e = ERR_INIT;
	if (roles_attach_permissions(ctx->store, rows, &e) != 0) {
		json_decref(rows);
		free(next);
		return api_store_error(req, &e, "role");
	}
	struct http_response res = http_response_json(200, http_page_envelope(rows, next));
	free(next);
	return res;
}

static int role_find(struct store *store, const char *id_or_name, json_t **row, struct err *e)
{
	struct store_param params[] = { STORE_TEXT_PARAM(id_or_name),
					STORE_TEXT_PARAM(id_or_name) };
	if (store_query_one(store, ROLE_COLUMNS " WHERE id = ? OR name = ?", params, 2, row, e) !=
	    0)
		return -1;
	if (!*row)
		return 0;
	json_t *one = json_pack("[O]", *row);
	int rc = roles_attach_permissions(store, one, e);
	json_decref(one);
	if (rc != 0) {
		json_decref(*row);
		*row = NULL;
	}
	return rc;
}

static struct http_response roles_get(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	json_t *row;
	struct err e = ERR_INIT;
	if (role_find(ctx->store, http_request_param(req, "id"), &row, &e) != 0)
		return api_store_error(req, &e, "role");
	if (!row)
		return http_response_error(404, "no role %s", http_request_param(req, "id"));
	return http_response_json(200, row);
}

static struct http_response roles_create(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	json_t *body;
	struct http_response error;
	if (http_request_json(req, &body, &error) != 0)
		return error;
	const char *name = json_get_str(body, "name", NULL);
	const char *description = json_get_str(body, "description", NULL);
	const json_t *perms = json_object_get(body, "permissions");
	if (!name || !*name || strlen(name) > 64) {
		json_decref(body);
		return http_response_error_detail(422, NULL, json_pack("{s:s}", "field", "name"),
						  "name must be a string of 1 to 64 characters");
	}
	if (!api_permission_list_valid(perms, true)) {
		json_decref(body);
		return http_response_error_detail(
			422, NULL, json_pack("{s:s}", "field", "permissions"),
			"permissions must be a list of \"resource:action\" strings");
	}
	char id[STORE_ID_SIZE];
	store_new_id(id);
	struct err e = ERR_INIT;
	struct store_tx *tx;
	if (store_tx_begin(ctx->store, &tx, &e) != 0) {
		json_decref(body);
		return api_store_error(req, &e, "role");
	}
	struct store_param role[] = { STORE_TEXT_PARAM(id), STORE_TEXT_PARAM(name),
				      description ? STORE_TEXT_PARAM(description)
						  : STORE_NULL_PARAM,
				      STORE_INT_PARAM(store_now_ms()) };
	int64_t changed = 0;
	int rc = store_tx_exec(tx,
			       "INSERT INTO roles (id, name, description, system, created_at) "
			       "VALUES (?, ?, ?, 0, ?) ON CONFLICT (name) DO NOTHING",
			       role, 4, &changed, &e);
	size_t i;
	const json_t *item;
	json_array_foreach(perms, i, item)
	{
		if (rc != 0 || changed != 1)
			break;
		struct store_param p[] = { STORE_TEXT_PARAM(id),
					   STORE_TEXT_PARAM(json_string_value(item)) };
		rc = store_tx_exec(tx,
				   "INSERT INTO role_permissions (role_id, permission) VALUES (?, "
				   "?) ON CONFLICT DO NOTHING",
				   p, 2, NULL, &e);
	}
	if (rc != 0 || changed != 1) {
		store_tx_rollback(tx);
		/* name points into body: answer before letting it go. */
		struct http_response res =
			rc != 0 ? api_store_error(req, &e, "role")
				: http_response_error(409, "a role named %s already exists", name);
		json_decref(body);
		return res;
	}
	if (store_tx_commit(tx, &e) != 0) {
		json_decref(body);
		return api_store_error(req, &e, "role");
	}
	api_audit(ctx, api_actor(req), "role.create", name,
		  json_pack("{s:s,s:O}", "id", id, "permissions", perms));
	json_decref(body);
	json_t *row = NULL;
	if (role_find(ctx->store, id, &row, &e) != 0 || !row)
		return api_store_error(req, &e, "role");
	return http_response_json(201, row);
}

/* ---- /api/v1/role-bindings ---- */

#define BINDING_COLUMNS                                                                      \
	"SELECT b.id AS id, b.user_id, u.name AS user_name, b.role_id, r.name AS role, "     \
	"b.project, b.created_by, b.created_at FROM role_bindings b JOIN users u ON u.id = " \
	"b.user_id JOIN roles r ON r.id = b.role_id"

static struct http_response bindings_list(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	const char *user = http_request_query(req, "user");
	const char *project = http_request_query(req, "project");
	struct store_param params[4];
	size_t n = 0;
	char sql[1024];
	size_t used = (size_t)snprintf(sql, sizeof(sql), "SELECT * FROM (%s) x WHERE 1 = 1",
				       BINDING_COLUMNS);
	if (user) {
		used += (size_t)snprintf(sql + used, sizeof(sql) - used,
					 " AND (user_id = ? OR user_name = ?)");
		params[n++] = STORE_TEXT_PARAM(user);
		params[n++] = STORE_TEXT_PARAM(user);
	}
	if (project) {
		snprintf(sql + used, sizeof(sql) - used, " AND project = ?");
		params[n++] = STORE_TEXT_PARAM(project);
	}
	return api_list_page(req, ctx->store, sql, params, n, NULL);
}

static struct http_response bindings_create(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	json_t *body;
	struct http_response error;
	if (http_request_json(req, &body, &error) != 0)
		return error;
	const char *user = json_get_str(body, "user", json_get_str(body, "user_id", NULL));
	const char *role_name = json_get_str(body, "role", json_get_str(body, "role_id", NULL));
	const json_t *project_value = json_object_get(body, "project");
	if (!user || !role_name ||
	    (project_value && !json_is_null(project_value) &&
	     (!json_is_string(project_value) || !*json_string_value(project_value)))) {
		json_decref(body);
		return http_response_error(422, "a role binding needs \"user\" (id or name), "
						"\"role\" (id or name) and optionally "
						"\"project\" (a non-empty string)");
	}
	const char *project =
		json_is_string(project_value) ? json_string_value(project_value) : NULL;
	struct err e = ERR_INIT;
	json_t *target = NULL, *role = NULL;
	if (users_find(ctx->store, user, &target, &e) != 0 ||
	    role_find(ctx->store, role_name, &role, &e) != 0) {
		json_decref(target);
		json_decref(body);
		return api_store_error(req, &e, "role binding");
	}
	struct http_response res;
	if (!target || !role) {
		res = http_response_error(404, "no %s %s", target ? "role" : "user",
					  target ? role_name : user);
		goto out;
	}
	if (strcmp(json_get_str(target, "kind", ""), "agent") == 0 &&
	    strcmp(json_get_str(role, "name", ""), "agent") != 0) {
		res = http_response_error(422, "agents act only with delegated permissions: "
					       "create a delegation instead of a role binding");
		goto out;
	}
	char id[STORE_ID_SIZE];
	store_new_id(id);
	const struct api_caller *caller = api_caller(req);
	struct store_param params[] = {
		STORE_TEXT_PARAM(id),
		STORE_TEXT_PARAM(json_get_str(target, "id", "")),
		STORE_TEXT_PARAM(json_get_str(role, "id", "")),
		project ? STORE_TEXT_PARAM(project) : STORE_NULL_PARAM,
		caller ? STORE_TEXT_PARAM(caller->user_id) : STORE_NULL_PARAM,
		STORE_INT_PARAM(store_now_ms()),
	};
	if (store_exec(ctx->store,
		       "INSERT INTO role_bindings (id, user_id, role_id, project, created_by, "
		       "created_at) VALUES (?, ?, ?, ?, ?, ?)",
		       params, 6, NULL, &e) != 0) {
		res = api_store_error(req, &e, "this role binding");
		goto out;
	}
	api_audit(ctx, api_actor(req), "role_binding.create", json_get_str(target, "name", ""),
		  json_pack("{s:s,s:s,s:s?}", "id", id, "role", json_get_str(role, "name", ""),
			    "project", project));
	json_t *row = NULL;
	struct store_param idp = STORE_TEXT_PARAM(id);
	if (store_query_one(ctx->store, "SELECT * FROM (" BINDING_COLUMNS ") x WHERE id = ?", &idp,
			    1, &row, &e) != 0 ||
	    !row)
		res = api_store_error(req, &e, "role binding");
	else
		res = http_response_json(201, row);
out:
	json_decref(target);
	json_decref(role);
	json_decref(body);
	return res;
}

static struct http_response bindings_delete(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	const char *id = http_request_param(req, "id");
	struct store_param idp = STORE_TEXT_PARAM(id);
	json_t *row = NULL;
	struct err e = ERR_INIT;
	if (store_query_one(ctx->store, "SELECT * FROM (" BINDING_COLUMNS ") x WHERE id = ?", &idp,
			    1, &row, &e) != 0)
		return api_store_error(req, &e, "role binding");
	if (!row)
		return http_response_error(404, "no role binding %s", id);
	if (store_exec(ctx->store, "DELETE FROM role_bindings WHERE id = ?", &idp, 1, NULL, &e) !=
	    0) {
		json_decref(row);
		return api_store_error(req, &e, "role binding");
	}
	api_audit(ctx, api_actor(req), "role_binding.delete", json_get_str(row, "user_name", ""),
		  json_pack("{s:s,s:s,s:O}", "id", id, "role", json_get_str(row, "role", ""),
			    "project", json_object_get(row, "project")));
	json_decref(row);
	return http_response_empty(204);
}

/* ---- /api/v1/delegations ---- */

#define DELEGATION_COLUMNS                                                                    \
	"SELECT d.id AS id, d.from_user_id, f.name AS from_user, d.to_user_id, t.name AS "    \
	"to_user, d.project, d.permissions, d.reason, d.created_at, d.expires_at, "           \
	"d.revoked_at FROM delegations d JOIN users f ON f.id = d.from_user_id JOIN users t " \
	"ON t.id = d.to_user_id"

static void delegation_decode(json_t *row)
{
	json_t *perms = json_loads(json_get_str(row, "permissions", "[]"), 0, NULL);
	json_object_set_new(row, "permissions", perms ? perms : json_array());
	int64_t expires = json_get_int(row, "expires_at", 0);
	bool live = json_is_null(json_object_get(row, "revoked_at")) &&
		    (!expires || expires > store_now_ms());
	json_object_set_new(row, "active", json_boolean(live));
}

static struct http_response delegations_list(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	const struct api_caller *caller = api_caller(req);
	bool all = rbac_caller_can(req, ctx, "role:read", NULL);
	struct store_param params[2] = { STORE_TEXT_PARAM(caller->user_id),
					 STORE_TEXT_PARAM(caller->user_id) };
	return api_list_page(req, ctx->store,
			     all ? "SELECT * FROM (" DELEGATION_COLUMNS ") x WHERE 1 = 1"
				 : "SELECT * FROM (" DELEGATION_COLUMNS
				   ") x WHERE (from_user_id = ? OR to_user_id = ?)",
			     params, all ? 0 : 2, delegation_decode);
}

static struct http_response delegations_create(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	const struct api_caller *caller = api_caller(req);
	if (caller->is_agent)
		return http_response_error(403, "agents cannot delegate: only a person grants "
						"permissions");
	json_t *body;
	struct http_response error;
	if (http_request_json(req, &body, &error) != 0)
		return error;
	struct http_response res;
	json_t *target = NULL, *held = NULL;
	const char *to = json_get_str(body, "to", json_get_str(body, "to_user_id", NULL));
	const json_t *project_value = json_object_get(body, "project");
	const char *project =
		json_is_string(project_value) ? json_string_value(project_value) : NULL;
	const char *reason = json_get_str(body, "reason", NULL);
	const json_t *perms = json_object_get(body, "permissions");
	int64_t now = store_now_ms(), expires_at = 0;
	if (!to || !reason || !*reason || (project && !*project) ||
	    (project_value && !json_is_null(project_value) && !project)) {
		res = http_response_error(422, "a delegation needs \"to\" (a user or agent id or "
					       "name), \"permissions\", a non-empty \"reason\", "
					       "an expiry and optionally \"project\"");
		goto out;
	}
	if (!api_permission_list_valid(perms, false)) {
		res = http_response_error_detail(
			422, NULL, json_pack("{s:s}", "field", "permissions"),
			"permissions must be a non-empty list of \"resource:action\" strings");
		goto out;
	}
	if (api_read_expiry(body, now, &expires_at, &res) != 0)
		goto out;
	if (!expires_at) {
		res = http_response_error_detail(
			422, NULL, json_pack("{s:s}", "field", "expires_in"),
			"a delegation must expire: give expires_in (seconds) or expires_at (ms)");
		goto out;
	}
	struct err e = ERR_INIT;
	if (users_find(ctx->store, to, &target, &e) != 0) {
		res = api_store_error(req, &e, "delegation");
		goto out;
	}
	if (!target) {
		res = http_response_error(404, "no user or agent %s", to);
		goto out;
	}
	if (strcmp(json_get_str(target, "id", ""), caller->user_id) == 0) {
		res = http_response_error(422, "you cannot delegate to yourself");
		goto out;
	}
	/* Only what the grantor holds by role (no re-delegation), within its token's scopes. */
	if (rbac_role_permissions(ctx->store, caller->user_id, project, &held, &e) != 0) {
		res = api_store_error(req, &e, "delegation");
		goto out;
	}
	size_t i;
	const json_t *item;
	json_array_foreach(perms, i, item)
	{
		const char *p = json_string_value(item);
		if (!rbac_set_covers(held, p) ||
		    (caller->scopes && !rbac_set_covers(caller->scopes, p))) {
			res = http_response_error_detail(
				403, NULL, json_pack("{s:s}", "permission", p),
				"you cannot delegate %s: you do not hold it%s%s", p,
				project ? " in project " : "", project ? project : "");
			api_audit(ctx, caller->name, "delegation.denied",
				  json_get_str(target, "name", ""),
				  json_pack("{s:s,s:s?}", "permission", p, "project", project));
			goto out;
		}
	}
	char id[STORE_ID_SIZE];
	store_new_id(id);
	char *perm_text = json_dumps(perms, JSON_COMPACT);
	struct store_param params[] = {
		STORE_TEXT_PARAM(id),
		STORE_TEXT_PARAM(caller->user_id),
		STORE_TEXT_PARAM(json_get_str(target, "id", "")),
		project ? STORE_TEXT_PARAM(project) : STORE_NULL_PARAM,
		STORE_TEXT_PARAM(perm_text),
		STORE_TEXT_PARAM(reason),
		STORE_INT_PARAM(now),
		STORE_INT_PARAM(expires_at),
	};
	int rc =
		store_exec(ctx->store,
			   "INSERT INTO delegations (id, from_user_id, to_user_id, project, "
			   "permissions, reason, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, "
			   "?, ?)",
			   params, 8, NULL, &e);
	free(perm_text);
	if (rc != 0) {
		res = api_store_error(req, &e, "delegation");
		goto out;
	}
	api_audit(ctx, caller->name, "delegation.create", json_get_str(target, "name", ""),
		  json_pack("{s:s,s:O,s:s?,s:s,s:I}", "id", id, "permissions", perms, "project",
			    project, "reason", reason, "expires_at", (json_int_t)expires_at));
	json_t *row = NULL;
	struct store_param idp = STORE_TEXT_PARAM(id);
	if (store_query_one(ctx->store, "SELECT * FROM (" DELEGATION_COLUMNS ") x WHERE id = ?",
			    &idp, 1, &row, &e) != 0 ||
	    !row) {
		res = api_store_error(req, &e, "delegation");
		goto out;
	}
	delegation_decode(row);
	res = http_response_json(201, row);
out:
	json_decref(held);
	json_decref(target);
	json_decref(body);
	return res;
}

static struct http_response delegations_revoke(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	const struct api_caller *caller = api_caller(req);
	const char *id = http_request_param(req, "id");
	struct store_param idp = STORE_TEXT_PARAM(id);
	json_t *row = NULL;
	struct err e = ERR_INIT;
	if (store_query_one(ctx->store, "SELECT * FROM (" DELEGATION_COLUMNS ") x WHERE id = ?",
			    &idp, 1, &row, &e) != 0)
		return api_store_error(req, &e, "delegation");
	bool mine = row && strcmp(json_get_str(row, "from_user_id", ""), caller->user_id) == 0;
	if (!row || (!mine && !rbac_caller_can(req, ctx, "role:write", NULL))) {
		json_decref(row);
		return http_response_error(404, "no delegation %s of yours", id);
	}
	struct store_param params[] = { STORE_INT_PARAM(store_now_ms()), STORE_TEXT_PARAM(id) };
	if (store_exec(ctx->store,
		       "UPDATE delegations SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
		       params, 2, NULL, &e) != 0) {
		json_decref(row);
		return api_store_error(req, &e, "delegation");
	}
	api_audit(ctx, caller->name, "delegation.revoke", json_get_str(row, "to_user", ""),
		  json_pack("{s:s}", "id", id));
	json_decref(row);
	return http_response_empty(204);
}

/* The body schemas the routes below name (OpenAPI 3.0 schema objects; docs/http.md). */
static const struct http_schema_spec rbac_schemas[] = {
	{ "Role", "{\"type\":\"object\","
		  "\"required\":[\"id\",\"name\",\"description\",\"system\",\"created_at\","
		  "\"permissions\"],\"properties\":{"
		  "\"id\":{\"type\":\"string\"},"
		  "\"name\":{\"type\":\"string\"},"
		  "\"description\":{\"type\":\"string\",\"nullable\":true},"
		  "\"system\":{\"type\":\"boolean\"},"
		  "\"created_at\":{\"type\":\"integer\",\"format\":\"int64\"},"
		  "\"permissions\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}" },
	{ "RoleInput", "{\"type\":\"object\","
		       "\"required\":[\"name\"],\"properties\":{"
		       "\"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":64},"
		       "\"description\":{\"type\":\"string\",\"nullable\":true},"
		       "\"permissions\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}" },
	{ "RoleBinding", "{\"type\":\"object\","
			 "\"required\":[\"id\",\"user_id\",\"user_name\",\"role_id\",\"role\","
			 "\"project\",\"created_by\",\"created_at\"],\"properties\":{"
			 "\"id\":{\"type\":\"string\"},"
			 "\"user_id\":{\"type\":\"string\"},"
			 "\"user_name\":{\"type\":\"string\"},"
			 "\"role_id\":{\"type\":\"string\"},"
			 "\"role\":{\"type\":\"string\"},"
			 "\"project\":{\"type\":\"string\",\"nullable\":true},"
			 "\"created_by\":{\"type\":\"string\",\"nullable\":true},"
			 "\"created_at\":{\"type\":\"integer\",\"format\":\"int64\"}}}" },
	{ "RoleBindingInput",
	  "{\"type\":\"object\",\"description\":\"user (or user_id) and role (or role_id), ids or "
	  "names\",\"properties\":{"
	  "\"user\":{\"type\":\"string\"},"
	  "\"user_id\":{\"type\":\"string\"},"
	  "\"role\":{\"type\":\"string\"},"
	  "\"role_id\":{\"type\":\"string\"},"
	  "\"project\":{\"type\":\"string\",\"nullable\":true,\"minLength\":1}}}" },
	{ "Delegation",
	  "{\"type\":\"object\","
	  "\"required\":[\"id\",\"from_user_id\",\"from_user\",\"to_user_id\","
	  "\"to_user\",\"project\",\"permissions\",\"reason\",\"created_at\","
	  "\"expires_at\",\"revoked_at\",\"active\"],\"properties\":{"
	  "\"id\":{\"type\":\"string\"},"
	  "\"from_user_id\":{\"type\":\"string\"},"
	  "\"from_user\":{\"type\":\"string\"},"
	  "\"to_user_id\":{\"type\":\"string\"},"
	  "\"to_user\":{\"type\":\"string\"},"
	  "\"project\":{\"type\":\"string\",\"nullable\":true},"
	  "\"permissions\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
	  "\"reason\":{\"type\":\"string\"},"
	  "\"created_at\":{\"type\":\"integer\",\"format\":\"int64\"},"
	  "\"expires_at\":{\"type\":\"integer\",\"format\":\"int64\",\"nullable\":true},"
	  "\"revoked_at\":{\"type\":\"integer\",\"format\":\"int64\",\"nullable\":true},"
	  "\"active\":{\"type\":\"boolean\"}}}" },
	{ "DelegationInput",
	  "{\"type\":\"object\",\"description\":\"to (or to_user_id), and expires_in or "
	  "expires_at\","
	  "\"required\":[\"reason\",\"permissions\"],\"properties\":{"
	  "\"to\":{\"type\":\"string\"},"
	  "\"to_user_id\":{\"type\":\"string\"},"
	  "\"project\":{\"type\":\"string\",\"nullable\":true,\"minLength\":1},"
	  "\"reason\":{\"type\":\"string\",\"minLength\":1},"
	  "\"permissions\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
	  "\"expires_in\":{\"type\":\"integer\",\"nullable\":true,\"minimum\":1,\"description\":"
	  "\"seconds\"},"
	  "\"expires_at\":{\"type\":\"integer\",\"format\":\"int64\",\"nullable\":true}}}" },
};

int rbac_register(struct http_router *router, struct api_context *ctx, struct err *e)
{
	const struct http_route_spec routes[] = {
		{ "GET /api/v1/roles",
		  roles_list,
		  { .summary = "List roles and their permissions",
		    .tags = "rbac",
		    .response_schema = "Role",
		    .permission = "role:read",
		    .paginated = true } },
		{ "POST /api/v1/roles",
		  roles_create,
		  { .summary = "Create a custom role",
		    .tags = "rbac",
		    .request_schema = "RoleInput",
		    .response_schema = "Role",
		    .permission = "role:write",
		    .success_status = 201 } },
		{ "GET /api/v1/roles/{id}",
		  roles_get,
		  { .summary = "Get a role by id or name",
		    .tags = "rbac",
		    .response_schema = "Role",
		    .permission = "role:read" } },
		{ "GET /api/v1/role-bindings",
		  bindings_list,
		  { .summary = "List role bindings",
		    .tags = "rbac",
		    .query = "user,project",
		    .response_schema = "RoleBinding",
		    .permission = "role:read",
		    .paginated = true } },
		{ "POST /api/v1/role-bindings",
		  bindings_create,
		  { .summary = "Bind a role to a user, globally or for a project",
		    .tags = "rbac",
		    .request_schema = "RoleBindingInput",
		    .response_schema = "RoleBinding",
		    .permission = "role:write",
		    .success_status = 201 } },
		{ "DELETE /api/v1/role-bindings/{id}",
		  bindings_delete,
		  { .summary = "Remove a role binding",
		    .tags = "rbac",
		    .permission = "role:write",
		    .success_status = 204 } },
		{ "GET /api/v1/delegations",
		  delegations_list,
		  { .summary = "List delegations from or to the caller (all with role:read)",
		    .tags = "rbac",
		    .response_schema = "Delegation",
		    .permission = RBAC_SELF,
		    .paginated = true } },
		{ "POST /api/v1/delegations",
		  delegations_create,
		  { .summary = "Delegate a subset of the caller's permissions",
		    .tags = "rbac",
		    .request_schema = "DelegationInput",
		    .response_schema = "Delegation",
		    .permission = RBAC_SELF,
		    .success_status = 201 } },
		{ "DELETE /api/v1/delegations/{id}",
		  delegations_revoke,
		  { .summary = "Revoke a delegation",
		    .tags = "rbac",
		    .permission = RBAC_SELF,
		    .success_status = 204 } },
	};
	if (http_router_add_schemas(router, rbac_schemas,
				    sizeof(rbac_schemas) / sizeof(*rbac_schemas), e) != 0)
		return -1;
	if (http_router_add_all(router, routes, sizeof(routes) / sizeof(*routes), ctx, e) != 0)
		return -1;
	return 0;
}
