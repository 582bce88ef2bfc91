/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/sriov/vfnl.h"
#include "common/str.h"
#include "lib/netlink/nlsock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vfnl {
	struct nlsock *sock;
};

const char *vf_attr_name(enum vf_attr a)
{
	static const char *const names[VF_ATTR_COUNT] = {
	        [VF_ATTR_MAC] = "mac",
	        [VF_ATTR_VLAN] = "vlan",
	        [VF_ATTR_SPOOFCHK] = "spoofchk",
	        [VF_ATTR_TRUST] = "trust",
	        [VF_ATTR_LINK_STATE] = "link_state",
	        [VF_ATTR_RATE] = "tx_rate",
	};
	return (unsigned)a < VF_ATTR_COUNT ? names[a] : "?";
}

int vfnl_open(const char *target, struct vfnl **ret, struct kb_err *err)
{
	struct vfnl *v = calloc(1, sizeof(*v));
	int r;

	if (!v)
		return kb_err_set(err, ENOMEM, "out of memory");
	if (!target || strcmp(target, "kernel") == 0)
		r = nlsock_open_route(&v->sock, err);
	else if (str_has_prefix(target, "unix:"))
		r = nlsock_open_unix(target + 5, &v->sock, err);
	else
		r = kb_err_set(err, EINVAL, "unknown VF netlink target '%s'", target);
	if (r < 0) {
		free(v);
		return r;
	}
	*ret = v;
	return 0;
}

void vfnl_close(struct vfnl *v)
{
	if (!v)
		return;
	nlsock_close(v->sock);
	free(v);
}

static struct nlmsghdr *put_link_header(void *buf, uint16_t type, uint32_t seq, int ifindex)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return nlh;
}

/* Largest set message: headers + 3 nests + ifla_vf_mac (36 bytes) fit easily. */
#define VFNL_SET_MAX 256

size_t vfnl_build_set(void *buf, size_t size, uint32_t seq, int pf_ifindex, unsigned vf,
        enum vf_attr a, const struct vf_state *st)
{
	char tmp[VFNL_SET_MAX] __attribute__((aligned(4))) = {0};
	struct nlmsghdr *nlh = put_link_header(tmp, RTM_SETLINK, seq, pf_ifindex);
	struct nlattr *list, *info, *vlist;

	list = mnl_attr_nest_start(nlh, IFLA_VFINFO_LIST);
	info = mnl_attr_nest_start(nlh, IFLA_VF_INFO);
	switch (a) {
	case VF_ATTR_MAC: {
		struct ifla_vf_mac m = {.vf = vf};
		memcpy(m.mac, st->mac.b, sizeof(st->mac.b));
		mnl_attr_put(nlh, IFLA_VF_MAC, sizeof(m), &m);
		break;
	}
	case VF_ATTR_VLAN: {
		/* The list form carries the protocol (802.1Q or 802.1ad); drivers use entry 0. */
		struct ifla_vf_vlan_info vi = {
		        .vf = vf,
		        .vlan = st->vlan,
		        .qos = st->qos,
		        .vlan_proto = htons(st->proto ? st->proto : VF_PROTO_8021Q),
		};
		vlist = mnl_attr_nest_start(nlh, IFLA_VF_VLAN_LIST);
		mnl_attr_put(nlh, IFLA_VF_VLAN_INFO, sizeof(vi), &vi);
		mnl_attr_nest_end(nlh, vlist);
		break;
	}
	case VF_ATTR_SPOOFCHK: {
		struct ifla_vf_spoofchk s = {.vf = vf, .setting = st->spoofchk};
		mnl_attr_put(nlh, IFLA_VF_SPOOFCHK, sizeof(s), &s);
		break;
	}
	case VF_ATTR_TRUST: {
		struct ifla_vf_trust t = {.vf = vf, .setting = st->trust};
		mnl_attr_put(nlh, IFLA_VF_TRUST, sizeof(t), &t);
		break;
	}
	case VF_ATTR_LINK_STATE: {
		struct ifla_vf_link_state l = {.vf = vf, .link_state = st->link_state};
		mnl_attr_put(nlh, IFLA_VF_LINK_STATE, sizeof(l), &l);
		break;
	}
	case VF_ATTR_RATE: {
		struct ifla_vf_rate r = {
		        .vf = vf,
		        .min_tx_rate = st->min_tx_rate,
		        .max_tx_rate = st->max_tx_rate,
		};
		mnl_attr_put(nlh, IFLA_VF_RATE, sizeof(r), &r);
		break;
	}
	default:
		return 0;
	}
	mnl_attr_nest_end(nlh, info);
	mnl_attr_nest_end(nlh, list);
	if (nlh->nlmsg_len > size)
		return 0;
	memcpy(buf, tmp, nlh->nlmsg_len);
	return nlh->nlmsg_len;
}

