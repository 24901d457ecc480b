/*
 * repositories: registering git repositories (validation of names, paths
 * and URLs), the routes of /api/v1/repositories and /api/v1/jobs/{id} (see
 * repositories.h, docs/repositories.md). The clone job and the clone
 * directories are repositories_clone.c's.
 *
 * A repository's id is its RBAC project, so everything about access is
 * the RBAC module's: the creator gets the "owner" role in that project,
 * and each route checks project permissions there. A URL may carry
 * credentials (https://user:token@host/…): it is kept as given for the
 * clone but masked in every response, log line, audit entry and error.
 */
#include "api/repositories.h"

#include "api/api.h"
#include "api/api_internal.h"
#include "api/audit.h"
#include "api/git.h"
#include "api/rbac.h"
#include "api/repositories_internal.h"
#include "http/response.h"
#include "http/router.h"
#include "store/jobs.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/str.h"
#include "util/xalloc.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define REPO_NAME_MAX 100
#define REPO_URL_MAX  4096
#define REPO_COLUMNS                                                                           \
	"SELECT id, name, owner_id, source_kind, source, path, default_branch, state, error, " \
	"created_at, updated_at FROM repositories"

int repositories_get(struct api_context *ctx, const char *id, json_t **row, struct err *e)
{
	struct store_param params[] = { STORE_TEXT_PARAM(id) };
	return store_query_one(ctx->store, "SELECT * FROM repositories WHERE id = ?", params, 1,
			       row, e);
}

/* The row as the API shows it: the source without credentials. */
static json_t *repository_public(json_t *row)
{
	const char *source = json_string_value(json_object_get(row, "source"));
	if (source && str_eq(json_string_value(json_object_get(row, "source_kind")), "url")) {
		char *shown = git_url_redact(source);
		json_object_set_new(row, "source", json_string(shown));
		free(shown);
	}
	return row;
}

/* --- validation --- */

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

static bool name_valid(const char *name)
{
	size_t len = name ? strlen(name) : 0;
	if (len == 0 || len > REPO_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (const char *p = name; *p; p++)
		if (!name_char(*p))
			return false;
	return true;
}

/* The last component of a path or URL without ".git", made a valid name (a new string). */
static char *default_name(const char *source)
{
	size_t end = strlen(source);
	while (end > 0 && source[end - 1] == '/')
		end--;
	size_t start = end;
	while (start > 0 && source[start - 1] != '/' && source[start - 1] != ':')
		start--;
	if (end - start > 4 && strncmp(source + end - 4, ".git", 4) == 0)
		end -= 4;
	struct buf name = BUF_INIT;
	for (size_t i = start; i < end && name.len < REPO_NAME_MAX; i++) {
		buf_addch(&name, name_char(source[i]) ? source[i] : '-');
	}
	while (name.len && (name.data[0] == '.' || name.data[0] == '-')) {
		memmove(name.data, name.data + 1, name.len);
		name.len--;
	}
	if (name.len == 0)
		buf_adds(&name, "repository");
	return buf_detach(&name);
}

static bool has_control(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return true;
	return false;
}

/* NULL when url is one git may clone from here, else why not. */
static const char *url_problem(const char *url)
{
	static const char *const schemes[] = { "https://", "http://", "ssh://", "git://",
					       "file://" };
	size_t len = strlen(url);
	if (len == 0 || len > REPO_URL_MAX)
		return "url must be 1 to 4096 characters";
	if (has_control(url))
		return "url must not contain control characters";
	if (url[0] == '-')
		return "url must not start with '-'";
	if (url[0] == '/')
		return NULL; /* a repository on this machine */
	const char *sep = strstr(url, "://");
	if (sep) {
		for (size_t i = 0; i < sizeof(schemes) / sizeof(*schemes); i++)
			if (strncasecmp(url, schemes[i], strlen(schemes[i])) == 0)
				return sep[3] ? NULL : "url names no host or path";
		return "url scheme must be https, http, ssh, git or file";
	}
	/* scp-like [user@]host:path, the form ssh remotes are usually given in;
	 * never transport::address, which makes git run a remote helper */
	const char *colon = strchr(url, ':');
	const char *slash = strchr(url, '/');
	if (colon && colon != url && (!slash || colon < slash) && colon[1] && colon[1] != ':' &&
	    !strpbrk(url, " \t")) {
		bool host_ok = true;
		for (const char *p = url; p < colon; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			      (*p >= '0' && *p <= '9') || strchr("._-@[]", *p)))
				host_ok = false;
		if (host_ok)
			return NULL;
	}
	return "url must be https://…, ssh://…, git@host:path, file:///… or an absolute path "
	       "to a repository";
}

