package main

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/runtime"
)

// GridSample as torch.onnx writes F.grid_sample at opset 16, in all 18 settings
// (bilinear, nearest, bicubic x zeros, border, reflection x align_corners), on grids
// reaching outside [-1, 1], at pixel centres and at nearest-mode ties, against ONNX
// Runtime's outputs committed beside the inputs (scripts/make_gridsample_testdata.py).
// Before, every command refused the model: `GridSample "/GridSample": unsupported
// operator GridSample` (a spatial transformer of --unseen6).
func TestGridSampleAgreesWithORT(t *testing.T) {
	_, set, sess := exportedSession(t, "gridsample_opset16.onnx", "npz_gridsample", runtime.ModeFloat)
	require.Equal(t, 2, set.Len())
	require.Len(t, sess.Outputs(), 18)
	for i := 0; i < set.Len(); i++ {
		in, err := set.Batch(i, 1)
		require.NoError(t, err)
		ours, err := sess.RunTensors(in)
		require.NoError(t, err)
		ort, err := dataset.ReadNPZ(filepath.Join(exportedDir, "npz_gridsample_ort", fmt.Sprintf("s%d.npz", i)))
		require.NoError(t, err)
		for _, o := range sess.Outputs() {
			want := ort[o.Name]
			require.NotNil(t, want, o.Name)
			got := ours[o.Name]
			require.Equal(t, want.Shape, got.Shape, o.Name)
			for j, w := range want.F32() {
				assert.InDelta(t, w, got.F32()[j], 1e-6+1e-6*math.Abs(float64(w)), "sample %d %s[%d]", i, o.Name, j)
			}
		}
	}
}
