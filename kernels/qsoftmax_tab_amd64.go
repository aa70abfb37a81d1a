//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set qsmrow -out ../asm_qsmrow_amd64.s -stubs ../stubs_qsmrow_amd64.go -pkg kernels"

import "math"

// qsmRowAsm runs one row of QSoftmaxTabRowsI8 with the qsmRow kernel and
// reports whether it did: rows of 16 or more (shorter ones take float64
// exponentials on the Go path), at most two terms, a zero point in int8.
func qsmRowAsm(p, s []int8, tab *[256]float32, terms []ScoreTerm, r int, buf []float32, scale float32, zp int32) bool {
	w, n := f32Lanes(), len(s)
	if w == 0 || n < 16 || len(terms) > 2 || zp < -128 || zp > 127 {
		return false
	}
	_, _ = p[n-1], buf[n-1]
	var vs [2]*float32
	var ks [2]*uint32
	for t, st := range terms {
		o := int(st.Row[r])
		vs[t] = &st.Vals[o : o+n][0]
		if st.Keep != nil {
			ks[t] = &st.Keep[o : o+n][0]
		}
	}
	q := [4]int32{int32(math.Float32bits(scale)), int32(math.Float32bits(float32(-128 - zp))), int32(math.Float32bits(float32(127 - zp))), zp}
	if w == 16 {
		qsmRowAVX512(&p[0], &s[0], n, &tab[0], &buf[0], vs[0], ks[0], vs[1], ks[1], &q)
	} else {
		qsmRowAVX2(&p[0], &s[0], n, &tab[0], &buf[0], vs[0], ks[0], vs[1], ks[1], &q)
	}
	return true
}
