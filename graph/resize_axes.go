package graph

import (
	"fmt"
	"math"
)

// Resize-18's axes and keep_aspect_ratio_policy attributes (eighteenth session). A
// preprocessing graph resizes a decoded image [H, W, 3] by its two first axes only
// (axes [0, 1]: scales or sizes have one value per listed axis) and, as
// torchvision's Resize(256) does, keeps the aspect ratio: with "not_smaller" the
// shorter side reaches its size, with "not_larger" the longer one does. The sizes
// are then round(scale · in) with one scale for every listed axis, and that scale,
// not out/in, maps output coordinates back (ONNX Runtime's and the ONNX reference's
// rule).

// ResizeAxesFull expands the scales or the sizes of a Resize on the axes listed
// (nil: every axis, in order) to one value per axis of an input of shape in (-1:
// an unknown size), applying policy ("stretch", "not_larger", "not_smaller") to
// sizes. It returns the full scales when scales are given or policy keeps the
// aspect ratio (the coordinate scales), and the full sizes when sizes are given (-1
// where an unknown input size leaves one unknown).
func ResizeAxesFull(in []int, scales []float64, sizes []int64, axes []int64, policy string) ([]float64, []int64, error) {
	r := len(in)
	switch policy {
	case "", "stretch", "not_larger", "not_smaller":
	default:
		return nil, nil, fmt.Errorf("%w keep_aspect_ratio_policy %q", ErrUnsupported, policy)
	}
	listed := make([]int, 0, r)
	if axes == nil {
		for a := 0; a < r; a++ {
			listed = append(listed, a)
		}
	} else {
		seen := make([]bool, r)
		for _, a := range axes {
			na, err := NormalizeAxis(a, r)
			if err != nil {
				return nil, nil, fmt.Errorf("axes %v: %v", axes, err)
			}
			if seen[na] {
				return nil, nil, fmt.Errorf("axes %v: axis %d is listed twice", axes, a)
			}
			seen[na] = true
			listed = append(listed, na)
		}
	}
	if scales != nil {
		if len(scales) != len(listed) {
			return nil, nil, fmt.Errorf("scales %v has %d values for %d axes", scales, len(scales), len(listed))
		}
		full := make([]float64, r)
		for a := range full {
			full[a] = 1
		}
		for i, a := range listed {
			full[a] = scales[i]
		}
		return full, nil, nil
	}
	if len(sizes) != len(listed) {
		return nil, nil, fmt.Errorf("sizes %v has %d values for %d axes", sizes, len(sizes), len(listed))
	}
	full := make([]int64, r)
	for a, d := range in {
		full[a] = int64(d)
	}
	for i, a := range listed {
		full[a] = sizes[i]
	}
	if policy == "" || policy == "stretch" {
		return nil, full, nil
	}
	// One scale for the listed axes, in float32 as ONNX Runtime computes it.
	var s float32
	for i, a := range listed {
		if in[a] < 0 {
			for _, b := range listed {
				full[b] = -1
			}
			return nil, full, nil
		}
		if in[a] == 0 {
			return nil, nil, fmt.Errorf("keep_aspect_ratio_policy %s: axis %d is empty", policy, a)
		}
		v := float32(sizes[i]) / float32(in[a])
		if i == 0 || policy == "not_larger" && v < s || policy == "not_smaller" && v > s {
			s = v
		}
	}
	cs := make([]float64, r)
	for a := range cs {
		cs[a] = 1
	}
	for _, a := range listed {
		v := math.Round(float64(s * float32(in[a])))
		if v > math.MaxInt32 {
			return nil, nil, fmt.Errorf("keep_aspect_ratio_policy %s gives axis %d the size %.0f", policy, a, v)
		}
		full[a], cs[a] = int64(v), float64(s)
	}
	return cs, full, nil
}
