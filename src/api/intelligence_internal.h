/*
 * intelligence_internal: what the intelligence API's files share.
 *
 * intelligence_suggest.c turns an analysis document into suggestions with
 * the generators of `ampel generate`; intelligence_git.c is the git the
 * API needs, run through git.h. Applying a suggestion must not disturb anyone working in the
 * repository, so its files are committed with plumbing only (a private index file, hash-object,
 * write-tree, commit-tree, update-ref): the working tree, the real index and HEAD stay as they
 * were, and the new branch is created only if it did not exist.
 */
#ifndef AMPEL_API_INTELLIGENCE_INTERNAL_H
#define AMPEL_API_INTELLIGENCE_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

struct err;

/*
 * The suggestions for what the document's "missing" says is missing: a new
 * array of {type, provider, target (or null), title, files: [{path,
 * content}]} in *out, in a stable order. A provider or target that cannot
 * serve the stack is left out; docs/intelligence.md has the rules.
 */
int intelligence_suggestions_build(const json_t *document, json_t **out, struct err *e);

#define INTELLIGENCE_SHA_SIZE 65 /* SHA-1 or SHA-256 in hex, and the NUL */

/* HEAD's commit in the repository at path; *found false when it has no commit yet. */
int intelligence_git_head(const char *path, char sha[INTELLIGENCE_SHA_SIZE], bool *found,
			  struct err *e);

/*
 * True when path is a file path a generated file may have in a repository:
 * relative, no "." or ".." segment, no empty segment, no ".git" segment,
 * no control characters, at most 1024 bytes.
 */
bool intelligence_git_path_safe(const char *path);

struct intelligence_git_commit {
	const char *repository; /* the repository (working tree or bare) */
	const char *base;	/* the branch to start from; NULL or missing: HEAD */
	const char *branch;	/* the branch to create, e.g. "ampel/ci-github-1a2b3c4d" */
	const json_t *files;	/* [{path, content}] */
	const char *message;	/* the commit message */
};

/* Why a commit could not be made, for the API's status. */
enum intelligence_git_failure {
	INTELLIGENCE_GIT_FAILED,	/* git failed: a server-side problem */
	INTELLIGENCE_GIT_BAD_PATH,	/* a file's path is not safe */
	INTELLIGENCE_GIT_BRANCH_EXISTS, /* the branch exists with other content */
	INTELLIGENCE_GIT_UNTRUSTED	/* git refuses the repository's owner (safe.directory) */
};

/*
 * Commits files on top of base as a new branch. When the branch already
 * exists with exactly this tree (an earlier attempt that was not
 * recorded), its commit is taken. sha receives the commit.
 */
int intelligence_git_commit_files(const struct intelligence_git_commit *request,
				  char sha[INTELLIGENCE_SHA_SIZE],
				  enum intelligence_git_failure *failure, struct err *e);

#endif
