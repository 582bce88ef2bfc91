/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Worker lcores: the datapath. Each worker polls the (port, queue) pairs the published
 * forwarding table assigns to it, switches frames with fp_switch and transmits in bursts.
 * Workers take no lock and allocate nothing but mbufs; they read the table and the ports'
 * connection state through RCU (rte_rcu_qsbr): a worker reports a quiescent state after
 * each loop and goes offline while it sleeps, so the control plane can wait for every worker
 * to have left an old table (or a disconnected vhost device) before freeing it.
 *
 * Queues: a worker polls only the receive queues the table assigns to it (each queue to
 * exactly one worker, fixed while its port lives) and only those the pod has enabled; it
 * transmits to a pod on the (worker id % n)-th of the pod's enabled receive rings, in chunks
 * of at most 32 frames (rte_vhost's per-call limit). Rings beyond the pool's `queues` are
 * never used.
 *
 * Counters are per worker (written by that worker only) and summed by the control plane.
 */
#ifndef KB_FP_WORKER_H
#define KB_FP_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/fastpath/fp_config.h"
#include "agent/fastpath/fp_switch.h"
#include "common/err.h"

struct rte_mempool;

/* Per-port counters (a worker's share). */
struct fp_stats {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t drop_spoof;    /* source MAC not the pod's */
	uint64_t drop_oversize; /* over the input (or output) port's MTU */
	uint64_t drop_unknown;  /* no destination */
	uint64_t drop_tx_full;  /* the destination ring was full */
	uint64_t drop_down;     /* destination not connected */
	uint64_t drop_nomem;    /* no mbuf for a flood copy */
	uint64_t drop_runt;
	uint64_t drop_vlan; /* a pod's own VLAN tag its network does not trunk */
	/* Offloads (fp_offload.h): */
	uint64_t rx_gso_packets, rx_gso_bytes; /* GSO frames received whole */
	uint64_t tx_gso_sw;       /* GSO frames segmented in software for this destination */
	uint64_t tx_gso_segments; /* the segments they made (also in tx_packets when sent) */
	uint64_t tx_csum_sw;      /* frames whose L4 checksum the switch completed for this port */
	uint64_t drop_offload;    /* an offload request the switch cannot honour (malformed
	                           * headers, no mbuf to segment, TCP/IPv6 to segment) */
};
#define FP_STATS_FIELDS 18

/* Per-worker cycle accounting (rte_rdtsc). */
struct fp_wstats {
	uint64_t busy_cycles;  /* whole loops that moved packets (OVS: processing cycles) */
	uint64_t work_cycles;  /* polls that returned packets, receive to transmit (testpmd) */
	uint64_t idle_cycles;  /* empty loops, sleeps included */
	uint64_t sleep_cycles; /* part of idle spent asleep */
	uint64_t packets;      /* frames received and handled */
	uint64_t loops, sleeps;
	uint64_t wakes; /* sleeps ended by a port's traffic before their timeout */
	/* One-copy mode (part of work_cycles): walking the source ring and switching (frames for
	 * the uplink and floods copied into mbufs included), copying to pods, handing the
	 * source's chains back. Estimates: one burst in 16 is timed, its cycles counted 16 times.
	 */
	uint64_t oc_walk_cycles, oc_copy_cycles, oc_done_cycles;
};

/* Connection state of a slot as workers see it (written by the control plane and the vhost
 * thread). */
struct fp_rt {
	int32_t vid;       /* vhost device, -1 when not connected */
	uint16_t rx_en;    /* bit q: the pod's transmit ring of pair q is enabled (we dequeue) */
	uint16_t tx_en;    /* bit q: the pod's receive ring of pair q is enabled (we enqueue) */
	uint16_t eth_port; /* uplink's ethdev port */
	uint8_t ol_caps;   /* FP_OL_CAP_*: offloads the port takes as they are */
	bool linear;       /* uplink without multi-segment transmit: segments are linearised */
	/* TAP ports: their queues (fp_tap.h) */
	struct fp_tap *tap;
};

struct fp_worker_params {
	unsigned n_workers;
	const unsigned *lcores;
	unsigned burst;
	unsigned idle_polls;
	unsigned idle_sleep_max_us;
	bool idle_events; /* idleWait: events (fp_wake.h) */
	struct rte_mempool *pool;
	/* Indirect mbufs (no data room) for software segmentation: the segments' payloads
	 * point into the GSO frame instead of copying it. */
	unsigned indirect_mbufs;
};

int fp_worker_init(const struct fp_worker_params *p, struct kb_err *err);
int fp_worker_start(struct kb_err *err);
void fp_worker_fini(void); /* stops the workers */
/* Change idle settings on the fly. events: a sleeping worker waits for its ports' traffic
 * (a TAP queue readable, a pod's kick) and wakes at once, else it sleeps blind (back-off). */
void fp_worker_set_idle(unsigned idle_polls, unsigned idle_sleep_max_us, bool events);
/* Any thread: what wakes a sleeping worker changed (a pod connected or went away, a ring
 * was enabled, a new table): sleeping workers wake and rebuild their wake-up sets. */
void fp_worker_wake_all(void);

/* Runtime state of every slot. */
struct fp_rt *fp_worker_rt(uint16_t slot);

/* Publish a new table: workers use it from their next loop on. The old one is freed once no
 * worker can hold it (blocks until then: microseconds, or a worker's current burst). */
void fp_worker_publish(struct fp_table *t);
const struct fp_table *fp_worker_table(void);
/* Wait until every worker has passed a quiescent state (after a vhost device went away). */
void fp_worker_sync(void);
/* The same, giving up after `ms` milliseconds: false when some worker did not pass. */
bool fp_worker_sync_timeout(unsigned ms);

/* Test builds only (KB_FP_TEST_HOOKS, see build.mk): with KBNET_FP_TEST_STALL_MS=N in the
 * agent's environment, a vhost device going away first has the worker polling it stall for
 * N ms while it holds the device (as a worker starved of CPU would), to prove that teardown
 * waits for it. fp_worker_test_stall() asks for the stall and waits until it started;
 * fp_worker_test_destroyed() marks the device's teardown complete; a worker that touches a
 * device after that counts a late access. Without the hooks these do nothing. */
void fp_worker_test_stall(uint16_t slot, int32_t vid);
void fp_worker_test_destroyed(int32_t vid);
/* Stalls done and late accesses seen (0, 0 without the hooks); false without the hooks. */
bool fp_worker_test_counts(uint64_t *stalls, uint64_t *late);

unsigned fp_worker_count(void);
unsigned fp_worker_lcore(unsigned w);
/* Sum of every worker's counters for a slot. */
void fp_worker_port_stats(uint16_t slot, struct fp_stats *ret);
void fp_worker_stats(unsigned w, struct fp_wstats *ret);
/* False when a worker lcore is no longer running its loop. */
bool fp_worker_alive(unsigned w);

#endif
