#include "gen/templates.h"

#include "util/arena.h"
#include "util/buf.h"
#include "util/embed.h"
#include "util/err.h"
#include "util/json.h"
#include "util/map.h"
#include "util/str.h"
#include "util/xalloc.h"
#include "util/yaml.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ---- loading ---- */

struct loader {
	struct ci_templates *t;
	const char *file;
	struct err *e;
};

static bool key_known(const char *key, const char *const *allowed)
{
	for (; *allowed; allowed++)
		if (str_eq(key, *allowed))
			return true;
	return false;
}

static int check_keys(struct loader *l, const struct yaml_node *node, const char *what,
		      const char *const *allowed)
{
	if (!node)
		return err_set(l->e, "%s: %s is missing", l->file, what);
	if (node->kind != YAML_MAPPING)
		return yaml_err(l->e, l->file, node, "%s must be a mapping", what);
	for (size_t i = 0; i < node->count; i++) {
		const char *key = yaml_str(node->pairs[i].key);
		if (!key_known(key, allowed)) {
			struct buf list = BUF_INIT;
			for (const char *const *a = allowed; *a; a++)
				buf_addf(&list, "%s%s", a == allowed ? "" : ", ", *a);
			yaml_err(l->e, l->file, node->pairs[i].key,
				 "%s: unknown field '%s' (expected one of %s)", what,
				 key ? key : "?", list.data);
			buf_free(&list);
			return -1;
		}
	}
	return 0;
}

/* A non-empty string field; NULL (and no error) when absent and optional. */
static int get_str(struct loader *l, const struct yaml_node *map, const char *key, const char *what,
		   bool required, const char **out)
{
	const struct yaml_node *node = yaml_get(map, key);
	*out = NULL;
	if (!node) {
		if (required)
			return yaml_err(l->e, l->file, map, "%s: '%s' is required", what, key);
		return 0;
	}
	const char *text = yaml_str(node);
	if (!text || !*text)
		return yaml_err(l->e, l->file, node, "%s: '%s' must be a non-empty string", what,
				key);
	*out = arena_strdup(l->t->arena, text);
	return 0;
}

static int get_str_list(struct loader *l, const struct yaml_node *map, const char *key,
			const char *what, struct vec *out)
{
	const struct yaml_node *node = yaml_get(map, key);
	if (!node)
		return 0;
	if (node->kind != YAML_SEQUENCE)
		return yaml_err(l->e, l->file, node, "%s: '%s' must be a list of strings", what,
				key);
	for (size_t i = 0; i < node->count; i++) {
		const char *text = yaml_str(node->items[i]);
		if (!text || !*text)
			return yaml_err(l->e, l->file, node->items[i],
					"%s: '%s' must hold non-empty strings", what, key);
		vec_push(out, arena_strdup(l->t->arena, text));
	}
	return 0;
}

static json_t *keep_json(struct loader *l, const struct yaml_node *node)
{
	json_t *value = json_from_yaml(node);
	vec_push(&l->t->json_values, value);
	return value;
}

/* GitHub steps: a list of mappings, each with `uses` or `run`. */
static int get_steps(struct loader *l, const struct yaml_node *map, const char *key,
		     const char *what, json_t **out)
{
	const struct yaml_node *node = yaml_get(map, key);
	*out = NULL;
	if (!node)
		return 0;
	if (node->kind != YAML_SEQUENCE)
		return yaml_err(l->e, l->file, node, "%s: '%s' must be a list of steps", what, key);
	for (size_t i = 0; i < node->count; i++) {
		const struct yaml_node *step = node->items[i];
		if (step->kind != YAML_MAPPING ||
		    (!yaml_get(step, "uses") && !yaml_get(step, "run")))
			return yaml_err(l->e, l->file, step,
					"%s: each '%s' step must be a mapping with 'uses' or 'run'",
					what, key);
		const char *uses = yaml_str(yaml_get(step, "uses"));
		if (uses && !strchr(uses, '@'))
			return yaml_err(l->e, l->file, step,
					"%s: action '%s' must be pinned to a version (name@v1)",
					what, uses);
	}
	*out = keep_json(l, node);
	return 0;
}

