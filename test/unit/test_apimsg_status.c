/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: the status sections the agent's parts add (api/apimsg_status.c): each keeps the
 * names and types earlier agents sent (pinned literally).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "api/apimsg_status.h"
#include "apimsg_test.h"

static void pinned(json_t *o, const char *text)
{
	assert_json(o, text);
	json_decref(o);
}

static void test_core_sections(void **state)
{
	json_t *ranges = json_array();

	(void)state;
	pinned(apimsg_api_status_encode(&(struct apimsg_api_status){.socket = "/run/kbnet/a.sock",
	               .clients = 1,
	               .requests = 2,
	               .errors = 3,
	               .refused = 4,
	               .commits = 5,
	               .commit_failures = 6,
	               .accept_errors = 7,
	               .reply_timeouts = 8,
	               .non_root_clients = 9,
	               .refused_non_root = 10,
	               .output_bytes = 11,
	               .output_peak_bytes = 12,
	               .output_refused = 13,
	               .output_paused = 14,
	               .max_output_bytes = 15}),
	        "{\"socket\":\"/run/kbnet/a.sock\",\"clients\":1,\"requests\":2,\"errors\":3,"
	        "\"refused\":4,\"commits\":5,\"commitFailures\":6,\"acceptErrors\":7,"
	        "\"replyTimeouts\":8,\"nonRootClients\":9,\"refusedNonRoot\":10,"
	        "\"outputBytes\":11,\"outputPeakBytes\":12,\"outputRefused\":13,"
	        "\"outputPaused\":14,\"maxOutputBytes\":15}");
	pinned(apimsg_state_status_encode(&(struct apimsg_state_status){.dir = "/var/lib/kbnet",
	               .seq = 9,
	               .journal_records = 3,
	               .commits = 4,
	               .snapshots = 1,
	               .last_error = ""}),
	        "{\"dir\":\"/var/lib/kbnet\",\"seq\":9,\"journalRecords\":3,\"commits\":4,"
	        "\"snapshots\":1,\"lastError\":\"\"}");
	json_array_append_new(ranges,
	        apimsg_ipam_range_status_encode(&(struct apimsg_ipam_range_status){.network = "n",
	                .range = "10.0.0.10-10.0.0.20",
	                .size = 11,
	                .allocated = 2}));
	pinned(apimsg_ipam_status_encode(2, ranges),
	        "{\"addresses\":2,\"ranges\":[{\"network\":\"n\",\"range\":\"10.0.0.10-10.0.0.20\","
	        "\"size\":11.0,\"allocated\":2}]}");
}

