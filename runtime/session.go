package runtime

import (
	"errors"
	"fmt"
	"reflect"
	goruntime "runtime"

	"gorgonia.org/tensor"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime/lower"
)

// Mode selects how a session executes a model.
type Mode int

const (
	// ModeAuto runs quantized graphs on the int8 executor and float graphs in float32.
	ModeAuto Mode = iota
	// ModeFloat runs everything on the float32 reference executor; quantized graphs are
	// executed literally (QuantizeLinear/DequantizeLinear as float ops), i.e. simulated
	// quantization.
	ModeFloat
	// ModeInt8 requires the int8 executor.
	ModeInt8
)

func (m Mode) String() string {
	switch m {
	case ModeFloat:
		return "float32"
	case ModeInt8:
		return "int8"
	}
	return "auto"
}

// Option configures a session.
type Option func(*config)

type config struct {
	threads  int
	mode     Mode
	taps     map[string]bool
	tapAll   bool
	tapFunc  TapFunc             // tap_stream.go
	tapPiece TapPieceFunc        // tap_chain.go
	tapCL    TapChannelsLastFunc // tap_channels_last.go
	pieceLen int                 // tap_chain.go
	lowerCfg LowerConfig
	warn     func(string)
	// noOptimize skips the graph-level optimisation (optimize.go).
	noOptimize bool
	// noConv1D leaves 1-D convolutions as written (conv1d_lift.go, conv1d_trim.go; tests).
	noConv1D bool
	// skipFusions leaves these band fusions out (fuse_dw_pw.go).
	skipFusions bandFusions
}

// LowerConfig is passed to the int8 lowering pass (runtime/lower).
type LowerConfig = lower.Config

// QuantInfo tells how an int8 tensor of a lowered graph represents a tensor of the
// source model (see lower.QuantInfo).
type QuantInfo = lower.QuantInfo

// WithThreads sets the number of threads kernels may use (default GOMAXPROCS).
func WithThreads(n int) Option { return func(c *config) { c.threads = n } }

// WithMode selects float32, int8 or automatic execution.
func WithMode(m Mode) Option { return func(c *config) { c.mode = m } }

// WithTaps keeps the named intermediate tensors so RunWithTaps can return them.
func WithTaps(names ...string) Option {
	return func(c *config) {
		if c.taps == nil {
			c.taps = map[string]bool{}
		}
		for _, n := range names {
			c.taps[n] = true
		}
	}
}

// WithAllTaps keeps every intermediate tensor.
func WithAllTaps() Option { return func(c *config) { c.tapAll = true } }

// WithRequant selects the int8 requantization arithmetic: "float" (ONNX/ORT, the
// default) or "fixed" (gemmlowp/TFLite).
func WithRequant(mode string) Option { return func(c *config) { c.lowerCfg.Requant = mode } }

// WithWarnings receives warnings (e.g. nodes that fall back to float32).
func WithWarnings(f func(string)) Option { return func(c *config) { c.warn = f } }

// IsQuantized reports whether the model contains quantization operators
// (graph.Graph.IsQuantized).
func IsQuantized(m *graph.Model) bool { return m.Graph.IsQuantized() }

type step struct {
	node   *graph.Node
	kernel Kernel
	in     []int // slot indices, -1 for absent
	out    []int
	free   []int // slots whose last use is this step
	// dying are the input positions whose slot is freed after this step
	// and read by no other input of it (residual_inplace.go).
	dying []int
}

