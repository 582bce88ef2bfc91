/* SPDX-License-Identifier: Apache-2.0 */
#include "api/apimsg_fp.h"
#include "api/apimsg_field.h"
#include "common/validate.h"

#include <errno.h>
#include <string.h>

#define SHORT_MAX   256  /* names, kinds, modes */
#define TEXT_MAX    4096 /* notes, errors, descriptions */
#define POD_REF_MAX (VAL_K8S_NAMESPACE_MAX + VAL_K8S_NAME_MAX + 1)

static const int C = EPROTO; /* every message here is a reply */

/* ---- counters ---- */

static const char *const drop_names[APIMSG_FP_DROP_COUNT] = {
        [APIMSG_FP_DROP_SPOOF] = "spoof",
        [APIMSG_FP_DROP_OVERSIZE] = "oversize",
        [APIMSG_FP_DROP_UNKNOWN] = "unknown",
        [APIMSG_FP_DROP_TX_FULL] = "txFull",
        [APIMSG_FP_DROP_DOWN] = "down",
        [APIMSG_FP_DROP_NO_MBUF] = "noMbuf",
        [APIMSG_FP_DROP_RUNT] = "runt",
        [APIMSG_FP_DROP_VLAN] = "vlan",
        [APIMSG_FP_DROP_OFFLOAD] = "offload",
};

const char *apimsg_fp_drop_name(enum apimsg_fp_drop d)
{
	return (unsigned)d < APIMSG_FP_DROP_COUNT ? drop_names[d] : NULL;
}

static int set_u64(json_t *o, const char *key, uint64_t v)
{
	return json_object_set_new(o, key, json_integer((json_int_t)v));
}

static json_t *counters_encode(const struct apimsg_fp_counters *s)
{
	json_t *o = json_object(), *drops = json_object(), *ol = json_object();
	int r = 0;

	if (!o || !drops || !ol)
		goto fail;
	r |= set_u64(o, "rxPackets", s->rx_packets);
	r |= set_u64(o, "rxBytes", s->rx_bytes);
	r |= set_u64(o, "txPackets", s->tx_packets);
	r |= set_u64(o, "txBytes", s->tx_bytes);
	for (unsigned i = 0; i < APIMSG_FP_DROP_COUNT; i++)
		r |= set_u64(drops, drop_names[i], s->drops[i]);
	r |= set_u64(ol, "rxGsoPackets", s->rx_gso_packets);
	r |= set_u64(ol, "rxGsoBytes", s->rx_gso_bytes);
	r |= set_u64(ol, "txGsoSoftware", s->tx_gso_sw);
	r |= set_u64(ol, "txGsoSegments", s->tx_gso_segments);
	r |= set_u64(ol, "txCsumSoftware", s->tx_csum_sw);
	r |= json_object_set_new(o, "drops", drops);
	drops = NULL;
	r |= json_object_set_new(o, "offloads", ol);
	ol = NULL;
	if (r)
		goto fail;
	return o;
fail:
	json_decref(ol);
	json_decref(drops);
	json_decref(o);
	return NULL;
}

