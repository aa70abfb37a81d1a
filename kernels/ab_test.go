//go:build amd64 && !purego && !noasm

package kernels

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestProbeAB(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	s := benchConvs[0].s.norm()
	cw, _ := PackQConv(s, randI8(r, s.OC*s.C*9, -127, 127), nil, 0)
	cin := randI8(r, s.H*s.W*s.C, -128, 127)
	cout := make([]int8, s.H*s.W*s.OC)
	rq := NewRequant(RequantFloat, []float64{0.001}, 0, -128, 127)
	b1, b2 := time.Hour, time.Hour
	for t0 := time.Now(); time.Since(t0) < 30*time.Second; {
		for i := 0; i < 20; i++ {
			a := time.Now()
			QConv(s, cin, cw, cout, rq, 1)
			b1 = min(b1, time.Since(a))
			a = time.Now()
			QConv(s, cin, cw, cout, rq, 2)
			b2 = min(b2, time.Since(a))
		}
	}
	t.Logf("1T %v 2T %v scaling %.2f", b1, b2, float64(b1)/float64(b2))
}
