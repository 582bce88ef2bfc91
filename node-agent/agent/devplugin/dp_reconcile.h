/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reconcile allocations with kubelet's PodResources List, so a device whose pod is gone is
 * released even when the CNI DEL never came. kubelet is the authority on which pod a
 * device-plugin device belongs to; an allocation in a registered pool is stale when
 *   - kubelet assigns its device to no live pod, and
 *   - its own pod is gone, unknown, or holds other devices of the resource now
 *     (a live pod that never asked kubelet for the resource used the network without the
 *     device plugin: it is not ours to judge, so it stays).
 * Stale for the whole grace period, over at least two Lists, means released. Device-info files
 * of devices kubelet no longer assigns are removed the same way. Nothing happens while the List
 * fails: an unreachable kubelet is no evidence.
 */
#ifndef KB_DP_RECONCILE_H
#define KB_DP_RECONCILE_H

#include <jansson.h>
#include <stdbool.h>

#include "agent/alloc.h"
#include "agent/devplugin/dp_config.h"
#include "common/err.h"
#include "podresources_v1.pb-c.h"

/* An index over one List reply. */
struct dp_podres;

int dp_podres_new(const V1__ListPodResourcesResponse *r, struct dp_podres **ret);
void dp_podres_free(struct dp_podres *pr);
/* kubelet assigns this device of this resource to a live pod's container. */
bool dp_podres_assigned(const struct dp_podres *pr, const char *resource, const char *id);
/* The pod (namespace, name) kubelet assigns this device to; false when none. */
bool dp_podres_owner(const struct dp_podres *pr, const char *resource, const char *id,
        const char **ret_ns, const char **ret_name);

enum dp_verdict {
	DP_KEEP_ASSIGNED,  /* kubelet assigns the device */
	DP_KEEP_UNMANAGED, /* its pod lives and asked kubelet for none of the resource */
	DP_STALE,
};
enum dp_verdict dp_reconcile_verdict(
        const struct dp_podres *pr, const struct alloc *a, const char *resource);

int dp_reconcile_init(const struct dp_config *cfg, struct kb_err *err);
void dp_reconcile_fini(void);
/* Run a List soon (after a registration, say) instead of at the next interval. */
void dp_reconcile_soon(void);
/* kubelet's Allocate assigned `d` to a pod not known yet: learn which from a List soon. */
void dp_reconcile_allocated(const struct device *d);
/* Record the pod kubelet assigned a reserved device to (what each List does). Only that
 * pod's attach may take the device; until an owner is known, attaches naming it get EAGAIN. */
void dp_reconcile_owner_set(const char *id, const char *ns, const char *name);
json_t *dp_reconcile_status(void);

#endif
