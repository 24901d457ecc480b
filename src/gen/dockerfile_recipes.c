/*
 * dockerfile_recipes: loads and validates config/dockerfiles.yaml and holds
 * the rules that read it: which image version a declared runtime version
 * gets and which recipe fits a project. dockerfile.c writes the files.
 */
#include "gen/dockerfile_internal.h"

#include "util/buf.h"
#include "util/embed.h"
#include "util/err.h"
#include "util/json.h"
#include "util/map.h"
#include "util/str.h"
#include "util/xalloc.h"
#include "util/yaml.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_NAME "dockerfiles.yaml"

/* ------------------------------------------------------------------ */
/* Recipes: loading and validation                                      */

enum field_type { F_STR, F_STR_OR_NULL, F_LIST, F_MAP, F_BOOL, F_MATCH, F_DEPS, F_OVERLAY };

static const struct field {
	const char *name;
	enum field_type type;
} recipe_fields[] = {
	{ "id", F_STR },
	{ "match", F_MATCH },
	{ "runtime", F_STR },
	{ "context", F_STR },
	{ "build_image", F_STR },
	{ "image", F_STR },
	{ "build_env", F_MAP },
	{ "env", F_MAP },
	{ "build_packages", F_LIST },
	{ "packages", F_LIST },
	{ "build_setup", F_LIST },
	{ "setup", F_LIST },
	{ "dependency_packages", F_DEPS },
	{ "copy_images", F_LIST },
	{ "files", F_LIST },
	{ "install", F_STR_OR_NULL },
	{ "build", F_STR_OR_NULL },
	{ "after_build", F_STR_OR_NULL },
	{ "artifacts", F_LIST },
	{ "writable", F_LIST },
	{ "user", F_STR },
	{ "create_user", F_STR },
	{ "run_as_user", F_BOOL },
	{ "start", F_STR },
	{ "start_strip", F_LIST },
	{ "port", F_STR },
	{ "needs_start", F_BOOL },
	{ "healthcheck", F_LIST },
	{ "ignore", F_LIST },
	{ "frameworks", F_OVERLAY },
	{ "build_at_root", F_BOOL },
	{ "unsupported", F_STR },
};

static const char *const match_keys[] = { "package_manager", "framework",     "language",
					  "build",	     "runtime_below", "uses",
					  "dev_server",	     "entry_point" };

static const char *const placeholders[] = {
	"version", "install", "build",	    "start",	 "program",	  "args",
	"port",	   "name",    "image_name", "manifest",	 "manifest_stem", "member_dirs",
	"member",  "user",    "go_package", "py_command"
};

struct checker {
	const struct recipes *r;
	const char *id;
	struct err *e;
};

static int check_fail(struct checker *c, const struct yaml_node *node, const char *fmt,
		      const char *what)
{
	struct buf msg = BUF_INIT;
	buf_addf(&msg, fmt, what);
	yaml_err(c->e, c->r->origin, node, "recipe '%s': %s", c->id ? c->id : "?", msg.data);
	buf_free(&msg);
	return -1;
}

/* Every {name} in s must be a placeholder Ampel fills; "{}" is literal text. */
static int check_placeholders(struct checker *c, const struct yaml_node *node)
{
	for (const char *p = node->value; (p = strchr(p, '{')) != NULL; p++) {
		size_t n = strspn(p + 1, "abcdefghijklmnopqrstuvwxyz_:");
		if (n == 0 || p[1 + n] != '}')
			continue;
		char name[64];
		snprintf(name, sizeof(name), "%.*s", (int)n, p + 1);
		bool known = str_starts_with(name, "version:") &&
			     yaml_get(c->r->versions, name + strlen("version:"));
		for (size_t i = 0; i < sizeof(placeholders) / sizeof(*placeholders); i++)
			known = known || strcmp(name, placeholders[i]) == 0;
		if (!known)
			return check_fail(c, node, "unknown placeholder {%s}", name);
	}
	return 0;
}

static int check_string_list(struct checker *c, const struct yaml_node *node, const char *key)
{
	if (node->kind != YAML_SEQUENCE)
		return check_fail(c, node, "%s must be a list of strings", key);
	for (size_t i = 0; i < node->count; i++) {
		if (node->items[i]->kind != YAML_SCALAR || yaml_is_null(node->items[i]))
			return check_fail(c, node->items[i], "%s must be a list of strings", key);
		if (check_placeholders(c, node->items[i]) < 0)
			return -1;
	}
	return 0;
}

