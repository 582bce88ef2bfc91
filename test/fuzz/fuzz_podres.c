/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kubelet's PodResources List reply as the reconcile reads it (agent/devplugin/dp_reconcile.c):
 * the index over pods, their resources and device IDs, and the questions asked of it.
 * Input: the reply's protobuf bytes (v1.ListPodResourcesResponse, without the gRPC prefix).
 */
#include "fuzz.h"

#include "agent/alloc.h"
#include "agent/devplugin/dp_reconcile.h"
#include "podresources_v1.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	V1__ListPodResourcesResponse *r = v1__list_pod_resources_response__unpack(NULL, size, data);
	struct dp_podres *pr = NULL;

	if (!r)
		return 0;
	if (dp_podres_new(r, &pr) < 0)
		abort();
	for (size_t i = 0; i < r->n_pod_resources; i++) {
		const V1__PodResources *p = r->pod_resources[i];
		struct alloc a = {.container_id = "c", .ifname = "net1", .device_id = "vu-0"};
		a.pod.ns = p->namespace_;
		a.pod.name = p->name;
		for (size_t j = 0; j < p->n_containers; j++)
			for (size_t k = 0; k < p->containers[j]->n_devices; k++) {
				const V1__ContainerDevices *cd = p->containers[j]->devices[k];
				for (size_t l = 0; l < cd->n_device_ids; l++) {
					if (!dp_podres_assigned(
					            pr, cd->resource_name, cd->device_ids[l]))
						abort(); /* listed, so assigned */
					a.device_id = cd->device_ids[l];
				}
				dp_reconcile_verdict(pr, &a, cd->resource_name);
			}
		dp_reconcile_verdict(pr, &a, "kbnet.io/virtio_user");
		a.pod.ns = NULL;
		dp_reconcile_verdict(pr, &a, "kbnet.io/virtio_user");
	}
	dp_podres_assigned(pr, "kbnet.io/virtio_user", "vu-0");
	dp_podres_free(pr);
	v1__list_pod_resources_response__free_unpacked(r, NULL);
	return 0;
}
