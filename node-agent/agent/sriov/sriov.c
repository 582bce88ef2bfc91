/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/sriov/sriov.h"
#include "agent/alloc.h"
#include "agent/inventory.h"
#include "agent/sriov/dpspec.h"
#include "agent/sriov/select.h"
#include "agent/sriov/sriovcfg.h"
#include "agent/sriov/sysfs.h"
#include "agent/sriov/vfconf.h"
#include "api/api.h"
#include "api/apimsg.h"
#include "api/apimsg_dev.h"
#include "common/str.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *sriov_mode_name(enum vf_mode m)
{
	switch (m) {
	case VF_MODE_NETDEV:
		return "netdev";
	case VF_MODE_VFIO:
		return "vfio";
	case VF_MODE_UIO:
		return "uio";
	default:
		return "none";
	}
}

enum vf_mode sriov_mode_of_driver(const char *driver)
{
	if (!driver || !*driver)
		return VF_MODE_NONE;
	if (!strcmp(driver, "vfio-pci"))
		return VF_MODE_VFIO;
	if (!strcmp(driver, "igb_uio") || !strcmp(driver, "uio_pci_generic"))
		return VF_MODE_UIO;
	return VF_MODE_NETDEV;
}

static const char *sysfs_root(void)
{
	return cfg_core(inv_config())->sysfs_root;
}

static bool dev_node_exists(const char *rel)
{
	char path[PATH_MAX];

	return str_printf(path, sizeof(path), "%s/%s", dpspec_dev_root(), rel) >= 0 &&
	       access(path, F_OK) == 0;
}

/* ---- PF-level settings (shared with vdpa) ---- */

/* Defaults to restore when the PF did not report the original value. */
static void restore_value(const struct sriov_alloc *sa, enum vf_attr a, struct vf_state *st)
{
	if (sa->orig.mask & VF_BIT(a)) {
		*st = sa->orig;
		return;
	}
	memset(st, 0, sizeof(*st));
	st->proto = VF_PROTO_8021Q;
	st->spoofchk = true; /* the drivers' default */
	st->link_state = VF_LINK_AUTO;
}

static int pf_ifindex(const char *pf_name, struct kb_err *err)
{
	unsigned idx;

	if (!pf_name[0])
		return kb_err_set(err, ENODEV,
		        "the VF's PF has no netdev in the host namespace: VF settings cannot be "
		        "applied");
	if (!(idx = if_nametoindex(pf_name)))
		return kb_err_set(
		        err, ENODEV, "PF netdev %s not found in the host namespace", pf_name);
	return idx;
}

int sriov_pf_apply(struct sriov_alloc *sa, const struct vf_state *want, unsigned rate_given,
        struct kb_err *err)
{
	const char *target = sriovcfg_get(inv_config())->pf_netlink;
	struct vf_state w = *want;
	struct vfnl *v;
	int r, ifx;

	sa->applied.mask = 0;
	if ((ifx = pf_ifindex(sa->pf_name, err)) < 0)
		return ifx;
	if (sa->vf_index < 0)
		return kb_err_set(err, ENODEV, "VF %s has no index on its PF", sa->pci);
	if ((r = vfnl_open(target, &v, err)) < 0)
		return r;
	if ((r = vfnl_get(v, ifx, sa->pf_name, sa->vf_index, &sa->orig, err)) < 0)
		goto out;
	/* A rate half that was not asked for keeps its current value. */
	if ((w.mask & VF_BIT(VF_ATTR_RATE)) && (sa->orig.mask & VF_BIT(VF_ATTR_RATE))) {
		if (!(rate_given & 1))
			w.min_tx_rate = sa->orig.min_tx_rate;
		if (!(rate_given & 2))
			w.max_tx_rate = sa->orig.max_tx_rate;
	}
	if ((w.mask & VF_BIT(VF_ATTR_RATE)) && w.max_tx_rate && w.min_tx_rate > w.max_tx_rate) {
		r = kb_err_set(err, EINVAL, "min_tx_rate %u would exceed max_tx_rate %u",
		        w.min_tx_rate, w.max_tx_rate);
		goto out;
	}
	for (enum vf_attr a = 0; a < VF_ATTR_COUNT; a++) {
		if (!(w.mask & VF_BIT(a)))
			continue;
		if ((r = vfnl_set(v, ifx, sa->pf_name, sa->vf_index, a, &w, err)) < 0) {
			struct kb_err e2 = {0};
			vfnl_close(v);
			v = NULL;
			if (sriov_pf_restore(sa, &e2) < 0)
				kb_err_prefix(err, "(undoing: %s)", e2.msg);
			goto out;
		}
		sa->applied.mask |= VF_BIT(a);
	}
	w.mask = sa->applied.mask;
	sa->applied = w;
out:
	vfnl_close(v);
	return r;
}

