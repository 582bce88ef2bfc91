/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/sriov/vdpa.h"
#include "agent/alloc.h"
#include "agent/inventory.h"
#include "agent/sriov/dpspec.h"
#include "agent/sriov/select.h"
#include "agent/sriov/sriov.h"
#include "agent/sriov/sysfs.h"
#include "api/api.h"
#include "api/apimsg.h"
#include "api/apimsg_dev.h"
#include "common/str.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VDPA_MAX_DEVICES 4096

const char *vdpa_kind_name(enum vdpa_kind k)
{
	return k == VDPA_VHOST ? "vhost" : k == VDPA_VIRTIO ? "virtio" : "none";
}

static enum vdpa_kind kind_of_driver(const char *driver)
{
	if (!strcmp(driver, "vhost_vdpa"))
		return VDPA_VHOST;
	if (!strcmp(driver, "virtio_vdpa"))
		return VDPA_VIRTIO;
	return VDPA_NONE;
}

static const char *sysfs_root(void)
{
	return cfg_core(inv_config())->sysfs_root;
}

static int vdpa_dir(const char *name, char *buf, size_t size)
{
	return str_printf(buf, size, "%s/bus/vdpa/devices/%s", sysfs_root(), name) < 0
	               ? -ENAMETOOLONG
	               : 0;
}

static bool chardev_exists(const char *chardev)
{
	char path[PATH_MAX];

	return chardev[0] &&
	       str_printf(path, sizeof(path), "%s/%s", dpspec_dev_root(), chardev) >= 0 &&
	       access(path, F_OK) == 0;
}

/* First child whose name starts with prefix ("vhost-vdpa-", "virtio"). */
static void first_child(const char *dir, const char *prefix, char *buf, size_t size)
{
	char **v = NULL;

	buf[0] = '\0';
	if (sysfs_list(dir, prefix, 16, &v, NULL) == 0 && v[0])
		str_copy(buf, size, v[0]);
	sysfs_names_free(v);
}

/* Read one vDPA device. */
static int read_vdpa(const char *root, const char *name, struct vdpa_dev *v)
{
	char dir[PATH_MAX], real[PATH_MAX], *slash, vdir[PATH_MAX];
	char net[1][IFNAMSIZ];

	memset(v, 0, sizeof(*v));
	v->fn.numa = -1;
	v->fn.iommu_group = -1;
	v->fn.vf_index = -1;
	if (str_copy(v->name, sizeof(v->name), name) < 0 || vdpa_dir(name, dir, sizeof(dir)) < 0)
		return -ENAMETOOLONG;
	if (sysfs_link_name(dir, "driver", v->driver, sizeof(v->driver)) < 0)
		v->driver[0] = '\0';
	v->kind = kind_of_driver(v->driver);
	/* The bus entry links to .../<parent>/<name>: the parent is the directory above. */
	if (!realpath(dir, real))
		return -errno;
	if ((slash = strrchr(real, '/')))
		*slash = '\0';
	if ((slash = strrchr(real, '/')))
		str_copy(v->parent, sizeof(v->parent), slash + 1);
	if (pci_addr_valid(v->parent)) {
		struct kb_err e = {0};
		char pfdir[PATH_MAX], pf[1][IFNAMSIZ];
		if (pci_read(root, v->parent, &v->fn, &e) < 0)
			v->fn.addr[0] = '\0';
		else if (v->fn.pf_addr[0] &&
		         pci_dir(root, v->fn.pf_addr, pfdir, sizeof(pfdir)) == 0 &&
		         pci_netdevs(pfdir, pf, 1) == 1) {
			str_copy(v->pf_name, sizeof(v->pf_name), pf[0]);
			pci_link_type(pfdir, pf[0], v->link_type, sizeof(v->link_type));
		}
	}
	if (v->kind == VDPA_VHOST)
		first_child(dir, "vhost-vdpa-", v->chardev, sizeof(v->chardev));
	if (v->kind == VDPA_VIRTIO) {
		first_child(dir, "virtio", v->virtio, sizeof(v->virtio));
		if (v->virtio[0] && str_printf(vdir, sizeof(vdir), "%s/%s", dir, v->virtio) >= 0 &&
		        pci_netdevs(vdir, net, 1) == 1)
			str_copy(v->netdev, sizeof(v->netdev), net[0]);
	}
	return 0;
}

