package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// The ONNX node tests (test_nonmaxsuppression_*) check the selection through the
// conformance suite; these cases check the argument handling.
func TestNonMaxSuppressionArguments(t *testing.T) {
	boxes := f32([]int{1, 3, 4}, 0, 0, 1, 1, 0, 0.1, 1, 1.1, 0, 2, 1, 3)
	scores := f32([]int{1, 1, 3}, 0.9, 0.8, 0.7)
	i64s := func(v ...int64) *graph.Tensor { return i64(nil, v...) }
	runNodeCases(t, []nodeCase{
		{name: "no max_output_boxes_per_class selects nothing", node: mk("NonMaxSuppression", 2, 1), inputs: []*graph.Tensor{boxes, scores},
			want: []*graph.Tensor{graph.FromInt64([]int{0, 3}, nil)}},
		{name: "overlap suppressed", node: mk("NonMaxSuppression", 4, 1), inputs: []*graph.Tensor{boxes, scores, i64s(3), f32(nil, 0.5)},
			want: []*graph.Tensor{graph.FromInt64([]int{2, 3}, []int64{0, 0, 0, 0, 0, 2})}},
		{name: "score threshold", node: mk("NonMaxSuppression", 5, 1), inputs: []*graph.Tensor{boxes, scores, i64s(3), f32(nil, 0.5), f32(nil, 0.75)},
			want: []*graph.Tensor{graph.FromInt64([]int{1, 3}, []int64{0, 0, 0})}},
		{name: "scores do not match boxes", node: mk("NonMaxSuppression", 2, 1), inputs: []*graph.Tensor{boxes, f32([]int{1, 1, 2}, 1, 2)},
			wantErr: "disagree"},
		{name: "bad center_point_box", node: mk("NonMaxSuppression", 2, 1, &graph.Attr{Name: "center_point_box", Type: graph.AttrInt, I: 2}),
			inputs: []*graph.Tensor{boxes, scores}, wantErr: "center_point_box is 2"},
	})
}

// The ONNX node tests (test_roialign_aligned_*) check avg mode in both coordinate
// modes; max mode takes the largest weighted corner of every sample (ONNX Runtime).
func TestRoiAlignModes(t *testing.T) {
	x := f32([]int{1, 1, 2, 2}, 1, 2, 3, 4)
	roi := f32([]int{1, 4}, 0, 0, 2, 2)
	idx := i64([]int{1}, 0)
	one := func(mode string) *graph.Node {
		return mk("RoiAlign", 3, 1, aStr("mode", mode), &graph.Attr{Name: "sampling_ratio", Type: graph.AttrInt, I: 1})
	}
	runNodeCases(t, []nodeCase{
		// One sample at (1, 1): the last row and column, weight 1.
		{name: "avg", opset: 10, node: one("avg"), inputs: []*graph.Tensor{x, roi, idx}, want: []*graph.Tensor{f32([]int{1, 1, 1, 1}, 4)}},
		{name: "max", opset: 10, node: one("max"), inputs: []*graph.Tensor{x, roi, idx}, want: []*graph.Tensor{f32([]int{1, 1, 1, 1}, 4)}},
		// half_pixel: the sample is at (0.5, 0.5), the four pixels weigh 1/4 each.
		{name: "avg half_pixel", opset: 16, node: one("avg"), inputs: []*graph.Tensor{x, roi, idx}, want: []*graph.Tensor{f32([]int{1, 1, 1, 1}, 2.5)}},
		{name: "max half_pixel", opset: 16, node: one("max"), inputs: []*graph.Tensor{x, roi, idx}, want: []*graph.Tensor{f32([]int{1, 1, 1, 1}, 1)}},
		{name: "batch index out of range", opset: 16, node: one("avg"), inputs: []*graph.Tensor{x, roi, i64([]int{1}, 3)}, wantErr: "batch index 3"},
	})
}

// nmsSelectRef is NonMaxSuppression's selection as written: every box tried
// against every box kept before it.
func nmsSelectRef(order []int, corners [][4]float64, areas []float64, maxOut, iouT float64) []int {
	var kept []int
	for _, i := range order {
		if float64(len(kept)) >= maxOut {
			break
		}
		ok := true
		for _, j := range kept {
			if nmsIoU(corners[i], corners[j], areas[i], areas[j]) > iouT {
				ok = false
				break
			}
		}
		if ok {
			kept = append(kept, i)
		}
	}
	return kept
}

