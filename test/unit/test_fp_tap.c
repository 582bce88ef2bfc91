/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: TAP ports (fp_tap) on a real mbuf pool (EAL without hugepages), both I/O paths
 * (io_uring batches and one system call per frame) for every case.
 *
 * Part one: a datagram socket pair stands in for a TAP queue (one read returns one
 * [virtio-net header | frame], as a TAP's does), so that the test controls every byte the
 * port reads: header -> mbuf flags, reads too short for an Ethernet header, frames longer
 * than the receive buffers, no mbufs to refill, and the header fp_tap_tx puts in front of a
 * frame for each set of TX flags.
 *
 * Part two (root, /dev/net/tun): a multi-queue TAP with virtio-net headers in a test network
 * namespace and a packet socket (PACKET_VNET_HDR) on it: a 64 KB TSO frame the kernel sends
 * reaches the port whole with RX_LRO and its MSS; a TSO frame the port writes arrives in the
 * kernel as one GSO packet; writes to a TAP that is down count as `down`.
 */
// LDFLAGS: -isystem /usr/include/dpdk -isystem /usr/include/x86_64-linux-gnu/dpdk -march=corei7
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <netinet/if_ether.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <rte_config.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "agent/fastpath/fp_tap.h"
#include "lib/netlink/netns.h"

#define HDR      sizeof(struct virtio_net_hdr)
#define ROOM     2048
#define N_MBUFS  2047
#define BIG      (65536 + 18) /* max_frame with offloads */
#define TAP_NAME "kbtaput0"

static const enum fp_tap_io ios[] = {FP_TAP_IO_URING, FP_TAP_IO_SYSCALL};

static struct {
	struct rte_mempool *pool;
	bool eal;
	char ns[32];
	char nspath[64];
	bool have_tun;
} G;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int group_setup(void **state)
{
	char prefix[64];
	char *argv[] = {"test_fp_tap", "--no-huge", "-m", "128", "--no-pci", "--no-shconf",
	        "--log-level=*:error", prefix, NULL};

	(void)state;
	snprintf(prefix, sizeof(prefix), "--file-prefix=kbtaput%d", (int)getpid());
	if (rte_eal_init(8, argv) < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	G.eal = true;
	G.pool = rte_pktmbuf_pool_create(
	        "tapu", N_MBUFS, 0, 0, ROOM + RTE_PKTMBUF_HEADROOM, SOCKET_ID_ANY);
	if (!G.pool)
		return -1;
	if (fp_tap_init(2) < 0)
		return -1;
	if (fp_tap_uring_note()[0])
		fprintf(stderr, "note: %s\n", fp_tap_uring_note());
	G.have_tun = access("/dev/net/tun", R_OK | W_OK) == 0 && geteuid() == 0;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	fp_tap_fini();
	rte_mempool_free(G.pool);
	if (G.eal)
		rte_eal_cleanup();
	return 0;
}

/* Every mbuf back in the pool, but those the port keeps as receive buffers. */
static void assert_pool(unsigned kept)
{
	assert_int_equal(rte_mempool_avail_count(G.pool), N_MBUFS - kept);
}

/* ---- frames ---- */

/* Ethernet + IPv4 + TCP (20 bytes) + payload bytes of pattern; returns the frame length. */
static unsigned tcp4_frame(uint8_t *f, unsigned payload)
{
	unsigned len = 14 + 20 + 20 + payload;

	memset(f, 0, 54);
	memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00", 14);
	f[14] = 0x45;
	f[16] = (uint8_t)((len - 14) >> 8);
	f[17] = (uint8_t)(len - 14);
	f[22] = 64;
	f[23] = 6;
	memcpy(f + 26, "\x0a\x63\x00\x01\x0a\x63\x00\x02", 8);
	f[34] = 0x13;
	f[35] = 0x88;
	f[36] = 0x13;
	f[37] = 0x89;
	f[46] = 5 << 4;
	f[47] = 0x18; /* PSH ACK */
	for (unsigned i = 0; i < payload; i++)
		f[54 + i] = (uint8_t)(i * 7 + 1);
	return len;
}

/* A chain of mbufs holding f[0..len) in pieces of at most `seg` bytes. */
static struct rte_mbuf *chain(const uint8_t *f, unsigned len, unsigned seg)
{
	struct rte_mbuf *head = NULL, *last = NULL;

	for (unsigned o = 0; o < len; o += seg) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(G.pool);
		unsigned n = len - o < seg ? len - o : seg;
		assert_non_null(m);
		memcpy(rte_pktmbuf_append(m, n), f + o, n);
		if (!head) {
			head = last = m;
		} else {
			last->next = m;
			last = m;
			head->nb_segs++;
			head->pkt_len += n;
		}
	}
	return head;
}

/* The bytes of a chain equal f[0..len). */
static void assert_chain(const struct rte_mbuf *m, const uint8_t *f, unsigned len)
{
	unsigned o = 0, segs = 0;

	assert_int_equal(m->pkt_len, len);
	for (const struct rte_mbuf *s = m; s; s = s->next) {
		assert_true(o + s->data_len <= len);
		assert_memory_equal(rte_pktmbuf_mtod(s, const uint8_t *), f + o, s->data_len);
		o += s->data_len;
		segs++;
	}
	assert_int_equal(o, len);
	assert_int_equal(m->nb_segs, segs);
}

/* ---- part one: a datagram socket pair as the queue ---- */

struct pair {
	int port; /* the port's end (fp_tap dups it) */
	int peer; /* the "kernel" end */
	struct fp_tap *t;
};

static void pair_open(struct pair *p, enum fp_tap_io io, uint32_t max_frame)
{
	int sv[2], snd = 4 << 20;
	struct kb_err err = {0};

	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &snd, sizeof(snd));
	p->port = sv[0];
	p->peer = sv[1];
	if (fp_tap_create(&p->port, 1, io, max_frame, G.pool, &p->t, &err) < 0)
		fail_msg("fp_tap_create: %s", err.msg);
	assert_int_equal(fp_tap_io(p->t), io);
	close(p->port); /* the port keeps its own copy */
}

