#!/bin/bash
# CPU seconds (user + system; and wall-clock seconds, which matter at 2 threads) that
# training 3,200 images costs: the difference between
# runs on 6,400 and on 3,200 images (calibration, checkpoints and loading are the same in
# both), THREADS threads (default one), ROUNDS rounds alternating two warboy binaries and PyTorch's eager QAT
# (scripts/qat_reference.py). On a shared machine CPU time is far less disturbed by other
# processes than wall-clock epochs (docs/quantizer.md, "QAT (eleventh session)").
#
#   WARBOY_BEFORE=old/warboy WARBOY=warboy scripts/qat_cpu_time.sh MODEL.onnx [ROUNDS]
#
# DATA (default ../shared/data/fashion-mnist), PYTHON (default /usr/bin/python3) and THREADS
# (default 1: GOMAXPROCS, --threads and PyTorch's thread count) may be set.
set -u
m=$1 rounds=${2:-2}
D=${DATA:-../shared/data/fashion-mnist}
PYTHON=${PYTHON:-/usr/bin/python3}
T=${THREADS:-1}
here=$(cd "$(dirname "$0")" && pwd)
b=$(basename "$m" .onnx)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# cpu prints the user+system and the wall-clock seconds of a command.
cpu() { /usr/bin/time -f "%U %S %e" -o "$tmp/time" "$@" >/dev/null 2>&1 || echo "failed: $*" >&2; awk '{print $1 + $2, $3}' "$tmp/time"; }
# diff prints "CPU s, wall s" of run z minus run a (each "cpu wall").
diff() { echo "$1 $2" | awk '{printf "%.2f CPU s, %.2f wall s", $3 - $1, $4 - $2}'; }
for r in $(seq 1 "$rounds"); do
	for v in ${WARBOY_BEFORE:+before} after; do
		w=${WARBOY:-warboy}
		[ "$v" = before ] && w=$WARBOY_BEFORE
		l=$(cut -d' ' -f1 /proc/loadavg)
		a=$(cpu env GOMAXPROCS="$T" "$w" qat "$m" -o "$tmp/o.onnx" --data "$D" --n 3200 --eval-n -1 --threads "$T" --method MIN_MAX_ASYM)
		z=$(cpu env GOMAXPROCS="$T" "$w" qat "$m" -o "$tmp/o.onnx" --data "$D" --n 6400 --eval-n -1 --threads "$T" --method MIN_MAX_ASYM)
		echo "round $r $b warboy-$v $(diff "$a" "$z"), threads $T, load $l"
	done
	l=$(cut -d' ' -f1 /proc/loadavg)
	a=$(cpu "$PYTHON" "$here/qat_reference.py" "$m" --data "$D" --train-n 3200 --threads "$T" --time-only)
	z=$(cpu "$PYTHON" "$here/qat_reference.py" "$m" --data "$D" --train-n 6400 --threads "$T" --time-only)
	echo "round $r $b torch $(diff "$a" "$z"), threads $T, load $l"
done
