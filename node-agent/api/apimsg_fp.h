/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fast-path module's messages (node-agent/agent/fastpath/README.md describes them): the
 * results of `ports` and `stats` and the `fastpath` status section, typed and encoded and
 * decoded both ways. The fast path (agent side) and agentctl use these; neither spells a
 * field name of them. No DPDK here: the agent fills these structs from its own.
 *
 * As in apimsg.h: decoders return -EPROTO with the field named in err, decoded structs borrow
 * the strings of the json_t they came from, and fields an older agent did not send decode as
 * absent (has_* false, or the documented default).
 */
#ifndef KB_API_APIMSG_FP_H
#define KB_API_APIMSG_FP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

#define APIMSG_FP_OP_PORTS    "ports"    /* the fast path's ports with their counters */
#define APIMSG_FP_OP_STATS    "stats"    /* worker cycles, ports, the agent's clock */
#define APIMSG_FP_STATUS_KEY  "fastpath" /* its section of status */

#define APIMSG_FP_MAX_QUEUES  64  /* queueWorkers entries accepted from the wire */
#define APIMSG_FP_VLAN_BITMAP 512 /* VLAN ids 0..4095, one bit each */
#define APIMSG_FP_MAX_WORKERS 256 /* workerCpus entries accepted from the wire */

/* ---- counters of a port ---- */

/* Drop reasons (stats.drops), in the order agentctl shows them. */
enum apimsg_fp_drop {
	APIMSG_FP_DROP_SPOOF,
	APIMSG_FP_DROP_OVERSIZE,
	APIMSG_FP_DROP_UNKNOWN,
	APIMSG_FP_DROP_TX_FULL,
	APIMSG_FP_DROP_DOWN,
	APIMSG_FP_DROP_NO_MBUF,
	APIMSG_FP_DROP_RUNT,
	APIMSG_FP_DROP_VLAN,
	APIMSG_FP_DROP_OFFLOAD,
	APIMSG_FP_DROP_COUNT
};
/* The reason's wire name ("spoof", "txFull", ...). */
const char *apimsg_fp_drop_name(enum apimsg_fp_drop d);

struct apimsg_fp_counters {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t drops[APIMSG_FP_DROP_COUNT];
	/* Offloads: GSO frames received whole, segmented in software, the segments made,
	 * checksums completed in software. */
	uint64_t rx_gso_packets, rx_gso_bytes, tx_gso_sw, tx_gso_segments, tx_csum_sw;
};

/* ---- ports ---- */

enum apimsg_fp_port_kind {
	APIMSG_FP_PORT_VHOST_USER, /* a virtio-user pod's vhost-user socket */
	APIMSG_FP_PORT_UPLINK,     /* the NIC */
	APIMSG_FP_PORT_TAP,        /* a kernel pod's TAP */
	APIMSG_FP_PORT_OTHER,      /* a kind this release does not know (a newer agent) */
};
const char *apimsg_fp_port_kind_name(enum apimsg_fp_port_kind k);

struct apimsg_fp_port {
	int slot;
	const char *name;
	enum apimsg_fp_port_kind kind; /* without "kind": uplink when the port has "devargs",
	                                * else vhost-user */
	bool connected;
	int queues, mtu;
	struct apimsg_fp_counters stats;
	size_t n_queue_workers;
	uint8_t queue_workers[APIMSG_FP_MAX_QUEUES]; /* receive queue -> worker */

	/* The uplink. */
	const char *device, *devargs;
	const char *notes;           /* what its PMD cannot do, NULL when nothing */
	const char *uplink_offloads; /* how it handles offload requests ("offloads" string) */

