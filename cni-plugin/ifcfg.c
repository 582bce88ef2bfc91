/* SPDX-License-Identifier: Apache-2.0 */
#include "ifcfg.h"
#include "common/cleanup.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* libmnl's buffer macros are sysconf()-sized: fixed sizes keep these off VLAs. */
#define IFCFG_MSG_SIZE  8192
#define IFCFG_RECV_SIZE 32768
#define IFCFG_TIMEOUT_S 5

struct nl {
	struct mnl_socket *sock;
	unsigned portid, seq;
};

static void nl_close(struct nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
}

static int nl_open_in(const char *netns, struct nl *nl, struct kb_err *err)
{
	_cleanup_close_ int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int target = open(netns, O_RDONLY | O_CLOEXEC);
	int saved;

	memset(nl, 0, sizeof(*nl));
	if (self < 0)
		return kb_err_set(err, errno, "opening our network namespace: %s", strerror(errno));
	if (target < 0)
		return kb_err_set(err, errno, "opening netns %s: %s", netns, strerror(errno));
	if (setns(target, CLONE_NEWNET) < 0)
		return kb_err_set(err, errno, "entering netns %s: %s", netns, strerror(errno));
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	saved = errno;
	/* The socket stays bound to the namespace it was created in. */
	if (setns(self, CLONE_NEWNET) < 0) {
		int e = errno;
		nl_close(nl);
		return kb_err_set(err, e, "returning to our network namespace: %s", strerror(e));
	}
	if (!nl->sock)
		return kb_err_set(err, saved, "netlink socket: %s", strerror(saved));
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		saved = errno;
		nl_close(nl);
		return kb_err_set(err, saved, "netlink bind: %s", strerror(saved));
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	/* The kernel answers at once; a bound keeps a surprise from hanging the runtime. */
	struct timeval tv = {.tv_sec = IFCFG_TIMEOUT_S};
	setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return 0;
}

/* Send one request (acked) and run cb on each reply message; -errno from the kernel's ack. */
static int nl_talk(struct nl *nl, struct nlmsghdr *nlh, bool dump, mnl_cb_t cb, void *data)
{
	char buf[IFCFG_RECV_SIZE];
	int r;

	/*
	 * Dumps end with NLMSG_DONE; everything else is acked so errors come back. (The flag bits
	 * overlap: NLM_F_REPLACE is NLM_F_ROOT, so the caller says which it is.)
	 */
	nlh->nlmsg_flags |= NLM_F_REQUEST | (dump ? NLM_F_DUMP : NLM_F_ACK);
	nlh->nlmsg_seq = ++nl->seq;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		ssize_t n = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		r = mnl_cb_run(buf, n, nlh->nlmsg_seq, nl->portid, cb, data);
	} while (r > 0);
	return r < 0 ? -errno : 0;
}

struct link_info {
	int index;
	unsigned flags;
};

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct link_info *li = data;

	if (nlh->nlmsg_type == RTM_NEWLINK) {
		li->index = ifi->ifi_index;
		li->flags = ifi->ifi_flags;
	}
	return MNL_CB_OK;
}

