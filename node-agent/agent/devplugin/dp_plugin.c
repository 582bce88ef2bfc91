/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/devplugin/dp_plugin.h"
#include "agent/devplugin/dp_reconcile.h"
#include "agent/alloc.h"
#include "agent/devplugin/dp_alloc.h"
#include "agent/devplugin/dp_grpc.h"
#include "agent/devplugin/dp_module.h"
#include "agent/devplugin/dp_prefer.h"
#include "agent/devplugin/dp_register.h"
#include "agent/loop.h"
#include "api/apimsg_dp.h"
#include "common/cleanup.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"
#include "common/validate.h"
#include "deviceplugin_v1beta1.pb-c.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HEALTHY   "Healthy"
#define UNHEALTHY "Unhealthy"
/* Container requests in one Allocate / GetPreferredAllocation (kubelet sends one). */
#define MAX_CONTAINER_REQS 64

struct dp_watch {
	struct dp_plugin *pl;
	struct dp_grpc_call *call;
	LIST_ENTRY(dp_watch) link;
};

/* ---- device list ---- */

/* The pool's devices as a packed ListAndWatchResponse. */
static int pack_list(const struct dp_plugin *pl, uint8_t **ret, size_t *ret_len)
{
	const struct pool *p = pl->pool;
	V1beta1__ListAndWatchResponse resp = V1BETA1__LIST_AND_WATCH_RESPONSE__INIT;
	V1beta1__Device *devs = calloc(p->n_devs ? p->n_devs : 1, sizeof(*devs));
	V1beta1__Device **devv = calloc(p->n_devs ? p->n_devs : 1, sizeof(*devv));
	V1beta1__TopologyInfo *topo = calloc(p->n_devs ? p->n_devs : 1, sizeof(*topo));
	V1beta1__NUMANode *nodes = calloc(p->n_devs ? p->n_devs : 1, sizeof(*nodes));
	V1beta1__NUMANode **nodev = calloc(p->n_devs ? p->n_devs : 1, sizeof(*nodev));
	uint8_t *buf = NULL;
	int r = -ENOMEM;

	if (!devs || !devv || !topo || !nodes || !nodev)
		goto out;
	for (size_t i = 0; i < p->n_devs; i++) {
		const struct device *d = p->devs[i];
		v1beta1__device__init(&devs[i]);
		devs[i].id = (char *)d->id;
		devs[i].health = d->healthy ? HEALTHY : UNHEALTHY;
		/* No topology rather than a guess: kubelet then treats the device as fitting
		 * any NUMA node. */
		if (p->cfg.topology && d->numa >= 0) {
			v1beta1__topology_info__init(&topo[i]);
			v1beta1__numanode__init(&nodes[i]);
			nodes[i].id = d->numa;
			nodev[i] = &nodes[i];
			topo[i].n_nodes = 1;
			topo[i].nodes = &nodev[i];
			devs[i].topology = &topo[i];
		}
		devv[i] = &devs[i];
	}
	resp.n_devices = p->n_devs;
	resp.devices = devv;
	*ret_len = v1beta1__list_and_watch_response__get_packed_size(&resp);
	if (!(buf = malloc(*ret_len ? *ret_len : 1)))
		goto out;
	v1beta1__list_and_watch_response__pack(&resp, buf);
	*ret = buf;
	r = 0;
out:
	free(devs);
	free(devv);
	free(topo);
	free(nodes);
	free(nodev);
	return r;
}

static void watch_send(struct dp_watch *w, const uint8_t *buf, size_t len)
{
	int r = dp_grpc_send_packed(w->call, buf, len, true);

	if (r < 0)
		LOG_WARN("device plugin %s: cannot update a ListAndWatch stream: %s",
		        w->pl->pool->name, strerror(-r));
}

