package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// Resize-10 with constant scales on a symbolic size, as torch.onnx writes
// F.interpolate(x, scale_factor=0.64) at opset 10 (scripts/make_unseen8_testdata.py;
// preproc_u8_op10 of --unseen8). The output size is floor(in * scale) with the
// product in float32, as ONNX Runtime computes it: 100 * float32(0.64) is 64 in
// float32 but 63.99999857 in float64. Before, the runtime and shape inference
// used float64 and made a 95x63 image where ONNX Runtime (and PyTorch) make 96x64,
// silently: the classifier behind it ran on the wrong picture (66.9 dB).
func TestResize10ScaleSizeAsORT(t *testing.T) {
	m, err := graph.Load(filepath.Join(exportedDir, "resize10_scale_dynhw.onnx"))
	require.NoError(t, err)
	sess, err := runtime.NewSession(m)
	require.NoError(t, err)
	for i := 0; i < 2; i++ {
		in, err := dataset.ReadNPZ(filepath.Join(exportedDir, "npz_resize10", fmt.Sprintf("s%d.npz", i)))
		require.NoError(t, err)
		ort, err := dataset.ReadNPZ(filepath.Join(exportedDir, "npz_resize10_ort", fmt.Sprintf("s%d.npz", i)))
		require.NoError(t, err)
		got, err := sess.RunTensors(in)
		require.NoError(t, err)
		want := ort["output"]
		require.Equal(t, want.Shape, got["output"].Shape, "sample %d", i)
		assert.InDeltaSlice(t, want.F32(), got["output"].F32(), 1e-5, "sample %d", i)
	}
	// The sizes shape inference states for the bound input agree.
	out, err := graph.ResizeOutputShape([]int{1, 1, 150, 100}, []float32{1, 1, 0.64, 0.64}, nil)
	require.NoError(t, err)
	assert.Equal(t, []int{1, 1, 96, 64}, out)
}

// One T5 encoder layer (scripts/make_unseen8_testdata.py; t5_relbias of --unseen8):
// its relative position buckets take Log(|i - j| / 8), -Inf on the diagonal, in an
// elementwise chain computed from the sequence length, which the float executor
// streams to calibration in pieces. Before, calibration stopped there: `tensor
// "/Div_2_output_0" (batch 1): non-finite value -Inf at element 0`; infinities are
// now dropped from streamed pieces as from whole tensors, and the model quantizes.
func TestQuantizeT5RelativeBuckets(t *testing.T) {
	model := filepath.Join(exportedDir, "t5_bucket_op13.onnx")
	q := filepath.Join(t.TempDir(), "t5.int8.onnx")
	code, _, errOut := runCLI("quantize", model, "--calib-data", filepath.Join(exportedDir, "npz_t5bucket"), "-o", q)
	require.Equal(t, 0, code, errOut)
	code, out, errOut := runCLI("compare", model, q, "--data", filepath.Join(exportedDir, "npz_t5bucket"), "--json")
	require.Equal(t, 0, code, errOut)
	var rep struct {
		Outputs []struct {
			SQNR float64 `json:"sqnr_db"`
		} `json:"outputs"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.Len(t, rep.Outputs, 1)
	assert.Greater(t, rep.Outputs[0].SQNR, 20.0, "int8 against float32")
}

// A torch.jit.script greedy decoder whose Loop carries two lists built by append
// and read after it by torch.stack (ConcatFromSequence new_axis=1) and torch.cat on
// axis 1 (new_axis=0), with a data-dependent break (scripts/make_unseen8_testdata.py;
// greedy_decode_script of --unseen8). Before, loading refused the sequence-typed
// Loop input; the lists are now the Loop's scan outputs (graph/seq_scan.go), and
// both outputs equal ONNX Runtime's.
func TestScriptListLoop(t *testing.T) {
	m, err := graph.Load(filepath.Join(exportedDir, "script_lists_op13.onnx"))
	require.NoError(t, err)
	for _, n := range m.Graph.Nodes {
		assert.NotContains(t, []string{"SequenceEmpty", "SequenceInsert", "ConcatFromSequence"}, n.OpType)
	}
	for _, threads := range []int{1, 2} {
		sess, err := runtime.NewSession(m, runtime.WithThreads(threads))
		require.NoError(t, err)
		for i := 0; i < 2; i++ {
			in, err := dataset.ReadNPZ(filepath.Join(exportedDir, "npz_lists", fmt.Sprintf("s%d.npz", i)))
			require.NoError(t, err)
			ort, err := dataset.ReadNPZ(filepath.Join(exportedDir, "npz_lists_ort", fmt.Sprintf("s%d.npz", i)))
			require.NoError(t, err)
			got, err := sess.RunTensors(in)
			require.NoError(t, err)
			require.Equal(t, ort["tokens"].Shape, got["tokens"].Shape)
			assert.Equal(t, ort["tokens"].I64(), got["tokens"].I64(), "sample %d", i)
			require.Equal(t, ort["states"].Shape, got["states"].Shape)
			assert.InDeltaSlice(t, ort["states"].F32(), got["states"].F32(), 1e-6, "sample %d", i)
		}
	}
}
