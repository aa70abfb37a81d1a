package runtime

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
)

// The bodies planned per input shape (body_plans.go) and run as one execution
// over the iterations (session_iter.go) give what the rank-only body gives, on the
// committed Scan and Loop models, at 1 and 2 threads, on inputs of several sizes
// fed in turn (a new plan per size, the kept ones reused).
func TestBodyPlansMatchRankOnly(t *testing.T) {
	dir := filepath.Join("..", "testdata", "exported")
	npz := func(sub, name string) map[string]*graph.Tensor {
		in, err := dataset.ReadNPZ(filepath.Join(dir, sub, name))
		require.NoError(t, err)
		return in
	}
	npy := func(name string) map[string]*graph.Tensor {
		x, err := dataset.ReadNPY(filepath.Join(dir, "npy_control", name))
		require.NoError(t, err)
		return map[string]*graph.Tensor{"x": x}
	}
	for _, tc := range []struct {
		model  string
		inputs []map[string]*graph.Tensor
	}{
		{"mamba_scan_op13.onnx", []map[string]*graph.Tensor{npz("npz_mamba", "s0.npz"), npz("npz_mamba", "s1.npz"), npz("npz_mamba", "s0.npz")}},
		{"skl2onnx_cdist_scan_op9.onnx", []map[string]*graph.Tensor{npz("npz_cdist", "s0.npz"), npz("npz_cdist", "s1.npz")}},
		{"script_lists_op13.onnx", []map[string]*graph.Tensor{npz("npz_lists", "s0.npz"), npz("npz_lists", "s1.npz")}},
		{"control_flow_opset13.onnx", []map[string]*graph.Tensor{npy("pos.npy"), npy("small.npy"), npy("mixed.npy")}},
	} {
		m, err := graph.Load(filepath.Join(dir, tc.model))
		require.NoError(t, err)
		for _, threads := range []int{1, 2} {
			planned, err := NewSession(m, WithMode(ModeFloat), WithThreads(threads))
			require.NoError(t, err)
			bodyPlansOff.Store(true)
			rankOnly, err := NewSession(m, WithMode(ModeFloat), WithThreads(threads))
			bodyPlansOff.Store(false)
			require.NoError(t, err)
			for i, in := range tc.inputs {
				bodyPlansOff.Store(true)
				want, err := rankOnly.RunTensors(in)
				bodyPlansOff.Store(false)
				require.NoError(t, err, "%s input %d", tc.model, i)
				for rep := 0; rep < 2; rep++ {
					got, err := planned.RunTensors(in)
					require.NoError(t, err, "%s input %d", tc.model, i)
					require.Equal(t, len(want), len(got))
					for name, w := range want {
						assert.NoError(t, CompareTensors(got[name], w, Tolerance{Rtol: 1e-6, Atol: 1e-7}), "%s input %d %s threads %d", tc.model, i, name, threads)
					}
				}
			}
		}
	}
}

