package graph

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/warboy-sim/warboy/onnx"
	"github.com/warboy-sim/warboy/onnx/onnxpb"
)

// Builders for small protobuf models.

func tensorVI(name string, dt DType, dims ...int64) *onnxpb.ValueInfoProto {
	sh := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		sh.Dim = append(sh.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	return &onnxpb.ValueInfoProto{
		Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(dt)), Shape: sh}}},
	}
}

func nodeP(op string, in, out []string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{OpType: proto.String(op), Input: in, Output: out, Name: proto.String(op + "_" + out[0]), Attribute: attrs}
}

func floatInit(name string, dims []int64, vals ...float32) *onnxpb.TensorProto {
	return &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(Float32)), Dims: dims, FloatData: vals}
}

func modelP(nodes []*onnxpb.NodeProto, inputs, outputs []*onnxpb.ValueInfoProto, inits ...*onnxpb.TensorProto) *onnxpb.ModelProto {
	return &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph: &onnxpb.GraphProto{
			Name: proto.String("g"), Node: nodes, Input: inputs, Output: outputs, Initializer: inits,
		},
	}
}

func encodeP(t *testing.T, m *onnxpb.ModelProto) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	require.NoError(t, err)
	return b
}

// loadAndValidate is what every entry point does with a model file.
func loadAndValidate(data []byte) error {
	m, err := Decode(data)
	if err != nil {
		return err
	}
	return m.Validate(NoFold{})
}

