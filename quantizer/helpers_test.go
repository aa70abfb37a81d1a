package quantizer

import (
	"maps"
	"math"
	"math/rand"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/testmodels"
	"github.com/warboy-sim/warboy/runtime"
)

const (
	modelsDir = "../testdata/models"
	dataDir   = "../testdata/fashion-mnist"
)

var bundledModels = []string{"fmnist_cnn", "fmnist_resnet", "fmnist_mlp"}

func loadBundled(t testing.TB, name string) *graph.Model {
	t.Helper()
	m, err := graph.Load(filepath.Join(modelsDir, name+".onnx"))
	require.NoError(t, err)
	return m
}

var (
	dataOnce    sync.Once
	trainSet    *dataset.Dataset
	testSet     *dataset.Dataset
	dataLoadErr error
)

// fmnist returns the bundled training (calibration) and test sets.
func fmnist(t testing.TB) (train, test *dataset.Dataset) {
	t.Helper()
	dataOnce.Do(func() {
		trainSet, dataLoadErr = dataset.Load(dataDir, "train")
		if dataLoadErr == nil {
			testSet, dataLoadErr = dataset.Load(dataDir, "t10k")
		}
	})
	require.NoError(t, dataLoadErr)
	return trainSet, testSet
}

// dsBatches adapts a data set to Batches for a model with one image input.
type dsBatches struct {
	ds    *dataset.Dataset
	input string
}

func (d dsBatches) Len() int { return d.ds.N }
func (d dsBatches) Batch(start, n int) (map[string]*graph.Tensor, error) {
	return map[string]*graph.Tensor{d.input: d.ds.Batch(start, n)}, nil
}

// calibrate collects n training images into a new calibrator.
func calibrate(t testing.TB, m *graph.Model, method Method, n int) *Calibrator {
	t.Helper()
	train, _ := fmnist(t)
	c, err := NewCalibrator(m, method, CalibOptions{})
	require.NoError(t, err)
	for i := 0; i < n; i += 100 {
		require.NoError(t, c.Collect(map[string]*graph.Tensor{"input": train.Batch(i, min(100, n-i))}))
	}
	return c
}

// evalAccuracy returns the top-1 accuracy of m on the first n test images (the
// session mode is the default: int8 for quantized models once the int8 executor
// exists).
func evalAccuracy(t testing.TB, m *graph.Model, n int, mode runtime.Mode) (float64, []int, string) {
	t.Helper()
	_, test := fmnist(t)
	s, err := runtime.NewSession(m, runtime.WithMode(mode))
	require.NoError(t, err)
	var pred []int
	in := s.Inputs()[0]
	for i := 0; i < n; i += 250 {
		b := min(250, n-i)
		var x *graph.Tensor
		if in.DType == graph.Uint8 {
			x = test.BatchUint8(i, b)
		} else {
			x = test.Batch(i, b)
		}
		out, err := s.RunTensors(map[string]*graph.Tensor{in.Name: x})
		require.NoError(t, err)
		logits := out[s.Outputs()[0].Name]
		if logits.DType != graph.Float32 {
			// A raw output: argmax of the integers is the argmax of the values.
			f, err := logits.AsFloat64()
			require.NoError(t, err)
			fl := make([]float32, len(f))
			for k, v := range f {
				fl[k] = float32(v)
			}
			logits = graph.FromFloat32(logits.Shape, fl)
		}
		p, err := dataset.Top1(logits)
		require.NoError(t, err)
		pred = append(pred, p...)
	}
	return dataset.Accuracy(pred, test.Labels[:n]), pred, s.Mode().String()
}

// runFloat runs a model in float32 mode on named inputs.
func runFloat(t testing.TB, m *graph.Model, in map[string]*graph.Tensor) map[string]*graph.Tensor {
	t.Helper()
	s, err := runtime.NewSession(m, runtime.WithMode(runtime.ModeFloat))
	require.NoError(t, err)
	out, err := s.RunTensors(in)
	require.NoError(t, err)
	return out
}

func maxAbsDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

func randTensor(rng *rand.Rand, shape []int, scale float32) *graph.Tensor {
	t := graph.NewTensor(graph.Float32, shape)
	for i := range t.F32() {
		t.F32()[i] = float32(rng.NormFloat64()) * scale
	}
	return t
}

func randPositive(rng *rand.Rand, shape []int) *graph.Tensor {
	t := graph.NewTensor(graph.Float32, shape)
	for i := range t.F32() {
		t.F32()[i] = rng.Float32() + 0.5
	}
	return t
}

// newModel builds a model with one float input of the given shape (batch symbolic).
func newModel(input string, shape []int, outputs []string, nodes []*graph.Node, inits map[string]*graph.Tensor) *graph.Model {
	b := testmodels.New(0)
	b.G.Name = "test"
	b.IRVersion = 7
	sh := graph.ShapeOf(shape...)
	sh[0] = graph.Dim{Size: -1, Param: "N"}
	b.Input(input, sh...)
	maps.Copy(b.G.Initializers, inits)
	b.Output(outputs...)
	b.G.Nodes = nodes
	m := b.Model()
	m.Metadata = map[string]string{}
	return m
}

func node(op string, inputs []string, outputs []string, attrs ...func(*graph.Node)) *graph.Node {
	n := &graph.Node{Name: op + "_" + outputs[0], OpType: op, Inputs: inputs, Outputs: outputs, Attrs: map[string]*graph.Attr{}}
	for _, a := range attrs {
		a(n)
	}
	return n
}

func ints(name string, v ...int64) func(*graph.Node) {
	return func(n *graph.Node) { n.SetAttrInts(name, v) }
}

func intAttr(name string, v int64) func(*graph.Node) {
	return func(n *graph.Node) { n.SetAttrInt(name, v) }
}

func floatAttr(name string, v float32) func(*graph.Node) {
	return func(n *graph.Node) { n.SetAttrFloat(name, v) }
}

func countOps(m *graph.Model) map[string]int {
	c := map[string]int{}
	for _, n := range m.Graph.Nodes {
		c[n.OpType]++
	}
	return c
}

// rangesFromData calibrates a synthetic model with MIN_MAX on one batch.
func rangesFromData(t testing.TB, m *graph.Model, in map[string]*graph.Tensor) Ranges {
	t.Helper()
	c, err := NewCalibrator(m, MinMaxAsym, CalibOptions{})
	require.NoError(t, err)
	require.NoError(t, c.Collect(in))
	r, err := c.ComputeRanges()
	require.NoError(t, err)
	return r
}

func newFloatSession(m *graph.Model) (*runtime.Session, error) {
	return runtime.NewSession(m, runtime.WithMode(runtime.ModeFloat))
}

func nan() float64 { return math.NaN() }
