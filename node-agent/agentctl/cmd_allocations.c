/* SPDX-License-Identifier: Apache-2.0 */
/* agentctl allocations | show */
#include "agentctl/ctl.h"
#include "api/api.h"
#include "api/apimsg.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void pod_cell(const struct apimsg_alloc *a, char *buf, size_t size)
{
	if (a->pod.ns && a->pod.name)
		snprintf(buf, size, "%s/%s", a->pod.ns, a->pod.name);
	else
		snprintf(buf, size, "-");
}

/* Agent IPAM addresses, comma-separated, without prefix lengths ("-" when none). */
static void addrs_cell(const struct apimsg_alloc *a, char *buf, size_t size)
{
	struct apimsg_ipam ipam;
	struct kb_err err = {0};
	size_t off = 0;

	snprintf(buf, size, "-");
	if (apimsg_ipam_decode(a->ipam, &ipam, &err) < 0)
		return;
	for (size_t i = 0; i < ipam.n_ips && off < size; i++) {
		const char *s = ipam.ips[i].address;
		int n = (int)strcspn(s, "/");
		off += snprintf(buf + off, size - off, "%s%.*s", i ? "," : "", n, s);
	}
}

/* Where the pod finds its device: socket, PCI address or netdev. */
static void endpoint_cell(const struct apimsg_alloc *a, char *buf, size_t size)
{
	if (a->endpoint.socket_path)
		snprintf(buf, size, "%s", a->endpoint.socket_path);
	else
		snprintf(buf, size, "-");
}

static int print_allocations(struct ctl *ctl, json_t *arr)
{
	static const char *const hdr[] = {"POD", "CONTAINER", "IFNAME", "NETWORK", "POOL", "DEVICE",
	        "MAC", "ADDRESSES", "AGE", "ENDPOINT", NULL};
	struct table *t;
	json_t *o;
	size_t i;

	if (ctl->json) {
		ctl_print_json(arr);
		return CTL_EXIT_OK;
	}
	t = table_new(hdr);
	json_array_foreach (arr, i, o) {
		char pod[320], cid[16], age[32], ep[4096], addrs[512];
		struct apimsg_alloc a;
		struct kb_err err = {0};
		if (apimsg_alloc_decode(o, &a, &err) < 0) {
			fprintf(stderr, "agentctl: skipping an allocation: %s\n", err.msg);
			continue;
		}
		pod_cell(&a, pod, sizeof(pod));
		snprintf(cid, sizeof(cid), "%.12s", a.container_id);
		fmt_age(a.created, age, sizeof(age));
		endpoint_cell(&a, ep, sizeof(ep));
		addrs_cell(&a, addrs, sizeof(addrs));
		table_row(t, (const char *const[]){pod, cid, a.ifname, a.network, a.pool,
		                     a.device_id, a.mac, addrs, age, ep});
	}
	table_print(t, stdout);
	table_free(t);
	return CTL_EXIT_OK;
}

/* list allocations (pool, pod or container ID filter); CTL_EXIT_* with *ret_items. */
static int list_allocations(
        struct ctl *ctl, const struct apimsg_list_args *in, json_t **ret_res, json_t **ret_items)
{
	json_t *args = apimsg_list_args_encode(in);
	struct kb_err err = {0};
	int r;

	r = ctl_call(ctl, API_OP_LIST, args, ret_res);
	json_decref(args);
	if (r != CTL_EXIT_OK)
		return r;
	if (apimsg_list_result_decode(*ret_res, APIMSG_LIST_ALLOCATIONS, ret_items, &err) < 0) {
		fprintf(stderr, "agentctl: %s\n", err.msg);
		json_decref(*ret_res);
		return CTL_EXIT_ERROR;
	}
	return CTL_EXIT_OK;
}

static int cmd_allocations(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {{"pool", required_argument, NULL, 'p'}, {0}};
	struct apimsg_list_args in = {.what = APIMSG_LIST_ALLOCATIONS};
	json_t *res, *items;
	int c, r;

	while ((c = getopt_long(argc, argv, "p:", opts, NULL)) != -1) {
		if (c != 'p')
			goto usage;
		in.pool = optarg;
	}
	if (optind < argc)
		goto usage;
	if ((r = list_allocations(ctl, &in, &res, &items)) != CTL_EXIT_OK)
		return r;
	r = print_allocations(ctl, items);
	json_decref(res);
	return r;
usage:
	fprintf(stderr, "usage: agentctl allocations [--pool NAME]\n");
	return CTL_EXIT_USAGE;
}

static void print_detail(json_t *o)
{
	struct apimsg_alloc a;
	struct kb_err err = {0};
	const char *k;
	json_t *v;
	char age[32];

	if (apimsg_alloc_decode(o, &a, &err) < 0) {
		fprintf(stderr, "agentctl: %s\n", err.msg);
		return;
	}
	fmt_age(a.created, age, sizeof(age));
	printf("%s/%s  (network %s, age %s)\n", a.container_id, a.ifname, a.network, age);
	json_object_foreach (o, k, v) {
		char *s;
		if (apimsg_alloc_is_heading(k))
			continue;
		if (json_is_string(v)) {
			printf("  %-14s %s\n", k, json_string_value(v));
			continue;
		}
		s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		printf("  %-14s %s\n", k, s ? s : "?");
		free(s);
	}
}

/* show <containerID prefix | namespace/pod | pod | pod UID> */
static int cmd_show(struct ctl *ctl, int argc, char **argv)
{
	json_t *res, *arr, *a;
	size_t i;
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: agentctl show <containerID|namespace/pod|pod|podUID>\n");
		return CTL_EXIT_USAGE;
	}
	/* Try as a pod first (names, UIDs), then as a container ID prefix. */
	r = list_allocations(ctl,
	        &(struct apimsg_list_args){.what = APIMSG_LIST_ALLOCATIONS, .pod = argv[1]}, &res,
	        &arr);
	if (r != CTL_EXIT_OK)
		return r;
	if (json_array_size(arr) == 0 && !strchr(argv[1], '/')) {
		json_decref(res);
		r = list_allocations(ctl,
		        &(struct apimsg_list_args){
		                .what = APIMSG_LIST_ALLOCATIONS, .container_id = argv[1]},
		        &res, &arr);
		if (r != CTL_EXIT_OK)
			return r;
	}
	if (json_array_size(arr) == 0) {
		fprintf(stderr, "agentctl: nothing allocated to '%s'\n", argv[1]);
		json_decref(res);
		return CTL_EXIT_ERROR;
	}
	if (ctl->json) {
		ctl_print_json(arr);
	} else {
		json_array_foreach (arr, i, a) {
			if (i)
				putchar('\n');
			print_detail(a);
		}
	}
	json_decref(res);
	return CTL_EXIT_OK;
}

static struct ctl_cmd allocations_cmd = {
        .name = "allocations",
        .args = "[--pool NAME]",
        .help = "who holds what: pod, container, interface, device, MAC, endpoint",
        .fn = cmd_allocations,
};
CTL_CMD_REGISTER(allocations_cmd)

static struct ctl_cmd show_cmd = {
        .name = "show",
        .args = "<containerID|pod>",
        .help = "everything about one container's or pod's allocations",
        .fn = cmd_show,
};
CTL_CMD_REGISTER(show_cmd)
