/* SPDX-License-Identifier: Apache-2.0 */
#include "lib/netlink/nlsock.h"
#include "common/str.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Replies we ask for are small (one link, or one PF with its VF list); cap what we accept. */
#define NLSOCK_MAX_REPLY (4u << 20)

struct nlsock {
	int fd;
	bool kernel;
	uint32_t portid; /* kernel-assigned; 0 for the stand-in */
	uint32_t seq;
};

static int set_timeout(int fd)
{
	struct timeval tv = {
	        .tv_sec = NLSOCK_TIMEOUT_MS / 1000, .tv_usec = (NLSOCK_TIMEOUT_MS % 1000) * 1000};

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

static struct nlsock *sock_new(int fd, bool kernel)
{
	struct nlsock *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->fd = fd;
	s->kernel = kernel;
	/* Start somewhere unpredictable so a stale reply is never mistaken for ours. */
	s->seq = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16);
	return s;
}

int nlsock_open_route(struct nlsock **ret, struct kb_err *err)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	socklen_t len = sizeof(sa);
	int fd, one = 1, r;
	struct nlsock *s;

	if ((fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)) < 0)
		return kb_err_set(err, errno, "netlink socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	        getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		r = kb_err_set(err, errno, "netlink bind: %s", strerror(errno));
		goto fail;
	}
	/* Error messages from the kernel (extended ack) make failures explain themselves. */
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if ((r = set_timeout(fd)) < 0) {
		kb_err_set(err, -r, "netlink socket timeout: %s", strerror(-r));
		goto fail;
	}
	if (!(s = sock_new(fd, true))) {
		r = kb_err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	s->portid = sa.nl_pid;
	*ret = s;
	return 0;
fail:
	close(fd);
	return r;
}

int nlsock_open_unix(const char *path, struct nlsock **ret, struct kb_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct nlsock *s;
	int fd, r;

	if (str_copy(sa.sun_path, sizeof(sa.sun_path), path) < 0)
		return kb_err_set(err, ENAMETOOLONG, "socket path %s is too long", path);
	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0)
		return kb_err_set(err, errno, "socket: %s", strerror(errno));
	if ((r = set_timeout(fd)) < 0) {
		kb_err_set(err, -r, "socket timeout: %s", strerror(-r));
		goto fail;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = kb_err_set(err, errno, "connecting to PF netlink stand-in %s: %s", path,
		        strerror(errno));
		goto fail;
	}
	if (!(s = sock_new(fd, false))) {
		r = kb_err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	*ret = s;
	return 0;
fail:
	close(fd);
	return r;
}

void nlsock_close(struct nlsock *s)
{
	if (!s)
		return;
	close(s->fd);
	free(s);
}

uint32_t nlsock_seq(struct nlsock *s)
{
	return ++s->seq;
}

struct nlmsghdr *nlsock_msg(struct nlsock *s, void *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = nlsock_seq(s);
	return nlh;
}

/* The extended-ack text (NLMSGERR_ATTR_MSG) after the error header, if any. */
static const char *ext_ack_msg(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	size_t off = sizeof(*e);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	/* Without NLM_F_CAPPED the whole request is echoed after the header. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	if (mnl_nlmsg_get_payload_len(nlh) < off)
		return NULL;
	mnl_attr_for_each_payload ((const struct nlattr *)((const char *)e + off),
	        mnl_nlmsg_get_payload_len(nlh) - off) {
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
		        mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			return mnl_attr_get_str(attr);
	}
	return NULL;
}

int nlsock_request(struct nlsock *s, struct nlmsghdr *nlh, nlsock_cb cb, void *data,
        const char *what, struct kb_err *err)
{
	uint32_t seq = nlh->nlmsg_seq;
	char *buf = NULL;
	ssize_t n;
	int r = 0;

	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_pid = 0;
	if (send(s->fd, nlh, nlh->nlmsg_len, 0) != (ssize_t)nlh->nlmsg_len)
		return kb_err_set(err, errno ? errno : EIO, "%s: send: %s", what,
		        strerror(errno ? errno : EIO));
	for (;;) {
		struct nlmsghdr *m;
		int len;
		char probe;

		/* Size the buffer to the datagram (netlink and seqpacket report it with MSG_TRUNC).
		 */
		n = recv(s->fd, &probe, 1, MSG_PEEK | MSG_TRUNC);
		if (n < 0) {
			r = -(errno == EAGAIN ? ETIMEDOUT : errno);
			kb_err_set(err, -r, "%s: %s", what,
			        r == -ETIMEDOUT ? "no answer from netlink peer" : strerror(-r));
			goto out;
		}
		if (n == 0) {
			r = kb_err_set(
			        err, ECONNRESET, "%s: netlink peer closed the connection", what);
			goto out;
		}
		if ((size_t)n > NLSOCK_MAX_REPLY) {
			r = kb_err_set(
			        err, EMSGSIZE, "%s: reply of %zd bytes is too large", what, n);
			goto out;
		}
		free(buf);
		if (!(buf = malloc(n))) {
			r = kb_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		if ((n = recv(s->fd, buf, n, 0)) < 0) {
			r = kb_err_set(err, errno, "%s: recv: %s", what, strerror(errno));
			goto out;
		}
		len = n;
		/* mnl_nlmsg_ok() compares the length as an int: one over INT_MAX passes it. */
		for (m = (struct nlmsghdr *)buf;
		        mnl_nlmsg_ok(m, len) && m->nlmsg_len <= (uint32_t)len;
		        m = mnl_nlmsg_next(m, &len)) {
			if (m->nlmsg_seq != seq)
				continue; /* a late answer to an earlier, abandoned request */
			if (s->kernel && m->nlmsg_pid && m->nlmsg_pid != s->portid)
				continue;
			if (m->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(m);
				const char *msg;
				if (mnl_nlmsg_get_payload_len(m) < sizeof(*e)) {
					r = kb_err_set(
					        err, EBADMSG, "%s: truncated netlink error", what);
					goto out;
				}
				if (e->error == 0)
					goto out; /* the acknowledgement */
				/* An errno (the kernel's are < 4096); INT_MIN would overflow -r. */
				r = e->error < 0 && e->error > -4096 ? e->error : -EPROTO;
				msg = ext_ack_msg(m);
				kb_err_set(err, -r, "%s: %s%s%s", what, strerror(-r),
				        msg ? ": " : "", msg ? msg : "");
				goto out;
			}
			if (m->nlmsg_type == NLMSG_DONE)
				goto out;
			if (m->nlmsg_type == NLMSG_NOOP || m->nlmsg_type == NLMSG_OVERRUN)
				continue;
			if (cb && (r = cb(m, data)) < 0) {
				kb_err_set(err, -r, "%s: unexpected reply: %s", what, strerror(-r));
				goto out;
			}
		}
	}
out:
	free(buf);
	return r;
}
