/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kbnet-cni: the CNI plugin (netconf type "kbnet"). It asks the node agent for a device,
 * delegates IP addresses to the IPAM plugin, writes the Multus device-info file and prints the
 * result. Commands per CNI spec 1.1.0: ADD, DEL, CHECK, GC, STATUS, VERSION.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentcall.h"
#include "cnidev.h"
#include "cnilog.h"
#include "goconf.h"
#include "api/api.h"
#include "api/apimsg.h"
#include "common/cleanup.h"
#include "common/crashpoint.h"
#include "devinfo.h"
#include "ifcfg.h"
#include "ipam.h"
#include "netconf.h"
#include "plugincfg.h"
#include "rescache.h"
#include "result.h"

static void print_json(json_t *o)
{
	if (o) {
		json_dumpf(o, stdout, JSON_COMPACT);
		fputc('\n', stdout);
	}
	fflush(stdout);
	json_decref(o);
}

/* Failures that do not change the outcome (rollback, cache) are told on stderr. */
static void warn(const char *what, const char *msg)
{
	fprintf(stderr, "kbnet-cni: warning: %s: %s\n", what, msg);
}

/* ---- ADD ---- */

static void rollback(const struct netconf *nc, const struct cni_env *env, struct ipam_ctx *ipam,
        bool ipam_added, bool attached)
{
	struct cni_err ce = {0};

	if (ipam_added && ipam_del(ipam, NULL, NULL, &ce) < 0)
		warn("rollback: IPAM DEL", ce.e.msg);
	if (attached) {
		json_t *args = apimsg_detach_args_encode(&(struct apimsg_detach_args){
		        .container_id = env->container_id, .ifname = env->ifname});
		if (agentcall(nc, API_OP_DETACH, args, NULL, &ce) < 0)
			warn("rollback: agent detach", ce.e.msg);
		json_decref(args);
	}
}

#define ATTACH_EAGAIN_TRIES   8
#define ATTACH_EAGAIN_WAIT_MS 250

