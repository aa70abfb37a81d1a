#!/bin/sh
# ONNX Runtime loads every file we write: quantize every exported model we have
# (out/bench-models*/*.onnx) in the QDQ and the QOperator form, load each file in ONNX
# Runtime at its default optimisation level ("all", tools/ort/run.js) and compare its
# outputs with our int8 runtime's on the same file and input.
#
#   scripts/ort_load_sweep.sh [OUT] [MODEL.onnx ...]   (default OUT: out/ort-sweep; default
#                                                      models: out/bench-models*/*.onnx)
#
# Calibration: 4 samples of the committed data (DIR/data/M/), else 4 synthetic samples
# (uniform [-1, 1), scripts/ort_load_sweep.py synth; models with symbolic sizes and no
# data are skipped). The checked input is DIR/data/M.in.npz (.npy), else the data's first
# sample, else a fifth synthetic one. The QOperator file reuses the QDQ file's ranges
# (--ranges-in), so both forms quantize alike.
#
# Prints a line per model and form, and writes the same lines to OUT/sweep.txt:
#   MODEL FORM ok|FAIL STEP: load ok|FAIL <ORT's error>; sqnr S (ours vs ORT, dB); top1 A/B
# Logs in OUT/logs/M.STEP.txt. Needs /usr/bin/python3 (numpy, onnx) and tools/ort (node).
set -u
out=${1:-out/ort-sweep}
[ $# -gt 0 ] && shift
here=$(cd "$(dirname "$0")/.." && pwd)
py=/usr/bin/python3
helper="$here/scripts/ort_load_sweep.py"
mkdir -p "$out/logs" "$out/q" "$out/o" "$out/synth"
w=${WARBOY:-$out/warboy}
if [ -z "${WARBOY:-}" ]; then
	go build -o "$w" "$here/cmd/warboy" || exit 1
fi
if [ $# -eq 0 ]; then
	set -- "$here"/out/bench-models*/*.onnx
fi
: >"$out/sweep.txt"
say() { echo "$*" | tee -a "$out/sweep.txt"; }

for M in "$@"; do
	m=$(basename "$M" .onnx)
	D=$(dirname "$M")
	cal="$D/data/$m"
	in=""
	for f in "$D/data/$m.in.npz" "$D/data/$m.in.npy"; do
		[ -f "$f" ] && in=$f && break
	done
	if [ ! -d "$cal" ]; then
		if ! $py "$helper" synth "$M" "$out/synth/$m" >"$out/logs/$m.synth.txt" 2>&1; then
			say "$m - skip: $(tail -n 1 "$out/logs/$m.synth.txt" | cut -c1-200)"
			continue
		fi
		cal="$out/synth/$m"
		[ -z "$in" ] && in="$out/synth/$m/in.npz"
	fi
	if [ -z "$in" ]; then
		in=$(ls "$cal"/s0.* 2>/dev/null | head -n 1)
	fi
	for form in qdq qoperator; do
		q="$out/q/$m.$form.onnx"
		if [ "$form" = qdq ]; then
			set -- --ranges-out "$out/q/$m.ranges.json"
		else
			set -- --ranges-in "$out/q/$m.ranges.json"
		fi
		if ! "$w" quantize "$M" --calib-data "$cal" --calib-n 4 --batch 1 --format "$form" -o "$q" "$@" \
			>"$out/logs/$m.$form.quantize.txt" 2>&1; then
			say "$m $form FAIL quantize: $(tail -n 1 "$out/logs/$m.$form.quantize.txt" | cut -c1-200)"
			break
		fi
		if ! "$w" run "$q" --input "$in" --output "$out/o/$m.$form.npz" >"$out/logs/$m.$form.run.txt" 2>&1; then
			say "$m $form FAIL run: $(tail -n 1 "$out/logs/$m.$form.run.txt" | cut -c1-200)"
			continue
		fi
		r=$($py "$helper" check "$q" "$in" "$out/o/$m.$form.npz" 2>"$out/logs/$m.$form.check.txt" | tail -n 1)
		case $r in
		"load ok"*) say "$m $form ok: $r" ;;
		*) say "$m $form FAIL load: $r $(tail -n 1 "$out/logs/$m.$form.check.txt" | cut -c1-200)" ;;
		esac
	done
done
