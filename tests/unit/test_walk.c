#include "util/buf.h"
#include "util/err.h"
#include "util/walk.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

struct fixture {
	char *root;    /* the tree walked */
	char *outside; /* a directory beside it that symlinks must not reach */
};

static void make_dir(const char *root, const char *rel)
{
	struct buf p = BUF_INIT;
	buf_addf(&p, "%s/%s", root, rel);
	assert_int_equal(mkdir(p.data, 0755), 0);
	buf_free(&p);
}

/* Plain writes: buf_write_file's durable rename costs an fsync per file. */
static void make_file(const char *root, const char *rel, const char *content)
{
	struct buf p = BUF_INIT;
	buf_addf(&p, "%s/%s", root, rel);
	FILE *fp = fopen(p.data, "w");
	if (!fp)
		fail_msg("cannot create %s", p.data);
	fputs(content, fp);
	assert_int_equal(fclose(fp), 0);
	buf_free(&p);
}

static void make_link(const char *root, const char *rel, const char *target)
{
	struct buf p = BUF_INIT;
	buf_addf(&p, "%s/%s", root, rel);
	assert_int_equal(symlink(target, p.data), 0);
	buf_free(&p);
}

static char *make_temp_dir(const char *what)
{
	const char *base = getenv("TMPDIR");
	struct buf p = BUF_INIT;
	buf_addf(&p, "%s/ampel-test-walk-%s-XXXXXX", base && *base ? base : "/tmp", what);
	assert_non_null(mkdtemp(p.data));
	return buf_detach(&p);
}

static void remove_tree(const char *path)
{
	DIR *d = opendir(path);
	if (d) {
		struct dirent *ent;
		while ((ent = readdir(d))) {
			if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
				continue;
			struct buf child = BUF_INIT;
			struct stat st;
			buf_addf(&child, "%s/%s", path, ent->d_name);
			if (lstat(child.data, &st) == 0 && S_ISDIR(st.st_mode)) {
				chmod(child.data, 0755);
				remove_tree(child.data);
			} else {
				unlink(child.data);
			}
			buf_free(&child);
		}
		closedir(d);
	}
	rmdir(path);
}

/*
 * The tree every test walks:
 *   .gitignore          *.log, /out/, !keep.log
 *   .git/info/exclude   excluded.txt
 *   a.txt  a.log  excluded.txt  keep.log
 *   b/.gitignore        gen.c, !a.log   (a nested file that re-includes)
 *   b/a.log  b/c.txt  b/gen.c  b/up -> ..
 *   b.txt
 *   escape -> <outside>   escape-file -> <outside>/secret
 *   linkdir -> b          loop -> .
 *   node_modules/pkg/index.js  __pycache__/x.pyc  out/bin
 *   z/deep/deeper/file.txt
 */
static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	f->root = make_temp_dir("root");
	f->outside = make_temp_dir("outside");
	make_file(f->outside, "secret", "s");

	make_file(f->root, ".gitignore", "*.log\n/out/\n!keep.log\n");
	make_dir(f->root, ".git");
	make_dir(f->root, ".git/info");
	make_file(f->root, ".git/info/exclude", "excluded.txt\n");
	make_file(f->root, ".git/HEAD", "ref: refs/heads/main\n");
	make_file(f->root, "a.txt", "hello");
	make_file(f->root, "a.log", "");
	make_file(f->root, "excluded.txt", "");
	make_file(f->root, "keep.log", "");
	make_dir(f->root, "b");
	make_file(f->root, "b/.gitignore", "gen.c\n!a.log\n");
	make_file(f->root, "b/a.log", "");
	make_file(f->root, "b/c.txt", "");
	make_file(f->root, "b/gen.c", "");
	make_link(f->root, "b/up", "..");
	make_file(f->root, "b.txt", "");
	make_link(f->root, "escape", f->outside);
	struct buf target = BUF_INIT;
	buf_addf(&target, "%s/secret", f->outside);
	make_link(f->root, "escape-file", target.data);
	buf_free(&target);
	make_link(f->root, "linkdir", "b");
	make_link(f->root, "loop", ".");
	make_dir(f->root, "node_modules");
	make_dir(f->root, "node_modules/pkg");
	make_file(f->root, "node_modules/pkg/index.js", "");
	make_dir(f->root, "__pycache__");
	make_file(f->root, "__pycache__/x.pyc", "");
	make_dir(f->root, "out");
	make_file(f->root, "out/bin", "");
	make_dir(f->root, "z");
	make_dir(f->root, "z/deep");
	make_dir(f->root, "z/deep/deeper");
	make_file(f->root, "z/deep/deeper/file.txt", "");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	remove_tree(f->root);
	remove_tree(f->outside);
	free(f->root);
	free(f->outside);
	free(f);
	return 0;
}

