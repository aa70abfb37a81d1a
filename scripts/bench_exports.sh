#!/bin/sh
# Times every model of the exported benchmark set (scripts/export_benchmodels.py)
# with `warboy bench cpu --ort` at 1 and 2 threads: our float32 and int8
# executors and ONNX Runtime on the same files, interleaved in rounds.
#
#   scripts/bench_exports.sh [MODELS_DIR] [OUT_DIR]     (defaults: out/bench-models out/bench-results)
#
# ITERATIONS (default 15) and THREADS (default "1 2") override the settings.
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
		"$out/warboy" bench cpu "$f" --ort --threads "$t" --iterations "$iters" --rounds 3 | tee "$out/$name-t$t.txt"
	done
done
