#include "util/json.h"

#include "util/buf.h"
#include "util/err.h"
#include "util/yaml.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Same cap as YAML: inputs people or APIs hand us are far smaller. */
#define JSON_MAX_FILE_SIZE (16u * 1024 * 1024)

int json_read_string(json_t **out, const char *name, const char *data, size_t len, struct err *e)
{
	json_error_t jerr;
	if (!name)
		name = "<input>";
	*out = json_loadb(data ? data : "", data ? len : 0,
			  JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (*out)
		return 0;
	if (jerr.line > 0)
		return err_set(e, "%s:%d:%d: %s", name, jerr.line,
			       jerr.column > 0 ? jerr.column : 1, jerr.text);
	return err_set(e, "%s: %s", name, jerr.text);
}

int json_read_file(json_t **out, const char *path, struct err *e)
{
	struct buf b = BUF_INIT;
	*out = NULL;
	if (buf_read_file(&b, path, JSON_MAX_FILE_SIZE, e)) {
		buf_free(&b);
		return -1;
	}
	int rc = json_read_string(out, path, buf_cstr(&b), b.len, e);
	buf_free(&b);
	return rc;
}

static int append_to_buf(const char *data, size_t size, void *context)
{
	buf_add(context, data, size);
	return 0;
}

/* Whether every real in value reads back exactly from 15 significant digits. */
static bool json_reals_fit_15_digits(const json_t *value)
{
	char text[64];
	size_t i;
	const char *key;
	json_t *item;
	switch (json_typeof(value)) {
	case JSON_REAL:
		snprintf(text, sizeof(text), "%.15g", json_real_value(value));
		return strtod(text, NULL) == json_real_value(value);
	case JSON_ARRAY:
		json_array_foreach((json_t *)value, i, item)
		{
			if (!json_reals_fit_15_digits(item))
				return false;
		}
		return true;
	case JSON_OBJECT:
		json_object_foreach((json_t *)value, key, item)
		{
			if (!json_reals_fit_15_digits(item))
				return false;
		}
		return true;
	default:
		return true;
	}
}

int json_write_buf(struct buf *out, const json_t *value, unsigned flags, struct err *e)
{
	size_t indent = flags & 0x1Fu;
	/*
	 * 15 significant digits print 0.98 as 0.98, not 0.97999999999999998;
	 * a value with a real that needs more gets 17, so nothing is lost.
	 */
	int precision = !value || json_reals_fit_15_digits(value) ? 15 : 17;
	size_t flags_out = JSON_ENCODE_ANY | JSON_INDENT(indent) | JSON_REAL_PRECISION(precision);
	if (!indent)
		flags_out |= JSON_COMPACT;
	if (flags & JSON_WRITE_SORT_KEYS)
		flags_out |= JSON_SORT_KEYS;
	if (flags & JSON_WRITE_ASCII)
		flags_out |= JSON_ENSURE_ASCII;
	size_t start = out->len;
	if (!value || json_dump_callback(value, append_to_buf, out, flags_out) != 0) {
		buf_truncate(out, start);
		return err_set(e, "cannot serialise JSON value");
	}
	if ((flags & JSON_WRITE_NEWLINE) && (out->len == 0 || out->data[out->len - 1] != '\n'))
		buf_addch(out, '\n');
	return 0;
}

int json_write_file(const json_t *value, const char *path, unsigned flags, struct err *e)
{
	struct buf b = BUF_INIT;
	int rc = json_write_buf(&b, value, flags, e);
	if (rc == 0)
		rc = buf_write_file(&b, path, e);
	else
		err_prefix(e, "%s", path);
	buf_free(&b);
	return rc;
}

const char *json_get_str(const json_t *obj, const char *key, const char *def)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	return json_is_string(v) ? json_string_value(v) : def;
}

long long json_get_int(const json_t *obj, const char *key, long long def)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	return json_is_integer(v) ? (long long)json_integer_value(v) : def;
}

bool json_get_bool(const json_t *obj, const char *key, bool def)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	return json_is_boolean(v) ? json_is_true(v) : def;
}

static bool scalar_equals(const struct yaml_node *n, const char *word)
{
	size_t len = strlen(word);
	return n->length == len && memcmp(n->value, word, len) == 0;
}

