/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: a sleeping worker's wake-up set (fp_wake.c): kicks from another thread, the
 * timeout, level-triggered descriptors (a TAP queue: readable while a frame waits) and
 * edge-triggered eventfds (a pod's kick: one event per write, the counter never read), a
 * hung-up descriptor dropped instead of turning the sleep into a spin, reset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "agent/fastpath/fp_wake.h"

#define MS   1000000ull
#define LONG (20000 * MS) /* a wait that only an event ends within the test's time */

static int setup(void **state)
{
	struct fp_wake *w;

	if (fp_wake_create(&w) < 0)
		return -1;
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	fp_wake_destroy(*state);
	return 0;
}

static void put(int fd)
{
	uint64_t one = 1;
	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
}

static void test_timeout(void **state)
{
	struct fp_wake *w = *state;

	assert_int_equal(fp_wake_wait(w, 1 * MS), 0);
	assert_int_equal(fp_wake_count(w), 0);
}

static void test_kick(void **state)
{
	struct fp_wake *w = *state;

	fp_wake_kick(w);
	assert_int_equal(fp_wake_wait(w, LONG), FP_WAKE_KICK);
	/* Edge-triggered: a kick is one wake-up, not a state. */
	assert_int_equal(fp_wake_wait(w, 1 * MS), 0);
	fp_wake_kick(w);
	fp_wake_kick(w);
	assert_int_equal(fp_wake_wait(w, LONG), FP_WAKE_KICK);
}

static void *kicker(void *arg)
{
	struct timespec ts = {0, 20 * 1000000};

	nanosleep(&ts, NULL);
	fp_wake_kick(arg);
	return NULL;
}

static void test_kick_other_thread(void **state)
{
	struct fp_wake *w = *state;
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, kicker, w), 0);
	assert_int_equal(fp_wake_wait(w, LONG), FP_WAKE_KICK);
	pthread_join(th, NULL);
}

static void test_level(void **state)
{
	struct fp_wake *w = *state;
	int p[2];
	char c;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(fp_wake_watch(w, p[0], false), 0);
	assert_int_equal(fp_wake_count(w), 1);
	assert_int_equal(fp_wake_wait(w, 1 * MS), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(fp_wake_wait(w, LONG), FP_WAKE_TRAFFIC);
	/* Level-triggered: unread input keeps waking (a frame left in a TAP queue). */
	assert_int_equal(fp_wake_wait(w, LONG), FP_WAKE_TRAFFIC);
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(fp_wake_wait(w, 1 * MS), 0);
	/* Traffic and a kick together. */
	assert_int_equal(write(p[1], "x", 1), 1);
	fp_wake_kick(w);
	assert_int_equal(fp_wake_wait(w, LONG), FP_WAKE_TRAFFIC | FP_WAKE_KICK);
	close(p[0]);
	close(p[1]);
}

static void test_edge(void **state)
{
	struct fp_wake *w = *state;
	int e = eventfd(0, EFD_NONBLOCK);

	assert_true(e >= 0);
	assert_int_equal(fp_wake_watch(w, e, true), 0);
	put(e);
	assert_int_equal(fp_wake_wait(w, LONG), FP_WAKE_TRAFFIC);
	/* The counter is left as it is (rte_vhost owns it) and does not wake again... */
	assert_int_equal(fp_wake_wait(w, 1 * MS), 0);
	/* ...until the next write. */
	put(e);
	assert_int_equal(fp_wake_wait(w, LONG), FP_WAKE_TRAFFIC);
	close(e);
}

static void test_hangup_dropped(void **state)
{
	struct fp_wake *w = *state;
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(fp_wake_watch(w, p[0], false), 0);
	close(p[1]);
	/* A hung-up descriptor wakes once and leaves the set: no spin. */
	assert_int_equal(fp_wake_wait(w, LONG), FP_WAKE_TRAFFIC);
	assert_int_equal(fp_wake_count(w), 0);
	assert_int_equal(fp_wake_wait(w, 1 * MS), 0);
	close(p[0]);
}

static void test_closed_leaves(void **state)
{
	struct fp_wake *w = *state;
	int e = eventfd(0, 0);

	assert_int_equal(fp_wake_watch(w, e, true), 0);
	put(e); /* an event pending when its port is destroyed while the worker slept */
	close(e);
	assert_int_equal(fp_wake_wait(w, 1 * MS), 0);
}

static void test_reset(void **state)
{
	struct fp_wake *w = *state;
	int e = eventfd(0, EFD_NONBLOCK);

	assert_int_equal(fp_wake_watch(w, e, false), 0);
	assert_int_equal(fp_wake_reset(w), 0);
	assert_int_equal(fp_wake_count(w), 0);
	put(e);
	assert_int_equal(fp_wake_wait(w, 1 * MS), 0);
	fp_wake_kick(w); /* kicks survive a reset */
	assert_int_equal(fp_wake_wait(w, LONG), FP_WAKE_KICK);
	/* Watched again after the reset. */
	assert_int_equal(fp_wake_watch(w, e, false), 0);
	assert_int_equal(fp_wake_wait(w, LONG), FP_WAKE_TRAFFIC);
	close(e);
}

static void test_watch_errors(void **state)
{
	struct fp_wake *w = *state;
	int e = eventfd(0, 0);

	assert_int_equal(fp_wake_watch(w, -1, false), -EBADF);
	assert_int_equal(fp_wake_watch(w, e, true), 0);
	assert_int_equal(fp_wake_watch(w, e, true), -EEXIST);
	assert_int_equal(fp_wake_count(w), 1);
	close(e);
	e = eventfd(0, 0);
	close(e);
	assert_int_equal(fp_wake_watch(w, e, false), -EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_kick, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_kick_other_thread, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_level, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_edge, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_hangup_dropped, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_closed_leaves, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_watch_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
