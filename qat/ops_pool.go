package qat

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

// poolOp is MaxPool, AveragePool, GlobalAveragePool or GlobalMaxPool on NCHW (or
// NCL) data.
type poolOp struct {
	node           string
	kind           string
	in, out        int
	global         bool
	kh, kw, sh, sw int
	pt, pl, pb, pr int
	includePad     bool
	ceil           bool // ceil_mode: a last, partial window (GoogLeNet's, SqueezeNet's max pooling)
	autoPad        string
	argmax         []int32
	cnt            []float32 // AveragePool divisor per output position
	// oned: pooling of [N, C, L] (MaxPool1d, AvgPool1d, and the global pools of a
	// 1-D CNN), computed as the 2-D pooling of height 1.
	oned bool
	// rank: the input's rank when a global pool reads [N, C, D, H, W] (a video
	// or volumetric network's head), pooled as [N, C, 1, D·H·W]; 0 otherwise.
	rank int
	// idxName: MaxPool's indices output, kept in Net.computed for the
	// MaxUnpool that reads it (SegNet's, ENet's decoders); "" when unused.
	idxName string
}

// outSlots: the pooled values' slot; the indices (-1) are a computed output.
func (o *poolOp) outSlots() []int { return []int{o.out, -1} }

func buildPool(b *builder, node *graph.Node) (built, error) {
	in, err := b.input(node, node.Input(0))
	if err != nil {
		return built{}, err
	}
	o := &poolOp{node: node.Label(), kind: node.OpType, in: in, out: b.slot()}
	switch node.OpType {
	case "GlobalAveragePool", "GlobalMaxPool":
		o.global = true
		return built{o, o.out}, nil
	}
	ap, err := graph.NodeAutoPad(node)
	if err != nil {
		return built{}, err
	}
	o.autoPad = ap
	// Under auto_pad SAME the output size is ceil(in / stride) whatever ceil_mode
	// says; VALID is pads of 0, with ceil_mode as given (graph.ResolveConvGeom,
	// ONNX Runtime).
	o.ceil = node.AttrInt("ceil_mode", 0) != 0 && ap != graph.AutoPadSameUpper && ap != graph.AutoPadSameLower
	if o.ceil && node.OpType == "AveragePool" && node.AttrInt("count_include_pad", 0) != 0 {
		return built{}, fmt.Errorf("%w: AveragePool with ceil_mode=1 and count_include_pad=1", ErrNoGradient)
	}
	if len(node.Outputs) > 1 && node.Outputs[1] != "" {
		if node.AttrInt("storage_order", 0) != 0 {
			return built{}, fmt.Errorf("%w: MaxPool indices in column-major order (storage_order 1)", ErrNoGradient)
		}
		o.idxName = node.Outputs[1] // a computed output (maxPoolIndices)
	}
	for _, d := range node.AttrInts("dilations", []int64{1, 1}) {
		if d != 1 {
			return built{}, fmt.Errorf("%w: dilated pooling", ErrNoGradient)
		}
	}
	k := node.AttrInts("kernel_shape", nil)
	if len(k) == 3 {
		return buildPool3d(node, in, o.out, ap, o.ceil, o.idxName)
	}
	s := node.AttrInts("strides", []int64{1, 1})
	p := node.AttrInts("pads", []int64{0, 0, 0, 0})
	if len(k) == 1 {
		o.oned = true
		k = []int64{1, k[0]}
		s = append([]int64{1}, node.AttrInts("strides", []int64{1})...)
		if p = node.AttrInts("pads", []int64{0, 0}); len(p) == 2 {
			p = []int64{0, p[0], 0, p[1]}
		}
	}
	if ap != graph.AutoPadNotSet {
		p = []int64{0, 0, 0, 0} // VALID; SAME's pads are set per input size by geom
	}
	if len(k) != 2 || len(s) != 2 || len(p) != 4 {
		return built{}, fmt.Errorf("%w: kernel %v, strides %v, pads %v (only 2-D pooling)", ErrNoGradient, k, s, p)
	}
	o.kh, o.kw, o.sh, o.sw = int(k[0]), int(k[1]), int(s[0]), int(s[1])
	o.pt, o.pl, o.pb, o.pr = int(p[0]), int(p[1]), int(p[2]), int(p[3])
	o.includePad = node.AttrInt("count_include_pad", 0) != 0
	return built{o, o.out}, nil
}

