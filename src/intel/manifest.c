#include "intel/manifest.h"
#include "intel/manifest_internal.h"

#include "intel/project.h"
#include "intel/scan.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/map.h"
#include "util/str.h"
#include "util/toml.h"
#include "util/vec.h"
#include "util/xalloc.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * The files read, in the order their facts take precedence (the first
 * declared name wins, so package.json names a project before go.mod).
 * parse NULL: the file only marks a project (no parser yet).
 */
struct manifest_kind {
	const char *pattern; /* exact base name, "*suffix" or "prefix?*suffix" */
	manifest_parse_fn parse;
	bool marks_project;
};

static const struct manifest_kind manifest_kinds[] = {
	{ "package.json", manifest_parse_package_json, true },
	{ "deno.json", manifest_parse_deno, true },
	{ "deno.jsonc", manifest_parse_deno, true },
	{ "pnpm-workspace.yaml", manifest_parse_pnpm_workspace, false },
	{ "lerna.json", manifest_parse_lerna, false },
	{ "nx.json", manifest_parse_monorepo_tool, false },
	{ "turbo.json", manifest_parse_monorepo_tool, false },
	{ "rush.json", manifest_parse_monorepo_tool, false },
	{ "pyproject.toml", manifest_parse_pyproject, true },
	{ "Pipfile", manifest_parse_pipfile, true },
	{ "setup.cfg", manifest_parse_setup_cfg, true },
	{ "setup.py", manifest_parse_setup_py, true },
	{ "requirements.txt", manifest_parse_requirements, true },
	{ "requirements?*.txt", manifest_parse_requirements, false },
	{ "Cargo.toml", manifest_parse_cargo, true },
	{ "go.mod", manifest_parse_go_mod, true },
	{ "go.work", manifest_parse_go_work, true },
	{ "pom.xml", manifest_parse_pom, true },
	{ "settings.gradle", manifest_parse_gradle_settings, true },
	{ "settings.gradle.kts", manifest_parse_gradle_settings, true },
	{ "build.gradle", manifest_parse_gradle, true },
	{ "build.gradle.kts", manifest_parse_gradle, true },
	{ "Gemfile", manifest_parse_gemfile, true },
	{ "*.gemspec", manifest_parse_gemspec, true },
	{ "composer.json", manifest_parse_composer, true },
	{ "mix.exs", manifest_parse_mix, true },
	{ "*.csproj", manifest_parse_msbuild_project, true },
	{ "*.fsproj", manifest_parse_msbuild_project, true },
	{ "*.vbproj", manifest_parse_msbuild_project, true },
	{ "*.sln", manifest_parse_sln, true },
	{ "Package.swift", manifest_parse_swift_package, true },
	{ "pubspec.yaml", manifest_parse_pubspec, true },
	{ "build.zig.zon", manifest_parse_zig_zon, false },
	{ "build.zig", NULL, true },
	{ "build.sbt", NULL, true },
	{ "deps.edn", NULL, true },
	{ "project.clj", NULL, true },
	{ "shard.yml", NULL, true },
	{ "gleam.toml", NULL, true },
	{ "rebar.config", NULL, true },
	{ "stack.yaml", NULL, true },
	{ "*.cabal", NULL, true },
	{ "*.nimble", NULL, true },
};

#define MANIFEST_KINDS (sizeof(manifest_kinds) / sizeof(*manifest_kinds))

/* Django projects often keep requirements/{base,dev,prod}.txt. */
static const struct manifest_kind manifest_requirements_dir = { "requirements/*.txt",
								manifest_parse_requirements,
								false };

/*
 * Patterns are an exact name, "*suffix" or "prefix?*suffix" (at least one
 * character between): checked directly, since every file of a 100k-file
 * repository is asked whether it marks a project.
 */
static bool manifest_kind_matches(const struct manifest_kind *kind, const char *name)
{
	const char *pattern = kind->pattern;
	if (pattern[0] == '*')
		return strlen(name) > strlen(pattern) - 1 && str_ends_with(name, pattern + 1);
	const char *wild = strstr(pattern, "?*");
	if (!wild)
		return strcmp(pattern, name) == 0;
	size_t prefix = (size_t)(wild - pattern), suffix = strlen(wild + 2);
	size_t len = strlen(name);
	return len > prefix + suffix && strncmp(name, pattern, prefix) == 0 &&
	       strcmp(name + len - suffix, wild + 2) == 0;
}

