/*
 * Ruby manifests: the Gemfile (gems, groups, the ruby directive) and
 * *.gemspec, both Ruby programs read for the literal forms they use.
 */
#include "intel/manifest_internal.h"

#include "util/buf.h"
#include "util/str.h"

#include <ctype.h>
#include <string.h>

#define GEMFILE_MAX_DEPTH 64

static bool ruby_word_is(const char *s, const char *word)
{
	size_t n = strlen(word);
	return strncmp(s, word, n) == 0 && (s[n] == ' ' || s[n] == '\t' || s[n] == '(');
}

/* True when every :symbol after the first `group`/`groups` is a dev/test group. */
static bool ruby_groups_dev(const char *s)
{
	bool any = false;
	for (const char *p = strchr(s, ':'); p; p = strchr(p + 1, ':')) {
		if (!isalpha((unsigned char)p[1]) && p[1] != '_')
			continue;
		size_t n = strspn(p + 1, "abcdefghijklmnopqrstuvwxyz_0123456789");
		struct buf group = BUF_INIT;
		buf_add(&group, p + 1, n);
		bool dev = manifest_dev_group(buf_cstr(&group));
		buf_free(&group);
		if (!dev)
			return false;
		any = true;
	}
	return any;
}

/* `gem "name", "~> 1.0", ">= 1.0.2", require: false, group: :test` */
static void ruby_gem_line(struct manifest_ctx *ctx, const char *s, bool dev)
{
	struct buf name = BUF_INIT, version = BUF_INIT, part = BUF_INIT;
	s += strspn(s, " \t(");
	if (!manifest_read_quoted(&s, &name))
		goto out;
	for (;;) {
		s += strspn(s, " \t,");
		if (!manifest_read_quoted(&s, &part))
			break;
		if (version.len)
			buf_adds(&version, ", ");
		buf_adds(&version, buf_cstr(&part));
	}
	const char *groups = strstr(s, "group");
	if (groups && ruby_groups_dev(groups + 5))
		dev = true;
	manifest_dependency(ctx, "rubygems", buf_cstr(&name), buf_cstr(&version), dev);
out:
	buf_free(&name);
	buf_free(&version);
	buf_free(&part);
}

void manifest_parse_gemfile(struct manifest_ctx *ctx)
{
	bool stack[GEMFILE_MAX_DEPTH];
	int depth = 0;
	struct buf line = BUF_INIT, value = BUF_INIT;
	for (const char *s = ctx->data; *s;) {
		size_t n = strcspn(s, "\n");
		buf_reset(&line);
		buf_add(&line, s, n);
		s += n + (s[n] == '\n');
		char *hash = strstr(line.data, " #");
		if (hash)
			*hash = '\0';
		const char *text = str_trim(line.data);
		bool dev = depth > 0 && stack[depth - 1];
		if (!*text || *text == '#')
			continue;
		if (strcmp(text, "end") == 0) {
			if (depth > 0)
				depth--;
		} else if (ruby_word_is(text, "gem")) {
			ruby_gem_line(ctx, text + 3, dev);
		} else if (ruby_word_is(text, "ruby")) {
			const char *p = text + 4;
			p += strspn(p, " \t(");
			if (manifest_read_quoted(&p, &value))
				manifest_runtime(ctx, "ruby", buf_cstr(&value));
		} else if (str_ends_with(text, " do") || strstr(text, " do |")) {
			/* group :development, :test do ... end; other blocks keep the outer group.
			 */
			bool block_dev =
				ruby_word_is(text, "group") ? ruby_groups_dev(text + 5) : dev;
			if (depth < GEMFILE_MAX_DEPTH)
				stack[depth++] = block_dev;
		}
	}
	buf_free(&line);
	buf_free(&value);
}

static const char *ruby_after(const char *data, const char *needle)
{
	const char *s = strstr(data, needle);
	return s ? s + strlen(needle) : NULL;
}

void manifest_parse_gemspec(struct manifest_ctx *ctx)
{
	struct buf value = BUF_INIT;
	const char *s = ruby_after(ctx->data, ".name");
	if (s) {
		s += strspn(s, " \t=");
		if (manifest_read_quoted(&s, &value))
			manifest_set_name(ctx, buf_cstr(&value));
	}
	s = ruby_after(ctx->data, ".required_ruby_version");
	if (s) {
		s += strspn(s, " \t=");
		if (manifest_read_quoted(&s, &value))
			manifest_runtime(ctx, "ruby", buf_cstr(&value));
	}
	static const struct {
		const char *call;
		bool dev;
	} calls[] = { { ".add_dependency", false },
		      { ".add_runtime_dependency", false },
		      { ".add_development_dependency", true } };
	for (size_t i = 0; i < sizeof(calls) / sizeof(*calls); i++)
		for (const char *p = strstr(ctx->data, calls[i].call); p;
		     p = strstr(p + 1, calls[i].call)) {
			const char *after = p + strlen(calls[i].call);
			if (*after == ' ' || *after == '(' || *after == '\t')
				ruby_gem_line(ctx, after, calls[i].dev);
		}
	buf_free(&value);
}
