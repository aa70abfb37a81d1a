//go:build amd64 && !purego && !noasm

package kernels

// The AVX2 prefixes of the batch-normalization passes (qatbn.go) and of the tap
// kernels (qattaps.go): the kernels take a multiple of 8 elements, which keeps
// lane i mod 8 of the Go reference.

func bnStatsF32Vec(c, u []float32, s, b float32, acc *BNLanes) int {
	v := len(c) &^ 7
	if simdPath == isaGo || v == 0 {
		return 0
	}
	_ = u[v-1]
	bnStatsF32AVX2(&c[0], &u[0], v, s, b, &acc[0])
	return v
}

func bnNormF32Vec(u, y []float32, mean, inv, gm, bt float32) int {
	v := len(u) &^ 7
	if simdPath == isaGo || v == 0 {
		return 0
	}
	_ = y[v-1]
	bnNormF32AVX2(&u[0], &y[0], v, mean, inv, gm, bt)
	return v
}

func bnGradSumsF32Vec(d, xh []float32, acc *BNLanes) int {
	v := len(d) &^ 7
	if simdPath == isaGo || v == 0 {
		return 0
	}
	_ = xh[v-1]
	bnGradSumsF32AVX2(&d[0], &xh[0], v, &acc[0])
	return v
}

func bnGradInputF32Vec(d, xh, c, dc []float32, k, a1, a2, s float32, acc *BNLanes) int {
	v := len(d) &^ 7
	if simdPath == isaGo || v == 0 {
		return 0
	}
	_, _, _ = xh[v-1], c[v-1], dc[v-1]
	bnGradInputF32AVX2(&d[0], &xh[0], &c[0], &dc[0], v, k, a1, a2, s, &acc[0])
	return v
}

func tapsF32Vec(dst, src []float32, offs []int, w []float32) int {
	v := len(dst) &^ 7
	if simdPath == isaGo || v == 0 {
		return 0
	}
	tapsF32AVX2(&dst[0], &src[0], &offs[0], &w[0], len(offs), v)
	return v
}

func tapsDotF32Vec(a, src []float32, offs []int, lanes []float32) int {
	v := len(a) &^ 7
	if simdPath == isaGo || v == 0 {
		return 0
	}
	tapsDotF32AVX2(&a[0], &src[0], &offs[0], len(offs), v, &lanes[0])
	return v
}