static void push(evutil_socket_t fd, short what, void *arg)
{
	struct dp_plugin *pl = arg;
	struct dp_watch *w;
	uint8_t *buf;
	size_t len;

	(void)fd;
	(void)what;
	if (pack_list(pl, &buf, &len) < 0) {
		LOG_ERR("device plugin %s: out of memory building the device list", pl->pool->name);
		return;
	}
	/* Rescans report every pool, changed or not: kubelet hears only real changes. */
	if (pl->last && len == pl->last_len && memcmp(buf, pl->last, len) == 0) {
		free(buf);
		return;
	}
	free(pl->last);
	pl->last = buf;
	pl->last_len = len;
	LOG_DEBUG("device plugin %s: device list changed, updating %u stream(s)", pl->pool->name,
	        pl->n_watches);
	LIST_FOREACH (w, &pl->watches, link)
		watch_send(w, buf, len);
	if (pl->n_watches)
		pl->updates_sent++;
}

void dp_plugin_changed(struct dp_plugin *pl)
{
	event_active(pl->push_ev, EV_TIMEOUT, 0);
}

unsigned dp_plugin_streams(const struct dp_plugin *pl)
{
	return pl->n_watches;
}

/* ---- DevicePlugin service ---- */

static void h_options(struct dp_grpc_call *call, const ProtobufCMessage *req, void *ctx)
{
	V1beta1__DevicePluginOptions opt = V1BETA1__DEVICE_PLUGIN_OPTIONS__INIT;

	(void)req;
	(void)ctx;
	opt.pre_start_required = false;
	opt.get_preferred_allocation_available = true;
	dp_grpc_reply(call, &opt.base);
}

static void watch_closed(struct dp_grpc_call *call, void *arg)
{
	struct dp_watch *w = arg;

	(void)call;
	LIST_REMOVE(w, link);
	w->pl->n_watches--;
	LOG_DEBUG("device plugin %s: ListAndWatch stream closed (%u left)", w->pl->pool->name,
	        w->pl->n_watches);
	if (!w->pl->n_watches && !w->pl->closing)
		dp_register_stream_lost(w->pl);
	free(w);
}

