/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/sriov/podnet.h"
#include "agent/sriov/pci.h"
#include "common/crashpoint.h"
#include "common/str.h"
#include "common/validate.h"
#include "lib/netlink/netns.h"
#include "lib/netlink/nllink.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Sockets and namespace fds of one operation. */
struct ctx {
	int host_fd, pod_fd;
	struct nlsock *host, *pod;
};

static void ctx_close(struct ctx *c)
{
	nlsock_close(c->host);
	nlsock_close(c->pod);
	if (c->host_fd >= 0)
		close(c->host_fd);
	if (c->pod_fd >= 0)
		close(c->pod_fd);
}

static int open_host(struct ctx *c, struct kb_err *err)
{
	int r;

	if ((r = netns_open_self(&c->host_fd, err)) < 0)
		return r;
	return nlsock_open_route(&c->host, err);
}

static int open_pod(struct ctx *c, const char *netns, struct kb_err *err)
{
	int r;

	if ((r = netns_open(netns, &c->pod_fd, err)) < 0)
		return r;
	return netns_route_in(c->pod_fd, &c->pod, err);
}

/* Put the netdev (now in the namespace of `s`, index ifindex) back to its original name, MAC,
 * MTU and admin state, as far as they differ. */
static int restore_in_place(
        struct nlsock *s, int ifindex, const struct podnet *pn, bool restore_up, struct kb_err *err)
{
	struct nllink_change c = NLLINK_CHANGE_INIT;
	struct nllink_info li;
	int r;

	if ((r = nllink_get(s, ifindex, NULL, &li, err)) < 0)
		return r;
	if (li.up) {
		c.up = 0;
		if ((r = nllink_set(s, ifindex, &c, err)) < 0)
			return r;
	}
	c = (struct nllink_change)NLLINK_CHANGE_INIT;
	if (memcmp(&li.mac, &pn->orig_mac, sizeof(li.mac)) && !mac_is_zero(&pn->orig_mac))
		c.mac = &pn->orig_mac;
	if (li.mtu != pn->orig_mtu && pn->orig_mtu > 0)
		c.mtu = pn->orig_mtu;
	if ((c.mac || c.mtu) && (r = nllink_set(s, ifindex, &c, err)) < 0)
		return r;
	if (restore_up && pn->orig_up) {
		c = (struct nllink_change)NLLINK_CHANGE_INIT;
		c.up = 1;
		if ((r = nllink_set(s, ifindex, &c, err)) < 0)
			return r;
	}
	return 0;
}

/*
 * Move the (down) netdev from the pod back to the agent's namespace under its original name.
 * The rename happens in the pod first so that the name we look for afterwards is known; when
 * the original name is taken on the host, kbr<ifindex> is used instead and *warn says so.
 */
static int move_back(struct ctx *c, const struct podnet *pn, int *ret_ifindex, struct kb_err *warn,
        struct kb_err *err)
{
	char fallback[IFNAMSIZ];
	const char *names[2] = {pn->orig_name, fallback};
	struct nllink_change ch;
	struct nllink_info li;
	size_t i;
	int r = -EEXIST;

	snprintf(fallback, sizeof(fallback), "kbr%d", pn->pod_ifindex);
	for (i = 0; i < 2; i++) {
		ch = (struct nllink_change)NLLINK_CHANGE_INIT;
		ch.name = names[i];
		if ((r = nllink_set(c->pod, pn->pod_ifindex, &ch, err)) == -EEXIST)
			continue; /* the pod has its own interface of that name */
		if (r < 0)
			return r;
		ch = (struct nllink_change)NLLINK_CHANGE_INIT;
		ch.netns_fd = c->host_fd;
		if ((r = nllink_set(c->pod, pn->pod_ifindex, &ch, err)) != -EEXIST)
			break;
	}
	if (r < 0)
		return kb_err_prefix(err, "moving %s back to the host namespace", pn->orig_name);
	kb_err_clear(err);
	if ((r = nllink_get(c->host, 0, names[i], &li, err)) < 0)
		return kb_err_prefix(err, "netdev %s vanished after moving back", names[i]);
	if (i == 1)
		kb_err_set(warn, EEXIST,
		        "the name %s is taken in the host namespace: the netdev came back as %s",
		        pn->orig_name, fallback);
	*ret_ifindex = li.ifindex;
	return 0;
}

