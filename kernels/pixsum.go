package kernels

// pixChunk is the most channels AddPixelsF64 sums in one pass.
const pixChunk = 1024

// AddPixelsF64 adds to acc[c] the sum over n pixels of x[p*stride+c] (the
// global average pool of a channels-last tensor). Blocks of 256 pixels are
// summed in float32 by the AVX-512 kernel and added in float64, so the result
// stays within a few float32 ulp of an all-float64 sum; other paths sum in
// float64.
func AddPixelsF64(acc []float64, x []float32, n, stride int) {
	c := len(acc)
	if n <= 0 || c == 0 {
		return
	}
	if stride < c || len(x) < (n-1)*stride+c {
		panic("kernels.AddPixelsF64: x too short or stride below the channels")
	}
	var tmp [pixChunk]float32
	// More channels than tmp holds go in blocks of pixChunk (a multiple of
	// every vector width, so each channel takes the path it would take in a
	// block of its own): ResNet's 2048 channels took the scalar float64
	// loop (thirteenth session).
	if c > len(tmp) {
		for c0 := 0; c0 < c; c0 += len(tmp) {
			AddPixelsF64(acc[c0:min(c, c0+len(tmp))], x[c0:], n, stride)
		}
		return
	}
	done := 0
	if c >= 16 {
		for p0 := 0; p0 < n; p0 += 256 {
			np := min(256, n-p0)
			done = sumPixelsWide(tmp[:c], x[p0*stride:], np, stride)
			for i := 0; i < done; i++ {
				acc[i] += float64(tmp[i])
			}
		}
	}
	for p := 0; p < n; p++ {
		for i, v := range x[p*stride+done : p*stride+c] {
			acc[done+i] += float64(v)
		}
	}
}

// AddSqDevPixelsF64 adds to acc[c] the sum over n pixels of (x[p*stride+c] −
// mu[c])² (the second moment of a channels-last map about per-channel
// centres: a group normalisation's variance). As AddPixelsF64: blocks of 256
// pixels in float32 on the AVX-512 kernel, added in float64; other paths in
// float64.
func AddSqDevPixelsF64(acc []float64, x, mu []float32, n, stride int) {
	c := len(acc)
	if n <= 0 || c == 0 {
		return
	}
	if stride < c || len(mu) < c || len(x) < (n-1)*stride+c {
		panic("kernels.AddSqDevPixelsF64: x or mu too short or stride below the channels")
	}
	var tmp [pixChunk]float32
	if c > len(tmp) {
		for c0 := 0; c0 < c; c0 += len(tmp) {
			c1 := min(c, c0+len(tmp))
			AddSqDevPixelsF64(acc[c0:c1], x[c0:], mu[c0:c1], n, stride)
		}
		return
	}
	done := 0
	if c >= 16 {
		for p0 := 0; p0 < n; p0 += 256 {
			np := min(256, n-p0)
			done = sqDevPixelsWide(tmp[:c], x[p0*stride:], mu, np, stride)
			for i := 0; i < done; i++ {
				acc[i] += float64(tmp[i])
			}
		}
	}
	for p := 0; p < n; p++ {
		for i, v := range x[p*stride+done : p*stride+c] {
			d := float64(v - mu[done+i])
			acc[done+i] += d * d
		}
	}
}
