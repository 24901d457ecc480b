/*
 * gitlab_merge: one document out of many, as GitLab builds it before it
 * reads any job: include (local files), !reference, default: (and its
 * legacy top-level spelling), extends and inherit, with GitLab's deep merge.
 */
#include "pipeline/gitlab_internal.h"

#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/glob.h"
#include "util/map.h"
#include "util/str.h"

#include <stdlib.h>
#include <string.h>

static bool same_key(const struct yaml_node *a, const struct yaml_node *b)
{
	return a->kind == YAML_SCALAR && b->kind == YAML_SCALAR && a->length == b->length &&
	       memcmp(a->value, b->value, a->length) == 0;
}

static struct yaml_pair *pair_find(const struct yaml_node *map, const struct yaml_node *key)
{
	for (size_t i = 0; i < map->count; i++)
		if (same_key(map->pairs[i].key, key))
			return &map->pairs[i];
	return NULL;
}

/*
 * GitLab's deep merge (extends, include): hashes merge key by key, with
 * over winning; anything else, arrays included, is replaced by over.
 */
static struct yaml_node *node_merge(struct loader *l, struct yaml_node *base,
				    struct yaml_node *over)
{
	if (!base)
		return over;
	if (!over)
		return base;
	if (base->kind != YAML_MAPPING || over->kind != YAML_MAPPING)
		return over;
	struct yaml_node *m = gitlab_node_new(l, YAML_MAPPING, over, base->count + over->count);
	for (size_t i = 0; i < base->count; i++) {
		struct yaml_pair *o = pair_find(over, base->pairs[i].key);
		m->pairs[m->count].key = base->pairs[i].key;
		m->pairs[m->count].value =
			o ? node_merge(l, base->pairs[i].value, o->value) : base->pairs[i].value;
		m->count++;
	}
	for (size_t i = 0; i < over->count; i++)
		if (!pair_find(base, over->pairs[i].key))
			m->pairs[m->count++] = over->pairs[i];
	return m;
}

/* ------------------------------------------------------------------ */
/* include                                                              */

int gitlab_include_process(struct loader *l, struct yaml_node *root, int depth,
			   struct yaml_node **out);

int gitlab_root_check(struct loader *l, const struct yaml_doc *doc, const char *file)
{
	if (!doc->root || yaml_is_null(doc->root) || doc->root->kind != YAML_MAPPING) {
		if (doc->root)
			return gitlab_node_err(l, doc->root,
					       "a GitLab CI file must be a mapping of jobs "
					       "and keywords");
		return err_set(l->e, "%s:1:1: the file is empty: define at least one job", file);
	}
	const struct yaml_node *spec = gitlab_key_of(doc->root, "spec");
	if (spec)
		return gitlab_node_err(l, spec,
				       "spec: headers (include inputs) are not supported by "
				       "ampel run");
	return 0;
}

static int include_file(struct loader *l, const struct yaml_node *where, const char *rel, int depth,
			struct yaml_node **acc)
{
	if (map_has(l->included, rel))
		return 0;
	map_put(l->included, rel, (void *)1);
	if (++l->includes > MAX_INCLUDES)
		return gitlab_node_err(l, where, "include: more than %d files are included",
				       MAX_INCLUDES);
	if (!str_ends_with(rel, ".yml") && !str_ends_with(rel, ".yaml"))
		return gitlab_node_err(l, where, "include: '%s' must be a .yml or .yaml file", rel);
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/%s", l->repo_dir, rel);
	char *real = realpath(buf_cstr(&path), NULL);
	char *root = realpath(l->repo_dir, NULL);
	size_t root_len = root ? strlen(root) : 0;
	bool inside = real && root && strncmp(real, root, root_len) == 0 &&
		      (real[root_len] == '/' || real[root_len] == '\0');
	free(root);
	if (!inside) {
		free(real);
		buf_free(&path);
		return gitlab_node_err(l, where, "include: '%s' is not a file in the repository",
				       rel);
	}
	struct buf data = BUF_INIT;
	struct err read_err = ERR_INIT;
	int rc = buf_read_file(&data, real, MAX_INCLUDE_BYTES, &read_err);
	free(real);
	buf_free(&path);
	if (rc) {
		buf_free(&data);
		return gitlab_node_err(l, where, "include: %s", read_err.msg);
	}
	const char *name = arena_strdup(l->arena, rel);
	struct yaml_doc *doc = NULL;
	rc = yaml_parse(&doc, name, data.data ? data.data : "", data.len, l->e);
	buf_free(&data);
	if (rc)
		return -1;
	vec_push(&l->docs, doc);
	gitlab_origins_register(l, doc->root, name);
	if (gitlab_root_check(l, doc, name))
		return -1;
	struct yaml_node *merged;
	if (gitlab_include_process(l, doc->root, depth + 1, &merged))
		return -1;
	*acc = node_merge(l, *acc, merged);
	return 0;
}

