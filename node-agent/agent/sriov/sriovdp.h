/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sriov-network-device-plugin configuration files, read unchanged: a `pools:` entry
 *   - sriovDevicePluginConfig: /etc/pcidp/config.json
 *   - sriovDevicePluginConfig: {file: /etc/pcidp/config.json, resourcePrefix: openshift.io}
 * stands for one kbnet pool per entry of the file's `resourceList` (resource names kept, so pod
 * specs do not change). What kbnet cannot do is an error naming the key, never ignored.
 */
#ifndef KB_SRIOV_SRIOVDP_H
#define KB_SRIOV_SRIOVDP_H

#include <stddef.h>

#include "common/err.h"

#define SRIOVDP_MAX_FILE       (1024 * 1024)
#define SRIOVDP_DEFAULT_PREFIX "intel.com" /* the device plugin's --resource-prefix default */

/* The file's text (name for messages) to a JSON array of kbnet pool mappings (malloc'd). */
int sriovdp_translate(const char *text, size_t len, const char *name, const char *prefix,
        char **ret_json, struct kb_err *err);

#endif
