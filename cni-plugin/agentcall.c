/* SPDX-License-Identifier: Apache-2.0 */
#include "agentcall.h"
#include "api/client.h"

#include <errno.h>
#include <string.h>

int agentcall_code(int errnum, bool remote)
{
	if (errnum < 0)
		errnum = -errnum;
	if (!remote)
		return CNI_ERR_TRY_AGAIN;
	switch (errnum) {
	case EINVAL:
	case ENODEV:
		return CNI_ERR_INVALID_CONFIG;
	case ENOSPC:
		return KB_CNI_ERR_POOL_EXHAUSTED;
	case EBUSY:
		return KB_CNI_ERR_DEVICE_BUSY;
	case EEXIST:
		return KB_CNI_ERR_ATTACHMENT_EXISTS;
	case EADDRNOTAVAIL:
		return KB_CNI_ERR_ADDRS_EXHAUSTED;
	case EADDRINUSE:
		return KB_CNI_ERR_ADDR_IN_USE;
	case EAGAIN:
		return CNI_ERR_TRY_AGAIN;
	default:
		return CNI_ERR_INTERNAL;
	}
}

int agentcall(
        const struct netconf *nc, const char *op, json_t *args, json_t **ret, struct cni_err *ce)
{
	struct apicl *c = NULL;
	struct kb_err err = {0};
	int r;

	if ((r = apicl_connect(nc->agent_socket, nc->agent_timeout_ms, &c, &err)) == 0) {
		r = apicl_call(c, op, args, ret, &err);
		if (r < 0 && apicl_remote_error(c)) {
			cni_err_set(ce, agentcall_code(r, true), r, "kbnet agent: %s", err.msg);
			cni_err_details(ce, "agent %s failed with %s", op, kb_errno_name(r));
			apicl_close(c);
			return r;
		}
		apicl_close(c);
	}
	if (r < 0) {
		cni_err_set(ce, CNI_ERR_TRY_AGAIN, r, "kbnet agent at %s is not available: %s",
		        nc->agent_socket, err.msg);
		cni_err_details(ce, "agent %s: %s", op, kb_errno_name(r));
	}
	return r;
}

json_t *agentcall_attach_args(const struct netconf *nc, const struct cni_env *env)
{
	const struct cni_args *a = &env->args;
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "containerID", env->container_id, "ifname",
	        env->ifname, "network", nc->name, "deviceType", nc->device_type);

	if (!o)
		return NULL;
	if (env->netns[0])
		json_object_set_new(o, "netns", json_string(env->netns));
	if (nc->pool)
		json_object_set_new(o, "pool", json_string(nc->pool));
	if (nc->device_id)
		json_object_set_new(o, "deviceID", json_string(nc->device_id));
	if (nc->mac)
		json_object_set_new(o, "mac", json_string(nc->mac));
	if (nc->mtu)
		json_object_set_new(o, "mtu", json_integer(nc->mtu));
	if (nc->vlan >= 0)
		json_object_set_new(o, "vlan", json_integer(nc->vlan));
	if (a->pod_namespace[0] || a->pod_name[0] || a->pod_uid[0] || a->pod_infra_id[0]) {
		json_t *pod = json_object();
		if (a->pod_namespace[0])
			json_object_set_new(pod, "namespace", json_string(a->pod_namespace));
		if (a->pod_name[0])
			json_object_set_new(pod, "name", json_string(a->pod_name));
		if (a->pod_uid[0])
			json_object_set_new(pod, "uid", json_string(a->pod_uid));
		if (a->pod_infra_id[0])
			json_object_set_new(pod, "infraContainerID", json_string(a->pod_infra_id));
		json_object_set_new(o, "pod", pod);
	}
	if (nc->dev_config)
		json_object_set(o, "config", nc->dev_config);
	/* Agent IPAM: the agent allocates device and addresses in one durable record. */
	if (nc->agent_ipam) {
		json_object_set(o, "ipam", nc->ipam);
		if (nc->ipam_ips)
			json_object_set(o, "ips", nc->ipam_ips);
	}
	return o;
}

const char *agentcall_alloc_str(json_t *alloc, const char *key)
{
	return json_string_value(json_object_get(alloc, key));
}

bool agentcall_alloc_is_netdev(json_t *alloc)
{
	return json_is_true(json_object_get(json_object_get(alloc, "vf"), "netdev")) ||
	       json_is_true(json_object_get(json_object_get(alloc, "vdpa"), "netdev")) ||
	       json_is_true(json_object_get(json_object_get(alloc, "kernel"), "netdev"));
}

const char *agentcall_alloc_socket(json_t *alloc)
{
	return json_string_value(
	        json_object_get(json_object_get(alloc, "vhostUser"), "socketPath"));
}

const char *agentcall_alloc_pci(json_t *alloc)
{
	const char *s =
	        json_string_value(json_object_get(json_object_get(alloc, "vf"), "pciAddress"));

	return s ? s
	         : json_string_value(json_object_get(json_object_get(alloc, "vdpa"), "pciAddress"));
}

int agentcall_alloc_ipam(json_t *alloc, struct cni_result **ret, struct cni_err *ce)
{
	json_t *ipam = json_object_get(alloc, "ipam"), *res, *ips, *ip;
	size_t i;
	int r;

	*ret = NULL;
	if (!ipam)
		return 0;
	/* Only the result's keys: "range" is the agent's bookkeeping. */
	res = json_pack("{s:s, s:[]}", "cniVersion", "1.0.0", "ips");
	ips = json_object_get(res, "ips");
	json_array_foreach (json_object_get(ipam, "ips"), i, ip) {
		json_t *e = json_pack("{s:O}", "address", json_object_get(ip, "address"));
		if (e && json_object_get(ip, "gateway"))
			json_object_set(e, "gateway", json_object_get(ip, "gateway"));
		json_array_append_new(ips, e);
	}
	if (json_object_get(ipam, "routes"))
		json_object_set(res, "routes", json_object_get(ipam, "routes"));
	if (json_object_get(ipam, "dns"))
		json_object_set(res, "dns", json_object_get(ipam, "dns"));
	if (!res)
		return cni_err_set(ce, CNI_ERR_INTERNAL, ENOMEM, "out of memory");
	r = cni_result_parse(res, CNI_V_1_0_0, ret, ce);
	json_decref(res);
	if (r < 0)
		return cni_err_set(ce, CNI_ERR_INTERNAL, EPROTO,
		        "the agent's IPAM addresses are malformed: %s", ce->e.msg);
	return 0;
}
