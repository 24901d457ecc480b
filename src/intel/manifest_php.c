/* PHP manifests: composer.json (require, require-dev, scripts, the php constraint). */
#include "intel/manifest_internal.h"

#include "util/buf.h"
#include "util/str.h"

#include <string.h>

/* Platform packages (php, ext-*, lib-*) are the runtime, not dependencies. */
static bool composer_is_platform(const char *name)
{
	return strcmp(name, "php") == 0 || str_starts_with(name, "php-") ||
	       str_starts_with(name, "ext-") || str_starts_with(name, "lib-") ||
	       strcmp(name, "composer-plugin-api") == 0 || strcmp(name, "composer") == 0 ||
	       strcmp(name, "composer-runtime-api") == 0;
}

static void composer_requires(struct manifest_ctx *ctx, json_t *require, bool dev)
{
	if (!json_is_object(require))
		return;
	const char *name;
	json_t *value;
	json_object_foreach(require, name, value)
	{
		if (strcmp(name, "php") == 0)
			manifest_runtime(ctx, "php", manifest_json_str(value));
		else if (!composer_is_platform(name))
			manifest_dependency(ctx, "packagist", name, manifest_json_str(value), dev);
	}
}

void manifest_parse_composer(struct manifest_ctx *ctx)
{
	json_t *root = manifest_parse_json(ctx, false);
	if (!root)
		return;
	manifest_set_name(ctx, manifest_json_str(json_object_get(root, "name")));
	composer_requires(ctx, json_object_get(root, "require"), false);
	composer_requires(ctx, json_object_get(root, "require-dev"), true);
	/* config.platform.php is the version Composer resolves for: exact, but second. */
	manifest_runtime(ctx, "php",
			 manifest_json_str(manifest_json_path(root, "config.platform.php")));

	json_t *scripts = json_object_get(root, "scripts");
	if (json_is_object(scripts)) {
		const char *name;
		json_t *value;
		struct buf command = BUF_INIT;
		json_object_foreach(scripts, name, value)
		{
			/* A list of commands runs them in order, like `a && b`. */
			buf_reset(&command);
			if (json_is_string(value)) {
				buf_adds(&command, json_string_value(value));
			} else if (json_is_array(value)) {
				size_t i;
				json_t *item;
				json_array_foreach(value, i, item)
				{
					if (!json_is_string(item))
						continue;
					if (command.len)
						buf_adds(&command, " && ");
					buf_adds(&command, json_string_value(item));
				}
			}
			if (command.len)
				manifest_script(ctx, "packagist", name, buf_cstr(&command));
		}
		buf_free(&command);
	}
	json_decref(root);
}
