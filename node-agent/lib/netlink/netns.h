/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Network namespaces by path (CNI_NETNS) and netlink sockets inside them. A netlink socket
 * stays bound to the namespace it was created in, so entering a namespace is needed only for
 * the instant of socket(); setns() changes the calling thread alone, and we always return.
 */
#ifndef KB_NETNS_H
#define KB_NETNS_H

#include "common/err.h"
#include "lib/netlink/nlsock.h"

/* Open a network namespace file. -ENOENT when the path is gone, -EINVAL when it is not a
 * network namespace (e.g. a leftover mount point of a dead namespace). */
int netns_open(const char *path, int *ret_fd, struct kb_err *err);
/* The calling thread's own network namespace (the agent's: the "host" side). */
int netns_open_self(int *ret_fd, struct kb_err *err);
/*
 * Run fn(arg, err) with the calling thread in the namespace nsfd, then return to the thread's
 * own namespace (or abort: running on in a pod's namespace would misdirect everything after).
 * For what must be created inside (sockets, TAP queues): keep fn to the creation itself.
 * Returns fn's result, or the error of entering.
 */
typedef int (*netns_fn)(void *arg, struct kb_err *err);
int netns_call(int nsfd, netns_fn fn, void *arg, struct kb_err *err);
/* A NETLINK_ROUTE socket in the namespace nsfd. */
int netns_route_in(int nsfd, struct nlsock **ret, struct kb_err *err);
/* The same for the namespace at `path` (no descriptor of it is kept). */
int netns_route_at(const char *path, struct nlsock **ret, struct kb_err *err);

#endif
