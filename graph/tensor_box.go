package graph

import "unsafe"

// A wrapped tensor was three heap objects: the Tensor, its shape copy, and
// the slice header the interface Data boxes. On the int8 executor's small
// graphs (an encoder of 0.06 ms, 40-60 steps) those were a third of all
// allocations of a run, and allocation with the collector's work ~30 % of
// the run (docs/runtime.md, "int8 attention, fifth round (twenty-first
// session)"). The From* constructors make them one object.

// boxRank is the longest shape kept in the tensor's own allocation.
const boxRank = 6

// boxHead is a tensor and room for its shape.
type boxHead struct {
	t     Tensor
	shape [boxRank]int
}

// init sets the tensor's type and a copy of shape (at most boxRank
// dimensions) and returns the tensor. An empty shape stays nil (a scalar), as
// append([]int(nil), shape...) gave. Not generic, so that escape analysis sees
// that shape is only read: a caller's shape on its stack stays there.
func (h *boxHead) init(dt DType, shape []int) *Tensor {
	h.t.DType = dt
	if n := copy(h.shape[:], shape); n > 0 {
		h.t.Shape = h.shape[:n:n]
	}
	return &h.t
}

// The boxes of the wrapped types: the tensor, its shape and its data's slice
// header in one object.
type (
	boxF32 struct {
		boxHead
		data []float32
	}
	boxI64 struct {
		boxHead
		data []int64
	}
	boxI8 struct {
		boxHead
		data []int8
	}
	boxU8 struct {
		boxHead
		data []uint8
	}
	boxI32 struct {
		boxHead
		data []int32
	}
)

func wrapF32(shape []int, data []float32) *Tensor {
	if len(shape) > boxRank {
		return &Tensor{DType: Float32, Shape: append([]int(nil), shape...), Data: data}
	}
	b := &boxF32{data: data}
	t := b.init(Float32, shape)
	t.Data = sliceAny(&b.data)
	return t
}

func wrapI64(shape []int, data []int64) *Tensor {
	if len(shape) > boxRank {
		return &Tensor{DType: Int64, Shape: append([]int(nil), shape...), Data: data}
	}
	b := &boxI64{data: data}
	t := b.init(Int64, shape)
	t.Data = sliceAny(&b.data)
	return t
}

func wrapI8(shape []int, data []int8) *Tensor {
	if len(shape) > boxRank {
		return &Tensor{DType: Int8, Shape: append([]int(nil), shape...), Data: data}
	}
	b := &boxI8{data: data}
	t := b.init(Int8, shape)
	t.Data = sliceAny(&b.data)
	return t
}

func wrapU8(shape []int, data []uint8) *Tensor {
	if len(shape) > boxRank {
		return &Tensor{DType: Uint8, Shape: append([]int(nil), shape...), Data: data}
	}
	b := &boxU8{data: data}
	t := b.init(Uint8, shape)
	t.Data = sliceAny(&b.data)
	return t
}

func wrapI32(shape []int, data []int32) *Tensor {
	if len(shape) > boxRank {
		return &Tensor{DType: Int32, Shape: append([]int(nil), shape...), Data: data}
	}
	b := &boxI32{data: data}
	t := b.init(Int32, shape)
	t.Data = sliceAny(&b.data)
	return t
}

// sliceAny returns an interface holding the slice *p whose data word points
// at *p itself, instead of at a fresh heap copy of the slice header as a
// conversion makes. *p must not change afterwards (an interface's value is
// immutable): the boxes never write it again. Converting a nil slice
// allocates nothing (the runtime points it at its zero value); the data word
// is then replaced. TestWrapSharesOneAllocation checks that the result is the
// same interface value as a plain conversion.
func sliceAny[T any](p *[]T) any {
	v := any([]T(nil))
	(*[2]unsafe.Pointer)(unsafe.Pointer(&v))[1] = unsafe.Pointer(p)
	return v
}
