//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set qsmrow -out ../asm_qsmrow_amd64.s -stubs ../stubs_qsmrow_amd64.go -pkg kernels"

import (
	"math"
	goruntime "runtime"
	"unsafe"
)

// qsmRowsAsm runs the m rows of n scores of QSoftmaxTabRowsI8 (rows r0.. of
// the terms) with the qsmRows kernel, as many rows per call as buf holds (n+1
// floats a row, at most qsmRowsChunk), and reports whether it did: rows of 16
// or more (shorter ones take float64 exponentials on the Go path), at most
// two terms, a zero point in int8, buf of at least n+1 floats. The rows of a
// call overlap in the CPU and share four MXCSR writes (gen_qsmrow.go).
func qsmRowsAsm(p, s []int8, m, n int, tab *[256]float32, terms []ScoreTerm, r0 int, buf []float32, scale float32, zp int32) bool {
	w := f32Lanes()
	if w == 0 || n < 16 || len(terms) > 2 || zp < -128 || zp > 127 || len(buf) < n+1 {
		return false
	}
	chunk := min(qsmRowsChunk, len(buf)/(n+1))
	_, _, _ = p[m*n-1], s[m*n-1], buf[n]
	q := [4]int32{int32(math.Float32bits(scale)), int32(math.Float32bits(float32(-128 - zp))), int32(math.Float32bits(float32(127 - zp))), zp}
	var tps [qsmRowsChunk * 4]uintptr
	for r := 0; r < m; r += chunk {
		c := min(chunk, m-r)
		var tp *uintptr
		if len(terms) > 0 {
			for i := 0; i < c; i++ {
				for t, st := range terms {
					o := int(st.Row[r0+r+i])
					tps[4*i+2*t] = uintptr(unsafe.Pointer(&st.Vals[o : o+n][0]))
					tps[4*i+2*t+1] = 0
					if st.Keep != nil {
						tps[4*i+2*t+1] = uintptr(unsafe.Pointer(&st.Keep[o : o+n][0]))
					}
				}
			}
			tp = &tps[0]
		}
		if w == 16 {
			qsmRowsAVX512(&p[r*n], &s[r*n], c, n, &tab[0], &buf[0], tp, &q)
		} else {
			qsmRowsAVX2(&p[r*n], &s[r*n], c, n, &tab[0], &buf[0], tp, &q)
		}
	}
	// The term rows must stay reachable until the kernel is done with the
	// addresses above (they are the caller's, but say so).
	goruntime.KeepAlive(terms)
	return true
}
