#include "http/response.h"

#include "http/router.h"
#include "util/err.h"
#include "util/json.h"
#include "util/str.h"
#include "util/xalloc.h"

#include <sodium.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct http_status_name {
	int status;
	const char *code;
	const char *reason;
};

static const struct http_status_name http_status_names[] = {
	{ 200, "ok", "OK" },
	{ 201, "created", "Created" },
	{ 202, "accepted", "Accepted" },
	{ 204, "no_content", "No Content" },
	{ 304, "not_modified", "Not Modified" },
	{ 400, "bad_request", "Bad Request" },
	{ 401, "unauthorized", "Unauthorized" },
	{ 403, "forbidden", "Forbidden" },
	{ 404, "not_found", "Not Found" },
	{ 405, "method_not_allowed", "Method Not Allowed" },
	{ 408, "request_timeout", "Request Timeout" },
	{ 409, "conflict", "Conflict" },
	{ 410, "gone", "Gone" },
	{ 412, "precondition_failed", "Precondition Failed" },
	{ 413, "payload_too_large", "Payload Too Large" },
	{ 415, "unsupported_media_type", "Unsupported Media Type" },
	{ 422, "unprocessable", "Unprocessable Entity" },
	{ 429, "too_many_requests", "Too Many Requests" },
	{ 500, "internal", "Internal Server Error" },
	{ 501, "not_implemented", "Not Implemented" },
	{ 502, "bad_gateway", "Bad Gateway" },
	{ 503, "unavailable", "Service Unavailable" },
	{ 504, "gateway_timeout", "Gateway Timeout" },
};

static const struct http_status_name *http_status_find(int status)
{
	for (size_t i = 0; i < sizeof(http_status_names) / sizeof(http_status_names[0]); i++) {
		if (http_status_names[i].status == status)
			return &http_status_names[i];
	}
	return NULL;
}

const char *http_status_code(int status)
{
	const struct http_status_name *n = http_status_find(status);
	return n ? n->code : "error";
}

const char *http_status_reason(int status)
{
	const struct http_status_name *n = http_status_find(status);
	return n ? n->reason : "Unknown";
}

static struct http_response http_response_new(int status)
{
	struct http_response res = { .status = status };
	buf_init(&res.body);
	return res;
}

struct http_response http_response_json(int status, json_t *body)
{
	struct http_response res = http_response_new(status);
	if (body) {
		/* Serialising a value we built cannot fail short of OOM, which aborts. */
		json_write_buf(&res.body, body, JSON_WRITE_NEWLINE, NULL);
		json_decref(body);
	}
	res.content_type = xstrdup("application/json");
	return res;
}

struct http_response http_response_text(int status, const char *content_type, const char *text,
					size_t len)
{
	struct http_response res = http_response_new(status);
	if (text)
		buf_add(&res.body, text, len);
	res.content_type = xstrdup(content_type ? content_type : "text/plain; charset=utf-8");
	return res;
}

struct http_response http_response_empty(int status)
{
	return http_response_new(status);
}

static struct http_response http_response_verror(int status, const char *code, json_t *details,
						 const char *fmt, va_list ap)
{
	struct buf message = BUF_INIT;
	buf_vaddf(&message, fmt, ap);
	json_t *error = json_object();
	json_object_set_new(error, "code", json_string(code ? code : http_status_code(status)));
	/* Messages may quote client input; jansson needs valid UTF-8. */
	json_t *text = json_stringn(message.data, message.len);
	json_object_set_new(error, "message",
			    text ? text : json_string("(message not valid UTF-8)"));
	if (details) {
		const char *key;
		json_t *value;
		json_object_foreach(details, key, value)
		{
			if (strcmp(key, "code") != 0 && strcmp(key, "message") != 0)
				json_object_set(error, key, value);
		}
		json_decref(details);
	}
	buf_free(&message);
	json_t *body = json_object();
	json_object_set_new(body, "error", error);
	return http_response_json(status, body);
}

struct http_response http_response_error(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct http_response res = http_response_verror(status, NULL, NULL, fmt, ap);
	va_end(ap);
	return res;
}

struct http_response http_response_error_detail(int status, const char *code, json_t *details,
						const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct http_response res = http_response_verror(status, code, details, fmt, ap);
	va_end(ap);
	return res;
}

void http_response_set_header(struct http_response *res, const char *name, const char *value)
{
	for (size_t i = 0; i < res->headers.len; i++) {
		struct http_header *h = res->headers.items[i];
		if (str_eq_icase(h->name, name)) {
			free(h->value);
			h->value = xstrdup(value);
			return;
		}
	}
	struct http_header *h = xmalloc(sizeof(*h));
	h->name = xstrdup(name);
	h->value = xstrdup(value);
	vec_push(&res->headers, h);
}

