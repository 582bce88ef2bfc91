/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A kernel netdev lent to a pod: moved from the agent's namespace into the pod's, renamed to
 * the CNI ifname, given a MAC and MTU and brought up; and on release brought back with its
 * original name, MAC, MTU and admin state. The original state is kept in struct podnet, which
 * the caller persists.
 *
 * Release must work when the pod namespace is already gone: the kernel then moves physical
 * devices (a real VF netdev) back to the initial namespace, keeping their pod name when it is
 * free there and naming them dev<ifindex> otherwise. The device is then found through the
 * sysfs directory of its parent device (<pci dev>/net/<name>), or by those names with the
 * recorded ifindex.
 */
#ifndef KB_PODNET_H
#define KB_PODNET_H

#include <jansson.h>
#include <net/if.h>
#include <stdbool.h>

#include "api/apimsg_dev.h"
#include "common/err.h"
#include "common/mac.h"

struct podnet {
	/* Before attach, in the agent's namespace. */
	char orig_name[IFNAMSIZ];
	int host_ifindex;
	struct mac orig_mac;
	int orig_mtu;
	bool orig_up;
	/* In the pod. */
	int pod_ifindex;
	bool moved; /* the netdev is (or may be) in the pod: release must bring it back */
};

struct podnet_req {
	const char *host_name; /* the netdev in the agent's namespace */
	const char *netns;     /* the pod's namespace (path) */
	const char *ifname;    /* its name there */
	const struct mac *mac; /* NULL: keep the current MAC */
	int mtu;               /* 0: keep the current MTU */
	/* Called with the original state captured, right before the netdev leaves the agent's
	 * namespace (the caller records an intent); an error aborts the attach. */
	int (*before_move)(const struct podnet *pn, void *arg, struct kb_err *err);
	void *arg;
};

/* On failure nothing is left moved or changed (best effort, reported in err). On success
 * *ret_mac and *ret_mtu hold the netdev's MAC and MTU in the pod. */
int podnet_attach(const struct podnet_req *req, struct podnet *pn, struct mac *ret_mac,
        int *ret_mtu, struct kb_err *err);

/*
 * Bring the netdev back and restore name, MAC, MTU and admin state. netns may be NULL or gone.
 * dev_dir is the sysfs directory of the parent device (its net/ lists the netdev in the
 * agent's namespace), or NULL. Returns 0 when the netdev is back (err may still hold a
 * warning, e.g. its original name was taken), -ENODEV when it was found nowhere.
 */
int podnet_detach(struct podnet *pn, const char *netns, const char *ifname, const char *dev_dir,
        struct kb_err *err);

/* The netdev is in the pod namespace under ifname. */
int podnet_check(
        const struct podnet *pn, const char *netns, const char *ifname, struct kb_err *err);

/* Its persisted form (api/apimsg_dev.h; the state borrows pn's name). */
void podnet_to_state(const struct podnet *pn, struct apimsg_netdev_state *ret);
/* A validated state (apimsg_netdev_state_decode) back into pn. */
void podnet_from_state(const struct apimsg_netdev_state *s, struct podnet *pn);

#endif
