/*
 * fs: the directory chores several modules share — creating a path with
 * its parents, and removing a tree.
 *
 * Each of the pipeline's workspaces, the server's clones and data folder,
 * and the generators' output needs them; one implementation keeps the
 * modes and the error messages the same everywhere.
 */
#ifndef AMPEL_UTIL_FS_H
#define AMPEL_UTIL_FS_H

#include <sys/types.h>

struct err;

/* Creates dir and every missing parent with mode (existing ones are kept). */
int fs_make_dirs(const char *dir, mode_t mode, struct err *e);
/* Creates every missing directory leading to the file at path. */
int fs_make_parents(const char *path, mode_t mode, struct err *e);
/*
 * Removes path and everything under it, symbolic links as links. Jobs may
 * leave read-only directories behind (Go's module cache does): they are
 * made writable first. A path that does not exist is removed already.
 */
int fs_remove_tree(const char *path, struct err *e);

#endif
