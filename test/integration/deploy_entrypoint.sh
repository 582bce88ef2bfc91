#!/usr/bin/env bash
# The image's entrypoint (deploy/image/entrypoint.sh) on the host, as the DaemonSet runs it:
# kbnet-cni lands in the CNI bin dir as `kbnet` atomically (never a partial or busy file for a
# runtime executing it at that moment), an identical binary is left alone, then the entrypoint
# becomes the agent (exec: same PID, signals reach the agent).
source "$(dirname "$0")/../lib.sh"
EP=$ROOT/deploy/image/entrypoint.sh
[ -x "$BIN/kbnet-cni" ] || kb_skip "kbnet-cni not built"
BINDIR=$T/host/opt/cni/bin
mkdir -p "$BINDIR"

# ---- install, then exec the agent ----
kb_agent_config "$T/agent.yaml"
KBNET_CNI_BIN_DIR=$BINDIR KBNET_CNI_SRC=$BIN/kbnet-cni KBNET_AGENT=$BIN/kbnet-agent \
	"$EP" --config "$T/agent.yaml" >>"$T/agent.log" 2>&1 &
KB_AGENT_PID=$!
kb_defer kb_agent_stop
for _ in $(seq 100); do [ -S "$KB_SOCK" ] && kb_ctl status >/dev/null 2>&1 && break; sleep 0.05; done
kb_assert_eq "$(kb_ctl -o json status | jq -r .pid)" "$KB_AGENT_PID" "the entrypoint became the agent (exec)"
kb_assert_rc 0 "installed plugin is kbnet-cni" cmp "$BIN/kbnet-cni" "$BINDIR/kbnet"
kb_assert_eq "$(stat -c %a "$BINDIR/kbnet")" 755 "installed mode 0755"
kb_assert_eq "$(ls -A "$BINDIR" | tr '\n' ' ')" "kbnet " "no temporary file left"
kb_assert_eq "$(CNI_COMMAND=VERSION "$BINDIR/kbnet" </dev/null | jq -r .cniVersion)" 1.1.0 "installed plugin runs"
grep -q "installed $BINDIR/kbnet" "$T/agent.log" && kb_pass "install logged" || kb_fail "install not logged"
kb_agent_stop

# ---- an identical binary is not rewritten ----
ino=$(stat -c %i "$BINDIR/kbnet")
KBNET_CNI_BIN_DIR=$BINDIR KBNET_CNI_SRC=$BIN/kbnet-cni KBNET_AGENT=/bin/true "$EP" 2>"$T/ep.err"
kb_assert_eq "$(stat -c %i "$BINDIR/kbnet")" "$ino" "up-to-date plugin left alone (same inode)"
grep -q "up to date" "$T/ep.err" && kb_pass "says it is up to date" || kb_fail "$(cat "$T/ep.err")"

# ---- upgrades while the runtime keeps executing the plugin ----
# Two different builds (the second has a byte appended: still a valid ELF). A plain copy over
# the file would fail with ETXTBSY or let a reader see a partial binary; rename never does.
cp "$BIN/kbnet-cni" "$T/cni-v1"
cp "$BIN/kbnet-cni" "$T/cni-v2" && printf '\0' >>"$T/cni-v2"
(
	fails=0
	end=$((SECONDS + 3))
	while [ $SECONDS -lt $end ]; do
		out=$(CNI_COMMAND=VERSION "$BINDIR/kbnet" </dev/null 2>&1) || fails=$((fails + 1))
		[[ $out == *supportedVersions* ]] || fails=$((fails + 1))
	done
	echo "$fails" >"$T/exec-fails"
) &
runner=$!
n=0
while kill -0 $runner 2>/dev/null; do
	for v in v1 v2; do
		KBNET_CNI_BIN_DIR=$BINDIR KBNET_CNI_SRC=$T/cni-$v KBNET_AGENT=/bin/true "$EP" 2>/dev/null ||
			kb_fail "install $v"
		n=$((n + 1))
	done
done
wait $runner
kb_assert_eq "$(cat "$T/exec-fails")" 0 "plugin executed throughout $n upgrades without a failure"
kb_assert_eq "$(ls -A "$BINDIR" | tr '\n' ' ')" "kbnet " "no temporary file left after upgrades"

# ---- a missing bin dir is an error, not a silent skip ----
KBNET_CNI_BIN_DIR=$T/nonexistent KBNET_CNI_SRC=$BIN/kbnet-cni KBNET_AGENT=/bin/true "$EP" 2>"$T/ep.err" &&
	kb_fail "missing CNI bin dir accepted" || kb_pass "missing CNI bin dir refused"
grep -q "not a directory" "$T/ep.err" && kb_pass "says why" || kb_fail "$(cat "$T/ep.err")"
# Empty KBNET_CNI_BIN_DIR: no install, straight to the agent.
KBNET_CNI_BIN_DIR='' KBNET_AGENT=/bin/echo "$EP" hello >"$T/ep.out" 2>&1
kb_assert_eq "$(cat "$T/ep.out")" hello "empty KBNET_CNI_BIN_DIR skips the install"
kb_done