/* 422 naming the field the caller has to change. */
#define field_error(field, ...) \
	http_response_error_detail(422, NULL, json_pack("{s:s}", "field", (field)), __VA_ARGS__)

/* --- POST /api/v1/repositories --- */

struct new_repository {
	char id[STORE_ID_SIZE];
	const char *name;
	const char *kind; /* "path" or "url" */
	const char *source;
	char *path;
	char *default_branch;
	char job_id[STORE_ID_SIZE];
};

/* The row, the owner binding, the clone job and the audit entry: all or nothing. */
static int insert_repository(struct api_context *ctx, const struct api_caller *caller,
			     struct new_repository *repo, bool *conflict, struct err *e)
{
	*conflict = false;
	int64_t now = store_now_ms();
	struct store_tx *tx;
	if (store_tx_begin(ctx->store, &tx, e) != 0)
		return -1;
	bool cloning = str_eq(repo->kind, "url");
	struct store_param row[] = {
		STORE_TEXT_PARAM(repo->id),
		STORE_TEXT_PARAM(repo->name),
		STORE_TEXT_PARAM(caller->user_id),
		STORE_TEXT_PARAM(repo->kind),
		STORE_TEXT_PARAM(repo->source),
		STORE_TEXT_PARAM(repo->path),
		repo->default_branch ? STORE_TEXT_PARAM(repo->default_branch) : STORE_NULL_PARAM,
		STORE_TEXT_PARAM(cloning ? "cloning" : "ready"),
		STORE_INT_PARAM(now),
		STORE_INT_PARAM(now),
	};
	int64_t changed = 0;
	int rc = store_tx_exec(tx,
			       "INSERT INTO repositories (id, name, owner_id, source_kind, source, "
			       "path, default_branch, state, created_at, updated_at) VALUES (?, ?, "
			       "?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
			       row, sizeof(row) / sizeof(*row), &changed, e);
	if (rc == 0 && changed == 0) {
		*conflict = true;
		store_tx_rollback(tx);
		return -1;
	}
	/* Agents act only with delegated permissions: a role binding would give them nothing. */
	if (rc == 0 && !caller->is_agent) {
		char binding[STORE_ID_SIZE];
		store_new_id(binding);
		struct store_param params[] = {
			STORE_TEXT_PARAM(binding),  STORE_TEXT_PARAM(caller->user_id),
			STORE_TEXT_PARAM(repo->id), STORE_TEXT_PARAM(caller->user_id),
			STORE_INT_PARAM(now),
		};
		rc = store_tx_exec(
			tx,
			"INSERT INTO role_bindings (id, user_id, role_id, project, "
			"created_by, created_at) SELECT ?, ?, r.id, ?, ?, ? FROM roles r "
			"WHERE r.name = 'owner'",
			params, 5, &changed, e);
		if (rc == 0 && changed != 1)
			rc = err_set(e, "the system role 'owner' is missing");
	}
	if (rc == 0 && cloning) {
		json_t *payload = json_pack("{s:s}", "repository_id", repo->id);
		rc = jobs_enqueue_tx(ctx->jobs, tx, REPOSITORIES_CLONE_JOB, payload, 0,
				     repo->job_id, e);
		json_decref(payload);
	}
	if (rc == 0) {
		char *shown = cloning ? git_url_redact(repo->source) : xstrdup(repo->source);
		struct buf target = BUF_INIT;
		buf_addf(&target, "repositories/%s", repo->id);
		json_t *detail = json_pack("{s:s, s:s, s:s, s:s, s:s?}", "id", repo->id, "name",
					   repo->name, "source_kind", repo->kind, "source", shown,
					   "job_id", cloning ? repo->job_id : NULL);
		rc = audit_append_tx(tx, caller->name, "repository.create", target.data, detail, e);
		json_decref(detail);
		buf_free(&target);
		free(shown);
	}
	if (rc != 0) {
		store_tx_rollback(tx);
		return -1;
	}
	return store_tx_commit(tx, e);
}

