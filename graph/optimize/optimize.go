package optimize

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// MaxFoldElements bounds a tensor produced by folding: an Expand or
// ConstantOfShape folded into a huge initializer would cost memory at every
// session for nothing.
const MaxFoldElements = 1 << 24

// Options configure Optimize.
type Options struct {
	// Keep names tensors that must stay computed under their own name (taps);
	// graph outputs are always kept.
	Keep map[string]bool
	// Eval runs nodes whose inputs are all constant (Cast of a constant, arithmetic
	// on weights, shape arithmetic during inference); the runtime passes
	// runtime.ConstEval(), its own kernels. nil folds only what shape inference
	// knows without running a kernel (graph.NoFold) and Constant/Identity chains.
	Eval graph.ConstEval
	// FoldQDQ lets QuantizeLinear and DequantizeLinear of constants fold like
	// any other node (with Eval). The int8 lowering reads DequantizeLinear of a
	// constant as int8 weights, so only a session that runs a quantized graph
	// on the float executor sets it (eighteenth session): a QAT export's
	// fake-quantized weights, Q → DQ of a float initializer, were recomputed
	// at every run, and the convolutions reading them took the general path
	// for weights not known in advance.
	FoldQDQ bool
	// SumSquares writes sums of squares and their roots as ReduceSumSquare
	// and ReduceL2 (sum_squares.go). The executors set it; the quantizer,
	// whose plan and calibration read the square as a tensor of its own,
	// does not.
	SumSquares bool
}

// Stats counts what a run of Optimize changed.
type Stats struct {
	Constants  int // Constant nodes turned into initializers
	Identities int // Identity / inference Dropout / zero Pad nodes removed
	Folded     int // nodes replaced by their constant outputs
	Dead       int // nodes whose outputs nobody reads
	Pads       int // zero Pads folded into the Conv or AveragePool after them
	Taps       int // Convs cut to the kernel taps that read the input (conv_taps.go)
	Pools      int // spatial ReduceMeans written as GlobalAveragePool, or as an AveragePool over one axis, and ReduceMaxes as GlobalMaxPool (reduce_pool.go)
	Sums       int // variadic Sums written as chains of Adds (sum_add.go)
	Deconvs    int // stride-1 ConvTransposes written as Convs (convtranspose_conv.go)
	Transposes int // Transposes moved towards their readers, merged or cancelled (transpose_sink.go)
	Affine     int // Mul/Add/Sub by per-channel constants folded into the Conv or ConvTranspose before them (conv_affine.go)
	LRNs       int // torch's spelled-out local response normalisations written as LRN (lrn_fold.go)
	Splits     int // Splits with one output read written as a Slice (split_slice.go)
	SumSquares int // ReduceSum of a square written as ReduceSumSquare, its square root as ReduceL2 (sum_squares.go)
}

func (s Stats) String() string {
	return fmt.Sprintf("%d constants, %d identities, %d folded, %d dead, %d pads, %d trimmed convs, %d pools, %d sums, %d deconvs as convs, %d transposes sunk, %d affine ops folded into convs, %d LRNs, %d splits as slices, %d sums of squares",
		s.Constants, s.Identities, s.Folded, s.Dead, s.Pads, s.Taps, s.Pools, s.Sums, s.Deconvs, s.Transposes, s.Affine, s.LRNs, s.Splits, s.SumSquares)
}

