/* SPDX-License-Identifier: Apache-2.0 */
#include "devinfo.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/str.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int devinfo_write(const char *path, json_t *info, struct kb_err *err)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	if (!json_is_object(info))
		return kb_err_set(err, EINVAL, "device info is not an object");
	if (str_printf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) < 0 ||
	        str_copy(dir, sizeof(dir), path) < 0)
		return kb_err_set(err, ENAMETOOLONG, "device-info path too long: %s", path);
	if ((r = fs_mkdir_p(dirname(dir), 0755)) < 0)
		return kb_err_set(err, r, "creating the directory of %s: %s", path, strerror(-r));
	if (!(text = json_dumps(info, JSON_COMPACT)))
		return kb_err_set(err, ENOMEM, "out of memory");
	/* O_NOFOLLOW|O_EXCL: never write through a link someone planted at the temp name. */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return kb_err_set(err, errno, "creating %s: %s", tmp, strerror(errno));
	/* Exactly 0644 whatever the runtime's umask: Multus may read it unprivileged. */
	if (fchmod(fd, 0644) < 0 || (r = fs_write_all(fd, text, strlen(text))) < 0 ||
	        fsync(fd) < 0) {
		r = errno;
		unlink(tmp);
		return kb_err_set(err, r, "writing %s: %s", tmp, strerror(r));
	}
	if (rename(tmp, path) < 0) {
		r = errno;
		unlink(tmp);
		return kb_err_set(err, r, "renaming %s to %s: %s", tmp, path, strerror(r));
	}
	return 0;
}

int devinfo_remove(const char *path, struct kb_err *err)
{
	if (unlink(path) < 0 && errno != ENOENT)
		return kb_err_set(err, errno, "removing %s: %s", path, strerror(errno));
	return 0;
}
