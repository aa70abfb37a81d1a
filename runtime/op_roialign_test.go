package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// roiSampleRef64 is the bilinear value at (y, x), or, for max mode, the largest of the
// four weighted corners (ONNX Runtime's definition).
func roiSampleRef64(p []float32, h, w int, y, x float64, maxMode bool) float64 {
	if y < -1 || y > float64(h) || x < -1 || x > float64(w) {
		return 0
	}
	y, x = math.Max(y, 0), math.Max(x, 0)
	yl, xl := int(y), int(x)
	yh, xh := yl+1, xl+1
	if yl >= h-1 {
		yl, yh, y = h-1, h-1, float64(h-1)
	}
	if xl >= w-1 {
		xl, xh, x = w-1, w-1, float64(w-1)
	}
	ly, lx := y-float64(yl), x-float64(xl)
	hy, hx := 1-ly, 1-lx
	v1, v2 := hy*hx*float64(p[yl*w+xl]), hy*lx*float64(p[yl*w+xh])
	v3, v4 := ly*hx*float64(p[yh*w+xl]), ly*lx*float64(p[yh*w+xh])
	if maxMode {
		return math.Max(math.Max(v1, v2), math.Max(v3, v4))
	}
	return v1 + v2 + v3 + v4
}

// roiAlignRef64 is RoiAlign in float64 (the executor before the eighteenth
// session), computed per channel, bin and sample, each sample's
// geometry computed where it is used.
func roiAlignRef64(x []float32, c, h, w int, rois []float32, idx []int64, oh, ow, ratio int, scale float64, halfPixel, maxMode bool) []float32 {
	r := len(idx)
	out := make([]float32, r*c*oh*ow)
	off := 0.0
	if halfPixel {
		off = 0.5
	}
	for ri := 0; ri < r; ri++ {
		bi := int(idx[ri])
		sw, sh := float64(rois[ri*4])*scale-off, float64(rois[ri*4+1])*scale-off
		rw, rh := float64(rois[ri*4+2])*scale-off-sw, float64(rois[ri*4+3])*scale-off-sh
		if !halfPixel {
			rw, rh = math.Max(rw, 1), math.Max(rh, 1)
		}
		bh, bw := rh/float64(oh), rw/float64(ow)
		gh, gw := ratio, ratio
		if ratio == 0 {
			gh, gw = int(math.Ceil(rh/float64(oh))), int(math.Ceil(rw/float64(ow)))
		}
		count := float64(max(gh*gw, 1))
		for ci := 0; ci < c; ci++ {
			plane := x[(bi*c+ci)*h*w : (bi*c+ci+1)*h*w]
			for ph := 0; ph < oh; ph++ {
				for pw := 0; pw < ow; pw++ {
					acc, first := 0.0, true
					for iy := 0; iy < gh; iy++ {
						y := sh + float64(ph)*bh + (float64(iy)+0.5)*bh/float64(gh)
						for ix := 0; ix < gw; ix++ {
							xx := sw + float64(pw)*bw + (float64(ix)+0.5)*bw/float64(gw)
							v := roiSampleRef64(plane, h, w, y, xx, maxMode)
							switch {
							case !maxMode:
								acc += v
							case first || v > acc:
								acc = v
							}
							first = false
						}
					}
					if !maxMode {
						acc /= count
					}
					out[((ri*c+ci)*oh+ph)*ow+pw] = float32(acc)
				}
			}
		}
	}
	return out
}

// TestRoiAlignMatchesReference runs RoiAlign (the sampling geometry computed
// once per roi) against the per-channel reference on random maps and rois
// (inside, straddling and outside the map, degenerate ones), both modes,
// both coordinate transformations, fixed and adaptive sampling ratios, at 1 and
// 2 threads: the outputs are equal bit for bit.

