/*
 * expr_functions: the functions an expression may call (contains,
 * startsWith, endsWith, format, join, toJSON, fromJSON, hashFiles and the
 * status functions), their names and arity for the parser, and what each
 * computes, following the runner's implementations.
 */
#include "pipeline/expr_internal.h"

#include "util/buf.h"
#include "util/err.h"
#include "util/xalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const struct function functions[] = {
	{ "contains", FN_CONTAINS, 2, 2, false },  { "startsWith", FN_STARTS_WITH, 2, 2, false },
	{ "endsWith", FN_ENDS_WITH, 2, 2, false }, { "format", FN_FORMAT, 1, 255, false },
	{ "join", FN_JOIN, 1, 2, false },	   { "toJSON", FN_TO_JSON, 1, 1, false },
	{ "fromJSON", FN_FROM_JSON, 1, 1, false }, { "hashFiles", FN_HASH_FILES, 1, 255, false },
	{ "success", FN_SUCCESS, 0, 0, true },	   { "failure", FN_FAILURE, 0, 0, true },
	{ "cancelled", FN_CANCELLED, 0, 0, true }, { "always", FN_ALWAYS, 0, 0, true },
};

const struct function *expr_function_find(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++)
		if (expr_ascii_equal_icase(name, len, functions[i].name))
			return &functions[i];
	return NULL;
}

/* contains, startsWith, endsWith. */
static int fn_string_test(struct eval *ev, const struct node *n, struct value *out)
{
	struct value search;
	if (expr_eval_node(ev, n->args[0], &search) != 0)
		return -1;
	*out = expr_value_boolean(false);
	if (expr_value_is_primitive(&search)) {
		struct value item;
		if (expr_eval_node(ev, n->args[1], &item) != 0) {
			expr_value_release(&search);
			return -1;
		}
		if (expr_value_is_primitive(&item)) {
			struct buf hay = BUF_INIT, needle = BUF_INIT;
			expr_value_append_string(&hay, &search);
			expr_value_append_string(&needle, &item);
			enum string_test test = n->function->id == FN_CONTAINS	    ? TEST_CONTAINS
						: n->function->id == FN_STARTS_WITH ? TEST_STARTS
										    : TEST_ENDS;
			*out = expr_value_boolean(expr_string_test_icase(
				buf_cstr(&hay), hay.len, buf_cstr(&needle), needle.len, test));
			buf_free(&hay);
			buf_free(&needle);
		}
		expr_value_release(&item);
	} else if (n->function->id == FN_CONTAINS && search.kind == VALUE_ARRAY &&
		   json_array_size(search.json) > 0) {
		/* An array contains an item that loosely equals the argument. */
		struct value item;
		if (expr_eval_node(ev, n->args[1], &item) != 0) {
			expr_value_release(&search);
			return -1;
		}
		size_t i;
		json_t *element;
		json_array_foreach(search.json, i, element)
		{
			struct value v = expr_value_from_json(element);
			bool equal = expr_values_compare(&item, &v, CMP_EQ);
			expr_value_release(&v);
			if (equal) {
				*out = expr_value_boolean(true);
				break;
			}
		}
		expr_value_release(&item);
	}
	expr_value_release(&search);
	return 0;
}

struct format_piece {
	size_t start, len; /* literal text, or the specifiers of an argument */
	int arg;	   /* -1 for literal text */
};

/* Reads "{N}" or "{N:spec}" at s[open]; the runner's ReadArgIndex and
 * ReadFormatSpecifiers. */
static bool format_read_placeholder(const char *s, size_t len, size_t open, int *arg,
				    size_t *spec_start, size_t *spec_len, size_t *close)
{
	size_t i = open + 1, digits = 0;
	unsigned value = 0;
	while (i < len && expr_is_digit((unsigned char)s[i])) {
		if (value <= 255)
			value = value * 10 + (unsigned)(s[i] - '0');
		i++, digits++;
	}
	if (digits == 0 || value > 255)
		return false;
	*arg = (int)value;
	if (i < len && s[i] == '}') {
		*spec_start = i;
		*spec_len = 0;
		*close = i;
		return true;
	}
	if (i >= len || s[i] != ':')
		return false;
	*spec_start = ++i;
	while (i < len) {
		if (s[i] != '}') {
			i++;
		} else if (i + 1 < len && s[i + 1] == '}') {
			i += 2;
		} else {
			*spec_len = i - *spec_start;
			*close = i;
			return true;
		}
	}
	return false;
}

