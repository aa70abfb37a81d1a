package optimize

// Atrous (dilated) convolutions whose rate is as large as the feature map:
// DeepLabV3's ASPP module convolves the backbone's output (20×20 at a 320×320
// input with MobileNetV3, 33×33 at 513×513 with ResNet) with 3×3 kernels at
// rates 12, 24 and 36 and as many pixels of zero padding. When the rate is at
// least the map's size, every tap but the centre one reads only padding for
// every output pixel: the convolution is a 1×1 convolution with the centre
// weights. Run as written it costs nine times the multiplies on a padded
// buffer several times the map's size (the channels-last rows layout computes
// whole padded rows), and the NPU, whose convolutions take dilations up to 12,
// runs it on the host. Trimming the taps that can never read the input keeps
// the result exact: they only ever multiply zeros.

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// trimDeadTaps rewrites every Conv with a constant weight (or int8 codes
// behind a DequantizeLinear: a QDQ model) and a known input shape whose outermost kernel taps, along some spatial axis, read padding
// only for every output position: the weight is cut to the taps that read the
// input (a new initializer; the original may be shared), the pads lose the
// rows or columns those taps stood over, and an axis left with one tap gets
// dilation 1. The output shape is unchanged. It returns the number of Convs
// rewritten.
func trimDeadTaps(g *graph.Graph) int {
	count := 0
	cons := g.Consumers()
	producers := map[string]*graph.Node{}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			producers[o] = n
		}
	}
	for _, n := range g.Nodes {
		if !isOp(n, "Conv") || len(n.Inputs) < 2 || len(n.Outputs) != 1 || n.HasSubgraphs() {
			continue
		}
		if a := n.AttrString("auto_pad", "NOTSET"); a != "NOTSET" && a != "" {
			continue
		}
		w, dq := tapWeight(g, n, producers, cons)
		x := g.Values[n.Inputs[0]]
		if w == nil || len(w.Shape) < 3 || x == nil || !x.HasShape || len(x.Shape) != len(w.Shape) {
			continue
		}
		sp := len(w.Shape) - 2
		kern := w.Shape[2:]
		if ks := n.AttrInts("kernel_shape", nil); ks != nil && !equalInts(ks, kern) {
			continue
		}
		strides := attrOr(n, "strides", sp, 1)
		dil := attrOr(n, "dilations", sp, 1)
		pads := attrOr(n, "pads", 2*sp, 0)
		if strides == nil || dil == nil || pads == nil {
			continue
		}
		lo, hi := make([]int, sp), make([]int, sp)
		trimmed := false
		for i := 0; i < sp; i++ {
			lo[i], hi[i] = 0, kern[i]-1
			h := x.Shape[2+i]
			if !h.Known() || strides[i] < 1 || dil[i] < 1 || pads[i] < 0 || pads[sp+i] < 0 {
				lo = nil
				break
			}
			k0, k1, ok := liveTaps(h.Size, kern[i], int(strides[i]), int(dil[i]), int(pads[i]), int(pads[sp+i]))
			if !ok {
				lo = nil // no output, or no tap ever reads the input: left as it is
				break
			}
			b := pads[i] - int64(k0)*dil[i]
			e := pads[sp+i] - int64(kern[i]-1-k1)*dil[i]
			if b < 0 || e < 0 {
				continue // a trim would need a negative pad (a crop): keep the axis whole
			}
			if k0 > 0 || k1 < kern[i]-1 {
				lo[i], hi[i] = k0, k1
				trimmed = true
			}
		}
		if lo == nil || !trimmed {
			continue
		}
		nk := make([]int64, sp)
		for i := 0; i < sp; i++ {
			pads[i] -= int64(lo[i]) * dil[i]
			pads[sp+i] -= int64(kern[i]-1-hi[i]) * dil[i]
			nk[i] = int64(hi[i] - lo[i] + 1)
			if nk[i] == 1 {
				dil[i] = 1
			}
		}
		src := n.Inputs[1]
		if dq != nil {
			src = dq.Inputs[0]
		}
		name := uniqueName(g, src+"_taps")
		t := sliceTaps(w, lo, hi)
		g.Initializers[name] = t
		g.Values[name] = &graph.Value{Name: name, DType: t.DType, Shape: graph.ShapeOf(t.Shape...), HasShape: true}
		if dq != nil {
			// The DequantizeLinear reads the cut codes; its scales are per
			// output channel (axis 0) or per tensor, which the cut keeps.
			dq.Inputs[0] = name
			if v := g.Values[dq.Outputs[0]]; v != nil {
				g.Values[dq.Outputs[0]] = &graph.Value{Name: v.Name, DType: v.DType, Shape: graph.ShapeOf(t.Shape...), HasShape: true}
			}
		} else {
			n.Inputs[1] = name
		}
		n.SetAttrInts("kernel_shape", nk)
		n.SetAttrInts("pads", pads)
		n.SetAttrInts("dilations", dil)
		count++
	}
	return count
}

