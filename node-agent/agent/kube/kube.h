/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's Kubernetes API client module: watches the pods of this node (kwatch), releases
 * the allocations of pods that are gone for longer than a grace period, and posts an Event on
 * a pod whose attach failed (kevent). Everything runs on the agent's loop through libcurl's
 * multi interface (lib/curlev): the API server being slow, down or refusing us never delays a CNI
 * request.
 *
 * Configuration ("kubernetes" section), off unless enabled:
 *   kubernetes:
 *     enabled: true
 *     nodeName: ""              # default: $NODE_NAME (downward API)
 *     kubeconfig: ""            # development: a kubeconfig file; empty: in-cluster
 *     context: ""               # kubeconfig context; default its current-context
 *     tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token
 *     caFile: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
 *     gcGracePeriodSeconds: 60  # 0: never release allocations on our own
 *     gcIntervalSeconds: 10
 *     requestTimeoutSeconds: 30
 *     watchTimeoutSeconds: 300
 *     backoffMaxSeconds: 30
 *     listPageSize: 500         # pods per list page (limit/continue)
 *     events: true
 */
#ifndef KB_KUBE_H
#define KB_KUBE_H

#include <limits.h>
#include <stdbool.h>
#include <time.h>

#include "agent/config.h"

struct alloc;
struct kwatch_pods;

struct kube_cfg {
	bool enabled;
	char node_name[254];
	char kubeconfig[PATH_MAX];
	char context[254];
	char token_file[PATH_MAX];
	char ca_file[PATH_MAX];
	unsigned gc_grace_s;
	unsigned gc_interval_s;
	unsigned request_timeout_s;
	unsigned watch_timeout_s;
	unsigned backoff_max_s;
	unsigned list_page_size;
	bool events;
};

const struct kube_cfg *kube_cfg(const struct cfg *cfg);

/* Whether the pod an allocation was made for still exists in the pod set:
 * 1 present, 0 gone, -ENOENT when the allocation names no pod (never collected). Matches on
 * the pod UID when the allocation has one (a pod recreated under the same name is another
 * pod), else on namespace/name. */
int kube_pod_present(const struct kwatch_pods *pods, const struct alloc *a);

#endif
