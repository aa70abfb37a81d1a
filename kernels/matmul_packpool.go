package kernels

import (
	"bytes"
	"encoding/binary"
	"sync"
	"unsafe"
)

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
	rowC        []int32 // per row of A, the B zero-point correction
}

var packKNPool sync.Pool

func getPackKNBufs() *packKNBufs {
	if b, ok := packKNPool.Get().(*packKNBufs); ok {
		return b
	}
	return &packKNBufs{}
}

// zeroed returns *s resized to n and cleared (the packing leaves its padding
// untouched), reusing its array when it is large enough.
func zeroed[T int8 | int32 | int64](s *[]T, n int) []T {
	if cap(*s) < n {
		*s = make([]T, n)
	}
	*s = (*s)[:n]
	clear(*s)
	return *s
}

// hasMinI8 reports whether b holds a -128 (bytes.IndexByte's vector search).
func hasMinI8(b []int8) bool {
	if len(b) == 0 {
		return false
	}
	return bytes.IndexByte(unsafe.Slice((*byte)(unsafe.Pointer(&b[0])), len(b)), 0x80) >= 0
}

// packKNRows4 is packQGemmKN's loop: four rows of B at a time, each column's four values stored as one 32-bit word (the packed
// layout keeps the four k values of a column together); rows past k are
// zeros, as the padding of the packing. sums[c] gets Σ_k b[k, c].
func packKNRows4(n, k, kp int, b []int8, data []int8, sums []int64) {
	var zero []int8
	if k%4 != 0 {
		zero = make([]int8, n)
	}
	for kk := 0; kk < k; kk += 4 {
		var r [4][]int8
		for i := range r {
			if kk+i < k {
				r[i] = b[(kk+i)*n : (kk+i)*n+n]
			} else {
				r[i] = zero
			}
		}
		r0, r1, r2, r3 := r[0][:n], r[1][:n], r[2][:n], r[3][:n]
		off := (kk >> 2) * 64
		for c := range r0 {
			v0, v1, v2, v3 := r0[c], r1[c], r2[c], r3[c]
			sums[c] += int64(int32(v0) + int32(v1) + int32(v2) + int32(v3))
			p := (c>>4)*qPanel*kp + off + (c&15)*4
			binary.LittleEndian.PutUint32(unsafe.Slice((*byte)(unsafe.Pointer(&data[p])), 4),
				uint32(uint8(v0))|uint32(uint8(v1))<<8|uint32(uint8(v2))<<16|uint32(uint8(v3))<<24)
		}
	}
}