/*
 * Patterns end in a literal byte, so a name is only compared with the kinds
 * whose pattern ends like it does (a handful, in table order, so the first
 * match is the one the whole table would give). A pattern ending in a
 * wildcard would be in every bucket.
 */
_Static_assert(MANIFEST_KINDS < 256, "manifest kinds are indexed by a byte");
static struct {
	unsigned char count;
	unsigned char kinds[MANIFEST_KINDS];
} manifest_by_last_byte[256];
static pthread_once_t manifest_index_once = PTHREAD_ONCE_INIT;

static void manifest_index_build(void)
{
	for (size_t i = 0; i < MANIFEST_KINDS; i++) {
		const char *pattern = manifest_kinds[i].pattern;
		unsigned char last = (unsigned char)pattern[strlen(pattern) - 1];
		for (unsigned b = 0; b < 256; b++)
			if (b == last || last == '*' || last == '?')
				manifest_by_last_byte[b].kinds[manifest_by_last_byte[b].count++] =
					(unsigned char)i;
	}
}

static const struct manifest_kind *manifest_kind_for(const char *name)
{
	size_t len = strlen(name);
	if (!len)
		return NULL;
	pthread_once(&manifest_index_once, manifest_index_build);
	unsigned char last = (unsigned char)name[len - 1];
	for (size_t i = 0; i < manifest_by_last_byte[last].count; i++) {
		const struct manifest_kind *kind =
			&manifest_kinds[manifest_by_last_byte[last].kinds[i]];
		if (manifest_kind_matches(kind, name))
			return kind;
	}
	return NULL;
}

bool manifest_marks_project(const char *file_name)
{
	const struct manifest_kind *kind = file_name ? manifest_kind_for(file_name) : NULL;
	return kind && kind->marks_project;
}

bool manifest_is_known(const char *file_name)
{
	return file_name && manifest_kind_for(file_name) != NULL;
}

/* ---- recording ---- */

void manifest_dependency(struct manifest_ctx *ctx, const char *ecosystem, const char *name,
			 const char *version, bool dev)
{
	if (!name || !*name)
		return;
	project_add_dependency(ctx->p, ctx->arena, ecosystem, name, version ? version : "", dev,
			       ctx->path);
}

void manifest_runtime(struct manifest_ctx *ctx, const char *runtime, const char *version)
{
	if (!version)
		return;
	struct buf v = BUF_INIT;
	buf_adds(&v, version);
	char *text = str_trim(v.data);
	if (*text)
		project_set_runtime(ctx->p, ctx->arena, runtime, text, ctx->path);
	buf_free(&v);
}

void manifest_set_name(struct manifest_ctx *ctx, const char *name)
{
	if (*ctx->name_set || !name || !*name)
		return;
	ctx->p->name = arena_strdup(ctx->arena, name);
	*ctx->name_set = true;
}

void manifest_script(struct manifest_ctx *ctx, const char *ecosystem, const char *name,
		     const char *command)
{
	if (!name || !*name || !command)
		return;
	char *copy = arena_strdup(ctx->arena, command);
	if (!map_has(ctx->p->scripts, name))
		map_put(ctx->p->scripts, name, copy);
	struct buf key = BUF_INIT;
	buf_addf(&key, "%s:%s", ecosystem, name);
	if (!map_has(ctx->p->ecosystem_scripts, key.data))
		map_put(ctx->p->ecosystem_scripts, key.data, copy);
	buf_free(&key);
}

void manifest_entry_point(struct manifest_ctx *ctx, const char *name, const char *value)
{
	if (value && !map_has(ctx->p->entry_points, name))
		map_put(ctx->p->entry_points, name, arena_strdup(ctx->arena, value));
}

const char *manifest_clean_member(struct manifest_ctx *ctx, const char *member)
{
	while (member[0] == '.' && member[1] == '/')
		member += 2;
	size_t n = strlen(member);
	while (n > 1 && member[n - 1] == '/')
		n--;
	return arena_strndup(ctx->arena, member, n);
}

