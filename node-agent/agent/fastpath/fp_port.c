/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/fastpath/fp_port.h"
#include "agent/fastpath/fp_eal.h"
#include "common/str.h"

#include <errno.h>
#include <pthread.h>
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
	bool registered; /* vhost driver registered for info.path */
	struct fp_stats base;
	/* Written by the vhost thread. */
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
	bool uplink_started;
	uint16_t uplink_eth;
} P = {.lock = PTHREAD_MUTEX_INITIALIZER};

int fp_port_init(unsigned max_ports, struct kb_err *err)
{
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
	return p->kind == FP_PORT_UPLINK
	               ? 1
	               : __atomic_load_n(&fp_worker_rt(p->slot)->nq, __ATOMIC_RELAXED);
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
		if (p->kind == FP_PORT_VHOST && !strcmp(p->info.container_id, cid) &&
		        !strcmp(p->info.ifname, ifname))
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

/* rte_vhost thread: the pod's virtio-user driver finished setting up the rings. */
static int on_new_device(int vid)
{
	char path[PATH_MAX];
	struct fp_port *p;
	uint16_t nq, slot;

	if (vid < 0 || vid >= MAX_VIDS || rte_vhost_get_ifname(vid, path, sizeof(path)) < 0)
		return -1;
	pthread_mutex_lock(&P.lock);
	if (!(p = port_by_path(path))) {
		pthread_mutex_unlock(&P.lock);
		return -1;
	}
	slot = p->slot;
	nq = rte_vhost_get_vring_num(vid) / 2;
	if (nq > p->info.queues)
		nq = p->info.queues;
	if (nq == 0)
		nq = 1;
	/* We poll: the guest need not kick us (saves it a syscall per burst). */
	for (uint16_t q = 0; q < rte_vhost_get_vring_num(vid); q++)
		rte_vhost_enable_guest_notification(vid, q, 0);
	P.slot_of_vid[vid] = slot;
	__atomic_store_n(&fp_worker_rt(slot)->nq, nq, __ATOMIC_RELAXED);
	__atomic_store_n(&fp_worker_rt(slot)->vid, vid, __ATOMIC_RELEASE);
	__atomic_store_n(&p->connected, true, __ATOMIC_RELAXED);
	__atomic_add_fetch(&p->connects, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&P.lock);
	return 0;
}

/* rte_vhost thread (or the event loop inside rte_vhost_driver_unregister): the device is
 * going away. Workers must be done with the vid before rte_vhost frees it.
 *
 * rte_vhost calls this from two places: when the connection closes (no vring lock held; the
 * device is freed next, so we must wait for every worker), and while handling
 * GET_VRING_BASE with every vring's access lock held (the device stays allocated). In the
 * second case a worker may be spinning on that lock inside rte_vhost_enqueue_burst and cannot
 * report a quiescent state until we return: waiting forever would deadlock the worker and the
 * vhost thread. So wait with a bound; a worker that has not passed by then is blocked on the
 * lock of this very device, which stays valid, and sees it disabled once the lock is free. */
static void on_destroy_device(int vid)
{
	uint16_t slot;

	if (vid < 0 || vid >= MAX_VIDS)
		return;
	slot = __atomic_load_n(&P.slot_of_vid[vid], __ATOMIC_RELAXED);
	if (slot == FP_SLOT_NONE)
		return;
	__atomic_store_n(&fp_worker_rt(slot)->vid, -1, __ATOMIC_RELEASE);
	fp_worker_sync_timeout(DESTROY_WAIT_MS);
	__atomic_store_n(&P.slot_of_vid[vid], FP_SLOT_NONE, __ATOMIC_RELAXED);
	pthread_mutex_lock(&P.lock);
	if (P.slots[slot])
		__atomic_store_n(&P.slots[slot]->connected, false, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&P.lock);
}

static const struct rte_vhost_device_ops vhost_ops = {
        .new_device = on_new_device,
        .destroy_device = on_destroy_device,
};

/* Offloads the switch does not implement: the pod must hand over plain frames. */
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
static const uint64_t disabled_features =
        1ULL << VIRTIO_NET_F_CSUM | 1ULL << VIRTIO_NET_F_GUEST_CSUM |
        1ULL << VIRTIO_NET_F_GUEST_TSO4 | 1ULL << VIRTIO_NET_F_GUEST_TSO6 |
        1ULL << VIRTIO_NET_F_GUEST_ECN | 1ULL << VIRTIO_NET_F_GUEST_UFO |
        1ULL << VIRTIO_NET_F_HOST_TSO4 | 1ULL << VIRTIO_NET_F_HOST_TSO6 |
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
	fp_worker_rt(p->slot)->vid = -1;
	fp_worker_rt(p->slot)->nq = 0;
	if (!info->agent_server)
		flags |= RTE_VHOST_USER_CLIENT; /* reconnects until the pod's server is there */
	if (rte_vhost_driver_register(info->path, flags) < 0) {
		r = kb_err_set(err, EIO, "registering vhost-user %s %s failed",
		        info->agent_server ? "server" : "client", info->path);
		goto fail;
	}
	p->registered = true;
	if (rte_vhost_driver_disable_features(info->path, disabled_features) < 0 ||
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
	fp_worker_rt(p->slot)->vid = -1;
	slot_free(p);
	free(p);
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

int fp_port_add_uplink(const char *devargs, unsigned mtu, unsigned rx_desc, unsigned tx_desc,
        unsigned n_txq, struct rte_mempool *pool, struct kb_err *err)
{
	struct rte_eth_conf conf = {0};
	struct rte_eth_dev_info dev;
	char name[128];
	uint16_t port, nrx = rx_desc, ntx = tx_desc;
	struct fp_port *p;
	int r;

	if (fp_devargs_name(devargs, name, sizeof(name)) < 0)
		return kb_err_set(err, EINVAL, "uplink devargs '%s': bad device name", devargs);
	if (rte_eth_dev_get_port_by_name(name, &port) != 0)
		return kb_err_set(
		        err, ENODEV, "uplink %s: no such DPDK port (devargs '%s')", name, devargs);
	if ((r = rte_eth_dev_info_get(port, &dev)) < 0)
		return kb_err_set(err, -r, "uplink %s: %s", name, strerror(-r));
	if (dev.max_tx_queues < n_txq)
		return kb_err_set(err, EINVAL,
		        "uplink %s has %u transmit queues, the fast path needs one per worker (%u)",
		        name, dev.max_tx_queues, n_txq);
	if ((r = rte_eth_dev_configure(port, 1, n_txq, &conf)) < 0)
		return kb_err_set(err, -r, "uplink %s: configure: %s", name, strerror(-r));
	/* Clamp the ring sizes to what the device supports. */
	rte_eth_dev_adjust_nb_rx_tx_desc(port, &nrx, &ntx);
	if ((r = rte_eth_rx_queue_setup(port, 0, nrx, rte_eth_dev_socket_id(port), NULL, pool)) < 0)
		return kb_err_set(err, -r, "uplink %s: rx queue: %s", name, strerror(-r));
	for (unsigned q = 0; q < n_txq; q++)
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
	p->info.queues = 1;
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
	return 0;
fail_stop:
	rte_eth_dev_stop(port);
	rte_eth_dev_close(port);
	P.uplink_started = false;
	return r;
}
