/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/fastpath/fp_tap.h"
#include "agent/fastpath/fp_config.h"
#include "agent/fastpath/fp_switch.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <rte_branch_prediction.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#define TAP_HDR_LEN  sizeof(struct virtio_net_hdr)
#define TAP_RX_BATCH 8  /* reads per io_uring_enter at most (each keeps a frame's mbufs ready) */
#define TAP_SEGS_MAX 40 /* mbufs per read: 64 KiB + headers over 2 KiB of data room, at least */
#define TAP_TX_IOV   64 /* segments of one transmitted frame (+ its header) */
#define RING_ENTRIES 128

struct tap_rxq {
	int fd;
	uint16_t k; /* reads in the next batch: grows while every read finds a frame */
	struct virtio_net_hdr hdr[TAP_RX_BATCH];
	struct rte_mbuf *m[TAP_RX_BATCH][TAP_SEGS_MAX];
	struct iovec iov[TAP_RX_BATCH][TAP_SEGS_MAX + 1];
};

struct fp_tap {
	uint16_t n_queues;
	uint16_t segs; /* mbufs per read */
	uint32_t room; /* data room of one mbuf */
	enum fp_tap_io io;
	struct rte_mempool *pool;
	struct tap_rxq q[];
};

/* Per-worker transmit scratch and ring. */
struct tap_worker {
	bool ring_ok;
	struct io_uring ring;
	struct virtio_net_hdr hdr[FP_MAX_BURST];
	struct iovec iov[FP_MAX_BURST][TAP_TX_IOV + 1];
};

static struct {
	unsigned n;
	struct tap_worker *w[FP_MAX_WORKERS];
	char note[160];
} T;

int fp_tap_init(unsigned n_workers)
{
	int r;

	T.note[0] = '\0';
	for (unsigned i = 0; i < n_workers && i < FP_MAX_WORKERS; i++) {
		if (!(T.w[i] = calloc(1, sizeof(*T.w[i]))))
			return -ENOMEM;
		T.n = i + 1;
		if ((r = io_uring_queue_init(RING_ENTRIES, &T.w[i]->ring, 0)) < 0) {
			snprintf(T.note, sizeof(T.note),
			        "io_uring unavailable (%s): TAP ports use one system call per "
			        "frame",
			        strerror(-r));
			continue;
		}
		T.w[i]->ring_ok = true;
	}
	return 0;
}

void fp_tap_fini(void)
{
	for (unsigned i = 0; i < T.n; i++) {
		if (T.w[i] && T.w[i]->ring_ok)
			io_uring_queue_exit(&T.w[i]->ring);
		free(T.w[i]);
		T.w[i] = NULL;
	}
	T.n = 0;
}

const char *fp_tap_uring_note(void)
{
	return T.note;
}

enum fp_tap_io fp_tap_io(const struct fp_tap *t)
{
	return t->io;
}

void fp_tap_destroy(struct fp_tap *t)
{
	if (!t)
		return;
	for (uint16_t q = 0; q < t->n_queues; q++) {
		struct tap_rxq *rq = &t->q[q];
		for (unsigned i = 0; i < TAP_RX_BATCH; i++)
			for (unsigned j = 0; j < t->segs; j++)
				rte_pktmbuf_free(rq->m[i][j]);
		if (rq->fd >= 0)
			close(rq->fd);
	}
	free(t);
}

int fp_tap_create(const int *fds, unsigned n_queues, enum fp_tap_io io, uint32_t max_frame,
        struct rte_mempool *pool, struct fp_tap **ret, struct kb_err *err)
{
	uint32_t room = rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM;
	uint32_t segs = (max_frame + room - 1) / room;
	struct fp_tap *t;
	int r;

	if (n_queues < 1 || n_queues > 16)
		return kb_err_set(err, EINVAL, "%u TAP queues", n_queues);
	/* Before the port exists: fp_tap_destroy walks `segs` mbufs of each slot. */
	if (segs > TAP_SEGS_MAX)
		return kb_err_set(err, EINVAL,
		        "a %u-byte frame needs %u mbufs of %u bytes (at most %d): raise "
		        "fastpath.mbufSize",
		        max_frame, segs, room, TAP_SEGS_MAX);
	if (!(t = calloc(1, sizeof(*t) + n_queues * sizeof(t->q[0]))))
		return kb_err_set(err, ENOMEM, "out of memory");
	t->n_queues = n_queues;
	t->room = room;
	t->segs = segs;
	t->io = io;
	t->pool = pool;
	for (unsigned q = 0; q < n_queues; q++)
		t->q[q].fd = -1;
	for (unsigned q = 0; q < n_queues; q++) {
		struct tap_rxq *rq = &t->q[q];
		rq->k = 1;
		/* The port's own descriptor: the allocation's may close before the workers
		 * leave the port. */
		if ((rq->fd = fcntl(fds[q], F_DUPFD_CLOEXEC, 3)) < 0) {
			r = kb_err_set(err, errno, "dup: %s", strerror(errno));
			goto fail;
		}
		for (unsigned i = 0; i < TAP_RX_BATCH; i++)
			if (rte_pktmbuf_alloc_bulk(pool, rq->m[i], t->segs) < 0) {
				memset(rq->m[i], 0, sizeof(rq->m[i]));
				r = kb_err_set(err, ENOMEM,
				        "no mbufs for the TAP's receive buffers (fastpath.mbufs)");
				goto fail;
			}
	}
	*ret = t;
	return 0;
fail:
	fp_tap_destroy(t);
	return r;
}

