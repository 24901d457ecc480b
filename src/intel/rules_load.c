#include "intel/rules.h"
#include "intel/rules_internal.h"
#include "intel/rules_parser.h"

#include "util/buf.h"
#include "util/embed.h"
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

/* ------------------------------------------------------------------ */
/* Freeing                                                              */

static void glob_free_item(void *item)
{
	glob_free(item);
}

static void signal_free(void *item)
{
	struct rule_signal *s = item;
	vec_free(&s->globs, glob_free_item);
	vec_free(&s->names, free);
	vec_free(&s->name_globs, glob_free_item);
	vec_free(&s->script_names, glob_free_item);
	free(s->own_ecosystem);
	free(s->pattern);
	pcre2_code_free(s->re);
	free(s->key_path);
	free(s->describe);
	free(s);
}

static void rule_free(void *item)
{
	struct rule *r = item;
	free(r->id);
	free(r->name);
	free(r->ecosystem);
	free(r->language);
	vec_free(&r->signals, signal_free);
	vec_free(&r->implies, NULL);
	vec_free(&r->excludes, NULL);
	vec_free(&r->overrides, NULL);
	for (int k = 0; k < COMMAND_KINDS; k++) {
		for (size_t i = 0; i < r->command_counts[k]; i++) {
			free(r->commands[k][i].run);
			free(r->commands[k][i].when_file);
			glob_free(r->commands[k][i].when_glob);
			free(r->commands[k][i].when_dependency);
			free(r->commands[k][i].when_target);
			free(r->commands[k][i].when_content);
			pcre2_code_free(r->commands[k][i].when_re);
			vec_free(&r->commands[k][i].when_in, glob_free_item);
		}
		free(r->commands[k]);
	}
	map_free(r->vars, free);
	vec_free(&r->targets_in, free);
	free(r);
}

static void glob_ref_free(void *item)
{
	struct glob_ref *ref = item;
	free(ref->head);
	free(ref->tail);
	free(ref);
}

static void vec_item_free(void *item)
{
	struct vec *v = item;
	vec_free(v, NULL);
	free(v);
}

static void glob_index_free(struct glob_index *index)
{
	map_free(index->by_name, vec_item_free);
	map_free(index->by_ext, vec_item_free);
	vec_free(&index->general, NULL);
}

static void image_program_free(void *item)
{
	struct image_program *ip = item;
	free(ip->image);
	free(ip->program);
	vec_free(&ip->first, free);
	free(ip);
}

void rules_free(struct rule_set *rules)
{
	if (!rules)
		return;
	vec_free(&rules->rules, rule_free);
	map_free(rules->by_id, NULL);
	vec_free(&rules->order, NULL);
	glob_index_free(&rules->project_index);
	glob_index_free(&rules->repository_index);
	vec_free(&rules->refs, glob_ref_free);
	pcre2_match_context_free(rules->match_context);
	for (int k = 0; k < COMMAND_KINDS; k++)
		vec_free(&rules->script_fallbacks[k], free);
	vec_free(&rules->image_programs, image_program_free);
	free(rules);
}

/* ------------------------------------------------------------------ */
/* Loading and validation                                               */

static const char *const known_ecosystems[] = {
	"npm",	 "pypi",  "cargo", "go",   "maven", "rubygems", "packagist", "hex",
	"nuget", "swift", "pub",   "deno", "zig",   "hackage",	"clojars",   "shards",
};

bool parser_name_in(const char *name, const char *const *list, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (list[i] && strcmp(name, list[i]) == 0)
			return true;
	return false;
}

bool parser_known_ecosystem(const char *name)
{
	return PARSER_NAME_IN(name, known_ecosystems);
}

/*
 * The placeholders a template may name. Those of entry points
 * (src/intel/entry_points.h) have a value only where the tree has one:
 * an alternative naming them is conditional on it.
 */
