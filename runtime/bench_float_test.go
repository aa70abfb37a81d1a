package runtime_test

// End-to-end checks and benchmarks of the float32 reference executor: accuracy of the
// bundled Fashion-MNIST models (the figures of testdata/models' README), and batch-1
// latency of the bundled CNN and of a ResNet-50-sized convolution stack built here with
// the graph API.

import (
	"fmt"
	"math"
	"math/rand"
	"path/filepath"
	goruntime "runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/ortoracle"
	"github.com/warboy-sim/warboy/runtime"
)

const (
	modelDir = "../testdata/models"
	dataDir  = "../testdata/fashion-mnist"
)

// TestFloatModelAccuracy runs the three bundled models on the t10k test set and checks
// the top-1 accuracy PyTorch measured for them (ONNX Runtime gives the same counts).
// Short mode uses the first 1,000 images and checks the count measured on them. When
// ONNX Runtime is installed (make ort), the logits of the first 500 images are also
// compared with its own.
func TestFloatModelAccuracy(t *testing.T) {
	ds, err := dataset.Load(dataDir, "t10k")
	require.NoError(t, err)
	require.Equal(t, 10000, ds.N)
	cases := []struct {
		model string
		// correct on all 10,000 images (README) and on the first 1,000.
		correct, correct1k int
	}{
		{"fmnist_cnn.onnx", 9208, 931},
		{"fmnist_resnet.onnx", 9177, 944},
		{"fmnist_mlp.onnx", 8847, 885},
	}
	n := ds.N
	if testing.Short() {
		n = 1000
	}
	ortErr := ortoracle.Available()
	for _, tc := range cases {
		t.Run(tc.model, func(t *testing.T) {
			path := filepath.Join(modelDir, tc.model)
			m, err := graph.Load(path)
			require.NoError(t, err)
			s, err := runtime.NewSession(m)
			require.NoError(t, err)
			const batch = 500
			correct := 0
			var first *graph.Tensor // logits of the first batch, for the ORT comparison
			for start := 0; start < n; start += batch {
				x := ds.Batch(start, min(batch, n-start))
				out, err := s.RunTensors(map[string]*graph.Tensor{"input": x})
				require.NoError(t, err)
				pred, err := dataset.Top1(out["logits"])
				require.NoError(t, err)
				for i, p := range pred {
					if p == ds.Labels[start+i] {
						correct++
					}
				}
				if start == 0 {
					first = out["logits"]
				}
			}
			want := tc.correct
			if n != ds.N {
				want = tc.correct1k
			}
			assert.Equal(t, want, correct, "correct predictions on %d images", n)
			t.Logf("%s: %d / %d = %.2f %%", tc.model, correct, n, 100*float64(correct)/float64(n))
			if ortErr != nil {
				t.Logf("ONNX Runtime comparison skipped: %v", ortErr)
				return
			}
			ref, err := ortoracle.Run(path, map[string]*graph.Tensor{"input": ds.Batch(0, first.Shape[0])}, 2)
			require.NoError(t, err)
			require.NoError(t, runtime.CompareTensors(first, ref["logits"], runtime.Tolerance{Rtol: 1e-4, Atol: 1e-4}))
			ours, err := dataset.Top1(first)
			require.NoError(t, err)
			theirs, err := dataset.Top1(ref["logits"])
			require.NoError(t, err)
			assert.Equal(t, theirs, ours, "top-1 predictions differ from ONNX Runtime's")
		})
	}
}

