//go:build amd64 && !purego && !noasm

package kernels

// sgemvPanelsAsm writes c[j] (+)= Σ_p a[p]·B[p][j] for the columns of panels
// [p0, p1) of pb (the whole panels and the partial last one) with the
// assembly matrix-vector kernels, and reports false when this CPU has none.
func sgemvPanelsAsm(a []float32, pb *PackedB, p0, p1 int, c []float32, accumulate bool) bool {
	k1, k4 := sgemvAVX2_1, sgemvAVX2_4
	switch {
	case f32Wide:
		k1, k4 = sgemvAVX512_1, sgemvAVX512_4
	case f32Path != isaAVX2:
		return false
	}
	k, n := pb.k, pb.n
	_ = a[k-1]
	_ = pb.data[p1*k*sgNR-1]
	var out [4 * sgNR]float32
	for p := p0; p < p1; {
		np := 4
		if p1-p < 4 {
			np = 1
		}
		if np == 4 {
			k4(&a[0], &pb.data[p*k*sgNR], k, k*sgNR*4, &out[0])
		} else {
			k1(&a[0], &pb.data[p*k*sgNR], k, k*sgNR*4, &out[0])
		}
		col := p * sgNR
		dst := c[col:min(n, col+np*sgNR)]
		if accumulate {
			for j := range dst {
				dst[j] += out[j]
			}
		} else {
			copy(dst, out[:len(dst)])
		}
		p += np
	}
	return true
}
