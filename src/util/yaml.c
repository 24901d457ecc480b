#include "util/yaml.h"

#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/xalloc.h"

#include <yaml.h>

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Files people write are small; anything bigger is a mistake or an attack. */
#define YAML_MAX_FILE_SIZE (16u * 1024 * 1024)
/*
 * Aliases share nodes, so the tree itself stays small, but every consumer
 * that walks it (conversion to JSON, template expansion) pays for the
 * expansion. Cap what aliases and merge keys add so a "billion laughs"
 * document fails here instead of exhausting memory later.
 */
#define YAML_MAX_ALIAS_EXPANSION 1000000u
/* Consumers recurse over the tree; keep their stacks safe. */
#define YAML_MAX_DEPTH 512

/* The node plus what only the parser needs: its size with aliases expanded. */
struct node_ext {
	struct yaml_node node;
	size_t expanded;
};

/* A string-keyed open-addressing table; keys point at arena text (not copied). */
struct key_slot {
	const char *key;
	size_t len;
	void *value;
};

struct key_table {
	struct key_slot *slots;
	size_t cap;
	size_t count;
};

struct frame {
	struct node_ext *node;
	const char *anchor;
	/* sequence: items; mapping: key, value, key, value, ... */
	struct yaml_node **items;
	size_t count;
	size_t cap;
};

struct builder {
	const char *file;
	struct arena *arena;
	struct key_table anchors;
	struct frame *frames;
	size_t depth;
	size_t frames_cap;
	struct yaml_node *root;
	size_t alias_expansion;
	struct err *e;
};

static size_t add_saturating(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static size_t expanded_of(const struct yaml_node *node)
{
	return ((const struct node_ext *)node)->expanded;
}

static uint64_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

static void table_free(struct key_table *t)
{
	free(t->slots);
	t->slots = NULL;
	t->cap = 0;
	t->count = 0;
}

static struct key_slot *table_find_slot(struct key_slot *slots, size_t cap, const char *key,
					size_t len)
{
	size_t i = (size_t)hash_bytes(key, len) & (cap - 1);
	for (;;) {
		struct key_slot *s = &slots[i];
		if (!s->key || (s->len == len && memcmp(s->key, key, len) == 0))
			return s;
		i = (i + 1) & (cap - 1);
	}
}

/*
 * Returns the value slot for key, creating it (with NULL) when absent;
 * *found tells which.
 */
static void **table_slot(struct key_table *t, const char *key, size_t len, bool *found)
{
	if ((t->count + 1) * 2 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct key_slot *slots = xcalloc(cap, sizeof(*slots));
		for (size_t i = 0; i < t->cap; i++) {
			if (t->slots[i].key)
				*table_find_slot(slots, cap, t->slots[i].key, t->slots[i].len) =
					t->slots[i];
		}
		free(t->slots);
		t->slots = slots;
		t->cap = cap;
	}
	struct key_slot *s = table_find_slot(t->slots, t->cap, key, len);
	*found = s->key != NULL;
	if (!s->key) {
		s->key = key;
		s->len = len;
		s->value = NULL;
		t->count++;
	}
	return &s->value;
}

static void *table_get(const struct key_table *t, const char *key, size_t len)
{
	if (!t->cap)
		return NULL;
	struct key_slot *s = table_find_slot(t->slots, t->cap, key, len);
	return s->key ? s->value : NULL;
}

const char *yaml_kind_name(enum yaml_kind kind)
{
	static const char *const names[] = { "scalar", "sequence", "mapping" };
	return (unsigned)kind < 3 ? names[kind] : "node";
}

/* libyaml marks are 0-based size_t; nodes and messages use 1-based int. */
static int mark_number(size_t zero_based)
{
	return zero_based >= INT_MAX ? INT_MAX : (int)zero_based + 1;
}

static int node_verr(struct err *e, const char *file, int line, int column, const char *fmt,
		     va_list ap)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, file ? file : "<input>");
	if (line > 0)
		buf_addf(&b, ":%d:%d", line, column);
	buf_adds(&b, ": ");
	buf_vaddf(&b, fmt, ap);
	err_set(e, "%s", buf_cstr(&b));
	buf_free(&b);
	return -1;
}

