package main

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// The STFT operator as torch >= 2.1 writes torch.stft at opset 17
// (scripts/make_unseen9_testdata.py; whisper_stft_op17 of --unseen9): a real
// signal with a Hann window, onesided, and a complex signal with frame_length and
// no window, two-sided, at symbolic lengths. Before, every command refused the
// model: `STFT (output "stft"): unsupported operator STFT`.
func TestSTFTAsORT(t *testing.T) {
	m, err := graph.Load(filepath.Join(exportedDir, "stft_op17.onnx"))
	require.NoError(t, err)
	sess, err := runtime.NewSession(m)
	require.NoError(t, err)
	for i := 0; i < 2; i++ {
		in, err := dataset.ReadNPZ(filepath.Join(exportedDir, "npz_stft", fmt.Sprintf("s%d.npz", i)))
		require.NoError(t, err)
		ort, err := dataset.ReadNPZ(filepath.Join(exportedDir, "npz_stft_ort", fmt.Sprintf("s%d.npz", i)))
		require.NoError(t, err)
		got, err := sess.RunTensors(in)
		require.NoError(t, err)
		for _, name := range []string{"spec", "cspec"} {
			require.Equal(t, ort[name].Shape, got[name].Shape, "%s sample %d", name, i)
			// ONNX Runtime sums the two-sided 24-point DFT in float32: 2e-5 on values of 7
			assert.Less(t, maxErrOfMax(ort[name].F32(), got[name].F32()), 1e-5, "%s sample %d", name, i)
		}
	}
}

// The opset-18 spellings of the newer exporters (scripts/make_unseen9_testdata.py;
// dynamo_op18 of --unseen9): Mish as an operator, Split with num_outputs on an axis
// that does not divide, Pad with an axes input, Col2Im (F.fold) with overlapping
// blocks and with strides, Reduce with axes inputs. Before, loading stopped at the
// first (`Mish (output "mish1"): unsupported operator Mish`), then at each of the
// others in turn.
func TestOpset18Spellings(t *testing.T) {
	m, err := graph.Load(filepath.Join(exportedDir, "opset18_spellings.onnx"))
	require.NoError(t, err)
	for _, threads := range []int{1, 2} {
		sess, err := runtime.NewSession(m, runtime.WithThreads(threads))
		require.NoError(t, err)
		for i := 0; i < 2; i++ {
			in, err := dataset.ReadNPZ(filepath.Join(exportedDir, "npz_op18", fmt.Sprintf("s%d.npz", i)))
			require.NoError(t, err)
			ort, err := dataset.ReadNPZ(filepath.Join(exportedDir, "npz_op18_ort", fmt.Sprintf("s%d.npz", i)))
			require.NoError(t, err)
			got, err := sess.RunTensors(in)
			require.NoError(t, err)
			for _, name := range []string{"rmax", "rsum"} {
				require.Equal(t, ort[name].Shape, got[name].Shape, "%s sample %d", name, i)
				assert.InDeltaSlice(t, ort[name].F32(), got[name].F32(), 1e-4, "%s sample %d threads %d", name, i, threads)
			}
		}
	}
}

// The same model through quantize and compare: the Pad over an axes input is
// made full-rank by optimize before the int8 lowering and the NPU placement read
// its pads (both take pads over every axis).
func TestQuantizeOpset18Spellings(t *testing.T) {
	model := filepath.Join(exportedDir, "opset18_spellings.onnx")
	q := filepath.Join(t.TempDir(), "op18.int8.onnx")
	code, _, errOut := runCLI("quantize", model, "--calib-data", filepath.Join(exportedDir, "npz_op18"), "--batch", "1", "-o", q)
	require.Equal(t, 0, code, errOut)
	code, out, errOut := runCLI("compare", model, q, "--data", filepath.Join(exportedDir, "npz_op18"), "--batch", "1", "--json")
	require.Equal(t, 0, code, errOut)
	var rep struct {
		Outputs []struct {
			SQNR float64 `json:"sqnr_db"`
		} `json:"outputs"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.Len(t, rep.Outputs, 2)
	for _, o := range rep.Outputs {
		assert.Greater(t, o.SQNR, 20.0, "int8 against float32")
	}
	code, _, errOut = runCLI("sim", q, "--input-shape", "x=1,3,12,12")
	require.Equal(t, 0, code, errOut)
}

// maxErrOfMax is max |want - got| / max |want|.
func maxErrOfMax(want, got []float32) float64 {
	var e, m float64
	for i, w := range want {
		e = max(e, math.Abs(float64(w)-float64(got[i])))
		m = max(m, math.Abs(float64(w)))
	}
	return e / m
}

// Operators of opsets 18-21 that the newer exporters write (scripts/make_unseen9_testdata.py;
// newer_op21 of --unseen9): GroupNormalization with per-channel scale and bias
// (opset 21) and per-group ones (opset 18), Gelu (opset 20, erf and tanh),
// AffineGrid (opset 20, align_corners 0 and 1) feeding GridSample. Before, loading
// refused each: `GroupNormalization (output "gn"): unsupported operator`.
func TestOpset20And21Operators(t *testing.T) {
	m21, err := graph.Load(filepath.Join(exportedDir, "opset21_ops.onnx"))
	require.NoError(t, err)
	m18, err := graph.Load(filepath.Join(exportedDir, "groupnorm18.onnx"))
	require.NoError(t, err)
	for _, threads := range []int{1, 2} {
		s21, err := runtime.NewSession(m21, runtime.WithThreads(threads))
		require.NoError(t, err)
		s18, err := runtime.NewSession(m18, runtime.WithThreads(threads))
		require.NoError(t, err)
		for i := 0; i < 2; i++ {
			in, err := dataset.ReadNPZ(filepath.Join(exportedDir, "npz_op21", fmt.Sprintf("s%d.npz", i)))
			require.NoError(t, err)
			ort, err := dataset.ReadNPZ(filepath.Join(exportedDir, "npz_op21_ort", fmt.Sprintf("s%d.npz", i)))
			require.NoError(t, err)
			got, err := s21.RunTensors(in)
			require.NoError(t, err)
			g18, err := s18.RunTensors(map[string]*graph.Tensor{"x": in["x"]})
			require.NoError(t, err)
			got["gn18"] = g18["gn18"]
			for _, name := range []string{"gelu_erf", "gelu_tanh", "grid0", "grid1", "warped", "gn18"} {
				require.Equal(t, ort[name].Shape, got[name].Shape, "%s sample %d", name, i)
				assert.InDeltaSlice(t, ort[name].F32(), got[name].F32(), 2e-6, "%s sample %d threads %d", name, i, threads)
			}
		}
	}
}
