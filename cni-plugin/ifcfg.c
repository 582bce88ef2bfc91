/* SPDX-License-Identifier: Apache-2.0 */
#include "ifcfg.h"
#include "lib/netlink/netns.h"
#include "lib/netlink/nladdr.h"
#include "lib/netlink/nllink.h"
#include "lib/netlink/nlroute.h"

#include <errno.h>
#include <linux/if_addr.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* The addresses ifcfg_check looks at on one interface (more are not read). */
#define IFCFG_MAX_ADDRS 256

static const char *default_gw(const struct cni_result *r, int iface, int fam)
{
	for (size_t i = 0; i < r->n_ips; i++) {
		const struct cni_ip *ip = &r->ips[i];
		if (ip->family == fam && ip->gateway[0] &&
		        (ip->interface < 0 || ip->interface == iface))
			return ip->gateway;
	}
	return NULL;
}

static int addr_add(struct nlsock *s, int index, const struct cni_ip *ip, struct kb_err *err)
{
	struct nladdr a = {0};

	if (cni_parse_cidr(ip->address, &a.family, a.addr, &a.plen) < 0)
		return kb_err_set(err, EINVAL, "bad address");
	/* The pod can use its IPv6 address (and routes via it) at once, with no DAD wait. */
	a.ifa_flags = a.family == AF_INET6 ? IFA_F_NODAD : 0;
	return nladdr_add(s, index, &a, err);
}

static int route_add(
        struct nlsock *s, int index, const struct cni_route *rt, const char *gw, struct kb_err *err)
{
	struct nlroute nr = NLROUTE_INIT;
	int gfam;

	if (cni_parse_cidr(rt->dst, &nr.family, nr.dst, &nr.dst_len) < 0 ||
	        (gw && (cni_parse_ip(gw, &gfam, nr.gw) < 0 || gfam != nr.family)))
		return kb_err_set(err, EINVAL, "bad route");
	nr.has_gw = gw != NULL;
	nr.oif = index;
	nr.scope = rt->scope;
	nr.table = rt->table;
	nr.priority = rt->priority;
	nr.mtu = rt->mtu;
	nr.advmss = rt->advmss;
	return nlroute_add(s, &nr, err);
}

static bool ip_is_ours(const struct cni_ip *ip, int iface)
{
	return ip->interface < 0 || ip->interface == iface;
}

int ifcfg_apply(const char *netns, const char *ifname, const struct cni_result *r, int iface,
        struct kb_err *err)
{
	struct kb_err e = {0};
	struct nllink_info li;
	struct nlsock *s;
	int rc;

	if ((rc = netns_route_at(netns, &s, err)) < 0)
		return rc;
	if ((rc = nllink_get(s, 0, ifname, &li, &e)) < 0) {
		kb_err_set(err, rc, "interface %s in %s: %s", ifname, netns, strerror(-rc));
		goto out;
	}
	for (size_t i = 0; i < r->n_ips; i++) {
		if (!ip_is_ours(&r->ips[i], iface))
			continue;
		if ((rc = addr_add(s, li.ifindex, &r->ips[i], &e)) < 0) {
			kb_err_set(err, rc, "adding %s to %s: %s", r->ips[i].address, ifname,
			        strerror(-rc));
			goto out;
		}
	}
	if ((rc = nllink_set_up(s, li.ifindex, true, &e)) < 0) {
		kb_err_set(err, rc, "setting %s up: %s", ifname, strerror(-rc));
		goto out;
	}
	for (size_t i = 0; i < r->n_routes; i++) {
		const struct cni_route *rt = &r->routes[i];
		const char *gw = rt->gw[0] ? rt->gw : default_gw(r, iface, rt->family);
		if ((rc = route_add(s, li.ifindex, rt, gw, &e)) < 0) {
			kb_err_set(err, rc, "adding route %s%s%s on %s: %s", rt->dst,
			        gw ? " via " : "", gw ? gw : "", ifname, strerror(-rc));
			goto out;
		}
	}
out:
	nlsock_close(s);
	return rc;
}

int ifcfg_check(const char *netns, const char *ifname, const struct cni_result *r, int iface,
        struct kb_err *err)
{
	struct nladdr *have = NULL;
	struct kb_err e = {0};
	struct nllink_info li;
	struct nlsock *s;
	size_t n = 0;
	int rc;

	if ((rc = netns_route_at(netns, &s, err)) < 0)
		return rc;
	if ((rc = nllink_get(s, 0, ifname, &li, &e)) < 0) {
		kb_err_set(err, EIO, "interface %s is missing in %s: %s", ifname, netns,
		        strerror(-rc));
		rc = -EIO;
		goto out;
	}
	if (!li.up) {
		rc = kb_err_set(err, EIO, "interface %s in %s is down", ifname, netns);
		goto out;
	}
	if (!(have = calloc(IFCFG_MAX_ADDRS, sizeof(*have)))) {
		rc = kb_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = nladdr_list(s, li.ifindex, have, IFCFG_MAX_ADDRS, &n, &e)) < 0) {
		kb_err_set(err, rc, "listing addresses in %s: %s", netns, strerror(-rc));
		goto out;
	}
	for (size_t i = 0; i < r->n_ips; i++) {
		struct nladdr want = {0};
		bool found = false;

		if (!ip_is_ours(&r->ips[i], iface) ||
		        cni_parse_cidr(r->ips[i].address, &want.family, want.addr, &want.plen) < 0)
			continue;
		for (size_t k = 0; k < n && !found; k++)
			found = have[k].family == want.family && have[k].plen == want.plen &&
			        memcmp(have[k].addr, want.addr, want.family == AF_INET ? 4 : 16) ==
			                0;
		if (!found) {
			rc = kb_err_set(err, EIO, "address %s is missing on %s in %s",
			        r->ips[i].address, ifname, netns);
			goto out;
		}
	}
out:
	free(have);
	nlsock_close(s);
	return rc;
}
