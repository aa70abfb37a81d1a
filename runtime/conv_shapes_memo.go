package runtime

import (
	"slices"
	"sync/atomic"

	"github.com/warboy-sim/warboy/graph"
)

// convShapesMemo keeps the geometry convShapes last resolved for one Conv, so
// that runs with the same shapes do not resolve it again. Resolving it reads
// the node's attributes and builds the kernel, stride, dilation, pad and
// output slices afresh: on EfficientNet-B0 (78 steps) about half of the 2600
// Go heap allocations of a float32 run, and 1.5 % of its CPU time with the
// allocator's share (docs/runtime.md, "EfficientNet-B0: the time outside the
// steps (thirteenth session)"). Run may be called concurrently, so an entry is
// immutable and published through an atomic pointer; a miss (other shapes,
// weights that are not the constant ones) resolves and replaces it.
type convShapesMemo struct {
	last atomic.Pointer[convShapesEntry]
}

type convShapesEntry struct {
	xShape, wShape []int
	xType          graph.DType
	w, bias        *graph.Tensor
	biasShape      []int
	group          int
	transpose      bool
	geom           *graph.ConvGeom // read-only: shared by every hit
	out            []int
	plan           *convPlan // newConvPlan(xShape[2:], geom), read-only; nil for ConvTranspose
}

func (e *convShapesEntry) matches(x, w, bias *graph.Tensor, group int, transpose bool) bool {
	if e.w != w || e.bias != bias || e.group != group || e.transpose != transpose || e.xType != x.DType {
		return false
	}
	if !slices.Equal(e.xShape, x.Shape) || !slices.Equal(e.wShape, w.Shape) {
		return false
	}
	return bias == nil || slices.Equal(e.biasShape, bias.Shape)
}

// shapes is convShapes(k.node, ...) through the memo. The output shape is a
// copy (callers put it into tensors); the geometry is shared and never written.
func (k *convKernel) shapes(x, w, bias *graph.Tensor, group int, transpose bool) (*graph.ConvGeom, []int, error) {
	if e := k.shapeMemo.last.Load(); e != nil && e.matches(x, w, bias, group, transpose) {
		return e.geom, slices.Clone(e.out), nil
	}
	geom, out, err := convShapes(k.node, x, w, bias, group, transpose)
	if err != nil {
		return nil, nil, err
	}
	if w.DType == x.DType && (bias == nil || bias.DType == x.DType) {
		e := &convShapesEntry{xShape: slices.Clone(x.Shape), wShape: slices.Clone(w.Shape), xType: x.DType,
			w: w, bias: bias, group: group, transpose: transpose, geom: geom, out: slices.Clone(out)}
		if bias != nil {
			e.biasShape = slices.Clone(bias.Shape)
		}
		if !transpose {
			e.plan = newConvPlan(e.xShape[2:], geom)
		}
		k.shapeMemo.last.Store(e)
	}
	return geom, out, nil
}

// plan is newConvPlan(hw, geom) for the geometry shapes returned, from the memo
// when it is the memo's (3 allocations and a loop per Conv step per run less).
func (k *convKernel) plan(hw []int, geom *graph.ConvGeom) *convPlan {
	if e := k.shapeMemo.last.Load(); e != nil && e.plan != nil && e.geom == geom && slices.Equal(e.xShape[2:], hw) {
		return e.plan
	}
	return newConvPlan(hw, geom)
}
