package runtime

// Two 16-channel blocks of a grouped convolution per indexed tile
// (thirteenth session): kernels.SgemmRowsIdxPair runs consecutive blocks of
// 16 output channels (RegNet's groups of 16, groups of 4 and 8 merged into
// blocks of 16) side by side, twelve accumulators instead of six, where the
// CPU runs its assembly tile (kernels.RowsPairFast). Same outputs, same
// arithmetic per output.

import "github.com/warboy-sim/warboy/kernels"

// pairBlocks merges consecutive blocks i, i+1 of one 16-wide panel each,
// the second's input channels and outputs right after the first's, into one
// paired block; wts holds each block's unpacked [k][16] weights. Blocks that
// find no partner stay as they are.
func pairBlocks(blocks []groupBlock, wts [][]float32) []groupBlock {
	if !kernels.RowsPairFast() {
		return blocks
	}
	var out []groupBlock
	for i := 0; i < len(blocks); i++ {
		a := blocks[i]
		if i+1 < len(blocks) {
			b := blocks[i+1]
			if a.pb.N() == 16 && b.pb.N() == 16 && a.cn == b.cn && b.c0 == a.c0+a.cn && b.o0 == a.o0+16 && a.pb.K() == b.pb.K() {
				p := groupBlock{o0: a.o0, c0: a.c0, cn: a.cn, pair: true, dc: a.cn,
					pb: kernels.PackRowsPair(a.pb.K(), wts[i], wts[i+1]), bias: append(append([]float32(nil), a.bias[:16]...), b.bias[:16]...)}
				out = append(out, p)
				i++
				continue
			}
		}
		out = append(out, a)
	}
	return out
}
