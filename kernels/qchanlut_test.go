package kernels

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestChanLUTPixels checks ApplyPixels against a plain per-byte lookup on every
// dispatch path: channel counts around the 16-lane runs and the masked tail,
// partial last pixels, bytes past the output untouched, and in-place use.
func TestChanLUTPixels(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(7))
		for _, c := range []int{1, 3, 15, 16, 17, 31, 32, 33, 48, 64, 100, 128, 256, 512} {
			for _, npix := range []int{0, 1, 2, 7, 49} {
				for _, extra := range []int{0, c / 2} {
					tables := make([]int8, c*256)
					for i := range tables {
						tables[i] = int8(r.Intn(256))
					}
					lut, err := NewChanLUT(tables)
					require.NoError(t, err)
					if !assert.Equal(quietT{}, c, lut.Channels()) {
						require.Equal(t, c, lut.Channels())
					}
					n := npix*c + extra
					in := make([]int8, n)
					for i := range in {
						in[i] = int8(r.Intn(256))
					}
					if n > 0 {
						in[n-1] = -1 // uint8 255: the last entry of its table (the gather reads the padding)
					}
					want := make([]int8, n)
					for i, v := range in {
						want[i] = tables[(i%c)*256+int(uint8(v))]
						if !assert.Equal(quietT{}, want[i], lut.Table(i % c)[uint8(v)]) {
							require.Equal(t, want[i], lut.Table(i % c)[uint8(v)])
						}
					}
					out := make([]int8, n+64)
					for i := range out {
						out[i] = 0x55
					}
					lut.ApplyPixels(in, out)
					if !assert.Equal(quietT{}, want, out[:n]) {
						require.Equal(t, want, out[:n], "c=%d pixels=%d extra=%d", c, npix, extra)
					}
					for _, v := range out[n:] {
						if !assert.Equal(quietT{}, int8(0x55), v) {
							require.Equal(t, int8(0x55), v, "wrote past the output")
						}
					}
					lut.ApplyPixels(in, in) // in place
					if !assert.Equal(quietT{}, want, in) {
						require.Equal(t, want, in)
					}
				}
			}
		}
	})
}

func TestChanLUTBadTables(t *testing.T) {
	for _, n := range []int{0, 255, 257} {
		_, err := NewChanLUT(make([]int8, n))
		require.Error(t, err)
	}
}

func BenchmarkChanLUTPixels(b *testing.B) {
	tables := make([]int8, 128*256)
	for i := range tables {
		tables[i] = int8(i * 7)
	}
	lut, err := NewChanLUT(tables)
	require.NoError(b, err)
	x := make([]int8, 56*56*128)
	y := make([]int8, len(x))
	b.SetBytes(int64(len(x)))
	for i := 0; i < b.N; i++ {
		lut.ApplyPixels(x, y)
	}
}
