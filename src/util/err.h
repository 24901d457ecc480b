/*
 * err: the error a failing function hands back to its caller.
 *
 * Functions that can fail return int (0 ok, -1 failed) and fill a
 * caller-owned struct err with a message a user can act on, naming the
 * file, line and field where there is one. Callers add context with
 * err_prefix() as the error travels up ("config/x.yaml:4: ...").
 */
#ifndef AMPEL_UTIL_ERR_H
#define AMPEL_UTIL_ERR_H

#include <stdarg.h>

struct err {
	char msg[1024];
};

#define ERR_INIT          \
	{                 \
		{         \
			0 \
		}         \
	}

/* Sets the message (e may be NULL) and returns -1, so `return err_set(...)`. */
int err_set(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int err_vset(struct err *e, const char *fmt, va_list ap);
/* Like err_set, then appends ": strerror(errno)" for the errno at the call. */
int err_errno(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prepends "context: " to the current message; returns -1. */
int err_prefix(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void err_clear(struct err *e);
/* True when a message is set. */
int err_is_set(const struct err *e);

#endif
