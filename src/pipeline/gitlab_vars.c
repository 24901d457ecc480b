/*
 * gitlab_vars: GitLab CI variables, from definition to the executor.
 *
 * The predefined CI_* variables, `variables:` blocks, and $VAR expansion
 * the way GitLab's runner does it, written so that the executor (which
 * speaks GitHub's `${{ }}`) takes GitLab's text literally.
 */
#include "pipeline/gitlab_internal.h"

#include "util/arena.h"
#include "util/buf.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

const struct var *gitlab_vars_find(const struct vars *v, const char *name, size_t len)
{
	for (size_t i = 0; i < v->count; i++)
		if (strlen(v->items[i].name) == len && memcmp(v->items[i].name, name, len) == 0)
			return &v->items[i];
	return NULL;
}

void gitlab_vars_set(struct vars *v, const char *name, const char *value, bool expression,
		     bool literal)
{
	struct var *slot = (struct var *)gitlab_vars_find(v, name, strlen(name));
	if (!slot) {
		if (v->count == v->cap) {
			v->cap = xalloc_grow_capacity(v->cap, v->count + 1);
			v->items = xrealloc(v->items, v->cap * sizeof(*v->items));
		}
		slot = &v->items[v->count++];
		slot->name = name;
	}
	slot->value = value;
	slot->expression = expression;
	slot->literal = literal;
}

void gitlab_vars_add_all(struct vars *dst, const struct vars *src)
{
	for (size_t i = 0; i < src->count; i++)
		gitlab_vars_set(dst, src->items[i].name, src->items[i].value,
				src->items[i].expression, src->items[i].literal);
}

void gitlab_vars_free(struct vars *v)
{
	free(v->items);
	memset(v, 0, sizeof(*v));
}

/* ------------------------------------------------------------------ */
/* Text for the executor: `${{` stays literal, `$VAR` is expanded.      */

/* GitLab values are plain text; the executor must not evaluate `${{` in them. */
static void buf_add_literal(struct buf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '$' && i + 2 < len && s[i + 1] == '{' && s[i + 2] == '{') {
			buf_adds(out, "${{ '${{' }}");
			i += 2;
		} else {
			buf_addch(out, s[i]);
		}
	}
}

static void buf_add_text(struct buf *out, const char *s, size_t len, bool escape)
{
	if (escape)
		buf_add_literal(out, s, len);
	else
		buf_add(out, s, len);
}

bool gitlab_is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/*
 * Expands $NAME, ${NAME} and $$ the way the runner expands variable values
 * and image names. Unknown names stay as written (the shell may know them:
 * PATH, HOME); a reference to a variable being expanded stays too.
 */
static int expand_into(struct loader *l, const struct yaml_node *where, const struct vars *scope,
		       const char *text, bool escape, struct buf *out, const char **stack,
		       int depth)
{
	const char *p = text;
	while (*p) {
		if (*p != '$') {
			size_t n = strcspn(p, "$");
			buf_add_text(out, p, n, escape);
			p += n;
			continue;
		}
		if (p[1] == '$') {
			buf_addch(out, '$');
			p += 2;
			continue;
		}
		bool brace = p[1] == '{';
		const char *start = p + 1 + brace;
		const char *q = start;
		while (gitlab_is_name_char(*q))
			q++;
		if (q == start || (brace && *q != '}')) {
			/* "${{" must reach the escape whole. */
			size_t n = strncmp(p, "${{", 3) == 0 ? 3 : 1;
			buf_add_text(out, p, n, escape);
			p += n;
			continue;
		}
		const char *end = q + brace;
		const struct var *v = gitlab_vars_find(scope, start, (size_t)(q - start));
		bool busy = false;
		for (int i = 0; v && i < depth; i++)
			busy = busy || strcmp(stack[i], v->name) == 0;
		if (!v || busy || depth >= MAX_EXPAND_DEPTH) {
			buf_add_text(out, p, (size_t)(end - p), escape);
		} else if (v->expression) {
			buf_adds(out, v->value);
		} else if (v->literal) {
			buf_add_text(out, v->value, strlen(v->value), escape);
		} else {
			stack[depth] = v->name;
			if (expand_into(l, where, scope, v->value, escape, out, stack, depth + 1))
				return -1;
		}
		if (out->len > MAX_VALUE_SIZE)
			return gitlab_node_err(l, where, "the value expands to more than %u bytes",
					       MAX_VALUE_SIZE);
		p = end;
	}
	return 0;
}

int gitlab_value_expand(struct loader *l, const struct yaml_node *where, const struct vars *scope,
			const char *text, bool escape, const char **out)
{
	const char *stack[MAX_EXPAND_DEPTH];
	struct buf b = BUF_INIT;
	int rc = expand_into(l, where, scope, text, escape, &b, stack, 0);
	*out = rc ? NULL : arena_strdup(l->arena, buf_cstr(&b));
	buf_free(&b);
	return rc;
}

char *gitlab_text_escape(const char *s)
{
	struct buf b = BUF_INIT;
	buf_add_literal(&b, s, strlen(s));
	return buf_detach(&b);
}

