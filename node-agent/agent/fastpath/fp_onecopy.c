/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/fastpath/fp_onecopy.h"
#include "agent/fastpath/fp_config.h"
#include "agent/fastpath/fp_worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_vhost.h>

#define MAX_VIDS 1024 /* rte_vhost's device limit */

/* Virtio feature bits (virtio 1.x). */
#define F_CSUM            0
#define F_GUEST_CSUM      1
#define F_GUEST_TSO4      7
#define F_GUEST_TSO6      8
#define F_GUEST_ECN       9
#define F_GUEST_UFO       10
#define F_HOST_TSO4       11
#define F_HOST_TSO6       12
#define F_HOST_ECN        13
#define F_HOST_UFO        14
#define F_MRG_RXBUF       15
#define F_LOG_ALL         26
#define F_INDIRECT_DESC   28
#define F_EVENT_IDX       29
#define F_VERSION_1       32
#define F_ACCESS_PLATFORM 33
#define F_RING_PACKED     34
#define F_IN_ORDER        35

#define BIT(b)            (1ULL << (b))

/* What the ring code does not implement. Offloads are the pool's business (fp_port masks
 * them all without `offloads`, ECN and UFO always), as in two-copy mode. */
static const uint64_t disabled = BIT(F_GUEST_ECN) | BIT(F_GUEST_UFO) | BIT(F_HOST_ECN) |
                                 BIT(F_HOST_UFO) | BIT(F_LOG_ALL) | BIT(F_INDIRECT_DESC) |
                                 BIT(F_EVENT_IDX) | BIT(F_ACCESS_PLATFORM) | BIT(F_RING_PACKED) |
                                 BIT(F_IN_ORDER);

/* vhost-user requests that change nothing the workers use. */
enum {
	REQ_GET_FEATURES = 1,
	REQ_SET_OWNER = 3,
	REQ_GET_PROTOCOL_FEATURES = 15,
	REQ_SET_PROTOCOL_FEATURES = 16,
	REQ_GET_QUEUE_NUM = 17,
	REQ_GET_CONFIG = 24,
};

struct fp_oc_dev *fp_oc_devs[FP_MAX_PORTS];

static struct {
	bool on;
	pthread_mutex_t lock; /* transitions (rte_vhost's thread, the event loop) */
	uint16_t slot_of_vid[MAX_VIDS];
	struct fp_oc_dev *held[FP_MAX_PORTS]; /* withdrawn during a message, or for release */
	bool running[FP_MAX_PORTS];           /* between attach and release */
	int vid_of_slot[FP_MAX_PORTS];
} OC = {.lock = PTHREAD_MUTEX_INITIALIZER};

void fp_oc_set_enabled(bool on)
{
	OC.on = on;
	for (unsigned i = 0; i < MAX_VIDS; i++)
		OC.slot_of_vid[i] = FP_SLOT_NONE;
	for (unsigned i = 0; i < FP_MAX_PORTS; i++)
		OC.vid_of_slot[i] = -1;
}

bool fp_oc_enabled(void)
{
	return OC.on;
}

uint64_t fp_oc_disabled_features(void)
{
	return disabled;
}

void fp_oc_call(const struct fp_oc_q *q)
{
	uint64_t one = 1;

	if (q->callfd >= 0 && write(q->callfd, &one, sizeof(one)) < 0) {
		/* A full or closed eventfd: the pod polls, or is going away. */
	}
}

static int map_ring(int vid, uint16_t ring, struct fp_oc_q *q)
{
	struct rte_vhost_vring vr;
	uint16_t la, lu;

	q->ok = false;
	q->callfd = -1;
	rte_spinlock_init(&q->lock);
	if (rte_vhost_get_vhost_vring(vid, ring, &vr) < 0 || !vr.desc || !vr.avail || !vr.used)
		return -ENOENT;
	if (rte_vhost_get_vring_base(vid, ring, &la, &lu) < 0)
		return -EIO;
	if (fp_vr_init(&q->ring, vr.desc, vr.avail, vr.used, vr.size, la, lu) < 0)
		return -EINVAL;
	q->callfd = vr.callfd;
	q->ok = true;
	return 0;
}