// Session is a model prepared for execution. Run may be called concurrently.
type Session struct {
	model    *graph.Model
	cfg      config
	steps    []step
	slots    map[string]int
	nslots   int
	consts   map[int]*graph.Tensor
	inputs   []*graph.Value
	outputs  []*graph.Value
	outSlots []int
	keep     map[int]bool
	// constVals holds the constants at their slots and keptSlots the (name, slot)
	// pairs handed back by a run (session_slots.go): a run copies the one and
	// walks the other instead of ranging over the maps above.
	constVals []*graph.Tensor
	keptSlots []keptSlot
	// keptStep[i]: step i writes a kept slot (session_slots.go).
	keptStep []bool
	// constRanges are the memory ranges of the initializers.
	constRanges []memRange
	// Placement records, per node label, whether it runs int8 or float.
	Placement []NodePlacement
	mode      Mode
	// quant describes the int8 tensors of a lowered graph (nil in float32 mode).
	quant map[string]*QuantInfo
	// bufs recycles activation buffers across runs (arena.go).
	bufs bufPool
	// tapNames names the slots streamed to cfg.tapFunc (tap_stream.go).
	tapNames map[int]string
	// chains are the elementwise chains run in pieces, by first step (tap_chain.go).
	chains map[int]*tapChain
	// nhwc gives the channels of the slots held channels-last (layout_float.go);
	// tapCL those of them streamed to cfg.tapCL (tap_channels_last.go).
	nhwc  map[int]int
	tapCL map[int]int
	// afterStep, when set (tests), sees the slots once each step or chain has
	// produced its outputs, before its inputs are freed.
	afterStep func(vals []*graph.Tensor)
}

// NodePlacement says where a node of the executed graph runs.
type NodePlacement struct {
	Node   string
	OpType string
	Int8   bool
	// Shape marks shape computations (placement.go): integer arithmetic on the
	// results of Shape nodes, folded away once the input shapes are bound.
	Shape bool
}

// NewSession prepares a model: it infers shapes, lowers quantized graphs to int8
// kernels (unless ModeFloat), builds every kernel (pre-packing weights) and plans
// buffer lifetimes. The model is not modified.
func NewSession(m *graph.Model, opts ...Option) (*Session, error) {
	cfg := config{threads: goruntime.GOMAXPROCS(0)}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.threads <= 0 {
		cfg.threads = goruntime.GOMAXPROCS(0)
	}
	if m == nil || m.Graph == nil {
		return nil, errors.New("runtime: nil model")
	}
	work := m.Clone()
	if err := optimizeModel(work, &cfg); err != nil {
		return nil, err
	}
	var err error
	var quant map[string]*QuantInfo
	mode := cfg.mode
	if mode == ModeAuto {
		mode = ModeFloat
		if IsQuantized(work) {
			mode = ModeInt8
		}
	}
	if mode == ModeInt8 {
		lc := cfg.lowerCfg
		lc.Warn = cfg.warn
		lc.Taps = cfg.taps
		work = graph.FoldQATWeights(work) // QAT exports: Q -> DQ of float weights become int8 constants, Conv-BN scaling folds into them
		work, err = lower.Lower(work, &lc, executor{})
		if err != nil {
			return nil, fmt.Errorf("int8 lowering: %w", err)
		}
		quant = lc.Quant
	}
	s := &Session{model: work, cfg: cfg, mode: mode, quant: quant}
	if err := s.plan(); err != nil {
		return nil, err
	}
	return s, nil
}

// executor is what the int8 lowering asks of this package (lower.Executor),
// including the constant evaluator its shape inference folds with.
type executor struct{ constEval }

// EvalFloat runs m in float32 on one thread.
func (executor) EvalFloat(m *graph.Model, inputs map[string]*graph.Tensor) (map[string]*graph.Tensor, error) {
	sess, err := NewSession(m, WithMode(ModeFloat), WithThreads(1))
	if err != nil {
		return nil, err
	}
	return sess.RunTensors(inputs)
}

// HasInt8Kernel reports whether (domain, op) is registered as an int8 kernel.
func (executor) HasInt8Kernel(domain, op string) bool {
	info := Lookup(domain, op)
	return info != nil && info.Int8
}

// Mode reports how the session executes (float32 or int8).
func (s *Session) Mode() Mode { return s.mode }

// Model returns the executed (possibly lowered) model. Callers must not modify it.
func (s *Session) Model() *graph.Model { return s.model }

