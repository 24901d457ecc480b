/*
 * expr: evaluation of the node tree and the public face (expr.h):
 * expressions, interpolation of ${{ }} in text, `if:` conditions and
 * load-time checks. Parsing, values, functions and hashFiles live beside
 * it (expr_internal.h says which file holds what).
 */
#include "pipeline/expr.h"
#include "pipeline/expr_internal.h"

#include "util/buf.h"
#include "util/err.h"
#include "util/str.h"
#include "util/xalloc.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * The semantics follow GitHub's runner (actions/runner, Expressions2):
 * numbers are doubles, comparisons coerce like JavaScript's == except that
 * strings compare ignoring case and objects only equal themselves, && and
 * || hand back an operand, and a '*' filter yields an array that further
 * dereferences apply to element by element.
 */

/* ------------------------------------------------------------ evaluation */

int expr_eval_fail(struct eval *ev, size_t pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	expr_fail_vat(ev->e, "expression ", ev->src, ev->len, pos, fmt, ap);
	va_end(ap);
	return -1;
}

int expr_eval_check_size(struct eval *ev, const struct node *n, const struct buf *b)
{
	if (b->len <= EXPR_MAX_RESULT_SIZE)
		return 0;
	return expr_eval_fail(ev, n->pos,
			      "the result of '%s' is larger than the limit of %zu bytes",
			      n->name ? n->name : "expression", EXPR_MAX_RESULT_SIZE);
}

/* The runner's Index.IndexHelper: an array index is the floor of the
 * number, when it is one and fits an Int32. */
static bool index_integer(const struct value *key, size_t *out)
{
	double d = expr_value_to_number(key);
	if (isnan(d) || d < 0)
		return false;
	d = floor(d);
	if (d > (double)INT32_MAX)
		return false;
	*out = (size_t)d;
	return true;
}

static void filtered_add_all(json_t *into, const json_t *collection)
{
	if (json_is_array(collection)) {
		size_t i;
		json_t *item;
		json_array_foreach(collection, i, item)
		{
			json_array_append(into, item);
		}
	} else if (json_is_object(collection)) {
		const char *k;
		json_t *item;
		json_object_foreach((json_t *)collection, k, item)
		{
			json_array_append(into, item);
		}
	}
}

/* One index step on one collection: a member or element, or NULL. */
static const json_t *index_lookup(const json_t *collection, const struct value *key,
				  const struct buf *key_text, bool key_is_text)
{
	if (json_is_object(collection)) {
		if (!key_is_text)
			return NULL;
		return expr_object_get_icase(collection, buf_cstr(key_text), key_text->len);
	}
	size_t i;
	if (json_is_array(collection) && index_integer(key, &i) && i < json_array_size(collection))
		return json_array_get(collection, i);
	return NULL;
}

static int eval_index(struct eval *ev, const struct node *n, struct value *out)
{
	struct value target;
	if (expr_eval_node(ev, n->args[0], &target) != 0)
		return -1;
	bool collection = target.kind == VALUE_ARRAY || target.kind == VALUE_OBJECT;
	if (n->filter) {
		struct value result = expr_value_filtered_new();
		if (target.filtered) {
			size_t i;
			json_t *item;
			json_array_foreach(target.json, i, item)
			{
				filtered_add_all(result.json, item);
			}
		} else if (collection) {
			filtered_add_all(result.json, target.json);
		}
		expr_value_release(&target);
		*out = result;
		return 0;
	}

	struct value key;
	if (expr_eval_node(ev, n->args[1], &key) != 0) {
		expr_value_release(&target);
		return -1;
	}
	/* Objects are indexed by the key's string form, when it is a
	 * primitive; arrays by its number. */
	struct buf key_text = BUF_INIT;
	bool key_is_text = expr_value_is_primitive(&key);
	if (key_is_text)
		expr_value_append_string(&key_text, &key);

	if (target.filtered) {
		struct value result = expr_value_filtered_new();
		size_t i;
		json_t *item;
		json_array_foreach(target.json, i, item)
		{
			const json_t *found = index_lookup(item, &key, &key_text, key_is_text);
			if (found)
				json_array_append(result.json, (json_t *)found);
		}
		*out = result;
	} else if (collection) {
		const json_t *found = index_lookup(target.json, &key, &key_text, key_is_text);
		*out = found ? expr_value_from_json(found) : expr_value_null();
	} else {
		*out = expr_value_null();
	}
	buf_free(&key_text);
	expr_value_release(&key);
	expr_value_release(&target);
	return 0;
}

