/*
 * Swift manifests: Package.swift, a Swift program read for its tools
 * version comment, the package name and its .package(...) dependencies.
 */
#include "intel/manifest_internal.h"

#include "intel/scan.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/str.h"
#include "util/vec.h"

#include <string.h>

/* "https://github.com/vapor/vapor.git" -> "vapor"; "../Shared/" -> "Shared". */
static void swift_name_from_location(const char *location, struct buf *out)
{
	size_t len = strlen(location);
	while (len && location[len - 1] == '/')
		len--;
	size_t start = len;
	while (start && location[start - 1] != '/' && location[start - 1] != ':')
		start--;
	size_t end = len;
	if (end - start > 4 && strncmp(location + end - 4, ".git", 4) == 0)
		end -= 4;
	buf_reset(out);
	buf_add(out, location + start, end - start);
}

static void swift_package_call(struct manifest_ctx *ctx, const char *args, const char *end)
{
	struct buf location = BUF_INIT, name = BUF_INIT, version = BUF_INIT;
	const char *keys[] = { "url:", "path:" };
	for (size_t i = 0; i < 2 && !location.len; i++) {
		const char *p = strstr(args, keys[i]);
		if (!p || p >= end)
			continue;
		p += strlen(keys[i]);
		if (!manifest_read_quoted(&p, &location))
			continue;
		swift_name_from_location(buf_cstr(&location), &name);
		/* from:, exact:, .upToNextMajor(from:), "1.0.0"..<"2.0.0": the first version. */
		while (p < end && *p != '"')
			p++;
		if (p >= end || !manifest_read_quoted(&p, &version))
			buf_reset(&version);
	}
	if (name.len)
		manifest_dependency(ctx, "swift", buf_cstr(&name), buf_cstr(&version), false);
	buf_free(&location);
	buf_free(&name);
	buf_free(&version);
}

/*
 * The quoted names following each marker in a Package.swift, once each:
 * `.executableTarget(name: "App"` gives App for ".executableTarget(".
 */
static void swift_names_after(struct manifest_ctx *ctx, const char *marker, struct vec *names)
{
	for (const char *at = strstr(ctx->data, marker); at; at = strstr(at + 1, marker)) {
		const char *open = at + strlen(marker);
		open += strspn(open, " \t\r\n");
		if (!str_starts_with(open, "name:"))
			continue;
		open = strchr(open, '"');
		const char *close = open ? strchr(open + 1, '"') : NULL;
		if (close && close > open + 1)
			vec_push_unique_str(names, arena_strndup(ctx->arena, open + 1,
								 (size_t)(close - open - 1)));
	}
}

/*
 * {swift_product}: the one executable a Swift package builds, which
 * `swift run` starts: its one executable product, else its one
 * executable target, else (before tools 5.4) its one target with a
 * main.swift (Vapor 3's `Run`). A library has none.
 */
static void swift_product(struct manifest_ctx *ctx)
{
	struct vec names = { 0 }; /* const char * in the arena */
	swift_names_after(ctx, ".executable(", &names);
	if (names.len == 0)
		swift_names_after(ctx, ".executableTarget(", &names);
	if (names.len == 0) {
		struct vec targets = { 0 };
		swift_names_after(ctx, ".target(", &targets);
		for (size_t i = 0; i < targets.len; i++) {
			const char *main = arena_printf(ctx->arena, "Sources/%s/main.swift",
							(const char *)targets.items[i]);
			if (scan_find_in_project(ctx->scan, ctx->p, main))
				vec_push(&names, targets.items[i]);
		}
		vec_free(&targets, NULL);
	}
	if (names.len == 1)
		manifest_entry_point(ctx, "swift_product", names.items[0]);
	vec_free(&names, NULL);
}

void manifest_parse_swift_package(struct manifest_ctx *ctx)
{
	struct buf value = BUF_INIT;
	const char *tools = strstr(ctx->data, "swift-tools-version:");
	if (tools && tools - ctx->data < 256) {
		tools += strlen("swift-tools-version:");
		tools += strspn(tools, " \t");
		buf_add(&value, tools, strcspn(tools, "; \t\r\n"));
		manifest_runtime(ctx, "swift", buf_cstr(&value));
	}
	const char *package = strstr(ctx->data, "Package(");
	if (package) {
		const char *p = strstr(package, "name:");
		if (p) {
			p += 5;
			if (manifest_read_quoted(&p, &value))
				manifest_set_name(ctx, buf_cstr(&value));
		}
	}
	for (const char *s = strstr(ctx->data, ".package("); s; s = strstr(s + 1, ".package(")) {
		const char *args = s + strlen(".package(");
		swift_package_call(ctx, args, manifest_balanced_end(args, '(', ')'));
	}
	swift_product(ctx);
	buf_free(&value);
}
