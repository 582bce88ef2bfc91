/* SPDX-License-Identifier: Apache-2.0 */
/* Routes over rtnetlink: add (replace semantics) one unicast route through a link. */
#ifndef KB_NLROUTE_H
#define KB_NLROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "lib/netlink/nlsock.h"

struct nlroute {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t dst[16];  /* host bits are cleared (the kernel wants the network) */
	unsigned dst_len; /* 0: default route */
	bool has_gw;
	uint8_t gw[16];
	int oif; /* output ifindex */
	/* -1 when not set (u32 on the wire) */
	int64_t scope;    /* RT_SCOPE_*; not set: universe with a gateway, link without */
	int64_t table;    /* not set: main */
	int64_t priority; /* RTA_PRIORITY */
	int64_t mtu;      /* RTAX_MTU */
	int64_t advmss;   /* RTAX_ADVMSS */
};
#define NLROUTE_INIT                                                              \
	{                                                                         \
		.scope = -1, .table = -1, .priority = -1, .mtu = -1, .advmss = -1 \
	}

int nlroute_add(struct nlsock *s, const struct nlroute *rt, struct kb_err *err);

#endif
