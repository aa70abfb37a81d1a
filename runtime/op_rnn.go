package runtime

// LSTM, GRU and RNN in float32: forward, reverse and bidirectional, both layouts,
// per-batch sequence lengths, initial states, LSTM peepholes and coupled input/forget
// gates, GRU linear_before_reset, clipping and every ONNX activation function. The
// input projection of all time steps is one GEMM per direction; each step then adds the
// recurrent projection H_{t-1} * R^T (a small GEMM) and applies the gate equations.

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// rnnAct is one activation function with its parameters bound.
type rnnAct func(float32) float32

func sigmoid32(x float32) float32 {
	return float32(1 / (1 + math.Exp(-float64(x))))
}

func makeRNNAct(name string, alpha, beta *float32) (rnnAct, error) {
	a := func(def float32) float32 {
		if alpha != nil {
			return *alpha
		}
		return def
	}
	b := func(def float32) float32 {
		if beta != nil {
			return *beta
		}
		return def
	}
	switch name {
	case "Sigmoid":
		return sigmoid32, nil
	case "Tanh":
		return func(x float32) float32 { return float32(math.Tanh(float64(x))) }, nil
	case "Relu":
		return func(x float32) float32 { return max(x, 0) }, nil
	case "Affine":
		al, be := a(1), b(0)
		return func(x float32) float32 { return al*x + be }, nil
	case "LeakyRelu":
		al := a(0.01)
		return func(x float32) float32 {
			if x < 0 {
				return al * x
			}
			return x
		}, nil
	case "ThresholdedRelu":
		al := a(1)
		return func(x float32) float32 {
			if x > al {
				return x
			}
			return 0
		}, nil
	case "ScaledTanh":
		al, be := a(1), b(1)
		return func(x float32) float32 { return al * float32(math.Tanh(float64(be*x))) }, nil
	case "HardSigmoid":
		al, be := a(0.2), b(0.5)
		return func(x float32) float32 { return min(max(al*x+be, 0), 1) }, nil
	case "Elu":
		al := a(1)
		return func(x float32) float32 {
			if x < 0 {
				return al * float32(math.Expm1(float64(x)))
			}
			return x
		}, nil
	case "Softsign":
		return func(x float32) float32 { return x / (1 + float32(math.Abs(float64(x)))) }, nil
	case "Softplus":
		return func(x float32) float32 { return float32(math.Log1p(math.Exp(float64(x)))) }, nil
	}
	return nil, fmt.Errorf("%w activation %q", graph.ErrUnsupported, name)
}

// rnnUsesAlpha and rnnUsesBeta tell which functions consume activation_alpha/beta
// entries (the lists are consumed in order by the functions that take them, as ONNX
// Runtime does).
func rnnUsesAlpha(name string) bool {
	switch name {
	case "Affine", "LeakyRelu", "ThresholdedRelu", "ScaledTanh", "HardSigmoid", "Elu":
		return true
	}
	return false
}

func rnnUsesBeta(name string) bool {
	switch name {
	case "Affine", "ScaledTanh", "HardSigmoid":
		return true
	}
	return false
}

type rnnKernel struct {
	kind              string
	gates             int
	hidden            int
	dirs              int
	reverse           bool
	layout            int64
	clip              float32
	inputForget       bool
	linearBeforeReset bool
	acts              [][]rnnAct // per direction: LSTM f,g,h; GRU f,g; RNN f
	// vec: the direction's activations are the defaults (Sigmoid, Tanh[, Tanh]), and
	// with no clip the cells apply them a gate block at a time with the vector
	// kernels (kernels.ActF32) instead of float64 math per value: at hidden 48 the
	// scalar activations were most of a BiLSTM tagger's time (bilstm_packed of
	// --unseen8, 3.9x ONNX Runtime).
	vec []bool
	// proj, when set, computes the input and recurrent projections in place of the
	// float32 GEMMs over W and R (the dynamically quantized LSTM, op_dynlstm.go).
	proj rnnProjector
	// rconst is R when it is an initializer: its packed form is made once
	// (packs) instead of at every run. A BiLSTM tagger at hidden 48 spent a
	// sixth of its 0.28-ms run packing the same R each time (thirteenth
	// session). wconst is W when it is an initializer, packed once as well
	// (fourteenth session: packing the transposed W element by element was a
	// tenth of a BiLSTM classifier's run); a W that is not one is packed per
	// run the same way, so both give the same bits.
	rconst, wconst *graph.Tensor
	packOnce       sync.Once
	wpackOnce      sync.Once
	packs          rnnPacks
	// projScratch pools the int8 projector's buffers (*rnnProjScratch).
	projScratch sync.Pool
	// resetFirst: an int8 GRU with linear_before_reset = 0 (QRNN,
	// op_qrnn.go), whose steps run dynLSTMProj.resetFirstStep: the
	// candidate's recurrent product reads r (.) H, so it is made after the
	// reset gate and added to the step's projected rows, and the fused cell
	// then sees a zero recurrent h block.
	resetFirst bool
}

