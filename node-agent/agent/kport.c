/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/kport.h"
#include "agent/alloc.h"
#include "agent/inventory.h"
#include "agent/vport.h"
#include "api/api.h"
#include "api/apimsg.h"
#include "api/apimsg_dev.h"
#include "lib/netlink/netns.h"
#include "common/hmap.h"
#include "common/log.h"
#include "common/str.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define KPORT_MAX_COUNT 65536
/* Every queue of one TAP: multi-queue even with one, so that a re-attach after a restart
 * always uses the same flags (TUNSETIFF refuses a mismatch). */
#define TAP_FLAGS (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE)

static struct devtype_ops kport_ops;

const struct kport_pool_cfg *kport_pool_cfg(const struct pool *p)
{
	return p->cfg.type_cfg;
}

const struct kport_alloc *kport_alloc_data(const struct alloc *a)
{
	return a->priv;
}

const char *kport_io_name(enum kport_io io)
{
	return io == KPORT_IO_SYSCALL ? "syscall" : "uring";
}

static const char *const pool_keys[] = {
        "count", "queues", "mtu", "numaNode", "offloads", "io", NULL};

static void *pool_cfg_parse(const struct cfg_node *node, struct kb_err *err)
{
	struct kport_pool_cfg *c = calloc(1, sizeof(*c));
	char io[16] = "uring";
	int64_t i;
	int r;

	if (!c) {
		kb_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	*c = (struct kport_pool_cfg){.count = 64,
	        .queues = 1,
	        .mtu = 1500,
	        .numa = -1,
	        .offloads = true,
	        .io = KPORT_IO_URING};
	if (cfg_opt_bool(node, "offloads", &c->offloads, err) < 0 ||
	        cfg_opt_uint(node, "count", 1, KPORT_MAX_COUNT, &c->count, err) < 0 ||
	        cfg_opt_uint(node, "queues", 1, KPORT_MAX_QUEUES, &c->queues, err) < 0 ||
	        cfg_opt_uint(node, "mtu", 68, 9600, &c->mtu, err) < 0 ||
	        cfg_opt_str(node, "io", io, sizeof(io), err) < 0)
		goto fail;
	if ((r = cfg_get_int(node, "numaNode", -1, 63, &i, err)) == 0)
		c->numa = i;
	else if (r != -ENOENT)
		goto fail;
	if (!strcmp(io, "syscall")) {
		c->io = KPORT_IO_SYSCALL;
	} else if (strcmp(io, "uring")) {
		struct cfg_node k;
		cfg_map_get(node, "io", &k);
		cfg_node_error(&k, "io", err, "must be uring (batched) or syscall");
		goto fail;
	}
	return c;
fail:
	free(c);
	return NULL;
}

static int discover(struct pool *p, struct kb_err *err)
{
	const struct kport_pool_cfg *c = kport_pool_cfg(p);
	char id[VAL_DEVICE_ID_MAX + 1];

	for (unsigned i = 0; i < c->count; i++) {
		if (str_printf(id, sizeof(id), "%s-%u", p->name, i) < 0)
			return kb_err_set(err, ENAMETOOLONG, "device id too long");
		if (inv_sync_device(p, id, c->numa, NULL))
			continue;
		if (!inv_device_find(id))
			return kb_err_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

/* ---- TAP queues ---- */

static void fds_close(struct kport_alloc *k)
{
	for (unsigned i = 0; i < k->n_fds; i++)
		if (k->fds[i] >= 0)
			close(k->fds[i]);
	for (unsigned i = 0; i < KPORT_MAX_QUEUES; i++)
		k->fds[i] = -1;
	k->n_fds = 0;
}

/* Open `n` queues of TAP `name` in the calling thread's namespace. create: make it if it does
 * not exist (persistent, offloads set); otherwise only an existing TAP is attached to. */
static int tap_queues(
        const char *name, unsigned n, bool create, bool offloads, int *fds, struct kb_err *err)
{
	unsigned ol = offloads ? TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 : 0;
	unsigned i;
	int r;

	/* TUNSETIFF makes a TAP of any free name: a re-attach must find ours, not create one. */
	if (!create && !if_nametoindex(name))
		return kb_err_set(err, ENODEV, "no netdev %s", name);
	for (i = 0; i < n; i++) {
		struct ifreq ifr = {.ifr_flags = TAP_FLAGS};
		str_copy(ifr.ifr_name, sizeof(ifr.ifr_name), name);
		if ((fds[i] = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0) {
			r = kb_err_set(err, errno, "/dev/net/tun: %s", strerror(errno));
			goto fail;
		}
		if (ioctl(fds[i], TUNSETIFF, &ifr) < 0) {
			r = kb_err_set(err, errno, "TAP %s queue %u: %s", name, i, strerror(errno));
			i++;
			goto fail;
		}
	}
	/* Persistent: the netdev (and the pod's addresses on it) outlive the agent. Offloads
	 * are what the kernel may hand us: partial checksums and TSO frames up to 64 KiB. */
	if (ioctl(fds[0], TUNSETPERSIST, 1) < 0 || ioctl(fds[0], TUNSETOFFLOAD, ol) < 0) {
		r = kb_err_set(err, errno, "TAP %s: persist/offloads: %s", name, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	if (create && i > 0 && fds[0] >= 0)
		ioctl(fds[0], TUNSETPERSIST, 0);
	while (i-- > 0)
		if (fds[i] >= 0)
			close(fds[i]);
	return r;
}

/* The same inside the namespace at `netns` (the pod's), attaching to an existing TAP only:
 * netns_call enters it for the open() and ioctl()s alone. */
struct tap_in {
	const char *name;
	unsigned n;
	bool offloads;
	int *fds;
};

static int tap_in_fn(void *arg, struct kb_err *err)
{
	struct tap_in *t = arg;

	return tap_queues(t->name, t->n, false, t->offloads, t->fds, err);
}

static int tap_queues_in(const char *netns, const char *name, unsigned n, bool offloads, int *fds,
        struct kb_err *err)
{
	struct tap_in t = {.name = name, .n = n, .offloads = offloads, .fds = fds};
	int pod = -1, r;

	if ((r = netns_open(netns, &pod, err)) < 0)
		return r;
	r = netns_call(pod, tap_in_fn, &t, err);
	close(pod);
	return r;
}

/* Make the TAP non-persistent: it goes away when the last queue closes. Attaches to it first
 * when the agent holds no queue (after a restart that could not re-attach, an intent). */
static void tap_release(struct kport_alloc *k, const char *netns, const char *ifname)
{
	struct kb_err e = {0};
	int fd = -1;

	if (k->n_fds && k->fds[0] >= 0) {
		ioctl(k->fds[0], TUNSETPERSIST, 0);
	} else {
		if (k->pn.moved && netns && *netns &&
		        tap_queues_in(netns, ifname, 1, k->offloads, &fd, &e) == 0)
			ioctl(fd, TUNSETPERSIST, 0);
		else if (tap_queues(k->host_name, 1, false, k->offloads, &fd, &e) == 0)
			ioctl(fd, TUNSETPERSIST, 0);
		if (fd >= 0)
			close(fd);
	}
	fds_close(k);
}

/* ---- attach / detach ---- */

static int save_intent(const struct podnet *pn, void *arg, struct kb_err *err)
{
	struct alloc *a = arg;
	struct kport_alloc *k = a->priv;
	struct podnet keep = k->pn;
	int r;

	(void)pn;
	k->pn.moved = true;
	k->pn.pod_ifindex = k->pn.host_ifindex;
	r = alloc_intent_save(a, err);
	k->pn = keep;
	return r;
}

static int attach(struct alloc *a, const struct attach_req *req, struct kb_err *err)
{
	const struct kport_pool_cfg *c = kport_pool_cfg(a->dev->pool);
	struct kport_alloc *k = a->priv;
	struct mac mac;
	int r;

	for (unsigned i = 0; i < KPORT_MAX_QUEUES; i++)
		k->fds[i] = -1;
	if (req->config && json_object_size(req->config))
		return kb_err_set(err, EINVAL, "kernel device %s takes no device settings (config)",
		        a->device_id);
	if (!req->netns || !*req->netns)
		return kb_err_set(
		        err, EINVAL, "netns is required: a kernel port is a netdev in the pod");
	/* A name of the device's own, in the agent's namespace for the moment of the move. */
	snprintf(k->host_name, sizeof(k->host_name), "kbk%08x",
	        (unsigned)hash_str(a->device_id, 0x6b706f72));
	k->queues = c->queues;
	k->offloads = c->offloads;
	k->io = c->io;
	if ((r = tap_queues(k->host_name, k->queues, true, k->offloads, k->fds, err)) < 0)
		return r;
	k->n_fds = k->queues;
	if (req->has_mac)
		mac = req->mac;
	else
		vport_default_mac(a->device_id, &mac);
	struct podnet_req pr = {
	        .host_name = k->host_name,
	        .netns = req->netns,
	        .ifname = a->ifname,
	        .mac = &mac,
	        .mtu = req->mtu ? req->mtu : (int)c->mtu,
	        .before_move = save_intent,
	        .arg = a,
	};
	if ((r = podnet_attach(&pr, &k->pn, &a->mac, &a->mtu, err)) < 0) {
		if (!k->pn.moved)
			alloc_intent_drop(a);
		tap_release(k, req->netns, a->ifname);
		return r;
	}
	return 0;
}

static int detach(struct alloc *a, struct kb_err *err)
{
	struct kport_alloc *k = a->priv;

	(void)err;
	/* The kernel deletes the netdev with its last queue (the fast path closes its own
	 * copies when the port goes); a namespace already gone took it along. */
	tap_release(k, a->netns, a->ifname);
	alloc_intent_drop(a);
	return 0;
}

static int check(const struct alloc *a, struct kb_err *err)
{
	const struct kport_alloc *k = a->priv;

	if (podnet_check(&k->pn, a->netns, a->ifname, err) < 0) {
		kb_err_prefix(err, "kernel port");
		err->errnum = EIO;
		return -EIO;
	}
	if (!k->n_fds)
		return kb_err_set(err, EIO, "the agent holds no queue of %s", a->ifname);
	return 0;
}

/* After a restart: the persistent TAP is still in the pod: attach to its queues again. */
static int restore(struct alloc *a, struct kb_err *err)
{
	struct kport_alloc *k = a->priv;
	int r;

	if (!a->netns || !k->pn.moved)
		return 0;
	if ((r = tap_queues_in(a->netns, a->ifname, k->queues, k->offloads, k->fds, err)) < 0) {
		LOG_WARN("kernel port %.12s/%s: re-attaching the TAP in %s: %s", a->container_id,
		        a->ifname, a->netns, err->msg);
		return r;
	}
	k->n_fds = k->queues;
	return 0;
}

static void forget(struct alloc *a)
{
	/* The TAP stays (persistent) for the next agent. */
	fds_close(a->priv);
}

static void kport_view(const struct alloc *a, struct apimsg_endpoint *ret)
{
	(void)a;
	ret->netdev = true; /* net1 is in the pod: kbnet-cni adds the IPAM addresses */
}

static void kport_to_json(const struct alloc *a, json_t *obj)
{
	const struct kport_alloc *k = a->priv;
	struct apimsg_kernel m = {
	        .host_name = k->host_name,
	        .queues = k->queues,
	        .offloads = k->offloads,
	        .io = kport_io_name(k->io),
	        .attached = k->n_fds > 0,
	};

	podnet_to_state(&k->pn, &m.netdev);
	apimsg_kernel_set(obj, &m);
}

static int kport_from_json(struct alloc *a, json_t *obj, struct kb_err *err)
{
	struct kport_alloc *k = a->priv;
	struct apimsg_kernel m;
	int r;

	for (unsigned i = 0; i < KPORT_MAX_QUEUES; i++)
		k->fds[i] = -1;
	k->n_fds = 0;
	if ((r = apimsg_kernel_decode(obj, &m, err)) < 0)
		return r;
	if (!str_has_prefix(m.host_name, "kbk") ||
	        str_copy(k->host_name, sizeof(k->host_name), m.host_name) < 0 ||
	        m.queues > KPORT_MAX_QUEUES)
		return kb_err_set(
		        err, EINVAL, "bad kernel TAP '%.32s', %d queue(s)", m.host_name, m.queues);
	k->queues = m.queues;
	k->offloads = m.offloads;
	k->io = m.io && !strcmp(m.io, kport_io_name(KPORT_IO_SYSCALL)) ? KPORT_IO_SYSCALL
	                                                               : KPORT_IO_URING;
	podnet_from_state(&m.netdev, &k->pn);
	return 0;
}

/* No device_info hook, on purpose: no device-info spec type (pci, vhost-user, vdpa, memif)
 * describes a netdev that the pod's kernel drives; the CNI result names it (README). */
static struct devtype_ops kport_ops = {
        .name = API_DEVTYPE_KERNEL,
        .pool_keys = pool_keys,
        .pool_cfg_parse = pool_cfg_parse,
        .pool_cfg_free = free,
        .discover = discover,
        .attach = attach,
        .detach = detach,
        .check = check,
        .restore = restore,
        .forget = forget,
        .alloc_to_json = kport_to_json,
        .alloc_view = kport_view,
        .alloc_from_json = kport_from_json,
        .device_to_json = vport_device_to_json,
        .alloc_priv_size = sizeof(struct kport_alloc),
};
DEVTYPE_REGISTER(kport_ops)
