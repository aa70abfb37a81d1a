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

// A Tanh whose calibrated output spans at most half of [-1, 1] is quantized with that
// range (narrowFixed); one that spans more keeps the spec's scale 1/128. The narrow
// one's int8 output is closer to float32 than with the fixed scale.
func TestTanhOutputNarrowsToItsRange(t *testing.T) {
	cases := []struct {
		name   string
		wscale float32
		fixed  bool
	}{
		{"small tanh (vocoder output)", 0.01, false},
		{"saturating tanh", 2, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(7))
			m := newModel("x", []int{1, 3, 8, 8}, []string{"y"}, []*graph.Node{
				node("Conv", []string{"x", "w"}, []string{"c"}, ints("pads", 1, 1, 1, 1)),
				node("Tanh", []string{"c"}, []string{"y"}),
			}, map[string]*graph.Tensor{"w": randTensor(rng, []int{4, 3, 3, 3}, c.wscale)})
			x := randTensor(rng, []int{1, 3, 8, 8}, 1)
			in := map[string]*graph.Tensor{"x": x}
			r := rangesFromData(t, m, in)
			q, err := Quantize(m, r, QuantOptions{})
			require.NoError(t, err)
			yq := scalarParams(t, q, producer(q, "y"))
			if c.fixed {
				assert.Equal(t, fixedParams["Tanh"], yq)
				assert.InDelta(t, paramsRange(fixedParams["Tanh"])[0], r["y"][0], 1e-6, "the ranges file says what is used")
				return
			}
			assert.Less(t, yq.scale, fixedParams["Tanh"].scale/4)
			assert.Equal(t, paramsFromRange(r["y"][0], r["y"][1]), yq)
			// Against the fixed scale: the same model quantized with the ranges a spec-only
			// quantizer writes.
			fixed := Ranges{}
			for k, v := range r {
				fixed[k] = v
			}
			f := paramsRange(fixedParams["Tanh"])
			fixed["y"] = [2]float32{float32(f[0]), float32(f[1])}
			qf, err := Quantize(m, fixed, QuantOptions{})
			require.NoError(t, err)
			assert.Equal(t, fixedParams["Tanh"], scalarParams(t, qf, producer(qf, "y")))
			want := runFloat(t, m, in)["y"].F32()
			snr := func(got []float32) float64 {
				var s, n float64
				for i, v := range want {
					s += float64(v) * float64(v)
					n += math.Pow(float64(got[i]-v), 2)
				}
				return 10 * math.Log10(s/n)
			}
			narrow, wide := snr(runMode(t, q, runtime.ModeAuto, x)), snr(runMode(t, qf, runtime.ModeAuto, x))
			assert.Greater(t, narrow, wide+10, "narrow %.1f dB, fixed %.1f dB", narrow, wide)
		})
	}
}