/* Absent counters (an older agent) read as 0. */
static int counters_decode(json_t *o, struct apimsg_fp_counters *ret, struct kb_err *err)
{
	json_t *drops, *ol;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!o)
		return 0;
	if (!json_is_object(o))
		return kb_err_set(err, C, "'stats' must be an object");
	if ((r = apimsg_field_u64(o, "rxPackets", false, C, &ret->rx_packets, err)) < 0 ||
	        (r = apimsg_field_u64(o, "rxBytes", false, C, &ret->rx_bytes, err)) < 0 ||
	        (r = apimsg_field_u64(o, "txPackets", false, C, &ret->tx_packets, err)) < 0 ||
	        (r = apimsg_field_u64(o, "txBytes", false, C, &ret->tx_bytes, err)) < 0 ||
	        (r = apimsg_field_obj(o, "drops", C, &drops, err)) < 0 ||
	        (r = apimsg_field_obj(o, "offloads", C, &ol, err)) < 0)
		return kb_err_prefix(err, "stats");
	for (unsigned i = 0; drops && i < APIMSG_FP_DROP_COUNT; i++)
		if ((r = apimsg_field_u64(drops, drop_names[i], false, C, &ret->drops[i], err)) < 0)
			return kb_err_prefix(err, "stats.drops");
	if (ol && ((r = apimsg_field_u64(ol, "rxGsoPackets", false, C, &ret->rx_gso_packets, err)) <
	                          0 ||
	                  (r = apimsg_field_u64(
	                           ol, "rxGsoBytes", false, C, &ret->rx_gso_bytes, err)) < 0 ||
	                  (r = apimsg_field_u64(
	                           ol, "txGsoSoftware", false, C, &ret->tx_gso_sw, err)) < 0 ||
	                  (r = apimsg_field_u64(ol, "txGsoSegments", false, C,
	                           &ret->tx_gso_segments, err)) < 0 ||
	                  (r = apimsg_field_u64(
	                           ol, "txCsumSoftware", false, C, &ret->tx_csum_sw, err)) < 0))
		return kb_err_prefix(err, "stats.offloads");
	return 0;
}

/* ---- ports ---- */

static const char *const kind_names[] = {
        [APIMSG_FP_PORT_VHOST_USER] = "vhost-user",
        [APIMSG_FP_PORT_UPLINK] = "uplink",
        [APIMSG_FP_PORT_TAP] = "tap",
};

const char *apimsg_fp_port_kind_name(enum apimsg_fp_port_kind k)
{
	return (unsigned)k < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[k] : "other";
}

static int int_array_encode(json_t *o, const char *key, const int *v, size_t n)
{
	json_t *arr = json_array();

	if (!arr)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(arr, json_integer(v[i])) < 0) {
			json_decref(arr);
			return -1;
		}
	return json_object_set_new(o, key, arr);
}

/* The members after the common head, for a pod port (vhost-user or TAP). */
static int pod_port_encode(json_t *o, const struct apimsg_fp_port *p)
{
	int r = 0;

	r |= json_object_set_new(o, "containerID", json_string(p->container_id));
	r |= json_object_set_new(o, "ifname", json_string(p->ifname));
	r |= json_object_set_new(o, "deviceID", json_string(p->device_id));
	r |= json_object_set_new(o, "network", json_string(p->network));
	apimsg_set_str(o, "pod", p->pod);
	r |= json_object_set_new(o, "mac", json_string(p->mac));
	if (p->vlan >= 0)
		r |= json_object_set_new(o, "vlan", json_integer(p->vlan));
	if (p->kind == APIMSG_FP_PORT_TAP) {
		r |= json_object_set_new(o, "netdev", json_string(p->netdev));
		r |= json_object_set_new(o, "io", json_string(p->io));
	} else {
		r |= json_object_set_new(o, "socketPath", json_string(p->socket_path));
		r |= json_object_set_new(o, "agentMode", json_string(p->agent_mode));
	}
	r |= json_object_set_new(o, "activeQueues", json_integer(p->active_queues));
	if (p->queues_beyond_pool)
		r |= json_object_set_new(
		        o, "queuesBeyondPool", json_integer(p->queues_beyond_pool));
	if (p->vlan >= 0)
		r |= json_object_set_new(o, "vlanQoS", json_integer(p->vlan_qos));
	if (p->has_trunk) {
		json_t *tr = json_array();
		for (unsigned v = 1; tr && v < 4095; v++)
			if (apimsg_fp_trunk_has(p, v))
				r |= json_array_append_new(tr, json_integer(v));
		r |= json_object_set_new(o, "trunk", tr);
	}
	r |= set_u64(o, "connects", p->connects);
	r |= json_object_set_new(o, "offloads", json_boolean(p->offloads));
	if (p->offloads && p->offload_features)
		r |= json_object_set_new(o, "offloadFeatures", json_string(p->offload_features));
	return r ? -ENOMEM : 0;
}