static int get_env(struct loader *l, const struct yaml_node *map, const char *key, const char *what,
		   json_t **out)
{
	const struct yaml_node *node = yaml_get(map, key);
	*out = NULL;
	if (!node)
		return 0;
	if (node->kind != YAML_MAPPING)
		return yaml_err(l->e, l->file, node, "%s: '%s' must map names to strings", what,
				key);
	for (size_t i = 0; i < node->count; i++)
		if (node->pairs[i].value->kind != YAML_SCALAR)
			return yaml_err(l->e, l->file, node->pairs[i].value,
					"%s: '%s' values must be strings", what, key);
	*out = keep_json(l, node);
	return 0;
}

static int parse_runtime(struct loader *l, const char *id, const struct yaml_node *node)
{
	static const char *const fields[] = { "name",
					      "languages",
					      "default",
					      "versions",
					      "image",
					      "image_versions",
					      "image_setup",
					      "variables",
					      "tools",
					      "github",
					      "companion_image_setup",
					      NULL };
	struct buf what = BUF_INIT;
	buf_addf(&what, "runtime '%s'", id);
	struct ci_runtime_template *rt = arena_calloc(l->t->arena, 1, sizeof(*rt));
	vec_push(&l->t->runtimes, rt);
	rt->id = arena_strdup(l->t->arena, id);
	int rc = -1;
	if (check_keys(l, node, what.data, fields) < 0 ||
	    get_str(l, node, "name", what.data, true, &rt->name) < 0 ||
	    get_str_list(l, node, "languages", what.data, &rt->languages) < 0 ||
	    get_str(l, node, "default", what.data, true, &rt->default_version) < 0 ||
	    get_str_list(l, node, "versions", what.data, &rt->versions) < 0 ||
	    get_str(l, node, "image", what.data, true, &rt->image) < 0 ||
	    get_str_list(l, node, "image_setup", what.data, &rt->image_setup) < 0 ||
	    get_str_list(l, node, "tools", what.data, &rt->tools) < 0 ||
	    get_str_list(l, node, "companion_image_setup", what.data, &rt->companion_image_setup) <
		    0 ||
	    get_steps(l, node, "github", what.data, &rt->github) < 0)
		goto out;
	if (!rt->github) {
		yaml_err(l->e, l->file, node, "%s: 'github' setup steps are required", what.data);
		goto out;
	}
	/* The version is in the image's tag, or image_setup installs it by version. */
	bool pinned = strstr(rt->image, "{") != NULL;
	for (size_t i = 0; i < rt->image_setup.len; i++)
		pinned = pinned || strstr(rt->image_setup.items[i], "{version}");
	if (!pinned) {
		yaml_err(l->e, l->file, yaml_get(node, "image"),
			 "%s: image (or image_setup) must be pinned to the runtime version "
			 "({version})",
			 what.data);
		goto out;
	}
	const struct yaml_node *aliases = yaml_get(node, "image_versions");
	if (aliases) {
		if (aliases->kind != YAML_MAPPING) {
			yaml_err(l->e, l->file, aliases, "%s: image_versions must be a mapping",
				 what.data);
			goto out;
		}
		rt->image_versions = map_new();
		for (size_t i = 0; i < aliases->count; i++) {
			const char *value = yaml_str(aliases->pairs[i].value);
			if (!value || !*value) {
				yaml_err(l->e, l->file, aliases->pairs[i].value,
					 "%s: image_versions values must be strings", what.data);
				goto out;
			}
			map_put(rt->image_versions, yaml_str(aliases->pairs[i].key),
				arena_strdup(l->t->arena, value));
		}
	}
	const struct yaml_node *variables = yaml_get(node, "variables");
	if (variables && variables->kind != YAML_MAPPING) {
		yaml_err(l->e, l->file, variables, "%s: variables must be a mapping", what.data);
		goto out;
	}
	for (size_t i = 0; variables && i < variables->count; i++) {
		static const char *const var_fields[] = { "runtime", "default", NULL };
		struct ci_variable *v = arena_calloc(l->t->arena, 1, sizeof(*v));
		v->name = arena_strdup(l->t->arena, yaml_str(variables->pairs[i].key));
		const struct yaml_node *spec = variables->pairs[i].value;
		if (check_keys(l, spec, what.data, var_fields) < 0 ||
		    get_str(l, spec, "runtime", what.data, true, &v->runtime) < 0 ||
		    get_str(l, spec, "default", what.data, true, &v->default_value) < 0)
			goto out;
		vec_push(&rt->variables, v);
	}
	rc = 0;
out:
	buf_free(&what);
	return rc;
}