// rnnPacks holds, per direction, R packed for the recurrent products (rp,
// rhp as rnnState's) and W packed for the input projection (wp).
type rnnPacks struct {
	rp, rhp, wp []*kernels.PackedB
}

// rnnSameConst reports whether t holds exactly c's float32 data (the initializer
// as the session passes it).
func rnnSameConst(t, c *graph.Tensor) bool {
	if t == nil || c == nil || t.DType != graph.Float32 || c.DType != graph.Float32 {
		return false
	}
	a, b := t.F32(), c.F32()
	return len(a) == len(b) && len(a) > 0 && &a[0] == &b[0]
}

// constPacks returns the packed R when the run's R is the build-time
// initializer (nil otherwise: the caller packs per run). The packing is the
// per-run one, so the products are bit-identical.
func (k *rnnKernel) constPacks(r *graph.Tensor) *rnnPacks {
	if k.proj != nil || !rnnSameConst(r, k.rconst) {
		return nil
	}
	h, gh := k.hidden, k.gates*k.hidden
	if len(r.F32()) != k.dirs*gh*h {
		return nil
	}
	k.packOnce.Do(func() {
		for d := 0; d < k.dirs; d++ {
			rd := r.F32()[d*gh*h : (d+1)*gh*h]
			if k.kind == "GRU" && !k.linearBeforeReset {
				k.packs.rp = append(k.packs.rp, kernels.PackSgemmB(true, h, 2*h, rd[:2*h*h], h))
				k.packs.rhp = append(k.packs.rhp, kernels.PackSgemmB(true, h, h, rd[2*h*h:3*h*h], h))
			} else {
				k.packs.rp = append(k.packs.rp, kernels.PackSgemmB(true, h, gh, rd, h))
				k.packs.rhp = append(k.packs.rhp, nil)
			}
		}
	})
	return &k.packs
}

// constWPacks returns W packed per direction when the run's W is the
// build-time initializer (nil otherwise: the caller packs per run, the same
// packing).
func (k *rnnKernel) constWPacks(w *graph.Tensor, inSize int) []*kernels.PackedB {
	if k.proj != nil || !rnnSameConst(w, k.wconst) {
		return nil
	}
	gh := k.gates * k.hidden
	if len(w.F32()) != k.dirs*gh*inSize {
		return nil
	}
	k.wpackOnce.Do(func() {
		for d := 0; d < k.dirs; d++ {
			k.packs.wp = append(k.packs.wp, kernels.PackSgemmB(true, inSize, gh, w.F32()[d*gh*inSize:(d+1)*gh*inSize], inSize))
		}
	})
	if k.packs.wp[0].K() != inSize {
		return nil
	}
	return k.packs.wp
}

// rnnBiasSum returns the bias folded into the input projection's rows (nil
// without B): Wb + Rb for every gate block, but only Wb for a GRU's h block
// with linear_before_reset, whose Rb is added inside r (.) (H R_h^T + Rb_h).
func (k *rnnKernel) rnnBiasSum(wb, rb, dst []float32) []float32 {
	if wb == nil {
		return nil
	}
	h := k.hidden
	for i := range dst {
		dst[i] = wb[i] + rb[i]
	}
	if k.kind == "GRU" && k.linearBeforeReset {
		copy(dst[2*h:3*h], wb[2*h:3*h])
	}
	return dst
}

