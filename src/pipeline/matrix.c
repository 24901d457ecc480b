/* matrix: strategy.matrix expansion; see matrix.h. */
#include "pipeline/matrix.h"

#include <stdbool.h>
#include <string.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/xalloc.h"

/* Appends to legs every combination of the vectors from index key on. */
static int product(const json_t *matrix, const char **keys, size_t key_count, size_t key,
		   json_t *partial, json_t *legs, const char *what, struct err *e)
{
	if (key == key_count) {
		if (json_array_size(legs) >= MATRIX_MAX_LEGS)
			return err_set(e, "job '%s': the matrix has more than %d legs", what,
				       MATRIX_MAX_LEGS);
		json_array_append_new(legs, json_deep_copy(partial));
		return 0;
	}
	const json_t *vector = json_object_get(matrix, keys[key]);
	size_t i;
	const json_t *value;
	json_array_foreach(vector, i, value)
	{
		json_object_set(partial, keys[key], (json_t *)value);
		if (product(matrix, keys, key_count, key + 1, partial, legs, what, e) < 0)
			return -1;
	}
	json_object_del(partial, keys[key]);
	return 0;
}

/* An exclude entry removes every leg whose values include all of its own. */
static bool leg_matches(const json_t *leg, const json_t *entry)
{
	const char *key;
	const json_t *value;
	json_object_foreach((json_t *)entry, key, value)
	{
		const json_t *have = json_object_get(leg, key);
		if (!have)
			return false;
		if (json_is_object(value) && json_is_object(have)) {
			if (!leg_matches(have, value))
				return false;
		} else if (!json_equal(have, value)) {
			return false;
		}
	}
	return true;
}

/* An include entry may extend a leg unless it changes one of the original values. */
static bool include_fits(const json_t *leg, const json_t *entry, const json_t *matrix)
{
	const char *key;
	const json_t *value;
	json_object_foreach((json_t *)entry, key, value)
	{
		if (!json_object_get(matrix, key) || strcmp(key, "include") == 0 ||
		    strcmp(key, "exclude") == 0)
			continue;
		const json_t *have = json_object_get(leg, key);
		if (have && !json_equal(have, value))
			return false;
	}
	return true;
}

static int check_entries(const json_t *list, const char *name, const char *what, struct err *e)
{
	if (!list)
		return 0;
	if (!json_is_array(list))
		return err_set(e, "job '%s': matrix.%s must be a list of mappings", what, name);
	size_t i;
	const json_t *entry;
	json_array_foreach(list, i, entry) if (!json_is_object(entry)) return err_set(
		e, "job '%s': matrix.%s[%zu] must be a mapping", what, name, i);
	return 0;
}

int matrix_expand(const json_t *matrix, const char *what, json_t **out, struct err *e)
{
	*out = NULL;
	if (!json_is_object(matrix))
		return err_set(e, "job '%s': strategy.matrix must be a mapping", what);
	const json_t *include = json_object_get(matrix, "include");
	const json_t *exclude = json_object_get(matrix, "exclude");
	if (check_entries(include, "include", what, e) < 0 ||
	    check_entries(exclude, "exclude", what, e) < 0)
		return -1;

	size_t key_count = 0;
	const char **keys = xcalloc(json_object_size(matrix) + 1, sizeof(*keys));
	const char *key;
	const json_t *value;
	json_object_foreach((json_t *)matrix, key, value)
	{
		if (strcmp(key, "include") == 0 || strcmp(key, "exclude") == 0)
			continue;
		if (!json_is_array(value)) {
			free(keys);
			return err_set(e, "job '%s': matrix.%s must be a list of values", what,
				       key);
		}
		if (json_array_size(value) == 0) {
			free(keys);
			return err_set(e, "job '%s': matrix.%s is an empty list", what, key);
		}
		keys[key_count++] = key;
	}

	if (key_count == 0 && json_array_size(include) == 0) {
		free(keys);
		return err_set(e, "job '%s': strategy.matrix defines no values", what);
	}
	json_t *legs = json_array();
	if (key_count > 0) {
		json_t *partial = json_object();
		int rc = product(matrix, keys, key_count, 0, partial, legs, what, e);
		json_decref(partial);
		if (rc < 0) {
			free(keys);
			json_decref(legs);
			return -1;
		}
	}
	free(keys);

	/* Excludes apply to the product before includes, as on GitHub. */
	for (size_t i = json_array_size(legs); i-- > 0;) {
		size_t x;
		const json_t *entry;
		json_array_foreach(exclude, x,
				   entry) if (leg_matches(json_array_get(legs, i), entry))
		{
			json_array_remove(legs, i);
			break;
		}
	}

	size_t original = json_array_size(legs);
	size_t n;
	const json_t *entry;
	json_array_foreach(include, n, entry)
	{
		bool added = false;
		for (size_t i = 0; i < original; i++) {
			json_t *leg = json_array_get(legs, i);
			if (!include_fits(leg, entry, matrix))
				continue;
			json_object_update(leg, (json_t *)entry);
			added = true;
		}
		if (!added) {
			if (json_array_size(legs) >= MATRIX_MAX_LEGS) {
				json_decref(legs);
				return err_set(e, "job '%s': the matrix has more than %d legs",
					       what, MATRIX_MAX_LEGS);
			}
			json_array_append_new(legs, json_deep_copy(entry));
		}
	}
	if (json_array_size(legs) == 0) {
		json_decref(legs);
		return err_set(e,
			       "job '%s': the matrix has no legs left (every combination "
			       "was excluded)",
			       what);
	}
	*out = legs;
	return 0;
}

char *matrix_leg_label(const json_t *leg)
{
	struct buf label = BUF_INIT;
	const char *key;
	const json_t *value;
	json_object_foreach((json_t *)leg, key, value)
	{
		if (label.len)
			buf_adds(&label, ", ");
		if (json_is_string(value)) {
			buf_adds(&label, json_string_value(value));
		} else {
			char *text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
			buf_adds(&label, text ? text : "?");
			free(text);
		}
	}
	return buf_detach(&label);
}
