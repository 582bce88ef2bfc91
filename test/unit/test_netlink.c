/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: the shared netlink library (node-agent/lib/netlink: nlsock, nllink, nladdr,
 * nlroute, netns) against the kernel. A veth pair between the test's namespace and one it
 * creates stands in for a netdev being moved into a pod; what the helpers set is read back
 * with the helpers and with `ip`. Needs root (skipped otherwise).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/netlink/netns.h"
#include "lib/netlink/nladdr.h"
#include "lib/netlink/nllink.h"
#include "lib/netlink/nlroute.h"
#include "lib/netlink/nlsock.h"

static char ns[32], nspath[64], a_if[16], b_if[16];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int setup(void **state)
{
	int id = (int)getpid() % 100000;

	(void)state;
	if (geteuid() != 0)
		return 0;
	snprintf(ns, sizeof(ns), "kbnltest%d", (int)getpid());
	snprintf(nspath, sizeof(nspath), "/run/netns/%s", ns);
	snprintf(a_if, sizeof(a_if), "kbnla%d", id);
	snprintf(b_if, sizeof(b_if), "kbnlb%d", id);
	return sh("ip netns add %s && ip link add %s type veth peer name %s", ns, a_if, b_if) ? -1
	                                                                                      : 0;
}

static int teardown(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	sh("ip link del %s 2>/dev/null", a_if);
	sh("ip netns del %s 2>/dev/null", ns);
	return 0;
}

static void test_link_move_and_set(void **state)
{
	struct nlsock *host, *pod;
	struct nllink_info li, pi;
	struct kb_err err = {0};
	struct mac mac = {{0x02, 0x6b, 0x62, 0x00, 0x00, 0x07}};
	int nsfd;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(nlsock_open_route(&host, &err), 0);
	assert_int_equal(nllink_get(host, 0, b_if, &li, &err), 0);
	assert_string_equal(li.name, b_if);
	assert_false(li.up);
	/* By index, the same link. */
	assert_int_equal(nllink_get(host, li.ifindex, NULL, &pi, &err), 0);
	assert_string_equal(pi.name, b_if);
	assert_int_equal(nllink_get(host, 0, "kbnl-none", &pi, &err), -ENODEV);
	assert_non_null(strstr(err.msg, "kbnl-none"));

	/* Moved and renamed in one request; gone from here. */
	assert_int_equal(netns_open(nspath, &nsfd, &err), 0);
	assert_int_equal(nllink_move(host, li.ifindex, nsfd, "net1", &err), 0);
	assert_int_equal(nllink_get(host, 0, b_if, &pi, &err), -ENODEV);
	assert_int_equal(netns_route_in(nsfd, &pod, &err), 0);
	assert_int_equal(nllink_get(pod, 0, "net1", &pi, &err), 0);

	/* One thing at a time, each read back. */
	assert_int_equal(nllink_set_mtu(pod, pi.ifindex, 1400, &err), 0);
	assert_int_equal(nllink_set_mac(pod, pi.ifindex, &mac, &err), 0);
	assert_int_equal(nllink_rename(pod, pi.ifindex, "net2", &err), 0);
	assert_int_equal(nllink_set_up(pod, pi.ifindex, true, &err), 0);
	assert_int_equal(nllink_get(pod, pi.ifindex, NULL, &li, &err), 0);
	assert_string_equal(li.name, "net2");
	assert_int_equal(li.mtu, 1400);
	assert_memory_equal(li.mac.b, mac.b, sizeof(mac.b));
	assert_true(li.up);
	/* The kernel's refusal comes back with what was asked: the name is taken. */
	assert_int_equal(nllink_rename(pod, pi.ifindex, "lo", &err), -EEXIST);
	assert_non_null(strstr(err.msg, "name lo"));
	assert_int_equal(nllink_set_mtu(pod, pi.ifindex, 0, &err), -EINVAL);
	assert_int_equal(nllink_move(pod, pi.ifindex, -1, NULL, &err), -EBADF);
	nlsock_close(pod);
	nlsock_close(host);
	close(nsfd);
}

