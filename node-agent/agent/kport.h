/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel device type: a pod without DPDK gets an ordinary netdev (a TAP) attached to the same
 * per-network switch as virtio-user ports. The agent creates a persistent multi-queue TAP with
 * virtio-net headers (IFF_VNET_HDR) in its own namespace, turns on its offloads (checksum,
 * TSO4/6 with the pool's `offloads`), then moves it into the pod like a VF netdev (renamed to
 * the CNI ifname, MAC, MTU, up: sriov/podnet). The agent keeps one file descriptor per queue;
 * the fast path reads and writes frames through them.
 *
 * The TAP is persistent (TUNSETPERSIST): when the agent stops, the pod keeps its interface and
 * addresses (carrier down), and a restarted agent re-attaches its queues by name inside the
 * pod's namespace. Release clears persistence and closes the queues: the kernel deletes the
 * netdev. A namespace that is gone took the TAP with it.
 */
#ifndef KB_KPORT_H
#define KB_KPORT_H

#include <net/if.h>
#include <stdbool.h>

#include "agent/sriov/podnet.h"

struct alloc;
struct pool;

#define KPORT_MAX_QUEUES 16

/* How the fast path moves frames through a TAP queue. */
enum kport_io {
	KPORT_IO_URING,   /* batches: one io_uring_enter for a burst of reads or writes */
	KPORT_IO_SYSCALL, /* one readv/writev per frame (the baseline the batching is measured on)
	                   */
};

struct kport_pool_cfg {
	unsigned count;
	unsigned queues;
	unsigned mtu;
	int numa;
	bool offloads;
	enum kport_io io;
};

struct kport_alloc {
	char host_name[IFNAMSIZ]; /* the TAP's name in the agent's namespace before the move */
	unsigned queues;
	bool offloads;
	enum kport_io io;
	struct podnet pn;
	int fds[KPORT_MAX_QUEUES]; /* -1: not open (agent restarted, namespace gone) */
	unsigned n_fds;
};

const struct kport_pool_cfg *kport_pool_cfg(const struct pool *p);
const struct kport_alloc *kport_alloc_data(const struct alloc *a);
const char *kport_io_name(enum kport_io io);

#endif
