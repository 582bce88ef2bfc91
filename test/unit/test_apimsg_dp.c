/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: the device-plugin module's messages (api/apimsg_dp.c): a pool's
 * devicePluginStatus round-trips in both forms, keeps its wire names and types (pinned), and
 * malformed ones are refused with the field named.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/apimsg_dp.h"
#include "apimsg_test.h"

static void test_dp_status(void **state)
{
	struct apimsg_dp_status in = {.registered = true,
	                                .serving = true,
	                                .endpoint = "/var/lib/kubelet/device-plugins/kbnet-vu.sock",
	                                .resource_name = "kbnet.io/vu",
	                                .listening = true,
	                                .list_and_watch_streams = 1,
	                                .registrations = 2,
	                                .registration_failures = 1,
	                                .last_registered = "2026-11-21T21:49:11Z",
	                                .calls = {5, 1, 4, 3, 0},
	                                .connections = {1, 0, 2, 2, 1}},
	                        out;
	struct kb_err err = {0};
	json_t *pool = json_object(), *want;
	bool present;

	(void)state;
	assert_int_equal(apimsg_dp_pool_status(pool, &out, &present, &err), 0);
	assert_false(present);
	assert_int_equal(apimsg_dp_pool_set_status(pool, &in), 0);
	want = load("{\"devicePluginStatus\":{\"registered\":true,"
	            "\"endpoint\":\"/var/lib/kubelet/device-plugins/kbnet-vu.sock\","
	            "\"resourceName\":\"kbnet.io/vu\",\"listening\":true,\"listAndWatchStreams\":1,"
	            "\"registrations\":2,\"registrationFailures\":1,"
	            "\"lastRegistered\":\"2026-11-21T21:49:11Z\",\"error\":null,"
	            "\"calls\":{\"allocate\":5,"
	            "\"allocateFailed\":1,\"preferred\":4,\"updates\":3,\"grpcErrors\":0},"
	            "\"connections\":{\"open\":1,\"nonRoot\":0,\"refused\":2,\"refusedNonRoot\":2,"
	            "\"requestTimeouts\":1}}}");
	assert_true(json_equal(pool, want));
	json_decref(want);
	assert_int_equal(apimsg_dp_pool_status(pool, &out, &present, &err), 0);
	assert_true(present);
	assert_true(out.registered);
	assert_true(out.serving);
	assert_null(out.error);
	assert_string_equal(out.endpoint, in.endpoint);
	assert_string_equal(out.resource_name, "kbnet.io/vu");
	assert_true(out.listening);
	assert_int_equal(out.list_and_watch_streams, 1);
	assert_int_equal(out.registrations, 2);
	assert_int_equal(out.registration_failures, 1);
	assert_string_equal(out.last_registered, in.last_registered);
	assert_memory_equal(&out.calls, &in.calls, sizeof(in.calls));
	assert_memory_equal(&out.connections, &in.connections, sizeof(in.connections));

	/* No plugin serving the pool: registered false and why. */
	assert_int_equal(apimsg_dp_pool_set_status(pool,
	                         &(struct apimsg_dp_status){.error = "the module is disabled"}),
	        0);
	want = load("{\"devicePluginStatus\":{\"registered\":false,"
	            "\"error\":\"the module is disabled\"}}");
	assert_true(json_equal(pool, want));
	json_decref(want);
	assert_int_equal(apimsg_dp_pool_status(pool, &out, &present, &err), 0);
	assert_true(present);
	assert_false(out.registered);
	assert_false(out.serving);
	assert_string_equal(out.error, "the module is disabled");
	json_decref(pool);

	static const struct {
		const char *text, *msg;
	} bad[] = {
	        {"{\"devicePluginStatus\":[]}", "not an object"},
	        {"{\"devicePluginStatus\":{\"registered\":1}}", "'registered'"},
	        {"{\"devicePluginStatus\":{\"endpoint\":5}}", "'endpoint'"},
	        {"{\"devicePluginStatus\":{\"registrations\":-1}}", "'registrations'"},
	        {"{\"devicePluginStatus\":{\"calls\":{\"allocate\":\"1\"}}}", "calls: 'allocate'"},
	        {"{\"devicePluginStatus\":{\"connections\":{\"open\":1.5}}}",
	                "connections: 'open'"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = load(bad[i].text);
		int r = apimsg_dp_pool_status(j, &out, &present, &err);
		if (r != -EPROTO || !strstr(err.msg, bad[i].msg))
			fail_msg("%s: got %d '%s', want '%s'", bad[i].text, r, err.msg, bad[i].msg);
		json_decref(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_dp_status),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
