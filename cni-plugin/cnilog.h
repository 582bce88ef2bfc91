/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kbnet-cni's own log, configured from the netconf as sriov-cni does: "logLevel" (panic,
 * error, warning, info, debug) and "logFile". The netconf is written by whoever may create a
 * NetworkAttachmentDefinition in their namespace and root runs the plugin, so logFile is
 * confined: only a regular file under the log root, the plugin's own configuration's logDir
 * (plugincfg.h; default /var/log/kbnet) (no "..", no symlink on the way: openat2
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS from the root), created 0600, never followed, not
 * written past CNILOG_MAX_BYTES. A logFile elsewhere is refused with a line on stderr and the
 * command goes on. Neither key set: nothing is logged (stdout carries the result, stderr ends
 * up in Multus' log).
 */
#ifndef KB_CNI_CNILOG_H
#define KB_CNI_CNILOG_H

#include <jansson.h>

#include "result.h"

#define CNILOG_MAX_BYTES (16 * 1024 * 1024)

enum cnilog_level { CNILOG_PANIC, CNILOG_ERROR, CNILOG_WARNING, CNILOG_INFO, CNILOG_DEBUG };

/* Read logLevel/logFile from the netconf root (absent, null or "": the defaults); logFile
 * must lie under log_root. A bad logLevel or a non-string is a configuration error naming
 * the key. */
int cnilog_setup(json_t *root, const char *log_root, struct cni_err *ce);
void cnilog(enum cnilog_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cnilog_close(void);

#endif
