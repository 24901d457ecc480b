/*
 * Fuzzes the YAML loader: any bytes must parse or fail cleanly, and a
 * parsed tree must survive every consumer-facing walk (lookups, scalar
 * conversions, conversion to JSON) without crashing or leaking.
 */
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/yaml.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const struct yaml_node *node)
{
	struct err e = ERR_INIT;
	bool b;
	long long i;
	(void)yaml_bool(node, "fuzz.yml", &b, &e);
	(void)yaml_int(node, "fuzz.yml", &i, &e);
	(void)yaml_is_null(node);
	(void)yaml_str(node);
	if (!node)
		return;
	if (node->kind == YAML_SCALAR && node->value[node->length] != '\0')
		abort();
	if (node->line < 1 || node->column < 1)
		abort();
	/* Aliases share nodes, so a full walk could revisit; stay shallow here. */
	if (node->kind == YAML_MAPPING && node->count)
		(void)yaml_get(node, yaml_str(node->pairs[0].key));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err e = ERR_INIT;
	struct yaml_doc **docs = NULL;
	size_t count = 0;
	if (yaml_parse_all(&docs, &count, "fuzz.yml", (const char *)data, size, &e) == 0) {
		for (size_t d = 0; d < count; d++) {
			const struct yaml_node *root = docs[d]->root;
			walk(root);
			if (root && root->kind == YAML_SEQUENCE)
				for (size_t k = 0; k < root->count; k++)
					walk(root->items[k]);
			if (root && root->kind == YAML_MAPPING)
				for (size_t k = 0; k < root->count; k++)
					walk(root->pairs[k].value);
			json_t *j = json_from_yaml(root);
			struct buf out = BUF_INIT;
			if (!j || json_write_buf(&out, j, JSON_WRITE_PRETTY, &e) != 0)
				abort();
			buf_free(&out);
			json_decref(j);
		}
		yaml_docs_free(docs, count);
	} else if (!err_is_set(&e) || docs || count) {
		abort();
	}

	struct yaml_doc *doc = NULL;
	err_clear(&e);
	if (yaml_parse(&doc, "fuzz.yml", (const char *)data, size, &e) == 0)
		yaml_doc_free(doc);
	else if (!err_is_set(&e) || doc)
		abort();
	return 0;
}
