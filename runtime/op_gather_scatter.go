package runtime

// Reference kernels of the indexed reads and writes: Gather, GatherElements, GatherND,
// ScatterND, ScatterElements (and the old Scatter) and NonZero.

import (
	"fmt"
	"slices"

	"github.com/warboy-sim/warboy/graph"
)

// elementIndices resolves the axis and the indices of GatherElements and
// ScatterElements (indices of the same rank as data, no larger on the other axes).
func elementIndices(x, it *graph.Tensor, axis int64) (int, []int, error) {
	a, err := graph.NormalizeAxis(axis, len(x.Shape))
	if err != nil {
		return 0, nil, err
	}
	for k := range it.Shape {
		if k != a && it.Shape[k] > x.Shape[k] {
			return 0, nil, fmt.Errorf("indices shape %v exceeds data shape %v on axis %d", it.Shape, x.Shape, k)
		}
	}
	idx, err := indexValues(it, x.Shape[a])
	return a, idx, err
}

// indexValues reads an int32/int64 indices tensor, resolving negative indices against
// dim and rejecting out-of-range ones.
func indexValues(t *graph.Tensor, dim int) ([]int, error) {
	var raw []int64
	switch d := t.Data.(type) {
	case []int64:
		raw = d
	case []int32:
		raw = make([]int64, len(d))
		for i, v := range d {
			raw[i] = int64(v)
		}
	default:
		return nil, fmt.Errorf("indices must be int32 or int64, are %s", t.DType)
	}
	out := make([]int, len(raw))
	for i, v := range raw {
		if v < 0 {
			v += int64(dim)
		}
		if v < 0 || v >= int64(dim) {
			return nil, fmt.Errorf("index %d is out of range for an axis of size %d", raw[i], dim)
		}
		out[i] = int(v)
	}
	return out, nil
}

func buildGather(b *BuildContext) (Kernel, error) {
	axis := b.Node.AttrInt("axis", 0)
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 2); err != nil {
			return nil, err
		}
		x, it := in[0], in[1]
		a, err := graph.NormalizeAxis(axis, len(x.Shape))
		if err != nil {
			return nil, err
		}
		idx, err := indexValues(it, x.Shape[a])
		if err != nil {
			return nil, err
		}
		out := append([]int{}, x.Shape[:a]...)
		out = append(out, it.Shape...)
		out = append(out, x.Shape[a+1:]...)
		src, err := bufferOf(x)
		if err != nil {
			return nil, err
		}
		outer := graph.NumElements(x.Shape[:a])
		inner := graph.NumElements(x.Shape[a+1:])
		if outer == 1 && len(idx) == 1 {
			if v := sliceView(x, out, idx[0]*inner, inner); v != nil { // view_strided.go
				return []*graph.Tensor{v}, nil
			}
		}
		if xs, ok := x.Data.([]float32); ok {
			// The common float32 case in the session's arena, the element type
			// known: attention exports gather thousands of short rows (an
			// Informer's sampled keys: 4608 rows of 16), where a call through
			// the buffer interface per row cost more than the copying.
			ys := ctx.AllocF32(graph.NumElements(out))
			d, n := 0, x.Shape[a]*inner
			for o := 0; o < outer; o++ {
				row := xs[o*n : (o+1)*n]
				for _, j := range idx {
					copy(ys[d:d+inner], row[j*inner:(j+1)*inner])
					d += inner
				}
			}
			return []*graph.Tensor{{DType: graph.Float32, Shape: out, Data: ys}}, nil
		}
		dst := src.Make(graph.NumElements(out))
		d := 0
		for o := 0; o < outer; o++ {
			base := o * x.Shape[a] * inner
			for _, j := range idx {
				dst.Copy(d, src, base+j*inner, inner)
				d += inner
			}
		}
		return []*graph.Tensor{{DType: x.DType, Shape: out, Data: dst.Data()}}, nil
	}), nil
}

func buildGatherElements(b *BuildContext) (Kernel, error) {
	axis := b.Node.AttrInt("axis", 0)
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 2); err != nil {
			return nil, err
		}
		x, it := in[0], in[1]
		r := len(x.Shape)
		if len(it.Shape) != r {
			return nil, fmt.Errorf("data has rank %d, indices rank %d; they must match", r, len(it.Shape))
		}
		a, idx, err := elementIndices(x, it, axis)
		if err != nil {
			return nil, err
		}
		// Turn each index into a flat source offset: the output coordinate with axis a
		// replaced by the index.
		xst := graph.Strides(x.Shape)
		coord := make([]int, r)
		base := 0 // offset of coord in x, without the axis-a term
		for i := range idx {
			idx[i] = base + idx[i]*xst[a]
			for k := r - 1; k >= 0; k-- {
				coord[k]++
				if k != a {
					base += xst[k]
				}
				if coord[k] < it.Shape[k] {
					break
				}
				if k != a {
					base -= xst[k] * it.Shape[k]
				}
				coord[k] = 0
			}
		}
		src, err := bufferOf(x)
		if err != nil {
			return nil, err
		}
		dst := src.Make(len(idx))
		dst.Take(0, src, idx)
		return []*graph.Tensor{{DType: x.DType, Shape: append([]int{}, it.Shape...), Data: dst.Data()}}, nil
	}), nil
}

