/* runner_files: $GITHUB_ENV, $GITHUB_OUTPUT, $GITHUB_STATE, $GITHUB_PATH; see runner_files.h. */
#include "pipeline/runner_files.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/xalloc.h"

/* One line of the file: [start, end) without its line break. */
struct line {
	const char *start;
	const char *end;
	size_t number;
};

struct reader {
	const char *at;
	const char *end;
	size_t number;
};

static void reader_init(struct reader *r, const char *data, size_t len)
{
	/* .NET's file reading drops a byte order mark; editors on Windows add one. */
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
		data += 3;
		len -= 3;
	}
	r->at = data;
	r->end = data + len;
	r->number = 0;
}

/*
 * The next line ending at LF; a CR before the LF is not part of it, so
 * files written with CRLF read the same. False at the end of the data.
 */
static bool reader_next(struct reader *r, struct line *line)
{
	if (r->at >= r->end)
		return false;
	const char *nl = memchr(r->at, '\n', (size_t)(r->end - r->at));
	line->start = r->at;
	line->end = nl ? nl : r->end;
	r->at = nl ? nl + 1 : r->end;
	if (line->end > line->start && line->end[-1] == '\r')
		line->end--;
	line->number = ++r->number;
	return true;
}

static size_t line_len(const struct line *line)
{
	return (size_t)(line->end - line->start);
}

static bool has_nul(const struct line *line)
{
	return memchr(line->start, '\0', line_len(line)) != NULL;
}

static const char *find_heredoc(const struct line *line)
{
	for (const char *s = line->start; s + 1 < line->end; s++) {
		if (s[0] == '<' && s[1] == '<')
			return s;
	}
	return NULL;
}

static void push_pair(struct runner_pair **pairs, size_t *count, size_t *cap, const char *name,
		      size_t name_len, const char *value, size_t value_len)
{
	if (*count == *cap) {
		*cap = xalloc_grow_capacity(*cap, *count + 1);
		*pairs = xrealloc(*pairs, *cap * sizeof(**pairs));
	}
	(*pairs)[*count].name = xstrndup(name, name_len);
	(*pairs)[*count].value = xstrndup(value, value_len);
	(*count)++;
}

/*
 * The value of a heredoc begun on line `start`: everything up to the line
 * that is exactly the delimiter, less the line break before that line.
 */
static int read_heredoc(const char *kind, struct reader *r, const struct line *start,
			const char *delimiter, size_t delimiter_len, const char **value,
			size_t *value_len, struct err *e)
{
	const char *value_start = r->at;
	const char *value_end = r->at;
	struct line line;
	while (reader_next(r, &line)) {
		if (has_nul(&line))
			return err_set(e, "%s line %zu: contains a NUL byte", kind, line.number);
		if (line_len(&line) == delimiter_len &&
		    memcmp(line.start, delimiter, delimiter_len) == 0) {
			*value = value_start;
			*value_len = (size_t)(value_end - value_start);
			return 0;
		}
		value_end = line.end;
	}
	return err_set(e,
		       "%s line %zu: heredoc delimiter '%.*s' not found (it must stand alone on a "
		       "later line)",
		       kind, start->number, delimiter_len > 60 ? 60 : (int)delimiter_len,
		       delimiter);
}