// Inputs describes the model inputs.
func (s *Session) Inputs() []*graph.Value { return s.inputs }

// Outputs describes the model outputs.
func (s *Session) Outputs() []*graph.Value { return s.outputs }

func (s *Session) plan() error {
	m := s.model
	g := m.Graph
	consts, err := m.InferShapes(graph.InferOptions{Eval: ConstEval()})
	if err != nil {
		return err
	}
	_ = consts
	if err := checkValueSizes(g); err != nil {
		return err
	}
	s.slots = map[string]int{}
	slot := func(name string) int {
		if id, ok := s.slots[name]; ok {
			return id
		}
		id := s.nslots
		s.nslots++
		s.slots[name] = id
		return id
	}
	s.consts = map[int]*graph.Tensor{}
	for k, t := range g.Initializers {
		s.consts[slot(k)] = t
		s.constRanges = append(s.constRanges, rangeOf(t.Data))
	}
	for _, in := range g.Inputs {
		slot(in.Name)
		s.inputs = append(s.inputs, g.Values[in.Name])
	}
	shapeOnly := shapeNodes(g)
	for _, n := range g.Nodes {
		info := Lookup(n.Domain, n.OpType)
		if info == nil {
			return fmt.Errorf("%s: %w operator %s", n.Label(), graph.ErrUnsupported, n.OpType)
		}
		bc := &BuildContext{Node: n, Opset: m.Opset(), Threads: s.cfg.threads}
		st := step{node: n}
		for _, in := range withImplicit(n) { // op_control.go: values read by subgraphs
			if in == "" {
				bc.Inputs = append(bc.Inputs, nil)
				bc.Consts = append(bc.Consts, nil)
				st.in = append(st.in, -1)
				continue
			}
			bc.Inputs = append(bc.Inputs, g.Values[in])
			bc.Consts = append(bc.Consts, g.Initializers[in])
			st.in = append(st.in, slot(in))
		}
		for _, o := range n.Outputs {
			bc.Outputs = append(bc.Outputs, g.Values[o])
			if o == "" {
				st.out = append(st.out, -1)
				continue
			}
			st.out = append(st.out, slot(o))
		}
		k, err := info.Build(bc)
		if err != nil {
			return err
		}
		st.kernel = k
		s.steps = append(s.steps, st)
		s.Placement = append(s.Placement, NodePlacement{Node: n.Name, OpType: n.OpType, Int8: info.Int8, Shape: shapeOnly[n] && !info.Int8})
	}
	s.keep = map[int]bool{}
	for _, o := range g.Outputs {
		id, ok := s.slots[o.Name]
		if !ok {
			return fmt.Errorf("graph output %q is never produced", o.Name)
		}
		s.outSlots = append(s.outSlots, id)
		s.outputs = append(s.outputs, g.Values[o.Name])
		s.keep[id] = true
	}
	if s.cfg.tapAll {
		for _, id := range s.slots {
			s.keep[id] = true
		}
	}
	for name := range s.cfg.taps {
		if id, ok := s.slots[name]; ok {
			s.keep[id] = true
		} else {
			return fmt.Errorf("tap %q: no such tensor in the executed graph", name)
		}
	}
	s.foldConstSteps() // fold_const_steps.go
	s.fuseConvEpilogues(m.Opset())
	s.fuseGroupNorms(m.Opset()) // fuse_groupnorm.go
	s.fuseInt8GroupNorms()      // fuse_int8_groupnorm.go
	// fuse_layernorm.go
	s.fuseLayerNorms(m.Opset())
	s.fuseLSTMCells()            // fuse_lstmcell.go
	s.fuseDynqMatMuls()          // fuse_dynq.go
	s.fuseElementwise()          // fuse_elementwise.go
	s.fuseDistances()            // fuse_distance.go
	s.packConstMatMuls()         // matmul_packed.go
	s.fuseAttention()            // fuse_attention.go
	s.fuseInt8Attention()        // fuse_int8_attention.go
	s.fuseInt8CacheConcats()     // fuse_int8_cache_concat.go
	s.absorbInt8AttentionViews() // int8_attention_views.go
	s.fuseInt8LSTMCells()        // fuse_int8_lstmcell.go
	s.foldInt8BiasAdds()         // fuse_int8_bias.go
	s.foldInt8GemmEpilogues()    // fuse_int8_gemm_post.go
	s.fuseInt8BinaryChains()     // fuse_int8_binary_chain.go
	s.planChannelsLast()
	s.planChannelsLast3D() // layout_3d.go
	// fuse_convtranspose_clamp.go: on the kernels the layout pass chose
	s.fuseConvTransposeClamps(m.Opset())
	s.fuseMatMulResidual()     // fuse_matmul_residual.go
	s.fuseDepthwisePointwise() // fuse_dw_pw.go
	s.fuseExpandDepthwise()    // fuse_expand_dw.go
	s.fuseGatePointwise()      // fuse_gate_pw.go
	s.fuseConvHardSigmoid()    // fuse_conv_hsig.go
	s.planConcatViews()        // concat_view.go
	// Free each intermediate after its last reader to bound memory.
	last := map[int]int{}
	for i, st := range s.steps {
		for _, id := range st.in {
			if id >= 0 {
				last[id] = i
			}
		}
	}
	for id, i := range last {
		if !s.keep[id] && s.consts[id] == nil {
			s.steps[i].free = append(s.steps[i].free, id)
		}
	}
	s.planTapStream()
	s.planTapChains()
	s.planDying() // residual_inplace.go
	s.planSlotLists()
	return nil
}

