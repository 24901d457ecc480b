#include "intel/scan.h"

#include "intel/languages.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/map.h"
#include "util/progress.h"
#include "util/walk.h"
#include "util/xalloc.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct scan_walk {
	struct scan *scan;
	const struct language_table *languages;
	struct progress *progress;
	struct vec *current_dir_files; /* the vec of the directory last seen */
	const char *current_dir;
	int root_fd;
};

/* The first line of an extensionless file, to read its "#!" interpreter. */
static const struct language *scan_shebang_language(struct scan_walk *w, const char *path)
{
	int fd = openat(w->root_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return NULL;
	char line[128];
	ssize_t n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n < 3)
		return NULL;
	line[n] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	return language_for_shebang(w->languages, line);
}

static struct vec *scan_dir_vec(struct scan_walk *w, const char *dir)
{
	if (w->current_dir && strcmp(w->current_dir, dir) == 0)
		return w->current_dir_files;
	struct vec *files = map_get(w->scan->dir_entries, dir);
	if (!files) {
		files = xcalloc(1, sizeof(*files));
		map_put(w->scan->dir_entries, dir, files);
	}
	w->current_dir = dir;
	w->current_dir_files = files;
	return files;
}

static enum walk_action scan_visit(struct walk_entry *entry, void *ctx)
{
	struct scan_walk *w = ctx;
	struct scan *scan = w->scan;
	struct arena *arena = scan->arena;

	if (entry->is_dir) {
		vec_push(&scan->dirs, arena_strndup(arena, entry->path, entry->path_len));
		return WALK_CONTINUE;
	}
	if (entry->is_symlink)
		return WALK_CONTINUE; /* a link to a file is not the repository's own bytes */

	struct stat st;
	struct err e = ERR_INIT;
	if (walk_entry_stat(entry, &st, &e) < 0) {
		scan_warn(scan, "%s", e.msg);
		return WALK_CONTINUE;
	}
	if (!S_ISREG(st.st_mode))
		return WALK_CONTINUE;

	struct scan_file *file = arena_calloc(arena, 1, sizeof(*file));
	char *path = arena_strndup(arena, entry->path, entry->path_len);
	size_t dir_len = (size_t)(entry->name - entry->path);
	file->path = path;
	file->name = path + dir_len;
	file->dir = dir_len ? arena_strndup(arena, path, dir_len - 1) : "";
	file->size = (uint64_t)st.st_size;
	file->language = language_for_name(w->languages, file->name);
	if (!file->language && !strchr(file->name, '.') && file->size > 2)
		file->language = scan_shebang_language(w, path);
	file->foreign = language_path_is_foreign(w->languages, path);

	vec_push(&scan->files, file);
	map_put(scan->by_path, path, file);
	vec_push(scan_dir_vec(w, file->dir), file);
	scan->bytes += file->size;
	if (w->progress && scan->files.len % 256 == 0)
		progress_update(w->progress, scan->files.len, path);
	return WALK_CONTINUE;
}

static int scan_compare_files(const void *a, const void *b)
{
	const struct scan_file *fa = *(const struct scan_file *const *)a;
	const struct scan_file *fb = *(const struct scan_file *const *)b;
	return strcmp(fa->path, fb->path);
}

static void scan_free_dir_vec(void *item)
{
	struct vec *files = item;
	vec_free(files, NULL);
	free(files);
}

void scan_free(struct scan *scan)
{
	if (!scan)
		return;
	vec_free(&scan->files, NULL);
	vec_free(&scan->dirs, NULL);
	vec_free(&scan->warnings, NULL);
	map_free(scan->by_path, NULL);
	map_free(scan->dir_entries, scan_free_dir_vec);
	arena_free(scan->arena);
	free(scan->root);
	free(scan);
}

int scan_tree(struct scan **out, const char *root, const struct language_table *languages,
	      struct progress *progress, struct err *e)
{
	struct scan *scan = xcalloc(1, sizeof(*scan));
	scan->root = xstrdup(root);
	scan->arena = arena_new();
	scan->by_path = map_new();
	scan->dir_entries = map_new();
	vec_push(&scan->dirs, "");

	struct scan_walk w = { .scan = scan, .languages = languages, .progress = progress };
	w.root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w.root_fd < 0) {
		err_errno(e, "%s: cannot open directory", root);
		scan_free(scan);
		return -1;
	}
	/*
	 * Besides the walker's always-generated directories, analysis skips the
	 * usual build output and vendored dependencies: their files are not
	 * the repository's own (.gitignore usually says so too).
	 */
	static const char *const skip_names[] = { "vendor",   "target", "dist", "build",
						  "coverage", "out",	NULL };
	struct walk_options options = { .skip_names = skip_names };
	int rc = walk_tree(root, &options, scan_visit, &w, e);
	close(w.root_fd);
	if (rc < 0) {
		scan_free(scan);
		return -1;
	}
	vec_sort(&scan->files, scan_compare_files);
	*out = scan;
	return 0;
}

const struct scan_file *scan_find(const struct scan *scan, const char *path)
{
	return map_get(scan->by_path, path);
}

const struct vec *scan_dir_files(const struct scan *scan, const char *dir)
{
	static const struct vec empty = VEC_INIT;
	const struct vec *files = map_get(scan->dir_entries, dir);
	return files ? files : &empty;
}

int scan_read(const struct scan *scan, const struct scan_file *file, struct buf *out, struct err *e)
{
	buf_reset(out);
	if (file->size > SCAN_CONTENT_LIMIT)
		return err_set(e, "%s: not read, %llu bytes is over the %d byte limit", file->path,
			       (unsigned long long)file->size, SCAN_CONTENT_LIMIT);
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/%s", scan->root, file->path);
	int rc = buf_read_file(out, path.data, SCAN_CONTENT_LIMIT, e);
	buf_free(&path);
	if (rc < 0)
		return -1;
	size_t head = out->len < 8192 ? out->len : 8192;
	if (memchr(out->data ? out->data : "", '\0', head)) {
		buf_reset(out);
		return err_set(e, "%s: binary file", file->path);
	}
	return 0;
}

void scan_warn(struct scan *scan, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < scan->warnings.len; i++)
		if (strcmp(scan->warnings.items[i], msg.data) == 0) {
			buf_free(&msg);
			return;
		}
	vec_push(&scan->warnings, arena_strdup(scan->arena, msg.data));
	buf_free(&msg);
}
