/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: the devicePlugin configuration section (dp_config.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "agent/config.h"
#include "agent/devplugin/dp_config.h"

static const struct dp_config *load(const char *yaml, struct cfg **cfg)
{
	struct kb_err err = {0};

	if (cfg_load_string(yaml, "t.yaml", cfg, &err) < 0)
		fail_msg("unexpected error: %s", err.msg);
	return dp_config_get(*cfg);
}

static void load_err(const char *yaml, const char *want)
{
	struct kb_err err = {0};
	struct cfg *cfg = NULL;

	assert_true(cfg_load_string(yaml, "t.yaml", &cfg, &err) < 0);
	if (!strstr(err.msg, want))
		fail_msg("error '%s' does not contain '%s'", err.msg, want);
}

static void test_defaults(void **state)
{
	struct cfg *cfg;
	const struct dp_config *c = load("", &cfg);

	(void)state;
	assert_true(c->enabled);
	assert_string_equal(c->plugin_dir, "/var/lib/kubelet/device-plugins");
	assert_string_equal(c->kubelet_socket, "/var/lib/kubelet/device-plugins/kubelet.sock");
	assert_string_equal(c->podres_socket, "/var/lib/kubelet/pod-resources/kubelet.sock");
	assert_string_equal(c->devinfo_dir, "/var/run/k8s.cni.cncf.io/devinfo/dp");
	assert_int_equal(c->grace_period_ms, 60000);
	assert_int_equal(c->max_msg, 4 * 1024 * 1024);
	cfg_free(cfg);
}

static void test_paths(void **state)
{
	struct cfg *cfg, *cfg2;
	const struct dp_config *c = load("devicePlugin:\n  pluginDir: /t/dp\n"
	                                 "  podResourcesSocket: /t/pr.sock\n"
	                                 "  deviceInfoDir: /t/di\n  gracePeriodMs: 0\n"
	                                 "  reconcileIntervalMs: 0\n",
	        &cfg);

	(void)state;
	/* kubelet.sock follows pluginDir unless set. */
	assert_string_equal(c->kubelet_socket, "/t/dp/kubelet.sock");
	assert_string_equal(c->podres_socket, "/t/pr.sock");
	assert_int_equal(c->reconcile_interval_ms, 0);
	c = load("devicePlugin:\n  pluginDir: /t/dp\n  kubeletSocket: /k/kubelet.sock\n"
	         "  enabled: false\n",
	        &cfg2);
	assert_string_equal(c->kubelet_socket, "/k/kubelet.sock");
	assert_false(c->enabled);
	assert_false(dp_config_equal(dp_config_get(cfg), dp_config_get(cfg2)));
	assert_true(dp_config_equal(dp_config_get(cfg), dp_config_get(cfg)));
	cfg_free(cfg);
	cfg_free(cfg2);
}

static void test_errors(void **state)
{
	(void)state;
	load_err("devicePlugin:\n  pluginDir: relative/dir\n", "pluginDir");
	load_err("devicePlugin:\n  pluginDir: /a/../b\n", "pluginDir");
	load_err("devicePlugin:\n  frobnicate: 1\n", "frobnicate");
	load_err("devicePlugin:\n  maxStreams: 0\n", "maxStreams");
	load_err("devicePlugin:\n  enabled: maybe\n", "enabled");
	load_err("devicePlugin: [1]\n", "devicePlugin");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_defaults),
	        cmocka_unit_test(test_paths),
	        cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
