/*
 * Swift manifests: Package.swift, a Swift program read for its tools
 * version comment, the package name and its .package(...) dependencies.
 */
#include "intel/manifest_internal.h"

#include "util/buf.h"
#include "util/str.h"

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
	buf_free(&value);
}
