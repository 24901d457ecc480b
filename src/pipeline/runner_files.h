/*
 * runner_files: reads the files a step writes to hand values to the runner
 * ($GITHUB_ENV, $GITHUB_OUTPUT, $GITHUB_STATE and $GITHUB_PATH).
 *
 * The format is the runner's (FileCommandManager): `NAME=value` lines and
 * `NAME<<DELIMITER` heredocs, whichever of '=' and "<<" comes first on the
 * line deciding; empty lines skipped; the name taken as written (not
 * trimmed). A heredoc value runs to the first line that is exactly the
 * delimiter, without the line break before it; the delimiter may appear
 * inside value lines. Lines may end in CRLF (a heredoc value keeps its
 * inner CRLFs), and a UTF-8 byte order mark is skipped. A malformed file is
 * rejected whole, as the runner fails the step, with the file kind and line.
 */
#ifndef AMPEL_PIPELINE_RUNNER_FILES_H
#define AMPEL_PIPELINE_RUNNER_FILES_H

#include <stdbool.h>
#include <stddef.h>

struct err;

/* The most of a runner file read: a larger one is refused, not truncated. */
#define RUNNER_FILE_MAX_SIZE (1024 * 1024)

struct runner_pair {
	char *name;
	char *value;
};

/*
 * Parses data as the file kind names ("GITHUB_ENV", used in errors) into
 * *count pairs in file order; a name set twice appears twice and the later
 * wins when applied. A NUL byte is an error (it cannot reach an environment
 * variable intact). On error *out is NULL and *count 0.
 */
int runner_file_parse_pairs(const char *kind, const char *data, size_t len,
			    struct runner_pair **out, size_t *count, struct err *e);
void runner_pairs_free(struct runner_pair *pairs, size_t count);

/*
 * $GITHUB_PATH: every non-empty line (split at LF, CRLF or CR, like the
 * runner) is a directory, returned in file order. The runner prepends them
 * one by one, so the last line ends up first in PATH, and a directory
 * already added moves to the front again.
 */
int runner_file_parse_paths(const char *data, size_t len, char ***out, size_t *count,
			    struct err *e);
void runner_paths_free(char **paths, size_t count);

/*
 * The same from the file at path. A missing or empty file is zero entries
 * (the step wrote nothing); one over RUNNER_FILE_MAX_SIZE is an error.
 */
int runner_file_read_pairs(const char *kind, const char *path, struct runner_pair **out,
			   size_t *count, struct err *e);
int runner_file_read_paths(const char *path, char ***out, size_t *count, struct err *e);

/*
 * True for a $GITHUB_ENV name the runner refuses to set (NODE_OPTIONS, any
 * case): it reports an error annotation and goes on without it.
 */
bool runner_file_env_name_blocked(const char *name);

#endif
