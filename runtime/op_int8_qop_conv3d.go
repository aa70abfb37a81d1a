package runtime

// QLinearConv and ConvInteger on 3-D (video) data: NCDHW input, [OC, C/group, KD,
// KH, KW] weights. ONNX Runtime runs them, and `warboy quantize --format qoperator`
// writes them for a Conv3d; the int8 lowering leaves them to this kernel (its
// channels-last operators are 1-D and 2-D). A 3-D convolution is a sum over the
// kernel's depth taps of 2-D convolutions: output depth od reads input depth
// od·stride − pad + kd·dilation with the weights' depth slice kd. Each slice is
// a 2-D integer convolution (convCore with int32 output, the zero points
// subtracted exactly), accumulated in int32; then the bias is added and the sum
// requantized once, so the result is the integer convolution exactly, as
// ONNX Runtime computes it. Depth taps that fall in the padding read the input
// zero point, which contributes nothing, and are skipped.

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// qopConv3D is a prepared 3-D QLinearConv / ConvInteger.
type qopConv3D struct {
	taps          []*convCore // per kernel depth index: a 2-D convolution to int32
	kd, sd, dd    int
	front, back   int // depth pads
	oc            int
	p             *qopConvParams
	autoPad       string
	kh, kw        int // spatial kernel (for auto_pad)
	sh, sw        int
	dh, dw        int
	spatialPads   [4]int
	wshape        []int
	groups        int
	preparedShape []int // the input shape auto_pad was resolved for (nil: explicit pads)
}

// prepare3D builds the convolution of 5-D weights; xShape (nil when unknown)
// resolves auto_pad.
func (k *qopConvKernel) prepare3D(in []*graph.Tensor, xdt graph.DType, xShape []int) (*qopConv3D, error) {
	w, wt, err := k.weights(in)
	if err != nil {
		return nil, err
	}
	if len(wt.Shape) != 5 {
		return nil, fmt.Errorf("weights must be 5-D for a 3-D convolution, got %v", wt.Shape)
	}
	n := k.node
	c := &qopConv3D{wshape: wt.Shape, groups: int(n.AttrInt("group", 1)), oc: wt.Shape[0]}
	if c.groups < 1 || c.oc%c.groups != 0 {
		return nil, fmt.Errorf("group %d does not divide %d output channels", c.groups, c.oc)
	}
	st, err := conv3DAttr(n, "strides")
	if err != nil {
		return nil, err
	}
	dl, err := conv3DAttr(n, "dilations")
	if err != nil {
		return nil, err
	}
	c.kd, c.kh, c.kw = wt.Shape[2], wt.Shape[3], wt.Shape[4]
	c.sd, c.sh, c.sw, c.dd, c.dh, c.dw = st[0], st[1], st[2], dl[0], dl[1], dl[2]
	for _, v := range append(st, dl...) {
		if v < 1 {
			return nil, fmt.Errorf("strides %v and dilations %v must be positive", st, dl)
		}
	}
	pads := []int{0, 0, 0, 0, 0, 0}
	c.autoPad = n.AttrString("auto_pad", "NOTSET")
	switch c.autoPad {
	case "NOTSET", "":
		if v := n.AttrIntList("pads"); v != nil {
			if len(v) != 6 {
				return nil, fmt.Errorf("pads %v: want 6 values for a 3-D convolution", v)
			}
			pads = v
		}
	case "VALID":
	case "SAME_UPPER", "SAME_LOWER":
		if xShape == nil {
			return nil, fmt.Errorf("auto_pad %s needs the input shape", c.autoPad)
		}
		if len(xShape) != 5 {
			return nil, fmt.Errorf("input shape %v: want [N, C, D, H, W]", xShape)
		}
		k3, s3, d3 := []int{c.kd, c.kh, c.kw}, st, dl
		for i := 0; i < 3; i++ {
			o := (xShape[2+i] + s3[i] - 1) / s3[i]
			total := max(0, (o-1)*s3[i]+d3[i]*(k3[i]-1)+1-xShape[2+i])
			lo, hi := total/2, total-total/2
			if c.autoPad == "SAME_LOWER" {
				lo, hi = hi, lo
			}
			pads[i], pads[3+i] = lo, hi
		}
		c.preparedShape = append([]int(nil), xShape...)
	default:
		return nil, fmt.Errorf("unknown auto_pad %q", c.autoPad)
	}
	for _, v := range pads {
		if v < 0 {
			return nil, fmt.Errorf("pads %v must be non-negative", pads)
		}
	}
	c.front, c.back = pads[0], pads[3]
	c.spatialPads = [4]int{pads[1], pads[2], pads[4], pads[5]}
	if c.p, err = k.params(in, xdt, wt, c.oc); err != nil {
		return nil, err
	}
	if c.p.bias != nil && len(c.p.bias) != c.oc {
		return nil, fmt.Errorf("bias has %d values for %d output channels", len(c.p.bias), c.oc)
	}
	cg := wt.Shape[1]
	geom := &convGeom{oc: c.oc, cg: cg, kh: c.kh, kw: c.kw, groups: c.groups, sh: c.sh, sw: c.sw, dh: c.dh, dw: c.dw,
		pt: c.spatialPads[0], pl: c.spatialPads[1], pb: c.spatialPads[2], pr: c.spatialPads[3]}
	// The depth slice kd of the OIDHW weights, OIHW.
	hw := c.kh * c.kw
	for kd := 0; kd < c.kd; kd++ {
		slice := make([]int8, c.oc*cg*hw)
		for oi := 0; oi < c.oc*cg; oi++ {
			copy(slice[oi*hw:(oi+1)*hw], w[(oi*c.kd+kd)*hw:(oi*c.kd+kd+1)*hw])
		}
		xzp := c.p.xzp
		core, err := newConvCore(geom, slice, c.p.wzp, nil, &xzp, nil)
		if err != nil {
			return nil, err
		}
		c.taps = append(c.taps, core)
	}
	return c, nil
}

