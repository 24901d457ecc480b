#!/usr/bin/env bash
# Runs every built libFuzzer target for a short time over its seed corpus.
# Usage: fuzz/run.sh BUILD_DIR [SECONDS]
set -euo pipefail
build=${1:?build dir}
seconds=${2:-20}
cd "$(dirname "$0")/.."
status=0
for target in "$build"/fuzz/fuzz_*; do
	[ -f "$target" ] && [ -x "$target" ] || continue
	name=${target##*/fuzz_}
	corpus=$(mktemp -d)
	[ -d "fuzz/corpus/$name" ] && cp -r "fuzz/corpus/$name/." "$corpus/"
	echo "== fuzz $name (${seconds}s)"
	if ! "$target" -max_total_time="$seconds" -print_final_stats=0 "$corpus" 2>"$corpus.log"; then
		tail -40 "$corpus.log"
		status=1
	fi
	rm -rf "$corpus" "$corpus.log"
done
exit $status