static int parse_cache(struct loader *l, struct ci_pm_template *pm, const struct yaml_node *node,
		       const char *what)
{
	static const char *const fields[] = { "paths",	      "env",	 "github",
					      "github_files", "builtin", NULL };
	if (!node)
		return 0;
	if (check_keys(l, node, what, fields) < 0 ||
	    get_str_list(l, node, "paths", what, &pm->cache_paths) < 0 ||
	    get_env(l, node, "env", what, &pm->cache_env) < 0 ||
	    get_str(l, node, "github", what, false, &pm->cache_github) < 0 ||
	    get_str_list(l, node, "github_files", what, &pm->cache_github_files) < 0)
		return -1;
	const struct yaml_node *builtin = yaml_get(node, "builtin");
	if (builtin && yaml_bool(builtin, l->file, &pm->cache_builtin, l->e) < 0)
		return -1;
	if (!pm->cache_paths.len)
		return yaml_err(l->e, l->file, node, "%s: cache needs 'paths'", what);
	return 0;
}

static int parse_pm(struct loader *l, const char *id, const struct yaml_node *node)
{
	static const char *const fields[] = { "runtimes",
					      "default_version",
					      "lock_files",
					      "lock_proven_by",
					      "image",
					      "install",
					      "github_before",
					      "github_after",
					      "image_setup",
					      "env",
					      "cache",
					      "audit",
					      "coverage",
					      "coverage_when",
					      "coverage_path",
					      "workspace",
					      NULL };
	struct buf what = BUF_INIT;
	buf_addf(&what, "package manager '%s'", id);
	struct ci_pm_template *pm = arena_calloc(l->t->arena, 1, sizeof(*pm));
	vec_push(&l->t->package_managers, pm);
	pm->id = arena_strdup(l->t->arena, id);
	const char *workspace = NULL;
	int rc = -1;
	if (check_keys(l, node, what.data, fields) < 0 ||
	    get_str_list(l, node, "runtimes", what.data, &pm->runtimes) < 0 ||
	    get_str(l, node, "default_version", what.data, false, &pm->default_version) < 0 ||
	    get_str_list(l, node, "lock_files", what.data, &pm->lock_files) < 0 ||
	    get_str(l, node, "lock_proven_by", what.data, false, &pm->lock_proven_by) < 0 ||
	    get_str(l, node, "install", what.data, false, &pm->install) < 0 ||
	    get_str(l, node, "image", what.data, false, &pm->image) < 0 ||
	    get_steps(l, node, "github_before", what.data, &pm->github_before) < 0 ||
	    get_steps(l, node, "github_after", what.data, &pm->github_after) < 0 ||
	    get_str_list(l, node, "image_setup", what.data, &pm->image_setup) < 0 ||
	    get_env(l, node, "env", what.data, &pm->env) < 0 ||
	    parse_cache(l, pm, yaml_get(node, "cache"), what.data) < 0 ||
	    get_str_list(l, node, "audit", what.data, &pm->audit) < 0 ||
	    get_str(l, node, "coverage", what.data, false, &pm->coverage) < 0 ||
	    get_str(l, node, "coverage_when", what.data, false, &pm->coverage_when) < 0 ||
	    get_str(l, node, "coverage_path", what.data, false, &pm->coverage_path) < 0 ||
	    get_str(l, node, "workspace", what.data, true, &workspace) < 0)
		goto out;
	if (!pm->runtimes.len) {
		yaml_err(l->e, l->file, node, "%s: 'runtimes' must name at least one runtime",
			 what.data);
		goto out;
	}
	for (size_t i = 0; i < pm->runtimes.len; i++)
		if (!ci_templates_runtime(l->t, pm->runtimes.items[i])) {
			yaml_err(l->e, l->file, yaml_get(node, "runtimes"),
				 "%s: unknown runtime '%s' (not under 'runtimes:')", what.data,
				 (const char *)pm->runtimes.items[i]);
			goto out;
		}
	if (!str_eq(workspace, "members") && !str_eq(workspace, "root")) {
		yaml_err(l->e, l->file, yaml_get(node, "workspace"),
			 "%s: workspace must be 'members' or 'root'", what.data);
		goto out;
	}
	pm->workspace_root = str_eq(workspace, "root");
	if (pm->coverage && !pm->coverage_path) {
		yaml_err(l->e, l->file, node, "%s: coverage needs a coverage_path", what.data);
		goto out;
	}
	rc = 0;
out:
	buf_free(&what);
	return rc;
}

