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
/*
 * Write a whole file crash-safely. The one policy of every writer in kbnet (agent and CNI):
 * - a temp file "<name>.tmp.<pid>" in the same directory (so the rename is atomic), any stale
 *   one unlinked first, created with O_CREAT|O_EXCL|O_NOFOLLOW so nothing planted at that name
 *   (a symlink, a file of someone else's) is ever written through;
 * - exactly `mode` (fchmod: the umask of whoever runs us does not matter);
 * - `prepare` (optional) on the temp file's fd before the data (e.g. an ownership xattr), so
 *   the file never appears at its name without it;
 * - data, fsync the file, rename over the name, fsync the directory.
 * On failure the temp file is removed and the old file, if any, is left as it was. Readers
 * that list the directory must ignore names that do not end as theirs do (".json" etc.).
 */
typedef int (*fs_prepare_fn)(int fd, void *arg);
int fs_write_atomic_at(int dfd, const char *name, const void *buf, size_t len, mode_t mode,
        fs_prepare_fn prepare, void *arg);
/* The same by path: the directory is opened (and must exist). */
int fs_write_atomic(const char *path, const void *buf, size_t len, mode_t mode);
/* Read at most `max` bytes; -EFBIG when the file is larger. *ret is NUL-terminated. */
int fs_read_file(const char *path, size_t max, char **ret, size_t *ret_len);
/* The same from an open fd (a pipe, stdin) until EOF. */
int fs_read_fd(int fd, size_t max, char **ret, size_t *ret_len);
/* Remove a file tree (no symlink following); missing is fine. */
int fs_rm_rf(const char *path);
/* Keep a broken file for inspection: rename to "<path>.<suffix>-<unix time>". */
int fs_move_aside(const char *path, const char *suffix, char *newpath, size_t size);

#endif
