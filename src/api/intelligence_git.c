/*
 * intelligence_git: commits generated files on a new branch with git
 * plumbing, never touching a checkout. See intelligence_internal.h.
 */
#include "api/intelligence_internal.h"

#include "util/buf.h"
#include "util/err.h"
#include "util/spawn.h"
#include "util/str.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define GIT_TIMEOUT_MS	   120000
#define GIT_IDENTITY_NAME  "Ampel"
#define GIT_IDENTITY_EMAIL "ampel@localhost"

/*
 * What the server's own environment could say about git that must not
 * redirect these commands to another repository, index or object store.
 */
static const char *const git_env_unset[] = {
	"GIT_DIR",
	"GIT_WORK_TREE",
	"GIT_INDEX_FILE",
	"GIT_OBJECT_DIRECTORY",
	"GIT_ALTERNATE_OBJECT_DIRECTORIES",
	"GIT_NAMESPACE",
	"GIT_COMMON_DIR",
	"GIT_CONFIG_PARAMETERS",
	"GIT_CONFIG_COUNT",
	NULL,
};

struct git_call {
	const char *repository;
	const char *index_file; /* GIT_INDEX_FILE, or NULL */
	const char *stdin_data;
	size_t stdin_len;
	bool identity; /* author and committer are Ampel */
};

/*
 * Runs `git -C repository args…`; *exit_code gets the status, or (when
 * exit_code is NULL) a nonzero status is an error with git's stderr.
 */
static int git_run(const struct git_call *call, const char *const *args, struct buf *out,
		   int *exit_code, struct err *e)
{
	const char *argv[24];
	size_t n = 0;
	argv[n++] = "git";
	argv[n++] = "-C";
	argv[n++] = call->repository;
	for (size_t i = 0; args[i] && n < sizeof(argv) / sizeof(*argv) - 1; i++)
		argv[n++] = args[i];
	argv[n] = NULL;

	struct buf index_env = BUF_INIT;
	const char *env[8];
	size_t env_count = 0;
	if (call->index_file) {
		buf_addf(&index_env, "GIT_INDEX_FILE=%s", call->index_file);
		env[env_count++] = buf_cstr(&index_env);
	}
	if (call->identity) {
		env[env_count++] = "GIT_AUTHOR_NAME=" GIT_IDENTITY_NAME;
		env[env_count++] = "GIT_AUTHOR_EMAIL=" GIT_IDENTITY_EMAIL;
		env[env_count++] = "GIT_COMMITTER_NAME=" GIT_IDENTITY_NAME;
		env[env_count++] = "GIT_COMMITTER_EMAIL=" GIT_IDENTITY_EMAIL;
	}
	env[env_count++] = "GIT_TERMINAL_PROMPT=0";
	env[env_count] = NULL;

	struct buf errors = BUF_INIT;
	struct spawn_options options = {
		.argv = argv,
		.env_unset = git_env_unset,
		.env = env,
		.stdin_data = call->stdin_data,
		.stdin_len = call->stdin_len,
		.stdout_buf = out,
		.stderr_buf = &errors,
		.timeout_ms = GIT_TIMEOUT_MS,
	};
	struct spawn_result result;
	int rc = spawn_run(&options, &result, e);
	if (rc == 0 && result.timed_out)
		rc = err_set(e, "git %s: did not finish within %d s", args[0],
			     GIT_TIMEOUT_MS / 1000);
	else if (rc == 0 && exit_code)
		*exit_code = result.exit_code;
	else if (rc == 0 && result.exit_code != 0) {
		buf_rtrim(&errors);
		rc = err_set(e, "git %s: exited with status %d: %s", args[0], result.exit_code,
			     errors.len ? buf_cstr(&errors) : "(no message)");
	}
	buf_free(&errors);
	buf_free(&index_env);
	return rc;
}

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
	struct git_call call = { .repository = repository };
	int code = 0;
	int rc = git_run(&call, args, &out, &code, e);
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

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
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
		char sha[INTELLIGENCE_SHA_SIZE];
		buf_reset(&out);
		rc = git_run(&blob, args, &out, NULL, e);
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
		buf_reset(&out);
		rc = git_run(&update, args, &out, NULL, e);
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
	struct git_call call = { .repository = repository };
	int rc = git_run(&call, args, &out, NULL, e);
	if (rc == 0)
		rc = git_object_name(&out, tree, "a tree", e);
	buf_free(&spec);
	buf_free(&out);
	return rc;
}

int intelligence_git_commit_files(const struct intelligence_git_commit *request,
				  char sha[INTELLIGENCE_SHA_SIZE],
				  enum intelligence_git_failure *failure, struct err *e)
{
	*failure = INTELLIGENCE_GIT_FAILED;
	const char *repository = request->repository;

	/* The branch name goes into argv after "refs/heads/", never as an option. */
	struct buf ref = BUF_INIT;
	buf_addf(&ref, "refs/heads/%s", request->branch);
	{
		const char *args[] = { "check-ref-format", buf_cstr(&ref), NULL };
		struct git_call call = { .repository = repository };
		struct buf out = BUF_INIT;
		int code = 0;
		int rc = git_run(&call, args, &out, &code, e);
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
	struct git_call call = { .repository = repository, .index_file = buf_cstr(&index_file) };
	if (has_parent) {
		const char *args[] = { "read-tree", parent, NULL };
		rc = git_run(&call, args, &out, NULL, e);
	} else {
		const char *args[] = { "read-tree", "--empty", NULL };
		rc = git_run(&call, args, &out, NULL, e);
	}
	if (rc == 0)
		rc = stage_files(&call, request->files, failure, e);
	char tree[INTELLIGENCE_SHA_SIZE] = "";
	if (rc == 0) {
		const char *args[] = { "write-tree", NULL };
		buf_reset(&out);
		rc = git_run(&call, args, &out, NULL, e);
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
		buf_reset(&out);
		rc = git_run(&commit, has_parent ? with_parent : root, &out, NULL, e);
		if (rc == 0)
			rc = git_object_name(&out, sha, "a commit", e);
	}
	if (rc == 0) {
		/* The empty old value: fail rather than move a branch someone made meanwhile. */
		const char *args[] = {
			"update-ref", "-m", "ampel: apply suggestion", buf_cstr(&ref), sha, "", NULL
		};
		struct git_call update = { .repository = repository, .identity = true };
		buf_reset(&out);
		int code = 0;
		rc = git_run(&update, args, &out, &code, e);
		if (rc == 0 && code != 0) {
			*failure = INTELLIGENCE_GIT_BRANCH_EXISTS;
			rc = err_set(e, "branch '%s' was created by someone else meanwhile",
				     request->branch);
		}
	}
out:
	nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	buf_free(&index_file);
	buf_free(&out);
	buf_free(&ref);
	return rc;
}