int podnet_attach(const struct podnet_req *req, struct podnet *pn, struct mac *ret_mac,
        int *ret_mtu, struct kb_err *err)
{
	struct ctx c = {.host_fd = -1, .pod_fd = -1};
	struct nllink_change ch = NLLINK_CHANGE_INIT;
	struct nllink_info li;
	struct kb_err e2 = {0};
	int r;

	memset(pn, 0, sizeof(*pn));
	if (!req->netns || !*req->netns)
		return kb_err_set(err, EINVAL, "a network namespace (netns) is needed to move %s",
		        req->host_name);
	if ((r = open_host(&c, err)) < 0)
		goto out;
	if ((r = nllink_get(c.host, 0, req->host_name, &li, err)) < 0) {
		kb_err_prefix(err, "netdev %s is not in the host namespace", req->host_name);
		goto out;
	}
	str_copy(pn->orig_name, sizeof(pn->orig_name), li.name);
	pn->host_ifindex = li.ifindex;
	pn->orig_mac = li.mac;
	pn->orig_mtu = li.mtu;
	pn->orig_up = li.up;
	if ((r = open_pod(&c, req->netns, err)) < 0)
		goto out;
	if (nllink_get(c.pod, 0, req->ifname, &li, &e2) == 0) {
		r = kb_err_set(
		        err, EEXIST, "the pod namespace already has an interface %s", req->ifname);
		goto out;
	}
	if (pn->orig_up) {
		ch.up = 0;
		if ((r = nllink_set(c.host, pn->host_ifindex, &ch, err)) < 0)
			goto out;
	}
	if (req->before_move && (r = req->before_move(pn, req->arg, err)) < 0)
		goto undo_up;
	/* One request moves and renames: the name is never visible in the wrong namespace. */
	ch = (struct nllink_change)NLLINK_CHANGE_INIT;
	ch.netns_fd = c.pod_fd;
	ch.name = req->ifname;
	if ((r = nllink_set(c.host, pn->host_ifindex, &ch, err)) < 0)
		goto undo_up;
	pn->moved = true;
	crashpoint_hit("agent-netdev-moved");
	if ((r = nllink_get(c.pod, 0, req->ifname, &li, err)) < 0)
		goto undo;
	pn->pod_ifindex = li.ifindex;
	ch = (struct nllink_change)NLLINK_CHANGE_INIT;
	ch.mac = req->mac;
	ch.mtu = req->mtu;
	if ((ch.mac || ch.mtu) && (r = nllink_set(c.pod, pn->pod_ifindex, &ch, err)) < 0)
		goto undo;
	ch = (struct nllink_change)NLLINK_CHANGE_INIT;
	ch.up = 1;
	if ((r = nllink_set(c.pod, pn->pod_ifindex, &ch, err)) < 0 ||
	        (r = nllink_get(c.pod, pn->pod_ifindex, NULL, &li, err)) < 0)
		goto undo;
	*ret_mac = li.mac;
	*ret_mtu = li.mtu;
	ctx_close(&c);
	return 0;

undo:
	if (pn->pod_ifindex) {
		int ifindex;
		if (restore_in_place(c.pod, pn->pod_ifindex, pn, false, &e2) == 0 &&
		        move_back(&c, pn, &ifindex, &e2, &e2) == 0 &&
		        restore_in_place(c.host, ifindex, pn, true, &e2) == 0)
			pn->moved = false;
	} else {
		/* Moved but not found under the new name: look for it the slow way. */
		ctx_close(&c);
		c = (struct ctx){.host_fd = -1, .pod_fd = -1};
		if (podnet_detach(pn, req->netns, req->ifname, NULL, &e2) == 0)
			pn->moved = false;
	}
	if (pn->moved)
		kb_err_prefix(err, "(and undoing failed: %s)", e2.msg);
	goto out;
undo_up:
	if (pn->orig_up) {
		ch = (struct nllink_change)NLLINK_CHANGE_INIT;
		ch.up = 1;
		nllink_set(c.host, pn->host_ifindex, &ch, &e2);
	}
out:
	ctx_close(&c);
	return r;
}

/* Look for the netdev in the agent's namespace: listed under the parent device in sysfs
 * (authoritative on a real system), or under a name the kernel would have given it when its
 * namespace died, with the ifindex we recorded. */
