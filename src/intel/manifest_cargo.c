/* Rust manifests: Cargo.toml packages and workspaces. */
#include "intel/manifest_internal.h"

#include <string.h>

/* [dependencies]-style table: name -> "1.0" | { version = "1", package = "real-name", ... }. */
static void cargo_dependencies(struct manifest_ctx *ctx, json_t *deps, bool dev)
{
	if (!json_is_object(deps))
		return;
	const char *key;
	json_t *value;
	json_object_foreach(deps, key, value)
	{
		const char *version = manifest_json_str(value);
		const char *name = key;
		if (json_is_object(value)) {
			version = manifest_json_str(json_object_get(value, "version"));
			/* A renamed dependency: the registry knows it by `package`. */
			const char *package = manifest_json_str(json_object_get(value, "package"));
			if (package)
				name = package;
		}
		manifest_dependency(ctx, "cargo", name, version, dev);
	}
}

static void cargo_dependency_sections(struct manifest_ctx *ctx, json_t *table)
{
	cargo_dependencies(ctx, json_object_get(table, "dependencies"), false);
	cargo_dependencies(ctx, json_object_get(table, "build-dependencies"), false);
	cargo_dependencies(ctx, json_object_get(table, "dev-dependencies"), true);
}

void manifest_parse_cargo(struct manifest_ctx *ctx)
{
	json_t *root = manifest_parse_toml(ctx);
	if (!root)
		return;
	json_t *package = json_object_get(root, "package");
	manifest_set_name(ctx, manifest_json_str(json_object_get(package, "name")));
	manifest_runtime(ctx, "rust", manifest_json_str(json_object_get(package, "rust-version")));
	manifest_runtime(
		ctx, "rust",
		manifest_json_str(manifest_json_path(root, "workspace.package.rust-version")));
	cargo_dependency_sections(ctx, root);

	/* [target.'cfg(unix)'.dependencies] are direct dependencies on some platforms. */
	json_t *targets = json_object_get(root, "target");
	if (json_is_object(targets)) {
		const char *cfg;
		json_t *table;
		json_object_foreach(targets, cfg, table)
		{
			cargo_dependency_sections(ctx, table);
		}
	}

	json_t *workspace = json_object_get(root, "workspace");
	if (json_is_object(workspace)) {
		ctx->p->is_workspace_root = true;
		json_t *members = json_object_get(workspace, "members");
		size_t i;
		json_t *item;
		if (json_is_array(members))
			json_array_foreach(members, i, item)
			{
				manifest_workspace_member(ctx, manifest_json_str(item));
			}
	}
	json_decref(root);
}
