package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
)

// seqIOModel writes a model with a sequence input and a sequence output: xs (a
// sequence of float32 [?,4]) and b [4] -> ys = SequenceMap(Relu(x + b)) and
// y = MatMul(ConcatFromSequence(ys, axis 0), W) [?,3].
func seqIOModel(t *testing.T, dir string) (string, *graph.Tensor) {
	t.Helper()
	r := rand.New(rand.NewSource(23))
	w := graph.NewTensor(graph.Float32, []int{4, 3})
	for i := range w.F32() {
		w.F32()[i] = float32(r.Intn(7) - 3)
	}
	elem := graph.Shape{{Size: -1}, {Size: 4}}
	body := &graph.Graph{Name: "body", Initializers: map[string]*graph.Tensor{}, Values: map[string]*graph.Value{},
		Inputs: []*graph.Value{{Name: "x", DType: graph.Float32, Shape: elem, HasShape: true},
			{Name: "bb", DType: graph.Float32, Shape: graph.Shape{{Size: 4}}, HasShape: true}},
		Nodes: []*graph.Node{
			{Name: "add", OpType: "Add", Inputs: []string{"x", "bb"}, Outputs: []string{"s"}, Attrs: map[string]*graph.Attr{}},
			{Name: "relu", OpType: "Relu", Inputs: []string{"s"}, Outputs: []string{"e"}, Attrs: map[string]*graph.Attr{}},
		},
		Outputs: []*graph.Value{{Name: "e", DType: graph.Float32, Shape: elem, HasShape: true}},
	}
	g := &graph.Graph{Name: "seqio", Initializers: map[string]*graph.Tensor{"W": w}, Values: map[string]*graph.Value{},
		Inputs: []*graph.Value{{Name: "xs", DType: graph.Float32, Seq: true, Shape: elem, HasShape: true},
			{Name: "b", DType: graph.Float32, Shape: graph.Shape{{Size: 4}}, HasShape: true}},
		Nodes: []*graph.Node{
			{Name: "map", OpType: "SequenceMap", Inputs: []string{"xs", "b"}, Outputs: []string{"ys"},
				Attrs: map[string]*graph.Attr{"body": {Name: "body", Type: graph.AttrGraph, G: body}}},
			{Name: "cat", OpType: "ConcatFromSequence", Inputs: []string{"ys"}, Outputs: []string{"c"}, Attrs: map[string]*graph.Attr{}},
			{Name: "mm", OpType: "MatMul", Inputs: []string{"c", "W"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{}},
		},
		Outputs: []*graph.Value{{Name: "ys", DType: graph.Float32, Seq: true}, {Name: "y", DType: graph.Float32}},
	}
	g.Nodes[1].SetAttrInt("axis", 0)
	path := filepath.Join(dir, "seqio.onnx")
	require.NoError(t, (&graph.Model{Graph: g, IRVersion: 8, Opsets: map[string]int64{"": 17}}).Save(path))
	return path, w
}

func writeNPZ(t *testing.T, path string, arrays ...dataset.NamedTensor) {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, dataset.WriteNPZ(&b, arrays))
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
}

func randRows(r *rand.Rand, rows int) *graph.Tensor {
	x := graph.NewTensor(graph.Float32, []int{rows, 4})
	for i := range x.F32() {
		x.F32()[i] = float32(r.Intn(9) - 4)
	}
	return x
}

// Sequence inputs and outputs on the command line: `run` reads a sequence input
// from an .npz as NAME.0, NAME.1, ... and writes a sequence output the same way
// (values checked against the element-by-element computation), `quantize`
// calibrates on a folder of such files and `compare` reports the sequence output
// over all its elements.
func TestSequenceInputsOutputsCLI(t *testing.T) {
	dir := t.TempDir()
	model, w := seqIOModel(t, dir)
	r := rand.New(rand.NewSource(5))
	data := filepath.Join(dir, "data")
	require.NoError(t, os.Mkdir(data, 0o755))
	b := graph.FromFloat32([]int{4}, []float32{0.5, -1, 0, 2})
	var x0, x1 *graph.Tensor
	for s := 0; s < 4; s++ {
		a, c := randRows(r, 2+s), randRows(r, 1+s%2)
		if s == 0 {
			x0, x1 = a, c
		}
		writeNPZ(t, filepath.Join(data, fmt.Sprintf("s%d.npz", s)),
			dataset.NamedTensor{Name: "xs.0", Tensor: a}, dataset.NamedTensor{Name: "xs.1", Tensor: c}, dataset.NamedTensor{Name: "b", Tensor: b})
	}
	in := filepath.Join(data, "s0.npz")
	relu := func(x *graph.Tensor) []float32 {
		out := make([]float32, x.Len())
		for i, v := range x.F32() {
			out[i] = max(v+b.F32()[i%4], 0)
		}
		return out
	}

	out := filepath.Join(dir, "out.npz")
	code, stdout, stderr := runCLI("run", model, "--input", in, "--output", out)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "ys sequence of 2 float32 tensor(s)")
	assert.Contains(t, stdout, "ys.1 float32[1,4]")
	got, err := dataset.ReadNPZ(out)
	require.NoError(t, err)
	require.Contains(t, got, "ys.0")
	require.Contains(t, got, "ys.1")
	assert.Equal(t, relu(x0), got["ys.0"].F32())
	assert.Equal(t, relu(x1), got["ys.1"].F32())
	cat := append(relu(x0), relu(x1)...)
	wantY := make([]float32, len(cat)/4*3)
	for i := 0; i < len(cat)/4; i++ {
		for j := 0; j < 3; j++ {
			for k := 0; k < 4; k++ {
				wantY[i*3+j] += cat[i*4+k] * w.F32()[k*3+j]
			}
		}
	}
	assert.Equal(t, wantY, got["y"].F32())

	// The written file feeds a model input again (round trip through the convention).
	code, stdout, stderr = runCLI("run", model, "--json", "--input", in)
	require.Equal(t, 0, code, stderr)
	var rep struct {
		Outputs []struct {
			Name     string
			Sequence bool
			Elements []struct {
				Name  string
				Shape []int
				Data  []float64
			}
		}
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	require.Len(t, rep.Outputs, 2)
	assert.True(t, rep.Outputs[0].Sequence)
	require.Len(t, rep.Outputs[0].Elements, 2)
	assert.Equal(t, "ys.1", rep.Outputs[0].Elements[1].Name)
	assert.Equal(t, []int{x1.Shape[0], 4}, rep.Outputs[0].Elements[1].Shape)
	assert.Len(t, rep.Outputs[0].Elements[1].Data, x1.Len())
	assert.False(t, rep.Outputs[1].Sequence)

	code, _, stderr = runCLI("run", model, "--input", in, "--output", filepath.Join(dir, "out.npy"))
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `output "ys" is a sequence`)

	q := filepath.Join(dir, "q.onnx")
	code, stdout, stderr = runCLI("quantize", model, "--calib-data", data, "-o", q)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "on 4 images")
	code, stdout, stderr = runCLI("compare", model, q, "--data", data)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "| ys ")
	assert.Contains(t, stdout, "| y ")
	// sim prepares the float model on the same files: one sample per batch.
	code, stdout, stderr = runCLI("sim", model, "--data", data)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "latency")
}

