/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading a sysfs tree rooted anywhere (the real /sys or a test fixture). Paths are built as
 * "<dir>/<name>"; callers pass directories they already built from the configured sysfsRoot,
 * never user input. Every reader is bounded and returns a negative errno.
 */
#ifndef KB_SYSFS_H
#define KB_SYSFS_H

#include <stdbool.h>
#include <stddef.h>

/* Read "<dir>/<attr>" into buf, trailing newline removed. -ENOENT when absent. */
int sysfs_read(const char *dir, const char *attr, char *buf, size_t size);
/* Read a decimal or 0x-prefixed integer attribute. */
int sysfs_read_int(const char *dir, const char *attr, long *ret);
/* Basename of the target of the symlink "<dir>/<link>" ("iavf" for driver -> .../iavf). */
int sysfs_link_name(const char *dir, const char *link, char *buf, size_t size);
bool sysfs_exists(const char *dir, const char *name);

/* Names in a directory, sorted (strverscmp, so virtfn10 follows virtfn9), "." and ".."
 * skipped. When prefix is non-NULL only names starting with it are kept. At most max names;
 * -E2BIG beyond. *ret is a NULL-terminated array to free with sysfs_names_free. */
int sysfs_list(const char *dir, const char *prefix, size_t max, char ***ret, size_t *ret_n);
void sysfs_names_free(char **names);

#endif
