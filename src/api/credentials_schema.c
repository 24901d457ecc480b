/*
 * credentials_schema: the provider catalog as the credentials module holds
 * it, and the validation of the fields a caller submits against it.
 *
 * It exists apart from storage and routes (credentials.c) because it is
 * the one place that decides what a credential may hold: the catalog is
 * the one `ampel generate cd` writes workflows from (cd_providers_describe),
 * its patterns are compiled once at registration, and every route that
 * accepts fields (create, replace, validate) checks them here, reporting
 * every problem at once and never quoting a value, since values may be
 * secrets. docs/deployment-credentials.md has the rules.
 */
#include "api/credentials_internal.h"

#include "api/credentials.h"
#include "api/secrets.h"
#include "gen/cd.h"
#include "http/response.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/str.h"
#include "util/xalloc.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Values come from API callers: bound the backtracking a pattern may do on them. */
#define CREDENTIAL_MATCH_LIMIT 100000

void credentials_module_free(void *ptr)
{
	struct credentials_module *m = ptr;
	if (!m)
		return;
	for (size_t i = 0; i < m->provider_count; i++) {
		for (size_t f = 0; f < m->providers[i].field_count; f++)
			pcre2_code_free(m->providers[i].fields[f].re);
		free(m->providers[i].fields);
	}
	free(m->providers);
	pcre2_match_context_free(m->match_context);
	json_decref(m->catalog);
	free(m);
}

/*
 * UTF mode because values are JSON strings; DOLLAR_ENDONLY because a
 * pattern's $ must not accept a value that ends in a newline.
 */
static int compile_pattern(const char *provider, const char *field, const char *pattern,
			   pcre2_code **out, struct err *e)
{
	int code;
	PCRE2_SIZE offset;
	*out = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
			     PCRE2_UTF | PCRE2_DOLLAR_ENDONLY, &code, &offset, NULL);
	if (*out)
		return 0;
	PCRE2_UCHAR message[256];
	pcre2_get_error_message(code, message, sizeof(message));
	return err_set(e, "deployment provider '%s' credential '%s': pattern at offset %zu: %s",
		       provider, field, (size_t)offset, (const char *)message);
}

int credentials_module_load(struct credentials_module *m, struct err *e)
{
	if (cd_providers_describe(&m->catalog, e) != 0)
		return err_prefix(e, "cannot load the deployment providers");
	m->match_context = pcre2_match_context_create(NULL);
	pcre2_set_match_limit(m->match_context, CREDENTIAL_MATCH_LIMIT);
	m->provider_count = json_array_size(m->catalog);
	m->providers = xcalloc(m->provider_count ? m->provider_count : 1, sizeof(*m->providers));
	for (size_t i = 0; i < m->provider_count; i++) {
		struct provider *p = &m->providers[i];
		p->spec = json_array_get(m->catalog, i);
		p->id = json_string_value(json_object_get(p->spec, "id"));
		const json_t *fields = json_object_get(p->spec, "credentials");
		p->field_count = json_array_size(fields);
		p->fields = xcalloc(p->field_count ? p->field_count : 1, sizeof(*p->fields));
		for (size_t f = 0; f < p->field_count; f++) {
			struct field_rule *rule = &p->fields[f];
			rule->spec = json_array_get(fields, f);
			rule->name = json_string_value(json_object_get(rule->spec, "name"));
			rule->type = json_string_value(json_object_get(rule->spec, "type"));
			rule->required = json_is_true(json_object_get(rule->spec, "required"));
			rule->secret = json_is_true(json_object_get(rule->spec, "secret"));
			const char *pattern =
				json_string_value(json_object_get(rule->spec, "pattern"));
			if (pattern &&
			    compile_pattern(p->id, rule->name, pattern, &rule->re, e) != 0)
				return -1;
		}
	}
	return 0;
}

const struct provider *credentials_provider_find(const struct credentials_module *m, const char *id)
{
	for (size_t i = 0; id && i < m->provider_count; i++)
		if (strcmp(m->providers[i].id, id) == 0)
			return &m->providers[i];
	return NULL;
}

