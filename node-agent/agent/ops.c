/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/ops.h"
#include "agent/lease.h"
#include "api/ipamconf.h"
#include "agent/alloc.h"
#include "agent/inventory.h"
#include "agent/server.h"
#include "api/api.h"
#include "common/str.h"
#include "common/validate.h"

#include <errno.h>
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

/* ---- argument helpers ---- */

static int arg_str(struct srv_call *call, json_t *args, const char *key, bool required, size_t max,
        const char **ret)
{
	json_t *v = json_object_get(args, key);

	if (!v || json_is_null(v)) {
		if (required)
			return kb_err_set(&call->err, EINVAL, "'%s' is required", key);
		*ret = NULL;
		return 0;
	}
	if (!json_is_string(v))
		return kb_err_set(&call->err, EINVAL, "'%s' must be a string", key);
	if (json_string_length(v) > max)
		return kb_err_set(&call->err, EINVAL, "'%s' is longer than %zu bytes", key, max);
	*ret = json_string_value(v);
	return 0;
}

static int arg_checked(struct srv_call *call, json_t *args, const char *key, bool required,
        bool (*valid)(const char *, const char **), const char **ret)
{
	const char *why;
	int r = arg_str(call, args, key, required, VAL_PATH_MAX, ret);

	if (r < 0 || !*ret)
		return r;
	if (!valid(*ret, &why))
		return kb_err_set(&call->err, EINVAL, "'%s': %s", key, why);
	return 0;
}

