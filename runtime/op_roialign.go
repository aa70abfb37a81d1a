package runtime

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// RoiAlign as ONNX Runtime computes it, in float32: every output bin averages
// (or takes the largest weighted corner of) gh × gw bilinear samples
// (sampling_ratio, or ceil(roi size / output size) when it is 0); a sample
// more than one pixel outside the map has no corners (position 0, weights
// 0). Opset 10 has no coordinate_transformation_mode and behaves as
// output_half_pixel; from opset 16 the default is half_pixel.
//
// Detectors run it on a thousand rois of 256 channels (torchvision's
// MultiScaleRoIAlign: 1000 × 256 × 49 bins × 4 samples × 4 corners in Faster
// R-CNN, 97 of its 194 ms in the seventeenth session, per channel plane in
// float64). Here each roi's samples (positions and weights, ORT's pre_calc)
// are computed once, the map is read channels-last, and a bin is the weighted
// sum of whole corner pixels, vectorized over the channels
// (kernels.RoiBinsF32); threads split the rois. A channels-last input comes
// from the layout pass (roleRoiAlign); an NCHW one is transposed first, once
// per run. The bins of a roi, [oh·ow][C], are transposed into the output's
// [C][oh·ow].
//
// The arithmetic is ORT's, operation for operation: the geometry in float32
// (roi corners · spatial_scale − offset, bin sizes, sample coordinates,
// corner weights), the four corners summed in order and added to the bin's
// sum, divided by the count at the end, each operation rounded on its own.
type roiAlignKernel struct {
	node      *graph.Node
	maxMode   bool
	halfPixel bool
	oh, ow    int
	ratio     int
	scale     float32
	// nhwc: X is channels-last [N, H, W, stride] with c channels.
	nhwc bool
	c    int
}

// roiMaxSamples bounds one roi's samples: an adaptive sampling ratio follows
// the roi's size, and a malformed roi (1e30 wide) must not ask for the memory
// of its grid.
const roiMaxSamples = 1 << 24

func buildRoiAlign(b *BuildContext) (Kernel, error) {
	k, err := newRoiAlign(b.Node, b.Opset)
	if err != nil {
		return nil, b.Errorf("%v", err)
	}
	return k, nil
}

// newRoiAlign reads a RoiAlign node's attributes.
func newRoiAlign(n *graph.Node, opset int64) (*roiAlignKernel, error) {
	defMode := "half_pixel"
	if opset < 16 {
		defMode = "output_half_pixel"
	}
	k := &roiAlignKernel{
		node:      n,
		maxMode:   n.AttrString("mode", "avg") == "max",
		halfPixel: n.AttrString("coordinate_transformation_mode", defMode) == "half_pixel",
		oh:        int(n.AttrInt("output_height", 1)),
		ow:        int(n.AttrInt("output_width", 1)),
		ratio:     int(n.AttrInt("sampling_ratio", 0)),
		scale:     n.AttrFloat("spatial_scale", 1),
	}
	if k.oh < 1 || k.ow < 1 || k.ratio < 0 {
		return nil, fmt.Errorf("output %dx%d and sampling_ratio %d must be positive", k.oh, k.ow, k.ratio)
	}
	return k, nil
}

// RoiAlignTaps are one roi's bilinear samples as the RoiAlign kernel takes them
// (ONNX Runtime's pre_calc): Per samples per bin, bins row-major, four corners
// each (Off: pixel index y·w + x in the map, W: weight); a bin averages its
// samples' weighted corners over Count (mode avg) or takes the largest weighted
// corner over its samples (mode max). Per 0: every bin is 0. The training
// program's gradient reads them (qat).
type RoiAlignTaps struct {
	Per   int
	Count float32
	Off   []int64
	W     []float32
	Max   bool
}

// RoiAlignGeometry returns the samples of the roi (x1, y1, x2, y2) on an h × w
// map for RoiAlign node n of a model of the given opset.
func RoiAlignGeometry(n *graph.Node, opset int64, roi []float32, h, w int) (RoiAlignTaps, error) {
	k, err := newRoiAlign(n, opset)
	if err != nil {
		return RoiAlignTaps{}, err
	}
	if len(roi) != 4 {
		return RoiAlignTaps{}, fmt.Errorf("a roi has 4 coordinates, not %d", len(roi))
	}
	var s roiSamples
	if err := k.geometry(&s, roi, h, w, 1, 0); err != nil {
		return RoiAlignTaps{}, err
	}
	return RoiAlignTaps{Per: s.per, Count: s.count, Off: s.off, W: s.w, Max: k.maxMode}, nil
}