static bool vdpa_healthy(const struct device *d, const struct vdpa_dev *v, const char **why)
{
	switch (v->kind) {
	case VDPA_VHOST:
		if (!chardev_exists(v->chardev)) {
			*why = "vhost-vdpa char device missing under devRoot";
			return false;
		}
		return true;
	case VDPA_VIRTIO:
		if (!d->holder && (!v->netdev[0] || !if_nametoindex(v->netdev))) {
			*why = "virtio netdev is not in the host namespace";
			return false;
		}
		return true;
	default:
		*why = "no vDPA bus driver bound (vhost_vdpa or virtio_vdpa)";
		return false;
	}
}

static void *pool_cfg_parse(const struct cfg_node *node, struct kb_err *err)
{
	struct sel *s;

	return sel_parse(node, true, &s, err) < 0 ? NULL : s;
}

static void pool_cfg_free(void *c)
{
	sel_free(c);
}

static int discover(struct pool *p, struct kb_err *err)
{
	const struct sel *sel = p->cfg.type_cfg;
	const char *root = sysfs_root();
	char dir[PATH_MAX], **names = NULL;
	int r;

	if (str_printf(dir, sizeof(dir), "%s/bus/vdpa/devices", root) < 0)
		return kb_err_set(err, ENAMETOOLONG, "sysfs path too long");
	if ((r = sysfs_list(dir, NULL, VDPA_MAX_DEVICES, &names, NULL)) < 0) {
		if (r == -ENOENT) /* no vdpa bus: the module is not loaded, nothing to find */
			return 0;
		return kb_err_set(err, -r, "listing %s: %s", dir, strerror(-r));
	}
	for (char **n = names; *n; n++) {
		const char *why = NULL;
		struct vdpa_dev *v;
		struct sel_dev sd;
		struct device *d;
		bool ok;

		if (!val_device_id(*n, NULL))
			continue;
		if (!(v = malloc(sizeof(*v)))) {
			sysfs_names_free(names);
			return kb_err_set(err, ENOMEM, "out of memory");
		}
		if (read_vdpa(root, *n, v) < 0) {
			free(v);
			continue;
		}
		sd = (struct sel_dev){
		        .vendor = v->fn.addr[0] ? v->fn.vendor : NULL,
		        .device = v->fn.addr[0] ? v->fn.device : NULL,
		        .driver = v->fn.addr[0] ? v->fn.driver : NULL,
		        .pci_addr = v->fn.addr[0] ? v->fn.addr : NULL,
		        .pf_name = v->pf_name[0] ? v->pf_name : NULL,
		        .pf_addr = v->fn.pf_addr[0] ? v->fn.pf_addr : NULL,
		        .link_type = v->link_type[0] ? v->link_type : NULL,
		        .vf_index = v->fn.vf_index,
		        .vdpa_type = v->kind == VDPA_NONE ? NULL : vdpa_kind_name(v->kind),
		};
		if (!sel_match(sel, &sd)) {
			free(v);
			continue;
		}
		if (!(d = inv_sync_device(p, v->name, v->fn.numa, v)))
			continue;
		ok = vdpa_healthy(d, v, &why);
		inv_device_set_health(d, ok, why);
	}
	sysfs_names_free(names);
	return 0;
}

/* Before the virtio netdev moves: an intent, as for SR-IOV VFs (alloc_intent_save). */
static int save_intent(const struct podnet *pn, void *arg, struct kb_err *err)
{
	struct alloc *a = arg;
	struct vdpa_alloc *va = a->priv;
	struct podnet keep = va->pn;
	int r;

	(void)pn;
	va->pn.moved = true;
	va->pn.pod_ifindex = va->pn.host_ifindex;
	r = alloc_intent_save(a, err);
	va->pn = keep;
	return r;
}

