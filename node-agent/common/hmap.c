/* SPDX-License-Identifier: Apache-2.0 */
#include "common/hmap.h"

#include <stdlib.h>
#include <string.h>

void hmap_init(struct hmap *map)
{
	map->one = NULL;
	map->buckets = &map->one;
	map->mask = 0;
	map->n = 0;
}

void hmap_destroy(struct hmap *map)
{
	if (map->buckets != &map->one)
		free(map->buckets);
	hmap_init(map);
}

static void hmap_resize(struct hmap *map, size_t new_mask)
{
	struct hmap_node **nb = calloc(new_mask + 1, sizeof(*nb));

	if (!nb)
		return; /* keep the old table: slower, still correct */
	for (size_t i = 0; i <= map->mask; i++) {
		struct hmap_node *node = map->buckets[i], *next;
		for (; node; node = next) {
			next = node->next;
			node->next = nb[node->hash & new_mask];
			nb[node->hash & new_mask] = node;
		}
	}
	if (map->buckets != &map->one)
		free(map->buckets);
	map->buckets = nb;
	map->mask = new_mask;
}

void hmap_insert(struct hmap *map, struct hmap_node *node, uint32_t hash)
{
	struct hmap_node **b;

	node->hash = hash;
	b = &map->buckets[hash & map->mask];
	node->next = *b;
	*b = node;
	map->n++;
	if (map->n > 2 * (map->mask + 1))
		hmap_resize(map, (map->mask + 1) * 4 - 1);
}

void hmap_remove(struct hmap *map, struct hmap_node *node)
{
	struct hmap_node **p = &map->buckets[node->hash & map->mask];

	while (*p != node)
		p = &(*p)->next;
	*p = node->next;
	map->n--;
}

struct hmap_node *hmap_first_with_hash(const struct hmap *map, uint32_t hash)
{
	struct hmap_node *node = map->buckets[hash & map->mask];

	while (node && node->hash != hash)
		node = node->next;
	return node;
}

struct hmap_node *hmap_next_with_hash(const struct hmap_node *node)
{
	uint32_t hash = node->hash;

	for (node = node->next; node && node->hash != hash; node = node->next)
		;
	return (struct hmap_node *)node;
}

static struct hmap_node *first_from(const struct hmap *map, size_t start)
{
	for (size_t i = start; i <= map->mask; i++)
		if (map->buckets[i])
			return map->buckets[i];
	return NULL;
}

struct hmap_node *hmap_first(const struct hmap *map)
{
	return first_from(map, 0);
}

struct hmap_node *hmap_next(const struct hmap *map, const struct hmap_node *node)
{
	if (node->next)
		return node->next;
	return first_from(map, (node->hash & map->mask) + 1);
}

/* FNV-1a with a murmur3 finaliser: cheap, and well mixed in the low bits we index by. */
uint32_t hash_bytes(const void *p, size_t n, uint32_t basis)
{
	const unsigned char *s = p;
	uint32_t h = 2166136261u ^ basis;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 16777619u;
	}
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

uint32_t hash_str(const char *s, uint32_t basis)
{
	return hash_bytes(s, strlen(s), basis);
}
