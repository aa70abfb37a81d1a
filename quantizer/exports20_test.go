package quantizer

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// Causes of low int8 SQNR found on exported models (docs/quantizer.md, "int8 accuracy
// on exports (twentieth session)"), each on a small graph.

// attentionScores are a Softmax's input [2, 64 queries, 64 keys]: noise of magnitude
// flat, and in every eighth query one key raised by peak (0: none), a few confident
// probabilities among many small ones (a deformable attention's sampling weights).
func attentionScores(rng *rand.Rand, flat, peak float32) *graph.Tensor {
	s := randTensor(rng, []int{2, 64, 64}, flat)
	d := s.F32()
	for q := 0; q < 2*64; q += 8 {
		d[q*64+rng.Intn(64)] += peak
	}
	return s
}

// softmaxModel is scores -> Softmax -> MatMul by values [64, 16].
func softmaxModel(rng *rand.Rand) *graph.Model {
	return newModel("s", []int{2, 64, 64}, []string{"y"}, []*graph.Node{
		node("Softmax", []string{"s"}, []string{"p"}, intAttr("axis", -1)),
		node("MatMul", []string{"p", "v"}, []string{"y"}),
	}, map[string]*graph.Tensor{"v": randTensor(rng, []int{64, 16}, 1)})
}

// A Softmax whose observed probabilities stay below 1/2 takes the range [0, observed
// maximum] whatever the calibration method (narrowFixed, observedRange): no
// calibration probability saturates, where a clipping method's own range cut the few
// confident ones (msdeform_attn_op16 with ENTROPY_ASYM: 23.1 -> 15.7 dB with the
// clipped range, nineteenth session). A Softmax whose maximum passes 1/2 keeps the
// spec's 1/256. Against the fixed 1/256 the narrowed one gains at least 6 dB on a
// flat attention and never loses; it never loses against the method's own clipped
// range either (ENTROPY's cut the flat attention's output to 2.7 dB).
func TestSoftmaxNarrowsToItsObservedRange(t *testing.T) {
	kinds := []struct {
		name        string
		flat, peak  float32
		fixed       bool
		overFixedDB float64 // the int8 output's gain over the fixed 1/256, at least
		// (a few confident keys: a symmetric ENTROPY clips the peaks of the scores
		// before the Softmax too, and that error dominates either way)
	}{
		{"flat attention over 64 keys", 0.3, 0, false, 6},
		{"flat attention with a few confident keys", 0.3, 3, false, 0},
		{"peaked attention", 0.3, 9, true, 0},
	}
	for _, k := range kinds {
		for _, method := range Methods() {
			t.Run(k.name+"/"+method.String(), func(t *testing.T) {
				rng := rand.New(rand.NewSource(11))
				m := softmaxModel(rng)
				feed := map[string]*graph.Tensor{"s": attentionScores(rng, k.flat, k.peak)}
				c, err := NewCalibrator(m, method, CalibOptions{})
				require.NoError(t, err)
				require.NoError(t, c.Collect(feed))
				pmax := float32(c.hists[c.index["p"]].max)
				assert.InDelta(t, softmaxMax(feed["s"].F32(), 64), pmax, 1e-6, "the observed maximum")
				r, err := c.ComputeRanges()
				require.NoError(t, err)
				q, err := Quantize(m, r, QuantOptions{})
				require.NoError(t, err)
				pq := scalarParams(t, q, producer(q, "p"))
				if k.fixed {
					require.Greater(t, pmax, float32(0.5))
					assert.Equal(t, fixedParams["Softmax"], pq)
					return
				}
				assert.Equal(t, [2]float32{0, pmax}, r["p"], "the observed range, whatever the method")
				assert.Equal(t, paramsFromRange(0, pmax), pq)
				assert.LessOrEqual(t, float64(pmax), paramsRange(pq)[1]+float64(pq.scale)/2, "no probability saturates")
				got := int8AgainstFloatDB(t, m, q, feed, "y")
				with := func(lo, hi float64) float64 {
					rr := Ranges{}
					for name, v := range r {
						rr[name] = v
					}
					rr["p"] = [2]float32{float32(lo), float32(hi)}
					qq, err := Quantize(m, rr, QuantOptions{})
					require.NoError(t, err)
					return int8AgainstFloatDB(t, m, qq, feed, "y")
				}
				f := paramsRange(fixedParams["Softmax"])
				fixed := with(f[0], f[1])
				clip := searchRange(c.hists[c.index["p"]], method, DefaultPercentile)
				clipped := with(clip.lo, clip.hi)
				t.Logf("observed [0, %.4f] %.1f dB; fixed 1/256 %.1f dB; %s's own [%.4f, %.4f] %.1f dB",
					pmax, got, fixed, method, clip.lo, clip.hi, clipped)
				assert.Greater(t, got, fixed+k.overFixedDB, "observed range against the fixed 1/256")
				assert.GreaterOrEqual(t, got, clipped-0.5, "observed range against the method's clipped range")
			})
		}
	}
}

// softmaxMax is the largest probability of a Softmax over rows of n.
func softmaxMax(s []float32, n int) float64 {
	best := 0.0
	for r := 0; r+n <= len(s); r += n {
		row, top := s[r:r+n], math.Inf(-1)
		for _, v := range row {
			top = math.Max(top, float64(v))
		}
		sum := 0.0
		for _, v := range row {
			sum += math.Exp(float64(v) - top)
		}
		best = math.Max(best, 1/sum)
	}
	return best
}
