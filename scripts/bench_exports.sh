#!/bin/sh
# Times every model of the exported benchmark set (scripts/export_benchmodels.py)
# with `warboy bench cpu --ort` at 1 and 2 threads: our float32 and int8
# executors and ONNX Runtime on the same files, interleaved in rounds.
#
#   scripts/bench_exports.sh [MODELS_DIR] [OUT_DIR]     (defaults: out/bench-models out/bench-results)
#
# ITERATIONS (default 15), ROUNDS (default 3) and THREADS (default "1 2") override
# the settings. Small models at 2 threads need more, shorter rounds (e.g.
# ITERATIONS=30 ROUNDS=10): the machine can switch between a fast and a slow
# state for seconds at a time, and three rounds let one block move a p50 ratio.
set -eu
dir=${1:-out/bench-models}
out=${2:-out/bench-results}
iters=${ITERATIONS:-15}
mkdir -p "$out"
go build -o "$out/warboy" ./cmd/warboy
for f in "$dir"/*.onnx; do
	name=$(basename "$f" .onnx)
	for t in ${THREADS:-1 2}; do
		echo "== $name, $t threads ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"
		"$out/warboy" bench cpu "$f" --ort --threads "$t" --iterations "$iters" --rounds "${ROUNDS:-3}" | tee "$out/$name-t$t.txt"
	done
done
