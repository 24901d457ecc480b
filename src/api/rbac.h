/*
 * rbac: permissions, roles, role bindings and delegations.
 *
 * A permission is "resource:action" ("deploy:promote"); "*" holds all and
 * "resource:*" / "*:action" hold a family. Roles are sets of permissions,
 * bound to a user globally or for one project. A delegation hands another
 * identity a subset of what the grantor holds, for a project, until it
 * expires or is revoked. What a caller may do in a project is the union of
 * its global roles, its roles in that project and its live delegations;
 * agents act only with delegated permissions.
 */
#ifndef AMPEL_API_RBAC_H
#define AMPEL_API_RBAC_H

#include <jansson.h>
#include <stdbool.h>

struct api_context;
struct err;
struct http_request;
struct http_router;
struct store;

/* Every authenticated caller holds this: routes about the caller itself. */
#define RBAC_SELF "self:use"

/* "resource:action" with [a-z0-9_-] words, or "*", "resource:*", "*:action". */
bool rbac_permission_valid(const char *permission);
/* True when held grants wanted (wildcards in held only). */
bool rbac_permission_covers(const char *held, const char *wanted);
/* True when some permission of the array held grants wanted. */
bool rbac_set_covers(const json_t *held, const char *wanted);

/* Creates the system roles (admin, developer, ops, viewer, agent, owner) if missing. */
int rbac_bootstrap(struct store *store, struct err *e);

/*
 * The permissions user_id holds through role bindings, global and (when
 * project is not NULL) for project: a new array in *out.
 */
int rbac_role_permissions(struct store *store, const char *user_id, const char *project,
			  json_t **out, struct err *e);
/*
 * The effective permissions of user_id in project (NULL: globally): roles
 * (not for agents) ∪ live delegations, each delegation limited to what its
 * grantor still holds. A new array in *out.
 */
int rbac_effective_permissions(struct store *store, const char *user_id, bool is_agent,
			       const char *project, json_t **out, struct err *e);
int rbac_check(struct store *store, const char *user_id, bool is_agent, const char *project,
	       const char *permission, bool *allowed, struct err *e);
/*
 * For handlers: may the request's caller do permission in project? Honours
 * the caller's token scopes. False without a caller or on a store error.
 */
bool rbac_caller_can(const struct http_request *req, struct api_context *ctx,
		     const char *permission, const char *project);

/* /api/v1/roles, /api/v1/role-bindings, /api/v1/delegations. */
int rbac_register(struct http_router *router, struct api_context *ctx, struct err *e);

#endif
