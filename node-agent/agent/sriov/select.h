/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pool selectors, with sriov-network-device-plugin's semantics: every selector given must
 * match (AND), any value of a selector may match (OR); an absent selector matches everything.
 *   vendors, devices   PCI IDs ("8086", "154c"; a 0x prefix is accepted)
 *   drivers            bound driver of the VF (or of the vDPA device's parent)
 *   pfNames            PF netdev name, optionally with VF indexes: "ens1f0#0-3,7"; the name is
 *                      an exact (case-insensitive) match or a POSIX extended regex (unanchored,
 *                      like the Go device plugin: use ^...$ to anchor)
 *   rootDevices        PF PCI address, optionally with VF indexes: "0000:3b:00.0#0-7"
 *   pciAddresses       the VF's (or vDPA parent's) PCI address
 *   linkTypes          link type of the PF netdev: "ether", "infiniband"
 *   vdpaType           (vdpa pools) "vhost" (vhost_vdpa) or "virtio" (virtio_vdpa)
 *   selectors          a list of selector mappings (the keys above) instead of the keys
 *                      themselves: a device that matches any item matches
 *   needVhostNet       (sriov-vf pools, not a selector) pods also get /dev/vhost-net and
 *                      /dev/net/tun
 */
#ifndef KB_SELECT_H
#define KB_SELECT_H

#include <stdbool.h>

#include "agent/config.h"
#include "common/err.h"

struct sel;

/* The device a selector is matched against; NULL strings and -1 index mean unknown. */
struct sel_dev {
	const char *vendor, *device, *driver, *pci_addr;
	const char *pf_name, *pf_addr, *link_type;
	int vf_index;
	const char *vdpa_type; /* "vhost", "virtio" */
};

extern const char *const sel_keys_vf[];   /* pool keys of sriov-vf pools */
extern const char *const sel_keys_vdpa[]; /* pool keys of vdpa pools */

/* Parse the selector keys of a pool (vdpa: also vdpaType). */
int sel_parse(const struct cfg_node *pool, bool vdpa, struct sel **ret, struct kb_err *err);
void sel_free(struct sel *s);
bool sel_match(const struct sel *s, const struct sel_dev *d);
bool sel_need_vhost_net(const struct sel *s);

#endif
