/* SPDX-License-Identifier: Apache-2.0 */
#include "api/apimsg_status.h"

json_t *apimsg_api_status_encode(const struct apimsg_api_status *s)
{
	json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "socket", s->socket,
	        "clients", (json_int_t)s->clients, "requests", (json_int_t)s->requests, "errors",
	        (json_int_t)s->errors, "refused", (json_int_t)s->refused, "commits",
	        (json_int_t)s->commits, "commitFailures", (json_int_t)s->commit_failures,
	        "acceptErrors", (json_int_t)s->accept_errors);

	if (o && json_object_update_new(
	                 o, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "replyTimeouts",
	                            (json_int_t)s->reply_timeouts, "nonRootClients",
	                            (json_int_t)s->non_root_clients, "refusedNonRoot",
	                            (json_int_t)s->refused_non_root, "outputBytes",
	                            (json_int_t)s->output_bytes, "outputPeakBytes",
	                            (json_int_t)s->output_peak_bytes, "outputRefused",
	                            (json_int_t)s->output_refused, "outputPaused",
	                            (json_int_t)s->output_paused, "maxOutputBytes",
	                            (json_int_t)s->max_output_bytes)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *apimsg_state_status_encode(const struct apimsg_state_status *s)
{
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:s}", "dir", s->dir, "seq", (json_int_t)s->seq,
	        "journalRecords", (json_int_t)s->journal_records, "commits", (json_int_t)s->commits,
	        "snapshots", (json_int_t)s->snapshots, "lastError",
	        s->last_error ? s->last_error : "");
}

json_t *apimsg_ipam_range_status_encode(const struct apimsg_ipam_range_status *r)
{
	return json_pack("{s:s, s:s, s:f, s:I}", "network", r->network, "range", r->range, "size",
	        r->size, "allocated", (json_int_t)r->allocated);
}

json_t *apimsg_ipam_status_encode(int64_t addresses, json_t *ranges)
{
	return json_pack("{s:I, s:o}", "addresses", (json_int_t)addresses, "ranges", ranges);
}

json_t *apimsg_podres_status_encode(const struct apimsg_podres_status *s)
{
	if (!s->enabled)
		return json_pack("{s:b, s:I, s:I}", "enabled", 0, "ownerUnknown",
		        (json_int_t)s->owner_unknown, "refusedReserved",
		        (json_int_t)s->refused_reserved);
	return json_pack("{s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s?, s:s?}",
	        "enabled", 1, "socket", s->socket, "intervalMs", (json_int_t)s->interval_ms,
	        "gracePeriodMs", (json_int_t)s->grace_period_ms, "lists", (json_int_t)s->lists,
	        "listFailures", (json_int_t)s->list_failures, "released", (json_int_t)s->released,
	        "podsLastSeen", (json_int_t)s->pods_last_seen, "ownerUnknown",
	        (json_int_t)s->owner_unknown, "refusedReserved", (json_int_t)s->refused_reserved,
	        "lastList", s->last_list, "lastError", s->last_error);
}

json_t *apimsg_devplugin_status_encode(const struct apimsg_devplugin_status *s)
{
	if (!s->enabled) {
		json_decref(s->pod_resources);
		return json_pack("{s:b}", "enabled", 0);
	}
	return json_pack("{s:b, s:s, s:s, s:b, s:s, s:i, s:i, s:i, s:i, s:o}", "enabled", 1,
	        "pluginDir", s->plugin_dir, "kubeletSocket", s->kubelet_socket, "kubeletPresent",
	        s->kubelet_present, "deviceInfoDir", s->device_info_dir, "plugins", s->plugins,
	        "registered", s->registered, "listening", s->listening, "listAndWatchStreams",
	        s->list_and_watch_streams, "podResources", s->pod_resources);
}

json_t *apimsg_sriov_status_encode(const struct apimsg_sriov_status *s)
{
	return json_pack("{s:s, s:I, s:b, s:i, s:I, s:I}", "pfNetlink", s->pf_netlink,
	        "rescanIntervalMs", (json_int_t)s->rescan_interval_ms, "watch", s->watch,
	        "inotifyWatches", s->inotify_watches, "rescans", (json_int_t)s->rescans, "events",
	        (json_int_t)s->events);
}

json_t *apimsg_metrics_status_encode(const struct apimsg_metrics_status *s)
{
	return json_pack("{s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "enabled", s->enabled,
	        "address", s->address ? s->address : "", "scrapes", (json_int_t)s->scrapes,
	        "connections", (json_int_t)s->connections, "connectionsTotal",
	        (json_int_t)s->connections_total, "refused", (json_int_t)s->refused, "timeouts",
	        (json_int_t)s->timeouts, "badRequests", (json_int_t)s->bad_requests);
}

json_t *apimsg_kube_watch_status_encode(const struct apimsg_kube_watch_status *s)
{
	return json_pack("{s:b, s:s, s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s}",
	        "synced", s->synced, "state", s->state, "pods", (json_int_t)s->pods,
	        "resourceVersion", s->resource_version ? s->resource_version : "", "lists",
	        (json_int_t)s->lists, "listPages", (json_int_t)s->list_pages, "watches",
	        (json_int_t)s->watches, "watchEvents", (json_int_t)s->watch_events, "bookmarks",
	        (json_int_t)s->bookmarks, "relistsGone", (json_int_t)s->relists_gone, "errors",
	        (json_int_t)s->errors, "lastStatus", (json_int_t)s->last_status, "lastError",
	        s->last_error ? s->last_error : "");
}

json_t *apimsg_kube_events_status_encode(const struct apimsg_kube_events_status *s)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:s}", "posted", (json_int_t)s->posted,
	        "queued", (json_int_t)s->queued, "dropped", (json_int_t)s->dropped, "deduplicated",
	        (json_int_t)s->deduplicated, "failedAttempts", (json_int_t)s->failed_attempts,
	        "lastError", s->last_error ? s->last_error : "");
}

json_t *apimsg_kube_status_encode(const struct apimsg_kube_status *s)
{
	json_t *o;

	if (!s->enabled) {
		json_decref(s->watch);
		json_decref(s->events);
		return json_pack("{s:b}", "enabled", 0);
	}
	o = json_pack("{s:b, s:s, s:s, s:s, s:I, s:I, s:I}", "enabled", 1, "node", s->node,
	        "server", s->server, "token", s->token, "gcGracePeriodSeconds",
	        (json_int_t)s->gc_grace_period_seconds, "gcReleased", (json_int_t)s->gc_released,
	        "gcPending", (json_int_t)s->gc_pending);
	if (!o) {
		json_decref(s->watch);
		json_decref(s->events);
		return NULL;
	}
	if ((s->watch && json_object_set_new(o, "watch", s->watch) < 0) ||
	        (s->events && json_object_set_new(o, "events", s->events) < 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}