/* Checks path (absolute, a directory in a git working tree) and fills repo. */
static int check_path(const char *path, struct new_repository *repo, struct http_response *error)
{
	if (!path[0] || path[0] != '/' || strlen(path) >= PATH_MAX || has_control(path)) {
		*error = field_error("path", "path must be an absolute directory path, not '%s'",
				     path);
		return -1;
	}
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		*error = field_error("path", "path %s is not an existing directory", path);
		return -1;
	}
	struct err e = ERR_INIT;
	if (git_toplevel(path, &repo->path, &e) != 0) {
		*error = http_response_error_detail(422, NULL, json_pack("{s:s}", "field", "path"),
						    "path %s is not in a git working tree (%s)",
						    path, e.msg);
		return -1;
	}
	repo->default_branch = git_head_branch(repo->path);
	return 0;
}

static struct http_response handle_create(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	const struct api_caller *caller = api_caller(req);
	json_t *body = NULL;
	struct http_response res;
	if (http_request_json(req, &body, &res) != 0)
		return res;
	struct new_repository repo = { .name = NULL };
	char *derived = NULL;
	const char *key;
	json_t *value;
	json_object_foreach(body, key, value)
	{
		if (!str_eq(key, "name") && !str_eq(key, "path") && !str_eq(key, "url")) {
			res = field_error(key,
					  "unknown field '%s': a repository takes name and either "
					  "path or url",
					  key);
			goto out;
		}
		if (!json_is_null(value) && !json_is_string(value)) {
			res = field_error(key, "%s must be a string", key);
			goto out;
		}
	}
	const char *name = json_get_str(body, "name", NULL);
	const char *path = json_get_str(body, "path", NULL);
	const char *url = json_get_str(body, "url", NULL);
	if (path && url) {
		res = field_error("url", "give either path or url, not both");
		goto out;
	}
	if (!path && !url) {
		res = field_error("path",
				  "path (a git working tree on the server) or url (to clone) is "
				  "required");
		goto out;
	}
	if (name && !name_valid(name)) {
		res = field_error("name",
				  "name must be 1 to 100 letters, digits, '.', '_' or '-', not "
				  "starting with '.' or '-'");
		goto out;
	}
	store_new_id(repo.id);
	if (path) {
		if (check_path(path, &repo, &res) != 0)
			goto out;
		repo.kind = "path";
		repo.source = path;
	} else {
		const char *problem = url_problem(url);
		if (problem) {
			res = field_error("url", "%s", problem);
			goto out;
		}
		repo.path = repositories_clone_path(ctx, repo.id);
		repo.kind = "url";
		repo.source = url;
	}
	if (!name) {
		derived = default_name(path ? repo.path : url);
		name = derived;
	}
	repo.name = name;
	bool conflict = false;
	struct err e = ERR_INIT;
	if (insert_repository(ctx, caller, &repo, &conflict, &e) != 0) {
		if (conflict)
			res = http_response_error_detail(
				409, NULL, json_pack("{s:s}", "field", "name"),
				"you already have a repository named '%s': choose another name",
				name);
		else
			res = api_store_error(req, &e, "repository");
		goto out;
	}
	if (url)
		api_jobs_queued(ctx);
	json_t *row = NULL;
	if (repositories_get(ctx, repo.id, &row, &e) != 0 || !row) {
		res = api_store_error(req, &e, "repository");
		goto out;
	}
	repository_public(row);
	if (url)
		res = http_response_json(
			202, json_pack("{s:o, s:s}", "repository", row, "job_id", repo.job_id));
	else
		res = http_response_json(201, row);
out:
	free(repo.path);
	free(repo.default_branch);
	free(derived);
	json_decref(body);
	return res;
}

