package main

import (
	"testing"
)

// The experimental operators of the ONNX model zoo's opset 7-9 files, removed
// from the standard at opset 10 (ImageScaler, Scale, Affine, ScaledTanh,
// ParametricSoftplus, Crop with a border or a scale), expanded at load
// (graph/expand_legacy.go) as ONNX Runtime computes them, in an IR-version-3
// file whose initializer is also a graph input (scripts/make_unseen12_testdata.py;
// modelzoo_op8 of --unseen12: `ImageScaler "scaled": unsupported operator
// ImageScaler (domain ai.onnx)` before, in every command).
func TestLegacyExperimentalOpsAsORT(t *testing.T) {
	checkAgainstORT(t, "legacy_ops_op8.onnx", "npz_legacy", nil,
		[]string{"scaled", "stanh", "psp", "crop_border", "crop_scale"}, 1e-5, 1, 2)
}

// A graph convolutional network as torch.onnx exports index_select and
// index_add_ (ScatterElements with reduction add, opset 16), with symbolic node
// and edge counts, read from inputs NumPy saved in Fortran order
// (gcn_index_add_op16 of --unseen12: every command refused its data before,
// `array "edge_index": Fortran-order .npy arrays are not supported`).
func TestGCNIndexAddAsORT(t *testing.T) {
	checkAgainstORT(t, "gcn_index_add_op16.onnx", "npz_gcn", nil, []string{"graph_logits", "node_feat"}, 1e-4, 1, 2)
}