int sriov_pf_restore(struct sriov_alloc *sa, struct kb_err *err)
{
	const char *target = sriovcfg_get(inv_config())->pf_netlink;
	struct vfnl *v;
	int r, ret = 0, ifx;

	if (!sa->applied.mask)
		return 0;
	if ((ifx = pf_ifindex(sa->pf_name, err)) < 0)
		return ifx;
	if ((r = vfnl_open(target, &v, err)) < 0)
		return r;
	/* Reverse order; a failure does not stop the others. */
	for (int a = VF_ATTR_COUNT - 1; a >= 0; a--) {
		struct vf_state st;
		struct kb_err e = {0};
		if (!(sa->applied.mask & VF_BIT(a)))
			continue;
		restore_value(sa, a, &st);
		if ((r = vfnl_set(v, ifx, sa->pf_name, sa->vf_index, a, &st, &e)) < 0) {
			if (!ret) {
				*err = e;
				ret = r;
			}
			continue;
		}
		sa->applied.mask &= ~VF_BIT(a);
	}
	vfnl_close(v);
	return ret;
}

/*
 * VFs whose settings could not be restored when they were released (the PF refused, or could
 * not be reached). Handing one out would give the next pod the last pod's VLAN or trust, so it
 * stays Unhealthy and the restore is retried at every rediscovery. Kept in memory only: after
 * an agent restart the VF is judged by sysfs alone.
 */
struct pending_restore {
	struct sriov_alloc sa;
	struct pending_restore *next;
};
static struct pending_restore *pending;

static struct pending_restore **pending_find(const char *pci)
{
	struct pending_restore **pp;

	for (pp = &pending; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->sa.pci, pci))
			return pp;
	return NULL;
}

static void pending_add(const struct sriov_alloc *sa)
{
	struct pending_restore **pp = pending_find(sa->pci), *p;

	if (pp) {
		(*pp)->sa = *sa;
		return;
	}
	if (!(p = calloc(1, sizeof(*p))))
		return; /* the health mark still keeps the VF out until the next rescan */
	p->sa = *sa;
	p->next = pending;
	pending = p;
}

/* Retry a pending restore; true while the VF still has settings to restore. */
static bool pending_retry(const char *pci)
{
	struct pending_restore **pp = pending_find(pci), *p;
	struct kb_err err = {0};

	if (!pp)
		return false;
	p = *pp;
	if (sriov_pf_restore(&p->sa, &err) < 0)
		return true;
	*pp = p->next;
	free(p);
	return false;
}

/* ---- pool configuration and discovery ---- */

static void *pool_cfg_parse(const struct cfg_node *node, struct kb_err *err)
{
	struct sel *s;

	return sel_parse(node, false, &s, err) < 0 ? NULL : s;
}

static void pool_cfg_free(void *c)
{
	sel_free(c);
}

