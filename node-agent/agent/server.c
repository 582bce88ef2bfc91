/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/server.h"
#include "agent/loop.h"
#include "api/api.h"
#include "api/apimsg.h"
#include "api/apimsg_status.h"
#include "api/frame.h"
#include "common/cleanup.h"
#include "common/clock.h"
#include "common/fs.h"
#include "common/crashpoint.h"
#include "common/log.h"
#include "common/str.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <libgen.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Commit inline instead of waiting for the loop to go idle once this many replies wait. */
#define MAX_HELD_REPLIES 512
/* A reply this small is always sent to a client that reads what it asked for, whatever
 * other clients left queued: kbnet-cni's answers stay possible when the output cap is reached. */
#define SMALL_REPLY (64 * 1024)
/* Replies this large (a full listing of thousands of allocations) leave tens of MB of freed
 * JSON nodes scattered in the heap: give them back to the system afterwards. */
#define TRIM_AFTER_BYTES (1024 * 1024)

static STAILQ_HEAD(, srv_handler) handlers = STAILQ_HEAD_INITIALIZER(handlers);
static STAILQ_HEAD(, srv_observer) observers = STAILQ_HEAD_INITIALIZER(observers);

struct held {
	json_t *reply;
	bool changed;
	STAILQ_ENTRY(held) next;
};

struct client {
	struct bufferevent *bev;
	uid_t uid;
	pid_t pid;
	uint64_t partial_since_us; /* when the buffered incomplete frame began, 0: none */
	bool closing;
	bool paused; /* not reading: its unread replies fill the output cap (or its own limit) */
	/* Armed when replies start to wait in our buffer, cleared when all are out: a peer
	 * reading a byte now and then does not hold its slot and its replies forever (libevent's
	 * write timeout restarts on every byte written). */
	struct event *out_deadline;
	bool in_commit_list;
	STAILQ_HEAD(, held) held;
	TAILQ_ENTRY(client) link;
	TAILQ_ENTRY(client) commit_link;
};

static struct {
	struct evconnlistener *listener;
	struct event *commit_ev;
	char path[108];
	unsigned max_clients;
	unsigned root_reserved; /* slots non-root peers cannot take */
	size_t max_output;      /* replies queued for all clients together */
	struct timeval idle;
	struct srv_persist persist;
	TAILQ_HEAD(, client) clients;
	TAILQ_HEAD(, client) commit_list;
	unsigned n_clients;
	unsigned n_nonroot;
	unsigned n_held;
	uint64_t requests, errors, refused, commits, commit_failures;
	uint64_t refused_nonroot, output_refused, output_paused, out_timeouts;
	size_t output_peak;
	bool big_reply;          /* a reply over TRIM_AFTER_BYTES was built since the last trim */
	struct event *resume_ev; /* re-enables accepting after a pause (out of descriptors) */
	bool accept_paused;      /* since the last successful accept: log once per episode */
	uint64_t accept_errors;
} srv = {
        .clients = TAILQ_HEAD_INITIALIZER(srv.clients),
        .commit_list = TAILQ_HEAD_INITIALIZER(srv.commit_list),
};

void srv_handler_register(struct srv_handler *h)
{
	STAILQ_INSERT_TAIL(&handlers, h, next);
}

void srv_observer_register(struct srv_observer *obs)
{
	STAILQ_INSERT_TAIL(&observers, obs, next);
}

static json_t *error_reply(uint64_t id, int errnum, const char *msg)
{
	return apimsg_reply_error(id, errnum, msg);
}

static uint64_t persist_seq(void)
{
	return srv.persist.seq ? srv.persist.seq(srv.persist.ctx) : 0;
}