// roiSamples is one roi's bilinear samples: gh·gw per bin, bins row-major,
// four corner offsets (in floats, channels-last) and weights each.
type roiSamples struct {
	per   int     // samples per bin (0: none)
	count float32 // the average's divisor: max(gh·gw, 1)
	off   []int64
	w     []float32
}

// geometry fills s with the samples of the roi (x1, y1, x2, y2) on an h × w
// map whose pixels are st floats apart, starting at base: ONNX Runtime's
// pre_calc in float32.
func (k *roiAlignKernel) geometry(s *roiSamples, roi []float32, h, w, st, base int) error {
	off := float32(0)
	if k.halfPixel {
		off = 0.5
	}
	sw, sh := float32(roi[0]*k.scale)-off, float32(roi[1]*k.scale)-off
	ew, eh := float32(roi[2]*k.scale)-off, float32(roi[3]*k.scale)-off
	rw, rh := ew-sw, eh-sh
	if !k.halfPixel {
		rw, rh = stdMax32(rw, 1), stdMax32(rh, 1) // malformed rois are 1x1
	}
	bh, bw := rh/float32(k.oh), rw/float32(k.ow)
	s.per, s.count = 0, 1
	gh, gw := k.ratio, k.ratio
	if k.ratio == 0 {
		fh, fw := math.Ceil(float64(rh/float32(k.oh))), math.Ceil(float64(rw/float32(k.ow)))
		// A NaN roi or one of no size has no samples: every bin is 0 (so
		// is ORT's, whose integer grid from NaN is negative).
		if !(fh > 0 && fw > 0) {
			return nil
		}
		if fh*fw*float64(k.oh*k.ow) > roiMaxSamples {
			return fmt.Errorf("roi (%g, %g, %g, %g) asks for %g x %g samples per bin", roi[0], roi[1], roi[2], roi[3], fh, fw)
		}
		gh, gw = int(fh), int(fw)
	}
	if gh*gw*k.oh*k.ow > roiMaxSamples {
		return fmt.Errorf("%d x %d samples per bin of %d x %d bins", gh, gw, k.oh, k.ow)
	}
	s.per, s.count = gh*gw, float32(gh*gw)
	s.per = gh * gw
	total := 4 * s.per * k.oh * k.ow
	if cap(s.off) < total {
		s.off, s.w = make([]int64, total), make([]float32, total)
	}
	s.off, s.w = s.off[:total], s.w[:total]
	fh, fw := float32(h), float32(w)
	j := 0
	for ph := 0; ph < k.oh; ph++ {
		for pw := 0; pw < k.ow; pw++ {
			for iy := 0; iy < gh; iy++ {
				yy := float32(sh+float32(float32(ph)*bh)) + float32(float32((float32(iy)+0.5)*bh)/float32(gh))
				for ix := 0; ix < gw; ix++ {
					xx := float32(sw+float32(float32(pw)*bw)) + float32(float32((float32(ix)+0.5)*bw)/float32(gw))
					o, wt := s.off[j:j+4:j+4], s.w[j:j+4:j+4]
					j += 4
					y, x := yy, xx
					// NaN coordinates (a NaN roi) count as outside too.
					if !(y >= -1 && y <= fh && x >= -1 && x <= fw) {
						o[0], o[1], o[2], o[3] = int64(base), int64(base), int64(base), int64(base)
						wt[0], wt[1], wt[2], wt[3] = 0, 0, 0, 0
						continue
					}
					y, x = max(y, 0), max(x, 0)
					yl, xl := int(y), int(x)
					yh, xh := yl+1, xl+1
					if yl >= h-1 {
						yl, yh, y = h-1, h-1, float32(h-1)
					}
					if xl >= w-1 {
						xl, xh, x = w-1, w-1, float32(w-1)
					}
					ly, lx := y-float32(yl), x-float32(xl)
					hy, hx := 1-ly, 1-lx
					o[0], o[1] = int64(base+(yl*w+xl)*st), int64(base+(yl*w+xh)*st)
					o[2], o[3] = int64(base+(yh*w+xl)*st), int64(base+(yh*w+xh)*st)
					wt[0], wt[1], wt[2], wt[3] = hy*hx, hy*lx, ly*hx, ly*lx
				}
			}
		}
	}
	return nil
}