// Optimize rewrites m in place (callers that need the original pass a copy:
// node and value structs are edited, tensors are never written). The graph must
// be a DAG; shapes are inferred with the declared input shapes.
func Optimize(m *graph.Model, opts Options) (Stats, error) {
	var st Stats
	if m == nil || m.Graph == nil {
		return st, fmt.Errorf("optimize: nil model")
	}
	g := m.Graph
	if err := g.TopoSort(); err != nil {
		return st, fmt.Errorf("optimize: %w", err)
	}
	keep := map[string]bool{}
	for k, v := range opts.Keep {
		keep[k] = v
	}
	for _, o := range g.Outputs {
		keep[o.Name] = true
	}
	st.Constants = constantsToInitializers(g, keep)
	st.Identities = removeIdentities(g, keep)
	// Folding by the evaluator can make a shape known that inference could not
	// see in the same round (torchvision's detection transform computes its
	// Resize sizes with float arithmetic: once they are an initializer, the
	// resized image's shape, the Shape chains of batch_images that read it, the
	// padding and every backbone shape after it become known). Fold again
	// until nothing changes; a round that folds nothing ends it.
	for round := 0; round < maxFoldRounds; round++ {
		n, err := foldConstants(m, keep, opts.Eval, opts.FoldQDQ)
		if err != nil {
			return st, err
		}
		st.Folded += n
		if n == 0 || opts.Eval == nil {
			break
		}
	}
	padAxesToFull(g) // Pad-18's axes form into full pads, which the passes below read
	st.Deconvs = convTransposeToConv(g)
	st.Transposes = sinkTransposes(g, keep, m.Opset())
	st.Identities += removeIdentities(g, keep) // Transpose pairs that cancelled
	st.Affine = foldConvAffine(g, keep)
	st.Pads = foldPads(g, keep)
	st.Dead = removeDead(g, keep) // folded shape checks still read the LRN's intermediates
	st.LRNs = foldLRN(g, keep)    // after foldPads: the channel Pad is in the pool
	st.Taps = trimDeadTaps(g)
	st.Pools = reduceMeanToPool(g, m.Opset())
	st.Sums = sumToAdds(g, m.Opset())
	st.Splits = splitToSlice(g, keep, m.Opset())
	if opts.SumSquares {
		st.SumSquares = sumSquares(g, keep, m.Opset())
	}
	st.Identities += removeIdentities(g, keep) // Pads of zero found by folding
	st.Dead += removeDead(g, keep)
	return st, nil
}

// constantsToInitializers turns Constant nodes into initializers.
func constantsToInitializers(g *graph.Graph, keep map[string]bool) int {
	var nodes []*graph.Node
	count := 0
	for _, n := range g.Nodes {
		if !isOp(n, "Constant") || len(n.Outputs) != 1 || g.IsGraphOutput(n.Outputs[0]) {
			nodes = append(nodes, n)
			continue
		}
		t := constantValue(n)
		if t == nil {
			nodes = append(nodes, n) // sparse or unknown form: the executor runs it
			continue
		}
		o := n.Outputs[0]
		g.Initializers[o] = t
		g.Values[o] = &graph.Value{Name: o, DType: t.DType, Shape: graph.ShapeOf(t.Shape...), HasShape: true}
		count++
	}
	g.Nodes = nodes
	return count
}

func constantValue(n *graph.Node) *graph.Tensor {
	switch {
	case n.AttrTensor("value") != nil:
		return n.AttrTensor("value")
	case n.HasAttr("value_float"):
		return graph.FromFloat32(nil, []float32{n.AttrFloat("value_float", 0)})
	case n.HasAttr("value_floats"):
		f := n.AttrFloats("value_floats", nil)
		return graph.FromFloat32([]int{len(f)}, append([]float32(nil), f...))
	case n.HasAttr("value_int"):
		return graph.FromInt64(nil, []int64{n.AttrInt("value_int", 0)})
	case n.HasAttr("value_ints"):
		v := n.AttrInts("value_ints", nil)
		return graph.FromInt64([]int{len(v)}, append([]int64(nil), v...))
	}
	return nil
}

