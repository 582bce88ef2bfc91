/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers of the api codec tests (test_apimsg*.c): JSON from text, a trip through the wire,
 * a comparison with the expected JSON, and REJECT for malformed input. Include after cmocka.h.
 */
#ifndef KB_TEST_APIMSG_TEST_H
#define KB_TEST_APIMSG_TEST_H

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

static inline json_t *load(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &je);

	if (!j)
		fail_msg("bad test JSON (%s): %s", je.text, text);
	return j;
}

/* Encode, dump, load (o is stolen): decode the result and compare with what was encoded. */
static inline json_t *through_wire(json_t *o)
{
	char *s;
	json_t *back;

	assert_non_null(o);
	s = json_dumps(o, JSON_COMPACT);
	assert_non_null(s);
	back = load(s);
	free(s);
	json_decref(o);
	return back;
}

/* `o` (borrowed) must equal the JSON `text`: the same names, types and values. */
static inline void assert_json(json_t *o, const char *text)
{
	json_t *want = load(text);

	assert_non_null(o);
	if (!json_equal(o, want)) {
		char *got = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
		char *w = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
		fail_msg("got  %s\nwant %s", got, w);
	}
	json_decref(want);
}

/* Decode `text` with `fn` into a `type`; it must fail with -code and `msg` in the message. */
#define REJECT(fn, type, text, want_code, want_msg)                                          \
	do {                                                                                 \
		static type v_;                                                              \
		struct kb_err e_ = {0};                                                      \
		json_t *j_ = load(text);                                                     \
		int r_ = fn(j_, &v_, &e_);                                                   \
		if (r_ != -(want_code) || !strstr(e_.msg, want_msg))                         \
			fail_msg("%s(%s): got %d '%s', want %d '%s'", #fn, text, r_, e_.msg, \
			        -(want_code), want_msg);                                     \
		json_decref(j_);                                                             \
	} while (0)

#endif