// scanModel is a Scan of one state and one scan input, [L, 2] along axis 0 or
// [2, L] along axis 1 (each element then cut into a buffer of the body's arena),
// whose body is given by nodes over h_in (the state) and x_t (an element), with
// outputs h_out and y_t.
func scanModel(t *testing.T, nodes []*graph.Node, inits map[string]*graph.Tensor, axis int64) *graph.Model {
	t.Helper()
	if inits == nil {
		inits = map[string]*graph.Tensor{}
	}
	body := &graph.Graph{Name: "body", Initializers: inits, Values: map[string]*graph.Value{},
		Inputs: []*graph.Value{
			{Name: "h_in", DType: graph.Float32, HasShape: true, Shape: graph.ShapeOf(2)},
			{Name: "x_t", DType: graph.Float32, HasShape: true, Shape: graph.ShapeOf(2)},
		},
		Nodes:   nodes,
		Outputs: []*graph.Value{{Name: "h_out", DType: graph.Float32}, {Name: "y_t", DType: graph.Float32}},
	}
	scan := &graph.Node{Name: "scan", OpType: "Scan", Inputs: []string{"h0", "x"}, Outputs: []string{"h", "y"},
		Attrs: map[string]*graph.Attr{
			"body":            {Name: "body", Type: graph.AttrGraph, G: body},
			"num_scan_inputs": {Name: "num_scan_inputs", Type: graph.AttrInt, I: 1},
			"scan_input_axes": {Name: "scan_input_axes", Type: graph.AttrInts, Ints: []int64{axis}},
		}}
	xShape := graph.Shape{{Param: "L", Size: -1}, {Size: 2}}
	if axis == 1 {
		xShape = graph.Shape{{Size: 2}, {Param: "L", Size: -1}}
	}
	g := &graph.Graph{Initializers: map[string]*graph.Tensor{}, Values: map[string]*graph.Value{},
		Inputs: []*graph.Value{
			{Name: "h0", DType: graph.Float32, HasShape: true, Shape: graph.ShapeOf(2)},
			{Name: "x", DType: graph.Float32, HasShape: true, Shape: xShape},
		},
		Outputs: []*graph.Value{{Name: "h", DType: graph.Float32}, {Name: "y", DType: graph.Float32}},
		Nodes:   []*graph.Node{scan},
	}
	return &graph.Model{Graph: g, Opsets: map[string]int64{"": 13}, IRVersion: 8}
}

// Body outputs that alias what the body was fed or its constants: the carried
// value handed through unchanged, an element that becomes the state (so the
// buffer an element was cut into is carried to the next iteration), a state
// that is a constant of the body. Each must come out as if every iteration had
// its own tensors: no buffer may be recycled while a later iteration or the
// caller still reads it.
func TestScanBodyAliasing(t *testing.T) {
	node := func(op, name string, in []string, out string) *graph.Node {
		return &graph.Node{Name: name, OpType: op, Inputs: in, Outputs: []string{out}, Attrs: map[string]*graph.Attr{}}
	}
	x := graph.FromFloat32([]int{4, 2}, []float32{1, 2, 3, 4, 5, 6, 7, 8})
	xT := graph.FromFloat32([]int{2, 4}, []float32{1, 3, 5, 7, 2, 4, 6, 8})
	h0 := graph.FromFloat32([]int{2}, []float32{100, 200})
	for _, tc := range []struct {
		name   string
		nodes  []*graph.Node
		inits  map[string]*graph.Tensor
		h, y   []float32
		yShape []int
	}{
		{
			name:  "state passed through, element doubled",
			nodes: []*graph.Node{node("Identity", "keep", []string{"h_in"}, "h_out"), node("Add", "dbl", []string{"x_t", "x_t"}, "y_t")},
			h:     []float32{100, 200}, y: []float32{2, 4, 6, 8, 10, 12, 14, 16},
		},
		{
			// y_t = h_in + x_t with h_in the previous element: the element's
			// buffer must outlive its iteration.
			name:  "element becomes the state",
			nodes: []*graph.Node{node("Identity", "carry", []string{"x_t"}, "h_out"), node("Add", "sum", []string{"h_in", "x_t"}, "y_t")},
			h:     []float32{7, 8}, y: []float32{101, 202, 4, 6, 8, 10, 12, 14},
		},
		{
			name:  "state from a constant, element passed through",
			nodes: []*graph.Node{node("Identity", "c", []string{"k"}, "h_out"), node("Identity", "e", []string{"x_t"}, "y_t")},
			inits: map[string]*graph.Tensor{"k": graph.FromFloat32([]int{2}, []float32{-1, -2})},
			h:     []float32{-1, -2}, y: []float32{1, 2, 3, 4, 5, 6, 7, 8},
		},
		{
			name:  "running sum",
			nodes: []*graph.Node{node("Add", "acc", []string{"h_in", "x_t"}, "h_out"), node("Identity", "out", []string{"h_out"}, "y_t")},
			h:     []float32{116, 220}, y: []float32{101, 202, 104, 206, 109, 212, 116, 220},
		},
	} {
		for _, c := range []struct {
			off  bool
			axis int64
		}{{false, 0}, {true, 0}, {false, 1}, {true, 1}} {
			off := c.off
			bodyPlansOff.Store(off)
			s, err := NewSession(scanModel(t, tc.nodes, tc.inits, c.axis), WithMode(ModeFloat), WithThreads(1))
			require.NoError(t, err, tc.name)
			in := x
			if c.axis == 1 {
				in = xT
			}
			for rep := 0; rep < 3; rep++ {
				out, err := s.RunTensors(map[string]*graph.Tensor{"h0": h0, "x": in})
				require.NoError(t, err, tc.name)
				assert.Equal(t, tc.h, out["h"].F32(), "%s: final state (rank-only %v, run %d)", tc.name, off, rep)
				assert.Equal(t, tc.y, out["y"].F32(), "%s: scan output (rank-only %v, run %d)", tc.name, off, rep)
				assert.Equal(t, []int{4, 2}, out["y"].Shape, tc.name)
				// The caller owns what it got: writing into it changes nothing in the
				// model or in the next run.
				out["h"].F32()[0] = 1e9
				out["y"].F32()[0] = 1e9
			}
			assert.Equal(t, []float32{100, 200}, h0.F32(), tc.name)
			assert.Equal(t, []float32{1, 2, 3, 4, 5, 6, 7, 8}, x.F32(), tc.name)
			assert.Equal(t, []float32{1, 3, 5, 7, 2, 4, 6, 8}, xT.F32(), tc.name)
		}
		bodyPlansOff.Store(false)
	}
}

