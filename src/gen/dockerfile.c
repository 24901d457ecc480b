/*
 * dockerfile: assembles a Dockerfile and .dockerignore from a recipe in
 * config/dockerfiles.yaml and a project of the analysis document.
 *
 * What to install, which images, users and health checks is data; this file
 * only picks the recipe, pins the versions, fills the placeholders and lays
 * out the stages in the order that keeps the dependency layer cached.
 */
#include "gen/dockerfile.h"
#include "gen/files.h"

#include "util/buf.h"
#include "util/embed.h"
#include "util/err.h"
#include "util/json.h"
#include "util/map.h"
#include "util/str.h"
#include "util/vec.h"
#include "util/xalloc.h"
#include "util/yaml.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_NAME "dockerfiles.yaml"

/* ------------------------------------------------------------------ */
/* Recipes: loading and validation                                      */

struct recipes {
	struct yaml_doc *doc;
	char *origin; /* "config/dockerfiles.yaml" or the override path */
	const struct yaml_node *versions, *list, *ignore;
	const char *healthcheck_options, *package_install;
};

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
	{ "needs_start", F_BOOL },
	{ "healthcheck", F_LIST },
	{ "ignore", F_LIST },
	{ "frameworks", F_OVERLAY },
	{ "build_at_root", F_BOOL },
	{ "unsupported", F_STR },
};

static const char *const match_keys[] = { "package_manager", "framework",     "language",
					  "build",	     "runtime_below", "uses" };

static const char *const placeholders[] = {
	"version", "install",	 "build",    "start",	      "program",     "args", "port",
	"name",	   "image_name", "manifest", "manifest_stem", "member_dirs", "user"
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
			if (strcmp(k, "build") == 0) {
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
	}
	return 0;
}

static void recipes_free(struct recipes *r)
{
	yaml_doc_free(r->doc);
	free(r->origin);
}

static int recipes_load(struct recipes *r, struct err *e)
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
		    strcmp(key, "healthcheck_options") && strcmp(key, "package_install"))
			return yaml_err(e, r->origin, root->pairs[i].key, "unknown key '%s'", key);
	}
	r->versions = yaml_get(root, "versions");
	r->list = yaml_get(root, "recipes");
	r->ignore = yaml_get(root, "ignore");
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

/*
 * Picks the image version for a runtime (the rule is documented at the top of
 * config/dockerfiles.yaml). NULL with *why set when the declared version is
 * older than every maintained image.
 */