static void pieces_add(struct format_piece **pieces, size_t *count, size_t *cap, size_t start,
		       size_t len, int arg)
{
	if (arg < 0 && len == 0)
		return;
	if (*count == *cap) {
		*cap = xalloc_grow_capacity(*cap, *count + 1);
		*pieces = xrealloc(*pieces, *cap * sizeof(**pieces));
	}
	struct format_piece piece = { start, len, arg };
	(*pieces)[(*count)++] = piece;
}

/*
 * format('{0} {1}', a, b): '{{' and '}}' are literal braces. The whole
 * format string is checked before any argument is evaluated, and only the
 * arguments it names are evaluated, each once (as in the runner).
 */
static int fn_format(struct eval *ev, const struct node *n, struct value *out)
{
	struct buf fmt = BUF_INIT, result = BUF_INIT;
	struct format_piece *pieces = NULL;
	size_t count = 0, cap = 0;
	struct value *args = NULL;
	bool *have = NULL;
	int rc = -1;
	if (expr_eval_string_arg(ev, n->args[0], &fmt) != 0)
		goto done;
	const char *s = buf_cstr(&fmt);
	size_t len = fmt.len, i = 0;
	size_t shown = expr_clip_utf8(s, len, MESSAGE_SOURCE_MAX);
	const char *more = shown < len ? "..." : "";
	while (i < len) {
		const char *l = memchr(s + i, '{', len - i);
		const char *r = memchr(s + i, '}', len - i);
		if (l && (!r || r > l)) {
			size_t open = (size_t)(l - s);
			int arg;
			size_t spec_start, spec_len, close;
			if (open + 1 < len && s[open + 1] == '{') {
				pieces_add(&pieces, &count, &cap, i, open + 1 - i, -1);
				i = open + 2;
			} else if (r && (size_t)(r - s) > open + 1 &&
				   format_read_placeholder(s, len, open, &arg, &spec_start,
							   &spec_len, &close)) {
				if ((size_t)arg + 1 >= n->nargs) {
					expr_eval_fail(
						ev, n->pos,
						"the format string references more arguments "
						"than were supplied: '%.*s%s'",
						(int)shown, s, more);
					goto done;
				}
				pieces_add(&pieces, &count, &cap, i, open - i, -1);
				pieces_add(&pieces, &count, &cap, spec_start, spec_len, arg);
				i = close + 1;
			} else {
				expr_eval_fail(ev, n->pos, "the format string is invalid: '%.*s%s'",
					       (int)shown, s, more);
				goto done;
			}
		} else if (r) {
			size_t close = (size_t)(r - s);
			if (close + 1 < len && s[close + 1] == '}') {
				pieces_add(&pieces, &count, &cap, i, close + 1 - i, -1);
				i = close + 2;
			} else {
				expr_eval_fail(ev, n->pos, "the format string is invalid: '%.*s%s'",
					       (int)shown, s, more);
				goto done;
			}
		} else {
			pieces_add(&pieces, &count, &cap, i, len - i, -1);
			break;
		}
	}

	args = xcalloc(n->nargs, sizeof(*args));
	have = xcalloc(n->nargs, sizeof(*have));
	for (size_t k = 0; k < count; k++) {
		const struct format_piece *piece = &pieces[k];
		if (piece->arg < 0) {
			buf_add(&result, s + piece->start, piece->len);
		} else {
			size_t a = (size_t)piece->arg;
			if (!have[a]) {
				if (expr_eval_node(ev, n->args[a + 1], &args[a]) != 0)
					goto done;
				have[a] = true;
			}
			if (piece->len > 0) {
				size_t spec = expr_clip_utf8(s + piece->start, piece->len,
							     MESSAGE_TOKEN_MAX);
				expr_eval_fail(
					ev, n->pos,
					"the format specifiers '%.*s' are not valid for objects "
					"of type '%s'",
					(int)spec, s + piece->start,
					expr_value_kind_name(args[a].kind));
				goto done;
			}
			expr_value_append_string(&result, &args[a]);
		}
		if (expr_eval_check_size(ev, n, &result) != 0)
			goto done;
	}
	*out = expr_value_string_buf(&result);
	rc = 0;
done:
	if (args)
		for (size_t k = 0; k < n->nargs; k++)
			expr_value_release(&args[k]);
	free(args);
	free(have);
	free(pieces);
	buf_free(&fmt);
	buf_free(&result);
	return rc;
}

/* join(array, separator=','): a primitive joins to its own string form,
 * an object or empty array to ''. */