static void pair_close(struct pair *p)
{
	fp_tap_destroy(p->t);
	close(p->peer);
	assert_pool(0);
}

/* The peer sends [hdr | frame]. */
static void put(int fd, const struct virtio_net_hdr *h, const uint8_t *f, unsigned len)
{
	struct iovec iov[2] = {{(void *)h, HDR}, {(void *)f, len}};

	assert_int_equal(writev(fd, iov, 2), (ssize_t)(HDR + len));
}

/* Up to `want` frames: several calls (the io_uring path grows its batch from one read). */
static unsigned rx_n(struct fp_tap *t, unsigned wid, struct rte_mbuf **pkts, unsigned want,
        uint64_t *nomem, uint64_t *runt)
{
	unsigned got = 0;

	for (int i = 0; i < 50 && got < want; i++)
		got += fp_tap_rx(t, 0, wid, pkts + got, (uint16_t)(want - got), nomem, runt);
	return got;
}

static void test_rx_flags(void **state)
{
	static uint8_t f[BIG];
	(void)state;
	for (unsigned k = 0; k < 2; k++) {
		struct rte_mbuf *m[8] = {0};
		uint64_t nomem = 0, runt = 0;
		struct pair p;
		unsigned len;

		pair_open(&p, ios[k], BIG);
		/* A plain frame, a partial checksum, a 60 KB TSO frame, TSO over IPv6. */
		struct virtio_net_hdr plain = {0};
		struct virtio_net_hdr csum = {
		        .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34, .csum_offset = 16};
		struct virtio_net_hdr tso = csum, tso6 = csum;
		tso.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
		tso.gso_size = 1448;
		tso.hdr_len = 54;
		tso6.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
		tso6.gso_size = 1428;
		len = tcp4_frame(f, 100);
		put(p.peer, &plain, f, len);
		put(p.peer, &csum, f, len);
		len = tcp4_frame(f, 60000);
		put(p.peer, &tso, f, len);
		put(p.peer, &tso6, f, 1000);
		assert_int_equal(rx_n(p.t, 0, m, 4, &nomem, &runt), 4);
		assert_int_equal(nomem + runt, 0);
		/* Nothing more: an empty queue answers at once. */
		assert_int_equal(fp_tap_rx(p.t, 0, 0, m + 4, 4, &nomem, &runt), 0);

		assert_int_equal(m[0]->ol_flags, 0);
		assert_int_equal(m[0]->pkt_len, 154);
		assert_int_equal(m[0]->nb_segs, 1);
		assert_int_equal(m[1]->ol_flags, RTE_MBUF_F_RX_L4_CKSUM_NONE);
		assert_int_equal(m[2]->ol_flags, RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_NONE);
		assert_int_equal(m[2]->tso_segsz, 1448);
		/* 60054 bytes over 2 KB mbufs: 30 segments, in place, the bytes as sent. */
		assert_int_equal(m[2]->nb_segs, 30);
		assert_chain(m[2], f, len);
		assert_null(rte_pktmbuf_lastseg(m[2])->next);
		assert_int_equal(m[3]->ol_flags, RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_NONE);
		assert_int_equal(m[3]->tso_segsz, 1428);
		assert_int_equal(m[3]->pkt_len, 1000);
		for (unsigned i = 0; i < 4; i++)
			rte_pktmbuf_free(m[i]);
		pair_close(&p);
	}
}