	/* Pod ports. */
	const char *container_id, *ifname, *device_id, *network;
	const char *pod; /* "namespace/name", NULL when unknown */
	const char *mac;
	int vlan; /* -1: untagged */
	/* TAP: the pod's netdev name and the port's I/O ("uring", "syscall"). */
	const char *netdev, *io;
	/* vhost-user: the socket and the agent's role ("server", "client"). */
	const char *socket_path, *agent_mode;
	bool has_active_queues; /* older agents did not say */
	int active_queues;
	int queues_beyond_pool; /* 0: none */
	int vlan_qos;           /* with vlan */
	bool has_trunk;
	uint8_t trunk[APIMSG_FP_VLAN_BITMAP]; /* VLANs 1..4094 the pod may tag itself */
	uint64_t connects;
	bool offloads;                /* pod ports: negotiated checksum/TSO offered */
	const char *offload_features; /* when offloads: what was negotiated, NULL when unknown */
};
json_t *apimsg_fp_port_encode(const struct apimsg_fp_port *p);
int apimsg_fp_port_decode(json_t *o, struct apimsg_fp_port *ret, struct kb_err *err);
static inline bool apimsg_fp_trunk_has(const struct apimsg_fp_port *p, unsigned vid)
{
	return vid < 4096 && (p->trunk[vid / 8] >> (vid % 8) & 1);
}
static inline void apimsg_fp_trunk_set(struct apimsg_fp_port *p, unsigned vid)
{
	if (vid < 4096)
		p->trunk[vid / 8] |= (uint8_t)(1u << (vid % 8));
}

/* `ports` result: the array of port objects (stolen); decode gives it borrowed, each
 * element for apimsg_fp_port_decode. */
json_t *apimsg_fp_ports_result_encode(json_t *ports);
int apimsg_fp_ports_result_decode(json_t *res, json_t **ret_ports, struct kb_err *err);

/* ---- stats ---- */

struct apimsg_fp_worker {
	int id, lcore, cpu;
	uint64_t busy_cycles, work_cycles, idle_cycles, sleep_cycles;
	uint64_t packets, loops, sleeps;
	uint64_t wakes; /* sleeps ended early by a port's traffic (absent before: 0) */
	double cycles_per_packet, busy_cycles_per_packet; /* encode computes them */
	bool has_one_copy;                                /* copyMode one: the stages' cycles */
	uint64_t oc_walk_cycles, oc_copy_cycles, oc_hand_back_cycles;
};
json_t *apimsg_fp_worker_encode(const struct apimsg_fp_worker *w);
int apimsg_fp_worker_decode(json_t *o, struct apimsg_fp_worker *ret, struct kb_err *err);

struct apimsg_fp_stats {
	uint64_t tsc_hz;
	uint64_t monotonic_ns; /* the agent's clock when the counters were read */
	json_t *workers;       /* array: encode steals it, decode borrows it */
	json_t *ports;         /* array: as `ports`'s */
	bool has_test_hooks;   /* a test build's injected stalls */
	uint64_t stalls, late_accesses;
};
json_t *apimsg_fp_stats_encode(const struct apimsg_fp_stats *s);
int apimsg_fp_stats_decode(json_t *res, struct apimsg_fp_stats *ret, struct kb_err *err);

/* ---- status section ---- */

struct apimsg_fp_status {
	bool enabled;
	const char *state; /* "running", "failed", "disabled" */
	bool healthy;
	const char *note;  /* NULL when none */
	const char *error; /* NULL when none */
	/* Once the EAL is up (memory non-NULL): */
	const char *memory, *copy_mode, *file_prefix;
	bool hugepages;
	/* Running: */
	bool running;
	size_t n_worker_cpus;
	int worker_cpus[APIMSG_FP_MAX_WORKERS];
	int64_t ports, connected;
	const char *uplink;          /* devargs, NULL: none */
	const char *uplink_notes;    /* NULL when none */
	const char *uplink_offloads; /* with an uplink */
	int idle_polls, idle_sleep_max_us;
	const char *idle_wait;  /* "events", "sleep"; NULL from an older agent */
	int64_t vlan_conflicts; /* 0: none */
};
json_t *apimsg_fp_status_encode(const struct apimsg_fp_status *s);
int apimsg_fp_status_decode(json_t *o, struct apimsg_fp_status *ret, struct kb_err *err);

#endif