/* --- GET /api/v1/repositories --- */

/*
 * Only what the caller may read: with a global project:read, every row;
 * else the rows of projects the caller has a role binding, a delegation or
 * a project-bound token in, each checked with the same rule as the guard.
 * Pages are filled after filtering, so a page is never short but the last.
 */
static struct http_response handle_list(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	const struct api_caller *caller = api_caller(req);
	struct http_page page;
	struct http_response res;
	if (http_page_from_request(req, 50, 200, &page, &res) != 0)
		return res;
	bool everything = rbac_caller_can(req, ctx, "project:read", NULL);
	struct buf sql = BUF_INIT;
	buf_adds(&sql, REPO_COLUMNS " WHERE 1 = 1");
	struct store_param params[5]; /* the filter's three, then after and limit */
	size_t count = 0;
	if (!everything) {
		buf_adds(&sql,
			 " AND (id IN (SELECT project FROM role_bindings WHERE user_id = ? AND "
			 "project IS NOT NULL) OR id IN (SELECT project FROM delegations "
			 "WHERE to_user_id = ? AND project IS NOT NULL AND revoked_at IS "
			 "NULL) OR id IN (SELECT project FROM api_tokens WHERE id = ? AND "
			 "project IS NOT NULL))");
		params[count++] = STORE_TEXT_PARAM(caller->user_id);
		params[count++] = STORE_TEXT_PARAM(caller->user_id);
		params[count++] = STORE_TEXT_PARAM(caller->token_id ? caller->token_id : "");
	}
	buf_adds(&sql, " AND id > ? ORDER BY id LIMIT ?");
	json_t *items = json_array();
	char *after = xstrdup(page.after_id ? page.after_id : "");
	struct err e = ERR_INIT;
	int rc = 0;
	while (json_array_size(items) <= page.limit) {
		params[count] = STORE_TEXT_PARAM(after);
		params[count + 1] = STORE_INT_PARAM((int64_t)page.limit + 1);
		json_t *rows = NULL;
		if ((rc = store_query(ctx->store, sql.data, params, count + 2, &rows, &e)) != 0)
			break;
		size_t i;
		json_t *row;
		json_array_foreach(rows, i, row)
		{
			const char *id = json_get_str(row, "id", "");
			free(after);
			after = xstrdup(id);
			if (json_array_size(items) > page.limit)
				break;
			if (everything || rbac_caller_can(req, ctx, "project:read", id))
				json_array_append(items, repository_public(row));
		}
		size_t got = json_array_size(rows);
		json_decref(rows);
		if (got < page.limit + 1)
			break;
	}
	free(after);
	buf_free(&sql);
	if (rc != 0) {
		json_decref(items);
		http_page_free(&page);
		return api_store_error(req, &e, "repository");
	}
	char *next = NULL;
	if (json_array_size(items) > page.limit) {
		json_array_remove(items, page.limit);
		next = xstrdup(json_get_str(json_array_get(items, page.limit - 1), "id", ""));
	}
	http_page_free(&page);
	res = http_response_json(200, http_page_envelope(items, next));
	free(next);
	return res;
}

/* --- GET and DELETE /api/v1/repositories/{id} --- */

static struct http_response handle_get(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	const char *id = http_request_param(req, "id");
	json_t *row = NULL;
	struct err e = ERR_INIT;
	if (repositories_get(ctx, id, &row, &e) != 0)
		return api_store_error(req, &e, "repository");
	if (!row)
		return http_response_error(404, "no repository with id '%s'", id);
	return http_response_json(200, repository_public(row));
}

