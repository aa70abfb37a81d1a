package qat

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/quantizer"
	"github.com/warboy-sim/warboy/runtime"
)

// textModel is a token classifier as torch.onnx writes nn.Embedding ->
// Linear -> ReLU -> mean over tokens -> Linear: input "x" int64 ids [N, 5].
func textModel(rng *rand.Rand) *graph.Model {
	w := func(shape ...int) *graph.Tensor { return randTensor(rng, 0.6, shape...) }
	m := tinyModel{[]int{5}, []*graph.Node{
		node("Gather", []string{"table", "x"}, "e"),
		node("MatMul", []string{"e", "w1"}, "h"),
		node("Add", []string{"h", "b1"}, "hb"),
		node("Relu", []string{"hb"}, "r"),
		node("ReduceMean", []string{"r"}, "p", ints("axes", 1), intAttr("keepdims", 0)),
		node("Gemm", []string{"p", "w2", "b2"}, "y", intAttr("transB", 1)),
	}, map[string]*graph.Tensor{"table": w(9, 4), "w1": w(4, 6), "b1": w(6), "w2": w(3, 6), "b2": w(3)}}.model()
	m.Graph.Inputs[0].DType = graph.Int64
	m.Graph.Outputs[0].Shape, m.Graph.Outputs[0].HasShape = graph.Shape{{Size: -1, Param: "N"}, {Size: 3}}, true
	return m
}

// TestEmbeddingGradient: the gradient of every table row (a row read twice, a row
// read from the end by a negative index, rows never read) and of the layers after
// the lookup match central finite differences; indices outside the table are
// errors naming its size, ids that are not integers errors naming the input.
func TestEmbeddingGradient(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	m := textModel(rng)
	n, err := New(m, Config{FloatOnly: true})
	require.NoError(t, err)
	ids := []float32{0, 3, 3, 8, -1, 2, 5, 5, 1, 7}
	_, y, err := n.Forward(ids, 2)
	require.NoError(t, err)
	r := make([]float32, len(y))
	for i := range r {
		r[i] = rng.Float32()*2 - 1
	}
	loss := func() float64 {
		_, y, err := n.Forward(ids, 2)
		require.NoError(t, err)
		var s float64
		for i, v := range y {
			s += float64(v) * float64(r[i])
		}
		return s
	}
	loss()
	n.ZeroGrad()
	n.Backward(r)
	const eps = 1e-2
	for _, p := range n.Params() {
		g := append([]float32(nil), p.G...)
		for i := range p.W {
			old := p.W[i]
			p.W[i] = old + eps
			up := loss()
			p.W[i] = old - eps
			down := loss()
			p.W[i] = old
			num := (up - down) / (2 * eps)
			require.InDelta(t, num, float64(g[i]), 2e-2*math.Abs(num)+5e-3, "d/d %s[%d]", p.Name, i)
		}
	}
	// Row 4 and 6 are never read: no gradient.
	for _, p := range n.Params() {
		if p.Name == "table" {
			require.Equal(t, []float32{0, 0, 0, 0}, p.G[4*4:5*4])
			require.Equal(t, []float32{0, 0, 0, 0}, p.G[6*4:7*4])
		}
	}
	for _, tc := range []struct {
		id   float32
		want string
	}{
		{9, "index 9 outside the 9 rows of the table"},
		{-10, "index -10 outside the 9 rows of the table"},
		{2.5, `input "x" is int64; sample 0 holds 2.5`},
	} {
		_, _, err = n.Forward([]float32{0, 1, 2, 3, tc.id}, 1)
		require.ErrorContains(t, err, tc.want)
	}
}

