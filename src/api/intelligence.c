/*
 * intelligence: analyses of repositories and the CI/CD suggestions made
 * from them (see intelligence.h and docs/intelligence.md).
 *
 * The request only queues a job: analysing a big repository and running
 * every generator takes longer than a request should. The job stores the
 * analysis and its suggestions together, keyed by the job, so a job run
 * twice after a crash leaves one analysis.
 */
#include "api/intelligence.h"

#include "api/api.h"
#include "api/api_internal.h"
#include "api/audit.h"
#include "api/intelligence_internal.h"
#include "api/rbac.h"
#include "api/repositories.h"
#include "http/response.h"
#include "http/router.h"
#include "intel/analyze.h"
#include "intel/document.h"
#include "store/jobs.h"
#include "store/store.h"
#include "store/workers.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"
#include "util/str.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUGGESTION_COLUMNS                                                              \
	"SELECT id, repository_id, analysis_id, type, provider, target, title, files, " \
	"status, branch, commit_sha, created_at, updated_at FROM suggestions"

static const char *const suggestion_statuses[] = { "pending", "accepted", "rejected", "applied" };

static bool status_valid(const char *status)
{
	for (size_t i = 0; i < sizeof(suggestion_statuses) / sizeof(*suggestion_statuses); i++)
		if (str_eq(status, suggestion_statuses[i]))
			return true;
	return false;
}

/*
 * Ids are UUIDs; anything else (bytes that are not text, control
 * characters) cannot name a row, and must not reach the database (which
 * may refuse invalid UTF-8) or an error message.
 */
static bool id_plausible(const char *id)
{
	if (!id || !*id || strlen(id) > 200)
		return false;
	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return false;
	return true;
}

static struct http_response field_error(const char *field, const char *message)
{
	return http_response_error_detail(422, NULL, json_pack("{s:s}", "field", field), "%s",
					  message);
}

static struct http_response no_repository(const char *id)
{
	if (!id_plausible(id))
		return http_response_error(404, "no repository with that id");
	return http_response_error(404, "no repository with id '%s'", id);
}

static char *target_of(const char *kind, const char *id)
{
	struct buf target = BUF_INIT;
	buf_addf(&target, "%s/%s", kind, id);
	return buf_detach(&target);
}

/* --- the job --- */

static int existing_analysis(struct store *store, const char *job_id, bool *found, struct err *e)
{
	struct store_param param = STORE_TEXT_PARAM(job_id);
	json_t *row = NULL;
	if (store_query_one(store, "SELECT id FROM analyses WHERE job_id = ?", &param, 1, &row,
			    e) != 0)
		return -1;
	*found = row != NULL;
	json_decref(row);
	return 0;
}

/* The analysis document of the working tree, its root named after the repository. */
static json_t *analyze_tree(const json_t *repository, struct err *e)
{
	const char *path = json_get_str(repository, "path", NULL);
	if (!path || !*path) {
		err_set(e, "the repository has no working tree path");
		return NULL;
	}
	struct analysis *analysis = NULL;
	struct analyze_options options = { .progress = false };
	if (analyze_repository(&analysis, path, &options, e) < 0)
		return NULL;
	json_t *document = document_render(analysis);
	analysis_free(analysis);
	/* The server's directory layout is nobody's business; the name says which repository. */
	json_object_set_new(document, "root", json_string(json_get_str(repository, "name", ".")));
	return document;
}

static int insert_suggestions(struct store_tx *tx, const char *repository_id,
			      const char *analysis_id, const json_t *suggestions, int64_t now,
			      struct err *e)
{
	size_t i;
	const json_t *s;
	json_array_foreach(suggestions, i, s)
	{
		char id[STORE_ID_SIZE];
		store_new_id(id);
		char *files = json_dumps(json_object_get(s, "files"), JSON_COMPACT);
		const char *target = json_get_str(s, "target", NULL);
		struct store_param params[] = {
			STORE_TEXT_PARAM(id),
			STORE_TEXT_PARAM(repository_id),
			STORE_TEXT_PARAM(analysis_id),
			STORE_TEXT_PARAM(json_get_str(s, "type", "")),
			STORE_TEXT_PARAM(json_get_str(s, "provider", "")),
			target ? STORE_TEXT_PARAM(target) : STORE_NULL_PARAM,
			STORE_TEXT_PARAM(json_get_str(s, "title", "")),
			STORE_TEXT_PARAM(files ? files : "[]"),
			STORE_INT_PARAM(now),
			STORE_INT_PARAM(now),
		};
		int rc = store_tx_exec(
			tx,
			"INSERT INTO suggestions (id, repository_id, analysis_id, "
			"type, provider, target, title, files, status, created_at, "
			"updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
			params, sizeof(params) / sizeof(*params), NULL, e);
		free(files);
		if (rc != 0)
			return err_prefix(e, "cannot store a suggestion");
	}
	return 0;
}

