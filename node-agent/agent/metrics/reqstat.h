/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API request accounting: every request the agent's API server finishes is counted by
 * operation and result (errno name), with a latency histogram. Operations that serve a CNI
 * command (attach=ADD, detach=DEL, check=CHECK, gc=GC, status=STATUS) are reported as
 * kbnet_cni_requests_total{command,result} and kbnet_cni_request_duration_seconds{command};
 * every operation also as kbnet_api_requests_total{op,result}.
 */
#ifndef KB_REQSTAT_H
#define KB_REQSTAT_H

#include <stdint.h>

/* The observer entry point, also called by tests. `op` must outlive the process (handler
 * names are static strings). */
void reqstat_record(const char *op, int errnum, uint64_t usec);
/* Forget every count (tests). */
void reqstat_reset(void);

#endif
