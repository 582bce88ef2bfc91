/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/fastpath/fp_port.h"
#include "agent/fastpath/fp_eal.h"
#include "agent/fastpath/fp_offload.h"
#include "agent/fastpath/fp_onecopy.h"
#include "agent/fastpath/fp_tap.h"
#include "common/log.h"
#include "common/str.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_vhost.h>

#define MAX_VIDS        1024 /* rte_vhost's device limit */
#define DESTROY_WAIT_MS 200

struct fp_port {
	uint16_t slot;
	enum fp_port_kind kind;
	char name[160];
	struct fp_port_info info;
	bool registered;                /* vhost driver registered for info.path */
	struct fp_tap *tap;             /* TAP ports (also in the runtime state, for workers) */
	uint8_t workers[FP_MAX_QUEUES]; /* worker of each receive queue (fixed for life) */
	struct fp_stats base;
	/* Written by the vhost thread. */
	uint64_t features; /* negotiated, 0 when not known */
	bool connected;
	uint64_t connects;
};

static struct {
	unsigned max;
	struct fp_port **slots;
	size_t n;
	/* Between the event loop and rte_vhost's thread: the slot table and path lookups. */
	pthread_mutex_t lock;
	uint16_t slot_of_vid[MAX_VIDS];
	/* Rings each vhost device has enabled (vhost thread only): bit q of rx for ring 2q+1,
	 * of tx for ring 2q, whatever the pool allows. */
	uint16_t vid_rx[MAX_VIDS], vid_tx[MAX_VIDS];
	bool uplink_started;
	uint16_t uplink_eth;
	char uplink_notes[512];
	char uplink_offloads[160];
	unsigned n_workers;
	unsigned load[FP_MAX_WORKERS]; /* receive queues placed on each worker */
} P = {.lock = PTHREAD_MUTEX_INITIALIZER};

int fp_port_init(unsigned max_ports, unsigned n_workers, struct kb_err *err)
{
	if (n_workers < 1 || n_workers > FP_MAX_WORKERS)
		return kb_err_set(err, EINVAL, "bad worker count %u", n_workers);
	P.n_workers = n_workers;
	memset(P.load, 0, sizeof(P.load));
	P.uplink_notes[0] = '\0';
	P.max = max_ports + 1; /* + the uplink */
	if (!(P.slots = calloc(P.max, sizeof(*P.slots))))
		return kb_err_set(err, ENOMEM, "out of memory");
	for (unsigned i = 0; i < MAX_VIDS; i++)
		P.slot_of_vid[i] = FP_SLOT_NONE;
	return 0;
}

uint16_t fp_port_slot(const struct fp_port *p)
{
	return p->slot;
}
enum fp_port_kind fp_port_kind(const struct fp_port *p)
{
	return p->kind;
}
const struct fp_port_info *fp_port_info(const struct fp_port *p)
{
	return &p->info;
}
const char *fp_port_name(const struct fp_port *p)
{
	return p->name;
}
bool fp_port_connected(const struct fp_port *p)
{
	if (p->kind == FP_PORT_UPLINK) {
		struct rte_eth_link link;
		return rte_eth_link_get_nowait(fp_worker_rt(p->slot)->eth_port, &link) == 0 &&
		       link.link_status == RTE_ETH_LINK_UP;
	}
	return __atomic_load_n(&p->connected, __ATOMIC_RELAXED);
}
uint16_t fp_port_active_queues(const struct fp_port *p)
{
	const struct fp_rt *rt = fp_worker_rt(p->slot);

	if (p->kind == FP_PORT_UPLINK || p->kind == FP_PORT_TAP)
		return p->info.queues;
	if (__atomic_load_n(&rt->vid, __ATOMIC_RELAXED) < 0)
		return 0;
	return __builtin_popcount(__atomic_load_n(&rt->rx_en, __ATOMIC_RELAXED) |
	                          __atomic_load_n(&rt->tx_en, __ATOMIC_RELAXED));
}
uint16_t fp_port_excess_queues(const struct fp_port *p)
{
	int32_t vid = __atomic_load_n(&fp_worker_rt(p->slot)->vid, __ATOMIC_RELAXED);
	uint16_t all;

	if (p->kind != FP_PORT_VHOST || vid < 0 || vid >= MAX_VIDS)
		return 0;
	all = __atomic_load_n(&P.vid_rx[vid], __ATOMIC_RELAXED) |
	      __atomic_load_n(&P.vid_tx[vid], __ATOMIC_RELAXED);
	return __builtin_popcount(all >> p->info.queues);
}
const uint8_t *fp_port_queue_workers(const struct fp_port *p)
{
	return p->workers;
}
const char *fp_port_uplink_notes(void)
{
	return P.uplink_notes;
}
const char *fp_port_uplink_offloads(void)
{
	return P.uplink_offloads;
}
uint64_t fp_port_connects(const struct fp_port *p)
{
	return __atomic_load_n(&p->connects, __ATOMIC_RELAXED);
}
size_t fp_port_count(void)
{
	return P.n;
}

