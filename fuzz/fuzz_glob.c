/*
 * Fuzzes the glob matcher: the input is "pattern\0path" (or, without a NUL,
 * its two halves). Patterns come from repositories and workflow files, so
 * any bytes must compile and match without crashing, in bounded time.
 */
#include "util/glob.h"
#include "util/xalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	const uint8_t *nul = memchr(data, '\0', size);
	size_t pattern_len = nul ? (size_t)(nul - data) : size / 2;
	size_t path_at = nul ? pattern_len + 1 : pattern_len;
	char *pattern = xstrndup((const char *)data, pattern_len);
	size_t path_len = size - path_at;
	char *path = xmalloc(path_len + 1);
	memcpy(path, data + path_at, path_len);
	path[path_len] = '\0';

	struct glob *g = glob_compile(pattern, 0);
	struct glob *gi = glob_compile(pattern, GLOB_CASEFOLD);
	bool matched = glob_matches(g, path);
	/* Not compared with `matched`: folding can also remove matches, as in
	 * [!a] against "A". It must merely run. */
	(void)glob_matches(gi, path);
	if (matched != glob_match(pattern, path))
		abort();
	/* A pattern without special characters is just a string. */
	if (!glob_has_wildcards(pattern) && glob_matches(g, pattern) != true)
		abort();
	glob_free(g);
	glob_free(gi);
	free(pattern);
	free(path);
	return 0;
}
