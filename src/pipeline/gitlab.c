/* gitlab: GitLab CI files as workflows; see gitlab.h. */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "pipeline/gitlab.h"

#include "pipeline/workflow.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/glob.h"
#include "util/map.h"
#include "util/str.h"
#include "util/vec.h"
#include "util/walk.h"
#include "util/xalloc.h"
#include "util/yaml.h"

#include <jansson.h>
#include <pcre2.h>

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* GitLab's own limits, so that what GitLab rejects is rejected here too. */
#define MAX_INCLUDES	      150
#define MAX_EXTENDS_DEPTH     11
#define MAX_REFERENCE_DEPTH   10
#define MAX_NESTED_LIST_DEPTH 10
#define MAX_PARALLEL	      200
/* Ours: recursion and output stay bounded whatever the input. */
#define MAX_EXPR_DEPTH	  64
#define MAX_EXPAND_DEPTH  8
#define MAX_VALUE_SIZE	  (1u << 20)
#define MAX_REPO_FILES	  200000
#define MAX_INCLUDE_BYTES (16u * 1024 * 1024)

/* ------------------------------------------------------------------ */
/* A pointer-keyed table: which file a node came from, resolved nodes.  */

struct ptr_slot {
	const void *key;
	void *value;
};

struct ptr_table {
	struct ptr_slot *slots;
	size_t cap;
	size_t count;
};

static size_t ptr_hash(const void *p)
{
	uint64_t x = (uint64_t)(uintptr_t)p;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x;
}

static struct ptr_slot *ptr_table_find(const struct ptr_table *t, const void *key)
{
	if (!t->cap)
		return NULL;
	size_t i = ptr_hash(key) & (t->cap - 1);
	while (t->slots[i].key) {
		if (t->slots[i].key == key)
			return &t->slots[i];
		i = (i + 1) & (t->cap - 1);
	}
	return NULL;
}

static void *ptr_table_get(const struct ptr_table *t, const void *key)
{
	struct ptr_slot *slot = ptr_table_find(t, key);
	return slot ? slot->value : NULL;
}

static void ptr_table_put(struct ptr_table *t, const void *key, void *value)
{
	struct ptr_slot *slot = ptr_table_find(t, key);
	if (slot) {
		slot->value = value;
		return;
	}
	if ((t->count + 1) * 2 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct ptr_slot *slots = xcalloc(cap, sizeof(*slots));
		for (size_t k = 0; k < t->cap; k++) {
			if (!t->slots[k].key)
				continue;
			size_t i = ptr_hash(t->slots[k].key) & (cap - 1);
			while (slots[i].key)
				i = (i + 1) & (cap - 1);
			slots[i] = t->slots[k];
		}
		free(t->slots);
		t->slots = slots;
		t->cap = cap;
	}
	size_t i = ptr_hash(key) & (t->cap - 1);
	while (t->slots[i].key)
		i = (i + 1) & (t->cap - 1);
	t->slots[i].key = key;
	t->slots[i].value = value;
	t->count++;
}

/* ------------------------------------------------------------------ */
/* Variables                                                            */

struct var {
	const char *name;
	const char *value;
	bool expression; /* a `${{ }}` we wrote ourselves: never escaped */
	bool literal;	 /* `expand: false`: `$` references stay as written */
};

/* In first-definition order; a later definition replaces the value in place. */
struct vars {
	struct var *items;
	size_t count;
	size_t cap;
};

static const struct var *vars_find(const struct vars *v, const char *name, size_t len)
{
	for (size_t i = 0; i < v->count; i++)
		if (strlen(v->items[i].name) == len && memcmp(v->items[i].name, name, len) == 0)
			return &v->items[i];
	return NULL;
}