// TestConcurrentRuns runs one session from several goroutines at once (the runtime's
// contract) and checks every result against a sequential run; -race checks the
// kernels' shared state.
func TestConcurrentRuns(t *testing.T) {
	ds, err := dataset.Load(dataDir, "t10k")
	require.NoError(t, err)
	for _, model := range []string{"fmnist_cnn.onnx", "fmnist_resnet.onnx"} {
		t.Run(model, func(t *testing.T) {
			m, err := graph.Load(filepath.Join(modelDir, model))
			require.NoError(t, err)
			s, err := runtime.NewSession(m, runtime.WithThreads(2))
			require.NoError(t, err)
			const workers = 4
			want := make([]*graph.Tensor, workers)
			for w := range want {
				out, err := s.RunTensors(map[string]*graph.Tensor{"input": ds.Batch(w*3, 3)})
				require.NoError(t, err)
				want[w] = out["logits"]
			}
			got := make([]*graph.Tensor, workers)
			errs := make([]error, workers)
			var wg sync.WaitGroup
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for rep := 0; rep < 3; rep++ {
						out, err := s.RunTensors(map[string]*graph.Tensor{"input": ds.Batch(w*3, 3)})
						if err != nil {
							errs[w] = err
							return
						}
						got[w] = out["logits"]
					}
				}(w)
			}
			wg.Wait()
			for w := range got {
				require.NoError(t, errs[w])
				assert.Equal(t, want[w].F32(), got[w].F32(), "worker %d", w)
			}
		})
	}
}

// convFLOPs returns the multiply-add FLOPs (2 per MAC) of the Conv, Gemm and MatMul
// nodes of an inferred model.
func convFLOPs(t testing.TB, m *graph.Model) float64 {
	_, err := m.InferShapes(graph.InferOptions{Eval: runtime.ConstEval()})
	require.NoError(t, err)
	var flops float64
	for _, n := range m.Graph.Nodes {
		out := m.Graph.Values[n.Outputs[0]]
		switch n.OpType {
		case "Conv":
			w := m.Graph.Values[n.Inputs[1]]
			o, ok := out.Shape.Concrete()
			require.True(t, ok)
			ws, _ := w.Shape.Concrete()
			// Every output element takes C/g * K multiply-adds.
			flops += 2 * float64(graph.NumElements(o)) * float64(graph.NumElements(ws[1:]))
		case "Gemm", "MatMul":
			a := m.Graph.Values[n.Inputs[0]]
			as, _ := a.Shape.Concrete()
			o, _ := out.Shape.Concrete()
			k := as[len(as)-1]
			if n.AttrInt("transA", 0) != 0 {
				k = as[0]
			}
			flops += 2 * float64(graph.NumElements(o)) * float64(k)
		}
	}
	return flops
}

func benchModel(b *testing.B, m *graph.Model, input string, x *graph.Tensor) {
	flops := convFLOPs(b, m)
	s, err := runtime.NewSession(m)
	require.NoError(b, err)
	in := map[string]*graph.Tensor{input: x}
	_, err = s.RunTensors(in) // warm-up: scratch buffers, page faults
	require.NoError(b, err)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.RunTensors(in); err != nil {
			b.Fatal(err)
		}
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/sec, "images/s")
	b.ReportMetric(flops*float64(b.N)/sec/1e9, "GFLOP/s")
	b.ReportMetric(sec/float64(b.N)*1e3, "ms/image")
}

// BenchmarkFloatCNN is batch-1 float32 inference of the bundled CNN.
func BenchmarkFloatCNN(b *testing.B) {
	m, err := graph.Load(filepath.Join(modelDir, "fmnist_cnn.onnx"))
	require.NoError(b, err)
	ds, err := dataset.Load(dataDir, "t10k")
	require.NoError(b, err)
	// Bind the symbolic batch to 1 so that FLOPs are known.
	m.Graph.Inputs[0].Shape[0] = graph.Dim{Size: 1}
	benchModel(b, m, "input", ds.Batch(0, 1))
}

// BenchmarkFloatResNet50 is batch-1 float32 inference of a ResNet-50-shaped stack
// (224x224 input, 7x7/2 stem, 3-4-6-3 bottleneck blocks, 4.1 GMACs in the convolutions)
// with random weights and BatchNorm folded into the convolutions, as deployed models
// have them.
func BenchmarkFloatResNet50(b *testing.B) {
	m := ResNet50(1)
	x := graph.NewTensor(graph.Float32, []int{1, 3, 224, 224})
	r := rand.New(rand.NewSource(2))
	for i, d := 0, x.F32(); i < len(d); i++ {
		d[i] = r.Float32()
	}
	benchModel(b, m, "input", x)
}