static int cmd_add(const struct netconf *nc, const struct cni_env *env, struct cni_err *ce)
{
	struct cni_result *ipres = NULL, *out = NULL;
	json_t *args, *reply = NULL;
	struct apimsg_attach_result res;
	const struct apimsg_alloc *alloc = &res.alloc;
	struct ipam_ctx ipam = {0};
	bool existing, ipam_added = false, cached = false;
	struct kb_err err = {0};
	int r, idx;

	if (!(args = agentcall_attach_args(nc, env)))
		return cni_err_set(ce, CNI_ERR_INTERNAL, ENOMEM, "out of memory");
	/* EAGAIN: kubelet assigned the device to this pod a moment ago and the agent is still
	 * asking PodResources whose it is. It asks at once, so a short wait here spares the pod
	 * a failed sandbox and the runtime's back-off. Bounded: the error stands after that. */
	for (int tries = 1;; tries++) {
		r = agentcall(nc, API_OP_ATTACH, args, &reply, ce);
		if (r != -EAGAIN || tries >= ATTACH_EAGAIN_TRIES)
			break;
		usleep(ATTACH_EAGAIN_WAIT_MS * 1000);
	}
	json_decref(args);
	if (r < 0)
		return r;
	crashpoint_hit("cni-add-attached");
	/* Only what this call created is undone on failure: a repeated ADD keeps the original
	 * (decode reads "existing" first, so a malformed allocation is still undone). */
	r = apimsg_attach_result_decode(reply, &res, &err);
	existing = res.existing;
	if (r < 0) {
		r = cni_err_set(ce, CNI_ERR_INTERNAL, EPROTO, "%s", err.msg);
		goto fail;
	}

	if (nc->agent_ipam) {
		/* The agent's reply carries the addresses it committed with the device. */
		if ((r = agentcall_alloc_ipam(alloc, &ipres, ce)) < 0)
			goto fail;
		if (!ipres) {
			r = cni_err_set(ce, CNI_ERR_INTERNAL, EPROTO,
			        "the agent's attach reply has no addresses (an agent without "
			        "IPAM?)");
			goto fail;
		}
	} else if (nc->ipam) {
		if ((r = ipam_init(&ipam, nc, env, ce)) < 0)
			goto fail;
		if (existing && rescache_load(nc->cache_dir, nc->name, env->container_id,
		                        env->ifname, nc->ipam, &out, &ipres, &err) == 0) {
			cached = true;
		} else {
			if ((r = ipam_add(&ipam, &ipres, ce)) < 0)
				goto fail;
			ipam_added = true;
			crashpoint_hit("cni-add-ipam-done");
		}
	}
	if (cached && (idx = cni_result_find_iface(out, env->ifname, env->netns)) < 0) {
		/* A cached result for another netns is stale: start again from IPAM. */
		cni_result_free(out);
		cni_result_free(ipres);
		out = ipres = NULL;
		cached = false;
		if ((r = ipam_add(&ipam, &ipres, ce)) < 0)
			goto fail;
		ipam_added = true;
	}
	if (!cached) {
		out = nc->prev ? cni_result_dup(nc->prev) : cni_result_new();
		if (!out ||
		        (idx = cni_result_add_iface(out, env->ifname, alloc->mac, env->netns,
		                 alloc->mtu, alloc->endpoint.socket_path,
		                 alloc->endpoint.pci_address)) < 0 ||
		        (ipres && cni_result_merge_ipam(out, ipres, idx) < 0)) {
			r = cni_err_set(
			        ce, CNI_ERR_INTERNAL, ENOMEM, "building the result: out of memory");
			goto fail;
		}
	}
	/* Only IPAM's addresses and routes are ours to set (prevResult's belong to others). */
	if (alloc->endpoint.netdev && ipres && (ipres->n_ips || ipres->n_routes) &&
	        (r = ifcfg_apply(env->netns, env->ifname, ipres, -1, &err)) < 0) {
		cni_err_set(ce, CNI_ERR_INTERNAL, r, "configuring %s: %s", env->ifname, err.msg);
		goto fail;
	}
	if (nc->devinfo_file) {
		json_t *di = alloc->device_info;
		char owner[VAL_CONTAINER_ID_MAX + VAL_IFNAME_MAX + 2];
		snprintf(owner, sizeof(owner), "%s/%s", env->container_id, env->ifname);
		if (di && (r = devinfo_write(nc->devinfo_dir, nc->devinfo_name, owner, di, &err)) <
		                  0) {
			cni_err_set(ce, r == -EEXIST ? CNI_ERR_INVALID_CONFIG : CNI_ERR_IO, r,
			        "writing the device-info file: %s", err.msg);
			goto fail;
		}
		crashpoint_hit("cni-add-devinfo");
	}
	if (nc->ipam && !nc->agent_ipam && !cached &&
	        rescache_store(nc->cache_dir, nc->name, env->container_id, env->ifname, nc->ipam,
	                out, ipres, &err) < 0)
		warn("caching the result", err.msg);
	print_json(cni_result_to_json(out, nc->version));
	cni_result_free(out);
	cni_result_free(ipres);
	json_decref(reply);
	return 0;
fail:
	rollback(nc, env, &ipam, ipam_added, !existing);
	cni_result_free(out);
	cni_result_free(ipres);
	json_decref(reply);
	return r;
}

/* ---- DEL ---- */

static int cmd_del(const struct netconf *nc, const struct cni_env *env, struct cni_err *ce)
{
	struct cni_err agent_ce = {0};
	struct ipam_ctx ipam;
	struct kb_err err = {0};
	json_t *args;
	int r_agent, r;

	args = apimsg_detach_args_encode(&(struct apimsg_detach_args){
	        .container_id = env->container_id, .ifname = env->ifname, .netns = env->netns});
	if (!args)
		return cni_err_set(ce, CNI_ERR_INTERNAL, ENOMEM, "out of memory");
	/* "released": false (nothing held) is success: DEL is idempotent. */
	r_agent = agentcall(nc, API_OP_DETACH, args, NULL, &agent_ce);
	json_decref(args);
	crashpoint_hit("cni-del-detached");
	/*
	 * IPAM is released even when the agent is down: the lease is ours to free, and the agent
	 * failure below makes the runtime retry DEL (code 11), which then frees the device.
	 */
	if (nc->ipam && !nc->agent_ipam) {
		if ((r = ipam_init(&ipam, nc, env, ce)) < 0 ||
		        (r = ipam_del(&ipam, NULL, NULL, ce)) < 0)
			return r;
		crashpoint_hit("cni-del-ipam-done");
	}
	if (nc->devinfo_file) {
		char owner[VAL_CONTAINER_ID_MAX + VAL_IFNAME_MAX + 2];
		bool removed;
		snprintf(owner, sizeof(owner), "%s/%s", env->container_id, env->ifname);
		if (devinfo_remove(nc->devinfo_dir, nc->devinfo_name, owner, &removed, &err) < 0)
			warn("removing the device-info file", err.msg);
	}
	if (rescache_remove(nc->cache_dir, nc->name, env->container_id, env->ifname, &err) < 0)
		warn("removing the cached result", err.msg);
	if (r_agent < 0) {
		*ce = agent_ce;
		return r_agent;
	}
	return 0;
}

