/*
 * log: structured logging, one event per line.
 *
 * Every event has a level, the module that emitted it, a message and
 * key=value fields, as text (`time level module: message key=value`) or as
 * JSON lines (--log-format json) for machines. Secrets never reach a log:
 * callers pass masked values.
 */
#ifndef AMPEL_UTIL_LOG_H
#define AMPEL_UTIL_LOG_H

#include <stdio.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF };
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_set_format(enum log_format format);
/* Where events go (default stderr). */
void log_set_stream(FILE *stream);
/* Parses "debug|info|warn|error|off"; -1 when unknown. */
int log_parse_level(const char *name, enum log_level *out);
/* Parses "text|json"; -1 when unknown. */
int log_parse_format(const char *name, enum log_format *out);

/*
 * Emits one event: after the message come alternating key and value
 * strings, ended by NULL. A NULL value is written as an empty string.
 * Thread-safe: one event is one write.
 */
void log_emit(enum log_level level, const char *module, const char *message, ...);

#define log_debug(...) log_emit(LOG_DEBUG, __VA_ARGS__, (const char *)0)
#define log_info(...)  log_emit(LOG_INFO, __VA_ARGS__, (const char *)0)
#define log_warn(...)  log_emit(LOG_WARN, __VA_ARGS__, (const char *)0)
#define log_error(...) log_emit(LOG_ERROR, __VA_ARGS__, (const char *)0)

#endif
