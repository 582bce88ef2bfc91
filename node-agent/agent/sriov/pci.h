/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PCI functions as sysfs describes them under <sysfsRoot>/bus/pci/devices/<address>: vendor and
 * device IDs, bound driver, NUMA node, IOMMU group, netdevs (net/), SR-IOV PFs
 * (sriov_totalvfs, sriov_numvfs, virtfnN) and VFs (physfn).
 */
#ifndef KB_PCI_H
#define KB_PCI_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

#define PCI_ADDR_SIZE   16   /* "0000:3b:02.0" + NUL, with room */
#define PCI_MAX_VFS     4096 /* PCIe allows 65535; no NIC comes close */
#define PCI_MAX_NETDEVS 8

struct pci_fn {
	char addr[PCI_ADDR_SIZE];
	char vendor[8]; /* "8086": lower-case hex, no 0x */
	char device[8];
	char driver[64];             /* "" when no driver is bound */
	int numa;                    /* -1 when unknown */
	int iommu_group;             /* -1 when none */
	char pf_addr[PCI_ADDR_SIZE]; /* "" when not a VF */
	int vf_index;                /* -1 when not a VF */
};

/* "dddd:bb:dd.f" with hex digits. */
bool pci_addr_valid(const char *s);
/* "<sysfsRoot>/bus/pci/devices/<addr>" */
int pci_dir(const char *root, const char *addr, char *buf, size_t size);

int pci_read(const char *root, const char *addr, struct pci_fn *ret, struct kb_err *err);

/* Addresses of every PF (a function with sriov_totalvfs), sorted. */
int pci_list_pfs(const char *root, char ***ret, size_t *ret_n, struct kb_err *err);

struct pci_vf_ref {
	int index;
	char addr[PCI_ADDR_SIZE];
};
/* The VFs a PF lists (virtfnN links), by index. *ret is malloc'd (may be NULL when none). */
int pci_list_vfs(const char *root, const char *pf_addr, struct pci_vf_ref **ret, size_t *ret_n,
        struct kb_err *err);

/* Names under "<dir>/net" (netdevs this function has in the viewer's namespace). */
int pci_netdevs(const char *dir, char names[][IFNAMSIZ], size_t max);
/* "ether", "infiniband" or the ARPHRD number, from "<dir>/net/<ifname>/type". */
int pci_link_type(const char *dir, const char *ifname, char *buf, size_t size);
/* Name of the uio device ("uio3") of a function bound to a uio driver. */
int pci_uio_name(const char *dir, char *buf, size_t size);

#endif
