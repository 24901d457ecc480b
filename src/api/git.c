/*
 * git: running the git CLI for the server, and URL credentials kept out of
 * its messages. See git.h.
 */
#include "api/git.h"

#include "util/buf.h"
#include "util/err.h"
#include "util/spawn.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define GIT_IDENTITY_NAME  "Ampel"
#define GIT_IDENTITY_EMAIL "ampel@localhost"
/* rev-parse and symbolic-ref on a local working tree: longer is a stuck git. */
#define GIT_QUERY_TIMEOUT_MS (60L * 1000)

/*
 * What the server's own environment could say about git that must not
 * redirect a command to another repository, index or object store, or
 * change its configuration.
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

char *git_url_redact(const char *url)
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

void git_url_mask(struct buf *text, const char *url)
{
	size_t start, len;
	url_secret(url, &start, &len);
	if (len == 0)
		return;
	char *redacted = git_url_redact(url);
	replace_all(text, url, strlen(url), redacted);
	free(redacted);
	char *secret = xstrndup(url + start, len);
	replace_all(text, secret, len, "***");
	free(secret);
}

/* --- running git --- */

int git_run(const struct git_call *call, struct buf *out, int *exit_code, struct err *e)
{
	size_t arg_count = 0;
	while (call->args[arg_count])
		arg_count++;
	const char **argv = xmalloc((arg_count + 4) * sizeof(*argv));
	size_t n = 0;
	argv[n++] = "git";
	if (call->directory) {
		argv[n++] = "-C";
		argv[n++] = call->directory;
	}
	for (size_t i = 0; i < arg_count; i++)
		argv[n++] = call->args[i];
	argv[n] = NULL;
	const char *command = arg_count ? call->args[0] : "";

	struct buf index_env = BUF_INIT;
	const char *env[10];
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
	/* Git never asks anyone anything, and never runs a transport that executes commands. */
	env[env_count++] = "GIT_TERMINAL_PROMPT=0";
	env[env_count++] = "GIT_ALLOW_PROTOCOL=file:git:http:https:ssh";
	env[env_count++] = "LC_ALL=C";
	env[env_count] = NULL;

	long timeout_ms = call->timeout_ms > 0 ? call->timeout_ms : GIT_TIMEOUT_DEFAULT_MS;
	struct buf errors = BUF_INIT;
	struct spawn_options options = {
		.argv = argv,
		.env_unset = git_env_unset,
		.env = env,
		.stdin_data = call->stdin_data,
		.stdin_len = call->stdin_len,
		.stdout_buf = out,
		.stderr_buf = &errors,
		.timeout_ms = timeout_ms,
		.cancel = call->cancel,
		.kill_grace_ms = 2000,
	};
	struct spawn_result result = { 0 };
	int rc = spawn_run(&options, &result, e);
	bool failed = result.timed_out || result.cancelled || result.signal ||
		      (!exit_code && result.exit_code != 0);
	if (rc == 0 && failed) {
		buf_rtrim(&errors);
		if (call->url)
			git_url_mask(&errors, call->url);
		if (result.timed_out)
			rc = err_set(e, "git %s: timed out after %ld s", command,
				     timeout_ms / 1000);
		else if (result.cancelled)
			rc = err_set(e, "git %s: cancelled because the server is stopping",
				     command);
		else if (result.signal)
			rc = err_set(e, "git %s: killed by signal %d", command, result.signal);
		else
			rc = err_set(e, "git %s: exited with status %d%s%s", command,
				     result.exit_code, errors.len ? ": " : "", buf_cstr(&errors));
	} else if (rc == 0 && exit_code) {
		*exit_code = result.exit_code;
	}
	buf_free(&errors);
	buf_free(&index_env);
	free(argv);
	return rc;
}

/* --- queries --- */

/* Runs a query in dir; its stdout without the trailing newline in out. */
static int git_query(const char *dir, const char *const *args, struct buf *out, struct err *e)
{
	struct git_call call = { .directory = dir,
				 .args = args,
				 .timeout_ms = GIT_QUERY_TIMEOUT_MS };
	int rc = git_run(&call, out, NULL, e);
	buf_rtrim(out);
	return rc;
}

char *git_head_branch(const char *dir)
{
	const char *args[] = { "symbolic-ref", "--quiet", "--short", "HEAD", NULL };
	struct buf out = BUF_INIT;
	struct err e = ERR_INIT;
	if (git_query(dir, args, &out, &e) != 0 || out.len == 0) {
		buf_free(&out);
		return NULL;
	}
	return buf_detach(&out);
}

int git_toplevel(const char *dir, char **top, struct err *e)
{
	const char *args[] = { "rev-parse", "--show-toplevel", NULL };
	struct buf out = BUF_INIT;
	*top = NULL;
	if (git_query(dir, args, &out, e) != 0 || out.len == 0) {
		if (!err_is_set(e))
			err_set(e, "git rev-parse: no working tree");
		buf_free(&out);
		return -1;
	}
	*top = buf_detach(&out);
	return 0;
}
