#!/bin/sh
# Robustness sweep: every command of warboy on models exported by torch.onnx and
# on paddle2onnx-style spellings (scripts/sweep_models.py), none of which the
# project was built on. Prints a table model x command -> ok / FAIL / skip and
# writes the logs of every step to OUT/logs/MODEL.COMMAND.txt.
#
#   scripts/sweep_exports.sh [OUT] [MODEL ...]      (default OUT: out/sweep)
#
# EXPORT=0 reuses the models already in OUT/models. Needs Debian's /usr/bin/python3
# (python3-torch, python3-torchvision, python3-onnx) and tools/ort (node).
#
# Commands (columns):
#   inspect   warboy inspect (with --input-shape when the input is symbolic)
#   run       warboy run --input X.npy --output O.npz, outputs against ONNX Runtime (>= 60 dB SQNR)
#   q-npy     warboy quantize --calib-data DIR_OF_NPY (4 samples)
#   q-ort     the int8 QDQ file run by warboy (int8 executor) against ONNX Runtime on the same file (>= 30 dB)
#   q-dyn     models with symbolic batch/height/width: the int8 model at another input size
#             (batch 2, 3/4 of the height and width) against ONNX Runtime (>= 30 dB)
#   q-img     warboy quantize --calib-data IMAGES --preprocess imagenet (224x224 RGB classifiers)
#   compare   warboy compare FLOAT INT8 --data DIR_OF_NPY; "ok" also needs every output's SQNR >= 10 dB
#   eval      warboy eval on labelled images (--preprocess imagenet; classifiers only)
#   sim       warboy sim of the int8 model
#   bench     warboy bench cpu INT8 --float FLOAT (2 iterations)
set -u
out=${1:-out/sweep}
[ $# -gt 0 ] && shift
py=/usr/bin/python3
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out/logs" "$out/q"
if [ "${EXPORT:-1}" != 0 ]; then
	if [ $# -gt 0 ]; then
		$py "$here/scripts/sweep_models.py" export "$out" --only "$(echo "$@" | tr ' ' ',')"
	else
		$py "$here/scripts/sweep_models.py" export "$out"
	fi
fi
go build -o "$out/warboy" "$here/cmd/warboy" || exit 1
w="$out/warboy"
imgs="$here/testdata/exported/images"

# step NAME CMD...: runs CMD with its output in the log; prints ok or FAIL.
step() {
	s=$1
	shift
	log="$out/logs/$name.$s.txt"
	echo "\$ $*" >"$log"
	if timeout "${STEP_TIMEOUT:-900}" "$@" >>"$log" 2>&1; then r=ok; else r=FAIL; fi
	printf '%s' "$r"
}

printf '%-40s %-7s %-5s %-5s %-5s %-5s %-5s %-7s %-5s %-5s %-5s\n' model inspect run q-npy q-ort q-dyn q-img compare eval sim bench
while IFS='|' read -r name kind input shape flags; do
	if [ $# -gt 0 ]; then
		case " $* " in *" $name "*) ;; *) continue ;; esac
	fi
	case "$flags" in export-failed*)
		printf '%-40s %s\n' "$name" "$flags"
		continue
		;;
	esac
	m="$out/models/$name.onnx"
	q="$out/q/$name.int8.onnx"
	d="$out/data/$name"
	x="$out/data/$name.in.npy"
	shp="--input-shape=$input=$shape"
	rm -f "$q"
	r_inspect=$(step inspect "$w" inspect "$m" "$shp")
	r_run=$(step run sh -c "'$w' run '$m' --input '$x' --output '$out/logs/$name.run.npz' && $py '$here/scripts/sweep_models.py' ortcheck '$m' '$x' '$out/logs/$name.run.npz'")
	r_q=$(step q-npy "$w" quantize "$m" --calib-data "$d" --calib-n 4 --batch 1 -o "$q")
	r_qort=skip r_qdyn=skip r_cmp=skip r_sim=skip r_bench=skip r_img=skip r_eval=skip
	if [ -f "$q" ]; then
		r_qort=$(step q-ort sh -c "'$w' run '$q' --input '$x' --output '$out/logs/$name.q.npz' && $py '$here/scripts/sweep_models.py' ortcheck '$q' '$x' '$out/logs/$name.q.npz' --sqnr 30")
		case ",$flags," in *,dyn,*)
			r_qdyn=$(step q-dyn sh -c "$py '$here/scripts/sweep_models.py' otherinput '$x' '$out/logs/$name.other.npy' && '$w' run '$q' --input '$out/logs/$name.other.npy' --output '$out/logs/$name.qdyn.npz' && $py '$here/scripts/sweep_models.py' ortcheck '$q' '$out/logs/$name.other.npy' '$out/logs/$name.qdyn.npz' --sqnr 30")
			;;
		esac
		r_cmp=$(step compare sh -c "'$w' compare '$m' '$q' --data '$d' --batch 1 --json > '$out/logs/$name.compare.json' && $py -c \"
import json,sys
r=json.load(open('$out/logs/$name.compare.json'))
bad=[o for o in r['outputs'] if o.get('sqnr_db') is not None and o['sqnr_db']<10]
[print(o['output'],o.get('sqnr_db'),o.get('top1_agreement')) for o in r['outputs']]
sys.exit(1 if bad else 0)\"")
		r_sim=$(step sim "$w" sim "$q" "$shp")
		r_bench=$(step bench "$w" bench cpu "$q" --float "$m" "$shp" --iterations 2 --warmup 1 --rounds 1)
	fi
	case ",$flags," in *,img,*)
		r_img=$(step q-img "$w" quantize "$m" --calib-data "$imgs" --preprocess imagenet --calib-n 6 --batch 1 -o "$out/q/$name.img.int8.onnx")
		r_eval=$(step eval "$w" eval "$m" --data "$imgs" --preprocess imagenet --batch 1)
		;;
	esac
	printf '%-40s %-7s %-5s %-5s %-5s %-5s %-5s %-7s %-5s %-5s %-5s\n' "$name" "$r_inspect" "$r_run" "$r_q" "$r_qort" "$r_qdyn" "$r_img" "$r_cmp" "$r_eval" "$r_sim" "$r_bench"
