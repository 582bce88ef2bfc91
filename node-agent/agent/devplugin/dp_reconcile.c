/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/devplugin/dp_reconcile.h"
#include "agent/devplugin/dp_client.h"
#include "agent/devplugin/dp_module.h"
#include "agent/devplugin/dp_plugin.h"
#include "agent/inventory.h"
#include "agent/loop.h"
#include "common/clock.h"
#include "common/hmap.h"
#include "common/log.h"
#include "common/str.h"
#include "api/apimsg_status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* PodResources replies list every pod on the node; 64 MiB is far beyond any real node. */
#define MAX_REPLY (64 * 1024 * 1024)

/* ---- the index over one List reply ---- */

struct pr_entry {
	struct hmap_node node;
	const char *a, *b; /* (resource, device) or (namespace, pod) or (ns/pod, resource) */
	const char *c;
	const char *ns, *pod; /* assigned: the pod kubelet gave the device to */
};

struct dp_podres {
	struct hmap assigned; /* resource + device -> a live pod holds it */
	struct hmap pods;     /* namespace + name */
	struct hmap pod_res;  /* namespace + name + resource: the pod holds some of it */
	struct pr_entry *entries;
	size_t n, cap;
};

static uint32_t hash3(const char *a, const char *b, const char *c)
{
	return hash_str(c ? c : "", hash_str(b, hash_str(a, 0)));
}

static struct pr_entry *pr_find(const struct hmap *h, const char *a, const char *b, const char *c)
{
	struct pr_entry *e;

	HMAP_FOR_EACH_WITH_HASH (e, node, hash3(a, b, c), h)
		if (!strcmp(e->a, a) && !strcmp(e->b, b) && !strcmp(e->c ? e->c : "", c ? c : ""))
			return e;
	return NULL;
}

/* Entries point into the reply, which outlives the index. */
static struct pr_entry *pr_add(
        struct dp_podres *pr, struct hmap *h, const char *a, const char *b, const char *c)
{
	struct pr_entry *e;

	if ((e = pr_find(h, a, b, c)))
		return e;
	e = &pr->entries[pr->n++];
	e->a = a;
	e->b = b;
	e->c = c;
	hmap_insert(h, &e->node, hash3(a, b, c));
	return e;
}

int dp_podres_new(const V1__ListPodResourcesResponse *r, struct dp_podres **ret)
{
	struct dp_podres *pr = calloc(1, sizeof(*pr));
	size_t n = 0;

	if (!pr)
		return -ENOMEM;
	hmap_init(&pr->assigned);
	hmap_init(&pr->pods);
	hmap_init(&pr->pod_res);
	for (size_t i = 0; i < r->n_pod_resources; i++) {
		const V1__PodResources *p = r->pod_resources[i];
		n++;
		for (size_t j = 0; j < p->n_containers; j++)
			for (size_t k = 0; k < p->containers[j]->n_devices; k++)
				n += 1 + p->containers[j]->devices[k]->n_device_ids;
	}
	if (!(pr->entries = calloc(n ? n : 1, sizeof(*pr->entries)))) {
		dp_podres_free(pr);
		return -ENOMEM;
	}
	pr->cap = n;
	for (size_t i = 0; i < r->n_pod_resources; i++) {
		const V1__PodResources *p = r->pod_resources[i];
		pr_add(pr, &pr->pods, p->namespace_, p->name, NULL);
		for (size_t j = 0; j < p->n_containers; j++) {
			for (size_t k = 0; k < p->containers[j]->n_devices; k++) {
				const V1__ContainerDevices *cd = p->containers[j]->devices[k];
				if (cd->n_device_ids)
					pr_add(pr, &pr->pod_res, p->namespace_, p->name,
					        cd->resource_name);
				for (size_t l = 0; l < cd->n_device_ids; l++) {
					struct pr_entry *e = pr_add(pr, &pr->assigned,
					        cd->resource_name, cd->device_ids[l], NULL);
					if (!e->ns) { /* kubelet gives a device to one pod */
						e->ns = p->namespace_;
						e->pod = p->name;
					}
				}
			}
		}
	}
	*ret = pr;
	return 0;
}

void dp_podres_free(struct dp_podres *pr)
{
	if (!pr)
		return;
	hmap_destroy(&pr->assigned);
	hmap_destroy(&pr->pods);
	hmap_destroy(&pr->pod_res);
	free(pr->entries);
	free(pr);
}

