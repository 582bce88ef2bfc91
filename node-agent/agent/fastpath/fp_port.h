/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fast-path ports: one vhost-user port per virtio-user allocation (rte_vhost, agent as client
 * or server) and at most one uplink (any ethdev given by devargs). Ports live in slots; a
 * slot's runtime state (connected vhost device, ethdev id) is in fp_worker_rt(). Control-plane
 * calls (add/remove/list) come from the agent's event loop only; rte_vhost's callbacks run on
 * its own thread and only touch the runtime state and the connection flags.
 */
#ifndef KB_FP_PORT_H
#define KB_FP_PORT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "agent/fastpath/fp_switch.h"
#include "agent/fastpath/fp_worker.h"
#include "common/err.h"

struct fp_port_info {
	char container_id[129];
	char ifname[16];
	char device_id[64];
	char network[64];
	char pod[320]; /* namespace/name, "" when unknown */
	char path[108];
	bool agent_server;
	uint16_t queues;
	uint8_t mac[6];
	unsigned mtu;
	int vlan;    /* FP_VLAN_NONE */
	uint8_t pcp; /* PCP of the tag pushed on the uplink (the network's vlanQoS) */
	bool has_trunk;
	uint8_t trunk[FP_VLAN_BITMAP]; /* VLANs the pod may tag itself */
	/* Negotiate CSUM, GUEST_CSUM, HOST_TSO4/6, GUEST_TSO4/6 (the pool's `offloads`);
	 * false: none of them, frames within the MTU only, as before offloads existed. */
	bool offloads;
};

struct fp_port;

/* n_workers: for placing receive queues (fp_assign_queues). */
int fp_port_init(unsigned max_ports, unsigned n_workers, struct kb_err *err);
/* Remove every port (workers must be stopped or the table republished first). */
void fp_port_fini(void);

int fp_port_add_vhost(const struct fp_port_info *info, struct fp_port **ret, struct kb_err *err);
/* The uplink gets one transmit queue per worker and one receive queue per worker where the
 * PMD has them (RSS where it offers it), its MTU, scatter and multi-segment transmit where it
 * offers them; fp_port_uplink_notes() says what it does not. */
int fp_port_add_uplink(const char *devargs, unsigned mtu, unsigned rx_desc, unsigned tx_desc,
        unsigned n_workers, struct rte_mempool *pool, struct kb_err *err);
/* "" or what the uplink's PMD could not do (for status). */
const char *fp_port_uplink_notes(void);
/* How the uplink handles checksum/TSO requests: its PMD's offloads or software (status). */
const char *fp_port_uplink_offloads(void);
/* A pod port's offload features as negotiated: "" when not connected (control thread). */
void fp_port_offload_desc(const struct fp_port *p, char *buf, size_t size);
/* A kernel pod's TAP (fp_tap.h) on duplicates of fds (info->queues of them); its frames come
 * from and go to the pod's netdev. syscall_io: one system call per frame instead of io_uring
 * batches. */
int fp_port_add_tap(const struct fp_port_info *info, const int *fds, bool syscall_io,
        struct rte_mempool *pool, struct fp_port **ret, struct kb_err *err);
/* A TAP port's I/O: "uring" or "syscall" (for ports and stats). */
const char *fp_port_tap_io(const struct fp_port *p);
/* Forget the port: the caller has already republished a table without it. */
void fp_port_remove(struct fp_port *p);
struct fp_port *fp_port_find(const char *container_id, const char *ifname);
/* The pod port on this vhost-user socket path, if any (control thread). */
struct fp_port *fp_port_find_path(const char *path);
/* Which attachment a port belongs to. */
const char *fp_port_container_id(const struct fp_port *p);
const char *fp_port_ifname(const struct fp_port *p);

/* Iteration in slot order. */
struct fp_port *fp_port_first(void);
struct fp_port *fp_port_next(struct fp_port *p);
size_t fp_port_count(void);

uint16_t fp_port_slot(const struct fp_port *p);
enum fp_port_kind fp_port_kind(const struct fp_port *p);
const struct fp_port_info *fp_port_info(const struct fp_port *p);
bool fp_port_connected(const struct fp_port *p);
/* Queue pairs in use: enabled by the pod (within the pool's `queues`); the uplink's receive
 * queues. */
uint16_t fp_port_active_queues(const struct fp_port *p);
/* Queue pairs the pod enabled beyond the pool's `queues` (never polled). */
uint16_t fp_port_excess_queues(const struct fp_port *p);
/* The worker polling each receive queue (info.queues entries). */
const uint8_t *fp_port_queue_workers(const struct fp_port *p);
const char *fp_port_name(const struct fp_port *p); /* "uplink" or "<cid12>/<ifname>" */
/* Counters since the port was added (slots are reused). */
void fp_port_stats(const struct fp_port *p, struct fp_stats *ret);
uint64_t fp_port_connects(const struct fp_port *p);

/* Describe every port but `skip` (may be NULL) for fp_table_build; *ret is malloc'd. */
int fp_port_descs(const struct fp_port *skip, struct fp_port_desc **ret, size_t *ret_n);

#endif