// TestMalformedModels checks that every kind of broken model is refused with an error
// that says what is wrong, and never panics.
func TestMalformedModels(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("..", "testdata", "models", "fmnist_mlp.onnx"))
	require.NoError(t, err)
	x := tensorVI("x", Float32, 2, 3)
	y := tensorVI("y", Float32, 2, 3)
	relu := func(in, out string) *onnxpb.NodeProto { return nodeP("Relu", []string{in}, []string{out}) }

	cases := []struct {
		name string
		data func(t *testing.T) []byte
		// want are substrings the error must contain.
		want []string
		// malformed: the error must wrap onnx.ErrMalformed.
		malformed bool
	}{
		{
			name: "empty file",
			data: func(t *testing.T) []byte { return nil },
			want: []string{"empty file"}, malformed: true,
		},
		{
			name: "truncated protobuf",
			data: func(t *testing.T) []byte { return good[:len(good)/2] },
			want: []string{"protobuf"}, malformed: true,
		},
		{
			name: "truncated by one byte",
			data: func(t *testing.T) []byte { return good[:len(good)-1] },
			want: []string{"protobuf"}, malformed: true,
		},
		{
			name:      "not a model",
			data:      func(t *testing.T) []byte { return []byte("this is a text file, not an ONNX model\n") },
			malformed: true,
		},
		{
			name: "tensor of 2^40 elements",
			data: func(t *testing.T) []byte {
				// Declares 2^40 floats (4 TiB) without carrying them: refused from the
				// declared shape, before anything is allocated.
				big := &onnxpb.TensorProto{Name: proto.String("w"), DataType: proto.Int32(int32(Float32)), Dims: []int64{1 << 20, 1 << 20}}
				return encodeP(t, modelP([]*onnxpb.NodeProto{nodeP("Add", []string{"x", "w"}, []string{"y"})}, []*onnxpb.ValueInfoProto{x}, []*onnxpb.ValueInfoProto{y}, big))
			},
			want: []string{`"w"`, "elements"}, malformed: true,
		},
		{
			name: "Constant attribute of 2^40 elements",
			data: func(t *testing.T) []byte {
				big := &onnxpb.TensorProto{DataType: proto.Int32(int32(Float32)), Dims: []int64{1 << 40}}
				c := nodeP("Constant", nil, []string{"c"}, &onnxpb.AttributeProto{Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: big})
				return encodeP(t, modelP([]*onnxpb.NodeProto{c, nodeP("Add", []string{"x", "c"}, []string{"y"})}, []*onnxpb.ValueInfoProto{x}, []*onnxpb.ValueInfoProto{y}))
			},
			want: []string{"attribute value", "elements"}, malformed: true,
		},
		{
			name: "tensor attribute without a tensor",
			data: func(t *testing.T) []byte {
				// Found by FuzzLoad: this used to dereference a nil tensor.
				c := nodeP("Constant", nil, []string{"c"}, &onnxpb.AttributeProto{Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum()})
				return encodeP(t, modelP([]*onnxpb.NodeProto{c, nodeP("Add", []string{"x", "c"}, []string{"y"})}, []*onnxpb.ValueInfoProto{x}, []*onnxpb.ValueInfoProto{y}))
			},
			want: []string{`"value"`, "missing tensor"}, malformed: true,
		},
		{
			name: "negative dimension",
			data: func(t *testing.T) []byte {
				w := &onnxpb.TensorProto{Name: proto.String("w"), DataType: proto.Int32(int32(Float32)), Dims: []int64{-3}}
				return encodeP(t, modelP([]*onnxpb.NodeProto{nodeP("Add", []string{"x", "w"}, []string{"y"})}, []*onnxpb.ValueInfoProto{x}, []*onnxpb.ValueInfoProto{y}, w))
			},
			want: []string{"negative dimension"}, malformed: true,
		},
		{
			name: "raw data shorter than the shape",
			data: func(t *testing.T) []byte {
				w := &onnxpb.TensorProto{Name: proto.String("w"), DataType: proto.Int32(int32(Float32)), Dims: []int64{2, 3}, RawData: make([]byte, 8)}
				return encodeP(t, modelP([]*onnxpb.NodeProto{nodeP("Add", []string{"x", "w"}, []string{"y"})}, []*onnxpb.ValueInfoProto{x}, []*onnxpb.ValueInfoProto{y}, w))
			},
			want: []string{`"w"`, "raw_data has 8 bytes"}, malformed: true,
		},
		{
			name: "typed data shorter than the shape",
			data: func(t *testing.T) []byte {
				w := floatInit("w", []int64{2, 3}, 1, 2)
				return encodeP(t, modelP([]*onnxpb.NodeProto{nodeP("Add", []string{"x", "w"}, []string{"y"})}, []*onnxpb.ValueInfoProto{x}, []*onnxpb.ValueInfoProto{y}, w))
			},
			want: []string{`"w"`, "needs 6 elements"},
		},
		{
			name: "unknown data type",
			data: func(t *testing.T) []byte {
				w := &onnxpb.TensorProto{Name: proto.String("w"), DataType: proto.Int32(99), Dims: []int64{1}, RawData: []byte{1, 2, 3, 4}}
				return encodeP(t, modelP([]*onnxpb.NodeProto{nodeP("Add", []string{"x", "w"}, []string{"y"})}, []*onnxpb.ValueInfoProto{x}, []*onnxpb.ValueInfoProto{y}, w))
			},
			want: []string{`"w"`, "data type"},
		},
		{
			name: "operand dtypes differ",
			data: func(t *testing.T) []byte {
				w := &onnxpb.TensorProto{Name: proto.String("w"), DataType: proto.Int32(int32(Int64)), Dims: []int64{3}, Int64Data: []int64{1, 2, 3}}
				return encodeP(t, modelP([]*onnxpb.NodeProto{nodeP("Add", []string{"x", "w"}, []string{"y"})}, []*onnxpb.ValueInfoProto{x}, []*onnxpb.ValueInfoProto{y}, w))
			},
			want: []string{`Add "Add_y"`, "dtype mismatch", "int64", "float32"},
		},
		{
			name: "declared output dtype differs from the computed one",
			data: func(t *testing.T) []byte {
				yi := tensorVI("y", Int64, 2, 3)
				return encodeP(t, modelP([]*onnxpb.NodeProto{relu("x", "y")}, []*onnxpb.ValueInfoProto{x}, []*onnxpb.ValueInfoProto{yi}))
			},
			want: []string{`"y"`, "dtype mismatch"},
		},
		{
			name: "operator input of the wrong type",
			data: func(t *testing.T) []byte {
				b := tensorVI("x", Bool, 2, 3)
				return encodeP(t, modelP([]*onnxpb.NodeProto{nodeP("Sqrt", []string{"x"}, []string{"y"})}, []*onnxpb.ValueInfoProto{b}, []*onnxpb.ValueInfoProto{y}))
			},
			want: []string{`Sqrt "Sqrt_y"`, "bool"},
		},
		{
			name: "shapes that do not broadcast",
			data: func(t *testing.T) []byte {
				w := floatInit("w", []int64{4}, 1, 2, 3, 4)
				return encodeP(t, modelP([]*onnxpb.NodeProto{nodeP("Mul", []string{"x", "w"}, []string{"y"})}, []*onnxpb.ValueInfoProto{x}, []*onnxpb.ValueInfoProto{y}, w))
			},
			want: []string{`Mul "Mul_y"`, "broadcast"},
		},
		{
			name: "cycle",
			data: func(t *testing.T) []byte {
				nodes := []*onnxpb.NodeProto{
					nodeP("Add", []string{"x", "b"}, []string{"a"}),
					nodeP("Relu", []string{"a"}, []string{"b"}),
					relu("a", "y"),
				}
				return encodeP(t, modelP(nodes, []*onnxpb.ValueInfoProto{x}, []*onnxpb.ValueInfoProto{y}))
			},
			want: []string{"cycle", `Add "Add_a"`, `Relu "Relu_b"`},
		},
		{
			name: "dangling input",
			data: func(t *testing.T) []byte {
				return encodeP(t, modelP([]*onnxpb.NodeProto{nodeP("Add", []string{"x", "nowhere"}, []string{"y"})}, []*onnxpb.ValueInfoProto{x}, []*onnxpb.ValueInfoProto{y}))
			},
			want: []string{`Add "Add_y"`, `"nowhere"`, "dangling"},
		},
		{
			name: "missing initializer",
			data: func(t *testing.T) []byte {
				// A node reads a weight that is neither an initializer nor a graph
				// input (a file saved without its weights, say).
				m := modelP([]*onnxpb.NodeProto{nodeP("Mul", []string{"x", "fc.weight"}, []string{"y"})}, []*onnxpb.ValueInfoProto{x}, []*onnxpb.ValueInfoProto{y})
				return encodeP(t, m)
			},
			want: []string{`Mul "Mul_y"`, `"fc.weight"`},
		},
		{
			name: "value produced twice",
			data: func(t *testing.T) []byte {
				return encodeP(t, modelP([]*onnxpb.NodeProto{relu("x", "y"), nodeP("Neg", []string{"x"}, []string{"y"})}, []*onnxpb.ValueInfoProto{x}, []*onnxpb.ValueInfoProto{y}))
			},
			want: []string{`"y"`, "produced twice", `Relu "Relu_y"`, `Neg "Neg_y"`},
		},
		{
			name: "node output shadows a graph input",
			data: func(t *testing.T) []byte {
				return encodeP(t, modelP([]*onnxpb.NodeProto{relu("x", "x"), relu("x", "y")}, []*onnxpb.ValueInfoProto{x}, []*onnxpb.ValueInfoProto{y}))
			},
			want: []string{`"x"`, "shadows"},
		},
		{
			name: "graph output never produced",
			data: func(t *testing.T) []byte {
				return encodeP(t, modelP([]*onnxpb.NodeProto{relu("x", "z")}, []*onnxpb.ValueInfoProto{x}, []*onnxpb.ValueInfoProto{y}))
			},
			want: []string{`"y"`, "not produced"},
		},
		{
			name: "unsupported operator",
			data: func(t *testing.T) []byte {
				return encodeP(t, modelP([]*onnxpb.NodeProto{nodeP("FancyOp", []string{"x"}, []string{"y"})}, []*onnxpb.ValueInfoProto{x}, []*onnxpb.ValueInfoProto{y}))
			},
			want: []string{"FancyOp", "unsupported operator"},
		},
		{
			name: "unsupported attribute",
			data: func(t *testing.T) []byte {
				a := &onnxpb.AttributeProto{Name: proto.String("bogus"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(1)}
				return encodeP(t, modelP([]*onnxpb.NodeProto{nodeP("Relu", []string{"x"}, []string{"y"}, a)}, []*onnxpb.ValueInfoProto{x}, []*onnxpb.ValueInfoProto{y}))
			},
			want: []string{`Relu "Relu_y"`, "unsupported attribute", "bogus"},
		},
		{
			name: "attribute out of range",
			data: func(t *testing.T) []byte {
				a := &onnxpb.AttributeProto{Name: proto.String("axis"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(5)}
				return encodeP(t, modelP([]*onnxpb.NodeProto{nodeP("Flatten", []string{"x"}, []string{"y"}, a)}, []*onnxpb.ValueInfoProto{x}, []*onnxpb.ValueInfoProto{tensorVI("y", Float32, 6, 1)}))
			},
			want: []string{`Flatten "Flatten_y"`, "axis 5"},
		},
		{
			name: "impossible reshape",
			data: func(t *testing.T) []byte {
				s := &onnxpb.TensorProto{Name: proto.String("s"), DataType: proto.Int32(int32(Int64)), Dims: []int64{2}, Int64Data: []int64{4, 4}}
				return encodeP(t, modelP([]*onnxpb.NodeProto{nodeP("Reshape", []string{"x", "s"}, []string{"y"})}, []*onnxpb.ValueInfoProto{x}, []*onnxpb.ValueInfoProto{tensorVI("y", Float32, 4, 4)}, s))
			},
			want: []string{`Reshape "Reshape_y"`, "cannot reshape"},
		},
		{
			name: "missing required input",
			data: func(t *testing.T) []byte {
				return encodeP(t, modelP([]*onnxpb.NodeProto{nodeP("Add", []string{"x"}, []string{"y"})}, []*onnxpb.ValueInfoProto{x}, []*onnxpb.ValueInfoProto{y}))
			},
			want: []string{`Add "Add_y"`, "expects 2 inputs"},
		},
		{
			name: "node without op_type",
			data: func(t *testing.T) []byte {
				n := nodeP("Relu", []string{"x"}, []string{"y"})
				n.OpType = nil
				return encodeP(t, modelP([]*onnxpb.NodeProto{n}, []*onnxpb.ValueInfoProto{x}, []*onnxpb.ValueInfoProto{y}))
			},
			want: []string{"op_type"}, malformed: true,
		},
		{
			name: "no graph outputs",
			data: func(t *testing.T) []byte {
				return encodeP(t, modelP([]*onnxpb.NodeProto{relu("x", "y")}, []*onnxpb.ValueInfoProto{x}, nil))
			},
			want: []string{"no outputs"},
		},
		{
			name: "sequence-typed input",
			data: func(t *testing.T) []byte {
				seq := &onnxpb.ValueInfoProto{Name: proto.String("x"), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_SequenceType{SequenceType: &onnxpb.TypeProto_Sequence{}}}}
				return encodeP(t, modelP([]*onnxpb.NodeProto{relu("x", "y")}, []*onnxpb.ValueInfoProto{seq}, []*onnxpb.ValueInfoProto{y}))
			},
			want: []string{`"x"`, "is a sequence", "Relu takes tensors"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { err = loadAndValidate(tc.data(t)) })
			require.Error(t, err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
			if tc.malformed {
				require.True(t, errors.Is(err, onnx.ErrMalformed), "error should wrap ErrMalformed: %v", err)
			}
		})
	}
}

// TestValidModelsValidate guards the malformed cases against passing for the wrong
// reason: the bundled models and a minimal well-formed model validate cleanly.
func TestValidModelsValidate(t *testing.T) {
	for _, name := range fuzzSeedModels {
		t.Run(name, func(t *testing.T) {
			m, err := Load(filepath.Join("..", "testdata", "models", name))
			require.NoError(t, err)
			require.NoError(t, m.Validate(NoFold{}))
		})
	}
	t.Run("minimal", func(t *testing.T) {
		x := tensorVI("x", Float32, 2, 3)
		y := tensorVI("y", Float32, 2, 3)
		data := encodeP(t, modelP([]*onnxpb.NodeProto{nodeP("Relu", []string{"x"}, []string{"y"})}, []*onnxpb.ValueInfoProto{x}, []*onnxpb.ValueInfoProto{y}))
		require.NoError(t, loadAndValidate(data))
	})
}
