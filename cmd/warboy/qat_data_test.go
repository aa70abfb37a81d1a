package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
)

// TestQATExportedModel: qat on a torch.onnx export declared [batch,3,height,width]
// with an image folder of different sizes (testdata/exported/images): it trains at
// the size --preprocess gives, writes the model as declared (it runs at another
// size), and refuses data it cannot train on before any work, writing nothing.
func TestQATExportedModel(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(exportedDir, "classifier_opset13.onnx")
	images := filepath.Join(exportedDir, "images")
	out := filepath.Join(dir, "q.onnx")
	base := []string{"qat", model, "--data", images, "--batch", "2", "--calib-n", "3", "--lr", "0.01", "--method", "MIN_MAX_ASYM"}

	code, stdout, stderr := runCLI(append(base, "--preprocess", "resize=64,64,mean=0.485,0.456,0.406,std=0.229,0.224,0.225", "-o", out, "--json")...)
	require.Equal(t, 0, code, stderr)
	var rep qatReport
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Equal(t, []int{3, 64, 64}, rep.SampleShape)
	assert.Equal(t, "[batch,3,height,width]", rep.InputShape)
	assert.Empty(t, rep.InputNote)
	assert.Equal(t, "resize=64,64,mean=0.485,0.456,0.406,std=0.229,0.224,0.225", rep.Preprocess)
	assert.Equal(t, 6, rep.TrainImages)
	assert.Contains(t, stderr, "on the training data images (only IDX data has a test split)")
	code, stdout, stderr = runCLI("eval", out, "--data", images, "--preprocess", "resize=80,72", "--mode", "int8", "--json")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, `"images": 6`)

	// --renorm-folded: the export folded every BatchNormalization; each of its 15
	// convolutions trains with one put back.
	code, stdout, stderr = runCLI(append(base, "--preprocess", "resize=64,64", "--renorm-folded", "-o", out, "--json")...)
	require.Equal(t, 0, code, stderr)
	rep = qatReport{}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Equal(t, 15, rep.RenormFolded)

	// --input-shape: the written model takes exactly that shape, as quantize's.
	code, stdout, stderr = runCLI(append(base, "--preprocess", "resize=40,40", "--input-shape", "input=1,3,40,40", "-o", out, "--json")...)
	require.Equal(t, 0, code, stderr)
	rep = qatReport{}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Equal(t, "[1,3,40,40]", rep.InputShape)

	// Too small a size for the last stage's 3x3 convolutions: written at that size,
	// and the report says why.
	code, stdout, stderr = runCLI(append(base, "--preprocess", "resize=32,32", "-o", out)...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "training at input size [3,32,32] (the data's); the model declares [batch,3,height,width]")
	assert.Contains(t, stdout, "note: written at the training size [3,32,32], not as the float model declares it ([batch,3,height,width]): the trained weight")
	assert.Contains(t, stdout, "input [batch,3,32,32]")

	// Labelled .npy tensors train too (the samples as the model takes them).
	npyDir := filepath.Join(dir, "npy")
	require.NoError(t, os.Mkdir(npyDir, 0o755))
	labels := ""
	for i := 0; i < 4; i++ {
		x := make([]float32, 3*48*48)
		for j := range x {
			x[j] = float32((i*7+j)%13) / 13
		}
		f, err := os.Create(filepath.Join(npyDir, "s"+string(rune('0'+i))+".npy"))
		require.NoError(t, err)
		require.NoError(t, dataset.WriteNPY(f, graph.FromFloat32([]int{1, 3, 48, 48}, x)))
		require.NoError(t, f.Close())
		labels += "s" + string(rune('0'+i)) + ".npy " + string(rune('0'+i)) + "\n"
	}
	require.NoError(t, os.WriteFile(filepath.Join(npyDir, "labels.txt"), []byte(labels), 0o644))
	code, stdout, stderr = runCLI("qat", model, "--data", npyDir, "--batch", "2", "--calib-n", "2", "--lr", "0.01", "--method", "MIN_MAX_ASYM",
		"--eval-n", "-1", "-o", out, "--json")
	require.Equal(t, 0, code, stderr)
	rep = qatReport{}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Equal(t, []int{3, 48, 48}, rep.SampleShape)

	// Refused before any work; nothing written.
	bad := filepath.Join(dir, "bad.onnx")
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"--data", images}, "sample 1 is [1,3,160,120], sample 0 is [1,3,120,160]; training runs at one input size: give --preprocess a size"},
		{[]string{"--data", filepath.Join(exportedDir, "npy"), "--loss", "ce"}, "has no labels (IDX labels, or a labels.txt beside the images or tensors); --loss distill or outputs trains without them"},
		{[]string{"--data", images, "--preprocess", "resize=64,64", "--input-shape", "input=1,3,32,32"}, `sample shape [1,3,64,64] does not fit input "input": --input-shape gives [1,3,32,32]`},
		{[]string{"--data", testData}, `model input "input" has shape [batch,3,height,width]; the data set fashion-mnist/train has 1x28x28 images`},
	} {
		code, _, stderr = runCLI(append([]string{"qat", model, "-o", bad}, tc.args...)...)
		assert.Equal(t, 1, code, "%v: %s", tc.args, stderr)
		assert.Contains(t, stderr, tc.err, "%v", tc.args)
	}
	_, err := os.Stat(bad)
	assert.True(t, os.IsNotExist(err))

	// Sequences of several lengths train at each length, the model's symbolic
	// length kept; few samples a length are said to make small batches.
	seq := filepath.Join(dir, "seq.onnx")
	code, stdout, stderr = runCLI("qat", filepath.Join(exportedDir, "transformer_opset13.onnx"), "-o", seq, "--data", filepath.Join(exportedDir, "npz_seq"), "--json")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "come in 2 shapes and a batch holds one shape")
	rep = qatReport{}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Equal(t, 2, rep.SampleGroups)
	assert.Equal(t, "outputs", rep.Loss)
	assert.Equal(t, "[batch,seq,64]", rep.InputShape)
	assert.Empty(t, rep.InputNote)
}
