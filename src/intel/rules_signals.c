/*
 * rules_signals: reads a detection rule's signals (file globs, dependency
 * names, content patterns, JSON fields, scripts) and files each glob in the
 * rule set's index under the name or extension a file must have to match
 * it, so the walk tries only the globs that can.
 */
#include "intel/rules_parser.h"

#include "util/err.h"
#include "util/glob.h"
#include "util/map.h"
#include "util/str.h"
#include "util/vec.h"
#include "util/xalloc.h"
#include "util/yaml.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const signal_type_names[] = { "file", "dependency", "content", "json",
						 "script" };

/* The keys a signal of each type may have besides its own and `weight`. */
static const char *const signal_extra_keys[SIGNAL_TYPES][3] = {
	[SIGNAL_FILE] = { NULL },
	[SIGNAL_DEPENDENCY] = { "dev", "ecosystem", NULL },
	[SIGNAL_CONTENT] = { "in", "describe", NULL },
	[SIGNAL_JSON] = { "in", "pattern", NULL },
	[SIGNAL_SCRIPT] = { "in", NULL },
};

static void index_add(struct map *m, const char *key, struct glob_ref *ref)
{
	struct vec *list = map_get(m, key);
	if (!list) {
		list = xcalloc(1, sizeof(*list));
		map_put(m, key, list);
	}
	vec_push(list, ref);
}

/*
 * Files each glob under the key a file must have to match it: its last
 * component when that is a plain name, else the extension after its last
 * wildcard ("*.yml", "test_*.py"). A walk then tries only the globs filed
 * under a file's name and extension, plus the few that no key narrows.
 */
static void index_glob(struct rule_set *set, struct rule_signal *s, const struct glob *g,
		       const char *text)
{
	struct glob_ref *ref = xcalloc(1, sizeof(*ref));
	ref->signal = s;
	ref->glob = g;
	vec_push(&set->refs, ref);
	struct glob_index *index =
		s->rule->repository ? &set->repository_index : &set->project_index;
	const char *slash = strrchr(text, '/');
	const char *last = slash ? slash + 1 : text;
	if (!glob_has_wildcards(last)) {
		index_add(index->by_name, last, ref);
		return;
	}
	const char *tail = last;
	for (const char *c = last; *c; c++)
		if (strchr("*?[]\\", *c))
			tail = c + 1;
	/* An empty head or tail says nothing: NULL skips the test per file. */
	size_t head_len = strcspn(last, "*?[\\");
	ref->head = head_len ? xstrndup(last, head_len) : NULL;
	ref->tail = *tail ? xstrdup(tail) : NULL;
	const char *dot = strrchr(tail, '.');
	if (dot)
		index_add(index->by_ext, dot, ref);
	else
		vec_push(&index->general, ref);
}

static int parse_dependency_signal(struct parser *ps, struct rule *r, struct rule_signal *s,
				   const struct yaml_node *node)
{
	const struct yaml_node *list = yaml_get(node, "dependency");
	size_t count = 0;
	if (parser_string_list(ps, r, list, "dependency", &count) < 0)
		return -1;
	for (size_t i = 0; i < count; i++) {
		const char *name = yaml_str(parser_list_item(list, i));
		struct glob *g = NULL;
		if (glob_has_wildcards(name) &&
		    parser_compile_glob(ps, r, parser_list_item(list, i), GLOB_CASEFOLD, &g) < 0)
			return -1;
		vec_push(&s->names, xstrdup(name));
		vec_push(&s->name_globs, g);
	}
	const struct yaml_node *dev = yaml_get(node, "dev");
	if (dev) {
		bool only;
		if (str_eq(yaml_str(dev), "any"))
			s->dev = DEV_ANY;
		else if (yaml_bool(dev, ps->file, &only, NULL) == 0)
			s->dev = only ? DEV_ONLY : DEV_NEVER;
		else
			return yaml_err(ps->e, ps->file, dev,
					"rule '%s': dev must be true, false or any", r->id);
	}
	const struct yaml_node *ecosystem = yaml_get(node, "ecosystem");
	if (ecosystem) {
		const char *text = NULL;
		if (parser_string(ps, r, ecosystem, "ecosystem", &text) < 0)
			return -1;
		if (!parser_known_ecosystem(text))
			return yaml_err(ps->e, ps->file, ecosystem,
					"rule '%s': unknown ecosystem '%s'", r->id, text);
		s->own_ecosystem = xstrdup(text);
	}
	s->ecosystem = s->own_ecosystem ? s->own_ecosystem : r->ecosystem;
	return 0;
}

