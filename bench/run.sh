#!/usr/bin/env bash
# Times the repository walker and `ampel analyze` against find(1) on the same
# synthetic trees of ~100k files, in one run, and prints both and their ratio. The tree is made
# once under /tmp and reused. Figures, never a pass/fail threshold.
# Usage: bench/run.sh [BUILD_DIR]   (or env BUILD_DIR; default: build)
#        BENCH_TREE=/path BENCH_REPS=N to change the tree or repetitions.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-${BUILD_DIR:-build}}
tree=${BENCH_TREE:-/tmp/ampel-bench-tree}
reps=${BENCH_REPS:-7}
repo_tree=${BENCH_REPO_TREE:-/tmp/ampel-bench-repo}
bin=$build/bench/bench_walk
ampel=$build/ampel

if [ ! -x "$bin" ] || [ ! -x "$ampel" ]; then
	ninja -C "$build" bench/bench_walk ampel >/dev/null
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

# A repository-like tree: a monorepo of 10 packages (package.json, a lock
# file, a Dockerfile), each with 100 directories of 100 small source files
# in four languages, some reading environment variables.
if [ ! -f "$repo_tree/.complete" ]; then
	echo "generating $repo_tree (100k files)..."
	rm -rf "$repo_tree"
	mkdir -p "$repo_tree"
	printf '{"name":"bench","private":true,"workspaces":["packages/*"]}\n' >"$repo_tree/package.json"
	printf 'node_modules/\n' >"$repo_tree/.gitignore"
	for a in 0 1 2 3 4 5 6 7 8 9; do
		pkg="$repo_tree/packages/p$a"
		mkdir -p "$pkg"
		printf '{"name":"p%s","scripts":{"build":"tsc","test":"vitest run"},"dependencies":{"express":"^4.19.2"},"devDependencies":{"vitest":"^1.0.0","typescript":"^5.4.0"}}\n' "$a" >"$pkg/package.json"
		printf 'FROM node:20-slim\nEXPOSE 3000\n' >"$pkg/Dockerfile"
		for b in 0 1 2 3 4 5 6 7 8 9; do
			for c in 0 1 2 3 4 5 6 7 8 9; do
				d="$pkg/src/m$b/n$c"
				mkdir -p "$d"
				(
					cd "$d"
					for i in $(seq -w 0 24); do
						printf 'export const v%s = process.env.API_KEY_%s;\n' "$i" "$i" >"f$i.ts"
						printf 'import os\nX = os.getenv("PY_%s")\n' "$i" >"f$i.py"
						printf 'package m\nconst V = %s\n' "$i" >"f$i.go"
						printf '# notes %s\n' "$i" >"f$i.md"
					done
				)
			done
		done
	done
	touch "$repo_tree/.complete"
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

repo_find() { find "$repo_tree" -type f | wc -l; }
repo_analyze() { "$ampel" --quiet analyze --json "$repo_tree"; }
repo_files=$(repo_find | tr -d ' ')
rfind_us=$(best_us repo_find)
analyze_us=$(best_us repo_analyze)
echo
echo "tree: $repo_tree, $repo_files files, best of $reps runs"
echo "find -type f | wc -l:       $(ms "$rfind_us")"
echo "ampel analyze --json:       $(ms "$analyze_us")"
awk -v a="$analyze_us" -v f="$rfind_us" 'BEGIN { printf "analyze/find = %.2f\n", a / f }'