// Bad sequence files: each refused before anything runs, naming the file, the
// input and what to give.
func TestSequenceInputFileErrors(t *testing.T) {
	dir := t.TempDir()
	model, _ := seqIOModel(t, dir)
	x := randRows(rand.New(rand.NewSource(1)), 2)
	b := graph.FromFloat32([]int{4}, []float32{0, 0, 0, 0})
	nt := func(name string, t *graph.Tensor) dataset.NamedTensor {
		return dataset.NamedTensor{Name: name, Tensor: t}
	}
	for _, tc := range []struct {
		name   string
		arrays []dataset.NamedTensor
		err    string
	}{
		{"a gap in the elements", []dataset.NamedTensor{nt("xs.0", x), nt("xs.2", x), nt("b", b)}, `array "xs.1" is missing`},
		{"one array for the sequence", []dataset.NamedTensor{nt("xs", x), nt("b", b)}, `input "xs" is a sequence: give its elements as arrays "xs.0", "xs.1"`},
		{"no arrays for the sequence", []dataset.NamedTensor{nt("b", b)}, `no arrays for sequence input "xs"`},
		{"empty and elements", []dataset.NamedTensor{nt("xs.empty", graph.NewTensor(graph.Float32, []int{0})), nt("xs.0", x), nt("b", b)}, `both "xs.empty"`},
		{"an element of the wrong width", []dataset.NamedTensor{nt("xs.0", graph.NewTensor(graph.Float32, []int{2, 5})), nt("b", b)}, `element 0 has shape [2,5], the model's elements are [?,4] (dimension 1 is 5, not 4)`},
		{"an element of the wrong rank", []dataset.NamedTensor{nt("xs.0", graph.NewTensor(graph.Float32, []int{8})), nt("b", b)}, `element 0 has shape [8], the model's elements have rank 2`},
		{"a batch beside the sequence", []dataset.NamedTensor{nt("xs.0", x), nt("b", graph.NewTensor(graph.Float32, []int{3, 4}))}, `holds 3 samples: a file with a sequence holds one sample`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := filepath.Join(dir, "bad.npz")
			writeNPZ(t, in, tc.arrays...)
			code, _, stderr := runCLI("run", model, "--input", in)
			assert.Equal(t, 1, code)
			assert.Contains(t, stderr, tc.err)
			assert.Contains(t, stderr, "bad.npz")
		})
	}
	// A raw file for a one-input model whose input is a sequence: a usage error.
	seqOnly := "/usr/share/libonnx-testdata/data/node/test_sequence_map_identity_1_sequence/model.onnx"
	if _, err := os.Stat(seqOnly); err != nil {
		t.Skip("libonnx-testdata not installed (make test installs it)")
	}
	raw := filepath.Join(dir, "x.bin")
	require.NoError(t, os.WriteFile(raw, make([]byte, 16), 0o644))
	code, _, stderr := runCLI("run", seqOnly, "--input", raw, "--shape", "4")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `input "x" is a sequence; a raw --input holds one tensor`)
}

// seqIOFiles writes seqIOModel and one input file for it (xs of two elements).
func seqIOFiles(t *testing.T, dir string) (model, input string) {
	t.Helper()
	model, _ = seqIOModel(t, dir)
	r := rand.New(rand.NewSource(2))
	input = filepath.Join(dir, "seq_in.npz")
	writeNPZ(t, input, dataset.NamedTensor{Name: "xs.0", Tensor: randRows(r, 2)}, dataset.NamedTensor{Name: "xs.1", Tensor: randRows(r, 3)},
		dataset.NamedTensor{Name: "b", Tensor: graph.NewTensor(graph.Float32, []int{4})})
	return model, input
}