static struct http_response handle_delete(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	const char *id = http_request_param(req, "id");
	struct err e = ERR_INIT;
	struct store_tx *tx;
	if (store_tx_begin(ctx->store, &tx, &e) != 0)
		return api_store_error(req, &e, "repository");
	struct store_param key = STORE_TEXT_PARAM(id);
	json_t *row = NULL;
	int rc = store_tx_query_one(tx, REPO_COLUMNS " WHERE id = ?", &key, 1, &row, &e);
	if (rc == 0 && !row) {
		store_tx_rollback(tx);
		return http_response_error(404, "no repository with id '%s'", id);
	}
	if (rc == 0)
		rc = store_tx_exec(tx, "DELETE FROM repositories WHERE id = ?", &key, 1, NULL, &e);
	/* Grants in a project that no longer exists are clutter at best. */
	if (rc == 0)
		rc = store_tx_exec(tx, "DELETE FROM role_bindings WHERE project = ?", &key, 1, NULL,
				   &e);
	if (rc == 0) {
		struct buf target = BUF_INIT;
		buf_addf(&target, "repositories/%s", id);
		char *shown = str_eq(json_get_str(row, "source_kind", ""), "url")
				      ? git_url_redact(json_get_str(row, "source", ""))
				      : xstrdup(json_get_str(row, "source", ""));
		json_t *detail = json_pack("{s:s, s:s, s:s, s:s}", "id", id, "name",
					   json_get_str(row, "name", ""), "source_kind",
					   json_get_str(row, "source_kind", ""), "source", shown);
		rc = audit_append_tx(tx, api_actor(req), "repository.delete", target.data, detail,
				     &e);
		json_decref(detail);
		free(shown);
		buf_free(&target);
	}
	if (rc == 0)
		rc = store_tx_commit(tx, &e);
	else
		store_tx_rollback(tx);
	if (rc != 0) {
		json_decref(row);
		return api_store_error(req, &e, "repository");
	}
	repositories_clone_remove(ctx, row);
	json_decref(row);
	return http_response_empty(204);
}

/* --- GET /api/v1/jobs/{id} --- */

static struct http_response handle_job(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	const char *id = http_request_param(req, "id");
	json_t *row = NULL;
	struct err e = ERR_INIT;
	if (jobs_get(ctx->jobs, id, &row, &e) != 0)
		return api_store_error(req, &e, "job");
	const char *repository =
		row ? json_get_str(json_object_get(row, "payload"), "repository_id", NULL) : NULL;
	/* Unknown and not-yours look the same: a job id says nothing about other tenants. */
	if (!repository || !rbac_caller_can(req, ctx, "project:read", repository)) {
		json_decref(row);
		return http_response_error(404, "no job with id '%s'", id);
	}
	json_t *job = json_object();
	static const char *const fields[] = { "id",	    "kind",	    "state",
					      "attempts",   "max_attempts", "run_at",
					      "last_error", "created_at",   "updated_at",
					      "finished_at" };
	for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); i++) {
		json_t *v = json_object_get(row, fields[i]);
		json_object_set(job, fields[i], v ? v : json_null());
	}
	json_object_set_new(job, "repository_id", json_string(repository));
	json_decref(row);
	return http_response_json(200, job);
}

/* --- registration --- */

