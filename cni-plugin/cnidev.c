/* SPDX-License-Identifier: Apache-2.0 */
#include "cnidev.h"
#include "agentcall.h"
#include "api/api.h"

#include <errno.h>
#include <string.h>

/* The agent's device types, as static strings the netconf can point at. */
static const char *known_type(const char *t)
{
	static const char *const types[] = {API_DEVTYPE_VIRTIO_USER, API_DEVTYPE_SRIOV_VF,
	        API_DEVTYPE_VDPA, API_DEVTYPE_KERNEL};

	for (size_t i = 0; t && i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(t, types[i]))
			return types[i];
	return NULL;
}

int cnidev_infer(struct netconf *nc, struct cni_err *ce)
{
	json_t *args, *reply = NULL, *d;
	const char *type = NULL;
	size_t i;
	int r;

	if (nc->device_type_set || !nc->device_id)
		return 0;
	if (!(args = json_pack("{s:s}", "what", "devices")))
		return cni_err_set(ce, CNI_ERR_INTERNAL, ENOMEM, "out of memory");
	r = agentcall(nc, API_OP_LIST, args, &reply, ce);
	json_decref(args);
	if (r < 0)
		return r;
	json_array_foreach (json_object_get(reply, "devices"), i, d) {
		if (!strcmp(json_string_value(json_object_get(d, "id")) ?: "", nc->device_id)) {
			type = known_type(json_string_value(json_object_get(d, "type")));
			break;
		}
	}
	json_decref(reply);
	/* Not a device of the agent: keep the default and let attach say what is wrong. */
	if (type)
		nc->device_type = type;
	return 0;
}
