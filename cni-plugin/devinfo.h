/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Multus device-info file (runtimeConfig.CNIDeviceInfoFile): the agent builds the object
 * (spec 1.1.0, types vhost-user/pci/vdpa); the plugin writes it as is, atomically, mode 0644,
 * and removes it on DEL.
 */
#ifndef KB_CNI_DEVINFO_H
#define KB_CNI_DEVINFO_H

#include <jansson.h>

#include "common/err.h"

/* Write `info` to `path` (absolute, validated): temp file, fsync, rename; parents created. */
int devinfo_write(const char *path, json_t *info, struct kb_err *err);
/* Remove it; a missing file is fine. */
int devinfo_remove(const char *path, struct kb_err *err);

#endif
