#include "util/ignore.h"

#include "util/buf.h"
#include "util/err.h"
#include "util/glob.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Larger files are not .gitignore files anyone wrote; reading them would
 * only let a hostile repository slow the walk down. */
#define IGNORE_FILE_MAX_SIZE (8u << 20)

struct ignore_rule {
	struct glob *glob;
	bool negated;
	bool dir_only;
	/* A slash anywhere but at the end ties the pattern to the path below
	 * the frame's directory; otherwise it matches a base name at any depth. */
	bool anchored;
};

struct ignore_frame {
	char *dir;
	size_t dir_len;
	struct ignore_rule *rules;
	size_t count;
	size_t cap;
};

struct ignore_stack {
	struct ignore_frame *frames;
	size_t count;
	size_t cap;
	unsigned flags;
};

struct ignore_stack *ignore_stack_new(unsigned flags)
{
	struct ignore_stack *s = xcalloc(1, sizeof(*s));
	s->flags = flags;
	return s;
}

void ignore_stack_free(struct ignore_stack *s)
{
	if (!s)
		return;
	while (s->count)
		ignore_stack_pop(s);
	free(s->frames);
	free(s);
}

void ignore_stack_push(struct ignore_stack *s, const char *dir)
{
	if (s->count == s->cap) {
		s->cap = xalloc_grow_capacity(s->cap, s->count + 1);
		s->frames = xrealloc(s->frames, s->cap * sizeof(*s->frames));
	}
	struct ignore_frame *f = &s->frames[s->count++];
	memset(f, 0, sizeof(*f));
	f->dir_len = strlen(dir);
	/* "dir/" and "dir" name the same frame; keep the form without slash. */
	while (f->dir_len && dir[f->dir_len - 1] == '/')
		f->dir_len--;
	f->dir = xstrndup(dir, f->dir_len);
}

void ignore_stack_pop(struct ignore_stack *s)
{
	if (!s->count)
		return;
	struct ignore_frame *f = &s->frames[--s->count];
	for (size_t i = 0; i < f->count; i++)
		glob_free(f->rules[i].glob);
	free(f->rules);
	free(f->dir);
}

size_t ignore_stack_depth(const struct ignore_stack *s)
{
	return s->count;
}

/*
 * git's trim_trailing_spaces(): trailing spaces go unless the last one is
 * escaped with a backslash, which then stays for the matcher to unescape.
 */
static size_t trim_trailing_spaces(const char *line, size_t len)
{
	size_t end = len;
	bool in_spaces = false;
	for (size_t i = 0; i < len; i++) {
		if (line[i] == ' ') {
			if (!in_spaces)
				end = i;
			in_spaces = true;
		} else if (line[i] == '\\') {
			i++;
			if (i >= len)
				return len;
			in_spaces = false;
			end = len;
		} else {
			in_spaces = false;
			end = len;
		}
	}
	return in_spaces ? end : len;
}

static void add_line(struct ignore_stack *s, struct ignore_frame *f, const char *line, size_t len)
{
	bool negated = false, dir_only = false, anchored = false;

	/* Windows checkouts leave CRLF endings; a CR is never meant literally. */
	if (len && line[len - 1] == '\r')
		len--;
	/* A NUL cannot be part of a path: the file is not text. */
	if (!len || line[0] == '#' || memchr(line, '\0', len))
		return;
	len = trim_trailing_spaces(line, len);
	if (line[0] == '!') {
		negated = true;
		line++;
		len--;
	}
	if (len && line[len - 1] == '/') {
		dir_only = true;
		len--;
	}
	if (memchr(line, '/', len))
		anchored = true;
	if (len && line[0] == '/') {
		line++;
		len--;
	}
	if (!len)
		return;

	char *pattern = xstrndup(line, len);
	if (f->count == f->cap) {
		f->cap = xalloc_grow_capacity(f->cap, f->count + 1);
		f->rules = xrealloc(f->rules, f->cap * sizeof(*f->rules));
	}
	struct ignore_rule *r = &f->rules[f->count++];
	r->glob = glob_compile(pattern, (s->flags & IGNORE_CASEFOLD) ? GLOB_CASEFOLD : 0);
	r->negated = negated;
	r->dir_only = dir_only;
	r->anchored = anchored;
	free(pattern);
}

