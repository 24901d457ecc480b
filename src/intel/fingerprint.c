#include "intel/fingerprint.h"

#include "intel/document.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/map.h"
#include "util/xalloc.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define FINGERPRINT_SHARED_MAX 5

/*
 * What a repository is (its languages and frameworks) counts more than how
 * it is tooled; CI and CD providers say little about the stack, so two
 * unrelated apps that both use GitHub Actions stay near 0.
 */
struct fingerprint_group {
	const char *field;  /* member of a project in the document */
	const char *prefix; /* feature name prefix */
	double weight;
};

static const struct fingerprint_group fingerprint_groups[] = {
	{ "languages", "language", 1.0 },
	{ "frameworks", "framework", 1.0 },
	{ "runtimes", "runtime", 0.75 },
	{ "package_managers", "pm", 0.5 },
	{ "build_tools", "build", 0.5 },
	{ "test_frameworks", "test", 0.5 },
	{ "linters", "lint", 0.25 },
	{ "ci", "ci", 0.25 },
	{ "cd", "cd", 0.25 },
	{ "containers", "container", 0.25 },
};

static double fingerprint_round(double value)
{
	return round(value * 10000.0) / 10000.0;
}

void fingerprint_free(struct fingerprint *fp)
{
	if (!fp)
		return;
	for (size_t i = 0; i < fp->count; i++)
		free(fp->features[i].name);
	free(fp->features);
	free(fp);
}

/* Keeps the highest weight of a feature seen in several projects. */
static void fingerprint_put(struct map *features, const char *prefix, const char *id, double weight)
{
	if (!id || !*id || !(weight > 0))
		return;
	struct buf name = BUF_INIT;
	buf_addf(&name, "%s:%s", prefix, id);
	double *old = map_get(features, name.data);
	if (!old) {
		old = xmalloc(sizeof(*old));
		*old = 0;
		map_put(features, name.data, old);
	}
	if (weight > *old)
		*old = weight;
	buf_free(&name);
}

/* A list item's id: a string, or an object's name/id/provider/target/kind. */
static const char *fingerprint_item_id(const json_t *item)
{
	static const char *const keys[] = { "name", "id", "provider", "target", "kind" };
	if (json_is_string(item))
		return json_string_value(item);
	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		const char *s = json_get_str(item, keys[i], NULL);
		if (s)
			return s;
	}
	return NULL;
}

/* Evidence of an item in [0, 1]: its confidence when it has one, else 1. */
static double fingerprint_item_evidence(const json_t *item)
{
	const json_t *c = json_object_get(item, "confidence");
	if (!json_is_number(c))
		return 1.0;
	double v = json_number_value(c);
	return v < 0 ? 0 : v > 1 ? 1 : v;
}

static void fingerprint_add_group(struct map *features, const struct fingerprint_group *g,
				  const json_t *value)
{
	const char *key;
	json_t *item;
	if (json_is_array(value)) {
		size_t i;
		json_array_foreach(value, i, item)
		{
			fingerprint_put(features, g->prefix, fingerprint_item_id(item),
					fingerprint_item_evidence(item) * g->weight);
		}
	} else if (json_is_object(value)) {
		/* runtimes {"node": "20"}; containers {"dockerfile": [...], ...} */
		json_object_foreach((json_t *)value, key, item)
		{
			bool present = !json_is_null(item) && !json_is_false(item) &&
				       !(json_is_array(item) && json_array_size(item) == 0) &&
				       !(json_is_object(item) && json_object_size(item) == 0);
			if (present)
				fingerprint_put(features, g->prefix, key, g->weight);
		}
	}
}

static int fingerprint_compare(const void *a, const void *b)
{
	const struct fingerprint_feature *fa = a, *fb = b;
	return strcmp(fa->name, fb->name);
}