// tapWeight returns a Conv's weight when it can be cut: a float32 initializer,
// or (a QDQ model) int8/uint8 codes behind a DequantizeLinear that only this
// Conv reads, with per-tensor scales or per-channel ones along the output
// channels (axis 0), returned with that DequantizeLinear.
func tapWeight(g *graph.Graph, conv *graph.Node, producers map[string]*graph.Node, cons map[string][]*graph.Node) (*graph.Tensor, *graph.Node) {
	name := conv.Inputs[1]
	if w := g.Initializers[name]; w != nil {
		if w.DType != graph.Float32 {
			return nil, nil
		}
		return w, nil
	}
	dq := producers[name]
	if dq == nil || !isOp(dq, "DequantizeLinear") || len(dq.Inputs) < 2 || len(dq.Outputs) != 1 ||
		len(cons[name]) != 1 || g.IsGraphOutput(name) {
		return nil, nil
	}
	w := g.Initializers[dq.Inputs[0]]
	if w == nil || (w.DType != graph.Int8 && w.DType != graph.Uint8) {
		return nil, nil
	}
	for _, in := range dq.Inputs[1:] {
		if in == "" {
			continue
		}
		t := g.Initializers[in]
		if t == nil || t.Len() > 1 && (len(t.Shape) != 1 || dq.AttrInt("axis", 1) != 0) {
			return nil, nil // per-channel along another axis, or computed scales
		}
	}
	return w, dq
}

// liveTaps returns the first and last kernel taps along one axis (input size
// h, kernel k, stride s, dilation d, pads b and e) that read the input for at
// least one output position.
func liveTaps(h, k, s, d, b, e int) (k0, k1 int, ok bool) {
	span := h + b + e - d*(k-1) - 1
	if span < 0 {
		return 0, 0, false
	}
	out := span/s + 1
	live := func(t int) bool {
		for o := 0; o < out; o++ {
			if i := o*s - b + t*d; i >= 0 && i < h {
				return true
			}
		}
		return false
	}
	k0, k1 = 0, k-1
	for k0 < k && !live(k0) {
		k0++
	}
	if k0 == k {
		return 0, 0, false
	}
	for !live(k1) {
		k1--
	}
	return k0, k1, true
}

// sliceTaps copies the taps [lo[i], hi[i]] of every spatial axis of a weight
// [M, C/group, k1, k2, ...] (float32, int8 or uint8).
func sliceTaps(w *graph.Tensor, lo, hi []int) *graph.Tensor {
	sp := len(lo)
	shape := append([]int(nil), w.Shape...)
	for i := 0; i < sp; i++ {
		shape[2+i] = hi[i] - lo[i] + 1
	}
	out := graph.NewTensor(w.DType, shape)
	// Strides of the source.
	st := make([]int, len(w.Shape))
	st[len(st)-1] = 1
	for i := len(st) - 2; i >= 0; i-- {
		st[i] = st[i+1] * w.Shape[i+1]
	}
	idx := make([]int, len(shape))
	for j := 0; j < out.Len(); j++ {
		off := idx[0]*st[0] + idx[1]*st[1]
		for i := 0; i < sp; i++ {
			off += (idx[2+i] + lo[i]) * st[2+i]
		}
		switch d := out.Data.(type) {
		case []float32:
			d[j] = w.F32()[off]
		case []int8:
			d[j] = w.I8()[off]
		case []uint8:
			d[j] = w.U8()[off]
		}
		for a := len(idx) - 1; a >= 0; a-- {
			idx[a]++
			if idx[a] < shape[a] {
				break
			}
			idx[a] = 0
		}
	}
	return out
}

// attrOr returns a copy of an ints attribute of length n, or n copies of def
// when the node has none; nil if its length is wrong.
func attrOr(n *graph.Node, name string, l int, def int64) []int64 {
	v := n.AttrInts(name, nil)
	if v == nil {
		v = make([]int64, l)
		for i := range v {
			v[i] = def
		}
		return v
	}
	if len(v) != l {
		return nil
	}
	return append([]int64(nil), v...)
}

func equalInts(a []int64, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != int64(b[i]) {
			return false
		}
	}
	return true
}

// uniqueName returns base, or base_N, a name no tensor of g has.
func uniqueName(g *graph.Graph, base string) string {
	name := base
	for i := 1; g.Initializers[name] != nil || g.Values[name] != nil || g.Input(name) != nil; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	return name
}