static void vars_set(struct vars *v, const char *name, const char *value, bool expression,
		     bool literal)
{
	struct var *slot = (struct var *)vars_find(v, name, strlen(name));
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

static void vars_add_all(struct vars *dst, const struct vars *src)
{
	for (size_t i = 0; i < src->count; i++)
		vars_set(dst, src->items[i].name, src->items[i].value, src->items[i].expression,
			 src->items[i].literal);
}

static void vars_free(struct vars *v)
{
	free(v->items);
	memset(v, 0, sizeof(*v));
}

/* ------------------------------------------------------------------ */
/* The loader                                                           */

enum job_fate { JOB_RUNS, JOB_EXCLUDED, JOB_LEFT_OUT };

struct gjob {
	const char *name;
	const struct yaml_node *key;
	struct yaml_node *node; /* extends and defaults applied */
	size_t stage;
	enum job_fate fate;
	const char *when;
	bool allow_failure;
	const struct yaml_node *needs;		/* job's or the matched rule's; NULL: stages */
	const struct yaml_node *rule_variables; /* the matched rule's variables */
	struct vars vars;			/* what the job sees, by precedence */
};

struct loader {
	const char *file;
	const char *repo_dir;
	const struct gitlab_context *ctx;
	struct err *e;
	struct arena *arena;
	struct vec docs;	   /* struct yaml_doc *, freed at the end */
	struct ptr_table origins;  /* node -> the file it was read from */
	struct ptr_table resolved; /* node -> the node with !reference resolved */
	struct yaml_node *raw_root;
	struct yaml_node *root; /* every file merged, references resolved */
	struct map *included;
	size_t includes;
	struct vec repo_files;
	bool repo_files_listed;
	const char **stages;
	size_t stages_count;
	struct vars predefined; /* pipeline-level CI_* variables */
	struct vars user;	/* ctx->variables */
	struct vars globals;	/* top-level variables, then workflow:rules:variables */
	struct yaml_node *defaults;
	struct map *extends_done;
	struct map *extends_busy;
	struct gjob *jobs;
	size_t jobs_count;
};

static const char *node_file(const struct loader *l, const struct yaml_node *node)
{
	const char *file = ptr_table_get(&l->origins, node);
	return file ? file : l->file;
}

static int node_err(struct loader *l, const struct yaml_node *node, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int node_err(struct loader *l, const struct yaml_node *node, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	yaml_err(l->e, node_file(l, node), node, "%s", buf_cstr(&msg));
	buf_free(&msg);
	return -1;
}

static void origins_register(struct loader *l, const struct yaml_node *node, const char *file)
{
	if (!node || ptr_table_get(&l->origins, node))
		return;
	ptr_table_put(&l->origins, node, (void *)file);
	if (node->kind == YAML_SEQUENCE) {
		for (size_t i = 0; i < node->count; i++)
			origins_register(l, node->items[i], file);
	} else if (node->kind == YAML_MAPPING) {
		for (size_t i = 0; i < node->count; i++) {
			origins_register(l, node->pairs[i].key, file);
			origins_register(l, node->pairs[i].value, file);
		}
	}
}

/* A node we build (merges, resolved references) sits where `like` was written. */
static struct yaml_node *node_new(struct loader *l, enum yaml_kind kind,
				  const struct yaml_node *like, size_t capacity)
{
	struct yaml_node *n = arena_calloc(l->arena, 1, sizeof(*n));
	n->kind = kind;
	n->line = like->line;
	n->column = like->column;
	n->value = "";
	if (kind == YAML_MAPPING)
		n->pairs = arena_calloc(l->arena, capacity ? capacity : 1, sizeof(*n->pairs));
	else if (kind == YAML_SEQUENCE)
		n->items = arena_calloc(l->arena, capacity ? capacity : 1, sizeof(*n->items));
	ptr_table_put(&l->origins, n, (void *)node_file(l, like));
	return n;
}

static bool same_key(const struct yaml_node *a, const struct yaml_node *b)
{
	return a->kind == YAML_SCALAR && b->kind == YAML_SCALAR && a->length == b->length &&
	       memcmp(a->value, b->value, a->length) == 0;
}

static struct yaml_pair *pair_find(const struct yaml_node *map, const struct yaml_node *key)
{
	for (size_t i = 0; i < map->count; i++)
		if (same_key(map->pairs[i].key, key))
			return &map->pairs[i];
	return NULL;
}

/*
 * GitLab's deep merge (extends, include): hashes merge key by key, with
 * over winning; anything else, arrays included, is replaced by over.
 */
static struct yaml_node *node_merge(struct loader *l, struct yaml_node *base,
				    struct yaml_node *over)
{
	if (!base)
		return over;
	if (!over)
		return base;
	if (base->kind != YAML_MAPPING || over->kind != YAML_MAPPING)
		return over;
	struct yaml_node *m = node_new(l, YAML_MAPPING, over, base->count + over->count);
	for (size_t i = 0; i < base->count; i++) {
		struct yaml_pair *o = pair_find(over, base->pairs[i].key);
		m->pairs[m->count].key = base->pairs[i].key;
		m->pairs[m->count].value =
			o ? node_merge(l, base->pairs[i].value, o->value) : base->pairs[i].value;
		m->count++;
	}
	for (size_t i = 0; i < over->count; i++)
		if (!pair_find(base, over->pairs[i].key))
			m->pairs[m->count++] = over->pairs[i];
	return m;
}

/* The key node of map's entry name: errors about a key point at the key. */
static const struct yaml_node *key_of(const struct yaml_node *map, const char *name)
{
	for (size_t i = 0; map && map->kind == YAML_MAPPING && i < map->count; i++)
		if (str_eq(yaml_str(map->pairs[i].key), name))
			return map->pairs[i].key;
	return NULL;
}

static bool word_in(const char *const *words, const char *word)
{
	for (; *words; words++)
		if (strcmp(*words, word) == 0)
			return true;
	return false;
}

static int keys_check(struct loader *l, const struct yaml_node *map, const char *const *allowed,
		      const char *what)
{
	for (size_t i = 0; i < map->count; i++) {
		const struct yaml_node *key = map->pairs[i].key;
		if (key->kind != YAML_SCALAR)
			return node_err(l, key, "%s: keys must be plain names", what);
		if (!word_in(allowed, key->value))
			return node_err(l, key, "%s: unknown key '%s'", what, key->value);
	}
	return 0;
}

/* Nested lists (from !reference) read as one flat list, as GitLab does. */
static int list_flatten(struct loader *l, const struct yaml_node *node, struct vec *out, int depth,
			const char *what)
{
	if (node->kind != YAML_SEQUENCE) {
		vec_push(out, (void *)node);
		return 0;
	}
	if (depth > MAX_NESTED_LIST_DEPTH)
		return node_err(l, node, "%s: lists nest more than %d levels", what,
				MAX_NESTED_LIST_DEPTH);
	for (size_t i = 0; i < node->count; i++)
		if (list_flatten(l, node->items[i], out, depth + 1, what))
			return -1;
	return 0;
}

/* Scalar text for a value GitLab takes as a string (numbers and booleans too). */
static const char *scalar_text(const struct yaml_node *node)
{
	if (!node || node->kind != YAML_SCALAR)
		return NULL;
	return yaml_is_null(node) ? "" : node->value;
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

static bool is_name_char(char c)
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
		while (is_name_char(*q))
			q++;
		if (q == start || (brace && *q != '}')) {
			/* "${{" must reach the escape whole. */
			size_t n = strncmp(p, "${{", 3) == 0 ? 3 : 1;
			buf_add_text(out, p, n, escape);
			p += n;
			continue;
		}
		const char *end = q + brace;
		const struct var *v = vars_find(scope, start, (size_t)(q - start));
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
			return node_err(l, where, "the value expands to more than %u bytes",
					MAX_VALUE_SIZE);
		p = end;
	}
	return 0;
}

static int value_expand(struct loader *l, const struct yaml_node *where, const struct vars *scope,
			const char *text, bool escape, const char **out)
{
	const char *stack[MAX_EXPAND_DEPTH];
	struct buf b = BUF_INIT;
	int rc = expand_into(l, where, scope, text, escape, &b, stack, 0);
	*out = rc ? NULL : arena_strdup(l->arena, buf_cstr(&b));
	buf_free(&b);
	return rc;
}

static char *text_escape(const char *s)
{
	struct buf b = BUF_INIT;
	buf_add_literal(&b, s, strlen(s));
	return buf_detach(&b);
}

/* json_string fails on invalid UTF-8; a value must never be lost silently. */
static json_t *json_text(const char *s)
{
	json_t *j = json_string(s);
	return j ? j : json_stringn_nocheck(s, strlen(s));
}

/* ------------------------------------------------------------------ */
/* Variable definitions                                                 */

static int vars_parse(struct loader *l, const struct yaml_node *node, struct vars *into,
		      const char *what)
{
	if (!node || yaml_is_null(node))
		return 0;
	if (node->kind != YAML_MAPPING)
		return node_err(l, node, "%s: variables must be a mapping of NAME: value", what);
	for (size_t i = 0; i < node->count; i++) {
		const struct yaml_node *key = node->pairs[i].key;
		const struct yaml_node *value = node->pairs[i].value;
		const char *name = scalar_text(key);
		if (!name || !*name || strchr(name, '='))
			return node_err(l, key, "%s: a variable name must be a non-empty word",
					what);
		bool literal = false;
		const char *text = scalar_text(value);
		if (!text && value->kind == YAML_MAPPING) {
			static const char *const keys[] = { "value", "description", "options",
							    "expand", NULL };
			if (keys_check(l, value, keys, what))
				return -1;
			const struct yaml_node *v = yaml_get(value, "value");
			text = v ? scalar_text(v) : "";
			if (!text)
				return node_err(l, v, "%s: %s: value must be a string", what, name);
			const struct yaml_node *expand = yaml_get(value, "expand");
			bool on = true;
			if (expand && yaml_bool(expand, node_file(l, expand), &on, l->e))
				return -1;
			literal = !on;
		}
		if (!text)
			return node_err(l, value, "%s: %s: a variable's value must be a string",
					what, name);
		vars_set(into, name, text, false, literal);
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

static const char *pipeline_source(const struct loader *l)
{
	return l->ctx && l->ctx->pipeline_source ? l->ctx->pipeline_source : "push";
}

static void predefined_build(struct loader *l)
{
	const struct gitlab_context *c = l->ctx;
	struct vars *v = &l->predefined;
	const char *branch = c ? c->branch : NULL;
	const char *tag = c ? c->tag : NULL;
	const char *ref = tag ? tag : branch;
	vars_set(v, "CI", "true", false, false);
	vars_set(v, "GITLAB_CI", "true", false, false);
	vars_set(v, "CI_PIPELINE_SOURCE", pipeline_source(l), false, false);
	vars_set(v, "CI_PROJECT_DIR", "${{ github.workspace }}", true, false);
	if (ref) {
		vars_set(v, "CI_COMMIT_REF_NAME", ref, false, false);
		vars_set(v, "CI_COMMIT_REF_SLUG", ref_slug(l, ref), false, false);
	}
	/* GitLab sets CI_COMMIT_BRANCH only in branch pipelines, not for MRs. */
	if (branch && !tag) {
		if (strcmp(pipeline_source(l), "merge_request_event") == 0)
			vars_set(v, "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", branch, false, false);
		else
			vars_set(v, "CI_COMMIT_BRANCH", branch, false, false);
	}
	if (tag)
		vars_set(v, "CI_COMMIT_TAG", tag, false, false);
	if (c && c->default_branch)
		vars_set(v, "CI_DEFAULT_BRANCH", c->default_branch, false, false);
	if (c && c->commit_sha) {
		vars_set(v, "CI_COMMIT_SHA", c->commit_sha, false, false);
		vars_set(v, "CI_COMMIT_SHORT_SHA", arena_strndup(l->arena, c->commit_sha, 8), false,
			 false);
	}
	for (size_t i = 0; c && c->variables && c->variables[i]; i++) {
		const char *eq = strchr(c->variables[i], '=');
		if (!eq || eq == c->variables[i])
			continue;
		const char *name =
			arena_strndup(l->arena, c->variables[i], (size_t)(eq - c->variables[i]));
		vars_set(&l->user, name, eq + 1, false, false);
	}
}

/* ------------------------------------------------------------------ */
/* Expressions: rules:if and only/except:variables                      */

/* Runs pattern (a /regex/'s body and flags) against subject. */
static int regex_match(struct loader *l, const struct yaml_node *where, const char *pattern,
		       size_t len, const char *flags, size_t flags_len, const char *subject,
		       bool *out)
{
	uint32_t options = 0;
	for (size_t i = 0; i < flags_len; i++) {
		switch (flags[i]) {
		case 'i':
			options |= PCRE2_CASELESS;
			break;
		case 'm':
			options |= PCRE2_MULTILINE;
			break;
		case 's':
			options |= PCRE2_DOTALL;
			break;
		case 'x':
			options |= PCRE2_EXTENDED;
			break;
		default:
			return node_err(l, where, "unknown regex flag '%c' (use i, m, s or x)",
					flags[i]);
		}
	}
	int code;
	PCRE2_SIZE offset;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, len, options, &code, &offset, NULL);
	if (!re) {
		PCRE2_UCHAR message[256];
		pcre2_get_error_message(code, message, sizeof(message));
		return node_err(l, where, "bad regex /%.*s/: %s at offset %zu", (int)len, pattern,
				(const char *)message, (size_t)offset);
	}
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	pcre2_match_context *mc = pcre2_match_context_create(NULL);
	/* GitLab uses RE2, which cannot backtrack; PCRE2 must not either. */
	pcre2_set_match_limit(mc, 100000);
	pcre2_set_depth_limit(mc, 10000);
	int rc = pcre2_match(re, (PCRE2_SPTR)subject, strlen(subject), 0, 0, md, mc);
	pcre2_match_context_free(mc);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	if (rc >= 0 || rc == PCRE2_ERROR_NOMATCH) {
		*out = rc >= 0;
		return 0;
	}
	return node_err(l, where, "regex /%.*s/ is too costly to match", (int)len, pattern);
}

/* Finds the '/' that closes a regex literal starting at text[0] == '/'. */
static bool regex_end(const char *text, size_t *end)
{
	for (size_t i = 1; text[i]; i++) {
		if (text[i] == '\\' && text[i + 1]) {
			i++;
		} else if (text[i] == '/') {
			*end = i;
			return true;
		}
	}
	return false;
}

enum expr_kind { EXPR_NULL, EXPR_STRING, EXPR_REGEX, EXPR_BOOL };

struct expr_value {
	enum expr_kind kind;
	const char *text; /* string, or a regex's body */
	size_t len;
	const char *flags; /* regex */
	size_t flags_len;
	bool truth;	    /* bool */
	bool from_variable; /* a string that came from $VAR */
};

struct expr {
	struct loader *l;
	const struct yaml_node *node;
	const char *what;
	const char *src;
	const char *p;
	const struct vars *vars;
	int depth;
};

static int expr_fail(struct expr *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int expr_fail(struct expr *x, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	node_err(x->l, x->node, "%s: %s at character %zu of '%s'", x->what, buf_cstr(&msg),
		 (size_t)(x->p - x->src) + 1, x->src);
	buf_free(&msg);
	return -1;
}

static void expr_skip(struct expr *x)
{
	while (*x->p == ' ' || *x->p == '\t' || *x->p == '\n' || *x->p == '\r')
		x->p++;
}

static bool expr_truthy(const struct expr_value *v)
{
	switch (v->kind) {
	case EXPR_NULL:
		return false;
	case EXPR_STRING:
		return v->len > 0;
	case EXPR_BOOL:
		return v->truth;
	case EXPR_REGEX:
		return true;
	}
	return false;
}

static void expr_bool(struct expr_value *v, bool truth)
{
	memset(v, 0, sizeof(*v));
	v->kind = EXPR_BOOL;
	v->truth = truth;
}

static int expr_or(struct expr *x, struct expr_value *out);

static int expr_primary(struct expr *x, struct expr_value *out)
{
	memset(out, 0, sizeof(*out));
	if (++x->depth > MAX_EXPR_DEPTH)
		return expr_fail(x, "parentheses nest too deeply");
	expr_skip(x);
	const char *p = x->p;
	if (*p == '(') {
		x->p++;
		if (expr_or(x, out))
			return -1;
		expr_skip(x);
		if (*x->p != ')')
			return expr_fail(x, "expected ')'");
		x->p++;
	} else if (*p == '$') {
		bool brace = p[1] == '{';
		const char *start = p + 1 + brace;
		const char *q = start;
		while (is_name_char(*q))
			q++;
		if (q == start || (brace && *q != '}'))
			return expr_fail(x, "'$' must start a variable name");
		const struct var *v = vars_find(x->vars, start, (size_t)(q - start));
		if (v) {
			out->kind = EXPR_STRING;
			out->text = v->value;
			out->len = strlen(v->value);
			out->from_variable = true;
		}
		x->p = q + brace;
	} else if (*p == '"' || *p == '\'') {
		const char *close = strchr(p + 1, *p);
		if (!close)
			return expr_fail(x, "unterminated string");
		out->kind = EXPR_STRING;
		out->text = p + 1;
		out->len = (size_t)(close - p - 1);
		x->p = close + 1;
	} else if (*p == '/') {
		size_t end;
		if (!regex_end(p, &end))
			return expr_fail(x, "unterminated regex");
		out->kind = EXPR_REGEX;
		out->text = p + 1;
		out->len = end - 1;
		out->flags = p + end + 1;
		while (isalpha((unsigned char)out->flags[out->flags_len]))
			out->flags_len++;
		x->p = out->flags + out->flags_len;
	} else if (strncmp(p, "null", 4) == 0 && !is_name_char(p[4])) {
		x->p += 4;
	} else if (!*p) {
		return expr_fail(x, "expected a variable, a string, a regex or null");
	} else {
		return expr_fail(x, "unexpected '%c'", *p);
	}
	x->depth--;
	return 0;
}

/* A variable used as a pattern holds "/body/flags"; other text is the body. */
static void expr_as_regex(struct expr_value *v)
{
	size_t end;
	if (v->len > 1 && v->text[0] == '/' && regex_end(v->text, &end)) {
		v->flags = v->text + end + 1;
		v->flags_len = v->len - end - 1;
		v->text++;
		v->len = end - 1;
	} else {
		v->flags = "";
		v->flags_len = 0;
	}
	v->kind = EXPR_REGEX;
}

static int expr_compare(struct expr *x, struct expr_value *out)
{
	if (expr_primary(x, out))
		return -1;
	expr_skip(x);
	const char *p = x->p;
	bool equal = p[0] == '=' && p[1] == '=';
	bool unequal = p[0] == '!' && p[1] == '=';
	bool match = p[0] == '=' && p[1] == '~';
	bool nomatch = p[0] == '!' && p[1] == '~';
	if (!equal && !unequal && !match && !nomatch)
		return 0;
	const char *op = p;
	x->p += 2;
	struct expr_value right;
	if (expr_primary(x, &right))
		return -1;
	struct expr_value left = *out;
	if (equal || unequal) {
		if (left.kind == EXPR_REGEX || left.kind == EXPR_BOOL || right.kind == EXPR_REGEX ||
		    right.kind == EXPR_BOOL) {
			x->p = op;
			return expr_fail(x, "%.2s compares variables, strings and null", op);
		}
		bool same =
			left.kind == right.kind &&
			(left.kind == EXPR_NULL ||
			 (left.len == right.len && memcmp(left.text, right.text, left.len) == 0));
		expr_bool(out, equal ? same : !same);
		return 0;
	}
	struct expr_value subject = left, pattern = right;
	if (left.kind == EXPR_REGEX && right.kind != EXPR_REGEX) {
		subject = right;
		pattern = left;
	}
	if (pattern.kind == EXPR_STRING && pattern.from_variable)
		expr_as_regex(&pattern);
	if (pattern.kind == EXPR_NULL && right.kind == EXPR_NULL && subject.kind != EXPR_REGEX) {
		/* An unset variable as the pattern matches nothing. */
		expr_bool(out, nomatch);
		return 0;
	}
	if (pattern.kind != EXPR_REGEX || subject.kind == EXPR_REGEX || subject.kind == EXPR_BOOL) {
		x->p = op;
		return expr_fail(x, "%.2s needs a /regex/ or a variable holding one on one side",
				 op);
	}
	/* The pattern is compiled even when the subject is unset, so a bad
	 * regex is an error whatever the variables hold. */
	char *subject_text =
		subject.kind == EXPR_STRING ? xstrndup(subject.text, subject.len) : NULL;
	bool found = false;
	char *body = xstrndup(pattern.text, pattern.len);
	int rc = regex_match(x->l, x->node, body, pattern.len, pattern.flags, pattern.flags_len,
			     subject_text ? subject_text : "", &found);
	free(body);
	free(subject_text);
	if (rc)
		return -1;
	if (subject.kind == EXPR_NULL)
		found = false;
	expr_bool(out, match ? found : !found);
	return 0;
}

static int expr_and(struct expr *x, struct expr_value *out)
{
	if (expr_compare(x, out))
		return -1;
	for (;;) {
		expr_skip(x);
		if (x->p[0] != '&' || x->p[1] != '&')
			return 0;
		x->p += 2;
		struct expr_value right;
		if (expr_compare(x, &right))
			return -1;
		expr_bool(out, expr_truthy(out) && expr_truthy(&right));
	}
}

static int expr_or(struct expr *x, struct expr_value *out)
{
	if (expr_and(x, out))
		return -1;
	for (;;) {
		expr_skip(x);
		if (x->p[0] != '|' || x->p[1] != '|')
			return 0;
		x->p += 2;
		struct expr_value right;
		if (expr_and(x, &right))
			return -1;
		expr_bool(out, expr_truthy(out) || expr_truthy(&right));
	}
}

/*
 * Evaluates a GitLab CI/CD variable expression now, at load time: every
 * variable it can see is known before any job runs. An unset variable is
 * null; a bare variable is true when set and not empty.
 */
static int expr_eval(struct loader *l, const struct yaml_node *node, const char *what,
		     const struct vars *vars, bool *out)
{
	const char *text = scalar_text(node);
	if (!text)
		return node_err(l, node, "%s: expected an expression string", what);
	struct expr x = {
		.l = l, .node = node, .what = what, .src = text, .p = text, .vars = vars
	};
	struct expr_value v;
	if (expr_or(&x, &v))
		return -1;
	expr_skip(&x);
	if (*x.p)
		return expr_fail(&x, "unexpected '%c'", *x.p);
	*out = expr_truthy(&v);
	return 0;
}

/* ------------------------------------------------------------------ */
/* rules, exists, only/except                                           */

static enum walk_action repo_file_add(struct walk_entry *entry, void *arg)
{
	vec_push(arg, xstrdup(entry->path));
	return WALK_CONTINUE;
}

static int repo_files_list(struct loader *l)
{
	if (l->repo_files_listed)
		return 0;
	l->repo_files_listed = true;
	struct walk_options opts = { .max_entries = MAX_REPO_FILES };
	return walk_tree(l->repo_dir, &opts, repo_file_add, &l->repo_files, l->e);
}

static int exists_eval(struct loader *l, const struct yaml_node *node, const struct vars *vars,
		       bool *out)
{
	*out = false;
	if (node->kind == YAML_MAPPING) {
		static const char *const keys[] = { "paths", "project", "ref", NULL };
		if (keys_check(l, node, keys, "rules:exists"))
			return -1;
		const struct yaml_node *project = yaml_get(node, "project");
		if (project)
			return node_err(l, project,
					"rules:exists:project looks into another project, which "
					"ampel run cannot do");
		const struct yaml_node *paths = yaml_get(node, "paths");
		if (!paths)
			return node_err(l, node, "rules:exists: paths is required");
		node = paths;
	}
	struct vec patterns = VEC_INIT;
	int rc = list_flatten(l, node, &patterns, 0, "rules:exists");
	for (size_t i = 0; rc == 0 && i < patterns.len; i++)
		if (!scalar_text(patterns.items[i]))
			rc = node_err(l, patterns.items[i], "rules:exists: expected file paths");
	/* Without a repository there is nothing to look at: assume it exists. */
	if (rc == 0 && !l->repo_dir)
		*out = true;
	else if (rc == 0 && patterns.len)
		rc = repo_files_list(l);
	for (size_t i = 0; rc == 0 && l->repo_dir && !*out && i < patterns.len; i++) {
		const char *pattern;
		rc = value_expand(l, patterns.items[i], vars, scalar_text(patterns.items[i]), false,
				  &pattern);
		if (rc)
			break;
		while (*pattern == '/')
			pattern++;
		struct glob *g = glob_compile(pattern, 0);
		for (size_t k = 0; !*out && k < l->repo_files.len; k++)
			*out = glob_matches(g, l->repo_files.items[k]);
		glob_free(g);
	}
	vec_free(&patterns, NULL);
	return rc;
}

enum rules_scope { RULES_JOB, RULES_WORKFLOW, RULES_INCLUDE };

static int when_check(struct loader *l, const struct yaml_node *node, enum rules_scope scope,
		      const char **out)
{
	static const char *const job[] = { "on_success", "on_failure", "always", "manual",
					   "delayed",	 "never",      NULL };
	static const char *const pipeline[] = { "always", "never", NULL };
	const char *const *allowed = scope == RULES_JOB ? job : pipeline;
	const char *text = scalar_text(node);
	if (!text || !word_in(allowed, text)) {
		struct buf list = BUF_INIT;
		for (const char *const *w = allowed; *w; w++)
			buf_addf(&list, "%s%s", w == allowed ? "" : ", ", *w);
		node_err(l, node, "when must be one of %s", buf_cstr(&list));
		buf_free(&list);
		return -1;
	}
	*out = text;
	return 0;
}

/*
 * The first rule whose clauses (if, changes, exists) all hold decides;
 * *matched stays NULL when none does. changes counts as true: a local run
 * has no push to diff against (GitLab does the same without a diff base).
 */
static int rules_match(struct loader *l, const struct yaml_node *rules, const struct vars *vars,
		       enum rules_scope scope, const struct yaml_node **matched)
{
	static const char *const job_keys[] = { "if",	 "changes",	  "exists",
						"when",	 "allow_failure", "variables",
						"needs", "interruptible", "start_in",
						NULL };
	static const char *const workflow_keys[] = { "if",	  "changes",	 "exists", "when",
						     "variables", "auto_cancel", NULL };
	static const char *const include_keys[] = { "if", "changes", "exists", "when", NULL };
	const char *const *keys = scope == RULES_JOB	    ? job_keys
				  : scope == RULES_WORKFLOW ? workflow_keys
							    : include_keys;
	*matched = NULL;
	if (yaml_is_null(rules))
		return 0;
	if (rules->kind != YAML_SEQUENCE)
		return node_err(l, rules, "rules must be a list");
	struct vec list = VEC_INIT;
	int rc = list_flatten(l, rules, &list, 0, "rules");
	for (size_t i = 0; rc == 0 && i < list.len; i++) {
		const struct yaml_node *rule = list.items[i];
		if (rule->kind != YAML_MAPPING) {
			rc = node_err(l, rule,
				      "rules: each rule must be a mapping (if:, when:, ...)");
			break;
		}
		if ((rc = keys_check(l, rule, keys, "rules")))
			break;
		const struct yaml_node *when = yaml_get(rule, "when");
		const char *ignored;
		if (when && (rc = when_check(l, when, scope, &ignored)))
			break;
		bool holds = true, clause;
		const struct yaml_node *cond = yaml_get(rule, "if");
		/* Every if is evaluated so that a bad expression is always an error. */
		if (cond && (rc = expr_eval(l, cond, "rules:if", vars, &clause)) == 0)
			holds = holds && clause;
		const struct yaml_node *exists = yaml_get(rule, "exists");
		if (rc == 0 && exists && holds && !*matched &&
		    (rc = exists_eval(l, exists, vars, &clause)) == 0)
			holds = holds && clause;
		if (rc == 0 && holds && !*matched)
			*matched = rule;
	}
	vec_free(&list, NULL);
	return rc;
}

static const char *ref_name(const struct loader *l)
{
	if (!l->ctx)
		return NULL;
	return l->ctx->tag ? l->ctx->tag : l->ctx->branch;
}

/* only/except refs keywords, against the pipeline's ref and source. */
static bool ref_keyword(const struct loader *l, const char *word, bool *known)
{
	const char *source = pipeline_source(l);
	bool tag = l->ctx && l->ctx->tag;
	/* Every pipeline GitLab runs has a ref: when none is known, a branch. */
	bool branch = !tag;
	static const struct {
		const char *word;
		const char *source;
	} sources[] = {
		{ "api", "api" },
		{ "chat", "chat" },
		{ "external", "external" },
		{ "external_pull_requests", "external_pull_request_event" },
		{ "merge_requests", "merge_request_event" },
		{ "pipelines", "pipeline" },
		{ "pushes", "push" },
		{ "schedules", "schedule" },
		{ "triggers", "trigger" },
		{ "web", "web" },
	};
	*known = true;
	if (strcmp(word, "branches") == 0)
		return branch && strcmp(source, "merge_request_event") != 0;
	if (strcmp(word, "tags") == 0)
		return tag;
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
		if (strcmp(word, sources[i].word) == 0)
			return strcmp(source, sources[i].source) == 0;
	*known = false;
	return false;
}

static int refs_match(struct loader *l, const struct yaml_node *refs, bool *out)
{
	*out = false;
	struct vec list = VEC_INIT;
	int rc = list_flatten(l, refs, &list, 0, "refs");
	const char *ref = ref_name(l);
	for (size_t i = 0; rc == 0 && i < list.len; i++) {
		const struct yaml_node *item = list.items[i];
		const char *text = scalar_text(item);
		if (!text || !*text) {
			rc = node_err(l, item,
				      "refs: expected a branch or tag name, a /regex/ or a "
				      "keyword such as branches, tags or merge_requests");
			break;
		}
		bool hit = false, known;
		size_t end;
		if (text[0] == '/' && regex_end(text, &end)) {
			const char *flags = text + end + 1;
			size_t flags_len = strcspn(flags, "@");
			char *body = xstrndup(text + 1, end - 1);
			rc = regex_match(l, item, body, end - 1, flags, flags_len, ref ? ref : "",
					 &hit);
			free(body);
			hit = hit && ref;
		} else {
			/* "name@group/project" limits to one project: ours. */
			char *name = xstrndup(text, strcspn(text, "@"));
			hit = ref_keyword(l, name, &known);
			if (!known)
				hit = ref && strcmp(name, ref) == 0;
			free(name);
		}
		*out = *out || hit;
	}
	vec_free(&list, NULL);
	return rc;
}

static int variables_any(struct loader *l, const struct yaml_node *node, const char *what,
			 const struct vars *vars, bool *out)
{
	*out = false;
	struct vec list = VEC_INIT;
	int rc = list_flatten(l, node, &list, 0, what);
	for (size_t i = 0; rc == 0 && i < list.len; i++) {
		bool holds;
		rc = expr_eval(l, list.items[i], what, vars, &holds);
		*out = *out || (rc == 0 && holds);
	}
	vec_free(&list, NULL);
	return rc;
}

/*
 * One of only/except. For only, every key present must hold (AND); for
 * except, any key that holds excludes (OR) — GitLab's documented logic.
 */
static int only_except_eval(struct loader *l, const struct yaml_node *node, bool is_only,
			    const struct vars *vars, bool *out)
{
	const char *what = is_only ? "only" : "except";
	if (node->kind != YAML_MAPPING)
		return refs_match(l, node, out);
	static const char *const keys[] = { "refs", "variables", "changes", "kubernetes", NULL };
	if (keys_check(l, node, keys, what))
		return -1;
	bool all = true, any = false, holds;
	const struct yaml_node *refs = yaml_get(node, "refs");
	if (refs) {
		if (refs_match(l, refs, &holds))
			return -1;
		all = all && holds;
		any = any || holds;
	}
	const struct yaml_node *variables = yaml_get(node, "variables");
	if (variables) {
		if (variables_any(l, variables, is_only ? "only:variables" : "except:variables",
				  vars, &holds))
			return -1;
		all = all && holds;
		any = any || holds;
	}
	/* changes: no diff locally, so true; kubernetes: assumed active. */
	if (yaml_get(node, "changes") || yaml_get(node, "kubernetes"))
		any = true;
	*out = is_only ? all : any;
	return 0;
}

/* ------------------------------------------------------------------ */
/* include                                                              */

static int include_process(struct loader *l, struct yaml_node *root, int depth,
			   struct yaml_node **out);

static int root_check(struct loader *l, const struct yaml_doc *doc, const char *file)
{
	if (!doc->root || yaml_is_null(doc->root) || doc->root->kind != YAML_MAPPING) {
		if (doc->root)
			return node_err(l, doc->root,
					"a GitLab CI file must be a mapping of jobs "
					"and keywords");
		return err_set(l->e, "%s:1:1: the file is empty: define at least one job", file);
	}
	const struct yaml_node *spec = key_of(doc->root, "spec");
	if (spec)
		return node_err(l, spec,
				"spec: headers (include inputs) are not supported by "
				"ampel run");
	return 0;
}

static int include_file(struct loader *l, const struct yaml_node *where, const char *rel, int depth,
			struct yaml_node **acc)
{
	if (map_has(l->included, rel))
		return 0;
	map_put(l->included, rel, (void *)1);
	if (++l->includes > MAX_INCLUDES)
		return node_err(l, where, "include: more than %d files are included", MAX_INCLUDES);
	if (!str_ends_with(rel, ".yml") && !str_ends_with(rel, ".yaml"))
		return node_err(l, where, "include: '%s' must be a .yml or .yaml file", rel);
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/%s", l->repo_dir, rel);
	char *real = realpath(buf_cstr(&path), NULL);
	char *root = realpath(l->repo_dir, NULL);
	size_t root_len = root ? strlen(root) : 0;
	bool inside = real && root && strncmp(real, root, root_len) == 0 &&
		      (real[root_len] == '/' || real[root_len] == '\0');
	free(root);
	if (!inside) {
		free(real);
		buf_free(&path);
		return node_err(l, where, "include: '%s' is not a file in the repository", rel);
	}
	struct buf data = BUF_INIT;
	struct err read_err = ERR_INIT;
	int rc = buf_read_file(&data, real, MAX_INCLUDE_BYTES, &read_err);
	free(real);
	buf_free(&path);
	if (rc) {
		buf_free(&data);
		return node_err(l, where, "include: %s", read_err.msg);
	}
	const char *name = arena_strdup(l->arena, rel);
	struct yaml_doc *doc = NULL;
	rc = yaml_parse(&doc, name, data.data ? data.data : "", data.len, l->e);
	buf_free(&data);
	if (rc)
		return -1;
	vec_push(&l->docs, doc);
	origins_register(l, doc->root, name);
	if (root_check(l, doc, name))
		return -1;
	struct yaml_node *merged;
	if (include_process(l, doc->root, depth + 1, &merged))
		return -1;
	*acc = node_merge(l, *acc, merged);
	return 0;
}

static int include_local(struct loader *l, const struct yaml_node *where, const char *text,
			 int depth, struct yaml_node **acc)
{
	if (!l->repo_dir)
		return node_err(l, where, "include: '%s' needs the repository directory", text);
	const char *rel;
	struct vars scope = { 0 };
	vars_add_all(&scope, &l->predefined);
	vars_add_all(&scope, &l->user);
	int rc = value_expand(l, where, &scope, text, false, &rel);
	vars_free(&scope);
	if (rc)
		return -1;
	while (*rel == '/')
		rel++;
	if (!*rel || strcmp(rel, "..") == 0 || str_starts_with(rel, "../") || strstr(rel, "/../") ||
	    str_ends_with(rel, "/.."))
		return node_err(l, where, "include: '%s' must be a path inside the repository",
				text);
	if (!glob_has_wildcards(rel))
		return include_file(l, where, rel, depth, acc);
	if (repo_files_list(l))
		return -1;
	struct glob *g = glob_compile(rel, 0);
	bool any = false;
	for (size_t i = 0; rc == 0 && i < l->repo_files.len; i++) {
		const char *path = l->repo_files.items[i];
		if (!glob_matches(g, path) ||
		    (!str_ends_with(path, ".yml") && !str_ends_with(path, ".yaml")))
			continue;
		any = true;
		rc = include_file(l, where, path, depth, acc);
	}
	glob_free(g);
	if (rc == 0 && !any)
		return node_err(l, where, "include: '%s' matches no file", text);
	return rc;
}

static int include_entry(struct loader *l, const struct yaml_node *item, int depth,
			 struct yaml_node **acc)
{
	static const char *const keys[] = { "local",	"remote",    "project", "file",	  "ref",
					    "template", "component", "rules",	"inputs", NULL };
	static const char *const remote[] = { "remote", "project", "template", "component", NULL };
	const char *text = scalar_text(item);
	if (text) {
		if (str_starts_with(text, "https://") || str_starts_with(text, "http://"))
			return node_err(
				l, item,
				"include: remote file '%s' cannot be fetched by ampel run; "
				"copy it into the repository and include it as a local file",
				text);
		return include_local(l, item, text, depth, acc);
	}
	if (item->kind != YAML_MAPPING)
		return node_err(l, item,
				"include: expected a file path or a mapping such as "
				"local: path");
	if (keys_check(l, item, keys, "include"))
		return -1;
	for (const char *const *k = remote; *k; k++) {
		const struct yaml_node *n = key_of(item, *k);
		if (n)
			return node_err(l, n,
					"include:%s is not supported by ampel run: only local "
					"files can be included",
					*k);
	}
	const struct yaml_node *local = yaml_get(item, "local");
	if (!local || !scalar_text(local) || !*scalar_text(local))
		return node_err(l, item, "include: local: must name a file");
	const struct yaml_node *rules = yaml_get(item, "rules");
	if (rules) {
		struct vars scope = { 0 };
		vars_add_all(&scope, &l->predefined);
		vars_add_all(&scope, &l->user);
		const struct yaml_node *matched;
		int rc = rules_match(l, rules, &scope, RULES_INCLUDE, &matched);
		vars_free(&scope);
		if (rc)
			return -1;
		const struct yaml_node *when = matched ? yaml_get(matched, "when") : NULL;
		if (!matched || (when && strcmp(scalar_text(when), "never") == 0))
			return 0;
	}
	return include_local(l, local, scalar_text(local), depth, acc);
}

/* Included files are merged first, in order; the including file wins. */
static int include_process(struct loader *l, struct yaml_node *root, int depth,
			   struct yaml_node **out)
{
	*out = root;
	const struct yaml_node *include = yaml_get(root, "include");
	if (!include || yaml_is_null(include))
		return 0;
	if (depth > MAX_INCLUDES)
		return node_err(l, include, "include: files include each other too deeply");
	struct yaml_node *acc = NULL;
	if (include->kind == YAML_SEQUENCE) {
		for (size_t i = 0; i < include->count; i++)
			if (include_entry(l, include->items[i], depth, &acc))
				return -1;
	} else if (include_entry(l, include, depth, &acc)) {
		return -1;
	}
	*out = node_merge(l, acc, root);
	return 0;
}

/* ------------------------------------------------------------------ */
/* !reference                                                           */

static int reference_resolve(struct loader *l, struct yaml_node *node, int depth,
			     struct yaml_node **out);

static int reference_follow(struct loader *l, struct yaml_node *node, int depth,
			    struct yaml_node **out)
{
	if (depth >= MAX_REFERENCE_DEPTH)
		return node_err(l, node, "!reference: references nest more than %d levels",
				MAX_REFERENCE_DEPTH);
	if (node->kind != YAML_SEQUENCE || node->count == 0)
		return node_err(l, node, "!reference needs a list: [job, key, ...]");
	struct yaml_node *target = l->raw_root;
	struct buf path = BUF_INIT;
	for (size_t i = 0; i < node->count; i++) {
		const char *key = scalar_text(node->items[i]);
		if (!key) {
			buf_free(&path);
			return node_err(l, node->items[i], "!reference: each part must be a name");
		}
		buf_addf(&path, "%s%s", i ? ", " : "", key);
		target = yaml_get(target, key);
		if (!target) {
			node_err(l, node, "!reference [%s]: not found", buf_cstr(&path));
			buf_free(&path);
			return -1;
		}
	}
	buf_free(&path);
	return reference_resolve(l, target, depth + 1, out);
}

/* Returns node itself when nothing under it is a !reference. */
static int reference_resolve(struct loader *l, struct yaml_node *node, int depth,
			     struct yaml_node **out)
{
	*out = node;
	if (!node || node->kind == YAML_SCALAR)
		return 0;
	struct yaml_node *done = ptr_table_get(&l->resolved, node);
	if (done) {
		*out = done;
		return 0;
	}
	struct yaml_node *result = node;
	if (node->tag && strcmp(node->tag, "!reference") == 0) {
		if (reference_follow(l, node, depth, &result))
			return -1;
	} else if (node->kind == YAML_SEQUENCE) {
		for (size_t i = 0; i < node->count; i++) {
			struct yaml_node *item;
			if (reference_resolve(l, node->items[i], depth, &item))
				return -1;
			if (item != node->items[i] && result == node) {
				result = node_new(l, YAML_SEQUENCE, node, node->count);
				memcpy(result->items, node->items,
				       node->count * sizeof(*node->items));
				result->count = node->count;
			}
			result->items[i] = item;
		}
	} else {
		for (size_t i = 0; i < node->count; i++) {
			struct yaml_node *value;
			if (reference_resolve(l, node->pairs[i].value, depth, &value))
				return -1;
			if (value != node->pairs[i].value && result == node) {
				result = node_new(l, YAML_MAPPING, node, node->count);
				memcpy(result->pairs, node->pairs,
				       node->count * sizeof(*node->pairs));
				result->count = node->count;
			}
			result->pairs[i].value = value;
		}
	}
	ptr_table_put(&l->resolved, node, result);
	*out = result;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Top level: stages, variables, default, workflow                      */

static const char *const reserved_keys[] = { "default",	     "include",	 "stages",
					     "variables",    "workflow", "image",
					     "services",     "cache",	 "before_script",
					     "after_script", NULL };

static int stages_read(struct loader *l)
{
	static const char *const defaults[] = { "build", "test", "deploy" };
	const struct yaml_node *node = yaml_get(l->root, "stages");
	struct vec list = VEC_INIT;
	if (node && !yaml_is_null(node)) {
		if (node->kind != YAML_SEQUENCE) {
			return node_err(l, node, "stages must be a list of stage names");
		}
		if (list_flatten(l, node, &list, 0, "stages")) {
			vec_free(&list, NULL);
			return -1;
		}
	}
	l->stages = arena_calloc(l->arena, list.len + 5, sizeof(*l->stages));
	/* .pre and .post are always there, first and last. */
	l->stages[l->stages_count++] = ".pre";
	if (!node || yaml_is_null(node)) {
		for (size_t i = 0; i < 3; i++)
			l->stages[l->stages_count++] = defaults[i];
	}
	for (size_t i = 0; i < list.len; i++) {
		const char *name = scalar_text(list.items[i]);
		if (!name || !*name) {
			node_err(l, list.items[i], "stages: each stage must be a name");
			vec_free(&list, NULL);
			return -1;
		}
		bool seen = strcmp(name, ".pre") == 0 || strcmp(name, ".post") == 0;
		for (size_t k = 0; k < l->stages_count; k++)
			seen = seen || strcmp(l->stages[k], name) == 0;
		if (!seen)
			l->stages[l->stages_count++] = name;
	}
	l->stages[l->stages_count++] = ".post";
	vec_free(&list, NULL);
	return 0;
}

static int defaults_read(struct loader *l)
{
	static const char *const keys[] = { "after_script",
					    "artifacts",
					    "before_script",
					    "cache",
					    "hooks",
					    "id_tokens",
					    "image",
					    "interruptible",
					    "retry",
					    "services",
					    "tags",
					    "timeout",
					    NULL };
	static const char *const legacy[] = { "image", "services", "cache", "before_script",
					      "after_script" };
	struct yaml_node *node = yaml_get(l->root, "default");
	size_t count = 0;
	if (node && !yaml_is_null(node)) {
		if (node->kind != YAML_MAPPING)
			return node_err(l, node, "default must be a mapping of job keywords");
		if (keys_check(l, node, keys, "default"))
			return -1;
		count = node->count;
	} else {
		node = NULL;
	}
	l->defaults = node_new(l, YAML_MAPPING, node ? node : l->root, count + 5);
	for (size_t i = 0; i < count; i++)
		l->defaults->pairs[l->defaults->count++] = node->pairs[i];
	/* Top-level image, services... are the deprecated spelling of default:. */
	for (size_t i = 0; i < sizeof(legacy) / sizeof(legacy[0]); i++) {
		for (size_t k = 0; k < l->root->count; k++) {
			struct yaml_pair *p = &l->root->pairs[k];
			if (p->key->kind == YAML_SCALAR && strcmp(p->key->value, legacy[i]) == 0 &&
			    !pair_find(l->defaults, p->key))
				l->defaults->pairs[l->defaults->count++] = *p;
		}
	}
	return 0;
}

/* false: workflow:rules keep this pipeline from running. */
static int workflow_rules(struct loader *l, bool *runs)
{
	static const char *const keys[] = { "rules", "name", "auto_cancel", NULL };
	*runs = true;
	const struct yaml_node *node = yaml_get(l->root, "workflow");
	if (!node || yaml_is_null(node))
		return 0;
	if (node->kind != YAML_MAPPING)
		return node_err(l, node, "workflow must be a mapping (rules:, name:)");
	if (keys_check(l, node, keys, "workflow"))
		return -1;
	const struct yaml_node *rules = yaml_get(node, "rules");
	if (!rules)
		return 0;
	struct vars scope = { 0 };
	vars_add_all(&scope, &l->predefined);
	vars_add_all(&scope, &l->globals);
	vars_add_all(&scope, &l->user);
	const struct yaml_node *matched;
	int rc = rules_match(l, rules, &scope, RULES_WORKFLOW, &matched);
	vars_free(&scope);
	if (rc)
		return -1;
	const struct yaml_node *when = matched ? yaml_get(matched, "when") : NULL;
	*runs = matched && !(when && strcmp(scalar_text(when), "never") == 0);
	if (*runs && matched)
		return vars_parse(l, yaml_get(matched, "variables"), &l->globals,
				  "workflow:rules:variables");
	return 0;
}

/* ------------------------------------------------------------------ */
/* Jobs                                                                 */

static int extends_resolve(struct loader *l, const char *name, const struct yaml_node *from,
			   int depth, struct yaml_node **out)
{
	struct yaml_node *done = map_get(l->extends_done, name);
	if (done) {
		*out = done;
		return 0;
	}
	struct yaml_node *node = yaml_get(l->root, name);
	if (!node)
		return node_err(l, from, "extends: '%s' is not defined", name);
	if (node->kind != YAML_MAPPING)
		return node_err(l, from, "extends: '%s' is not a mapping of job keywords", name);
	if (map_has(l->extends_busy, name))
		return node_err(l, from, "extends: '%s' extends itself (a cycle)", name);
	if (depth > MAX_EXTENDS_DEPTH)
		return node_err(l, from, "extends: nests more than %d levels", MAX_EXTENDS_DEPTH);
	struct yaml_node *acc = NULL;
	const struct yaml_node *parents = yaml_get(node, "extends");
	if (parents && !yaml_is_null(parents)) {
		struct vec list = VEC_INIT;
		int rc = list_flatten(l, parents, &list, 0, "extends");
		map_put(l->extends_busy, name, (void *)1);
		for (size_t i = 0; rc == 0 && i < list.len; i++) {
			const struct yaml_node *parent = list.items[i];
			const char *text = scalar_text(parent);
			struct yaml_node *resolved;
			if (!text || !*text)
				rc = node_err(l, parent,
					      "extends: expected a job or template name");
			else if ((rc = extends_resolve(l, text, parent, depth + 1, &resolved)) == 0)
				acc = node_merge(l, acc, resolved);
		}
		map_del(l->extends_busy, name);
		vec_free(&list, NULL);
		if (rc)
			return -1;
	}
	*out = node_merge(l, acc, node);
	map_put(l->extends_done, name, *out);
	return 0;
}

/* inherit:default / inherit:variables: true, false or a list of names. */
static int inherit_allows(struct loader *l, const struct yaml_node *job, const char *which,
			  const char *name, bool *out)
{
	*out = true;
	const struct yaml_node *inherit = yaml_get(job, "inherit");
	if (!inherit || yaml_is_null(inherit))
		return 0;
	static const char *const keys[] = { "default", "variables", NULL };
	if (inherit->kind != YAML_MAPPING)
		return node_err(l, inherit, "inherit must be a mapping (default:, variables:)");
	if (keys_check(l, inherit, keys, "inherit"))
		return -1;
	const struct yaml_node *node = yaml_get(inherit, which);
	if (!node)
		return 0;
	if (node->kind == YAML_SCALAR)
		return yaml_bool(node, node_file(l, node), out, l->e);
	if (node->kind != YAML_SEQUENCE)
		return node_err(l, node, "inherit:%s must be true, false or a list of names",
				which);
	*out = false;
	for (size_t i = 0; i < node->count; i++)
		*out = *out || str_eq(scalar_text(node->items[i]), name);
	return 0;
}

static int defaults_apply(struct loader *l, struct gjob *j)
{
	struct yaml_node *node =
		node_new(l, YAML_MAPPING, j->node, j->node->count + l->defaults->count);
	memcpy(node->pairs, j->node->pairs, j->node->count * sizeof(*node->pairs));
	node->count = j->node->count;
	for (size_t i = 0; i < l->defaults->count; i++) {
		struct yaml_pair *p = &l->defaults->pairs[i];
		bool inherit;
		if (pair_find(node, p->key))
			continue;
		if (inherit_allows(l, j->node, "default", p->key->value, &inherit))
			return -1;
		if (inherit)
			node->pairs[node->count++] = *p;
	}
	j->node = node;
	return 0;
}

static int stage_find(struct loader *l, struct gjob *j)
{
	const struct yaml_node *node = yaml_get(j->node, "stage");
	const char *stage = node ? scalar_text(node) : "test";
	if (!stage || !*stage)
		return node_err(l, node, "job '%s': stage must be a stage name", j->name);
	for (size_t i = 0; i < l->stages_count; i++) {
		if (strcmp(l->stages[i], stage) == 0) {
			j->stage = i;
			return 0;
		}
	}
	struct buf list = BUF_INIT;
	for (size_t i = 0; i < l->stages_count; i++)
		buf_addf(&list, "%s%s", i ? ", " : "", l->stages[i]);
	node_err(l, node ? node : j->key, "job '%s': stage '%s' is not in stages (%s)", j->name,
		 stage, buf_cstr(&list));
	buf_free(&list);
	return -1;
}

static int script_collect(struct loader *l, const struct yaml_node *node, const char *job,
			  const char *what, struct vec *lines)
{
	struct vec list = VEC_INIT;
	int rc = list_flatten(l, node, &list, 0, what);
	for (size_t i = 0; rc == 0 && i < list.len; i++) {
		const struct yaml_node *line = list.items[i];
		if (line->kind != YAML_SCALAR || yaml_is_null(line))
			rc = node_err(l, line, "job '%s': %s: each command must be a string", job,
				      what);
		else
			vec_push(lines, (void *)line->value);
	}
	vec_free(&list, NULL);
	return rc;
}

static int allow_failure_read(struct loader *l, const struct yaml_node *node, bool *out)
{
	if (node->kind == YAML_MAPPING) {
		static const char *const keys[] = { "exit_codes", NULL };
		if (keys_check(l, node, keys, "allow_failure"))
			return -1;
		/* Only some exit codes may fail; the model has no such filter. */
		*out = true;
		return 0;
	}
	return yaml_bool(node, node_file(l, node), out, l->e);
}

/* Checks one visible job and decides whether it runs in this pipeline. */
static int job_prepare(struct loader *l, struct gjob *j)
{
	static const char *const keys[] = {
		"after_script",
		"allow_failure",
		"artifacts",
		"before_script",
		"cache",
		"coverage",
		"dast_configuration",
		"dependencies",
		"environment",
		"except",
		"extends",
		"hooks",
		"id_tokens",
		"identity",
		"image",
		"inherit",
		"interruptible",
		"manual_confirmation",
		"needs",
		"only",
		"pages",
		"parallel",
		"release",
		"resource_group",
		"retry",
		"rules",
		"run",
		"script",
		"secrets",
		"services",
		"stage",
		"start_in",
		"tags",
		"timeout",
		"trigger",
		"variables",
		"when",
		NULL,
	};
	struct buf what = BUF_INIT;
	buf_addf(&what, "job '%s'", j->name);
	int rc = extends_resolve(l, j->name, j->key, 0, &j->node);
	if (rc == 0)
		rc = defaults_apply(l, j);
	if (rc == 0)
		rc = keys_check(l, j->node, keys, buf_cstr(&what));
	buf_free(&what);
	if (rc || stage_find(l, j))
		return -1;
	const struct yaml_node *run = yaml_get(j->node, "run");
	if (run)
		return node_err(l, run,
				"job '%s': run: (CI/CD steps) is not supported by ampel "
				"run; use script:",
				j->name);
	const struct yaml_node *trigger = yaml_get(j->node, "trigger");
	const struct yaml_node *script = yaml_get(j->node, "script");
	struct vec lines = VEC_INIT;
	if (!trigger && script && script_collect(l, script, j->name, "script", &lines)) {
		vec_free(&lines, NULL);
		return -1;
	}
	size_t commands = lines.len;
	vec_free(&lines, NULL);
	if (!trigger && commands == 0)
		return node_err(l, script ? script : j->key, "job '%s': script is required",
				j->name);

	j->when = "on_success";
	const struct yaml_node *when = yaml_get(j->node, "when");
	if (when && when_check(l, when, RULES_JOB, &j->when))
		return -1;
	const struct yaml_node *allow = yaml_get(j->node, "allow_failure");
	if (allow && allow_failure_read(l, allow, &j->allow_failure))
		return -1;
	j->needs = yaml_get(j->node, "needs");

	/* Variables the rules can see: global ones, the job's, the user's. */
	vars_add_all(&j->vars, &l->predefined);
	vars_set(&j->vars, "CI_JOB_NAME", j->name, false, false);
	vars_set(&j->vars, "CI_JOB_STAGE", l->stages[j->stage], false, false);
	for (size_t i = 0; i < l->globals.count; i++) {
		bool inherit;
		if (inherit_allows(l, j->node, "variables", l->globals.items[i].name, &inherit))
			return -1;
		if (inherit)
			vars_set(&j->vars, l->globals.items[i].name, l->globals.items[i].value,
				 false, l->globals.items[i].literal);
	}
	struct buf where = BUF_INIT;
	buf_addf(&where, "job '%s'", j->name);
	rc = vars_parse(l, yaml_get(j->node, "variables"), &j->vars, buf_cstr(&where));
	buf_free(&where);
	if (rc)
		return -1;
	struct vars scope = { 0 };
	vars_add_all(&scope, &j->vars);
	vars_add_all(&scope, &l->user);

	const struct yaml_node *rules = yaml_get(j->node, "rules");
	const struct yaml_node *only = yaml_get(j->node, "only");
	const struct yaml_node *except = yaml_get(j->node, "except");
	bool included = true;
	if (rules && (only || except)) {
		rc = node_err(l, key_of(j->node, "rules"),
			      "job '%s': rules cannot be used together with only/except", j->name);
	} else if (rules) {
		const struct yaml_node *matched;
		rc = rules_match(l, rules, &scope, RULES_JOB, &matched);
		included = matched != NULL;
		if (rc == 0 && matched) {
			const struct yaml_node *n = yaml_get(matched, "when");
			if (n)
				j->when = scalar_text(n);
			n = yaml_get(matched, "allow_failure");
			if (n)
				rc = allow_failure_read(l, n, &j->allow_failure);
			n = yaml_get(matched, "needs");
			if (n)
				j->needs = n;
			j->rule_variables = yaml_get(matched, "variables");
		}
	} else {
		/* Without rules, only defaults to branches and tags, so such jobs
		 * stay out of merge request pipelines, as in GitLab. */
		bool holds = true;
		if (only)
			rc = only_except_eval(l, only, true, &scope, &holds);
		else
			holds = ref_keyword(l, "branches", &(bool){ 0 }) ||
				ref_keyword(l, "tags", &(bool){ 0 });
		included = holds;
		if (rc == 0 && except) {
			rc = only_except_eval(l, except, false, &scope, &holds);
			included = included && !holds;
		}
	}
	vars_free(&scope);
	if (rc)
		return -1;
	if (j->rule_variables && vars_parse(l, j->rule_variables, &j->vars, "rules:variables"))
		return -1;
	vars_add_all(&j->vars, &l->user);
	if (!included || strcmp(j->when, "never") == 0)
		j->fate = JOB_EXCLUDED;
	else if (trigger || strcmp(j->when, "manual") == 0 || strcmp(j->when, "delayed") == 0)
		j->fate = JOB_LEFT_OUT;
	else
		j->fate = JOB_RUNS;
	return 0;
}

/* "1h 30m", "90 minutes", "2 hours and 5 min", "3600" (seconds). */
static bool duration_parse(const char *text, long long *seconds)
{
	/* ChronicDuration's units, which GitLab parses timeouts with. */
	static const struct {
		const char *words; /* space-separated, each surrounded by spaces */
		long long seconds;
	} units[] = {
		{ " s sec secs second seconds ", 1 },  { " m min mins minute minutes ", 60 },
		{ " h hr hrs hour hours ", 3600 },     { " d day days ", 86400 },
		{ " w wk wks week weeks ", 604800 },   { " mo month months ", 2592000 },
		{ " y yr yrs year years ", 31536000 },
	};
	double total = 0;
	bool any = false;
	const char *p = text;
	for (;;) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (strncmp(p, "and ", 4) == 0) {
			p += 4;
			continue;
		}
		if (!*p)
			break;
		if (!isdigit((unsigned char)*p) && *p != '.')
			return false;
		char *end;
		double number = strtod(p, &end);
		if (end == p || number < 0 || number > 1e9)
			return false;
		p = end;
		while (*p == ' ')
			p++;
		const char *word = p;
		while (isalpha((unsigned char)*p))
			p++;
		size_t len = (size_t)(p - word);
		long long scale = len ? 0 : 1;
		char unit[16];
		if (len >= sizeof(unit) - 2)
			return false;
		unit[0] = ' ';
		for (size_t i = 0; i < len; i++)
			unit[i + 1] = (char)tolower((unsigned char)word[i]);
		unit[len + 1] = ' ';
		unit[len + 2] = '\0';
		for (size_t i = 0; len && i < sizeof(units) / sizeof(units[0]); i++)
			if (strstr(units[i].words, unit))
				scale = units[i].seconds;
		if (!scale)
			return false;
		total += number * (double)scale;
		any = true;
	}
	if (!any || total < 1 || total > 1e12)
		return false;
	*seconds = (long long)total;
	return true;
}

static bool is_identifier(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return false;
	for (; *s; s++)
		if (!is_name_char(*s))
			return false;
	return true;
}

static void matrix_var(struct loader *l, struct vars *vars, const char *name)
{
	vars_set(vars, name, arena_printf(l->arena, "${{ matrix.%s }}", name), true, false);
}

/* parallel: N, or parallel:matrix with every combination listed in include. */
static int parallel_build(struct loader *l, struct gjob *j, const struct yaml_node *node,
			  struct workflow_job *job)
{
	if (node->kind == YAML_SCALAR) {
		long long n;
		if (yaml_int(node, node_file(l, node), &n, l->e))
			return -1;
		if (n < 1 || n > MAX_PARALLEL)
			return node_err(l, node, "job '%s': parallel must be 1 to %d", j->name,
					MAX_PARALLEL);
		json_t *values = json_array();
		for (long long i = 1; i <= n; i++)
			json_array_append_new(values, json_text(arena_printf(l->arena, "%lld", i)));
		job->matrix = json_object();
		json_object_set_new(job->matrix, "CI_NODE_INDEX", values);
		matrix_var(l, &j->vars, "CI_NODE_INDEX");
		vars_set(&j->vars, "CI_NODE_TOTAL", arena_printf(l->arena, "%lld", n), false,
			 false);
		return 0;
	}
	static const char *const keys[] = { "matrix", NULL };
	if (node->kind != YAML_MAPPING)
		return node_err(l, node, "job '%s': parallel must be a number or matrix:", j->name);
	if (keys_check(l, node, keys, "parallel"))
		return -1;
	const struct yaml_node *matrix = yaml_get(node, "matrix");
	if (!matrix || matrix->kind != YAML_SEQUENCE || matrix->count == 0)
		return node_err(l, matrix ? matrix : node,
				"job '%s': parallel:matrix must be a list of mappings", j->name);
	json_t *include = json_array();
	int rc = 0;
	for (size_t e = 0; rc == 0 && e < matrix->count; e++) {
		const struct yaml_node *entry = matrix->items[e];
		if (entry->kind != YAML_MAPPING || entry->count == 0) {
			rc = node_err(l, entry,
				      "job '%s': parallel:matrix entries map names to "
				      "values",
				      j->name);
			break;
		}
		size_t combos = 1;
		for (size_t k = 0; rc == 0 && k < entry->count; k++) {
			const struct yaml_node *key = entry->pairs[k].key;
			const struct yaml_node *values = entry->pairs[k].value;
			const char *name = scalar_text(key);
			if (!name || !is_identifier(name)) {
				rc = node_err(l, key,
					      "job '%s': parallel:matrix: '%s' is not a "
					      "variable name",
					      j->name, name ? name : "");
				break;
			}
			size_t n = values->kind == YAML_SEQUENCE ? values->count : 1;
			for (size_t v = 0; rc == 0 && v < n; v++)
				if (!scalar_text(values->kind == YAML_SEQUENCE ? values->items[v]
									       : values))
					rc = node_err(l, values,
						      "job '%s': parallel:matrix: values "
						      "must be strings",
						      j->name);
			if (n == 0)
				rc = node_err(l, values,
					      "job '%s': parallel:matrix: '%s' has no "
					      "values",
					      j->name, name);
			combos *= n ? n : 1;
			if (rc == 0 && combos + json_array_size(include) > MAX_PARALLEL)
				rc = node_err(l, entry,
					      "job '%s': parallel:matrix makes more than %d "
					      "jobs",
					      j->name, MAX_PARALLEL);
			if (rc == 0)
				matrix_var(l, &j->vars, name);
		}
		/* Every combination of this entry, the last name varying fastest. */
		for (size_t c = 0; rc == 0 && c < combos; c++) {
			json_t *combo = json_object();
			size_t rest = c;
			for (size_t k = entry->count; k-- > 0;) {
				const struct yaml_node *values = entry->pairs[k].value;
				size_t n = values->kind == YAML_SEQUENCE ? values->count : 1;
				const struct yaml_node *v = values->kind == YAML_SEQUENCE
								    ? values->items[rest % n]
								    : values;
				rest /= n;
				json_object_set_new(combo, entry->pairs[k].key->value,
						    json_text(scalar_text(v)));
			}
			json_array_append_new(include, combo);
		}
	}
	if (rc) {
		json_decref(include);
		return -1;
	}
	vars_set(&j->vars, "CI_NODE_TOTAL", arena_printf(l->arena, "%zu", json_array_size(include)),
		 false, false);
	job->matrix = json_object();
	json_object_set_new(job->matrix, "include", include);
	return 0;
}

static int image_build(struct loader *l, struct gjob *j, const struct yaml_node *node, json_t **out)
{
	static const char *const keys[] = { "name", "entrypoint", "docker", "pull_policy", NULL };
	const struct yaml_node *name = node;
	const struct yaml_node *docker = NULL;
	if (node->kind == YAML_MAPPING) {
		if (keys_check(l, node, keys, "image"))
			return -1;
		name = yaml_get(node, "name");
		docker = yaml_get(node, "docker");
	}
	if (!name || !scalar_text(name) || !*scalar_text(name))
		return node_err(l, name ? name : node, "job '%s': image needs a name", j->name);
	const char *image;
	if (value_expand(l, name, &j->vars, scalar_text(name), true, &image))
		return -1;
	struct buf options = BUF_INIT;
	if (docker && docker->kind == YAML_MAPPING) {
		const char *user = scalar_text(yaml_get(docker, "user"));
		const char *platform = scalar_text(yaml_get(docker, "platform"));
		if (user && *user)
			buf_addf(&options, "--user %s", user);
		if (platform && *platform)
			buf_addf(&options, "%s--platform %s", options.len ? " " : "", platform);
	}
	/* The entrypoint is not kept: the executor starts the container with its
	 * own command and runs the steps in it, as GitLab's runner does. */
	if (options.len) {
		*out = json_object();
		json_object_set_new(*out, "image", json_text(image));
		char *escaped = text_escape(buf_cstr(&options));
		json_object_set_new(*out, "options", json_text(escaped));
		free(escaped);
	} else {
		*out = json_text(image);
	}
	buf_free(&options);
	return 0;
}

/* The host name GitLab gives a service: its image without tag, '/' as '-'. */
static char *service_alias(const char *image)
{
	const char *slash = strrchr(image, '/');
	const char *last = slash ? slash + 1 : image;
	size_t len = (size_t)(last - image) + strcspn(last, ":@");
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < len; i++)
		buf_addch(&b, image[i] == '/' ? '-' : image[i]);
	if (!b.len)
		buf_adds(&b, "service");
	return buf_detach(&b);
}

static int services_build(struct loader *l, struct gjob *j, const struct yaml_node *node,
			  json_t **out)
{
	static const char *const keys[] = { "name",	 "alias",	"entrypoint", "command",
					    "variables", "pull_policy", "docker",     NULL };
	if (yaml_is_null(node))
		return 0;
	struct vec list = VEC_INIT;
	if (node->kind != YAML_SEQUENCE)
		return node_err(l, node, "job '%s': services must be a list", j->name);
	if (list_flatten(l, node, &list, 0, "services")) {
		vec_free(&list, NULL);
		return -1;
	}
	json_t *services = json_object();
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < list.len; i++) {
		const struct yaml_node *item = list.items[i];
		const struct yaml_node *name = item, *alias = NULL;
		struct vars env = { 0 };
		/* Services see the job's variables, as in GitLab, plus their own. */
		for (size_t k = 0; k < j->vars.count; k++)
			if (!j->vars.items[k].expression)
				vars_set(&env, j->vars.items[k].name, j->vars.items[k].value, false,
					 j->vars.items[k].literal);
		if (item->kind == YAML_MAPPING) {
			rc = keys_check(l, item, keys, "services");
			name = yaml_get(item, "name");
			alias = yaml_get(item, "alias");
			if (rc == 0)
				rc = vars_parse(l, yaml_get(item, "variables"), &env, "services");
		}
		const char *image = NULL;
		if (rc == 0 && (!name || !scalar_text(name) || !*scalar_text(name)))
			rc = node_err(l, name ? name : item,
				      "job '%s': a service needs an image "
				      "name",
				      j->name);
		if (rc == 0)
			rc = value_expand(l, name, &j->vars, scalar_text(name), false, &image);
		json_t *service = NULL;
		if (rc == 0) {
			char *escaped = text_escape(image);
			service = json_object();
			json_object_set_new(service, "image", json_text(escaped));
			free(escaped);
			json_t *env_json = json_object();
			for (size_t k = 0; rc == 0 && k < env.count; k++) {
				const char *value = env.items[k].value;
				if (!env.items[k].literal)
					rc = value_expand(l, name, &env, value, true, &value);
				else
					value = arena_strdup(l->arena, value);
				if (rc == 0 && env.items[k].literal) {
					char *escaped_value = text_escape(value);
					value = arena_strdup(l->arena, escaped_value);
					free(escaped_value);
				}
				if (rc == 0)
					json_object_set_new(env_json, env.items[k].name,
							    json_text(value));
			}
			json_object_set_new(service, "env", env_json);
		}
		if (rc == 0) {
			const char *wanted = alias ? scalar_text(alias) : NULL;
			char *id = wanted && *wanted ? xstrndup(wanted, strcspn(wanted, ", "))
						     : service_alias(image);
			char *unique = xstrdup(id);
			for (int n = 2; json_object_get(services, unique); n++) {
				free(unique);
				struct buf b = BUF_INIT;
				buf_addf(&b, "%s-%d", id, n);
				unique = buf_detach(&b);
			}
			json_object_set_new(services, unique, service);
			service = NULL;
			free(unique);
			free(id);
		}
		json_decref(service);
		vars_free(&env);
	}
	vec_free(&list, NULL);
	if (rc || json_object_size(services) == 0) {
		json_decref(services);
		return rc;
	}
	*out = services;
	return 0;
}

static struct gjob *job_find(struct loader *l, const char *name)
{
	for (size_t i = 0; i < l->jobs_count; i++)
		if (strcmp(l->jobs[i].name, name) == 0)
			return &l->jobs[i];
	return NULL;
}

static int needs_build(struct loader *l, struct gjob *j, struct workflow_job *job, bool check)
{
	if (!j->needs || yaml_is_null(j->needs)) {
		/* Stage order: every job of every earlier stage that runs. */
		for (size_t i = 0; i < l->jobs_count; i++)
			if (l->jobs[i].fate == JOB_RUNS && l->jobs[i].stage < j->stage)
				workflow_job_add_need(job, l->jobs[i].name);
		return 0;
	}
	static const char *const keys[] = { "job",	"optional", "artifacts", "parallel",
					    "pipeline", "project",  "ref",	 NULL };
	if (j->needs->kind != YAML_SEQUENCE)
		return node_err(l, j->needs, "job '%s': needs must be a list of job names",
				j->name);
	struct vec list = VEC_INIT;
	int rc = list_flatten(l, j->needs, &list, 0, "needs");
	for (size_t i = 0; rc == 0 && i < list.len; i++) {
		const struct yaml_node *item = list.items[i];
		const struct yaml_node *name = item;
		bool optional = false;
		if (item->kind == YAML_MAPPING) {
			if ((rc = keys_check(l, item, keys, "needs")))
				break;
			/* Artifacts of other pipelines or projects are out of reach. */
			if (yaml_get(item, "pipeline") || yaml_get(item, "project"))
				continue;
			name = yaml_get(item, "job");
			const struct yaml_node *opt = yaml_get(item, "optional");
			if (opt && (rc = yaml_bool(opt, node_file(l, opt), &optional, l->e)))
				break;
		}
		const char *text = scalar_text(name);
		if (!text || !*text) {
			rc = node_err(l, name ? name : item, "job '%s': needs: expected a job name",
				      j->name);
			break;
		}
		struct gjob *need = job_find(l, text);
		if (!need && !optional) {
			rc = node_err(l, name, "job '%s': needs '%s', which is not defined",
				      j->name, text);
		} else if (need && need->fate == JOB_EXCLUDED && !optional && check) {
			rc = node_err(l, name,
				      "job '%s': needs '%s', which is not in this pipeline (its "
				      "rules or only/except leave it out); mark the need optional: "
				      "true",
				      j->name, text);
		} else if (need && need->fate == JOB_RUNS) {
			bool dup = false;
			for (size_t k = 0; k < job->needs_count; k++)
				dup = dup || strcmp(job->needs[k], text) == 0;
			if (!dup)
				workflow_job_add_need(job, text);
		}
	}
	vec_free(&list, NULL);
	return rc;
}

/*
 * One bash script for the commands, echoing each as GitLab's log does
 * ("$ command"); set -e stops at the first command that fails, as the
 * runner checks every line's exit status.
 */
static char *script_render(const struct vec *lines)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, "set -eo pipefail\n");
	for (size_t i = 0; i < lines->len; i++) {
		const char *command = lines->items[i];
		size_t first = strcspn(command, "\n");
		struct buf echo = BUF_INIT;
		buf_adds(&echo, "$ ");
		buf_add(&echo, command, first);
		if (command[first] && command[first + 1])
			buf_adds(&echo, " # collapsed multi-line command");
		buf_adds(&b, "printf '%s\\n' ");
		buf_add_shell_quoted(&b, buf_cstr(&echo));
		buf_addch(&b, '\n');
		buf_adds(&b, command);
		buf_addch(&b, '\n');
		buf_free(&echo);
	}
	char *text = text_escape(buf_cstr(&b));
	buf_free(&b);
	return text;
}

