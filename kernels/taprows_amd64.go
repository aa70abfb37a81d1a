//go:build amd64 && !purego && !noasm

package kernels

// tapRowsAsm reports whether SgemmTapRowsF32 runs its AVX-512 tiles.
func tapRowsAsm() bool { return f32Path != isaGo && f32Tile512 }

// tapRowsTile runs sgemmTapsAVX512_{mr}x{16·np} on C += the block (bounds
// checked by SgemmTapRowsF32).
func tapRowsTile(mr, np, kc int, x []float32, off *[sgMR]int64, b []float32, bs int, c []float32, ldc int) {
	_ = b[(np-1)*bs+kc*sgNR-1]
	_ = c[(mr-1)*ldc+np*sgNR-1]
	if np == 2 {
		switch mr {
		case 1:
			sgemmTapsAVX512_1x32(kc, &x[0], &off[0], &b[0], bs, &c[0], ldc, 1)
		case 2:
			sgemmTapsAVX512_2x32(kc, &x[0], &off[0], &b[0], bs, &c[0], ldc, 1)
		case 3:
			sgemmTapsAVX512_3x32(kc, &x[0], &off[0], &b[0], bs, &c[0], ldc, 1)
		case 4:
			sgemmTapsAVX512_4x32(kc, &x[0], &off[0], &b[0], bs, &c[0], ldc, 1)
		case 5:
			sgemmTapsAVX512_5x32(kc, &x[0], &off[0], &b[0], bs, &c[0], ldc, 1)
		default:
			sgemmTapsAVX512_6x32(kc, &x[0], &off[0], &b[0], bs, &c[0], ldc, 1)
		}
		return
	}
	switch mr {
	case 1:
		sgemmTapsAVX512_1x16(kc, &x[0], &off[0], &b[0], bs, &c[0], ldc, 1)
	case 2:
		sgemmTapsAVX512_2x16(kc, &x[0], &off[0], &b[0], bs, &c[0], ldc, 1)
	case 3:
		sgemmTapsAVX512_3x16(kc, &x[0], &off[0], &b[0], bs, &c[0], ldc, 1)
	case 4:
		sgemmTapsAVX512_4x16(kc, &x[0], &off[0], &b[0], bs, &c[0], ldc, 1)
	case 5:
		sgemmTapsAVX512_5x16(kc, &x[0], &off[0], &b[0], bs, &c[0], ldc, 1)
	default:
		sgemmTapsAVX512_6x16(kc, &x[0], &off[0], &b[0], bs, &c[0], ldc, 1)
	}
}
