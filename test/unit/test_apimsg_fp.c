/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: the fast path's messages (api/apimsg_fp.c): ports, stats and the status
 * section round-trip; the encoded objects keep the field names and types agents and agentctl
 * of earlier releases exchange (pinned here literally); what a 0.1.0 agent sent still
 * decodes; malformed replies are refused with the field named.
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

#include "api/apimsg_fp.h"
#include "apimsg_test.h"

/* Replies: always -EPROTO. */
#define REJECT_P(fn, type, text, want_msg) REJECT(fn, type, text, EPROTO, want_msg)

/* assert_json on a new object, freed after. */
static void assert_json_owned(json_t *o, const char *text)
{
	assert_json(o, text);
	json_decref(o);
}

static void counters(struct apimsg_fp_counters *c)
{
	c->rx_packets = 10;
	c->rx_bytes = 1000;
	c->tx_packets = 20;
	c->tx_bytes = 2000;
	for (unsigned i = 0; i < APIMSG_FP_DROP_COUNT; i++)
		c->drops[i] = i + 1;
	c->rx_gso_packets = 3;
	c->rx_gso_bytes = 30000;
	c->tx_gso_sw = 4;
	c->tx_gso_segments = 40;
	c->tx_csum_sw = 5;
}

#define STATS_JSON                                                                     \
	"{\"rxPackets\":10,\"rxBytes\":1000,\"txPackets\":20,\"txBytes\":2000,"        \
	"\"drops\":{\"spoof\":1,\"oversize\":2,\"unknown\":3,\"txFull\":4,\"down\":5," \
	"\"noMbuf\":6,\"runt\":7,\"vlan\":8,\"offload\":9},"                           \
	"\"offloads\":{\"rxGsoPackets\":3,\"rxGsoBytes\":30000,\"txGsoSoftware\":4,"   \
	"\"txGsoSegments\":40,\"txCsumSoftware\":5}}"

static void check_counters(const struct apimsg_fp_counters *c)
{
	struct apimsg_fp_counters want = {0};

	counters(&want);
	assert_memory_equal(c, &want, sizeof(want));
}

/* ---- ports ---- */