static int attach(struct alloc *a, const struct attach_req *req, struct kb_err *err)
{
	const struct vdpa_dev *v = a->dev->priv;
	struct vdpa_alloc *va = a->priv;

	str_copy(va->name, sizeof(va->name), v->name);
	str_copy(va->driver, sizeof(va->driver), v->driver);
	str_copy(va->parent, sizeof(va->parent), v->parent);
	str_copy(va->pci, sizeof(va->pci), v->fn.addr);
	str_copy(va->pf_pci, sizeof(va->pf_pci), v->fn.pf_addr);
	str_copy(va->chardev, sizeof(va->chardev), v->chardev);
	str_copy(va->virtio, sizeof(va->virtio), v->virtio);
	va->kind = v->kind;
	if (req->vlan >= 0 || (req->config && json_object_size(req->config)))
		return kb_err_set(err, EINVAL,
		        "vDPA device %s takes no VF settings (vlan, config): configure its VF "
		        "through an sriov-vf network",
		        v->name);
	switch (v->kind) {
	case VDPA_VHOST:
		if (req->has_mac || req->mtu)
			return kb_err_set(err, EINVAL,
			        "vhost-vdpa device %s has no kernel netdev: its MAC and MTU are "
			        "set "
			        "when the vDPA device is created (vdpa dev add ... mac/mtu)",
			        v->name);
		if (!chardev_exists(v->chardev))
			return kb_err_set(err, ENODEV, "%s/%s is missing", dpspec_dev_root(),
			        v->chardev[0] ? v->chardev : "vhost-vdpa-?");
		return 0;
	case VDPA_VIRTIO: {
		struct podnet_req pr = {
		        .host_name = v->netdev,
		        .netns = req->netns,
		        .ifname = a->ifname,
		        .mac = req->has_mac ? &req->mac : NULL,
		        .mtu = req->mtu,
		        .before_move = save_intent,
		        .arg = a,
		};
		int r;
		if (!v->netdev[0])
			return kb_err_set(
			        err, ENODEV, "vDPA device %s has no virtio netdev", v->name);
		if ((r = podnet_attach(&pr, &va->pn, &a->mac, &a->mtu, err)) < 0 && !va->pn.moved)
			alloc_intent_drop(a);
		return r;
	}
	default:
		return kb_err_set(err, ENODEV, "vDPA device %s has no driver bound", v->name);
	}
}

static int detach(struct alloc *a, struct kb_err *err)
{
	struct vdpa_alloc *va = a->priv;
	char dir[PATH_MAX], vdir[PATH_MAX];
	int r;

	if (va->kind != VDPA_VIRTIO || !va->pn.moved)
		return 0;
	if (vdpa_dir(va->name, dir, sizeof(dir)) < 0 ||
	        str_printf(vdir, sizeof(vdir), "%s/%s", dir, va->virtio) < 0)
		vdir[0] = '\0';
	r = podnet_detach(&va->pn, a->netns, a->ifname, vdir[0] ? vdir : NULL, err);
	if (r == 0)
		alloc_intent_drop(a);
	if (r == -ENODEV && a->dev)
		inv_device_set_health(
		        a->dev, false, "virtio netdev did not come back from the pod");
	return r;
}

static int check(const struct alloc *a, struct kb_err *err)
{
	const struct vdpa_alloc *va = a->priv;

	if (va->kind == VDPA_VIRTIO && podnet_check(&va->pn, a->netns, a->ifname, err) < 0) {
		kb_err_prefix(err, "virtio netdev");
		err->errnum = EIO;
		return -EIO;
	}
	if (va->kind == VDPA_VHOST && !chardev_exists(va->chardev))
		return kb_err_set(err, EIO, "%s/%s is missing", dpspec_dev_root(), va->chardev);
	return 0;
}

