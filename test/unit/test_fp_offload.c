/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: the fast path's offload classification (fp_offload): header parse of a pod's
 * frame, bounds, and the TX flags a destination needs. Frames are copied into buffers of
 * exactly the readable length, so that the sanitizer build catches any read past them. */
// LDFLAGS: -isystem /usr/include/dpdk -isystem /usr/include/x86_64-linux-gnu/dpdk
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* DPDK's flag definitions only (its build configuration first, as its pkg-config does). */
#include <rte_config.h>
#include <rte_mbuf_core.h>

#include "agent/fastpath/fp_offload.h"

#define GSO  (RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_NONE)
#define CSUM RTE_MBUF_F_RX_L4_CKSUM_NONE

static uint8_t frame[FP_OL_MAX_LEN + 64];

/* Ethernet (+ an 802.1Q tag when vlan), IPv4 or IPv6, TCP (doff words) or UDP; the IP length
 * covers `payload` bytes after the L4 header. Returns the header length. */
static unsigned build(bool vlan, bool v6, int proto, unsigned doff, unsigned payload)
{
	unsigned o = 12, l4 = proto == 6 ? doff * 4 : 8, iplen;

	memset(frame, 0, sizeof(frame));
	memset(frame, 0x02, 12);
	if (vlan) {
		frame[o++] = 0x81;
		frame[o++] = 0x00;
		frame[o++] = 0x00;
		frame[o++] = 0x64;
	}
	frame[o++] = v6 ? 0x86 : 0x08;
	frame[o++] = v6 ? 0xdd : 0x00;
	if (v6) {
		iplen = l4 + payload;
		frame[o] = 0x60;
		frame[o + 4] = iplen >> 8;
		frame[o + 5] = iplen & 0xff;
		frame[o + 6] = (uint8_t)proto;
		o += 40;
	} else {
		iplen = 20 + l4 + payload;
		frame[o] = 0x45;
		frame[o + 2] = iplen >> 8 & 0xff;
		frame[o + 3] = iplen & 0xff;
		frame[o + 6] = 0x40; /* DF */
		frame[o + 9] = (uint8_t)proto;
		o += 20;
	}
	if (proto == 6)
		frame[o + 12] = (uint8_t)(doff << 4);
	return o + l4;
}

/* Classify the first seg_len bytes of `frame` from an exact-size copy. */
static int classify(
        uint32_t seg_len, uint32_t pkt_len, uint64_t flags, uint16_t segsz, struct fp_ol_meta *m)
{
	uint8_t *copy = malloc(seg_len ? seg_len : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, frame, seg_len);
	r = fp_ol_classify(copy, seg_len, pkt_len, flags, segsz, m);
	free(copy);
	return r;
}

static void test_plain(void **state)
{
	struct fp_ol_meta m;
	unsigned h = build(false, false, 6, 5, 100);

	(void)state;
	assert_int_equal(classify(h + 100, h + 100, 0, 0, &m), FP_OL_PLAIN);
	/* A verified checksum is not a request. */
	assert_int_equal(
	        classify(h + 100, h + 100, RTE_MBUF_F_RX_L4_CKSUM_GOOD, 0, &m), FP_OL_PLAIN);
	/* Nothing is read when nothing is asked, not even a runt. */
	assert_int_equal(fp_ol_classify(NULL, 0, 0, 0, 0, &m), FP_OL_PLAIN);
}

static void test_tcp4_gso(void **state)
{
	struct fp_ol_meta m;
	unsigned h = build(false, false, 6, 5, 10000);

	(void)state;
	assert_int_equal(h, 54);
	assert_int_equal(classify(h + 10000, h + 10000, GSO, 1448, &m), FP_OL_OFFLOAD);
	assert_true(m.gso);
	assert_false(m.ipv6);
	assert_int_equal(m.l2_len, 14);
	assert_int_equal(m.l3_len, 20);
	assert_int_equal(m.l4_len, 20);
	assert_int_equal(m.segsz, 1448);
	assert_int_equal(m.n_segs, 7);
	assert_int_equal(m.wire_len, 54 + 1448);
	assert_true(m.tx_flags == (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM |
	                                  RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM));
	/* The headers alone in the first segment (the rest chained) are enough. */
	assert_int_equal(classify(h, h + 10000, GSO, 1448, &m), FP_OL_OFFLOAD);
	assert_int_equal(m.n_segs, 7);
}

