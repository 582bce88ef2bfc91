#!/usr/bin/env bash
# bench_agent: the agent API under load (test/tools/apibench).
#  1. attach+detach pairs/s with 1,000 live allocations, over 1..48 connections, each doing
#     one request at a time as kbnet-cni does. Every change is durable before its reply
#     (group commit). Peer, same run: the fdatasync rate of the state directory's disk, i.e.
#     what one durable change at a time could reach. Goal: >= 5,000 pairs/s.
#  2. agent memory (VmRSS, VmHWM) with 10,000 allocations; peer: the same agent with none.
#     Goal: <= 20 MB.
# Medians of KB_BENCH_REPS (3) repetitions. stateDir is on the disk under /tmp; runDir (the
# pods' socket directories) on a tmpfs, as /run is on a node.
source "$(dirname "$0")/../lib.sh"
kb_require_root
REPS=${KB_BENCH_REPS:-3}
SECS=${KB_BENCH_SECONDS:-3}
CONNS=${KB_BENCH_CONNS:-1 4 16 48}
make -s -C "$ROOT" BUILD="$BUILD" "$BUILD/tools/apibench" >&2 || exit 1
AB=$TOOLS/apibench
mkdir -p "$KB_RUN"
mount -t tmpfs kbbench "$KB_RUN"
kb_defer "umount -l $KB_RUN"

