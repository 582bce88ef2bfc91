/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: the one-copy ring code (fp_vring) against fake guest memory. Two "pods" each
 * own one malloc'd block (exact size, so the sanitizer build catches any access past it)
 * holding their rings and buffers; hostile rings: addresses outside the memory table, lengths
 * that wrap, descriptor loops, chains longer than the ring, bad heads, indirect descriptors,
 * avail indexes that jump, receive buffers too small for the header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/fastpath/fp_vring.h"

#define MEM_SIZE  (256 * 1024)
#define GPA       0x100000ULL
#define RING      256
#define DESC_OFF  0
#define AVAIL_OFF 0x1000
#define USED_OFF  0x2000
#define BUF_OFF   0x4000

struct pod {
	uint8_t *mem;
	struct fp_vr_mem mt;
	struct fp_vr_ring r;
	struct fp_vr_desc *desc;
	struct fp_vr_avail *avail;
	struct fp_vr_used *used;
};

static void pod_init(struct pod *p, uint16_t size)
{
	p->mem = calloc(1, MEM_SIZE);
	assert_non_null(p->mem);
	p->mt.n = 1;
	p->mt.r[0] = (struct fp_vr_region){.gpa = GPA, .size = MEM_SIZE, .hva = (uintptr_t)p->mem};
	p->desc = (struct fp_vr_desc *)(p->mem + DESC_OFF);
	p->avail = (struct fp_vr_avail *)(p->mem + AVAIL_OFF);
	p->used = (struct fp_vr_used *)(p->mem + USED_OFF);
	assert_int_equal(fp_vr_init(&p->r, p->desc, p->avail, p->used, size, 0, 0), 0);
}

static void pod_fini(struct pod *p)
{
	free(p->mem);
}

/* Descriptor d: buffer at BUF_OFF + off, len bytes, flags, next. */
static void desc(
        struct pod *p, uint16_t d, uint64_t off, uint32_t len, uint16_t flags, uint16_t next)
{
	p->desc[d] = (struct fp_vr_desc){GPA + BUF_OFF + off, len, flags, next};
}

static void offer(struct pod *p, uint16_t head)
{
	p->avail->ring[p->avail->idx % p->r.size] = head;
	p->avail->idx++;
}

static void test_translate(void **state)
{
	struct pod p;

	(void)state;
	pod_init(&p, RING);
	assert_ptr_equal(fp_vr_translate(&p.mt, GPA, MEM_SIZE), p.mem);
	assert_null(fp_vr_translate(&p.mt, GPA, MEM_SIZE + 1));
	assert_null(fp_vr_translate(&p.mt, GPA - 1, 2));
	assert_null(fp_vr_translate(&p.mt, GPA + MEM_SIZE, 0));
	assert_null(fp_vr_translate(&p.mt, UINT64_MAX - 10, 100));
	assert_null(fp_vr_translate(&p.mt, GPA + 10, UINT64_MAX - 5));
	assert_ptr_equal(fp_vr_translate(&p.mt, GPA + MEM_SIZE - 1, 1), p.mem + MEM_SIZE - 1);
	pod_fini(&p);
}

static void test_init(void **state)
{
	struct fp_vr_ring r;
	char x[64];

	(void)state;
	assert_int_equal(fp_vr_init(&r, x, x, x, 0, 0, 0), -EINVAL);
	assert_int_equal(fp_vr_init(&r, x, x, x, 3, 0, 0), -EINVAL);
	assert_int_equal(fp_vr_init(&r, x, x, x, 65535, 0, 0), -EINVAL);
	assert_int_equal(fp_vr_init(&r, NULL, x, x, 4, 0, 0), -EINVAL);
	assert_int_equal(fp_vr_init(&r, x, x, x, 4, 7, 7), 0);
	assert_int_equal(r.last_avail, 7);
}

