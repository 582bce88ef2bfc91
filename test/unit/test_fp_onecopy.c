/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: one-copy mode's control side (fp_onecopy) with rte_vhost stood in for by
 * -Wl,--wrap functions (a fake device: features, memory table, rings, ring indexes) and the
 * workers' grace period counted: a device is published on attach, withdrawn (grace period
 * waited, indexes handed back) before a message that may change memory or rings, mapped
 * again from the new memory table after it, left alone on read-only messages, refused when
 * it negotiated a packed ring, and handed back on destroy. */
// LDFLAGS: -isystem /usr/include/dpdk -isystem /usr/include/x86_64-linux-gnu/dpdk
// LDFLAGS: -Wl,--wrap=rte_vhost_get_negotiated_features -Wl,--wrap=rte_vhost_get_mem_table
// LDFLAGS: -Wl,--wrap=rte_vhost_get_vring_num -Wl,--wrap=rte_vhost_get_vhost_vring
// LDFLAGS: -Wl,--wrap=rte_vhost_get_vring_base -Wl,--wrap=rte_vhost_set_vring_base
// LDFLAGS: -Wl,--wrap=rte_vhost_extern_callback_register -Wl,--wrap=fp_worker_sync
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_config.h>
#include <rte_vhost.h>

#include "agent/fastpath/fp_onecopy.h"

#define VID  3
#define SLOT 5

static struct {
	uint64_t features;
	uint64_t gpa, size;
	uint8_t ring_mem[2][8192];
	uint16_t last_avail[2], last_used[2];
	unsigned syncs, set_base;
	struct rte_vhost_user_extern_ops ops;
} D;

/* The stand-ins (the linker sends fp_onecopy's calls here). */
int __wrap_rte_vhost_get_negotiated_features(int vid, uint64_t *f);
int __wrap_rte_vhost_get_mem_table(int vid, struct rte_vhost_memory **mem);
uint16_t __wrap_rte_vhost_get_vring_num(int vid);
int __wrap_rte_vhost_get_vhost_vring(int vid, uint16_t idx, struct rte_vhost_vring *vr);
int __wrap_rte_vhost_get_vring_base(int vid, uint16_t q, uint16_t *la, uint16_t *lu);
int __wrap_rte_vhost_set_vring_base(int vid, uint16_t q, uint16_t la, uint16_t lu);
int __wrap_rte_vhost_extern_callback_register(
        int vid, struct rte_vhost_user_extern_ops const *const ops, void *ctx);
void __wrap_fp_worker_sync(void);

int __wrap_rte_vhost_get_negotiated_features(int vid, uint64_t *f)
{
	assert_int_equal(vid, VID);
	*f = D.features;
	return 0;
}

int __wrap_rte_vhost_get_mem_table(int vid, struct rte_vhost_memory **mem)
{
	struct rte_vhost_memory *m = calloc(1, sizeof(*m) + sizeof(m->regions[0]));

	assert_int_equal(vid, VID);
	m->nregions = 1;
	m->regions[0].guest_phys_addr = D.gpa;
	m->regions[0].size = D.size;
	m->regions[0].host_user_addr = 0x7f0000000000ULL;
	*mem = m;
	return 0;
}

uint16_t __wrap_rte_vhost_get_vring_num(int vid)
{
	(void)vid;
	return 2;
}

int __wrap_rte_vhost_get_vhost_vring(int vid, uint16_t idx, struct rte_vhost_vring *vr)
{
	(void)vid;
	memset(vr, 0, sizeof(*vr));
	vr->desc = (void *)D.ring_mem[idx];
	vr->avail = (void *)(D.ring_mem[idx] + 4096);
	vr->used = (void *)(D.ring_mem[idx] + 6144);
	vr->size = 256;
	vr->callfd = -1;
	return 0;
}

int __wrap_rte_vhost_get_vring_base(int vid, uint16_t q, uint16_t *la, uint16_t *lu)
{
	(void)vid;
	*la = D.last_avail[q];
	*lu = D.last_used[q];
	return 0;
}

int __wrap_rte_vhost_set_vring_base(int vid, uint16_t q, uint16_t la, uint16_t lu)
{
	(void)vid;
	D.last_avail[q] = la;
	D.last_used[q] = lu;
	D.set_base++;
	return 0;
}

int __wrap_rte_vhost_extern_callback_register(
        int vid, struct rte_vhost_user_extern_ops const *const ops, void *ctx)
{
	(void)vid;
	(void)ctx;
	D.ops = *ops;
	return 0;
}

void __wrap_fp_worker_sync(void)
{
	D.syncs++;
}

static int setup(void **state)
{
	(void)state;
	memset(&D, 0, sizeof(D));
	D.features = 1ULL << 32 | 1ULL << 15; /* VERSION_1, MRG_RXBUF */
	D.gpa = 0x1000;
	D.size = 1 << 20;
	D.last_avail[1] = D.last_used[1] = 40;
	fp_oc_set_enabled(true);
	return 0;
}

static void msg(bool pre, uint32_t req)
{
	uint32_t m[8] = {req};

	if (pre)
		D.ops.pre_msg_handle(VID, m);
	else
		D.ops.post_msg_handle(VID, m);
}

