/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The L2 switch's forwarding table and its decisions, free of DPDK so that it can be unit
 * tested on its own. A table is built by the control plane from a list of port descriptions,
 * is immutable once built, and is published to the workers as a whole (RCU, see fp_worker.h):
 * workers never see a half-updated table and never take a lock.
 *
 * Model: one bridge domain per network (the netconf name). Pods' ports are members of their
 * domain; the uplink belongs to every domain, tagged with the domain's VLAN (or untagged when
 * the network has none). The forwarding database is static: each pod port's MAC, from its
 * allocation. There is no MAC learning on the uplink: unknown unicast from a pod goes out of
 * the uplink, unknown unicast from the uplink is dropped.
 */
#ifndef KB_FP_SWITCH_H
#define KB_FP_SWITCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/err.h"

#define FP_SLOT_NONE    UINT16_MAX
#define FP_DOMAIN_NONE  UINT16_MAX
#define FP_VLAN_NONE    (-1)
#define FP_ETH_HLEN     14
#define FP_VLAN_HLEN    4
#define FP_ETH_P_8021Q  0x8100
#define FP_ETH_P_8021AD 0x88a8
#define FP_MAX_QUEUES   16  /* queue pairs per pod port (the pool's `queues`) */
#define FP_VLAN_BITMAP  512 /* 4096 VLAN ids, one bit each */

/* FP_PORT_TAP: a kernel pod's TAP (fp_tap.h), switched like a vhost-user pod port. */
enum fp_port_kind { FP_PORT_UNUSED = 0, FP_PORT_VHOST, FP_PORT_UPLINK, FP_PORT_TAP };

/* What the control plane says about one port when building a table. */
struct fp_port_desc {
	uint16_t slot;
	enum fp_port_kind kind;
	uint8_t mac[6];      /* pods only */
	unsigned mtu;        /* L3 MTU; frames longer than mtu + 14 (+4 tagged) are oversize */
	const char *network; /* pods only: the bridge domain */
	int vlan;            /* pods only: the network's uplink tag, FP_VLAN_NONE for untagged */
	uint16_t queues;     /* receive queues to poll */
	/* Worker polling each receive queue (stable while the port lives, see
	 * fp_assign_queues); NULL: round-robin from worker 0 (tests). */
	const uint8_t *workers;
	/* Pods only, per network (the first port of a network sets them): */
	uint8_t pcp;          /* priority bits of the tag pushed towards the uplink (vlanQoS) */
	const uint8_t *trunk; /* VLANs a pod may tag itself (FP_VLAN_BITMAP bytes), NULL: none */
};

/* Slot view used by the workers (indexed by slot). */
struct fp_slot {
	uint8_t kind;     /* enum fp_port_kind */
	uint16_t domain;  /* pods: their domain */
	uint64_t mac;     /* pods: fp_mac_key(mac), compared against the source address */
	uint32_t max_len; /* longest untagged frame accepted */
};

struct fp_domain {
	int vlan;    /* FP_VLAN_NONE: untagged on the uplink */
	uint8_t pcp; /* PCP of the pushed tag */
	bool has_trunk;
	uint8_t trunk[FP_VLAN_BITMAP]; /* VLANs the domain's pods may tag themselves */
	uint16_t n_members;
	uint16_t *members; /* pod slots, flooding order */
	char network[64];
};

struct fp_fdb_entry {
	uint64_t key; /* 0: empty; else mac (48 bits) | (domain + 1) << 48 */
	uint16_t slot;
};

/* One (port, queue) a worker polls. */
struct fp_rxq {
	uint16_t slot;
	uint16_t queue;
};

struct fp_worker_rx {
	uint16_t n;
	struct fp_rxq *q;
};

struct fp_table {
	uint16_t n_slots; /* slots[] size: highest slot + 1 */
	struct fp_slot *slots;
	uint16_t n_domains;
	struct fp_domain *domains;
	uint32_t fdb_mask; /* fdb size - 1 (a power of two) */
	struct fp_fdb_entry *fdb;
	uint16_t uplink; /* FP_SLOT_NONE when there is none */
	uint32_t uplink_max_len;
	uint16_t untagged_domain;          /* domain of untagged uplink frames, FP_DOMAIN_NONE */
	uint16_t vlan_domain[4096];        /* uplink VLAN -> domain */
	uint8_t vlan_keep[FP_VLAN_BITMAP]; /* uplink VLANs that are trunked: tag kept to pods */
	uint16_t n_workers;
	struct fp_worker_rx *rx; /* per worker */
	/* Networks sharing one VLAN (only the first gets the uplink's frames), for status. */
	unsigned vlan_conflicts;
};

