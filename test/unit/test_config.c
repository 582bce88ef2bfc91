/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: agent configuration loading (config.c, pools section, virtio-user keys). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/config.h"
#include "agent/inventory.h"
#include "agent/vport.h"

static struct cfg *load_ok(const char *yaml)
{
	struct kb_err err = {0};
	struct cfg *cfg = NULL;
	int r = cfg_load_string(yaml, "t.yaml", &cfg, &err);

	if (r < 0)
		fail_msg("unexpected error: %s", err.msg);
	return cfg;
}

/* Expect an error whose message contains `want`. */
static void load_err(const char *yaml, const char *want)
{
	struct kb_err err = {0};
	struct cfg *cfg = NULL;
	int r = cfg_load_string(yaml, "t.yaml", &cfg, &err);

	assert_true(r < 0);
	assert_null(cfg);
	if (!strstr(err.msg, want))
		fail_msg("error '%s' does not contain '%s'", err.msg, want);
}

static void test_embedded_default(void **state)
{
	struct cfg *cfg = load_ok(cfg_default_yaml);
	const struct cfg_core *c = cfg_core(cfg);
	const struct pools_cfg *pc = cfg_section_data(cfg, "pools");

	(void)state;
	assert_string_equal(c->api_socket, "/run/kbnet/agent.sock");
	assert_string_equal(c->state_dir, "/var/lib/kbnet");
	assert_string_equal(c->run_dir, "/run/kbnet");
	assert_string_equal(c->resource_prefix, "kbnet.io");
	assert_int_equal(pc->n, 1);
	assert_string_equal(pc->v[0].name, "virtio_user");
	assert_string_equal(pc->v[0].ops->name, "virtio-user");
	assert_int_equal(((struct vport_pool_cfg *)pc->v[0].type_cfg)->count, 64);
	cfg_free(cfg);
}

static void test_empty_is_defaults(void **state)
{
	struct cfg *cfg = load_ok("");
	const struct pools_cfg *pc = cfg_section_data(cfg, "pools");

	(void)state;
	assert_string_equal(cfg_core(cfg)->api_socket, "/run/kbnet/agent.sock");
	assert_int_equal(cfg_core(cfg)->api_max_clients, 64);
	assert_int_equal(pc->n, 0);
	cfg_free(cfg);
}

static void test_full(void **state)
{
	struct cfg *cfg =
	        load_ok("apiSocket: /tmp/x/a.sock\n"
	                "stateDir: /tmp/x/state\n"
	                "runDir: /tmp/x/run\n"
	                "resourcePrefix: example.com\n"
	                "logLevel: debug\n"
	                "api:\n  maxClients: 7\n  idleTimeoutMs: 1500\n"
	                "pools:\n"
	                "  - name: a\n    type: virtio-user\n    count: 3\n    mode: server\n"
	                "    queues: 2\n    mtu: 9000\n    numaNode: 1\n"
	                "  - name: b\n    type: virtio-user\n    devicePlugin: false\n");
	const struct cfg_core *c = cfg_core(cfg);
	const struct pools_cfg *pc = cfg_section_data(cfg, "pools");
	const struct vport_pool_cfg *a;

	(void)state;
	assert_string_equal(c->api_socket, "/tmp/x/a.sock");
	assert_string_equal(c->resource_prefix, "example.com");
	assert_int_equal(c->log_level, LOG_LVL_DEBUG);
	assert_int_equal(c->api_max_clients, 7);
	assert_int_equal(c->api_idle_timeout_ms, 1500);
	assert_int_equal(pc->n, 2);
	a = pc->v[0].type_cfg;
	assert_int_equal(a->count, 3);
	assert_int_equal(a->mode, VPORT_AGENT_SERVER);
	assert_int_equal(a->queues, 2);
	assert_int_equal(a->mtu, 9000);
	assert_int_equal(a->numa, 1);
	assert_true(pc->v[0].device_plugin);
	assert_false(pc->v[1].device_plugin);
	assert_int_equal(((struct vport_pool_cfg *)pc->v[1].type_cfg)->count, 64);
	cfg_free(cfg);
}