/* Turns the name -> weight map into the sorted, rounded vector (frees the map). */
static struct fingerprint *fingerprint_from_map(struct map *features)
{
	struct fingerprint *fp = xcalloc(1, sizeof(*fp));
	fp->features = xcalloc(map_count(features) + 1, sizeof(*fp->features));
	const char *name;
	void *value;
	for (size_t cursor = 0; map_next(features, &cursor, &name, &value);) {
		double weight = fingerprint_round(*(double *)value);
		if (weight > 0)
			fp->features[fp->count++] =
				(struct fingerprint_feature){ xstrdup(name), weight };
	}
	map_free(features, free);
	qsort(fp->features, fp->count, sizeof(*fp->features), fingerprint_compare);
	return fp;
}

struct fingerprint *fingerprint_from_document(const json_t *document)
{
	const json_t *projects = json_object_get(document, "projects");
	const json_t *stored = json_object_get(document, "fingerprint");
	struct fingerprint *fp = NULL;
	if (!json_is_array(projects) && stored && fingerprint_from_json(&fp, stored, NULL) == 0)
		return fp;

	struct map *features = map_new();
	size_t i;
	json_t *project;
	json_array_foreach(projects, i, project)
	{
		for (size_t g = 0; g < sizeof(fingerprint_groups) / sizeof(*fingerprint_groups);
		     g++)
			fingerprint_add_group(
				features, &fingerprint_groups[g],
				json_object_get(project, fingerprint_groups[g].field));
	}
	/* CI and CD may also be reported for the repository as a whole. */
	for (size_t g = 0; g < sizeof(fingerprint_groups) / sizeof(*fingerprint_groups); g++)
		if (strcmp(fingerprint_groups[g].field, "ci") == 0 ||
		    strcmp(fingerprint_groups[g].field, "cd") == 0)
			fingerprint_add_group(
				features, &fingerprint_groups[g],
				json_object_get(document, fingerprint_groups[g].field));
	return fingerprint_from_map(features);
}

int fingerprint_from_json(struct fingerprint **out, const json_t *value, struct err *e)
{
	const json_t *features = json_object_get(value, "features");
	if (!json_is_object(features))
		return err_set(e, "fingerprint: expected an object with a 'features' object");
	struct map *map = map_new();
	const char *name;
	json_t *weight;
	json_object_foreach((json_t *)features, name, weight)
	{
		if (!json_is_number(weight) || json_number_value(weight) < 0 ||
		    json_number_value(weight) > 1) {
			map_free(map, free);
			return err_set(e, "fingerprint: feature '%s' must have a weight in [0, 1]",
				       name);
		}
		double *w = xmalloc(sizeof(*w));
		*w = json_number_value(weight);
		map_put(map, name, w);
	}
	*out = fingerprint_from_map(map);
	return 0;
}

json_t *fingerprint_to_json(const struct fingerprint *fp)
{
	json_t *features = json_object();
	for (size_t i = 0; i < fp->count; i++)
		json_object_set_new(features, fp->features[i].name,
				    json_real(fp->features[i].weight));
	return json_pack("{s:i, s:o}", "version", FINGERPRINT_VERSION, "features", features);
}

/* Calls fn for each feature both hold (a merge of the sorted lists). */
static double fingerprint_dot(const struct fingerprint *a, const struct fingerprint *b,
			      void (*fn)(const char *, double, void *), void *ctx)
{
	double dot = 0;
	size_t i = 0, j = 0;
	while (i < a->count && j < b->count) {
		int cmp = strcmp(a->features[i].name, b->features[j].name);
		if (cmp == 0) {
			double product = a->features[i].weight * b->features[j].weight;
			dot += product;
			if (fn)
				fn(a->features[i].name, product, ctx);
			i++;
			j++;
		} else if (cmp < 0) {
			i++;
		} else {
			j++;
		}
	}
	return dot;
}

static double fingerprint_norm(const struct fingerprint *fp)
{
	double sum = 0;
	for (size_t i = 0; i < fp->count; i++)
		sum += fp->features[i].weight * fp->features[i].weight;
	return sqrt(sum);
}

