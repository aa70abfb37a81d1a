package runtime

// MaxUnpool (paddle2onnx's MaxUnPool2D in a SegNet decoder) and MaxRoiPool
// (torchvision.ops.roi_pool, Fast R-CNN), both as ONNX Runtime computes them.

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

// buildMaxUnpool scatters each input value to the position its index names in the
// zeroed output: the indices are MaxPool's, flat over the whole output tensor
// (N·C·spatial), as ONNX Runtime reads them. The output shape is output_shape when
// given, else (in - 1)·stride - pads + kernel per spatial axis.
func buildMaxUnpool(b *BuildContext) (Kernel, error) {
	n := b.Node
	kernel := n.AttrInts("kernel_shape", nil)
	if kernel == nil {
		return nil, fmt.Errorf("missing attribute kernel_shape")
	}
	strides, pads := n.AttrInts("strides", nil), n.AttrInts("pads", nil)
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 2); err != nil {
			return nil, err
		}
		x, idx := in[0], in[1]
		if len(x.Shape) != 2+len(kernel) {
			return nil, fmt.Errorf("input of shape %v for a kernel of %d axes", x.Shape, len(kernel))
		}
		if !equalInts(x.Shape, idx.Shape) {
			return nil, fmt.Errorf("indices of shape %v for an input of shape %v", idx.Shape, x.Shape)
		}
		var shape []int
		if len(in) > 2 && in[2] != nil {
			v, err := in[2].AsInt64()
			if err != nil {
				return nil, fmt.Errorf("output_shape: %w", err)
			}
			if len(v) != len(x.Shape) {
				return nil, fmt.Errorf("output_shape %v for an input of rank %d", v, len(x.Shape))
			}
			shape = make([]int, len(v))
			for i, s := range v {
				if s < 0 {
					return nil, fmt.Errorf("output_shape %v has a negative size", v)
				}
				shape[i] = int(s)
			}
		} else {
			sp, err := graph.MaxUnpoolOutShape(x.Shape[2:], kernel, strides, pads)
			if err != nil {
				return nil, err
			}
			shape = append([]int{x.Shape[0], x.Shape[1]}, sp...)
		}
		ix := idx.I64()
		total := graph.NumElements(shape)
		if xf, ok := x.Data.([]float32); ok {
			// float32 straight into its output (the general path below
			// goes through float64 and a cast: 0.09 ms of a 0.36 ms
			// Paddle export; seventeenth session).
			out := make([]float32, total)
			for i, j := range ix {
				if j < 0 || j >= int64(total) {
					return nil, fmt.Errorf("index %d at element %d is outside the output of shape %v", j, i, shape)
				}
				out[j] = xf[i]
			}
			return []*graph.Tensor{graph.FromFloat32(shape, out)}, nil
		}
		xf, err := widenHalf(x).AsFloat64()
		if err != nil {
			return nil, err
		}
		out := make([]float64, total)
		for i, j := range ix {
			if j < 0 || j >= int64(total) {
				return nil, fmt.Errorf("index %d at element %d is outside the output of shape %v", j, i, shape)
			}
			out[j] = xf[i]
		}
		y, err := castTensor(&graph.Tensor{DType: graph.Float64, Shape: shape, Data: out}, x.DType)
		if err != nil {
			return nil, err
		}
		return []*graph.Tensor{y}, nil
	}), nil
}

