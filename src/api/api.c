#include "api/api.h"

#include "api/api_internal.h"
#include "api/audit.h"
#include "api/auth.h"
#include "api/credentials.h"
#include "api/intelligence.h"
#include "api/rbac.h"
#include "api/repositories.h"
#include "api/secrets.h"
#include "store/workers.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int api_register_all(struct http_router *router, struct api_context *ctx, struct err *e)
{
	if (api_auth_register(router, ctx, e) != 0 || api_secrets_register(router, ctx, e) != 0 ||
	    api_audit_register(router, ctx, e) != 0 ||
	    api_repositories_register(router, ctx, e) != 0 ||
	    api_intelligence_register(router, ctx, e) != 0 ||
	    api_credentials_register(router, ctx, e) != 0)
		return -1;
	return 0;
}

int api_register_workers(struct workers *workers, struct api_context *ctx, struct err *e)
{
	if (repositories_register_workers(workers, ctx, e) != 0 ||
	    intelligence_register_workers(workers, ctx, e) != 0)
		return -1;
	return 0;
}

void api_jobs_queued(struct api_context *ctx)
{
	if (ctx->workers)
		workers_wake(ctx->workers);
}

const struct api_caller *api_caller(const struct http_request *req)
{
	return req ? req->context : NULL;
}

struct http_response api_store_error(const struct http_request *req, const struct err *e,
				     const char *what)
{
	if (store_error_is_conflict(e))
		return http_response_error(409, "%s already exists: choose another", what);
	log_error("api", "store failed", "error", e->msg, "request_id",
		  req && req->request_id ? req->request_id : "");
	return http_response_error(500, "internal error (request %s)",
				   req && req->request_id ? req->request_id : "unknown");
}

void api_audit(struct api_context *ctx, const char *actor, const char *action, const char *target,
	       json_t *detail)
{
	struct err e = ERR_INIT;
	if (audit_append(ctx->store, actor, action, target, detail, &e) != 0)
		log_error("api", "audit append failed", "action", action, "error", e.msg);
	json_decref(detail);
}

const char *api_actor(const struct http_request *req)
{
	const struct api_caller *caller = api_caller(req);
	return caller ? caller->name : NULL;
}

int api_list_rows(struct http_request *req, struct store *store, const char *select_where,
		  const struct store_param *params, size_t count, json_t **rows, char **next,
		  struct http_response *error)
{
	struct http_page page;
	*rows = NULL;
	*next = NULL;
	if (http_page_from_request(req, 50, 200, &page, error) != 0)
		return -1;
	struct buf sql = BUF_INIT;
	buf_adds(&sql, select_where);
	struct store_param all[16];
	if (count > 15) { /* a programming error, not the caller's */
		http_page_free(&page);
		buf_free(&sql);
		*error = http_response_error(500, "too many query parameters");
		return -1;
	}
	for (size_t i = 0; i < count; i++)
		all[i] = params[i];
	size_t n = count;
	if (page.after_id) {
		buf_adds(&sql, " AND id > ?");
		all[n++] = STORE_TEXT_PARAM(page.after_id);
	}
	buf_addf(&sql, " ORDER BY id LIMIT %zu", page.limit + 1);
	struct err e = ERR_INIT;
	int rc = store_query(store, buf_cstr(&sql), all, n, rows, &e);
	buf_free(&sql);
	if (rc != 0) {
		http_page_free(&page);
		*error = api_store_error(req, &e, "row");
		return -1;
	}
	if (json_array_size(*rows) > page.limit) {
		json_array_remove(*rows, page.limit);
		*next = strdup(json_string_value(
			json_object_get(json_array_get(*rows, page.limit - 1), "id")));
	}
	http_page_free(&page);
	return 0;
}

struct http_response api_list_page(struct http_request *req, struct store *store,
				   const char *select_where, const struct store_param *params,
				   size_t count, void (*decode)(json_t *row))
{
	json_t *rows;
	char *next;
	struct http_response error;
	if (api_list_rows(req, store, select_where, params, count, &rows, &next, &error) != 0)
		return error;
	if (decode) {
		size_t i;
		json_t *row;
		json_array_foreach(rows, i, row) decode(row);
	}
	struct http_response res = http_response_json(200, http_page_envelope(rows, next));
	free(next);
	return res;
}

int api_read_expiry(const json_t *body, int64_t now, int64_t *expires_at,
		    struct http_response *error)
{
	*expires_at = 0;
	const json_t *at = json_object_get(body, "expires_at");
	const json_t *in = json_object_get(body, "expires_in");
	if (at && !json_is_null(at)) {
		if (!json_is_integer(at) || json_integer_value(at) <= now) {
			*error = http_response_error_detail(
				422, NULL, json_pack("{s:s}", "field", "expires_at"),
				"expires_at must be a time in the future, in milliseconds since "
				"the epoch");
			return -1;
		}
		*expires_at = json_integer_value(at);
	} else if (in && !json_is_null(in)) {
		if (!json_is_integer(in) || json_integer_value(in) <= 0 ||
		    json_integer_value(in) > 10LL * 365 * 86400) {
			*error = http_response_error_detail(
				422, NULL, json_pack("{s:s}", "field", "expires_in"),
				"expires_in must be a whole number of seconds, at least 1 and at "
				"most ten years");
			return -1;
		}
		*expires_at = now + json_integer_value(in) * 1000;
	}
	return 0;
}

bool api_permission_list_valid(const json_t *list, bool allow_empty)
{
	if (!json_is_array(list) || (!allow_empty && json_array_size(list) == 0))
		return false;
	size_t i;
	const json_t *item;
	json_array_foreach(list, i, item)
	{
		if (!json_is_string(item) || !rbac_permission_valid(json_string_value(item)))
			return false;
	}
	return true;
}
