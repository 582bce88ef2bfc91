/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Multus device-info file (runtimeConfig.CNIDeviceInfoFile): the agent builds the object
 * (spec 1.1.0, types vhost-user/pci/vdpa); the plugin writes it as is, atomically, mode 0644,
 * and removes it on DEL. The file lives directly in the configured device-info directory and
 * is reached only through a descriptor of that directory, never through a symlink. Each file
 * carries the attachment that wrote it in the xattr `trusted.kbnet.attachment` (only root can
 * set trusted.* attributes): a file without that mark, or with another attachment's, is never
 * replaced or removed.
 */
#ifndef KB_CNI_DEVINFO_H
#define KB_CNI_DEVINFO_H

#include <jansson.h>
#include <stdbool.h>

#include "common/err.h"

#define DEVINFO_XATTR    "trusted.kbnet.attachment"
#define DEVINFO_NAME_MAX 200 /* room for the temp-name prefix/suffix within NAME_MAX */

/* A file name (one path component) that devinfo accepts: [A-Za-z0-9_.:-], not starting '.'. */
bool devinfo_name_valid(const char *name, const char **why);

/*
 * Write `info` to dir/name for attachment `owner` ("<containerID>/<ifname>"): temp file with
 * O_EXCL|O_NOFOLLOW, fsync, renameat, fsync of the directory. `dir` is created when missing.
 * -EEXIST when dir/name exists and is not this attachment's file.
 */
int devinfo_write(
        const char *dir, const char *name, const char *owner, json_t *info, struct kb_err *err);

/*
 * Remove dir/name when it is a regular file written for `owner`; a missing file is fine
 * (*removed false). -EPERM, with nothing removed, when it is anything else.
 */
int devinfo_remove(
        const char *dir, const char *name, const char *owner, bool *removed, struct kb_err *err);

#endif
