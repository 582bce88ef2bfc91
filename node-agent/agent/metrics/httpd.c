/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/metrics/httpd.h"
#include "common/queue.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Out of descriptors: retry accepting after this long instead of spinning. */
#define ACCEPT_PAUSE_MS 100

struct conn {
	struct httpd *h;
	struct bufferevent *bev;
	struct event *deadline;
	bool responded;
	LIST_ENTRY(conn) link;
};

struct httpd {
	struct event_base *base;
	struct evconnlistener *listener;
	struct event *resume;
	const struct httpd_route *routes;
	struct httpd_limits lim;
	struct timeval timeout;
	LIST_HEAD(, conn) conns;
	struct httpd_stats st;
	char address[80];
};

/* ---- parsing ---- */

static bool is_tchar_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

/* Visible ASCII, no space: what a request target may hold. */
static bool is_vchar(char c)
{
	return c > 0x20 && c < 0x7f;
}

int httpd_parse(const char *buf, size_t len, struct httpd_req *req)
{
	const char *line, *sp1, *sp2, *next, *eol;
	size_t hlen = 0, line_len, mlen, tlen, plen, vlen;

	/* The head ends with an empty line: "\r\n\r\n" or a bare "\n\n". */
	for (size_t i = 0; i + 1 < len && !hlen; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			hlen = i + 2;
		else if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')
			hlen = i + 3;
	}
	if (!hlen)
		return 0;
	if (memchr(buf, '\0', hlen))
		return -400;

	/* Request line: METHOD SP target SP HTTP/1.x */
	eol = memchr(buf, '\n', hlen);
	line_len = eol - buf;
	if (line_len && buf[line_len - 1] == '\r')
		line_len--;
	if (!(sp1 = memchr(buf, ' ', line_len)))
		return -400;
	mlen = sp1 - buf;
	if (!(sp2 = memchr(sp1 + 1, ' ', line_len - mlen - 1)))
		return -400;
	tlen = sp2 - sp1 - 1;
	vlen = line_len - mlen - tlen - 2;
	if (mlen == 0 || mlen > 16 || tlen == 0 || vlen == 0 || memchr(sp2 + 1, ' ', vlen))
		return -400;
	for (size_t i = 0; i < mlen; i++)
		if (!is_tchar_upper(buf[i]))
			return -400;
	if (vlen < 5 || memcmp(sp2 + 1, "HTTP/", 5))
		return -400;
	if (vlen != 8 || (memcmp(sp2 + 1, "HTTP/1.1", 8) && memcmp(sp2 + 1, "HTTP/1.0", 8)))
		return -505;
	if (sp1[1] != '/')
		return -400;
	for (size_t i = 0; i < tlen; i++)
		if (!is_vchar(sp1[1 + i]))
			return -400;

	/* Header fields: "name: value", no line folding; we read none of them. */
	for (line = eol + 1; line < buf + hlen; line = next) {
		eol = memchr(line, '\n', buf + hlen - line);
		next = eol + 1;
		line_len = eol - line;
		if (line_len && line[line_len - 1] == '\r')
			line_len--;
		if (line_len == 0)
			break; /* the empty line */
		if (line[0] == ' ' || line[0] == '\t' || line[0] == ':')
			return -400;
		const char *colon = memchr(line, ':', line_len);
		if (!colon)
			return -400;
		for (const char *p = line; p < colon; p++)
			if (!is_vchar(*p))
				return -400;
	}

	if (mlen == 3 && !memcmp(buf, "GET", 3))
		req->head = false;
	else if (mlen == 4 && !memcmp(buf, "HEAD", 4))
		req->head = true;
	else
		return -405;
	plen = strcspn(sp1 + 1, "?# "); /* the target ends at sp2 (a space) */
	if (plen > tlen)
		plen = tlen;
	if (plen >= sizeof(req->path))
		return -414;
	memcpy(req->path, sp1 + 1, plen);
	req->path[plen] = '\0';
	return (int)hlen;
}

/* ---- connections ---- */

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}

static void conn_free(struct conn *c)
{
	LIST_REMOVE(c, link);
	c->h->st.open--;
	event_free(c->deadline);
	bufferevent_free(c->bev);
	free(c);
}

static void respond(struct conn *c, int status, const char *type, struct evbuffer *body, bool head)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	size_t n = body ? evbuffer_get_length(body) : 0;

	c->responded = true;
	bufferevent_disable(c->bev, EV_READ);
	evbuffer_add_printf(out,
	        "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	        "Cache-Control: no-store\r\n%sConnection: close\r\n\r\n",
	        status, reason(status), type, n, status == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (body && !head)
		evbuffer_add_buffer(out, body);
	/* on_write closes once it is all out; the deadline still bounds a peer that never reads */
}

static void respond_error(struct conn *c, int status)
{
	struct evbuffer *b = evbuffer_new();

	c->h->st.bad_requests++;
	if (b)
		evbuffer_add_printf(b, "%d %s\n", status, reason(status));
	respond(c, status, "text/plain; charset=utf-8", b, false);
	if (b)
		evbuffer_free(b);
}