func (o *poolOp) label() string { return o.node }

func (o *poolOp) geom(x []int) (n, c, h, w, oh, ow int, err error) {
	if len(x) == 3 && (o.oned || o.global) {
		o.oned = true
		x = []int{x[0], x[1], 1, x[2]}
	}
	if len(x) > 4 && o.global {
		o.rank = len(x)
		x = []int{x[0], x[1], 1, numel(x[2:])}
	}
	if len(x) != 4 {
		return 0, 0, 0, 0, 0, 0, fmt.Errorf("input shape %v, want NCHW (or NCL)", x)
	}
	n, c, h, w = x[0], x[1], x[2], x[3]
	if o.global {
		return n, c, h, w, 1, 1, nil
	}
	if o.autoPad == graph.AutoPadSameUpper || o.autoPad == graph.AutoPadSameLower {
		o.pt, o.pb = samePads(o.autoPad, h, o.kh, o.sh, 1)
		o.pl, o.pr = samePads(o.autoPad, w, o.kw, o.sw, 1)
	}
	oh = poolOut(h, o.pt, o.pb, o.kh, o.sh, o.ceil)
	ow = poolOut(w, o.pl, o.pr, o.kw, o.sw, o.ceil)
	if oh <= 0 || ow <= 0 {
		return 0, 0, 0, 0, 0, 0, fmt.Errorf("input %dx%d is smaller than the window", h, w)
	}
	return n, c, h, w, oh, ow, nil
}

// poolOut is the output size along one axis (graph.ResolveConvGeom's rule: with
// ceil_mode the last window must start inside the input or its leading pad).
func poolOut(in, padLo, padHi, k, s int, ceil bool) int {
	span := in + padLo + padHi - k
	out := span/s + 1
	if ceil && span >= 0 && span%s != 0 && out*s < in+padLo {
		out++
	}
	return out
}

func (o *poolOp) forward(n *Net) error {
	x, y := n.vals[o.in], n.vals[o.out]
	N, C, H, W, OH, OW, err := o.geom(x.shape)
	if err != nil {
		return err
	}
	switch {
	case o.oned:
		y.resize([]int{N, C, OW})
	case o.rank > 4:
		sh := []int{N, C}
		for len(sh) < o.rank {
			sh = append(sh, 1)
		}
		y.resize(sh)
	default:
		y.resize([]int{N, C, OH, OW})
	}
	kh, kw, sh, sw, pt, pl := o.kh, o.kw, o.sh, o.sw, o.pt, o.pl
	if o.global {
		kh, kw, sh, sw, pt, pl = H, W, 1, 1, 0, 0
	}
	isMax := o.kind == "MaxPool" || o.kind == "GlobalMaxPool"
	if isMax {
		if cap(o.argmax) < len(y.data) {
			o.argmax = make([]int32, len(y.data))
		}
		o.argmax = o.argmax[:len(y.data)]
	} else {
		o.cnt = grow(o.cnt, OH*OW)
	}
	parallel(N*C, n.threads, func(lo, hi int) {
		for pl2 := lo; pl2 < hi; pl2++ {
			src := x.data[pl2*H*W : (pl2+1)*H*W]
			for oy := 0; oy < OH; oy++ {
				for ox := 0; ox < OW; ox++ {
					// The window's rows [ilo, ihi) and columns [jlo, jhi) inside the image.
					ilo, ihi := max(0, pt-oy*sh), min(kh, H+pt-oy*sh)
					jlo, jhi := max(0, pl-ox*sw), min(kw, W+pl-ox*sw)
					oi := pl2*OH*OW + oy*OW + ox
					if isMax {
						best, bi := float32(math.Inf(-1)), int32(-1)
						for i := ilo; i < ihi; i++ {
							r := (oy*sh-pt+i)*W + ox*sw - pl
							for j := jlo; j < jhi; j++ {
								if v := src[r+j]; v > best {
									best, bi = v, int32(r+j)
								}
							}
						}
						y.data[oi], o.argmax[oi] = best, bi
						continue
					}
					var sum float32
					cnt := max(0, ihi-ilo) * max(0, jhi-jlo)
					for i := ilo; i < ihi; i++ {
						r := (oy*sh-pt+i)*W + ox*sw - pl
						for j := jlo; j < jhi; j++ {
							sum += src[r+j]
						}
					}
					div := float32(cnt)
					if o.includePad && !o.global {
						div = float32(o.kh * o.kw)
					}
					if pl2 == 0 {
						o.cnt[oy*OW+ox] = div
					}
					y.data[oi] = sum / div
				}
			}
		}
	})
	if o.idxName != "" {
		n.computed[o.idxName] = maxPoolIndices(y.shape, o.argmax, H*W)
	}
	return nil
}

