package runtime

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// nodeCase is one single-node test: the node, its inputs, and either the expected
// outputs (nil entries are not checked) or a substring of the expected error.
type nodeCase struct {
	name    string
	opset   int64
	node    *graph.Node
	inputs  []*graph.Tensor
	want    []*graph.Tensor
	wantErr string
}

func runNodeCases(t *testing.T, cases []nodeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opset := tc.opset
			if opset == 0 {
				opset = 17
			}
			var got []*graph.Tensor
			var err error
			require.NotPanics(t, func() { got, err = runSingleNode(t, opset, tc.node, tc.inputs...) })
			if tc.wantErr != "" {
				require.Error(t, err)
				require.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			for i, w := range tc.want {
				if w != nil {
					require.NoError(t, CompareTensors(got[i], w, Tolerance{Rtol: 1e-6, Atol: 1e-7}), "output %d", i)
				}
			}
		})
	}
}

// mk builds a node with named inputs x0, x1, ... (empty strings stay empty) and
// outputs y0, y1, ...
func mk(op string, nin, nout int, attrs ...*graph.Attr) *graph.Node {
	n := &graph.Node{Name: "n", OpType: op, Attrs: map[string]*graph.Attr{}}
	for i := 0; i < nin; i++ {
		n.Inputs = append(n.Inputs, "x"+string(rune('0'+i)))
	}
	for i := 0; i < nout; i++ {
		n.Outputs = append(n.Outputs, "y"+string(rune('0'+i)))
	}
	for _, a := range attrs {
		n.Attrs[a.Name] = a
	}
	return n
}

func withEmptyInput(n *graph.Node, i int) *graph.Node {
	n.Inputs[i] = ""
	return n
}

func aInt(name string, v int64) *graph.Attr {
	return &graph.Attr{Name: name, Type: graph.AttrInt, I: v}
}
func aFloat(name string, v float32) *graph.Attr {
	return &graph.Attr{Name: name, Type: graph.AttrFloat, F: v}
}
func aInts(name string, v ...int64) *graph.Attr {
	return &graph.Attr{Name: name, Type: graph.AttrInts, Ints: v}
}
func aStr(name, v string) *graph.Attr { return &graph.Attr{Name: name, Type: graph.AttrString, S: v} }

func f32(shape []int, v ...float32) *graph.Tensor { return graph.FromFloat32(shape, v) }
func i64(shape []int, v ...int64) *graph.Tensor   { return graph.FromInt64(shape, v) }
func i32(shape []int, v ...int32) *graph.Tensor   { return graph.FromInt32(shape, v) }
func i8(shape []int, v ...int8) *graph.Tensor     { return graph.FromInt8(shape, v) }
func u8(shape []int, v ...uint8) *graph.Tensor    { return graph.FromUint8(shape, v) }
func bools(shape []int, v ...bool) *graph.Tensor {
	return &graph.Tensor{DType: graph.Bool, Shape: shape, Data: v}
}
func f16(shape []int, v ...float32) *graph.Tensor {
	return &graph.Tensor{DType: graph.Float16, Shape: shape, Data: f32ToF16Slice(v)}
}

