/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One-copy mode (fastpath.copyMode: one): the switch walks pod ports' split rings itself
 * (fp_vring) instead of calling rte_vhost_dequeue_burst/enqueue_burst, so a frame between
 * two pods is copied once, from the sender's buffer into the receiver's. rte_vhost keeps the
 * control plane (connection, features, memory table, ring addresses); this module maps what
 * it negotiated into per-port ring state for the workers and keeps that state valid when the
 * pod changes it:
 *
 *  - new_device: the memory table, ring addresses and indexes are read (rte_vhost_get_*),
 *    a struct fp_oc_dev is published to the workers (atomic pointer, RCU).
 *  - every vhost-user message that may change memory or rings (pre-message hook): the
 *    state is withdrawn, the workers' grace period waited for (the old mapping may go as
 *    soon as the message is handled), ring indexes handed back (rte_vhost_set_vring_base);
 *    the post-message hook builds and publishes fresh state from the indexes.
 *  - destroy_device: withdrawn the same way, indexes handed back so that GET_VRING_BASE
 *    answers and a reconnect resumes where the switch stopped.
 *
 * Refused: packed rings, indirect descriptors, event indexes, IN_ORDER, dirty logging
 * (LOG_ALL), vIOMMU, ECN and UFO are masked at registration (fp_oc_disabled_features); a
 * device that negotiated a ring feature anyway is refused at new_device. Checksum and TSO
 * offloads are negotiated as in two-copy mode (the pool's `offloads`); the workers carry a
 * pod's virtio-net header through, checked (fp_ol_from_vnet), or take the mbuf path.
 */
#ifndef KB_FP_ONECOPY_H
#define KB_FP_ONECOPY_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_spinlock.h>

#include "agent/fastpath/fp_config.h"
#include "agent/fastpath/fp_switch.h"
#include "agent/fastpath/fp_vring.h"

/* One virtqueue of a pod port. */
struct fp_oc_q {
	struct fp_vr_ring ring;
	int callfd; /* the pod's interrupt eventfd, -1 for none */
	bool ok;    /* mapped (the pod set it up) */
	/* Receive rings: several workers may write one; taken around a destination batch
	 * (reserve, copy, publish), so used entries are published in reservation order. */
	rte_spinlock_t lock;
	/* Receive rings: worker w wrote it during its current loop and publishes its used
	 * index at the end of the loop (each worker its own flag). */
	bool deferred[FP_MAX_WORKERS];
};

struct fp_oc_dev {
	int vid;
	uint16_t hdr_len; /* virtio-net header: 12 (VERSION_1 or MRG_RXBUF) or 10 */
	bool mrg;         /* mergeable receive buffers */
	bool host_ol;     /* the pod negotiated CSUM or HOST_TSO: its transmit headers count */
	struct fp_vr_mem mem;
	struct fp_oc_q rxq[FP_MAX_QUEUES]; /* the pod's receive rings (vring 2q): we write */
	struct fp_oc_q txq[FP_MAX_QUEUES]; /* the pod's transmit rings (vring 2q+1): we read */
};

/* Set once before ports exist (fastpath.copyMode). */
void fp_oc_set_enabled(bool on);
bool fp_oc_enabled(void);
/* Virtio features a one-copy port must not offer. */
uint64_t fp_oc_disabled_features(void);

/* rte_vhost thread, new_connection: install the message hooks. */
int fp_oc_connect(int vid);
/* rte_vhost thread, new_device: map the device for the workers of `slot`. Negative errno
 * (and why in *why) when the device cannot be switched by this mode. */
int fp_oc_attach(uint16_t slot, int vid, const char **why);
/* destroy_device: withdraw the state (before the caller waits for the grace period) ... */
void fp_oc_unpublish(uint16_t slot);
/* ... then hand the indexes back and free it (after the grace period). */
void fp_oc_release(uint16_t slot);

/* Workers: interrupt the pod (its driver asked for interrupts on this ring). */
void fp_oc_call(const struct fp_oc_q *q);

extern struct fp_oc_dev *fp_oc_devs[];

/* Workers: the slot's state for this loop, NULL when not connected. */
static inline struct fp_oc_dev *fp_oc_dev(uint16_t slot)
{
	return __atomic_load_n(&fp_oc_devs[slot], __ATOMIC_ACQUIRE);
}

#endif