/* listen_everywhere: a list of {start, append, unless?}, strings. */
static int check_listen(struct checker *c, const struct yaml_node *list)
{
	if (list->kind != YAML_SEQUENCE)
		return check_fail(c, list, "%s must be a list", "listen_everywhere");
	for (size_t i = 0; i < list->count; i++) {
		const struct yaml_node *entry = list->items[i];
		if (entry->kind != YAML_MAPPING || !yaml_str(yaml_get(entry, "start")) ||
		    !yaml_str(yaml_get(entry, "append")))
			return check_fail(c, entry, "%s entries need start and append",
					  "listen_everywhere");
		for (size_t j = 0; j < entry->count; j++) {
			const char *key = yaml_str(entry->pairs[j].key);
			const struct yaml_node *value = entry->pairs[j].value;
			if (strcmp(key, "start") && strcmp(key, "append") && strcmp(key, "unless"))
				return check_fail(c, entry->pairs[j].key, "unknown key '%s'", key);
			if (value->kind != YAML_SCALAR || yaml_is_null(value))
				return check_fail(c, value, "%s must be a string", key);
			if (check_placeholders(c, value) < 0)
				return -1;
		}
	}
	return 0;
}

const char *dockerfile_listen_everywhere(const struct recipes *r, const char *start)
{
	for (size_t i = 0; r->listen && i < r->listen->count; i++) {
		const struct yaml_node *entry = r->listen->items[i];
		const char *unless = yaml_str(yaml_get(entry, "unless"));
		if (str_starts_with(start, yaml_str(yaml_get(entry, "start"))) &&
		    !(unless && strstr(start, unless)))
			return yaml_str(yaml_get(entry, "append"));
	}
	return NULL;
}

static const struct field *field_find(const char *name)
{
	for (size_t i = 0; i < sizeof(recipe_fields) / sizeof(*recipe_fields); i++) {
		if (strcmp(name, recipe_fields[i].name) == 0)
			return &recipe_fields[i];
	}
	return NULL;
}

static int check_field(struct checker *c, const struct field *f, const struct yaml_node *v)
{
	switch (f->type) {
	case F_OVERLAY: /* framework id -> the fields it overrides */
		if (v->kind != YAML_MAPPING)
			return check_fail(c, v, "%s must map framework ids to fields", f->name);
		for (size_t i = 0; i < v->count; i++) {
			const struct yaml_node *over = v->pairs[i].value;
			if (over->kind != YAML_MAPPING)
				return check_fail(c, over, "%s entries must be mappings", f->name);
			for (size_t j = 0; j < over->count; j++) {
				const char *k = yaml_str(over->pairs[j].key);
				const struct field *of = field_find(k);
				if (!of || of->type == F_OVERLAY || of->type == F_MATCH ||
				    !strcmp(k, "id") || !strcmp(k, "runtime"))
					return check_fail(c, over->pairs[j].key,
							  "'%s' cannot be set per framework", k);
				if (check_field(c, of, over->pairs[j].value) < 0)
					return -1;
			}
		}
		return 0;
	case F_STR_OR_NULL:
		if (yaml_is_null(v))
			return 0;
		/* fall through */
	case F_STR:
		if (v->kind != YAML_SCALAR || yaml_is_null(v))
			return check_fail(c, v, "%s must be a string", f->name);
		return check_placeholders(c, v);
	case F_LIST:
		return check_string_list(c, v, f->name);
	case F_BOOL: {
		bool b;
		return yaml_bool(v, c->r->origin, &b, c->e);
	}
	case F_MAP:
		if (v->kind != YAML_MAPPING)
			return check_fail(c, v, "%s must be a mapping of names to strings",
					  f->name);
		for (size_t i = 0; i < v->count; i++) {
			if (v->pairs[i].value->kind != YAML_SCALAR ||
			    yaml_is_null(v->pairs[i].value))
				return check_fail(c, v->pairs[i].value, "%s values must be strings",
						  f->name);
			if (check_placeholders(c, v->pairs[i].value) < 0)
				return -1;
		}
		return 0;
	case F_DEPS:
		if (v->kind != YAML_SEQUENCE)
			return check_fail(c, v, "%s must be a list", f->name);
		for (size_t i = 0; i < v->count; i++) {
			const struct yaml_node *d = v->items[i];
			if (!yaml_str(yaml_get(d, "dependency")))
				return check_fail(c, d, "%s entries need a dependency name",
						  f->name);
			for (size_t j = 0; j < d->count; j++) {
				const char *k = yaml_str(d->pairs[j].key);
				if (strcmp(k, "build") && strcmp(k, "runtime") &&
				    strcmp(k, "dependency"))
					return check_fail(c, d->pairs[j].key,
							  "unknown key '%s' in dependency_packages",
							  k);
				if (strcmp(k, "dependency") &&
				    check_string_list(c, d->pairs[j].value, k) < 0)
					return -1;
			}
		}
		return 0;
	case F_MATCH:
		if (v->kind != YAML_MAPPING || v->count == 0)
			return check_fail(c, v, "%s must be a non-empty mapping", f->name);
		for (size_t i = 0; i < v->count; i++) {
			const char *k = yaml_str(v->pairs[i].key);
			bool known = false;
			for (size_t j = 0; j < sizeof(match_keys) / sizeof(*match_keys); j++)
				known = known || strcmp(k, match_keys[j]) == 0;
			if (!known)
				return check_fail(c, v->pairs[i].key, "unknown match key '%s'", k);
			const struct yaml_node *mv = v->pairs[i].value;
			if (strcmp(k, "build") == 0 || strcmp(k, "dev_server") == 0) {
				bool b;
				if (yaml_bool(mv, c->r->origin, &b, c->e) < 0)
					return -1;
			} else if (mv->kind == YAML_SEQUENCE) {
				if (check_string_list(c, mv, k) < 0)
					return -1;
			} else if (mv->kind != YAML_SCALAR || yaml_is_null(mv)) {
				return check_fail(c, mv, "match %s must be a string or a list", k);
			}
		}
		return 0;
	}
	return 0;
}

