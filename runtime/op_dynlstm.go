package runtime

// DynamicQuantizeLSTM (com.microsoft): the LSTM of ONNX Runtime's quantize_dynamic. The
// weights are int8 constants, symmetric per output channel (or per direction); at run
// time the input of every time step and the hidden state before every step are
// quantized per tensor with DynamicQuantizeLinear's uint8 parameters (held as int8 with
// the zero point shifted by 128, the same values), the projections accumulate in int32
// on the packed int8 GEMM kernels, and the result is dequantized with
// x_scale·w_scale[channel]. The gates (sigmoid, tanh) and the cell state stay float32:
// they are op_rnn.go's LSTM cell, which this file feeds through rnnProjector.

import (
	"fmt"
	"math"
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// rnnProjector computes the two projections of a recurrent operator in place of the
// float32 GEMMs over W and R.
type rnnProjector interface {
	// check validates the data input X (its type and feature size) against the
	// weights.
	check(x *graph.Tensor) error
	// input writes X·W^T of direction d for every time step: x is [seq*batch, inSize],
	// xw is [seq*batch, gates*hidden].
	input(d int, x *graph.Tensor, seq, batch int, xw []float32, sc *rnnProjScratch, threads int)
	// recurrent writes H·R^T of direction d to out, or adds it to out when add is
	// set: h is [batch, hidden], out [batch, gates*hidden].
	recurrent(d int, h []float32, batch int, out []float32, add bool, sc *rnnProjScratch)
}

// rnnProjScratch holds a recurrent kernel's buffers for one run (from the
// kernel's pool: the steps of a run reuse them instead of allocating): the
// int8 projector's codes and products, the float32 step rows of a GRU and a
// row of zeros.
type rnnProjScratch struct {
	q    []int8
	acc  []int32
	f    []float32
	zero []float32
}

// floats returns a float32 buffer of n elements (contents undefined).
func (sc *rnnProjScratch) floats(n int) []float32 {
	if cap(sc.f) < n {
		sc.f = make([]float32, n)
	}
	return sc.f[:n]
}

// zeros returns n zeros (never written by the callers).
func (sc *rnnProjScratch) zeros(n int) []float32 {
	if len(sc.zero) < n {
		sc.zero = make([]float32, n)
	}
	return sc.zero[:n]
}

// buffers returns q and acc of at least nq and nacc elements.
func (sc *rnnProjScratch) buffers(nq, nacc int) ([]int8, []int32) {
	if cap(sc.q) < nq {
		sc.q = make([]int8, nq)
	}
	if cap(sc.acc) < nacc {
		sc.acc = make([]int32, nacc)
	}
	return sc.q[:nq], sc.acc[:nacc]
}

// dynLSTMWeights is one weight matrix of one direction, packed for kernels.QGemmInt32.
type dynLSTMWeights struct {
	packed *kernels.QGemmWeights // [4*hidden, k], activation zero point 0
	sum    []int32               // Σ_k w[c, k]: corrects for a nonzero activation zero point
	scale  []float32             // per output channel
	// gemv is the same matrix packed for kernels.QGemvDequant: the
	// recurrent product of a step over all gate columns in one call,
	// dequantized into the gate rows, where QGemmInt32Few made one
	// micro-kernel call per two panels and a copy out of each tile, and
	// DequantRowI32 one call per batch row; and the input projection of
	// small operators (qrnnGemvInputMACs).
	gemv *kernels.QGemvWeights
}

type dynLSTMProj struct {
	inSize, hidden int
	w, r           []dynLSTMWeights // per direction
	// xStatic: X arrives as int8 codes with the file's scale xScale; its zero
	// point is folded into w's packing (op_qrnn.go). Otherwise X is float32 and
	// each time step is quantized at run time.
	xStatic bool
	xScale  float32
	xZP     int32 // X's zero point (static), which w.packed folds in and inputGemv applies
	// rSplit: per direction, R of a GRU with linear_before_reset = 0 in
	// two parts (op_qrnn.go, resetFirstStep).
	rSplit []qgruResetR
}

// buildDynLSTM reuses the LSTM kernel (attributes, validation, gates) with int8
// projections.
func buildDynLSTM(b *BuildContext) (Kernel, error) {
	n := b.Node
	hs := n.AttrInt("hidden_size", 0)
	if hs <= 0 {
		return nil, b.Errorf("hidden_size %d must be positive (the attribute is required)", hs)
	}
	lstm := n.Clone()
	lstm.OpType, lstm.Domain = "LSTM", ""
	lb := *b
	lb.Node = lstm
	kern, err := buildRNN(&lb)
	if err != nil {
		return nil, err
	}
	k := kern.(*rnnKernel)
	proj := &dynLSTMProj{hidden: k.hidden}
	for i, what := range []string{"W", "R"} {
		wt := b.Const(1 + i)
		if wt == nil {
			return nil, b.Errorf("input %d (%s) must be a constant int8 initializer", 1+i, what)
		}
		if len(wt.Shape) != 3 || wt.Shape[0] != k.dirs || wt.Shape[2] != 4*k.hidden || i == 1 && wt.Shape[1] != k.hidden {
			return nil, b.Errorf("input %s has shape %v, expected [%d, %s, %d]", what, wt.Shape, k.dirs,
				[]string{"input_size", fmt.Sprint(k.hidden)}[i], 4*k.hidden)
		}
		per, err := dynLSTMPack(b, wt, what, 8+2*i, k.dirs)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			proj.w, proj.inSize = per, wt.Shape[1]
		} else {
			proj.r = per
		}
	}
	k.proj = proj
	return k, nil
}

