package kernels

import "fmt"

// InterleavePairsI8 interleaves two runs of h bytes per pixel, for n pixels:
// y[p·sy + 2j] = a[p·sa + j] and y[p·sy + 2j + 1] = b[p·sb + j] for j < h.
// It is the int8 channel shuffle of two groups (ShuffleNet): each output
// pixel takes its channels alternately from the two halves of the
// concatenated input. Nothing outside these bytes is read or written, so
// callers may split the pixels across threads.
func InterleavePairsI8(y []int8, sy int, a []int8, sa int, b []int8, sb int, h, n int) {
	if n <= 0 || h <= 0 {
		return
	}
	if len(y) < (n-1)*sy+2*h || len(a) < (n-1)*sa+h || len(b) < (n-1)*sb+h {
		panic(fmt.Sprintf("kernels.InterleavePairsI8: buffers too small for %d pixels of %d pairs", n, h))
	}
	if interleavePairsVec(y, sy, a, sa, b, sb, h, n) {
		return
	}
	interleavePairsGo(y, sy, a, sa, b, sb, h, n)
}

func interleavePairsGo(y []int8, sy int, a []int8, sa int, b []int8, sb int, h, n int) {
	for p := 0; p < n; p++ {
		yp, ap, bp := y[p*sy:p*sy+2*h], a[p*sa:p*sa+h], b[p*sb:p*sb+h]
		for j, v := range ap {
			yp[2*j], yp[2*j+1] = v, bp[j]
		}
	}
}
