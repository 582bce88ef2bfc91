/* SPDX-License-Identifier: Apache-2.0 */
/* Interface addresses over rtnetlink: add (replace semantics) and list one link's. */
#ifndef KB_NLADDR_H
#define KB_NLADDR_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "lib/netlink/nlsock.h"

struct nladdr {
	int family;         /* AF_INET or AF_INET6 */
	uint8_t addr[16];   /* network order; 4 bytes used for AF_INET */
	unsigned plen;      /* prefix length */
	unsigned ifa_flags; /* IFA_F_* for nladdr_add (e.g. IFA_F_NODAD) */
};

/* Add (or replace) a on ifindex; IPv4 below /31 gets its broadcast address. */
int nladdr_add(struct nlsock *s, int ifindex, const struct nladdr *a, struct kb_err *err);

/* The addresses of ifindex (all families), at most `max` of them; *ret_n is how many. */
int nladdr_list(struct nlsock *s, int ifindex, struct nladdr *ret, size_t max, size_t *ret_n,
        struct kb_err *err);

#endif
