package main

import (
	"encoding/json"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/ortoracle"
	"github.com/warboy-sim/warboy/runtime"
)

var exportedDir = filepath.Join("..", "..", "testdata", "exported")

// exportedCase is one torch.onnx-exported model of testdata/exported (made by
// scripts/export_testmodels.py) with the data that fits it.
type exportedCase struct {
	name, input string
	shape       string   // an --input-shape binding its symbolic dimensions
	calib       []string // quantize flags
	data        []string // compare / run flags
	symbolic    []string // dimensions inspect must name when unbound
}

func exportedCases() []exportedCase {
	d := func(p string) string { return filepath.Join(exportedDir, p) }
	var out []exportedCase
	for _, opset := range []string{"11", "13"} {
		out = append(out,
			exportedCase{"classifier_opset" + opset, "input", "input=1,3,224,224",
				[]string{"--calib-data", d("images"), "--preprocess", "imagenet"}, []string{"--data", d("npy")},
				[]string{"input[2] (height)", "input[3] (width)"}},
			exportedCase{"detector_opset" + opset, "images", "images=1,3,640,640",
				[]string{"--calib-data", d("npy_det")}, []string{"--data", d("npy_det")},
				[]string{"images[2] (height)", "images[3] (width)"}},
			exportedCase{"transformer_opset" + opset, "x", "x=1,16,64",
				[]string{"--calib-data", d("npz_seq")}, []string{"--data", d("npz_seq")},
				[]string{"x[1] (seq)"}},
			exportedCase{"recognizer_opset" + opset, "line", "line=1,1,32,100",
				[]string{"--calib-data", d("npy_lines")}, []string{"--data", d("npy_lines")},
				[]string{"line[3] (width)"}})
	}
	// BatchNormalization left unfolded by the exporter (TrainingMode.PRESERVE).
	out = append(out, exportedCase{"classifier_bn_opset13", "input", "input=1,3,224,224",
		[]string{"--calib-data", d("images"), "--preprocess", "imagenet"}, []string{"--data", d("npy")},
		[]string{"input[2] (height)", "input[3] (width)"}})
	return out
}

// TestExportedModels runs inspect, run, quantize, compare and sim on every exported
// model through the CLI.
func TestExportedModels(t *testing.T) {
	for _, c := range exportedCases() {
		t.Run(c.name, func(t *testing.T) {
			model := filepath.Join(exportedDir, c.name+".onnx")
			// inspect: symbolic dimensions are named, never replaced by 1.
			code, out, errOut := runCLI("inspect", model, "--json")
			require.Equal(t, 0, code, errOut)
			var ir inspectReport
			require.NoError(t, json.Unmarshal([]byte(out), &ir))
			assert.False(t, ir.MACsComplete)
			assert.Equal(t, c.symbolic, ir.SymbolicDims)
			assert.Greater(t, ir.Params, int64(10000))
			code, out, errOut = runCLI("inspect", model, "--input-shape", c.shape, "--json")
			require.Equal(t, 0, code, errOut)
			ir = inspectReport{}
			require.NoError(t, json.Unmarshal([]byte(out), &ir))
			assert.True(t, ir.MACsComplete)
			assert.Greater(t, ir.MACs, int64(100000))
			for _, n := range ir.Nodes {
				if n.OpType == "LSTM" {
					// 25 steps x 2 directions x 4 gates x 32 x (48 + 32)
					assert.Equal(t, int64(25*2*128*80), n.MACs)
				}
			}

			// run on the first sample of the data.
			code, out, errOut = runCLI(append([]string{"run", model, "--index", "0", "--json"}, c.data...)...)
			require.Equal(t, 0, code, errOut)
			var rr runReport
			require.NoError(t, json.Unmarshal([]byte(out), &rr))
			require.NotEmpty(t, rr.Outputs)
			for _, v := range rr.Outputs[0].Data {
				require.False(t, math.IsNaN(v))
			}

			// quantize, then compare every output.
			q := filepath.Join(t.TempDir(), "q.onnx")
			code, _, errOut = runCLI(append([]string{"quantize", model, "-o", q, "--json"}, c.calib...)...)
			require.Equal(t, 0, code, errOut)
			code, out, errOut = runCLI("inspect", q, "--json")
			require.Equal(t, 0, code, errOut)
			var qr inspectReport
			require.NoError(t, json.Unmarshal([]byte(out), &qr))
			assert.Zero(t, qr.OpCounts["BatchNormalization"], "BatchNormalization is folded")
			// every executed node runs int8 or computes shapes, except the LSTM (dynamic
			// quantization of recurrent layers is separate work).
			for _, p := range qr.Placement {
				if p.OpType != "LSTM" {
					assert.Contains(t, []string{"int8", "shape"}, p.Runs, "%s (%s)", p.Name, p.OpType)
				}
			}
			code, out, errOut = runCLI(append([]string{"compare", model, q, "--json"}, c.data...)...)
			require.Equal(t, 0, code, errOut)
			var cr compareReport
			require.NoError(t, json.Unmarshal([]byte(out), &cr))
			require.NotEmpty(t, cr.Top1)
			for _, o := range cr.Top1 {
				assert.Greater(t, float64(o.SQNR), 25.0, "output %s", o.Output)
				assert.Greater(t, o.Cosine, 0.99)
				assert.Greater(t, o.MeanAbsErr, 0.0)
				assert.LessOrEqual(t, o.MeanAbsErr, o.MaxAbsErr)
			}

			// sim: a symbolic dimension other than the batch must be given; then the
			// float graph's timing, and the quantized model.
			code, _, errOut = runCLI("sim", model, "--timing-only", "--json")
			require.Equal(t, 1, code, errOut)
			assert.Contains(t, errOut, "is symbolic; give it with --input-shape")
			code, _, errOut = runCLI("sim", model, "--timing-only", "--input-shape", c.shape, "--json")
			require.Equal(t, 0, code, errOut)
			code, _, errOut = runCLI("sim", q, "--input-shape", c.shape, "--json")
			require.Equal(t, 0, code, errOut)
		})
	}
}

