#include "util/fs.h"

#include "util/err.h"
#include "util/xalloc.h"

#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* mkdir of each prefix of path ending before a '/' (and path itself when whole). */
static int make_prefixes(const char *path, mode_t mode, bool whole, struct err *e)
{
	char *copy = xstrdup(path);
	int rc = 0;
	for (char *slash = strchr(copy + 1, '/'); slash && rc == 0;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(copy, mode) != 0 && errno != EEXIST)
			rc = err_errno(e, "cannot create directory %s", copy);
		*slash = '/';
	}
	if (rc == 0 && whole && *copy && mkdir(copy, mode) != 0 && errno != EEXIST)
		rc = err_errno(e, "cannot create directory %s", copy);
	free(copy);
	return rc;
}

int fs_make_dirs(const char *dir, mode_t mode, struct err *e)
{
	return make_prefixes(dir, mode, true, e);
}

int fs_make_parents(const char *path, mode_t mode, struct err *e)
{
	return make_prefixes(path, mode, false, e);
}

static int unlock_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_D && (st->st_mode & 0700) != 0700)
		chmod(path, st->st_mode | 0700);
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

int fs_remove_tree(const char *path, struct err *e)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : err_errno(e, "cannot remove %s", path);
	nftw(path, unlock_entry, 32, FTW_PHYS);
	if (nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		return err_errno(e, "cannot remove %s", path);
	return 0;
}