/* Collects "path" per entry, with "/" after directories and "@" after
 * symlinks, one per line, so a test compares the whole walk at once. */
struct collect {
	struct buf out;
	const char *skip_dir; /* answer WALK_SKIP for this path */
	const char *stop_at;  /* answer WALK_STOP for this path */
};

static enum walk_action collect_fn(struct walk_entry *entry, void *ctx)
{
	struct collect *c = ctx;
	assert_int_equal(strlen(entry->path), entry->path_len);
	assert_ptr_equal(entry->name,
			 strrchr(entry->path, '/') ? strrchr(entry->path, '/') + 1 : entry->path);
	int slashes = 0;
	for (const char *p = entry->path; *p; p++)
		slashes += *p == '/';
	assert_int_equal(entry->depth, slashes + 1);
	buf_adds(&c->out, entry->path);
	if (entry->is_dir)
		buf_addch(&c->out, '/');
	if (entry->is_symlink)
		buf_addch(&c->out, '@');
	buf_addch(&c->out, '\n');
	if (c->skip_dir && strcmp(entry->path, c->skip_dir) == 0)
		return WALK_SKIP;
	if (c->stop_at && strcmp(entry->path, c->stop_at) == 0)
		return WALK_STOP;
	return WALK_CONTINUE;
}

static char *walk_collect(const char *root, const struct walk_options *opts, struct collect *c)
{
	struct err e = ERR_INIT;
	buf_init(&c->out);
	if (walk_tree(root, opts, collect_fn, c, &e) < 0)
		fail_msg("walk_tree: %s", e.msg);
	buf_adds(&c->out, "");
	return buf_detach(&c->out);
}

static void assert_walk(const char *root, const struct walk_options *opts, const char *expected)
{
	struct collect c = { BUF_INIT, NULL, NULL };
	char *got = walk_collect(root, opts, &c);
	assert_string_equal(got, expected);
	free(got);
}

static void test_default_walk(void **state)
{
	struct fixture *f = *state;
	/* sorted by strcmp within each directory, pre-order; .git, node_modules,
	 * __pycache__, gitignored and info/exclude'd entries absent; symlinks
	 * reported but not followed */
	assert_walk(f->root, NULL,
		    ".gitignore\n"
		    "a.txt\n"
		    "b/\n"
		    "b/.gitignore\n"
		    "b/a.log\n"
		    "b/c.txt\n"
		    "b/up@\n"
		    "b.txt\n"
		    "escape@\n"
		    "escape-file@\n"
		    "keep.log\n"
		    "linkdir@\n"
		    "loop@\n"
		    "z/\n"
		    "z/deep/\n"
		    "z/deep/deeper/\n"
		    "z/deep/deeper/file.txt\n");
}

static void test_no_gitignore_and_no_default_skips(void **state)
{
	struct fixture *f = *state;
	struct walk_options opts = { .no_gitignore = true, .no_default_skips = true };
	assert_walk(f->root, &opts,
		    ".gitignore\n"
		    "__pycache__/\n"
		    "__pycache__/x.pyc\n"
		    "a.log\n"
		    "a.txt\n"
		    "b/\n"
		    "b/.gitignore\n"
		    "b/a.log\n"
		    "b/c.txt\n"
		    "b/gen.c\n"
		    "b/up@\n"
		    "b.txt\n"
		    "escape@\n"
		    "escape-file@\n"
		    "excluded.txt\n"
		    "keep.log\n"
		    "linkdir@\n"
		    "loop@\n"
		    "node_modules/\n"
		    "node_modules/pkg/\n"
		    "node_modules/pkg/index.js\n"
		    "out/\n"
		    "out/bin\n"
		    "z/\n"
		    "z/deep/\n"
		    "z/deep/deeper/\n"
		    "z/deep/deeper/file.txt\n");
}