void ignore_stack_add_rules(struct ignore_stack *s, const char *text, size_t len)
{
	if (!s->count)
		ignore_stack_push(s, "");
	struct ignore_frame *f = &s->frames[s->count - 1];
	/* git skips a UTF-8 byte order mark at the start of the file. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		text += 3;
		len -= 3;
	}
	while (len) {
		const char *nl = memchr(text, '\n', len);
		size_t line_len = nl ? (size_t)(nl - text) : len;
		add_line(s, f, text, line_len);
		if (!nl)
			break;
		text += line_len + 1;
		len -= line_len + 1;
	}
}

int ignore_stack_add_file_at(struct ignore_stack *s, int dir_fd, const char *path,
			     bool follow_symlink, struct err *e)
{
	/* O_NONBLOCK: a FIFO named .gitignore must not hang the walk. */
	int flags =
		O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (follow_symlink ? 0 : O_NOFOLLOW);
	int fd = openat(dir_fd, path, flags);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			return 0;
		return err_errno(e, "cannot open ignore file '%s'", path);
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		err_errno(e, "cannot stat ignore file '%s'", path);
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return 0;
	}
	if (st.st_size > (off_t)IGNORE_FILE_MAX_SIZE) {
		close(fd);
		return err_set(e, "ignore file '%s' is larger than %u bytes", path,
			       IGNORE_FILE_MAX_SIZE);
	}

	struct buf text = BUF_INIT;
	for (;;) {
		buf_grow(&text, 4096);
		ssize_t n = read(fd, text.data + text.len, text.cap - text.len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_errno(e, "cannot read ignore file '%s'", path);
			close(fd);
			buf_free(&text);
			return -1;
		}
		if (n == 0)
			break;
		text.len += (size_t)n;
		text.data[text.len] = '\0';
		if (text.len > IGNORE_FILE_MAX_SIZE)
			break; /* grew while we read; the stat check is the limit */
	}
	close(fd);
	ignore_stack_add_rules(s, text.data ? text.data : "", text.len);
	buf_free(&text);
	return 0;
}

/*
 * Result of one frame: -1 no rule matched, 0 re-included, 1 excluded.
 * Frames are consulted deepest first and rules last first, so the first
 * hit is the rule git would apply.
 */
static int check_frame(const struct ignore_frame *f, const char *path, size_t len, bool is_dir)
{
	const char *rel = path;
	size_t rel_len = len;
	if (f->dir_len) {
		if (len <= f->dir_len || path[f->dir_len] != '/' ||
		    memcmp(path, f->dir, f->dir_len) != 0)
			return -1;
		rel = path + f->dir_len + 1;
		rel_len = len - f->dir_len - 1;
	}
	const char *base = rel;
	for (size_t i = rel_len; i > 0; i--) {
		if (rel[i - 1] == '/') {
			base = rel + i;
			break;
		}
	}
	size_t base_len = rel_len - (size_t)(base - rel);

	for (size_t i = f->count; i > 0; i--) {
		const struct ignore_rule *r = &f->rules[i - 1];
		if (r->dir_only && !is_dir)
			continue;
		bool hit = r->anchored ? glob_matches_n(r->glob, rel, rel_len)
				       : glob_matches_n(r->glob, base, base_len);
		if (hit)
			return r->negated ? 0 : 1;
	}
	return -1;
}

static bool check_n(const struct ignore_stack *s, const char *path, size_t len, bool is_dir)
{
	for (size_t i = s->count; i > 0; i--) {
		int verdict = check_frame(&s->frames[i - 1], path, len, is_dir);
		if (verdict >= 0)
			return verdict == 1;
	}
	return false;
}

bool ignore_check(const struct ignore_stack *s, const char *relpath, bool is_dir)
{
	return check_n(s, relpath, strlen(relpath), is_dir);
}

bool ignore_check_path(const struct ignore_stack *s, const char *relpath, bool is_dir)
{
	size_t len = strlen(relpath);
	for (size_t i = 1; i < len; i++)
		if (relpath[i] == '/' && check_n(s, relpath, i, true))
			return true;
	return check_n(s, relpath, len, is_dir);
}