json_t *apimsg_fp_port_encode(const struct apimsg_fp_port *p)
{
	json_t *o, *qw;
	int r = 0;

	o = json_pack("{s:i, s:s, s:s, s:b, s:i, s:i, s:o}", "slot", p->slot, "name", p->name,
	        "kind", apimsg_fp_port_kind_name(p->kind), "connected", p->connected, "queues",
	        p->queues, "mtu", p->mtu, "stats", counters_encode(&p->stats));
	if (!o)
		return NULL;
	qw = json_array();
	for (size_t q = 0; qw && q < p->n_queue_workers && q < APIMSG_FP_MAX_QUEUES; q++)
		r |= json_array_append_new(qw, json_integer(p->queue_workers[q]));
	r |= json_object_set_new(o, "queueWorkers", qw);
	if (p->kind == APIMSG_FP_PORT_UPLINK) {
		r |= json_object_set_new(o, "device", json_string(p->device));
		r |= json_object_set_new(o, "devargs", json_string(p->devargs));
		apimsg_set_str(o, "notes", p->notes);
		r |= json_object_set_new(o, "offloads", json_string(p->uplink_offloads));
	} else {
		r |= pod_port_encode(o, p);
	}
	if (r) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int kind_decode(json_t *o, enum apimsg_fp_port_kind *ret, struct kb_err *err)
{
	const char *k;
	int r;

	if ((r = apimsg_field_str(o, "kind", false, SHORT_MAX, NULL, C, &k, err)) < 0)
		return r;
	if (!k) {
		*ret = json_object_get(o, "devargs") ? APIMSG_FP_PORT_UPLINK
		                                     : APIMSG_FP_PORT_VHOST_USER;
		return 0;
	}
	*ret = APIMSG_FP_PORT_OTHER;
	for (unsigned i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (!strcmp(kind_names[i], k))
			*ret = i;
	return 0;
}

static int queue_workers_decode(json_t *o, struct apimsg_fp_port *ret, struct kb_err *err)
{
	json_t *arr = json_object_get(o, "queueWorkers"), *v;
	size_t i;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return kb_err_set(err, C, "'queueWorkers' must be an array");
	if (json_array_size(arr) > APIMSG_FP_MAX_QUEUES)
		return kb_err_set(
		        err, C, "'queueWorkers' has more than %d entries", APIMSG_FP_MAX_QUEUES);
	json_array_foreach (arr, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		        json_integer_value(v) > UINT8_MAX)
			return kb_err_set(err, C, "'queueWorkers' must hold worker numbers");
		ret->queue_workers[i] = (uint8_t)json_integer_value(v);
	}
	ret->n_queue_workers = json_array_size(arr);
	return 0;
}

static int trunk_decode(json_t *o, struct apimsg_fp_port *ret, struct kb_err *err)
{
	json_t *arr = json_object_get(o, "trunk"), *v;
	size_t i;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return kb_err_set(err, C, "'trunk' must be an array");
	json_array_foreach (arr, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		        json_integer_value(v) > 4094)
			return kb_err_set(err, C, "'trunk' must hold VLAN ids 1..4094");
		apimsg_fp_trunk_set(ret, (unsigned)json_integer_value(v));
	}
	ret->has_trunk = true;
	return 0;
}

static int uplink_decode(json_t *o, struct apimsg_fp_port *ret, struct kb_err *err)
{
	int r;

	if ((r = apimsg_field_str(o, "device", false, SHORT_MAX, NULL, C, &ret->device, err)) < 0 ||
	        (r = apimsg_field_str(o, "devargs", false, TEXT_MAX, NULL, C, &ret->devargs, err)) <
	                0 ||
	        (r = apimsg_field_str(o, "notes", false, TEXT_MAX, NULL, C, &ret->notes, err)) <
	                0 ||
	        (r = apimsg_field_str(
	                 o, "offloads", false, TEXT_MAX, NULL, C, &ret->uplink_offloads, err)) < 0)
		return r;
	return 0;
}