static void test_module_sections(void **state)
{
	(void)state;
	pinned(apimsg_devplugin_status_encode(&(struct apimsg_devplugin_status){0}),
	        "{\"enabled\":false}");
	pinned(apimsg_devplugin_status_encode(&(struct apimsg_devplugin_status){.enabled = true,
	               .plugin_dir = "/var/lib/kubelet/device-plugins",
	               .kubelet_socket = "kubelet.sock",
	               .kubelet_present = true,
	               .device_info_dir = "/var/run/k8s.cni.cncf.io/devinfo/dp",
	               .plugins = 2,
	               .registered = 1,
	               .listening = 2,
	               .list_and_watch_streams = 1,
	               .pod_resources = apimsg_podres_status_encode(&(struct apimsg_podres_status){
	                       .owner_unknown = 1, .refused_reserved = 2})}),
	        "{\"enabled\":true,\"pluginDir\":\"/var/lib/kubelet/device-plugins\","
	        "\"kubeletSocket\":\"kubelet.sock\",\"kubeletPresent\":true,"
	        "\"deviceInfoDir\":\"/var/run/k8s.cni.cncf.io/devinfo/dp\",\"plugins\":2,"
	        "\"registered\":1,\"listening\":2,\"listAndWatchStreams\":1,\"podResources\":"
	        "{\"enabled\":false,\"ownerUnknown\":1,\"refusedReserved\":2}}");
	pinned(apimsg_podres_status_encode(&(struct apimsg_podres_status){.enabled = true,
	               .socket = "pr.sock",
	               .interval_ms = 1,
	               .grace_period_ms = 2,
	               .lists = 3,
	               .list_failures = 4,
	               .released = 5,
	               .pods_last_seen = 6,
	               .owner_unknown = 7,
	               .refused_reserved = 8,
	               .last_list = "2026-11-21T21:49:11Z"}),
	        "{\"enabled\":true,\"socket\":\"pr.sock\",\"intervalMs\":1,\"gracePeriodMs\":2,"
	        "\"lists\":3,\"listFailures\":4,\"released\":5,\"podsLastSeen\":6,"
	        "\"ownerUnknown\":7,\"refusedReserved\":8,\"lastList\":\"2026-11-21T21:49:11Z\","
	        "\"lastError\":null}");
	pinned(apimsg_sriov_status_encode(&(struct apimsg_sriov_status){.pf_netlink = "auto",
	               .rescan_interval_ms = 1000,
	               .watch = true,
	               .inotify_watches = 3,
	               .rescans = 4,
	               .events = 5}),
	        "{\"pfNetlink\":\"auto\",\"rescanIntervalMs\":1000,\"watch\":true,"
	        "\"inotifyWatches\":3,\"rescans\":4,\"events\":5}");
	pinned(apimsg_metrics_status_encode(&(struct apimsg_metrics_status){.enabled = true,
	               .address = "127.0.0.1:9100",
	               .scrapes = 1,
	               .connections = 2,
	               .connections_total = 3,
	               .refused = 4,
	               .timeouts = 5,
	               .bad_requests = 6}),
	        "{\"enabled\":true,\"address\":\"127.0.0.1:9100\",\"scrapes\":1,\"connections\":2,"
	        "\"connectionsTotal\":3,\"refused\":4,\"timeouts\":5,\"badRequests\":6}");
	pinned(apimsg_kube_status_encode(&(struct apimsg_kube_status){0}), "{\"enabled\":false}");
	pinned(apimsg_kube_status_encode(&(struct apimsg_kube_status){.enabled = true,
	               .node = "n1",
	               .server = "https://k",
	               .token = "file",
	               .gc_grace_period_seconds = 30,
	               .gc_released = 1,
	               .gc_pending = 2,
	               .watch = json_pack("{s:b}", "connected", 1)}),
	        "{\"enabled\":true,\"node\":\"n1\",\"server\":\"https://k\",\"token\":\"file\","
	        "\"gcGracePeriodSeconds\":30,\"gcReleased\":1,\"gcPending\":2,"
	        "\"watch\":{\"connected\":true}}");
}

static void test_kube_sections(void **state)
{
	(void)state;
	pinned(apimsg_kube_watch_status_encode(&(struct apimsg_kube_watch_status){.synced = true,
	               .state = "watching",
	               .resource_version = "42",
	               .last_error = "",
	               .pods = 1,
	               .lists = 2,
	               .list_pages = 3,
	               .watches = 4,
	               .watch_events = 5,
	               .bookmarks = 6,
	               .relists_gone = 7,
	               .errors = 8,
	               .last_status = 200}),
	        "{\"synced\":true,\"state\":\"watching\",\"pods\":1,\"resourceVersion\":\"42\","
	        "\"lists\":2,\"listPages\":3,\"watches\":4,\"watchEvents\":5,\"bookmarks\":6,"
	        "\"relistsGone\":7,\"errors\":8,\"lastStatus\":200,\"lastError\":\"\"}");
	pinned(apimsg_kube_events_status_encode(&(struct apimsg_kube_events_status){.posted = 1,
	               .queued = 2,
	               .dropped = 3,
	               .deduplicated = 4,
	               .failed_attempts = 5,
	               .last_error = "x"}),
	        "{\"posted\":1,\"queued\":2,\"dropped\":3,\"deduplicated\":4,"
	        "\"failedAttempts\":5,\"lastError\":\"x\"}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_core_sections),
	        cmocka_unit_test(test_module_sections),
	        cmocka_unit_test(test_kube_sections),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
