/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Split virtqueues walked by the switch itself (copyMode: one): the pod's transmit ring read,
 * a destination pod's receive ring written, with one copy between them. No DPDK here, so the
 * unit tests and the fuzzer feed it fake guest memory.
 *
 * Everything in guest memory is untrusted and may change under us: the available index is
 * read once per burst, each avail entry and descriptor once, every guest address and length
 * is checked against the memory table before use, and chains are bounded by the ring size
 * and FP_VR_MAX_SEGS (a loop ends there). Only bytes of the frame a pod sent are copied out
 * of its memory. Packed rings, indirect descriptors and event indexes are not implemented:
 * the agent masks those features (fp_onecopy), and a descriptor with F_INDIRECT is refused.
 */
#ifndef KB_FP_VRING_H
#define KB_FP_VRING_H

#include <stdbool.h>
#include <stdint.h>

#define FP_VR_MAX_REGIONS          8  /* vhost-user's memory table limit */
#define FP_VR_MAX_SEGS             64 /* descriptors of one chain, buffers of one frame */
#define FP_VR_MAX_SIZE             32768
#define FP_VR_VNET_LEN             10 /* virtio_net_hdr without num_buffers */

#define FP_VR_DESC_F_NEXT          1
#define FP_VR_DESC_F_WRITE         2
#define FP_VR_DESC_F_INDIRECT      4
#define FP_VR_AVAIL_F_NO_INTERRUPT 1
#define FP_VR_USED_F_NO_NOTIFY     1 /* used->flags: the device does not want kicks */

/* The split ring's layout (virtio 1.x, little-endian host). */
struct fp_vr_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
struct fp_vr_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};
struct fp_vr_used_elem {
	uint32_t id;
	uint32_t len;
};
struct fp_vr_used {
	uint16_t flags;
	uint16_t idx;
	struct fp_vr_used_elem ring[];
};

/* Guest physical range -> our mapping of it. */
struct fp_vr_region {
	uint64_t gpa, size, hva;
};
struct fp_vr_mem {
	uint32_t n;
	struct fp_vr_region r[FP_VR_MAX_REGIONS];
};

struct fp_vr_ring {
	struct fp_vr_desc *desc;
	struct fp_vr_avail *avail;
	struct fp_vr_used *used;
	uint16_t size, mask;
	uint16_t last_avail; /* next avail entry we take */
	uint16_t last_used;  /* next used entry we write (published by fp_vr_publish) */
	uint16_t avail_end;  /* the avail index read at the start of the burst */
	uint16_t pub_used;   /* the used index the guest was last shown */
	bool broken;         /* the guest moved its avail index by more than the ring size */
};

struct fp_vr_iov {
	uint8_t *base;
	uint32_t len;
};

/* One descriptor chain, translated. */
struct fp_vr_chain {
	uint16_t head;
	uint16_t n;   /* iov entries (zero-length descriptors skipped) */
	uint32_t len; /* bytes in iov */
	struct fp_vr_iov iov[FP_VR_MAX_SEGS];
};

/* Our mapping of [gpa, gpa + len) when it lies inside one region, else NULL. */
uint8_t *fp_vr_translate(const struct fp_vr_mem *m, uint64_t gpa, uint64_t len);

/* Set up a ring (size a power of two up to FP_VR_MAX_SIZE); indexes from rte_vhost. */
int fp_vr_init(struct fp_vr_ring *r, void *desc, void *avail, void *used, uint16_t size,
        uint16_t last_avail, uint16_t last_used);

/* Read the avail index once: the number of chains the guest offers (0 for a broken ring). */
uint16_t fp_vr_begin(struct fp_vr_ring *r);

/* The chain at avail position last_avail + i (i < what fp_vr_begin returned). `write`: the
 * receive side (descriptors must be device-writable; the walk stops once `max` bytes are
 * collected); else the transmit side (read-only descriptors, more than `max` bytes is
 * -EMSGSIZE). c->head is set even on failure (the chain is still returned to the guest).
 * -EINVAL (bad head/next/flags), -ENOTSUP (indirect), -ELOOP (too long), -EFAULT (address). */
int fp_vr_chain(const struct fp_vr_mem *m, const struct fp_vr_ring *r, uint16_t i, bool write,
        uint32_t max, struct fp_vr_chain *c);

/* Prefetch hints for the next n chains (at most 64): their avail entries' descriptors, then
 * the buffers the first descriptors point to (for writing when `write`), and the next used
 * entry; the misses overlap instead of coming one dependent chain at a time. Reads nothing
 * that the walk relies on later; addresses are checked as in a walk. */
void fp_vr_prefetch(const struct fp_vr_mem *m, const struct fp_vr_ring *r, uint16_t n, bool write);

/* Transmit side: hand n chains back (used entries of length 0, in avail order). */
void fp_vr_tx_done(struct fp_vr_ring *r, const struct fp_vr_chain *c, uint16_t n);
/* The same for one chain known by its head. */
void fp_vr_tx_done_head(struct fp_vr_ring *r, uint16_t head);

/* Copy len bytes from offset off of a gather list into dst. Returns the bytes copied. */
uint32_t fp_vr_copy_out(
        const struct fp_vr_iov *iov, uint16_t n, uint32_t off, void *dst, uint32_t len);

/* A gather list of `head` followed by the chain's bytes from offset off: out[] has room for
 * FP_VR_MAX_SEGS + 1 entries. Returns the entries written. The switch decides on a copy of a
 * frame's first bytes and sends that copy (a pod rewriting its buffer after the decision
 * cannot change what it was decided on: source MAC, VLAN tag). */
uint16_t fp_vr_splice(const struct fp_vr_iov *head, const struct fp_vr_chain *c, uint32_t off,
        struct fp_vr_iov *out);

/* Receive side: one frame (gather list src, `len` bytes from offset `off`) into the ring,
 * after a virtio-net header of hdr_len bytes (10 or 12): its first 10 bytes from `vnet`
 * (the switch's, never the sender's own bytes) or zero when NULL, then num_buffers.
 * mrg: mergeable buffers (several chains, num_buffers says how many); else one chain must
 * hold it. The first descriptor of each chain must hold the header. Nothing is taken from
 * the ring on failure: -ENOSPC (no more buffers), -EMSGSIZE (too large without mrg),
 * -EINVAL/-EFAULT/-ELOOP/-ENOTSUP (a bad chain). Call fp_vr_begin first in each burst. */
int fp_vr_rx_put(const struct fp_vr_mem *m, struct fp_vr_ring *r, uint16_t hdr_len, bool mrg,
        const void *vnet, const struct fp_vr_iov *src, uint16_t n_src, uint32_t off, uint32_t len);

/* Make the used entries written so far visible to the guest. Returns true when it wants an
 * interrupt (no VRING_AVAIL_F_NO_INTERRUPT; event indexes are not negotiated). */
bool fp_vr_publish(struct fp_vr_ring *r);

/* Ask the guest to kick after it posts buffers (on), or not (off: we poll), through
 * VRING_USED_F_NO_NOTIFY (event indexes are not negotiated). A caller that will sleep after
 * turning it on must order the store before its next read of the avail index. */
void fp_vr_set_notify(struct fp_vr_ring *r, bool on);

#endif