bool dp_podres_assigned(const struct dp_podres *pr, const char *resource, const char *id)
{
	return pr_find(&pr->assigned, resource, id, NULL) != NULL;
}

bool dp_podres_owner(const struct dp_podres *pr, const char *resource, const char *id,
        const char **ret_ns, const char **ret_name)
{
	const struct pr_entry *e = pr_find(&pr->assigned, resource, id, NULL);

	if (!e)
		return false;
	*ret_ns = e->ns;
	*ret_name = e->pod;
	return true;
}

enum dp_verdict dp_reconcile_verdict(
        const struct dp_podres *pr, const struct alloc *a, const char *resource)
{
	if (dp_podres_assigned(pr, resource, a->device_id))
		return DP_KEEP_ASSIGNED;
	if (a->pod.ns && a->pod.name && pr_find(&pr->pods, a->pod.ns, a->pod.name, NULL) &&
	        !pr_find(&pr->pod_res, a->pod.ns, a->pod.name, resource))
		return DP_KEEP_UNMANAGED;
	return DP_STALE;
}

/* ---- the periodic reconcile ---- */

struct stale {
	struct hmap_node node;
	uint64_t since_ms;
	bool seen;
	char key[]; /* "<containerID>/<ifname>" */
};

/* The pod kubelet assigned a reserved device to, from the last List that listed it. */
struct owner {
	struct hmap_node node;
	char *ns, *name;
	char id[]; /* device ID */
};

/* A reserved device whose pod is not known yet: List again this soon. */
#define OWNER_RETRY_MS 250
/* After an Allocate, give kubelet a moment to record the assignment before asking. */
#define AFTER_ALLOCATE_MS 50

static struct {
	bool active;   /* the module runs: Lists on demand (reservation owners) */
	bool periodic; /* reconcileIntervalMs > 0: releases allocations and device-info files */
	bool again;    /* a List was asked for while one was in flight */
	char socket[PATH_MAX];
	unsigned interval_ms, grace_ms, timeout_ms;
	struct event *timer;
	struct dp_rpc *rpc;
	struct hmap stale;
	struct hmap owners;
	uint64_t lists, list_failures, released, devinfo_removed;
	uint64_t owner_unknown, refused_reserved;
	time_t last_ok;
	char last_error[256];
	size_t last_pods;
} rc = {.stale = HMAP_INITIALIZER(&rc.stale), .owners = HMAP_INITIALIZER(&rc.owners)};

static struct owner *owner_find(const char *id)
{
	struct owner *o;

	HMAP_FOR_EACH_WITH_HASH (o, node, hash_str(id, 0), &rc.owners)
		if (strcmp(o->id, id) == 0)
			return o;
	return NULL;
}

static void owner_drop(const char *id)
{
	struct owner *o = owner_find(id);

	if (!o)
		return;
	hmap_remove(&rc.owners, &o->node);
	free(o->ns);
	free(o->name);
	free(o);
}

void dp_reconcile_owner_set(const char *id, const char *ns, const char *name)
{
	struct owner *o = owner_find(id);
	size_t len = strlen(id) + 1;

	if (o && !strcmp(o->ns, ns) && !strcmp(o->name, name))
		return;
	owner_drop(id);
	if (!(o = calloc(1, sizeof(*o) + len)))
		return; /* unknown owner: attaches are refused until a later List */
	memcpy(o->id, id, len);
	o->ns = strdup(ns);
	o->name = strdup(name);
	if (!o->ns || !o->name) {
		free(o->ns);
		free(o->name);
		free(o);
		return;
	}
	hmap_insert(&rc.owners, &o->node, hash_str(id, 0));
}

static void owners_clear(void)
{
	struct owner *o;

	HMAP_FOR_EACH_SAFE (o, node, &rc.owners)
		owner_drop(o->id);
}

static struct stale *stale_find(const char *key)
{
	struct stale *s;

	HMAP_FOR_EACH_WITH_HASH (s, node, hash_str(key, 0), &rc.stale)
		if (strcmp(s->key, key) == 0)
			return s;
	return NULL;
}

static void stale_clear(void)
{
	struct stale *s;

	HMAP_FOR_EACH_SAFE (s, node, &rc.stale) {
		hmap_remove(&rc.stale, &s->node);
		free(s);
	}
}

/* Mark as seen stale now; returns how long it has been stale. */
static uint64_t stale_mark(const char *key, uint64_t now)
{
	struct stale *s = stale_find(key);
	size_t len = strlen(key) + 1;

	if (!s) {
		if (!(s = calloc(1, sizeof(*s) + len)))
			return 0;
		memcpy(s->key, key, len);
		s->since_ms = now;
		hmap_insert(&rc.stale, &s->node, hash_str(key, 0));
	}
	s->seen = true;
	return now - s->since_ms;
}

