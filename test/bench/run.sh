#!/usr/bin/env bash
# `make bench`: runs every test/bench/bench_*.sh in turn. Benchmarks print tables; they do not
# assert timings (this machine's speed varies run to run), so a benchmark fails only when it
# could not run.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export BUILD=${BUILD:-build} ROOT=$root BIN=$root/${BUILD:-build}/bin
failed=0
for b in test/bench/bench_*.sh; do
	[ -f "$b" ] || continue
	echo "== $(basename "$b" .sh)"
	bash "$b"
	rc=$?
	[ $rc -eq 0 ] || [ $rc -eq 77 ] || failed=1
done
exit $failed
