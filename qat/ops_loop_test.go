package qat

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

func bodyGraph(name string, nodes []*graph.Node, ins, outs []*graph.Value) *graph.Attr {
	return &graph.Attr{Name: name, Type: graph.AttrGraph, G: &graph.Graph{Name: name, Nodes: nodes, Inputs: ins, Outputs: outs,
		Initializers: map[string]*graph.Tensor{}, Values: map[string]*graph.Value{}}}
}

func fval(name string) *graph.Value { return &graph.Value{Name: name, DType: graph.Float32} }

// recurrenceModel is a scripted recurrence over the 3 steps of x [N, 3, 4]:
// h ← tanh(h·W + x[:, i]) from h = mean over steps, the Loop's final h and its
// scan of every step's h (averaged) summed into y. W, an initializer of the
// enclosing graph, is read inside the body. withCond adds a condition the body
// keeps true (i + 1 < 5: the trip count ends the loop).
func recurrenceModel(rng *rand.Rand, withCond bool) tinyModel {
	body := []*graph.Node{
		node("Gather", []string{"x", "i"}, "xi", intAttr("axis", 1)),
		node("MatMul", []string{"h", "W"}, "hw"),
		node("Add", []string{"hw", "xi"}, "a"),
		node("Tanh", []string{"a"}, "h2"),
		node("Identity", []string{"h2"}, "s"),
	}
	cond := ""
	condOut := "c"
	if withCond {
		cond = "true0"
		body = append(body, node("Add", []string{"i", "one"}, "i1"), node("Less", []string{"i1", "five"}, "c2"))
		condOut = "c2"
	}
	loop := multiNode("Loop", []string{"M", cond, "h0"}, []string{"hT", "hs"})
	loop.Name = "rec"
	loop.Attrs["body"] = bodyGraph("body", body,
		[]*graph.Value{{Name: "i", DType: graph.Int64}, {Name: "c", DType: graph.Bool}, fval("h")},
		[]*graph.Value{{Name: condOut, DType: graph.Bool}, fval("h2"), fval("s")})
	return tinyModel{[]int{3, 4}, []*graph.Node{
		node("ReduceMean", []string{"x"}, "h0", ints("axes", 1), intAttr("keepdims", 0)),
		loop,
		node("ReduceMean", []string{"hs"}, "m", ints("axes", 0), intAttr("keepdims", 0)),
		node("Add", []string{"hT", "m"}, "y"),
	}, map[string]*graph.Tensor{
		"W": randTensor(rng, 0.6, 4, 4), "M": graph.FromInt64(nil, []int64{3}),
		"true0": {DType: graph.Bool, Shape: []int{}, Data: []bool{true}},
		"one":   graph.FromInt64(nil, []int64{1}), "five": graph.FromInt64(nil, []int64{5}),
	}}
}

// TestLoopGradients: a Loop whose body reads activations computes what the
// runtime computes, and its gradients (through the carried value, the scan
// output, the enclosing activation and the weight the body reads) match finite
// differences; with a condition, and an If whose branch reads an activation.
func TestLoopGradients(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	t.Run("trip count", func(t *testing.T) { checkOpCase(t, recurrenceModel(rng, false)) })
	t.Run("trip count and condition", func(t *testing.T) { checkOpCase(t, recurrenceModel(rng, true)) })
}

// TestLoopTrainsAndExports: the recurrence trains with fake quantization around
// it (the body stays float32, as both executors run it), and the written model's
// int8 output is what training computed.
func TestLoopTrainsAndExports(t *testing.T) {
	rng := rand.New(rand.NewSource(12))
	m := recurrenceModel(rng, true)
	m.nodes = append([]*graph.Node{node("MatMul", []string{"x", "V"}, "xv")}, m.nodes...)
	m.nodes[1].Inputs[0] = "xv"
	m.nodes[2].Attrs["body"].G.Nodes[0].Inputs[0] = "xv"
	m.inits["V"] = randTensor(rng, 0.6, 4, 4)
	n := trainAndCheckExport(t, m.model(), []int{3, 4}, 4, 13, rng)
	require.NotNil(t, n.byName["W"], "the body's weight trains")
	require.NotNil(t, n.byName["V"])
}