json_t *srv_dispatch(json_t *req, uid_t uid, pid_t pid, bool *changed)
{
	struct srv_call call = {.uid = uid, .pid = pid};
	struct apimsg_request rq;
	json_t *args, *result = NULL;
	struct srv_observer *o;
	struct srv_handler *h;
	uint64_t id, t0 = clock_mono_us(), seq0;
	const char *op;
	int r;

	*changed = false;
	if ((r = apimsg_request_decode(req, &rq, &call.err)) < 0)
		return error_reply(rq.id, call.err.errnum, call.err.msg);
	id = rq.id;
	op = rq.op;
	args = rq.args;
	STAILQ_FOREACH (h, &handlers, next)
		if (strcmp(h->op, op) == 0)
			break;
	if (!h) {
		char msg[160];
		snprintf(msg, sizeof(msg), "unknown operation '%.64s'", op);
		return error_reply(id, ENOSYS, msg);
	}
	call.op = h->op;
	if (h->needs_root && uid != 0) {
		r = kb_err_set(&call.err, EPERM, "operation '%s' requires a root peer (uid 0)", op);
	} else {
		json_t *empty = args ? NULL : json_object();
		seq0 = persist_seq();
		r = h->fn(&call, args ? args : empty, &result);
		json_decref(empty);
		/* A changing operation's answer reports state even when it changed nothing itself
		 * (an attach answering "existing", a detach finding nothing): state that an
		 * earlier request may have changed without its commit having succeeded yet. */
		*changed = persist_seq() != seq0 || (h->needs_root && r == 0);
	}
	STAILQ_FOREACH (o, &observers, next)
		if (o->request_done)
			o->request_done(h->op, r < 0 ? -r : 0, clock_mono_us() - t0);
	if (r < 0) {
		json_decref(result);
		return error_reply(id, call.err.errnum ? call.err.errnum : -r,
		        call.err.msg[0] ? call.err.msg : strerror(-r));
	}
	return apimsg_reply_ok(id, result);
}

/* ---- connections ---- */

static void client_free(struct client *c)
{
	struct held *h;

	while ((h = STAILQ_FIRST(&c->held))) {
		STAILQ_REMOVE_HEAD(&c->held, next);
		json_decref(h->reply);
		free(h);
		srv.n_held--;
	}
	if (c->in_commit_list)
		TAILQ_REMOVE(&srv.commit_list, c, commit_link);
	TAILQ_REMOVE(&srv.clients, c, link);
	srv.n_clients--;
	if (c->uid != 0)
		srv.n_nonroot--;
	if (c->out_deadline)
		event_free(c->out_deadline);
	bufferevent_free(c->bev);
	free(c);
}

/* Reply bytes queued in the agent for every client (what the kernel did not take yet). */
static size_t output_total(void)
{
	struct client *c;
	size_t n = 0;

	TAILQ_FOREACH (c, &srv.clients, link)
		n += evbuffer_get_length(bufferevent_get_output(c->bev));
	return n;
}

static int send_frame(struct client *c, json_t *reply)
{
	_cleanup_free_ char *js = json_dumps(reply, JSON_COMPACT);
	struct evbuffer *out = bufferevent_get_output(c->bev);
	uint8_t hdr[API_FRAME_HDR];
	size_t n, total;
	char msg[200];

	if (!js)
		return -ENOMEM;
	n = strlen(js);
	if (n > TRIM_AFTER_BYTES)
		srv.big_reply = true;
	total = output_total();
	/* The cap across clients: a reply that would pass it with what waits for the other
	 * clients is refused, unless it is small and this client has read all it asked before
	 * (kbnet-cni). A client's own pipelined replies never refuse its next: it is paused in
	 * on_read instead. */
	if (n <= API_MAX_REPLY && total - evbuffer_get_length(out) + n > srv.max_output &&
	        (n > SMALL_REPLY || evbuffer_get_length(out))) {
		json_t *e;
		srv.output_refused++;
		snprintf(msg, sizeof(msg),
		        "reply of %zu bytes refused: %zu bytes of replies already wait for clients "
		        "(api.maxOutputBytes %zu); retry, or use filters",
		        n, total, srv.max_output);
		e = error_reply(apimsg_reply_id(reply), ENOBUFS, msg);
		free(js);
		js = e ? json_dumps(e, JSON_COMPACT) : NULL;
		json_decref(e);
		if (!js)
			return -ENOMEM;
		n = strlen(js);
	}
	if (n > API_MAX_REPLY) {
		json_t *e = error_reply(
		        apimsg_reply_id(reply), EMSGSIZE, "reply too large: use filters");
		free(js);
		js = e ? json_dumps(e, JSON_COMPACT) : NULL;
		json_decref(e);
		if (!js)
			return -ENOMEM;
		n = strlen(js);
	}
	frame_put_len(hdr, n);
	if (evbuffer_get_length(out) == 0 && c->out_deadline)
		event_add(c->out_deadline, &srv.idle);
	if (evbuffer_add(out, hdr, sizeof(hdr)) < 0 || evbuffer_add(out, js, n) < 0)
		return -ENOMEM;
	if (total + n + sizeof(hdr) > srv.output_peak)
		srv.output_peak = total + n + sizeof(hdr);
	return 0;
}