/* Health of a VF now. Static strings: the inventory keeps the pointer. */
static bool vf_healthy(const struct device *d, const struct sriov_dev *v, const char **why)
{
	char rel[64];

	if (pending_find(v->fn.addr)) {
		*why = "VF settings could not be restored at release (retried at each rescan)";
		return false;
	}
	switch (v->mode) {
	case VF_MODE_NONE:
		*why = "no driver bound to the VF";
		return false;
	case VF_MODE_VFIO:
		if (v->fn.iommu_group < 0) {
			*why = "VF on vfio-pci has no IOMMU group";
			return false;
		}
		snprintf(rel, sizeof(rel), "vfio/%d", v->fn.iommu_group);
		if (!dev_node_exists(rel) || !dev_node_exists("vfio/vfio")) {
			*why = "VFIO device node missing under devRoot";
			return false;
		}
		return true;
	case VF_MODE_UIO:
		if (!v->uio[0] || !dev_node_exists(v->uio)) {
			*why = "uio device node missing under devRoot";
			return false;
		}
		return true;
	case VF_MODE_NETDEV:
		/* A free VF's netdev must be ours to hand out; one missing has leaked somewhere. */
		if (!d->holder && (!v->netdev[0] || !if_nametoindex(v->netdev))) {
			*why = "VF netdev is not in the host namespace";
			return false;
		}
		return true;
	}
	return false;
}

static int discover(struct pool *p, struct kb_err *err)
{
	const struct sel *sel = p->cfg.type_cfg;
	const char *root = sysfs_root();
	char **pfs = NULL;
	size_t n_pfs = 0;
	int r;

	if ((r = pci_list_pfs(root, &pfs, &n_pfs, err)) < 0)
		return r;
	for (size_t i = 0; i < n_pfs; i++) {
		char pfdir[PATH_MAX], pf_name[PCI_MAX_NETDEVS][IFNAMSIZ], link_type[16] = "";
		struct pci_vf_ref *vfs = NULL;
		size_t n_vfs = 0;
		int n_pf_net;

		if (pci_dir(root, pfs[i], pfdir, sizeof(pfdir)) < 0)
			continue;
		n_pf_net = pci_netdevs(pfdir, pf_name, PCI_MAX_NETDEVS);
		if (n_pf_net > 0)
			pci_link_type(pfdir, pf_name[0], link_type, sizeof(link_type));
		if (pci_list_vfs(root, pfs[i], &vfs, &n_vfs, err) < 0) {
			/* One unreadable PF must not hide the others. */
			kb_err_clear(err);
			continue;
		}
		for (size_t j = 0; j < n_vfs; j++) {
			char vfdir[PATH_MAX], net[1][IFNAMSIZ];
			struct kb_err e = {0};
			struct sriov_dev *v;
			struct sel_dev sd;
			struct pci_fn fn;
			struct device *d;
			const char *why = NULL;
			bool ok;

			if (pci_read(root, vfs[j].addr, &fn, &e) < 0)
				continue;
			fn.vf_index = vfs[j].index;
			str_copy(fn.pf_addr, sizeof(fn.pf_addr), pfs[i]);
			sd = (struct sel_dev){
			        .vendor = fn.vendor,
			        .device = fn.device,
			        .driver = fn.driver,
			        .pci_addr = fn.addr,
			        .pf_name = n_pf_net > 0 ? pf_name[0] : NULL,
			        .pf_addr = fn.pf_addr,
			        .link_type = link_type[0] ? link_type : NULL,
			        .vf_index = fn.vf_index,
			};
			if (!sel_match(sel, &sd))
				continue;
			if (!(v = calloc(1, sizeof(*v)))) {
				free(vfs);
				sysfs_names_free(pfs);
				return kb_err_set(err, ENOMEM, "out of memory");
			}
			v->fn = fn;
			if (n_pf_net > 0)
				str_copy(v->pf_name, sizeof(v->pf_name), pf_name[0]);
			str_copy(v->link_type, sizeof(v->link_type), link_type);
			v->mode = sriov_mode_of_driver(fn.driver);
			if (pci_dir(root, fn.addr, vfdir, sizeof(vfdir)) == 0) {
				if (pci_netdevs(vfdir, net, 1) == 1)
					str_copy(v->netdev, sizeof(v->netdev), net[0]);
				if (v->mode == VF_MODE_UIO)
					pci_uio_name(vfdir, v->uio, sizeof(v->uio));
			}
			if (!(d = inv_sync_device(p, fn.addr, fn.numa, v)))
				continue; /* claimed by an earlier pool, or out of memory */
			if (!d->holder)
				pending_retry(fn.addr);
			ok = vf_healthy(d, v, &why);
			inv_device_set_health(d, ok, why);
		}
		free(vfs);
	}
	sysfs_names_free(pfs);
	return 0;
}

