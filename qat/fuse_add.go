package qat

import "github.com/warboy-sim/warboy/kernels"

// The residual join of a quantize-ready ResNet block is
//
//	conv2 → FakeQuant → Add(·, shortcut) → Relu → FakeQuant
//
// and the shortcut is itself a fake quantization's output (the block's input, or
// the projection's FakeQuant). Run one op at a time, the FakeQuant after conv2
// writes its output only for the Add to read it back, the Add's output is read
// once more for the next range's min/max, and in the backward pass the Add copies
// its gradient to the FakeQuant's output for the straight-through mask to read it
// back. Here the Add does it in one pass over chunks small enough to stay in the
// L1 cache: it fake-quantizes the operands whose FakeQuant it absorbed, adds,
// and takes the min/max of the sums; backward, it applies each absorbed
// FakeQuant's straight-through mask to its gradient as it passes it on. The same
// kernels on the same values (kernels.FakeQuantF32, SumF32, MinMaxF32, STESetF32
// / STEAddF32, RowsBiasF32's +0 copy), so the same bits as the separate passes
// (TestAddFusion).

// addChunk is the number of elements the fused Add handles at a time: its
// quantized operands (8 KB each) stay in the L1 cache between the kernels.
const addChunk = 2048

// fuseFakeQuantIntoAdd lets an Add absorb the fake quantization of each operand
// that nothing else reads and that is not fused with a Relu (fuseReluFakeQuant).
func (b *builder) fuseFakeQuantIntoAdd() {
	n := b.n
	fq := n.fakeQuantsByOutput()
	for _, o := range n.ops {
		a, ok := o.(*binaryOp)
		if !ok || a.kind != "Add" || a.a == a.b {
			continue
		}
		for k, s := range []int{a.a, a.b} {
			if f := fq[s]; f != nil && f.relu == nil && b.reads[s] == 1 && !n.isOut[s] {
				a.fq[k], f.addFused = f, a
			}
		}
	}
}

func (o *binaryOp) batchMinMax(s int) (lo, hi float32, ok bool) {
	if s != o.out || !o.hasMinMax {
		return 0, 0, false
	}
	return o.minLo, o.maxHi, true
}

func (o *binaryOp) dropRange() { o.rangeOf = nil }

// operand returns operand k's values as the Add reads them: the absorbed fake
// quantization's input (f not nil) or the operand itself.
func (o *binaryOp) operand(n *Net, k int) (x []float32, f *fqOp) {
	if f = o.fq[k]; f != nil {
		return n.vals[f.in].data, f
	}
	return n.vals[[2]int{o.a, o.b}[k]].data, nil
}

// forwardAdd is the Add of equal shapes with its absorbed fake quantizations and
// the min/max of its output for rangeOf.
func (o *binaryOp) forwardAdd(n *Net, y *tensor) {
	xa, fa := o.operand(n, 0)
	xb, fb := o.operand(n, 1)
	mm := o.rangeOf != nil && o.rangeOf.followsBatch(n) && len(y.data) > 0
	parts := max(1, min(resolveThreads(n.threads), len(y.data)/addChunk))
	o.scratch = grow(o.scratch, parts*2*addChunk)
	o.los, o.his = grow(o.los, parts), grow(o.his, parts)
	per := (len(y.data) + parts - 1) / parts
	parallel(parts, parts, func(p0, p1 int) {
		for p := p0; p < p1; p++ {
			ta, tb := o.scratch[2*p*addChunk:][:addChunk], o.scratch[(2*p+1)*addChunk:][:addChunk]
			first := true
			for c, end := p*per, min(len(y.data), (p+1)*per); c < end; c += addChunk {
				e := min(end, c+addChunk)
				as, bs := xa[c:e], xb[c:e]
				if fa != nil {
					kernels.FakeQuantF32(as, ta, fa.p.Scale, int32(fa.p.ZeroPoint))
					as = ta[:e-c]
				}
				if fb != nil {
					kernels.FakeQuantF32(bs, tb, fb.p.Scale, int32(fb.p.ZeroPoint))
					bs = tb[:e-c]
				}
				ys := y.data[c:e]
				kernels.SumF32(ys, as, bs)
				if mm {
					lo, hi := kernels.MinMaxF32(ys)
					if first {
						o.los[p], o.his[p] = lo, hi
					} else {
						o.los[p], o.his[p] = min(o.los[p], lo), max(o.his[p], hi)
					}
					first = false
				}
			}
		}
	})
	if mm {
		o.minLo, o.maxHi, o.hasMinMax = o.los[0], o.his[0], true
		for p := 1; p < parts; p++ {
			o.minLo, o.maxHi = min(o.minLo, o.los[p]), max(o.maxHi, o.his[p])
		}
	}
}

