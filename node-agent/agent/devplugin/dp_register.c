/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/devplugin/dp_register.h"
#include "agent/devplugin/dp_client.h"
#include "agent/devplugin/dp_module.h"
#include "agent/devplugin/dp_plugin.h"
#include "agent/devplugin/dp_reconcile.h"
#include "agent/loop.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"
#include "deviceplugin_v1beta1.pb-c.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

/* kubelet dials a plugin within 10 s of accepting its registration (devicemanager). */
#define STREAM_WAIT_MS 15000

static struct {
	int ifd;
	struct event *ino_ev, *check_ev;
	int wd_plugins, wd_kubelet; /* -1: not watching */
	char kubelet_dir[PATH_MAX];
	const char *kubelet_name;
	char kubelet_path[PATH_MAX];
	char plugin_dir[PATH_MAX];
	unsigned check_ms;
} rg = {.ifd = -1, .wd_plugins = -1, .wd_kubelet = -1};

static bool kubelet_stat(struct stat *st)
{
	return stat(rg.kubelet_path, st) == 0 && S_ISSOCK(st->st_mode);
}

bool dp_register_kubelet_present(void)
{
	struct stat st;

	return kubelet_stat(&st);
}

static void on_retry(evutil_socket_t fd, short what, void *arg);

static void retry_later(struct dp_plugin *pl)
{
	struct timeval tv;
	uint32_t ms;

	if (!pl->retry_ev && !(pl->retry_ev = evtimer_new(loop_base(), on_retry, pl))) {
		LOG_ERR("device plugin %s: out of memory", pl->pool->name);
		return;
	}
	ms = backoff_next(&pl->reg_backoff);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = ms % 1000 * 1000;
	evtimer_add(pl->retry_ev, &tv);
}

static void reg_done(const struct dp_rpc_result *res, void *ctx)
{
	struct dp_plugin *pl = ctx;

	pl->reg_rpc = NULL;
	if (res->err == 0 && res->grpc_status == 0) {
		if (!pl->registered || pl->kubelet_ino != pl->pending_ino)
			LOG_INFO("device plugin %s: registered with kubelet as %s (endpoint %s)",
			        pl->pool->name, pl->resource, pl->endpoint);
		pl->registered = true;
		pl->ever_registered = true;
		pl->registrations++;
		pl->registered_at = time(NULL);
		pl->registered_ms = clock_mono_ms();
		pl->kubelet_dev = pl->pending_dev;
		pl->kubelet_ino = pl->pending_ino;
		backoff_reset(&pl->reg_backoff);
		pl->reg_error[0] = '\0';
		dp_reconcile_soon();
		return;
	}
	pl->registered = false;
	pl->reg_failures++;
	if (res->err)
		snprintf(pl->reg_error, sizeof(pl->reg_error), "Register on %.100s: %.140s",
		        rg.kubelet_path, res->message);
	else
		snprintf(pl->reg_error, sizeof(pl->reg_error),
		        "kubelet refused Register (%d): %.200s", res->grpc_status, res->message);
	/* Loud once, quiet while it keeps failing the same way. */
	if (pl->reg_failures == 1 || pl->reg_backoff.cur_ms >= DP_REG_BACKOFF_MAX_MS / 2)
		LOG_WARN("device plugin %s: %s", pl->pool->name, pl->reg_error);
	retry_later(pl);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	dp_register_plugin(arg);
}

static bool plugin_dir_exists(void)
{
	struct stat st;

	return stat(rg.plugin_dir, &st) == 0 && S_ISDIR(st.st_mode);
}

static void socket_lost(struct dp_plugin *pl)
{
	struct kb_err err = {0};

	if (dp_plugin_socket_ok(pl))
		return;
	pl->registered = false;
	/* kubelet creates the directory: until then there is nothing to do but wait. */
	if (!plugin_dir_exists()) {
		snprintf(pl->listen_error, sizeof(pl->listen_error),
		        "waiting for kubelet's plugin directory %.200s", rg.plugin_dir);
		return;
	}
	/* kubelet removes plugin sockets when it restarts; it also forgets us. */
	LOG_INFO("device plugin %s: listening on %s", pl->pool->name, pl->sock_path);
	if (dp_plugin_listen(pl, &err) < 0) {
		LOG_WARN("device plugin %s: %s", pl->pool->name, err.msg);
		retry_later(pl);
		return;
	}
	dp_register_plugin(pl);
}

