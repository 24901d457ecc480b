/*
 * walk: a fast, deterministic recursive directory walk of a repository.
 *
 * Repository analysis reads trees of 100k+ files, so the walk avoids stat()
 * (openat + getdents64's d_type), sees the tree as git does (.gitignore honoured, .git
 * skipped) and ignores generated dependency directories. Entries within a
 * directory come in strcmp order so that every result built on a walk is
 * reproducible.
 */
#ifndef AMPEL_UTIL_WALK_H
#define AMPEL_UTIL_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

struct err;

enum walk_action {
	WALK_CONTINUE, /* go on (into a directory's contents too) */
	WALK_SKIP,     /* on a directory: do not descend; on a file: continue */
	WALK_STOP,     /* end the walk; walk_tree returns 0 */
};

struct walk_entry {
	const char *path; /* relative to the root, '/'-separated: "src/main.c" */
	const char *name; /* the last component, pointing into path */
	size_t path_len;
	int depth;	 /* 1 for entries directly in the root */
	bool is_dir;	 /* a directory, or a followed symlink to one */
	bool is_symlink; /* see "Symlinks" below */
	bool is_regular; /* a regular file, as the listing's d_type (or a stat) says */

	/* Private to walk.c: what walk_entry_stat needs and caches. */
	int parent_fd;
	bool have_stat;
	struct stat st;
};

/*
 * Zero-initialised options (or NULL) are the defaults.
 *
 * Symlinks are reported as entries (is_symlink, is_dir false) and by default
 * never followed, so a repository cannot make the walk read outside itself.
 * With follow_symlinks, a symlink to a directory is followed only when its
 * target resolves inside the root, and never into one of the directories
 * that lead to it (device and inode are compared, as find -L does), so
 * loops end; what a followed symlink leads to is reported again under the
 * symlink's path.
 * Callers that open files should still open them with O_NOFOLLOW or skip
 * is_symlink entries: a symlinked file may point anywhere.
 */
struct walk_options {
	bool no_gitignore;     /* do not read .gitignore / .git/info/exclude */
	bool no_default_skips; /* walk node_modules, .venv, ... too */
	bool follow_symlinks;  /* follow symlinked directories inside the root */
	int max_depth;	       /* 0: unlimited; 1: only the root's entries */
	/* 0: unlimited; else the walk ends after this many callbacks, so a
	 * caller that counts its callbacks can tell that it was cut short. */
	size_t max_entries;
	/* Extra directory names to skip, NULL-terminated (e.g. "dist", "build"). */
	const char *const *skip_names;
};

typedef enum walk_action (*walk_fn)(struct walk_entry *entry, void *ctx);

/*
 * Walks root depth-first, calling fn for each entry before its contents.
 * `.git` is never entered; directories gitignored or named in the skip
 * table are not reported at all. Unreadable subdirectories are logged
 * (warn) and skipped; an unreadable root fails with an error naming it.
 */
int walk_tree(const char *root, const struct walk_options *opts, walk_fn fn, void *ctx,
	      struct err *e);

/* lstat() of the entry, done on first use and cached. */
int walk_entry_stat(struct walk_entry *entry, struct stat *out, struct err *e);

/*
 * The open directory that holds the entry, for *at() calls relative to it
 * (one path component to resolve instead of the whole path). Valid only
 * during the callback: dup() it to use it later, e.g. from another thread.
 */
int walk_entry_dir_fd(const struct walk_entry *entry);

/*
 * Whether name is one of the directories skipped by default: dependency and
 * tool-cache directories that are always generated (node_modules, .venv,
 * __pycache__, ...). Ambiguous names that are sometimes source (build, dist,
 * target, vendor, deps, coverage) are left to .gitignore and skip_names.
 */
bool walk_is_default_skip(const char *name);

#endif
