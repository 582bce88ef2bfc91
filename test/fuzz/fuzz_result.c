/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CNI results: prevResult and IPAM plugin output (cni_result_parse) and the conversion to
 * every version. Input: a result object (JSON). Besides memory safety this checks that what
 * the plugin prints it can read back: each version's output parses again and prints the same.
 */
#include "fuzz.h"
#include "result.h"

static void roundtrip(const struct cni_result *r, enum cni_version v)
{
	struct cni_result *r2 = NULL;
	struct cni_err ce = {0};
	json_t *j1 = cni_result_to_json(r, v), *j2;

	if (!j1)
		return;
	if (cni_result_parse(j1, CNI_V_NONE, &r2, &ce) < 0) {
		char *s = json_dumps(j1, JSON_COMPACT);
		fprintf(stderr, "own %s output does not parse: %s\n%s\n", cni_version_str(v),
		        ce.e.msg, s);
		abort();
	}
	j2 = cni_result_to_json(r2, v);
	if (!json_equal(j1, j2)) {
		char *a = json_dumps(j1, JSON_COMPACT | JSON_SORT_KEYS);
		char *b = json_dumps(j2, JSON_COMPACT | JSON_SORT_KEYS);
		fprintf(stderr, "%s round trip differs:\n%s\n%s\n", cni_version_str(v), a, b);
		abort();
	}
	json_decref(j2);
	json_decref(j1);
	cni_result_free(r2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum cni_version dflts[] = {CNI_V_NONE, CNI_V_0_3_1, CNI_V_1_1_0};
	json_t *o = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);

	if (!o)
		return 0;
	for (size_t i = 0; i < sizeof(dflts) / sizeof(dflts[0]); i++) {
		struct cni_result *r = NULL, *dup, *out;
		struct cni_err ce = {0};

		if (cni_result_parse(o, dflts[i], &r, &ce) < 0) {
			json_decref(cni_err_to_json(&ce, dflts[i]));
			continue;
		}
		for (enum cni_version v = CNI_V_0_3_0; v <= CNI_V_LATEST; v++)
			roundtrip(r, v);
		/* As the plugin builds its ADD result: its interface, then IPAM's ips/routes. */
		dup = cni_result_dup(r);
		out = cni_result_new();
		if (dup && out) {
			int idx = cni_result_add_iface(out, "net1", "02:00:00:00:00:01",
			        "/var/run/netns/x", 1500, NULL, NULL);
			if (idx >= 0 && cni_result_merge_ipam(out, dup, idx) == 0)
				roundtrip(out, CNI_V_LATEST);
			cni_result_find_iface(dup, "eth0", NULL);
		}
		cni_result_free(out);
		cni_result_free(dup);
		cni_result_free(r);
	}
	json_decref(o);
	return 0;
}
