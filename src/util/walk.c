#include "util/walk.h"

#include "util/buf.h"
#include "util/err.h"
#include "util/ignore.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Directories that only ever hold generated files or installed third-party
 * code. Each name here must be unambiguous: a directory called "build",
 * "dist", "target", "vendor", "deps" or "coverage" is source in enough real
 * projects (kubernetes/build, redis/deps, coverage.py) that skipping it by
 * name would hide code; those are left to the project's .gitignore.
 */
static const char *const default_skip_names[] = {
	".cache",	    /* tool caches (Gatsby, Parcel 1, ...) */
	".angular",	    /* Angular CLI cache */
	".dart_tool",	    /* Dart/Flutter */
	".eggs",	    /* setuptools */
	".gradle",	    /* Gradle caches */
	".hg",		    /* Mercurial metadata */
	".mypy_cache",	    /* mypy */
	".next",	    /* Next.js output */
	".nox",		    /* nox virtualenvs */
	".nuxt",	    /* Nuxt output */
	".parcel-cache",    /* Parcel */
	".pytest_cache",    /* pytest */
	".ruff_cache",	    /* ruff */
	".stack-work",	    /* Haskell stack */
	".svelte-kit",	    /* SvelteKit output */
	".svn",		    /* Subversion metadata */
	".terraform",	    /* Terraform providers and modules */
	".tox",		    /* tox virtualenvs */
	".turbo",	    /* Turborepo cache */
	".venv",	    /* Python virtualenv */
	".zig-cache",	    /* Zig */
	"Pods",		    /* CocoaPods installs */
	"__pycache__",	    /* CPython bytecode */
	"_build",	    /* Elixir mix, OCaml dune, Sphinx output */
	"bower_components", /* Bower installs */
	"elm-stuff",	    /* Elm */
	"jspm_packages",    /* jspm installs */
	"node_modules",	    /* npm/yarn/pnpm installs */
	"venv",		    /* Python virtualenv */
	"zig-cache",	    /* Zig (older) */
};

bool walk_is_default_skip(const char *name)
{
	for (size_t i = 0; i < sizeof(default_skip_names) / sizeof(default_skip_names[0]); i++)
		if (strcmp(name, default_skip_names[i]) == 0)
			return true;
	return false;
}

/* Room for a few hundred names per getdents64 call. */
#define WALK_DENTS_SIZE (64 * 1024)

struct walk_record {
	size_t name_off; /* into the level's names; becomes a pointer to sort */
	const char *name;
	unsigned char type;
};

/* Per-depth scratch reused by every directory at that depth, so a walk of
 * many directories does not allocate per directory. */
struct walk_level {
	struct buf names;
	struct walk_record *records;
	size_t cap;
};

/* A directory on the path from the root to where the walk is. */
struct walk_ancestor {
	dev_t dev;
	ino_t ino;
};

struct walker {
	const struct walk_options *opts;
	walk_fn fn;
	void *ctx;
	const char *root;
	char *root_real; /* realpath of the root, only when following symlinks */
	size_t root_real_len;
	struct ignore_stack *ignore;
	struct buf path;
	struct walk_level *levels;
	size_t level_count;
	/* Only kept when following symlinks: a symlink back to any of these
	 * would be a loop (the same test find -L and fts make). */
	struct walk_ancestor *ancestors;
	size_t ancestor_count;
	size_t ancestor_cap;
	size_t reported;
	bool stop;
	char *dents; /* WALK_DENTS_SIZE bytes of getdents64 records (malloc-aligned) */
};

static bool is_ancestor(const struct walker *w, const struct stat *st)
{
	for (size_t i = 0; i < w->ancestor_count; i++)
		if (w->ancestors[i].dev == st->st_dev && w->ancestors[i].ino == st->st_ino)
			return true;
	return false;
}

static void push_ancestor(struct walker *w, const struct stat *st)
{
	if (w->ancestor_count == w->ancestor_cap) {
		w->ancestor_cap = xalloc_grow_capacity(w->ancestor_cap, w->ancestor_count + 1);
		w->ancestors = xrealloc(w->ancestors, w->ancestor_cap * sizeof(*w->ancestors));
	}
	w->ancestors[w->ancestor_count].dev = st->st_dev;
	w->ancestors[w->ancestor_count].ino = st->st_ino;
	w->ancestor_count++;
}

static int compare_records(const void *a, const void *b)
{
	const struct walk_record *x = a, *y = b;
	return strcmp(x->name, y->name);
}

static bool is_extra_skip(const struct walk_options *opts, const char *name)
{
	if (!opts->skip_names)
		return false;
	for (const char *const *n = opts->skip_names; *n; n++)
		if (strcmp(*n, name) == 0)
			return true;
	return false;
}

