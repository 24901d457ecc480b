#include "util/embed.h"

#include "util/buf.h"
#include "util/err.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Knowledge files are a few hundred KiB; anything far bigger is a mistake. */
#define EMBED_MAX_FILE_SIZE (64u * 1024u * 1024u)

/*
 * Set once by main before any command runs, so there is no locking; the
 * copy stays reachable until exit, which LeakSanitizer accepts.
 */
static char *override_dir;

const struct embed_file *embed_find(const char *name)
{
	if (!name)
		return NULL;
	for (const struct embed_file *f = embed_files; f->name; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

void embed_set_override_dir(const char *dir)
{
	free(override_dir);
	override_dir = dir ? xstrdup(dir) : NULL;
}

const char *embed_override_dir(void)
{
	return override_dir;
}

/*
 * A name is a base name: the override directory must not become a way to
 * read any file on the machine through a rule that names another file.
 */
static int check_name(const char *name, struct err *e)
{
	if (!name || !*name)
		return err_set(e, "config file name is empty");
	if (strchr(name, '/') || strstr(name, "..") || strcmp(name, ".") == 0)
		return err_set(e,
			       "config file name '%s' must be a plain file name (no '/' or '..')",
			       name);
	return 0;
}

static char *join_path(const char *dir, const char *name)
{
	struct buf path = BUF_INIT;
	buf_adds(&path, dir);
	if (path.len && path.data[path.len - 1] != '/')
		buf_addch(&path, '/');
	buf_adds(&path, name);
	return buf_detach(&path);
}

/*
 * Reads <dir>/<name> into out. Returns 1 when the directory simply lacks
 * the file (the embedded copy is used), 0 when read, -1 on a real error.
 * A missing directory is an error: a mistyped --config-dir would
 * otherwise be ignored in silence.
 */
static int read_override(const char *dir, const char *path, struct buf *out, struct err *e)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		if (errno != ENOENT)
			return err_errno(e, "%s: cannot read", path);
		if (stat(dir, &st) < 0)
			return err_errno(e, "config directory %s", dir);
		if (!S_ISDIR(st.st_mode))
			return err_set(e, "config directory %s is not a directory", dir);
		return 1;
	}
	if (!S_ISREG(st.st_mode))
		return err_set(e, "%s: not a regular file", path);
	return buf_read_file(out, path, EMBED_MAX_FILE_SIZE, e);
}

int embed_read_config(const char *name, struct buf *out, char **origin_out, struct err *e)
{
	if (origin_out)
		*origin_out = NULL;
	if (check_name(name, e) < 0)
		return -1;
	if (override_dir && *override_dir) {
		char *path = join_path(override_dir, name);
		int rc = read_override(override_dir, path, out, e);
		if (rc <= 0) {
			if (rc == 0 && origin_out)
				*origin_out = path;
			else
				free(path);
			return rc;
		}
		free(path);
	}
	const struct embed_file *f = embed_find(name);
	if (!f) {
		if (override_dir && *override_dir)
			return err_set(e, "config file '%s' is neither in %s nor built in", name,
				       override_dir);
		return err_set(e, "config file '%s' is not built in", name);
	}
	buf_add(out, f->data, f->size);
	if (origin_out) {
		/*
		 * The path in the source tree: short, parseable as file:line by
		 * editors, and where a developer fixes the file.
		 */
		struct buf origin = BUF_INIT;
		buf_addf(&origin, "config/%s", name);
		*origin_out = buf_detach(&origin);
	}
	return 0;
}