static void test_lifecycle(void **state)
{
	const char *why = NULL;
	struct fp_oc_dev *d;

	(void)state;
	assert_int_equal(fp_oc_connect(VID), 0);
	assert_non_null(D.ops.pre_msg_handle);
	assert_int_equal(fp_oc_attach(SLOT, VID, &why), 0);
	assert_non_null(d = fp_oc_dev(SLOT));
	assert_int_equal(d->hdr_len, 12);
	assert_true(d->mrg);
	assert_int_equal(d->mem.n, 1);
	assert_int_equal(d->mem.r[0].size, 1 << 20);
	assert_true(d->rxq[0].ok && d->txq[0].ok);
	assert_false(d->rxq[1].ok);
	assert_int_equal(d->txq[0].ring.last_avail, 40);
	/* Traffic moved the indexes. */
	d->txq[0].ring.last_avail = d->txq[0].ring.last_used = 77;
	d->rxq[0].ring.last_avail = d->rxq[0].ring.last_used = 9;

	/* A read-only message: nothing happens. */
	msg(true, 1 /* GET_FEATURES */);
	assert_ptr_equal(fp_oc_dev(SLOT), d);
	assert_int_equal(D.syncs, 0);

	/* SET_MEM_TABLE: withdrawn and grace period waited before rte_vhost unmaps ... */
	msg(true, 5);
	assert_null(fp_oc_dev(SLOT));
	assert_int_equal(D.syncs, 1);
	assert_int_equal(D.last_avail[1], 77);
	assert_int_equal(D.last_used[0], 9);
	/* ... mapped again from the new table after it, from the indexes handed back. */
	D.size = 2 << 20;
	msg(false, 5);
	assert_non_null(d = fp_oc_dev(SLOT));
	assert_int_equal(d->mem.r[0].size, 2 << 20);
	assert_int_equal(d->txq[0].ring.last_avail, 77);
	assert_int_equal(d->rxq[0].ring.last_used, 9);
	d->txq[0].ring.last_avail = d->txq[0].ring.last_used = 80;

	/* GET_VRING_BASE: pre hook, then destroy_device inside the handler. */
	msg(true, 11);
	assert_null(fp_oc_dev(SLOT));
	assert_int_equal(D.last_avail[1], 80);
	fp_oc_unpublish(SLOT);
	fp_oc_release(SLOT);
	msg(false, 11);
	assert_null(fp_oc_dev(SLOT)); /* not running: not mapped again */
	/* Messages for a device that is gone do nothing. */
	msg(true, 5);
	msg(false, 5);
	assert_null(fp_oc_dev(SLOT));

	/* Reconnect: resumes from the indexes handed back. */
	assert_int_equal(fp_oc_attach(SLOT, VID, &why), 0);
	assert_int_equal(fp_oc_dev(SLOT)->txq[0].ring.last_avail, 80);
	/* destroy_device without a message before it: handed back too. */
	fp_oc_dev(SLOT)->txq[0].ring.last_avail = 81;
	fp_oc_unpublish(SLOT);
	assert_null(fp_oc_dev(SLOT));
	fp_oc_release(SLOT);
	assert_int_equal(D.last_avail[1], 81);
}

static void test_refused(void **state)
{
	const char *why = NULL;

	(void)state;
	D.features |= 1ULL << 34; /* RING_PACKED */
	assert_int_equal(fp_oc_attach(SLOT, VID, &why), -ENOTSUP);
	assert_non_null(why);
	assert_null(fp_oc_dev(SLOT));
	D.features = 1ULL << 28; /* INDIRECT_DESC */
	assert_int_equal(fp_oc_attach(SLOT, VID, &why), -ENOTSUP);
	/* A legacy device: 10-byte header, no mergeable buffers. */
	D.features = 0;
	assert_int_equal(fp_oc_attach(SLOT, VID, &why), 0);
	assert_int_equal(fp_oc_dev(SLOT)->hdr_len, 10);
	assert_false(fp_oc_dev(SLOT)->mrg);
	assert_false(fp_oc_dev(SLOT)->host_ol); /* its transmit headers are not read */
	fp_oc_unpublish(SLOT);
	fp_oc_release(SLOT);
	/* HOST_TSO4: a pod whose transmit headers ask for offloads. */
	D.features = 1ULL << 11;
	assert_int_equal(fp_oc_attach(SLOT, VID, &why), 0);
	assert_true(fp_oc_dev(SLOT)->host_ol);
	fp_oc_unpublish(SLOT);
	fp_oc_release(SLOT);
	/* What is masked at registration. */
	assert_true(fp_oc_disabled_features() & 1ULL << 34);
	assert_true(fp_oc_disabled_features() & 1ULL << 26);
	assert_false(fp_oc_disabled_features() & 1ULL << 15);
	/* Checksum and TSO offloads are the pool's (as in two-copy mode); ECN and UFO never. */
	for (unsigned b = 0; b <= 12; b++) {
		bool never = b == 9 || b == 10;
		if (b == 0 || b == 1 || b == 7 || b == 8 || b == 11 || b == 12)
			assert_false(fp_oc_disabled_features() & 1ULL << b);
		else if (never)
			assert_true(fp_oc_disabled_features() & 1ULL << b);
	}
	assert_true(fp_oc_disabled_features() & 1ULL << 13);
	assert_true(fp_oc_disabled_features() & 1ULL << 14);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup(test_lifecycle, setup),
	        cmocka_unit_test_setup(test_refused, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
