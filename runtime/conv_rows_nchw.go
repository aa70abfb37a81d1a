package runtime

// Convolutions from a channels-last input to an NCHW output (the layout pass
// ends a chain there: YOLO's Detect heads feed a Reshape/Transpose) are
// computed channels-last and transposed (fourteenth session).

import (
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// pointwiseNCHW runs a 1x1 convolution of a channels-last input (pixel
// stride sx, n images of plane pixels) into a new NCHW output, band of
// pixels by band: each band's channels-last rows are computed into a scratch
// buffer that stays in L2 and transposed from there, instead of the whole
// map's rows going to memory and back between the GEMM and the
// transposition (YOLOv5s's 128 → 255 head on 80x80: 6.5 MB each way). With
// the 256-wide panels of newRowsConvKernel and the blocked transposition
// below that head went from 6.4 to 4.0-4.7 ms of thread CPU time
// (BenchmarkDenseConvMaps, three runs each, load 8).
// res is the NCHW residual (nil for none), added with the clamp and the
// activation during the transposition.
func (k *rowsConvKernel) pointwiseNCHW(ctx *ExecContext, xd []float32, sx, n, plane, so int, outShape []int, res []float32) []*graph.Tensor {
	y := &graph.Tensor{DType: graph.Float32, Shape: outShape, Data: ctx.AllocF32(graph.NumElements(outShape))}
	band := nchwBandPixels(plane, so)
	buf := getF32(band * so)
	defer putF32(buf)
	for img := 0; img < n; img++ {
		for p0 := 0; p0 < plane; p0 += band {
			rows := min(band, plane-p0)
			k.gemm(xd[(img*plane+p0)*sx:], sx, k.ident, rows, *buf, so, nil, res != nil, ctx.Threads)
			k.toNCHW(*buf, so, y.F32(), res, img, p0, rows, plane, ctx.Threads)
		}
	}
	return []*graph.Tensor{y}
}

// nchwBandPixels is the band of pointwiseNCHW: a quarter of L2 of
// channels-last rows, a multiple of nchwBlock pixels and of the GEMM's six
// rows (192), or the whole plane when it fits.
func nchwBandPixels(plane, so int) int {
	band := kernels.L2Bytes() / 4 / (so * 4) / 192 * 192
	if band <= 0 {
		band = 192
	}
	return min(plane, band)
}

// nchwBlock is the number of pixels toNCHW transposes at a time: their
// channels-last rows (64 pixels of 256 channels: 64 KB) stay in L1/L2 while
// every channel's run of them is written. Channel by channel over the whole
// map, each channel read one float per pixel row, a whole 80x80 map's rows
// (6.5 MB) came from memory once per channel: 2.3 ms of YOLOv5s's 128 → 255
// Detect head on 80x80 (fourteenth session).
const nchwBlock = 64

// toNCHW transposes rows channels-last pixels of ynh (pixel stride so), the
// pixels [p0, p0+rows) of image img, into the NCHW y of plane pixels per
// channel, adding the NCHW residual res (nil for none) with the clamp and
// activation it waited for.
func (k *rowsConvKernel) toNCHW(ynh []float32, so int, y, res []float32, img, p0, rows, plane, threads int) {
	blocks := (rows + nchwBlock - 1) / nchwBlock
	nnParallel(min(threads, max(1, rows*k.m/parallelMinWork)), blocks, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			b0 := i * nchwBlock
			b1 := min(rows, b0+nchwBlock)
			j0, j1 := p0+b0, p0+b1
			src := ynh[b0*so:]
			base := img*k.m*plane + j0
			transposeBlockF32(src, so, y[base:], plane, j1-j0, k.m)
			for ch := 0; res != nil && ch < k.m; ch++ {
				o := (img*k.m+ch)*plane + j0
				dst, rr := y[o:o+j1-j0], res[o:o+j1-j0]
				for j := range dst {
					dst[j] = k.clamp(dst[j] + rr[j])
				}
				kernels.ActF32(k.post, dst, dst)
			}
		}
	})
}

// transposeBlockF32 writes dst[ch*ldd+j] = src[j*lds+ch] for j < rows and
// ch < cols, eight channels at a time: each pixel's eight floats are read as
// a run into the eight destination rows, whose slices are bounds-checked
// once per block (1.45x faster than sixteen channels indexed per element:
// 1.21-1.30 → 0.83-0.89 ms for the 255 × 6400 floats of YOLOv5s's head,
// source in L2, three runs each; fourteenth session).
func transposeBlockF32(src []float32, lds int, dst []float32, ldd, rows, cols int) {
	c0 := 0
	for ; c0+8 <= cols; c0 += 8 {
		d0 := dst[(c0+0)*ldd : (c0+0)*ldd+rows]
		d1 := dst[(c0+1)*ldd : (c0+1)*ldd+rows]
		d2 := dst[(c0+2)*ldd : (c0+2)*ldd+rows]
		d3 := dst[(c0+3)*ldd : (c0+3)*ldd+rows]
		d4 := dst[(c0+4)*ldd : (c0+4)*ldd+rows]
		d5 := dst[(c0+5)*ldd : (c0+5)*ldd+rows]
		d6 := dst[(c0+6)*ldd : (c0+6)*ldd+rows]
		d7 := dst[(c0+7)*ldd : (c0+7)*ldd+rows]
		for j := 0; j < rows; j++ {
			s := src[j*lds+c0 : j*lds+c0+8]
			d0[j], d1[j], d2[j], d3[j] = s[0], s[1], s[2], s[3]
			d4[j], d5[j], d6[j], d7[j] = s[4], s[5], s[6], s[7]
		}
	}
	for ; c0 < cols; c0++ {
		d := dst[c0*ldd : c0*ldd+rows]
		for j := range d {
			d[j] = src[j*lds+c0]
		}
	}
}
