package main

import (
	"encoding/json"
	"math"
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/ortoracle"
	"github.com/warboy-sim/warboy/runtime"
)

// sweepCases are the small models of the robustness sweep (scripts/sweep_models.py
// testdata): paddle2onnx-style spellings at opsets 9, 11 and 13 (Identity-fed and
// Constant-node weights, a 5-output training-mode BatchNormalization at opset 9,
// Clip with attributes, opset-9 Upsample, Resize with empty roi/scales and sizes from
// a Shape chain, attribute-form Squeeze/Unsqueeze, Range, Expand, Where,
// ConstantOfShape, NonZero, int64 outputs), and a MaxViT-style attention written
// with torch.einsum.
var sweepCases = []struct {
	model, data, shape string
	intOutputs         []string
	other              []int // an input shape other than the calibration data's
}{
	{"spellings_op9", "npy_spellings", "input=1,3,32,48", nil, []int{2, 3, 40, 56}},
	{"spellings_op11", "npy_spellings", "input=1,3,32,48", []string{"nz", "count"}, []int{2, 3, 40, 56}},
	{"spellings_op13", "npy_spellings", "input=1,3,32,48", []string{"nz", "count"}, []int{1, 3, 36, 20}},
	{"einsum_attention_opset13", "npy_windows", "x=1,4,9,16", nil, []int{2, 3, 9, 16}},
}

// TestSweepExportedModels runs inspect, run, quantize, compare and sim on each; the
// int8 model must stay within 30 dB of the float one on every float output (the
// opset-9 model gave 15 dB when its training-mode BatchNormalization was folded),
// and compare must measure the int64 outputs instead of failing on them.
func TestSweepExportedModels(t *testing.T) {
	for _, c := range sweepCases {
		t.Run(c.model, func(t *testing.T) {
			model := filepath.Join(exportedDir, c.model+".onnx")
			data := filepath.Join(exportedDir, c.data)
			code, out, errOut := runCLI("inspect", model, "--input-shape", c.shape, "--json")
			require.Equal(t, 0, code, errOut)
			var ir inspectReport
			require.NoError(t, json.Unmarshal([]byte(out), &ir))
			assert.True(t, ir.MACsComplete)
			assert.Greater(t, ir.MACs, int64(1000))

			code, _, errOut = runCLI("run", model, "--data", data, "--index", "0", "--json")
			require.Equal(t, 0, code, errOut)

			q := filepath.Join(t.TempDir(), "q.onnx")
			code, _, errOut = runCLI("quantize", model, "--calib-data", data, "--batch", "1", "-o", q)
			require.Equal(t, 0, code, errOut)
			code, out, errOut = runCLI("compare", model, q, "--data", data, "--batch", "1", "--json")
			require.Equal(t, 0, code, errOut)
			var cr compareReport
			require.NoError(t, json.Unmarshal([]byte(out), &cr))
			seen := map[string]bool{}
			for _, o := range cr.Top1 {
				seen[o.Output] = true
				assert.Positive(t, o.Values, o.Output)
				if contains(c.intOutputs, o.Output) {
					assert.Zero(t, o.Classes, "%s holds indices, not class scores", o.Output)
					assert.Zero(t, o.MaxAbsErr, o.Output)
					continue
				}
				assert.Greater(t, float64(o.SQNR), 30.0, o.Output)
			}
			for _, o := range c.intOutputs {
				assert.True(t, seen[o], "output %s compared", o)
			}
			code, _, errOut = runCLI("sim", q, "--input-shape", c.shape, "--json")
			require.Equal(t, 0, code, errOut)

			// The int8 model at another input size: shape arithmetic (the Resize sizes
			// computed from Shape in float) is not quantized, so the shapes follow.
			fm, err := graph.Load(model)
			require.NoError(t, err)
			qm, err := graph.Load(q)
			require.NoError(t, err)
			x := graph.NewTensor(graph.Float32, c.other)
			rng := rand.New(rand.NewSource(5))
			for i := range x.F32() {
				x.F32()[i] = float32(rng.NormFloat64())
			}
			in := map[string]*graph.Tensor{fm.Graph.Inputs[0].Name: x}
			fs, err := runtime.NewSession(fm)
			require.NoError(t, err)
			qs, err := runtime.NewSession(qm)
			require.NoError(t, err)
			want, err := fs.RunTensors(in)
			require.NoError(t, err)
			got, err := qs.RunTensors(in)
			require.NoError(t, err)
			for _, o := range fs.Outputs() {
				require.Equal(t, want[o.Name].Shape, got[o.Name].Shape, o.Name)
				if w := want[o.Name].F32(); w != nil {
					var ss, se float64
					for i, v := range got[o.Name].F32() {
						ss += float64(w[i]) * float64(w[i])
						se += (float64(v) - float64(w[i])) * (float64(v) - float64(w[i]))
					}
					assert.Greater(t, 10*math.Log10(ss/math.Max(se, 1e-30)), 20.0, "%s at %v", o.Name, c.other)
				}
			}
		})
	}
}

