/* SPDX-License-Identifier: Apache-2.0 */
#include "lib/netlink/nlroute.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define NLROUTE_MSG_SIZE 512

/* Zero the host bits, as the kernel wants a network for a route destination. */
static void mask_prefix(uint8_t *a, unsigned plen, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++) {
		int keep = (int)plen - (int)(i * 8);
		if (keep <= 0)
			a[i] = 0;
		else if (keep < 8)
			a[i] &= (uint8_t)(0xff << (8 - keep));
	}
}

int nlroute_add(struct nlsock *s, const struct nlroute *rt, struct kb_err *err)
{
	char buf[NLROUTE_MSG_SIZE], what[160], d[INET6_ADDRSTRLEN], g[INET6_ADDRSTRLEN];
	struct nlmsghdr *nlh;
	unsigned alen = rt->family == AF_INET ? 4 : rt->family == AF_INET6 ? 16 : 0;
	uint8_t dst[16];
	struct nlattr *metrics;
	struct rtmsg *rtm;

	if (!alen || rt->dst_len > alen * 8)
		return kb_err_set(
		        err, EINVAL, "bad route (family %d, /%u)", rt->family, rt->dst_len);
	memcpy(dst, rt->dst, sizeof(dst));
	mask_prefix(dst, rt->dst_len, alen);
	inet_ntop(rt->family, dst, d, sizeof(d));
	if (rt->has_gw)
		inet_ntop(rt->family, rt->gw, g, sizeof(g));
	snprintf(what, sizeof(what), "adding route %s/%u%s%s on link %d", d, rt->dst_len,
	        rt->has_gw ? " via " : "", rt->has_gw ? g : "", rt->oif);
	nlh = nlsock_msg(s, buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	*rtm = (struct rtmsg){.rtm_family = rt->family,
	        .rtm_dst_len = rt->dst_len,
	        .rtm_protocol = RTPROT_BOOT,
	        .rtm_type = RTN_UNICAST,
	        .rtm_scope = rt->scope >= 0 ? rt->scope
	                     : rt->has_gw   ? RT_SCOPE_UNIVERSE
	                                    : RT_SCOPE_LINK,
	        /* Tables above 255 do not fit rtm_table: RTA_TABLE carries them. */
	        .rtm_table = rt->table >= 0 && rt->table < 256 ? rt->table : RT_TABLE_MAIN};
	if (rt->table >= 256)
		mnl_attr_put_u32(nlh, RTA_TABLE, rt->table);
	if (rt->dst_len)
		mnl_attr_put(nlh, RTA_DST, alen, dst);
	if (rt->has_gw)
		mnl_attr_put(nlh, RTA_GATEWAY, alen, rt->gw);
	mnl_attr_put_u32(nlh, RTA_OIF, rt->oif);
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
	return nlsock_request(s, nlh, NULL, NULL, what, err);
}