done <"$out/manifest.txt"

# The numbers behind the table: SQNR of our float32 run against ONNX Runtime, of our
# int8 run against ONNX Runtime on the same QDQ file, of int8 against float32
# (warboy compare, first output, with its top-1 agreement), and the simulated latency.
echo
printf '%-40s %-12s %-12s %-18s %s\n' model float-vs-ORT int8-vs-ORT int8-vs-float sim-latency
while IFS='|' read -r name kind input shape flags; do
	case "$flags" in export-failed*) continue ;; esac
	[ -f "$out/logs/$name.inspect.txt" ] || continue
	sq() { [ -f "$1" ] && sed -n 's/^worst: sqnr \([^ ]*\) dB.*/\1/p' "$1" | tail -1; }
	cmp=$($py -c "
import json
try:
    o=json.load(open('$out/logs/$name.compare.json'))['outputs'][0]
    t=' top1 %.0f%%' % (100*o['top1_agreement']) if o.get('classes') else ''
    print('%s%s' % (o.get('sqnr_db'), t))
except Exception: print('-')" 2>/dev/null)
	lat=$(sed -n 's/^latency *\([0-9.]* us\).*/\1/p' "$out/logs/$name.sim.txt" 2>/dev/null)
	printf '%-40s %-12s %-12s %-18s %s\n' "$name" "$(sq "$out/logs/$name.run.txt")" "$(sq "$out/logs/$name.q-ort.txt")" "$cmp" "${lat:--}"
done <"$out/manifest.txt"