int yaml_err(struct err *e, const char *file, const struct yaml_node *node, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	node_verr(e, file, node ? node->line : 0, node ? node->column : 0, fmt, ap);
	va_end(ap);
	return -1;
}

static int mark_err(struct err *e, const char *file, yaml_mark_t mark, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int mark_err(struct err *e, const char *file, yaml_mark_t mark, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	node_verr(e, file, mark_number(mark.line), mark_number(mark.column), fmt, ap);
	va_end(ap);
	return -1;
}

/* Describes a node for "found ..." in messages, shortening long scalars. */
static void describe_node(struct buf *out, const struct yaml_node *node)
{
	if (!node) {
		buf_adds(out, "nothing");
		return;
	}
	if (node->kind != YAML_SCALAR) {
		buf_addf(out, "a %s", yaml_kind_name(node->kind));
		return;
	}
	if (yaml_is_null(node)) {
		buf_adds(out, "an empty value");
		return;
	}
	size_t shown = node->length > 40 ? 40 : node->length;
	buf_addch(out, '\'');
	for (size_t i = 0; i < shown; i++) {
		unsigned char c = (unsigned char)node->value[i];
		if (c < 0x20 || c == 0x7f)
			buf_addf(out, "\\x%02x", c);
		else
			buf_addch(out, (char)c);
	}
	buf_adds(out, shown < node->length ? "...'" : "'");
}

/* The byte where a mark points in UTF-8 input (marks count characters), or -1. */
static int byte_at_mark(const char *data, size_t len, yaml_mark_t mark)
{
	size_t i = 0;
	for (size_t line = 0; line < mark.line; i++) {
		if (i >= len)
			return -1;
		if (data[i] == '\n')
			line++;
	}
	for (size_t column = 0; i < len; i++) {
		if (((unsigned char)data[i] & 0xC0) == 0x80)
			continue;
		if (column++ == mark.column)
			return (unsigned char)data[i];
	}
	return -1;
}

static void parser_error(const yaml_parser_t *parser, const char *file, const char *data,
			 size_t len, struct err *e)
{
	const char *problem = parser->problem ? parser->problem : "cannot parse YAML";
	if (parser->error == YAML_MEMORY_ERROR) {
		err_set(e, "%s: out of memory while parsing YAML", file);
		return;
	}
	if (parser->error == YAML_READER_ERROR) {
		/* The reader reports a byte offset, not a mark. */
		size_t line = 1, column = 1;
		for (size_t i = 0; i < parser->problem_offset && i < len; i++) {
			if (data[i] == '\n') {
				line++;
				column = 1;
			} else {
				column++;
			}
		}
		yaml_mark_t mark = { parser->problem_offset, line - 1, column - 1 };
		if (parser->problem_value != -1)
			mark_err(e, file, mark, "%s (#x%X)", problem, parser->problem_value);
		else
			mark_err(e, file, mark, "%s", problem);
		return;
	}
	/* libyaml's message for a tab in indentation does not mention the tab. */
	const char *hint = "";
	if (parser->error == YAML_SCANNER_ERROR &&
	    byte_at_mark(data, len, parser->problem_mark) == '\t')
		hint = "; YAML indents with spaces, not tabs";
	if (parser->context)
		mark_err(e, file, parser->problem_mark, "%s (%s at line %zu, column %zu)%s",
			 problem, parser->context, parser->context_mark.line + 1,
			 parser->context_mark.column + 1, hint);
	else
		mark_err(e, file, parser->problem_mark, "%s%s", problem, hint);
}

static char *arena_bytes(struct arena *a, const void *data, size_t len)
{
	char *s = arena_alloc(a, len + 1);
	if (len)
		memcpy(s, data, len);
	s[len] = '\0';
	return s;
}

static struct node_ext *node_new(struct builder *b, enum yaml_kind kind, yaml_mark_t mark,
				 const yaml_char_t *tag)
{
	struct node_ext *n = arena_alloc(b->arena, sizeof(*n));
	n->node.kind = kind;
	n->node.line = mark_number(mark.line);
	n->node.column = mark_number(mark.column);
	n->node.tag = tag ? arena_strdup(b->arena, (const char *)tag) : NULL;
	n->expanded = 1;
	return n;
}

static void frame_push_item(struct frame *f, struct yaml_node *item)
{
	if (f->count == f->cap) {
		f->cap = xalloc_grow_capacity(f->cap, f->count + 1);
		f->items = xrealloc(f->items, f->cap * sizeof(*f->items));
	}
	f->items[f->count++] = item;
}

static void attach(struct builder *b, struct yaml_node *node)
{
	if (b->depth == 0)
		b->root = node;
	else
		frame_push_item(&b->frames[b->depth - 1], node);
}

static void register_anchor(struct builder *b, const char *anchor, struct yaml_node *node)
{
	bool found;
	/* A later anchor of the same name replaces the earlier one (YAML spec). */
	*table_slot(&b->anchors, anchor, strlen(anchor), &found) = node;
}

static int add_scalar(struct builder *b, const yaml_event_t *ev)
{
	struct node_ext *n = node_new(b, YAML_SCALAR, ev->start_mark, ev->data.scalar.tag);
	n->node.value = arena_bytes(b->arena, ev->data.scalar.value, ev->data.scalar.length);
	n->node.length = ev->data.scalar.length;
	n->node.quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE &&
			 ev->data.scalar.style != YAML_ANY_SCALAR_STYLE;
	if (ev->data.scalar.anchor)
		register_anchor(b, arena_strdup(b->arena, (const char *)ev->data.scalar.anchor),
				&n->node);
	attach(b, &n->node);
	return 0;
}

static int add_alias(struct builder *b, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	struct yaml_node *target = table_get(&b->anchors, name, strlen(name));
	if (!target) {
		for (size_t i = 0; i < b->depth; i++) {
			if (b->frames[i].anchor && strcmp(b->frames[i].anchor, name) == 0)
				return mark_err(b->e, b->file, ev->start_mark,
						"alias '*%s' refers to a node that contains it",
						name);
		}
		return mark_err(b->e, b->file, ev->start_mark, "undefined alias '*%s'", name);
	}
	b->alias_expansion = add_saturating(b->alias_expansion, expanded_of(target));
	if (b->alias_expansion > YAML_MAX_ALIAS_EXPANSION)
		return mark_err(b->e, b->file, ev->start_mark,
				"aliases expand to more than %u nodes (alias bomb?)",
				YAML_MAX_ALIAS_EXPANSION);
	attach(b, target);
	return 0;
}

static int open_collection(struct builder *b, const yaml_event_t *ev, enum yaml_kind kind)
{
	if (b->depth >= YAML_MAX_DEPTH)
		return mark_err(b->e, b->file, ev->start_mark, "nesting deeper than %d levels",
				YAML_MAX_DEPTH);
	const yaml_char_t *tag =
		kind == YAML_SEQUENCE ? ev->data.sequence_start.tag : ev->data.mapping_start.tag;
	const yaml_char_t *anchor = kind == YAML_SEQUENCE ? ev->data.sequence_start.anchor
							  : ev->data.mapping_start.anchor;
	if (b->depth == b->frames_cap) {
		b->frames_cap = xalloc_grow_capacity(b->frames_cap, b->depth + 1);
		b->frames = xrealloc(b->frames, b->frames_cap * sizeof(*b->frames));
	}
	struct frame *f = &b->frames[b->depth++];
	memset(f, 0, sizeof(*f));
	f->node = node_new(b, kind, ev->start_mark, tag);
	f->anchor = anchor ? arena_strdup(b->arena, (const char *)anchor) : NULL;
	return 0;
}

static bool is_merge_key(const struct yaml_node *key)
{
	return key->kind == YAML_SCALAR && !key->quoted && key->length == 2 &&
	       memcmp(key->value, "<<", 2) == 0 &&
	       (!key->tag || strcmp(key->tag, "tag:yaml.org,2002:merge") == 0);
}

static int dup_key_error(struct builder *b, const struct yaml_node *key,
			 const struct yaml_node *first)
{
	struct buf what = BUF_INIT;
	describe_node(&what, key);
	yaml_err(b->e, b->file, key, "duplicate key %s (first defined at line %d, column %d)",
		 buf_cstr(&what), first->line, first->column);
	buf_free(&what);
	return -1;
}

static int merge_source_error(struct builder *b, const struct yaml_node *key,
			      const struct yaml_node *found)
{
	struct buf what = BUF_INIT;
	describe_node(&what, found);
	yaml_err(b->e, b->file, key,
		 "merge key '<<' needs a mapping or a list of mappings, found %s", buf_cstr(&what));
	buf_free(&what);
	return -1;
}

struct picked {
	struct yaml_pair *pairs;
	size_t count;
	size_t cap;
};

static void picked_push(struct picked *p, struct yaml_node *key, struct yaml_node *value)
{
	if (p->count == p->cap) {
		p->cap = xalloc_grow_capacity(p->cap, p->count + 1);
		p->pairs = xrealloc(p->pairs, p->cap * sizeof(*p->pairs));
	}
	p->pairs[p->count].key = key;
	p->pairs[p->count].value = value;
	p->count++;
}

/*
 * Takes the pairs of one merge source that no explicit key and no
 * higher-priority source already set.
 */
static int merge_source(struct builder *b, struct key_table *seen, const struct yaml_node *source,
			struct picked *out, const struct yaml_node *merge_key)
{
	for (size_t i = 0; i < source->count; i++) {
		struct yaml_pair *p = &source->pairs[i];
		if (p->key->kind == YAML_SCALAR) {
			bool found;
			void **slot = table_slot(seen, p->key->value, p->key->length, &found);
			if (found)
				continue;
			*slot = p->key;
		}
		size_t cost = add_saturating(expanded_of(p->key), expanded_of(p->value));
		b->alias_expansion = add_saturating(b->alias_expansion, cost);
		if (b->alias_expansion > YAML_MAX_ALIAS_EXPANSION)
			return yaml_err(b->e, b->file, merge_key,
					"merge keys and aliases expand to more than %u nodes "
					"(alias bomb?)",
					YAML_MAX_ALIAS_EXPANSION);
		picked_push(out, p->key, p->value);
	}
	return 0;
}

/*
 * Builds the final pairs of a mapping: duplicate explicit keys are an
 * error, and `<<` entries are replaced, at their position, by the pairs
 * they merge in. Explicit keys win over merged ones; a later `<<` wins
 * over an earlier one; within one `<<: [a, b]` the first mapping wins
 * (the merge-key spec, as PyYAML and Ruby apply it).
 */
static int build_pairs(struct builder *b, struct frame *f)
{
	size_t n = f->count / 2;
	struct yaml_node **kv = f->items;
	struct key_table seen = { 0 };
	struct picked *merged = NULL;
	size_t merges = 0;
	int rc = -1;

	for (size_t i = 0; i < n; i++) {
		struct yaml_node *key = kv[2 * i], *value = kv[2 * i + 1];
		if (is_merge_key(key)) {
			if (value->kind == YAML_SEQUENCE) {
				for (size_t j = 0; j < value->count; j++) {
					if (value->items[j]->kind != YAML_MAPPING) {
						merge_source_error(b, key, value->items[j]);
						goto out;
					}
				}
			} else if (value->kind != YAML_MAPPING) {
				merge_source_error(b, key, value);
				goto out;
			}
			merges++;
			continue;
		}
		if (key->kind != YAML_SCALAR)
			continue;
		bool found;
		void **slot = table_slot(&seen, key->value, key->length, &found);
		if (found) {
			dup_key_error(b, key, *slot);
			goto out;
		}
		*slot = key;
	}

	size_t total = n - merges;
	if (merges) {
		merged = xcalloc(n, sizeof(*merged));
		for (size_t i = n; i-- > 0;) {
			struct yaml_node *key = kv[2 * i], *value = kv[2 * i + 1];
			if (!is_merge_key(key))
				continue;
			if (value->kind == YAML_MAPPING) {
				if (merge_source(b, &seen, value, &merged[i], key))
					goto out;
			} else {
				for (size_t j = 0; j < value->count; j++) {
					if (merge_source(b, &seen, value->items[j], &merged[i],
							 key))
						goto out;
				}
			}
			total += merged[i].count;
		}
	}

	struct yaml_node *node = &f->node->node;
	node->pairs = arena_calloc(b->arena, total ? total : 1, sizeof(*node->pairs));
	node->count = 0;
	size_t expanded = 1;
	for (size_t i = 0; i < n; i++) {
		struct yaml_node *key = kv[2 * i], *value = kv[2 * i + 1];
		if (merged && is_merge_key(key)) {
			for (size_t j = 0; j < merged[i].count; j++)
				node->pairs[node->count++] = merged[i].pairs[j];
			continue;
		}
		node->pairs[node->count].key = key;
		node->pairs[node->count].value = value;
		node->count++;
	}
	for (size_t i = 0; i < node->count; i++) {
		expanded = add_saturating(expanded, expanded_of(node->pairs[i].key));
		expanded = add_saturating(expanded, expanded_of(node->pairs[i].value));
	}
	f->node->expanded = expanded;
	rc = 0;
out:
	if (merged) {
		for (size_t i = 0; i < n; i++)
			free(merged[i].pairs);
		free(merged);
	}
	table_free(&seen);
	return rc;
}

static int close_collection(struct builder *b, yaml_mark_t mark)
{
	/* libyaml pairs start and end events; this only guards the invariant. */
	if (b->depth == 0)
		return mark_err(b->e, b->file, mark, "unbalanced end of collection");
	struct frame *f = &b->frames[b->depth - 1];
	struct yaml_node *node = &f->node->node;
	int rc = 0;
	if (node->kind == YAML_SEQUENCE) {
		node->items = arena_calloc(b->arena, f->count ? f->count : 1, sizeof(*node->items));
		if (f->count)
			memcpy(node->items, f->items, f->count * sizeof(*node->items));
		node->count = f->count;
		size_t expanded = 1;
		for (size_t i = 0; i < f->count; i++)
			expanded = add_saturating(expanded, expanded_of(f->items[i]));
		f->node->expanded = expanded;
	} else {
		rc = build_pairs(b, f);
	}
	free(f->items);
	const char *anchor = f->anchor;
	b->depth--;
	if (rc)
		return rc;
	/* Registered only now, so an alias inside its own anchor cannot form a cycle. */
	if (anchor)
		register_anchor(b, anchor, node);
	attach(b, node);
	return 0;
}

static void builder_reset(struct builder *b)
{
	for (size_t i = 0; i < b->depth; i++)
		free(b->frames[i].items);
	b->depth = 0;
	table_free(&b->anchors);
	b->root = NULL;
	b->alias_expansion = 0;
	if (b->arena)
		arena_free(b->arena);
	b->arena = NULL;
}

static struct yaml_doc *doc_new(const char *file)
{
	struct arena *a = arena_new();
	struct yaml_doc *doc = arena_alloc(a, sizeof(*doc));
	doc->arena = a;
	doc->file = arena_strdup(a, file);
	return doc;
}

/* An empty document ("---" alone) parses as an untagged empty plain scalar. */
static bool is_empty_root(const struct yaml_node *root)
{
	return root && root->kind == YAML_SCALAR && !root->quoted && !root->tag &&
	       root->length == 0;
}

static int handle_event(struct builder *b, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return add_scalar(b, ev);
	case YAML_ALIAS_EVENT:
		return add_alias(b, ev);
	case YAML_SEQUENCE_START_EVENT:
		return open_collection(b, ev, YAML_SEQUENCE);
	case YAML_MAPPING_START_EVENT:
		return open_collection(b, ev, YAML_MAPPING);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return close_collection(b, ev->start_mark);
	default:
		return 0;
	}
}

