/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Intrusive chained hash map (after Open vSwitch's hmap). The caller embeds a struct hmap_node
 * in its objects and computes hashes itself; the map never allocates per entry. Growing the
 * bucket array may fail silently: the map then keeps working with longer chains.
 */
#ifndef KB_HMAP_H
#define KB_HMAP_H

#include <stddef.h>
#include <stdint.h>

struct hmap_node {
	struct hmap_node *next;
	uint32_t hash;
};

struct hmap {
	struct hmap_node **buckets;
	struct hmap_node *one; /* single bucket used before the first allocation */
	size_t mask;
	size_t n;
};

#define HMAP_INITIALIZER(MAP)                                          \
	{                                                              \
		.buckets = &(MAP)->one, .one = NULL, .mask = 0, .n = 0 \
	}

void hmap_init(struct hmap *map);
void hmap_destroy(struct hmap *map); /* frees buckets, not the nodes */
void hmap_insert(struct hmap *map, struct hmap_node *node, uint32_t hash);
void hmap_remove(struct hmap *map, struct hmap_node *node);
static inline size_t hmap_count(const struct hmap *map)
{
	return map->n;
}

struct hmap_node *hmap_first_with_hash(const struct hmap *map, uint32_t hash);
struct hmap_node *hmap_next_with_hash(const struct hmap_node *node);
struct hmap_node *hmap_first(const struct hmap *map);
struct hmap_node *hmap_next(const struct hmap *map, const struct hmap_node *node);

uint32_t hash_bytes(const void *p, size_t n, uint32_t basis);
uint32_t hash_str(const char *s, uint32_t basis);

#ifndef container_of
#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))
#endif

/* Iterate over nodes whose hash equals HASH (candidates: compare keys in the body). */
#define HMAP_FOR_EACH_WITH_HASH(VAR, MEMBER, HASH, MAP)                                        \
	for (struct hmap_node *VAR##_hn_ = hmap_first_with_hash(MAP, HASH);                    \
	        VAR##_hn_ && ((VAR) = container_of(VAR##_hn_, __typeof__(*(VAR)), MEMBER), 1); \
	        VAR##_hn_ = hmap_next_with_hash(VAR##_hn_))

#define HMAP_FOR_EACH(VAR, MEMBER, MAP)                                                        \
	for (struct hmap_node *VAR##_hn_ = hmap_first(MAP);                                    \
	        VAR##_hn_ && ((VAR) = container_of(VAR##_hn_, __typeof__(*(VAR)), MEMBER), 1); \
	        VAR##_hn_ = hmap_next(MAP, VAR##_hn_))

/* Safe against removal of VAR in the body (not against other removals). */
#define HMAP_FOR_EACH_SAFE(VAR, MEMBER, MAP)                                      \
	for (struct hmap_node *VAR##_hn_ = hmap_first(MAP), *VAR##_nx_ = NULL;    \
	        VAR##_hn_ && (VAR##_nx_ = hmap_next(MAP, VAR##_hn_), 1) &&        \
	        ((VAR) = container_of(VAR##_hn_, __typeof__(*(VAR)), MEMBER), 1); \
	        VAR##_hn_ = VAR##_nx_)

#endif
