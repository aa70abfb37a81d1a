package bench

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/npu"
	"github.com/warboy-sim/warboy/quantizer"
	"github.com/warboy-sim/warboy/runtime"
)

const (
	testModel = "../testdata/models/fmnist_cnn.onnx"
	testData  = "../testdata/fashion-mnist"
)

func smallReport(t *testing.T, methods ...quantizer.Method) (*Report, ReportOptions) {
	t.Helper()
	m, err := graph.Load(testModel)
	require.NoError(t, err)
	eval, err := dataset.Load(testData, "t10k")
	require.NoError(t, err)
	calib, err := dataset.Load(testData, "train")
	require.NoError(t, err)
	es, err := dataset.FromDataset(eval, m.Graph.Inputs)
	require.NoError(t, err)
	cs, err := dataset.FromDataset(calib, m.Graph.Inputs)
	require.NoError(t, err)
	opts := ReportOptions{Model: m, Name: "fmnist_cnn", Eval: es, Calib: cs, Methods: methods,
		CalibN: 200, EvalN: 300, CompareN: 50, CPUIterations: 5}
	rep, err := Run(opts)
	require.NoError(t, err)
	return rep, opts
}

// TestReportColumnsSane runs the report on a small subset and checks every column.
func TestReportColumnsSane(t *testing.T) {
	methods := []quantizer.Method{quantizer.Methods()[0], quantizer.Methods()[3]}
	rep, _ := smallReport(t, methods...)
	require.Len(t, rep.Methods, len(methods))
	assert.Equal(t, 300, rep.EvalImages)
	assert.Equal(t, 200, rep.CalibImages)
	assert.Greater(t, rep.FloatAccuracy, 0.5)
	assert.Greater(t, rep.FloatSizeBytes, int64(0))
	require.NotNil(t, rep.CPUFloat32)
	assert.Greater(t, rep.CPUFloat32.P50Ms, 0.0)
	bests := 0
	for _, m := range rep.Methods {
		t.Run(m.Method, func(t *testing.T) {
			assert.Greater(t, m.Ratio, 0.0)
			assert.LessOrEqual(t, m.Ratio, 1.05)
			assert.InDelta(t, m.Int8Accuracy/m.FloatAccuracy, m.Ratio, 1e-12)
			assert.Greater(t, m.SimSingleUS, 0.0)
			assert.Greater(t, m.SimFusedUS, 0.0)
			assert.LessOrEqual(t, m.SimFusedUS, m.SimSingleUS, "fused must not be slower than one PE")
			assert.Greater(t, m.SimNPUFusedUS, 0.0)
			assert.Greater(t, m.SimThroughput, 0.0)
			require.NotNil(t, m.CPUInt8)
			for _, v := range []float64{m.CPUInt8.P50Ms, m.CPUInt8.P95Ms, m.CPUInt8.P99Ms} {
				assert.Greater(t, v, 0.0)
			}
			assert.LessOrEqual(t, m.CPUInt8.P50Ms, m.CPUInt8.P99Ms)
			assert.Greater(t, m.Int8SizeBytes, int64(0))
			assert.Less(t, m.Int8SizeBytes, rep.FloatSizeBytes, "int8 model must be smaller")
			assert.NotEmpty(t, m.WorstLayers)
		})
		if m.Best {
			bests++
			assert.Equal(t, rep.Best, m.Method)
		}
	}
	assert.Equal(t, 1, bests, "exactly one best method")

	var md, cs, js bytes.Buffer
	require.NoError(t, rep.WriteMarkdown(&md))
	for _, col := range []string{"float32", "int8", "int8/float", "worst layers", "Warboy 1 PE (us)", "Warboy fused (us)", "CPU int8 p50 (ms)", "p95", "p99", "int8 size", "(best)"} {
		assert.Contains(t, md.String(), col)
	}
	require.NoError(t, rep.WriteCSV(&cs))
	rows, err := csv.NewReader(strings.NewReader(cs.String())).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 1+len(methods))
	for _, r := range rows[1:] {
		require.Len(t, r, len(rows[0]))
		for i, c := range r {
			assert.NotEmpty(t, c, "column %s", rows[0][i])
		}
	}
	require.NoError(t, rep.WriteJSON(&js))
	var back map[string]any
	require.NoError(t, json.Unmarshal(js.Bytes(), &back))
	for _, k := range []string{"model", "float_accuracy", "cpu_float32", "methods", "best_method"} {
		assert.Contains(t, back, k)
	}
}

// TestReportOneCodePath checks that the report's figures are those of the individual
// commands' functions: quantize + eval, sim and bench cpu.
func TestReportOneCodePath(t *testing.T) {
	method := quantizer.Methods()[0]
	rep, opts := smallReport(t, method)
	mr := rep.Methods[0]

	feed := opts.Calib.Head(opts.CalibN)
	cal, err := quantizer.Calibrate(opts.Model, method, feed, quantizer.CalibOptions{})
	require.NoError(t, err)
	ranges, err := cal.ComputeRanges()
	require.NoError(t, err)
	q, err := quantizer.Quantize(opts.Model, ranges, quantizer.QuantOptions{})
	require.NoError(t, err)

	sess, err := runtime.NewSession(q)
	require.NoError(t, err)
	ev, err := EvaluateSet(sess, opts.Eval, EvalOptions{N: opts.EvalN})
	require.NoError(t, err)
	assert.Equal(t, ev.Accuracy, mr.Int8Accuracy, "report int8 accuracy must equal warboy eval's")

	for _, mode := range []npu.Mode{npu.ModeSingle, npu.ModeFused} {
		r, err := npu.Simulate(q, npu.Config{Mode: mode, Batch: 1})
		require.NoError(t, err)
		want := mr.SimFusedUS
		if mode == npu.ModeSingle {
			want = mr.SimSingleUS
		}
		assert.Equal(t, r.LatencyUS, want, "report simulated latency must equal warboy sim's (%s)", mode)
	}

	cpu, err := RunCPUBench(q, CPUBenchOptions{Iterations: 20})
	require.NoError(t, err)
	// The same code path, checked without timing (times on a shared machine are noise,
	// and speed belongs to benchmarks): the report's int8 latency comes from the int8
	// executor with the same nodes left in float32 as `bench cpu` reports.
	require.NotNil(t, mr.CPUInt8)
	assert.Equal(t, "int8", mr.CPUInt8.Mode)
	assert.Equal(t, cpu.Int8.Mode, mr.CPUInt8.Mode)
	assert.Equal(t, cpu.Int8.Fallback, mr.CPUInt8.Fallback)
	assert.Positive(t, mr.CPUInt8.P50Ms)
}
