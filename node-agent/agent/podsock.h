/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unix sockets in pod-writable directories. The vhost-user socket directories under runDir
 * are mounted read-write into pods, so a pod can plant a symlink where the agent expects its
 * socket; following it would make the agent (root) connect to any socket on the node.
 *
 * rte_vhost connects by path (and reconnects every second in client mode), so the check
 * cannot be done once before registering. This module therefore also defines connect(): the
 * agent's definition interposes on libc's for every caller in the process, DPDK's shared
 * libraries included. An AF_UNIX connect to a path under the confined root is done by walking
 * the path from the root with O_PATH|O_NOFOLLOW, checking the last component is a socket,
 * and connecting to /proc/self/fd/<its O_PATH descriptor>: no symlink anywhere under the
 * root is followed, and the inode checked is the one connected to. Other connects go straight
 * to the system call.
 */
#ifndef KB_PODSOCK_H
#define KB_PODSOCK_H

/* Confine connects under `root` (runDir; NULL or "" for none). */
int podsock_set_root(const char *root);

/*
 * Connect fd to the socket at `path`, which must lie under `root`, never following a symlink
 * below root. Returns 0 or -errno: -ELOOP for a symlink, -ECONNREFUSED for something that is
 * not a socket, -EINVAL for "." / ".." components or a path outside root.
 */
int podsock_connect(int fd, const char *root, const char *path);

#endif
