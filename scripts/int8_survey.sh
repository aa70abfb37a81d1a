#!/bin/bash
# The int8 survey outside the named set (docs/runtime.md, "int8 outside the
# named set (fourteenth session)"): for each model, `warboy bench cpu --ort`
# at one thread (our float32, our int8, ONNX Runtime float32 and int8 on the
# same QDQ file, quantized on 32 synthetic inputs), one JSON per model in OUT,
# then a markdown table (the same as `scripts/int8_survey.sh --table OUT`).
#
#   go build -o /tmp/warboy ./cmd/warboy
#   BIN=/tmp/warboy scripts/int8_survey.sh OUT_DIR            # all models below
#   BIN=/tmp/warboy scripts/int8_survey.sh OUT_DIR m1 m2 ...  # a subset (names as below)
#   scripts/int8_survey.sh --table OUT_DIR
#
# ITER (default 10) timed runs per executor in ROUNDS (default 2) interleaved rounds.
set -u
table() {
	/usr/bin/python3 - "$1" <<'PY'
import json, glob, os, sys
print("| model | our float32 p50 | our int8 p50 | ORT float32 p50 | ORT int8 p50 | float32 / int8 (p50) | int8 / ORT int8 (p50) | float32 / int8 (min) | float32 nodes in int8 | load |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    n = os.path.basename(f)[:-5]
    try:
        j = json.load(open(f))
    except ValueError:
        continue
    if "error" in j:
        print(f"| {n} | error: {j['error'][-100:]} |")
        continue
    a, b, c, e = j["float32"], j["int8"], j.get("ort_float32") or {}, j.get("ort_int8") or {}
    load = ""
    if os.path.exists(f[:-5] + ".load"):
        load = "-".join(x.split(",")[0].strip() for x in open(f[:-5] + ".load").read().split("load average:")[1:])
    sp, vs = a["p50_ms"] / b["p50_ms"], b["p50_ms"] / e["p50_ms"] if e else float("nan")
    mark = lambda v, bad: f"**{v:.2f}**" if bad else f"{v:.2f}"
    print(f"| {n} | {a['p50_ms']:.2f} | {b['p50_ms']:.2f} | {c.get('p50_ms', 0):.2f} | {e.get('p50_ms', 0):.2f} | "
          f"{mark(sp, sp < 1.5)} | {mark(vs, vs > 1)} | {a['min_ms'] / b['min_ms']:.2f} | {len(b['fallback_nodes'] or [])} | {load} |")
PY
}
if [ "${1:-}" = "--table" ]; then
	table "${2:?usage: int8_survey.sh --table OUT_DIR}"
	exit 0
fi
OUT=${1:?usage: int8_survey.sh OUT_DIR [model ...]}
shift
BIN=${BIN:-warboy}
mkdir -p "$OUT"
declare -A MODELS=(
	[regnet_y_800mf]=extra [mobilenet_v3_large]=extra [shufflenet_v2_x1_0]=extra [densenet121]=extra
	[googlenet]=extra [squeezenet1_1]=extra [inception_v3]=unseen [swin_t]=unseen [mobilenet_v3_small]=unseen
	[efficientnet_b1]=unseen [lraspp_mobilenet_v3_large]=unseen [deeplabv3_mobilenet_v3_large]=unseen2
	[vit_b_32]=unseen2 [shufflenet_v2_x0_5]=unseen2 [mnasnet0_5]=unseen2 [efficientnet_v2_s]=unseen2
	[unet_small]=unseen3 [espcn_x3]=unseen3 [kws_conv1d]=unseen3 [maxvit_t]=unseen3
	[groupnorm_net_op12]=unseen4 [textcnn_op11]=unseen4 [yolov5s_640]=unseen4
	[bilstm_cls]=unseen5 [googlenet_tin]=unseen6 [lrn_acts]=unseen6 [mixer_gelu_tanh]=unseen6
	[yolov4_tiny_op13]=darknet [yolov3_tiny_op11]=darknet [mobilefacenet_op13]=darknet [enet_op12]=darknet
	[transformer_encoder]=detection [tcn]=audio
)
declare -A SHAPES=([bilstm_cls]=input=1,50,40 [transformer_encoder]=input=1,128,64)
names=("$@")
[ ${#names[@]} -eq 0 ] && names=($(printf '%s\n' "${!MODELS[@]}" | sort))
for n in "${names[@]}"; do
	m=out/bench-models-${MODELS[$n]}/$n.onnx
	extra=()
	[ -n "${SHAPES[$n]:-}" ] && extra=(--input-shape "${SHAPES[$n]}")
	uptime >"$OUT/$n.load"
	"$BIN" bench cpu "$m" "${extra[@]}" --ort --threads 1 --iterations "${ITER:-10}" --rounds "${ROUNDS:-2}" --json >"$OUT/$n.json" 2>"$OUT/$n.err"
	uptime >>"$OUT/$n.load"
done
table "$OUT"
