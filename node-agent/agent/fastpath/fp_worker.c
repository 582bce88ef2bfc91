/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/fastpath/fp_worker.h"
#include "agent/fastpath/fp_offload.h"
#include "agent/fastpath/fp_onecopy.h"
#include "agent/fastpath/fp_tap.h"
#include "agent/fastpath/fp_wake.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_gso.h>
#include <rte_ip.h>
#include <rte_net.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_vhost.h>

#define IDLE_SLEEP_MIN_US 10
#define PREFETCH_AHEAD    4
#define OC_STAGE_EVERY    16 /* power of two */
#define PROBE_WORDS       ((FP_MAX_PORTS * FP_MAX_QUEUES + 63) / 64)
#define PROBE_EVENTS      64

struct txbuf {
	uint16_t n;
	bool queued; /* in the worker's dirty list */
	struct rte_mbuf *m[FP_MAX_BURST];
};

struct worker {
	unsigned id, lcore;
	const struct fp_table *t; /* the table of the current loop */
	struct rte_gso_ctx gso;
	struct fp_wstats ws;
	struct fp_stats port[FP_MAX_PORTS];
	uint16_t n_dirty;
	uint16_t dirty[FP_MAX_PORTS];
	struct txbuf tx[FP_MAX_PORTS];
	/* One-copy mode: the burst's source chains and where each goes directly. */
	uint16_t oc_dest[FP_MAX_BURST];
	uint32_t oc_len[FP_MAX_BURST];
	uint8_t oc_hdr[FP_MAX_BURST][FP_ETH_HLEN + FP_VLAN_HLEN]; /* what the switch read */
	struct fp_vr_chain oc_chain[FP_MAX_BURST];
	/* Offloaded frames sent whole: their headers (copied once, checked, completed as
	 * rte_vhost's enqueue would), how many bytes of them (0: a plain frame), and the
	 * virtio-net header the destination gets. */
	uint8_t oc_hl[FP_MAX_BURST];
	uint8_t oc_olh[FP_MAX_BURST][FP_OL_MAX_HDRS];
	struct fp_ol_vnet oc_vnet[FP_MAX_BURST];
	/* Receive rings written during this loop: their used index is published once, at the
	 * end of the loop (oc_publish), instead of once per destination group. */
	uint16_t oc_n_pub;
	uint32_t oc_bursts; /* one-copy bursts polled: every OC_STAGE_EVERY-th is timed */
	struct fp_oc_q *oc_pub[FP_MAX_PORTS];
	/* idleWait: events. The wake-up set was built for table wake_t at generation wake_gen;
	 * blind: some queue (an uplink's) cannot wake us, so sleeps stay short. armed: the pods'
	 * transmit rings listed in arm[] have notifications on (the pod kicks while we sleep). */
	struct fp_wake *wake;
	const struct fp_table *wake_t;
	uint32_t wake_gen;
	bool blind, armed;
	uint16_t n_arm;
	struct {
		uint16_t slot, q;
		int32_t vid;
	} arm[FP_MAX_PORTS];
	/* With TAP queues, one epoll_wait per loop says which have frames instead of a read on
	 * each (an idle loop's cost stops growing with the number of kernel pods).
	 * The set holds table probe_t's TAP queues; bit i of ready: rx entry i is to be read. */
	int probe_ep;
	const struct fp_table *probe_t;
	bool probing;
	uint64_t ready[PROBE_WORDS];
};

static struct {
	unsigned n;
	struct worker *w[FP_MAX_WORKERS];
	struct rte_rcu_qsbr *qsv;
	struct rte_mempool *pool;
	struct rte_mempool *indirect; /* software segmentation's payload mbufs */
	unsigned burst;
	unsigned idle_polls, idle_sleep_max_us; /* read by workers: relaxed atomics */
	bool idle_events;                       /* idleWait: events */
	uint32_t wake_gen; /* bumped when what wakes a sleeping worker may have changed */
	bool quit;
	bool started;
	bool one_copy;          /* copyMode: one (fp_onecopy.h) */
	struct fp_table *table; /* published: workers load it with acquire */
	struct fp_rt rt[FP_MAX_PORTS];
} W;

/* Counters are written by their worker only; readers in the control plane want whole values. */
#define STAT_ADD(var, v) __atomic_store_n(&(var), (var) + (v), __ATOMIC_RELAXED)
#define STAT_GET(var)    __atomic_load_n(&(var), __ATOMIC_RELAXED)

struct fp_rt *fp_worker_rt(uint16_t slot)
{
	return &W.rt[slot];
}

unsigned fp_worker_count(void)
{
	return W.n;
}

unsigned fp_worker_lcore(unsigned w)
{
	return W.w[w]->lcore;
}

const struct fp_table *fp_worker_table(void)
{
	return __atomic_load_n(&W.table, __ATOMIC_ACQUIRE);
}

void fp_worker_set_idle(unsigned idle_polls, unsigned idle_sleep_max_us, bool events)
{
	__atomic_store_n(&W.idle_polls, idle_polls, __ATOMIC_RELAXED);
	__atomic_store_n(&W.idle_sleep_max_us, idle_sleep_max_us, __ATOMIC_RELAXED);
	__atomic_store_n(&W.idle_events, events, __ATOMIC_RELAXED);
	fp_worker_wake_all();
}

void fp_worker_wake_all(void)
{
	__atomic_add_fetch(&W.wake_gen, 1, __ATOMIC_RELEASE);
	/* Not once the workers are stopped (fp_worker_fini frees their sets). */
	if (!__atomic_load_n(&W.started, __ATOMIC_ACQUIRE))
		return;
	for (unsigned i = 0; i < W.n; i++)
		if (W.w[i] && W.w[i]->wake)
			fp_wake_kick(W.w[i]->wake);
}

/* ---- test hook (KB_FP_TEST_HOOKS builds only) ---- */

#ifdef KB_FP_TEST_HOOKS
static struct {
	unsigned ms;
	uint16_t slot;
	int32_t vid;
	bool req, ack;
	int32_t destroyed; /* vid whose teardown returned, -1 */
	uint64_t stalls, late;
} H = {.destroyed = -1};

/* Starved while holding `vid`: online (no quiescent state) for H.ms, then touch the device. */
static void test_stall(struct worker *w, uint16_t slot, int32_t vid)
{
	struct timespec ts;

	(void)w;
	if (!__atomic_load_n(&H.req, __ATOMIC_ACQUIRE) || H.slot != slot || H.vid != vid)
		return;
	__atomic_store_n(&H.req, false, __ATOMIC_RELAXED);
	__atomic_store_n(&H.ack, true, __ATOMIC_RELEASE);
	ts.tv_sec = H.ms / 1000;
	ts.tv_nsec = (long)(H.ms % 1000) * 1000000;
	nanosleep(&ts, NULL);
	if (__atomic_load_n(&H.destroyed, __ATOMIC_ACQUIRE) == vid)
		__atomic_add_fetch(&H.late, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&H.stalls, 1, __ATOMIC_RELAXED);
}
#define TEST_STALL_HOOK(w, s, vid)             \
	do {                                   \
		if (unlikely(H.ms))            \
			test_stall(w, s, vid); \
	} while (0)

void fp_worker_test_stall(uint16_t slot, int32_t vid)
{
	struct timespec ts = {0, 1000000};

	if (!H.ms || !W.started)
		return;
	__atomic_store_n(&H.destroyed, -1, __ATOMIC_RELAXED);
	H.slot = slot;
	H.vid = vid;
	__atomic_store_n(&H.ack, false, __ATOMIC_RELAXED);
	__atomic_store_n(&H.req, true, __ATOMIC_RELEASE);
	/* The worker polling the slot picks it up within its back-off sleep. */
	for (int i = 0; i < 1000 && !__atomic_load_n(&H.ack, __ATOMIC_ACQUIRE); i++)
		nanosleep(&ts, NULL);
	__atomic_store_n(&H.req, false, __ATOMIC_RELAXED);
}

void fp_worker_test_destroyed(int32_t vid)
{
	__atomic_store_n(&H.destroyed, vid, __ATOMIC_RELEASE);
}

bool fp_worker_test_counts(uint64_t *stalls, uint64_t *late)
{
	*stalls = __atomic_load_n(&H.stalls, __ATOMIC_RELAXED);
	*late = __atomic_load_n(&H.late, __ATOMIC_RELAXED);
	return true;
}

static void test_hooks_init(void)
{
	const char *v = getenv("KBNET_FP_TEST_STALL_MS");

	H.ms = v ? (unsigned)strtoul(v, NULL, 10) : 0;
	if (H.ms > 60000)
		H.ms = 60000;
}
#else
#define TEST_STALL_HOOK(w, s, vid) ((void)0)
void fp_worker_test_stall(uint16_t slot, int32_t vid)
{
	(void)slot;
	(void)vid;
}
void fp_worker_test_destroyed(int32_t vid)
{
	(void)vid;
}
bool fp_worker_test_counts(uint64_t *stalls, uint64_t *late)
{
	*stalls = *late = 0;
	return false;
}
static void test_hooks_init(void)
{
}
#endif

/* ---- datapath ---- */