static int link_get(struct nl *nl, const char *ifname, struct link_info *li)
{
	char buf[IFCFG_MSG_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = RTM_GETLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	li->index = 0;
	int r = nl_talk(nl, nlh, false, link_cb, li);
	if (r == 0 && !li->index)
		r = -ENODEV;
	return r;
}

static int link_up(struct nl *nl, int index)
{
	char buf[IFCFG_MSG_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = RTM_NEWLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	return nl_talk(nl, nlh, false, NULL, NULL);
}

static int addr_add(struct nl *nl, int index, const struct cni_ip *ip)
{
	char buf[IFCFG_MSG_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	unsigned char a[16];
	struct ifaddrmsg *ifa;
	unsigned plen;
	int fam;

	if (cni_parse_cidr(ip->address, &fam, a, &plen) < 0)
		return -EINVAL;
	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = fam;
	ifa->ifa_prefixlen = plen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = index;
	/* The pod can use its IPv6 address (and routes via it) at once, with no DAD wait. */
	ifa->ifa_flags = fam == AF_INET6 ? IFA_F_NODAD : 0;
	mnl_attr_put(nlh, IFA_LOCAL, fam == AF_INET ? 4 : 16, a);
	mnl_attr_put(nlh, IFA_ADDRESS, fam == AF_INET ? 4 : 16, a);
	if (fam == AF_INET && plen < 31) {
		uint32_t v4, mask = plen ? htonl(~0u << (32 - plen)) : 0;
		memcpy(&v4, a, 4);
		v4 |= ~mask;
		mnl_attr_put(nlh, IFA_BROADCAST, 4, &v4);
	}
	return nl_talk(nl, nlh, false, NULL, NULL);
}

/* Zero the host bits, as the kernel wants a network for a route destination. */
static void mask_prefix(unsigned char *a, unsigned plen, int fam)
{
	unsigned bytes = fam == AF_INET ? 4 : 16;

	for (unsigned i = 0; i < bytes; i++) {
		int keep = (int)plen - (int)(i * 8);
		if (keep <= 0)
			a[i] = 0;
		else if (keep < 8)
			a[i] &= (unsigned char)(0xff << (8 - keep));
	}
}

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

static int route_add(struct nl *nl, int index, const struct cni_route *rt, const char *gw)
{
	char buf[IFCFG_MSG_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	unsigned char dst[16], g[16];
	struct nlattr *metrics;
	struct rtmsg *rtm;
	unsigned plen;
	int fam, gfam;

	if (cni_parse_cidr(rt->dst, &fam, dst, &plen) < 0 ||
	        (gw && (cni_parse_ip(gw, &gfam, g) < 0 || gfam != fam)))
		return -EINVAL;
	mask_prefix(dst, plen, fam);
	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = fam;
	rtm->rtm_dst_len = plen;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_type = RTN_UNICAST;
	rtm->rtm_scope = rt->scope >= 0 ? rt->scope : gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rtm->rtm_table = rt->table >= 0 && rt->table < 256 ? rt->table : RT_TABLE_MAIN;
	if (rt->table >= 256)
		mnl_attr_put_u32(nlh, RTA_TABLE, rt->table);
	if (plen)
		mnl_attr_put(nlh, RTA_DST, fam == AF_INET ? 4 : 16, dst);
	if (gw)
		mnl_attr_put(nlh, RTA_GATEWAY, fam == AF_INET ? 4 : 16, g);
	mnl_attr_put_u32(nlh, RTA_OIF, index);
	if (rt->priority >= 0)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, rt->priority);
	if (rt->mtu >= 0 || rt->advmss >= 0) {
		metrics = mnl_attr_nest_start(nlh, RTA_METRICS);
		if (rt->mtu >= 0)
			mnl_attr_put_u32(nlh, RTAX_MTU, rt->mtu);
		if (rt->advmss >= 0)
			mnl_attr_put_u32(nlh, RTAX_ADVMSS, rt->advmss);
		mnl_attr_nest_end(nlh, metrics);
	}
	return nl_talk(nl, nlh, false, NULL, NULL);
}

static bool ip_is_ours(const struct cni_ip *ip, int iface)
{
	return ip->interface < 0 || ip->interface == iface;
}

int ifcfg_apply(const char *netns, const char *ifname, const struct cni_result *r, int iface,
        struct kb_err *err)
{
	struct link_info li;
	struct nl nl;
	int rc;

	if ((rc = nl_open_in(netns, &nl, err)) < 0)
		return rc;
	if ((rc = link_get(&nl, ifname, &li)) < 0) {
		kb_err_set(err, rc, "interface %s in %s: %s", ifname, netns, strerror(-rc));
		goto out;
	}
	for (size_t i = 0; i < r->n_ips; i++) {
		if (!ip_is_ours(&r->ips[i], iface))
			continue;
		if ((rc = addr_add(&nl, li.index, &r->ips[i])) < 0) {
			kb_err_set(err, rc, "adding %s to %s: %s", r->ips[i].address, ifname,
			        strerror(-rc));
			goto out;
		}
	}
	if ((rc = link_up(&nl, li.index)) < 0) {
		kb_err_set(err, rc, "setting %s up: %s", ifname, strerror(-rc));
		goto out;
	}
	for (size_t i = 0; i < r->n_routes; i++) {
		const struct cni_route *rt = &r->routes[i];
		const char *gw = rt->gw[0] ? rt->gw : default_gw(r, iface, rt->family);
		if ((rc = route_add(&nl, li.index, rt, gw)) < 0) {
			kb_err_set(err, rc, "adding route %s%s%s on %s: %s", rt->dst,
			        gw ? " via " : "", gw ? gw : "", ifname, strerror(-rc));
			goto out;
		}
	}
out:
	nl_close(&nl);
	return rc;
}

struct addr_list {
	int index;
	size_t n;
	struct {
		int family;
		unsigned plen;
		unsigned char a[16];
	} v[256];
};

static int addr_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, IFA_MAX) > 0)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFA_MAX + 1] = {0};
	struct addr_list *l = data;
	const struct nlattr *a;
	size_t alen = ifa->ifa_family == AF_INET ? 4 : 16;

	if (nlh->nlmsg_type != RTM_NEWADDR || (int)ifa->ifa_index != l->index ||
	        l->n >= sizeof(l->v) / sizeof(l->v[0]))
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ifa), addr_attr_cb, tb);
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!a || mnl_attr_get_payload_len(a) < alen)
		return MNL_CB_OK;
	l->v[l->n].family = ifa->ifa_family;
	l->v[l->n].plen = ifa->ifa_prefixlen;
	memcpy(l->v[l->n].a, mnl_attr_get_payload(a), alen);
	l->n++;
	return MNL_CB_OK;
}