// dynLSTMPack transposes a [dirs, k, 4*hidden] int8 weight to per-direction
// [4*hidden, k] matrices and packs them, with the scales of inputs si (scale) and si+1
// (zero point, which must be 0: the weights are symmetric). Any int8 weight is
// taken, -128 included (the full range, as PyTorch's qint8 or a hand-made export
// writes it): the packed GEMM and the recurrent matrix-vector kernel are exact on
// it on every dispatch path (kernels.PackQGemm, kernels.PackQGemv).
func dynLSTMPack(b *BuildContext, wt *graph.Tensor, what string, si, dirs int) ([]dynLSTMWeights, error) {
	if wt.DType != graph.Int8 {
		return nil, b.Errorf("input %s is %s, expected int8 (symmetric weights)", what, wt.DType)
	}
	st, zt := b.Const(si), b.Const(si+1)
	if st == nil || zt == nil {
		return nil, b.Errorf("inputs %d and %d (%s_scale, %s_zero_point) must be constant initializers", si, si+1, what, what)
	}
	kk, n := wt.Shape[1], wt.Shape[2]
	if kk == 0 {
		return nil, b.Errorf("input %s has shape %v: no features", what, wt.Shape)
	}
	perChannel := len(st.Shape) == 2
	if st.DType != graph.Float32 || !slices.Equal(st.Shape, []int{dirs}) && !slices.Equal(st.Shape, []int{dirs, n}) {
		return nil, b.Errorf("%s_scale is %s %v, expected float32 [%d] or [%d, %d]", what, st.DType, st.Shape, dirs, dirs, n)
	}
	if !slices.Equal(zt.Shape, st.Shape) || zt.DType != wt.DType {
		return nil, b.Errorf("%s_zero_point is %s %v, expected %s %v like %s_scale", what, zt.DType, zt.Shape, wt.DType, st.Shape, what)
	}
	for _, z := range zt.I8() {
		if z != 0 {
			return nil, b.Errorf("%s_zero_point %d: only symmetric weights (zero point 0) are supported", what, z)
		}
	}
	out := make([]dynLSTMWeights, dirs)
	w := wt.I8()
	for d := range out {
		t := make([]int8, n*kk)
		sum := make([]int32, n)
		for j := 0; j < kk; j++ {
			for c, v := range w[(d*kk+j)*n : (d*kk+j+1)*n] {
				t[c*kk+j] = v
				sum[c] += int32(v)
			}
		}
		p, err := kernels.PackQGemm(n, kk, t, nil, 0)
		if err != nil {
			return nil, b.Errorf("input %s: %v", what, err)
		}
		gv, err := kernels.PackQGemv(n, kk, t)
		if err != nil {
			return nil, b.Errorf("input %s: %v", what, err)
		}
		sc := make([]float32, n)
		for c := range sc {
			if perChannel {
				sc[c] = st.F32()[d*n+c]
			} else {
				sc[c] = st.F32()[d]
			}
		}
		out[d] = dynLSTMWeights{packed: p, sum: sum, scale: sc, gemv: gv}
	}
	return out, nil
}

func (p *dynLSTMProj) check(x *graph.Tensor) error {
	want := graph.Float32
	if p.xStatic {
		want = graph.Int8
	}
	if x.DType != want {
		return fmt.Errorf("input X is %s, expected %s", x.DType, want)
	}
	if len(x.Shape) == 3 && x.Shape[2] != p.inSize {
		return fmt.Errorf("input X has %d features, W expects %d", x.Shape[2], p.inSize)
	}
	return nil
}

