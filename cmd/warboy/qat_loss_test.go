package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// writeUnlabelledNPY writes n 28x28 MLP inputs as .npy files, with no labels.txt.
func writeUnlabelledNPY(t *testing.T, dir string, n int) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for i := 0; i < n; i++ {
		x := make([]float32, 28*28)
		for j := range x {
			x[j] = float32((i*7+j*(i%5+1))%17) / 17
		}
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("s%03d.npy", i)))
		require.NoError(t, err)
		require.NoError(t, dataset.WriteNPY(f, graph.FromFloat32([]int{1, 1, 28, 28}, x)))
		require.NoError(t, f.Close())
	}
}

// TestQATWithoutLabels: a classifier on unlabelled data is distilled from the float
// model (--loss auto picks distill), and a model with two outputs matches both
// (outputs); the report scores them against the float model.
func TestQATWithoutLabels(t *testing.T) {
	dir := t.TempDir()
	mlp := filepath.Join(testModels, "fmnist_mlp.onnx")
	npy := filepath.Join(dir, "npy")
	writeUnlabelledNPY(t, npy, 96)
	out := filepath.Join(dir, "q.onnx")
	base := []string{"qat", mlp, "--data", npy, "--calib-n", "16", "--batch", "16", "--method", "MIN_MAX_ASYM"}

	code, stdout, stderr := runCLI(append(base, "--eval-data", testData, "--eval-n", "200", "-o", out, "--json")...)
	require.Equal(t, 0, code, stderr)
	var rep qatReport
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Equal(t, "distill", rep.Loss)
	require.NotNil(t, rep.PTQSQNR)
	require.NotNil(t, rep.QATSQNR)
	require.NotNil(t, rep.PTQAgreement)
	require.NotNil(t, rep.QATAccuracy, "the evaluation images are labelled")
	assert.Greater(t, *rep.QATAgreement, 0.8)
	require.NotEmpty(t, rep.Checkpoints)
	for _, c := range rep.Checkpoints {
		assert.Nil(t, c.Accuracy, "training images without labels")
		require.NotNil(t, c.Agreement)
	}
	require.Len(t, rep.LRCandidates, 2)
	assert.NotNil(t, rep.LRCandidates[0].Agreement)
	assert.Contains(t, stdout, `"ptq_output_sqnr_db": `)

	code, stdout, stderr = runCLI(append(base, "--eval-n", "-1", "--lr", "0.01", "-o", out)...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "loss: the float model's class probabilities (npy has no labels; --loss distill)")
	assert.Contains(t, stdout, "top-1 agreement with float32 (fake-quant)")
	assert.Contains(t, stdout, "checkpoints (int8 top-1 agreement with float32 on training samples")

	// Two outputs: the logits and the hidden layer a user also reads.
	m, err := graph.Load(mlp)
	require.NoError(t, err)
	hidden := ""
	for _, n := range m.Graph.Nodes {
		if n.OpType == "Relu" {
			hidden = n.Outputs[0]
			break
		}
	}
	require.NotEmpty(t, hidden)
	m.Graph.Outputs = append(m.Graph.Outputs, &graph.Value{Name: hidden, DType: graph.Float32})
	enc, err := m.Encode()
	require.NoError(t, err)
	two := filepath.Join(dir, "two.onnx")
	require.NoError(t, os.WriteFile(two, enc, 0o644))
	code, stdout, stderr = runCLI("qat", two, "--data", testData, "--n", "600", "--calib-n", "50", "--batch", "32", "--eval-n", "300", "-o", out)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "loss: the float model's outputs (the model has 2 outputs; --loss outputs)")
	assert.Contains(t, stdout, "optimizer: adamw, learning rate 0.001 (the outputs loss's default; --optimizer sgd for SGD)")
	assert.Contains(t, stdout, "quantization-aware trained int8: output SQNR")
	q, err := graph.Load(out)
	require.NoError(t, err)
	require.Len(t, q.Graph.Outputs, 2)
	code, stdout, stderr = runCLI("qat", two, "--data", testData, "--n", "300", "--calib-n", "50", "--batch", "32", "--eval-n", "-1", "--optimizer", "sgd", "--lr", "0.01", "-o", out, "--json")
	require.Equal(t, 0, code, stderr)
	rep = qatReport{}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Equal(t, []any{"outputs", "sgd", 0.01}, []any{rep.Loss, rep.Optimizer, rep.LR}, "--optimizer given: kept")
	s, err := runtime.NewSession(q, runtime.WithMode(runtime.ModeInt8))
	require.NoError(t, err)
	res, err := s.RunTensors(map[string]*graph.Tensor{q.Graph.Inputs[0].Name: graph.FromFloat32([]int{2, 1, 28, 28}, make([]float32, 2*28*28))})
	require.NoError(t, err)
	assert.Len(t, res, 2)

	// The class scores and the ArgMax label a classifier also returns: the label is
	// computed from the scores, not trained; the labels' cross-entropy trains the
	// scores, and the written model keeps both outputs.
	m, err = graph.Load(mlp)
	require.NoError(t, err)
	logits := m.Graph.Outputs[0].Name
	m.Graph.Nodes = append(m.Graph.Nodes, &graph.Node{Name: "argmax", OpType: "ArgMax", Inputs: []string{logits}, Outputs: []string{"label"},
		Attrs: map[string]*graph.Attr{"axis": {Name: "axis", Type: graph.AttrInt, I: 1}, "keepdims": {Name: "keepdims", Type: graph.AttrInt, I: 0}}})
	m.Graph.Outputs = append(m.Graph.Outputs, &graph.Value{Name: "label", DType: graph.Int64})
	enc, err = m.Encode()
	require.NoError(t, err)
	withLabel := filepath.Join(dir, "label.onnx")
	require.NoError(t, os.WriteFile(withLabel, enc, 0o644))
	code, stdout, stderr = runCLI("qat", withLabel, "--data", testData, "--n", "300", "--calib-n", "50", "--batch", "32", "--lr", "0.01", "--eval-n", "-1", "-o", out, "--json")
	require.Equal(t, 0, code, stderr)
	rep = qatReport{}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Equal(t, "ce", rep.Loss)
	q, err = graph.Load(out)
	require.NoError(t, err)
	require.Len(t, q.Graph.Outputs, 2)
	s, err = runtime.NewSession(q, runtime.WithMode(runtime.ModeInt8))
	require.NoError(t, err)
	res, err = s.RunTensors(map[string]*graph.Tensor{q.Graph.Inputs[0].Name: graph.FromFloat32([]int{2, 1, 28, 28}, make([]float32, 2*28*28))})
	require.NoError(t, err)
	require.Contains(t, res, "label")
	assert.Equal(t, graph.Int64, res["label"].DType)

	// A detector as torch.onnx writes it: one grid output [batch,3,gh,gw,9], symbolic
	// height and width, nearest and bilinear Resize in its neck; labelled images, but
	// not class scores: the outputs loss.
	det := filepath.Join(exportedDir, "detector_opset13.onnx")
	code, stdout, stderr = runCLI("qat", det, "--data", filepath.Join(exportedDir, "images"), "--preprocess", "resize=64,64", "--batch", "2", "--calib-n", "3",
		"--method", "MIN_MAX_ASYM", "-o", out, "--json")
	require.Equal(t, 0, code, stderr)
	rep = qatReport{}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Equal(t, []any{"outputs", "adamw", 0.001, "[batch,3,height,width]"}, []any{rep.Loss, rep.Optimizer, rep.LR, rep.InputShape})
	require.NotNil(t, rep.QATSQNR)
	assert.Nil(t, rep.QATAgreement, "a grid is not class scores")
	assert.Nil(t, rep.QATAccuracy, "no accuracy for a detector")
	q, err = graph.Load(out)
	require.NoError(t, err)
	s, err = runtime.NewSession(q, runtime.WithMode(runtime.ModeInt8))
	require.NoError(t, err)
	res, err = s.RunTensors(map[string]*graph.Tensor{"images": graph.FromFloat32([]int{1, 3, 96, 64}, make([]float32, 3*96*64))})
	require.NoError(t, err, "the written model runs at another size")
	assert.Equal(t, []int{1, 3, 12, 8, 9}, res["pred"].Shape)

	// One score an image (a regression, a binary logit) is not class scores: auto
	// trains it with the outputs loss, and the cross-entropy refuses it.
	m, err = graph.Load(mlp)
	require.NoError(t, err)
	m.Graph.Nodes = append(m.Graph.Nodes, &graph.Node{Name: "score", OpType: "Gemm", Inputs: []string{logits, "score_w"}, Outputs: []string{"score"},
		Attrs: map[string]*graph.Attr{"transB": {Name: "transB", Type: graph.AttrInt, I: 1}}})
	m.Graph.Initializers["score_w"] = graph.FromFloat32([]int{1, 10}, []float32{0.1, -0.2, 0.3, -0.1, 0.2, 0.1, -0.3, 0.2, -0.1, 0.1})
	m.Graph.Outputs = []*graph.Value{{Name: "score", DType: graph.Float32, HasShape: true, Shape: graph.Shape{{Size: -1, Param: "N"}, {Size: 1}}}}
	enc, err = m.Encode()
	require.NoError(t, err)
	oneScore := filepath.Join(dir, "score.onnx")
	require.NoError(t, os.WriteFile(oneScore, enc, 0o644))
	code, stdout, stderr = runCLI("qat", oneScore, "--data", testData, "--n", "300", "--calib-n", "50", "--batch", "32", "--eval-n", "-1", "-o", out)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, `loss: the float model's outputs (its output "score" is [N,1], not [N, classes]; --loss outputs)`)

	// Refused before any work; nothing written.
	bad := filepath.Join(dir, "bad.onnx")
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{mlp, "--data", npy, "--loss", "ce"}, "npy has no labels"},
		{[]string{two, "--data", testData, "--loss", "distill"}, "--loss distill trains a model with one [N, classes] output; the model has 2 outputs"},
		{[]string{two, "--data", testData, "--loss", "ce"}, "--loss ce trains a model with one [N, classes] output; the model has 2 outputs"},
		{[]string{mlp, "--data", npy, "--distill", "0.5"}, "the distill loss is the float model's alone"},
		{[]string{mlp, "--data", npy, "--label-smoothing", "0.1"}, "--label-smoothing smooths the labels of the cross-entropy (--loss ce); the distill loss has none"},
		{[]string{mlp, "--loss", "l1"}, "--loss must be auto, ce, distill or outputs"},
		{[]string{mlp, "--data", testData, "--eval-data", npy}, "evaluation data npy has no labels: the int8 accuracy before and after training needs them (--eval-n -1 skips the evaluation)"},
		{[]string{oneScore, "--data", testData, "--loss", "ce"}, `--loss ce trains a model with one [N, classes] output; output "score" is [N,1] (--loss outputs trains on it)`},
		{[]string{det, "--data", filepath.Join(exportedDir, "images"), "--preprocess", "resize=64,64", "--loss", "distill"},
			`--loss distill trains a model with one [N, classes] output; output "pred" is [batch,3,gh,gw,9] (--loss outputs trains on it)`},
	} {
		code, _, stderr = runCLI(append([]string{"qat", "-o", bad}, tc.args...)...)
		assert.NotEqual(t, 0, code, "%v", tc.args)
		assert.Contains(t, stderr, tc.err, "%v", tc.args)
		_, err = os.Stat(bad)
		assert.True(t, os.IsNotExist(err), strings.Join(tc.args, " "))
	}
}