/*
 * One transaction: the analysis (unless this job already stored one), the
 * pending suggestions of older analyses withdrawn, the new ones added.
 */
static int store_analysis(struct api_context *ctx, const char *job_id, const char *repository_id,
			  const char *commit_sha, const json_t *document, const json_t *suggestions,
			  bool *stored, struct err *e)
{
	char analysis_id[STORE_ID_SIZE];
	store_new_id(analysis_id);
	char *text = json_dumps(document, JSON_COMPACT | JSON_SORT_KEYS);
	int64_t now = store_now_ms();
	struct store_tx *tx = NULL;
	*stored = false;
	if (!text)
		return err_set(e, "cannot serialise the analysis document");
	if (store_tx_begin(ctx->store, &tx, e) != 0) {
		free(text);
		return -1;
	}
	struct store_param params[] = {
		STORE_TEXT_PARAM(analysis_id),
		STORE_TEXT_PARAM(repository_id),
		STORE_TEXT_PARAM(job_id),
		commit_sha ? STORE_TEXT_PARAM(commit_sha) : STORE_NULL_PARAM,
		STORE_TEXT_PARAM(text),
		STORE_INT_PARAM(now),
	};
	int64_t inserted = 0;
	int rc = store_tx_exec(tx,
			       "INSERT INTO analyses (id, repository_id, job_id, commit_sha, "
			       "document, created_at) VALUES (?, ?, ?, ?, ?, ?) "
			       "ON CONFLICT (job_id) DO NOTHING",
			       params, sizeof(params) / sizeof(*params), &inserted, e);
	free(text);
	if (rc == 0 && inserted == 0) {
		/* Another run of this job got there first: its suggestions came with it. */
		store_tx_rollback(tx);
		return 0;
	}
	if (rc == 0) {
		struct store_param withdraw[] = { STORE_TEXT_PARAM(repository_id),
						  STORE_TEXT_PARAM(analysis_id) };
		rc = store_tx_exec(tx,
				   "DELETE FROM suggestions WHERE repository_id = ? AND "
				   "status = 'pending' AND analysis_id <> ?",
				   withdraw, 2, NULL, e);
	}
	if (rc == 0)
		rc = insert_suggestions(tx, repository_id, analysis_id, suggestions, now, e);
	if (rc != 0) {
		store_tx_rollback(tx);
		return -1;
	}
	if (store_tx_commit(tx, e) != 0)
		return -1;
	*stored = true;
	return 0;
}