static int include_local(struct loader *l, const struct yaml_node *where, const char *text,
			 int depth, struct yaml_node **acc)
{
	if (!l->repo_dir)
		return gitlab_node_err(l, where, "include: '%s' needs the repository directory",
				       text);
	const char *rel;
	struct vars scope = { 0 };
	gitlab_vars_add_all(&scope, &l->predefined);
	gitlab_vars_add_all(&scope, &l->user);
	int rc = gitlab_value_expand(l, where, &scope, text, false, &rel);
	gitlab_vars_free(&scope);
	if (rc)
		return -1;
	while (*rel == '/')
		rel++;
	if (!*rel || strcmp(rel, "..") == 0 || str_starts_with(rel, "../") || strstr(rel, "/../") ||
	    str_ends_with(rel, "/.."))
		return gitlab_node_err(l, where,
				       "include: '%s' must be a path inside the repository", text);
	if (!glob_has_wildcards(rel))
		return include_file(l, where, rel, depth, acc);
	if (gitlab_repo_files_list(l))
		return -1;
	struct glob *g = glob_compile(rel, 0);
	bool any = false;
	for (size_t i = 0; rc == 0 && i < l->repo_files.len; i++) {
		const char *path = l->repo_files.items[i];
		if (!glob_matches(g, path) ||
		    (!str_ends_with(path, ".yml") && !str_ends_with(path, ".yaml")))
			continue;
		any = true;
		rc = include_file(l, where, path, depth, acc);
	}
	glob_free(g);
	if (rc == 0 && !any)
		return gitlab_node_err(l, where, "include: '%s' matches no file", text);
	return rc;
}

static int include_entry(struct loader *l, const struct yaml_node *item, int depth,
			 struct yaml_node **acc)
{
	static const char *const keys[] = { "local",	"remote",    "project", "file",	  "ref",
					    "template", "component", "rules",	"inputs", NULL };
	static const char *const remote[] = { "remote", "project", "template", "component", NULL };
	const char *text = gitlab_scalar_text(item);
	if (text) {
		if (str_starts_with(text, "https://") || str_starts_with(text, "http://"))
			return gitlab_node_err(
				l, item,
				"include: remote file '%s' cannot be fetched by ampel run; "
				"copy it into the repository and include it as a local file",
				text);
		return include_local(l, item, text, depth, acc);
	}
	if (item->kind != YAML_MAPPING)
		return gitlab_node_err(l, item,
				       "include: expected a file path or a mapping such as "
				       "local: path");
	if (gitlab_keys_check(l, item, keys, "include"))
		return -1;
	for (const char *const *k = remote; *k; k++) {
		const struct yaml_node *n = gitlab_key_of(item, *k);
		if (n)
			return gitlab_node_err(
				l, n,
				"include:%s is not supported by ampel run: only local "
				"files can be included",
				*k);
	}
	const struct yaml_node *local = yaml_get(item, "local");
	if (!local || !gitlab_scalar_text(local) || !*gitlab_scalar_text(local))
		return gitlab_node_err(l, item, "include: local: must name a file");
	const struct yaml_node *rules = yaml_get(item, "rules");
	if (rules) {
		struct vars scope = { 0 };
		gitlab_vars_add_all(&scope, &l->predefined);
		gitlab_vars_add_all(&scope, &l->user);
		const struct yaml_node *matched;
		int rc = gitlab_rules_match(l, rules, &scope, RULES_INCLUDE, &matched);
		gitlab_vars_free(&scope);
		if (rc)
			return -1;
		const struct yaml_node *when = matched ? yaml_get(matched, "when") : NULL;
		if (!matched || (when && strcmp(gitlab_scalar_text(when), "never") == 0))
			return 0;
	}
	return include_local(l, local, gitlab_scalar_text(local), depth, acc);
}

