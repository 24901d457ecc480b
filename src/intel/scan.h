/*
 * scan: the one walk of a repository that every detector works from.
 *
 * Walking is the expensive part of analysing a big repository, so it
 * happens once: each file is recorded with its size and language, and
 * detectors ask the scan for file names and, only when a rule needs it,
 * for contents (read lazily, capped in size).
 */
#ifndef AMPEL_INTEL_SCAN_H
#define AMPEL_INTEL_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/vec.h"

struct arena;
struct buf;
struct map;
struct err;
struct language;
struct language_table;
struct progress;
struct project;

/* Files larger than this are never read for content. */
#define SCAN_CONTENT_LIMIT (1024 * 1024)

struct scan_file {
	const char *path; /* from the repository root, '/'-separated, no "./" */
	const char *name; /* base name: points into path */
	const char *dir;  /* directory part: "" for the root */
	uint64_t size;
	const struct language *language; /* NULL when not a known language */
	bool foreign;			 /* vendored or generated: not counted */
	struct project *project;	 /* the deepest project holding it */
};

struct scan {
	char *root;		 /* the path as given */
	struct vec files;	 /* struct scan_file *, sorted by path */
	struct vec dirs;	 /* char *: every directory walked, "" first */
	uint64_t bytes;		 /* total size of files */
	struct vec warnings;	 /* char *: "path: problem", for the document */
	struct arena *arena;	 /* owns files and strings */
	struct map *by_path;	 /* path -> struct scan_file * */
	struct map *dir_entries; /* dir -> struct vec * of its files */
};

/* Walks root once (gitignore honoured, dependency dirs skipped). */
int scan_tree(struct scan **out, const char *root, const struct language_table *languages,
	      struct progress *progress, struct err *e);
void scan_free(struct scan *scan);

/* The file at path (from the root), or NULL. */
const struct scan_file *scan_find(const struct scan *scan, const char *path);
/* The files directly inside dir ("" for the root): a vec of struct scan_file *. */
const struct vec *scan_dir_files(const struct scan *scan, const char *dir);
/*
 * Reads a file's contents into out (replacing them). Fails with a message
 * for files over SCAN_CONTENT_LIMIT, unreadable files and binary files
 * (a NUL byte in the first 8 KiB).
 */
int scan_read(const struct scan *scan, const struct scan_file *file, struct buf *out,
	      struct err *e);
/* Records a problem to show in the analysis document. */
void scan_warn(struct scan *scan, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
