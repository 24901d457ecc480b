#include "pipeline/expr.h"

#include "util/buf.h"
#include "util/err.h"
#include "util/glob.h"
#include "util/str.h"
#include "util/walk.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wctype.h>

/*
 * The semantics follow GitHub's runner (actions/runner, Expressions2):
 * numbers are doubles, comparisons coerce like JavaScript's == except that
 * strings compare ignoring case and objects only equal themselves, && and
 * || hand back an operand, and a '*' filter yields an array that further
 * dereferences apply to element by element.
 */

/* How much of an expression an error message quotes. */
#define MESSAGE_SOURCE_MAX 200
/* How much of an unexpected token an error message quotes. */
#define MESSAGE_TOKEN_MAX 40

/* ---------------------------------------------------------------- locale */

/*
 * Number text must not follow the process locale (a German LC_NUMERIC
 * would print "1,5"), and case folding beyond ASCII needs a UTF-8 ctype;
 * both come from fixed locales made once.
 */
static locale_t c_locale;
static locale_t utf8_locale;
static pthread_once_t locales_once = PTHREAD_ONCE_INIT;

static void locales_init(void)
{
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

static void locales_ready(void)
{
	pthread_once(&locales_once, locales_init);
}

/* ----------------------------------------------------------------- values */

enum value_kind {
	VALUE_NULL,
	VALUE_BOOLEAN,
	VALUE_NUMBER,
	VALUE_STRING,
	VALUE_ARRAY,
	VALUE_OBJECT,
};

/*
 * An evaluated value. Numbers are doubles (as in the runner) so NaN and
 * the infinities, which jansson cannot hold, still work in comparisons.
 * Strings, arrays and objects hold a jansson reference, so looking up a
 * context copies nothing and object identity is pointer identity.
 */
struct value {
	enum value_kind kind;
	bool boolean;
	/* An array made by a '*' filter: a further '.x' or '[i]' applies to
	 * each element instead of to the array. */
	bool filtered;
	double number;
	json_t *json;
};

static json_t *checked(json_t *node)
{
	/* Same policy as xalloc: out of memory is not reportable. */
	if (!node) {
		fputs("ampel: out of memory\n", stderr);
		abort();
	}
	return node;
}

static json_t *string_new(const char *s, size_t len)
{
	json_t *j = json_stringn(s, len);
	/* Every string here is built from valid UTF-8 pieces; the unchecked
	 * form only guards against an internal slip turning into a NULL. */
	return j ? j : checked(json_stringn_nocheck(s, len));
}

static struct value value_null(void)
{
	struct value v = { VALUE_NULL, false, false, 0, NULL };
	return v;
}

static struct value value_boolean(bool b)
{
	struct value v = { VALUE_BOOLEAN, b, false, 0, NULL };
	return v;
}

static struct value value_number(double d)
{
	struct value v = { VALUE_NUMBER, false, false, d, NULL };
	return v;
}

/* Takes ownership of json (a string). */
static struct value value_string_take(json_t *json)
{
	struct value v = { VALUE_STRING, false, false, 0, json };
	return v;
}

static struct value value_string_buf(const struct buf *b)
{
	return value_string_take(string_new(buf_cstr(b), b->len));
}

static struct value value_filtered_new(void)
{
	struct value v = { VALUE_ARRAY, false, true, 0, checked(json_array()) };
	return v;
}

static struct value value_from_json(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_TRUE:
		return value_boolean(true);
	case JSON_FALSE:
		return value_boolean(false);
	case JSON_INTEGER:
		return value_number((double)json_integer_value(j));
	case JSON_REAL:
		return value_number(json_real_value(j));
	case JSON_STRING: {
		struct value v = { VALUE_STRING, false, false, 0, json_incref((json_t *)j) };
		return v;
	}
	case JSON_ARRAY: {
		struct value v = { VALUE_ARRAY, false, false, 0, json_incref((json_t *)j) };
		return v;
	}
	case JSON_OBJECT: {
		struct value v = { VALUE_OBJECT, false, false, 0, json_incref((json_t *)j) };
		return v;
	}
	case JSON_NULL:
	default:
		return value_null();
	}
}

static void value_release(struct value *v)
{
	json_decref(v->json);
	*v = value_null();
}

static bool value_is_primitive(const struct value *v)
{
	return v->kind != VALUE_ARRAY && v->kind != VALUE_OBJECT;
}

static bool value_truthy(const struct value *v)
{
	switch (v->kind) {
	case VALUE_NULL:
		return false;
	case VALUE_BOOLEAN:
		return v->boolean;
	case VALUE_NUMBER:
		return !(v->number == 0 || isnan(v->number));
	case VALUE_STRING:
		return json_string_length(v->json) > 0;
	default:
		return true;
	}
}

static const char *value_kind_name(enum value_kind kind)
{
	switch (kind) {
	case VALUE_NULL:
		return "Null";
	case VALUE_BOOLEAN:
		return "Boolean";
	case VALUE_NUMBER:
		return "Number";
	case VALUE_STRING:
		return "String";
	case VALUE_ARRAY:
		return "Array";
	default:
		return "Object";
	}
}

/* .NET's d.ToString("G15", InvariantCulture), which C's %.15G matches. */
static void number_append(struct buf *b, double d)
{
	if (isnan(d)) {
		buf_adds(b, "NaN");
		return;
	}
	if (isinf(d)) {
		buf_adds(b, d > 0 ? "Infinity" : "-Infinity");
		return;
	}
	char text[64];
	locales_ready();
	locale_t old = c_locale ? uselocale(c_locale) : (locale_t)0;
	snprintf(text, sizeof(text), "%.15G", d);
	if (c_locale)
		uselocale(old);
	buf_adds(b, text);
}

/* The runner's EvaluationResult.ConvertToString. */
static void value_append_string(struct buf *b, const struct value *v)
{
	switch (v->kind) {
	case VALUE_NULL:
		break;
	case VALUE_BOOLEAN:
		buf_adds(b, v->boolean ? "true" : "false");
		break;
	case VALUE_NUMBER:
		number_append(b, v->number);
		break;
	case VALUE_STRING:
		buf_add(b, json_string_value(v->json), json_string_length(v->json));
		break;
	case VALUE_ARRAY:
		buf_adds(b, "Array");
		break;
	case VALUE_OBJECT:
		buf_adds(b, "Object");
		break;
	}
}

static json_t *number_to_json(double d)
{
	if (isnan(d) || isinf(d)) {
		struct buf b = BUF_INIT;
		number_append(&b, d);
		json_t *j = string_new(b.data, b.len);
		buf_free(&b);
		return j;
	}
	/* Integers come back as integers so that `timeout-minutes: ${{ 5 }}`
	 * and toJSON-free consumers see 5, not 5.0. */
	if (d == trunc(d) && fabs(d) <= 9007199254740992.0 && !(d == 0 && signbit(d)))
		return checked(json_integer((json_int_t)d));
	return checked(json_real(d));
}

static json_t *value_to_json(const struct value *v)
{
	switch (v->kind) {
	case VALUE_NULL:
		return checked(json_null());
	case VALUE_BOOLEAN:
		return checked(json_boolean(v->boolean));
	case VALUE_NUMBER:
		return number_to_json(v->number);
	default:
		return json_incref(v->json);
	}
}

/* ------------------------------------------------------- number parsing */

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int hex_value(unsigned char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool ascii_equal_icase(const char *a, size_t alen, const char *b)
{
	return str_eq_icase_n(a, alen, b, strlen(b));
}

/* What .NET's Double.TryParse accepts with AllowLeadingSign,
 * AllowDecimalPoint and AllowExponent: [+-]digits[.digits][e[+-]digits]. */
static bool is_decimal_syntax(const char *s, size_t len)
{
	size_t i = 0, digits = 0;
	if (i < len && (s[i] == '+' || s[i] == '-'))
		i++;
	while (i < len && is_digit((unsigned char)s[i]))
		i++, digits++;
	if (i < len && s[i] == '.') {
		i++;
		while (i < len && is_digit((unsigned char)s[i]))
			i++, digits++;
	}
	if (digits == 0)
		return false;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t exponent_digits = 0;
		while (i < len && is_digit((unsigned char)s[i]))
			i++, exponent_digits++;
		if (exponent_digits == 0)
			return false;
	}
	return i == len;
}

/*
 * The runner's ExpressionUtility.ParseNumber, modelled on JavaScript's
 * Number(): '' is 0, decimal and exponent forms, 0x (32-bit, two's
 * complement like Int32 hex parsing) and 0o, Infinity and NaN; anything
 * else is NaN.
 */
