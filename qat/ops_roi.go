package qat

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// roiOp is RoiAlign (a two-stage detector's box head reading its proposals:
// torchvision's MultiScaleRoIAlign) or MaxRoiPool (Fast R-CNN's) on [N, C, H, W]
// features. The boxes (and RoiAlign's batch indices) pass no gradient, as in
// torchvision, whose roi_align and roi_pool return none for the boxes: they are
// read as data, computed from the features or not. The features' gradient
// goes where the forward pass read: RoiAlign's average spreads each bin's dY
// over its samples' corners by their bilinear weights over the count, its max
// mode and MaxRoiPool give it to the element they took. The geometry is the
// runtime kernel's (runtime.RoiAlignGeometry, runtime.MaxRoiPoolBins), so the
// forward pass computes what the executors do.
type roiOp struct {
	node   string
	gn     *graph.Node
	opset  int64
	align  bool // RoiAlign, else MaxRoiPool
	x, out int
	rois   roiIn
	batch  roiIn // RoiAlign's batch indices
	oh, ow int
	scale  float32
	// the last forward pass's rois: their batch images and RoiAlign's samples
	// (shared by the channels); for the max modes, per output element the
	// input element taken (-1: an empty bin) and its weight in the value
	bidx []int
	taps []runtime.RoiAlignTaps
	arg  []int32
	argW []float32
	c    int
	maxy bool
}

// roiIn is an operand read without a gradient: a constant or computed value
// (noGradIn), or a slot of the program.
type roiIn struct {
	ng   noGradIn
	slot int // -1: ng
}

func (b *builder) roiInput(node *graph.Node, name string) (roiIn, error) {
	if in, ok := b.noGradInput(name); ok {
		return roiIn{ng: in, slot: -1}, nil
	}
	s, err := b.input(node, name)
	return roiIn{slot: s}, err
}

// values returns the operand's values for this step.
func (r roiIn) values(n *Net) ([]float32, []int, error) {
	if r.slot >= 0 {
		v := n.vals[r.slot]
		return v.data, v.shape, nil
	}
	t, err := r.ng.value(n)
	if err != nil {
		return nil, nil, err
	}
	f, err := t.AsFloat64()
	if err != nil {
		return nil, nil, err
	}
	out := make([]float32, len(f))
	for i, v := range f {
		out[i] = float32(v)
	}
	return out, t.Shape, nil
}

func buildRoi(b *builder, node *graph.Node) (built, error) {
	o := &roiOp{node: node.Label(), gn: node, opset: b.orig.Opset(), align: node.OpType == "RoiAlign"}
	var err error
	if o.x, err = b.input(node, node.Input(0)); err != nil {
		return built{}, err
	}
	if o.rois, err = b.roiInput(node, node.Input(1)); err != nil {
		return built{}, err
	}
	if o.align {
		if o.batch, err = b.roiInput(node, node.Input(2)); err != nil {
			return built{}, err
		}
		o.oh, o.ow = int(node.AttrInt("output_height", 1)), int(node.AttrInt("output_width", 1))
	} else {
		ps := node.AttrInts("pooled_shape", nil)
		if len(ps) != 2 || ps[0] < 1 || ps[1] < 1 {
			return built{}, fmt.Errorf("pooled_shape must be two positive sizes, is %v", ps)
		}
		o.oh, o.ow = int(ps[0]), int(ps[1])
		o.scale = node.AttrFloat("spatial_scale", 1)
	}
	o.out = b.slot()
	return built{o, o.out}, nil
}

func (o *roiOp) label() string { return o.node }

