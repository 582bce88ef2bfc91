/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TAP ports (the `kernel` device type): frames between the switch and a pod's kernel netdev,
 * through the agent's queue file descriptors of a multi-queue TAP with virtio-net headers.
 *
 * Receive: each read gets one frame with its struct virtio_net_hdr, scattered over mbufs of
 * the packet pool that the queue keeps ready (a 64 KiB TSO frame becomes a chain, read in
 * place, no copy); the header becomes the RX flags rte_vhost would set (RX_LRO + tso_segsz
 * for GSO, RX_L4_CKSUM_NONE for a partial checksum), so the switch treats a TAP like a
 * virtio-user pod. Transmit: the TX flags become the header in front of the frame (GSO type
 * and size, csum_start/offset); the kernel copies the frame during write.
 *
 * Batching (FP_TAP_IO_URING): a worker submits a burst of reads (or writes) with one
 * io_uring_enter on its own ring; FP_TAP_IO_SYSCALL makes one readv/writev per frame. The
 * reads and writes are RWF_NOWAIT: an empty queue completes a read with -EAGAIN at once (an
 * O_NONBLOCK fd is not enough: io_uring arms a poll on a pollable file and waits).
 *
 * Threads: create/destroy from the control plane (destroy after a grace period: no worker
 * holds the port); a receive queue is used by the one worker it is placed on; transmit by
 * any worker (the kernel serialises writes to one queue).
 */
#ifndef KB_FP_TAP_H
#define KB_FP_TAP_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

struct rte_mbuf;
struct rte_mempool;
struct fp_tap;

enum fp_tap_io { FP_TAP_IO_URING, FP_TAP_IO_SYSCALL };

/* Per-worker io_uring rings. Without io_uring (a kernel or seccomp policy that refuses it)
 * TAP ports fall back to system calls; fp_tap_uring_note() says so. */
int fp_tap_init(unsigned n_workers);
void fp_tap_fini(void);
const char *fp_tap_uring_note(void);

/* A TAP port on duplicates of `fds` (one per queue). max_frame: the longest frame a read
 * may return (64 KiB + headers with offloads, else MTU + 18). */
int fp_tap_create(const int *fds, unsigned n_queues, enum fp_tap_io io, uint32_t max_frame,
        struct rte_mempool *pool, struct fp_tap **ret, struct kb_err *err);
void fp_tap_destroy(struct fp_tap *t);
enum fp_tap_io fp_tap_io(const struct fp_tap *t);
/* Receive queue q's descriptor, for a sleeping worker to wait on (fp_wake.h). */
int fp_tap_rx_fd(const struct fp_tap *t, uint16_t q);

/* Worker wid: up to n frames from receive queue q. *nomem: frames dropped for want of mbufs
 * to refill the queue; *runt: reads too short for an Ethernet header. */
uint16_t fp_tap_rx(struct fp_tap *t, uint16_t q, unsigned wid, struct rte_mbuf **pkts, uint16_t n,
        uint64_t *nomem, uint64_t *runt);

/* Worker wid: write n frames (not freed). Returns how many the kernel took; *down: frames
 * refused because the netdev is down or gone (the rest of n - sent: queue full). */
uint16_t fp_tap_tx(struct fp_tap *t, unsigned wid, struct rte_mbuf **pkts, uint16_t n,
        uint64_t *bytes, uint16_t *down);

#endif
