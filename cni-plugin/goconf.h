/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The netconf as the Go plugins (sriov-cni, the reference plugins on libcni's types) read
 * it: json.Unmarshal into structs, so for a string field an absent key, null and "" are all
 * the zero value, "not set". kbnet-cni's parser treats null as absent and refuses "" for
 * values it validates (a MAC, a device ID...); before parsing, the string keys kbnet reads
 * whose value is "" are dropped, so a NetworkAttachmentDefinition written for sriov-cni
 * ("mac": "", "deviceID": "") means the same here. Unknown keys stay (ignored, as there).
 */
#ifndef KB_CNI_GOCONF_H
#define KB_CNI_GOCONF_H

#include <stddef.h>

/* *buf (malloc'd, *len bytes) rewritten when it held such "" values; unchanged when it held
 * none or is not a JSON object (the parser then reports what is wrong). -ENOMEM only. */
int goconf_normalize(char **buf, size_t *len);

#endif
