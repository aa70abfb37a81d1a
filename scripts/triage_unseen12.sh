#!/bin/sh
# Triage of the unseen12 export set (seventeenth session; docs/models.md, "Unseen
# families, set 12 (seventeenth session)"). Per model (scripts/triagelib.sh): inspect,
# float run against ONNX Runtime (1 thread; THREADS="1 2" for both), quantize
# (4 samples, the default method), the int8 QDQ file against ONNX Runtime on the same
# file, compare, the QOperator form against ONNX Runtime, sim, the .alt.npz sizes,
# `quantize --dynamic` for the transformer-like models, and a triage `bench cpu --ort`
# (1 thread, 10 runs).
#   /usr/bin/python3 scripts/export_benchmodels.py --unseen12   (writes out/bench-models-unseen12)
#   scripts/triage_unseen12.sh [DIR] [MODEL ...]                (DIR: out/bench-models-unseen12)
# Logs in DIR/logs/M.STEP.txt, bench JSON in DIR/bench/; a line per step "M STEP ok|FAIL".
set -u
D=${1:-out/bench-models-unseen12}
[ $# -gt 0 ] && shift
W=${WARBOY:-bin/warboy}
PY=/usr/bin/python3
CHECK=scripts/unseen12_models.py
. "$(dirname "$0")/triagelib.sh"
MODELS=${*:-$($PY -c 'import sys; sys.path.insert(0, "scripts"); import unseen12_models as u; print(" ".join(u.MODELS))')}
for m in $MODELS; do
	# sim and bench need every symbolic size (they never guess one).
	case $m in
	hrnet_dynhw_op13) SHAPE="--input-shape x=1,3,64,64" ;;
	pointnet_op13) SHAPE="--input-shape points=2,3,256" ;;
	gcn_index_add_op16) SHAPE="--input-shape x=19,8 --input-shape edge_index=2,100 --input-shape batch=19" ;;
	sbert_meanpool_op14 | sbert_fp16_op14) SHAPE="--input-shape input_ids=2,16 --input-shape attention_mask=2,16" ;;
	ddpm_unet_op13) SHAPE="--input-shape x=2,3,32,32 --input-shape t=2" ;;
	scripted_pad_dynhw_op13) SHAPE="--input-shape x=1,3,40,52" ;;
	moe_topk_op13) SHAPE="--input-shape x=2,12,16" ;;
	nerf_siren_op13) SHAPE="--input-shape xyz=64,3 --input-shape dirs=64,3" ;;
	*) SHAPE="" ;;
	esac
	case $m in
	sbert_meanpool_op14 | moe_topk_op13 | nerf_siren_op13) DYN=1 ;;
	*) DYN=0 ;;
	esac
	triage_model "$m" "$SHAPE" $DYN "${THREADS:-1}"
	# Inputs whose meaning bench cannot draw (edges, graph ids, token ids, timesteps)
	# come from the sample.
	case $m in
	gcn_index_add_op16 | sbert_meanpool_op14 | sbert_fp16_op14 | ddpm_unet_op13 | stylegan_modconv_op13 | nerf_siren_op13)
		triage_bench "$m" --input "$D/data/$m.in.npz" ;;
	# shellcheck disable=SC2086 # SHAPE holds several flags
	*) triage_bench "$m" $SHAPE ;;
	esac
done
