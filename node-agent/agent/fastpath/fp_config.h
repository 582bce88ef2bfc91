/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `fastpath:` configuration section. Absent section: the fast path is disabled and DPDK
 * is never initialised (virtio-user devices stay allocatable, control plane only).
 */
#ifndef KB_FP_CONFIG_H
#define KB_FP_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/config.h"

#define FP_CFG_SECTION  "fastpath"
#define FP_MAX_WORKERS  16
#define FP_MAX_PORTS    1024 /* rte_vhost's device limit */
#define FP_MAX_BURST    64
#define FP_MAX_EAL_ARGS 32
#define FP_MAX_NETWORKS 64

/* Per-network switch policy (fastpath.networks): the node's administrator grants it, not the
 * network attachment a tenant writes. */
struct fp_net_cfg {
	char name[64];
	unsigned pcp;       /* vlanQoS: PCP of the tag pushed on the uplink (0..7) */
	bool has_trunk;     /* an explicit `trunk:` list */
	uint8_t trunk[512]; /* VLANs (1..4094) the network's pods may tag themselves */
};

enum fp_memory { FP_MEM_AUTO, FP_MEM_HUGEPAGES, FP_MEM_NO_HUGE };

struct fp_cfg {
	bool present; /* the section exists */
	bool enabled;
	unsigned n_workers;
	int workers[FP_MAX_WORKERS]; /* CPU ids; n_workers == 0: pick automatically */
	enum fp_memory memory;
	unsigned memory_mb; /* --no-huge: -m */
	unsigned mbufs, mbuf_cache, burst;
	unsigned mbuf_size;         /* data room (headroom included) */
	unsigned idle_polls;        /* empty polls before a worker sleeps; 0: never sleep */
	unsigned idle_sleep_max_us; /* back-off ceiling */
	/* idleWait: events (default): a sleeping worker wakes on its ports' traffic (fp_wake.h);
	 * sleep: blind back-off sleeps only. */
	bool idle_events;
	unsigned max_ports;
	/* copyMode: one: pod ports' rings walked by the switch, one copy between pods
	 * (fp_onecopy.h); two (default): rte_vhost's dequeue and enqueue. */
	bool one_copy;
	unsigned stats_interval_ms; /* health and watchdog timer */
	unsigned watchdog_ms;       /* a worker without progress this long: devices unhealthy */
	char file_prefix[64];       /* "" : kbnet-<pid> */
	char **eal;                 /* extra EAL arguments, NULL-terminated (may be NULL) */
	size_t n_eal;
	struct {
		char devargs[256]; /* "": no uplink */
		unsigned mtu;
		unsigned rx_desc, tx_desc;
	} uplink;
	size_t n_networks;
	struct fp_net_cfg networks[FP_MAX_NETWORKS];
};

/* The policy for `network`, NULL when the section names none. */
const struct fp_net_cfg *fp_cfg_network(const struct fp_cfg *c, const char *network);

const struct fp_cfg *fp_cfg_get(const struct cfg *cfg);
const char *fp_memory_name(enum fp_memory m);
/* True when the settings that need a restart (EAL, uplink, workers) differ. */
bool fp_cfg_needs_restart(const struct fp_cfg *a, const struct fp_cfg *b);

#endif
