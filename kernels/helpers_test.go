package kernels

import (
	"math/rand/v2"
	"testing"

	"github.com/klauspost/cpuid/v2"
)

// paths lists the dispatch paths this machine can run, forcing the fallbacks
// with cpuid.CPU.Disable.
type pathCase struct {
	name      string
	disable   []cpuid.FeatureID
	signTrick bool // AVX2: the VPSIGNB/VPMADDUBSW kernel instead of the int16 one
}

var allPaths = []pathCase{
	{name: PathAMX},
	{name: PathAVX512VNNI, disable: []cpuid.FeatureID{cpuid.AMXINT8, cpuid.AMXTILE}},
	{name: PathAVX2, disable: []cpuid.FeatureID{cpuid.AVX512VNNI, cpuid.AVX512F}},
	{name: PathAVX2, disable: []cpuid.FeatureID{cpuid.AVX512VNNI, cpuid.AVX512F}, signTrick: true},
	{name: PathGo, disable: []cpuid.FeatureID{cpuid.AVX512VNNI, cpuid.AVX2, cpuid.FMA3}},
}

// forEachPath runs fn once per dispatch path available on this CPU, with the
// kernels forced to that path, and restores auto-detection afterwards (under
// the race detector: the best path and the Go path, see race_on_test.go).
func forEachPath(t *testing.T, fn func(t *testing.T)) {
	t.Helper()
	seen := map[string]bool{}
	for _, pc := range allPaths {
		saved := cpuid.CPU
		cpuid.CPU.Disable(pc.disable...)
		Detect()
		got := Int8Path()
		name := got
		if pc.signTrick {
			if got != PathAVX2 || !haveAsm {
				cpuid.CPU = saved
				Detect()
				continue
			}
			name += "-signtrick"
		}
		if got != pc.name || seen[name] {
			cpuid.CPU = saved
			Detect()
			if !seen[name] && got != pc.name {
				t.Logf("path %s not available on this CPU (got %s)", pc.name, got)
			}
			continue
		}
		if raceEnabled && len(seen) > 0 && got != PathGo {
			// Under the race detector: the best path and the Go path only
			// (race_on_test.go says why).
			cpuid.CPU = saved
			Detect()
			continue
		}
		seen[name] = true
		avx2SignTrick = pc.signTrick
		t.Run(name, fn)
		avx2SignTrick = false
		cpuid.CPU = saved
		Detect()
	}
}

func randI8(r *rand.Rand, n int, lo, hi int) []int8 {
	b := make([]int8, n)
	for i := range b {
		b[i] = int8(lo + r.IntN(hi-lo+1))
	}
	return b
}

func randI32(r *rand.Rand, n int, span int32) []int32 {
	b := make([]int32, n)
	for i := range b {
		b[i] = r.Int32N(2*span+1) - span
	}
	return b
}

func randF32(r *rand.Rand, n int) []float32 {
	b := make([]float32, n)
	for i := range b {
		b[i] = r.Float32()*2 - 1
	}
	return b
}

// refQGemmAcc is the plain int32 reference: bias[c] + Σ_k (a[i,k]-zp)·w[c,k].
func refQGemmAcc(m, n, k int, a []int8, lda int, w []int8, bias []int32, zp int32) []int32 {
	out := make([]int32, m*n)
	for i := 0; i < m; i++ {
		for c := 0; c < n; c++ {
			var acc int32
			if bias != nil {
				acc = bias[c]
			}
			for p := 0; p < k; p++ {
				acc += (int32(a[i*lda+p]) - zp) * int32(w[c*k+p])
			}
			out[i*n+c] = acc
		}
	}
	return out
}

func refRequant(acc []int32, n int, rq *Requant) []int8 {
	out := make([]int8, len(acc))
	for i, v := range acc {
		out[i] = rq.Apply(v, i%n)
	}
	return out
}

// refConvAcc is a direct convolution on NHWC input with OIHW weights.
func refConvAcc(s ConvShape, in []int8, w []int8, bias []int32, zp int32) []int32 {
	s = s.norm()
	oh, ow := s.OutH(), s.OutW()
	cg, ocg := s.C/s.Groups, s.OC/s.Groups
	out := make([]int32, s.N*oh*ow*s.OC)
	for n := 0; n < s.N; n++ {
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				for oc := 0; oc < s.OC; oc++ {
					g := oc / ocg
					var acc int32
					if bias != nil {
						acc = bias[oc]
					}
					for ci := 0; ci < cg; ci++ {
						for kh := 0; kh < s.KH; kh++ {
							for kw := 0; kw < s.KW; kw++ {
								ih := y*s.StrideH - s.PadTop + kh*s.DilH
								iw := x*s.StrideW - s.PadLeft + kw*s.DilW
								v := zp // padding holds the zero point
								if ih >= 0 && ih < s.H && iw >= 0 && iw < s.W {
									v = int32(in[((n*s.H+ih)*s.W+iw)*s.C+g*cg+ci])
								}
								acc += (v - zp) * int32(w[((oc*cg+ci)*s.KH+kh)*s.KW+kw])
							}
						}
					}
					out[((n*oh+y)*ow+x)*s.OC+oc] = acc
				}
			}
		}
	}
	return out
}
