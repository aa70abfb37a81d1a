//go:build amd64 && !purego && !noasm

package kernels

// sgemvRowsAsmOK reports whether the one-row kernels run panels of width nr
// on this CPU.
func sgemvRowsAsmOK(nr int) bool {
	return f32Wide || f32Path == isaAVX2 && nr == sgNR
}

// sgemvGroups runs this CPU's one-row kernel on ng (4 or 1) groups of 16
// columns. The calls are direct so that the kernels' noescape lets the
// callers keep init and out on the stack.
func sgemvGroups(ng, k int, a, b *float32, gstride, pstep int, init, out *float32) {
	switch {
	case f32Wide && ng == 4:
		sgemvRowsAVX512_4(k, a, b, gstride, pstep, init, out)
	case f32Wide:
		sgemvRowsAVX512_1(k, a, b, gstride, pstep, init, out)
	case ng == 4:
		sgemvRowsAVX2_4(k, a, b, gstride, pstep, init, out)
	default:
		sgemvRowsAVX2_1(k, a, b, gstride, pstep, init, out)
	}
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
	if k == 0 {
		*out = *init
		return
	}
	if nr != sgNR {
		// 32- or 48-wide panels: the unit's 16-column groups one at a
		// time, each at its panel and its column in the panel.
		for j := 0; j < rowsWideNR && u*rowsWideNR+j < pb.n; j += sgNR {
			col := u*rowsWideNR + j
			q, in := col/nr, col%nr
			sgemvGroups(1, k, ap, &pb.data[q*k*nr+in], 0, 4*nr, &init[j], &out[j])
		}
		return
	}
	panels := (pb.n + nr - 1) / nr
	p0, p1 := u*4, min(panels, u*4+4)
	_ = pb.data[p1*k*nr-1]
	if p1-p0 == 4 {
		sgemvGroups(4, k, ap, &pb.data[p0*k*nr], 4*k*nr, 4*nr, &init[0], &out[0])
		return
	}
	for p := p0; p < p1; p++ {
		j := (p - p0) * nr
		sgemvGroups(1, k, ap, &pb.data[p*k*nr], 4*k*nr, 4*nr, &init[j], &out[j])
	}
}

// sgemvPanelsAsm writes c[j] (+)= Σ_p a[p]·B[p][j] for the columns of panels
// [p0, p1) of pb (the whole panels and the partial last one; k ≥ 1) with the
// one-row kernels from a zero start, and reports false when this CPU has none.
func sgemvPanelsAsm(a []float32, pb *PackedB, p0, p1 int, c []float32, accumulate bool) bool {
	if !sgemvRowsAsmOK(sgNR) {
		return false
	}
	k, n := pb.k, pb.n
	_ = a[k-1]
	_ = pb.data[p1*k*sgNR-1]
	var zero, out [4 * sgNR]float32
	for p := p0; p < p1; {
		np := 4
		if p1-p < 4 {
			np = 1
		}
		sgemvGroups(np, k, &a[0], &pb.data[p*k*sgNR], k*sgNR*4, sgNR*4, &zero[0], &out[0])
		col := p * sgNR
		w := min(n, col+np*sgNR) - col
		putRow(c[col:col+w], out[:w], accumulate)
		p += np
	}
	return true
}

// sgemvPanel writes out[:nr] = init + a·B for one block of a RowsB panel
// (len(a) ≥ k ≥ 1 rows of nr floats: 64, 48, 32 or 16).
func sgemvPanel(nr, k int, a, panel []float32, init, out *[rowsWideNR]float32) {
	_ = a[k-1]
	_ = panel[k*nr-1]
	if nr == rowsWideNR {
		sgemvRowsAVX512_4(k, &a[0], &panel[0], 64, 4*nr, &init[0], &out[0])
		return
	}
	// 16-, 32- or 48-wide panels: one group of 16 columns at a time.
	for g := 0; g < nr; g += sgNR {
		sgemvGroups(1, k, &a[0], &panel[g], 4*nr, 4*nr, &init[g], &out[g])
	}
}
