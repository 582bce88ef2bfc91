/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pfsim: stands in for the kernel + SR-IOV PF drivers on the netlink path of VF settings,
 * which needs hardware this test machine does not have (a veth has no ndo_set_vf_*).
 *
 * kbnet-agent with `sriov.pfNetlink: unix:<socket>` sends its RTM_GETLINK / RTM_SETLINK
 * messages here instead of to the kernel, byte for byte. pfsim decodes them on its own
 * (written from linux/if_link.h, sharing no code with the agent's encoder), applies the checks
 * the kernel's rtnetlink (do_setvfinfo, the attribute policy) and the drivers make, keeps the
 * VF settings of the PFs it was given, and answers the way the kernel does: RTM_NEWLINK with
 * IFLA_NUM_VF and IFLA_VFINFO_LIST for a GETLINK with RTEXT_FILTER_VF, then an NLMSG_ERROR
 * acknowledgement (error 0 or -errno).
 *
 * Every request is appended to the log as one JSON line (what was asked, decoded, the result,
 * and the raw bytes), and the VF table is rewritten to the state file after each change, so
 * tests check the sequence of settings and their restore by content.
 *
 * Usage: pfsim --socket PATH --config FILE --log FILE --state FILE
 * (when the state file exists, pfsim starts from it: a restart keeps the VF settings)
 * Config: {"pfs": [{"name": "ens1f0", "numVfs": 4, "minTxRate": true, "qinq": true,
 *          "trust": true, "vfs": [{"mac": "..", "vlan": 0, "qos": 0, "proto": "802.1Q",
 *          "spoofchk": true, "trust": false, "linkState": 0, "minTxRate": 0, "maxTxRate": 0},
 *          ...]}]}  (missing VFs and keys take the drivers' defaults)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_PFS     8
#define MAX_VFS     64
#define MAX_CLIENTS 32

struct vf {
	unsigned char mac[6];
	unsigned vlan, qos;
	unsigned short proto;
	bool spoofchk, trust;
	unsigned link_state;
	unsigned min_rate, max_rate;
};

struct pf {
	char name[IFNAMSIZ];
	int num_vfs;
	bool cap_min_rate, cap_qinq, cap_trust;
	struct vf vfs[MAX_VFS];
};

static struct pf pfs[MAX_PFS];
static int n_pfs;
static const char *log_path, *state_path;
static FILE *log_file;
static unsigned long n_msgs;
static volatile sig_atomic_t stop;

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "pfsim: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(1);
}

static int parse_mac(const char *s, unsigned char *m)
{
	unsigned v[6];

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		m[i] = v[i];
	return 0;
}

static void fmt_mac(const unsigned char *m, char *buf)
{
	sprintf(buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static void load_config(const char *path)
{
	json_error_t je;
	json_t *root = json_load_file(path, 0, &je), *jp;
	size_t i;

	if (!root)
		die("config: %s", je.text);
	json_array_foreach (json_object_get(root, "pfs"), i, jp) {
		struct pf *p = &pfs[n_pfs];
		json_t *jv;
		size_t j;

		if (n_pfs == MAX_PFS)
			die("%s: too many PFs", path);
		snprintf(p->name, sizeof(p->name), "%s",
		        json_string_value(json_object_get(jp, "name")) ?: "");
		p->num_vfs = json_integer_value(json_object_get(jp, "numVfs"));
		if (p->num_vfs < 0 || p->num_vfs > MAX_VFS)
			die("bad numVfs for %s", p->name);
		p->cap_min_rate = !json_is_false(json_object_get(jp, "minTxRate"));
		p->cap_qinq = !json_is_false(json_object_get(jp, "qinq"));
		p->cap_trust = !json_is_false(json_object_get(jp, "trust"));
		for (int k = 0; k < MAX_VFS; k++) {
			p->vfs[k].spoofchk = true;
			p->vfs[k].proto = 0x8100;
		}
		json_array_foreach (json_object_get(jp, "vfs"), j, jv) {
			struct vf *v = &p->vfs[j];
			const char *mac = json_string_value(json_object_get(jv, "mac"));
			const char *proto = json_string_value(json_object_get(jv, "proto"));
			if (j >= MAX_VFS)
				break;
			if (mac && parse_mac(mac, v->mac) < 0)
				die("bad mac %s", mac);
			v->vlan = json_integer_value(json_object_get(jv, "vlan"));
			v->qos = json_integer_value(json_object_get(jv, "qos"));
			v->proto = proto && !strcmp(proto, "802.1ad") ? 0x88a8 : 0x8100;
			if (json_object_get(jv, "spoofchk"))
				v->spoofchk = json_is_true(json_object_get(jv, "spoofchk"));
			v->trust = json_is_true(json_object_get(jv, "trust"));
			v->link_state = json_integer_value(json_object_get(jv, "linkState"));
			v->min_rate = json_integer_value(json_object_get(jv, "minTxRate"));
			v->max_rate = json_integer_value(json_object_get(jv, "maxTxRate"));
		}
		n_pfs++;
	}
	json_decref(root);
}

static void write_state(void)
{
	char tmp[4096];
	json_t *root = json_object(), *arr = json_array();

	for (int i = 0; i < n_pfs; i++) {
		json_t *vfs = json_array();
		for (int k = 0; k < pfs[i].num_vfs; k++) {
			struct vf *v = &pfs[i].vfs[k];
			char mac[18];
			fmt_mac(v->mac, mac);
			json_array_append_new(vfs,
			        json_pack("{s:s, s:i, s:i, s:s, s:b, s:b, s:i, s:i, s:i}", "mac",
			                mac, "vlan", v->vlan, "qos", v->qos, "proto",
			                v->proto == 0x88a8 ? "802.1ad" : "802.1Q", "spoofchk",
			                v->spoofchk, "trust", v->trust, "linkState", v->link_state,
			                "minTxRate", v->min_rate, "maxTxRate", v->max_rate));
		}
		json_array_append_new(arr,
		        json_pack("{s:s, s:i, s:b, s:b, s:b, s:o}", "name", pfs[i].name, "numVfs",
		                pfs[i].num_vfs, "minTxRate", pfs[i].cap_min_rate, "qinq",
		                pfs[i].cap_qinq, "trust", pfs[i].cap_trust, "vfs", vfs));
	}
	json_object_set_new(root, "pfs", arr);
	snprintf(tmp, sizeof(tmp), "%s.tmp", state_path);
	if (json_dump_file(root, tmp, JSON_INDENT(1) | JSON_SORT_KEYS) == 0)
		rename(tmp, state_path);
	json_decref(root);
}

static struct pf *pf_by_ifindex(int ifindex)
{
	char name[IFNAMSIZ];

	/* Resolved per request: the PF netdevs are real interfaces in our namespace. */
	if (ifindex <= 0 || !if_indextoname(ifindex, name))
		return NULL;
	for (int i = 0; i < n_pfs; i++)
		if (!strcmp(pfs[i].name, name))
			return &pfs[i];
	return NULL;
}

/* ---- logging ---- */

static json_t *log_entry(const struct nlmsghdr *nlh, const char *op, const struct pf *p)
{
	const unsigned char *b = (const void *)nlh;
	char *hex = malloc(nlh->nlmsg_len * 2 + 1);
	json_t *e;

	for (unsigned i = 0; hex && i < nlh->nlmsg_len; i++)
		sprintf(hex + 2 * i, "%02x", b[i]);
	e = json_pack("{s:I, s:s, s:s, s:i, s:s}", "n", (json_int_t)++n_msgs, "op", op, "pf",
	        p ? p->name : "?", "ifindex",
	        ((const struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_index, "hex",
	        hex ? hex : "");
	free(hex);
	return e;
}

static void log_write(json_t *e, int result)
{
	char *s;

	json_object_set_new(e, "result", json_integer(result));
	if (result)
		json_object_set_new(e, "error", json_string(strerror(-result)));
	s = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
	if (s) {
		fprintf(log_file, "%s\n", s);
		fflush(log_file);
	}
	free(s);
	json_decref(e);
}

/* ---- replies ---- */

static void send_ack(int fd, const struct nlmsghdr *req, int error)
{
	char buf[8192] __attribute__((aligned(4)));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nlmsgerr *e;

	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_flags = NLM_F_CAPPED;
	nlh->nlmsg_seq = req->nlmsg_seq;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = error;
	e->msg = *req;
	if (send(fd, buf, nlh->nlmsg_len, 0) < 0)
		perror("pfsim: send");
}

static void send_link(
        int fd, const struct nlmsghdr *req, const struct pf *p, int ifindex, bool with_vfs)
{
	static char buf[65536] __attribute__((aligned(4)));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;
	struct nlattr *list;

	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_seq = req->nlmsg_seq;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, p->name);
	if (with_vfs) { /* as rtnl_fill_vf(): only when asked for with RTEXT_FILTER_VF */
		mnl_attr_put_u32(nlh, IFLA_NUM_VF, p->num_vfs);
		list = mnl_attr_nest_start(nlh, IFLA_VFINFO_LIST);
		for (int k = 0; k < p->num_vfs; k++) {
			const struct vf *v = &p->vfs[k];
			struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_VF_INFO), *vl;
			struct ifla_vf_mac m = {.vf = k};
			struct ifla_vf_vlan vv = {.vf = k, .vlan = v->vlan, .qos = v->qos};
			struct ifla_vf_vlan_info vi = {.vf = k,
			        .vlan = v->vlan,
			        .qos = v->qos,
			        .vlan_proto = htons(v->proto)};
			struct ifla_vf_tx_rate tr = {.vf = k, .rate = v->max_rate};
			struct ifla_vf_rate r = {
			        .vf = k, .min_tx_rate = v->min_rate, .max_tx_rate = v->max_rate};
			struct ifla_vf_spoofchk sc = {.vf = k, .setting = v->spoofchk};
			struct ifla_vf_link_state ls = {.vf = k, .link_state = v->link_state};
			struct ifla_vf_trust t = {
			        .vf = k, .setting = p->cap_trust ? v->trust : -1u};

			memcpy(m.mac, v->mac, 6);
			mnl_attr_put(nlh, IFLA_VF_MAC, sizeof(m), &m);
			mnl_attr_put(nlh, IFLA_VF_VLAN, sizeof(vv), &vv);
			vl = mnl_attr_nest_start(nlh, IFLA_VF_VLAN_LIST);
			mnl_attr_put(nlh, IFLA_VF_VLAN_INFO, sizeof(vi), &vi);
			mnl_attr_nest_end(nlh, vl);
			mnl_attr_put(nlh, IFLA_VF_TX_RATE, sizeof(tr), &tr);
			mnl_attr_put(nlh, IFLA_VF_RATE, sizeof(r), &r);
			mnl_attr_put(nlh, IFLA_VF_SPOOFCHK, sizeof(sc), &sc);
			mnl_attr_put(nlh, IFLA_VF_LINK_STATE, sizeof(ls), &ls);
			mnl_attr_put(nlh, IFLA_VF_TRUST, sizeof(t), &t);
			mnl_attr_nest_end(nlh, info);
		}
		mnl_attr_nest_end(nlh, list);
	}
	if (send(fd, buf, nlh->nlmsg_len, 0) < 0)
		perror("pfsim: send");
}

/* ---- requests ---- */

static void do_getlink(int fd, const struct nlmsghdr *nlh)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct pf *p = pf_by_ifindex(ifi->ifi_index);
	json_t *e = log_entry(nlh, "getlink", p);
	const struct nlattr *attr;
	uint32_t mask = 0;

	mnl_attr_for_each (attr, nlh, sizeof(*ifi))
		if (mnl_attr_get_type(attr) == IFLA_EXT_MASK &&
		        mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			mask = mnl_attr_get_u32(attr);
	json_object_set_new(e, "extMask", json_integer(mask));
	if (!p) {
		log_write(e, -ENODEV);
		send_ack(fd, nlh, -ENODEV);
		return;
	}
	send_link(fd, nlh, p, ifi->ifi_index, mask & RTEXT_FILTER_VF);
	log_write(e, 0);
	if (nlh->nlmsg_flags & NLM_F_ACK)
		send_ack(fd, nlh, 0);
}

/* Exactly the length checks of the kernel's ifla_vf_policy (.len = sizeof(struct)). */
static const void *vf_attr(const struct nlattr *a, size_t len)
{
	return mnl_attr_get_payload_len(a) >= len ? mnl_attr_get_payload(a) : NULL;
}

static int check_vf(const struct pf *p, unsigned vf)
{
	return vf < (unsigned)p->num_vfs ? 0 : -EINVAL;
}

/* One IFLA_VF_INFO, in the order of the kernel's do_setvfinfo(). */
static int set_vfinfo(struct pf *p, const struct nlattr *info, json_t *e)
{
	const struct nlattr *tb[IFLA_VF_MAX + 1] = {0}, *a;
	int r, n_attrs = 0;

	mnl_attr_for_each_nested (a, info) {
		int t = mnl_attr_get_type(a);
		if (t > IFLA_VF_MAX)
			continue;
		tb[t] = a;
		n_attrs++;
	}
	json_object_set_new(e, "attrs", json_integer(n_attrs));
	if (tb[IFLA_VF_MAC]) {
		const struct ifla_vf_mac *m = vf_attr(tb[IFLA_VF_MAC], sizeof(*m));
		char mac[18];
		if (!m)
			return -ERANGE;
		fmt_mac(m->mac, mac);
		json_object_set_new(e, "attr", json_string("mac"));
		json_object_set_new(e, "vf", json_integer(m->vf));
		json_object_set_new(e, "mac", json_string(mac));
		if ((r = check_vf(p, m->vf)) < 0)
			return r;
		if (m->mac[0] & 1) /* drivers refuse multicast */
			return -EINVAL;
		memcpy(p->vfs[m->vf].mac, m->mac, 6);
	}
	if (tb[IFLA_VF_VLAN]) {
		const struct ifla_vf_vlan *v = vf_attr(tb[IFLA_VF_VLAN], sizeof(*v));
		if (!v)
			return -ERANGE;
		json_object_set_new(e, "attr", json_string("vlan-legacy"));
		json_object_set_new(e, "vf", json_integer(v->vf));
		if ((r = check_vf(p, v->vf)) < 0)
			return r;
		if (v->vlan > 4095 || v->qos > 7)
			return -EINVAL;
		p->vfs[v->vf].vlan = v->vlan;
		p->vfs[v->vf].qos = v->qos;
		p->vfs[v->vf].proto = 0x8100;
	}
	if (tb[IFLA_VF_VLAN_LIST]) {
		const struct ifla_vf_vlan_info *vi[2];
		int len = 0;
		mnl_attr_for_each_nested (a, tb[IFLA_VF_VLAN_LIST]) {
			if (mnl_attr_get_type(a) != IFLA_VF_VLAN_INFO ||
			        mnl_attr_get_payload_len(a) < sizeof(struct ifla_vf_vlan_info))
				return -EINVAL;
			if (len >= 1) /* MAX_VLAN_LIST_LEN */
				return -EOPNOTSUPP;
			vi[len++] = mnl_attr_get_payload(a);
		}
		if (len == 0)
			return -EINVAL;
		json_object_set_new(e, "attr", json_string("vlan"));
		json_object_set_new(e, "vf", json_integer(vi[0]->vf));
		json_object_set_new(e, "vlan", json_integer(vi[0]->vlan));
		json_object_set_new(e, "qos", json_integer(vi[0]->qos));
		json_object_set_new(e, "proto",
		        json_string(ntohs(vi[0]->vlan_proto) == 0x88a8   ? "802.1ad"
		                    : ntohs(vi[0]->vlan_proto) == 0x8100 ? "802.1Q"
		                                                         : "?"));
		if ((r = check_vf(p, vi[0]->vf)) < 0)
			return r;
		if (vi[0]->vlan > 4095 || vi[0]->qos > 7)
			return -EINVAL;
		if (ntohs(vi[0]->vlan_proto) != 0x8100 &&
		        (ntohs(vi[0]->vlan_proto) != 0x88a8 || !p->cap_qinq))
			return -EPROTONOSUPPORT;
		p->vfs[vi[0]->vf].vlan = vi[0]->vlan;
		p->vfs[vi[0]->vf].qos = vi[0]->qos;
		p->vfs[vi[0]->vf].proto = ntohs(vi[0]->vlan_proto);
	}
	if (tb[IFLA_VF_TX_RATE]) {
		const struct ifla_vf_tx_rate *t = vf_attr(tb[IFLA_VF_TX_RATE], sizeof(*t));
		if (!t)
			return -ERANGE;
		json_object_set_new(e, "attr", json_string("tx_rate-legacy"));
		if ((r = check_vf(p, t->vf)) < 0)
			return r;
		p->vfs[t->vf].max_rate = t->rate;
	}
	if (tb[IFLA_VF_RATE]) {
		const struct ifla_vf_rate *t = vf_attr(tb[IFLA_VF_RATE], sizeof(*t));
		if (!t)
			return -ERANGE;
		json_object_set_new(e, "attr", json_string("rate"));
		json_object_set_new(e, "vf", json_integer(t->vf));
		json_object_set_new(e, "minTxRate", json_integer(t->min_tx_rate));
		json_object_set_new(e, "maxTxRate", json_integer(t->max_tx_rate));
		if ((r = check_vf(p, t->vf)) < 0)
			return r;
		if (t->min_tx_rate && !p->cap_min_rate) /* i40e: "min tx rate not supported" */
			return -EINVAL;
		if (t->max_tx_rate && t->min_tx_rate > t->max_tx_rate)
			return -EINVAL;
		p->vfs[t->vf].min_rate = t->min_tx_rate;
		p->vfs[t->vf].max_rate = t->max_tx_rate;
	}
	if (tb[IFLA_VF_SPOOFCHK]) {
		const struct ifla_vf_spoofchk *s = vf_attr(tb[IFLA_VF_SPOOFCHK], sizeof(*s));
		if (!s)
			return -ERANGE;
		json_object_set_new(e, "attr", json_string("spoofchk"));
		json_object_set_new(e, "vf", json_integer(s->vf));
		json_object_set_new(e, "setting", json_integer(s->setting));
		if ((r = check_vf(p, s->vf)) < 0)
			return r;
		p->vfs[s->vf].spoofchk = s->setting;
	}
	if (tb[IFLA_VF_LINK_STATE]) {
		const struct ifla_vf_link_state *l = vf_attr(tb[IFLA_VF_LINK_STATE], sizeof(*l));
		if (!l)
			return -ERANGE;
		json_object_set_new(e, "attr", json_string("link_state"));
		json_object_set_new(e, "vf", json_integer(l->vf));
		json_object_set_new(e, "linkState", json_integer(l->link_state));
		if ((r = check_vf(p, l->vf)) < 0)
			return r;
		if (l->link_state > IFLA_VF_LINK_STATE_DISABLE)
			return -EINVAL;
		p->vfs[l->vf].link_state = l->link_state;
	}
	if (tb[IFLA_VF_TRUST]) {
		const struct ifla_vf_trust *t = vf_attr(tb[IFLA_VF_TRUST], sizeof(*t));
		if (!t)
			return -ERANGE;
		json_object_set_new(e, "attr", json_string("trust"));
		json_object_set_new(e, "vf", json_integer(t->vf));
		json_object_set_new(e, "setting", json_integer(t->setting));
		if (!p->cap_trust)
			return -EOPNOTSUPP;
		if ((r = check_vf(p, t->vf)) < 0)
			return r;
		p->vfs[t->vf].trust = t->setting;
	}
	return 0;
}

static void do_setlink(int fd, const struct nlmsghdr *nlh)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct pf *p = pf_by_ifindex(ifi->ifi_index);
	json_t *e = log_entry(nlh, "setlink", p);
	const struct nlattr *attr;
	int r = 0, n_info = 0;

	if (!p) {
		r = -ENODEV;
		goto out;
	}
	mnl_attr_for_each (attr, nlh, sizeof(*ifi)) {
		const struct nlattr *info;
		if (mnl_attr_get_type(attr) != IFLA_VFINFO_LIST) {
			r = -EOPNOTSUPP; /* this stand-in only does VF settings */
			goto out;
		}
		json_object_set_new(e, "nested", json_boolean(attr->nla_type & NLA_F_NESTED));
		mnl_attr_for_each_nested (info, attr) {
			if (mnl_attr_get_type(info) != IFLA_VF_INFO) {
				r = -EINVAL;
				goto out;
			}
			n_info++;
			if ((r = set_vfinfo(p, info, e)) < 0)
				goto out;
		}
	}
	json_object_set_new(e, "vfInfos", json_integer(n_info));
	write_state();
out:
	log_write(e, r);
	if (nlh->nlmsg_flags & NLM_F_ACK || r)
		send_ack(fd, nlh, r);
}

static void handle(int fd, char *buf, int len)
{
	struct nlmsghdr *nlh;

	for (nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, len);
	        nlh = mnl_nlmsg_next(nlh, &len)) {
		if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifinfomsg)) {
			send_ack(fd, nlh, -EINVAL);
			continue;
		}
		switch (nlh->nlmsg_type) {
		case RTM_GETLINK:
			do_getlink(fd, nlh);
			break;
		case RTM_SETLINK:
			do_setlink(fd, nlh);
			break;
		default:
			send_ack(fd, nlh, -EOPNOTSUPP);
		}
	}
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"socket", required_argument, NULL, 's'},
	        {"config", required_argument, NULL, 'c'}, {"log", required_argument, NULL, 'l'},
	        {"state", required_argument, NULL, 't'}, {0}};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct pollfd pfd[1 + MAX_CLIENTS];
	const char *sock = NULL, *config = NULL;
	int c, lfd, n_fds = 1;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sock = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'l':
			log_path = optarg;
			break;
		case 't':
			state_path = optarg;
			break;
		default:
			return 2;
		}
	}
	if (!sock || !config || !log_path || !state_path)
		die("%s", "usage: pfsim --socket PATH --config FILE --log FILE --state FILE");
	/* A restart keeps the VF table, as the hardware would: the state file wins. */
	load_config(access(state_path, F_OK) == 0 ? state_path : config);
	if (!(log_file = fopen(log_path, "a+")))
		die("cannot open %s", log_path);
	/* After a restart, number on from the requests already logged. */
	rewind(log_file);
	for (int ch; (ch = fgetc(log_file)) != EOF;)
		n_msgs += ch == '\n';
	write_state();
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (strlen(sock) >= sizeof(sa.sun_path))
		die("socket path too long: %s", sock);
	strcpy(sa.sun_path, sock);
	unlink(sock);
	if ((lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0 ||
	        bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 16) < 0)
		die("cannot listen on %s", sock);
	pfd[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
	while (!stop) {
		if (poll(pfd, n_fds, 500) < 0)
			continue;
		if ((pfd[0].revents & POLLIN) && n_fds < 1 + MAX_CLIENTS) {
			int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (cfd >= 0)
				pfd[n_fds++] = (struct pollfd){.fd = cfd, .events = POLLIN};
		}
		for (int i = 1; i < n_fds; i++) {
			static char buf[65536] __attribute__((aligned(4)));
			ssize_t n;
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = recv(pfd[i].fd, buf, sizeof(buf), 0);
			if (n <= 0) {
				close(pfd[i].fd);
				pfd[i--] = pfd[--n_fds];
				continue;
			}
			handle(pfd[i].fd, buf, n);
		}
	}
	unlink(sock);
	fclose(log_file);
	return 0;
}
