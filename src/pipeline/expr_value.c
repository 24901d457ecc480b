/*
 * expr_value: the values GitHub Actions expressions compute with, and how
 * the runner converts them: to numbers (JavaScript-like parsing), to strings
 * (.NET's G15 number format) and to JSON, and how it compares them (loose
 * coercion, strings ignoring case by Unicode upper-casing).
 */
#include "pipeline/expr_internal.h"

#include "util/buf.h"
#include "util/str.h"
#include "util/xalloc.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

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

static json_t *checked(json_t *node)
{
	/* Same policy as xalloc: out of memory is not reportable. */
	if (!node) {
		fputs("ampel: out of memory\n", stderr);
		abort();
	}
	return node;
}

json_t *expr_string_new(const char *s, size_t len)
{
	json_t *j = json_stringn(s, len);
	/* Every string here is built from valid UTF-8 pieces; the unchecked
	 * form only guards against an internal slip turning into a NULL. */
	return j ? j : checked(json_stringn_nocheck(s, len));
}

struct value expr_value_null(void)
{
	struct value v = { VALUE_NULL, false, false, 0, NULL };
	return v;
}

struct value expr_value_boolean(bool b)
{
	struct value v = { VALUE_BOOLEAN, b, false, 0, NULL };
	return v;
}

struct value expr_value_number(double d)
{
	struct value v = { VALUE_NUMBER, false, false, d, NULL };
	return v;
}

/* Takes ownership of json (a string). */
struct value expr_value_string_take(json_t *json)
{
	struct value v = { VALUE_STRING, false, false, 0, json };
	return v;
}

struct value expr_value_string_buf(const struct buf *b)
{
	return expr_value_string_take(expr_string_new(buf_cstr(b), b->len));
}

struct value expr_value_filtered_new(void)
{
	struct value v = { VALUE_ARRAY, false, true, 0, checked(json_array()) };
	return v;
}

struct value expr_value_from_json(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_TRUE:
		return expr_value_boolean(true);
	case JSON_FALSE:
		return expr_value_boolean(false);
	case JSON_INTEGER:
		return expr_value_number((double)json_integer_value(j));
	case JSON_REAL:
		return expr_value_number(json_real_value(j));
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
		return expr_value_null();
	}
}

void expr_value_release(struct value *v)
{
	json_decref(v->json);
	*v = expr_value_null();
}

bool expr_value_is_primitive(const struct value *v)
{
	return v->kind != VALUE_ARRAY && v->kind != VALUE_OBJECT;
}

bool expr_value_is_truthy(const struct value *v)
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

const char *expr_value_kind_name(enum value_kind kind)
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
void expr_number_append(struct buf *b, double d)
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
void expr_value_append_string(struct buf *b, const struct value *v)
{
	switch (v->kind) {
	case VALUE_NULL:
		break;
	case VALUE_BOOLEAN:
		buf_adds(b, v->boolean ? "true" : "false");
		break;
	case VALUE_NUMBER:
		expr_number_append(b, v->number);
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

json_t *expr_number_to_json(double d)
{
	if (isnan(d) || isinf(d)) {
		struct buf b = BUF_INIT;
		expr_number_append(&b, d);
		json_t *j = expr_string_new(b.data, b.len);
		buf_free(&b);
		return j;
	}
	/* Integers come back as integers so that `timeout-minutes: ${{ 5 }}`
	 * and toJSON-free consumers see 5, not 5.0. */
	if (d == trunc(d) && fabs(d) <= 9007199254740992.0 && !(d == 0 && signbit(d)))
		return checked(json_integer((json_int_t)d));
	return checked(json_real(d));
}

json_t *expr_value_to_json(const struct value *v)
{
	switch (v->kind) {
	case VALUE_NULL:
		return checked(json_null());
	case VALUE_BOOLEAN:
		return checked(json_boolean(v->boolean));
	case VALUE_NUMBER:
		return expr_number_to_json(v->number);
	default:
		return json_incref(v->json);
	}
}

/* ------------------------------------------------------- number parsing */

bool expr_is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

bool expr_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int hex_value(unsigned char c)
{
	if (expr_is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool expr_ascii_equal_icase(const char *a, size_t alen, const char *b)
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
	while (i < len && expr_is_digit((unsigned char)s[i]))
		i++, digits++;
	if (i < len && s[i] == '.') {
		i++;
		while (i < len && expr_is_digit((unsigned char)s[i]))
			i++, digits++;
	}
	if (digits == 0)
		return false;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t exponent_digits = 0;
		while (i < len && expr_is_digit((unsigned char)s[i]))
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
double expr_number_parse(const char *s, size_t len)
{
	while (len > 0 && expr_is_space((unsigned char)*s))
		s++, len--;
	while (len > 0 && expr_is_space((unsigned char)s[len - 1]))
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
	if (expr_ascii_equal_icase(s, len, "Infinity") ||
	    expr_ascii_equal_icase(s, len, "+Infinity"))
		return INFINITY;
	if (expr_ascii_equal_icase(s, len, "-Infinity"))
		return -INFINITY;
	return NAN;
}

double expr_value_to_number(const struct value *v)
{
	switch (v->kind) {
	case VALUE_NULL:
		return 0;
	case VALUE_BOOLEAN:
		return v->boolean ? 1 : 0;
	case VALUE_NUMBER:
		return v->number;
	case VALUE_STRING:
		return expr_number_parse(json_string_value(v->json), json_string_length(v->json));
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

bool expr_string_test_icase(const char *hay, size_t hlen, const char *needle, size_t nlen,
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
			double d = expr_value_to_number(r);
			*r = expr_value_number(d);
		} else if (l->kind == VALUE_STRING && r->kind == VALUE_NUMBER) {
			double d = expr_value_to_number(l);
			*l = expr_value_number(d);
		} else if (l->kind == VALUE_BOOLEAN || l->kind == VALUE_NULL) {
			*l = expr_value_number(expr_value_to_number(l));
			continue;
		} else if (r->kind == VALUE_BOOLEAN || r->kind == VALUE_NULL) {
			*r = expr_value_number(expr_value_to_number(r));
			continue;
		}
		return;
	}
}

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

bool expr_values_compare(const struct value *l, const struct value *r, enum compare_op op)
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

/* Object member by name: exact first, then ignoring ASCII case. */
json_t *expr_object_get_icase(const json_t *obj, const char *key, size_t len)
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

/* ------------------------------------------------------------ public API */

char *expr_value_to_string(const json_t *value)
{
	struct buf b = BUF_INIT;
	struct value v = value ? expr_value_from_json(value) : expr_value_null();
	expr_value_append_string(&b, &v);
	expr_value_release(&v);
	buf_cstr(&b);
	return b.data ? buf_detach(&b) : xstrdup("");
}

bool expr_value_truthy(const json_t *value)
{
	if (!value)
		return false;
	struct value v = expr_value_from_json(value);
	bool truthy = expr_value_is_truthy(&v);
	expr_value_release(&v);
	return truthy;
}