void manifest_workspace_member(struct manifest_ctx *ctx, const char *member)
{
	ctx->p->is_workspace_root = true;
	if (!member || !*member)
		return;
	const char *clean = manifest_clean_member(ctx, member);
	if (!*clean || strcmp(clean, ".") == 0)
		return;
	for (size_t i = 0; i < ctx->p->workspace_members.len; i++)
		if (strcmp(ctx->p->workspace_members.items[i], clean) == 0)
			return;
	vec_push(&ctx->p->workspace_members, (void *)clean);
}

void manifest_warn(struct manifest_ctx *ctx, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	scan_warn(ctx->scan, "%s", buf_cstr(&msg));
	buf_free(&msg);
}

/* ---- parsing helpers ---- */

/*
 * Blanks out comments and trailing commas of JSON-with-comments in place,
 * keeping every other byte where it was so error positions stay true.
 */
static void manifest_strip_jsonc(char *s, size_t len)
{
	bool in_string = false;
	for (size_t i = 0; i < len; i++) {
		if (in_string) {
			if (s[i] == '\\' && i + 1 < len)
				i++;
			else if (s[i] == '"')
				in_string = false;
			continue;
		}
		if (s[i] == '"') {
			in_string = true;
		} else if (s[i] == '/' && i + 1 < len && s[i + 1] == '/') {
			while (i < len && s[i] != '\n')
				s[i++] = ' ';
		} else if (s[i] == '/' && i + 1 < len && s[i + 1] == '*') {
			s[i++] = ' ';
			s[i] = ' ';
			while (++i < len && !(s[i] == '*' && i + 1 < len && s[i + 1] == '/'))
				if (s[i] != '\n')
					s[i] = ' ';
			if (i < len)
				s[i++] = ' ';
			if (i < len)
				s[i] = ' ';
		} else if (s[i] == ',') {
			size_t j = i + 1;
			while (j < len && strchr(" \t\r\n", s[j]))
				j++;
			if (j < len && (s[j] == '}' || s[j] == ']'))
				s[i] = ' ';
		}
	}
}

json_t *manifest_parse_json(struct manifest_ctx *ctx, bool jsonc)
{
	struct err e = ERR_INIT;
	json_t *root = NULL;
	int rc;
	if (jsonc) {
		struct buf copy = BUF_INIT;
		buf_add(&copy, ctx->data, ctx->len);
		manifest_strip_jsonc(copy.data, copy.len);
		rc = json_read_string(&root, ctx->path, buf_cstr(&copy), copy.len, &e);
		buf_free(&copy);
	} else {
		rc = json_read_string(&root, ctx->path, ctx->data, ctx->len, &e);
	}
	if (rc < 0) {
		manifest_warn(ctx, "%s", e.msg);
		return NULL;
	}
	if (!json_is_object(root)) {
		manifest_warn(ctx, "%s:1:1: expected a JSON object", ctx->path);
		json_decref(root);
		return NULL;
	}
	return root;
}

json_t *manifest_parse_toml(struct manifest_ctx *ctx)
{
	struct err e = ERR_INIT;
	json_t *root = NULL;
	if (toml_parse(&root, ctx->path, ctx->data, ctx->len, &e) < 0) {
		manifest_warn(ctx, "%s", e.msg);
		return NULL;
	}
	return root;
}

xmlDoc *manifest_parse_xml(struct manifest_ctx *ctx)
{
	if (ctx->len > (size_t)INT32_MAX)
		return NULL;
	xmlParserCtxt *parser = xmlNewParserCtxt();
	if (!parser)
		return NULL;
	/* No DTD loading, no entity substitution, no network: the file is untrusted. */
	xmlDoc *doc = xmlCtxtReadMemory(parser, ctx->data, (int)ctx->len, ctx->path, NULL,
					XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc || !xmlDocGetRootElement(doc)) {
		const xmlError *error = xmlCtxtGetLastError(parser);
		struct buf message = BUF_INIT;
		buf_adds(&message,
			 error && error->message ? error->message : "not an XML document");
		buf_rtrim(&message);
		manifest_warn(ctx, "%s:%d:%d: invalid XML: %s", ctx->path,
			      error && error->line > 0 ? error->line : 1,
			      error && error->int2 > 0 ? error->int2 : 1, buf_cstr(&message));
		buf_free(&message);
		xmlFreeDoc(doc);
		doc = NULL;
	}
	xmlFreeParserCtxt(parser);
	return doc;
}

