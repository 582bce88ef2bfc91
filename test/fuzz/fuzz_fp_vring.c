/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one-copy ring code (agent/fastpath/fp_vring.[ch], DPDK-free) on hostile guest memory.
 * Two pods' memories (4 KiB each, malloc'd at exactly that size, so any access outside them
 * is caught) are filled from the input: their descriptor tables, avail rings and buffers are
 * whatever the fuzzer writes. Header: ring size (log2, 1..64), flags (mergeable, 10/12-byte
 * header), the source's and destination's last_avail (8 bytes in all). Then the burst is
 * run: every chain the source offers is walked, copied into the destination's ring, and
 * handed back. Checks: a chain's bytes lie inside its pod's memory, a published used index
 * moved by at most the ring size, a copy-out returns exactly the chain's bytes, a spliced
 * list (the switch's header copy + the rest) has exactly the frame's length. The chain's own
 * virtio-net header goes through the one-copy offload check (fp_ol_from_vnet) as the worker
 * does it; an accepted one is written back (fp_ol_to_vnet) into the destination's ring.
 */
#include "fuzz.h"

#include "agent/fastpath/fp_offload.h"
#include "agent/fastpath/fp_vring.h"

#define MEM   4096
#define GPA_S 0x10000ULL
#define GPA_D 0x40000ULL

static bool inside(const uint8_t *p, uint32_t len, const uint8_t *mem)
{
	return p >= mem && len <= MEM && (size_t)(p - mem) <= MEM - len;
}

/* The one-copy offload check (fp_ol_from_vnet) on a chain's frame: true when it is sent with
 * a virtio-net header (*out) and *hl bytes of headers from eth[]. Checks what the worker
 * relies on: every header within the copy and the frame, the checksum field within the frame,
 * the segments bounded, the header written back saying what the pod's said. */
static bool offload(const struct fp_ol_vnet *vh, const struct fp_vr_chain *c, uint16_t hdr,
        uint8_t *eth, struct fp_ol_vnet *out, uint32_t *hl)
{
	uint32_t len = c->len - hdr, n = len < FP_OL_MAX_HDRS ? len : FP_OL_MAX_HDRS, hdrs;
	struct fp_ol_meta m;
	uint64_t f = 0;
	uint16_t sz = 0;
	int r;

	if (fp_vr_copy_out(c->iov, c->n, hdr, eth, n) != n)
		abort();
	r = fp_ol_from_vnet(vh, eth, n, len, &m, &f, &sz);
	if (r != FP_OL_OFFLOAD)
		return false;
	hdrs = (uint32_t)m.l2_len + m.l3_len + m.l4_len;
	if (hdrs > n || hdrs > len || m.wire_len > len ||
	        (m.gso && (m.segsz < FP_OL_MIN_SEGSZ || m.n_segs > FP_OL_MAX_SEGS)))
		abort();
	if ((vh->flags & FP_OL_VNET_F_CSUM) && (uint32_t)vh->csum_start + vh->csum_offset + 2 > len)
		abort();
	fp_ol_to_vnet(m.tx_flags, m.l2_len, m.l3_len, m.l4_len, m.segsz, out);
	if (!(out->flags & FP_OL_VNET_F_CSUM) || out->csum_start + out->csum_offset + 2u > len)
		abort();
	if ((vh->flags & FP_OL_VNET_F_CSUM) &&
	        (out->csum_start != vh->csum_start || out->csum_offset != vh->csum_offset))
		abort();
	if (m.gso && (out->gso_type != vh->gso_type || out->gso_size != vh->gso_size))
		abort();
	*hl = hdrs;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *src, *dst, frame[MEM];
	struct fp_vr_mem ms = {1, {{GPA_S, MEM, 0}}}, md = {2, {{GPA_D, MEM / 2, 0}, {0}}};
	struct fp_vr_ring rs, rd;
	struct fp_vr_chain c;
	uint16_t rsize, hdr, n, sa, da;
	size_t plen;
	bool mrg;

	if (size < 8)
		return 0;
	rsize = (uint16_t)(1u << (data[0] % 7));
	mrg = data[1] & 1;
	hdr = data[1] & 2 ? 10 : 12;
	sa = (uint16_t)(data[2] | data[3] << 8);
	da = (uint16_t)(data[4] | data[5] << 8);
	data += 8;
	plen = size - 8;
	if (!(src = malloc(MEM)) || !(dst = malloc(MEM)))
		abort();
	for (size_t i = 0; i < 2 * MEM; i++) {
		uint8_t b = plen ? data[i % plen] : 0;
		(i < MEM ? src : dst)[i % MEM] = b;
	}
	ms.r[0].hva = (uintptr_t)src;
	/* The destination's memory in two regions (guest-physically apart). */
	md.r[0].hva = (uintptr_t)dst;
	md.r[1] = (struct fp_vr_region){GPA_D + 0x10000, MEM / 2, (uintptr_t)dst + MEM / 2};
	/* Rings at the start of each memory: desc, avail, used (16 + 4 + 8 bytes per entry). */
	if (fp_vr_init(&rs, src, src + 16 * rsize, src + 16 * rsize + 4 + 2 * rsize + 2, rsize, sa,
	            sa) < 0 ||
	        fp_vr_init(&rd, dst, dst + 16 * rsize, dst + 16 * rsize + 4 + 2 * rsize + 2, rsize,
	                da, da) < 0)
		abort();
	/* Keep the used rings aligned for their 32-bit fields. */
	rs.used = (struct fp_vr_used *)(src + ((16 * rsize + 4 + 2 * rsize + 2 + 3) & ~3u));
	rd.used = (struct fp_vr_used *)(dst + ((16 * rsize + 4 + 2 * rsize + 2 + 3) & ~3u));
	n = fp_vr_begin(&rs);
	if (n > rsize)
		abort();
	fp_vr_begin(&rd);
	fp_vr_prefetch(&ms, &rs, n, false);
	fp_vr_prefetch(&md, &rd, 64, true);
	for (uint16_t i = 0; i < n; i++) {
		int r = fp_vr_chain(&ms, &rs, i, false, 9000 + hdr, &c);
		if (r == 0) {
			uint32_t len;
			for (uint16_t k = 0; k < c.n; k++)
				if (!inside(c.iov[k].base, c.iov[k].len, src))
					abort();
			if (c.n > FP_VR_MAX_SEGS || c.len > 9000 + hdr)
				abort();
			len = fp_vr_copy_out(c.iov, c.n, 0, frame, sizeof(frame));
			if (len != (c.len < sizeof(frame) ? c.len : sizeof(frame)))
				abort();
			if (c.len > hdr) {
				uint16_t before = rd.last_used, nv;
				uint8_t eth[FP_OL_MAX_HDRS];
				uint32_t hl = c.len - hdr < 18 ? c.len - hdr : 18, tot = 0;
				struct fp_vr_iov head = {eth, hl}, v[FP_VR_MAX_SEGS + 1];
				struct fp_ol_vnet vh, out;
				const void *vn = NULL;
				/* The pod's virtio-net header, as the worker reads it (once, from a
				 * copy) and checks it against its copy of the frame's headers. */
				memcpy(&vh, frame, sizeof(vh));
				if (offload(&vh, &c, hdr, eth, &out, &hl))
					vn = &out;
				head.len = hl;
				/* As the switch sends it: its copy of the header, then the rest. */
				if (!vn)
					fp_vr_copy_out(c.iov, c.n, hdr, eth, hl);
				nv = fp_vr_splice(&head, &c, hdr + hl, v);
				for (uint16_t k = 0; k < nv; k++)
					tot += v[k].len;
				if (nv > FP_VR_MAX_SEGS + 1 || tot != c.len - hdr)
					abort();
				r = fp_vr_rx_put(&md, &rd, hdr, mrg, vn, v, nv, 0, c.len - hdr);
				if (r < 0 && rd.last_used != before)
					abort();
				if ((uint16_t)(rd.last_used - before) > rsize)
					abort();
			}
		}
		fp_vr_tx_done_head(&rs, c.head);
	}
	fp_vr_publish(&rs);
	fp_vr_publish(&rd);
	free(src);
	free(dst);
	return 0;
}