static void docs_push(struct yaml_doc ***docs, size_t *count, size_t *cap, struct yaml_doc *doc)
{
	if (*count == *cap) {
		*cap = xalloc_grow_capacity(*cap, *count + 1);
		*docs = xrealloc(*docs, *cap * sizeof(**docs));
	}
	(*docs)[(*count)++] = doc;
}

static int parse_stream(const char *file, const char *data, size_t len, bool all,
			struct yaml_doc ***docs_out, size_t *count_out, struct err *e)
{
	yaml_parser_t parser;
	struct builder b = { 0 };
	struct yaml_doc **docs = NULL;
	struct yaml_doc *doc = NULL;
	size_t count = 0, cap = 0;
	bool done = false;
	int rc = -1;

	if (!file)
		file = "<input>";
	if (!data)
		data = "";
	*docs_out = NULL;
	*count_out = 0;
	if (!yaml_parser_initialize(&parser))
		return err_set(e, "%s: out of memory while parsing YAML", file);
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	b.file = file;
	b.e = e;

	while (!done) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&parser, &ev)) {
			parser_error(&parser, file, data, len, e);
			goto out;
		}
		int step = 0;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			builder_reset(&b);
			doc = doc_new(file);
			b.arena = doc->arena;
			b.file = doc->file;
			break;
		case YAML_DOCUMENT_END_EVENT:
			if (!doc)
				break;
			doc->root = is_empty_root(b.root) ? NULL : b.root;
			/* The arena now belongs to the document. */
			b.arena = NULL;
			builder_reset(&b);
			docs_push(&docs, &count, &cap, doc);
			doc = NULL;
			b.file = file;
			if (!all)
				done = true;
			break;
		default:
			step = handle_event(&b, &ev);
			break;
		}
		yaml_event_delete(&ev);
		if (step)
			goto out;
	}
	*docs_out = docs;
	*count_out = count;
	docs = NULL;
	count = 0;
	rc = 0;