// A body planned for the shapes of its first iteration meets other shapes at
// the second (a carried value that grows): the execution goes on on the
// rank-only body, with the right values, and so do later executions.
func TestBodyPlanLeftWhenShapesChange(t *testing.T) {
	node := func(op, name string, in []string, out string, attrs ...*graph.Attr) *graph.Node {
		m := map[string]*graph.Attr{}
		for _, a := range attrs {
			m[a.Name] = a
		}
		return &graph.Node{Name: name, OpType: op, Inputs: in, Outputs: []string{out}, Attrs: m}
	}
	// acc_out = Concat(acc, acc + 1) along axis 0: [1] -> [2] -> [4] ...; the
	// scan output is ReduceSum(acc) (one value per iteration).
	body := &graph.Graph{Name: "body", Initializers: map[string]*graph.Tensor{"one": graph.FromFloat32(nil, []float32{1})}, Values: map[string]*graph.Value{},
		Inputs: []*graph.Value{
			{Name: "i", DType: graph.Int64, HasShape: true},
			{Name: "cond", DType: graph.Bool, HasShape: true},
			{Name: "acc", DType: graph.Float32, HasShape: true, Shape: graph.ShapeOf(1)},
		},
		Nodes: []*graph.Node{
			node("Add", "inc", []string{"acc", "one"}, "acc1"),
			node("Concat", "grow", []string{"acc", "acc1"}, "acc_out", &graph.Attr{Name: "axis", Type: graph.AttrInt, I: 0}),
			node("ReduceSum", "sum", []string{"acc"}, "s", &graph.Attr{Name: "keepdims", Type: graph.AttrInt, I: 0}),
			node("Identity", "keep", []string{"cond"}, "cond_out"),
		},
		Outputs: []*graph.Value{{Name: "cond_out", DType: graph.Bool}, {Name: "acc_out", DType: graph.Float32}, {Name: "s", DType: graph.Float32}},
	}
	loop := &graph.Node{Name: "grow_loop", OpType: "Loop", Inputs: []string{"n", "", "a0"}, Outputs: []string{"a", "sums"},
		Attrs: map[string]*graph.Attr{"body": {Name: "body", Type: graph.AttrGraph, G: body}}}
	g := &graph.Graph{Initializers: map[string]*graph.Tensor{}, Values: map[string]*graph.Value{},
		Inputs: []*graph.Value{
			{Name: "n", DType: graph.Int64, HasShape: true},
			{Name: "a0", DType: graph.Float32, HasShape: true, Shape: graph.Shape{{Param: "k", Size: -1}}},
		},
		Outputs: []*graph.Value{{Name: "a", DType: graph.Float32}, {Name: "sums", DType: graph.Float32}},
		Nodes:   []*graph.Node{loop},
	}
	m := &graph.Model{Graph: g, Opsets: map[string]int64{"": 13}, IRVersion: 8}
	s, err := NewSession(m, WithMode(ModeFloat), WithThreads(1))
	require.NoError(t, err)
	// reference: the same recurrence in Go
	ref := func(a []float32, n int) ([]float32, []float32) {
		var sums []float32
		for i := 0; i < n; i++ {
			var sum float32
			next := append([]float32{}, a...)
			for _, v := range a {
				sum += v
				next = append(next, v+1)
			}
			sums = append(sums, sum)
			a = next
		}
		return a, sums
	}
	for _, tc := range []struct {
		n  int
		a0 []float32
	}{{1, []float32{3}}, {3, []float32{3}}, {4, []float32{1, 2}}, {0, []float32{5}}, {3, []float32{3}}} {
		out, err := s.RunTensors(map[string]*graph.Tensor{
			"n":  graph.FromInt64(nil, []int64{int64(tc.n)}),
			"a0": graph.FromFloat32([]int{len(tc.a0)}, tc.a0),
		})
		if tc.n == 0 {
			// zero iterations: the scan output's element shape is static ([]),
			// the carried value comes back as fed
			require.NoError(t, err)
			assert.Equal(t, tc.a0, out["a"].F32())
			assert.Equal(t, []int{0}, out["sums"].Shape)
			continue
		}
		require.NoError(t, err, "n=%d", tc.n)
		wa, ws := ref(tc.a0, tc.n)
		assert.Equal(t, wa, out["a"].F32(), "n=%d a0=%v", tc.n, tc.a0)
		assert.Equal(t, ws, out["sums"].F32(), "n=%d a0=%v", tc.n, tc.a0)
	}
}

