package qtensor

// Layout helpers of the int8 executor. Inside int8 regions 3-D and 4-D activations are
// stored channels-last (NLC / NHWC), which is what the int8 convolution and pooling
// kernels read; the lowering inserts conversions only where a consumer needs the
// logical (ONNX, channels-first) order. A stored tensor is described by a permutation
// of its logical "base" shape (stored = transpose(base, perm)) and, optionally, a
// reshape of the base into the logical shape (a Flatten or Reshape that was folded
// away rather than executed).

import (
	"fmt"
	"slices"
	"unsafe"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// ChannelsLastPerm returns the permutation that turns an [N, C, D1, ..., Dk] tensor
// into [N, D1, ..., Dk, C].
func ChannelsLastPerm(rank int) []int {
	p := make([]int, rank)
	p[0] = 0
	for i := 1; i < rank-1; i++ {
		p[i] = i + 1
	}
	p[rank-1] = 1
	return p
}

// InvertPerm returns the inverse permutation.
func InvertPerm(p []int) []int {
	inv := make([]int, len(p))
	for i, v := range p {
		inv[v] = i
	}
	return inv
}

// IsIdentityPerm reports whether p is nil or the identity.
func IsIdentityPerm(p []int) bool {
	for i, v := range p {
		if v != i {
			return false
		}
	}
	return true
}

// ValidPerm checks that p is a permutation of [0, rank).
func ValidPerm(p []int, rank int) error {
	if len(p) != rank {
		return fmt.Errorf("permutation %v has %d entries for rank %d", p, len(p), rank)
	}
	seen := make([]bool, rank)
	for _, v := range p {
		if v < 0 || v >= rank || seen[v] {
			return fmt.Errorf("%v is not a permutation of rank %d", p, rank)
		}
		seen[v] = true
	}
	return nil
}

// PermuteShape returns shape[perm[i]] for each i.
func PermuteShape(shape []int, perm []int) []int {
	out := make([]int, len(perm))
	for i, p := range perm {
		out[i] = shape[p]
	}
	return out
}

// ResolveShapeTemplate applies an ONNX-Reshape-style template (0 copies the input
// dimension at the same index, -1 is inferred) to a tensor of the given shape.
func ResolveShapeTemplate(in []int, tmpl []int64) ([]int, error) {
	out := make([]int, len(tmpl))
	total := graph.NumElements(in)
	known, infer := 1, -1
	for i, v := range tmpl {
		switch {
		case v == 0:
			if i >= len(in) {
				return nil, fmt.Errorf("shape template %v copies dimension %d of %v", tmpl, i, in)
			}
			out[i] = in[i]
		case v == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("shape template %v has two -1 entries", tmpl)
			}
			infer = i
			continue
		case v < 0:
			return nil, fmt.Errorf("shape template %v has a negative entry", tmpl)
		default:
			out[i] = int(v)
		}
		known *= out[i]
	}
	if infer >= 0 {
		if known == 0 || total%known != 0 {
			return nil, fmt.Errorf("cannot reshape %v to %v", in, tmpl)
		}
		out[infer] = total / known
	} else if known != total {
		return nil, fmt.Errorf("cannot reshape %v (%d elements) to %v", in, total, out)
	}
	return out, nil
}

// TransposeIter calls body(dstOff, srcOff, n, srcStride) for every innermost run of a
// transpose: n consecutive destination elements read from src at srcOff, srcOff +
// srcStride, ... The destination shape is shape permuted by perm.
func TransposeIter(shape, perm []int, body func(dstOff, srcOff, n, srcStride int)) {
	rank := len(perm)
	if rank == 0 {
		body(0, 0, 1, 1)
		return
	}
	srcStrides := graph.Strides(shape)
	dshape := PermuteShape(shape, perm)
	st := make([]int, rank)
	for i, p := range perm {
		st[i] = srcStrides[p]
	}
	inner := dshape[rank-1]
	if graph.NumElements(dshape) == 0 {
		return
	}
	idx := make([]int, rank-1)
	dst, src := 0, 0
	for {
		body(dst, src, inner, st[rank-1])
		dst += inner
		d := rank - 2
		for ; d >= 0; d-- {
			idx[d]++
			src += st[d]
			if idx[d] < dshape[d] {
				break
			}
			src -= st[d] * dshape[d]
			idx[d] = 0
		}
		if d < 0 {
			return
		}
	}
}

// TrivialPerm reports whether transposing a tensor of this shape by perm keeps the
// element order (only dimensions of size 1 move).
func TrivialPerm(shape, perm []int) bool {
	last := -1
	for _, p := range perm {
		if shape[p] == 1 {
			continue
		}
		if p < last {
			return false
		}
		last = p
	}
	return true
}