/* Included files are merged first, in order; the including file wins. */
int gitlab_include_process(struct loader *l, struct yaml_node *root, int depth,
			   struct yaml_node **out)
{
	*out = root;
	const struct yaml_node *include = yaml_get(root, "include");
	if (!include || yaml_is_null(include))
		return 0;
	if (depth > MAX_INCLUDES)
		return gitlab_node_err(l, include, "include: files include each other too deeply");
	struct yaml_node *acc = NULL;
	if (include->kind == YAML_SEQUENCE) {
		for (size_t i = 0; i < include->count; i++)
			if (include_entry(l, include->items[i], depth, &acc))
				return -1;
	} else if (include_entry(l, include, depth, &acc)) {
		return -1;
	}
	*out = node_merge(l, acc, root);
	return 0;
}

/* ------------------------------------------------------------------ */
/* !reference                                                           */

int gitlab_reference_resolve(struct loader *l, struct yaml_node *node, int depth,
			     struct yaml_node **out);

static int reference_follow(struct loader *l, struct yaml_node *node, int depth,
			    struct yaml_node **out)
{
	if (depth >= MAX_REFERENCE_DEPTH)
		return gitlab_node_err(l, node, "!reference: references nest more than %d levels",
				       MAX_REFERENCE_DEPTH);
	if (node->kind != YAML_SEQUENCE || node->count == 0)
		return gitlab_node_err(l, node, "!reference needs a list: [job, key, ...]");
	struct yaml_node *target = l->raw_root;
	struct buf path = BUF_INIT;
	for (size_t i = 0; i < node->count; i++) {
		const char *key = gitlab_scalar_text(node->items[i]);
		if (!key) {
			buf_free(&path);
			return gitlab_node_err(l, node->items[i],
					       "!reference: each part must be a name");
		}
		buf_addf(&path, "%s%s", i ? ", " : "", key);
		target = yaml_get(target, key);
		if (!target) {
			gitlab_node_err(l, node, "!reference [%s]: not found", buf_cstr(&path));
			buf_free(&path);
			return -1;
		}
	}
	buf_free(&path);
	return gitlab_reference_resolve(l, target, depth + 1, out);
}

/* Returns node itself when nothing under it is a !reference. */
int gitlab_reference_resolve(struct loader *l, struct yaml_node *node, int depth,
			     struct yaml_node **out)
{
	*out = node;
	if (!node || node->kind == YAML_SCALAR)
		return 0;
	struct yaml_node *done = gitlab_ptr_table_get(&l->resolved, node);
	if (done) {
		*out = done;
		return 0;
	}
	struct yaml_node *result = node;
	if (node->tag && strcmp(node->tag, "!reference") == 0) {
		if (reference_follow(l, node, depth, &result))
			return -1;
	} else if (node->kind == YAML_SEQUENCE) {
		for (size_t i = 0; i < node->count; i++) {
			struct yaml_node *item;
			if (gitlab_reference_resolve(l, node->items[i], depth, &item))
				return -1;
			if (item != node->items[i] && result == node) {
				result = gitlab_node_new(l, YAML_SEQUENCE, node, node->count);
				memcpy(result->items, node->items,
				       node->count * sizeof(*node->items));
				result->count = node->count;
			}
			result->items[i] = item;
		}
	} else {
		for (size_t i = 0; i < node->count; i++) {
			struct yaml_node *value;
			if (gitlab_reference_resolve(l, node->pairs[i].value, depth, &value))
				return -1;
			if (value != node->pairs[i].value && result == node) {
				result = gitlab_node_new(l, YAML_MAPPING, node, node->count);
				memcpy(result->pairs, node->pairs,
				       node->count * sizeof(*node->pairs));
				result->count = node->count;
			}
			result->pairs[i].value = value;
		}
	}
	gitlab_ptr_table_put(&l->resolved, node, result);
	*out = result;
	return 0;
}

/* ------------------------------------------------------------------ */
/* default:, extends and inherit                                        */

int gitlab_defaults_read(struct loader *l)
{
	static const char *const keys[] = { "after_script",
					    "artifacts",
					    "before_script",
					    "cache",
					    "hooks",
					    "id_tokens",
					    "image",
					    "interruptible",
					    "retry",
					    "services",
					    "tags",
					    "timeout",
					    NULL };
	static const char *const legacy[] = { "image", "services", "cache", "before_script",
					      "after_script" };
	struct yaml_node *node = yaml_get(l->root, "default");
	size_t count = 0;
	if (node && !yaml_is_null(node)) {
		if (node->kind != YAML_MAPPING)
			return gitlab_node_err(l, node,
					       "default must be a mapping of job keywords");
		if (gitlab_keys_check(l, node, keys, "default"))
			return -1;
		count = node->count;
	} else {
		node = NULL;
	}
	l->defaults = gitlab_node_new(l, YAML_MAPPING, node ? node : l->root, count + 5);
	for (size_t i = 0; i < count; i++)
		l->defaults->pairs[l->defaults->count++] = node->pairs[i];
	/* Top-level image, services... are the deprecated spelling of default:. */
	for (size_t i = 0; i < sizeof(legacy) / sizeof(legacy[0]); i++) {
		for (size_t k = 0; k < l->root->count; k++) {
			struct yaml_pair *p = &l->root->pairs[k];
			if (p->key->kind == YAML_SCALAR && strcmp(p->key->value, legacy[i]) == 0 &&
			    !pair_find(l->defaults, p->key))
				l->defaults->pairs[l->defaults->count++] = *p;
		}
	}
	return 0;
}

