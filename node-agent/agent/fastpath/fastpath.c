/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fast-path module: ties the agent to the DPDK switch. It initialises the EAL and the
 * workers from the `fastpath:` section, adds a vhost-user port for each virtio-user
 * allocation (attach, restore) and removes it on detach, republishes the forwarding table
 * after each change, keeps virtio-user devices' health honest, and serves `ports` and
 * `stats` (API), a `fastpath` status section and telemetry.
 *
 * Without a `fastpath:` section nothing here touches DPDK.
 */
#include "agent/alloc.h"
#include "agent/config.h"
#include "agent/inventory.h"
#include "agent/loop.h"
#include "agent/module.h"
#include "agent/ops.h"
#include "agent/server.h"
#include "agent/telemetry.h"
#include "agent/kport.h"
#include "agent/vport.h"
#include "agent/fastpath/fp_config.h"
#include "agent/fastpath/fp_eal.h"
#include "agent/fastpath/fp_onecopy.h"
#include "agent/fastpath/fp_port.h"
#include "agent/fastpath/fp_switch.h"
#include "agent/fastpath/fp_tap.h"
#include "agent/fastpath/fp_worker.h"
#include "api/api.h"
#include "api/apimsg_fp.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>

enum fp_state { FP_DISABLED, FP_RUNNING, FP_FAILED };

static struct {
	enum fp_state state;
	const struct fp_cfg *cfg; /* the running configuration's section */
	struct fp_eal_info eal;
	char error[512];
	char stalled[160]; /* non-empty while a worker makes no progress */
	struct event *timer;
	uint64_t last_loops[FP_MAX_WORKERS];
	int64_t last_progress_ns[FP_MAX_WORKERS]; /* clock_mono_ns() */
	unsigned vlan_conflicts;
	bool workers_started;
} F;

static const char *state_name(enum fp_state s)
{
	return s == FP_RUNNING ? "running" : s == FP_FAILED ? "failed" : "disabled";
}

static bool is_vport(const struct alloc *a)
{
	return strcmp(a->ops->name, API_DEVTYPE_VIRTIO_USER) == 0;
}

static bool is_kport(const struct alloc *a)
{
	return strcmp(a->ops->name, API_DEVTYPE_KERNEL) == 0;
}

/* Device types whose traffic the fast path carries. */
static bool switched_type(const char *name)
{
	return !strcmp(name, API_DEVTYPE_VIRTIO_USER) || !strcmp(name, API_DEVTYPE_KERNEL);
}

/* ---- health ---- */

/* virtio-user devices can carry traffic only when the fast path runs (or is deliberately
 * off: then they are control-plane only, as configured). */
static void apply_health(void)
{
	bool ok = F.state != FP_FAILED && !F.stalled[0];
	const char *why = ok ? NULL : "fast path down";

	for (struct pool *p = inv_pool_first(); p; p = inv_pool_next(p)) {
		if (!switched_type(p->ops->name))
			continue;
		for (size_t i = 0; i < p->n_devs; i++)
			if (!p->devs[i]->gone)
				inv_device_set_health(p->devs[i], ok, why);
	}
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(F.error, sizeof(F.error), fmt, ap);
	va_end(ap);
	F.state = FP_FAILED;
	LOG_ERR("fastpath: %s; virtio-user devices are unhealthy", F.error);
	apply_health();
}

/* ---- table ---- */

static int republish(const struct fp_port *skip, struct kb_err *err)
{
	struct fp_port_desc *d;
	struct fp_table *t;
	size_t n;
	int r;

	if ((r = fp_port_descs(skip, &d, &n)) < 0)
		return kb_err_set(err, -r, "out of memory");
	r = fp_table_build(d, n, fp_worker_count(), &t, err);
	free(d);
	if (r < 0)
		return r;
	if (t->vlan_conflicts != F.vlan_conflicts && t->vlan_conflicts)
		LOG_WARN("fastpath: %u network(s) share an uplink VLAN with another network; "
		         "uplink frames of that VLAN go to the first one only",
		        t->vlan_conflicts);
	F.vlan_conflicts = t->vlan_conflicts;
	fp_worker_publish(t);
	return 0;
}

/* ---- ports for allocations ---- */

