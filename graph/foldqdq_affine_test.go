package graph

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// convBNModel is PyTorch's ConvBnReLU2d QAT module as torch.onnx exports it before
// convert: Conv(x, DQ(w)) → Div by f → BatchNormalization → Relu, two output channels.
func convBNModel(scale, zp, div *Tensor, bias bool, gamma []float32) *Model {
	w := FromInt8([]int{2, 1, 1, 1}, []int8{10, -7})
	attrs := func() map[string]*Attr { return map[string]*Attr{} }
	dq := &Node{Name: "dq", OpType: "DequantizeLinear", Inputs: []string{"wq", "s"}, Outputs: []string{"wd"}, Attrs: attrs()}
	if zp != nil {
		dq.Inputs = append(dq.Inputs, "z")
	}
	if scale.Len() > 1 {
		dq.SetAttrInt("axis", 0)
	}
	conv := &Node{Name: "conv", OpType: "Conv", Inputs: []string{"x", "wd"}, Outputs: []string{"c"}, Attrs: attrs()}
	inits := map[string]*Tensor{"wq": w, "s": scale, "f": div,
		"g": FromFloat32([]int{2}, gamma), "b": FromFloat32([]int{2}, []float32{0.5, -1}),
		"m": FromFloat32([]int{2}, []float32{0.25, 2}), "v": FromFloat32([]int{2}, []float32{4, 0.81})}
	if zp != nil {
		inits["z"] = zp
	}
	if bias {
		conv.Inputs = append(conv.Inputs, "cb")
		inits["cb"] = FromFloat32([]int{2}, []float32{0.125, -3})
	}
	d := &Node{Name: "div", OpType: "Div", Inputs: []string{"c", "f"}, Outputs: []string{"d"}, Attrs: attrs()}
	bn := &Node{Name: "bn", OpType: "BatchNormalization", Inputs: []string{"d", "g", "b", "m", "v"}, Outputs: []string{"n"}, Attrs: attrs()}
	bn.SetAttrFloat("epsilon", 1e-5)
	relu := &Node{Name: "relu", OpType: "Relu", Inputs: []string{"n"}, Outputs: []string{"y"}, Attrs: attrs()}
	g := &Graph{Nodes: []*Node{dq, conv, d, bn, relu}, Initializers: inits, Values: map[string]*Value{},
		Inputs: []*Value{{Name: "x", DType: Float32}}, Outputs: []*Value{{Name: "y", DType: Float32}}}
	return &Model{Graph: g, Opsets: map[string]int64{"": 13}}
}

