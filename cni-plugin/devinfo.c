/* SPDX-License-Identifier: Apache-2.0 */
#include "devinfo.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/str.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

bool devinfo_name_valid(const char *name, const char **why)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > DEVINFO_NAME_MAX) {
		*why = "the file name must have 1 to 200 bytes";
		return false;
	}
	if (name[0] == '.') {
		*why = "the file name must not start with '.'";
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = name[i];
		if (!isalnum(c) && !strchr("_.:-", c)) {
			*why = "the file name may hold only letters, digits, '_', '.', ':' and '-'";
			return false;
		}
	}
	return true;
}

/* "/proc/self/fd/<dfd>/<name>": a path that reaches name through the directory descriptor. */
static void fd_path(int dfd, const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "/proc/self/fd/%d/%s", dfd, name);
}

/*
 * Whether dir/name is this attachment's file: 1 yes, 0 missing, -EPERM something else.
 * Without xattr support on the file system a regular file of ours with one link counts.
 */
static int owned(int dfd, const char *name, const char *owner)
{
	char p[PATH_MAX], val[256];
	struct stat st;
	ssize_t n;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_nlink != 1)
		return -EPERM;
	fd_path(dfd, name, p, sizeof(p));
	n = lgetxattr(p, DEVINFO_XATTR, val, sizeof(val) - 1);
	if (n < 0)
		return errno == ENOTSUP ? 1 : -EPERM;
	val[n] = '\0';
	return strcmp(val, owner) == 0 ? 1 : -EPERM;
}

static int open_dir(const char *dir, bool create, struct kb_err *err)
{
	int fd, r;

	if (create && (r = fs_mkdir_p(dir, 0755)) < 0)
		return kb_err_set(err, r, "creating %s: %s", dir, strerror(-r));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return kb_err_set(err, errno, "opening %s: %s", dir, strerror(errno));
	return fd;
}

/* Marks the temp file as this attachment's before it takes the name (root-only trusted.*). */
static int mark_owner(int fd, void *arg)
{
	const char *owner = arg;

	if (fsetxattr(fd, DEVINFO_XATTR, owner, strlen(owner), 0) < 0 && errno != ENOTSUP)
		return -errno;
	return 0;
}

int devinfo_write(
        const char *dir, const char *name, const char *owner, json_t *info, struct kb_err *err)
{
	const char *why;
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int dfd = -1;
	int r;

	if (!json_is_object(info))
		return kb_err_set(err, EINVAL, "device info is not an object");
	if (!devinfo_name_valid(name, &why))
		return kb_err_set(err, EINVAL, "device-info file '%s': %s", name, why);
	if (!(text = json_dumps(info, JSON_COMPACT)))
		return kb_err_set(err, ENOMEM, "out of memory");
	if ((dfd = open_dir(dir, true, err)) < 0)
		return dfd;
	if ((r = owned(dfd, name, owner)) < 0)
		return kb_err_set(err, r == -EPERM ? EEXIST : -r,
		        "%s/%s exists and is not the device-info file of %s: left as it is", dir,
		        name, owner);
	/* Exactly 0644 whatever the runtime's umask: Multus may read it unprivileged. */
	if ((r = fs_write_atomic_at(
	             dfd, name, text, strlen(text), 0644, mark_owner, (void *)owner)) < 0)
		return kb_err_set(err, -r, "writing %s/%s: %s", dir, name, strerror(-r));
	return 0;
}

int devinfo_remove(
        const char *dir, const char *name, const char *owner, bool *removed, struct kb_err *err)
{
	_cleanup_close_ int dfd = -1;
	const char *why;
	int r;

	*removed = false;
	if (!devinfo_name_valid(name, &why))
		return kb_err_set(err, EINVAL, "device-info file '%s': %s", name, why);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT
		               ? 0
		               : kb_err_set(err, errno, "opening %s: %s", dir, strerror(errno));
	if ((r = owned(dfd, name, owner)) <= 0)
		return r == 0 ? 0
		              : kb_err_set(err, -r,
		                        "%s/%s is not the device-info file of %s: left as it is",
		                        dir, name, owner);
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		return kb_err_set(err, errno, "removing %s/%s: %s", dir, name, strerror(errno));
	*removed = true;
	return 0;
}
