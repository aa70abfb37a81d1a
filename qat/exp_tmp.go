package qat

import (
	"fmt"
	"math"
	"os"

	"github.com/warboy-sim/warboy/graph"
)

// EXPERIMENT ONLY (not to be committed): recipe variants switched by environment.
var (
	expFloatBias = os.Getenv("WARBOY_QAT_EXP_FLOATBIAS") != ""
	expTorchGrid = os.Getenv("WARBOY_QAT_EXP_TORCHGRID") != ""
	// expTraining is the training flag of the last Forward (one net per process).
	expTraining bool
)

// torchGrid is PyTorch's onednn QAT weight grid: per-channel moving average
// (constant 0.01) of min/max, scale max(-min/128, max/127), codes [-128, 127].
type torchGrid struct {
	lo, hi []float32
	init   bool
	mask   []bool // clamped: no gradient
}

func (t *torchGrid) fq(w []float32, shape []int, axis int, scales, dst []float32) []float32 {
	outer, ch, inner := graph.SplitAxis(shape, axis)
	if expTraining || !t.init {
		if len(t.lo) != ch {
			t.lo, t.hi = make([]float32, ch), make([]float32, ch)
		}
		for c := 0; c < ch; c++ {
			mn, mx := float32(math.Inf(1)), float32(math.Inf(-1))
			for o := 0; o < outer; o++ {
				for _, v := range w[(o*ch+c)*inner : (o*ch+c+1)*inner] {
					mn, mx = min(mn, v), max(mx, v)
				}
			}
			if !t.init {
				t.lo[c], t.hi[c] = mn, mx
			} else {
				t.lo[c] += 0.01 * (mn - t.lo[c])
				t.hi[c] += 0.01 * (mx - t.hi[c])
			}
		}
		t.init = true
	}
	scales = grow(scales, ch)
	for c := 0; c < ch; c++ {
		lo, hi := min(t.lo[c], 0), max(t.hi[c], 0)
		s := max(float32(math.Abs(float64(lo/-128))), float32(math.Abs(float64(hi/127))))
		if s == 0 || math.IsInf(float64(1/s), 0) {
			s = 0.1
		}
		scales[c] = s
	}
	if len(t.mask) != len(w) {
		t.mask = make([]bool, len(w))
	}
	for r := 0; r < outer*ch; r++ {
		s := scales[r%ch]
		inv := 1 / s
		base := r * inner
		for i, v := range w[base : base+inner] {
			q := float32(math.RoundToEven(float64(v * inv)))
			t.mask[base+i] = q < -128 || q > 127
			q = max(-128, min(127, q))
			dst[base+i] = q * s
		}
	}
	return scales
}

func (t *torchGrid) applyMask(d []float32) {
	for i, m := range t.mask {
		if m {
			d[i] = 0
		}
	}
}

type expWeight struct {
	name string
	w    *weightRef
	bn   *convBNOp
}

var expWeights []expWeight

