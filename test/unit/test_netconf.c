/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: kbnet-cni input (cni-plugin/netconf.c): CNI_ARGS, the CNI_* environment, the
 * network configuration with every error code (1, 4, 5/7 on stdin, 6, 7) and the precedences.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "netconf.h"
#include "plugincfg.h"
#include <sys/stat.h>

/* ---- CNI_ARGS ---- */

static struct cni_args args_ok(const char *s)
{
	struct cni_args a;
	struct cni_err ce = {0};

	if (netconf_args_parse(s, &a, &ce) < 0)
		fail_msg("'%s': unexpected error: %s", s, ce.e.msg);
	return a;
}

static void args_err(const char *s, const char *want)
{
	struct cni_args a;
	struct cni_err ce = {0};

	if (netconf_args_parse(s, &a, &ce) >= 0)
		fail_msg("'%s' was accepted", s);
	assert_int_equal(ce.code, CNI_ERR_INVALID_ENV);
	if (!strstr(ce.e.msg, want))
		fail_msg("'%s': error '%s' does not contain '%s'", s, ce.e.msg, want);
}

static void test_args(void **state)
{
	struct cni_args a;

	(void)state;
	a = args_ok("IgnoreUnknown=true;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;"
	            "K8S_POD_INFRA_CONTAINER_ID=5e1c0a;K8S_POD_UID=8f0e-11");
	assert_true(a.ignore_unknown);
	assert_string_equal(a.pod_namespace, "default");
	assert_string_equal(a.pod_name, "web-0");
	assert_string_equal(a.pod_infra_id, "5e1c0a");
	assert_string_equal(a.pod_uid, "8f0e-11");
	/* Any order; IgnoreUnknown may come after the unknown key (as libcni). */
	a = args_ok(
	        "K8S_POD_UID=u1;FOO=bar;K8S_POD_NAME=db.x-1;IgnoreUnknown=1;K8S_POD_NAMESPACE=ns");
	assert_string_equal(a.pod_name, "db.x-1");
	assert_string_equal(a.pod_namespace, "ns");
	assert_string_equal(a.pod_uid, "u1");
	a = args_ok("IgnoreUnknown=TRUE;X=1");
	assert_true(a.ignore_unknown);
	a = args_ok("");
	assert_false(a.ignore_unknown);
	assert_string_equal(a.pod_name, "");
	a = args_ok("K8S_POD_NAME=p;");            /* trailing separator */
	a = args_ok("K8S_POD_NAME=;K8S_POD_UID="); /* empty values count as absent */
	assert_string_equal(a.pod_name, "");
	args_ok(NULL);

	args_err("FOO=bar", "unknown key 'FOO'");
	args_err("IgnoreUnknown=false;FOO=bar", "unknown key 'FOO'");
	args_err("IgnoreUnknown=0;FOO=bar", "unknown key");
	args_err("IgnoreUnknown=yes", "IgnoreUnknown must be");
	args_err("K8S_POD_NAME", "invalid pair");
	args_err("A=B=C", "invalid pair");
	args_err("=B", "invalid pair");
	args_err("K8S_POD_NAMESPACE=Default", "K8S_POD_NAMESPACE");
	args_err("K8S_POD_NAME=web_0", "K8S_POD_NAME");
	args_err("K8S_POD_UID=../../etc", "K8S_POD_UID");
	args_err("K8S_POD_INFRA_CONTAINER_ID=-x", "K8S_POD_INFRA_CONTAINER_ID");
	/* Key names are case-sensitive, as with libcni. */
	args_err("k8s_pod_name=x", "unknown key");

	char *big = malloc(NETCONF_MAX_ARGS + 2);
	memset(big, 'a', NETCONF_MAX_ARGS + 1);
	big[NETCONF_MAX_ARGS + 1] = '\0';
	args_err(big, "longer than");
	free(big);
}

/* ---- environment ---- */

static char netns_file[64];

static void env_set(const char *cmd, const char *cid, const char *netns, const char *ifname,
        const char *path, const char *args)
{
	static const char *names[] = {"CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME",
	        "CNI_PATH", "CNI_ARGS"};
	const char *vals[] = {cmd, cid, netns, ifname, path, args};

	for (size_t i = 0; i < 6; i++) {
		if (vals[i])
			setenv(names[i], vals[i], 1);
		else
			unsetenv(names[i]);
	}
}

static void env_ok(struct cni_env *env)
{
	struct cni_err ce = {0};

	if (netconf_env_load(env, &ce) < 0)
		fail_msg("unexpected error: %s", ce.e.msg);
}

static void env_err(const char *want)
{
	struct cni_env env;
	struct cni_err ce = {0};

	if (netconf_env_load(&env, &ce) >= 0)
		fail_msg("environment accepted (want '%s')", want);
	netconf_env_free(&env);
	assert_int_equal(ce.code, CNI_ERR_INVALID_ENV);
	if (!strstr(ce.e.msg, want))
		fail_msg("error '%s' does not contain '%s'", ce.e.msg, want);
}