static const struct {
	const char *name;
	bool entry_point;
} known_placeholders[] = {
	{ "run", false },	   { "exec", false },
	{ "port", false },	   { "name", false },
	{ "js", false },	   { "module", true },
	{ "app", true },	   { "main", true },
	{ "go_command", true },	   { "dotnet_project", true },
	{ "py_launcher", true },   { "py_command", true },
	{ "swift_product", true }, { "py_main", true },
	{ "py_module", true },	   { "cargo_run", true },
	{ "go_package", true },
};
#define PLACEHOLDER_COUNT (sizeof(known_placeholders) / sizeof(*known_placeholders))

/* The index of the placeholder named by name's first n bytes, or -1. */
static int placeholder_index(const char *name, size_t n)
{
	for (size_t i = 0; i < PLACEHOLDER_COUNT; i++)
		if (strlen(known_placeholders[i].name) == n &&
		    strncmp(known_placeholders[i].name, name, n) == 0)
			return (int)i;
	return -1;
}

static const char *const rule_keys[] = { "id",	      "name",	   "kind",    "ecosystem",
					 "language",  "scope",	   "signals", "implies",
					 "excludes",  "overrides", "port",    "commands",
					 "vars",      "also",	   "inherit", "report",
					 "front_end", "targets_in" };

static int parse_kind(const char *text, enum finding_kind *out)
{
	for (int k = FINDING_FRAMEWORK; k <= FINDING_CONTAINER; k++)
		if (strcmp(text, finding_kind_name((enum finding_kind)k)) == 0) {
			*out = (enum finding_kind)k;
			return 0;
		}
	return -1;
}

static bool valid_id(const char *id)
{
	if (!*id || !((*id >= 'a' && *id <= 'z') || (*id >= '0' && *id <= '9')))
		return false;
	for (const char *c = id; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || strchr("._+-", *c)))
			return false;
	return true;
}

/* A non-empty string scalar, or an error naming the field. */
int parser_string(struct parser *ps, const struct rule *r, const struct yaml_node *node,
		  const char *field, const char **out)
{
	const char *text = yaml_str(node);
	if (!text || !*text || yaml_is_null(node))
		return yaml_err(ps->e, ps->file, node ? node : ps->rule_node,
				"rule '%s': %s must be a non-empty string", r->id, field);
	*out = text;
	return 0;
}

/* The i-th string of a field that holds one string or a list of them. */
const struct yaml_node *parser_list_item(const struct yaml_node *node, size_t i)
{
	return node->kind == YAML_SEQUENCE ? node->items[i] : node;
}

/* Checks a field holds a string or a non-empty list of strings; *count gets their number. */
int parser_string_list(struct parser *ps, const struct rule *r, const struct yaml_node *node,
		       const char *field, size_t *count)
{
	if (!node || (node->kind != YAML_SCALAR && (node->kind != YAML_SEQUENCE || !node->count)))
		return yaml_err(ps->e, ps->file, node ? node : ps->rule_node,
				"rule '%s': %s must be a string or a non-empty list of strings",
				r->id, field);
	*count = node->kind == YAML_SEQUENCE ? node->count : 1;
	for (size_t i = 0; i < *count; i++) {
		const char *text = NULL;
		if (parser_string(ps, r, parser_list_item(node, i), field, &text) < 0)
			return -1;
	}
	return 0;
}

/* Patterns are Perl syntax; content patterns see lines (^ and $ at each line). */
int parser_compile_pattern(struct parser *ps, const struct rule *r, const struct yaml_node *node,
			   bool multiline, pcre2_code **out)
{
	int code;
	PCRE2_SIZE offset;
	const char *text = yaml_str(node);
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)text, PCRE2_ZERO_TERMINATED,
				       multiline ? PCRE2_MULTILINE : 0, &code, &offset, NULL);
	if (!re) {
		PCRE2_UCHAR message[256];
		pcre2_get_error_message(code, message, sizeof(message));
		return yaml_err(ps->e, ps->file, node,
				"rule '%s': bad pattern '%s' at offset %zu: %s", r->id, text,
				(size_t)offset, (const char *)message);
	}
	/* JIT is an optimisation: where it is unavailable the interpreter runs. */
	pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	*out = re;
	return 0;
}

