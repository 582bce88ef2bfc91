/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The plugin's own configuration: the roots a netconf may point into. A netconf is written by
 * any namespace user (a NetworkAttachmentDefinition), so the places where the root plugin
 * writes, unlinks or connects come from here, a root-owned file, never from the netconf:
 *
 *   /etc/kbnet/cni.json (another file: env KBNET_CNI_CONFIG, set by whoever runs the runtime)
 *   {"agentSockets": ["/run/kbnet/agent.sock"],            allow-list, first is the default
 *    "cacheDir": "/var/lib/cni/kbnet",                      netconf cacheDir must lie under it
 *    "deviceInfoDir": "/var/run/k8s.cni.cncf.io/devinfo/cni",  CNIDeviceInfoFile only here
 *    "logDir": "/var/log/kbnet"}                            netconf logFile only under it
 *
 * A missing file means these defaults. The file must be a regular file owned by root (or the
 * plugin's user) and writable by nobody else, at most 64 KiB.
 */
#ifndef KB_CNI_PLUGINCFG_H
#define KB_CNI_PLUGINCFG_H

#include <stdbool.h>

#include "result.h"

#define PCFG_DEFAULT_PATH        "/etc/kbnet/cni.json"
#define PCFG_ENV                 "KBNET_CNI_CONFIG"
#define PCFG_DEFAULT_DEVINFO_DIR "/var/run/k8s.cni.cncf.io/devinfo/cni"
#define PCFG_DEFAULT_LOG_DIR     "/var/log/kbnet"
#define PCFG_MAX_FILE            65536
#define PCFG_MAX_SOCKETS         16
#define PCFG_PATH_MAX            4095

struct pcfg {
	char path[PCFG_PATH_MAX + 1]; /* the file read ("" when the defaults are used) */
	char sockets[PCFG_MAX_SOCKETS][108];
	int n_sockets;
	char cache_dir[PCFG_PATH_MAX - 256 + 1];
	char devinfo_dir[PCFG_PATH_MAX - 256 + 1];
	char log_dir[PCFG_PATH_MAX - 256 + 1];
};

/* The defaults, without reading anything. */
void pcfg_defaults(struct pcfg *c);

/*
 * Load `path` (NULL: $KBNET_CNI_CONFIG, else PCFG_DEFAULT_PATH). A missing file is the
 * defaults; anything else wrong with it is an error with code 7 naming the file.
 */
int pcfg_load(const char *path, struct pcfg *c, struct cni_err *ce);

/* Whether `sock` is one of the allowed agent sockets. */
bool pcfg_socket_allowed(const struct pcfg *c, const char *sock);

/* Whether `path` (absolute, no "..") is `root` itself or lies under it. */
bool pcfg_under(const char *root, const char *path);

#endif
