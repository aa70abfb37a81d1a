package graph

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/warboy-sim/warboy/onnx/onnxpb"
)

// The unseen16 expansions (ONNX Runtime's transformer and quantization contrib
// operators, the opset-23 operators, blocked DequantizeLinear) refuse what they
// do not express when the model is read, naming the node.
func TestExpandUnseen16Refusals(t *testing.T) {
	ms := "com.microsoft"
	attn := func(attrs map[string]*Attr, ins []string, outs ...string) *Node {
		if len(outs) == 0 {
			outs = []string{"y"}
		}
		return &Node{Name: "att", OpType: "Attention", Domain: ms, Inputs: ins, Outputs: outs, Attrs: attrs}
	}
	heads := map[string]*Attr{"num_heads": IntAttr("num_heads", 1)}
	a23 := func(attrs map[string]*Attr, ins []string, outs ...string) *Node {
		if len(outs) == 0 {
			outs = []string{"y"}
		}
		return &Node{Name: "a23", OpType: "Attention", Inputs: ins, Outputs: outs, Attrs: attrs}
	}
	for _, tc := range []struct {
		name  string
		node  *Node
		opset int64
		want  string
	}{
		{"attention past", attn(heads, []string{"x", "w", "", "", "x"}), 17, `Attention "att": unsupported: a past state`},
		{"attention present", attn(heads, []string{"x", "w"}, "y", "present"), 17, "the present output"},
		{"attention rotary", attn(map[string]*Attr{"num_heads": IntAttr("num_heads", 1), "do_rotary": IntAttr("do_rotary", 1)},
			[]string{"x", "w"}), 17, "do_rotary 1"},
		{"attention runtime weights", attn(heads, []string{"x", "x"}), 17, `weights "x" that are not a constant`},
		{"attention heads", attn(map[string]*Attr{}, []string{"x", "w"}), 17, "num_heads 0 must be positive"},
		{"attention qkv sizes", attn(map[string]*Attr{"num_heads": IntAttr("num_heads", 1),
			"qkv_hidden_sizes": Int64sAttr("qkv_hidden_sizes", []int64{1, 2, 0})}, []string{"x", "w2"}), 17, "qkv_hidden_sizes [1 2 0] do not fit"},
		{"attention 4-D mask", attn(heads, []string{"x", "w2", "", "m4"}), 17, "mask_index of rank 4"},
		{"embed no mask", &Node{Name: "emb", OpType: "EmbedLayerNormalization", Domain: ms,
			Inputs: []string{"lens", "", "w", "w", "", "w", "w"}, Outputs: []string{"y", "mask_index"}, Attrs: map[string]*Attr{}},
			17, `EmbedLayerNormalization "emb": unsupported: the mask_index output without a mask input`},
		{"cdist metric", &Node{Name: "cd", OpType: "CDist", Domain: ms, Inputs: []string{"x", "x"}, Outputs: []string{"y"},
			Attrs: map[string]*Attr{"metric": StringAttr("metric", "cityblock")}}, 17, `CDist "cd": unsupported: metric "cityblock"`},
		{"attention-23 softcap", a23(map[string]*Attr{"softcap": FloatAttr("softcap", 30)}, []string{"x", "x", "x"}), 23, `Attention "a23": unsupported: softcap 30`},
		{"attention-23 causal past", a23(map[string]*Attr{"is_causal": IntAttr("is_causal", 1)}, []string{"x", "x", "x", "", "x", "x"}), 23, "is_causal with a past state"},
		{"attention-23 qk output", a23(map[string]*Attr{}, []string{"x", "x", "x"}, "y", "", "", "qk"), 23, "the qk_matmul_output output"},
		{"attention-23 heads", a23(map[string]*Attr{"q_num_heads": IntAttr("q_num_heads", 3), "kv_num_heads": IntAttr("kv_num_heads", 2)},
			[]string{"x", "x", "x"}), 23, "q_num_heads 3 and kv_num_heads 2"},
		{"rotary-23 no positions", &Node{Name: "rope", OpType: "RotaryEmbedding", Inputs: []string{"x", "w", "w"}, Outputs: []string{"y"},
			Attrs: map[string]*Attr{}}, 23, `RotaryEmbedding "rope": unsupported: caches per batch and token without position_ids`},
		{"blocked dequantize of a run-time input", &Node{Name: "dq", OpType: "DequantizeLinear", Inputs: []string{"x", "w"}, Outputs: []string{"y"},
			Attrs: map[string]*Attr{"block_size": IntAttr("block_size", 2)}}, 21, `DequantizeLinear "dq": unsupported: block_size 2 on a run-time input`},
	} {
		m := withInput(t, oneNodeModel(t, tc.node, tc.opset), "m4", 4)
		_, err := Decode(m)
		assert.ErrorContains(t, err, tc.want, tc.name)
	}
}

