package kernels

import (
	"encoding/binary"
	"unsafe"
)

// The stride-2 stems of RGB networks (ResNet's 7×7, the 3×3 of MobileNet and
// EfficientNet, YOLO's 6×6) as stride-1 convolutions on the 2×2
// space-to-depth of the padded input: pixel (Y, X) of that input holds the
// C channels of the four padded pixels (2Y+dy, 2X+dx), dy, dx in {0, 1}, at
// channel (2·dy+dx)·C + c, zero-padded to s2dChannels; the kernel becomes
// ceil(KH/2)×ceil(KW/2) with zero weights where 2·kh'+dy ≥ KH or
// 2·kw'+dx ≥ KW. Its K is a multiple of 64, which the AMX path needs: 147
// taps of a 7×7×3 stem become 4·4·16 = 256 (57% of them real work), against
// im2col runs of 21 bytes per kernel row.

// s2dChannels is the channel count of the space-to-depth input: 4·C ≤ 16.
const s2dChannels = 16

// s2dPacks reports whether the filter part of a convolution has a
// space-to-depth form for the AMX rows path: one group, at most 4 input
// channels, and a kernel row of the new form (ceil(KW/2)·16 bytes) a
// multiple of 64, i.e. KW 7 or 8 (ResNet's stem; the 3×3 stems would need
// 32 channels of which 12 are real, not tried).
func s2dPacks(s ConvShape) bool {
	return s.Groups == 1 && 4*s.C <= s2dChannels && ((s.KW+1)/2*s2dChannels)%64 == 0
}

// s2dFits reports whether a call's shape can run the space-to-depth form:
// stride 2×2, no dilation.
func s2dFits(s ConvShape) bool {
	return s2dPacks(s) && s.StrideH == 2 && s.StrideW == 2 && s.DilH == 1 && s.DilW == 1
}

// packS2D packs OIHW weights for the space-to-depth convolution (GEMM K
// order (kh', kw', channel) as packQGemm's convolutions).
func packS2D(s ConvShape, w []int8, bias []int32, inZP int32) *QGemmWeights {
	kw2 := (s.KW + 1) / 2
	return packQGemm(s.OC, ((s.KH+1)/2)*kw2*s2dChannels, func(oc, k int) int8 {
		tap, ci := k/s2dChannels, k%s2dChannels
		if ci >= 4*s.C {
			return 0
		}
		d, c := ci/s.C, ci%s.C
		kh, kw := 2*(tap/kw2)+d/2, 2*(tap%kw2)+d%2
		if kh >= s.KH || kw >= s.KW {
			return 0
		}
		return w[((oc*s.C+c)*s.KH+kh)*s.KW+kw]
	}, bias, inZP)
}

// spaceToDepth writes the space-to-depth form dst ([N][hs][ws][s2dChannels])
// of the padded input pin ([N][hp][wp][c], hp = 2·hs and wp = 2·ws); the
// channels past 4·c are zero (they meet zero weights anyway).
func spaceToDepth(dst, pin []int8, n, hs, ws, c, threads int) {
	wp := 2 * ws
	run := 2 * c // the two horizontal neighbours of one padded row, contiguous (≤ 8 bytes)
	m := uint64(1)<<(8*run) - 1
	if run == 8 {
		m = ^uint64(0)
	}
	parallelFor(n*hs, 1, threads, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			r0 := pin[2*r*wp*c : (2*r+1)*wp*c]
			r1 := pin[(2*r+1)*wp*c : (2*r+2)*wp*c]
			d := dst[r*ws*s2dChannels : (r+1)*ws*s2dChannels]
			x := 0
			// 8-byte loads while they stay inside the row
			for ; x < ws && 2*x*c+8 <= len(r0); x++ {
				a := binary.LittleEndian.Uint64(i8bytes(r0[2*x*c:]))
				b := binary.LittleEndian.Uint64(i8bytes(r1[2*x*c:]))
				v0, v1 := a, b
				if run < 8 {
					v0 = a&m | (b&m)<<(8*run)
					v1 = (b & m) >> (64 - 8*run)
				}
				o := i8bytes(d[x*s2dChannels:])
				binary.LittleEndian.PutUint64(o, v0)
				binary.LittleEndian.PutUint64(o[8:], v1)
			}
			for ; x < ws; x++ {
				o := d[x*s2dChannels : (x+1)*s2dChannels]
				clear(o)
				copy(o, r0[2*x*c:2*x*c+run])
				copy(o[run:], r1[2*x*c:2*x*c+run])
			}
		}
	})
}

// i8bytes views int8 data as bytes.
func i8bytes(b []int8) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(b))), len(b))
}