// quantizeDynamic quantizes x as DynamicQuantizeLinear does (uint8, range widened to
// include 0), returning int8 values q-128 and the zero point shifted the same way.
func quantizeDynamic(x []float32, q []int8) (scale float32, zp int32) {
	s, zp := dynamicParams(x)
	if s == 0 {
		for i := range q[:len(x)] {
			q[i] = int8(zp)
		}
		return 0, zp
	}
	kernels.QuantizeF32(x, s, zp, q)
	return s, zp
}

// dynamicParams returns DynamicQuantizeLinear's scale of x and its zero
// point shifted to int8 (z − 128).
func dynamicParams(x []float32) (scale float32, zp int32) {
	var lo, hi float32
	if len(x) > 0 {
		lo, hi = minMaxRow(x)
		lo, hi = min(lo, 0), max(hi, 0)
	}
	s, z := DynamicQuantizeParams(lo, hi)
	return s, int32(z) - 128
}

// minMaxRow is kernels.MinMaxF32 (NaN anywhere gives NaN for both) with its
// tail done here: the vector fold takes multiples of 32 values (a scalar
// loop here was a fifth of an int8 BiLSTM's run, once per time step), and
// its Go tail folds with the min and max builtins, which for float32 are
// calls handling NaN and signed zeros: at hidden 12-16 and batch 1 (an int8
// GRU's state, a reset gate's product) every value went through them, 9 %
// of keras_gru_op9's int8 run in a CPU profile (eighteenth session).
func minMaxRow(x []float32) (lo, hi float32) {
	v := len(x) &^ 31
	if v > 0 {
		lo, hi = kernels.MinMaxF32(x[:v])
	}
	if v == len(x) {
		return lo, hi
	}
	tl, th := minMaxSmall(x[v:])
	if v == 0 {
		return tl, th
	}
	return min(lo, tl), max(hi, th)
}

// minMaxSmall folds a short non-empty slice with comparisons; any NaN makes
// both results NaN, as Go's min and max do.
func minMaxSmall(x []float32) (lo, hi float32) {
	lo, hi = x[0], x[0]
	nan := false
	for _, v := range x {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
		nan = nan || v != v
	}
	if nan {
		n := float32(math.NaN())
		return n, n
	}
	return lo, hi
}

// dequantizeRows writes (or adds) out[i, c] = (acc[i, c] - zp·sum[c])·scale·wScale[c]
// for rows of one quantized block.
func (wt *dynLSTMWeights) dequantizeRows(acc []int32, rows int, scale float32, zp int32, out []float32, add bool) {
	n := len(wt.sum)
	for i := 0; i < rows; i++ {
		kernels.DequantRowI32(out[i*n:(i+1)*n], acc[i*n:(i+1)*n], wt.sum, wt.scale, scale, zp, add)
	}
}

func (p *dynLSTMProj) input(d int, x *graph.Tensor, seq, batch int, xw []float32, sc *rnnProjScratch, threads int) {
	wt := &p.w[d]
	rows := seq * batch
	if rows == 0 {
		return
	}
	n := len(wt.sum)
	if wt.gemv != nil && kernels.QGemvFast() && rows*n*p.inSize <= qrnnGemvInputMACs {
		p.inputGemv(wt, x, seq, batch, xw, sc)
		return
	}
	if p.xStatic {
		// The file's codes, whose zero point the packing folded in: one GEMM
		// and one scale for the whole sequence.
		_, acc := sc.buffers(0, rows*n)
		kernels.QGemmInt32(rows, x.I8(), p.inSize, wt.packed, acc, n, threads)
		wt.dequantizeRows(acc, rows, p.xScale, 0, xw, false)
		return
	}
	q, acc := sc.buffers(rows*p.inSize, rows*n)
	xf := x.F32()
	step := batch * p.inSize
	// One GEMM over every time step: each step's block has its own scale and zero
	// point, applied after the integer accumulation.
	scales := make([]float32, seq)
	zps := make([]int32, seq)
	for t := 0; t < seq; t++ {
		scales[t], zps[t] = quantizeDynamic(xf[t*step:(t+1)*step], q[t*step:(t+1)*step])
	}
	kernels.QGemmInt32(rows, q, p.inSize, wt.packed, acc, n, threads)
	for t := 0; t < seq; t++ {
		wt.dequantizeRows(acc[t*batch*n:(t+1)*batch*n], batch, scales[t], zps[t], xw[t*batch*n:(t+1)*batch*n], false)
	}
}

