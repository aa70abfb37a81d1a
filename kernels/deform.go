package kernels

// The bilinear corner gathers of DeformConv's sampled columns (twenty-second
// session; asm_deform_amd64.s, gen_deform.go).
//
// A DeformConv column entry is the input plane sampled bilinearly at a moved
// tap: four corners, each read from the plane and weighted. The corners'
// plane indices and weights are the same for every channel of an offset
// group, so the caller computes them once into a blocked table and gathers
// them per channel here. Lane l of block b (entry e = 16·b + l) has its four
// corners' indices at idx[64·b + 16·k + l] and weights at w[64·b + 16·k + l],
// k = 0..3, and is
//
//	dst[e] = ((w0·plane[i0] + w1·plane[i1]) + w2·plane[i2]) + w3·plane[i3]
//
// times mask[e] when mask is not nil: each product and sum rounded on its
// own, in that order, on every path (AVX-512: one VGATHERDPS of 16 lanes per
// corner; AVX2: two of 8; pure Go), so all give the same bits.

// DeformCornersF32 builds that table from the sample points (ys[e], xs[e])
// of a plane of h rows and wd columns, as DeformConv's scalar sample does: a
// point a pixel or more outside the plane (or NaN) reads index h·wd (the zero
// the caller keeps after the plane) four times with weight 0; otherwise, with
// yl, xl the floors of y, x and ly = y - yl, lx = x - xl, hy = 1 - ly,
// hx = 1 - lx, the corners (yl, xl), (yl, xl+1), (yl+1, xl), (yl+1, xl+1)
// get the weights hy·hx, hy·lx, ly·hx, ly·lx and their plane index, or h·wd
// for a corner outside (its weight unchanged). The AVX-512 and AVX2 paths
// give the same bits (floor by VRNDSCALEPS / VROUNDPS is exact).

import "math"

// DeformBlock is the lane count of a block of DeformGatherF32's tables.
const DeformBlock = 16

// DeformGatherF32 writes the len(dst) sampled entries described above. idx
// and w hold 64·⌈len(dst)/16⌉ entries (the last block's unused lanes are not
// read on the Go path and must hold valid plane indices for the vector one:
// DeformGatherF32 gathers whole blocks only, the tail in Go); every index must
// lie in plane; mask is nil or holds len(dst) entries.
func DeformGatherF32(dst, plane []float32, idx []int32, w, mask []float32) {
	n := len(dst)
	nb := n / DeformBlock
	if nb*64 > len(idx) || nb*64 > len(w) || (mask != nil && len(mask) < n) {
		panic("kernels: DeformGatherF32 tables shorter than the destination")
	}
	done := 0
	if deformGatherAsm(dst, plane, idx, w, mask, nb) {
		done = nb * DeformBlock
	}
	deformGatherGo(dst, plane, idx, w, mask, done)
}

// deformGatherGo is DeformGatherF32's loop from entry lo on.
func deformGatherGo(dst, plane []float32, idx []int32, w, mask []float32, lo int) {
	for e := lo; e < len(dst); e++ {
		o := e/DeformBlock*64 + e%DeformBlock
		v := w[o]*plane[idx[o]] + w[o+16]*plane[idx[o+16]] + w[o+32]*plane[idx[o+32]] + w[o+48]*plane[idx[o+48]]
		if mask != nil {
			v *= mask[e]
		}
		dst[e] = v
	}
}

// DeformCornersF32 writes the ⌈len(ys)/16⌉ blocks of idx and w described
// above (lanes past len(ys) in the last block read index h·wd with weight 0).
// h·wd must be below 2³¹ and h, wd at most 2²⁴.
func DeformCornersF32(idx []int32, w, ys, xs []float32, h, wd int) {
	n := len(ys)
	nbAll := (n + DeformBlock - 1) / DeformBlock
	if len(xs) < n || len(idx) < 64*nbAll || len(w) < 64*nbAll {
		panic("kernels: DeformCornersF32 tables shorter than the points")
	}
	if h < 0 || wd < 0 || h > 1<<24 || wd > 1<<24 || int64(h)*int64(wd) >= 1<<31 {
		panic("kernels: DeformCornersF32 plane too large")
	}
	c := [6]uint32{math.Float32bits(-1), math.Float32bits(1), math.Float32bits(float32(h)), math.Float32bits(float32(wd)),
		uint32(int32(wd)), uint32(int32(h * wd))}
	done := 0
	if nb := n / DeformBlock; deformCornersAsm(idx, w, ys, xs, &c, nb) {
		done = nb * DeformBlock
	}
	for e := done; e < nbAll*DeformBlock; e++ {
		o := e/DeformBlock*64 + e%DeformBlock
		y, x := float32(math.NaN()), float32(math.NaN())
		if e < n {
			y, x = ys[e], xs[e]
		}
		deformCornersGo(idx[o:o+49:o+49], w[o:o+49:o+49], h, wd, y, x)
	}
}

// deformCornersGo is one lane of DeformCornersF32: the corners' indices and
// weights at idx[16·k], w[16·k], k = 0..3.
func deformCornersGo(idx []int32, w []float32, h, wd int, y, x float32) {
	zero := int32(h * wd)
	idx[0], idx[16], idx[32], idx[48] = zero, zero, zero, zero
	if y != y || x != x || y <= -1 || float32(h) <= y || x <= -1 || float32(wd) <= x {
		w[0], w[16], w[32], w[48] = 0, 0, 0, 0
		return
	}
	// The floors of y in (-1, h) and x in (-1, wd): truncation, one less
	// where it rounded up.
	yl, xl := int(y), int(x)
	if float32(yl) > y {
		yl--
	}
	if float32(xl) > x {
		xl--
	}
	yh, xh := yl+1, xl+1
	ly, lx := y-float32(yl), x-float32(xl)
	hy, hx := 1-ly, 1-lx
	w[0], w[16], w[32], w[48] = hy*hx, hy*lx, ly*hx, ly*lx
	if yl >= 0 && xl >= 0 {
		idx[0] = int32(yl*wd + xl)
	}
	if yl >= 0 && xh <= wd-1 {
		idx[16] = int32(yl*wd + xh)
	}
	if yh <= h-1 && xl >= 0 {
		idx[32] = int32(yh*wd + xl)
	}
	if yh <= h-1 && xh <= wd-1 {
		idx[48] = int32(yh*wd + xh)
	}
}
