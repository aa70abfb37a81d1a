package runtime

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// runSingleNode runs one node through a session (shape inference, build, run) at the
// given opset. Inputs are bound to the node's non-empty input names in order; nil
// entries are absent optional inputs.
func runSingleNode(t *testing.T, opset int64, n *graph.Node, inputs ...*graph.Tensor) ([]*graph.Tensor, error) {
	t.Helper()
	if n.Attrs == nil {
		n.Attrs = map[string]*graph.Attr{}
	}
	return runNodeOpt(t, opset, 2, false, n, nil, inputs...)
}

// naiveBroadcast is the textbook definition used to check the optimized loops.
func naiveBroadcast(a []float32, as []int, b []float32, bs []int, f func(x, y float32) float32) ([]float32, []int) {
	os, err := graph.BroadcastInts(as, bs)
	if err != nil {
		panic(err)
	}
	out := make([]float32, graph.NumElements(os))
	for i := range out {
		idx := unravel(i, os)
		at := func(shape []int) int {
			off, st := 0, 1
			for k := len(shape) - 1; k >= 0; k-- {
				j := idx[len(os)-len(shape)+k]
				if shape[k] == 1 {
					j = 0
				}
				off += j * st
				st *= shape[k]
			}
			return off
		}
		out[i] = f(a[at(as)], b[at(bs)])
	}
	return out, os
}

func iota32(n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(i + 1)
	}
	return out
}

func TestBinaryBroadcast(t *testing.T) {
	sub := func(x, y float32) float32 { return 10*x - y }
	cases := []struct {
		name   string
		as, bs []int
	}{
		{"same shape", []int{2, 3, 4}, []int{2, 3, 4}},
		{"scalar right", []int{2, 3}, nil},
		{"scalar left", nil, []int{5}},
		{"one-element tensor", []int{3, 2}, []int{1, 1}},
		{"trailing axis", []int{2, 3, 4}, []int{4}},
		{"channel bias", []int{2, 3, 4, 5}, []int{3, 1, 1}},
		{"both sides", []int{3, 1, 4}, []int{1, 5, 1}},
		{"leading axis", []int{1, 3, 4}, []int{2, 1, 1}},
		{"middle axis", []int{2, 1, 3}, []int{2, 4, 3}},
		{"empty", []int{0, 3}, []int{3}},
		{"rank 6", []int{2, 1, 2, 1, 2, 1}, []int{1, 2, 1, 2, 1, 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := iota32(graph.NumElements(tc.as)), iota32(graph.NumElements(tc.bs))
			want, os := naiveBroadcast(a, tc.as, b, tc.bs, sub)
			for _, threads := range []int{1, 4} {
				got := make([]float32, len(want))
				binaryBroadcast(threads, a, tc.as, b, tc.bs, got, os, sub)
				require.Equal(t, want, got)
			}
		})
	}
}

func TestStridedCopyTranspose(t *testing.T) {
	cases := []struct {
		shape []int
		perm  []int
	}{
		{[]int{2, 3}, []int{1, 0}},
		{[]int{2, 3, 4}, []int{2, 0, 1}},
		{[]int{1, 3, 1, 4}, []int{3, 2, 1, 0}},
		{[]int{2, 3, 4, 5}, []int{0, 2, 3, 1}}, // NCHW -> NHWC
		{[]int{2, 3, 4}, []int{0, 1, 2}},
	}
	for _, tc := range cases {
		x := graph.FromFloat32(tc.shape, iota32(graph.NumElements(tc.shape)))
		got, err := transposeTensor(1, x, tc.perm)
		require.NoError(t, err)
		st := graph.Strides(tc.shape)
		for i, v := range got.F32() {
			idx := unravel(i, got.Shape)
			off := 0
			for k, p := range tc.perm {
				off += idx[k] * st[p]
			}
			require.Equal(t, x.F32()[off], v, "shape %v perm %v element %d", tc.shape, tc.perm, i)
		}
	}
}

