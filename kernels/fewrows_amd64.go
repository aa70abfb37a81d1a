//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set fewrows -out ../asm_fewrows_amd64.s -stubs ../stubs_fewrows_amd64.go -pkg kernels"

// fewRowsOK reports whether this CPU runs the few-row kernels.
func fewRowsOK() bool { return f32Tile512 || f32Path == isaAVX2 }

// fewRowsPanels computes rows [0, mr) (1 <= mr <= 5) of C (+)= A·B for the
// column panels [p0, p1) of the packed B (bpack: panel p at p*k*16 as
// [k][16]), A read in place (!transA, row stride lda). The reduction runs in
// blocks of sgKC with C accumulated between them, as sgemmBlock does, so each
// element is the 6x16 tile's.
func fewRowsPanels(mr, p0, p1, n, k int, a []float32, lda int, bpack, c []float32, ldc int, accumulate bool) {
	// Bounds checks by slicing: reading c's last element here would race
	// with the worker that owns the last panel.
	_ = a[:(mr-1)*lda+k]
	_ = bpack[:p1*k*sgNR]
	_ = c[:(mr-1)*ldc+n]
	gstride := 4 * k * sgNR
	var tail [5 * sgNR]float32
	for pc := 0; pc < k; pc += sgKC {
		kc := min(sgKC, k-pc)
		acc := b2i(accumulate || pc > 0)
		for p := p0; p < p1; {
			col := p * sgNR
			b := &bpack[(p*k+pc)*sgNR]
			switch {
			case f32Tile512 && p+4 <= p1 && col+4*sgNR <= n:
				fewRows512(mr, 4, kc, &a[pc], lda, b, gstride, &c[col], ldc, acc)
				p += 4
			case col+sgNR <= n:
				fewRows1(mr, kc, &a[pc], lda, b, gstride, &c[col], ldc, acc)
				p++
			default:
				// the last, partial panel: through a scratch tile
				fewRows1(mr, kc, &a[pc], lda, b, gstride, &tail[0], sgNR, 0)
				w := n - col
				for r := 0; r < mr; r++ {
					putRow(c[r*ldc+col:r*ldc+col+w], tail[r*sgNR:r*sgNR+w], acc != 0)
				}
				p++
			}
		}
	}
}

// fewRows1 runs this CPU's mr-row kernel on one 16-column panel.
func fewRows1(mr, k int, a *float32, lda int, b *float32, gstride int, c *float32, ldc, accum int) {
	if f32Tile512 {
		fewRows512(mr, 1, k, a, lda, b, gstride, c, ldc, accum)
		return
	}
	switch mr {
	case 1:
		sgemmFewRowsAVX2_1x16(k, a, lda, b, gstride, c, ldc, accum)
	case 2:
		sgemmFewRowsAVX2_2x16(k, a, lda, b, gstride, c, ldc, accum)
	case 3:
		sgemmFewRowsAVX2_3x16(k, a, lda, b, gstride, c, ldc, accum)
	case 4:
		sgemmFewRowsAVX2_4x16(k, a, lda, b, gstride, c, ldc, accum)
	default:
		sgemmFewRowsAVX2_5x16(k, a, lda, b, gstride, c, ldc, accum)
	}
}

// fewRows512 runs the AVX-512 mr-row kernel on ng (4 or 1) panels.
func fewRows512(mr, ng, k int, a *float32, lda int, b *float32, gstride int, c *float32, ldc, accum int) {
	if ng == 4 {
		switch mr {
		case 1:
			sgemmFewRowsAVX512_1x64(k, a, lda, b, gstride, c, ldc, accum)
		case 2:
			sgemmFewRowsAVX512_2x64(k, a, lda, b, gstride, c, ldc, accum)
		case 3:
			sgemmFewRowsAVX512_3x64(k, a, lda, b, gstride, c, ldc, accum)
		case 4:
			sgemmFewRowsAVX512_4x64(k, a, lda, b, gstride, c, ldc, accum)
		default:
			sgemmFewRowsAVX512_5x64(k, a, lda, b, gstride, c, ldc, accum)
		}
		return
	}
	switch mr {
	case 1:
		sgemmFewRowsAVX512_1x16(k, a, lda, b, gstride, c, ldc, accum)
	case 2:
		sgemmFewRowsAVX512_2x16(k, a, lda, b, gstride, c, ldc, accum)
	case 3:
		sgemmFewRowsAVX512_3x16(k, a, lda, b, gstride, c, ldc, accum)
	case 4:
		sgemmFewRowsAVX512_4x16(k, a, lda, b, gstride, c, ldc, accum)
	default:
		sgemmFewRowsAVX512_5x16(k, a, lda, b, gstride, c, ldc, accum)
	}
}

// dequantRowVec runs DequantRowI32 on the leading multiple of 8 elements and
// returns how many it did.
func dequantRowVec(dst []float32, acc, sum []int32, ws []float32, s float32, zp int32, add bool) int {
	v := len(dst) &^ 7
	if simdPath == isaGo || v == 0 {
		return 0
	}
	_, _, _ = acc[v-1], sum[v-1], ws[v-1]
	if add {
		dequantAddI32AVX2(&dst[0], &acc[0], &sum[0], &ws[0], v, s, zp)
	} else {
		dequantSetI32AVX2(&dst[0], &acc[0], &sum[0], &ws[0], v, s, zp)
	}
	return v
}