// maxPoolIndices is MaxPool's indices output of shape: each output's argmax
// within its plane of plane elements (argmax), as ONNX flattens it, over the
// whole input tensor.
func maxPoolIndices(shape []int, argmax []int32, plane int) *graph.Tensor {
	t := graph.NewTensor(graph.Int64, shape)
	idx := t.Data.([]int64)
	per := len(argmax) / max(1, shape[0]*shape[1])
	for i, a := range argmax {
		idx[i] = -1 // a window wholly in the padding
		if a >= 0 {
			idx[i] = int64(i/per)*int64(plane) + int64(a)
		}
	}
	return t
}

func (o *poolOp) backward(n *Net) {
	x, y := n.vals[o.in], n.vals[o.out]
	if x.grad == nil {
		return
	}
	N, C, H, W, OH, OW, _ := o.geom(x.shape)
	kh, kw, sh, sw, pt, pl := o.kh, o.kw, o.sh, o.sw, o.pt, o.pl
	if o.global {
		kh, kw, sh, sw, pt, pl = H, W, 1, 1, 0, 0
	}
	isMax := o.kind == "MaxPool" || o.kind == "GlobalMaxPool"
	parallel(N*C, n.threads, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			dst := x.grad[p*H*W : (p+1)*H*W]
			for q := 0; q < OH*OW; q++ {
				g := y.grad[p*OH*OW+q]
				if isMax {
					if a := o.argmax[p*OH*OW+q]; a >= 0 {
						dst[a] += g
					}
					continue
				}
				g /= o.cnt[q]
				oy, ox := q/OW, q%OW
				for i := 0; i < kh; i++ {
					iy := oy*sh - pt + i
					if iy < 0 || iy >= H {
						continue
					}
					for j := 0; j < kw; j++ {
						if ix := ox*sw - pl + j; ix >= 0 && ix < W {
							dst[iy*W+ix] += g
						}
					}
				}
			}
		}
	})
}

// reshapeOp is Flatten, Reshape, Squeeze, Unsqueeze, Identity and inference-mode
// Dropout: the data is copied, the gradient passes through.
type reshapeOp struct {
	node    string
	kind    string
	in, out int
	axis    int
	target  []int64
	axes    []int64
	// targetFrom names a Reshape target computed by the shape arithmetic (Net.computed).
	targetFrom string
}