static void test_tagged_options(void **state)
{
	struct fp_ol_meta m;
	unsigned h = build(true, false, 6, 8, 3000);

	(void)state;
	assert_int_equal(classify(h + 3000, h + 3000, GSO, 1000, &m), FP_OL_OFFLOAD);
	assert_int_equal(m.l2_len, 18);
	assert_int_equal(m.l4_len, 32);
	assert_int_equal(m.n_segs, 3);
	assert_int_equal(m.wire_len, 18 + 20 + 32 + 1000);
}

static void test_tcp6_gso(void **state)
{
	struct fp_ol_meta m;
	unsigned h = build(false, true, 6, 5, 4000);

	(void)state;
	assert_int_equal(classify(h + 4000, h + 4000, GSO, 1440, &m), FP_OL_OFFLOAD);
	assert_true(m.gso && m.ipv6);
	assert_int_equal(m.l3_len, 40);
	assert_int_equal(m.n_segs, 3);
	assert_true(m.tx_flags ==
	            (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IPV6));
}

static void test_csum_only(void **state)
{
	struct fp_ol_meta m;
	unsigned h = build(false, false, 17, 0, 200);

	(void)state;
	assert_int_equal(classify(h + 200, h + 200, CSUM, 0, &m), FP_OL_OFFLOAD);
	assert_false(m.gso);
	assert_int_equal(m.l4_len, 8);
	assert_int_equal(m.wire_len, h + 200);
	assert_true(m.tx_flags == (RTE_MBUF_F_TX_UDP_CKSUM | RTE_MBUF_F_TX_IPV4));
	/* Ethernet padding after the IP packet is allowed. */
	assert_int_equal(classify(h + 210, h + 210, CSUM, 0, &m), FP_OL_OFFLOAD);
	/* IPv6 TCP */
	h = build(false, true, 6, 5, 100);
	assert_int_equal(classify(h + 100, h + 100, CSUM, 0, &m), FP_OL_OFFLOAD);
	assert_true(m.tx_flags == (RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IPV6));
	/* A "GSO" frame that fits one segment is a checksum request. */
	h = build(false, false, 6, 5, 1000);
	assert_int_equal(classify(h + 1000, h + 1000, GSO, 1448, &m), FP_OL_OFFLOAD);
	assert_false(m.gso);
	assert_int_equal(m.n_segs, 1);
	assert_true(m.tx_flags == (RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IPV4));
}

/* Every first segment shorter than the headers is refused, each read bounded (ASan). */
static void test_short_first_segment(void **state)
{
	struct fp_ol_meta m;
	const struct {
		bool vlan, v6;
		int proto;
		unsigned doff;
	} shapes[] = {{false, false, 6, 5}, {true, false, 6, 15}, {false, true, 6, 5},
	        {true, true, 17, 0}, {false, false, 17, 0}};

	(void)state;
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		unsigned h =
		        build(shapes[s].vlan, shapes[s].v6, shapes[s].proto, shapes[s].doff, 3000);
		for (unsigned len = 0; len < h; len++)
			assert_int_equal(classify(len, h + 3000, CSUM, 0, &m), -EINVAL);
		assert_int_equal(classify(h, h + 3000, CSUM, 0, &m), FP_OL_OFFLOAD);
	}
}

