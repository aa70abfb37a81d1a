package kernels

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fused quantize + interleave equals the scalar quantize (quantizeF32Go) followed by
// a scalar NCHW -> NHWC byte interleave, bit for bit, over random shapes, scales and
// zero points, with values at rounding ties, beyond saturation and NaN, on the
// AVX-512 VBMI kernel (3 channels, where the CPU has it) and on the Go path.
func TestQuantizeF32InterleaveMatchesScalar(t *testing.T) {
	rng := rand.New(rand.NewSource(15))
	vbmi := lutVBMIOK
	t.Cleanup(func() { lutVBMIOK = vbmi })
	for trial := 0; trial < 300; trial++ {
		c := 1 + rng.Intn(16)
		if trial%3 == 0 {
			c = 3
		}
		n := rng.Intn(2000)
		if trial%7 == 0 {
			n = rng.Intn(5)
		}
		stride := n + rng.Intn(40)
		scale := float32(math.Exp(rng.Float64()*8 - 6))
		zp := int32(rng.Intn(256) - 128)
		var xor byte
		if rng.Intn(2) == 0 {
			xor = 0x80
		}
		in := make([]float32, c*stride+1)
		for i := range in {
			switch rng.Intn(6) {
			case 0: // a tie: (k + 0.5) * scale
				in[i] = (float32(rng.Intn(301)-150) + 0.5) * scale
			case 1: // far out of range
				in[i] = float32(rng.NormFloat64()) * scale * 1000
			case 2:
				in[i] = float32(rng.Intn(301)-150) * scale
			case 3:
				if rng.Intn(20) == 0 {
					in[i] = float32(math.NaN())
				} else {
					in[i] = float32(math.Inf(1 - 2*rng.Intn(2)))
				}
			default:
				in[i] = float32(rng.NormFloat64()) * scale * 100
			}
		}
		want := make([]int8, n*c)
		row := make([]int8, n)
		for ch := 0; ch < c; ch++ {
			quantizeF32Go(in[ch*stride:ch*stride+n], scale, zp, row)
			for i, v := range row {
				want[i*c+ch] = int8(byte(v) ^ xor)
			}
		}
		// with and without the assembly (where the CPU has it)
		for _, asm := range []bool{vbmi, false} {
			lutVBMIOK = asm
			got := make([]int8, n*c+3)
			for i := range got {
				got[i] = 0x55
			}
			QuantizeF32Interleave(in, stride, c, n, scale, zp, xor, got[:n*c])
			lutVBMIOK = vbmi
			if !assert.Equal(quietT{}, want, got[:n*c]) {
				require.Equal(t, want, got[:n*c], "c=%d n=%d scale=%g zp=%d xor=%#x asm=%v", c, n, scale, zp, xor, asm)
			}
			if !assert.Equal(quietT{}, []int8{0x55, 0x55, 0x55}, got[n*c:]) {
				require.Equal(t, []int8{0x55, 0x55, 0x55}, got[n*c:], "wrote past the end")
			}
		}
	}
}

func TestQuantizeF32InterleaveRejectsChannels(t *testing.T) {
	require.Panics(t, func() { QuantizeF32Interleave(make([]float32, 17), 1, 17, 1, 1, 0, 0, make([]int8, 17)) })
}

func BenchmarkQuantizeF32Interleave(b *testing.B) {
	const hw = 224 * 224
	in := make([]float32, 3*hw)
	for i := range in {
		in[i] = float32(i%511)/255 - 1
	}
	out := make([]int8, 3*hw)
	b.SetBytes(int64(4 * len(in)))
	for i := 0; i < b.N; i++ {
		QuantizeF32Interleave(in, hw, 3, hw, 1.0/127, -1, 0, out)
	}
}
