/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: agent/podsock.c, connects into pod-writable socket directories. A pod plants
 * symlinks (at the socket name, or as a directory) pointing at a socket of its choosing; the
 * agent must never reach that socket, neither through podsock_connect() nor through plain
 * connect() (the interposer every library in the agent calls, rte_vhost included).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/podsock.h"
#include "common/fs.h"

static char dir[64], root[128];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/kbpodsock-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(root, sizeof(root), "%s/run", dir);
	return fs_mkdir_p(root, 0755) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	podsock_set_root(NULL);
	fs_rm_rf(dir);
	return 0;
}

static int listener(const char *path)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&un, sizeof(un)), 0);
	assert_int_equal(listen(fd, 8), 0);
	return fd;
}

/* Whether a connection is waiting on listener fd (accepts and closes it). */
static bool got_connection(int lfd)
{
	int c = accept(lfd, NULL, NULL);

	if (c < 0)
		return false;
	close(c);
	return true;
}

static int plain_connect(const char *path)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	assert_true(fd >= 0);
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
	r = connect(fd, (struct sockaddr *)&un, sizeof(un));
	r = r < 0 ? -errno : 0;
	close(fd);
	return r;
}

static int pod_connect(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	assert_true(fd >= 0);
	r = podsock_connect(fd, root, path);
	close(fd);
	return r;
}

static void test_symlinks_never_followed(void **state)
{
	char pods[160], evil[160], good[192], link1[192], ldir[160], via[224], fifo[192];
	int evil_fd, good_fd;

	(void)state;
	snprintf(pods, sizeof(pods), "%s/pods/uid1", root);
	assert_int_equal(fs_mkdir_p(pods, 0770), 0);
	/* A socket outside the root: what the pod would like the agent to reach. */
	snprintf(evil, sizeof(evil), "%s/evil.sock", dir);
	evil_fd = listener(evil);
	snprintf(good, sizeof(good), "%s/net0.sock", pods);
	good_fd = listener(good);

	podsock_set_root(root);
	/* The socket the pod made: reached, through both entry points. */
	assert_int_equal(pod_connect(good), 0);
	assert_true(got_connection(good_fd));
	assert_int_equal(plain_connect(good), 0);
	assert_true(got_connection(good_fd));

	/* A symlink at the socket name. */
	snprintf(link1, sizeof(link1), "%s/net1.sock", pods);
	assert_int_equal(symlink(evil, link1), 0);
	assert_int_equal(pod_connect(link1), -ELOOP);
	assert_int_equal(plain_connect(link1), -ELOOP);
	/* A symlinked directory on the way. */
	snprintf(ldir, sizeof(ldir), "%s/pods/uid2", root);
	assert_int_equal(symlink(dir, ldir), 0);
	snprintf(via, sizeof(via), "%s/evil.sock", ldir);
	assert_int_equal(pod_connect(via), -ELOOP);
	assert_int_equal(plain_connect(via), -ELOOP);
	assert_false(got_connection(evil_fd));
	/* Something that is not a socket. */
	snprintf(fifo, sizeof(fifo), "%s/net2.sock", pods);
	assert_int_equal(fs_write_atomic(fifo, "x", 1, 0600), 0);
	assert_int_equal(pod_connect(fifo), -ECONNREFUSED);
	/* ".." cannot climb out. */
	snprintf(via, sizeof(via), "%s/pods/../../evil.sock", root);
	assert_int_equal(pod_connect(via), -EINVAL);
	assert_int_equal(plain_connect(via), -EINVAL);
	assert_false(got_connection(evil_fd));
	/* Outside the root, connect() is the plain system call (it follows, as usual). */
	snprintf(via, sizeof(via), "%s/evil-link.sock", dir);
	assert_int_equal(symlink(evil, via), 0);
	assert_int_equal(plain_connect(via), 0);
	assert_true(got_connection(evil_fd));
	/* Without a root nothing is confined. */
	podsock_set_root(NULL);
	assert_int_equal(plain_connect(link1), 0);
	assert_true(got_connection(evil_fd));
	close(evil_fd);
	close(good_fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_symlinks_never_followed, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
