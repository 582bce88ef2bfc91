#!/usr/bin/env bash
# Test runner: `test/run.sh [unit|integration|e2e|fuzz|all] [NAME-FILTER]`.
#   unit         every cmocka binary $BUILD/test/unit/test_*
#   integration  every test/integration/*.sh (root: network namespaces, the real agent and CNI)
#   e2e          every test/e2e/*.sh (DPDK pods through the fast path)
#   fuzz         every libFuzzer target (test/fuzz/, built with clang under build-fuzz/): its
#                checked-in corpus as regression inputs, then FUZZ_CI_SECONDS (3) of fuzzing
# A suite passes with exit 0, is skipped with exit 77 (it must print why), fails otherwise.
# Logs go to $BUILD/test-logs/; a failing suite's log tail is printed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export BUILD=${BUILD:-build} ROOT=$root
export BIN=$root/$BUILD/bin TOOLS=$root/$BUILD/tools
what=${1:-all}
filter=${2:-}
logs=$root/$BUILD/test-logs
mkdir -p "$logs"

declare -a results=()
failed=0

run_suite() { # kind name timeout cmd...
	local kind=$1 name=$2 tmo=$3
	shift 3
	[ -n "$filter" ] && [[ $name != *$filter* ]] && return 0
	local log=$logs/$kind-$name.log start end rc status
	start=$(date +%s.%N)
	printf '%-12s %-40s ' "$kind" "$name"
	timeout --kill-after=10 "$tmo" "$@" >"$log" 2>&1
	rc=$?
	end=$(date +%s.%N)
	case $rc in
	0) status=PASS ;;
	77) status=SKIP ;;
	124 | 137) status="FAIL (timeout ${tmo}s)"; failed=1 ;;
	*) status="FAIL (exit $rc)"; failed=1 ;;
	esac
	printf '%-22s %6.1fs\n' "$status" "$(echo "$end - $start" | bc)"
	if [ "$status" = SKIP ]; then
		sed -n 's/^SKIP: /    skipped: /p' "$log" | head -3
	elif [ $rc -ne 0 ]; then
		echo "---- last lines of $log ----"
		tail -n 40 "$log" | sed 's/^/    /'
		echo "----"
	fi
	results+=("$kind $name $status")
}

if [[ $what == unit || $what == all ]]; then
	for t in "$BUILD"/test/unit/test_*; do
		[ -x "$t" ] || continue
		run_suite unit "$(basename "$t")" 600 "$t"
	done
fi
for kind in integration e2e; do
	[[ $what == "$kind" || $what == all ]] || continue
	for t in test/$kind/*.sh; do
		[ -f "$t" ] || continue
		run_suite "$kind" "$(basename "$t" .sh)" 1800 bash "$t"
	done
done
if [[ $what == fuzz || $what == all ]]; then
	# Its own build (clang, ASan+UBSan, libFuzzer) under build-fuzz/, whatever $BUILD is; the
	# name filter selects targets, never the build.
	saved_filter=$filter
	filter=
	run_suite fuzz build 1200 bash -c 'command -v clang >/dev/null ||
		{ echo "SKIP: clang is not installed (hack/deps.sh installs it)"; exit 77; }
		exec make --no-print-directory -j"$(nproc)" FUZZ=1 BUILD=build-fuzz fuzz-build'
	filter=$saved_filter
	if [ "${results[-1]}" = "fuzz build PASS" ]; then
		for t in build-fuzz/fuzz/fuzz_*; do
			[ -x "$t" ] || continue
			name=${t##*/fuzz_}
			FUZZ_SECONDS=${FUZZ_CI_SECONDS:-3} BUILD=build-fuzz \
				run_suite fuzz "$name" 300 test/fuzz/run.sh "$name"
		done
	fi
fi

n=${#results[@]}
pass=$(printf '%s\n' "${results[@]}" | grep -c ' PASS$' || true)
skip=$(printf '%s\n' "${results[@]}" | grep -c ' SKIP$' || true)
echo "== $n suites: $pass passed, $skip skipped, $((n - pass - skip)) failed =="
[ "$n" -gt 0 ] || { echo "no test suites found"; exit 1; }
exit $failed