static void test_malformed(void **state)
{
	struct fp_ol_meta m;
	unsigned h;

	(void)state;
	/* Not IP (ARP), an S-tag, IPv4 ethertype with version 6. */
	h = build(false, false, 6, 5, 100);
	frame[12] = 0x08;
	frame[13] = 0x06;
	assert_int_equal(classify(h + 100, h + 100, CSUM, 0, &m), -EINVAL);
	h = build(true, false, 6, 5, 100);
	frame[12] = 0x88;
	frame[13] = 0xa8;
	assert_int_equal(classify(h + 100, h + 100, CSUM, 0, &m), -EINVAL);
	h = build(false, false, 6, 5, 100);
	frame[14] = 0x65;
	assert_int_equal(classify(h + 100, h + 100, CSUM, 0, &m), -EINVAL);
	/* IHL below 5; IHL 15 past the segment. */
	frame[14] = 0x44;
	assert_int_equal(classify(h + 100, h + 100, CSUM, 0, &m), -EINVAL);
	frame[14] = 0x4f;
	assert_int_equal(classify(50, h + 100, CSUM, 0, &m), -EINVAL);
	/* An IPv4 fragment (MF, then an offset). */
	h = build(false, false, 6, 5, 100);
	frame[20] = 0x20;
	assert_int_equal(classify(h + 100, h + 100, CSUM, 0, &m), -EINVAL);
	frame[20] = 0x00;
	frame[21] = 0x08;
	assert_int_equal(classify(h + 100, h + 100, CSUM, 0, &m), -EINVAL);
	/* TCP data offset below 5. */
	h = build(false, false, 6, 4, 100);
	assert_int_equal(classify(h + 100, h + 100, CSUM, 0, &m), -EINVAL);
	/* IPv6 with an extension header (hop-by-hop); another L4 protocol (ICMP). */
	h = build(false, true, 0, 5, 100);
	assert_int_equal(classify(200, 200, CSUM, 0, &m), -EINVAL);
	h = build(false, false, 1, 5, 100);
	assert_int_equal(classify(200, 200, CSUM, 0, &m), -EINVAL);
	/* UDP segmentation (never negotiated). */
	h = build(false, false, 17, 0, 5000);
	assert_int_equal(classify(h + 5000, h + 5000, GSO, 1000, &m), -EINVAL);
	/* IP length past the frame, or short of the L4 header (checksum requests). */
	h = build(false, false, 6, 5, 100);
	assert_int_equal(classify(h + 99, h + 99, CSUM, 0, &m), -EINVAL);
	frame[16] = 0;
	frame[17] = 30;
	assert_int_equal(classify(h + 100, h + 100, CSUM, 0, &m), -EINVAL);
	h = build(false, true, 6, 5, 100);
	assert_int_equal(classify(h + 50, h + 50, CSUM, 0, &m), -EINVAL);
	/* A first segment longer than the frame. */
	h = build(false, false, 6, 5, 100);
	assert_int_equal(classify(h + 100, h + 50, CSUM, 0, &m), -EINVAL);
}

static void test_gso_bounds(void **state)
{
	struct fp_ol_meta m;
	unsigned h = build(false, false, 6, 5, 60000);

	(void)state;
	/* Segment size 0, below the minimum, making too many segments. */
	assert_int_equal(classify(h, h + 60000, GSO, 0, &m), -EINVAL);
	assert_int_equal(classify(h, h + 60000, GSO, FP_OL_MIN_SEGSZ - 1, &m), -EINVAL);
	assert_int_equal(classify(h, h + 60000, GSO, 400, &m), -EINVAL);
	/* 60000 / 469 = 127.9: 128 segments are allowed, 60000 / 468 needs 129. */
	assert_int_equal(classify(h, h + 60000, GSO, 469, &m), FP_OL_OFFLOAD);
	assert_int_equal(m.n_segs, FP_OL_MAX_SEGS);
	assert_int_equal(classify(h, h + 60000, GSO, 468, &m), -EINVAL);
	/* Longer than a virtio-net header can describe. */
	assert_int_equal(classify(h, FP_OL_MAX_LEN + 1, GSO, 1448, &m), -EINVAL);
	assert_int_equal(classify(h, FP_OL_MAX_LEN, GSO, 1448, &m), FP_OL_OFFLOAD);
	/* Headers + segment size must fit librte_gso's 16-bit segment size. */
	assert_int_equal(classify(h, FP_OL_MAX_LEN, GSO, 65535 - 54 + 1, &m), -EINVAL);
	assert_int_equal(classify(h, FP_OL_MAX_LEN, GSO, 65535 - 54, &m), FP_OL_OFFLOAD);
	assert_int_equal(m.n_segs, 2);
}