func TestElementwiseOps(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	s := func(n int) []int { return []int{n} }
	runNodeCases(t, []nodeCase{
		{name: "Relu int8", node: mk("Relu", 1, 1), inputs: []*graph.Tensor{i8(s(3), -5, 0, 7)}, want: []*graph.Tensor{i8(s(3), 0, 0, 7)}},
		{name: "LeakyRelu default alpha", node: mk("LeakyRelu", 1, 1), inputs: []*graph.Tensor{f32(s(2), -10, 3)}, want: []*graph.Tensor{f32(s(2), -0.1, 3)}},
		{name: "Sigmoid extremes", node: mk("Sigmoid", 1, 1), inputs: []*graph.Tensor{f32(s(3), -1000, 0, 1000)}, want: []*graph.Tensor{f32(s(3), 0, 0.5, 1)}},
		{name: "Softplus large", node: mk("Softplus", 1, 1), inputs: []*graph.Tensor{f32(s(2), 100, -100)}, want: []*graph.Tensor{f32(s(2), 100, float32(math.Exp(-100)))}},
		{name: "Round half to even", node: mk("Round", 1, 1), inputs: []*graph.Tensor{f32(s(5), 0.5, 1.5, 2.5, -0.5, -2.5)}, want: []*graph.Tensor{f32(s(5), 0, 2, 2, 0, -2)}},
		{name: "Sign keeps NaN", node: mk("Sign", 1, 1), inputs: []*graph.Tensor{f32(s(4), -3, 0, 2, nan)}, want: []*graph.Tensor{f32(s(4), -1, 0, 1, nan)}},
		{name: "HardSwish", node: mk("HardSwish", 1, 1), inputs: []*graph.Tensor{f32(s(4), -4, -1, 1, 4)}, want: []*graph.Tensor{f32(s(4), 0, -1.0/3, 2.0/3, 4)}},
		{name: "Sqrt float16", node: mk("Sqrt", 1, 1), inputs: []*graph.Tensor{f16(s(2), 4, 2.25)}, want: []*graph.Tensor{f16(s(2), 2, 1.5)}},
		{name: "Sqrt of int is refused", node: mk("Sqrt", 1, 1), inputs: []*graph.Tensor{i32(s(1), 4)}, wantErr: `Sqrt "n"`},
		{name: "Clip opset 6 attributes", opset: 6, node: mk("Clip", 1, 1, aFloat("min", -1), aFloat("max", 2)), inputs: []*graph.Tensor{f32(s(4), -5, 0, 1.5, 9)}, want: []*graph.Tensor{f32(s(4), -1, 0, 1.5, 2)}},
		{name: "Clip opset 6 default bounds", opset: 6, node: mk("Clip", 1, 1, aFloat("max", 0)), inputs: []*graph.Tensor{f32(s(2), -5, 9)}, want: []*graph.Tensor{f32(s(2), -5, 0)}},
		{name: "Clip inputs, min absent", node: withEmptyInput(mk("Clip", 3, 1), 1), inputs: []*graph.Tensor{f32(s(3), -5, 1, 9), nil, f32(nil, 2)}, want: []*graph.Tensor{f32(s(3), -5, 1, 2)}},
		{name: "Clip int8 no bounds", node: mk("Clip", 1, 1), inputs: []*graph.Tensor{i8(s(2), -128, 127)}, want: []*graph.Tensor{i8(s(2), -128, 127)}},
		{name: "Clip min above max gives max", node: mk("Clip", 3, 1), inputs: []*graph.Tensor{f32(s(2), -5, 9), f32(nil, 3), f32(nil, 1)}, want: []*graph.Tensor{f32(s(2), 1, 1)}},
		{name: "Add broadcast", node: mk("Add", 2, 1), inputs: []*graph.Tensor{f32([]int{2, 2}, 1, 2, 3, 4), f32([]int{2, 1}, 10, 20)}, want: []*graph.Tensor{f32([]int{2, 2}, 11, 12, 23, 24)}},
		{name: "Add float16", node: mk("Add", 2, 1), inputs: []*graph.Tensor{f16(s(2), 1, 2), f16(s(2), 0.5, 0.25)}, want: []*graph.Tensor{f16(s(2), 1.5, 2.25)}},
		{name: "Add dtype mismatch", node: mk("Add", 2, 1), inputs: []*graph.Tensor{f32(s(1), 1), i64(s(1), 1)}, wantErr: "dtype mismatch"},
		{name: "Add shapes do not broadcast", node: mk("Add", 2, 1), inputs: []*graph.Tensor{f32(s(2), 1, 2), f32(s(3), 1, 2, 3)}, wantErr: "broadcast"},
		{name: "Div int truncates", node: mk("Div", 2, 1), inputs: []*graph.Tensor{i32(s(3), 7, -7, 7), i32(s(3), 2, 2, -2)}, want: []*graph.Tensor{i32(s(3), 3, -3, -3)}},
		{name: "Div int by zero", node: mk("Div", 2, 1), inputs: []*graph.Tensor{i32(s(2), 1, 2), i32(s(2), 1, 0)}, wantErr: "by zero"},
		{name: "Div float by zero", node: mk("Div", 2, 1), inputs: []*graph.Tensor{f32(s(2), 1, -1), f32(s(2), 0, 0)}, want: []*graph.Tensor{f32(s(2), inf, -inf)}},
		{name: "Mod python sign", node: mk("Mod", 2, 1), inputs: []*graph.Tensor{i64(s(4), -7, 7, -7, 7), i64(s(4), 3, -3, -3, 3)}, want: []*graph.Tensor{i64(s(4), 2, -2, -1, 1)}},
		{name: "Mod fmod", node: mk("Mod", 2, 1, aInt("fmod", 1)), inputs: []*graph.Tensor{i64(s(2), -7, 7), i64(s(2), 3, -3)}, want: []*graph.Tensor{i64(s(2), -1, 1)}},
		{name: "Mod float needs fmod", node: mk("Mod", 2, 1), inputs: []*graph.Tensor{f32(s(1), 1), f32(s(1), 1)}, wantErr: "fmod"},
		{name: "Mod by zero", node: mk("Mod", 2, 1), inputs: []*graph.Tensor{u8(s(1), 1), u8(s(1), 0)}, wantErr: "by zero"},
		{name: "Pow int64 exact", node: mk("Pow", 2, 1), inputs: []*graph.Tensor{i64(s(2), 3, -2), i64(s(2), 39, 3)}, want: []*graph.Tensor{i64(s(2), 4052555153018976267, -8)}},
		{name: "Pow float base int exponent", node: mk("Pow", 2, 1), inputs: []*graph.Tensor{f32(s(2), 2, 9), i64(s(2), 3, -1)}, want: []*graph.Tensor{f32(s(2), 8, 1.0/9)}},
		{name: "Pow int base float exponent", node: mk("Pow", 2, 1), inputs: []*graph.Tensor{i32(s(2), 9, 10), f32(s(2), 0.5, 0.5)}, want: []*graph.Tensor{i32(s(2), 3, 3)}},
		{name: "PRelu channel slope", node: mk("PRelu", 2, 1), inputs: []*graph.Tensor{f32([]int{1, 2, 2}, -1, 1, -1, 1), f32([]int{2, 1}, 0.5, 0.25)}, want: []*graph.Tensor{f32([]int{1, 2, 2}, -0.5, 1, -0.25, 1)}},
		{name: "Max NaN propagates", node: mk("Max", 2, 1), inputs: []*graph.Tensor{f32(s(2), nan, 1), f32(s(2), 1, nan)}, want: []*graph.Tensor{f32(s(2), nan, nan)}},
		{name: "Min three inputs broadcast", node: mk("Min", 3, 1), inputs: []*graph.Tensor{f32(s(3), 5, 1, 7), f32(nil, 4), f32([]int{2, 1}, 6, 0)}, want: []*graph.Tensor{f32([]int{2, 3}, 4, 1, 4, 0, 0, 0)}},
		{name: "Mean", node: mk("Mean", 3, 1), inputs: []*graph.Tensor{f32(s(2), 1, 2), f32(s(2), 3, 4), f32(s(2), 5, 9)}, want: []*graph.Tensor{f32(s(2), 3, 5)}},
		{name: "Sum one input", node: mk("Sum", 1, 1), inputs: []*graph.Tensor{f32(s(2), 1, 2)}, want: []*graph.Tensor{f32(s(2), 1, 2)}},
		{name: "Equal bool", node: mk("Equal", 2, 1), inputs: []*graph.Tensor{bools(s(2), true, false), bools(nil, true)}, want: []*graph.Tensor{bools(s(2), true, false)}},
		{name: "LessOrEqual int", node: mk("LessOrEqual", 2, 1), inputs: []*graph.Tensor{i64(s(3), 1, 2, 3), i64(nil, 2)}, want: []*graph.Tensor{bools(s(3), true, true, false)}},
		{name: "Xor broadcast", node: mk("Xor", 2, 1), inputs: []*graph.Tensor{bools([]int{2, 1}, true, false), bools(s(2), true, false)}, want: []*graph.Tensor{bools([]int{2, 2}, false, true, true, false)}},
		{name: "Not", node: mk("Not", 1, 1), inputs: []*graph.Tensor{bools(s(2), true, false)}, want: []*graph.Tensor{bools(s(2), false, true)}},
		{name: "Where broadcast", node: mk("Where", 3, 1), inputs: []*graph.Tensor{bools([]int{2, 1}, true, false), i64(s(2), 1, 2), i64(nil, 9)}, want: []*graph.Tensor{i64([]int{2, 2}, 1, 2, 9, 9)}},
		{name: "Where condition not bool", node: mk("Where", 3, 1), inputs: []*graph.Tensor{f32(s(1), 1), f32(s(1), 1), f32(s(1), 2)}, wantErr: "bool"},
		{name: "IsInf negative only", node: mk("IsInf", 1, 1, aInt("detect_positive", 0)), inputs: []*graph.Tensor{f32(s(3), inf, -inf, nan)}, want: []*graph.Tensor{bools(s(3), false, true, false)}},
		{name: "BitShift left", node: mk("BitShift", 2, 1, aStr("direction", "LEFT")), inputs: []*graph.Tensor{u8(s(2), 1, 3), u8(s(2), 7, 1)}, want: []*graph.Tensor{u8(s(2), 128, 6)}},
		{name: "BitShift bad direction", node: mk("BitShift", 2, 1, aStr("direction", "UP")), inputs: []*graph.Tensor{u8(s(1), 1), u8(s(1), 1)}, wantErr: "direction"},
		{name: "Identity", node: mk("Identity", 1, 1), inputs: []*graph.Tensor{i64(s(2), 4, 5)}, want: []*graph.Tensor{i64(s(2), 4, 5)}},
		{name: "unsupported attribute", node: mk("Relu", 1, 1, aInt("bogus", 1)), inputs: []*graph.Tensor{f32(s(1), 1)}, wantErr: "bogus"},
	})
}