static int fn_join(struct eval *ev, const struct node *n, struct value *out)
{
	struct value items;
	if (expr_eval_node(ev, n->args[0], &items) != 0)
		return -1;
	struct buf result = BUF_INIT, separator = BUF_INIT;
	int rc = 0;
	if (items.kind == VALUE_ARRAY && json_array_size(items.json) > 0) {
		buf_addch(&separator, ',');
		if (json_array_size(items.json) > 1 && n->nargs > 1) {
			struct value sep;
			if (expr_eval_node(ev, n->args[1], &sep) != 0) {
				rc = -1;
				goto done;
			}
			if (expr_value_is_primitive(&sep)) {
				buf_reset(&separator);
				expr_value_append_string(&separator, &sep);
			}
			expr_value_release(&sep);
		}
		size_t i;
		json_t *item;
		json_array_foreach(items.json, i, item)
		{
			if (i > 0)
				buf_add(&result, separator.data, separator.len);
			struct value v = expr_value_from_json(item);
			expr_value_append_string(&result, &v);
			expr_value_release(&v);
			if (expr_eval_check_size(ev, n, &result) != 0) {
				rc = -1;
				goto done;
			}
		}
	} else if (expr_value_is_primitive(&items)) {
		expr_value_append_string(&result, &items);
	}
	*out = expr_value_string_buf(&result);
done:
	expr_value_release(&items);
	buf_free(&result);
	buf_free(&separator);
	return rc;
}

/* A JSON string as Newtonsoft writes it (the runner's toJSON). */
static void json_quote_append(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	buf_addch(b, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"':
			buf_adds(b, "\\\"");
			continue;
		case '\\':
			buf_adds(b, "\\\\");
			continue;
		case '\n':
			buf_adds(b, "\\n");
			continue;
		case '\r':
			buf_adds(b, "\\r");
			continue;
		case '\t':
			buf_adds(b, "\\t");
			continue;
		case '\b':
			buf_adds(b, "\\b");
			continue;
		case '\f':
			buf_adds(b, "\\f");
			continue;
		default:
			break;
		}
		if (c < 0x20) {
			buf_adds(b, "\\u00");
			buf_addch(b, hex[c >> 4]);
			buf_addch(b, hex[c & 15]);
			continue;
		}
		/* U+0085, U+2028 and U+2029 are escaped too: they end lines
		 * in JavaScript. */
		if (c == 0xC2 && i + 1 < len && (unsigned char)s[i + 1] == 0x85) {
			buf_adds(b, "\\u0085");
			i++;
			continue;
		}
		if (c == 0xE2 && i + 2 < len && (unsigned char)s[i + 1] == 0x80 &&
		    ((unsigned char)s[i + 2] == 0xA8 || (unsigned char)s[i + 2] == 0xA9)) {
			buf_adds(b, (unsigned char)s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029");
			i += 2;
			continue;
		}
		buf_addch(b, (char)c);
	}
	buf_addch(b, '"');
}

static void indent_append(struct buf *b, int level)
{
	buf_addch(b, '\n');
	for (int i = 0; i < level; i++)
		buf_adds(b, "  ");
}

/* The runner's toJSON layout: two-space indent, "key": value, numbers as
 * G15. Returns false when the text outgrows the result limit. */
static bool tojson_append(struct buf *b, const json_t *j, int level)
{
	if (b->len > EXPR_MAX_RESULT_SIZE)
		return false;
	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		if (json_object_size(j) == 0) {
			buf_adds(b, "{}");
			return true;
		}
		buf_addch(b, '{');
		bool first = true;
		const char *k;
		size_t klen;
		json_t *member;
		json_object_keylen_foreach((json_t *)j, k, klen, member)
		{
			if (!first)
				buf_addch(b, ',');
			first = false;
			indent_append(b, level + 1);
			json_quote_append(b, k, klen);
			buf_adds(b, ": ");
			if (!tojson_append(b, member, level + 1))
				return false;
		}
		indent_append(b, level);
		buf_addch(b, '}');
		return true;
	}
	case JSON_ARRAY: {
		if (json_array_size(j) == 0) {
			buf_adds(b, "[]");
			return true;
		}
		buf_addch(b, '[');
		size_t i;
		json_t *item;
		json_array_foreach(j, i, item)
		{
			if (i > 0)
				buf_addch(b, ',');
			indent_append(b, level + 1);
			if (!tojson_append(b, item, level + 1))
				return false;
		}
		indent_append(b, level);
		buf_addch(b, ']');
		return true;
	}
	case JSON_STRING:
		json_quote_append(b, json_string_value(j), json_string_length(j));
		return true;
	case JSON_INTEGER:
		expr_number_append(b, (double)json_integer_value(j));
		return true;
	case JSON_REAL:
		expr_number_append(b, json_real_value(j));
		return true;
	case JSON_TRUE:
		buf_adds(b, "true");
		return true;
	case JSON_FALSE:
		buf_adds(b, "false");
		return true;
	default:
		buf_adds(b, "null");
		return true;
	}
}

