/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: which allocations the PodResources reconcile calls stale (dp_reconcile.c), on a
 * List reply that went through the wire format (packed, then decoded as the agent decodes it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "agent/alloc.h"
#include "agent/devplugin/dp_reconcile.h"

#define RES "kbnet.io/vu"

/* kubelet's view: web-0 holds vu-1 and vu-2 (two containers), db-0 asked for no device,
 * other-0 holds a device of another resource, and the same ID in another resource. */
static V1__ListPodResourcesResponse *list_reply(void)
{
	char *ids_a[] = {"vu-1"}, *ids_b[] = {"vu-2"}, *ids_c[] = {"vu-7"};
	V1__ContainerDevices cd_a = V1__CONTAINER_DEVICES__INIT, cd_b = V1__CONTAINER_DEVICES__INIT,
	                     cd_c = V1__CONTAINER_DEVICES__INIT;
	V1__ContainerDevices *dev_a[] = {&cd_a}, *dev_b[] = {&cd_b}, *dev_c[] = {&cd_c};
	V1__ContainerResources c1 = V1__CONTAINER_RESOURCES__INIT,
	                       c2 = V1__CONTAINER_RESOURCES__INIT,
	                       c3 = V1__CONTAINER_RESOURCES__INIT,
	                       c4 = V1__CONTAINER_RESOURCES__INIT;
	V1__ContainerResources *web_c[] = {&c1, &c2}, *db_c[] = {&c3}, *other_c[] = {&c4};
	V1__PodResources web = V1__POD_RESOURCES__INIT, db = V1__POD_RESOURCES__INIT,
	                 other = V1__POD_RESOURCES__INIT;
	V1__PodResources *pods[] = {&web, &db, &other};
	V1__ListPodResourcesResponse r = V1__LIST_POD_RESOURCES_RESPONSE__INIT;
	uint8_t *buf;
	size_t len;
	V1__ListPodResourcesResponse *back;

	cd_a.resource_name = RES;
	cd_a.n_device_ids = 1;
	cd_a.device_ids = ids_a;
	cd_b.resource_name = RES;
	cd_b.n_device_ids = 1;
	cd_b.device_ids = ids_b;
	cd_c.resource_name = "example.com/other";
	cd_c.n_device_ids = 1;
	cd_c.device_ids = ids_c;
	c1.name = "app";
	c1.n_devices = 1;
	c1.devices = dev_a;
	c2.name = "sidecar";
	c2.n_devices = 1;
	c2.devices = dev_b;
	c3.name = "db";
	c4.name = "x";
	c4.n_devices = 1;
	c4.devices = dev_c;
	web.name = "web-0";
	web.namespace_ = "default";
	web.n_containers = 2;
	web.containers = web_c;
	db.name = "db-0";
	db.namespace_ = "default";
	db.n_containers = 1;
	db.containers = db_c;
	other.name = "other-0";
	other.namespace_ = "default";
	other.n_containers = 1;
	other.containers = other_c;
	r.n_pod_resources = 3;
	r.pod_resources = pods;
	len = v1__list_pod_resources_response__get_packed_size(&r);
	buf = malloc(len);
	v1__list_pod_resources_response__pack(&r, buf);
	back = v1__list_pod_resources_response__unpack(NULL, len, buf);
	free(buf);
	assert_non_null(back);
	return back;
}

static enum dp_verdict verdict(
        const struct dp_podres *pr, const char *dev, const char *ns, const char *pod)
{
	struct alloc a;

	memset(&a, 0, sizeof(a));
	a.device_id = dev;
	a.container_id = "c0ffee";
	a.ifname = "net1";
	a.pod.ns = ns;
	a.pod.name = pod;
	return dp_reconcile_verdict(pr, &a, RES);
}

static void test_verdicts(void **state)
{
	V1__ListPodResourcesResponse *r = list_reply();
	struct dp_podres *pr;

	(void)state;
	assert_int_equal(dp_podres_new(r, &pr), 0);
	assert_true(dp_podres_assigned(pr, RES, "vu-1"));
	assert_true(dp_podres_assigned(pr, RES, "vu-2"));
	assert_false(dp_podres_assigned(pr, RES, "vu-7")); /* that one is another resource's */
	assert_true(dp_podres_assigned(pr, "example.com/other", "vu-7"));
	/* Whose it is: what an attach naming a reserved device is checked against. */
	{
		const char *ns = NULL, *name = NULL;
		assert_true(dp_podres_owner(pr, RES, "vu-2", &ns, &name));
		assert_string_equal(ns, "default");
		assert_string_equal(name, "web-0");
		assert_true(dp_podres_owner(pr, "example.com/other", "vu-7", &ns, &name));
		assert_string_equal(name, "other-0");
		assert_false(dp_podres_owner(pr, RES, "vu-7", &ns, &name));
		assert_false(dp_podres_owner(pr, RES, "vu-3", &ns, &name));
	}
	/* kubelet assigns the device: kept, whoever the attachment says it is for. */
	assert_int_equal(verdict(pr, "vu-1", "default", "web-0"), DP_KEEP_ASSIGNED);
	assert_int_equal(verdict(pr, "vu-2", NULL, NULL), DP_KEEP_ASSIGNED);
	/* The pod is gone (deleted, DEL missed): stale. */
	assert_int_equal(verdict(pr, "vu-3", "default", "web-1"), DP_STALE);
	/* No pod known and kubelet assigns the device to nobody: stale. */
	assert_int_equal(verdict(pr, "vu-3", NULL, NULL), DP_STALE);
	/* A live pod that asked kubelet for none of the resource: not ours to judge. */
	assert_int_equal(verdict(pr, "vu-4", "default", "db-0"), DP_KEEP_UNMANAGED);
	assert_int_equal(verdict(pr, "vu-4", "default", "other-0"), DP_KEEP_UNMANAGED);
	/* A live pod that kubelet gave other devices of the resource (a re-created pod of the
	 * same name, say): the old device is stale. */
	assert_int_equal(verdict(pr, "vu-5", "default", "web-0"), DP_STALE);
	/* Same name, other namespace: a different pod. */
	assert_int_equal(verdict(pr, "vu-6", "prod", "db-0"), DP_STALE);
	dp_podres_free(pr);
	v1__list_pod_resources_response__free_unpacked(r, NULL);
}

static void test_empty(void **state)
{
	V1__ListPodResourcesResponse r = V1__LIST_POD_RESOURCES_RESPONSE__INIT;
	struct dp_podres *pr;

	(void)state;
	assert_int_equal(dp_podres_new(&r, &pr), 0);
	assert_int_equal(verdict(pr, "vu-1", "default", "web-0"), DP_STALE);
	dp_podres_free(pr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_verdicts),
	        cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