struct fp_port *fp_port_first(void)
{
	for (unsigned i = 0; i < P.max; i++)
		if (P.slots[i])
			return P.slots[i];
	return NULL;
}

struct fp_port *fp_port_next(struct fp_port *p)
{
	for (unsigned i = p->slot + 1; i < P.max; i++)
		if (P.slots[i])
			return P.slots[i];
	return NULL;
}

struct fp_port *fp_port_find(const char *cid, const char *ifname)
{
	for (struct fp_port *p = fp_port_first(); p; p = fp_port_next(p))
		if ((p->kind == FP_PORT_VHOST || p->kind == FP_PORT_TAP) &&
		        !strcmp(p->info.container_id, cid) && !strcmp(p->info.ifname, ifname))
			return p;
	return NULL;
}

struct fp_port *fp_port_find_path(const char *path)
{
	for (struct fp_port *p = fp_port_first(); p; p = fp_port_next(p))
		if (p->kind == FP_PORT_VHOST && !strcmp(p->info.path, path))
			return p;
	return NULL;
}

const char *fp_port_container_id(const struct fp_port *p)
{
	return p->info.container_id;
}

const char *fp_port_ifname(const struct fp_port *p)
{
	return p->info.ifname;
}

void fp_port_stats(const struct fp_port *p, struct fp_stats *ret)
{
	uint64_t *d = (uint64_t *)ret;
	const uint64_t *b = (const uint64_t *)&p->base;

	fp_worker_port_stats(p->slot, ret);
	for (unsigned i = 0; i < FP_STATS_FIELDS; i++)
		d[i] -= b[i];
}