// TestQuantizeBindsInputShape: quantize --input-shape writes a model of that shape,
// with its Shape/Gather/Unsqueeze/Concat subgraphs folded to constants.
func TestQuantizeBindsInputShape(t *testing.T) {
	model := filepath.Join(exportedDir, "detector_opset11.onnx")
	q := filepath.Join(t.TempDir(), "q.onnx")
	code, _, errOut := runCLI("quantize", model, "-o", q, "--calib-data", filepath.Join(exportedDir, "npy_det"), "--input-shape", "images=1,3,64,96")
	require.Equal(t, 0, code, errOut)
	code, out, errOut := runCLI("inspect", q, "--json")
	require.Equal(t, 0, code, errOut)
	var ir inspectReport
	require.NoError(t, json.Unmarshal([]byte(out), &ir))
	assert.Equal(t, "[1,3,64,96]", ir.Inputs[0].Shape)
	for _, op := range []string{"Shape", "Gather", "Unsqueeze", "Concat"} {
		if op == "Concat" {
			assert.Equal(t, 2, ir.OpCounts[op], "only the two data Concats are left")
			continue
		}
		assert.Zero(t, ir.OpCounts[op], op)
	}
	assert.True(t, ir.MACsComplete)
	code, out, errOut = runCLI("compare", filepath.Join(exportedDir, "detector_opset11.onnx"), q, "--data", filepath.Join(exportedDir, "npy_det"), "--json")
	require.Equal(t, 0, code, errOut)
	var cr compareReport
	require.NoError(t, json.Unmarshal([]byte(out), &cr))
	assert.Equal(t, 3, cr.Samples)
	assert.Greater(t, float64(cr.Top1[0].SQNR), 30.0)
}

// A detector quantized for one input size (--input-shape) is compared on images
// letterboxed to that size without repeating --input-shape: the int8 model's bound
// shape applies to the float model's symbolic one.
func TestCompareTakesBoundShape(t *testing.T) {
	model := filepath.Join(exportedDir, "detector_opset13.onnx")
	imgs := filepath.Join(exportedDir, "images")
	q := filepath.Join(t.TempDir(), "q.onnx")
	code, _, errOut := runCLI("quantize", model, "-o", q, "--calib-data", imgs, "--preprocess", "yolo", "--input-shape", "images=1,3,64,96", "--batch", "1")
	require.Equal(t, 0, code, errOut)
	code, out, errOut := runCLI("compare", model, q, "--data", imgs, "--preprocess", "yolo", "--json")
	require.Equal(t, 0, code, errOut)
	var cr compareReport
	require.NoError(t, json.Unmarshal([]byte(out), &cr))
	assert.Equal(t, 6, cr.Samples)
	assert.Equal(t, [][]int{{1, 3, 8, 12, 9}}, cr.Top1[0].Shapes)
}