static struct workflow_step *step_script(struct workflow_job *job, const struct yaml_node *at,
					 const char *name, const struct vec *lines)
{
	struct workflow_step *step = workflow_job_add_step(job, at->line);
	step->name = xstrdup(name);
	step->run = script_render(lines);
	step->shell = xstrdup("bash");
	return step;
}

static int steps_build(struct loader *l, struct gjob *j, struct workflow_job *job)
{
	const struct var *strategy = vars_find(&j->vars, "GIT_STRATEGY", 12);
	if (!strategy || strcmp(strategy->value, "none") != 0) {
		/* A GitLab job always starts with the repository checked out. */
		struct workflow_step *checkout = workflow_job_add_step(job, j->key->line);
		checkout->name = xstrdup("Get sources");
		checkout->uses = xstrdup("actions/checkout@v4");
	}
	struct vec lines = VEC_INIT;
	const struct yaml_node *before = yaml_get(j->node, "before_script");
	const struct yaml_node *script = yaml_get(j->node, "script");
	const struct yaml_node *after = yaml_get(j->node, "after_script");
	int rc = 0;
	if (!script) /* a trigger job: never run, nothing to translate */
		return 0;
	if (before && !yaml_is_null(before))
		rc = script_collect(l, before, j->name, "before_script", &lines);
	if (rc == 0)
		rc = script_collect(l, script, j->name, "script", &lines);
	if (rc == 0)
		step_script(job, script, "Script", &lines);
	vec_free(&lines, NULL);
	if (rc == 0 && after && !yaml_is_null(after)) {
		rc = script_collect(l, after, j->name, "after_script", &lines);
		if (rc == 0 && lines.len) {
			/* after_script runs whatever happened and cannot fail the job. */
			struct workflow_step *step =
				step_script(job, after, "After script", &lines);
			step->condition = xstrdup("always()");
			step->continue_on_error = xstrdup("true");
		}
		vec_free(&lines, NULL);
	}
	return rc;
}

