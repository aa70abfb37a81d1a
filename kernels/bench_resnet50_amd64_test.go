//go:build amd64 && !purego && !noasm

package kernels

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// resnet50Convs lists the 53 convolutions of ResNet-50 v1.5 (torchvision: the
// stride on the 3×3 of each bottleneck) at 224×224, batch 1, in network order,
// with their shape class.
func resnet50Convs() (convs []ConvShape, class []string) {
	add := func(cls string, hw, c, oc, k, stride int) {
		p := k / 2
		convs = append(convs, ConvShape{N: 1, H: hw, W: hw, C: c, OC: oc, KH: k, KW: k, StrideH: stride, StrideW: stride,
			PadTop: p, PadLeft: p, PadBottom: p, PadRight: p})
		class = append(class, cls)
	}
	add("stem7x7s2", 224, 3, 64, 7, 2)
	in, hw := 64, 56
	for stage, blocks := range []int{3, 4, 6, 3} {
		width := 64 << stage
		for b := 0; b < blocks; b++ {
			stride := 1
			if b == 0 && stage > 0 {
				stride = 2
			}
			add("1x1", hw, in, width, 1, 1)
			if stride == 2 {
				add("3x3s2", hw, width, width, 3, 2)
			} else {
				add("3x3s1", hw, width, width, 3, 1)
			}
			ohw := hw / stride
			add("1x1", ohw, width, 4*width, 1, 1)
			if b == 0 {
				cls := "1x1"
				if stride == 2 {
					cls = "1x1s2"
				}
				add(cls, hw, in, 4*width, 1, stride)
			}
			in, hw = 4*width, ohw
		}
	}
	return convs, class
}

// BenchmarkQConvResNet50 times QConv on the 53 convolutions of ResNet-50 (random
// int8 weights, per-channel float requantization, each layer with its own packed
// weights, run in network order as the executor does) with one thread, per shape
// class and overall, and reports the int8 multiply-accumulate rate against the
// instruction peak of the current path (PeakGOPS: a VPDPBUSD zmm loop on
// avx512vnni): GOPS counts 2 operations per multiply-add of the convolutions
// themselves (no padding or tile rounding counted as work). The machine is
// shared, so besides the wall-clock GOPS the benchmark reports cpu-GOPS, the
// same work over the CPU time of the (locked) benchmark thread, which being
// descheduled does not inflate; %peak is cpu-GOPS over the peak.
//
//	go test ./kernels -run '^$' -bench BenchmarkQConvResNet50 -benchtime 20x -cpu 1
func BenchmarkQConvResNet50(b *testing.B) {
	convs, class := resnet50Convs()
	r := rand.New(rand.NewPCG(5, 5))
	type layer struct {
		s   ConvShape
		w   *QConvWeights
		in  []int8
		out []int8
		rq  *Requant
	}
	layers := make([]layer, len(convs))
	for i, s := range convs {
		w, err := PackQConv(s, randI8(r, s.OC*s.C*s.KH*s.KW, -127, 127), randI32(r, s.OC, 5000), -3)
		if err != nil {
			b.Fatal(err)
		}
		sc := make([]float64, s.OC)
		for c := range sc {
			sc[c] = 0.0005 + 0.0005*r.Float64()
		}
		layers[i] = layer{s: s, w: w, in: randI8(r, s.H*s.W*s.C, -128, 127),
			out: make([]int8, s.OutH()*s.OutW()*s.OC), rq: NewRequant(RequantFloat, sc, -5, -128, 127)}
	}
	peak := PeakGOPS("int8", 200*time.Millisecond)
	run := func(name string, keep func(i int) bool) {
		var ops float64
		n := 0
		for i := range layers {
			if keep(i) {
				ops += convOps(layers[i].s)
				n++
			}
		}
		b.Run(fmt.Sprintf("%s/%s", Int8Path(), name), func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			c0 := threadCPU()
			for b.Loop() {
				for i := range layers {
					if keep(i) {
						l := &layers[i]
						QConv(l.s, l.in, l.w, l.out, l.rq, 1)
					}
				}
			}
			cpu := threadCPU() - c0
			gops := ops * float64(b.N) / b.Elapsed().Seconds() / 1e9
			cpuGops := ops * float64(b.N) / cpu.Seconds() / 1e9
			b.ReportMetric(gops, "GOPS")
			b.ReportMetric(cpuGops, "cpu-GOPS")
			b.ReportMetric(float64(n), "layers")
			b.ReportMetric(ops/2e9, "GMAC")
			if peak > 0 {
				b.ReportMetric(100*cpuGops/peak, "%peak")
			}
		})
	}
	run("all", func(int) bool { return true })
	for _, cls := range []string{"stem7x7s2", "1x1", "1x1s2", "3x3s1", "3x3s2"} {
		run(cls, func(i int) bool { return class[i] == cls })
	}
	b.Logf("int8 instruction peak (%s, one core): %.1f GOPS", Int8Path(), peak)
}