static char *version_choose(const struct yaml_node *entry, const char *declared, struct buf *why)
{
	long long precision = 1;
	yaml_int(yaml_get(entry, "precision"), NULL, &precision, NULL);
	const struct yaml_node *supported = yaml_get(entry, "supported");
	const char *def = yaml_str(yaml_get(entry, "default"));
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

static bool recipe_matches(const struct yaml_node *match, const json_t *project,
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
		} else if (!strcmp(key, "runtime_below")) {
			struct version have, limit;
			version_parse(version, &have);
			version_parse(want->value, &limit);
			ok = version_cmp(&have, &limit) < 0;
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

/* ------------------------------------------------------------------ */
/* The project, its context and the placeholders                        */

struct gen {
	const struct recipes *r;
	const struct yaml_node *recipe;
	const struct yaml_node *overlay; /* the recipe's frameworks entry for this project */
	const json_t *analysis, *project;
	const char *path;    /* the project, from the repository root */
	const char *context; /* the build context, from the repository root */
	const char *member;  /* the project, from the context ("." when the same) */
	struct map *vars;    /* placeholder -> value (char *); absent = no value */
	char missing[64];    /* the placeholder that made the last fill fail */
	struct buf out;	     /* the Dockerfile */
};

/* A recipe field, as the project's framework entry overrides it. */
static const struct yaml_node *rget(const struct gen *g, const char *key)
{
	const struct yaml_node *node = g->overlay ? yaml_get(g->overlay, key) : NULL;
	return node ? node : yaml_get(g->recipe, key);
}

static const char *field(const struct gen *g, const char *key)
{
	return yaml_str(rget(g, key));
}

static bool field_bool(const struct gen *g, const char *key, bool def)
{
	const struct yaml_node *node = rget(g, key);
	bool value = def;
	if (node)
		yaml_bool(node, NULL, &value, NULL);
	return value;
}

static void var_set(struct gen *g, const char *name, const char *value)
{
	if (value)
		free(map_put(g->vars, name, xstrdup(value)));
}

/* Appends tmpl with its placeholders filled; false (g->missing set) when one has no value. */
static bool fill(struct gen *g, const char *tmpl, struct buf *out)
{
	for (const char *p = tmpl; *p; p++) {
		size_t n = *p == '{' ? strspn(p + 1, "abcdefghijklmnopqrstuvwxyz_:") : 0;
		if (n == 0 || p[1 + n] != '}') {
			buf_addch(out, *p);
			continue;
		}
		char name[64];
		snprintf(name, sizeof(name), "%.*s", (int)n, p + 1);
		const char *value = map_get(g->vars, name);
		if (!value) {
			snprintf(g->missing, sizeof(g->missing), "%s", name);
			return false;
		}
		buf_adds(out, value);
		p += n + 1;
	}
	return true;
}

/* A fresh string of the filled template, or NULL when a placeholder has no value. */
static char *fill_new(struct gen *g, const char *tmpl)
{
	struct buf out = BUF_INIT;
	if (!tmpl || !fill(g, tmpl, &out)) {
		buf_free(&out);
		return NULL;
	}
	return buf_detach(&out);
}

static const char *relative(const char *path, const char *base)
{
	if (strcmp(base, ".") == 0)
		return path;
	if (strcmp(path, base) == 0)
		return ".";
	return path + strlen(base) + 1;
}

static const json_t *project_at(const json_t *analysis, const char *path)
{
	size_t i;
	json_t *project;
	json_array_foreach(json_object_get(analysis, "projects"), i, project)
	{
		if (str_eq(json_get_str(project, "path", NULL), path))
			return project;
	}
	return NULL;
}

/*
 * The root when it is an app of a known stack (a workspace root only when it
 * starts something itself), else the first project with a package manager
 * and a start command.
 */
static const json_t *project_main(const json_t *analysis)
{
	const json_t *root = project_at(analysis, ".");
	const json_t *members = json_object_get(json_object_get(root, "workspace"), "members");
	if (root && json_get_str(root, "primary_language", NULL) &&
	    json_array_size(json_object_get(root, "package_managers")) > 0 &&
	    (json_array_size(members) == 0 ||
	     json_get_str(json_object_get(root, "commands"), "start", NULL)))
		return root;
	size_t i;
	json_t *project;
	json_array_foreach(json_object_get(analysis, "projects"), i, project)
	{
		if (json_get_str(json_object_get(project, "commands"), "start", NULL) &&
		    json_array_size(json_object_get(project, "package_managers")) > 0)
			return project;
	}
	return NULL;
}

/* "@acme/api" -> "acme-api": a valid image repository name. */
static char *image_name(const char *name)
{
	struct buf out = BUF_INIT;
	const char *slash = strchr(name, '/');
	if (slash && memchr(name, '.', (size_t)(slash - name)))
		name = strrchr(name, '/') + 1; /* a Go module path: its last element */
	for (const char *p = name; *p; p++) {
		char c = (char)tolower((unsigned char)*p);
		bool ok = isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-';
		if (out.len == 0 && !isalnum((unsigned char)c))
			continue;
		if (!ok && out.len && out.data[out.len - 1] == '-')
			continue;
		buf_addch(&out, ok ? c : '-');
	}
	if (out.len == 0)
		buf_adds(&out, "app");
	return buf_detach(&out);
}

/* The start command minus the recipe's prefixes, and its first word. */
static void set_start_vars(struct gen *g)
{
	const char *start = json_get_str(json_object_get(g->project, "commands"), "start", NULL);
	if (!start)
		return;
	const struct yaml_node *strip = rget(g, "start_strip");
	for (size_t i = 0; strip && i < strip->count; i++) {
		if (str_starts_with(start, strip->items[i]->value)) {
			start += strlen(strip->items[i]->value);
			break;
		}
	}
	var_set(g, "start", start);
	size_t n = strcspn(start, " \t");
	char *program = xstrdup(start);
	program[n] = '\0';
	var_set(g, "program", program);
	const char *args = start + n + strspn(start + n, " \t");
	var_set(g, "args", args);
	free(program);
}

static void set_vars(struct gen *g, const char *version)
{
	const json_t *p = g->project, *commands = json_object_get(p, "commands");
	var_set(g, "version", version);
	var_set(g, "install", json_get_str(commands, "install", NULL));
	var_set(g, "build", json_get_str(commands, "build", NULL));
	const char *name = json_get_str(p, "name", "app");
	var_set(g, "name", name);
	char *image = image_name(name);
	var_set(g, "image_name", image);
	free(image);
	var_set(g, "user", field(g, "user"));
	json_t *port = json_object_get(p, "port");
	if (json_is_integer(port)) {
		char text[32];
		snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(port));
		var_set(g, "port", text);
	}
	const char *manifest =
		json_string_value(json_array_get(json_object_get(p, "manifests"), 0));
	if (manifest) {
		var_set(g, "manifest", relative(manifest, g->context));
		const char *base = strrchr(manifest, '/') ? strrchr(manifest, '/') + 1 : manifest;
		char *stem = xstrdup(base);
		char *dot = strrchr(stem, '.');
		if (dot && dot != stem)
			*dot = '\0';
		var_set(g, "manifest_stem", stem);
		free(stem);
	}
	struct buf dirs = BUF_INIT;
	buf_adds(&dirs, ".");
	size_t i;
	json_t *other;
	json_array_foreach(json_object_get(g->analysis, "projects"), i, other)
	{
		const char *of =
			json_get_str(json_object_get(other, "workspace"), "member_of", NULL);
		if (str_eq(of, g->context))
			buf_addf(&dirs, " %s",
				 relative(json_get_str(other, "path", "."), g->context));
	}
	var_set(g, "member_dirs", dirs.data);
	buf_free(&dirs);
	set_start_vars(g);
}

/* ------------------------------------------------------------------ */
/* Writing instructions                                                 */

/* RUN, broken before each "&&" outside quotes when the line is long. */
static void emit_run(struct gen *g, const char *command)
{
	buf_adds(&g->out, "RUN ");
	bool wrap = strlen(command) > 80 && !strstr(command, "; do ");
	char quote = 0;
	for (const char *p = command; *p; p++) {
		if (quote ? *p == quote : (*p == '\'' || *p == '"'))
			quote = quote ? 0 : *p;
		if (wrap && !quote && strncmp(p, " && ", 4) == 0) {
			buf_adds(&g->out, " \\\n\t&& ");
			p += 3;
			continue;
		}
		buf_addch(&g->out, *p);
	}
	buf_addch(&g->out, '\n');
}

/* Runs each filled entry of a list field; false when a required one cannot be filled. */
static bool emit_runs(struct gen *g, const char *key)
{
	const struct yaml_node *list = rget(g, key);
	for (size_t i = 0; list && i < list->count; i++) {
		char *command = fill_new(g, list->items[i]->value);
		if (!command)
			return false;
		emit_run(g, command);
		free(command);
	}
	return true;
}

/* An optional step, NULL when the recipe says null or a placeholder has no value. */
static char *step_command(struct gen *g, const char *key, const char *def)
{
	const struct yaml_node *node = rget(g, key);
	return fill_new(g, node ? (yaml_is_null(node) ? NULL : node->value) : def);
}

static void emit_step(struct gen *g, const char *key, const char *def)
{
	char *command = step_command(g, key, def);
	if (command)
		emit_run(g, command);
	free(command);
}

static void emit_env(struct gen *g, const char *key)
{
	const struct yaml_node *env = rget(g, key);
	struct buf lines = BUF_INIT;
	for (size_t i = 0; env && i < env->count; i++) {
		char *value = fill_new(g, env->pairs[i].value->value);
		if (!value)
			continue;
		bool bare = value[0] &&
			    strspn(value, "abcdefghijklmnopqrstuvwxyz"
					  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:,@%+-") ==
				    strlen(value);
		buf_addf(&lines, "%s%s=", lines.len ? " \\\n\t" : "", env->pairs[i].key->value);
		if (bare) {
			buf_adds(&lines, value);
		} else {
			buf_addch(&lines, '"');
			for (const char *p = value; *p; p++) {
				if (*p == '"' || *p == '\\')
					buf_addch(&lines, '\\');
				buf_addch(&lines, *p);
			}
			buf_addch(&lines, '"');
		}
		free(value);
	}
	if (lines.len)
		buf_addf(&g->out, "ENV %s\n", lines.data);
	buf_free(&lines);
}

static void push_list(struct vec *names, const struct yaml_node *list)
{
	for (size_t i = 0; list && i < list->count; i++)
		vec_push(names, (void *)list->items[i]->value);
}

/*
 * Distro packages of a stage: the recipe's, plus the system libraries its
 * (non-dev) dependencies need; a single stage gets both sets.
 */
static void emit_packages(struct gen *g, bool build_stage, bool final_stage)
{
	struct vec names = VEC_INIT;
	if (build_stage)
		push_list(&names, rget(g, "build_packages"));
	if (final_stage)
		push_list(&names, rget(g, "packages"));
	const struct yaml_node *deps = rget(g, "dependency_packages");
	for (size_t i = 0; deps && i < deps->count; i++) {
		const char *dep = yaml_str(yaml_get(deps->items[i], "dependency"));
		size_t j;
		json_t *d;
		bool used = false;
		json_array_foreach(json_object_get(g->project, "dependencies"), j, d)
		{
			used = used || (str_eq(json_get_str(d, "name", NULL), dep) &&
					!json_get_bool(d, "dev", false));
		}
		if (used && build_stage)
			push_list(&names, yaml_get(deps->items[i], "build"));
		if (used && final_stage)
			push_list(&names, yaml_get(deps->items[i], "runtime"));
	}
	struct buf joined = BUF_INIT;
	for (size_t i = 0; i < names.len; i++) {
		bool seen = false;
		for (size_t j = 0; j < i; j++)
			seen = seen || strcmp(names.items[i], names.items[j]) == 0;
		if (!seen)
			buf_addf(&joined, "%s%s", joined.len ? " " : "", (char *)names.items[i]);
	}
	if (joined.len) {
		var_set(g, "packages", joined.data);
		char *command = fill_new(g, g->r->package_install);
		emit_run(g, command);
		free(command);
	}
	buf_free(&joined);
	vec_free(&names, NULL);
}

/* Adds path to files unless it is there already. */
static void files_add(struct vec *files, const char *path)
{
	for (size_t i = 0; i < files->len; i++) {
		if (strcmp(files->items[i], path) == 0)
			return;
	}
	vec_push(files, xstrdup(path));
}

static void files_add_manifests(struct gen *g, struct vec *files, const json_t *project)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(project, "manifests"), i, m)
	{
		files_add(files, relative(json_string_value(m), g->context));
	}
}

