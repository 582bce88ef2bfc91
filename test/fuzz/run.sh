#!/usr/bin/env bash
# Run the libFuzzer targets: `test/fuzz/run.sh [NAME-PATTERN]` (a shell pattern: 'net*';
# `make fuzz` builds them first, `make fuzz FUZZ_TARGETS=...` passes the pattern).
#   FUZZ_SECONDS  seconds of fuzzing per target after its corpus replay (default 60)
#   FUZZ_ARGS     extra libFuzzer flags (e.g. -jobs, -max_len)
# Every target first replays its checked-in corpus (test/fuzz/corpus/<name>/, read-only) and
# what earlier runs found ($BUILD/fuzz-corpus/<name>/, where new inputs go), then fuzzes.
# Findings (crash-, leak-, timeout-, oom-...) land in $BUILD/fuzz-findings/; any finding or a
# target that does not run makes the exit status 1. Prints one table row per target.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
BUILD=${BUILD:-build-fuzz}
secs=${FUZZ_SECONDS:-60}
filter=${1:-}
logs=$BUILD/fuzz-logs
findings=$BUILD/fuzz-findings
mkdir -p "$logs" "$findings"

stat() { # log key
	sed -n "s/^stat::$2: *//p" "$1" | tail -1
}

failed=0
n=0
printf '%-10s %12s %8s %8s %7s %s\n' target executions exec/s corpus seconds findings
for bin in "$BUILD"/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=${bin##*/fuzz_}
	# shellcheck disable=SC2053
	[ -n "$filter" ] && [[ $name != $filter ]] && continue
	n=$((n + 1))
	work=$BUILD/fuzz-corpus/$name
	seeds=test/fuzz/corpus/$name
	log=$logs/$name.log
	mkdir -p "$work" "$seeds"
	dict=()
	[ -f "test/fuzz/$name.dict" ] && dict=(-dict="test/fuzz/$name.dict")
	before=$(find "$findings" -name "$name-*" | wc -l)
	start=$(date +%s)
	# -timeout: an input that takes this long is a finding (quadratic parsing, loops).
	# shellcheck disable=SC2086
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
		-print_final_stats=1 -artifact_prefix="$findings/$name-" "${dict[@]}" \
		${FUZZ_ARGS:-} "$work" "$seeds" </dev/null >"$log" 2>&1
	rc=$?
	took=$(($(date +%s) - start))
	found=$(($(find "$findings" -name "$name-*" | wc -l) - before))
	execs=$(stat "$log" number_of_executed_units)
	rate=$(stat "$log" average_exec_per_sec)
	corp=$(find "$work" "$seeds" -type f | wc -l)
	what=$found
	if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
		failed=1
		what="$found (exit $rc; see $log)"
	fi
	printf '%-10s %12s %8s %8s %7s %s\n' "$name" "${execs:-?}" "${rate:-?}" "$corp" "$took" "$what"
	if [ "$rc" -ne 0 ]; then
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -5 | sed 's/^/    /'
		ls "$findings"/"$name"-* 2>/dev/null | head -3 | sed 's/^/    finding: /'
	fi
done
[ "$n" -gt 0 ] || { echo "no fuzz targets in $BUILD/fuzz (make FUZZ=1 BUILD=$BUILD fuzz-build)"; exit 1; }
exit $failed