/* Fresh state from what rte_vhost holds now (memory table, rings, indexes). */
static struct fp_oc_dev *dev_build(int vid, const char **why)
{
	struct rte_vhost_memory *mem = NULL;
	struct fp_oc_dev *d;
	uint64_t f = 0;
	uint16_t nr;

	if (rte_vhost_get_negotiated_features(vid, &f) < 0) {
		*why = "no negotiated features";
		return NULL;
	}
	if (f & (BIT(F_RING_PACKED) | BIT(F_INDIRECT_DESC) | BIT(F_EVENT_IDX) | BIT(F_IN_ORDER) |
	                BIT(F_LOG_ALL) | BIT(F_ACCESS_PLATFORM))) {
		*why = "the pod negotiated a ring feature one-copy mode does not implement "
		       "(packed, indirect, event index, in-order, logging or IOMMU)";
		return NULL;
	}
	if (rte_vhost_get_mem_table(vid, &mem) < 0 || !mem) {
		*why = "no memory table";
		return NULL;
	}
	if (mem->nregions > FP_VR_MAX_REGIONS || !(d = calloc(1, sizeof(*d)))) {
		free(mem);
		*why = "too many memory regions, or out of memory";
		return NULL;
	}
	d->vid = vid;
	d->mrg = f & BIT(F_MRG_RXBUF);
	/* rte_vhost's test for reading a transmit header (virtio_net_with_host_offload). */
	d->host_ol = f & (BIT(F_CSUM) | BIT(F_HOST_TSO4) | BIT(F_HOST_TSO6) | BIT(F_HOST_ECN) |
	                         BIT(F_HOST_UFO));
	d->hdr_len = f & (BIT(F_VERSION_1) | BIT(F_MRG_RXBUF)) ? 12 : 10;
	d->mem.n = mem->nregions;
	for (uint32_t i = 0; i < mem->nregions; i++)
		d->mem.r[i] = (struct fp_vr_region){.gpa = mem->regions[i].guest_phys_addr,
		        .size = mem->regions[i].size,
		        .hva = mem->regions[i].host_user_addr};
	free(mem);
	nr = rte_vhost_get_vring_num(vid);
	for (uint16_t q = 0; q < FP_MAX_QUEUES; q++) {
		d->rxq[q].callfd = d->txq[q].callfd = -1;
		if (2 * q < nr)
			map_ring(vid, 2 * q, &d->rxq[q]);
		if (2 * q + 1 < nr)
			map_ring(vid, 2 * q + 1, &d->txq[q]);
	}
	return d;
}

/* Our ring indexes back to rte_vhost (GET_VRING_BASE answers with them, and the next
 * dev_build starts from them). No worker holds d. */
static void hand_back(const struct fp_oc_dev *d)
{
	for (uint16_t q = 0; q < FP_MAX_QUEUES; q++) {
		if (d->rxq[q].ok)
			rte_vhost_set_vring_base(
			        d->vid, 2 * q, d->rxq[q].ring.last_avail, d->rxq[q].ring.last_used);
		if (d->txq[q].ok)
			rte_vhost_set_vring_base(d->vid, 2 * q + 1, d->txq[q].ring.last_avail,
			        d->txq[q].ring.last_used);
	}
}

/* Withdraw slot's state and wait until no worker holds it. Lock held. */
static struct fp_oc_dev *withdraw(uint16_t slot)
{
	struct fp_oc_dev *d = __atomic_exchange_n(&fp_oc_devs[slot], NULL, __ATOMIC_ACQ_REL);

	if (d) {
		fp_worker_sync();
		hand_back(d);
	}
	return d;
}

static enum rte_vhost_msg_result pre_msg(int vid, void *msg)
{
	uint32_t req;
	uint16_t slot;

