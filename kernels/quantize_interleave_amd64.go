//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set qinter -out ../asm_qinter_amd64.s -stubs ../stubs_qinter_amd64.go -pkg kernels"

import "math"

// quantInterleave3Idx is VPERMB's index: byte 3i+ch of the output is byte i of
// channel ch's 16-byte lane.
var quantInterleave3Idx = func() (idx [64]byte) {
	for i := 0; i < 16; i++ {
		for ch := 0; ch < 3; ch++ {
			idx[3*i+ch] = byte(16*ch + i)
		}
	}
	return idx
}()

// quantInterleave3Vec quantizes and interleaves the 16-pixel-aligned prefix of
// three planes with AVX-512 VBMI and returns its length in pixels (0 without it).
func quantInterleave3Vec(in []float32, planeStride, n int, scale float32, zp int32, xor byte, out []int8) int {
	v := n &^ 15
	if !lutVBMIOK || v == 0 || zp < -128 || zp > 127 {
		return 0
	}
	_ = in[2*planeStride+v-1]
	_ = out[3*v-1]
	p := [5]int32{int32(math.Float32bits(scale)), int32(math.Float32bits(float32(-128 - zp))),
		int32(math.Float32bits(float32(127 - zp))), zp, int32(uint32(xor) * 0x01010101)}
	quantInterleave3VBMI(&in[0], &in[planeStride], &in[2*planeStride], &out[0], v, &p, &quantInterleave3Idx)
	return v
}