static int fn_to_json(struct eval *ev, const struct node *n, struct value *out)
{
	struct value v;
	if (expr_eval_node(ev, n->args[0], &v) != 0)
		return -1;
	struct buf b = BUF_INIT;
	bool ok = true;
	switch (v.kind) {
	case VALUE_NULL:
		buf_adds(&b, "null");
		break;
	case VALUE_BOOLEAN:
		buf_adds(&b, v.boolean ? "true" : "false");
		break;
	case VALUE_NUMBER:
		expr_number_append(&b, v.number);
		break;
	default:
		ok = tojson_append(&b, v.json, 0);
		break;
	}
	expr_value_release(&v);
	int rc = ok ? expr_eval_check_size(ev, n, &b) : -1;
	if (!ok)
		expr_eval_fail(ev, n->pos,
			       "the result of 'toJSON' is larger than the limit of %zu bytes",
			       EXPR_MAX_RESULT_SIZE);
	if (rc == 0)
		*out = expr_value_string_buf(&b);
	buf_free(&b);
	return rc;
}

/* fromJSON numbers are doubles (as in the runner); integral ones go back
 * to jansson integers so that callers see 1, not 1.0. */
static void json_integralize(json_t *j)
{
	if (json_is_array(j)) {
		for (size_t i = 0; i < json_array_size(j); i++) {
			json_t *item = json_array_get(j, i);
			if (json_is_real(item))
				json_array_set_new(j, i,
						   expr_number_to_json(json_real_value(item)));
			else
				json_integralize(item);
		}
	} else if (json_is_object(j)) {
		for (void *it = json_object_iter(j); it; it = json_object_iter_next(j, it)) {
			json_t *member = json_object_iter_value(it);
			if (json_is_real(member))
				json_object_iter_set_new(
					j, it, expr_number_to_json(json_real_value(member)));
			else
				json_integralize(member);
		}
	}
}

static int fn_from_json(struct eval *ev, const struct node *n, struct value *out)
{
	struct buf text = BUF_INIT;
	if (expr_eval_string_arg(ev, n->args[0], &text) != 0)
		return -1;
	json_error_t jerr;
	json_t *j = json_loadb(buf_cstr(&text), text.len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL,
			       &jerr);
	buf_free(&text);
	if (!j)
		return expr_eval_fail(ev, n->pos,
				      "fromJSON: invalid JSON at line %d, column %d: %s", jerr.line,
				      jerr.column, jerr.text);
	if (json_is_real(j)) {
		json_t *number = expr_number_to_json(json_real_value(j));
		json_decref(j);
		j = number;
	} else {
		json_integralize(j);
	}
	*out = expr_value_from_json(j);
	json_decref(j);
	return 0;
}

/* ------------------------------------------------------------- dispatch */

int expr_eval_call(struct eval *ev, const struct node *n, struct value *out)
{
	enum expr_status status = ev->env ? ev->env->status : EXPR_STATUS_SUCCESS;
	switch (n->function->id) {
	case FN_CONTAINS:
	case FN_STARTS_WITH:
	case FN_ENDS_WITH:
		return fn_string_test(ev, n, out);
	case FN_FORMAT:
		return fn_format(ev, n, out);
	case FN_JOIN:
		return fn_join(ev, n, out);
	case FN_TO_JSON:
		return fn_to_json(ev, n, out);
	case FN_FROM_JSON:
		return fn_from_json(ev, n, out);
	case FN_HASH_FILES:
		return expr_hash_files(ev, n, out);
	case FN_SUCCESS:
		*out = expr_value_boolean(status == EXPR_STATUS_SUCCESS);
		return 0;
	case FN_FAILURE:
		*out = expr_value_boolean(status == EXPR_STATUS_FAILURE);
		return 0;
	case FN_CANCELLED:
		*out = expr_value_boolean(status == EXPR_STATUS_CANCELLED);
		return 0;
	case FN_ALWAYS:
		*out = expr_value_boolean(true);
		return 0;
	}
	return expr_eval_fail(ev, n->pos, "unrecognized function '%s'", n->name);
}
