#include "util/yaml_emit.h"

#include "util/buf.h"

#include <ctype.h>
#include <string.h>

/* Words YAML 1.1 or 1.2 reads as booleans or null, in any of their cases. */
static const char *const yaml_reserved_words[] = {
	"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", NULL,
};

static bool yaml_is_reserved_word(const char *text)
{
	for (const char *const *w = yaml_reserved_words; *w; w++)
		if (strcasecmp(text, *w) == 0)
			return true;
	return false;
}

/*
 * Numbers in either YAML version: ints and floats with signs, exponents,
 * underscores (1.1), 0x/0o/0b, leading-dot floats, .inf/.nan, and 1.1's
 * sexagesimal 1:20.
 */
static bool yaml_looks_numeric(const char *text)
{
	const char *p = text;
	if (*p == '+' || *p == '-')
		p++;
	if (*p == '.' && (strcasecmp(p, ".inf") == 0 || strcasecmp(p, ".nan") == 0))
		return true;
	if (!*p || !(isdigit((unsigned char)*p) || (*p == '.' && isdigit((unsigned char)p[1]))))
		return false;
	for (; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._:+-", *p))
			return false;
	return true;
}

bool yaml_plain_safe(const char *text)
{
	size_t len = strlen(text);
	if (!len || yaml_is_reserved_word(text) || yaml_looks_numeric(text))
		return false;
	if (strchr("-?:,[]{}#&*!|>'\"%@` \t", text[0]))
		/* "-x" and ":x" are plain in 1.2 but not everywhere; "- " never. */
		return false;
	if (text[len - 1] == ' ' || text[len - 1] == ':' || text[len - 1] == '\t')
		return false;
	for (const char *p = text; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c == 0x7f)
			return false;
		if ((c == ':' && (p[1] == ' ' || p[1] == '\t')) || (c == '#' && p[-1] == ' '))
			return false;
	}
	return true;
}

static void yaml_emit_double_quoted(struct buf *out, const char *text)
{
	buf_addch(out, '"');
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		switch (*p) {
		case '"':
			buf_adds(out, "\\\"");
			break;
		case '\\':
			buf_adds(out, "\\\\");
			break;
		case '\n':
			buf_adds(out, "\\n");
			break;
		case '\t':
			buf_adds(out, "\\t");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				buf_addf(out, "\\x%02x", *p);
			else
				buf_addch(out, (char)*p);
		}
	}
	buf_addch(out, '"');
}

void yaml_emit_scalar(struct buf *out, const char *text)
{
	if (yaml_plain_safe(text)) {
		buf_adds(out, text);
		return;
	}
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		if (*p < 0x20 || *p == 0x7f) {
			yaml_emit_double_quoted(out, text);
			return;
		}
	buf_addch(out, '\'');
	for (const char *p = text; *p; p++) {
		if (*p == '\'')
			buf_addch(out, '\'');
		buf_addch(out, *p);
	}
	buf_addch(out, '\'');
}

static void yaml_indent(struct buf *out, int indent)
{
	for (int i = 0; i < indent; i++)
		buf_addch(out, ' ');
}

/*
 * A multi-line string as a literal block: "|" keeps one final newline,
 * "|-" strips it, "|+" keeps several. A first line starting with a space
 * would need an indentation indicator; such text is double-quoted instead.
 */
static bool yaml_emit_block(struct buf *out, const char *text, int indent)
{
	size_t len = strlen(text);
	if (!strchr(text, '\n') || text[0] == ' ' || text[0] == '\n')
		return false;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		if ((*p < 0x20 && *p != '\n') || *p == 0x7f)
			return false;
	size_t trailing = 0;
	while (trailing < len && text[len - 1 - trailing] == '\n')
		trailing++;
	buf_adds(out, trailing == 0 ? "|-" : trailing == 1 ? "|" : "|+");
	const char *line = text;
	const char *end = text + len - (trailing ? 1 : 0);
	while (line <= end && *line) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);
		buf_addch(out, '\n');
		if (n)
			yaml_indent(out, indent);
		buf_add(out, line, n);
		if (!nl)
			break;
		line = nl + 1;
	}
	return true;
}

static void yaml_emit_key(struct buf *out, const char *key)
{
	/* Identifier keys stay plain, "on:" included, as people write them. */
	bool identifier = *key != '\0';
	for (const char *p = key; *p && identifier; p++)
		identifier = isalnum((unsigned char)*p) || strchr("_-./", *p);
	if (identifier && !yaml_looks_numeric(key) && key[0] != '-' && key[0] != '.')
		buf_adds(out, key);
	else
		yaml_emit_scalar(out, key);
	buf_addch(out, ':');
}

