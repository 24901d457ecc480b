/*
 * files: the set of files a generator produces, and where they go.
 *
 * Every generator (ci, cd, dockerfile, updates) fills a gen_files with
 * repository-relative paths and contents; this module prints them, writes
 * them under a directory (all or nothing: an existing file is refused unless
 * forced, before anything is written) or lists them as JSON for programs.
 */
#ifndef AMPEL_GEN_FILES_H
#define AMPEL_GEN_FILES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "util/vec.h"

struct buf;
struct err;

/* Generator results besides 0 and -1: the stack is one Ampel cannot serve. */
#define GEN_UNSUPPORTED (-2)

struct gen_file {
	char *path;    /* relative to the repository root: ".github/workflows/ci.yml" */
	char *content; /* the whole file */
};

struct gen_files {
	struct vec files; /* struct gen_file *, in the order added */
};

#define GEN_FILES_INIT   \
	{                \
		VEC_INIT \
	}

/* Adds a file; replaces the content of one already at path. */
void gen_files_add(struct gen_files *set, const char *path, const char *content);
const struct gen_file *gen_files_find(const struct gen_files *set, const char *path);
void gen_files_free(struct gen_files *set);

/*
 * Writes every file under dir, creating directories. When a file exists and
 * force is false, nothing at all is written and the error names the file.
 */
int gen_files_write(const struct gen_files *set, const char *dir, bool force, struct err *e);
/* One file: its content; several: each after a "==> path <==" line. */
void gen_files_print(const struct gen_files *set, FILE *out);
/* {"files": [{"path": ..., "content": ...}]} */
json_t *gen_files_to_json(const struct gen_files *set);

/*
 * The comment that opens a generated file: that Ampel generated it, with
 * which command, and from what it was inferred ("a Next.js app (typescript,
 * pnpm) at apps/web"). prefix is the comment leader: "#" or "//".
 */
void gen_header(struct buf *out, const char *prefix, const char *command, const char *inferred);

#endif