// run3D convolves a 5-D input.
func (k *qopConvKernel) run3D(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	x := in[0]
	c := k.prepared3D
	if c == nil || c.preparedShape != nil && !equalInts(c.preparedShape, x.Shape) {
		var err error
		if c, err = k.prepare3D(in, x.DType, x.Shape); err != nil {
			return nil, err
		}
	}
	n, ch, d, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], x.Shape[4]
	if ch != c.wshape[1]*c.groups {
		return nil, fmt.Errorf("input has %d channels, weights expect %d", ch, c.wshape[1]*c.groups)
	}
	span := d + c.front + c.back - (c.kd-1)*c.dd - 1
	if span < 0 {
		return nil, fmt.Errorf("input depth %d with pads %d+%d is smaller than the dilated kernel depth %d",
			d, c.front, c.back, (c.kd-1)*c.dd+1)
	}
	od := span/c.sd + 1
	xs, _, err := toS8(x, "input")
	if err != nil {
		return nil, err
	}
	cl := nchwToNHWC(xs, x.Shape, ctx.Threads) // [N, D, H, W, C]
	plane := h * w * ch
	var oh, ow int
	var acc []int32
	for b := 0; b < n; b++ {
		for z := 0; z < od; z++ {
			var sum []int32
			for kd, core := range c.taps {
				id := z*c.sd - c.front + kd*c.dd
				if id < 0 || id >= d {
					continue // the padding holds the zero point: no contribution
				}
				src := cl[(b*d+id)*plane : (b*d+id+1)*plane]
				_, out32, oshape, err := core.run(ctx, src, []int{1, h, w, ch}, c.p.xzp)
				if err != nil {
					return nil, err
				}
				if sum == nil {
					oh, ow = oshape[1], oshape[2]
					if acc == nil {
						acc = make([]int32, n*od*oh*ow*c.oc)
					}
					sum = acc[(b*od+z)*oh*ow*c.oc : (b*od+z+1)*oh*ow*c.oc]
				}
				for i, v := range out32 {
					sum[i] += v
				}
			}
		}
	}
	if acc == nil {
		// No depth tap reads the input (or an empty batch): the output is the bias
		// alone; its spatial size comes from one slice's geometry.
		s := c.taps[0].geom.shape(1, h, w, ch)
		if err := s.Validate(); err != nil {
			return nil, err
		}
		oh, ow = s.OutH(), s.OutW()
		acc = make([]int32, n*od*oh*ow*c.oc)
	}
	oshape := []int{n, c.oc, od, oh, ow}
	stored := qtensor.PermuteShape(oshape, qtensor.ChannelsLastPerm(5))
	if c.p.rq == nil { // ConvInteger
		res := make([]int32, len(acc))
		qtensor.TransposeIter(stored, qtensor.InvertPerm(qtensor.ChannelsLastPerm(5)), func(dst, src, cnt, stride int) {
			for i := 0; i < cnt; i++ {
				res[dst+i] = acc[src+i*stride]
			}
		})
		return []*graph.Tensor{graph.FromInt32(oshape, res)}, nil
	}
	out8 := make([]int8, len(acc))
	for i := 0; i < len(acc); i += c.oc {
		row := acc[i : i+c.oc]
		if c.p.bias != nil {
			for j := range row {
				row[j] += c.p.bias[j]
			}
		}
		requantRow(c.p.rq, row, out8[i:i+c.oc], 0)
	}
	var xor byte
	if c.p.ydt == graph.Uint8 {
		xor = 0x80
	}
	return []*graph.Tensor{bytesTensor(c.p.ydt, oshape, nhwcToNCHW(qtensor.I8AsBytes(out8), oshape, xor, ctx.Threads))}, nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
