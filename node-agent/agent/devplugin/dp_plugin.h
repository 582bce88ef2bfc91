/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One kubelet device plugin per pool: the DevicePlugin gRPC service on
 * <pluginDir>/kbnet-<pool>.sock, its ListAndWatch streams, and the registration state that
 * dp_register keeps. Internal to the device-plugin module.
 */
#ifndef KB_DP_PLUGIN_H
#define KB_DP_PLUGIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>

#include "agent/devplugin/dp_config.h"
#include "agent/inventory.h"
#include "common/backoff.h"
#include "common/err.h"
#include "common/hmap.h"
#include "common/queue.h"

struct dp_grpc_server;
struct dp_rpc;
struct dp_watch;

#define DP_API_VERSION      "v1beta1"
#define DP_SOCKET_PREFIX    "kbnet-"
#define DP_PATH_REGISTER    "/v1beta1.Registration/Register"
#define DP_PATH_PODRES_LIST "/v1.PodResourcesLister/List"

struct dp_plugin {
	struct pool *pool;
	char resource[sizeof(((struct pool *)0)->resource_name)];
	char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *endpoint;       /* file name inside sock_path */
	struct dp_grpc_server *srv; /* NULL while the plugin directory cannot be used */
	char listen_error[256];
	LIST_HEAD(, dp_watch) watches;
	unsigned n_watches;
	uint8_t *last; /* the device list last sent, packed */
	size_t last_len;
	struct event *push_ev;
	struct hmap devinfo; /* device-info files written: struct dp_devinfo_rec */
	struct hmap cdi;     /* CDI specs written: struct dp_cdi_rec */

	/* registration (dp_register.c) */
	struct dp_rpc *reg_rpc;
	struct event *retry_ev;
	struct backoff reg_backoff;
	bool registered, ever_registered;
	bool closing; /* being freed: no more registration */
	dev_t kubelet_dev, pending_dev;
	ino_t kubelet_ino, pending_ino;
	time_t registered_at;
	uint64_t registered_ms; /* monotonic */
	uint64_t registrations, reg_failures;
	char reg_error[256];

	uint64_t allocate_calls, allocate_failures, preferred_calls, prestart_calls, updates_sent;
	uint64_t devinfo_removed;
	LIST_ENTRY(dp_plugin) link;
};

/* A device-info file this plugin wrote (Allocate) or found at start. */
struct dp_devinfo_rec {
	struct hmap_node node;
	uint64_t stale_since_ms; /* 0: assigned to a live pod at the last reconcile */
	char id[];
};

/* A CDI spec written at Allocate, removed once none of its devices is assigned (the
 * device-info rule, per spec instead of per device). */
struct dp_cdi_rec {
	struct hmap_node node; /* hash of file */
	uint64_t stale_since_ms;
	size_t n_ids;
	char *ids;   /* n_ids NUL-terminated device IDs back to back, inside this allocation */
	char file[]; /* name inside cdiSpecDir */
};

/* Create the plugin and listen (a missing plugin directory is not an error: listening is
 * retried by dp_register's checks). */
int dp_plugin_new(
        struct pool *p, const struct dp_config *cfg, struct dp_plugin **ret, struct kb_err *err);
/* Close the server (streams end), cancel registration, remove our socket. */
void dp_plugin_free(struct dp_plugin *pl);
/* (Re)create the listening socket. */
int dp_plugin_listen(struct dp_plugin *pl, struct kb_err *err);
bool dp_plugin_socket_ok(const struct dp_plugin *pl);
/* Devices changed: push the list to every ListAndWatch stream (coalesced, next loop turn). */
void dp_plugin_changed(struct dp_plugin *pl);
void dp_plugin_pool_to_json(const struct dp_plugin *pl, json_t *obj);
unsigned dp_plugin_streams(const struct dp_plugin *pl);

struct dp_devinfo_rec *dp_plugin_devinfo_find(struct dp_plugin *pl, const char *id);
/* Forget a device-info record and remove its file. */
void dp_plugin_devinfo_drop(struct dp_plugin *pl, struct dp_devinfo_rec *rec);
/* Remember a CDI spec (replacing an earlier record of the same file). */
int dp_plugin_cdi_track(struct dp_plugin *pl, const char *file, char **ids, size_t n_ids);
/* Forget a CDI record and remove its spec. */
void dp_plugin_cdi_drop(struct dp_plugin *pl, struct dp_cdi_rec *rec);

#endif
