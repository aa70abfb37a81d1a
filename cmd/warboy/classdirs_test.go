package main

import (
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
)

// writeClassDirs writes the first n test images of the bundled Fashion-MNIST set as
// PNGs in one folder per class, named so that sorted order is class order.
func writeClassDirs(t *testing.T, dir string, n int) {
	ds, err := dataset.Load(testData, "t10k")
	require.NoError(t, err)
	for i := 0; i < n; i++ {
		c := filepath.Join(dir, fmt.Sprintf("class%d", ds.Labels[i]))
		require.NoError(t, os.MkdirAll(c, 0o700))
		img := image.NewGray(image.Rect(0, 0, ds.W, ds.H))
		copy(img.Pix, ds.Pixels[i*ds.H*ds.W:(i+1)*ds.H*ds.W])
		f, err := os.Create(filepath.Join(c, fmt.Sprintf("%04d.png", i)))
		require.NoError(t, err)
		require.NoError(t, png.Encode(f, img))
		require.NoError(t, f.Close())
	}
}

// TestClassDirsData: a folder of class folders (torchvision's ImageFolder) is
// labelled by its folders: eval scores the same images as IDX data the same, qat
// trains on it, and a model with another number of classes is refused.
func TestClassDirsData(t *testing.T) {
	dir := t.TempDir()
	folders := filepath.Join(dir, "train")
	writeClassDirs(t, folders, 300)
	cnn := filepath.Join(testModels, "fmnist_cnn.onnx")

	var idx, cls struct {
		Correct int `json:"correct"`
		Images  int `json:"images"`
	}
	code, stdout, stderr := runCLI("eval", cnn, "--data", testData, "--n", "300", "--json")
	require.Equal(t, 0, code, stderr)
	require.NoError(t, json.Unmarshal([]byte(stdout), &idx))
	code, stdout, stderr = runCLI("eval", cnn, "--data", folders, "--json")
	require.Equal(t, 0, code, stderr)
	require.NoError(t, json.Unmarshal([]byte(stdout), &cls))
	assert.Equal(t, idx, cls, "the same 300 images, labelled by IDX and by their folders")
	code, stdout, stderr = runCLI("eval", cnn, "--data", folders)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "300 images in 10 class folders (class0 = 0 ... class9 = 9)")

	out := filepath.Join(dir, "q.onnx")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "val"), 0o700))
	code, stdout, stderr = runCLI("qat", cnn, "--data", folders, "--eval-n", "50", "--calib-n", "50", "--batch", "50", "--lr", "0.01", "-o", out, "--json")
	assert.Contains(t, stderr, "give --eval-data "+filepath.Join(dir, "val")+" for held-out images", "the validation folder beside the training one")
	require.Equal(t, 0, code, stderr)
	var rep qatReport
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Equal(t, "ce", rep.Loss)
	assert.Equal(t, 300, rep.TrainImages)
	_, err := os.Stat(out)
	require.NoError(t, err)

	// bench scores and calibrates on the same folders, and says so.
	code, _, stderr = runCLI("bench", cnn, "--data", folders, "--methods", "MIN_MAX_ASYM", "--n", "50", "--calib-n", "20", "--iterations", "1")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "warning: calibrating on the evaluation data train (only IDX data has a train split): give --calib-data for other images")

	// Three of the ten classes: folder numbers are not the model's classes.
	three := filepath.Join(dir, "three")
	require.NoError(t, os.Mkdir(three, 0o700))
	for _, c := range []string{"class0", "class1", "class7"} {
		require.NoError(t, os.Symlink(filepath.Join(folders, c), filepath.Join(three, c)))
	}
	bad := filepath.Join(dir, "bad.onnx")
	for _, args := range [][]string{
		{"eval", cnn, "--data", three},
		{"qat", cnn, "--data", three, "-o", bad},
	} {
		code, _, stderr = runCLI(args...)
		assert.Equal(t, 1, code, "%v", args)
		assert.Contains(t, stderr, "has 3 class folders (labelled in sorted order: class0=0, class1=1, class7=2) but the model scores 10 classes", "%v", args)
	}
	_, err = os.Stat(bad)
	assert.True(t, os.IsNotExist(err), "nothing written on failure")
	// Calibration reads no labels: the same folders calibrate; scoring the
	// methods on their labels is refused.
	code, _, stderr = runCLI("quantize", cnn, "--calib-data", three, "--calib-n", "20", "-o", filepath.Join(dir, "c.onnx"))
	assert.Equal(t, 0, code, stderr)
	code, _, stderr = runCLI("quantize", cnn, "--calib-data", folders, "--calib-n", "20", "--method", "auto", "--val-data", three, "-o", filepath.Join(dir, "a.onnx"))
	assert.Equal(t, 1, code, stderr)
	assert.Contains(t, stderr, "validation data: data three has 3 class folders")
	// The data set's root, holding splits, is refused naming the split to give.
	code, _, stderr = runCLI("eval", cnn, "--data", dir)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "folder three holds folders (class0, class1, class7) and no images")
	assert.Contains(t, stderr, "give --data "+three)
}
