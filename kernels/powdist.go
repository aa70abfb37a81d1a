package kernels

// Pow by a constant exponent and squared row distances on float32
// (twenty-first session; asm_powdist_amd64.s, gen_powdist.go).
//
// PowF32 computes exp(e·log x) in float64 lanes (AVX-512) and rounds once to
// float32: against math.Pow rounded to float32 the result is within 1 ulp,
// and the same bits but where the exact power lies within ~1e-15 (relative)
// of a float32 rounding boundary (TestPowF32MatchesMathPow counts them: none
// in 10⁶ random inputs per exponent). x ≤ 0, ±Inf, NaN and exponents that
// are not finite or exceed 64 in magnitude go through math.Pow. A tail
// shorter than a vector goes through the vector code in a padded buffer, so
// an element's result does not depend on where a tensor is cut.
//
// SqDistF32 is the float64 sum of the squared float32 differences of row
// pairs (torch.cdist's Sub, Pow 2 and ReduceSum fused; ReduceSumSquare and
// ReduceL2 of one operand): each difference is rounded to float32 like the
// Sub it replaces, squared exactly in float64 and summed in float64, the sum
// rounded once to float32 (after its square root for L2). The vector path
// sums in 16 lanes, so the float64 sum differs from a sequential one in its
// last bits; the float32 result is the same but within ~1e-16 of a rounding
// boundary.

import "math"

// powVecMaxExp bounds |e| on the vector path (e·log x stays within ±6700).
const powVecMaxExp = 64

// PowF32 writes float32(math.Pow(float64(src[i]), e)) to dst[i] (within 1
// ulp; see above); dst may be src.
func PowF32(dst, src []float32, e float64) {
	if len(dst) < len(src) {
		panic("kernels: PowF32 destination shorter than source")
	}
	if math.IsNaN(e) || math.Abs(e) > powVecMaxExp {
		powF32Go(dst, src, e)
		return
	}
	// Chunks through stack buffers: dst may be src, and the lanes the vector
	// code cannot take are recomputed from the source.
	const chunk = 256
	var in, out [chunk]float32
	for off := 0; off < len(src); off += chunk {
		c := min(chunk, len(src)-off)
		copy(in[:], src[off:off+c])
		m := (c + 7) &^ 7
		for i := c; i < m; i++ {
			in[i] = 1
		}
		if powAsm(out[:m], in[:m], e) != m {
			powF32Go(dst[off:off+c], in[:c], e)
			continue
		}
		for i, v := range in[:c] {
			if !(v > 0 && v <= math.MaxFloat32) {
				out[i] = float32(math.Pow(float64(v), e))
			}
		}
		copy(dst[off:off+c], out[:c])
	}
}

func powF32Go(dst, src []float32, e float64) {
	for i, v := range src {
		dst[i] = float32(math.Pow(float64(v), e))
	}
}

// SqDistF32 writes, for j < len(dst), the float32 rounding of Σ_i (a[j·as+i] −
// b[j·bs+i])² over i < k, or of its square root when l2: differences rounded
// to float32, squares and sum in float64. as and bs are row strides in floats
// (0 repeats a row); k ≥ 1.
func SqDistF32(dst, a []float32, as int, b []float32, bs, k int, l2 bool) {
	n := len(dst)
	if n == 0 {
		return
	}
	if k < 1 || as < 0 || bs < 0 || len(a) < (n-1)*as+k || len(b) < (n-1)*bs+k {
		panic("kernels: SqDistF32 rows out of range")
	}
	if sqDistAsm(dst, a, as, b, bs, k, l2) {
		return
	}
	sqDistF32Go(dst, a, as, b, bs, k, l2)
}

func sqDistF32Go(dst, a []float32, as int, b []float32, bs, k int, l2 bool) {
	for j := range dst {
		ar, br := a[j*as:][:k], b[j*bs:][:k]
		var s float64
		for i, v := range ar {
			d := float64(v - br[i])
			s += d * d
		}
		if l2 {
			s = math.Sqrt(s)
		}
		dst[j] = float32(s)
	}
}