static void test_follow_symlinks_stays_inside_and_ends(void **state)
{
	struct fixture *f = *state;
	struct walk_options opts = { .follow_symlinks = true };
	/* linkdir is followed (b is inside); loop and every up lead to an
	 * ancestor and are not entered; escape leaves the root and is not
	 * followed; escape-file is reported but is a file */
	assert_walk(f->root, &opts,
		    ".gitignore\n"
		    "a.txt\n"
		    "b/\n"
		    "b/.gitignore\n"
		    "b/a.log\n"
		    "b/c.txt\n"
		    "b/up/@\n"
		    "b.txt\n"
		    "escape@\n"
		    "escape-file@\n"
		    "keep.log\n"
		    "linkdir/@\n"
		    "linkdir/.gitignore\n"
		    "linkdir/a.log\n"
		    "linkdir/c.txt\n"
		    "linkdir/up/@\n"
		    "loop/@\n"
		    "z/\n"
		    "z/deep/\n"
		    "z/deep/deeper/\n"
		    "z/deep/deeper/file.txt\n");
}

static void test_extra_skip_names_and_max_depth(void **state)
{
	struct fixture *f = *state;
	static const char *const skips[] = { "z", "b", NULL };
	struct walk_options opts = { .skip_names = skips };
	assert_walk(f->root, &opts,
		    ".gitignore\n"
		    "a.txt\n"
		    "b.txt\n"
		    "escape@\n"
		    "escape-file@\n"
		    "keep.log\n"
		    "linkdir@\n"
		    "loop@\n");

	struct walk_options depth = { .max_depth = 2 };
	struct collect c = { BUF_INIT, NULL, NULL };
	char *got = walk_collect(f->root, &depth, &c);
	assert_non_null(strstr(got, "z/deep/\n"));
	assert_null(strstr(got, "z/deep/deeper"));
	free(got);
}

static void test_skip_stop_and_max_entries(void **state)
{
	struct fixture *f = *state;
	struct collect c = { BUF_INIT, "b", NULL };
	char *got = walk_collect(f->root, NULL, &c);
	assert_string_equal(got, ".gitignore\na.txt\nb/\nb.txt\nescape@\nescape-file@\nkeep.log\n"
				 "linkdir@\nloop@\nz/\nz/deep/\nz/deep/deeper/\n"
				 "z/deep/deeper/file.txt\n");
	free(got);

	struct collect stop = { BUF_INIT, NULL, "b/a.log" };
	got = walk_collect(f->root, NULL, &stop);
	assert_string_equal(got, ".gitignore\na.txt\nb/\nb/.gitignore\nb/a.log\n");
	free(got);

	struct walk_options opts = { .max_entries = 3 };
	struct collect limited = { BUF_INIT, NULL, NULL };
	got = walk_collect(f->root, &opts, &limited);
	assert_string_equal(got, ".gitignore\na.txt\nb/\n");
	free(got);
}

