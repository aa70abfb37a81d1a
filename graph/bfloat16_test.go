package graph

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
)

// refBFloat16 is the nearest bfloat16 by exhaustive comparison of the two neighbours
// (ties to the even one), in float64.
func refBFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	lo := uint16(b >> 16)
	hi := lo + 1
	if math.IsInf(float64(f), 0) || uint32(lo)<<16 == b {
		return lo
	}
	val := func(h uint16) float64 {
		if h&0x7fff == 0x7f80 { // past the largest finite: the next power of two
			return math.Copysign(math.Ldexp(1, 128), float64(f))
		}
		return float64(math.Float32frombits(uint32(h) << 16))
	}
	dl := math.Abs(float64(f) - val(lo))
	dh := math.Abs(val(hi) - float64(f))
	switch {
	case dl < dh:
		return lo
	case dh < dl:
		return hi
	case lo&1 == 0:
		return lo
	}
	return hi
}

// Float32ToBFloat16 rounds to the nearest bfloat16, ties to even; NaN stays NaN.
func TestFloat32ToBFloat16(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 200000; i++ {
		f := math.Float32frombits(rng.Uint32())
		if f != f {
			got := Float32ToBFloat16(f)
			assert.True(t, math.IsNaN(float64(math.Float32frombits(uint32(got)<<16))), "NaN %08x", math.Float32bits(f))
			continue
		}
		if g, w := Float32ToBFloat16(f), refBFloat16(f); g != w {
			t.Fatalf("%g (%08x): got %04x, want %04x", f, math.Float32bits(f), g, w)
		}
	}
	for _, c := range []struct {
		in   float32
		want uint16
	}{{1, 0x3f80}, {-2, 0xc000}, {float32(math.Inf(1)), 0x7f80}, {math.Float32frombits(0x3f808000), 0x3f80}, {math.Float32frombits(0x3f818000), 0x3f82},
		{math.MaxFloat32, 0x7f80}} {
		assert.Equal(t, c.want, Float32ToBFloat16(c.in), "%g", c.in)
	}
}