static void test_port_vhost(void **state)
{
	static struct apimsg_fp_port in, out;
	struct kb_err err = {0};
	json_t *back;

	(void)state;
	in = (struct apimsg_fp_port){.slot = 2,
	        .name = "vu-3",
	        .kind = APIMSG_FP_PORT_VHOST_USER,
	        .connected = true,
	        .queues = 2,
	        .mtu = 9000,
	        .n_queue_workers = 2,
	        .queue_workers = {0, 1},
	        .container_id = "5e1c",
	        .ifname = "net1",
	        .device_id = "vu-3",
	        .network = "dpdk-net",
	        .pod = "default/web-0",
	        .mac = "02:00:00:00:00:03",
	        .vlan = 100,
	        .vlan_qos = 5,
	        .socket_path = "/run/kbnet/pods/u/net1.sock",
	        .agent_mode = "client",
	        .has_active_queues = true,
	        .active_queues = 1,
	        .queues_beyond_pool = 2,
	        .has_trunk = true,
	        .connects = 7,
	        .offloads = true,
	        .offload_features = "csum tso4"};
	counters(&in.stats);
	apimsg_fp_trunk_set(&in, 200);
	apimsg_fp_trunk_set(&in, 4094);
	/* The wire format of 0.1.0 and this release: names and types pinned. */
	assert_json_owned(apimsg_fp_port_encode(&in),
	        "{\"slot\":2,\"name\":\"vu-3\",\"kind\":\"vhost-user\",\"connected\":true,"
	        "\"queues\":2,\"mtu\":9000,\"stats\":" STATS_JSON ",\"queueWorkers\":[0,1],"
	        "\"containerID\":\"5e1c\",\"ifname\":\"net1\",\"deviceID\":\"vu-3\","
	        "\"network\":\"dpdk-net\",\"pod\":\"default/web-0\",\"mac\":\"02:00:00:00:00:03\","
	        "\"vlan\":100,\"socketPath\":\"/run/kbnet/pods/u/net1.sock\","
	        "\"agentMode\":\"client\",\"activeQueues\":1,\"queuesBeyondPool\":2,"
	        "\"vlanQoS\":5,\"trunk\":[200,4094],\"connects\":7,\"offloads\":true,"
	        "\"offloadFeatures\":\"csum tso4\"}");

	back = through_wire(apimsg_fp_port_encode(&in));
	assert_int_equal(apimsg_fp_port_decode(back, &out, &err), 0);
	assert_int_equal(out.slot, 2);
	assert_string_equal(out.name, "vu-3");
	assert_int_equal(out.kind, APIMSG_FP_PORT_VHOST_USER);
	assert_true(out.connected);
	assert_int_equal(out.queues, 2);
	assert_int_equal(out.mtu, 9000);
	check_counters(&out.stats);
	assert_int_equal(out.n_queue_workers, 2);
	assert_int_equal(out.queue_workers[1], 1);
	assert_string_equal(out.container_id, "5e1c");
	assert_string_equal(out.ifname, "net1");
	assert_string_equal(out.device_id, "vu-3");
	assert_string_equal(out.network, "dpdk-net");
	assert_string_equal(out.pod, "default/web-0");
	assert_string_equal(out.mac, in.mac);
	assert_int_equal(out.vlan, 100);
	assert_int_equal(out.vlan_qos, 5);
	assert_string_equal(out.socket_path, in.socket_path);
	assert_string_equal(out.agent_mode, "client");
	assert_null(out.netdev);
	assert_true(out.has_active_queues);
	assert_int_equal(out.active_queues, 1);
	assert_int_equal(out.queues_beyond_pool, 2);
	assert_true(out.has_trunk);
	assert_memory_equal(out.trunk, in.trunk, sizeof(in.trunk));
	assert_true(apimsg_fp_trunk_has(&out, 200));
	assert_false(apimsg_fp_trunk_has(&out, 201));
	assert_int_equal(out.connects, 7);
	assert_true(out.offloads);
	assert_string_equal(out.offload_features, "csum tso4");
	json_decref(back);

	/* Untagged, no trunk, no offloads: those members are left out. */
	in.vlan = -1;
	in.has_trunk = false;
	in.offloads = false;
	in.pod = NULL;
	in.queues_beyond_pool = 0;
	back = through_wire(apimsg_fp_port_encode(&in));
	assert_null(json_object_get(back, "vlan"));
	assert_null(json_object_get(back, "vlanQoS"));
	assert_null(json_object_get(back, "trunk"));
	assert_null(json_object_get(back, "offloadFeatures"));
	assert_null(json_object_get(back, "queuesBeyondPool"));
	assert_null(json_object_get(back, "pod"));
	assert_int_equal(apimsg_fp_port_decode(back, &out, &err), 0);
	assert_int_equal(out.vlan, -1);
	assert_false(out.has_trunk);
	assert_false(out.offloads);
	assert_null(out.pod);
	json_decref(back);
}