static int check_recipe(struct checker *c, const struct yaml_node *recipe, struct map *ids)
{
	if (recipe->kind != YAML_MAPPING)
		return check_fail(c, recipe, "%s", "a recipe must be a mapping");
	c->id = yaml_str(yaml_get(recipe, "id"));
	if (!c->id)
		return check_fail(c, recipe, "%s", "missing id");
	if (map_put(ids, c->id, (void *)recipe))
		return check_fail(c, recipe, "%s", "duplicate id");
	for (size_t i = 0; i < recipe->count; i++) {
		const char *key = yaml_str(recipe->pairs[i].key);
		const struct field *f = field_find(key);
		if (!f)
			return check_fail(c, recipe->pairs[i].key, "unknown key '%s'", key);
		if (check_field(c, f, recipe->pairs[i].value) < 0)
			return -1;
	}
	static const char *const required[] = { "match", "runtime", "image" };
	for (size_t i = 0; i < sizeof(required) / sizeof(*required); i++) {
		if (!yaml_get(recipe, required[i]))
			return check_fail(c, recipe, "missing %s", required[i]);
	}
	const struct yaml_node *rt = yaml_get(recipe, "runtime");
	if (!yaml_get(c->r->versions, rt->value))
		return check_fail(c, rt, "runtime '%s' has no entry under versions", rt->value);
	const char *context = yaml_str(yaml_get(recipe, "context"));
	if (context && strcmp(context, "project") && strcmp(context, "workspace"))
		return check_fail(c, yaml_get(recipe, "context"),
				  "context must be project or workspace, not '%s'", context);
	return 0;
}

static int check_versions(struct checker *c)
{
	const struct yaml_node *v = c->r->versions;
	if (!v || v->kind != YAML_MAPPING)
		return yaml_err(c->e, c->r->origin, v ? v : c->r->doc->root,
				"versions must be a mapping of runtimes");
	for (size_t i = 0; i < v->count; i++) {
		const struct yaml_node *entry = v->pairs[i].value;
		c->id = yaml_str(v->pairs[i].key);
		long long precision = 0;
		const struct yaml_node *p = yaml_get(entry, "precision");
		if (!p || yaml_int(p, c->r->origin, &precision, c->e) < 0 || precision < 1 ||
		    precision > 3)
			return check_fail(c, p ? p : entry, "%s",
					  "versions: precision must be 1, 2 or 3");
		const struct yaml_node *s = yaml_get(entry, "supported");
		if (!s || check_string_list(c, s, "supported") < 0 || s->count == 0)
			return check_fail(c, s ? s : entry, "%s",
					  "versions: supported must be a non-empty list");
		if (!yaml_str(yaml_get(entry, "default")))
			return check_fail(c, entry, "%s", "versions: default is missing");
		bool floor;
		const struct yaml_node *f = yaml_get(entry, "floor");
		if (f && yaml_bool(f, c->r->origin, &floor, c->e) < 0)
			return check_fail(c, f, "%s", "versions: floor must be true or false");
	}
	return 0;
}

