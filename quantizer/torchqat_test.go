package quantizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/ortoracle"
	"github.com/warboy-sim/warboy/runtime"
)

// TestPyTorchQATModelRunsInt8: a model fine-tuned with PyTorch's eager-mode QAT and
// exported by torch.onnx (QuantizeLinear -> DequantizeLinear around float weights,
// made by scripts/make_qat_testdata.py) runs every Conv and Gemm on int8 kernels once
// graph.FoldWeightQDQ has folded its weights at load, and gives PyTorch's accuracy
// (within 0.1 point on the 10,000 test images); ONNX Runtime agrees.
func TestPyTorchQATModelRunsInt8(t *testing.T) {
	path := filepath.Join(modelsDir, "fmnist_qat_torch.onnx")
	m, err := graph.Load(path)
	require.NoError(t, err)
	raw, err := os.ReadFile(filepath.Join(modelsDir, "fmnist_qat_torch.json"))
	require.NoError(t, err)
	var ref struct {
		FakeQuant   float64 `json:"fake_quant_accuracy"`
		Predictions []int   `json:"predictions"`
	}
	require.NoError(t, json.Unmarshal(raw, &ref))

	weighted := 0
	for _, n := range m.Graph.Nodes {
		if n.OpType == "Conv" || n.OpType == "Gemm" || n.OpType == "MatMul" {
			weighted++
		}
	}
	require.Positive(t, weighted)
	s, err := runtime.NewSession(m, runtime.WithMode(runtime.ModeInt8))
	require.NoError(t, err)
	int8Weighted := 0
	for _, p := range s.Placement {
		require.True(t, p.Int8, "%s (%s) runs in float32", p.Node, p.OpType)
		if p.OpType == "QConv" || p.OpType == "QGemm" || p.OpType == "QMatMul" {
			int8Weighted++
		}
	}
	require.Equal(t, weighted, int8Weighted, "every Conv/Gemm/MatMul runs on an int8 kernel")

	_, test := fmnist(t)
	res := evalAll(t, s, test)
	require.Len(t, ref.Predictions, len(res))
	correct, agree := 0, 0
	for i, p := range res {
		if p == test.Labels[i] {
			correct++
		}
		if p == ref.Predictions[i] {
			agree++
		}
	}
	acc := float64(correct) / float64(len(res))
	t.Logf("int8 runtime %.2f %%, PyTorch (fake-quant model) %.2f %%, same top-1 on %d/%d images", 100*acc, 100*ref.FakeQuant, agree, len(res))
	require.InDelta(t, ref.FakeQuant, acc, 0.001)

	if err := ortoracle.Available(); err != nil {
		t.Logf("ONNX Runtime check skipped: %v", err)
		return
	}
	const n = 1000
	x := test.Batch(0, n)
	theirs, err := ortoracle.Run(path, map[string]*graph.Tensor{"input": x}, 2)
	require.NoError(t, err)
	b, err := dataset.Top1(theirs["logits"])
	require.NoError(t, err)
	same := 0
	for i := range b {
		if b[i] == res[i] {
			same++
		}
	}
	t.Logf("ONNX Runtime agrees on %d/%d images", same, n)
	require.GreaterOrEqual(t, same, n-1)
}

func evalAll(t *testing.T, s *runtime.Session, ds *dataset.Dataset) []int {
	t.Helper()
	var out []int
	for start := 0; start < ds.N; start += 500 {
		k := min(500, ds.N-start)
		r, err := s.RunTensors(map[string]*graph.Tensor{"input": ds.Batch(start, k)})
		require.NoError(t, err)
		p, err := dataset.Top1(r["logits"])
		require.NoError(t, err)
		out = append(out, p...)
	}
	return out
}
