#!/usr/bin/env bash
# `make bench`: run every test/bench/bench_*.sh and print the table each one prints.
#   test/bench/run.sh [NAME-FILTER]
# Benchmarks measure, they do not assert: each prints its figures next to a peer measured in
# the same run, with the ratio and the goal. A bench exits 77 (with a SKIP: line) when it
# cannot run here, non-zero when it broke. Full output goes to $BUILD/bench-logs/.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export BUILD=${BUILD:-build} ROOT=$root
export BIN=$root/$BUILD/bin TOOLS=$root/$BUILD/tools
filter=${1:-}
logs=$root/$BUILD/bench-logs
mkdir -p "$logs"
declare -a summary=()
failed=0

echo "kbnet benchmarks, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for b in test/bench/bench_*.sh; do
	[ -f "$b" ] || continue
	name=$(basename "$b" .sh)
	[ -n "$filter" ] && [[ $name != *$filter* ]] && continue
	echo
	echo "=== $name"
	# Tables go to stdout (shown and logged); diagnostics only to the log.
	bash "$b" 2>"$logs/$name.err" | tee "$logs/$name.log"
	rc=${PIPESTATUS[0]}
	case $rc in
	0) summary+=("$name: ok") ;;
	77) summary+=("$name: skipped ($(sed -n 's/^SKIP: //p' "$logs/$name.log" | head -1))") ;;
	*)
		summary+=("$name: FAILED (exit $rc, see $logs/$name.err)")
		tail -n 20 "$logs/$name.err" | sed 's/^/    /'
		failed=1
		;;
	esac
done
echo
echo "=== summary"
printf '%s\n' "${summary[@]:-no benchmarks found}"
exit $failed
