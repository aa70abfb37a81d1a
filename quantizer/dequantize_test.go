package quantizer

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// TestDequantizeQDQRoundTrip: a model warboy quantized (QDQ), turned back into
// float32, has no quantization operator left, weights on their int8 grid and the
// range of every activation pair; quantized again with those ranges it computes
// the same int8 outputs as the model it came from.
func TestDequantizeQDQRoundTrip(t *testing.T) {
	_, test := fmnist(t)
	in := map[string]*graph.Tensor{"input": test.Batch(0, 50)}
	for _, name := range bundledModels {
		t.Run(name, func(t *testing.T) {
			m := loadBundled(t, name)
			r, _, err := calibrate(t, m, MinMaxAsym, 200).ComputeRangesFor(MinMaxAsym)
			require.NoError(t, err)
			q, err := Quantize(m, r, QuantOptions{})
			require.NoError(t, err)
			f, got, err := DequantizeQDQ(q)
			require.NoError(t, err)
			require.False(t, f.Graph.IsQuantized())
			require.True(t, q.Graph.IsQuantized(), "the model given is not modified")
			pairs := 0
			for _, n := range q.Graph.Nodes {
				if n.OpType == "QuantizeLinear" && q.Graph.Initializers[n.Inputs[0]] == nil {
					pairs++
					_, plain := got[n.Inputs[0]]
					_, relu := got[n.Inputs[0]+"/relu"] // a Relu fused into the grid, put back
					require.True(t, plain || relu, n.Inputs[0])
				}
			}
			require.Positive(t, pairs)

			// the float model computes what the original float model does, to
			// what the weights' grid rounds away (the Relus the quantizer fused
			// into the grids put back)
			floatIn := map[string]*graph.Tensor{"input": test.Batch(0, 300)}
			top1, _ := topAgreement(runFloat(t, m, floatIn)["logits"].F32(), runFloat(t, f, floatIn)["logits"].F32(), 10)
			require.GreaterOrEqual(t, top1, 291, "of 300")

			again, err := Quantize(f, got, QuantOptions{})
			require.NoError(t, err)
			want := runInt8(t, q, in)
			have := runInt8(t, again, in)
			for k, v := range want {
				require.Equal(t, v.F32(), have[k].F32(), "output %s", k)
			}
		})
	}
}

func runInt8(t *testing.T, m *graph.Model, in map[string]*graph.Tensor) map[string]*graph.Tensor {
	t.Helper()
	s, err := runtime.NewSession(m, runtime.WithMode(runtime.ModeInt8))
	require.NoError(t, err)
	out, err := s.RunTensors(in)
	require.NoError(t, err)
	return out
}

// TestDequantizeQOperator: the QOperator form of a model (QLinearConv, int8
// Reshapes around the 1x1 QLinearConv it writes a Gemm as) turns into the
// float32 model of its QDQ form, to float rounding, and quantized again with
// the ranges read from it computes the QOperator model's int8 outputs.
func TestDequantizeQOperator(t *testing.T) {
	_, test := fmnist(t)
	in := map[string]*graph.Tensor{"input": test.Batch(0, 100)}
	for _, name := range bundledModels {
		t.Run(name, func(t *testing.T) {
			m := loadBundled(t, name)
			r, _, err := calibrate(t, m, MinMaxAsym, 200).ComputeRangesFor(MinMaxAsym)
			require.NoError(t, err)
			qdq, err := Quantize(m, r, QuantOptions{})
			require.NoError(t, err)
			qop, err := Quantize(m, r, QuantOptions{Format: FormatQOperator})
			require.NoError(t, err)
			hasQLinear := false
			for _, n := range qop.Graph.Nodes {
				hasQLinear = hasQLinear || n.OpType == "QLinearConv"
			}
			require.True(t, hasQLinear)
			want, _, err := DequantizeQDQ(qdq)
			require.NoError(t, err)
			got, gr, err := DequantizeQDQ(qop)
			require.NoError(t, err)
			require.False(t, got.Graph.IsQuantized())
			a, b := runFloat(t, want, in)["logits"].F32(), runFloat(t, got, in)["logits"].F32()
			require.Greater(t, snrDB(a, b), 100.0)
			// quantized again with its ranges, it computes the QOperator model's int8 outputs
			again, err := Quantize(got, gr, QuantOptions{})
			require.NoError(t, err)
			require.Equal(t, runInt8(t, qop, in)["logits"].F32(), runInt8(t, again, in)["logits"].F32())
		})
	}
}

