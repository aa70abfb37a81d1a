//go:build amd64 && !purego && !noasm

package kernels

import (
	"testing"
	"time"
)

func TestProbeDW(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	cp, wp, ow := 32, 114, 112
	buf := make([]int16, 3*wp*cp*2)
	off := make([]int64, 6)
	for i := range off {
		kh, kw := i/2, 2*(i%2)
		off[i] = int64((kh*wp + kw) * cp * 4)
	}
	w := make([]int16, 6*2*32)
	bias := make([]int32, 32)
	out := make([]int32, ow*cp)
	out8 := make([]int8, ow*cp)
	scale := make([]float32, 32)
	for _, mode := range []int64{0, 1} {
		e := dwEpi{mode: mode, out: &out8[0], ostride: int64(cp), scale: &scale[0]}
		g := cpuGOPS(func() {
			depthwiseAVX2_2x2(&buf[0], &off[0], 6, cp*4, ow, &w[0], 128, &bias[0], &out[0], cp*4, &e.mode)
		}, 2*float64(ow*cp*9), 200*time.Millisecond)
		t.Logf("mode %d: %.1f GOPS (3x3 ops)", mode, g)
	}
	src := make([]int8, (wp+1)*cp)
	g := cpuGOPS(func() { dwPairsAVX2(&buf[0], &src[0], wp, cp, 1) }, float64(wp*cp), 200*time.Millisecond)
	t.Logf("pairs: %.2f G channel-pixels/s", g)
}
