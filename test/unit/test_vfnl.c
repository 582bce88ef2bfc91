/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: VF settings netlink messages (agent/sriov/vfnl.c).
 *
 * The expected bytes are written out here from linux/if_link.h and linux/netlink.h, field by
 * field (nlmsghdr, ifinfomsg, nested IFLA_VFINFO_LIST > IFLA_VF_INFO > IFLA_VF_*, each struct
 * ifla_vf_* with its VF index first), not with libmnl, so an encoding mistake cannot cancel
 * itself out. Replies are likewise hand-built in the kernel's rtnl_fill_vfinfo() layout.
 *
 * As root, the requests also go to the real kernel in a private network namespace, against
 * lo: the kernel parses them with its attribute policy before it finds that lo has no
 * ndo_set_vf_* and answers EOPNOTSUPP, while a malformed attribute is refused earlier with
 * EINVAL/ERANGE - so well-formedness is checked by the kernel's own parser. (Nothing here can
 * apply a setting: that needs an SR-IOV PF.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/netlink/nlsock.h"
#include "agent/sriov/vfnl.h"

/* A byte writer for expected messages: host-order integers, as netlink uses. */
struct w {
	uint8_t b[512];
	size_t n;
};

static void u8(struct w *w, uint8_t v)
{
	w->b[w->n++] = v;
}

static void u16(struct w *w, uint16_t v)
{
	memcpy(w->b + w->n, &v, 2);
	w->n += 2;
}

static void u32(struct w *w, uint32_t v)
{
	memcpy(w->b + w->n, &v, 4);
	w->n += 4;
}

static void zeros(struct w *w, size_t n)
{
	memset(w->b + w->n, 0, n);
	w->n += n;
}

/* struct nlmsghdr (16 bytes) then struct ifinfomsg (16 bytes). */
static void hdr(struct w *w, uint32_t len, uint16_t type, uint32_t seq, int32_t ifindex)
{
	u32(w, len);
	u16(w, type);
	u16(w, NLM_F_REQUEST | NLM_F_ACK);
	u32(w, seq);
	u32(w, 0); /* nlmsg_pid: the kernel fills in */
	u8(w, AF_UNSPEC);
	u8(w, 0);
	u16(w, 0); /* ifi_type */
	u32(w, ifindex);
	u32(w, 0); /* ifi_flags */
	u32(w, 0); /* ifi_change */
}

/* struct nlattr: 2-byte length (header included), 2-byte type. */
static void nla(struct w *w, uint16_t len, uint16_t type)
{
	u16(w, len);
	u16(w, type);
}

/* RTM_SETLINK > IFLA_VFINFO_LIST > IFLA_VF_INFO > (attr of payload_len bytes). */
static void set_prefix(struct w *w, uint32_t seq, int ifindex, uint16_t attr, uint16_t plen)
{
	uint16_t a = 4 + plen;
	hdr(w, 16 + 16 + 4 + 4 + a, RTM_SETLINK, seq, ifindex);
	nla(w, 4 + 4 + a, IFLA_VFINFO_LIST | NLA_F_NESTED);
	nla(w, 4 + a, IFLA_VF_INFO | NLA_F_NESTED);
	nla(w, a, attr);
}

static void expect_set(enum vf_attr at, const struct vf_state *st, const struct w *want)
{
	uint8_t got[512];
	size_t n = vfnl_build_set(got, sizeof(got), 42, 7, 3, at, st);

	assert_int_equal(n, want->n);
	assert_memory_equal(got, want->b, n);
}

static void test_set_mac(void **state)
{
	struct vf_state st = {.mac = {{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee}}};
	struct w w = {0};

	(void)state;
	/* struct ifla_vf_mac { __u32 vf; __u8 mac[32]; }: 36 bytes. */
	assert_int_equal(sizeof(struct ifla_vf_mac), 36);
	set_prefix(&w, 42, 7, IFLA_VF_MAC, 36);
	u32(&w, 3);
	u8(&w, 0x02), u8(&w, 0xaa), u8(&w, 0xbb), u8(&w, 0xcc), u8(&w, 0xdd), u8(&w, 0xee);
	zeros(&w, 26);
	assert_int_equal(w.n, 80);
	expect_set(VF_ATTR_MAC, &st, &w);
}