int expr_eval_string_arg(struct eval *ev, const struct node *arg, struct buf *out)
{
	struct value v;
	if (expr_eval_node(ev, arg, &v) != 0)
		return -1;
	expr_value_append_string(out, &v);
	expr_value_release(&v);
	return 0;
}

int expr_eval_node(struct eval *ev, const struct node *n, struct value *out)
{
	switch (n->kind) {
	case NODE_LITERAL:
		*out = n->literal;
		if (out->json)
			json_incref(out->json);
		return 0;
	case NODE_CONTEXT: {
		const json_t *contexts = ev->env ? ev->env->contexts : NULL;
		const json_t *found =
			json_is_object(contexts)
				? expr_object_get_icase(contexts, n->name, strlen(n->name))
				: NULL;
		*out = found ? expr_value_from_json(found) : expr_value_null();
		return 0;
	}
	case NODE_INDEX:
		return eval_index(ev, n, out);
	case NODE_NOT: {
		struct value v;
		if (expr_eval_node(ev, n->args[0], &v) != 0)
			return -1;
		*out = expr_value_boolean(!expr_value_is_truthy(&v));
		expr_value_release(&v);
		return 0;
	}
	case NODE_AND:
	case NODE_OR:
		/* Short-circuit, handing back the operand that decided. */
		for (size_t i = 0; i < n->nargs; i++) {
			if (expr_eval_node(ev, n->args[i], out) != 0)
				return -1;
			bool decided = expr_value_is_truthy(out) == (n->kind == NODE_OR);
			if (decided || i + 1 == n->nargs)
				return 0;
			expr_value_release(out);
		}
		return 0;
	case NODE_COMPARE: {
		struct value l, r;
		if (expr_eval_node(ev, n->args[0], &l) != 0)
			return -1;
		if (expr_eval_node(ev, n->args[1], &r) != 0) {
			expr_value_release(&l);
			return -1;
		}
		*out = expr_value_boolean(expr_values_compare(&l, &r, n->op));
		expr_value_release(&l);
		expr_value_release(&r);
		return 0;
	}
	case NODE_CALL:
		return expr_eval_call(ev, n, out);
	}
	return expr_eval_fail(ev, n->pos, "internal error: unknown node");
}

/* ------------------------------------------------------------ public API */

static const struct expr_env empty_env = { NULL, EXPR_STATUS_SUCCESS, NULL, false };

static struct node *parse_for_env(const char *src, size_t len, const struct expr_env *env,
				  bool allow_status, struct err *e)
{
	struct expr_parse_options options = { 0 };
	options.contexts = env->contexts;
	options.allow_status = allow_status;
	return expr_parse(src, len, &options, e);
}

static int evaluate_n(const char *src, size_t len, const struct expr_env *env, bool allow_status,
		      struct value *out, bool *has_status, struct err *e)
{
	struct node *root = parse_for_env(src, len, env, allow_status, e);
	if (!root)
		return -1;
	struct eval ev = { env, src, len, e };
	int rc;
	if (has_status && !(*has_status = expr_tree_has_status_function(root)) &&
	    env->status != EXPR_STATUS_SUCCESS) {
		/* success() && (...) with success() false: the rest is not
		 * evaluated, exactly as the runner's wrapped condition. */
		*out = expr_value_boolean(false);
		rc = 0;
	} else {
		rc = expr_eval_node(&ev, root, out);
	}
	expr_node_free(root);
	return rc;
}

int expr_evaluate(const char *source, const struct expr_env *env, json_t **out, struct err *e)
{
	*out = NULL;
	if (!env)
		env = &empty_env;
	struct value v;
	if (evaluate_n(source, strlen(source), env, env->allow_status_functions, &v, NULL, e) != 0)
		return -1;
	*out = expr_value_to_json(&v);
	expr_value_release(&v);
	return 0;
}