// scanModel is a Scan over the 3 steps of x [N, 3, 4] (axis 1): h ← tanh(h·W +
// x_t), each step's 2·h stacked on output axis outAxis, the first slice of which
// multiplies the last state; reverse runs the steps
// (and writes the outputs) from the last to the first.
func scanModel(rng *rand.Rand, reverse int64, outAxis int64) tinyModel {
	body := []*graph.Node{
		node("MatMul", []string{"h", "W"}, "hw"),
		node("Add", []string{"hw", "xt"}, "a"),
		node("Tanh", []string{"a"}, "h2"),
		node("Mul", []string{"h2", "two"}, "yt"),
	}
	scan := multiNode("Scan", []string{"h0", "x"}, []string{"hT", "ys"}, intAttr("num_scan_inputs", 1),
		ints("scan_input_axes", 1), ints("scan_input_directions", reverse), ints("scan_output_axes", outAxis), ints("scan_output_directions", reverse))
	scan.Name = "scan"
	scan.Attrs["body"] = bodyGraph("body", body, []*graph.Value{fval("h"), fval("xt")}, []*graph.Value{fval("h2"), fval("yt")})
	return tinyModel{[]int{3, 4}, []*graph.Node{
		node("ReduceMean", []string{"x"}, "h0", ints("axes", 1), intAttr("keepdims", 0)),
		scan,
		node("Gather", []string{"ys", "first"}, "m", intAttr("axis", outAxis)), // where the steps land matters
		node("Mul", []string{"hT", "m"}, "y"),
	}, map[string]*graph.Tensor{"W": randTensor(rng, 0.6, 4, 4), "two": graph.ScalarFloat32(2), "first": graph.FromInt64(nil, []int64{0})}}
}

// TestScanGradients: a Scan whose body reads a weight computes what the runtime
// computes, forward and reverse, its outputs stacked on either axis, and its
// gradients match finite differences.
func TestScanGradients(t *testing.T) {
	rng := rand.New(rand.NewSource(14))
	for _, tc := range []struct {
		name          string
		reverse, axis int64
	}{{"forward, output axis 1", 0, 1}, {"reverse, output axis 0", 1, 0}} {
		t.Run(tc.name, func(t *testing.T) { checkOpCase(t, scanModel(rng, tc.reverse, tc.axis)) })
	}
}

// TestTorchScriptLoopGradients runs a network scripted with torch.jit.script and
// written by torch.onnx (scripts/make_qat_loop_testdata.py: a recurrence whose
// states are appended to a list and stacked, a loop over the input's width that
// slices it at the iteration number, a data-dependent if) and compares the float
// forward pass and the gradients of the cross-entropy with respect to the input
// and to every weight, the loops' and the branches' included, with PyTorch's
// autograd.
func TestTorchScriptLoopGradients(t *testing.T) {
	n, ref := checkTorchReference(t, "torch_script_loops", 4)
	require.Len(t, ref.ParamGrads, 8)
	for name, want := range ref.ParamGrads {
		p := n.byName[name]
		require.NotNil(t, p, name)
		requireNearTorch(t, "d loss / d "+name, want, p.G)
	}
}

// TestDFTGradients: DFT (opsets 17 and 20) of a real or complex signal, forward
// or inverse, one- or two-sided, padded or truncated to dft_length, on an axis
// with values after it, computes what the runtime computes, and its gradient
// (the adjoint transform) matches finite differences.
func TestDFTGradients(t *testing.T) {
	l := func(v int64) *graph.Tensor { return graph.FromInt64(nil, []int64{v}) }
	for _, tc := range []struct {
		name  string
		opset int64
		in    []int
		node  *graph.Node
		inits map[string]*graph.Tensor
	}{
		{"real, one-sided", 17, []int{8, 1}, node("DFT", []string{"x"}, "y", intAttr("onesided", 1)), nil},
		{"complex, inverse", 17, []int{8, 2}, node("DFT", []string{"x"}, "y", intAttr("inverse", 1)), nil},
		{"real, truncated to 6", 17, []int{8, 1}, node("DFT", []string{"x", "L"}, "y"), map[string]*graph.Tensor{"L": l(6)}},
		{"real, padded to 10, one-sided", 17, []int{8, 1}, node("DFT", []string{"x", "L"}, "y", intAttr("onesided", 1)), map[string]*graph.Tensor{"L": l(10)}},
		{"complex, padded to 10", 17, []int{8, 2}, node("DFT", []string{"x", "L"}, "y"), map[string]*graph.Tensor{"L": l(10)}},
		{"values after the axis", 17, []int{4, 3, 2}, node("DFT", []string{"x"}, "y", intAttr("axis", 1)), nil},
		{"opset 20, axis input", 20, []int{3, 4, 1}, node("DFT", []string{"x", "", "ax"}, "y"), map[string]*graph.Tensor{"ax": l(2)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// a weight in front: a DFT that none feeds is data
			m := weightFirst(tinyModel{tc.in, []*graph.Node{tc.node}, tc.inits}.model(), tc.in[len(tc.in)-1])
			m.Opsets[""] = tc.opset
			n, err := New(m, Config{FloatOnly: true, Threads: 1})
			require.NoError(t, err)
			checkForwardMatchesRuntime(t, m, n, 3)
			checkGrads(t, n, 3, false)
		})
	}
}

