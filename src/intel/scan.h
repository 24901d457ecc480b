/*
 * scan: the one walk of a repository that every detector works from.
 *
 * Walking is the expensive part of analysing a big repository, so it
 * happens once: each file is recorded with its language, and detectors ask
 * the scan for file names and, only when a rule needs it, for contents
 * (read lazily, capped in size). Sizes cost a stat each, more than the
 * walk itself, so only the ones that count are taken while the walk goes
 * on, on worker threads: a source file's (its bytes weigh its language)
 * and an extensionless file's (its "#!" line may name one). Any other
 * file's size is asked for when it is read. The scan lends its threads to
 * detectors that read many files (scan_parallel_*); nothing it returns
 * depends on how the work was spread.
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
	uint64_t size;	  /* when sized; else 0 (scan_file_size tells) */
	bool sized;
	const struct language *language; /* NULL when not a known language */
	bool foreign;			 /* vendored or generated: not counted */
	struct project *project;	 /* the deepest project holding it */
};

struct scan {
	char *root;		 /* the path as given */
	struct vec files;	 /* struct scan_file *, sorted by path */
	struct vec dirs;	 /* char *: every directory walked, "" first */
	uint64_t bytes;		 /* total size of the sized files (the sources) */
	struct vec warnings;	 /* char *: "path: problem", for the document */
	struct arena *arena;	 /* owns files and strings */
	struct map *dir_entries; /* dir -> struct vec * of its files */
	/* scan_project_files' index: "%p" of a project -> struct vec * */
	struct map *project_files;
};

/* Walks root once (gitignore honoured, dependency dirs skipped). */
int scan_tree(struct scan **out, const char *root, const struct language_table *languages,
	      struct progress *progress, struct err *e);
void scan_free(struct scan *scan);

/* The file at path (from the root), or NULL. */
const struct scan_file *scan_find(const struct scan *scan, const char *path);
/* The file at name relative to project p's directory, or NULL. */
const struct scan_file *scan_find_in_project(const struct scan *scan, const struct project *p,
					     const char *name);
/*
 * The files whose scan_file->project is p, in path order: a vec of struct
 * scan_file *. Detectors run once per project over its files, and looping
 * over the whole repository for each of hundreds of projects would cost
 * more than the detectors do. Indexed on first use, so every file's
 * project must be set before (projects_discover does it) and stay.
 */
const struct vec *scan_project_files(struct scan *scan, const struct project *p);
/*
 * The index in scan->files of the first file under prefix ("dir/", or ""
 * for all): the files are sorted by path, so every path under a directory
 * sorts together and the run goes on while the prefix holds.
 */
size_t scan_first_under(const struct scan *scan, const char *prefix);
/* The files directly inside dir ("" for the root): a vec of struct scan_file *. */
const struct vec *scan_dir_files(const struct scan *scan, const char *dir);
/* A file's size: stat'ed now when the walk did not size it; 0 when it cannot be told. */
uint64_t scan_file_size(const struct scan *scan, const struct scan_file *file);
/*
 * Reads a file's contents into out (replacing them). Fails with a message
 * for files over SCAN_CONTENT_LIMIT, unreadable files and binary files
 * (a NUL byte in the first 8 KiB).
 */
int scan_read(const struct scan *scan, const struct scan_file *file, struct buf *out,
	      struct err *e);
/*
 * How many threads analysis uses for file system work: the CPUs this
 * process may run on, at most 8. Results never depend on it.
 */
size_t scan_thread_count(void);
/*
 * Calls fn(begin, end, ctx) over consecutive ranges covering [0, count),
 * `chunk` items each, from up to scan_thread_count() threads (the caller's
 * among them), and returns when all are done. For reading and matching
 * many files at once: fn must only touch what belongs to its range, and
 * the caller puts results in order afterwards.
 */
void scan_parallel_for(size_t count, size_t chunk, void (*fn)(size_t begin, size_t end, void *ctx),
		       void *ctx);
/*
 * The same in two halves, so the caller can do other work meanwhile:
 * start returns once the other threads run, wait does what is left on the
 * caller's thread, then waits for them and frees the handle.
 */
struct scan_parallel;
struct scan_parallel *scan_parallel_start(size_t count, size_t chunk,
					  void (*fn)(size_t begin, size_t end, void *ctx),
					  void *ctx);
void scan_parallel_wait(struct scan_parallel *job);
/* Records a problem to show in the analysis document. */
void scan_warn(struct scan *scan, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
