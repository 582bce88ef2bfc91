/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Crash-safe key/value store for agent state: a snapshot plus an append-only journal.
 *
 * Changes are buffered by state_put/state_del and made durable together by state_commit
 * (one write and one fdatasync for everything since the last commit: group commit). When the
 * journal grows past the live record count, state_commit writes a new snapshot (temp file,
 * fsync, rename, fsync of the directory) and empties the journal. Every line carries a CRC32,
 * every journal record a sequence number, so a torn tail is detected and cut off, and records
 * already in the snapshot are never applied twice.
 */
#ifndef KB_STATE_H
#define KB_STATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

#define STATE_SNAPSHOT "state.snap"
#define STATE_JOURNAL  "state.journal"
#define STATE_LOCK     "lock"
#define STATE_MAX_LINE (1024 * 1024)

struct state;

/* What loading found; the caller logs it. */
struct state_load_info {
	uint64_t replayed;         /* journal records applied */
	bool torn_tail;            /* an incomplete last journal record was cut off */
	char snapshot_aside[4096]; /* non-empty: corrupt snapshot moved there */
	char journal_aside[4096];  /* non-empty: corrupt journal moved there */
	char why[256];             /* what was wrong with the moved file(s) */
};

/* value is NULL for a deletion. Returning < 0 aborts loading. */
typedef int (*state_apply_fn)(void *ctx, const char *key, json_t *value, struct kb_err *err);
/* Emit every live record through emit() (used to write snapshots). */
typedef int (*state_emit_fn)(void *ectx, const char *key, json_t *value);
typedef int (*state_dump_fn)(void *ctx, state_emit_fn emit, void *ectx);

/* Create the directory if needed and take its lock (-EBUSY: another agent holds it). */
int state_open(const char *dir, struct state **ret, struct kb_err *err);
int state_load(struct state *st, state_apply_fn apply, void *ctx, struct state_load_info *info,
        struct kb_err *err);
void state_set_dumper(struct state *st, state_dump_fn dump, void *ctx);
void state_close(struct state *st);

/* Buffer a change (no I/O). -ENOMEM, or -E2BIG for a record over STATE_MAX_LINE. */
/*
 * Called after every change state_put/state_del buffer (and at once when set while changes
 * are pending): the agent commits soon (its API server's group commit), so no module that
 * changes state outside a request has to ask. NULL: no kick (tests, tools commit themselves).
 */
typedef void (*state_kick_fn)(void *ctx);
void state_set_kick(struct state *st, state_kick_fn kick, void *ctx);

int state_put(struct state *st, const char *key, json_t *value);
int state_del(struct state *st, const char *key);
bool state_pending(const struct state *st);
/* Sequence number of the last buffered change: grows with every put/del. */
uint64_t state_seq(const struct state *st);
/* The owner's live record count (decides when a snapshot pays off). */
void state_set_live(struct state *st, uint64_t live);
/* Make buffered changes durable. On failure the buffer is kept for the next attempt. */
int state_commit(struct state *st, struct kb_err *err);
/* Whether the last state_commit failed (its changes are still pending). */
bool state_commit_failed(const struct state *st);
/* Write a snapshot now and empty the journal. */
int state_compact(struct state *st, struct kb_err *err);

json_t *state_status(const struct state *st);

#endif