static struct walk_level *level_at(struct walker *w, size_t depth)
{
	if (depth >= w->level_count) {
		size_t count = depth + 1;
		w->levels = xrealloc(w->levels, count * sizeof(*w->levels));
		memset(w->levels + w->level_count, 0,
		       (count - w->level_count) * sizeof(*w->levels));
		w->level_count = count;
	}
	return &w->levels[depth];
}

/*
 * Reads a directory's names into its level's scratch, sorted. getdents64
 * straight into one buffer rather than opendir/readdir: that saves the
 * fstat and fcntl fdopendir makes and a 32 KiB allocation, per directory.
 */
static size_t read_entries(struct walker *w, int fd, const char *path, struct walk_level *level,
			   bool *has_gitignore)
{
	size_t count = 0;

	buf_reset(&level->names);
	*has_gitignore = false;
	for (;;) {
		ssize_t got = getdents64(fd, w->dents, WALK_DENTS_SIZE);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			log_warn("walk", "error reading directory, some entries may be missing",
				 "path", path, "error", strerror(errno));
			break;
		}
		if (got == 0)
			break;
		for (size_t at = 0; at < (size_t)got;) {
			const struct dirent64 *d = (const struct dirent64 *)(w->dents + at);
			at += d->d_reclen;
			const char *n = d->d_name;
			if (n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0')))
				continue;
			if (count == level->cap) {
				level->cap = xalloc_grow_capacity(level->cap, count + 1);
				level->records = xrealloc(level->records,
							  level->cap * sizeof(*level->records));
			}
			level->records[count].name_off = level->names.len;
			level->records[count].type = d->d_type;
			buf_add(&level->names, n, strlen(n) + 1);
			count++;
			if (strcmp(n, ".gitignore") == 0)
				*has_gitignore = true;
		}
	}
	for (size_t i = 0; i < count; i++)
		level->records[i].name = level->names.data + level->records[i].name_off;
	if (count > 1)
		qsort(level->records, count, sizeof(*level->records), compare_records);
	return count;
}

/* Whether the symlink at path (relative to the root) is a directory that
 * resolves inside the root. */
static bool symlink_dir_inside_root(struct walker *w, int dir_fd, const char *name)
{
	struct stat st;
	if (fstatat(dir_fd, name, &st, 0) < 0 || !S_ISDIR(st.st_mode))
		return false;
	struct buf full = BUF_INIT;
	buf_addf(&full, "%s/%s", w->root, buf_cstr(&w->path));
	char *real = realpath(full.data, NULL);
	buf_free(&full);
	if (!real)
		return false;
	bool inside = strncmp(real, w->root_real, w->root_real_len) == 0 &&
		      (real[w->root_real_len] == '/' || real[w->root_real_len] == '\0' ||
		       w->root_real_len == 1);
	if (!inside)
		log_debug("walk", "not following symlink out of the root", "path",
			  buf_cstr(&w->path), "target", real);
	free(real);
	return inside;
}

static void walk_dir(struct walker *w, int dir_fd, int depth);

static void descend(struct walker *w, int dir_fd, const char *name, bool via_symlink, int depth)
{
	int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (via_symlink ? 0 : O_NOFOLLOW);
	int fd = openat(dir_fd, name, flags);
	if (fd < 0) {
		log_warn("walk", "cannot read directory, skipping it", "path", buf_cstr(&w->path),
			 "error", strerror(errno));
		return;
	}
	if (!w->opts->follow_symlinks) {
		walk_dir(w, fd, depth);
		return;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || is_ancestor(w, &st)) {
		log_debug("walk", "symlink loop, not descending", "path", buf_cstr(&w->path));
		close(fd);
		return;
	}
	push_ancestor(w, &st);
	walk_dir(w, fd, depth);
	w->ancestor_count--;
}

/* Walks the directory open as dir_fd (taking ownership of the fd) whose
 * path relative to the root is in w->path; entries are at depth + 1. */