/*
 * The dependency files, copied before the install step so that the layer
 * it makes is rebuilt only when they change: the context's manifests, the
 * recipe's lock files and every workspace member's manifests, each into
 * its own directory.
 */
static void emit_dependency_files(struct gen *g, const char *chown)
{
	struct vec files = VEC_INIT;
	files_add_manifests(g, &files, project_at(g->analysis, g->context));
	const struct yaml_node *extra = rget(g, "files");
	for (size_t i = 0; extra && i < extra->count; i++) {
		bool covered = false; /* build.gradle* when build.gradle.kts is listed */
		for (size_t k = 0; k < files.len; k++)
			covered =
				covered || fnmatch(extra->items[i]->value, files.items[k], 0) == 0;
		if (!covered)
			files_add(&files, extra->items[i]->value);
	}
	size_t i;
	json_t *other;
	json_array_foreach(json_object_get(g->analysis, "projects"), i, other)
	{
		const char *of =
			json_get_str(json_object_get(other, "workspace"), "member_of", NULL);
		if (other == g->project || str_eq(of, g->context))
			files_add_manifests(g, &files, other);
	}
	struct buf line = BUF_INIT;
	buf_addf(&line, "COPY %s", chown);
	buf_rtrim(&line);
	size_t plain = line.len;
	for (size_t k = 0; k < files.len; k++) {
		const char *f = files.items[k];
		if (!strchr(f, '/'))
			buf_addf(&line, " %s", f);
	}
	if (line.len > plain)
		buf_addf(&g->out, "%s ./\n", line.data);
	for (size_t k = 0; k < files.len; k++) {
		const char *f = files.items[k];
		const char *slash = strrchr(f, '/');
		if (!slash)
			continue;
		if (slash[1] == '\0')
			buf_addf(&g->out, "COPY %s%s %s\n", chown, f, f);
		else
			buf_addf(&g->out, "COPY %s%s %.*s\n", chown, f, (int)(slash - f + 1), f);
	}
	buf_free(&line);
	vec_free(&files, free);
}

