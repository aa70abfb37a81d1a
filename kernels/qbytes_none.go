//go:build !amd64 || purego || noasm

package kernels

func interleavePairsVec(y []int8, sy int, a []int8, sa int, b []int8, sb int, h, n int) bool {
	return false
}

func maxPixelsVec(dst, src []int8, c, ntaps, tstride, pstride, n int) bool { return false }

func copyPixelsVec(dst []int8, dstride int, src []int8, sstride, c, w, n int) bool { return false }
