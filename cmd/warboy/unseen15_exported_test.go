package main

import (
	"testing"
)

// The onnx.helper graphs of the twentieth session's unseen15 set that every
// command refused before (scripts/make_unseen15_testdata.py writes them with ONNX
// Runtime's outputs; docs/models.md, "Unseen families, set 15"), two input sizes
// each, at 1 and 2 threads.
func TestUnseen15AsORT(t *testing.T) {
	for _, c := range []struct {
		name, model string
		outs        []string
		tol         float64
	}{
		// DeformConv (opset 19) with a Sigmoid modulation mask, a bias and 2 offset
		// groups; strided and dilated without a mask. Before: `DeformConv "dcn1":
		// unsupported operator DeformConv (domain ai.onnx)`.
		{"DCNv2 DeformConv", "dcnv2_deformconv_op19", []string{"logits", "heatmap"}, 1e-5},
		// onnxruntime-genai's 4-bit Llama layer (accuracy_level 0): SimplifiedLayer-
		// Normalization, MatMulNBits with and without zero points, RotaryEmbedding
		// from position_ids, SkipSimplifiedLayerNormalization. Before:
		// `SimplifiedLayerNormalization "x1": unsupported operator`.
		{"genai int4 Llama layer", "ortgenai_int4_llama", []string{"logits", "h2"}, 1e-4},
		// RotaryEmbedding interleaved on [B, heads, S, head] from a [1] offset with a
		// partial rotary dimension; MatMulNBits 8-bit and 2-bit, a padded last block,
		// a bias; RMSNorm over two axes; SkipSimplifiedLayerNormalization with a bias.
		{"genai operator spellings", "genai_ops", []string{"y", "summed"}, 1e-5},
		// ai.onnx.ml ArrayFeatureExtractor, Scaler, Binarizer, OneHotEncoder (an
		// unseen category all zeros), then MatMuls. Before: `ArrayFeatureExtractor
		// "num_sel": unsupported operator ArrayFeatureExtractor (domain ai.onnx.ml)`.
		{"skl2onnx column transformer", "skl2onnx_coltrans_mlp_ml", []string{"variable"}, 1e-5},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkAgainstORT(t, c.model+".onnx", "npz_u15_"+c.model, nil, c.outs, c.tol, 1, 2)
		})
	}
}