func TestFoldDQWeightAffine(t *testing.T) {
	gamma := []float32{1.5, 0.75}
	tests := []struct {
		name  string
		scale *Tensor
		zp    *Tensor
		div   *Tensor
		bias  bool
	}{
		{"per channel, [C,1,1] divisor, no bias", FromFloat32([]int{2}, []float32{0.1, 0.02}), FromInt8([]int{2}, []int8{0, 0}), FromFloat32([]int{2, 1, 1}, []float32{2, 0.5}), false},
		{"per tensor with zero point, [1,C,1,1] divisor, bias", ScalarFloat32(0.05), FromInt8(nil, []int8{3}), FromFloat32([]int{1, 2, 1, 1}, []float32{4, 0.25}), true},
		{"per tensor, scalar divisor, no zero point", ScalarFloat32(0.05), nil, ScalarFloat32(3), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := convBNModel(tc.scale, tc.zp, tc.div, tc.bias, gamma)
			f := FoldDQWeightAffine(m)
			require.NotSame(t, m, f)
			require.Len(t, m.Graph.Nodes, 5, "the input model is not modified")
			ops := []string{}
			for _, n := range f.Graph.Nodes {
				ops = append(ops, n.OpType)
			}
			require.Equal(t, []string{"DequantizeLinear", "Conv", "Relu"}, ops)
			dq, conv := f.Graph.Nodes[0], f.Graph.Nodes[1]
			require.Equal(t, "n", conv.Outputs[0], "the convolution writes what the normalization wrote")
			require.Equal(t, dq.Outputs[0], conv.Input(1))
			require.EqualValues(t, 0, dq.AttrInt("axis", 1))
			s, b := f.Graph.Initializers[dq.Input(1)].F32(), f.Graph.Initializers[conv.Input(2)].F32()
			require.Len(t, s, 2)
			require.Len(t, b, 2)
			if tc.zp != nil {
				require.Equal(t, 2, f.Graph.Initializers[dq.Input(2)].Len(), "the zero point follows the scale per channel")
			}
			beta, mean, vr := []float64{0.5, -1}, []float64{0.25, 2}, []float64{4, 0.81}
			for c := 0; c < 2; c++ {
				sc := float64(tc.scale.F32()[0])
				if tc.scale.Len() > 1 {
					sc = float64(tc.scale.F32()[c])
				}
				div := float64(tc.div.F32()[0])
				if tc.div.Len() > 1 {
					div = float64(tc.div.F32()[c])
				}
				k := float64(gamma[c]) / math.Sqrt(vr[c]+float64(float32(1e-5)))
				cb := 0.0
				if tc.bias {
					cb = []float64{0.125, -3}[c]
				}
				require.InDelta(t, sc/div*k, s[c], 1e-7*sc)
				require.InDelta(t, (cb/div-mean[c])*k+beta[c], b[c], 1e-6)
			}
			for _, gone := range []string{"f", "g", "b", "m", "v", "s", "cb"} {
				require.Nil(t, f.Graph.Initializers[gone], gone)
			}
			require.NotNil(t, f.Graph.Initializers["wq"], "the int8 weight is kept")
		})
	}

	kept := []struct {
		name  string
		stays string
		edit  func(m *Model)
	}{
		{"negative factor", "BatchNormalization", func(m *Model) { m.Graph.Initializers["g"] = FromFloat32([]int{2}, []float32{1, -1}) }},
		{"divisor varying along another axis", "Div", func(m *Model) {
			m.Graph.Initializers["f"] = FromFloat32([]int{2, 1}, []float32{2, 3})
		}},
		{"convolution output read twice", "Div", func(m *Model) {
			m.Graph.Nodes = append(m.Graph.Nodes, &Node{Name: "id", OpType: "Identity", Inputs: []string{"c"}, Outputs: []string{"c2"}, Attrs: map[string]*Attr{}})
			m.Graph.Outputs = append(m.Graph.Outputs, &Value{Name: "c2", DType: Float32})
		}},
		{"divisor computed", "Div", func(m *Model) { m.Graph.Nodes[2].Inputs[1] = "x" }},
		{"float weight", "Div", func(m *Model) { m.Graph.Nodes[1].Inputs[1] = "s" }},
		{"BatchNormalization in training mode", "BatchNormalization", func(m *Model) { m.Graph.Nodes[3].SetAttrInt("training_mode", 1) }},
	}
	for _, tc := range kept {
		t.Run("not folded: "+tc.name, func(t *testing.T) {
			m := convBNModel(FromFloat32([]int{2}, []float32{0.1, 0.02}), nil, FromFloat32([]int{2, 1, 1}, []float32{2, 0.5}), false, gamma)
			tc.edit(m)
			f := FoldDQWeightAffine(m)
			// the maps before the refused one may fold; the refused one stays.
			found := false
			for _, n := range f.Graph.Nodes {
				if n.OpType == tc.stays {
					found = true
				}
			}
			require.True(t, found, "the %s stays", tc.stays)
		})
	}
	t.Run("Gemm with transB and BatchNorm1d", func(t *testing.T) {
		m := convBNModel(FromFloat32([]int{2}, []float32{0.1, 0.02}), nil, FromFloat32([]int{2}, []float32{2, 0.5}), false, gamma)
		g := m.Graph
		g.Initializers["wq"] = FromInt8([]int{2, 1}, []int8{10, -7})
		g.Nodes[1].OpType = "Gemm"
		g.Nodes[1].SetAttrInt("transB", 1)
		f := FoldDQWeightAffine(m)
		require.Len(t, f.Graph.Nodes, 3)
		require.Equal(t, "Gemm", f.Graph.Nodes[1].OpType)
	})
}
