/* Deno manifests: deno.json / deno.jsonc (imports map, tasks, workspace). */
#include "intel/manifest_internal.h"

#include "util/buf.h"
#include "util/str.h"

#include <ctype.h>
#include <string.h>

/*
 * "jsr:@std/http@^1.0.0" -> @std/http ^1.0.0; "npm:preact@10.19" -> preact;
 * "https://deno.land/x/fresh@1.6.8/" -> fresh 1.6.8. Anything else keeps
 * the import map key as its name.
 */
static void deno_specifier(const char *key, const char *spec, struct buf *name, struct buf *version)
{
	buf_reset(name);
	buf_reset(version);
	const char *package = NULL;
	if (str_starts_with(spec, "jsr:") || str_starts_with(spec, "npm:")) {
		package = spec + 4;
		if (*package == '/')
			package++;
	} else if (strstr(spec, "://")) {
		const char *host = strstr(spec, "://") + 3;
		const char *path = strchr(host, '/');
		if (path && str_starts_with(path, "/x/"))
			path += 3;
		else if (path)
			path++;
		const char *at = path ? strchr(path, '@') : NULL;
		if (path && at && at > path && (isalnum((unsigned char)*path) || *path == '_') &&
		    !memchr(path, '/', (size_t)(at - path))) {
			buf_add(name, path, (size_t)(at - path));
			buf_add(version, at + 1, strcspn(at + 1, "/"));
			return;
		}
	}
	if (package) {
		/* A scope's "@" is part of the name; the version follows the next one. */
		const char *at = strchr(package + (*package == '@'), '@');
		buf_add(name, package, at ? (size_t)(at - package) : strcspn(package, "/"));
		if (*package == '@' && !at) {
			buf_reset(name);
			buf_adds(name, package);
		}
		if (at)
			buf_add(version, at + 1, strcspn(at + 1, "/"));
		return;
	}
	size_t len = strlen(key);
	while (len > 1 && key[len - 1] == '/')
		len--;
	buf_add(name, key, len);
}

void manifest_parse_deno(struct manifest_ctx *ctx)
{
	json_t *root = manifest_parse_json(ctx, true);
	if (!root)
		return;
	manifest_set_name(ctx, manifest_json_str(json_object_get(root, "name")));
	const char *key;
	json_t *value;
	json_t *imports = json_object_get(root, "imports");
	if (json_is_object(imports)) {
		struct buf name = BUF_INIT, version = BUF_INIT;
		json_object_foreach(imports, key, value)
		{
			const char *spec = manifest_json_str(value);
			if (!spec || str_starts_with(spec, "./") || str_starts_with(spec, "../") ||
			    str_starts_with(spec, "/"))
				continue;
			deno_specifier(key, spec, &name, &version);
			manifest_dependency(ctx, "deno", buf_cstr(&name), buf_cstr(&version),
					    false);
		}
		buf_free(&name);
		buf_free(&version);
	}
	json_t *tasks = json_object_get(root, "tasks");
	if (json_is_object(tasks))
		json_object_foreach(tasks, key, value)
		{
			/* A task is a command string or {command, description, dependencies}. */
			const char *command = manifest_json_str(value);
			if (!command)
				command = manifest_json_str(json_object_get(value, "command"));
			manifest_script(ctx, "deno", key, command);
		}
	json_t *workspace = json_object_get(root, "workspace");
	if (json_is_object(workspace))
		workspace = json_object_get(workspace, "members");
	if (json_is_array(workspace)) {
		size_t i;
		json_array_foreach(workspace, i, value)
		{
			manifest_workspace_member(ctx, manifest_json_str(value));
		}
	}
	json_decref(root);
}
