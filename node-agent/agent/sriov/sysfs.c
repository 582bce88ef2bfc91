/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/sriov/sysfs.h"
#include "common/str.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Attributes we read are short; anything longer is not what we expect. */
#define SYSFS_ATTR_MAX 4096

static int path_of(char *buf, size_t size, const char *dir, const char *name)
{
	return str_printf(buf, size, "%s/%s", dir, name) < 0 ? -ENAMETOOLONG : 0;
}

int sysfs_read(const char *dir, const char *attr, char *buf, size_t size)
{
	char path[PATH_MAX], tmp[SYSFS_ATTR_MAX];
	ssize_t n;
	int fd, r;

	if ((r = path_of(path, sizeof(path), dir, attr)) < 0)
		return r;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	n = read(fd, tmp, sizeof(tmp) - 1);
	if (n < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	close(fd);
	tmp[n] = '\0';
	while (n > 0 && (tmp[n - 1] == '\n' || tmp[n - 1] == ' '))
		tmp[--n] = '\0';
	return str_copy(buf, size, tmp) < 0 ? -EOVERFLOW : 0;
}

int sysfs_read_int(const char *dir, const char *attr, long *ret)
{
	char buf[64], *end;
	long v;
	int r;

	if ((r = sysfs_read(dir, attr, buf, sizeof(buf))) < 0)
		return r;
	errno = 0;
	v = strtol(buf, &end, 0);
	if (errno || end == buf || *end)
		return -EINVAL;
	*ret = v;
	return 0;
}

int sysfs_link_name(const char *dir, const char *link, char *buf, size_t size)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t n;
	int r;

	if ((r = path_of(path, sizeof(path), dir, link)) < 0)
		return r;
	if ((n = readlink(path, target, sizeof(target) - 1)) < 0)
		return -errno;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (!*base)
		return -EINVAL;
	return str_copy(buf, size, base) < 0 ? -EOVERFLOW : 0;
}

bool sysfs_exists(const char *dir, const char *name)
{
	char path[PATH_MAX];

	return path_of(path, sizeof(path), dir, name) == 0 && access(path, F_OK) == 0;
}

void sysfs_names_free(char **names)
{
	if (!names)
		return;
	for (char **p = names; *p; p++)
		free(*p);
	free(names);
}

static int name_cmp(const void *a, const void *b)
{
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

int sysfs_list(const char *dir, const char *prefix, size_t max, char ***ret, size_t *ret_n)
{
	struct dirent *de;
	char **v = NULL;
	size_t n = 0, cap = 0;
	DIR *d;
	int r = 0;

	if (!(d = opendir(dir)))
		return -errno;
	while ((errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (prefix && strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		if (n == max) {
			r = -E2BIG;
			goto fail;
		}
		if (n + 1 >= cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **nv = realloc(v, ncap * sizeof(*nv));
			if (!nv) {
				r = -ENOMEM;
				goto fail;
			}
			v = nv;
			cap = ncap;
		}
		if (!(v[n] = strdup(de->d_name))) {
			r = -ENOMEM;
			goto fail;
		}
		v[++n] = NULL;
	}
	if (errno) {
		r = -errno;
		goto fail;
	}
	closedir(d);
	if (!v && !(v = calloc(1, sizeof(*v))))
		return -ENOMEM;
	qsort(v, n, sizeof(*v), name_cmp);
	*ret = v;
	if (ret_n)
		*ret_n = n;
	return 0;
fail:
	closedir(d);
	if (v) {
		v[n] = NULL;
		sysfs_names_free(v);
	}
	return r;
}
