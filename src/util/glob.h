/*
 * glob: shell-style pattern matching with git's wildmatch semantics.
 *
 * .gitignore rules, workflow path filters and detection rules all speak
 * git's dialect (`*` stops at `/`, `**` crosses directories), so one matcher
 * serves them all. Matching runs a position-set automaton, so the time is
 * bounded by pattern length times path length: no pattern can make it
 * backtrack exponentially.
 */
#ifndef AMPEL_UTIL_GLOB_H
#define AMPEL_UTIL_GLOB_H

#include <stdbool.h>
#include <stddef.h>

enum glob_flags {
	GLOB_CASEFOLD = 1 << 0, /* ASCII letters match either case */
};

/*
 * Syntax: `?` one character except `/`; `*` any run without `/`; `**` any
 * run including `/` when it is a whole path component (leading as in
 * <star><star>/x, inner as in a/<star><star>/b, trailing as in a/<star><star>,
 * where a leading or inner one also matches no directory at all), else it is
 * `*`; `[abc]`, `[a-z]`, `[!x]`/`[^x]`, `[[:alpha:]]`
 * (never matching `/`); `\c` is c literally. A pattern that cannot be parsed
 * (unclosed `[`, unknown class, trailing `\`) matches nothing, like git.
 */
struct glob;

/* Never fails: an invalid pattern compiles to one that matches nothing. */
struct glob *glob_compile(const char *pattern, unsigned flags);
void glob_free(struct glob *g);
/* Whether the whole of path (len bytes, need not be NUL-terminated) matches. */
bool glob_matches_n(const struct glob *g, const char *path, size_t len);
bool glob_matches(const struct glob *g, const char *path);
/* False when the pattern was invalid. */
bool glob_is_valid(const struct glob *g);

/* One-shot forms: compile, match, free. */
bool glob_match(const char *pattern, const char *path);
bool glob_match_flags(const char *pattern, const char *path, unsigned flags);

/* True when pattern contains any of `*?[\`, i.e. is not a plain string. */
bool glob_has_wildcards(const char *pattern);

#endif
