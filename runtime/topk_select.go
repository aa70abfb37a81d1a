package runtime

import "slices"

// TopK by selection. Detectors take the top 1000 of every anchor × class score
// of a level (RetinaNet at 320²: 838,656 of them at the first level), so sorting
// the whole line costs 30 times the rest of the post-processing. A heap of the k
// best seen so far, whose root is the worst of them, rejects almost every value
// with one comparison; only the k kept are sorted.
//
// The order is ONNX's: larger (smaller, for largest=0) values first, equal values
// by lower index. With no NaN that order is total, so the selection gives exactly
// what a stable sort of the line gives. NaN has no place in it (the stable sort's
// result then depends on the sort algorithm): a line holding one is left to the
// sorting path, unchanged.

// topkSelect writes the positions of the k best values of the line
// x[base+j*inner], j < n, into sel[:k], best first. It reports false, with sel
// unspecified, when the line holds a NaN.
func topkSelect[T number](x []T, base, n, inner, k int, largest bool, sel []int32) bool {
	h := sel[:k]
	for j := range h {
		v := x[base+j*inner]
		if v != v {
			return false
		}
		h[j] = int32(j)
	}
	for i := k/2 - 1; i >= 0; i-- {
		topkSiftDown(x, base, inner, largest, h, i)
	}
	if k == 0 {
		for j := 0; j < n; j++ {
			if v := x[base+j*inner]; v != v {
				return false
			}
		}
		return true
	}
	root := x[base+int(h[0])*inner]
	// A later position loses every tie with the kept ones, so only a strictly
	// better value enters.
	if largest {
		for j := k; j < n; j++ {
			v := x[base+j*inner]
			if !(v > root) {
				if v != v {
					return false
				}
				continue
			}
			h[0] = int32(j)
			topkSiftDown(x, base, inner, true, h, 0)
			root = x[base+int(h[0])*inner]
		}
	} else {
		for j := k; j < n; j++ {
			v := x[base+j*inner]
			if !(v < root) {
				if v != v {
					return false
				}
				continue
			}
			h[0] = int32(j)
			topkSiftDown(x, base, inner, false, h, 0)
			root = x[base+int(h[0])*inner]
		}
	}
	slices.SortFunc(h, func(a, b int32) int {
		if topkWorse(x, base, inner, largest, a, b) {
			return 1
		}
		return -1 // positions are distinct: the order is total
	})
	return true
}

// topkWorse reports whether position a ranks after position b.
func topkWorse[T number](x []T, base, inner int, largest bool, a, b int32) bool {
	va, vb := x[base+int(a)*inner], x[base+int(b)*inner]
	if va != vb {
		if largest {
			return va < vb
		}
		return va > vb
	}
	return a > b
}

// topkSiftDown restores the heap below i: every parent ranks after its children,
// so the root is the worst position kept.
func topkSiftDown[T number](x []T, base, inner int, largest bool, h []int32, i int) {
	for {
		c := 2*i + 1
		if c >= len(h) {
			return
		}
		if r := c + 1; r < len(h) && topkWorse(x, base, inner, largest, h[r], h[c]) {
			c = r
		}
		if !topkWorse(x, base, inner, largest, h[c], h[i]) {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}