static int env_build(struct loader *l, struct gjob *j, struct workflow_job *job)
{
	job->env = json_object();
	/* Global variables this job does not inherit must not leak in from
	 * the workflow's env. */
	for (size_t i = 0; i < l->globals.count; i++)
		if (!vars_find(&j->vars, l->globals.items[i].name,
			       strlen(l->globals.items[i].name)))
			json_object_set_new(job->env, l->globals.items[i].name, json_string(""));
	for (size_t i = 0; i < j->vars.count; i++) {
		const struct var *v = &j->vars.items[i];
		const char *value = v->value;
		if (v->expression) {
			json_object_set_new(job->env, v->name, json_text(value));
			continue;
		}
		if (v->literal) {
			char *escaped = text_escape(value);
			json_object_set_new(job->env, v->name, json_text(escaped));
			free(escaped);
			continue;
		}
		if (value_expand(l, j->key, &j->vars, value, true, &value))
			return -1;
		json_object_set_new(job->env, v->name, json_text(value));
	}
	return 0;
}

static int artifacts_build(struct loader *l, struct gjob *j, const struct yaml_node *node,
			   struct workflow_job *job)
{
	if (yaml_is_null(node))
		return 0;
	if (node->kind != YAML_MAPPING)
		return node_err(l, node, "job '%s': artifacts must be a mapping", j->name);
	const struct yaml_node *paths = yaml_get(node, "paths");
	if (!paths || yaml_is_null(paths))
		return 0;
	struct vec list = VEC_INIT;
	int rc = list_flatten(l, paths, &list, 0, "artifacts:paths");
	for (size_t i = 0; rc == 0 && i < list.len; i++) {
		const char *text = scalar_text(list.items[i]);
		const char *path;
		if (!text || !*text)
			rc = node_err(l, list.items[i], "job '%s': artifacts:paths: expected paths",
				      j->name);
		else if ((rc = value_expand(l, list.items[i], &j->vars, text, false, &path)) == 0) {
			job->artifact_paths =
				xrealloc(job->artifact_paths,
					 (job->artifact_paths_count + 1) * sizeof(char *));
			job->artifact_paths[job->artifact_paths_count++] = xstrdup(path);
		}
	}
	vec_free(&list, NULL);
	return rc;
}

