/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sriov-vf device type: SR-IOV VFs found under <sysfsRoot>/bus/pci/devices (PFs with
 * sriov_totalvfs and their virtfnN links), pooled by selectors (select.h), handed to pods:
 *   - VF on a kernel driver: its netdev moves into the pod (podnet.h), settings go through
 *     the PF (vfnl.h); both undone on release.
 *   - VF on vfio-pci (or igb_uio/uio_pci_generic): PF-level settings only; the pod gets the
 *     device node through the kubelet device plugin (dp_allocate).
 * Device IDs are VF PCI addresses.
 */
#ifndef KB_SRIOV_H
#define KB_SRIOV_H

#include <net/if.h>
#include <stdbool.h>

#include "agent/sriov/pci.h"
#include "agent/sriov/podnet.h"
#include "agent/sriov/vfnl.h"

enum vf_mode {
	VF_MODE_NONE,   /* no driver bound: unusable */
	VF_MODE_NETDEV, /* kernel netdev driver (iavf, mlx5_core, ...) */
	VF_MODE_VFIO,   /* vfio-pci */
	VF_MODE_UIO,    /* igb_uio, uio_pci_generic */
};

const char *sriov_mode_name(enum vf_mode m);
enum vf_mode sriov_mode_of_driver(const char *driver);

/* What discovery knows of a VF (device priv). */
struct sriov_dev {
	struct pci_fn fn;
	char pf_name[IFNAMSIZ]; /* "" when the PF has no netdev */
	char link_type[16];
	char netdev[IFNAMSIZ]; /* the VF netdev visible to the agent, "" when none */
	char uio[16];
	enum vf_mode mode;
};

/* Per-allocation state (persisted): what attach changed and what was there before. */
struct sriov_alloc {
	char pci[PCI_ADDR_SIZE], pf_pci[PCI_ADDR_SIZE];
	char pf_name[IFNAMSIZ];
	char driver[64];
	int vf_index;
	int iommu_group;
	enum vf_mode mode;
	struct vf_state applied; /* mask: settings this allocation changed; values it set */
	struct vf_state orig;    /* the VF's settings before (mask: what the PF reported) */
	struct podnet pn;        /* netdev mode */
};

/* Apply `want` to VF vf_index of PF pf_name, recording the VF's previous settings in sa;
 * on failure everything applied is undone. Shared with vdpa (a vDPA device on a VF). */
int sriov_pf_apply(struct sriov_alloc *sa, const struct vf_state *want, unsigned rate_given,
        struct kb_err *err);
/* Undo what sriov_pf_apply did (reverse order). */
int sriov_pf_restore(struct sriov_alloc *sa, struct kb_err *err);

#endif
