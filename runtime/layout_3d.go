package runtime

// The channels-last pass for 3-D networks (conv3d_rows.go): it runs after
// the 2-D pass (layout_float.go), which leaves rank-5 tensors alone, and
// keeps the tensors between 3-D convolutions, 3-D pools, elementwise
// unaries and global pools channels-last, [N, D, H, W, S]: no layout
// transposition per operator. Every 3-D Conv on constant weights runs on the
// rows GEMM (a depthwise one on kernels.Depthwise3DF32, conv_depthwise3d.go)
// whatever the layouts around it (an NCDHW input is laid out by its
// fill, an NCDHW output transposed as it is stored), so a Conv between
// operators that need NCDHW (InstanceNormalization, a MaxPool with indices)
// still leaves the im2col path.

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

type role3D int

const (
	role3DNone   role3D = iota
	role3DConv          // a 3-D Conv on constant weights (maybe fused): reads and writes either layout
	role3DPool          // a 3-D MaxPool (no indices) or AveragePool: same layout in and out
	role3DSame          // an elementwise unary or a constant Clip: same layout in and out
	role3DGlobal        // GlobalAverage/MaxPool: reads channels-last, writes [N, C, 1, 1, 1]
)

// conv3DWeights returns the constant weights and bias of a step's Conv when
// it runs on conv3dRowsKernel, or nil.
func (s *Session) conv3DWeights(st step, ck *convKernel) (w, b *graph.Tensor) {
	if len(st.in) < 2 || st.in[1] < 0 || len(st.out) != 1 {
		return nil, nil
	}
	w = s.consts[st.in[1]]
	if len(st.in) > 2 && len(ck.node.Inputs) > 2 && ck.node.Inputs[2] != "" {
		if st.in[2] < 0 {
			return nil, nil
		}
		b = s.consts[st.in[2]]
	}
	if !conv3dCapable(ck, w, b) {
		return nil, nil
	}
	x := s.model.Graph.Values[s.nameOf(st.in[0])]
	if x == nil || !x.HasShape || len(x.Shape) != 5 || x.DType != graph.Float32 || x.Shape[1].Size != w.Shape[1]*ck.group {
		return nil, nil
	}
	return w, b
}

