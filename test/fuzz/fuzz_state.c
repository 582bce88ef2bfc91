/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The state loader (agent/state.c) and the allocation records it replays (alloc.c): what is
 * on disk is not trusted. Input: "<snapshot>--- journal\n<journal>" (either part empty: no
 * such file). A line starting with "@@@@@@@@ " gets the CRC32 of the rest in place of the
 * @s, so mutations reach the JSON and the record checks instead of dying at the checksum.
 * Whatever loads must hold values the API would accept, and survive a round trip: compacted
 * into a new snapshot, it loads again with the same allocations.
 */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <zlib.h>

#include "agent/alloc.h"
#include "agent/config.h"
#include "agent/inventory.h"
#include "agent/state.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/validate.h"

#define FUZZ_MAX_INPUT (256 * 1024)

static char dir[64];
static struct cfg *cfg;

static void cleanup(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

static void remove_dir(void)
{
	cleanup();
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	struct kb_err err = {0};
	char yaml[512];

	(void)argc;
	(void)argv;
	log_set_level(LOG_LVL_ERR);
	snprintf(dir, sizeof(dir), "%s/kbnet-fuzz-state.XXXXXX", tmp);
	if (!mkdtemp(dir))
		abort();
	atexit(remove_dir);
	/* The agent loads its state after the inventory has its configuration (main.c): restored
	 * vhost-user paths are checked against runDir. No pools: nothing is discovered, and the
	 * records only name devices. runDir is never written (alloc_replay does not restore). */
	snprintf(yaml, sizeof(yaml),
	        "apiSocket: %s/a.sock\nstateDir: %s\nrunDir: /run/kbnet\npools: []\n", dir, dir);
	if (cfg_load_string(yaml, "<fuzz>", &cfg, &err) < 0 || inv_init(cfg, &err) < 0) {
		fprintf(stderr, "config: %s\n", err.msg);
		abort();
	}
	return 0;
}

/* Copy with the "@@@@@@@@ " lines' CRCs filled in. */
static void write_part(const char *name, const uint8_t *data, size_t size)
{
	char path[128];
	uint8_t *buf;
	size_t off = 0;
	int fd;

	if (!size)
		return;
	buf = malloc(size);
	if (!buf)
		abort();
	memcpy(buf, data, size);
	while (off < size) {
		uint8_t *nl = memchr(buf + off, '\n', size - off);
		size_t n = nl ? (size_t)(nl - (buf + off)) : size - off;
		if (n >= 9 && !memcmp(buf + off, "@@@@@@@@ ", 9)) {
			char hex[9];
			snprintf(hex, sizeof(hex), "%08lx", crc32(0, buf + off + 9, n - 9));
			memcpy(buf + off, hex, 8);
		}
		off += n + 1;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, buf, size) != (ssize_t)size)
		abort();
	close(fd);
	free(buf);
}

static int apply(void *ctx, const char *key, json_t *value, struct kb_err *err)
{
	(void)ctx;
	return alloc_replay(key, value, err);
}

static int dump(void *ctx, state_emit_fn emit, void *ectx)
{
	(void)ctx;
	for (struct alloc *a = alloc_first(); a; a = alloc_next(a)) {
		char key[256];
		json_t *o = alloc_record_json(a); /* what the agent writes */
		int r;
		if (!o)
			return -ENOMEM;
		snprintf(key, sizeof(key), "%s/%s", a->container_id, a->ifname);
		r = emit(ectx, key, o);
		json_decref(o);
		if (r < 0)
			return r;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state_load_info info;
	struct kb_err err = {0};
	struct state *st = NULL;
	const uint8_t *journal;
	size_t snap_len, journal_len;
	int r;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	cleanup();
	snap_len = fuzz_split(data, size, "--- journal\n", &journal, &journal_len);
	write_part(STATE_SNAPSHOT, data, snap_len);
	write_part(STATE_JOURNAL, journal, journal_len);
	if (state_open(dir, &st, &err) < 0)
		abort();
	r = state_load(st, apply, NULL, &info, &err);
	if (getenv("KB_FUZZ_DEBUG")) /* seeing what a seed reaches */
		fprintf(stderr, "load: %d %s; %zu allocations, %s\n", r, err.msg, alloc_count(),
		        info.why);
	if (r == 0) {
		size_t n = alloc_count();
		/* Records are held to what the API accepts (api/apimsg.c): MTU, VLAN, pod names. */
		for (struct alloc *a = alloc_first(); a; a = alloc_next(a))
			if ((a->mtu && (a->mtu < 68 || a->mtu > 65535)) || a->vlan < -1 ||
			        a->vlan > 4094 ||
			        (a->pod.ns && !val_k8s_namespace(a->pod.ns, NULL)) ||
			        (a->pod.name && !val_k8s_name(a->pod.name, NULL)) ||
			        (a->pod.infra_id && !val_container_id(a->pod.infra_id, NULL))) {
				fprintf(stderr, "loaded %s/%s: mtu %d, vlan %d, pod %s/%s\n",
				        a->container_id, a->ifname, a->mtu, a->vlan,
				        a->pod.ns ? a->pod.ns : "-",
				        a->pod.name ? a->pod.name : "-");
				abort();
			}
		state_set_dumper(st, dump, NULL);
		if (state_compact(st, &err) < 0) {
			fprintf(stderr, "compact: %s\n", err.msg);
			abort();
		}
		alloc_fini();
		state_close(st);
		st = NULL;
		if (state_open(dir, &st, &err) < 0)
			abort();
		r = state_load(st, apply, NULL, &info, &err);
		if (r < 0 || alloc_count() != n || info.torn_tail || info.journal_aside[0]) {
			fprintf(stderr, "own snapshot does not load back: %d %s (%zu of %zu) %s\n",
			        r, err.msg, alloc_count(), n, info.why);
			abort();
		}
	}
	alloc_fini();
	state_close(st);
	return 0;
}
