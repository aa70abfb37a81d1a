package quantizer

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// Both spellings of an additive attention mask: torch's Where(mask, -inf, 0) and
// Hugging Face's (1 - mask) * finfo(float32).min; the Softmax output is data again.
func TestMaskValues(t *testing.T) {
	g := &graph.Graph{Initializers: map[string]*graph.Tensor{
		"ninf": graph.FromFloat32(nil, []float32{float32(math.Inf(-1))}),
		"fmin": graph.FromFloat32(nil, []float32{-math.MaxFloat32}),
		"one":  graph.FromFloat32(nil, []float32{1}),
	}}
	nd := func(op string, in []string, out string) *graph.Node {
		return &graph.Node{Name: out, OpType: op, Inputs: in, Outputs: []string{out}, Attrs: map[string]*graph.Attr{}}
	}
	g.Nodes = []*graph.Node{
		nd("Where", []string{"m", "ninf", "zero"}, "tmask"),
		nd("Add", []string{"scores", "tmask"}, "tmasked"),
		nd("Softmax", []string{"tmasked"}, "probs"),
		nd("Sub", []string{"one", "am"}, "inv"),
		nd("Mul", []string{"inv", "fmin"}, "hmask"),
		nd("Add", []string{"scores", "hmask"}, "hmasked"),
		nd("Add", []string{"scores", "one"}, "plain"),
	}
	mv := maskValues(g)
	for _, name := range []string{"tmask", "tmasked", "hmask", "hmasked"} {
		assert.True(t, mv[name], name)
	}
	for _, name := range []string{"probs", "inv", "plain", "scores"} {
		assert.False(t, mv[name], name)
	}
	// Finite fills: masks on their way to a Softmax, data otherwise.
	g.Initializers["fill"] = graph.FromFloat32(nil, []float32{-1e4})
	g.Initializers["big"] = graph.FromFloat32(nil, []float32{2e4})
	cos := nd("ConstantOfShape", []string{"shape"}, "full")
	cos.SetAttrTensor("value", graph.FromFloat32([]int{1}, []float32{-1e9}))
	g.Nodes = append(g.Nodes,
		nd("Where", []string{"band", "scores", "fill"}, "fmasked"),
		nd("Softmax", []string{"fmasked"}, "fprobs"),
		cos,
		nd("Where", []string{"band", "scores", "full"}, "cmasked"),
		nd("Transpose", []string{"cmasked"}, "ctrans"),
		nd("LogSoftmax", []string{"ctrans"}, "cprobs"),
		nd("Mul", []string{"scores", "big"}, "scaled"),
		nd("Relu", []string{"scaled"}, "act"),
		nd("Softmax", []string{"act"}, "aprobs"),
	)
	mv = maskValues(g)
	for _, name := range []string{"fill", "fmasked", "full", "cmasked", "ctrans"} {
		assert.True(t, mv[name], name)
	}
	for _, name := range []string{"fprobs", "cprobs", "big", "scaled", "act", "aprobs", "band"} {
		assert.False(t, mv[name], name)
	}
	assert.Equal(t, []float32{1, 2}, dropInfinities([]float32{float32(math.Inf(-1)), 1, float32(math.Inf(1)), 2}))
}

// causalMaskModel is the attention core of a decoder whose sequence length T is
// symbolic, with the causal mask torch.onnx writes for
// scores + torch.triu(torch.full((t, t), -inf), diagonal=1): Shape -> Gather ->
// Unsqueeze -> Concat -> ConstantOfShape(-inf) -> Trilu(k=1) -> Add -> Softmax.
func causalMaskModel() *graph.Model {
	ninf := graph.FromFloat32([]int{1}, []float32{float32(math.Inf(-1))})
	m := newModel("x", []int{1, 6, 8}, []string{"y"}, []*graph.Node{
		node("Shape", []string{"x"}, []string{"shape"}),
		node("Gather", []string{"shape", "one"}, []string{"t"}, intAttr("axis", 0)),
		node("Unsqueeze", []string{"t", "axes0"}, []string{"t1"}),
		node("Concat", []string{"t1", "t1"}, []string{"tt"}, intAttr("axis", 0)),
		node("ConstantOfShape", []string{"tt"}, []string{"full"}, func(n *graph.Node) { n.SetAttrTensor("value", ninf) }),
		node("Trilu", []string{"full", "kone"}, []string{"mask"}, intAttr("upper", 1)),
		node("Transpose", []string{"x"}, []string{"xt"}, ints("perm", 0, 2, 1)),
		node("MatMul", []string{"x", "xt"}, []string{"scores"}),
		node("Add", []string{"scores", "mask"}, []string{"masked"}),
		node("Softmax", []string{"masked"}, []string{"p"}, intAttr("axis", -1)),
		node("MatMul", []string{"p", "x"}, []string{"y"}),
	}, map[string]*graph.Tensor{
		"one":   graph.FromInt64(nil, []int64{1}),
		"axes0": graph.FromInt64([]int{1}, []int64{0}),
		"kone":  graph.FromInt64(nil, []int64{1}),
	})
	m.Graph.Inputs[0].Shape[0] = graph.Dim{Size: 1}
	m.Graph.Inputs[0].Shape[1] = graph.Dim{Size: -1, Param: "T"}
	m.Opsets[""] = 14
	return m
}

