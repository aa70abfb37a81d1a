//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set qshuffle -out ../asm_qshuffle_amd64.s -stubs ../stubs_qshuffle_amd64.go -pkg kernels"

import "github.com/klauspost/cpuid/v2"

// interleavePairsVec runs interleavePairsAVX512 (AVX-512 F, BW and VL for
// the masked tail) and reports whether it did.
func interleavePairsVec(y []int8, sy int, a []int8, sa int, b []int8, sb int, h, n int) bool {
	if simdPath == isaGo || !cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL) {
		return false
	}
	t := h % 16
	interleavePairsAVX512(&y[0], sy, &a[0], sa, &b[0], sb, h/16, uint16(1<<t-1), uint32(1<<(2*t)-1), n)
	return true
}
