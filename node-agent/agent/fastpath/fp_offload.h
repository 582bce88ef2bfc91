/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Offloads between pods (checksum and TCP segmentation): what a frame from a pod asks for, as
 * rte_vhost marks it, turned into what the next hop needs to be told.
 *
 * rte_vhost (with RTE_VHOST_USER_NET_COMPLIANT_OL_FLAGS) marks a guest's GSO frame with RX
 * flags (RTE_MBUF_F_RX_LRO + tso_segsz) and a partial checksum with RX_L4_CKSUM_NONE; its
 * enqueue, and a PMD's transmit, act on TX flags with l2/l3/l4_len set. fp_ol_classify() reads
 * the frame's headers (a pod's frame is hostile: every read is bounded by the bytes the first
 * segment holds) and gives the TX flags and header lengths, or says the request is malformed.
 * Pure function: no EAL needed (unit tested, test/unit/test_fp_offload.c).
 */
#ifndef KB_FP_OFFLOAD_H
#define KB_FP_OFFLOAD_H

#include <stdbool.h>
#include <stdint.h>

/* Longest GSO frame accepted from a pod (what a virtio-net header can describe: 64 KiB of IP
 * packet plus an Ethernet header and a tag). */
#define FP_OL_MAX_LEN (65535 + 18)
/* Most segments one GSO frame may turn into: bounds the work per frame and the output array
 * of the software segmentation (a 64 KiB frame with a 536-byte MSS makes 123). */
#define FP_OL_MAX_SEGS 128
/* Smallest segment payload accepted (tso_segsz): smaller ones only multiply segments. */
#define FP_OL_MIN_SEGSZ 64

/* What a destination can take as is (per port, from its negotiated virtio features or the
 * uplink PMD's transmit offloads). */
#define FP_OL_CAP_CSUM 0x1 /* partial TCP/UDP checksums (VIRTIO_NET_F_GUEST_CSUM) */
#define FP_OL_CAP_TSO4 0x2 /* whole TCP/IPv4 GSO frames (GUEST_TSO4) */
#define FP_OL_CAP_TSO6 0x4 /* whole TCP/IPv6 GSO frames (GUEST_TSO6) */

struct fp_ol_meta {
	uint64_t tx_flags; /* RTE_MBUF_F_TX_*: what the mbuf must carry */
	uint16_t l2_len, l3_len, l4_len;
	uint16_t segsz;    /* TCP payload per segment (GSO frames), else 0 */
	uint32_t wire_len; /* longest frame that goes on a wire: headers + segsz for GSO */
	uint16_t n_segs;   /* segments a GSO frame makes, else 1 */
	bool gso;
	bool ipv6;
};

enum fp_ol_result {
	FP_OL_PLAIN = 0,   /* nothing asked: forward as is */
	FP_OL_OFFLOAD = 1, /* *ret filled */
};

/*
 * frame: the first segment's data (seg_len bytes readable); pkt_len: the whole frame's
 * length; rx_flags/rx_segsz: the mbuf's ol_flags and tso_segsz from rte_vhost. Returns
 * FP_OL_PLAIN, FP_OL_OFFLOAD, or -EINVAL when the frame asks for an offload its headers do not
 * support (no IPv4/IPv6 + TCP/UDP within the first segment, IPv6 extension headers, an IPv4
 * fragment, lengths that disagree, a GSO that is not TCP, too many or too small segments):
 * such a frame must be dropped, since nobody downstream would complete it correctly.
 */
int fp_ol_classify(const uint8_t *frame, uint32_t seg_len, uint32_t pkt_len, uint64_t rx_flags,
        uint16_t rx_segsz, struct fp_ol_meta *ret);

/* The virtio-net header (virtio 1.x, little-endian host; num_buffers, when there is one, is
 * not part of it). One-copy mode reads it from a pod's transmit ring and writes it into a
 * pod's receive ring itself (fp_vring), where rte_vhost would otherwise. */
struct fp_ol_vnet {
	uint8_t flags; /* FP_OL_VNET_F_* */
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};
#define FP_OL_VNET_LEN 10
_Static_assert(sizeof(struct fp_ol_vnet) == FP_OL_VNET_LEN, "virtio_net_hdr layout");
#define FP_OL_VNET_F_CSUM    1 /* VIRTIO_NET_HDR_F_NEEDS_CSUM */
#define FP_OL_VNET_GSO_NONE  0
#define FP_OL_VNET_GSO_TCPV4 1
#define FP_OL_VNET_GSO_TCPV6 4
/* Longest header span fp_ol_classify accepts: Ethernet + tag, IPv4 with options, TCP with
 * options. A copy of a frame's first FP_OL_MAX_HDRS bytes holds every header it reads. */
#define FP_OL_MAX_HDRS (18 + 60 + 60)

/*
 * What a pod's virtio-net header asks for, checked against the frame (its first seg_len
 * bytes readable, pkt_len in all) the way fp_ol_classify checks rte_vhost's RX flags: only
 * NEEDS_CSUM and TCPV4/TCPV6 GSO (others bits of flags are ignored, as the spec wants; ECN,
 * UDP and unknown GSO types are -EINVAL), gso_size non-zero, hdr_len and csum_start +
 * csum_offset + 2 within the frame, csum_start at the L4 header and csum_offset at its
 * checksum field, the GSO type matching the IP version. Returns FP_OL_PLAIN (nothing asked),
 * FP_OL_OFFLOAD (ret as fp_ol_classify fills it) or -EINVAL. rx_flags and rx_segsz (may be
 * NULL) get what rte_vhost's dequeue would have marked an mbuf with, for the mbuf path.
 */
int fp_ol_from_vnet(const struct fp_ol_vnet *h, const uint8_t *frame, uint32_t seg_len,
        uint32_t pkt_len, struct fp_ol_meta *ret, uint64_t *rx_flags, uint16_t *rx_segsz);

/* The virtio-net header rte_vhost's enqueue writes for an mbuf's TX flags and lengths
 * (NEEDS_CSUM with csum_start/offset for an L4 checksum or TSO; GSO type, size and hdr_len
 * for TSO; zero otherwise). */
void fp_ol_to_vnet(uint64_t tx_flags, uint16_t l2_len, uint16_t l3_len, uint16_t l4_len,
        uint16_t tso_segsz, struct fp_ol_vnet *h);

#endif