// TestNestedControlFlowGradients: a Loop whose body holds an If (picked by the
// iteration number: even steps one branch, odd the other) and a Loop of its own
// (two inner steps per outer one), so that the backward pass runs the inner
// program again inside each outer iteration it runs again; forward against the
// runtime, gradients against finite differences.
func TestNestedControlFlowGradients(t *testing.T) {
	rng := rand.New(rand.NewSource(16))
	then := bodyGraph("then_branch", []*graph.Node{node("MatMul", []string{"h", "W"}, "tw"), node("Tanh", []string{"tw"}, "tb")}, nil, []*graph.Value{fval("tb")})
	els := bodyGraph("else_branch", []*graph.Node{node("Mul", []string{"h", "half"}, "eb")}, nil, []*graph.Value{fval("eb")})
	ifNode := node("If", []string{"even"}, "hb")
	ifNode.Attrs["then_branch"], ifNode.Attrs["else_branch"] = then, els
	inner := multiNode("Loop", []string{"two", "", "hb"}, []string{"hi"})
	inner.Name = "inner"
	inner.Attrs["body"] = bodyGraph("inner_body", []*graph.Node{
		node("MatMul", []string{"g", "V"}, "gv"), node("Add", []string{"gv", "g"}, "ga"), node("Tanh", []string{"ga"}, "g2"),
		node("Identity", []string{"ic"}, "ic2"),
	}, []*graph.Value{{Name: "j", DType: graph.Int64}, {Name: "ic", DType: graph.Bool}, fval("g")},
		[]*graph.Value{{Name: "ic2", DType: graph.Bool}, fval("g2")})
	outerBody := []*graph.Node{
		node("Mod", []string{"i", "twoi"}, "par"), node("Equal", []string{"par", "zero"}, "even"),
		ifNode, inner,
		node("Gather", []string{"x", "i"}, "xi", intAttr("axis", 1)),
		node("Add", []string{"hi", "xi"}, "h2"),
		node("Identity", []string{"c"}, "c2"),
	}
	loop := multiNode("Loop", []string{"M", "", "h0"}, []string{"hT"})
	loop.Name = "outer"
	loop.Attrs["body"] = bodyGraph("outer_body", outerBody,
		[]*graph.Value{{Name: "i", DType: graph.Int64}, {Name: "c", DType: graph.Bool}, fval("h")},
		[]*graph.Value{{Name: "c2", DType: graph.Bool}, fval("h2")})
	m := tinyModel{[]int{3, 4}, []*graph.Node{
		node("ReduceMean", []string{"x"}, "h0", ints("axes", 1), intAttr("keepdims", 0)),
		loop,
		node("Mul", []string{"hT", "hT"}, "y"),
	}, map[string]*graph.Tensor{
		"W": randTensor(rng, 0.7, 4, 4), "V": randTensor(rng, 0.7, 4, 4),
		"M": graph.FromInt64(nil, []int64{3}), "two": graph.FromInt64(nil, []int64{2}), "twoi": graph.FromInt64(nil, []int64{2}),
		"zero": graph.FromInt64(nil, []int64{0}), "half": graph.ScalarFloat32(0.5),
	}}
	checkOpCase(t, m)
}
