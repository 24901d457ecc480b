/*
 * Walks a tree with walk_tree and prints the number of non-directory
 * entries, so bench/run.sh can time it against `find -type f | wc -l`.
 */
#include "util/err.h"
#include "util/walk.h"

#include <stdio.h>
#include <string.h>

static enum walk_action count_files(struct walk_entry *entry, void *ctx)
{
	if (!entry->is_dir)
		++*(size_t *)ctx;
	return WALK_CONTINUE;
}

int main(int argc, char **argv)
{
	struct walk_options opts = { 0 };
	const char *root = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--no-gitignore") == 0)
			opts.no_gitignore = true;
		else if (!root)
			root = argv[i];
	}
	if (!root) {
		fprintf(stderr, "usage: bench_walk DIR [--no-gitignore]\n");
		return 2;
	}
	struct err e = ERR_INIT;
	size_t files = 0;
	if (walk_tree(root, &opts, count_files, &files, &e) < 0) {
		fprintf(stderr, "bench_walk: %s\n", e.msg);
		return 1;
	}
	printf("%zu\n", files);
	return 0;
}