out:
	/* On failure the open document's arena is still the builder's. */
	builder_reset(&b);
	free(b.frames);
	yaml_docs_free(docs, count);
	yaml_parser_delete(&parser);
	return rc;
}

int yaml_parse(struct yaml_doc **out, const char *file, const char *data, size_t len, struct err *e)
{
	struct yaml_doc **docs;
	size_t count;
	*out = NULL;
	if (parse_stream(file, data, len, false, &docs, &count, e))
		return -1;
	if (count == 0) {
		*out = doc_new(file ? file : "<input>");
	} else {
		*out = docs[0];
		for (size_t i = 1; i < count; i++)
			yaml_doc_free(docs[i]);
	}
	free(docs);
	return 0;
}

int yaml_parse_all(struct yaml_doc ***docs_out, size_t *count_out, const char *file,
		   const char *data, size_t len, struct err *e)
{
	return parse_stream(file, data, len, true, docs_out, count_out, e);
}

int yaml_load_file(struct yaml_doc **out, const char *path, struct err *e)
{
	struct buf b = BUF_INIT;
	*out = NULL;
	if (buf_read_file(&b, path, YAML_MAX_FILE_SIZE, e)) {
		buf_free(&b);
		return -1;
	}
	int rc = yaml_parse(out, path, b.data ? b.data : "", b.len, e);
	buf_free(&b);
	return rc;
}

