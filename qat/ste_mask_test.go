package qat

import (
	"encoding/json"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
	"github.com/warboy-sim/warboy/quantizer"
)

// PyTorch's straight-through rule (torch 1.13's fake_quantize_per_tensor_affine /
// _cachemask CPU kernels, which FakeQuantize, FusedMovingAvgObsFakeQuantize and
// FixedQParamsFakeQuantize run): the gradient passes where the unclamped code lies in
// the grid, qmin <= nearbyint(x * inv) + zp <= qmax, inv = 1/scale in float32, the
// product in float32, nearbyint half to even: half a step wider on each side than the
// clamp. qat's mask is the clamp's, [(-128-zp)s, (127-zp)s] (fqOp.steArgs): PyTorch's
// was measured no better (docs/quantizer.md, "QAT (twentieth session)"). These tests
// pin both at the boundary against torch's own gradients
// (testdata/qat_ste/torch_mask.json, scripts/make_qat_ste_testdata.py).

// torchPasses is PyTorch's rule written out.
func torchPasses(x, scale float32, zp int) bool {
	code := math.RoundToEven(float64(x*(1/scale))) + float64(zp)
	return code >= -128 && code <= 127
}

// torchSTEBounds returns the float32 interval [lo, hi] of the values PyTorch's rule
// passes: from the half-way points, walked ulp by ulp to the exact boundary float32
// (x * inv and its rounding are monotone in x, so the passing values are an
// interval).
func torchSTEBounds(scale float32, zp int) (lo, hi float32) {
	inv := 1 / scale
	qlo, qhi := float64(-128-zp), float64(127-zp)
	code := func(x float32) float64 { return math.RoundToEven(float64(x * inv)) }
	hi = float32((qhi + 0.5) / float64(inv))
	lo = float32((qlo - 0.5) / float64(inv))
	up, down := float32(math.Inf(1)), float32(math.Inf(-1))
	for i := 0; i < 64 && code(hi) > qhi; i++ {
		hi = math.Nextafter32(hi, down)
	}
	for i := 0; i < 64; i++ {
		next := math.Nextafter32(hi, up)
		if next == hi || code(next) > qhi {
			break
		}
		hi = next
	}
	for i := 0; i < 64 && code(lo) < qlo; i++ {
		lo = math.Nextafter32(lo, up)
	}
	for i := 0; i < 64; i++ {
		next := math.Nextafter32(lo, down)
		if next == lo || code(next) < qlo {
			break
		}
		lo = next
	}
	return lo, hi
}

// maskWith applies the kernels' inclusive straight-through test (kernels.STESetF32)
// with bounds [lo, hi] to xs: 1 where the gradient passes, else 0.
func maskWith(xs []float32, lo, hi float32) []int {
	g, dx := make([]float32, len(xs)), make([]float32, len(xs))
	for i := range g {
		g[i] = 1
	}
	kernels.STESetF32(xs, g, dx, lo, hi)
	out := make([]int, len(xs))
	for i, v := range dx {
		out[i] = int(v)
	}
	return out
}

// qatSTEBounds is fqOp.steArgs' mask for the grid (scale, zp).
func qatSTEBounds(scale float32, zp int) (lo, hi float32) {
	o := &fqOp{p: quantizer.QParams{Scale: scale, ZeroPoint: zp}}
	_, lo, hi = o.steArgs(&Net{})
	return lo, hi
}

type torchMaskFixture struct {
	Torch       string `json:"torch"`
	Activations []struct {
		Scale float32   `json:"scale"`
		ZP    int       `json:"zp"`
		X     []float32 `json:"x"`
		Pass  []int     `json:"pass"`
	} `json:"activations"`
	Weights []struct {
		Shape  []int     `json:"shape"`
		W      []float32 `json:"w"`
		Scales []float32 `json:"scales"`
		Pass   []int     `json:"pass"`
	} `json:"weights"`
}

func loadTorchMask(t *testing.T) torchMaskFixture {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "qat_ste", "torch_mask.json"))
	require.NoError(t, err)
	var f torchMaskFixture
	require.NoError(t, json.Unmarshal(b, &f))
	require.NotEmpty(t, f.Activations)
	require.NotEmpty(t, f.Weights)
	return f
}

// TestSTEMaskAgainstTorch pins the straight-through mask at the edges of the grid
// against torch 1.13's own gradients (a few ulps around the clamp points and the
// half-way points beyond them, for seven scales and five zero points, through
// torch.fake_quantize_per_tensor_affine and eager QAT's FusedMovingAvgObsFakeQuantize):
// PyTorch's rule written out (torchSTEBounds through the kernels' test) gives torch's
// 0 or 1 on every value, ties included; qat's mask passes exactly the values inside
// the clamp points, a subset of torch's, and the values torch passes and qat does not
// are all beyond the clamp by at most half a step.
func TestSTEMaskAgainstTorch(t *testing.T) {
	f := loadTorchMask(t)
	band := 0
	for _, c := range f.Activations {
		tlo, thi := torchSTEBounds(c.Scale, c.ZP)
		torch := maskWith(c.X, tlo, thi)
		lo, hi := qatSTEBounds(c.Scale, c.ZP)
		ours := maskWith(c.X, lo, hi)
		s := float64(c.Scale)
		for i, x := range c.X {
			require.Equal(t, c.Pass[i], torch[i], "PyTorch's rule: scale %g zp %d x %g", c.Scale, c.ZP, x)
			require.Equal(t, c.Pass[i] == 1, torchPasses(x, c.Scale, c.ZP), "the rule written out, x %g", x)
			switch {
			case ours[i] == 1:
				require.Equal(t, 1, c.Pass[i], "qat passes what torch masks: x %g", x)
				require.True(t, x >= lo && x <= hi)
			case c.Pass[i] == 1:
				band++
				require.True(t, x < lo || x > hi, "torch-only inside the clamp: x %g", x)
				beyond := max(float64(lo)-float64(x), float64(x)-float64(hi)) / s
				require.LessOrEqual(t, beyond, 0.5+1e-4, "torch-only beyond half a step: x %g", x)
			}
		}
	}
	assert.Greater(t, band, 200, "the fixture reaches into the half step beyond the clamp")
}

