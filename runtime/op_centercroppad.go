package runtime

// CenterCropPad (opset 18): each listed axis is cropped from, or zero-padded
// around, its centre to the given size; where the difference is odd, the extra
// element is cropped (or padded) at the end, as ONNX Runtime and the ONNX reference
// do (start = floor(difference / 2)). One copy of the box input and output share.

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

func init() {
	Register(OpInfo{OpType: "CenterCropPad", Build: buildCenterCropPad})
}

func buildCenterCropPad(b *BuildContext) (Kernel, error) {
	n := b.Node
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 2); err != nil {
			return nil, err
		}
		x := in[0]
		sizes, err := intsInput(in[1], "shape")
		if err != nil {
			return nil, err
		}
		axes, err := graph.CenterCropPadAxes(n, len(x.Shape), len(sizes))
		if err != nil {
			return nil, err
		}
		r := len(x.Shape)
		outShape := append([]int(nil), x.Shape...)
		srcOff, dstOff, box := make([]int, r), make([]int, r), append([]int(nil), x.Shape...)
		for i, a := range axes {
			s := sizes[i]
			if s < 0 || s > 1<<31 {
				return nil, fmt.Errorf("shape %v: size %d is out of range", sizes, s)
			}
			d, o := x.Shape[a], int(s)
			outShape[a] = o
			if o < d {
				srcOff[a], box[a] = (d-o)/2, o
			} else {
				dstOff[a] = (o - d) / 2
			}
		}
		if err := checkSize(outShape, "output shape"); err != nil {
			return nil, err
		}
		src, err := bufferOf(x)
		if err != nil {
			return nil, err
		}
		dst := src.Make(graph.NumElements(outShape))
		if graph.NumElements(box) > 0 {
			copyBox(dst, src, x.Shape, outShape, srcOff, dstOff, box)
		}
		return []*graph.Tensor{{DType: x.DType, Shape: outShape, Data: dst.Data()}}, nil
	}), nil
}

// copyBox copies the box of sizes box at srcOff of src (shape xs) to dstOff of dst
// (shape ys), a contiguous run per innermost row.
func copyBox(dst, src buffer, xs, ys, srcOff, dstOff, box []int) {
	r := len(xs)
	if r == 0 {
		dst.Copy(0, src, 0, 1)
		return
	}
	idx := make([]int, r-1)
	for {
		si, di := 0, 0
		for a := 0; a < r-1; a++ {
			si = si*xs[a] + srcOff[a] + idx[a]
			di = di*ys[a] + dstOff[a] + idx[a]
		}
		dst.Copy(di*ys[r-1]+dstOff[r-1], src, si*xs[r-1]+srcOff[r-1], box[r-1])
		a := r - 2
		for ; a >= 0; a-- {
			if idx[a]++; idx[a] < box[a] {
				break
			}
			idx[a] = 0
		}
		if a < 0 {
			return
		}
	}
}