static void h_list_and_watch(struct dp_grpc_call *call, const ProtobufCMessage *req, void *ctx)
{
	struct dp_plugin *pl = ctx;
	struct dp_watch *w = calloc(1, sizeof(*w));
	uint8_t *buf;
	size_t len;
	pid_t pid;
	uid_t uid;

	(void)req;
	if (!w || pack_list(pl, &buf, &len) < 0) {
		free(w);
		dp_grpc_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	w->pl = pl;
	w->call = call;
	LIST_INSERT_HEAD(&pl->watches, w, link);
	pl->n_watches++;
	dp_grpc_on_close(call, watch_closed, w);
	free(pl->last);
	pl->last = buf;
	pl->last_len = len;
	watch_send(w, buf, len);
	dp_grpc_peer(call, &pid, &uid);
	LOG_INFO("device plugin %s: ListAndWatch from pid %d: %zu devices, %zu healthy",
	        pl->pool->name, (int)pid, pl->pool->n_devs, pool_healthy_count(pl->pool));
}

static struct device *pool_device(const struct dp_plugin *pl, const char *id)
{
	struct device *d = val_device_id(id, NULL) ? inv_device_find(id) : NULL;

	return d && d->pool == pl->pool ? d : NULL;
}

/* Index of kubelet's device IDs so duplicates and must-include lookups stay O(n). */
struct id_slot {
	struct hmap_node node;
	const char *id;
	size_t idx;
};

static struct id_slot *id_find(struct hmap *h, const char *id)
{
	struct id_slot *s;

	HMAP_FOR_EACH_WITH_HASH (s, node, hash_str(id, 0), h)
		if (strcmp(s->id, id) == 0)
			return s;
	return NULL;
}

/* One container: returns the number of chosen IDs written to ids[], or -errno. */
static int prefer_one(const struct dp_plugin *pl,
        const V1beta1__ContainerPreferredAllocationRequest *cr, char **ids, struct kb_err *err)
{
	size_t n = cr->n_available_deviceids + cr->n_must_include_deviceids, k = 0, chosen;
	struct hmap index = HMAP_INITIALIZER(&index);
	struct dp_prefer_dev *devs = calloc(n ? n : 1, sizeof(*devs));
	struct id_slot *slots = calloc(n ? n : 1, sizeof(*slots));
	size_t *out = calloc(n ? n : 1, sizeof(*out));
	const char **names = calloc(n ? n : 1, sizeof(*names));
	int r = 0;

	if (!devs || !slots || !out || !names) {
		r = kb_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (cr->allocation_size < 0) {
		r = kb_err_set(err, EINVAL, "allocation_size %d is negative", cr->allocation_size);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		bool must = i >= cr->n_available_deviceids;
		const char *id = must ? cr->must_include_deviceids[i - cr->n_available_deviceids]
		                      : cr->available_deviceids[i];
		struct id_slot *s = id_find(&index, id);
		const struct device *d;
		if (s) {
			devs[s->idx].must |= must;
			continue;
		}
		d = pool_device(pl, id);
		/* An ID we do not know is no candidate, unless kubelet insists on it. */
		if (!d && !must)
			continue;
		slots[k].id = id;
		slots[k].idx = k;
		hmap_insert(&index, &slots[k].node, hash_str(id, 0));
		names[k] = id;
		devs[k].numa = d ? d->numa : -1;
		devs[k].must = must;
		devs[k].held = d && d->holder;
		k++;
	}
	chosen = dp_prefer(devs, k, (size_t)cr->allocation_size, pl->pool->cfg.topology, out);
	for (size_t i = 0; i < chosen; i++)
		ids[i] = (char *)names[out[i]];
	r = (int)chosen;
out:
	hmap_destroy(&index);
	free(devs);
	free(slots);
	free(out);
	free(names);
	return r;
}

static void h_preferred(struct dp_grpc_call *call, const ProtobufCMessage *req, void *ctx)
{
	const V1beta1__PreferredAllocationRequest *rq = (const void *)req;
	V1beta1__PreferredAllocationResponse resp = V1BETA1__PREFERRED_ALLOCATION_RESPONSE__INIT;
	V1beta1__ContainerPreferredAllocationResponse *crs = NULL, **crv = NULL;
	struct dp_plugin *pl = ctx;
	struct kb_err err = {0};
	size_t n = rq->n_container_requests, i;

	pl->preferred_calls++;
	if (n > MAX_CONTAINER_REQS) {
		dp_grpc_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
		        "%zu container requests (limit %d)", n, MAX_CONTAINER_REQS);
		return;
	}
	crs = calloc(n ? n : 1, sizeof(*crs));
	crv = calloc(n ? n : 1, sizeof(*crv));
	if (!crs || !crv) {
		dp_grpc_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		const V1beta1__ContainerPreferredAllocationRequest *cr = rq->container_requests[i];
		size_t cap = cr->n_available_deviceids + cr->n_must_include_deviceids;
		int r;
		v1beta1__container_preferred_allocation_response__init(&crs[i]);
		crv[i] = &crs[i];
		if (!(crs[i].deviceids = calloc(cap ? cap : 1, sizeof(char *)))) {
			dp_grpc_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
			goto out;
		}
		if ((r = prefer_one(pl, cr, crs[i].deviceids, &err)) < 0) {
			dp_grpc_fail(call,
			        r == -EINVAL ? GRPC_STATUS_INVALID_ARGUMENT
			                     : GRPC_STATUS_RESOURCE_EXHAUSTED,
			        "container request %zu: %s", i, err.msg);
			goto out;
		}
		crs[i].n_deviceids = r;
	}
	resp.n_container_responses = n;
	resp.container_responses = crv;
	dp_grpc_reply(call, &resp.base);
out:
	for (i = 0; crs && i < n; i++)
		free(crs[i].deviceids);
	free(crs);
	free(crv);
}

static struct dp_devinfo_rec *devinfo_track(struct dp_plugin *pl, const char *id)
{
	struct dp_devinfo_rec *rec = dp_plugin_devinfo_find(pl, id);
	size_t len = strlen(id) + 1;

	if (rec)
		return rec;
	if (!(rec = calloc(1, sizeof(*rec) + len)))
		return NULL;
	memcpy(rec->id, id, len);
	hmap_insert(&pl->devinfo, &rec->node, hash_str(id, 0));
	return rec;
}

struct dp_devinfo_rec *dp_plugin_devinfo_find(struct dp_plugin *pl, const char *id)
{
	struct dp_devinfo_rec *rec;

	HMAP_FOR_EACH_WITH_HASH (rec, node, hash_str(id, 0), &pl->devinfo)
		if (strcmp(rec->id, id) == 0)
			return rec;
	return NULL;
}

void dp_plugin_devinfo_drop(struct dp_plugin *pl, struct dp_devinfo_rec *rec)
{
	int r = dp_devinfo_remove(dp_cfg()->devinfo_dir, pl->resource, rec->id);

	if (r < 0)
		LOG_WARN("device plugin %s: removing the device-info file of %s: %s",
		        pl->pool->name, rec->id, strerror(-r));
	hmap_remove(&pl->devinfo, &rec->node);
	free(rec);
	pl->devinfo_removed++;
}

int dp_plugin_cdi_track(struct dp_plugin *pl, const char *file, char **ids, size_t n_ids)
{
	size_t flen = strlen(file) + 1, ilen = 0;
	struct dp_cdi_rec *rec;
	char *p;

	HMAP_FOR_EACH_WITH_HASH (rec, node, hash_str(file, 0), &pl->cdi)
		if (strcmp(rec->file, file) == 0) {
			rec->stale_since_ms = 0;
			return 0;
		}
	for (size_t i = 0; i < n_ids; i++)
		ilen += strlen(ids[i]) + 1;
	if (!(rec = calloc(1, sizeof(*rec) + flen + ilen)))
		return -ENOMEM;
	memcpy(rec->file, file, flen);
	rec->ids = p = rec->file + flen;
	for (size_t i = 0; i < n_ids; i++)
		p = stpcpy(p, ids[i]) + 1;
	rec->n_ids = n_ids;
	hmap_insert(&pl->cdi, &rec->node, hash_str(file, 0));
	return 0;
}

void dp_plugin_cdi_drop(struct dp_plugin *pl, struct dp_cdi_rec *rec)
{
	int r = dp_cdi_remove(dp_cfg()->cdi_spec_dir, rec->file);

	if (r < 0)
		LOG_WARN("device plugin %s: removing the CDI spec %s: %s", pl->pool->name,
		        rec->file, strerror(-r));
	hmap_remove(&pl->cdi, &rec->node);
	free(rec);
}

/* What one container gets for its devices; `why` names the failure. */
static enum dp_grpc_status allocate_one(struct dp_plugin *pl,
        const V1beta1__ContainerAllocateRequest *cr, struct dp_alloc_ctr *ctr, char *why,
        size_t why_len)
{
	const struct devtype_ops *ops = pl->pool->ops;
	char name[256];
	int r;

	if (cr->n_devices_ids == 0) {
		snprintf(why, why_len, "no device IDs");
		return GRPC_STATUS_INVALID_ARGUMENT;
	}
	if (cr->n_devices_ids > pl->pool->n_devs) {
		snprintf(why, why_len, "%zu devices asked, the pool has %zu", cr->n_devices_ids,
		        pl->pool->n_devs);
		return GRPC_STATUS_INVALID_ARGUMENT;
	}
	for (size_t j = 0; j < cr->n_devices_ids; j++) {
		const char *id = cr->devices_ids[j];
		struct kb_err err = {0};
		struct device *d = pool_device(pl, id);
		if (!d) {
			snprintf(
			        why, why_len, "unknown device '%.64s' in %.200s", id, pl->resource);
			return GRPC_STATUS_INVALID_ARGUMENT;
		}
		for (size_t k = 0; k < j; k++) {
			if (strcmp(cr->devices_ids[k], id) == 0) {
				snprintf(why, why_len, "device %s listed twice", id);
				return GRPC_STATUS_INVALID_ARGUMENT;
			}
		}
		if (d->gone) {
			snprintf(why, why_len, "device %s has disappeared", id);
			return GRPC_STATUS_FAILED_PRECONDITION;
		}
		if (!d->healthy)
			LOG_WARN("device plugin %s: kubelet allocates %s, which is unhealthy (%s)",
			        pl->pool->name, id, d->why ? d->why : "unknown reason");
		if (ops->dp_allocate && (r = ops->dp_allocate(d, &ctr->spec, &err)) < 0) {
			snprintf(why, why_len, "device %s: %.300s", id,
			        err.errnum    ? err.msg
			        : ctr->why[0] ? ctr->why
			                      : strerror(-r));
			return r == -ENOMEM ? GRPC_STATUS_RESOURCE_EXHAUSTED
			                    : GRPC_STATUS_FAILED_PRECONDITION;
		}
		/* Until the pod's CNI ADD names it, no other attachment may take it. */
		inv_device_reserve(d, clock_mono_ms());
		dp_reconcile_allocated(d);
		/* Every type: which devices the container got, whatever else it needs. */
		if ((r = dp_env_name("KBNET_DEVICE", pl->resource, name, sizeof(name))) < 0 ||
		        (r = ctr->spec.env(&ctr->spec, name, id)) < 0) {
			snprintf(why, why_len, "%s", ctr->why[0] ? ctr->why : strerror(-r));
			return GRPC_STATUS_RESOURCE_EXHAUSTED;
		}
		if (ops->device_info) {
			json_t *info = ops->device_info(d, NULL);
			if (!info) {
				snprintf(why, why_len, "no device-info for %s", id);
				return GRPC_STATUS_INTERNAL;
			}
			r = dp_devinfo_write(dp_cfg()->devinfo_dir, pl->resource, id, info, &err);
			json_decref(info);
			if (r < 0) {
				snprintf(why, why_len, "%.300s", err.msg);
				return GRPC_STATUS_INTERNAL;
			}
			struct dp_devinfo_rec *rec = devinfo_track(pl, id);
			if (rec)
				rec->stale_since_ms = 0;
		}
	}
	return GRPC_STATUS_OK;
}

static void h_allocate(struct dp_grpc_call *call, const ProtobufCMessage *req, void *ctx)
{
	const V1beta1__AllocateRequest *rq = (const void *)req;
	V1beta1__AllocateResponse resp = V1BETA1__ALLOCATE_RESPONSE__INIT;
	V1beta1__ContainerAllocateResponse **crv = NULL;
	struct dp_alloc_ctr *ctrs = NULL;
	struct dp_plugin *pl = ctx;
	size_t n = rq->n_container_requests, i, done = 0;
	char why[400] = "", env[256];

	pl->allocate_calls++;
	if (n == 0 || n > MAX_CONTAINER_REQS) {
		pl->allocate_failures++;
		dp_grpc_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "%zu container requests (1 to %d)",
		        n, MAX_CONTAINER_REQS);
		return;
	}
	ctrs = calloc(n, sizeof(*ctrs));
	crv = calloc(n, sizeof(*crv));
	if (!ctrs || !crv) {
		pl->allocate_failures++;
		dp_grpc_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++, done++) {
		enum dp_grpc_status st;
		dp_alloc_ctr_init(&ctrs[i], pl->resource);
		st = allocate_one(pl, rq->container_requests[i], &ctrs[i], why, sizeof(why));
		if (st == GRPC_STATUS_OK && dp_cfg()->cdi) {
			struct kb_err err = {0};
			char file[PATH_MAX];
			if (dp_cdi_apply(&ctrs[i], dp_cfg()->cdi_spec_dir,
			            rq->container_requests[i]->devices_ids,
			            rq->container_requests[i]->n_devices_ids, file, sizeof(file),
			            &err) < 0) {
				st = GRPC_STATUS_INTERNAL;
				snprintf(why, sizeof(why), "CDI spec: %.300s", err.msg);
			} else if (dp_plugin_cdi_track(pl, file,
			                   rq->container_requests[i]->devices_ids,
			                   rq->container_requests[i]->n_devices_ids) < 0) {
				st = GRPC_STATUS_RESOURCE_EXHAUSTED;
				snprintf(why, sizeof(why), "out of memory");
			}
		}
		if (st == GRPC_STATUS_OK && dp_alloc_ctr_response(&ctrs[i], &crv[i]) < 0) {
			st = GRPC_STATUS_RESOURCE_EXHAUSTED;
			snprintf(why, sizeof(why), "out of memory");
		}
		if (st != GRPC_STATUS_OK) {
			done++;
			pl->allocate_failures++;
			LOG_WARN("device plugin %s: Allocate refused: container request %zu: %s",
			        pl->pool->name, i, why);
			dp_grpc_fail(call, st, "container request %zu: %s", i, why);
			goto out;
		}
		if (dp_env_name("KBNET_DEVICE", pl->resource, env, sizeof(env)) == 0)
			LOG_INFO("device plugin %s: Allocate %s", pl->pool->name,
			        dp_alloc_ctr_env(&ctrs[i], env));
	}
	resp.n_container_responses = n;
	resp.container_responses = crv;
	dp_grpc_reply(call, &resp.base);
out:
	for (i = 0; ctrs && i < done; i++)
		dp_alloc_ctr_fini(&ctrs[i]);
	free(ctrs);
	free(crv);
}

