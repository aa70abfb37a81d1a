//go:build !amd64 || purego || noasm

package kernels

func amxFits(int, *QGemmWeights) bool { return false }

func qgemmAMX(int, qA, *QGemmWeights, *qOut, int) { panic("kernels: no AMX kernels in this build") }

func amxPermitted() bool { return false }

func convAMXRows(ConvShape, []int8, *QGemmWeights, []int8, *rqParams, int) {
	panic("kernels: no AMX kernels in this build")
}

func convAMXS2D(ConvShape, []int8, *QGemmWeights, []int8, *rqParams, int) {
	panic("kernels: no AMX kernels in this build")
}
