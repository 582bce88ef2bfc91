/* SPDX-License-Identifier: Apache-2.0 */
#include "api/client.h"
#include "api/api.h"
#include "api/apimsg.h"
#include "api/frame.h"
#include "common/cleanup.h"
#include "common/str.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct apicl {
	int fd;
	int64_t deadline_ms;
	unsigned next_id;
	bool remote_error;
};

int apicl_connect(const char *path, int timeout_ms, struct apicl **ret, struct kb_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -1;
	struct apicl *c;

	if (str_copy(sa.sun_path, sizeof(sa.sun_path), path) < 0)
		return kb_err_set(err, ENAMETOOLONG, "agent socket path too long: %s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return kb_err_set(err, errno, "socket: %s", strerror(errno));
	/* Unix stream connect completes or fails at once, except on a full backlog (EAGAIN). */
	for (int64_t deadline = timeout_ms < 0 ? -1 : frame_now_ms() + timeout_ms;;) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		if (errno != EAGAIN && errno != EINTR)
			return kb_err_set(err, errno, "cannot connect to agent at %s: %s", path,
			        strerror(errno));
		if (deadline >= 0 && frame_now_ms() >= deadline)
			return kb_err_set(err, ETIMEDOUT, "agent at %s: connect timed out", path);
		poll(NULL, 0, 2);
	}
	if (!(c = calloc(1, sizeof(*c))))
		return kb_err_set(err, ENOMEM, "out of memory");
	c->fd = TAKE_FD(fd);
	c->deadline_ms = timeout_ms < 0 ? -1 : frame_now_ms() + timeout_ms;
	c->next_id = 1;
	*ret = c;
	return 0;
}

bool apicl_remote_error(const struct apicl *c)
{
	return c->remote_error;
}

static int parse_reply(
        json_t *reply, unsigned id, json_t **ret_result, struct kb_err *err, bool *remote)
{
	struct apimsg_reply rp;
	int r;

	if ((r = apimsg_reply_decode(reply, &rp, err)) < 0)
		return r;
	if (rp.id != id)
		return kb_err_set(err, EPROTO, "malformed reply from agent");
	if (!rp.ok) {
		*remote = true;
		return kb_err_set(err, rp.errnum, "%s", rp.message);
	}
	if (ret_result)
		*ret_result = rp.result ? json_incref(rp.result) : json_object();
	return 0;
}

int apicl_call(
        struct apicl *c, const char *op, json_t *args, json_t **ret_result, struct kb_err *err)
{
	_cleanup_free_ char *out = NULL, *in = NULL;
	json_t *req, *reply;
	json_error_t jerr;
	unsigned id = c->next_id++;
	size_t len;
	int r;

	c->remote_error = false;
	if (!(req = apimsg_request_encode(id, op, args)))
		return kb_err_set(err, ENOMEM, "out of memory");
	out = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!out)
		return kb_err_set(err, ENOMEM, "out of memory");
	len = strlen(out);
	if (len > API_MAX_REQUEST)
		return kb_err_set(
		        err, EMSGSIZE, "request of %zu bytes exceeds %d", len, API_MAX_REQUEST);
	if ((r = frame_send(c->fd, out, len, c->deadline_ms)) < 0)
		return kb_err_set(err, -r, "sending to agent: %s", strerror(-r));
	if ((r = frame_recv(c->fd, API_MAX_REPLY, &in, &len, c->deadline_ms)) < 0)
		return kb_err_set(err, -r, "reading agent reply: %s",
		        r == -ECONNRESET ? "agent closed the connection" : strerror(-r));
	reply = json_loadb(in, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(reply)) {
		json_decref(reply);
		return kb_err_set(err, EPROTO, "agent reply is not a JSON object");
	}
	r = parse_reply(reply, id, ret_result, err, &c->remote_error);
	json_decref(reply);
	return r;
}

void apicl_close(struct apicl *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c);
}
