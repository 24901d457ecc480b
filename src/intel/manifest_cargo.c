/* Rust manifests: Cargo.toml packages and workspaces. */
#include "intel/manifest_internal.h"

#include "intel/entry_points.h"
#include "intel/scan.h"
#include "util/arena.h"
#include "util/str.h"
#include "util/vec.h"

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

/*
 * The binaries of a Cargo package: its [[bin]] sections, then (unless
 * autobins = false) the targets Cargo finds itself where no section names
 * their file: src/main.rs (named after the package), src/bin/NAME.rs and
 * src/bin/NAME/main.rs. Names are in the arena or in root.
 */
static void cargo_binaries(struct manifest_ctx *ctx, json_t *root, struct vec *bins)
{
	const struct project *p = ctx->p;
	json_t *package = json_object_get(root, "package");
	struct vec claimed = { 0 }; /* const char *: the files [[bin]] sections name */
	size_t i;
	json_t *bin;
	json_array_foreach(json_object_get(root, "bin"), i, bin)
	{
		const char *name = json_string_value(json_object_get(bin, "name"));
		const char *path = json_string_value(json_object_get(bin, "path"));
		if (name)
			vec_push_unique_str(bins, name);
		if (path)
			vec_push_unique_str(&claimed, path);
	}
	if (!json_is_false(json_object_get(package, "autobins"))) {
		if (!vec_has_str(&claimed, "src/main.rs") &&
		    scan_find_in_project(ctx->scan, p, "src/main.rs"))
			vec_push_unique_str(bins,
					    json_string_value(json_object_get(package, "name")));
		const char *prefix =
			arena_printf(ctx->arena, "%s%ssrc/bin/", p->dir, *p->dir ? "/" : "");
		size_t in_package = *p->dir ? strlen(p->dir) + 1 : 0; /* path -> relative */
		const struct vec *files = &ctx->scan->files;
		for (size_t at = scan_first_under(ctx->scan, prefix); at < files->len; at++) {
			const struct scan_file *f = files->items[at];
			if (!str_starts_with(f->path, prefix))
				break;
			if (vec_has_str(&claimed, f->path + in_package))
				continue;
			const char *rest = f->path + strlen(prefix);
			const char *slash = strchr(rest, '/');
			if (!slash && str_ends_with(rest, ".rs"))
				vec_push_unique_str(
					bins, arena_strndup(ctx->arena, rest, strlen(rest) - 3));
			else if (slash && str_eq(slash, "/main.rs"))
				vec_push_unique_str(bins, arena_strndup(ctx->arena, rest,
									(size_t)(slash - rest)));
		}
	}
	vec_free(&claimed, NULL);
}

/*
 * {cargo_run}: how `cargo run` starts a Rust package's program. Cargo runs
 * the package's one binary or its `default-run`; of several it must be
 * told which with --bin: the one named as a server, else the one named
 * after the package. A virtual workspace runs its one default member's. A
 * library has none.
 */
static void cargo_run(struct manifest_ctx *ctx, json_t *root)
{
	json_t *package = json_object_get(root, "package");
	const char *package_name = json_string_value(json_object_get(package, "name"));
	const char *command = NULL;
	struct vec bins = { 0 }; /* const char * */
	if (!package_name) {
		json_t *members =
			json_object_get(json_object_get(root, "workspace"), "default-members");
		command = json_array_size(members) == 1 ? "cargo run" : NULL;
	} else {
		cargo_binaries(ctx, root, &bins);
		const char *chosen = NULL;
		size_t servers = 0;
		for (size_t j = 0; j < bins.len; j++)
			if (entry_point_serves(bins.items[j]) && servers++ == 0)
				chosen = bins.items[j];
		if (servers != 1)
			chosen = vec_has_str(&bins, package_name) ? package_name : NULL;
		if (bins.len == 1 || json_string_value(json_object_get(package, "default-run")))
			command = "cargo run";
		else if (chosen && bins.len > 1)
			command = arena_printf(ctx->arena, "cargo run --bin %s", chosen);
	}
	manifest_entry_point(ctx, "cargo_run", command);
	vec_free(&bins, NULL);
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
	cargo_run(ctx, root);
	json_decref(root);
}