/* rte_vhost_enqueue_burst takes at most this many frames per call (MAX_PKT_BURST in 22.11's
 * virtio_net.c): larger bursts go in chunks. */
#define VHOST_ENQ_MAX 32

/* The pod's receive ring this worker transmits on: the (w % n)-th enabled one. */
static inline int tx_queue(unsigned wid, uint16_t en)
{
	unsigned n = __builtin_popcount(en), k;

	if (n == 0)
		return -1;
	k = wid % n;
	while (k--)
		en &= en - 1;
	return __builtin_ctz(en);
}

static inline uint16_t vhost_tx(int32_t vid, uint16_t q, struct rte_mbuf **m, uint16_t n)
{
	uint16_t done = 0;

	while (done < n) {
		uint16_t c = n - done < VHOST_ENQ_MAX ? n - done : VHOST_ENQ_MAX;
		uint16_t k = rte_vhost_enqueue_burst(vid, q * 2, m + done, c);
		done += k;
		if (k < c)
			break; /* ring full */
	}
	return done;
}

static uint16_t oc_tx_mbufs(
        struct worker *w, uint16_t s, struct rte_mbuf **m, uint16_t n, uint64_t *bytes);

/* Send what the worker holds for slot s. The slot stays in the dirty list. */
static void flush_slot(struct worker *w, const struct fp_table *t, uint16_t s)
{
	struct txbuf *b = &w->tx[s];
	struct fp_stats *st = &w->port[s];
	const struct fp_rt *rt = &W.rt[s];
	uint16_t sent = 0;
	uint64_t bytes = 0;

	if (t->slots[s].kind == FP_PORT_VHOST && W.one_copy) {
		sent = oc_tx_mbufs(w, s, b->m, b->n, &bytes);
		rte_pktmbuf_free_bulk(b->m, b->n);
	} else if (t->slots[s].kind == FP_PORT_VHOST) {
		int32_t vid = __atomic_load_n(&rt->vid, __ATOMIC_ACQUIRE);
		int q = tx_queue(w->id, __atomic_load_n(&rt->tx_en, __ATOMIC_RELAXED));
		if (vid >= 0 && q >= 0) {
			sent = vhost_tx(vid, q, b->m, b->n);
			for (uint16_t k = 0; k < sent; k++)
				bytes += rte_pktmbuf_pkt_len(b->m[k]);
			STAT_ADD(st->drop_tx_full, b->n - sent);
		} else {
			STAT_ADD(st->drop_down, b->n);
		}
		/* vhost copies into the guest's buffers and leaves the mbufs to us. */
		rte_pktmbuf_free_bulk(b->m, b->n);
	} else if (t->slots[s].kind == FP_PORT_TAP) {
		/* The kernel copies the frames during the write. */
		uint16_t down;
		sent = fp_tap_tx(rt->tap, w->id, b->m, b->n, &bytes, &down);
		STAT_ADD(st->drop_down, down);
		STAT_ADD(st->drop_tx_full, b->n - sent - down);
		rte_pktmbuf_free_bulk(b->m, b->n);
	} else {
		for (uint16_t k = 0; k < b->n; k++)
			bytes += rte_pktmbuf_pkt_len(b->m[k]);
		sent = rte_eth_tx_burst(rt->eth_port, w->id, b->m, b->n);
		for (uint16_t k = sent; k < b->n; k++)
			bytes -= rte_pktmbuf_pkt_len(b->m[k]);
		STAT_ADD(st->drop_tx_full, b->n - sent);
		if (sent < b->n)
			rte_pktmbuf_free_bulk(b->m + sent, b->n - sent);
	}
	STAT_ADD(st->tx_packets, sent);
	STAT_ADD(st->tx_bytes, bytes);
	b->n = 0;
}

static inline void flush(struct worker *w, const struct fp_table *t)
{
	for (uint16_t i = 0; i < w->n_dirty; i++) {
		uint16_t s = w->dirty[i];
		if (w->tx[s].n)
			flush_slot(w, t, s);
		w->tx[s].queued = false;
	}
	w->n_dirty = 0;
}

/* A burst puts at most one frame per input frame into a slot's buffer, except for software
 * segmentation: a full buffer is sent before it takes more. */
static inline void tx_put(struct worker *w, uint16_t slot, struct rte_mbuf *m)
{
	struct txbuf *b = &w->tx[slot];

	if (unlikely(b->n == FP_MAX_BURST))
		flush_slot(w, w->t, slot);
	if (!b->queued) {
		b->queued = true;
		w->dirty[w->n_dirty++] = slot;
	}
	b->m[b->n++] = m;
}

/* ---- offloads ---- */

#define OL_TX_MASK (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_L4_MASK)

/* Complete the IPv4 header and L4 checksums of a frame whose headers are in its first
 * segment (fp_ol_classify checked that, or the segmentation put them there) and clear its
 * offload flags. The IP length is the one the checksum covers: classify bounded it by the
 * frame for a partial checksum, librte_gso wrote it for a segment. */
static int ol_csum_sw(struct rte_mbuf *m)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	uint64_t f = m->ol_flags;
	uint32_t l4off = m->l2_len + m->l3_len, len, sum;
	bool udp = (f & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_UDP_CKSUM;
	uint16_t phdr, raw, ck, zero = 0;
	uint8_t *field = p + l4off + (udp ? 6 : 16);

	if (f & RTE_MBUF_F_TX_IPV4) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + m->l2_len);
		if (f & RTE_MBUF_F_TX_IP_CKSUM) {
			ip->hdr_checksum = 0;
			ip->hdr_checksum = rte_ipv4_cksum(ip);
		}
		len = rte_be_to_cpu_16(ip->total_length);
		if (len < m->l3_len)
			return -1;
		len -= m->l3_len;
		phdr = rte_ipv4_phdr_cksum(ip, 0);
	} else {
		const struct rte_ipv6_hdr *ip = (const struct rte_ipv6_hdr *)(p + m->l2_len);
		len = rte_be_to_cpu_16(ip->payload_len);
		phdr = rte_ipv6_phdr_cksum(ip, 0);
	}
	if (l4off + len > rte_pktmbuf_pkt_len(m) || len < (udp ? 8u : 20u))
		return -1;
	memcpy(field, &zero, 2);
	if (rte_raw_cksum_mbuf(m, l4off, len, &raw) < 0)
		return -1;
	sum = (uint32_t)raw + phdr;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	ck = (uint16_t)~sum;
	/* 0 means "no checksum" in UDP: its one's complement twin says "zero". */
	if (udp && ck == 0)
		ck = 0xffff;
	memcpy(field, &ck, 2);
	m->ol_flags &= ~(OL_TX_MASK | RTE_MBUF_F_TX_IP_CKSUM);
	return 0;
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* TCP over IPv6, which DPDK 22.11's librte_gso does not segment, the same way: each segment
 * is a direct mbuf with a copy of the headers (payload length, sequence number and flags
 * rewritten) followed by indirect mbufs pointing into the frame's payload. fp_ol_classify
 * bounded the segment count (FP_OL_MAX_SEGS) and put every header in the first segment.
 * Returns the number of segments or a negative errno (out[] freed). */
static int segment_tcp6(struct rte_mbuf *m, struct rte_mbuf **out)
{
	const uint8_t *hdr = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t l2 = m->l2_len, l4off = m->l2_len + m->l3_len, hlen = l4off + m->l4_len;
	uint32_t total = rte_pktmbuf_pkt_len(m) - hlen, done = 0, off = hlen, seq;
	struct rte_mbuf *src = m;
	int n = 0, r = -ENOMEM;

	memcpy(&seq, hdr + l4off + 4, 4);
	seq = rte_be_to_cpu_32(seq);
	while (done < total) {
		uint32_t plen = total - done < m->tso_segsz ? total - done : m->tso_segsz;
		struct rte_mbuf *h = rte_pktmbuf_alloc(W.pool), *last;
		uint8_t *p;
		uint32_t v;

		if (!h || !(p = (uint8_t *)rte_pktmbuf_append(h, (uint16_t)hlen))) {
			rte_pktmbuf_free(h);
			goto fail;
		}
		out[n++] = h;
		memcpy(p, hdr, hlen);
		put_be16(p + l2 + 4, (uint16_t)(m->l4_len + plen));
		v = rte_cpu_to_be_32(seq + done);
		memcpy(p + l4off + 4, &v, 4);
		/* FIN and PSH belong to the last segment, CWR to the first. */
		if (done + plen < total)
			p[l4off + 13] &= (uint8_t)~0x09;
		if (done)
			p[l4off + 13] &= (uint8_t)~0x80;
		h->ol_flags = m->ol_flags & ~RTE_MBUF_F_TX_TCP_SEG;
		h->tx_offload = m->tx_offload;
		h->port = m->port;
		last = h;
		for (uint32_t left = plen, take; left; left -= take, off += take) {
			struct rte_mbuf *ind;
			while (off == src->data_len) {
				if (!(src = src->next)) {
					r = -EINVAL; /* a chain shorter than its pkt_len */
					goto fail;
				}
				off = 0;
			}
			take = src->data_len - off < left ? src->data_len - off : left;
			if (!(ind = rte_pktmbuf_alloc(W.indirect)))
				goto fail;
			/* The payload stays where it is: ind references src's buffer. */
			rte_pktmbuf_attach(ind, src);
			ind->data_off = (uint16_t)(src->data_off + off);
			ind->data_len = (uint16_t)take;
			ind->pkt_len = take;
			last->next = ind;
			last = ind;
			h->nb_segs++;
			h->pkt_len += take;
		}
		done += plen;
	}
	return n;
fail:
	for (int i = 0; i < n; i++)
		rte_pktmbuf_free(out[i]);
	return r;
}

