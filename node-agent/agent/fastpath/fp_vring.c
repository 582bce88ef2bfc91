/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/fastpath/fp_vring.h"

#include <errno.h>
#include <string.h>

/* Guest memory is read once per field: the compiler may not reload it after a check. */
#define GUEST_LOAD(p) __atomic_load_n(p, __ATOMIC_RELAXED)

uint8_t *fp_vr_translate(const struct fp_vr_mem *m, uint64_t gpa, uint64_t len)
{
	for (uint32_t i = 0; i < m->n && i < FP_VR_MAX_REGIONS; i++) {
		const struct fp_vr_region *g = &m->r[i];
		/* Written so that no sum can wrap: offset first, then the room after it. */
		if (gpa >= g->gpa && gpa - g->gpa < g->size && len <= g->size - (gpa - g->gpa))
			return (uint8_t *)(uintptr_t)(g->hva + (gpa - g->gpa));
	}
	return NULL;
}

int fp_vr_init(struct fp_vr_ring *r, void *desc, void *avail, void *used, uint16_t size,
        uint16_t last_avail, uint16_t last_used)
{
	memset(r, 0, sizeof(*r));
	if (!desc || !avail || !used || size == 0 || size > FP_VR_MAX_SIZE ||
	        (size & (size - 1)) != 0)
		return -EINVAL;
	r->desc = desc;
	r->avail = avail;
	r->used = used;
	r->size = size;
	r->mask = size - 1;
	r->last_avail = r->avail_end = last_avail;
	r->last_used = r->pub_used = last_used;
	return 0;
}

uint16_t fp_vr_begin(struct fp_vr_ring *r)
{
	uint16_t idx, n;

	if (r->broken)
		return 0;
	/* Acquire: the entries and descriptors the guest wrote before the index. */
	idx = __atomic_load_n(&r->avail->idx, __ATOMIC_ACQUIRE);
	n = (uint16_t)(idx - r->last_avail);
	if (n > r->size) {
		/* No valid ring offers more than its size: stop using it. */
		r->broken = true;
		return 0;
	}
	r->avail_end = idx;
	return n;
}

static int chain_at(const struct fp_vr_mem *m, const struct fp_vr_ring *r, uint16_t pos, bool write,
        uint32_t max, struct fp_vr_chain *c)
{
	uint16_t idx = GUEST_LOAD(&r->avail->ring[pos & r->mask]);
	unsigned limit = r->size < FP_VR_MAX_SEGS ? r->size : FP_VR_MAX_SEGS;

	c->head = idx;
	c->n = 0;
	c->len = 0;
	for (unsigned k = 0;; k++) {
		const struct fp_vr_desc *d;
		uint64_t addr;
		uint32_t len;
		uint16_t flags, next;
		uint8_t *p;

		if (idx >= r->size)
			return -EINVAL;
		/* A chain visits each descriptor at most once: longer means a loop. */
		if (k >= limit)
			return -ELOOP;
		d = &r->desc[idx];
		addr = GUEST_LOAD(&d->addr);
		len = GUEST_LOAD(&d->len);
		flags = GUEST_LOAD(&d->flags);
		next = GUEST_LOAD(&d->next);
		if (flags & FP_VR_DESC_F_INDIRECT)
			return -ENOTSUP;
		if (!!(flags & FP_VR_DESC_F_WRITE) != write)
			return -EINVAL;
		if (write && len > max - c->len)
			len = max - c->len; /* what we will write at most */
		else if (!write && len > max - c->len)
			return -EMSGSIZE;
		if (len) {
			if (!(p = fp_vr_translate(m, addr, len)))
				return -EFAULT;
			c->iov[c->n].base = p;
			c->iov[c->n].len = len;
			c->n++;
			c->len += len;
		}
		if (!(flags & FP_VR_DESC_F_NEXT) || (write && c->len == max))
			return 0;
		idx = next;
	}
}

int fp_vr_chain(const struct fp_vr_mem *m, const struct fp_vr_ring *r, uint16_t i, bool write,
        uint32_t max, struct fp_vr_chain *c)
{
	return chain_at(m, r, (uint16_t)(r->last_avail + i), write, max, c);
}

void fp_vr_prefetch(const struct fp_vr_mem *m, const struct fp_vr_ring *r, uint16_t n, bool write)
{
	uint16_t idx[64];

	if (n > 64)
		n = 64;
	for (uint16_t k = 0; k < n; k++) {
		idx[k] = GUEST_LOAD(&r->avail->ring[(uint16_t)(r->last_avail + k) & r->mask]);
		if (idx[k] < r->size)
			__builtin_prefetch(&r->desc[idx[k]]);
	}
	for (uint16_t k = 0; k < n; k++) {
		uint8_t *p;
		if (idx[k] >= r->size)
			continue;
		p = fp_vr_translate(m, GUEST_LOAD(&r->desc[idx[k]].addr), 1);
		if (!p)
			continue;
		if (write)
			__builtin_prefetch(p, 1);
		else
			__builtin_prefetch(p, 0);
	}
	__builtin_prefetch(&r->used->ring[r->last_used & r->mask], 1);
}

static inline void used_put(struct fp_vr_ring *r, uint16_t id, uint32_t len)
{
	struct fp_vr_used_elem *e = &r->used->ring[r->last_used & r->mask];

	e->id = id;
	e->len = len;
	r->last_used++;
}

void fp_vr_tx_done(struct fp_vr_ring *r, const struct fp_vr_chain *c, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++)
		used_put(r, c[i].head, 0);
	r->last_avail += n;
}