static void test_deterministic_order(void **state)
{
	struct fixture *f = *state;
	/* created in reverse order; strcmp order puts upper case first */
	make_dir(f->root, "z/order");
	const char *names[] = { "z/order/b",   "z/order/_", "z/order/B",
				"z/order/a.c", "z/order/a", "z/order/A" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		make_file(f->root, names[i], "");
	struct collect c1 = { BUF_INIT, NULL, NULL }, c2 = { BUF_INIT, NULL, NULL };
	char *first = walk_collect(f->root, NULL, &c1);
	char *second = walk_collect(f->root, NULL, &c2);
	assert_string_equal(first, second);
	assert_non_null(strstr(first, "z/order/\nz/order/A\nz/order/B\nz/order/_\nz/order/a\n"
				      "z/order/a.c\nz/order/b\n"));
	free(first);
	free(second);
}

static enum walk_action stat_fn(struct walk_entry *entry, void *ctx)
{
	struct err e = ERR_INIT;
	struct stat st;
	if (strcmp(entry->path, "a.txt") == 0) {
		assert_int_equal(walk_entry_stat(entry, &st, &e), 0);
		assert_int_equal(st.st_size, 5);
		/* the second call is served from the cache */
		assert_int_equal(walk_entry_stat(entry, &st, &e), 0);
		assert_int_equal(st.st_size, 5);
		*(int *)ctx += 1;
	}
	if (strcmp(entry->path, "escape") == 0) {
		assert_int_equal(walk_entry_stat(entry, &st, &e), 0);
		assert_true(S_ISLNK(st.st_mode));
		*(int *)ctx += 1;
	}
	return WALK_CONTINUE;
}

static void test_entry_stat(void **state)
{
	struct fixture *f = *state;
	struct err e = ERR_INIT;
	int seen = 0;
	assert_int_equal(walk_tree(f->root, NULL, stat_fn, &seen, &e), 0);
	assert_int_equal(seen, 2);
}

static void test_unreadable_root_and_subdir(void **state)
{
	struct fixture *f = *state;
	struct err e = ERR_INIT;
	struct buf missing = BUF_INIT;
	buf_addf(&missing, "%s/no-such-dir", f->root);
	assert_int_equal(walk_tree(missing.data, NULL, collect_fn, NULL, &e), -1);
	assert_non_null(strstr(e.msg, missing.data));
	buf_free(&missing);

	struct buf locked = BUF_INIT;
	buf_addf(&locked, "%s/z/deep/deeper", f->root);
	struct rlimit saved;
	if (geteuid() != 0) {
		assert_int_equal(chmod(locked.data, 0), 0);
	} else {
		/* root reads through mode 000, so make opening the directory fail
		 * another way: the walk holds one fd per level, and fds are handed
		 * out lowest first, so a limit three above the lowest free fd lets
		 * the root, z and z/deep open but not z/deep/deeper. */
		int lowest = dup(0);
		assert_true(lowest >= 0);
		close(lowest);
		assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
		struct rlimit tight = saved;
		tight.rlim_cur = (rlim_t)lowest + 3;
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &tight), 0);
	}
	struct walk_options opts = { .skip_names = (const char *const[]){ "b", NULL } };
	struct collect c = { BUF_INIT, NULL, NULL };
	char *got = walk_collect(f->root, &opts, &c);
	if (geteuid() != 0)
		chmod(locked.data, 0755);
	else
		setrlimit(RLIMIT_NOFILE, &saved);
	/* reported, not entered, and the walk goes on */
	assert_string_equal(got, ".gitignore\na.txt\nb.txt\nescape@\nescape-file@\nkeep.log\n"
				 "linkdir@\nloop@\nz/\nz/deep/\nz/deep/deeper/\n");
	free(got);
	buf_free(&locked);
}

/* A FIFO named .gitignore must not block the walk, and a .git file (as in
 * a worktree or submodule) is skipped like a .git directory. */
static void test_fifo_gitignore_and_git_file(void **state)
{
	struct fixture *f = *state;
	struct buf fifo = BUF_INIT;
	make_dir(f->root, "z/odd");
	buf_addf(&fifo, "%s/z/odd/.gitignore", f->root);
	assert_int_equal(mkfifo(fifo.data, 0644), 0);
	make_file(f->root, "z/odd/.git", "gitdir: ../../.git/modules/odd\n");
	make_file(f->root, "z/odd/file", "");
	struct collect c = { BUF_INIT, NULL, NULL };
	char *got = walk_collect(f->root, NULL, &c);
	assert_non_null(strstr(got, "z/odd/\nz/odd/.gitignore\nz/odd/file\n"));
	free(got);
	buf_free(&fifo);
}

static void test_default_skip_table(void **state)
{
	(void)state;
	assert_true(walk_is_default_skip("node_modules"));
	assert_true(walk_is_default_skip(".venv"));
	assert_true(walk_is_default_skip("__pycache__"));
	assert_false(walk_is_default_skip("build"));
	assert_false(walk_is_default_skip("vendor"));
	assert_false(walk_is_default_skip("src"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_default_walk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_gitignore_and_no_default_skips, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_follow_symlinks_stays_inside_and_ends, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_extra_skip_names_and_max_depth, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_skip_stop_and_max_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deterministic_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entry_stat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_root_and_subdir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_gitignore_and_git_file, setup, teardown),
		cmocka_unit_test(test_default_skip_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
