package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
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

// Bad input from users, every command (twenty-second session; docs/cli.md, "Errors users
// meet"): each case must exit with the documented status (1 for work that failed, 2 for
// a usage error), name the file, node or flag and the problem on standard error, print
// one {"error", "exit_code"} document on standard output with --json, never panic, and
// leave the output directory empty (no partial -o file).

// protoModel serializes a hand-made graph (proto2 fields, so that the damage is exactly
// what the case says: a cycle, a dangling input, raw data of the wrong length ...).
func protoModel(t testing.TB, opset int64, nodes []*onnxpb.NodeProto, inputs, outputs []*onnxpb.ValueInfoProto, inits ...*onnxpb.TensorProto) []byte {
	t.Helper()
	m := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(7),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(opset)}},
		Graph: &onnxpb.GraphProto{
			Name: proto.String("g"), Node: nodes, Input: inputs, Output: outputs, Initializer: inits,
		},
	}
	b, err := proto.Marshal(m)
	require.NoError(t, err)
	return b
}

func pnode(op, name string, ins, outs []string) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(name), Input: ins, Output: outs}
}

// pvalue is a float32 value info; a dim is an int (fixed) or a string (symbolic).
func pvalue(name string, dims ...any) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		dim := &onnxpb.TensorShapeProto_Dimension{}
		switch d := d.(type) {
		case int:
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}
		case string:
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d}
		}
		shape.Dim = append(shape.Dim, dim)
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Shape: shape}}}}
}

func ptensor(name string, dims []int64, raw []byte) *onnxpb.TensorProto {
	return &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Dims: dims, RawData: raw}
}

// badUserFiles writes the damaged models and data of the table into dir.
type badUserFiles struct {
	dir string
}

func (f badUserFiles) path(name string) string { return filepath.Join(f.dir, name) }

func (f badUserFiles) write(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := f.path(name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, data, 0o644))
	return p
}

func (f badUserFiles) npy(t testing.TB, name string, x *graph.Tensor) string {
	var b bytes.Buffer
	require.NoError(t, dataset.WriteNPY(&b, x))
	return f.write(t, name, b.Bytes())
}

func idxFile(dims []uint32, data []byte) []byte {
	b := []byte{0, 0, 8, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, data...)
}

