package runtime

// Det (torch.det) and Unique (torch.unique, flattened).

import (
	"fmt"
	"math"
	"sort"

	"github.com/warboy-sim/warboy/graph"
)

// buildDet computes the determinant of each trailing [M, M] matrix by LU
// decomposition with partial pivoting, in float64.
func buildDet(b *BuildContext) (Kernel, error) {
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		r := len(x.Shape)
		if r < 2 || x.Shape[r-1] != x.Shape[r-2] {
			return nil, fmt.Errorf("input of shape %v: Det needs [*, M, M]", x.Shape)
		}
		v, err := x.AsFloat64()
		if err != nil {
			return nil, err
		}
		m := x.Shape[r-1]
		batch := graph.NumElements(x.Shape[:r-2])
		out := make([]float64, batch)
		a := make([]float64, m*m)
		for i := range out {
			copy(a, v[i*m*m:(i+1)*m*m])
			out[i] = DetLU(a, m)
		}
		y, err := castTensor(&graph.Tensor{DType: graph.Float64, Shape: append([]int{}, x.Shape[:r-2]...), Data: out}, x.DType)
		if err != nil {
			return nil, err
		}
		return []*graph.Tensor{y}, nil
	}), nil
}

// DetLU returns the determinant of the m×m row-major matrix a, which it
// overwrites with its LU factors.
func DetLU(a []float64, m int) float64 {
	det := 1.0
	for k := 0; k < m; k++ {
		p := k
		for i := k + 1; i < m; i++ {
			if math.Abs(a[i*m+k]) > math.Abs(a[p*m+k]) {
				p = i
			}
		}
		if a[p*m+k] == 0 {
			return 0
		}
		if p != k {
			for j := 0; j < m; j++ {
				a[k*m+j], a[p*m+j] = a[p*m+j], a[k*m+j]
			}
			det = -det
		}
		piv := a[k*m+k]
		det *= piv
		for i := k + 1; i < m; i++ {
			f := a[i*m+k] / piv
			for j := k + 1; j < m; j++ {
				a[i*m+j] -= f * a[k*m+j]
			}
		}
	}
	return det
}