func TestFloat64ToFloat16(t *testing.T) {
	cases := []struct {
		in   float64
		want uint16
	}{
		{0, 0x0000},
		{math.Copysign(0, -1), 0x8000},
		{1, 0x3c00},
		{-2, 0xc000},
		{65504, 0x7bff},
		{65519.99, 0x7bff},
		{65520, 0x7c00}, // ties to even rounds up to infinity
		{1e10, 0x7c00},
		{math.Inf(-1), 0xfc00},
		{0x1p-24, 0x0001},             // smallest subnormal
		{0x1p-25, 0x0000},             // half of it: tie to even gives 0
		{0x1.8p-25, 0x0001},           // above the tie
		{0x3p-25, 0x0002},             // 1.5 ulp: tie to even gives 2
		{0x1p-14, 0x0400},             // smallest normal
		{0x1.ffcp-15, 0x0400},         // largest subnormal rounds up into the normals
		{1 + 0x1p-11, 0x3c00},         // tie between 1 and 1+2^-10: even is 1
		{1 + 3*0x1p-11, 0x3c02},       // tie: even is 1+2^-9
		{1 + 0x1p-11 + 1e-12, 0x3c01}, // just above the tie
		{0.1, 0x2e66},
	}
	for _, tc := range cases {
		require.Equalf(t, tc.want, f64ToF16(tc.in), "f64ToF16(%v)", tc.in)
	}
	require.Equal(t, uint16(0x7e00), f64ToF16(math.NaN())&0x7e00)
	// Agreement with the float32 conversion on values that float32 represents exactly.
	for _, v := range []float32{3.14159, -0.001, 1234.5, 6.1e-5, 7e-8, 60000} {
		require.Equal(t, graph.Float32ToFloat16(v), f64ToF16(float64(v)), "%v", v)
	}
}

func TestBFloat16(t *testing.T) {
	require.Equal(t, uint16(0x3f80), f32ToBF16(1))
	require.Equal(t, uint16(0x3f80), f32ToBF16(math.Float32frombits(0x3f808000))) // tie: even
	require.Equal(t, uint16(0x3f82), f32ToBF16(math.Float32frombits(0x3f818000))) // tie: even (up)
	require.Equal(t, uint16(0x3f81), f32ToBF16(math.Float32frombits(0x3f808001)))
	require.True(t, math.IsNaN(float64(bf16ToF32(f32ToBF16(float32(math.NaN()))))))
	require.Equal(t, float32(1.5), bf16ToF32(f32ToBF16(1.5)))
}

// TestMT19937 pins the generator to numpy: np.random.seed(0);
// np.random.uniform(0, 1, 3) = [0.5488135039273248, 0.7151893663724195, 0.6027633760716439].
func TestMT19937(t *testing.T) {
	r := newMT19937(0)
	for _, want := range []float64{0.5488135039273248, 0.7151893663724195, 0.6027633760716439} {
		require.Equal(t, want, r.float64())
	}
}

func TestParallelForCoversRange(t *testing.T) {
	for _, n := range []int{0, 1, parallelMinWork - 1, parallelMinWork * 3} {
		for _, threads := range []int{1, 2, 7} {
			seen := make([]int32, n)
			parallelFor(threads, n, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					seen[i]++
				}
			})
			for i, v := range seen {
				require.EqualValues(t, 1, v, "n=%d threads=%d index %d", n, threads, i)
			}
		}
	}
}

func TestCompareTensors(t *testing.T) {
	f := func(v ...float32) *graph.Tensor { return graph.FromFloat32([]int{len(v)}, v) }
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	cases := []struct {
		name      string
		got, want *graph.Tensor
		ok        bool
	}{
		{"equal", f(1, 2), f(1, 2), true},
		{"within rtol", f(1000.5), f(1000), true},
		{"outside rtol", f(1002), f(1000), false},
		{"nan matches nan", f(nan), f(nan), true},
		{"nan vs number", f(nan), f(1), false},
		{"inf", f(inf), f(inf), true},
		{"inf vs big", f(3e38), f(inf), false},
		{"shape", graph.FromFloat32([]int{1, 2}, []float32{1, 2}), f(1, 2), false},
		{"dtype", graph.FromInt64([]int{2}, []int64{1, 2}), f(1, 2), false},
		{"ints exact", graph.FromInt64([]int{1}, []int64{1 << 60}), graph.FromInt64([]int{1}, []int64{1<<60 + 1}), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CompareTensors(tc.got, tc.want, ONNXTolerance)
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		})
	}
}

