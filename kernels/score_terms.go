package kernels

import (
	"fmt"
	"math"
)

// Elementwise steps between the attention scores and their softmax, applied
// to each row in the softmax's row pass (sixteenth session): bias Adds (a
// relative position bias, an additive padding mask, Swin's window mask) and
// Where selects (torch's masked_fill and HF's torch.where causal and padding
// masks, Where(cond, −inf or finfo.min, scores)). Before, a mask written as a
// Where was a pass of its own over the whole score tensor, and the fused
// attention refused it.

// ScoreTerm is one such step. Row r of the scores takes the row of Vals (and
// Keep) starting at Row[r]. With Keep nil the step adds Vals to the row; with
// Keep set it computes (row AND Keep) + Vals element by element, Keep all
// ones or zero: where Keep is all ones Vals is 0 and the score is kept (a
// −0 becomes +0, the same for the softmax), where it is zero the score, NaN
// or not, is replaced by Vals (the Where's constant). So the select equals
// the Where exactly, not only for fills that swallow the score in an Add.
type ScoreTerm struct {
	Vals []float32
	Keep []uint32
	Row  []int32
}

// SelectTerm returns the Keep and Vals rows of Where(cond, x, fill) (keepIf
// true) or Where(cond, fill, x) (keepIf false) for a condition cond.
func SelectTerm(cond []bool, keepIf bool, fill float32, keep []uint32, vals []float32) {
	if len(keep) < len(cond) || len(vals) < len(cond) {
		panic(fmt.Sprintf("kernels.SelectTerm: %d conditions, keep %d, vals %d", len(cond), len(keep), len(vals)))
	}
	for i, c := range cond {
		if c == keepIf {
			keep[i], vals[i] = math.MaxUint32, 0
		} else {
			keep[i], vals[i] = 0, fill
		}
	}
}

// checkScoreTerms panics unless every term has the score rows [lo, hi) and
// each of those rows of n values fits its Vals (and Keep).
func checkScoreTerms(fn string, terms []ScoreTerm, lo, hi, n int) {
	for t, st := range terms {
		if len(st.Row) < hi || st.Keep != nil && len(st.Keep) < len(st.Vals) {
			panic(fmt.Sprintf("%s: term %d has %d rows for %d (keep %d, values %d)", fn, t, len(st.Row), hi, len(st.Keep), len(st.Vals)))
		}
		for _, o := range st.Row[lo:hi] {
			if o < 0 || int(o)+n > len(st.Vals) {
				panic(fmt.Sprintf("%s: term %d row at %d past %d", fn, t, o, len(st.Vals)))
			}
		}
	}
}

// applyScoreTerms applies the terms' row r to src, writing dst (dst may be
// src; with no terms dst is left alone and src is returned).
func applyScoreTerms(dst, src []float32, terms []ScoreTerm, r int) []float32 {
	n := len(src)
	for _, st := range terms {
		o := int(st.Row[r])
		v := st.Vals[o : o+n]
		if st.Keep == nil {
			done := rowAddAsm(dst[:n], src, v)
			for i := done; i < n; i++ {
				dst[i] = src[i] + v[i]
			}
		} else {
			k := st.Keep[o : o+n]
			done := rowSelectAsm(dst[:n], src, k, v)
			for i := done; i < n; i++ {
				dst[i] = math.Float32frombits(math.Float32bits(src[i])&k[i]) + v[i]
			}
		}
		src = dst[:n]
	}
	return src
}

// SoftmaxTermsRowF32 writes to dst the softmax of row r of src after the
// terms, in order (dst may be src). With one Add term it is
// SoftmaxAddRowF32, with two SoftmaxAdd2RowF32, bit for bit.
func SoftmaxTermsRowF32(dst, src []float32, terms []ScoreTerm, r int) {
	n := len(src)
	if len(dst) < n {
		panic(fmt.Sprintf("kernels.SoftmaxTermsRowF32: dst %d < src %d", len(dst), n))
	}
	checkScoreTerms("kernels.SoftmaxTermsRowF32", terms, r, r+1, n)
	SoftmaxRowF32(dst[:n], applyScoreTerms(dst, src, terms, r))
}
