package runtime

// NonMaxSuppression, as ONNX Runtime computes it: per batch and class, the boxes
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
			for ci := 0; ci < nc; ci++ {
				s := sc[(bi*nc+ci)*n : (bi*nc+ci+1)*n]
				order = order[:0]
				for i, v := range s {
					if float64(v) > scoreT {
						order = append(order, i)
					}
				}
				sort.SliceStable(order, func(a, b int) bool { return s[order[a]] > s[order[b]] })
				var kept []int
				for _, i := range order {
					if float64(len(kept)) >= maxOut {
						break
					}
					ok := true
					for _, j := range kept {
						if nmsIoU(corners[i], corners[j]) > iouT {
							ok = false
							break
						}
					}
					if ok {
						kept = append(kept, i)
						sel = append(sel, int64(bi), int64(ci), int64(i))
					}
				}
			}
		}
		return []*graph.Tensor{graph.FromInt64([]int{len(sel) / 3, 3}, sel)}, nil
	}), nil
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

func nmsIoU(a, b [4]float64) float64 {
	ih := math.Min(a[2], b[2]) - math.Max(a[0], b[0])
	iw := math.Min(a[3], b[3]) - math.Max(a[1], b[1])
	if ih <= 0 || iw <= 0 {
		return 0
	}
	inter := ih * iw
	union := (a[2]-a[0])*(a[3]-a[1]) + (b[2]-b[0])*(b[3]-b[1]) - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}

func init() {
	Register(OpInfo{OpType: "NonMaxSuppression", Build: buildNonMaxSuppression})
}
