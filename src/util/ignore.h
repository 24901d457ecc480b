/*
 * ignore: git's .gitignore rules, for walking a repository as git sees it.
 *
 * Analysis must not count build output or vendored code that the project
 * itself tells git to ignore, so the walker asks this module, which follows
 * gitignore(5): last matching rule wins, deeper files beat shallower ones,
 * `!` re-includes, and a path inside an excluded directory stays excluded.
 */
#ifndef AMPEL_UTIL_IGNORE_H
#define AMPEL_UTIL_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

struct err;

enum ignore_flags {
	IGNORE_CASEFOLD = 1 << 0, /* like core.ignoreCase=true */
};

/*
 * A stack of frames, one per directory whose rules are in force, pushed on
 * the way down a tree and popped on the way back up. Paths are relative to
 * the root of the walk and use '/' ("src/lib/x.c", no leading "./").
 */
struct ignore_stack;

struct ignore_stack *ignore_stack_new(unsigned flags);
void ignore_stack_free(struct ignore_stack *s);

/* Opens a frame for dir ("" for the root); its rules apply below dir only. */
void ignore_stack_push(struct ignore_stack *s, const char *dir);
void ignore_stack_pop(struct ignore_stack *s);
size_t ignore_stack_depth(const struct ignore_stack *s);

/*
 * Adds the rules in text (the content of a .gitignore) to the top frame,
 * after those already there, so they take precedence. Never fails: like git,
 * lines that are not valid patterns simply never match.
 */
void ignore_stack_add_rules(struct ignore_stack *s, const char *text, size_t len);

/*
 * Reads path (relative to dir_fd, which may be AT_FDCWD) and adds its rules
 * to the top frame. A missing file adds nothing and succeeds. With
 * follow_symlink false a symlinked file is skipped, as git does for in-tree
 * .gitignore files so a repository cannot point it outside itself.
 */
int ignore_stack_add_file_at(struct ignore_stack *s, int dir_fd, const char *path,
			     bool follow_symlink, struct err *e);

/*
 * Whether relpath is excluded by the rules in force, judging the path alone.
 * A walker that never descends into excluded directories needs nothing more.
 */
bool ignore_check(const struct ignore_stack *s, const char *relpath, bool is_dir);

/*
 * Like ignore_check, but first checks every parent directory of relpath:
 * git cannot re-include a file whose parent directory is excluded.
 */
bool ignore_check_path(const struct ignore_stack *s, const char *relpath, bool is_dir);

#endif
