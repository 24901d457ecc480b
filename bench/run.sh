#!/usr/bin/env bash
# Times the repository walker against find(1) on the same synthetic tree of
# ~100k files, in one run, and prints both and their ratio. The tree is made
# once under /tmp and reused. Figures, never a pass/fail threshold.
# Usage: bench/run.sh [BUILD_DIR]   (or env BUILD_DIR; default: build)
#        BENCH_TREE=/path BENCH_REPS=N to change the tree or repetitions.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-${BUILD_DIR:-build}}
tree=${BENCH_TREE:-/tmp/ampel-bench-tree}
reps=${BENCH_REPS:-7}
bin=$build/bench/bench_walk

if [ ! -x "$bin" ]; then
	ninja -C "$build" bench/bench_walk >/dev/null
fi

# 10 x 10 x 10 directories with 100 files each, plus a root .gitignore whose
# rules match nothing, so the walker pays for checking them like in a repo.
if [ ! -f "$tree/.complete" ]; then
	echo "generating $tree (100k files)..."
	rm -rf "$tree"
	mkdir -p "$tree"
	printf '*.tmp\n/scratch/\n*.o\n!keep.o\nbuild/\n' >"$tree/.gitignore"
	for a in 0 1 2 3 4 5 6 7 8 9; do
		for b in 0 1 2 3 4 5 6 7 8 9; do
			for c in 0 1 2 3 4 5 6 7 8 9; do
				d="$tree/d$a/e$b/f$c"
				mkdir -p "$d"
				(cd "$d" && touch file{00..99}.txt)
			done
		done
	done
	touch "$tree/.complete"
fi

now_ns() { date +%s%N; }

# Best of $reps wall-clock runs of "$@", in microseconds; output discarded.
best_us() {
	local best= start end t i
	for ((i = 0; i < reps; i++)); do
		start=$(now_ns)
		"$@" >/dev/null
		end=$(now_ns)
		t=$(((end - start) / 1000))
		if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
	done
	echo "$best"
}

find_files() { find "$tree" -type f | wc -l; }
walk_files() { "$bin" "$tree"; }

# Same answer first: a fast wrong walker is no result.
find_count=$(find_files | tr -d ' ')
walk_count=$(walk_files)
if [ "$find_count" != "$walk_count" ]; then
	echo "count mismatch: find $find_count, walk $walk_count" >&2
	exit 1
fi

find_us=$(best_us find_files)
walk_us=$(best_us walk_files)
nogi_us=$(best_us "$bin" "$tree" --no-gitignore)

ms() { awk -v us="$1" 'BEGIN { printf "%.1f ms", us / 1000 }'; }
echo "tree: $tree, $walk_count files, best of $reps runs"
echo "find -type f | wc -l:       $(ms "$find_us")"
echo "bench_walk:                 $(ms "$walk_us")"
echo "bench_walk --no-gitignore:  $(ms "$nogi_us")"
awk -v w="$walk_us" -v f="$find_us" 'BEGIN { printf "walk/find = %.2f\n", w / f }'
