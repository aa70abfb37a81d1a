package runtime

// Detection operators. NonMaxSuppression, as ONNX Runtime computes it: per batch and class, the boxes
// whose score is above score_threshold, best first (ties in box order), each kept
// unless its IoU with a box already kept is above iou_threshold, at most
// max_output_boxes_per_class of them.

import (
	"fmt"
	"math"
	"sort"

	"github.com/warboy-sim/warboy/graph"
)

func buildNonMaxSuppression(b *BuildContext) (Kernel, error) {
	center := b.Node.AttrInt("center_point_box", 0)
	if center != 0 && center != 1 {
		return nil, b.Errorf("center_point_box is %d, expected 0 or 1", center)
	}
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 2); err != nil {
			return nil, err
		}
		boxes, scores := in[0], in[1]
		if boxes.DType != graph.Float32 || scores.DType != graph.Float32 {
			return nil, fmt.Errorf("boxes and scores are %s and %s, expected float32", boxes.DType, scores.DType)
		}
		if len(boxes.Shape) != 3 || boxes.Shape[2] != 4 || len(scores.Shape) != 3 ||
			scores.Shape[0] != boxes.Shape[0] || scores.Shape[2] != boxes.Shape[1] {
			return nil, fmt.Errorf("boxes %v and scores %v: expected [batch, boxes, 4] and [batch, classes, boxes]", boxes.Shape, scores.Shape)
		}
		maxOut, err := scalarArg(in, 2, func(t *graph.Tensor) (float64, error) {
			v, err := t.AsInt64()
			if err != nil || len(v) != 1 {
				return 0, fmt.Errorf("max_output_boxes_per_class must be one integer")
			}
			return float64(v[0]), nil
		})
		if err != nil {
			return nil, err
		}
		iouT, err := scalarArg(in, 3, floatScalar("iou_threshold"))
		if err != nil {
			return nil, err
		}
		scoreT := math.Inf(-1)
		if len(in) > 4 && in[4] != nil {
			if scoreT, err = floatScalar("score_threshold")(in[4]); err != nil {
				return nil, err
			}
		}
		nb, nc, n := scores.Shape[0], scores.Shape[1], scores.Shape[2]
		bx, sc := boxes.F32(), scores.F32()
		var sel []int64
		order := make([]int, 0, n)
		for bi := 0; bi < nb; bi++ {
			corners := nmsCorners(bx[bi*n*4:(bi+1)*n*4], n, center == 1)
			areas := make([]float64, n)
			for i, c := range corners {
				areas[i] = (c[2] - c[0]) * (c[3] - c[1])
			}
			for ci := 0; ci < nc; ci++ {
				s := sc[(bi*nc+ci)*n : (bi*nc+ci+1)*n]
				order = order[:0]
				for i, v := range s {
					if float64(v) > scoreT {
						order = append(order, i)
					}
				}
				sort.SliceStable(order, func(a, b int) bool { return s[order[a]] > s[order[b]] })
				for _, i := range nmsSelect(order, corners, areas, maxOut, iouT) {
					sel = append(sel, int64(bi), int64(ci), int64(i))
				}
			}
		}
		return []*graph.Tensor{graph.FromInt64([]int{len(sel) / 3, 3}, sel)}, nil
	}), nil
}

