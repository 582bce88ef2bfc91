/* SPDX-License-Identifier: Apache-2.0 */
/* What SR-IOV and vDPA devices hand to a container through the kubelet device plugin. */
#ifndef KB_SRIOV_DPSPEC_H
#define KB_SRIOV_DPSPEC_H

#include "agent/inventory.h"
#include "common/err.h"

/* The configured devRoot ("/dev", a fixture tree in tests). */
const char *dpspec_dev_root(void);
/* PCIDEVICE_<PREFIX>_<POOL> += id (a PCI address: the VF's, or a vDPA device's parent's),
 * named as sriov-network-device-plugin names it, and PCIDEVICE_<PREFIX>_<POOL>_INFO, its
 * device-info map: {"<id>": {"generic": {"deviceID": id}, <extra's members>}} (extra:
 * "vfio", "vdpa", "vhost" mount objects, may be NULL; stolen). */
int dpspec_pcidevice_env(const struct device *d, const char *id, json_t *extra,
        struct devtype_alloc_spec *spec, struct kb_err *err);
/* /dev/vhost-net and /dev/net/tun for a pool with needVhostNet, and their "vhost" info. */
int dpspec_vhost_net(struct devtype_alloc_spec *spec, json_t *extra, struct kb_err *err);
/* The device node <devRoot>/<rel>, read-write, at /dev/<rel> in the container. */
int dpspec_dev_node(struct devtype_alloc_spec *spec, const char *rel, struct kb_err *err);

#endif