// materializeFakeQuant writes the outputs of the absorbed fake quantizations
// (their own forward pass left them) when the Add takes its broadcasting path.
func (o *binaryOp) materializeFakeQuant(n *Net) {
	for _, f := range o.fq {
		if f == nil {
			continue
		}
		x, y := n.vals[f.in], n.vals[f.out]
		parallel(len(x.data), n.threads, func(lo, hi int) {
			fakeQuantSlice(x.data[lo:hi], y.data[lo:hi], f.p.Scale, f.p.ZeroPoint)
		})
	}
}

// backwardAdd passes the Add's output gradient g to each operand, through the
// straight-through mask of an absorbed fake quantization to that op's input
// (whose backward pass then does nothing: steDone). With learned ranges a fake
// quantization needs its output's gradient for its range: it then gets it
// written and runs its own backward pass.
func (o *binaryOp) backwardAdd(n *Net, g []float32) {
	type dest struct {
		x, d   []float32
		lo, hi float32
		write  bool
		ste    bool
	}
	var ds [2]dest
	for k, s := range []int{o.a, o.b} {
		f := o.fq[k]
		if f == nil || n.learnRanges && f.r.fixed == nil {
			ds[k] = dest{d: n.vals[s].grad, write: [2]bool{o.writeA, o.writeB}[k]}
			continue
		}
		f.steDone = true
		in := n.vals[f.in]
		write, lo, hi := f.steArgs(n)
		ds[k] = dest{x: in.data, d: in.grad, lo: lo, hi: hi, write: write, ste: true}
	}
	parallel((len(g)+addChunk-1)/addChunk, n.threads, func(c0, c1 int) {
		for c := c0; c < c1; c++ {
			lo, hi := c*addChunk, min(len(g), (c+1)*addChunk)
			gs := g[lo:hi]
			for _, d := range ds {
				switch {
				case d.d == nil:
				case d.ste && d.write:
					kernels.STESetF32(d.x[lo:hi], gs, d.d[lo:hi], d.lo, d.hi)
				case d.ste:
					kernels.STEAddF32(d.x[lo:hi], gs, d.d[lo:hi], d.lo, d.hi)
				case d.write:
					setTo(d.d[lo:hi], gs)
				default:
					addTo(d.d[lo:hi], gs)
				}
			}
		}
	})
}

// fuseFakeQuantIntoConv lets a convolution apply the fake quantization of its
// input, when nothing else reads that fake quantization's output, as it copies
// its input into the padded layout of its shifted paths (forward pass and weight
// gradient): the fake quantization's output (written, then read back by each of
// those copies) is never stored. kernels.RowsFakeQuantF32 computes what
// FakeQuantF32 / FakeQuantReluF32 computes, so the padded images hold the same
// values. On its other paths the convolution has the fake quantization write
// its output first, as before.
func (b *builder) fuseFakeQuantIntoConv() {
	n := b.n
	fq := n.fakeQuantsByOutput()
	for _, o := range n.ops {
		c, ok := o.(*convOp)
		if !ok {
			continue
		}
		if f := fq[c.in]; f != nil && b.reads[c.in] == 1 && !n.isOut[c.in] && f.addFused == nil {
			c.fqIn, f.convFused = f, c
		}
	}
}
