#include "util/buf.h"

#include "util/err.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void buf_grow(struct buf *b, size_t extra)
{
	if (extra > SIZE_MAX - 1 - b->len) {
		fprintf(stderr, "ampel: buffer of %zu + %zu bytes is too large\n", b->len, extra);
		abort();
	}
	size_t needed = b->len + extra + 1;
	if (needed <= b->cap)
		return;
	b->cap = xalloc_grow_capacity(b->cap, needed);
	b->data = xrealloc(b->data, b->cap);
	b->data[b->len] = '\0';
}

void buf_add(struct buf *b, const void *data, size_t len)
{
	buf_grow(b, len);
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_addch(struct buf *b, char c)
{
	buf_grow(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

void buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list copy;
	va_copy(copy, ap);
	buf_grow(b, 64);
	int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, copy);
	va_end(copy);
	if (n < 0) {
		/* vsnprintf may have left partial output; keep the old contents. */
		b->data[b->len] = '\0';
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		buf_grow(b, (size_t)n);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

void buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void buf_reset(struct buf *b)
{
	buf_truncate(b, 0);
}

void buf_truncate(struct buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->data[len] = '\0';
	}
}

char *buf_detach(struct buf *b)
{
	char *s = b->data ? b->data : xstrdup("");
	buf_init(b);
	return s;
}

const char *buf_cstr(const struct buf *b)
{
	return b->data ? b->data : "";
}

void buf_rtrim(struct buf *b)
{
	/* strchr would also match the terminator, so NUL bytes must not reach it. */
	while (b->len > 0 && b->data[b->len - 1] != '\0' &&
	       strchr(" \t\r\n\f\v", b->data[b->len - 1]))
		b->len--;
	if (b->data)
		b->data[b->len] = '\0';
}

int buf_read_file(struct buf *b, const char *path, size_t max_size, struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(e, "%s: cannot open", path);
	struct stat st;
	bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	if (regular && max_size && (size_t)st.st_size > max_size) {
		close(fd);
		return err_set(e, "%s: file is %lld bytes, more than the limit of %zu", path,
			       (long long)st.st_size, max_size);
	}
	size_t start = b->len;
	for (;;) {
		buf_grow(b, regular && (size_t)st.st_size > b->len - start
				    ? (size_t)st.st_size - (b->len - start) + 1
				    : 8192);
		size_t wanted = b->cap - b->len - 1;
		ssize_t n = read(fd, b->data + b->len, wanted);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err_errno(e, "%s: cannot read", path);
			close(fd);
			buf_truncate(b, start);
			return -1;
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
		b->data[b->len] = '\0';
		if (max_size && b->len - start > max_size) {
			close(fd);
			buf_truncate(b, start);
			return err_set(e, "%s: file is larger than the limit of %zu bytes", path,
				       max_size);
		}
		/* A short read of a regular file that has all its bytes is its end:
		 * saves the read() that would return 0, per file. */
		if (regular && (size_t)n < wanted && b->len - start >= (size_t)st.st_size)
			break;
	}
	close(fd);
	return 0;
}

int buf_write_file(const struct buf *b, const char *path, struct err *e)
{
	/*
	 * A unique temp name (not just the pid) so that two threads writing the
	 * same file cannot truncate each other's half-written copy.
	 */
	struct buf tmp = BUF_INIT;
	buf_addf(&tmp, "%s.tmp.XXXXXX", path);
	int fd = mkostemp(tmp.data, O_CLOEXEC);
	if (fd < 0) {
		err_errno(e, "%s: cannot create a temporary file beside it", path);
		buf_free(&tmp);
		return -1;
	}
	/* Keep the mode of the file being replaced: a 0600 secret must stay 0600. */
	struct stat st;
	mode_t mode = stat(path, &st) == 0 ? (st.st_mode & 07777) : 0644;
	size_t off = 0;
	int rc = fchmod(fd, mode);
	while (rc == 0 && off < b->len) {
		ssize_t n = write(fd, b->data + off, b->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = -1;
			break;
		}
		off += (size_t)n;
	}
	/* fsync before rename, or a crash can leave the new name with no data. */
	if (rc != 0 || fsync(fd) != 0) {
		err_errno(e, "%s: cannot write", path);
		close(fd);
		unlink(tmp.data);
		buf_free(&tmp);
		return -1;
	}
	if (close(fd) != 0 || rename(tmp.data, path) != 0) {
		err_errno(e, "%s: cannot write", path);
		unlink(tmp.data);
		buf_free(&tmp);
		return -1;
	}
	buf_free(&tmp);
	return 0;
}

void buf_add_shell_quoted(struct buf *b, const char *word)
{
	buf_addch(b, '\'');
	for (; *word; word++) {
		if (*word == '\'')
			buf_adds(b, "'\\''");
		else
			buf_addch(b, *word);
	}
	buf_addch(b, '\'');
}