// TestSweepExportedFloatAgreesWithORT checks the float32 executor against ONNX
// Runtime on the same models (Einsum, training-mode BatchNormalization, Upsample,
// NonZero ...).
func TestSweepExportedFloatAgreesWithORT(t *testing.T) {
	if err := ortoracle.Available(); err != nil {
		t.Skip(err)
	}
	if testing.Short() {
		t.Skip("ONNX Runtime interop: not in -short")
	}
	for _, c := range sweepCases {
		t.Run(c.model, func(t *testing.T) {
			model := filepath.Join(exportedDir, c.model+".onnx")
			_, set, sess := exportedSession(t, c.model+".onnx", c.data, runtime.ModeFloat)
			for i := 0; i < set.Len(); i++ {
				in, err := set.Batch(i, 1)
				require.NoError(t, err)
				ours, err := sess.RunTensors(in)
				require.NoError(t, err)
				theirs, err := ortoracle.Run(model, in, 1)
				require.NoError(t, err)
				for _, o := range sess.Outputs() {
					a, b := ours[o.Name], theirs[o.Name]
					require.Equal(t, b.Shape, a.Shape, o.Name)
					av, err := a.AsFloat64()
					require.NoError(t, err)
					bv, err := b.AsFloat64()
					require.NoError(t, err)
					for j := range av {
						require.InDelta(t, bv[j], av[j], 1e-4+1e-4*math.Abs(bv[j]), "%s[%d]", o.Name, j)
					}
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// A dynamically quantized model has no quantized activations to pair with the float
// model's tensors; compare used to refuse it ("no tensor of the float model has a
// quantized counterpart"). Its outputs and the float tensors both models compute under
// one name are compared.
func TestCompareDynamicModel(t *testing.T) {
	model := filepath.Join(exportedDir, "transformer_opset13.onnx")
	q := filepath.Join(t.TempDir(), "dyn.onnx")
	code, _, errOut := runCLI("quantize", model, "--dynamic", "-o", q)
	require.Equal(t, 0, code, errOut)
	code, out, errOut := runCLI("compare", model, q, "--data", filepath.Join(exportedDir, "npz_seq"), "--json")
	require.Equal(t, 0, code, errOut)
	var cr compareReport
	require.NoError(t, json.Unmarshal([]byte(out), &cr))
	assert.NotEmpty(t, cr.Layers)
	require.NotEmpty(t, cr.Top1)
	for _, o := range cr.Top1 {
		assert.Greater(t, float64(o.SQNR), 25.0, o.Output)
		assert.Positive(t, o.Values)
	}
	code, out, errOut = runCLI("compare", model, q, "--data", filepath.Join(exportedDir, "npz_seq"))
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "tensors of both models (dynamic quantization")
}

// A BERT-style encoder's key-padding mask is Where(mask, -inf, 0) added to the
// attention scores. Calibration used to stop at the first -Inf ("non-finite
// value"); quantizing the mask would also destroy it. The masked tensors stay float32
// and the rest is int8.
func TestMiniBertAttentionMask(t *testing.T) {
	model := filepath.Join(exportedDir, "minibert_opset14.onnx")
	data := filepath.Join(exportedDir, "npz_bert")
	q := filepath.Join(t.TempDir(), "q.onnx")
	code, out, errOut := runCLI("quantize", model, "--calib-data", data, "--batch", "2", "-o", q, "-v")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out+errOut, "carries an attention mask")
	code, out, errOut = runCLI("compare", model, q, "--data", data, "--batch", "2", "--json")
	require.Equal(t, 0, code, errOut)
	var cr compareReport
	require.NoError(t, json.Unmarshal([]byte(out), &cr))
	require.Len(t, cr.Top1, 1)
	assert.Greater(t, float64(cr.Top1[0].SQNR), 25.0)
	assert.Greater(t, cr.Top1[0].Agreement, 0.99)
	code, _, errOut = runCLI("sim", q, "--input-shape", "input_ids=1,12", "--input-shape", "attention_mask=1,12",
		"--input-shape", "token_type_ids=1,12", "--json")
	require.Equal(t, 0, code, errOut)
}