void fp_vr_tx_done_head(struct fp_vr_ring *r, uint16_t head)
{
	used_put(r, head, 0);
	r->last_avail++;
}

uint32_t fp_vr_copy_out(
        const struct fp_vr_iov *iov, uint16_t n, uint32_t off, void *dst, uint32_t len)
{
	uint8_t *d = dst;
	uint32_t done = 0;

	for (uint16_t i = 0; i < n && done < len; i++) {
		uint32_t take;
		if (off >= iov[i].len) {
			off -= iov[i].len;
			continue;
		}
		take = iov[i].len - off;
		if (take > len - done)
			take = len - done;
		memcpy(d + done, iov[i].base + off, take);
		done += take;
		off = 0;
	}
	return done;
}

uint16_t fp_vr_splice(const struct fp_vr_iov *head, const struct fp_vr_chain *c, uint32_t off,
        struct fp_vr_iov *out)
{
	uint16_t n = 0;

	if (head->len)
		out[n++] = *head;
	for (uint16_t i = 0; i < c->n && i < FP_VR_MAX_SEGS; i++) {
		if (off >= c->iov[i].len) {
			off -= c->iov[i].len;
			continue;
		}
		out[n].base = c->iov[i].base + off;
		out[n].len = c->iov[i].len - off;
		n++;
		off = 0;
	}
	return n;
}

/* A source cursor over a gather list. */
struct cursor {
	const struct fp_vr_iov *iov;
	uint16_t n, i;
	uint32_t off;
};

static inline void cursor_skip(struct cursor *s, uint32_t off)
{
	while (s->i < s->n && off >= s->iov[s->i].len - s->off) {
		off -= s->iov[s->i].len - s->off;
		s->i++;
		s->off = 0;
	}
	s->off += off;
}

/* Copy up to `want` bytes from the cursor into one destination buffer. */
static inline uint32_t cursor_copy(struct cursor *s, uint8_t *dst, uint32_t want)
{
	uint32_t done = 0;

	while (done < want && s->i < s->n) {
		uint32_t take = s->iov[s->i].len - s->off;
		if (take > want - done)
			take = want - done;
		memcpy(dst + done, s->iov[s->i].base + s->off, take);
		done += take;
		s->off += take;
		if (s->off == s->iov[s->i].len) {
			s->i++;
			s->off = 0;
		}
	}
	return done;
}

int fp_vr_rx_put(const struct fp_vr_mem *m, struct fp_vr_ring *r, uint16_t hdr_len, bool mrg,
        const void *vnet, const struct fp_vr_iov *src, uint16_t n_src, uint32_t off, uint32_t len)
{
	struct cursor s = {.iov = src, .n = n_src};
	uint16_t pos = r->last_avail, used0 = r->last_used, nbufs = 0;
	uint32_t left = len;
	uint8_t *hdr = NULL;
	struct fp_vr_chain c;
	int rc;

	if (r->broken)
		return -ENOSPC;
	cursor_skip(&s, off);
	do {
		uint32_t want = (nbufs == 0 ? hdr_len : 0) + left, wrote = 0;
		if (pos == r->avail_end) {
			rc = -ENOSPC;
			goto undo;
		}
		if (nbufs > 0 && !mrg) {
			rc = -EMSGSIZE;
			goto undo;
		}
		if ((rc = chain_at(m, r, pos, true, want, &c)) < 0)
			goto undo;
		if (c.n == 0 || c.iov[0].len < (nbufs == 0 ? hdr_len : 0u)) {
			rc = -EINVAL; /* the header must sit in the first descriptor */
			goto undo;
		}
		for (uint16_t k = 0; k < c.n; k++) {
			uint8_t *dst = c.iov[k].base;
			uint32_t room = c.iov[k].len, got;
			if (nbufs == 0 && k == 0) {
				hdr = dst;
				memset(hdr, 0, hdr_len);
				if (vnet && hdr_len >= FP_VR_VNET_LEN)
					memcpy(hdr, vnet, FP_VR_VNET_LEN);
				dst += hdr_len;
				room -= hdr_len;
				wrote += hdr_len;
			}
			got = cursor_copy(&s, dst, room < left ? room : left);
			left -= got;
			wrote += got;
		}
		/* Within the ring: used entries are only seen once published. */
		used_put(r, c.head, wrote);
		pos++;
		nbufs++;
	} while (left);
	if (hdr_len >= 12) {
		hdr[10] = nbufs & 0xff;
		hdr[11] = nbufs >> 8;
	}
	r->last_avail = pos;
	return 0;
undo:
	r->last_used = used0;
	return rc;
}

void fp_vr_set_notify(struct fp_vr_ring *r, bool on)
{
	/* The guest never writes the used ring's flags: our own value is the current one. */
	uint16_t f = __atomic_load_n(&r->used->flags, __ATOMIC_RELAXED);

	f = on ? (uint16_t)(f & ~FP_VR_USED_F_NO_NOTIFY) : (uint16_t)(f | FP_VR_USED_F_NO_NOTIFY);
	__atomic_store_n(&r->used->flags, f, __ATOMIC_RELAXED);
}

bool fp_vr_publish(struct fp_vr_ring *r)
{
	if (r->last_used == r->pub_used)
		return false;
	/* Release: the buffers and used entries before the index. */
	__atomic_store_n(&r->used->idx, r->last_used, __ATOMIC_RELEASE);
	r->pub_used = r->last_used;
	return !(GUEST_LOAD(&r->avail->flags) & FP_VR_AVAIL_F_NO_INTERRUPT);
}
