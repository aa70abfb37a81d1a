package runtime

import (
	"github.com/warboy-sim/warboy/graph"
)

// Interpolating Resize on int8 codes (the warboy.int8 Resize, lowered from a
// DequantizeLinear -> Resize -> QuantizeLinear whose scales agree): the interpolation
// weights of every mode sum to one, so interpolating the codes and rounding once gives
// the code of the interpolated float value, which is what running the QDQ graph in
// float gives. The codes are widened to float32 for the whole resize (every axis) and
// rounded once at the end, half to even like QuantizeLinear, never per axis.
// A bilinear resize of two adjacent axes runs row by row on the codes
// (resize_bilinear.go), the others widen the whole tensor.

func resizeInt8Wrap(ctx *ExecContext, k *resizeKernel, in []*graph.Tensor) ([]*graph.Tensor, error) {
	x := in[0]
	if k.mode == "linear" {
		outShape, scales, roi, err := k.geometry(x.Shape, in)
		if err != nil {
			return nil, err
		}
		if p := k.plan2D(x.Shape, outShape, scales); roi == nil && p != nil {
			// Two adjacent axes (H and W, NCHW or the int8 executor's
			// channels-last codes): row by row (resize_bilinear.go).
			y := ctx.AllocI8(graph.NumElements(outShape))
			p.runI8(x.Data.([]int8), y, ctx.Threads)
			return []*graph.Tensor{{DType: graph.Int8, Shape: outShape, Data: y}}, nil
		}
		if out := k.run3D(ctx, x, outShape, scales, roi); out != nil {
			return out, nil // three adjacent axes (resize_3d.go)
		}
	}
	wide := widenInt8(x.Data.([]int8), ctx.Threads)
	win := append([]*graph.Tensor{graph.FromFloat32(x.Shape, wide)}, in[1:]...)
	out, err := k.Run(ctx, win)
	if err != nil {
		return nil, err
	}
	q := narrowInt8(out[0].F32(), ctx.Threads)
	return []*graph.Tensor{{DType: graph.Int8, Shape: out[0].Shape, Data: q}}, nil
}
