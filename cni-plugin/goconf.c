/* SPDX-License-Identifier: Apache-2.0 */
#include "goconf.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* String keys kbnet-cni reads, by object: "" there is "not set". */
static const char *const top_keys[] = {"mac", "deviceID", "pciBusID", "deviceType", "resourceName",
        "agentSocket", "cacheDir", "logLevel", "logFile", "spoofchk", "trust", "link_state", NULL};
static const char *const rc_keys[] = {"mac", "deviceID", "CNIDeviceInfoFile", NULL};
static const char *const args_cni_keys[] = {"mac", NULL};

static bool drop_empty(json_t *obj, const char *const *keys)
{
	bool changed = false;
	json_t *v;

	if (!json_is_object(obj))
		return false;
	for (; *keys; keys++) {
		v = json_object_get(obj, *keys);
		if (json_is_string(v) && json_string_length(v) == 0) {
			json_object_del(obj, *keys);
			changed = true;
		}
	}
	return changed;
}

int goconf_normalize(char **buf, size_t *len)
{
	json_t *root = json_loadb(*buf, *len, JSON_REJECT_DUPLICATES, NULL);
	bool changed;
	char *out;

	if (!json_is_object(root)) {
		json_decref(root);
		return 0;
	}
	changed = drop_empty(root, top_keys);
	changed |= drop_empty(json_object_get(root, "runtimeConfig"), rc_keys);
	changed |= drop_empty(json_object_get(json_object_get(root, "args"), "cni"), args_cni_keys);
	if (!changed) {
		json_decref(root);
		return 0;
	}
	out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!out)
		return -ENOMEM;
	free(*buf);
	*buf = out;
	*len = strlen(out);
	return 0;
}
