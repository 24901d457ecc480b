/* Go manifests: go.mod (module, go/toolchain directives, requires) and go.work. */
#include "intel/manifest_internal.h"

#include "util/buf.h"
#include "util/str.h"

#include <string.h>

/* Splits the next whitespace-separated word (quotes removed) off *s. */
static bool go_word(char **s, const char **word)
{
	char *p = *s;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p || (p[0] == '/' && p[1] == '/'))
		return false;
	if (*p == '"' || *p == '`') {
		char quote = *p++;
		char *end = strchr(p, quote);
		if (!end)
			return false;
		*end = '\0';
		*word = p;
		*s = end + 1;
		return true;
	}
	char *end = p + strcspn(p, " \t");
	if (*end)
		*end++ = '\0';
	*word = p;
	*s = end;
	return true;
}

/*
 * Calls fn for each directive of a go.mod/go.work: verb is the directive
 * ("require"), rest the line after it (inside a block, the whole line).
 */
static void go_directives(struct manifest_ctx *ctx,
			  void (*fn)(struct manifest_ctx *ctx, const char *verb, char *rest))
{
	struct buf line = BUF_INIT, block = BUF_INIT;
	const char *s = ctx->data;
	while (*s) {
		size_t n = strcspn(s, "\n");
		buf_reset(&line);
		buf_add(&line, s, n);
		s += n + (s[n] == '\n');
		char *text = str_trim(line.data);
		if (!*text || str_starts_with(text, "//"))
			continue;
		if (block.len) {
			if (*text == ')')
				buf_reset(&block);
			else
				fn(ctx, buf_cstr(&block), text);
			continue;
		}
		const char *verb;
		if (!go_word(&text, &verb))
			continue;
		char *rest = str_trim(text);
		if (*rest == '(') {
			buf_adds(&block, verb);
			continue;
		}
		fn(ctx, verb, rest);
	}
	buf_free(&line);
	buf_free(&block);
}

static void go_mod_directive(struct manifest_ctx *ctx, const char *verb, char *rest)
{
	const char *word;
	if (strcmp(verb, "module") == 0 && go_word(&rest, &word)) {
		manifest_set_name(ctx, word);
	} else if (strcmp(verb, "toolchain") == 0 && go_word(&rest, &word)) {
		/* "go1.21.5" is the exact toolchain: more precise than the go line. */
		if (str_starts_with(word, "go"))
			manifest_runtime(ctx, "go", word + 2);
	} else if (strcmp(verb, "go") == 0 && go_word(&rest, &word)) {
		manifest_runtime(ctx, "go", word);
	} else if (strcmp(verb, "require") == 0) {
		if (strstr(rest, "// indirect"))
			return;
		const char *path, *version = "";
		if (!go_word(&rest, &path))
			return;
		if (!go_word(&rest, &version))
			version = "";
		manifest_dependency(ctx, "go", path, version, false);
	}
}

static void go_work_directive(struct manifest_ctx *ctx, const char *verb, char *rest)
{
	const char *word;
	if (strcmp(verb, "go") == 0 && go_word(&rest, &word))
		manifest_runtime(ctx, "go", word);
	else if (strcmp(verb, "toolchain") == 0 && go_word(&rest, &word) &&
		 str_starts_with(word, "go"))
		manifest_runtime(ctx, "go", word + 2);
	else if (strcmp(verb, "use") == 0 && go_word(&rest, &word))
		manifest_workspace_member(ctx, word);
}

void manifest_parse_go_mod(struct manifest_ctx *ctx)
{
	/* The toolchain line may come after the go line: read it first. */
	const char *toolchain = strstr(ctx->data, "\ntoolchain ");
	if (toolchain) {
		struct buf line = BUF_INIT;
		buf_add(&line, toolchain + 1, strcspn(toolchain + 1, "\n"));
		char *text = line.data;
		const char *verb;
		if (go_word(&text, &verb))
			go_mod_directive(ctx, verb, text);
		buf_free(&line);
	}
	go_directives(ctx, go_mod_directive);
}

void manifest_parse_go_work(struct manifest_ctx *ctx)
{
	ctx->p->is_workspace_root = true;
	go_directives(ctx, go_work_directive);
}
