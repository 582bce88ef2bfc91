/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/ops.h"
#include "agent/lease.h"
#include "api/ipamconf.h"
#include "agent/alloc.h"
#include "agent/inventory.h"
#include "agent/server.h"
#include "api/api.h"
#include "api/apimsg.h"
#include "common/str.h"
#include "common/validate.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static STAILQ_HEAD(, status_hook) status_hooks = STAILQ_HEAD_INITIALIZER(status_hooks);
static const struct cfg *agent_cfg;
static struct state *agent_state;
static time_t started;

void ops_status_hook_register(struct status_hook *h)
{
	STAILQ_INSERT_TAIL(&status_hooks, h, next);
}

void ops_init(const struct cfg *cfg, struct state *st)
{
	agent_cfg = cfg;
	agent_state = st;
	if (!started)
		started = time(NULL);
}

/* Decoded arguments borrow from `args`, which the server keeps for the call. */

static void copy_pod(struct alloc_pod *dst, const struct apimsg_pod *src)
{
	*dst = (struct alloc_pod){
	        .ns = src->ns, .name = src->name, .uid = src->uid, .infra_id = src->infra_id};
}

/* ---- attach ---- */

static int op_attach(struct srv_call *call, json_t *args, json_t **ret)
{
	struct apimsg_attach_args in;
	struct attach_req req;
	struct ipamconf *ipam = NULL;
	struct alloc *a;
	bool existing;
	int r;

	if ((r = apimsg_attach_args_decode(args, &in, &call->err)) < 0)
		return r;
	req = (struct attach_req){
	        .container_id = in.container_id,
	        .ifname = in.ifname,
	        .network = in.network,
	        .devtype = in.device_type,
	        .pool = in.pool,
	        .device_id = in.device_id,
	        .netns = in.netns,
	        .has_mac = in.has_mac,
	        .mac = in.mac,
	        .mtu = in.mtu,
	        .vlan = in.vlan,
	        .config = in.config,
	};
	copy_pod(&req.pod, &in.pod);
	/* Agent IPAM: the section is a namespaced NAD's, checked here as strictly as by the CNI. */
	if (in.ipam) {
		if ((r = ipamconf_parse(in.ipam, in.ips, lease_node_name(), &ipam, &call->err)) < 0)
			return r;
		req.ipam = ipam;
	}
	r = alloc_attach(&req, &a, &existing, &call->err);
	ipamconf_free(ipam);
	if (r < 0)
		return r;
	*ret = apimsg_attach_result_encode(alloc_to_json(a), existing);
	return 0;
}

static struct srv_handler h_attach = {.op = API_OP_ATTACH, .needs_root = true, .fn = op_attach};
SRV_HANDLER_REGISTER(h_attach)

/* ---- detach ---- */

static int op_detach(struct srv_call *call, json_t *args, json_t **ret)
{
	struct apimsg_detach_args in;
	json_t *released = NULL;
	struct kb_err derr = {0};
	int r;

	if ((r = apimsg_detach_args_decode(args, &in, &call->err)) < 0)
		return r;
	r = alloc_detach(in.container_id, in.ifname, &released, &derr);
	if (r < 0) { /* nothing was changed (the state cannot be saved) */
		call->err = derr;
		return r;
	}
	/* Undo problems do not fail DEL (the device is released either way); report them. */
	*ret = apimsg_detach_result_encode(r > 0, released, derr.errnum ? derr.msg : NULL);
	return 0;
}

static struct srv_handler h_detach = {.op = API_OP_DETACH, .needs_root = true, .fn = op_detach};
SRV_HANDLER_REGISTER(h_detach)

/* ---- check ---- */