static void walk_dir(struct walker *w, int dir_fd, int depth)
{
	const struct walk_options *opts = w->opts;
	struct walk_level *level = level_at(w, (size_t)depth);
	bool has_gitignore;
	size_t count = read_entries(w, dir_fd, buf_cstr(&w->path), level, &has_gitignore);
	bool pushed = false;
	size_t base_len = w->path.len;

	if (has_gitignore && !opts->no_gitignore) {
		struct err e = ERR_INIT;
		ignore_stack_push(w->ignore, buf_cstr(&w->path));
		pushed = true;
		if (ignore_stack_add_file_at(w->ignore, dir_fd, ".gitignore", false, &e) < 0)
			log_warn("walk", "ignoring unreadable .gitignore", "dir",
				 buf_cstr(&w->path), "error", e.msg);
	}

	for (size_t i = 0; i < count && !w->stop; i++) {
		/* Re-fetch: a deeper walk_dir may have moved the levels array. */
		level = &w->levels[depth];
		const char *name = level->records[i].name;
		unsigned char type = level->records[i].type;
		struct walk_entry entry;
		memset(&entry, 0, sizeof(entry));
		entry.parent_fd = dir_fd;

		if (type == DT_UNKNOWN) {
			/* Some filesystems do not fill d_type; ask once and keep it. */
			if (fstatat(entry.parent_fd, name, &entry.st, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			entry.have_stat = true;
			type = IFTODT(entry.st.st_mode);
		}
		bool is_dir = type == DT_DIR, is_link = type == DT_LNK;
		/* .git is skipped whatever it is: in a worktree or submodule it
		 * is a file pointing at the real repository. */
		if (strcmp(name, ".git") == 0)
			continue;
		if (is_dir && ((!opts->no_default_skips && walk_is_default_skip(name)) ||
			       is_extra_skip(opts, name)))
			continue;

		buf_truncate(&w->path, base_len);
		if (base_len)
			buf_addch(&w->path, '/');
		size_t name_at = w->path.len;
		buf_adds(&w->path, name);

		/* git tracks a symlink as a file, so rules see it as one. */
		if (!opts->no_gitignore && ignore_check(w->ignore, w->path.data, is_dir))
			continue;
		bool follow = is_link && opts->follow_symlinks &&
			      symlink_dir_inside_root(w, entry.parent_fd, name);

		entry.path = w->path.data;
		entry.name = w->path.data + name_at;
		entry.path_len = w->path.len;
		entry.depth = depth + 1;
		entry.is_dir = is_dir || follow;
		entry.is_symlink = is_link;
		entry.is_regular = type == DT_REG;
		enum walk_action action = w->fn(&entry, w->ctx);
		w->reported++;
		if (action == WALK_STOP ||
		    (opts->max_entries && w->reported >= opts->max_entries)) {
			w->stop = true;
			break;
		}
		if (entry.is_dir && action == WALK_CONTINUE &&
		    (opts->max_depth <= 0 || depth + 1 < opts->max_depth))
			descend(w, entry.parent_fd, name, follow, depth + 1);
	}

	buf_truncate(&w->path, base_len);
	if (pushed)
		ignore_stack_pop(w->ignore);
	close(dir_fd);
}

int walk_tree(const char *root, const struct walk_options *opts, walk_fn fn, void *ctx,
	      struct err *e)
{
	static const struct walk_options defaults;
	struct walker w;
	memset(&w, 0, sizeof(w));
	w.opts = opts ? opts : &defaults;
	w.fn = fn;
	w.ctx = ctx;
	w.root = root;

	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(e, "cannot open directory '%s'", root);
	if (w.opts->follow_symlinks) {
		struct stat st;
		w.root_real = realpath(root, NULL);
		if (!w.root_real || fstat(fd, &st) < 0) {
			err_errno(e, "cannot resolve directory '%s'", root);
			free(w.root_real);
			close(fd);
			return -1;
		}
		w.root_real_len = strlen(w.root_real);
		push_ancestor(&w, &st);
	}
	buf_init(&w.path);
	buf_grow(&w.path, PATH_MAX);
	w.dents = xmalloc(WALK_DENTS_SIZE);
	w.ignore = ignore_stack_new(0);
	if (!w.opts->no_gitignore) {
		struct err ie = ERR_INIT;
		/* The lowest-precedence rules: the repository's private excludes. */
		ignore_stack_push(w.ignore, "");
		if (ignore_stack_add_file_at(w.ignore, fd, ".git/info/exclude", true, &ie) < 0)
			log_warn("walk", "ignoring unreadable exclude file", "error", ie.msg);
	}

	walk_dir(&w, fd, 0);

	for (size_t i = 0; i < w.level_count; i++) {
		buf_free(&w.levels[i].names);
		free(w.levels[i].records);
	}
	free(w.levels);
	free(w.dents);
	free(w.ancestors);
	free(w.root_real);
	ignore_stack_free(w.ignore);
	buf_free(&w.path);
	return 0;
}

int walk_entry_stat(struct walk_entry *entry, struct stat *out, struct err *e)
{
	if (!entry->have_stat) {
		if (fstatat(entry->parent_fd, entry->name, &entry->st, AT_SYMLINK_NOFOLLOW) < 0)
			return err_errno(e, "cannot stat '%s'", entry->path);
		entry->have_stat = true;
	}
	*out = entry->st;
	return 0;
}

int walk_entry_dir_fd(const struct walk_entry *entry)
{
	return entry->parent_fd;
}
