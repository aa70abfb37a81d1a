//go:build amd64 && !purego && !noasm

package kernels

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

func procCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(0, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestProbeThreads(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	r := rand.New(rand.NewPCG(1, 1))
	n := 1024
	a := randI8(r, n*n, -128, 127)
	w := randI8(r, n*n, -127, 127)
	pw, _ := PackQGemm(n, n, w, nil, 3)
	rq := NewRequant(RequantFloat, []float64{0.001}, 0, -128, 127)
	out := make([]int8, n*n)
	for _, th := range []int{1, 2, 1, 2} {
		c0, t0 := procCPU(), time.Now()
		for i := 0; i < 20; i++ {
			QGemm(n, a, n, pw, out, n, rq, th)
		}
		t.Logf("threads=%d wall %v cpu %v", th, time.Since(t0)/20, (procCPU()-c0)/20)
	}
}