static double number_parse(const char *s, size_t len)
{
	while (len > 0 && is_space((unsigned char)*s))
		s++, len--;
	while (len > 0 && is_space((unsigned char)s[len - 1]))
		len--;
	if (len == 0)
		return 0;
	if (is_decimal_syntax(s, len)) {
		char *copy = xstrndup(s, len);
		locales_ready();
		double d = c_locale ? strtod_l(copy, NULL, c_locale) : strtod(copy, NULL);
		free(copy);
		return d;
	}
	if (len > 2 && s[0] == '0' && s[1] == 'x') {
		uint64_t v = 0;
		for (size_t i = 2; i < len; i++) {
			int h = hex_value((unsigned char)s[i]);
			if (h < 0)
				return NAN;
			v = v * 16 + (uint64_t)h;
			if (v > 0xFFFFFFFFu)
				return NAN;
		}
		return (double)(int32_t)(uint32_t)v;
	}
	if (len > 2 && s[0] == '0' && s[1] == 'o') {
		uint64_t v = 0;
		for (size_t i = 2; i < len; i++) {
			if (s[i] < '0' || s[i] > '7')
				return NAN;
			v = v * 8 + (uint64_t)(s[i] - '0');
			if (v > 0xFFFFFFFFu)
				return NAN;
		}
		return (double)(int32_t)(uint32_t)v;
	}
	/* .NET also reads its invariant symbols, ignoring case. */
	if (ascii_equal_icase(s, len, "Infinity") || ascii_equal_icase(s, len, "+Infinity"))
		return INFINITY;
	if (ascii_equal_icase(s, len, "-Infinity"))
		return -INFINITY;
	return NAN;
}

static double value_to_number(const struct value *v)
{
	switch (v->kind) {
	case VALUE_NULL:
		return 0;
	case VALUE_BOOLEAN:
		return v->boolean ? 1 : 0;
	case VALUE_NUMBER:
		return v->number;
	case VALUE_STRING:
		return number_parse(json_string_value(v->json), json_string_length(v->json));
	default:
		return NAN;
	}
}

/* ------------------------------------------------------- string folding */

/* Decodes one UTF-8 sequence; an invalid byte decodes as itself. */
static uint32_t utf8_decode(const unsigned char *s, size_t len, size_t *used)
{
	unsigned char c = s[0];
	size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
	if (n == 1 || n == 0 || n > len) {
		*used = 1;
		return c;
	}
	uint32_t cp = c & (0x7F >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			*used = 1;
			return c;
		}
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	*used = n;
	return cp;
}