size_t vfnl_build_get(void *buf, size_t size, uint32_t seq, int pf_ifindex)
{
	char tmp[64] __attribute__((aligned(4))) = {0};
	struct nlmsghdr *nlh = put_link_header(tmp, RTM_GETLINK, seq, pf_ifindex);

	/* VF info is only filled in on request; statistics would only make it larger. */
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS);
	if (nlh->nlmsg_len > size)
		return 0;
	memcpy(buf, tmp, nlh->nlmsg_len);
	return nlh->nlmsg_len;
}

/* Payload of a fixed-size VF struct attribute, or NULL when it is too short. */
static const void *vf_payload(const struct nlattr *attr, size_t size)
{
	return mnl_attr_get_payload_len(attr) >= size ? mnl_attr_get_payload(attr) : NULL;
}

static int parse_vlan_list(const struct nlattr *nest, struct vf_state *st)
{
	const struct nlattr *attr;

	mnl_attr_for_each_nested (attr, nest) {
		const struct ifla_vf_vlan_info *vi;
		if (mnl_attr_get_type(attr) != IFLA_VF_VLAN_INFO)
			continue;
		if (!(vi = vf_payload(attr, sizeof(*vi))))
			return -EBADMSG;
		st->vlan = vi->vlan;
		st->qos = vi->qos;
		st->proto = ntohs(vi->vlan_proto);
		st->mask |= VF_BIT(VF_ATTR_VLAN);
		return 0; /* the first entry is the VF's VLAN; others are QinQ extras */
	}
	return 0;
}

/* One IFLA_VF_INFO: fills st when it describes VF `vf`; returns 1 then, 0 for another VF. */
static int parse_vf_info(const struct nlattr *nest, unsigned vf, struct vf_state *st)
{
	const struct nlattr *attr;
	struct vf_state s = {0};
	bool have_list = false;
	long idx = -1;

	mnl_attr_for_each_nested (attr, nest) {
		switch (mnl_attr_get_type(attr)) {
		case IFLA_VF_MAC: {
			const struct ifla_vf_mac *m = vf_payload(attr, sizeof(*m));
			if (!m)
				return -EBADMSG;
			idx = m->vf;
			memcpy(s.mac.b, m->mac, sizeof(s.mac.b));
			s.mask |= VF_BIT(VF_ATTR_MAC);
			break;
		}
		case IFLA_VF_VLAN: {
			const struct ifla_vf_vlan *v = vf_payload(attr, sizeof(*v));
			if (!v)
				return -EBADMSG;
			idx = v->vf;
			if (!have_list) { /* kernels before 4.9 give only this form */
				s.vlan = v->vlan;
				s.qos = v->qos;
				s.proto = VF_PROTO_8021Q;
				s.mask |= VF_BIT(VF_ATTR_VLAN);
			}
			break;
		}
		case IFLA_VF_VLAN_LIST:
			if (parse_vlan_list(attr, &s) < 0)
				return -EBADMSG;
			have_list = s.mask & VF_BIT(VF_ATTR_VLAN);
			break;
		case IFLA_VF_SPOOFCHK: {
			const struct ifla_vf_spoofchk *sc = vf_payload(attr, sizeof(*sc));
			if (!sc)
				return -EBADMSG;
			idx = sc->vf;
			/* (u32)-1: the driver does not report it. */
			if (sc->setting != (uint32_t)-1) {
				s.spoofchk = sc->setting;
				s.mask |= VF_BIT(VF_ATTR_SPOOFCHK);
			}
			break;
		}
		case IFLA_VF_TRUST: {
			const struct ifla_vf_trust *t = vf_payload(attr, sizeof(*t));
			if (!t)
				return -EBADMSG;
			idx = t->vf;
			if (t->setting != (uint32_t)-1) {
				s.trust = t->setting;
				s.mask |= VF_BIT(VF_ATTR_TRUST);
			}
			break;
		}
		case IFLA_VF_LINK_STATE: {
			const struct ifla_vf_link_state *l = vf_payload(attr, sizeof(*l));
			if (!l)
				return -EBADMSG;
			idx = l->vf;
			s.link_state = l->link_state;
			s.mask |= VF_BIT(VF_ATTR_LINK_STATE);
			break;
		}
		case IFLA_VF_RATE: {
			const struct ifla_vf_rate *r = vf_payload(attr, sizeof(*r));
			if (!r)
				return -EBADMSG;
			idx = r->vf;
			s.min_tx_rate = r->min_tx_rate;
			s.max_tx_rate = r->max_tx_rate;
			s.mask |= VF_BIT(VF_ATTR_RATE);
			break;
		}
		default:
			break;
		}
	}
	if (idx < 0 || (unsigned long)idx != vf)
		return 0;
	*st = s;
	return 1;
}