// stdMax32 is std::max(a, b): a unless a < b.
func stdMax32(a, b float32) float32 {
	if a < b {
		return b
	}
	return a
}

func (k *roiAlignKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 3); err != nil {
		return nil, err
	}
	x, rois := in[0], in[1]
	idx, err := in[2].AsInt64()
	if err != nil {
		return nil, fmt.Errorf("batch_indices: %w", err)
	}
	if x.DType != graph.Float32 || rois.DType != graph.Float32 || len(x.Shape) != 4 || len(rois.Shape) != 2 ||
		rois.Shape[1] != 4 || len(idx) != rois.Shape[0] {
		return nil, fmt.Errorf("X %v, rois %v and %d batch indices: expected float32 [N,C,H,W], [R,4] and R indices", x.Shape, rois.Shape, len(idx))
	}
	nb, c, h, w, st := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], x.Shape[1]
	if k.nhwc {
		nb, h, w, st, c = x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], k.c
		if st != pixelStride(c) {
			return nil, fmt.Errorf("channels-last X %v, want [N, H, W, %d]", x.Shape, pixelStride(c))
		}
	}
	r := rois.Shape[0]
	for ri, bi := range idx {
		if bi < 0 || int(bi) >= nb {
			return nil, fmt.Errorf("batch index %d of roi %d is outside [0, %d)", bi, ri, nb)
		}
	}
	bins := k.oh * k.ow
	od := ctx.AllocF32(r * c * bins)
	out := &graph.Tensor{DType: graph.Float32, Shape: []int{r, c, k.oh, k.ow}, Data: od}
	if r == 0 || c == 0 {
		return []*graph.Tensor{out}, nil
	}
	xd := x.F32()
	if !k.nhwc {
		// One transposition of the map; the rois then read whole pixels.
		hw := h * w
		t := getF32(nb * hw * c)
		defer putF32(t)
		xl := (*t)[:nb*hw*c]
		for img := 0; img < nb; img++ {
			src, dst := xd[img*c*hw:(img+1)*c*hw], xl[img*hw*c:(img+1)*hw*c]
			nnParallel(memPassThreads(ctx.Threads, c*hw), hw, func(p0, p1 int) {
				transposeBlockF32(src[p0:], hw, dst[p0*c:], c, c, p1-p0)
			})
		}
		xd = xl
	}
	rd := rois.F32()
	var firstErr error
	errs := make([]error, r)
	nnParallel(ctx.Threads, r, func(lo, hi int) {
		var s roiSamples
		bp := getF32(bins * c)
		defer putF32(bp)
		acc := (*bp)[:bins*c]
		for ri := lo; ri < hi; ri++ {
			if err := k.geometry(&s, rd[ri*4:ri*4+4], h, w, st, int(idx[ri])*h*w*st); err != nil {
				errs[ri] = fmt.Errorf("roi %d: %w", ri, err)
				return
			}
			if k.maxMode {
				roiBinsMax(acc, xd, &s, bins, c)
			} else {
				kernels.RoiBinsF32(acc, c, xd, s.off, s.w, bins, s.per, c, s.count)
			}
			transposeBlockF32(acc, c, od[ri*c*bins:], bins, bins, c)
		}
	})
	for _, e := range errs {
		if e != nil && firstErr == nil {
			firstErr = e
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return []*graph.Tensor{out}, nil
}

// roiBinsMax is max mode on channels-last pixels: every bin takes, per
// channel, the largest over its samples of the largest weighted corner
// (ONNX Runtime's definition), the first sample's value to start; a bin with
// no samples is 0.
func roiBinsMax(dst, src []float32, s *roiSamples, bins, c int) {
	for b := 0; b < bins; b++ {
		d := dst[b*c : (b+1)*c]
		if s.per == 0 {
			clear(d)
			continue
		}
		for j := b * s.per * 4; j < (b+1)*s.per*4; j += 4 {
			w1, w2, w3, w4 := s.w[j], s.w[j+1], s.w[j+2], s.w[j+3]
			p1, p2 := src[s.off[j]:][:c], src[s.off[j+1]:][:c]
			p3, p4 := src[s.off[j+2]:][:c], src[s.off[j+3]:][:c]
			first := j == b*s.per*4
			for i := range d {
				v := max(max(w1*p1[i], w2*p2[i]), max(w3*p3[i], w4*p4[i]))
				if first || v > d[i] {
					d[i] = v
				}
			}
		}
	}
}