static int parse_settings(struct loader *l, const struct yaml_node *node)
{
	static const char *const fields[] = { "timeout_minutes", "default_branches",
					      "github_runner",	 "github_matrix_os",
					      "checkout",	 "cache_action",
					      "upload_action",	 NULL };
	struct ci_templates *t = l->t;
	if (check_keys(l, node, "settings", fields) < 0)
		return -1;
	const struct yaml_node *timeout = yaml_get(node, "timeout_minutes");
	long long minutes = 0;
	if (!timeout || yaml_int(timeout, l->file, &minutes, l->e) < 0 || minutes < 1 ||
	    minutes > 360)
		return yaml_err(l->e, l->file, timeout ? timeout : node,
				"settings: timeout_minutes must be a number of minutes (1-360)");
	t->timeout_minutes = (long)minutes;
	if (get_str_list(l, node, "default_branches", "settings", &t->default_branches) < 0 ||
	    get_str(l, node, "github_runner", "settings", true, &t->github_runner) < 0 ||
	    get_str_list(l, node, "github_matrix_os", "settings", &t->github_matrix_os) < 0 ||
	    get_str(l, node, "checkout", "settings", true, &t->checkout) < 0 ||
	    get_str(l, node, "cache_action", "settings", true, &t->cache_action) < 0 ||
	    get_str(l, node, "upload_action", "settings", true, &t->upload_action) < 0)
		return -1;
	if (!t->default_branches.len)
		return yaml_err(l->e, l->file, node, "settings: default_branches is required");
	return 0;
}

static int parse_secret_scan(struct loader *l, const struct yaml_node *node)
{
	static const char *const fields[] = { "github", "image", "commands", NULL };
	struct ci_templates *t = l->t;
	if (check_keys(l, node, "secret_scan", fields) < 0 ||
	    get_steps(l, node, "github", "secret_scan", &t->secret_scan_github) < 0 ||
	    get_str(l, node, "image", "secret_scan", true, &t->secret_scan_image) < 0 ||
	    get_str_list(l, node, "commands", "secret_scan", &t->secret_scan_commands) < 0)
		return -1;
	if (!t->secret_scan_github || !t->secret_scan_commands.len)
		return yaml_err(l->e, l->file, node, "secret_scan: needs github and commands");
	return 0;
}

static int parse_document(struct loader *l, const struct yaml_node *root)
{
	static const char *const fields[] = { "settings", "secret_scan", "runtimes",
					      "package_managers", NULL };
	if (check_keys(l, root, "the document", fields) < 0 ||
	    parse_settings(l, yaml_get(root, "settings")) < 0 ||
	    parse_secret_scan(l, yaml_get(root, "secret_scan")) < 0)
		return -1;
	const struct yaml_node *runtimes = yaml_get(root, "runtimes");
	const struct yaml_node *pms = yaml_get(root, "package_managers");
	if (!runtimes || runtimes->kind != YAML_MAPPING || !pms || pms->kind != YAML_MAPPING)
		return yaml_err(l->e, l->file, root,
				"'runtimes' and 'package_managers' must be mappings");
	for (size_t i = 0; i < runtimes->count; i++)
		if (parse_runtime(l, yaml_str(runtimes->pairs[i].key), runtimes->pairs[i].value) <
		    0)
			return -1;
	for (size_t i = 0; i < pms->count; i++)
		if (parse_pm(l, yaml_str(pms->pairs[i].key), pms->pairs[i].value) < 0)
			return -1;
	return 0;
}

