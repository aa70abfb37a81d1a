package kernels

// NR returns the width of B's column panels: 16 (the layout of PackRowsB16,
// which SgemmRowsIdx takes) or 64 (the AVX-512 panels of SgemmRows).
func (p *RowsB) NR() int { return p.nr }
