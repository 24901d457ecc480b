#include "util/map.h"

#include "util/xalloc.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/*
 * Entries live in an array in insertion order (that is what map_next walks);
 * a separate open-addressing index of entry numbers finds them by hash.
 * Deleting frees the key and leaves a hole in the entries and a tombstone in
 * the index; both are swept out when the index is rebuilt on growth, which
 * never happens inside map_del, so deleting while iterating is safe.
 *
 * Keys come from untrusted input (HTTP headers, YAML keys), so the hash is
 * SipHash-1-3 with a per-process random key rather than a plain FNV.
 */

#define SLOT_EMPTY     UINT32_MAX
#define SLOT_TOMBSTONE (UINT32_MAX - 1)

struct map_entry {
	char *key; /* NULL once deleted */
	void *value;
	uint64_t hash;
};

struct map {
	struct map_entry *entries;
	size_t entries_len; /* including deleted holes */
	size_t entries_cap;
	uint32_t *slots;
	size_t slots_cap;  /* power of two */
	size_t used_slots; /* live + tombstones */
	size_t count;
};

static uint64_t sip_key[2];
static pthread_once_t sip_key_once = PTHREAD_ONCE_INIT;

static void map_seed(void)
{
	if (getrandom(sip_key, sizeof(sip_key), GRND_NONBLOCK) != (ssize_t)sizeof(sip_key)) {
		/* No entropy this early is unlikely; a weaker key still hashes correctly. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		sip_key[0] = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid();
		sip_key[1] = (uint64_t)ts.tv_sec * 0xC2B2AE3D27D4EB4Full ^ (uintptr_t)&ts;
	}
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                   \
	do {                       \
		v0 += v1;          \
		v1 = ROTL(v1, 13); \
		v1 ^= v0;          \
		v0 = ROTL(v0, 32); \
		v2 += v3;          \
		v3 = ROTL(v3, 16); \
		v3 ^= v2;          \
		v0 += v3;          \
		v3 = ROTL(v3, 21); \
		v3 ^= v0;          \
		v2 += v1;          \
		v1 = ROTL(v1, 17); \
		v1 ^= v2;          \
		v2 = ROTL(v2, 32); \
	} while (0)

static uint64_t map_hash(const char *key, size_t len)
{
	const unsigned char *in = (const unsigned char *)key;
	uint64_t k0 = sip_key[0], k1 = sip_key[1];
	uint64_t v0 = 0x736f6d6570736575ull ^ k0;
	uint64_t v1 = 0x646f72616e646f6dull ^ k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ k0;
	uint64_t v3 = 0x7465646279746573ull ^ k1;
	uint64_t b = (uint64_t)len << 56;
	size_t tail = len & 7;
	const unsigned char *end = in + len - tail;
	for (; in != end; in += 8) {
		uint64_t m = 0;
		for (int i = 0; i < 8; i++)
			m |= (uint64_t)in[i] << (8 * i);
		v3 ^= m;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t i = 0; i < tail; i++)
		b |= (uint64_t)in[i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

struct map *map_new(void)
{
	pthread_once(&sip_key_once, map_seed);
	return xcalloc(1, sizeof(struct map));
}

void map_free(struct map *m, void (*value_free)(void *))
{
	if (!m)
		return;
	for (size_t i = 0; i < m->entries_len; i++) {
		if (!m->entries[i].key)
			continue;
		if (value_free)
			value_free(m->entries[i].value);
		free(m->entries[i].key);
	}
	free(m->entries);
	free(m->slots);
	free(m);
}

/* The slot holding key, or (when absent) SIZE_MAX. */
static size_t map_find_slot(const struct map *m, const char *key, uint64_t hash)
{
	if (!m->slots_cap)
		return SIZE_MAX;
	size_t mask = m->slots_cap - 1;
	for (size_t i = (size_t)hash & mask, probe = 1;; i = (i + probe++) & mask) {
		uint32_t s = m->slots[i];
		if (s == SLOT_EMPTY)
			return SIZE_MAX;
		if (s != SLOT_TOMBSTONE && m->entries[s].hash == hash &&
		    strcmp(m->entries[s].key, key) == 0)
			return i;
	}
}

/* Compacts the entries (dropping deleted holes) and rebuilds the index. */
static void map_rebuild(struct map *m, size_t slots_cap)
{
	size_t live = 0;
	for (size_t i = 0; i < m->entries_len; i++) {
		if (m->entries[i].key)
			m->entries[live++] = m->entries[i];
	}
	m->entries_len = live;
	free(m->slots);
	m->slots = xmalloc(slots_cap * sizeof(uint32_t));
	memset(m->slots, 0xff, slots_cap * sizeof(uint32_t));
	m->slots_cap = slots_cap;
	size_t mask = slots_cap - 1;
	for (size_t e = 0; e < live; e++) {
		size_t i = (size_t)m->entries[e].hash & mask;
		for (size_t probe = 1; m->slots[i] != SLOT_EMPTY; i = (i + probe++) & mask)
			;
		m->slots[i] = (uint32_t)e;
	}
	m->used_slots = live;
}

void *map_put(struct map *m, const char *key, void *value)
{
	size_t len = strlen(key);
	uint64_t hash = map_hash(key, len);
	size_t slot = map_find_slot(m, key, hash);
	if (slot != SIZE_MAX) {
		struct map_entry *entry = &m->entries[m->slots[slot]];
		void *old = entry->value;
		entry->value = value;
		return old;
	}
	/* Keep the index at most 3/4 full counting tombstones, so probes stay short. */
	if ((m->used_slots + 1) * 4 > m->slots_cap * 3) {
		size_t cap = m->slots_cap ? m->slots_cap : 8;
		while ((m->count + 1) * 2 > cap)
			cap *= 2;
		if (cap >= SLOT_TOMBSTONE)
			abort();
		map_rebuild(m, cap);
	}
	/*
	 * Reinserting after deletes reuses tombstones without growing the index,
	 * so sweep holes here too or churn would grow the entries forever.
	 */
	if (m->entries_len == m->entries_cap && m->entries_len - m->count >= m->entries_len / 2 &&
	    m->entries_len > 0)
		map_rebuild(m, m->slots_cap);
	if (m->entries_len == m->entries_cap) {
		if (m->entries_len >= SLOT_TOMBSTONE)
			abort();
		m->entries_cap = xalloc_grow_capacity(m->entries_cap, m->entries_len + 1);
		m->entries = xrealloc(m->entries, m->entries_cap * sizeof(*m->entries));
	}
	size_t e = m->entries_len++;
	m->entries[e].key = xstrndup(key, len);
	m->entries[e].value = value;
	m->entries[e].hash = hash;
	size_t mask = m->slots_cap - 1;
	size_t i = (size_t)hash & mask;
	for (size_t probe = 1; m->slots[i] != SLOT_EMPTY && m->slots[i] != SLOT_TOMBSTONE;
	     i = (i + probe++) & mask)
		;
	if (m->slots[i] == SLOT_EMPTY)
		m->used_slots++;
	m->slots[i] = (uint32_t)e;
	m->count++;
	return NULL;
}

void *map_get(const struct map *m, const char *key)
{
	size_t slot = map_find_slot(m, key, map_hash(key, strlen(key)));
	return slot == SIZE_MAX ? NULL : m->entries[m->slots[slot]].value;
}

bool map_has(const struct map *m, const char *key)
{
	return map_find_slot(m, key, map_hash(key, strlen(key))) != SIZE_MAX;
}

void *map_del(struct map *m, const char *key)
{
	size_t slot = map_find_slot(m, key, map_hash(key, strlen(key)));
	if (slot == SIZE_MAX)
		return NULL;
	struct map_entry *entry = &m->entries[m->slots[slot]];
	void *value = entry->value;
	free(entry->key);
	entry->key = NULL;
	entry->value = NULL;
	m->slots[slot] = SLOT_TOMBSTONE;
	m->count--;
	return value;
}

size_t map_count(const struct map *m)
{
	return m->count;
}

bool map_next(const struct map *m, size_t *cursor, const char **key, void **value)
{
	while (*cursor < m->entries_len) {
		const struct map_entry *entry = &m->entries[(*cursor)++];
		if (!entry->key)
			continue;
		if (key)
			*key = entry->key;
		if (value)
			*value = entry->value;
		return true;
	}
	return false;
}