/* After the reply's JSON tree is freed (the frame itself is in the output buffer). */
static void trim_after_big_reply(void)
{
	if (!srv.big_reply)
		return;
	srv.big_reply = false;
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

static void flush_held(struct client *c, int commit_err, const char *msg)
{
	struct held *h;

	while ((h = STAILQ_FIRST(&c->held))) {
		STAILQ_REMOVE_HEAD(&c->held, next);
		srv.n_held--;
		if (commit_err && h->changed) {
			json_t *e = error_reply(apimsg_reply_id(h->reply), commit_err, msg);
			json_decref(h->reply);
			h->reply = e;
		}
		if (h->reply)
			send_frame(c, h->reply);
		json_decref(h->reply);
		free(h);
	}
	trim_after_big_reply();
}

static void do_commit(void)
{
	struct kb_err err = {0};
	struct client *c;
	int r = 0;

	if (srv.persist.pending && srv.persist.pending(srv.persist.ctx)) {
		r = srv.persist.commit(srv.persist.ctx, &err);
		srv.commits++;
		if (r < 0) {
			srv.commit_failures++;
			LOG_ERR("%s", err.msg);
		} else {
			crashpoint_hit("agent-committed");
		}
	}
	while ((c = TAILQ_FIRST(&srv.commit_list))) {
		TAILQ_REMOVE(&srv.commit_list, c, commit_link);
		c->in_commit_list = false;
		/* EIO, whatever the cause: a full disk is not a full pool (ENOSPC, CNI 100). */
		flush_held(c, r < 0 ? EIO : 0, r < 0 ? err.msg : NULL);
	}
}

static void on_commit(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	do_commit();
}

void srv_commit_soon(void)
{
	if (srv.commit_ev)
		event_active(srv.commit_ev, EV_TIMEOUT, 0);
}

static void emit_reply(struct client *c, json_t *reply, bool changed)
{
	bool pending = srv.persist.pending && srv.persist.pending(srv.persist.ctx);

	/* Hold the reply while its change (or an earlier one on this connection) is not durable:
	 * replies stay in request order. */
	if ((changed && pending) || !STAILQ_EMPTY(&c->held)) {
		struct held *h = calloc(1, sizeof(*h));
		if (!h) {
			json_decref(reply);
			c->closing = true;
			return;
		}
		h->reply = reply;
		h->changed = changed;
		STAILQ_INSERT_TAIL(&c->held, h, next);
		srv.n_held++;
		if (!c->in_commit_list) {
			TAILQ_INSERT_TAIL(&srv.commit_list, c, commit_link);
			c->in_commit_list = true;
		}
		srv_commit_soon();
		return;
	}
	if (reply)
		send_frame(c, reply);
	json_decref(reply);
	trim_after_big_reply();
}

static void close_after_flush(struct client *c)
{
	c->closing = true;
	bufferevent_disable(c->bev, EV_READ);
}

/*
 * Every byte read restarts libevent's read timeout, so a peer dribbling a frame would hold
 * its connection forever. An incomplete frame gets idleTimeoutMs as a whole: the read timeout
 * is shortened to what is left of it, and restored once no partial frame is buffered.
 */
static void track_partial_frame(struct client *c)
{
	uint64_t idle_us = (uint64_t)srv.idle.tv_sec * 1000000 + srv.idle.tv_usec, now, left;
	struct timeval tv;

	if (evbuffer_get_length(bufferevent_get_input(c->bev)) == 0) {
		if (c->partial_since_us) {
			c->partial_since_us = 0;
			bufferevent_set_timeouts(c->bev, &srv.idle, &srv.idle);
		}
		return;
	}
	now = clock_mono_us();
	if (!c->partial_since_us)
		c->partial_since_us = now;
	left = now - c->partial_since_us >= idle_us ? 1 : idle_us - (now - c->partial_since_us);
	tv.tv_sec = left / 1000000;
	tv.tv_usec = left % 1000000;
	bufferevent_set_timeouts(c->bev, &tv, &srv.idle);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	while (!c->closing) {
		uint8_t hdr[API_FRAME_HDR];
		size_t avail = evbuffer_get_length(in);
		uint32_t len;
		json_t *req, *reply;
		bool changed;
		unsigned char *body;

		if (avail < sizeof(hdr))
			break;
		/* Replies wait for clients that do not read them, more than the cap: a client with
		 * its own replies still queued asks nothing more until it has read them (on_write
		 * resumes it). A client that reads is served. */
		if (evbuffer_get_length(bufferevent_get_output(bev)) &&
		        output_total() >= srv.max_output) {
			srv.output_paused++;
			c->paused = true;
			bufferevent_disable(bev, EV_READ);
			break;
		}
		evbuffer_copyout(in, hdr, sizeof(hdr));
		len = frame_get_len(hdr);
		if (len == 0 || len > API_MAX_REQUEST) {
			srv.errors++;
			emit_reply(c, error_reply(0, EMSGSIZE, "frame length out of range"), false);
			close_after_flush(c);
			break;
		}
		if (avail < sizeof(hdr) + len)
			break; /* incomplete: wait (the idle timeout bounds how long) */
		evbuffer_drain(in, sizeof(hdr));
		body = evbuffer_pullup(in, len);
		req = body ? json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, NULL)
		           : NULL;
		evbuffer_drain(in, len);
		srv.requests++;
		if (!req) {
			srv.errors++;
			reply = error_reply(0, EBADMSG, "request is not valid JSON");
			changed = false;
		} else {
			reply = srv_dispatch(req, c->uid, c->pid, &changed);
			json_decref(req);
			if (apimsg_reply_is_error(reply))
				srv.errors++;
		}
		emit_reply(c, reply, changed);
		/* A client that sends but never reads must not grow our buffers without bound. */
		if (evbuffer_get_length(bufferevent_get_output(bev)) > API_MAX_REPLY) {
			c->paused = true;
			bufferevent_disable(bev, EV_READ);
			break;
		}
	}
	if (!c->closing)
		track_partial_frame(c);
	if (srv.n_held >= MAX_HELD_REPLIES)
		do_commit();
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) != 0)
		return;
	event_del(c->out_deadline);
	if (c->closing && STAILQ_EMPTY(&c->held)) {
		client_free(c);
		return;
	}
	if (!c->closing && c->paused) {
		c->paused = false;
		bufferevent_enable(bev, EV_READ);
		/* Requests it sent while paused are buffered already: no read event brings them. */
		if (evbuffer_get_length(bufferevent_get_input(bev)))
			on_read(bev, c);
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct client *c = arg;

	if (what & BEV_EVENT_TIMEOUT)
		LOG_DEBUG("api: closing idle connection (pid %d)", (int)c->pid);
	/* End of file after the requests (a half-closing client such as `socat`): answer what
	 * was asked, held replies included, then close (on_write). The write timeout still
	 * bounds a peer that never reads. */
	if ((what & BEV_EVENT_EOF) && !(what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) &&
	        (!STAILQ_EMPTY(&c->held) || evbuffer_get_length(bufferevent_get_output(bev)))) {
		close_after_flush(c);
		return;
	}
	client_free(c);
}

