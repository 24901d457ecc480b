/*
 * .NET manifests: SDK-style project files (*.csproj, *.fsproj, *.vbproj:
 * MSBuild XML) and solution files (*.sln), which make a workspace root.
 */
#include "intel/manifest_internal.h"

#include "util/arena.h"
#include "util/buf.h"
#include "util/str.h"

#include <libxml/tree.h>

#include <ctype.h>
#include <string.h>

/* "net8.0" -> "8.0", "netcoreapp3.1" -> "3.1"; netstandard is no runtime. */
static void dotnet_target_framework(struct manifest_ctx *ctx, const char *frameworks)
{
	if (!frameworks)
		return;
	struct buf first = BUF_INIT;
	buf_add(&first, frameworks, strcspn(frameworks, ";"));
	const char *tfm = str_trim(first.data);
	if (str_starts_with(tfm, "netcoreapp"))
		tfm += strlen("netcoreapp");
	else if (str_starts_with(tfm, "net") && isdigit((unsigned char)tfm[3]) && strchr(tfm, '.'))
		tfm += 3;
	/* "net8.0-windows" targets a platform of 8.0. */
	first.data[(size_t)(tfm - first.data) + strcspn(tfm, "-")] = '\0';
	if (!str_starts_with(tfm, "netstandard"))
		manifest_runtime(ctx, "dotnet", tfm);
	buf_free(&first);
}

static void dotnet_package_reference(struct manifest_ctx *ctx, xmlNode *node)
{
	const char *name = manifest_xml_attr(ctx, node, "Include");
	if (!name)
		name = manifest_xml_attr(ctx, node, "Update");
	const char *version = manifest_xml_attr(ctx, node, "Version");
	if (!version)
		version = manifest_xml_text(ctx, manifest_xml_child(node, "Version"));
	manifest_dependency(ctx, "nuget", name, version, false);
}

void manifest_parse_msbuild_project(struct manifest_ctx *ctx)
{
	xmlDoc *doc = manifest_parse_xml(ctx);
	if (!doc)
		return;
	xmlNode *project = xmlDocGetRootElement(doc);
	/* The SDK tells a web app (Microsoft.NET.Sdk.Web) from a worker or a library. */
	const char *sdk = manifest_xml_attr(ctx, project, "Sdk");
	if (sdk && strcmp(sdk, "Microsoft.NET.Sdk") != 0)
		manifest_dependency(ctx, "nuget", sdk, "", false);

	const char *assembly = NULL;
	for (xmlNode *group = project->children; group; group = group->next) {
		if (group->type != XML_ELEMENT_NODE)
			continue;
		if (xmlStrEqual(group->name, BAD_CAST "PropertyGroup")) {
			const char *tfm = manifest_xml_text(
				ctx, manifest_xml_child(group, "TargetFramework"));
			if (!tfm)
				tfm = manifest_xml_text(
					ctx, manifest_xml_child(group, "TargetFrameworks"));
			dotnet_target_framework(ctx, tfm);
			if (!assembly)
				assembly = manifest_xml_text(
					ctx, manifest_xml_child(group, "AssemblyName"));
		} else if (xmlStrEqual(group->name, BAD_CAST "ItemGroup")) {
			for (xmlNode *item = group->children; item; item = item->next)
				if (item->type == XML_ELEMENT_NODE &&
				    xmlStrEqual(item->name, BAD_CAST "PackageReference"))
					dotnet_package_reference(ctx, item);
		} else if (xmlStrEqual(group->name, BAD_CAST "Sdk")) {
			manifest_dependency(ctx, "nuget", manifest_xml_attr(ctx, group, "Name"),
					    manifest_xml_attr(ctx, group, "Version"), false);
		}
	}
	if (!assembly) {
		/* The project file's stem is the assembly name by default. */
		const char *dot = strrchr(ctx->name, '.');
		assembly = arena_strndup(ctx->arena, ctx->name,
					 dot ? (size_t)(dot - ctx->name) : strlen(ctx->name));
	}
	manifest_set_name(ctx, assembly);
	xmlFreeDoc(doc);
}

/* A quoted string in a .sln: backslashes are path separators, not escapes. */
static bool sln_quoted(const char **s, struct buf *out)
{
	const char *p = *s + strspn(*s, " \t");
	if (*p != '"')
		return false;
	size_t n = strcspn(p + 1, "\"\n");
	if (p[1 + n] != '"')
		return false;
	buf_reset(out);
	buf_add(out, p + 1, n);
	*s = p + n + 2;
	return true;
}

/*
 * Project("{FAE04EC0-...}") = "Api", "src\Api\Api.csproj", "{...}"
 * Each project's directory is a member; solution folders have no project file.
 */
void manifest_parse_sln(struct manifest_ctx *ctx)
{
	ctx->p->is_workspace_root = true;
	struct buf name = BUF_INIT, path = BUF_INIT;
	for (const char *s = strstr(ctx->data, "\nProject("); s; s = strstr(s + 1, "\nProject(")) {
		const char *p = strchr(s + 1, '=');
		const char *eol = strchr(s + 1, '\n');
		if (!p || (eol && p > eol))
			continue;
		p++;
		if (!sln_quoted(&p, &name))
			continue;
		p += strspn(p, " \t,");
		if (!sln_quoted(&p, &path))
			continue;
		if (!str_ends_with(buf_cstr(&path), "proj"))
			continue;
		for (size_t i = 0; i < path.len; i++)
			if (path.data[i] == '\\')
				path.data[i] = '/';
		char *slash = strrchr(path.data, '/');
		if (!slash)
			continue; /* a project beside the solution: this directory */
		*slash = '\0';
		manifest_workspace_member(ctx, path.data);
	}
	buf_free(&name);
	buf_free(&path);
}
