/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A sleeping worker's wake-up set (`idleWait: events`): instead of a blind back-off sleep,
 * an idle worker waits until one of its ports has traffic, the control plane kicks it (new
 * table, a pod connected), or a timeout passes.
 *
 * Watched descriptors: a TAP queue (level-triggered: readable while a frame is queued) and a
 * pod's kick eventfd (edge-triggered: every write by the pod is one event, and the counter,
 * which rte_vhost owns, is never read). A descriptor that reports an error or hang-up (a TAP
 * queue whose netdev went away) is dropped from the set so that it cannot turn the sleep
 * into a spin; the next reset puts the live ones back.
 *
 * Threads: fp_wake_kick from any thread; everything else from the worker that owns the set.
 * No allocation after create.
 */
#ifndef KB_FP_WAKE_H
#define KB_FP_WAKE_H

#include <stdbool.h>
#include <stdint.h>

struct fp_wake;

/* Why a wait ended: 0 (timeout) or a mask of these. */
enum fp_wake_why {
	FP_WAKE_TRAFFIC = 1, /* a watched descriptor */
	FP_WAKE_KICK = 2,    /* fp_wake_kick, or a signal */
};

int fp_wake_create(struct fp_wake **ret);
void fp_wake_destroy(struct fp_wake *w);

/* Any thread: end the owner's current (or next) wait. */
void fp_wake_kick(struct fp_wake *w);

/* Owner: forget every watched descriptor (kicks still wake). */
int fp_wake_reset(struct fp_wake *w);
/* Owner: watch fd for input; edge: one event per write (eventfds). -EEXIST if watched. */
int fp_wake_watch(struct fp_wake *w, int fd, bool edge);
/* Descriptors watched now. */
unsigned fp_wake_count(const struct fp_wake *w);

/* Owner: wait up to timeout_ns. Returns 0 (timeout), a mask of enum fp_wake_why, or a
 * negative errno. */
int fp_wake_wait(struct fp_wake *w, uint64_t timeout_ns);

#endif
