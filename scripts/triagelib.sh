# shellcheck shell=sh
# The per-model triage steps shared by scripts/triage_unseen5.sh, triage_unseen6.sh
# and triage_unseen7.sh (the export side is shared in scripts/exportlib.py). Sourced:
#   . scripts/triagelib.sh
# The caller sets
#   D      the export directory (DIR/M.onnx, DIR/data/M/s*.npz, DIR/data/M.in.npz,
#          DIR/data/M.alt.npz for symbolic-size models)
#   W      the warboy binary, PY the Python with numpy (/usr/bin/python3)
#   CHECK  the script with the `ortcheck MODEL IN OURS MIN_SQNR [--threads T]` command
# and calls triage_model per model. Logs in DIR/logs/M.STEP.txt, a line per step
# "M STEP ok|FAIL: last lines of the log".

triage_step() { # MODEL STEP COMMAND...
	_m=$1 _s=$2
	shift 2
	if "$@" >"$D/logs/$_m.$_s.txt" 2>&1; then
		# An ORT check that passes only without ONNX Runtime's own QLinearSoftmax
		# fusion says so (scripts/exportlib.py ort_side_softmax).
		_n=$(grep '^ORT-side:' "$D/logs/$_m.$_s.txt" | tail -n 1)
		echo "$_m $_s ok${_n:+ ($_n)}"
	else
		echo "$_m $_s FAIL: $(tail -n 2 "$D/logs/$_m.$_s.txt" | tr '\n' ' ' | cut -c1-300)"
	fi
}

# triage_model MODEL SIMSHAPE DYNAMIC THREADS
#   SIMSHAPE  the --input-shape flags sim needs for the symbolic sizes ("" if none)
#   DYNAMIC   1: also quantize --dynamic, run it, against ONNX Runtime, compare
#   THREADS   the thread counts of the run and ONNX Runtime steps ("1 2")
# Steps: inspect; run (each thread count) vs ONNX Runtime (same count); quantize
# (4 calibration samples); the QDQ file vs ONNX Runtime; compare; the QOperator
# form, run, vs ONNX Runtime; sim; the .alt.npz sizes (float and int8) vs ONNX
# Runtime; the dynamic quantization.
triage_model() {
	m=$1 simshape=$2 dyn=$3 threads=$4
	M=$D/$m.onnx Q=$D/q/$m.int8.onnx IN=$D/data/$m.in.npz ALT=$D/data/$m.alt.npz
	mkdir -p "$D/logs" "$D/q" "$D/o"
	triage_step "$m" inspect "$W" inspect "$M"
	for t in $threads; do
		triage_step "$m" run-t$t "$W" run "$M" --input "$IN" --threads $t --output "$D/o/$m.f$t.npz"
		triage_step "$m" ort-f-t$t $PY "$CHECK" ortcheck "$M" "$IN" "$D/o/$m.f$t.npz" 60 --threads $t
	done
	triage_step "$m" quantize "$W" quantize "$M" --calib-data "$D/data/$m" --calib-n 4 --batch 1 -o "$Q"
	for t in $threads; do
		triage_step "$m" run-q-t$t "$W" run "$Q" --input "$IN" --threads $t --output "$D/o/$m.q$t.npz"
		triage_step "$m" ort-q-t$t $PY "$CHECK" ortcheck "$Q" "$IN" "$D/o/$m.q$t.npz" 30 --threads $t
	done
	triage_step "$m" compare "$W" compare "$M" "$Q" --data "$D/data/$m" --n 4 --batch 1 --json
	# The QOperator form (QLinearConv, QLinearMatMul) of the same calibration.
	triage_step "$m" quantize-qop "$W" quantize "$M" --calib-data "$D/data/$m" --calib-n 4 --batch 1 --format qoperator -o "$D/q/$m.qop.onnx"
	triage_step "$m" run-qop "$W" run "$D/q/$m.qop.onnx" --input "$IN" --output "$D/o/$m.qop.npz"
	triage_step "$m" ort-qop $PY "$CHECK" ortcheck "$D/q/$m.qop.onnx" "$IN" "$D/o/$m.qop.npz" 30
	# shellcheck disable=SC2086 # simshape holds several flags
	triage_step "$m" sim "$W" sim "$Q" $simshape
	if [ -f "$ALT" ]; then
		triage_step "$m" alt-f "$W" run "$M" --input "$ALT" --output "$D/o/$m.altf.npz"
		triage_step "$m" ort-alt-f $PY "$CHECK" ortcheck "$M" "$ALT" "$D/o/$m.altf.npz" 60
		triage_step "$m" alt-q "$W" run "$Q" --input "$ALT" --output "$D/o/$m.altq.npz"
		triage_step "$m" ort-alt-q $PY "$CHECK" ortcheck "$Q" "$ALT" "$D/o/$m.altq.npz" 30
	fi
	if [ "$dyn" = 1 ]; then
		triage_step "$m" quantize-dyn "$W" quantize "$M" --dynamic -o "$D/q/$m.dyn.onnx"
		triage_step "$m" run-dyn "$W" run "$D/q/$m.dyn.onnx" --input "$IN" --output "$D/o/$m.dyn.npz"
		triage_step "$m" ort-dyn $PY "$CHECK" ortcheck "$D/q/$m.dyn.onnx" "$IN" "$D/o/$m.dyn.npz" 30
		triage_step "$m" compare-dyn "$W" compare "$M" "$D/q/$m.dyn.onnx" --data "$D/data/$m" --n 4 --batch 1 --json
	fi
}

# triage_bench MODEL FLAGS: bench cpu of the int8 file with --float and --ort
# (1 thread, 10 runs in 1 round: a triage figure, not a measurement) into
# DIR/bench/M.t1.json; FLAGS binds symbolic sizes (--input-shape or --input).
triage_bench() {
	m=$1
	shift
	mkdir -p "$D/bench"
	if "$W" bench cpu "$D/q/$m.int8.onnx" --float "$D/$m.onnx" --ort --threads 1 --iterations 10 --rounds 1 --warmup 1 "$@" --json \
		>"$D/bench/$m.t1.json" 2>"$D/bench/$m.t1.err"; then
		echo "$m bench ok"
	else
		echo "$m bench FAIL: $(tail -n 1 "$D/bench/$m.t1.err" | cut -c1-300)"
	fi
}
