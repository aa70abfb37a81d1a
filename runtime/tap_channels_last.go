package runtime

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// Channels-last taps. A tensor the session keeps for a tap is never held
// channels-last (the caller wants it in the graph's layout), so a session that
// taps every activation (calibration) runs the whole network on the NCHW paths:
// YOLOv5s at 640² spent 245 ms per image in its convolutions under calibration
// against about 120 ms without taps. A caller that reads the tensors in any
// element order it can map (statistics over all elements, runs of equal values
// in graph order) passes WithTapChannelsLast: the streamed tapped tensors may
// then live channels-last like untapped ones, and reach that function as pixel
// rows (whole, or in pieces from an elementwise chain, tap_chain.go) with their
// layout, instead of the TapFunc. Nothing is converted.

// ChannelsLast is the layout of a tapped tensor held channels-last: N images of
// H×W pixels, each pixel Stride floats of which the first C are its channels (the
// rest is padding to be skipped). Element (n, c, h, w) of the graph's [N, C, H, W]
// tensor is at ((n·H + h)·W + w)·Stride + c.
type ChannelsLast struct {
	N, C, H, W, Stride int
}

// Pixels is the number of pixels, N·H·W.
func (l ChannelsLast) Pixels() int { return l.N * l.H * l.W }

// TapChannelsLastFunc receives a tapped tensor held channels-last: pixels holds
// pixels [first, first+len(pixels)/l.Stride) of the l.Pixels() (whole pixels, in
// order; the whole tensor at once, or a chain's interior tensor in pieces). The
// rules of TapFunc and TapPieceFunc apply: it must not modify or keep pixels.
type TapChannelsLastFunc func(name string, pixels []float32, first int, l ChannelsLast) error

// WithTapChannelsLast lets a streaming session (WithTapFunc) hold its tapped
// tensors channels-last where the layout pass would hold them so untapped, and
// stream those to f; the others still go to the TapFunc (and TapPieceFunc).
func WithTapChannelsLast(f TapChannelsLastFunc) Option { return func(c *config) { c.tapCL = f } }

// streamTapsChannelsLast lists the slots that planChannelsLast may hold
// channels-last although they are kept: streamed taps (not graph outputs) of a
// session with a TapChannelsLastFunc, of more than one pixel per image when the
// shape says (a 1×1 map is the same in both layouts but for padding).
func (s *Session) streamTapsChannelsLast(names map[int]string) map[int]bool {
	if s.cfg.tapFunc == nil || s.cfg.tapCL == nil {
		return nil
	}
	outs := map[int]bool{}
	for _, id := range s.outSlots {
		outs[id] = true
	}
	ok := map[int]bool{}
	for id, name := range names {
		if !(s.cfg.tapAll || s.cfg.taps[name]) || outs[id] || s.consts[id] != nil {
			continue
		}
		if v := s.model.Graph.Values[name]; v != nil && v.HasShape && len(v.Shape) == 4 &&
			v.Shape[2].Known() && v.Shape[3].Known() && v.Shape[2].Size*v.Shape[3].Size < 2 {
			continue
		}
		ok[id] = true
	}
	return ok
}

// channelsLastOf returns the layout of a channels-last tensor of c channels.
func channelsLastOf(t *graph.Tensor, c int) (ChannelsLast, error) {
	if t.DType != graph.Float32 || len(t.Shape) != 4 || t.Shape[3] < c {
		return ChannelsLast{}, fmt.Errorf("channels-last tap: tensor %s %v, want float32 [N, H, W, >=%d]", t.DType, t.Shape, c)
	}
	return ChannelsLast{N: t.Shape[0], C: c, H: t.Shape[1], W: t.Shape[2], Stride: t.Shape[3]}, nil
}

// tapTensor streams one tapped tensor whole: to the TapChannelsLastFunc when
// the session holds it channels-last, to the TapFunc otherwise.
func (s *Session) tapTensor(id int, name string, t *graph.Tensor) error {
	if c, ok := s.tapCL[id]; ok {
		l, err := channelsLastOf(t, c)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return s.cfg.tapCL(name, t.F32(), 0, l)
	}
	return s.cfg.tapFunc(name, t)
}