static int add_port(struct alloc *a, struct kb_err *err)
{
	const struct vport_alloc *v = vport_alloc_data(a);
	const struct fp_net_cfg *net;
	struct fp_port_info info = {0};
	struct fp_port *p;
	int r;

	str_copy(info.container_id, sizeof(info.container_id), a->container_id);
	str_copy(info.ifname, sizeof(info.ifname), a->ifname);
	str_copy(info.device_id, sizeof(info.device_id), a->device_id);
	str_copy(info.network, sizeof(info.network), a->network);
	if (a->pod.ns && a->pod.name)
		snprintf(info.pod, sizeof(info.pod), "%s/%s", a->pod.ns, a->pod.name);
	if (str_copy(info.path, sizeof(info.path), v->socket_path) < 0 || !info.path[0])
		return kb_err_set(err, EINVAL, "allocation has no vhost-user socket path");
	info.agent_server = v->mode == VPORT_AGENT_SERVER;
	info.queues = v->queues ? v->queues : 1;
	memcpy(info.mac, a->mac.b, 6);
	info.mtu = a->mtu ? (unsigned)a->mtu : 1500;
	info.vlan = a->vlan >= 0 ? a->vlan : FP_VLAN_NONE;
	info.offloads = a->dev && a->dev->pool && vport_pool_cfg(a->dev->pool)->offloads;
	if ((net = fp_cfg_network(F.cfg, info.network))) {
		info.pcp = net->pcp;
		info.has_trunk = net->has_trunk;
		memcpy(info.trunk, net->trunk, sizeof(info.trunk));
	}
	if ((r = fp_port_add_vhost(&info, &p, err)) < 0)
		return r;
	if ((r = republish(NULL, err)) < 0) {
		fp_port_remove(p);
		return r;
	}
	LOG_INFO("fastpath: port %s (slot %u) network %s vlan %d mac %02x:%02x:%02x:%02x:%02x:%02x "
	         "vhost-user %s %s, %u queue(s)",
	        fp_port_name(p), fp_port_slot(p), info.network, a->vlan, info.mac[0], info.mac[1],
	        info.mac[2], info.mac[3], info.mac[4], info.mac[5],
	        info.agent_server ? "server" : "client", info.path, info.queues);
	return 0;
}

/* A kernel pod's TAP: the provider holds its queues; the port works on copies of them. */
static int add_tap_port(struct alloc *a, struct kb_err *err)
{
	const struct kport_alloc *k = kport_alloc_data(a);
	const struct fp_net_cfg *net;
	struct fp_port_info info = {0};
	struct fp_port *p;
	int r;

	if (!k->n_fds)
		return kb_err_set(err, ENODEV, "the agent holds no queue of the TAP");
	str_copy(info.container_id, sizeof(info.container_id), a->container_id);
	str_copy(info.ifname, sizeof(info.ifname), a->ifname);
	str_copy(info.device_id, sizeof(info.device_id), a->device_id);
	str_copy(info.network, sizeof(info.network), a->network);
	if (a->pod.ns && a->pod.name)
		snprintf(info.pod, sizeof(info.pod), "%s/%s", a->pod.ns, a->pod.name);
	info.queues = k->n_fds;
	memcpy(info.mac, a->mac.b, 6);
	info.mtu = a->mtu ? (unsigned)a->mtu : 1500;
	info.vlan = a->vlan >= 0 ? a->vlan : FP_VLAN_NONE;
	info.offloads = k->offloads;
	if ((net = fp_cfg_network(F.cfg, info.network))) {
		info.pcp = net->pcp;
		info.has_trunk = net->has_trunk;
		memcpy(info.trunk, net->trunk, sizeof(info.trunk));
	}
	if ((r = fp_port_add_tap(
	             &info, k->fds, k->io == KPORT_IO_SYSCALL, fp_eal_mempool(), &p, err)) < 0)
		return r;
	if ((r = republish(NULL, err)) < 0) {
		fp_port_remove(p);
		return r;
	}
	LOG_INFO("fastpath: port %s (slot %u) network %s vlan %d kernel TAP, %u queue(s), "
	         "offloads %s, io %s",
	        fp_port_name(p), fp_port_slot(p), info.network, a->vlan, info.queues,
	        info.offloads ? "on" : "off", kport_io_name(k->io));
	return 0;
}