func makeBadUserFiles(t testing.TB) badUserFiles {
	f := badUserFiles{dir: t.TempDir()}
	cnn, err := os.ReadFile(filepath.Join(testModels, "fmnist_cnn.onnx"))
	require.NoError(t, err)
	x := []*onnxpb.ValueInfoProto{pvalue("x", 1, 4)}
	y := []*onnxpb.ValueInfoProto{pvalue("y", 1, 4)}
	ones := make([]byte, 16*4)
	for i := 0; i < 16; i++ {
		binary.LittleEndian.PutUint32(ones[4*i:], math.Float32bits(1))
	}
	f.write(t, "empty.onnx", nil)
	f.write(t, "random.onnx", bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef, 0x07}, 400))
	for _, off := range []int{1, 10, 100, 1000, len(cnn) / 2, len(cnn) - 100, len(cnn) - 1} {
		f.write(t, fmt.Sprintf("trunc%d.onnx", off), cnn[:off])
	}
	f.write(t, "wirevarint.onnx", []byte{0x08, 0x07, 0x38, 0x05})
	f.write(t, "cycle.onnx", protoModel(t, 13, []*onnxpb.NodeProto{
		pnode("Relu", "r1", []string{"b"}, []string{"a"}),
		pnode("Add", "add", []string{"x", "a"}, []string{"b"}),
		pnode("Relu", "r2", []string{"b"}, []string{"y"}),
	}, x, y))
	f.write(t, "dangling.onnx", protoModel(t, 13, []*onnxpb.NodeProto{pnode("Add", "add", []string{"x", "nowhere"}, []string{"y"})}, x, y))
	f.write(t, "dupout.onnx", protoModel(t, 13, []*onnxpb.NodeProto{
		pnode("Relu", "r1", []string{"x"}, []string{"y"}), pnode("Sigmoid", "s1", []string{"x"}, []string{"y"}),
	}, x, y))
	f.write(t, "noinit.onnx", protoModel(t, 13, []*onnxpb.NodeProto{pnode("MatMul", "mm", []string{"x", "w"}, []string{"y"})}, x, y))
	f.write(t, "rawshort.onnx", protoModel(t, 13, []*onnxpb.NodeProto{pnode("MatMul", "mm", []string{"x", "w"}, []string{"y"})}, x, y,
		ptensor("w", []int64{4, 4}, ones[:32])))
	f.write(t, "hugeinit.onnx", protoModel(t, 13, []*onnxpb.NodeProto{pnode("MatMul", "mm", []string{"x", "w"}, []string{"y"})}, x, y,
		ptensor("w", []int64{1 << 20, 1 << 20}, ones[:16])))
	f.write(t, "unsupported.onnx", protoModel(t, 13, []*onnxpb.NodeProto{pnode("FrobnicateOp", "frob", []string{"x"}, []string{"y"})}, x, y))
	f.write(t, "symbolic.onnx", protoModel(t, 13, []*onnxpb.NodeProto{pnode("Relu", "r", []string{"x"}, []string{"y"})},
		[]*onnxpb.ValueInfoProto{pvalue("x", "batch", 3, "height", "width")}, []*onnxpb.ValueInfoProto{pvalue("y", "batch", 3, "height", "width")}))

	f.npy(t, "good.npy", graph.FromFloat32([]int{1, 1, 28, 28}, make([]float32, 784)))
	f.npy(t, "small.npy", graph.FromFloat32([]int{1, 1, 14, 14}, make([]float32, 196)))
	good, err := os.ReadFile(f.path("good.npy"))
	require.NoError(t, err)
	f.write(t, "trunc.npy", good[:len(good)/2])
	f.write(t, "notnpy.npy", []byte("hello"))
	f.write(t, "notzip.npz", []byte("PK\x03\x04garbage"))
	f.write(t, "empty.bin", nil)
	f.write(t, "idx_trunc/t10k-images-idx3-ubyte", idxFile([]uint32{10, 28, 28}, make([]byte, 100)))
	f.write(t, "idx_huge/t10k-images-idx3-ubyte", idxFile([]uint32{1 << 16, 1 << 8, 1 << 8}, make([]byte, 100)))
	f.write(t, "idx_label/t10k-images-idx3-ubyte", idxFile([]uint32{1, 28, 28}, make([]byte, 784)))
	f.write(t, "idx_label/t10k-labels-idx1-ubyte", idxFile([]uint32{1}, []byte{200}))
	f.write(t, "img_bad/labels.txt", []byte("a.png 0\n"))
	f.write(t, "img_bad/a.png", []byte("not a png"))
	f.write(t, "ranges_nan.json", []byte(`{"input": [null, 1]}`))
	f.write(t, "profile.json", []byte(`{{{`))
	require.NoError(t, os.MkdirAll(f.path("emptydir"), 0o755))
	return f
}