/* Segment a TCP GSO frame: librte_gso for IPv4, segment_tcp6 for IPv6 (headers copied into
 * direct mbufs, payloads referenced by indirect ones, both from preallocated pools). Returns
 * the number of segments in out[] (their checksums still to be completed, flags set) or -1
 * (m freed either way, the drop counted on `in`). */
static int ol_segment(
        struct worker *w, struct rte_mbuf *m, struct rte_mbuf **out, struct fp_stats *in)
{
	int n;

	if (m->ol_flags & RTE_MBUF_F_TX_IPV6) {
		n = segment_tcp6(m, out);
	} else {
		w->gso.gso_size = (uint16_t)(m->l2_len + m->l3_len + m->l4_len + m->tso_segsz);
		n = rte_gso_segment(m, &w->gso, out, FP_OL_MAX_SEGS);
	}
	/* The segments hold their own references to the payload. */
	rte_pktmbuf_free(m);
	if (n <= 0) {
		if (n == -ENOMEM)
			STAT_ADD(in->drop_nomem, 1);
		else
			STAT_ADD(in->drop_offload, 1);
		return -1;
	}
	return n;
}

/* An offloaded frame (ours alone) to slot s: whole where the destination takes it, else
 * segmented and/or checksummed in software. */
static void ol_out(struct worker *w, uint16_t s, struct rte_mbuf *m, struct fp_stats *in)
{
	const struct fp_rt *rt = &W.rt[s];
	uint8_t caps = __atomic_load_n(&rt->ol_caps, __ATOMIC_RELAXED);
	bool uplink = w->t->slots[s].kind == FP_PORT_UPLINK;
	struct fp_stats *st = &w->port[s];
	struct rte_mbuf *segs[FP_OL_MAX_SEGS];
	int n;

	if (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) {
		uint8_t need = m->ol_flags & RTE_MBUF_F_TX_IPV6 ? FP_OL_CAP_TSO6 : FP_OL_CAP_TSO4;
		if (caps & need) {
			/* vhost writes the pseudo-header sum itself; a NIC wants it written. */
			if (uplink)
				rte_net_intel_cksum_prepare(m);
			tx_put(w, s, m);
			return;
		}
		if ((n = ol_segment(w, m, segs, in)) < 0)
			return;
		STAT_ADD(st->tx_gso_sw, 1);
		STAT_ADD(st->tx_gso_segments, n);
	} else {
		segs[0] = m;
		n = 1;
	}
	for (int i = 0; i < n; i++) {
		struct rte_mbuf *g = segs[i];
		if (caps & FP_OL_CAP_CSUM) {
			if (uplink)
				rte_net_intel_cksum_prepare(g);
		} else if (ol_csum_sw(g) < 0) {
			STAT_ADD(in->drop_offload, 1);
			rte_pktmbuf_free(g);
			continue;
		} else {
			STAT_ADD(st->tx_csum_sw, 1);
		}
		if (uplink && unlikely(rt->linear) && g->nb_segs > 1 &&
		        rte_pktmbuf_linearize(g) < 0) {
			STAT_ADD(in->drop_offload, 1);
			rte_pktmbuf_free(g);
			continue;
		}
		tx_put(w, s, g);
	}
}

/* A frame for slot s: offloaded ones take the slow road. */
static inline void out_put(struct worker *w, uint16_t s, struct rte_mbuf *m, struct fp_stats *in)
{
	if (likely(!(m->ol_flags & OL_TX_MASK)))
		tx_put(w, s, m);
	else
		ol_out(w, s, m, in);
}

/* An offloaded frame turned into plain ones (segmented, checksums completed), for a flood:
 * its copies go to destinations of different abilities. Returns the number in out[]. */
static int ol_resolve_sw(
        struct worker *w, struct rte_mbuf *m, struct rte_mbuf **out, struct fp_stats *in)
{
	int n = 1, k = 0;

	if (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) {
		if ((n = ol_segment(w, m, out, in)) < 0)
			return 0;
	} else {
		out[0] = m;
	}
	for (int i = 0; i < n; i++) {
		if (ol_csum_sw(out[i]) < 0) {
			STAT_ADD(in->drop_offload, 1);
			rte_pktmbuf_free(out[i]);
			continue;
		}
		out[k++] = out[i];
	}
	return k;
}

static inline int vlan_push(struct rte_mbuf *m, int vlan, uint8_t pcp)
{
	uint8_t *p = (uint8_t *)rte_pktmbuf_prepend(m, FP_VLAN_HLEN);

	if (!p)
		return -1;
	memmove(p, p + FP_VLAN_HLEN, 12);
	p[12] = FP_ETH_P_8021Q >> 8;
	p[13] = FP_ETH_P_8021Q & 0xff;
	p[14] = (uint8_t)(pcp << 5) | ((vlan >> 8) & 0x0f);
	p[15] = vlan & 0xff;
	return 0;
}

static inline void vlan_pop(struct rte_mbuf *m)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);

	memmove(p + FP_VLAN_HLEN, p, 12);
	rte_pktmbuf_adj(m, FP_VLAN_HLEN);
}

/* Whether a pod's frame needs its tag written on the way out of the uplink: pushed (untagged
 * frame, tagged network) or its VID set (priority-tagged frame, tagged network). */
static inline bool uplink_edits(const struct fp_domain *d, const uint8_t *frame)
{
	if (d->vlan == FP_VLAN_NONE)
		return false;
	return !fp_is_vlan_tpid(frame) || fp_frame_vid(frame) == 0;
}

/* Out of the uplink, tagged with the domain's VLAN (PCP: the domain's, or the pod's own
 * priority tag's). A frame the pod tagged itself has passed fp_switch_from_pod: a priority
 * tag (VID 0) or a trunked VLAN. Frames over the uplink's MTU never reach the PMD. The mbuf
 * must be ours alone when uplink_edits(). */
static inline void to_uplink(struct worker *w, const struct fp_table *t, uint16_t domain,
        struct rte_mbuf *m, struct fp_stats *in)
{
	const struct fp_domain *d = &t->domains[domain];
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	bool tagged = fp_is_vlan_tpid(p);
	uint32_t len = rte_pktmbuf_pkt_len(m);

	/* A GSO frame goes on the wire as segments: their size is what the MTU bounds. */
	if (unlikely(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) &&
	        len > (uint32_t)m->l2_len + m->l3_len + m->l4_len + m->tso_segsz)
		len = m->l2_len + m->l3_len + m->l4_len + m->tso_segsz;
	len -= tagged ? FP_VLAN_HLEN : 0;
	if (unlikely(len > t->uplink_max_len)) {
		STAT_ADD(w->port[t->uplink].drop_oversize, 1);
		rte_pktmbuf_free(m);
		return;
	}
	if (d->vlan != FP_VLAN_NONE) {
		if (tagged) {
			if (fp_frame_vid(p) == 0) {
				p[14] = (p[14] & 0xf0) | ((d->vlan >> 8) & 0x0f);
				p[15] = d->vlan & 0xff;
			}
		} else if (vlan_push(m, d->vlan, d->pcp) < 0) {
			STAT_ADD(in->drop_nomem, 1);
			rte_pktmbuf_free(m);
			return;
		} else if (m->ol_flags & OL_TX_MASK) {
			m->l2_len += FP_VLAN_HLEN;
		}
	}
	out_put(w, t->uplink, m, in);
}

/* k more holders of frame m. Every segment counts its holders: freeing a chain drops one
 * reference of each segment (rte_pktmbuf_free), so a shared chain needs them all raised
 * (jumbo frames received as chains, software segments with their payload mbufs). */
static inline void share(struct rte_mbuf *m, int16_t k)
{
	for (; m; m = m->next)
		rte_mbuf_refcnt_update(m, k);
}

/* Flood within `domain` (minus the input), and to the uplink when `to_up`. Pod ports only
 * copy the frame out, so they share one mbuf (reference counted); the uplink gets its own
 * copy when it needs a tag written. `ulen`: the frame's length without a tag of its own. */
static inline void flood(struct worker *w, const struct fp_table *t, uint16_t in, uint16_t domain,
        struct rte_mbuf *m, uint32_t ulen, bool to_up, struct fp_stats *in_st)
{
	const struct fp_domain *d = &t->domains[domain];
	uint16_t dest[FP_MAX_PORTS];
	uint16_t n = 0;