int ci_templates_parse(struct ci_templates **out, const char *file, const char *data, size_t len,
		       struct err *e)
{
	struct yaml_doc *doc = NULL;
	*out = NULL;
	if (yaml_parse(&doc, file, data, len, e) < 0)
		return -1;
	struct ci_templates *t = xcalloc(1, sizeof(*t));
	t->arena = arena_new();
	struct loader l = { t, file, e };
	int rc = doc->root ? parse_document(&l, doc->root)
			   : err_set(e, "%s: empty file, expected settings and runtimes", file);
	yaml_doc_free(doc);
	if (rc < 0) {
		ci_templates_free(t);
		return -1;
	}
	*out = t;
	return 0;
}

int ci_templates_load(struct ci_templates **out, struct err *e)
{
	struct buf data = BUF_INIT;
	char *origin = NULL;
	int rc = embed_read_config("ci-templates.yaml", &data, &origin, e);
	if (rc == 0)
		rc = ci_templates_parse(out, origin, buf_cstr(&data), data.len, e);
	free(origin);
	buf_free(&data);
	return rc;
}

static void json_release(void *value)
{
	json_decref(value);
}

void ci_templates_free(struct ci_templates *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->runtimes.len; i++) {
		struct ci_runtime_template *rt = t->runtimes.items[i];
		vec_free(&rt->languages, NULL);
		vec_free(&rt->versions, NULL);
		vec_free(&rt->image_setup, NULL);
		vec_free(&rt->variables, NULL);
		vec_free(&rt->tools, NULL);
		vec_free(&rt->companion_image_setup, NULL);
		map_free(rt->image_versions, NULL);
	}
	for (size_t i = 0; i < t->package_managers.len; i++) {
		struct ci_pm_template *pm = t->package_managers.items[i];
		vec_free(&pm->runtimes, NULL);
		vec_free(&pm->lock_files, NULL);
		vec_free(&pm->image_setup, NULL);
		vec_free(&pm->cache_paths, NULL);
		vec_free(&pm->cache_github_files, NULL);
		vec_free(&pm->audit, NULL);
	}
	vec_free(&t->runtimes, NULL);
	vec_free(&t->package_managers, NULL);
	vec_free(&t->default_branches, NULL);
	vec_free(&t->github_matrix_os, NULL);
	vec_free(&t->secret_scan_commands, NULL);
	vec_free(&t->json_values, json_release);
	arena_free(t->arena);
	free(t);
}

const struct ci_runtime_template *ci_templates_runtime(const struct ci_templates *t, const char *id)
{
	for (size_t i = 0; id && i < t->runtimes.len; i++) {
		const struct ci_runtime_template *rt = t->runtimes.items[i];
		if (str_eq(rt->id, id))
			return rt;
	}
	return NULL;
}

const struct ci_pm_template *ci_templates_pm(const struct ci_templates *t, const char *id)
{
	for (size_t i = 0; id && i < t->package_managers.len; i++) {
		const struct ci_pm_template *pm = t->package_managers.items[i];
		if (str_eq(pm->id, id))
			return pm;
	}
	return NULL;
}

const struct ci_runtime_template *ci_templates_tool_owner(const struct ci_templates *t,
							  const char *tool)
{
	for (size_t i = 0; i < t->runtimes.len; i++) {
		const struct ci_runtime_template *rt = t->runtimes.items[i];
		for (size_t k = 0; k < rt->tools.len; k++)
			if (str_eq(rt->tools.items[k], tool))
				return rt;
	}
	return NULL;
}

/* ---- versions ---- */

/* Splits "1.22.3" into numbers; returns the count (0: not a numeric version). */
static size_t version_parts(const char *v, long parts[], size_t max)
{
	size_t n = 0;
	const char *p = v;
	while (n < max && isdigit((unsigned char)*p)) {
		char *end;
		parts[n++] = strtol(p, &end, 10);
		p = end;
		if (*p != '.')
			break;
		p++;
	}
	return *p ? 0 : n;
}

int ci_version_compare(const char *a, const char *b)
{
	long pa[8], pb[8];
	size_t na = version_parts(a, pa, 8), nb = version_parts(b, pb, 8);
	/* Names such as "stable" follow every number: they track the newest. */
	if (!na || !nb)
		return na ? -1 : nb ? 1 : strcmp(a, b);
	for (size_t i = 0; i < na || i < nb; i++) {
		long x = i < na ? pa[i] : 0, y = i < nb ? pb[i] : 0;
		if (x != y)
			return x < y ? -1 : 1;
	}
	return na < nb ? -1 : na > nb ? 1 : 0;
}

