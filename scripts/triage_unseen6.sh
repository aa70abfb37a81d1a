#!/bin/sh
# Triage of the --unseen6 export set (eleventh session; docs/models.md, "Unseen
# families (eleventh session)"). Per model: inspect, float32 run against ONNX Runtime
# (1 and 2 threads, both sides), quantize (4 samples), the int8 QDQ file against
# ONNX Runtime on the same file (1 and 2 threads), compare, the QOperator form
# against ONNX Runtime, sim, for models with symbolic sizes the float32 and int8
# files at other sizes (DIR/data/M.alt.npz), and for the models with recurrent or
# MatMul layers `quantize --dynamic` against ONNX Runtime.
#   scripts/triage_unseen6.sh [DIR] [MODEL ...]     (DIR: out/bench-models-unseen6)
# Logs in DIR/logs/M.STEP.txt; a line per step "M STEP ok|FAIL".
set -u
D=${1:-out/bench-models-unseen6}
[ $# -gt 0 ] && shift
W=${WARBOY:-bin/warboy}
PY=/usr/bin/python3
U6=scripts/unseen6_models.py
mkdir -p "$D/logs" "$D/q" "$D/o"
MODELS=${*:-$($PY -c 'import sys; sys.path.insert(0, "scripts"); import unseen6_models as u; print(" ".join(u.MODELS))')}
step() { # name step command...
	m=$1; s=$2; shift 2
	if "$@" >"$D/logs/$m.$s.txt" 2>&1; then echo "$m $s ok"; else echo "$m $s FAIL: $(tail -n 2 "$D/logs/$m.$s.txt" | tr '\n' ' ' | cut -c1-300)"; fi
}
for m in $MODELS; do
	M=$D/$m.onnx Q=$D/q/$m.int8.onnx IN=$D/data/$m.in.npz ALT=$D/data/$m.alt.npz
	# sim needs every symbolic size (it never guesses one).
	case $m in
	slicenet_op10_dynhw) SIMSHAPE="--input-shape input=1,3,64,64" ;;
	resize_modes_op11) SIMSHAPE="--input-shape input=1,3,96,96" ;;
	uint8_nhwc) SIMSHAPE="--input-shape image=1,96,96,3" ;;
	einsum_where) SIMSHAPE="--input-shape input=1,20,48" ;;
	kv_cache_step) SIMSHAPE="--input-shape x=1,1,64 --input-shape past_key=1,4,12,16 --input-shape past_value=1,4,12,16" ;;
	crnn_ctc) SIMSHAPE="--input-shape input=1,1,32,128" ;;
	rnn_tanh_op14) SIMSHAPE="--input-shape input=1,15,24" ;;
	tconv1d) SIMSHAPE="--input-shape input=1,1,1024" ;;
	tf2onnx_op13) SIMSHAPE="--input-shape input=1,48,48,3" ;;
	embbag_op13) SIMSHAPE="--input-shape tokens=20 --input-shape offsets=4" ;;
	*) SIMSHAPE="" ;;
	esac
	step "$m" inspect "$W" inspect "$M"
	for t in 1 2; do
		step "$m" run-t$t "$W" run "$M" --input "$IN" --threads $t --output "$D/o/$m.f$t.npz"
		step "$m" ort-f-t$t $PY $U6 ortcheck "$M" "$IN" "$D/o/$m.f$t.npz" 60 --threads $t
	done
	step "$m" quantize "$W" quantize "$M" --calib-data "$D/data/$m" --calib-n 4 --batch 1 -o "$Q"
	for t in 1 2; do
		step "$m" run-q-t$t "$W" run "$Q" --input "$IN" --threads $t --output "$D/o/$m.q$t.npz"
		step "$m" ort-q-t$t $PY $U6 ortcheck "$Q" "$IN" "$D/o/$m.q$t.npz" 30 --threads $t
	done
	step "$m" compare "$W" compare "$M" "$Q" --data "$D/data/$m" --n 4 --batch 1 --json
	step "$m" quantize-qop "$W" quantize "$M" --calib-data "$D/data/$m" --calib-n 4 --batch 1 --format qoperator -o "$D/q/$m.qop.onnx"
	step "$m" run-qop "$W" run "$D/q/$m.qop.onnx" --input "$IN" --output "$D/o/$m.qop.npz"
	step "$m" ort-qop $PY $U6 ortcheck "$D/q/$m.qop.onnx" "$IN" "$D/o/$m.qop.npz" 30
	# shellcheck disable=SC2086 # SIMSHAPE holds several flags
	step "$m" sim "$W" sim "$Q" $SIMSHAPE
	if [ -f "$ALT" ]; then
		step "$m" alt-f "$W" run "$M" --input "$ALT" --output "$D/o/$m.altf.npz"
		step "$m" ort-alt-f $PY $U6 ortcheck "$M" "$ALT" "$D/o/$m.altf.npz" 60
		step "$m" alt-q "$W" run "$Q" --input "$ALT" --output "$D/o/$m.altq.npz"
		step "$m" ort-alt-q $PY $U6 ortcheck "$Q" "$ALT" "$D/o/$m.altq.npz" 30
	fi
	case $m in
	crnn_ctc | kv_cache_step | einsum_where | mixer_gelu_tanh | rnn_tanh_op14 | scatter_cumsum | embbag_op13)
		step "$m" quantize-dyn "$W" quantize "$M" --dynamic -o "$D/q/$m.dyn.onnx"
		step "$m" run-dyn "$W" run "$D/q/$m.dyn.onnx" --input "$IN" --output "$D/o/$m.dyn.npz"
		step "$m" ort-dyn $PY $U6 ortcheck "$D/q/$m.dyn.onnx" "$IN" "$D/o/$m.dyn.npz" 30
		step "$m" compare-dyn "$W" compare "$M" "$D/q/$m.dyn.onnx" --data "$D/data/$m" --n 4 --batch 1 --json
		;;
	esac
done
