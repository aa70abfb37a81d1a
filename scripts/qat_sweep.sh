#!/bin/bash
# Runs `warboy qat` and PyTorch's eager QAT (scripts/qat_reference.py) on one model for
# several seeds, one training at a time at one thread, and writes each run's --json to
# OUTDIR (docs/quantizer.md, "QAT measurements"). Summarise with scripts/qat_summary.py.
#
#   scripts/qat_sweep.sh MODEL.onnx OUTDIR EPOCHS "SEEDS" [warboy|torch|both] [-- WARBOY_FLAGS...]
#
# e.g. scripts/qat_sweep.sh ../shared/models/fmnist_cnn.onnx runs 2 "0 1 2 3 4" both
# WARBOY (default: warboy on PATH), PYTHON (default /usr/bin/python3, Debian's, with
# python3-torch), DATA (default ../shared/data/fashion-mnist) and TORCH_FLAGS (extra flags for
# scripts/qat_reference.py, e.g. "--lr 0.003") may be set.
# Files: OUTDIR/<tool>-<model>-e<EPOCHS>-s<SEED>.json (and .err, and the .onnx warboy
# writes); a run whose .json already exists is skipped, so an interrupted sweep resumes.
set -u
if [ $# -lt 4 ]; then
	sed -n '2,13p' "$0" >&2
	exit 2
fi
model=$1 outdir=$2 epochs=$3 seeds=$4
tools=${5:-both}
shift $(($# < 5 ? $# : 5))
[ "${1:-}" = "--" ] && shift
WARBOY=${WARBOY:-warboy}
PYTHON=${PYTHON:-/usr/bin/python3}
DATA=${DATA:-../shared/data/fashion-mnist}
here=$(cd "$(dirname "$0")" && pwd)
name=$(basename "$model" .onnx)
mkdir -p "$outdir" || exit 1

run() { # tool seed command...
	local tool=$1 seed=$2
	shift 2
	local out="$outdir/$tool-$name-e$epochs-s$seed"
	if [ -s "$out.json" ]; then
		echo "skip $out.json (exists)" >&2
		return
	fi
	local t0=$(date +%s)
	if "$@" >"$out.json.tmp" 2>"$out.err"; then
		mv "$out.json.tmp" "$out.json"
		echo "$tool $name e$epochs s$seed: $(($(date +%s) - t0)) s" >&2
	else
		echo "$tool $name e$epochs s$seed: FAILED, see $out.err" >&2
		rm -f "$out.json.tmp"
	fi
}

for s in $seeds; do
	case $tools in warboy | both)
		run warboy "$s" "$WARBOY" qat "$model" -o "$outdir/warboy-$name-e$epochs-s$s.onnx" --data "$DATA" \
			--threads 1 --epochs "$epochs" --seed "$s" --json "$@" ;;
	esac
	case $tools in torch | both)
		run torch "$s" "$PYTHON" "$here/qat_reference.py" "$model" --data "$DATA" \
			--epochs "$epochs" --threads 1 --seed "$s" --json ${TORCH_FLAGS:-} ;;
	esac
done
