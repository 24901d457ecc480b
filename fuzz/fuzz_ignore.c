/*
 * Fuzzes .gitignore parsing and matching: the input is a .gitignore file,
 * installed at the root and again in a subdirectory, and then each of its
 * own lines is checked as a path. A repository's .gitignore is untrusted.
 */
#include "util/ignore.h"
#include "util/xalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct ignore_stack *s, const char *path)
{
	for (int is_dir = 0; is_dir < 2; is_dir++) {
		bool alone = ignore_check(s, path, is_dir);
		bool with_parents = ignore_check_path(s, path, is_dir);
		/* An excluded parent can only add exclusions. */
		if (alone && !with_parents)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const fixed[] = {
		"a", "a/b", "sub/x.log", "sub/dir/file.c", ".git", "node_modules/x", "", "/", "a//b"
	};
	if (size > 8192)
		return 0;
	struct ignore_stack *s = ignore_stack_new(size && (data[0] & 1) ? IGNORE_CASEFOLD : 0);
	ignore_stack_push(s, "");
	ignore_stack_add_rules(s, (const char *)data, size);
	ignore_stack_push(s, "sub/");
	ignore_stack_add_rules(s, (const char *)data, size);

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		check(s, fixed[i]);
	char *copy = xstrndup((const char *)data, size);
	for (char *line = copy, *next; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		check(s, line);
	}
	free(copy);
	ignore_stack_pop(s);
	ignore_stack_free(s);
	return 0;
}
