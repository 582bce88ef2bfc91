/* SPDX-License-Identifier: Apache-2.0 */
#include "cnilog.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char *const names[] = {"panic", "error", "warning", "info", "debug"};

static struct {
	bool on;
	enum cnilog_level level;
	int fd; /* -1: stderr */
	off_t size;
} L = {.fd = -1};

/* A string key as the Go plugins read it: absent, null and "" are all "not set". */
static int opt_str(json_t *root, const char *key, const char **ret, struct cni_err *ce)
{
	json_t *v = json_object_get(root, key);

	*ret = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return cni_err_set(ce, CNI_ERR_INVALID_CONFIG, EINVAL, "%s must be a string", key);
	if (json_string_length(v) > 0)
		*ret = json_string_value(v);
	return 0;
}

/* Open rel beneath the root directory: no "..", no absolute jump, no symlink anywhere. */
static int open_beneath(const char *root, const char *rel, const char **why)
{
	struct open_how how = {
	        .flags = O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
	        .mode = 0600,
	        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	struct stat st;
	int dfd, fd;

	if (mkdir(root, 0700) < 0 && errno != EEXIST) {
		*why = "cannot create the log root";
		return -1;
	}
	if ((dfd = open(root, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		*why = "the log root is not a directory";
		return -1;
	}
	fd = (int)syscall(SYS_openat2, dfd, rel, &how, sizeof(how));
	close(dfd);
	if (fd < 0) {
		*why = errno == EXDEV || errno == ELOOP
		               ? "it leaves the log root or passes a symlink"
		               : strerror(errno);
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		close(fd);
		*why = "not a regular file with one link";
		return -1;
	}
	L.size = st.st_size;
	return fd;
}

int cnilog_setup(json_t *root, const char *lroot, struct cni_err *ce)
{
	const char *level, *file, *why = "";
	size_t rl;
	int r;

	if ((r = opt_str(root, "logLevel", &level, ce)) < 0 ||
	        (r = opt_str(root, "logFile", &file, ce)) < 0)
		return r;
	L.level = CNILOG_INFO;
	if (level) {
		size_t i;
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcasecmp(level, names[i]))
				break;
		if (i == sizeof(names) / sizeof(names[0]))
			return cni_err_set(ce, CNI_ERR_INVALID_CONFIG, EINVAL,
			        "logLevel must be panic, error, warning, info or debug, not "
			        "'%.32s'",
			        level);
		L.level = (enum cnilog_level)i;
	}
	L.on = level || file;
	if (!file)
		return 0;
	rl = strlen(lroot);
	while (rl > 1 && lroot[rl - 1] == '/')
		rl--;
	if (strncmp(file, lroot, rl) || file[rl] != '/' || !file[rl + 1]) {
		why = "not under the log root";
	} else if ((L.fd = open_beneath(lroot, file + rl + 1, &why)) >= 0) {
		return 0;
	}
	fprintf(stderr, "kbnet-cni: logFile '%.256s' refused (%s %.*s): logging to stderr\n", file,
	        why, (int)rl, lroot);
	return 0;
}

void cnilog(enum cnilog_level level, const char *fmt, ...)
{
	char line[1024], ts[32];
	struct timespec now;
	struct tm tm;
	va_list ap;
	int n, m;

	if (!L.on || level > L.level)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s.%03ldZ %s kbnet-cni[%d]: ", ts, now.tv_nsec / 1000000,
	        names[level], (int)getpid());
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	n = m < 0 ? n : n + m >= (int)sizeof(line) - 1 ? (int)sizeof(line) - 2 : n + m;
	line[n++] = '\n';
	if (L.fd < 0) {
		(void)!write(STDERR_FILENO, line, n);
		return;
	}
	if (L.size + n > CNILOG_MAX_BYTES)
		return;
	if (write(L.fd, line, n) == n)
		L.size += n;
}

void cnilog_close(void)
{
	if (L.fd >= 0)
		close(L.fd);
	L.fd = -1;
	L.on = false;
}
