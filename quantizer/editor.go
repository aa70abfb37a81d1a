package quantizer

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// ErrNotQuantized is returned by the model editor for a float model: it edits the
// QuantizeLinear/DequantizeLinear at a quantized model's boundary, which a float model
// does not have yet.
var ErrNotQuantized = errors.New("the model is not quantized (the editor works on quantized models; quantize the model first)")

// The model editor changes the interface of a quantized model, like FuriosaAI's
// ModelEditor: an input can take raw uint8/int8 values instead of float32 (its
// QuantizeLinear is removed or turned into a requantization), an output can return
// raw int8/uint8 values (its DequantizeLinear is removed). Every change is recorded in
// the model's metadata as
//
//	warboy.input.<name>.dtype / .scale / .zero_point
//	warboy.output.<name>.dtype / .scale / .zero_point
//
// where real = (q - zero_point) * scale, so that runtimes and users know how to feed
// and read the raw values. The functions edit m in place.

// InputMeta returns the metadata keys of an input's raw encoding.
func InputMeta(name string) (dtype, scale, zeroPoint string) {
	p := metaInputPrefix + name
	return p + ".dtype", p + ".scale", p + ".zero_point"
}

// OutputMeta returns the metadata keys of an output's raw encoding.
func OutputMeta(name string) (dtype, scale, zeroPoint string) {
	p := metaOutputPrefix + name
	return p + ".dtype", p + ".scale", p + ".zero_point"
}

// ConvertInputType makes the float32 input name of a quantized model take raw dtype
// values (graph.Uint8 or graph.Int8). The input's QuantizeLinear is removed when the
// raw encoding equals the model's quantization of that input; otherwise the raw input
// is dequantized with p and requantized to the model's parameters (exact when only
// the zero point moves, as between uint8 and int8). p == nil keeps the model's scale
// (shifting the zero point by 128 for the other signedness). PixelParams makes a
// model whose float input is pixel/255 take raw pixels.
func ConvertInputType(m *graph.Model, name string, dtype graph.DType, p *QParams) error {
	g := m.Graph
	in := g.Input(name)
	if in == nil {
		return fmt.Errorf("edit: model has no input %q (inputs: %s)", name, valueNames(g.Inputs))
	}
	if dtype != graph.Uint8 && dtype != graph.Int8 {
		return fmt.Errorf("edit: input %q: type %s is not supported (uint8 or int8)", name, dtype)
	}
	if in.DType != graph.Float32 {
		return fmt.Errorf("edit: input %q is %s, not float32 (already converted?)", name, in.DType)
	}
	if !runtime.IsQuantized(m) {
		return fmt.Errorf("edit: %w", ErrNotQuantized)
	}
	cons := g.Consumers()[name]
	if len(cons) != 1 || cons[0].OpType != "QuantizeLinear" {
		readers := make([]string, len(cons))
		for i, c := range cons {
			readers[i] = c.Label()
		}
		return fmt.Errorf("edit: input %q is read by %s, not by one QuantizeLinear: the input is not quantized (was its first node excluded from quantization?)",
			name, orNothing(strings.Join(readers, ", ")))
	}
	q := cons[0]
	scale, zp, qdt, err := nodeParams(g, q)
	if err != nil {
		return fmt.Errorf("edit: input %q: %w", name, err)
	}
	target := QParams{Scale: scale, ZeroPoint: shiftZP(zp, qdt, dtype)}
	if p != nil {
		target = *p
	}
	if err := checkZP(target.ZeroPoint, dtype); err != nil {
		return fmt.Errorf("edit: input %q: %w", name, err)
	}
	if !(target.Scale > 0) || math.IsInf(float64(target.Scale), 0) {
		return fmt.Errorf("edit: input %q: scale %v must be positive", name, target.Scale)
	}
	in.DType = dtype
	if v := g.Values[name]; v != nil {
		v.DType = dtype
	}
	if dtype == qdt && target.Scale == scale && target.ZeroPoint == zp {
		// The raw input is what the QuantizeLinear produced: drop it.
		y := q.Outputs[0]
		g.ReplaceInput(y, name)
		removeNode(g, q)
		delete(g.Values, y)
	} else {
		// Dequantize the raw encoding, then the existing QuantizeLinear requantizes.
		base := name + "_raw"
		s := addInit(g, base+"_scale", graph.FromFloat32(nil, []float32{target.Scale}))
		z := addInit(g, base+"_zero_point", zpTensor(target.ZeroPoint, dtype))
		mid := g.UniqueName(base + "_DequantizeLinear_Output")
		g.Values[mid] = &graph.Value{Name: mid, DType: graph.Float32, Shape: in.Shape, HasShape: in.HasShape}
		dq := &graph.Node{Name: g.UniqueName(base + "_DequantizeLinear"), OpType: "DequantizeLinear", Inputs: []string{name, s, z}, Outputs: []string{mid}}
		q.Inputs[0] = mid
		g.Nodes = append([]*graph.Node{dq}, g.Nodes...)
	}
	dk, sk, zk := InputMeta(name)
	setMeta(m, dk, sk, zk, dtype, target)
	return nil
}