static void h_prestart(struct dp_grpc_call *call, const ProtobufCMessage *req, void *ctx)
{
	V1beta1__PreStartContainerResponse resp = V1BETA1__PRE_START_CONTAINER_RESPONSE__INIT;
	struct dp_plugin *pl = ctx;

	(void)req;
	/* pre_start_required is false; kubelet may still call, there is nothing to do. */
	pl->prestart_calls++;
	dp_grpc_reply(call, &resp.base);
}

static const struct dp_grpc_method methods[] = {
        {"/v1beta1.DevicePlugin/GetDevicePluginOptions", &v1beta1__empty__descriptor, false,
                h_options},
        {"/v1beta1.DevicePlugin/ListAndWatch", &v1beta1__empty__descriptor, true, h_list_and_watch},
        {"/v1beta1.DevicePlugin/GetPreferredAllocation",
                &v1beta1__preferred_allocation_request__descriptor, false, h_preferred},
        {"/v1beta1.DevicePlugin/Allocate", &v1beta1__allocate_request__descriptor, false,
                h_allocate},
        {"/v1beta1.DevicePlugin/PreStartContainer",
                &v1beta1__pre_start_container_request__descriptor, false, h_prestart},
};

/* ---- lifecycle ---- */

int dp_plugin_listen(struct dp_plugin *pl, struct kb_err *err)
{
	const struct dp_config *c = dp_cfg();
	struct dp_grpc_limits lim = {
	        .max_conns = c->max_conns,
	        .max_streams = c->max_streams,
	        .max_msg = c->max_msg,
	        .idle_ms = c->idle_timeout_ms,
	        .request_ms = c->request_timeout_ms,
	};
	int r;

	if (pl->srv) {
		r = dp_grpc_server_relisten(pl->srv, err);
	} else {
		r = dp_grpc_server_new(loop_base(), pl->sock_path, methods, ARRAY_SIZE(methods), pl,
		        &lim, &pl->srv, err);
	}
	snprintf(pl->listen_error, sizeof(pl->listen_error), "%.255s", r < 0 ? err->msg : "");
	return r;
}

