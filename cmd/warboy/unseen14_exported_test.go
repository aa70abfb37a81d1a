package main

import (
	"testing"
)

// The onnx.helper graphs of the nineteenth session's unseen14 triage that every
// command refused before (scripts/make_unseen14_testdata.py), against ONNX
// Runtime's outputs at two sizes of their symbolic dimensions, at one and two
// threads.
func TestUnseen14AsORT(t *testing.T) {
	for _, c := range []struct {
		name, model string
		outs        []string
		tol         float64
	}{
		// HannWindow, DFT (onesided, dft_length 256 over frames of 200),
		// MelWeightMatrix (ONNX Runtime's mel step), then a CNN. Before:
		// `HannWindow "hann": unsupported operator HannWindow`.
		{"log-mel by DFT", "logmel_dft_op17", []string{"logits", "logmel"}, 1e-4},
		// HammingWindow periodic=0, a complex DFT, its inverse, BlackmanWindow.
		{"spectral mask and inverse DFT", "spectral_mask_idft_op17", []string{"denoised", "mask"}, 1e-4},
		// ai.onnx.ml: Scaler, LinearClassifier SOFTMAX, Normalizer L1, LinearRegressor.
		// Before: `Scaler "Scaler": unsupported operator Scaler (domain ai.onnx.ml)`.
		{"skl2onnx logistic regression", "skl2onnx_logreg_ml", []string{"label", "probabilities", "score"}, 1e-5},
		// TreeEnsembleRegressor AVERAGE, two targets, BRANCH_LEQ/BRANCH_LT.
		{"skl2onnx random forest", "skl2onnx_forest_reg_ml", []string{"variable"}, 1e-5},
		// Imputer of NaNs, TreeEnsembleClassifier SOFTMAX with base values; NaNs that
		// reach a branch follow nodes_missing_value_tracks_true.
		{"skl2onnx gradient boosting", "skl2onnx_gbdt_cls_ml", []string{"label", "probabilities"}, 1e-5},
		// GridSample on a 5-D volume (opset 20, linear, border, align_corners).
		// Before: `input of rank 5 (4-D only: N, C, H, W)`.
		{"voxelmorph 5-D grid sample", "voxelmorph_grid5d_op20", []string{"moved", "flow"}, 1e-4},
		// ScatterElements reduction max, ScatterND reduction add (opset 18). Before:
		// `unsupported reduction "max"`.
		{"pointpillars scatter max", "pointpillars_scatter_op18", []string{"boxes", "pillars"}, 1e-4},
		// BitShift, BitwiseAnd/Or/Xor/Not unpacking 4-bit weights and hashing ids.
		// Before: `unsupported operator BitwiseAnd`.
		{"int4 unpack by bitwise ops", "int4_unpack_bitwise_op18", []string{"y"}, 1e-4},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkAgainstORT(t, c.model+".onnx", "npz_u14_"+c.model, nil, c.outs, c.tol, 1, 2)
		})
	}
}