static void dispatch(struct conn *c, const struct httpd_req *req)
{
	const struct httpd_route *r;
	const char *type = "text/plain; charset=utf-8";
	struct evbuffer *body;
	int status;

	c->h->st.requests++;
	for (r = c->h->routes; r->path; r++)
		if (!strcmp(r->path, req->path))
			break;
	if (!r->path) {
		respond_error(c, 404);
		return;
	}
	if (!(body = evbuffer_new())) {
		respond_error(c, 500);
		return;
	}
	status = r->fn(req, body, &type, r->arg);
	respond(c, status, type, body, req->head);
	evbuffer_free(body);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in);
	struct httpd_req req;
	unsigned char *data;
	int r;

	if (c->responded) {
		evbuffer_drain(in, len);
		return;
	}
	if (len > c->h->lim.max_header + 1)
		len = c->h->lim.max_header + 1;
	if (!(data = evbuffer_pullup(in, len))) {
		respond_error(c, 500);
		return;
	}
	r = httpd_parse((const char *)data, len, &req);
	if (r == 0 && len > c->h->lim.max_header)
		r = -431;
	if (r == 0)
		return; /* incomplete: the deadline bounds how long we wait */
	if (r < 0) {
		respond_error(c, -r);
		return;
	}
	if ((size_t)r > c->h->lim.max_header) {
		respond_error(c, 431);
		return;
	}
	evbuffer_drain(in, evbuffer_get_length(in));
	dispatch(c, &req);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->responded && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_free(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	(void)what;
	conn_free(c); /* EOF or an error: there is nobody to answer */
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	c->h->st.timeouts++;
	conn_free(c);
}

static void refuse(evutil_socket_t fd)
{
	static const char msg[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
	                          "Retry-After: 1\r\nConnection: close\r\n\r\n";

	/* Best effort on a fresh socket: it fits in the socket buffer. */
	if (send(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
	}
	close(fd);
}

int httpd_serve(struct httpd *h, int fd)
{
	struct conn *c;

	if (h->st.open >= h->lim.max_conns) {
		h->st.refused++;
		refuse(fd);
		return -EBUSY;
	}
	if (!(c = calloc(1, sizeof(*c)))) {
		close(fd);
		return -ENOMEM;
	}
	c->h = h;
	c->bev = bufferevent_socket_new(h->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->deadline = evtimer_new(h->base, on_deadline, c);
	if (!c->bev || !c->deadline) {
		if (c->bev)
			bufferevent_free(c->bev);
		else
			close(fd);
		if (c->deadline)
			event_free(c->deadline);
		free(c);
		return -ENOMEM;
	}
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	/* Never buffer more than one maximal head (plus the byte that shows it is too long). */
	bufferevent_setwatermark(c->bev, EV_READ, 0, h->lim.max_header + 1);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	evtimer_add(c->deadline, &h->timeout);
	LIST_INSERT_HEAD(&h->conns, c, link);
	h->st.open++;
	h->st.conns++;
	return 0;
}

static void on_accept(
        struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	(void)l;
	(void)sa;
	(void)salen;
	httpd_serve(arg, fd);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct httpd *h = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(h->listener);
}

static void on_listener_error(struct evconnlistener *l, void *arg)
{
	static const struct timeval pause = {0, ACCEPT_PAUSE_MS * 1000};
	struct httpd *h = arg;

	/* Out of descriptors: the connection stays queued and the listener would fire at once
	 * again; keep serving and retry in a moment. */
	h->st.accept_errors++;
	if (evconnlistener_disable(l) == 0)
		event_add(h->resume, &pause);
}

static void format_address(int fd, char *buf, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN];

	buf[0] = '\0';
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(sin->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%u", host, ntohs(sin6->sin6_port));
	}
}

int httpd_new(struct event_base *base, const char *address, uint16_t port,
        const struct httpd_route *routes, const struct httpd_limits *lim, struct httpd **ret,
        struct kb_err *err)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t slen;
	struct httpd *h;
	int fd, one = 1, e;

	if (inet_pton(AF_INET, address, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		slen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, address, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		slen = sizeof(*sin6);
	} else {
		return kb_err_set(
		        err, EINVAL, "'%s' is not a numeric IPv4 or IPv6 address", address);
	}
	if (!(h = calloc(1, sizeof(*h))))
		return kb_err_set(err, ENOMEM, "out of memory");
	h->base = base;
	h->routes = routes;
	h->lim = *lim;
	h->timeout.tv_sec = lim->timeout_ms / 1000;
	h->timeout.tv_usec = lim->timeout_ms % 1000 * 1000;
	LIST_INIT(&h->conns);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		e = errno;
		free(h);
		return kb_err_set(err, e, "socket: %s", strerror(e));
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, slen) < 0 || listen(fd, 128) < 0) {
		e = errno;
		close(fd);
		free(h);
		return kb_err_set(
		        err, e, "cannot listen on %s port %u: %s", address, port, strerror(e));
	}
	h->resume = evtimer_new(base, on_resume, h);
	h->listener = evconnlistener_new(base, on_accept, h, LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (!h->listener || !h->resume) {
		if (h->listener)
			evconnlistener_free(h->listener);
		else
			close(fd);
		if (h->resume)
			event_free(h->resume);
		free(h);
		return kb_err_set(err, ENOMEM, "out of memory");
	}
	evconnlistener_set_error_cb(h->listener, on_listener_error);
	format_address(fd, h->address, sizeof(h->address));
	*ret = h;
	return 0;
}

void httpd_free(struct httpd *h)
{
	struct conn *c;

	if (!h)
		return;
	while ((c = LIST_FIRST(&h->conns)))
		conn_free(c);
	evconnlistener_free(h->listener);
	event_free(h->resume);
	free(h);
}

const char *httpd_address(const struct httpd *h)
{
	return h->address;
}

void httpd_get_stats(const struct httpd *h, struct httpd_stats *st)
{
	*st = h->st;
}
