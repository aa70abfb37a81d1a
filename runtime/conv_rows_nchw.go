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
// ch < cols, sixteen channels at a time: each pixel's sixteen floats are
// read once as a run and the sixteen destination rows stay in L1.
func transposeBlockF32(src []float32, lds int, dst []float32, ldd, rows, cols int) {
	for c0 := 0; c0 < cols; c0 += 16 {
		cn := min(16, cols-c0)
		for j := 0; j < rows; j++ {
			s := src[j*lds+c0 : j*lds+c0+cn]
			d := dst[c0*ldd+j:]
			for t, v := range s {
				d[t*ldd] = v
			}
		}
	}
}
