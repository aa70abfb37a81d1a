#!/bin/sh
# CPU-time ratios against ONNX Runtime over many exported models (issue #15,
# sixteenth session). On a shared, loaded machine wall-clock ratios against ORT
# are unreliable; the process CPU time of each timed run is not (at one thread
# the time spent waiting for a core is not counted). Per model, at THREADS
# threads (default 1), one `warboy bench cpu --ort --json` run: our float32,
# ONNX Runtime float32, our int8 and ORT int8 on the same files and input,
# interleaved in ROUNDS rounds (default 3) of ITERATIONS runs in all (default
# 12); the JSON's cpu_p50_ms fields (docs/cli.md) give the ratios.
#
#   scripts/cpu_ratio_sweep.sh OUT LIST|MODEL.onnx ...
#
# LIST is a file with one model path per line ('#' starts a comment); arguments
# ending in .onnx are models. Per model DIR/M.onnx: the input is DIR/data/M.in.npz
# when present (else synthetic: bench.SyntheticInputs), calibration uses the
# 4 samples of DIR/data/M/ when present (else 4 synthetic ones). A model that
# cannot be timed (symbolic sizes without data, a failure) gets a "skip" or
# "FAIL" line. TIMEOUT (seconds, default 900) bounds each model; WARBOY names
# a prebuilt binary (default: built into OUT/warboy).
#
# Writes OUT/json/M.json, OUT/logs/M.txt and OUT/table.txt: one row per model,
# sorted by the float32 ratio, worst first:
#   model | f32 CPU ms | ORT f32 CPU ms | f32/ORT | int8 CPU ms | f32/int8 | int8/ORT int8 | flags | load
# flags: F (float32 more than 1.25x ORT's CPU time), I (int8 less than 1.5x
# faster than our float32). scripts/cpu_ratio_sweep.sh OUT (no models)
# reprints the table from OUT/json.
set -u
out=${1:?usage: cpu_ratio_sweep.sh OUT LIST|MODEL.onnx ...}
shift
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out/json" "$out/logs"
w=${WARBOY:-$out/warboy}
if [ -z "${WARBOY:-}" ] && [ $# -gt 0 ]; then
	go build -o "$w" "$here/cmd/warboy" || exit 1
fi

sweep_one() { # MODEL.onnx
	M=$1
	m=$(basename "$M" .onnx)
	D=$(dirname "$M")
	set -- --ort --json --threads "${THREADS:-1}" --iterations "${ITERATIONS:-12}" --rounds "${ROUNDS:-3}" --calib-n 4
	[ -f "$D/data/$m.in.npz" ] && set -- "$@" --input "$D/data/$m.in.npz"
	[ -d "$D/data/$m" ] && set -- "$@" --calib-data "$D/data/$m"
	load=$(cut -d' ' -f1 /proc/loadavg)
	start=$(date -u +%H:%M:%S)
	if timeout "${TIMEOUT:-900}" "$w" bench cpu "$M" "$@" </dev/null >"$out/json/$m.json.tmp" 2>"$out/logs/$m.txt"; then
		mv "$out/json/$m.json.tmp" "$out/json/$m.json"
		echo "$m ok ($start, load $load)"
		echo "$start $load" >"$out/logs/$m.load"
	else
		rc=$?
		rm -f "$out/json/$m.json.tmp"
		[ $rc -eq 124 ] && echo "timed out after ${TIMEOUT:-900} s" >>"$out/logs/$m.txt"
		echo "$m FAIL ($start): $(tail -n 1 "$out/logs/$m.txt" | cut -c1-200)"
	fi
}

for a in "$@"; do
	case $a in
	*.onnx) sweep_one "$a" ;;
	*)
		grep -v '^[[:space:]]*\(#\|$\)' "$a" | while read -r M _; do
			sweep_one "$M"
		done
		;;
	esac
done

# The table, worst float32 ratio first.
for j in "$out"/json/*.json; do
	[ -f "$j" ] || continue
	m=$(basename "$j" .json)
	load=$(cut -d' ' -f2 "$out/logs/$m.load" 2>/dev/null)
	/usr/bin/python3 - "$j" "$m" "${load:--}" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
def cpu(k):
    s = r.get(k)
    return s["cpu_p50_ms"] if s and s.get("cpu_p50_ms") else None
f, of, i8, oi = cpu("float32"), cpu("ort_float32"), cpu("int8"), cpu("ort_int8")
def ratio(a, b):
    return a / b if a and b else None
rf, sp, ri = ratio(f, of), ratio(f, i8), ratio(i8, oi)
fmt = lambda v, p=2: "-" if v is None else f"{v:.{p}f}"
flags = ("F" if rf and rf > 1.25 else "") + ("I" if sp and sp < 1.5 else "")
print(f"{fmt(rf, 3)}\t{sys.argv[2]} | {fmt(f)} | {fmt(of)} | {fmt(rf)} | {fmt(i8)} | {fmt(sp)} | {fmt(ri)} | {flags or '-'} | {sys.argv[3]}")
EOF
done | sort -t'	' -k1,1 -g -r | cut -f2- | {
	echo "model | f32 CPU ms | ORT f32 CPU ms | f32/ORT | int8 CPU ms | f32/int8 | int8/ORT int8 | flags | load"
	cat
} | tee "$out/table.txt"