/* One ${{ … }} found in a text. */
struct span {
	size_t start;	    /* the '$' */
	size_t inner_start; /* after "${{" */
	size_t inner_end;   /* at "}}" */
	size_t end;	    /* after "}}" */
};

/*
 * Finds the next ${{ … }} from `from`. The closing }} is the first one
 * outside a quoted string, as the runner's template reader scans, so
 * format('{0}}}', x) stays whole. Returns 1, 0 when there is none, -1 when
 * one is not closed.
 */
static int span_find(const char *text, size_t len, size_t from, struct span *s)
{
	const char *open = from < len ? memmem(text + from, len - from, "${{", 3) : NULL;
	if (!open)
		return 0;
	s->start = (size_t)(open - text);
	s->inner_start = s->start + 3;
	bool quoted = false;
	for (size_t i = s->inner_start; i + 1 < len; i++) {
		if (text[i] == '\'')
			quoted = !quoted;
		else if (!quoted && text[i] == '}' && text[i + 1] == '}') {
			s->inner_end = i;
			s->end = i + 2;
			return 1;
		}
	}
	return -1;
}

static void span_trim(const char *text, const struct span *s, size_t *start, size_t *len)
{
	size_t a = s->inner_start, b = s->inner_end;
	while (a < b && expr_is_space((unsigned char)text[a]))
		a++;
	while (b > a && expr_is_space((unsigned char)text[b - 1]))
		b--;
	*start = a;
	*len = b - a;
}

__attribute__((format(printf, 5, 6))) static int
text_fail(struct err *e, const char *text, size_t len, size_t pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	expr_fail_vat(e, "", text, len, pos, fmt, ap);
	va_end(ap);
	return -1;
}

static int span_unclosed(const char *text, size_t len, size_t start, struct err *e)
{
	return text_fail(e, text, len, start, "'${{' is not closed by '}}'");
}

static int span_evaluate(const char *text, const struct span *s, const struct expr_env *env,
			 bool allow_status, struct value *out, struct err *e)
{
	size_t start, len;
	span_trim(text, s, &start, &len);
	return evaluate_n(text + start, len, env, allow_status, out, NULL, e);
}

static int interpolate(const char *text, const struct expr_env *env, bool allow_status,
		       struct buf *out, struct err *e)
{
	size_t len = strlen(text), at = 0;
	for (;;) {
		struct span s;
		int found = span_find(text, len, at, &s);
		if (found < 0)
			return span_unclosed(text, len, s.start, e);
		if (found == 0)
			break;
		buf_add(out, text + at, s.start - at);
		struct value v;
		if (span_evaluate(text, &s, env, allow_status, &v, e) != 0)
			return -1;
		expr_value_append_string(out, &v);
		expr_value_release(&v);
		at = s.end;
	}
	buf_add(out, text + at, len - at);
	buf_cstr(out);
	return 0;
}

int expr_interpolate(const char *text, const struct expr_env *env, struct buf *out, struct err *e)
{
	if (!env)
		env = &empty_env;
	return interpolate(text, env, env->allow_status_functions, out, e);
}

/* Whether text, less surrounding whitespace, is exactly one ${{ … }}. */
static bool single_span(const char *text, struct span *s)
{
	size_t len = strlen(text), a = 0;
	while (a < len && expr_is_space((unsigned char)text[a]))
		a++;
	while (len > a && expr_is_space((unsigned char)text[len - 1]))
		len--;
	/* cppcheck takes the loop above to always end with len == a. */
	/* cppcheck-suppress knownConditionTrueFalse */
	if (len - a < 5 || memcmp(text + a, "${{", 3) != 0)
		return false;
	return span_find(text, len, a, s) == 1 && s->start == a && s->end == len;
}

int expr_interpolate_value(const char *text, const struct expr_env *env, json_t **out,
			   struct err *e)
{
	*out = NULL;
	if (!env)
		env = &empty_env;
	struct span s;
	if (single_span(text, &s)) {
		struct value v;
		if (span_evaluate(text, &s, env, env->allow_status_functions, &v, e) != 0)
			return -1;
		*out = expr_value_to_json(&v);
		expr_value_release(&v);
		return 0;
	}
	struct buf b = BUF_INIT;
	if (interpolate(text, env, env->allow_status_functions, &b, e) != 0) {
		buf_free(&b);
		return -1;
	}
	/* A JSON string must be UTF-8; only the text around expressions can
	 * break that. */
	size_t bad = str_utf8_invalid_at(text, strlen(text));
	if (bad < strlen(text)) {
		buf_free(&b);
		return text_fail(e, text, strlen(text), bad, "not valid UTF-8");
	}
	*out = expr_string_new(buf_cstr(&b), b.len);
	buf_free(&b);
	return 0;
}

