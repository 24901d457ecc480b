/*
 * repositories: registering git repositories, /api/v1/repositories, the
 * clone job and /api/v1/jobs/{id} (see repositories.h, docs/repositories.md).
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
#include "api/rbac.h"
#include "http/response.h"
#include "http/router.h"
#include "store/jobs.h"
#include "store/store.h"
#include "store/workers.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"
#include "util/spawn.h"
#include "util/str.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define REPO_NAME_MAX 100
#define REPO_URL_MAX  4096
/* A clone that takes longer is stuck (a prompt, a dead server): fail and retry it. */
#define CLONE_TIMEOUT_MS (60L * 60 * 1000)
#define GIT_TIMEOUT_MS	 (60L * 1000)

#define REPO_COLUMNS                                                                           \
	"SELECT id, name, owner_id, source_kind, source, path, default_branch, state, error, " \
	"created_at, updated_at FROM repositories"

/* Git never asks anyone anything, and never runs a transport that executes commands. */
static const char *const git_env[] = { "GIT_TERMINAL_PROMPT=0",
				       "GIT_ALLOW_PROTOCOL=file:git:http:https:ssh", "LC_ALL=C",
				       NULL };

int repositories_get(struct api_context *ctx, const char *id, json_t **row, struct err *e)
{
	struct store_param params[] = { STORE_TEXT_PARAM(id) };
	return store_query_one(ctx->store, "SELECT * FROM repositories WHERE id = ?", params, 1,
			       row, e);
}

/* --- credentials in URLs --- */

/*
 * The secret part of a URL's userinfo, as [start, start + len) of url:
 * the password of user:password@, or the whole userinfo of an http(s) URL
 * (a token given as the user name). len 0 when there is none.
 */
static void url_secret(const char *url, size_t *start, size_t *len)
{
	*start = *len = 0;
	const char *scheme_end = url ? strstr(url, "://") : NULL;
	if (!scheme_end)
		return; /* git@host:path names a user, never a password */
	const char *authority = scheme_end + 3;
	size_t authority_len = strcspn(authority, "/?#");
	const char *at = NULL;
	for (const char *p = authority; p < authority + authority_len; p++)
		if (*p == '@')
			at = p;
	if (!at)
		return;
	const char *colon = memchr(authority, ':', (size_t)(at - authority));
	bool http = strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
	if (colon) {
		*start = (size_t)(colon + 1 - url);
		*len = (size_t)(at - colon - 1);
	} else if (http) {
		*start = (size_t)(authority - url);
		*len = (size_t)(at - authority);
	}
}

/* url with its secret replaced by "***" (a new string). */
static char *url_redact(const char *url)
{
	size_t start, len;
	url_secret(url, &start, &len);
	struct buf out = BUF_INIT;
	if (len == 0) {
		buf_adds(&out, url ? url : "");
	} else {
		buf_add(&out, url, start);
		buf_adds(&out, "***");
		buf_adds(&out, url + start + len);
	}
	return buf_detach(&out);
}

/* Replaces every occurrence of needle (when not empty) in text by replacement. */
static void replace_all(struct buf *text, const char *needle, size_t needle_len,
			const char *replacement)
{
	if (needle_len == 0 || !text->data)
		return;
	struct buf out = BUF_INIT;
	const char *p = text->data, *end = text->data + text->len;
	while (p < end) {
		const char *hit = memmem(p, (size_t)(end - p), needle, needle_len);
		if (!hit) {
			buf_add(&out, p, (size_t)(end - p));
			break;
		}
		buf_add(&out, p, (size_t)(hit - p));
		buf_adds(&out, replacement);
		p = hit + needle_len;
	}
	buf_free(text);
	*text = out;
	if (!text->data)
		buf_adds(text, "");
}

/* Masks url's secret wherever it appears in text (git quotes URLs in its errors). */
static void scrub_url(struct buf *text, const char *url)
{
	size_t start, len;
	url_secret(url, &start, &len);
	if (len == 0)
		return;
	char *redacted = url_redact(url);
	replace_all(text, url, strlen(url), redacted);
	free(redacted);
	char *secret = xstrndup(url + start, len);
	replace_all(text, secret, len, "***");
	free(secret);
}

