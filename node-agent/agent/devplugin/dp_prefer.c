/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/devplugin/dp_prefer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Bucket 0 holds devices of unknown NUMA node (and everything when topology is off). */
#define N_BUCKETS 65

struct pick {
	const struct dp_prefer_dev *devs;
	size_t n;
	bool topology;
	uint8_t *taken;
	size_t *out, k;
};

static unsigned bucket(const struct pick *p, size_t i)
{
	int numa = p->devs[i].numa;

	return p->topology && numa >= 0 && numa < N_BUCKETS - 1 ? (unsigned)numa + 1 : 0;
}

static void take(struct pick *p, size_t i)
{
	p->taken[i] = 1;
	p->out[p->k++] = i;
}

/* Take up to `need` candidates (not taken, held == held) from bucket b, in kubelet's order. */
static size_t take_from(struct pick *p, unsigned b, bool held, size_t need)
{
	size_t got = 0;

	for (size_t i = 0; i < p->n && got < need; i++) {
		if (p->taken[i] || p->devs[i].held != held || bucket(p, i) != b)
			continue;
		take(p, i);
		got++;
	}
	return got;
}

static void fill(struct pick *p, bool held, size_t need)
{
	size_t cnt[N_BUCKETS] = {0};
	bool home[N_BUCKETS] = {0};
	unsigned n_home = 0, h = 0, best = 0;
	size_t best_cnt = SIZE_MAX;

	if (!need)
		return;
	for (size_t i = 0; i < p->n; i++) {
		unsigned b = bucket(p, i);
		if (!p->taken[i] && p->devs[i].held == held)
			cnt[b]++;
		if (p->taken[i] && b && !home[b]) {
			home[b] = true;
			n_home++;
			h = b;
		}
	}
	/* The chosen devices sit on one node that can take the rest too. */
	if (n_home == 1 && cnt[h] >= need) {
		take_from(p, h, held, need);
		return;
	}
	/* Best fit among known nodes, then the unknown bucket, when nothing is chosen yet. */
	if (n_home == 0) {
		for (unsigned b = 1; b < N_BUCKETS; b++) {
			if (cnt[b] >= need && cnt[b] < best_cnt) {
				best = b;
				best_cnt = cnt[b];
			}
		}
		if (best_cnt == SIZE_MAX && cnt[0] >= need)
			best = 0, best_cnt = cnt[0];
		if (best_cnt != SIZE_MAX) {
			take_from(p, best, held, need);
			return;
		}
	}
	/* Span nodes: the ones already used first, then the largest, unknown last. */
	while (need) {
		unsigned pick_b = 0;
		bool found = false;
		for (unsigned b = 1; b < N_BUCKETS; b++) {
			if (!cnt[b])
				continue;
			if (!found || (home[b] && !home[pick_b]) ||
			        (home[b] == home[pick_b] && cnt[b] > cnt[pick_b])) {
				pick_b = b;
				found = true;
			}
		}
		if (!found) {
			if (!cnt[0])
				return;
			pick_b = 0;
		}
		size_t got = take_from(p, pick_b, held, need);
		need -= got;
		cnt[pick_b] = 0;
		home[pick_b] = pick_b != 0;
	}
}

size_t dp_prefer(
        const struct dp_prefer_dev *devs, size_t n, size_t size, bool topology, size_t *out)
{
	struct pick p = {.devs = devs, .n = n, .topology = topology, .out = out};

	if (!(p.taken = calloc(n ? n : 1, 1))) {
		/* No memory for the bookkeeping: must-include, then kubelet's order. */
		for (size_t i = 0; i < n; i++)
			if (devs[i].must)
				out[p.k++] = i;
		for (size_t i = 0; i < n && p.k < size; i++)
			if (!devs[i].must)
				out[p.k++] = i;
		return p.k;
	}
	for (size_t i = 0; i < n; i++)
		if (devs[i].must)
			take(&p, i);
	if (p.k < size)
		fill(&p, false, size - p.k);
	if (p.k < size)
		fill(&p, true, size - p.k);
	free(p.taken);
	return p.k;
}