static bool span_digits(const char **p, const char *end, const char *digits)
{
	const char *start = *p;
	while (*p < end && **p && strchr(digits, **p))
		(*p)++;
	return *p > start;
}

/* [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+ (YAML 1.2 core schema). */
static bool looks_like_int(const struct yaml_node *n)
{
	const char *p = n->value, *end = n->value + n->length;
	if (n->length > 2 && p[0] == '0' && p[1] == 'o') {
		p += 2;
		return span_digits(&p, end, "01234567") && p == end;
	}
	if (n->length > 2 && p[0] == '0' && p[1] == 'x') {
		p += 2;
		return span_digits(&p, end, "0123456789abcdefABCDEF") && p == end;
	}
	if (p < end && (*p == '-' || *p == '+'))
		p++;
	return span_digits(&p, end, "0123456789") && p == end;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool looks_like_float(const struct yaml_node *n)
{
	static const char digits[] = "0123456789";
	const char *p = n->value, *end = n->value + n->length;
	if (p < end && (*p == '-' || *p == '+'))
		p++;
	if (p < end && *p == '.') {
		p++;
		if (!span_digits(&p, end, digits))
			return false;
	} else {
		if (!span_digits(&p, end, digits))
			return false;
		if (p < end && *p == '.') {
			p++;
			span_digits(&p, end, digits);
		}
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '-' || *p == '+'))
			p++;
		if (!span_digits(&p, end, digits))
			return false;
	}
	return p == end;
}

static json_t *string_from_scalar(const struct yaml_node *n)
{
	json_t *s = json_stringn(n->value, n->length);
	/* libyaml only produces valid UTF-8, but never hand back NULL. */
	return s ? s : json_string("");
}

static json_t *scalar_to_json(const struct yaml_node *n)
{
	if (n->quoted)
		return string_from_scalar(n);
	if (n->tag && (strcmp(n->tag, "tag:yaml.org,2002:str") == 0 || strcmp(n->tag, "!") == 0))
		return string_from_scalar(n);
	if (yaml_is_null(n))
		return json_null();
	if (scalar_equals(n, "true") || scalar_equals(n, "True") || scalar_equals(n, "TRUE"))
		return json_true();
	if (scalar_equals(n, "false") || scalar_equals(n, "False") || scalar_equals(n, "FALSE"))
		return json_false();
	if (looks_like_int(n)) {
		long long v;
		if (yaml_int(n, NULL, &v, NULL) == 0)
			return json_integer((json_int_t)v);
		/* Too big for an integer: decimal ones still make sense as numbers. */
		if (n->value[0] != '0' || n->length == 1 ||
		    (n->value[1] != 'x' && n->value[1] != 'o'))
			return json_real(strtod(n->value, NULL));
		return string_from_scalar(n);
	}
	if (looks_like_float(n)) {
		double d = strtod(n->value, NULL);
		if (isfinite(d))
			return json_real(d);
	}
	/* .inf and .nan have no JSON form; they stay text like everything else. */
	return string_from_scalar(n);
}

json_t *json_from_yaml(const struct yaml_node *node)
{
	if (!node)
		return json_null();
	switch (node->kind) {
	case YAML_SCALAR:
		return scalar_to_json(node);
	case YAML_SEQUENCE: {
		json_t *arr = json_array();
		for (size_t i = 0; i < node->count; i++)
			json_array_append_new(arr, json_from_yaml(node->items[i]));
		return arr;
	}
	case YAML_MAPPING: {
		json_t *obj = json_object();
		for (size_t i = 0; i < node->count; i++) {
			const struct yaml_node *key = node->pairs[i].key;
			json_t *value = json_from_yaml(node->pairs[i].value);
			if (key->kind == YAML_SCALAR) {
				json_object_setn_new(obj, key->value, key->length, value);
				continue;
			}
			json_t *kj = json_from_yaml(key);
			char *text = json_dumps(kj, JSON_ENCODE_ANY | JSON_COMPACT);
			json_object_set_new(obj, text ? text : "", value);
			free(text);
			json_decref(kj);
		}
		return obj;
	}
	}
	return json_null();
}