int intelligence_run_analysis(struct api_context *ctx, const struct jobs_job *job, struct err *e)
{
	const char *repository_id = json_get_str(job->payload, "repository_id", NULL);
	if (!repository_id || !*repository_id)
		return err_set(e, "analysis job %s: the payload has no repository_id", job->id);
	bool done = false;
	if (existing_analysis(ctx->store, job->id, &done, e) != 0)
		return err_prefix(e, "analysis job %s", job->id);
	if (done)
		return 0;
	json_t *repository = NULL;
	if (repositories_get(ctx, repository_id, &repository, e) != 0)
		return err_prefix(e, "analysis job %s", job->id);
	if (!repository) {
		log_warn("intelligence", "repository gone before its analysis", "repository",
			 repository_id, "job", job->id);
		return 0;
	}
	int rc = 0;
	json_t *document = NULL, *suggestions = NULL;
	const char *state = json_get_str(repository, "state", "");
	if (!str_eq(state, "ready")) {
		rc = err_set(e, "repository %s is %s, not ready", repository_id, state);
		goto out;
	}
	document = analyze_tree(repository, e);
	if (!document) {
		rc = -1;
		goto out;
	}
	char sha[INTELLIGENCE_SHA_SIZE];
	bool has_commit = false;
	if (intelligence_git_head(json_get_str(repository, "path", "."), sha, &has_commit, e) !=
	    0) {
		rc = -1;
		goto out;
	}
	if (intelligence_suggestions_build(document, &suggestions, e) != 0) {
		rc = -1;
		goto out;
	}
	bool stored = false;
	rc = store_analysis(ctx, job->id, repository_id, has_commit ? sha : NULL, document,
			    suggestions, &stored, e);
	if (rc == 0 && stored) {
		char count[32];
		snprintf(count, sizeof(count), "%zu", json_array_size(suggestions));
		log_info("intelligence", "repository analysed", "repository", repository_id, "job",
			 job->id, "suggestions", count);
	}
out:
	if (rc != 0)
		err_prefix(e, "analysis of repository %s", repository_id);
	json_decref(suggestions);
	json_decref(document);
	json_decref(repository);
	return rc;
}

static int analysis_job_handler(const struct jobs_job *job, void *user, struct err *e)
{
	return intelligence_run_analysis(user, job, e);
}

int intelligence_register_workers(struct workers *workers, struct api_context *ctx, struct err *e)
{
	return workers_add_handler(workers, INTELLIGENCE_ANALYSIS_JOB, analysis_job_handler, ctx,
				   e);
}

/* --- /api/v1/repositories/{id}/analysis --- */

static struct http_response handle_request_analysis(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	const char *id = http_request_param(req, "id");
	const struct api_caller *caller = api_caller(req);
	if (!id_plausible(id))
		return no_repository(id);
	if (!ctx->jobs)
		return http_response_error(503,
					   "this server has no job queue: analyses cannot run");
	struct err e = ERR_INIT;
	struct store_tx *tx = NULL;
	if (store_tx_begin(ctx->store, &tx, &e) != 0)
		return api_store_error(req, &e, "analysis");
	struct store_param param = STORE_TEXT_PARAM(id);
	json_t *row = NULL;
	if (store_tx_query_one(tx, "SELECT state FROM repositories WHERE id = ?", &param, 1, &row,
			       &e) != 0) {
		store_tx_rollback(tx);
		return api_store_error(req, &e, "analysis");
	}
	if (!row) {
		store_tx_rollback(tx);
		return no_repository(id);
	}
	const char *state = json_get_str(row, "state", "");
	if (!str_eq(state, "ready")) {
		struct http_response res = http_response_error(
			409, "repository '%s' is %s: it can be analysed once it is ready%s", id,
			state,
			str_eq(state, "cloning") ? " (its clone is still running)"
						 : " (register it again after fixing the error)");
		json_decref(row);
		store_tx_rollback(tx);
		return res;
	}
	json_decref(row);
	json_t *payload = json_pack("{s:s, s:s?}", "repository_id", id, "requested_by",
				    caller ? caller->user_id : NULL);
	char job_id[STORE_ID_SIZE];
	int rc = jobs_enqueue_tx(ctx->jobs, tx, INTELLIGENCE_ANALYSIS_JOB, payload, 0, job_id, &e);
	json_decref(payload);
	if (rc == 0) {
		char *target = target_of("repositories", id);
		json_t *detail = json_pack("{s:s, s:s}", "repository_id", id, "job_id", job_id);
		rc = audit_append_tx(tx, api_actor(req), "analysis.request", target, detail, &e);
		json_decref(detail);
		free(target);
	}
	if (rc != 0) {
		store_tx_rollback(tx);
		return api_store_error(req, &e, "analysis");
	}
	if (store_tx_commit(tx, &e) != 0)
		return api_store_error(req, &e, "analysis");
	api_jobs_queued(ctx);
	return http_response_json(202, json_pack("{s:s, s:s, s:s}", "job_id", job_id,
						 "repository_id", id, "state", "queued"));
}