func buildGatherND(b *BuildContext) (Kernel, error) {
	bd := int(b.Node.AttrInt("batch_dims", 0))
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 2); err != nil {
			return nil, err
		}
		x, it := in[0], in[1]
		q := len(it.Shape)
		if q == 0 {
			return nil, fmt.Errorf("indices must have rank >= 1")
		}
		k := it.Shape[q-1]
		if bd < 0 || bd >= q || bd+k > len(x.Shape) {
			return nil, fmt.Errorf("indices of shape %v with batch_dims %d do not fit data of shape %v", it.Shape, bd, x.Shape)
		}
		for i := 0; i < bd; i++ {
			if it.Shape[i] != x.Shape[i] {
				return nil, fmt.Errorf("batch dimension %d differs: indices %v, data %v", i, it.Shape, x.Shape)
			}
		}
		raw, ok := it.Data.([]int64)
		if !ok {
			return nil, fmt.Errorf("indices must be int64, are %s", it.DType)
		}
		xst := graph.Strides(x.Shape)
		block := graph.NumElements(x.Shape[bd+k:])
		batches := graph.NumElements(x.Shape[:bd])
		batchStride := graph.NumElements(x.Shape[bd:])
		perBatch := graph.NumElements(it.Shape[bd : q-1])
		out := append([]int{}, it.Shape[:q-1]...)
		out = append(out, x.Shape[bd+k:]...)
		src, err := bufferOf(x)
		if err != nil {
			return nil, err
		}
		dst := src.Make(graph.NumElements(out))
		// Single elements (a detector's scores picked by NonZero's positions,
		// hundreds of thousands) are gathered by one Take over their offsets
		// rather than one Copy through the buffer interface each.
		var offs []int
		if block == 1 {
			offs = make([]int, 0, batches*perBatch)
		}
		d := 0
		for bi := 0; bi < batches; bi++ {
			for j := 0; j < perBatch; j++ {
				tuple := raw[(bi*perBatch+j)*k : (bi*perBatch+j+1)*k]
				off := bi * batchStride
				for m, v := range tuple {
					dim := int64(x.Shape[bd+m])
					if v < 0 {
						v += dim
					}
					if v < 0 || v >= dim {
						return nil, fmt.Errorf("index %d is out of range for axis %d of size %d", tuple[m], bd+m, dim)
					}
					off += int(v) * xst[bd+m]
				}
				if offs != nil {
					offs = append(offs, off)
					continue
				}
				dst.Copy(d, src, off, block)
				d += block
			}
		}
		if offs != nil {
			dst.Take(0, src, offs)
		}
		return []*graph.Tensor{{DType: x.DType, Shape: out, Data: dst.Data()}}, nil
	}), nil
}

// scatterUpdate writes updates[src:src+n] into the output at dst.
type scatterUpdate struct{ dst, src, n int }

// reduceTyped applies the updates with reduction "add", "mul", "max" or "min"
// (max and min as ONNX Runtime's std::max(out, update) and std::min: a NaN update
// leaves the element as it is).
func reduceTyped[T number](out, upd []T, ups []scatterUpdate, reduction string) {
	for _, u := range ups {
		o, s := out[u.dst:u.dst+u.n], upd[u.src:u.src+u.n]
		switch reduction {
		case "mul":
			for i := range o {
				o[i] *= s[i]
			}
		case "max":
			for i := range o {
				if o[i] < s[i] {
					o[i] = s[i]
				}
			}
		case "min":
			for i := range o {
				if s[i] < o[i] {
					o[i] = s[i]
				}
			}
		default:
			for i := range o {
				o[i] += s[i]
			}
		}
	}
}

