//go:build amd64 && !purego && !noasm

package kernels

import "math"

//go:generate sh -c "cd _gen && go run . -set qatew -out ../asm_qatew_amd64.s -stubs ../stubs_qatew_amd64.go -pkg kernels"

// minMaxF32Vec returns the min and max of the 32-aligned prefix of x and its
// length (0: nothing done). A NaN in it, which VMINPS/VMAXPS would drop, shows
// in the lanes' sum; the prefix is then rescanned in Go (also when the sum is
// NaN from infinities or an overflow, rare enough not to cost).
func minMaxF32Vec(x []float32) (float32, float32, int) {
	v := len(x) &^ 31
	if simdPath == isaGo || v == 0 {
		return 0, 0, 0
	}
	var out [24]float32
	minMaxSumF32AVX2(&x[0], v, &out[0])
	var s float32
	for _, e := range out[16:] {
		s += e
	}
	if s != s {
		lo, hi := minMaxF32Go(x[:v])
		return lo, hi, v
	}
	lo, hi := out[0], out[8]
	for l := 1; l < 8; l++ {
		lo, hi = min(lo, out[l]), max(hi, out[8+l])
	}
	return lo, hi, v
}

func fakeQuantF32Vec(x, y []float32, scale float32, zp int32) int {
	v := len(x) &^ 7
	if simdPath == isaGo || v == 0 {
		return 0
	}
	_ = y[v-1]
	fakeQuantF32AVX2(&x[0], &y[0], v, scale, float32(-128-zp), float32(127-zp))
	return v
}

func fakeQuantReluF32Vec(x, y []float32, scale float32, zp int32) int {
	v := len(x) &^ 7
	if simdPath == isaGo || v == 0 {
		return 0
	}
	_ = y[v-1]
	fakeQuantReluF32AVX2(&x[0], &y[0], v, scale, float32(-128-zp), float32(127-zp))
	return v
}

func steAddF32Vec(x, g, dx []float32, lo, hi float32) int {
	v := len(x) &^ 7
	if simdPath == isaGo || v == 0 || math.IsNaN(float64(lo)) || math.IsNaN(float64(hi)) {
		return 0
	}
	_, _ = g[v-1], dx[v-1]
	steAddF32AVX2(&x[0], &g[0], &dx[0], v, lo, hi)
	return v
}

func steSetF32Vec(x, g, dx []float32, lo, hi float32) int {
	v := len(x) &^ 7
	if simdPath == isaGo || v == 0 || math.IsNaN(float64(lo)) || math.IsNaN(float64(hi)) {
		return 0
	}
	_, _ = g[v-1], dx[v-1]
	steSetF32AVX2(&x[0], &g[0], &dx[0], v, lo, hi)
	return v
}

func addF32Vec(dst, src []float32) int {
	v := len(dst) &^ 15
	if simdPath == isaGo || v == 0 {
		return 0
	}
	_ = src[v-1]
	addF32AVX2(&dst[0], &src[0], v)
	return v
}

// rowsAsm: the strided-row kernels of qatrows.go have an assembly form.
const rowsAsm = true
