package kernels

import "sync"

// The int8 product of two activations packs its B operand once per product:
// Swin-T's attention packs 64-192 small B matrices per step. The packed
// slices are recycled across products instead of allocated (and collected)
// each time; the packed weights themselves (QGemmWeights) stay a fresh value
// per product, so that nothing lazily derived from one B (the int16 copy of
// the AVX2 kernel) outlives it.

// packKNBufs are the slices of one packQGemmKNInto.
type packKNBufs struct {
	data        []int8
	bias, biasX []int32
	sums        []int64
	low         []int32
}

var packKNPool sync.Pool

func getPackKNBufs() *packKNBufs {
	if b, ok := packKNPool.Get().(*packKNBufs); ok {
		return b
	}
	return &packKNBufs{}
}

// zeroI8 returns *s resized to n and cleared (the packing leaves its padding
// untouched).
func (*packKNBufs) zeroI8(s *[]int8, n int) []int8 {
	if cap(*s) < n {
		*s = make([]int8, n)
	}
	*s = (*s)[:n]
	clear(*s)
	return *s
}

func (*packKNBufs) zeroI32(s *[]int32, n int) []int32 {
	if cap(*s) < n {
		*s = make([]int32, n)
	}
	*s = (*s)[:n]
	clear(*s)
	return *s
}

func (b *packKNBufs) zeroI64(n int) []int64 {
	if cap(b.sums) < n {
		b.sums = make([]int64, n)
	}
	b.sums = b.sums[:n]
	clear(b.sums)
	return b.sums
}
