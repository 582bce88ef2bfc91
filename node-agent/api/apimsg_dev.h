/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What an allocation holds beyond the core fields, as the API shows it and the state journal
 * keeps it: the state record (format 2) and each device type's own object (`vhostUser`,
 * `vf`, `vdpa`, `kernel`, with the saved state of a netdev moved into a pod). The agent's
 * alloc and devtype modules use these; none of them spells a field name.
 *
 * Decoders check types and lengths and return -EINVAL (these are read back from disk as much
 * as from the wire) with the field named; what a value means (a path attach makes, a PCI
 * address, a prefix) is the device type's to check. Decoded structs borrow from the json_t.
 */
#ifndef KB_API_APIMSG_DEV_H
#define KB_API_APIMSG_DEV_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "api/apimsg.h"
#include "common/err.h"
#include "common/mac.h"

/* ---- state record ---- */

#define APIMSG_RECORD_FORMAT 2 /* "record": 2; none: format 1 (0.1.0's allocation object) */

struct apimsg_record {
	int format; /* decoded: 1 or APIMSG_RECORD_FORMAT */
	const char *container_id, *ifname, *network, *pool, *device_type, *device_id;
	const char *netns; /* NULL when unknown */
	struct mac mac;
	time_t created;
	int mtu;  /* 0: not set */
	int vlan; /* -1: none */
	struct apimsg_pod pod;
	json_t *ipam; /* agent IPAM addresses (lease_to_json's), NULL: none; encode steals it */
};
/* The core of a record; the device type then adds its object (apimsg_*_set below). */
json_t *apimsg_record_encode(const struct apimsg_record *r);
/* Validated as an attach request is (names, pod, MTU, VLAN, creation time):
 * -EPROTONOSUPPORT for a newer or unknown format (the message says "record format ..."),
 * then -EINVAL for a device type known_type refuses ("unknown deviceType"), or a bad field. */
int apimsg_record_decode(json_t *o, bool (*known_type)(const char *name), struct apimsg_record *ret,
        struct kb_err *err);

/* ---- the saved state of a netdev moved into a pod (SR-IOV VF, virtio-vdpa, kernel) ---- */

struct apimsg_netdev_state {
	const char *name; /* its name before the move */
	int64_t ifindex;  /* in the agent's namespace */
	struct mac mac;
	int mtu;
	bool up;
	int64_t pod_ifindex; /* in the pod */
	bool moved;
};
/* Into a type object: "podIfindex" and "moved" in it, the rest in its "original" (made when
 * absent). -ENOMEM. */
int apimsg_netdev_state_set(json_t *typeobj, const struct apimsg_netdev_state *s);
int apimsg_netdev_state_decode(
        json_t *typeobj, struct apimsg_netdev_state *ret, struct kb_err *err);

/* ---- vhostUser (virtio-user) ---- */

#define APIMSG_VHOST_USER_MAX_QUEUES 16

struct apimsg_vhost_user {
	const char *socket_path, *socket_dir; /* "" both: kept without a socket */
	bool agent_server;                    /* agentMode server (podMode client) */
	int queues;                           /* 1..APIMSG_VHOST_USER_MAX_QUEUES */
	int64_t claim;                        /* sandbox order on a shared path, 0: none */
};
int apimsg_vhost_user_set(json_t *alloc, const struct apimsg_vhost_user *v);
/* The allocation's "vhostUser" object; socket_path/socket_dir NULL when absent. */
int apimsg_vhost_user_decode(json_t *alloc, struct apimsg_vhost_user *ret, struct kb_err *err);

/* ---- kernel (a TAP in the pod) ---- */

struct apimsg_kernel {
	const char *host_name; /* the TAP's name in the agent's namespace before the move */
	int queues;
	bool offloads;
	const char *io; /* "uring" or "syscall"; NULL when absent */
	bool attached;  /* the agent holds its queues */
	struct apimsg_netdev_state netdev;
};
int apimsg_kernel_set(json_t *alloc, const struct apimsg_kernel *k);
int apimsg_kernel_decode(json_t *alloc, struct apimsg_kernel *ret, struct kb_err *err);

/* ---- vf (SR-IOV) ---- */

struct apimsg_vf {
	const char *pci_address, *pf_pci_address; /* pf "" when unknown */
	const char *pf_name, *driver;
	int vf_index;           /* -1: unknown */
	const char *mode;       /* "netdev", "vfio", "uio" */
	bool netdev;            /* mode netdev: the VF's netdev is in the pod */
	const char *vfio_group; /* vfio: the IOMMU group number, NULL otherwise */
	json_t *settings;       /* the VF settings applied (vfconf's object); encode steals */
	json_t *orig_settings;  /* what they were before ("original"."vf"); encode steals */
	bool has_netdev_state;  /* encode: add `netdev_state` (decode: call
	                         * apimsg_netdev_state_decode on vf_obj) */
	struct apimsg_netdev_state netdev_state;
	json_t *vf_obj; /* decoded: the "vf" object */
};
int apimsg_vf_set(json_t *alloc, const struct apimsg_vf *v);
int apimsg_vf_decode(json_t *alloc, struct apimsg_vf *ret, struct kb_err *err);

/* ---- vdpa ---- */

struct apimsg_vdpa {
	const char *name, *driver;
	const char *type; /* "vhost" or "virtio" */
	const char *path; /* /dev/vhost-vdpa-N, or the virtio device in sysfs ("" unknown) */
	const char *parent_device, *pci_address, *pf_pci_address, *virtio;
	bool netdev;                             /* virtio: a netdev is in the pod */
	struct apimsg_netdev_state netdev_state; /* with netdev */
	json_t *vdpa_obj;                        /* decoded: the "vdpa" object */
};
int apimsg_vdpa_set(json_t *alloc, const struct apimsg_vdpa *v);
/* With netdev, decode the state with apimsg_netdev_state_decode(ret->vdpa_obj, ...). */
int apimsg_vdpa_decode(json_t *alloc, struct apimsg_vdpa *ret, struct kb_err *err);

/* ---- type fields of a device (list devices) ---- */

/* virtio-user and kernel devices: the MAC a pod gets (its holder's, or the default). */
int apimsg_device_set_mac(json_t *dev, const struct mac *mac);

struct apimsg_vf_device {
	const char *pci_address, *pf_name, *pf_pci_address;
	int vf_index;
	const char *vendor, *device, *driver, *mode;
	const char *netdev;     /* NULL: none */
	int iommu_group;        /* -1: none */
	const char *link_type;  /* NULL: unknown */
	json_t *settings;       /* held: the VF settings applied (stolen), NULL otherwise */
	const char *pod_ifname; /* held as a netdev: its name in the pod, NULL otherwise */
};
int apimsg_vf_device_set(json_t *dev, const struct apimsg_vf_device *v);

struct apimsg_vdpa_device {
	const char *driver, *vdpa_type, *parent_device;
	const char *pci_address, *pf_pci_address, *pf_name; /* NULL: none */
	const char *chardev, *netdev;                       /* NULL: none */
};
int apimsg_vdpa_device_set(json_t *dev, const struct apimsg_vdpa_device *v);

#endif
