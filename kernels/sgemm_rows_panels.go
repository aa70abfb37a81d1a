package kernels

import "fmt"

// PanelWidth returns the width of p's column panels: a column block that
// starts at a multiple of it is a RowsB of its own (Panels).
func (p *RowsB) PanelWidth() int { return p.nr }

// Panels returns columns [c0, c1) of p as a RowsB sharing p's packed data
// (c0 a multiple of PanelWidth): SgemmRows on it computes those output
// columns of SgemmRows on p, each with the same arithmetic. A caller that
// splits a product by output channels (the expansion of a fused
// expand + depthwise step, one channel block per work item) runs its blocks
// on it.
func (p *RowsB) Panels(c0, c1 int) *RowsB {
	if c0 < 0 || c0 >= c1 || c1 > p.n || c0%p.nr != 0 {
		panic(fmt.Sprintf("kernels.RowsB.Panels: columns [%d, %d) of %d in panels of %d", c0, c1, p.n, p.nr))
	}
	q0, q1 := c0/p.nr, (c1+p.nr-1)/p.nr
	return &RowsB{k: p.k, n: c1 - c0, nr: p.nr, data: p.data[q0*p.k*p.nr : q1*p.k*p.nr]}
}

// Panels16 returns p's weights in 16-wide panels (p itself when they are):
// the narrowest column blocks Panels can cut, for a caller that splits the
// columns of 32- or 48-wide panels finer. SgemmRows computes every output
// with the same arithmetic on either packing.
func (p *RowsB) Panels16() *RowsB {
	if p.nr == sgNR {
		return p
	}
	panels := (p.n + sgNR - 1) / sgNR
	q := &RowsB{k: p.k, n: p.n, nr: sgNR, data: make([]float32, panels*p.k*sgNR)}
	for col := 0; col < panels*sgNR; col += sgNR {
		w := min(sgNR, p.n-col)
		src := p.data[(col/p.nr)*p.k*p.nr+col%p.nr:]
		dst := q.data[(col/sgNR)*p.k*sgNR:]
		for r := 0; r < p.k; r++ {
			copy(dst[r*sgNR:r*sgNR+w], src[r*p.nr:r*p.nr+w])
		}
	}
	return q
}
