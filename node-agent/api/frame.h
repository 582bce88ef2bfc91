/* SPDX-License-Identifier: Apache-2.0 */
/* Length-prefixed framing of the agent API, over blocking fds with a deadline. */
#ifndef KB_FRAME_H
#define KB_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "common/clock.h"

void frame_put_len(uint8_t hdr[4], uint32_t len);
uint32_t frame_get_len(const uint8_t hdr[4]);

/* The deadlines' clock: common/clock.h's, under the name the API code uses. */
static inline int64_t frame_now_ms(void)
{
	return clock_mono_ms();
}

/*
 * Send one frame. `deadline_ms` is an absolute frame_now_ms() value (-1: none).
 * Returns 0, -ETIMEDOUT, -EMSGSIZE (len 0 or above UINT32_MAX) or another -errno.
 */
int frame_send(int fd, const void *buf, size_t len, int64_t deadline_ms);

/*
 * Receive one frame of at most `max` bytes into a malloc'd NUL-terminated buffer.
 * Returns 0, -ECONNRESET (peer closed, possibly mid-frame), -EMSGSIZE (announced length is
 * 0 or above max), -ETIMEDOUT or another -errno.
 */
int frame_recv(int fd, size_t max, char **ret, size_t *ret_len, int64_t deadline_ms);

#endif
