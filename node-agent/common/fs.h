/* SPDX-License-Identifier: Apache-2.0 */
/* File-system helpers with the durability steps spelled out. */
#ifndef KB_FS_H
#define KB_FS_H

#include <stddef.h>
#include <sys/types.h>

/* mkdir -p; existing directories are fine. */
int fs_mkdir_p(const char *path, mode_t mode);
/* fsync the directory that holds `path` (or `path` itself when it is a directory). */
int fs_fsync_dir(const char *dir);
/* write() all of buf, retrying short writes and EINTR. */
int fs_write_all(int fd, const void *buf, size_t len);
/* Write a whole file crash-safely: temp file, fsync, rename, fsync the directory. */
int fs_write_atomic(const char *path, const void *buf, size_t len, mode_t mode);
/* Read at most `max` bytes; -EFBIG when the file is larger. *ret is NUL-terminated. */
int fs_read_file(const char *path, size_t max, char **ret, size_t *ret_len);
/* Remove a file tree (no symlink following); missing is fine. */
int fs_rm_rf(const char *path);
/* Keep a broken file for inspection: rename to "<path>.<suffix>-<unix time>". */
int fs_move_aside(const char *path, const char *suffix, char *newpath, size_t size);

#endif