static int environment_build(struct loader *l, struct gjob *j, const struct yaml_node *node,
			     struct workflow_job *job)
{
	const struct yaml_node *name = node;
	if (node->kind == YAML_MAPPING)
		name = yaml_get(node, "name");
	const char *text = scalar_text(name);
	if (!text)
		return node_err(l, node, "job '%s': environment needs a name", j->name);
	if (!*text)
		return 0;
	const char *value;
	if (value_expand(l, name, &j->vars, text, true, &value))
		return -1;
	job->environment = xstrdup(value);
	return 0;
}

static int job_emit(struct loader *l, struct gjob *j, struct workflow *wf, bool check)
{
	struct workflow_job *job = workflow_add_job(wf, j->name, j->key->line);
	static const char *const conditions[][2] = {
		{ "on_success", "success()" },
		{ "on_failure", "failure()" },
		{ "always", "always()" },
	};
	for (size_t i = 0; i < 3; i++)
		if (strcmp(j->when, conditions[i][0]) == 0)
			job->condition = xstrdup(conditions[i][1]);
	if (j->allow_failure)
		job->continue_on_error = xstrdup("true");
	if (needs_build(l, j, job, check))
		return -1;
	const struct yaml_node *node = yaml_get(j->node, "timeout");
	if (node && !yaml_is_null(node)) {
		long long seconds;
		const char *text = scalar_text(node);
		if (!text || !duration_parse(text, &seconds))
			return node_err(l, node,
					"job '%s': timeout: cannot read '%s' as a duration (like "
					"\"1h 30m\" or \"90 minutes\")",
					j->name, text ? text : "");
		struct buf minutes = BUF_INIT;
		buf_addf(&minutes, "%lld", (seconds + 59) / 60);
		job->timeout_minutes = buf_detach(&minutes);
	}
	node = yaml_get(j->node, "parallel");
	if (node && !yaml_is_null(node) && parallel_build(l, j, node, job))
		return -1;
	if (env_build(l, j, job))
		return -1;
	node = yaml_get(j->node, "image");
	if (node && !yaml_is_null(node) && image_build(l, j, node, &job->container))
		return -1;
	node = yaml_get(j->node, "services");
	if (node && services_build(l, j, node, &job->services))
		return -1;
	node = yaml_get(j->node, "environment");
	if (node && !yaml_is_null(node) && environment_build(l, j, node, job))
		return -1;
	node = yaml_get(j->node, "artifacts");
	if (node && artifacts_build(l, j, node, job))
		return -1;
	return steps_build(l, j, job);
}