	for (uint16_t i = 0; i < d->n_members; i++) {
		uint16_t s = d->members[i];
		if (s == in)
			continue;
		if (!fp_fits(t, s, ulen)) {
			STAT_ADD(w->port[s].drop_oversize, 1);
			continue;
		}
		dest[n++] = s;
	}
	if (n == 0 && !to_up) {
		STAT_ADD(in_st->drop_unknown, 1);
		rte_pktmbuf_free(m);
		return;
	}
	if (to_up) {
		struct rte_mbuf *u = m;
		if (n > 0 && uplink_edits(d, rte_pktmbuf_mtod(m, const uint8_t *))) {
			u = rte_pktmbuf_copy(m, W.pool, 0, UINT32_MAX);
			if (!u)
				STAT_ADD(in_st->drop_nomem, 1);
		} else if (n > 0) {
			share(m, 1);
		}
		if (u)
			to_uplink(w, t, domain, u, in_st);
		if (n == 0)
			return;
	}
	if (n > 1)
		share(m, n - 1);
	for (uint16_t i = 0; i < n; i++)
		tx_put(w, dest[i], m);
}

/* A flooded offload request: its copies go to destinations of different abilities, so the
 * switch completes it in software first and floods the plain frames. */
static void flood_offloaded(struct worker *w, const struct fp_table *t, uint16_t in,
        uint16_t domain, struct rte_mbuf *m, struct fp_stats *in_st)
{
	struct rte_mbuf *segs[FP_OL_MAX_SEGS];
	int n = ol_resolve_sw(w, m, segs, in_st);

	for (int i = 0; i < n; i++) {
		uint32_t ulen = rte_pktmbuf_pkt_len(segs[i]);
		if (fp_is_vlan_tpid(rte_pktmbuf_mtod(segs[i], const uint8_t *)))
			ulen -= FP_VLAN_HLEN;
		flood(w, t, in, domain, segs[i], ulen, t->uplink != FP_SLOT_NONE, in_st);
	}
}

/* A dropped frame's reason goes to its input port's counters. */
static inline void count_drop(struct fp_stats *st, enum fp_verdict v)
{
	switch (v) {
	case FP_DROP_SPOOF:
		STAT_ADD(st->drop_spoof, 1);
		break;
	case FP_DROP_OVERSIZE:
		STAT_ADD(st->drop_oversize, 1);
		break;
	case FP_DROP_RUNT:
		STAT_ADD(st->drop_runt, 1);
		break;
	case FP_DROP_VLAN:
		STAT_ADD(st->drop_vlan, 1);
		break;
	default:
		STAT_ADD(st->drop_unknown, 1);
		break;
	}
}

static inline void from_pod(
        struct worker *w, const struct fp_table *t, uint16_t in, struct rte_mbuf **pkts, uint16_t n)
{
	struct fp_stats *st = &w->port[in];
	const struct fp_slot slot = t->slots[in]; /* one copy per burst, kept in registers */
	uint16_t domain = slot.domain;
	uint64_t bytes = 0;

	for (uint16_t i = 0; i < PREFETCH_AHEAD && i < n; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint32_t len = rte_pktmbuf_pkt_len(m), ulen = len;
		uint16_t out = FP_SLOT_NONE;
		enum fp_verdict v;

		/* The burst's copies may have pushed early headers out of L1 (large frames). */
		if (i + PREFETCH_AHEAD < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + PREFETCH_AHEAD], void *));
		bytes += len;
		/* An offload the pod asked for (rte_vhost's RX flags): its headers parsed and
		 * bounded, the mbuf carries the TX flags the destination needs. A GSO frame's
		 * size on a wire is its segments': ulen is what the MTUs bound. */
		if (unlikely(m->ol_flags & (RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_MASK))) {
			struct fp_ol_meta om;
			int r = fp_ol_classify(rte_pktmbuf_mtod(m, const uint8_t *), m->data_len,
			        len, m->ol_flags, m->tso_segsz, &om);
			if (r < 0) {
				STAT_ADD(st->drop_offload, 1);
				rte_pktmbuf_free(m);
				continue;
			}
			m->ol_flags = r == FP_OL_OFFLOAD ? om.tx_flags : 0;
			if (r == FP_OL_OFFLOAD) {
				m->l2_len = om.l2_len;
				m->l3_len = om.l3_len;
				m->l4_len = om.l4_len;
				m->tso_segsz = om.segsz;
				ulen = om.wire_len;
				if (om.gso) {
					STAT_ADD(st->rx_gso_packets, 1);
					STAT_ADD(st->rx_gso_bytes, len);
				}
			}
		}
		/* The switch reads the Ethernet header (and a tag) from the first segment. */
		if (unlikely(m->data_len < FP_ETH_HLEN ||
		             (m->data_len < FP_ETH_HLEN + FP_VLAN_HLEN && m->data_len < len)))
			v = FP_DROP_RUNT;
		else
			v = fp_switch_from_pod(
			        t, in, &slot, rte_pktmbuf_mtod(m, const uint8_t *), ulen, &out);
		if (v <= FP_FWD_UPLINK && fp_is_vlan_tpid(rte_pktmbuf_mtod(m, const uint8_t *)))
			ulen -= FP_VLAN_HLEN;
		switch (v) {
		case FP_FWD_UNICAST:
			if (likely(fp_fits(t, out, ulen))) {
				out_put(w, out, m, st);
				continue;
			}
			STAT_ADD(w->port[out].drop_oversize, 1);
			break;
		case FP_FWD_UPLINK:
			to_uplink(w, t, domain, m, st);
			continue;
		case FP_FWD_FLOOD:
			if (unlikely(m->ol_flags & OL_TX_MASK))
				flood_offloaded(w, t, in, domain, m, st);
			else
				flood(w, t, in, domain, m, ulen, t->uplink != FP_SLOT_NONE, st);
			continue;
		default:
			count_drop(st, v);
			break;
		}
		rte_pktmbuf_free(m);
	}
	STAT_ADD(st->rx_packets, n);
	STAT_ADD(st->rx_bytes, bytes);
}

static inline void from_uplink(
        struct worker *w, const struct fp_table *t, uint16_t in, struct rte_mbuf **pkts, uint16_t n)
{
	struct fp_stats *st = &w->port[in];
	uint64_t bytes = 0;

	for (uint16_t i = 0; i < PREFETCH_AHEAD && i < n; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint32_t len = rte_pktmbuf_pkt_len(m);
		uint16_t out = FP_SLOT_NONE, domain = FP_DOMAIN_NONE;
		bool pop = false;
		enum fp_verdict v;

		if (i + PREFETCH_AHEAD < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + PREFETCH_AHEAD], void *));
		bytes += len;
		if (unlikely(m->data_len < FP_ETH_HLEN + FP_VLAN_HLEN && m->data_len < len)) {
			STAT_ADD(st->drop_runt, 1);
			rte_pktmbuf_free(m);
			continue;
		}
		v = fp_switch_from_uplink(
		        t, rte_pktmbuf_mtod(m, const uint8_t *), len, &domain, &pop, &out);
		if (v == FP_FWD_UNICAST || v == FP_FWD_FLOOD) {
			if (pop)
				vlan_pop(m);
			len = rte_pktmbuf_pkt_len(m);
			/* A tag kept towards the pod (priority, trunk) is not part of its MTU. */
			if (fp_is_vlan_tpid(rte_pktmbuf_mtod(m, const uint8_t *)))
				len -= FP_VLAN_HLEN;
		}
		switch (v) {
		case FP_FWD_UNICAST:
			if (likely(fp_fits(t, out, len))) {
				tx_put(w, out, m);
				continue;
			}
			STAT_ADD(w->port[out].drop_oversize, 1);
			break;
		case FP_FWD_FLOOD:
			flood(w, t, in, domain, m, len, false, st);
			continue;
		default:
			count_drop(st, v);
			break;
		}
		rte_pktmbuf_free(m);
	}
	STAT_ADD(st->rx_packets, n);
	STAT_ADD(st->rx_bytes, bytes);
}

/* ---- one copy (copyMode: one, fp_onecopy.h) ----
 * A pod's transmit ring is walked here; a frame for another pod is copied from the sender's
 * buffer into the receiver's (grouped by destination, its ring locked once per group); frames
 * for the uplink and floods are copied into mbufs and take the path above, whose transmit to
 * pods (flush_slot) comes back to the rings through oc_tx_mbufs. */

/* Largest frame taken from a pod's ring (the MTU checks come after). */
#define OC_MAX_FRAME FP_OL_MAX_LEN

/* The receive ring of pod slot s this worker writes, locked, its avail index read, its next
 * `want` buffers prefetched; NULL when the pod has none enabled. */
static struct fp_oc_q *oc_dest_lock(
        struct worker *w, uint16_t s, uint16_t want, struct fp_oc_dev **ret)
{
	uint16_t avail;
	struct fp_oc_dev *d = fp_oc_dev(s);
	struct fp_oc_q *q;
	int qi;

	if (!d || __atomic_load_n(&W.rt[s].vid, __ATOMIC_ACQUIRE) < 0)
		return NULL;
	qi = tx_queue(w->id, __atomic_load_n(&W.rt[s].tx_en, __ATOMIC_RELAXED));
	if (qi < 0 || !d->rxq[qi].ok)
		return NULL;
	q = &d->rxq[qi];
	rte_spinlock_lock(&q->lock);
	avail = fp_vr_begin(&q->ring);
	fp_vr_prefetch(&d->mem, &q->ring, want < avail ? want : avail, true);
	*ret = d;
	return q;
}