static int env_setup(void **state)
{
	int fd;

	(void)state;
	strcpy(netns_file, "/tmp/kbnetconf-nsXXXXXX");
	fd = mkstemp(netns_file);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int env_teardown(void **state)
{
	(void)state;
	unlink(netns_file);
	env_set(NULL, NULL, NULL, NULL, NULL, NULL);
	return 0;
}

static void test_env(void **state)
{
	struct cni_env env;
	char big[VAL_PATH_MAX + 10];

	(void)state;
	env_set("ADD", "c1", netns_file, "net1", "/opt/cni/bin:/usr/lib/cni",
	        "IgnoreUnknown=1;K8S_POD_NAME=p");
	env_ok(&env);
	assert_int_equal(env.cmd, CNI_CMD_ADD);
	assert_string_equal(env.container_id, "c1");
	assert_string_equal(env.ifname, "net1");
	assert_string_equal(env.netns, netns_file);
	assert_string_equal(env.cni_path, "/opt/cni/bin:/usr/lib/cni");
	assert_string_equal(env.args.pod_name, "p");
	netconf_env_free(&env);

	/* VERSION needs nothing else; GC/STATUS need no attachment. */
	env_set("VERSION", NULL, NULL, NULL, NULL, "garbage");
	env_ok(&env);
	assert_int_equal(env.cmd, CNI_CMD_VERSION);
	env_set("GC", NULL, NULL, NULL, "/usr/lib/cni", "FOO=bar");
	env_ok(&env);
	assert_int_equal(env.cmd, CNI_CMD_GC);
	netconf_env_free(&env);
	env_set("STATUS", NULL, NULL, NULL, NULL, NULL);
	env_ok(&env);
	assert_null(env.cni_path);

	/* DEL: empty, missing or unusable netns is fine (and not passed on). */
	env_set("DEL", "c1", "", "net1", NULL, NULL);
	env_ok(&env);
	assert_string_equal(env.netns, "");
	env_set("DEL", "c1", NULL, "net1", NULL, NULL);
	env_ok(&env);
	env_set("DEL", "c1", "relative/ns", "net1", NULL, NULL);
	env_ok(&env);
	assert_string_equal(env.netns, "");
	env_set("DEL", "c1", "/run/netns/gone", "net1", NULL, NULL);
	env_ok(&env);
	assert_string_equal(env.netns, "/run/netns/gone");

	env_set(NULL, "c1", netns_file, "net1", NULL, NULL);
	env_err("CNI_COMMAND is not set");
	env_set("", "c1", netns_file, "net1", NULL, NULL);
	env_err("CNI_COMMAND is not set");
	env_set("add", "c1", netns_file, "net1", NULL, NULL);
	env_err("CNI_COMMAND 'add'");
	env_set("ADD", NULL, netns_file, "net1", NULL, NULL);
	env_err("CNI_CONTAINERID is required");
	env_set("DEL", "", netns_file, "net1", NULL, NULL);
	env_err("CNI_CONTAINERID is required");
	env_set("ADD", "-c1", netns_file, "net1", NULL, NULL);
	env_err("CNI_CONTAINERID '-c1'");
	env_set("ADD", "c1/../x", netns_file, "net1", NULL, NULL);
	env_err("CNI_CONTAINERID");
	env_set("CHECK", "c1", netns_file, NULL, NULL, NULL);
	env_err("CNI_IFNAME is required");
	env_set("ADD", "c1", netns_file, "net/1", NULL, NULL);
	env_err("CNI_IFNAME 'net/1'");
	env_set("ADD", "c1", netns_file, "..", NULL, NULL);
	env_err("CNI_IFNAME");
	env_set("ADD", "c1", netns_file, "a-very-long-ifname", NULL, NULL);
	env_err("CNI_IFNAME");
	env_set("ADD", "c1", NULL, "net1", NULL, NULL);
	env_err("CNI_NETNS is required");
	env_set("CHECK", "c1", "", "net1", NULL, NULL);
	env_err("CNI_NETNS is required");
	env_set("ADD", "c1", "run/netns/x", "net1", NULL, NULL);
	env_err("CNI_NETNS 'run/netns/x'");
	env_set("ADD", "c1", "/run/netns/../../etc/passwd", "net1", NULL, NULL);
	env_err("CNI_NETNS");
	env_set("ADD", "c1", "/nonexistent/kbnet/netns", "net1", NULL, NULL);
	env_err("No such file");
	env_set("ADD", "c1", netns_file, "net1", NULL, "BAD");
	env_err("CNI_ARGS");
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	env_set("ADD", "c1", big, "net1", NULL, NULL);
	env_err("CNI_NETNS is longer than");
	char *path = malloc(NETCONF_MAX_CNI_PATH + 2);
	memset(path, 'p', NETCONF_MAX_CNI_PATH + 1);
	path[NETCONF_MAX_CNI_PATH + 1] = '\0';
	env_set("ADD", "c1", netns_file, "net1", path, NULL);
	env_err("CNI_PATH is longer than");
	free(path);
}

/* ---- network configuration ---- */

static struct netconf *conf_ok(enum cni_cmd cmd, const char *json)
{
	struct cni_err ce = {0};
	struct netconf *nc = NULL;

	if (netconf_parse(json, strlen(json), cmd, &nc, &ce) < 0)
		fail_msg("unexpected error %d: %s (%s)", ce.code, ce.e.msg, json);
	return nc;
}

static void conf_err(enum cni_cmd cmd, const char *json, int code, const char *want)
{
	struct cni_err ce = {0};
	struct netconf *nc = NULL;

	if (netconf_parse(json, strlen(json), cmd, &nc, &ce) >= 0)
		fail_msg("accepted: %s", json);
	assert_null(nc);
	if (ce.code != code)
		fail_msg("code %d, want %d: %s (%s)", ce.code, code, ce.e.msg, json);
	if (!strstr(ce.e.msg, want))
		fail_msg("error '%s' does not contain '%s' (%s)", ce.e.msg, want, json);
}

#define BASE             "\"cniVersion\":\"1.0.0\",\"name\":\"net-a\",\"type\":\"kbnet\""
#define BAD(extra, want) conf_err(CNI_CMD_ADD, "{" BASE "," extra "}", CNI_ERR_INVALID_CONFIG, want)

static void test_conf_defaults(void **state)
{
	struct netconf *nc = conf_ok(CNI_CMD_ADD, "{" BASE "}");

	(void)state;
	assert_int_equal(nc->version, CNI_V_1_0_0);
	assert_string_equal(nc->name, "net-a");
	assert_string_equal(nc->type, "kbnet");
	assert_string_equal(nc->device_type, "virtio-user");
	assert_string_equal(nc->agent_socket, "/run/kbnet/agent.sock");
	assert_int_equal(nc->agent_timeout_ms, NETCONF_DEFAULT_TIMEOUT_MS);
	assert_string_equal(nc->cache_dir, NETCONF_DEFAULT_CACHE_DIR);
	assert_null(nc->pool);
	assert_null(nc->device_id);
	assert_null(nc->mac);
	assert_int_equal(nc->mtu, 0);
	assert_int_equal(nc->vlan, -1);
	assert_null(nc->ipam);
	assert_null(nc->ipam_type);
	assert_null(nc->devinfo_file);
	assert_null(nc->dev_config);
	assert_null(nc->prev);
	netconf_free(nc);

	/* "ipam": {} and JSON nulls mean "not set". */
	nc = conf_ok(CNI_CMD_ADD, "{" BASE ",\"ipam\":{},\"mtu\":null,\"mac\":null,\"args\":null}");
	assert_null(nc->ipam);
	assert_int_equal(nc->mtu, 0);
	netconf_free(nc);
}

static void test_conf_full(void **state)
{
	struct netconf *nc = conf_ok(CNI_CMD_ADD,
	        "{\"cniVersion\":\"1.1.0\",\"name\":\"sriov_net.1\",\"type\":\"kbnet\","
	        "\"deviceType\":\"sriov-vf\",\"resourceName\":\"intel.com/intel_sriov_netdevice\","
	        "\"deviceID\":\"0000:3b:02.1\",\"pciBusID\":\"0000:3b:02.2\","
	        "\"agentSocket\":\"/tmp/kb/agent.sock\",\"agentTimeoutMs\":250,\"cacheDir\":\"/tmp/"
	        "c\","
	        "\"mac\":\"02:00:00:00:00:01\",\"mtu\":9000,\"vlan\":100,\"vlanQoS\":3,"
	        "\"vlanProto\":\"802.1ad\",\"spoofchk\":\"off\",\"trust\":\"on\",\"link_state\":"
	        "\"enable\","
	        "\"min_tx_rate\":100,\"max_tx_rate\":1000,\"someOtherPluginKey\":[1,2],"
	        "\"ipam\":{\"type\":\"host-local\",\"subnet\":\"10.0.0.0/24\"},"
	        "\"args\":{\"cni\":{\"mac\":\"02:00:00:00:00:02\",\"ips\":[\"10.0.0.9/24\"]}},"
	        "\"runtimeConfig\":{\"mac\":\"02:00:00:00:00:03\",\"deviceID\":\"0000:3b:02.3\","
	        "\"ips\":[\"10.0.0.7/24\"],\"CNIDeviceInfoFile\":\"/var/run/k8s.cni.cncf.io/"
	        "devinfo/cni/x.json\","
	        "\"portMappings\":[]}}");

	(void)state;
	assert_int_equal(nc->version, CNI_V_1_1_0);
	assert_string_equal(nc->device_type, "sriov-vf");
	assert_string_equal(nc->pool, "intel.com/intel_sriov_netdevice");
	assert_string_equal(nc->device_id, "0000:3b:02.3");
	assert_string_equal(nc->mac, "02:00:00:00:00:03");
	assert_string_equal(nc->agent_socket, "/tmp/kb/agent.sock");
	assert_int_equal(nc->agent_timeout_ms, 250);
	assert_string_equal(nc->cache_dir, "/tmp/c");
	assert_int_equal(nc->mtu, 9000);
	assert_int_equal(nc->vlan, 100);
	assert_string_equal(nc->ipam_type, "host-local");
	assert_string_equal(nc->devinfo_file, "/var/run/k8s.cni.cncf.io/devinfo/cni/x.json");
	json_t *want = json_loads("{\"vlanQoS\":3,\"vlanProto\":\"802.1ad\",\"spoofchk\":\"off\","
	                          "\"trust\":\"on\",\"link_state\":\"enable\",\"min_tx_rate\":100,"
	                          "\"max_tx_rate\":1000}",
	        0, NULL);
	assert_true(json_equal(nc->dev_config, want));
	json_decref(want);
	netconf_free(nc);
}

static void test_conf_precedence(void **state)
{
	struct netconf *nc;

	(void)state;
	nc = conf_ok(CNI_CMD_ADD, "{" BASE ",\"deviceID\":\"vu-1\",\"pciBusID\":\"0000:00:01.0\"}");
	assert_string_equal(nc->device_id, "vu-1");
	netconf_free(nc);
	nc = conf_ok(CNI_CMD_ADD, "{" BASE ",\"pciBusID\":\"0000:00:01.0\"}");
	assert_string_equal(nc->device_id, "0000:00:01.0");
	netconf_free(nc);
	nc = conf_ok(CNI_CMD_ADD, "{" BASE ",\"mac\":\"02:00:00:00:00:01\",\"args\":{\"cni\":{"
	                          "\"mac\":\"02:00:00:00:00:02\"}}}");
	assert_string_equal(nc->mac, "02:00:00:00:00:02");
	netconf_free(nc);
	nc = conf_ok(CNI_CMD_ADD, "{" BASE ",\"mac\":\"02:00:00:00:00:01\",\"args\":{}}");
	assert_string_equal(nc->mac, "02:00:00:00:00:01");
	netconf_free(nc);
	nc = conf_ok(CNI_CMD_ADD, "{" BASE ",\"resourceName\":\"vu\"}");
	assert_string_equal(nc->pool, "vu");
	netconf_free(nc);
}

static void test_conf_decode_and_version(void **state)
{
	(void)state;
	conf_err(CNI_CMD_ADD, "not json", CNI_ERR_DECODE, "not valid JSON");
	conf_err(CNI_CMD_ADD, "", CNI_ERR_DECODE, "not valid JSON");
	conf_err(CNI_CMD_ADD, "{" BASE "", CNI_ERR_DECODE, "not valid JSON");
	conf_err(CNI_CMD_ADD, "[1]", CNI_ERR_DECODE, "must be a JSON object");
	conf_err(CNI_CMD_ADD, "{\"cniVersion\":1.0,\"name\":\"n\",\"type\":\"kbnet\"}",
	        CNI_ERR_DECODE, "cniVersion must be a string");
	conf_err(CNI_CMD_ADD, "{" BASE ",\"name\":\"dup\"}", CNI_ERR_DECODE, "not valid JSON");
	conf_err(CNI_CMD_ADD, "{\"name\":\"n\",\"type\":\"kbnet\"}", CNI_ERR_INCOMPATIBLE,
	        "missing cniVersion");
	conf_err(CNI_CMD_ADD, "{\"cniVersion\":\"0.2.0\",\"name\":\"n\",\"type\":\"kbnet\"}",
	        CNI_ERR_INCOMPATIBLE, "\"0.2.0\"");
	conf_err(CNI_CMD_ADD, "{\"cniVersion\":\"2.0.0\",\"name\":\"n\",\"type\":\"kbnet\"}",
	        CNI_ERR_INCOMPATIBLE, "kbnet supports");
	conf_err(CNI_CMD_CHECK,
	        "{\"cniVersion\":\"0.3.1\",\"name\":\"n\",\"type\":\"kbnet\",\"prevResult\":{}}",
	        CNI_ERR_INCOMPATIBLE, "does not allow CHECK");
	conf_err(CNI_CMD_GC, "{" BASE ",\"cni.dev/valid-attachments\":[]}", CNI_ERR_INCOMPATIBLE,
	        "does not allow GC");
	conf_err(CNI_CMD_STATUS, "{" BASE "}", CNI_ERR_INCOMPATIBLE, "does not allow STATUS");

	/* The configuration's version, read even when the rest is wrong (for error replies). */
	static const char *v040 = "{\"cniVersion\":\"0.4.0\",\"mtu\":\"x\"}",
	                  *v9 = "{\"cniVersion\":\"9\"}";
	assert_int_equal(netconf_peek_version(v040, strlen(v040)), CNI_V_0_4_0);
	assert_int_equal(netconf_peek_version(v9, strlen(v9)), CNI_V_NONE);
	assert_int_equal(netconf_peek_version("nope", 4), CNI_V_NONE);
}

static void test_conf_invalid(void **state)
{
	char big[200];

	(void)state;
	conf_err(CNI_CMD_ADD, "{\"cniVersion\":\"1.0.0\",\"type\":\"kbnet\"}",
	        CNI_ERR_INVALID_CONFIG, "name is missing");
	conf_err(CNI_CMD_ADD, "{\"cniVersion\":\"1.0.0\",\"name\":\"a/b\",\"type\":\"kbnet\"}",
	        CNI_ERR_INVALID_CONFIG, "name 'a/b'");
	conf_err(CNI_CMD_ADD, "{\"cniVersion\":\"1.0.0\",\"name\":\"n\"}", CNI_ERR_INVALID_CONFIG,
	        "type is missing");
	conf_err(CNI_CMD_ADD, "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":7}",
	        CNI_ERR_INVALID_CONFIG, "type must be a string");
	BAD("\"deviceType\":\"macvlan\"",
	        "deviceType 'macvlan': must be virtio-user, sriov-vf, vdpa or kernel");
	BAD("\"deviceType\":1", "deviceType must be a string");
	BAD("\"mac\":\"zz:00:00:00:00:01\"", "mac 'zz:00:00:00:00:01'");
	BAD("\"mac\":\"01:00:5e:00:00:01\"", "mac '01:00:5e:00:00:01' must be a unicast");
	BAD("\"mac\":\"00:00:00:00:00:00\"", "mac");
	BAD("\"mac\":42", "mac must be a string");
	BAD("\"mtu\":67", "mtu must be an integer in [68, 65535]");
	BAD("\"mtu\":65536", "mtu must be an integer");
	BAD("\"mtu\":\"1500\"", "mtu must be an integer");
	BAD("\"mtu\":1500.5", "mtu must be an integer");
	BAD("\"vlan\":-1", "vlan must be an integer in [0, 4094]");
	BAD("\"vlan\":4095", "vlan");
	BAD("\"vlan\":true", "vlan");
	BAD("\"resourceName\":\"a/b/c\"", "resourceName 'a/b/c'");
	BAD("\"resourceName\":\"/pool\"", "resourceName");
	BAD("\"resourceName\":\"Intel.com/x\"", "resourceName");
	BAD("\"deviceID\":\"../../x\"", "deviceID '../../x'");
	BAD("\"pciBusID\":\"0000:3b:02.1/x\"", "pciBusID");
	BAD("\"agentSocket\":\"run/agent.sock\"", "agentSocket 'run/agent.sock'");
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	char extra[300];
	snprintf(extra, sizeof(extra), "{" BASE ",\"agentSocket\":\"%s\"}", big);
	conf_err(CNI_CMD_ADD, extra, CNI_ERR_INVALID_CONFIG, "agentSocket");
	BAD("\"agentTimeoutMs\":0", "agentTimeoutMs must be an integer in [1, 600000]");
	BAD("\"agentTimeoutMs\":\"5\"", "agentTimeoutMs");
	BAD("\"cacheDir\":\"/a/../b\"", "cacheDir");
	BAD("\"ipam\":\"host-local\"", "ipam must be an object");
	BAD("\"ipam\":{\"subnet\":\"10.0.0.0/24\"}", "ipam.type is missing");
	BAD("\"ipam\":{\"type\":\"../../bin/sh\"}", "ipam.type '../../bin/sh'");
	BAD("\"ipam\":{\"type\":\"a/b\"}", "ipam.type");
	BAD("\"ipam\":{\"type\":\".hidden\"}", "ipam.type");
	BAD("\"ipam\":{\"type\":1}", "ipam.type must be a string");
	BAD("\"runtimeConfig\":[]", "runtimeConfig must be an object");
	BAD("\"runtimeConfig\":{\"mac\":\"bad\"}", "runtimeConfig.mac 'bad'");
	BAD("\"runtimeConfig\":{\"deviceID\":\"a b\"}", "runtimeConfig.deviceID");
	BAD("\"runtimeConfig\":{\"CNIDeviceInfoFile\":\"rel/x.json\"}",
	        "runtimeConfig.CNIDeviceInfoFile 'rel/x.json'");
	BAD("\"runtimeConfig\":{\"CNIDeviceInfoFile\":\"/a/../../etc/x\"}",
	        "runtimeConfig.CNIDeviceInfoFile");
	BAD("\"runtimeConfig\":{\"ips\":\"10.0.0.1/24\"}", "runtimeConfig.ips must be an array");
	BAD("\"runtimeConfig\":{\"ips\":[1]}", "runtimeConfig.ips[0]");
	BAD("\"args\":[]", "args must be an object");
	BAD("\"args\":{\"cni\":1}", "args.cni must be an object");
	BAD("\"args\":{\"cni\":{\"mac\":\"x\"}}", "args.cni.mac 'x'");
	BAD("\"vlanQoS\":\"3\"", "vlanQoS must be a non-negative integer");
	BAD("\"min_tx_rate\":-1", "min_tx_rate");
	BAD("\"spoofchk\":false", "spoofchk must be a string");
	BAD("\"trust\":1", "trust");
	BAD("\"link_state\":{}", "link_state");
	BAD("\"vlanProto\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"", "vlanProto");
	conf_err(CNI_CMD_ADD, "{" BASE ",\"prevResult\":{\"ips\":[{\"address\":\"x\"}]}}",
	        CNI_ERR_DECODE, "prevResult: ips[0]");
	conf_err(CNI_CMD_ADD, "{" BASE ",\"prevResult\":{\"cniVersion\":\"0.1.0\"}}",
	        CNI_ERR_INCOMPATIBLE, "prevResult");
}

static void test_conf_commands(void **state)
{
	struct netconf *nc;

	(void)state;
	conf_err(CNI_CMD_CHECK, "{" BASE "}", CNI_ERR_INVALID_CONFIG, "prevResult is required");
	nc = conf_ok(CNI_CMD_CHECK, "{" BASE ",\"prevResult\":{\"cniVersion\":\"1.0.0\","
	                            "\"interfaces\":[{\"name\":\"net1\",\"sandbox\":\"/n\"}]}}");
	assert_non_null(nc->prev);
	assert_int_equal(nc->prev->n_ifaces, 1);
	netconf_free(nc);
	/* prevResult without cniVersion takes the configuration's. */
	nc = conf_ok(CNI_CMD_CHECK, "{" BASE ",\"prevResult\":{}}");
	netconf_free(nc);

#define GC_BASE "\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"kbnet\""
	conf_err(CNI_CMD_GC, "{" GC_BASE "}", CNI_ERR_INVALID_CONFIG,
	        "cni.dev/valid-attachments is required");
	conf_err(CNI_CMD_GC, "{" GC_BASE ",\"cni.dev/valid-attachments\":{}}",
	        CNI_ERR_INVALID_CONFIG, "must be an array");
	conf_err(CNI_CMD_GC, "{" GC_BASE ",\"cni.dev/valid-attachments\":[1]}",
	        CNI_ERR_INVALID_CONFIG, "[0] must be an object");
	conf_err(CNI_CMD_GC,
	        "{" GC_BASE
	        ",\"cni.dev/valid-attachments\":[{\"containerID\":\"a\",\"ifname\":\"e\"},"
	        "{\"containerID\":\"../x\",\"ifname\":\"e\"}]}",
	        CNI_ERR_INVALID_CONFIG, "valid-attachments[1].containerID");
	conf_err(CNI_CMD_GC,
	        "{" GC_BASE ",\"cni.dev/valid-attachments\":[{\"containerID\":\"a\"}]}",
	        CNI_ERR_INVALID_CONFIG, "valid-attachments[0].ifname");
	nc = conf_ok(CNI_CMD_GC, "{" GC_BASE ",\"cni.dev/valid-attachments\":"
	                         "[{\"containerID\":\"a\",\"ifname\":\"e\"}]}");
	assert_int_equal(json_array_size(nc->valid_attachments), 1);
	netconf_free(nc);
	nc = conf_ok(CNI_CMD_STATUS, "{" GC_BASE "}");
	netconf_free(nc);

	/* DEL drops a prevResult it cannot read instead of failing (and keeps nothing of it). */
	nc = conf_ok(
	        CNI_CMD_DEL, "{" BASE ",\"prevResult\":{\"cniVersion\":\"0.1.0\",\"ip4\":{}}}");
	assert_null(nc->prev);
	assert_null(json_object_get(nc->root, "prevResult"));
	netconf_free(nc);
	nc = conf_ok(CNI_CMD_DEL, "{" BASE ",\"prevResult\":{\"ips\":[{\"address\":\"x\"}]}}");
	assert_null(nc->prev);
	netconf_free(nc);
	nc = conf_ok(CNI_CMD_DEL, "{" BASE ",\"prevResult\":{\"cniVersion\":\"1.0.0\"}}");
	assert_non_null(nc->prev);
	netconf_free(nc);
	conf_err(CNI_CMD_CHECK, "{" BASE ",\"prevResult\":{\"ips\":[{\"address\":\"x\"}]}}",
	        CNI_ERR_DECODE, "prevResult: ips[0]");
}

static void test_check_env(void **state)
{
	struct netconf *nc = conf_ok(CNI_CMD_ADD, "{" BASE ",\"ipam\":{\"type\":\"static\"}}");
	struct cni_env env = {.cmd = CNI_CMD_ADD};
	struct cni_err ce = {0};

	(void)state;
	assert_true(netconf_check_env(nc, &env, &ce) < 0);
	assert_int_equal(ce.code, CNI_ERR_INVALID_ENV);
	assert_non_null(strstr(ce.e.msg, "CNI_PATH is required"));
	env.cni_path = (char *)"/usr/lib/cni";
	assert_int_equal(netconf_check_env(nc, &env, &ce), 0);
	/* STATUS may come without CNI_PATH: IPAM is then not asked. */
	env.cni_path = NULL;
	env.cmd = CNI_CMD_STATUS;
	assert_int_equal(netconf_check_env(nc, &env, &ce), 0);
	env.cmd = CNI_CMD_GC;
	assert_true(netconf_check_env(nc, &env, &ce) < 0);
	netconf_free(nc);
	nc = conf_ok(CNI_CMD_ADD, "{" BASE "}");
	env.cni_path = NULL;
	assert_int_equal(netconf_check_env(nc, &env, &ce), 0);
	netconf_free(nc);
}

/* stdin: read whole, capped. */
static void test_read(void **state)
{
	struct cni_err ce = {0};
	size_t len, big = 3 * 65536;
	char *buf, *data = malloc(big);
	int fds[2];

	(void)state;
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "{\"a\":1}", 7), 7);
	close(fds[1]);
	assert_int_equal(netconf_read(fds[0], 100, &buf, &len, &ce), 0);
	assert_int_equal(len, 7);
	assert_string_equal(buf, "{\"a\":1}");
	free(buf);
	close(fds[0]);

	/* Exactly at the limit is fine, one more byte is not (from a file: no pipe limits). */
	char path[] = "/tmp/kbnetconf-readXXXXXX";
	int fd = mkstemp(path);
	memset(data, ' ', big);
	assert_int_equal(write(fd, data, big), (ssize_t)big);
	lseek(fd, 0, SEEK_SET);
	assert_int_equal(netconf_read(fd, big, &buf, &len, &ce), 0);
	assert_int_equal(len, big);
	free(buf);
	lseek(fd, 0, SEEK_SET);
	assert_int_equal(netconf_read(fd, big - 1, &buf, &len, &ce), -EFBIG);
	assert_int_equal(ce.code, CNI_ERR_INVALID_CONFIG);
	assert_non_null(strstr(ce.e.msg, "larger than"));
	close(fd);
	unlink(path);
	free(data);

	/* A read error is an I/O failure (code 5). */
	assert_true(netconf_read(-1, 100, &buf, &len, &ce) < 0);
	assert_int_equal(ce.code, CNI_ERR_IO);
}

