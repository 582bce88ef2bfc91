/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/podsock.h"
#include "common/str.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static pthread_mutex_t root_lock = PTHREAD_MUTEX_INITIALIZER;
static char confined_root[PATH_MAX];

int podsock_set_root(const char *root)
{
	int r = 0;

	pthread_mutex_lock(&root_lock);
	if (str_copy(confined_root, sizeof(confined_root), root ? root : "") < 0) {
		confined_root[0] = '\0';
		r = -ENAMETOOLONG;
	}
	/* "/run/kbnet/" and "/run/kbnet" mean the same root. */
	for (size_t n = strlen(confined_root); n > 1 && confined_root[n - 1] == '/'; n--)
		confined_root[n - 1] = '\0';
	pthread_mutex_unlock(&root_lock);
	return r;
}

static int sys_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	return syscall(SYS_connect, fd, sa, len);
}

/* Whether path lies strictly below root; the part after "root/" into *rel. */
static bool below(const char *root, const char *path, const char **rel)
{
	size_t n = strlen(root);

	if (!n || strncmp(root, path, n) != 0 || (path[n] != '/' && root[n - 1] != '/'))
		return false;
	*rel = path + n;
	while (**rel == '/')
		(*rel)++;
	return **rel != '\0';
}

int podsock_connect(int fd, const char *root, const char *path)
{
	char comp[NAME_MAX + 1], proc[64];
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	const char *rel, *p;
	int dfd, sfd, r;
	struct stat st;

	if (!below(root, path, &rel))
		return -EINVAL;
	if ((dfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	for (p = rel;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		int nfd;

		if (n == 0 || n > NAME_MAX) {
			close(dfd);
			return n ? -ENAMETOOLONG : -EINVAL;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		if (!strcmp(comp, ".") || !strcmp(comp, "..")) {
			close(dfd);
			return -EINVAL;
		}
		if (!slash)
			break;
		/* A symlinked directory fails here (ELOOP or ENOTDIR): never followed. */
		nfd = openat(dfd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		r = -errno;
		close(dfd);
		if (nfd < 0)
			return r == -ENOTDIR ? -ELOOP : r;
		dfd = nfd;
		for (p = slash; *p == '/'; p++)
			;
		if (!*p) /* trailing slash: no socket name */
			return close(dfd), -EINVAL;
	}
	sfd = openat(dfd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	r = -errno;
	close(dfd);
	if (sfd < 0)
		return r;
	if (fstat(sfd, &st) < 0) {
		r = -errno;
		close(sfd);
		return r;
	}
	if (!S_ISSOCK(st.st_mode)) {
		close(sfd);
		return S_ISLNK(st.st_mode) ? -ELOOP : -ECONNREFUSED;
	}
	/* The inode just checked, whatever happens to the name meanwhile. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", sfd);
	str_copy(un.sun_path, sizeof(un.sun_path), proc);
	r = sys_connect(fd, (struct sockaddr *)&un,
	            offsetof(struct sockaddr_un, sun_path) + strlen(un.sun_path) + 1) < 0
	            ? -errno
	            : 0;
	close(sfd);
	return r;
}

/*
 * The interposer (see podsock.h). glibc declares connect() with a transparent union under
 * _GNU_SOURCE: the definition must use the same type.
 */
int connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
#if defined(__USE_GNU) && !defined(__cplusplus)
	const struct sockaddr *sa = addr.__sockaddr__;
#else
	const struct sockaddr *sa = addr;
#endif
	char root[PATH_MAX], path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
	const char *rel;
	size_t n;
	int r;

	if (!sa || sa->sa_family != AF_UNIX || len <= offsetof(struct sockaddr_un, sun_path))
		return sys_connect(fd, sa, len);
	n = len - offsetof(struct sockaddr_un, sun_path);
	if (n > sizeof(un->sun_path))
		n = sizeof(un->sun_path);
	memcpy(path, un->sun_path, n);
	path[n] = '\0';
	if (path[0] != '/') /* abstract or relative: not a path under the root */
		return sys_connect(fd, sa, len);
	pthread_mutex_lock(&root_lock);
	str_copy(root, sizeof(root), confined_root);
	pthread_mutex_unlock(&root_lock);
	if (!root[0] || !below(root, path, &rel))
		return sys_connect(fd, sa, len);
	if ((r = podsock_connect(fd, root, path)) < 0) {
		errno = -r;
		return -1;
	}
	return 0;
}