// applyScatter copies data and applies the updates in order (later updates win for
// reduction "none", as ONNX Runtime does with duplicate indices).
func applyScatter(data, updates *graph.Tensor, ups []scatterUpdate, reduction string) (*graph.Tensor, error) {
	if data.DType != updates.DType {
		return nil, fmt.Errorf("dtype mismatch: data is %s, updates are %s", data.DType, updates.DType)
	}
	src, err := bufferOf(data)
	if err != nil {
		return nil, err
	}
	ub, err := bufferOf(updates)
	if err != nil {
		return nil, err
	}
	dst := src.Make(src.Len())
	dst.Copy(0, src, 0, src.Len())
	out := &graph.Tensor{DType: data.DType, Shape: append([]int{}, data.Shape...), Data: dst.Data()}
	if reduction == "none" {
		for _, u := range ups {
			dst.Copy(u.dst, ub, u.src, u.n)
		}
		return out, nil
	}
	mul := reduction
	if data.DType == graph.Float16 || data.DType == graph.BFloat16 {
		w, err := applyScatter(widenHalf(data), widenHalf(updates), ups, reduction)
		if err != nil {
			return nil, err
		}
		return narrowHalf(w, data.DType), nil
	}
	switch o := out.Data.(type) {
	case []float32:
		reduceTyped(o, updates.Data.([]float32), ups, mul)
	case []float64:
		reduceTyped(o, updates.Data.([]float64), ups, mul)
	case []int8:
		reduceTyped(o, updates.Data.([]int8), ups, mul)
	case []uint8:
		reduceTyped(o, updates.Data.([]uint8), ups, mul)
	case []int16:
		reduceTyped(o, updates.Data.([]int16), ups, mul)
	case []uint16:
		reduceTyped(o, updates.Data.([]uint16), ups, mul)
	case []int32:
		reduceTyped(o, updates.Data.([]int32), ups, mul)
	case []uint32:
		reduceTyped(o, updates.Data.([]uint32), ups, mul)
	case []int64:
		reduceTyped(o, updates.Data.([]int64), ups, mul)
	case []uint64:
		reduceTyped(o, updates.Data.([]uint64), ups, mul)
	default:
		return nil, fmt.Errorf("reduction %q is not defined for %s", reduction, data.DType)
	}
	return out, nil
}

func scatterReduction(b *BuildContext) (string, error) {
	r := b.Node.AttrString("reduction", "none")
	if err := graph.CheckScatterReduction(r, b.Opset); err != nil {
		return "", fmt.Errorf("%s: %w", b.Node.Label(), err)
	}
	return r, nil
}

func buildScatterND(b *BuildContext) (Kernel, error) {
	reduction, err := scatterReduction(b)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 3); err != nil {
			return nil, err
		}
		x, it, upd := in[0], in[1], in[2]
		q := len(it.Shape)
		if q == 0 {
			return nil, fmt.Errorf("indices must have rank >= 1")
		}
		k := it.Shape[q-1]
		if k > len(x.Shape) {
			return nil, fmt.Errorf("index tuples of length %d exceed the data rank %d", k, len(x.Shape))
		}
		want := append(append([]int{}, it.Shape[:q-1]...), x.Shape[k:]...)
		if !slices.Equal(upd.Shape, want) {
			return nil, fmt.Errorf("updates have shape %v, expected %v", upd.Shape, want)
		}
		raw, ok := it.Data.([]int64)
		if !ok {
			return nil, fmt.Errorf("indices must be int64, are %s", it.DType)
		}
		xst := graph.Strides(x.Shape)
		block := graph.NumElements(x.Shape[k:])
		n := graph.NumElements(it.Shape[:q-1])
		ups := make([]scatterUpdate, n)
		for j := 0; j < n; j++ {
			off := 0
			for m, v := range raw[j*k : (j+1)*k] {
				dim := int64(x.Shape[m])
				if v < 0 {
					v += dim
				}
				if v < 0 || v >= dim {
					return nil, fmt.Errorf("index %d is out of range for axis %d of size %d", raw[j*k+m], m, dim)
				}
				off += int(v) * xst[m]
			}
			ups[j] = scatterUpdate{dst: off, src: j * block, n: block}
		}
		out, err := applyScatter(x, upd, ups, reduction)
		if err != nil {
			return nil, err
		}
		return []*graph.Tensor{out}, nil
	}), nil
}

func buildScatterElements(b *BuildContext) (Kernel, error) {
	reduction, err := scatterReduction(b)
	if err != nil {
		return nil, err
	}
	axis := b.Node.AttrInt("axis", 0)
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 3); err != nil {
			return nil, err
		}
		x, it, upd := in[0], in[1], in[2]
		r := len(x.Shape)
		if len(it.Shape) != r || !slices.Equal(it.Shape, upd.Shape) {
			return nil, fmt.Errorf("data %v, indices %v and updates %v must have the same rank, indices and updates the same shape", x.Shape, it.Shape, upd.Shape)
		}
		a, idx, err := elementIndices(x, it, axis)
		if err != nil {
			return nil, err
		}
		out, err := applyScatter(x, upd, scatterElementRuns(x.Shape, it.Shape, a, idx), reduction)
		if err != nil {
			return nil, err
		}
		return []*graph.Tensor{out}, nil
	}), nil
}