void yaml_doc_free(struct yaml_doc *doc)
{
	if (doc)
		arena_free(doc->arena);
}

void yaml_docs_free(struct yaml_doc **docs, size_t count)
{
	for (size_t i = 0; i < count; i++)
		yaml_doc_free(docs[i]);
	free(docs);
}

struct yaml_node *yaml_get(const struct yaml_node *map, const char *key)
{
	if (!map || map->kind != YAML_MAPPING || !key)
		return NULL;
	size_t len = strlen(key);
	for (size_t i = 0; i < map->count; i++) {
		const struct yaml_node *k = map->pairs[i].key;
		if (k->kind == YAML_SCALAR && k->length == len && memcmp(k->value, key, len) == 0)
			return map->pairs[i].value;
	}
	return NULL;
}

static bool scalar_is(const struct yaml_node *node, const char *const *words)
{
	for (; *words; words++) {
		if (strlen(*words) == node->length &&
		    memcmp(node->value, *words, node->length) == 0)
			return true;
	}
	return false;
}

bool yaml_is_null(const struct yaml_node *node)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
	if (!node)
		return true;
	if (node->kind != YAML_SCALAR || node->quoted)
		return false;
	if (node->tag)
		return strcmp(node->tag, "tag:yaml.org,2002:null") == 0;
	return scalar_is(node, nulls);
}