func TestCast(t *testing.T) {
	s := func(n int) []int { return []int{n} }
	to := func(dt graph.DType) *graph.Attr { return aInt("to", int64(dt)) }
	runNodeCases(t, []nodeCase{
		{name: "float to int truncates", node: mk("Cast", 1, 1, to(graph.Int32)), inputs: []*graph.Tensor{f32(s(4), 1.9, -1.9, 0.5, -0.5)}, want: []*graph.Tensor{i32(s(4), 1, -1, 0, 0)}},
		{name: "float to bool", node: mk("Cast", 1, 1, to(graph.Bool)), inputs: []*graph.Tensor{f32(s(3), 0, -0.1, float32(math.NaN()))}, want: []*graph.Tensor{bools(s(3), false, true, true)}},
		{name: "bool to float", node: mk("Cast", 1, 1, to(graph.Float32)), inputs: []*graph.Tensor{bools(s(2), true, false)}, want: []*graph.Tensor{f32(s(2), 1, 0)}},
		{name: "int64 to int8 wraps", node: mk("Cast", 1, 1, to(graph.Int8)), inputs: []*graph.Tensor{i64(s(2), 300, -129)}, want: []*graph.Tensor{i8(s(2), 44, 127)}},
		{name: "int64 to float16", node: mk("Cast", 1, 1, to(graph.Float16)), inputs: []*graph.Tensor{i64(s(2), 2049, 100000)}, want: []*graph.Tensor{f16(s(2), 2048, float32(math.Inf(1)))}},
		{name: "float16 to int64", node: mk("Cast", 1, 1, to(graph.Int64)), inputs: []*graph.Tensor{f16(s(2), 1.5, -1024)}, want: []*graph.Tensor{i64(s(2), 1, -1024)}},
		{name: "large int64 to double is exact where representable", node: mk("Cast", 1, 1, to(graph.Float64)), inputs: []*graph.Tensor{i64(s(1), 1<<53)}, want: []*graph.Tensor{{DType: graph.Float64, Shape: s(1), Data: []float64{1 << 53}}}},
		{name: "same type", node: mk("Cast", 1, 1, to(graph.Float32)), inputs: []*graph.Tensor{f32(s(1), 2)}, want: []*graph.Tensor{f32(s(1), 2)}},
		{name: "missing to", node: mk("Cast", 1, 1), inputs: []*graph.Tensor{f32(s(1), 2)}, wantErr: "'to'"},
		{name: "to string is unsupported", node: mk("Cast", 1, 1, to(graph.String)), inputs: []*graph.Tensor{f32(s(1), 2)}, wantErr: "unsupported"},
		{name: "CastLike", opset: 15, node: mk("CastLike", 2, 1), inputs: []*graph.Tensor{f32(s(2), 1.5, -3), i64(s(1), 0)}, want: []*graph.Tensor{i64(s(2), 1, -3)}},
	})
}