static void test_rx_short_and_long(void **state)
{
	static uint8_t f[BIG + 4096];
	(void)state;
	for (unsigned k = 0; k < 2; k++) {
		struct virtio_net_hdr h = {0};
		struct rte_mbuf *m[8] = {0};
		uint64_t nomem = 0, runt = 0;
		struct pair p;
		unsigned len;

		/* Offloads off: buffers for MTU 1500 + 18, one mbuf (2 KB) per read. */
		pair_open(&p, ios[k], 1518);
		len = tcp4_frame(f, 1460);
		/* A header alone, a header and 13 bytes, a 1 KB frame, 14 bytes exactly. */
		assert_int_equal(write(p.peer, &h, HDR), (ssize_t)HDR);
		put(p.peer, &h, f, 13);
		put(p.peer, &h, f, 1000);
		put(p.peer, &h, f, 14);
		assert_int_equal(rx_n(p.t, 0, m, 2, &nomem, &runt), 2);
		assert_int_equal(runt, 2);
		assert_int_equal(nomem, 0);
		assert_chain(m[0], f, 1000);
		assert_chain(m[1], f, 14);
		rte_pktmbuf_free(m[0]);
		rte_pktmbuf_free(m[1]);
		/* A frame longer than the buffers (a TAP never returns one: its MTU bounds it):
		 * the read is cut at the buffers' end, nothing is written past them. */
		len = tcp4_frame(f, 3000);
		put(p.peer, &h, f, len);
		assert_int_equal(rx_n(p.t, 0, m, 1, &nomem, &runt), 1);
		assert_int_equal(m[0]->pkt_len, ROOM);
		assert_int_equal(m[0]->nb_segs, 1);
		assert_chain(m[0], f, ROOM);
		rte_pktmbuf_free(m[0]);
		/* The receive buffers, one mbuf per slot, are all the port keeps. */
		assert_pool(8);
		pair_close(&p);
	}
}