const char *http_response_header(const struct http_response *res, const char *name)
{
	for (size_t i = 0; i < res->headers.len; i++) {
		const struct http_header *h = res->headers.items[i];
		if (str_eq_icase(h->name, name))
			return h->value;
	}
	return NULL;
}

static void http_header_free(void *item)
{
	struct http_header *h = item;
	free(h->name);
	free(h->value);
	free(h);
}

void http_response_free(struct http_response *res)
{
	if (!res)
		return;
	buf_free(&res->body);
	free(res->content_type);
	res->content_type = NULL;
	vec_free(&res->headers, http_header_free);
	res->headers = (struct vec)VEC_INIT;
}

/*
 * application/json, application/merge-patch+json, … with or without
 * parameters; also the form type, because that is what `curl -d` sends
 * unless told otherwise, and refusing the API's most common client helps
 * nobody.
 */
static bool http_content_type_is_json(const char *type)
{
	size_t len = strcspn(type, ";");
	while (len > 0 && (type[len - 1] == ' ' || type[len - 1] == '\t'))
		len--;
	return str_eq_icase_n(type, len, "application/json", 16) ||
	       str_eq_icase_n(type, len, "application/x-www-form-urlencoded", 33) ||
	       (len > 5 && str_eq_icase_n(type + len - 5, 5, "+json", 5));
}

int http_request_json(const struct http_request *req, json_t **out, struct http_response *error)
{
	*out = NULL;
	const char *type = http_request_header(req, "Content-Type");
	if (type && !http_content_type_is_json(type)) {
		*error = http_response_error(415, "request body must be application/json, not %s",
					     type);
		return -1;
	}
	if (req->body_len == 0) {
		*error = http_response_error(400, "request body is empty; send a JSON object");
		return -1;
	}
	json_error_t jerr;
	json_t *value = json_loadb(req->body, req->body_len,
				   JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (!value) {
		json_t *details = json_object();
		json_object_set_new(details, "line", json_integer(jerr.line > 0 ? jerr.line : 1));
		json_object_set_new(details, "column",
				    json_integer(jerr.column > 0 ? jerr.column : 1));
		*error = http_response_error_detail(
			400, NULL, details,
			"malformed JSON in request body at line %d, column %d: %s",
			jerr.line > 0 ? jerr.line : 1, jerr.column > 0 ? jerr.column : 1,
			jerr.text);
		return -1;
	}
	if (!json_is_object(value)) {
		json_decref(value);
		*error = http_response_error(422, "request body must be a JSON object");
		return -1;
	}
	*out = value;
	return 0;
}

/* base64url without padding (RFC 4648 §5): cursors travel in query strings. */
static const char b64url_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void b64url_encode(struct buf *out, const unsigned char *data, size_t len)
{
	size_t i = 0;
	for (; i + 3 <= len; i += 3) {
		uint32_t v = ((uint32_t)data[i] << 16) | ((uint32_t)data[i + 1] << 8) | data[i + 2];
		buf_addch(out, b64url_alphabet[(v >> 18) & 63]);
		buf_addch(out, b64url_alphabet[(v >> 12) & 63]);
		buf_addch(out, b64url_alphabet[(v >> 6) & 63]);
		buf_addch(out, b64url_alphabet[v & 63]);
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)data[i] << 16;
		buf_addch(out, b64url_alphabet[(v >> 18) & 63]);
		buf_addch(out, b64url_alphabet[(v >> 12) & 63]);
	} else if (len - i == 2) {
		uint32_t v = ((uint32_t)data[i] << 16) | ((uint32_t)data[i + 1] << 8);
		buf_addch(out, b64url_alphabet[(v >> 18) & 63]);
		buf_addch(out, b64url_alphabet[(v >> 12) & 63]);
		buf_addch(out, b64url_alphabet[(v >> 6) & 63]);
	}
}

static int b64url_value(char c)
{
	const char *p = c ? strchr(b64url_alphabet, c) : NULL;
	return p ? (int)(p - b64url_alphabet) : -1;
}

/* Strict: only the alphabet, no padding, no stray bits in the last symbol. */
static int b64url_decode(struct buf *out, const char *text)
{
	size_t len = strlen(text);
	if (len % 4 == 1)
		return -1;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		int v = b64url_value(text[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_addch(out, (char)((acc >> bits) & 0xff));
		}
	}
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return -1;
	return 0;
}