// TestDequantizeQDQCast: torch.onnx writes a Cast to the grid's own type
// between an activation's QuantizeLinear and DequantizeLinear (its export of a
// quantized model); the optimizer's identity removal takes it away, and the
// pair is removed.
func TestDequantizeQDQCast(t *testing.T) {
	m := loadBundled(t, "fmnist_mlp")
	r, _, err := calibrate(t, m, MinMaxAsym, 100).ComputeRangesFor(MinMaxAsym)
	require.NoError(t, err)
	q, err := Quantize(m, r, QuantOptions{})
	require.NoError(t, err)
	cons := q.Graph.Consumers()
	var nodes []*graph.Node
	casts := 0
	for _, n := range q.Graph.Nodes {
		nodes = append(nodes, n)
		if n.OpType != "QuantizeLinear" || q.Graph.Initializers[n.Inputs[0]] != nil {
			continue
		}
		c := n.Outputs[0] + "_cast"
		nodes = append(nodes, &graph.Node{Name: c, OpType: "Cast", Inputs: []string{n.Outputs[0]}, Outputs: []string{c},
			Attrs: map[string]*graph.Attr{"to": {Name: "to", Type: graph.AttrInt, I: int64(graph.Int8)}}})
		for _, d := range cons[n.Outputs[0]] {
			d.Inputs[0] = c
		}
		casts++
	}
	q.Graph.Nodes = nodes
	require.Positive(t, casts)
	f, got, err := DequantizeQDQ(q)
	require.NoError(t, err)
	require.False(t, f.Graph.IsQuantized())
	for _, n := range f.Graph.Nodes {
		require.NotEqual(t, "Cast", n.OpType)
	}
	require.GreaterOrEqual(t, len(got), casts)
}

// TestDequantizeQDQTorchExport: PyTorch's eager QAT export (fake-quantized float
// weights, QuantizeLinear -> DequantizeLinear on the activations) becomes its
// float32 form: the weights are what the model computes with, and the float
// model's outputs are those of the QDQ model run in float32 without its
// activation grids, within what those grids round away.
func TestDequantizeQDQTorchExport(t *testing.T) {
	m, err := graph.Load(filepath.Join(modelsDir, "fmnist_qat_torch.onnx"))
	require.NoError(t, err)
	f, r, err := DequantizeQDQ(m)
	require.NoError(t, err)
	require.False(t, f.Graph.IsQuantized())
	require.NotEmpty(t, r)
	for name, v := range r {
		require.Less(t, v[0], v[1], name)
		require.LessOrEqual(t, v[0], float32(0), name)
	}
	_, test := fmnist(t)
	in := map[string]*graph.Tensor{"input": test.Batch(0, 100)}
	want := runFloat(t, m, in)
	have := runFloat(t, f, in)
	for k, v := range want {
		require.Greater(t, snrDB(v.F32(), have[k].F32()), 25.0, k)
	}
}