static void remove_port(const char *cid, const char *ifname)
{
	struct fp_port *p = fp_port_find(cid, ifname);
	struct kb_err err = {0};
	char name[160];

	if (!p)
		return;
	str_copy(name, sizeof(name), fp_port_name(p));
	/* Workers leave the port first, then the vhost device goes. */
	if (republish(p, &err) < 0) {
		LOG_ERR("fastpath: removing %s: %s", name, err.msg);
		return;
	}
	fp_port_remove(p);
	LOG_INFO("fastpath: port %s removed", name);
}

static int on_attached(struct alloc *a, struct kb_err *err)
{
	struct fp_port *old;

	if (F.state != FP_RUNNING)
		return 0;
	if (is_kport(a))
		return add_tap_port(a, err);
	if (!is_vport(a))
		return 0;
	/* A new sandbox of the same pod reuses the socket path before the old sandbox's DEL:
	 * vport gave the path to the new attachment, so the old port cannot carry traffic any
	 * more. Retire it (its DEL later finds no port). */
	old = fp_port_find_path(vport_alloc_data(a)->socket_path);
	if (old) {
		LOG_INFO("fastpath: %s takes over %s from %.12s/%s", a->container_id,
		        vport_alloc_data(a)->socket_path, fp_port_container_id(old),
		        fp_port_ifname(old));
		remove_port(fp_port_container_id(old), fp_port_ifname(old));
	}
	return add_port(a, err);
}

static void on_detached(struct alloc *a)
{
	const struct vport_alloc *v;

	if (F.state == FP_RUNNING && is_kport(a))
		remove_port(a->container_id, a->ifname);
	if (F.state != FP_RUNNING || !is_vport(a))
		return;
	remove_port(a->container_id, a->ifname);
	/* The path went back to the older attachment still holding it (vport's claims): it gets
	 * its port again. Only paths that were ever shared need the walk. */
	v = vport_alloc_data(a);
	if (!v->shared)
		return;
	for (struct alloc *o = alloc_first(); o; o = alloc_next(o)) {
		const struct vport_alloc *ov;
		struct kb_err err = {0};
		if (o == a || !is_vport(o))
			continue;
		ov = vport_alloc_data(o);
		if (!ov->owns_socket || strcmp(ov->socket_path, v->socket_path) ||
		        fp_port_find(o->container_id, o->ifname))
			continue;
		if (add_port(o, &err) < 0)
			LOG_WARN("fastpath: giving %s back to %.12s/%s: %s", v->socket_path,
			        o->container_id, o->ifname, err.msg);
	}
}

static struct alloc_observer observer = {
        .attached = on_attached, .detached = on_detached,
        /* Restored allocations are loaded before modules start: init walks them. */
};

static void pool_event(struct pool *p)
{
	if (F.state == FP_FAILED && switched_type(p->ops->name))
		apply_health();
}

static struct inv_observer inv_obs = {
        .pool_changed = pool_event,
        .pool_added = pool_event,
};

/* ---- watchdog ---- */

static void stall_set(const char *msg)
{
	bool was = F.stalled[0] != '\0';

	if (msg) {
		str_copy(F.stalled, sizeof(F.stalled), msg);
		if (!was)
			LOG_ERR("fastpath: %s; virtio-user devices are unhealthy until it recovers",
			        msg);
	} else {
		F.stalled[0] = '\0';
		if (was)
			LOG_INFO("fastpath: workers make progress again; devices healthy");
	}
	if (was != (msg != NULL))
		apply_health();
}

/* Watchdog: a worker lcore that exits fails the fast path for good; one that makes no
 * progress for watchdogMs (a deadlock, or starved of CPU) makes devices unhealthy until it
 * moves again. */