/* CMD/HEALTHCHECK exec form: a JSON array. */
static void emit_argv(struct buf *out, const struct vec *argv)
{
	buf_addch(out, '[');
	for (size_t i = 0; i < argv->len; i++) {
		json_t *s = json_string(argv->items[i]);
		char *text = json_dumps(s, JSON_ENCODE_ANY);
		buf_addf(out, "%s%s", i ? ", " : "", text);
		free(text);
		json_decref(s);
	}
	buf_addch(out, ']');
}

/* Words of a command; a command that needs a shell becomes sh -c. */
static void split_command(const char *command, struct vec *argv)
{
	bool shell = strpbrk(command, "$&|;<>*?()`\\\"'") != NULL;
	size_t n = strcspn(command, " =");
	shell = shell || command[n] == '='; /* FOO=bar cmd */
	if (shell) {
		vec_push(argv, xstrdup("sh"));
		vec_push(argv, xstrdup("-c"));
		vec_push(argv, xstrdup(command));
		return;
	}
	str_split(command, ' ', argv);
	for (size_t i = argv->len; i-- > 0;) {
		if (((char *)argv->items[i])[0] == '\0')
			free(vec_remove(argv, i));
	}
}

static void emit_healthcheck(struct gen *g)
{
	const struct yaml_node *list = rget(g, "healthcheck");
	struct vec argv = VEC_INIT;
	for (size_t i = 0; list && i < list->count; i++) {
		char *arg = fill_new(g, list->items[i]->value);
		if (!arg) {
			vec_free(&argv, free);
			return; /* no port: nothing to check */
		}
		vec_push(&argv, arg);
	}
	if (argv.len) {
		buf_addf(&g->out, "HEALTHCHECK %s CMD ", g->r->healthcheck_options);
		emit_argv(&g->out, &argv);
		buf_addch(&g->out, '\n');
	}
	vec_free(&argv, free);
}

