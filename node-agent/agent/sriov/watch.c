/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/sriov/watch.h"
#include "agent/inventory.h"
#include "agent/loop.h"
#include "agent/module.h"
#include "agent/ops.h"
#include "agent/sriov/pci.h"
#include "agent/sriov/sriovcfg.h"
#include "agent/sriov/sysfs.h"
#include "api/api.h"
#include "common/log.h"
#include "common/str.h"
#include "api/apimsg_status.h"

#include <errno.h>
#include <event2/event.h>
#include <limits.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <unistd.h>

/* Bounds the number of inotify watches (one per PF/VF/vDPA directory). */
#define WATCH_MAX_DIRS 8192

static struct {
	struct sriovcfg cfg;
	char sysfs_root[PATH_MAX];
	struct event *timer;   /* periodic rescan */
	struct event *pending; /* debounced rescan */
	struct event *ino_ev, *uev_ev;
	int ino_fd, uev_fd;
	unsigned n_watches;
	uint64_t rescans, events;
	int ino_errno; /* why there is no inotify instance (EMFILE: per-user limit), or 0 */
	bool active;   /* some pool is of our types */
} w = {.ino_fd = -1, .uev_fd = -1};

uint64_t watch_rescans(void)
{
	return w.rescans;
}

static bool have_our_pools(void)
{
	for (struct pool *p = inv_pool_first(); p; p = inv_pool_next(p))
		if (!p->removed && (!strcmp(p->ops->name, API_DEVTYPE_SRIOV_VF) ||
		                           !strcmp(p->ops->name, API_DEVTYPE_VDPA)))
			return true;
	return false;
}

static void watch_dir(const char *dir)
{
	if (w.ino_fd < 0 || w.n_watches >= WATCH_MAX_DIRS)
		return;
	if (inotify_add_watch(w.ino_fd, dir,
	            IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE |
	                    IN_ATTRIB | IN_ONLYDIR) >= 0)
		w.n_watches++;
}

static void watch_children(const char *dir, const char *prefix)
{
	char **names = NULL, sub[PATH_MAX];

	if (sysfs_list(dir, prefix, WATCH_MAX_DIRS, &names, NULL) < 0)
		return;
	for (char **n = names; *n; n++)
		if (str_printf(sub, sizeof(sub), "%s/%s", dir, *n) >= 0)
			watch_dir(sub);
	sysfs_names_free(names);
}

static void on_inotify(evutil_socket_t fd, short what, void *arg);

/* (Re)build the inotify watches: the set of directories changes with every rescan. */
static void inotify_rearm(void)
{
	char dir[PATH_MAX];

	if (w.ino_ev) {
		event_free(w.ino_ev);
		w.ino_ev = NULL;
	}
	if (w.ino_fd >= 0)
		close(w.ino_fd);
	w.ino_fd = -1;
	w.n_watches = 0;
	if (!w.cfg.watch || !w.active)
		return;
	/* Failing (fs.inotify.max_user_instances is shared by every process of the user) is
	 * not fatal: uevents and the periodic rescan remain; status says so. */
	if ((w.ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
		w.ino_errno = errno;
		return;
	}
	w.ino_errno = 0;
	if (str_printf(dir, sizeof(dir), "%s/bus/pci/devices", w.sysfs_root) >= 0) {
		watch_dir(dir);
		watch_children(dir, NULL); /* PF dirs: virtfnN links; VF dirs: driver, net */
	}
	if (str_printf(dir, sizeof(dir), "%s/bus/vdpa/devices", w.sysfs_root) >= 0) {
		watch_dir(dir);
		watch_children(dir, NULL);
	}
	w.ino_ev = event_new(loop_base(), w.ino_fd, EV_READ | EV_PERSIST, on_inotify, NULL);
	if (!w.ino_ev || event_add(w.ino_ev, NULL) < 0) {
		if (w.ino_ev)
			event_free(w.ino_ev);
		w.ino_ev = NULL;
		close(w.ino_fd);
		w.ino_fd = -1;
	}
}

static void do_rescan(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	w.rescans++;
	/* Watches first, then the scan: a change made after the directories were listed is an
	 * event on the new watches and brings another rescan; re-arming after the scan would
	 * drop the events queued in between. */
	inotify_rearm();
	inv_rescan();
}

static void schedule_rescan(void)
{
	struct timeval tv = {
	        .tv_sec = w.cfg.debounce_ms / 1000, .tv_usec = (w.cfg.debounce_ms % 1000) * 1000};

	w.events++;
	if (w.pending && !evtimer_pending(w.pending, NULL))
		evtimer_add(w.pending, &tv);
}

static void on_inotify(evutil_socket_t fd, short what, void *arg)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	(void)what;
	(void)arg;
	/* Drain; the content does not matter: any change means "look again". */
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	schedule_rescan();
}