static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	int64_t now;
	/* A sleeping worker is quiet for at most idleSleepMaxUs. */
	double limit = F.cfg->watchdog_ms / 1e3 + 3.0 * F.cfg->idle_sleep_max_us / 1e6;
	char msg[160];

	(void)fd;
	(void)what;
	(void)arg;
	if (F.state != FP_RUNNING)
		return;
	now = clock_mono_ns();
	for (unsigned w = 0; w < fp_worker_count(); w++) {
		struct fp_wstats s;
		if (!fp_worker_alive(w)) {
			fail("worker %u (lcore %u) stopped", w, fp_worker_lcore(w));
			return;
		}
		fp_worker_stats(w, &s);
		if (s.loops != F.last_loops[w]) {
			F.last_loops[w] = s.loops;
			F.last_progress_ns[w] = now;
		} else if ((now - F.last_progress_ns[w]) / 1e9 > limit) {
			snprintf(msg, sizeof(msg),
			        "worker %u (lcore %u) made no progress for %.1fs", w,
			        fp_worker_lcore(w), limit);
			stall_set(msg);
			return;
		}
	}
	stall_set(NULL);
}

/* ---- module ---- */

static int fp_init(const struct cfg *cfg, struct kb_err *err)
{
	const struct fp_cfg *c = fp_cfg_get(cfg);
	struct kb_err e = {0};
	struct timeval tv;
	int r;

	(void)err;
	memset(&F, 0, sizeof(F));
	F.cfg = c;
	if (!c->present || !c->enabled) {
		F.state = FP_DISABLED;
		LOG_INFO("fastpath: disabled (%s); virtio-user devices are control-plane only",
		        c->present ? "enabled: false" : "no fastpath section");
		return 0;
	}
	if ((r = fp_eal_init(c, &F.eal, &e)) < 0) {
		fail("%s", e.msg);
		return 0;
	}
	LOG_INFO("fastpath: DPDK up, file prefix %s, memory: %s", F.eal.file_prefix,
	        F.eal.memory_desc);
	fp_oc_set_enabled(c->one_copy);
	if ((r = fp_tap_init(F.eal.n_workers)) < 0) {
		fail("TAP ports: %s", strerror(-r));
		return 0;
	}
	if (fp_tap_uring_note()[0])
		LOG_WARN("fastpath: %s", fp_tap_uring_note());
	if ((r = fp_port_init(c->max_ports, F.eal.n_workers, &e)) < 0 ||
	        (r = fp_worker_init(&(struct fp_worker_params){.n_workers = F.eal.n_workers,
	                                    .lcores = F.eal.worker_lcore,
	                                    .burst = c->burst,
	                                    .idle_polls = c->idle_polls,
	                                    .idle_sleep_max_us = c->idle_sleep_max_us,
	                                    .idle_events = c->idle_events,
	                                    .pool = fp_eal_mempool(),
	                                    .indirect_mbufs = c->mbufs},
	                 &e)) < 0) {
		fail("%s", e.msg);
		return 0;
	}
	if (c->uplink.devargs[0] &&
	        (r = fp_port_add_uplink(c->uplink.devargs, c->uplink.mtu, c->uplink.rx_desc,
	                 c->uplink.tx_desc, F.eal.n_workers, fp_eal_mempool(), &e)) < 0) {
		fail("%s", e.msg);
		return 0;
	}
	if ((r = republish(NULL, &e)) < 0 || (r = fp_worker_start(&e)) < 0) {
		fail("%s", e.msg);
		return 0;
	}
	F.workers_started = true;
	F.state = FP_RUNNING;
	for (unsigned w = 0; w < F.eal.n_workers; w++) {
		F.last_progress_ns[w] = clock_mono_ns();
		LOG_INFO("fastpath: worker %u on lcore %u, CPU %d", w, F.eal.worker_lcore[w],
		        F.eal.worker_cpu[w]);
	}
	/* Allocations restored from the state journal get their ports back. */
	for (struct alloc *a = alloc_first(); a; a = alloc_next(a)) {
		if (is_kport(a) && a->dev) {
			kb_err_clear(&e);
			if (add_tap_port(a, &e) < 0)
				LOG_ERR("fastpath: restoring %s/%s: %s", a->container_id, a->ifname,
				        e.msg);
			continue;
		}
		/* Of attachments sharing a socket path (sandboxes of one pod), the owner's. */
		if (!is_vport(a) || !a->dev || !vport_alloc_data(a)->owns_socket)
			continue;
		kb_err_clear(&e);
		if (add_port(a, &e) < 0)
			LOG_ERR("fastpath: restoring %s/%s: %s", a->container_id, a->ifname, e.msg);
	}
	if (c->uplink.devargs[0])
		LOG_INFO("fastpath: uplink %s, MTU %u", c->uplink.devargs, c->uplink.mtu);
	else
		LOG_INFO("fastpath: no uplink (pod-to-pod only)");
	F.timer = event_new(loop_base(), -1, EV_PERSIST, on_timer, NULL);
	tv.tv_sec = c->stats_interval_ms / 1000;
	tv.tv_usec = (c->stats_interval_ms % 1000) * 1000;
	if (F.timer)
		event_add(F.timer, &tv);
	apply_health();
	return 0;
}