// RunTensors executes the model on IR tensors. Extra taps (configured with WithTaps or
// WithAllTaps) are returned along with the outputs.
func (s *Session) RunTensors(inputs map[string]*graph.Tensor) (map[string]*graph.Tensor, error) {
	return s.run(inputs, false)
}

// run is RunTensors; with consume it empties the inputs map (RunTensorsOwned).
func (s *Session) run(inputs map[string]*graph.Tensor, consume bool) (map[string]*graph.Tensor, error) {
	rs := s.bufs.takeRun(s.nslots)
	defer s.bufs.putRun(rs)
	vals := rs.vals
	copy(vals, s.constVals)
	for _, in := range s.inputs {
		t, ok := inputs[in.Name]
		if !ok {
			return nil, fmt.Errorf("missing input %q", in.Name)
		}
		if err := checkInput(in, t); err != nil {
			return nil, err
		}
		if e, ok := t.SeqElems(); ok && t.DType != in.DType && len(e) == 0 {
			t = graph.NewSequence(in.DType, nil) // an empty sequence read without its type
		}
		vals[s.slots[in.Name]] = t
	}
	for name := range inputs {
		found := false
		for _, in := range s.inputs {
			if in.Name == name {
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown input %q", name)
		}
	}
	inRanges := rs.inRanges[:0]
	for _, in := range inputs {
		inRanges = append(inRanges, rangeOf(in.Data))
	}
	rs.inRanges = inRanges
	if consume {
		clear(inputs)
	}
	if err := s.tapStreamStart(vals); err != nil {
		return nil, err
	}
	defer keepPoolAwake(s.cfg.threads)()
	s.bufs.beginRun()
	arena := &rs.arena
	*arena = runArena{pool: &s.bufs, bufs: arena.bufs[:0]}
	if s.cfg.tapFunc == nil && s.afterStep == nil {
		arena.slab = s.bufs.takeSlab()
		defer s.bufs.putSlab(arena.slab)
	}
	ctx := &rs.ctx
	ctx.Threads, ctx.arena, ctx.views, ctx.overwrite, ctx.noSlab = s.cfg.threads, arena, nil, 0, false
	if err := s.execSteps(ctx, vals, rs.held, inRanges, rs.args[:0]); err != nil {
		return nil, err
	}
	res := make(map[string]*graph.Tensor, len(s.keep))
	owned := rs.owned[:0]
	for _, ks := range s.keptSlots {
		if name, id := ks.name, ks.id; vals[id] != nil {
			t := vals[id]
			// View operators (Reshape, Identity, ...) may return the memory of an
			// initializer or of a caller's input; hand out a copy so that a caller who
			// edits a result cannot change the model or its own inputs.
			if len(owned) == 0 {
				owned = append(append(owned, s.constRanges...), inRanges...)
				// the small-tensor block goes back to the session
				if r := arena.slab.memRange(); r.lo != r.hi {
					owned = append(owned, r)
				}
			}
			if s.consts[id] != nil || overlapsAny(rangeOf(t.Data), owned) {
				t = t.Clone()
			}
			res[name] = t
		}
	}
	rs.owned = owned
	return res, nil
}

// execSteps runs the steps on vals (inputs and constants set): each step's
// outputs are held in held (the arena buffers they point into), and each slot
// is freed after its last reader. args is scratch for the steps' arguments.
// A slot that still holds a buffer when its step writes it again (an output
// nothing reads, in a body run once per iteration: session_iter.go) lets go of
// the old one first.
func (s *Session) execSteps(ctx *ExecContext, vals []*graph.Tensor, held []*arenaBuf, inRanges []memRange, args []*graph.Tensor) error {
	arena := ctx.arena
	for i := 0; i < len(s.steps); i++ {
		if ch := s.chains[i]; ch != nil {
			if done, err := s.runChain(ctx, ch, vals, held, arena, inRanges); err != nil {
				return err
			} else if done {
				i = ch.last
				continue
			}
		}
		st := s.steps[i]
		args = args[:0]
		for _, id := range st.in {
			if id < 0 {
				args = append(args, nil)
			} else {
				args = append(args, vals[id])
			}
		}
		ctx.overwrite = s.overwritable(&st, vals, held, ctx)
		ctx.noSlab = i < len(s.keptStep) && s.keptStep[i]
		outs, err := st.kernel.Run(ctx, args)
		ctx.overwrite, ctx.noSlab = 0, false
		if err != nil {
			return fmt.Errorf("%s: %w", st.node.Label(), err)
		}
		for i, id := range st.out {
			if id >= 0 && i < len(outs) {
				if b := held[id]; b != nil {
					held[id] = nil
					arena.release(b)
				}
				vals[id] = outs[i]
				if len(arena.bufs) > 0 && outs[i] != nil {
					held[id] = arena.hold(rangeOf(outs[i].Data))
				}
			}
		}
		if s.afterStep != nil {
			s.afterStep(vals)
		}
		if err := s.tapStreamStep(&st, vals); err != nil {
			return err
		}
		for _, id := range st.free {
			vals[id] = nil
			if b := held[id]; b != nil {
				held[id] = nil
				arena.release(b)
			}
		}
		ctx.sweep()
	}
	return nil
}

// memRange is the address range of a tensor's backing array.
type memRange struct{ lo, hi uintptr }

func rangeOf(data any) memRange {
	v := reflect.ValueOf(data)
	if v.Kind() != reflect.Slice || v.Len() == 0 {
		return memRange{}
	}
	lo := v.Pointer()
	return memRange{lo, lo + uintptr(v.Len())*v.Type().Elem().Size()}
}

func overlapsAny(r memRange, rs []memRange) bool {
	if r.lo == r.hi {
		return false
	}
	for _, o := range rs {
		if r.lo < o.hi && o.lo < r.hi {
			return true
		}
	}
	return false
}

func checkInput(v *graph.Value, t *graph.Tensor) error {
	if t == nil {
		return fmt.Errorf("input %q is nil", v.Name)
	}
	if v.Seq || t.IsSeq() {
		return checkSeqInput(v, t) // op_sequence.go
	}
	if v.DType != graph.Undefined && t.DType != v.DType {
		return fmt.Errorf("input %q: got %s, model expects %s", v.Name, t.DType, v.DType)
	}
	if t.Data == nil || graph.NumElements(t.Shape) != graph.DataLen(t.Data) {
		return fmt.Errorf("input %q: shape %s does not match its data length", v.Name, graph.FormatDims(t.Shape))
	}
	if v.HasShape {
		if len(t.Shape) != len(v.Shape) {
			return fmt.Errorf("input %q: got shape %s, model expects %s", v.Name, graph.FormatDims(t.Shape), v.Shape)
		}
		for i, d := range v.Shape {
			if d.Known() && d.Size != t.Shape[i] {
				return fmt.Errorf("input %q: got shape %s, model expects %s", v.Name, graph.FormatDims(t.Shape), v.Shape)
			}
		}
	}
	return nil
}

// Run executes the model on gorgonia dense tensors, keyed by input name, and returns
// the outputs keyed by name.
func (s *Session) Run(inputs map[string]*tensor.Dense) (map[string]*tensor.Dense, error) {
	in := make(map[string]*graph.Tensor, len(inputs))
	for k, v := range inputs {
		t, err := FromDense(v)
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", k, err)
		}
		in[k] = t
	}
	out, err := s.RunTensors(in)
	if err != nil {
		return nil, err
	}
	res := make(map[string]*tensor.Dense, len(s.outputs))
	for _, o := range s.outputs {
		t := out[o.Name]
		if t == nil {
			return nil, fmt.Errorf("output %q was not computed", o.Name)
		}
		d, err := ToDense(t)
		if err != nil {
			return nil, fmt.Errorf("output %q: %w", o.Name, err)
		}
		res[o.Name] = d
	}
	return res, nil
}