static int restore(struct alloc *a, struct kb_err *err)
{
	(void)err;
	/* Discovery ran before the allocations were loaded and judged this device as free (its
	 * netdev is in the pod, not here): judge it again now that it has its holder. */
	if (a->dev && a->dev->priv) {
		const char *why = NULL;
		bool ok = vdpa_healthy(a->dev, a->dev->priv, &why);
		inv_device_set_health(a->dev, ok, why);
	}
	return 0;
}

static void container_path(const char *chardev, char *buf, size_t size)
{
	snprintf(buf, size, "/dev/%s", chardev);
}

static void vdpa_view(const struct alloc *a, struct apimsg_endpoint *ret)
{
	const struct vdpa_alloc *va = a->priv;

	ret->netdev = va->kind == VDPA_VIRTIO;
	ret->pci_address = va->pci;
}

static void vdpa_to_json(const struct alloc *a, json_t *obj)
{
	const struct vdpa_alloc *va = a->priv;
	char path[64] = "";
	struct apimsg_vdpa m = {
	        .name = va->name,
	        .driver = va->driver,
	        .type = vdpa_kind_name(va->kind),
	        .path = path,
	        .parent_device = va->parent,
	        .pci_address = va->pci,
	        .pf_pci_address = va->pf_pci,
	        .virtio = va->virtio,
	        .netdev = va->kind == VDPA_VIRTIO,
	};

	if (va->kind == VDPA_VHOST)
		container_path(va->chardev, path, sizeof(path));
	else if (va->virtio[0])
		snprintf(path, sizeof(path), "/sys/bus/virtio/devices/%s", va->virtio);
	if (m.netdev)
		podnet_to_state(&va->pn, &m.netdev_state);
	apimsg_vdpa_set(obj, &m);
}

static int vdpa_from_json(struct alloc *a, json_t *obj, struct kb_err *err)
{
	struct vdpa_alloc *va = a->priv;
	struct apimsg_netdev_state ns;
	struct apimsg_vdpa m;
	int r;

	if ((r = apimsg_vdpa_decode(obj, &m, err)) < 0)
		return r;
	if (str_copy(va->name, sizeof(va->name), m.name) < 0 ||
	        str_copy(va->driver, sizeof(va->driver), m.driver) < 0 ||
	        str_copy(va->parent, sizeof(va->parent), m.parent_device) < 0 ||
	        str_copy(va->pci, sizeof(va->pci), m.pci_address) < 0 ||
	        str_copy(va->pf_pci, sizeof(va->pf_pci), m.pf_pci_address) < 0 ||
	        str_copy(va->virtio, sizeof(va->virtio), m.virtio) < 0)
		return kb_err_set(err, EINVAL, "bad vDPA device %.32s: a name is too long", m.name);
	va->kind = !strcmp(m.type, vdpa_kind_name(VDPA_VHOST))    ? VDPA_VHOST
	           : !strcmp(m.type, vdpa_kind_name(VDPA_VIRTIO)) ? VDPA_VIRTIO
	                                                          : VDPA_NONE;
	if (va->kind == VDPA_NONE)
		return kb_err_set(err, EINVAL, "bad vdpa type '%s'", m.type);
	if (va->kind == VDPA_VHOST) {
		if (!str_has_prefix(m.path, "/dev/vhost-vdpa-") ||
		        str_copy(va->chardev, sizeof(va->chardev), m.path + 5) < 0)
			return kb_err_set(err, EINVAL, "bad vdpa path '%s'", m.path);
		return 0;
	}
	if ((r = apimsg_netdev_state_decode(m.vdpa_obj, &ns, err)) < 0)
		return r;
	podnet_from_state(&ns, &va->pn);
	return 0;
}

