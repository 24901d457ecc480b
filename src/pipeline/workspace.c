/*
 * workspace: the directories a run works in.
 *
 * Every job leg gets its own copy of what it checks out, so parallel legs
 * never see each other's build output; copies go through cp(1) so ownership,
 * modes, symlinks and sparse files come out as the repository has them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/run_internal.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/spawn.h"
#include "util/xalloc.h"

int workspace_copy_tree(const char *from, const char *to, struct err *e)
{
	if (fs_make_dirs(to, 0755, e) < 0)
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