int fp_tap_rx_fd(const struct fp_tap *t, uint16_t q)
{
	return q < t->n_queues ? t->q[q].fd : -1;
}

/* ---- receive ---- */

static inline void rx_iov(struct fp_tap *t, struct tap_rxq *rq, unsigned i)
{
	rq->iov[i][0] = (struct iovec){&rq->hdr[i], TAP_HDR_LEN};
	for (unsigned j = 0; j < t->segs; j++)
		rq->iov[i][j + 1] = (struct iovec){rte_pktmbuf_mtod(rq->m[i][j], void *), t->room};
}

/* Slot i read `len` bytes: its first mbufs become the frame, fresh ones take their place.
 * NULL when the frame is dropped (counted by the caller). */
static inline struct rte_mbuf *rx_take(struct fp_tap *t, struct tap_rxq *rq, unsigned i,
        uint32_t len, uint64_t *nomem, uint64_t *runt)
{
	const struct virtio_net_hdr *h = &rq->hdr[i];
	struct rte_mbuf *fresh[TAP_SEGS_MAX], *m;
	uint32_t data, u, left;

	if (unlikely(len < TAP_HDR_LEN + FP_ETH_HLEN)) {
		(*runt)++;
		return NULL;
	}
	data = len - TAP_HDR_LEN;
	u = (data + t->room - 1) / t->room;
	/* Refill first: without mbufs the slot keeps its own and the frame is lost. */
	if (unlikely(rte_pktmbuf_alloc_bulk(t->pool, fresh, u) < 0)) {
		(*nomem)++;
		return NULL;
	}
	m = rq->m[i][0];
	left = data;
	for (uint32_t j = 0; j < u; j++) {
		struct rte_mbuf *s = rq->m[i][j];
		s->data_len = left < t->room ? left : t->room;
		left -= s->data_len;
		s->next = j + 1 < u ? rq->m[i][j + 1] : NULL;
		rq->m[i][j] = fresh[j];
	}
	m->pkt_len = data;
	m->nb_segs = u;
	m->ol_flags = 0;
	/* What rte_vhost's compliant offload flags would say for a virtio guest's frame. */
	if (h->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		m->ol_flags |= RTE_MBUF_F_RX_LRO;
		m->tso_segsz = h->gso_size;
	}
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_NONE;
	return m;
}

static uint16_t rx_syscall(struct fp_tap *t, struct tap_rxq *rq, struct rte_mbuf **pkts, uint16_t n,
        uint64_t *nomem, uint64_t *runt)
{
	uint16_t got = 0;

	while (got < n) {
		ssize_t r;
		struct rte_mbuf *m;
		rx_iov(t, rq, 0);
		r = readv(rq->fd, rq->iov[0], t->segs + 1);
		if (r <= 0)
			break;
		if ((m = rx_take(t, rq, 0, (uint32_t)r, nomem, runt)))
			pkts[got++] = m;
	}
	return got;
}

static uint16_t rx_uring(struct fp_tap *t, struct tap_rxq *rq, struct io_uring *ring,
        struct rte_mbuf **pkts, uint16_t n, uint64_t *nomem, uint64_t *runt)
{
	unsigned k = rq->k < n ? rq->k : n, posted = 0, seen = 0, frames = 0;
	uint16_t got = 0;
	struct io_uring_cqe *cqe;

	for (unsigned i = 0; i < k; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
		if (!sqe)
			break;
		rx_iov(t, rq, i);
		/* RWF_NOWAIT: io_uring would otherwise wait for a frame (it arms a poll on a
		 * pollable file even when it is O_NONBLOCK). */
		io_uring_prep_readv2(
		        sqe, rq->fd, rq->iov[i], t->segs + 1, (uint64_t)-1, RWF_NOWAIT);
		io_uring_sqe_set_data64(sqe, i);
		posted++;
	}
	if (!posted)
		return 0;
	/* Reads on an O_NONBLOCK TAP complete during the submit (a frame or -EAGAIN); they
	 * complete in submission order, which is the queue's frame order. */
	if (io_uring_submit_and_wait(ring, posted) < 0)
		return 0;
	while (seen < posted && io_uring_peek_cqe(ring, &cqe) == 0) {
		unsigned i = (unsigned)io_uring_cqe_get_data64(cqe);
		int res = cqe->res;
		struct rte_mbuf *m;
		io_uring_cqe_seen(ring, cqe);
		seen++;
		if (res <= 0)
			continue;
		frames++;
		if ((m = rx_take(t, rq, i, (uint32_t)res, nomem, runt)))
			pkts[got++] = m;
	}
	/* Every read found a frame: ask for more next time; else as many as came. */
	if (frames == posted)
		rq->k = posted * 2 < TAP_RX_BATCH ? posted * 2 : TAP_RX_BATCH;
	else
		rq->k = frames ? frames : 1;
	return got;
}

