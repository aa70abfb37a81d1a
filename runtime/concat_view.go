package runtime

// Concat as a view. A channels-last channel Concat copied every input pixel by
// pixel into its output (SqueezeNet's fire modules, GoogLeNet's and
// Inception's blocks), and DenseNet's growing Concats read every earlier
// feature map of the block again for each layer. planConcatViews, a pass over
// the final step list, instead gives the convolutions and pools whose outputs
// only Concats read an output view: a channel offset in a buffer shared by
// the Concat's inputs, at the Concat's pixel stride. They write straight into
// their place; the Concat copies only the inputs that could not be placed
// (graph inputs, constants, NCHW tensors, tensors other operators also read)
// and clears the stride's padding, and is otherwise a no-op returning the
// shared buffer. A Concat read only by another Concat is placed inside the
// outer one's buffer (Inception's nested branches). DenseNet's dense block,
// whose Concats all feed a BatchNormalization (nhwcConcatBNKernel), gets one
// buffer for the block: each feature map is written once, at its offset, and
// every layer's fused Concat → BatchNormalization reads its prefix in place.
//
// A placed tensor (a "member") is the whole shared buffer, [N, H, W, stride],
// with its channels at an offset only the planning knows, so only Concat
// kernels (which are told) may read it; members are never kept (graph
// outputs, taps). The buffer lives in the run's arena: every member slot
// holds it, and the members are all alive from the first one's producer to
// the Concat that reads them all, so it is never recycled while a producer
// may still write into it.

import (
	"fmt"
	"slices"
	"sort"
)

// viewGroup is a buffer shared by channels-last tensors at channel offsets.
type viewGroup struct {
	stride int // pixel stride
	total  int // channels in use; [total, stride) is padding
}

// outView places a step's channels-last output in a group at an offset.
type outView struct {
	g   *viewGroup
	off int
}

// viewBuffer returns the run's buffer of group g (size floats: N·H·W·stride),
// allocating it on first use.
func (c *ExecContext) viewBuffer(g *viewGroup, size int) ([]float32, error) {
	c.mu.Lock()
	b, ok := c.views[g]
	c.mu.Unlock()
	if !ok {
		b = c.AllocF32(size)
		c.mu.Lock()
		if c.views == nil {
			c.views = map[*viewGroup][]float32{}
		}
		c.views[g] = b
		c.mu.Unlock()
	}
	if len(b) != size {
		return nil, fmt.Errorf("concatenation buffer of %d floats, want %d: inputs of different sizes", len(b), size)
	}
	return b, nil
}

// placeOutput gives a view-capable producer kernel its output view; it
// reports false for kernels that cannot write at an offset.
func placeOutput(k Kernel, v *outView) bool {
	switch k := k.(type) {
	case *rowsConvKernel:
		if !k.outNHWC || k.residual || k.view != nil {
			return false
		}
		k.setView(v)
	case *nhwcMaxPoolKernel:
		if k.out != nil || k.nchwOut {
			return false
		}
		k.out = v
	case *nhwcAvgPoolKernel:
		if k.out != nil || k.nchwOut {
			return false
		}
		k.out = v
	case *nhwcConcatKernel:
		if !k.outNHWC || k.out != nil {
			return false
		}
		k.out = v
	case *nhwcResizeKernel: // layout_resize.go
		if !k.out || k.view != nil {
			return false
		}
		k.view = v
	case *nhwcConvTransposeKernel: // layout_convtranspose.go
		if !k.out || k.view != nil {
			return false
		}
		k.view = v
	default:
		return false
	}
	return true
}

// concatOf returns the Concat part of a channels-last Concat step, or nil.
func concatOf(k Kernel) *nhwcConcatKernel {
	switch k := k.(type) {
	case *nhwcConcatKernel:
		return k
	case *nhwcConcatBNKernel:
		return k.cat
	}
	return nil
}