/* Each "IMAGE FROM TO" of copy_images: a tool taken from its official image. */
static bool emit_copy_images(struct gen *g)
{
	const struct yaml_node *list = rget(g, "copy_images");
	for (size_t i = 0; list && i < list->count; i++) {
		char *spec = fill_new(g, list->items[i]->value);
		if (!spec)
			return false;
		size_t n = strcspn(spec, " ");
		buf_addf(&g->out, "COPY --from=%.*s%s\n", (int)n, spec, spec + n);
		free(spec);
	}
	return true;
}

static void emit_install_and_build(struct gen *g, const char *chown)
{
	bool member = strcmp(g->member, ".") != 0 && !field_bool(g, "build_at_root", false);
	emit_dependency_files(g, chown);
	emit_step(g, "install", "{install}");
	buf_addf(&g->out, "COPY %s. .\n", chown);
	char *build = step_command(g, "build", "{build}");
	if (build && member)
		buf_addf(&g->out, "WORKDIR /app/%s\n", g->member);
	if (build)
		emit_run(g, build);
	if (build && member)
		buf_adds(&g->out, "WORKDIR /app\n");
	free(build);
	emit_step(g, "after_build", NULL);
}

static bool emit_user_setup(struct gen *g)
{
	const char *create = field(g, "create_user");
	char *command = create ? fill_new(g, create) : NULL;
	if (create && !command)
		return false;
	if (command)
		emit_run(g, command);
	free(command);
	buf_adds(&g->out, "WORKDIR /app\n");
	return emit_runs(g, "setup");
}