func buildReshape(b *builder, node *graph.Node) (built, error) {
	in, err := b.input(node, node.Input(0))
	if err != nil {
		return built{}, err
	}
	o := &reshapeOp{node: node.Label(), kind: node.OpType, in: in, out: b.slot(), axis: int(node.AttrInt("axis", 1))}
	ints := func(i int) ([]int64, error) {
		t := b.g.Initializers[node.Input(i)]
		if t == nil {
			return nil, fmt.Errorf("%w: %s input %q is not a constant", ErrNoGradient, node.OpType, node.Input(i))
		}
		return t.AsInt64()
	}
	switch node.OpType {
	case "Reshape":
		if b.n.computedNames[node.Input(1)] {
			o.targetFrom = node.Input(1) // computed from the batch size: read at run time
			break
		}
		if o.target, err = ints(1); err != nil {
			return built{}, err
		}
	case "Squeeze", "Unsqueeze":
		o.axes = node.AttrInts("axes", nil)
		if node.Input(1) != "" {
			if o.axes, err = ints(1); err != nil {
				return built{}, err
			}
		}
	case "Dropout":
		if len(node.Outputs) > 1 && node.Outputs[1] != "" {
			return built{}, fmt.Errorf("%w: Dropout mask output", ErrNoGradient)
		}
	}
	return built{o, o.out}, nil
}

func (o *reshapeOp) label() string { return o.node }

func (o *reshapeOp) outShape(s []int) ([]int, error) {
	total := numel(s)
	switch o.kind {
	case "Flatten":
		ax := o.axis
		if ax < 0 {
			ax += len(s)
		}
		if ax < 0 || ax > len(s) {
			return nil, fmt.Errorf("axis %d for shape %v", o.axis, s)
		}
		return []int{numel(s[:ax]), numel(s[ax:])}, nil
	case "Reshape":
		out := make([]int, len(o.target))
		neg := -1
		known := 1
		for i, d := range o.target {
			switch {
			case d == 0 && i < len(s):
				out[i] = s[i]
			case d == -1:
				neg = i
				continue
			default:
				out[i] = int(d)
			}
			known *= out[i]
		}
		if neg >= 0 {
			if known == 0 || total%known != 0 {
				return nil, fmt.Errorf("cannot reshape %v to %v", s, o.target)
			}
			out[neg] = total / known
		}
		if numel(out) != total {
			return nil, fmt.Errorf("cannot reshape %v to %v", s, o.target)
		}
		return out, nil
	case "Squeeze":
		var out []int
		for i, d := range s {
			drop := len(o.axes) == 0 && d == 1
			for _, a := range o.axes {
				if int(a) == i || int(a)+len(s) == i {
					drop = true
				}
			}
			if !drop {
				out = append(out, d)
			}
		}
		return out, nil
	case "Unsqueeze":
		r := len(s) + len(o.axes)
		ins := map[int]bool{}
		for _, a := range o.axes {
			if a < 0 {
				a += int64(r)
			}
			ins[int(a)] = true
		}
		out := make([]int, 0, r)
		j := 0
		for i := 0; i < r; i++ {
			if ins[i] {
				out = append(out, 1)
			} else {
				out = append(out, s[j])
				j++
			}
		}
		return out, nil
	}
	return s, nil
}

func (o *reshapeOp) forward(n *Net) error {
	x, y := n.vals[o.in], n.vals[o.out]
	if o.targetFrom != "" {
		t := n.computed[o.targetFrom]
		if t == nil {
			return fmt.Errorf("shape %q was not computed", o.targetFrom)
		}
		var err error
		if o.target, err = t.AsInt64(); err != nil {
			return fmt.Errorf("shape %q: %w", o.targetFrom, err)
		}
	}
	shape, err := o.outShape(x.shape)
	if err != nil {
		return err
	}
	y.resize(shape)
	copy(y.data, x.data)
	return nil
}

func (o *reshapeOp) backward(n *Net) {
	x, y := n.vals[o.in], n.vals[o.out]
	if x.grad == nil {
		return
	}
	for i, g := range y.grad {
		x.grad[i] += g
	}
}