xmlNode *manifest_xml_child(xmlNode *node, const char *name)
{
	for (xmlNode *child = node ? node->children : NULL; child; child = child->next)
		if (child->type == XML_ELEMENT_NODE && xmlStrEqual(child->name, BAD_CAST name))
			return child;
	return NULL;
}

const char *manifest_xml_text(struct manifest_ctx *ctx, xmlNode *node)
{
	if (!node)
		return NULL;
	xmlChar *content = xmlNodeGetContent(node);
	if (!content)
		return NULL;
	struct buf text = BUF_INIT;
	buf_adds(&text, (const char *)content);
	xmlFree(content);
	const char *trimmed = str_trim(text.data);
	const char *out = *trimmed ? arena_strdup(ctx->arena, trimmed) : NULL;
	buf_free(&text);
	return out;
}

const char *manifest_xml_attr(struct manifest_ctx *ctx, xmlNode *node, const char *name)
{
	if (!node)
		return NULL;
	xmlChar *value = xmlGetProp(node, BAD_CAST name);
	if (!value)
		return NULL;
	const char *out = arena_strdup(ctx->arena, (const char *)value);
	xmlFree(value);
	return out;
}

json_t *manifest_json_path(json_t *root, const char *path)
{
	json_t *node = root;
	while (node && *path) {
		size_t n = strcspn(path, ".");
		if (!json_is_object(node))
			return NULL;
		char key[128];
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		node = json_object_get(node, key);
		path += n + (path[n] == '.');
	}
	return node;
}

const char *manifest_json_str(json_t *value)
{
	return json_is_string(value) ? json_string_value(value) : NULL;
}

bool manifest_read_quoted(const char **s, struct buf *out)
{
	const char *p = *s;
	while (*p == ' ' || *p == '\t')
		p++;
	char quote = *p;
	if (quote != '"' && quote != '\'')
		return false;
	buf_reset(out);
	for (p++; *p && *p != quote && *p != '\n'; p++) {
		if (*p == '\\' && p[1] && p[1] != '\n')
			p++;
		buf_addch(out, *p);
	}
	if (*p != quote)
		return false;
	*s = p + 1;
	return true;
}

bool manifest_dev_group(const char *group)
{
	static const char *const exact[] = { "lint",  "linting", "docs", "doc",	  "typing",
					     "types", "qa",	 "ci",	 "check", "format",
					     "style", "bench",	 "e2e",	 "mypy" };
	if (!group)
		return false;
	struct buf lower = BUF_INIT;
	buf_adds(&lower, group);
	str_lower(lower.data ? lower.data : (char *)"");
	const char *g = buf_cstr(&lower);
	bool dev = strstr(g, "dev") || strstr(g, "test");
	for (size_t i = 0; !dev && i < sizeof(exact) / sizeof(*exact); i++)
		dev = strcmp(g, exact[i]) == 0;
	buf_free(&lower);
	return dev;
}

bool manifest_pep508(const char *requirement, struct buf *name, struct buf *version)
{
	buf_reset(name);
	buf_reset(version);
	const char *s = requirement;
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");
	if (!n)
		return false;
	buf_add(name, s, n);
	s += n;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '[') { /* extras */
		const char *close = strchr(s, ']');
		s = close ? close + 1 : s + strlen(s);
	}
	if (*s == '@') /* a direct URL reference: no version */
		return true;
	size_t end = strcspn(s, ";#");
	while (end && (s[end - 1] == ' ' || s[end - 1] == '\t' || s[end - 1] == '\r'))
		end--;
	while (end && (*s == ' ' || *s == '\t')) {
		s++;
		end--;
	}
	/* "(>=1.0)" is the old parenthesised form. */
	if (end >= 2 && s[0] == '(' && s[end - 1] == ')') {
		s++;
		end -= 2;
	}
	buf_add(version, s, end);
	return true;
}

/* ---- build.zig.zon ---- */

/* Zig's package manifest is a Zig struct literal: read the two fields we need. */
void manifest_parse_zig_zon(struct manifest_ctx *ctx)
{
	struct buf value = BUF_INIT;
	const char *s = strstr(ctx->data, ".name");
	if (s) {
		s += 5;
		s += strspn(s, " \t=");
		if (*s == '.') /* Zig 0.14 writes the name as an enum literal */
			s++;
		if (manifest_read_quoted(&s, &value)) {
			manifest_set_name(ctx, buf_cstr(&value));
		} else {
			size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz"
					     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
			buf_reset(&value);
			buf_add(&value, s, n);
			manifest_set_name(ctx, buf_cstr(&value));
		}
	}
	s = strstr(ctx->data, ".minimum_zig_version");
	if (s) {
		s += strlen(".minimum_zig_version");
		s += strspn(s, " \t=");
		if (manifest_read_quoted(&s, &value))
			manifest_runtime(ctx, "zig", buf_cstr(&value));
	}
	buf_free(&value);
}