func buildRNN(b *BuildContext) (Kernel, error) {
	n := b.Node
	k := &rnnKernel{kind: n.OpType, gates: graph.RNNGates(n.OpType), layout: n.AttrInt("layout", 0)}
	dirs, err := graph.RNNDirections(n)
	if err != nil {
		return nil, err
	}
	k.dirs = dirs
	k.rconst = b.Const(2)
	k.wconst = b.Const(1)
	k.reverse = n.AttrString("direction", "forward") == "reverse"
	if k.layout != 0 && k.layout != 1 {
		return nil, b.Errorf("layout %d must be 0 or 1", k.layout)
	}
	hs := n.AttrInt("hidden_size", 0)
	if hs == 0 {
		if w := b.Input(1); w != nil && w.HasShape && len(w.Shape) == 3 && w.Shape[1].Known() {
			hs = int64(w.Shape[1].Size / k.gates)
		}
	}
	if hs <= 0 || hs > math.MaxInt32 {
		return nil, b.Errorf("hidden_size %d must be positive", hs)
	}
	k.hidden = int(hs)
	if n.HasAttr("clip") {
		k.clip = n.AttrFloat("clip", 0)
		if !(k.clip > 0) {
			return nil, b.Errorf("clip %v must be positive", k.clip)
		}
	}
	k.inputForget = n.AttrInt("input_forget", 0) != 0
	k.linearBeforeReset = n.AttrInt("linear_before_reset", 0) != 0
	var defaults []string
	switch k.kind {
	case "LSTM":
		defaults = []string{"Sigmoid", "Tanh", "Tanh"}
	case "GRU":
		defaults = []string{"Sigmoid", "Tanh"}
	default:
		defaults = []string{"Tanh"}
	}
	names := n.AttrStrings("activations", nil)
	if names == nil {
		for d := 0; d < dirs; d++ {
			names = append(names, defaults...)
		}
	}
	if len(names) != len(defaults)*dirs {
		return nil, b.Errorf("activations lists %d functions, expected %d", len(names), len(defaults)*dirs)
	}
	alphas, betas := n.AttrFloats("activation_alpha", nil), n.AttrFloats("activation_beta", nil)
	for d := 0; d < dirs; d++ {
		var fs []rnnAct
		for _, name := range names[d*len(defaults) : (d+1)*len(defaults)] {
			var al, be *float32
			if rnnUsesAlpha(name) && len(alphas) > 0 {
				al, alphas = &alphas[0], alphas[1:]
			}
			if rnnUsesBeta(name) && len(betas) > 0 {
				be, betas = &betas[0], betas[1:]
			}
			f, err := makeRNNAct(name, al, be)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", n.Label(), err)
			}
			fs = append(fs, f)
		}
		k.acts = append(k.acts, fs)
		vec := k.clip == 0 && k.kind != "RNN"
		for i, name := range names[d*len(defaults) : (d+1)*len(defaults)] {
			vec = vec && name == defaults[i]
		}
		k.vec = append(k.vec, vec)
	}
	return k, nil
}

// rnnTranspose01 swaps the first two axes of a rank-3 tensor.
func rnnTranspose01(t *graph.Tensor) (*graph.Tensor, error) {
	return nnPermute(t, []int{1, 0, 2})
}