/* A frame of two descriptors from a pod's transmit ring, copied out exactly. */
static void test_tx_chain(void **state)
{
	struct pod p;
	struct fp_vr_chain c;
	uint8_t out[100];

	(void)state;
	pod_init(&p, RING);
	memset(p.mem + BUF_OFF, 0xaa, 12);
	for (int i = 0; i < 60; i++)
		p.mem[BUF_OFF + 100 + i] = (uint8_t)i;
	desc(&p, 5, 0, 12, FP_VR_DESC_F_NEXT, 9);
	desc(&p, 9, 100, 60, 0, 0);
	offer(&p, 5);
	assert_int_equal(fp_vr_begin(&p.r), 1);
	assert_int_equal(fp_vr_chain(&p.mt, &p.r, 0, false, 9000, &c), 0);
	assert_int_equal(c.head, 5);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.len, 72);
	assert_int_equal(fp_vr_copy_out(c.iov, c.n, 12, out, sizeof(out)), 60);
	for (int i = 0; i < 60; i++)
		assert_int_equal(out[i], i);
	/* Over the limit on the transmit side: refused. */
	assert_int_equal(fp_vr_chain(&p.mt, &p.r, 0, false, 71, &c), -EMSGSIZE);
	/* A receive-side walk refuses read-only descriptors. */
	assert_int_equal(fp_vr_chain(&p.mt, &p.r, 0, true, 9000, &c), -EINVAL);
	fp_vr_tx_done(&p.r, &c, 1);
	assert_true(fp_vr_publish(&p.r));
	assert_int_equal(p.used->idx, 1);
	assert_int_equal(p.used->ring[0].id, 5);
	assert_int_equal(p.used->ring[0].len, 0);
	/* Nothing new: no second publish, no interrupt. */
	assert_false(fp_vr_publish(&p.r));
	p.avail->flags = FP_VR_AVAIL_F_NO_INTERRUPT;
	fp_vr_tx_done_head(&p.r, 3);
	assert_false(fp_vr_publish(&p.r));
	assert_int_equal(p.used->idx, 2);
	pod_fini(&p);
}

static void test_hostile_chains(void **state)
{
	struct pod p;
	struct fp_vr_chain c;

	(void)state;
	pod_init(&p, 8);
	/* Loop: a descriptor pointing at itself. */
	desc(&p, 0, 0, 10, FP_VR_DESC_F_NEXT, 0);
	/* Two descriptors in a cycle. */
	desc(&p, 1, 0, 10, FP_VR_DESC_F_NEXT, 2);
	desc(&p, 2, 0, 10, FP_VR_DESC_F_NEXT, 1);
	/* Next out of the table. */
	desc(&p, 3, 0, 10, FP_VR_DESC_F_NEXT, 8);
	/* Address outside the memory table, and one whose length wraps. */
	p.desc[4] = (struct fp_vr_desc){GPA + MEM_SIZE - 4, 8, 0, 0};
	p.desc[5] = (struct fp_vr_desc){UINT64_MAX - 3, 16, 0, 0};
	/* Indirect. */
	desc(&p, 6, 0, 16, FP_VR_DESC_F_INDIRECT, 0);
	offer(&p, 0);
	offer(&p, 1);
	offer(&p, 3);
	offer(&p, 4);
	offer(&p, 5);
	offer(&p, 6);
	offer(&p, 200); /* head out of the table */
	assert_int_equal(fp_vr_begin(&p.r), 7);
	fp_vr_prefetch(&p.mt, &p.r, 200, false); /* hints only: bad heads and addresses skipped */
	assert_int_equal(fp_vr_chain(&p.mt, &p.r, 0, false, 1 << 20, &c), -ELOOP);
	assert_int_equal(fp_vr_chain(&p.mt, &p.r, 1, false, 1 << 20, &c), -ELOOP);
	assert_int_equal(fp_vr_chain(&p.mt, &p.r, 2, false, 1 << 20, &c), -EINVAL);
	assert_int_equal(fp_vr_chain(&p.mt, &p.r, 3, false, 1 << 20, &c), -EFAULT);
	assert_int_equal(fp_vr_chain(&p.mt, &p.r, 4, false, 1 << 20, &c), -EFAULT);
	assert_int_equal(fp_vr_chain(&p.mt, &p.r, 5, false, 1 << 20, &c), -ENOTSUP);
	assert_int_equal(fp_vr_chain(&p.mt, &p.r, 6, false, 1 << 20, &c), -EINVAL);
	assert_int_equal(c.head, 200);
	/* Lengths that add up past 4 GiB: the limit catches them before any sum wraps. */
	p.desc[0] = (struct fp_vr_desc){GPA, 0xffffff00u, FP_VR_DESC_F_NEXT, 1};
	p.desc[1] = (struct fp_vr_desc){GPA, 0x200, 0, 0};
	assert_int_equal(fp_vr_chain(&p.mt, &p.r, 0, false, 1 << 20, &c), -EMSGSIZE);
	/* Every chain is still handed back, even the bad ones. */
	for (uint16_t i = 0; i < 7; i++)
		fp_vr_tx_done_head(&p.r, p.avail->ring[i]);
	fp_vr_publish(&p.r);
	assert_int_equal(p.used->idx, 7);
	pod_fini(&p);
}

