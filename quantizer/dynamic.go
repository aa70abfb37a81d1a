package quantizer

import (
	"errors"
	"fmt"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// DynamicOptions configure QuantizeDynamic.
type DynamicOptions struct {
	// Exclude names nodes to keep in float32.
	Exclude []string
	// Notes receives explanations of nodes left in float32.
	Notes func(string)
}

// QuantizeDynamic returns a copy of m with weight-only int8 quantization, as PyTorch's
// quantize_dynamic and ONNX Runtime's quantize_dynamic: the constant weights of MatMul
// and Gemm become per-channel symmetric int8, and activations are quantized per batch
// at run time. Each such node becomes the standard pattern ONNX Runtime executes:
//
//	x -> DynamicQuantizeLinear -> (x_u8, x_scale, x_zero_point)
//	MatMulInteger(x_u8, W_i8, x_zero_point) -> Cast(float) -> Mul(x_scale * w_scale) [-> Add(bias)]
//
// An LSTM with constant weights becomes ONNX Runtime's DynamicQuantizeLSTM
// (com.microsoft; dynamicLSTM). GRU and RNN stay in float32 (ONNX Runtime has no
// dynamically quantized form of them; a note says so), as does every other operator.
func QuantizeDynamic(m *graph.Model, opts DynamicOptions) (*graph.Model, error) {
	if m == nil || m.Graph == nil {
		return nil, errors.New("quantize dynamic: nil model")
	}
	if err := checkNotQuantized(m); err != nil {
		return nil, err
	}
	q, err := Optimize(m)
	if err != nil {
		return nil, err
	}
	if err := upgradeOpset(q, 13); err != nil {
		return nil, err
	}
	if _, err := q.InferShapes(graph.InferOptions{Eval: runtime.ConstEval()}); err != nil {
		return nil, err
	}
	note := func(format string, args ...any) {
		if opts.Notes != nil {
			opts.Notes(fmt.Sprintf(format, args...))
		}
	}
	exclude := map[string]bool{}
	for _, e := range opts.Exclude {
		exclude[e] = true
	}
	g := q.Graph
	dq := map[string][3]string{} // activation -> DynamicQuantizeLinear outputs
	var nodes []*graph.Node
	converted := 0
	for _, n := range g.Nodes {
		if n.Domain == "" && (n.OpType == "GRU" || n.OpType == "RNN") {
			note("%s stays float32: no dynamically quantized %s operator (ONNX Runtime has none either)", n.Label(), n.OpType)
		}
		if n.Domain == "" && n.OpType == "LSTM" {
			repl, why := dynamicLSTM(g, n, exclude)
			if repl != nil {
				nodes = append(nodes, repl...)
				converted++
				q.Opsets[graph.DynamicLSTMDomain] = 1
				continue
			}
			note("%s stays float32: %s", n.Label(), why)
		}
		repl, why := dynamicNode(g, n, dq, exclude)
		if repl == nil {
			if why != "" {
				note("%s stays float32: %s", n.Label(), why)
			}
			nodes = append(nodes, n)
			continue
		}
		nodes = append(nodes, repl...)
		converted++
	}
	if converted == 0 {
		return nil, errors.New("quantize dynamic: the model has no MatMul, Gemm or LSTM with constant float32 weights")
	}
	g.Nodes = nodes
	g.RemoveUnused()
	if err := g.TopoSort(); err != nil {
		return nil, err
	}
	if _, err := q.InferShapes(graph.InferOptions{Eval: runtime.ConstEval()}); err != nil {
		return nil, fmt.Errorf("quantize dynamic: the quantized graph is invalid (a quantizer bug): %w", err)
	}
	if q.Metadata == nil {
		q.Metadata = map[string]string{}
	}
	q.Metadata[MetaFormat] = "dynamic"
	q.Metadata[MetaTool] = "warboy-quantizer " + Version
	q.Metadata[MetaWeights] = "int8 symmetric per-channel [-127,127]"
	q.Metadata[MetaActivations] = "uint8 per-tensor, quantized at run time (DynamicQuantizeLinear)"
	q.Metadata[MetaMethod] = "dynamic"
	q.ProducerName = "warboy"
	q.ProducerVersion = Version
	return q, nil
}

// dynamicNode returns the replacement of a MatMul/Gemm with a constant weight, or nil
// and why not (empty for operators that are never converted).
func dynamicNode(g *graph.Graph, n *graph.Node, dq map[string][3]string, exclude map[string]bool) ([]*graph.Node, string) {
	if n.Domain != "" || (n.OpType != "MatMul" && n.OpType != "Gemm") {
		return nil, ""
	}
	if exclude[n.Name] {
		return nil, "excluded"
	}
	x := n.Input(0)
	w := g.Initializers[n.Input(1)]
	if w == nil || w.DType != graph.Float32 || len(w.Shape) != 2 {
		return nil, "its weight is not a 2-D float32 constant"
	}
	if v := g.Values[x]; v == nil || v.DType != graph.Float32 {
		return nil, "its input is not float32"
	}
	// Weight as [K, N] with one scale per column (output feature).
	wd := w.F32()
	kn := w
	if n.OpType == "Gemm" {
		if n.AttrInt("transA", 0) != 0 {
			return nil, "transA=1 is not supported"
		}
		if c := n.Input(2); c != "" && g.Initializers[c] == nil && n.AttrFloat("beta", 1) != 1 {
			return nil, "its bias is not constant and beta != 1"
		}
		if n.AttrInt("transB", 0) != 0 {
			nOut, k := w.Shape[0], w.Shape[1]
			t := make([]float32, len(wd))
			for i := 0; i < nOut; i++ {
				for j := 0; j < k; j++ {
					t[j*nOut+i] = wd[i*k+j]
				}
			}
			kn = graph.FromFloat32([]int{k, nOut}, t)
		}
	}
	nOut := kn.Shape[1]
	if n.OpType == "Gemm" {
		if alpha := n.AttrFloat("alpha", 1); alpha != 1 {
			scaled := make([]float32, kn.Len())
			for i, v := range kn.F32() {
				scaled[i] = v * alpha
			}
			kn = graph.FromFloat32(kn.Shape, scaled)
		}
	}
	wq, ws := perChannelWeights(kn, 1, nil)
	base := nodeBase(n)
	y := n.Outputs[0]
	var out []*graph.Node
	d, ok := dq[x]
	if !ok {
		d = [3]string{g.UniqueName(x + "_quantized"), g.UniqueName(x + "_scale"), g.UniqueName(x + "_zero_point")}
		for i, nm := range d {
			dt := []graph.DType{graph.Uint8, graph.Float32, graph.Uint8}[i]
			g.Values[nm] = &graph.Value{Name: nm, DType: dt}
		}
		out = append(out, &graph.Node{Name: g.UniqueName(x + "_DynamicQuantizeLinear"), OpType: "DynamicQuantizeLinear",
			Inputs: []string{x}, Outputs: d[:]})
		dq[x] = d
	}
	wName := addInit(g, n.Input(1)+"_quantized", graph.FromInt8(kn.Shape, wq))
	wsName := addInit(g, n.Input(1)+"_scale", graph.FromFloat32([]int{nOut}, ws))
	acc := g.UniqueName(base + "_MatMulInteger_Output")
	accF := g.UniqueName(base + "_Cast_Output")
	scale := g.UniqueName(base + "_scale")
	for _, nm := range []string{acc, accF, scale} {
		g.Values[nm] = &graph.Value{Name: nm}
	}
	cast := &graph.Node{Name: g.UniqueName(base + "_Cast"), OpType: "Cast", Inputs: []string{acc}, Outputs: []string{accF}}
	cast.SetAttrInt("to", int64(graph.Float32))
	out = append(out,
		&graph.Node{Name: g.UniqueName(base + "_MatMulInteger"), OpType: "MatMulInteger", Inputs: []string{d[0], wName, d[2]}, Outputs: []string{acc}},
		cast,
		&graph.Node{Name: g.UniqueName(base + "_scale_Mul"), OpType: "Mul", Inputs: []string{d[1], wsName}, Outputs: []string{scale}},
	)
	c := ""
	if n.OpType == "Gemm" {
		c = n.Input(2)
	}
	if c == "" {
		out = append(out, &graph.Node{Name: g.UniqueName(base + "_Mul"), OpType: "Mul", Inputs: []string{accF, scale}, Outputs: []string{y}})
		return out, ""
	}
	if beta := n.AttrFloat("beta", 1); beta != 1 {
		ct := g.Initializers[c]
		scaled := make([]float32, ct.Len())
		for i, v := range ct.F32() {
			scaled[i] = v * beta
		}
		c = addInit(g, c+"_scaled", graph.FromFloat32(ct.Shape, scaled))
	}
	pre := g.UniqueName(base + "_Mul_Output")
	g.Values[pre] = &graph.Value{Name: pre}
	out = append(out,
		&graph.Node{Name: g.UniqueName(base + "_Mul"), OpType: "Mul", Inputs: []string{accF, scale}, Outputs: []string{pre}},
		&graph.Node{Name: g.UniqueName(base + "_bias_Add"), OpType: "Add", Inputs: []string{pre, c}, Outputs: []string{y}},
	)
	return out, ""
}
