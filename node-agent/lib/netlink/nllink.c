/* SPDX-License-Identifier: Apache-2.0 */
#include "lib/netlink/nllink.h"
#include "common/str.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct get_ctx {
	struct nllink_info *info;
	bool found;
};

static int get_cb(const struct nlmsghdr *nlh, void *data)
{
	struct get_ctx *c = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct nllink_info *li = c->info;
	const struct nlattr *attr;

	if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
		return -EBADMSG;
	memset(li, 0, sizeof(*li));
	li->ifindex = ifi->ifi_index;
	li->up = ifi->ifi_flags & IFF_UP;
	mnl_attr_for_each (attr, nlh, sizeof(*ifi)) {
		switch (mnl_attr_get_type(attr)) {
		case IFLA_IFNAME:
			if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
				return -EBADMSG;
			str_copy(li->name, sizeof(li->name), mnl_attr_get_str(attr));
			break;
		case IFLA_ADDRESS:
			/* Only Ethernet-sized addresses matter here. */
			if (mnl_attr_get_payload_len(attr) == sizeof(li->mac.b))
				memcpy(li->mac.b, mnl_attr_get_payload(attr), sizeof(li->mac.b));
			break;
		case IFLA_MTU:
			if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
				return -EBADMSG;
			li->mtu = mnl_attr_get_u32(attr);
			break;
		}
	}
	c->found = true;
	return 0;
}

int nllink_get(struct nlsock *s, int ifindex, const char *name, struct nllink_info *ret,
        struct kb_err *err)
{
	char buf[256], what[64];
	struct nlmsghdr *nlh = nlsock_msg(s, buf, RTM_GETLINK, 0);
	struct ifinfomsg *ifi;
	struct get_ctx c = {.info = ret};
	int r;

	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	if (ifindex > 0) {
		ifi->ifi_index = ifindex;
		snprintf(what, sizeof(what), "reading link %d", ifindex);
	} else {
		if (!name || !*name || strlen(name) >= IFNAMSIZ)
			return kb_err_set(err, EINVAL, "bad interface name");
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
		snprintf(what, sizeof(what), "reading link %s", name);
	}
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	r = nlsock_request(s, nlh, get_cb, &c, what, err);
	if (r == 0 && !c.found)
		r = kb_err_set(err, ENODEV, "%s: no reply", what);
	return r;
}

/* Append to a bounded description; truncation is harmless there. */
static void describe(char *buf, size_t size, size_t *off, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void describe(char *buf, size_t size, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= size - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, size - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off = *off + n < size ? *off + n : size - 1;
}

int nllink_set(struct nlsock *s, int ifindex, const struct nllink_change *c, struct kb_err *err)
{
	char buf[512], what[128];
	struct nlmsghdr *nlh = nlsock_msg(s, buf, RTM_SETLINK, 0);
	struct ifinfomsg *ifi;
	size_t off = 0;

	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	describe(what, sizeof(what), &off, "link %d:", ifindex);
	if (c->up >= 0) {
		ifi->ifi_change = IFF_UP;
		ifi->ifi_flags = c->up ? IFF_UP : 0;
		describe(what, sizeof(what), &off, " %s", c->up ? "up" : "down");
	}
	if (c->name) {
		if (!*c->name || strlen(c->name) >= IFNAMSIZ)
			return kb_err_set(err, EINVAL, "bad interface name '%s'", c->name);
		mnl_attr_put_strz(nlh, IFLA_IFNAME, c->name);
		describe(what, sizeof(what), &off, " name %s", c->name);
	}
	if (c->mac) {
		char m[MAC_STR_LEN];
		mnl_attr_put(nlh, IFLA_ADDRESS, sizeof(c->mac->b), c->mac->b);
		mac_format(c->mac, m);
		describe(what, sizeof(what), &off, " address %s", m);
	}
	if (c->mtu > 0) {
		mnl_attr_put_u32(nlh, IFLA_MTU, c->mtu);
		describe(what, sizeof(what), &off, " mtu %d", c->mtu);
	}
	if (c->netns_fd >= 0) {
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, c->netns_fd);
		describe(what, sizeof(what), &off, " netns");
	}
	return nlsock_request(s, nlh, NULL, NULL, what, err);
}

int nllink_set_up(struct nlsock *s, int ifindex, bool up, struct kb_err *err)
{
	struct nllink_change c = NLLINK_CHANGE_INIT;

	c.up = up;
	return nllink_set(s, ifindex, &c, err);
}

int nllink_rename(struct nlsock *s, int ifindex, const char *name, struct kb_err *err)
{
	struct nllink_change c = NLLINK_CHANGE_INIT;

	c.name = name;
	return nllink_set(s, ifindex, &c, err);
}

int nllink_set_mac(struct nlsock *s, int ifindex, const struct mac *mac, struct kb_err *err)
{
	struct nllink_change c = NLLINK_CHANGE_INIT;

	c.mac = mac;
	return nllink_set(s, ifindex, &c, err);
}

int nllink_set_mtu(struct nlsock *s, int ifindex, int mtu, struct kb_err *err)
{
	struct nllink_change c = NLLINK_CHANGE_INIT;

	if (mtu <= 0)
		return kb_err_set(err, EINVAL, "bad MTU %d", mtu);
	c.mtu = mtu;
	return nllink_set(s, ifindex, &c, err);
}

int nllink_move(struct nlsock *s, int ifindex, int netns_fd, const char *name, struct kb_err *err)
{
	struct nllink_change c = NLLINK_CHANGE_INIT;

	if (netns_fd < 0)
		return kb_err_set(err, EBADF, "no network namespace to move link %d into", ifindex);
	c.netns_fd = netns_fd;
	c.name = name;
	return nllink_set(s, ifindex, &c, err);
}
