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

#endif