/* Unlock a receive ring; its used entries are published at the end of the loop. */
static void oc_dest_unlock(struct worker *w, struct fp_oc_q *q)
{
	bool call = false;

	if (!q->deferred[w->id]) {
		if (likely(w->oc_n_pub < FP_MAX_PORTS)) {
			q->deferred[w->id] = true;
			w->oc_pub[w->oc_n_pub++] = q;
		} else {
			call = fp_vr_publish(&q->ring); /* no room to defer it */
		}
	}
	rte_spinlock_unlock(&q->lock);
	if (unlikely(call))
		fp_oc_call(q);
}

/* End of a loop, before the quiescent state (the rings' state stays valid until then):
 * publish every receive ring this worker wrote, once. Under the ring's lock: another worker
 * may have reserved after us, and the index must never go back; it covers their entries
 * too, which were complete when they unlocked. */
static void oc_publish(struct worker *w)
{
	for (uint16_t k = 0; k < w->oc_n_pub; k++) {
		struct fp_oc_q *q = w->oc_pub[k];
		bool call;

		q->deferred[w->id] = false;
		rte_spinlock_lock(&q->lock);
		call = fp_vr_publish(&q->ring);
		rte_spinlock_unlock(&q->lock);
		if (unlikely(call))
			fp_oc_call(q);
	}
	w->oc_n_pub = 0;
}

/* What rte_vhost's enqueue does to an offloaded frame's headers (linear at h, checked by
 * fp_ol_classify or fp_ol_from_vnet) before it writes the virtio-net header: the IPv4 header
 * checksum when asked for, the pseudo-header sum in the TCP/UDP checksum field. */
static void oc_ol_fix(uint8_t *h, uint64_t f, uint16_t l2, uint16_t l3)
{
	uint64_t l4 = f & RTE_MBUF_F_TX_L4_MASK;
	uint16_t ck;

	if (f & RTE_MBUF_F_TX_TCP_SEG)
		l4 = RTE_MBUF_F_TX_TCP_CKSUM;
	if (f & RTE_MBUF_F_TX_IPV4) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(h + l2);
		if (f & RTE_MBUF_F_TX_IP_CKSUM) {
			ip->hdr_checksum = 0;
			ip->hdr_checksum = rte_ipv4_cksum(ip);
		}
		ck = rte_ipv4_phdr_cksum(ip, f);
	} else if (f & RTE_MBUF_F_TX_IPV6) {
		ck = rte_ipv6_phdr_cksum((const struct rte_ipv6_hdr *)(h + l2), f);
	} else {
		return;
	}
	if (l4 == RTE_MBUF_F_TX_TCP_CKSUM)
		memcpy(h + l2 + l3 + 16, &ck, 2);
	else if (l4 == RTE_MBUF_F_TX_UDP_CKSUM)
		memcpy(h + l2 + l3 + 6, &ck, 2);
}

/* Whether pod slot s takes an offloaded frame whole (what it negotiated, fp_port). */
static inline bool oc_ol_whole(uint16_t s, const struct fp_ol_meta *om)
{
	uint8_t caps = __atomic_load_n(&W.rt[s].ol_caps, __ATOMIC_RELAXED);
	uint8_t need = !om->gso ? FP_OL_CAP_CSUM : om->ipv6 ? FP_OL_CAP_TSO6 : FP_OL_CAP_TSO4;

	return (caps & need) == need;
}

/* A frame the destination ring did not take, by reason. */
static inline void oc_count_put(struct fp_stats *st, int r)
{
	if (r == -EMSGSIZE)
		STAT_ADD(st->drop_oversize, 1);
	else
		STAT_ADD(st->drop_tx_full, 1);
}

/* mbufs to pod slot s (uplink frames, floods, frames from the mbuf path). */
static uint16_t oc_tx_mbufs(
        struct worker *w, uint16_t s, struct rte_mbuf **m, uint16_t n, uint64_t *bytes)
{
	struct fp_stats *st = &w->port[s];
	struct fp_oc_dev *d;
	struct fp_oc_q *q = oc_dest_lock(w, s, n, &d);
	uint16_t sent = 0;

	if (!q) {
		STAT_ADD(st->drop_down, n);
		return 0;
	}
	for (uint16_t k = 0; k < n; k++) {
		struct fp_vr_iov iov[FP_VR_MAX_SEGS];
		struct rte_mbuf *g = m[k];
		struct fp_ol_vnet vh;
		const void *vn = NULL;
		uint16_t ni = 0;
		int r;

		/* An offload the destination takes whole (ol_out decided): the header rte_vhost's
		 * enqueue would write. The headers are in the first segment (fp_ol_classify
		 * checked that); the frame is this worker's alone (floods are resolved first). */
		if (unlikely(g->ol_flags & (OL_TX_MASK | RTE_MBUF_F_TX_IP_CKSUM))) {
			if (unlikely(g->data_len < (uint32_t)g->l2_len + g->l3_len + g->l4_len)) {
				STAT_ADD(st->drop_offload, 1);
				continue;
			}
			oc_ol_fix(
			        rte_pktmbuf_mtod(g, uint8_t *), g->ol_flags, g->l2_len, g->l3_len);
			fp_ol_to_vnet(
			        g->ol_flags, g->l2_len, g->l3_len, g->l4_len, g->tso_segsz, &vh);
			vn = &vh;
		}
		for (; g && ni < FP_VR_MAX_SEGS; g = g->next)
			iov[ni++] = (struct fp_vr_iov){rte_pktmbuf_mtod(g, uint8_t *), g->data_len};
		r = g ? -EMSGSIZE
		      : fp_vr_rx_put(&d->mem, &q->ring, d->hdr_len, d->mrg, vn, iov, ni, 0,
		                rte_pktmbuf_pkt_len(m[k]));
		if (r < 0) {
			oc_count_put(st, r);
			continue;
		}
		sent++;
		*bytes += rte_pktmbuf_pkt_len(m[k]);
	}
	oc_dest_unlock(w, q);
	return sent;
}

/* len bytes at offset off of a chain, copied into mbufs (a chain of them when needed). */
static struct rte_mbuf *oc_to_mbuf(const struct fp_vr_chain *c, uint32_t off, uint32_t len)
{
	struct rte_mbuf *head = NULL, *last = NULL;
	uint32_t done = 0;

	while (done < len) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(W.pool);
		uint32_t take;

		if (!m) {
			rte_pktmbuf_free(head);
			return NULL;
		}
		take = rte_pktmbuf_tailroom(m);
		if (take > len - done)
			take = len - done;
		fp_vr_copy_out(c->iov, c->n, off + done, rte_pktmbuf_mtod(m, void *), take);
		m->data_len = (uint16_t)take;
		if (!head) {
			head = m;
			head->pkt_len = take;
		} else {
			last->next = m;
			head->nb_segs++;
			head->pkt_len += take;
		}
		last = m;
		done += take;
	}
	return head;
}

/* One burst from pod slot `in`'s transmit ring qi. Returns the frames taken. */
static uint16_t oc_from_pod(
        struct worker *w, const struct fp_table *t, uint16_t in, uint16_t qi, unsigned burst)
{
	struct fp_oc_dev *d = fp_oc_dev(in);
	struct fp_stats *st = &w->port[in];
	const struct fp_slot slot = t->slots[in];
	struct rte_mbuf *mb[FP_MAX_BURST];
	struct fp_oc_q *sq;
	uint16_t n, nm = 0;
	uint64_t bytes = 0, c0 = 0, c1 = 0, c2 = 0;
	bool timed;