int ifcfg_check(const char *netns, const char *ifname, const struct cni_result *r, int iface,
        struct kb_err *err)
{
	char buf[IFCFG_MSG_SIZE];
	struct addr_list *l = NULL;
	struct link_info li;
	struct nlmsghdr *nlh;
	struct rtgenmsg *g;
	struct nl nl;
	int rc;

	if ((rc = nl_open_in(netns, &nl, err)) < 0)
		return rc;
	if ((rc = link_get(&nl, ifname, &li)) < 0) {
		kb_err_set(err, EIO, "interface %s is missing in %s: %s", ifname, netns,
		        strerror(-rc));
		rc = -EIO;
		goto out;
	}
	if (!(li.flags & IFF_UP)) {
		rc = kb_err_set(err, EIO, "interface %s in %s is down", ifname, netns);
		goto out;
	}
	if (!(l = calloc(1, sizeof(*l)))) {
		rc = kb_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	l->index = li.index;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETADDR;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->rtgen_family = AF_UNSPEC;
	if ((rc = nl_talk(&nl, nlh, true, addr_cb, l)) < 0) {
		kb_err_set(err, rc, "listing addresses in %s: %s", netns, strerror(-rc));
		goto out;
	}
	for (size_t i = 0; i < r->n_ips; i++) {
		unsigned char a[16];
		unsigned plen;
		int fam;
		bool found = false;

		if (!ip_is_ours(&r->ips[i], iface) ||
		        cni_parse_cidr(r->ips[i].address, &fam, a, &plen) < 0)
			continue;
		for (size_t k = 0; k < l->n && !found; k++)
			found = l->v[k].family == fam && l->v[k].plen == plen &&
			        memcmp(l->v[k].a, a, fam == AF_INET ? 4 : 16) == 0;
		if (!found) {
			rc = kb_err_set(err, EIO, "address %s is missing on %s in %s",
			        r->ips[i].address, ifname, netns);
			goto out;
		}
	}
out:
	free(l);
	nl_close(&nl);
	return rc;
}
