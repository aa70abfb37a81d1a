//go:build !amd64 || purego || noasm

package kernels

func depthwise3DVNNI(Conv3DShape, []int8, *dwWeights, []int8, *rqParams, int) bool { return false }
