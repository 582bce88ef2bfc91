/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/fastpath/fp_wake.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define WAKE_EVENTS 16

struct fp_wake {
	int ep;   /* epoll set */
	int kick; /* eventfd: written by fp_wake_kick, never read (edge-triggered) */
	unsigned n;
};

static int watch_kick(struct fp_wake *w)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.fd = w->kick};

	return epoll_ctl(w->ep, EPOLL_CTL_ADD, w->kick, &ev) < 0 ? -errno : 0;
}

int fp_wake_create(struct fp_wake **ret)
{
	struct fp_wake *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return -ENOMEM;
	w->ep = epoll_create1(EPOLL_CLOEXEC);
	w->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->ep < 0 || w->kick < 0) {
		r = -errno;
		fp_wake_destroy(w);
		return r;
	}
	if ((r = watch_kick(w)) < 0) {
		fp_wake_destroy(w);
		return r;
	}
	*ret = w;
	return 0;
}

void fp_wake_destroy(struct fp_wake *w)
{
	if (!w)
		return;
	if (w->ep >= 0)
		close(w->ep);
	if (w->kick >= 0)
		close(w->kick);
	free(w);
}

void fp_wake_kick(struct fp_wake *w)
{
	uint64_t one = 1;

	/* EAGAIN only when the counter is near 2^64: then a wake-up is pending anyway. */
	if (write(w->kick, &one, sizeof(one)) < 0) {
	}
}

int fp_wake_reset(struct fp_wake *w)
{
	int ep = epoll_create1(EPOLL_CLOEXEC), old = w->ep, r;

	/* A new set rather than a delete per descriptor: the set does not remember its fds, and
	 * one closed since (a port gone) has left the old set by itself. */
	if (ep < 0)
		return -errno;
	w->ep = ep;
	if ((r = watch_kick(w)) < 0) {
		w->ep = old;
		close(ep);
		return r;
	}
	close(old);
	w->n = 0;
	return 0;
}

int fp_wake_watch(struct fp_wake *w, int fd, bool edge)
{
	struct epoll_event ev = {.events = EPOLLIN | (edge ? EPOLLET : 0), .data.fd = fd};

	if (fd < 0 || fd == w->kick)
		return -EBADF;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	w->n++;
	return 0;
}

unsigned fp_wake_count(const struct fp_wake *w)
{
	return w->n;
}

int fp_wake_wait(struct fp_wake *w, uint64_t timeout_ns)
{
	struct epoll_event ev[WAKE_EVENTS];
	struct timespec ts = {.tv_sec = (time_t)(timeout_ns / 1000000000u),
	        .tv_nsec = (long)(timeout_ns % 1000000000u)};
	int n = epoll_pwait2(w->ep, ev, WAKE_EVENTS, &ts, NULL), why = 0;

	if (n < 0)
		return errno == EINTR ? FP_WAKE_KICK : -errno;
	for (int i = 0; i < n; i++) {
		if (ev[i].data.fd == w->kick) {
			why |= FP_WAKE_KICK;
			continue;
		}
		why |= FP_WAKE_TRAFFIC;
		if (ev[i].events & (EPOLLERR | EPOLLHUP) &&
		        epoll_ctl(w->ep, EPOLL_CTL_DEL, ev[i].data.fd, NULL) == 0 && w->n)
			w->n--;
	}
	return why;
}