static void test_cmd_names(void **state)
{
	(void)state;
	assert_int_equal(netconf_cmd_parse("ADD"), CNI_CMD_ADD);
	assert_int_equal(netconf_cmd_parse("STATUS"), CNI_CMD_STATUS);
	assert_int_equal(netconf_cmd_parse("GC"), CNI_CMD_GC);
	assert_int_equal(netconf_cmd_parse("Add"), CNI_CMD_NONE);
	assert_int_equal(netconf_cmd_parse(NULL), CNI_CMD_NONE);
	assert_string_equal(netconf_cmd_str(CNI_CMD_CHECK), "CHECK");
	assert_string_equal(netconf_cmd_str(CNI_CMD_NONE), "?");
}

/* ---- confinement to the plugin's roots (netconf is any namespace user's input) ---- */

static int confine(enum cni_cmd cmd, const char *json, const struct pcfg *cfg, struct netconf **ret,
        const char **dropped, struct cni_err *ce)
{
	struct netconf *nc = conf_ok(cmd, json);
	int r = netconf_confine(nc, cfg, cmd, dropped, ce);

	if (r < 0 || !ret)
		netconf_free(nc);
	else
		*ret = nc;
	return r;
}

#define RC(json) "{" BASE ",\"runtimeConfig\":{\"CNIDeviceInfoFile\":\"" json "\"}}"