// scatterElementRuns returns ScatterElements' updates along axis a of data
// shaped xs, element i of the indices (shaped is, row-major) going to its own
// coordinates with axis a replaced by idx[i], in element order, consecutive
// elements that land on consecutive positions merged into one run.
// torchvision's MultiScaleRoIAlign scatters each level's [K, 256, 7, 7] rows
// by one index per roi, expanded: 12 544 elements a run instead of one update
// each (45 of Faster R-CNN's 224 ms; seventeenth session). Merging changes no
// result: a run's positions are distinct, and runs apply in element order.
func scatterElementRuns(xs, is []int, a int, idx []int) []scatterUpdate {
	r := len(xs)
	if len(idx) == 0 || r == 0 {
		return nil
	}
	xst := graph.Strides(xs)
	inner := is[r-1]
	ups := make([]scatterUpdate, 0, 16)
	coord := make([]int, r) // of the row's first element; coord[r-1] stays 0
	for row := 0; row*inner < len(idx); row++ {
		base := 0
		for k := 0; k < r-1; k++ {
			if k != a {
				base += coord[k] * xst[k]
			}
		}
		for j := 0; j < inner; j++ {
			i := row*inner + j
			off := base + idx[i]*xst[a]
			if a != r-1 {
				off += j // xst[r-1] is 1
			}
			if n := len(ups); n > 0 && ups[n-1].dst+ups[n-1].n == off && ups[n-1].src+ups[n-1].n == i {
				ups[n-1].n++
				continue
			}
			ups = append(ups, scatterUpdate{dst: off, src: i, n: 1})
		}
		for k := r - 2; k >= 0; k-- {
			coord[k]++
			if coord[k] < is[k] {
				break
			}
			coord[k] = 0
		}
	}
	return ups
}

func buildNonZero(b *BuildContext) (Kernel, error) {
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		var out []int64
		var hits int
		switch d := x.Data.(type) {
		case []bool:
			out, hits = nonZeroTyped(d, x.Shape)
		case []float32:
			out, hits = nonZeroTyped(d, x.Shape)
		case []int64:
			out, hits = nonZeroTyped(d, x.Shape)
		case []int32:
			out, hits = nonZeroTyped(d, x.Shape)
		case []uint8:
			out, hits = nonZeroTyped(d, x.Shape)
		default: // float16 and bfloat16 (raw bits: -0 is zero), and the rest
			v, err := x.AsFloat64()
			if err != nil {
				return nil, err
			}
			out, hits = nonZeroTyped(v, x.Shape)
		}
		return []*graph.Tensor{graph.FromInt64([]int{len(x.Shape), hits}, out)}, nil
	}), nil
}

// nonZeroTyped returns NonZero's [rank, hits] coordinates of the elements of x
// that are not zero (NaN is not zero), in row-major order. Detectors run it on
// every anchor × class score of a level (838,656 at RetinaNet's first): one
// counting pass and one pass that keeps the coordinates as an odometer, no
// division per hit. It returns the coordinates and the number of hits (a scalar
// has no coordinates: [0, hits]).
func nonZeroTyped[T comparable](x []T, shape []int) ([]int64, int) {
	var zero T
	hits := 0
	for _, v := range x {
		if v != zero {
			hits++
		}
	}
	r := len(shape)
	out := make([]int64, r*hits)
	if r == 0 || hits == 0 {
		return out, hits
	}
	if r == 1 {
		j := 0
		for i, v := range x {
			if v != zero {
				out[j] = int64(i)
				j++
			}
		}
		return out, hits
	}
	idx := make([]int, r)
	j := 0
	for _, v := range x {
		if v != zero {
			for k, c := range idx {
				out[k*hits+j] = int64(c)
			}
			j++
		}
		for k := r - 1; k >= 0; k-- {
			if idx[k]++; idx[k] < shape[k] {
				break
			}
			idx[k] = 0
		}
	}
	return out, hits
}

func init() {
	Register(OpInfo{OpType: "Gather", Build: buildGather})
	Register(OpInfo{OpType: "GatherElements", Build: buildGatherElements})
	Register(OpInfo{OpType: "NonZero", Build: buildNonZero})
	Register(OpInfo{OpType: "GatherND", Build: buildGatherND})
	Register(OpInfo{OpType: "ScatterND", Build: buildScatterND})
	Register(OpInfo{OpType: "ScatterElements", Build: buildScatterElements})
	Register(OpInfo{OpType: "Scatter", Build: buildScatterElements})
}
