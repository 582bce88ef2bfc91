/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: the crash-safe state store (agent/state.c): journal + snapshot, torn and corrupt
 * files, compaction and the crash windows around it, the directory lock, failed commits.
 *
 * The store under test is a JSON object (key -> value) rebuilt through the apply callback, so a
 * record applied twice or skipped shows up as a wrong count or a wrong value.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "agent/state.h"
#include "common/fs.h"

struct store {
	json_t *kv;
	unsigned applies; /* apply() calls, puts and deletions */
	int fail_at;      /* apply number that fails (0: never) */
};

struct fixture {
	char dir[64];
	char snap[128], journal[128];
	struct state *st;
	struct store s;
};

static int apply(void *ctx, const char *key, json_t *value, struct kb_err *err)
{
	struct store *s = ctx;

	if (++s->applies == (unsigned)s->fail_at)
		return kb_err_set(err, EINVAL, "apply %u refused", s->applies);
	if (value)
		json_object_set(s->kv, key, value);
	else
		json_object_del(s->kv, key);
	return 0;
}

static int dump(void *ctx, state_emit_fn emit, void *ectx)
{
	struct store *s = ctx;
	const char *key;
	json_t *v;
	int r;

	json_object_foreach (s->kv, key, v)
		if ((r = emit(ectx, key, v)) < 0)
			return r;
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/kbstate.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->snap, sizeof(f->snap), "%s/%s", f->dir, STATE_SNAPSHOT);
	snprintf(f->journal, sizeof(f->journal), "%s/%s", f->dir, STATE_JOURNAL);
	f->s.kv = json_object();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	state_close(f->st);
	json_decref(f->s.kv);
	fs_rm_rf(f->dir);
	free(f);
	return 0;
}

/* (Re)open the store from disk into an empty in-memory set, like an agent start. */
static int reopen(struct fixture *f, struct state_load_info *info)
{
	struct kb_err err = {0};
	int r;

	state_close(f->st);
	f->st = NULL;
	json_object_clear(f->s.kv);
	f->s.applies = 0;
	assert_int_equal(state_open(f->dir, &f->st, &err), 0);
	r = state_load(f->st, apply, &f->s, info, &err);
	state_set_dumper(f->st, dump, &f->s);
	state_set_live(f->st, json_object_size(f->s.kv));
	return r;
}

/* Change the in-memory set and buffer the change, as the allocator does. */
static void put(struct fixture *f, const char *key, json_int_t v)
{
	json_t *val = json_pack("{s:I}", "v", v);

	json_object_set(f->s.kv, key, val);
	assert_int_equal(state_put(f->st, key, val), 0);
	json_decref(val);
	state_set_live(f->st, json_object_size(f->s.kv));
}

static void del(struct fixture *f, const char *key)
{
	json_object_del(f->s.kv, key);
	assert_int_equal(state_del(f->st, key), 0);
	state_set_live(f->st, json_object_size(f->s.kv));
}

static void commit(struct fixture *f)
{
	struct kb_err err = {0};

	if (state_commit(f->st, &err) < 0)
		fail_msg("commit: %s", err.msg);
}

static json_int_t get(struct fixture *f, const char *key)
{
	json_t *v = json_object_get(f->s.kv, key);

	return v ? json_integer_value(json_object_get(v, "v")) : -1;
}

static off_t file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

static char *slurp(const char *path, size_t *len)
{
	char *data = NULL;

	assert_int_equal(fs_read_file(path, 1 << 26, &data, len), 0);
	return data;
}