// TestEmbeddingTrainsAndExports: the table trains (int8 per tensor on its own
// range, as Quantize stores it) and the written QDQ model computes on the int8
// runtime, from int64 ids, what the fake-quantized net computed.
func TestEmbeddingTrainsAndExports(t *testing.T) {
	rng := rand.New(rand.NewSource(6))
	m := textModel(rng)
	n, err := New(m, Config{Threads: 2})
	require.NoError(t, err)
	data := tokenData{n: 96, rows: 9, seed: 2}
	cal, err := quantizer.Calibrate(n.Plan().Model, quantizer.MinMaxAsym, data, quantizer.CalibOptions{})
	require.NoError(t, err)
	ranges, err := cal.ComputeRanges()
	require.NoError(t, err)
	require.NoError(t, n.SetRanges(ranges))
	before := append([]float32(nil), n.Params()[0].W...)
	stats, err := n.Fit(data, Options{LR: 0.05, Batch: 16, Epochs: 3, FreezeBNAfter: -1, FreezeRangesAfter: -1, Seed: 1})
	require.NoError(t, err)
	require.Less(t, stats[2].Loss, stats[0].Loss, "the loss decreases")
	require.NotEqual(t, before, n.Params()[0].W, "the table trains")

	ids := []int64{0, 3, 3, 8, 1, 2, 5, 5, 1, 7, 6, 4, 0, 0, 2}
	x := make([]float32, len(ids))
	for i, v := range ids {
		x[i] = float32(v)
	}
	_, got, err := n.Forward(x, 3)
	require.NoError(t, err)
	got = append([]float32(nil), got...)
	q, err := n.Export(quantizer.QuantOptions{})
	require.NoError(t, err)
	s, err := runtime.NewSession(q, runtime.WithMode(runtime.ModeInt8))
	require.NoError(t, err)
	out, err := s.RunTensors(map[string]*graph.Tensor{"x": graph.FromInt64([]int{3, 5}, ids)})
	require.NoError(t, err)
	want := out["y"].F32()
	require.Len(t, got, len(want))
	for i := range want {
		require.InDelta(t, want[i], got[i], 1e-5*(1+math.Abs(float64(want[i]))), "logit %d", i)
	}
}

// tokenData is random token ids [5] of a 9-row table, labelled by the first token
// (mod 3): something a bag of embeddings can learn.
type tokenData struct {
	n, rows int
	seed    int64
}

func (d tokenData) Len() int { return d.n }

func (d tokenData) ids(i int) []int64 {
	rng := rand.New(rand.NewSource(d.seed + int64(i)))
	out := make([]int64, 5)
	for j := range out {
		out[j] = int64(rng.Intn(d.rows))
	}
	return out
}

func (d tokenData) Sample(i int, dst []float32) (int, error) {
	ids := d.ids(i)
	for j, v := range ids {
		dst[j] = float32(v)
	}
	return int(ids[0] % 3), nil
}

func (d tokenData) Batch(start, n int) (map[string]*graph.Tensor, error) {
	var all []int64
	for i := start; i < start+n; i++ {
		all = append(all, d.ids(i)...)
	}
	return map[string]*graph.Tensor{"x": graph.FromInt64([]int{n, 5}, all)}, nil
}

// setData trains on a data set's samples and labels.
type setData struct{ s *dataset.Set }

func (d setData) Len() int { return d.s.Len() }
func (d setData) Sample(i int, dst []float32) (int, error) {
	return d.s.Labels[i], d.s.Float32Sample(i, dst)
}

// TestMaskedTextMatchesExport: a text classifier with two int64 inputs, token ids
// and an attention mask added to the scores as (1 - mask) * -10000 as BERT exports
// are (testdata/exported/textmask_cls_opset13.onnx, scripts/make_qat_text.py --mask),
// trains from the samples of both inputs, and the QDQ model it writes computes on
// the int8 runtime what the fake-quantized net computed, padding included.
func TestMaskedTextMatchesExport(t *testing.T) {
	m, err := graph.Load("../testdata/exported/textmask_cls_opset13.onnx")
	require.NoError(t, err)
	var ins []*graph.Value
	for _, in := range m.Graph.Inputs {
		if m.Graph.Initializers[in.Name] == nil {
			ins = append(ins, in)
		}
	}
	set, err := dataset.Open("../testdata/exported/npz_textmask", dataset.Options{Inputs: ins})
	require.NoError(t, err)
	n, err := New(m, Config{Threads: 2})
	require.NoError(t, err)
	require.Equal(t, []string{"ids", "mask"}, n.InputNames())
	require.Equal(t, 32, n.SampleLen())
	setCalibratedRanges(t, n, set.Head(128))
	_, err = n.Fit(setData{set}, Options{LR: 0.01, Batch: 32, FreezeBNAfter: -1, FreezeRangesAfter: -1, Seed: 1})
	require.NoError(t, err)

	const b = 48
	x := make([]float32, b*n.SampleLen())
	for i := 0; i < b; i++ {
		require.NoError(t, set.Float32Sample(i, x[i*32:(i+1)*32]))
	}
	feed, err := set.Batch(0, b)
	require.NoError(t, err)
	sqnr := exportSQNR(t, n, x, b, feed, "logits")
	t.Logf("fake-quantized training forward against the int8 runtime: %.1f dB", sqnr)
	require.Greater(t, sqnr, 40.0)
}