func TestDropout(t *testing.T) {
	x := f32([]int{2, 2}, 1, 2, 3, 4)
	runNodeCases(t, []nodeCase{
		{name: "opset 7 inference with mask", opset: 7, node: mk("Dropout", 1, 2, aFloat("ratio", 0.3)), inputs: []*graph.Tensor{x}, want: []*graph.Tensor{x, f32([]int{2, 2}, 1, 1, 1, 1)}},
		{name: "opset 10 bool mask", opset: 10, node: mk("Dropout", 1, 2), inputs: []*graph.Tensor{x}, want: []*graph.Tensor{x, bools([]int{2, 2}, true, true, true, true)}},
		{name: "opset 13 not training", opset: 13, node: mk("Dropout", 3, 1), inputs: []*graph.Tensor{x, f32(nil, 0.5), bools(nil, false)}, want: []*graph.Tensor{x}},
		{name: "training with zero ratio", opset: 13, node: mk("Dropout", 3, 2, aInt("seed", 1)), inputs: []*graph.Tensor{x, f32(nil, 0), bools(nil, true)}, want: []*graph.Tensor{x, bools([]int{2, 2}, true, true, true, true)}},
		// numpy: seed 0 draws 0.549, 0.715, 0.603, 0.545 >= 0.6 -> keep elements 1 and 2, scaled by 2.5.
		{name: "training seeded like numpy", opset: 13, node: mk("Dropout", 3, 2, aInt("seed", 0)), inputs: []*graph.Tensor{x, f32(nil, 0.6), bools(nil, true)},
			want: []*graph.Tensor{f32([]int{2, 2}, 0, 5, 7.5, 0), bools([]int{2, 2}, false, true, true, false)}},
		{name: "ratio out of range", opset: 13, node: mk("Dropout", 3, 1), inputs: []*graph.Tensor{x, f32(nil, 1), bools(nil, true)}, wantErr: "ratio"},
	})
}

