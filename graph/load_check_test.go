package graph

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/warboy-sim/warboy/onnx"
	"github.com/warboy-sim/warboy/onnx/onnxpb"
)

func attrP(name string, typ onnxpb.AttributeProto_AttributeType, set func(a *onnxpb.AttributeProto)) *onnxpb.AttributeProto {
	a := &onnxpb.AttributeProto{Name: proto.String(name), Type: typ.Enum()}
	set(a)
	return a
}

func intAttrP(name string, v int64) *onnxpb.AttributeProto {
	return attrP(name, onnxpb.AttributeProto_INT, func(a *onnxpb.AttributeProto) { a.I = proto.Int64(v) })
}

func intsAttrP(name string, v ...int64) *onnxpb.AttributeProto {
	return attrP(name, onnxpb.AttributeProto_INTS, func(a *onnxpb.AttributeProto) { a.Ints = v })
}

func floatAttrP(name string, v float32) *onnxpb.AttributeProto {
	return attrP(name, onnxpb.AttributeProto_FLOAT, func(a *onnxpb.AttributeProto) { a.F = proto.Float32(v) })
}

func stringAttrP(name, v string) *onnxpb.AttributeProto {
	return attrP(name, onnxpb.AttributeProto_STRING, func(a *onnxpb.AttributeProto) { a.S = []byte(v) })
}