static void test_rx_nomem(void **state)
{
	static struct rte_mbuf *all[N_MBUFS];
	static uint8_t f[4096];
	(void)state;
	for (unsigned k = 0; k < 2; k++) {
		struct virtio_net_hdr h = {0};
		struct rte_mbuf *m[4] = {0};
		uint64_t nomem = 0, runt = 0;
		unsigned n = 0, len = tcp4_frame(f, 3000);
		struct pair p;

		pair_open(&p, ios[k], 4096 + 18);
		while (n < N_MBUFS && (all[n] = rte_pktmbuf_alloc(G.pool)))
			n++;
		assert_int_equal(rte_mempool_avail_count(G.pool), 0);
		/* No mbufs to refill the slot: the frame is dropped, the slot keeps its own. */
		put(p.peer, &h, f, len);
		assert_int_equal(rx_n(p.t, 0, m, 1, &nomem, &runt), 0);
		assert_int_equal(nomem, 1);
		for (unsigned i = 0; i < n; i++)
			rte_pktmbuf_free(all[i]);
		/* The next frame is read normally. */
		put(p.peer, &h, f, len);
		assert_int_equal(rx_n(p.t, 0, m, 1, &nomem, &runt), 1);
		assert_chain(m[0], f, len);
		assert_int_equal(nomem, 1);
		rte_pktmbuf_free(m[0]);
		pair_close(&p);
	}
}

/* Read one datagram the port wrote: its header and frame. */
static unsigned get(int fd, struct virtio_net_hdr *h, uint8_t *f, unsigned cap)
{
	struct iovec iov[2] = {{h, HDR}, {f, cap}};
	ssize_t r = readv(fd, iov, 2);

	assert_true(r >= (ssize_t)HDR);
	return (unsigned)(r - HDR);
}