	if (!d || !d->txq[qi].ok)
		return 0;
	sq = &d->txq[qi];
	n = fp_vr_begin(&sq->ring);
	if (n == 0)
		return 0;
	if (n > burst)
		n = (uint16_t)burst;
	/* The stage counters sample one burst in OC_STAGE_EVERY: rdtsc costs ~60 cycles in a
	 * VM (22 ns here), four per burst were a visible share of a 64-byte frame's cost. */
	timed = (++w->oc_bursts & (OC_STAGE_EVERY - 1)) == 0;
	if (timed)
		c0 = rte_rdtsc();
	fp_vr_prefetch(&d->mem, &sq->ring, n, false);
	/* Pass 1a: walk every chain, prefetch where its frame starts (the pod wrote it on
	 * another CPU: the misses overlap instead of coming one per frame). */
	for (uint16_t i = 0; i < n; i++) {
		struct fp_vr_chain *c = &w->oc_chain[i];
		int r = fp_vr_chain(&d->mem, &sq->ring, i, false, d->hdr_len + OC_MAX_FRAME, c);

		w->oc_len[i] = r < 0 ? (uint32_t)r : 0; /* the error until pass 1b */
		if (likely(r == 0 && c->n))
			rte_prefetch0(c->iov[0].base);
	}
	/* Pass 1b: check, switch. */
	for (uint16_t i = 0; i < n; i++) {
		struct fp_vr_chain *c = &w->oc_chain[i];
		uint8_t hb[12], *p = w->oc_hdr[i];
		const uint8_t *h = hb;
		uint16_t out = FP_SLOT_NONE, olseg = 0;
		uint32_t len, ulen, wire;
		enum fp_verdict v;
		int r = (int)w->oc_len[i], ol = FP_OL_PLAIN;
		struct fp_ol_meta om;
		uint64_t olf = 0;

		w->oc_dest[i] = FP_SLOT_NONE;
		w->oc_hl[i] = 0;
		if (unlikely(r < 0 || c->len < d->hdr_len + (uint32_t)FP_ETH_HLEN)) {
			/* A chain the ring code refused, or shorter than a header: handed back
			 * unread. */
			if (r == -EMSGSIZE)
				STAT_ADD(st->drop_oversize, 1);
			else
				STAT_ADD(st->drop_runt, 1);
			continue;
		}
		len = c->len - d->hdr_len;
		if (likely(c->iov[0].len >= d->hdr_len))
			h = c->iov[0].base;
		else
			fp_vr_copy_out(c->iov, c->n, 0, hb, d->hdr_len);
		wire = len;
		if (unlikely(h[0] & FP_OL_VNET_F_CSUM || h[1])) {
			/* An offload (checksum, TSO): the frame's headers copied once, checked
			 * against the pod's virtio-net header (read once), switched on, and sent
			 * from this copy. Only when the pod negotiated offloads (rte_vhost reads
			 * no header otherwise; a pool without offloads masks them all). */
			struct fp_ol_vnet vh;
			uint32_t hl = len < FP_OL_MAX_HDRS ? len : FP_OL_MAX_HDRS;
			memcpy(&vh, h, sizeof(vh));
			fp_vr_copy_out(c->iov, c->n, d->hdr_len, w->oc_olh[i], hl);
			ol = d->host_ol ? fp_ol_from_vnet(
			                          &vh, w->oc_olh[i], hl, len, &om, &olf, &olseg)
			                : -EINVAL;
			if (unlikely(ol < 0)) {
				STAT_ADD(st->drop_offload, 1);
				continue;
			}
			memcpy(p, w->oc_olh[i],
			        hl < sizeof(w->oc_hdr[i]) ? hl : (uint32_t)sizeof(w->oc_hdr[i]));
			/* A GSO frame's size on a wire is its segments': what MTUs bound. */
			wire = om.wire_len;
		} else {
			/* The Ethernet header (and a tag), copied once: the switch decides on this
			 * copy and the destination gets this copy (the pod may rewrite its buffer
			 * meanwhile). */
			fp_vr_copy_out(c->iov, c->n, d->hdr_len, p,
			        len < sizeof(w->oc_hdr[i]) ? len : (uint32_t)sizeof(w->oc_hdr[i]));
		}
		bytes += len;
		v = fp_switch_from_pod(t, in, &slot, p, wire, &out);
		ulen = wire;
		if (v <= FP_FWD_UPLINK && fp_is_vlan_tpid(p))
			ulen -= FP_VLAN_HLEN;
		if (likely(v == FP_FWD_UNICAST && t->slots[out].kind == FP_PORT_VHOST) &&
		        likely(ol == FP_OL_PLAIN || oc_ol_whole(out, &om))) {
			if (likely(fp_fits(t, out, ulen))) {
				w->oc_dest[i] = out;
				w->oc_len[i] = len;
				if (unlikely(ol == FP_OL_OFFLOAD)) {
					/* Whole to a pod that negotiated it: headers completed and
					 * the virtio-net header written as rte_vhost would. */
					oc_ol_fix(w->oc_olh[i], om.tx_flags, om.l2_len, om.l3_len);
					fp_ol_to_vnet(om.tx_flags, om.l2_len, om.l3_len, om.l4_len,
					        om.segsz, &w->oc_vnet[i]);
					w->oc_hl[i] = (uint8_t)(om.l2_len + om.l3_len + om.l4_len);
					if (om.gso) {
						STAT_ADD(st->rx_gso_packets, 1);
						STAT_ADD(st->rx_gso_bytes, len);
					}
				}
			} else {
				STAT_ADD(w->port[out].drop_oversize, 1);
			}
			continue;
		}
		if (v == FP_FWD_UNICAST || v == FP_FWD_UPLINK || v == FP_FWD_FLOOD) {
			struct rte_mbuf *m = oc_to_mbuf(c, d->hdr_len, len);
			if (!m) {
				STAT_ADD(st->drop_nomem, 1);
				continue;
			}
			/* An offload for a destination that does not take it whole, the uplink or
			 * a flood: marked as rte_vhost's dequeue marks it, so from_pod checks it
			 * again on this copy and segments/checksums as in two-copy mode. */
			if (unlikely(ol == FP_OL_OFFLOAD)) {
				m->ol_flags = olf;
				m->tso_segsz = olseg;
			}
			bytes -= len; /* from_pod counts it */
			mb[nm++] = m;
			continue;
		}
		count_drop(st, v);
	}
	if (timed)
		c1 = rte_rdtsc();
	/* Pass 2: per destination, one lock: reserve its buffers, copy once, publish. */
	for (uint16_t i = 0; i < n; i++) {
		uint16_t s = w->oc_dest[i], sent = 0, tried = 0, group = 0;
		struct fp_oc_dev *dd = NULL;
		struct fp_oc_q *dq;
		uint64_t tb = 0;

		if (s == FP_SLOT_NONE)
			continue;
		for (uint16_t j = i; j < n; j++)
			group += w->oc_dest[j] == s;
		dq = oc_dest_lock(w, s, group, &dd);
		for (uint16_t j = i; j < n; j++) {
			struct fp_vr_iov v[FP_VR_MAX_SEGS + 1];
			uint32_t hl = w->oc_len[j] < sizeof(w->oc_hdr[j]) ? w->oc_len[j]
			                                                  : sizeof(w->oc_hdr[j]);
			struct fp_vr_iov head = {w->oc_hdr[j], hl};
			const void *vn = NULL;
			uint16_t nv;
			int r;
			if (w->oc_dest[j] != s)
				continue;
			if (unlikely(w->oc_hl[j])) {
				hl = w->oc_hl[j];
				head = (struct fp_vr_iov){w->oc_olh[j], hl};
				vn = &w->oc_vnet[j];
			}
			w->oc_dest[j] = FP_SLOT_NONE;
			tried++;
			if (!dq)
				continue;
			nv = fp_vr_splice(&head, &w->oc_chain[j], d->hdr_len + hl, v);
			r = fp_vr_rx_put(&dd->mem, &dq->ring, dd->hdr_len, dd->mrg, vn, v, nv, 0,
			        w->oc_len[j]);
			if (r < 0) {
				oc_count_put(&w->port[s], r);
				continue;
			}
			sent++;
			tb += w->oc_len[j];
		}
		if (dq)
			oc_dest_unlock(w, dq);
		else
			STAT_ADD(w->port[s].drop_down, tried);
		STAT_ADD(w->port[s].tx_packets, sent);
		STAT_ADD(w->port[s].tx_bytes, tb);
	}
	if (timed)
		c2 = rte_rdtsc();
	/* Pass 3: every chain back to the sender (its bytes are copied or dropped). */
	fp_vr_tx_done(&sq->ring, w->oc_chain, n);
	if (unlikely(fp_vr_publish(&sq->ring)))
		fp_oc_call(sq);
	if (timed) {
		/* Scaled: the counters estimate every burst's cycles. */
		STAT_ADD(w->ws.oc_walk_cycles, (c1 - c0) * OC_STAGE_EVERY);
		STAT_ADD(w->ws.oc_copy_cycles, (c2 - c1) * OC_STAGE_EVERY);
		STAT_ADD(w->ws.oc_done_cycles, (rte_rdtsc() - c2) * OC_STAGE_EVERY);
	}
	STAT_ADD(st->rx_packets, n - nm);
	STAT_ADD(st->rx_bytes, bytes);
	if (nm)
		from_pod(w, t, in, mb, nm);
	return n;
}

static void idle_sleep(struct worker *w, unsigned us)
{
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};
	uint64_t t0 = rte_rdtsc();

	/* Offline while asleep: the control plane does not wait for a sleeping worker. */
	rte_rcu_qsbr_thread_offline(W.qsv, w->id);
	nanosleep(&ts, NULL);
	rte_rcu_qsbr_thread_online(W.qsv, w->id);
	STAT_ADD(w->ws.sleep_cycles, rte_rdtsc() - t0);
	STAT_ADD(w->ws.sleeps, 1);
}

/* ---- idleWait: events ---- */

/* Rebuild the wake-up set for table t: each receive queue of this worker that can signal.
 * Online (reads vhost devices the control plane may be tearing down). */
