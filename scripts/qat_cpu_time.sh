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
#
# Each line also gives "steps": the same difference taken from the CPU time the two runs
# report for their training loops alone (epoch_log[0].cpu_seconds of `warboy qat --json`
# and of qat_reference.py; docs/quantizer.md, "QAT (nineteenth session)"), which leaves out
# the noise of everything around the loop (loading, calibration, checkpoints); "n/a" for a
# warboy binary older than that field.
set -u
m=$1 rounds=${2:-2}
D=${DATA:-../shared/data/fashion-mnist}
PYTHON=${PYTHON:-/usr/bin/python3}
T=${THREADS:-1}
here=$(cd "$(dirname "$0")" && pwd)
b=$(basename "$m" .onnx)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# cpu prints the user+system and the wall-clock seconds of a command and the CPU seconds
# of the training loop its --json output reports (0 when it reports none).
cpu() {
	/usr/bin/time -f "%U %S %e" -o "$tmp/time" "$@" >"$tmp/out" 2>/dev/null || echo "failed: $*" >&2
	local loop
	loop=$("$PYTHON" -c 'import json, sys
try:
    print(json.load(open(sys.argv[1]))["epoch_log"][0].get("cpu_seconds", 0))
except (OSError, ValueError, KeyError, IndexError):
    print(0)' "$tmp/out")
	awk -v loop="$loop" '{print $1 + $2, $3, loop}' "$tmp/time"
}
# diff prints "CPU s, wall s, steps CPU s" of run z minus run a (each "cpu wall loop").
diff() {
	echo "$1 $2" | awk '{printf "%.2f CPU s, %.2f wall s, steps ", $4 - $1, $5 - $2
		if ($3 > 0 && $6 > 0) printf "%.2f CPU s", $6 - $3; else printf "n/a"}'
}
for r in $(seq 1 "$rounds"); do
	for v in ${WARBOY_BEFORE:+before} after; do
		w=${WARBOY:-warboy}
		[ "$v" = before ] && w=$WARBOY_BEFORE
		l=$(cut -d' ' -f1 /proc/loadavg)
		a=$(cpu env GOMAXPROCS="$T" "$w" qat "$m" -o "$tmp/o.onnx" --data "$D" --n 3200 --eval-n -1 --threads "$T" --method MIN_MAX_ASYM --json)
		z=$(cpu env GOMAXPROCS="$T" "$w" qat "$m" -o "$tmp/o.onnx" --data "$D" --n 6400 --eval-n -1 --threads "$T" --method MIN_MAX_ASYM --json)
		echo "round $r $b warboy-$v $(diff "$a" "$z"), threads $T, load $l"
	done
	l=$(cut -d' ' -f1 /proc/loadavg)
	a=$(cpu "$PYTHON" "$here/qat_reference.py" "$m" --data "$D" --train-n 3200 --threads "$T" --time-only --json)
	z=$(cpu "$PYTHON" "$here/qat_reference.py" "$m" --data "$D" --train-n 6400 --threads "$T" --time-only --json)
	echo "round $r $b torch $(diff "$a" "$z"), threads $T, load $l"
done