/* Whether any ${{ … }} in text calls a status function (for an if: that
 * mixes text and expressions). */
static int spans_have_status(const char *text, const struct expr_env *env, bool *has, struct err *e)
{
	size_t len = strlen(text), at = 0;
	*has = false;
	for (;;) {
		struct span s;
		int found = span_find(text, len, at, &s);
		if (found < 0)
			return span_unclosed(text, len, s.start, e);
		if (found == 0)
			return 0;
		size_t start, n;
		span_trim(text, &s, &start, &n);
		struct node *root = parse_for_env(text + start, n, env, true, e);
		if (!root)
			return -1;
		*has = *has || expr_tree_has_status_function(root);
		expr_node_free(root);
		at = s.end;
	}
}

int expr_condition(const char *text, const struct expr_env *env, bool *out, struct err *e)
{
	*out = false;
	if (!env)
		env = &empty_env;
	bool success = env->status == EXPR_STATUS_SUCCESS;
	size_t start = 0, len = strlen(text);
	while (start < len && expr_is_space((unsigned char)text[start]))
		start++;
	while (len > start && expr_is_space((unsigned char)text[len - 1]))
		len--;
	if (start == len) {
		*out = success;
		return 0;
	}
	struct span s;
	if (single_span(text, &s)) {
		span_trim(text, &s, &start, &len);
		len += start;
	} else if (memmem(text, strlen(text), "${{", 3)) {
		/* Text around expressions: the runner makes it a format() whose
		 * string decides. */
		bool has_status;
		if (spans_have_status(text, env, &has_status, e) != 0)
			return -1;
		if (!has_status && !success)
			return 0;
		struct buf b = BUF_INIT;
		if (interpolate(text, env, true, &b, e) != 0) {
			buf_free(&b);
			return -1;
		}
		*out = b.len > 0;
		buf_free(&b);
		return 0;
	}
	struct value v;
	bool has_status;
	if (evaluate_n(text + start, len - start, env, true, &v, &has_status, e) != 0)
		return -1;
	*out = expr_value_is_truthy(&v) && (has_status || success);
	expr_value_release(&v);
	return 0;
}

int expr_check(const char *source, const char *const *contexts_allowed, struct err *e)
{
	struct expr_parse_options options = { 0 };
	options.allowed = contexts_allowed;
	options.any_name = contexts_allowed == NULL;
	options.allow_status = true;
	struct node *root = expr_parse(source, strlen(source), &options, e);
	if (!root)
		return -1;
	expr_node_free(root);
	return 0;
}

int expr_check_text(const char *text, bool condition, const char *const *contexts_allowed,
		    struct err *e)
{
	size_t len = strlen(text), at = 0;
	if (condition && !memmem(text, len, "${{", 3))
		return expr_check(text, contexts_allowed, e);
	for (;;) {
		struct span s;
		int found = span_find(text, len, at, &s);
		if (found < 0)
			return span_unclosed(text, len, s.start, e);
		if (found == 0)
			return 0;
		size_t start, n;
		span_trim(text, &s, &start, &n);
		char *source = xstrndup(text + start, n);
		int rc = expr_check(source, contexts_allowed, e);
		free(source);
		if (rc < 0)
			return -1;
		at = s.end;
	}
}

bool expr_is_insert_directive(const char *key)
{
	/* `${{ insert }}`, spaces optional: actions/runner's template directive */
	const char *p = key;
	if (strncmp(p, "${{", 3) != 0)
		return false;
	p += 3;
	while (*p == ' ')
		p++;
	if (strncmp(p, "insert", 6) != 0)
		return false;
	p += 6;
	while (*p == ' ')
		p++;
	return strcmp(p, "}}") == 0;
}