/* A chain longer than the ring with distinct descriptors cannot exist; longer than
 * FP_VR_MAX_SEGS is refused. */
static void test_long_chain(void **state)
{
	struct pod p;
	struct fp_vr_chain c;

	(void)state;
	pod_init(&p, RING);
	for (uint16_t d = 0; d < RING; d++)
		desc(&p, d, d, 1, FP_VR_DESC_F_NEXT, (uint16_t)(d + 1));
	desc(&p, FP_VR_MAX_SEGS - 1, 0, 1, 0, 0);
	offer(&p, 0);
	offer(&p, 1); /* 1..63 + the end at 63: 63 descriptors, fine */
	assert_int_equal(fp_vr_begin(&p.r), 2);
	assert_int_equal(fp_vr_chain(&p.mt, &p.r, 0, false, 9000, &c), 0);
	assert_int_equal(c.n, FP_VR_MAX_SEGS);
	desc(&p, FP_VR_MAX_SEGS - 1, 0, 1, FP_VR_DESC_F_NEXT, FP_VR_MAX_SEGS);
	assert_int_equal(fp_vr_chain(&p.mt, &p.r, 0, false, 9000, &c), -ELOOP);
	assert_int_equal(fp_vr_chain(&p.mt, &p.r, 1, false, 9000, &c), -ELOOP);
	pod_fini(&p);
}

static void test_avail_jump(void **state)
{
	struct pod p;

	(void)state;
	pod_init(&p, 16);
	p.avail->idx = 16;
	assert_int_equal(fp_vr_begin(&p.r), 16);
	p.avail->idx = 17;
	assert_int_equal(fp_vr_begin(&p.r), 0);
	assert_true(p.r.broken);
	/* A broken ring takes nothing. */
	assert_int_equal(fp_vr_rx_put(&p.mt, &p.r, 12, true, NULL, NULL, 0, 0, 0), -ENOSPC);
	pod_fini(&p);
}

/* Notifications: only VRING_USED_F_NO_NOTIFY changes, the used index is left alone. */
static void test_notify(void **state)
{
	struct pod p;

	(void)state;
	pod_init(&p, 16);
	p.used->flags = 0x8000; /* a bit we do not own stays as it is */
	p.used->idx = 5;
	fp_vr_set_notify(&p.r, false);
	assert_int_equal(p.used->flags, 0x8000 | FP_VR_USED_F_NO_NOTIFY);
	fp_vr_set_notify(&p.r, false);
	assert_int_equal(p.used->flags, 0x8000 | FP_VR_USED_F_NO_NOTIFY);
	fp_vr_set_notify(&p.r, true);
	assert_int_equal(p.used->flags, 0x8000);
	assert_int_equal(p.used->idx, 5);
	pod_fini(&p);
}