int gitlab_extends_resolve(struct loader *l, const char *name, const struct yaml_node *from,
			   int depth, struct yaml_node **out)
{
	struct yaml_node *done = map_get(l->extends_done, name);
	if (done) {
		*out = done;
		return 0;
	}
	struct yaml_node *node = yaml_get(l->root, name);
	if (!node)
		return gitlab_node_err(l, from, "extends: '%s' is not defined", name);
	if (node->kind != YAML_MAPPING)
		return gitlab_node_err(l, from, "extends: '%s' is not a mapping of job keywords",
				       name);
	if (map_has(l->extends_busy, name))
		return gitlab_node_err(l, from, "extends: '%s' extends itself (a cycle)", name);
	if (depth > MAX_EXTENDS_DEPTH)
		return gitlab_node_err(l, from, "extends: nests more than %d levels",
				       MAX_EXTENDS_DEPTH);
	struct yaml_node *acc = NULL;
	const struct yaml_node *parents = yaml_get(node, "extends");
	if (parents && !yaml_is_null(parents)) {
		struct vec list = VEC_INIT;
		int rc = gitlab_list_flatten(l, parents, &list, 0, "extends");
		map_put(l->extends_busy, name, (void *)1);
		for (size_t i = 0; rc == 0 && i < list.len; i++) {
			const struct yaml_node *parent = list.items[i];
			const char *text = gitlab_scalar_text(parent);
			struct yaml_node *resolved;
			if (!text || !*text)
				rc = gitlab_node_err(l, parent,
						     "extends: expected a job or template name");
			else if ((rc = gitlab_extends_resolve(l, text, parent, depth + 1,
							      &resolved)) == 0)
				acc = node_merge(l, acc, resolved);
		}
		map_del(l->extends_busy, name);
		vec_free(&list, NULL);
		if (rc)
			return -1;
	}
	*out = node_merge(l, acc, node);
	map_put(l->extends_done, name, *out);
	return 0;
}

/* inherit:default / inherit:variables: true, false or a list of names. */
int gitlab_inherit_allows(struct loader *l, const struct yaml_node *job, const char *which,
			  const char *name, bool *out)
{
	*out = true;
	const struct yaml_node *inherit = yaml_get(job, "inherit");
	if (!inherit || yaml_is_null(inherit))
		return 0;
	static const char *const keys[] = { "default", "variables", NULL };
	if (inherit->kind != YAML_MAPPING)
		return gitlab_node_err(l, inherit,
				       "inherit must be a mapping (default:, variables:)");
	if (gitlab_keys_check(l, inherit, keys, "inherit"))
		return -1;
	const struct yaml_node *node = yaml_get(inherit, which);
	if (!node)
		return 0;
	if (node->kind == YAML_SCALAR)
		return yaml_bool(node, gitlab_node_file(l, node), out, l->e);
	if (node->kind != YAML_SEQUENCE)
		return gitlab_node_err(l, node, "inherit:%s must be true, false or a list of names",
				       which);
	*out = false;
	for (size_t i = 0; i < node->count; i++)
		*out = *out || str_eq(gitlab_scalar_text(node->items[i]), name);
	return 0;
}

int gitlab_defaults_apply(struct loader *l, struct gjob *j)
{
	struct yaml_node *node =
		gitlab_node_new(l, YAML_MAPPING, j->node, j->node->count + l->defaults->count);
	memcpy(node->pairs, j->node->pairs, j->node->count * sizeof(*node->pairs));
	node->count = j->node->count;
	for (size_t i = 0; i < l->defaults->count; i++) {
		struct yaml_pair *p = &l->defaults->pairs[i];
		bool inherit;
		if (pair_find(node, p->key))
			continue;
		if (gitlab_inherit_allows(l, j->node, "default", p->key->value, &inherit))
			return -1;
		if (inherit)
			node->pairs[node->count++] = *p;
	}
	j->node = node;
	return 0;
}
