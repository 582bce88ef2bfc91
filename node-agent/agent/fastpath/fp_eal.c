/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/fastpath/fp_eal.h"
#include "common/str.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

/* DPDK writes each log message to the stream (rte_openlog_stream): split into lines and
 * hand them to log_msg at the level DPDK gave the message. */
static FILE *eal_log;

static ssize_t eal_log_write(void *cookie, const char *buf, size_t size)
{
	int dl = rte_log_cur_msg_loglevel();
	enum log_level lvl = dl <= (int)RTE_LOG_ERR       ? LOG_LVL_ERR
	                     : dl <= (int)RTE_LOG_WARNING ? LOG_LVL_WARN
	                     : dl <= (int)RTE_LOG_INFO    ? LOG_LVL_INFO
	                                                  : LOG_LVL_DEBUG;
	size_t i = 0;

	(void)cookie;
	while (i < size) {
		size_t n = 0;
		while (i + n < size && buf[i + n] != '\n')
			n++;
		if (n)
			log_msg(lvl, "%.*s", (int)n, buf + i);
		i += n + 1;
	}
	return (ssize_t)size;
}

static const cookie_io_functions_t eal_log_fns = {.write = eal_log_write};

static struct rte_mempool *pool;
static bool eal_up, eal_done; /* the EAL cannot be initialised twice in a process */

struct rte_mempool *fp_eal_mempool(void)
{
	return pool;
}

bool fp_devargs_is_pci(const char *d)
{
	/* [domain:]bus:dev.fn: hex digits, colons, one dot, before any comma. */
	size_t i, colons = 0, dots = 0;

	for (i = 0; d[i] && d[i] != ','; i++) {
		if (d[i] == ':')
			colons++;
		else if (d[i] == '.')
			dots++;
		else if (!isxdigit((unsigned char)d[i]))
			return false;
	}
	return i > 0 && dots == 1 && (colons == 1 || colons == 2);
}

int fp_devargs_name(const char *devargs, char *buf, size_t size)
{
	size_t n = strcspn(devargs, ",");

	if (n == 0 || n >= size)
		return -EINVAL;
	memcpy(buf, devargs, n);
	buf[n] = '\0';
	return 0;
}

/* Free hugepage memory of the default size, from /proc/meminfo. */
static uint64_t hugepages_free_bytes(void)
{
	unsigned long long free_pages = 0, size_kb = 0, v;
	char line[256];
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "HugePages_Free: %llu", &v) == 1)
			free_pages = v;
		else if (sscanf(line, "Hugepagesize: %llu kB", &v) == 1)
			size_kb = v;
	}
	fclose(f);
	return (uint64_t)free_pages * size_kb * 1024;
}

static uint64_t pool_bytes(const struct fp_cfg *c)
{
	/* mbuf + headroom + data room + mempool object header, rounded up generously */
	return (uint64_t)(c->mbufs + 1) * (c->mbuf_size + 256);
}

/* Worker CPUs: the configured ones, or the last CPU the agent may run on. */
static int pick_workers(
        const struct fp_cfg *c, cpu_set_t *allowed, struct fp_eal_info *info, struct kb_err *err)
{
	if (c->n_workers) {
		for (unsigned i = 0; i < c->n_workers; i++) {
			if (!CPU_ISSET(c->workers[i], allowed))
				return kb_err_set(err, EINVAL,
				        "fastpath.workers: CPU %d is not in the agent's affinity "
				        "mask",
				        c->workers[i]);
			info->worker_cpu[i] = c->workers[i];
		}
		info->n_workers = c->n_workers;
		return 0;
	}
	for (int cpu = CPU_SETSIZE - 1; cpu >= 0; cpu--)
		if (CPU_ISSET(cpu, allowed)) {
			info->worker_cpu[0] = cpu;
			info->n_workers = 1;
			return 0;
		}
	return kb_err_set(err, EINVAL, "no CPU in the agent's affinity mask");
}

/* --lcores: lcore 0 (the agent's main thread) floats over every allowed CPU so that the
 * control plane is not pinned next to a busy worker; lcore i+1 is pinned to worker i's CPU. */
static int lcores_arg(
        const cpu_set_t *allowed, const struct fp_eal_info *info, char *buf, size_t size)
{
	size_t off = 0;
	int n;
	bool first = true;

	n = snprintf(buf, size, "0@(");
	off = n;
	for (int cpu = 0; cpu < CPU_SETSIZE && off < size; cpu++) {
		if (!CPU_ISSET(cpu, allowed))
			continue;
		n = snprintf(buf + off, size - off, "%s%d", first ? "" : ",", cpu);
		off += n;
		first = false;
	}
	if (off < size) {
		n = snprintf(buf + off, size - off, ")");
		off += n;
	}
	for (unsigned i = 0; i < info->n_workers && off < size; i++) {
		n = snprintf(buf + off, size - off, ",%u@%d", i + 1, info->worker_cpu[i]);
		off += n;
	}
	return off < size ? 0 : -ENAMETOOLONG;
}

