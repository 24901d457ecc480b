#include "util/toml.h"

#include "util/buf.h"
#include "util/err.h"
#include "util/str.h"
#include "util/xalloc.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * jansson nodes carry no room for the spec's redefinition rules, so the
 * parser keeps what it knows about each table and array in a side table
 * keyed by the node's address (nodes are never freed while parsing).
 */
enum {
	FLAG_EXPLICIT = 1, /* named by a [header] or is a [[header]] array: closed */
	FLAG_DOTTED = 2,   /* created or extended by dotted keys: closed to headers */
	FLAG_FROZEN = 4,   /* inline table or static array: complete as written */
	FLAG_TABLES = 8,   /* array of tables that [[header]] may append to */
};

struct node_flags {
	const json_t *node;
	unsigned flags;
};

struct flag_table {
	struct node_flags *slots;
	size_t cap;
	size_t count;
};

struct key_part {
	char *text; /* may hold NUL bytes (from \u0000), hence len */
	size_t len;
	size_t pos; /* where the part is written, for messages */
	size_t end;
};

struct key {
	struct key_part *parts;
	size_t count;
	size_t cap;
};

struct parser {
	const char *file;
	const char *data;
	size_t len;
	size_t pos;
	struct err *e;
	struct flag_table flags;
	struct buf scratch;
};

static json_t *checked(json_t *node)
{
	/* Same policy as xalloc: out of memory is not reportable, stop here. */
	if (!node) {
		fputs("ampel: out of memory\n", stderr);
		abort();
	}
	return node;
}

static size_t flag_slot(const json_t *node, size_t cap)
{
	uint64_t h = (uint64_t)(uintptr_t)node * 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 29) & (cap - 1);
}

static struct node_flags *flags_find(struct flag_table *t, const json_t *node, bool create)
{
	if (create && (t->count + 1) * 2 > t->cap) {
		struct flag_table bigger = { xcalloc(t->cap ? t->cap * 2 : 64, sizeof(*t->slots)),
					     t->cap ? t->cap * 2 : 64, t->count };
		for (size_t i = 0; i < t->cap; i++) {
			if (!t->slots[i].node)
				continue;
			size_t j = flag_slot(t->slots[i].node, bigger.cap);
			while (bigger.slots[j].node)
				j = (j + 1) & (bigger.cap - 1);
			bigger.slots[j] = t->slots[i];
		}
		free(t->slots);
		*t = bigger;
	}
	if (!t->cap)
		return NULL;
	for (size_t i = flag_slot(node, t->cap);; i = (i + 1) & (t->cap - 1)) {
		struct node_flags *slot = &t->slots[i];
		if (slot->node == node)
			return slot;
		if (!slot->node) {
			if (!create)
				return NULL;
			slot->node = node;
			t->count++;
			return slot;
		}
	}
}

static unsigned flags_of(struct parser *p, const json_t *node)
{
	struct node_flags *slot = flags_find(&p->flags, node, false);
	return slot ? slot->flags : 0;
}

static void flags_add(struct parser *p, const json_t *node, unsigned flags)
{
	flags_find(&p->flags, node, true)->flags |= flags;
}

