/* SPDX-License-Identifier: Apache-2.0 */
/*
 * VF administrative settings through the PF (rtnetlink IFLA_VFINFO_LIST, linux/if_link.h):
 * read a VF's current settings with RTM_GETLINK + RTEXT_FILTER_VF, change one setting per
 * RTM_SETLINK so that every change is acknowledged (or refused) on its own and can be undone
 * precisely. The channel is the kernel, or a PF stand-in on a Unix socket (tests: see
 * test/tools/pfsim), given as "kernel" or "unix:<path>".
 */
#ifndef KB_VFNL_H
#define KB_VFNL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/mac.h"

/* One bit per setting; the order is the order settings are applied in. */
enum vf_attr {
	VF_ATTR_MAC,        /* IFLA_VF_MAC: administrative MAC */
	VF_ATTR_VLAN,       /* IFLA_VF_VLAN_LIST/IFLA_VF_VLAN_INFO: vlan, qos, proto */
	VF_ATTR_SPOOFCHK,   /* IFLA_VF_SPOOFCHK */
	VF_ATTR_TRUST,      /* IFLA_VF_TRUST */
	VF_ATTR_LINK_STATE, /* IFLA_VF_LINK_STATE */
	VF_ATTR_RATE,       /* IFLA_VF_RATE: min and max tx rate, Mbit/s */
	VF_ATTR_COUNT,
};
#define VF_BIT(a) (1u << (a))

/* IFLA_VF_LINK_STATE_* values. */
enum vf_link_state { VF_LINK_AUTO = 0, VF_LINK_ENABLE = 1, VF_LINK_DISABLE = 2 };

#define VF_VLAN_MAX     4094
#define VF_QOS_MAX      7
#define VF_PROTO_8021Q  0x8100
#define VF_PROTO_8021AD 0x88a8

/* A VF's settings: `mask` says which members hold a value (read from the PF, or wanted). */
struct vf_state {
	unsigned mask;
	struct mac mac;
	uint32_t vlan, qos;
	uint16_t proto; /* host order: VF_PROTO_8021Q or VF_PROTO_8021AD */
	bool spoofchk;
	bool trust;
	uint32_t link_state;
	uint32_t min_tx_rate, max_tx_rate;
};

const char *vf_attr_name(enum vf_attr a); /* "mac", "vlan", ... */

struct vfnl;

/* target: "kernel" (or NULL) for rtnetlink in the agent's namespace, "unix:<path>" for a
 * stand-in. */
int vfnl_open(const char *target, struct vfnl **ret, struct kb_err *err);
void vfnl_close(struct vfnl *v);

/* Current settings of VF `vf` of the PF with ifindex pf_ifindex. -ENOENT when the PF reports
 * no such VF (e.g. not a PF at all). */
int vfnl_get(struct vfnl *v, int pf_ifindex, const char *pf_name, unsigned vf, struct vf_state *ret,
        struct kb_err *err);
/* Apply setting `a` from st. */
int vfnl_set(struct vfnl *v, int pf_ifindex, const char *pf_name, unsigned vf, enum vf_attr a,
        const struct vf_state *st, struct kb_err *err);

/* The messages themselves (the unit tests check them byte by byte). Return the message
 * length, or 0 when buf is too small. */
size_t vfnl_build_set(void *buf, size_t size, uint32_t seq, int pf_ifindex, unsigned vf,
        enum vf_attr a, const struct vf_state *st);
size_t vfnl_build_get(void *buf, size_t size, uint32_t seq, int pf_ifindex);
/* Find VF `vf` in an RTM_NEWLINK message. 0 and *ret filled, -ENOENT when absent,
 * -EBADMSG when malformed. *ret_num_vf (if non-NULL) gets IFLA_NUM_VF or -1. */
int vfnl_parse_vf(const void *msg, size_t len, unsigned vf, struct vf_state *ret, int *ret_num_vf);

#endif