// An attribute of the wrong type is refused at load, naming the node, the attribute,
// its value and the type ONNX defines (twenty-third session: the accessors returned
// the default, silently).
func TestAttrTypeRefused(t *testing.T) {
	x := []*onnxpb.ValueInfoProto{tensorVI("x", Float32, 1, 4)}
	y := []*onnxpb.ValueInfoProto{tensorVI("y", Float32, 1, 4)}
	one := func(op string, a ...*onnxpb.AttributeProto) *onnxpb.ModelProto {
		return modelP([]*onnxpb.NodeProto{nodeP(op, []string{"x"}, []string{"y"}, a...)}, x, y)
	}
	cases := []struct {
		name string
		m    *onnxpb.ModelProto
		want string
	}{
		{"INT for FLOAT", one("LeakyRelu", intAttrP("alpha", 1)),
			`LeakyRelu "LeakyRelu_y": attribute "alpha" is INT (1), but ONNX defines it as FLOAT (write 1.0: onnx.helper takes the type from the Python value)`},
		{"INTS for INT", one("Softmax", intsAttrP("axis", 0)),
			`Softmax "Softmax_y": attribute "axis" is INTS ([0]), but ONNX defines it as INT (write axis=0, not a list)`},
		{"STRING for INT", one("Flatten", stringAttrP("axis", "1")), `attribute "axis" is STRING ("1"), but ONNX defines it as INT (write the number, not a string)`},
		{"FLOAT for STRING", one("Pad", floatAttrP("mode", 1)), `attribute "mode" is FLOAT (1), but ONNX defines it as STRING`},
		{"FLOAT for INTS", one("Transpose", floatAttrP("perm", 1)), `attribute "perm" is FLOAT (1), but ONNX defines it as INTS`},
		{"INTS for FLOATS (ml)", func() *onnxpb.ModelProto {
			m := one("Scaler", intsAttrP("scale", 1, 2))
			m.Graph.Node[0].Domain = proto.String(MLDomain)
			return m
		}(), `attribute "scale" is INTS ([1 2]), but ONNX defines it as FLOATS`},
		{"long list cut", one("Softmax", intsAttrP("axis", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)), `is INTS ([1 2 3 4 5 6 7 8 ... (10 values)])`},
		{"no type, no value", one("Softmax", &onnxpb.AttributeProto{Name: proto.String("axis")}), `attribute "axis" has no type and no value; ONNX defines it as INT`},
		{"type INT, value in ints", one("Softmax", attrP("axis", onnxpb.AttributeProto_INT, func(a *onnxpb.AttributeProto) { a.Ints = []int64{1} })),
			`attribute "axis": malformed ONNX model: its type is INT, but it holds INTS`},
		{"attribute twice", one("Softmax", intAttrP("axis", 0), intAttrP("axis", 1)), `Softmax "Softmax_y": attribute "axis" is given twice`},
		{"attribute without a name", one("Softmax", intAttrP("", 0)), `Softmax "Softmax_y": an attribute has no name`},
		{"in a Loop body", func() *onnxpb.ModelProto {
			body := &onnxpb.GraphProto{Name: proto.String("body"), Node: []*onnxpb.NodeProto{nodeP("LeakyRelu", []string{"x"}, []string{"z"}, intAttrP("alpha", 2))}}
			g := attrP("then_branch", onnxpb.AttributeProto_GRAPH, func(a *onnxpb.AttributeProto) { a.G = body })
			return one("If", g)
		}(), `LeakyRelu "LeakyRelu_z": attribute "alpha" is INT (2)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(encodeP(t, c.m))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.True(t, errors.Is(err, onnx.ErrMalformed), "%v", err)
		})
	}
}

// What ONNX allows stays readable: an INT where INTS is defined (a list of one, as
// before), either type of a name two operator versions define differently, the removed
// experimental operators' own types, and attributes of other domains (not checked).
func TestAttrTypeAccepted(t *testing.T) {
	x := []*onnxpb.ValueInfoProto{tensorVI("x", Float32, 1, 4)}
	y := []*onnxpb.ValueInfoProto{tensorVI("y", Float32, 1, 4)}
	cases := []struct {
		name string
		node *onnxpb.NodeProto
	}{
		{"INT for INTS", nodeP("Transpose", []string{"x"}, []string{"y"}, intAttrP("perm", 0))},
		{"FLOAT alpha", nodeP("LeakyRelu", []string{"x"}, []string{"y"}, floatAttrP("alpha", 1))},
		{"Pad value FLOAT (opset 2)", nodeP("Pad", []string{"x"}, []string{"y"}, floatAttrP("value", 0))},
		{"Cast to STRING (opset 1)", nodeP("Cast", []string{"x"}, []string{"y"}, stringAttrP("to", "FLOAT"))},
		{"ImageScaler bias FLOATS", nodeP("ImageScaler", []string{"x"}, []string{"y"},
			attrP("bias", onnxpb.AttributeProto_FLOATS, func(a *onnxpb.AttributeProto) { a.Floats = []float32{1, 2, 3, 4} }))},
		{"Crop scale INTS", nodeP("Crop", []string{"x"}, []string{"y"}, intsAttrP("scale", 1, 1))},
		{"com.microsoft not checked", func() *onnxpb.NodeProto {
			n := nodeP("Custom", []string{"x"}, []string{"y"}, stringAttrP("axis", "1"))
			n.Domain = proto.String("com.microsoft")
			return n
		}()},
		{"unknown attribute name not checked", nodeP("Relu", []string{"x"}, []string{"y"}, stringAttrP("frobnicate", "1"))},
		{"empty INTS beside nothing", nodeP("Transpose", []string{"x"}, []string{"y"}, intsAttrP("perm"))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// (Crop's expansion wants an image: only the type check matters here.)
			_, err := Decode(encodeP(t, modelP([]*onnxpb.NodeProto{c.node}, x, y)))
			if err != nil {
				assert.NotContains(t, err.Error(), "ONNX defines it")
				assert.False(t, errors.Is(err, onnx.ErrMalformed), "%v", err)
			}
			if c.node.GetOpType() != "Crop" {
				assert.NoError(t, err)
			}
		})
	}
}

// Names declared twice or not at all, and graph inputs whose initializer does not fit
// their declaration, are refused at load.
func TestGraphNamesRefused(t *testing.T) {
	x := tensorVI("x", Float32, 1, 4)
	y := []*onnxpb.ValueInfoProto{tensorVI("y", Float32, 1, 4)}
	mm := []*onnxpb.NodeProto{nodeP("MatMul", []string{"x", "w"}, []string{"y"})}
	w := floatInit("w", []int64{4, 4}, make([]float32, 16)...)
	cases := []struct {
		name string
		m    *onnxpb.ModelProto
		want string
	}{
		{"initializer twice", modelP(mm, []*onnxpb.ValueInfoProto{x}, y, w, floatInit("w", []int64{4, 4}, make([]float32, 16)...)),
			`initializer "w" is given twice`},
		{"input twice", modelP(mm, []*onnxpb.ValueInfoProto{x, x}, y, w), `graph input "x" is declared twice`},
		{"input without a name", modelP(mm, []*onnxpb.ValueInfoProto{x, tensorVI("", Float32, 1)}, y, w), `graph input 1 has no name`},
		{"output without a name", modelP(mm, []*onnxpb.ValueInfoProto{x}, []*onnxpb.ValueInfoProto{tensorVI("", Float32, 1, 4)}, w), `graph output 0 has no name`},
		{"initializer input of another type", modelP(mm, []*onnxpb.ValueInfoProto{x, tensorVI("w", Int64, 2, 8)}, y, w),
			`graph input "w" is declared int64[2,8], but its initializer (its default value) is float32[4,4]`},
		{"initializer input of another shape", modelP(mm, []*onnxpb.ValueInfoProto{x, tensorVI("w", Float32, 2, 8)}, y, w),
			`graph input "w" is declared with shape [2,8], but its initializer (its default value) has shape [4,4]`},
		{"initializer input of another rank", modelP(mm, []*onnxpb.ValueInfoProto{x, tensorVI("w", Float32, 16)}, y, w),
			`graph input "w" is declared with shape [16], but its initializer (its default value) has shape [4,4]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(encodeP(t, c.m))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.True(t, errors.Is(err, onnx.ErrMalformed), "%v", err)
		})
	}
	// An initializer input that fits (a symbolic or unknown dimension fits any size)
	// is read as its constant, as before.
	sym := tensorVI("w", Float32, 4, 4)
	sym.Type.GetTensorType().Shape.Dim[0].Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "n"}
	m, err := Decode(encodeP(t, modelP(mm, []*onnxpb.ValueInfoProto{x, sym}, y, w)))
	require.NoError(t, err)
	assert.Nil(t, m.Graph.Input("w"), "an initializer input is a constant")
	assert.NotNil(t, m.Graph.Initializers["w"])
}

