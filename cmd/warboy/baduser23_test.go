package main

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/onnx/onnxpb"
)

// Bad input from users, round two (twenty-third session; docs/cli.md "Errors users
// meet (twenty-third session)"): attributes of the wrong type, names declared twice or
// not at all, graph inputs an initializer also gives, external data out of bounds,
// opsets newer than known, float16/bfloat16 models, --input-shape for several inputs.
// Refusals follow TestBadUserInput's rules (status, message on stderr, one JSON error
// document with --json, nothing written); what works is run and its warning checked.

func pattr(name string, typ onnxpb.AttributeProto_AttributeType, set func(a *onnxpb.AttributeProto)) *onnxpb.AttributeProto {
	a := &onnxpb.AttributeProto{Name: proto.String(name), Type: typ.Enum()}
	set(a)
	return a
}

// ptyped is a value info of element type dt and fixed dims.
func ptyped(name string, dt onnxpb.TensorProto_DataType, dims ...int64) *onnxpb.ValueInfoProto {
	v := pvalue(name)
	v.Type.GetTensorType().ElemType = proto.Int32(int32(dt))
	for _, d := range dims {
		v.Type.GetTensorType().Shape.Dim = append(v.Type.GetTensorType().Shape.Dim,
			&onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	return v
}

func withAttrs(n *onnxpb.NodeProto, a ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
	n.Attribute = a
	return n
}

func withOpset(b []byte, t testing.TB, opset int64) []byte {
	m := &onnxpb.ModelProto{}
	require.NoError(t, proto.Unmarshal(b, m))
	m.OpsetImport[0].Version = proto.Int64(opset)
	out, err := proto.Marshal(m)
	require.NoError(t, err)
	return out
}

func makeBadUserFiles23(t testing.TB) badUserFiles {
	f := badUserFiles{dir: t.TempDir()}
	x := []*onnxpb.ValueInfoProto{pvalue("x", 1, 4)}
	y := []*onnxpb.ValueInfoProto{pvalue("y", 1, 4)}
	w := make([]byte, 64)
	for i := 0; i < 16; i++ {
		binary.LittleEndian.PutUint32(w[4*i:], math.Float32bits(1))
	}
	mm := []*onnxpb.NodeProto{pnode("MatMul", "mm", []string{"x", "w"}, []string{"y"})}
	intAttr := func(name string, v int64) *onnxpb.AttributeProto {
		return pattr(name, onnxpb.AttributeProto_INT, func(a *onnxpb.AttributeProto) { a.I = proto.Int64(v) })
	}
	f.write(t, "alpha_int.onnx", protoModel(t, 13, []*onnxpb.NodeProto{withAttrs(pnode("LeakyRelu", "lr", []string{"x"}, []string{"y"}), intAttr("alpha", 1))}, x, y))
	f.write(t, "axis_ints.onnx", protoModel(t, 13, []*onnxpb.NodeProto{withAttrs(pnode("Softmax", "sm", []string{"x"}, []string{"y"}),
		pattr("axis", onnxpb.AttributeProto_INTS, func(a *onnxpb.AttributeProto) { a.Ints = []int64{0} }))}, x, y))
	f.write(t, "attr_twice.onnx", protoModel(t, 13, []*onnxpb.NodeProto{withAttrs(pnode("Softmax", "sm", []string{"x"}, []string{"y"}),
		intAttr("axis", 0), intAttr("axis", 1))}, x, y))
	f.write(t, "init_twice.onnx", protoModel(t, 13, mm, x, y, ptensor("w", []int64{4, 4}, w), ptensor("w", []int64{4, 4}, w)))
	f.write(t, "input_twice.onnx", protoModel(t, 13, []*onnxpb.NodeProto{pnode("Relu", "r", []string{"x"}, []string{"y"})}, append(x, x[0]), y))
	f.write(t, "input_noname.onnx", protoModel(t, 13, []*onnxpb.NodeProto{pnode("Relu", "r", []string{"x"}, []string{"y"})}, append(x, pvalue("", 1)), y))
	f.write(t, "init_input_mismatch.onnx", protoModel(t, 13, mm, append(x, ptyped("w", onnxpb.TensorProto_INT64, 2, 8)), y, ptensor("w", []int64{4, 4}, w)))
	f.write(t, "init_input.onnx", protoModel(t, 13, mm, append(x, pvalue("w", 4, 4)), y, ptensor("w", []int64{4, 4}, w)))
	ext := func(loc bool, kv ...string) *onnxpb.TensorProto {
		e := ptensor("w", []int64{4, 4}, nil)
		if loc {
			e.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
		}
		for i := 0; i < len(kv); i += 2 {
			e.ExternalData = append(e.ExternalData, &onnxpb.StringStringEntryProto{Key: proto.String(kv[i]), Value: proto.String(kv[i+1])})
		}
		return e
	}
	f.write(t, "w.bin", w)
	require.NoError(t, os.MkdirAll(f.path("wdir"), 0o755))
	f.write(t, "ext_offset.onnx", protoModel(t, 13, mm, x, y, ext(true, "location", "w.bin", "offset", "4096")))
	f.write(t, "ext_overflow.onnx", protoModel(t, 13, mm, x, y, ext(true, "location", "w.bin", "offset", "9223372036854775800")))
	f.write(t, "ext_dir.onnx", protoModel(t, 13, mm, x, y, ext(true, "location", "wdir")))
	f.write(t, "ext_noflag.onnx", protoModel(t, 13, mm, x, y, ext(false, "location", "w.bin")))
	f.write(t, "ext_ok.onnx", protoModel(t, 13, mm, x, y, ext(true, "location", "w.bin")))

	relu := protoModel(t, 13, []*onnxpb.NodeProto{pnode("Relu", "r", []string{"x"}, []string{"y"})}, x, y)
	f.write(t, "opset99.onnx", withOpset(relu, t, 99))
	f.write(t, "dup_names.onnx", protoModel(t, 13, []*onnxpb.NodeProto{pnode("Relu", "n", []string{"x"}, []string{"a"}), pnode("Sigmoid", "n", []string{"a"}, []string{"y"})}, x, y))
	half := make([]byte, 32)
	for i := 0; i < 16; i++ {
		binary.LittleEndian.PutUint16(half[2*i:], graph.Float32ToFloat16(1))
	}
	w16 := &onnxpb.TensorProto{Name: proto.String("w"), DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT16)), Dims: []int64{4, 4}, RawData: half}
	f.write(t, "f16.onnx", protoModel(t, 13, []*onnxpb.NodeProto{pnode("MatMul", "mm", []string{"x", "w"}, []string{"m"}), pnode("Relu", "r", []string{"m"}, []string{"y"})},
		[]*onnxpb.ValueInfoProto{ptyped("x", onnxpb.TensorProto_FLOAT16, 1, 4)}, []*onnxpb.ValueInfoProto{ptyped("y", onnxpb.TensorProto_FLOAT16, 1, 4)}, w16))
	f.write(t, "bf16.onnx", protoModel(t, 13, []*onnxpb.NodeProto{pnode("Relu", "r", []string{"x"}, []string{"y"})},
		[]*onnxpb.ValueInfoProto{ptyped("x", onnxpb.TensorProto_BFLOAT16, 1, 4)}, []*onnxpb.ValueInfoProto{ptyped("y", onnxpb.TensorProto_BFLOAT16, 1, 4)}))
	f.write(t, "two_inputs.onnx", protoModel(t, 13, []*onnxpb.NodeProto{pnode("Add", "add", []string{"a", "b"}, []string{"o"})},
		[]*onnxpb.ValueInfoProto{pvalue("a", "N", "L"), pvalue("b", "N", "L")}, []*onnxpb.ValueInfoProto{pvalue("o", "N", "L")}))

	f.npy(t, "x.npy", graph.FromFloat32([]int{1, 4}, []float32{-1, 0.5, 2, 3}))
	for i := 0; i < 3; i++ {
		f.npy(t, filepath.Join("calib", string(rune('a'+i))+".npy"), graph.FromFloat32([]int{1, 4}, []float32{float32(i), 0.5, -1, 2}))
	}
	var npz strings.Builder
	require.NoError(t, dataset.WriteNPZ(&npz, []dataset.NamedTensor{
		{Name: "x", Tensor: graph.FromFloat32([]int{1, 4}, []float32{-1, 0.5, 2, 3})},
		{Name: "w", Tensor: graph.FromFloat32([]int{4, 4}, make([]float32, 16))},
	}))
	f.write(t, "xw.npz", []byte(npz.String()))
	return f
}

