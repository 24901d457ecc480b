/*
 * git: running the git CLI for the server.
 *
 * Every git command the server runs (clones, plumbing that commits
 * generated files, queries) goes through git_run, so all of them get one
 * environment: git never prompts, never runs a transport that executes
 * commands, speaks the C locale, and ignores the server's own GIT_DIR,
 * GIT_INDEX_FILE & co. A URL's credentials (https://user:token@host/…)
 * never reach an error message: they are masked here.
 */
#ifndef AMPEL_API_GIT_H
#define AMPEL_API_GIT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct buf;
struct err;

/* A run's timeout when the call gives none. */
#define GIT_TIMEOUT_DEFAULT_MS (2L * 60 * 1000)

struct git_call {
	const char *directory;	 /* `git -C directory`; NULL: the server's working directory */
	const char *const *args; /* after "git": the subcommand first, NULL-terminated */
	const char *index_file;	 /* GIT_INDEX_FILE, or NULL */
	const char *stdin_data;	 /* NULL: stdin is /dev/null */
	size_t stdin_len;
	bool identity;		  /* author and committer are Ampel */
	const char *url;	  /* its credentials are masked in error messages; or NULL */
	long timeout_ms;	  /* 0: GIT_TIMEOUT_DEFAULT_MS */
	const atomic_int *cancel; /* nonzero stops the run; NULL: never */
};

/*
 * Runs git as call says and appends its stdout to out (may be NULL) as git
 * wrote it. With exit_code set, git's exit status is returned there; with
 * exit_code NULL a nonzero status is an error ending with git's stderr.
 * Either way, not starting, a timeout, a cancel or a signal is an error
 * ("git clone: timed out after 3600 s").
 */
int git_run(const struct git_call *call, struct buf *out, int *exit_code, struct err *e);

/* The branch HEAD of dir names (a new string), or NULL (detached HEAD, or no git). */
char *git_head_branch(const char *dir);

/* The top level of the working tree dir is in, in *top (a new string). */
int git_toplevel(const char *dir, char **top, struct err *e);

/*
 * url with the secret of its userinfo replaced by "***" (a new string): the
 * password of user:password@, or the whole userinfo of an http(s) URL (a
 * token given as the user name). git@host:path names a user, not a secret.
 */
char *git_url_redact(const char *url);

/* Masks url's secret wherever it appears in text (git quotes URLs in its errors). */
void git_url_mask(struct buf *text, const char *url);

#endif