// LoadWarnings: an opset newer than known is named once; node names several nodes
// carry are listed (at most three, then a count).
func TestLoadWarnings(t *testing.T) {
	x := []*onnxpb.ValueInfoProto{tensorVI("x", Float32, 1, 4)}
	y := []*onnxpb.ValueInfoProto{tensorVI("y", Float32, 1, 4)}
	relu := modelP([]*onnxpb.NodeProto{nodeP("Relu", []string{"x"}, []string{"y"})}, x, y)
	m, err := Decode(encodeP(t, relu))
	require.NoError(t, err)
	assert.Empty(t, LoadWarnings(m))

	relu.OpsetImport = []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(99)},
		{Domain: proto.String(MLDomain), Version: proto.Int64(9)}}
	m, err = Decode(encodeP(t, relu))
	require.NoError(t, err)
	w := LoadWarnings(m)
	require.Len(t, w, 2)
	assert.Equal(t, "the model imports ai.onnx opset 99, newer than the newest this warboy knows (23): its operators run as opset 23 "+
		"defines them (one whose meaning changed after 23 would compute something else)", w[0])
	assert.Contains(t, w[1], "ai.onnx.ml opset 9, newer than the newest this warboy knows (5)")

	var nodes []*onnxpb.NodeProto
	prev := "x"
	for i, name := range []string{"a", "a", "b", "b", "c", "c", "d", "d", "e"} {
		out := []string{"y"}
		if i < 8 {
			out = []string{name + string(rune('0'+i))}
		}
		n := nodeP("Relu", []string{prev}, out)
		n.Name = proto.String(name)
		nodes = append(nodes, n)
		prev = out[0]
	}
	m, err = Decode(encodeP(t, modelP(nodes, x, y)))
	require.NoError(t, err)
	assert.Equal(t, []string{`several nodes share a name: "a" (Relu, Relu); "b" (Relu, Relu); "c" (Relu, Relu) and 1 more; ` +
		`messages, --exclude and per-node reports name them together`}, LoadWarnings(m))
}

// The table covers the attributes the runtime reads with typed accessors most: a
// spot check that the generated table says what ONNX says.
func TestAttrTypeTable(t *testing.T) {
	for name, want := range map[string][]AttrType{
		"axis": {AttrInt}, "axes": {AttrInts}, "alpha": {AttrFloat}, "perm": {AttrInts}, "mode": {AttrString},
		"value": {AttrFloat, AttrTensor}, "to": {AttrString, AttrInt}, "body": {AttrGraph}, "activations": {AttrStrings},
		"num_outputs": {AttrInt}, "antialias": {AttrInt},
	} {
		assert.ElementsMatch(t, want, onnxAttrTypes[name], name)
	}
	assert.Equal(t, []AttrType{AttrFloats}, expectedAttrTypes("", "ImageScaler", "bias"))
	assert.Equal(t, []AttrType{AttrFloat}, expectedAttrTypes("", "Shrink", "bias"))
	assert.Nil(t, expectedAttrTypes("com.microsoft", "Attention", "num_heads"))
}