/* ---- attach / detach ---- */

/*
 * Before the VF netdev moves: an intent with the allocation as it will be persisted, the
 * netdev marked moved (a moved netdev keeps its ifindex in the pod when it is free there),
 * so that an agent killed before the commit undoes the move at its next start.
 */
static int save_intent(const struct podnet *pn, void *arg, struct kb_err *err)
{
	struct alloc *a = arg;
	struct sriov_alloc *sa = a->priv;
	struct podnet keep = sa->pn;
	int r;

	(void)pn;
	sa->pn.moved = true;
	sa->pn.pod_ifindex = sa->pn.host_ifindex;
	r = alloc_intent_save(a, err);
	sa->pn = keep;
	return r;
}

static int attach(struct alloc *a, const struct attach_req *req, struct kb_err *err)
{
	const struct sriov_dev *v = a->dev->priv;
	struct sriov_alloc *sa = a->priv;
	struct vf_state want;
	unsigned rate_given;
	struct kb_err e2 = {0};
	int r;

	str_copy(sa->pci, sizeof(sa->pci), v->fn.addr);
	str_copy(sa->pf_pci, sizeof(sa->pf_pci), v->fn.pf_addr);
	str_copy(sa->pf_name, sizeof(sa->pf_name), v->pf_name);
	str_copy(sa->driver, sizeof(sa->driver), v->fn.driver);
	sa->vf_index = v->fn.vf_index;
	sa->iommu_group = v->fn.iommu_group;
	sa->mode = v->mode;
	if (v->mode == VF_MODE_NONE)
		return kb_err_set(err, ENODEV, "VF %s has no driver bound", sa->pci);
	if ((r = vfconf_parse(req->config, req->has_mac ? &req->mac : NULL, req->vlan, &want,
	             &rate_given, err)) < 0)
		return r;
	if (v->mode == VF_MODE_NETDEV) {
		if (!req->netns || !*req->netns)
			return kb_err_set(err, EINVAL,
			        "netns is required: VF %s moves its netdev into the pod", sa->pci);
		if (!v->netdev[0])
			return kb_err_set(
			        err, ENODEV, "VF %s has no netdev in the host namespace", sa->pci);
	} else if (req->mtu) {
		return kb_err_set(err, EINVAL,
		        "mtu cannot be set on VF %s: it is bound to %s and has no kernel netdev "
		        "(set it in the application)",
		        sa->pci, sa->driver);
	}
	if (want.mask) {
		if ((r = sriov_pf_apply(sa, &want, rate_given, err)) < 0)
			return r;
	} else if (sa->pf_name[0] && sa->vf_index >= 0) {
		/* Nothing to change; the current settings are still worth reporting. */
		const char *target = sriovcfg_get(inv_config())->pf_netlink;
		struct vfnl *nl;
		int ifx = if_nametoindex(sa->pf_name);
		if (ifx > 0 && vfnl_open(target, &nl, &e2) == 0) {
			if (vfnl_get(nl, ifx, sa->pf_name, sa->vf_index, &sa->orig, &e2) < 0)
				sa->orig.mask = 0;
			vfnl_close(nl);
		}
	}
	if (v->mode == VF_MODE_NETDEV) {
		struct podnet_req pr = {
		        .host_name = v->netdev,
		        .netns = req->netns,
		        .ifname = a->ifname,
		        .mac = req->has_mac ? &req->mac : NULL,
		        .mtu = req->mtu,
		        .before_move = save_intent,
		        .arg = a,
		};
		if ((r = podnet_attach(&pr, &sa->pn, &a->mac, &a->mtu, err)) < 0) {
			if (!sa->pn.moved)
				alloc_intent_drop(a);
			if (sriov_pf_restore(sa, &e2) < 0)
				kb_err_prefix(err, "(undoing VF settings: %s)", e2.msg);
			return r;
		}
	} else if (!req->has_mac && (sa->orig.mask & VF_BIT(VF_ATTR_MAC))) {
		a->mac = sa->orig.mac;
	}
	return 0;
}

static void dev_dir_of(const struct sriov_alloc *sa, char *buf, size_t size)
{
	if (pci_dir(sysfs_root(), sa->pci, buf, size) < 0)
		buf[0] = '\0';
}

