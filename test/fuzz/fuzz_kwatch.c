/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Kubernetes pod watch stream (agent/kube/kwatch.c): newline-separated watch events
 * (ADDED/MODIFIED/DELETED/BOOKMARK/ERROR) split into lines across the chunks curl hands over,
 * applied to the node's pod set. Input: one byte giving the chunk size, then the stream. The
 * stream's lines are also applied as list items (a PodList page's "items").
 */
#include "fuzz.h"

#include <jansson.h>

#include "agent/kube/kwatch.h"
#include "common/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_LVL_ERR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kwatch_pods *pods;
	const uint8_t *p;
	size_t chunk, n;

	if (size < 1 || size > 256 * 1024)
		return 0;
	chunk = data[0];
	if (!(pods = kwatch_pods_new()))
		abort();
	kwatch_feed_watch(pods, (const char *)data + 1, size - 1, chunk);
	kwatch_pods_uid_of(pods, "default", "testpmd-0");
	kwatch_pods_has_uid(pods, "0b5a8e46-1c2d-4e8f-9a0b-c1d2e3f4a5b6");
	/* The same events' objects as list items, then deleted again. */
	p = data + 1;
	n = size - 1;
	while (n) {
		const uint8_t *nl = memchr(p, '\n', n);
		size_t len = nl ? (size_t)(nl - p) : n;
		json_t *ev = json_loadb((const char *)p, len, 0, NULL);
		json_t *obj = json_object_get(ev, "object");
		if (json_is_object(obj)) {
			size_t before = kwatch_pods_count(pods);
			const char *uid = json_string_value(
			        json_object_get(json_object_get(obj, "metadata"), "uid"));
			if (kwatch_pods_put(pods, obj) == 0 && uid &&
			        !kwatch_pods_has_uid(pods, uid))
				abort(); /* put but not found */
			kwatch_pods_del(pods, obj);
			(void)before;
		}
		json_decref(ev);
		p += nl ? len + 1 : len;
		n -= nl ? len + 1 : len;
	}
	kwatch_pods_free(pods);
	return 0;
}