// removeIdentities drops Identity nodes and inference-mode Dropout whose mask
// nobody reads, rewiring their readers to the input. An Identity whose output
// must be kept (a graph output or a tap) keeps its name: when it is a graph output
// and its input is an ordinary intermediate tensor (not kept, not a graph input,
// initializer or output), the input's producer writes the output name instead;
// otherwise the Identity stays.
func removeIdentities(g *graph.Graph, keep map[string]bool) int {
	cons := g.Consumers()
	rename := map[string]string{}
	resolve := func(s string) string {
		for {
			r, ok := rename[s]
			if !ok {
				return s
			}
			s = r
		}
	}
	producer := map[string]*graph.Node{}
	var nodes []*graph.Node
	count := 0
	for _, n := range g.Nodes {
		if !identityLike(g, n, cons) {
			nodes = append(nodes, n)
			for _, o := range n.Outputs {
				producer[o] = n
			}
			continue
		}
		x, y := resolve(n.Inputs[0]), n.Outputs[0]
		if keep[y] {
			p := producer[x]
			if !g.IsGraphOutput(y) || p == nil || keep[x] || g.Input(x) != nil || g.Initializers[x] != nil || g.IsGraphOutput(x) {
				nodes = append(nodes, n)
				for _, o := range n.Outputs {
					producer[o] = n
				}
				continue
			}
			for i, o := range p.Outputs {
				if o == x {
					p.Outputs[i] = y
				}
			}
			producer[y] = p
			rename[x] = y
			count++
			continue
		}
		rename[y] = x
		count++
	}
	for _, n := range nodes {
		for i, in := range n.Inputs {
			if in != "" {
				n.Inputs[i] = resolve(in)
			}
		}
		n.RenameImplicit(resolve) // subgraphs read outer values by name
	}
	g.Nodes = nodes
	return count
}

func identityLike(g *graph.Graph, n *graph.Node, cons map[string][]*graph.Node) bool {
	if len(n.Inputs) == 0 || n.Inputs[0] == "" || len(n.Outputs) == 0 || n.Outputs[0] == "" {
		return false
	}
	switch {
	case isOp(n, "Identity"):
		return len(n.Outputs) == 1
	case isOp(n, "Pad"):
		return padsNothing(g, n)
	case isOp(n, "Cast"):
		return len(n.Outputs) == 1 && castKeepsType(g, n)
	case isOp(n, "Dropout"):
		if len(n.Outputs) > 1 && n.Outputs[1] != "" && (len(cons[n.Outputs[1]]) > 0 || g.IsGraphOutput(n.Outputs[1])) {
			return false
		}
		if n.AttrInt("is_test", 1) == 0 {
			return false // opset < 7 training-mode Dropout
		}
		if tm := n.Input(2); tm != "" {
			t := g.Initializers[tm]
			if t == nil {
				return false
			}
			if b, ok := t.Data.([]bool); !ok || len(b) != 1 || b[0] {
				return zeroDropoutRatio(g, n) // training mode drops nothing at ratio 0
			}
		}
		return true
	}
	return false
}

// neverFold are operators whose outputs are not a function of their inputs, or
// whose pattern a later pass matches (the quantization operators: the int8
// lowering reads DequantizeLinear of constant weights as "int8 weights").
var neverFold = map[string]bool{
	"RandomNormal": true, "RandomUniform": true, "RandomNormalLike": true, "RandomUniformLike": true,
	"Multinomial": true, "Bernoulli": true,
	"QuantizeLinear": true, "DequantizeLinear": true, "DynamicQuantizeLinear": true,
	"QLinearConv": true, "QLinearMatMul": true, "ConvInteger": true, "MatMulInteger": true,
}

// maxFoldRounds bounds the folding rounds (each one shape inference over the
// graph); exports need two or three.
const maxFoldRounds = 8

// foldConstants replaces nodes whose outputs are known at compile time by
// initializers: what shape inference computes (Shape -> Gather -> Concat ... once
// the input shapes are bound) and, with an evaluator, any node whose inputs are
// all constant.
func foldConstants(m *graph.Model, keep map[string]bool, eval graph.ConstEval, qdq bool) (int, error) {
	g := m.Graph
	infer := eval
	if infer == nil {
		infer = graph.NoFold{}
	}
	known, err := m.InferShapes(graph.InferOptions{Eval: infer})
	if err != nil {
		return 0, fmt.Errorf("optimize: %w", err)
	}
	var nodes []*graph.Node
	count := 0
	for _, n := range g.Nodes {
		if !foldable(n, keep) && !(qdq && foldableQDQ(n, keep)) {
			nodes = append(nodes, n)
			continue
		}
		outs := make([]*graph.Tensor, len(n.Outputs))
		all := true
		for i, o := range n.Outputs {
			if o == "" {
				continue
			}
			if t := known[o]; t != nil {
				outs[i] = t
			} else {
				all = false
			}
		}
		if !all {
			ins, ok := constInputs(g, n)
			if !ok || eval == nil {
				nodes = append(nodes, n)
				continue
			}
			ev, err := eval.EvalConst(n, m.Opset(), ins)
			if err != nil || len(ev) != len(n.Outputs) {
				// Left to the executor, which reports the error where it happens
				// (with the node's context) if the node ever runs.
				nodes = append(nodes, n)
				continue
			}
			outs = ev
		}
		small := true
		for i, t := range outs {
			if n.Outputs[i] != "" && (t == nil || t.Len() > MaxFoldElements) {
				small = false
			}
		}
		if !small {
			nodes = append(nodes, n)
			continue
		}
		for i, o := range n.Outputs {
			if o == "" {
				continue
			}
			g.Initializers[o] = outs[i]
			g.Values[o] = &graph.Value{Name: o, DType: outs[i].DType, Shape: graph.ShapeOf(outs[i].Shape...), HasShape: true}
		}
		count++
	}
	g.Nodes = nodes
	return count, nil
}