int parser_compile_glob(struct parser *ps, const struct rule *r, const struct yaml_node *node,
			unsigned flags, struct glob **out)
{
	const char *text = yaml_str(node);
	if (strchr(text, '{') && strchr(text, '}'))
		return yaml_err(ps->e, ps->file, node,
				"rule '%s': glob '%s' uses braces, which globs do not expand: "
				"list each alternative",
				r->id, text);
	if (text[0] == '/' || str_starts_with(text, "./"))
		return yaml_err(
			ps->e, ps->file, node,
			"rule '%s': glob '%s' must be relative, without a leading '/' or './'",
			r->id, text);
	struct glob *g = glob_compile(text, flags);
	if (!glob_is_valid(g)) {
		glob_free(g);
		return yaml_err(ps->e, ps->file, node, "rule '%s': invalid glob '%s'", r->id, text);
	}
	*out = g;
	return 0;
}

int parser_compile_globs(struct parser *ps, const struct rule *r, const struct yaml_node *node,
			 const char *field, struct vec *out)
{
	size_t count = 0;
	if (parser_string_list(ps, r, node, field, &count) < 0)
		return -1;
	for (size_t i = 0; i < count; i++) {
		struct glob *g = NULL;
		if (parser_compile_glob(ps, r, parser_list_item(node, i), 0, &g) < 0)
			return -1;
		vec_push(out, g);
	}
	return 0;
}

/*
 * "{name}" placeholders must be known; "${...}" is the shell's and stays.
 * Sets *entry_point when text names an entry point's.
 */
static int check_placeholders(struct parser *ps, const struct rule *r, const struct yaml_node *node,
			      const char *text, bool *entry_point)
{
	for (const char *c = text; (c = strchr(c, '{')); c++) {
		if (c > text && c[-1] == '$')
			continue;
		size_t n = strspn(c + 1, "abcdefghijklmnopqrstuvwxyz_");
		if (!n || c[1 + n] != '}')
			continue;
		int known = placeholder_index(c + 1, n);
		if (known >= 0) {
			*entry_point |= known_placeholders[known].entry_point;
			continue;
		}
		struct buf names = BUF_INIT;
		for (size_t i = 0; i < PLACEHOLDER_COUNT; i++)
			buf_addf(&names, "%s%s", i ? ", " : "", known_placeholders[i].name);
		yaml_err(ps->e, ps->file, node,
			 "rule '%s': unknown placeholder '{%.*s}' (known: %s)", r->id, (int)n,
			 c + 1, names.data);
		buf_free(&names);
		return -1;
	}
	return 0;
}

static int parse_alternative(struct parser *ps, struct rule *r, const struct yaml_node *node,
			     struct command_alternative *alt)
{
	const struct yaml_node *run = node;
	if (node->kind == YAML_MAPPING) {
		for (size_t i = 0; i < node->count; i++) {
			const char *key = yaml_str(node->pairs[i].key);
			if (!str_eq(key, "run") && !str_eq(key, "when_file") &&
			    !str_eq(key, "when_dependency") && !str_eq(key, "when_target") &&
			    !str_eq(key, "when_content") && !str_eq(key, "in"))
				return yaml_err(ps->e, ps->file, node->pairs[i].key,
						"rule '%s': unknown key '%s' in a command "
						"(run, when_file, when_dependency, when_target, "
						"when_content with in)",
						r->id, key ? key : "?");
		}
		run = yaml_get(node, "run");
		if (!run)
			return yaml_err(ps->e, ps->file, node, "rule '%s': command needs 'run'",
					r->id);
		const struct yaml_node *file = yaml_get(node, "when_file");
		const struct yaml_node *dep = yaml_get(node, "when_dependency");
		const struct yaml_node *target = yaml_get(node, "when_target");
		const struct yaml_node *content = yaml_get(node, "when_content");
		const struct yaml_node *in = yaml_get(node, "in");
		const char *text = NULL;
		if ((file != NULL) + (dep != NULL) + (target != NULL) + (content != NULL) > 1)
			return yaml_err(ps->e, ps->file, node,
					"rule '%s': a command has one of when_file, "
					"when_dependency, when_target, when_content",
					r->id);
		if ((content != NULL) != (in != NULL))
			return yaml_err(ps->e, ps->file, content ? content : in,
					"rule '%s': when_content needs 'in' (the files to read), "
					"and 'in' belongs to when_content",
					r->id);
		if (content) {
			if (parser_string(ps, r, content, "when_content", &text) < 0 ||
			    parser_compile_pattern(ps, r, content, true, &alt->when_re) < 0 ||
			    parser_compile_globs(ps, r, in, "in", &alt->when_in) < 0)
				return -1;
			alt->when_content = xstrdup(text);
			alt->match_context = ps->set->match_context;
		}
		if (file) {
			if (parser_string(ps, r, file, "when_file", &text) < 0 ||
			    parser_compile_glob(ps, r, file, 0, &alt->when_glob) < 0)
				return -1;
			alt->when_file = xstrdup(text);
		}
		if (dep) {
			if (parser_string(ps, r, dep, "when_dependency", &text) < 0)
				return -1;
			alt->when_dependency = xstrdup(text);
		}
		if (target) {
			if (parser_string(ps, r, target, "when_target", &text) < 0)
				return -1;
			alt->when_target = xstrdup(text);
		}
	}
	if (yaml_is_null(run))
		return 0;
	const char *text = NULL;
	if (parser_string(ps, r, run, "a command", &text) < 0 ||
	    check_placeholders(ps, r, run, text, &alt->when_entry_point) < 0)
		return -1;
	alt->run = xstrdup(text);
	return 0;
}

