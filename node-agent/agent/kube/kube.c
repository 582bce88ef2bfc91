/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/kube/kube.h"
#include "agent/alloc.h"
#include "agent/kube/kcfg.h"
#include "agent/kube/kevent.h"
#include "agent/kube/kwatch.h"
#include "agent/loop.h"
#include "agent/module.h"
#include "agent/ops.h"
#include "agent/telemetry.h"
#include "common/log.h"
#include "common/str.h"
#include "common/validate.h"
#include "lib/curlev/curlev.h"
#include "api/apimsg_status.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- configuration ---- */

static void *cfg_parse(const struct cfg_node *node, struct kb_err *err)
{
	static const char *const keys[] = {"enabled", "nodeName", "kubeconfig", "context",
	        "tokenFile", "caFile", "gcGracePeriodSeconds", "gcIntervalSeconds",
	        "requestTimeoutSeconds", "watchTimeoutSeconds", "backoffMaxSeconds", "listPageSize",
	        "events", NULL};
	struct kube_cfg *c = calloc(1, sizeof(*c));
	struct cfg_node k;
	const char *why;

	if (!c) {
		kb_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	str_copy(c->token_file, sizeof(c->token_file), KCFG_SA_TOKEN);
	str_copy(c->ca_file, sizeof(c->ca_file), KCFG_SA_CA);
	c->gc_grace_s = 60;
	c->gc_interval_s = 10;
	c->request_timeout_s = 30;
	c->watch_timeout_s = 300;
	c->backoff_max_s = 30;
	c->list_page_size = 500;
	c->events = true;
	if (!node)
		return c;
	if (cfg_map_check(node, "kubernetes", keys, err) < 0)
		goto fail;
	if (cfg_opt_bool(node, "enabled", &c->enabled, err) < 0 ||
	        cfg_opt_bool(node, "events", &c->events, err) < 0 ||
	        cfg_opt_str(node, "nodeName", c->node_name, sizeof(c->node_name), err) < 0)
		goto fail;
	if (c->node_name[0] && !val_k8s_name(c->node_name, &why)) {
		cfg_map_get(node, "nodeName", &k);
		cfg_node_error(&k, "nodeName", err, "%s", why);
		goto fail;
	}
	if (cfg_opt_str(node, "context", c->context, sizeof(c->context), err) < 0 ||
	        cfg_opt_path(node, "kubeconfig", c->kubeconfig, sizeof(c->kubeconfig), true, err) <
	                0 ||
	        cfg_opt_path(node, "tokenFile", c->token_file, sizeof(c->token_file), false, err) <
	                0 ||
	        cfg_opt_path(node, "caFile", c->ca_file, sizeof(c->ca_file), false, err) < 0 ||
	        cfg_opt_uint(node, "gcGracePeriodSeconds", 0, 86400, &c->gc_grace_s, err) < 0 ||
	        cfg_opt_uint(node, "gcIntervalSeconds", 1, 3600, &c->gc_interval_s, err) < 0 ||
	        cfg_opt_uint(node, "requestTimeoutSeconds", 1, 600, &c->request_timeout_s, err) <
	                0 ||
	        cfg_opt_uint(node, "watchTimeoutSeconds", 1, 3600, &c->watch_timeout_s, err) < 0 ||
	        cfg_opt_uint(node, "backoffMaxSeconds", 1, 600, &c->backoff_max_s, err) < 0 ||
	        cfg_opt_uint(node, "listPageSize", 1, 5000, &c->list_page_size, err) < 0)
		goto fail;
	return c;
fail:
	free(c);
	return NULL;
}

static struct cfg_section kube_section = {.key = "kubernetes", .parse = cfg_parse, .free = free};
CFG_SECTION_REGISTER(kube_section)

const struct kube_cfg *kube_cfg(const struct cfg *cfg)
{
	return cfg_section_data(cfg, "kubernetes");
}

/* ---- state ---- */

/* An allocation whose pod was seen missing, and since when. */
struct missing {
	struct hmap_node node;
	char cid[VAL_CONTAINER_ID_MAX + 1];
	char ifname[VAL_IFNAME_MAX + 1];
	time_t since;
	bool mark;
};

static struct {
	bool running;
	struct kube_cfg cfg;
	char node[254];
	struct kcfg *kcfg;
	struct curlev *http;
	struct kwatch *watch;
	struct kevent *events;
	struct event *gc_ev;
	struct hmap missing;
	uint64_t gc_released, gc_runs;
	char init_error[256];
} kube = {.missing = HMAP_INITIALIZER(&kube.missing)};

static uint32_t key_hash(const char *cid, const char *ifname)
{
	return hash_str(ifname, hash_str(cid, 0));
}

static struct missing *missing_find(const struct alloc *a)
{
	struct missing *m;

	HMAP_FOR_EACH_WITH_HASH (m, node, key_hash(a->container_id, a->ifname), &kube.missing)
		if (!strcmp(m->cid, a->container_id) && !strcmp(m->ifname, a->ifname))
			return m;
	return NULL;
}

static void missing_clear(void)
{
	struct missing *m;

	HMAP_FOR_EACH_SAFE (m, node, &kube.missing) {
		hmap_remove(&kube.missing, &m->node);
		free(m);
	}
}

int kube_pod_present(const struct kwatch_pods *pods, const struct alloc *a)
{
	if (a->pod.uid && *a->pod.uid)
		return kwatch_pods_has_uid(pods, a->pod.uid);
	if (a->pod.ns && a->pod.name)
		return kwatch_pods_uid_of(pods, a->pod.ns, a->pod.name) != NULL;
	return -ENOENT;
}

/* ---- garbage collection ---- */

static void gc_run(void)
{
	time_t now = time(NULL);
	struct alloc *a, *next;
	struct missing *m;
	size_t released = 0;

	kube.gc_runs++;
	HMAP_FOR_EACH (m, node, &kube.missing)
		m->mark = false;
	for (a = alloc_first(); a; a = next) {
		int present = kube_pod_present(kwatch_pods(kube.watch), a);
		next = alloc_next(a);
		if (present != 0)
			continue;
		if (!(m = missing_find(a))) {
			if (!(m = calloc(1, sizeof(*m))))
				continue;
			str_copy(m->cid, sizeof(m->cid), a->container_id);
			str_copy(m->ifname, sizeof(m->ifname), a->ifname);
			m->since = now;
			hmap_insert(&kube.missing, &m->node, key_hash(m->cid, m->ifname));
			LOG_INFO(
			        "kubernetes: pod %s/%s (uid %s) of %.12s/%s is gone; releasing its "
			        "%s in %us unless it comes back",
			        a->pod.ns ? a->pod.ns : "?", a->pod.name ? a->pod.name : "?",
			        a->pod.uid ? a->pod.uid : "?", a->container_id, a->ifname,
			        a->device_id, kube.cfg.gc_grace_s);
		}
		m->mark = true;
		if (now - m->since >= (time_t)kube.cfg.gc_grace_s) {
			struct kb_err err = {0};
			LOG_WARN("kubernetes: releasing %s held by %.12s/%s: pod %s/%s is gone "
			         "since "
			         "%lds and no CNI DEL came",
			        a->device_id, a->container_id, a->ifname,
			        a->pod.ns ? a->pod.ns : "?", a->pod.name ? a->pod.name : "?",
			        (long)(now - m->since));
			/* Removal leaves the other nodes, so `next`, in place. */
			alloc_detach(a->container_id, a->ifname, NULL, &err);
			if (err.errnum)
				LOG_WARN("kubernetes: release: %s", err.msg);
			hmap_remove(&kube.missing, &m->node);
			free(m);
			released++;
		}
	}
	/* Entries whose allocation went away (DEL came, or the pod is back). */
	HMAP_FOR_EACH_SAFE (m, node, &kube.missing) {
		if (!m->mark) {
			hmap_remove(&kube.missing, &m->node);
			free(m);
		}
	}
	if (released)
		kube.gc_released += released;
}

static void on_gc(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	/* Absence means something only while the pod set is current. */
	if (kube.watch && kwatch_synced(kube.watch) && kube.cfg.gc_grace_s)
		gc_run();
}

static void sync_changed(void *ctx, bool synced)
{
	(void)ctx;
	/* Time spent out of sync does not count toward the grace period: start over. */
	if (!synced)
		missing_clear();
}

/* ---- events ---- */

static void attach_failed(const struct attach_req *req, const struct kb_err *err)
{
	struct kevent_pod pod = {req->pod.ns, req->pod.name, req->pod.uid};
	char msg[768];
	const char *why;

	if (!kube.running || !kube.events || !pod.ns || !pod.name)
		return;
	if (!val_k8s_namespace(pod.ns, &why) || !val_k8s_name(pod.name, &why))
		return;
	snprintf(msg, sizeof(msg), "kbnet: attaching %s (network %s, %s) failed: %s",
	        req->ifname ? req->ifname : "?", req->network ? req->network : "?",
	        req->devtype ? req->devtype : "?",
	        err->msg[0] ? err->msg : kb_errno_name(err->errnum));
	kevent_post(kube.events, &pod, "FailedAttach", msg);
}

static struct alloc_observer kube_observer = {.attach_failed = attach_failed};
static void __attribute__((constructor)) kube_register_observer(void)
{
	alloc_observer_register(&kube_observer);
}

/* ---- module ---- */

static void stop(void)
{
	kevent_free(kube.events);
	kwatch_stop(kube.watch);
	curlev_free(kube.http);
	kcfg_free(kube.kcfg);
	if (kube.gc_ev)
		event_free(kube.gc_ev);
	missing_clear();
	kube.events = NULL;
	kube.watch = NULL;
	kube.http = NULL;
	kube.kcfg = NULL;
	kube.gc_ev = NULL;
	kube.running = false;
}

static int start(const struct kube_cfg *c, struct kb_err *err)
{
	const char *node = c->node_name[0] ? c->node_name : getenv("NODE_NAME");
	struct timeval tv = {c->gc_interval_s, 0};
	const char *why;
	int r;

	kube.cfg = *c;
	if (!node || !*node)
		return kb_err_set(err, EINVAL,
		        "kubernetes.nodeName is not set and NODE_NAME is not in the environment");
	if (!val_k8s_name(node, &why))
		return kb_err_set(err, EINVAL, "node name '%s': %s", node, why);
	str_copy(kube.node, sizeof(kube.node), node);
	r = c->kubeconfig[0] ? kcfg_from_kubeconfig(c->kubeconfig, c->context, &kube.kcfg, err)
	                     : kcfg_in_cluster(c->token_file, c->ca_file, &kube.kcfg, err);
	if (r < 0)
		return r;
	if ((r = curlev_new(loop_base(), &kube.http, err)) < 0)
		goto fail;
	if (c->events) {
		struct kevent_opts eo = {
		        .base = loop_base(),
		        .node = kube.node,
		        .request_timeout_s = c->request_timeout_s,
		        .backoff_max_ms = c->backoff_max_s * 1000,
		        .dedup_s = 60,
		};
		if ((r = kevent_new(kube.http, kube.kcfg, &eo, &kube.events, err)) < 0)
			goto fail;
	}
	if (!(kube.gc_ev = event_new(loop_base(), -1, EV_PERSIST, on_gc, NULL)) ||
	        event_add(kube.gc_ev, &tv) < 0) {
		r = kb_err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	struct kwatch_opts wo = {
	        .base = loop_base(),
	        .node = kube.node,
	        .request_timeout_s = c->request_timeout_s,
	        .watch_timeout_s = c->watch_timeout_s,
	        .backoff_max_ms = c->backoff_max_s * 1000,
	        .page_size = c->list_page_size,
	        .sync_changed = sync_changed,
	};
	if ((r = kwatch_start(kube.http, kube.kcfg, &wo, &kube.watch, err)) < 0)
		goto fail;
	kube.running = true;
	LOG_INFO("kubernetes: watching pods of node %s on %s (token: %s); GC grace %us", kube.node,
	        kcfg_server(kube.kcfg), kcfg_token_source(kube.kcfg), c->gc_grace_s);
	return 0;
fail:
	stop();
	return r;
}

static int kube_init(const struct cfg *cfg, struct kb_err *err)
{
	const struct kube_cfg *c = kube_cfg(cfg);

	if (!c->enabled)
		return 0;
	return start(c, err);
}

static int kube_reload(const struct cfg *cfg, struct kb_err *err)
{
	const struct kube_cfg *c = kube_cfg(cfg);

	if (kube.running && memcmp(c, &kube.cfg, sizeof(*c)) == 0)
		return 0;
	stop();
	if (!c->enabled)
		return 0;
	return start(c, err);
}

static void kube_fini(void)
{
	stop();
}

static struct agent_module kube_module = {
        .name = "kubernetes",
        .order = 50,
        .init = kube_init,
        .reload = kube_reload,
        .fini = kube_fini,
};
MODULE_REGISTER(kube_module)

/* ---- status and metrics ---- */

static json_t *status(void)
{
	if (!kube.running)
		return apimsg_kube_status_encode(&(struct apimsg_kube_status){0});
	/* Losing the API server does not make the agent unhealthy: CNI keeps working. */
	return apimsg_kube_status_encode(&(struct apimsg_kube_status){
	        .enabled = true,
	        .node = kube.node,
	        .server = kcfg_server(kube.kcfg),
	        .token = kcfg_token_source(kube.kcfg),
	        .gc_grace_period_seconds = (int64_t)kube.cfg.gc_grace_s,
	        .gc_released = (int64_t)kube.gc_released,
	        .gc_pending = (int64_t)hmap_count(&kube.missing),
	        .watch = kwatch_status(kube.watch),
	        .events = kube.events ? kevent_status(kube.events) : NULL,
	});
}

static struct status_hook kube_status = {.key = APIMSG_STATUS_KUBERNETES, .fn = status};
STATUS_HOOK_REGISTER(kube_status)

static void collect(struct telemetry_sink *sink)
{
	static const struct telemetry_label none[] = {{NULL, NULL}};
	json_t *ev;

	if (!kube.running)
		return;
	sink->emit(sink, TELEMETRY_GAUGE, "kube_synced",
	        "1 while the pods of this node are known current (list done, watch open).", none,
	        kwatch_synced(kube.watch));
	sink->emit(sink, TELEMETRY_GAUGE, "kube_pods", "Pods of this node seen by the agent.", none,
	        kwatch_pod_count(kube.watch));
	sink->emit(sink, TELEMETRY_COUNTER, "kube_gc_released_total",
	        "Allocations released because their pod was gone for the grace period.", none,
	        kube.gc_released);
	sink->emit(sink, TELEMETRY_GAUGE, "kube_gc_pending",
	        "Allocations whose pod is gone, waiting out the grace period.", none,
	        hmap_count(&kube.missing));
	if (kube.events && (ev = kevent_status(kube.events))) {
		sink->emit(sink, TELEMETRY_COUNTER, "kube_events_posted_total",
		        "Kubernetes Events posted on pods.", none,
		        json_integer_value(json_object_get(ev, "posted")));
		sink->emit(sink, TELEMETRY_COUNTER, "kube_events_dropped_total",
		        "Kubernetes Events given up on (queue full, refused, retries exhausted).",
		        none, json_integer_value(json_object_get(ev, "dropped")));
		json_decref(ev);
	}
}

static struct telemetry_source kube_source = {.name = "kubernetes", .collect = collect};
TELEMETRY_SOURCE_REGISTER(kube_source)