static void test_port_tap_uplink(void **state)
{
	static struct apimsg_fp_port in, out;
	struct kb_err err = {0};
	json_t *back;

	(void)state;
	/* A kernel pod's TAP: netdev and io instead of the socket. */
	in = (struct apimsg_fp_port){.slot = 3,
	        .name = "tap-k-0",
	        .kind = APIMSG_FP_PORT_TAP,
	        .connected = true,
	        .queues = 1,
	        .mtu = 1500,
	        .n_queue_workers = 1,
	        .container_id = "c1",
	        .ifname = "net2",
	        .device_id = "k-0",
	        .network = "kn",
	        .mac = "02:00:00:00:00:04",
	        .vlan = -1,
	        .netdev = "net2",
	        .io = "uring",
	        .has_active_queues = true,
	        .active_queues = 1,
	        .offloads = false};
	assert_json_owned(apimsg_fp_port_encode(&in),
	        "{\"slot\":3,\"name\":\"tap-k-0\",\"kind\":\"tap\",\"connected\":true,"
	        "\"queues\":1,\"mtu\":1500,\"stats\":{\"rxPackets\":0,\"rxBytes\":0,"
	        "\"txPackets\":0,\"txBytes\":0,\"drops\":{\"spoof\":0,\"oversize\":0,"
	        "\"unknown\":0,\"txFull\":0,\"down\":0,\"noMbuf\":0,\"runt\":0,\"vlan\":0,"
	        "\"offload\":0},\"offloads\":{\"rxGsoPackets\":0,\"rxGsoBytes\":0,"
	        "\"txGsoSoftware\":0,\"txGsoSegments\":0,\"txCsumSoftware\":0}},"
	        "\"queueWorkers\":[0],\"containerID\":\"c1\",\"ifname\":\"net2\","
	        "\"deviceID\":\"k-0\",\"network\":\"kn\",\"mac\":\"02:00:00:00:00:04\","
	        "\"netdev\":\"net2\",\"io\":\"uring\",\"activeQueues\":1,\"connects\":0,"
	        "\"offloads\":false}");
	back = through_wire(apimsg_fp_port_encode(&in));
	assert_int_equal(apimsg_fp_port_decode(back, &out, &err), 0);
	assert_int_equal(out.kind, APIMSG_FP_PORT_TAP);
	assert_string_equal(out.netdev, "net2");
	assert_string_equal(out.io, "uring");
	assert_null(out.socket_path);
	assert_null(out.agent_mode);
	json_decref(back);

	/* The uplink: device, devargs, notes and its offload mode as a string. */
	in = (struct apimsg_fp_port){.slot = 0,
	        .name = "uplink",
	        .kind = APIMSG_FP_PORT_UPLINK,
	        .connected = true,
	        .queues = 2,
	        .mtu = 1500,
	        .n_queue_workers = 2,
	        .queue_workers = {0, 1},
	        .device = "0000:01:00.0",
	        .devargs = "0000:01:00.0,x=1",
	        .notes = "no RSS",
	        .uplink_offloads = "software"};
	counters(&in.stats);
	back = through_wire(apimsg_fp_port_encode(&in));
	assert_string_equal(json_string_value(json_object_get(back, "offloads")), "software");
	assert_null(json_object_get(back, "containerID"));
	assert_int_equal(apimsg_fp_port_decode(back, &out, &err), 0);
	assert_int_equal(out.kind, APIMSG_FP_PORT_UPLINK);
	assert_string_equal(out.device, "0000:01:00.0");
	assert_string_equal(out.devargs, "0000:01:00.0,x=1");
	assert_string_equal(out.notes, "no RSS");
	assert_string_equal(out.uplink_offloads, "software");
	assert_false(out.offloads);
	check_counters(&out.stats);
	json_decref(back);
}

/* What older agents sent: no kind, no activeQueues, no offloads; a kind of a newer one. */
static void test_port_older_newer(void **state)
{
	static struct apimsg_fp_port out;
	struct kb_err err = {0};
	json_t *j;

	(void)state;
	j = load("{\"slot\":1,\"name\":\"vu-0\",\"connected\":false,\"queues\":1,\"mtu\":1500,"
	         "\"stats\":{\"rxPackets\":1,\"rxBytes\":2,\"txPackets\":3,\"txBytes\":4,"
	         "\"drops\":{\"spoof\":1}},\"containerID\":\"c\",\"ifname\":\"net1\","
	         "\"deviceID\":\"vu-0\",\"network\":\"n\",\"mac\":\"02:00:00:00:00:01\","
	         "\"socketPath\":\"/s\",\"agentMode\":\"server\"}");
	assert_int_equal(apimsg_fp_port_decode(j, &out, &err), 0);
	assert_int_equal(out.kind, APIMSG_FP_PORT_VHOST_USER);
	assert_false(out.has_active_queues);
	assert_int_equal(out.stats.tx_bytes, 4);
	assert_int_equal(out.stats.drops[APIMSG_FP_DROP_SPOOF], 1);
	assert_int_equal(out.stats.tx_gso_sw, 0);
	assert_int_equal(out.vlan, -1);
	json_decref(j);

	j = load("{\"slot\":0,\"name\":\"uplink\",\"devargs\":\"net_null0\",\"device\":\"u\"}");
	assert_int_equal(apimsg_fp_port_decode(j, &out, &err), 0);
	assert_int_equal(out.kind, APIMSG_FP_PORT_UPLINK);
	assert_null(out.uplink_offloads);
	json_decref(j);

	j = load("{\"slot\":4,\"name\":\"x\",\"kind\":\"memif\"}");
	assert_int_equal(apimsg_fp_port_decode(j, &out, &err), 0);
	assert_int_equal(out.kind, APIMSG_FP_PORT_OTHER);
	assert_string_equal(apimsg_fp_port_kind_name(out.kind), "other");
	json_decref(j);
}