static void schedule(unsigned ms)
{
	struct timeval tv = {ms / 1000, ms % 1000 * 1000};

	if (rc.timer)
		evtimer_add(rc.timer, &tv);
}

static bool reconcilable(const struct pool *p)
{
	const struct dp_plugin *pl = dp_plugin_of(p);

	/* Until kubelet has heard of the resource, it cannot have assigned any of it. */
	return pl && pl->ever_registered;
}

static void reconcile_allocs(const struct dp_podres *pr, uint64_t now)
{
	char key[VAL_CONTAINER_ID_MAX + VAL_IFNAME_MAX + 2];
	struct alloc *a, *next;
	struct stale *s;

	HMAP_FOR_EACH (s, node, &rc.stale)
		s->seen = false;
	for (a = alloc_first(); a; a = next) {
		next = alloc_next(a);
		if (!a->dev || !reconcilable(a->dev->pool))
			continue;
		if (dp_reconcile_verdict(pr, a, a->dev->pool->resource_name) != DP_STALE)
			continue;
		snprintf(key, sizeof(key), "%s/%s", a->container_id, a->ifname);
		uint64_t age = stale_mark(key, now);
		if (age < rc.grace_ms || age == 0)
			continue;
		struct kb_err err = {0};
		LOG_WARN("device plugins: releasing %s held by %s/%s (pod %s/%s): kubelet assigns "
		         "it "
		         "to no live pod since %llu ms",
		        a->device_id, a->container_id, a->ifname, a->pod.ns ? a->pod.ns : "?",
		        a->pod.name ? a->pod.name : "?", (unsigned long long)age);
		/* Removing `a` leaves `next` valid (hmap removal does not move other nodes). */
		alloc_detach(a->container_id, a->ifname, NULL, &err);
		if (err.errnum)
			LOG_WARN("device plugins: releasing: %s", err.msg);
		rc.released++; /* the state module has the release committed */
		if ((s = stale_find(key)))
			s->seen = false; /* dropped below */
	}
	HMAP_FOR_EACH_SAFE (s, node, &rc.stale) {
		if (s->seen)
			continue;
		hmap_remove(&rc.stale, &s->node);
		free(s);
	}
}

/*
 * Reservations follow kubelet: a device it assigns to a live pod stays reserved (refreshed
 * at every List, and set again after an agent restart); one it has not assigned for the grace
 * period goes back to the free list.
 */
static void reconcile_reservations(const struct dp_podres *pr, uint64_t now)
{
	for (struct dp_plugin *pl = dp_plugin_first(); pl; pl = dp_plugin_next(pl)) {
		struct pool *p = pl->pool;
		if (!pl->ever_registered)
			continue;
		for (size_t i = 0; i < p->n_devs; i++) {
			struct device *d = p->devs[i];
			const char *ns, *name;
			if (dp_podres_owner(pr, pl->resource, d->id, &ns, &name)) {
				inv_device_reserve(d, now);
				dp_reconcile_owner_set(d->id, ns, name);
				continue;
			}
			owner_drop(d->id);
			if (d->reserved_at_ms && now - d->reserved_at_ms >= rc.grace_ms)
				inv_device_reserve(d, 0);
		}
	}
}

/* A file kept for a device: true once it has been unused for the whole grace period
 * (*since: when it was first seen unused, 0 while used). */
static bool stale_long_enough(uint64_t *since, bool used, uint64_t now)
{
	if (used) {
		*since = 0;
		return false;
	}
	if (!*since) {
		*since = now;
		return false;
	}
	return now - *since >= rc.grace_ms;
}

/* Device-info files of devices kubelet no longer assigns (and no attachment holds). */
static void reconcile_devinfo(const struct dp_podres *pr, uint64_t now)
{
	for (struct dp_plugin *pl = dp_plugin_first(); pl; pl = dp_plugin_next(pl)) {
		struct dp_devinfo_rec *rec;
		if (!pl->ever_registered)
			continue;
		HMAP_FOR_EACH_SAFE (rec, node, &pl->devinfo) {
			struct device *d = inv_device_find(rec->id);
			if (!stale_long_enough(&rec->stale_since_ms,
			            dp_podres_assigned(pr, pl->resource, rec->id) ||
			                    (d && d->holder),
			            now))
				continue;
			LOG_INFO("device plugin %s: removing the device-info file of %s (no longer "
			         "assigned)",
			        pl->pool->name, rec->id);
			dp_plugin_devinfo_drop(pl, rec);
			rc.devinfo_removed++;
		}
	}
}