static int fp_reload(const struct cfg *cfg, struct kb_err *err)
{
	const struct fp_cfg *c = fp_cfg_get(cfg);

	(void)err;
	if (fp_cfg_needs_restart(F.cfg, c))
		LOG_WARN("fastpath: EAL, worker, memory, uplink and networks settings take effect "
		         "at the next "
		         "restart; idle settings apply now");
	if (F.state == FP_RUNNING)
		fp_worker_set_idle(c->idle_polls, c->idle_sleep_max_us, c->idle_events);
	F.cfg = c;
	/* Rediscovery may have brought new devices: keep their health in line. */
	apply_health();
	return 0;
}

static void fp_fini(void)
{
	if (F.timer)
		event_free(F.timer);
	F.timer = NULL;
	if (F.state == FP_DISABLED)
		return;
	/* Stop the workers before their ports go. */
	fp_worker_fini();
	fp_port_fini();
	fp_tap_fini();
	fp_eal_fini();
	F.state = FP_DISABLED;
}

static struct agent_module fp_module = {
        .name = "fastpath",
        .order = 10,
        .init = fp_init,
        .reload = fp_reload,
        .fini = fp_fini,
};
MODULE_REGISTER(fp_module)

static void __attribute__((constructor)) fp_register_observers(void)
{
	alloc_observer_register(&observer);
	inv_observer_register(&inv_obs);
}

/* ---- API (messages: api/apimsg_fp.h) ---- */

static void counters_fill(const struct fp_stats *s, struct apimsg_fp_counters *c)
{
	*c = (struct apimsg_fp_counters){
	        .rx_packets = s->rx_packets,
	        .rx_bytes = s->rx_bytes,
	        .tx_packets = s->tx_packets,
	        .tx_bytes = s->tx_bytes,
	        .drops =
	                {
	                        [APIMSG_FP_DROP_SPOOF] = s->drop_spoof,
	                        [APIMSG_FP_DROP_OVERSIZE] = s->drop_oversize,
	                        [APIMSG_FP_DROP_UNKNOWN] = s->drop_unknown,
	                        [APIMSG_FP_DROP_TX_FULL] = s->drop_tx_full,
	                        [APIMSG_FP_DROP_DOWN] = s->drop_down,
	                        [APIMSG_FP_DROP_NO_MBUF] = s->drop_nomem,
	                        [APIMSG_FP_DROP_RUNT] = s->drop_runt,
	                        [APIMSG_FP_DROP_VLAN] = s->drop_vlan,
	                        [APIMSG_FP_DROP_OFFLOAD] = s->drop_offload,
	                },
	        .rx_gso_packets = s->rx_gso_packets,
	        .rx_gso_bytes = s->rx_gso_bytes,
	        .tx_gso_sw = s->tx_gso_sw,
	        .tx_gso_segments = s->tx_gso_segments,
	        .tx_csum_sw = s->tx_csum_sw,
	};
}

