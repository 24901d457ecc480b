/* mask: secret masking with an Aho-Corasick automaton; see mask.h. */
#include "pipeline/mask.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/xalloc.h"

/*
 * One trie node per distinct prefix of the registered values. Children are
 * not stored in the node: secrets can be long (keys, certificates), and a
 * 256-entry table per byte of secret would cost a kilobyte each. The root's
 * children sit in a dense table (most bytes of a log line leave the root at
 * once); all others share one open-addressing hash of (node, byte) edges.
 */
struct mask_node {
	uint32_t parent;
	uint32_t fail;	  /* longest proper suffix of this prefix that is a node */
	uint32_t depth;	  /* length of the prefix */
	uint32_t out_len; /* longest value ending here (itself or a suffix), 0 = none */
	unsigned char byte;
	bool terminal; /* a registered value ends here */
};

struct mask_edge {
	uint32_t from;
	uint32_t to; /* 0 marks a free slot: the root is nobody's child */
	unsigned char byte;
};

struct mask {
	pthread_rwlock_t lock;
	struct mask_node *nodes;
	size_t node_count;
	size_t node_cap;
	uint32_t root_next[256];
	struct mask_edge *edges;
	size_t edge_count;
	size_t edge_cap; /* a power of two */
	uint32_t max_depth;
	size_t value_count;
	/* Values were added since the failure links were computed. The links
	 * are rebuilt by the next mask_apply, so a burst of add-mask commands
	 * costs one rebuild, not one each. */
	bool dirty;
};

/* A stretch of the text to hide, [start, end). */
struct mask_range {
	size_t start;
	size_t end;
};

static size_t edge_slot(uint32_t from, unsigned char byte, size_t cap)
{
	uint64_t h = ((uint64_t)from << 8 | byte) * 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 32) & (cap - 1);
}

static uint32_t edge_find(const struct mask *m, uint32_t from, unsigned char byte)
{
	if (m->edge_cap == 0)
		return 0;
	for (size_t i = edge_slot(from, byte, m->edge_cap);; i = (i + 1) & (m->edge_cap - 1)) {
		const struct mask_edge *edge = &m->edges[i];
		if (edge->to == 0)
			return 0;
		if (edge->from == from && edge->byte == byte)
			return edge->to;
	}
}

static void edge_put(struct mask_edge *edges, size_t cap, uint32_t from, unsigned char byte,
		     uint32_t to)
{
	size_t i = edge_slot(from, byte, cap);
	while (edges[i].to != 0)
		i = (i + 1) & (cap - 1);
	edges[i].from = from;
	edges[i].byte = byte;
	edges[i].to = to;
}

static void edge_add(struct mask *m, uint32_t from, unsigned char byte, uint32_t to)
{
	/* Kept at most half full so that probes stay short. */
	if ((m->edge_count + 1) * 2 > m->edge_cap) {
		size_t cap = m->edge_cap ? m->edge_cap * 2 : 64;
		struct mask_edge *edges = xcalloc(cap, sizeof(*edges));
		for (size_t i = 0; i < m->edge_cap; i++) {
			if (m->edges[i].to != 0)
				edge_put(edges, cap, m->edges[i].from, m->edges[i].byte,
					 m->edges[i].to);
		}
		free(m->edges);
		m->edges = edges;
		m->edge_cap = cap;
	}
	edge_put(m->edges, m->edge_cap, from, byte, to);
	m->edge_count++;
}

static uint32_t child_of(const struct mask *m, uint32_t node, unsigned char byte)
{
	return node == 0 ? m->root_next[byte] : edge_find(m, node, byte);
}

static uint32_t node_new(struct mask *m, uint32_t parent, unsigned char byte)
{
	if (m->node_count >= UINT32_MAX) {
		/* Four gigabytes of secrets: not a case worth a code path. */
		fprintf(stderr, "ampel: too many secrets to mask\n");
		abort();
	}
	if (m->node_count == m->node_cap) {
		m->node_cap = xalloc_grow_capacity(m->node_cap, m->node_count + 1);
		m->nodes = xrealloc(m->nodes, m->node_cap * sizeof(*m->nodes));
	}
	uint32_t id = (uint32_t)m->node_count++;
	struct mask_node *node = &m->nodes[id];
	memset(node, 0, sizeof(*node));
	node->parent = parent;
	node->byte = byte;
	node->depth = m->nodes[parent].depth + 1;
	if (node->depth > m->max_depth)
		m->max_depth = node->depth;
	if (parent == 0)
		m->root_next[byte] = id;
	else
		edge_add(m, parent, byte, id);
	return id;
}

struct mask *mask_new(void)
{
	struct mask *m = xcalloc(1, sizeof(*m));
	pthread_rwlockattr_t attr;
	pthread_rwlockattr_init(&attr);
	/* Log lines arrive without pause from parallel jobs; an add-mask must
	 * not wait behind them indefinitely, since the output it protects is
	 * coming next. */
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&m->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	m->node_cap = 64;
	m->nodes = xcalloc(m->node_cap, sizeof(*m->nodes));
	m->node_count = 1; /* the root: the empty prefix */
	return m;
}

void mask_free(struct mask *m)
{
	if (!m)
		return;
	pthread_rwlock_destroy(&m->lock);
	free(m->nodes);
	free(m->edges);
	free(m);
}

static bool is_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n' && s[i] != '\v' &&
		    s[i] != '\f')
			return false;
	}
	return true;
}