static int parse_commands(struct parser *ps, struct rule *r, const struct yaml_node *node)
{
	if (node->kind != YAML_MAPPING)
		return yaml_err(ps->e, ps->file, node,
				"rule '%s': commands must be a mapping of install, build, test, "
				"lint, start",
				r->id);
	for (size_t i = 0; i < node->count; i++) {
		const char *key = yaml_str(node->pairs[i].key);
		const struct yaml_node *value = node->pairs[i].value;
		int kind = command_kind_parse(key);
		if (kind < 0)
			return yaml_err(ps->e, ps->file, node->pairs[i].key,
					"rule '%s': unknown command '%s' (install, build, test, "
					"lint, start)",
					r->id, key ? key : "?");
		size_t count = value->kind == YAML_SEQUENCE ? value->count : 1;
		if (!count)
			return yaml_err(ps->e, ps->file, value, "rule '%s': %s has no command",
					r->id, key);
		r->commands[kind] = xcalloc(count, sizeof(struct command_alternative));
		r->command_counts[kind] = count;
		for (size_t j = 0; j < count; j++) {
			const struct yaml_node *item =
				value->kind == YAML_SEQUENCE ? value->items[j] : value;
			struct command_alternative *alt = &r->commands[kind][j];
			if (item->kind == YAML_SEQUENCE ||
			    (value->kind != YAML_SEQUENCE && item->kind == YAML_MAPPING))
				return yaml_err(ps->e, ps->file, item,
						"rule '%s': %s must be a command or a list of "
						"{run, when_file | when_dependency | "
						"when_target | when_content}",
						r->id, key);
			if (parse_alternative(ps, r, item, alt) < 0)
				return -1;
			if (j + 1 < count && command_alternative_unconditional(alt) &&
			    !alt->when_entry_point)
				return yaml_err(ps->e, ps->file, item,
						"rule '%s': %s: only the last command may be "
						"unconditional",
						r->id, key);
		}
	}
	return 0;
}

static int parse_vars(struct parser *ps, struct rule *r, const struct yaml_node *node)
{
	if (node->kind != YAML_MAPPING)
		return yaml_err(ps->e, ps->file, node, "rule '%s': vars must be a mapping", r->id);
	r->vars = map_new();
	for (size_t i = 0; i < node->count; i++) {
		const char *key = yaml_str(node->pairs[i].key);
		const char *value = yaml_str(node->pairs[i].value);
		if (!key || placeholder_index(key, strlen(key)) < 0 || !value)
			return yaml_err(ps->e, ps->file, node->pairs[i].key,
					"rule '%s': vars maps a placeholder name (run, exec, ...) "
					"to a string",
					r->id);
		map_put(r->vars, key, xstrdup(value));
	}
	return 0;
}