// foldable: a deterministic default-domain operator that writes no kept tensor
// (a kept tensor may be folded too, but then it is an initializer and the graph
// output or tap would be the model's constant, which callers do not expect).
func foldable(n *graph.Node, keep map[string]bool) bool {
	// Sequence values are never constants (graph/seq_value.go): an initializer
	// is a tensor.
	if (n.Domain != "" && n.Domain != "ai.onnx") || neverFold[n.OpType] || graph.IsSeqOp(n) || len(n.Outputs) == 0 || n.HasSubgraphs() {
		return false
	}
	for _, o := range n.Outputs {
		if o != "" && keep[o] {
			return false
		}
	}
	return true
}

// foldableQDQ: a default-domain QuantizeLinear or DequantizeLinear that
// writes no kept tensor (Options.FoldQDQ).
func foldableQDQ(n *graph.Node, keep map[string]bool) bool {
	if (n.Domain != "" && n.Domain != "ai.onnx") || !(n.OpType == "QuantizeLinear" || n.OpType == "DequantizeLinear") {
		return false
	}
	for _, o := range n.Outputs {
		if o != "" && keep[o] {
			return false
		}
	}
	return true
}

func constInputs(g *graph.Graph, n *graph.Node) ([]*graph.Tensor, bool) {
	ins := make([]*graph.Tensor, len(n.Inputs))
	for i, in := range n.Inputs {
		if in == "" {
			continue
		}
		t := g.Initializers[in]
		if t == nil {
			return nil, false
		}
		ins[i] = t
	}
	return ins, true
}

// removeDead drops nodes none of whose outputs is read or kept, then unused
// initializers and the value descriptions of removed tensors.
func removeDead(g *graph.Graph, keep map[string]bool) int {
	needed := map[string]bool{}
	for k := range keep {
		needed[k] = true
	}
	live := make([]bool, len(g.Nodes))
	count := 0
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		n := g.Nodes[i]
		for _, o := range n.Outputs {
			if o != "" && needed[o] {
				live[i] = true
			}
		}
		if !live[i] {
			count++
			continue
		}
		for _, in := range n.Inputs {
			needed[in] = true
		}
		for _, in := range n.ImplicitInputs() {
			needed[in] = true
		}
	}
	nodes := g.Nodes[:0]
	produced := map[string]bool{}
	for i, n := range g.Nodes {
		if live[i] {
			nodes = append(nodes, n)
			for _, o := range n.Outputs {
				produced[o] = true
			}
		}
	}
	for i := len(nodes); i < len(g.Nodes); i++ {
		g.Nodes[i] = nil
	}
	g.Nodes = nodes
	for k := range g.Initializers {
		if !needed[k] {
			delete(g.Initializers, k)
		}
	}
	for k := range g.Values {
		if !needed[k] && !produced[k] && g.Input(k) == nil && g.Initializers[k] == nil {
			delete(g.Values, k)
		}
	}
	return count
}

func isOp(n *graph.Node, op string) bool {
	return n.OpType == op && (n.Domain == "" || n.Domain == "ai.onnx")
}
