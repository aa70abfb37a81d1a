package graph

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBroadcastInts(t *testing.T) {
	cases := []struct {
		a, b, want []int
		err        bool
	}{
		{a: []int{2, 3}, b: []int{2, 3}, want: []int{2, 3}},
		{a: []int{2, 3}, b: nil, want: []int{2, 3}},
		{a: []int{4, 1, 3}, b: []int{5, 1}, want: []int{4, 5, 3}},
		{a: []int{1}, b: []int{0}, want: []int{0}},
		{a: []int{2, 0}, b: []int{1, 1}, want: []int{2, 0}},
		{a: []int{2, 3}, b: []int{3, 2}, err: true},
		{a: []int{0}, b: []int{2}, err: true},
	}
	for _, tc := range cases {
		got, err := BroadcastInts(tc.a, tc.b)
		if tc.err {
			require.Error(t, err, "%v %v", tc.a, tc.b)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tc.want, got, "%v %v", tc.a, tc.b)
	}
	got, err := BroadcastIntsN([]int{2, 1, 1}, []int{3, 1}, []int{4})
	require.NoError(t, err)
	require.Equal(t, []int{2, 3, 4}, got)
}

func TestBroadcastShapes(t *testing.T) {
	N := Dim{Size: -1, Param: "N"}
	M := Dim{Size: -1, Param: "M"}
	unk := Dim{Size: -1}
	d := func(n int) Dim { return Dim{Size: n} }
	cases := []struct {
		name    string
		a, b    Shape
		want    string
		wantErr bool
	}{
		{name: "known", a: Shape{d(2), d(1)}, b: Shape{d(3)}, want: "[2,3]"},
		{name: "symbolic batch with bias", a: Shape{N, d(10)}, b: Shape{d(10)}, want: "[N,10]"},
		{name: "same symbol", a: Shape{N, d(1)}, b: Shape{N, d(4)}, want: "[N,4]"},
		{name: "different symbols", a: Shape{N}, b: Shape{M}, want: "[?]"},
		{name: "unknown against 1", a: Shape{unk}, b: Shape{d(1)}, want: "[?]"},
		{name: "unknown against 5 must be 5", a: Shape{unk}, b: Shape{d(5)}, want: "[5]"},
		{name: "symbol against 1 keeps symbol", a: Shape{d(1)}, b: Shape{N}, want: "[N]"},
		{name: "mismatch", a: Shape{d(2)}, b: Shape{d(3)}, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := BroadcastShapes(tc.a, tc.b)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got.String())
		})
	}
}

func TestNormalizeAxes(t *testing.T) {
	got, err := NormalizeAxes([]int64{-1, 0}, 3)
	require.NoError(t, err)
	require.Equal(t, []int{2, 0}, got)
	_, err = NormalizeAxes([]int64{3}, 3)
	require.ErrorContains(t, err, "out of range")
	_, err = NormalizeAxes([]int64{1, -2}, 3)
	require.ErrorContains(t, err, "repeated")
}

func TestResolveSlice(t *testing.T) {
	cases := []struct {
		dim                int
		start, end, step   int64
		wantStart, wantLen int
	}{
		{10, 0, 10, 1, 0, 10},
		{10, 2, 5, 1, 2, 3},
		{10, -3, math.MaxInt64, 1, 7, 3},
		{10, 0, 10, 3, 0, 4},
		{10, 20, 30, 1, 10, 0},
		{10, -1, math.MinInt64, -1, 9, 10},
		{10, 20, 0, -3, 9, 3}, // 9, 6, 3
		{10, 5, 5, 1, 5, 0},
		{0, 0, 1, 1, 0, 0},
		{0, -1, math.MinInt64, -1, -1, 0},
	}
	for _, tc := range cases {
		p, err := ResolveSlice(tc.dim, tc.start, tc.end, tc.step)
		require.NoError(t, err)
		require.Equal(t, tc.wantLen, p.Len, "%+v", tc)
		if p.Len > 0 {
			require.Equal(t, tc.wantStart, p.Start, "%+v", tc)
		}
	}
	_, err := ResolveSlice(3, 0, 1, 0)
	require.ErrorContains(t, err, "step")
}

