/* SPDX-License-Identifier: Apache-2.0 */
/* Retry pacing: min, 2*min, ... max, each with +-25% jitter; reset after a success. */
#ifndef KB_BACKOFF_H
#define KB_BACKOFF_H

#include <stdint.h>

struct backoff {
	uint32_t min_ms, max_ms, cur_ms;
	unsigned failures;
};

void backoff_init(struct backoff *b, uint32_t min_ms, uint32_t max_ms);
/* The wait before the next try (and one more failure counted). */
uint32_t backoff_next(struct backoff *b);
void backoff_reset(struct backoff *b);

#endif