uint16_t fp_tap_rx(struct fp_tap *t, uint16_t q, unsigned wid, struct rte_mbuf **pkts, uint16_t n,
        uint64_t *nomem, uint64_t *runt)
{
	struct tap_rxq *rq = &t->q[q];
	struct tap_worker *w = T.w[wid];

	if (t->io == FP_TAP_IO_URING && likely(w->ring_ok))
		return rx_uring(t, rq, &w->ring, pkts, n, nomem, runt);
	return rx_syscall(t, rq, pkts, n, nomem, runt);
}

/* ---- transmit ---- */

/* The virtio-net header for a frame's TX flags. A TSO or partial-checksum frame's TCP/UDP
 * checksum field holds the pseudo-header sum already (its sender wrote it); the IPv4 header
 * checksum the kernel will not complete. */
static inline void tx_hdr(struct rte_mbuf *m, struct virtio_net_hdr *h)
{
	uint64_t f = m->ol_flags;

	memset(h, 0, sizeof(*h));
	if (likely(!(f & (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_L4_MASK))))
		return;
	if (f & RTE_MBUF_F_TX_IP_CKSUM) {
		struct rte_ipv4_hdr *ip =
		        rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, m->l2_len);
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	}
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->csum_start = m->l2_len + m->l3_len;
	h->csum_offset = (f & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_UDP_CKSUM ? 6 : 16;
	if (f & RTE_MBUF_F_TX_TCP_SEG) {
		h->gso_type = f & RTE_MBUF_F_TX_IPV6 ? VIRTIO_NET_HDR_GSO_TCPV6
		                                     : VIRTIO_NET_HDR_GSO_TCPV4;
		h->gso_size = m->tso_segsz;
		h->hdr_len = m->l2_len + m->l3_len + m->l4_len;
		h->csum_offset = 16;
	}
}

/* Header + segments; 0 when the chain is longer than TAP_TX_IOV. */
static inline unsigned tx_iov(struct rte_mbuf *m, struct virtio_net_hdr *h, struct iovec *iov)
{
	unsigned n = 1;

	iov[0] = (struct iovec){h, TAP_HDR_LEN};
	for (; m; m = m->next) {
		if (n > TAP_TX_IOV)
			return 0;
		iov[n++] = (struct iovec){rte_pktmbuf_mtod(m, void *), m->data_len};
	}
	return n;
}

static inline bool tx_down(int err)
{
	/* EIO: the netdev is down; EBADFD: detached (its namespace is gone). */
	return err == EIO || err == EBADFD || err == ENODEV;
}

uint16_t fp_tap_tx(struct fp_tap *t, unsigned wid, struct rte_mbuf **pkts, uint16_t n,
        uint64_t *bytes, uint16_t *down)
{
	struct tap_worker *w = T.w[wid];
	int fd = t->q[wid % t->n_queues].fd;
	uint16_t sent = 0;
	unsigned posted = 0;

	*down = 0;
	if (t->io == FP_TAP_IO_SYSCALL || unlikely(!w->ring_ok)) {
		for (uint16_t i = 0; i < n; i++) {
			unsigned niov;
			tx_hdr(pkts[i], &w->hdr[0]);
			if (!(niov = tx_iov(pkts[i], &w->hdr[0], w->iov[0])))
				continue;
			if (writev(fd, w->iov[0], niov) < 0) {
				*down += tx_down(errno);
				continue;
			}
			sent++;
			*bytes += rte_pktmbuf_pkt_len(pkts[i]);
		}
		return sent;
	}
	for (uint16_t i = 0; i < n; i++) {
		struct io_uring_sqe *sqe;
		unsigned niov;
		tx_hdr(pkts[i], &w->hdr[i]);
		if (!(niov = tx_iov(pkts[i], &w->hdr[i], w->iov[i])) ||
		        !(sqe = io_uring_get_sqe(&w->ring)))
			continue;
		io_uring_prep_writev2(sqe, fd, w->iov[i], niov, (uint64_t)-1, RWF_NOWAIT);
		io_uring_sqe_set_data64(sqe, i);
		posted++;
	}
	if (!posted)
		return 0;
	/* The frames must stay until the kernel copied them: wait for every completion (TAP
	 * writes complete during the submit). */
	if (io_uring_submit_and_wait(&w->ring, posted) < 0)
		posted = 0;
	for (unsigned seen = 0; seen < posted; seen++) {
		struct io_uring_cqe *cqe;
		if (io_uring_wait_cqe(&w->ring, &cqe) < 0)
			break;
		if (cqe->res >= 0) {
			sent++;
			*bytes += rte_pktmbuf_pkt_len(pkts[io_uring_cqe_get_data64(cqe)]);
		} else {
			*down += tx_down(-cqe->res);
		}
		io_uring_cqe_seen(&w->ring, cqe);
	}
	return sent;
}