/* json_string fails on invalid UTF-8; a value must never be lost silently. */
json_t *gitlab_json_text(const char *s)
{
	json_t *j = json_string(s);
	return j ? j : json_stringn_nocheck(s, strlen(s));
}

/* ------------------------------------------------------------------ */
/* Variable definitions                                                 */

int gitlab_vars_parse(struct loader *l, const struct yaml_node *node, struct vars *into,
		      const char *what)
{
	if (!node || yaml_is_null(node))
		return 0;
	if (node->kind != YAML_MAPPING)
		return gitlab_node_err(l, node, "%s: variables must be a mapping of NAME: value",
				       what);
	for (size_t i = 0; i < node->count; i++) {
		const struct yaml_node *key = node->pairs[i].key;
		const struct yaml_node *value = node->pairs[i].value;
		const char *name = gitlab_scalar_text(key);
		if (!name || !*name || strchr(name, '='))
			return gitlab_node_err(
				l, key, "%s: a variable name must be a non-empty word", what);
		bool literal = false;
		const char *text = gitlab_scalar_text(value);
		if (!text && value->kind == YAML_MAPPING) {
			static const char *const keys[] = { "value", "description", "options",
							    "expand", NULL };
			if (gitlab_keys_check(l, value, keys, what))
				return -1;
			const struct yaml_node *v = yaml_get(value, "value");
			text = v ? gitlab_scalar_text(v) : "";
			if (!text)
				return gitlab_node_err(l, v, "%s: %s: value must be a string", what,
						       name);
			const struct yaml_node *expand = yaml_get(value, "expand");
			bool on = true;
			if (expand && yaml_bool(expand, gitlab_node_file(l, expand), &on, l->e))
				return -1;
			literal = !on;
		}
		if (!text)
			return gitlab_node_err(l, value,
					       "%s: %s: a variable's value must be a string", what,
					       name);
		gitlab_vars_set(into, name, text, false, literal);
	}
	return 0;
}

/* CI_COMMIT_REF_SLUG: lower-cased, [^a-z0-9] as '-', at most 63, no '-' at the ends. */
static const char *ref_slug(struct loader *l, const char *ref)
{
	struct buf b = BUF_INIT;
	for (const char *p = ref; *p && b.len < 63; p++) {
		char c = (char)tolower((unsigned char)*p);
		buf_addch(&b, (isalnum((unsigned char)c) && (c < 'A' || c > 'Z')) ? c : '-');
	}
	while (b.len && b.data[b.len - 1] == '-')
		buf_truncate(&b, b.len - 1);
	const char *s = buf_cstr(&b);
	while (*s == '-')
		s++;
	const char *slug = arena_strdup(l->arena, s);
	buf_free(&b);
	return slug;
}

const char *gitlab_pipeline_source(const struct loader *l)
{
	return l->ctx && l->ctx->pipeline_source ? l->ctx->pipeline_source : "push";
}

void gitlab_predefined_build(struct loader *l)
{
	const struct gitlab_context *c = l->ctx;
	struct vars *v = &l->predefined;
	const char *branch = c ? c->branch : NULL;
	const char *tag = c ? c->tag : NULL;
	const char *ref = tag ? tag : branch;
	gitlab_vars_set(v, "CI", "true", false, false);
	gitlab_vars_set(v, "GITLAB_CI", "true", false, false);
	gitlab_vars_set(v, "CI_PIPELINE_SOURCE", gitlab_pipeline_source(l), false, false);
	gitlab_vars_set(v, "CI_PROJECT_DIR", "${{ github.workspace }}", true, false);
	if (ref) {
		gitlab_vars_set(v, "CI_COMMIT_REF_NAME", ref, false, false);
		gitlab_vars_set(v, "CI_COMMIT_REF_SLUG", ref_slug(l, ref), false, false);
	}
	/* GitLab sets CI_COMMIT_BRANCH only in branch pipelines, not for MRs. */
	if (branch && !tag) {
		if (strcmp(gitlab_pipeline_source(l), "merge_request_event") == 0)
			gitlab_vars_set(v, "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", branch, false,
					false);
		else
			gitlab_vars_set(v, "CI_COMMIT_BRANCH", branch, false, false);
	}
	if (tag)
		gitlab_vars_set(v, "CI_COMMIT_TAG", tag, false, false);
	if (c && c->default_branch)
		gitlab_vars_set(v, "CI_DEFAULT_BRANCH", c->default_branch, false, false);
	if (c && c->commit_sha) {
		gitlab_vars_set(v, "CI_COMMIT_SHA", c->commit_sha, false, false);
		gitlab_vars_set(v, "CI_COMMIT_SHORT_SHA", arena_strndup(l->arena, c->commit_sha, 8),
				false, false);
	}
	for (size_t i = 0; c && c->variables && c->variables[i]; i++) {
		const char *eq = strchr(c->variables[i], '=');
		if (!eq || eq == c->variables[i])
			continue;
		const char *name =
			arena_strndup(l->arena, c->variables[i], (size_t)(eq - c->variables[i]));
		gitlab_vars_set(&l->user, name, eq + 1, false, false);
	}
}
