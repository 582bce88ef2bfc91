/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/fastpath/fp_switch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *fp_verdict_name(enum fp_verdict v)
{
	switch (v) {
	case FP_FWD_UNICAST:
		return "unicast";
	case FP_FWD_FLOOD:
		return "flood";
	case FP_FWD_UPLINK:
		return "uplink";
	case FP_DROP_SPOOF:
		return "spoof";
	case FP_DROP_OVERSIZE:
		return "oversize";
	case FP_DROP_UNKNOWN:
		return "unknown";
	case FP_DROP_RUNT:
		return "runt";
	case FP_DROP_VLAN:
		return "vlan";
	}
	return "?";
}

void fp_table_free(struct fp_table *t)
{
	if (!t)
		return;
	for (uint16_t i = 0; i < t->n_domains; i++)
		free(t->domains[i].members);
	for (uint16_t w = 0; t->rx && w < t->n_workers; w++)
		free(t->rx[w].q);
	free(t->rx);
	free(t->domains);
	free(t->slots);
	free(t->fdb);
	free(t);
}

void fp_assign_queues(unsigned *load, uint16_t n_workers, uint16_t nq, uint8_t *ret)
{
	for (uint16_t q = 0; q < nq; q++) {
		uint16_t best = 0;
		for (uint16_t w = 1; w < n_workers; w++)
			if (load[w] < load[best])
				best = w;
		/* Counting each queue at once spreads one port's queues over distinct workers
		 * when the loads are even. */
		ret[q] = best;
		load[best]++;
	}
}

void fp_release_queues(unsigned *load, uint16_t n_workers, uint16_t nq, const uint8_t *workers)
{
	for (uint16_t q = 0; q < nq; q++)
		if (workers[q] < n_workers && load[workers[q]] > 0)
			load[workers[q]]--;
}

static int domain_of(struct fp_table *t, const struct fp_port_desc *p, struct kb_err *err)
{
	const char *network = p->network;

	for (uint16_t i = 0; i < t->n_domains; i++)
		if (strcmp(t->domains[i].network, network) == 0)
			return i;
	if (strlen(network) >= sizeof(t->domains[0].network))
		return kb_err_set(err, EINVAL, "network name '%s' too long", network);
	struct fp_domain *d = &t->domains[t->n_domains];
	strcpy(d->network, network);
	/* The first pod of a network sets its tag; the netconf is shared, so later ones agree. */
	d->vlan = p->vlan;
	d->pcp = p->pcp & 7;
	if (p->trunk) {
		d->has_trunk = true;
		memcpy(d->trunk, p->trunk, sizeof(d->trunk));
	}
	return t->n_domains++;
}

static void fdb_insert(struct fp_table *t, uint16_t domain, uint64_t mac, uint16_t slot)
{
	uint64_t key = mac | (uint64_t)(domain + 1) << 48;
	uint32_t i = fp_fdb_hash(key) & t->fdb_mask;

	while (t->fdb[i].key && t->fdb[i].key != key)
		i = (i + 1) & t->fdb_mask;
	/* A duplicate MAC in one domain: the first port keeps it (lowest slot, deterministic). */
	if (t->fdb[i].key == key)
		return;
	t->fdb[i].key = key;
	t->fdb[i].slot = slot;
}

int fp_table_build(const struct fp_port_desc *ports, size_t n, uint16_t n_workers,
        struct fp_table **ret, struct kb_err *err)
{
	struct fp_table *t;
	size_t fdb_size = 16, n_rxq = 0, w = 0;
	uint16_t max_slot = 0;
	int r = -EINVAL; /* set on every path to fail; gcc -O1 cannot tell */