/* Paths the app writes at run time, owned by its user; relative to the project. */
static void emit_writable(struct gen *g)
{
	const struct yaml_node *list = rget(g, "writable");
	struct buf paths = BUF_INIT;
	for (size_t i = 0; list && i < list->count; i++) {
		if (strcmp(g->member, ".") != 0)
			buf_addf(&paths, " %s/%s", g->member, list->items[i]->value);
		else
			buf_addf(&paths, " %s", list->items[i]->value);
	}
	if (paths.len) {
		struct buf command = BUF_INIT;
		buf_addf(&command, "mkdir -p%s && chown -R %s%s", paths.data, field(g, "user"),
			 paths.data);
		emit_run(g, command.data);
		buf_free(&command);
	}
	buf_free(&paths);
}

static int unsupported(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int unsupported(struct err *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_vset(e, fmt, ap);
	va_end(ap);
	return GEN_UNSUPPORTED;
}

/* The stages. GEN_UNSUPPORTED when a required field cannot be filled. */
static int emit_dockerfile(struct gen *g, const char *what, struct err *e)
{
	bool multi = field(g, "build_image") != NULL;
	bool as_user = field_bool(g, "run_as_user", false);
	const char *user = field(g, "user");
	char *image = fill_new(g, field(g, "image"));
	char *build_image = multi ? fill_new(g, field(g, "build_image")) : NULL;
	char *start = NULL;
	struct vec argv = VEC_INIT;
	int rc = 0;
	if (!image || (multi && !build_image))
		goto missing;
	if (multi) {
		buf_addf(&g->out,
			 "# Build stage: the toolchain and every dependency.\n"
			 "FROM %s AS build\n",
			 build_image);
		emit_env(g, "build_env");
		emit_packages(g, true, false);
		buf_adds(&g->out, "WORKDIR /app\n");
		if (!emit_runs(g, "build_setup") || !emit_copy_images(g))
			goto missing;
		emit_install_and_build(g, "");
		buf_addf(&g->out,
			 "\n# Runtime stage: the app and what it needs to run, nothing "
			 "else.\nFROM %s\n",
			 image);
		emit_env(g, "env");
		emit_packages(g, false, true);
		if (!emit_user_setup(g))
			goto missing;
		const struct yaml_node *artifacts = rget(g, "artifacts");
		for (size_t i = 0; i < (artifacts ? artifacts->count : 1); i++) {
			char *copy =
				fill_new(g, artifacts ? artifacts->items[i]->value : "/app /app");
			if (!copy)
				goto missing;
			buf_addf(&g->out, "COPY --from=build %s\n", copy);
			free(copy);
		}
	} else {
		buf_addf(&g->out, "FROM %s\n", image);
		emit_env(g, "env");
		emit_packages(g, true, true);
		if (!emit_user_setup(g) || !emit_copy_images(g))
			goto missing;
		struct buf chown = BUF_INIT;
		if (as_user) {
			buf_addf(&g->out, "USER %s\n", user);
			buf_addf(&chown, "--chown=%s:%s ", user, user);
		}
		emit_install_and_build(g, chown.data ? chown.data : "");
		buf_free(&chown);
	}
	emit_writable(g);
	/* The member's directory exists when the whole workspace was copied. */
	if (strcmp(g->member, ".") != 0 && (!multi || !rget(g, "artifacts")))
		buf_addf(&g->out, "WORKDIR /app/%s\n", g->member);
	if (multi || !as_user)
		buf_addf(&g->out, "USER %s\n", user);
	if (map_get(g->vars, "port"))
		buf_addf(&g->out, "EXPOSE %s\n", (char *)map_get(g->vars, "port"));
	emit_healthcheck(g);
	if (field_bool(g, "needs_start", true) && !map_get(g->vars, "start")) {
		rc = unsupported(e,
				 "cannot write a Dockerfile for %s: it has no start command "
				 "(add a start script or a Procfile web: process)",
				 what);
		goto out;
	}
	start = fill_new(g, field(g, "start") ? field(g, "start") : "{start}");
	if (!start)
		goto missing;
	split_command(start, &argv);
	buf_adds(&g->out, "CMD ");
	emit_argv(&g->out, &argv);
	buf_addch(&g->out, '\n');
	goto out;
missing:
	rc = unsupported(e,
			 "cannot write a Dockerfile for %s: recipe '%s' needs {%s}, which the "
			 "analysis does not give",
			 what, field(g, "id"), g->missing);
out:
	vec_free(&argv, free);
	free(start);
	free(image);
	free(build_image);
	return rc;
}

/* "the nextjs project at apps/web (typescript, pnpm, node 20.11.0)" */
static void describe(const json_t *p, struct buf *out)
{
	const json_t *frameworks = json_object_get(p, "frameworks");
	const char *kind = json_get_str(json_array_get(frameworks, json_array_size(frameworks) - 1),
					"name", NULL);
	const char *language = json_get_str(p, "primary_language", NULL);
	buf_addf(out, "the %s project at %s (",
		 kind	    ? kind
		 : language ? language
			    : "unknown",
		 json_get_str(p, "path", "."));
	size_t mark = out->len;
	if (language)
		buf_adds(out, language);
	const char *pm =
		json_string_value(json_array_get(json_object_get(p, "package_managers"), 0));
	if (pm)
		buf_addf(out, "%s%s", out->len > mark ? ", " : "", pm);
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)json_object_get(p, "runtimes"), key, value)
	{
		if (json_is_string(value))
			buf_addf(out, "%s%s %s", out->len > mark ? ", " : "", key,
				 json_string_value(value));
	}
	if (out->len == mark)
		buf_adds(out, "nothing detected");
	buf_addch(out, ')');
}

