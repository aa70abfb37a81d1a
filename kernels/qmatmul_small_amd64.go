//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set qsmall -out ../asm_qsmall_amd64.s -stubs ../stubs_qsmall_amd64.go -pkg kernels"

// smallMatMulOK reports whether the pair kernel runs here (AVX-512F+BW).
func smallMatMulOK() bool { return ew512OK }

// smallMatMulAsm runs the product with the qsmall kernels: A widened in one
// run (m·k values and one more, so that an odd k's last pair can be read as a
// dword; it meets B's zero row), B packed in 16-column blocks, then the pair
// kernel storing n columns of each of the m rows.
func smallMatMulAsm(buf *MatMulScratch, m, n, k int, a []int8, aZP int32, b []int8, bZP int32, out []int32) {
	kp, nb := (k+1)/2, (n+15)/16
	buf.a = grown(buf.a, m*k+1)
	buf.b = grown(buf.b, nb*kp*16)
	_, _, _ = a[m*k-1], b[k*n-1], out[m*n-1]
	cnt := m * k
	smmWidenAVX512(&buf.a[0], &a[0], cnt/32, uint32(1)<<uint(cnt%32)-1, int(aZP))
	smmPackBAVX512(&buf.b[0], &b[0], n, k, int(bZP), nb, tailMask16(n))
	smmI16AVX512(&buf.a[0], k, &buf.b[0], kp, nb, &out[0], n, m, tailMask16(n))
}

// tailMask16 is the mask of the valid columns of the last 16-column block of n.
func tailMask16(n int) uint16 {
	if n%16 == 0 {
		return 0xffff
	}
	return uint16(1)<<uint(n%16) - 1
}