// FromDense converts a gorgonia tensor to the IR tensor type (sharing the backing data).
func FromDense(d *tensor.Dense) (*graph.Tensor, error) {
	if d == nil {
		return nil, errors.New("nil tensor")
	}
	shape := []int(d.Shape().Clone())
	if d.IsScalar() {
		shape = nil
	}
	var data any
	switch d.Dtype() {
	case tensor.Float32:
		data = d.Float32s()
		return &graph.Tensor{DType: graph.Float32, Shape: shape, Data: data}, nil
	case tensor.Float64:
		return &graph.Tensor{DType: graph.Float64, Shape: shape, Data: d.Float64s()}, nil
	case tensor.Int8:
		return &graph.Tensor{DType: graph.Int8, Shape: shape, Data: d.Int8s()}, nil
	case tensor.Uint8:
		return &graph.Tensor{DType: graph.Uint8, Shape: shape, Data: d.Uint8s()}, nil
	case tensor.Int32:
		return &graph.Tensor{DType: graph.Int32, Shape: shape, Data: d.Int32s()}, nil
	case tensor.Int64:
		return &graph.Tensor{DType: graph.Int64, Shape: shape, Data: d.Int64s()}, nil
	case tensor.Bool:
		return &graph.Tensor{DType: graph.Bool, Shape: shape, Data: d.Bools()}, nil
	}
	return nil, fmt.Errorf("unsupported tensor dtype %v", d.Dtype())
}

// ToDense converts an IR tensor to a gorgonia dense tensor (sharing the data).
func ToDense(t *graph.Tensor) (*tensor.Dense, error) {
	shape := t.Shape
	switch t.Data.(type) {
	case []float32, []float64, []int8, []uint8, []int32, []int64, []bool, []int16, []uint16, []uint32, []uint64:
	default:
		return nil, fmt.Errorf("cannot convert %s tensor", t.DType)
	}
	if len(shape) == 0 {
		return tensor.New(tensor.WithShape(), tensor.WithBacking(t.Data)), nil
	}
	return tensor.New(tensor.WithShape(append([]int(nil), shape...)...), tensor.WithBacking(t.Data)), nil
}
