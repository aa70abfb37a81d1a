#!/bin/sh
# Triage of the unseen17 export set (twenty-second session; docs/models.md, "Unseen
# set 17 (twenty-second session)"). Per model (scripts/triagelib.sh): inspect, float
# run against ONNX Runtime (1 thread; THREADS="1 2" for both), quantize (4 samples,
# the default method), the int8 QDQ file against ONNX Runtime on the same file,
# compare, the QOperator form against ONNX Runtime, sim, the .alt.npz sizes,
# `quantize --dynamic` for the models with MatMuls on symbolic sizes, and a triage
# `bench cpu --ort` (1 thread, 10 runs).
#   /usr/bin/python3 scripts/export_benchmodels.py --unseen17   (writes out/bench-models-unseen17)
#   scripts/triage_unseen17.sh [DIR] [MODEL ...]                (DIR: out/bench-models-unseen17)
# Logs in DIR/logs/M.STEP.txt, bench JSON in DIR/bench/; a line per step "M STEP ok|FAIL".
set -u
D=${1:-out/bench-models-unseen17}
[ $# -gt 0 ] && shift
W=${WARBOY:-bin/warboy}
PY=/usr/bin/python3
CHECK=scripts/unseen17_models.py
. "$(dirname "$0")/triagelib.sh"
MODELS=${*:-$($PY -c 'import sys; sys.path.insert(0, "scripts"); import unseen17_models as u; print(" ".join(u.MODELS))')}
for m in $MODELS; do
	# sim and bench need every symbolic size (they never guess one).
	case $m in
	pointnet2_ssg_op13) SHAPE="--input-shape xyz=1,128,3" ;;
	dgcnn_edgeconv_op13) SHAPE="--input-shape points=1,3,96" ;;
	gat_scatter_op18) SHAPE="--input-shape x=14,8 --input-shape edge_index=2,54" ;;
	ddim_cfg_step_op14) SHAPE="--input-shape latents=1,4,16,16" ;;
	canine_bytes_op13) SHAPE="--input-shape bytes=2,24" ;;
	ocr_ctc_greedy_op13) SHAPE="--input-shape image=1,1,32,96" ;;
	mdn_quantile_op13) SHAPE="--input-shape x=16,16 --input-shape y=16" ;;
	instantngp_hashgrid_op18) SHAPE="--input-shape xyz=64,3" ;;
	ft_transformer_op14) SHAPE="--input-shape x_num=16,6 --input-shape x_cat=16,3" ;;
	sampling_decode_op15) SHAPE="--input-shape input_ids=1,12" ;;
	kalman_script_op13) SHAPE="--input-shape z=20,2" ;;
	dlrm_interact_op13) SHAPE="--input-shape dense=8,13 --input-shape sparse0=8,3 --input-shape sparse1=8,3 --input-shape sparse2=8,3" ;;
	*) SHAPE="" ;;
	esac
	case $m in
	ft_transformer_op14 | sampling_decode_op15 | dlrm_interact_op13) DYN=1 ;;
	*) DYN=0 ;;
	esac
	triage_model "$m" "$SHAPE" $DYN "${THREADS:-1}"
	# Inputs whose meaning bench cannot draw (indices, edges, timesteps, bytes,
	# token ids, categories, tracks) come from the sample.
	case $m in
	gat_scatter_op18 | ddim_cfg_step_op14 | canine_bytes_op13 | ft_transformer_op14 | sampling_decode_op15 | kalman_script_op13 | dlrm_interact_op13)
		triage_bench "$m" --input "$D/data/$m.in.npz" ;;
	# shellcheck disable=SC2086 # SHAPE holds several flags
	*) triage_bench "$m" $SHAPE ;;
	esac
done