static void test_set_vlan(void **state)
{
	struct vf_state st = {.vlan = 100, .qos = 5, .proto = VF_PROTO_8021AD};
	struct w w = {0};

	(void)state;
	/* IFLA_VF_VLAN_LIST (nested) > IFLA_VF_VLAN_INFO: struct ifla_vf_vlan_info
	 * { __u32 vf; __u32 vlan; __u32 qos; __be16 vlan_proto; } padded to 16 bytes. */
	assert_int_equal(sizeof(struct ifla_vf_vlan_info), 16);
	set_prefix(&w, 42, 7, IFLA_VF_VLAN_LIST | NLA_F_NESTED, 4 + 16);
	nla(&w, 4 + 16, IFLA_VF_VLAN_INFO);
	u32(&w, 3);
	u32(&w, 100);
	u32(&w, 5);
	u8(&w, 0x88), u8(&w, 0xa8); /* big-endian ETH_P_8021AD */
	zeros(&w, 2);
	expect_set(VF_ATTR_VLAN, &st, &w);

	/* 802.1Q is the default protocol. */
	st = (struct vf_state){.vlan = 4094};
	w.n = 0;
	set_prefix(&w, 42, 7, IFLA_VF_VLAN_LIST | NLA_F_NESTED, 4 + 16);
	nla(&w, 4 + 16, IFLA_VF_VLAN_INFO);
	u32(&w, 3);
	u32(&w, 4094);
	u32(&w, 0);
	u8(&w, 0x81), u8(&w, 0x00);
	zeros(&w, 2);
	expect_set(VF_ATTR_VLAN, &st, &w);
}

static void test_set_flags_and_rates(void **state)
{
	struct vf_state st = {.spoofchk = true,
	        .trust = true,
	        .link_state = VF_LINK_DISABLE,
	        .min_tx_rate = 100,
	        .max_tx_rate = 2500};
	struct w w = {0};

	(void)state;
	/* struct ifla_vf_spoofchk { __u32 vf; __u32 setting; } */
	set_prefix(&w, 42, 7, IFLA_VF_SPOOFCHK, 8);
	u32(&w, 3);
	u32(&w, 1);
	expect_set(VF_ATTR_SPOOFCHK, &st, &w);
	/* struct ifla_vf_trust { __u32 vf; __u32 setting; } */
	w.n = 0;
	set_prefix(&w, 42, 7, IFLA_VF_TRUST, 8);
	u32(&w, 3);
	u32(&w, 1);
	expect_set(VF_ATTR_TRUST, &st, &w);
	/* struct ifla_vf_link_state { __u32 vf; __u32 link_state; }, DISABLE = 2 */
	w.n = 0;
	set_prefix(&w, 42, 7, IFLA_VF_LINK_STATE, 8);
	u32(&w, 3);
	u32(&w, 2);
	expect_set(VF_ATTR_LINK_STATE, &st, &w);
	/* struct ifla_vf_rate { __u32 vf; __u32 min_tx_rate; __u32 max_tx_rate; } */
	w.n = 0;
	set_prefix(&w, 42, 7, IFLA_VF_RATE, 12);
	u32(&w, 3);
	u32(&w, 100);
	u32(&w, 2500);
	expect_set(VF_ATTR_RATE, &st, &w);
	/* off */
	st.spoofchk = st.trust = false;
	w.n = 0;
	set_prefix(&w, 42, 7, IFLA_VF_TRUST, 8);
	u32(&w, 3);
	u32(&w, 0);
	expect_set(VF_ATTR_TRUST, &st, &w);
}

static void test_get(void **state)
{
	uint8_t got[128];
	struct w w = {0};
	size_t n;

	(void)state;
	/* RTM_GETLINK ifindex 9 + IFLA_EXT_MASK (u32) RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS */
	hdr(&w, 16 + 16 + 8, RTM_GETLINK, 5, 9);
	nla(&w, 8, IFLA_EXT_MASK);
	u32(&w, RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS);
	n = vfnl_build_get(got, sizeof(got), 5, 9);
	assert_int_equal(n, w.n);
	assert_memory_equal(got, w.b, n);
	assert_int_equal(vfnl_build_get(got, 20, 5, 9), 0); /* too small */
}

/* ---- replies, in rtnl_fill_vfinfo()'s layout ---- */

static void put_attr(struct w *w, uint16_t type, const void *p, uint16_t len)
{
	nla(w, 4 + len, type);
	memcpy(w->b + w->n, p, len);
	w->n += len;
	zeros(w, ((len + 3) & ~3u) - len);
}

static size_t begin_nest(struct w *w, uint16_t type)
{
	size_t at = w->n;
	nla(w, 0, type);
	return at;
}

static void end_nest(struct w *w, size_t at)
{
	uint16_t len = w->n - at;
	memcpy(w->b + at, &len, 2);
}

