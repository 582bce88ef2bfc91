/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device type of a netconf without "deviceType" (a sriov-cni NetworkAttachmentDefinition
 * with only "type" changed to kbnet): the type of the device Multus passes as deviceID, as
 * the agent knows it (a VF's PCI address: sriov-vf; a vDPA device: vdpa).
 */
#ifndef KB_CNI_CNIDEV_H
#define KB_CNI_CNIDEV_H

#include "netconf.h"
#include "result.h"

/* Sets nc->device_type when the netconf has no deviceType but a deviceID the agent has (else
 * the default stays and attach reports the unknown device); errors: the agent unreachable. */
int cnidev_infer(struct netconf *nc, struct cni_err *ce);

#endif
