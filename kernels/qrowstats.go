package kernels

// RowStatsI8 returns the sum and the sum of squares of a row of int8 codes
// (the statistics of QInstanceNormRowI8, for the int8 group normalisation of
// the runtime's normalization regions).
func RowStatsI8(src []int8) (sum, sumSq int64) { return qrowStats(src) }