/* The row as the API shows it: the source without credentials. */
static json_t *repository_public(json_t *row)
{
	const char *source = json_string_value(json_object_get(row, "source"));
	if (source && str_eq(json_string_value(json_object_get(row, "source_kind")), "url")) {
		char *shown = url_redact(source);
		json_object_set_new(row, "source", json_string(shown));
		free(shown);
	}
	return row;
}

/* --- git --- */

/*
 * Runs git (args[0] is "git"; use -C for a directory); its stdout in out
 * (may be NULL), trailing newline removed. 0 on exit status 0; -1 with e
 * holding git's message (url's credentials masked when url is given).
 */
static int run_git(const char *const *args, struct buf *out, const char *url, long timeout_ms,
		   const atomic_int *cancel, struct err *e)
{
	struct buf err_text = BUF_INIT, sink = BUF_INIT;
	struct spawn_options opt = {
		.argv = args,
		.env = git_env,
		.stdout_buf = out ? out : &sink,
		.stderr_buf = &err_text,
		.timeout_ms = timeout_ms,
		.cancel = cancel,
		.kill_grace_ms = 2000,
	};
	struct spawn_result result = { 0 };
	int rc = spawn_run(&opt, &result, e);
	if (rc == 0 && (result.exit_code != 0 || result.timed_out || result.cancelled)) {
		buf_rtrim(&err_text);
		if (url)
			scrub_url(&err_text, url);
		if (result.timed_out)
			rc = err_set(e, "git %s: timed out after %ld s", args[1],
				     timeout_ms / 1000);
		else if (result.cancelled)
			rc = err_set(e, "git %s: cancelled because the server is stopping",
				     args[1]);
		else if (result.signal)
			rc = err_set(e, "git %s: killed by signal %d", args[1], result.signal);
		else
			rc = err_set(e, "git %s: exited with status %d%s%s", args[1],
				     result.exit_code, err_text.len ? ": " : "",
				     buf_cstr(&err_text));
	}
	if (out)
		buf_rtrim(out);
	buf_free(&err_text);
	buf_free(&sink);
	return rc;
}

/* The branch HEAD names (a new string), or NULL (detached HEAD, or no git). */
static char *git_head_branch(const char *dir)
{
	const char *args[] = {
		"git", "-C", dir, "symbolic-ref", "--quiet", "--short", "HEAD", NULL
	};
	struct buf out = BUF_INIT;
	struct err e = ERR_INIT;
	if (run_git(args, &out, NULL, GIT_TIMEOUT_MS, NULL, &e) != 0 || out.len == 0) {
		buf_free(&out);
		return NULL;
	}
	return buf_detach(&out);
}

/* The top level of the working tree dir is in, in *top (a new string). */
static int git_toplevel(const char *dir, char **top, struct err *e)
{
	const char *args[] = { "git", "-C", dir, "rev-parse", "--show-toplevel", NULL };
	struct buf out = BUF_INIT;
	*top = NULL;
	if (run_git(args, &out, NULL, GIT_TIMEOUT_MS, NULL, e) != 0 || out.len == 0) {
		if (!err_is_set(e))
			err_set(e, "git rev-parse: no working tree");
		buf_free(&out);
		return -1;
	}
	*top = buf_detach(&out);
	return 0;
}

/* --- the clone directory --- */

/* <data_dir>/repositories, absolute when the data directory exists (a new string). */
static char *clones_dir(const struct api_context *ctx)
{
	const char *data_dir = ctx->data_dir && *ctx->data_dir ? ctx->data_dir : ".";
	char resolved[PATH_MAX];
	struct buf dir = BUF_INIT;
	buf_addf(&dir, "%s/repositories", realpath(data_dir, resolved) ? resolved : data_dir);
	return buf_detach(&dir);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) != 0 && errno != ENOENT)
		log_warn("repositories", "cannot remove", "path", path, "error", strerror(errno));
	return 0;
}