/* Build a table from port descriptions; each rx queue goes to the worker its description
 * names (round-robin when it names none). Returns 0 and *ret, or -errno with err set. */
int fp_table_build(const struct fp_port_desc *ports, size_t n, uint16_t n_workers,
        struct fp_table **ret, struct kb_err *err);
void fp_table_free(struct fp_table *t);

static inline bool fp_bit(const uint8_t *map, unsigned i)
{
	return map[i >> 3] & (1u << (i & 7));
}

/* A MAC as a 48-bit key, in memory byte order (one unaligned 8-byte load and a mask: the
 * datapath reads addresses inside frames, which always have bytes to spare after them). */
#define FP_MAC_MASK 0x0000ffffffffffffull
static inline uint64_t fp_frame_mac(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v & FP_MAC_MASK;
}

/* The same key from a bare 6-byte address (control plane, tests). */
static inline uint64_t fp_mac_key(const uint8_t *m)
{
	uint8_t b[8] = {0};

	memcpy(b, m, 6);
	return fp_frame_mac(b);
}

static inline uint32_t fp_fdb_hash(uint64_t key)
{
	/* Fibonacci hashing: the low MAC bytes vary most, the multiply spreads them. */
	return (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 32);
}

/* Port of `mac` in `domain`, FP_SLOT_NONE when unknown. */
static inline uint16_t fp_fdb_lookup(const struct fp_table *t, uint16_t domain, uint64_t mac)
{
	uint64_t key = mac | (uint64_t)(domain + 1) << 48;
	uint32_t i = fp_fdb_hash(key) & t->fdb_mask;

	for (;;) {
		const struct fp_fdb_entry *e = &t->fdb[i];
		if (e->key == key)
			return e->slot;
		if (e->key == 0)
			return FP_SLOT_NONE;
		i = (i + 1) & t->fdb_mask;
	}
}

enum fp_verdict {
	FP_FWD_UNICAST, /* to *out */
	FP_FWD_FLOOD,   /* to the domain's members except the input, and the uplink if from a pod */
	FP_FWD_UPLINK,  /* unknown unicast from a pod */
	FP_DROP_SPOOF,  /* source MAC is not the pod port's */
	FP_DROP_OVERSIZE, /* longer than the input port's MTU allows */
	FP_DROP_UNKNOWN,  /* no destination (unknown unicast without uplink, unknown VLAN, hairpin)
	                   */
	FP_DROP_RUNT,     /* shorter than an Ethernet header */
	FP_DROP_VLAN,     /* a pod's own VLAN tag that its network does not trunk */
};

/* frame[0..len) is the start of the frame (at least the headers when len allows). */
static inline bool fp_is_multicast(const uint8_t *dst)
{
	return dst[0] & 1;
}

static inline bool fp_is_vlan_tpid(const uint8_t *frame)
{
	return (frame[12] == (FP_ETH_P_8021Q >> 8) && frame[13] == (FP_ETH_P_8021Q & 0xff)) ||
	       (frame[12] == (FP_ETH_P_8021AD >> 8) && frame[13] == (FP_ETH_P_8021AD & 0xff));
}

static inline unsigned fp_frame_vid(const uint8_t *frame)
{
	return ((frame[14] << 8) | frame[15]) & 0xfff;
}

/* A frame received from pod port `in`, whose slot the caller passes (`s`: a copy it keeps in
 * registers for a whole burst). The frame has at least 14 readable bytes when len >= 14, 18
 * when len >= 18.
 *
 * VLAN tags a pod writes itself: a priority tag (802.1Q, VID 0) is accepted (its PCP is kept,
 * the VID becomes the network's on the uplink); a VID the network trunks is accepted and
 * leaves the uplink as it is; any other tag (and every 802.1ad S-tag) is FP_DROP_VLAN, so that
 * no pod can reach a VLAN it was not given (double tagging). */