// TestDataErrorsWriteNothing: bad data fails quantize with a message naming the
// problem, and no output file appears.
func TestDataErrorsWriteNothing(t *testing.T) {
	dir := t.TempDir()
	clf := filepath.Join(exportedDir, "classifier_opset13.onnx")
	broken := filepath.Join(dir, "broken")
	require.NoError(t, os.Mkdir(broken, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(broken, "a.png"), []byte("\x89PNG garbage"), 0o600))
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown step", []string{clf, "--calib-data", filepath.Join(exportedDir, "images"), "--preprocess", "imagenet,blur=3"}, `unknown step "blur"`},
		{"image does not decode", []string{clf, "--calib-data", broken, "--preprocess", "imagenet"}, "a.png"},
		{"sample shape", []string{clf, "--calib-data", filepath.Join(exportedDir, "npy_det"), "--input-shape", "input=1,3,48,48"}, `det0.npy: sample shape [1,3,64,96] does not fit input "input"`},
		{"npz missing input", []string{filepath.Join(exportedDir, "detector_opset13.onnx"), "--calib-data", filepath.Join(exportedDir, "npz_seq")}, `no array for input "images"`},
		{"symbolic letterbox", []string{clf, "--calib-data", filepath.Join(exportedDir, "images"), "--preprocess", "yolo"}, "--input-shape"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name+".onnx")
			code, _, errOut := runCLI(append([]string{"quantize", "-o", out}, tc.args...)...)
			assert.NotEqual(t, 0, code)
			assert.Contains(t, errOut, tc.want)
			_, err := os.Stat(out)
			assert.True(t, os.IsNotExist(err), "nothing written")
		})
	}
}

// smoothSamples makes n ImageNet-normalised-looking inputs [1,3,h,w] (blocky random
// colours plus noise), for agreement figures over more samples than the committed ones.
func smoothSamples(n, h, w int, seed int64) []*graph.Tensor {
	rng := rand.New(rand.NewSource(seed))
	out := make([]*graph.Tensor, n)
	for k := range out {
		x := make([]float32, 3*h*w)
		bh, bw := h/8+1, w/8+1
		blocks := make([]float32, 3*bh*bw)
		for i := range blocks {
			blocks[i] = rng.Float32()
		}
		for c := 0; c < 3; c++ {
			mean, std := []float32{0.485, 0.456, 0.406}[c], []float32{0.229, 0.224, 0.225}[c]
			for y := 0; y < h; y++ {
				for xx := 0; xx < w; xx++ {
					v := blocks[c*bh*bw+(y/8)*bw+xx/8] + float32(rng.NormFloat64())*0.05
					x[c*h*w+y*w+xx] = (v - mean) / std
				}
			}
		}
		out[k] = graph.FromFloat32([]int{1, 3, h, w}, x)
	}
	return out
}