static int pod_port_decode(json_t *o, struct apimsg_fp_port *ret, struct kb_err *err)
{
	json_t *aq = json_object_get(o, "activeQueues");
	int r;

	ret->active_queues = 0;
	if ((r = apimsg_field_str(o, "containerID", false, VAL_CONTAINER_ID_MAX, NULL, C,
	             &ret->container_id, err)) < 0 ||
	        (r = apimsg_field_str(
	                 o, "ifname", false, VAL_IFNAME_MAX, NULL, C, &ret->ifname, err)) < 0 ||
	        (r = apimsg_field_str(o, "deviceID", false, VAL_DEVICE_ID_MAX, NULL, C,
	                 &ret->device_id, err)) < 0 ||
	        (r = apimsg_field_str(
	                 o, "network", false, VAL_NETWORK_MAX, NULL, C, &ret->network, err)) < 0 ||
	        (r = apimsg_field_str(o, "pod", false, POD_REF_MAX, NULL, C, &ret->pod, err)) < 0 ||
	        (r = apimsg_field_str(o, "mac", false, SHORT_MAX, NULL, C, &ret->mac, err)) < 0 ||
	        (r = apimsg_field_int32(o, "vlan", 0, 4094, C, &ret->vlan, err)) < 0 ||
	        (r = apimsg_field_str(
	                 o, "netdev", false, VAL_IFNAME_MAX, NULL, C, &ret->netdev, err)) < 0 ||
	        (r = apimsg_field_str(o, "io", false, SHORT_MAX, NULL, C, &ret->io, err)) < 0 ||
	        (r = apimsg_field_str(o, "socketPath", false, VAL_PATH_MAX, NULL, C,
	                 &ret->socket_path, err)) < 0 ||
	        (r = apimsg_field_str(
	                 o, "agentMode", false, SHORT_MAX, NULL, C, &ret->agent_mode, err)) < 0 ||
	        (r = apimsg_field_int32(
	                 o, "activeQueues", 0, UINT16_MAX, C, &ret->active_queues, err)) < 0 ||
	        (r = apimsg_field_int32(o, "queuesBeyondPool", 0, UINT16_MAX, C,
	                 &ret->queues_beyond_pool, err)) < 0 ||
	        (r = apimsg_field_int32(o, "vlanQoS", 0, 7, C, &ret->vlan_qos, err)) < 0 ||
	        (r = trunk_decode(o, ret, err)) < 0 ||
	        (r = apimsg_field_u64(o, "connects", false, C, &ret->connects, err)) < 0 ||
	        (r = apimsg_field_bool(o, "offloads", C, &ret->offloads, err)) < 0 ||
	        (r = apimsg_field_str(o, "offloadFeatures", false, TEXT_MAX, NULL, C,
	                 &ret->offload_features, err)) < 0)
		return r;
	ret->has_active_queues = aq && !json_is_null(aq);
	return 0;
}

int apimsg_fp_port_decode(json_t *o, struct apimsg_fp_port *ret, struct kb_err *err)
{
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->vlan = -1;
	if (!json_is_object(o))
		return kb_err_set(err, C, "port is not an object");
	if ((r = apimsg_field_int32(o, "slot", 0, INT32_MAX, C, &ret->slot, err)) < 0 ||
	        (r = apimsg_field_str(o, "name", true, TEXT_MAX, NULL, C, &ret->name, err)) < 0 ||
	        (r = kind_decode(o, &ret->kind, err)) < 0 ||
	        (r = apimsg_field_bool(o, "connected", C, &ret->connected, err)) < 0 ||
	        (r = apimsg_field_int32(o, "queues", 0, UINT16_MAX, C, &ret->queues, err)) < 0 ||
	        (r = apimsg_field_int32(o, "mtu", 0, INT32_MAX, C, &ret->mtu, err)) < 0 ||
	        (r = counters_decode(json_object_get(o, "stats"), &ret->stats, err)) < 0 ||
	        (r = queue_workers_decode(o, ret, err)) < 0)
		goto fail;
	if (ret->kind == APIMSG_FP_PORT_UPLINK)
		r = uplink_decode(o, ret, err);
	else
		r = pod_port_decode(o, ret, err);
	if (r < 0)
		goto fail;
	return 0;
fail:
	return kb_err_prefix(err, "port%s%s", ret->name ? " " : "", ret->name ? ret->name : "");
}

json_t *apimsg_fp_ports_result_encode(json_t *ports)
{
	return json_pack("{s:o}", "ports", ports);
}