/* Receive buffers of 100 bytes, mergeable: a 250-byte frame takes 3 (12 + 250 = 262). */
static void test_rx_mergeable(void **state)
{
	struct pod src, dst;
	struct fp_vr_chain c;
	uint8_t *b;

	(void)state;
	pod_init(&src, RING);
	pod_init(&dst, RING);
	for (int i = 0; i < 250; i++)
		src.mem[BUF_OFF + i] = (uint8_t)(i * 7);
	desc(&src, 0, 0, 250, 0, 0);
	offer(&src, 0);
	assert_int_equal(fp_vr_begin(&src.r), 1);
	assert_int_equal(fp_vr_chain(&src.mt, &src.r, 0, false, 9000, &c), 0);
	for (uint16_t d = 0; d < 4; d++) {
		desc(&dst, d, d * 1000, 100, FP_VR_DESC_F_WRITE, 0);
		offer(&dst, d);
	}
	memset(dst.mem + BUF_OFF, 0xee, 4000);
	assert_int_equal(fp_vr_begin(&dst.r), 4);
	/* Without mergeable buffers it does not fit one. */
	assert_int_equal(
	        fp_vr_rx_put(&dst.mt, &dst.r, 12, false, NULL, c.iov, c.n, 0, 250), -EMSGSIZE);
	assert_int_equal(dst.r.last_avail, 0);
	assert_int_equal(dst.r.last_used, 0);
	assert_int_equal(fp_vr_rx_put(&dst.mt, &dst.r, 12, true, NULL, c.iov, c.n, 0, 250), 0);
	assert_int_equal(dst.r.last_avail, 3);
	assert_true(fp_vr_publish(&dst.r));
	assert_int_equal(dst.used->idx, 3);
	assert_int_equal(dst.used->ring[0].len, 100);
	assert_int_equal(dst.used->ring[1].len, 100);
	assert_int_equal(dst.used->ring[2].len, 62);
	b = dst.mem + BUF_OFF;
	for (int i = 0; i < 10; i++)
		assert_int_equal(b[i], 0);
	assert_int_equal(b[10], 3); /* num_buffers */
	assert_int_equal(b[11], 0);
	for (int i = 0; i < 250; i++) {
		uint32_t at = 12 + (uint32_t)i;
		assert_int_equal(b[(at / 100) * 1000 + at % 100], (uint8_t)(i * 7));
	}
	/* Nothing written past the frame in the last buffer. */
	assert_int_equal(b[2000 + 62], 0xee);
	/* One buffer left: a frame that needs two does not go, and takes nothing. */
	assert_int_equal(
	        fp_vr_rx_put(&dst.mt, &dst.r, 12, true, NULL, c.iov, c.n, 0, 150), -ENOSPC);
	assert_int_equal(dst.r.last_avail, 3);
	assert_int_equal(dst.r.last_used, 3);
	assert_int_equal(fp_vr_rx_put(&dst.mt, &dst.r, 12, true, NULL, c.iov, c.n, 100, 60), 0);
	assert_int_equal(dst.mem[BUF_OFF + 3000 + 12], (uint8_t)(100 * 7));
	pod_fini(&src);
	pod_fini(&dst);
}

/* The virtio-net header the switch writes (one-copy offloads): its 10 bytes, then
 * num_buffers; the sender's own header bytes never reach the receiver. */
static void test_rx_vnet(void **state)
{
	struct pod src, dst;
	struct fp_vr_chain c;
	const uint8_t vnet[10] = {1, 1, 54, 0, 0xa8, 0x05, 34, 0, 16, 0};
	uint8_t *b;

	(void)state;
	pod_init(&src, RING);
	pod_init(&dst, RING);
	/* The sender's header (12 bytes) says something else: it is not copied. */
	memset(src.mem + BUF_OFF, 0x5a, 12);
	for (int i = 0; i < 250; i++)
		src.mem[BUF_OFF + 12 + i] = (uint8_t)(i * 3);
	desc(&src, 0, 0, 262, 0, 0);
	offer(&src, 0);
	assert_int_equal(fp_vr_begin(&src.r), 1);
	assert_int_equal(fp_vr_chain(&src.mt, &src.r, 0, false, 9000, &c), 0);
	for (uint16_t d = 0; d < 4; d++) {
		desc(&dst, d, d * 1000, 100, FP_VR_DESC_F_WRITE, 0);
		offer(&dst, d);
	}
	memset(dst.mem + BUF_OFF, 0xee, 4000);
	assert_int_equal(fp_vr_begin(&dst.r), 4);
	assert_int_equal(fp_vr_rx_put(&dst.mt, &dst.r, 12, true, vnet, c.iov, c.n, 12, 250), 0);
	b = dst.mem + BUF_OFF;
	assert_memory_equal(b, vnet, 10);
	assert_int_equal(b[10], 3); /* num_buffers after it */
	assert_int_equal(b[11], 0);
	assert_int_equal(b[12], 0);
	assert_int_equal(b[13], 3);
	/* A legacy 10-byte header (no VERSION_1, no MRG_RXBUF): the 10 bytes, frame after. */
	assert_int_equal(fp_vr_rx_put(&dst.mt, &dst.r, 10, false, vnet, c.iov, c.n, 12, 80), 0);
	assert_memory_equal(b + 3000, vnet, 10);
	assert_int_equal(b[3010], 0);
	assert_int_equal(b[3011], 3);
	assert_int_equal(b[3000 + 90], 0xee);
	pod_fini(&src);
	pod_fini(&dst);
}