const char *yaml_str(const struct yaml_node *node)
{
	return node && node->kind == YAML_SCALAR ? node->value : NULL;
}

static int expected_error(struct err *e, const char *file, const struct yaml_node *node,
			  const char *expected)
{
	struct buf what = BUF_INIT;
	describe_node(&what, node);
	if (node && node->kind == YAML_SCALAR && node->quoted && !yaml_is_null(node))
		buf_adds(&what, " (a quoted string)");
	yaml_err(e, file, node, "expected %s, found %s", expected, buf_cstr(&what));
	buf_free(&what);
	return -1;
}

int yaml_bool(const struct yaml_node *node, const char *file, bool *out, struct err *e)
{
	static const char *const truths[] = { "true", "True", "TRUE", NULL };
	static const char *const falsehoods[] = { "false", "False", "FALSE", NULL };
	const char *expected = "true or false";
	if (!node || node->kind != YAML_SCALAR || node->quoted)
		return expected_error(e, file, node, expected);
	if (scalar_is(node, truths)) {
		*out = true;
		return 0;
	}
	if (scalar_is(node, falsehoods)) {
		*out = false;
		return 0;
	}
	return expected_error(e, file, node, expected);
}

int yaml_int(const struct yaml_node *node, const char *file, long long *out, struct err *e)
{
	const char *expected = "an integer";
	if (!node || node->kind != YAML_SCALAR || node->quoted || node->length == 0)
		return expected_error(e, file, node, expected);
	const char *s = node->value, *end = node->value + node->length;
	bool negative = false;
	unsigned base = 10;
	if (end - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
		base = s[1] == 'x' ? 16 : 8;
		s += 2;
	} else if (*s == '-' || *s == '+') {
		negative = *s == '-';
		s++;
	}
	if (s == end)
		return expected_error(e, file, node, expected);
	unsigned long long value = 0;
	bool overflow = false;
	for (; s < end; s++) {
		static const char digits[] = "0123456789abcdef";
		const char *digit = *s ? strchr(digits, tolower((unsigned char)*s)) : NULL;
		unsigned d = digit ? (unsigned)(digit - digits) : base;
		if (d >= base)
			return expected_error(e, file, node, expected);
		if (value > (ULLONG_MAX - d) / base)
			overflow = true;
		else
			value = value * base + d;
	}
	unsigned long long limit = negative ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX;
	if (overflow || value > limit) {
		struct buf what = BUF_INIT;
		describe_node(&what, node);
		yaml_err(e, file, node, "integer %s is out of range", buf_cstr(&what));
		buf_free(&what);
		return -1;
	}
	if (negative)
		*out = value == limit ? LLONG_MIN : -(long long)value;
	else
		*out = (long long)value;
	return 0;
}