/* The scalar fields of a rule: id, name, kind and the small ones. */
static int parse_rule_fields(struct parser *ps, struct rule *r, const struct yaml_node *node)
{
	const char *text = NULL;
	const struct yaml_node *field;
	if (parser_string(ps, r, yaml_get(node, "name"), "name", &text) < 0)
		return -1;
	r->name = xstrdup(text);
	field = yaml_get(node, "kind");
	if (parser_string(ps, r, field, "kind", &text) < 0)
		return -1;
	if (parse_kind(text, &r->kind) < 0)
		return yaml_err(ps->e, ps->file, field,
				"rule '%s': unknown kind '%s' (framework, package_manager, "
				"build_tool, test_framework, linter, ci, cd, container)",
				r->id, text);
	if ((field = yaml_get(node, "ecosystem"))) {
		if (parser_string(ps, r, field, "ecosystem", &text) < 0)
			return -1;
		if (!parser_known_ecosystem(text))
			return yaml_err(ps->e, ps->file, field, "rule '%s': unknown ecosystem '%s'",
					r->id, text);
		r->ecosystem = xstrdup(text);
	}
	if ((field = yaml_get(node, "language"))) {
		if (parser_string(ps, r, field, "language", &text) < 0)
			return -1;
		if (!valid_id(text))
			return yaml_err(ps->e, ps->file, field,
					"rule '%s': language must be a lowercase id", r->id);
		r->language = xstrdup(text);
	}
	if ((field = yaml_get(node, "scope"))) {
		text = yaml_str(field);
		if (!str_eq(text, "project") && !str_eq(text, "repository"))
			return yaml_err(ps->e, ps->file, field,
					"rule '%s': scope must be project or repository", r->id);
		r->repository = str_eq(text, "repository");
		if (r->repository && r->kind != FINDING_CI && r->kind != FINDING_CD &&
		    r->kind != FINDING_CONTAINER)
			return yaml_err(ps->e, ps->file, field,
					"rule '%s': only ci, cd and container rules may have "
					"repository scope",
					r->id);
	}
	if ((field = yaml_get(node, "report"))) {
		text = yaml_str(field);
		if (!r->repository || (!str_eq(text, "each") && !str_eq(text, "first")))
			return yaml_err(ps->e, ps->file, field,
					"rule '%s': report (each or first) is for repository-scope "
					"rules",
					r->id);
		r->report_first = str_eq(text, "first");
	}
	if ((field = yaml_get(node, "inherit"))) {
		if (yaml_bool(field, ps->file, &r->inherit, ps->e) < 0)
			return err_prefix(ps->e, "rule '%s'", r->id);
		if (r->repository && r->inherit)
			return yaml_err(ps->e, ps->file, field,
					"rule '%s': inherit is for project-scope rules", r->id);
	}
	if ((field = yaml_get(node, "front_end"))) {
		text = yaml_str(field);
		if ((r->kind != FINDING_FRAMEWORK && r->kind != FINDING_BUILD_TOOL) ||
		    (!str_eq(text, "dev-server") && !str_eq(text, "dev-server-unless-start")))
			return yaml_err(
				ps->e, ps->file, field,
				"rule '%s': front_end (dev-server or "
				"dev-server-unless-start) is for frameworks and build tools",
				r->id);
		r->front_end =
			str_eq(text, "dev-server") ? FRONT_END_DEV_SERVER : FRONT_END_UNLESS_START;
	}
	if ((field = yaml_get(node, "targets_in"))) {
		size_t count = 0;
		if (parser_string_list(ps, r, field, "targets_in", &count) < 0)
			return -1;
		for (size_t i = 0; i < count; i++)
			vec_push(&r->targets_in, xstrdup(yaml_str(parser_list_item(field, i))));
	}
	if ((field = yaml_get(node, "port"))) {
		long long port;
		if (yaml_int(field, ps->file, &port, NULL) < 0 || port < 1 || port > 65535)
			return yaml_err(ps->e, ps->file, field,
					"rule '%s': port must be a number from 1 to 65535", r->id);
		r->port = (int)port;
	}
	if ((field = yaml_get(node, "also"))) {
		size_t count = 0;
		if (parser_string_list(ps, r, field, "also", &count) < 0)
			return -1;
		for (size_t i = 0; i < count; i++) {
			enum finding_kind kind;
			const struct yaml_node *item = parser_list_item(field, i);
			if (parse_kind(yaml_str(item), &kind) < 0 || kind == r->kind)
				return yaml_err(ps->e, ps->file, item,
						"rule '%s': also lists other kinds, not '%s'",
						r->id, yaml_str(item));
			r->also_kinds |= 1u << kind;
		}
	}
	return 0;
}

