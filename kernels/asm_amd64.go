//go:build amd64 && !purego && !noasm

package kernels

import "unsafe"

//go:generate go run -tags generate ./_gen -out asm_amd64.s -stubs stubs_amd64.go -pkg kernels

const haveAsm = true

type qAsmFunc func(a *int8, lda int, b *int8, pstride int, k4 int, bias *int32, c *int32, accum int)

var qVNNITable = [2][12]qAsmFunc{
	{qgemmVNNI_1x1, qgemmVNNI_2x1, qgemmVNNI_3x1, qgemmVNNI_4x1, qgemmVNNI_5x1, qgemmVNNI_6x1,
		qgemmVNNI_7x1, qgemmVNNI_8x1, qgemmVNNI_9x1, qgemmVNNI_10x1, qgemmVNNI_11x1, qgemmVNNI_12x1},
	{qgemmVNNI_1x2, qgemmVNNI_2x2, qgemmVNNI_3x2, qgemmVNNI_4x2, qgemmVNNI_5x2, qgemmVNNI_6x2,
		qgemmVNNI_7x2, qgemmVNNI_8x2, qgemmVNNI_9x2, qgemmVNNI_10x2, qgemmVNNI_11x2, qgemmVNNI_12x2},
}

var qAVX2Table = [4]qAsmFunc{qgemmAVX2_1x1, qgemmAVX2_2x1, qgemmAVX2_3x1, qgemmAVX2_4x1}

var (
	qKernelVNNI = qKernel{mr: 12, nv: 2, xor: true, run: qTileVNNI}
	qKernelAVX2 = qKernel{mr: 4, nv: 1, run: qTileAVX2}
)

func qTileVNNI(a []int8, lda int, b []int8, pstride, k4 int, bias []int32, tile []int32, mr, nv int, accum bool) {
	_ = a[(mr-1)*lda+k4*4-1]
	_ = b[(nv-1)*pstride+k4*64-1]
	_ = bias[nv*16-1]
	_ = tile[(mr-1)*qTileStride+nv*16-1]
	qVNNITable[nv-1][mr-1](&a[0], lda, &b[0], pstride, k4, &bias[0], &tile[0], b2i(accum))
}

func qTileAVX2(a []int8, lda int, b []int8, pstride, k4 int, bias []int32, tile []int32, mr, nv int, accum bool) {
	_ = a[(mr-1)*lda+k4*4-1]
	_ = bias[nv*16-1]
	_ = tile[(mr-1)*qTileStride+nv*16-1]
	for v := 0; v < nv; v++ {
		_ = b[v*pstride+k4*64-1]
		qAVX2Table[mr-1](&a[0], lda, &b[v*pstride], pstride, k4, &bias[v*16], &tile[v*16], b2i(accum))
	}
}

func currentQKernel() qKernel {
	switch int8Path {
	case isaVNNI:
		return qKernelVNNI
	case isaAVX2:
		return qKernelAVX2
	}
	return qKernelGo
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// xorCopy copies src into dst XORing every byte with x.
func xorCopy(dst, src []int8, x int8) {
	n := len(src) &^ 31
	_ = dst[:len(src)]
	if n > 0 && simdPath != isaGo {
		xorCopyAVX2(&dst[0], &src[0], n, uint8(x))
	} else {
		n = 0
	}
	for i := n; i < len(src); i++ {
		dst[i] = src[i] ^ x
	}
}

func xor80(b []int8) {
	n := len(b) &^ 31
	if n > 0 && simdPath != isaGo {
		xor80AVX2(&b[0], n)
	} else {
		n = 0
	}
	for i := n; i < len(b); i++ {
		b[i] ^= -128
	}
}

// rqConsts packs the scalar parameters of the requantization kernels.
func (p *rqParams) consts() [8]int32 {
	var c [8]int32
	c[0] = p.zp
	if p.mode == RequantFixedPoint {
		c[1], c[2] = p.lo-p.zp, p.hi-p.zp
	} else {
		c[3] = int32(mathFloat32bits(float32(p.lo - p.zp)))
		c[4] = int32(mathFloat32bits(float32(p.hi - p.zp)))
	}
	return c
}

func (p *rqParams) row(src []int32, dst []int8, c0 int) {
	p.tile(src, len(src), 1, len(src), dst, len(dst), c0)
}

func (p *rqParams) tile(src []int32, ts, rows, ncols int, dst []int8, ldo int, c0 int) {
	n8 := ncols / 8
	if n8 > 0 && simdPath != isaGo && rows > 0 {
		_ = src[(rows-1)*ts+ncols-1]
		_ = dst[(rows-1)*ldo+ncols-1]
		c := p.consts()
		if p.mode == RequantFixedPoint {
			_ = p.mult[c0+ncols-1]
			_ = p.shift[c0+ncols-1]
			requantFixedAVX2(&src[0], ts*4, &dst[0], ldo, rows, n8, &p.mult[c0], &p.shift[c0], &c)
		} else {
			_ = p.scale[c0+ncols-1]
			requantFloatAVX2(&src[0], ts*4, &dst[0], ldo, rows, n8, &p.scale[c0], &c)
		}
	} else {
		n8 = 0
	}
	if done := n8 * 8; done < ncols {
		for i := 0; i < rows; i++ {
			p.rowGo(src[i*ts+done:i*ts+ncols], dst[i*ldo+done:i*ldo+ncols], c0+done)
		}
	}
}

var _ = unsafe.Pointer(nil)

// sgemmTile computes a 6×16 tile from packed A ([kc][6]) and B ([kc][16]).
func sgemmTile(kc int, a, b, c []float32, ldc int, accum bool) {
	_ = a[kc*sgMR-1]
	_ = b[kc*sgNR-1]
	_ = c[(sgMR-1)*ldc+sgNR-1]
	acc := 0
	if accum {
		acc = 1
	}
	sgemmAVX2_6x16(kc, &a[0], &b[0], &c[0], ldc, acc)
}
