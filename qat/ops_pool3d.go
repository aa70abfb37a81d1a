package qat

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

// pool3dOp is MaxPool or AveragePool over [N, C, D, H, W] (C3D's and 3-D
// U-Nets' pooling): each output the max (its gradient to the element that won)
// or the mean of the window's taps inside the input (with count_include_pad the
// window's full size), as the 2-D poolOp computes them.
type pool3dOp struct {
	node       string
	max        bool
	in, out    int
	k, s       [3]int
	lo, hi     [3]int // pads before and after along D, H, W
	autoPad    string
	ceil       bool
	includePad bool
	in3, out3  [3]int
	argmax     []int32
	cnt        []float32 // AveragePool divisor per output position of a plane
	idxName    string    // MaxPool's indices output (poolOp.idxName)
}

// outSlots: the pooled values' slot; the indices (-1) are a computed output.
func (o *pool3dOp) outSlots() []int { return []int{o.out, -1} }

// buildPool3d builds the op for buildPool, which checked the attributes the 2-D
// and 3-D forms share and gave the output slot.
func buildPool3d(node *graph.Node, in, out int, autoPad string, ceil bool, idxName string) (built, error) {
	o := &pool3dOp{node: node.Label(), max: node.OpType == "MaxPool", in: in, out: out, autoPad: autoPad, ceil: ceil, idxName: idxName,
		includePad: node.AttrInt("count_include_pad", 0) != 0}
	k := node.AttrInts("kernel_shape", nil)
	s := node.AttrInts("strides", []int64{1, 1, 1})
	p := node.AttrInts("pads", []int64{0, 0, 0, 0, 0, 0})
	if autoPad != graph.AutoPadNotSet {
		p = []int64{0, 0, 0, 0, 0, 0}
	}
	if len(k) != 3 || len(s) != 3 || len(p) != 6 {
		return built{}, fmt.Errorf("%w: kernel %v, strides %v, pads %v (3-D pooling)", ErrNoGradient, k, s, p)
	}
	for i := range 3 {
		o.k[i], o.s[i], o.lo[i], o.hi[i] = int(k[i]), int(s[i]), int(p[i]), int(p[3+i])
		if o.k[i] < 1 || o.s[i] < 1 || o.lo[i] < 0 || o.hi[i] < 0 {
			return built{}, fmt.Errorf("kernel %v, strides %v, pads %v", k, s, p)
		}
	}
	return built{o, o.out}, nil
}

func (o *pool3dOp) label() string { return o.node }

// geom sets the sizes for input shape x and returns the output shape.
func (o *pool3dOp) geom(x []int) ([]int, error) {
	if len(x) != 5 {
		return nil, fmt.Errorf("input shape %v, want [N,C,D,H,W]", x)
	}
	for i := range 3 {
		o.in3[i] = x[2+i]
		if o.autoPad == graph.AutoPadSameUpper || o.autoPad == graph.AutoPadSameLower {
			o.lo[i], o.hi[i] = samePads(o.autoPad, o.in3[i], o.k[i], o.s[i], 1)
		}
		if o.out3[i] = poolOut(o.in3[i], o.lo[i], o.hi[i], o.k[i], o.s[i], o.ceil); o.out3[i] <= 0 {
			return nil, fmt.Errorf("input %v is smaller than the window %v", x[2:], o.k)
		}
	}
	return []int{x[0], x[1], o.out3[0], o.out3[1], o.out3[2]}, nil
}

// window returns the taps of output position (z, y, x) inside the input: the
// start of the window along each axis and the in-bounds range [a, b) of kernel
// offsets.
func (o *pool3dOp) window(pos [3]int) (start, a, b [3]int) {
	for i := range 3 {
		start[i] = pos[i]*o.s[i] - o.lo[i]
		a[i], b[i] = max(0, -start[i]), min(o.k[i], o.in3[i]-start[i])
	}
	return
}

func (o *pool3dOp) forward(n *Net) error {
	x, y := n.vals[o.in], n.vals[o.out]
	shape, err := o.geom(x.shape)
	if err != nil {
		return err
	}
	y.resize(shape)
	ip, op := o.in3[0]*o.in3[1]*o.in3[2], o.out3[0]*o.out3[1]*o.out3[2]
	if o.max {
		if cap(o.argmax) < len(y.data) {
			o.argmax = make([]int32, len(y.data))
		}
		o.argmax = o.argmax[:len(y.data)]
	} else {
		o.cnt = grow(o.cnt, op)
	}
	planes := shape[0] * shape[1]
	parallel(planes, n.threads, func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			src := x.data[pl*ip : (pl+1)*ip]
			q := 0
			for z := range o.out3[0] {
				for yy := range o.out3[1] {
					for xx := range o.out3[2] {
						st, a, b := o.window([3]int{z, yy, xx})
						best, bi := float32(math.Inf(-1)), int32(-1)
						var sum float32
						for i := a[0]; i < b[0]; i++ {
							for j := a[1]; j < b[1]; j++ {
								r := ((st[0]+i)*o.in3[1]+st[1]+j)*o.in3[2] + st[2]
								for k := a[2]; k < b[2]; k++ {
									v := src[r+k]
									if v > best {
										best, bi = v, int32(r+k)
									}
									sum += v
								}
							}
						}
						oi := pl*op + q
						if o.max {
							y.data[oi], o.argmax[oi] = best, bi
						} else {
							div := float32(max(0, b[0]-a[0]) * max(0, b[1]-a[1]) * max(0, b[2]-a[2]))
							if o.includePad {
								div = float32(o.k[0] * o.k[1] * o.k[2])
							}
							if pl == 0 {
								o.cnt[q] = div
							}
							y.data[oi] = sum / div
						}
						q++
					}
				}
			}
		}
	})
	if o.idxName != "" {
		n.computed[o.idxName] = maxPoolIndices(y.shape, o.argmax, ip)
	}
	return nil
}

func (o *pool3dOp) backward(n *Net) {
	x, y := n.vals[o.in], n.vals[o.out]
	if x.grad == nil {
		return
	}
	ip, op := o.in3[0]*o.in3[1]*o.in3[2], o.out3[0]*o.out3[1]*o.out3[2]
	planes := x.shape[0] * x.shape[1]
	parallel(planes, n.threads, func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			dst := x.grad[pl*ip : (pl+1)*ip]
			q := 0
			for z := range o.out3[0] {
				for yy := range o.out3[1] {
					for xx := range o.out3[2] {
						g := y.grad[pl*op+q]
						if o.max {
							if a := o.argmax[pl*op+q]; a >= 0 {
								dst[a] += g
							}
							q++
							continue
						}
						g /= o.cnt[q]
						q++
						st, a, b := o.window([3]int{z, yy, xx})
						for i := a[0]; i < b[0]; i++ {
							for j := a[1]; j < b[1]; j++ {
								r := ((st[0]+i)*o.in3[1]+st[1]+j)*o.in3[2] + st[2]
								for k := a[2]; k < b[2]; k++ {
									dst[r+k] += g
								}
							}
						}
					}
				}
			}
		}
	})
}