void dp_register_plugin(struct dp_plugin *pl)
{
	V1beta1__RegisterRequest req = V1BETA1__REGISTER_REQUEST__INIT;
	V1beta1__DevicePluginOptions opt = V1BETA1__DEVICE_PLUGIN_OPTIONS__INIT;
	struct kb_err err = {0};
	struct stat st;

	if (pl->retry_ev)
		evtimer_del(pl->retry_ev);
	dp_rpc_cancel(pl->reg_rpc);
	pl->reg_rpc = NULL;
	/* Registering before our socket is there would send kubelet to nothing. */
	if (!dp_plugin_socket_ok(pl)) {
		pl->registered = false;
		if (!plugin_dir_exists()) {
			socket_lost(pl); /* notes the wait; the checks come back */
			return;
		}
		if (dp_plugin_listen(pl, &err) < 0) {
			retry_later(pl);
			return;
		}
	}
	if (!kubelet_stat(&st)) {
		/* inotify (or the periodic check) brings us back when kubelet is up. */
		pl->registered = false;
		snprintf(pl->reg_error, sizeof(pl->reg_error), "waiting for kubelet at %.200s",
		        rg.kubelet_path);
		return;
	}
	pl->pending_dev = st.st_dev;
	pl->pending_ino = st.st_ino;
	opt.pre_start_required = false;
	opt.get_preferred_allocation_available = true;
	req.version = DP_API_VERSION;
	req.endpoint = (char *)pl->endpoint;
	req.resource_name = pl->resource;
	req.options = &opt;
	if (dp_rpc_start(rg.kubelet_path, DP_PATH_REGISTER, &req.base, &v1beta1__empty__descriptor,
	            dp_cfg()->register_timeout_ms, 4096, reg_done, pl, &pl->reg_rpc, &err) < 0) {
		snprintf(pl->reg_error, sizeof(pl->reg_error), "Register: %.240s", err.msg);
		retry_later(pl);
	}
}

void dp_register_stream_lost(struct dp_plugin *pl)
{
	if (!pl->registered)
		return;
	/* kubelet's ListAndWatch stream ended: it went away or restarted, and a new kubelet
	 * knows nothing of us. Register again once it answers (inotify may be quicker). */
	LOG_INFO("device plugin %s: kubelet closed its last ListAndWatch stream, registering "
	         "again",
	        pl->pool->name);
	pl->registered = false;
	backoff_reset(&pl->reg_backoff);
	retry_later(pl);
}

void dp_register_forget(struct dp_plugin *pl)
{
	dp_rpc_cancel(pl->reg_rpc);
	pl->reg_rpc = NULL;
	if (pl->retry_ev)
		event_free(pl->retry_ev);
	pl->retry_ev = NULL;
}

/* kubelet came (back): every plugin registers, re-creating its socket first if needed. */
static void kubelet_appeared(void)
{
	LOG_INFO("device plugins: kubelet socket %s appeared, registering", rg.kubelet_path);
	for (struct dp_plugin *pl = dp_plugin_first(); pl; pl = dp_plugin_next(pl)) {
		backoff_reset(&pl->reg_backoff);
		dp_register_plugin(pl);
	}
}

static void watch_add(void)
{
	if (rg.ifd < 0)
		return;
	if (rg.wd_plugins < 0)
		rg.wd_plugins = inotify_add_watch(rg.ifd, rg.plugin_dir,
		        IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF |
		                IN_MOVE_SELF | IN_ONLYDIR);
	if (strcmp(rg.kubelet_dir, rg.plugin_dir) == 0)
		rg.wd_kubelet = -1;
	else if (rg.wd_kubelet < 0)
		rg.wd_kubelet = inotify_add_watch(rg.ifd, rg.kubelet_dir,
		        IN_CREATE | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
}

static void on_inotify(evutil_socket_t fd, short what, void *arg)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool kubelet = false;
	ssize_t n;

	(void)what;
	(void)arg;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			bool in_kdir =
			        ev->wd == (rg.wd_kubelet >= 0 ? rg.wd_kubelet : rg.wd_plugins);
			p += sizeof(*ev) + ev->len;
			if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
				/* The directory went away: the periodic check watches it again. */
				if (ev->wd == rg.wd_plugins)
					rg.wd_plugins = -1;
				if (ev->wd == rg.wd_kubelet)
					rg.wd_kubelet = -1;
				continue;
			}
			if (ev->mask & IN_Q_OVERFLOW) {
				kubelet = true; /* lost events: recheck everything */
				continue;
			}
			if (!ev->len)
				continue;
			if (in_kdir && strcmp(ev->name, rg.kubelet_name) == 0 &&
			        (ev->mask & (IN_CREATE | IN_MOVED_TO)))
				kubelet = true;
			if (ev->wd == rg.wd_plugins && (ev->mask & (IN_DELETE | IN_MOVED_FROM)))
				for (struct dp_plugin *pl = dp_plugin_first(); pl;
				        pl = dp_plugin_next(pl))
					if (strcmp(ev->name, pl->endpoint) == 0)
						socket_lost(pl);
		}
	}
	if (kubelet)
		kubelet_appeared();
}