static void on_out_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;

	(void)fd;
	(void)what;
	srv.out_timeouts++;
	LOG_DEBUG("api: closing connection (pid %d): replies unread for api.idleTimeoutMs",
	        (int)c->pid);
	client_free(c);
}

static void refuse(evutil_socket_t fd, const char *msg)
{
	json_t *e = error_reply(0, EBUSY, msg);
	char *js = e ? json_dumps(e, JSON_COMPACT) : NULL;
	uint8_t hdr[API_FRAME_HDR];

	if (js) {
		frame_put_len(hdr, strlen(js));
		/* Best effort on a fresh socket: it fits in the socket buffer. */
		if (send(fd, hdr, sizeof(hdr), MSG_DONTWAIT | MSG_NOSIGNAL) == sizeof(hdr) &&
		        send(fd, js, strlen(js), MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		}
	}
	free(js);
	json_decref(e);
	close(fd);
}

static void on_accept(
        struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct client *c;

	(void)l;
	(void)sa;
	(void)salen;
	(void)arg;
	if (srv.accept_paused) {
		LOG_INFO("api: accepting connections again");
		srv.accept_paused = false;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		close(fd);
		return;
	}
	if (srv.n_clients >= srv.max_clients) {
		srv.refused++;
		refuse(fd, "too many connections to the agent");
		return;
	}
	/* Idle non-root clients (anyone in the socket's group) must not lock kbnet-cni out. */
	if (cred.uid != 0 && srv.n_nonroot >= srv.max_clients - srv.root_reserved) {
		srv.refused++;
		srv.refused_nonroot++;
		refuse(fd,
		        "too many connections to the agent from non-root peers (the rest are kept "
		        "for root)");
		return;
	}
	if (!(c = calloc(1, sizeof(*c)))) {
		close(fd);
		return;
	}
	c->uid = cred.uid;
	c->pid = cred.pid;
	STAILQ_INIT(&c->held);
	c->bev = bufferevent_socket_new(loop_base(), fd, BEV_OPT_CLOSE_ON_FREE);
	c->out_deadline = evtimer_new(loop_base(), on_out_deadline, c);
	if (!c->bev || !c->out_deadline) {
		if (c->bev)
			bufferevent_free(c->bev);
		else
			close(fd);
		if (c->out_deadline)
			event_free(c->out_deadline);
		free(c);
		return;
	}
	bufferevent_priority_set(c->bev, LOOP_PRIO_IO);
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_set_timeouts(c->bev, &srv.idle, &srv.idle);
	/* Never buffer more than one maximal request plus its header. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, API_MAX_REQUEST + API_FRAME_HDR);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	TAILQ_INSERT_TAIL(&srv.clients, c, link);
	srv.n_clients++;
	if (c->uid != 0)
		srv.n_nonroot++;
}

#define ACCEPT_PAUSE_MS 100

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (srv.listener)
		evconnlistener_enable(srv.listener);
}

static void on_listener_error(struct evconnlistener *l, void *arg)
{
	static const struct timeval pause = {0, ACCEPT_PAUSE_MS * 1000};
	int e = EVUTIL_SOCKET_ERROR();

	(void)arg;
	srv.accept_errors++;
	/* Out of descriptors (or memory): the connection stays in the backlog, so the listener
	 * would fire again at once: a busy loop at full CPU with a log line per turn. Keep
	 * serving the clients we have and retry in a moment; waiting clients stay queued. */
	if (!srv.accept_paused)
		LOG_WARN("api: accept failed: %s; retrying every %d ms", strerror(e),
		        ACCEPT_PAUSE_MS);
	srv.accept_paused = true;
	if (srv.resume_ev && evconnlistener_disable(l) == 0)
		event_add(srv.resume_ev, &pause);
}

/* Is someone answering on this socket path? */
static bool socket_in_use(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool used;

	if (fd < 0)
		return false;
	str_copy(sa.sun_path, sizeof(sa.sun_path), path);
	used = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return used;
}

int srv_start(const struct cfg_core *core, const struct srv_persist *persist, struct kb_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[sizeof(srv.path)];
	_cleanup_close_ int fd = -1;
	mode_t old;
	int r;

	if (str_copy(srv.path, sizeof(srv.path), core->api_socket) < 0)
		return kb_err_set(err, ENAMETOOLONG, "apiSocket too long");
	str_copy(dir, sizeof(dir), srv.path);
	if ((r = fs_mkdir_p(dirname(dir), 0755)) < 0)
		return kb_err_set(err, -r, "creating directory of %s: %s", srv.path, strerror(-r));
	if (socket_in_use(srv.path))
		return kb_err_set(err, EADDRINUSE, "%s is served by another process", srv.path);
	unlink(srv.path);
	str_copy(sa.sun_path, sizeof(sa.sun_path), srv.path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return kb_err_set(err, errno, "socket: %s", strerror(errno));
	/* Mode 0660 from the start: no window where anyone could connect. */
	old = umask(0117);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0)
		return kb_err_set(err, errno, "bind %s: %s", srv.path, strerror(errno));
	if (listen(fd, 128) < 0)
		return kb_err_set(err, errno, "listen %s: %s", srv.path, strerror(errno));
	srv.persist = *persist;
	srv.max_clients = core->api_max_clients;
	srv.root_reserved = core->api_root_reserved < core->api_max_clients
	                            ? core->api_root_reserved
	                            : core->api_max_clients - 1;
	srv.max_output = core->api_max_output;
	srv.idle.tv_sec = core->api_idle_timeout_ms / 1000;
	srv.idle.tv_usec = (core->api_idle_timeout_ms % 1000) * 1000;
	srv.commit_ev = event_new(loop_base(), -1, 0, on_commit, NULL);
	if (!srv.commit_ev)
		return kb_err_set(err, ENOMEM, "out of memory");
	event_priority_set(srv.commit_ev, LOOP_PRIO_LATE);
	srv.resume_ev = evtimer_new(loop_base(), on_resume, NULL);
	srv.listener = evconnlistener_new(loop_base(), on_accept, NULL,
	        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (!srv.listener || !srv.resume_ev) {
		if (srv.listener)
			evconnlistener_free(srv.listener);
		srv.listener = NULL;
		if (srv.resume_ev)
			event_free(srv.resume_ev);
		srv.resume_ev = NULL;
		event_free(srv.commit_ev);
		srv.commit_ev = NULL;
		return kb_err_set(err, ENOMEM, "cannot listen on %s", srv.path);
	}
	fd = -1; /* owned by the listener */
	evconnlistener_set_error_cb(srv.listener, on_listener_error);
	return 0;
}

void srv_stop(void)
{
	if (!srv.listener)
		return;
	/* Make what was acknowledged... durable, and answer what waits. */
	do_commit();
	while (!TAILQ_EMPTY(&srv.clients))
		client_free(TAILQ_FIRST(&srv.clients));
	evconnlistener_free(srv.listener);
	srv.listener = NULL;
	event_free(srv.resume_ev);
	srv.resume_ev = NULL;
	srv.accept_paused = false;
	event_free(srv.commit_ev);
	srv.commit_ev = NULL;
	unlink(srv.path);
}

json_t *srv_status(void)
{
	return apimsg_api_status_encode(&(struct apimsg_api_status){
	        .socket = srv.path,
	        .clients = (int64_t)srv.n_clients,
	        .requests = (int64_t)srv.requests,
	        .errors = (int64_t)srv.errors,
	        .refused = (int64_t)srv.refused,
	        .commits = (int64_t)srv.commits,
	        .commit_failures = (int64_t)srv.commit_failures,
	        .accept_errors = (int64_t)srv.accept_errors,
	        .reply_timeouts = (int64_t)srv.out_timeouts,
	        .non_root_clients = (int64_t)srv.n_nonroot,
	        .refused_non_root = (int64_t)srv.refused_nonroot,
	        .output_bytes = (int64_t)output_total(),
	        .output_peak_bytes = (int64_t)srv.output_peak,
	        .output_refused = (int64_t)srv.output_refused,
	        .output_paused = (int64_t)srv.output_paused,
	        .max_output_bytes = (int64_t)srv.max_output,
	});
}
