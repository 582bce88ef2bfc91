/* SPDX-License-Identifier: Apache-2.0 */
#include "api/frame.h"
#include "common/cleanup.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

void frame_put_len(uint8_t hdr[4], uint32_t len)
{
	hdr[0] = len >> 24;
	hdr[1] = len >> 16;
	hdr[2] = len >> 8;
	hdr[3] = len;
}

uint32_t frame_get_len(const uint8_t hdr[4])
{
	return (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
}

static int wait_fd(int fd, short events, int64_t deadline_ms)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	int timeout = -1, r;

	if (deadline_ms >= 0) {
		int64_t left = deadline_ms - frame_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		timeout = left > 60000 ? 60000 : (int)left;
	}
	r = poll(&pfd, 1, timeout);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	if (r == 0)
		return deadline_ms >= 0 && frame_now_ms() >= deadline_ms ? -ETIMEDOUT : 0;
	return 0;
}

static int send_all(int fd, const void *buf, size_t len, int64_t deadline_ms)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			int r;
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			if ((r = wait_fd(fd, POLLOUT, deadline_ms)) < 0)
				return r;
			continue;
		}
		p += n;
		len -= n;
	}
	return 0;
}

static int recv_all(int fd, void *buf, size_t len, int64_t deadline_ms)
{
	char *p = buf;

	while (len) {
		ssize_t n = recv(fd, p, len, MSG_DONTWAIT);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			int r;
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			if ((r = wait_fd(fd, POLLIN, deadline_ms)) < 0)
				return r;
			continue;
		}
		p += n;
		len -= n;
	}
	return 0;
}

int frame_send(int fd, const void *buf, size_t len, int64_t deadline_ms)
{
	uint8_t hdr[4];
	int r;

	if (len == 0 || len > UINT32_MAX)
		return -EMSGSIZE;
	frame_put_len(hdr, len);
	/* Header and body in one sendmsg: the peer wakes once for the whole frame. */
	for (;;) {
		struct iovec iov[2] = {{hdr, sizeof(hdr)}, {(void *)buf, len}};
		struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
		ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return -errno;
		if (n < 0)
			n = 0;
		/* Short or refused: finish with the plain loop (which waits for room). */
		if ((size_t)n < sizeof(hdr) &&
		        (r = send_all(fd, hdr + n, sizeof(hdr) - n, deadline_ms)) < 0)
			return r;
		n = (size_t)n < sizeof(hdr) ? 0 : n - (ssize_t)sizeof(hdr);
		return send_all(fd, (const char *)buf + n, len - n, deadline_ms);
	}
}

int frame_recv(int fd, size_t max, char **ret, size_t *ret_len, int64_t deadline_ms)
{
	_cleanup_free_ char *buf = NULL;
	uint8_t hdr[4];
	uint32_t len;
	int r;

	if ((r = recv_all(fd, hdr, sizeof(hdr), deadline_ms)) < 0)
		return r;
	len = frame_get_len(hdr);
	if (len == 0 || len > max)
		return -EMSGSIZE;
	if (!(buf = malloc((size_t)len + 1)))
		return -ENOMEM;
	if ((r = recv_all(fd, buf, len, deadline_ms)) < 0)
		return r;
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}
