package runtime

// The channels-last layout pass of the float32 executor (see conv_rows.go): it
// picks the tensors that live channels-last and swaps in the kernels that read
// or write them. The graph, its placement and its taps are unchanged.

import (
	"fmt"
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// channelsLastMode switches the pass (tests compare both executions).
var channelsLastMode = true

// layoutRole is what a step can do with channels-last tensors.
type layoutRole int

const (
	roleNone       layoutRole = iota
	roleConv                  // a 2-D Conv on packed weights (maybe fused)
	roleMaxPool               // a 2-D MaxPool without indices: same layout in and out
	roleGlobalPool            // GlobalAverage/MaxPool: reads channels-last, writes [N, C, 1, 1]
	roleGate                  // Mul(x, [N, C, 1, 1]): same layout in (x) and out (gate_nhwc.go)
	roleConcat                // a channel Concat: any layout in, either out (layout_concat.go)
	roleSame                  // BatchNormalization, an elementwise unary, AveragePool, a spatial Pad: same layout in and out (layout_elementwise.go, layout_pool.go, layout_pad.go)
	roleToNHWC                // Transpose(0,2,3,1): reads channels-last as a view (layout_transpose.go)
	roleFromNHWC              // Transpose(0,3,1,2): writes channels-last as a view (layout_transpose.go)
	roleAffine                // per-channel Mul/Add of a constant: same layout in (xIdx) and out (layout_transpose.go)
	roleBinary                // elementwise binary of two same-shape tensors: one layout for all three (layout_transpose.go)
	roleResample              // Resize of H and W, DepthToSpace, block ConvTranspose: reads channels-last, writes either (channels-last only from channels-last; layout_resize.go)
	roleHeadSplit             // a detection head's Reshape → Transpose (→ Sigmoid): reads channels-last, writes rank 5 (layout_head.go)
)

// planChannelsLast runs after fuseConvEpilogues and before buffer lifetimes.
func (s *Session) planChannelsLast() {
	if !channelsLastMode {
		return
	}
	s.fuseChannelShuffles() // layout_shuffle.go
	s.fuseHeadSplits()      // layout_head.go
	g := s.model.Graph
	names := make(map[int]string, len(s.slots))
	for name, id := range s.slots {
		names[id] = name
	}
	// channels returns the static channel count of a rank-4 tensor, or 0.
	channels := func(id int) int {
		v := g.Values[names[id]]
		if v == nil || !v.HasShape || len(v.Shape) != 4 || v.DType != graph.Float32 || v.Shape[1].Size <= 0 {
			return 0
		}
		return v.Shape[1].Size
	}
	role := make([]layoutRole, len(s.steps))
	resIdx := make([]int, len(s.steps)) // input index of a conv's residual, or -1
	xIdx := make([]int, len(s.steps))   // the channels-last input: 0, or a gate's x
	dw := make([]bool, len(s.steps))    // a depthwise Conv (conv_depthwise.go)
	grp := make([]bool, len(s.steps))   // a grouped Conv (conv_grouped.go)
	sbias := make([]bool, len(s.steps)) // a Conv + per-sample bias Add (conv_rows_bias.go)
	affA := make([][]float32, len(s.steps))
	affB := make([][]float32, len(s.steps)) // a roleAffine step's per-channel a·x + b
	readers := map[int][]int{}
	for i, st := range s.steps {
		resIdx[i] = -1
		for _, id := range st.in {
			if id >= 0 {
				readers[id] = append(readers[id], i)
			}
		}
		if r, xi, a, b := s.transposeRole(st, channels); r != roleNone {
			role[i], xIdx[i], affA[i], affB[i] = r, xi, a, b
			continue
		}
		if xi := s.gateInput(st); xi >= 0 {
			role[i], xIdx[i] = roleGate, xi
			continue
		}
		if s.concatChannelsLast(st, channels) {
			role[i] = roleConcat
			continue
		}
		if len(st.in) == 0 || st.in[0] < 0 || channels(st.in[0]) == 0 {
			continue
		}
		if _, ok := st.kernel.(*headSplitKernel); ok {
			role[i] = roleHeadSplit
			continue
		}
		if s.resampleChannelsLast(st, channels) {
			role[i] = roleResample
			continue
		}
		if channelsLastUnary(st) || s.channelsLastClip(st) || s.channelMinMaxOf(st, channels) || s.channelsLastPReluSlope(st, channels(st.in[0])) != nil || channelsLastBatchNorm(st, channels(st.in[0])) != nil || channelsLastGroupNorm(st, channels(st.in[0])) != nil || channelsLastAvgPool(st) != nil || s.zeroPad(st) || s.spatialPadOf(st) != nil || s.sameLayoutShuffle(st, channels) {
			role[i] = roleSame
			continue
		}
		switch k := st.kernel.(type) {
		case *convKernel:
			if rowsCapable(k) && len(st.out) == 1 {
				role[i] = roleConv
			} else if w, _ := s.depthwiseWeights(st, k); w != nil && len(st.out) == 1 {
				role[i], dw[i] = roleConv, true
			} else if w, _ := s.groupedWeights(st, k); w != nil && len(st.out) == 1 {
				role[i], grp[i] = roleConv, true
			}
		case *fusedConvKernel:
			if w, _ := s.depthwiseWeights(st, k.conv); w != nil && k.add == nil {
				role[i], dw[i] = roleConv, true
				continue
			}
			if w, _ := s.groupedWeights(st, k.conv); w != nil {
				grp[i] = true
			} else if !rowsCapable(k.conv) {
				continue
			}
			if k.add != nil {
				// Only a residual of the output's shape is fused in the GEMM.
				r, o := g.Values[names[st.in[k.nConvIn]]], g.Values[names[st.out[0]]]
				switch {
				case sameStaticShape(r, o):
					resIdx[i] = k.nConvIn
				case !grp[i] && sampleBiasShape(r, g.Values[k.conv.node.Outputs[0]]):
					sbias[i] = true // a per-sample bias (conv_rows_bias.go)
				default:
					continue
				}
			}
			role[i] = roleConv
		case *poolKernel:
			if k.isMax && len(k.kernel) == 2 && len(st.out) == 1 && (len(st.node.Outputs) < 2 || st.node.Outputs[1] == "") {
				role[i] = roleMaxPool
			}
		case globalPoolKernel:
			role[i] = roleGlobalPool
		}
	}
	// accepts reports whether step r can read slot id channels-last.
	accepts := func(r, id int) bool {
		st := s.steps[r]
		for p, in := range st.in {
			if in != id {
				continue
			}
			ok := false
			switch role[r] {
			case roleConv:
				ok = p == 0 || p == resIdx[r]
			case roleMaxPool, roleGlobalPool, roleSame, roleToNHWC, roleResample, roleHeadSplit:
				ok = p == 0
			case roleGate, roleAffine:
				ok = p == xIdx[r]
			case roleConcat, roleBinary:
				ok = true
			}
			if !ok {
				return false
			}
		}
		return role[r] != roleNone
	}
	// Streamed taps the caller reads channels-last (tap_channels_last.go) are
	// kept, but need not be NCHW.
	tapCL := s.streamTapsChannelsLast(names)
	nhwc := map[int]bool{}
	for i, st := range s.steps {
		if role[i] != roleConv && role[i] != roleMaxPool && role[i] != roleGate && role[i] != roleConcat && role[i] != roleSame &&
			role[i] != roleFromNHWC && role[i] != roleAffine && role[i] != roleBinary && role[i] != roleResample {
			continue
		}
		out := st.out[0]
		if out < 0 || s.keep[out] && !tapCL[out] || channels(out) == 0 || len(readers[out]) == 0 {
			continue
		}
		ok := true
		for _, r := range readers[out] {
			ok = ok && accepts(r, out)
		}
		nhwc[out] = ok
	}
	// A MaxPool keeps its input's layout; a fused residual has its conv's.
	for changed := true; changed; {
		changed = false
		drop := func(id int) {
			if nhwc[id] {
				nhwc[id] = false
				changed = true
			}
		}
		for i, st := range s.steps {
			switch {
			case (role[i] == roleMaxPool || role[i] == roleGate || role[i] == roleSame || role[i] == roleAffine) && nhwc[st.in[xIdx[i]]] != nhwc[st.out[0]]:
				drop(st.in[xIdx[i]])
				drop(st.out[0])
			case role[i] == roleBinary && (nhwc[st.in[0]] != nhwc[st.out[0]] || nhwc[st.in[1]] != nhwc[st.out[0]]):
				drop(st.in[0])
				drop(st.in[1])
				drop(st.out[0])
			case role[i] == roleConv && resIdx[i] >= 0 && nhwc[st.in[resIdx[i]]] != nhwc[st.out[0]]:
				drop(st.in[resIdx[i]])
				drop(st.out[0])
			case role[i] == roleResample && !nhwc[st.in[0]] && nhwc[st.out[0]]:
				drop(st.out[0])
			}
		}
	}
	s.nhwc = map[int]int{}
	for id, ok := range nhwc {
		if ok {
			s.nhwc[id] = channels(id)
			if tapCL[id] {
				if s.tapCL == nil {
					s.tapCL = map[int]int{}
				}
				s.tapCL[id] = channels(id)
			}
		}
	}
	for i, st := range s.steps {
		if role[i] == roleNone {
			continue
		}
		if role[i] == roleToNHWC || role[i] == roleFromNHWC || role[i] == roleAffine || role[i] == roleBinary {
			if k := transposeLayoutKernel(role[i], st, xIdx[i], affA[i], affB[i], nhwc, channels); k != nil {
				s.steps[i].kernel = k
			}
			continue
		}
		if role[i] == roleHeadSplit {
			if hk := st.kernel.(*headSplitKernel); nhwc[st.in[0]] {
				s.steps[i].kernel = &headSplitKernel{a: hk.a, k: hk.k, act: hk.act, nhwc: true}
			}
			continue
		}
		if role[i] == roleConcat {
			if k := newNHWCConcatKernel(st, nhwc, channels); k.outNHWC || slices.Contains(k.inNHWC, true) {
				s.steps[i].kernel = k
			}
			continue
		}
		in := st.in[xIdx[i]] >= 0 && nhwc[st.in[xIdx[i]]]
		out := len(st.out) == 1 && st.out[0] >= 0 && nhwc[st.out[0]]
		if role[i] == roleResample {
			if in {
				s.steps[i].kernel = s.resampleKernel(st, channels, out)
			} else if k := s.phaseKernel(st, channels(st.in[0]), false, false); k != nil {
				s.steps[i].kernel = k // an NCHW ConvTranspose (convtranspose_phase.go)
			}
			continue
		}
		if !in && !out && !dw[i] {
			continue
		}
		if role[i] == roleSame {
			if bn := channelsLastBatchNorm(st, channels(st.in[0])); bn != nil {
				s.steps[i].kernel = newNHWCBatchNormKernel(bn.a, bn.b, false)
			} else if slope := s.channelsLastPReluSlope(st, channels(st.in[0])); slope != nil {
				s.steps[i].kernel = &nhwcPReluKernel{slope: slope} // prelu.go
			} else if gn := channelsLastGroupNorm(st, channels(st.in[0])); gn != nil {
				s.steps[i].kernel = &nhwcGroupNormKernel{gn} // fuse_groupnorm.go
			} else if ap := channelsLastAvgPool(st); ap != nil {
				s.steps[i].kernel = &nhwcAvgPoolKernel{pool: ap, c: channels(st.in[0])}
			} else if s.zeroPad(st) {
				s.steps[i].kernel = tensorCopyKernel{}
			} else if p := s.spatialPadOf(st); p != nil {
				s.steps[i].kernel = &nhwcPadKernel{p: *p, c: channels(st.in[0])} // layout_pad.go
			} else if sk, ok := st.kernel.(*channelShuffleKernel); ok {
				s.steps[i].kernel = &channelShuffleKernel{g: sk.g, c: sk.c, nhwc: true}
			} else if b, isMax := s.channelMinMax(st, channels(st.in[0])); b != nil {
				s.steps[i].kernel = newNHWCChannelMinMaxKernel(b, isMax) // layout_minmax.go
			} else if c0, ok := s.channelSlice(st, channels(st.in[0]), channels(st.out[0])); ok {
				s.steps[i].kernel = &nhwcSliceKernel{c: channels(st.in[0]), c0: c0, cn: channels(st.out[0])}
			}
			continue // an elementwise unary runs as is
		}
		if role[i] == roleGate {
			s.steps[i].kernel = &nhwcGateKernel{c: channels(st.in[xIdx[i]]), xIdx: xIdx[i]}
			continue
		}
		switch k := st.kernel.(type) {
		case *convKernel:
			if dw[i] {
				w, b := s.depthwiseWeights(st, k)
				s.steps[i].kernel = newDWRowsKernel(k, nil, w, b, len(st.in), in, out)
				continue
			}
			if grp[i] {
				w, b := s.groupedWeights(st, k)
				s.steps[i].kernel = newGroupedRowsKernel(k, nil, w, b, len(st.in), in, out)
				continue
			}
			s.steps[i].kernel = newTapRowsKernel(newRowsConvKernel(k, nil, in, out)) // conv_taps_rows.go
		case *fusedConvKernel:
			if dw[i] {
				w, b := s.depthwiseWeights(st, k.conv)
				s.steps[i].kernel = newDWRowsKernel(k.conv, k, w, b, k.nConvIn, in, out)
				continue
			}
			if grp[i] {
				w, b := s.groupedWeights(st, k.conv)
				s.steps[i].kernel = newGroupedRowsKernel(k.conv, k, w, b, k.nConvIn, in, out)
				continue
			}
			if sbias[i] {
				rk := newRowsConvKernel(k.conv, k, in, out)
				rk.residual = false
				s.steps[i].kernel = &sampleBiasConvKernel{rows: rk, bIdx: k.nConvIn}
				continue
			}
			s.steps[i].kernel = newTapRowsKernel(newRowsConvKernel(k.conv, k, in, out))
		case *poolKernel:
			s.steps[i].kernel = &nhwcMaxPoolKernel{pool: k, c: channels(st.in[0])}
		case globalPoolKernel:
			s.steps[i].kernel = &nhwcGlobalPoolKernel{isMax: k.isMax, c: channels(st.in[0])}
		}
	}
	s.foldChannelsLastRelu() // layout_elementwise.go
	// layout_concat.go, layout_shuffle_fuse.go
	s.fuseConcatBatchNorms()
	s.fuseShuffleConcatSlices()
	s.fuseConvHeadSplits() // layout_head.go
}

// rowsCapable reports whether a Conv can run as kernels.SgemmRows: 2-D, one
// group, constant float32 weights (packed at build) and bias.
func rowsCapable(k *convKernel) bool {
	return k.packed != nil && k.group == 1 && k.wConst != nil && len(k.wConst.Shape) == 4
}

// nhwcMaxPoolKernel is a 2-D MaxPool on channels-last tensors: every output
// pixel is the lane-wise max of its window's input pixels
// (kernels.MaxPoolPixelsF32).
type nhwcMaxPoolKernel struct {
	pool *poolKernel
	c    int
	out  *outView // in a Concat's buffer (concat_view.go), or nil
}

func (k *nhwcMaxPoolKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	g, err := nhwcPoolSetup(ctx, in, k.pool, k.c, "MaxPool", k.out)
	if err != nil {
		return nil, err
	}
	th := min(ctx.Threads, max(1, g.n*g.oh*g.ow*k.c*g.p.kSizeHint()/parallelMinWork))
	poolRowsNHWC(g, k.c, true, false, th) // pool_rows.go
	return []*graph.Tensor{{DType: graph.Float32, Shape: []int{g.n, g.oh, g.ow, g.so}, Data: g.yd}}, nil
}

// nhwcGlobalPoolKernel is GlobalAverage/MaxPool of a channels-last tensor; its
// output [N, C, 1, 1] is the same in either layout.
type nhwcGlobalPoolKernel struct {
	isMax bool
	c     int
}

func (k *nhwcGlobalPoolKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	x, st, err := channelsLastInput(in, k.c)
	if err != nil {
		return nil, fmt.Errorf("channels-last global pool: %w", err)
	}
	n, size := x.Shape[0], x.Shape[1]*x.Shape[2]
	if size == 0 && k.isMax {
		return nil, fmt.Errorf("input X %v has empty spatial axes", x.Shape)
	}
	out := graph.NewTensor(graph.Float32, []int{n, k.c, 1, 1})
	xd, yd := x.F32(), out.F32()
	// Split over channels in 64-byte ranges (each thread reads its part of
	// every pixel): the sums keep their order, whatever the thread count.
	const align = 16
	units := (k.c + align - 1) / align
	th := memPassThreads(ctx.Threads, n*size*k.c)
	kernels.ParallelRange(units, 1, th, func(u0, u1 int) {
		c0, c1 := u0*align, min(k.c, u1*align)
		var accBuf [256]float64
		acc := accBuf[:0]
		if c1-c0 <= len(accBuf) {
			acc = accBuf[:c1-c0]
		} else {
			acc = make([]float64, c1-c0)
		}
		for img := 0; img < n; img++ {
			y := yd[img*k.c+c0 : img*k.c+c1]
			base := img*size*st + c0
			if k.isMax {
				copy(y, xd[base:][:c1-c0])
				for p := 1; p < size; p++ {
					kernels.MaxF32(y, xd[base+p*st:][:c1-c0])
				}
				continue
			}
			clear(acc)
			kernels.AddPixelsF64(acc, xd[base:], size, st)
			if size > 0 {
				for c := range y {
					y[c] = float32(acc[c] / float64(size))
				}
			}
		}
	})
	return []*graph.Tensor{out}, nil
}

// sameStaticShape reports whether two float32 values have shapes known to be
// equal: the same sizes, or the same named symbolic dimension.
func sameStaticShape(a, b *graph.Value) bool {
	if a == nil || b == nil || !a.HasShape || !b.HasShape || a.DType != graph.Float32 || len(a.Shape) != len(b.Shape) {
		return false
	}
	for i, d := range a.Shape {
		e := b.Shape[i]
		switch {
		case d.Known() && d.Size == e.Size:
		case !d.Known() && !e.Known() && d.Param != "" && d.Param == e.Param:
		default:
			return false
		}
	}
	return true
}

// channelsLastInput checks that the single input is a channels-last float32
// tensor of c channels and returns it with its pixel stride.
func channelsLastInput(in []*graph.Tensor, c int) (*graph.Tensor, int, error) {
	if err := checkInputs(in, 1); err != nil {
		return nil, 0, err
	}
	x, st := in[0], pixelStride(c)
	if x.DType != graph.Float32 || len(x.Shape) != 4 || x.Shape[3] != st {
		return nil, 0, fmt.Errorf("input %v, want float32 [N, H, W, %d]", x.Shape, st)
	}
	return x, st, nil
}

// nhwcPoolGeom is what a channels-last 2-D pooling kernel works on: the
// input (n x h x w pixels at stride st), the output of oh x ow pixels at the
// same stride allocated in the run's arena (or at stride so, channel offset
// yo, in a Concat's buffer: out), and the window plan.
type nhwcPoolGeom struct {
	n, h, w, oh, ow, st int
	so, yo              int
	out                 *outView
	p                   *poolPlan
	xd, yd              []float32
}

func nhwcPoolSetup(ctx *ExecContext, in []*graph.Tensor, pk *poolKernel, c int, what string, out *outView) (*nhwcPoolGeom, error) {
	x, st, err := channelsLastInput(in, c)
	if err != nil {
		return nil, fmt.Errorf("channels-last %s: %w", what, err)
	}
	n, h, w := x.Shape[0], x.Shape[1], x.Shape[2]
	geom, err := graph.ResolveConvGeom(pk.node, []int{h, w}, pk.kernel, pk.ceil)
	if err != nil {
		return nil, err
	}
	oh, ow := geom.Out[0], geom.Out[1]
	g := &nhwcPoolGeom{n: n, h: h, w: w, oh: oh, ow: ow, st: st, so: st, p: newPoolPlan([]int{h, w}, geom), xd: x.F32()}
	if out == nil {
		g.yd = ctx.AllocF32(n * oh * ow * st)
		return g, nil
	}
	g.so, g.yo, g.out = out.g.stride, out.off, out
	if g.yd, err = ctx.viewBuffer(out.g, n*oh*ow*g.so); err != nil {
		return nil, fmt.Errorf("channels-last %s: %w", what, err)
	}
	return g, nil
}
