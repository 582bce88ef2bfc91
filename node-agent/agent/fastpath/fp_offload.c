/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/fastpath/fp_offload.h"
#include "agent/fastpath/fp_switch.h"

#include <errno.h>

/* Only the flag definitions (no code, no EAL). */
#include <rte_mbuf_core.h>

#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86dd
#define PROTO_TCP  6
#define PROTO_UDP  17

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

int fp_ol_classify(const uint8_t *f, uint32_t seg_len, uint32_t pkt_len, uint64_t rx_flags,
        uint16_t rx_segsz, struct fp_ol_meta *ret)
{
	bool gso = rx_flags & RTE_MBUF_F_RX_LRO;
	bool csum = (rx_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_NONE;
	uint32_t l2, l3, l4, hdrs, ip_end;
	uint16_t type;
	uint8_t proto;
	const uint8_t *ip, *l4h;
	struct fp_ol_meta m = {0};

	if (!gso && !csum)
		return FP_OL_PLAIN;
	/* The headers must all be in the first segment: the switch and the segmentation write
	 * there, and a first segment shorter than the frame's own length claim is a lie. */
	if (seg_len > pkt_len || pkt_len > FP_OL_MAX_LEN)
		return -EINVAL;
	if (seg_len < FP_ETH_HLEN)
		return -EINVAL;
	l2 = FP_ETH_HLEN;
	type = be16(f + 12);
	if (type == FP_ETH_P_8021Q) {
		if (seg_len < FP_ETH_HLEN + FP_VLAN_HLEN)
			return -EINVAL;
		l2 += FP_VLAN_HLEN;
		type = be16(f + 16);
	}
	ip = f + l2;
	if (type == ETH_P_IPV4) {
		uint16_t tot, frag;
		if (seg_len < l2 + 20 || (ip[0] >> 4) != 4 || (ip[0] & 0xf) < 5)
			return -EINVAL;
		l3 = (uint32_t)(ip[0] & 0xf) * 4;
		if (seg_len < l2 + l3)
			return -EINVAL;
		tot = be16(ip + 2);
		frag = be16(ip + 6);
		/* A fragment's L4 header is not where the offset says, or not there at all. */
		if (frag & 0x3fff)
			return -EINVAL;
		proto = ip[9];
		ip_end = l2 + tot;
		m.ipv6 = false;
	} else if (type == ETH_P_IPV6) {
		if (seg_len < l2 + 40 || (ip[0] >> 4) != 6)
			return -EINVAL;
		l3 = 40;
		/* No extension headers: the next header must be the L4 one. */
		proto = ip[6];
		ip_end = l2 + 40 + be16(ip + 4);
		m.ipv6 = true;
	} else {
		return -EINVAL;
	}
	l4h = f + l2 + l3;
	if (proto == PROTO_TCP) {
		if (seg_len < l2 + l3 + 20)
			return -EINVAL;
		l4 = (uint32_t)(l4h[12] >> 4) * 4;
		if (l4 < 20 || seg_len < l2 + l3 + l4)
			return -EINVAL;
	} else if (proto == PROTO_UDP && !gso) {
		/* UDP segmentation (UFO) is never negotiated. */
		l4 = 8;
		if (seg_len < l2 + l3 + l4)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	hdrs = l2 + l3 + l4;
	m.l2_len = (uint16_t)l2;
	m.l3_len = (uint16_t)l3;
	m.l4_len = (uint16_t)l4;
	m.n_segs = 1;
	m.wire_len = pkt_len;
	if (gso && pkt_len > hdrs + rx_segsz) {
		uint32_t payload = pkt_len - hdrs;
		/* librte_gso takes the segment size with headers in 16 bits. */
		if (rx_segsz < FP_OL_MIN_SEGSZ || hdrs + rx_segsz > UINT16_MAX ||
		        (payload + rx_segsz - 1) / rx_segsz > FP_OL_MAX_SEGS)
			return -EINVAL;
		m.gso = true;
		m.segsz = rx_segsz;
		m.n_segs = (uint16_t)((payload + rx_segsz - 1) / rx_segsz);
		m.wire_len = hdrs + rx_segsz;
		m.tx_flags = RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM;
	} else {
		/* A partial checksum (or a "GSO" frame that fits one segment): the IP packet's
		 * own length says where the checksummed bytes end; it must be inside the frame
		 * and cover the L4 header. */
		if (ip_end > pkt_len || ip_end < hdrs)
			return -EINVAL;
		m.tx_flags = proto == PROTO_TCP ? RTE_MBUF_F_TX_TCP_CKSUM : RTE_MBUF_F_TX_UDP_CKSUM;
	}
	if (m.ipv6)
		m.tx_flags |= RTE_MBUF_F_TX_IPV6;
	else
		/* Segments get new IP lengths: their header checksums are recomputed. */
		m.tx_flags |= RTE_MBUF_F_TX_IPV4 | (m.gso ? RTE_MBUF_F_TX_IP_CKSUM : 0);
	*ret = m;
	return FP_OL_OFFLOAD;
}

int fp_ol_from_vnet(const struct fp_ol_vnet *h, const uint8_t *f, uint32_t seg_len,
        uint32_t pkt_len, struct fp_ol_meta *ret, uint64_t *rx_flags, uint16_t *rx_segsz)
{
	bool csum = h->flags & FP_OL_VNET_F_CSUM;
	bool gso = h->gso_type != FP_OL_VNET_GSO_NONE;
	uint64_t flags;
	struct fp_ol_meta m;
	int r;

	if (!csum && !gso)
		return FP_OL_PLAIN;
	if (gso && ((h->gso_type != FP_OL_VNET_GSO_TCPV4 && h->gso_type != FP_OL_VNET_GSO_TCPV6) ||
	                   h->gso_size == 0))
		return -EINVAL;
	if (h->hdr_len > pkt_len)
		return -EINVAL;
	/* 32-bit sums of 16-bit fields: no wrap. */
	if (csum && (uint32_t)h->csum_start + h->csum_offset + 2 > pkt_len)
		return -EINVAL;
	flags = RTE_MBUF_F_RX_L4_CKSUM_NONE | (gso ? RTE_MBUF_F_RX_LRO : 0);
	r = fp_ol_classify(f, seg_len, pkt_len, flags, gso ? h->gso_size : 0, &m);
	if (r != FP_OL_OFFLOAD)
		return r < 0 ? r : -EINVAL;
	if (gso && m.ipv6 != (h->gso_type == FP_OL_VNET_GSO_TCPV6))
		return -EINVAL;
	if (csum && (h->csum_start != m.l2_len + m.l3_len ||
	                    h->csum_offset !=
	                            ((m.tx_flags & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_UDP_CKSUM
	                                            ? 6
	                                            : 16)))
		return -EINVAL;
	if (rx_flags)
		*rx_flags = flags;
	if (rx_segsz)
		*rx_segsz = gso ? h->gso_size : 0;
	*ret = m;
	return FP_OL_OFFLOAD;
}

void fp_ol_to_vnet(uint64_t tx_flags, uint16_t l2_len, uint16_t l3_len, uint16_t l4_len,
        uint16_t tso_segsz, struct fp_ol_vnet *h)
{
	uint64_t l4 = tx_flags & RTE_MBUF_F_TX_L4_MASK;

	*h = (struct fp_ol_vnet){0};
	if (tx_flags & RTE_MBUF_F_TX_TCP_SEG)
		l4 = RTE_MBUF_F_TX_TCP_CKSUM;
	if (l4 == RTE_MBUF_F_TX_TCP_CKSUM || l4 == RTE_MBUF_F_TX_UDP_CKSUM) {
		h->flags = FP_OL_VNET_F_CSUM;
		h->csum_start = l2_len + l3_len;
		h->csum_offset = l4 == RTE_MBUF_F_TX_TCP_CKSUM ? 16 : 6;
	}
	if (tx_flags & RTE_MBUF_F_TX_TCP_SEG) {
		h->gso_type =
		        tx_flags & RTE_MBUF_F_TX_IPV6 ? FP_OL_VNET_GSO_TCPV6 : FP_OL_VNET_GSO_TCPV4;
		h->gso_size = tso_segsz;
		h->hdr_len = l2_len + l3_len + l4_len;
	}
}