static int parse_rule(struct parser *ps, const struct yaml_node *node)
{
	if (node->kind != YAML_MAPPING)
		return yaml_err(ps->e, ps->file, node, "each rule must be a mapping");
	const struct yaml_node *id_node = yaml_get(node, "id");
	const char *id = yaml_str(id_node);
	if (!id || !valid_id(id))
		return yaml_err(ps->e, ps->file, id_node ? id_node : node,
				"rule needs an 'id' of lowercase letters, digits and . _ + -");
	const struct rule *other = map_get(ps->set->by_id, id);
	if (other)
		return yaml_err(ps->e, ps->file, id_node,
				"rule '%s' is defined twice (first at line %d)", id, other->line);

	struct rule *r = xcalloc(1, sizeof(*r));
	ps->rule_node = node;
	r->id = xstrdup(id);
	r->line = node->line;
	r->index = ps->set->rules.len;
	vec_push(&ps->set->rules, r);
	map_put(ps->set->by_id, r->id, r);

	for (size_t i = 0; i < node->count; i++) {
		const char *key = yaml_str(node->pairs[i].key);
		if (!key || !PARSER_NAME_IN(key, rule_keys))
			return yaml_err(ps->e, ps->file, node->pairs[i].key,
					"rule '%s': unknown key '%s'", id, key ? key : "?");
	}
	if (parse_rule_fields(ps, r, node) < 0)
		return -1;

	if (parser_signals(ps, r, yaml_get(node, "signals")) < 0)
		return -1;
	const struct yaml_node *field;
	if ((field = yaml_get(node, "commands")) && parse_commands(ps, r, field) < 0)
		return -1;
	if ((field = yaml_get(node, "vars")) && parse_vars(ps, r, field) < 0)
		return -1;
	r->relation_nodes[0] = yaml_get(node, "implies");
	r->relation_nodes[1] = yaml_get(node, "excludes");
	r->relation_nodes[2] = yaml_get(node, "overrides");
	return 0;
}

/* Turns implies/excludes/overrides ids into rules, once every rule is known. */
static int resolve_relations(struct parser *ps, struct rule *r)
{
	static const char *const names[] = { "implies", "excludes", "overrides" };
	struct vec *lists[] = { &r->implies, &r->excludes, &r->overrides };
	for (int k = 0; k < 3; k++) {
		const struct yaml_node *node = r->relation_nodes[k];
		size_t count = 0;
		if (!node)
			continue;
		if (parser_string_list(ps, r, node, names[k], &count) < 0)
			return -1;
		for (size_t i = 0; i < count; i++) {
			const struct yaml_node *item = parser_list_item(node, i);
			const char *id = yaml_str(item);
			struct rule *target = map_get(ps->set->by_id, id);
			if (!target)
				return yaml_err(ps->e, ps->file, item,
						"rule '%s': %s names unknown rule '%s'", r->id,
						names[k], id);
			if (target == r)
				return yaml_err(ps->e, ps->file, item, "rule '%s': %s names itself",
						r->id, names[k]);
			if (k == 0 && (r->repository || target->repository))
				return yaml_err(ps->e, ps->file, item,
						"rule '%s': implies is for project-scope rules",
						r->id);
			vec_push(lists[k], target);
		}
	}
	return 0;
}

/* Depth-first post-order over implies; a rule met again while open is a cycle. */
static int order_visit(struct parser *ps, struct rule *r, unsigned char *state, struct vec *post)
{
	if (state[r->index] == 2)
		return 0;
	if (state[r->index] == 1)
		return yaml_err(ps->e, ps->file, r->relation_nodes[0],
				"rule '%s': implies forms a cycle", r->id);
	state[r->index] = 1;
	for (size_t i = 0; i < r->implies.len; i++)
		if (order_visit(ps, r->implies.items[i], state, post) < 0)
			return -1;
	state[r->index] = 2;
	vec_push(post, r);
	return 0;
}