// TestSTEBoundsAreTheRule: for random and extreme grids, torchSTEBounds' lo and hi
// pass under PyTorch's rule and their outer float32 neighbours do not, so the
// inclusive [lo, hi] test is the rule on every float32, and the interval is the
// clamp's (qat's mask) widened by half a step on each side.
func TestSTEBoundsAreTheRule(t *testing.T) {
	rng := rand.New(rand.NewSource(20))
	type grid struct {
		scale float32
		zp    int
	}
	grids := []grid{{1, 0}, {1, -128}, {1, 127}, {0.5, 3}, {1e-6, 0}, {1e-6, -128}, {3e4, 127}, {1.0 / 255, -128}}
	for range 2000 {
		grids = append(grids, grid{float32(math.Pow(10, rng.Float64()*8-6)), rng.Intn(256) - 128})
	}
	up, down := float32(math.Inf(1)), float32(math.Inf(-1))
	for _, g := range grids {
		lo, hi := torchSTEBounds(g.scale, g.zp)
		require.True(t, torchPasses(lo, g.scale, g.zp), "%v lo %g", g, lo)
		require.True(t, torchPasses(hi, g.scale, g.zp), "%v hi %g", g, hi)
		require.False(t, torchPasses(math.Nextafter32(lo, down), g.scale, g.zp), "%v below lo %g", g, lo)
		require.False(t, torchPasses(math.Nextafter32(hi, up), g.scale, g.zp), "%v above hi %g", g, hi)
		s := float64(g.scale)
		assert.InDelta(t, float64(-128-g.zp)-0.5, float64(lo)/s, 1e-4, "%v", g)
		assert.InDelta(t, float64(127-g.zp)+0.5, float64(hi)/s, 1e-4, "%v", g)
		qlo, qhi := qatSTEBounds(g.scale, g.zp)
		assert.InDelta(t, float64(-128-g.zp), float64(qlo)/s, 1e-4, "%v", g)
		assert.InDelta(t, float64(127-g.zp), float64(qhi)/s, 1e-4, "%v", g)
	}
}

// TestWeightCodesNeverClamp: the weights' grid (per channel, max|w|/127 on [-127,
// 127]) never clamps, so PyTorch's rule passes every weight and the weights need no
// mask (under either rule). Checked against torch's per-channel mask on the fixture's
// weights (whose scales weightScales reproduces bit for bit) and on random weights
// with the rule written out.
func TestWeightCodesNeverClamp(t *testing.T) {
	f := loadTorchMask(t)
	for _, w := range f.Weights {
		scales := weightScales(w.W, w.Shape, 0, nil, 1)
		require.Equal(t, w.Scales, scales)
		for i, p := range w.Pass {
			require.Equal(t, 1, p, "torch masks weight %d", i)
		}
	}
	rng := rand.New(rand.NewSource(21))
	for range 200 {
		shape := []int{1 + rng.Intn(16), 1 + rng.Intn(40)}
		ws := make([]float32, shape[0]*shape[1])
		for i := range ws {
			ws[i] = float32(rng.NormFloat64() * math.Pow(10, rng.Float64()*6-4))
		}
		scales := weightScales(ws, shape, 0, nil, 1)
		for i, v := range ws {
			s := scales[i/shape[1]]
			code := math.RoundToEven(float64(v * (1 / s)))
			require.True(t, code >= -127 && code <= 127, "weight %g scale %g code %g", v, s, code)
			require.LessOrEqual(t, math.Abs(math.RoundToEven(float64(v)/float64(s))), 127.0)
		}
	}
}

// TestFakeQuantClampMask: in a network, an input the forward clamps gets no
// gradient, even by less than half a step (qat's mask), where PyTorch's rule passes
// it (0.4 step beyond either end) and masks it only at 0.6 step.
func TestFakeQuantClampMask(t *testing.T) {
	m := tinyModel{[]int{6}, []*graph.Node{node("Add", []string{"x", "x"}, "y")}, nil}.model()
	n, err := New(m, Config{})
	require.NoError(t, err)
	require.NoError(t, n.SetRanges(quantizer.Ranges{"x": {-1, 1}, "y": {-4, 4}}))
	p := quantizer.ParamsFromRange(-1, 1)
	s := float64(p.Scale)
	top := float64(127-p.ZeroPoint) * s
	bot := float64(-128-p.ZeroPoint) * s
	x := []float32{float32(top + 0.4*s), float32(top + 0.6*s), float32(bot - 0.4*s), float32(bot - 0.6*s), float32(top - 0.1*s), float32(bot + 0.1*s)}
	_, _, err = n.Forward(x, 1)
	require.NoError(t, err)
	n.inputGrad = true
	n.Backward([]float32{1, 1, 1, 1, 1, 1})
	// y = 2 fq(x): the gradient is 2 where the input's mask passes
	assert.Equal(t, []float32{0, 0, 0, 0, 2, 2}, n.vals[n.input].grad, "clamped values get no gradient")
	lo, hi := torchSTEBounds(p.Scale, p.ZeroPoint)
	assert.Equal(t, []int{1, 0, 1, 0, 1, 1}, maskWith(x, lo, hi), "PyTorch's rule")
}
