package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

func benchThreads() []int {
	t := []int{1}
	if p := runtime.GOMAXPROCS(0); p > 1 {
		t = append(t, p)
	}
	return t
}

func reportGOPS(b *testing.B, ops float64) {
	b.ReportMetric(ops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOPS")
}

func BenchmarkQGemm(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{256, 512, 1024} {
		a := randI8(r, n*n, -128, 127)
		w := randI8(r, n*n, -127, 127)
		pw, _ := PackQGemm(n, n, w, randI32(r, n, 1000), 3)
		rq := NewRequant(RequantFloat, []float64{0.001}, 0, -128, 127)
		out := make([]int8, n*n)
		for _, th := range benchThreads() {
			b.Run(fmt.Sprintf("%s/n=%d/threads=%d", Int8Path(), n, th), func(b *testing.B) {
				for b.Loop() {
					QGemm(n, a, n, pw, out, n, rq, th)
				}
				reportGOPS(b, 2*float64(n)*float64(n)*float64(n))
			})
		}
	}
}

func BenchmarkSgemm(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{256, 512, 1024} {
		a, w, c := randF32(r, n*n), randF32(r, n*n), make([]float32, n*n)
		for _, th := range benchThreads() {
			b.Run(fmt.Sprintf("%s/n=%d/threads=%d", F32Path(), n, th), func(b *testing.B) {
				for b.Loop() {
					Sgemm(false, false, n, n, n, a, n, w, n, c, n, false, th)
				}
				reportGOPS(b, 2*float64(n)*float64(n)*float64(n))
			})
		}
	}
}

var benchConvs = []struct {
	name string
	s    ConvShape
}{
	{"resnet50-3x3-56x56x64-64", ConvShape{N: 1, H: 56, W: 56, C: 64, OC: 64, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}},
	{"resnet50-1x1-56x56x256-64", ConvShape{N: 1, H: 56, W: 56, C: 256, OC: 64, KH: 1, KW: 1}},
	{"dw3x3-112x112x32", ConvShape{N: 1, H: 112, W: 112, C: 32, OC: 32, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Groups: 32}},
}

func convOps(s ConvShape) float64 {
	s = s.norm()
	return 2 * float64(s.N*s.OutH()*s.OutW()*s.OC) * float64(s.C/s.Groups*s.KH*s.KW)
}

func BenchmarkQConv(b *testing.B) {
	r := rand.New(rand.NewPCG(2, 2))
	for _, tc := range benchConvs {
		s := tc.s.norm()
		w := randI8(r, s.OC*s.C/s.Groups*s.KH*s.KW, -127, 127)
		pw, err := PackQConv(s, w, randI32(r, s.OC, 1000), -5)
		if err != nil {
			b.Fatal(err)
		}
		in := randI8(r, s.N*s.H*s.W*s.C, -128, 127)
		out := make([]int8, s.N*s.OutH()*s.OutW()*s.OC)
		rq := NewRequant(RequantFloat, []float64{0.002}, 0, -128, 127)
		for _, th := range benchThreads() {
			b.Run(fmt.Sprintf("%s/%s/threads=%d", tc.name, Int8Path(), th), func(b *testing.B) {
				for b.Loop() {
					QConv(s, in, pw, out, rq, th)
				}
				reportGOPS(b, convOps(s))
			})
		}
	}
}

// BenchmarkSgemmRows is the channels-last convolution GEMM on ResNet-50's layer
// shapes (3x3 stride 1 on a zero-padded NHWC input, whose 2 padding columns per
// row are computed and counted; 1x1 on the input itself), with the weights
// cycled through 64 MiB of copies so that they come from memory as in a
// network run. GOPS counts the GEMM's rows, padding columns included.
func BenchmarkSgemmRows(b *testing.B) {
	for _, s := range []struct{ hw, cin, cout, k int }{
		{56, 64, 64, 3}, {28, 128, 128, 3}, {14, 256, 256, 3}, {7, 512, 512, 3},
		{56, 64, 256, 1}, {28, 512, 128, 1}, {14, 1024, 256, 1}, {7, 2048, 512, 1},
	} {
		pad := s.k / 2
		pw := s.hw + 2*pad
		st := s.cin
		if s.cin%512 == 0 {
			st += 16 // the runtime's pixel stride for such channel counts
		}
		kdim := s.k * s.k * s.cin
		off := make([]int32, kdim)
		for kh := 0; kh < s.k; kh++ {
			for kw := 0; kw < s.k; kw++ {
				for ci := 0; ci < s.cin; ci++ {
					off[(kh*s.k+kw)*s.cin+ci] = int32((kh*pw+kw)*st + ci)
				}
			}
		}
		m := s.hw * pw
		x := make([]float32, (m+6)*st+(s.k*pw+s.k)*st)
		c := make([]float32, m*s.cout)
		bias := make([]float32, s.cout)
		copies := make([]*RowsB, max(2, (64<<20)/(4*kdim*s.cout)))
		for i := range copies {
			copies[i] = PackRowsB(kdim, s.cout, make([]float32, kdim*s.cout), s.cout)
		}
		for _, th := range benchThreads() {
			b.Run(fmt.Sprintf("%s/%dx%dx%d-%dx%d-%d/threads=%d", RowsPath(), s.hw, s.hw, s.cin, s.k, s.k, s.cout, th), func(b *testing.B) {
				i := 0
				for b.Loop() {
					SgemmRows(copies[i%len(copies)], x, st, off, m, bias, c, s.cout, nil, true, 0, float32(math.Inf(1)), th)
					i++
				}
				reportGOPS(b, 2*float64(m)*float64(kdim)*float64(s.cout))
			})
		}
	}
}

// BenchmarkRowsIdxPrefetch times SgemmRowsIdx on the 7x7 layers of ResNet-50
// whose weights come from memory (one copy of the weights per call out of
// 128 MB of copies), with and without the tiles' prefetch of the next
// weight panel: the stride-2 1x1 projection 1024 → 2048 read in place from a
// 14x14 map, and the 3x3 256 → 256 layer on 14x14 maps.
func BenchmarkRowsIdxPrefetch(b *testing.B) {
	for _, s := range []struct {
		name             string
		hw, cin, cout, k int
		stride           int
	}{
		{"7x7-1024-1x1s2-2048", 7, 1024, 2048, 1, 2},
		{"14x14-256-3x3-256", 14, 256, 256, 3, 1},
	} {
		kdim := s.k * s.k * s.cin
		inW := s.hw*s.stride + s.k - 1
		off := make([]int32, kdim)
		for kh := 0; kh < s.k; kh++ {
			for kw := 0; kw < s.k; kw++ {
				for ci := 0; ci < s.cin; ci++ {
					off[(kh*s.k+kw)*s.cin+ci] = int32((kh*inW+kw)*s.cin + ci)
				}
			}
		}
		m := s.hw * s.hw
		aoff, coff := make([]int32, m), make([]int32, m)
		for i := range aoff {
			aoff[i] = int32(((i/s.hw)*s.stride*inW + (i%s.hw)*s.stride) * s.cin)
			coff[i] = int32(i * s.cout)
		}
		x := make([]float32, inW*inW*s.cin)
		c := make([]float32, m*s.cout)
		bias := make([]float32, s.cout)
		copies := make([]*RowsB, max(2, (128<<20)/(4*kdim*s.cout)))
		for i := range copies {
			copies[i] = PackRowsB(kdim, s.cout, randF32(rand.New(rand.NewPCG(uint64(i), 1)), kdim*s.cout), s.cout)
		}
		for _, pf := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/%s/prefetch=%v", RowsPath(), s.name, pf), func(b *testing.B) {
				i := 0
				for b.Loop() {
					sgemmRowsIdx(copies[i%len(copies)], x, aoff, off, bias, c, coff, nil, true, 0, float32(math.Inf(1)), ActNone, pf)
					i++
				}
				reportGOPS(b, 2*float64(m)*float64(kdim)*float64(s.cout))
			})
		}
	}
}