/* fp_ol_from_vnet on the first seg_len bytes of `frame` (an exact-size copy). */
static int from_vnet(struct fp_ol_vnet h, uint32_t seg_len, uint32_t pkt_len, struct fp_ol_meta *m,
        uint64_t *flags, uint16_t *segsz)
{
	uint8_t *copy = malloc(seg_len ? seg_len : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, frame, seg_len);
	r = fp_ol_from_vnet(&h, copy, seg_len, pkt_len, m, flags, segsz);
	free(copy);
	return r;
}

/* A pod's virtio-net header carried through (one-copy mode): what it asks for, checked. */
static void test_vnet_from(void **state)
{
	struct fp_ol_meta m;
	uint64_t f = 0;
	uint16_t sz = 0;
	unsigned h = build(false, false, 6, 5, 10000), h6;
	struct fp_ol_vnet gso4 = {FP_OL_VNET_F_CSUM, FP_OL_VNET_GSO_TCPV4, 54, 1448, 34, 16};
	struct fp_ol_vnet v;

	(void)state;
	/* Nothing asked (other flag bits ignored, as the spec wants). */
	assert_int_equal(from_vnet((struct fp_ol_vnet){0}, h, h + 10000, &m, &f, &sz), FP_OL_PLAIN);
	assert_int_equal(
	        from_vnet((struct fp_ol_vnet){.flags = 2}, h, h + 10000, &m, &f, &sz), FP_OL_PLAIN);
	/* TCP/IPv4 GSO: what rte_vhost's dequeue marks an mbuf with, and classify's answer. */
	assert_int_equal(from_vnet(gso4, h, h + 10000, &m, &f, &sz), FP_OL_OFFLOAD);
	assert_true(f == (RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_NONE));
	assert_int_equal(sz, 1448);
	assert_true(m.gso);
	assert_int_equal(m.n_segs, 7);
	assert_int_equal(m.wire_len, 54 + 1448);
	/* hdr_len is a hint: anything within the frame. */
	v = gso4;
	v.hdr_len = 0;
	assert_int_equal(from_vnet(v, h, h + 10000, &m, NULL, NULL), FP_OL_OFFLOAD);
	/* A checksum only, TCP then UDP. */
	v = (struct fp_ol_vnet){FP_OL_VNET_F_CSUM, 0, 0, 0, 34, 16};
	assert_int_equal(from_vnet(v, h + 10000, h + 10000, &m, &f, &sz), FP_OL_OFFLOAD);
	assert_false(m.gso);
	assert_true(f == RTE_MBUF_F_RX_L4_CKSUM_NONE);
	assert_int_equal(sz, 0);
	h = build(false, false, 17, 0, 100);
	v = (struct fp_ol_vnet){FP_OL_VNET_F_CSUM, 0, 0, 0, 34, 6};
	assert_int_equal(from_vnet(v, h + 100, h + 100, &m, NULL, NULL), FP_OL_OFFLOAD);
	assert_true(m.tx_flags == (RTE_MBUF_F_TX_UDP_CKSUM | RTE_MBUF_F_TX_IPV4));
	/* TCP/IPv6 GSO, tagged. */
	h6 = build(true, true, 6, 5, 5000);
	v = (struct fp_ol_vnet){FP_OL_VNET_F_CSUM, FP_OL_VNET_GSO_TCPV6, 78, 1000, 58, 16};
	assert_int_equal(from_vnet(v, h6, h6 + 5000, &m, NULL, NULL), FP_OL_OFFLOAD);
	assert_true(m.ipv6);
	assert_int_equal(m.n_segs, 5);
}