// ConvertOutputType makes the output name of a quantized model return raw dtype values
// (graph.Int8 or graph.Uint8): its DequantizeLinear is removed. With tensorRange the
// output is quantized with parameters computed from that range instead of the
// model's.
func ConvertOutputType(m *graph.Model, name string, dtype graph.DType, tensorRange *[2]float32) error {
	g := m.Graph
	var out *graph.Value
	for _, o := range g.Outputs {
		if o.Name == name {
			out = o
		}
	}
	if out == nil {
		return fmt.Errorf("edit: model has no output %q (outputs: %s)", name, valueNames(g.Outputs))
	}
	if dtype != graph.Uint8 && dtype != graph.Int8 {
		return fmt.Errorf("edit: output %q: type %s is not supported (uint8 or int8)", name, dtype)
	}
	if !runtime.IsQuantized(m) {
		return fmt.Errorf("edit: %w", ErrNotQuantized)
	}
	prod := g.Producers()
	d := prod[name]
	if d == nil || d.OpType != "DequantizeLinear" {
		by := "no node"
		if d != nil {
			by = d.Label()
		}
		return fmt.Errorf("edit: output %q is produced by %s, not by a DequantizeLinear: the output is not quantized (was its last node excluded from quantization?)", name, by)
	}
	scale, zp, qdt, err := nodeParams(g, d)
	if err != nil {
		return fmt.Errorf("edit: output %q: %w", name, err)
	}
	target := QParams{Scale: scale, ZeroPoint: shiftZP(zp, qdt, dtype)}
	if tensorRange != nil {
		if !(tensorRange[0] <= tensorRange[1]) {
			return fmt.Errorf("edit: output %q: range [%v, %v] has min > max", name, tensorRange[0], tensorRange[1])
		}
		pr := paramsFromRange(tensorRange[0], tensorRange[1])
		target = QParams{Scale: pr.scale, ZeroPoint: shiftZP(int(pr.zp), graph.Int8, dtype)}
	}
	y := d.Input(0)
	cons := g.Consumers()
	qn := prod[y]
	removeNode(g, d)
	switch {
	case qn != nil && dtype == qdt && target.Scale == scale && target.ZeroPoint == zp && len(cons[y]) == 1 && !g.IsGraphOutput(y):
		// The quantized tensor itself becomes the output.
		for i, o := range qn.Outputs {
			if o == y {
				qn.Outputs[i] = name
			}
		}
		delete(g.Values, y)
	default:
		// Quantize to the requested encoding: from the float tensor when a
		// QuantizeLinear made y (exact), else by requantizing y.
		src := y
		if qn != nil && qn.OpType == "QuantizeLinear" {
			src = qn.Input(0)
		} else {
			mid := g.UniqueName(name + "_requant")
			g.Values[mid] = &graph.Value{Name: mid, DType: graph.Float32}
			g.Nodes = append(g.Nodes, &graph.Node{Name: g.UniqueName(name + "_requant_DequantizeLinear"), OpType: "DequantizeLinear",
				Inputs: []string{y, d.Input(1), d.Input(2)}, Outputs: []string{mid}})
			src = mid
		}
		s := addInit(g, name+"_raw_scale", graph.FromFloat32(nil, []float32{target.Scale}))
		z := addInit(g, name+"_raw_zero_point", zpTensor(target.ZeroPoint, dtype))
		g.Nodes = append(g.Nodes, &graph.Node{Name: g.UniqueName(name + "_raw_QuantizeLinear"), OpType: "QuantizeLinear",
			Inputs: []string{src, s, z}, Outputs: []string{name}})
	}
	out.DType = dtype
	if v := g.Values[name]; v != nil {
		v.DType = dtype
	}
	g.RemoveUnused()
	if err := g.TopoSort(); err != nil {
		return err
	}
	dk, sk, zk := OutputMeta(name)
	setMeta(m, dk, sk, zk, dtype, target)
	return nil
}

