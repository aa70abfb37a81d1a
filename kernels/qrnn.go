package kernels

import "fmt"

// The per-step kernels of the recurrent operators (runtime/op_rnn.go,
// op_dynlstm.go, op_qrnn.go). At hidden 48-96 and batch 1-2 a time step is a
// few hundred multiply-adds and a few hundred activations, so the cost of a
// step was the number of calls it made (a dozen: range scan, quantize, one
// micro-kernel call per two weight panels with a copy out of the tile, one
// dequantization per batch row, three activation calls and two loops per
// row, a copy into Y) rather than the arithmetic (seventeenth session). The
// int8 recurrent product now runs over all gate columns in one call
// (QGemvDequant, the unfused path's bits) and the cell in one call per row
// (LSTMCellF32, GRUCellF32, within a few ulps of the unfused cell).

// QGemvWeights is an int8 matrix [n, k] (any int8 values: the symmetric
// [-127, 127] or the full range with -128, as PyTorch's per-channel qint8
// writes it) packed for QGemvDequant: [k4][cols][4] with k4 = ⌈k/4⌉ and cols = n rounded
// up to 16, so that one step of 4 along k reads the weights of every output
// column contiguously, zero-padded.
type QGemvWeights struct {
	n, k, k4, cols int
	data           []int8
	sum            []int32 // Σ_k w[c, k], the correction for the activations' zero point
}

// PackQGemv packs the row-major int8 matrix w [n, k] for QGemvDequant. A
// weight of -128 is exact on both paths: the VNNI kernel's VPDPBUSD adds its
// four u8·s8 products (at most 255·128 each in magnitude) into int32 without
// an int16 step, and the Go path multiplies in int32.
func PackQGemv(n, k int, w []int8) (*QGemvWeights, error) {
	if n <= 0 || k <= 0 {
		return nil, fmt.Errorf("kernels.PackQGemv: bad shape n=%d k=%d", n, k)
	}
	if len(w) < n*k {
		return nil, fmt.Errorf("kernels.PackQGemv: weights have %d values, want %d", len(w), n*k)
	}
	k4, cols := (k+3)/4, (n+15)&^15
	p := &QGemvWeights{n: n, k: k, k4: k4, cols: cols, data: make([]int8, k4*cols*4), sum: make([]int32, n)}
	for c := 0; c < n; c++ {
		for kk, v := range w[c*k : (c+1)*k] {
			p.data[(kk/4*cols+c)*4+kk%4] = v
			p.sum[c] += int32(v)
		}
	}
	return p, nil
}

// N and K are the matrix's shape; Sum the row sums Σ_k w[c, k].
func (w *QGemvWeights) N() int       { return w.n }
func (w *QGemvWeights) K() int       { return w.k }
func (w *QGemvWeights) Sum() []int32 { return w.sum }

// QGemvFast reports whether QGemvDequant has a vector kernel on this CPU
// (AVX-512 VNNI). Without one the callers keep the packed GEMM path
// (QGemmInt32Few and DequantRowI32, AVX2 or Go), which gives the same
// numbers: QGemvDequant's Go path is the reference of the tests.
func QGemvFast() bool { return qgemvAsmOK() }

// QGemvDequant computes, for r < rows and c < n = w.N(),
//
//	dst[r·ldd + c] (+)= float32(acc − zp·sum[c]) · (s·ws[c]),  acc = Σ_k q[r·ldq + k]·w[c, k]
//
// (set, or added when add is set): the recurrent product of int8 codes q
// with zero point zp (in [-128, 127]) and scale s, dequantized with the
// weights' per-row scales ws, with DequantRowI32's roundings. Each row of q
// must hold ⌈k/4⌉·4 readable bytes (the codes past k multiply zero weights).
func QGemvDequant(dst []float32, ldd int, q []int8, ldq, rows int, w *QGemvWeights, ws []float32, s float32, zp int32, add bool) {
	if rows <= 0 {
		return
	}
	n, kq := w.n, w.k4*4
	if ldd < n || ldq < w.k || len(ws) < n || zp < -128 || zp > 127 {
		panic(fmt.Sprintf("kernels.QGemvDequant: ldd %d, ldq %d, %d scales, zp %d for a [%d, %d] matrix", ldd, ldq, len(ws), zp, n, w.k))
	}
	_ = dst[(rows-1)*ldd+n-1]
	_ = q[(rows-1)*ldq+kq-1]
	if qgemvAsmOK() {
		for r0 := 0; r0 < rows; r0 += 4 {
			qgemvAsm(min(4, rows-r0), &dst[r0*ldd], ldd, &q[r0*ldq], ldq, w, ws, s, zp+128, add)
		}
		return
	}
	qgemvGo(dst, ldd, q, ldq, rows, w, ws, s, zp, add)
}

// qgemvGo is QGemvDequant in Go: the integer products, then dequantRowGo.
func qgemvGo(dst []float32, ldd int, q []int8, ldq, rows int, w *QGemvWeights, ws []float32, s float32, zp int32, add bool) {
	acc := make([]int32, w.n)
	for r := 0; r < rows; r++ {
		clear(acc)
		qr := q[r*ldq:]
		for kk := 0; kk < w.k; kk++ {
			x := int32(qr[kk])
			row := w.data[(kk/4*w.cols)*4+kk%4:]
			for c := range acc {
				acc[c] += x * int32(row[c*4])
			}
		}
		dequantRowGo(dst[r*ldd:r*ldd+w.n], acc, w.sum, ws, s, zp, add)
	}
}