static struct http_response handle_get_analysis(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	const char *id = http_request_param(req, "id");
	if (!id_plausible(id))
		return no_repository(id);
	struct err e = ERR_INIT;
	json_t *repository = NULL;
	if (repositories_get(ctx, id, &repository, &e) != 0)
		return api_store_error(req, &e, "analysis");
	if (!repository)
		return no_repository(id);
	json_decref(repository);
	struct store_param param = STORE_TEXT_PARAM(id);
	json_t *row = NULL;
	if (store_query_one(ctx->store,
			    "SELECT id, repository_id, job_id, commit_sha, document, created_at "
			    "FROM analyses WHERE repository_id = ? ORDER BY created_at DESC, id "
			    "DESC LIMIT 1",
			    &param, 1, &row, &e) != 0)
		return api_store_error(req, &e, "analysis");
	if (!row)
		return http_response_error(404,
					   "repository '%s' has no analysis yet: POST "
					   "/api/v1/repositories/%s/analysis to run one",
					   id, id);
	json_t *document = json_loads(json_get_str(row, "document", ""), 0, NULL);
	if (!document) {
		log_error("intelligence", "stored analysis is not JSON", "analysis",
			  json_get_str(row, "id", ""));
		json_decref(row);
		return http_response_error(500, "internal error (request %s)",
					   req->request_id ? req->request_id : "unknown");
	}
	json_object_set_new(row, "document", document);
	return http_response_json(200, row);
}

/* --- suggestions --- */

/* The paths of [{path, content}]: what a listing shows of a suggestion's files. */
static json_t *file_paths(const json_t *files)
{
	json_t *paths = json_array();
	size_t i;
	json_t *file;
	json_array_foreach(files, i, file) json_array_append(paths, json_object_get(file, "path"));
	return paths;
}

/* A stored row as the API shows it: files parsed (with_files) or only their paths. */
static void suggestion_render(json_t *row, bool with_files)
{
	json_t *files = json_loads(json_get_str(row, "files", "[]"), 0, NULL);
	if (!json_is_array(files)) {
		json_decref(files);
		files = json_array();
	}
	if (with_files) {
		json_object_set_new(row, "files", files);
		return;
	}
	json_object_set_new(row, "paths", file_paths(files));
	json_decref(files);
	json_object_del(row, "files");
}

static struct http_response handle_list_suggestions(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	const char *id = http_request_param(req, "id");
	const char *type = http_request_query(req, "type");
	const char *status = http_request_query(req, "status");
	if (type && !str_eq(type, "ci") && !str_eq(type, "cd") && !str_eq(type, "all"))
		return field_error("type", "the query argument type must be ci, cd or all");
	if (status && !status_valid(status))
		return field_error("status", "the query argument status must be pending, "
					     "accepted, rejected or applied");
	if (!id_plausible(id))
		return no_repository(id);
	struct err e = ERR_INIT;
	json_t *repository = NULL;
	if (repositories_get(ctx, id, &repository, &e) != 0)
		return api_store_error(req, &e, "suggestion");
	if (!repository)
		return no_repository(id);
	json_decref(repository);

	struct buf sql = BUF_INIT;
	struct store_param params[3];
	size_t count = 0;
	buf_adds(&sql, SUGGESTION_COLUMNS " WHERE repository_id = ?");
	params[count++] = STORE_TEXT_PARAM(id);
	if (type && !str_eq(type, "all")) {
		buf_adds(&sql, " AND type = ?");
		params[count++] = STORE_TEXT_PARAM(type);
	}
	if (status) {
		buf_adds(&sql, " AND status = ?");
		params[count++] = STORE_TEXT_PARAM(status);
	}
	json_t *rows = NULL;
	char *next = NULL;
	struct http_response error;
	int rc =
		api_list_rows(req, ctx->store, buf_cstr(&sql), params, count, &rows, &next, &error);
	buf_free(&sql);
	if (rc != 0)
		return error;
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row) suggestion_render(row, false);
	struct http_response res = http_response_json(200, http_page_envelope(rows, next));
	free(next);
	return res;
}

static struct http_response no_suggestion(const char *id)
{
	if (!id_plausible(id))
		return http_response_error(404, "no suggestion with that id");
	return http_response_error(404, "no suggestion with id '%s'", id);
}