func (k *rnnKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 3); err != nil {
		return nil, err
	}
	if nnIsHalf(in[0]) {
		return nnHalfWrap(ctx, k, in)
	}
	x, w, r := in[0], in[1], in[2]
	for i, t := range in {
		if k.proj != nil && (i <= 2 || i > 7) {
			continue // X (checked by the projector), the int8 weights and their parameters
		}
		if t != nil && i != 4 && t.DType != graph.Float32 {
			if t.DType == x.DType || i == 0 {
				return nil, fmt.Errorf("unsupported input type %s", t.DType)
			}
			return nil, fmt.Errorf("input %d is %s, X is %s (dtype mismatch)", i, t.DType, x.DType)
		}
	}
	if len(x.Shape) != 3 {
		return nil, fmt.Errorf("input X has shape %v, expected rank 3", x.Shape)
	}
	var err error
	if k.layout == 1 {
		if x, err = rnnTranspose01(x); err != nil {
			return nil, err
		}
	}
	seq, batch, inSize := x.Shape[0], x.Shape[1], x.Shape[2]
	h, g, dirs := k.hidden, k.gates, k.dirs
	gh := g * h
	want := func(t *graph.Tensor, what string, shape ...int) error {
		if t != nil && !slices.Equal(t.Shape, shape) {
			return fmt.Errorf("input %s has shape %v, expected %v", what, t.Shape, shape)
		}
		return nil
	}
	if k.proj != nil {
		if err := k.proj.check(x); err != nil {
			return nil, err
		}
	} else if err := want(w, "W", dirs, gh, inSize); err != nil {
		return nil, err
	} else if err := want(r, "R", dirs, gh, h); err != nil {
		return nil, err
	}
	bias := optInput(in, 3)
	if err := want(bias, "B", dirs, 2*gh); err != nil {
		return nil, err
	}
	var lens []int32
	if sl := optInput(in, 4); sl != nil {
		if sl.DType != graph.Int32 {
			return nil, fmt.Errorf("sequence_lens is %s, expected int32", sl.DType)
		}
		if err := want(sl, "sequence_lens", batch); err != nil {
			return nil, err
		}
		lens = sl.I32()
		for b, l := range lens {
			if l < 0 || int(l) > seq {
				return nil, fmt.Errorf("sequence_lens[%d] = %d is outside [0, %d]", b, l, seq)
			}
		}
	}
	var init [2]*graph.Tensor // initial_h, initial_c as [dirs, batch, h]
	for j, i := range []int{5, 6} {
		t := optInput(in, i)
		if t == nil || i == 6 && k.kind != "LSTM" {
			continue
		}
		if k.layout == 1 {
			if err := want(t, []string{"initial_h", "initial_c"}[j], batch, dirs, h); err != nil {
				return nil, err
			}
			if t, err = rnnTranspose01(t); err != nil {
				return nil, err
			}
		} else if err := want(t, []string{"initial_h", "initial_c"}[j], dirs, batch, h); err != nil {
			return nil, err
		}
		init[j] = t
	}
	peep := optInput(in, 7)
	if k.kind != "LSTM" {
		peep = nil
	}
	if err := want(peep, "P", dirs, 3*h); err != nil {
		return nil, err
	}
	if err := checkSize([]int{seq, dirs, batch, h}, "output Y"); err != nil {
		return nil, err
	}
	// From the run's arena, not make(): the zeroed allocations were 7 % of a
	// BiLSTM tagger's run (thirteenth session). Every Y row is written (or
	// cleared past a sequence's end); the states start at zero without
	// initial_h/initial_c, and xw is cleared where no GEMM fills it.
	y := ctx.AllocF32(seq * dirs * batch * h) // [seq, dirs, batch, h]
	yh := ctx.AllocF32(dirs * batch * h)
	yc := ctx.AllocF32(dirs * batch * h)
	clear(yh)
	clear(yc)
	xw := ctx.AllocF32(seq * batch * gh) // every row written by the projection
	var packs *rnnPacks
	var wpacks []*kernels.PackedB
	if seq > 0 {
		packs = k.constPacks(r)
		wpacks = k.constWPacks(w, inSize)
	}
	bsum := ctx.AllocF32(gh)
	ps, _ := k.projScratch.Get().(*rnnProjScratch)
	if ps == nil {
		ps = &rnnProjScratch{}
	}
	defer k.projScratch.Put(ps)
	for d := 0; d < dirs; d++ {
		rev := k.reverse || d == 1
		var rd []float32
		if k.proj == nil {
			rd = r.F32()[d*gh*h : (d+1)*gh*h]
		}
		if k.proj != nil {
			k.proj.input(d, x, seq, batch, xw, ps, ctx.Threads)
		} else if seq*batch > 0 {
			// X W^T for all steps at once, on W packed once (or per run
			// when W is computed: the same packing, the same bits).
			var pw *kernels.PackedB
			if wpacks != nil {
				pw = wpacks[d]
			} else {
				pw = kernels.PackSgemmB(true, inSize, gh, w.F32()[d*gh*inSize:(d+1)*gh*inSize], max(inSize, 1))
			}
			kernels.SgemmPackedB(false, seq*batch, x.F32(), max(inSize, 1), pw, xw, gh, false, nil, ctx.Threads)
		}
		var wb, rb []float32
		if bias != nil {
			wb = bias.F32()[d*2*gh : d*2*gh+gh]
			rb = bias.F32()[d*2*gh+gh : (d+1)*2*gh]
		}
		// The biases are added to the projected rows once, not at every
		// step in every cell.
		if bs := k.rnnBiasSum(wb, rb, bsum); bs != nil {
			for i := 0; i < seq*batch; i++ {
				kernels.AddF32(xw[i*gh:(i+1)*gh], bs)
			}
		}
		st := &rnnState{k: k, d: d, batch: batch, seq: seq, lens: lens, rd: rd, wb: wb, rb: rb, ps: ps,
			hcur: yh[d*batch*h : (d+1)*batch*h], ccur: yc[d*batch*h : (d+1)*batch*h]}
		if packs != nil {
			st.rp, st.rhp = packs.rp[d], packs.rhp[d]
		} else if k.proj == nil && seq > 0 {
			if k.kind == "GRU" && !k.linearBeforeReset {
				st.rp = kernels.PackSgemmB(true, h, 2*h, rd[:2*h*h], h)
				st.rhp = kernels.PackSgemmB(true, h, h, rd[2*h*h:3*h*h], h)
			} else {
				st.rp = kernels.PackSgemmB(true, h, gh, rd, h)
			}
		}
		if init[0] != nil {
			copy(st.hcur, init[0].F32()[d*batch*h:(d+1)*batch*h])
		}
		if init[1] != nil {
			copy(st.ccur, init[1].F32()[d*batch*h:(d+1)*batch*h])
		}
		if peep != nil {
			st.peep = peep.F32()[d*3*h : (d+1)*3*h]
		}
		st.run(xw, y, rev, dirs)
	}
	outs := make([]*graph.Tensor, 0, 3)
	yt := &graph.Tensor{DType: graph.Float32, Shape: []int{seq, dirs, batch, h}, Data: y}
	yht := &graph.Tensor{DType: graph.Float32, Shape: []int{dirs, batch, h}, Data: yh}
	yct := &graph.Tensor{DType: graph.Float32, Shape: []int{dirs, batch, h}, Data: yc}
	if k.layout == 1 {
		if yt, err = nnPermute(yt, []int{2, 0, 1, 3}); err != nil {
			return nil, err
		}
		if yht, err = rnnTranspose01(yht); err != nil {
			return nil, err
		}
		if yct, err = rnnTranspose01(yct); err != nil {
			return nil, err
		}
	}
	outs = append(outs, yt, yht)
	if k.kind == "LSTM" {
		outs = append(outs, yct)
	}
	return outs, nil
}