/* A uevent is "action@devpath\0KEY=VALUE\0...". */
static bool uevent_interesting(const char *buf, size_t len)
{
	static const char *const subsystems[] = {"SUBSYSTEM=pci", "SUBSYSTEM=net", "SUBSYSTEM=vdpa",
	        "SUBSYSTEM=virtio", "SUBSYSTEM=vfio", NULL};

	for (size_t off = 0; off < len;) {
		const char *s = buf + off;
		size_t n = strnlen(s, len - off);
		for (size_t i = 0; subsystems[i]; i++)
			if (!strcmp(s, subsystems[i]))
				return true;
		off += n + 1;
	}
	return false;
}

static void on_uevent(evutil_socket_t fd, short what, void *arg)
{
	char buf[8192];
	ssize_t n;
	bool hit = false;

	(void)what;
	(void)arg;
	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		hit = hit || uevent_interesting(buf, n);
	if (hit)
		schedule_rescan();
}

static void uevent_open(void)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = 1};
	int fd;

	if (!w.cfg.watch || w.uev_fd >= 0)
		return;
	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
	if (fd < 0)
		return;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return;
	}
	w.uev_ev = event_new(loop_base(), fd, EV_READ | EV_PERSIST, on_uevent, NULL);
	if (!w.uev_ev || event_add(w.uev_ev, NULL) < 0) {
		if (w.uev_ev)
			event_free(w.uev_ev);
		w.uev_ev = NULL;
		close(fd);
		return;
	}
	w.uev_fd = fd;
}

static void uevent_close(void)
{
	if (w.uev_ev)
		event_free(w.uev_ev);
	w.uev_ev = NULL;
	if (w.uev_fd >= 0)
		close(w.uev_fd);
	w.uev_fd = -1;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	do_rescan(fd, what, arg);
}

static void apply(const struct cfg *cfg)
{
	struct timeval tv;

	w.cfg = *sriovcfg_get(cfg);
	str_copy(w.sysfs_root, sizeof(w.sysfs_root), cfg_core(cfg)->sysfs_root);
	w.active = have_our_pools();
	evtimer_del(w.timer);
	if (w.active && w.cfg.rescan_interval_ms) {
		tv.tv_sec = w.cfg.rescan_interval_ms / 1000;
		tv.tv_usec = (w.cfg.rescan_interval_ms % 1000) * 1000;
		event_add(w.timer, &tv);
	}
	if (w.active && w.cfg.watch)
		uevent_open();
	else
		uevent_close();
	inotify_rearm();
}

static void module_fini(void)
{
	uevent_close();
	w.cfg.watch = false;
	inotify_rearm();
	if (w.timer)
		event_free(w.timer);
	if (w.pending)
		event_free(w.pending);
	w.timer = w.pending = NULL;
}

static int module_init(const struct cfg *cfg, struct kb_err *err)
{
	w.timer = event_new(loop_base(), -1, EV_PERSIST, on_timer, NULL);
	w.pending = evtimer_new(loop_base(), do_rescan, NULL);
	if (!w.timer || !w.pending) {
		module_fini();
		return kb_err_set(err, ENOMEM, "out of memory");
	}
	apply(cfg);
	return 0;
}

static int module_reload(const struct cfg *cfg, struct kb_err *err)
{
	(void)err;
	apply(cfg);
	return 0;
}

static struct agent_module watch_module = {
        .name = "sriov-watch",
        .order = 50,
        .init = module_init,
        .reload = module_reload,
        .fini = module_fini,
};
MODULE_REGISTER(watch_module)

static json_t *status(void)
{
	if (!w.active)
		return NULL;
	return apimsg_sriov_status_encode(&(struct apimsg_sriov_status){
	        .pf_netlink = w.cfg.pf_netlink,
	        .rescan_interval_ms = (int64_t)w.cfg.rescan_interval_ms,
	        .watch = w.cfg.watch,
	        .inotify_watches = (int)w.n_watches,
	        .rescans = (int64_t)w.rescans,
	        .events = (int64_t)w.events,
	});
}

static struct status_hook sriov_status = {.key = APIMSG_STATUS_SRIOV, .fn = status};
STATUS_HOOK_REGISTER(sriov_status)
