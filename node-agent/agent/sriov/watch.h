/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Rediscovery of SR-IOV and vDPA devices while the agent runs, so VFs created or removed
 * (sriov_numvfs), drivers rebound and vDPA devices added or deleted show up without a restart:
 *   - kernel uevents (NETLINK_KOBJECT_UEVENT) for the pci, net, vdpa and virtio subsystems:
 *     what a real system announces;
 *   - inotify on the sysfs directories discovery reads (bus/pci/devices, each PF and VF
 *     directory, bus/vdpa/devices): what a fixture tree under a test sysfsRoot announces (real
 *     sysfs sends none of these);
 *   - a periodic rescan as the safety net (also catches health changes nobody announces).
 * Events are debounced into one inventory rescan. SIGHUP rediscovery is the core's.
 */
#ifndef KB_WATCH_H
#define KB_WATCH_H

#include <stdint.h>

/* Rescans done since start (status and tests). */
uint64_t watch_rescans(void);

#endif