static int detach(struct alloc *a, struct kb_err *err)
{
	struct sriov_alloc *sa = a->priv;
	struct kb_err e2 = {0};
	char dir[PATH_MAX];
	int r = 0, r2;

	if (sa->mode == VF_MODE_NETDEV && sa->pn.moved) {
		dev_dir_of(sa, dir, sizeof(dir));
		r = podnet_detach(&sa->pn, a->netns, a->ifname, dir[0] ? dir : NULL, err);
		if (r == 0)
			alloc_intent_drop(a);
		/* Lost: never hand it out again until rediscovery sees it back. */
		if (r == -ENODEV && a->dev)
			inv_device_set_health(
			        a->dev, false, "VF netdev did not come back from the pod");
	}
	if ((r2 = sriov_pf_restore(sa, &e2)) < 0) {
		pending_add(sa);
		if (a->dev)
			inv_device_set_health(a->dev, false,
			        "VF settings could not be restored at release (retried at each "
			        "rescan)");
		if (!err->errnum)
			*err = e2;
		else
			kb_err_prefix(err, "%s; also", e2.msg);
		r = r ? r : r2;
	}
	return r;
}

/* CHECK failures are EIO whatever the cause (the API's contract). */
static int check_failed(struct kb_err *err, const char *what)
{
	kb_err_prefix(err, "%s", what);
	err->errnum = EIO;
	return -EIO;
}

static int check(const struct alloc *a, struct kb_err *err)
{
	const struct sriov_alloc *sa = a->priv;
	const char *target = sriovcfg_get(inv_config())->pf_netlink;
	struct vf_state now;
	struct vfnl *v;
	int r, ifx;

	if (sa->mode == VF_MODE_NETDEV && podnet_check(&sa->pn, a->netns, a->ifname, err) < 0)
		return check_failed(err, "VF netdev");
	if (sa->mode == VF_MODE_VFIO) {
		char rel[32];
		snprintf(rel, sizeof(rel), "vfio/%d", sa->iommu_group);
		if (!dev_node_exists(rel))
			return kb_err_set(err, EIO, "%s/%s is missing", dpspec_dev_root(), rel);
	}
	if (!sa->applied.mask)
		return 0;
	/* The VF settings this attachment asked for are still in force. */
	if ((ifx = pf_ifindex(sa->pf_name, err)) < 0 || (r = vfnl_open(target, &v, err)) < 0)
		return check_failed(err, "checking VF settings");
	r = vfnl_get(v, ifx, sa->pf_name, sa->vf_index, &now, err);
	vfnl_close(v);
	if (r < 0)
		return check_failed(err, "checking VF settings");
	for (enum vf_attr at = 0; at < VF_ATTR_COUNT; at++) {
		const struct vf_state *w = &sa->applied;
		bool same = true;
		if (!(w->mask & VF_BIT(at)) || !(now.mask & VF_BIT(at)))
			continue;
		switch (at) {
		case VF_ATTR_MAC:
			same = !memcmp(&w->mac, &now.mac, sizeof(now.mac));
			break;
		case VF_ATTR_VLAN:
			same = w->vlan == now.vlan && w->qos == now.qos && w->proto == now.proto;
			break;
		case VF_ATTR_SPOOFCHK:
			same = w->spoofchk == now.spoofchk;
			break;
		case VF_ATTR_TRUST:
			same = w->trust == now.trust;
			break;
		case VF_ATTR_LINK_STATE:
			same = w->link_state == now.link_state;
			break;
		case VF_ATTR_RATE:
			same = w->min_tx_rate == now.min_tx_rate &&
			       w->max_tx_rate == now.max_tx_rate;
			break;
		default:
			break;
		}
		if (!same)
			return kb_err_set(err, EIO, "VF %s: %s was changed behind our back",
			        sa->pci, vf_attr_name(at));
	}
	return 0;
}

