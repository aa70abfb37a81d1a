package runtime

// Pools that read channels-last and write NCHW (twenty-first session). A 2-D
// MaxPool or AveragePool kept its input's layout: when its readers wanted NCHW
// (a Flatten after an adaptive pool), the convolution before it transposed its
// whole output back to NCHW for the pool. adaptive_odd_op12's dilated 16-channel
// convolution on 60×84 spent a quarter of its 0.2 ms in that transposition,
// feeding three pools whose outputs are 3×3, 5×7 and 1×84. A pool now reads
// its channels-last input and transposes its own output, the smaller tensor
// (at most as large as the input: a pool of stride 1 moves as many floats as
// the convolution would have).

import "github.com/warboy-sim/warboy/graph"

// poolOutNCHW moves a channels-last pool output (g.yd, pixel stride g.st) to
// a new [N, C, OH, OW] tensor.
func poolOutNCHW(ctx *ExecContext, g *nhwcPoolGeom, c int) *graph.Tensor {
	plane := g.oh * g.ow
	y := ctx.AllocF32(g.n * c * plane)
	for img := 0; img < g.n; img++ {
		transposeBlockF32(g.yd[img*plane*g.st:], g.st, y[img*c*plane:], plane, plane, c) // conv_rows_nchw.go
	}
	return &graph.Tensor{DType: graph.Float32, Shape: []int{g.n, c, g.oh, g.ow}, Data: y}
}