func TestBadUserInput23(t *testing.T) {
	f := makeBadUserFiles23(t)
	type tc = badUserCase
	var cases []tc
	for file, want := range map[string]string{
		"alpha_int.onnx": `alpha_int.onnx: malformed ONNX model: LeakyRelu "lr": attribute "alpha" is INT (1), but ONNX defines it as FLOAT ` +
			`(write 1.0: onnx.helper takes the type from the Python value)`,
		"axis_ints.onnx":           `Softmax "sm": attribute "axis" is INTS ([0]), but ONNX defines it as INT (write axis=0, not a list)`,
		"attr_twice.onnx":          `Softmax "sm": attribute "axis" is given twice`,
		"init_twice.onnx":          `init_twice.onnx: malformed ONNX model: initializer "w" is given twice`,
		"input_twice.onnx":         `graph input "x" is declared twice`,
		"input_noname.onnx":        `graph input 1 has no name`,
		"init_input_mismatch.onnx": `graph input "w" is declared int64[2,8], but its initializer (its default value) is float32[4,4]`,
		"ext_offset.onnx":          `initializer "w": external data: the tensor needs 64 bytes at offset 4096 of w.bin, which has 64 bytes (out of bounds`,
		"ext_overflow.onnx":        `the tensor needs 64 bytes at offset 9223372036854775800 of w.bin, which has 64 bytes`,
		"ext_dir.onnx":             `location wdir is a directory, not a data file`,
		"ext_noflag.onnx":          `initializer "w": it has external_data entries but data_location DEFAULT, so no data`,
	} {
		m := f.path(file)
		for _, args := range [][]string{
			{"inspect", m}, {"run", m, "--input", f.path("x.npy")}, {"sim", m}, {"bench", "cpu", m},
			{"quantize", m, "--calib-data", f.path("calib"), "-o", "OUT/q.onnx"}, {"compare", m, m},
		} {
			cases = append(cases, tc{file + " " + args[0], args, 1, want})
		}
	}
	two := f.path("two_inputs.onnx")
	cases = append(cases, []tc{
		{"input-shape several in one flag", []string{"inspect", two, "--input-shape", "a=2,3,b=2,3"}, 2,
			`input shape "a=2,3,b=2,3" gives several inputs in one flag: give each its own, --input-shape a=2,3 --input-shape b=2,3`},
		{"input-shape several, x and ;", []string{"sim", two, "--input-shape", "a=2x3;b=2x3"}, 2, `--input-shape a=2x3 --input-shape b=2x3`},
		{"input-shape trtexec form", []string{"bench", "cpu", two, "--input-shape", "a:2x3"}, 2, `want NAME=d0,d1,...: write a=2x3`},
		{"input-shape shared name disagrees", []string{"sim", two, "--input-shape", "a=2,3", "--input-shape", "b=2,4"}, 1,
			`symbolic dimension "L" is 3 in input "a" (dimension 1) but 4 in input "b" (dimension 1)`},
		{"input-shape for an initializer input", []string{"inspect", f.path("init_input.onnx"), "--input-shape", "w=4,4"}, 1,
			`input shape given for "w", but the model's inputs are "x" ("w" is an initializer of shape [4,4], a constant: its shape cannot be bound)`},
	}...)
	runBadUserCases(t, cases)
}