// roiAlignRefORT is RoiAlign as ONNX Runtime's CPU kernel computes it in
// float32, written out per channel, bin and sample with each sample's geometry
// computed where it is used: every product and sum rounded on its own, in
// ORT's order. Samples more than a pixel outside the map (or at NaN
// coordinates) have no corners.
func roiAlignRefORT(x []float32, c, h, w int, rois []float32, idx []int64, oh, ow, ratio int, scale float32, halfPixel, maxMode bool) []float32 {
	r := len(idx)
	out := make([]float32, r*c*oh*ow)
	var off float32
	if halfPixel {
		off = 0.5
	}
	for ri := 0; ri < r; ri++ {
		bi := int(idx[ri])
		roi := rois[ri*4 : ri*4+4]
		var p [4]float32
		for j := range p {
			p[j] = float32(roi[j]*scale) - off
		}
		rw, rh := p[2]-p[0], p[3]-p[1]
		if !halfPixel {
			if rw < 1 {
				rw = 1
			}
			if rh < 1 {
				rh = 1
			}
		}
		bh, bw := rh/float32(oh), rw/float32(ow)
		gh, gw := ratio, ratio
		if ratio == 0 {
			fh, fw := math.Ceil(float64(rh/float32(oh))), math.Ceil(float64(rw/float32(ow)))
			gh, gw = 0, 0
			if fh > 0 && fw > 0 {
				gh, gw = int(fh), int(fw)
			}
		}
		count := float32(max(gh*gw, 1))
		for ci := 0; ci < c; ci++ {
			plane := x[(bi*c+ci)*h*w : (bi*c+ci+1)*h*w]
			for ph := 0; ph < oh; ph++ {
				for pw := 0; pw < ow; pw++ {
					var acc float32
					first := true
					for iy := 0; iy < gh; iy++ {
						yy := float32(p[1]+float32(float32(ph)*bh)) + float32(float32((float32(iy)+0.5)*bh)/float32(gh))
						for ix := 0; ix < gw; ix++ {
							xx := float32(p[0]+float32(float32(pw)*bw)) + float32(float32((float32(ix)+0.5)*bw)/float32(gw))
							var w1, w2, w3, w4 float32
							var p1, p2, p3, p4 int
							y, xv := yy, xx
							if y >= -1 && y <= float32(h) && xv >= -1 && xv <= float32(w) {
								if y <= 0 {
									y = 0
								}
								if xv <= 0 {
									xv = 0
								}
								yl, xl := int(y), int(xv)
								yh, xh := yl+1, xl+1
								if yl >= h-1 {
									yl, yh, y = h-1, h-1, float32(h-1)
								}
								if xl >= w-1 {
									xl, xh, xv = w-1, w-1, float32(w-1)
								}
								ly, lx := y-float32(yl), xv-float32(xl)
								hy, hx := 1-ly, 1-lx
								w1, w2, w3, w4 = hy*hx, hy*lx, ly*hx, ly*lx
								p1, p2, p3, p4 = yl*w+xl, yl*w+xh, yh*w+xl, yh*w+xh
							}
							// float32(): each product rounded (no fused multiply-add)
							v1, v2 := float32(w1*plane[p1]), float32(w2*plane[p2])
							v3, v4 := float32(w3*plane[p3]), float32(w4*plane[p4])
							if maxMode {
								v := max(max(v1, v2), max(v3, v4))
								if first || v > acc {
									acc = v
								}
							} else {
								s := v1 + v2
								s = s + v3
								s = s + v4
								acc = acc + s
							}
							first = false
						}
					}
					if !maxMode {
						acc = acc / count
					}
					out[((ri*c+ci)*oh+ph)*ow+pw] = acc
				}
			}
		}
	}
	return out
}