static void utf8_encode(struct buf *b, uint32_t cp)
{
	char out[4];
	size_t n;
	if (cp < 0x80) {
		out[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		out[0] = (char)(0xF0 | (cp >> 18));
		out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	buf_add(b, out, n);
}

static bool is_ascii(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

/*
 * Upper-cases s into out, as .NET's OrdinalIgnoreCase compares: ASCII
 * always, other letters through the C.UTF-8 tables when the system has
 * them. Both sides of a comparison are folded the same way, so byte order
 * of the results is code point order.
 */
static void fold_append(struct buf *out, const char *s, size_t len)
{
	buf_grow(out, len);
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		if (p[i] < 0x80) {
			unsigned char c = p[i++];
			buf_addch(out, (char)((c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c));
			continue;
		}
		size_t used;
		uint32_t cp = utf8_decode(p + i, len - i, &used);
		if (used == 1) {
			buf_addch(out, (char)p[i++]);
			continue;
		}
		i += used;
		locales_ready();
		if (utf8_locale) {
			wint_t up = towupper_l((wint_t)cp, utf8_locale);
			if (up != WEOF && up > 0 && up <= 0x10FFFF)
				cp = (uint32_t)up;
		}
		utf8_encode(out, cp);
	}
}

static int compare_icase(const char *a, size_t alen, const char *b, size_t blen)
{
	if (is_ascii(a, alen) && is_ascii(b, blen)) {
		size_t n = alen < blen ? alen : blen;
		for (size_t i = 0; i < n; i++) {
			unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
			if (x >= 'a' && x <= 'z')
				x = (unsigned char)(x - 'a' + 'A');
			if (y >= 'a' && y <= 'z')
				y = (unsigned char)(y - 'a' + 'A');
			if (x != y)
				return x < y ? -1 : 1;
		}
		return alen < blen ? -1 : alen > blen ? 1 : 0;
	}
	struct buf fa = BUF_INIT, fb = BUF_INIT;
	fold_append(&fa, a, alen);
	fold_append(&fb, b, blen);
	size_t n = fa.len < fb.len ? fa.len : fb.len;
	int c = memcmp(buf_cstr(&fa), buf_cstr(&fb), n);
	if (c == 0)
		c = fa.len < fb.len ? -1 : fa.len > fb.len ? 1 : 0;
	buf_free(&fa);
	buf_free(&fb);
	return c < 0 ? -1 : c > 0 ? 1 : 0;
}

enum string_test { TEST_CONTAINS, TEST_STARTS, TEST_ENDS };

static bool string_test_icase(const char *hay, size_t hlen, const char *needle, size_t nlen,
			      enum string_test test)
{
	struct buf fh = BUF_INIT, fn = BUF_INIT;
	fold_append(&fh, hay, hlen);
	fold_append(&fn, needle, nlen);
	bool result = false;
	if (fn.len == 0)
		result = true;
	else if (fn.len <= fh.len) {
		switch (test) {
		case TEST_CONTAINS:
			result = memmem(fh.data, fh.len, fn.data, fn.len) != NULL;
			break;
		case TEST_STARTS:
			result = memcmp(fh.data, fn.data, fn.len) == 0;
			break;
		case TEST_ENDS:
			result = memcmp(fh.data + fh.len - fn.len, fn.data, fn.len) == 0;
			break;
		}
	}
	buf_free(&fh);
	buf_free(&fn);
	return result;
}

/* ------------------------------------------------------------ comparing */

/*
 * The runner's CoerceTypes: number against string parses the string,
 * null and booleans become numbers and try again; other mixes stay
 * mismatched (and compare unequal).
 */
static void coerce(struct value *l, struct value *r)
{
	for (;;) {
		if (l->kind == r->kind)
			return;
		if (l->kind == VALUE_NUMBER && r->kind == VALUE_STRING) {
			double d = value_to_number(r);
			*r = value_number(d);
		} else if (l->kind == VALUE_STRING && r->kind == VALUE_NUMBER) {
			double d = value_to_number(l);
			*l = value_number(d);
		} else if (l->kind == VALUE_BOOLEAN || l->kind == VALUE_NULL) {
			*l = value_number(value_to_number(l));
			continue;
		} else if (r->kind == VALUE_BOOLEAN || r->kind == VALUE_NULL) {
			*r = value_number(value_to_number(r));
			continue;
		}
		return;
	}
}

enum compare_op { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE };

/* Returns -1, 0 or 1, or 2 when the values are not ordered (NaN, mixed
 * kinds, objects), which makes every comparison but != false. */
static int values_order(const struct value *left, const struct value *right, bool *equal)
{
	/* Shallow copies: coerce only swaps in numbers, and the copies are
	 * never released, so the references stay with the caller. */
	struct value l = *left, r = *right;
	coerce(&l, &r);
	*equal = false;
	if (l.kind != r.kind)
		return 2;
	switch (l.kind) {
	case VALUE_NULL:
		*equal = true;
		return 0;
	case VALUE_NUMBER:
		if (isnan(l.number) || isnan(r.number))
			return 2;
		*equal = l.number == r.number;
		return l.number < r.number ? -1 : l.number > r.number ? 1 : 0;
	case VALUE_STRING: {
		int c = compare_icase(json_string_value(l.json), json_string_length(l.json),
				      json_string_value(r.json), json_string_length(r.json));
		*equal = c == 0;
		return c;
	}
	case VALUE_BOOLEAN:
		*equal = l.boolean == r.boolean;
		return (int)l.boolean - (int)r.boolean;
	default:
		*equal = l.json == r.json;
		return 2;
	}
}

static bool values_compare(const struct value *l, const struct value *r, enum compare_op op)
{
	bool equal;
	int order = values_order(l, r, &equal);
	switch (op) {
	case CMP_EQ:
		return equal;
	case CMP_NE:
		return !equal;
	case CMP_LT:
		return order == -1;
	case CMP_LE:
		return equal || order == -1;
	case CMP_GT:
		return order == 1;
	case CMP_GE:
		return equal || order == 1;
	}
	return false;
}

/* ------------------------------------------------------------------ AST */

enum node_kind {
	NODE_LITERAL,
	NODE_CONTEXT, /* a named value: github, env, ... */
	NODE_INDEX,   /* a.b, a['b'], a[0], a.*, a[*] */
	NODE_NOT,
	NODE_AND,
	NODE_OR,
	NODE_COMPARE,
	NODE_CALL,
};

enum function_id {
	FN_CONTAINS,
	FN_STARTS_WITH,
	FN_ENDS_WITH,
	FN_FORMAT,
	FN_JOIN,
	FN_TO_JSON,
	FN_FROM_JSON,
	FN_HASH_FILES,
	FN_SUCCESS,
	FN_FAILURE,
	FN_CANCELLED,
	FN_ALWAYS,
};

struct function {
	const char *name;
	enum function_id id;
	size_t min_args;
	size_t max_args;
	bool status; /* a status function: only in if: */
};

static const struct function functions[] = {
	{ "contains", FN_CONTAINS, 2, 2, false },  { "startsWith", FN_STARTS_WITH, 2, 2, false },
	{ "endsWith", FN_ENDS_WITH, 2, 2, false }, { "format", FN_FORMAT, 1, 255, false },
	{ "join", FN_JOIN, 1, 2, false },	   { "toJSON", FN_TO_JSON, 1, 1, false },
	{ "fromJSON", FN_FROM_JSON, 1, 1, false }, { "hashFiles", FN_HASH_FILES, 1, 255, false },
	{ "success", FN_SUCCESS, 0, 0, true },	   { "failure", FN_FAILURE, 0, 0, true },
	{ "cancelled", FN_CANCELLED, 0, 0, true }, { "always", FN_ALWAYS, 0, 0, true },
};

struct node {
	enum node_kind kind;
	size_t pos;  /* byte offset in the source, for messages */
	int height;  /* 1 for a leaf */
	bool filter; /* NODE_INDEX: the index is '*' */
	enum compare_op op;
	struct value literal;
	char *name; /* NODE_CONTEXT, NODE_CALL */
	const struct function *function;
	struct node **args;
	size_t nargs;
	size_t cap;
};

static void node_free(struct node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nargs; i++)
		node_free(n->args[i]);
	free(n->args);
	free(n->name);
	value_release(&n->literal);
	free(n);
}

static struct node *node_new(enum node_kind kind, size_t pos)
{
	struct node *n = xcalloc(1, sizeof(*n));
	n->kind = kind;
	n->pos = pos;
	n->height = 1;
	n->literal = value_null();
	return n;
}

static void node_add(struct node *n, struct node *child)
{
	if (n->nargs == n->cap) {
		n->cap = xalloc_grow_capacity(n->cap, n->nargs + 1);
		n->args = xrealloc(n->args, n->cap * sizeof(*n->args));
	}
	n->args[n->nargs++] = child;
	if (child->height + 1 > n->height)
		n->height = child->height + 1;
}

/* ---------------------------------------------------------------- errors */

/* Offset of the first byte that is not valid UTF-8, or len. */
static size_t utf8_invalid_at(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		size_t used;
		uint32_t cp = utf8_decode(p + i, len - i, &used);
		bool overlong = (used == 2 && cp < 0x80) || (used == 3 && cp < 0x800) ||
				(used == 4 && cp < 0x10000);
		if (used == 1 || overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return i;
		i += used;
	}
	return len;
}

/* Column of byte offset pos, counting characters from 1. */
static size_t column_of(const char *src, size_t pos)
{
	size_t col = 1;
	for (size_t i = 0; i < pos; i++)
		if (((unsigned char)src[i] & 0xC0) != 0x80)
			col++;
	return col;
}

/* Length of at most max bytes of s, not splitting a UTF-8 sequence. */
static size_t clip_utf8(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return max;
}

/* Fills e with "<label>'<src>' at column <n>: <problem>". */
__attribute__((format(printf, 6, 0))) static int fail_vat(struct err *e, const char *label,
							  const char *src, size_t len, size_t pos,
							  const char *fmt, va_list ap)
{
	struct buf problem = BUF_INIT, shown = BUF_INIT;
	buf_vaddf(&problem, fmt, ap);
	/* Messages end up in logs and JSON: bytes that are not UTF-8 show as
	 * '?' rather than travel on. */
	size_t n = clip_utf8(src, len, MESSAGE_SOURCE_MAX);
	for (size_t i = 0; i < n;) {
		size_t bad = utf8_invalid_at(src + i, n - i);
		buf_add(&shown, src + i, bad);
		i += bad;
		if (i < n) {
			buf_addch(&shown, '?');
			i++;
		}
	}
	err_set(e, "%s'%s%s' at column %zu: %s", label, buf_cstr(&shown), n < len ? "..." : "",
		column_of(src, pos), problem.data);
	buf_free(&problem);
	buf_free(&shown);
	return -1;
}

/* ---------------------------------------------------------------- lexer */

enum token_kind {
	TOKEN_END,
	TOKEN_LPAREN,
	TOKEN_RPAREN,
	TOKEN_LBRACKET,
	TOKEN_RBRACKET,
	TOKEN_COMMA,
	TOKEN_DOT,
	TOKEN_STAR,
	TOKEN_NOT,
	TOKEN_NE,
	TOKEN_LT,
	TOKEN_LE,
	TOKEN_GT,
	TOKEN_GE,
	TOKEN_EQ,
	TOKEN_AND,
	TOKEN_OR,
	TOKEN_STRING,
	TOKEN_NUMBER,
	TOKEN_WORD,
	TOKEN_UNEXPECTED,
};

struct token {
	enum token_kind kind;
	size_t pos;
	size_t len;
	double number;
};

/* Characters that end a word or number (as in the runner's lexer). */
static bool is_boundary(unsigned char c)
{
	return strchr("([)],.!><=&|", c) != NULL || is_space(c);
}

/* The runner's IsLegalKeyword: [A-Za-z_][A-Za-z0-9_-]*. */
static bool is_legal_keyword(const char *s, size_t len)
{
	if (len == 0)
		return false;
	unsigned char c = (unsigned char)s[0];
	if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'))
		return false;
	for (size_t i = 1; i < len; i++) {
		c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

struct parser {
	const char *src;
	size_t len;
	size_t pos;
	int nesting;
	struct err *e;
	/* Which named values exist: the keys of contexts, or a list, or any. */
	const json_t *contexts;
	const char *const *allowed;
	bool any_name;
	bool allow_status;
	/* The first unknown name, reported only when the syntax is right so
	 * that "foo(" says what is missing rather than that foo is unknown. */
	bool name_failed;
	size_t name_pos;
	char name_problem[256];
};

__attribute__((format(printf, 3, 4))) static int fail_at(struct parser *p, size_t pos,
							 const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fail_vat(p->e, "expression ", p->src, p->len, pos, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Reads the token at p->pos without consuming it. `operand` says whether
 * an operand may start here: then '.' begins a number (".5"), else it is
 * the dereference operator.
 */
static void token_peek(const struct parser *p, bool operand, struct token *t)
{
	const char *s = p->src;
	size_t i = p->pos;
	while (i < p->len && is_space((unsigned char)s[i]))
		i++;
	t->pos = i;
	t->len = 1;
	t->number = 0;
	if (i >= p->len) {
		t->kind = TOKEN_END;
		t->len = 0;
		return;
	}
	char c = s[i];
	char next = i + 1 < p->len ? s[i + 1] : '\0';
	switch (c) {
	case '(':
		t->kind = TOKEN_LPAREN;
		return;
	case ')':
		t->kind = TOKEN_RPAREN;
		return;
	case '[':
		t->kind = TOKEN_LBRACKET;
		return;
	case ']':
		t->kind = TOKEN_RBRACKET;
		return;
	case ',':
		t->kind = TOKEN_COMMA;
		return;
	case '*':
		t->kind = TOKEN_STAR;
		return;
	case '!':
		t->kind = next == '=' ? TOKEN_NE : TOKEN_NOT;
		t->len = next == '=' ? 2 : 1;
		return;
	case '<':
		t->kind = next == '=' ? TOKEN_LE : TOKEN_LT;
		t->len = next == '=' ? 2 : 1;
		return;
	case '>':
		t->kind = next == '=' ? TOKEN_GE : TOKEN_GT;
		t->len = next == '=' ? 2 : 1;
		return;
	case '=':
	case '&':
	case '|':
		if (next == c) {
			t->kind = c == '=' ? TOKEN_EQ : c == '&' ? TOKEN_AND : TOKEN_OR;
			t->len = 2;
		} else {
			t->kind = TOKEN_UNEXPECTED;
		}
		return;
	case '\'': {
		size_t j = i + 1;
		for (;;) {
			if (j >= p->len) {
				t->kind = TOKEN_UNEXPECTED;
				t->len = j - i;
				return;
			}
			if (s[j] == '\'') {
				if (j + 1 < p->len && s[j + 1] == '\'') {
					j += 2;
					continue;
				}
				t->kind = TOKEN_STRING;
				t->len = j + 1 - i;
				return;
			}
			j++;
		}
	}
	default:
		break;
	}
	if ((c == '.' && operand) || c == '-' || c == '+' || is_digit((unsigned char)c)) {
		size_t j = i + 1;
		while (j < p->len && (!is_boundary((unsigned char)s[j]) || s[j] == '.'))
			j++;
		t->len = j - i;
		t->number = number_parse(s + i, t->len);
		t->kind = isnan(t->number) ? TOKEN_UNEXPECTED : TOKEN_NUMBER;
		return;
	}
	if (c == '.') {
		t->kind = TOKEN_DOT;
		return;
	}
	size_t j = i + 1;
	while (j < p->len && !is_boundary((unsigned char)s[j]))
		j++;
	t->len = j - i;
	t->kind = is_legal_keyword(s + i, t->len) ? TOKEN_WORD : TOKEN_UNEXPECTED;
}

static void token_take(struct parser *p, const struct token *t)
{
	p->pos = t->pos + t->len;
}

static int fail_token(struct parser *p, const struct token *t)
{
	if (t->kind == TOKEN_END)
		return fail_at(p, t->pos, "unexpected end of expression");
	if (t->kind == TOKEN_UNEXPECTED && p->src[t->pos] == '\'')
		return fail_at(p, t->pos, "unterminated string");
	size_t shown = clip_utf8(p->src + t->pos, t->len, MESSAGE_TOKEN_MAX);
	return fail_at(p, t->pos, "unexpected symbol '%.*s%s'", (int)shown, p->src + t->pos,
		       shown < t->len ? "..." : "");
}

static int expect(struct parser *p, enum token_kind kind, const char *what)
{
	struct token t;
	token_peek(p, false, &t);
	if (t.kind != kind) {
		if (t.kind == TOKEN_END)
			return fail_at(p, t.pos, "expected '%s'", what);
		size_t shown = clip_utf8(p->src + t.pos, t.len, MESSAGE_TOKEN_MAX);
		return fail_at(p, t.pos, "expected '%s' instead of '%.*s%s'", what, (int)shown,
			       p->src + t.pos, shown < t.len ? "..." : "");
	}
	token_take(p, &t);
	return 0;
}

/* ---------------------------------------------------------------- parser */

static struct node *parse_or(struct parser *p);

static bool check_height(struct parser *p, struct node *n)
{
	if (n->height <= EXPR_MAX_DEPTH)
		return true;
	fail_at(p, n->pos, "exceeds the maximum nesting depth of %d", EXPR_MAX_DEPTH);
	return false;
}

static bool nest(struct parser *p, size_t pos)
{
	/* Every level of recursion adds a level to the tree, except plain
	 * parentheses, which are bounded the same way here so that no input
	 * can run the parser's stack out. */
	if (++p->nesting <= EXPR_MAX_DEPTH)
		return true;
	fail_at(p, pos, "exceeds the maximum nesting depth of %d", EXPR_MAX_DEPTH);
	return false;
}

static void name_fail(struct parser *p, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void name_fail(struct parser *p, size_t pos, const char *fmt, ...)
{
	if (p->name_failed)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->name_problem, sizeof(p->name_problem), fmt, ap);
	va_end(ap);
	p->name_failed = true;
	p->name_pos = pos;
}

static const struct function *function_find(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++)
		if (ascii_equal_icase(name, len, functions[i].name))
			return &functions[i];
	return NULL;
}

/* Object member by name: exact first, then ignoring ASCII case. */
static json_t *object_get_icase(const json_t *obj, const char *key, size_t len)
{
	json_t *v = json_object_getn(obj, key, len);
	if (v)
		return v;
	const char *k;
	size_t klen;
	json_t *member;
	json_object_keylen_foreach((json_t *)obj, k, klen, member)
	{
		if (klen == len && compare_icase(k, klen, key, len) == 0)
			return member;
	}
	return NULL;
}

static bool name_known(const struct parser *p, const char *name, size_t len)
{
	if (p->any_name)
		return true;
	if (p->allowed) {
		for (size_t i = 0; p->allowed[i]; i++)
			if (ascii_equal_icase(name, len, p->allowed[i]))
				return true;
		return false;
	}
	return json_is_object(p->contexts) && object_get_icase(p->contexts, name, len) != NULL;
}

static struct node *parse_call(struct parser *p, const struct token *word)
{
	struct node *n = node_new(NODE_CALL, word->pos);
	n->name = xstrndup(p->src + word->pos, word->len);
	n->function = function_find(n->name, word->len);
	if (!n->function)
		name_fail(p, word->pos, "unrecognized function '%s'", n->name);
	else if (n->function->status && !p->allow_status)
		name_fail(p, word->pos,
			  "the status function '%s' is only allowed in 'if' conditions", n->name);
	token_take(p, word);
	struct token t;
	token_peek(p, false, &t); /* the '(' the caller saw */
	size_t open = t.pos;
	token_take(p, &t);
	token_peek(p, true, &t);
	if (t.kind == TOKEN_RPAREN) {
		token_take(p, &t);
	} else if (t.kind == TOKEN_END) {
		fail_at(p, t.pos, "expected ')'");
		goto fail;
	} else {
		for (;;) {
			struct node *arg = parse_or(p);
			if (!arg)
				goto fail;
			node_add(n, arg);
			if (!check_height(p, n))
				goto fail;
			token_peek(p, false, &t);
			if (t.kind == TOKEN_COMMA) {
				token_take(p, &t);
				continue;
			}
			if (t.kind == TOKEN_RPAREN) {
				token_take(p, &t);
				break;
			}
			if (t.kind == TOKEN_END)
				fail_at(p, t.pos, "expected ')'");
			else
				fail_token(p, &t);
			goto fail;
		}
	}
	if (n->function && n->nargs < n->function->min_args) {
		fail_at(p, open, "too few arguments for '%s' (expects %s%zu)", n->name,
			n->function->min_args == n->function->max_args ? "" : "at least ",
			n->function->min_args);
		goto fail;
	}
	if (n->function && n->nargs > n->function->max_args) {
		fail_at(p, open, "too many arguments for '%s' (expects %s%zu)", n->name,
			n->function->min_args == n->function->max_args ? "" : "at most ",
			n->function->max_args);
		goto fail;
	}
	return n;
fail:
	node_free(n);
	return NULL;
}

static struct node *string_literal(struct parser *p, const struct token *t)
{
	struct buf b = BUF_INIT;
	const char *s = p->src + t->pos + 1;
	size_t len = t->len - 2;
	for (size_t i = 0; i < len; i++) {
		buf_addch(&b, s[i]);
		if (s[i] == '\'')
			i++; /* '' is one quote */
	}
	struct node *n = node_new(NODE_LITERAL, t->pos);
	n->literal = value_string_buf(&b);
	buf_free(&b);
	return n;
}

/* An operand. *postfix says whether '.' and '[' may follow it (not after
 * a literal, as in the runner: 'abc'[0] is a syntax error). */
static struct node *parse_primary(struct parser *p, bool *postfix)
{
	struct token t;
	token_peek(p, true, &t);
	*postfix = false;
	switch (t.kind) {
	case TOKEN_LPAREN: {
		token_take(p, &t);
		if (!nest(p, t.pos))
			return NULL;
		struct node *inner = parse_or(p);
		p->nesting--;
		if (!inner)
			return NULL;
		if (expect(p, TOKEN_RPAREN, ")") != 0) {
			node_free(inner);
			return NULL;
		}
		*postfix = true;
		return inner;
	}
	case TOKEN_STRING:
		token_take(p, &t);
		return string_literal(p, &t);
	case TOKEN_NUMBER: {
		token_take(p, &t);
		struct node *n = node_new(NODE_LITERAL, t.pos);
		n->literal = value_number(t.number);
		return n;
	}
	case TOKEN_WORD:
		break;
	default:
		fail_token(p, &t);
		return NULL;
	}

	const char *w = p->src + t.pos;
	struct node *n;
	if (t.len == 4 && memcmp(w, "null", 4) == 0) {
		n = node_new(NODE_LITERAL, t.pos);
	} else if (t.len == 4 && memcmp(w, "true", 4) == 0) {
		n = node_new(NODE_LITERAL, t.pos);
		n->literal = value_boolean(true);
	} else if (t.len == 5 && memcmp(w, "false", 5) == 0) {
		n = node_new(NODE_LITERAL, t.pos);
		n->literal = value_boolean(false);
	} else if (t.len == 3 && memcmp(w, "NaN", 3) == 0) {
		n = node_new(NODE_LITERAL, t.pos);
		n->literal = value_number(NAN);
	} else if (t.len == 8 && memcmp(w, "Infinity", 8) == 0) {
		n = node_new(NODE_LITERAL, t.pos);
		n->literal = value_number(INFINITY);
	} else {
		size_t after = t.pos + t.len;
		while (after < p->len && is_space((unsigned char)p->src[after]))
			after++;
		*postfix = true;
		if (after < p->len && p->src[after] == '(') {
			if (!nest(p, t.pos))
				return NULL;
			n = parse_call(p, &t);
			p->nesting--;
			return n;
		}
		n = node_new(NODE_CONTEXT, t.pos);
		n->name = xstrndup(w, t.len);
		if (!name_known(p, w, t.len))
			name_fail(p, t.pos, "unrecognized named-value '%s'", n->name);
	}
	token_take(p, &t);
	return n;
}

static struct node *index_node(struct parser *p, struct node *target, size_t pos)
{
	struct node *n = node_new(NODE_INDEX, pos);
	node_add(n, target);
	return n;
}

static struct node *parse_postfix(struct parser *p)
{
	bool postfix;
	struct node *n = parse_primary(p, &postfix);
	if (!n || !postfix)
		return n;
	for (;;) {
		struct token t;
		token_peek(p, false, &t);
		if (t.kind == TOKEN_DOT) {
			token_take(p, &t);
			struct token name;
			token_peek(p, true, &name);
			n = index_node(p, n, t.pos);
			if (name.kind == TOKEN_STAR) {
				n->filter = true;
			} else if (name.kind == TOKEN_WORD) {
				/* After '.', true, null and friends are names too. */
				struct node *key = node_new(NODE_LITERAL, name.pos);
				key->literal =
					value_string_take(string_new(p->src + name.pos, name.len));
				node_add(n, key);
			} else {
				if (name.kind == TOKEN_END)
					fail_at(p, name.pos, "expected a property name after '.'");
				else
					fail_token(p, &name);
				goto fail;
			}
			token_take(p, &name);
		} else if (t.kind == TOKEN_LBRACKET) {
			token_take(p, &t);
			n = index_node(p, n, t.pos);
			struct token star;
			token_peek(p, true, &star);
			if (star.kind == TOKEN_STAR) {
				token_take(p, &star);
				n->filter = true;
			} else {
				if (!nest(p, t.pos))
					goto fail;
				struct node *key = parse_or(p);
				p->nesting--;
				if (!key)
					goto fail;
				node_add(n, key);
			}
			if (expect(p, TOKEN_RBRACKET, "]") != 0)
				goto fail;
		} else {
			return n;
		}
		if (!check_height(p, n))
			goto fail;
	}
fail:
	node_free(n);
	return NULL;
}

static struct node *parse_unary(struct parser *p)
{
	struct token t;
	token_peek(p, true, &t);
	if (t.kind != TOKEN_NOT)
		return parse_postfix(p);
	token_take(p, &t);
	if (!nest(p, t.pos))
		return NULL;
	struct node *operand = parse_unary(p);
	p->nesting--;
	if (!operand)
		return NULL;
	struct node *n = node_new(NODE_NOT, t.pos);
	node_add(n, operand);
	if (!check_height(p, n)) {
		node_free(n);
		return NULL;
	}
	return n;
}

static struct node *parse_comparison(struct parser *p, bool equality)
{
	struct node *left = equality ? parse_comparison(p, false) : parse_unary(p);
	if (!left)
		return NULL;
	for (;;) {
		struct token t;
		token_peek(p, false, &t);
		enum compare_op op;
		if (equality && (t.kind == TOKEN_EQ || t.kind == TOKEN_NE))
			op = t.kind == TOKEN_EQ ? CMP_EQ : CMP_NE;
		else if (!equality && t.kind >= TOKEN_LT && t.kind <= TOKEN_GE)
			op = t.kind == TOKEN_LT	  ? CMP_LT
			     : t.kind == TOKEN_LE ? CMP_LE
			     : t.kind == TOKEN_GT ? CMP_GT
						  : CMP_GE;
		else
			return left;
		token_take(p, &t);
		struct node *right = equality ? parse_comparison(p, false) : parse_unary(p);
		if (!right) {
			node_free(left);
			return NULL;
		}
		struct node *n = node_new(NODE_COMPARE, t.pos);
		n->op = op;
		node_add(n, left);
		node_add(n, right);
		if (!check_height(p, n)) {
			node_free(n);
			return NULL;
		}
		left = n;
	}
}

/* Adds operand to an n-ary && or ||, flattening a nested one of the same
 * kind as the runner does (so long chains do not count as depth). */
static void logical_add(struct node *n, struct node *operand)
{
	if (operand->kind != n->kind) {
		node_add(n, operand);
		return;
	}
	for (size_t i = 0; i < operand->nargs; i++)
		node_add(n, operand->args[i]);
	operand->nargs = 0;
	node_free(operand);
}

static struct node *parse_logical(struct parser *p, bool is_or)
{
	struct node *left = is_or ? parse_logical(p, false) : parse_comparison(p, true);
	if (!left)
		return NULL;
	for (;;) {
		struct token t;
		token_peek(p, false, &t);
		if (t.kind != (is_or ? TOKEN_OR : TOKEN_AND))
			return left;
		token_take(p, &t);
		struct node *right = is_or ? parse_logical(p, false) : parse_comparison(p, true);
		if (!right) {
			node_free(left);
			return NULL;
		}
		enum node_kind kind = is_or ? NODE_OR : NODE_AND;
		if (left->kind != kind) {
			struct node *n = node_new(kind, t.pos);
			node_add(n, left);
			left = n;
		}
		logical_add(left, right);
		if (!check_height(p, left)) {
			node_free(left);
			return NULL;
		}
	}
}

static struct node *parse_or(struct parser *p)
{
	return parse_logical(p, true);
}

static struct node *parse(struct parser *p)
{
	if (p->len > EXPR_MAX_LENGTH) {
		fail_at(p, EXPR_MAX_LENGTH, "longer than the limit of %d bytes", EXPR_MAX_LENGTH);
		return NULL;
	}
	size_t bad = utf8_invalid_at(p->src, p->len);
	if (bad < p->len) {
		fail_at(p, bad, "not valid UTF-8");
		return NULL;
	}
	struct token t;
	token_peek(p, true, &t);
	if (t.kind == TOKEN_END) {
		fail_at(p, t.pos, "expected an expression");
		return NULL;
	}
	struct node *root = parse_or(p);
	if (!root)
		return NULL;
	token_peek(p, false, &t);
	if (t.kind != TOKEN_END) {
		fail_token(p, &t);
		node_free(root);
		return NULL;
	}
	if (p->name_failed) {
		fail_at(p, p->name_pos, "%s", p->name_problem);
		node_free(root);
		return NULL;
	}
	return root;
}

static bool tree_has_status_function(const struct node *n)
{
	if (n->kind == NODE_CALL && n->function && n->function->status)
		return true;
	for (size_t i = 0; i < n->nargs; i++)
		if (tree_has_status_function(n->args[i]))
			return true;
	return false;
}

/* ------------------------------------------------------------ evaluation */

struct eval {
	const struct expr_env *env;
	const char *src;
	size_t len;
	struct err *e;
};

__attribute__((format(printf, 3, 4))) static int eval_fail(struct eval *ev, size_t pos,
							   const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fail_vat(ev->e, "expression ", ev->src, ev->len, pos, fmt, ap);
	va_end(ap);
	return -1;
}

static int eval_node(struct eval *ev, const struct node *n, struct value *out);

static int check_size(struct eval *ev, const struct node *n, const struct buf *b)
{
	if (b->len <= EXPR_MAX_RESULT_SIZE)
		return 0;
	return eval_fail(ev, n->pos, "the result of '%s' is larger than the limit of %zu bytes",
			 n->name ? n->name : "expression", EXPR_MAX_RESULT_SIZE);
}

/* The runner's Index.IndexHelper: an array index is the floor of the
 * number, when it is one and fits an Int32. */
static bool index_integer(const struct value *key, size_t *out)
{
	double d = value_to_number(key);
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
		return object_get_icase(collection, buf_cstr(key_text), key_text->len);
	}
	size_t i;
	if (json_is_array(collection) && index_integer(key, &i) && i < json_array_size(collection))
		return json_array_get(collection, i);
	return NULL;
}

static int eval_index(struct eval *ev, const struct node *n, struct value *out)
{
	struct value target;
	if (eval_node(ev, n->args[0], &target) != 0)
		return -1;
	bool collection = target.kind == VALUE_ARRAY || target.kind == VALUE_OBJECT;
	if (n->filter) {
		struct value result = value_filtered_new();
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
		value_release(&target);
		*out = result;
		return 0;
	}

	struct value key;
	if (eval_node(ev, n->args[1], &key) != 0) {
		value_release(&target);
		return -1;
	}
	/* Objects are indexed by the key's string form, when it is a
	 * primitive; arrays by its number. */
	struct buf key_text = BUF_INIT;
	bool key_is_text = value_is_primitive(&key);
	if (key_is_text)
		value_append_string(&key_text, &key);

	if (target.filtered) {
		struct value result = value_filtered_new();
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
		*out = found ? value_from_json(found) : value_null();
	} else {
		*out = value_null();
	}
	buf_free(&key_text);
	value_release(&key);
	value_release(&target);
	return 0;
}

static int eval_string_arg(struct eval *ev, const struct node *arg, struct buf *out)
{
	struct value v;
	if (eval_node(ev, arg, &v) != 0)
		return -1;
	value_append_string(out, &v);
	value_release(&v);
	return 0;
}

/* contains, startsWith, endsWith. */
static int fn_string_test(struct eval *ev, const struct node *n, struct value *out)
{
	struct value search;
	if (eval_node(ev, n->args[0], &search) != 0)
		return -1;
	*out = value_boolean(false);
	if (value_is_primitive(&search)) {
		struct value item;
		if (eval_node(ev, n->args[1], &item) != 0) {
			value_release(&search);
			return -1;
		}
		if (value_is_primitive(&item)) {
			struct buf hay = BUF_INIT, needle = BUF_INIT;
			value_append_string(&hay, &search);
			value_append_string(&needle, &item);
			enum string_test test = n->function->id == FN_CONTAINS	    ? TEST_CONTAINS
						: n->function->id == FN_STARTS_WITH ? TEST_STARTS
										    : TEST_ENDS;
			*out = value_boolean(string_test_icase(
				buf_cstr(&hay), hay.len, buf_cstr(&needle), needle.len, test));
			buf_free(&hay);
			buf_free(&needle);
		}
		value_release(&item);
	} else if (n->function->id == FN_CONTAINS && search.kind == VALUE_ARRAY &&
		   json_array_size(search.json) > 0) {
		/* An array contains an item that loosely equals the argument. */
		struct value item;
		if (eval_node(ev, n->args[1], &item) != 0) {
			value_release(&search);
			return -1;
		}
		size_t i;
		json_t *element;
		json_array_foreach(search.json, i, element)
		{
			struct value v = value_from_json(element);
			bool equal = values_compare(&item, &v, CMP_EQ);
			value_release(&v);
			if (equal) {
				*out = value_boolean(true);
				break;
			}
		}
		value_release(&item);
	}
	value_release(&search);
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
	while (i < len && is_digit((unsigned char)s[i])) {
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
	if (eval_string_arg(ev, n->args[0], &fmt) != 0)
		goto done;
	const char *s = buf_cstr(&fmt);
	size_t len = fmt.len, i = 0;
	size_t shown = clip_utf8(s, len, MESSAGE_SOURCE_MAX);
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
					eval_fail(ev, n->pos,
						  "the format string references more arguments "
						  "than were supplied: '%.*s%s'",
						  (int)shown, s, more);
					goto done;
				}
				pieces_add(&pieces, &count, &cap, i, open - i, -1);
				pieces_add(&pieces, &count, &cap, spec_start, spec_len, arg);
				i = close + 1;
			} else {
				eval_fail(ev, n->pos, "the format string is invalid: '%.*s%s'",
					  (int)shown, s, more);
				goto done;
			}
		} else if (r) {
			size_t close = (size_t)(r - s);
			if (close + 1 < len && s[close + 1] == '}') {
				pieces_add(&pieces, &count, &cap, i, close + 1 - i, -1);
				i = close + 2;
			} else {
				eval_fail(ev, n->pos, "the format string is invalid: '%.*s%s'",
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
				if (eval_node(ev, n->args[a + 1], &args[a]) != 0)
					goto done;
				have[a] = true;
			}
			if (piece->len > 0) {
				size_t spec =
					clip_utf8(s + piece->start, piece->len, MESSAGE_TOKEN_MAX);
				eval_fail(ev, n->pos,
					  "the format specifiers '%.*s' are not valid for objects "
					  "of type '%s'",
					  (int)spec, s + piece->start,
					  value_kind_name(args[a].kind));
				goto done;
			}
			value_append_string(&result, &args[a]);
		}
		if (check_size(ev, n, &result) != 0)
			goto done;
	}
	*out = value_string_buf(&result);
	rc = 0;
done:
	if (args)
		for (size_t k = 0; k < n->nargs; k++)
			value_release(&args[k]);
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
	if (eval_node(ev, n->args[0], &items) != 0)
		return -1;
	struct buf result = BUF_INIT, separator = BUF_INIT;
	int rc = 0;
	if (items.kind == VALUE_ARRAY && json_array_size(items.json) > 0) {
		buf_addch(&separator, ',');
		if (json_array_size(items.json) > 1 && n->nargs > 1) {
			struct value sep;
			if (eval_node(ev, n->args[1], &sep) != 0) {
				rc = -1;
				goto done;
			}
			if (value_is_primitive(&sep)) {
				buf_reset(&separator);
				value_append_string(&separator, &sep);
			}
			value_release(&sep);
		}
		size_t i;
		json_t *item;
		json_array_foreach(items.json, i, item)
		{
			if (i > 0)
				buf_add(&result, separator.data, separator.len);
			struct value v = value_from_json(item);
			value_append_string(&result, &v);
			value_release(&v);
			if (check_size(ev, n, &result) != 0) {
				rc = -1;
				goto done;
			}
		}
	} else if (value_is_primitive(&items)) {
		value_append_string(&result, &items);
	}
	*out = value_string_buf(&result);
done:
	value_release(&items);
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
		number_append(b, (double)json_integer_value(j));
		return true;
	case JSON_REAL:
		number_append(b, json_real_value(j));
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
	if (eval_node(ev, n->args[0], &v) != 0)
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
		number_append(&b, v.number);
		break;
	default:
		ok = tojson_append(&b, v.json, 0);
		break;
	}
	value_release(&v);
	int rc = ok ? check_size(ev, n, &b) : -1;
	if (!ok)
		eval_fail(ev, n->pos,
			  "the result of 'toJSON' is larger than the limit of %zu bytes",
			  EXPR_MAX_RESULT_SIZE);
	if (rc == 0)
		*out = value_string_buf(&b);
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
				json_array_set_new(j, i, number_to_json(json_real_value(item)));
			else
				json_integralize(item);
		}
	} else if (json_is_object(j)) {
		for (void *it = json_object_iter(j); it; it = json_object_iter_next(j, it)) {
			json_t *member = json_object_iter_value(it);
			if (json_is_real(member))
				json_object_iter_set_new(j, it,
							 number_to_json(json_real_value(member)));
			else
				json_integralize(member);
		}
	}
}