// benchORT times the same model in ONNX Runtime (all graph optimizations, as many
// threads as the Go benchmarks use), for the float32 baseline's target of 1.25x ONNX
// Runtime's latency. It is skipped when ONNX Runtime is not installed (make ort).
func benchORT(b *testing.B, m *graph.Model, input string, x *graph.Tensor) {
	if err := ortoracle.Available(); err != nil {
		b.Skip(err)
	}
	flops := convFLOPs(b, m)
	path := filepath.Join(b.TempDir(), "model.onnx")
	require.NoError(b, m.Save(path))
	lat, err := ortoracle.Bench(path, map[string]*graph.Tensor{input: x}, goruntime.GOMAXPROCS(0), 3, b.N)
	require.NoError(b, err)
	var total float64
	for _, ms := range lat {
		total += ms
	}
	sec := total / 1e3
	b.ReportMetric(float64(len(lat))/sec, "images/s")
	b.ReportMetric(flops*float64(len(lat))/sec/1e9, "GFLOP/s")
	b.ReportMetric(sec/float64(len(lat))*1e3, "ms/image")
}

// BenchmarkORTCNN is BenchmarkFloatCNN in ONNX Runtime.
func BenchmarkORTCNN(b *testing.B) {
	m, err := graph.Load(filepath.Join(modelDir, "fmnist_cnn.onnx"))
	require.NoError(b, err)
	ds, err := dataset.Load(dataDir, "t10k")
	require.NoError(b, err)
	m.Graph.Inputs[0].Shape[0] = graph.Dim{Size: 1}
	benchORT(b, m, "input", ds.Batch(0, 1))
}

// BenchmarkORTResNet50 is BenchmarkFloatResNet50 in ONNX Runtime.
func BenchmarkORTResNet50(b *testing.B) {
	x := graph.NewTensor(graph.Float32, []int{1, 3, 224, 224})
	r := rand.New(rand.NewSource(2))
	for i, d := 0, x.F32(); i < len(d); i++ {
		d[i] = r.Float32()
	}
	benchORT(b, ResNet50(1), "input", x)
}

// resnetBuilder assembles a model with the graph API.
type resnetBuilder struct {
	g    *graph.Graph
	rng  *rand.Rand
	next int
}

func (rb *resnetBuilder) name(prefix string) string {
	rb.next++
	return fmt.Sprintf("%s_%d", prefix, rb.next)
}

// conv adds Conv(+bias) and optionally Relu; He-initialized weights keep activations
// in a sane range through the 50 layers.
func (rb *resnetBuilder) conv(x string, cin, cout, k, stride int, relu bool) string {
	w := graph.NewTensor(graph.Float32, []int{cout, cin, k, k})
	limit := float32(math.Sqrt(6 / float64(cin*k*k)))
	for i, d := 0, w.F32(); i < len(d); i++ {
		d[i] = (rb.rng.Float32()*2 - 1) * limit
	}
	bias := graph.NewTensor(graph.Float32, []int{cout})
	for i, d := 0, bias.F32(); i < len(d); i++ {
		d[i] = (rb.rng.Float32()*2 - 1) * 0.01
	}
	wn, bn, out := rb.name("w"), rb.name("b"), rb.name("conv")
	rb.g.Initializers[wn], rb.g.Initializers[bn] = w, bias
	n := &graph.Node{Name: out, OpType: "Conv", Inputs: []string{x, wn, bn}, Outputs: []string{out}}
	n.SetAttrInts("kernel_shape", []int64{int64(k), int64(k)})
	n.SetAttrInts("strides", []int64{int64(stride), int64(stride)})
	p := int64(k / 2)
	n.SetAttrInts("pads", []int64{p, p, p, p})
	rb.g.Nodes = append(rb.g.Nodes, n)
	if !relu {
		return out
	}
	return rb.op("Relu", out)
}

