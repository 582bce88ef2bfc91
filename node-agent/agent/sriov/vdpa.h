/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vdpa device type: vDPA devices under <sysfsRoot>/bus/vdpa/devices/<name>, with
 *   - driver vhost_vdpa: a char device /dev/vhost-vdpa-N (the vhost-vdpa-N child); the pod's
 *     DPDK app opens it with virtio_user; nothing moves, no kernel interface.
 *   - driver virtio_vdpa: a virtio device (virtioN child) whose netdev (virtioN/net/<name>) is
 *     moved into the pod like a VF netdev (podnet.h).
 * The parent device (the symlink target's parent directory) is usually a VF; PCI selectors
 * apply to it. Device IDs are vDPA device names ("vdpa0").
 */
#ifndef KB_VDPA_H
#define KB_VDPA_H

#include <net/if.h>

#include "agent/sriov/pci.h"
#include "agent/sriov/podnet.h"

enum vdpa_kind { VDPA_NONE, VDPA_VHOST, VDPA_VIRTIO };

struct vdpa_dev {
	char name[64];
	char driver[32];
	enum vdpa_kind kind;
	char parent[64];  /* parent device name (a PCI address for VF-backed devices) */
	struct pci_fn fn; /* the parent's PCI function, fn.addr "" when not PCI */
	char pf_name[IFNAMSIZ];
	char link_type[16];
	char chardev[32]; /* "vhost-vdpa-0" */
	char virtio[32];  /* "virtio3" */
	char netdev[IFNAMSIZ];
};

struct vdpa_alloc {
	char name[64];
	char driver[32];
	enum vdpa_kind kind;
	char parent[64];
	char pci[PCI_ADDR_SIZE], pf_pci[PCI_ADDR_SIZE];
	char chardev[32];
	char virtio[32];
	struct podnet pn; /* virtio */
};

const char *vdpa_kind_name(enum vdpa_kind k); /* "vhost", "virtio", "none" */

#endif