int fp_eal_init(const struct fp_cfg *c, struct fp_eal_info *info, struct kb_err *err)
{
	char lcores[1024], mem_mb[16], prefix[64], *argv[FP_MAX_EAL_ARGS + 24];
	char uplink_opt[300];
	uint64_t need = pool_bytes(c), have = hugepages_free_bytes();
	cpu_set_t allowed;
	int argc = 0, r;

	if (eal_up || eal_done)
		return kb_err_set(err, EALREADY,
		        "the DPDK EAL was already initialised in this process: restart the agent");
	memset(info, 0, sizeof(*info));
	if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
		return kb_err_set(err, errno, "sched_getaffinity: %s", strerror(errno));
	if ((r = pick_workers(c, &allowed, info, err)) < 0)
		return r;
	if (lcores_arg(&allowed, info, lcores, sizeof(lcores)) < 0)
		return kb_err_set(err, ENAMETOOLONG, "too many CPUs");
	if (c->file_prefix[0])
		str_copy(prefix, sizeof(prefix), c->file_prefix);
	else
		snprintf(prefix, sizeof(prefix), "kbnet-%d", (int)getpid());
	str_copy(info->file_prefix, sizeof(info->file_prefix), prefix);

	switch (c->memory) {
	case FP_MEM_HUGEPAGES:
		info->hugepages = true;
		break;
	case FP_MEM_NO_HUGE:
		info->hugepages = false;
		break;
	case FP_MEM_AUTO:
		/* Twice the pool: the EAL needs room for rings, vhost and its own tables. */
		info->hugepages = have >= 2 * need + (64u << 20);
		break;
	}
	argv[argc++] = "kbnet-agent";
	argv[argc++] = "--file-prefix";
	argv[argc++] = prefix;
	argv[argc++] = "--lcores";
	argv[argc++] = lcores;
	argv[argc++] = "--main-lcore";
	argv[argc++] = "0";
	/* The agent has its own API and metrics: no DPDK telemetry socket. */
	argv[argc++] = "--no-telemetry";
	if (info->hugepages) {
		/* Memory from memfd hugepages, no files in a hugetlbfs mount to clean up. */
		argv[argc++] = "--in-memory";
		snprintf(info->memory_desc, sizeof(info->memory_desc),
		        "hugepages (%" PRIu64 " MiB free before start)", have >> 20);
	} else {
		/* Anonymous memfd-backed memory; no shared config files either. */
		snprintf(mem_mb, sizeof(mem_mb), "%u", c->memory_mb);
		argv[argc++] = "--no-huge";
		argv[argc++] = "-m";
		argv[argc++] = mem_mb;
		argv[argc++] = "--no-shconf";
		snprintf(info->memory_desc, sizeof(info->memory_desc),
		        "no-huge: %u MiB of memfd-backed memory (%s)", c->memory_mb,
		        c->memory == FP_MEM_NO_HUGE ? "configured" : "not enough free hugepages");
	}
	if (c->uplink.devargs[0] && fp_devargs_is_pci(c->uplink.devargs)) {
		argv[argc++] = "-a";
		argv[argc++] = (char *)c->uplink.devargs;
	} else {
		argv[argc++] = "--no-pci";
		if (c->uplink.devargs[0]) {
			snprintf(uplink_opt, sizeof(uplink_opt), "%s", c->uplink.devargs);
			argv[argc++] = "--vdev";
			argv[argc++] = uplink_opt;
		}
	}
	for (size_t i = 0; i < c->n_eal; i++)
		argv[argc++] = c->eal[i];
	argv[argc] = NULL;

	/* EAL messages go through the agent's logger (same format, text or JSON, same
	 * level filter), not to syslog nor raw to stderr. */
	if ((eal_log = fopencookie(NULL, "w", eal_log_fns)))
		setvbuf(eal_log, NULL, _IOLBF, 0);
	rte_openlog_stream(eal_log ? eal_log : stderr);
	eal_done = true;
	if (rte_eal_init(argc, argv) < 0)
		return kb_err_set(err, rte_errno ? rte_errno : EINVAL,
		        "DPDK EAL initialisation failed (%s); memory: %s", rte_strerror(rte_errno),
		        info->memory_desc);
	eal_up = true;
	for (unsigned i = 0; i < info->n_workers; i++)
		info->worker_lcore[i] = i + 1;

	pool = rte_pktmbuf_pool_create(
	        "kbnet_mbufs", c->mbufs, c->mbuf_cache, 0, c->mbuf_size, SOCKET_ID_ANY);
	if (!pool) {
		r = rte_errno ? rte_errno : ENOMEM;
		fp_eal_fini();
		return kb_err_set(
		        err, r, "creating a pool of %u mbufs: %s", c->mbufs, rte_strerror(r));
	}
	return 0;
}

void fp_eal_fini(void)
{
	if (!eal_up)
		return;
	char dir[PATH_MAX];

	if (pool)
		rte_mempool_free(pool);
	pool = NULL;
	/* In-memory/no-shconf modes leave only an empty runtime directory: remove it, so that
	 * agents with unique file prefixes do not pile them up under /var/run/dpdk. */
	str_copy(dir, sizeof(dir), rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	if (dir[0])
		rmdir(dir);
	eal_up = false;
}