// TestConcurrentRuns runs one session from several goroutines on inputs large enough
// for the elementwise kernels to split their loops; run with -race.
func TestConcurrentRuns(t *testing.T) {
	shape := []int{2, 64, 32, 32} // 131072 elements: above parallelMinWork
	g := &graph.Graph{
		Name:         "concurrent",
		Initializers: map[string]*graph.Tensor{"bias": f32([]int{64, 1, 1}, iota32(64)...)},
		Values:       map[string]*graph.Value{},
		Inputs:       []*graph.Value{{Name: "x", DType: graph.Float32, Shape: graph.ShapeOf(shape...), HasShape: true}},
		Outputs:      []*graph.Value{{Name: "y"}},
		Nodes: []*graph.Node{
			{Name: "add", OpType: "Add", Inputs: []string{"x", "bias"}, Outputs: []string{"a"}},
			{Name: "relu", OpType: "Relu", Inputs: []string{"a"}, Outputs: []string{"r"}},
			{Name: "mul", OpType: "Mul", Inputs: []string{"r", "r"}, Outputs: []string{"m"}},
			{Name: "tr", OpType: "Transpose", Inputs: []string{"m"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{"perm": aInts("perm", 0, 2, 3, 1)}},
		},
	}
	m := &graph.Model{Graph: g, IRVersion: 8, Opsets: map[string]int64{"": 13}}
	s, err := NewSession(m, WithThreads(4))
	require.NoError(t, err)
	inputs := make([]*graph.Tensor, 4)
	want := make([]*graph.Tensor, 4)
	for i := range inputs {
		x := make([]float32, graph.NumElements(shape))
		for j := range x {
			x[j] = float32((j*(i+3))%97) - 48
		}
		inputs[i] = f32(shape, x...)
		out, err := s.RunTensors(map[string]*graph.Tensor{"x": inputs[i]})
		require.NoError(t, err)
		want[i] = out["y"]
	}
	errs := make(chan error, 16)
	for r := 0; r < 16; r++ {
		go func(r int) {
			out, err := s.RunTensors(map[string]*graph.Tensor{"x": inputs[r%4]})
			if err == nil {
				err = CompareTensors(out["y"], want[r%4], Tolerance{})
			}
			errs <- err
		}(r)
	}
	for r := 0; r < 16; r++ {
		require.NoError(t, <-errs)
	}
}

// TestWrongInputs: inputs of the wrong shape or dtype are refused with an error naming
// the input, on a real model.
func TestWrongInputs(t *testing.T) {
	m, err := graph.Load("../testdata/models/fmnist_cnn.onnx")
	require.NoError(t, err)
	s, err := NewSession(m)
	require.NoError(t, err)
	cases := []struct {
		name string
		in   map[string]*graph.Tensor
		want string
	}{
		{"wrong shape", map[string]*graph.Tensor{"input": graph.NewTensor(graph.Float32, []int{1, 1, 27, 28})}, `input "input": got shape [1,1,27,28]`},
		{"wrong rank", map[string]*graph.Tensor{"input": graph.NewTensor(graph.Float32, []int{784})}, `input "input"`},
		{"wrong dtype", map[string]*graph.Tensor{"input": graph.NewTensor(graph.Float64, []int{1, 1, 28, 28})}, "float64"},
		{"data shorter than shape", map[string]*graph.Tensor{"input": {DType: graph.Float32, Shape: []int{1, 1, 28, 28}, Data: make([]float32, 10)}}, "data length"},
		{"missing", map[string]*graph.Tensor{}, `missing input "input"`},
		{"unknown name", map[string]*graph.Tensor{"input": graph.NewTensor(graph.Float32, []int{1, 1, 28, 28}), "extra": graph.ScalarFloat32(1)}, `unknown input "extra"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { _, err = s.RunTensors(tc.in) })
			require.ErrorContains(t, err, tc.want)
		})
	}
}