/* One VF as the kernel reports it; spoof/trust (u32)-1 = not reported by the driver. */
static void put_vf(struct w *w, uint32_t vf, uint8_t last_mac, uint32_t vlan, uint32_t qos,
        uint16_t proto, uint32_t spoof, uint32_t trust, bool with_list)
{
	struct ifla_vf_mac m = {.vf = vf, .mac = {0x02, 0, 0, 0, 0, last_mac}};
	struct ifla_vf_vlan v = {.vf = vf, .vlan = vlan, .qos = qos};
	struct ifla_vf_vlan_info vi = {
	        .vf = vf, .vlan = vlan, .qos = qos, .vlan_proto = htons(proto)};
	struct ifla_vf_rate r = {.vf = vf, .min_tx_rate = 10, .max_tx_rate = 20 + vf};
	struct ifla_vf_spoofchk s = {.vf = vf, .setting = spoof};
	struct ifla_vf_link_state l = {.vf = vf, .link_state = VF_LINK_ENABLE};
	struct ifla_vf_trust t = {.vf = vf, .setting = trust};
	size_t info = begin_nest(w, IFLA_VF_INFO), list;

	put_attr(w, IFLA_VF_MAC, &m, sizeof(m));
	put_attr(w, IFLA_VF_VLAN, &v, sizeof(v));
	if (with_list) {
		list = begin_nest(w, IFLA_VF_VLAN_LIST);
		put_attr(w, IFLA_VF_VLAN_INFO, &vi, sizeof(vi));
		end_nest(w, list);
	}
	put_attr(w, IFLA_VF_RATE, &r, sizeof(r));
	put_attr(w, IFLA_VF_SPOOFCHK, &s, sizeof(s));
	put_attr(w, IFLA_VF_LINK_STATE, &l, sizeof(l));
	put_attr(w, IFLA_VF_TRUST, &t, sizeof(t));
	end_nest(w, info);
}

static void newlink(struct w *w, int num_vf)
{
	uint32_t n = num_vf;
	hdr(w, 0, RTM_NEWLINK, 1, 9);
	put_attr(w, IFLA_IFNAME, "ens1f0", 7);
	if (num_vf >= 0)
		put_attr(w, IFLA_NUM_VF, &n, 4);
}

static void finish(struct w *w)
{
	uint32_t len = w->n;
	memcpy(w->b, &len, 4);
}

static void test_parse(void **state)
{
	struct vf_state st;
	struct w w = {0};
	size_t list;
	int num;

	(void)state;
	newlink(&w, 3);
	list = begin_nest(&w, IFLA_VFINFO_LIST);
	put_vf(&w, 0, 0x10, 0, 0, 0x8100, 1, 0, true);
	put_vf(&w, 1, 0x11, 100, 3, 0x88a8, 0, 1, true);
	put_vf(&w, 2, 0x12, 5, 1, 0x8100, (uint32_t)-1, (uint32_t)-1, false);
	end_nest(&w, list);
	finish(&w);

	assert_int_equal(vfnl_parse_vf(w.b, w.n, 1, &st, &num), 0);
	assert_int_equal(num, 3);
	assert_int_equal(st.mask, (1u << VF_ATTR_COUNT) - 1);
	assert_int_equal(st.mac.b[5], 0x11);
	assert_int_equal(st.vlan, 100);
	assert_int_equal(st.qos, 3);
	assert_int_equal(st.proto, VF_PROTO_8021AD);
	assert_false(st.spoofchk);
	assert_true(st.trust);
	assert_int_equal(st.link_state, VF_LINK_ENABLE);
	assert_int_equal(st.min_tx_rate, 10);
	assert_int_equal(st.max_tx_rate, 21);

	/* Old kernel (IFLA_VF_VLAN only) and a driver that reports neither spoofchk nor trust. */
	assert_int_equal(vfnl_parse_vf(w.b, w.n, 2, &st, NULL), 0);
	assert_int_equal(st.vlan, 5);
	assert_int_equal(st.qos, 1);
	assert_int_equal(st.proto, VF_PROTO_8021Q);
	assert_false(st.mask & VF_BIT(VF_ATTR_SPOOFCHK));
	assert_false(st.mask & VF_BIT(VF_ATTR_TRUST));
	assert_true(st.mask & VF_BIT(VF_ATTR_RATE));

	/* No such VF. */
	assert_int_equal(vfnl_parse_vf(w.b, w.n, 3, &st, NULL), -ENOENT);

	/* Not a PF (no IFLA_VFINFO_LIST). */
	w.n = 0;
	newlink(&w, -1);
	finish(&w);
	assert_int_equal(vfnl_parse_vf(w.b, w.n, 0, &st, &num), -ENOENT);
	assert_int_equal(num, -1);
}

