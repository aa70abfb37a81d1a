package main

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/testmodels"
)

// rowsDetector writes testmodels.Detector with rows: its only output "det" is
// [M, 6] (x1, y1, x2, y2, score, class), as YOLO end-to-end exports write; its int8 version and
// three samples of 40 candidate features each ([1, 40, 8]: rank + 1, one whole
// input per sample). It returns the float model, the int8 model and the data.
func rowsDetector(t *testing.T) (string, string, string) {
	t.Helper()
	dir := t.TempDir()
	model := filepath.Join(dir, "rows.onnx")
	require.NoError(t, testmodels.Detector(3, true).Save(model))
	data := filepath.Join(dir, "data")
	require.NoError(t, os.Mkdir(data, 0o700))
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 3; i++ {
		f := graph.FromFloat32([]int{1, 40, 8}, make([]float32, 320))
		for j := range f.F32() {
			f.F32()[j] = float32(rng.NormFloat64())
		}
		var buf bytes.Buffer
		require.NoError(t, dataset.WriteNPZ(&buf, []dataset.NamedTensor{{Name: "feat", Tensor: f}}))
		require.NoError(t, os.WriteFile(filepath.Join(data, "s"+string(rune('0'+i))+".npz"), buf.Bytes(), 0o600))
	}
	q := filepath.Join(dir, "q.onnx")
	code, _, errOut := runCLI("quantize", model, "--calib-data", data, "--batch", "1", "-o", q)
	require.Equal(t, 0, code, errOut)
	return model, q, data
}

// Rows of detections are never guessed: auto leaves a note naming the output and
// the flag; given the columns, compare matches the detections.
func TestCompareDetectionRows(t *testing.T) {
	model, q, data := rowsDetector(t)
	code, out, errOut := runCLI("compare", model, q, "--data", data, "--batch", "1", "--json")
	require.Equal(t, 0, code, errOut)
	var cr compareReport
	require.NoError(t, json.Unmarshal([]byte(out), &cr))
	assert.Nil(t, cr.Detections)
	assert.Contains(t, cr.DetectionNote, "--detections rows=")

	code, out, errOut = runCLI("compare", model, q, "--data", data, "--batch", "1")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "detections: not compared")

	det := "rows=det:x1,y1,x2,y2,score,class"
	code, out, errOut = runCLI("compare", model, q, "--data", data, "--batch", "1", "--detections", det, "--json")
	require.Equal(t, 0, code, errOut)
	cr = compareReport{}
	require.NoError(t, json.Unmarshal([]byte(out), &cr))
	require.NotNil(t, cr.Detections)
	d := cr.Detections
	assert.Equal(t, 3, d.Samples)
	assert.Equal(t, "given by --detections", d.MatchedOn)
	assert.Greater(t, d.Float, 10)
	assert.Greater(t, d.Kept, 0.8)
	assert.Equal(t, d.Float, d.Matched+d.Missed)

	code, out, errOut = runCLI("compare", model, q, "--data", data, "--batch", "1", "--detections", det, "--det-iou", "0.7")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "IoU >= 0.7")
	assert.Contains(t, out, "kept")

	for _, bad := range [][]string{{"--detections", "rows=x"}, {"--det-iou", "0"}, {"--detections", "boxes=a"}} {
		code, _, errOut = runCLI(append([]string{"compare", model, q, "--data", data, "--batch", "1"}, bad...)...)
		assert.Equal(t, 2, code, "%v: %s", bad, errOut)
	}
	// The samples are whole inputs ([40, 8], no batch axis to stack them on): they
	// run one per batch at any --batch (before the twelfth session --batch 2 failed
	// asking for --batch 1), and the detections match as with --batch 1.
	code, out, errOut = runCLI("compare", model, q, "--data", data, "--batch", "2", "--detections", det, "--json")
	require.Equal(t, 0, code, errOut)
	cr2 := compareReport{}
	require.NoError(t, json.Unmarshal([]byte(out), &cr2))
	require.NotNil(t, cr2.Detections)
	assert.Equal(t, *d, *cr2.Detections)
}
