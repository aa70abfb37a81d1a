//go:build !amd64 || purego || noasm

package kernels

func qrowStats(src []int8) (s, s2 int64) { return qrowStatsGo(src) }

func qrowNormVec(dst, src []int8, gamma, beta []float32, m, a, yScale float32, yZP int32) int {
	return 0
}

func qrowExpSumVec(dst []float32, src []int8, exp *[256]float32, m int32) (float32, int) {
	return 0, 0
}

func qrowScaleQuantVec(dst []int8, src []float32, c, yScale float32, yZP int32) int { return 0 }

func qrowMaxI8(src []int8) int32 { return qrowMaxI8Go(src) }
