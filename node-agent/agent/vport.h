/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-user device type: each device is a vhost-user port slot. An attachment gets a socket
 * path in a directory that is the pod's alone, a stable MAC, and (with the fast path) a
 * vhost-user port switched by the agent.
 *
 * Socket layout under runDir:
 *   pods/<podUID or containerID>/<ifname>.sock  attachments without a deviceID (mount the pod's
 *                                              own directory with subPathExpr: $(POD_UID))
 *   devices/<deviceID>/vhost-user.sock          attachments whose device came from the kubelet
 *                                              device plugin (Allocate mounts that directory)
 */
#ifndef KB_VPORT_H
#define KB_VPORT_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "common/hmap.h"
#include "common/mac.h"

struct alloc;
struct device;
struct pool;

#define VPORT_SOCK_NAME "vhost-user.sock"

enum vport_mode {
	VPORT_AGENT_CLIENT, /* agent connects, pod's net_virtio_user listens (server=1) */
	VPORT_AGENT_SERVER, /* agent listens, pod connects */
};

struct vport_pool_cfg {
	unsigned count;
	enum vport_mode mode;
	unsigned queues;
	unsigned mtu;
	int numa;
	/* Checksum and TCP segmentation offloads negotiated with pods (fast path). */
	bool offloads;
};

struct vport_alloc {
	char socket_path[108];
	/* The socket's directory is socket_path's first dir_len bytes (not stored twice: this
	 * struct is per allocation, and a node holds tens of thousands). */
	uint8_t dir_len;
	enum vport_mode mode;
	unsigned queues;
	/* A new sandbox of the same pod reuses the path: only the newest holder removes it. */
	bool owns_socket;
	struct hmap_node by_path;
	/* Order of claims on socket paths (persisted): the highest claim owns a shared path,
	 * also after a restart, whatever order allocations are restored in. */
	uint64_t claim;
	bool shared; /* another attachment has had the same path */
};

const char *vport_mode_name(enum vport_mode m);     /* the agent's role */
const char *vport_pod_mode_name(enum vport_mode m); /* the pod's role */
const struct vport_pool_cfg *vport_pool_cfg(const struct pool *p);
/* The directory a device-plugin Allocate mounts for this device. */
int vport_device_dir(const struct device *d, char *buf, size_t size);
/* The socket path an Allocate can announce for this device. */
int vport_device_socket(const struct device *d, char *buf, size_t size);
/* MAC a device gets when the attachment asks for none (stable per node and device). */
void vport_default_mac(const char *device_id, struct mac *ret);
/* devtype_ops.device_to_json of a device whose MAC is the holder's or the default one
 * (virtio-user, and the kernel type, which names its MACs the same way). */
void vport_device_to_json(const struct device *d, json_t *obj);
const struct vport_alloc *vport_alloc_data(const struct alloc *a);
/* The attachment's socket directory into buf (sun_path-sized suffices); "" when none. */
const char *vport_socket_dir(const struct vport_alloc *v, char *buf, size_t size);

#endif
