/*
 * manifest_internal: what the per-ecosystem manifest parsers share.
 *
 * Each manifest_<ecosystem>.c turns one file's bytes into project facts
 * through these helpers, so that warnings, names and workspace members are
 * recorded the same way whatever the format. Private to src/intel/manifest*.
 */
#ifndef AMPEL_INTEL_MANIFEST_INTERNAL_H
#define AMPEL_INTEL_MANIFEST_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "intel/project.h"

struct arena;
struct buf;
struct scan;

/* One manifest being read. */
struct manifest_ctx {
	struct project *p;
	struct scan *scan;
	struct arena *arena;
	const char *path; /* from the repository root, for sources and warnings */
	const char *name; /* base name */
	const char *data; /* NUL-terminated */
	size_t len;
	bool *name_set; /* shared by the project's manifests: the first name wins */
};

typedef void (*manifest_parse_fn)(struct manifest_ctx *ctx);

/*
 * The bracket that closes the one opened just before s (`(` for Swift calls,
 * `{` for Elixir tuples), skipping double-quoted strings; the end of the
 * text when it never closes.
 */
const char *manifest_balanced_end(const char *s, char open, char close);

/* Recording facts. Strings are copied into the arena. */
void manifest_dependency(struct manifest_ctx *ctx, const char *ecosystem, const char *name,
			 const char *version, bool dev);
void manifest_runtime(struct manifest_ctx *ctx, const char *runtime, const char *version);
void manifest_set_name(struct manifest_ctx *ctx, const char *name);
/* A script of the manifest (ecosystem: the package manager family that runs it). */
void manifest_script(struct manifest_ctx *ctx, const char *ecosystem, const char *name,
		     const char *command);
void manifest_workspace_member(struct manifest_ctx *ctx, const char *member);
/* An entry point the manifest declares (src/intel/entry_points.h): the first wins. */
void manifest_entry_point(struct manifest_ctx *ctx, const char *name, const char *value);
void manifest_warn(struct manifest_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Parsing helpers. */
/* JSON (jsonc: // and block comments, trailing commas); NULL + warning on errors. */
json_t *manifest_parse_json(struct manifest_ctx *ctx, bool jsonc);
/* TOML; NULL + warning on errors. */
json_t *manifest_parse_toml(struct manifest_ctx *ctx);
/*
 * XML (libxml2, no network, no entity expansion); NULL + warning on errors.
 * The caller frees the document with xmlFreeDoc.
 */
struct _xmlDoc *manifest_parse_xml(struct manifest_ctx *ctx);
struct _xmlNode;
/* The first child element called name (local name), or NULL. */
struct _xmlNode *manifest_xml_child(struct _xmlNode *node, const char *name);
/* The trimmed text of an element (arena), or NULL when node is NULL or empty. */
const char *manifest_xml_text(struct manifest_ctx *ctx, struct _xmlNode *node);
/* An attribute's value (arena), or NULL. */
const char *manifest_xml_attr(struct manifest_ctx *ctx, struct _xmlNode *node, const char *name);
/* Follows a dotted path of object keys ("tool.poetry.dependencies"). */
json_t *manifest_json_path(json_t *root, const char *path);
/* Text of a JSON string, else NULL. */
const char *manifest_json_str(json_t *value);
/*
 * Reads a quoted string literal ('...' or "...", backslash escapes kept
 * simple) starting at *s (leading blanks skipped). On success copies the
 * contents into out, advances *s past the closing quote and returns true.
 */
bool manifest_read_quoted(const char **s, struct buf *out);
/* True when a dependency group/file name means development or tests. */
bool manifest_dev_group(const char *group);
/* A project-relative path with a leading "./" and trailing "/" removed. */
const char *manifest_clean_member(struct manifest_ctx *ctx, const char *member);

/* Splits a PEP 508 requirement ("requests[socks]>=2.31; python_version<'3.12'"). */
bool manifest_pep508(const char *requirement, struct buf *name, struct buf *version);

/* The parsers, one per format (files named in manifest.c's table). */
void manifest_parse_package_json(struct manifest_ctx *ctx);
void manifest_parse_pnpm_workspace(struct manifest_ctx *ctx);
void manifest_parse_lerna(struct manifest_ctx *ctx);
void manifest_parse_monorepo_tool(struct manifest_ctx *ctx);
void manifest_parse_pyproject(struct manifest_ctx *ctx);
void manifest_parse_requirements(struct manifest_ctx *ctx);
void manifest_parse_pipfile(struct manifest_ctx *ctx);
void manifest_parse_setup_py(struct manifest_ctx *ctx);
void manifest_parse_setup_cfg(struct manifest_ctx *ctx);
void manifest_parse_cargo(struct manifest_ctx *ctx);
void manifest_parse_go_mod(struct manifest_ctx *ctx);
void manifest_parse_go_work(struct manifest_ctx *ctx);
void manifest_parse_pom(struct manifest_ctx *ctx);
void manifest_parse_gradle(struct manifest_ctx *ctx);
void manifest_parse_gradle_settings(struct manifest_ctx *ctx);
void manifest_parse_gemfile(struct manifest_ctx *ctx);
void manifest_parse_gemspec(struct manifest_ctx *ctx);
void manifest_parse_composer(struct manifest_ctx *ctx);
void manifest_parse_mix(struct manifest_ctx *ctx);
void manifest_parse_msbuild_project(struct manifest_ctx *ctx);
void manifest_parse_sln(struct manifest_ctx *ctx);
void manifest_parse_swift_package(struct manifest_ctx *ctx);
void manifest_parse_pubspec(struct manifest_ctx *ctx);
void manifest_parse_deno(struct manifest_ctx *ctx);
void manifest_parse_zig_zon(struct manifest_ctx *ctx);

#endif