// TransposeBytes writes dst = transpose(src of shape, perm), XORing every byte with
// xor (0x80 converts between int8 and uint8 with the zero point moved by 128). The
// work is split over threads along the outermost destination dimension.
func TransposeBytes(src []byte, shape, perm []int, dst []byte, xor byte, threads int) {
	if IsIdentityPerm(perm) || TrivialPerm(shape, perm) {
		ParallelChunks(len(src), threads, 1<<16, func(lo, hi int) {
			if xor == 0 {
				copy(dst[lo:hi], src[lo:hi])
				return
			}
			for i := lo; i < hi; i++ {
				dst[i] = src[i] ^ xor
			}
		})
		return
	}
	// Channels-last conversions (and every swap of two groups of dimensions)
	// of matrices of at least 8 × 8: blocked 8×8 byte transposes (transpose2d.go).
	if batch, rows, cols, ok := BlockSwap(shape, perm); ok && xor == 0 && rows >= 8 && cols >= 8 {
		transposeBatch2D(dst, src, batch, rows, cols, threads)
		return
	}
	// Channels-last conversions of 4-D tensors are the hot case: blocked loops.
	if len(shape) == 4 && xor == 0 {
		n, c, h, w := shape[0], shape[1], shape[2], shape[3]
		switch {
		case slices.Equal(perm, []int{0, 2, 3, 1}) && c < 16:
			// few channels (an image): one channel plane at a time, sequential reads
			hw := h * w
			ParallelChunks(n*hw, threads, 4096, func(lo, hi int) {
				for p0 := lo; p0 < hi; {
					b, s0 := p0/hw, p0%hw
					cnt := min(hi-p0, hw-s0)
					d := dst[p0*c : (p0+cnt)*c]
					if c == 3 {
						// RGB: the three planes interleaved pixel by
						// pixel, writes in order (fifteenth session: the
						// plane-at-a-time loop wrote every third byte)
						base := b*3*hw + s0
						r, g, bl := src[base:base+cnt], src[base+hw:base+hw+cnt], src[base+2*hw:base+2*hw+cnt]
						for i := range r {
							px := d[3*i : 3*i+3 : 3*i+3]
							px[0], px[1], px[2] = r[i], g[i], bl[i]
						}
						p0 += cnt
						continue
					}
					for ch := 0; ch < c; ch++ {
						plane := src[(b*c+ch)*hw+s0 : (b*c+ch)*hw+s0+cnt]
						for i, v := range plane {
							d[i*c+ch] = v
						}
					}
					p0 += cnt
				}
			})
			return
		case slices.Equal(perm, []int{0, 2, 3, 1}):
			hw := h * w
			ParallelChunks(n*hw, threads, 4096, func(lo, hi int) {
				for p := lo; p < hi; p++ {
					b, s := p/hw, p%hw
					d := dst[p*c : p*c+c]
					base := b*c*hw + s
					for ch := range d {
						d[ch] = src[base+ch*hw]
					}
				}
			})
			return
		case slices.Equal(perm, []int{0, 3, 1, 2}):
			// [N,H,W,C] -> [N,C,H,W]: here shape is the stored [N,H,W,C].
			hgt, wid, ch := c, h, w
			hw := hgt * wid
			ParallelChunks(n*ch, threads, 64, func(lo, hi int) {
				for p := lo; p < hi; p++ {
					b, cc := p/ch, p%ch
					d := dst[p*hw : p*hw+hw]
					base := b*hw*ch + cc
					for s := range d {
						d[s] = src[base+s*ch]
					}
				}
			})
			return
		}
	}
	TransposeIter(shape, perm, func(dstOff, srcOff, n, stride int) {
		d := dst[dstOff : dstOff+n]
		if stride == 1 {
			s := src[srcOff : srcOff+n]
			if xor == 0 {
				copy(d, s)
				return
			}
			for i, v := range s {
				d[i] = v ^ xor
			}
			return
		}
		for i := range d {
			d[i] = src[srcOff] ^ xor
			srcOff += stride
		}
	})
}

// TransposeTable writes dst[j] = table[src[i]] with dst the transpose of src (used to
// dequantize and change layout in one pass).
func TransposeTable(src []byte, shape, perm []int, dst []float32, table *[256]float32, threads int) {
	if IsIdentityPerm(perm) || TrivialPerm(shape, perm) {
		ParallelChunks(len(src), threads, 1<<15, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				dst[i] = table[src[i]]
			}
		})
		return
	}
	TransposeIter(shape, perm, func(dstOff, srcOff, n, stride int) {
		d := dst[dstOff : dstOff+n]
		for i := range d {
			d[i] = table[src[srcOff]]
			srcOff += stride
		}
	})
}

// ParallelChunks runs f over [0, n) in chunks of at least minChunk elements
// on up to threads threads of the kernels' pool (about four chunks per
// thread, claimed dynamically; the caller runs the ones no worker took), and
// waits for all. f must not start parallel work itself. Fewer than 2·minChunk
// elements, or threads <= 1, run inline.
func ParallelChunks(n, threads, minChunk int, f func(lo, hi int)) {
	if n <= 0 {
		return
	}
	kernels.ParallelRange(n, minChunk, max(threads, 1), f)
}

// Int8Bytes returns the bytes of an int8 or uint8 tensor's data.
func Int8Bytes(t *graph.Tensor) ([]byte, bool) {
	switch d := t.Data.(type) {
	case []uint8:
		return d, true
	case []int8:
		return I8AsBytes(d), true
	}
	return nil, false
}

// I8AsBytes views int8 data as bytes (no copy).
func I8AsBytes(d []int8) []byte {
	if len(d) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(d))), len(d))
}

// BytesAsI8 views bytes as int8 data (no copy).
func BytesAsI8(d []byte) []int8 {
	if len(d) == 0 {
		return nil
	}
	return unsafe.Slice((*int8)(unsafe.Pointer(unsafe.SliceData(d))), len(d))
}