// TestNMSSelectMatchesReference checks the banded selection against the loop
// over every kept box on random boxes: torchvision's batched_nms layout (each
// class shifted by its own offset), boxes of every size in one image, a few
// huge ones, zero-height and NaN boxes, all tops equal, infinite coordinates,
// and thresholds from negative to above 1 (and NaN), with max_output limits.
func TestNMSSelectMatchesReference(t *testing.T) {
	layouts := []struct {
		name string
		box  func(rng *rand.Rand, i int) [4]float64
	}{
		{"batched_nms offsets, 90 classes", func(rng *rand.Rand, i int) [4]float64 {
			off := float64(rng.Intn(90)) * 321
			y, x := rng.Float64()*300, rng.Float64()*300
			return [4]float64{off + y, off + x, off + y + 2 + rng.Float64()*60, off + x + 2 + rng.Float64()*60}
		}},
		{"one image, sizes 0.01-1", func(rng *rand.Rand, i int) [4]float64 {
			y, x := rng.Float64(), rng.Float64()
			h := math.Pow(10, -2*rng.Float64())
			return [4]float64{y, x, y + h, x + h*(0.5+rng.Float64())}
		}},
		{"a few huge boxes, zero heights, NaN", func(rng *rand.Rand, i int) [4]float64 {
			y, x := rng.Float64()*50, rng.Float64()*50
			switch i % 37 {
			case 0:
				return [4]float64{-1000, -1000, 1000, 1000}
			case 5:
				return [4]float64{y, x, y, x + 3}
			case 11:
				return [4]float64{y, math.NaN(), y + 4, x}
			}
			return [4]float64{y, x, y + 1 + rng.Float64()*8, x + 1 + rng.Float64()*8}
		}},
		{"every top equal", func(rng *rand.Rand, i int) [4]float64 {
			x := rng.Float64() * 20
			return [4]float64{3, x, 3 + rng.Float64()*5, x + 2}
		}},
		{"infinite coordinates", func(rng *rand.Rand, i int) [4]float64 {
			y, x := rng.Float64()*10, rng.Float64()*10
			if i%50 == 3 {
				return [4]float64{math.Inf(-1), x, y, x + 1}
			}
			return [4]float64{y, x, y + 2, x + 2}
		}},
	}
	for _, l := range layouts {
		for _, n := range []int{0, 1, 7, 100, 600} {
			for _, iouT := range []float64{-0.1, 0, 0.3, 0.55, 1, math.NaN()} {
				for _, maxOut := range []float64{0, 1, 50, math.Inf(1)} {
					rng := rand.New(rand.NewSource(int64(n)*7 + int64(len(l.name))))
					corners := make([][4]float64, n)
					areas := make([]float64, n)
					order := make([]int, n)
					for i := range corners {
						corners[i] = l.box(rng, i)
						c := corners[i]
						areas[i] = (c[2] - c[0]) * (c[3] - c[1])
						order[i] = i
					}
					rng.Shuffle(n, func(a, b int) { order[a], order[b] = order[b], order[a] })
					want := nmsSelectRef(order, corners, areas, maxOut, iouT)
					got := nmsSelect(order, corners, areas, maxOut, iouT)
					require.Equal(t, want, got, "%s, %d boxes, iou %v, max %v", l.name, n, iouT, maxOut)
				}
			}
		}
	}
}

// roiSampleRef is the bilinear value at (y, x), or, for max mode, the largest of the
// four weighted corners (ONNX Runtime's definition).
func roiSampleRef(p []float32, h, w int, y, x float64, maxMode bool) float64 {
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

// roiAlignRef is RoiAlign computed per channel, bin and sample, each sample's
// geometry computed where it is used.
func roiAlignRef(x []float32, c, h, w int, rois []float32, idx []int64, oh, ow, ratio int, scale float64, halfPixel, maxMode bool) []float32 {
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
							v := roiSampleRef(plane, h, w, y, xx, maxMode)
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
func TestRoiAlignMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewSource(23))
	const n, c, h, w = 2, 5, 9, 11
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
	rois = append(rois, 4, 4, 4, 4, 50, 50, 60, 60) // a point, one wholly outside
	idx = append(idx, 0, 1)
	for _, mode := range []string{"avg", "max"} {
		for _, opset := range []int64{10, 16} {
			for _, ratio := range []int{0, 2} {
				name := fmt.Sprintf("%s opset %d ratio %d", mode, opset, ratio)
				node := mk("RoiAlign", 3, 1, aStr("mode", mode), aInt("sampling_ratio", int64(ratio)), aInt("output_height", 3),
					aInt("output_width", 4), &graph.Attr{Name: "spatial_scale", Type: graph.AttrFloat, F: 0.5})
				want := roiAlignRef(x, c, h, w, rois, idx, 3, 4, ratio, 0.5, opset >= 16, mode == "max")
				for _, th := range []int{1, 2} {
					got, err := runNodeWith(t, opset, th, node, nil, graph.FromFloat32([]int{n, c, h, w}, x),
						graph.FromFloat32([]int{len(idx), 4}, rois), graph.FromInt64([]int{len(idx)}, idx))
					require.NoError(t, err, name)
					require.Equal(t, want, got[0].F32(), "%s, %d threads", name, th)
				}
			}
		}
	}
}
