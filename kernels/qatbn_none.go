//go:build !amd64 || purego || noasm

package kernels

func bnStatsF32Vec(_, _ []float32, _, _ float32, _ *BNLanes) int { return 0 }

func bnNormF32Vec(_, _ []float32, _, _, _, _ float32) int { return 0 }

func bnGradSumsF32Vec(_, _ []float32, _ *BNLanes) int { return 0 }

func bnGradInputF32Vec(_, _, _, _ []float32, _, _, _, _ float32, _ *BNLanes) int { return 0 }

func tapsF32Vec(_, _ []float32, _ []int, _ []float32) int { return 0 }

func tapsDotF32Vec(_, _ []float32, _ []int, _ []float32) int { return 0 }