int vfnl_parse_vf(const void *msg, size_t len, unsigned vf, struct vf_state *ret, int *ret_num_vf)
{
	const struct nlmsghdr *nlh = msg;
	const struct nlattr *attr, *list = NULL;
	int num_vf = -1;

	if (len < sizeof(*nlh) || nlh->nlmsg_len > len || nlh->nlmsg_type != RTM_NEWLINK ||
	        mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifinfomsg))
		return -EBADMSG;
	mnl_attr_for_each (attr, nlh, sizeof(struct ifinfomsg)) {
		if (mnl_attr_get_type(attr) == IFLA_NUM_VF &&
		        mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			num_vf = mnl_attr_get_u32(attr);
		else if (mnl_attr_get_type(attr) == IFLA_VFINFO_LIST)
			list = attr;
	}
	if (ret_num_vf)
		*ret_num_vf = num_vf;
	if (!list)
		return -ENOENT;
	mnl_attr_for_each_nested (attr, list) {
		int r;
		if (mnl_attr_get_type(attr) != IFLA_VF_INFO)
			continue;
		if ((r = parse_vf_info(attr, vf, ret)) < 0)
			return r;
		if (r == 1)
			return 0;
	}
	return -ENOENT;
}

struct get_ctx {
	unsigned vf;
	struct vf_state *st;
	int found; /* 0 none, 1 found, -ENOENT/-EBADMSG */
	int num_vf;
};

static int get_cb(const struct nlmsghdr *nlh, void *data)
{
	struct get_ctx *c = data;
	int r;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return 0;
	r = vfnl_parse_vf(nlh, nlh->nlmsg_len, c->vf, c->st, &c->num_vf);
	c->found = r == 0 ? 1 : r;
	return r == -EBADMSG ? r : 0;
}

int vfnl_get(struct vfnl *v, int pf_ifindex, const char *pf_name, unsigned vf, struct vf_state *ret,
        struct kb_err *err)
{
	char buf[64] __attribute__((aligned(4))), what[96];
	struct get_ctx c = {.vf = vf, .st = ret, .num_vf = -1};
	struct vf_state tmp;
	int r;

	snprintf(what, sizeof(what), "reading VF %u settings from PF %s", vf, pf_name);
	c.st = &tmp;
	if (!vfnl_build_get(buf, sizeof(buf), nlsock_seq(v->sock), pf_ifindex))
		return kb_err_set(err, EOVERFLOW, "%s: message too large", what);
	if ((r = nlsock_request(v->sock, (struct nlmsghdr *)buf, get_cb, &c, what, err)) < 0)
		return r;
	if (c.found != 1) {
		if (c.num_vf >= 0)
			return kb_err_set(err, ENOENT, "%s: the PF reports %d VFs and no VF %u",
			        what, c.num_vf, vf);
		return kb_err_set(err, ENOENT,
		        "%s: the PF reports no VF information (not an SR-IOV PF?)", what);
	}
	*ret = tmp;
	return 0;
}

int vfnl_set(struct vfnl *v, int pf_ifindex, const char *pf_name, unsigned vf, enum vf_attr a,
        const struct vf_state *st, struct kb_err *err)
{
	char buf[VFNL_SET_MAX] __attribute__((aligned(4))), what[96];

	snprintf(what, sizeof(what), "setting VF %u %s on PF %s", vf, vf_attr_name(a), pf_name);
	if (!vfnl_build_set(buf, sizeof(buf), nlsock_seq(v->sock), pf_ifindex, vf, a, st))
		return kb_err_set(err, EINVAL, "%s: cannot encode", what);
	return nlsock_request(v->sock, (struct nlmsghdr *)buf, NULL, NULL, what, err);
}