func TestBadUserInput(t *testing.T) {
	f := makeBadUserFiles(t)
	cnn := filepath.Join(testModels, "fmnist_cnn.onnx")
	quantized := filepath.Join(t.TempDir(), "cnn_int8.onnx")
	code, _, stderr := runCLI("quantize", cnn, "--calib-data", testData, "--calib-n", "20", "--batch", "10", "-o", quantized)
	require.Equal(t, 0, code, stderr)
	cnnCopy := f.write(t, "cnn_copy.onnx", mustRead(t, cnn))

	type tc = badUserCase
	var cases []tc
	// Damaged files fail at load in every command that reads a model, before any work.
	loadFails := map[string]string{
		"empty.onnx":      "empty.onnx: malformed ONNX model: empty file",
		"random.onnx":     "random.onnx: malformed ONNX model",
		"trunc1.onnx":     "trunc1.onnx: malformed ONNX model",
		"trunc1000.onnx":  "trunc1000.onnx: malformed ONNX model",
		"wirevarint.onnx": "wirevarint.onnx: malformed ONNX model: no graph",
		"rawshort.onnx":   `tensor "w" (initializer): raw_data has 32 bytes, shape [4 4] needs 64`,
		"hugeinit.onnx":   `tensor "w" (initializer): shape [1048576 1048576] declares more than 2147483648 elements`,
	}
	cnnBytes := mustRead(t, cnn)
	for _, off := range []int{10, 100, len(cnnBytes) / 2, len(cnnBytes) - 100, len(cnnBytes) - 1} {
		loadFails[fmt.Sprintf("trunc%d.onnx", off)] = fmt.Sprintf("trunc%d.onnx: malformed ONNX model", off)
	}
	for file, want := range loadFails {
		m := f.path(file)
		for _, args := range [][]string{
			{"inspect", m}, {"run", m}, {"eval", m}, {"sim", m}, {"bench", "cpu", m}, {"bench", m},
			{"quantize", m, "-o", "OUT/q.onnx"}, {"qat", m, "-o", "OUT/q.onnx"}, {"edit", m, "--input-type", "uint8", "-o", "OUT/e.onnx"},
			{"compare", m, quantized}, {"compare", cnn, m},
		} {
			cases = append(cases, tc{file + " " + args[0], args, 1, want})
		}
	}
	// Graphs that decode but are wrong: the node and the problem.
	for file, want := range map[string]string{
		"cycle.onnx":       `graph has a cycle through Relu "r1", Add "add", Relu "r2"`,
		"dangling.onnx":    `Add "add": input "nowhere" is not produced by any node, nor a graph input or initializer (dangling input)`,
		"dupout.onnx":      `value "y" is produced twice: by Relu "r1" and by Sigmoid "s1"`,
		"noinit.onnx":      `MatMul "mm": input "w" is not produced by any node`,
		"unsupported.onnx": `FrobnicateOp "frob": unsupported operator FrobnicateOp (domain ai.onnx)`,
	} {
		m := f.path(file)
		for _, args := range [][]string{{"inspect", m}, {"sim", m}, {"bench", "cpu", m}, {"run", m, "--input", f.path("good.npy")}} {
			cases = append(cases, tc{file + " " + args[0], args, 1, want})
		}
	}
	sym := f.path("symbolic.onnx")
	cases = append(cases, []tc{
		// Symbolic dimensions nobody gives.
		{"symbolic sim", []string{"sim", sym}, 1, `input "x": dimension 2 (height) of [batch,3,height,width] is symbolic; give it with --input-shape x=`},
		{"symbolic bench cpu", []string{"bench", "cpu", sym}, 1, `dimension 2 (height) of [batch,3,height,width] is symbolic`},
		{"input shape far too large", []string{"sim", sym, "--input-shape", "x=1,3,30000,30000"}, 1, `shape [4 3 30000 30000] declares more than 2147483648 elements`},
		// --input-shape and other flag values.
		{"input-shape no =", []string{"run", cnn, "--input-shape", "input"}, 2, `input shape "input": want NAME=d0,d1,...`},
		{"input-shape letters", []string{"inspect", cnn, "--input-shape", "input=a,b"}, 2, `dimension "a" is not a non-negative integer`},
		{"input-shape negative", []string{"inspect", cnn, "--input-shape", "input=1,-1,28,28"}, 2, `dimension "-1" is not a non-negative integer`},
		{"input-shape rank", []string{"inspect", cnn, "--input-shape", "input=1,1,28"}, 1, `input "input": shape [1,1,28] has rank 3, the model declares [N,1,28,28] (rank 4)`},
		{"input-shape unknown input", []string{"run", cnn, "--input-shape", "nope=1,1,28,28"}, 1, `input shape given for "nope", but the model's inputs are "input"`},
		{"input-shape twice", []string{"run", cnn, "--input-shape", "input=1,1,28,28", "--input-shape", "input=1,1,28,28"}, 2, `input "input" is given twice`},
		{"threads negative", []string{"run", cnn, "--threads", "-3"}, 2, "--threads -3 must not be negative"},
		{"index negative", []string{"run", cnn, "--index", "-1"}, 2, "--index -1 must not be negative"},
		{"min-time negative", []string{"bench", "kernels", "--min-time", "-1s"}, 2, "--min-time -1s must not be negative"},
		{"iterations negative", []string{"bench", cnn, "--iterations", "-1"}, 2, "--iterations -1 must not be negative"},
		{"sim ops negative", []string{"sim", cnn, "--ops", "-1"}, 2, "--ops -1 must not be negative"},
		{"mode", []string{"eval", cnn, "--mode", "int4"}, 2, `unknown --mode "int4"`},
		{"method", []string{"quantize", cnn, "-o", "OUT/q.onnx", "--method", "BOGUS"}, 2, `unknown calibration method "BOGUS"`},
		{"percentile NaN", []string{"quantize", cnn, "-o", "OUT/q.onnx", "--percentile", "NaN"}, 2, "--percentile NaN is outside (0, 100]"},
		{"output-range NaN", []string{"edit", quantized, "-o", "OUT/e.onnx", "--output-type", "int8", "--output-range", "NaN,1"}, 2, `--output-range: "NaN" is not a finite float32 number`},
		{"output-range Inf", []string{"edit", quantized, "-o", "OUT/e.onnx", "--output-type", "int8", "--output-range", "-Inf,Inf"}, 2, `"-Inf" is not a finite float32 number`},
		{"output-range beyond float32", []string{"edit", quantized, "-o", "OUT/e.onnx", "--output-type", "int8", "--output-range", "-1e39,1"}, 2, `"-1e39" is not a finite float32 number`},
		{"output-range empty", []string{"edit", quantized, "-o", "OUT/e.onnx", "--output-type", "int8", "--output-range", "0,0"}, 2, "--output-range 0,0 is empty: MIN must be below MAX"},
		{"input-params NaN", []string{"edit", quantized, "-o", "OUT/e.onnx", "--input-type", "uint8", "--input-params", "NaN,0"}, 2, `"NaN" is not a finite float32 number`},
		{"input-params underflow", []string{"edit", quantized, "-o", "OUT/e.onnx", "--input-type", "uint8", "--input-params", "1e-50,0"}, 2, "the scale must be positive"},
		{"detections spec", []string{"compare", cnn, quantized, "--detections", "bogus"}, 2, `--detections "bogus": want auto, off`},
		{"profile not JSON", []string{"sim", cnn, "--profile", f.path("profile.json")}, 1, "profile.json: profile: invalid character"},
		{"ranges-in null", []string{"quantize", cnn, "-o", "OUT/q.onnx", "--ranges-in", f.path("ranges_nan.json")}, 1, "ranges_nan.json"},
		// Input files.
		{"truncated npy", []string{"run", cnn, "--input", f.path("trunc.npy")}, 1, "trunc.npy: .npy data truncated"},
		{"not npy", []string{"run", cnn, "--input", f.path("notnpy.npy")}, 1, "notnpy.npy: not a .npy file"},
		{"not npz", []string{"run", cnn, "--input", f.path("notzip.npz")}, 1, "notzip.npz: not an .npz (zip) archive"},
		{"npy of the wrong shape", []string{"run", cnn, "--input", f.path("small.npy")}, 1, `sample shape [1,1,14,14] does not fit input "input"`},
		{"raw shape overflow", []string{"run", cnn, "--input", f.path("empty.bin"), "--shape", "4611686018427387904,4,1,1"}, 1, "empty.bin: shape [4611686018427387904 4 1 1] has more than 2147483648 elements"},
		{"raw bad shape", []string{"run", cnn, "--input", f.path("empty.bin"), "--shape", "1,,28,28"}, 2, `bad --shape "1,,28,28"`},
		{"raw bad dtype", []string{"run", cnn, "--input", f.path("empty.bin"), "--shape", "1,1,28,28", "--dtype", "float33"}, 2, `unknown data type "float33"`},
		// Data directories.
		{"empty data dir", []string{"eval", cnn, "--data", f.path("emptydir")}, 1, "no t10k-images-idx3-ubyte[.gz], no .npy/.npz files and no PNG/JPEG images"},
		{"truncated IDX", []string{"eval", cnn, "--data", f.path("idx_trunc")}, 1, "t10k-images-idx3-ubyte: IDX data truncated: the header declares [10 28 28] (7840 bytes), the file holds 100"},
		{"IDX header too large", []string{"eval", cnn, "--data", f.path("idx_huge")}, 1, "t10k-images-idx3-ubyte: IDX data truncated: the header declares [65536 256 256]"},
		{"labels beyond the classes", []string{"eval", cnn, "--data", f.path("idx_label")}, 1, `has label 200, but output "logits" has 10 classes (0 to 9): the labels do not fit this model`},
		{"image that does not decode", []string{"quantize", cnn, "-o", "OUT/q.onnx", "--calib-data", f.path("img_bad")}, 1, "a.png: not a decodable PNG/JPEG image"},
		{"qat image that does not decode", []string{"qat", cnn, "-o", "OUT/q.onnx", "--data", f.path("img_bad")}, 1, "a.png"},
		// Output paths: refused before any work.
		{"-o a directory", []string{"quantize", cnn, "-o", f.dir}, 1, "cannot write " + f.dir + ": it is a directory"},
		{"qat -o a directory", []string{"qat", cnn, "-o", f.dir}, 1, "cannot write " + f.dir + ": it is a directory"},
		{"-o under a file", []string{"quantize", cnn, "-o", filepath.Join(f.path("good.npy"), "q.onnx")}, 1, "good.npy is not a directory"},
		{"-o the input model", []string{"quantize", cnnCopy, "-o", cnnCopy}, 2, "is the input model: the int8 model would replace the float32 original"},
		{"qat -o the input model", []string{"qat", cnnCopy, "-o", cnnCopy}, 2, "is the input model"},
		{"qat --temperature 0", []string{"qat", cnn, "-o", "OUT/q.onnx", "--temperature", "0"}, 2, "--temperature must be a finite number > 0, got 0"},
		{"qat --temperature NaN", []string{"qat", cnn, "-o", "OUT/q.onnx", "--temperature", "NaN"}, 2, "--temperature must be a finite number > 0, got NaN"},
		{"sim --trace a directory", []string{"sim", cnn, "--trace", f.dir}, 1, "cannot write " + f.dir + ": it is a directory"},
		{"run --output missing dir", []string{"run", cnn, "--output", filepath.Join(f.dir, "nodir", "x.npy")}, 1, "directory " + filepath.Join(f.dir, "nodir") + " does not exist"},
		// Sizes that would exhaust memory.
		{"sim requests", []string{"sim", cnn, "--requests", "1000000000"}, 1, "scheduler tasks, more than the simulator's limit"},
		{"bench cpu batch", []string{"bench", "cpu", cnn, "--batch", "100000000"}, 1, `input "input" at batch 100000000: shape [100000000 1 28 28] declares more than 2147483648 elements`},
		// Wrong order or kind of models.
		{"compare float float", []string{"compare", cnn, cnn, "--n", "4", "--data", testData}, 1, "the second model is not quantized"},
		{"compare int8 float (swapped)", []string{"compare", quantized, cnn, "--n", "4", "--data", testData}, 1, "the models are swapped: the first is quantized, the second is not"},
		{"quantize a quantized model", []string{"quantize", quantized, "-o", "OUT/q.onnx"}, 1, "model is already quantized"},
		{"edit a float model", []string{"edit", cnn, "--input-type", "uint8", "-o", "OUT/e.onnx"}, 1, "is a float32 model: the editor works on quantized models"},
	}...)
	runBadUserCases(t, cases)
	// The damaged inputs were read, never written.
	assert.Equal(t, cnnBytes, mustRead(t, cnnCopy))
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// A model whose outputs are NaN or infinite still reports them with --json: JSON has
// no NaN, so they are null (before: "json: unsupported value: NaN", exit status 1).
func TestRunJSONNonFinite(t *testing.T) {
	f := badUserFiles{dir: t.TempDir()}
	nan := make([]float32, 784)
	for i := range nan {
		nan[i] = float32(math.NaN())
	}
	in := f.npy(t, "nan.npy", graph.FromFloat32([]int{1, 1, 28, 28}, nan))
	code, stdout, stderr := runCLI("run", filepath.Join(testModels, "fmnist_cnn.onnx"), "--input", in, "--json")
	require.Equal(t, 0, code, stderr)
	var rep struct {
		Outputs []struct {
			Data []*float64 `json:"data"`
		} `json:"outputs"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	require.Len(t, rep.Outputs, 1)
	require.Len(t, rep.Outputs[0].Data, 10)
	for _, v := range rep.Outputs[0].Data {
		assert.Nil(t, v, "NaN is written as null")
	}
}

// finiteJSON writes what encoding/json writes (field order, tags, omitempty, embedded
// structs, Marshalers, maps), with null for the non-finite numbers only.
func TestFiniteJSON(t *testing.T) {
	type inner struct {
		A float64 `json:"a"`
		B float32 `json:"b,omitempty"`
	}
	type report struct {
		inner
		Name   string             `json:"name"`
		Vals   []float64          `json:"vals"`
		Ptr    *float64           `json:"ptr"`
		Map    map[string]float64 `json:"map"`
		IntMap map[int]string     `json:"int_map"`
		Skip   int                `json:"-"`
		Empty  []int              `json:"empty,omitempty"`
		Raw    json.RawMessage    `json:"raw"`
		Any    any                `json:"any"`
		Nested *inner             `json:"nested"`
		hidden int
	}
	two := 2.0
	r := report{inner: inner{A: 1.5}, Name: "x<y", Vals: []float64{1, 2.5}, Ptr: &two, Map: map[string]float64{"b": 2, "a": 1},
		IntMap: map[int]string{3: "c", 1: "a"}, Raw: json.RawMessage(`{"k":1}`), Any: []any{1, "s"}, Nested: &inner{B: 3}, hidden: 1}
	want, err := json.Marshal(r)
	require.NoError(t, err)
	got, err := finiteJSON(r)
	require.NoError(t, err)
	assert.JSONEq(t, string(want), string(got))
	assert.Equal(t, string(want), string(got), "same bytes, same order")

	r.Vals = []float64{math.NaN(), math.Inf(1), 3}
	r.A = math.Inf(-1)
	r.Map["a"] = math.NaN()
	var b bytes.Buffer
	require.NoError(t, writeJSON(&b, r))
	var back map[string]any
	require.NoError(t, json.Unmarshal(b.Bytes(), &back))
	assert.Equal(t, []any{nil, nil, 3.0}, back["vals"])
	assert.Nil(t, back["a"])
	assert.Equal(t, map[string]any{"a": nil, "b": 2.0}, back["map"])
}

// badUserCase is one refused command line: its exit code and a part of the
// message it must print, on stderr and in the --json error.
type badUserCase struct {
	name string
	args []string // OUT in an argument is the case's (empty) output directory
	code int
	want string
}

// runBadUserCases runs each case with --json and checks the exit code, the
// message on stderr and in the JSON error, that nothing panicked and that
// nothing was written to the case's output directory.
func runBadUserCases(t *testing.T, cases []badUserCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := t.TempDir()
			args := make([]string, len(c.args))
			for i, a := range c.args {
				args[i] = strings.ReplaceAll(a, "OUT/", out+string(filepath.Separator))
			}
			code, stdout, stderr := runCLI(append(args, "--json")...)
			assert.Equal(t, c.code, code, stderr)
			assert.Contains(t, stderr, c.want)
			assert.NotContains(t, stderr, "panic")
			var e errorJSON
			dec := json.NewDecoder(strings.NewReader(stdout))
			dec.DisallowUnknownFields()
			if assert.NoError(t, dec.Decode(&e), "stdout: %q", stdout) {
				assert.Equal(t, c.code, e.ExitCode)
				assert.Contains(t, e.Error, c.want)
			}
			entries, err := os.ReadDir(out)
			require.NoError(t, err)
			assert.Empty(t, entries, "nothing written on failure")
		})
	}
}