void dockerfile_recipes_free(struct recipes *r)
{
	yaml_doc_free(r->doc);
	free(r->origin);
}

int dockerfile_recipes_load(struct recipes *r, struct err *e)
{
	struct buf data = BUF_INIT;
	memset(r, 0, sizeof(*r));
	if (embed_read_config(CONFIG_NAME, &data, &r->origin, e) < 0 ||
	    yaml_parse(&r->doc, r->origin, data.data, data.len, e) < 0) {
		buf_free(&data);
		return -1;
	}
	buf_free(&data);
	const struct yaml_node *root = r->doc->root;
	struct checker c = { r, NULL, e };
	if (!root || root->kind != YAML_MAPPING)
		return yaml_err(e, r->origin, root, "expected a mapping with versions and recipes");
	for (size_t i = 0; i < root->count; i++) {
		const char *key = yaml_str(root->pairs[i].key);
		if (!str_starts_with(key, "x-") && strcmp(key, "version") &&
		    strcmp(key, "versions") && strcmp(key, "recipes") && strcmp(key, "ignore") &&
		    strcmp(key, "healthcheck_options") && strcmp(key, "package_install") &&
		    strcmp(key, "listen_everywhere"))
			return yaml_err(e, r->origin, root->pairs[i].key, "unknown key '%s'", key);
	}
	r->versions = yaml_get(root, "versions");
	r->list = yaml_get(root, "recipes");
	r->ignore = yaml_get(root, "ignore");
	r->listen = yaml_get(root, "listen_everywhere");
	r->healthcheck_options = yaml_str(yaml_get(root, "healthcheck_options"));
	r->package_install = yaml_str(yaml_get(root, "package_install"));
	if (!str_eq(yaml_str(yaml_get(root, "version")), "1"))
		return yaml_err(e, r->origin, root, "version: 1 is the only version understood");
	if (!r->healthcheck_options || !r->package_install ||
	    !strstr(r->package_install, "{packages}"))
		return yaml_err(e, r->origin, root,
				"healthcheck_options and package_install (with {packages}) are "
				"required");
	if (check_versions(&c) < 0)
		return -1;
	c.id = "(common ignore)";
	if (r->ignore && check_string_list(&c, r->ignore, "ignore") < 0)
		return -1;
	c.id = "(listen_everywhere)";
	if (r->listen && check_listen(&c, r->listen) < 0)
		return -1;
	if (!r->list || r->list->kind != YAML_SEQUENCE)
		return yaml_err(e, r->origin, r->list ? r->list : root, "recipes must be a list");
	struct map *ids = map_new();
	int rc = 0;
	for (size_t i = 0; i < r->list->count && rc == 0; i++) {
		c.id = NULL;
		rc = check_recipe(&c, r->list->items[i], ids);
	}
	map_free(ids, NULL);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Versions                                                             */

struct version {
	long part[3];
	int count; /* components given, 0 = none */
};

/* Reads "v1.22.1", "3.10", "18.x"; stops at the first character that is not part of it. */
static const char *version_parse(const char *s, struct version *v)
{
	memset(v, 0, sizeof(*v));
	if (*s == 'v')
		s++;
	while (v->count < 3 && isdigit((unsigned char)*s)) {
		v->part[v->count++] = strtol(s, (char **)&s, 10);
		if (*s != '.' || !isdigit((unsigned char)s[1]))
			break;
		s++;
	}
	return s;
}

static int version_cmp(const struct version *a, const struct version *b)
{
	for (int i = 0; i < 3; i++) {
		if (a->part[i] != b->part[i])
			return a->part[i] < b->part[i] ? -1 : 1;
	}
	return 0;
}

/* The first version after every version that starts with v's first n+1 parts. */
static struct version version_bump(struct version v, int n)
{
	v.part[n]++;
	for (int i = n + 1; i < 3; i++)
		v.part[i] = 0;
	return v;
}

struct range {
	struct version low, high; /* [low, high) */
	bool bounded;		  /* high is set */
	bool exact;		  /* a single version, not a range */
};

static void range_limit(struct range *r, const struct version *low, const struct version *high)
{
	if (low && version_cmp(low, &r->low) > 0)
		r->low = *low;
	if (high && (!r->bounded || version_cmp(high, &r->high) < 0)) {
		r->high = *high;
		r->bounded = true;
	}
}

/* One alternative of a constraint (">=3.10,<3.13", "^18.2.0", "~> 1.14", "20"). */
static bool range_parse(const char *s, const char *end, struct range *r)
{
	memset(r, 0, sizeof(*r));
	int comparators = 0;
	bool only_equal = true;
	while (s < end) {
		while (s < end && (isspace((unsigned char)*s) || *s == ','))
			s++;
		char op[4] = { 0 };
		size_t n = 0;
		while (s < end && strchr("<>=!~^", *s) && n < 3)
			op[n++] = *s++;
		while (s < end && isspace((unsigned char)*s))
			s++;
		struct version v;
		if (s >= end || version_parse(s, &v) == s)
			break;
		while (s < end && !isspace((unsigned char)*s) && *s != ',')
			s++; /* the rest of the word: ".x", "-beta", ... */
		comparators++;
		int last = v.count - 1, first = 0;
		while (first < last && v.part[first] == 0)
			first++;
		struct version next = version_bump(v, last);
		if (!*op || !strcmp(op, "=") || !strcmp(op, "==")) {
			range_limit(r, &v, &next);
			continue;
		}
		only_equal = false;
		if (!strcmp(op, ">=")) {
			range_limit(r, &v, NULL);
		} else if (!strcmp(op, ">")) {
			range_limit(r, &next, NULL);
		} else if (!strcmp(op, "<")) {
			range_limit(r, NULL, &v);
		} else if (!strcmp(op, "<=")) {
			range_limit(r, NULL, &next);
		} else if (!strcmp(op, "^")) {
			struct version high = version_bump(v, first);
			range_limit(r, &v, &high);
		} else if (!strcmp(op, "~")) {
			struct version high = version_bump(v, last > 0 ? 1 : 0);
			range_limit(r, &v, &high);
		} else if (!strcmp(op, "~>") || !strcmp(op, "~=")) {
			struct version high = version_bump(v, last > 0 ? last - 1 : 0);
			range_limit(r, &v, last > 0 ? &high : NULL);
		}
	}
	r->exact = comparators == 1 && only_equal;
	return comparators > 0;
}

/* "3.12" for precision 2, padded with zeros ("1.41.0" for precision 3). */
static char *version_format(const struct version *v, int precision)
{
	struct buf out = BUF_INIT;
	for (int i = 0; i < precision; i++)
		buf_addf(&out, "%s%ld", i ? "." : "", v->part[i]);
	return buf_detach(&out);
}

char *dockerfile_version_choose(const struct yaml_node *entry, const char *declared,
				struct buf *why)
{
	long long precision = 1;
	yaml_int(yaml_get(entry, "precision"), NULL, &precision, NULL);
	const struct yaml_node *supported = yaml_get(entry, "supported");
	const char *def = yaml_str(yaml_get(entry, "default"));
	bool floor = false;
	const struct yaml_node *floor_node = yaml_get(entry, "floor");
	if (floor_node)
		yaml_bool(floor_node, NULL, &floor, NULL);
	if (!declared || !isdigit((unsigned char)*(declared + strspn(declared, "v^~<>=! "))))
		return xstrdup(def);
	struct version best = { { 0 }, 0 }, oldest, newest;
	version_parse(supported->items[0]->value, &oldest);
	version_parse(supported->items[supported->count - 1]->value, &newest);
	bool any = false, found = false;
	for (const char *alt = declared; alt; alt = strstr(alt, "||")) {
		alt += alt == declared ? 0 : 2;
		const char *end = strstr(alt, "||");
		end = end ? end : alt + strlen(alt);
		struct range r;
		if (!range_parse(alt, end, &r))
			continue;
		any = true;
		if (r.exact) {
			struct version cut = r.low;
			for (int i = (int)precision; i < 3; i++)
				cut.part[i] = 0;
			/* A floor runtime's version is the least it needs (Go's `go 1.17`):
			 * the oldest maintained image is newer, so it builds there. */
			if (floor && version_cmp(&cut, &oldest) < 0)
				cut = oldest;
			if (version_cmp(&cut, &oldest) >= 0 &&
			    (!found || version_cmp(&cut, &best) > 0))
				best = cut, found = true;
			continue;
		}
		for (size_t i = 0; i < supported->count; i++) {
			struct version c;
			version_parse(supported->items[i]->value, &c);
			struct version c_high = version_bump(c, (int)precision - 1);
			bool inside = version_cmp(&r.low, &c_high) < 0 &&
				      (!r.bounded || version_cmp(&c, &r.high) < 0);
			if (inside && (!found || version_cmp(&c, &best) > 0))
				best = c, found = true;
		}
		if (!found && version_cmp(&r.low, &newest) > 0)
			best = r.low, found = true;
	}
	if (!any)
		return xstrdup(def);
	if (!found) {
		buf_addf(why, "%s is older than the oldest maintained image (%s)", declared,
			 supported->items[0]->value);
		return NULL;
	}
	return version_format(&best, (int)precision);
}

/* ------------------------------------------------------------------ */
/* Matching                                                             */

static bool node_has(const struct yaml_node *want, const char *value)
{
	if (!value)
		return false;
	if (want->kind == YAML_SCALAR)
		return strcmp(want->value, value) == 0;
	for (size_t i = 0; i < want->count; i++) {
		if (strcmp(want->items[i]->value, value) == 0)
			return true;
	}
	return false;
}

static bool json_list_meets(const json_t *list, const char *key, const struct yaml_node *want)
{
	size_t i;
	json_t *item;
	json_array_foreach(list, i, item)
	{
		const char *s = json_string_value(key ? json_object_get(item, key) : item);
		if (node_has(want, s))
			return true;
	}
	return false;
}

static bool starts_with_any(const char *s, const struct yaml_node *want)
{
	if (!s)
		return false;
	if (want->kind == YAML_SCALAR)
		return str_starts_with(s, want->value);
	for (size_t i = 0; i < want->count; i++) {
		if (str_starts_with(s, want->items[i]->value))
			return true;
	}
	return false;
}

bool dockerfile_recipe_matches(const struct yaml_node *match, const json_t *project,
			       const char *version)
{
	const json_t *commands = json_object_get(project, "commands");
	for (size_t i = 0; i < match->count; i++) {
		const char *key = match->pairs[i].key->value;
		const struct yaml_node *want = match->pairs[i].value;
		bool ok = true;
		if (!strcmp(key, "package_manager")) {
			ok = node_has(want,
				      json_string_value(json_array_get(
					      json_object_get(project, "package_managers"), 0)));
		} else if (!strcmp(key, "framework")) {
			ok = json_list_meets(json_object_get(project, "frameworks"), "name", want);
		} else if (!strcmp(key, "language")) {
			ok = node_has(want, json_get_str(project, "primary_language", NULL));
		} else if (!strcmp(key, "build")) {
			bool b = false;
			yaml_bool(want, NULL, &b, NULL);
			ok = b == (json_get_str(commands, "build", NULL) != NULL);
		} else if (!strcmp(key, "dev_server")) {
			bool b = false;
			yaml_bool(want, NULL, &b, NULL);
			ok = b == json_is_true(json_object_get(project, "dev_server"));
		} else if (!strcmp(key, "runtime_below")) {
			struct version have, limit;
			version_parse(version, &have);
			version_parse(want->value, &limit);
			ok = version_cmp(&have, &limit) < 0;
		} else if (!strcmp(key, "entry_point")) {
			ok = json_is_string(json_object_get(
				json_object_get(project, "entry_points"), want->value));
		} else if (!strcmp(key, "uses")) {
			static const char *const kinds[] = { "install", "build", "test", "start" };
			ok = false;
			for (size_t k = 0; k < 4; k++)
				ok = ok ||
				     starts_with_any(json_get_str(commands, kinds[k], NULL), want);
		}
		if (!ok)
			return false;
	}
	return true;
}

const struct yaml_node *dockerfile_recipe_overlay(const struct yaml_node *recipe,
						  const json_t *project)
{
	const struct yaml_node *overlays = yaml_get(recipe, "frameworks");
	for (size_t i = 0; overlays && i < overlays->count; i++) {
		if (json_list_meets(json_object_get(project, "frameworks"), "name",
				    overlays->pairs[i].key))
			return overlays->pairs[i].value;
	}
	return NULL;
}
