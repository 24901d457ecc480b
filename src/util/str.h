/*
 * str: small string helpers that C's library lacks.
 */
#ifndef AMPEL_UTIL_STR_H
#define AMPEL_UTIL_STR_H

#include <stdbool.h>
#include <stddef.h>

struct vec;
struct err;

bool str_starts_with(const char *s, const char *prefix);
bool str_ends_with(const char *s, const char *suffix);
bool str_eq(const char *a, const char *b); /* NULL-safe */
bool str_eq_icase(const char *a, const char *b);
/* ASCII case-insensitive equality of a[0..a_len) and b[0..b_len). */
bool str_eq_icase_n(const char *a, size_t a_len, const char *b, size_t b_len);
/* Trims ASCII whitespace in place; returns the first non-space char. */
char *str_trim(char *s);
/* Lower-cases ASCII letters in place; returns s. */
char *str_lower(char *s);
/* Splits s at every sep into xstrdup'd pieces pushed onto out. */
void str_split(const char *s, char sep, struct vec *out);
/* Parses a whole decimal integer in [min,max]; err names `what`. */
int str_parse_long(const char *s, long min, long max, long *out, const char *what, struct err *e);
/* True when s is NULL or only whitespace. */
bool str_blank(const char *s);

/*
 * UTF-8 as RFC 3629 defines it: no overlong forms, no surrogates, nothing
 * past U+10FFFF. The length of the valid sequence at s (of at most len
 * bytes), or 0 when there is none; and the offset of the first byte that
 * is not valid UTF-8, or len.
 */
size_t str_utf8_sequence(const char *s, size_t len);
size_t str_utf8_invalid_at(const char *s, size_t len);

#endif
