#include "util/log.h"

#include "util/buf.h"
#include "util/str.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static _Atomic int log_level = LOG_INFO;
static _Atomic int log_format = LOG_FORMAT_TEXT;
/* Guards log_stream and the write, so events from threads never interleave. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *log_stream;

static const char *const level_names[] = { "debug", "info", "warn", "error", "off" };
/* Padded so that text lines line up whatever the level. */
static const char *const level_labels[] = { "DEBUG", "INFO ", "WARN ", "ERROR", "OFF  " };

void log_set_level(enum log_level level)
{
	atomic_store(&log_level, (int)level);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load(&log_level);
}

void log_set_format(enum log_format format)
{
	atomic_store(&log_format, (int)format);
}

void log_set_stream(FILE *stream)
{
	pthread_mutex_lock(&log_lock);
	log_stream = stream;
	pthread_mutex_unlock(&log_lock);
}

int log_parse_level(const char *name, enum log_level *out)
{
	if (!name)
		return -1;
	for (int i = LOG_DEBUG; i <= LOG_OFF; i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcasecmp(name, "warning") == 0) {
		*out = LOG_WARN;
		return 0;
	}
	return -1;
}

int log_parse_format(const char *name, enum log_format *out)
{
	if (!name)
		return -1;
	if (strcasecmp(name, "text") == 0) {
		*out = LOG_FORMAT_TEXT;
		return 0;
	}
	if (strcasecmp(name, "json") == 0) {
		*out = LOG_FORMAT_JSON;
		return 0;
	}
	return -1;
}

static void log_add_time(struct buf *b)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	buf_addf(b, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

static bool log_is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* Escapes control characters so that an event can never span two lines. */
static void text_add_escaped(struct buf *b, const char *s, bool quoted)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '\n':
			buf_adds(b, "\\n");
			break;
		case '\r':
			buf_adds(b, "\\r");
			break;
		case '\t':
			buf_adds(b, "\\t");
			break;
		case '"':
		case '\\':
			if (quoted)
				buf_addch(b, '\\');
			buf_addch(b, (char)*p);
			break;
		default:
			if (log_is_control(*p))
				buf_addf(b, "\\x%02x", *p);
			else
				buf_addch(b, (char)*p);
		}
	}
}

static bool text_needs_quotes(const char *s)
{
	if (!*s)
		return true;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == ' ' || *p == '"' || *p == '=' || *p == '\\' || log_is_control(*p))
			return true;
	}
	return false;
}

static void text_add_value(struct buf *b, const char *s)
{
	if (!text_needs_quotes(s)) {
		buf_adds(b, s);
		return;
	}
	buf_addch(b, '"');
	text_add_escaped(b, s, true);
	buf_addch(b, '"');
}

/* A JSON string; bytes that are not UTF-8 become U+FFFD so the line stays valid JSON. */
static void json_add_string(struct buf *b, const char *s)
{
	buf_addch(b, '"');
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + strlen(s);
	while (*p) {
		unsigned char c = *p;
		switch (c) {
		case '"':
			buf_adds(b, "\\\"");
			break;
		case '\\':
			buf_adds(b, "\\\\");
			break;
		case '\n':
			buf_adds(b, "\\n");
			break;
		case '\r':
			buf_adds(b, "\\r");
			break;
		case '\t':
			buf_adds(b, "\\t");
			break;
		case '\b':
			buf_adds(b, "\\b");
			break;
		case '\f':
			buf_adds(b, "\\f");
			break;
		default:
			if (c < 0x20 || c == 0x7f) {
				buf_addf(b, "\\u%04x", c);
			} else {
				size_t n = str_utf8_sequence((const char *)p, (size_t)(end - p));
				if (n == 0) {
					buf_adds(b, "\\ufffd");
					p++;
					continue;
				}
				buf_add(b, p, n);
				p += n;
				continue;
			}
		}
		p++;
	}
	buf_addch(b, '"');
}

void log_emit(enum log_level level, const char *module, const char *message, ...)
{
	if (level < LOG_DEBUG || level >= LOG_OFF || (int)level < atomic_load(&log_level))
		return;
	if (!module)
		module = "-";
	if (!message)
		message = "";
	bool json = atomic_load(&log_format) == LOG_FORMAT_JSON;
	struct buf line = BUF_INIT;
	va_list ap;
	va_start(ap, message);
	if (json) {
		buf_adds(&line, "{\"time\":\"");
		log_add_time(&line);
		buf_addf(&line, "\",\"level\":\"%s\",\"module\":", level_names[level]);
		json_add_string(&line, module);
		buf_adds(&line, ",\"msg\":");
		json_add_string(&line, message);
	} else {
		log_add_time(&line);
		buf_addf(&line, " %s ", level_labels[level]);
		text_add_escaped(&line, module, false);
		buf_adds(&line, ": ");
		text_add_escaped(&line, message, false);
	}
	for (;;) {
		const char *key = va_arg(ap, const char *);
		if (!key)
			break;
		const char *value = va_arg(ap, const char *);
		if (!value)
			value = "";
		if (json) {
			buf_addch(&line, ',');
			json_add_string(&line, key);
			buf_addch(&line, ':');
			json_add_string(&line, value);
		} else {
			buf_addch(&line, ' ');
			text_add_escaped(&line, key, false);
			buf_addch(&line, '=');
			text_add_value(&line, value);
		}
	}
	va_end(ap);
	if (json)
		buf_addch(&line, '}');
	buf_addch(&line, '\n');

	pthread_mutex_lock(&log_lock);
	FILE *out = log_stream ? log_stream : stderr;
	fwrite(line.data, 1, line.len, out);
	fflush(out);
	pthread_mutex_unlock(&log_lock);
	buf_free(&line);
}
