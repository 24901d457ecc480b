/*
 * Fuzzes the TOML reader: any bytes must parse or fail with a
 * "fuzz.toml:line:column: ..." message, and whatever parses must be a
 * tree jansson can write (so every string and key is valid UTF-8).
 */
#include "util/err.h"
#include "util/toml.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err e = ERR_INIT;
	json_t *root = NULL;
	if (toml_parse(&root, "fuzz.toml", (const char *)data, size, &e) != 0) {
		if (root || strncmp(e.msg, "fuzz.toml:", 10) != 0)
			abort();
		return 0;
	}
	if (!json_is_object(root))
		abort();
	char *text = json_dumps(root, JSON_ENCODE_ANY);
	if (!text)
		abort();
	free(text);
	json_decref(root);
	return 0;
}