static void test_parse_malformed(void **state)
{
	struct ifla_vf_mac m = {.vf = 0};
	struct vf_state st;
	struct w w = {0};
	size_t list, info;

	(void)state;
	/* An IFLA_VF_MAC shorter than struct ifla_vf_mac. */
	newlink(&w, 1);
	list = begin_nest(&w, IFLA_VFINFO_LIST);
	info = begin_nest(&w, IFLA_VF_INFO);
	put_attr(&w, IFLA_VF_MAC, &m, 8);
	end_nest(&w, info);
	end_nest(&w, list);
	finish(&w);
	assert_int_equal(vfnl_parse_vf(w.b, w.n, 0, &st, NULL), -EBADMSG);
	/* Truncated message. */
	assert_int_equal(vfnl_parse_vf(w.b, 10, 0, &st, NULL), -EBADMSG);
	/* Wrong type. */
	w.b[4] = RTM_DELLINK;
	assert_int_equal(vfnl_parse_vf(w.b, w.n, 0, &st, NULL), -EBADMSG);
}

/* ---- the real kernel (root, private network namespace) ---- */

static int kernel_child(void)
{
	struct vf_state st = {.mac = {{0x02, 1, 2, 3, 4, 5}},
	        .vlan = 10,
	        .proto = VF_PROTO_8021Q,
	        .spoofchk = true,
	        .trust = true,
	        .link_state = VF_LINK_AUTO,
	        .max_tx_rate = 100};
	struct kb_err err = {0};
	struct nlsock *s;
	struct vfnl *v;
	int lo = 1;

	if (unshare(CLONE_NEWNET) < 0)
		return 77;
	if (vfnl_open("kernel", &v, &err) < 0)
		return 10;
	/* Every well-formed setting reaches the point where lo lacks ndo_set_vf_*. */
	for (enum vf_attr a = 0; a < VF_ATTR_COUNT; a++) {
		kb_err_clear(&err);
		if (vfnl_set(v, lo, "lo", 0, a, &st, &err) != -EOPNOTSUPP) {
			fprintf(stderr, "attr %s: %s\n", vf_attr_name(a), err.msg);
			return 20 + a;
		}
	}
	/* lo is no PF: no VF information comes back. */
	if (vfnl_get(v, lo, "lo", 0, &st, &err) != -ENOENT || !strstr(err.msg, "no VF information"))
		return 30;
	vfnl_close(v);

	/* Negative control: a VF_MAC 8 bytes short is refused by the attribute policy. */
	{
		uint8_t buf[128] __attribute__((aligned(4)));
		size_t n = vfnl_build_set(buf, sizeof(buf), 1, lo, 0, VF_ATTR_MAC, &st);
		struct nlmsghdr *nlh = (void *)buf;
		int r;
		/* shrink the innermost attribute and every length around it by 8 */
		uint16_t *list_len = (uint16_t *)(buf + 32), *info_len = (uint16_t *)(buf + 36),
		         *mac_len = (uint16_t *)(buf + 40);
		*list_len -= 8, *info_len -= 8, *mac_len -= 8;
		nlh->nlmsg_len = n - 8;
		if (nlsock_open_route(&s, &err) < 0)
			return 40;
		nlh->nlmsg_seq = nlsock_seq(s);
		r = nlsock_request(s, nlh, NULL, NULL, "short mac", &err);
		nlsock_close(s);
		if (getenv("VFNL_DEBUG"))
			fprintf(stderr, "short IFLA_VF_MAC -> %d (%s)\n", r, err.msg);
		if (r == -EOPNOTSUPP || r == 0) {
			fprintf(stderr, "short IFLA_VF_MAC: %d %s\n", r, err.msg);
			return 41;
		}
	}
	return 0;
}

static void test_kernel_parses_requests(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	if (geteuid() != 0) {
		print_message("skipped: needs root for a private network namespace\n");
		return;
	}
	/* A child, so that the test process never leaves its namespace. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(kernel_child());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		print_message("skipped: unshare(CLONE_NEWNET) not permitted\n");
		return;
	}
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_open_targets(void **state)
{
	struct kb_err err = {0};
	struct vfnl *v;

	(void)state;
	assert_int_equal(vfnl_open("carrier-pigeon", &v, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unknown VF netlink target"));
	assert_true(vfnl_open("unix:/nonexistent/pfsim.sock", &v, &err) < 0);
	assert_non_null(strstr(err.msg, "/nonexistent/pfsim.sock"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_set_mac),
	        cmocka_unit_test(test_set_vlan),
	        cmocka_unit_test(test_set_flags_and_rates),
	        cmocka_unit_test(test_get),
	        cmocka_unit_test(test_parse),
	        cmocka_unit_test(test_parse_malformed),
	        cmocka_unit_test(test_kernel_parses_requests),
	        cmocka_unit_test(test_open_targets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
