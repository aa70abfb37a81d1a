package graph

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInferRotaryCacheFit: shape inference (what inspect and every command
// reading the model run) makes the same check of the cos/sin cache columns
// against the head size and rotary dimension as the kernel (RotaryFit), so a
// cache that does not fit is refused naming the node before any run.
func TestInferRotaryCacheFit(t *testing.T) {
	N := Dim{Size: -1, Param: "N"}
	for _, tc := range []struct {
		name  string
		x     Shape
		cache Shape
		attrs map[string]*Attr
		err   string
	}{
		{"3-D heads from the caches", ShapeOf(1, 5, 16), ShapeOf(32, 4), nil, ""},
		{"3-D num_heads", Shape{N, {Size: 5}, {Size: 16}}, ShapeOf(32, 4), map[string]*Attr{"num_heads": IntAttr("num_heads", 2)}, ""},
		{"4-D", ShapeOf(1, 2, 5, 8), ShapeOf(32, 4), nil, ""},
		{"partial rotary", ShapeOf(1, 5, 16), ShapeOf(32, 2), map[string]*Attr{"num_heads": IntAttr("num_heads", 2),
			"rotary_embedding_dim": IntAttr("rotary_embedding_dim", 4)}, ""},
		{"symbolic head size not checked", Shape{N, {Size: 2}, {Size: 5}, {Size: -1, Param: "D"}}, ShapeOf(32, 3), nil, ""},
		{"4-D caches too narrow", ShapeOf(1, 2, 5, 8), ShapeOf(32, 3), nil, "rotary dimension 8 does not fit head size 8 and caches of 3 columns"},
		{"3-D num_heads caches too wide", ShapeOf(1, 5, 16), ShapeOf(32, 8), map[string]*Attr{"num_heads": IntAttr("num_heads", 2)},
			"rotary dimension 8 does not fit head size 8 and caches of 8 columns"},
		{"3-D hidden not a multiple", ShapeOf(1, 5, 18), ShapeOf(32, 4), nil, "hidden size 18 is not a multiple of the head size 8"},
		{"rotary_embedding_dim above the head", ShapeOf(1, 5, 16), ShapeOf(32, 6), map[string]*Attr{"num_heads": IntAttr("num_heads", 2),
			"rotary_embedding_dim": IntAttr("rotary_embedding_dim", 12)}, "rotary dimension 12 does not fit head size 8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &Graph{Name: "g", Initializers: map[string]*Tensor{}, Values: map[string]*Value{}}
			g.Inputs = []*Value{{Name: "x", DType: Float32, Shape: tc.x, HasShape: true},
				{Name: "pos", DType: Int64, Shape: ShapeOf(1), HasShape: true}}
			cs, _ := tc.cache.Concrete()
			g.Initializers["cos"] = FromFloat32(cs, make([]float32, cs[0]*cs[1]))
			g.Initializers["sin"] = FromFloat32(cs, make([]float32, cs[0]*cs[1]))
			g.Outputs = []*Value{{Name: "y"}}
			attrs := tc.attrs
			if attrs == nil {
				attrs = map[string]*Attr{}
			}
			g.Nodes = []*Node{{Name: "rope", OpType: "RotaryEmbedding", Domain: msDomain,
				Inputs: []string{"x", "pos", "cos", "sin"}, Outputs: []string{"y"}, Attrs: attrs}}
			m := &Model{Graph: g, IRVersion: 9, Opsets: map[string]int64{"": 17, msDomain: 1}}
			_, err := m.InferShapes(InferOptions{Eval: NoFold{}})
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				assert.Contains(t, err.Error(), `RotaryEmbedding "rope"`)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.x.String(), g.Values["y"].Shape.String())
		})
	}
}