/* ------------------------------------------------------------------ */
/* The whole file                                                       */

static int globals_env(struct loader *l, struct workflow *wf)
{
	struct vars scope = { 0 };
	vars_add_all(&scope, &l->predefined);
	vars_add_all(&scope, &l->globals);
	vars_add_all(&scope, &l->user);
	int rc = 0;
	if (l->globals.count)
		wf->env = json_object();
	for (size_t i = 0; rc == 0 && i < l->globals.count; i++) {
		const struct var *v = vars_find(&scope, l->globals.items[i].name,
						strlen(l->globals.items[i].name));
		const char *value = v->value;
		if (v->literal) {
			char *escaped = text_escape(value);
			json_object_set_new(wf->env, v->name, json_text(escaped));
			free(escaped);
			continue;
		}
		rc = value_expand(l, l->root, &scope, value, true, &value);
		if (rc == 0)
			json_object_set_new(wf->env, v->name, json_text(value));
	}
	vars_free(&scope);
	return rc;
}

static int jobs_collect(struct loader *l)
{
	l->jobs = xcalloc(l->root->count ? l->root->count : 1, sizeof(*l->jobs));
	for (size_t i = 0; i < l->root->count; i++) {
		const struct yaml_node *key = l->root->pairs[i].key;
		struct yaml_node *value = l->root->pairs[i].value;
		const char *name = scalar_text(key);
		if (!name || !*name)
			return node_err(l, key, "job names must be plain strings");
		if (word_in(reserved_keys, name) || name[0] == '.')
			continue;
		if (value->kind != YAML_MAPPING)
			return node_err(l, value,
					"job '%s' must be a mapping of job keywords (script:, "
					"stage:, ...)",
					name);
		struct gjob *j = &l->jobs[l->jobs_count++];
		j->name = name;
		j->key = key;
		j->node = value;
	}
	if (l->jobs_count == 0)
		return node_err(l, l->root,
				"no jobs: define at least one job whose name does "
				"not start with '.'");
	return 0;
}

