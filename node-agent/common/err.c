/* SPDX-License-Identifier: Apache-2.0 */
#include "common/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int kb_err_set(struct kb_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (errnum < 0)
		errnum = -errnum;
	if (err) {
		err->errnum = errnum;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -errnum;
}

int kb_err_prefix(struct kb_err *err, const char *fmt, ...)
{
	char prefix[256], old[sizeof(err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	if (snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old) >= (int)sizeof(err->msg))
		err->msg[sizeof(err->msg) - 2] = '.'; /* truncated: say so */
	return -err->errnum;
}

void kb_err_clear(struct kb_err *err)
{
	err->errnum = 0;
	err->msg[0] = '\0';
}

static const struct {
	int num;
	const char *name;
} errno_names[] = {
        {EPERM, "EPERM"},
        {ENOENT, "ENOENT"},
        {EIO, "EIO"},
        {E2BIG, "E2BIG"},
        {EBADF, "EBADF"},
        {EAGAIN, "EAGAIN"},
        {ENOMEM, "ENOMEM"},
        {EACCES, "EACCES"},
        {EBUSY, "EBUSY"},
        {EEXIST, "EEXIST"},
        {ENODEV, "ENODEV"},
        {ENOTDIR, "ENOTDIR"},
        {EINVAL, "EINVAL"},
        {ENOSPC, "ENOSPC"},
        {ERANGE, "ERANGE"},
        {ENAMETOOLONG, "ENAMETOOLONG"},
        {ENOSYS, "ENOSYS"},
        {ENOTSUP, "ENOTSUP"},
        {EPROTO, "EPROTO"},
        {EBADMSG, "EBADMSG"},
        {EMSGSIZE, "EMSGSIZE"},
        {EPROTONOSUPPORT, "EPROTONOSUPPORT"},
        {ECONNREFUSED, "ECONNREFUSED"},
        {ECONNRESET, "ECONNRESET"},
        {ETIMEDOUT, "ETIMEDOUT"},
        {ESTALE, "ESTALE"},
        {EOWNERDEAD, "EOWNERDEAD"},
        {ENXIO, "ENXIO"},
        {ESRCH, "ESRCH"},
        {EHOSTDOWN, "EHOSTDOWN"},
        {ENETDOWN, "ENETDOWN"},
        {ECANCELED, "ECANCELED"},
        {EALREADY, "EALREADY"},
        {EOVERFLOW, "EOVERFLOW"},
        {ENOTCONN, "ENOTCONN"},
        {EMLINK, "EMLINK"},
        {ENOBUFS, "ENOBUFS"},
        {EADDRNOTAVAIL, "EADDRNOTAVAIL"},
        {EADDRINUSE, "EADDRINUSE"},
};

const char *kb_errno_name(int errnum)
{
	if (errnum < 0)
		errnum = -errnum;
	for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (errno_names[i].num == errnum)
			return errno_names[i].name;
	return "EUNKNOWN";
}

int kb_errno_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (strcmp(errno_names[i].name, name) == 0)
			return errno_names[i].num;
	return 0;
}