// rnnState runs one direction.
type rnnState struct {
	k          *rnnKernel
	d          int
	batch, seq int
	lens       []int32
	rd         []float32 // R of this direction, [gates*h, h]
	// rp is R packed once for the per-step products (the z and r blocks only for
	// a GRU with linear_before_reset = 0, whose h block rhp multiplies r (.) H):
	// Sgemm packed its B operand again at every time step, about half of a
	// small GRU's time. The packed product is bit-identical to Sgemm's.
	rp, rhp    *kernels.PackedB
	wb, rb     []float32 // biases (nil when absent)
	peep       []float32 // LSTM peepholes i, o, f (nil when absent)
	ps         *rnnProjScratch
	hcur, ccur []float32 // [batch, h] current states, updated in place
	z, r       []float32 // GRU gate scratch, [h]
	pre        []float32 // gruCellVec's scratch: gate pre-activations [gates*h]
}

func (s *rnnState) clip(v float32) float32 {
	if c := s.k.clip; c > 0 {
		return min(max(v, -c), c)
	}
	return v
}

func (s *rnnState) run(xw, y []float32, rev bool, dirs int) {
	k := s.k
	h, g := k.hidden, k.gates
	gh := g * h
	lstm := k.kind == "LSTM"
	// The GRU/RNN buffers from the run's scratch (all written before they
	// are read): make() here was a tenth of a small GRU's run with its GC.
	var hr, hprev, rh []float32 // rh: GRU (r (.) H) for linear_before_reset = 0
	if !lstm {
		f := s.ps.floats(s.batch*gh + 2*s.batch*h)
		hr, hprev, rh = f[:s.batch*gh], f[s.batch*gh:s.batch*(gh+h)], f[s.batch*(gh+h):]
	}
	acts := k.acts[s.d]
	vec := k.vec != nil && k.vec[s.d]
	// The fused cells (kernels.LSTMCellF32, GRUCellF32: the vector cells'
	// bits in one call per row, writing Y's row too): a step at hidden 48
	// and batch 2 made a dozen calls, which cost more than its arithmetic
	// (seventeenth session).
	fusedLSTM := lstm && vec && s.peep == nil && !k.inputForget
	fusedGRU := k.kind == "GRU" && vec && (k.linearBeforeReset || k.resetFirst)
	var rbh []float32
	if fusedGRU {
		if s.rb != nil && !k.resetFirst {
			rbh = s.rb[2*h : 3*h]
		} else {
			// resetFirst: R's h-block bias is in the projected rows
			// (rnnBiasSum), as for every GRU with linear_before_reset = 0.
			rbh = s.ps.zeros(h)
		}
	}
	if k.resetFirst {
		// The recurrent h block stays zero: the candidate's product is
		// added to the projected rows (resetFirstStep), so the fused
		// cell's t = xn + r·(0 + 0) is xn.
		clear(hr)
	}
	for step := 0; step < s.seq; step++ {
		t := step
		if rev {
			t = s.seq - 1 - step
		}
		xt := xw[t*s.batch*gh : (t+1)*s.batch*gh]
		switch {
		case lstm && k.proj == nil:
			// The step's projected rows (biases included) take
			// H_{t-1} R^T in place: they become the gates'
			// pre-activations. The cells read the states only after the
			// product, so H needs no copy.
			kernels.SgemmPackedB(false, s.batch, s.hcur, h, s.rp, xt, gh, true, nil, 1)
		case lstm:
			// int8: H_{t-1} R^T dequantized straight into the step's
			// pre-activations.
			k.proj.recurrent(s.d, s.hcur, s.batch, xt, true, s.ps)
		case k.resetFirst:
			k.proj.(*dynLSTMProj).resetFirstStep(s.d, s.hcur, s.batch, xt, hr, rh, s.ps)
		case k.proj != nil && fusedGRU:
			// The fused cell reads the state in place (each value before
			// it writes it): no copy of H_{t-1}.
			k.proj.recurrent(s.d, s.hcur, s.batch, hr, false, s.ps)
		case k.proj != nil:
			copy(hprev, s.hcur)
			k.proj.recurrent(s.d, hprev, s.batch, hr, false, s.ps)
		case fusedGRU:
			kernels.SgemmPackedB(false, s.batch, s.hcur, h, s.rp, hr, gh, false, nil, 1)
		default:
			// H_{t-1} * R^T (for a GRU with linear_before_reset = 0, only the z
			// and r gates can use it directly: rp holds those two blocks).
			copy(hprev, s.hcur)
			kernels.SgemmPackedB(false, s.batch, hprev, h, s.rp, hr, gh, false, nil, 1)
		}
		for b := 0; b < s.batch; b++ {
			yrow := y[((t*dirs+s.d)*s.batch+b)*h : ((t*dirs+s.d)*s.batch+b+1)*h]
			if s.lens != nil && t >= int(s.lens[b]) {
				clear(yrow) // past the end of this sequence: no output, state kept
				continue
			}
			xg := xt[b*gh : (b+1)*gh]
			hs := s.hcur[b*h : (b+1)*h]
			switch {
			case fusedLSTM:
				kernels.LSTMCellF32(xg, h, s.ccur[b*h:(b+1)*h], hs, yrow)
				continue
			case fusedGRU:
				kernels.GRUCellF32(xg, hr[b*gh:(b+1)*gh], h, rbh, hs, yrow)
				continue
			case lstm:
				s.lstmCell(acts, xg, hs, s.ccur[b*h:(b+1)*h])
			case k.kind == "GRU" && vec:
				s.gruCellVec(xg, hr[b*gh:(b+1)*gh], hs, hprev[b*h:(b+1)*h], rh)
			case k.kind == "GRU":
				s.gruCell(acts, xg, hr[b*gh:(b+1)*gh], hs, hprev[b*h:(b+1)*h], rh)
			default:
				s.rnnCell(acts, xg, hr[b*gh:(b+1)*gh], hs)
			}
			copy(yrow, hs)
		}
	}
}

