/*
 * check_rules: loads and validates config/workflow-security.yaml into the
 * compiled rules the walker in check.c runs; what each rule may say is here.
 */
#include "gen/check.h"
#include "gen/check_internal.h"

#include "util/buf.h"
#include "util/embed.h"
#include "util/err.h"
#include "util/str.h"
#include "util/vec.h"
#include "util/xalloc.h"
#include "util/yaml.h"

#include <stdlib.h>
#include <string.h>

/* Patterns run on files from anywhere: bound their backtracking. */
#define CHECK_MATCH_LIMIT 200000u

enum check_field_kind { FIELD_NONE, FIELD_PATTERNS, FIELD_WORDS };

struct check_field_spec {
	const char *name;
	enum check_field_kind kind;
	bool required;
};

struct check_spec {
	const char *id;
	const char *placeholders; /* space-separated */
	struct check_field_spec fields[CHECK_MAX_FIELDS];
};

static const struct check_spec check_specs[CHECK_COUNT] = {
	[CHECK_SCRIPT_INJECTION] = { "script-injection",
				     "expr key",
				     { { "untrusted", FIELD_PATTERNS, true } } },
	[CHECK_PR_TARGET_CHECKOUT] = { "pr-target-checkout",
				       "trigger value",
				       { { "triggers", FIELD_WORDS, true },
					 { "ref_patterns", FIELD_PATTERNS, true },
					 { "run_patterns", FIELD_PATTERNS, false } } },
	[CHECK_SECRETS_ECHOED] = { "secrets-echoed",
				   "what",
				   { { "patterns", FIELD_PATTERNS, true },
				     { "print_patterns", FIELD_PATTERNS, false },
				     { "dump_patterns", FIELD_PATTERNS, false },
				     { "gitlab_patterns", FIELD_PATTERNS, false } } },
	[CHECK_PERMISSIONS_WRITE_ALL] = { .id = "permissions-write-all", .placeholders = "scope" },
	[CHECK_PERMISSIONS_MISSING] = { .id = "permissions-missing", .placeholders = "" },
	[CHECK_UNPINNED_ACTION] = { "unpinned-action",
				    "action ref",
				    { { "branches", FIELD_WORDS, true } } },
	[CHECK_ACTION_TAG_NOT_SHA] = { "action-tag-not-sha",
				       "action ref",
				       { { "trusted_owners", FIELD_WORDS, true } } },
	[CHECK_IMAGE_UNPINNED] = { "image-unpinned",
				   "image",
				   { { "mutable_tags", FIELD_WORDS, true } } },
	[CHECK_SELF_HOSTED_RUNNER] = { "self-hosted-runner",
				       "job trigger",
				       { { "triggers", FIELD_WORDS, true } } },
};

const char *check_rule_id(enum check_id id)
{
	return check_specs[id].id;
}

static void check_pattern_free(void *re)
{
	pcre2_code_free(re);
}

void check_rules_free(struct check_rules *rules)
{
	if (!rules)
		return;
	for (int id = 0; id < CHECK_COUNT; id++) {
		struct check_rule *r = &rules->rules[id];
		free(r->message);
		free(r->fix);
		for (int f = 0; f < CHECK_MAX_FIELDS; f++)
			vec_free(&r->lists[f], check_specs[id].fields[f].kind == FIELD_PATTERNS
						       ? check_pattern_free
						       : free);
	}
	pcre2_match_context_free(rules->match_context);
	free(rules);
}

/* ---- loading ---- */

const char *check_key(const struct yaml_node *key)
{
	const char *text = yaml_str(key);
	return text ? text : "";
}

static bool check_placeholder_known(const char *list, const char *name, size_t len)
{
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, " ");
		if (n == len && strncmp(p, name, len) == 0)
			return true;
		p += n;
		p += strspn(p, " ");
	}
	return false;
}

/* `{name}` is a placeholder; any other brace ("${{", "{contents: read}") is text. */
static int check_placeholders(const char *file, const struct yaml_node *node, const char *id,
			      const char *allowed, struct err *e)
{
	for (const char *p = strchr(node->value, '{'); p; p = strchr(p + 1, '{')) {
		size_t n = strspn(p + 1, "abcdefghijklmnopqrstuvwxyz_");
		if (n == 0 || p[1 + n] != '}')
			continue;
		if (!check_placeholder_known(allowed, p + 1, n))
			return yaml_err(e, file, node,
					"rule '%s': unknown placeholder {%.*s} (this rule has: %s)",
					id, (int)n, p + 1, *allowed ? allowed : "none");
	}
	return 0;
}

