/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kernel network interfaces over rtnetlink: read one link, change its name, MAC, MTU, admin
 * state or network namespace. Works on the namespace the nlsock was opened in.
 */
#ifndef KB_LINK_H
#define KB_LINK_H

#include <net/if.h>
#include <stdbool.h>

#include "agent/sriov/nlsock.h"
#include "common/err.h"
#include "common/mac.h"

struct link_info {
	int ifindex;
	char name[IFNAMSIZ];
	struct mac mac;
	int mtu;
	bool up; /* IFF_UP (administrative state) */
};

/* By ifindex (> 0) or else by name. -ENODEV (err set) when there is no such link. */
int link_get(
        struct nlsock *s, int ifindex, const char *name, struct link_info *ret, struct kb_err *err);

/* What link_set changes; unset members are left alone. */
struct link_change {
	const char *name;      /* rename (the link must be down), or the name in netns_fd */
	const struct mac *mac; /* IFLA_ADDRESS */
	int mtu;               /* > 0: IFLA_MTU */
	int up;                /* -1 unchanged, 0 down, 1 up */
	int netns_fd;          /* >= 0: move into that namespace (IFLA_NET_NS_FD) */
};
#define LINK_CHANGE_INIT                 \
	{                                \
		.up = -1, .netns_fd = -1 \
	}

int link_set(struct nlsock *s, int ifindex, const struct link_change *c, struct kb_err *err);

#endif