static int fn_from_json(struct eval *ev, const struct node *n, struct value *out)
{
	struct buf text = BUF_INIT;
	if (eval_string_arg(ev, n->args[0], &text) != 0)
		return -1;
	json_error_t jerr;
	json_t *j = json_loadb(buf_cstr(&text), text.len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL,
			       &jerr);
	buf_free(&text);
	if (!j)
		return eval_fail(ev, n->pos, "fromJSON: invalid JSON at line %d, column %d: %s",
				 jerr.line, jerr.column, jerr.text);
	if (json_is_real(j)) {
		json_t *number = number_to_json(json_real_value(j));
		json_decref(j);
		j = number;
	} else {
		json_integralize(j);
	}
	*out = value_from_json(j);
	json_decref(j);
	return 0;
}

/* --------------------------------------------------------------- SHA-256 */

struct sha256 {
	uint32_t state[8];
	uint64_t length;
	unsigned char block[64];
	size_t used;
};

static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

static uint32_t rotr(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static void sha256_init(struct sha256 *h)
{
	static const uint32_t initial[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
					     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	memcpy(h->state, initial, sizeof(initial));
	h->length = 0;
	h->used = 0;
}

static void sha256_block(struct sha256 *h, const unsigned char *p)
{
	uint32_t w[64];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	uint32_t a = h->state[0], b = h->state[1], c = h->state[2], d = h->state[3];
	uint32_t e = h->state[4], f = h->state[5], g = h->state[6], k = h->state[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) +
			      sha256_k[i] + w[i];
		uint32_t t2 =
			(rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		k = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	h->state[0] += a;
	h->state[1] += b;
	h->state[2] += c;
	h->state[3] += d;
	h->state[4] += e;
	h->state[5] += f;
	h->state[6] += g;
	h->state[7] += k;
}

static void sha256_update(struct sha256 *h, const void *data, size_t len)
{
	const unsigned char *p = data;
	h->length += len;
	while (len > 0) {
		size_t n = 64 - h->used < len ? 64 - h->used : len;
		memcpy(h->block + h->used, p, n);
		h->used += n;
		p += n;
		len -= n;
		if (h->used == 64) {
			sha256_block(h, h->block);
			h->used = 0;
		}
	}
}

static void sha256_final(struct sha256 *h, unsigned char digest[32])
{
	uint64_t bits = h->length * 8;
	unsigned char pad = 0x80;
	sha256_update(h, &pad, 1);
	pad = 0;
	while (h->used != 56)
		sha256_update(h, &pad, 1);
	unsigned char length[8];
	for (int i = 0; i < 8; i++)
		length[i] = (unsigned char)(bits >> (56 - 8 * i));
	sha256_update(h, length, 8);
	for (int i = 0; i < 8; i++) {
		digest[4 * i] = (unsigned char)(h->state[i] >> 24);
		digest[4 * i + 1] = (unsigned char)(h->state[i] >> 16);
		digest[4 * i + 2] = (unsigned char)(h->state[i] >> 8);
		digest[4 * i + 3] = (unsigned char)h->state[i];
	}
}

/* ------------------------------------------------------------- hashFiles */

/*
 * hashFiles follows the runner's script (@actions/glob): patterns are
 * lines relative to the workspace, '!' excludes, a pattern naming a
 * directory takes in everything below it, the last pattern that matches a
 * path decides. Files are visited search path by search path (the literal
 * prefix of each including pattern, in pattern order) and, within one,
 * depth-first in strcmp order, which makes the hash reproducible where
 * the runner's order follows the file system. The result is the SHA-256
 * of the concatenated SHA-256 digests of the files, or '' when none match.
 */
struct hash_pattern {
	struct glob *glob;
	struct glob *below; /* the pattern with "/" and a globstar appended */
	bool negate;
	bool outside; /* names something outside the workspace: matches nothing */
	char *search; /* literal prefix: where the walk starts ("" = workspace) */
};

struct hash_job {
	struct hash_pattern *patterns;
	size_t count;
	const char *search; /* the search path being walked */
	char **files;
	size_t nfiles, cap;
	struct buf rel;
};

static void hash_patterns_free(struct hash_pattern *patterns, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		glob_free(patterns[i].glob);
		glob_free(patterns[i].below);
		free(patterns[i].search);
	}
	free(patterns);
}

/* Resolves a pattern to a clean path relative to the workspace ("" for
 * the workspace itself); false when it points outside. */
static bool hash_pattern_normalize(const char *workspace, const char *pattern, struct buf *out)
{
	size_t wlen = strlen(workspace);
	while (wlen > 1 && workspace[wlen - 1] == '/')
		wlen--;
	const char *p = pattern;
	if (*p == '/') {
		if (strncmp(p, workspace, wlen) != 0 || (p[wlen] != '/' && p[wlen] != '\0'))
			return false;
		p += wlen;
	}
	buf_reset(out);
	while (*p) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if (n == 0)
			break;
		if (n == 1 && p[0] == '.') {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (out->len == 0)
				return false;
			char *slash = memrchr(out->data, '/', out->len);
			buf_truncate(out, slash ? (size_t)(slash - out->data) : 0);
		} else {
			if (out->len > 0)
				buf_addch(out, '/');
			buf_add(out, p, n);
		}
		p += n;
	}
	buf_cstr(out);
	return true;
}

static bool hash_path_matches(const struct hash_job *job, const char *rel)
{
	bool matched = false;
	for (size_t i = 0; i < job->count; i++) {
		const struct hash_pattern *hp = &job->patterns[i];
		if (hp->outside)
			continue;
		if (glob_matches(hp->glob, rel) || (hp->below && glob_matches(hp->below, rel)))
			matched = !hp->negate;
	}
	return matched;
}

static void hash_job_add(struct hash_job *job, const char *rel)
{
	if (job->nfiles == job->cap) {
		job->cap = xalloc_grow_capacity(job->cap, job->nfiles + 1);
		job->files = xrealloc(job->files, job->cap * sizeof(*job->files));
	}
	job->files[job->nfiles++] = xstrdup(rel);
}

static enum walk_action hash_visit(struct walk_entry *entry, void *ctx)
{
	struct hash_job *job = ctx;
	if (entry->is_dir)
		return WALK_CONTINUE;
	buf_reset(&job->rel);
	if (job->search[0])
		buf_addf(&job->rel, "%s/", job->search);
	buf_add(&job->rel, entry->path, entry->path_len);
	if (hash_path_matches(job, buf_cstr(&job->rel)))
		hash_job_add(job, job->rel.data);
	return WALK_CONTINUE;
}

/* True when path (resolved) lies inside the resolved workspace. */
static bool path_inside(const char *real_workspace, const char *path)
{
	char *real = realpath(path, NULL);
	if (!real)
		return false;
	size_t n = strlen(real_workspace);
	bool inside = strncmp(real, real_workspace, n) == 0 && real[n] == '/';
	free(real);
	return inside;
}

static int hash_file(struct eval *ev, const struct node *n, const char *path,
		     const char *real_workspace, struct sha256 *outer)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return eval_fail(ev, n->pos, "hashFiles: cannot read '%s': %s", path,
				 strerror(errno));
	/* A repository must not make hashFiles read outside the workspace, so a
	 * symbolic link counts only when it resolves inside it. */
	if (S_ISLNK(st.st_mode) && !path_inside(real_workspace, path))
		return 1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return eval_fail(ev, n->pos, "hashFiles: cannot read '%s': %s", path,
				 strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return 1;
	}
	struct sha256 h;
	sha256_init(&h);
	unsigned char chunk[65536];
	for (;;) {
		ssize_t got = read(fd, chunk, sizeof(chunk));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int saved = errno;
			close(fd);
			return eval_fail(ev, n->pos, "hashFiles: cannot read '%s': %s", path,
					 strerror(saved));
		}
		if (got == 0)
			break;
		sha256_update(&h, chunk, (size_t)got);
	}
	close(fd);
	unsigned char digest[32];
	sha256_final(&h, digest);
	sha256_update(outer, digest, sizeof(digest));
	return 0;
}