// buildUnique returns the distinct values of the flattened input, or with axis
// the distinct slices along it (ascending when sorted, the default; else in order
// of first appearance), the index of each one's first appearance, each element's
// (slice's) position in the distinct ones, and the counts. Integers compare as int64 (exact), floats as float64; a NaN input is
// refused (its place in the order is not defined).
func buildUnique(b *BuildContext) (Kernel, error) {
	hasAxis := b.Node.HasAttr("axis")
	axis := b.Node.AttrInt("axis", 0)
	sorted := b.Node.AttrInt("sorted", 1) != 0
	nout := len(b.Node.Outputs)
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		// The units compared: the elements of the flattened input, or with axis its
		// slices along the axis, each read as the flat sequence of its elements
		// (outer axes first, as numpy.unique(axis=) orders them).
		outer, n, inner := 1, graph.NumElements(x.Shape), 1
		a := 0
		if hasAxis {
			var err error
			if a, err = graph.NormalizeAxis(axis, len(x.Shape)); err != nil {
				return nil, err
			}
			outer, n, inner = graph.NumElements(x.Shape[:a]), x.Shape[a], graph.NumElements(x.Shape[a+1:])
		}
		at := func(u, k int) int { return (k/inner*n+u)*inner + k%inner } // element k of unit u
		width := outer * inner
		var less func(i, j int) bool
		var same func(i, j int) bool
		if x.DType.IsFloat() {
			v, err := widenHalf(x).AsFloat64()
			if err != nil {
				return nil, err
			}
			for i, f := range v {
				if math.IsNaN(f) {
					return nil, fmt.Errorf("NaN at element %d", i)
				}
			}
			less, same = unitOrder(width, at, func(p, q int) int { return cmpF(v[p], v[q]) })
		} else {
			v, err := x.AsInt64()
			if err != nil {
				return nil, err
			}
			less, same = unitOrder(width, at, func(p, q int) int { return cmpI(v[p], v[q]) })
		}
		// Positions ordered by value, ties by position: each run's first is the
		// value's first appearance.
		order := make([]int, n)
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return less(order[a], order[b]) })
		var firsts []int // first appearance of each distinct value, in value order
		group := make([]int, n)
		var counts []int64
		for k, i := range order {
			if k == 0 || !same(order[k-1], i) {
				firsts = append(firsts, i)
				counts = append(counts, 0)
			}
			group[i] = len(firsts) - 1
			counts[len(counts)-1]++
		}
		// rank maps a value-order group to its output position.
		rank := make([]int, len(firsts))
		for g := range rank {
			rank[g] = g
		}
		if !sorted {
			byFirst := make([]int, len(firsts))
			for g := range byFirst {
				byFirst[g] = g
			}
			sort.Slice(byFirst, func(a, b int) bool { return firsts[byFirst[a]] < firsts[byFirst[b]] })
			for pos, g := range byFirst {
				rank[g] = pos
			}
		}
		u := len(firsts)
		pick := make([]int, u)
		idx := make([]int64, u)
		cnt := make([]int64, u)
		for g, i := range firsts {
			pick[rank[g]] = i
			idx[rank[g]] = int64(i)
			cnt[rank[g]] = counts[g]
		}
		inv := make([]int64, n)
		for i := range inv {
			inv[i] = int64(rank[group[i]])
		}
		var vals *graph.Tensor
		var err error
		if hasAxis {
			vals, err = gatherUnits(x, a, outer, n, inner, pick)
		} else {
			vals, err = gatherFlat(x, pick)
		}
		if err != nil {
			return nil, err
		}
		outs := []*graph.Tensor{vals, graph.FromInt64([]int{u}, idx), graph.FromInt64([]int{n}, inv), graph.FromInt64([]int{u}, cnt)}
		return outs[:nout], nil
	}), nil
}

// unitOrder compares units of width elements lexicographically.
func unitOrder(width int, at func(u, k int) int, cmp func(p, q int) int) (less, same func(i, j int) bool) {
	c := func(i, j int) int {
		for k := 0; k < width; k++ {
			if d := cmp(at(i, k), at(j, k)); d != 0 {
				return d
			}
		}
		return 0
	}
	return func(i, j int) bool { return c(i, j) < 0 }, func(i, j int) bool { return c(i, j) == 0 }
}

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpI(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// gatherUnits returns x's slices pick along axis a (x is [outer, n, inner] around it).
func gatherUnits(x *graph.Tensor, a, outer, n, inner int, pick []int) (*graph.Tensor, error) {
	src, err := bufferOf(x)
	if err != nil {
		return nil, err
	}
	shape := append([]int{}, x.Shape...)
	shape[a] = len(pick)
	dst := src.Make(graph.NumElements(shape))
	d := 0
	for o := 0; o < outer; o++ {
		for _, j := range pick {
			dst.Copy(d, src, (o*n+j)*inner, inner)
			d += inner
		}
	}
	return &graph.Tensor{DType: x.DType, Shape: shape, Data: dst.Data()}, nil
}

// gatherFlat returns the elements of x at the given flat positions, as a 1-D
// tensor of x's type.
func gatherFlat(x *graph.Tensor, pos []int) (*graph.Tensor, error) {
	src, err := bufferOf(x)
	if err != nil {
		return nil, err
	}
	dst := src.Make(len(pos))
	for d, p := range pos {
		dst.Copy(d, src, p, 1)
	}
	return &graph.Tensor{DType: x.DType, Shape: []int{len(pos)}, Data: dst.Data()}, nil
}

func init() {
	Register(OpInfo{OpType: "Det", Build: buildDet})
	Register(OpInfo{OpType: "Unique", Build: buildUnique})
}