// TestScoreLimit: a label-free run keeps the float model's outputs of the images it
// scores; sets are cut to what the budget holds, with one warning.
func TestScoreLimit(t *testing.T) {
	assert.Equal(t, 26214, scoredCap(10, 1<<20), "a classifier: 40 bytes an image")
	assert.Equal(t, 1, scoredCap(512*512*21, 1<<20), "at least one image")
	var warnings []string
	l := &scoreLimit{max: 100, per: 5000, warn: func(s string) { warnings = append(warnings, s) }}
	assert.Equal(t, 50, l.cut(50))
	assert.Empty(t, warnings)
	assert.Equal(t, 100, l.cut(1000))
	assert.Equal(t, 100, l.cut(10000))
	require.Len(t, warnings, 1)
	assert.Contains(t, warnings[0], "5000 output values an image: each set of images scored against it is cut to at most 100 (512 MiB of its outputs)")

	m, err := graph.Load(filepath.Join(exportedDir, "detector_opset13.onnx"))
	require.NoError(t, err)
	ds, err := openData(filepath.Join(exportedDir, "images"), "", "resize=64,64", m, nil, 0)
	require.NoError(t, err)
	n, err := outputFloats(m, ds, false, 1)
	require.NoError(t, err)
	assert.Equal(t, 3*8*8*9, n, "pred [1,3,8,8,9] at 64x64")
}