func TestReshapeTarget(t *testing.T) {
	cases := []struct {
		in        []int
		target    []int64
		allowZero bool
		want      []int
		err       string
	}{
		{in: []int{2, 3, 4}, target: []int64{0, -1}, want: []int{2, 12}},
		{in: []int{2, 3, 4}, target: []int64{-1}, want: []int{24}},
		{in: []int{2, 3, 4}, target: []int64{4, 0, 2}, want: []int{4, 3, 2}},
		{in: []int{0, 3}, target: []int64{3, 0}, allowZero: true, want: []int{3, 0}},
		{in: []int{0, 3}, target: []int64{0, -1}, err: "do not divide"}, // as numpy and PyTorch
		{in: []int{2, 3}, target: []int64{-1, -1}, err: "more than one -1"},
		{in: []int{2, 3}, target: []int64{5, -1}, err: "do not divide"},
		{in: []int{2, 3}, target: []int64{7}, err: "cannot reshape"},
		{in: []int{2, 3}, target: []int64{-2, 3}, err: "invalid dimension"},
		{in: []int{2}, target: []int64{0, 0}, err: "rank"},
		{in: []int{0}, target: []int64{0, -1}, allowZero: true, err: "allowzero"},
		{in: []int{2, 3}, target: []int64{1 << 62, 1 << 62}, err: "oversized"},
	}
	for _, tc := range cases {
		got, err := ReshapeTarget(tc.in, tc.target, tc.allowZero)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, "%v -> %v", tc.in, tc.target)
			continue
		}
		require.NoError(t, err, "%v -> %v", tc.in, tc.target)
		require.Equal(t, tc.want, got)
	}
}

func TestSplitSizes(t *testing.T) {
	got, err := SplitSizes(6, nil, 3)
	require.NoError(t, err)
	require.Equal(t, []int{2, 2, 2}, got)
	got, err = SplitSizes(6, []int64{1, 0, 5}, 3)
	require.NoError(t, err)
	require.Equal(t, []int{1, 0, 5}, got)
	_, err = SplitSizes(7, nil, 3)
	require.ErrorContains(t, err, "equal parts")
	_, err = SplitSizes(6, []int64{1, 2}, 3)
	require.ErrorContains(t, err, "entries")
	_, err = SplitSizes(6, []int64{1, 2, 4}, 3)
	require.ErrorContains(t, err, "sums to 7")
}

// inferOne runs shape inference on a one-node graph (without the runtime's constant
// folding: the graph package alone).
func inferOne(t *testing.T, opset int64, n *Node, inputs []*Value, inits map[string]*Tensor) (*Model, error) {
	t.Helper()
	g := &Graph{Name: "g", Initializers: map[string]*Tensor{}, Values: map[string]*Value{}}
	for k, v := range inits {
		g.Initializers[k] = v
	}
	g.Inputs = inputs
	for _, o := range n.Outputs {
		g.Outputs = append(g.Outputs, &Value{Name: o})
	}
	if n.Attrs == nil {
		n.Attrs = map[string]*Attr{}
	}
	n.Name = "n"
	g.Nodes = []*Node{n}
	m := &Model{Graph: g, Opsets: map[string]int64{"": opset}}
	_, err := m.InferShapes(InferOptions{Eval: NoFold{}})
	return m, err
}