// lstmCell updates h and c of one batch entry from the gate pre-activations
// pre (X W^T + H R^T + biases). Gate blocks are ordered i, o, f, c.
func (s *rnnState) lstmCell(acts []rnnAct, pre, hs, cs []float32) {
	h := s.k.hidden
	f, gf, hf := acts[0], acts[1], acts[2]
	for j := 0; j < h; j++ {
		cprev := cs[j]
		ip, op, fp, cp := pre[j], pre[h+j], pre[2*h+j], pre[3*h+j]
		if s.peep != nil {
			ip += s.peep[j] * cprev
			fp += s.peep[2*h+j] * cprev
		}
		ft := f(s.clip(fp))
		var it float32
		if s.k.inputForget {
			it = 1 - ft
		} else {
			it = f(s.clip(ip))
		}
		ct := gf(s.clip(cp))
		c := ft*cprev + it*ct
		if s.peep != nil {
			op += s.peep[h+j] * c
		}
		ot := f(s.clip(op))
		cs[j] = c
		hs[j] = ot * hf(c)
	}
}

// gruCell updates h of one batch entry. Gate blocks are ordered z, r, h; xg
// holds X W^T with the biases of rnnBiasSum, hg H R^T.
func (s *rnnState) gruCell(acts []rnnAct, xg, hg, hs, hprev, rh []float32) {
	k := s.k
	h := k.hidden
	f, gf := acts[0], acts[1]
	var rbh float32
	if s.z == nil {
		s.z, s.r = make([]float32, h), make([]float32, h)
	}
	z, r := s.z, s.r
	for j := 0; j < h; j++ {
		z[j] = f(s.clip(xg[j] + hg[j]))
		r[j] = f(s.clip(xg[h+j] + hg[h+j]))
	}
	if !k.linearBeforeReset {
		// (r (.) H_{t-1}) * Rh^T, one row.
		rhRow := rh[:h]
		for j := range rhRow {
			rhRow[j] = r[j] * hprev[j]
		}
		out := hg[2*h : 3*h]
		kernels.SgemmPackedB(false, 1, rhRow, h, s.rhp, out, h, false, nil, 1)
	}
	for j := 0; j < h; j++ {
		var pre float32
		if k.linearBeforeReset {
			if s.rb != nil {
				rbh = s.rb[2*h+j]
			}
			pre = xg[2*h+j] + r[j]*(hg[2*h+j]+rbh)
		} else {
			pre = xg[2*h+j] + hg[2*h+j]
		}
		ht := gf(s.clip(pre))
		hs[j] = (1-z[j])*ht + z[j]*hprev[j]
	}
}