/* CDI specs whose devices kubelet no longer assigns (and no attachment holds): the
 * device-info rule, for every device the spec names. */
static void reconcile_cdi(const struct dp_podres *pr, uint64_t now)
{
	for (struct dp_plugin *pl = dp_plugin_first(); pl; pl = dp_plugin_next(pl)) {
		struct dp_cdi_rec *rec;
		if (!pl->ever_registered)
			continue;
		HMAP_FOR_EACH_SAFE (rec, node, &pl->cdi) {
			const char *id = rec->ids;
			bool used = false;
			for (size_t i = 0; !used && i < rec->n_ids; i++, id += strlen(id) + 1) {
				struct device *d = inv_device_find(id);
				used = dp_podres_assigned(pr, pl->resource, id) || (d && d->holder);
			}
			if (!stale_long_enough(&rec->stale_since_ms, used, now))
				continue;
			LOG_INFO("device plugin %s: removing the CDI spec %s (its devices are no "
			         "longer "
			         "assigned)",
			        pl->pool->name, rec->file);
			dp_plugin_cdi_drop(pl, rec);
		}
	}
}

/* A device reserved at Allocate (recently: within the grace period) that no List has named
 * an owner for yet. */
static bool owners_missing(uint64_t now)
{
	for (struct dp_plugin *pl = dp_plugin_first(); pl; pl = dp_plugin_next(pl)) {
		struct pool *p = pl->pool;
		if (!p->n_reserved)
			continue;
		for (size_t i = 0; i < p->n_devs; i++) {
			const struct device *d = p->devs[i];
			if (d->reserved_at_ms && now - d->reserved_at_ms < rc.grace_ms &&
			        !owner_find(d->id))
				return true;
		}
	}
	return false;
}

static void list_done(const struct dp_rpc_result *res, void *ctx)
{
	const V1__ListPodResourcesResponse *r = (const void *)res->reply;
	struct dp_podres *pr;
	uint64_t now = clock_mono_ms();

	(void)ctx;
	rc.rpc = NULL;
	if (rc.periodic)
		schedule(rc.interval_ms);
	if (res->err || res->grpc_status) {
		if (owners_missing(now))
			schedule(rc.periodic && rc.interval_ms < OWNER_RETRY_MS ? rc.interval_ms
			                                                        : OWNER_RETRY_MS);
		rc.list_failures++;
		if (strcmp(rc.last_error, res->message))
			LOG_WARN("device plugins: PodResources List on %s failed: %s", rc.socket,
			        res->message);
		snprintf(rc.last_error, sizeof(rc.last_error), "%s", res->message);
		return;
	}
	if (dp_podres_new(r, &pr) < 0) {
		snprintf(rc.last_error, sizeof(rc.last_error), "out of memory");
		return;
	}
	rc.lists++;
	rc.last_ok = time(NULL);
	rc.last_error[0] = '\0';
	rc.last_pods = r->n_pod_resources;
	/* Lists asked for on demand (reservation owners) refresh reservations only when the
	 * operator turned the periodic reconcile off. */
	if (rc.periodic)
		reconcile_allocs(pr, now);
	reconcile_reservations(pr, now);
	if (rc.periodic) {
		reconcile_devinfo(pr, now);
		reconcile_cdi(pr, now);
	}
	dp_podres_free(pr);
	if (rc.again || owners_missing(now))
		schedule(rc.again                                         ? 0
		         : rc.periodic && rc.interval_ms < OWNER_RETRY_MS ? rc.interval_ms
		                                                          : OWNER_RETRY_MS);
	rc.again = false;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	V1__ListPodResourcesRequest req = V1__LIST_POD_RESOURCES_REQUEST__INIT;
	struct kb_err err = {0};
	bool any = false;

	(void)fd;
	(void)what;
	(void)arg;
	if (rc.rpc)
		return;
	for (struct dp_plugin *pl = dp_plugin_first(); pl && !any; pl = dp_plugin_next(pl))
		any = pl->ever_registered;
	if (!any) {
		if (rc.periodic)
			schedule(rc.interval_ms);
		return;
	}
	if (dp_rpc_start(rc.socket, DP_PATH_PODRES_LIST, &req.base,
	            &v1__list_pod_resources_response__descriptor, rc.timeout_ms, MAX_REPLY,
	            list_done, NULL, &rc.rpc, &err) < 0) {
		snprintf(rc.last_error, sizeof(rc.last_error), "%.255s", err.msg);
		schedule(rc.periodic && rc.interval_ms < OWNER_RETRY_MS ? rc.interval_ms
		                                                        : OWNER_RETRY_MS);
	}
}

