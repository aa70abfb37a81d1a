//go:build amd64 && !purego && !noasm

package kernels

import (
	"testing"
	"time"
)

func TestProbeKernels(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	measure := func(fn func(), ops float64) float64 {
		best := 0.0
		for rep := 0; rep < 40; rep++ {
			t0 := time.Now()
			n := 0
			for time.Since(t0) < 5*time.Millisecond {
				fn()
				n++
			}
			g := ops * float64(n) / time.Since(t0).Seconds() / 1e9
			best = max(best, g)
		}
		return best
	}
	pk := measure(func() { peakFMA(1 << 12) }, 96*2*(1<<12))
	kc := 256
	a := make([]float32, kc*6)
	b := make([]float32, kc*16)
	c := make([]float32, 6*16)
	sg := measure(func() {
		for i := 0; i < 64; i++ {
			sgemmAVX2_6x16(kc, &a[0], &b[0], &c[0], 16, 1)
		}
	}, 64*2*6*16*float64(kc))
	t.Logf("peak FMA %.1f GOPS, 6x16 kernel (kc=%d, L1) %.1f GOPS = %.0f%%", pk, kc, sg, 100*sg/pk)
	pv := measure(func() { peakVNNIZ(1 << 12) }, 1536*2*(1<<12))
	k4 := 256
	qa := make([]int8, 12*k4*4)
	qb := make([]int8, 2*k4*64)
	bias := make([]int32, 32)
	tile := make([]int32, 12*32)
	qv := measure(func() {
		for i := 0; i < 64; i++ {
			qgemmVNNI_12x2(&qa[0], k4*4, &qb[0], k4*64, k4, 1, 0, &bias[0], &tile[0], 0, new(int64))
		}
	}, 64*2*12*32*4*float64(k4))
	t.Logf("peak VNNI %.1f GOPS, 12x32 kernel (k=%d, L1) %.1f GOPS = %.0f%%", pv, 4*k4, qv, 100*qv/pv)
	pa := measure(func() { peakAVX2Int8(1 << 12) }, 256*2*(1<<12))
	qa2 := measure(func() {
		for i := 0; i < 64; i++ {
			qgemmAVX2_4x1(&qa[0], k4*4, &qb[0], k4*64, k4, 1, 0, &bias[0], &tile[0], 0)
		}
	}, 64*2*4*16*4*float64(k4))
	t.Logf("peak AVX2 sign trick %.1f GOPS, 4x16 kernel %.1f GOPS = %.0f%%", pa, qa2, 100*qa2/pa)
}