/* Whether search path a lies strictly under b ("" is above everything). */
static bool search_below(const char *a, const char *b)
{
	size_t n = strlen(b);
	if (n == 0)
		return a[0] != '\0';
	return strncmp(a, b, n) == 0 && a[n] == '/';
}

static int hash_collect(struct eval *ev, const struct node *n, struct hash_job *job, bool follow)
{
	const char *workspace = ev->env->workspace;
	struct buf path = BUF_INIT;
	int rc = 0;
	for (size_t i = 0; i < job->count && rc == 0; i++) {
		const struct hash_pattern *hp = &job->patterns[i];
		if (hp->negate || hp->outside)
			continue;
		/* The runner walks each search path once, skipping one that lies
		 * below (or repeats) another. */
		bool skip = false;
		for (size_t k = 0; k < job->count && !skip; k++) {
			const struct hash_pattern *other = &job->patterns[k];
			if (other->negate || other->outside || k == i)
				continue;
			if (search_below(hp->search, other->search) ||
			    (k < i && strcmp(hp->search, other->search) == 0))
				skip = true;
		}
		if (skip)
			continue;
		buf_reset(&path);
		buf_adds(&path, workspace);
		if (hp->search[0])
			buf_addf(&path, "/%s", hp->search);
		struct stat st;
		if ((follow ? stat(path.data, &st) : lstat(path.data, &st)) != 0)
			continue;
		if (!S_ISDIR(st.st_mode)) {
			if (hash_path_matches(job, hp->search))
				hash_job_add(job, hp->search);
			continue;
		}
		struct walk_options opts = { 0 };
		opts.no_gitignore = true;
		opts.no_default_skips = true;
		opts.follow_symlinks = follow;
		struct err werr = ERR_INIT;
		job->search = hp->search;
		if (walk_tree(path.data, &opts, hash_visit, job, &werr) != 0)
			rc = eval_fail(ev, n->pos, "hashFiles: %s", werr.msg);
	}
	buf_free(&path);
	return rc;
}

