/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Network namespaces by path (CNI_NETNS) and netlink sockets inside them. A netlink socket
 * stays bound to the namespace it was created in, so entering a namespace is needed only for
 * the instant of socket(); setns() changes the calling thread alone, and we always return.
 */
#ifndef KB_NSUTIL_H
#define KB_NSUTIL_H

#include "agent/sriov/nlsock.h"
#include "common/err.h"

/* Open a network namespace file. -ENOENT when the path is gone, -EINVAL when it is not a
 * network namespace (e.g. a leftover mount point of a dead namespace). */
int nsutil_open(const char *path, int *ret_fd, struct kb_err *err);
/* The calling thread's own network namespace (the agent's: the "host" side). */
int nsutil_open_self(int *ret_fd, struct kb_err *err);
/* A NETLINK_ROUTE socket in the namespace nsfd. */
int nsutil_route_in(int nsfd, struct nlsock **ret, struct kb_err *err);

#endif
