/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A request/reply netlink channel: either a NETLINK_ROUTE socket in the calling thread's
 * network namespace, or a Unix SOCK_SEQPACKET socket to a process standing in for a PF driver
 * (tests: the same netlink bytes go there instead of to the kernel, and it answers the way the
 * kernel does). Requests always carry NLM_F_ACK, so every exchange ends with an NLMSG_ERROR;
 * a dump (the caller sets NLM_F_DUMP) ends with NLMSG_DONE instead. Shared by the agent and
 * the CNI (lib/netlink: libmnl only).
 */
#ifndef KB_NLSOCK_H
#define KB_NLSOCK_H

#include <linux/netlink.h>
#include <stdint.h>

#include "common/err.h"

struct nlsock;

/* Called for every reply message that is not NLMSG_ERROR/NLMSG_DONE/NLMSG_NOOP.
 * Return 0 to continue, a negative errno to fail the request. */
typedef int (*nlsock_cb)(const struct nlmsghdr *nlh, void *data);

#define NLSOCK_TIMEOUT_MS 5000

int nlsock_open_route(struct nlsock **ret, struct kb_err *err);
int nlsock_open_unix(const char *path, struct nlsock **ret, struct kb_err *err);
void nlsock_close(struct nlsock *s);

/* Next sequence number for a request built by the caller. */
uint32_t nlsock_seq(struct nlsock *s);
/* Start a request in buf (zeroed header: type, flags, the next sequence number); the caller
 * appends the family header and attributes with libmnl. */
struct nlmsghdr *nlsock_msg(struct nlsock *s, void *buf, uint16_t type, uint16_t flags);

/*
 * Send the request in nlh (its nlmsg_seq set from nlsock_seq) and read replies until the
 * acknowledgement. Returns 0, or the negative errno the peer answered (with the kernel's
 * extended-ack message in err when it sent one), or a transport error. `what` prefixes the
 * error message ("setting VF 3 trust on ens1f0").
 */
int nlsock_request(struct nlsock *s, struct nlmsghdr *nlh, nlsock_cb cb, void *data,
        const char *what, struct kb_err *err);

#endif