// nmsSelect returns the boxes of order (best first) that NonMaxSuppression
// keeps: each unless its IoU with a box kept before it is above iouT, at most
// maxOut of them.
//
// Whether a box is kept depends only on whether some kept box suppresses it,
// not on the order they are tried in, so the kept boxes are filed in bands of
// their top edge and a box is tried only against the bands that can reach it
// (seventeenth session). torchvision's detectors run one NonMaxSuppression over
// every class at once, each class's boxes shifted by its own offset
// (batched_nms), thousands of boxes on random weights: the loop over every
// kept box was 554 of the 604 ms of SSDlite's float32 run (ORT's whole run 185
// ms). A kept box of height at most hmax whose top is at or below the
// candidate's bottom, or at or above its top minus hmax, does not intersect
// it, and without an intersection the IoU is 0, never above a threshold of 0
// or more; a negative (or NaN) threshold, or non-finite coordinates, take the
// plain loop over every kept box.
func nmsSelect(order []int, corners [][4]float64, areas []float64, maxOut, iouT float64) []int {
	var kept []int
	if len(order) == 0 || maxOut < 1 {
		return nil
	}
	lo, hi, hmax := math.Inf(1), math.Inf(-1), 0.0
	finite := true
	for _, i := range order {
		c := corners[i]
		lo, hi, hmax = min(lo, c[0]), max(hi, c[0]), max(hmax, c[2]-c[0])
		for _, v := range c {
			finite = finite && !math.IsInf(v, 0) && !math.IsNaN(v)
		}
	}
	nb := min(len(order)/4, 4096)
	if !(iouT >= 0) || !finite || math.IsInf(hmax, 0) || hi <= lo || nb < 2 {
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
	width := (hi - lo) / float64(nb)
	if !(width > 1e-9*(math.Abs(lo)+math.Abs(hi))) {
		nb, width = 1, hi-lo+1 // bands narrower than the rounding: one band
	}
	band := func(y float64) int { // clamped to [0, nb)
		b := math.Floor((y - lo) / width)
		if b < 0 {
			return 0
		}
		return int(min(b, float64(nb-1)))
	}
	bands := make([][]int32, nb)
	for _, i := range order {
		if float64(len(kept)) >= maxOut {
			break
		}
		c := corners[i]
		ok := true
		// One band more on each side: the rounding of y - hmax and of the
		// band index.
		b0, b1 := max(0, band(c[0]-hmax)-1), min(nb-1, band(c[2])+1)
	scan:
		for b := b0; b <= b1; b++ {
			for _, j := range bands[b] {
				if nmsIoU(c, corners[j], areas[i], areas[j]) > iouT {
					ok = false
					break scan
				}
			}
		}
		if ok {
			kept = append(kept, i)
			b := band(c[0])
			bands[b] = append(bands[b], int32(i))
		}
	}
	return kept
}

// scalarArg reads optional scalar input i (0 when absent).
func scalarArg(in []*graph.Tensor, i int, read func(*graph.Tensor) (float64, error)) (float64, error) {
	if i >= len(in) || in[i] == nil {
		return 0, nil
	}
	return read(in[i])
}

func floatScalar(what string) func(*graph.Tensor) (float64, error) {
	return func(t *graph.Tensor) (float64, error) {
		v, err := t.AsFloat64()
		if err != nil || len(v) != 1 {
			return 0, fmt.Errorf("%s must be one number", what)
		}
		return v[0], nil
	}
}

// nmsCorners returns every box as (ymin, xmin, ymax, xmax), from corners in either
// order or from (x_center, y_center, width, height).
func nmsCorners(b []float32, n int, center bool) [][4]float64 {
	out := make([][4]float64, n)
	for i := range out {
		v := b[i*4 : i*4+4]
		if center {
			xc, yc, w, h := float64(v[0]), float64(v[1]), float64(v[2]), float64(v[3])
			out[i] = [4]float64{yc - h/2, xc - w/2, yc + h/2, xc + w/2}
			continue
		}
		y1, x1, y2, x2 := float64(v[0]), float64(v[1]), float64(v[2]), float64(v[3])
		out[i] = [4]float64{math.Min(y1, y2), math.Min(x1, x2), math.Max(y1, y2), math.Max(x1, x2)}
	}
	return out
}

// nmsIoU is the intersection over union of two boxes of areas areaA and areaB.
// The builtin min and max are math.Min and math.Max (NaN and -0 included), inlined:
// the loop over the kept boxes ran most of a random-weight SSDlite's quantize
// time in math.Min/Max calls.
func nmsIoU(a, b [4]float64, areaA, areaB float64) float64 {
	ih := min(a[2], b[2]) - max(a[0], b[0])
	iw := min(a[3], b[3]) - max(a[1], b[1])
	if ih <= 0 || iw <= 0 {
		return 0
	}
	inter := ih * iw
	union := areaA + areaB - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}

func init() {
	Register(OpInfo{OpType: "NonMaxSuppression", Build: buildNonMaxSuppression})
	Register(OpInfo{OpType: "RoiAlign", Build: buildRoiAlign})
}