// expPatch rewrites the exported int8 weights (and their int32 biases) onto the
// torch grid's scales.
func expPatch(n *Net, m *graph.Model) error {
	g := m.Graph
	fm, err := n.FloatModel()
	if err != nil {
		return err
	}
	prod := g.Producers()
	for _, e := range expWeights {
		if !e.w.quant || e.w.tg == nil {
			continue
		}
		if !e.w.tg.init {
			if e.bn != nil {
				e.bn.scale(1)
			} else {
				e.w.prepare(1)
			}
		}
		qn, sn := e.name+"_quantized", e.name+"_scale"
		qt, st := g.Initializers[qn], g.Initializers[sn]
		if qt == nil || st == nil {
			return fmt.Errorf("exp: %s not found", qn)
		}
		f := fm.Graph.Initializers[e.name].F32()
		S := e.w.scales
		outer, ch, inner := graph.SplitAxis(qt.Shape, e.w.axis)
		if ch != len(S) {
			return fmt.Errorf("exp: %s: %d channels, %d scales", e.name, ch, len(S))
		}
		codes := make([]int8, len(f))
		for r := 0; r < outer*ch; r++ {
			inv := 1 / S[r%ch]
			for i := r * inner; i < (r+1)*inner; i++ {
				q := math.RoundToEven(float64(f[i] * inv))
				codes[i] = int8(max(-128, min(127, q)))
			}
		}
		g.Initializers[qn] = graph.FromInt8(qt.Shape, codes)
		g.Initializers[sn] = graph.FromFloat32(st.Shape, append([]float32(nil), S...))
		// the consumer's bias
		var dqOut string
		for _, nd := range g.Nodes {
			if nd.OpType == "DequantizeLinear" && nd.Input(0) == qn {
				dqOut = nd.Outputs[0]
			}
		}
		for _, nd := range g.Nodes {
			if (nd.OpType != "Conv" && nd.OpType != "Gemm" && nd.OpType != "ConvTranspose") || nd.Input(1) != dqOut || nd.Input(2) == "" {
				continue
			}
			bdq, xdq := prod[nd.Input(2)], prod[nd.Input(0)]
			if bdq == nil || xdq == nil || bdq.OpType != "DequantizeLinear" || xdq.OpType != "DequantizeLinear" {
				return fmt.Errorf("exp: %s: bias or input not dequantized", nd.Name)
			}
			bq, bs := g.Initializers[bdq.Input(0)], g.Initializers[bdq.Input(1)]
			sin := g.Initializers[xdq.Input(1)].F32()[0]
			var fb []float32
			if t := fm.Graph.Initializers[bdq.Input(0)[:len(bdq.Input(0))-len("_quantized")]]; t != nil {
				fb = t.F32()
			} else {
				return fmt.Errorf("exp: float bias of %s not found", bdq.Input(0))
			}
			ns := make([]float32, len(S))
			q32 := make([]int32, len(S))
			for c := range S {
				ns[c] = sin * S[c]
				q32[c] = int32(math.RoundToEven(float64(fb[c]) / float64(ns[c])))
			}
			g.Initializers[bdq.Input(0)] = graph.FromInt32(bq.Shape, q32)
			g.Initializers[bdq.Input(1)] = graph.FromFloat32(bs.Shape, ns)
		}
	}
	return nil
}

// Variant C: PyTorch eager's placement on the ResNet: the residual sum's range
// includes its negative min (FQ before the ReLU: ReLU(FQ(x)) = FQ(ReLU(x)) on that
// grid), and the GlobalAveragePool output is not quantized in training and is
// exported on its input's grid.
var (
	expPlacement = os.Getenv("WARBOY_QAT_EXP_PLACEMENT") != ""
	expAlias     map[*actRange]*actRange
	expAddRelu   map[*fqOp]bool
	expSetupDone *Net
)

func expSetup(n *Net) {
	if !expPlacement || expSetupDone == n {
		return
	}
	expSetupDone = n
	expAlias, expAddRelu = map[*actRange]*actRange{}, map[*fqOp]bool{}
	byOut := map[int]*fqOp{}
	addOut := map[int]bool{}
	for _, o := range n.ops {
		switch v := o.(type) {
		case *fqOp:
			byOut[v.out] = v
		case *binaryOp:
			if v.kind == "Add" {
				addOut[v.out] = true
			}
		}
	}
	for _, o := range n.ops {
		switch v := o.(type) {
		case *fqOp:
			if v.relu != nil && addOut[v.relu.in] {
				expAddRelu[v] = true
			}
		case *poolOp:
			if v.kind != "GlobalAveragePool" {
				continue
			}
			src := byOut[v.in]
			for _, p := range n.ops {
				if f, ok := p.(*fqOp); ok && f.in == v.out && src != nil {
					expAlias[f.r] = src.r
				}
			}
		}
	}
	fmt.Fprintf(os.Stderr, "exp placement: %d add+relu ranges, %d pool aliases\n", len(expAddRelu), len(expAlias))
}

func (n *Net) expRanges(out map[string][2]float32) {
	if !expPlacement {
		return
	}
	expSetup(n)
	for _, a := range n.plan.Activations {
		if a.IsFixed {
			continue
		}
		if r := n.ranges[a.Source]; r != nil {
			if s := expAlias[r]; s != nil {
				out[a.Name] = [2]float32{s.lo, s.hi}
			}
		}
	}
}