static void test_rx_hostile(void **state)
{
	struct pod dst;
	uint8_t frame[64];
	struct fp_vr_iov iov = {frame, sizeof(frame)};

	(void)state;
	memset(frame, 1, sizeof(frame));
	pod_init(&dst, 8);
	desc(&dst, 0, 0, 8, FP_VR_DESC_F_WRITE | FP_VR_DESC_F_NEXT, 1); /* header split */
	desc(&dst, 1, 100, 200, FP_VR_DESC_F_WRITE, 0);
	desc(&dst, 2, 0, 200, 0, 0); /* read-only */
	dst.desc[3] = (struct fp_vr_desc){GPA + MEM_SIZE - 10, 200, FP_VR_DESC_F_WRITE, 0};
	desc(&dst, 4, 0, 100, FP_VR_DESC_F_WRITE | FP_VR_DESC_F_NEXT, 4); /* loop */
	offer(&dst, 0);
	assert_int_equal(fp_vr_begin(&dst.r), 1);
	assert_int_equal(fp_vr_rx_put(&dst.mt, &dst.r, 12, true, NULL, &iov, 1, 0, 64), -EINVAL);
	dst.avail->ring[0] = 2;
	assert_int_equal(fp_vr_rx_put(&dst.mt, &dst.r, 12, true, NULL, &iov, 1, 0, 64), -EINVAL);
	dst.avail->ring[0] = 3;
	assert_int_equal(fp_vr_rx_put(&dst.mt, &dst.r, 12, true, NULL, &iov, 1, 0, 64), -EFAULT);
	dst.avail->ring[0] = 9;
	assert_int_equal(fp_vr_rx_put(&dst.mt, &dst.r, 12, true, NULL, &iov, 1, 0, 64), -EINVAL);
	/* A loop of 100-byte buffers: the walk stops once it has room for the frame. */
	dst.avail->ring[0] = 4;
	assert_int_equal(fp_vr_rx_put(&dst.mt, &dst.r, 12, true, NULL, &iov, 1, 0, 64), 0);
	/* ... but not when the frame needs more than the loop gives before the bound. */
	assert_int_equal(fp_vr_begin(&dst.r), 0);
	offer(&dst, 4);
	assert_int_equal(fp_vr_begin(&dst.r), 1);
	{
		static uint8_t big[9000];
		struct fp_vr_iov bi = {big, sizeof(big)};
		assert_int_equal(
		        fp_vr_rx_put(&dst.mt, &dst.r, 12, false, NULL, &bi, 1, 0, 9000), -ELOOP);
	}
	assert_int_equal(dst.r.last_used, 1);
	pod_fini(&dst);
}

/* The switch's copy of the header goes first, the rest of the frame after it. */
static void test_splice(void **state)
{
	uint8_t a[20], b[30], hdr[18], out[64];
	struct fp_vr_chain c = {.n = 2, .len = 50, .iov = {{a, 20}, {b, 30}}};
	struct fp_vr_iov head = {hdr, 18}, v[FP_VR_MAX_SEGS + 1];
	uint16_t n;

	(void)state;
	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	memset(hdr, 'h', sizeof(hdr));
	/* 12-byte virtio-net header + 18 header bytes skipped: 8 bytes into b. */
	n = fp_vr_splice(&head, &c, 30, v);
	assert_int_equal(n, 2);
	assert_int_equal(fp_vr_copy_out(v, n, 0, out, sizeof(out)), 18 + 20);
	assert_int_equal(out[17], 'h');
	assert_int_equal(out[18], 'b');
	/* Past the end: only the head. */
	assert_int_equal(fp_vr_splice(&head, &c, 50, v), 1);
	head.len = 0;
	assert_int_equal(fp_vr_splice(&head, &c, 0, v), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_translate),
	        cmocka_unit_test(test_init),
	        cmocka_unit_test(test_notify),
	        cmocka_unit_test(test_tx_chain),
	        cmocka_unit_test(test_hostile_chains),
	        cmocka_unit_test(test_long_chain),
	        cmocka_unit_test(test_avail_jump),
	        cmocka_unit_test(test_rx_mergeable),
	        cmocka_unit_test(test_rx_vnet),
	        cmocka_unit_test(test_rx_hostile),
	        cmocka_unit_test(test_splice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