static inline enum fp_verdict fp_switch_from_pod(const struct fp_table *t, uint16_t in,
        const struct fp_slot *s, const uint8_t *frame, uint32_t len, uint16_t *out)
{
	uint32_t max = s->max_len;
	uint16_t o;

	if (len < FP_ETH_HLEN)
		return FP_DROP_RUNT;
	if (fp_frame_mac(frame + 6) != s->mac)
		return FP_DROP_SPOOF;
	if (fp_is_vlan_tpid(frame)) {
		const struct fp_domain *d = &t->domains[s->domain];
		unsigned vid;
		if (len < FP_ETH_HLEN + FP_VLAN_HLEN)
			return FP_DROP_RUNT;
		vid = fp_frame_vid(frame);
		if (frame[13] != (FP_ETH_P_8021Q & 0xff) ||
		        (vid != 0 && !(d->has_trunk && fp_bit(d->trunk, vid))))
			return FP_DROP_VLAN;
		/* The tag does not count against the pod's MTU. */
		max += FP_VLAN_HLEN;
	}
	if (len > max)
		return FP_DROP_OVERSIZE;
	if (fp_is_multicast(frame))
		return FP_FWD_FLOOD;
	o = fp_fdb_lookup(t, s->domain, fp_frame_mac(frame));
	if (o == FP_SLOT_NONE)
		return t->uplink != FP_SLOT_NONE ? FP_FWD_UPLINK : FP_DROP_UNKNOWN;
	if (o == in)
		return FP_DROP_UNKNOWN;
	*out = o;
	return FP_FWD_UNICAST;
}

/* A frame received from the uplink: *domain is set (for flooding) and *pop says whether the
 * caller must pop a tag. Tagged with a network's VLAN: popped. Priority-tagged (VID 0): the
 * untagged network's, tag kept (the PCP survives). A trunked VLAN: kept. */
static inline enum fp_verdict fp_switch_from_uplink(const struct fp_table *t, const uint8_t *frame,
        uint32_t len, uint16_t *domain, bool *pop, uint16_t *out)
{
	uint32_t max = t->uplink_max_len;
	uint16_t d, o;

	if (len < FP_ETH_HLEN)
		return FP_DROP_RUNT;
	*pop = false;
	if (frame[12] == (FP_ETH_P_8021Q >> 8) && frame[13] == (FP_ETH_P_8021Q & 0xff)) {
		unsigned vid;
		if (len < FP_ETH_HLEN + FP_VLAN_HLEN)
			return FP_DROP_RUNT;
		vid = fp_frame_vid(frame);
		if (vid == 0) {
			d = t->untagged_domain;
		} else {
			d = t->vlan_domain[vid];
			*pop = !fp_bit(t->vlan_keep, vid);
		}
		max += FP_VLAN_HLEN;
	} else {
		d = t->untagged_domain;
	}
	if (len > max)
		return FP_DROP_OVERSIZE;
	if (d == FP_DOMAIN_NONE)
		return FP_DROP_UNKNOWN;
	*domain = d;
	if (fp_is_multicast(frame))
		return FP_FWD_FLOOD;
	o = fp_fdb_lookup(t, d, fp_frame_mac(frame));
	if (o == FP_SLOT_NONE)
		return FP_DROP_UNKNOWN;
	*out = o;
	return FP_FWD_UNICAST;
}

/* Frames from the uplink must also fit the destination pod's MTU. */
static inline bool fp_fits(const struct fp_table *t, uint16_t slot, uint32_t untagged_len)
{
	return untagged_len <= t->slots[slot].max_len;
}

const char *fp_verdict_name(enum fp_verdict v);

/* Stable queue placement: each of a new port's `nq` queues goes to the least loaded worker
 * (ties: the lowest id; a port's queues to distinct workers when there are enough), and
 * load[] counts it. A queue keeps its worker until its port is removed (fp_release_queues),
 * so adding or removing other ports never moves it and no two workers ever poll it. */
void fp_assign_queues(unsigned *load, uint16_t n_workers, uint16_t nq, uint8_t *ret);
void fp_release_queues(unsigned *load, uint16_t n_workers, uint16_t nq, const uint8_t *workers);

#endif
