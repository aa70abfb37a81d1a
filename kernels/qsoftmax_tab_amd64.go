//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set qsmrow -out ../asm_qsmrow_amd64.s -stubs ../stubs_qsmrow_amd64.go -pkg kernels"

import "math"

// qsmRowsAsm runs the m rows of n scores of QSoftmaxTabRowsI8 (rows r0.. of
// the terms) with the qsmRow kernel, one call per row, and reports whether it
// did: rows of 16 or more (shorter ones take float64 exponentials on the Go
// path), at most two terms, a zero point in int8. The checks and the
// quantization parameters are done once per call, not per row (the rows of
// a small head are 16-32 wide: the per-row Go work was a sizable part of a
// row's cost).
func qsmRowsAsm(p, s []int8, m, n int, tab *[256]float32, terms []ScoreTerm, r0 int, buf []float32, scale float32, zp int32) bool {
	w := f32Lanes()
	if w == 0 || n < 16 || len(terms) > 2 || zp < -128 || zp > 127 {
		return false
	}
	_, _, _ = p[m*n-1], s[m*n-1], buf[n-1]
	q := [4]int32{int32(math.Float32bits(scale)), int32(math.Float32bits(float32(-128 - zp))), int32(math.Float32bits(float32(127 - zp))), zp}
	for r := 0; r < m; r++ {
		var vs [2]*float32
		var ks [2]*uint32
		for t, st := range terms {
			o := int(st.Row[r0+r])
			vs[t] = &st.Vals[o : o+n][0]
			if st.Keep != nil {
				ks[t] = &st.Keep[o : o+n][0]
			}
		}
		if w == 16 {
			qsmRowAVX512(&p[r*n], &s[r*n], n, &tab[0], &buf[0], vs[0], ks[0], vs[1], ks[1], &q)
		} else {
			qsmRowAVX2(&p[r*n], &s[r*n], n, &tab[0], &buf[0], vs[0], ks[0], vs[1], ks[1], &q)
		}
	}
	return true
}