// TestRoiAlignMatchesReference runs RoiAlign (the samples computed once per
// roi, the map read channels-last, the bins summed over all channels at once)
// against ONNX Runtime's float32 arithmetic written out per channel, on random
// maps and rois (inside, straddling and outside the map, degenerate, NaN),
// both modes, both coordinate transformations, fixed and adaptive sampling
// ratios, channel counts around the vector widths, at 1 and 2 threads: the
// outputs are equal bit for bit, and within float32 rounding of the float64
// computation the executor had before.
func TestRoiAlignMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewSource(23))
	for _, c := range []int{5, 16, 67} {
		const n, h, w = 2, 9, 11
		x := make([]float32, n*c*h*w)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		var rois []float32
		var idx []int64
		for i := 0; i < 12; i++ {
			x1, y1 := rng.Float32()*30-6, rng.Float32()*26-5
			rois = append(rois, x1, y1, x1+rng.Float32()*20, y1+rng.Float32()*16)
			idx = append(idx, int64(rng.Intn(n)))
		}
		rois = append(rois, 4, 4, 4, 4, 50, 50, 60, 60, 9, 3, 2, 1) // a point, one wholly outside, one inverted
		idx = append(idx, 0, 1, 1)
		nan := float32(math.NaN())
		withNaN := append(append([]float32{}, rois...), 1, nan, 6, 7)
		for _, mode := range []string{"avg", "max"} {
			for _, opset := range []int64{10, 16} {
				for _, ratio := range []int{0, 2} {
					name := fmt.Sprintf("c %d %s opset %d ratio %d", c, mode, opset, ratio)
					node := mk("RoiAlign", 3, 1, aStr("mode", mode), aInt("sampling_ratio", int64(ratio)), aInt("output_height", 3),
						aInt("output_width", 4), &graph.Attr{Name: "spatial_scale", Type: graph.AttrFloat, F: 0.5})
					want := roiAlignRefORT(x, c, h, w, rois, idx, 3, 4, ratio, 0.5, opset >= 16, mode == "max")
					want64 := roiAlignRef64(x, c, h, w, rois, idx, 3, 4, ratio, 0.5, opset >= 16, mode == "max")
					for i := range want {
						require.InDelta(t, want64[i], want[i], 1e-5, "%s: the float32 reference against float64, element %d", name, i)
					}
					for _, th := range []int{1, 2} {
						got, err := runNodeWith(t, opset, th, node, nil, graph.FromFloat32([]int{n, c, h, w}, x),
							graph.FromFloat32([]int{len(idx), 4}, rois), graph.FromInt64([]int{len(idx)}, idx))
						require.NoError(t, err, name)
						requireBitsEqual(t, want, got[0].F32(), "%s, %d threads", name, th)
					}
					// A NaN roi: its bins are 0 (no samples) or its samples lie outside.
					got, err := runNodeWith(t, opset, 1, node, nil, graph.FromFloat32([]int{n, c, h, w}, x),
						graph.FromFloat32([]int{len(idx) + 1, 4}, withNaN), graph.FromInt64([]int{len(idx) + 1}, append(append([]int64{}, idx...), 0)))
					require.NoError(t, err, name)
					requireBitsEqual(t, want, got[0].F32()[:len(want)], "%s with a NaN roi after", name)
					for _, v := range got[0].F32()[len(want):] {
						require.Zero(t, v, "%s: the NaN roi's bins", name)
					}
				}
			}
		}
	}
}

func requireBitsEqual(t *testing.T, want, got []float32, msg string, args ...any) {
	t.Helper()
	require.Equal(t, len(want), len(got), fmt.Sprintf(msg, args...))
	for i := range want {
		if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
			require.Equal(t, want[i], got[i], "element %d: %s", i, fmt.Sprintf(msg, args...))
		}
	}
}

// TestRoiAlignRejectsHugeGrids: an adaptive sampling ratio follows the roi's
// size; a roi of 1e30 pixels is an error naming it, not an allocation.
func TestRoiAlignRejectsHugeGrids(t *testing.T) {
	x := graph.FromFloat32([]int{1, 1, 4, 4}, make([]float32, 16))
	node := mk("RoiAlign", 3, 1, aStr("mode", "avg"), aInt("output_height", 2), aInt("output_width", 2))
	_, err := runNodeWith(t, 16, 1, node, nil, x, graph.FromFloat32([]int{1, 4}, []float32{0, 0, 1e30, 1e30}), graph.FromInt64([]int{1}, []int64{0}))
	require.ErrorContains(t, err, "roi 0")
}