// TestDequantizeQDQRefuses: a quantized model that has no float32 form here is
// refused, naming the node and why; the model given is left as it is.
func TestDequantizeQDQRefuses(t *testing.T) {
	m := loadBundled(t, "fmnist_mlp")
	r, _, err := calibrate(t, m, MinMaxAsym, 100).ComputeRangesFor(MinMaxAsym)
	require.NoError(t, err)
	qdq := func() *graph.Model {
		q, err := Quantize(m, r, QuantOptions{})
		require.NoError(t, err)
		return q
	}
	firstQ := func(q *graph.Model) *graph.Node {
		for _, n := range q.Graph.Nodes {
			if n.OpType == "QuantizeLinear" && q.Graph.Initializers[n.Inputs[0]] == nil {
				return n
			}
		}
		t.Fatal("no activation QuantizeLinear")
		return nil
	}
	for _, tc := range []struct {
		name string
		make func() *graph.Model
		want string
	}{
		{"dynamic", func() *graph.Model {
			q, err := QuantizeDynamic(m, DynamicOptions{})
			require.NoError(t, err)
			return q
		}, "dynamic quantization"},
		{"raw input", func() *graph.Model {
			q := qdq()
			require.NoError(t, ConvertInputType(q, "input", graph.Uint8, nil))
			return q
		}, `graph input "input"`},
		{"raw output", func() *graph.Model {
			q := qdq()
			require.NoError(t, ConvertOutputType(q, "logits", graph.Int8, nil))
			return q
		}, `graph output "logits"`},
		{"quantized tensor read as integers", func() *graph.Model {
			q := qdq()
			n := firstQ(q)
			q.Graph.Nodes = append(q.Graph.Nodes, &graph.Node{Name: "peek", OpType: "Cast", Inputs: []string{n.Outputs[0]}, Outputs: []string{"peek_out"},
				Attrs: map[string]*graph.Attr{"to": {Name: "to", Type: graph.AttrInt, I: int64(graph.Float32)}}})
			q.Graph.Outputs = append(q.Graph.Outputs, &graph.Value{Name: "peek_out", DType: graph.Float32})
			return q
		}, `read by Cast "peek"`},
		{"two grids", func() *graph.Model {
			q := qdq()
			n := firstQ(q)
			for _, d := range q.Graph.Consumers()[n.Outputs[0]] {
				s := q.Graph.Initializers[d.Inputs[1]].F32()[0]
				q.Graph.Initializers["other_scale"] = graph.FromFloat32(nil, []float32{2 * s})
				d.Inputs[1] = "other_scale"
			}
			return q
		}, "another grid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.make()
			before := len(q.Graph.Nodes)
			_, _, err := DequantizeQDQ(q)
			require.ErrorIs(t, err, ErrNotQDQ)
			require.ErrorContains(t, err, tc.want)
			require.Len(t, q.Graph.Nodes, before)
		})
	}
}

// TestDequantizeORTQOperator: ONNX Runtime's quantize_static in QOperator
// format (QLinearConv, com.microsoft QLinearGlobalAveragePool, uint8 MaxPool
// and Flatten between them, the contrib operators reading a model expands)
// turns into its float32 form, every activation the re-quantization plans
// given the model's range, and quantized again it computes the model's int8
// outputs, bit for bit.
func TestDequantizeORTQOperator(t *testing.T) {
	m, err := graph.Load("../testdata/exported/qop_contrib_op13.onnx")
	require.NoError(t, err)
	f, r, err := DequantizeQDQ(m)
	require.NoError(t, err)
	require.False(t, f.Graph.IsQuantized())
	p, err := PlanTraining(f, nil)
	require.NoError(t, err)
	for _, a := range p.Activations {
		require.Contains(t, r, a.Name)
	}
	ds, err := dataset.Open("../testdata/exported/npz_qopcontrib", dataset.Options{Inputs: m.Graph.Inputs})
	require.NoError(t, err)
	in, err := ds.Batch(0, 1)
	require.NoError(t, err)
	again, err := Quantize(f, r, QuantOptions{})
	require.NoError(t, err)
	want, have := runInt8(t, m, in), runInt8(t, again, in)
	for _, o := range m.Graph.Outputs {
		require.Equal(t, want[o.Name].F32(), have[o.Name].F32(), o.Name)
	}
}