bool dp_plugin_socket_ok(const struct dp_plugin *pl)
{
	return pl->srv && dp_grpc_server_socket_ok(pl->srv);
}

/* Device-info files left by an earlier agent run: adopt them so reconcile can clean up. */
static void devinfo_adopt(struct dp_plugin *pl)
{
	char prefix[sizeof(pl->resource) + 1];
	const char *dir = dp_cfg()->devinfo_dir;
	struct dirent *de;
	DIR *d = opendir(dir);
	size_t plen;

	if (!d)
		return;
	str_copy(prefix, sizeof(prefix), pl->resource);
	for (char *p = prefix; *p; p++)
		if (*p == '/')
			*p = '-';
	plen = strlen(prefix);
	while ((de = readdir(d))) {
		char id[VAL_DEVICE_ID_MAX + 1];
		size_t len = strlen(de->d_name), sfx = strlen("-device.json");
		struct device *dev;
		if (len <= plen + 1 + sfx || strncmp(de->d_name, prefix, plen) ||
		        de->d_name[plen] != '-' || strcmp(de->d_name + len - sfx, "-device.json"))
			continue;
		if (len - plen - 1 - sfx > VAL_DEVICE_ID_MAX)
			continue;
		memcpy(id, de->d_name + plen + 1, len - plen - 1 - sfx);
		id[len - plen - 1 - sfx] = '\0';
		/* "kbnet.io-vu-x-..." also starts with "kbnet.io-vu-": the ID must be ours. */
		if ((dev = pool_device(pl, id)))
			devinfo_track(pl, dev->id);
	}
	closedir(d);
}