func (o *roiOp) forward(n *Net) error {
	x := n.vals[o.x]
	if len(x.shape) != 4 {
		return fmt.Errorf("input shape %v, want [N,C,H,W]", x.shape)
	}
	nb, c, h, w := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	rd, rs, err := o.rois.values(n)
	if err != nil {
		return fmt.Errorf("rois: %w", err)
	}
	cols := 5
	if o.align {
		cols = 4
	}
	if len(rs) != 2 || rs[1] != cols {
		return fmt.Errorf("rois have shape %v, want [R,%d]", rs, cols)
	}
	r := rs[0]
	bidx := make([]int, r)
	if o.align {
		bd, _, err := o.batch.values(n)
		if err != nil {
			return fmt.Errorf("batch indices: %w", err)
		}
		if len(bd) != r {
			return fmt.Errorf("%d batch indices for %d rois", len(bd), r)
		}
		for i, v := range bd {
			bidx[i] = int(v)
		}
	} else {
		for i := range r {
			bidx[i] = int(rd[i*5])
		}
	}
	bins := o.oh * o.ow
	y := n.vals[o.out]
	y.resize([]int{r, c, o.oh, o.ow})
	o.bidx, o.taps, o.c = bidx, o.taps[:0], c
	o.maxy = !o.align
	for ri := range r {
		if bidx[ri] < 0 || bidx[ri] >= nb {
			return fmt.Errorf("roi %d: batch index %d is outside [0, %d)", ri, bidx[ri], nb)
		}
		if o.align {
			t, err := runtime.RoiAlignGeometry(o.gn, o.opset, rd[ri*4:ri*4+4], h, w)
			if err != nil {
				return fmt.Errorf("roi %d: %w", ri, err)
			}
			o.taps = append(o.taps, t)
			o.maxy = t.Max
		}
	}
	if o.maxy {
		if cap(o.arg) < r*c*bins {
			o.arg = make([]int32, r*c*bins)
		}
		o.arg, o.argW = o.arg[:r*c*bins], grow(o.argW, r*c*bins)
	}
	for ri := range r {
		var bs [][4]int
		if !o.align {
			bs = runtime.MaxRoiPoolBins(rd[ri*5+1:ri*5+5], o.scale, o.oh, o.ow, h, w)
		}
		for ch := range c {
			plane := x.data[(bidx[ri]*c+ch)*h*w:][:h*w]
			for bn := range bins {
				e := (ri*c+ch)*bins + bn
				var v float32
				at, aw := int32(-1), float32(0)
				switch {
				case o.align:
					v, at, aw = roiAlignBin(plane, o.taps[ri], bn)
				default:
					bin := bs[bn]
					for yy := bin[0]; yy < bin[1]; yy++ {
						for xx := bin[2]; xx < bin[3]; xx++ {
							if p := int32(yy*w + xx); at < 0 || plane[p] > v {
								v, at, aw = plane[p], p, 1
							}
						}
					}
				}
				y.data[e] = v
				if o.maxy {
					o.arg[e], o.argW[e] = at, aw
				}
			}
		}
	}
	return nil
}

// roiAlignBin is bin bn of one channel plane as the runtime computes it; in max
// mode also the element taken (-1: none) and its weight.
func roiAlignBin(plane []float32, t runtime.RoiAlignTaps, bn int) (float32, int32, float32) {
	if t.Per == 0 {
		return 0, -1, 0
	}
	lo, hi := bn*t.Per*4, (bn+1)*t.Per*4
	if t.Max {
		var best float32
		at, aw := int32(-1), float32(0)
		for j := lo; j < hi; j += 4 {
			for k := range 4 {
				v := t.W[j+k] * plane[t.Off[j+k]]
				if at < 0 || v > best {
					best, at, aw = v, int32(t.Off[j+k]), t.W[j+k]
				}
			}
		}
		return best, at, aw
	}
	var sum float32
	for j := lo; j < hi; j += 4 {
		sum += t.W[j]*plane[t.Off[j]] + t.W[j+1]*plane[t.Off[j+1]] + t.W[j+2]*plane[t.Off[j+2]] + t.W[j+3]*plane[t.Off[j+3]]
	}
	return sum / t.Count, -1, 0
}

func (o *roiOp) backward(n *Net) {
	x, y := n.vals[o.x], n.vals[o.out]
	if x.grad == nil {
		return
	}
	h, w := x.shape[2], x.shape[3]
	bins, c := o.oh*o.ow, o.c
	for ri, bi := range o.bidx {
		for ch := range c {
			g := x.grad[(bi*c+ch)*h*w:][:h*w]
			for bn := range bins {
				e := (ri*c+ch)*bins + bn
				dy := y.grad[e]
				if dy == 0 {
					continue
				}
				if o.maxy {
					if at := o.arg[e]; at >= 0 {
						g[at] += dy * o.argW[e]
					}
					continue
				}
				t := o.taps[ri]
				d := dy / t.Count
				for j := bn * t.Per * 4; j < (bn+1)*t.Per*4; j++ {
					g[t.Off[j]] += d * t.W[j]
				}
			}
		}
	}
}