/* ---- CHECK ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The addresses of interface idx, sorted and comma-separated. */
static void iface_addrs(const struct cni_result *r, int idx, char *buf, size_t size)
{
	const char *v[CNI_RESULT_MAX_IPS];
	size_t n = 0, off = 0;

	for (size_t i = 0; i < r->n_ips; i++)
		if (r->ips[i].interface == idx)
			v[n++] = r->ips[i].address;
	qsort(v, n, sizeof(v[0]), cmp_str);
	buf[0] = '\0';
	for (size_t i = 0; i < n && off < size; i++)
		off += snprintf(buf + off, size - off, "%s%s", i ? "," : "", v[i]);
}

/* prevResult's addresses for our interface must be those our ADD got from IPAM. */
static int check_addrs(
        const struct netconf *nc, const struct cni_env *env, int idx, struct cni_err *ce)
{
	struct cni_result *added = NULL;
	struct kb_err err = {0};
	char want[2048], have[2048];
	int aidx, r = 0;

	/* Without the cached ADD result there is nothing to compare with (IPAM CHECK still runs).
	 */
	if (rescache_load(nc->cache_dir, nc->name, env->container_id, env->ifname, nc->ipam, &added,
	            NULL, &err) < 0)
		return 0;
	aidx = cni_result_find_iface(added, env->ifname, env->netns);
	if (aidx >= 0) {
		iface_addrs(added, aidx, want, sizeof(want));
		iface_addrs(nc->prev, idx, have, sizeof(have));
		if (strcmp(want, have) != 0)
			r = cni_err_set(ce, KB_CNI_ERR_CHECK_FAILED, EIO,
			        "%s: prevResult addresses [%s] differ from those ADD assigned [%s]",
			        env->ifname, have, want);
	}
	cni_result_free(added);
	return r;
}

/* Agent IPAM: prevResult's addresses for our interface must be those the agent holds. */
static int check_agent_addrs(const struct apimsg_alloc *alloc, const struct netconf *nc,
        const struct cni_env *env, int idx, struct cni_err *ce)
{
	struct cni_result *held = NULL;
	char want[2048], have[2048];
	int r, i;

	if ((r = agentcall_alloc_ipam(alloc, &held, ce)) < 0)
		return r;
	if (!held)
		return cni_err_set(ce, KB_CNI_ERR_CHECK_FAILED, EIO,
		        "%s: the allocation holds no addresses", env->ifname);
	for (size_t k = 0; k < held->n_ips; k++)
		held->ips[k].interface = 0;
	iface_addrs(held, 0, want, sizeof(want));
	iface_addrs(nc->prev, idx, have, sizeof(have));
	cni_result_free(held);
	i = strcmp(want, have);
	if (i != 0)
		return cni_err_set(ce, KB_CNI_ERR_CHECK_FAILED, EIO,
		        "%s: prevResult addresses [%s] differ from those the agent holds [%s]",
		        env->ifname, have, want);
	return 0;
}

