//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set deform -out ../asm_deform_amd64.s -stubs ../stubs_deform_amd64.go -pkg kernels"

// deformGatherAsm runs the vector gathers over nb whole blocks; false
// without AVX2.
func deformGatherAsm(dst, plane []float32, idx []int32, w, mask []float32, nb int) bool {
	if simdPath != isaAVX2 || nb == 0 {
		return false
	}
	_, _, _ = dst[16*nb-1], idx[64*nb-1], w[64*nb-1]
	var mp *float32
	hm := 0
	if mask != nil {
		_ = mask[16*nb-1]
		mp, hm = &mask[0], 1
	}
	if f32Wide {
		deformGatherF32AVX512(&dst[0], &plane[0], &idx[0], &w[0], mp, hm, nb)
	} else {
		deformGatherF32AVX2(&dst[0], &plane[0], &idx[0], &w[0], mp, hm, nb)
	}
	return true
}

// deformCornersAsm writes the table blocks of nb whole blocks of points;
// false without AVX2.
func deformCornersAsm(idx []int32, w, ys, xs []float32, c *[6]uint32, nb int) bool {
	if simdPath != isaAVX2 || nb == 0 {
		return false
	}
	_, _, _, _ = idx[64*nb-1], w[64*nb-1], ys[16*nb-1], xs[16*nb-1]
	if f32Wide {
		deformCornersF32AVX512(&idx[0], &w[0], &ys[0], &xs[0], &c[0], nb)
	} else {
		deformCornersF32AVX2(&idx[0], &w[0], &ys[0], &xs[0], &c[0], nb)
	}
	return true
}
