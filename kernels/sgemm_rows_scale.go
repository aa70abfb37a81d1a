package kernels

import "fmt"

// ScaledRows returns diag(s)·B packed like p: row r of the k×n operand (a
// reduction step: for a 1x1 convolution, an input channel) times s[r]. Its
// data is buf (at least p.DataLen() floats), so that a caller scaling the
// weights per run (a squeeze-excite gate folded into the convolution after
// it) can pool it.
func (p *RowsB) ScaledRows(s, buf []float32) *RowsB {
	if len(s) != p.k || len(buf) < len(p.data) {
		panic(fmt.Sprintf("kernels.RowsB.ScaledRows: %d scales for K=%d, buffer %d for %d", len(s), p.k, len(buf), len(p.data)))
	}
	q := &RowsB{k: p.k, n: p.n, nr: p.nr, data: buf[:len(p.data)]}
	for off := 0; off < len(p.data); off += p.k * p.nr {
		src, dst := p.data[off:off+p.k*p.nr], q.data[off:off+p.k*p.nr]
		for r, g := range s {
			a, b := src[r*p.nr:(r+1)*p.nr], dst[r*p.nr:(r+1)*p.nr]
			for j, v := range a {
				b[j] = v * g
			}
		}
	}
	return q
}

// DataLen is the number of floats of the packed operand.
func (p *RowsB) DataLen() int { return len(p.data) }
