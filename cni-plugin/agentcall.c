/* SPDX-License-Identifier: Apache-2.0 */
#include "agentcall.h"
#include "api/client.h"
#include "api/apimsg.h"

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
	struct apimsg_attach_args in = {
	        .container_id = env->container_id,
	        .ifname = env->ifname,
	        .network = nc->name,
	        .device_type = nc->device_type,
	        .pool = nc->pool,
	        .device_id = nc->device_id,
	        .netns = env->netns,
	        .pod = {.ns = a->pod_namespace[0] ? a->pod_namespace : NULL,
	                .name = a->pod_name[0] ? a->pod_name : NULL,
	                .uid = a->pod_uid[0] ? a->pod_uid : NULL,
	                .infra_id = a->pod_infra_id[0] ? a->pod_infra_id : NULL},
	        .mtu = nc->mtu,
	        .vlan = nc->vlan,
	        .config = nc->dev_config,
	};

	/* netconf validated the MAC: it parses. */
	if (nc->mac)
		in.has_mac = mac_parse(nc->mac, &in.mac) == 0;
	/* Agent IPAM: the agent allocates device and addresses in one durable record. */
	if (nc->agent_ipam) {
		in.ipam = nc->ipam;
		in.ips = nc->ipam_ips;
	}
	return apimsg_attach_args_encode(&in);
}

int agentcall_alloc_ipam(
        const struct apimsg_alloc *alloc, struct cni_result **ret, struct cni_err *ce)
{
	struct apimsg_ipam ipam;
	struct kb_err err = {0};
	json_t *res, *ips;
	int r;

	*ret = NULL;
	if (!alloc->ipam)
		return 0;
	if (apimsg_ipam_decode(alloc->ipam, &ipam, &err) < 0)
		return cni_err_set(ce, CNI_ERR_INTERNAL, EPROTO,
		        "the agent's IPAM addresses are malformed: %s", err.msg);
	/* A CNI IPAM result of the addresses (the agent's "range" bookkeeping left out). */
	res = json_pack("{s:s, s:[]}", "cniVersion", "1.0.0", "ips");
	ips = json_object_get(res, "ips");
	for (size_t i = 0; ips && i < ipam.n_ips; i++) {
		json_t *e = json_pack("{s:s}", "address", ipam.ips[i].address);
		if (e && ipam.ips[i].gateway)
			json_object_set_new(e, "gateway", json_string(ipam.ips[i].gateway));
		json_array_append_new(ips, e);
	}
	if (res && ipam.routes)
		json_object_set(res, "routes", ipam.routes);
	if (res && ipam.dns)
		json_object_set(res, "dns", ipam.dns);
	if (!res)
		return cni_err_set(ce, CNI_ERR_INTERNAL, ENOMEM, "out of memory");
	r = cni_result_parse(res, CNI_V_1_0_0, ret, ce);
	json_decref(res);
	if (r < 0)
		return cni_err_set(ce, CNI_ERR_INTERNAL, EPROTO,
		        "the agent's IPAM addresses are malformed: %s", ce->e.msg);
	return 0;
}