/* CDI specs left by an earlier agent run: adopt those whose name decomposes into this
 * pool's device IDs, so reconcile removes them once their devices are free. */
static void cdi_adopt(struct dp_plugin *pl)
{
	const char **pool_ids, **ids;
	struct dirent *de;
	DIR *d;

	if (!dp_cfg()->cdi || !(d = opendir(dp_cfg()->cdi_spec_dir)))
		return;
	pool_ids = calloc(pl->pool->n_devs + 1, sizeof(*pool_ids));
	ids = calloc(pl->pool->n_devs + 1, sizeof(*ids));
	for (size_t i = 0; pool_ids && i < pl->pool->n_devs; i++)
		pool_ids[i] = pl->pool->devs[i]->id;
	while (pool_ids && ids && (de = readdir(d))) {
		size_t n = 0;
		if (dp_cdi_file_ids(pl->resource, de->d_name, pool_ids, pl->pool->n_devs, ids,
		            pl->pool->n_devs, &n) < 0 ||
		        !n)
			continue;
		/* dp_plugin_cdi_track copies the strings; it takes char ** for kubelet's. */
		dp_plugin_cdi_track(pl, de->d_name, (char **)ids, n);
	}
	free(pool_ids);
	free(ids);
	closedir(d);
}

int dp_plugin_new(
        struct pool *p, const struct dp_config *cfg, struct dp_plugin **ret, struct kb_err *err)
{
	struct dp_plugin *pl = calloc(1, sizeof(*pl));
	struct kb_err lerr = {0};