static void device_to_json(const struct device *d, json_t *obj)
{
	const struct vdpa_dev *v = d->priv;
	bool pci;

	if (!v)
		return;
	pci = v->fn.addr[0] != '\0';
	apimsg_vdpa_device_set(
	        obj, &(struct apimsg_vdpa_device){
	                     .driver = v->driver,
	                     .vdpa_type = vdpa_kind_name(v->kind),
	                     .parent_device = v->parent,
	                     .pci_address = pci ? v->fn.addr : NULL,
	                     .pf_pci_address = pci && v->fn.pf_addr[0] ? v->fn.pf_addr : NULL,
	                     .pf_name = pci && v->pf_name[0] ? v->pf_name : NULL,
	                     .chardev = v->chardev[0] ? v->chardev : NULL,
	                     .netdev = v->netdev[0] ? v->netdev : NULL,
	             });
}

/* device-info spec 1.1.0: parent-device is the vDPA device name on the vdpa bus. */
static json_t *device_info(const struct device *d, const struct alloc *a)
{
	const struct vdpa_dev *v = d->priv;
	const struct vdpa_alloc *va = a ? a->priv : NULL;
	enum vdpa_kind kind = va ? va->kind : v ? v->kind : VDPA_NONE;
	const char *chardev = va ? va->chardev : v ? v->chardev : "";
	const char *virtio = va ? va->virtio : v ? v->virtio : "";
	const char *pci = va ? va->pci : v ? v->fn.addr : "";
	const char *pf = va ? va->pf_pci : v ? v->fn.pf_addr : "";
	char path[64];
	json_t *o;

	if (kind == VDPA_NONE)
		return NULL;
	if (kind == VDPA_VHOST)
		container_path(chardev, path, sizeof(path));
	else
		snprintf(path, sizeof(path), "/sys/bus/virtio/devices/%s", virtio);
	o = json_pack("{s:s, s:s, s:s}", "parent-device", d->id, "driver", vdpa_kind_name(kind),
	        "path", path);
	if (o && pci[0])
		json_object_set_new(o, "pci-address", json_string(pci));
	if (o && pf[0])
		json_object_set_new(o, "pf-pci-address", json_string(pf));
	return json_pack("{s:s, s:s, s:o*}", "type", "vdpa", "version", "1.1.0", "vdpa", o);
}

static int dp_allocate(const struct device *d, struct devtype_alloc_spec *spec, struct kb_err *err)
{
	const struct vdpa_dev *v = d->priv;
	json_t *extra = NULL;
	char mount[64];
	int r;

	/* As sriov-network-device-plugin: PCIDEVICE carries the parent's PCI address (the
	 * device name when the parent is not PCI), _INFO the vhost-vdpa node as "vdpa". */
	if (v && v->kind == VDPA_VHOST) {
		if ((r = dpspec_dev_node(spec, v->chardev, err)) < 0)
			return r;
		snprintf(mount, sizeof(mount), "/dev/%s", v->chardev);
		if (!(extra = json_pack("{s:{s:s}}", "vdpa", "mount", mount)))
			return kb_err_set(err, ENOMEM, "out of memory");
	}
	return dpspec_pcidevice_env(d, v && v->fn.addr[0] ? v->fn.addr : d->id, extra, spec, err);
}

static struct devtype_ops vdpa_ops = {
        .name = API_DEVTYPE_VDPA,
        .pool_keys = sel_keys_vdpa,
        .pool_cfg_parse = pool_cfg_parse,
        .pool_cfg_free = pool_cfg_free,
        .discover = discover,
        .attach = attach,
        .detach = detach,
        .check = check,
        .restore = restore,
        .alloc_to_json = vdpa_to_json,
        .alloc_view = vdpa_view,
        .alloc_from_json = vdpa_from_json,
        .device_to_json = device_to_json,
        .device_info = device_info,
        .dp_allocate = dp_allocate,
        .device_priv_free = free,
        .alloc_priv_size = sizeof(struct vdpa_alloc),
};
DEVTYPE_REGISTER(vdpa_ops)