// TestExportedInt8AgreesWithORT: models quantized by `warboy quantize` from a folder
// of .npy tensors and from images with --preprocess imagenet run int8 here as ONNX
// Runtime runs the same QDQ file: top-1 agreement >= 99.9 % on the classifier, SQNR
// against ONNX Runtime >= 30 dB on the other outputs.
func TestExportedInt8AgreesWithORT(t *testing.T) {
	if err := ortoracle.Available(); err != nil {
		t.Skip(err)
	}
	if testing.Short() {
		t.Skip("ONNX Runtime interop: not in -short")
	}
	dir := t.TempDir()
	for _, c := range []struct {
		model string
		calib []string
		data  func() []map[string]*graph.Tensor
	}{
		{"classifier_opset13", []string{"--calib-data", filepath.Join(exportedDir, "npy")}, func() []map[string]*graph.Tensor {
			return []map[string]*graph.Tensor{{"input": stack(smoothSamples(200, 64, 64, 1))}}
		}},
		{"classifier_opset11", []string{"--calib-data", filepath.Join(exportedDir, "images"), "--preprocess", "imagenet"}, func() []map[string]*graph.Tensor {
			return []map[string]*graph.Tensor{{"input": stack(smoothSamples(40, 224, 224, 2))}}
		}},
		{"detector_opset13", []string{"--calib-data", filepath.Join(exportedDir, "npy_det")}, nil},
		{"transformer_opset11", []string{"--calib-data", filepath.Join(exportedDir, "npz_seq")}, nil},
		{"recognizer_opset13", []string{"--calib-data", filepath.Join(exportedDir, "npy_lines")}, nil},
	} {
		t.Run(c.model, func(t *testing.T) {
			model := filepath.Join(exportedDir, c.model+".onnx")
			q := filepath.Join(dir, c.model+"_int8.onnx")
			code, _, errOut := runCLI(append([]string{"quantize", model, "-o", q}, c.calib...)...)
			require.Equal(t, 0, code, errOut)
			qm, err := graph.Load(q)
			require.NoError(t, err)
			sess, err := runtime.NewSession(qm, runtime.WithMode(runtime.ModeInt8))
			require.NoError(t, err)
			var inputs []map[string]*graph.Tensor
			if c.data != nil {
				inputs = c.data()
			} else {
				data := filepath.Join(exportedDir, map[string]string{"detector_opset13": "npy_det", "transformer_opset11": "npz_seq",
					"recognizer_opset13": "npy_lines"}[c.model])
				set, err := dataset.Open(data, dataset.Options{Inputs: modelInputs(qm.Graph)})
				require.NoError(t, err)
				for i := 0; i < set.Len(); i++ {
					b, err := set.Batch(i, 1)
					require.NoError(t, err)
					inputs = append(inputs, b)
				}
			}
			var ss, se float64
			agree, total, samples := 0, 0, 0
			for _, in := range inputs {
				for _, x := range in {
					samples += x.Shape[0]
					break
				}
				ours, err := sess.RunTensors(in)
				require.NoError(t, err)
				theirs, err := ortoracle.Run(q, in, 2)
				require.NoError(t, err)
				for _, o := range sess.Outputs() {
					a, b := ours[o.Name].F32(), theirs[o.Name].F32()
					require.Equal(t, len(b), len(a))
					for i := range a {
						ss += float64(b[i]) * float64(b[i])
						se += (float64(a[i]) - float64(b[i])) * (float64(a[i]) - float64(b[i]))
					}
					if len(ours[o.Name].Shape) == 2 {
						p1, err := dataset.Top1(ours[o.Name])
						require.NoError(t, err)
						p2, err := dataset.Top1(theirs[o.Name])
						require.NoError(t, err)
						for i := range p1 {
							total++
							if p1[i] == p2[i] {
								agree++
							}
						}
					}
				}
			}
			sqnr := 10 * math.Log10(ss/math.Max(se, 1e-30))
			t.Logf("%s: %d samples, SQNR against ONNX Runtime %.1f dB, top-1 agreement %d/%d", c.model, samples, sqnr, agree, total)
			if total > 0 {
				assert.GreaterOrEqual(t, float64(agree)/float64(total), 0.999)
			} else {
				assert.GreaterOrEqual(t, sqnr, 30.0)
			}
		})
	}
}

func stack(ts []*graph.Tensor) *graph.Tensor {
	per := ts[0].Len()
	x := make([]float32, 0, per*len(ts))
	for _, t := range ts {
		x = append(x, t.F32()...)
	}
	return graph.FromFloat32(append([]int{len(ts)}, ts[0].Shape[1:]...), x)
}

// exportedSession loads testdata/exported/MODEL, opens the samples in its DATA
// directory bound to the model's inputs, and builds a session in mode: the setup every
// exported-model test shares.
func exportedSession(t *testing.T, model, data string, mode runtime.Mode) (*graph.Model, *dataset.Set, *runtime.Session) {
	t.Helper()
	m, err := graph.Load(filepath.Join(exportedDir, model))
	require.NoError(t, err)
	set, err := dataset.Open(filepath.Join(exportedDir, data), dataset.Options{Inputs: modelInputs(m.Graph)})
	require.NoError(t, err)
	sess, err := runtime.NewSession(m, runtime.WithMode(mode))
	require.NoError(t, err)
	return m, set, sess
}