static int restore(struct alloc *a, struct kb_err *err)
{
	(void)err;
	/* Discovery ran before the allocations were loaded and judged this device as free (its
	 * netdev is in the pod, not here): judge it again now that it has its holder. */
	if (a->dev && a->dev->priv) {
		const char *why = NULL;
		bool ok = vf_healthy(a->dev, a->dev->priv, &why);
		inv_device_set_health(a->dev, ok, why);
	}
	/* Nothing else lives in the agent's memory: the netdev and VF settings survive. */
	return 0;
}

/* ---- JSON ---- */

static void vf_view(const struct alloc *a, struct apimsg_endpoint *ret)
{
	const struct sriov_alloc *sa = a->priv;

	ret->netdev = sa->mode == VF_MODE_NETDEV;
	ret->pci_address = sa->pci;
}

static void vf_to_json(const struct alloc *a, json_t *obj)
{
	const struct sriov_alloc *sa = a->priv;
	struct apimsg_vf m = {
	        .pci_address = sa->pci,
	        .pf_pci_address = sa->pf_pci,
	        .pf_name = sa->pf_name,
	        .vf_index = sa->vf_index,
	        .driver = sa->driver,
	        .mode = sriov_mode_name(sa->mode),
	        .netdev = sa->mode == VF_MODE_NETDEV,
	        .settings = vfconf_to_json(&sa->applied),
	        .orig_settings = vfconf_to_json(&sa->orig),
	        .has_netdev_state = sa->mode == VF_MODE_NETDEV,
	};
	char g[16];

	if (sa->mode == VF_MODE_VFIO) {
		snprintf(g, sizeof(g), "%d", sa->iommu_group);
		m.vfio_group = g;
	}
	if (m.has_netdev_state)
		podnet_to_state(&sa->pn, &m.netdev_state);
	apimsg_vf_set(obj, &m);
}

static int vf_from_json(struct alloc *a, json_t *obj, struct kb_err *err)
{
	struct sriov_alloc *sa = a->priv;
	struct apimsg_netdev_state ns;
	struct apimsg_vf m;
	int r;

	if ((r = apimsg_vf_decode(obj, &m, err)) < 0)
		return r;
	if (!pci_addr_valid(m.pci_address) ||
	        (*m.pf_pci_address && !pci_addr_valid(m.pf_pci_address)) ||
	        str_copy(sa->pf_name, sizeof(sa->pf_name), m.pf_name) < 0 ||
	        str_copy(sa->driver, sizeof(sa->driver), m.driver) < 0 || m.vf_index >= PCI_MAX_VFS)
		return kb_err_set(
		        err, EINVAL, "bad VF %.32s of %.32s", m.pci_address, m.pf_pci_address);
	str_copy(sa->pci, sizeof(sa->pci), m.pci_address);
	str_copy(sa->pf_pci, sizeof(sa->pf_pci), m.pf_pci_address);
	sa->vf_index = m.vf_index;
	if (!strcmp(m.mode, sriov_mode_name(VF_MODE_NETDEV)))
		sa->mode = VF_MODE_NETDEV;
	else if (!strcmp(m.mode, sriov_mode_name(VF_MODE_VFIO)))
		sa->mode = VF_MODE_VFIO;
	else if (!strcmp(m.mode, sriov_mode_name(VF_MODE_UIO)))
		sa->mode = VF_MODE_UIO;
	else
		return kb_err_set(err, EINVAL, "bad VF mode '%s'", m.mode);
	sa->iommu_group = -1;
	if (sa->mode == VF_MODE_VFIO) {
		uint64_t g;
		if (!m.vfio_group || str_to_u64(m.vfio_group, 0, INT_MAX, &g) < 0)
			return kb_err_set(err, EINVAL, "bad vfioGroup");
		sa->iommu_group = g;
	}
	if ((r = vfconf_from_json(m.settings, &sa->applied, err)) < 0 ||
	        (r = vfconf_from_json(m.orig_settings, &sa->orig, err)) < 0)
		return kb_err_prefix(err, "vf");
	if (sa->mode == VF_MODE_NETDEV) {
		if ((r = apimsg_netdev_state_decode(m.vf_obj, &ns, err)) < 0)
			return kb_err_prefix(err, "vf");
		podnet_from_state(&ns, &sa->pn);
	}
	return 0;
}