// planConcatViews runs on the final step list, before buffer lifetimes.
func (s *Session) planConcatViews() {
	if !channelsLastMode {
		return
	}
	readers := s.stepReaders()
	producer := map[int]int{}
	for i, st := range s.steps {
		for _, id := range st.out {
			if id >= 0 {
				producer[id] = i
			}
		}
	}
	var cats []int
	for i, st := range s.steps {
		if cat := concatOf(st.kernel); cat != nil && len(cat.c) == len(st.in) {
			cats = append(cats, i)
		}
	}
	// The widest Concat first: it owns the buffer its inputs (and the
	// narrower Concats of a dense block, or a nested Concat) are placed in.
	sort.SliceStable(cats, func(a, b int) bool {
		ta, tb := concatOf(s.steps[cats[a]].kernel).total, concatOf(s.steps[cats[b]].kernel).total
		if ta != tb {
			return ta > tb
		}
		return cats[a] > cats[b]
	})
	placed := map[int]*outView{}
	// onlyConcats reports whether every reader of a slot is a channels-last
	// Concat (the only kernels told where a member's channels are).
	onlyConcats := func(id int) bool {
		if len(readers[id]) == 0 {
			return false
		}
		for _, r := range readers[id] {
			if cat := concatOf(s.steps[r].kernel); cat == nil || len(cat.c) != len(s.steps[r].in) {
				return false
			}
		}
		return true
	}
	// First the placements, widest Concat first; then what each Concat
	// reads where, once every member is placed (a narrower Concat may place
	// an input a wider one, already seen, also reads).
	type home struct {
		g    *viewGroup
		base int
	}
	homes := map[int]home{}
	for _, i := range cats {
		st := s.steps[i]
		cat := concatOf(st.kernel)
		_, pure := st.kernel.(*nhwcConcatKernel)
		var h home
		switch {
		case pure && cat.out != nil:
			h = home{cat.out.g, cat.out.off}
		case pure && !cat.outNHWC:
			// An NCHW output: its inputs stay where they are.
		case s.viewFits(st.out[0], pixelStride(cat.total), s.concatViewLimit(st, producer)):
			h.g = &viewGroup{stride: pixelStride(cat.total), total: cat.total}
		}
		homes[i] = h
		if h.g == nil {
			continue
		}
		off := 0
		for j, id := range st.in {
			at := off
			off += cat.c[j]
			if !cat.inNHWC[j] || id < 0 || placed[id] != nil {
				continue
			}
			p, ok := producer[id]
			if !ok || s.keep[id] || s.consts[id] != nil || !onlyConcats(id) || len(s.steps[p].out) != 1 {
				continue
			}
			v := &outView{g: h.g, off: h.base + at}
			if placeOutput(s.steps[p].kernel, v) {
				placed[id] = v
			}
		}
	}
	for _, i := range cats {
		st := s.steps[i]
		cat := concatOf(st.kernel)
		_, pure := st.kernel.(*nhwcConcatKernel)
		h := homes[i]
		cat.inAt = make([]viewAt, len(st.in))
		cat.inPlace = make([]bool, len(st.in))
		off := 0
		for j, id := range st.in {
			at := off
			off += cat.c[j]
			if v := placed[id]; v != nil && cat.inNHWC[j] && id >= 0 {
				cat.inAt[j] = viewAt{stride: v.g.stride, off: v.off, set: true}
				// A tensor twice in one Concat is in place once.
				cat.inPlace[j] = pure && v.g == h.g && v.off == h.base+at
			}
		}
		if pure && cat.outNHWC && cat.out == nil && slices.Contains(cat.inPlace, true) {
			cat.out = &outView{g: h.g}
		}
	}
}

// concatViewBytes bounds one image of a shared buffer. Each producer writes
// its channels of every pixel, a few cache lines a pixel stride apart; over
// a buffer larger than the L2 cache those stores miss where the Concat's copy
// wrote whole rows in order: DenseNet's first dense block (56×56 pixels of
// 256 channels, 3.2 MB) took 8-12 % longer in each of its 3×3 convolutions
// writing into the block's buffer, its second (1.7 MB) 5-8 %, more than the
// copies saved (thread CPU time per step, docs/runtime.md).
const concatViewBytes = 512 << 10

// viewFits reports whether one image of a buffer of pixel stride stride
// shaped like tensor id (static height and width) is within limit bytes
// (concatViewBytes, or concatViewWideBytes: see concatViewLimit).
func (s *Session) viewFits(id, stride, limit int) bool {
	for name, sid := range s.slots {
		if sid != id {
			continue
		}
		v := s.model.Graph.Values[name]
		if v == nil || !v.HasShape || len(v.Shape) != 4 || !v.Shape[2].Known() || !v.Shape[3].Known() {
			return false
		}
		return v.Shape[2].Size*v.Shape[3].Size*stride*4 <= limit
	}
	return false
}

// viewAt is where a Concat reads a channels-last input: a member at a
// channel offset of a wider buffer, or (unset) its own tensor at the pixel
// stride of its channel count.
type viewAt struct {
	stride, off int
	set         bool
}
