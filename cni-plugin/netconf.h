/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The plugin's input: CNI_* environment variables and the network configuration on stdin,
 * parsed into structs and validated, every size bounded. Errors carry the CNI code:
 * 4 invalid environment, 6 undecodable JSON, 7 invalid network config, 1 incompatible version.
 */
#ifndef KB_CNI_NETCONF_H
#define KB_CNI_NETCONF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/mac.h"
#include "common/validate.h"
#include "result.h"

#define NETCONF_MAX_STDIN               (1024 * 1024) /* bytes of network configuration */
#define NETCONF_MAX_ARGS                16384         /* bytes of CNI_ARGS */
#define NETCONF_MAX_CNI_PATH            65536         /* bytes of CNI_PATH */
#define NETCONF_MAX_VALID               65536         /* GC: entries of cni.dev/valid-attachments */

#define NETCONF_DEFAULT_TIMEOUT_MS      10000
#define NETCONF_DEFAULT_IPAM_TIMEOUT_MS 60000
#define NETCONF_DEFAULT_CACHE_DIR       "/var/lib/cni/kbnet"
#define NETCONF_SOCKET_MAX              107 /* sun_path */

enum cni_cmd {
	CNI_CMD_NONE = 0,
	CNI_CMD_ADD,
	CNI_CMD_DEL,
	CNI_CMD_CHECK,
	CNI_CMD_VERSION,
	CNI_CMD_GC,
	CNI_CMD_STATUS,
};

/* "ADD" -> CNI_CMD_ADD; CNI_CMD_NONE when unknown. */
enum cni_cmd netconf_cmd_parse(const char *s);
const char *netconf_cmd_str(enum cni_cmd c);

/* CNI_ARGS keys kbnet knows (Multus and containerd send these); "" when absent. */
struct cni_args {
	bool ignore_unknown;
	char pod_namespace[VAL_K8S_NAMESPACE_MAX + 1];
	char pod_name[VAL_K8S_NAME_MAX + 1];
	char pod_uid[VAL_POD_UID_MAX + 1];
	char pod_infra_id[VAL_CONTAINER_ID_MAX + 1];
};

/*
 * Parse "K=V;K=V" in any order (empty pairs skipped). Keys other than IgnoreUnknown and
 * K8S_POD_{NAMESPACE,NAME,UID,INFRA_CONTAINER_ID} are an error unless IgnoreUnknown is true/1
 * (case-insensitive, as libcni); the pod values are validated. Errors: code 4.
 */
int netconf_args_parse(const char *s, struct cni_args *ret, struct cni_err *ce);

struct cni_env {
	enum cni_cmd cmd;
	char container_id[VAL_CONTAINER_ID_MAX + 1]; /* "" when not set */
	char ifname[VAL_IFNAME_MAX + 1];             /* "" when not set */
	char netns[VAL_PATH_MAX + 1];                /* "" when not set */
	char *cni_path;                              /* NULL when not set */
	struct cni_args args;
};

/*
 * Load CNI_COMMAND, CNI_CONTAINERID, CNI_IFNAME, CNI_NETNS, CNI_PATH and CNI_ARGS from the
 * environment and check what `cmd` requires (CNI_NETNS must exist for ADD; DEL accepts an empty
 * or unusable one). Errors: code 4 naming the variable.
 */
int netconf_env_load(struct cni_env *env, struct cni_err *ce);
void netconf_env_free(struct cni_env *env);

struct netconf {
	json_t *root; /* the configuration as received: delegated plugins get it whole */
	enum cni_version version;
	const char *name;
	const char *type;
	const char *device_type;
	bool device_type_set;  /* "deviceType" given (else virtio-user, or the deviceID's type) */
	const char *pool;      /* resourceName, NULL when not set */
	const char *device_id; /* runtimeConfig.deviceID > deviceID > pciBusID, or NULL */
	const char *agent_socket;
	int agent_timeout_ms;
	int ipam_timeout_ms; /* each IPAM plugin run: killed past it */
	const char *mac;     /* runtimeConfig.mac > args.cni.mac > mac, or NULL */
	int mtu;             /* 0 when not set */
	int vlan;            /* -1 when not set */
	json_t *ipam;        /* NULL when there is no IPAM */
	const char *ipam_type;
	bool agent_ipam;  /* ipam.type "kbnet": the agent allocates addresses with the device */
	json_t *ipam_ips; /* static requests: runtimeConfig.ips > args.cni.ips, or NULL */
	const char *devinfo_file; /* runtimeConfig.CNIDeviceInfoFile, or NULL */
	const char *devinfo_dir;  /* after netconf_confine: the configured directory */
	const char *devinfo_name; /* after netconf_confine: the file's name in it */
	const char *cache_dir;
	json_t *dev_config;        /* SR-IOV settings for the agent's attach "config", or NULL */
	struct cni_result *prev;   /* prevResult, or NULL */
	json_t *valid_attachments; /* GC: the validated array */
};

/*
 * Read all of fd (stdin) up to `max` bytes. Errors: 7 when larger, 5 on a read error.
 */
int netconf_read(int fd, size_t max, char **ret, size_t *ret_len, struct cni_err *ce);

/* Best effort: the configuration's cniVersion, to print errors in the caller's version. */
enum cni_version netconf_peek_version(const char *buf, size_t len);

/*
 * Parse and validate the configuration for `cmd`. Strings in the struct point into root.
 * Checks the version rules too: CHECK needs >= 0.4.0 and a prevResult, GC and STATUS need
 * 1.1.0, and GC needs cni.dev/valid-attachments. On DEL a prevResult that does not parse is
 * dropped (from root too) rather than refused: DEL does not need it.
 */
int netconf_parse(
        const char *buf, size_t len, enum cni_cmd cmd, struct netconf **ret, struct cni_err *ce);
void netconf_free(struct netconf *nc);

struct pcfg;

/*
 * Confine what the netconf (any namespace user's input) may point at to the roots of the
 * plugin's own configuration: agentSocket must be in its allow-list (default: the first entry),
 * cacheDir must lie under its cacheDir (default: that), CNIDeviceInfoFile must be a plain file
 * name directly in its deviceInfoDir. Errors: code 7 naming the key. On DEL nothing is refused
 * (a refused DEL keeps resources held): an unconfined cacheDir is replaced by the configured
 * one and an unconfined device-info file is dropped (*dropped set), since ADD never wrote it.
 */
int netconf_confine(struct netconf *nc, const struct pcfg *cfg, enum cni_cmd cmd,
        const char **dropped, struct cni_err *ce);

/* Cross-checks between both inputs: CNI_PATH is needed when IPAM is delegated (but STATUS). */
int netconf_check_env(const struct netconf *nc, const struct cni_env *env, struct cni_err *ce);

#endif
