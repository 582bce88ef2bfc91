/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: the intrusive hash map (common/hmap.c): growth, removal during and outside
 * iteration, colliding hashes, every node visited exactly once, compared with a plain array.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hmap.h"

struct item {
	int key;
	bool in;       /* in the map (the model) */
	unsigned seen; /* visits during one iteration */
	struct hmap_node node;
};

#define N 2000

static struct item items[N];

static uint32_t item_hash(int key, uint32_t mask)
{
	return hash_bytes(&key, sizeof(key), 0) & mask;
}

static struct item *find(struct hmap *m, int key, uint32_t mask)
{
	struct item *it;

	HMAP_FOR_EACH_WITH_HASH (it, node, item_hash(key, mask), m)
		if (it->key == key)
			return it;
	return NULL;
}

/* Every member is visited exactly once, non-members never; lookups agree. */
static void check(struct hmap *m, uint32_t mask)
{
	size_t in = 0, visits = 0;
	struct item *it;

	for (int i = 0; i < N; i++) {
		items[i].seen = 0;
		in += items[i].in;
	}
	assert_int_equal(hmap_count(m), in);
	HMAP_FOR_EACH (it, node, m) {
		it->seen++;
		visits++;
	}
	assert_int_equal(visits, in);
	for (int i = 0; i < N; i++) {
		assert_int_equal(items[i].seen, items[i].in ? 1 : 0);
		assert_ptr_equal(find(m, i, mask), items[i].in ? &items[i] : NULL);
	}
}

static void run(uint32_t mask)
{
	struct hmap m;
	struct item *it;

	hmap_init(&m);
	for (int i = 0; i < N; i++) {
		items[i] = (struct item){.key = i};
	}
	assert_null(hmap_first(&m));
	check(&m, mask);
	/* Growth from the single built-in bucket through several resizes. */
	for (int i = 0; i < N; i++) {
		hmap_insert(&m, &items[i].node, item_hash(i, mask));
		items[i].in = true;
		if (i == 0 || i == 1 || i == 2 || i == 100 || i == 1000)
			check(&m, mask);
	}
	check(&m, mask);
	/* Removal outside iteration. */
	for (int i = 0; i < N; i += 3) {
		hmap_remove(&m, &items[i].node);
		items[i].in = false;
	}
	check(&m, mask);
	/* Removal of the current node during iteration. */
	HMAP_FOR_EACH_SAFE (it, node, &m) {
		if (it->key % 2 == 0) {
			hmap_remove(&m, &it->node);
			it->in = false;
		}
	}
	check(&m, mask);
	/* Removed nodes can go back in. */
	for (int i = 0; i < N; i += 6) {
		hmap_insert(&m, &items[i].node, item_hash(i, mask));
		items[i].in = true;
	}
	check(&m, mask);
	/* Remove everything. */
	HMAP_FOR_EACH_SAFE (it, node, &m) {
		hmap_remove(&m, &it->node);
		it->in = false;
	}
	check(&m, mask);
	assert_null(hmap_first(&m));
	hmap_destroy(&m);
	/* Usable again after destroy. */
	hmap_insert(&m, &items[0].node, 7);
	assert_int_equal(hmap_count(&m), 1);
	hmap_destroy(&m);
	assert_int_equal(hmap_count(&m), 0);
}

static void test_well_spread(void **state)
{
	(void)state;
	run(0xffffffffu);
}

static void test_colliding_hashes(void **state)
{
	(void)state;
	/* Only 4 distinct hash values: long chains, lookups must compare keys. */
	run(0x3);
}

static void test_all_same_hash(void **state)
{
	(void)state;
	run(0);
}

static void test_static_initializer(void **state)
{
	static struct hmap m = HMAP_INITIALIZER(&m);
	struct item a = {.key = 1}, b = {.key = 2};

	(void)state;
	assert_int_equal(hmap_count(&m), 0);
	hmap_insert(&m, &a.node, 1);
	hmap_insert(&m, &b.node, 1);
	assert_ptr_equal(hmap_first_with_hash(&m, 1), &b.node);
	assert_ptr_equal(hmap_next_with_hash(&b.node), &a.node);
	assert_null(hmap_next_with_hash(&a.node));
	assert_null(hmap_first_with_hash(&m, 2));
	hmap_remove(&m, &b.node);
	hmap_remove(&m, &a.node);
	assert_int_equal(hmap_count(&m), 0);
	hmap_destroy(&m);
}

static void test_hash(void **state)
{
	unsigned buckets[64] = {0};
	char key[64];

	(void)state;
	assert_int_equal(hash_str("abc", 0), hash_bytes("abc", 3, 0));
	assert_int_not_equal(hash_str("abc", 0), hash_str("abc", 1));
	assert_int_not_equal(hash_str("ab", 0), hash_str("ba", 0));
	/* Keys that differ in one character spread over the low bits used for indexing. */
	for (int i = 0; i < 6400; i++) {
		snprintf(key, sizeof(key), "5e1c%08d/net1", i);
		buckets[hash_str(key, 0) & 63]++;
	}
	for (int i = 0; i < 64; i++)
		assert_true(buckets[i] > 50 && buckets[i] < 150);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_well_spread),
	        cmocka_unit_test(test_colliding_hashes),
	        cmocka_unit_test(test_all_same_hash),
	        cmocka_unit_test(test_static_initializer),
	        cmocka_unit_test(test_hash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