static bool yaml_is_collection(const json_t *value)
{
	return (json_is_object(value) && json_object_size(value)) ||
	       (json_is_array(value) && json_array_size(value));
}

static void yaml_emit_node(struct buf *out, const json_t *value, int indent,
			   const struct yaml_emit_options *options, bool spaced);

/* A value after "key:" or "- ": inline for scalars, on new lines otherwise. */
static void yaml_emit_inline_scalar(struct buf *out, const json_t *value, int indent)
{
	char number[64];
	if (!value) {
		buf_adds(out, "null");
		return;
	}
	switch (json_typeof(value)) {
	case JSON_STRING:
		if (!yaml_emit_block(out, json_string_value(value), indent))
			yaml_emit_scalar(out, json_string_value(value));
		break;
	case JSON_INTEGER:
		buf_addf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
		break;
	case JSON_REAL:
		snprintf(number, sizeof(number), "%.15g", json_real_value(value));
		buf_adds(out, number);
		if (!strpbrk(number, ".eEn"))
			buf_adds(out, ".0");
		break;
	case JSON_TRUE:
		buf_adds(out, "true");
		break;
	case JSON_FALSE:
		buf_adds(out, "false");
		break;
	case JSON_NULL:
		buf_adds(out, "null");
		break;
	case JSON_OBJECT:
		buf_adds(out, "{}");
		break;
	case JSON_ARRAY:
		buf_adds(out, "[]");
		break;
	}
}

static bool yaml_key_is_spaced(const char *key, const struct yaml_emit_options *options)
{
	if (!options || !(options->flags & YAML_EMIT_SPACED) || !options->spaced_keys)
		return false;
	for (const char *const *k = options->spaced_keys; *k; k++)
		if (strcmp(*k, key) == 0)
			return true;
	return false;
}

static void yaml_emit_mapping(struct buf *out, const json_t *map, int indent,
			      const struct yaml_emit_options *options, bool spaced,
			      bool first_inline)
{
	const char *key;
	json_t *value;
	bool first = true;
	json_object_foreach((json_t *)map, key, value)
	{
		if (!first) {
			if (spaced)
				buf_addch(out, '\n');
			yaml_indent(out, indent);
		} else if (!first_inline) {
			yaml_indent(out, indent);
		}
		first = false;
		yaml_emit_key(out, key);
		if (yaml_is_collection(value)) {
			buf_addch(out, '\n');
			/* Sequences under a key are indented, as GitHub's docs write them. */
			yaml_emit_node(out, value, indent + 2, options,
				       yaml_key_is_spaced(key, options));
		} else {
			buf_addch(out, ' ');
			yaml_emit_inline_scalar(out, value, indent + 2);
			buf_addch(out, '\n');
		}
	}
}

static void yaml_emit_sequence(struct buf *out, const json_t *list, int indent,
			       const struct yaml_emit_options *options, bool spaced,
			       bool first_inline)
{
	size_t i;
	json_t *item;
	json_array_foreach(list, i, item)
	{
		if (i && spaced)
			buf_addch(out, '\n');
		if (i || !first_inline)
			yaml_indent(out, indent);
		buf_adds(out, "- ");
		if (json_is_object(item) && json_object_size(item)) {
			yaml_emit_mapping(out, item, indent + 2, options, false, true);
		} else if (json_is_array(item) && json_array_size(item)) {
			yaml_emit_sequence(out, item, indent + 2, options, false, true);
		} else {
			yaml_emit_inline_scalar(out, item, indent + 2);
			buf_addch(out, '\n');
		}
	}
}

static void yaml_emit_node(struct buf *out, const json_t *value, int indent,
			   const struct yaml_emit_options *options, bool spaced)
{
	if (json_is_object(value) && json_object_size(value))
		yaml_emit_mapping(out, value, indent, options, spaced, false);
	else if (json_is_array(value) && json_array_size(value))
		yaml_emit_sequence(out, value, indent, options, spaced, false);
	else {
		yaml_indent(out, indent);
		yaml_emit_inline_scalar(out, value, indent);
		buf_addch(out, '\n');
	}
}

void yaml_emit(struct buf *out, const json_t *value, const struct yaml_emit_options *options)
{
	bool top_spaced = options && (options->flags & YAML_EMIT_SPACED);
	yaml_emit_node(out, value, 0, options, top_spaced);
}
