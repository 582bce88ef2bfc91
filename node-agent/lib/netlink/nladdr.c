/* SPDX-License-Identifier: Apache-2.0 */
#include "lib/netlink/nladdr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* One address message with its attributes: well under this. */
#define NLADDR_MSG_SIZE 512

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

int nladdr_add(struct nlsock *s, int ifindex, const struct nladdr *a, struct kb_err *err)
{
	char buf[NLADDR_MSG_SIZE], what[96], text[INET6_ADDRSTRLEN];
	struct nlmsghdr *nlh;
	size_t alen = addr_len(a->family);
	struct ifaddrmsg *ifa;

	if (!alen || a->plen > alen * 8)
		return kb_err_set(err, EINVAL, "bad address (family %d, /%u)", a->family, a->plen);
	inet_ntop(a->family, a->addr, text, sizeof(text));
	snprintf(what, sizeof(what), "adding %s/%u to link %d", text, a->plen, ifindex);
	nlh = nlsock_msg(s, buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	*ifa = (struct ifaddrmsg){.ifa_family = a->family,
	        .ifa_prefixlen = a->plen,
	        .ifa_flags = a->ifa_flags,
	        .ifa_scope = RT_SCOPE_UNIVERSE,
	        .ifa_index = ifindex};
	mnl_attr_put(nlh, IFA_LOCAL, alen, a->addr);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, a->addr);
	if (a->family == AF_INET && a->plen < 31) {
		uint32_t v4, mask = a->plen ? htonl(~0u << (32 - a->plen)) : 0;
		memcpy(&v4, a->addr, 4);
		v4 |= ~mask;
		mnl_attr_put(nlh, IFA_BROADCAST, 4, &v4);
	}
	return nlsock_request(s, nlh, NULL, NULL, what, err);
}

struct list_ctx {
	int ifindex;
	struct nladdr *v;
	size_t max, n;
};

static int list_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr, *local = NULL, *address = NULL;
	struct list_ctx *l = data;
	size_t alen;

	if (nlh->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return 0;
	alen = addr_len(ifa->ifa_family);
	if ((int)ifa->ifa_index != l->ifindex || !alen || l->n >= l->max)
		return 0;
	mnl_attr_for_each (attr, nlh, sizeof(*ifa)) {
		if (mnl_attr_get_type(attr) == IFA_LOCAL)
			local = attr;
		else if (mnl_attr_get_type(attr) == IFA_ADDRESS)
			address = attr;
	}
	/* IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer's on a p2p link). */
	attr = local ? local : address;
	if (!attr || mnl_attr_get_payload_len(attr) < alen)
		return 0;
	memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
	l->v[l->n].family = ifa->ifa_family;
	l->v[l->n].plen = ifa->ifa_prefixlen;
	l->v[l->n].ifa_flags = ifa->ifa_flags;
	memcpy(l->v[l->n].addr, mnl_attr_get_payload(attr), alen);
	l->n++;
	return 0;
}

int nladdr_list(struct nlsock *s, int ifindex, struct nladdr *ret, size_t max, size_t *ret_n,
        struct kb_err *err)
{
	char buf[NLADDR_MSG_SIZE], what[64];
	struct nlmsghdr *nlh = nlsock_msg(s, buf, RTM_GETADDR, NLM_F_DUMP);
	struct list_ctx l = {.ifindex = ifindex, .v = ret, .max = max};
	struct ifaddrmsg *ifa;
	int r;

	snprintf(what, sizeof(what), "listing the addresses of link %d", ifindex);
	/* The kernel filters a dump by ifa_index only in strict mode: we filter in list_cb. */
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_UNSPEC;
	if ((r = nlsock_request(s, nlh, list_cb, &l, what, err)) < 0)
		return r;
	*ret_n = l.n;
	return 0;
}
