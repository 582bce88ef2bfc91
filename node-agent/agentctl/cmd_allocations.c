/* SPDX-License-Identifier: Apache-2.0 */
/* agentctl allocations | show */
#include "agentctl/ctl.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void pod_cell(json_t *a, char *buf, size_t size)
{
	json_t *pod = json_object_get(a, "pod");
	const char *ns = jstr(pod, "namespace"), *name = jstr(pod, "name");

	if (ns && name)
		snprintf(buf, size, "%s/%s", ns, name);
	else
		snprintf(buf, size, "-");
}

/* Where the pod finds its device: socket, netdev or PCI address. */
static void endpoint_cell(json_t *a, char *buf, size_t size)
{
	json_t *vu = json_object_get(a, "vhostUser");

	if (json_is_object(vu))
		snprintf(buf, size, "%s", jstr(vu, "socketPath"));
	else
		snprintf(buf, size, "-");
}

/* Agent IPAM addresses, comma-separated, without prefix lengths ("-" when none). */
static void addrs_cell(json_t *a, char *buf, size_t size)
{
	json_t *ip;
	size_t i, off = 0;

	snprintf(buf, size, "-");
	json_array_foreach (json_object_get(json_object_get(a, "ipam"), "ips"), i, ip) {
		const char *s = jstr(ip, "address");
		int n;
		if (!s || off >= size)
			continue;
		n = (int)strcspn(s, "/");
		off += snprintf(buf + off, size - off, "%s%.*s", i ? "," : "", n, s);
	}
}

static int print_allocations(struct ctl *ctl, json_t *arr)
{
	static const char *const hdr[] = {"POD", "CONTAINER", "IFNAME", "NETWORK", "POOL", "DEVICE",
	        "MAC", "ADDRESSES", "AGE", "ENDPOINT", NULL};
	struct table *t;
	json_t *a;
	size_t i;

	if (ctl->json) {
		ctl_print_json(arr);
		return CTL_EXIT_OK;
	}
	t = table_new(hdr);
	json_array_foreach (arr, i, a) {
		char pod[320], cid[16], age[32], ep[4096], addrs[512];
		pod_cell(a, pod, sizeof(pod));
		snprintf(cid, sizeof(cid), "%.12s", jstr(a, "containerID"));
		fmt_age(jstr(a, "created"), age, sizeof(age));
		endpoint_cell(a, ep, sizeof(ep));
		addrs_cell(a, addrs, sizeof(addrs));
		table_row(t, (const char *const[]){pod, cid, jstr(a, "ifname"), jstr(a, "network"),
		                     jstr(a, "pool"), jstr(a, "deviceID"), jstr(a, "mac"), addrs,
		                     age, ep});
	}
	table_print(t, stdout);
	table_free(t);
	return CTL_EXIT_OK;
}

static int cmd_allocations(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {{"pool", required_argument, NULL, 'p'}, {0}};
	json_t *args = json_pack("{s:s}", "what", "allocations"), *res;
	int c, r;

	while ((c = getopt_long(argc, argv, "p:", opts, NULL)) != -1) {
		if (c != 'p')
			goto usage;
		json_object_set_new(args, "pool", json_string(optarg));
	}
	if (optind < argc)
		goto usage;
	r = ctl_call(ctl, "list", args, &res);
	json_decref(args);
	if (r != CTL_EXIT_OK)
		return r;
	r = print_allocations(ctl, json_object_get(res, "allocations"));
	json_decref(res);
	return r;
usage:
	json_decref(args);
	fprintf(stderr, "usage: agentctl allocations [--pool NAME]\n");
	return CTL_EXIT_USAGE;
}

static void print_detail(json_t *a)
{
	const char *k;
	json_t *v;
	char age[32];

	fmt_age(jstr(a, "created"), age, sizeof(age));
	printf("%s/%s  (network %s, age %s)\n", jstr(a, "containerID"), jstr(a, "ifname"),
	        jstr(a, "network"), age);
	json_object_foreach (a, k, v) {
		char *s;
		if (!strcmp(k, "containerID") || !strcmp(k, "ifname") || !strcmp(k, "network"))
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
	json_t *args, *res, *arr, *a;
	size_t i;
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: agentctl show <containerID|namespace/pod|pod|podUID>\n");
		return CTL_EXIT_USAGE;
	}
	/* Try as a pod first (names, UIDs), then as a container ID prefix. */
	args = json_pack("{s:s, s:s}", "what", "allocations", "pod", argv[1]);
	r = ctl_call(ctl, "list", args, &res);
	json_decref(args);
	if (r != CTL_EXIT_OK)
		return r;
	arr = json_object_get(res, "allocations");
	if (json_array_size(arr) == 0 && !strchr(argv[1], '/')) {
		json_decref(res);
		args = json_pack("{s:s, s:s}", "what", "allocations", "containerID", argv[1]);
		r = ctl_call(ctl, "list", args, &res);
		json_decref(args);
		if (r != CTL_EXIT_OK)
			return r;
		arr = json_object_get(res, "allocations");
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
