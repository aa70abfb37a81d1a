package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// The composite operators the graph package expands at load (graph/expand.go)
// as ONNX Runtime computes them: LpNormalization, LpPool, GlobalLpPool,
// MeanVarianceNormalization, ReverseSequence in both layouts,
// SoftmaxCrossEntropyLoss with class weights and ignore_index (and its
// log_prob), NegativeLogLikelihoodLoss (sum, none), at opset 12
// (scripts/make_unseen11_testdata.py; caffe2_lp_op11, tf2onnx_revseq_op13 and
// cls_loss_op13 of the unseen11 set, which every command refused before:
// `LpNormalization "n1": unsupported operator LpNormalization (domain ai.onnx)`).
func TestCompositeOpsAsORT(t *testing.T) {
	checkAgainstORT(t, "composite_ops_op12.onnx", "npz_composite", nil,
		[]string{"l2n", "l1n", "lppool", "glp1", "glp3", "mvn", "rev_bm", "rev_tm", "sce", "logp", "nll", "nll_each"},
		1e-5, 1, 2)
}

// ONNX Runtime's com.microsoft fused operators, as its optimizer writes them into
// a saved optimized model (ort_ext_cnn_op13 and ort_ext_bert_op13 of the unseen11
// set: `FusedConv "/stem/stem.0/Conv": unsupported operator FusedConv (domain
// com.microsoft)` before), and LayerNormalization in an opset-13 file.
func TestORTContribOpsAsORT(t *testing.T) {
	checkAgainstORT(t, "ort_contrib_op13.onnx", "npz_ortcontrib", nil,
		[]string{"fg", "sln", "skipsum", "ln", "g4"}, 1e-5, 1, 2)
}

// ONNX Runtime's QOperator quantizer's contrib operators without a kernel of
// their own (QLinearConcat, QLinearAveragePool, QGemm, QLinearSoftmax), expanded
// to DequantizeLinear, the float operator and QuantizeLinear: ONNX Runtime
// computes them in fixed point, so the uint8 results may differ by a step of
// the output scale (0.15 for the logits, 1/256 for the probabilities).
func TestQOpContribOpsAsORT(t *testing.T) {
	checkAgainstORT(t, "qop_contrib_op13.onnx", "npz_qopcontrib", nil, []string{"prob", "logits"}, 0.08)
}

// A torch.jit.script Optional[Tensor] argument: the optional-typed graph input
// is read as its tensor, OptionalHasElement of it is true and the If reads
// OptionalGetElement (optional_script_op15 of the unseen11 set: `graph input:
// value "bias" is an optional of tensor(float32): only tensor types are
// supported` before).
func TestOptionalInputAsORT(t *testing.T) {
	checkAgainstORT(t, "optional_script_op15.onnx", "npz_optional", nil, []string{"y"}, 1e-5, 1)
}

// Every com.microsoft node is gone once the model is read.
func TestContribOpsExpandedAtLoad(t *testing.T) {
	m, err := graph.Load(exportedDir + "/ort_contrib_op13.onnx")
	require.NoError(t, err)
	_, err = runtime.NewSession(m)
	require.NoError(t, err)
	for _, n := range m.Graph.Nodes {
		assert.NotEqual(t, "com.microsoft", n.Domain, "%s is expanded", n.Label())
	}
}