static void remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) == 0)
		nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Temporary clone directories of this repository left by attempts that crashed. */
static void remove_leftovers(const char *parent, const char *id)
{
	struct buf prefix = BUF_INIT;
	buf_addf(&prefix, ".%s.clone-", id);
	DIR *dir = opendir(parent);
	struct dirent *entry;
	while (dir && (entry = readdir(dir))) {
		if (!str_starts_with(entry->d_name, prefix.data))
			continue;
		struct buf path = BUF_INIT;
		buf_addf(&path, "%s/%s", parent, entry->d_name);
		log_info("repositories", "removing an unfinished clone", "path", path.data);
		remove_tree(path.data);
		buf_free(&path);
	}
	if (dir)
		closedir(dir);
	buf_free(&prefix);
}

/* True when path is a clone this server made: <data_dir>/repositories/<id>. */
static bool is_our_clone(const struct api_context *ctx, const json_t *row)
{
	if (!str_eq(json_get_str(row, "source_kind", ""), "url"))
		return false;
	char *dir = clones_dir(ctx);
	struct buf expected = BUF_INIT;
	buf_addf(&expected, "%s/%s", dir, json_get_str(row, "id", ""));
	bool ours = str_eq(json_get_str(row, "path", NULL), expected.data);
	buf_free(&expected);
	free(dir);
	return ours;
}

/* --- validation --- */

static bool name_valid(const char *name)
{
	size_t len = name ? strlen(name) : 0;
	if (len == 0 || len > REPO_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
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
		char c = source[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
		buf_addch(&name, ok ? c : '-');
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
		char *shown = cloning ? url_redact(repo->source) : xstrdup(repo->source);
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
		char *dir = clones_dir(ctx);
		struct buf clone = BUF_INIT;
		buf_addf(&clone, "%s/%s", dir, repo.id);
		free(dir);
		repo.path = buf_detach(&clone);
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
				      ? url_redact(json_get_str(row, "source", ""))
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
	/* Only a clone this server made: a path registration is the user's own directory. */
	if (is_our_clone(ctx, row)) {
		const char *path = json_get_str(row, "path", "");
		remove_tree(path);
		char *parent = xstrdup(path);
		char *slash = strrchr(parent, '/');
		if (slash && slash != parent) {
			*slash = '\0';
			remove_leftovers(parent, id);
		}
		free(parent);
	}
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

/* --- the clone job --- */

static int set_state(struct api_context *ctx, const char *id, const char *state,
		     const char *default_branch, const char *error, int64_t *changed, struct err *e)
{
	struct store_param params[] = {
		STORE_TEXT_PARAM(state),
		default_branch ? STORE_TEXT_PARAM(default_branch) : STORE_NULL_PARAM,
		error ? STORE_TEXT_PARAM(error) : STORE_NULL_PARAM,
		STORE_INT_PARAM(store_now_ms()),
		STORE_TEXT_PARAM(id),
	};
	return store_exec(ctx->store,
			  "UPDATE repositories SET state = ?, default_branch = COALESCE(?, "
			  "default_branch), error = ?, updated_at = ? WHERE id = ?",
			  params, 5, changed, e);
}

/* True when dir is the top of a git working tree (a finished clone). */
static bool is_clone_of(const char *dir)
{
	struct stat st;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return false;
	char *top = NULL;
	struct err e = ERR_INIT;
	bool ok = git_toplevel(dir, &top, &e) == 0;
	char resolved[PATH_MAX];
	ok = ok && realpath(dir, resolved) && str_eq(top, resolved);
	free(top);
	return ok;
}

static int mkdir_parents(const char *dir, struct err *e)
{
	char *copy = xstrdup(dir);
	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0700) != 0 && errno != EEXIST) {
			err_errno(e, "cannot create %s", copy);
			free(copy);
			return -1;
		}
		*p = '/';
	}
	int rc = 0;
	if (mkdir(copy, 0700) != 0 && errno != EEXIST)
		rc = err_errno(e, "cannot create %s", copy);
	free(copy);
	return rc;
}