// withInput adds a rank-r int32 graph input named name and a [4, 3] float32
// initializer w2 to an encoded model.
func withInput(t *testing.T, b []byte, name string, r int) []byte {
	t.Helper()
	mp := &onnxpb.ModelProto{}
	require.NoError(t, proto.Unmarshal(b, mp))
	dims := make([]*onnxpb.TensorShapeProto_Dimension, r)
	for i := range dims {
		dims[i] = &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 2}}
	}
	mp.Graph.Initializer = append(mp.Graph.Initializer, &onnxpb.TensorProto{Name: proto.String("w2"),
		DataType: proto.Int32(int32(Float32)), Dims: []int64{4, 3}, FloatData: make([]float32, 12)})
	mp.Graph.Input = append(mp.Graph.Input, &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{
		Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(Int32)),
			Shape: &onnxpb.TensorShapeProto{Dim: dims}}}}})
	out, err := proto.Marshal(mp)
	require.NoError(t, err)
	return out
}

// BlockDequantize against the definition computed index by index: every element
// of x uses the scale and zero point of its block along axis (a last block
// shorter than block_size included), for int8 and uint8, each axis.
func TestBlockDequantizeMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewSource(21))
	for _, tc := range []struct {
		shape       []int
		axis, block int
		signed, zp  bool
	}{
		{[]int{48, 5}, 0, 32, true, false},
		{[]int{48, 5}, 0, 16, false, true},
		{[]int{3, 7, 4}, 1, 3, true, true},
		{[]int{6, 9}, -1, 4, false, true},
		{[]int{5}, 0, 8, true, true},
	} {
		r := len(tc.shape)
		axis := (tc.axis + r) % r
		bshape := append([]int(nil), tc.shape...)
		bshape[axis] = (tc.shape[axis] + tc.block - 1) / tc.block
		n, nb := NumElements(tc.shape), NumElements(bshape)
		var x, zp *Tensor
		if tc.signed {
			d := make([]int8, n)
			for i := range d {
				d[i] = int8(rng.Intn(16) - 8)
			}
			x = FromInt8(tc.shape, d)
			if tc.zp {
				z := make([]int8, nb)
				for i := range z {
					z[i] = int8(rng.Intn(16) - 8)
				}
				zp = FromInt8(bshape, z)
			}
		} else {
			d := make([]uint8, n)
			for i := range d {
				d[i] = uint8(rng.Intn(16))
			}
			x = FromUint8(tc.shape, d)
			if tc.zp {
				z := make([]uint8, nb)
				for i := range z {
					z[i] = uint8(rng.Intn(16))
				}
				zp = FromUint8(bshape, z)
			}
		}
		sc := make([]float32, nb)
		for i := range sc {
			sc[i] = rng.Float32() + 0.01
		}
		got, err := BlockDequantize(x, FromFloat32(bshape, sc), zp, tc.axis, tc.block)
		require.NoError(t, err, "%v", tc)
		xv, _ := x.AsFloat64()
		strides := func(s []int) []int {
			st := make([]int, len(s))
			acc := 1
			for i := len(s) - 1; i >= 0; i-- {
				st[i] = acc
				acc *= s[i]
			}
			return st
		}
		xs, bs := strides(tc.shape), strides(bshape)
		for i := 0; i < n; i++ {
			j := 0
			for k := 0; k < r; k++ {
				c := i / xs[k] % tc.shape[k]
				if k == axis {
					c /= tc.block
				}
				j += c * bs[k]
			}
			z := 0.0
			if zp != nil {
				zv, _ := zp.AsFloat64()
				z = zv[j]
			}
			assert.Equal(t, float32(xv[i]-z)*sc[j], got.F32()[i], "%v element %d", tc, i)
		}
	}
	_, err := BlockDequantize(FromInt8([]int{4, 2}, make([]int8, 8)), FromFloat32([]int{1, 2}, make([]float32, 2)), nil, 0, 2)
	assert.ErrorContains(t, err, "scale has shape [1 2], expected [2 2]")
}

// INT4 and UINT4 initializers (two per byte, low nibble first; an odd count
// padded) are read as the int8 / uint8 values they hold.
func TestDecodeInt4Tensors(t *testing.T) {
	for _, tc := range []struct {
		dt   int32
		raw  []byte
		want any
	}{
		{22, []byte{0x8F, 0x07, 0x0A}, []int8{-1, -8, 7, 0, -6}},
		{21, []byte{0x8F, 0x07, 0x0A}, []uint8{15, 8, 7, 0, 10}},
	} {
		tp := &onnxpb.TensorProto{Name: proto.String("w"), DataType: proto.Int32(tc.dt), Dims: []int64{5}, RawData: tc.raw}
		got, err := TensorFromProto(tp)
		require.NoError(t, err)
		assert.Equal(t, tc.want, got.Data)
	}
	tp := &onnxpb.TensorProto{Name: proto.String("w"), DataType: proto.Int32(22), Dims: []int64{5}, RawData: []byte{1}}
	_, err := TensorFromProto(tp)
	assert.ErrorContains(t, err, `tensor "w": shape [5] needs 3 bytes of packed 4-bit values, data has 1`)
}