/*
 * The suggestion of the {id} route, when the caller may read it (404
 * otherwise, so its existence does not leak) and, with write, change it
 * (403 otherwise). The route itself only needs an authenticated caller:
 * the project is the suggestion's repository, known after loading it.
 */
static int suggestion_load(struct http_request *req, bool write, json_t **out,
			   struct http_response *res)
{
	struct api_context *ctx = req->user_data;
	const char *id = http_request_param(req, "id");
	*out = NULL;
	if (!id_plausible(id)) {
		*res = no_suggestion(id);
		return -1;
	}
	struct store_param param = STORE_TEXT_PARAM(id);
	struct err e = ERR_INIT;
	json_t *row = NULL;
	if (store_query_one(ctx->store, SUGGESTION_COLUMNS " WHERE id = ?", &param, 1, &row, &e) !=
	    0) {
		*res = api_store_error(req, &e, "suggestion");
		return -1;
	}
	const char *repository_id = json_get_str(row, "repository_id", NULL);
	if (!row || !rbac_caller_can(req, ctx, "project:read", repository_id)) {
		json_decref(row);
		*res = no_suggestion(id);
		return -1;
	}
	if (write && !rbac_caller_can(req, ctx, "project:write", repository_id)) {
		api_audit(ctx, api_actor(req), "access.denied", req->route,
			  json_pack("{s:s, s:s, s:s, s:s}", "method", req->method, "permission",
				    "project:write", "project", repository_id, "suggestion", id));
		*res = http_response_error(403,
					   "changing suggestion '%s' needs project:write in "
					   "repository '%s'",
					   id, repository_id);
		json_decref(row);
		return -1;
	}
	*out = row;
	return 0;
}

static struct http_response handle_get_suggestion(struct http_request *req)
{
	json_t *row = NULL;
	struct http_response res;
	if (suggestion_load(req, false, &row, &res) != 0)
		return res;
	suggestion_render(row, true);
	return http_response_json(200, row);
}

static void audit_suggestion(struct http_request *req, const char *action, const json_t *row,
			     const char *branch, const char *commit_sha)
{
	const char *id = json_get_str(row, "id", "");
	char *target = target_of("suggestions", id);
	api_audit(req->user_data, api_actor(req), action, target,
		  json_pack("{s:s, s:s, s:s, s:s?, s:s?}", "repository_id",
			    json_get_str(row, "repository_id", ""), "type",
			    json_get_str(row, "type", ""), "provider",
			    json_get_str(row, "provider", ""), "branch", branch, "commit_sha",
			    commit_sha));
	free(target);
}

/* accept and reject: pending, accepted and rejected move freely; applied is final. */
static struct http_response set_status(struct http_request *req, const char *status,
				       const char *action)
{
	struct api_context *ctx = req->user_data;
	json_t *row = NULL;
	struct http_response res;
	if (suggestion_load(req, true, &row, &res) != 0)
		return res;
	const char *id = json_get_str(row, "id", "");
	const char *current = json_get_str(row, "status", "");
	if (str_eq(current, "applied")) {
		res = http_response_error(409,
					  "suggestion '%s' was already applied on branch '%s': its "
					  "status can no longer change",
					  id, json_get_str(row, "branch", "?"));
		json_decref(row);
		return res;
	}
	if (!str_eq(current, status)) {
		int64_t now = store_now_ms();
		struct store_param params[] = { STORE_TEXT_PARAM(status), STORE_INT_PARAM(now),
						STORE_TEXT_PARAM(id), STORE_TEXT_PARAM(current) };
		int64_t changed = 0;
		struct err e = ERR_INIT;
		if (store_exec(ctx->store,
			       "UPDATE suggestions SET status = ?, updated_at = ? WHERE id = ? AND "
			       "status = ?",
			       params, 4, &changed, &e) != 0) {
			json_decref(row);
			return api_store_error(req, &e, "suggestion");
		}
		if (changed == 0) {
			json_decref(row);
			return http_response_error(409,
						   "suggestion '%s' changed meanwhile: read it "
						   "again and retry",
						   id);
		}
		audit_suggestion(req, action, row, NULL, NULL);
		json_object_set_new(row, "status", json_string(status));
		json_object_set_new(row, "updated_at", json_integer(now));
	}
	suggestion_render(row, false);
	return http_response_json(200, row);
}

