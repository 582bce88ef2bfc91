/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test hook for kill -9 at a named step. When the environment variable KBNET_CRASH_AT names
 * the step, the process sends itself SIGKILL there (nothing is flushed or cleaned up, as with
 * a node OOM kill or power loss of the process). Unset, a step costs one getenv().
 *
 * Steps (see test/integration/crash_points.sh):
 *   kbnet-cni   cni-add-attached     agent attach acknowledged, before IPAM
 *               cni-add-ipam-running the IPAM plugin started, not waited for
 *               cni-add-ipam-done    IPAM lease taken, before the netdev/device-info steps
 *               cni-add-devinfo      device-info file written, before the result is printed
 *               cni-del-detached     agent detach acknowledged, before IPAM DEL
 *               cni-del-ipam-done    IPAM DEL done, before the files are removed
 *   kbnet-agent agent-ipam-picked     agent IPAM addresses held in memory, device not prepared
 *               agent-attach-buffered allocation made in memory, not yet committed
 *               agent-detach-buffered release made in memory, not yet committed
 *               agent-committed       a commit is durable, before any reply is sent
 *               agent-netdev-moved    a VF netdev moved into the pod, not yet configured
 */
#ifndef KB_CRASHPOINT_H
#define KB_CRASHPOINT_H

#define CRASHPOINT_ENV "KBNET_CRASH_AT"

void crashpoint_hit(const char *step);

#endif