func (p *dynLSTMProj) recurrent(d int, h []float32, batch int, out []float32, add bool, sc *rnnProjScratch) {
	wt := &p.r[d]
	if batch == 0 {
		return
	}
	n := len(wt.sum)
	if wt.gemv != nil && kernels.QGemvFast() {
		p.recurrentGemv(wt, h, batch, out, add, sc)
		return
	}
	// The input projection's buffers are done with by now: a step reuses them.
	q, acc := sc.buffers(batch*p.hidden, batch*n)
	scale, zp := quantizeDynamic(h[:batch*p.hidden], q)
	if scale == 0 {
		if !add {
			clear(out[:batch*n]) // a zero state (the first step without initial_h)
		}
		return
	}
	kernels.QGemmInt32Few(batch, q, p.hidden, wt.packed, acc, n)
	wt.dequantizeRows(acc, batch, scale, zp, out, add)
}

// qrnnGemvInputMACs is the size (rows·columns·input) up to which the input
// projection runs on kernels.QGemvDequant, 4 rows per call, rather than the
// packed GEMM: the recurrent classifiers' 40x192x40 projection took 4.3 µs on
// the AMX GEMM with its dequantization and 1.3 µs on the matrix-vector
// kernel; at 40x384x64 20 against 3.9; at 40x384x192 (3 M) they were even
// (throwaway go test -bench, 2 runs each, load 30, seventeenth session).
const qrnnGemvInputMACs = 1 << 20

// inputGemv is input on kernels.QGemvDequant: X's codes (static: one scale
// and the file's zero point; dynamic: each step quantized with its own) times
// W, dequantized into xw. The kernel reads the codes of a row 4 at a time,
// so for an input size that is not a multiple of 4 they are copied into the
// scratch with room after the last row (codes past the row multiply zero
// weights).
func (p *dynLSTMProj) inputGemv(wt *dynLSTMWeights, x *graph.Tensor, seq, batch int, xw []float32, sc *rnnProjScratch) {
	n, in := len(wt.sum), p.inSize
	rows := seq * batch
	if p.xStatic {
		xq := x.I8()[:rows*in]
		if in%4 != 0 {
			q, _ := sc.buffers(rows*in+3, 0)
			copy(q, xq)
			xq = q
		}
		kernels.QGemvDequant(xw, n, xq, in, rows, wt.gemv, wt.scale, p.xScale, p.xZP, false)
		return
	}
	q, _ := sc.buffers(rows*in+3, 0)
	xf := x.F32()
	step := batch * in
	for t := 0; t < seq; t++ {
		s, zp := quantizeDynamic(xf[t*step:(t+1)*step], q[t*step:(t+1)*step])
		kernels.QGemvDequant(xw[t*batch*n:], n, q[t*step:], in, batch, wt.gemv, wt.scale, s, zp, false)
	}
}

// recurrentGemv is recurrent on kernels.QGemvDequant: the same quantization
// of the state (one scale for the batch), the same integers and roundings.
// The kernel reads the codes 4 at a time, so a hidden size that is not a
// multiple of 4 has its rows quantized one by one at a padded stride.
func (p *dynLSTMProj) recurrentGemv(wt *dynLSTMWeights, h []float32, batch int, out []float32, add bool, sc *rnnProjScratch) {
	hd := p.hidden
	ldq := (hd + 3) &^ 3
	q, _ := sc.buffers(batch*ldq, 0)
	hb := h[:batch*hd]
	scale, zp := dynamicParams(hb)
	if scale == 0 {
		if !add {
			clear(out[:batch*len(wt.sum)]) // a zero state (the first step without initial_h)
		}
		return
	}
	if ldq == hd {
		kernels.QuantizeF32(hb, scale, zp, q)
	} else {
		for b := 0; b < batch; b++ {
			kernels.QuantizeF32(hb[b*hd:(b+1)*hd], scale, zp, q[b*ldq:])
		}
	}
	kernels.QGemvDequant(out, len(wt.sum), q, ldq, batch, wt.gemv, wt.scale, scale, zp, add)
}

func init() {
	Register(OpInfo{OpType: graph.DynamicLSTMOp, Domain: graph.DynamicLSTMDomain, Int8: true, Build: buildDynLSTM})
}
