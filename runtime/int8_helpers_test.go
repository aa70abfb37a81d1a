package runtime

// Test helpers of the int8 executor: a small float model builder, a reference QDQ
// quantizer (activations int8 per tensor asymmetric from observed ranges, weights
// int8 per channel symmetric, int32 bias, Conv/Gemm/Add followed by Relu fused as the
// project's quantizer writes them) and comparisons of int8 execution with the
// simulated quantization of the float executor.

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/testmodels"
)

// mb builds float32 test models: the shared builder plus the layers these tests use.
type mb struct{ *testmodels.Builder }

func newMB(seed int64) *mb {
	b := testmodels.New(seed)
	b.Opsets["com.microsoft"] = 1
	return &mb{b}
}

func (b *mb) conv(x string, cin, cout, k, stride, pad, group int, bias bool) string {
	w := b.RandInit("w", []int{cout, cin / group, k, k}, float32(1.5/math.Sqrt(float64(cin/group*k*k))))
	ins := []string{x, w}
	if bias {
		ins = append(ins, b.RandInit("b", []int{cout}, 0.2))
	}
	return b.Node("Conv", ins, graph.IntsAttr("kernel_shape", []int{k, k}), graph.IntsAttr("strides", []int{stride, stride}),
		graph.IntsAttr("pads", []int{pad, pad, pad, pad}), graph.IntAttr("group", int64(group)))
}

func (b *mb) gemm(x string, in, out int) string {
	w := b.RandInit("fc", []int{out, in}, float32(1.5/math.Sqrt(float64(in))))
	bias := b.RandInit("fcb", []int{out}, 0.2)
	return b.Node("Gemm", []string{x, w, bias}, graph.IntAttr("transB", 1))
}

func randInput(rng *rand.Rand, shape []int, lo, hi float32) *graph.Tensor {
	d := make([]float32, graph.NumElements(shape))
	for i := range d {
		d[i] = lo + rng.Float32()*(hi-lo)
	}
	return graph.FromFloat32(shape, d)
}

// ---- reference QDQ quantizer ---------------------------------------------------------

type qdqOptions struct {
	uint8Acts  bool // uint8 activations (ORT's default) instead of int8
	perTensorW bool
	// float lists tensors left unquantized (chains of elementwise operators).
	float map[string]bool
}

func actParams(lo, hi float32, u8 bool) (float32, int32) {
	lo, hi = min(lo, 0), max(hi, 0)
	if hi == lo {
		hi = lo + 1
	}
	s := (hi - lo) / 255
	qmin := int32(-128)
	if u8 {
		qmin = 0
	}
	zp := int32(math.RoundToEven(float64(float32(qmin) - lo/s)))
	return s, zp
}