/* ---- dispatch ---- */

static void manifest_read_one(struct project *p, struct scan *scan, struct arena *arena,
			      const struct manifest_kind *kind, const char *path, const char *name,
			      const char *data, size_t len, bool *name_set)
{
	vec_push(&p->manifests, arena_strdup(arena, path));
	if (!kind->parse)
		return;
	struct manifest_ctx ctx = {
		.p = p,
		.scan = scan,
		.arena = arena,
		.path = path,
		.name = name,
		.data = data,
		.len = len,
		.name_set = name_set,
	};
	kind->parse(&ctx);
}

static void manifest_read_file(struct project *p, struct scan *scan, struct arena *arena,
			       const struct manifest_kind *kind, const struct scan_file *file,
			       struct buf *content, bool *name_set)
{
	struct err e = ERR_INIT;
	if (scan_read(scan, file, content, &e) < 0) {
		scan_warn(scan, "%s", e.msg);
		vec_push(&p->manifests, arena_strdup(arena, file->path));
		return;
	}
	manifest_read_one(p, scan, arena, kind, file->path, file->name, buf_cstr(content),
			  content->len, name_set);
}

int manifest_read_project(struct project *p, struct scan *scan, struct arena *arena)
{
	const struct vec *files = scan_dir_files(scan, p->dir);
	struct buf content = BUF_INIT;
	bool name_set = false;
	/* Each file's kind once, then the files in the kinds' order of precedence. */
	const struct manifest_kind **kinds = xcalloc(files->len + 1, sizeof(*kinds));
	for (size_t i = 0; i < files->len; i++)
		kinds[i] = manifest_kind_for(((const struct scan_file *)files->items[i])->name);
	for (size_t k = 0; k < MANIFEST_KINDS; k++)
		for (size_t i = 0; i < files->len; i++)
			if (kinds[i] == &manifest_kinds[k])
				manifest_read_file(p, scan, arena, kinds[i], files->items[i],
						   &content, &name_set);
	free(kinds);

	struct buf dir = BUF_INIT;
	buf_addf(&dir, "%s%srequirements", p->dir, *p->dir ? "/" : "");
	const struct vec *reqs = scan_dir_files(scan, buf_cstr(&dir));
	for (size_t i = 0; i < reqs->len; i++) {
		const struct scan_file *file = reqs->items[i];
		if (str_ends_with(file->name, ".txt"))
			manifest_read_file(p, scan, arena, &manifest_requirements_dir, file,
					   &content, &name_set);
	}
	buf_free(&dir);
	buf_free(&content);
	return 0;
}

int manifest_read_text(struct project *p, struct scan *scan, struct arena *arena, const char *path,
		       const char *data, size_t len)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	const struct manifest_kind *kind = manifest_kind_for(name);
	bool in_requirements = slash && slash - path >= 12 &&
			       strncmp(slash - 12, "requirements", 12) == 0 &&
			       (slash - path == 12 || slash[-13] == '/');
	if (!kind && in_requirements && str_ends_with(name, ".txt"))
		kind = &manifest_requirements_dir;
	if (!kind)
		return -1;
	/* Parsers rely on a terminator; the caller's bytes may have none. */
	char *copy = arena_strndup(arena, data, len);
	bool name_set = false;
	manifest_read_one(p, scan, arena, kind, path, name, copy, strnlen(copy, len), &name_set);
	return 0;
}

const char *manifest_balanced_end(const char *s, char open, char close)
{
	int depth = 1;
	bool in_string = false;
	for (; *s; s++) {
		if (in_string) {
			if (*s == '\\' && s[1])
				s++;
			else if (*s == '"')
				in_string = false;
		} else if (*s == '"') {
			in_string = true;
		} else if (*s == open) {
			depth++;
		} else if (*s == close && --depth == 0) {
			return s;
		}
	}
	return s;
}