// buildMaxRoiPool max-pools each region of interest (batch index, x1, y1, x2, y2
// in input coordinates, scaled by spatial_scale and rounded half away from zero)
// into pooled_shape bins of float32 size (roi + 1) / pooled, the bin of ph
// spanning [floor(ph·size), ceil((ph+1)·size)) clipped to the map; an empty bin
// is 0. This is ONNX Runtime's roi_pool.cc and torchvision's roi_pool.
func buildMaxRoiPool(b *BuildContext) (Kernel, error) {
	ps := b.Node.AttrInts("pooled_shape", nil)
	if len(ps) != 2 || ps[0] < 1 || ps[1] < 1 {
		return nil, fmt.Errorf("pooled_shape must be two positive sizes, is %v", ps)
	}
	ph, pw := int(ps[0]), int(ps[1])
	scale := b.Node.AttrFloat("spatial_scale", 1)
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 2); err != nil {
			return nil, err
		}
		x, rois := in[0], in[1]
		if len(x.Shape) != 4 || x.DType != graph.Float32 {
			return nil, fmt.Errorf("input must be float32 [N, C, H, W], is %s %v", x.DType, x.Shape)
		}
		if len(rois.Shape) != 2 || rois.Shape[1] != 5 || rois.DType != graph.Float32 {
			return nil, fmt.Errorf("rois must be float32 [num_rois, 5], is %s %v", rois.DType, rois.Shape)
		}
		nb, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
		xd, rd := x.F32(), rois.F32()
		nr := rois.Shape[0]
		out := make([]float32, nr*c*ph*pw)
		for r := 0; r < nr; r++ {
			roi := rd[r*5 : r*5+5]
			bi := int(roi[0])
			if bi < 0 || bi >= nb {
				return nil, fmt.Errorf("roi %d: batch index %g is outside [0, %d)", r, roi[0], nb)
			}
			bins := MaxRoiPoolBins(roi[1:], scale, ph, pw, h, w)
			for ch := 0; ch < c; ch++ {
				plane := xd[(bi*c+ch)*h*w:][:h*w]
				dst := out[((r*c)+ch)*ph*pw:][:ph*pw]
				for py := 0; py < ph; py++ {
					for px := 0; px < pw; px++ {
						bin := bins[py*pw+px]
						hs, he, ws, we := bin[0], bin[1], bin[2], bin[3]
						if he <= hs || we <= ws {
							dst[py*pw+px] = 0
							continue
						}
						m := float32(-math.MaxFloat32)
						for yy := hs; yy < he; yy++ {
							for _, v := range plane[yy*w+ws : yy*w+we] {
								if v > m {
									m = v
								}
							}
						}
						dst[py*pw+px] = m
					}
				}
			}
		}
		return []*graph.Tensor{graph.FromFloat32([]int{nr, c, ph, pw}, out)}, nil
	}), nil
}

// MaxRoiPoolBins returns the ph·pw bins (row-major) of the roi (x1, y1, x2, y2)
// on an h × w map as MaxRoiPool pools them: each [row start, row end, column
// start, column end), empty when an end is not past its start. The training
// program's gradient reads them (qat).
func MaxRoiPoolBins(roi []float32, scale float32, ph, pw, h, w int) [][4]int {
	x1 := int(math.Round(float64(roi[0] * scale)))
	y1 := int(math.Round(float64(roi[1] * scale)))
	x2 := int(math.Round(float64(roi[2] * scale)))
	y2 := int(math.Round(float64(roi[3] * scale)))
	rh, rw := max(y2-y1+1, 1), max(x2-x1+1, 1)
	bh, bw := float32(rh)/float32(ph), float32(rw)/float32(pw)
	out := make([][4]int, ph*pw)
	for py := 0; py < ph; py++ {
		hs := clampInt(int(math.Floor(float64(float32(py)*bh)))+y1, 0, h)
		he := clampInt(int(math.Ceil(float64(float32(py+1)*bh)))+y1, 0, h)
		for px := 0; px < pw; px++ {
			ws := clampInt(int(math.Floor(float64(float32(px)*bw)))+x1, 0, w)
			we := clampInt(int(math.Ceil(float64(float32(px+1)*bw)))+x1, 0, w)
			out[py*pw+px] = [4]int{hs, he, ws, we}
		}
	}
	return out
}

func init() {
	Register(OpInfo{OpType: "MaxUnpool", Build: buildMaxUnpool})
	Register(OpInfo{OpType: "MaxRoiPool", Build: buildMaxRoiPool})
}
