/*
 * repositories_clone: the clone job of repositories registered by URL, and
 * their directories under <data_dir>/repositories (see repositories.h,
 * docs/repositories.md).
 *
 * A clone is made in a temporary directory beside its final one and then
 * renamed, so that a crash leaves either nothing or a finished clone. The
 * URL may carry credentials: git is told to mask them in its errors, and
 * the error recorded on the repository shows the URL redacted.
 */
#include "api/repositories_internal.h"

#include "api/api.h"
#include "api/git.h"
#include "api/repositories.h"
#include "store/jobs.h"
#include "store/store.h"
#include "store/workers.h"
#include "util/fs.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"
#include "util/str.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A clone that takes longer is stuck (a prompt, a dead server): fail and retry it. */
#define CLONE_TIMEOUT_MS (60L * 60 * 1000)

/* --- the clone directory --- */

/* Under the data directory made absolute when it exists. */
char *repositories_clone_path(const struct api_context *ctx, const char *id)
{
	const char *data_dir = ctx->data_dir && *ctx->data_dir ? ctx->data_dir : ".";
	char resolved[PATH_MAX];
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/repositories/%s", realpath(data_dir, resolved) ? resolved : data_dir,
		 id);
	return buf_detach(&path);
}

/* Removes what a clone left behind; a failure is logged, the job goes on. */
static void remove_tree(const char *path)
{
	struct err e = ERR_INIT;
	if (fs_remove_tree(path, &e) < 0) {
		log_warn("repositories", "cannot remove", "path", path, "error", e.msg);
		err_clear(&e);
	}
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
	char *expected = repositories_clone_path(ctx, json_get_str(row, "id", ""));
	bool ours = str_eq(json_get_str(row, "path", NULL), expected);
	free(expected);
	return ours;
}

void repositories_clone_remove(const struct api_context *ctx, const json_t *row)
{
	if (!is_our_clone(ctx, row))
		return;
	const char *path = json_get_str(row, "path", "");
	remove_tree(path);
	char *parent = xstrdup(path);
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		remove_leftovers(parent, json_get_str(row, "id", ""));
	}
	free(parent);
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
	int rc = fs_make_dirs(parent, 0700, e);
	if (rc == 0)
		remove_leftovers(parent, id);
	if (rc == 0 && !is_clone_of(final)) {
		remove_tree(final); /* not a finished clone, whatever it is */
		struct buf temp = BUF_INIT;
		buf_addf(&temp, "%s/.%s.clone-%d", parent, id, job->attempts);
		const char *args[] = { "clone", "--quiet", "--", url, temp.data, NULL };
		struct git_call clone = {
			.args = args,
			.url = url,
			.timeout_ms = CLONE_TIMEOUT_MS,
			.cancel = workers_stop_flag(ctx->workers),
		};
		rc = git_run(&clone, NULL, NULL, e);
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
			char *shown = git_url_redact(json_get_str(row, "source", ""));
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

int repositories_register_workers(struct workers *workers, struct api_context *ctx, struct err *e)
{
	return workers_add_handler(workers, REPOSITORIES_CLONE_JOB, clone_job, ctx, e);
}