	if (n_workers == 0)
		return kb_err_set(err, EINVAL, "no workers");
	if (!(t = calloc(1, sizeof(*t))))
		return kb_err_set(err, ENOMEM, "out of memory");
	t->uplink = FP_SLOT_NONE;
	t->untagged_domain = FP_DOMAIN_NONE;
	for (size_t i = 0; i < 4096; i++)
		t->vlan_domain[i] = FP_DOMAIN_NONE;
	for (size_t i = 0; i < n; i++) {
		if (ports[i].slot == FP_SLOT_NONE) {
			r = kb_err_set(err, EINVAL, "bad slot");
			goto fail;
		}
		if (ports[i].slot >= max_slot)
			max_slot = ports[i].slot + 1;
		n_rxq += ports[i].queues ? ports[i].queues : 1;
	}
	while (fdb_size < 2 * n + 2)
		fdb_size *= 2;
	t->n_slots = max_slot;
	t->n_workers = n_workers;
	t->fdb_mask = fdb_size - 1;
	if (!(t->slots = calloc(max_slot ? max_slot : 1, sizeof(*t->slots))) ||
	        !(t->domains = calloc(n ? n : 1, sizeof(*t->domains))) ||
	        !(t->fdb = calloc(fdb_size, sizeof(*t->fdb))) ||
	        !(t->rx = calloc(n_workers, sizeof(*t->rx)))) {
		r = kb_err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	for (uint16_t i = 0; i < n_workers; i++)
		if (!(t->rx[i].q = calloc(n_rxq ? n_rxq : 1, sizeof(*t->rx[i].q)))) {
			r = kb_err_set(err, ENOMEM, "out of memory");
			goto fail;
		}

	for (size_t i = 0; i < n; i++) {
		const struct fp_port_desc *p = &ports[i];
		struct fp_slot *s = &t->slots[p->slot];

		if (s->kind != FP_PORT_UNUSED) {
			r = kb_err_set(err, EEXIST, "slot %u used twice", p->slot);
			goto fail;
		}
		s->kind = p->kind;
		s->max_len = p->mtu + FP_ETH_HLEN;
		s->domain = FP_DOMAIN_NONE;
		if (p->kind == FP_PORT_UPLINK) {
			if (t->uplink != FP_SLOT_NONE) {
				r = kb_err_set(err, EEXIST, "two uplinks");
				goto fail;
			}
			t->uplink = p->slot;
			t->uplink_max_len = s->max_len;
		} else {
			if (!p->network) {
				r = kb_err_set(err, EINVAL, "pod port without network");
				goto fail;
			}
			if ((r = domain_of(t, p, err)) < 0)
				goto fail;
			s->domain = r;
			s->mac = fp_mac_key(p->mac);
		}
		/* Each receive queue on the worker the control plane placed it on (stable, see
		 * fp_assign_queues); round-robin without a placement. */
		for (uint16_t q = 0; q < (p->queues ? p->queues : 1); q++) {
			struct fp_worker_rx *wr;
			if (p->workers && p->workers[q] >= n_workers) {
				r = kb_err_set(err, EINVAL, "slot %u queue %u: no worker %u",
				        p->slot, q, p->workers[q]);
				goto fail;
			}
			wr = &t->rx[p->workers ? p->workers[q] : w++ % n_workers];
			wr->q[wr->n].slot = p->slot;
			wr->q[wr->n++].queue = q;
		}
	}
	/* Members and FDB in slot order, so that the result does not depend on the input order. */
	for (uint16_t s = 0; s < t->n_slots; s++) {
		struct fp_domain *d;
		if (t->slots[s].kind != FP_PORT_VHOST && t->slots[s].kind != FP_PORT_TAP)
			continue;
		d = &t->domains[t->slots[s].domain];
		if (!d->members && !(d->members = calloc(n, sizeof(*d->members)))) {
			r = kb_err_set(err, ENOMEM, "out of memory");
			goto fail;
		}
		d->members[d->n_members++] = s;
		fdb_insert(t, t->slots[s].domain, t->slots[s].mac, s);
	}
	for (uint16_t i = 0; i < t->n_domains; i++) {
		int v = t->domains[i].vlan;
		uint16_t *m = v == FP_VLAN_NONE ? &t->untagged_domain : &t->vlan_domain[v & 0xfff];
		if (*m == FP_DOMAIN_NONE)
			*m = i;
		else
			t->vlan_conflicts++;
	}
	/* Trunked VLANs: the uplink's frames of such a VLAN go to the domain, tag kept. A VLAN
	 * that is some network's own stays that network's. */
	for (uint16_t i = 0; i < t->n_domains; i++) {
		const struct fp_domain *d = &t->domains[i];
		if (!d->has_trunk)
			continue;
		for (unsigned v = 1; v < 4095; v++) {
			if (!fp_bit(d->trunk, v))
				continue;
			if (t->vlan_domain[v] == FP_DOMAIN_NONE) {
				t->vlan_domain[v] = i;
				t->vlan_keep[v >> 3] |= 1u << (v & 7);
			} else if (t->vlan_domain[v] != i) {
				t->vlan_conflicts++;
			}
		}
	}
	*ret = t;
	return 0;
fail:
	fp_table_free(t);
	return r;
}