static int cmd_check(const struct netconf *nc, const struct cni_env *env, struct cni_err *ce)
{
	const struct cni_iface *f;
	json_t *args, *reply = NULL;
	struct apimsg_alloc a;
	const struct apimsg_alloc *alloc = &a;
	struct ipam_ctx ipam;
	struct kb_err err = {0};
	const char *have;
	int idx, r;

	idx = cni_result_find_iface(nc->prev, env->ifname, env->netns);
	if (idx < 0)
		return cni_err_set(ce, KB_CNI_ERR_CHECK_FAILED, ENOENT,
		        "prevResult has no interface %s in sandbox %s", env->ifname, env->netns);
	f = &nc->prev->ifaces[idx];
	args = apimsg_check_args_encode(&(struct apimsg_check_args){
	        .container_id = env->container_id, .ifname = env->ifname, .mac = f->mac});
	if (!args)
		return cni_err_set(ce, CNI_ERR_INTERNAL, ENOMEM, "out of memory");
	r = agentcall(nc, API_OP_CHECK, args, &reply, ce);
	json_decref(args);
	if (r < 0) {
		/* No allocation, or it fails its check: the attachment is not as ADD left it. */
		if (ce->code != CNI_ERR_TRY_AGAIN && (r == -ENOENT || r == -EIO))
			ce->code = KB_CNI_ERR_CHECK_FAILED;
		return r;
	}
	if (apimsg_check_result_decode(reply, &a, &err) < 0) {
		r = cni_err_set(
		        ce, CNI_ERR_INTERNAL, EPROTO, "the agent's check reply: %s", err.msg);
		goto out;
	}
	if (f->socket_path && (have = alloc->endpoint.socket_path) &&
	        strcmp(have, f->socket_path) != 0) {
		r = cni_err_set(ce, KB_CNI_ERR_CHECK_FAILED, EIO,
		        "%s: prevResult socketPath %s differs from the allocation's %s",
		        env->ifname, f->socket_path, have);
		goto out;
	}
	if (f->pci_id && (have = alloc->endpoint.pci_address) && strcmp(have, f->pci_id) != 0) {
		r = cni_err_set(ce, KB_CNI_ERR_CHECK_FAILED, EIO,
		        "%s: prevResult pciID %s differs from the allocation's %s", env->ifname,
		        f->pci_id, have);
		goto out;
	}
	if (nc->agent_ipam && (r = check_agent_addrs(alloc, nc, env, idx, ce)) < 0)
		goto out;
	if (nc->ipam && !nc->agent_ipam &&
	        ((r = check_addrs(nc, env, idx, ce)) < 0 ||
	                (r = ipam_init(&ipam, nc, env, ce)) < 0 || (r = ipam_check(&ipam, ce)) < 0))
		goto out;
	if (alloc->endpoint.netdev &&
	        (r = ifcfg_check(env->netns, env->ifname, nc->prev, idx, &err)) < 0) {
		cni_err_set(ce, KB_CNI_ERR_CHECK_FAILED, r, "%s", err.msg);
		goto out;
	}
	r = 0;
out:
	json_decref(reply);
	return r;
}

/* ---- GC ---- */

struct gc_state {
	const struct netconf *nc;
	struct ipam_ctx *ipam; /* NULL without IPAM */
	unsigned failures;
	struct cni_err first;
	struct apimsg_attachment *valid; /* cni.dev/valid-attachments */
	size_t n_valid;
};

static void gc_failed(struct gc_state *gs, const struct cni_err *ce)
{
	if (!gs->failures++)
		gs->first = *ce;
	warn("GC", ce->e.msg);
}

/* Release the IPAM lease and cache entry of one stale attachment. */
static void gc_release(struct gc_state *gs, const char *cid, const char *ifname)
{
	struct cni_err ce = {0};
	struct kb_err err = {0};

	if (gs->ipam && ipam_del(gs->ipam, cid, ifname, &ce) < 0) {
		gc_failed(gs, &ce);
		return; /* keep the entry: the next GC tries again */
	}
	if (rescache_remove(gs->nc->cache_dir, gs->nc->name, cid, ifname, &err) < 0)
		warn("GC", err.msg);
}

static bool gc_is_valid(struct gc_state *gs, const char *cid, const char *ifname)
{
	for (size_t i = 0; i < gs->n_valid; i++)
		if (!strcmp(gs->valid[i].container_id, cid) && !strcmp(gs->valid[i].ifname, ifname))
			return true;
	return false;
}

