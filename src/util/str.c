#include "util/str.h"

#include "util/err.h"
#include "util/vec.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool str_starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_ends_with(const char *s, const char *suffix)
{
	size_t len = strlen(s);
	size_t suffix_len = strlen(suffix);
	return suffix_len <= len && memcmp(s + len - suffix_len, suffix, suffix_len) == 0;
}

bool str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

bool str_eq_icase(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcasecmp(a, b) == 0;
}

char *str_trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	s[len] = '\0';
	return s;
}

char *str_lower(char *s)
{
	/* ASCII only: tolower() would follow the locale and change non-ASCII bytes. */
	for (char *p = s; *p; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	}
	return s;
}

void str_split(const char *s, char sep, struct vec *out)
{
	const char *start = s;
	for (;;) {
		const char *end = strchr(start, sep);
		if (!end || sep == '\0') {
			vec_push(out, xstrdup(start));
			return;
		}
		vec_push(out, xstrndup(start, (size_t)(end - start)));
		start = end + 1;
	}
}

int str_parse_long(const char *s, long min, long max, long *out, const char *what, struct err *e)
{
	if (!what)
		what = "value";
	if (!s || str_blank(s))
		return err_set(e, "%s: a whole number is required", what);
	const char *p = s;
	/* strtol would accept leading spaces, a '+' and hex-looking junk; be strict. */
	if (*p == '-' || *p == '+')
		p++;
	if (!isdigit((unsigned char)*p))
		return err_set(e, "%s: '%s' is not a whole number", what, s);
	errno = 0;
	char *end;
	long value = strtol(s, &end, 10);
	if (*end != '\0')
		return err_set(e, "%s: '%s' is not a whole number", what, s);
	if (errno == ERANGE || value < min || value > max)
		return err_set(e, "%s: '%s' must be between %ld and %ld", what, s, min, max);
	*out = value;
	return 0;
}

bool str_blank(const char *s)
{
	if (!s)
		return true;
	for (; *s; s++) {
		if (!isspace((unsigned char)*s))
			return false;
	}
	return true;
}

bool str_eq_icase_n(const char *a, size_t a_len, const char *b, size_t b_len)
{
	if (a_len != b_len)
		return false;
	/* ASCII only, whatever the locale: names, not prose */
	for (size_t i = 0; i < a_len; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

size_t str_utf8_sequence(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	if (len == 0)
		return 0;
	unsigned c = p[0];
	size_t need;
	unsigned lo = 0x80, hi = 0xBF; /* the second byte's range */
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		need = 1;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 2;
		lo = c == 0xE0 ? 0xA0 : 0x80; /* not overlong */
		hi = c == 0xED ? 0x9F : 0xBF; /* no surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3;
		lo = c == 0xF0 ? 0x90 : 0x80;
		hi = c == 0xF4 ? 0x8F : 0xBF; /* nothing past U+10FFFF */
	} else {
		return 0;
	}
	if (len <= need || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t k = 2; k <= need; k++)
		if ((p[k] & 0xC0) != 0x80)
			return 0;
	return need + 1;
}

size_t str_utf8_invalid_at(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		size_t n = str_utf8_sequence(s + i, len - i);
		if (n == 0)
			return i;
		i += n;
	}
	return len;
}