static int fn_hash_files(struct eval *ev, const struct node *n, struct value *out)
{
	const char *workspace = ev->env ? ev->env->workspace : NULL;
	if (!workspace)
		return eval_fail(ev, n->pos, "hashFiles is not available here (no workspace)");
	struct hash_job job = { 0 };
	buf_init(&job.rel);
	struct buf arg = BUF_INIT, clean = BUF_INIT;
	bool follow = false;
	char *real_workspace = NULL;
	int rc = -1;
	size_t cap = 0;
	for (size_t i = 0; i < n->nargs; i++) {
		buf_reset(&arg);
		if (eval_string_arg(ev, n->args[i], &arg) != 0)
			goto done;
		if (i == 0 && strncmp(buf_cstr(&arg), "--", 2) == 0) {
			if (!ascii_equal_icase(arg.data, arg.len, "--follow-symbolic-links")) {
				eval_fail(ev, n->pos,
					  "hashFiles: invalid option '%s' (the only option is "
					  "'--follow-symbolic-links')",
					  arg.data);
				goto done;
			}
			follow = true;
			continue;
		}
		/* The runner hands the patterns to @actions/glob one per line. */
		const char *line = buf_cstr(&arg);
		while (line) {
			const char *nl = strchr(line, '\n');
			size_t len = nl ? (size_t)(nl - line) : strlen(line);
			while (len > 0 && is_space((unsigned char)*line))
				line++, len--;
			while (len > 0 && is_space((unsigned char)line[len - 1]))
				len--;
			char *pattern = xstrndup(line, len);
			line = nl ? nl + 1 : NULL;
			if (!pattern[0] || pattern[0] == '#') {
				free(pattern);
				continue;
			}
			bool negate = false;
			char *p = pattern;
			while (*p == '!') {
				negate = !negate;
				p++;
				while (is_space((unsigned char)*p))
					p++;
			}
			if (job.count == cap) {
				cap = xalloc_grow_capacity(cap, job.count + 1);
				job.patterns = xrealloc(job.patterns, cap * sizeof(*job.patterns));
			}
			struct hash_pattern *hp = &job.patterns[job.count++];
			memset(hp, 0, sizeof(*hp));
			hp->negate = negate;
			if (!hash_pattern_normalize(workspace, p, &clean)) {
				hp->outside = true;
				hp->search = xstrdup("");
				free(pattern);
				continue;
			}
			/* The search path is the run of components without wildcards. */
			size_t search_len = 0, at = 0;
			while (at < clean.len) {
				size_t seg = strcspn(clean.data + at, "/");
				if (strcspn(clean.data + at, "*?[\\") < seg)
					break;
				search_len = at + seg;
				at += seg + 1;
			}
			hp->search = xstrndup(clean.data, search_len);
			if (clean.len == 0) {
				hp->glob = glob_compile("**", 0);
			} else {
				hp->glob = glob_compile(clean.data, 0);
				size_t tail = clean.len >= 2 ? clean.len - 2 : 0;
				bool ends_deep = strcmp(clean.data + tail, "**") == 0 &&
						 (tail == 0 || clean.data[tail - 1] == '/');
				if (!ends_deep) {
					buf_adds(&clean, "/**");
					hp->below = glob_compile(clean.data, 0);
				}
			}
			free(pattern);
		}
	}
	real_workspace = realpath(workspace, NULL);
	if (!real_workspace) {
		eval_fail(ev, n->pos, "hashFiles: cannot open the workspace '%s': %s", workspace,
			  strerror(errno));
		goto done;
	}
	if (hash_collect(ev, n, &job, follow) != 0)
		goto done;
	struct sha256 outer;
	sha256_init(&outer);
	size_t hashed = 0;
	struct buf path = BUF_INIT;
	for (size_t i = 0; i < job.nfiles; i++) {
		buf_reset(&path);
		buf_addf(&path, "%s/%s", workspace, job.files[i]);
		int r = hash_file(ev, n, path.data, real_workspace, &outer);
		if (r < 0) {
			buf_free(&path);
			goto done;
		}
		if (r == 0)
			hashed++;
	}
	buf_free(&path);
	struct buf hex = BUF_INIT;
	if (hashed > 0) {
		unsigned char digest[32];
		sha256_final(&outer, digest);
		for (int i = 0; i < 32; i++)
			buf_addf(&hex, "%02x", digest[i]);
	}
	*out = value_string_buf(&hex);
	buf_free(&hex);
	rc = 0;
done:
	for (size_t i = 0; i < job.nfiles; i++)
		free(job.files[i]);
	free(job.files);
	hash_patterns_free(job.patterns, job.count);
	buf_free(&job.rel);
	buf_free(&arg);
	buf_free(&clean);
	free(real_workspace);
	return rc;
}

