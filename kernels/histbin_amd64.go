//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set histbin -out ../asm_histbin_amd64.s -stubs ../stubs_histbin_amd64.go -pkg kernels"

// binBlock bounds one assembly call (a multiple of 16 values: each value keeps
// its table, i&3), so that goroutines stay preemptible within tens of
// microseconds.
const binBlock = 1 << 14

// binF32Vec bins the vector-aligned prefix of x with the assembly and returns
// its length, or -1 when a value of it is outside the grid.
func binF32Vec(x, prev, next []float32, g *BinGrid, acc *BinAcc) int {
	if binPath == isaGo || g.NB > 1<<30 || g.Lo < -1<<30 || g.Lo > 1<<30 {
		return 0
	}
	kern, v := histBinF32AVX2, len(x)&^7
	if binPath == isaVNNI {
		kern, v = histBinF32AVX512, len(x)&^15
	}
	if v == 0 {
		return 0
	}
	t := &g.Tables
	for s := 0; s < v; s += binBlock {
		n := min(binBlock, v-s)
		if kern(&x[s], &prev[s], &next[s], n, g.Inv, int32(g.Lo), int32(g.NB), &t[0][0], &t[1][0], &t[2][0], &t[3][0], &g.Reps[0], &acc.min[0]) != n {
			return -1
		}
	}
	return v
}