static int gc_cached(const char *cid, const char *ifname, void *arg)
{
	struct gc_state *gs = arg;

	if (!gc_is_valid(gs, cid, ifname))
		gc_release(gs, cid, ifname);
	return 0;
}

static int cmd_gc(const struct netconf *nc, const struct cni_env *env, struct cni_err *ce)
{
	struct gc_state gs = {.nc = nc};
	struct cni_err one = {0};
	struct ipam_ctx ipam;
	struct kb_err err = {0};
	json_t *args, *reply = NULL, *released = NULL, *item;
	bool ran;
	size_t i;

	/* cni.dev/valid-attachments has the shape of the agent's list (netconf validated it). */
	if (apimsg_attachments_decode(nc->valid_attachments, &gs.valid, &gs.n_valid, &err) < 0)
		return cni_err_set(ce, CNI_ERR_INVALID_CONFIG, EINVAL, "%s", err.msg);
	/* Agent IPAM: the agent's gc releases the addresses with the devices. */
	if (nc->ipam && !nc->agent_ipam) {
		if (ipam_init(&ipam, nc, env, &one) < 0)
			gc_failed(&gs, &one);
		else
			gs.ipam = &ipam;
	}
	args = apimsg_gc_args_encode(&(struct apimsg_gc_args){
	        .network = nc->name, .n_valid = gs.n_valid, .valid = gs.valid});
	if (!args) {
		free(gs.valid);
		return cni_err_set(ce, CNI_ERR_INTERNAL, ENOMEM, "out of memory");
	}
	if (agentcall(nc, API_OP_GC, args, &reply, &one) < 0)
		gc_failed(&gs, &one);
	json_decref(args);
	if (reply && apimsg_gc_result_decode(reply, &released, &err) < 0)
		warn("GC", err.msg);
	json_array_foreach (released, i, item) {
		struct apimsg_alloc a;
		if (apimsg_alloc_decode(item, &a, &err) == 0)
			gc_release(&gs, a.container_id, a.ifname);
	}
	json_decref(reply);
	/* Leases of attachments the agent no longer knows (its state lost) are found here. */
	if (rescache_foreach (nc->cache_dir, nc->name, gc_cached, &gs, &err) < 0)
		warn("GC: listing cached results", err.msg);
	if (gs.ipam && ipam_gc(gs.ipam, &ran, &one) < 0)
		gc_failed(&gs, &one);
	free(gs.valid);
	if (gs.failures) {
		*ce = gs.first;
		if (gs.failures > 1)
			cni_err_details(
			        ce, "%u failures; the others were logged on stderr", gs.failures);
		return -ce->e.errnum;
	}
	return 0;
}

/* ---- STATUS ---- */

/*
 * Whether ADD would find a device is the agent's answer (its pool rule is attach's own); an
 * agent from before that answer (rolling upgrade) is asked only whether it is reachable.
 */
