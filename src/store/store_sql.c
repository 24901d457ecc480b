#include "store/store_sql.h"

#include "util/buf.h"

#include <ctype.h>
#include <sodium.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

/*
 * Length of the literal, quoted identifier or comment starting at s, or 0
 * when s starts none. An unterminated one runs to the end: the server then
 * reports the syntax error, with the placeholders left alone.
 */
static size_t skip_quoted(const char *s)
{
	const char *p = s;
	if (*p == '\'' || *p == '"') {
		char quote = *p++;
		for (;;) {
			if (*p == '\0')
				return (size_t)(p - s);
			if (*p == quote) {
				if (p[1] == quote) { /* doubled quote: an escaped one */
					p += 2;
					continue;
				}
				return (size_t)(p + 1 - s);
			}
			p++;
		}
	}
	if (p[0] == '-' && p[1] == '-') {
		while (*p && *p != '\n')
			p++;
		return (size_t)(p - s);
	}
	if (p[0] == '/' && p[1] == '*') {
		const char *end = strstr(p + 2, "*/");
		return end ? (size_t)(end + 2 - s) : strlen(s);
	}
	return 0;
}

size_t store_sql_rewrite_placeholders(struct buf *out, const char *sql)
{
	size_t count = 0;
	const char *p = sql;
	while (*p) {
		size_t n = skip_quoted(p);
		if (n) {
			buf_add(out, p, n);
			p += n;
		} else if (*p == '?') {
			buf_addf(out, "$%zu", ++count);
			p++;
		} else {
			buf_addch(out, *p++);
		}
	}
	return count;
}

static bool is_word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '$';
}

void store_sql_map_types_pg(struct buf *out, const char *sql)
{
	static const struct {
		const char *from, *to;
	} map[] = {
		{ "INTEGER", "BIGINT" },
		{ "REAL", "DOUBLE PRECISION" },
		{ "BLOB", "BYTEA" },
	};
	const char *p = sql;
	while (*p) {
		size_t n = skip_quoted(p);
		if (n) {
			buf_add(out, p, n);
			p += n;
			continue;
		}
		if (!is_word_char(*p)) {
			buf_addch(out, *p++);
			continue;
		}
		const char *start = p;
		while (is_word_char(*p))
			p++;
		size_t len = (size_t)(p - start);
		const char *replacement = NULL;
		for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
			if (strlen(map[i].from) == len && strncasecmp(start, map[i].from, len) == 0)
				replacement = map[i].to;
		if (replacement)
			buf_adds(out, replacement);
		else
			buf_add(out, start, len);
	}
}

void store_sql_base64(struct buf *out, const unsigned char *data, size_t len)
{
	size_t size = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	buf_grow(out, size);
	sodium_bin2base64(out->data + out->len, size, data, len, sodium_base64_VARIANT_ORIGINAL);
	out->len += size - 1;
}