static int translate(struct loader *l, const char *data, size_t len, struct workflow **out)
{
	struct yaml_doc *doc = NULL;
	if (yaml_parse(&doc, l->file, data, len, l->e))
		return -1;
	vec_push(&l->docs, doc);
	origins_register(l, doc->root, l->file);
	if (root_check(l, doc, l->file))
		return -1;
	predefined_build(l);
	if (include_process(l, doc->root, 0, &l->raw_root))
		return -1;
	if (reference_resolve(l, l->raw_root, 0, &l->root))
		return -1;
	if (stages_read(l) || defaults_read(l))
		return -1;
	if (vars_parse(l, yaml_get(l->root, "variables"), &l->globals, "variables"))
		return -1;
	bool runs;
	if (workflow_rules(l, &runs) || jobs_collect(l))
		return -1;
	for (size_t i = 0; i < l->jobs_count; i++)
		if (job_prepare(l, &l->jobs[i]))
			return -1;

	struct workflow *wf = workflow_new(WORKFLOW_GITLAB, l->file);
	wf->name = xstrdup(l->file);
	wf->triggers = xcalloc(1, sizeof(*wf->triggers));
	wf->triggers[0].event = xstrdup("push");
	wf->triggers_count = 1;
	/* Jobs that do not run are translated too (into a scratch workflow),
	 * so that a mistake in one is reported whatever the branch. */
	struct workflow *scratch = workflow_new(WORKFLOW_GITLAB, l->file);
	bool real_stage = false;
	for (size_t i = 0; i < l->jobs_count; i++)
		real_stage = real_stage || (l->jobs[i].fate == JOB_RUNS && l->jobs[i].stage != 0 &&
					    l->jobs[i].stage != l->stages_count - 1);
	int rc = globals_env(l, wf);
	for (size_t s = 0; rc == 0 && s < l->stages_count; s++) {
		for (size_t i = 0; rc == 0 && i < l->jobs_count; i++) {
			struct gjob *j = &l->jobs[i];
			if (j->stage != s)
				continue;
			/* A pipeline of only .pre/.post jobs does not run in GitLab. */
			bool runs_here = runs && j->fate == JOB_RUNS && real_stage;
			rc = job_emit(l, j, runs_here ? wf : scratch, runs_here);
		}
	}
	workflow_free(scratch);
	if (rc) {
		workflow_free(wf);
		return -1;
	}
	*out = wf;
	return 0;
}

