/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/state.h"
#include "api/apimsg_status.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/str.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define SNAP_FORMAT 1
#define COMPACT_MIN 4096 /* journal records before a snapshot is considered */

struct state {
	char dir[PATH_MAX];
	char snap_path[PATH_MAX];
	char journal_path[PATH_MAX];
	int lock_fd;
	int journal_fd;
	uint64_t seq;             /* last sequence number handed out */
	uint64_t journal_records; /* records in the journal file */
	uint64_t live;            /* records in the store (maintained by load/put/del) */
	uint64_t commits, snapshots;
	char *buf; /* pending journal text */
	size_t len, cap;
	uint64_t pending_records;
	state_dump_fn dump;
	void *dump_ctx;
	char last_error[256];
	bool commit_failed;
	state_kick_fn kick; /* a change was buffered: commit it soon */
	void *kick_ctx;
};

int state_open(const char *dir, struct state **ret, struct kb_err *err)
{
	char lock_path[PATH_MAX];
	struct state *st;
	int r;

	if ((r = fs_mkdir_p(dir, 0700)) < 0)
		return kb_err_set(err, -r, "state directory %s: %s", dir, strerror(-r));
	if (!(st = calloc(1, sizeof(*st))))
		return kb_err_set(err, ENOMEM, "out of memory");
	st->journal_fd = -1;
	if (str_copy(st->dir, sizeof(st->dir), dir) < 0 ||
	        str_printf(st->snap_path, sizeof(st->snap_path), "%s/%s", dir, STATE_SNAPSHOT) <
	                0 ||
	        str_printf(st->journal_path, sizeof(st->journal_path), "%s/%s", dir,
	                STATE_JOURNAL) < 0 ||
	        str_printf(lock_path, sizeof(lock_path), "%s/%s", dir, STATE_LOCK) < 0) {
		free(st);
		return kb_err_set(err, ENAMETOOLONG, "state directory path too long");
	}
	st->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	/* A file system turned read-only (I/O errors) still serves what was committed; every
	 * change is then refused at commit time. flock needs no write access. */
	if (st->lock_fd < 0 && errno == EROFS)
		st->lock_fd = open(lock_path, O_RDONLY | O_CLOEXEC);
	if (st->lock_fd < 0) {
		r = kb_err_set(err, errno, "%s: %s", lock_path, strerror(errno));
		free(st);
		return r;
	}
	/* Two agents on one state directory would hand out the same devices. */
	if (flock(st->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		r = kb_err_set(err, errno == EWOULDBLOCK ? EBUSY : errno,
		        "state directory %s is locked by another kbnet-agent", dir);
		close(st->lock_fd);
		free(st);
		return r;
	}
	*ret = st;
	return 0;
}

void state_set_dumper(struct state *st, state_dump_fn dump, void *ctx)
{
	st->dump = dump;
	st->dump_ctx = ctx;
}

void state_close(struct state *st)
{
	if (!st)
		return;
	if (st->journal_fd >= 0)
		close(st->journal_fd);
	close(st->lock_fd);
	free(st->buf);
	free(st);
}

/* ---- line format: "<crc32 as 8 hex digits> <json>\n" ---- */

static int buf_reserve(char **buf, size_t *cap, size_t need)
{
	char *nb;
	size_t ncap;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap : 4096;
	while (ncap < need)
		ncap *= 2;
	if (!(nb = realloc(*buf, ncap)))
		return -ENOMEM;
	*buf = nb;
	*cap = ncap;
	return 0;
}

static int line_append(char **buf, size_t *len, size_t *cap, json_t *obj)
{
	_cleanup_free_ char *js = json_dumps(obj, JSON_COMPACT);
	size_t n;

	if (!js)
		return -ENOMEM;
	n = strlen(js);
	if (n > STATE_MAX_LINE)
		return -E2BIG;
	if (buf_reserve(buf, cap, *len + n + 11) < 0)
		return -ENOMEM;
	snprintf(*buf + *len, 10, "%08lx", crc32(0, (const Bytef *)js, n));
	(*buf)[*len + 8] = ' ';
	memcpy(*buf + *len + 9, js, n);
	(*buf)[*len + 9 + n] = '\n';
	*len += n + 10;
	return 0;
}

/* Parse one line (without its '\n'); NULL when the CRC or JSON is bad. */
static json_t *line_parse(const char *line, size_t n)
{
	char hex[9];
	unsigned long crc;
	char *end;

	if (n < 10 || line[8] != ' ')
		return NULL;
	memcpy(hex, line, 8);
	hex[8] = '\0';
	crc = strtoul(hex, &end, 16);
	if (*end || crc != crc32(0, (const Bytef *)line + 9, n - 9))
		return NULL;
	return json_loadb(line + 9, n - 9, JSON_REJECT_DUPLICATES, NULL);
}

/* ---- changes ---- */

static int record(struct state *st, const char *key, json_t *value)
{
	json_t *rec = json_pack("{s:I, s:s}", "seq", (json_int_t)(st->seq + 1), "key", key);
	int r;

	if (!rec)
		return -ENOMEM;
	if (value)
		json_object_set(rec, "value", value);
	r = line_append(&st->buf, &st->len, &st->cap, rec);
	json_decref(rec);
	if (r < 0)
		return r;
	st->seq++;
	st->pending_records++;
	/* Whoever made the change (a request, kube GC, reconcile, rediscovery), it is committed
	 * soon: callers do not have to remember to ask. */
	if (st->kick)
		st->kick(st->kick_ctx);
	return 0;
}

void state_set_kick(struct state *st, state_kick_fn kick, void *ctx)
{
	st->kick = kick;
	st->kick_ctx = ctx;
	/* Changes buffered before (start-up: restore, intents, modules) are committed too. */
	if (kick && st->len)
		kick(ctx);
}

int state_put(struct state *st, const char *key, json_t *value)
{
	return record(st, key, value);
}

int state_del(struct state *st, const char *key)
{
	return record(st, key, NULL);
}

bool state_commit_failed(const struct state *st)
{
	return st->commit_failed;
}

bool state_pending(const struct state *st)
{
	return st->len > 0;
}

uint64_t state_seq(const struct state *st)
{
	return st->seq;
}

void state_set_live(struct state *st, uint64_t live)
{
	st->live = live;
}

static int open_journal(struct state *st)
{
	if (st->journal_fd >= 0)
		return 0;
	st->journal_fd = open(st->journal_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	return st->journal_fd < 0 ? -errno : 0;
}

int state_commit(struct state *st, struct kb_err *err)
{
	size_t off = 0;
	int r;

	if (!st->len)
		return 0;
	if ((r = open_journal(st)) < 0)
		goto fail;
	while (off < st->len) {
		ssize_t n = write(st->journal_fd, st->buf + off, st->len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto fail_partial;
		}
		off += n;
	}
	if (fdatasync(st->journal_fd) < 0) {
		r = -errno;
		goto fail_partial;
	}
	st->journal_records += st->pending_records;
	st->pending_records = 0;
	st->len = 0;
	st->commits++;
	st->commit_failed = false;
	st->last_error[0] = '\0';
	/* Snapshot when the journal holds more than the store: bounded replay, bounded disk. */
	if (st->dump && st->journal_records >= COMPACT_MIN && st->journal_records > st->live)
		state_compact(st, NULL); /* failure is not fatal: the journal stays valid */
	return 0;
fail_partial:
	/* A partial append would corrupt the journal: cut it back and retry from scratch. */
	close(st->journal_fd);
	st->journal_fd = -1;
	{
		struct stat sb;
		if (stat(st->journal_path, &sb) == 0 && off && (size_t)sb.st_size >= off)
			if (truncate(st->journal_path, sb.st_size - off) < 0) {
				/* Nothing more to do: the next load cuts the torn tail. */
			}
	}
fail:
	st->commit_failed = true;
	snprintf(st->last_error, sizeof(st->last_error), "journal write: %s", strerror(-r));
	return kb_err_set(err, -r, "persisting state in %s: %s", st->dir, strerror(-r));
}

struct emit_ctx {
	char *buf;
	size_t len, cap;
	uint64_t count;
	int error;
};

static int emit_record(void *ectx, const char *key, json_t *value)
{
	struct emit_ctx *ec = ectx;
	json_t *rec = json_pack("{s:s, s:O}", "key", key, "value", value);
	int r;

	if (!rec)
		return ec->error = -ENOMEM;
	r = line_append(&ec->buf, &ec->len, &ec->cap, rec);
	json_decref(rec);
	if (r < 0)
		return ec->error = r;
	ec->count++;
	return 0;
}

int state_compact(struct state *st, struct kb_err *err)
{
	struct emit_ctx ec = {0};
	json_t *hdr, *trailer;
	int r;

	if (!st->dump)
		return kb_err_set(err, ENOSYS, "no state dumper");
	if (st->len && (r = state_commit(st, err)) < 0)
		return r;
	hdr = json_pack("{s:i, s:I}", "kbnetState", SNAP_FORMAT, "seq", (json_int_t)st->seq);
	r = hdr ? line_append(&ec.buf, &ec.len, &ec.cap, hdr) : -ENOMEM;
	json_decref(hdr);
	if (r == 0)
		r = st->dump(st->dump_ctx, emit_record, &ec);
	if (r == 0)
		r = ec.error;
	if (r == 0) {
		trailer = json_pack("{s:I}", "end", (json_int_t)ec.count);
		r = trailer ? line_append(&ec.buf, &ec.len, &ec.cap, trailer) : -ENOMEM;
		json_decref(trailer);
	}
	if (r == 0)
		r = fs_write_atomic(st->snap_path, ec.buf, ec.len, 0600);
	free(ec.buf);
	if (r < 0) {
		snprintf(st->last_error, sizeof(st->last_error), "snapshot: %s", strerror(-r));
		return kb_err_set(err, -r, "writing snapshot %s: %s", st->snap_path, strerror(-r));
	}
	/* The snapshot now holds every journal record (seq <= its header): empty the journal. */
	if (st->journal_fd >= 0) {
		close(st->journal_fd);
		st->journal_fd = -1;
	}
	if (truncate(st->journal_path, 0) < 0 && errno != ENOENT) {
		/* Harmless: replay skips records with seq <= the snapshot's. */
	} else {
		fs_fsync_dir(st->dir);
	}
	st->live = ec.count;
	st->journal_records = 0;
	st->snapshots++;
	return 0;
}

/* ---- loading ---- */

struct reader {
	char *data;
	size_t len, off;
};

/* Next line without '\n'; returns false at EOF. *complete is false for a last line with no
 * newline (a torn write). */
static bool next_line(struct reader *rd, const char **line, size_t *n, bool *complete)
{
	char *nl;

	if (rd->off >= rd->len)
		return false;
	*line = rd->data + rd->off;
	nl = memchr(*line, '\n', rd->len - rd->off);
	if (nl) {
		*n = nl - *line;
		*complete = true;
		rd->off = nl - rd->data + 1;
	} else {
		*n = rd->len - rd->off;
		*complete = false;
		rd->off = rd->len;
	}
	return true;
}

static int load_snapshot(struct state *st, state_apply_fn apply, void *ctx, uint64_t *snap_seq,
        char *why, size_t why_size, struct kb_err *err)
{
	_cleanup_free_ char *data = NULL;
	struct reader rd = {0};
	const char *line;
	size_t n, len;
	bool complete, ended = false;
	uint64_t count = 0;
	json_t *hdr, *fmt;
	int r;

	r = fs_read_file(st->snap_path, (size_t)4 << 30, &data, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return kb_err_set(err, -r, "%s: %s", st->snap_path, strerror(-r));
	rd.data = data;
	rd.len = len;
	if (!next_line(&rd, &line, &n, &complete) || !complete || !(hdr = line_parse(line, n))) {
		snprintf(why, why_size, "bad header");
		return -EBADMSG;
	}
	/* A format this agent does not know (a newer agent wrote it, then was rolled back) is
	 * not damage: dropping it would drop every allocation. Stop, touching nothing. */
	fmt = json_object_get(hdr, "kbnetState");
	if (json_is_integer(fmt) && json_integer_value(fmt) > SNAP_FORMAT) {
		r = kb_err_set(err, EPROTONOSUPPORT,
		        "%s has state format %lld, this kbnet-agent reads format %d only (written "
		        "by a newer agent?): not starting; the state files are left as they are "
		        "(run the newer agent, or move the files away to start empty)",
		        st->snap_path, (long long)json_integer_value(fmt), SNAP_FORMAT);
		json_decref(hdr);
		return r;
	}
	if (json_integer_value(fmt) != SNAP_FORMAT ||
	        !json_is_integer(json_object_get(hdr, "seq")) ||
	        json_integer_value(json_object_get(hdr, "seq")) < 0) {
		json_decref(hdr);
		snprintf(why, why_size, "unknown snapshot format");
		return -EBADMSG;
	}
	*snap_seq = json_integer_value(json_object_get(hdr, "seq"));
	json_decref(hdr);
	while (next_line(&rd, &line, &n, &complete)) {
		json_t *rec = complete ? line_parse(line, n) : NULL;
		const char *key;
		json_t *value;
		if (!rec) {
			snprintf(why, why_size, "bad record at byte %zu", (size_t)(line - data));
			return -EBADMSG;
		}
		if (json_is_integer(json_object_get(rec, "end"))) {
			ended = json_integer_value(json_object_get(rec, "end")) ==
			                (json_int_t)count &&
			        rd.off == rd.len;
			json_decref(rec);
			break;
		}
		key = json_string_value(json_object_get(rec, "key"));
		value = json_object_get(rec, "value");
		if (!key || !value) {
			json_decref(rec);
			snprintf(why, why_size, "record without key or value");
			return -EBADMSG;
		}
		r = apply(ctx, key, value, err);
		json_decref(rec);
		if (r < 0)
			return r;
		count++;
	}
	if (!ended) {
		snprintf(why, why_size, "truncated (no valid end record)");
		return -EBADMSG;
	}
	st->live = count;
	return 0;
}

int state_load(struct state *st, state_apply_fn apply, void *ctx, struct state_load_info *info,
        struct kb_err *err)
{
	_cleanup_free_ char *data = NULL;
	struct reader rd = {0};
	uint64_t snap_seq = 0;
	const char *line;
	size_t n, len, good = 0;
	bool complete;
	int r;

	memset(info, 0, sizeof(*info));
	r = load_snapshot(st, apply, ctx, &snap_seq, info->why, sizeof(info->why), err);
	if (r == -EBADMSG) {
		/* The records applied so far cannot be trusted either: the caller restarts from
		 * empty. The journal only makes sense on top of its snapshot: keep both aside. */
		fs_move_aside(st->snap_path, "corrupt", info->snapshot_aside,
		        sizeof(info->snapshot_aside));
		if (access(st->journal_path, F_OK) == 0)
			fs_move_aside(st->journal_path, "corrupt", info->journal_aside,
			        sizeof(info->journal_aside));
		st->live = 0;
		return -EBADMSG;
	}
	if (r < 0)
		return r;
	st->seq = snap_seq;

	r = fs_read_file(st->journal_path, (size_t)4 << 30, &data, &len);
	if (r == -ENOENT)
		goto done;
	if (r < 0)
		return kb_err_set(err, -r, "%s: %s", st->journal_path, strerror(-r));
	rd.data = data;
	rd.len = len;
	while (next_line(&rd, &line, &n, &complete)) {
		json_t *rec = complete ? line_parse(line, n) : NULL;
		json_t *seqj = json_object_get(rec, "seq"), *value;
		const char *key = json_string_value(json_object_get(rec, "key"));
		uint64_t seq;

		if (!rec || !json_is_integer(seqj) || !key) {
			json_decref(rec);
			if (rd.off == rd.len) {
				/* Only the last record is damaged: an interrupted append. */
				info->torn_tail = true;
			} else {
				snprintf(info->why, sizeof(info->why),
				        "journal record at byte %zu is corrupt", good);
				fs_move_aside(st->journal_path, "corrupt", info->journal_aside,
				        sizeof(info->journal_aside));
				/* Keep the good prefix as the journal. */
				fs_write_atomic(st->journal_path, data, good, 0600);
			}
			break;
		}
		seq = json_integer_value(seqj);
		if (seq > snap_seq) {
			if (seq != st->seq + 1) {
				json_decref(rec);
				snprintf(info->why, sizeof(info->why),
				        "journal sequence gap at byte %zu", good);
				fs_move_aside(st->journal_path, "corrupt", info->journal_aside,
				        sizeof(info->journal_aside));
				fs_write_atomic(st->journal_path, data, good, 0600);
				break;
			}
			value = json_object_get(rec, "value");
			r = apply(ctx, key, value, err);
			if (r < 0) {
				json_decref(rec);
				return r;
			}
			st->seq = seq;
			info->replayed++;
		}
		json_decref(rec);
		good = rd.off;
		st->journal_records++;
	}
	if (info->torn_tail && truncate(st->journal_path, good) < 0)
		return kb_err_set(err, errno, "truncating torn journal tail: %s", strerror(errno));
done:
	return 0;
}

json_t *state_status(const struct state *st)
{
	return apimsg_state_status_encode(&(struct apimsg_state_status){
	        .dir = st->dir,
	        .seq = (int64_t)st->seq,
	        .journal_records = (int64_t)st->journal_records,
	        .commits = (int64_t)st->commits,
	        .snapshots = (int64_t)st->snapshots,
	        .last_error = st->last_error,
	});
}