static void wake_rebuild(struct worker *w, const struct fp_table *t)
{
	const struct fp_worker_rx *rx = &t->rx[w->id];

	w->wake_gen = __atomic_load_n(&W.wake_gen, __ATOMIC_ACQUIRE);
	w->wake_t = t;
	w->blind = false;
	if (fp_wake_reset(w->wake) < 0) {
		w->blind = true;
		return;
	}
	for (uint16_t i = 0; i < rx->n; i++) {
		uint16_t s = rx->q[i].slot, q = rx->q[i].queue;
		const struct fp_rt *rt = &W.rt[s];
		int fd = -1;
		bool edge = false;
		if (t->slots[s].kind == FP_PORT_TAP) {
			fd = fp_tap_rx_fd(rt->tap, q);
		} else if (t->slots[s].kind == FP_PORT_VHOST) {
			int32_t vid = __atomic_load_n(&rt->vid, __ATOMIC_ACQUIRE);
			struct rte_vhost_vring vr;
			/* Not connected or ring not enabled yet: its connection kicks us. */
			if (vid < 0 || !(__atomic_load_n(&rt->rx_en, __ATOMIC_RELAXED) & (1u << q)))
				continue;
			if (rte_vhost_get_vhost_vring(vid, q * 2 + 1, &vr) == 0)
				fd = vr.kickfd;
			edge = true;
		}
		if (fd < 0 || fp_wake_watch(w->wake, fd, edge) < 0)
			w->blind = true; /* an uplink, or a ring without a kick descriptor */
	}
}

/* A pod's transmit ring q: notifications on or off. Two copies: through rte_vhost, which
 * takes the ring's access lock (its thread never waits for us while holding one). One copy:
 * the ring is ours, written directly, as every one-copy ring access is: rte_vhost's thread
 * holds the access locks while the one-copy message hook waits for our grace period, so
 * taking the lock here could deadlock. */
static int ring_notify(uint16_t s, int32_t vid, uint16_t q, bool on)
{
	if (W.one_copy) {
		struct fp_oc_dev *d = fp_oc_dev(s);
		if (!d || d->vid != vid || !d->txq[q].ok)
			return -ENODEV;
		fp_vr_set_notify(&d->txq[q].ring, on);
		return 0;
	}
	return rte_vhost_enable_guest_notification(vid, q * 2 + 1, on);
}

/* Pods' transmit rings: notifications on (they kick while we sleep), or off again (we poll:
 * no kick costs the pod a system call). Online. */
static void wake_arm(struct worker *w, const struct fp_table *t)
{
	const struct fp_worker_rx *rx = &t->rx[w->id];

	w->n_arm = 0;
	for (uint16_t i = 0; i < rx->n; i++) {
		uint16_t s = rx->q[i].slot, q = rx->q[i].queue;
		const struct fp_rt *rt = &W.rt[s];
		int32_t vid;
		if (t->slots[s].kind != FP_PORT_VHOST)
			continue;
		vid = __atomic_load_n(&rt->vid, __ATOMIC_ACQUIRE);
		if (vid < 0 || !(__atomic_load_n(&rt->rx_en, __ATOMIC_RELAXED) & (1u << q)))
			continue;
		if (w->n_arm < RTE_DIM(w->arm) && ring_notify(s, vid, q, true) == 0)
			w->arm[w->n_arm++] = (typeof(w->arm[0])){s, q, vid};
	}
	w->armed = true;
	/* The flag is written before the next poll reads the rings: a frame the pod posted
	 * before it saw the flag is found by that poll (the pod orders the other way round). */
	rte_smp_mb();
}

static void wake_disarm(struct worker *w)
{
	for (uint16_t i = 0; i < w->n_arm; i++) {
		const struct fp_rt *rt = &W.rt[w->arm[i].slot];
		/* A device gone since is not touched; one that took its vid is off already. */
		if (__atomic_load_n(&rt->vid, __ATOMIC_ACQUIRE) == w->arm[i].vid)
			ring_notify(w->arm[i].slot, w->arm[i].vid, w->arm[i].q, false);
	}
	w->n_arm = 0;
	w->armed = false;
}

/* Sleep until traffic, a kick or the timeout. Called armed, after a poll found nothing. */
static void idle_wait(struct worker *w, unsigned us)
{
	uint64_t t0 = rte_rdtsc();
	int why;

	rte_rcu_qsbr_thread_offline(W.qsv, w->id);
	why = fp_wake_wait(w->wake, (uint64_t)us * 1000);
	rte_rcu_qsbr_thread_online(W.qsv, w->id);
	STAT_ADD(w->ws.sleep_cycles, rte_rdtsc() - t0);
	STAT_ADD(w->ws.sleeps, 1);
	if (why > 0 && (why & FP_WAKE_TRAFFIC))
		STAT_ADD(w->ws.wakes, 1);
}

/* An empty loop past idlePolls. events: arm, poll once more, then wait for an event (the
 * set rebuilt first if the table or a pod changed); else a blind back-off sleep. */
static void idle(struct worker *w, const struct fp_table *t, unsigned *sleep_us)
{
	unsigned max = __atomic_load_n(&W.idle_sleep_max_us, __ATOMIC_RELAXED);
	unsigned us = *sleep_us < max ? *sleep_us : max;
	bool stale =
	        w->wake_t != t || w->wake_gen != __atomic_load_n(&W.wake_gen, __ATOMIC_ACQUIRE);

	if (!__atomic_load_n(&W.idle_events, __ATOMIC_RELAXED) || !w->wake || !t) {
		if (w->armed)
			wake_disarm(w);
		idle_sleep(w, us);
	} else if (!w->armed || stale) {
		if (w->armed)
			wake_disarm(w);
		if (stale)
			wake_rebuild(w, t);
		wake_arm(w, t);
		return; /* poll once more, armed */
	} else {
		/* Every queue can wake us: the timeout is only a safety net. */
		idle_wait(w, w->blind ? us : max);
	}
	/* Exponential back-off: an idle node settles at max. */
	if (*sleep_us < max)
		*sleep_us *= 2;
}

/* ---- TAP probe ---- */

/* Online, when the worker meets a new table: its TAP queues are open while it is current. */
static void probe_rebuild(struct worker *w, const struct fp_table *t)
{
	const struct fp_worker_rx *rx = &t->rx[w->id];
	unsigned n = 0;

	w->probe_t = t;
	w->probing = false;
	memset(w->ready, 0, sizeof(w->ready));
	if (w->probe_ep >= 0)
		close(w->probe_ep);
	w->probe_ep = -1;
	for (uint16_t i = 0; i < rx->n; i++)
		n += t->slots[rx->q[i].slot].kind == FP_PORT_TAP;
	/* Even for one queue: an empty epoll_wait costs a quarter of an empty io_uring read. */
	if (n == 0 || rx->n > PROBE_WORDS * 64 || (w->probe_ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return;
	for (uint16_t i = 0; i < rx->n; i++) {
		const struct fp_rt *rt = &W.rt[rx->q[i].slot];
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
		if (t->slots[rx->q[i].slot].kind != FP_PORT_TAP)
			continue;
		if (epoll_ctl(w->probe_ep, EPOLL_CTL_ADD, fp_tap_rx_fd(rt->tap, rx->q[i].queue),
		            &ev) < 0) {
			close(w->probe_ep);
			w->probe_ep = -1;
			return; /* read every queue, as without the probe */
		}
	}
	w->probing = true;
}

/* Mark the TAP queues with frames (level-triggered: also those a burst left frames in). */
static void probe(struct worker *w, const struct fp_table *t)
{
	struct epoll_event ev[PROBE_EVENTS];
	int n;

	if (unlikely(w->probe_t != t))
		probe_rebuild(w, t);
	if (!w->probing)
		return;
	n = epoll_wait(w->probe_ep, ev, PROBE_EVENTS, 0);
	for (int k = 0; k < n; k++)
		w->ready[ev[k].data.u32 / 64] |= 1ULL << (ev[k].data.u32 % 64);
}

/* Rx entry i: to be read this loop (the bit is consumed). */
static inline bool probe_take(struct worker *w, uint16_t i)
{
	uint64_t bit = 1ULL << (i % 64);

	if (!w->probing)
		return true;
	if (!(w->ready[i / 64] & bit))
		return false;
	w->ready[i / 64] &= ~bit;
	return true;
}

static int worker_main(void *arg)
{
	struct worker *w = arg;
	struct rte_mbuf *pkts[FP_MAX_BURST];
	unsigned burst = W.burst, empty = 0, sleep_us = IDLE_SLEEP_MIN_US;
	uint64_t t0 = rte_rdtsc(), t1;

	/* Back-off sleeps are short: without this the kernel stretches each by its default
	 * 50 us timer slack. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	rte_rcu_qsbr_thread_register(W.qsv, w->id);
	rte_rcu_qsbr_thread_online(W.qsv, w->id);
	while (!__atomic_load_n(&W.quit, __ATOMIC_RELAXED)) {
		const struct fp_table *t = __atomic_load_n(&W.table, __ATOMIC_ACQUIRE);
		uint64_t work = 0;

		w->t = t;
		uint32_t total = 0;

		if (likely(t != NULL)) {
			const struct fp_worker_rx *rx = &t->rx[w->id];
			probe(w, t);
			for (uint16_t i = 0; i < rx->n; i++) {
				uint16_t s = rx->q[i].slot, q = rx->q[i].queue, n;
				const struct fp_rt *rt = &W.rt[s];
				uint64_t ts = rte_rdtsc();
				if (t->slots[s].kind == FP_PORT_VHOST) {
					int32_t vid = __atomic_load_n(&rt->vid, __ATOMIC_ACQUIRE);
					/* Only rings the pod enabled: virtio-user enables pair 0
					 * alone until the app configures more. */
					if (vid < 0 ||
					        !(__atomic_load_n(&rt->rx_en, __ATOMIC_RELAXED) &
					                (1u << q)))
						continue;
					TEST_STALL_HOOK(w, s, vid);
					if (W.one_copy) {
						n = oc_from_pod(w, t, s, q, burst);
						if (n == 0)
							continue;
						goto polled;
					}
					n = rte_vhost_dequeue_burst(
					        vid, q * 2 + 1, W.pool, pkts, burst);
					if (n == 0)
						continue;
					from_pod(w, t, s, pkts, n);
				} else if (t->slots[s].kind == FP_PORT_TAP) {
					uint64_t nomem = 0, runt = 0;
					if (!probe_take(w, i))
						continue;
					n = fp_tap_rx(
					        rt->tap, q, w->id, pkts, burst, &nomem, &runt);
					STAT_ADD(w->port[s].drop_nomem, nomem);
					STAT_ADD(w->port[s].drop_runt, runt);
					if (n == 0)
						continue;
					from_pod(w, t, s, pkts, n);
				} else {
					n = rte_eth_rx_burst(rt->eth_port, q, pkts, burst);
					if (n == 0)
						continue;
					from_uplink(w, t, s, pkts, n);
				}
			polled:
				flush(w, t);
				total += n;
				/* Per-poll work, as testpmd's --record-core-cycles counts it. */
				work += rte_rdtsc() - ts;
			}
		}
		if (w->oc_n_pub)
			oc_publish(w);
		rte_rcu_qsbr_quiescent(W.qsv, w->id);
		t1 = rte_rdtsc();
		STAT_ADD(w->ws.loops, 1);
		if (total) {
			STAT_ADD(w->ws.busy_cycles, t1 - t0);
			STAT_ADD(w->ws.work_cycles, work);
			STAT_ADD(w->ws.packets, total);
			empty = 0;
			sleep_us = IDLE_SLEEP_MIN_US;
			if (unlikely(w->armed))
				wake_disarm(w);
		} else {
			unsigned polls = __atomic_load_n(&W.idle_polls, __ATOMIC_RELAXED);
			if (polls && ++empty > polls)
				idle(w, t, &sleep_us);
			t1 = rte_rdtsc();
			STAT_ADD(w->ws.idle_cycles, t1 - t0);
		}
		t0 = t1;
	}
	if (w->armed)
		wake_disarm(w);
	if (w->probe_ep >= 0)
		close(w->probe_ep);
	w->probe_ep = -1;
	rte_rcu_qsbr_thread_offline(W.qsv, w->id);
	rte_rcu_qsbr_thread_unregister(W.qsv, w->id);
	return 0;
}