static void test_tx_header(void **state)
{
	static uint8_t f[BIG], g[BIG];
	(void)state;
	for (unsigned k = 0; k < 2; k++) {
		struct rte_mbuf *m[4];
		struct virtio_net_hdr h;
		uint64_t bytes = 0;
		uint16_t down = 9;
		unsigned len, glen;
		struct pair p;

		pair_open(&p, ios[k], BIG);
		/* Plain; TCP checksum; UDP checksum; TSO of a 60 KB frame in 1000-byte pieces
		 * with the IPv4 header checksum to complete. */
		len = tcp4_frame(f, 60000);
		m[0] = chain(f, 200, 2048);
		m[1] = chain(f, 200, 2048);
		m[1]->ol_flags = RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IPV4;
		m[1]->l2_len = 14;
		m[1]->l3_len = 20;
		m[2] = chain(f, 200, 2048);
		m[2]->ol_flags = RTE_MBUF_F_TX_UDP_CKSUM | RTE_MBUF_F_TX_IPV4;
		m[2]->l2_len = 18; /* as behind a VLAN tag */
		m[2]->l3_len = 20;
		m[3] = chain(f, len, 1000);
		m[3]->ol_flags = RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV4 |
		                 RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM;
		m[3]->l2_len = 14;
		m[3]->l3_len = 20;
		m[3]->l4_len = 20;
		m[3]->tso_segsz = 1448;
		assert_int_equal(m[3]->nb_segs, 61);
		assert_int_equal(fp_tap_tx(p.t, 1, m, 4, &bytes, &down), 4);
		assert_int_equal(down, 0);
		assert_int_equal(bytes, 600 + len);

		glen = get(p.peer, &h, g, sizeof(g));
		assert_int_equal(glen, 200);
		assert_memory_equal(g, f, 200);
		assert_int_equal(h.flags, 0);
		assert_int_equal(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
		get(p.peer, &h, g, sizeof(g));
		assert_int_equal(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
		assert_int_equal(h.csum_start, 34);
		assert_int_equal(h.csum_offset, 16);
		assert_int_equal(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
		get(p.peer, &h, g, sizeof(g));
		assert_int_equal(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
		assert_int_equal(h.csum_start, 38);
		assert_int_equal(h.csum_offset, 6);
		glen = get(p.peer, &h, g, sizeof(g));
		assert_int_equal(glen, len);
		assert_int_equal(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
		assert_int_equal(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
		assert_int_equal(h.gso_size, 1448);
		assert_int_equal(h.hdr_len, 54);
		assert_int_equal(h.csum_start, 34);
		assert_int_equal(h.csum_offset, 16);
		/* The IPv4 header checksum was completed in the frame; the rest as sent. */
		assert_int_equal(rte_ipv4_cksum((const struct rte_ipv4_hdr *)(g + 14)), 0);
		assert_int_not_equal(g[24] | g[25], 0);
		assert_memory_equal(g + 34, f + 34, len - 34);
		assert_int_equal(read(p.peer, g, 16), -1);
		assert_int_equal(errno, EAGAIN);
		for (unsigned i = 0; i < 4; i++)
			rte_pktmbuf_free(m[i]);
		pair_close(&p);
	}
}

static void test_tx_too_many_segments(void **state)
{
	static uint8_t f[8192];
	(void)state;
	for (unsigned k = 0; k < 2; k++) {
		struct rte_mbuf *m[2];
		uint64_t bytes = 0;
		uint16_t down = 0;
		struct pair p;

		pair_open(&p, ios[k], BIG);
		/* 65 segments: more than a write takes; skipped, the next frame goes. */
		m[0] = chain(f, 65 * 100, 100);
		assert_int_equal(m[0]->nb_segs, 65);
		m[1] = chain(f, 100, 100);
		assert_int_equal(fp_tap_tx(p.t, 0, m, 2, &bytes, &down), 1);
		assert_int_equal(bytes, 100);
		assert_int_equal(down, 0);
		rte_pktmbuf_free(m[0]);
		rte_pktmbuf_free(m[1]);
		pair_close(&p);
	}
}

static void test_create_refuses(void **state)
{
	struct kb_err err = {0};
	struct fp_tap *t = NULL;
	int fd = 0;

	(void)state;
	assert_int_equal(fp_tap_create(&fd, 0, FP_TAP_IO_URING, 1518, G.pool, &t, &err), -EINVAL);
	assert_int_equal(fp_tap_create(&fd, 17, FP_TAP_IO_URING, 1518, G.pool, &t, &err), -EINVAL);
	/* 128 KB frames over 2 KB mbufs: 65 segments, more than a read scatters over. */
	assert_int_equal(fp_tap_create(&fd, 1, FP_TAP_IO_URING, 131072, G.pool, &t, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "mbufSize"));
	assert_int_equal(
	        fp_tap_create(&(int){-1}, 1, FP_TAP_IO_SYSCALL, 1518, G.pool, &t, &err), -EBADF);
	assert_null(t);
	assert_pool(0);
}

/* ---- part two: a TAP in a test namespace ---- */

struct tapenv {
	int q[2];  /* queues */
	int pkt;   /* packet socket on the TAP, with virtio-net headers */
	int ifidx; /* in the namespace */
};

static int in_ns(void *arg, struct kb_err *err)
{
	struct tapenv *e = arg;
	unsigned ol = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
	int one = 1;

	for (int i = 0; i < 2; i++) {
		struct ifreq ifr = {
		        .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE};
		strcpy(ifr.ifr_name, TAP_NAME);
		if ((e->q[i] = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0 ||
		        ioctl(e->q[i], TUNSETIFF, &ifr) < 0)
			return kb_err_set(err, errno, "TAP queue %d: %s", i, strerror(errno));
	}
	if (ioctl(e->q[0], TUNSETOFFLOAD, ol) < 0)
		return kb_err_set(err, errno, "TUNSETOFFLOAD: %s", strerror(errno));
	if ((e->ifidx = (int)if_nametoindex(TAP_NAME)) <= 0)
		return kb_err_set(err, ENODEV, "no %s", TAP_NAME);
	e->pkt = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (e->pkt < 0 || setsockopt(e->pkt, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0)
		return kb_err_set(err, errno, "packet socket: %s", strerror(errno));
	struct sockaddr_ll sll = {
	        .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = e->ifidx};
	if (bind(e->pkt, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return kb_err_set(err, errno, "bind: %s", strerror(errno));
	return 0;
}

static int tap_setup(void **state)
{
	static struct tapenv e;
	struct kb_err err = {0};
	int nsfd = -1;

	if (!G.have_tun) {
		*state = NULL;
		return 0;
	}
	snprintf(G.ns, sizeof(G.ns), "kbtapu%d", (int)getpid());
	snprintf(G.nspath, sizeof(G.nspath), "/run/netns/%s", G.ns);
	/* No IPv6: no router solicitation or ND frame on the TAP, the counts stay exact. */
	if (sh("ip netns add %s && ip netns exec %s sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "
	       "net.ipv6.conf.default.disable_ipv6=1",
	            G.ns, G.ns))
		return -1;
	e = (struct tapenv){.q = {-1, -1}, .pkt = -1};
	if (netns_open(G.nspath, &nsfd, &err) < 0 || netns_call(nsfd, in_ns, &e, &err) < 0) {
		fprintf(stderr, "TAP in %s: %s\n", G.ns, err.msg);
		return -1;
	}
	close(nsfd);
	if (sh("ip -n %s link set %s up", G.ns, TAP_NAME))
		return -1;
	/* Bound while the TAP was down: the socket holds an ENETDOWN for its next call. */
	getsockopt(e.pkt, SOL_SOCKET, SO_ERROR, &(int){0}, &(socklen_t){sizeof(int)});
	*state = &e;
	return 0;
}

static int tap_teardown(void **state)
{
	struct tapenv *e = *state;

	if (!e)
		return 0;
	close(e->pkt);
	close(e->q[0]);
	close(e->q[1]);
	sh("ip netns del %s", G.ns);
	return 0;
}

static void need_tap(void **state)
{
	if (!*state) {
		fprintf(stderr, "SKIP: no /dev/net/tun or not root: TAP cases not run\n");
		skip();
	}
}

/* The kernel sends a 64 KB TSO frame (and a small one) through the TAP: the port reads each
 * whole, on whichever queue the TAP put it. */
static void test_tap_rx_tso(void **state)
{
	static uint8_t f[BIG], pkt[BIG + HDR];
	struct tapenv *e = *state;

	need_tap(state);
	for (unsigned k = 0; k < 2; k++) {
		struct virtio_net_hdr h = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		        .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		        .gso_size = 1448,
		        .hdr_len = 54,
		        .csum_start = 34,
		        .csum_offset = 16};
		struct virtio_net_hdr h0 = {0};
		struct rte_mbuf *m[4] = {0};
		uint64_t nomem = 0, runt = 0;
		struct kb_err err = {0};
		struct fp_tap *t;
		unsigned len = tcp4_frame(f, 65000), got = 0;

		if (fp_tap_create(e->q, 2, ios[k], BIG, G.pool, &t, &err) < 0)
			fail_msg("fp_tap_create: %s", err.msg);
		memcpy(pkt, &h, HDR);
		memcpy(pkt + HDR, f, len);
		assert_int_equal(send(e->pkt, pkt, HDR + len, 0), (ssize_t)(HDR + len));
		memcpy(pkt, &h0, HDR);
		assert_int_equal(send(e->pkt, pkt, HDR + 100, 0), (ssize_t)(HDR + 100));
		for (int i = 0; i < 50 && got < 2; i++)
			for (uint16_t q = 0; q < 2; q++)
				got += fp_tap_rx(
				        t, q, 0, m + got, (uint16_t)(2 - got), &nomem, &runt);
		assert_int_equal(got, 2);
		assert_int_equal(nomem + runt, 0);
		/* The TSO frame came whole (one read of 65,054 bytes, 32 mbufs). */
		struct rte_mbuf *big = m[0]->pkt_len > m[1]->pkt_len ? m[0] : m[1];
		struct rte_mbuf *small = big == m[0] ? m[1] : m[0];
		assert_int_equal(big->ol_flags, RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_NONE);
		assert_int_equal(big->tso_segsz, 1448);
		assert_int_equal(big->nb_segs, 32);
		assert_chain(big, f, len);
		assert_int_equal(small->ol_flags, 0);
		assert_int_equal(small->pkt_len, 100);
		rte_pktmbuf_free(m[0]);
		rte_pktmbuf_free(m[1]);
		fp_tap_destroy(t);
		assert_pool(0);
	}
}

/* Receive what the kernel got on the TAP (skipping the socket's own transmissions). */
static ssize_t pkt_recv(int fd, struct virtio_net_hdr *h, uint8_t *f, unsigned cap)
{
	for (int i = 0; i < 200; i++) {
		struct iovec iov[2] = {{h, HDR}, {f, cap}};
		struct sockaddr_ll sll;
		struct msghdr msg = {.msg_name = &sll,
		        .msg_namelen = sizeof(sll),
		        .msg_iov = iov,
		        .msg_iovlen = 2};
		ssize_t r = recvmsg(fd, &msg, 0);
		if (r < 0 && errno == EAGAIN) {
			usleep(5000);
			continue;
		}
		if (r < 0)
			return -errno;
		if (sll.sll_pkttype == PACKET_OUTGOING)
			continue;
		return r - (ssize_t)HDR;
	}
	return -ETIMEDOUT;
}

/* The port writes a 60 KB TSO frame: the kernel receives one GSO packet with its MSS. */
static void test_tap_tx_tso(void **state)
{
	static uint8_t f[BIG], g[BIG];
	struct tapenv *e = *state;

	need_tap(state);
	for (unsigned k = 0; k < 2; k++) {
		struct virtio_net_hdr h;
		struct rte_mbuf *m;
		struct kb_err err = {0};
		uint64_t bytes = 0;
		uint16_t down = 0;
		struct fp_tap *t;
		unsigned len = tcp4_frame(f, 60000);

		if (fp_tap_create(e->q, 2, ios[k], BIG, G.pool, &t, &err) < 0)
			fail_msg("fp_tap_create: %s", err.msg);
		m = chain(f, len, 2048);
		m->ol_flags = RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
		m->l2_len = 14;
		m->l3_len = 20;
		m->l4_len = 20;
		m->tso_segsz = 1400;
		assert_int_equal(fp_tap_tx(t, 1, &m, 1, &bytes, &down), 1);
		assert_int_equal(bytes, len);
		rte_pktmbuf_free(m);
		assert_int_equal(pkt_recv(e->pkt, &h, g, sizeof(g)), (ssize_t)len);
		assert_int_equal(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
		assert_int_equal(h.gso_size, 1400);
		assert_true(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
		assert_memory_equal(g + 34, f + 34, len - 34);
		fp_tap_destroy(t);
		assert_pool(0);
	}
}

/* Writes to a TAP that is down fail with EIO: counted as `down`, not sent. */
static void test_tap_tx_down(void **state)
{
	static uint8_t f[256];
	struct tapenv *e = *state;

	need_tap(state);
	assert_int_equal(sh("ip -n %s link set %s down", G.ns, TAP_NAME), 0);
	for (unsigned k = 0; k < 2; k++) {
		struct rte_mbuf *m[3];
		struct kb_err err = {0};
		uint64_t bytes = 0;
		uint16_t down = 0;
		struct fp_tap *t;
		unsigned len = tcp4_frame(f, 100);

		if (fp_tap_create(e->q, 2, ios[k], BIG, G.pool, &t, &err) < 0)
			fail_msg("fp_tap_create: %s", err.msg);
		for (int i = 0; i < 3; i++)
			m[i] = chain(f, len, 2048);
		assert_int_equal(fp_tap_tx(t, 0, m, 3, &bytes, &down), 0);
		assert_int_equal(down, 3);
		assert_int_equal(bytes, 0);
		for (int i = 0; i < 3; i++)
			rte_pktmbuf_free(m[i]);
		fp_tap_destroy(t);
	}
	assert_int_equal(sh("ip -n %s link set %s up", G.ns, TAP_NAME), 0);
	assert_pool(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_rx_flags),
	        cmocka_unit_test(test_rx_short_and_long),
	        cmocka_unit_test(test_rx_nomem),
	        cmocka_unit_test(test_tx_header),
	        cmocka_unit_test(test_tx_too_many_segments),
	        cmocka_unit_test(test_create_refuses),
	        cmocka_unit_test_setup_teardown(test_tap_rx_tso, tap_setup, tap_teardown),
	        cmocka_unit_test_setup_teardown(test_tap_tx_tso, tap_setup, tap_teardown),
	        cmocka_unit_test_setup_teardown(test_tap_tx_down, tap_setup, tap_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