static int finish_rules(struct parser *ps)
{
	struct rule_set *set = ps->set;
	for (size_t i = 0; i < set->rules.len; i++)
		if (resolve_relations(ps, set->rules.items[i]) < 0)
			return -1;
	for (size_t i = 0; i < set->rules.len; i++) {
		struct rule *r = set->rules.items[i];
		for (size_t j = 0; j < r->excludes.len; j++) {
			const struct rule *other = r->excludes.items[j];
			for (size_t k = 0; k < other->excludes.len; k++)
				if (other->excludes.items[k] == r)
					return yaml_err(ps->e, ps->file, r->relation_nodes[1],
							"rule '%s': '%s' and '%s' exclude each "
							"other; use overrides",
							r->id, r->id, other->id);
		}
	}
	unsigned char *state = xcalloc(set->rules.len + 1, 1);
	struct vec post = VEC_INIT;
	int rc = 0;
	for (size_t i = 0; i < set->rules.len && rc == 0; i++)
		if (!((struct rule *)set->rules.items[i])->repository)
			rc = order_visit(ps, set->rules.items[i], state, &post);
	for (size_t i = post.len; i-- > 0;)
		vec_push(&set->order, post.items[i]);
	vec_free(&post, NULL);
	free(state);
	return rc;
}

/* script_fallbacks: {build: [build:prod, ...], start: [start:prod]} */
static int parse_script_fallbacks(struct parser *ps, const struct yaml_node *node)
{
	if (!node)
		return 0;
	if (node->kind != YAML_MAPPING)
		return yaml_err(ps->e, ps->file, node,
				"script_fallbacks must map a command (build, test, lint, start) "
				"to a list of script names");
	for (size_t i = 0; i < node->count; i++) {
		const char *key = yaml_str(node->pairs[i].key);
		const struct yaml_node *list = node->pairs[i].value;
		int kind = command_kind_parse(key);
		if (kind < 0 || kind == COMMAND_INSTALL)
			return yaml_err(ps->e, ps->file, node->pairs[i].key,
					"script_fallbacks: '%s' is not build, test, lint or start",
					key ? key : "?");
		if (list->kind != YAML_SEQUENCE)
			return yaml_err(ps->e, ps->file, list,
					"script_fallbacks.%s must be a list of script names", key);
		for (size_t j = 0; j < list->count; j++) {
			const char *name = yaml_str(list->items[j]);
			if (!name || !*name)
				return yaml_err(ps->e, ps->file, list->items[j],
						"script_fallbacks.%s: a script name must be a "
						"string",
						key);
			vec_push(&ps->set->script_fallbacks[kind], xstrdup(name));
		}
	}
	return 0;
}

/* image_programs: {node: {program: node, first: ["*.js", ...]}, ...} */
static int parse_image_programs(struct parser *ps, const struct yaml_node *node)
{
	if (!node)
		return 0;
	if (node->kind != YAML_MAPPING)
		return yaml_err(ps->e, ps->file, node,
				"image_programs must map an image to {program, first}");
	for (size_t i = 0; i < node->count; i++) {
		const char *image = yaml_str(node->pairs[i].key);
		const struct yaml_node *spec = node->pairs[i].value;
		const char *program = yaml_str(yaml_get(spec, "program"));
		const struct yaml_node *first = yaml_get(spec, "first");
		if (!image || !*image || spec->kind != YAML_MAPPING || !program || !*program ||
		    !first || first->kind != YAML_SEQUENCE || !first->count)
			return yaml_err(ps->e, ps->file, spec,
					"image_programs.%s must be {program: NAME, first: "
					"[GLOB, ...]}",
					image ? image : "?");
		for (size_t j = 0; j < spec->count; j++) {
			const char *key = yaml_str(spec->pairs[j].key);
			if (!str_eq(key, "program") && !str_eq(key, "first"))
				return yaml_err(ps->e, ps->file, spec->pairs[j].key,
						"image_programs.%s: unknown key '%s' (program, "
						"first)",
						image, key ? key : "?");
		}
		struct image_program *ip = xcalloc(1, sizeof(*ip));
		ip->image = xstrdup(image);
		ip->program = xstrdup(program);
		vec_push(&ps->set->image_programs, ip);
		for (size_t j = 0; j < first->count; j++) {
			const char *glob = yaml_str(first->items[j]);
			if (!glob || !*glob)
				return yaml_err(ps->e, ps->file, first->items[j],
						"image_programs.%s.first: a glob must be a string",
						image);
			vec_push(&ip->first, xstrdup(glob));
		}
	}
	return 0;
}