static struct http_response handle_accept(struct http_request *req)
{
	return set_status(req, "accepted", "suggestion.accept");
}

static struct http_response handle_reject(struct http_request *req)
{
	return set_status(req, "rejected", "suggestion.reject");
}

/* ampel/<type>-<provider>[-<target>]-<the id's last 8 hex digits, its random part>. */
static char *branch_name(const json_t *row)
{
	const char *id = json_get_str(row, "id", "");
	size_t len = strlen(id);
	const char *target = json_get_str(row, "target", NULL);
	struct buf branch = BUF_INIT;
	buf_addf(&branch, "ampel/%s-%s", json_get_str(row, "type", ""),
		 json_get_str(row, "provider", ""));
	if (target)
		buf_addf(&branch, "-%s", target);
	buf_addf(&branch, "-%s", len >= 8 ? id + len - 8 : id);
	return buf_detach(&branch);
}

static struct http_response apply_refused(json_t *row, const char *current)
{
	const char *id = json_get_str(row, "id", "");
	struct http_response res;
	if (str_eq(current, "applied"))
		res = http_response_error(
			409,
			"suggestion '%s' was already applied: branch '%s', commit "
			"%s",
			id, json_get_str(row, "branch", "?"), json_get_str(row, "commit_sha", "?"));
	else
		res = http_response_error(409,
					  "suggestion '%s' was rejected: POST "
					  "/api/v1/suggestions/%s/accept before applying it",
					  id, id);
	json_decref(row);
	return res;
}

static struct http_response handle_apply(struct http_request *req)
{
	struct api_context *ctx = req->user_data;
	json_t *row = NULL;
	struct http_response res;
	if (suggestion_load(req, true, &row, &res) != 0)
		return res;
	const char *id = json_get_str(row, "id", "");
	const char *current = json_get_str(row, "status", "");
	if (str_eq(current, "applied") || str_eq(current, "rejected"))
		return apply_refused(row, current);
	const char *repository_id = json_get_str(row, "repository_id", "");
	struct err e = ERR_INIT;
	json_t *repository = NULL;
	if (repositories_get(ctx, repository_id, &repository, &e) != 0) {
		json_decref(row);
		return api_store_error(req, &e, "suggestion");
	}
	if (!repository) {
		json_decref(row);
		return no_suggestion(id);
	}
	if (!str_eq(json_get_str(repository, "state", ""), "ready")) {
		res = http_response_error(409,
					  "repository '%s' is %s: suggestions can be applied "
					  "once it is ready",
					  repository_id, json_get_str(repository, "state", "?"));
		goto out_repository;
	}

	suggestion_render(row, true);
	char *branch = branch_name(row);
	struct buf message = BUF_INIT;
	const char *actor = api_actor(req);
	buf_addf(&message,
		 "%s\n\nGenerated by Ampel from its analysis of this repository "
		 "(suggestion %s, analysis %s),\napplied by %s.\n",
		 json_get_str(row, "title", "Ampel suggestion"), id,
		 json_get_str(row, "analysis_id", "?"), actor ? actor : "an unknown user");
	struct intelligence_git_commit request = {
		.repository = json_get_str(repository, "path", ""),
		.base = json_get_str(repository, "default_branch", NULL),
		.branch = branch,
		.files = json_object_get(row, "files"),
		.message = buf_cstr(&message),
	};
	char sha[INTELLIGENCE_SHA_SIZE];
	enum intelligence_git_failure failure;
	if (intelligence_git_commit_files(&request, sha, &failure, &e) != 0) {
		if (failure == INTELLIGENCE_GIT_FAILED) {
			log_error("intelligence", "cannot apply suggestion", "suggestion", id,
				  "error", e.msg);
			res = http_response_error(500,
						  "cannot commit suggestion '%s' to repository "
						  "'%s': git failed (request %s)",
						  id, repository_id,
						  req->request_id ? req->request_id : "unknown");
		} else {
			res = http_response_error(409, "cannot apply suggestion '%s': %s", id,
						  e.msg);
		}
		goto out_branch;
	}
	int64_t now = store_now_ms();
	struct store_param params[] = { STORE_TEXT_PARAM(branch), STORE_TEXT_PARAM(sha),
					STORE_INT_PARAM(now), STORE_TEXT_PARAM(id) };
	int64_t changed = 0;
	if (store_exec(ctx->store,
		       "UPDATE suggestions SET status = 'applied', branch = ?, commit_sha = ?, "
		       "updated_at = ? WHERE id = ? AND status IN ('pending', 'accepted')",
		       params, 4, &changed, &e) != 0) {
		res = api_store_error(req, &e, "suggestion");
		goto out_branch;
	}
	if (changed == 0) {
		res = http_response_error(409,
					  "suggestion '%s' was applied, rejected or withdrawn "
					  "meanwhile: read it again",
					  id);
		goto out_branch;
	}
	audit_suggestion(req, "suggestion.apply", row, branch, sha);
	res = http_response_json(200,
				 json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", id, "status",
					   "applied", "branch", branch, "commit_sha", sha, "files",
					   file_paths(json_object_get(row, "files"))));