/* Caller holds the write lock. */
static void insert_value(struct mask *m, const char *value, size_t len)
{
	if (is_blank(value, len))
		return;
	uint32_t node = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char byte = (unsigned char)value[i];
		uint32_t next = child_of(m, node, byte);
		node = next ? next : node_new(m, node, byte);
	}
	if (!m->nodes[node].terminal) {
		m->nodes[node].terminal = true;
		m->value_count++;
		m->dirty = true;
	}
}

void mask_add(struct mask *m, const char *value)
{
	if (!m || !value || !*value)
		return;
	pthread_rwlock_wrlock(&m->lock);
	size_t len = strlen(value);
	insert_value(m, value, len);
	if (memchr(value, '\n', len)) {
		const char *line = value;
		const char *end = value + len;
		while (line < end) {
			const char *nl = memchr(line, '\n', (size_t)(end - line));
			const char *line_end = nl ? nl : end;
			size_t line_len = (size_t)(line_end - line);
			if (line_len > 0 && line[line_len - 1] == '\r')
				line_len--;
			insert_value(m, line, line_len);
			line = nl ? nl + 1 : end;
		}
	}
	pthread_rwlock_unlock(&m->lock);
}

size_t mask_count(const struct mask *m)
{
	if (!m)
		return 0;
	struct mask *locked = (struct mask *)m;
	pthread_rwlock_rdlock(&locked->lock);
	size_t count = m->value_count;
	pthread_rwlock_unlock(&locked->lock);
	return count;
}

/*
 * Computes failure links and outputs. A node's failure target is shallower
 * than the node, so visiting nodes by depth (a counting sort) finds every
 * target already done. Caller holds the write lock.
 */
static void build_links(struct mask *m)
{
	size_t levels = (size_t)m->max_depth + 1;
	size_t *start = xcalloc(levels + 1, sizeof(*start));
	for (size_t i = 0; i < m->node_count; i++)
		start[m->nodes[i].depth + 1]++;
	for (size_t d = 1; d <= levels; d++)
		start[d] += start[d - 1];
	uint32_t *order = xmalloc(m->node_count * sizeof(*order));
	for (size_t i = 0; i < m->node_count; i++)
		order[start[m->nodes[i].depth]++] = (uint32_t)i;
	free(start);

	for (size_t k = 1; k < m->node_count; k++) {
		struct mask_node *node = &m->nodes[order[k]];
		uint32_t fail = 0;
		if (node->parent != 0) {
			uint32_t f = m->nodes[node->parent].fail;
			for (;;) {
				uint32_t next = child_of(m, f, node->byte);
				if (next) {
					fail = next;
					break;
				}
				if (f == 0)
					break;
				f = m->nodes[f].fail;
			}
		}
		node->fail = fail;
		/* Any other value ending here is a suffix of this one, hence
		 * shorter: the longest decides how far back to hide. */
		node->out_len = node->terminal ? node->depth : m->nodes[fail].out_len;
	}
	free(order);
	m->dirty = false;
}

static uint32_t advance(const struct mask *m, uint32_t node, unsigned char byte)
{
	for (;;) {
		if (node == 0)
			return m->root_next[byte];
		uint32_t next = edge_find(m, node, byte);
		if (next)
			return next;
		node = m->nodes[node].fail;
	}
}

/*
 * Scans the text once. At each position the longest value ending there
 * gives a range to hide; any shorter value ending there lies inside it.
 * Ranges end in increasing order but may start before earlier ones (a long
 * secret containing a short one), so earlier ranges that overlap or touch
 * the new one are folded into it — the runner hides such a union as one
 * `***`. Caller holds a lock with the links built.
 */
static void apply_locked(const struct mask *m, const char *text, size_t len, struct buf *out)
{
	struct mask_range *ranges = NULL;
	size_t count = 0;
	size_t cap = 0;
	uint32_t node = 0;
	for (size_t i = 0; i < len; i++) {
		node = advance(m, node, (unsigned char)text[i]);
		uint32_t hit = m->nodes[node].out_len;
		if (hit == 0)
			continue;
		struct mask_range range = { i + 1 - hit, i + 1 };
		while (count > 0 && ranges[count - 1].end >= range.start) {
			if (ranges[count - 1].start < range.start)
				range.start = ranges[count - 1].start;
			count--;
		}
		if (count == cap) {
			cap = xalloc_grow_capacity(cap, count + 1);
			ranges = xrealloc(ranges, cap * sizeof(*ranges));
		}
		ranges[count++] = range;
	}
	size_t at = 0;
	for (size_t r = 0; r < count; r++) {
		buf_add(out, text + at, ranges[r].start - at);
		buf_add(out, "***", 3);
		at = ranges[r].end;
	}
	buf_add(out, text + at, len - at);
	free(ranges);
}

void mask_apply_buf(const struct mask *m, const char *text, size_t len, struct buf *out)
{
	if (!m || len == 0) {
		buf_add(out, len ? text : "", len);
		return;
	}
	/* Logically const: finishing a pending rebuild changes no answer. */
	struct mask *locked = (struct mask *)m;
	pthread_rwlock_rdlock(&locked->lock);
	if (!m->dirty) {
		apply_locked(m, text, len, out);
		pthread_rwlock_unlock(&locked->lock);
		return;
	}
	pthread_rwlock_unlock(&locked->lock);
	pthread_rwlock_wrlock(&locked->lock);
	if (locked->dirty)
		build_links(locked);
	apply_locked(m, text, len, out);
	pthread_rwlock_unlock(&locked->lock);
}

char *mask_apply(const struct mask *m, const char *text, size_t len, size_t *out_len)
{
	struct buf out = BUF_INIT;
	buf_grow(&out, len);
	mask_apply_buf(m, text, len, &out);
	if (out_len)
		*out_len = out.len;
	return buf_detach(&out);
}