/* ------------------------------------------------------------ evaluation */

static int eval_call(struct eval *ev, const struct node *n, struct value *out)
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
		return fn_hash_files(ev, n, out);
	case FN_SUCCESS:
		*out = value_boolean(status == EXPR_STATUS_SUCCESS);
		return 0;
	case FN_FAILURE:
		*out = value_boolean(status == EXPR_STATUS_FAILURE);
		return 0;
	case FN_CANCELLED:
		*out = value_boolean(status == EXPR_STATUS_CANCELLED);
		return 0;
	case FN_ALWAYS:
		*out = value_boolean(true);
		return 0;
	}
	return eval_fail(ev, n->pos, "unrecognized function '%s'", n->name);
}

static int eval_node(struct eval *ev, const struct node *n, struct value *out)
{
	switch (n->kind) {
	case NODE_LITERAL:
		*out = n->literal;
		if (out->json)
			json_incref(out->json);
		return 0;
	case NODE_CONTEXT: {
		const json_t *contexts = ev->env ? ev->env->contexts : NULL;
		const json_t *found = json_is_object(contexts)
					      ? object_get_icase(contexts, n->name, strlen(n->name))
					      : NULL;
		*out = found ? value_from_json(found) : value_null();
		return 0;
	}
	case NODE_INDEX:
		return eval_index(ev, n, out);
	case NODE_NOT: {
		struct value v;
		if (eval_node(ev, n->args[0], &v) != 0)
			return -1;
		*out = value_boolean(!value_truthy(&v));
		value_release(&v);
		return 0;
	}
	case NODE_AND:
	case NODE_OR:
		/* Short-circuit, handing back the operand that decided. */
		for (size_t i = 0; i < n->nargs; i++) {
			if (eval_node(ev, n->args[i], out) != 0)
				return -1;
			bool decided = value_truthy(out) == (n->kind == NODE_OR);
			if (decided || i + 1 == n->nargs)
				return 0;
			value_release(out);
		}
		return 0;
	case NODE_COMPARE: {
		struct value l, r;
		if (eval_node(ev, n->args[0], &l) != 0)
			return -1;
		if (eval_node(ev, n->args[1], &r) != 0) {
			value_release(&l);
			return -1;
		}
		*out = value_boolean(values_compare(&l, &r, n->op));
		value_release(&l);
		value_release(&r);
		return 0;
	}
	case NODE_CALL:
		return eval_call(ev, n, out);
	}
	return eval_fail(ev, n->pos, "internal error: unknown node");
}