// LSTMCellF32 updates one batch row of an LSTM with the default activations
// (no peepholes, clip or coupled input gate): with the gate pre-activations
// (X·Wᵀ + H·Rᵀ + biases) i, o, f, g at pre[0:], pre[gs:], pre[2gs:], pre[3gs:]
// (n = len(c) values each),
//
//	c = σ(f)·c + σ(i)·tanh(g),  h = y = σ(o)·tanh(c)
//
// with one float32 rounding per product and sum. The vector kernels compute
// ActF32's Sigmoid and Tanh with the division replaced by a reciprocal
// estimate and one Newton step (the divider was most of a cell's time):
// within 8e-7 (relative, measured up to 3.4e-7) of the unfused cell (ActF32 on the gate blocks, then the
// update, which the Go path runs), TestLSTMCellF32. pre may be overwritten.
func LSTMCellF32(pre []float32, gs int, c, h, y []float32) {
	n := len(c)
	if n == 0 {
		return
	}
	if gs < n {
		panic(fmt.Sprintf("kernels.LSTMCellF32: gate stride %d < %d", gs, n))
	}
	_, _, _ = pre[3*gs+n-1], h[n-1], y[n-1]
	done := 0
	if w := cellLanes(); w > 0 {
		done = n &^ (w - 1)
		if done > 0 {
			lstmCellAsm(pre, gs, c, h, y, done)
		}
		if rest := n - done; rest > 0 {
			// The tail through the same kernel on padded copies, as
			// ActF32 does.
			var pb [4 * 16]float32
			var cb, hb [16]float32
			for g := 0; g < 4; g++ {
				copy(pb[g*16:], pre[g*gs+done:g*gs+n])
			}
			copy(cb[:], c[done:n])
			lstmCellAsm(pb[:], 16, cb[:], hb[:], hb[:], w)
			copy(c[done:n], cb[:rest])
			copy(h[done:n], hb[:rest])
			copy(y[done:n], hb[:rest])
			return
		}
		return
	}
	lstmCellGo(pre, gs, c, h, y)
}

// lstmCellGo is LSTMCellF32 without vector kernels: the runtime's unfused
// cell (ActF32 on the gate blocks in place, then the state update).
func lstmCellGo(pre []float32, gs int, c, h, y []float32) {
	n := len(c)
	for g := 0; g < 3; g++ {
		ActF32(ActSigmoid, pre[g*gs:g*gs+n], pre[g*gs:g*gs+n])
	}
	ActF32(ActTanh, pre[3*gs:3*gs+n], pre[3*gs:3*gs+n])
	it, ot, ft, gt := pre[:n], pre[gs:gs+n], pre[2*gs:2*gs+n], pre[3*gs:3*gs+n]
	for j := range c {
		c[j] = float32(ft[j]*c[j]) + float32(it[j]*gt[j])
	}
	ActF32(ActTanh, h[:n], c)
	for j := range h[:n] {
		h[j] = ot[j] * h[j]
		y[j] = h[j]
	}
}

// GRUCellF32 updates one batch row of a GRU with linear_before_reset and
// the default activations (no clip): with the input projections (biases
// folded in) z, r, n at xg[0:], xg[gs:], xg[2gs:], the recurrent products at
// hg likewise and the h block's recurrent bias rbh (zeros when the operator
// has none),
//
//	z = σ(xz + hz), r = σ(xr + hr), t = tanh(xn + r·(hn + rbh)), h = y = (1 − z)·t + z·h
//
// with one float32 rounding per operation; the vector kernels' Sigmoid and
// Tanh as LSTMCellF32's (TestGRUCellF32).
// xg may be overwritten.
func GRUCellF32(xg, hg []float32, gs int, rbh, h, y []float32) {
	n := len(h)
	if n == 0 {
		return
	}
	if gs < n {
		panic(fmt.Sprintf("kernels.GRUCellF32: gate stride %d < %d", gs, n))
	}
	_, _, _, _ = xg[2*gs+n-1], hg[2*gs+n-1], rbh[n-1], y[n-1]
	done := 0
	if w := cellLanes(); w > 0 {
		done = n &^ (w - 1)
		if done > 0 {
			gruCellAsm(xg, hg, gs, rbh, h, y, done)
		}
		if rest := n - done; rest > 0 {
			var xb, hb [3 * 16]float32
			var rb, sb [16]float32
			for g := 0; g < 3; g++ {
				copy(xb[g*16:], xg[g*gs+done:g*gs+n])
				copy(hb[g*16:], hg[g*gs+done:g*gs+n])
			}
			copy(rb[:], rbh[done:n])
			copy(sb[:], h[done:n])
			gruCellAsm(xb[:], hb[:], 16, rb[:], sb[:], sb[:], w)
			copy(h[done:n], sb[:rest])
			copy(y[done:n], sb[:rest])
		}
		return
	}
	gruCellGo(xg, hg, gs, rbh, h, y)
}

// gruCellGo is GRUCellF32 without vector kernels: the runtime's unfused cell.
func gruCellGo(xg, hg []float32, gs int, rbh, h, y []float32) {
	n := len(h)
	for j := 0; j < n; j++ {
		xg[j] += hg[j]
		xg[gs+j] += hg[gs+j]
	}
	ActF32(ActSigmoid, xg[:n], xg[:n])
	ActF32(ActSigmoid, xg[gs:gs+n], xg[gs:gs+n])
	z, r, t := xg[:n], xg[gs:gs+n], xg[2*gs:2*gs+n]
	for j := range t {
		t[j] = t[j] + float32(r[j]*float32(hg[2*gs+j]+rbh[j]))
	}
	ActF32(ActTanh, t, t)
	for j := range h[:n] {
		h[j] = float32(float32(1-z[j])*t[j]) + float32(z[j]*h[j])
		y[j] = h[j]
	}
}