/* The optional array `key` of o (NULL when absent). */
static int array_field(json_t *o, const char *key, bool required, json_t **ret, struct kb_err *err)
{
	json_t *v = json_object_get(o, key);

	*ret = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return kb_err_set(err, C, "'%s' is required", key);
		return 0;
	}
	if (!json_is_array(v))
		return kb_err_set(err, C, "'%s' must be an array", key);
	*ret = v;
	return 0;
}

int apimsg_fp_ports_result_decode(json_t *res, json_t **ret_ports, struct kb_err *err)
{
	*ret_ports = NULL;
	if (!json_is_object(res))
		return kb_err_set(err, C, "the ports reply is not an object");
	return array_field(res, "ports", true, ret_ports, err);
}

/* ---- stats ---- */

json_t *apimsg_fp_worker_encode(const struct apimsg_fp_worker *w)
{
	json_t *o = json_pack("{s:i, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f}",
	        "id", w->id, "lcore", w->lcore, "cpu", w->cpu, "busyCycles",
	        (json_int_t)w->busy_cycles, "workCycles", (json_int_t)w->work_cycles, "idleCycles",
	        (json_int_t)w->idle_cycles, "sleepCycles", (json_int_t)w->sleep_cycles, "packets",
	        (json_int_t)w->packets, "loops", (json_int_t)w->loops, "sleeps",
	        (json_int_t)w->sleeps, "wakes", (json_int_t)w->wakes, "cyclesPerPacket",
	        w->packets ? (double)w->work_cycles / w->packets : 0.0, "busyCyclesPerPacket",
	        w->packets ? (double)w->busy_cycles / w->packets : 0.0);

	if (o && w->has_one_copy &&
	        json_object_set_new(o, "oneCopyCycles",
	                json_pack("{s:I, s:I, s:I}", "walk", (json_int_t)w->oc_walk_cycles, "copy",
	                        (json_int_t)w->oc_copy_cycles, "handBack",
	                        (json_int_t)w->oc_hand_back_cycles)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int apimsg_fp_worker_decode(json_t *o, struct apimsg_fp_worker *ret, struct kb_err *err)
{
	json_t *oc;
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->cpu = -1;
	if (!json_is_object(o))
		return kb_err_set(err, C, "worker is not an object");
	if ((r = apimsg_field_int32(o, "id", 0, INT32_MAX, C, &ret->id, err)) < 0 ||
	        (r = apimsg_field_int32(o, "lcore", 0, INT32_MAX, C, &ret->lcore, err)) < 0 ||
	        (r = apimsg_field_int32(o, "cpu", -1, INT32_MAX, C, &ret->cpu, err)) < 0 ||
	        (r = apimsg_field_u64(o, "busyCycles", false, C, &ret->busy_cycles, err)) < 0 ||
	        (r = apimsg_field_u64(o, "workCycles", false, C, &ret->work_cycles, err)) < 0 ||
	        (r = apimsg_field_u64(o, "idleCycles", false, C, &ret->idle_cycles, err)) < 0 ||
	        (r = apimsg_field_u64(o, "sleepCycles", false, C, &ret->sleep_cycles, err)) < 0 ||
	        (r = apimsg_field_u64(o, "packets", false, C, &ret->packets, err)) < 0 ||
	        (r = apimsg_field_u64(o, "loops", false, C, &ret->loops, err)) < 0 ||
	        (r = apimsg_field_u64(o, "sleeps", false, C, &ret->sleeps, err)) < 0 ||
	        (r = apimsg_field_u64(o, "wakes", false, C, &ret->wakes, err)) < 0 ||
	        (r = apimsg_field_num(o, "cyclesPerPacket", C, &ret->cycles_per_packet, err)) < 0 ||
	        (r = apimsg_field_num(
	                 o, "busyCyclesPerPacket", C, &ret->busy_cycles_per_packet, err)) < 0 ||
	        (r = apimsg_field_obj(o, "oneCopyCycles", C, &oc, err)) < 0)
		return kb_err_prefix(err, "worker");
	if (!oc)
		return 0;
	ret->has_one_copy = true;
	if ((r = apimsg_field_u64(oc, "walk", false, C, &ret->oc_walk_cycles, err)) < 0 ||
	        (r = apimsg_field_u64(oc, "copy", false, C, &ret->oc_copy_cycles, err)) < 0 ||
	        (r = apimsg_field_u64(oc, "handBack", false, C, &ret->oc_hand_back_cycles, err)) <
	                0)
		return kb_err_prefix(err, "worker.oneCopyCycles");
	return 0;
}

json_t *apimsg_fp_stats_encode(const struct apimsg_fp_stats *s)
{
	json_t *o = json_pack("{s:I, s:I, s:o, s:o}", "tscHz", (json_int_t)s->tsc_hz, "monotonicNs",
	        (json_int_t)s->monotonic_ns, "workers", s->workers, "ports", s->ports);

	if (o && s->has_test_hooks &&
	        json_object_set_new(o, "testHooks",
	                json_pack("{s:I, s:I}", "stalls", (json_int_t)s->stalls, "lateAccesses",
	                        (json_int_t)s->late_accesses)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int apimsg_fp_stats_decode(json_t *res, struct apimsg_fp_stats *ret, struct kb_err *err)
{
	json_t *th;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!json_is_object(res))
		return kb_err_set(err, C, "the stats reply is not an object");
	if ((r = apimsg_field_u64(res, "tscHz", false, C, &ret->tsc_hz, err)) < 0 ||
	        (r = apimsg_field_u64(res, "monotonicNs", true, C, &ret->monotonic_ns, err)) < 0 ||
	        (r = array_field(res, "workers", true, &ret->workers, err)) < 0 ||
	        (r = array_field(res, "ports", true, &ret->ports, err)) < 0 ||
	        (r = apimsg_field_obj(res, "testHooks", C, &th, err)) < 0)
		return kb_err_prefix(err, "stats");
	if (!th)
		return 0;
	ret->has_test_hooks = true;
	if ((r = apimsg_field_u64(th, "stalls", false, C, &ret->stalls, err)) < 0 ||
	        (r = apimsg_field_u64(th, "lateAccesses", false, C, &ret->late_accesses, err)) < 0)
		return kb_err_prefix(err, "stats.testHooks");
	return 0;
}

/* ---- status section ---- */

json_t *apimsg_fp_status_encode(const struct apimsg_fp_status *s)
{
	json_t *o = json_pack(
	        "{s:b, s:s, s:b}", "enabled", s->enabled, "state", s->state, "healthy", s->healthy);
	int r = 0;

	if (!o)
		return NULL;
	apimsg_set_str(o, "note", s->note);
	apimsg_set_str(o, "error", s->error);
	if (s->memory) {
		r |= json_object_set_new(o, "memory", json_string(s->memory));
		r |= json_object_set_new(o, "copyMode", json_string(s->copy_mode));
		r |= json_object_set_new(o, "hugepages", json_boolean(s->hugepages));
		r |= json_object_set_new(o, "filePrefix", json_string(s->file_prefix));
	}
	if (s->running) {
		r |= int_array_encode(o, "workerCpus", s->worker_cpus,
		        s->n_worker_cpus < APIMSG_FP_MAX_WORKERS ? s->n_worker_cpus
		                                                 : APIMSG_FP_MAX_WORKERS);
		r |= json_object_set_new(o, "ports", json_integer(s->ports));
		r |= json_object_set_new(o, "connected", json_integer(s->connected));
		r |= json_object_set_new(
		        o, "uplink", s->uplink ? json_string(s->uplink) : json_null());
		apimsg_set_str(o, "uplinkNotes", s->uplink_notes);
		if (s->uplink)
			apimsg_set_str(o, "uplinkOffloads", s->uplink_offloads);
		r |= json_object_set_new(o, "idle",
		        json_pack("{s:i, s:i, s:s}", "polls", s->idle_polls, "sleepMaxUs",
		                s->idle_sleep_max_us, "wait",
		                s->idle_wait ? s->idle_wait : "sleep"));
		if (s->vlan_conflicts)
			r |= json_object_set_new(
			        o, "vlanConflicts", json_integer(s->vlan_conflicts));
	}
	if (r) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int apimsg_fp_status_decode(json_t *o, struct apimsg_fp_status *ret, struct kb_err *err)
{
	json_t *cpus, *idle, *v;
	size_t i;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!json_is_object(o))
		return kb_err_set(err, C, "'%s' is not an object", APIMSG_FP_STATUS_KEY);
	if ((r = apimsg_field_bool(o, "enabled", C, &ret->enabled, err)) < 0 ||
	        (r = apimsg_field_str(o, "state", true, SHORT_MAX, NULL, C, &ret->state, err)) <
	                0 ||
	        (r = apimsg_field_bool(o, "healthy", C, &ret->healthy, err)) < 0 ||
	        (r = apimsg_field_str(o, "note", false, TEXT_MAX, NULL, C, &ret->note, err)) < 0 ||
	        (r = apimsg_field_str(o, "error", false, TEXT_MAX, NULL, C, &ret->error, err)) <
	                0 ||
	        (r = apimsg_field_str(o, "memory", false, TEXT_MAX, NULL, C, &ret->memory, err)) <
	                0 ||
	        (r = apimsg_field_str(
	                 o, "copyMode", false, SHORT_MAX, NULL, C, &ret->copy_mode, err)) < 0 ||
	        (r = apimsg_field_bool(o, "hugepages", C, &ret->hugepages, err)) < 0 ||
	        (r = apimsg_field_str(
	                 o, "filePrefix", false, TEXT_MAX, NULL, C, &ret->file_prefix, err)) < 0 ||
	        (r = array_field(o, "workerCpus", false, &cpus, err)) < 0 ||
	        (r = apimsg_field_int(o, "ports", false, 0, INT64_MAX, C, &ret->ports, err)) < 0 ||
	        (r = apimsg_field_int(
	                 o, "connected", false, 0, INT64_MAX, C, &ret->connected, err)) < 0 ||
	        (r = apimsg_field_str(o, "uplink", false, TEXT_MAX, NULL, C, &ret->uplink, err)) <
	                0 ||
	        (r = apimsg_field_str(o, "uplinkNotes", false, TEXT_MAX, NULL, C,
	                 &ret->uplink_notes, err)) < 0 ||
	        (r = apimsg_field_str(o, "uplinkOffloads", false, TEXT_MAX, NULL, C,
	                 &ret->uplink_offloads, err)) < 0 ||
	        (r = apimsg_field_obj(o, "idle", C, &idle, err)) < 0 ||
	        (r = apimsg_field_int(o, "vlanConflicts", false, 0, INT64_MAX, C,
	                 &ret->vlan_conflicts, err)) < 0)
		return kb_err_prefix(err, APIMSG_FP_STATUS_KEY);
	if (idle && ((r = apimsg_field_int32(
	                      idle, "polls", 0, INT32_MAX, C, &ret->idle_polls, err)) < 0 ||
	                    (r = apimsg_field_int32(idle, "sleepMaxUs", 0, INT32_MAX, C,
	                             &ret->idle_sleep_max_us, err)) < 0 ||
	                    (r = apimsg_field_str(idle, "wait", false, SHORT_MAX, NULL, C,
	                             &ret->idle_wait, err)) < 0))
		return kb_err_prefix(err, APIMSG_FP_STATUS_KEY ".idle");
	ret->running = cpus != NULL;
	if (!cpus)
		return 0;
	if (json_array_size(cpus) > APIMSG_FP_MAX_WORKERS)
		return kb_err_set(err, C, "%s: 'workerCpus' has more than %d entries",
		        APIMSG_FP_STATUS_KEY, APIMSG_FP_MAX_WORKERS);
	json_array_foreach (cpus, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < -1 ||
		        json_integer_value(v) > INT32_MAX)
			return kb_err_set(err, C, "%s: 'workerCpus' must hold CPU numbers",
			        APIMSG_FP_STATUS_KEY);
		ret->worker_cpus[i] = (int)json_integer_value(v);
	}
	ret->n_worker_cpus = json_array_size(cpus);
	return 0;
}
