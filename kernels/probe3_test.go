//go:build amd64 && !purego && !noasm

package kernels

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestProbeSgemmBlocking(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	r := rand.New(rand.NewPCG(1, 1))
	for _, kc := range []int{128, 256, 384, 512} {
		for _, mc := range []int{48, 96, 120, 240} {
			sgKC, sgMC = kc, mc
			line := ""
			for _, n := range []int{256, 512, 1024} {
				fa, fb, fc := randF32(r, n*n), randF32(r, n*n), make([]float32, n*n)
				g := cpuGOPS(func() { Sgemm(false, false, n, n, n, fa, n, fb, n, fc, n, false, 1) }, 2*float64(n*n*n), 300*time.Millisecond)
				line += " " + ftoa(g)
			}
			t.Logf("kc=%d mc=%d:%s", kc, mc, line)
		}
	}
	sgKC, sgMC = sgKC0, sgMC0
}

func ftoa(f float64) string { return time.Duration(f * 1e6).String() }
