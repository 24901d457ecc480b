/* JavaScript manifests: package.json and the workspace files beside it. */
#include "intel/manifest_internal.h"

#include "intel/scan.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/str.h"
#include "util/yaml.h"

#include <string.h>

static void npm_dependencies(struct manifest_ctx *ctx, json_t *root, const char *field, bool dev)
{
	json_t *deps = json_object_get(root, field);
	if (!json_is_object(deps))
		return;
	const char *name;
	json_t *value;
	json_object_foreach(deps, name, value)
	{
		manifest_dependency(ctx, "npm", name, manifest_json_str(value), dev);
	}
}

/* "pnpm@8.15.4+sha512.abc" pins a package manager: recorded under its own key. */
static void npm_package_manager(struct manifest_ctx *ctx, const char *spec)
{
	if (!spec)
		return;
	const char *at = strchr(spec, '@');
	if (!at || at == spec)
		return;
	struct buf tool = BUF_INIT, version = BUF_INIT;
	buf_add(&tool, spec, (size_t)(at - spec));
	buf_add(&version, at + 1, strcspn(at + 1, "+"));
	static const char *const known[] = { "npm", "pnpm", "yarn", "bun" };
	for (size_t i = 0; i < sizeof(known) / sizeof(*known); i++)
		if (strcmp(buf_cstr(&tool), known[i]) == 0)
			manifest_runtime(ctx, known[i], buf_cstr(&version));
	buf_free(&tool);
	buf_free(&version);
}

static void npm_runtimes_from(struct manifest_ctx *ctx, json_t *object)
{
	static const char *const keys[] = { "node", "bun", "npm", "pnpm", "yarn" };
	if (!json_is_object(object))
		return;
	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		manifest_runtime(ctx, keys[i], manifest_json_str(json_object_get(object, keys[i])));
}

static void npm_workspace_list(struct manifest_ctx *ctx, json_t *list)
{
	if (!json_is_array(list))
		return;
	ctx->p->is_workspace_root = true;
	size_t i;
	json_t *item;
	json_array_foreach(list, i, item)
	{
		const char *member = manifest_json_str(item);
		if (member && member[0] != '!')
			manifest_workspace_member(ctx, member);
	}
}

/* {main}: package.json's "main", where that script is in the tree. */
static void npm_main(struct manifest_ctx *ctx, const char *main)
{
	if (main && str_starts_with(main, "./"))
		main += 2;
	bool script = main && (str_ends_with(main, ".js") || str_ends_with(main, ".mjs") ||
			       str_ends_with(main, ".cjs"));
	if (script && !strstr(main, "..") && scan_find_in_project(ctx->scan, ctx->p, main))
		manifest_entry_point(ctx, "main", main);
}

void manifest_parse_package_json(struct manifest_ctx *ctx)
{
	json_t *root = manifest_parse_json(ctx, false);
	if (!root)
		return;
	manifest_set_name(ctx, manifest_json_str(json_object_get(root, "name")));
	npm_dependencies(ctx, root, "dependencies", false);
	npm_dependencies(ctx, root, "optionalDependencies", false);
	npm_dependencies(ctx, root, "devDependencies", true);

	json_t *scripts = json_object_get(root, "scripts");
	if (json_is_object(scripts)) {
		const char *name;
		json_t *value;
		json_object_foreach(scripts, name, value)
		{
			manifest_script(ctx, "npm", name, manifest_json_str(value));
		}
	}

	/* Exact pins first: packageManager and Volta, then engines ranges. */
	npm_package_manager(ctx, manifest_json_str(json_object_get(root, "packageManager")));
	npm_runtimes_from(ctx, json_object_get(root, "volta"));
	npm_runtimes_from(ctx, json_object_get(root, "engines"));

	json_t *workspaces = json_object_get(root, "workspaces");
	if (json_is_object(workspaces))
		workspaces = json_object_get(workspaces, "packages");
	npm_workspace_list(ctx, workspaces);
	npm_main(ctx, manifest_json_str(json_object_get(root, "main")));
	json_decref(root);
}

void manifest_parse_pnpm_workspace(struct manifest_ctx *ctx)
{
	struct yaml_doc *doc = NULL;
	struct err e = ERR_INIT;
	if (yaml_parse(&doc, ctx->path, ctx->data, ctx->len, &e) < 0) {
		manifest_warn(ctx, "%s", e.msg);
		return;
	}
	ctx->p->is_workspace_root = true;
	const struct yaml_node *packages = doc->root ? yaml_get(doc->root, "packages") : NULL;
	if (packages && packages->kind == YAML_SEQUENCE) {
		for (size_t i = 0; i < packages->count; i++) {
			const char *member = yaml_str(packages->items[i]);
			if (member && member[0] != '!')
				manifest_workspace_member(ctx, member);
		}
	} else if (packages) {
		manifest_warn(ctx, "%s:%d:%d: 'packages' must be a list", ctx->path, packages->line,
			      packages->column);
	}
	yaml_doc_free(doc);
}

void manifest_parse_lerna(struct manifest_ctx *ctx)
{
	json_t *root = manifest_parse_json(ctx, false);
	if (!root)
		return;
	ctx->p->is_workspace_root = true;
	npm_workspace_list(ctx, json_object_get(root, "packages"));
	json_decref(root);
}

/* Nx, Turborepo and Rush run tasks across a workspace: their file marks its root. */
void manifest_parse_monorepo_tool(struct manifest_ctx *ctx)
{
	json_t *root = manifest_parse_json(ctx, true);
	ctx->p->is_workspace_root = true;
	if (!root)
		return;
	json_t *projects = json_object_get(root, "projects");
	if (strcmp(ctx->name, "rush.json") == 0 && json_is_array(projects)) {
		size_t i;
		json_t *item;
		json_array_foreach(projects, i, item)
		{
			manifest_workspace_member(
				ctx, manifest_json_str(json_object_get(item, "projectFolder")));
		}
	}
	json_decref(root);
}