/* What inotify cannot see: a re-created directory, events lost, a stuck registration. */
static void on_check(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = {rg.check_ms / 1000, rg.check_ms % 1000 * 1000};
	struct stat st;
	bool have_kubelet = kubelet_stat(&st);

	(void)fd;
	(void)what;
	(void)arg;
	watch_add();
	for (struct dp_plugin *pl = dp_plugin_first(); pl; pl = dp_plugin_next(pl)) {
		if (!dp_plugin_socket_ok(pl)) {
			socket_lost(pl);
			continue;
		}
		if (!have_kubelet) {
			pl->registered = false;
			snprintf(pl->reg_error, sizeof(pl->reg_error),
			        "waiting for kubelet at %.200s", rg.kubelet_path);
			continue;
		}
		if (pl->reg_rpc || (pl->retry_ev && evtimer_pending(pl->retry_ev, NULL)))
			continue;
		if (!pl->registered || pl->kubelet_ino != st.st_ino ||
		        pl->kubelet_dev != st.st_dev) {
			dp_register_plugin(pl);
		} else if (!dp_plugin_streams(pl) &&
		           clock_mono_ms() - pl->registered_ms > STREAM_WAIT_MS) {
			/* kubelet accepted us but never opened ListAndWatch (it could not dial
			 * our socket, say): without a stream it counts no devices. */
			LOG_WARN("device plugin %s: registered %u s ago but kubelet never opened "
			         "ListAndWatch; registering again",
			        pl->pool->name, STREAM_WAIT_MS / 1000);
			dp_register_plugin(pl);
		}
	}
	evtimer_add(rg.check_ev, &tv);
}

int dp_register_init(const struct dp_config *cfg, struct kb_err *err)
{
	struct timeval tv = {cfg->check_interval_ms / 1000, cfg->check_interval_ms % 1000 * 1000};
	char tmp[PATH_MAX];

	str_copy(rg.plugin_dir, sizeof(rg.plugin_dir), cfg->plugin_dir);
	str_copy(rg.kubelet_path, sizeof(rg.kubelet_path), cfg->kubelet_socket);
	str_copy(tmp, sizeof(tmp), cfg->kubelet_socket);
	str_copy(rg.kubelet_dir, sizeof(rg.kubelet_dir), dirname(tmp));
	rg.kubelet_name = strrchr(rg.kubelet_path, '/') + 1;
	rg.check_ms = cfg->check_interval_ms;
	rg.ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (rg.ifd < 0) {
		/* Not fatal: the periodic check alone still finds every change, later. */
		LOG_WARN("device plugins: inotify: %s; relying on %u ms checks", strerror(errno),
		        rg.check_ms);
	} else if (!(rg.ino_ev = event_new(
	                     loop_base(), rg.ifd, EV_READ | EV_PERSIST, on_inotify, NULL)) ||
	           event_add(rg.ino_ev, NULL) < 0) {
		dp_register_fini();
		return kb_err_set(err, ENOMEM, "out of memory");
	}
	watch_add();
	if (!(rg.check_ev = evtimer_new(loop_base(), on_check, NULL)) ||
	        evtimer_add(rg.check_ev, &tv) < 0) {
		dp_register_fini();
		return kb_err_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

void dp_register_fini(void)
{
	if (rg.ino_ev)
		event_free(rg.ino_ev);
	if (rg.check_ev)
		event_free(rg.check_ev);
	if (rg.ifd >= 0)
		close(rg.ifd);
	rg.ino_ev = rg.check_ev = NULL;
	rg.ifd = rg.wd_plugins = rg.wd_kubelet = -1;
}
