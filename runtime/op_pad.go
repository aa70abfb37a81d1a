package runtime

// Pad (constant, reflect and edge modes; negative pads crop) for every element type.
// Each output axis gets a map from output to input position (-1 for constant padding);
// the output is then assembled row by row, copying the interior of each row and
// filling or gathering its borders.

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

type padKernel struct {
	mode     string
	attrPads []int64 // opset < 11
	value    float64 // opset < 11
	legacy   bool
}

func buildPad(b *BuildContext) (Kernel, error) {
	n := b.Node
	k := &padKernel{mode: n.AttrString("mode", graph.PadConstant), legacy: b.Opset < 11}
	switch k.mode {
	case graph.PadConstant, graph.PadReflect, graph.PadEdge:
	default:
		return nil, fmt.Errorf("%s: %w mode %q", n.Label(), graph.ErrUnsupported, k.mode)
	}
	if k.legacy {
		k.attrPads = n.AttrInts("pads", nil)
		if k.attrPads == nil {
			return nil, b.Errorf("missing required attribute pads")
		}
		k.value = float64(n.AttrFloat("value", 0))
	}
	return k, nil
}

// padScalarOf makes a one-element tensor of dtype dt holding v.
func padScalarOf(dt graph.DType, v float64) (*graph.Tensor, error) {
	t := graph.NewTensor(dt, nil)
	switch d := t.Data.(type) {
	case []float32:
		d[0] = float32(v)
	case []float64:
		d[0] = v
	case []int8:
		d[0] = int8(v)
	case []uint8:
		d[0] = uint8(v)
	case []int16:
		d[0] = int16(v)
	case []uint16:
		switch dt {
		case graph.Float16:
			d[0] = graph.Float32ToFloat16(float32(v))
		case graph.BFloat16:
			d[0] = f32ToBF16(float32(v))
		default:
			d[0] = uint16(v)
		}
	case []int32:
		d[0] = int32(v)
	case []uint32:
		d[0] = uint32(v)
	case []int64:
		d[0] = int64(v)
	case []uint64:
		d[0] = uint64(v)
	case []bool:
		d[0] = v != 0
	case []string:
	default:
		return nil, fmt.Errorf("unsupported data type %s", dt)
	}
	return t, nil
}

// padIndex maps output position o of an axis of size n with leading pad pb to an input
// position, or -1 for constant padding.
func padIndex(mode string, o, pb, n int) int {
	i := o - pb
	if i >= 0 && i < n {
		return i
	}
	switch mode {
	case graph.PadEdge:
		return min(max(i, 0), n-1)
	case graph.PadReflect:
		if n == 1 {
			return 0
		}
		period := 2 * (n - 1)
		i %= period
		if i < 0 {
			i += period
		}
		if i >= n {
			i = period - i
		}
		return i
	}
	return -1
}

func (k *padKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	rank := len(x.Shape)
	pads := k.attrPads
	var cval *graph.Tensor
	if !k.legacy {
		p := optInput(in, 1)
		if p == nil {
			return nil, fmt.Errorf("missing input 1 (pads)")
		}
		var err error
		if pads, err = intsInput(p, "pads"); err != nil {
			return nil, err
		}
		if a := optInput(in, 3); a != nil { // Pad-18: pads over these axes only
			axes, err := intsInput(a, "axes")
			if err != nil {
				return nil, err
			}
			if pads, err = graph.ExpandPadAxes(pads, axes, rank); err != nil {
				return nil, err
			}
		}
		if c := optInput(in, 2); c != nil && c.Len() > 0 {
			if c.DType != x.DType {
				return nil, fmt.Errorf("constant_value is %s, data is %s (dtype mismatch)", c.DType, x.DType)
			}
			if c.Len() != 1 {
				return nil, fmt.Errorf("constant_value must be a scalar, has shape %v", c.Shape)
			}
			cval = c
		}
	}
	if len(pads) != 2*rank {
		return nil, fmt.Errorf("pads has %d values, expected %d for input shape %v", len(pads), 2*rank, x.Shape)
	}
	if cval == nil {
		var err error
		if cval, err = padScalarOf(x.DType, k.value); err != nil {
			return nil, err
		}
	}
	outShape := make([]int, rank)
	for a, d := range x.Shape {
		s := int64(d) + pads[a] + pads[rank+a]
		if s < 0 || s > math.MaxInt32 {
			return nil, fmt.Errorf("pads %v give axis %d of %v the size %d", pads, a, x.Shape, s)
		}
		outShape[a] = int(s)
		if k.mode != graph.PadConstant && d == 0 && s > 0 {
			return nil, fmt.Errorf("%s padding of an empty axis %d", k.mode, a)
		}
	}
	if err := checkSize(outShape, "output shape"); err != nil {
		return nil, err
	}
	src, err := bufferOf(x)
	if err != nil {
		return nil, err
	}
	cbuf, err := bufferOf(cval)
	if err != nil {
		return nil, err
	}
	total := graph.NumElements(outShape)
	dst := src.Make(total)
	out := &graph.Tensor{DType: x.DType, Shape: outShape, Data: dst.Data()}
	if total == 0 {
		return []*graph.Tensor{out}, nil
	}
	if rank == 0 {
		dst.Copy(0, src, 0, 1)
		return []*graph.Tensor{out}, nil
	}
	maps := make([][]int, rank)
	for a := range maps {
		maps[a] = make([]int, outShape[a])
		for o := range maps[a] {
			maps[a][o] = padIndex(k.mode, o, int(pads[a]), x.Shape[a])
		}
	}
	last := maps[rank-1]
	ol, il := outShape[rank-1], x.Shape[rank-1]
	// The last axis splits into a leading border, a run copied as is, and a trailing
	// border.
	runLo, runHi := ol, ol
	for o, i := range last {
		if i == o-int(pads[rank-1]) && i >= 0 && i < il {
			if runLo == ol {
				runLo = o
			}
			runHi = o + 1
		}
	}
	gather := make([]int, ol)
	rows := total / ol
	lead := make([]int, rank-1)
	for row := 0; row < rows; row++ {
		d := row * ol
		off, constRow := 0, false
		for a := 0; a < rank-1; a++ {
			i := maps[a][lead[a]]
			if i < 0 {
				constRow = true
				break
			}
			off = off*x.Shape[a] + i
		}
		for a := rank - 2; a >= 0; a-- {
			lead[a]++
			if lead[a] < outShape[a] {
				break
			}
			lead[a] = 0
		}
		if constRow {
			dst.Fill(d, ol, cbuf, 0)
			continue
		}
		base := off * il
		if runLo < runHi {
			dst.Copy(d+runLo, src, base+last[runLo], runHi-runLo)
		}
		for _, seg := range [2][2]int{{0, min(runLo, ol)}, {runHi, ol}} {
			if seg[0] >= seg[1] {
				continue
			}
			if k.mode == graph.PadConstant {
				dst.Fill(d+seg[0], seg[1]-seg[0], cbuf, 0)
				continue
			}
			g := gather[:seg[1]-seg[0]]
			for j := range g {
				g[j] = base + last[seg[0]+j]
			}
			dst.Take(d+seg[0], src, g)
		}
	}
	return []*graph.Tensor{out}, nil
}

func init() {
	Register(OpInfo{OpType: "Pad", Build: buildPad})
}
