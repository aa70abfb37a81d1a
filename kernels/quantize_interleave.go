package kernels

import (
	"encoding/binary"
	"unsafe"
)

// quantInterleaveBlock is the number of pixels quantized per channel before they
// are interleaved: small enough that the per-channel int8 rows stay in L1.
const quantInterleaveBlock = 512

// QuantizeF32Interleave quantizes c channel planes into channels-last order in one
// pass: plane ch holds n floats at in[ch*planeStride:], and
// out[i*c+ch] = QuantizeF32(in[ch*planeStride+i]) ^ xor for i < n. It is the input
// QuantizeLinear of an int8 CNN, an NCHW image turned into NHWC int8 codes (xor 0x80
// turns an int8 code into the uint8 code of the same value). Each plane is quantized
// block by block with the vectorised QuantizeF32, so rounding and saturation are
// exactly QuantizeF32's; the interleave then writes one word per pixel for c <= 4.
// Three channels (an RGB image) run on AVX-512 VBMI where the CPU has it
// (quantInterleave3VBMI, the same float32 arithmetic in 16 lanes). 1 <= c <= 16.
func QuantizeF32Interleave(in []float32, planeStride, c, n int, scale float32, zp int32, xor byte, out []int8) {
	if n <= 0 {
		return
	}
	if c < 1 || c > 16 {
		panic("kernels: QuantizeF32Interleave: channels must be in [1, 16]")
	}
	_ = in[(c-1)*planeStride+n-1]
	_ = out[n*c-1]
	done := 0
	if c == 3 {
		done = quantInterleave3Vec(in, planeStride, n, scale, zp, xor, out)
	}
	var tmp [16][quantInterleaveBlock]int8
	for p0 := done; p0 < n; p0 += quantInterleaveBlock {
		cnt := min(n-p0, quantInterleaveBlock)
		for ch := 0; ch < c; ch++ {
			QuantizeF32(in[ch*planeStride+p0:ch*planeStride+p0+cnt], scale, zp, tmp[ch][:cnt])
		}
		interleaveI8(&tmp, c, cnt, xor, out[p0*c:(p0+cnt)*c])
	}
}

// interleaveI8 writes dst[i*c+ch] = tmp[ch][i] ^ xor for i < cnt.
func interleaveI8(tmp *[16][quantInterleaveBlock]int8, c, cnt int, xor byte, dst []int8) {
	d := i8Bytes(dst)
	x32 := uint32(xor) * 0x01010101
	switch c {
	case 3:
		a, b, e := tmp[0][:cnt], tmp[1][:cnt], tmp[2][:cnt]
		i := 0
		// one 4-byte store per pixel; its 4th byte is overwritten by the next pixel
		for ; i+1 < cnt; i++ {
			w := uint32(uint8(a[i])) | uint32(uint8(b[i]))<<8 | uint32(uint8(e[i]))<<16
			binary.LittleEndian.PutUint32(d[3*i:3*i+4], w^x32)
		}
		for ; i < cnt; i++ {
			d[3*i], d[3*i+1], d[3*i+2] = byte(a[i])^xor, byte(b[i])^xor, byte(e[i])^xor
		}
	case 4:
		a, b, e, f := tmp[0][:cnt], tmp[1][:cnt], tmp[2][:cnt], tmp[3][:cnt]
		for i := range a {
			w := uint32(uint8(a[i])) | uint32(uint8(b[i]))<<8 | uint32(uint8(e[i]))<<16 | uint32(uint8(f[i]))<<24
			binary.LittleEndian.PutUint32(d[4*i:4*i+4], w^x32)
		}
	case 1:
		for i, v := range tmp[0][:cnt] {
			d[i] = byte(v) ^ xor
		}
	default:
		for ch := 0; ch < c; ch++ {
			for i, v := range tmp[ch][:cnt] {
				d[i*c+ch] = byte(v) ^ xor
			}
		}
	}
}

// i8Bytes views int8 data as bytes (no copy).
func i8Bytes(d []int8) []byte {
	if len(d) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(d))), len(d))
}