static int parse_top(struct parser *ps, const struct yaml_node *root)
{
	if (!root || root->kind != YAML_MAPPING)
		return root ? yaml_err(ps->e, ps->file, root, "expected a mapping with 'rules'")
			    : err_set(ps->e, "%s: empty file, expected a 'rules' list", ps->file);
	for (size_t i = 0; i < root->count; i++) {
		const char *key = yaml_str(root->pairs[i].key);
		if (!str_eq(key, "rules") && !str_eq(key, "threshold") &&
		    !str_eq(key, "script_fallbacks") && !str_eq(key, "image_programs"))
			return yaml_err(ps->e, ps->file, root->pairs[i].key,
					"unknown top-level key '%s' (rules, threshold, "
					"script_fallbacks, image_programs)",
					key ? key : "?");
	}
	if (parse_script_fallbacks(ps, yaml_get(root, "script_fallbacks")) < 0 ||
	    parse_image_programs(ps, yaml_get(root, "image_programs")) < 0)
		return -1;
	const struct yaml_node *threshold = yaml_get(root, "threshold");
	if (threshold) {
		const char *text = yaml_str(threshold);
		char *end = NULL;
		ps->set->threshold = text ? strtod(text, &end) : NAN;
		if (!text || end == text || *end ||
		    !(ps->set->threshold > 0 && ps->set->threshold < 1))
			return yaml_err(ps->e, ps->file, threshold,
					"threshold must be a number in (0,1)");
	}
	const struct yaml_node *list = yaml_get(root, "rules");
	if (!list || list->kind != YAML_SEQUENCE)
		return yaml_err(ps->e, ps->file, list ? list : root, "expected a 'rules' list");
	for (size_t i = 0; i < list->count; i++)
		if (parse_rule(ps, list->items[i]) < 0)
			return -1;
	return finish_rules(ps);
}

int rules_parse(struct rule_set **out, const char *file, const char *data, size_t len,
		struct err *e)
{
	struct yaml_doc *doc = NULL;
	if (yaml_parse(&doc, file, data, len, e) < 0)
		return -1;
	struct rule_set *set = xcalloc(1, sizeof(*set));
	set->by_id = map_new();
	set->threshold = 0.3;
	set->project_index.by_name = map_new();
	set->project_index.by_ext = map_new();
	set->repository_index.by_name = map_new();
	set->repository_index.by_ext = map_new();
	set->match_context = pcre2_match_context_create(NULL);
	pcre2_set_match_limit(set->match_context, RULES_MATCH_LIMIT);

	struct parser ps = { .set = set, .file = file, .e = e };
	int rc = parse_top(&ps, doc->root);
	yaml_doc_free(doc);
	for (size_t i = 0; i < set->rules.len; i++)
		memset(((struct rule *)set->rules.items[i])->relation_nodes, 0,
		       sizeof(((struct rule *)0)->relation_nodes));
	if (rc < 0) {
		rules_free(set);
		return -1;
	}
	*out = set;
	return 0;
}

int rules_load(struct rule_set **out, struct err *e)
{
	struct buf data = BUF_INIT;
	char *origin = NULL;
	int rc = embed_read_config("detection-rules.yaml", &data, &origin, e);
	if (rc == 0)
		rc = rules_parse(out, origin, buf_cstr(&data), data.len, e);
	free(origin);
	buf_free(&data);
	return rc;
}
