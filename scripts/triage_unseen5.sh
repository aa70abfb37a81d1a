#!/bin/sh
# Triage of the --unseen5 export set (tenth session; docs/models.md, "Unseen
# families (tenth session)"). Per model: inspect, float32 run against ONNX Runtime
# (1 and 2 threads, both sides), quantize (4 samples), the int8 QDQ file against
# ONNX Runtime on the same file (1 and 2 threads), compare, the QOperator form
# against ONNX Runtime, sim, and for models
# with symbolic sizes the float32 and int8 files at other sizes (DIR/data/M.alt.npz).
#   scripts/triage_unseen5.sh [DIR] [MODEL ...]     (DIR: out/bench-models-unseen5)
# Logs in DIR/logs/M.STEP.txt; a line per step "M STEP ok|FAIL".
set -u
D=${1:-out/bench-models-unseen5}
[ $# -gt 0 ] && shift
W=${WARBOY:-bin/warboy}
PY=/usr/bin/python3
U5=scripts/unseen5_models.py
mkdir -p "$D/logs" "$D/q" "$D/o"
MODELS=${*:-$($PY -c 'import sys; sys.path.insert(0, "scripts"); import unseen5_models as u; print(" ".join(u.MODELS))')}
step() { # name step command...
	m=$1; s=$2; shift 2
	if "$@" >"$D/logs/$m.$s.txt" 2>&1; then echo "$m $s ok"; else echo "$m $s FAIL: $(tail -n 2 "$D/logs/$m.$s.txt" | tr '\n' ' ' | cut -c1-300)"; fi
}
for m in $MODELS; do
	M=$D/$m.onnx Q=$D/q/$m.int8.onnx IN=$D/data/$m.in.npz ALT=$D/data/$m.alt.npz
	# sim needs every symbolic size (it never guesses one).
	case $m in
	gru_cls | bilstm_cls) SIMSHAPE="--input-shape input=1,20,40" ;;
	encoder_mask) SIMSHAPE="--input-shape input=1,16,32 --input-shape pad=1,16" ;;
	*) SIMSHAPE="" ;;
	esac
	step "$m" inspect "$W" inspect "$M"
	for t in 1 2; do
		step "$m" run-t$t "$W" run "$M" --input "$IN" --threads $t --output "$D/o/$m.f$t.npz"
		step "$m" ort-f-t$t $PY $U5 ortcheck "$M" "$IN" "$D/o/$m.f$t.npz" 60 --threads $t
	done
	step "$m" quantize "$W" quantize "$M" --calib-data "$D/data/$m" --calib-n 4 --batch 1 -o "$Q"
	for t in 1 2; do
		step "$m" run-q-t$t "$W" run "$Q" --input "$IN" --threads $t --output "$D/o/$m.q$t.npz"
		step "$m" ort-q-t$t $PY $U5 ortcheck "$Q" "$IN" "$D/o/$m.q$t.npz" 30 --threads $t
	done
	step "$m" compare "$W" compare "$M" "$Q" --data "$D/data/$m" --n 4 --batch 1 --json
	# The QOperator form (QLinearConv, QLinearMatMul) of the same calibration.
	step "$m" quantize-qop "$W" quantize "$M" --calib-data "$D/data/$m" --calib-n 4 --batch 1 --format qoperator -o "$D/q/$m.qop.onnx"
	step "$m" run-qop "$W" run "$D/q/$m.qop.onnx" --input "$IN" --output "$D/o/$m.qop.npz"
	step "$m" ort-qop $PY $U5 ortcheck "$D/q/$m.qop.onnx" "$IN" "$D/o/$m.qop.npz" 30
	step "$m" sim "$W" sim "$Q" $SIMSHAPE
	if [ -f "$ALT" ]; then
		step "$m" alt-f "$W" run "$M" --input "$ALT" --output "$D/o/$m.altf.npz"
		step "$m" ort-alt-f $PY $U5 ortcheck "$M" "$ALT" "$D/o/$m.altf.npz" 60
		step "$m" alt-q "$W" run "$Q" --input "$ALT" --output "$D/o/$m.altq.npz"
		step "$m" ort-alt-q $PY $U5 ortcheck "$Q" "$ALT" "$D/o/$m.altq.npz" 30
	fi
done