static void device_to_json(const struct device *d, json_t *obj)
{
	const struct sriov_dev *v = d->priv;
	const struct sriov_alloc *sa = d->holder ? d->holder->priv : NULL;

	if (!v)
		return;
	apimsg_vf_device_set(obj,
	        &(struct apimsg_vf_device){
	                .pci_address = v->fn.addr,
	                .pf_name = v->pf_name,
	                .pf_pci_address = v->fn.pf_addr,
	                .vf_index = v->fn.vf_index,
	                .vendor = v->fn.vendor,
	                .device = v->fn.device,
	                .driver = v->fn.driver,
	                .mode = sriov_mode_name(v->mode),
	                .netdev = v->netdev[0] ? v->netdev : NULL,
	                .iommu_group = v->fn.iommu_group >= 0 ? v->fn.iommu_group : -1,
	                .link_type = v->link_type[0] ? v->link_type : NULL,
	                .settings = sa ? vfconf_to_json(&sa->applied) : NULL,
	                .pod_ifname = sa && sa->mode == VF_MODE_NETDEV ? d->holder->ifname : NULL,
	        });
}

static json_t *device_info(const struct device *d, const struct alloc *a)
{
	const struct sriov_dev *v = d->priv;
	const struct sriov_alloc *sa = a ? a->priv : NULL;
	const char *pci = sa ? sa->pci : v ? v->fn.addr : d->id;
	const char *pf = sa ? sa->pf_pci : v ? v->fn.pf_addr : "";
	json_t *o = json_pack("{s:s}", "pci-address", pci);

	if (o && pf[0])
		json_object_set_new(o, "pf-pci-address", json_string(pf));
	return json_pack("{s:s, s:s, s:o*}", "type", "pci", "version", "1.1.0", "pci", o);
}

/* Device nodes, PCIDEVICE_<RES> and PCIDEVICE_<RES>_INFO as sriov-network-device-plugin
 * gives them ("vfio": dev-mount + mount, "vhost": net-mount + tun-mount). */
static int dp_allocate(const struct device *d, struct devtype_alloc_spec *spec, struct kb_err *err)
{
	const struct sriov_dev *v = d->priv;
	const struct sel *sel = d->pool->cfg.type_cfg;
	json_t *extra = json_object();
	char rel[32];
	int r = 0;

	if (!extra)
		return kb_err_set(err, ENOMEM, "out of memory");
	if (v && v->mode == VF_MODE_VFIO) {
		snprintf(rel, sizeof(rel), "vfio/%d", v->fn.iommu_group);
		if ((r = dpspec_dev_node(spec, "vfio/vfio", err)) < 0 ||
		        (r = dpspec_dev_node(spec, rel, err)) < 0)
			goto fail;
		snprintf(rel, sizeof(rel), "/dev/vfio/%d", v->fn.iommu_group);
		json_object_set_new(extra, "vfio",
		        json_pack("{s:s, s:s}", "dev-mount", rel, "mount", "/dev/vfio/vfio"));
	} else if (v && v->mode == VF_MODE_UIO && v->uio[0]) {
		if ((r = dpspec_dev_node(spec, v->uio, err)) < 0)
			goto fail;
	}
	if (sel && sel_need_vhost_net(sel) && (r = dpspec_vhost_net(spec, extra, err)) < 0)
		goto fail;
	return dpspec_pcidevice_env(d, d->id, extra, spec, err);
fail:
	json_decref(extra);
	return r;
}

static struct devtype_ops sriov_ops = {
        .name = API_DEVTYPE_SRIOV_VF,
        .pool_keys = sel_keys_vf,
        .pool_cfg_parse = pool_cfg_parse,
        .pool_cfg_free = pool_cfg_free,
        .discover = discover,
        .attach = attach,
        .detach = detach,
        .check = check,
        .restore = restore,
        .alloc_to_json = vf_to_json,
        .alloc_view = vf_view,
        .alloc_from_json = vf_from_json,
        .device_to_json = device_to_json,
        .device_info = device_info,
        .dp_allocate = dp_allocate,
        .device_priv_free = free,
        .alloc_priv_size = sizeof(struct sriov_alloc),
};
DEVTYPE_REGISTER(sriov_ops)