int runner_file_parse_pairs(const char *kind, const char *data, size_t len,
			    struct runner_pair **out, size_t *count, struct err *e)
{
	struct runner_pair *pairs = NULL;
	size_t n = 0;
	size_t cap = 0;
	struct reader r;
	struct line line;
	*out = NULL;
	*count = 0;
	reader_init(&r, data, len);
	while (reader_next(&r, &line)) {
		if (line.start == line.end)
			continue;
		if (has_nul(&line)) {
			err_set(e, "%s line %zu: contains a NUL byte", kind, line.number);
			goto fail;
		}
		const char *eq = memchr(line.start, '=', line_len(&line));
		const char *heredoc = find_heredoc(&line);
		if (eq && (!heredoc || eq < heredoc)) {
			if (eq == line.start) {
				err_set(e, "%s line %zu: the name before '=' is empty", kind,
					line.number);
				goto fail;
			}
			push_pair(&pairs, &n, &cap, line.start, (size_t)(eq - line.start), eq + 1,
				  (size_t)(line.end - eq - 1));
		} else if (heredoc) {
			const char *delimiter = heredoc + 2;
			size_t delimiter_len = (size_t)(line.end - delimiter);
			if (heredoc == line.start) {
				err_set(e, "%s line %zu: the name before '<<' is empty", kind,
					line.number);
				goto fail;
			}
			if (delimiter_len == 0) {
				err_set(e, "%s line %zu: the heredoc delimiter after '<<' is empty",
					kind, line.number);
				goto fail;
			}
			const char *value = NULL;
			size_t value_len = 0;
			if (read_heredoc(kind, &r, &line, delimiter, delimiter_len, &value,
					 &value_len, e) < 0)
				goto fail;
			push_pair(&pairs, &n, &cap, line.start, (size_t)(heredoc - line.start),
				  value, value_len);
		} else {
			/* The line is not quoted: it may well be the second line
			 * of a secret written without a heredoc. */
			err_set(e,
				"%s line %zu: expected NAME=VALUE or NAME<<DELIMITER (a value of "
				"several lines needs the heredoc form)",
				kind, line.number);
			goto fail;
		}
	}
	*out = pairs;
	*count = n;
	return 0;
fail:
	runner_pairs_free(pairs, n);
	return -1;
}

void runner_pairs_free(struct runner_pair *pairs, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		free(pairs[i].name);
		free(pairs[i].value);
	}
	free(pairs);
}

int runner_file_parse_paths(const char *data, size_t len, char ***out, size_t *count, struct err *e)
{
	char **paths = NULL;
	size_t n = 0;
	size_t cap = 0;
	struct reader r;
	*out = NULL;
	*count = 0;
	reader_init(&r, data, len);
	/* File.ReadAllLines breaks at a lone CR as well, so this does not use
	 * reader_next. */
	const char *s = r.at;
	size_t number = 0;
	while (s < r.end) {
		const char *end = s;
		while (end < r.end && *end != '\n' && *end != '\r')
			end++;
		number++;
		if (memchr(s, '\0', (size_t)(end - s))) {
			runner_paths_free(paths, n);
			return err_set(e, "GITHUB_PATH line %zu: contains a NUL byte", number);
		}
		if (end > s) {
			if (n == cap) {
				cap = xalloc_grow_capacity(cap, n + 1);
				paths = xrealloc(paths, cap * sizeof(*paths));
			}
			paths[n++] = xstrndup(s, (size_t)(end - s));
		}
		if (end < r.end && *end == '\r' && end + 1 < r.end && end[1] == '\n')
			end++;
		s = end + 1;
	}
	*out = paths;
	*count = n;
	return 0;
}

void runner_paths_free(char **paths, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(paths[i]);
	free(paths);
}

/* The file's contents; a missing file reads as empty, since a step need not write one. */
static int read_runner_file(const char *kind, const char *path, struct buf *data, struct err *e)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return err_errno(e, "%s: cannot read %s", kind, path);
	}
	if (S_ISREG(st.st_mode) && st.st_size > RUNNER_FILE_MAX_SIZE)
		return err_set(e, "%s: %s is %lld bytes, more than the %d a runner file may hold",
			       kind, path, (long long)st.st_size, RUNNER_FILE_MAX_SIZE);
	if (buf_read_file(data, path, RUNNER_FILE_MAX_SIZE, e) < 0)
		return err_prefix(e, "%s", kind);
	return 0;
}

int runner_file_read_pairs(const char *kind, const char *path, struct runner_pair **out,
			   size_t *count, struct err *e)
{
	struct buf data = BUF_INIT;
	*out = NULL;
	*count = 0;
	int rc = read_runner_file(kind, path, &data, e);
	if (rc == 0)
		rc = runner_file_parse_pairs(kind, buf_cstr(&data), data.len, out, count, e);
	buf_free(&data);
	return rc;
}

int runner_file_read_paths(const char *path, char ***out, size_t *count, struct err *e)
{
	struct buf data = BUF_INIT;
	*out = NULL;
	*count = 0;
	int rc = read_runner_file("GITHUB_PATH", path, &data, e);
	if (rc == 0)
		rc = runner_file_parse_paths(buf_cstr(&data), data.len, out, count, e);
	buf_free(&data);
	return rc;
}

bool runner_file_env_name_blocked(const char *name)
{
	return name && strcasecmp(name, "NODE_OPTIONS") == 0;
}
