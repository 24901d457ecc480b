/*
 * buf: a growable byte buffer that is always NUL-terminated.
 *
 * The one way Ampel builds strings (like git's strbuf): no strcpy, sprintf
 * or unbounded strcat anywhere else. data is valid ("" when empty) after
 * buf_init or BUF_INIT-then-any-add; buf_cstr() is safe at all times.
 */
#ifndef AMPEL_UTIL_BUF_H
#define AMPEL_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct err;

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT           \
	{                  \
		NULL, 0, 0 \
	}

void buf_init(struct buf *b);
void buf_free(struct buf *b);
/* Makes room for `extra` more bytes plus the terminator. */
void buf_grow(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_adds(struct buf *b, const char *s);
void buf_addch(struct buf *b, char c);
/* word in single quotes for a POSIX shell ('\'' for each quote inside). */
void buf_add_shell_quoted(struct buf *b, const char *word);
void buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vaddf(struct buf *b, const char *fmt, va_list ap);
/* Empties the buffer, keeping its memory. */
void buf_reset(struct buf *b);
/* Shortens to len bytes (no-op when already shorter). */
void buf_truncate(struct buf *b, size_t len);
/* Hands the malloc'd string to the caller and leaves b empty. */
char *buf_detach(struct buf *b);
const char *buf_cstr(const struct buf *b);
/* Strips trailing whitespace. */
void buf_rtrim(struct buf *b);

/*
 * Appends the whole file at path. Fails with a message naming the path
 * when it cannot be read or is larger than max_size (0 = no limit).
 */
int buf_read_file(struct buf *b, const char *path, size_t max_size, struct err *e);
/* Writes b to path atomically (temp file + rename). */
int buf_write_file(const struct buf *b, const char *path, struct err *e);

#endif