static json_t *port_json(const struct fp_port *p)
{
	const struct fp_port_info *i = fp_port_info(p);
	const uint8_t *qw = fp_port_queue_workers(p);
	struct apimsg_fp_port *m;
	struct fp_stats s;
	char mac[MAC_STR_LEN], feat[128];
	json_t *o;

	/* A port message holds a VLAN bitmap: too big for the stack of every caller. */
	if (!(m = calloc(1, sizeof(*m))))
		return NULL;
	fp_port_stats(p, &s);
	m->slot = fp_port_slot(p);
	m->name = fp_port_name(p);
	m->kind = fp_port_kind(p) == FP_PORT_UPLINK ? APIMSG_FP_PORT_UPLINK
	          : fp_port_kind(p) == FP_PORT_TAP  ? APIMSG_FP_PORT_TAP
	                                            : APIMSG_FP_PORT_VHOST_USER;
	m->connected = fp_port_connected(p);
	m->queues = i->queues;
	m->mtu = (int)i->mtu;
	counters_fill(&s, &m->stats);
	for (uint16_t q = 0; q < i->queues && q < APIMSG_FP_MAX_QUEUES; q++)
		m->queue_workers[m->n_queue_workers++] = qw[q];
	if (m->kind == APIMSG_FP_PORT_UPLINK) {
		m->device = i->device_id;
		m->devargs = F.cfg->uplink.devargs;
		m->notes = fp_port_uplink_notes()[0] ? fp_port_uplink_notes() : NULL;
		m->uplink_offloads = fp_port_uplink_offloads();
		goto encode;
	}
	mac_format(
	        &(struct mac){{i->mac[0], i->mac[1], i->mac[2], i->mac[3], i->mac[4], i->mac[5]}},
	        mac);
	m->container_id = i->container_id;
	m->ifname = i->ifname;
	m->device_id = i->device_id;
	m->network = i->network;
	m->pod = i->pod[0] ? i->pod : NULL;
	m->mac = mac;
	m->vlan = i->vlan != FP_VLAN_NONE ? i->vlan : -1;
	m->vlan_qos = i->pcp;
	if (m->kind == APIMSG_FP_PORT_TAP) {
		m->netdev = i->ifname;
		m->io = fp_port_tap_io(p);
	} else {
		m->socket_path = i->path;
		m->agent_mode = i->agent_server ? "server" : "client";
	}
	m->has_active_queues = true;
	m->active_queues = fp_port_active_queues(p);
	m->queues_beyond_pool = fp_port_excess_queues(p);
	m->has_trunk = i->has_trunk;
	if (i->has_trunk)
		memcpy(m->trunk, i->trunk,
		        sizeof(m->trunk) < sizeof(i->trunk) ? sizeof(m->trunk) : sizeof(i->trunk));
	m->connects = fp_port_connects(p);
	m->offloads = i->offloads;
	if (i->offloads) {
		fp_port_offload_desc(p, feat, sizeof(feat));
		m->offload_features = feat;
	}
encode:
	o = apimsg_fp_port_encode(m);
	free(m);
	return o;
}

static json_t *ports_json(void)
{
	json_t *arr = json_array();

	if (F.state != FP_RUNNING)
		return arr;
	for (struct fp_port *p = fp_port_first(); p; p = fp_port_next(p))
		json_array_append_new(arr, port_json(p));
	return arr;
}

static json_t *workers_json(void)
{
	json_t *arr = json_array();

	if (F.state != FP_RUNNING)
		return arr;
	for (unsigned w = 0; w < fp_worker_count(); w++) {
		struct fp_wstats s;
		fp_worker_stats(w, &s);
		json_array_append_new(arr, apimsg_fp_worker_encode(&(struct apimsg_fp_worker){
		                                   .id = (int)w,
		                                   .lcore = (int)fp_worker_lcore(w),
		                                   .cpu = F.eal.worker_cpu[w],
		                                   .busy_cycles = s.busy_cycles,
		                                   .work_cycles = s.work_cycles,
		                                   .idle_cycles = s.idle_cycles,
		                                   .sleep_cycles = s.sleep_cycles,
		                                   .packets = s.packets,
		                                   .loops = s.loops,
		                                   .sleeps = s.sleeps,
		                                   .wakes = s.wakes,
		                                   .has_one_copy = fp_oc_enabled(),
		                                   .oc_walk_cycles = s.oc_walk_cycles,
		                                   .oc_copy_cycles = s.oc_copy_cycles,
		                                   .oc_hand_back_cycles = s.oc_done_cycles,
		                           }));
	}
	return arr;
}

static int fp_not_running(struct srv_call *call)
{
	if (F.state == FP_DISABLED)
		return kb_err_set(&call->err, ENODEV,
		        "the fast path is disabled (no fastpath section in %s)",
		        "the configuration");
	return kb_err_set(&call->err, EIO, "the fast path failed: %s", F.error);
}