static void loader_free(struct loader *l)
{
	for (size_t i = 0; i < l->docs.len; i++)
		yaml_doc_free(l->docs.items[i]);
	vec_free(&l->docs, NULL);
	vec_free(&l->repo_files, free);
	free(l->origins.slots);
	free(l->resolved.slots);
	map_free(l->included, NULL);
	map_free(l->extends_done, NULL);
	map_free(l->extends_busy, NULL);
	for (size_t i = 0; i < l->jobs_count; i++)
		vars_free(&l->jobs[i].vars);
	free(l->jobs);
	vars_free(&l->predefined);
	vars_free(&l->user);
	vars_free(&l->globals);
	arena_free(l->arena);
}

static int parse_in(struct workflow **out, const char *file, const char *repo_dir, const char *data,
		    size_t len, const struct gitlab_context *ctx, struct err *e)
{
	struct loader l = {
		.file = file,
		.repo_dir = repo_dir,
		.ctx = ctx,
		.e = e,
		.arena = arena_new(),
		.included = map_new(),
		.extends_done = map_new(),
		.extends_busy = map_new(),
	};
	*out = NULL;
	int rc = translate(&l, data, len, out);
	loader_free(&l);
	return rc;
}

int gitlab_parse(struct workflow **out, const char *file, const char *data, size_t len,
		 const struct gitlab_context *ctx, struct err *e)
{
	return parse_in(out, file, ctx ? ctx->repo_dir : NULL, data, len, ctx, e);
}

int gitlab_load(struct workflow **out, const char *path, const struct gitlab_context *ctx,
		struct err *e)
{
	*out = NULL;
	struct buf data = BUF_INIT;
	if (buf_read_file(&data, path, MAX_INCLUDE_BYTES, e)) {
		buf_free(&data);
		return -1;
	}
	char *dir = NULL;
	const char *repo_dir = ctx ? ctx->repo_dir : NULL;
	if (!repo_dir) {
		const char *slash = strrchr(path, '/');
		dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path))
			    : xstrdup(".");
		repo_dir = dir;
	}
	int rc = parse_in(out, path, repo_dir, data.data ? data.data : "", data.len, ctx, e);
	free(dir);
	buf_free(&data);
	return rc;
}
