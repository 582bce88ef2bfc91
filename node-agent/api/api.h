/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kbnet agent API: constants shared by the agent, kbnet-cni and agentctl.
 * The protocol itself is described in node-agent/api/README.md.
 */
#ifndef KB_API_H
#define KB_API_H

#define API_VERSION        1
#define API_KBNET_RELEASE  "0.1.0" /* the release of the agent, kbnet-cni and agentctl */

#define API_DEFAULT_SOCKET "/run/kbnet/agent.sock"

/* Frame: 4-byte big-endian length, then that many bytes of one JSON object. */
#define API_FRAME_HDR   4
#define API_MAX_REQUEST (1024 * 1024)      /* bytes of JSON in one request */
#define API_MAX_REPLY   (16 * 1024 * 1024) /* bytes of JSON in one reply */

/* Operations. Those marked (root) are refused unless the peer's uid is 0 (SO_PEERCRED). */
#define API_OP_ATTACH "attach" /* (root) allocate a device for (containerID, ifname) */
#define API_OP_DETACH "detach" /* (root) release it; idempotent */
#define API_OP_CHECK  "check"  /* verify an allocation is present and healthy */
#define API_OP_GC     "gc"     /* (root) release a network's allocations not listed */
#define API_OP_STATUS "status" /* agent health and summary */
#define API_OP_LIST   "list"   /* pools, devices or allocations */

/* Device types (netconf "deviceType", pool "type"). */
#define API_DEVTYPE_VIRTIO_USER "virtio-user"
#define API_DEVTYPE_SRIOV_VF    "sriov-vf"
#define API_DEVTYPE_VDPA        "vdpa"
#define API_DEVTYPE_KERNEL      "kernel" /* a TAP netdev in the pod, switched by the fast path */

#endif