static int fail_at(struct parser *p, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail_at(struct parser *p, size_t pos, const char *fmt, ...)
{
	size_t line = 1, column = 1;
	for (size_t i = 0; i < pos && i < p->len; i++) {
		unsigned char c = (unsigned char)p->data[i];
		if (c == '\n') {
			line++;
			column = 1;
		} else if ((c & 0xC0) != 0x80) {
			column++;
		}
	}
	struct buf msg = BUF_INIT;
	buf_addf(&msg, "%s:%zu:%zu: ", p->file, line, column);
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	err_set(p->e, "%s", msg.data);
	buf_free(&msg);
	return -1;
}

static int peek_at(const struct parser *p, size_t offset)
{
	return p->pos + offset < p->len ? (unsigned char)p->data[p->pos + offset] : -1;
}

static int peek(const struct parser *p)
{
	return peek_at(p, 0);
}

static bool looking_at(const struct parser *p, const char *s)
{
	size_t n = strlen(s);
	return p->len - p->pos >= n && memcmp(p->data + p->pos, s, n) == 0;
}

/* Names the character at pos for messages; tmp must hold 16 bytes. */
static const char *char_name(const struct parser *p, char *tmp)
{
	int c = peek(p);
	if (c < 0)
		return "end of file";
	if (c == '\n' || (c == '\r' && peek_at(p, 1) == '\n'))
		return "end of line";
	if (c < 0x20 || c == 0x7F) {
		snprintf(tmp, 16, "U+%04X", (unsigned)c);
		return tmp;
	}
	size_t n = 1;
	while (n < 4 && (peek_at(p, n) & 0xC0) == 0x80)
		n++;
	snprintf(tmp, 16, "'%.*s'", (int)n, p->data + p->pos);
	return tmp;
}

static int fail_unexpected(struct parser *p, const char *expected)
{
	char tmp[16];
	return fail_at(p, p->pos, "expected %s, found %s", expected, char_name(p, tmp));
}

static bool is_control(int c)
{
	return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7F;
}

static void skip_ws(struct parser *p)
{
	while (peek(p) == ' ' || peek(p) == '\t')
		p->pos++;
}

static bool eat_newline(struct parser *p)
{
	if (peek(p) == '\n') {
		p->pos++;
		return true;
	}
	if (peek(p) == '\r' && peek_at(p, 1) == '\n') {
		p->pos += 2;
		return true;
	}
	return false;
}

static int skip_comment(struct parser *p)
{
	if (peek(p) != '#')
		return 0;
	for (p->pos++; p->pos < p->len; p->pos++) {
		int c = peek(p);
		if (c == '\n' || (c == '\r' && peek_at(p, 1) == '\n'))
			return 0;
		if (is_control(c))
			return fail_at(p, p->pos, "control character U+%04X in comment",
				       (unsigned)c);
	}
	return 0;
}

/* Whitespace, comments and newlines, as allowed between array elements. */
static int skip_blank(struct parser *p)
{
	for (;;) {
		skip_ws(p);
		if (skip_comment(p) < 0)
			return -1;
		if (!eat_newline(p))
			return 0;
	}
}

static void utf8_add(struct buf *b, uint32_t cp)
{
	static const unsigned char lead[] = { 0, 0, 0xC0, 0xE0, 0xF0 };
	char out[4];
	size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
	for (size_t i = n - 1; i > 0; i--, cp >>= 6)
		out[i] = (char)(0x80 | (cp & 0x3F));
	out[0] = (char)(lead[n] | cp);
	buf_add(b, out, n);
}

static int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* At a backslash inside a basic string; appends what it stands for. */
static int parse_escape(struct parser *p, struct buf *out, bool multiline)
{
	size_t start = p->pos++;
	int c = peek(p);
	static const char letters[] = "btnfr\"\\", values[] = "\b\t\n\f\r\"\\";
	const char *hit = c > 0 ? memchr(letters, c, sizeof(letters) - 1) : NULL;
	if (hit) {
		buf_addch(out, values[hit - letters]);
		p->pos++;
		return 0;
	}
	if (c == 'u' || c == 'U') {
		int digits = c == 'u' ? 4 : 8;
		uint32_t cp = 0;
		for (int i = 1; i <= digits; i++) {
			int v = hex_value(peek_at(p, (size_t)i));
			if (v < 0)
				return fail_at(p, start, "\\%c escape needs %d hex digits", c,
					       digits);
			cp = cp << 4 | (uint32_t)v;
		}
		if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return fail_at(p, start, "\\%c%.*s is not a Unicode scalar value", c,
				       digits, p->data + p->pos + 1);
		utf8_add(out, cp);
		p->pos += (size_t)digits + 1;
		return 0;
	}
	if (multiline && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
		/* A line-ending backslash swallows the newline and following blanks. */
		skip_ws(p);
		if (!eat_newline(p))
			return fail_at(p, start,
				       "only whitespace may follow a line-ending backslash");
		for (;;) {
			skip_ws(p);
			if (!eat_newline(p))
				return 0;
		}
	}
	char tmp[16];
	return fail_at(p, start, "invalid escape sequence: backslash followed by %s",
		       char_name(p, tmp));
}

/*
 * At a quote: appends the string's value to out. Multi-line forms are
 * refused where the spec allows only one line (keys).
 */
static int parse_string(struct parser *p, struct buf *out, bool allow_multiline)
{
	size_t start = p->pos;
	char quote = p->data[p->pos];
	bool basic = quote == '"';
	bool multiline = allow_multiline && looking_at(p, basic ? "\"\"\"" : "'''");
	p->pos += multiline ? 3 : 1;
	if (multiline)
		eat_newline(p); /* the newline right after the opening is not content */
	for (;;) {
		int c = peek(p);
		if (c < 0 || (!multiline && (c == '\n' || c == '\r')))
			return fail_at(p, start, "unterminated string");
		if (c == quote) {
			size_t run = 1;
			while (run < 6 && peek_at(p, run) == quote)
				run++;
			if (!multiline) {
				p->pos++;
				return 0;
			}
			if (run < 3) {
				buf_add(out, p->data + p->pos, run);
				p->pos += run;
				continue;
			}
			if (run > 5)
				return fail_at(p, p->pos + 5, "too many quotes closing a string");
			/* Up to two quotes right before the closing three are content. */
			buf_add(out, p->data + p->pos, run - 3);
			p->pos += run;
			return 0;
		}
		if (c == '\\' && basic) {
			if (parse_escape(p, out, multiline) < 0)
				return -1;
			continue;
		}
		if (multiline && eat_newline(p)) {
			buf_addch(out, '\n');
			continue;
		}
		if (is_control(c))
			return fail_at(p, p->pos, "control character U+%04X must be escaped",
				       (unsigned)c);
		size_t run = p->pos + 1;
		while (run < p->len && p->data[run] != quote && p->data[run] != '\\' &&
		       !is_control((unsigned char)p->data[run]))
			run++;
		buf_add(out, p->data + p->pos, run - p->pos);
		p->pos = run;
	}
}

static bool is_bare_key_char(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

static void key_free(struct key *k)
{
	for (size_t i = 0; i < k->count; i++)
		free(k->parts[i].text);
	free(k->parts);
	k->parts = NULL;
	k->count = k->cap = 0;
}

static int parse_key(struct parser *p, struct key *k)
{
	for (;;) {
		skip_ws(p);
		if (k->count == TOML_MAX_DEPTH)
			return fail_at(p, p->pos, "key has more than %d parts", TOML_MAX_DEPTH);
		size_t start = p->pos;
		int c = peek(p);
		buf_reset(&p->scratch);
		if (c == '"' || c == '\'') {
			if (parse_string(p, &p->scratch, false) < 0)
				return -1;
		} else {
			while (is_bare_key_char(peek(p)))
				p->pos++;
			if (p->pos == start)
				return fail_unexpected(p, "a key");
			buf_add(&p->scratch, p->data + start, p->pos - start);
		}
		if (k->count == k->cap) {
			k->cap = xalloc_grow_capacity(k->cap, k->count + 1);
			k->parts = xrealloc(k->parts, k->cap * sizeof(*k->parts));
		}
		struct key_part *part = &k->parts[k->count++];
		part->len = p->scratch.len;
		part->text = xmalloc(part->len + 1);
		memcpy(part->text, buf_cstr(&p->scratch), part->len + 1);
		part->pos = start;
		part->end = p->pos;
		skip_ws(p);
		if (peek(p) != '.')
			return 0;
		p->pos++;
	}
}

/*
 * parts[0..count) as written in the source, for messages: the input is
 * valid UTF-8 and keys hold no raw control characters, so it prints safely.
 */
static const char *key_text(struct parser *p, const struct key *k, size_t count)
{
	size_t start = k->parts[0].pos, len = k->parts[count - 1].end - start;
	size_t shown = len > 200 ? 200 : len;
	while (shown && shown < len && ((unsigned char)p->data[start + shown] & 0xC0) == 0x80)
		shown--;
	buf_reset(&p->scratch);
	buf_add(&p->scratch, p->data + start, shown);
	if (shown < len)
		buf_adds(&p->scratch, "...");
	return buf_cstr(&p->scratch);
}

static const char *type_name(const json_t *v)
{
	static const char *const names[] = { "a table", "an array",  "a string", "an integer",
					     "a float", "a boolean", "a boolean" };
	return json_typeof(v) <= JSON_FALSE ? names[json_typeof(v)] : "null";
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int two_digits(const char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

static bool valid_date(const char *s)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (!all_digits(s, 4) || s[4] != '-' || !all_digits(s + 5, 2) || s[7] != '-' ||
	    !all_digits(s + 8, 2))
		return false;
	int year = two_digits(s) * 100 + two_digits(s + 2);
	int month = two_digits(s + 5), day = two_digits(s + 8);
	if (month < 1 || month > 12 || day < 1)
		return false;
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return day <= days[month - 1] + (month == 2 && leap);
}

/* Length of a valid HH:MM:SS[.fraction] at the start of s, or 0. */
static size_t scan_time(const char *s, size_t n)
{
	if (n < 8 || !all_digits(s, 2) || s[2] != ':' || !all_digits(s + 3, 2) || s[5] != ':' ||
	    !all_digits(s + 6, 2))
		return 0;
	if (two_digits(s) > 23 || two_digits(s + 3) > 59 || two_digits(s + 6) > 60)
		return 0;
	size_t i = 8;
	if (i < n && s[i] == '.') {
		size_t digits = 0;
		while (i + 1 + digits < n && all_digits(s + i + 1 + digits, 1))
			digits++;
		if (!digits)
			return 0;
		i += 1 + digits;
	}
	return i;
}

static bool valid_offset(const char *s, size_t n)
{
	if (n == 1)
		return s[0] == 'Z' || s[0] == 'z';
	return n == 6 && (s[0] == '+' || s[0] == '-') && all_digits(s + 1, 2) && s[3] == ':' &&
	       all_digits(s + 4, 2) && two_digits(s + 1) <= 23 && two_digits(s + 4) <= 59;
}

static bool valid_datetime(const char *s, size_t n)
{
	if (n >= 3 && s[2] == ':')
		return scan_time(s, n) == n;
	if (n < 10 || !valid_date(s))
		return false;
	if (n == 10)
		return true;
	if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
		return false;
	size_t t = scan_time(s + 11, n - 11);
	if (!t)
		return false;
	return 11 + t == n || valid_offset(s + 11 + t, n - 11 - t);
}

static bool is_digit_in(int c, int base)
{
	int v = hex_value(c);
	return v >= 0 && v < base;
}

/* Length of digits joined by single underscores at the start of s. */
static size_t scan_digits(const char *s, size_t n, int base)
{
	if (!n || !is_digit_in((unsigned char)s[0], base))
		return 0;
	size_t i = 1;
	while (i < n) {
		if (is_digit_in((unsigned char)s[i], base))
			i++;
		else if (s[i] == '_' && i + 1 < n && is_digit_in((unsigned char)s[i + 1], base))
			i += 2;
		else
			break;
	}
	return i;
}

static locale_t c_locale;

static void c_locale_init(void)
{
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* Numbers in tok[0..n): integers, floats, inf and nan. */
static int parse_number(struct parser *p, size_t start, size_t n, json_t **out)
{
	const char *tok = p->data + start;
	int shown = n > 40 ? 40 : (int)n;
	size_t i = (tok[0] == '+' || tok[0] == '-') ? 1 : 0;
	bool negative = tok[0] == '-';
	if (n - i == 3 && (!memcmp(tok + i, "inf", 3) || !memcmp(tok + i, "nan", 3))) {
		/* JSON has no inf or nan; the header documents these strings. */
		*out = checked(json_string(tok[i] == 'n' ? "nan" : negative ? "-inf" : "inf"));
		return 0;
	}
	int base = 10;
	if (n - i > 2 && tok[i] == '0' &&
	    (tok[i + 1] == 'x' || tok[i + 1] == 'o' || tok[i + 1] == 'b')) {
		if (i)
			return fail_at(p, start, "a sign is not allowed on '%.*s'", shown, tok);
		base = tok[1] == 'x' ? 16 : tok[1] == 'o' ? 8 : 2;
		i = 2;
	}
	size_t int_end = i + scan_digits(tok + i, n - i, base);
	size_t end = int_end;
	bool is_float = false;
	if (base == 10 && int_end > i && int_end < n && tok[end] == '.') {
		size_t frac = scan_digits(tok + end + 1, n - end - 1, 10);
		end = frac ? end + 1 + frac : end;
		is_float = frac > 0;
	}
	if (base == 10 && int_end > i && end < n && (tok[end] == 'e' || tok[end] == 'E')) {
		size_t sign = end + 1 < n && (tok[end + 1] == '+' || tok[end + 1] == '-');
		size_t exp = scan_digits(tok + end + 1 + sign, n - end - 1 - sign, 10);
		end = exp ? end + 1 + sign + exp : end;
		is_float = is_float || exp > 0;
	}
	if (end != n || int_end == i) {
		bool underscore = end < n && tok[end] == '_';
		return fail_at(p, start, "invalid number '%.*s'%s", shown, tok,
			       underscore ? ": underscores must sit between digits" : "");
	}
	if (base == 10 && tok[i] == '0' && int_end - i > 1)
		return fail_at(p, start, "leading zeros are not allowed in '%.*s'", shown, tok);
	if (is_float) {
		static pthread_once_t once = PTHREAD_ONCE_INIT;
		pthread_once(&once, c_locale_init);
		buf_reset(&p->scratch);
		for (size_t k = 0; k < n; k++)
			if (tok[k] != '_')
				buf_addch(&p->scratch, tok[k]);
		double v = c_locale ? strtod_l(p->scratch.data, NULL, c_locale)
				    : strtod(p->scratch.data, NULL);
		/* Too large rounds to infinity, as IEEE 754 and other parsers do. */
		*out = checked(isfinite(v) ? json_real(v) : json_string(negative ? "-inf" : "inf"));
		return 0;
	}
	uint64_t value = 0, limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (size_t k = i; k < n; k++) {
		if (tok[k] == '_')
			continue;
		uint64_t digit = (uint64_t)hex_value(tok[k]);
		if (value > (limit - digit) / (uint64_t)base)
			return fail_at(p, start, "integer '%.*s' does not fit in 64 bits", shown,
				       tok);
		value = value * (uint64_t)base + digit;
	}
	json_int_t result = negative ? (json_int_t)(0 - value) : (json_int_t)value;
	*out = checked(json_integer(result));
	return 0;
}

static bool is_token_char(int c)
{
	return is_bare_key_char(c) || c == '+' || c == '.' || c == ':';
}

/* Booleans, numbers, dates and times: everything unquoted that is not [ or {. */
static int parse_bare_value(struct parser *p, json_t **out)
{
	size_t start = p->pos;
	while (is_token_char(peek(p)))
		p->pos++;
	/* A date and a time may be separated by one space instead of 'T'. */
	if (p->pos - start == 10 && valid_date(p->data + start) && peek(p) == ' ' &&
	    p->pos + 3 < p->len && all_digits(p->data + p->pos + 1, 2) &&
	    p->data[p->pos + 3] == ':') {
		p->pos++;
		while (is_token_char(peek(p)))
			p->pos++;
	}
	size_t n = p->pos - start;
	const char *tok = p->data + start;
	if (!n)
		return fail_unexpected(p, "a value");
	if ((n == 4 && !memcmp(tok, "true", 4)) || (n == 5 && !memcmp(tok, "false", 5))) {
		*out = checked(json_boolean(n == 4));
		return 0;
	}
	if ((n >= 10 && all_digits(tok, 4) && tok[4] == '-') ||
	    (n >= 3 && all_digits(tok, 2) && tok[2] == ':')) {
		if (!valid_datetime(tok, n))
			return fail_at(p, start, "invalid date or time '%.*s'",
				       n > 40 ? 40 : (int)n, tok);
		*out = checked(json_stringn_nocheck(tok, n));
		return 0;
	}
	if (tok[0] == '+' || tok[0] == '-' || tok[0] == '.' || (tok[0] >= '0' && tok[0] <= '9') ||
	    (n == 3 && (!memcmp(tok, "inf", 3) || !memcmp(tok, "nan", 3))))
		return parse_number(p, start, n, out);
	return fail_at(p, start, "invalid value '%.*s' (strings need quotes)", n > 40 ? 40 : (int)n,
		       tok);
}

static int parse_value(struct parser *p, json_t **out, unsigned depth);
static int parse_keyval(struct parser *p, json_t *table, unsigned depth);

static int parse_array(struct parser *p, json_t **out, unsigned depth)
{
	size_t start = p->pos++;
	json_t *array = checked(json_array());
	for (;;) {
		if (skip_blank(p) < 0)
			goto fail;
		if (peek(p) == ']')
			break;
		if (peek(p) < 0) {
			fail_at(p, start, "unterminated array");
			goto fail;
		}
		json_t *item;
		if (parse_value(p, &item, depth + 1) < 0)
			goto fail;
		json_array_append_new(array, item);
		if (skip_blank(p) < 0)
			goto fail;
		if (peek(p) == ',') {
			p->pos++;
			continue;
		}
		if (peek(p) == ']')
			break;
		if (peek(p) < 0)
			fail_at(p, start, "unterminated array");
		else
			fail_unexpected(p, "',' or ']' in array");
		goto fail;
	}
	p->pos++;
	*out = array;
	return 0;
fail:
	json_decref(array);
	return -1;
}

static int parse_inline_table(struct parser *p, json_t **out, unsigned depth)
{
	p->pos++;
	json_t *table = checked(json_object());
	skip_ws(p);
	if (peek(p) != '}') {
		for (;;) {
			if (parse_keyval(p, table, depth) < 0)
				goto fail;
			skip_ws(p);
			if (peek(p) == '}')
				break;
			if (peek(p) != ',') {
				fail_unexpected(p, "',' or '}' (an inline table is one line)");
				goto fail;
			}
			p->pos++;
			skip_ws(p);
			if (peek(p) == '}') {
				fail_at(p, p->pos, "trailing comma in inline table");
				goto fail;
			}
		}
	}
	p->pos++;
	*out = table;
	return 0;
fail:
	json_decref(table);
	return -1;
}

/* depth is the nesting level the value would have if it is a container. */
static int parse_value(struct parser *p, json_t **out, unsigned depth)
{
	int c = peek(p);
	if ((c == '[' || c == '{') && depth > TOML_MAX_DEPTH)
		return fail_at(p, p->pos, "nesting is deeper than %d levels", TOML_MAX_DEPTH);
	if (c == '[')
		return parse_array(p, out, depth);
	if (c == '{')
		return parse_inline_table(p, out, depth);
	if (c != '"' && c != '\'')
		return parse_bare_value(p, out);
	buf_reset(&p->scratch);
	if (parse_string(p, &p->scratch, true) < 0)
		return -1;
	*out = checked(json_stringn_nocheck(buf_cstr(&p->scratch), p->scratch.len));
	return 0;
}

/*
 * Walks the dotted prefix of a key = value line, creating tables as needed.
 * Inline tables and tables named by headers are closed to it. Keys of a
 * later section never reach tables that dotted keys built (a table is the
 * current one of at most one section, and headers cannot name those).
 */
static int walk_dotted(struct parser *p, const struct key *k, json_t **node, unsigned *depth)
{
	for (size_t i = 0; i + 1 < k->count; i++) {
		const struct key_part *part = &k->parts[i];
		json_t *child = json_object_getn(*node, part->text, part->len);
		if (!child) {
			if (*depth + 1 > TOML_MAX_DEPTH)
				return fail_at(p, part->pos, "nesting is deeper than %d levels",
					       TOML_MAX_DEPTH);
			child = checked(json_object());
			json_object_setn_new_nocheck(*node, part->text, part->len, child);
		} else {
			unsigned flags = flags_of(p, child);
			if (!json_is_object(child))
				return fail_at(p, part->pos, "key '%s' is already %s",
					       key_text(p, k, i + 1), type_name(child));
			if (flags & FLAG_FROZEN)
				return fail_at(p, part->pos, "cannot add keys to inline table '%s'",
					       key_text(p, k, i + 1));
			if (flags & FLAG_EXPLICIT)
				return fail_at(p, part->pos,
					       "cannot add keys to table '%s' defined elsewhere",
					       key_text(p, k, i + 1));
		}
		flags_add(p, child, FLAG_DOTTED);
		*node = child;
		++*depth;
	}
	return 0;
}

static int parse_keyval(struct parser *p, json_t *table, unsigned depth)
{
	struct key k = { 0 };
	size_t start = p->pos;
	json_t *value = NULL;
	if (parse_key(p, &k) < 0)
		goto fail;
	if (peek(p) != '=') {
		char tmp[16];
		fail_at(p, p->pos, "expected '=' after key '%s', found %s",
			key_text(p, &k, k.count), char_name(p, tmp));
		goto fail;
	}
	p->pos++;
	skip_ws(p);
	json_t *node = table;
	if (walk_dotted(p, &k, &node, &depth) < 0)
		goto fail;
	const struct key_part *last = &k.parts[k.count - 1];
	if (json_object_getn(node, last->text, last->len)) {
		fail_at(p, start, "duplicate key '%s'", key_text(p, &k, k.count));
		goto fail;
	}
	if (parse_value(p, &value, depth + 1) < 0)
		goto fail;
	/* Only keys can reach into a value, so nodes inside it need no flags. */
	if (json_is_object(value) || json_is_array(value))
		flags_add(p, value, FLAG_FROZEN);
	json_object_setn_new_nocheck(node, last->text, last->len, value);
	key_free(&k);
	return 0;
fail:
	key_free(&k);
	return -1;
}

/* Handles [a.b] and [[a.b]]; on success *table is where keys go next. */
static int parse_header(struct parser *p, json_t *root, json_t **table, unsigned *depth)
{
	size_t start = p->pos;
	bool array = peek_at(p, 1) == '[';
	struct key k = { 0 };
	p->pos += array ? 2 : 1;
	if (parse_key(p, &k) < 0)
		goto fail;
	if (peek(p) != ']' || (array && peek_at(p, 1) != ']')) {
		if (array && peek(p) == ']')
			p->pos++;
		fail_unexpected(p, array ? "']]' closing the array of tables header"
					 : "']' closing the table header");
		goto fail;
	}
	p->pos += array ? 2 : 1;
	json_t *node = root;
	unsigned level = 0;
	for (size_t i = 0; i < k.count; i++) {
		const struct key_part *part = &k.parts[i];
		bool last = i + 1 == k.count;
		const char *name = NULL;
		if (level + (last && array ? 2 : 1) > TOML_MAX_DEPTH) {
			fail_at(p, start, "nesting is deeper than %d levels", TOML_MAX_DEPTH);
			goto fail;
		}
		json_t *child = json_object_getn(node, part->text, part->len);
		if (!child) {
			child = checked(last && array ? json_array() : json_object());
			json_object_setn_new_nocheck(node, part->text, part->len, child);
			if (last)
				flags_add(p, child,
					  array ? FLAG_EXPLICIT | FLAG_TABLES : FLAG_EXPLICIT);
		} else {
			unsigned flags = flags_of(p, child);
			name = key_text(p, &k, i + 1);
			if (flags & FLAG_FROZEN) {
				fail_at(p, start, "cannot extend %s '%s', defined inline",
					json_is_array(child) ? "array" : "table", name);
				goto fail;
			}
			if (!json_is_object(child) && !(flags & FLAG_TABLES)) {
				fail_at(p, start, "key '%s' is already %s", name, type_name(child));
				goto fail;
			}
			if (last && array && !(flags & FLAG_TABLES)) {
				fail_at(p, start,
					"table '%s' is already defined, not an array of tables",
					name);
				goto fail;
			}
			if (last && !array && (flags & FLAG_TABLES)) {
				fail_at(p, start, "'%s' is already an array of tables", name);
				goto fail;
			}
			if (last && !array && (flags & (FLAG_EXPLICIT | FLAG_DOTTED))) {
				fail_at(p, start, "table '%s' is already defined", name);
				goto fail;
			}
			if (last && !array)
				flags_add(p, child, FLAG_EXPLICIT);
		}
		level++;
		if (json_is_array(child)) {
			/* Headers below an array of tables go into its latest table. */
			if (last)
				json_array_append_new(child, checked(json_object()));
			child = json_array_get(child, json_array_size(child) - 1);
			level++;
		}
		node = child;
	}
	*table = node;
	*depth = level;
	key_free(&k);
	return 0;
fail:
	key_free(&k);
	return -1;
}

static int parse_document(struct parser *p, json_t *root)
{
	json_t *table = root;
	unsigned depth = 0;
	if (looking_at(p, "\xEF\xBB\xBF"))
		p->pos += 3;
	for (;;) {
		skip_ws(p);
		int c = peek(p);
		const char *after = NULL;
		if (c < 0)
			return 0;
		if (c == '[') {
			if (parse_header(p, root, &table, &depth) < 0)
				return -1;
			after = "table header";
		} else if (c != '#' && c != '\n' && c != '\r') {
			if (parse_keyval(p, table, depth) < 0)
				return -1;
			after = "value";
		}
		skip_ws(p);
		if (skip_comment(p) < 0)
			return -1;
		if (peek(p) < 0)
			return 0;
		if (!eat_newline(p)) {
			char tmp[16];
			if (!after)
				return fail_at(p, p->pos, "carriage return without a newline");
			return fail_at(p, p->pos, "expected end of line after %s, found %s", after,
				       char_name(p, tmp));
		}
	}
}

int toml_parse(json_t **out, const char *file, const char *data, size_t len, struct err *e)
{
	*out = NULL;
	struct parser p = { .file = file ? file : "<input>",
			    .data = data ? data : "",
			    .len = data ? len : 0,
			    .e = e };
	size_t bad = str_utf8_invalid_at(p.data, p.len);
	if (bad < p.len)
		return fail_at(&p, bad, "invalid UTF-8 byte 0x%02X",
			       (unsigned)(unsigned char)p.data[bad]);
	json_t *root = checked(json_object());
	int rc = parse_document(&p, root);
	free(p.flags.slots);
	buf_free(&p.scratch);
	if (rc < 0) {
		json_decref(root);
		return -1;
	}
	*out = root;
	return 0;
}

int toml_load_file(json_t **out, const char *path, struct err *e)
{
	struct buf text = BUF_INIT;
	*out = NULL;
	if (buf_read_file(&text, path, TOML_MAX_FILE_SIZE, e) < 0)
		return -1;
	int rc = toml_parse(out, path, text.data, text.len, e);
	buf_free(&text);
	return rc;
}
