package kernels

// TanhF32 writes tanh(src[i]) to dst[i]; dst may be src. On the AVX-512 and
// AVX2 paths it is the rational approximation of Eigen and ONNX Runtime's
// MLAS (gen_upsample.go: odd degree-13 over even degree-6 polynomial of x,
// x clamped to ±7.90531; TestTanhF32 bounds its error against float64
// math.Tanh at 4e-7 relative), one division per vector, with NaN kept (the
// tail too, staged in a vector-wide buffer: ActF32); the Go path uses float64
// math.Tanh rounded once.
func TanhF32(dst, src []float32) {
	if len(dst) < len(src) {
		panic("kernels.TanhF32: dst shorter than src")
	}
	ActF32(ActTanh, dst, src)
}
