/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sections of the status result that the agent's parts add (README "status"): the API
 * server's `api`, the state journal's `state`, agent IPAM's `ipam`, and the modules'
 * `devicePlugin` (with its `podResources`), `sriov`, `metrics` and `kubernetes`. Typed and
 * encoded here so that those parts spell no field name; agentctl prints them generically.
 * (The fast path's section: apimsg_fp.h.)
 */
#ifndef KB_API_APIMSG_STATUS_H
#define KB_API_APIMSG_STATUS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Section keys of the status result. */
#define APIMSG_STATUS_IPAM       "ipam"
#define APIMSG_STATUS_SRIOV      "sriov"
#define APIMSG_STATUS_METRICS    "metrics"
#define APIMSG_STATUS_KUBERNETES "kubernetes"
/* devicePlugin: APIMSG_DP_STATUS_KEY (apimsg_dp.h); fastpath: APIMSG_FP_STATUS_KEY. */

struct apimsg_api_status {
	const char *socket;
	int64_t clients, requests, errors, refused, commits, commit_failures, accept_errors;
	int64_t reply_timeouts, non_root_clients, refused_non_root;
	int64_t output_bytes, output_peak_bytes, output_refused, output_paused, max_output_bytes;
};
json_t *apimsg_api_status_encode(const struct apimsg_api_status *s);

struct apimsg_state_status {
	const char *dir;
	int64_t seq, journal_records, commits, snapshots;
	const char *last_error; /* "" when none */
};
json_t *apimsg_state_status_encode(const struct apimsg_state_status *s);

/* ipam: the addresses held and the ranges that hold some. */
struct apimsg_ipam_range_status {
	const char *network, *range;
	double size; /* addresses of the range (IPv6 ranges are large) */
	int64_t allocated;
};
json_t *apimsg_ipam_range_status_encode(const struct apimsg_ipam_range_status *r);
/* ranges: an array of the above (stolen). */
json_t *apimsg_ipam_status_encode(int64_t addresses, json_t *ranges);

/* devicePlugin's podResources reconcile. */
struct apimsg_podres_status {
	bool enabled;
	int64_t owner_unknown, refused_reserved;
	/* enabled: */
	const char *socket;
	int64_t interval_ms, grace_period_ms, lists, list_failures, released, pods_last_seen;
	const char *last_list, *last_error; /* NULL: none (sent as null) */
};
json_t *apimsg_podres_status_encode(const struct apimsg_podres_status *s);

struct apimsg_devplugin_status {
	bool enabled;
	const char *plugin_dir, *kubelet_socket, *device_info_dir;
	bool kubelet_present;
	int plugins, registered, listening, list_and_watch_streams;
	json_t *pod_resources; /* stolen (apimsg_podres_status_encode) */
};
/* Not enabled: {"enabled": false} only. */
json_t *apimsg_devplugin_status_encode(const struct apimsg_devplugin_status *s);

struct apimsg_sriov_status {
	const char *pf_netlink;
	int64_t rescan_interval_ms;
	bool watch;
	int inotify_watches;
	int64_t rescans, events;
};
json_t *apimsg_sriov_status_encode(const struct apimsg_sriov_status *s);

struct apimsg_metrics_status {
	bool enabled;
	const char *address; /* "" when not serving */
	int64_t scrapes, connections, connections_total, refused, timeouts, bad_requests;
};
json_t *apimsg_metrics_status_encode(const struct apimsg_metrics_status *s);

/* kubernetes.watch: the pod watch. */
struct apimsg_kube_watch_status {
	bool synced;
	const char *state, *resource_version, *last_error; /* "" when none */
	int64_t pods, lists, list_pages, watches, watch_events, bookmarks, relists_gone, errors;
	int64_t last_status; /* HTTP status of the last answer */
};
json_t *apimsg_kube_watch_status_encode(const struct apimsg_kube_watch_status *s);

/* kubernetes.events: the Event poster. */
struct apimsg_kube_events_status {
	int64_t posted, queued, dropped, deduplicated, failed_attempts;
	const char *last_error; /* "" when none */
};
json_t *apimsg_kube_events_status_encode(const struct apimsg_kube_events_status *s);

struct apimsg_kube_status {
	bool enabled;
	const char *node, *server, *token; /* token: where it comes from */
	int64_t gc_grace_period_seconds, gc_released, gc_pending;
	json_t *watch;  /* stolen (apimsg_kube_watch_status_encode) */
	json_t *events; /* stolen (apimsg_kube_events_status_encode), NULL: no event poster */
};
/* Not enabled: {"enabled": false} only. */
json_t *apimsg_kube_status_encode(const struct apimsg_kube_status *s);

#endif
