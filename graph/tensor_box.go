package graph

import "unsafe"

// A wrapped tensor was three heap objects: the Tensor, its shape copy, and
// the slice header the interface Data boxes. On the int8 executor's small
// graphs (an encoder of 0.06 ms, 40-60 steps) those were a third of all
// allocations of a run, and allocation with the collector's work ~30 % of
// the run (docs/runtime.md, "int8 attention, fifth round (twenty-first
// session)"). wrap makes them one object.

// boxRank is the longest shape kept in the tensor's own allocation.
const boxRank = 6

// boxed is a tensor with its data's slice header and its shape.
type boxed[T any] struct {
	t     Tensor
	data  []T
	shape [boxRank]int
}

// wrap returns a tensor of type dt and a copy of shape over data (not
// copied), in one allocation when the shape has at most boxRank dimensions.
// An empty shape stays nil (a scalar), as append([]int(nil), shape...) gave.
func wrap[T any](dt DType, shape []int, data []T) *Tensor {
	if len(shape) > boxRank {
		return &Tensor{DType: dt, Shape: append([]int(nil), shape...), Data: data}
	}
	b := &boxed[T]{data: data}
	b.t.DType = dt
	if n := copy(b.shape[:], shape); n > 0 {
		b.t.Shape = b.shape[:n:n]
	}
	b.t.Data = sliceAny(&b.data)
	return &b.t
}

// sliceAny returns an interface holding the slice *p whose data word points
// at *p itself, instead of at a fresh heap copy of the slice header as a
// conversion makes. *p must not change afterwards (an interface's value is
// immutable): wrap's boxes never write it again. Converting a nil slice
// allocates nothing (the runtime points it at its zero value); the data word
// is then replaced. TestWrapSharesOneAllocation checks that the result is the
// same interface value as a plain conversion.
func sliceAny[T any](p *[]T) any {
	v := any([]T(nil))
	(*[2]unsafe.Pointer)(unsafe.Pointer(&v))[1] = unsafe.Pointer(p)
	return v
}