static void test_addr_and_route(void **state)
{
	struct nladdr a = {.family = AF_INET, .plen = 24}, a6 = {.family = AF_INET6, .plen = 64};
	struct nlroute rt = NLROUTE_INIT, rt6 = NLROUTE_INIT;
	struct nladdr got[8];
	struct kb_err err = {0};
	struct nllink_info li;
	struct nlsock *pod;
	size_t n = 0;
	bool v4 = false, v6 = false;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(
	        sh("ip link set %s netns %s name net1 && ip -n %s link set net1 up", b_if, ns, ns),
	        0);
	assert_int_equal(netns_route_at(nspath, &pod, &err), 0);
	assert_int_equal(nllink_get(pod, 0, "net1", &li, &err), 0);
	inet_pton(AF_INET, "10.99.0.5", a.addr);
	inet_pton(AF_INET6, "fd00:99::5", a6.addr);
	a6.ifa_flags = 0x02; /* IFA_F_NODAD: usable at once */
	assert_int_equal(nladdr_add(pod, li.ifindex, &a, &err), 0);
	assert_int_equal(nladdr_add(pod, li.ifindex, &a, &err), 0); /* replace: idempotent */
	assert_int_equal(nladdr_add(pod, li.ifindex, &a6, &err), 0);
	assert_int_equal(nladdr_list(pod, li.ifindex, got, 8, &n, &err), 0);
	for (size_t i = 0; i < n; i++) {
		v4 |= got[i].family == AF_INET && got[i].plen == 24 &&
		      !memcmp(got[i].addr, a.addr, 4);
		v6 |= got[i].family == AF_INET6 && got[i].plen == 64 &&
		      !memcmp(got[i].addr, a6.addr, 16);
	}
	assert_true(v4 && v6);
	/* Only ifindex's: the loopback's address is not listed. */
	assert_int_equal(sh("ip -n %s link set lo up", ns), 0);
	assert_int_equal(nladdr_list(pod, 1, got, 8, &n, &err), 0);
	assert_true(n >= 1);
	assert_int_equal(nladdr_list(pod, li.ifindex, got, 1, &n, &err), 0);
	assert_int_equal(n, 1); /* bounded by max */

	/* Host bits of the destination are cleared; a gateway makes it a universe route. */
	inet_pton(AF_INET, "10.1.2.3", rt.dst);
	rt.dst_len = 16;
	rt.family = AF_INET;
	rt.has_gw = true;
	inet_pton(AF_INET, "10.99.0.1", rt.gw);
	rt.oif = li.ifindex;
	rt.priority = 77;
	assert_int_equal(nlroute_add(pod, &rt, &err), 0);
	assert_int_equal(
	        sh("ip -n %s route show 10.1.0.0/16 | grep -q 'via 10.99.0.1 dev net1 .*metric 77'",
	                ns),
	        0);
	/* Default route, IPv6, table above 255 and metrics. */
	rt6.family = AF_INET6;
	rt6.oif = li.ifindex;
	rt6.table = 1000;
	rt6.mtu = 1300;
	assert_int_equal(nlroute_add(pod, &rt6, &err), 0);
	assert_int_equal(
	        sh("ip -n %s -6 route show table 1000 | grep -q 'default dev net1 .*mtu 1300'", ns),
	        0);
	/* The kernel's refusal names the route: no address of that subnet for the gateway. */
	inet_pton(AF_INET, "192.0.2.1", rt.gw);
	assert_true(nlroute_add(pod, &rt, &err) < 0);
	assert_non_null(strstr(err.msg, "adding route 10.1.0.0/16 via 192.0.2.1"));
	rt.family = AF_INET6 + 100;
	assert_int_equal(nlroute_add(pod, &rt, &err), -EINVAL);
	a.plen = 33;
	assert_int_equal(nladdr_add(pod, li.ifindex, &a, &err), -EINVAL);
	nlsock_close(pod);
}

/* Reads the inode of the namespace the thread is in when it runs. */
static int ns_ino(void *arg, struct kb_err *err)
{
	struct stat st;

	(void)err;
	if (stat("/proc/thread-self/ns/net", &st) < 0)
		return -errno;
	*(ino_t *)arg = st.st_ino;
	return 7;
}

static void test_netns_call(void **state)
{
	struct kb_err err = {0};
	struct stat self, pod;
	ino_t seen = 0;
	int fd;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(stat("/proc/thread-self/ns/net", &self), 0);
	assert_int_equal(stat(nspath, &pod), 0);
	assert_int_equal(netns_open(nspath, &fd, &err), 0);
	/* fn ran in the pod's namespace, its result comes back, and we are home again. */
	assert_int_equal(netns_call(fd, ns_ino, &seen, &err), 7);
	assert_int_equal(seen, pod.st_ino);
	assert_int_not_equal(seen, self.st_ino);
	assert_int_equal(stat("/proc/thread-self/ns/net", &pod), 0);
	assert_int_equal(pod.st_ino, self.st_ino);
	close(fd);
}

static void test_netns_errors(void **state)
{
	struct kb_err err = {0};
	struct nlsock *s;
	int fd;

	(void)state;
	assert_int_equal(netns_open("/nonexistent/netns", &fd, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "network namespace /nonexistent/netns"));
	assert_int_equal(netns_route_at("/proc/self/status", &s, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "is not a network namespace"));
	assert_int_equal(netns_open_self(&fd, &err), 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_link_move_and_set, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_addr_and_route, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_netns_call, setup, teardown),
	        cmocka_unit_test(test_netns_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
