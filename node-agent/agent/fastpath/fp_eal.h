/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DPDK environment: EAL initialisation from the `fastpath:` settings, the packet mempool and
 * the uplink's device arguments. The EAL can be initialised once per process; the agent's
 * main thread becomes the (unpinned) main lcore and each configured CPU gets a worker lcore.
 */
#ifndef KB_FP_EAL_H
#define KB_FP_EAL_H

#include <stdbool.h>

#include "agent/fastpath/fp_config.h"
#include "common/err.h"

struct rte_mempool;

struct fp_eal_info {
	bool hugepages;        /* false: --no-huge (anonymous memfd memory) */
	char memory_desc[128]; /* for the log and status */
	char file_prefix[64];
	unsigned n_workers;
	unsigned worker_lcore[FP_MAX_WORKERS];
	int worker_cpu[FP_MAX_WORKERS];
};

/* Initialise the EAL; the uplink's devargs are probed here too. */
int fp_eal_init(const struct fp_cfg *c, struct fp_eal_info *info, struct kb_err *err);
struct rte_mempool *fp_eal_mempool(void);
void fp_eal_fini(void);

/* Pure helpers, exposed for tests. */
/* Whether devargs name a PCI device ("0000:03:00.0,..." or "03:00.0"). */
bool fp_devargs_is_pci(const char *devargs);
/* Device name part of devargs (up to the first comma). */
int fp_devargs_name(const char *devargs, char *buf, size_t size);

#endif