/* Hostile headers: each refused (-EINVAL, the frame dropped as drops.offload). */
static void test_vnet_hostile(void **state)
{
	struct fp_ol_meta m;
	unsigned h = build(false, false, 6, 5, 10000);
	struct fp_ol_vnet gso4 = {FP_OL_VNET_F_CSUM, FP_OL_VNET_GSO_TCPV4, 54, 1448, 34, 16};
	struct fp_ol_vnet v;

	(void)state;
	/* csum_start beyond the frame, csum_start + csum_offset past its end (and wrapping
	 * 16-bit sums), a checksum field elsewhere than the L4 header's. */
	v = gso4;
	v.csum_start = 0xffff;
	assert_int_equal(from_vnet(v, h, h + 10000, &m, NULL, NULL), -EINVAL);
	v = (struct fp_ol_vnet){FP_OL_VNET_F_CSUM, 0, 0, 0, 34, 0xfff0};
	assert_int_equal(from_vnet(v, h + 10000, h + 10000, &m, NULL, NULL), -EINVAL);
	v = (struct fp_ol_vnet){FP_OL_VNET_F_CSUM, 0, 0, 0, (uint16_t)(h + 10000 - 17), 16};
	assert_int_equal(from_vnet(v, h + 10000, h + 10000, &m, NULL, NULL), -EINVAL);
	v = (struct fp_ol_vnet){FP_OL_VNET_F_CSUM, 0, 0, 0, 14, 16};
	assert_int_equal(from_vnet(v, h + 10000, h + 10000, &m, NULL, NULL), -EINVAL);
	v = (struct fp_ol_vnet){FP_OL_VNET_F_CSUM, 0, 0, 0, 34, 6}; /* UDP's offset on TCP */
	assert_int_equal(from_vnet(v, h + 10000, h + 10000, &m, NULL, NULL), -EINVAL);
	/* gso_size 0, tiny, huge (more than 128 segments, or over 16 bits with headers). */
	v = gso4;
	v.gso_size = 0;
	assert_int_equal(from_vnet(v, h, h + 10000, &m, NULL, NULL), -EINVAL);
	v.gso_size = 1;
	assert_int_equal(from_vnet(v, h, h + 10000, &m, NULL, NULL), -EINVAL);
	v.gso_size = 65535 - 54 + 1;
	assert_int_equal(from_vnet(v, h, FP_OL_MAX_LEN, &m, NULL, NULL), -EINVAL);
	v.gso_size = 70;
	assert_int_equal(from_vnet(v, h, h + 10000, &m, NULL, NULL), -EINVAL); /* 143 segments */
	/* A size no frame reaches: one segment, a checksum request only (as classify says). */
	v.gso_size = 65535;
	assert_int_equal(from_vnet(v, h, h + 10000, &m, NULL, NULL), FP_OL_OFFLOAD);
	assert_false(m.gso);
	assert_int_equal(m.wire_len, h + 10000);
	/* hdr_len beyond the frame. */
	v = gso4;
	v.hdr_len = (uint16_t)(h + 10001);
	assert_int_equal(from_vnet(v, h, h + 10000, &m, NULL, NULL), -EINVAL);
	/* GSO types never negotiated (UDP, ECN, unknown), or for the other IP version. */
	v = gso4;
	v.gso_type = 3;
	assert_int_equal(from_vnet(v, h, h + 10000, &m, NULL, NULL), -EINVAL);
	v.gso_type = FP_OL_VNET_GSO_TCPV4 | 0x80;
	assert_int_equal(from_vnet(v, h, h + 10000, &m, NULL, NULL), -EINVAL);
	v.gso_type = 7;
	assert_int_equal(from_vnet(v, h, h + 10000, &m, NULL, NULL), -EINVAL);
	v.gso_type = FP_OL_VNET_GSO_TCPV6;
	assert_int_equal(from_vnet(v, h, h + 10000, &m, NULL, NULL), -EINVAL);
	/* Headers not all in the bytes given (a short first segment), a frame too short for
	 * its headers, longer than a header can describe. */
	assert_int_equal(from_vnet(gso4, h - 1, h + 10000, &m, NULL, NULL), -EINVAL);
	assert_int_equal(from_vnet(gso4, 40, 40, &m, NULL, NULL), -EINVAL);
	assert_int_equal(from_vnet(gso4, h, FP_OL_MAX_LEN + 1, &m, NULL, NULL), -EINVAL);
	/* Not IP, or IP without TCP/UDP. */
	frame[12] = 0x88;
	assert_int_equal(from_vnet(gso4, h, h + 10000, &m, NULL, NULL), -EINVAL);
	h = build(false, false, 1, 0, 100);
	v = (struct fp_ol_vnet){FP_OL_VNET_F_CSUM, 0, 0, 0, 34, 2};
	assert_int_equal(from_vnet(v, h + 100, h + 100, &m, NULL, NULL), -EINVAL);
}

