/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Error detail carried out of library code (which never logs): a negative errno plus a
 * human-readable message. Functions return the negative errno; the message says why.
 */
#ifndef KB_ERR_H
#define KB_ERR_H

#include <stddef.h>

struct kb_err {
	int errnum; /* positive errno, 0 when no error was set */
	char msg[512];
};

/* Sets err (if non-NULL) and returns -errnum, so callers can `return kb_err_set(...)`. */
int kb_err_set(struct kb_err *err, int errnum, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Prefix an existing message: "ctx: old message". Returns -err->errnum. */
int kb_err_prefix(struct kb_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kb_err_clear(struct kb_err *err);

/* Short symbolic name of an errno value ("ENOENT"), "EUNKNOWN" when not listed. */
const char *kb_errno_name(int errnum);
/* Inverse of kb_errno_name; 0 when unknown. */
int kb_errno_from_name(const char *name);

#endif
