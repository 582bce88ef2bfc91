/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/loop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>

#define MAX_SIGNALS 8

static struct event_base *base;
static struct {
	struct event *ev;
	loop_signal_fn fn;
	void *arg;
} sigs[MAX_SIGNALS];
static unsigned n_sigs;

int loop_init(struct kb_err *err)
{
	struct event_config *ec = event_config_new();

	if (!ec)
		return kb_err_set(err, ENOMEM, "out of memory");
	/* Timers must not jump with the wall clock. */
	event_config_set_flag(ec, EVENT_BASE_FLAG_NOLOCK | EVENT_BASE_FLAG_PRECISE_TIMER);
	base = event_base_new_with_config(ec);
	event_config_free(ec);
	if (!base)
		return kb_err_set(err, ENOMEM, "cannot create event base");
	if (event_base_priority_init(base, LOOP_NPRIO) < 0) {
		event_base_free(base);
		base = NULL;
		return kb_err_set(err, EINVAL, "cannot set event priorities");
	}
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

void loop_fini(void)
{
	for (unsigned i = 0; i < n_sigs; i++)
		event_free(sigs[i].ev);
	n_sigs = 0;
	if (base)
		event_base_free(base);
	base = NULL;
}

struct event_base *loop_base(void)
{
	return base;
}

int loop_run(void)
{
	return event_base_dispatch(base) < 0 ? -EIO : 0;
}

void loop_stop(void)
{
	event_base_loopbreak(base);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	unsigned i = (unsigned)(uintptr_t)arg;

	(void)what;
	sigs[i].fn(sig, sigs[i].arg);
}

int loop_on_signal(int sig, loop_signal_fn fn, void *arg)
{
	struct event *ev;

	if (n_sigs == MAX_SIGNALS)
		return -ENOSPC;
	ev = evsignal_new(base, sig, on_signal, (void *)(uintptr_t)n_sigs);
	if (!ev || event_add(ev, NULL) < 0) {
		if (ev)
			event_free(ev);
		return -ENOMEM;
	}
	sigs[n_sigs].ev = ev;
	sigs[n_sigs].fn = fn;
	sigs[n_sigs].arg = arg;
	n_sigs++;
	return 0;
}