static int find_in_host(struct ctx *c, const struct podnet *pn, const char *ifname,
        const char *dev_dir, struct nllink_info *ret)
{
	char cands[PCI_MAX_NETDEVS + 4][IFNAMSIZ];
	size_t n_sysfs = 0, n = 0;
	struct kb_err e = {0};

	if (dev_dir)
		n_sysfs = n = pci_netdevs(dev_dir, cands, PCI_MAX_NETDEVS);
	if (ifname)
		str_copy(cands[n++], IFNAMSIZ, ifname);
	str_copy(cands[n++], IFNAMSIZ, pn->orig_name);
	if (pn->pod_ifindex > 0)
		snprintf(cands[n++], IFNAMSIZ, "dev%d", pn->pod_ifindex);
	for (size_t i = 0; i < n; i++) {
		struct nllink_info li;
		if (!cands[i][0] || nllink_get(c->host, 0, cands[i], &li, &e) < 0)
			continue;
		if (i < n_sysfs || li.ifindex == pn->pod_ifindex ||
		        (li.ifindex == pn->host_ifindex && !strcmp(li.name, pn->orig_name))) {
			*ret = li;
			return 0;
		}
	}
	return -ENODEV;
}

int podnet_detach(struct podnet *pn, const char *netns, const char *ifname, const char *dev_dir,
        struct kb_err *err)
{
	struct ctx c = {.host_fd = -1, .pod_fd = -1};
	struct nllink_change ch = NLLINK_CHANGE_INIT;
	struct kb_err e2 = {0}, warn = {0};
	struct nllink_info li;
	int r, ifindex = -1;

	if (!pn->moved)
		return 0;
	if ((r = open_host(&c, err)) < 0)
		goto out;
	if (netns && *netns && open_pod(&c, netns, &e2) == 0 &&
	        nllink_get(c.pod, pn->pod_ifindex, NULL, &li, &e2) == 0) {
		if ((r = restore_in_place(c.pod, pn->pod_ifindex, pn, false, err)) < 0 ||
		        (r = move_back(&c, pn, &ifindex, &warn, err)) < 0)
			goto out;
	} else if (find_in_host(&c, pn, ifname, dev_dir, &li) == 0) {
		/* The pod namespace is gone and the kernel returned the netdev to us. */
		ifindex = li.ifindex;
		if (strcmp(li.name, pn->orig_name)) {
			if (li.up) {
				ch.up = 0;
				if ((r = nllink_set(c.host, ifindex, &ch, err)) < 0)
					goto out;
			}
			ch = (struct nllink_change)NLLINK_CHANGE_INIT;
			ch.name = pn->orig_name;
			if (nllink_set(c.host, ifindex, &ch, &e2) < 0)
				kb_err_set(&warn, EEXIST,
				        "netdev %s could not get its name %s back: %s", li.name,
				        pn->orig_name, e2.msg);
		}
	} else {
		r = kb_err_set(err, ENODEV,
		        "netdev %s (ifindex %d in the pod) is neither in the pod namespace %s nor "
		        "back in the host namespace",
		        pn->orig_name, pn->pod_ifindex, netns && *netns ? netns : "(none)");
		goto out;
	}
	if ((r = restore_in_place(c.host, ifindex, pn, true, err)) < 0)
		goto out;
	pn->moved = false;
	if (warn.errnum)
		*err = warn;
out:
	ctx_close(&c);
	return r;
}

int podnet_check(const struct podnet *pn, const char *netns, const char *ifname, struct kb_err *err)
{
	struct ctx c = {.host_fd = -1, .pod_fd = -1};
	struct nllink_info li;
	int r;

	if ((r = open_pod(&c, netns, err)) < 0) {
		kb_err_prefix(err, "pod namespace");
		goto out;
	}
	if ((r = nllink_get(c.pod, pn->pod_ifindex, NULL, &li, err)) < 0) {
		r = kb_err_set(err, EIO, "netdev %s (ifindex %d) is not in the pod namespace",
		        ifname, pn->pod_ifindex);
		goto out;
	}
	if (strcmp(li.name, ifname))
		r = kb_err_set(err, EIO, "the pod's netdev is named %s, not %s", li.name, ifname);
out:
	ctx_close(&c);
	return r;
}

void podnet_to_state(const struct podnet *pn, struct apimsg_netdev_state *ret)
{
	*ret = (struct apimsg_netdev_state){
	        .name = pn->orig_name,
	        .ifindex = pn->host_ifindex,
	        .mac = pn->orig_mac,
	        .mtu = pn->orig_mtu,
	        .up = pn->orig_up,
	        .pod_ifindex = pn->pod_ifindex,
	        .moved = pn->moved,
	};
}

void podnet_from_state(const struct apimsg_netdev_state *s, struct podnet *pn)
{
	memset(pn, 0, sizeof(*pn));
	str_copy(pn->orig_name, sizeof(pn->orig_name), s->name);
	pn->host_ifindex = (int)s->ifindex;
	pn->orig_mac = s->mac;
	pn->orig_mtu = s->mtu;
	pn->orig_up = s->up;
	pn->pod_ifindex = (int)s->pod_ifindex;
	pn->moved = s->moved;
}