static void spit(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void append(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

/* A correctly checksummed state line around `js`, to craft files the store must judge on
 * content rather than on the checksum. */
static void crafted_line(char *buf, size_t size, const char *js)
{
	snprintf(buf, size, "%08lx %s\n", crc32(0, (const Bytef *)js, strlen(js)), js);
}

/* Offset of the start of line `n` (0-based) in data. */
static size_t line_offset(const char *data, size_t len, unsigned n)
{
	size_t off = 0;

	while (n--) {
		while (off < len && data[off] != '\n')
			off++;
		if (off == len)
			fail_msg("fewer lines than expected");
		off++;
	}
	return off;
}

/* ---- tests ---- */

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct state_load_info info;

	assert_int_equal(reopen(f, &info), 0);
	assert_false(state_pending(f->st));
	put(f, "a/net1", 1);
	put(f, "b/net1", 2);
	assert_true(state_pending(f->st));
	assert_int_equal(state_seq(f->st), 2);
	commit(f);
	assert_false(state_pending(f->st));
	put(f, "a/net1", 10); /* overwrite */
	del(f, "b/net1");
	put(f, "c/net2", 3);
	del(f, "never/existed"); /* deleting a missing key is a valid record */
	commit(f);

	assert_int_equal(reopen(f, &info), 0);
	assert_int_equal(info.replayed, 6);
	assert_false(info.torn_tail);
	assert_string_equal(info.snapshot_aside, "");
	assert_string_equal(info.journal_aside, "");
	assert_int_equal(json_object_size(f->s.kv), 2);
	assert_int_equal(get(f, "a/net1"), 10);
	assert_int_equal(get(f, "b/net1"), -1);
	assert_int_equal(get(f, "c/net2"), 3);
	/* Sequence numbers continue where the journal ended. */
	assert_int_equal(state_seq(f->st), 6);
	put(f, "d/net1", 4);
	assert_int_equal(state_seq(f->st), 7);
	commit(f);
	assert_int_equal(reopen(f, &info), 0);
	assert_int_equal(get(f, "d/net1"), 4);
	assert_int_equal(json_object_size(f->s.kv), 3);
}

static void test_uncommitted_is_lost(void **state)
{
	struct fixture *f = *state;
	struct state_load_info info;

	assert_int_equal(reopen(f, &info), 0);
	put(f, "a/net1", 1);
	commit(f);
	put(f, "b/net1", 2); /* buffered only: a crash loses it, and only it */
	assert_int_equal(reopen(f, &info), 0);
	assert_int_equal(get(f, "a/net1"), 1);
	assert_int_equal(get(f, "b/net1"), -1);
}

static void count_kick(void *ctx)
{
	(*(int *)ctx)++;
}

/* Every buffered change asks for a commit: callers outside a request need not remember. */
static void test_kick_on_change(void **state)
{
	struct fixture *f = *state;
	struct state_load_info info;
	int kicks = 0;

	assert_int_equal(reopen(f, &info), 0);
	put(f, "a/net1", 1); /* before a kick is set (start-up) */
	state_set_kick(f->st, count_kick, &kicks);
	assert_int_equal(kicks, 1); /* pending at once */
	put(f, "b/net1", 2);
	assert_int_equal(kicks, 2);
	assert_int_equal(state_del(f->st, "a/net1"), 0);
	assert_int_equal(kicks, 3);
	commit(f);
	state_set_kick(f->st, NULL, NULL);
	state_set_kick(f->st, count_kick, &kicks); /* nothing pending: no kick */
	assert_int_equal(kicks, 3);
	state_set_kick(f->st, NULL, NULL);
	put(f, "c/net1", 3);
	assert_int_equal(kicks, 3);
}

static void test_empty_dir_and_empty_commit(void **state)
{
	struct fixture *f = *state;
	struct state_load_info info;
	struct kb_err err = {0};

	assert_int_equal(reopen(f, &info), 0);
	assert_int_equal(info.replayed, 0);
	assert_int_equal(json_object_size(f->s.kv), 0);
	/* Nothing pending: no journal file is created. */
	assert_int_equal(state_commit(f->st, &err), 0);
	assert_int_equal(file_size(f->journal), -1);
	/* An empty journal file loads as empty. */
	spit(f->journal, "", 0);
	assert_int_equal(reopen(f, &info), 0);
	assert_int_equal(info.replayed, 0);
	assert_false(info.torn_tail);
}

static void test_state_dir_created(void **state)
{
	struct fixture *f = *state;
	struct kb_err err = {0};
	struct state *st = NULL;
	char sub[160];
	struct stat sb;

	snprintf(sub, sizeof(sub), "%s/a/b/c", f->dir);
	assert_int_equal(state_open(sub, &st, &err), 0);
	assert_int_equal(stat(sub, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	state_close(st);
	/* A file where the directory should be. */
	snprintf(sub, sizeof(sub), "%s/file", f->dir);
	spit(sub, "x", 1);
	assert_true(state_open(sub, &st, &err) < 0);
	assert_non_null(strstr(err.msg, sub));
}

static void test_torn_tail(void **state)
{
	struct fixture *f = *state;
	struct state_load_info info;
	off_t good;

	assert_int_equal(reopen(f, &info), 0);
	put(f, "a/net1", 1);
	put(f, "b/net1", 2);
	put(f, "c/net1", 3);
	commit(f);
	good = file_size(f->journal);
	/* An append interrupted mid-line: no newline at the end. */
	append(f->journal, "1234abcd {\"seq\":4,\"key\":\"d/net1\",\"val");

	assert_int_equal(reopen(f, &info), 0);
	assert_true(info.torn_tail);
	assert_string_equal(info.journal_aside, "");
	assert_int_equal(info.replayed, 3);
	assert_int_equal(json_object_size(f->s.kv), 3);
	assert_int_equal(get(f, "c/net1"), 3);
	assert_int_equal(get(f, "d/net1"), -1);
	/* The torn bytes are cut off, so the next append starts a clean line. */
	assert_int_equal(file_size(f->journal), good);
	assert_int_equal(state_seq(f->st), 3);
	put(f, "d/net1", 4);
	commit(f);
	assert_int_equal(reopen(f, &info), 0);
	assert_false(info.torn_tail);
	assert_int_equal(info.replayed, 4);
	assert_int_equal(get(f, "d/net1"), 4);
}

static void test_torn_tail_complete_line_bad_crc(void **state)
{
	struct fixture *f = *state;
	struct state_load_info info;
	size_t len;
	char *data;

	assert_int_equal(reopen(f, &info), 0);
	put(f, "a/net1", 1);
	put(f, "b/net1", 2);
	commit(f);
	/* The last line ends in a newline but its payload did not reach the disk intact. */
	data = slurp(f->journal, &len);
	data[len - 3] ^= 0x20;
	spit(f->journal, data, len);
	free(data);

	assert_int_equal(reopen(f, &info), 0);
	assert_true(info.torn_tail);
	assert_string_equal(info.journal_aside, "");
	assert_int_equal(get(f, "a/net1"), 1);
	assert_int_equal(get(f, "b/net1"), -1);
}

static void test_corrupt_middle_record(void **state)
{
	struct fixture *f = *state;
	struct state_load_info info;
	size_t len, alen, off2, off3;
	char *data, *aside;

	assert_int_equal(reopen(f, &info), 0);
	for (int i = 0; i < 5; i++) {
		char key[32];
		snprintf(key, sizeof(key), "k%d/net1", i);
		put(f, key, i);
	}
	commit(f);
	data = slurp(f->journal, &len);
	off2 = line_offset(data, len, 2);
	off3 = line_offset(data, len, 3);
	data[off2 + 20] ^= 0x01; /* record 3 of 5 damaged in place */
	spit(f->journal, data, len);

	assert_int_equal(reopen(f, &info), 0);
	/* The good prefix is applied, nothing after the damage. */
	assert_int_equal(info.replayed, 2);
	assert_int_equal(json_object_size(f->s.kv), 2);
	assert_int_equal(get(f, "k1/net1"), 1);
	assert_int_equal(get(f, "k3/net1"), -1);
	assert_false(info.torn_tail);
	assert_non_null(strstr(info.why, "corrupt"));
	/* The damaged journal is kept whole for inspection... */
	assert_true(strncmp(info.journal_aside, f->journal, strlen(f->journal)) == 0);
	aside = slurp(info.journal_aside, &alen);
	assert_int_equal(alen, len);
	assert_memory_equal(aside, data, len);
	free(aside);
	/* ...and the journal now holds exactly the good prefix. */
	assert_int_equal(file_size(f->journal), off2);
	(void)off3;
	free(data);
	/* Sequence numbers continue after the good prefix; the next load is clean. */
	assert_int_equal(state_seq(f->st), 2);
	put(f, "k9/net1", 9);
	commit(f);
	assert_int_equal(reopen(f, &info), 0);
	assert_string_equal(info.journal_aside, "");
	assert_int_equal(info.replayed, 3);
	assert_int_equal(get(f, "k9/net1"), 9);
}

static void test_journal_sequence_gap(void **state)
{
	struct fixture *f = *state;
	struct state_load_info info;
	char line[256];

	assert_int_equal(reopen(f, &info), 0);
	put(f, "a/net1", 1);
	put(f, "b/net1", 2);
	commit(f);
	/* Well-formed records, but seq 3 is missing: something lost a write. */
	crafted_line(line, sizeof(line), "{\"seq\":4,\"key\":\"c/net1\",\"value\":{\"v\":3}}");
	append(f->journal, line);
	crafted_line(line, sizeof(line), "{\"seq\":5,\"key\":\"d/net1\",\"value\":{\"v\":4}}");
	append(f->journal, line);

	assert_int_equal(reopen(f, &info), 0);
	assert_non_null(strstr(info.why, "gap"));
	assert_string_not_equal(info.journal_aside, "");
	assert_int_equal(info.replayed, 2);
	assert_int_equal(get(f, "c/net1"), -1);
	assert_int_equal(json_object_size(f->s.kv), 2);
}

static void test_journal_record_without_key(void **state)
{
	struct fixture *f = *state;
	struct state_load_info info;
	char line[256];

	assert_int_equal(reopen(f, &info), 0);
	put(f, "a/net1", 1);
	commit(f);
	/* Checksum fine, content not a record: treated like damage, not applied. */
	crafted_line(line, sizeof(line), "{\"seq\":2,\"value\":{\"v\":3}}");
	append(f->journal, line);
	crafted_line(line, sizeof(line), "{\"seq\":3,\"key\":\"c/net1\",\"value\":{\"v\":3}}");
	append(f->journal, line);
	assert_int_equal(reopen(f, &info), 0);
	assert_string_not_equal(info.journal_aside, "");
	assert_int_equal(json_object_size(f->s.kv), 1);
}

static void test_apply_failure_aborts_load(void **state)
{
	struct fixture *f = *state;
	struct state_load_info info;
	struct kb_err err = {0};

	assert_int_equal(reopen(f, &info), 0);
	put(f, "a/net1", 1);
	put(f, "b/net1", 2);
	commit(f);
	state_close(f->st);
	assert_int_equal(state_open(f->dir, &f->st, &err), 0);
	json_object_clear(f->s.kv);
	f->s.applies = 0;
	f->s.fail_at = 2;
	assert_int_equal(state_load(f->st, apply, &f->s, &info, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "apply 2 refused"));
	/* A refused record is the owner's problem: the files are left alone. */
	assert_string_equal(info.journal_aside, "");
	f->s.fail_at = 0;
	assert_int_equal(reopen(f, &info), 0);
	assert_int_equal(json_object_size(f->s.kv), 2);
}

/* ---- snapshots ---- */

static void test_compact(void **state)
{
	struct fixture *f = *state;
	struct state_load_info info;
	struct kb_err err = {0};
	json_t *st;

	assert_int_equal(reopen(f, &info), 0);
	put(f, "a/net1", 1);
	put(f, "b/net1", 2);
	put(f, "c/net1", 3);
	commit(f);
	del(f, "b/net1");
	put(f, "a/net1", 11);
	/* Compaction commits what is pending first. */
	assert_int_equal(state_compact(f->st, &err), 0);
	assert_false(state_pending(f->st));
	assert_int_equal(file_size(f->journal), 0);
	assert_true(file_size(f->snap) > 0);
	st = state_status(f->st);
	assert_int_equal(json_integer_value(json_object_get(st, "snapshots")), 1);
	assert_int_equal(json_integer_value(json_object_get(st, "journalRecords")), 0);
	json_decref(st);

	assert_int_equal(reopen(f, &info), 0);
	assert_int_equal(info.replayed, 0);
	assert_int_equal(f->s.applies, 2); /* one per live record */
	assert_int_equal(get(f, "a/net1"), 11);
	assert_int_equal(get(f, "c/net1"), 3);
	assert_int_equal(json_object_size(f->s.kv), 2);
	assert_int_equal(state_seq(f->st), 5);

	/* Journal on top of the snapshot. */
	put(f, "d/net1", 4);
	del(f, "c/net1");
	commit(f);
	assert_int_equal(reopen(f, &info), 0);
	assert_int_equal(info.replayed, 2);
	assert_int_equal(f->s.applies, 4);
	assert_int_equal(get(f, "d/net1"), 4);
	assert_int_equal(get(f, "c/net1"), -1);
	assert_int_equal(json_object_size(f->s.kv), 2);
}

static void test_compact_without_dumper(void **state)
{
	struct fixture *f = *state;
	struct kb_err err = {0};

	assert_int_equal(state_open(f->dir, &f->st, &err), 0);
	assert_int_equal(state_compact(f->st, &err), -ENOSYS);
}

/* Crash after the new snapshot was renamed in but before the journal was emptied: the journal
 * still holds records the snapshot contains. They must not be applied a second time. */
static void test_crash_between_snapshot_and_truncate(void **state)
{
	struct fixture *f = *state;
	struct state_load_info info;
	struct kb_err err = {0};
	size_t len;
	char *old;

	assert_int_equal(reopen(f, &info), 0);
	put(f, "a/net1", 1);
	put(f, "b/net1", 2);
	commit(f);
	del(f, "a/net1"); /* replaying this after the snapshot would be harmless; the next not */
	put(f, "b/net1", 3);
	commit(f);
	old = slurp(f->journal, &len);
	assert_int_equal(state_compact(f->st, &err), 0);
	spit(f->journal, old, len); /* the truncate never happened */
	free(old);

	assert_int_equal(reopen(f, &info), 0);
	assert_int_equal(info.replayed, 0);
	assert_string_equal(info.journal_aside, ""); /* old records are expected, not damage */
	assert_int_equal(f->s.applies, 1);           /* the snapshot's single record only */
	assert_int_equal(get(f, "b/net1"), 3);
	assert_int_equal(get(f, "a/net1"), -1);
	assert_int_equal(state_seq(f->st), 4);

	/* The agent goes on appending to that journal; the next load skips the old part and
	 * applies only the new records. */
	put(f, "a/net1", 5);
	put(f, "b/net1", 6);
	commit(f);
	assert_int_equal(reopen(f, &info), 0);
	assert_int_equal(info.replayed, 2);
	assert_string_equal(info.journal_aside, "");
	assert_int_equal(get(f, "a/net1"), 5);
	assert_int_equal(get(f, "b/net1"), 6);
	assert_int_equal(json_object_size(f->s.kv), 2);
}

/* A snapshot write that died before its rename leaves only a temp file: ignored. */
static void test_crash_before_snapshot_rename(void **state)
{
	struct fixture *f = *state;
	struct state_load_info info;
	char tmp[256];

	assert_int_equal(reopen(f, &info), 0);
	put(f, "a/net1", 1);
	commit(f);
	snprintf(tmp, sizeof(tmp), "%s.tmp.12345", f->snap);
	spit(tmp, "garbage", 7);
	assert_int_equal(reopen(f, &info), 0);
	assert_string_equal(info.snapshot_aside, "");
	assert_int_equal(get(f, "a/net1"), 1);
}

static void test_auto_compaction(void **state)
{
	struct fixture *f = *state;
	struct state_load_info info;
	json_t *st;
	char key[32];

	assert_int_equal(reopen(f, &info), 0);
	/* Churn on few keys: the journal outgrows the live set and a commit compacts it. */
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k%d/net1", i % 10);
		put(f, key, i);
	}
	commit(f);
	st = state_status(f->st);
	assert_int_equal(json_integer_value(json_object_get(st, "snapshots")), 1);
	json_decref(st);
	assert_int_equal(file_size(f->journal), 0);
	assert_int_equal(reopen(f, &info), 0);
	assert_int_equal(f->s.applies, 10);
	assert_int_equal(get(f, "k9/net1"), 4999);
	assert_int_equal(get(f, "k0/net1"), 4990);
}

static void test_no_auto_compaction_for_large_live_set(void **state)
{
	struct fixture *f = *state;
	struct state_load_info info;
	json_t *st;
	char key[32];

	assert_int_equal(reopen(f, &info), 0);
	/* Every record is live: a snapshot would not be smaller than the journal. */
	for (int i = 0; i < 4500; i++) {
		snprintf(key, sizeof(key), "k%d/net1", i);
		put(f, key, i);
	}
	commit(f);
	st = state_status(f->st);
	assert_int_equal(json_integer_value(json_object_get(st, "snapshots")), 0);
	json_decref(st);
	assert_int_equal(reopen(f, &info), 0);
	assert_int_equal(json_object_size(f->s.kv), 4500);
}

/* Write a valid snapshot, damage it with `mutate`, and check it is moved aside together with
 * its journal, load reports -EBADMSG and why. */
static void corrupt_snapshot_case(
        struct fixture *f, void (*mutate)(char *data, size_t *len), const char *why)
{
	struct state_load_info info;
	struct kb_err err = {0};
	char *data, *aside;
	size_t len, alen;
	struct stat sb;

	fs_rm_rf(f->dir);
	mkdir(f->dir, 0700);
	assert_int_equal(reopen(f, &info), 0);
	put(f, "a/net1", 1);
	put(f, "b/net1", 2);
	put(f, "c/net1", 3);
	assert_int_equal(state_compact(f->st, &err), 0);
	put(f, "d/net1", 4);
	commit(f);
	data = slurp(f->snap, &len);
	mutate(data, &len);
	spit(f->snap, data, len);

	assert_int_equal(reopen(f, &info), -EBADMSG);
	if (!strstr(info.why, why))
		fail_msg("why '%s' does not mention '%s'", info.why, why);
	assert_true(strncmp(info.snapshot_aside, f->snap, strlen(f->snap)) == 0);
	assert_int_equal(stat(f->snap, &sb), -1);
	aside = slurp(info.snapshot_aside, &alen);
	assert_int_equal(alen, len);
	assert_memory_equal(aside, data, len);
	free(aside);
	free(data);
	/* The journal continues the bad snapshot: it goes aside too. */
	assert_true(strncmp(info.journal_aside, f->journal, strlen(f->journal)) == 0);
	assert_int_equal(stat(info.journal_aside, &sb), 0);
	assert_int_equal(stat(f->journal, &sb), -1);

	/* The owner restarts from empty (as alloc_init does) and works normally. */
	json_object_clear(f->s.kv);
	put(f, "e/net1", 5);
	commit(f);
	assert_int_equal(reopen(f, &info), 0);
	assert_string_equal(info.snapshot_aside, "");
	assert_int_equal(json_object_size(f->s.kv), 1);
	assert_int_equal(get(f, "e/net1"), 5);
}

static void flip_record(char *data, size_t *len)
{
	data[line_offset(data, *len, 2) + 15] ^= 0x04;
}

static void flip_header(char *data, size_t *len)
{
	(void)len;
	data[12] ^= 0x04;
}

static void drop_end(char *data, size_t *len)
{
	/* Cut the trailer line: a snapshot written partially. */
	*len = line_offset(data, *len, 4);
	(void)data;
}

static void cut_mid_line(char *data, size_t *len)
{
	*len = line_offset(data, *len, 2) + 7;
	(void)data;
}

static void trailing_garbage(char *data, size_t *len)
{
	memcpy(data + *len, "x\n", 2); /* slurp's buffer has room: it is at least 8 KiB */
	*len += 2;
}

static void set_format(char *data, size_t *len, const char *hdr)
{
	char line[128];
	size_t hdr_end = line_offset(data, *len, 1), n;

	crafted_line(line, sizeof(line), hdr);
	n = strlen(line);
	memmove(data + n, data + hdr_end, *len - hdr_end);
	memcpy(data, line, n);
	*len = *len - hdr_end + n;
}

static void old_format(char *data, size_t *len)
{
	set_format(data, len, "{\"kbnetState\":0,\"seq\":4}");
}

static void wrong_count(char *data, size_t *len)
{
	char line[64];
	size_t end = line_offset(data, *len, 4), n;

	crafted_line(line, sizeof(line), "{\"end\":2}");
	n = strlen(line);
	memcpy(data + end, line, n);
	*len = end + n;
}

static void empty_file(char *data, size_t *len)
{
	(void)data;
	*len = 0;
}

static void test_corrupt_snapshot(void **state)
{
	struct fixture *f = *state;

	corrupt_snapshot_case(f, flip_record, "bad record");
	corrupt_snapshot_case(f, flip_header, "bad header");
	corrupt_snapshot_case(f, drop_end, "truncated");
	corrupt_snapshot_case(f, cut_mid_line, "bad record");
	corrupt_snapshot_case(f, trailing_garbage, "truncated");
	corrupt_snapshot_case(f, old_format, "unknown snapshot format");
	corrupt_snapshot_case(f, wrong_count, "truncated");
	corrupt_snapshot_case(f, empty_file, "bad header");
}

/*
 * A snapshot of a newer format (an agent rolled back after an upgrade): load refuses with
 * -EPROTONOSUPPORT and a message saying so, and both files stay exactly as they were.
 */
static void test_newer_snapshot_format(void **state)
{
	struct fixture *f = *state;
	struct state_load_info info;
	struct kb_err err = {0};
	char *snap, *journal, *s2, *j2;
	size_t slen, jlen, l2;

	assert_int_equal(reopen(f, &info), 0);
	put(f, "a/net1", 1);
	put(f, "b/net1", 2);
	assert_int_equal(state_compact(f->st, &err), 0);
	put(f, "c/net1", 3);
	commit(f);
	snap = slurp(f->snap, &slen);
	set_format(snap, &slen, "{\"kbnetState\":2,\"seq\":2,\"newField\":true}");
	spit(f->snap, snap, slen);
	journal = slurp(f->journal, &jlen);

	state_close(f->st);
	f->st = NULL;
	assert_int_equal(state_open(f->dir, &f->st, &err), 0);
	json_object_clear(f->s.kv);
	memset(&err, 0, sizeof(err));
	assert_int_equal(state_load(f->st, apply, &f->s, &info, &err), -EPROTONOSUPPORT);
	assert_non_null(strstr(err.msg, "state format 2"));
	assert_non_null(strstr(err.msg, "left as they are"));
	assert_string_equal(info.snapshot_aside, "");
	assert_string_equal(info.journal_aside, "");
	s2 = slurp(f->snap, &l2);
	assert_int_equal(l2, slen);
	assert_memory_equal(s2, snap, slen);
	j2 = slurp(f->journal, &l2);
	assert_int_equal(l2, jlen);
	assert_memory_equal(j2, journal, jlen);
	free(s2);
	free(j2);
	free(snap);
	free(journal);
}

/* ---- lock ---- */

static void test_lock(void **state)
{
	struct fixture *f = *state;
	struct state *second = NULL;
	struct kb_err err = {0};

	assert_int_equal(state_open(f->dir, &f->st, &err), 0);
	assert_int_equal(state_open(f->dir, &second, &err), -EBUSY);
	assert_null(second);
	assert_non_null(strstr(err.msg, "locked by another kbnet-agent"));
	assert_non_null(strstr(err.msg, f->dir));
	/* Released on close. */
	state_close(f->st);
	f->st = NULL;
	assert_int_equal(state_open(f->dir, &second, &err), 0);
	state_close(second);
}

/* ---- failed commits ---- */

static void test_commit_failure_keeps_buffer(void **state)
{
	struct fixture *f = *state;
	struct state_load_info info;
	struct kb_err err = {0};
	json_t *st;

	assert_int_equal(reopen(f, &info), 0);
	put(f, "a/net1", 1);
	/* A directory where the journal file should be: open() fails (even for root). */
	assert_int_equal(mkdir(f->journal, 0700), 0);
	assert_int_equal(state_commit(f->st, &err), -EISDIR);
	assert_non_null(strstr(err.msg, "persisting state"));
	assert_true(state_pending(f->st));
	assert_true(state_commit_failed(f->st));
	st = state_status(f->st);
	assert_non_null(strstr(json_string_value(json_object_get(st, "lastError")), "journal"));
	json_decref(st);
	/* More changes join the kept buffer; once the cause is gone, one commit writes all. */
	put(f, "b/net1", 2);
	assert_int_equal(rmdir(f->journal), 0);
	commit(f);
	assert_false(state_pending(f->st));
	assert_false(state_commit_failed(f->st));
	assert_int_equal(reopen(f, &info), 0);
	assert_int_equal(info.replayed, 2);
	assert_int_equal(get(f, "a/net1"), 1);
	assert_int_equal(get(f, "b/net1"), 2);
}

/* A write cut short (disk full, file size limit) must not leave half a record that would
 * corrupt the journal for the records appended after it. */
static void test_commit_partial_write_rolled_back(void **state)
{
	struct fixture *f = *state;
	struct state_load_info info;
	struct kb_err err = {0};
	struct rlimit old, lim;
	off_t before;
	int r;

	assert_int_equal(reopen(f, &info), 0);
	put(f, "a/net1", 1);
	commit(f);
	before = file_size(f->journal);
	for (int i = 0; i < 50; i++) {
		char key[32];
		snprintf(key, sizeof(key), "k%d/net1", i);
		put(f, key, i);
	}
	/* Writes beyond this size fail with EFBIG after a short write. */
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = before + 100;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	r = state_commit(f->st, &err);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(r, -EFBIG);
	assert_true(state_pending(f->st));
	assert_int_equal(file_size(f->journal), before);

	commit(f);
	assert_int_equal(reopen(f, &info), 0);
	assert_false(info.torn_tail);
	assert_string_equal(info.journal_aside, "");
	assert_int_equal(info.replayed, 51);
	assert_int_equal(json_object_size(f->s.kv), 51);
	assert_int_equal(get(f, "k49/net1"), 49);
}

static void test_snapshot_failure_keeps_journal(void **state)
{
	struct fixture *f = *state;
	struct state_load_info info;
	struct kb_err err = {0};
	char tmp[256];

	assert_int_equal(reopen(f, &info), 0);
	put(f, "a/net1", 1);
	commit(f);
	/* The snapshot's temp file name is taken by a directory: the snapshot cannot be written;
	 * the journal must stay as it was. */
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", f->snap, (int)getpid());
	assert_int_equal(mkdir(tmp, 0700), 0);
	assert_true(state_compact(f->st, &err) < 0);
	assert_non_null(strstr(err.msg, "snapshot"));
	rmdir(tmp);
	assert_true(file_size(f->journal) > 0);
	assert_int_equal(reopen(f, &info), 0);
	assert_int_equal(get(f, "a/net1"), 1);
}

static void test_record_too_big(void **state)
{
	struct fixture *f = *state;
	struct state_load_info info;
	size_t n = STATE_MAX_LINE + 16;
	char *big = malloc(n + 1);
	json_t *v;

	assert_int_equal(reopen(f, &info), 0);
	memset(big, 'x', n);
	big[n] = '\0';
	v = json_pack("{s:s}", "blob", big);
	assert_int_equal(state_put(f->st, "a/net1", v), -E2BIG);
	assert_false(state_pending(f->st));
	assert_int_equal(state_seq(f->st), 0);
	json_decref(v);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_uncommitted_is_lost, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_kick_on_change, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_empty_dir_and_empty_commit, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_state_dir_created, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                test_torn_tail_complete_line_bad_crc, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_corrupt_middle_record, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_journal_sequence_gap, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_journal_record_without_key, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_apply_failure_aborts_load, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_compact, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_compact_without_dumper, setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                test_crash_between_snapshot_and_truncate, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_crash_before_snapshot_rename, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_auto_compaction, setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                test_no_auto_compaction_for_large_live_set, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_corrupt_snapshot, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_newer_snapshot_format, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_commit_failure_keeps_buffer, setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                test_commit_partial_write_rolled_back, setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                test_snapshot_failure_keeps_journal, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_record_too_big, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