static int op_check(struct srv_call *call, json_t *args, json_t **ret)
{
	struct apimsg_check_args in;
	struct alloc *a;
	int r;

	if ((r = apimsg_check_args_decode(args, &in, &call->err)) < 0)
		return r;
	if (!(a = alloc_find(in.container_id, in.ifname)))
		return kb_err_set(
		        &call->err, ENOENT, "no allocation for %s/%s", in.container_id, in.ifname);
	if (in.mac) {
		struct mac m;
		char have[MAC_STR_LEN];
		mac_format(&a->mac, have);
		if (mac_parse(in.mac, &m) < 0 || memcmp(&m, &a->mac, sizeof(m)))
			return kb_err_set(&call->err, EIO,
			        "MAC %s does not match the allocation's %s", in.mac, have);
	}
	if ((r = alloc_check(a, &call->err)) < 0)
		return r;
	*ret = apimsg_check_result_encode(alloc_to_json(a));
	return 0;
}

static struct srv_handler h_check = {.op = API_OP_CHECK, .fn = op_check};
SRV_HANDLER_REGISTER(h_check)

/* ---- gc ---- */

struct valid_key {
	struct hmap_node node;
	const struct apimsg_attachment *at;
};

static int op_gc(struct srv_call *call, json_t *args, json_t **ret)
{
	struct hmap keys = HMAP_INITIALIZER(&keys);
	struct apimsg_gc_args in;
	struct valid_key *vk = NULL;
	struct alloc *a, *next;
	json_t *released;
	int r;

	if ((r = apimsg_gc_args_decode(args, &in, &call->err)) < 0)
		return r;
	if (in.n_valid && !(vk = calloc(in.n_valid, sizeof(*vk)))) {
		apimsg_gc_args_free(&in);
		return kb_err_set(&call->err, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < in.n_valid; i++) {
		vk[i].at = &in.valid[i];
		hmap_insert(&keys, &vk[i].node,
		        hash_str(in.valid[i].ifname, hash_str(in.valid[i].container_id, 0)));
	}
	released = json_array();
	for (a = alloc_first(); a; a = next) {
		bool keep = strcmp(a->network, in.network) != 0;
		struct valid_key *k;
		next = alloc_next(a);
		HMAP_FOR_EACH_WITH_HASH (
		        k, node, hash_str(a->ifname, hash_str(a->container_id, 0)), &keys)
			keep = keep || (!strcmp(k->at->container_id, a->container_id) &&
			                       !strcmp(k->at->ifname, a->ifname));
		if (!keep) {
			json_t *rel = NULL;
			struct kb_err derr = {0};
			/* Removal leaves the other nodes (and so `next`) in place. */
			alloc_detach(a->container_id, a->ifname, &rel, &derr);
			if (rel)
				json_array_append_new(released, rel);
		}
	}
	free(vk);
	hmap_destroy(&keys);
	apimsg_gc_args_free(&in);
	*ret = apimsg_gc_result_encode(released);
	return 0;
}

static struct srv_handler h_gc = {.op = API_OP_GC, .needs_root = true, .fn = op_gc};
SRV_HANDLER_REGISTER(h_gc)

/* ---- status ---- */

json_t *ops_status(void)
{
	char ts[32];
	struct tm tm;
	struct status_hook *h;
	bool healthy = true;
	json_t *st, *sections = json_object();

	if (!sections)
		return NULL;
	STAILQ_FOREACH (h, &status_hooks, next) {
		json_t *o = h->fn();
		if (!o)
			continue;
		healthy = healthy && !apimsg_section_unhealthy(o);
		json_object_set_new(sections, h->key, o);
	}
	gmtime_r(&started, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	st = apimsg_status_encode(&(struct apimsg_status){
	        .version = KBNET_VERSION,
	        .api_version = API_VERSION,
	        .pid = getpid(),
	        .started_at = ts,
	        .uptime_seconds = time(NULL) - started,
	        .config = agent_cfg ? cfg_source(agent_cfg) : "",
	        .pools = inv_pool_count(),
	        .devices = inv_device_count(),
	        .allocations = alloc_count(),
	        .healthy = healthy,
	        .state = agent_state ? state_status(agent_state) : NULL,
	        .api = srv_status(),
	});
	if (!st) {
		json_decref(sections);
		return NULL;
	}
	json_object_update(st, sections);
	json_decref(sections);
	return st;
}

/* Would an attach of this type (and pool) find a device? The pool rule is attach's own. */
static int status_probe(json_t *st, const struct apimsg_status_args *in)
{
	struct attach_req req = {.devtype = in->device_type, .pool = in->pool, .vlan = -1};
	struct apimsg_attach_probe p = {0};
	struct kb_err err = {0};
	struct device *d;
	struct pool *pool;

	if (alloc_resolve(&req, &pool, &d, &err) < 0) {
		p.errnum = err.errnum;
		p.message = err.msg;
	} else {
		p.pool = pool->name;
		p.resource_name = pool->resource_name;
		p.free = pool->n_free;
	}
	return apimsg_status_set_probe(st, &p);
}

static int op_status(struct srv_call *call, json_t *args, json_t **ret)
{
	struct apimsg_status_args in;
	int r;

	if ((r = apimsg_status_args_decode(args, &in, &call->err)) < 0)
		return r;
	if (!(*ret = ops_status()) || (in.device_type && status_probe(*ret, &in) < 0))
		return kb_err_set(&call->err, ENOMEM, "out of memory");
	return 0;
}

static struct srv_handler h_status = {.op = API_OP_STATUS, .fn = op_status};
SRV_HANDLER_REGISTER(h_status)

/* ---- list ---- */

static bool match_pod(const struct alloc *a, const char *pod)
{
	const char *slash = strchr(pod, '/');

	if (a->pod.uid && strcmp(a->pod.uid, pod) == 0)
		return true;
	if (!a->pod.name)
		return false;
	if (!slash)
		return strcmp(a->pod.name, pod) == 0;
	return a->pod.ns && strlen(a->pod.ns) == (size_t)(slash - pod) &&
	       strncmp(a->pod.ns, pod, slash - pod) == 0 && strcmp(a->pod.name, slash + 1) == 0;
}

static int list_allocations(struct srv_call *call, const struct apimsg_list_args *in, json_t **ret)
{
	const char *cid = in->container_id;
	struct alloc *a;
	json_t *arr;

	if (cid) {
		/* A prefix must name one container, like docker's short IDs. */
		const char *found = NULL;
		for (a = alloc_first(); a; a = alloc_next(a)) {
			if (!str_has_prefix(a->container_id, cid))
				continue;
			if (found && strcmp(found, a->container_id))
				return kb_err_set(&call->err, EINVAL,
				        "container ID prefix '%s' is ambiguous", cid);
			found = a->container_id;
		}
		cid = found ? found : cid;
	}
	arr = json_array();
	for (a = alloc_first(); a; a = alloc_next(a)) {
		if (in->pool && strcmp(a->pool, in->pool))
			continue;
		if (cid && strcmp(a->container_id, cid))
			continue;
		if (in->pod && !match_pod(a, in->pod))
			continue;
		json_array_append_new(arr, alloc_to_json(a));
	}
	*ret = apimsg_list_result_encode(APIMSG_LIST_ALLOCATIONS, arr);
	return 0;
}

static int op_list(struct srv_call *call, json_t *args, json_t **ret)
{
	struct apimsg_list_args in;
	json_t *arr;
	int r;

	if ((r = apimsg_list_args_decode(args, &in, &call->err)) < 0)
		return r;
	if (in.what == APIMSG_LIST_ALLOCATIONS)
		return list_allocations(call, &in, ret);
	arr = json_array();
	for (struct pool *p = inv_pool_first(); p; p = inv_pool_next(p)) {
		if (in.pool && strcmp(p->name, in.pool))
			continue;
		if (in.what == APIMSG_LIST_POOLS) {
			json_array_append_new(arr, inv_pool_to_json(p));
			continue;
		}
		for (size_t i = 0; i < p->n_devs; i++)
			json_array_append_new(arr, inv_device_to_json(p->devs[i]));
	}
	*ret = apimsg_list_result_encode(in.what, arr);
	return 0;
}

static struct srv_handler h_list = {.op = API_OP_LIST, .fn = op_list};
SRV_HANDLER_REGISTER(h_list)