double fingerprint_cosine(const struct fingerprint *a, const struct fingerprint *b)
{
	double na = fingerprint_norm(a), nb = fingerprint_norm(b);
	if (na == 0 || nb == 0)
		return 0;
	double c = fingerprint_dot(a, b, NULL, NULL) / (na * nb);
	return c > 1 ? 1 : c < 0 ? 0 : c;
}

static int fingerprint_check_document(const json_t *doc, const char *what, size_t index,
				      struct err *e)
{
	const char *schema = json_get_str(doc, "schema", NULL);
	if (!json_is_object(doc))
		return err_set(e, "%s %zu: not a JSON object", what, index);
	if (schema && strcmp(schema, ANALYSIS_SCHEMA) != 0)
		return err_set(e, "%s %zu (%s): schema '%s' is not %s", what, index,
			       json_get_str(doc, "root", "?"), schema, ANALYSIS_SCHEMA);
	return 0;
}

static int fingerprint_compare_matches(const void *a, const void *b)
{
	const struct fingerprint_match *ma = a, *mb = b;
	if (ma->similarity != mb->similarity)
		return ma->similarity < mb->similarity ? 1 : -1;
	int cmp = strcmp(ma->root, mb->root);
	if (cmp)
		return cmp;
	return ma->index < mb->index ? -1 : ma->index > mb->index;
}

int fingerprint_rank(const json_t *self_doc, json_t *const *others, size_t n,
		     struct fingerprint_match *out, struct err *e)
{
	if (fingerprint_check_document(self_doc, "document", 0, e) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (fingerprint_check_document(others[i], "other document", i, e) < 0)
			return -1;
	struct fingerprint *self = fingerprint_from_document(self_doc);
	for (size_t i = 0; i < n; i++) {
		struct fingerprint *other = fingerprint_from_document(others[i]);
		out[i].index = i;
		out[i].root = json_get_str(others[i], "root", "");
		out[i].similarity = fingerprint_round(fingerprint_cosine(self, other));
		fingerprint_free(other);
	}
	fingerprint_free(self);
	if (n)
		qsort(out, n, sizeof(*out), fingerprint_compare_matches);
	return 0;
}

struct fingerprint_shared {
	const char *names[FINGERPRINT_SHARED_MAX];
	double products[FINGERPRINT_SHARED_MAX];
	size_t count;
};

/* Keeps the biggest contributions, ties by name (names arrive sorted). */
static void fingerprint_keep_shared(const char *name, double product, void *ctx)
{
	struct fingerprint_shared *s = ctx;
	size_t at = s->count;
	while (at > 0 && product > s->products[at - 1])
		at--;
	if (at >= FINGERPRINT_SHARED_MAX)
		return;
	size_t last = s->count < FINGERPRINT_SHARED_MAX ? s->count : FINGERPRINT_SHARED_MAX - 1;
	for (size_t k = last; k > at; k--) {
		s->names[k] = s->names[k - 1];
		s->products[k] = s->products[k - 1];
	}
	s->names[at] = name;
	s->products[at] = product;
	if (s->count < FINGERPRINT_SHARED_MAX)
		s->count++;
}

json_t *fingerprint_similar_json(const json_t *self_doc, json_t *const *others, size_t n,
				 struct err *e)
{
	struct fingerprint_match *matches = xcalloc(n + 1, sizeof(*matches));
	if (fingerprint_rank(self_doc, others, n, matches, e) < 0) {
		free(matches);
		return NULL;
	}
	struct fingerprint *self = fingerprint_from_document(self_doc);
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++) {
		struct fingerprint *other = fingerprint_from_document(others[matches[i].index]);
		struct fingerprint_shared shared = { .count = 0 };
		fingerprint_dot(self, other, fingerprint_keep_shared, &shared);
		json_t *names = json_array();
		for (size_t k = 0; k < shared.count; k++)
			json_array_append_new(names, json_string(shared.names[k]));
		json_array_append_new(list, json_pack("{s:s, s:f, s:o}", "root", matches[i].root,
						      "similarity", matches[i].similarity, "shared",
						      names));
		fingerprint_free(other);
	}
	fingerprint_free(self);
	free(matches);
	return list;
}
