//go:build !amd64 || purego || noasm

package kernels

func minMaxF32Vec([]float32) (float32, float32, int) { return 0, 0, 0 }

func fakeQuantF32Vec(_, _ []float32, _ float32, _ int32) int { return 0 }

func steAddF32Vec(_, _, _ []float32, _, _ float32) int { return 0 }

func addF32Vec(_, _ []float32) int { return 0 }

func steSetF32Vec(_, _, _ []float32, _, _ float32) int { return 0 }

func fakeQuantReluF32Vec(_, _ []float32, _ float32, _ int32) int { return 0 }

const rowsAsm = false

func rowsCopyF32AVX2(*float32, int, *float32, int, int, int)                                 {}
func rowsBiasF32AVX2(*float32, int, *float32, int, int, int, float32)                        {}
func rowsAddF32AVX2(*float32, int, *float32, int, int, int)                                  {}
func rowsSTESetF32AVX2(*float32, int, *float32, int, int, int, *float32, float32, float32)   {}
func rowsFakeQuantF32AVX2(*float32, int, *float32, int, int, int, float32, float32, float32) {}
func rowsFakeQuantReluF32AVX2(*float32, int, *float32, int, int, int, float32, float32, float32) {
}
func rowsSTEAccSetF32AVX2(*float32, int, *float32, int, int, int, *float32, *float32, float32, float32) {
}

func sumF32AVX2(*float32, *float32, *float32, int) {}
