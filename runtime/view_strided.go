package runtime

// Copies that are not: a Slice of whole rows (Swin's window shifts cut the
// leading spatial axis; its crops of a padding that padded nothing keep the
// whole tensor), a Transpose that moves only axes of size 1 (ViT's batch
// axis around the attention), a Gather of one index along a leading axis
// (the q, k, v split of a packed projection) read a contiguous range of their
// input. They return a view of it instead of a copy: the run's arena tracks
// buffers by the memory range their tensors point into, so a view keeps its
// source alive, and graph outputs that alias an input or a constant are
// copied when they are handed out (Session.run).

import (
	"reflect"

	"github.com/warboy-sim/warboy/graph"
)

// contiguousView returns x's elements [off, off + NumElements(shape)) as a
// tensor of that shape when the strided layout (shape, strides from off)
// is exactly that range, or nil.
func contiguousView(x *graph.Tensor, shape []int, off int, strides []int) *graph.Tensor {
	n := graph.NumElements(shape)
	if n == 0 || len(strides) != len(shape) {
		return nil
	}
	want := 1
	for i := len(shape) - 1; i >= 0; i-- {
		if shape[i] == 1 {
			continue
		}
		if strides[i] != want {
			return nil
		}
		want *= shape[i]
	}
	return sliceView(x, shape, off, n)
}

// sliceView returns x's elements [off, off+n) with the given shape, or nil
// when x's data is not a slice long enough.
func sliceView(x *graph.Tensor, shape []int, off, n int) *graph.Tensor {
	v := reflect.ValueOf(x.Data)
	if v.Kind() != reflect.Slice || off < 0 || off+n > v.Len() {
		return nil
	}
	return &graph.Tensor{DType: x.DType, Shape: append([]int{}, shape...), Data: v.Slice3(off, off+n, off+n).Interface()}
}

// permutedArena is permuted with a float32 result written into the run's
// arena (a fresh make of a multi-megabyte window tensor was zeroed first,
// and faulted in, at every Transpose and Slice of a transformer block).
func permutedArena(ctx *ExecContext, x *graph.Tensor, outShape []int, off int, strides []int) (*graph.Tensor, error) {
	xd, ok := x.Data.([]float32)
	xi, okI8 := x.Data.([]int8) // the int8 executor's window Transposes and Slices
	if !ok && !okI8 {
		return permuted(ctx.Threads, x, outShape, off, strides)
	}
	if v := contiguousView(x, outShape, off, strides); v != nil {
		return v, nil
	}
	if err := checkSize(outShape, "output shape"); err != nil {
		return nil, err
	}
	if okI8 {
		dst := ctx.AllocI8(graph.NumElements(outShape))
		stridedCopyPar(ctx.Threads, vec[int8](dst), 0, outShape, vec[int8](xi), off, strides)
		return &graph.Tensor{DType: x.DType, Shape: append([]int{}, outShape...), Data: dst}, nil
	}
	dst := ctx.AllocF32(graph.NumElements(outShape))
	stridedCopyPar(ctx.Threads, vec[float32](dst), 0, outShape, vec[float32](xd), off, strides)
	return &graph.Tensor{DType: x.DType, Shape: append([]int{}, outShape...), Data: dst}, nil
}

// transposeArena is transposeTensor through permutedArena.
func transposeArena(ctx *ExecContext, x *graph.Tensor, perm []int) (*graph.Tensor, error) {
	st := graph.Strides(x.Shape)
	out := make([]int, len(perm))
	ost := make([]int, len(perm))
	for i, p := range perm {
		out[i] = x.Shape[p]
		ost[i] = st[p]
	}
	return permutedArena(ctx, x, out, 0, ost)
}