// RawEncoding returns the raw encoding of an input or output recorded by the editor
// (ok false for float32 interfaces).
func RawEncoding(m *graph.Model, name string, output bool) (dtype graph.DType, p QParams, ok bool, err error) {
	dk, sk, zk := InputMeta(name)
	if output {
		dk, sk, zk = OutputMeta(name)
	}
	ds, has := m.Metadata[dk]
	if !has {
		return graph.Float32, QParams{}, false, nil
	}
	dtype, err = graph.ParseDType(ds)
	if err != nil {
		return 0, QParams{}, false, fmt.Errorf("metadata %s: %w", dk, err)
	}
	s, err := strconv.ParseFloat(m.Metadata[sk], 32)
	if err != nil {
		return 0, QParams{}, false, fmt.Errorf("metadata %s: %w", sk, err)
	}
	z, err := strconv.Atoi(m.Metadata[zk])
	if err != nil {
		return 0, QParams{}, false, fmt.Errorf("metadata %s: %w", zk, err)
	}
	return dtype, QParams{Scale: float32(s), ZeroPoint: z}, true, nil
}

func setMeta(m *graph.Model, dk, sk, zk string, dtype graph.DType, p QParams) {
	if m.Metadata == nil {
		m.Metadata = map[string]string{}
	}
	m.Metadata[dk] = dtype.String()
	m.Metadata[sk] = strconv.FormatFloat(float64(p.Scale), 'g', -1, 32)
	m.Metadata[zk] = strconv.Itoa(p.ZeroPoint)
}

// nodeParams reads the per-tensor scale, zero point and integer type of a
// QuantizeLinear or DequantizeLinear node.
func nodeParams(g *graph.Graph, n *graph.Node) (float32, int, graph.DType, error) {
	s := g.Initializers[n.Input(1)]
	if s == nil || s.DType != graph.Float32 || s.Len() != 1 {
		return 0, 0, 0, fmt.Errorf("%s: scale is not a per-tensor float32 constant", n.Label())
	}
	zpName := n.Input(2)
	if zpName == "" {
		return s.F32()[0], 0, graph.Uint8, nil // ONNX default: uint8, zero point 0
	}
	z := g.Initializers[zpName]
	if z == nil || z.Len() != 1 {
		return 0, 0, 0, fmt.Errorf("%s: zero point is not a per-tensor constant", n.Label())
	}
	switch v := z.Data.(type) {
	case []int8:
		return s.F32()[0], int(v[0]), graph.Int8, nil
	case []uint8:
		return s.F32()[0], int(v[0]), graph.Uint8, nil
	}
	return 0, 0, 0, fmt.Errorf("%s: zero point is %s, want int8 or uint8", n.Label(), z.DType)
}

// shiftZP converts a zero point between int8 and uint8 encodings of the same grid.
func shiftZP(zp int, from, to graph.DType) int {
	switch {
	case from == graph.Int8 && to == graph.Uint8:
		return zp + 128
	case from == graph.Uint8 && to == graph.Int8:
		return zp - 128
	}
	return zp
}

func checkZP(zp int, dt graph.DType) error {
	lo, hi := -128, 127
	if dt == graph.Uint8 {
		lo, hi = 0, 255
	}
	if zp < lo || zp > hi {
		return fmt.Errorf("zero point %d is outside the %s range [%d, %d]", zp, dt, lo, hi)
	}
	return nil
}

func zpTensor(zp int, dt graph.DType) *graph.Tensor {
	if dt == graph.Uint8 {
		return graph.FromUint8(nil, []uint8{uint8(zp)})
	}
	return graph.FromInt8(nil, []int8{int8(zp)})
}

func addInit(g *graph.Graph, base string, t *graph.Tensor) string {
	n := g.UniqueName(base)
	g.Initializers[n] = t
	g.Values[n] = &graph.Value{Name: n, DType: t.DType, Shape: graph.ShapeOf(t.Shape...), HasShape: true}
	return n
}

func removeNode(g *graph.Graph, n *graph.Node) {
	out := g.Nodes[:0]
	for _, x := range g.Nodes {
		if x != n {
			out = append(out, x)
		}
	}
	g.Nodes = out
}

func valueNames(vs []*graph.Value) string {
	s := ""
	for i, v := range vs {
		if i > 0 {
			s += ", "
		}
		s += strconv.Quote(v.Name)
	}
	return s
}

func orNothing(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}
