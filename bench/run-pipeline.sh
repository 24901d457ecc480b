#!/usr/bin/env bash
# Times the workflow engine against plain bash in the same run: the cost
# Ampel adds per `run:` step (workspace, runner files, environment, output
# parsing and masking) over `bash -e script` in a loop, and the planning
# time of a 500-leg matrix workflow. Figures, never a pass/fail threshold.
# Usage: bench/run-pipeline.sh [BUILD_DIR]   (BENCH_STEPS=N, BENCH_REPS=N)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-${BUILD_DIR:-build}}
steps=${BENCH_STEPS:-200}
reps=${BENCH_REPS:-5}
ampel=$build/ampel
plan=$build/bench/bench_plan
if [ ! -x "$plan" ] || [ ! -x "$ampel" ]; then
	ninja -C "$build" bench/bench_plan ampel >/dev/null
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# One job of $steps trivial steps, each printing a line, as CI steps do.
mkdir -p "$dir/repo/.github/workflows"
{
	printf 'on: push\njobs:\n  steps:\n    runs-on: ubuntu-latest\n    steps:\n'
	for ((i = 0; i < steps; i++)); do printf '      - run: echo step %d\n' "$i"; done
} >"$dir/repo/.github/workflows/steps.yml"
printf 'echo step\n' >"$dir/step.sh"

# 500 legs: 5 x 10 x 10, with an exclude and an include, as real matrices have.
{
	printf 'on: push\njobs:\n  test:\n    runs-on: ${{ matrix.os }}\n    strategy:\n      matrix:\n'
	printf '        os: [ubuntu-latest, macos-latest, windows-latest, ubuntu-22.04, ubuntu-20.04]\n'
	printf '        node: [14, 16, 18, 20, 21, 22, 23, 24, 25, 26]\n'
	printf '        shard: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n'
	printf '        include:\n          - os: ubuntu-latest\n            coverage: true\n'
	printf '    steps:\n      - run: echo ${{ matrix.node }}\n'
} >"$dir/matrix.yml"

now_ns() { date +%s%N; }
best_us() {
	local best= start end t i
	for ((i = 0; i < reps; i++)); do
		start=$(now_ns)
		"$@" >/dev/null 2>&1
		end=$(now_ns)
		t=$(((end - start) / 1000))
		if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
	done
	echo "$best"
}
bash_loop() { for ((i = 0; i < steps; i++)); do bash -e "$dir/step.sh"; done; }
ampel_run() { XDG_CACHE_HOME="$dir/cache" "$ampel" -q run "$dir/repo"; }

ampel_run || { echo "ampel run failed on the step workflow" >&2; exit 1; }
bash_us=$(best_us bash_loop)
ampel_us=$(best_us ampel_run)
echo "workflow of $steps run: steps, best of $reps runs"
awk -v b="$bash_us" -v a="$ampel_us" -v n="$steps" 'BEGIN {
	printf "bash -e script.sh in a loop: %.1f ms (%.2f ms/step)\n", b / 1000, b / 1000 / n
	printf "ampel run:                   %.1f ms (%.2f ms/step)\n", a / 1000, a / 1000 / n
	printf "per-step ampel/bash = %.2f\n", a / b }'
echo
"$plan" "$dir/matrix.yml" "$reps"
