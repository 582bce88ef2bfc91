#!/usr/bin/env bash
# Fast path on hugepages, as on a production node: the agent's EAL on 2 MiB hugepages and two
# testpmd pods on hugepages with --in-memory --single-file-segments (what vhost-user needs:
# at most 8 memory regions). The other e2e suites run --no-huge so that they need no
# hugepages; this one reserves them (root), restores the system's count at exit, and when
# the kernel cannot give them, runs the same checks with --no-huge and says so.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_fp.bash"
fp_require

NEED=${FP_HUGEPAGES_NEED:-320} # pages: agent (pool x2 + 64 MiB) and two pods of 128 MiB, with slack
hp() { awk -v k="$1:" '$1 == k {print $2}' /proc/meminfo; }
orig=$(cat /proc/sys/vm/nr_hugepages)
free=$(hp HugePages_Free)
if [ "$free" -lt "$NEED" ]; then
	kb_defer "echo $orig >/proc/sys/vm/nr_hugepages"
	echo $((orig + NEED - free)) >/proc/sys/vm/nr_hugepages 2>/dev/null || true
	free=$(hp HugePages_Free)
fi
if [ "$free" -ge "$NEED" ]; then
	kb_log "hugepages: $free free 2 MiB pages (reserved for this suite: $NEED)"
	FP_MEMORY=hugepages
	FP_POD_MEM="--in-memory --single-file-segments -m 128"
	want=true
else
	kb_log "hugepages: the kernel gave only $free of $NEED 2 MiB pages: running with --no-huge"
	want=false
fi

MA=02:00:00:00:01:0a MB=02:00:00:00:01:0b
fp_config "$T/agent.yaml"
kb_agent_start "$T/agent.yaml"
kb_assert_eq "$(kb_ctl -o json status | jq -r .fastpath.state)" running "fast path running"
kb_assert_eq "$(kb_ctl -o json status | jq -r .fastpath.hugepages)" $want \
	"memory mode reported ($(kb_ctl -o json status | jq -r .fastpath.memory))"
grep -q "hugepages\|no-huge" "$T/agent.log" && kb_pass "the agent's log says which memory it uses" ||
	kb_fail "the agent's log says which memory it uses"

SA=$(fp_attach ha red $MA)
SB=$(fp_attach hb red $MB)
fp_pod_start a "$SA" $MA
fp_pod_start b "$SB" $MB
fp_wait_connected ha || kb_fail "pod a connected"
fp_wait_connected hb || kb_fail "pod b connected"

fp_pod_send a $MB 10
fp_settle
kb_assert_eq "$(fp_pod_tx a)" 160 "pod a sent 160 frames"
kb_assert_eq "$(fp_port_stat ha .stats.rxPackets)" 160 "agent received 160 from a"
kb_assert_eq "$(fp_pod_rx b)" 160 "pod b received 160 frames"
fp_pod_send b $MA 4 1518
fp_settle
kb_assert_eq "$(fp_pod_rx a)" 64 "1518-byte frames b -> a"
kb_assert_eq "$(fp_port_stat hb .stats.rxBytes)" $((64 * 1514)) "bytes counted (1514 without CRC)"

fp_pod_stop a
fp_pod_stop b
fp_detach ha
fp_detach hb
kb_assert_eq "$(fp_api ports | jq '.ports | length')" 0 "ports removed"
fp_agent_finish
kb_done
