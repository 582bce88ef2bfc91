/* SPDX-License-Identifier: Apache-2.0 */
#include "lib/netlink/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int check_netns(int fd)
{
	int type = ioctl(fd, NS_GET_NSTYPE);

	if (type < 0)
		return errno == ENOTTY || errno == EINVAL ? -EINVAL : -errno;
	return type == CLONE_NEWNET ? 0 : -EINVAL;
}

int netns_open(const char *path, int *ret_fd, struct kb_err *err)
{
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return kb_err_set(err, errno, "network namespace %s: %s", path, strerror(errno));
	if ((r = check_netns(fd)) < 0) {
		close(fd);
		return kb_err_set(err, -r, "%s is not a network namespace (%s)", path,
		        r == -EINVAL ? "not an nsfs file" : strerror(-r));
	}
	*ret_fd = fd;
	return 0;
}

int netns_open_self(int *ret_fd, struct kb_err *err)
{
	return netns_open("/proc/thread-self/ns/net", ret_fd, err);
}

int netns_call(int nsfd, netns_fn fn, void *arg, struct kb_err *err)
{
	int self, r;

	if ((r = netns_open_self(&self, err)) < 0)
		return r;
	if (setns(nsfd, CLONE_NEWNET) < 0) {
		r = kb_err_set(err, errno, "entering network namespace: %s", strerror(errno));
		close(self);
		return r;
	}
	r = fn(arg, err);
	/* Staying in the pod's namespace would misdirect every later host-side operation. */
	if (setns(self, CLONE_NEWNET) < 0)
		abort();
	close(self);
	return r;
}

static int open_route(void *arg, struct kb_err *err)
{
	return nlsock_open_route(arg, err);
}

int netns_route_in(int nsfd, struct nlsock **ret, struct kb_err *err)
{
	return netns_call(nsfd, open_route, ret, err);
}

int netns_route_at(const char *path, struct nlsock **ret, struct kb_err *err)
{
	int fd, r;

	if ((r = netns_open(path, &fd, err)) < 0)
		return r;
	r = netns_route_in(fd, ret, err);
	close(fd);
	return r;
}
