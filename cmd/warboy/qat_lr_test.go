package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/qat"
)

func TestParseAndResolveLRs(t *testing.T) {
	sgd := qat.Options{Optimizer: "sgd"}
	adamw := qat.Options{Optimizer: "adamw"}
	for _, c := range []struct {
		flag string
		opts qat.Options
		want []float64
		err  string
	}{
		{"", sgd, defaultSGDRates, ""},
		{"", adamw, []float64{1e-4}, ""},
		{"0", sgd, []float64{0.01}, ""},
		{"0.002", sgd, []float64{0.002}, ""},
		{" 0.01 , 0.003 ", sgd, []float64{0.01, 0.003}, ""},
		{"0,3e-4", adamw, []float64{1e-4, 3e-4}, ""},
		{"0.01,0.01", sgd, nil, "given twice"},
		{"0,0.01", sgd, nil, "given twice"},
		{"abc", sgd, nil, "not a learning rate"},
		{"-1", sgd, nil, "not a learning rate"},
		{"0.01,", sgd, nil, "not a learning rate"},
		{"NaN", sgd, nil, "not a learning rate"},
		{"Inf", sgd, nil, "not a learning rate"},
	} {
		t.Run(c.flag+"/"+c.opts.Optimizer, func(t *testing.T) {
			given, err := parseLRs(c.flag)
			if err == nil {
				var got []float64
				got, err = resolveLRs(given, c.opts)
				if c.err == "" {
					require.NoError(t, err)
					assert.Equal(t, c.want, got)
					return
				}
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.err)
		})
	}
}

func TestSelectSlice(t *testing.T) {
	for _, c := range []struct{ pool, calib, from, n int }{
		{60000, 1000, 2000, 10000}, // the default: the 10,000 after calibration and check images
		{50000, 1000, 2000, 10000},
		{8000, 1000, 2000, 6000},
		{3000, 1000, 2000, 1000},
		{2999, 1000, 0, 0}, // fewer left than the check images: they are used instead
		{2000, 1000, 0, 0},
		{500, 1000, 0, 0},
		{12000, 100, 1100, 10000},
	} {
		from, n := selectSlice(c.pool, c.calib)
		assert.Equal(t, []int{c.from, c.n}, []int{from, n}, "%+v", c)
	}
}

// TestQATLearningRates trains once per rate from the same start, drops a rate whose
// loss diverges (with a warning), and writes the run that scores best on the
// selection images; the report's lr, epoch log and checkpoints are that run's.
func TestQATLearningRates(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "mlp_qat.onnx")
	mlp := filepath.Join(testModels, "fmnist_mlp.onnx")
	// At 1e30 the first step overflows the weights, so the loss is NaN at the second
	// step on every kernel path.
	code, stdout, stderr := runCLI("qat", mlp, "--data", testData, "--n", "256", "--calib-n", "50", "--eval-n", "-1",
		"--method", "PERCENTILE_ASYM", "--batch", "32", "--lr", "1e30,0.01,0.003", "-o", out, "--json")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "warning: learning rate 1e+30: qat: the loss diverged")
	var rep qatReport
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	require.Len(t, rep.LRCandidates, 3)
	assert.Equal(t, []float64{1e30, 0.01, 0.003}, []float64{rep.LRCandidates[0].LR, rep.LRCandidates[1].LR, rep.LRCandidates[2].LR})
	assert.True(t, rep.LRCandidates[0].Diverged)
	require.NotNil(t, rep.LRCandidates[0].Accuracy)
	assert.Zero(t, *rep.LRCandidates[0].Accuracy, "a diverged rate's select_accuracy reads 0, as before")
	assert.False(t, rep.LRCandidates[0].Chosen)
	// 256 images leave none after the calibration and check images: the check images decide.
	assert.Equal(t, rep.CheckSet, rep.LRSelectSet)
	want := 1
	if *rep.LRCandidates[2].Accuracy > *rep.LRCandidates[1].Accuracy {
		want = 2
	}
	for i, c := range rep.LRCandidates[1:] {
		assert.False(t, c.Diverged)
		assert.Equal(t, i+1 == want, c.Chosen, "candidate %d", i+1)
		assert.Len(t, c.EpochLog, 1)
		require.NotNil(t, c.Accuracy)
		assert.Greater(t, *c.Accuracy, 0.5)
	}
	assert.Equal(t, rep.LRCandidates[want].LR, rep.LR)
	assert.Equal(t, rep.LRCandidates[want].EpochLog, rep.EpochLog)
	_, err := os.Stat(out)
	require.NoError(t, err)

	// One rate: one training, no candidates in the report (as before the list existed).
	code, stdout, stderr = runCLI("qat", mlp, "--data", testData, "--n", "128", "--calib-n", "50", "--eval-n", "-1",
		"--method", "PERCENTILE_ASYM", "--batch", "32", "--lr", "0.005", "-o", out, "--json")
	require.Equal(t, 0, code, stderr)
	rep = qatReport{}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Empty(t, rep.LRCandidates)
	assert.Equal(t, 0.005, rep.LR)

	// Every rate diverges: an error, nothing written.
	bad := filepath.Join(dir, "bad.onnx")
	code, _, stderr = runCLI("qat", mlp, "--data", testData, "--n", "256", "--calib-n", "50", "--eval-n", "-1",
		"--method", "PERCENTILE_ASYM", "--batch", "32", "--lr", "1e30,1e31", "-o", bad)
	assert.Equal(t, 1, code, stderr)
	assert.Contains(t, stderr, "diverged at every learning rate (1e+30, 1e+31)")
	assert.NoFileExists(t, bad)
	// A malformed list is a usage error.
	for _, f := range []string{"x", "0.01,0.01", "-0.1", "0.01,,0.003"} {
		code, _, stderr = runCLI("qat", mlp, "--data", testData, "--lr", f, "-o", bad)
		assert.Equal(t, 2, code, "%s: %s", f, stderr)
	}
	assert.NoFileExists(t, bad)
}
