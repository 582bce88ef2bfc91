/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: the one atomic-write policy (common/fs.c: exact mode, O_EXCL|O_NOFOLLOW temp in
 * the same directory, prepare hook before the data, old file kept on failure), the bounded
 * reader (fs_read_fd) and the monotonic clock (common/clock.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fs.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/kbnet-test-fs.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return fs_rm_rf(dir);
}

static void path_of(char *buf, const char *name)
{
	snprintf(buf, 256, "%s/%s", dir, name);
}

static void assert_content(const char *path, const char *want)
{
	char *text;
	size_t len;

	assert_int_equal(fs_read_file(path, 4096, &text, &len), 0);
	assert_string_equal(text, want);
	free(text);
}

static void test_mode_is_exact(void **state)
{
	char p[256];
	struct stat st;
	mode_t old;

	(void)state;
	path_of(p, "a.json");
	old = umask(077);
	assert_int_equal(fs_write_atomic(p, "one", 3, 0644), 0);
	umask(old);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_content(p, "one");
	/* Replaced, and the new mode taken (read-only files too: rename does not need write). */
	assert_int_equal(fs_write_atomic(p, "two", 3, 0444), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0444);
	assert_content(p, "two");
}

static void test_no_temp_left_and_no_follow(void **state)
{
	char p[256], tmp[300], victim[256];

	(void)state;
	path_of(p, "b.json");
	path_of(victim, "victim");
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", p, (int)getpid());
	/* A symlink planted at the temp name is removed, never written through. */
	assert_int_equal(symlink(victim, tmp), 0);
	assert_int_equal(fs_write_atomic(p, "x", 1, 0600), 0);
	assert_int_equal(access(victim, F_OK), -1);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_content(p, "x");
}

static void test_failure_keeps_old_file(void **state)
{
	char p[256], tmp[300];

	(void)state;
	path_of(p, "c.json");
	assert_int_equal(fs_write_atomic(p, "old", 3, 0600), 0);
	/* The temp name is taken by something unlink cannot remove: the write fails cleanly. */
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", p, (int)getpid());
	assert_int_equal(mkdir(tmp, 0700), 0);
	assert_int_equal(fs_write_atomic(p, "new", 3, 0600), -EEXIST);
	assert_content(p, "old");
	rmdir(tmp);
	/* No directory: an error, nothing created. */
	path_of(p, "missing/d.json");
	assert_int_equal(fs_write_atomic(p, "x", 1, 0600), -ENOENT);
}

struct prep {
	int calls;
	int ret;
	off_t size_seen;
};

static int prepare(int fd, void *arg)
{
	struct prep *pr = arg;
	struct stat st;

	pr->calls++;
	assert_int_equal(fstat(fd, &st), 0);
	pr->size_seen = st.st_size; /* before the data */
	return pr->ret;
}

static void test_prepare_hook(void **state)
{
	char p[256], tmp[300];
	struct prep pr = {0};
	int dfd;

	(void)state;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	assert_int_equal(fs_write_atomic_at(dfd, "e.json", "data", 4, 0600, prepare, &pr), 0);
	assert_int_equal(pr.calls, 1);
	assert_int_equal(pr.size_seen, 0);
	path_of(p, "e.json");
	assert_content(p, "data");
	/* A failing hook fails the write: the old file stays, no temp file is left. */
	pr.ret = -EPERM;
	assert_int_equal(fs_write_atomic_at(dfd, "e.json", "other", 5, 0600, prepare, &pr), -EPERM);
	assert_content(p, "data");
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", p, (int)getpid());
	assert_int_equal(access(tmp, F_OK), -1);
	/* Names are names, not paths. */
	assert_int_equal(fs_write_atomic_at(dfd, "a/b", "x", 1, 0600, NULL, NULL), -EINVAL);
	assert_int_equal(fs_write_atomic_at(dfd, "", "x", 1, 0600, NULL, NULL), -EINVAL);
	close(dfd);
}

static void test_read_fd(void **state)
{
	char *text;
	size_t len;
	int p[2];

	(void)state;
	/* A pipe, as stdin is for the CNI: read to EOF, NUL-terminated. */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "0123456789", 10), 10);
	close(p[1]);
	assert_int_equal(fs_read_fd(p[0], 10, &text, &len), 0);
	assert_int_equal(len, 10);
	assert_string_equal(text, "0123456789");
	free(text);
	close(p[0]);
	/* One byte over the bound: -EFBIG, nothing returned. */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "0123456789", 10), 10);
	close(p[1]);
	text = NULL;
	assert_int_equal(fs_read_fd(p[0], 9, &text, &len), -EFBIG);
	assert_null(text);
	close(p[0]);
}

static void test_clock(void **state)
{
	int64_t ns0 = clock_mono_ns(), ms0 = clock_mono_ms(), us0 = clock_mono_us();
	struct timespec d = {.tv_nsec = 20 * 1000 * 1000};

	(void)state;
	assert_true(ns0 > 0 && us0 > 0 && ms0 > 0);
	/* The three read one clock in three units. */
	assert_true(us0 >= ns0 / 1000 && us0 - ns0 / 1000 < 1000000);
	assert_true(ms0 >= ns0 / 1000000 && ms0 - ns0 / 1000000 < 1000);
	nanosleep(&d, NULL);
	assert_true(clock_mono_ms() - ms0 >= 20);
	assert_true(clock_mono_ns() > ns0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_mode_is_exact, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_no_temp_left_and_no_follow, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_failure_keeps_old_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_prepare_hook, setup, teardown),
	        cmocka_unit_test(test_read_fd),
	        cmocka_unit_test(test_clock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