/* Build instructions and the variables to set at deploy time, as comments. */
static void emit_preamble(struct gen *g, const char *command, const char *what,
			  const char *dockerfile)
{
	gen_header(&g->out, "#", command, what);
	const char *image = map_get(g->vars, "image_name");
	if (strcmp(g->context, g->path) == 0)
		buf_addf(&g->out, "# Build: docker build -t %s %s\n", image, g->context);
	else
		buf_addf(&g->out, "# Build from the workspace root: docker build -f %s -t %s %s\n",
			 dockerfile, image, g->context);
	struct buf names = BUF_INIT;
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(g->project, "env"), i, v)
	{
		const char *name = json_get_str(v, "name", NULL);
		if (name && strcmp(name, "PORT") != 0)
			buf_addf(&names, "%s%s", names.len ? ", " : "", name);
	}
	if (names.len)
		buf_addf(&g->out, "# Set at run time, never in the image: %s.\n", names.data);
	buf_free(&names);
	buf_addch(&g->out, '\n');
}

static char *dockerignore(struct gen *g, const char *command, const char *what)
{
	struct buf out = BUF_INIT;
	gen_header(&out, "#", command, what);
	struct vec seen = VEC_INIT;
	const struct yaml_node *lists[] = { g->r->ignore, rget(g, "ignore") };
	for (size_t l = 0; l < 2; l++) {
		for (size_t i = 0; lists[l] && i < lists[l]->count; i++) {
			const char *line = lists[l]->items[i]->value;
			bool dup = false;
			for (size_t j = 0; j < seen.len; j++)
				dup = dup || strcmp(seen.items[j], line) == 0;
			if (!dup) {
				vec_push(&seen, (void *)line);
				buf_addf(&out, "%s\n", line);
			}
		}
	}
	vec_free(&seen, NULL);
	return buf_detach(&out);
}

/* ------------------------------------------------------------------ */
/* Entry point                                                          */

static const struct yaml_node *recipe_choose(struct gen *g)
{
	for (size_t i = 0; i < g->r->list->count; i++) {
		const struct yaml_node *recipe = g->r->list->items[i];
		struct buf key = BUF_INIT;
		buf_addf(&key, "version:%s", yaml_str(yaml_get(recipe, "runtime")));
		const char *version = map_get(g->vars, key.data);
		buf_free(&key);
		if (recipe_matches(yaml_get(recipe, "match"), g->project, version ? version : "0"))
			return recipe;
	}
	return NULL;
}

/* The project's declared version, else its workspace root's (where pins usually live). */
static const char *declared_version(const struct gen *g, const char *runtime)
{
	const char *version = json_get_str(json_object_get(g->project, "runtimes"), runtime, NULL);
	const char *root =
		json_get_str(json_object_get(g->project, "workspace"), "member_of", NULL);
	if (!version && root)
		version = json_get_str(json_object_get(project_at(g->analysis, root), "runtimes"),
				       runtime, NULL);
	return version;
}

