package graph

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func nnNode(op string, attrs ...*Attr) *Node {
	n := &Node{Name: "n", OpType: op, Attrs: map[string]*Attr{}}
	for _, a := range attrs {
		n.Attrs[a.Name] = a
	}
	return n
}

func nnInts(name string, v ...int64) *Attr { return &Attr{Name: name, Type: AttrInts, Ints: v} }
func nnStr(name, v string) *Attr           { return &Attr{Name: name, Type: AttrString, S: v} }
func nnIntA(name string, v int64) *Attr    { return &Attr{Name: name, Type: AttrInt, I: v} }

func TestResolveConvGeom(t *testing.T) {
	cases := []struct {
		name     string
		attrs    []*Attr
		in, k    []int
		ceil     bool
		wantOut  []int
		wantPads []int
		wantErr  string
	}{
		{"defaults", nil, []int{5, 6}, []int{3, 3}, false, []int{3, 4}, []int{0, 0, 0, 0}, ""},
		{"explicit pads and strides", []*Attr{nnInts("pads", 1, 0, 1, 2), nnInts("strides", 2, 2)}, []int{7, 5}, []int{3, 3}, false, []int{4, 3}, []int{1, 0, 1, 2}, ""},
		{"dilation", []*Attr{nnInts("dilations", 2, 3)}, []int{9, 9}, []int{3, 2}, false, []int{5, 6}, []int{0, 0, 0, 0}, ""},
		{"same upper odd total", []*Attr{nnStr("auto_pad", "SAME_UPPER"), nnInts("strides", 2, 1)}, []int{5, 4}, []int{2, 2}, false, []int{3, 4}, []int{0, 0, 1, 1}, ""},
		{"same lower odd total", []*Attr{nnStr("auto_pad", "SAME_LOWER")}, []int{4}, []int{2}, false, []int{4}, []int{1, 0}, ""},
		{"valid ignores pads", []*Attr{nnStr("auto_pad", "VALID"), nnInts("pads", 5, 5)}, []int{6}, []int{3}, false, []int{4}, []int{0, 0}, ""},
		{"empty auto_pad is NOTSET", []*Attr{nnStr("auto_pad", ""), nnInts("pads", 1, 1)}, []int{4}, []int{3}, false, []int{4}, []int{1, 1}, ""},
		{"ceil mode", []*Attr{nnInts("strides", 2, 2)}, []int{4, 5}, []int{3, 2}, true, []int{2, 3}, []int{0, 0, 0, 0}, ""},
		// ceil would start a window entirely in the trailing pad: dropped, like PyTorch.
		{"ceil mode drops padding-only window", []*Attr{nnInts("strides", 2), nnInts("pads", 0, 1)}, []int{5}, []int{2}, true, []int{3}, []int{0, 1}, ""},
		// GoogLeNet's last ceil_mode MaxPool (k 2, s 2) on a 1x1 map: ceil(-1/2)+1 = 1
		// window, as PyTorch and ONNX Runtime; k 3 (span -2 = -stride) has none.
		{"ceil mode window past a small input", []*Attr{nnInts("strides", 2, 2)}, []int{1, 1}, []int{2, 2}, true, []int{1, 1}, []int{0, 0, 0, 0}, ""},
		{"ceil mode kernel too large", []*Attr{nnInts("strides", 2)}, []int{1}, []int{3}, true, nil, nil, "smaller than the dilated kernel"},
		{"unknown dim", []*Attr{nnStr("auto_pad", "SAME_UPPER")}, []int{-1, 8}, []int{3, 3}, false, []int{-1, 8}, []int{-1, 1, -1, 1}, ""},
		{"kernel too large", nil, []int{2}, []int{3}, false, nil, nil, "smaller than the dilated kernel"},
		{"bad strides length", []*Attr{nnInts("strides", 1)}, []int{5, 5}, []int{3, 3}, false, nil, nil, "attribute strides has 1 values, expected 2"},
		{"zero stride", []*Attr{nnInts("strides", 0, 1)}, []int{5, 5}, []int{3, 3}, false, nil, nil, "out of range"},
		{"negative pad", []*Attr{nnInts("pads", -1, 0)}, []int{5}, []int{3}, false, nil, nil, "out of range"},
		{"unknown auto_pad", []*Attr{nnStr("auto_pad", "SAME")}, []int{5}, []int{3}, false, nil, nil, `unsupported auto_pad "SAME"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, err := ResolveConvGeom(nnNode("Conv", tc.attrs...), tc.in, tc.k, tc.ceil)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.Contains(t, err.Error(), `Conv "n"`)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantOut, g.Out)
			assert.Equal(t, tc.wantPads, g.Pads)
		})
	}
}

func TestResolveConvTransposeGeom(t *testing.T) {
	cases := []struct {
		name     string
		attrs    []*Attr
		in, k    []int
		wantOut  []int
		wantPads []int
		wantErr  string
	}{
		{"defaults", nil, []int{3, 3}, []int{3, 3}, []int{5, 5}, []int{0, 0, 0, 0}, ""},
		{"strides and output_padding", []*Attr{nnInts("strides", 3, 2), nnInts("output_padding", 1, 1)}, []int{3, 3}, []int{3, 3}, []int{10, 8}, []int{0, 0, 0, 0}, ""},
		{"pads crop", []*Attr{nnInts("strides", 3, 2), nnInts("pads", 1, 2, 1, 2)}, []int{3, 3}, []int{3, 3}, []int{7, 3}, []int{1, 2, 1, 2}, ""},
		// output_shape larger than the full result: no crop, extra cells hold the bias.
		{"output_shape", []*Attr{nnInts("strides", 3, 2), nnInts("output_shape", 10, 8)}, []int{3, 3}, []int{3, 3}, []int{10, 8}, []int{0, 0, 0, 0}, ""},
		{"output_shape full rank", []*Attr{nnInts("output_shape", 1, 2, 4)}, []int{3}, []int{3}, []int{4}, []int{1, 0}, ""},
		{"same upper", []*Attr{nnStr("auto_pad", "SAME_UPPER"), nnInts("strides", 2, 2)}, []int{3, 3}, []int{3, 3}, []int{6, 6}, []int{0, 0, 1, 1}, ""},
		{"same lower", []*Attr{nnStr("auto_pad", "SAME_LOWER"), nnInts("strides", 2)}, []int{3}, []int{3}, []int{6}, []int{1, 0}, ""},
		{"dilations", []*Attr{nnInts("dilations", 2, 2)}, []int{3, 3}, []int{2, 2}, []int{5, 5}, []int{0, 0, 0, 0}, ""},
		{"output_padding too large", []*Attr{nnInts("output_padding", 1)}, []int{3}, []int{3}, nil, nil, "must be smaller than the stride"},
		{"pads leave nothing", []*Attr{nnInts("pads", 3, 3)}, []int{2}, []int{2}, nil, nil, "leave no output"},
		{"bad output_shape", []*Attr{nnInts("output_shape", 4, 4)}, []int{3}, []int{3}, nil, nil, "does not match 1 spatial axes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, err := ResolveConvTransposeGeom(nnNode("ConvTranspose", tc.attrs...), tc.in, tc.k)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantOut, g.Out)
			assert.Equal(t, tc.wantPads, g.Pads)
		})
	}
}

func TestMatMulShape(t *testing.T) {
	sym := Dim{Size: -1, Param: "N"}
	cases := []struct {
		a, b    Shape
		want    string
		wantErr bool
	}{
		{ShapeOf(3, 4), ShapeOf(4, 5), "[3,5]", false},
		{ShapeOf(4), ShapeOf(4, 5), "[5]", false},
		{ShapeOf(3, 4), ShapeOf(4), "[3]", false},
		{ShapeOf(4), ShapeOf(4), "[]", false},
		{ShapeOf(2, 1, 3, 4), ShapeOf(5, 4, 6), "[2,5,3,6]", false},
		{Shape{sym, {Size: 7}, {Size: 8}}, ShapeOf(8, 2), "[N,7,2]", false},
		{ShapeOf(3, 4), ShapeOf(5, 6), "", true},
		{ShapeOf(2, 3, 4), ShapeOf(3, 4, 5), "", true},
	}
	for _, tc := range cases {
		t.Run(tc.a.String()+"x"+tc.b.String(), func(t *testing.T) {
			s, err := MatMulShape(tc.a, tc.b)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, s.String())
		})
	}
}

// nnInferOne runs shape inference on a single-node model whose inputs are declared with
// the given values (initializers for consts).
// nnExpectErr checks err against a case's expected error (a substring, and the node
// named in it) and reports whether the case expected one; no error is expected when
// wantErr is empty.
func nnExpectErr(t *testing.T, err error, wantErr, op string) bool {
	t.Helper()
	if wantErr == "" {
		require.NoError(t, err)
		return false
	}
	require.Error(t, err)
	assert.Contains(t, err.Error(), wantErr)
	assert.Contains(t, err.Error(), op+` "n"`)
	return true
}

func nnInferOne(t *testing.T, opset int64, n *Node, ins []*Value, consts map[string]*Tensor) (*Graph, error) {
	t.Helper()
	g := &Graph{Initializers: map[string]*Tensor{}, Values: map[string]*Value{}}
	for i, v := range ins {
		if v == nil {
			continue
		}
		v.Name = n.Inputs[i]
		if c, ok := consts[v.Name]; ok {
			g.Initializers[v.Name] = c
			continue
		}
		g.Inputs = append(g.Inputs, v)
	}
	g.Nodes = []*Node{n}
	for _, o := range n.Outputs {
		if o != "" {
			g.Outputs = append(g.Outputs, &Value{Name: o})
		}
	}
	m := &Model{Graph: g, Opsets: map[string]int64{"": opset}}
	_, err := m.InferShapes(InferOptions{Eval: NoFold{}})
	return g, err
}

func nnVal(dt DType, dims ...int) *Value {
	s := make(Shape, len(dims))
	for i, d := range dims {
		s[i] = Dim{Size: d}
		if d < 0 {
			s[i].Param = "N"
		}
	}
	return &Value{DType: dt, Shape: s, HasShape: true}
}

func nnIO(n *Node, ins []string, outs ...string) *Node {
	n.Inputs, n.Outputs = ins, outs
	return n
}

func TestInferNNShapes(t *testing.T) {
	f := Float32
	cases := []struct {
		name    string
		opset   int64
		node    *Node
		ins     []*Value
		consts  map[string]*Tensor
		want    []string // shapes of the outputs
		wantErr string
	}{
		{"conv symbolic batch", 13, nnIO(nnNode("Conv", nnInts("pads", 1, 1, 1, 1), nnInts("strides", 2, 2)), []string{"x", "w", "b"}, "y"),
			[]*Value{nnVal(f, -1, 3, 32, 31), nnVal(f, 16, 3, 3, 3), nnVal(f, 16)}, nil, []string{"[N,16,16,16]"}, ""},
		{"grouped conv", 13, nnIO(nnNode("Conv", nnIntA("group", 4)), []string{"x", "w"}, "y"),
			[]*Value{nnVal(f, 1, 8, 5, 5), nnVal(f, 12, 2, 3, 3)}, nil, []string{"[1,12,3,3]"}, ""},
		{"conv channel mismatch", 13, nnIO(nnNode("Conv"), []string{"x", "w"}, "y"),
			[]*Value{nnVal(f, 1, 8, 5, 5), nnVal(f, 12, 3, 3, 3)}, nil, nil, "expects 3 input channels, X [1,8,5,5] has 8"},
		{"conv int input", 13, nnIO(nnNode("Conv"), []string{"x", "w"}, "y"),
			[]*Value{nnVal(Int32, 1, 1, 5, 5), nnVal(Int32, 1, 1, 3, 3)}, nil, nil, "expected a floating-point type"},
		{"conv transpose", 13, nnIO(nnNode("ConvTranspose", nnIntA("group", 2), nnInts("strides", 2, 2)), []string{"x", "w"}, "y"),
			[]*Value{nnVal(f, 1, 4, 3, 3), nnVal(f, 4, 3, 3, 3)}, nil, []string{"[1,6,7,7]"}, ""},
		{"maxpool with indices", 12, nnIO(nnNode("MaxPool", nnInts("kernel_shape", 2, 2), nnInts("strides", 2, 2), nnIntA("ceil_mode", 1)), []string{"x"}, "y", "i"),
			[]*Value{nnVal(f, -1, 3, 7, 7)}, nil, []string{"[N,3,4,4]", "[N,3,4,4]"}, ""},
		{"maxpool pad as large as kernel", 12, nnIO(nnNode("MaxPool", nnInts("kernel_shape", 2), nnInts("pads", 2, 0)), []string{"x"}, "y"),
			[]*Value{nnVal(f, 1, 1, 7)}, nil, nil, "not smaller than the kernel"},
		{"maxpool needs kernel_shape", 12, nnIO(nnNode("MaxPool"), []string{"x"}, "y"),
			[]*Value{nnVal(f, 1, 1, 7)}, nil, nil, "missing required attribute kernel_shape"},
		{"global pool 3d", 13, nnIO(nnNode("GlobalAveragePool"), []string{"x"}, "y"),
			[]*Value{nnVal(f, 2, 5, 3, 4, 6)}, nil, []string{"[2,5,1,1,1]"}, ""},
		{"batchnorm training outputs", 15, nnIO(nnNode("BatchNormalization", nnIntA("training_mode", 1)), []string{"x", "s", "b", "m", "v"}, "y", "rm", "rv"),
			[]*Value{nnVal(f, 2, 3, 4), nnVal(f, 3), nnVal(f, 3), nnVal(f, 3), nnVal(f, 3)}, nil, []string{"[2,3,4]", "[3]", "[3]"}, ""},
		{"batchnorm wrong param size", 15, nnIO(nnNode("BatchNormalization"), []string{"x", "s", "b", "m", "v"}, "y"),
			[]*Value{nnVal(f, 2, 3, 4), nnVal(f, 4), nnVal(f, 3), nnVal(f, 3), nnVal(f, 3)}, nil, nil, "input scale has 4 elements, X has 3 channels"},
		{"layernorm stats", 17, nnIO(nnNode("LayerNormalization", nnIntA("axis", -2)), []string{"x", "s"}, "y", "mean", "inv"),
			[]*Value{nnVal(f, 2, 3, 4), nnVal(f, 3, 4)}, nil, []string{"[2,3,4]", "[2,1,1]", "[2,1,1]"}, ""},
		{"layernorm bad axis", 17, nnIO(nnNode("LayerNormalization", nnIntA("axis", 3)), []string{"x", "s"}, "y"),
			[]*Value{nnVal(f, 2, 3, 4), nnVal(f, 4)}, nil, nil, "axis 3 is out of range"},
		{"softmax legacy axis", 11, nnIO(nnNode("Softmax", nnIntA("axis", -4)), []string{"x"}, "y"),
			[]*Value{nnVal(f, 2, 3)}, nil, nil, "out of range"},
		{"gemm trans", 13, nnIO(nnNode("Gemm", nnIntA("transA", 1), nnIntA("transB", 1)), []string{"a", "b", "c"}, "y"),
			[]*Value{nnVal(f, 4, 3), nnVal(f, 5, 4), nnVal(f, 5)}, nil, []string{"[3,5]"}, ""},
		{"gemm bad C", 13, nnIO(nnNode("Gemm"), []string{"a", "b", "c"}, "y"),
			[]*Value{nnVal(f, 3, 4), nnVal(f, 4, 5), nnVal(f, 3)}, nil, nil, "does not broadcast"},
		{"gemm inner mismatch", 13, nnIO(nnNode("Gemm"), []string{"a", "b"}, "y"),
			[]*Value{nnVal(f, 3, 4), nnVal(f, 5, 5)}, nil, nil, "inner dimensions differ"},
		{"matmul batched", 13, nnIO(nnNode("MatMul"), []string{"a", "b"}, "y"),
			[]*Value{nnVal(f, -1, 1, 7, 8), nnVal(f, 4, 8, 2)}, nil, []string{"[N,4,7,2]"}, ""},
		{"pad const pads", 13, nnIO(nnNode("Pad"), []string{"x", "p"}, "y"),
			[]*Value{nnVal(f, 1, 3, 4), nnVal(Int64, 6)}, map[string]*Tensor{"p": FromInt64([]int{6}, []int64{0, 1, -1, 0, 2, 3})},
			[]string{"[1,6,6]"}, ""},
		{"pad dynamic pads", 13, nnIO(nnNode("Pad"), []string{"x", "p"}, "y"),
			[]*Value{nnVal(f, 1, 3, 4), nnVal(Int64, 6)}, nil, []string{"[?,?,?]"}, ""},
		{"pad legacy attr", 2, nnIO(nnNode("Pad", nnInts("pads", 1, 1, 1, 1), nnStr("mode", "reflect")), []string{"x"}, "y"),
			[]*Value{nnVal(f, 3, 4)}, nil, []string{"[5,6]"}, ""},
		{"pad bad mode", 13, nnIO(nnNode("Pad", nnStr("mode", "wrap")), []string{"x", "p"}, "y"),
			[]*Value{nnVal(f, 3, 4), nnVal(Int64, 4)}, nil, nil, `unsupported mode "wrap"`},
		{"resize scales", 13, nnIO(nnNode("Resize", nnStr("mode", "linear")), []string{"x", "", "s"}, "y"),
			[]*Value{nnVal(f, -1, 3, 10, 7), nil, nnVal(f, 4)}, map[string]*Tensor{"s": FromFloat32([]int{4}, []float32{1, 1, 2, 0.5})},
			[]string{"[N,3,20,3]"}, ""},
		{"resize sizes", 13, nnIO(nnNode("Resize"), []string{"x", "", "", "z"}, "y"),
			[]*Value{nnVal(f, 1, 3, 10, 7), nil, nil, nnVal(Int64, 4)}, map[string]*Tensor{"z": FromInt64([]int{4}, []int64{1, 3, 5, 5})},
			[]string{"[1,3,5,5]"}, ""},
		{"resize neither", 13, nnIO(nnNode("Resize"), []string{"x", "r"}, "y"),
			[]*Value{nnVal(f, 1, 3, 10, 7), nnVal(f, 0)}, nil, nil, "neither scales nor sizes"},
		{"resize bad mode", 13, nnIO(nnNode("Resize", nnStr("coordinate_transformation_mode", "corner")), []string{"x", "", "s"}, "y"),
			[]*Value{nnVal(f, 1, 3, 10, 7), nil, nnVal(f, 4)}, nil, nil, "unsupported coordinate_transformation_mode"},
		{"upsample attr", 7, nnIO(nnNode("Upsample", &Attr{Name: "scales", Type: AttrFloats, Floats: []float32{1, 1, 2, 3}}), []string{"x"}, "y"),
			[]*Value{nnVal(f, 1, 3, 2, 2)}, nil, []string{"[1,3,4,6]"}, ""},
		{"erf", 13, nnIO(nnNode("Erf"), []string{"x"}, "y"), []*Value{nnVal(f, 2, 2)}, nil, []string{"[2,2]"}, ""},
		{"unknown attribute", 13, nnIO(nnNode("Conv", nnIntA("bogus", 1)), []string{"x", "w"}, "y"),
			[]*Value{nnVal(f, 1, 1, 5, 5), nnVal(f, 1, 1, 3, 3)}, nil, nil, `unsupported attribute "bogus"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, err := nnInferOne(t, tc.opset, tc.node, tc.ins, tc.consts)
			if nnExpectErr(t, err, tc.wantErr, tc.node.OpType) {
				return
			}
			for i, want := range tc.want {
				v := g.Values[tc.node.Outputs[i]]
				require.NotNil(t, v)
				assert.Equal(t, want, v.Shape.String(), "output %d", i)
			}
		})
	}
}

func TestUnsupportedIsWrapped(t *testing.T) {
	_, err := nnInferOne(t, 13, nnIO(nnNode("Pad", nnStr("mode", "wrap")), []string{"x", "p"}, "y"),
		[]*Value{nnVal(Float32, 3, 4), nnVal(Int64, 4)}, nil)
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrUnsupported))
}
