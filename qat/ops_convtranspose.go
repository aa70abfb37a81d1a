package qat

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// convTransposeOp is ConvTranspose (1-D or 2-D, grouped or not) with a fake-quantized
// weight (per channel along axis 1, as Quantize stores it). A transposed
// convolution is the input gradient of the convolution that maps its output
// back to its input with the same weights ([C_in][C_out/group][KH][KW] read as
// that convolution's [OC][C/group][KH][KW]), so its three passes are convCore's,
// with the roles swapped:
//
//	forward:         y = the convolution's input gradient for dy = x (+ bias)
//	input gradient:  dx = the convolution's forward pass on dy
//	weight gradient: the convolution's weight gradient for input dy, output gradient x
//
// which runs them on the executors' kernels (the shifted implicit GEMMs where
// they apply, the im2col chunks elsewhere).
type convTransposeOp struct {
	node string
	gn   *graph.Node // 2-D; a 1-D node's attributes lifted to height 1
	// oned: a 1-D transposed convolution ([N, C, L], weight [C_in, C_out/g, K]),
	// computed as the 2-D one of height 1.
	oned    bool
	in, out int
	w       *weightRef
	b       *biasRef
	core    convCore
	dbias   []float32
	dx      []float32
}

func buildConvTranspose(b *builder, node *graph.Node) (built, error) {
	in, w, bias, err := b.convOperands(node)
	if err != nil {
		return built{}, err
	}
	if len(w.p.Shape) == 5 {
		return buildConvTranspose3d(b, node, in, w, bias)
	}
	if len(w.p.Shape) != 4 && len(w.p.Shape) != 3 {
		return built{}, fmt.Errorf("weight shape %v: only 1-D, 2-D and 3-D transposed convolutions are supported", w.p.Shape)
	}
	group := int(node.AttrInt("group", 1))
	if group <= 0 || w.p.Shape[0]%group != 0 {
		return built{}, fmt.Errorf("group %d does not divide %d input channels", group, w.p.Shape[0])
	}
	o := &convTransposeOp{node: node.Label(), gn: node, in: in, out: b.slot(), w: w, b: bias}
	if len(w.p.Shape) == 3 {
		o.oned, o.gn = true, liftConvTranspose1D(node)
	}
	return built{o, o.out}, nil
}

// liftConvTranspose1D returns a 1-D ConvTranspose node as the 2-D one of height 1:
// each spatial attribute gets a leading 1 (kernel, strides, dilations, output
// sizes) or 0 (pads, output_padding).
func liftConvTranspose1D(node *graph.Node) *graph.Node {
	ln := *node
	ln.Attrs = map[string]*graph.Attr{}
	for k, a := range node.Attrs {
		ln.Attrs[k] = a
	}
	lift := func(name string, lead int64, pads bool) {
		v := node.AttrInts(name, nil)
		if v == nil {
			return
		}
		var out []int64
		if pads && len(v) == 2 {
			out = []int64{lead, v[0], lead, v[1]}
		} else {
			out = append([]int64{lead}, v...)
		}
		ln.Attrs[name] = &graph.Attr{Name: name, Type: graph.AttrInts, Ints: out}
	}
	lift("kernel_shape", 1, false)
	lift("strides", 1, false)
	lift("dilations", 1, false)
	lift("output_shape", 1, false)
	lift("output_padding", 0, false)
	lift("pads", 0, true)
	return &ln
}

func (o *convTransposeOp) label() string { return o.node }

// geometry sets the convolution whose input gradient the op computes for an
// input x of shape [N, C_in, H, W], and returns the output shape.
func (o *convTransposeOp) geometry(xs []int) ([]int, error) {
	ws := o.w.p.Shape
	if o.oned {
		ws = []int{ws[0], ws[1], 1, ws[2]}
		if len(xs) == 3 {
			xs = []int{xs[0], xs[1], 1, xs[2]}
		}
	}
	if len(xs) != 4 || xs[1] != ws[0] {
		return nil, fmt.Errorf("input shape %v, want [N,%d,H,W]", xs, ws[0])
	}
	rg, err := graph.ResolveConvTransposeGeom(o.gn, xs[2:], ws[2:])
	if err != nil {
		return nil, err
	}
	group := int(o.gn.AttrInt("group", 1))
	g := convGeom{c: ws[1] * group, oc: ws[0], group: group, kh: ws[2], kw: ws[3],
		sh: rg.Strides[0], sw: rg.Strides[1], dh: rg.Dilations[0], dw: rg.Dilations[1],
		pt: rg.Pads[0], pl: rg.Pads[1], pb: rg.Pads[2], pr: rg.Pads[3]}
	out := []int{xs[0], g.c, rg.Out[0], rg.Out[1]}
	if err := g.setInput(out); err != nil || g.oh != xs[2] || g.ow != xs[3] {
		// an output_shape past the full result (positions only the bias
		// reaches), or an output padding the convolution cannot map back
		return nil, fmt.Errorf("output %v of input %v: not the input gradient of a convolution (output_shape or output_padding not supported in training)", out, xs)
	}
	o.core.g = g
	if o.oned {
		return []int{out[0], out[1], out[3]}, nil
	}
	return out, nil
}

func (o *convTransposeOp) forward(n *Net) error {
	x, y := n.vals[o.in], n.vals[o.out]
	shape, err := o.geometry(x.shape)
	if err != nil {
		return err
	}
	y.resize(shape)
	o.w.prepare(n)
	c, g := &o.core, &o.core.g
	if c.trans == nil || c.trans.n != *g {
		c.trans = &transCache{n: *g, t: g.transposed(true)}
	}
	if c.trans.t != nil {
		c.inputGradShifted(c.trans.t, o.w.eff, x.data, y.data, true, nil, n.threads)
	} else {
		clear(y.data)
		c.inputGrad(o.w.eff, x.data, y.data, n.threads)
	}
	if bias := o.b.prepare(o.w); bias != nil {
		hw := g.h * g.w
		parallel(g.n*g.c, n.threads, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				b := bias[r%g.c]
				for i := range y.data[r*hw : (r+1)*hw] {
					y.data[r*hw+i] += b
				}
			}
		})
	}
	return nil
}

func (o *convTransposeOp) backward(n *Net) {
	x, y := n.vals[o.in], n.vals[o.out]
	c, g := &o.core, &o.core.g
	hw := g.h * g.w
	if o.b != nil {
		o.dbias = grow(o.dbias, len(o.b.p.W))
		clear(o.dbias)
		parallel(g.c, n.threads, func(lo, hi int) {
			for ch := lo; ch < hi; ch++ {
				var s float32
				for im := 0; im < g.n; im++ {
					for _, v := range y.grad[(im*g.c+ch)*hw:][:hw] {
						s += v
					}
				}
				o.dbias[ch] = s
			}
		})
		for i, v := range o.dbias {
			o.b.p.G[i] += v // rounding the bias to int32 is a straight-through step
		}
	}
	// the weight gradient: the convolution's, its input the output's gradient and
	// its output gradient this op's input
	c.backward(y.grad, o.w.eff, x.data, nil, o.w.grad(), nil, false, nil, n.threads)
	o.w.flush()
	if x.grad != nil {
		o.dx = grow(o.dx, len(x.grad))
		c.forward(y.grad, o.w.eff, nil, o.dx, n.threads)
		for i, v := range o.dx {
			x.grad[i] += v
		}
	}
}
