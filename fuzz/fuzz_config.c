/*
 * Fuzzes the ampel.yaml loader: any bytes must load or fail with a
 * message, a failed load must change no setting, and the same bytes as a
 * value of every type must validate or fail cleanly.
 */
#include "util/buf.h"
#include "util/config.h"
#include "util/err.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One setting of each type the base table lacks, so they are reached too. */
static const struct config_setting extra[] = {
	{ .key = "server.workers",
	  .env = "AMPEL_SERVER_WORKERS",
	  .type = CONFIG_INT,
	  .default_value = "4",
	  .min = 1,
	  .max = 256,
	  .description = "fuzz int" },
	{ .key = "server.timeout.request",
	  .env = "AMPEL_SERVER_TIMEOUT_REQUEST",
	  .type = CONFIG_DURATION,
	  .default_value = "30s",
	  .description = "fuzz duration" },
};

static struct config *fuzz_config_new(void)
{
	struct config *cfg = config_new();
	struct err e = ERR_INIT;
	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
		if (config_define(cfg, &extra[i], &e) < 0)
			abort();
	return cfg;
}

static void check_all_set(const struct config *cfg, bool must_be_default)
{
	struct config_item item;
	for (size_t i = 0; config_next(cfg, &i, &item);) {
		if (!item.value || !item.source)
			abort();
		if (must_be_default && (strcmp(item.source, "default") != 0 ||
					strcmp(item.value, item.setting->default_value) != 0))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg = fuzz_config_new();
	struct err e = ERR_INIT;
	if (config_load_string(cfg, "ampel.yaml", (const char *)data, size, &e) == 0) {
		check_all_set(cfg, false);
	} else {
		if (!err_is_set(&e))
			abort();
		check_all_set(cfg, true);
	}
	config_free(cfg);

	/* The bytes as a value (up to the first NUL), through every setting. */
	struct buf value = BUF_INIT;
	buf_add(&value, data, size);
	cfg = fuzz_config_new();
	struct config_item item;
	for (size_t i = 0; config_next(cfg, &i, &item);) {
		err_clear(&e);
		if (config_set(cfg, item.setting->key, buf_cstr(&value), "--fuzz", &e) < 0 &&
		    !err_is_set(&e))
			abort();
	}
	/* And as a key, which must be unknown or a real setting. */
	err_clear(&e);
	if (config_set(cfg, buf_cstr(&value), "x", "--fuzz", &e) < 0 && !err_is_set(&e))
		abort();
	config_free(cfg);
	buf_free(&value);
	return 0;
}