static int arg_int(struct srv_call *call, json_t *args, const char *key, int min, int max, int *ret)
{
	json_t *v = json_object_get(args, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return kb_err_set(
		        &call->err, EINVAL, "'%s' must be an integer in [%d, %d]", key, min, max);
	*ret = json_integer_value(v);
	return 0;
}

static int parse_pod(struct srv_call *call, json_t *args, struct alloc_pod *pod)
{
	json_t *p = json_object_get(args, "pod");
	const char *s;
	int r;

	memset(pod, 0, sizeof(*pod));
	if (!p || json_is_null(p))
		return 0;
	if (!json_is_object(p))
		return kb_err_set(&call->err, EINVAL, "'pod' must be an object");
	if ((r = arg_checked(call, p, "namespace", false, val_k8s_namespace, &s)) < 0)
		return kb_err_prefix(&call->err, "pod");
	pod->ns = (char *)s;
	if ((r = arg_checked(call, p, "name", false, val_k8s_name, &s)) < 0)
		return kb_err_prefix(&call->err, "pod");
	pod->name = (char *)s;
	if ((r = arg_checked(call, p, "uid", false, val_pod_uid, &s)) < 0)
		return kb_err_prefix(&call->err, "pod");
	pod->uid = (char *)s;
	if ((r = arg_checked(call, p, "infraContainerID", false, val_container_id, &s)) < 0)
		return kb_err_prefix(&call->err, "pod");
	pod->infra_id = (char *)s;
	return 0;
}

static int arg_key(struct srv_call *call, json_t *args, const char **cid, const char **ifname)
{
	int r;

	if ((r = arg_checked(call, args, "containerID", true, val_container_id, cid)) < 0 ||
	        (r = arg_checked(call, args, "ifname", true, val_ifname, ifname)) < 0)
		return r;
	return 0;
}

/* ---- attach ---- */

static int op_attach(struct srv_call *call, json_t *args, json_t **ret)
{
	struct attach_req req = {.vlan = -1};
	struct ipamconf *ipam = NULL;
	const char *mac;
	json_t *config, *ipam_args;
	struct alloc *a;
	bool existing;
	int r;

	if ((r = arg_key(call, args, &req.container_id, &req.ifname)) < 0 ||
	        (r = arg_checked(call, args, "network", true, val_network, &req.network)) < 0 ||
	        (r = arg_str(call, args, "deviceType", true, 32, &req.devtype)) < 0 ||
	        (r = arg_str(call, args, "pool", false, VAL_K8S_NAME_MAX + VAL_NAME_MAX + 1,
	                 &req.pool)) < 0 ||
	        (r = arg_checked(call, args, "deviceID", false, val_device_id, &req.device_id)) <
	                0 ||
	        (r = arg_str(call, args, "netns", false, VAL_PATH_MAX, &req.netns)) < 0 ||
	        (r = arg_str(call, args, "mac", false, MAC_STR_LEN, &mac)) < 0 ||
	        (r = arg_int(call, args, "mtu", 68, 65535, &req.mtu)) < 0 ||
	        (r = arg_int(call, args, "vlan", 0, 4094, &req.vlan)) < 0 ||
	        (r = parse_pod(call, args, &req.pod)) < 0)
		return r;
	if (req.pool && !*req.pool)
		req.pool = NULL;
	if (req.netns && *req.netns) {
		const char *why;
		if (!val_abs_path(req.netns, &why))
			return kb_err_set(&call->err, EINVAL, "'netns': %s", why);
	}
	if (mac) {
		if (mac_parse(mac, &req.mac) < 0 || mac_is_multicast(&req.mac) ||
		        mac_is_zero(&req.mac))
			return kb_err_set(&call->err, EINVAL,
			        "'mac' (%s) must be a unicast address aa:bb:cc:dd:ee:ff", mac);
		req.has_mac = true;
	}
	config = json_object_get(args, "config");
	if (config && !json_is_object(config))
		return kb_err_set(&call->err, EINVAL, "'config' must be an object");
	req.config = config;
	/* Agent IPAM: the section is a namespaced NAD's, checked here as strictly as by the CNI. */
	ipam_args = json_object_get(args, "ipam");
	if (ipam_args && !json_is_null(ipam_args)) {
		if ((r = ipamconf_parse(ipam_args, json_object_get(args, "ips"), lease_node_name(),
		             &ipam, &call->err)) < 0)
			return r;
		req.ipam = ipam;
	} else if (json_object_get(args, "ips")) {
		return kb_err_set(&call->err, EINVAL, "'ips' needs an 'ipam' section");
	}
	r = alloc_attach(&req, &a, &existing, &call->err);
	ipamconf_free(ipam);
	if (r < 0)
		return r;
	*ret = json_pack("{s:o, s:b}", "allocation", alloc_to_json(a), "existing", existing);
	return 0;
}

static struct srv_handler h_attach = {.op = API_OP_ATTACH, .needs_root = true, .fn = op_attach};
SRV_HANDLER_REGISTER(h_attach)

/* ---- detach ---- */

static int op_detach(struct srv_call *call, json_t *args, json_t **ret)
{
	const char *cid, *ifname;
	json_t *released = NULL;
	struct kb_err derr = {0};
	int r;

	if ((r = arg_key(call, args, &cid, &ifname)) < 0)
		return r;
	r = alloc_detach(cid, ifname, &released, &derr);
	if (r < 0) { /* nothing was changed (the state cannot be saved) */
		call->err = derr;
		return r;
	}
	if (r == 0) {
		*ret = json_pack("{s:b}", "released", 0);
		return 0;
	}
	*ret = json_pack("{s:b, s:o*}", "released", 1, "allocation", released);
	/* Undo problems do not fail DEL (the device is released either way); report them. */
	if (derr.errnum && *ret)
		json_object_set_new(*ret, "warning", json_string(derr.msg));
	return 0;
}

static struct srv_handler h_detach = {.op = API_OP_DETACH, .needs_root = true, .fn = op_detach};
SRV_HANDLER_REGISTER(h_detach)

/* ---- check ---- */

static int op_check(struct srv_call *call, json_t *args, json_t **ret)
{
	const char *cid, *ifname, *mac;
	struct alloc *a;
	int r;

	if ((r = arg_key(call, args, &cid, &ifname)) < 0 ||
	        (r = arg_str(call, args, "mac", false, MAC_STR_LEN, &mac)) < 0)
		return r;
	if (!(a = alloc_find(cid, ifname)))
		return kb_err_set(&call->err, ENOENT, "no allocation for %s/%s", cid, ifname);
	if (mac) {
		struct mac m;
		char have[MAC_STR_LEN];
		mac_format(&a->mac, have);
		if (mac_parse(mac, &m) < 0 || memcmp(&m, &a->mac, sizeof(m)))
			return kb_err_set(&call->err, EIO,
			        "MAC %s does not match the allocation's %s", mac, have);
	}
	if ((r = alloc_check(a, &call->err)) < 0)
		return r;
	*ret = json_pack("{s:o}", "allocation", alloc_to_json(a));
	return 0;
}

static struct srv_handler h_check = {.op = API_OP_CHECK, .fn = op_check};
SRV_HANDLER_REGISTER(h_check)

/* ---- gc ---- */

struct valid_key {
	struct hmap_node node;
	const char *cid, *ifname;
};

static int op_gc(struct srv_call *call, json_t *args, json_t **ret)
{
	json_t *valid = json_object_get(args, "valid"), *released, *item;
	struct hmap keys = HMAP_INITIALIZER(&keys);
	struct valid_key *vk = NULL;
	const char *network;
	struct alloc *a, *next;
	size_t i, n;
	int r;

	if ((r = arg_checked(call, args, "network", true, val_network, &network)) < 0)
		return r;
	if (!json_is_array(valid))
		return kb_err_set(&call->err, EINVAL, "'valid' must be an array");
	n = json_array_size(valid);
	if (n && !(vk = calloc(n, sizeof(*vk))))
		return kb_err_set(&call->err, ENOMEM, "out of memory");
	json_array_foreach (valid, i, item) {
		if (!json_is_object(item) || arg_key(call, item, &vk[i].cid, &vk[i].ifname) < 0) {
			free(vk);
			hmap_destroy(&keys);
			if (!call->err.errnum)
				kb_err_set(&call->err, EINVAL, "'valid' items must be objects");
			return kb_err_prefix(&call->err, "valid[%zu]", i);
		}
		hmap_insert(&keys, &vk[i].node, hash_str(vk[i].ifname, hash_str(vk[i].cid, 0)));
	}
	released = json_array();
	for (a = alloc_first(); a; a = next) {
		bool keep = strcmp(a->network, network) != 0;
		struct valid_key *k;
		next = alloc_next(a);
		HMAP_FOR_EACH_WITH_HASH (
		        k, node, hash_str(a->ifname, hash_str(a->container_id, 0)), &keys)
			keep = keep ||
			       (!strcmp(k->cid, a->container_id) && !strcmp(k->ifname, a->ifname));
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
	*ret = json_pack("{s:o}", "released", released);
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
	json_t *st;

	gmtime_r(&started, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	st = json_pack("{s:s, s:i, s:i, s:s, s:I, s:s, s:I, s:I, s:I}", "version", KBNET_VERSION,
	        "apiVersion", API_VERSION, "pid", (int)getpid(), "startedAt", ts, "uptimeSeconds",
	        (json_int_t)(time(NULL) - started), "config",
	        agent_cfg ? cfg_source(agent_cfg) : "", "pools", (json_int_t)inv_pool_count(),
	        "devices", (json_int_t)inv_device_count(), "allocations",
	        (json_int_t)alloc_count());
	if (!st)
		return NULL;
	if (agent_state)
		json_object_set_new(st, "state", state_status(agent_state));
	json_object_set_new(st, "api", srv_status());
	STAILQ_FOREACH (h, &status_hooks, next) {
		json_t *o = h->fn();
		if (!o)
			continue;
		if (json_is_false(json_object_get(o, "healthy")))
			healthy = false;
		json_object_set_new(st, h->key, o);
	}
	json_object_set_new(st, "healthy", json_boolean(healthy));
	return st;
}

static int op_status(struct srv_call *call, json_t *args, json_t **ret)
{
	(void)args;
	if (!(*ret = ops_status()))
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

static int list_allocations(struct srv_call *call, json_t *args, json_t **ret)
{
	const char *pool, *cid, *pod;
	struct alloc *a;
	json_t *arr;
	int r;

	if ((r = arg_str(call, args, "pool", false, VAL_NAME_MAX, &pool)) < 0 ||
	        (r = arg_str(call, args, "containerID", false, VAL_CONTAINER_ID_MAX, &cid)) < 0 ||
	        (r = arg_str(call, args, "pod", false, VAL_K8S_NAMESPACE_MAX + VAL_K8S_NAME_MAX + 1,
	                 &pod)) < 0)
		return r;
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
		if (pool && strcmp(a->pool, pool))
			continue;
		if (cid && strcmp(a->container_id, cid))
			continue;
		if (pod && !match_pod(a, pod))
			continue;
		json_array_append_new(arr, alloc_to_json(a));
	}
	*ret = json_pack("{s:o}", "allocations", arr);
	return 0;
}

static int op_list(struct srv_call *call, json_t *args, json_t **ret)
{
	const char *what, *pool;
	json_t *arr;
	int r;

	if ((r = arg_str(call, args, "what", true, 32, &what)) < 0 ||
	        (r = arg_str(call, args, "pool", false, VAL_NAME_MAX, &pool)) < 0)
		return r;
	if (strcmp(what, "allocations") == 0)
		return list_allocations(call, args, ret);
	if (strcmp(what, "pools") && strcmp(what, "devices"))
		return kb_err_set(
		        &call->err, EINVAL, "'what' must be pools, devices or allocations");
	arr = json_array();
	for (struct pool *p = inv_pool_first(); p; p = inv_pool_next(p)) {
		if (pool && strcmp(p->name, pool))
			continue;
		if (what[0] == 'p') {
			json_array_append_new(arr, inv_pool_to_json(p));
			continue;
		}
		for (size_t i = 0; i < p->n_devs; i++)
			json_array_append_new(arr, inv_device_to_json(p->devs[i]));
	}
	*ret = json_pack("{s:o}", what, arr);
	return 0;
}

static struct srv_handler h_list = {.op = API_OP_LIST, .fn = op_list};
SRV_HANDLER_REGISTER(h_list)