// What works, with the warning said once on stderr.
func TestBadUserWorks23(t *testing.T) {
	f := makeBadUserFiles23(t)
	x := f.path("x.npy")
	for _, c := range []struct {
		name    string
		args    []string
		warning string // "" for none
		stdout  string
	}{
		{"opset newer than known", []string{"run", f.path("opset99.onnx"), "--input", x},
			`warning: ` + f.path("opset99.onnx") + `: the model imports ai.onnx opset 99, newer than the newest this warboy knows (23): ` +
				`its operators run as opset 23 defines them`, "[0 0.5 2 3]"},
		{"opset newer than known, inspect", []string{"inspect", f.path("opset99.onnx")}, "ai.onnx opset 99, newer than", "Relu"},
		{"node names shared", []string{"run", f.path("dup_names.onnx"), "--input", x},
			`several nodes share a name: "n" (Relu, Sigmoid); messages, --exclude and per-node reports name them together`, "y float32[1,4]"},
		{"initializer input fed by the archive", []string{"run", f.path("init_input.onnx"), "--input", f.path("xw.npz")},
			`xw.npz: array "w" not used: it is an initializer of the model, a constant (ONNX Runtime lets a run override an initializer ` +
				`the model also lists as a graph input, ONNX IR >= 4; warboy runs the model's value)`, "[4.5 4.5 4.5 4.5]"},
		{"initializer input", []string{"run", f.path("init_input.onnx"), "--input", x}, "", "[4.5 4.5 4.5 4.5]"},
		{"external data in bounds", []string{"run", f.path("ext_ok.onnx"), "--input", x}, "", "[4.5 4.5 4.5 4.5]"},
		{"float16 model, float32 data", []string{"run", f.path("f16.onnx"), "--input", x}, "", "y float16[1,4]:\n  [4.5 4.5 4.5 4.5]"},
		{"bfloat16 model, float32 data", []string{"run", f.path("bf16.onnx"), "--input", x}, "", "y bfloat16[1,4]:\n  [0 0.5 2 3]"},
		{"float16 model, sim (random data)", []string{"sim", f.path("f16.onnx")}, "", "simulator"},
		{"float16 model, quantize on float32 data", []string{"quantize", f.path("f16.onnx"), "--calib-data", f.path("calib"), "-o",
			filepath.Join(t.TempDir(), "q.onnx")}, "", "wrote:"},
		{"two inputs, each its shape", []string{"inspect", f.path("two_inputs.onnx"), "--input-shape", "a=2,3", "--input-shape", "b=2,3"}, "", "[2,3]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(c.args...)
			require.Equal(t, 0, code, stderr)
			assert.Contains(t, stdout, c.stdout)
			if c.warning == "" {
				assert.NotContains(t, stderr, "warning: "+c.args[1])
				return
			}
			assert.Contains(t, stderr, c.warning)
			assert.Equal(t, 1, strings.Count(stderr, c.warning), "said once: %s", stderr)
		})
	}
}