out_branch:
	buf_free(&message);
	free(branch);
out_repository:
	json_decref(repository);
	json_decref(row);
	return res;
}

/* The body schemas the routes below name (OpenAPI 3.0 schema objects; docs/http.md). */
static const struct http_schema_spec intelligence_schemas[] = {
	{ "AnalysisJob", "{\"type\":\"object\","
			 "\"required\":[\"job_id\",\"repository_id\",\"state\"],\"properties\":{"
			 "\"job_id\":{\"type\":\"string\"},"
			 "\"repository_id\":{\"type\":\"string\"},"
			 "\"state\":{\"type\":\"string\",\"enum\":[\"queued\"]}}}" },
	{ "Analysis", "{\"type\":\"object\","
		      "\"required\":[\"id\",\"repository_id\",\"job_id\",\"commit_sha\","
		      "\"document\",\"created_at\"],\"properties\":{"
		      "\"id\":{\"type\":\"string\"},"
		      "\"repository_id\":{\"type\":\"string\"},"
		      "\"job_id\":{\"type\":\"string\",\"nullable\":true},"
		      "\"commit_sha\":{\"type\":\"string\",\"nullable\":true},"
		      "\"document\":{\"type\":\"object\"},"
		      "\"created_at\":{\"type\":\"integer\",\"format\":\"int64\"}}}" },
	{ "Suggestion", "{\"type\":\"object\","
			"\"required\":[\"id\",\"repository_id\",\"analysis_id\",\"type\","
			"\"provider\",\"target\",\"title\",\"status\",\"branch\",\"commit_sha\","
			"\"created_at\",\"updated_at\",\"paths\"],\"properties\":{"
			"\"id\":{\"type\":\"string\"},"
			"\"repository_id\":{\"type\":\"string\"},"
			"\"analysis_id\":{\"type\":\"string\"},"
			"\"type\":{\"type\":\"string\",\"enum\":[\"ci\",\"cd\"]},"
			"\"provider\":{\"type\":\"string\"},"
			"\"target\":{\"type\":\"string\",\"nullable\":true},"
			"\"title\":{\"type\":\"string\"},"
			"\"status\":{\"type\":\"string\",\"enum\":[\"pending\",\"accepted\","
			"\"rejected\",\"applied\"]},"
			"\"branch\":{\"type\":\"string\",\"nullable\":true},"
			"\"commit_sha\":{\"type\":\"string\",\"nullable\":true},"
			"\"created_at\":{\"type\":\"integer\",\"format\":\"int64\"},"
			"\"updated_at\":{\"type\":\"integer\",\"format\":\"int64\"},"
			"\"paths\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}" },
	{ "SuggestionWithFiles",
	  "{\"type\":\"object\","
	  "\"required\":[\"id\",\"repository_id\",\"analysis_id\",\"type\","
	  "\"provider\",\"target\",\"title\",\"status\",\"branch\",\"commit_sha\","
	  "\"created_at\",\"updated_at\",\"files\"],\"properties\":{"
	  "\"id\":{\"type\":\"string\"},"
	  "\"repository_id\":{\"type\":\"string\"},"
	  "\"analysis_id\":{\"type\":\"string\"},"
	  "\"type\":{\"type\":\"string\",\"enum\":[\"ci\",\"cd\"]},"
	  "\"provider\":{\"type\":\"string\"},"
	  "\"target\":{\"type\":\"string\",\"nullable\":true},"
	  "\"title\":{\"type\":\"string\"},"
	  "\"status\":{\"type\":\"string\",\"enum\":[\"pending\",\"accepted\",\"rejected\","
	  "\"applied\"]},"
	  "\"branch\":{\"type\":\"string\",\"nullable\":true},"
	  "\"commit_sha\":{\"type\":\"string\",\"nullable\":true},"
	  "\"created_at\":{\"type\":\"integer\",\"format\":\"int64\"},"
	  "\"updated_at\":{\"type\":\"integer\",\"format\":\"int64\"},"
	  "\"files\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":[\"path\","
	  "\"content\"],\"properties\":{\"path\":{\"type\":\"string\"},\"content\":{\"type\":"
	  "\"string\"}}}}}}" },
	{ "SuggestionApplied",
	  "{\"type\":\"object\","
	  "\"required\":[\"id\",\"status\",\"branch\",\"commit_sha\",\"files\"],\"properties\":{"
	  "\"id\":{\"type\":\"string\"},"
	  "\"status\":{\"type\":\"string\",\"enum\":[\"applied\"]},"
	  "\"branch\":{\"type\":\"string\"},"
	  "\"commit_sha\":{\"type\":\"string\"},"
	  "\"files\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}" },
};

int api_intelligence_register(struct http_router *router, struct api_context *ctx, struct err *e)
{
	const struct http_route_spec routes[] = {
		{ "POST /api/v1/repositories/{id}/analysis",
		  handle_request_analysis,
		  { .summary = "Queue an analysis of the repository (202 with the job's id)",
		    .tags = "intelligence",
		    .response_schema = "AnalysisJob",
		    .permission = "project:write",
		    .project_param = "id",
		    .success_status = 202 } },
		{ "GET /api/v1/repositories/{id}/analysis",
		  handle_get_analysis,
		  { .summary = "The repository's latest analysis document",
		    .tags = "intelligence",
		    .response_schema = "Analysis",
		    .permission = "project:read",
		    .project_param = "id" } },
		{ "GET /api/v1/repositories/{id}/suggestions",
		  handle_list_suggestions,
		  { .summary = "CI/CD suggestions for the repository (file paths, not contents)",
		    .tags = "intelligence",
		    .response_schema = "Suggestion",
		    .permission = "project:read",
		    .project_param = "id",
		    .query = "type,status",
		    .paginated = true } },
		{ "GET /api/v1/suggestions/{id}",
		  handle_get_suggestion,
		  { .summary = "A suggestion with its files (needs project:read in its repository)",
		    .tags = "intelligence",
		    .response_schema = "SuggestionWithFiles",
		    .permission = RBAC_SELF } },
		{ "POST /api/v1/suggestions/{id}/accept",
		  handle_accept,
		  { .summary = "Mark a suggestion accepted (needs project:write in its repository)",
		    .tags = "intelligence",
		    .response_schema = "Suggestion",
		    .permission = RBAC_SELF } },
		{ "POST /api/v1/suggestions/{id}/reject",
		  handle_reject,
		  { .summary = "Mark a suggestion rejected (needs project:write in its repository)",
		    .tags = "intelligence",
		    .response_schema = "Suggestion",
		    .permission = RBAC_SELF } },
		{ "POST /api/v1/suggestions/{id}/apply",
		  handle_apply,
		  { .summary = "Commit a suggestion's files on a new branch of its repository "
			       "(needs project:write there)",
		    .tags = "intelligence",
		    .response_schema = "SuggestionApplied",
		    .permission = RBAC_SELF } },
	};
	if (http_router_add_schemas(router, intelligence_schemas,
				    sizeof(intelligence_schemas) / sizeof(*intelligence_schemas),
				    e) != 0)
		return -1;
	return http_router_add_all(router, routes, sizeof(routes) / sizeof(*routes), ctx, e);
}
