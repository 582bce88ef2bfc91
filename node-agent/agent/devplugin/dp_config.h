/* SPDX-License-Identifier: Apache-2.0 */
/* The "devicePlugin" configuration section (defaults: the paths a kubelet node uses). */
#ifndef KB_DP_CONFIG_H
#define KB_DP_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "agent/config.h"

#define DP_DEFAULT_PLUGIN_DIR    "/var/lib/kubelet/device-plugins"
#define DP_DEFAULT_KUBELET_SOCK  "kubelet.sock"
#define DP_DEFAULT_PODRES_SOCKET "/var/lib/kubelet/pod-resources/kubelet.sock"
/* Where Multus looks for device-plugin device-info files (device-info spec 1.1.0). */
#define DP_DEFAULT_DEVINFO_DIR "/var/run/k8s.cni.cncf.io/devinfo/dp"
/* Where container runtimes (containerd, CRI-O, podman) look for CDI specs. */
#define DP_DEFAULT_CDI_DIR "/var/run/cdi"

struct dp_config {
	bool enabled;
	char plugin_dir[PATH_MAX];
	char kubelet_socket[PATH_MAX]; /* absolute; default <pluginDir>/kubelet.sock */
	char podres_socket[PATH_MAX];
	char devinfo_dir[PATH_MAX];
	bool cdi; /* Allocate answers with CDI device names + a CDI spec */
	char cdi_spec_dir[PATH_MAX];
	unsigned register_timeout_ms;
	unsigned check_interval_ms;     /* socket/kubelet checks behind inotify */
	unsigned reconcile_interval_ms; /* 0: no PodResources reconcile */
	unsigned grace_period_ms;       /* stale this long before a release */
	unsigned max_conns;
	unsigned max_streams;
	unsigned max_msg;
	unsigned idle_timeout_ms;
	unsigned request_timeout_ms; /* a request stream must be complete within this */
};

/* The running configuration's section (never NULL once loaded). */
const struct dp_config *dp_config_get(const struct cfg *cfg);
bool dp_config_equal(const struct dp_config *a, const struct dp_config *b);

#endif
