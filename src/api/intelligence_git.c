/*
 * intelligence_git: commits generated files on a new branch with git
 * plumbing, never touching a checkout. See intelligence_internal.h.
 */
#include "api/intelligence_internal.h"

#include "api/git.h"
#include "util/fs.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* The first line of out (an object name), checked to be hex. */
static int git_object_name(struct buf *out, char sha[INTELLIGENCE_SHA_SIZE], const char *what,
			   struct err *e)
{
	buf_rtrim(out);
	const char *text = buf_cstr(out);
	size_t len = strlen(text);
	if (len < 40 || len >= INTELLIGENCE_SHA_SIZE || strspn(text, "0123456789abcdef") != len)
		return err_set(e, "git gave '%.80s' where %s was expected", text, what);
	memcpy(sha, text, len + 1);
	return 0;
}

/* Resolves rev to a commit; *found false when it names none. */
static int git_resolve_commit(const char *repository, const char *rev,
			      char sha[INTELLIGENCE_SHA_SIZE], bool *found, struct err *e)
{
	struct buf spec = BUF_INIT, out = BUF_INIT;
	buf_addf(&spec, "%s^{commit}", rev);
	const char *args[] = { "rev-parse", "--verify", "--quiet", buf_cstr(&spec), NULL };
	struct git_call call = { .directory = repository, .args = args };
	int code = 0;
	int rc = git_run(&call, &out, &code, e);
	*found = false;
	if (rc == 0 && code == 0) {
		rc = git_object_name(&out, sha, "a commit", e);
		*found = rc == 0;
	}
	buf_free(&spec);
	buf_free(&out);
	return rc;
}

int intelligence_git_head(const char *path, char sha[INTELLIGENCE_SHA_SIZE], bool *found,
			  struct err *e)
{
	return git_resolve_commit(path, "HEAD", sha, found, e);
}

bool intelligence_git_path_safe(const char *path)
{
	if (!path || !*path || strlen(path) > 1024 || path[0] == '/')
		return false;
	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '\\')
			return false;
	const char *segment = path;
	for (;;) {
		const char *slash = strchr(segment, '/');
		size_t len = slash ? (size_t)(slash - segment) : strlen(segment);
		if (len == 0 || (len == 1 && segment[0] == '.') ||
		    (len == 2 && strncmp(segment, "..", 2) == 0) ||
		    (len == 4 && strncasecmp(segment, ".git", 4) == 0))
			return false;
		if (!slash)
			return true;
		segment = slash + 1;
	}
}

/* Adds every file to the private index: blobs first, then one update-index. */
static int stage_files(const struct git_call *call, const json_t *files,
		       enum intelligence_git_failure *failure, struct err *e)
{
	struct buf index_info = BUF_INIT, out = BUF_INIT;
	int rc = 0;
	size_t i;
	const json_t *file;
	json_array_foreach(files, i, file)
	{
		const char *path = json_string_value(json_object_get(file, "path"));
		const json_t *content = json_object_get(file, "content");
		if (!intelligence_git_path_safe(path) || !json_is_string(content)) {
			*failure = INTELLIGENCE_GIT_BAD_PATH;
			rc = err_set(e,
				     "file %zu ('%.200s') is not a relative path inside the "
				     "repository with text content",
				     i, path ? path : "(none)");
			break;
		}
		struct git_call blob = *call;
		blob.stdin_data = json_string_value(content);
		blob.stdin_len = json_string_length(content);
		const char *args[] = { "hash-object", "-w", "--stdin", NULL };
		blob.args = args;
		char sha[INTELLIGENCE_SHA_SIZE];
		buf_reset(&out);
		rc = git_run(&blob, &out, NULL, e);
		if (rc == 0)
			rc = git_object_name(&out, sha, "a blob", e);
		if (rc != 0)
			break;
		buf_addf(&index_info, "100644 %s\t%s\n", sha, path);
	}
	if (rc == 0 && json_array_size(files) == 0) {
		*failure = INTELLIGENCE_GIT_BAD_PATH;
		rc = err_set(e, "there are no files to commit");
	}
	if (rc == 0) {
		struct git_call update = *call;
		update.stdin_data = buf_cstr(&index_info);
		update.stdin_len = index_info.len;
		const char *args[] = { "update-index", "--add", "--index-info", NULL };
		update.args = args;
		buf_reset(&out);
		rc = git_run(&update, &out, NULL, e);
	}
	buf_free(&index_info);
	buf_free(&out);
	return rc;
}

/* The branch's tree, when the branch exists: an earlier attempt may have made it. */
static int existing_branch(const char *repository, const char *ref,
			   char commit[INTELLIGENCE_SHA_SIZE], char tree[INTELLIGENCE_SHA_SIZE],
			   bool *exists, struct err *e)
{
	if (git_resolve_commit(repository, ref, commit, exists, e) != 0)
		return -1;
	if (!*exists)
		return 0;
	struct buf spec = BUF_INIT, out = BUF_INIT;
	buf_addf(&spec, "%s^{tree}", commit);
	const char *args[] = { "rev-parse", "--verify", buf_cstr(&spec), NULL };
	struct git_call call = { .directory = repository, .args = args };
	int rc = git_run(&call, &out, NULL, e);
	if (rc == 0)
		rc = git_object_name(&out, tree, "a tree", e);
	buf_free(&spec);
	buf_free(&out);
	return rc;
}

static int commit_files(const struct intelligence_git_commit *request,
			char sha[INTELLIGENCE_SHA_SIZE], enum intelligence_git_failure *failure,
			struct err *e);