// A Scan fed sequences of many lengths: each length is a plan until the node
// has made maxBodyPlans of them, then the rank-only body runs the rest; the
// values are right throughout.
func TestBodyPlansBounded(t *testing.T) {
	node := func(op, name string, in []string, out string) *graph.Node {
		return &graph.Node{Name: name, OpType: op, Inputs: in, Outputs: []string{out}, Attrs: map[string]*graph.Attr{}}
	}
	nodes := []*graph.Node{node("Add", "acc", []string{"h_in", "x_t"}, "h_out"), node("Identity", "out", []string{"h_out"}, "y_t")}
	s, err := NewSession(scanModel(t, nodes, nil, 1), WithMode(ModeFloat), WithThreads(1))
	require.NoError(t, err)
	for round := 0; round < 2; round++ {
		for l := 1; l <= maxBodyPlans+4; l++ {
			x := graph.NewTensor(graph.Float32, []int{2, l})
			for i := range x.F32() {
				x.F32()[i] = float32(i)
			}
			out, err := s.RunTensors(map[string]*graph.Tensor{"h0": graph.FromFloat32([]int{2}, []float32{1, 2}), "x": x})
			require.NoError(t, err, "L=%d", l)
			h := []float32{1, 2}
			y := make([]float32, 2*l)
			for i := 0; i < l; i++ {
				h[0] += float32(i)
				h[1] += float32(l + i)
				y[2*i], y[2*i+1] = h[0], h[1]
			}
			assert.Equal(t, h, out["h"].F32(), "L=%d", l)
			assert.Equal(t, y, out["y"].F32(), "L=%d", l)
		}
	}
}