/* ------------------------------------------------------------ public API */

static const struct expr_env empty_env = { NULL, EXPR_STATUS_SUCCESS, NULL, false };

static struct node *parse_for_env(const char *src, size_t len, const struct expr_env *env,
				  bool allow_status, struct err *e)
{
	struct parser p = { 0 };
	p.src = src;
	p.len = len;
	p.e = e;
	p.contexts = env->contexts;
	p.allow_status = allow_status;
	return parse(&p);
}

static int evaluate_n(const char *src, size_t len, const struct expr_env *env, bool allow_status,
		      struct value *out, bool *has_status, struct err *e)
{
	struct node *root = parse_for_env(src, len, env, allow_status, e);
	if (!root)
		return -1;
	struct eval ev = { env, src, len, e };
	int rc;
	if (has_status && !(*has_status = tree_has_status_function(root)) &&
	    env->status != EXPR_STATUS_SUCCESS) {
		/* success() && (...) with success() false: the rest is not
		 * evaluated, exactly as the runner's wrapped condition. */
		*out = value_boolean(false);
		rc = 0;
	} else {
		rc = eval_node(&ev, root, out);
	}
	node_free(root);
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
	*out = value_to_json(&v);
	value_release(&v);
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
	while (a < b && is_space((unsigned char)text[a]))
		a++;
	while (b > a && is_space((unsigned char)text[b - 1]))
		b--;
	*start = a;
	*len = b - a;
}

__attribute__((format(printf, 5, 6))) static int
text_fail(struct err *e, const char *text, size_t len, size_t pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fail_vat(e, "", text, len, pos, fmt, ap);
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
		value_append_string(out, &v);
		value_release(&v);
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
	while (a < len && is_space((unsigned char)text[a]))
		a++;
	while (len > a && is_space((unsigned char)text[len - 1]))
		len--;
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
		*out = value_to_json(&v);
		value_release(&v);
		return 0;
	}
	struct buf b = BUF_INIT;
	if (interpolate(text, env, env->allow_status_functions, &b, e) != 0) {
		buf_free(&b);
		return -1;
	}
	/* A JSON string must be UTF-8; only the text around expressions can
	 * break that. */
	size_t bad = utf8_invalid_at(text, strlen(text));
	if (bad < strlen(text)) {
		buf_free(&b);
		return text_fail(e, text, strlen(text), bad, "not valid UTF-8");
	}
	*out = string_new(buf_cstr(&b), b.len);
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
		*has = *has || tree_has_status_function(root);
		node_free(root);
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
	while (start < len && is_space((unsigned char)text[start]))
		start++;
	while (len > start && is_space((unsigned char)text[len - 1]))
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
	*out = value_truthy(&v) && (has_status || success);
	value_release(&v);
	return 0;
}

int expr_check(const char *source, const char *const *contexts_allowed, struct err *e)
{
	struct parser p = { 0 };
	p.src = source;
	p.len = strlen(source);
	p.e = e;
	p.allowed = contexts_allowed;
	p.any_name = contexts_allowed == NULL;
	p.allow_status = true;
	struct node *root = parse(&p);
	if (!root)
		return -1;
	node_free(root);
	return 0;
}

char *expr_value_to_string(const json_t *value)
{
	struct buf b = BUF_INIT;
	struct value v = value ? value_from_json(value) : value_null();
	value_append_string(&b, &v);
	value_release(&v);
	buf_cstr(&b);
	return b.data ? buf_detach(&b) : xstrdup("");
}

bool expr_value_truthy(const json_t *value)
{
	if (!value)
		return false;
	struct value v = value_from_json(value);
	bool truthy = value_truthy(&v);
	value_release(&v);
	return truthy;
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