// planChannelsLast3D runs right after planChannelsLast.
func (s *Session) planChannelsLast3D() {
	if !channelsLastMode {
		return
	}
	g := s.model.Graph
	// channels returns the static channel count of a rank-5 float32 slot, or 0.
	channels := func(id int) int {
		if id < 0 {
			return 0
		}
		v := g.Values[s.nameOf(id)]
		if v == nil || !v.HasShape || len(v.Shape) != 5 || v.DType != graph.Float32 || v.Shape[1].Size <= 0 {
			return 0
		}
		return v.Shape[1].Size
	}
	role := make([]role3D, len(s.steps))
	resIdx := make([]int, len(s.steps))
	readers := map[int][]int{}
	for i, st := range s.steps {
		resIdx[i] = -1
		for _, id := range st.in {
			if id >= 0 {
				readers[id] = append(readers[id], i)
			}
		}
		if len(st.in) == 0 || channels(st.in[0]) == 0 {
			continue
		}
		switch k := st.kernel.(type) {
		case *convKernel:
			if w, _ := s.conv3DWeights(st, k); w != nil {
				role[i] = role3DConv
			} else if w, _ := s.depthwise3DWeights(st, k); w != nil {
				role[i] = role3DConv // conv_depthwise3d.go
			}
		case *fusedConvKernel:
			if w, _ := s.conv3DWeights(st, k.conv); w == nil {
				if w, _ := s.depthwise3DWeights(st, k.conv); w != nil && k.add == nil {
					role[i] = role3DConv
				}
				continue
			}
			if k.add != nil {
				r, o := g.Values[s.nameOf(st.in[k.nConvIn])], g.Values[s.nameOf(st.out[0])]
				if !sameStaticShape(r, o) {
					continue
				}
				resIdx[i] = k.nConvIn
			}
			role[i] = role3DConv
		case *poolKernel:
			if len(k.kernel) == 3 && len(st.out) == 1 && (len(st.node.Outputs) < 2 || st.node.Outputs[1] == "") && !k.colMajor {
				role[i] = role3DPool
			}
		case globalPoolKernel:
			if len(st.out) == 1 {
				role[i] = role3DGlobal
			}
		default:
			if channelsLastUnary(st) || s.channelsLastClip(st) {
				role[i] = role3DSame
			}
		}
	}
	accepts := func(r, id int) bool {
		for p, in := range s.steps[r].in {
			if in != id {
				continue
			}
			ok := false
			switch role[r] {
			case role3DConv:
				ok = p == 0 || p == resIdx[r]
			case role3DPool, role3DSame, role3DGlobal:
				ok = p == 0
			}
			if !ok {
				return false
			}
		}
		return role[r] != role3DNone
	}
	nhwc := map[int]bool{}
	for i, st := range s.steps {
		if role[i] != role3DConv && role[i] != role3DPool && role[i] != role3DSame {
			continue
		}
		out := st.out[0]
		if out < 0 || s.keep[out] || channels(out) == 0 || len(readers[out]) == 0 {
			continue
		}
		ok := true
		for _, r := range readers[out] {
			ok = ok && accepts(r, out)
		}
		nhwc[out] = ok
	}
	// Same-layout steps and fused residuals: drop both sides until they agree.
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
			case (role[i] == role3DPool || role[i] == role3DSame) && nhwc[st.in[0]] != nhwc[st.out[0]]:
				drop(st.in[0])
				drop(st.out[0])
			case role[i] == role3DConv && resIdx[i] >= 0 && nhwc[st.in[resIdx[i]]] != nhwc[st.out[0]]:
				drop(st.in[resIdx[i]])
				drop(st.out[0])
			}
		}
	}
	for i, st := range s.steps {
		if role[i] == role3DNone {
			continue
		}
		in := nhwc[st.in[0]]
		out := nhwc[st.out[0]]
		c := channels(st.in[0])
		switch k := st.kernel.(type) {
		case *convKernel:
			if w, b := s.conv3DWeights(st, k); w != nil {
				s.steps[i].kernel = newConv3DRowsKernel(k, nil, w, b, len(st.in), in, out)
			} else {
				w, b := s.depthwise3DWeights(st, k)
				s.steps[i].kernel = newDW3DRowsKernel(k, nil, w, b, len(st.in), in, out)
			}
		case *fusedConvKernel:
			if w, b := s.conv3DWeights(st, k.conv); w != nil {
				s.steps[i].kernel = newConv3DRowsKernel(k.conv, k, w, b, k.nConvIn, in, out)
			} else {
				w, b := s.depthwise3DWeights(st, k.conv)
				s.steps[i].kernel = newDW3DRowsKernel(k.conv, k, w, b, k.nConvIn, in, out)
			}
		case *poolKernel:
			if in {
				s.steps[i].kernel = &nhwc3DPoolKernel{pool: k, c: c}
			}
		case globalPoolKernel:
			if in {
				s.steps[i].kernel = &nhwc3DGlobalPoolKernel{inner: nhwcGlobalPoolKernel{isMax: k.isMax, c: c}}
			}
		}
		// An elementwise unary runs as is on either layout.
	}
}

// nhwc3DGlobalPoolKernel is GlobalAverage/MaxPool of a channels-last 3-D
// tensor: the 2-D kernel over its D·H rows of W pixels, the output
// [N, C, 1, 1, 1] the same in either layout.
type nhwc3DGlobalPoolKernel struct {
	inner nhwcGlobalPoolKernel
}

func (k *nhwc3DGlobalPoolKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if x.DType != graph.Float32 || len(x.Shape) != 5 {
		return nil, fmt.Errorf("channels-last 3-D global pool: input %v, want float32 [N, D, H, W, S]", x.Shape)
	}
	flat := &graph.Tensor{DType: graph.Float32, Shape: []int{x.Shape[0], x.Shape[1] * x.Shape[2], x.Shape[3], x.Shape[4]}, Data: x.Data}
	y, err := k.inner.Run(ctx, []*graph.Tensor{flat})
	if err != nil {
		return nil, fmt.Errorf("channels-last 3-D global pool: %w", err)
	}
	y[0].Shape = append(y[0].Shape, 1)
	return y, nil
}