func (rb *resnetBuilder) op(op string, in ...string) string {
	out := rb.name(op)
	rb.g.Nodes = append(rb.g.Nodes, &graph.Node{Name: out, OpType: op, Inputs: in, Outputs: []string{out}})
	return out
}

// ResNet50 builds the ResNet-50 v1.5 architecture (stride on the 3x3 convolution of each
// stage's first block) with random weights, batch size n.
func ResNet50(n int) *graph.Model {
	g := &graph.Graph{Name: "resnet50", Initializers: map[string]*graph.Tensor{}, Values: map[string]*graph.Value{}}
	g.Inputs = []*graph.Value{{Name: "input", DType: graph.Float32, Shape: graph.ShapeOf(n, 3, 224, 224), HasShape: true}}
	rb := &resnetBuilder{g: g, rng: rand.New(rand.NewSource(1))}
	x := rb.conv("input", 3, 64, 7, 2, true)
	mp := &graph.Node{Name: "maxpool", OpType: "MaxPool", Inputs: []string{x}, Outputs: []string{"maxpool"}}
	mp.SetAttrInts("kernel_shape", []int64{3, 3})
	mp.SetAttrInts("strides", []int64{2, 2})
	mp.SetAttrInts("pads", []int64{1, 1, 1, 1})
	g.Nodes = append(g.Nodes, mp)
	x = "maxpool"
	cin := 64
	for stage, blocks := range []int{3, 4, 6, 3} {
		width := 64 << stage
		for blk := 0; blk < blocks; blk++ {
			stride := 1
			if blk == 0 && stage > 0 {
				stride = 2
			}
			short := x
			if blk == 0 {
				short = rb.conv(x, cin, 4*width, 1, stride, false)
			}
			y := rb.conv(x, cin, width, 1, 1, true)
			y = rb.conv(y, width, width, 3, stride, true)
			y = rb.conv(y, width, 4*width, 1, 1, false)
			x = rb.op("Relu", rb.op("Add", y, short))
			cin = 4 * width
		}
	}
	x = rb.op("GlobalAveragePool", x)
	x = rb.op("Flatten", x)
	fc := graph.NewTensor(graph.Float32, []int{1000, 2048})
	for i, d := 0, fc.F32(); i < len(d); i++ {
		d[i] = (rb.rng.Float32()*2 - 1) * 0.02
	}
	g.Initializers["fc.weight"] = fc
	g.Initializers["fc.bias"] = graph.NewTensor(graph.Float32, []int{1000})
	gemm := &graph.Node{Name: "fc", OpType: "Gemm", Inputs: []string{x, "fc.weight", "fc.bias"}, Outputs: []string{"logits"}}
	gemm.SetAttrInt("transB", 1)
	g.Nodes = append(g.Nodes, gemm)
	g.Outputs = []*graph.Value{{Name: "logits", DType: graph.Float32, Shape: graph.ShapeOf(n, 1000), HasShape: true}}
	return &graph.Model{Graph: g, IRVersion: 8, Opsets: map[string]int64{"": 13}, ProducerName: "warboy-test"}
}

// TestResNet50Builds checks that the benchmark model is valid and has ResNet-50's cost.
func TestResNet50Builds(t *testing.T) {
	m := ResNet50(1)
	require.NoError(t, m.Validate(runtime.ConstEval()))
	gflops := convFLOPs(t, m) / 1e9
	// ResNet-50: 4.09 GMACs in convolutions and the classifier.
	assert.InDelta(t, 8.2, gflops, 0.2)
	convs := 0
	for _, n := range m.Graph.Nodes {
		if n.OpType == "Conv" {
			convs++
		}
	}
	assert.Equal(t, 53, convs) // 49 in the blocks + 4 projections
}