	if (!pl)
		return kb_err_set(err, ENOMEM, "out of memory");
	pl->pool = p;
	backoff_init(&pl->reg_backoff, DP_REG_BACKOFF_MIN_MS, DP_REG_BACKOFF_MAX_MS);
	LIST_INIT(&pl->watches);
	hmap_init(&pl->devinfo);
	hmap_init(&pl->cdi);
	str_copy(pl->resource, sizeof(pl->resource), p->resource_name);
	if (str_printf(pl->sock_path, sizeof(pl->sock_path), "%s/" DP_SOCKET_PREFIX "%s.sock",
	            cfg->plugin_dir, p->name) < 0) {
		hmap_destroy(&pl->devinfo);
		hmap_destroy(&pl->cdi);
		free(pl);
		return kb_err_set(err, ENAMETOOLONG,
		        "pool %s: socket path %s/" DP_SOCKET_PREFIX "%s.sock is over %zu bytes",
		        p->name, cfg->plugin_dir, p->name, sizeof(pl->sock_path) - 1);
	}
	pl->endpoint = strrchr(pl->sock_path, '/') + 1;
	if (!(pl->push_ev = event_new(loop_base(), -1, 0, push, pl))) {
		hmap_destroy(&pl->devinfo);
		hmap_destroy(&pl->cdi);
		free(pl);
		return kb_err_set(err, ENOMEM, "out of memory");
	}
	/* No directory yet is normal before kubelet runs: dp_register waits for it. */
	if (dp_plugin_listen(pl, &lerr) < 0 && lerr.errnum != ENOENT)
		LOG_WARN("device plugin %s: %s (retrying)", p->name, lerr.msg);
	devinfo_adopt(pl);
	cdi_adopt(pl);
	*ret = pl;
	return 0;
}