static void test_errors_name_key_line_column(void **state)
{
	(void)state;
	load_err("bogus: 1\n", "t.yaml:1:1: bogus: unknown key");
	load_err("apiSocket: relative/path\n", "t.yaml:1:12: apiSocket: must be an absolute path");
	load_err("logLevel: loud\n", "logLevel: must be error, warn, info or debug");
	load_err("resourcePrefix: Not_A_DNS\n", "resourcePrefix");
	load_err(
	        "api:\n  maxClients: 0\n", "t.yaml:2:15: maxClients: must be an integer between 1");
	load_err("api:\n  extra: 1\n", "t.yaml:2:3: extra: unknown key in api");
	load_err("pools:\n  - name: a\n    type: virtio-user\n    cont: 3\n",
	        "t.yaml:4:5: cont: unknown key in pool");
	load_err("pools:\n  - name: a\n    type: virtio-user\n    count: -1\n",
	        "t.yaml:4:12: count: must be an integer between 1 and 65536");
	load_err("pools:\n  - name: a\n    type: virtio-user\n    count: 12abc\n", "count");
	load_err("pools:\n  - name: a\n    type: warp-drive\n", "unknown device type 'warp-drive'");
	load_err("pools:\n  - type: virtio-user\n", "every pool needs a name");
	load_err("pools:\n  - name: a/b\n    type: virtio-user\n", "name: contains a character");
	load_err("pools:\n  - name: a\n    type: virtio-user\n  - name: a\n    type: virtio-user\n",
	        "duplicate pool name 'a'");
	load_err("pools:\n  - name: a\n    type: virtio-user\n    mode: sideways\n", "mode");
	load_err("pools: 3\n", "pools: must be a list");
	load_err("pools:\n  - name: a\n    type: virtio-user\n    devicePlugin: maybe\n",
	        "devicePlugin: must be true or false");
	load_err("stateDir: /a\nstateDir: /b\n", "duplicate key");
	load_err("key: [unclosed\n", "YAML syntax error");
	load_err("- just\n- a list\n", "must be a mapping");
}

static void test_file_errors(void **state)
{
	struct kb_err err = {0};
	struct cfg *cfg = NULL;

	(void)state;
	assert_int_equal(cfg_load_file("/nonexistent/kbnet.yaml", &cfg, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/kbnet.yaml"));
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* "<prefix><open x n><close x n>" of about `size` bytes, loaded within a generous bound. */
static void nested_case(
        const char *prefix, const char *open, const char *close, size_t size, const char *want)
{
	size_t n = size / (strlen(open) + strlen(close)), off;
	char *text = malloc(strlen(prefix) + size + 16);
	double t0;

	assert_non_null(text);
	off = sprintf(text, "%s", prefix);
	for (size_t i = 0; i < n; i++)
		off += sprintf(text + off, "%s", open);
	for (size_t i = 0; i < n; i++)
		off += sprintf(text + off, "%s", close);
	text[off] = '\0';
	t0 = now_s();
	load_err(text, want);
	/* Minutes before the bound; generous for a loaded CI machine. */
	if (now_s() - t0 > 5.0)
		fail_msg("a %zu-byte nested config took %.1f s", off, now_s() - t0);
	free(text);
}

static void test_nesting_bounded(void **state)
{
	char ok[1024];
	struct cfg *cfg;
	size_t off;

	(void)state;
	/* 400 KB of flow nesting, sequences and mappings, and block nesting. */
	nested_case("apiSocket: ", "[", "]", 400 * 1024, "nested deeper than 32 levels");
	nested_case("apiSocket: ", "{a: ", "}", 400 * 1024, "nested deeper than 32 levels");
	nested_case("apiSocket: ", "[{a: ", "}]", 400 * 1024, "nested deeper than 32 levels");
	{
		size_t depth = 800, size = depth * depth + 64, o = 0;
		char *text = malloc(size * 2);
		double t0;
		assert_non_null(text);
		o += sprintf(text + o, "apiSocket:\n");
		for (size_t d = 1; d < depth; d++)
			o += sprintf(text + o, "%*sk:\n", (int)d, "");
		o += sprintf(text + o, "%*sk: v\n", (int)depth, "");
		t0 = now_s();
		load_err(text, "nested deeper than 32 levels");
		assert_true(now_s() - t0 < 5.0);
		free(text);
	}
	/* Many nodes, each shallow: bounded too. */
	{
		size_t n = 210000, o = 0;
		char *text = malloc(n * 3 + 64);
		assert_non_null(text);
		o += sprintf(text + o, "apiSocket: [");
		for (size_t i = 0; i < n; i++)
			o += sprintf(text + o, "1,");
		sprintf(text + o - 1, "]");
		load_err(text, "more than 200000 nodes");
		free(text);
	}
	/* The limit leaves room: 32 levels still parse (and then fail on the key's type). */
	off = sprintf(ok, "apiSocket: ");
	for (int i = 0; i < 31; i++)
		off += sprintf(ok + off, "[");
	for (int i = 0; i < 31; i++)
		off += sprintf(ok + off, "]");
	load_err(ok, "apiSocket");
	cfg = load_ok("pools:\n  - name: vu\n    type: virtio-user\n    count: 2\n");
	cfg_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_embedded_default),
	        cmocka_unit_test(test_empty_is_defaults),
	        cmocka_unit_test(test_full),
	        cmocka_unit_test(test_errors_name_key_line_column),
	        cmocka_unit_test(test_file_errors),
	        cmocka_unit_test(test_nesting_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