enum op { OP_GE, OP_GT, OP_LT, OP_LE, OP_PREFIX, OP_NE };

struct comparator {
	enum op op;
	long v[8];
	size_t n;
};

/* Compares the first n components (missing ones are 0). */
static int compare_parts(const long *a, size_t na, const long *b, size_t nb, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		long x = i < na ? a[i] : 0, y = i < nb ? b[i] : 0;
		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

/* Whether known version k ("20": the newest 20.x) can satisfy c. */
static bool satisfies(const long *k, size_t nk, const struct comparator *c)
{
	size_t longest = nk > c->n ? nk : c->n;
	switch (c->op) {
	case OP_GE:
		return compare_parts(k, nk, c->v, c->n, nk) >= 0;
	case OP_GT: {
		int cmp = compare_parts(k, nk, c->v, c->n, nk);
		return cmp > 0 || (cmp == 0 && nk < c->n);
	}
	case OP_LT:
		return compare_parts(k, nk, c->v, c->n, longest) < 0;
	case OP_LE:
		return compare_parts(k, nk, c->v, c->n, longest) <= 0;
	case OP_PREFIX:
		return compare_parts(k, nk, c->v, c->n, nk < c->n ? nk : c->n) == 0;
	case OP_NE:
		return compare_parts(k, nk, c->v, c->n, longest) != 0;
	}
	return false;
}

/* Adds the upper bound of ^ ~ ~= ~> ranges. */
static void add_upper(struct comparator *list, size_t *count, const struct comparator *lower,
		      char kind)
{
	struct comparator up = { OP_LT, { 0 }, 0 };
	size_t keep;
	if (kind == '^') {
		keep = 0;
		while (keep + 1 < lower->n && lower->v[keep] == 0)
			keep++;
		keep++;
	} else if (kind == '~') {
		keep = lower->n >= 2 ? 2 : 1;
	} else { /* pessimistic: drop the last component, bump the one before */
		keep = lower->n > 1 ? lower->n - 1 : 1;
	}
	for (size_t i = 0; i < keep; i++)
		up.v[i] = lower->v[i];
	up.n = keep;
	up.v[keep - 1]++;
	list[(*count)++] = up;
}

/* Parses one alternative ("">=3.10,<3.13"); false when it is not a range we read. */
static bool parse_range(const char *s, struct comparator *list, size_t *count, size_t max)
{
	*count = 0;
	while (*s) {
		while (*s == ' ' || *s == ',' || *s == '\t')
			s++;
		if (!*s)
			break;
		char op[4] = { 0 };
		size_t on = 0;
		while (strchr("<>=!~^", *s) && *s && on < 3)
			op[on++] = *s++;
		while (*s == ' ')
			s++;
		if (*s == 'v')
			s++;
		struct comparator c = { OP_PREFIX, { 0 }, 0 };
		while (isdigit((unsigned char)*s) && c.n < 8) {
			c.v[c.n++] = strtol(s, (char **)&s, 10);
			if (*s != '.')
				break;
			s++;
			if (*s == 'x' || *s == 'X' || *s == '*') {
				s++;
				break;
			}
		}
		if (!c.n || *count + 2 > max || (*s && !strchr(" ,\t", *s)))
			return false;
		char kind = 0;
		if (!strcmp(op, ">="))
			c.op = OP_GE;
		else if (!strcmp(op, ">"))
			c.op = OP_GT;
		else if (!strcmp(op, "<"))
			c.op = OP_LT;
		else if (!strcmp(op, "<="))
			c.op = OP_LE;
		else if (!strcmp(op, "!="))
			c.op = OP_NE;
		else if (!*op || !strcmp(op, "=") || !strcmp(op, "=="))
			c.op = OP_PREFIX;
		else if (!strcmp(op, "^") || !strcmp(op, "~") || !strcmp(op, "~=") ||
			 !strcmp(op, "~>"))
			kind = op[0] == '^' ? '^' : op[1] ? 'p' : '~';
		else
			return false;
		if (kind)
			c.op = OP_GE;
		list[(*count)++] = c;
		if (kind)
			add_upper(list, count, &c, kind);
	}
	return *count > 0;
}

static bool is_plain_version(const char *s)
{
	long parts[8];
	return version_parts(s, parts, 8) > 0;
}

/* True when known version k is allowed by the declared range (every alternative tried). */
static int range_allows(const char *declared, const char *k)
{
	long kv[8];
	size_t nk = version_parts(k, kv, 8);
	if (!nk)
		return 0;
	int readable = -1;
	char *copy = xstrdup(declared);
	for (char *alt = copy, *next; alt; alt = next) {
		next = strstr(alt, "||");
		if (next) {
			*next = '\0';
			next += 2;
		}
		struct comparator list[16];
		size_t count;
		if (!parse_range(alt, list, &count, 16))
			continue;
		readable = 0;
		bool ok = true;
		for (size_t i = 0; i < count && ok; i++)
			ok = satisfies(kv, nk, &list[i]);
		if (ok) {
			readable = 1;
			break;
		}
	}
	free(copy);
	return readable;
}

static const char *trim_declared(const char *declared, struct buf *scratch)
{
	buf_reset(scratch);
	buf_adds(scratch, declared ? declared : "");
	char *s = str_trim(scratch->data);
	if ((*s == 'v' || *s == 'V') && isdigit((unsigned char)s[1]))
		s++;
	return s;
}

/*
 * A range no known version satisfies ("^18.2" when 20 is the oldest known):
 * its lower bound, as precise as the default ("18"), rather than a version
 * the project excludes. NULL when the range has no lower bound.
 */
static char *lower_bound(const char *declared, const char *default_version)
{
	struct comparator list[16];
	size_t count;
	char *copy = xstrdup(declared);
	char *bar = strstr(copy, "||");
	if (bar)
		*bar = '\0';
	bool ok = parse_range(copy, list, &count, 16);
	free(copy);
	long dv[8];
	size_t precision = version_parts(default_version, dv, 8);
	for (size_t i = 0; ok && precision && i < count; i++) {
		if (list[i].op != OP_GE && list[i].op != OP_PREFIX)
			continue;
		struct buf b = BUF_INIT;
		for (size_t k = 0; k < precision && k < list[i].n; k++)
			buf_addf(&b, "%s%ld", k ? "." : "", list[i].v[k]);
		return buf_detach(&b);
	}
	return NULL;
}

char *ci_runtime_resolve_version(const struct ci_runtime_template *rt, const char *declared,
				 bool *exact)
{
	struct buf scratch = BUF_INIT;
	const char *s = trim_declared(declared, &scratch);
	char *result = NULL;
	*exact = false;
	if (is_plain_version(s)) {
		*exact = true;
		result = xstrdup(s);
	} else {
		for (size_t i = 0; i < rt->versions.len && !result; i++)
			if (str_eq(rt->versions.items[i], s)) /* "stable" */
				result = xstrdup(s);
		for (size_t i = rt->versions.len; i-- > 0 && !result && *s;)
			if (range_allows(s, rt->versions.items[i]) == 1)
				result = xstrdup(rt->versions.items[i]);
	}
	if (!result && *s)
		result = lower_bound(s, rt->default_version);
	buf_free(&scratch);
	return result ? result : xstrdup(rt->default_version);
}

static int compare_items(const void *a, const void *b)
{
	return ci_version_compare(*(const char *const *)a, *(const char *const *)b);
}

void ci_runtime_matrix_versions(const struct ci_runtime_template *rt, const char *declared,
				const char *resolved, struct vec *out)
{
	struct buf scratch = BUF_INIT;
	const char *s = trim_declared(declared, &scratch);
	bool range = *s && !is_plain_version(s) && range_allows(s, resolved) >= 0;
	vec_push(out, xstrdup(resolved));
	for (size_t i = 0; i < rt->versions.len; i++) {
		const char *k = rt->versions.items[i];
		long kv[8], rv[8];
		size_t nk = version_parts(k, kv, 8), nr = version_parts(resolved, rv, 8);
		/* "20" stands for the 20.11.0 already there */
		if (str_eq(k, resolved) ||
		    (nk && nr && nk <= nr && !compare_parts(kv, nk, rv, nr, nk)))
			continue;
		if (range && range_allows(s, k) != 1)
			continue;
		vec_push(out, xstrdup(k));
	}
	vec_sort(out, compare_items);
	buf_free(&scratch);
}
