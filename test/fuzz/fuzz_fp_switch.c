/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fast path's switch decisions on raw frames (agent/fastpath/fp_switch.[ch], DPDK-free):
 * table building from port descriptions and the per-frame verdicts from pods and from the
 * uplink. Input: byte 0 = number of extra pod ports (low 3 bits), each described by 10 bytes
 * (slot, MAC, MTU/64, network, VLAN/16) and added to the unit tests' table (uplink 0, pods
 * 1-5 in red/blue/green); then frames: input slot, 2-byte little-endian length, bytes. Each
 * frame sits in a buffer of exactly its length, so any read past it is caught. Verdicts are
 * checked against the table: unicast goes to a pod of the input's domain that has the
 * destination MAC, never back to the input; floods name a real domain.
 */
#include "fuzz.h"

#include "agent/fastpath/fp_switch.h"

#define MAX_PORTS 16

static const char *const nets[] = {"red", "blue", "green", "violet"};
static const struct fp_port_desc base[] = {
        {.slot = 0, .kind = FP_PORT_UPLINK, .mtu = 1500, .queues = 1},
        {.slot = 1,
                .kind = FP_PORT_VHOST,
                .mac = {2, 0, 0, 0, 0, 1},
                .mtu = 1500,
                .network = "red",
                .vlan = 100,
                .queues = 2},
        {.slot = 2,
                .kind = FP_PORT_VHOST,
                .mac = {2, 0, 0, 0, 0, 2},
                .mtu = 1000,
                .network = "red",
                .vlan = 100,
                .queues = 1},
        {.slot = 3,
                .kind = FP_PORT_VHOST,
                .mac = {2, 0, 0, 0, 0, 3},
                .mtu = 1500,
                .network = "red",
                .vlan = 100,
                .queues = 1},
        {.slot = 4,
                .kind = FP_PORT_VHOST,
                .mac = {2, 0, 0, 0, 0, 4},
                .mtu = 1500,
                .network = "blue",
                .vlan = FP_VLAN_NONE,
                .queues = 1},
        {.slot = 5,
                .kind = FP_PORT_VHOST,
                .mac = {2, 0, 0, 0, 0, 5},
                .mtu = 9000,
                .network = "green",
                .vlan = 200,
                .queues = 1},
};

static void check_unicast(
        const struct fp_table *t, uint16_t out, uint16_t domain, const uint8_t *frame, uint16_t in)
{
	if (out >= t->n_slots || t->slots[out].kind != FP_PORT_VHOST ||
	        t->slots[out].domain != domain || out == in ||
	        (fp_frame_mac(frame) & FP_MAC_MASK) != t->slots[out].mac)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fp_port_desc ports[MAX_PORTS];
	struct fp_table *t = NULL;
	struct kb_err err = {0};
	size_t n = sizeof(base) / sizeof(base[0]), extra;

	if (size < 1 || size > 65536)
		return 0;
	memcpy(ports, base, sizeof(base));
	extra = data[0] & 7;
	data++;
	size--;
	for (size_t i = 0; i < extra && size >= 10; i++, data += 10, size -= 10) {
		struct fp_port_desc *p = &ports[n++];
		*p = (struct fp_port_desc){.slot = data[0] % 12,
		        .kind = FP_PORT_VHOST,
		        .mtu = data[7] * 64u,
		        .network = nets[data[8] % 4],
		        .vlan = data[9] ? data[9] * 16 : FP_VLAN_NONE,
		        .queues = 1};
		memcpy(p->mac, data + 1, 6);
	}
	/* The base table is built once: most inputs only bring frames. */
	static struct fp_table *base_table;
	if (n == sizeof(base) / sizeof(base[0]) && base_table) {
		t = base_table;
	} else if (fp_table_build(ports, n, 2, &t, &err) < 0) {
		if (!err.msg[0])
			abort();
		return 0;
	} else if (n == sizeof(base) / sizeof(base[0])) {
		base_table = t;
	}
	while (size >= 3) {
		uint16_t in = data[0] % t->n_slots, out = FP_SLOT_NONE, domain = FP_DOMAIN_NONE;
		size_t len = data[1] | data[2] << 8;
		enum fp_verdict v;
		uint8_t *frame;
		bool tagged;

		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		if (!(frame = malloc(len ? len : 1)))
			abort();
		memcpy(frame, data, len);
		data += len;
		size -= len;
		if (t->slots[in].kind == FP_PORT_VHOST) {
			struct fp_slot s = t->slots[in];
			v = fp_switch_from_pod(t, in, &s, frame, len, &out);
			if (v == FP_FWD_UNICAST)
				check_unicast(t, out, s.domain, frame, in);
			if (v == FP_FWD_UPLINK && t->uplink == FP_SLOT_NONE)
				abort();
		} else if (t->slots[in].kind == FP_PORT_UPLINK) {
			v = fp_switch_from_uplink(t, frame, len, &domain, &tagged, &out);
			if ((v == FP_FWD_UNICAST || v == FP_FWD_FLOOD) && domain >= t->n_domains)
				abort();
			if (v == FP_FWD_UNICAST) {
				check_unicast(t, out, domain, frame, in);
				fp_fits(t, out, tagged ? len - FP_VLAN_HLEN : len);
			}
			if (v == FP_FWD_FLOOD && tagged &&
			        t->domains[domain].vlan != (((frame[14] << 8) | frame[15]) & 0xfff))
				abort();
		} else {
			v = FP_DROP_UNKNOWN;
		}
		if (!fp_verdict_name(v))
			abort();
		free(frame);
	}
	if (t != base_table)
		fp_table_free(t);
	return 0;
}
