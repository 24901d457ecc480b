/*
 * response: what a handler hands back, and the API's shared conventions.
 *
 * Every JSON endpoint answers the same way: errors as {"error": {"code",
 * "message"}} with a status-derived code, request bodies parsed with the
 * line and column of a mistake, and lists paginated by opaque cursors. One
 * module keeps those rules so that no endpoint invents its own.
 */
#ifndef AMPEL_HTTP_RESPONSE_H
#define AMPEL_HTTP_RESPONSE_H

#include "util/buf.h"
#include "util/vec.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct err;
struct http_request;

struct http_header {
	char *name;
	char *value;
};

/*
 * Owns its body and headers; returned by value from handlers and freed by
 * the server (http_response_free). content_type NULL means no body type
 * header (an empty response).
 */
struct http_response {
	int status;
	struct buf body;
	char *content_type;
	struct vec headers; /* struct http_header * */
};

/* A JSON body; takes the reference to body (json_decref'd here). */
struct http_response http_response_json(int status, json_t *body);
/* A body of any type, copied. */
struct http_response http_response_text(int status, const char *content_type, const char *text,
					size_t len);
/* No body (204, 304, or a status whose meaning is the whole answer). */
struct http_response http_response_empty(int status);
/*
 * {"error": {"code": http_status_code(status), "message": ...}}. The
 * message is shown to API users: say what was wrong and what to do.
 */
struct http_response http_response_error(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * The same with an explicit code (NULL: from the status) and extra
 * members under "error" (e.g. {"field": "email"}); takes the reference to
 * details, which may be NULL.
 */
struct http_response http_response_error_detail(int status, const char *code, json_t *details,
						const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Sets (replaces, case-insensitively) a header; both strings copied. */
void http_response_set_header(struct http_response *res, const char *name, const char *value);
/* The value of a header set on res, or NULL. */
const char *http_response_header(const struct http_response *res, const char *name);
void http_response_free(struct http_response *res);

/* "not_found" for 404 …; "error" for a status without a name. */
const char *http_status_code(int status);
/* "Not Found" for 404 …; "Unknown" for a status without a name. */
const char *http_status_reason(int status);

/*
 * Parses the request body as a JSON object. On failure returns -1 and
 * fills *error: 415 when Content-Type is set and is neither JSON nor the
 * form type `curl -d` sends by default, 400 naming
 * the line and column for malformed JSON or an empty body, 422 when the
 * value is not an object. The caller owns *out.
 */
int http_request_json(const struct http_request *req, json_t **out, struct http_response *error);

/*
 * Cursor pagination. A cursor is opaque to clients: base64url of the last
 * id seen and the direction, with a checksum so that a cursor changed by
 * hand is refused (400) instead of silently paging from somewhere else. It
 * is not a secret and not an authorization: handlers check access to what
 * they return as always.
 */
enum http_page_direction { HTTP_PAGE_NEXT, HTTP_PAGE_PREV };

struct http_page {
	size_t limit;
	char *after_id; /* NULL on the first page; the id to continue after */
	enum http_page_direction direction;
};

/* A new string (free) for the page after (or before) last_id. */
char *http_cursor_encode(const char *last_id, enum http_page_direction direction);
/* Decodes a cursor; *last_id is a new string. */
int http_cursor_decode(const char *cursor, char **last_id, enum http_page_direction *direction,
		       struct err *e);

/*
 * Reads ?limit= and ?cursor=: limit defaults to default_limit, is capped
 * at max_limit, and must be a whole number >= 1. On a bad limit or cursor
 * returns -1 with a 400 in *error.
 */
int http_page_from_request(const struct http_request *req, size_t default_limit, size_t max_limit,
			   struct http_page *page, struct http_response *error);
void http_page_free(struct http_page *page);
/*
 * The list envelope {"items": [...], "next_cursor": "…" | null}; takes the
 * reference to items. next_last_id is the id of the last item when there
 * are more (NULL when this is the last page).
 */
json_t *http_page_envelope(json_t *items, const char *next_last_id);

#endif
