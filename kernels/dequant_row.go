package kernels

// DequantRowI32 turns the int32 products of an int8 GEMM row back to float32:
// dst[i] = float32(acc[i] - zp·sum[i]) · (s·ws[i]), added to dst[i] when add is
// set, for i < len(dst). sum holds the weights' row sums Σ_k w[i,k] (the
// correction for an activation zero point zp that the packing did not fold in),
// ws the weights' per-channel scales, s the activation scale. The int8
// recurrent steps (runtime/op_dynlstm.go, op_qrnn.go) call it once per time
// step on each gate row: a scalar loop there was a fifth of a dynamically
// quantized BiLSTM's run (sixteenth session).
func DequantRowI32(dst []float32, acc, sum []int32, ws []float32, s float32, zp int32, add bool) {
	n := len(dst)
	acc, sum, ws = acc[:n], sum[:n], ws[:n]
	v := dequantRowVec(dst, acc, sum, ws, s, zp, add)
	dequantRowGo(dst[v:], acc[v:], sum[v:], ws[v:], s, zp, add)
}

// dequantRowGo is the reference: one rounding per operation, in the vector
// kernel's order (the explicit conversions keep the compiler from fusing).
func dequantRowGo(dst []float32, acc, sum []int32, ws []float32, s float32, zp int32, add bool) {
	for i := range dst {
		t := float32(s * ws[i])
		v := float32(float32(acc[i]-zp*sum[i]) * t)
		if add {
			v = dst[i] + v
		}
		dst[i] = v
	}
}