// Benchmarks of the kernels that sit between convolutions in CNNs. b.SetBytes counts
// the float32 elements of the output, so MB/s reads as output bandwidth.

func benchKernel(b *testing.B, n *graph.Node, opset int64, inputs ...*graph.Tensor) {
	bc := &BuildContext{Node: n, Opset: opset, Threads: 1}
	for _, in := range inputs {
		bc.Inputs = append(bc.Inputs, &graph.Value{DType: in.DType, Shape: graph.ShapeOf(in.Shape...), HasShape: true})
		bc.Consts = append(bc.Consts, nil)
	}
	info := Lookup("", n.OpType)
	k, err := info.Build(bc)
	require.NoError(b, err)
	ctx := &ExecContext{Threads: 1}
	out, err := k.Run(ctx, inputs)
	require.NoError(b, err)
	b.SetBytes(int64(4 * out[0].Len()))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := k.Run(ctx, inputs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAddChannelBias(b *testing.B) {
	x := graph.NewTensor(graph.Float32, []int{1, 64, 56, 56})
	bias := graph.NewTensor(graph.Float32, []int{64, 1, 1})
	benchKernel(b, mk("Add", 2, 1), 13, x, bias)
}

func BenchmarkAddSameShape(b *testing.B) {
	x := graph.NewTensor(graph.Float32, []int{1, 64, 56, 56})
	benchKernel(b, mk("Add", 2, 1), 13, x, x)
}

func BenchmarkRelu(b *testing.B) {
	x := graph.NewTensor(graph.Float32, []int{1, 64, 56, 56})
	benchKernel(b, mk("Relu", 1, 1), 13, x)
}

func BenchmarkSigmoid(b *testing.B) {
	x := graph.NewTensor(graph.Float32, []int{1, 64, 56, 56})
	benchKernel(b, mk("Sigmoid", 1, 1), 13, x)
}

func BenchmarkTransposeNCHWToNHWC(b *testing.B) {
	x := graph.NewTensor(graph.Float32, []int{1, 64, 56, 56})
	benchKernel(b, mk("Transpose", 1, 1, aInts("perm", 0, 2, 3, 1)), 13, x)
}

func BenchmarkQuantizeLinear(b *testing.B) {
	x := graph.NewTensor(graph.Float32, []int{1, 64, 56, 56})
	benchKernel(b, mk("QuantizeLinear", 3, 1), 13, x, graph.ScalarFloat32(0.02), graph.FromInt8(nil, []int8{3}))
}