static int op_ports(struct srv_call *call, json_t *args, json_t **ret)
{
	(void)args;
	if (F.state != FP_RUNNING)
		return fp_not_running(call);
	*ret = apimsg_fp_ports_result_encode(ports_json());
	return 0;
}
static struct srv_handler h_ports = {.op = APIMSG_FP_OP_PORTS, .fn = op_ports};
SRV_HANDLER_REGISTER(h_ports)

static int op_stats(struct srv_call *call, json_t *args, json_t **ret)
{
	struct apimsg_fp_stats st = {0};

	(void)args;
	if (F.state != FP_RUNNING)
		return fp_not_running(call);
	st.tsc_hz = rte_get_tsc_hz();
	st.monotonic_ns = clock_mono_ns();
	st.workers = workers_json();
	st.ports = ports_json();
	st.has_test_hooks = fp_worker_test_counts(&st.stalls, &st.late_accesses);
	*ret = apimsg_fp_stats_encode(&st);
	return 0;
}
static struct srv_handler h_stats = {.op = APIMSG_FP_OP_STATS, .fn = op_stats};
SRV_HANDLER_REGISTER(h_stats)

/* ---- status ---- */

static json_t *fp_status(void)
{
	struct apimsg_fp_status st = {
	        .enabled = F.state != FP_DISABLED,
	        .state = state_name(F.state),
	        .healthy = F.state != FP_FAILED && !F.stalled[0],
	};

	if (F.state == FP_DISABLED) {
		st.note = "no DPDK: virtio-user devices are allocated without a data path";
		return apimsg_fp_status_encode(&st);
	}
	if (F.state == FP_FAILED)
		st.error = F.error;
	if (F.stalled[0])
		st.error = F.stalled;
	if (F.eal.memory_desc[0]) {
		st.memory = F.eal.memory_desc;
		st.copy_mode = fp_oc_enabled() ? "one" : "two";
		st.hugepages = F.eal.hugepages;
		st.file_prefix = F.eal.file_prefix;
	}
	if (F.state != FP_RUNNING)
		return apimsg_fp_status_encode(&st);
	st.running = true;
	for (unsigned w = 0; w < F.eal.n_workers && w < APIMSG_FP_MAX_WORKERS; w++)
		st.worker_cpus[st.n_worker_cpus++] = F.eal.worker_cpu[w];
	for (struct fp_port *p = fp_port_first(); p; p = fp_port_next(p))
		st.connected += fp_port_connected(p);
	st.ports = fp_port_count();
	st.uplink = F.cfg->uplink.devargs[0] ? F.cfg->uplink.devargs : NULL;
	st.uplink_notes = fp_port_uplink_notes()[0] ? fp_port_uplink_notes() : NULL;
	st.uplink_offloads = fp_port_uplink_offloads();
	st.idle_polls = F.cfg->idle_polls;
	st.idle_sleep_max_us = F.cfg->idle_sleep_max_us;
	st.idle_wait = F.cfg->idle_events ? "events" : "sleep";
	st.vlan_conflicts = F.vlan_conflicts;
	return apimsg_fp_status_encode(&st);
}
static struct status_hook status_hook = {.key = APIMSG_FP_STATUS_KEY, .fn = fp_status};
STATUS_HOOK_REGISTER(status_hook)

/* ---- telemetry ---- */

/* Prometheus conventions: counters end in _total, the drop reasons are one family with a
 * `reason` label (sum() gives all drops), port series carry the pod's namespace and name. */