// The run-time causal mask stays float32 through quantization: no QuantizeLinear
// reads it, and the int8 model stays causal (a change to the last position leaves
// every earlier output bit-identical) and close to the float one. Quantized, the mask's
// -inf took a finite calibrated range and the masked scores leaked into the Softmax.
func TestQuantizeKeepsRuntimeCausalMask(t *testing.T) {
	m := causalMaskModel()
	mv := maskValues(m.Graph)
	for _, name := range []string{"full", "mask", "masked"} {
		assert.True(t, mv[name], name)
	}
	assert.False(t, mv["p"])

	// Calibrated at T=12; run at T=12 and on the first 7 positions. The changed last
	// position takes row 0's values, so every score stays inside the calibrated range.
	rng := rand.New(rand.NewSource(3))
	calib := randTensor(rng, []int{1, 12, 8}, 0.5)
	q, err := Quantize(m, rangesFromData(t, m, map[string]*graph.Tensor{"x": calib}), QuantOptions{})
	require.NoError(t, err)
	for _, n := range q.Graph.Nodes {
		if n.OpType == "QuantizeLinear" {
			assert.NotContains(t, []string{"full", "mask", "masked"}, n.Input(0), n.Name)
		}
	}
	s, err := runtime.NewSession(q)
	require.NoError(t, err)
	for _, steps := range []int{12, 7} {
		x := graph.FromFloat32([]int{1, steps, 8}, append([]float32(nil), calib.F32()[:steps*8]...))
		x2 := graph.FromFloat32(x.Shape, append([]float32(nil), x.F32()...))
		copy(x2.F32()[(steps-1)*8:], x.F32()[:8])
		a, err := s.RunTensors(map[string]*graph.Tensor{"x": x})
		require.NoError(t, err)
		b, err := s.RunTensors(map[string]*graph.Tensor{"x": x2})
		require.NoError(t, err)
		ya, yb := a["y"].F32(), b["y"].F32()
		assert.Equal(t, ya[:(steps-1)*8], yb[:(steps-1)*8], "T=%d: earlier positions saw the last one", steps)
		ref := runFloat(t, m, map[string]*graph.Tensor{"x": x})["y"].F32()
		assert.Less(t, maxAbsDiff(ref, ya), 0.05, "T=%d: int8 against float32", steps)
	}
}

// A band mask applied with a finite fill, Where(band, scores, -1e4) -> Softmax (torch's
// masked_fill with -1e4 as float16-minded code writes it; einsum_where of --unseen6):
// the filled scores stay float32, so the int8 Softmax sees the real scores. Quantized,
// -1e4 set the range (a step of 80) and the Softmax came out 3.8 dB from float32.
func TestQuantizeKeepsFiniteFillMask(t *testing.T) {
	const n = 10
	band := make([]bool, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			band[i*n+j] = i-j <= 2 && j-i <= 2
		}
	}
	m := newModel("x", []int{1, n, 8}, []string{"y"}, []*graph.Node{
		node("Transpose", []string{"x"}, []string{"xt"}, ints("perm", 0, 2, 1)),
		node("MatMul", []string{"x", "xt"}, []string{"scores"}),
		node("Where", []string{"band", "scores", "fill"}, []string{"masked"}),
		node("Softmax", []string{"masked"}, []string{"p"}, intAttr("axis", -1)),
		node("MatMul", []string{"p", "x"}, []string{"y"}),
	}, map[string]*graph.Tensor{
		"band": {DType: graph.Bool, Shape: []int{n, n}, Data: band},
		"fill": graph.FromFloat32(nil, []float32{-1e4}),
	})
	m.Opsets[""] = 13
	rng := rand.New(rand.NewSource(4))
	calib := randTensor(rng, []int{1, n, 8}, 0.5)
	q, err := Quantize(m, rangesFromData(t, m, map[string]*graph.Tensor{"x": calib}), QuantOptions{})
	require.NoError(t, err)
	quantized := map[string]bool{}
	for _, nd := range q.Graph.Nodes {
		if nd.OpType == "QuantizeLinear" {
			quantized[nd.Input(0)] = true
		}
	}
	// The QuantizeLinear of a node's output reads "NAME_QuantizeLinear_Input".
	q8 := func(name string) bool { return quantized[name] || quantized[name+"_QuantizeLinear_Input"] }
	assert.False(t, q8("masked"), "the filled scores stay float32")
	assert.True(t, q8("scores"), "the scores are quantized")
	assert.True(t, q8("p"), "the Softmax output is data again")
	s, err := runtime.NewSession(q)
	require.NoError(t, err)
	for _, x := range []*graph.Tensor{calib, randTensor(rng, []int{1, n, 8}, 0.5)} {
		got, err := s.RunTensors(map[string]*graph.Tensor{"x": x})
		require.NoError(t, err)
		ref := runFloat(t, m, map[string]*graph.Tensor{"x": x})["y"].F32()
		d := maxAbsDiff(ref, got["y"].F32())
		t.Logf("max |int8 - float32| %.4f", d)
		assert.Less(t, d, 0.15, "int8 against float32")
	}
}
