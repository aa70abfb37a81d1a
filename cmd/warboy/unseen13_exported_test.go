package main

import (
	"testing"
)

// Exporter-made models of the eighteenth session's unseen13 triage
// (scripts/make_unseen13_testdata.py), against ONNX Runtime's outputs at two sizes
// of their symbolic dimensions, at one and two threads.
func TestUnseen13AsORT(t *testing.T) {
	for _, c := range []struct {
		name, model, data string
		outs              []string
		tol               float64
	}{
		// Scan (graph/ops_scan.go, runtime/op_scan.go): a bidirectional Mamba block
		// (states [N, D, S] from the runtime batch, scan axis 1, a reversed scan reading
		// an outer value) and skl2onnx's cdist (the state is X, a prototype per
		// iteration, the distances stacked on axis 0). Before: `Scan "f_hT":
		// unsupported operator Scan` in every command.
		{"mamba scan", "mamba_scan_op13.onnx", "npz_mamba", []string{"y", "logits", "state_mean"}, 1e-4},
		{"skl2onnx cdist scan", "skl2onnx_cdist_scan_op9.onnx", "npz_cdist", []string{"label", "probabilities", "knn_dist"}, 1e-5},
		// torch.jit.script's list appended in a Loop whose elements come from
		// loop-carried states torch.onnx leaves untyped: the element rank is read
		// from the list's declared type (graph/seq_scan.go). Before: `value "137" is
		// a sequence of tensor(float32) ...: only tensor types are supported`.
		{"rwkv wkv loop", "rwkv_small_op13.onnx", "npz_rwkv", []string{"logits"}, 1e-4},
		// tf2onnx's NHWC nearest Resize (scales [1, 2, 2, 1], tf_half_pixel_for_nn,
		// round_prefer_ceil) and its crop_and_resize Loop: the channel axis, not
		// resized, is copied as ONNX Runtime does (crop_logits was 0.3 dB off).
		{"tf2onnx crop and resize", "tf2onnx_cropresize_op13.onnx", "npz_crop", []string{"crop_logits", "tail", "tail_check"}, 1e-4},
		// Resize-18's axes, keep_aspect_ratio_policy and antialias, and CenterCropPad
		// (runtime/resize_antialias.go, graph/resize_axes.go, op_centercroppad.go) on a
		// decoded uint8 image of any size. Before: `Resize "resized": unsupported
		// attribute "keep_aspect_ratio_policy"`.
		{"opset-18 preprocessing", "preproc_aa_op18.onnx", "npz_preproc", []string{"nchw", "logits"}, 1e-4},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkAgainstORT(t, c.model, c.data, nil, c.outs, c.tol, 1, 2)
		})
	}
}