// qdqify quantizes a float model for the tests, calibrating on calib.
func qdqify(t *testing.T, m *graph.Model, calib map[string]*graph.Tensor, opts qdqOptions) *graph.Model {
	t.Helper()
	s, err := NewSession(m, WithMode(ModeFloat), WithAllTaps(), WithThreads(1))
	require.NoError(t, err)
	res, err := s.RunTensors(calib)
	require.NoError(t, err)
	for k, v := range calib {
		res[k] = v
	}
	ranges := map[string][2]float32{}
	for name, tt := range res {
		f := tt.F32()
		if f == nil {
			continue
		}
		lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
		for _, v := range f {
			lo, hi = min(lo, v), max(hi, v)
		}
		ranges[name] = [2]float32{lo, hi}
	}
	g := m.Graph
	cons := g.Consumers()
	isOut := map[string]bool{}
	for _, v := range g.Outputs {
		isOut[v.Name] = true
	}
	ng := &graph.Graph{Name: g.Name, Initializers: map[string]*graph.Tensor{}, Values: map[string]*graph.Value{}, Inputs: g.Inputs, Outputs: g.Outputs}
	for k, v := range g.Initializers {
		ng.Initializers[k] = v
	}
	params := map[string][2]float64{} // tensor -> scale, zp
	rename := map[string]string{}     // float tensor -> its DQ output
	quantize := func(name string) string {
		r, ok := ranges[name]
		require.True(t, ok, "no range for %s", name)
		sc, zp := actParams(r[0], r[1], opts.uint8Acts)
		params[name] = [2]float64{float64(sc), float64(zp)}
		sn, zn := name+"_scale", name+"_zp"
		ng.Initializers[sn] = graph.FromFloat32(nil, []float32{sc})
		if opts.uint8Acts {
			ng.Initializers[zn] = graph.FromUint8(nil, []uint8{uint8(zp)})
		} else {
			ng.Initializers[zn] = graph.FromInt8(nil, []int8{int8(zp)})
		}
		src, dq := name, name+"_dq"
		if isOut[name] {
			src, dq = name+"_f", name
		}
		ng.Nodes = append(ng.Nodes,
			&graph.Node{Name: name + "_Q", OpType: "QuantizeLinear", Inputs: []string{src, sn, zn}, Outputs: []string{name + "_q"}},
			&graph.Node{Name: name + "_DQ", OpType: "DequantizeLinear", Inputs: []string{name + "_q", sn, zn}, Outputs: []string{dq}})
		rename[name] = dq
		return src
	}
	fused := func(name string) bool {
		c := cons[name]
		return len(c) == 1 && (c[0].OpType == "Relu" || c[0].OpType == "Clip") && !isOut[name]
	}
	for _, in := range g.Inputs {
		quantize(in.Name)
	}
	weight := func(n *graph.Node, i, axis int) {
		name := n.Inputs[i]
		w := g.Initializers[name]
		require.NotNil(t, w)
		f := w.F32()
		nch := 1
		if !opts.perTensorW {
			nch = w.Shape[axis]
		}
		inner := graph.NumElements(w.Shape[axis+1:])
		scales := make([]float32, nch)
		for j, v := range f {
			c := 0
			if nch > 1 {
				c = (j / inner) % nch
			}
			scales[c] = max(scales[c], float32(math.Abs(float64(v))))
		}
		for c := range scales {
			scales[c] /= 127
			if scales[c] == 0 {
				scales[c] = 1
			}
		}
		q := make([]int8, len(f))
		for j, v := range f {
			c := 0
			if nch > 1 {
				c = (j / inner) % nch
			}
			q[j] = int8(max(-127, min(127, math.RoundToEven(float64(v/scales[c])))))
		}
		qn, sn, zn := name+"_quantized", name+"_scale", name+"_zp"
		ng.Initializers[qn] = graph.FromInt8(w.Shape, q)
		if nch == 1 {
			ng.Initializers[sn] = graph.FromFloat32(nil, scales)
			ng.Initializers[zn] = graph.FromInt8(nil, []int8{0})
		} else {
			ng.Initializers[sn] = graph.FromFloat32([]int{nch}, scales)
			ng.Initializers[zn] = graph.FromInt8([]int{nch}, make([]int8, nch))
		}
		delete(ng.Initializers, name)
		dq := &graph.Node{Name: name + "_DQ", OpType: "DequantizeLinear", Inputs: []string{qn, sn, zn}, Outputs: []string{name + "_dq"}, Attrs: map[string]*graph.Attr{}}
		if nch > 1 {
			dq.SetAttrInt("axis", int64(axis))
		}
		ng.Nodes = append(ng.Nodes, dq)
		n.Inputs[i] = name + "_dq"
		if i == 1 && len(n.Inputs) > 2 && n.Inputs[2] != "" {
			bn := n.Inputs[2]
			bt := g.Initializers[bn]
			sx := float32(params[n.Inputs[0]][0])
			// n.Inputs[0] has already been renamed to the DQ output: find its source
			for src, dqn := range rename {
				if dqn == n.Inputs[0] {
					sx = float32(params[src][0])
				}
			}
			nb := bt.Len()
			bs := make([]float32, nb)
			bq := make([]int32, nb)
			for c := 0; c < nb; c++ {
				sw := scales[0]
				if nch > 1 {
					sw = scales[c%nch] // a grouped ConvTranspose's axis 1 repeats per group
				}
				bs[c] = sx * sw
				bq[c] = int32(math.RoundToEven(float64(bt.F32()[c] / bs[c])))
			}
			ng.Initializers[bn+"_quantized"] = graph.FromInt32(bt.Shape, bq)
			ng.Initializers[bn+"_scale"] = graph.FromFloat32([]int{nb}, bs)
			ng.Initializers[bn+"_zp"] = graph.FromInt32([]int{nb}, make([]int32, nb))
			delete(ng.Initializers, bn)
			ng.Nodes = append(ng.Nodes, &graph.Node{Name: bn + "_DQ", OpType: "DequantizeLinear",
				Inputs: []string{bn + "_quantized", bn + "_scale", bn + "_zp"}, Outputs: []string{bn + "_dq"}, Attrs: map[string]*graph.Attr{"axis": {Name: "axis", Type: graph.AttrInt, I: 0}}})
			n.Inputs[2] = bn + "_dq"
		}
	}
	for _, n := range g.Nodes {
		c := n.Clone()
		for i, in := range c.Inputs {
			if r, ok := rename[in]; ok {
				c.Inputs[i] = r
			}
		}
		switch c.OpType {
		case "Conv":
			weight(c, 1, 0)
		case "ConvTranspose":
			weight(c, 1, 1)
		case "Gemm":
			axis := 1
			if c.AttrInt("transB", 0) != 0 {
				axis = 0
			}
			weight(c, 1, axis)
		case "MatMul":
			if g.Initializers[c.Inputs[1]] != nil {
				weight(c, 1, 1)
			}
		}
		for i, o := range c.Outputs {
			if _, ok := ranges[o]; !ok || opts.float[o] {
				continue
			}
			if fused(o) && (c.OpType == "Conv" || c.OpType == "Gemm" || c.OpType == "Add" || c.OpType == "MatMul") {
				continue
			}
			c.Outputs[i] = quantize(o)
		}
		ng.Nodes = append(ng.Nodes, c)
	}
	nm := &graph.Model{Graph: ng, IRVersion: m.IRVersion, Opsets: m.Opsets}
	require.NoError(t, ng.TopoSort())
	return nm
}

// outputStats compares two float outputs in units of step.
func outputSteps(t *testing.T, a, b *graph.Tensor, step float64) (within1 float64, maxSteps float64) {
	t.Helper()
	require.Equal(t, a.Shape, b.Shape)
	af, bf := a.F32(), b.F32()
	ok := 0
	for i := range af {
		d := math.Abs(float64(af[i]-bf[i])) / step
		maxSteps = math.Max(maxSteps, d)
		if d <= 1.0001 {
			ok++
		}
	}
	return float64(ok) / float64(len(af)), maxSteps
}