static void test_port_rejected(void **state)
{
	(void)state;
	REJECT_P(apimsg_fp_port_decode, struct apimsg_fp_port, "[]", "not an object");
	REJECT_P(apimsg_fp_port_decode, struct apimsg_fp_port, "{\"slot\":1}", "'name'");
	REJECT_P(apimsg_fp_port_decode, struct apimsg_fp_port, "{\"name\":\"p\",\"slot\":\"1\"}",
	        "'slot'");
	REJECT_P(apimsg_fp_port_decode, struct apimsg_fp_port, "{\"name\":\"p\",\"kind\":7}",
	        "'kind'");
	REJECT_P(apimsg_fp_port_decode, struct apimsg_fp_port, "{\"name\":\"p\",\"connected\":1}",
	        "'connected'");
	REJECT_P(apimsg_fp_port_decode, struct apimsg_fp_port, "{\"name\":\"p\",\"stats\":[]}",
	        "'stats'");
	REJECT_P(apimsg_fp_port_decode, struct apimsg_fp_port,
	        "{\"name\":\"p\",\"stats\":{\"rxPackets\":-1}}", "stats: 'rxPackets'");
	REJECT_P(apimsg_fp_port_decode, struct apimsg_fp_port,
	        "{\"name\":\"p\",\"stats\":{\"drops\":{\"txFull\":\"x\"}}}", "'txFull'");
	REJECT_P(apimsg_fp_port_decode, struct apimsg_fp_port,
	        "{\"name\":\"p\",\"stats\":{\"offloads\":{\"rxGsoPackets\":1.5}}}",
	        "'rxGsoPackets'");
	REJECT_P(apimsg_fp_port_decode, struct apimsg_fp_port,
	        "{\"name\":\"p\",\"queueWorkers\":[0,256]}", "'queueWorkers'");
	REJECT_P(apimsg_fp_port_decode, struct apimsg_fp_port,
	        "{\"name\":\"p\",\"queueWorkers\":{}}", "'queueWorkers'");
	REJECT_P(apimsg_fp_port_decode, struct apimsg_fp_port, "{\"name\":\"p\",\"trunk\":[0]}",
	        "'trunk'");
	REJECT_P(apimsg_fp_port_decode, struct apimsg_fp_port, "{\"name\":\"p\",\"trunk\":[4095]}",
	        "'trunk'");
	REJECT_P(apimsg_fp_port_decode, struct apimsg_fp_port, "{\"name\":\"p\",\"vlan\":4095}",
	        "'vlan'");
	REJECT_P(apimsg_fp_port_decode, struct apimsg_fp_port,
	        "{\"name\":\"p\",\"ifname\":\"0123456789abcdef\"}", "'ifname'");
	REJECT_P(apimsg_fp_port_decode, struct apimsg_fp_port,
	        "{\"name\":\"p\",\"kind\":\"vhost-user\",\"offloads\":\"software\"}", "'offloads'");
	REJECT_P(apimsg_fp_port_decode, struct apimsg_fp_port,
	        "{\"name\":\"p\",\"kind\":\"uplink\",\"offloads\":true}", "'offloads'");
	/* The port is named in the message. */
	REJECT_P(apimsg_fp_port_decode, struct apimsg_fp_port, "{\"name\":\"vu-9\",\"mtu\":-1}",
	        "port vu-9: 'mtu'");
}