/* The body schemas the routes below name (OpenAPI 3.0 schema objects; docs/http.md). */
static const struct http_schema_spec repositories_schemas[] = {
	{ "Repository",
	  "{\"type\":\"object\","
	  "\"required\":[\"id\",\"name\",\"owner_id\",\"source_kind\",\"source\","
	  "\"path\",\"default_branch\",\"state\",\"error\",\"created_at\","
	  "\"updated_at\"],\"properties\":{"
	  "\"id\":{\"type\":\"string\"},"
	  "\"name\":{\"type\":\"string\"},"
	  "\"owner_id\":{\"type\":\"string\"},"
	  "\"source_kind\":{\"type\":\"string\",\"enum\":[\"path\",\"url\"]},"
	  "\"source\":{\"type\":\"string\"},"
	  "\"path\":{\"type\":\"string\"},"
	  "\"default_branch\":{\"type\":\"string\",\"nullable\":true},"
	  "\"state\":{\"type\":\"string\",\"enum\":[\"cloning\",\"ready\",\"failed\"]},"
	  "\"error\":{\"type\":\"string\",\"nullable\":true},"
	  "\"created_at\":{\"type\":\"integer\",\"format\":\"int64\"},"
	  "\"updated_at\":{\"type\":\"integer\",\"format\":\"int64\"}}}" },
	{ "RepositoryClone", "{\"type\":\"object\",\"description\":\"A registration by URL: the "
			     "repository (state cloning) and the clone job to follow\","
			     "\"required\":[\"repository\",\"job_id\"],\"properties\":{"
			     "\"repository\":{\"$ref\":\"#/components/schemas/Repository\"},"
			     "\"job_id\":{\"type\":\"string\"}}}" },
	{ "RepositoryCreate", "{\"type\":\"object\",\"description\":\"path or url, not "
			      "both\",\"additionalProperties\":false,\"properties\":{"
			      "\"name\":{\"type\":\"string\",\"nullable\":true},"
			      "\"path\":{\"type\":\"string\",\"nullable\":true},"
			      "\"url\":{\"type\":\"string\",\"nullable\":true}}}" },
	{ "Job",
	  "{\"type\":\"object\","
	  "\"required\":[\"id\",\"kind\",\"state\",\"attempts\",\"max_attempts\","
	  "\"run_at\",\"last_error\",\"created_at\",\"updated_at\","
	  "\"finished_at\",\"repository_id\"],\"properties\":{"
	  "\"id\":{\"type\":\"string\"},"
	  "\"kind\":{\"type\":\"string\"},"
	  "\"state\":{\"type\":\"string\",\"enum\":[\"queued\",\"running\",\"done\",\"dead\"]},"
	  "\"attempts\":{\"type\":\"integer\"},"
	  "\"max_attempts\":{\"type\":\"integer\"},"
	  "\"run_at\":{\"type\":\"integer\",\"format\":\"int64\"},"
	  "\"last_error\":{\"type\":\"string\",\"nullable\":true},"
	  "\"created_at\":{\"type\":\"integer\",\"format\":\"int64\"},"
	  "\"updated_at\":{\"type\":\"integer\",\"format\":\"int64\"},"
	  "\"finished_at\":{\"type\":\"integer\",\"format\":\"int64\",\"nullable\":true},"
	  "\"repository_id\":{\"type\":\"string\"}}}" },
};

int api_repositories_register(struct http_router *router, struct api_context *ctx, struct err *e)
{
	const struct http_route_spec routes[] = {
		{ "GET /api/v1/repositories",
		  handle_list,
		  { .summary = "List the repositories the caller may read",
		    .tags = "repositories",
		    .response_schema = "Repository",
		    .permission = RBAC_SELF,
		    .paginated = true } },
		{ "POST /api/v1/repositories",
		  handle_create,
		  { .summary = "Register a repository by local path (201) or clone it from a URL "
			       "(202 with the clone job)",
		    .tags = "repositories",
		    .request_schema = "RepositoryCreate",
		    .response_schema = "Repository",
		    .permission = "project:write",
		    .success_status = 201,
		    .other_status = 202,
		    .other_response_schema = "RepositoryClone" } },
		{ "GET /api/v1/repositories/{id}",
		  handle_get,
		  { .summary = "A repository",
		    .tags = "repositories",
		    .response_schema = "Repository",
		    .permission = "project:read",
		    .project_param = "id" } },
		{ "DELETE /api/v1/repositories/{id}",
		  handle_delete,
		  { .summary = "Forget a repository (and delete its clone, never a local path)",
		    .tags = "repositories",
		    .permission = "project:write",
		    .project_param = "id",
		    .success_status = 204 } },
		{ "GET /api/v1/jobs/{id}",
		  handle_job,
		  { .summary = "A background job of a repository the caller may read",
		    .tags = "jobs,repositories",
		    .response_schema = "Job",
		    .permission = RBAC_SELF } },
	};
	if (http_router_add_schemas(router, repositories_schemas,
				    sizeof(repositories_schemas) / sizeof(*repositories_schemas),
				    e) != 0)
		return -1;
	return http_router_add_all(router, routes, sizeof(routes) / sizeof(*routes), ctx, e);
}