static int cmd_status(const struct netconf *nc, const struct cni_env *env, struct cni_err *ce)
{
	struct apimsg_status st;
	struct kb_err err = {0};
	json_t *args, *reply = NULL;
	struct ipam_ctx ipam;
	bool ran;
	int r;

	args = apimsg_status_args_encode(
	        &(struct apimsg_status_args){.device_type = nc->device_type, .pool = nc->pool});
	r = agentcall(nc, API_OP_STATUS, args, &reply, ce);
	json_decref(args);
	if (r < 0) {
		ce->code = CNI_ERR_NOT_AVAILABLE;
		return r;
	}
	r = apimsg_status_decode(reply, &st, &err);
	if (r < 0) {
		json_decref(reply);
		return cni_err_set(
		        ce, CNI_ERR_NOT_AVAILABLE, EPROTO, "kbnet agent status: %s", err.msg);
	}
	/* The spec asks for an error when the resources ADD needs are exhausted. */
	if (st.probe.answered && st.probe.errnum)
		r = cni_err_set(ce, CNI_ERR_NOT_AVAILABLE, st.probe.errnum,
		        "the kbnet agent has no pool for %s %s: %s",
		        nc->pool ? "resourceName" : "deviceType",
		        nc->pool ? nc->pool : nc->device_type, st.probe.message);
	else if (st.probe.answered && !st.probe.free)
		r = cni_err_set(ce, CNI_ERR_NOT_AVAILABLE, ENOSPC,
		        "no free device in the kbnet pool %s", st.probe.pool);
	json_decref(reply);
	if (r < 0)
		return r;
	if (nc->ipam && !nc->agent_ipam && env->cni_path &&
	        ((r = ipam_init(&ipam, nc, env, ce)) < 0 || (r = ipam_status(&ipam, &ran, ce)) < 0))
		return r;
	return 0;
}
int main(void)
{
	struct cni_env env = {0};
	struct cni_err ce = {0};
	struct netconf *nc = NULL;
	enum cni_version ver = CNI_V_NONE;
	const char *dropped = NULL;
	struct pcfg cfg;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	/* A delegated plugin may exit without reading its stdin: a write error, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	r = netconf_env_load(&env, &ce);
	if (r == 0 && env.cmd == CNI_CMD_VERSION) {
		print_json(cni_version_info());
		return 0;
	}
	/* The configuration first, so that even environment errors use the caller's version. */
	if (netconf_read(STDIN_FILENO, NETCONF_MAX_STDIN, &buf, &len, r < 0 ? NULL : &ce) == 0)
		ver = netconf_peek_version(buf, len);
	else if (r == 0)
		r = -1;
	if (r == 0 && goconf_normalize(&buf, &len) < 0)
		r = cni_err_set(&ce, CNI_ERR_INTERNAL, ENOMEM, "out of memory");
	if (r == 0)
		r = netconf_parse(buf, len, env.cmd, &nc, &ce);
	if (r == 0)
		r = pcfg_load(NULL, &cfg, &ce);
	if (r == 0)
		r = cnilog_setup(nc->root, cfg.log_dir, &ce);
	if (r == 0 && (r = netconf_confine(nc, &cfg, env.cmd, &dropped, &ce)) == 0 && dropped)
		warn("ignoring runtimeConfig.CNIDeviceInfoFile outside the device-info directory",
		        dropped);
	if (r == 0)
		r = netconf_check_env(nc, &env, &ce);
	if (r == 0 && (env.cmd == CNI_CMD_ADD || env.cmd == CNI_CMD_CHECK))
		r = cnidev_infer(nc, &ce);
	if (r == 0) {
		ver = nc->version;
		switch (env.cmd) {
		case CNI_CMD_ADD:
			r = cmd_add(nc, &env, &ce);
			break;
		case CNI_CMD_DEL:
			r = cmd_del(nc, &env, &ce);
			break;
		case CNI_CMD_CHECK:
			r = cmd_check(nc, &env, &ce);
			break;
		case CNI_CMD_GC:
			r = cmd_gc(nc, &env, &ce);
			break;
		case CNI_CMD_STATUS:
			r = cmd_status(nc, &env, &ce);
			break;
		default:
			r = cni_err_set(&ce, CNI_ERR_INVALID_ENV, EINVAL, "unexpected CNI_COMMAND");
		}
	}
	if (r < 0)
		print_json(cni_err_to_json(&ce, ver));
	if (nc) {
		static const char *const cmds[] = {[CNI_CMD_ADD] = "ADD",
		        [CNI_CMD_DEL] = "DEL",
		        [CNI_CMD_CHECK] = "CHECK",
		        [CNI_CMD_GC] = "GC",
		        [CNI_CMD_STATUS] = "STATUS"};
		const char *cn = env.cmd < sizeof(cmds) / sizeof(cmds[0]) && cmds[env.cmd]
		                         ? cmds[env.cmd]
		                         : "?";
		if (r < 0)
			cnilog(CNILOG_ERROR, "%s %s/%s network %s pod %s/%s: %s", cn,
			        env.container_id, env.ifname, nc->name, env.args.pod_namespace,
			        env.args.pod_name, ce.e.msg);
		else
			cnilog(CNILOG_INFO, "%s %s/%s network %s pod %s/%s device %s: ok", cn,
			        env.container_id, env.ifname, nc->name, env.args.pod_namespace,
			        env.args.pod_name, nc->device_id ? nc->device_id : "-");
	}
	cnilog_close();
	netconf_free(nc);
	netconf_env_free(&env);
	return r < 0 ? 1 : 0;
}