/*
 * Clones into a temporary directory beside the final one, then renames it:
 * the final directory exists only complete, so a crash at any point leaves
 * either nothing there (the next attempt clones again, after removing what
 * the crashed attempt left) or the finished clone (the next attempt only
 * marks the repository ready).
 */
static int clone_repository(struct api_context *ctx, const struct jobs_job *job, const json_t *row,
			    struct err *e)
{
	const char *id = json_get_str(row, "id", "");
	const char *url = json_get_str(row, "source", "");
	const char *final = json_get_str(row, "path", "");
	char *parent = xstrdup(final);
	char *slash = strrchr(parent, '/');
	if (!slash || slash == parent) {
		free(parent);
		return err_set(e, "repository %s has no clone directory (path '%s')", id, final);
	}
	*slash = '\0';
	int rc = mkdir_parents(parent, e);
	if (rc == 0)
		remove_leftovers(parent, id);
	if (rc == 0 && !is_clone_of(final)) {
		remove_tree(final); /* not a finished clone, whatever it is */
		struct buf temp = BUF_INIT;
		buf_addf(&temp, "%s/.%s.clone-%d", parent, id, job->attempts);
		const char *args[] = { "git", "clone", "--quiet", "--", url, temp.data, NULL };
		rc = run_git(args, NULL, url, CLONE_TIMEOUT_MS, workers_stop_flag(ctx->workers), e);
		if (rc == 0 && rename(temp.data, final) != 0)
			rc = err_errno(e, "cannot move the clone to %s", final);
		if (rc != 0)
			remove_tree(temp.data);
		buf_free(&temp);
	}
	if (rc != 0) {
		free(parent);
		return -1;
	}
	char *branch = git_head_branch(final);
	int64_t changed = 0;
	rc = set_state(ctx, id, "ready", branch, NULL, &changed, e);
	free(branch);
	if (rc == 0 && changed == 0) {
		/* Deleted while we cloned: nobody will ever remove this clone but us. */
		log_info("repositories", "repository deleted during its clone", "id", id);
		remove_tree(final);
	}
	free(parent);
	return rc;
}

static int clone_job(const struct jobs_job *job, void *user, struct err *e)
{
	struct api_context *ctx = user;
	const char *id = json_get_str(job->payload, "repository_id", NULL);
	if (!id)
		return err_set(e, "job %s names no repository_id", job->id);
	json_t *row = NULL;
	if (repositories_get(ctx, id, &row, e) != 0)
		return -1;
	if (!row) {
		log_info("repositories", "repository deleted before its clone", "id", id);
		return 0;
	}
	int rc = 0;
	if (str_eq(json_get_str(row, "source_kind", ""), "url") &&
	    !str_eq(json_get_str(row, "state", ""), "ready")) {
		if (str_eq(json_get_str(row, "state", ""), "failed"))
			set_state(ctx, id, "cloning", NULL, json_get_str(row, "error", NULL), NULL,
				  e);
		err_clear(e);
		rc = clone_repository(ctx, job, row, e);
		if (rc != 0) {
			char *shown = url_redact(json_get_str(row, "source", ""));
			err_prefix(e, "cannot clone %s", shown);
			free(shown);
			struct err store_error = ERR_INIT;
			if (set_state(ctx, id, "failed", NULL, e->msg, NULL, &store_error) != 0)
				log_warn("repositories", "cannot record the clone failure", "id",
					 id, "error", store_error.msg);
		}
	}
	json_decref(row);
	return rc;
}

/* --- registration --- */

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
		    .success_status = 201 } },
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
	return http_router_add_all(router, routes, sizeof(routes) / sizeof(*routes), ctx, e);
}

int repositories_register_workers(struct workers *workers, struct api_context *ctx, struct err *e)
{
	return workers_add_handler(workers, REPOSITORIES_CLONE_JOB, clone_job, ctx, e);
}
