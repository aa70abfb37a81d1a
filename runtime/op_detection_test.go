package runtime

import (
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