/* {version:RUNTIME} for every runtime the recipes know. */
static void set_versions(struct gen *g)
{
	for (size_t i = 0; i < g->r->versions->count; i++) {
		const char *runtime = g->r->versions->pairs[i].key->value;
		struct buf why = BUF_INIT, key = BUF_INIT;
		char *version = version_choose(g->r->versions->pairs[i].value,
					       declared_version(g, runtime), &why);
		buf_addf(&key, "version:%s", runtime);
		var_set(g, key.data, version);
		free(version);
		buf_free(&key);
		buf_free(&why);
	}
}

static int generate(struct gen *g, const struct dockerfile_options *options, struct gen_files *out,
		    struct err *e)
{
	struct buf what = BUF_INIT;
	describe(g->project, &what);
	set_versions(g);
	g->recipe = recipe_choose(g);
	if (!g->recipe) {
		int rc = unsupported(e, "cannot write a Dockerfile for %s: no recipe in %s fits it",
				     what.data, g->r->origin);
		buf_free(&what);
		return rc;
	}
	const struct yaml_node *overlays = yaml_get(g->recipe, "frameworks");
	for (size_t i = 0; overlays && i < overlays->count && !g->overlay; i++) {
		if (json_list_meets(json_object_get(g->project, "frameworks"), "name",
				    overlays->pairs[i].key))
			g->overlay = overlays->pairs[i].value;
	}
	if (field(g, "unsupported")) {
		int rc = unsupported(e, "cannot write a Dockerfile for %s: %s", what.data,
				     field(g, "unsupported"));
		buf_free(&what);
		return rc;
	}
	const char *runtime = field(g, "runtime");
	struct buf why = BUF_INIT;
	char *version = version_choose(yaml_get(g->r->versions, runtime),
				       declared_version(g, runtime), &why);
	int rc = 0;
	if (!version) {
		rc = unsupported(e, "cannot write a Dockerfile for %s: %s %s", what.data, runtime,
				 why.data);
		goto out;
	}
	const char *member_of =
		json_get_str(json_object_get(g->project, "workspace"), "member_of", NULL);
	g->context = str_eq(field(g, "context"), "workspace") && member_of ? member_of : g->path;
	g->member = relative(g->path, g->context);
	set_vars(g, version);

	struct buf dockerfile = BUF_INIT, ignore = BUF_INIT;
	const char *dir = strcmp(g->path, ".") == 0 ? "" : g->path;
	buf_addf(&dockerfile, "%s%sDockerfile", dir, *dir ? "/" : "");
	buf_addf(&ignore, "%s%s%s", dir, *dir ? "/" : "",
		 strcmp(g->context, g->path) == 0 ? ".dockerignore" : "Dockerfile.dockerignore");
	const char *command =
		options && options->command ? options->command : "ampel generate dockerfile";
	emit_preamble(g, command, what.data, dockerfile.data);
	rc = emit_dockerfile(g, what.data, e);
	if (rc == 0) {
		char *ignore_text = dockerignore(g, command, what.data);
		gen_files_add(out, dockerfile.data, g->out.data);
		gen_files_add(out, ignore.data, ignore_text);
		free(ignore_text);
	}
	buf_free(&dockerfile);
	buf_free(&ignore);
out:
	free(version);
	buf_free(&why);
	buf_free(&what);
	return rc;
}

int gen_dockerfile(const json_t *analysis, const struct dockerfile_options *options,
		   struct gen_files *out, struct err *e)
{
	const char *wanted = options ? options->project : NULL;
	const json_t *project = wanted ? project_at(analysis, wanted) : project_main(analysis);
	if (!project && wanted)
		return err_set(e, "no project at '%s' in the analysis", wanted);
	if (!project)
		return unsupported(e, "cannot write a Dockerfile: the root is not an app of a "
				      "known stack and no project has a start command (name one "
				      "with --project)");
	struct recipes r;
	if (recipes_load(&r, e) < 0) {
		recipes_free(&r);
		return -1;
	}
	struct gen g = { .r = &r, .analysis = analysis, .project = project };
	g.path = json_get_str(project, "path", ".");
	g.vars = map_new();
	int rc = generate(&g, options, out, e);
	map_free(g.vars, free);
	buf_free(&g.out);
	recipes_free(&r);
	return rc;
}
