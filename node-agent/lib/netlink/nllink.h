/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kernel network interfaces over rtnetlink: read one link, change its name, MAC, MTU, admin
 * state or network namespace. Works on the namespace the nlsock was opened in (see netns.h
 * for a socket in another one). nllink_set() changes several things in one request; the
 * one-thing helpers below it are for callers that change one at a time.
 */
#ifndef KB_NLLINK_H
#define KB_NLLINK_H

#include <net/if.h>
#include <stdbool.h>

#include "common/err.h"
#include "common/mac.h"
#include "lib/netlink/nlsock.h"

struct nllink_info {
	int ifindex;
	char name[IFNAMSIZ];
	struct mac mac;
	int mtu;
	bool up; /* IFF_UP (administrative state) */
};

/* By ifindex (> 0) or else by name. -ENODEV (err set) when there is no such link. */
int nllink_get(struct nlsock *s, int ifindex, const char *name, struct nllink_info *ret,
        struct kb_err *err);

/* What nllink_set changes; unset members are left alone. */
struct nllink_change {
	const char *name;      /* rename (the link must be down), or the name in netns_fd */
	const struct mac *mac; /* IFLA_ADDRESS */
	int mtu;               /* > 0: IFLA_MTU */
	int up;                /* -1 unchanged, 0 down, 1 up */
	int netns_fd;          /* >= 0: move into that namespace (IFLA_NET_NS_FD) */
};
#define NLLINK_CHANGE_INIT               \
	{                                \
		.up = -1, .netns_fd = -1 \
	}

int nllink_set(struct nlsock *s, int ifindex, const struct nllink_change *c, struct kb_err *err);

int nllink_set_up(struct nlsock *s, int ifindex, bool up, struct kb_err *err);
/* The link must be down (the kernel refuses to rename a running interface). */
int nllink_rename(struct nlsock *s, int ifindex, const char *name, struct kb_err *err);
int nllink_set_mac(struct nlsock *s, int ifindex, const struct mac *mac, struct kb_err *err);
int nllink_set_mtu(struct nlsock *s, int ifindex, int mtu, struct kb_err *err);
/*
 * Move into the namespace netns_fd, renamed to `name` there when not NULL: one request, so
 * the link is never visible under its old name in the new namespace (where that name may be
 * taken). Its ifindex may change: look it up by name in the new namespace.
 */
int nllink_move(struct nlsock *s, int ifindex, int netns_fd, const char *name, struct kb_err *err);

#endif