start() { # POOL-SIZE: a fresh agent (new state) with one pool, no device-plugin registration
	kb_agent_stop >&2
	rm -rf "$KB_STATE"
	find "$KB_RUN" -mindepth 1 -delete
	kb_agent_config "$T/agent.yaml" "  - name: vu
    type: virtio-user
    count: $1
    devicePlugin: false"
	sed -i 's/^logLevel: debug/logLevel: info/' "$T/agent.yaml"
	kb_agent_start "$T/agent.yaml" >&2
}
# Start the agent (stopped before) and set START_MS to the milliseconds from exec to the
# first answered status. Not in a subshell: KB_AGENT_PID must reach kb_agent_stop.
timed_start() {
	local t0 t1
	t0=$(date +%s%N)
	"$BIN/kbnet-agent" --config "$T/agent.yaml" >>"$T/agent.log" 2>&1 &
	KB_AGENT_PID=$!
	until "$BIN/agentctl" -s "$KB_SOCK" status >/dev/null 2>&1; do
		kill -0 "$KB_AGENT_PID" || return 1
		sleep 0.005
	done
	t1=$(date +%s%N)
	START_MS=$(((t1 - t0) / 1000000))
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$KB_AGENT_PID/stat"; }
kb_of() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$KB_AGENT_PID/status"; }
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

# ---- 1. pairs/s ----
start 1100
"$AB" fill "$KB_SOCK" 1000 live 4 >/dev/null || exit 1
: >"$T/pairs.txt"
for rep in $(seq "$REPS"); do
	for c in $CONNS; do
		t0=$(cpu_ticks)
		out=$("$AB" pairs "$KB_SOCK" "$c" "$SECS") || exit 1
		t1=$(cpu_ticks)
		echo "$c $(echo "$out" | jq -r '"\(.pairs_per_s) \(.p50_us) \(.p99_us) \(.pairs)"') $((t1 - t0))" >>"$T/pairs.txt"
	done
done
live=$(kb_ctl -o json status | jq .allocations)
fs=$(findmnt -no FSTYPE -T "$KB_STATE" 2>/dev/null || stat -f -c %T "$KB_STATE")
: >"$T/fsync.txt"
for rep in $(seq "$REPS"); do
	"$AB" fsync "$KB_STATE" 2000 | jq .syncs_per_s >>"$T/fsync.txt"
done
syncs=$(median <"$T/fsync.txt")

echo "Agent attach+detach pairs over the API socket: $live live allocations, one request at a"
echo "time per connection, every change durable before its reply (group commit); stateDir on"
echo "$fs, runDir on tmpfs; median of $REPS runs x ${SECS} s"
echo
printf '%-12s %9s %10s %10s %10s %14s %12s\n' connections pairs/s changes/s "p50 (ms)" "p99 (ms)" "CPU/pair (us)" "vs 1-sync"
best=0
best_c=0
for c in $CONNS; do
	rate=$(awk -v c="$c" '$1 == c {print $2}' "$T/pairs.txt" | median)
	p50=$(awk -v c="$c" '$1 == c {print $3}' "$T/pairs.txt" | median)
	p99=$(awk -v c="$c" '$1 == c {print $4}' "$T/pairs.txt" | median)
	# agent CPU (user+system, 10 ms ticks) per pair, per repetition, then the median
	cpu=$(awk -v c="$c" '$1 == c && $5 > 0 {printf "%.0f\n", $6 * 10000 / $5}' "$T/pairs.txt" | median)
	printf '%-12s %9s %10s %10.2f %10.2f %14s %11.1fx\n' "$c" "$rate" "$((rate * 2))" \
		"$(echo "$p50 / 1000" | bc -l)" "$(echo "$p99 / 1000" | bc -l)" "$cpu" \
		"$(echo "$rate * 2 / $syncs" | bc -l)"
	if [ "$rate" -gt "$best" ]; then
		best=$rate
		best_c=$c
		best_cpu=$cpu
	fi
done
echo
echo "peer, same run: $syncs fdatasync/s on $fs (one durable change at a time: at most" \
	"$((syncs / 2)) pairs/s); \"vs 1-sync\" = changes/s / fdatasync/s"
echo "goal: >= 5,000 pairs/s: best $best pairs/s with $best_c connections," \
	"$([ "$best" -ge 5000 ] && echo met || echo "NOT met")"
echo "agent CPU per pair at that point: $best_cpu us, i.e. $((1000000 / best_cpu)) pairs/s per" \
	"fully available core (load average now $(cut -d' ' -f1 /proc/loadavg) on $(nproc) CPUs)"

# ---- 2. memory ----
: >"$T/mem.txt"
for rep in $(seq "$REPS"); do
	start 10000
	base="$(kb_of VmRSS) $(kb_of RssAnon) $(kb_of RssFile)"
	"$AB" fill "$KB_SOCK" 10000 m 8 >/dev/null || exit 1
	n=$(kb_ctl -o json status | jq .allocations)
	[ "$n" = 10000 ] || {
		echo "fill made $n allocations" >&2
		exit 1
	}
	filled="$(kb_of VmRSS) $(kb_of RssAnon) $(kb_of VmHWM)"
	# What an operator's `agentctl allocations` costs at this size (about 7.6 MB of JSON).
	kb_ctl -o json allocations >/dev/null
	listed="$(kb_of VmRSS) $(kb_of RssAnon) $(kb_of VmHWM)"
	# Restart after kill -9: replay of 10,000 journal records, against an empty start.
	kb_agent_stop KILL >&2
	timed_start || exit 1
	full_ms=$START_MS
	[ "$(kb_ctl -o json status | jq .allocations)" = 10000 ] || exit 1
	kb_agent_stop TERM >&2
	rm -rf "$KB_STATE"
	timed_start || exit 1
	empty_ms=$START_MS
	echo "$base $filled $listed $full_ms $empty_ms" >>"$T/mem.txt"
done
col() { awk -v i="$1" '{print $i}' "$T/mem.txt" | median; }
mb() { echo "scale=1; $1 / 1024" | bc; }
echo
echo "Agent memory, pool of 10,000 virtio-user ports; median of $REPS fresh agents"
echo
printf '%-44s %9s %9s %9s\n' "" "VmRSS" "RssAnon" "VmHWM"
printf '%-44s %6s MB %6s MB %9s\n' "no allocations (peer: the same agent, empty)" \
	"$(mb "$(col 1)")" "$(mb "$(col 2)")" "-"
printf '%-44s %6s MB %6s MB %6s MB\n' "10,000 allocations" "$(mb "$(col 4)")" "$(mb "$(col 5)")" \
	"$(mb "$(col 6)")"
printf '%-44s %6s MB %6s MB %6s MB\n' "  then one full listing (agentctl allocations)" \
	"$(mb "$(col 7)")" "$(mb "$(col 8)")" "$(mb "$(col 9)")"
echo "per allocation: $((($(col 5) - $(col 2)) * 1024 / 10000)) bytes of heap; shared libraries" \
	"(RssFile, $(mb "$(col 3)") MB) are in every VmRSS figure"
echo "goal: <= 20 MB with 10,000 allocations: VmRSS $(mb "$(col 4)") MB (VmHWM $(mb "$(col 6)") MB)," \
	"$([ "$(col 6)" -le 20480 ] && echo met || echo "NOT met");" \
	"VmHWM after a full listing $(mb "$(col 9)") MB"
echo "start to first answer after kill -9 with 10,000 allocations (journal replay): $(col 10) ms;" \
	"with empty state (peer): $(col 11) ms"
kb_agent_stop >&2
