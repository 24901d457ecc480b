/* Dart and Flutter manifests: pubspec.yaml. */
#include "intel/manifest_internal.h"

#include "util/err.h"
#include "util/yaml.h"

#include <string.h>

/* name: "^1.0.0" | {sdk: flutter} | {hosted: ..., version: ^1.0.0} | {path: ...} */
static void pubspec_dependencies(struct manifest_ctx *ctx, const struct yaml_node *deps, bool dev)
{
	if (!deps || deps->kind != YAML_MAPPING)
		return;
	for (size_t i = 0; i < deps->count; i++) {
		const char *name = yaml_str(deps->pairs[i].key);
		const struct yaml_node *value = deps->pairs[i].value;
		const char *version = NULL;
		if (value && value->kind == YAML_SCALAR && !yaml_is_null(value))
			version = yaml_str(value);
		else if (value && value->kind == YAML_MAPPING)
			version = yaml_str(yaml_get(value, "version"));
		manifest_dependency(ctx, "pub", name, version, dev);
	}
}

void manifest_parse_pubspec(struct manifest_ctx *ctx)
{
	struct yaml_doc *doc = NULL;
	struct err e = ERR_INIT;
	if (yaml_parse(&doc, ctx->path, ctx->data, ctx->len, &e) < 0) {
		manifest_warn(ctx, "%s", e.msg);
		return;
	}
	const struct yaml_node *root = doc->root;
	if (!root || root->kind != YAML_MAPPING) {
		if (root)
			manifest_warn(ctx, "%s:%d:%d: expected a mapping", ctx->path, root->line,
				      root->column);
		yaml_doc_free(doc);
		return;
	}
	manifest_set_name(ctx, yaml_str(yaml_get(root, "name")));
	const struct yaml_node *environment = yaml_get(root, "environment");
	manifest_runtime(ctx, "dart", yaml_str(yaml_get(environment, "sdk")));
	manifest_runtime(ctx, "flutter", yaml_str(yaml_get(environment, "flutter")));
	pubspec_dependencies(ctx, yaml_get(root, "dependencies"), false);
	pubspec_dependencies(ctx, yaml_get(root, "dev_dependencies"), true);

	/* Pub workspaces (Dart 3.6): the root lists its packages. */
	const struct yaml_node *workspace = yaml_get(root, "workspace");
	if (workspace && workspace->kind == YAML_SEQUENCE)
		for (size_t i = 0; i < workspace->count; i++)
			manifest_workspace_member(ctx, yaml_str(workspace->items[i]));
	yaml_doc_free(doc);
}
