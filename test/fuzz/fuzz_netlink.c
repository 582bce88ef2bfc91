/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtnetlink replies as the agent reads them: the VF attribute parser (agent/sriov/vfnl.c) and
 * a link request over a netlink channel (lib/netlink: nllink.c on nlsock.c: reply loop, sequence
 * numbers, NLMSG_ERROR with extended-ack text, RTM_NEWLINK attributes). The channel is the Unix
 * SOCK_SEQPACKET kind the tests use for their PF stand-in, answered here.
 * Input: datagrams, each a 2-byte little-endian length and its bytes. Messages whose sequence
 * number is 0 get the request's; every request is then acknowledged so none waits.
 */
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/sriov/vfnl.h"
#include "common/log.h"
#include "lib/netlink/nllink.h"
#include "lib/netlink/nlsock.h"

#define MAX_DGRAMS 64

static char dir[64], path[128];
static int lfd = -1;

static void remove_dir(void)
{
	close(lfd);
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	(void)argc;
	(void)argv;
	log_set_level(LOG_LVL_ERR);
	snprintf(dir, sizeof(dir), "/tmp/kbnet-fuzz-nl.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/pf.sock", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4) < 0)
		abort();
	atexit(remove_dir);
	return 0;
}

/* Give every well-formed message with sequence number 0 the request's. */
static void fix_seq(uint8_t *buf, size_t len, uint32_t seq)
{
	int left = (int)len;

	/* (mnl_nlmsg_ok() alone takes a length over INT_MAX for a negative one.) */
	for (struct nlmsghdr *m = (struct nlmsghdr *)buf;
	        mnl_nlmsg_ok(m, left) && m->nlmsg_len <= (uint32_t)left;
	        m = mnl_nlmsg_next(m, &left))
		if (m->nlmsg_seq == 0)
			m->nlmsg_seq = seq;
}

static void send_ack(int fd, uint32_t seq)
{
	uint8_t buf[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nlmsgerr *e;

	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = seq;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = 0;
	if (send(fd, buf, nlh->nlmsg_len, MSG_NOSIGNAL) < 0)
		abort(); /* would leave the request waiting */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nllink_info li;
	struct kb_err err = {0};
	struct nlsock *s = NULL;
	uint8_t *dg[MAX_DGRAMS];
	size_t dlen[MAX_DGRAMS], n = 0;
	uint32_t seq;
	int sfd;

	if (size > 16384)
		return 0;
	while (size && n < MAX_DGRAMS) {
		size_t len = size >= 2 ? (size_t)(data[0] | data[1] << 8) : 0;
		data += size >= 2 ? 2 : size;
		size -= size >= 2 ? 2 : size;
		if (len > size)
			len = size;
		if (!(dg[n] = malloc(len ? len : 1)))
			abort();
		memcpy(dg[n], data, len);
		dlen[n++] = len;
		data += len;
		size -= len;
	}

	/* The VF parser on each datagram as an RTM_NEWLINK reply. */
	for (size_t i = 0; i < n; i++)
		for (unsigned vf = 0; vf < 3; vf++) {
			struct vf_state st;
			int num;
			vfnl_parse_vf(dg[i], dlen[i], vf, &st, &num);
		}

	/* Two link requests over the channel: by index, then by name. */
	if (nlsock_open_unix(path, &s, &err) < 0 ||
	        (sfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) < 0)
		abort();
	seq = nlsock_seq(s) + 1;
	for (size_t i = 0; i < n; i++) {
		fix_seq(dg[i], dlen[i], seq);
		if (send(sfd, dg[i], dlen[i], MSG_NOSIGNAL) < 0)
			break;
	}
	send_ack(sfd, seq);
	send_ack(sfd, seq + 1);
	nllink_get(s, 5, NULL, &li, &err);
	nllink_get(s, 0, "eth0", &li, &err);
	nlsock_close(s);
	close(sfd);
	for (size_t i = 0; i < n; i++)
		free(dg[i]);
	return 0;
}