func TestInferPartialShapes(t *testing.T) {
	N := Dim{Size: -1, Param: "N"}
	d := func(n int) Dim { return Dim{Size: n} }
	x := &Value{Name: "x", DType: Float32, Shape: Shape{N, d(3), d(4)}, HasShape: true}
	shapeIn := &Value{Name: "s", DType: Int64, Shape: Shape{d(2)}, HasShape: true}
	cases := []struct {
		name   string
		opset  int64
		node   *Node
		inputs []*Value
		inits  map[string]*Tensor
		want   string // output 0's shape
		err    string
	}{
		{name: "Relu keeps symbol", node: &Node{OpType: "Relu", Inputs: []string{"x"}, Outputs: []string{"y"}}, inputs: []*Value{x}, want: "[N,3,4]"},
		{name: "Flatten symbolic batch", node: &Node{OpType: "Flatten", Inputs: []string{"x"}, Outputs: []string{"y"}}, inputs: []*Value{x}, want: "[N,12]"},
		{name: "Reshape runtime shape: rank only", node: &Node{OpType: "Reshape", Inputs: []string{"x", "s"}, Outputs: []string{"y"}}, inputs: []*Value{x, shapeIn}, want: "[?,?]"},
		{name: "Reshape 0 copies the symbol", node: &Node{OpType: "Reshape", Inputs: []string{"x", "c"}, Outputs: []string{"y"}}, inputs: []*Value{x},
			inits: map[string]*Tensor{"c": FromInt64([]int{2}, []int64{0, -1})}, want: "[N,?]"},
		{name: "Transpose", node: &Node{OpType: "Transpose", Inputs: []string{"x"}, Outputs: []string{"y"}, Attrs: map[string]*Attr{"perm": {Name: "perm", Type: AttrInts, Ints: []int64{0, 2, 1}}}}, inputs: []*Value{x}, want: "[N,4,3]"},
		{name: "Concat on a symbolic axis", node: &Node{OpType: "Concat", Inputs: []string{"x", "x"}, Outputs: []string{"y"}, Attrs: map[string]*Attr{"axis": {Name: "axis", Type: AttrInt, I: 0}}}, inputs: []*Value{x}, want: "[?,3,4]"},
		{name: "Concat on a known axis", node: &Node{OpType: "Concat", Inputs: []string{"x", "x"}, Outputs: []string{"y"}, Attrs: map[string]*Attr{"axis": {Name: "axis", Type: AttrInt, I: -1}}}, inputs: []*Value{x}, want: "[N,3,8]"},
		{name: "Slice with constant bounds", node: &Node{OpType: "Slice", Inputs: []string{"x", "st", "en", "ax"}, Outputs: []string{"y"}}, inputs: []*Value{x},
			inits: map[string]*Tensor{"st": FromInt64([]int{1}, []int64{1}), "en": FromInt64([]int{1}, []int64{math.MaxInt64}), "ax": FromInt64([]int{1}, []int64{2})}, want: "[N,3,3]"},
		{name: "Squeeze without axes and a symbolic dim: unknown", node: &Node{OpType: "Squeeze", Inputs: []string{"x"}, Outputs: []string{"y"}}, inputs: []*Value{x}, want: "unknown"},
		{name: "Unsqueeze opset 11", opset: 11, node: &Node{OpType: "Unsqueeze", Inputs: []string{"x"}, Outputs: []string{"y"}, Attrs: map[string]*Attr{"axes": {Name: "axes", Type: AttrInts, Ints: []int64{1, -1}}}}, inputs: []*Value{x}, want: "[N,1,3,4,1]"},
		{name: "Gather", node: &Node{OpType: "Gather", Inputs: []string{"x", "i"}, Outputs: []string{"y"}, Attrs: map[string]*Attr{"axis": {Name: "axis", Type: AttrInt, I: 1}}}, inputs: []*Value{x, {Name: "i", DType: Int64, Shape: Shape{d(5), d(2)}, HasShape: true}}, want: "[N,5,2,4]"},
		{name: "Gather float indices", node: &Node{OpType: "Gather", Inputs: []string{"x", "i"}, Outputs: []string{"y"}}, inputs: []*Value{x, {Name: "i", DType: Float32, Shape: Shape{d(5)}, HasShape: true}}, err: "float32"},
		{name: "Split sizes", node: &Node{OpType: "Split", Inputs: []string{"x", "sp"}, Outputs: []string{"y", "z"}, Attrs: map[string]*Attr{"axis": {Name: "axis", Type: AttrInt, I: 2}}}, inputs: []*Value{x},
			inits: map[string]*Tensor{"sp": FromInt64([]int{2}, []int64{1, 3})}, want: "[N,3,1]"},
		{name: "TopK constant K", opset: 11, node: &Node{OpType: "TopK", Inputs: []string{"x", "k"}, Outputs: []string{"y", "z"}}, inputs: []*Value{x},
			inits: map[string]*Tensor{"k": FromInt64([]int{1}, []int64{2})}, want: "[N,3,2]"},
		{name: "ArgMax no keepdims", node: &Node{OpType: "ArgMax", Inputs: []string{"x"}, Outputs: []string{"y"}, Attrs: map[string]*Attr{"keepdims": {Name: "keepdims", Type: AttrInt, I: 0}, "axis": {Name: "axis", Type: AttrInt, I: 1}}}, inputs: []*Value{x}, want: "[N,4]"},
		{name: "DepthToSpace", node: &Node{OpType: "DepthToSpace", Inputs: []string{"x"}, Outputs: []string{"y"}, Attrs: map[string]*Attr{"blocksize": {Name: "blocksize", Type: AttrInt, I: 2}}},
			inputs: []*Value{{Name: "x", DType: Float32, Shape: Shape{N, d(8), d(3), d(5)}, HasShape: true}}, want: "[N,2,6,10]"},
		{name: "Shape const when known", node: &Node{OpType: "Shape", Inputs: []string{"x"}, Outputs: []string{"y"}}, inputs: []*Value{x}, want: "[3]"},
		{name: "QuantizeLinear int8 zero point", node: &Node{OpType: "QuantizeLinear", Inputs: []string{"x", "sc", "zp"}, Outputs: []string{"y"}}, inputs: []*Value{x},
			inits: map[string]*Tensor{"sc": ScalarFloat32(0.1), "zp": FromInt8(nil, []int8{0})}, want: "[N,3,4]"},
		{name: "QuantizeLinear per-axis size mismatch", node: &Node{OpType: "QuantizeLinear", Inputs: []string{"x", "sc"}, Outputs: []string{"y"}}, inputs: []*Value{x},
			inits: map[string]*Tensor{"sc": FromFloat32([]int{4}, []float32{1, 1, 1, 1})}, err: "axis 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opset := tc.opset
			if opset == 0 {
				opset = 13
			}
			m, err := inferOne(t, opset, tc.node, tc.inputs, tc.inits)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			y := m.Graph.Values[tc.node.Outputs[0]]
			require.NotNil(t, y)
			if tc.want == "unknown" {
				require.False(t, y.HasShape, "shape %s", y.Shape)
				return
			}
			require.True(t, y.HasShape)
			require.Equal(t, tc.want, y.Shape.String())
		})
	}
}
