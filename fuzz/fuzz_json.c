/*
 * Fuzzes the JSON helpers: any bytes must load or fail with a message,
 * and whatever loads must write and read back to an equal value.
 */
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err e = ERR_INIT;
	json_t *v = NULL;
	if (json_read_string(&v, "fuzz.json", (const char *)data, size, &e) != 0) {
		if (!err_is_set(&e) || v)
			abort();
		return 0;
	}
	static const unsigned flags[] = { 0, JSON_WRITE_PRETTY,
					  JSON_WRITE_SORT_KEYS | JSON_WRITE_ASCII };
	for (size_t i = 0; i < sizeof(flags) / sizeof(*flags); i++) {
		struct buf out = BUF_INIT;
		if (json_write_buf(&out, v, flags[i], &e) != 0)
			abort();
		json_t *back = NULL;
		if (json_read_string(&back, "again", buf_cstr(&out), out.len, &e) != 0 ||
		    !json_equal(v, back))
			abort();
		json_decref(back);
		buf_free(&out);
	}
	(void)json_get_str(v, "a", NULL);
	(void)json_get_int(v, "a", 0);
	(void)json_get_bool(v, "a", false);
	json_decref(v);
	return 0;
}