/*
 * A checkout owned by another user than the server's is refused by git
 * (safe.directory) after it was registered: the owner or an admin can
 * fix that, so it is a conflict with git's own advice, not a server error.
 */
int intelligence_git_commit_files(const struct intelligence_git_commit *request,
				  char sha[INTELLIGENCE_SHA_SIZE],
				  enum intelligence_git_failure *failure, struct err *e)
{
	int rc = commit_files(request, sha, failure, e);
	if (rc != 0 && *failure == INTELLIGENCE_GIT_FAILED && strstr(e->msg, "dubious ownership"))
		*failure = INTELLIGENCE_GIT_UNTRUSTED;
	return rc;
}

static int commit_files(const struct intelligence_git_commit *request,
			char sha[INTELLIGENCE_SHA_SIZE], enum intelligence_git_failure *failure,
			struct err *e)
{
	*failure = INTELLIGENCE_GIT_FAILED;
	const char *repository = request->repository;

	/* The branch name goes into argv after "refs/heads/", never as an option. */
	struct buf ref = BUF_INIT;
	buf_addf(&ref, "refs/heads/%s", request->branch);
	{
		const char *args[] = { "check-ref-format", buf_cstr(&ref), NULL };
		struct git_call call = { .directory = repository, .args = args };
		struct buf out = BUF_INIT;
		int code = 0;
		int rc = git_run(&call, &out, &code, e);
		buf_free(&out);
		if (rc == 0 && code != 0)
			rc = err_set(e, "'%s' is not a valid branch name", request->branch);
		if (rc != 0) {
			buf_free(&ref);
			return -1;
		}
	}

	char parent[INTELLIGENCE_SHA_SIZE] = "";
	bool has_parent = false;
	int rc = 0;
	if (request->base && *request->base) {
		struct buf base = BUF_INIT;
		buf_addf(&base, "refs/heads/%s", request->base);
		rc = git_resolve_commit(repository, buf_cstr(&base), parent, &has_parent, e);
		buf_free(&base);
	}
	if (rc == 0 && !has_parent)
		rc = git_resolve_commit(repository, "HEAD", parent, &has_parent, e);
	if (rc != 0) {
		buf_free(&ref);
		return -1;
	}

	char dir[] = "/tmp/ampel-index-XXXXXX";
	if (!mkdtemp(dir)) {
		buf_free(&ref);
		return err_errno(e, "cannot make a temporary directory for the index");
	}
	struct buf index_file = BUF_INIT, out = BUF_INIT;
	buf_addf(&index_file, "%s/index", dir);
	const char *read_parent[] = { "read-tree", parent, NULL };
	const char *read_empty[] = { "read-tree", "--empty", NULL };
	struct git_call call = { .directory = repository,
				 .args = has_parent ? read_parent : read_empty,
				 .index_file = buf_cstr(&index_file) };
	rc = git_run(&call, &out, NULL, e);
	if (rc == 0)
		rc = stage_files(&call, request->files, failure, e);
	char tree[INTELLIGENCE_SHA_SIZE] = "";
	if (rc == 0) {
		const char *args[] = { "write-tree", NULL };
		struct git_call write_tree = call;
		write_tree.args = args;
		buf_reset(&out);
		rc = git_run(&write_tree, &out, NULL, e);
		if (rc == 0)
			rc = git_object_name(&out, tree, "a tree", e);
	}

	char existing_commit[INTELLIGENCE_SHA_SIZE], existing_tree[INTELLIGENCE_SHA_SIZE];
	bool exists = false;
	if (rc == 0)
		rc = existing_branch(repository, buf_cstr(&ref), existing_commit, existing_tree,
				     &exists, e);
	if (rc == 0 && exists) {
		if (strcmp(existing_tree, tree) == 0) {
			memcpy(sha, existing_commit, sizeof(existing_commit));
		} else {
			*failure = INTELLIGENCE_GIT_BRANCH_EXISTS;
			rc = err_set(e, "branch '%s' already exists with other content",
				     request->branch);
		}
		goto out;
	}
	if (rc == 0) {
		struct git_call commit = call;
		commit.identity = true;
		commit.stdin_data = request->message;
		commit.stdin_len = strlen(request->message);
		const char *with_parent[] = {
			"commit-tree", "--no-gpg-sign", "-p", parent, "-F", "-", tree, NULL
		};
		const char *root[] = { "commit-tree", "--no-gpg-sign", "-F", "-", tree, NULL };
		commit.args = has_parent ? with_parent : root;
		buf_reset(&out);
		rc = git_run(&commit, &out, NULL, e);
		if (rc == 0)
			rc = git_object_name(&out, sha, "a commit", e);
	}
	if (rc == 0) {
		/* The empty old value: fail rather than move a branch someone made meanwhile. */
		const char *args[] = {
			"update-ref", "-m", "ampel: apply suggestion", buf_cstr(&ref), sha, "", NULL
		};
		struct git_call update = { .directory = repository,
					   .args = args,
					   .identity = true };
		buf_reset(&out);
		int code = 0;
		rc = git_run(&update, &out, &code, e);
		if (rc == 0 && code != 0) {
			*failure = INTELLIGENCE_GIT_BRANCH_EXISTS;
			rc = err_set(e, "branch '%s' was created by someone else meanwhile",
				     request->branch);
		}
	}
out:
	(void)fs_remove_tree(dir, NULL); /* a temporary directory: best effort */
	buf_free(&index_file);
	buf_free(&out);
	buf_free(&ref);
	return rc;
}