static int check_parse_list(const struct check_field_spec *spec, struct vec *out, const char *file,
			    const struct yaml_node *node, const char *id, struct err *e)
{
	if (node->kind != YAML_SEQUENCE || node->count == 0)
		return yaml_err(e, file, node, "rule '%s': %s must be a non-empty list", id,
				spec->name);
	for (size_t i = 0; i < node->count; i++) {
		const struct yaml_node *item = node->items[i];
		const char *text = yaml_str(item);
		if (!text || !*text)
			return yaml_err(e, file, item, "rule '%s': %s: each entry must be text", id,
					spec->name);
		if (spec->kind == FIELD_WORDS) {
			vec_push(out, xstrdup(text));
			continue;
		}
		int code;
		PCRE2_SIZE offset;
		pcre2_code *re =
			pcre2_compile((PCRE2_SPTR)text, item->length, 0, &code, &offset, NULL);
		if (!re) {
			PCRE2_UCHAR message[256];
			pcre2_get_error_message(code, message, sizeof(message));
			return yaml_err(e, file, item,
					"rule '%s': %s: bad pattern at offset %zu: %s", id,
					spec->name, (size_t)offset, (const char *)message);
		}
		/* JIT is an optimisation: where it is unavailable the interpreter runs. */
		(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
		vec_push(out, re);
	}
	return 0;
}

static int check_parse_text(char **out, const char *file, const struct yaml_node *node,
			    const char *id, const char *field, struct err *e)
{
	if (node->kind != YAML_SCALAR || yaml_is_null(node) || str_blank(node->value))
		return yaml_err(e, file, node, "rule '%s': %s must be text", id, field);
	*out = xstrdup(node->value);
	return 0;
}

static int check_parse_rule(struct check_rules *rules, const char *file,
			    const struct yaml_node *node, struct err *e)
{
	if (node->kind != YAML_MAPPING)
		return yaml_err(e, file, node, "each rule must be a mapping");
	const struct yaml_node *id_node = yaml_get(node, "id");
	const char *id = yaml_str(id_node);
	if (!id || !*id)
		return yaml_err(e, file, node, "rule without an 'id'");
	int which = -1;
	for (int i = 0; i < CHECK_COUNT; i++)
		if (strcmp(check_specs[i].id, id) == 0)
			which = i;
	if (which < 0) {
		struct buf known = BUF_INIT;
		for (int i = 0; i < CHECK_COUNT; i++)
			buf_addf(&known, "%s%s", i ? ", " : "", check_specs[i].id);
		yaml_err(e, file, id_node, "unknown rule '%s' (known: %s)", id, known.data);
		buf_free(&known);
		return -1;
	}
	const struct check_spec *spec = &check_specs[which];
	struct check_rule *r = &rules->rules[which];
	if (r->present)
		return yaml_err(e, file, id_node, "rule '%s' is defined twice", id);
	r->present = true;
	bool seen[CHECK_MAX_FIELDS] = { false };
	bool has_severity = false;
	for (size_t i = 0; i < node->count; i++) {
		const char *key = check_key(node->pairs[i].key);
		const struct yaml_node *value = node->pairs[i].value;
		if (strcmp(key, "id") == 0)
			continue;
		if (strcmp(key, "severity") == 0) {
			const char *s = yaml_str(value);
			has_severity = true;
			if (str_eq(s, "error"))
				r->severity = SEVERITY_ERROR;
			else if (str_eq(s, "warning"))
				r->severity = SEVERITY_WARNING;
			else if (str_eq(s, "off"))
				r->severity = SEVERITY_OFF;
			else
				return yaml_err(e, file, value,
						"rule '%s': severity must be error, warning or off",
						id);
			continue;
		}
		if (strcmp(key, "message") == 0 || strcmp(key, "fix") == 0) {
			char **slot = key[0] == 'm' ? &r->message : &r->fix;
			if (check_parse_text(slot, file, value, id, key, e) < 0 ||
			    check_placeholders(file, value, id, spec->placeholders, e) < 0)
				return -1;
			continue;
		}
		int f = -1;
		for (int k = 0; k < CHECK_MAX_FIELDS && spec->fields[k].name; k++)
			if (strcmp(spec->fields[k].name, key) == 0)
				f = k;
		if (f < 0)
			return yaml_err(e, file, node->pairs[i].key,
					"rule '%s': unknown field '%s'", id, key);
		seen[f] = true;
		if (check_parse_list(&spec->fields[f], &r->lists[f], file, value, id, e) < 0)
			return -1;
	}
	if (!has_severity)
		return yaml_err(e, file, node, "rule '%s': missing 'severity'", id);
	if (!r->message || !r->fix)
		return yaml_err(e, file, node, "rule '%s': missing '%s'", id,
				r->message ? "fix" : "message");
	for (int k = 0; k < CHECK_MAX_FIELDS && spec->fields[k].name; k++)
		if (spec->fields[k].required && !seen[k])
			return yaml_err(e, file, node, "rule '%s': missing '%s'", id,
					spec->fields[k].name);
	return 0;
}

int check_rules_parse(struct check_rules **out, const char *file, const char *data, size_t len,
		      struct err *e)
{
	struct yaml_doc *doc = NULL;
	if (yaml_parse(&doc, file, data, len, e) < 0)
		return -1;
	struct check_rules *rules = xcalloc(1, sizeof(*rules));
	rules->match_context = pcre2_match_context_create(NULL);
	pcre2_set_match_limit(rules->match_context, CHECK_MATCH_LIMIT);
	int rc = -1;
	const struct yaml_node *root = doc->root;
	const struct yaml_node *list = root ? yaml_get(root, "rules") : NULL;
	if (!list || list->kind != YAML_SEQUENCE) {
		if (root)
			yaml_err(e, file, root, "expected a 'rules' list");
		else
			err_set(e, "%s: empty file, expected a 'rules' list", file);
		goto out;
	}
	for (size_t i = 0; i < root->count; i++)
		if (strcmp(check_key(root->pairs[i].key), "rules") != 0) {
			yaml_err(e, file, root->pairs[i].key, "unknown key '%s' (expected 'rules')",
				 check_key(root->pairs[i].key));
			goto out;
		}
	for (size_t i = 0; i < list->count; i++)
		if (check_parse_rule(rules, file, list->items[i], e) < 0)
			goto out;
	rc = 0;
out:
	yaml_doc_free(doc);
	if (rc < 0) {
		check_rules_free(rules);
		return -1;
	}
	*out = rules;
	return 0;
}

int check_rules_load(struct check_rules **out, struct err *e)
{
	struct buf data = BUF_INIT;
	char *origin = NULL;
	int rc = embed_read_config("workflow-security.yaml", &data, &origin, e);
	if (rc == 0)
		rc = check_rules_parse(out, origin, buf_cstr(&data), data.len, e);
	free(origin);
	buf_free(&data);
	return rc;
}
