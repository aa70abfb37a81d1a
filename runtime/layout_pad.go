package runtime

// Spatial Pad inside the channels-last chains (eighteenth session): Paddle's
// p2o exports (paddle_op10) and style-transfer nets pad H and W with mode
// reflect or edge between convolutions; as an NCHW step the Pad kept the
// convolutions before and after it NCHW (and the PRelu, pools and gates
// around them). Channels-last, a padded row is the input row's pixels copied
// whole, with the reflected or repeated pixels (or the constant) on either
// side.

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// spatialPad is a Pad of H and W only, by non-negative constant amounts.
type spatialPad struct {
	mode                     string
	top, left, bottom, right int
	value                    float32
}

// spatialPadOf returns the spatial Pad of a step (pads known at plan time,
// no axes input, nothing padded on N or C, no cropping), or nil.
func (s *Session) spatialPadOf(st step) *spatialPad {
	k, ok := st.kernel.(*padKernel)
	if !ok || len(st.out) != 1 || len(st.in) < 1 || len(st.in) > 3 {
		return nil
	}
	pads, value := k.attrPads, float32(k.value)
	if !k.legacy {
		if len(st.in) < 2 || st.in[1] < 0 || s.consts[st.in[1]] == nil {
			return nil
		}
		var err error
		if pads, err = intsInput(s.consts[st.in[1]], "pads"); err != nil {
			return nil
		}
		if len(st.in) == 3 && st.in[2] >= 0 {
			c := s.consts[st.in[2]]
			if c == nil || c.DType != graph.Float32 || c.Len() > 1 {
				return nil
			}
			if c.Len() == 1 {
				value = c.F32()[0]
			}
		}
	}
	if len(pads) != 8 || pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0 {
		return nil
	}
	for _, p := range pads {
		if p < 0 {
			return nil
		}
	}
	return &spatialPad{mode: k.mode, top: int(pads[2]), left: int(pads[3]), bottom: int(pads[6]), right: int(pads[7]), value: value}
}

// nhwcPadKernel is a spatialPad of a channels-last tensor of c channels
// (pixel stride pixelStride(c); the stride's padding lanes stay zero).
type nhwcPadKernel struct {
	p spatialPad
	c int
}

func (k *nhwcPadKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("channels-last Pad: no input")
	}
	x, st, err := channelsLastInput(in[:1], k.c)
	if err != nil {
		return nil, fmt.Errorf("channels-last Pad: %w", err)
	}
	n, h, w := x.Shape[0], x.Shape[1], x.Shape[2]
	p := k.p
	if p.mode != graph.PadConstant && (h == 0 && p.top+p.bottom > 0 || w == 0 && p.left+p.right > 0) {
		return nil, fmt.Errorf("channels-last Pad: cannot pad an empty axis in mode %s (input %v)", p.mode, x.Shape)
	}
	oh, ow := h+p.top+p.bottom, w+p.left+p.right
	xd := x.F32()
	yd := ctx.AllocF32(n * oh * ow * st)
	fill := make([]float32, st) // one constant pixel: the value in the c lanes
	for i := 0; i < k.c; i++ {
		fill[i] = p.value
	}
	nnParallel(memPassThreads(ctx.Threads, len(yd)), n*oh, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			img, oy := r/oh, r%oh
			dst := yd[r*ow*st : (r+1)*ow*st]
			sy := padIndex(p.mode, oy, p.top, h)
			if sy < 0 {
				for ox := 0; ox < ow; ox++ {
					copy(dst[ox*st:], fill)
				}
				continue
			}
			src := xd[(img*h+sy)*w*st : (img*h+sy+1)*w*st]
			copy(dst[p.left*st:(p.left+w)*st], src)
			for ox := 0; ox < ow; ox++ {
				if ox == p.left {
					ox += w // the copied run; on to the right side
					if ox >= ow {
						break
					}
				}
				if sx := padIndex(p.mode, ox, p.left, w); sx >= 0 {
					copy(dst[ox*st:(ox+1)*st], src[sx*st:])
				} else {
					copy(dst[ox*st:(ox+1)*st], fill)
				}
			}
		}
	})
	return []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, oh, ow, st}, Data: yd}}, nil
}