enum { CURSOR_CHECK_BYTES = 8, CURSOR_MAX_LENGTH = 1024 };

static void cursor_checksum(unsigned char out[CURSOR_CHECK_BYTES], const char *payload, size_t len)
{
	static const unsigned char key[] = "ampel-cursor-v1";
	crypto_generichash(out, CURSOR_CHECK_BYTES, (const unsigned char *)payload, len, key,
			   sizeof(key) - 1);
}

char *http_cursor_encode(const char *last_id, enum http_page_direction direction)
{
	json_t *payload = json_object();
	json_object_set_new(payload, "id", json_string(last_id ? last_id : ""));
	json_object_set_new(payload, "dir",
			    json_string(direction == HTTP_PAGE_PREV ? "prev" : "next"));
	struct buf raw = BUF_INIT;
	json_write_buf(&raw, payload, 0, NULL);
	json_decref(payload);
	unsigned char check[CURSOR_CHECK_BYTES];
	cursor_checksum(check, raw.data, raw.len);
	buf_add(&raw, check, sizeof(check));
	struct buf out = BUF_INIT;
	b64url_encode(&out, (const unsigned char *)raw.data, raw.len);
	buf_free(&raw);
	return buf_detach(&out);
}

int http_cursor_decode(const char *cursor, char **last_id, enum http_page_direction *direction,
		       struct err *e)
{
	*last_id = NULL;
	if (!cursor || !*cursor || strlen(cursor) > CURSOR_MAX_LENGTH)
		return err_set(e, "invalid cursor: pass the next_cursor of a previous page as is");
	struct buf raw = BUF_INIT;
	unsigned char check[CURSOR_CHECK_BYTES];
	if (b64url_decode(&raw, cursor) != 0 || raw.len <= CURSOR_CHECK_BYTES)
		goto invalid;
	size_t payload_len = raw.len - CURSOR_CHECK_BYTES;
	cursor_checksum(check, raw.data, payload_len);
	if (sodium_memcmp(check, raw.data + payload_len, CURSOR_CHECK_BYTES) != 0)
		goto invalid;
	json_error_t jerr;
	json_t *payload = json_loadb(raw.data, payload_len, 0, &jerr);
	const char *id = json_get_str(payload, "id", NULL);
	const char *dir = json_get_str(payload, "dir", NULL);
	if (!id || !*id || !dir || (strcmp(dir, "next") != 0 && strcmp(dir, "prev") != 0)) {
		json_decref(payload);
		goto invalid;
	}
	*last_id = xstrdup(id);
	*direction = strcmp(dir, "prev") == 0 ? HTTP_PAGE_PREV : HTTP_PAGE_NEXT;
	json_decref(payload);
	buf_free(&raw);
	return 0;
invalid:
	buf_free(&raw);
	return err_set(e, "invalid cursor: pass the next_cursor of a previous page as is");
}

int http_page_from_request(const struct http_request *req, size_t default_limit, size_t max_limit,
			   struct http_page *page, struct http_response *error)
{
	*page = (struct http_page){ .limit = default_limit, .direction = HTTP_PAGE_NEXT };
	const char *limit = http_request_query(req, "limit");
	if (limit) {
		/* Digits only: strtoul would take "+5", " 5" and "-1" (as a huge number). */
		size_t digits = strspn(limit, "0123456789");
		unsigned long long n = digits > 0 && digits <= 18 ? strtoull(limit, NULL, 10) : 0;
		if (limit[digits] != '\0' || n < 1) {
			*error = http_response_error(
				400, "limit must be a whole number from 1 to %zu, not '%s'",
				max_limit, limit);
			return -1;
		}
		page->limit = n > max_limit ? max_limit : (size_t)n;
	}
	const char *cursor = http_request_query(req, "cursor");
	if (cursor) {
		struct err e = ERR_INIT;
		if (http_cursor_decode(cursor, &page->after_id, &page->direction, &e) != 0) {
			*error = http_response_error(400, "%s", e.msg);
			return -1;
		}
	}
	return 0;
}

void http_page_free(struct http_page *page)
{
	if (!page)
		return;
	free(page->after_id);
	page->after_id = NULL;
}

json_t *http_page_envelope(json_t *items, const char *next_last_id)
{
	json_t *body = json_object();
	json_object_set_new(body, "items", items ? items : json_array());
	if (next_last_id) {
		char *cursor = http_cursor_encode(next_last_id, HTTP_PAGE_NEXT);
		json_object_set_new(body, "next_cursor", json_string(cursor));
		free(cursor);
	} else {
		json_object_set_new(body, "next_cursor", json_null());
	}
	return body;
}
