/*
 * workspace: the directories a run works in.
 *
 * Every job leg gets its own copy of what it checks out, so parallel legs
 * never see each other's build output; copies go through cp(1) so ownership,
 * modes, symlinks and sparse files come out as the repository has them.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/run_internal.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/spawn.h"
#include "util/xalloc.h"

int workspace_make_dir(const char *path, struct err *e)
{
	struct buf partial = BUF_INIT;
	for (const char *p = path; *p; p++) {
		buf_addch(&partial, *p);
		if ((p[1] == '/' || p[1] == '\0') && partial.len > 0 &&
		    mkdir(partial.data, 0755) < 0 && errno != EEXIST) {
			int rc = err_errno(e, "cannot create %s", partial.data);
			buf_free(&partial);
			return rc;
		}
	}
	buf_free(&partial);
	return 0;
}

int workspace_copy_tree(const char *from, const char *to, struct err *e)
{
	if (workspace_make_dir(to, e) < 0)
		return -1;
	struct buf source = BUF_INIT;
	buf_addf(&source, "%s/.", from);
	const char *argv[] = { "cp", "-a", source.data, to, NULL };
	struct buf out = BUF_INIT;
	int rc = spawn_capture(argv, NULL, &out, NULL, e);
	buf_free(&out);
	buf_free(&source);
	return rc < 0 ? err_prefix(e, "copying %s to %s", from, to) : 0;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	/* Jobs may leave read-only directories behind (Go's module cache does). */
	if (type == FTW_DP)
		chmod(path, 0700);
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static int unlock_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_D && (st->st_mode & 0700) != 0700)
		chmod(path, st->st_mode | 0700);
	return 0;
}

int workspace_remove_tree(const char *path, struct err *e)
{
	nftw(path, unlock_entry, 32, FTW_PHYS);
	if (nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		return err_errno(e, "cannot remove %s", path);
	return 0;
}

char *workspace_join(const char *dir, const char *rel)
{
	struct buf path = BUF_INIT;
	if (!rel || !*rel || strcmp(rel, ".") == 0) {
		buf_adds(&path, dir);
	} else if (rel[0] == '/') {
		buf_adds(&path, rel);
	} else {
		buf_addf(&path, "%s/%s", dir, rel);
	}
	return buf_detach(&path);
}
