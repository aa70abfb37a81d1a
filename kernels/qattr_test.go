package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGatherTaps16F32 checks GatherTaps16F32 on every path against the plain
// definition dst[p*16+l] = x[off[l]+p], bit for bit (NaN payloads and -0
// included), for row counts around the 8- and 16-row blocks and offsets that
// overlap, repeat and touch both ends of x; rows past n stay untouched, and
// out-of-range runs are refused.
func TestGatherTaps16F32(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 23))
		for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 40, 48, 63, 100, 384} {
			t.Run(fmt.Sprintf("n%d", n), func(t *testing.T) {
				x := make([]float32, n+50+r.IntN(40))
				for i := range x {
					x[i] = float32(r.NormFloat64())
				}
				x[0], x[len(x)-1] = float32(math.Copysign(0, -1)), math.Float32frombits(0x7fc00123)
				var off [16]int
				for l := range off {
					off[l] = r.IntN(len(x) - n + 1)
				}
				off[0], off[15], off[7] = 0, len(x)-n, off[6]
				dst := make([]float32, 16*n+5)
				for i := range dst {
					dst[i] = -7
				}
				require.NoError(t, GatherTaps16F32(dst, x, &off, n))
				for p := 0; p < n; p++ {
					for l := 0; l < 16; l++ {
						if !assert.Equal(quietT{}, math.Float32bits(x[off[l]+p]), math.Float32bits(dst[p*16+l])) {
							require.Equal(t, math.Float32bits(x[off[l]+p]), math.Float32bits(dst[p*16+l]), "row %d lane %d", p, l)
						}
					}
				}
				for _, v := range dst[16*n:] {
					if !assert.Equal(quietT{}, float32(-7), v) {
						require.Equal(t, float32(-7), v)
					}
				}
			})
		}
	})
	var off [16]int
	off[3] = 10
	require.ErrorContains(t, GatherTaps16F32(make([]float32, 16*8), make([]float32, 17), &off, 8), "lane 3")
	require.Error(t, GatherTaps16F32(make([]float32, 16*8-1), make([]float32, 17), &[16]int{}, 8))
	off[3] = -1
	require.Error(t, GatherTaps16F32(make([]float32, 16), make([]float32, 17), &off, 1))
}

// BenchmarkGatherTaps16F32 times the gather of one 384-row reduction block
// (kernels.Sgemm's kc) per op, lanes 30 floats apart as in a 28x28 padded plane.
func BenchmarkGatherTaps16F32(b *testing.B) {
	x := make([]float32, 16*900+400)
	var off [16]int
	for l := range off {
		off[l] = l*30 + l%3
	}
	dst := make([]float32, 16*384)
	b.SetBytes(16 * 384 * 4)
	for i := 0; i < b.N; i++ {
		if err := GatherTaps16F32(dst, x, &off, 384); err != nil {
			b.Fatal(err)
		}
	}
}