static void test_ports_result(void **state)
{
	struct kb_err err = {0};
	json_t *j, *ports;

	(void)state;
	j = through_wire(apimsg_fp_ports_result_encode(json_array()));
	assert_int_equal(apimsg_fp_ports_result_decode(j, &ports, &err), 0);
	assert_true(json_is_array(ports));
	json_decref(j);
	j = load("{}");
	assert_int_equal(apimsg_fp_ports_result_decode(j, &ports, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "'ports'"));
	json_decref(j);
	j = load("{\"ports\":{}}");
	assert_int_equal(apimsg_fp_ports_result_decode(j, &ports, &err), -EPROTO);
	json_decref(j);
}

/* ---- stats ---- */

static void test_stats(void **state)
{
	struct apimsg_fp_worker w = {.id = 1,
	                                .lcore = 3,
	                                .cpu = 5,
	                                .busy_cycles = 1000,
	                                .work_cycles = 800,
	                                .idle_cycles = 200,
	                                .sleep_cycles = 100,
	                                .packets = 10,
	                                .loops = 50,
	                                .sleeps = 4,
	                                .wakes = 3,
	                                .has_one_copy = true,
	                                .oc_walk_cycles = 11,
	                                .oc_copy_cycles = 22,
	                                .oc_hand_back_cycles = 33},
	                        wo;
	struct apimsg_fp_stats st = {0}, so;
	struct kb_err err = {0};
	json_t *back;

	(void)state;
	assert_json_owned(apimsg_fp_worker_encode(&w),
	        "{\"id\":1,\"lcore\":3,\"cpu\":5,\"busyCycles\":1000,\"workCycles\":800,"
	        "\"idleCycles\":200,\"sleepCycles\":100,\"packets\":10,\"loops\":50,"
	        "\"sleeps\":4,\"wakes\":3,\"cyclesPerPacket\":80.0,\"busyCyclesPerPacket\":100.0,"
	        "\"oneCopyCycles\":{\"walk\":11,\"copy\":22,\"handBack\":33}}");
	back = through_wire(apimsg_fp_worker_encode(&w));
	assert_int_equal(apimsg_fp_worker_decode(back, &wo, &err), 0);
	assert_int_equal(wo.id, 1);
	assert_int_equal(wo.lcore, 3);
	assert_int_equal(wo.cpu, 5);
	assert_int_equal(wo.busy_cycles, 1000);
	assert_int_equal(wo.work_cycles, 800);
	assert_int_equal(wo.idle_cycles, 200);
	assert_int_equal(wo.sleep_cycles, 100);
	assert_int_equal(wo.packets, 10);
	assert_int_equal(wo.loops, 50);
	assert_int_equal(wo.sleeps, 4);
	assert_int_equal(wo.wakes, 3);
	assert_true(wo.cycles_per_packet == 80.0);
	assert_true(wo.busy_cycles_per_packet == 100.0);
	assert_true(wo.has_one_copy);
	assert_int_equal(wo.oc_walk_cycles, 11);
	assert_int_equal(wo.oc_copy_cycles, 22);
	assert_int_equal(wo.oc_hand_back_cycles, 33);
	json_decref(back);
	/* Two-copy mode: no oneCopyCycles; no packets: 0 per packet. */
	w.has_one_copy = false;
	w.packets = 0;
	back = through_wire(apimsg_fp_worker_encode(&w));
	assert_null(json_object_get(back, "oneCopyCycles"));
	assert_int_equal(apimsg_fp_worker_decode(back, &wo, &err), 0);
	assert_false(wo.has_one_copy);
	assert_true(wo.cycles_per_packet == 0.0);
	/* An agent before idleWait sent no wakes. */
	json_object_del(back, "wakes");
	assert_int_equal(apimsg_fp_worker_decode(back, &wo, &err), 0);
	assert_int_equal(wo.wakes, 0);
	json_decref(back);

	st.tsc_hz = 2000000000;
	st.monotonic_ns = 123456789012;
	st.workers = json_array();
	json_array_append_new(st.workers, apimsg_fp_worker_encode(&w));
	st.ports = json_array();
	st.has_test_hooks = true;
	st.stalls = 2;
	st.late_accesses = 1;
	back = through_wire(apimsg_fp_stats_encode(&st));
	assert_json(json_object_get(back, "testHooks"), "{\"stalls\":2,\"lateAccesses\":1}");
	assert_int_equal(apimsg_fp_stats_decode(back, &so, &err), 0);
	assert_int_equal(so.tsc_hz, 2000000000);
	assert_int_equal(so.monotonic_ns, 123456789012);
	assert_int_equal(json_array_size(so.workers), 1);
	assert_int_equal(json_array_size(so.ports), 0);
	assert_true(so.has_test_hooks);
	assert_int_equal(so.stalls, 2);
	assert_int_equal(so.late_accesses, 1);
	json_decref(back);
	/* No test hooks outside test builds. */
	st.has_test_hooks = false;
	st.workers = json_array();
	st.ports = json_array();
	back = through_wire(apimsg_fp_stats_encode(&st));
	assert_null(json_object_get(back, "testHooks"));
	assert_int_equal(apimsg_fp_stats_decode(back, &so, &err), 0);
	assert_false(so.has_test_hooks);
	json_decref(back);

	REJECT_P(apimsg_fp_worker_decode, struct apimsg_fp_worker, "1", "not an object");
	REJECT_P(apimsg_fp_worker_decode, struct apimsg_fp_worker, "{\"busyCycles\":\"1\"}",
	        "'busyCycles'");
	REJECT_P(apimsg_fp_worker_decode, struct apimsg_fp_worker, "{\"cyclesPerPacket\":\"x\"}",
	        "'cyclesPerPacket'");
	REJECT_P(apimsg_fp_worker_decode, struct apimsg_fp_worker, "{\"oneCopyCycles\":[1]}",
	        "'oneCopyCycles'");
	REJECT_P(apimsg_fp_worker_decode, struct apimsg_fp_worker,
	        "{\"oneCopyCycles\":{\"walk\":-3}}", "oneCopyCycles: 'walk'");
	REJECT_P(apimsg_fp_stats_decode, struct apimsg_fp_stats, "[]", "not an object");
	REJECT_P(apimsg_fp_stats_decode, struct apimsg_fp_stats, "{\"workers\":[],\"ports\":[]}",
	        "'monotonicNs'");
	REJECT_P(apimsg_fp_stats_decode, struct apimsg_fp_stats,
	        "{\"monotonicNs\":1,\"workers\":{},\"ports\":[]}", "'workers'");
	REJECT_P(apimsg_fp_stats_decode, struct apimsg_fp_stats,
	        "{\"monotonicNs\":1,\"workers\":[]}", "'ports'");
	REJECT_P(apimsg_fp_stats_decode, struct apimsg_fp_stats,
	        "{\"monotonicNs\":1,\"workers\":[],\"ports\":[],\"testHooks\":{\"stalls\":true}}",
	        "'stalls'");
}

