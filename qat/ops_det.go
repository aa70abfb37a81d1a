package qat

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// detOp is Det (torch.det, slogdet's sign path) of each trailing [M, M] matrix,
// computed as the runtime computes it (runtime.DetLU, float64). Its gradient is
// the cofactor matrix, d det(A)/dA_ij = (-1)^(i+j) det(A without row i and column
// j), which unlike det(A)·A^-T is defined for singular matrices too; for large M
// it is det(A)·A^-T (a singular one then gives a non-finite gradient, which
// training reports).
type detOp struct {
	node    string
	in, out int
	m       int
	a, sub  []float64
}

// detCofactorMax is the largest M whose gradient is taken from cofactors
// (M² determinants of order M-1 each).
const detCofactorMax = 16

func buildDet(b *builder, node *graph.Node) (built, error) {
	in, err := b.input(node, node.Input(0))
	if err != nil {
		return built{}, err
	}
	o := &detOp{node: node.Label(), in: in, out: b.slot()}
	return built{o, o.out}, nil
}

func (o *detOp) label() string { return o.node }

func (o *detOp) forward(n *Net) error {
	x, y := n.vals[o.in], n.vals[o.out]
	r := len(x.shape)
	if r < 2 || x.shape[r-1] != x.shape[r-2] {
		return fmt.Errorf("input of shape %v: Det needs [*, M, M]", x.shape)
	}
	m := x.shape[r-1]
	o.m = m
	y.resize(x.shape[:r-2])
	o.a = growF64(o.a, m*m)
	for i := range y.data {
		o.load(x.data[i*m*m:], o.a)
		y.data[i] = float32(runtime.DetLU(o.a, m))
	}
	return nil
}

func (o *detOp) load(src []float32, dst []float64) {
	for k := range dst {
		dst[k] = float64(src[k])
	}
}

func (o *detOp) backward(n *Net) {
	x, y := n.vals[o.in], n.vals[o.out]
	if x.grad == nil {
		return
	}
	m := o.m
	for i, g := range y.grad {
		if g == 0 {
			continue
		}
		dx := x.grad[i*m*m : (i+1)*m*m]
		switch {
		case m == 0:
			continue
		case m == 1:
			dx[0] += g
			continue
		}
		if m > detCofactorMax {
			o.backwardInverse(x.data[i*m*m:(i+1)*m*m], dx, float64(g))
			continue
		}
		src := x.data[i*m*m : (i+1)*m*m]
		o.sub = growF64(o.sub, (m-1)*(m-1))
		for r := 0; r < m; r++ {
			for c := 0; c < m; c++ {
				k := 0
				for rr := 0; rr < m; rr++ {
					if rr == r {
						continue
					}
					for cc := 0; cc < m; cc++ {
						if cc != c {
							o.sub[k] = float64(src[rr*m+cc])
							k++
						}
					}
				}
				cof := runtime.DetLU(o.sub, m-1)
				if (r+c)%2 == 1 {
					cof = -cof
				}
				dx[r*m+c] += float32(float64(g) * cof)
			}
		}
	}
}

// backwardInverse adds g·det(A)·A^-T to dx, A^-1 by Gauss-Jordan elimination with
// partial pivoting.
func (o *detOp) backwardInverse(src, dx []float32, g float64) {
	m := o.m
	a := growF64(o.a, m*m)
	o.load(src, a)
	det := runtime.DetLU(append([]float64(nil), a...), m)
	inv := make([]float64, m*m)
	for k := 0; k < m; k++ {
		inv[k*m+k] = 1
	}
	for k := 0; k < m; k++ {
		p := k
		for i := k + 1; i < m; i++ {
			if math.Abs(a[i*m+k]) > math.Abs(a[p*m+k]) {
				p = i
			}
		}
		for j := 0; j < m; j++ {
			a[k*m+j], a[p*m+j] = a[p*m+j], a[k*m+j]
			inv[k*m+j], inv[p*m+j] = inv[p*m+j], inv[k*m+j]
		}
		piv := a[k*m+k] // 0 for a singular matrix: infinities, reported by training
		for j := 0; j < m; j++ {
			a[k*m+j] /= piv
			inv[k*m+j] /= piv
		}
		for i := 0; i < m; i++ {
			if i == k {
				continue
			}
			f := a[i*m+k]
			for j := 0; j < m; j++ {
				a[i*m+j] -= f * a[k*m+j]
				inv[i*m+j] -= f * inv[k*m+j]
			}
		}
	}
	for r := 0; r < m; r++ {
		for c := 0; c < m; c++ {
			dx[r*m+c] += float32(g * det * inv[c*m+r])
		}
	}
}
