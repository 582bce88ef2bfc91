/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Validation of every externally supplied name. Names that end up in a path (container ID,
 * ifname, pod UID, pool, device ID) must pass these checks before they are used anywhere.
 * Each returns true when valid; otherwise *why (if non-NULL) names the rule broken.
 */
#ifndef KB_VALIDATE_H
#define KB_VALIDATE_H

#include <stdbool.h>

#define VAL_CONTAINER_ID_MAX  128
#define VAL_IFNAME_MAX        15 /* IFNAMSIZ - 1 */
#define VAL_POD_UID_MAX       64
#define VAL_NAME_MAX          63 /* pool names, resource name parts */
#define VAL_NETWORK_MAX       128
#define VAL_DEVICE_ID_MAX     64
#define VAL_K8S_NAMESPACE_MAX 63
#define VAL_K8S_NAME_MAX      253
#define VAL_PATH_MAX          4095

/* CNI: starts alphanumeric, then alphanumerics, '_', '.', '-'. */
bool val_container_id(const char *s, const char **why);
/* Kernel and CNI rules: 1..15 bytes, not "." or "..", no '/', ':' or whitespace. */
bool val_ifname(const char *s, const char **why);
/* Kubernetes UIDs (UUIDs, or hex hashes for static pods). */
bool val_pod_uid(const char *s, const char **why);
/* Pool names: [A-Za-z0-9][A-Za-z0-9._-]*, at most VAL_NAME_MAX. */
bool val_name(const char *s, const char **why);
/* CNI network names (netconf "name"): same alphabet, at most VAL_NETWORK_MAX. */
bool val_network(const char *s, const char **why);
/* Device IDs: PCI addresses, vDPA names, generated IDs: [A-Za-z0-9][A-Za-z0-9:._-]*. */
bool val_device_id(const char *s, const char **why);
/* Kubernetes namespace (DNS label) and object names (DNS subdomain, lower case). */
bool val_k8s_namespace(const char *s, const char **why);
bool val_k8s_name(const char *s, const char **why);
/* An absolute path with no "..", no control characters, at most VAL_PATH_MAX. */
bool val_abs_path(const char *s, const char **why);

#endif