int fp_port_descs(const struct fp_port *skip, struct fp_port_desc **ret, size_t *ret_n)
{
	struct fp_port_desc *v = calloc(P.n ? P.n : 1, sizeof(*v));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (struct fp_port *p = fp_port_first(); p; p = fp_port_next(p)) {
		struct fp_port_desc *d;
		if (p == skip)
			continue;
		d = &v[n++];
		d->slot = p->slot;
		d->kind = p->kind;
		memcpy(d->mac, p->info.mac, 6);
		d->mtu = p->info.mtu;
		d->network = p->info.network;
		d->vlan = p->info.vlan;
		d->queues = p->info.queues;
		d->workers = p->workers;
		d->pcp = p->info.pcp;
		d->trunk = p->info.has_trunk ? p->info.trunk : NULL;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* A free slot (lowest first), or -ENOSPC. Called with the lock held. */
static int slot_alloc(struct fp_port *p)
{
	for (unsigned i = 0; i < P.max; i++)
		if (!P.slots[i]) {
			p->slot = i;
			/* Counters of an earlier port in this slot stay with the workers. */
			fp_worker_port_stats(i, &p->base);
			P.slots[i] = p;
			P.n++;
			return 0;
		}
	return -ENOSPC;
}

static void slot_free(struct fp_port *p)
{
	pthread_mutex_lock(&P.lock);
	P.slots[p->slot] = NULL;
	P.n--;
	pthread_mutex_unlock(&P.lock);
}

/* ---- vhost-user ---- */

static struct fp_port *port_by_path(const char *path)
{
	for (unsigned i = 0; i < P.max; i++)
		if (P.slots[i] && P.slots[i]->kind == FP_PORT_VHOST &&
		        !strcmp(P.slots[i]->info.path, path))
			return P.slots[i];
	return NULL;
}

/* The port of a vhost device, by its socket path (lock held), or NULL. */
static struct fp_port *port_of_vid(int vid)
{
	char path[PATH_MAX];

	if (rte_vhost_get_ifname(vid, path, sizeof(path)) < 0)
		return NULL;
	return port_by_path(path);
}

/* Rings the pod enabled, within the pool's `queues`, to the workers. Lock held. */
static void publish_rings(struct fp_port *p, int vid)
{
	uint16_t cap = (uint16_t)((1u << p->info.queues) - 1);
	struct fp_rt *rt = fp_worker_rt(p->slot);

	__atomic_store_n(&rt->rx_en, P.vid_rx[vid] & cap, __ATOMIC_RELAXED);
	__atomic_store_n(&rt->tx_en, P.vid_tx[vid] & cap, __ATOMIC_RELAXED);
}

#define VIRTIO_NET_F_CSUM       0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN  9
#define VIRTIO_NET_F_GUEST_UFO  10
#define VIRTIO_NET_F_HOST_TSO4  11
#define VIRTIO_NET_F_HOST_TSO6  12
#define VIRTIO_NET_F_HOST_ECN   13
#define VIRTIO_NET_F_HOST_UFO   14

/* What the pod's driver accepted, as the workers' FP_OL_CAP_* for frames towards it. */
static void publish_caps(struct fp_port *p, int vid)
{
	uint64_t f = 0;
	uint8_t caps = 0;
	int r = rte_vhost_get_negotiated_features(vid, &f);

	if (p->info.offloads && r == 0) {
		if (f & 1ULL << VIRTIO_NET_F_GUEST_CSUM) {
			caps |= FP_OL_CAP_CSUM;
			/* The spec makes GUEST_TSO depend on GUEST_CSUM. */
			if (f & 1ULL << VIRTIO_NET_F_GUEST_TSO4)
				caps |= FP_OL_CAP_TSO4;
			if (f & 1ULL << VIRTIO_NET_F_GUEST_TSO6)
				caps |= FP_OL_CAP_TSO6;
		}
	}
	p->features = f;
	__atomic_store_n(&fp_worker_rt(p->slot)->ol_caps, caps, __ATOMIC_RELAXED);
	LOG_INFO("fastpath: port %s: virtio features %#llx (%d), offloads %s: csum %s, tso4 %s, "
	         "tso6 %s",
	        p->name, (unsigned long long)f, r, p->info.offloads ? "on" : "off",
	        caps & FP_OL_CAP_CSUM ? "whole" : "software",
	        caps & FP_OL_CAP_TSO4 ? "whole" : "software",
	        caps & FP_OL_CAP_TSO6 ? "whole" : "software");
}

/* rte_vhost thread: a new connection (its device has no ring enabled yet). */
static int on_new_connection(int vid)
{
	if (vid < 0 || vid >= MAX_VIDS)
		return -1;
	__atomic_store_n(&P.vid_rx[vid], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&P.vid_tx[vid], 0, __ATOMIC_RELAXED);
	/* One-copy mode: hooks around the messages that change memory or rings. */
	if (fp_oc_enabled() && fp_oc_connect(vid) < 0)
		return -1;
	return 0;
}

/* rte_vhost thread, with every ring's access lock held (DPDK 22.11 calls this while handling
 * SET_VRING_ENABLE and the other ring messages): only record the state, never wait for the
 * workers here (one may be spinning on such a lock in rte_vhost_enqueue_burst). A worker that
 * still uses a ring just disabled gets 0 frames through it (counted txFull), nothing worse.
 * virtio-user enables pair 0 at start and other pairs only when the app configures them. */
static int on_vring_state_changed(int vid, uint16_t ring, int enable)
{
	uint16_t *mask, bit;
	struct fp_port *p;

	if (vid < 0 || vid >= MAX_VIDS || ring / 2 >= 16)
		return 0;
	mask = ring & 1 ? &P.vid_rx[vid] : &P.vid_tx[vid];
	bit = (uint16_t)(1u << (ring / 2));
	__atomic_store_n(mask, enable ? *mask | bit : *mask & ~bit, __ATOMIC_RELAXED);
	pthread_mutex_lock(&P.lock);
	if ((p = port_of_vid(vid)))
		publish_rings(p, vid);
	pthread_mutex_unlock(&P.lock);
	fp_worker_wake_all(); /* a sleeping worker starts watching the ring's kicks */
	return 0;
}

/* rte_vhost thread: the pod's virtio-user driver finished setting up the rings. */
static int on_new_device(int vid)
{
	struct fp_port *p;
	uint16_t slot;

	if (vid < 0 || vid >= MAX_VIDS)
		return -1;
	pthread_mutex_lock(&P.lock);
	if (!(p = port_of_vid(vid))) {
		pthread_mutex_unlock(&P.lock);
		return -1;
	}
	slot = p->slot;
	/* We poll: the guest need not kick us (saves it a syscall per burst). */
	for (uint16_t q = 0; q < rte_vhost_get_vring_num(vid); q++)
		rte_vhost_enable_guest_notification(vid, q, 0);
	if (fp_oc_enabled()) {
		const char *why = "";
		if (fp_oc_attach(slot, vid, &why) < 0) {
			LOG_ERR("fastpath: port %s: refused in one-copy mode: %s", p->name, why);
			pthread_mutex_unlock(&P.lock);
			return -1;
		}
	}
	P.slot_of_vid[vid] = slot;
	publish_rings(p, vid);
	publish_caps(p, vid);
	__atomic_store_n(&fp_worker_rt(slot)->vid, vid, __ATOMIC_RELEASE);
	__atomic_store_n(&p->connected, true, __ATOMIC_RELAXED);
	__atomic_add_fetch(&p->connects, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&P.lock);
	fp_worker_wake_all();
	return 0;
}

/* rte_vhost thread (or the event loop inside rte_vhost_driver_unregister): the device is
 * going away, and rte_vhost may free it as soon as we return. Workers must be done with it.
 *
 * DPDK 22.11 (lib/vhost/vhost_user.c, vhost_user_msg_handler) takes no vring access lock
 * for GET_VRING_BASE and RESET_OWNER ("destroy_device waits for queues to be inactive"), and
 * none when the connection closes (vhost_destroy_device, then free_device). So no worker can
 * be blocked on a lock we hold, and waiting for every worker to pass a quiescent state cannot
 * deadlock: wait without a bound. A worker starved of CPU delays this thread (the watchdog
 * reports it); it never touches freed memory. */
static void on_destroy_device(int vid)
{
	uint16_t slot;

	if (vid < 0 || vid >= MAX_VIDS)
		return;
	slot = __atomic_load_n(&P.slot_of_vid[vid], __ATOMIC_RELAXED);
	if (slot == FP_SLOT_NONE)
		return;
	fp_worker_test_stall(slot, vid);
	__atomic_store_n(&fp_worker_rt(slot)->vid, -1, __ATOMIC_RELEASE);
	fp_worker_wake_all();
	fp_oc_unpublish(slot);
	fp_worker_sync();
	fp_oc_release(slot); /* ring indexes back to rte_vhost: GET_VRING_BASE, reconnect */
	__atomic_store_n(&P.slot_of_vid[vid], FP_SLOT_NONE, __ATOMIC_RELAXED);
	pthread_mutex_lock(&P.lock);
	if (P.slots[slot]) {
		__atomic_store_n(&P.slots[slot]->connected, false, __ATOMIC_RELAXED);
		P.slots[slot]->features = 0;
	}
	pthread_mutex_unlock(&P.lock);
	fp_worker_test_destroyed(vid);
}

/* rte_vhost thread: SET_FEATURES on a running device (features only ever shrink then; a
 * destination must never get what its driver no longer takes). */
static int on_features_changed(int vid, uint64_t features)
{
	struct fp_port *p;

	(void)features;
	if (vid < 0 || vid >= MAX_VIDS)
		return 0;
	pthread_mutex_lock(&P.lock);
	if ((p = port_of_vid(vid)) && P.slot_of_vid[vid] == p->slot)
		publish_caps(p, vid);
	pthread_mutex_unlock(&P.lock);
	return 0;
}

static const struct rte_vhost_device_ops vhost_ops = {
        .new_device = on_new_device,
        .features_changed = on_features_changed,
        .destroy_device = on_destroy_device,
        .vring_state_changed = on_vring_state_changed,
        .new_connection = on_new_connection,
};

/* A pool without offloads: the pod must hand over plain frames within its MTU. */
static const uint64_t disabled_features =
        1ULL << VIRTIO_NET_F_CSUM | 1ULL << VIRTIO_NET_F_GUEST_CSUM |
        1ULL << VIRTIO_NET_F_GUEST_TSO4 | 1ULL << VIRTIO_NET_F_GUEST_TSO6 |
        1ULL << VIRTIO_NET_F_GUEST_ECN | 1ULL << VIRTIO_NET_F_GUEST_UFO |
        1ULL << VIRTIO_NET_F_HOST_TSO4 | 1ULL << VIRTIO_NET_F_HOST_TSO6 |
        1ULL << VIRTIO_NET_F_HOST_ECN | 1ULL << VIRTIO_NET_F_HOST_UFO;
/* With offloads: what the switch does not implement (ECN on GSO frames, UDP fragmentation
 * offload). */
static const uint64_t disabled_with_offloads =
        1ULL << VIRTIO_NET_F_GUEST_ECN | 1ULL << VIRTIO_NET_F_GUEST_UFO |
        1ULL << VIRTIO_NET_F_HOST_ECN | 1ULL << VIRTIO_NET_F_HOST_UFO;

int fp_port_add_vhost(const struct fp_port_info *info, struct fp_port **ret, struct kb_err *err)
{
	struct fp_port *p = calloc(1, sizeof(*p));
	uint64_t flags = RTE_VHOST_USER_NET_COMPLIANT_OL_FLAGS;
	int r;

	if (!p)
		return kb_err_set(err, ENOMEM, "out of memory");
	p->kind = FP_PORT_VHOST;
	p->info = *info;
	snprintf(p->name, sizeof(p->name), "%.12s/%s", info->container_id, info->ifname);
	pthread_mutex_lock(&P.lock);
	if (port_by_path(info->path)) {
		pthread_mutex_unlock(&P.lock);
		free(p);
		return kb_err_set(err, EEXIST, "a fast-path port already uses %s", info->path);
	}
	r = slot_alloc(p);
	pthread_mutex_unlock(&P.lock);
	if (r < 0) {
		free(p);
		return kb_err_set(err, ENOSPC,
		        "the fast path has no free port (fastpath.maxPorts %u)", P.max - 1);
	}
	if (info->queues < 1 || info->queues > FP_MAX_QUEUES) {
		slot_free(p);
		free(p);
		return kb_err_set(err, EINVAL, "%u queue pairs (the fast path allows 1..%d)",
		        info->queues, FP_MAX_QUEUES);
	}
	fp_assign_queues(P.load, P.n_workers, info->queues, p->workers);
	fp_worker_rt(p->slot)->vid = -1;
	fp_worker_rt(p->slot)->rx_en = 0;
	fp_worker_rt(p->slot)->tx_en = 0;
	fp_worker_rt(p->slot)->ol_caps = 0;
	if (!info->agent_server)
		flags |= RTE_VHOST_USER_CLIENT; /* reconnects until the pod's server is there */
	/* A GSO frame (up to 64 KiB) that does not fit one mbuf goes into one external buffer
	 * rather than a chain of ~30 mbufs (headers in the first segment, one copy). */
	if (info->offloads)
		flags |= RTE_VHOST_USER_EXTBUF_SUPPORT;
	if (rte_vhost_driver_register(info->path, flags) < 0) {
		r = kb_err_set(err, EIO, "registering vhost-user %s %s failed",
		        info->agent_server ? "server" : "client", info->path);
		goto fail;
	}
	p->registered = true;
	if (rte_vhost_driver_disable_features(
	            info->path, (info->offloads ? disabled_with_offloads : disabled_features) |
	                                (fp_oc_enabled() ? fp_oc_disabled_features() : 0)) < 0 ||
	        rte_vhost_driver_callback_register(info->path, &vhost_ops) < 0 ||
	        rte_vhost_driver_start(info->path) < 0) {
		r = kb_err_set(err, EIO, "starting vhost-user %s on %s failed",
		        info->agent_server ? "server" : "client", info->path);
		goto fail;
	}
	*ret = p;
	return 0;
fail:
	if (p->registered)
		rte_vhost_driver_unregister(info->path);
	fp_release_queues(P.load, P.n_workers, info->queues, p->workers);
	slot_free(p);
	free(p);
	return r;
}

void fp_port_remove(struct fp_port *p)
{
	if (p->kind == FP_PORT_VHOST && p->registered) {
		/* Not under the lock: this may call on_destroy_device on this thread. */
		rte_vhost_driver_unregister(p->info.path);
	} else if (p->kind == FP_PORT_UPLINK && P.uplink_started) {
		rte_eth_dev_stop(P.uplink_eth);
		rte_eth_dev_close(P.uplink_eth);
		P.uplink_started = false;
	}
	if (p->kind == FP_PORT_VHOST || p->kind == FP_PORT_TAP)
		fp_release_queues(P.load, P.n_workers, p->info.queues, p->workers);
	/* Workers left the port with the table republished without it. */
	if (p->kind == FP_PORT_TAP) {
		/* Ours, not the runtime state's: fp_worker_fini clears that at shutdown. */
		fp_tap_destroy(p->tap);
		fp_worker_rt(p->slot)->tap = NULL;
	}
	fp_worker_rt(p->slot)->vid = -1;
	slot_free(p);
	free(p);
}

/* ---- TAP (kernel device type) ---- */

const char *fp_port_tap_io(const struct fp_port *p)
{
	const struct fp_tap *t = p->tap;

	if (!t)
		return "";
	if (fp_tap_io(t) == FP_TAP_IO_SYSCALL)
		return "syscall";
	return fp_tap_uring_note()[0] ? "syscall (io_uring unavailable)" : "uring";
}

int fp_port_add_tap(const struct fp_port_info *info, const int *fds, bool syscall_io,
        struct rte_mempool *pool, struct fp_port **ret, struct kb_err *err)
{
	struct fp_port *p = calloc(1, sizeof(*p));
	/* With offloads the kernel hands over TSO frames of up to 64 KiB of IP packet. */
	uint32_t max_frame =
	        info->offloads ? FP_OL_MAX_LEN : info->mtu + FP_ETH_HLEN + FP_VLAN_HLEN;
	struct fp_tap *tap;
	int r;

	if (!p)
		return kb_err_set(err, ENOMEM, "out of memory");
	if (info->queues < 1 || info->queues > FP_MAX_QUEUES) {
		free(p);
		return kb_err_set(err, EINVAL, "%u TAP queues (the fast path allows 1..%d)",
		        info->queues, FP_MAX_QUEUES);
	}
	if ((r = fp_tap_create(fds, info->queues, syscall_io ? FP_TAP_IO_SYSCALL : FP_TAP_IO_URING,
	             max_frame, pool, &tap, err)) < 0) {
		free(p);
		return r;
	}
	p->kind = FP_PORT_TAP;
	p->info = *info;
	snprintf(p->name, sizeof(p->name), "%.12s/%s", info->container_id, info->ifname);
	pthread_mutex_lock(&P.lock);
	r = slot_alloc(p);
	pthread_mutex_unlock(&P.lock);
	if (r < 0) {
		fp_tap_destroy(tap);
		free(p);
		return kb_err_set(err, ENOSPC,
		        "the fast path has no free port (fastpath.maxPorts %u)", P.max - 1);
	}
	fp_assign_queues(P.load, P.n_workers, info->queues, p->workers);
	fp_worker_rt(p->slot)->vid = -1;
	p->tap = tap;
	fp_worker_rt(p->slot)->tap = tap;
	/* The kernel takes partial checksums and GSO frames whole from a TAP with a
	 * virtio-net header (it segments them itself if it must). */
	fp_worker_rt(p->slot)->ol_caps =
	        info->offloads ? FP_OL_CAP_CSUM | FP_OL_CAP_TSO4 | FP_OL_CAP_TSO6 : 0;
	p->connected = true;
	p->connects = 1;
	*ret = p;
	return 0;
}

void fp_port_fini(void)
{
	struct fp_port *p, *next;

	for (p = P.slots ? fp_port_first() : NULL; p; p = next) {
		next = fp_port_next(p);
		fp_port_remove(p);
	}
	free(P.slots);
	P.slots = NULL;
	P.max = 0;
	P.n = 0;
}

/* ---- uplink ---- */

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	size_t off = strlen(P.uplink_notes);
	va_list ap;

	if (off && off + 2 < sizeof(P.uplink_notes)) {
		strcpy(P.uplink_notes + off, "; ");
		off += 2;
	}
	va_start(ap, fmt);
	vsnprintf(P.uplink_notes + off, sizeof(P.uplink_notes) - off, fmt, ap);
	va_end(ap);
}

int fp_port_add_uplink(const char *devargs, unsigned mtu, unsigned rx_desc, unsigned tx_desc,
        unsigned n_workers, struct rte_mempool *pool, struct kb_err *err)
{
	struct rte_eth_conf conf = {0};
	struct rte_eth_dev_info dev;
	char name[128];
	uint16_t port, nrx = rx_desc, ntx = tx_desc, n_rxq;
	/* The longest frame: MTU, Ethernet header, a VLAN tag, and the CRC the PMD may count. */
	uint32_t frame = mtu + FP_ETH_HLEN + FP_VLAN_HLEN + 4;
	uint32_t room = rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM;
	uint64_t ol_want;
	uint8_t caps = 0;
	struct fp_port *p;
	int r;

	P.uplink_notes[0] = '\0';
	P.uplink_offloads[0] = '\0';
	if (fp_devargs_name(devargs, name, sizeof(name)) < 0)
		return kb_err_set(err, EINVAL, "uplink devargs '%s': bad device name", devargs);
	if (rte_eth_dev_get_port_by_name(name, &port) != 0)
		return kb_err_set(
		        err, ENODEV, "uplink %s: no such DPDK port (devargs '%s')", name, devargs);
	if ((r = rte_eth_dev_info_get(port, &dev)) < 0)
		return kb_err_set(err, -r, "uplink %s: %s", name, strerror(-r));
	if (dev.max_tx_queues < n_workers)
		return kb_err_set(err, EINVAL,
		        "uplink %s has %u transmit queues, the fast path needs one per worker (%u)",
		        name, dev.max_tx_queues, n_workers);
	/* One receive queue per worker where the PMD has them, spread by RSS where offered. */
	n_rxq = dev.max_rx_queues < n_workers ? dev.max_rx_queues : n_workers;
	if (n_rxq < 1)
		n_rxq = 1;
	if (n_rxq < n_workers)
		note("%u receive queue(s) for %u workers", n_rxq, n_workers);
	if (n_rxq > 1) {
		uint64_t hf = dev.flow_type_rss_offloads &
		              (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP);
		if (hf) {
			conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
			conf.rx_adv_conf.rss_conf.rss_hf = hf;
		} else {
			note("no RSS: the PMD spreads frames over its %u receive queues itself",
			        n_rxq);
		}
	}
	/* MTU: what the PMD accepts; the switch drops larger frames towards it in any case. */
	if (dev.max_mtu >= mtu && dev.max_rx_pktlen >= mtu + FP_ETH_HLEN + 4)
		conf.rxmode.mtu = mtu;
	else
		note("MTU %u not applied (PMD maximum frame %u bytes)", mtu, dev.max_rx_pktlen);
	if (frame > room) {
		if (dev.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER)
			conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
		else
			note("no scatter receive: frames over %u bytes need larger mbufs "
			     "(fastpath.mbufSize)",
			        room);
	}
	if (dev.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) {
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	} else if (frame > room) {
		/* Frames longer than one mbuf would be chains the PMD cannot send: the switch
		 * drops them (oversize) by taking the uplink's MTU down to what fits. */
		note("no multi-segment transmit: MTU %u lowered to %u", mtu,
		        room - FP_ETH_HLEN - FP_VLAN_HLEN - 4);
		mtu = room - FP_ETH_HLEN - FP_VLAN_HLEN - 4;
	}
	/* Checksums and TSO by the PMD where it has them; else the switch segments (librte_gso)
	 * and checksums in software before the frames reach it. */
	ol_want = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
	          RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
	if ((dev.tx_offload_capa & ol_want) == ol_want) {
		conf.txmode.offloads |= ol_want;
		caps |= FP_OL_CAP_CSUM;
		if (dev.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_TSO) {
			conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_TSO;
			caps |= FP_OL_CAP_TSO4 | FP_OL_CAP_TSO6;
		}
	}
	snprintf(P.uplink_offloads, sizeof(P.uplink_offloads), "%s",
	        caps & FP_OL_CAP_TSO4   ? "PMD: TSO and checksums"
	        : caps & FP_OL_CAP_CSUM ? "PMD: checksums; software: segmentation (librte_gso)"
	                                : "software: segmentation (librte_gso) and checksums");
	if ((r = rte_eth_dev_configure(port, n_rxq, n_workers, &conf)) < 0)
		return kb_err_set(err, -r, "uplink %s: configure: %s", name, strerror(-r));
	/* Clamp the ring sizes to what the device supports. */
	rte_eth_dev_adjust_nb_rx_tx_desc(port, &nrx, &ntx);
	for (uint16_t q = 0; q < n_rxq; q++)
		if ((r = rte_eth_rx_queue_setup(
		             port, q, nrx, rte_eth_dev_socket_id(port), NULL, pool)) < 0)
			return kb_err_set(
			        err, -r, "uplink %s: rx queue %u: %s", name, q, strerror(-r));
	for (unsigned q = 0; q < n_workers; q++)
		if ((r = rte_eth_tx_queue_setup(port, q, ntx, rte_eth_dev_socket_id(port), NULL)) <
		        0)
			return kb_err_set(
			        err, -r, "uplink %s: tx queue %u: %s", name, q, strerror(-r));
	/* Frames for every pod's MAC arrive here. */
	rte_eth_promiscuous_enable(port);
	if ((r = rte_eth_dev_start(port)) < 0)
		return kb_err_set(err, -r, "uplink %s: start: %s", name, strerror(-r));
	P.uplink_started = true;
	P.uplink_eth = port;
	if (!(p = calloc(1, sizeof(*p)))) {
		r = kb_err_set(err, ENOMEM, "out of memory");
		goto fail_stop;
	}
	p->kind = FP_PORT_UPLINK;
	p->info.mtu = mtu;
	p->info.vlan = FP_VLAN_NONE;
	/* Receive queue q on worker q: one each. */
	p->info.queues = n_rxq;
	for (uint16_t q = 0; q < n_rxq; q++) {
		p->workers[q] = q;
		P.load[q]++;
	}
	snprintf(p->name, sizeof(p->name), "uplink");
	str_copy(p->info.device_id, sizeof(p->info.device_id), name);
	pthread_mutex_lock(&P.lock);
	r = slot_alloc(p);
	pthread_mutex_unlock(&P.lock);
	if (r < 0) {
		free(p);
		r = kb_err_set(err, ENOSPC, "no slot for the uplink");
		goto fail_stop;
	}
	fp_worker_rt(p->slot)->eth_port = port;
	fp_worker_rt(p->slot)->vid = -1;
	fp_worker_rt(p->slot)->ol_caps = caps;
	/* Software segments are chains (header + payload reference). */
	fp_worker_rt(p->slot)->linear = !(conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_MULTI_SEGS);
	return 0;
fail_stop:
	rte_eth_dev_stop(port);
	rte_eth_dev_close(port);
	P.uplink_started = false;
	return r;
}

void fp_port_offload_desc(const struct fp_port *p, char *buf, size_t size)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {{VIRTIO_NET_F_CSUM, "csum"}, {VIRTIO_NET_F_GUEST_CSUM, "guest_csum"},
	        {VIRTIO_NET_F_HOST_TSO4, "host_tso4"}, {VIRTIO_NET_F_HOST_TSO6, "host_tso6"},
	        {VIRTIO_NET_F_GUEST_TSO4, "guest_tso4"}, {VIRTIO_NET_F_GUEST_TSO6, "guest_tso6"}};
	uint64_t f;
	size_t off = 0;

	buf[0] = '\0';
	if (p->kind == FP_PORT_TAP) {
		/* What TUNSETOFFLOAD gave the kernel: it sends and takes these. */
		snprintf(buf, size, "%s", p->info.offloads ? "csum,tso4,tso6" : "");
		return;
	}
	pthread_mutex_lock(&P.lock);
	f = p->features;
	pthread_mutex_unlock(&P.lock);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int n;
		if (!(f & 1ULL << names[i].bit))
			continue;
		n = snprintf(buf + off, size - off, "%s%s", off ? "," : "", names[i].name);
		if (n < 0 || (size_t)n >= size - off)
			break;
		off += (size_t)n;
	}
}