// TestQATBatchOneModel: a model exported for one sample that fixes its batch
// inside (x.reshape(1, 784)) cannot run a larger batch stacked: by default it
// trains one sample at a time with each batch's gradients accumulated, and says
// so; with whole batches forced (--micro-batch 0) the error says why and names
// the remedy, and nothing is written; --batch 1 trains it too.
func TestQATBatchOneModel(t *testing.T) {
	dir := t.TempDir()
	model := fixedBatchMLP(t, dir, 1, []int64{1, 784})
	out := filepath.Join(dir, "q.onnx")
	base := []string{"qat", model, "--data", testData, "-n", "64", "--calib-n", "16", "--eval-n", "100", "--lr", "0.01", "-o", out}

	code, _, stderr := runCLI(append(base, "--batch", "16", "--micro-batch", "0")...)
	require.Equal(t, 1, code, stderr)
	assert.Contains(t, stderr, `the model declares batch 1, input "input" [1,1,28,28], and may fix it inside: train with --micro-batch 1`)
	assert.NoFileExists(t, out)

	code, stdout, stderr := runCLI(append(base, "--batch", "16")...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "micro-batch: the model runs one sample at a time (two at once: ")
	assert.Contains(t, stdout, "each batch of 16 runs sample by sample")
	assert.FileExists(t, out)

	code, stdout, stderr = runCLI(append(base, "--batch", "16", "--json")...)
	require.Equal(t, 0, code, stderr)
	var rep struct {
		Batch int    `json:"batch"`
		Micro int    `json:"micro_batch"`
		Note  string `json:"micro_batch_note"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Equal(t, 16, rep.Batch)
	assert.Equal(t, 1, rep.Micro)
	assert.Contains(t, rep.Note, "Reshape")

	require.NoError(t, os.Remove(out))
	code, _, stderr = runCLI(append(base, "--batch", "1")...)
	require.Equal(t, 0, code, stderr)
	assert.FileExists(t, out)
}
