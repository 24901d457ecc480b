/*
 * Elixir manifests: mix.exs, an Elixir program read for its project
 * keyword list (app, elixir, apps_path) and the tuples of its deps function.
 */
#include "intel/manifest_internal.h"

#include "util/buf.h"

#include <ctype.h>
#include <string.h>

/* The text after `key:` in the project keyword list, quoted or an :atom. */
static bool mix_keyword(const char *data, const char *key, struct buf *out)
{
	size_t n = strlen(key);
	for (const char *s = strstr(data, key); s; s = strstr(s + 1, key)) {
		if ((s > data && (isalnum((unsigned char)s[-1]) || s[-1] == '_')) || s[n] != ':')
			continue;
		const char *p = s + n + 1;
		p += strspn(p, " \t");
		if (manifest_read_quoted(&p, out))
			return true;
		if (*p == ':') {
			buf_reset(out);
			buf_add(out, p + 1, strspn(p + 1, "abcdefghijklmnopqrstuvwxyz0123456789_"));
			return out->len > 0;
		}
	}
	return false;
}

/* Copies the deps function's body with comments blanked, so tuples can be scanned. */
static void mix_deps_body(const char *data, struct buf *out)
{
	const char *s = strstr(data, "defp deps");
	if (!s)
		s = strstr(data, "def deps");
	if (!s)
		return;
	const char *end = strstr(s + 8, "\n  def");
	size_t len = end ? (size_t)(end - s) : strlen(s);
	char quote = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (quote) {
			if (c == '\\' && i + 1 < len) {
				buf_addch(out, c);
				c = s[++i];
			} else if (c == quote) {
				quote = 0;
			}
		} else if (c == '"') {
			quote = c;
		} else if (c == '#') {
			while (i + 1 < len && s[i + 1] != '\n')
				i++;
			c = ' ';
		}
		buf_addch(out, c);
	}
}

/* {:phoenix, "~> 1.7"}, {:credo, "~> 1.7", only: [:dev, :test], runtime: false} */
static const char *mix_dependency(struct manifest_ctx *ctx, const char *s)
{
	struct buf name = BUF_INIT, version = BUF_INIT;
	s += 2; /* "{:" */
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_");
	buf_add(&name, s, n);
	s += n;
	const char *tuple = s;
	s = manifest_balanced_end(s, '{', '}');
	if (*s)
		s++;
	const char *p = tuple + strspn(tuple, " \t\r\n,");
	if (!manifest_read_quoted(&p, &version))
		buf_reset(&version);

	bool dev = false;
	const char *only = strstr(tuple, "only:");
	if (only && only < s) {
		only += 5;
		only += strspn(only, " \t[");
		dev = true;
		/* Every environment listed must be dev or test. */
		while (*only == ':' && only < s) {
			size_t m = strspn(only + 1, "abcdefghijklmnopqrstuvwxyz_");
			struct buf env = BUF_INIT;
			buf_add(&env, only + 1, m);
			dev = dev && manifest_dev_group(buf_cstr(&env));
			buf_free(&env);
			only += 1 + m;
			only += strspn(only, " \t,");
		}
	}
	if (name.len)
		manifest_dependency(ctx, "hex", buf_cstr(&name), buf_cstr(&version), dev);
	buf_free(&name);
	buf_free(&version);
	return s;
}

void manifest_parse_mix(struct manifest_ctx *ctx)
{
	struct buf value = BUF_INIT, body = BUF_INIT;
	if (mix_keyword(ctx->data, "app", &value))
		manifest_set_name(ctx, buf_cstr(&value));
	if (mix_keyword(ctx->data, "elixir", &value))
		manifest_runtime(ctx, "elixir", buf_cstr(&value));
	/* An umbrella project: every app under apps_path is a member. */
	if (mix_keyword(ctx->data, "apps_path", &value)) {
		buf_adds(&value, "/*");
		manifest_workspace_member(ctx, buf_cstr(&value));
	}
	mix_deps_body(ctx->data, &body);
	for (const char *s = strstr(buf_cstr(&body), "{:"); s; s = strstr(s, "{:"))
		s = mix_dependency(ctx, s);
	buf_free(&value);
	buf_free(&body);
}
