/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: GetPreferredAllocation choices (dp_prefer.c) on NUMA fixtures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/devplugin/dp_prefer.h"

#define MAXD 64

/* A fixture: "0:0 1:0 2:1 3:1*" = device index:NUMA, '*' must-include, 'h' held; '-' NUMA
 * unknown. */
static size_t fixture(const char *spec, struct dp_prefer_dev *devs)
{
	size_t n = 0;
	const char *p = spec;

	while (*p) {
		int numa;
		char *end;
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		strtol(p, &end, 10); /* the index is for readability */
		p = end + 1;         /* ':' */
		if (*p == '-') {
			numa = -1;
			p++;
		} else {
			numa = (int)strtol(p, &end, 10);
			p = end;
		}
		memset(&devs[n], 0, sizeof(devs[n]));
		devs[n].numa = numa;
		while (*p == '*' || *p == 'h') {
			if (*p == '*')
				devs[n].must = true;
			else
				devs[n].held = true;
			p++;
		}
		n++;
	}
	return n;
}

/* Run and render the chosen indices, sorted, as "1,2,5". */
static const char *choose(const char *spec, size_t size, bool topology)
{
	static char buf[256];
	struct dp_prefer_dev devs[MAXD] = {0};
	size_t out[MAXD], n = fixture(spec, devs), k = dp_prefer(devs, n, size, topology, out);
	bool sel[MAXD] = {0};
	size_t o = 0;

	for (size_t i = 0; i < k; i++) {
		assert_true(out[i] < n);
		assert_false(sel[out[i]]); /* never twice */
		sel[out[i]] = true;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		if (sel[i])
			o += snprintf(buf + o, sizeof(buf) - o, "%s%zu", o ? "," : "", i);
	return buf;
}

static void test_one_node_when_possible(void **state)
{
	(void)state;
	/* Node 0 has 2 free, node 1 has 3: a request of 3 must come from node 1 alone. */
	assert_string_equal(choose("0:0 1:0 2:1 3:1 4:1", 3, true), "2,3,4");
	/* A request of 2 fits both: best fit keeps node 1's three for a bigger request. */
	assert_string_equal(choose("0:1 1:1 2:1 3:0 4:0", 2, true), "3,4");
	/* kubelet's order inside the node. */
	assert_string_equal(choose("0:1 1:0 2:1 3:0 4:1", 1, true), "1");
}

static void test_must_include(void **state)
{
	(void)state;
	/* A must-include device on node 1 pulls the rest of the request to node 1. */
	assert_string_equal(choose("0:0 1:0 2:0 3:1* 4:1 5:1", 3, true), "3,4,5");
	/* Its node cannot take the rest: span, its node first. */
	assert_string_equal(choose("0:0 1:0 2:0 3:1* 4:1", 4, true), "0,1,3,4");
	/* Must-include is kept even past the size (kubelet's devices from init containers). */
	assert_string_equal(choose("0:0* 1:0* 2:1", 1, true), "0,1");
	/* Exactly the must-include devices when they make up the size. */
	assert_string_equal(choose("0:0 1:1* 2:0*", 2, true), "1,2");
}

static void test_spanning(void **state)
{
	(void)state;
	/* No node holds 4: the largest node first, then the next. */
	assert_string_equal(choose("0:0 1:0 2:1 3:1 4:1 5:2", 4, true), "0,2,3,4");
	/* Not enough devices at all: everything there is. */
	assert_string_equal(choose("0:0 1:1", 5, true), "0,1");
	assert_string_equal(choose("", 2, true), "");
}

static void test_unknown_numa(void **state)
{
	(void)state;
	/* Known nodes first; unknown NUMA only when no node fits. */
	assert_string_equal(choose("0:- 1:- 2:1 3:1", 2, true), "2,3");
	assert_string_equal(choose("0:- 1:- 2:- 3:1", 3, true), "0,1,2");
	assert_string_equal(choose("0:- 1:- 2:1", 3, true), "0,1,2");
}

static void test_held_last(void **state)
{
	(void)state;
	/* A device an attachment holds would fail at CNI ADD: others first, even off-node. */
	assert_string_equal(choose("0:0h 1:0 2:1", 2, true), "1,2");
	/* Held devices only when nothing else is left. */
	assert_string_equal(choose("0:0h 1:0h 2:1", 2, true), "0,2");
}

static void test_topology_off(void **state)
{
	(void)state;
	/* Opted out: kubelet's order, NUMA ignored. */
	assert_string_equal(choose("0:0 1:1 2:1 3:1", 3, false), "0,1,2");
	assert_string_equal(choose("0:0 1:1* 2:1 3:0", 2, false), "0,1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_one_node_when_possible),
	        cmocka_unit_test(test_must_include),
	        cmocka_unit_test(test_spanning),
	        cmocka_unit_test(test_unknown_numa),
	        cmocka_unit_test(test_held_last),
	        cmocka_unit_test(test_topology_off),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