/* ---- control ---- */

int fp_worker_init(const struct fp_worker_params *p, struct kb_err *err)
{
	size_t sz;

	memset(&W, 0, sizeof(W));
	test_hooks_init();
	for (unsigned i = 0; i < FP_MAX_PORTS; i++)
		W.rt[i].vid = -1;
	W.n = p->n_workers;
	W.pool = p->pool;
	W.burst = p->burst;
	W.one_copy = fp_oc_enabled();
	fp_worker_set_idle(p->idle_polls, p->idle_sleep_max_us, p->idle_events);
	/* Every segment takes one indirect mbuf, two where it spans two of the frame's. */
	W.indirect = rte_pktmbuf_pool_create("kbnet_gso_ind",
	        p->indirect_mbufs ? p->indirect_mbufs : 4095, 64, 0, 0, SOCKET_ID_ANY);
	if (!W.indirect) {
		fp_worker_fini();
		return kb_err_set(err, ENOMEM, "cannot allocate the segmentation mbuf pool");
	}
	sz = rte_rcu_qsbr_get_memsize(W.n);
	if (!(W.qsv = rte_zmalloc("kbnet_qsbr", sz, RTE_CACHE_LINE_SIZE)) ||
	        rte_rcu_qsbr_init(W.qsv, W.n) < 0) {
		fp_worker_fini();
		return kb_err_set(err, ENOMEM, "cannot allocate the RCU state");
	}
	for (unsigned i = 0; i < W.n; i++) {
		W.w[i] = rte_zmalloc_socket("kbnet_worker", sizeof(struct worker),
		        RTE_CACHE_LINE_SIZE, rte_lcore_to_socket_id(p->lcores[i]));
		if (!W.w[i]) {
			fp_worker_fini();
			return kb_err_set(err, ENOMEM, "cannot allocate worker %u", i);
		}
		W.w[i]->id = i;
		W.w[i]->lcore = p->lcores[i];
		W.w[i]->probe_ep = -1;
		/* Without a wake-up set the worker falls back to blind sleeps. */
		if (fp_wake_create(&W.w[i]->wake) < 0)
			W.w[i]->wake = NULL;
		W.w[i]->gso = (struct rte_gso_ctx){.direct_pool = W.pool,
		        .indirect_pool = W.indirect,
		        .gso_types = RTE_ETH_TX_OFFLOAD_TCP_TSO,
		        .flag = 0 /* segments get consecutive IP ids, as a sender's would */};
	}
	return 0;
}

int fp_worker_start(struct kb_err *err)
{
	for (unsigned i = 0; i < W.n; i++) {
		int r = rte_eal_remote_launch(worker_main, W.w[i], W.w[i]->lcore);
		if (r < 0) {
			fp_worker_fini();
			return kb_err_set(
			        err, -r, "cannot launch worker %u on lcore %u", i, W.w[i]->lcore);
		}
	}
	__atomic_store_n(&W.started, true, __ATOMIC_RELEASE);
	return 0;
}

void fp_worker_fini(void)
{
	if (W.started) {
		__atomic_store_n(&W.quit, true, __ATOMIC_RELAXED);
		fp_worker_wake_all();
		for (unsigned i = 0; i < W.n; i++)
			rte_eal_wait_lcore(W.w[i]->lcore);
		__atomic_store_n(&W.started, false, __ATOMIC_RELEASE);
	}
	for (unsigned i = 0; i < W.n; i++) {
		if (W.w[i])
			fp_wake_destroy(W.w[i]->wake);
		rte_free(W.w[i]);
	}
	fp_table_free(W.table);
	rte_free(W.qsv);
	rte_mempool_free(W.indirect);
	memset(&W, 0, sizeof(W));
}

void fp_worker_sync(void)
{
	struct timespec ts = {0, 100000};
	uint64_t token;

	if (!W.qsv || !W.started)
		return;
	/* Sleep between checks: a starved worker needs the CPU we would spin on. */
	token = rte_rcu_qsbr_start(W.qsv);
	while (rte_rcu_qsbr_check(W.qsv, token, false) != 1)
		nanosleep(&ts, NULL);
}

bool fp_worker_sync_timeout(unsigned ms)
{
	struct timespec ts = {0, 100000};
	uint64_t token;

	if (!W.qsv || !W.started)
		return true;
	token = rte_rcu_qsbr_start(W.qsv);
	for (unsigned i = 0; i < ms * 10; i++) {
		if (rte_rcu_qsbr_check(W.qsv, token, false) == 1)
			return true;
		nanosleep(&ts, NULL);
	}
	return rte_rcu_qsbr_check(W.qsv, token, false) == 1;
}

void fp_worker_publish(struct fp_table *t)
{
	struct fp_table *old = __atomic_exchange_n(&W.table, t, __ATOMIC_ACQ_REL);

	fp_worker_wake_all(); /* a sleeping worker watches the new table's queues */
	fp_worker_sync();
	fp_table_free(old);
}

void fp_worker_port_stats(uint16_t slot, struct fp_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	for (unsigned i = 0; i < W.n; i++) {
		const uint64_t *src = (const uint64_t *)&W.w[i]->port[slot];
		uint64_t *dst = (uint64_t *)ret;
		for (unsigned f = 0; f < FP_STATS_FIELDS; f++)
			dst[f] += STAT_GET(src[f]);
	}
}

void fp_worker_stats(unsigned w, struct fp_wstats *ret)
{
	const struct fp_wstats *s = &W.w[w]->ws;

	ret->busy_cycles = STAT_GET(s->busy_cycles);
	ret->work_cycles = STAT_GET(s->work_cycles);
	ret->idle_cycles = STAT_GET(s->idle_cycles);
	ret->sleep_cycles = STAT_GET(s->sleep_cycles);
	ret->packets = STAT_GET(s->packets);
	ret->loops = STAT_GET(s->loops);
	ret->sleeps = STAT_GET(s->sleeps);
	ret->wakes = STAT_GET(s->wakes);
	ret->oc_walk_cycles = STAT_GET(s->oc_walk_cycles);
	ret->oc_copy_cycles = STAT_GET(s->oc_copy_cycles);
	ret->oc_done_cycles = STAT_GET(s->oc_done_cycles);
}

bool fp_worker_alive(unsigned w)
{
	return W.started && rte_eal_get_lcore_state(W.w[w]->lcore) == RUNNING;
}