static const struct field_rule *field_find(const struct provider *p, const char *name)
{
	for (size_t i = 0; i < p->field_count; i++)
		if (strcmp(p->fields[i].name, name) == 0)
			return &p->fields[i];
	return NULL;
}

/* Item i of a list "a, b, c", for messages. */
static void add_item(struct buf *out, size_t i, const char *item)
{
	buf_addf(out, "%s%s", i ? ", " : "", item);
}

/* "a, b, c": a JSON array of strings. */
static void join_strings(struct buf *out, const json_t *list)
{
	size_t i;
	const json_t *item;
	json_array_foreach(list, i, item)
	{
		add_item(out, i, json_string_value(item));
	}
}

/* "a, b, c": the ids of the providers (a new string). */
static char *provider_ids(const struct credentials_module *m)
{
	struct buf out = BUF_INIT;
	for (size_t i = 0; i < m->provider_count; i++)
		add_item(&out, i, m->providers[i].id);
	return buf_detach(&out);
}

bool credentials_id_valid(const char *id)
{
	size_t len = id ? strlen(id) : 0;
	if (len == 0 || len > 200)
		return false;
	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return str_utf8_invalid_at(id, len) == len;
}

int credentials_clip(const char *s, int max)
{
	int n = (int)strlen(s);
	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

struct http_response credentials_unknown_provider(const struct credentials_module *m, int status,
						  const char *provider)
{
	char *known = provider_ids(m);
	json_t *details = status == 400 ? json_pack("{s:s}", "field", "provider") : NULL;
	struct http_response res;
	if (!provider || !*provider)
		res = http_response_error_detail(status, NULL, details,
						 "provider is required: one of %s", known);
	else if (!credentials_id_valid(provider))
		res = http_response_error_detail(status, NULL, details,
						 "unknown provider: one of %s", known);
	else
		res = http_response_error_detail(status, NULL, details,
						 "unknown provider '%.*s': one of %s",
						 credentials_clip(provider, 64), provider, known);
	free(known);
	return res;
}

/* --- validation --- */

static void problem(json_t *problems, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void problem(json_t *problems, const char *field, const char *fmt, ...)
{
	struct buf message = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&message, fmt, ap);
	va_end(ap);
	json_array_append_new(
		problems, json_pack("{s:s, s:s}", "field", field, "message", buf_cstr(&message)));
	buf_free(&message);
}

static bool in_list(const json_t *list, const char *value)
{
	size_t i;
	const json_t *item;
	json_array_foreach(list, i, item)
	{
		if (strcmp(json_string_value(item), value) == 0)
			return true;
	}
	return false;
}

/*
 * "<field> must be one of <choices>": the regions of provider when it is
 * given, else a select's options.
 */
static void choice_problem(json_t *problems, const char *field, const json_t *choices,
			   const char *provider)
{
	struct buf known = BUF_INIT;
	join_strings(&known, choices);
	if (provider)
		problem(problems, field, "%s must be one of the regions of %s: %s", field, provider,
			buf_cstr(&known));
	else
		problem(problems, field, "%s must be one of %s", field, buf_cstr(&known));
	buf_free(&known);
}

/* Messages never quote a value: a secret one must not come back in an error. */
static void check_value(const struct credentials_module *m, const struct provider *p,
			const struct field_rule *rule, const json_t *value, json_t *problems)
{
	struct buf field = BUF_INIT;
	buf_addf(&field, "fields.%s", rule->name);
	const json_t *regions = json_object_get(p->spec, "regions");
	const json_t *options = json_object_get(rule->spec, "options");
	const char *label = json_string_value(json_object_get(rule->spec, "label"));
	const char *text = json_string_value(value);
	size_t len = json_string_length(value);
	if (!value || json_is_null(value)) {
		if (rule->required)
			problem(problems, field.data, "%s is required (%s)", field.data, label);
	} else if (!json_is_string(value)) {
		problem(problems, field.data, "%s must be a string", field.data);
	} else if (len == 0) {
		problem(problems, field.data, "%s must not be empty%s", field.data,
			rule->required ? " (it is required)" : ": leave it out instead");
	} else if (len > SECRETS_MAX_VALUE || strlen(text) != len) {
		problem(problems, field.data, "%s must be text of at most %d bytes without NUL",
			field.data, SECRETS_MAX_VALUE);
	} else if (rule->secret && strcmp(text, CREDENTIALS_MASK) == 0) {
		problem(problems, field.data,
			"%s is the mask listings show (\"%s\"): send the real value", field.data,
			CREDENTIALS_MASK);
	} else if (strcmp(rule->type, "region") == 0 && !in_list(regions, text)) {
		choice_problem(problems, field.data, regions, p->id);
	} else if (strcmp(rule->type, "select") == 0 && !in_list(options, text)) {
		choice_problem(problems, field.data, options, NULL);
	} else if (rule->re) {
		pcre2_match_data *match = pcre2_match_data_create_from_pattern(rule->re, NULL);
		int rc =
			pcre2_match(rule->re, (PCRE2_SPTR)text, len, 0, 0, match, m->match_context);
		pcre2_match_data_free(match);
		if (rc < 0)
			problem(problems, field.data, "%s does not match the pattern %s (%s)",
				field.data,
				json_string_value(json_object_get(rule->spec, "pattern")), label);
	}
	buf_free(&field);
}

json_t *credentials_validate(const struct credentials_module *m, const json_t *provider_value,
			     const json_t *fields, const struct provider **out)
{
	json_t *problems = json_array();
	*out = NULL;
	const char *id = json_string_value(provider_value);
	const struct provider *p = credentials_provider_find(m, id);
	if (!p) {
		char *known = provider_ids(m);
		if (!provider_value || json_is_null(provider_value))
			problem(problems, "provider", "provider is required: one of %s", known);
		else if (!json_is_string(provider_value))
			problem(problems, "provider", "provider must be a string: one of %s",
				known);
		else
			problem(problems, "provider", "unknown provider '%.*s': one of %s",
				credentials_clip(id, 64), id, known);
		free(known);
	}
	if (!json_is_object(fields)) {
		problem(problems, "fields",
			"fields must be an object of the provider's credential fields, name to "
			"value");
		return problems;
	}
	if (!p)
		return problems;
	const char *name;
	const json_t *value;
	json_object_foreach((json_t *)fields, name, value)
	{
		if (!field_find(p, name)) {
			struct buf field = BUF_INIT, known = BUF_INIT;
			buf_addf(&field, "fields.%.*s", credentials_clip(name, 128), name);
			for (size_t i = 0; i < p->field_count; i++)
				add_item(&known, i, p->fields[i].name);
			problem(problems, field.data, "%s is not a credential field of %s (%s)",
				field.data, p->id, buf_cstr(&known));
			buf_free(&field);
			buf_free(&known);
		}
	}
	for (size_t i = 0; i < p->field_count; i++)
		check_value(m, p, &p->fields[i], json_object_get(fields, p->fields[i].name),
			    problems);
	*out = p;
	return problems;
}

struct http_response credentials_problems_response(json_t *problems)
{
	const json_t *first = json_array_get(problems, 0);
	size_t more = json_array_size(problems) - 1;
	const char *message = json_string_value(json_object_get(first, "message"));
	json_t *details = json_pack("{s:O, s:o}", "field", json_object_get(first, "field"),
				    "problems", problems);
	return http_response_error_detail(422, NULL, details, "%s%s", message,
					  more ? " (and more: see error.problems)" : "");
}

void credentials_wipe_fields(json_t *fields)
{
	const char *name;
	json_t *value;
	json_object_foreach(fields, name, value)
	{
		if (json_is_string(value))
			sodium_memzero((char *)json_string_value(value), json_string_length(value));
	}
}
