/* SPDX-License-Identifier: Apache-2.0 */
#include "common/backoff.h"

#include <stdlib.h>

void backoff_init(struct backoff *b, uint32_t min_ms, uint32_t max_ms)
{
	b->min_ms = min_ms;
	b->max_ms = max_ms < min_ms ? min_ms : max_ms;
	b->cur_ms = 0;
	b->failures = 0;
}

uint32_t backoff_next(struct backoff *b)
{
	uint32_t base, jitter;

	b->cur_ms = b->cur_ms ? b->cur_ms * 2 : b->min_ms;
	if (b->cur_ms > b->max_ms)
		b->cur_ms = b->max_ms;
	b->failures++;
	/* +-25% so that agents on every node do not retry in lockstep after an outage. */
	base = b->cur_ms - b->cur_ms / 4;
	jitter = b->cur_ms / 2 ? (uint32_t)random() % (b->cur_ms / 2 + 1) : 0;
	return base + jitter;
}

void backoff_reset(struct backoff *b)
{
	b->cur_ms = 0;
	b->failures = 0;
}