/* ---- status section ---- */

static void test_status(void **state)
{
	static struct apimsg_fp_status in, out;
	struct kb_err err = {0};
	json_t *back;

	(void)state;
	in = (struct apimsg_fp_status){
	        .enabled = false, .state = "disabled", .healthy = true, .note = "no DPDK"};
	assert_json_owned(apimsg_fp_status_encode(&in),
	        "{\"enabled\":false,\"state\":\"disabled\",\"healthy\":true,\"note\":\"no DPDK\"}");

	in = (struct apimsg_fp_status){.enabled = true,
	        .state = "running",
	        .healthy = true,
	        .memory = "64 MiB",
	        .copy_mode = "one",
	        .hugepages = false,
	        .file_prefix = "kbnet-1",
	        .running = true,
	        .n_worker_cpus = 2,
	        .worker_cpus = {2, 3},
	        .ports = 4,
	        .connected = 3,
	        .idle_polls = 100,
	        .idle_sleep_max_us = 50,
	        .idle_wait = "events",
	        .uplink_offloads = "ignored without uplink"};
	assert_json_owned(apimsg_fp_status_encode(&in),
	        "{\"enabled\":true,\"state\":\"running\",\"healthy\":true,\"memory\":\"64 MiB\","
	        "\"copyMode\":\"one\",\"hugepages\":false,\"filePrefix\":\"kbnet-1\","
	        "\"workerCpus\":[2,3],\"ports\":4,\"connected\":3,\"uplink\":null,"
	        "\"idle\":{\"polls\":100,\"sleepMaxUs\":50,\"wait\":\"events\"}}");
	in.uplink = "net_null0";
	in.uplink_notes = "no RSS";
	in.uplink_offloads = "software";
	in.vlan_conflicts = 1;
	back = through_wire(apimsg_fp_status_encode(&in));
	assert_int_equal(apimsg_fp_status_decode(back, &out, &err), 0);
	assert_true(out.enabled);
	assert_string_equal(out.state, "running");
	assert_true(out.healthy);
	assert_string_equal(out.memory, "64 MiB");
	assert_string_equal(out.copy_mode, "one");
	assert_string_equal(out.file_prefix, "kbnet-1");
	assert_true(out.running);
	assert_int_equal(out.n_worker_cpus, 2);
	assert_int_equal(out.worker_cpus[1], 3);
	assert_int_equal(out.ports, 4);
	assert_int_equal(out.connected, 3);
	assert_string_equal(out.uplink, "net_null0");
	assert_string_equal(out.uplink_notes, "no RSS");
	assert_string_equal(out.uplink_offloads, "software");
	assert_int_equal(out.idle_polls, 100);
	assert_int_equal(out.idle_sleep_max_us, 50);
	assert_string_equal(out.idle_wait, "events");
	assert_int_equal(out.vlan_conflicts, 1);
	json_decref(back);

	/* A failed fast path: the error, no running fields. */
	in = (struct apimsg_fp_status){
	        .enabled = true, .state = "failed", .healthy = false, .error = "EAL: no memory"};
	back = through_wire(apimsg_fp_status_encode(&in));
	assert_int_equal(apimsg_fp_status_decode(back, &out, &err), 0);
	assert_false(out.healthy);
	assert_false(out.running);
	assert_string_equal(out.error, "EAL: no memory");
	assert_null(out.memory);
	json_decref(back);

	REJECT_P(apimsg_fp_status_decode, struct apimsg_fp_status, "[]", "not an object");
	REJECT_P(apimsg_fp_status_decode, struct apimsg_fp_status, "{}", "'state'");
	REJECT_P(apimsg_fp_status_decode, struct apimsg_fp_status,
	        "{\"state\":\"running\",\"healthy\":\"yes\"}", "'healthy'");
	REJECT_P(apimsg_fp_status_decode, struct apimsg_fp_status,
	        "{\"state\":\"running\",\"workerCpus\":[\"a\"]}", "'workerCpus'");
	REJECT_P(apimsg_fp_status_decode, struct apimsg_fp_status,
	        "{\"state\":\"running\",\"idle\":{\"polls\":-1}}", "idle: 'polls'");
	REJECT_P(apimsg_fp_status_decode, struct apimsg_fp_status,
	        "{\"state\":\"running\",\"idle\":{\"wait\":1}}", "idle: 'wait'");
	REJECT_P(apimsg_fp_status_decode, struct apimsg_fp_status,
	        "{\"state\":\"running\",\"uplink\":5}", "'uplink'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_port_vhost),
	        cmocka_unit_test(test_port_tap_uplink),
	        cmocka_unit_test(test_port_older_newer),
	        cmocka_unit_test(test_port_rejected),
	        cmocka_unit_test(test_ports_result),
	        cmocka_unit_test(test_stats),
	        cmocka_unit_test(test_status),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
