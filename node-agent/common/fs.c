/* SPDX-License-Identifier: Apache-2.0 */
#include "common/fs.h"
#include "common/cleanup.h"
#include "common/str.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int fs_mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	struct stat st;

	if (str_copy(buf, sizeof(buf), path) < 0)
		return -ENAMETOOLONG;
	/* The parent usually exists (one attach = one pod directory): one mkdir, not one per
	 * path component. */
	if (mkdir(buf, mode) == 0)
		return 0;
	if (errno == EEXIST)
		return stat(buf, &st) < 0 ? -errno : S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	if (errno != ENOENT)
		return -errno;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	if (stat(buf, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int fs_fsync_dir(const char *dir)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return fsync(fd) < 0 ? -errno : 0;
}

int fs_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}

int fs_write_atomic_at(int dfd, const char *name, const void *buf, size_t len, mode_t mode,
        fs_prepare_fn prepare, void *arg)
{
	char tmp[NAME_MAX + 1];
	int fd, r;

	if (!*name || strchr(name, '/'))
		return -EINVAL;
	if (str_printf(tmp, sizeof(tmp), "%s.tmp.%d", name, (int)getpid()) < 0)
		return -ENAMETOOLONG;
	/* Our pid in the name: whatever is there is a leftover of a dead process of that pid. */
	unlinkat(dfd, tmp, 0);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 07777);
	if (fd < 0)
		return -errno;
	r = fchmod(fd, mode & 07777) < 0 ? -errno : 0;
	if (r == 0 && prepare)
		r = prepare(fd, arg);
	if (r == 0)
		r = fs_write_all(fd, buf, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(dfd, tmp, dfd, name) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dfd, tmp, 0);
		return r;
	}
	return fsync(dfd) < 0 ? -errno : 0;
}

int fs_write_atomic(const char *path, const void *buf, size_t len, mode_t mode)
{
	char dir[PATH_MAX], base[PATH_MAX];
	_cleanup_close_ int dfd = -1;

	if (str_copy(dir, sizeof(dir), path) < 0 || str_copy(base, sizeof(base), path) < 0)
		return -ENAMETOOLONG;
	if ((dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	return fs_write_atomic_at(dfd, basename(base), buf, len, mode, NULL, NULL);
}

int fs_read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return fs_read_fd(fd, max, ret, ret_len);
}

int fs_read_fd(int fd, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;

	for (;;) {
		ssize_t n;
		if (cap - len < 4096) {
			size_t ncap = cap ? cap * 2 : 8192;
			char *nb;
			if (ncap > max + 1)
				ncap = max + 1;
			if (ncap <= len)
				return -EFBIG;
			nb = realloc(buf, ncap + 1);
			if (!nb)
				return -ENOMEM;
			buf = nb;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += n;
		if (len > max)
			return -EFBIG;
	}
	if (!buf && !(buf = malloc(1)))
		return -ENOMEM;
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP ? rmdir(path) : unlink(path))
		return errno == ENOENT ? 0 : -errno;
	return 0;
}

int fs_rm_rf(const char *path)
{
	int r = nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);

	if (r < 0 && errno == ENOENT)
		return 0;
	return r < 0 ? -errno : r;
}

int fs_move_aside(const char *path, const char *suffix, char *newpath, size_t size)
{
	if (str_printf(newpath, size, "%s.%s-%lld", path, suffix, (long long)time(NULL)) < 0)
		return -ENAMETOOLONG;
	return rename(path, newpath) < 0 ? -errno : 0;
}