static void test_confine(void **state)
{
	struct cni_err ce = {0};
	const char *dropped;
	struct netconf *nc;
	struct pcfg cfg;

	(void)state;
	pcfg_defaults(&cfg);
	/* Defaults come from the plugin, not the netconf. */
	assert_int_equal(confine(CNI_CMD_ADD, "{" BASE "}", &cfg, &nc, &dropped, &ce), 0);
	assert_string_equal(nc->agent_socket, "/run/kbnet/agent.sock");
	assert_string_equal(nc->cache_dir, "/var/lib/cni/kbnet");
	netconf_free(nc);
	assert_int_equal(
	        confine(CNI_CMD_ADD, RC("/var/run/k8s.cni.cncf.io/devinfo/cni/net-a-c1-net1.json"),
	                &cfg, &nc, &dropped, &ce),
	        0);
	assert_string_equal(nc->devinfo_dir, "/var/run/k8s.cni.cncf.io/devinfo/cni");
	assert_string_equal(nc->devinfo_name, "net-a-c1-net1.json");
	netconf_free(nc);

	/* Anywhere else: refused on ADD, naming the key. */
	const char *bad[] = {
	        RC("/etc/cron.d/x"),
	        RC("/var/run/k8s.cni.cncf.io/devinfo/cni/sub/x.json"),
	        RC("/var/run/k8s.cni.cncf.io/devinfo/cnix/x.json"),
	        RC("/var/run/k8s.cni.cncf.io/devinfo/x.json"),
	        RC("/var/run/k8s.cni.cncf.io/devinfo/cni/.x.json"),
	        RC("/var/run/k8s.cni.cncf.io/devinfo/cni/"),
	        RC("/var/run/k8s.cni.cncf.io/devinfo/cni/a b"),
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_true(confine(CNI_CMD_ADD, bad[i], &cfg, NULL, &dropped, &ce) < 0);
		assert_int_equal(ce.code, CNI_ERR_INVALID_CONFIG);
		if (!strstr(ce.e.msg, "runtimeConfig.CNIDeviceInfoFile"))
			fail_msg("%s: %s", bad[i], ce.e.msg);
		/* DEL goes on without the file (ADD never wrote one there). */
		assert_int_equal(confine(CNI_CMD_DEL, bad[i], &cfg, &nc, &dropped, &ce), 0);
		assert_null(nc->devinfo_file);
		assert_non_null(dropped);
		netconf_free(nc);
	}

	/* agentSocket only from the allow-list, also on DEL. */
	assert_true(confine(CNI_CMD_ADD, "{" BASE ",\"agentSocket\":\"/tmp/evil.sock\"}", &cfg,
	                    NULL, &dropped, &ce) < 0);
	assert_non_null(strstr(ce.e.msg, "agentSocket '/tmp/evil.sock' is not one of"));
	assert_true(confine(CNI_CMD_DEL, "{" BASE ",\"agentSocket\":\"/tmp/evil.sock\"}", &cfg,
	                    NULL, &dropped, &ce) < 0);
	assert_int_equal(
	        confine(CNI_CMD_ADD, "{" BASE ",\"agentSocket\":\"/run/kbnet/agent.sock\"}", &cfg,
	                NULL, &dropped, &ce),
	        0);

	/* cacheDir only under the configured one. */
	assert_true(confine(CNI_CMD_ADD, "{" BASE ",\"cacheDir\":\"/etc\"}", &cfg, NULL, &dropped,
	                    &ce) < 0);
	assert_non_null(strstr(ce.e.msg, "cacheDir '/etc' is not under /var/lib/cni/kbnet"));
	assert_true(confine(CNI_CMD_ADD, "{" BASE ",\"cacheDir\":\"/var/lib/cni/kbnetx\"}", &cfg,
	                    NULL, &dropped, &ce) < 0);
	assert_int_equal(confine(CNI_CMD_ADD, "{" BASE ",\"cacheDir\":\"/var/lib/cni/kbnet/a\"}",
	                         &cfg, &nc, &dropped, &ce),
	        0);
	assert_string_equal(nc->cache_dir, "/var/lib/cni/kbnet/a");
	netconf_free(nc);
	assert_int_equal(
	        confine(CNI_CMD_DEL, "{" BASE ",\"cacheDir\":\"/etc\"}", &cfg, &nc, &dropped, &ce),
	        0);
	assert_string_equal(nc->cache_dir, "/var/lib/cni/kbnet");
	netconf_free(nc);
	assert_true(pcfg_under("/a/b", "/a/b"));
	assert_true(pcfg_under("/a/b/", "/a/b/c"));
	assert_false(pcfg_under("/a/b", "/a/bc"));
	assert_false(pcfg_under("/a/b", "/a/b/../c"));
	assert_false(pcfg_under("/a/b", "a/b"));
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_pcfg(void **state)
{
	char dir[] = "/tmp/kbpcfg-XXXXXX", path[64], big[PCFG_MAX_FILE + 16];
	struct cni_err ce = {0};
	struct pcfg cfg;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/cni.json", dir);
	/* Missing: the defaults. */
	assert_int_equal(pcfg_load(path, &cfg, &ce), 0);
	assert_int_equal(cfg.n_sockets, 1);
	assert_string_equal(cfg.devinfo_dir, PCFG_DEFAULT_DEVINFO_DIR);
	assert_string_equal(cfg.path, "");

	write_file(path,
	        "{\"agentSockets\":[\"/run/a.sock\",\"/run/b.sock\"],\"cacheDir\":\"/c\","
	        "\"deviceInfoDir\":\"/d\"}",
	        0644);
	assert_int_equal(pcfg_load(path, &cfg, &ce), 0);
	assert_int_equal(cfg.n_sockets, 2);
	assert_true(pcfg_socket_allowed(&cfg, "/run/b.sock"));
	assert_false(pcfg_socket_allowed(&cfg, "/run/c.sock"));
	assert_string_equal(cfg.cache_dir, "/c");
	assert_string_equal(cfg.devinfo_dir, "/d");
	/* The environment names another file (set by the runtime's owner, not by netconf). */
	setenv(PCFG_ENV, path, 1);
	assert_int_equal(pcfg_load(NULL, &cfg, &ce), 0);
	assert_string_equal(cfg.path, path);
	unsetenv(PCFG_ENV);

	/* Writable by others: refused (it decides where root writes). */
	chmod(path, 0666);
	assert_true(pcfg_load(path, &cfg, &ce) < 0);
	assert_non_null(strstr(ce.e.msg, "writable only by its owner"));
	const char *bad[] = {
	        "[]",
	        "{\"agentSockets\":[]}",
	        "{\"agentSockets\":[\"rel.sock\"]}",
	        "{\"cacheDir\":\"/\"}",
	        "{\"deviceInfoDir\":\"/a/../b\"}",
	        "{\"other\":1}",
	        "{\"cacheDir\":\"/a\",\"cacheDir\":\"/b\"}",
	        "{",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		write_file(path, bad[i], 0644);
		if (pcfg_load(path, &cfg, &ce) >= 0)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(ce.code, CNI_ERR_INVALID_CONFIG);
		assert_non_null(strstr(ce.e.msg, path));
	}
	memset(big, ' ', sizeof(big) - 1);
	big[0] = '{';
	big[sizeof(big) - 2] = '}';
	big[sizeof(big) - 1] = '\0';
	write_file(path, big, 0644);
	assert_int_equal(pcfg_load(path, &cfg, &ce), -EFBIG);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_args),
	        cmocka_unit_test_setup_teardown(test_env, env_setup, env_teardown),
	        cmocka_unit_test(test_conf_defaults),
	        cmocka_unit_test(test_conf_full),
	        cmocka_unit_test(test_conf_precedence),
	        cmocka_unit_test(test_conf_decode_and_version),
	        cmocka_unit_test(test_conf_invalid),
	        cmocka_unit_test(test_conf_commands),
	        cmocka_unit_test(test_check_env),
	        cmocka_unit_test(test_read),
	        cmocka_unit_test(test_cmd_names),
	        cmocka_unit_test(test_confine),
	        cmocka_unit_test(test_pcfg),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