// scratch returns the vector cells' buffers.
func (s *rnnState) scratch() []float32 {
	if s.pre == nil {
		s.pre = make([]float32, s.k.gates*s.k.hidden)
	}
	return s.pre
}

// gruCellVec is gruCell for the default activations without clip, with
// linear_before_reset = 0 (the other GRUs take kernels.GRUCellF32).
func (s *rnnState) gruCellVec(xg, hg, hs, hprev, rh []float32) {
	k := s.k
	h := k.hidden
	pre := s.scratch()
	// The z and r pre-activations in place in the step's projected row (used
	// once), with the vector add: the same sums as a scalar loop.
	kernels.AddF32(xg[:2*h], hg[:2*h])
	kernels.ActF32(kernels.ActSigmoid, xg[:2*h], xg[:2*h])
	z, r := xg[:h], xg[h:2*h]
	if !k.linearBeforeReset {
		// (r (.) H_{t-1}) * Rh^T, one row.
		rhRow := rh[:h]
		for j := range rhRow {
			rhRow[j] = r[j] * hprev[j]
		}
		kernels.SgemmPackedB(false, 1, rhRow, h, s.rhp, hg[2*h:3*h], h, false, nil, 1)
	}
	ht := pre[2*h : 3*h]
	var rbh float32
	for j := 0; j < h; j++ {
		if k.linearBeforeReset {
			if s.rb != nil {
				rbh = s.rb[2*h+j]
			}
			ht[j] = xg[2*h+j] + r[j]*(hg[2*h+j]+rbh)
		} else {
			ht[j] = xg[2*h+j] + hg[2*h+j]
		}
	}
	kernels.ActF32(kernels.ActTanh, ht, ht)
	for j := 0; j < h; j++ {
		hs[j] = (1-z[j])*ht[j] + z[j]*hprev[j]
	}
}

func (s *rnnState) rnnCell(acts []rnnAct, xg, hg, hs []float32) {
	for j := range hs {
		hs[j] = acts[0](s.clip(xg[j] + hg[j]))
	}
}

func init() {
	for _, op := range []string{"LSTM", "GRU", "RNN"} {
		Register(OpInfo{OpType: op, Build: buildRNN})
	}
}
