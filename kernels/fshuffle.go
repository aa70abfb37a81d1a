package kernels

import "fmt"

// InterleavePairsF32 is the float32 channel shuffle of two groups
// (ShuffleNet) on channels-last pixels: for each of n pixels,
// y[p·sy + 2j] = a[p·sa + j] and y[p·sy + 2j + 1] = b[p·sb + j] for j < h,
// then y[p·sy + 2h ... p·sy + w) = 0 (the output's channel padding; w ≥ 2h).
// Nothing else is read or written, so callers may split the pixels across
// threads. On AVX-512 it runs interleavePairsF32AVX512 when the padding
// fits the kernel's last 32-float run (w − 32·⌊h/16⌋ ≤ 32: every pixel
// stride the executor pads to); otherwise, and without AVX-512, Go.
func InterleavePairsF32(y []float32, sy, w int, a []float32, sa int, b []float32, sb int, h, n int) {
	if n <= 0 || w <= 0 {
		return
	}
	if h < 0 || w < 2*h || len(y) < (n-1)*sy+w || len(a) < (n-1)*sa+h || len(b) < (n-1)*sb+h {
		panic(fmt.Sprintf("kernels.InterleavePairsF32: buffers too small or w %d < 2·%d for %d pixels", w, h, n))
	}
	if h > 0 && interleavePairsF32Vec(y, sy, w, a, sa, b, sb, h, n) {
		return
	}
	interleavePairsF32Go(y, sy, w, a, sa, b, sb, h, n)
}

func interleavePairsF32Go(y []float32, sy, w int, a []float32, sa int, b []float32, sb int, h, n int) {
	for p := 0; p < n; p++ {
		yp := y[p*sy : p*sy+w]
		if h > 0 {
			ap, bp := a[p*sa:p*sa+h], b[p*sb:p*sb+h]
			for j, v := range ap {
				yp[2*j], yp[2*j+1] = v, bp[j]
			}
		}
		clear(yp[2*h:])
	}
}
