/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Building one ContainerAllocateResponse from the device types' dp_allocate callbacks, and the
 * device-info files Multus reads for device-plugin devices.
 */
#ifndef KB_DP_ALLOC_H
#define KB_DP_ALLOC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "agent/inventory.h"
#include "common/err.h"
#include "deviceplugin_v1beta1.pb-c.h"

/* Bytes of env values, paths and annotations one container response may carry. */
#define DP_ALLOC_MAX_BYTES (256 * 1024)

struct dp_kv {
	char *key, *value;
};

struct dp_mount {
	char *container_path, *host_path;
	bool read_only;
};

struct dp_devspec {
	char *container_path, *host_path, *permissions;
};

/* One container's response under construction; `spec` is what device types fill. */
struct dp_alloc_ctr {
	struct devtype_alloc_spec spec;
	const char *resource_name;
	struct dp_kv *envs, *annotations;
	size_t n_envs, n_annotations;
	struct dp_mount *mounts;
	size_t n_mounts;
	struct dp_devspec *devices;
	size_t n_devices;
	size_t bytes;
	char why[256]; /* the conflict or limit behind a failed callback */
	/* the protobuf-c view built by dp_alloc_ctr_response() */
	V1beta1__ContainerAllocateResponse pb;
	V1beta1__ContainerAllocateResponse__EnvsEntry *pb_envs, **pb_envs_v;
	V1beta1__ContainerAllocateResponse__AnnotationsEntry *pb_ann, **pb_ann_v;
	V1beta1__Mount *pb_mounts, **pb_mounts_v;
	V1beta1__DeviceSpec *pb_devs, **pb_devs_v;
	char *cdi_name; /* "<kind>=<device>" when the nodes and mounts went to a CDI spec */
	V1beta1__CDIDevice pb_cdi, *pb_cdi_v[1];
};

void dp_alloc_ctr_init(struct dp_alloc_ctr *c, const char *resource_name);
void dp_alloc_ctr_fini(struct dp_alloc_ctr *c);
/* Drop the mounts and device nodes collected so far (a CDI spec carries them instead). */
void dp_alloc_ctr_drop_edits(struct dp_alloc_ctr *c);
/* The response message, valid until dp_alloc_ctr_fini(). */
int dp_alloc_ctr_response(struct dp_alloc_ctr *c, V1beta1__ContainerAllocateResponse **ret);
/* Value of an env var set so far (tests, logs); NULL when unset. */
const char *dp_alloc_ctr_env(const struct dp_alloc_ctr *c, const char *name);

/*
 * CDI (Container Device Interface, spec 0.5.0): move the container's device nodes and mounts
 * into a CDI spec file <dir>/kbnet-<kind>-<device>.json (kind: the resource name, device:
 * the device IDs) and answer with the CDI name instead (kubelet's cdi_devices), which the
 * runtime resolves. Env and annotations stay in the response. The spec's file name (inside
 * dir) goes to base.
 */
int dp_cdi_apply(struct dp_alloc_ctr *c, const char *dir, char **ids, size_t n_ids, char *base,
        size_t base_size, struct kb_err *err);
/* The spec's file name (inside the spec directory) for these devices. */
int dp_cdi_file_name(const char *resource_name, char **ids, size_t n_ids, char *buf, size_t size);
/* The device IDs a spec file of this resource names, matched against the pool's IDs
 * (ids[i]: the pool's own strings); 0 and *n_ids = 0 when the name is not one of ours. */
int dp_cdi_file_ids(const char *resource_name, const char *file, const char *const *pool_ids,
        size_t n_pool, const char **ids, size_t max_ids, size_t *n_ids);
int dp_cdi_remove(const char *dir, const char *file);

/* "<KIND>_<PREFIX>_<POOL>" from a resource name, as sriov-network-device-plugin builds
 * PCIDEVICE_<prefix>_<resource>: joined with '_', upper-cased, '.' and '/' replaced by '_'. */
int dp_env_name(const char *kind, const char *resource_name, char *buf, size_t size);

/* <dir>/<resource>-<id>-device.json with '/' made '-' in both, as Multus computes it
 * (network-attachment-definition-client's getDPDeviceInfoPath). */
int dp_devinfo_path(
        const char *dir, const char *resource_name, const char *device_id, char *buf, size_t size);
/* Replace the file atomically (mode 0444, as Multus' own writer leaves it). */
int dp_devinfo_write(const char *dir, const char *resource_name, const char *device_id,
        json_t *info, struct kb_err *err);
int dp_devinfo_remove(const char *dir, const char *resource_name, const char *device_id);

#endif
