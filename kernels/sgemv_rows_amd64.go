//go:build amd64 && !purego && !noasm

package kernels

// sgemvRowsAsmOK reports whether the one-row kernels run panels of width nr
// on this CPU.
func sgemvRowsAsmOK(nr int) bool {
	return f32Wide || f32Path == isaAVX2 && nr == sgNR
}

// sgemvRowsAsm writes out[:64] = init + a·B for the columns [64u, 64u+64) of
// pb (zero beyond the last panel's padding; the caller keeps the real ones).
func sgemvRowsAsm(pb *RowsB, u int, a []float32, init, out *[rowsWideNR]float32) {
	k, nr := pb.k, pb.nr
	var ap *float32
	if k > 0 {
		ap = &a[0]
	}
	if nr == rowsWideNR {
		b := pb.data[u*k*nr : (u+1)*k*nr]
		if k == 0 {
			*out = *init
			return
		}
		sgemvRowsAVX512_4(k, ap, &b[0], 64, 4*nr, &init[0], &out[0])
		return
	}
	panels := (pb.n + nr - 1) / nr
	p0, p1 := u*4, min(panels, u*4+4)
	if k == 0 {
		*out = *init
		return
	}
	_ = pb.data[p1*k*nr-1]
	k4, k1 := sgemvRowsAVX2_4, sgemvRowsAVX2_1
	if f32Wide {
		k4, k1 = sgemvRowsAVX512_4, sgemvRowsAVX512_1
	}
	if p1-p0 == 4 {
		k4(k, ap, &pb.data[p0*k*nr], 4*k*nr, 4*nr, &init[0], &out[0])
		return
	}
	for p := p0; p < p1; p++ {
		j := (p - p0) * nr
		k1(k, ap, &pb.data[p*k*nr], 4*k*nr, 4*nr, &init[j], &out[j])
	}
}