	if (vid < 0 || vid >= MAX_VIDS || !msg)
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	memcpy(&req, msg, sizeof(req)); /* VhostUserMsg starts with the request */
	switch (req) {
	case REQ_GET_FEATURES:
	case REQ_SET_OWNER:
	case REQ_GET_PROTOCOL_FEATURES:
	case REQ_SET_PROTOCOL_FEATURES:
	case REQ_GET_QUEUE_NUM:
	case REQ_GET_CONFIG:
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	default:
		break;
	}
	/* rte_vhost holds its vring locks here; the workers take none of them in this mode
	 * (no rte_vhost datapath call, interrupts by eventfd, notification flags written to the
	 * ring directly), so waiting cannot deadlock. */
	pthread_mutex_lock(&OC.lock);
	slot = OC.slot_of_vid[vid];
	if (slot != FP_SLOT_NONE && !OC.held[slot])
		OC.held[slot] = withdraw(slot);
	pthread_mutex_unlock(&OC.lock);
	return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
}

static enum rte_vhost_msg_result post_msg(int vid, void *msg)
{
	const char *why = NULL;
	struct fp_oc_dev *d = NULL;
	uint16_t slot;

	(void)msg;
	if (vid < 0 || vid >= MAX_VIDS)
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	pthread_mutex_lock(&OC.lock);
	slot = OC.slot_of_vid[vid];
	/* Still running (destroy_device did not come in between): map it again, also when an
	 * earlier message left it unmappable (a ring being set up). */
	if (slot != FP_SLOT_NONE && OC.running[slot] && !fp_oc_devs[slot]) {
		if ((d = dev_build(vid, &why)))
			__atomic_store_n(&fp_oc_devs[slot], d, __ATOMIC_RELEASE);
		free(OC.held[slot]);
		OC.held[slot] = NULL;
	}
	pthread_mutex_unlock(&OC.lock);
	if (d)
		fp_worker_wake_all(); /* a sleeping worker re-arms the rings as they are now */
	return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
}

static const struct rte_vhost_user_extern_ops hooks = {
        .pre_msg_handle = pre_msg,
        .post_msg_handle = post_msg,
};

int fp_oc_connect(int vid)
{
	return rte_vhost_extern_callback_register(vid, &hooks, NULL) < 0 ? -EIO : 0;
}

int fp_oc_attach(uint16_t slot, int vid, const char **why)
{
	struct fp_oc_dev *d;

	if (vid < 0 || vid >= MAX_VIDS || slot >= FP_MAX_PORTS) {
		*why = "bad device";
		return -EINVAL;
	}
	if (!(d = dev_build(vid, why)))
		return -ENOTSUP;
	pthread_mutex_lock(&OC.lock);
	free(OC.held[slot]);
	OC.held[slot] = NULL;
	OC.slot_of_vid[vid] = slot;
	OC.running[slot] = true;
	OC.vid_of_slot[slot] = vid;
	__atomic_store_n(&fp_oc_devs[slot], d, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&OC.lock);
	return 0;
}

void fp_oc_unpublish(uint16_t slot)
{
	struct fp_oc_dev *d;

	if (slot >= FP_MAX_PORTS)
		return;
	pthread_mutex_lock(&OC.lock);
	d = __atomic_exchange_n(&fp_oc_devs[slot], NULL, __ATOMIC_ACQ_REL);
	if (d) {
		free(OC.held[slot]);
		OC.held[slot] = d;
	}
	pthread_mutex_unlock(&OC.lock);
}

void fp_oc_release(uint16_t slot)
{
	struct fp_oc_dev *d;

	if (slot >= FP_MAX_PORTS)
		return;
	pthread_mutex_lock(&OC.lock);
	OC.running[slot] = false;
	if ((d = OC.held[slot])) {
		/* After the caller's grace period: no worker holds it. A message's pre-hook
		 * may have handed the indexes back already; again is harmless. */
		hand_back(d);
		free(d);
		OC.held[slot] = NULL;
	}
	if (OC.vid_of_slot[slot] >= 0)
		OC.slot_of_vid[OC.vid_of_slot[slot]] = FP_SLOT_NONE;
	OC.vid_of_slot[slot] = -1;
	pthread_mutex_unlock(&OC.lock);
}