/* The header written into a pod's receive ring from an mbuf's TX flags (rte_vhost's enqueue). */
static void test_vnet_to(void **state)
{
	struct fp_ol_vnet v;

	(void)state;
	memset(&v, 0xff, sizeof(v));
	fp_ol_to_vnet(0, 14, 20, 20, 0, &v);
	assert_int_equal(
	        v.flags | v.gso_type | v.hdr_len | v.gso_size | v.csum_start | v.csum_offset, 0);
	fp_ol_to_vnet(RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IPV4 |
	                      RTE_MBUF_F_TX_IP_CKSUM,
	        14, 20, 32, 1448, &v);
	assert_int_equal(v.flags, FP_OL_VNET_F_CSUM);
	assert_int_equal(v.gso_type, FP_OL_VNET_GSO_TCPV4);
	assert_int_equal(v.hdr_len, 66);
	assert_int_equal(v.gso_size, 1448);
	assert_int_equal(v.csum_start, 34);
	assert_int_equal(v.csum_offset, 16);
	fp_ol_to_vnet(RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV6, 18, 40, 20, 1000, &v);
	assert_int_equal(v.gso_type, FP_OL_VNET_GSO_TCPV6);
	assert_int_equal(v.csum_start, 58);
	assert_int_equal(v.csum_offset, 16);
	fp_ol_to_vnet(RTE_MBUF_F_TX_UDP_CKSUM | RTE_MBUF_F_TX_IPV4, 14, 20, 8, 0, &v);
	assert_int_equal(v.flags, FP_OL_VNET_F_CSUM);
	assert_int_equal(v.gso_type, 0);
	assert_int_equal(v.gso_size, 0);
	assert_int_equal(v.hdr_len, 0);
	assert_int_equal(v.csum_offset, 6);
}

/* What the one-copy path does: the header a pod sent, checked, then rewritten for the
 * destination, says the same. */
static void test_vnet_roundtrip(void **state)
{
	struct fp_ol_meta m;
	unsigned h = build(false, false, 6, 5, 10000);
	struct fp_ol_vnet in = {FP_OL_VNET_F_CSUM, FP_OL_VNET_GSO_TCPV4, 54, 1448, 34, 16}, out;

	(void)state;
	assert_int_equal(from_vnet(in, h, h + 10000, &m, NULL, NULL), FP_OL_OFFLOAD);
	fp_ol_to_vnet(m.tx_flags, m.l2_len, m.l3_len, m.l4_len, m.segsz, &out);
	assert_memory_equal(&in, &out, sizeof(in));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_plain),
	        cmocka_unit_test(test_tcp4_gso),
	        cmocka_unit_test(test_tagged_options),
	        cmocka_unit_test(test_tcp6_gso),
	        cmocka_unit_test(test_csum_only),
	        cmocka_unit_test(test_short_first_segment),
	        cmocka_unit_test(test_malformed),
	        cmocka_unit_test(test_gso_bounds),
	        cmocka_unit_test(test_vnet_from),
	        cmocka_unit_test(test_vnet_hostile),
	        cmocka_unit_test(test_vnet_to),
	        cmocka_unit_test(test_vnet_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