void dp_plugin_free(struct dp_plugin *pl)
{
	struct dp_devinfo_rec *rec;
	struct dp_cdi_rec *crec;

	if (!pl)
		return;
	pl->closing = true;
	dp_register_forget(pl);
	/* Streams end here (their close callbacks still see the plugin). */
	dp_grpc_server_free(pl->srv);
	HMAP_FOR_EACH_SAFE (rec, node, &pl->devinfo) {
		hmap_remove(&pl->devinfo, &rec->node);
		free(rec);
	}
	hmap_destroy(&pl->devinfo);
	HMAP_FOR_EACH_SAFE (crec, node, &pl->cdi) {
		hmap_remove(&pl->cdi, &crec->node);
		free(crec);
	}
	hmap_destroy(&pl->cdi);
	event_free(pl->push_ev);
	free(pl->last);
	free(pl);
}

void dp_plugin_pool_to_json(const struct dp_plugin *pl, json_t *obj)
{
	struct dp_grpc_stats st = {0};
	char ts[32] = "";
	struct tm tm;

	if (pl->srv)
		dp_grpc_server_stats(pl->srv, &st);
	if (pl->registered_at) {
		gmtime_r(&pl->registered_at, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	apimsg_dp_pool_set_status(
	        obj, &(struct apimsg_dp_status){
	                     .registered = pl->registered,
	                     .error = pl->listen_error[0] ? pl->listen_error
	                              : pl->reg_error[0]  ? pl->reg_error
	                                                  : NULL,
	                     .serving = true,
	                     .endpoint = pl->sock_path,
	                     .resource_name = pl->resource,
	                     .listening = dp_plugin_socket_ok(pl),
	                     .list_and_watch_streams = pl->n_watches,
	                     .registrations = (int64_t)pl->registrations,
	                     .registration_failures = (int64_t)pl->reg_failures,
	                     .last_registered = ts[0] ? ts : NULL,
	                     .calls = {.allocate = (int64_t)pl->allocate_calls,
	                             .allocate_failed = (int64_t)pl->allocate_failures,
	                             .preferred = (int64_t)pl->preferred_calls,
	                             .updates = (int64_t)pl->updates_sent,
	                             .grpc_errors = (int64_t)st.calls_failed},
	                     .connections = {.open = (int64_t)st.conns_open,
	                             .non_root = (int64_t)st.conns_nonroot,
	                             .refused = (int64_t)st.conns_refused,
	                             .refused_non_root = (int64_t)st.conns_refused_nonroot,
	                             .request_timeouts = (int64_t)st.request_timeouts},
	             });
}