static void collect(struct telemetry_sink *sink)
{
	static const struct {
		const char *name, *help, *reason;
		size_t off;
	} m[] = {
#define F_(n, h, r, f) {n, h, r, offsetof(struct fp_stats, f)}
	        F_("fastpath_port_rx_packets_total", "Frames received from the port.", NULL,
	                rx_packets),
	        F_("fastpath_port_rx_bytes_total", "Bytes received from the port.", NULL, rx_bytes),
	        F_("fastpath_port_tx_packets_total", "Frames sent to the port.", NULL, tx_packets),
	        F_("fastpath_port_tx_bytes_total", "Bytes sent to the port.", NULL, tx_bytes),
#define DROPS "fastpath_port_dropped_packets_total"
#define DROPS_HELP                                                                           \
	"Frames the switch dropped, by reason: spoof (source MAC not the port's), oversize " \
	"(over the MTU), unknown_destination, tx_full (destination ring full), down "        \
	"(destination not connected), no_mbuf (no buffer for a flood copy), vlan (a tag of " \
	"the pod's own that its network does not trunk), offload (a checksum/segmentation "  \
	"request the switch cannot honour)."
	        F_(DROPS, DROPS_HELP, "spoof", drop_spoof),
	        F_(DROPS, DROPS_HELP, "oversize", drop_oversize),
	        F_(DROPS, DROPS_HELP, "unknown_destination", drop_unknown),
	        F_(DROPS, DROPS_HELP, "tx_full", drop_tx_full),
	        F_(DROPS, DROPS_HELP, "down", drop_down),
	        F_(DROPS, DROPS_HELP, "no_mbuf", drop_nomem),
	        F_(DROPS, DROPS_HELP, "vlan", drop_vlan),
	        F_(DROPS, DROPS_HELP, "offload", drop_offload),
	        F_("fastpath_port_rx_gso_packets_total",
	                "GSO (TSO) frames received whole from the port.", NULL, rx_gso_packets),
	        F_("fastpath_port_rx_gso_bytes_total",
	                "Bytes of GSO frames received from the port.", NULL, rx_gso_bytes),
	        F_("fastpath_port_tx_gso_software_total",
	                "GSO frames segmented in software for the port (it does not take them "
	                "whole).",
	                NULL, tx_gso_sw),
	        F_("fastpath_port_tx_gso_segments_total", "Segments made in software for the port.",
	                NULL, tx_gso_segments),
	        F_("fastpath_port_tx_csum_software_total",
	                "Frames whose L4 checksum the switch completed in software for the port.",
	                NULL, tx_csum_sw),
#undef DROPS
#undef DROPS_HELP
#undef F_
	};

	if (F.state != FP_RUNNING)
		return;
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		for (struct fp_port *p = fp_port_first(); p; p = fp_port_next(p)) {
			const struct fp_port_info *inf = fp_port_info(p);
			const char *slash = strchr(inf->pod, '/');
			char pod_ns[256] = "";
			struct fp_stats s;
			if (slash)
				snprintf(pod_ns, sizeof(pod_ns), "%.*s", (int)(slash - inf->pod),
				        inf->pod);
			const struct telemetry_label labels[] = {{"port", fp_port_name(p)},
			        {"network", inf->network}, {"device", inf->device_id},
			        {"pod_namespace", pod_ns}, {"pod_name", slash ? slash + 1 : ""},
			        {m[i].reason ? "reason" : NULL, m[i].reason}, {NULL, NULL}};
			fp_port_stats(p, &s);
			sink->emit(sink, TELEMETRY_COUNTER, m[i].name, m[i].help, labels,
			        (double)*(const uint64_t *)((const char *)&s + m[i].off));
		}
	}
	static const char *const wn[] = {"fastpath_worker_busy_cycles_total",
	        "fastpath_worker_idle_cycles_total", "fastpath_worker_packets_total",
	        "fastpath_worker_work_cycles_total", "fastpath_worker_sleeps_total",
	        "fastpath_worker_wakes_total"};
	static const char *const wh[] = {"TSC cycles in loops that moved packets.",
	        "TSC cycles in empty loops and sleeps.", "Frames handled by the worker.",
	        "TSC cycles in polls that returned packets (receive to transmit).",
	        "Times the worker went to sleep (idlePolls empty polls).",
	        "Sleeps a port's traffic ended before their timeout (idleWait: events)."};
	for (unsigned k = 0; k < sizeof(wn) / sizeof(wn[0]); k++) {
		for (unsigned w = 0; w < fp_worker_count(); w++) {
			struct fp_wstats s;
			char id[16];
			fp_worker_stats(w, &s);
			snprintf(id, sizeof(id), "%u", w);
			const struct telemetry_label labels[] = {{"worker", id}, {NULL, NULL}};
			double v[] = {s.busy_cycles, s.idle_cycles, s.packets, s.work_cycles,
			        s.sleeps, s.wakes};
			sink->emit(sink, TELEMETRY_COUNTER, wn[k], wh[k], labels, v[k]);
		}
	}
}
static struct telemetry_source tsrc = {.name = "fastpath", .collect = collect};
TELEMETRY_SOURCE_REGISTER(tsrc)
