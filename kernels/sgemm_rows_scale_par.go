package kernels

import "fmt"

// ScaledRowsThreads is ScaledRows split over threads threads by weight
// panels. The squeeze-excite fold (runtime/fuse_gate_pw.go) scales the
// weights once per image before the GEMM; on one thread that pass ran while
// the second thread waited (0.02-0.05 ms of a 0.2-0.4 ms step on
// EfficientNet-B0's 14x14 blocks).
func (p *RowsB) ScaledRowsThreads(s, buf []float32, threads int) *RowsB {
	if len(s) != p.k || len(buf) < len(p.data) {
		panic(fmt.Sprintf("kernels.RowsB.ScaledRowsThreads: %d scales for K=%d, buffer %d for %d", len(s), p.k, len(buf), len(p.data)))
	}
	q := &RowsB{k: p.k, n: p.n, nr: p.nr, data: buf[:len(p.data)]}
	panel := p.k * p.nr
	panels := len(p.data) / max(panel, 1)
	ParallelRange(panels, max(1, scaleMinWork/max(panel, 1)), threads, func(lo, hi int) {
		for off := lo * panel; off < hi*panel; off += panel {
			scalePanelRows(q.data[off:off+panel], p.data[off:off+panel], s, p.nr)
		}
	})
	return q
}

// scaleMinWork is the fewest floats a thread scales in one chunk.
const scaleMinWork = 1 << 14

// scalePanelRows writes src row r (nr floats) times s[r] to dst, for every
// row of one panel.
func scalePanelRows(dst, src, s []float32, nr int) {
	for r, g := range s {
		a, b := src[r*nr:(r+1)*nr], dst[r*nr:(r+1)*nr]
		for j, v := range a {
			b[j] = v * g
		}
	}
}