static void list_soon(unsigned ms)
{
	if (!rc.active)
		return;
	if (rc.rpc)
		rc.again = true; /* its reply may predate what we want to learn */
	else
		schedule(ms);
}

void dp_reconcile_soon(void)
{
	list_soon(0);
}

void dp_reconcile_allocated(const struct device *d)
{
	/* A new assignment: whoever held the device before is not its owner any more. */
	owner_drop(d->id);
	list_soon(AFTER_ALLOCATE_MS);
}

/*
 * The attachment names a device kubelet assigned to a pod: only that pod may take it. The
 * owner comes from PodResources (namespace/name: its v1 List has no pod UID). Until a List has
 * named it, the attachment is refused with EAGAIN and a List is started: the runtime retries
 * the sandbox, and kubelet records the assignment before it creates the sandbox.
 */
static int take_reserved(const struct attach_req *req, const struct device *d, struct kb_err *err)
{
	const struct owner *o = owner_find(d->id);

	if (!o) {
		rc.owner_unknown++;
		list_soon(0);
		return kb_err_set(err, EAGAIN,
		        "device %s is reserved by kubelet for a pod the agent has not learned from "
		        "PodResources yet; retry",
		        d->id);
	}
	if (req->pod.ns && req->pod.name && !strcmp(req->pod.ns, o->ns) &&
	        !strcmp(req->pod.name, o->name))
		return 0;
	rc.refused_reserved++;
	return kb_err_set(err, EBUSY, "device %s is reserved by kubelet for another pod, not %s/%s",
	        d->id, req->pod.ns ? req->pod.ns : "?", req->pod.name ? req->pod.name : "?");
}

static struct alloc_observer reserve_observer = {.take_reserved = take_reserved};

static void __attribute__((constructor)) reserve_observer_register(void)
{
	alloc_observer_register(&reserve_observer);
}

int dp_reconcile_init(const struct dp_config *cfg, struct kb_err *err)
{
	rc.active = true;
	rc.periodic = cfg->reconcile_interval_ms > 0;
	rc.again = false;
	str_copy(rc.socket, sizeof(rc.socket), cfg->podres_socket);
	rc.interval_ms = cfg->reconcile_interval_ms;
	rc.grace_ms = cfg->grace_period_ms;
	rc.timeout_ms = cfg->register_timeout_ms;
	if (!(rc.timer = evtimer_new(loop_base(), on_timer, NULL))) {
		rc.active = false;
		return kb_err_set(err, ENOMEM, "out of memory");
	}
	if (rc.periodic)
		schedule(rc.interval_ms);
	return 0;
}

void dp_reconcile_fini(void)
{
	dp_rpc_cancel(rc.rpc);
	rc.rpc = NULL;
	if (rc.timer)
		event_free(rc.timer);
	rc.timer = NULL;
	rc.active = false;
	owners_clear();
	stale_clear();
	hmap_destroy(&rc.stale);
	hmap_init(&rc.stale);
}

json_t *dp_reconcile_status(void)
{
	char ts[32] = "";
	struct tm tm;

	if (!rc.periodic)
		return apimsg_podres_status_encode(&(struct apimsg_podres_status){
		        .owner_unknown = (int64_t)rc.owner_unknown,
		        .refused_reserved = (int64_t)rc.refused_reserved,
		});
	if (rc.last_ok) {
		gmtime_r(&rc.last_ok, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	return apimsg_podres_status_encode(&(struct apimsg_podres_status){
	        .enabled = true,
	        .owner_unknown = (int64_t)rc.owner_unknown,
	        .refused_reserved = (int64_t)rc.refused_reserved,
	        .socket = rc.socket,
	        .interval_ms = (int64_t)rc.interval_ms,
	        .grace_period_ms = (int64_t)rc.grace_ms,
	        .lists = (int64_t)rc.lists,
	        .list_failures = (int64_t)rc.list_failures,
	        .released = (int64_t)rc.released,
	        .pods_last_seen = (int64_t)rc.last_pods,
	        .last_list = ts[0] ? ts : NULL,
	        .last_error = rc.last_error[0] ? rc.last_error : NULL,
	});
}
