/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GetPreferredAllocation: which `size` of kubelet's available devices a container should get.
 * Rules, in order: every must-include device; devices on one NUMA node when one node can hold
 * the whole request (best fit: the fullest node that suffices, keeping larger nodes for larger
 * requests), else as few nodes as possible; devices an attachment already holds (CNI use
 * without kubelet) last, since giving one away would fail at CNI ADD.
 */
#ifndef KB_DP_PREFER_H
#define KB_DP_PREFER_H

#include <stdbool.h>
#include <stddef.h>

struct dp_prefer_dev {
	int numa;  /* -1: unknown */
	bool must; /* in must_include_deviceIDs */
	bool held; /* an attachment holds it */
};

/*
 * Choose from `devs[n]` (in kubelet's order); writes chosen indices to out[] (room for n) and
 * returns how many: all must-include devices plus enough others to reach `size` when there are
 * enough. With topology off, NUMA is ignored.
 */
size_t dp_prefer(
        const struct dp_prefer_dev *devs, size_t n, size_t size, bool topology, size_t *out);

#endif