static int parse_signal(struct parser *ps, struct rule *r, const struct yaml_node *node)
{
	if (node->kind != YAML_MAPPING)
		return yaml_err(ps->e, ps->file, node, "rule '%s': each signal must be a mapping",
				r->id);
	int type = -1;
	for (int t = 0; t < SIGNAL_TYPES; t++)
		if (yaml_get(node, signal_type_names[t])) {
			if (type >= 0)
				return yaml_err(ps->e, ps->file, node,
						"rule '%s': a signal has one of file, dependency, "
						"content, json, script (found %s and %s)",
						r->id, signal_type_names[type],
						signal_type_names[t]);
			type = t;
		}
	if (type < 0)
		return yaml_err(ps->e, ps->file, node,
				"rule '%s': signal needs one of file, dependency, content, json, "
				"script",
				r->id);
	for (size_t i = 0; i < node->count; i++) {
		const char *key = yaml_str(node->pairs[i].key);
		if (!key ||
		    (strcmp(key, signal_type_names[type]) != 0 && strcmp(key, "weight") != 0 &&
		     !PARSER_NAME_IN(key, signal_extra_keys[type])))
			return yaml_err(ps->e, ps->file, node->pairs[i].key,
					"rule '%s': unknown key '%s' in a %s signal", r->id,
					key ? key : "?", signal_type_names[type]);
	}
	if (r->repository && (type == SIGNAL_DEPENDENCY || type == SIGNAL_SCRIPT))
		return yaml_err(
			ps->e, ps->file, node,
			"rule '%s': a repository-scope rule sees files only, not %s signals", r->id,
			signal_type_names[type]);

	struct rule_signal *s = xcalloc(1, sizeof(*s));
	s->type = (enum signal_type)type;
	s->rule = r;
	s->index = ps->set->signal_count++;
	vec_push(&r->signals, s);

	const struct yaml_node *weight = yaml_get(node, "weight");
	const char *wtext = yaml_str(weight);
	char *end = NULL;
	s->weight = wtext ? strtod(wtext, &end) : NAN;
	if (!weight)
		return yaml_err(ps->e, ps->file, node, "rule '%s': signal needs a weight in (0,1]",
				r->id);
	if (!wtext || end == wtext || *end || !(s->weight > 0 && s->weight <= 1))
		return yaml_err(ps->e, ps->file, weight,
				"rule '%s': weight must be a number in (0,1], not '%s'", r->id,
				wtext ? wtext : yaml_kind_name(weight->kind));

	const struct yaml_node *value = yaml_get(node, signal_type_names[type]);
	const struct yaml_node *in = yaml_get(node, "in");
	const struct yaml_node *describe = yaml_get(node, "describe");
	const char *text = NULL;
	size_t count = 0;
	switch (s->type) {
	case SIGNAL_FILE:
		return parser_compile_globs(ps, r, value, "file", &s->globs);
	case SIGNAL_DEPENDENCY:
		return parse_dependency_signal(ps, r, s, node);
	case SIGNAL_CONTENT:
		if (!in)
			return yaml_err(
				ps->e, ps->file, node,
				"rule '%s': a content signal needs 'in' (the files to read)",
				r->id);
		if (describe) {
			if (parser_string(ps, r, describe, "describe", &text) < 0)
				return -1;
			s->describe = xstrdup(text);
		}
		if (parser_string(ps, r, value, "content", &text) < 0)
			return -1;
		s->pattern = xstrdup(text);
		if (parser_compile_globs(ps, r, in, "in", &s->globs) < 0)
			return -1;
		return parser_compile_pattern(ps, r, value, true, &s->re);
	case SIGNAL_JSON: {
		if (parser_string(ps, r, value, "json", &text) < 0)
			return -1;
		s->key_path = xstrdup(text);
		const struct yaml_node *pattern = yaml_get(node, "pattern");
		if (pattern) {
			if (parser_string(ps, r, pattern, "pattern", &text) < 0 ||
			    parser_compile_pattern(ps, r, pattern, false, &s->re) < 0)
				return -1;
			s->pattern = xstrdup(text);
		}
		if (in)
			return parser_compile_globs(ps, r, in, "in", &s->globs);
		vec_push(&s->globs, glob_compile("package.json", 0));
		return 0;
	}
	case SIGNAL_SCRIPT:
		if (parser_string(ps, r, value, "script", &text) < 0)
			return -1;
		s->pattern = xstrdup(text);
		if (parser_compile_pattern(ps, r, value, false, &s->re) < 0)
			return -1;
		if (in && parser_string_list(ps, r, in, "in", &count) < 0)
			return -1;
		for (size_t i = 0; in && i < count; i++)
			vec_push(&s->script_names,
				 glob_compile(yaml_str(parser_list_item(in, i)), 0));
		return 0;
	}
	return 0;
}

int parser_signals(struct parser *ps, struct rule *r, const struct yaml_node *signals)
{
	if (!signals || signals->kind != YAML_SEQUENCE || !signals->count)
		return yaml_err(ps->e, ps->file, signals ? signals : ps->rule_node,
				"rule '%s': needs a non-empty list of signals", r->id);
	for (size_t i = 0; i < signals->count; i++)
		if (parse_signal(ps, r, signals->items[i]) < 0)
			return -1;
	for (size_t i = 0; i < r->signals.len; i++) {
		struct rule_signal *s = r->signals.items[i];
		for (size_t j = 0; j < s->globs.len; j++) {
			const struct yaml_node *list =
				yaml_get(signals->items[i], s->type == SIGNAL_FILE ? "file" : "in");
			const struct yaml_node *item =
				list && list->kind == YAML_SEQUENCE ? list->items[j] : list;
			index_glob(ps->set, s, s->globs.items[j],
				   item ? yaml_str(item) : "package.json");
		}
	}
	return 0;
}
