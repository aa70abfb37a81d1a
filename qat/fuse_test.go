package qat

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/quantizer"
)

// TestReluFakeQuantFusion checks that fusing each Relu into the fake quantization
// that is its only reader changes nothing: on the bundled CNN and ResNet, one
// training step (EMA ranges, batch statistics) with the fusion and one without give
// the same logits, parameter gradients and updated ranges. So does taking the EMA
// ranges' batch min/max from the convolutions' forward stores (fuseMinMaxIntoConv)
// instead of a pass of the fake quantization over its input.
func TestReluFakeQuantFusion(t *testing.T) {
	for _, name := range []string{"fmnist_cnn", "fmnist_resnet"} {
		t.Run(name, func(t *testing.T) {
			m, err := graph.Load("../testdata/models/" + name + ".onnx")
			require.NoError(t, err)
			x := make([]float32, 8*784)
			for i := range x {
				x[i] = float32(i*7%255)/255 - 0.3
			}
			labels := []int{0, 1, 2, 3, 4, 5, 6, 7}
			type result struct {
				logits []float32
				grads  [][]float32
				ranges quantizer.Ranges
			}
			run := func(fuse, storeMinMax bool) result {
				n, err := New(m, Config{})
				require.NoError(t, err)
				fused, fromStore := 0, 0
				for _, o := range n.ops {
					if f, ok := o.(*fqOp); ok && f.rangeFrom != nil {
						fromStore++
						if !storeMinMax {
							f.rangeFrom.dropRange()
							f.rangeFrom = nil
						}
					}
				}
				if name == "fmnist_resnet" { // the CNN's convolutions feed max pools
					require.Positive(t, fromStore, "no convolution computes a range's min/max")
				}
				for _, o := range n.ops {
					if f, ok := o.(*fqOp); ok && f.relu != nil {
						fused++
						if !fuse {
							f.relu.fq, f.relu = nil, nil
						}
					}
				}
				require.Positive(t, fused, "no Relu fused")
				r := quantizer.Ranges{}
				for k := range n.ranges {
					r[k] = [2]float32{-1, 3}
				}
				require.NoError(t, n.SetRanges(r))
				n.training, n.emaRanges, n.emaConst = true, true, 0.1
				_, logits, err := n.Forward(x, 8)
				require.NoError(t, err)
				out := result{logits: append([]float32(nil), logits...)}
				grad := make([]float32, len(logits))
				SoftmaxCrossEntropy(logits, 10, labels, grad)
				n.ZeroGrad()
				n.Backward(grad)
				for _, p := range n.params {
					out.grads = append(out.grads, append([]float32(nil), p.G...))
				}
				out.ranges = n.Ranges()
				return out
			}
			ref := run(false, false)
			require.Equal(t, ref, run(true, false))
			require.Equal(t, ref, run(true, true))
			require.Equal(t, ref, run(false, true))
		})
	}
}

// TestSTEConvFusion checks that the straight-through gradient applied in a
// convolution's input-gradient store (fuseSTEIntoConv: the second convolution of
// each ResNet block) gives every parameter gradient bit for bit as the separate
// pass does, over two steps (the skipped pass must come back the next step),
// at one and two threads.
func TestSTEConvFusion(t *testing.T) {
	m, err := graph.Load("../testdata/models/fmnist_resnet.onnx")
	require.NoError(t, err)
	x := make([]float32, 8*784)
	for i := range x {
		x[i] = float32(i*7%255)/255 - 0.3
	}
	labels := []int{0, 1, 2, 3, 4, 5, 6, 7}
	for _, threads := range []int{1, 2} {
		run := func(fuse bool) [][]float32 {
			n, err := New(m, Config{Threads: threads})
			require.NoError(t, err)
			fused, acc := 0, 0
			for _, o := range n.ops {
				if c, ok := o.(*convOp); ok && c.ste != nil {
					fused++
					if c.steAcc {
						acc++
					}
					if !fuse {
						c.ste, c.steAcc = nil, false
					}
				}
			}
			// written: the second convolution of each block, and the stem,
			// whose input's fake quantization reads the net's input (no
			// gradient: never fused at run time); added to the other readers'
			// gradient: the first convolution of the four stride-1 blocks and
			// the projections of the two strided ones
			require.Equal(t, 7, fused-acc)
			require.Equal(t, 6, acc)
			r := quantizer.Ranges{}
			for k := range n.ranges {
				r[k] = [2]float32{-1, 3}
			}
			require.NoError(t, n.SetRanges(r))
			n.training, n.emaRanges, n.emaConst = true, true, 0.1
			var grads [][]float32
			for step := 0; step < 2; step++ {
				_, logits, err := n.Forward(x, 8)
				require.NoError(t, err)
				grad := make([]float32, len(logits))
				SoftmaxCrossEntropy(logits, 10, labels, grad)
				n.ZeroGrad()
				n.Backward(grad)
				for _, p := range n.params {
					grads = append(grads, append([]float32(nil), p.G...))
					for i := range p.W {
						p.W[i] -= 0.01 * p.G[i]
					}
				}
			}
			return grads
		}
		require.Equal(t, run(false), run(true), "threads %d", threads)
	}
}

// TestBinaryWrittenGradMatchesAccumulated checks Add, Sub and Mul, with equal and
// broadcast shapes, writing an operand's gradient (writeA, writeB: its only
// reader) against adding it to a cleared one, bit for bit: the written slices
// start as NaN, and the output gradient holds zeros of both signs and a NaN.
func TestBinaryWrittenGradMatchesAccumulated(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, kind := range []string{"Add", "Sub", "Mul"} {
		for _, broadcast := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/broadcast=%v", kind, broadcast), func(t *testing.T) {
				const m = 37
				nb := m
				o := &binaryOp{kind: kind, a: 0, b: 1, out: 2}
				if broadcast {
					nb = 1
					o.ia, o.ib = make([]int32, m), make([]int32, m)
					for i := range o.ia {
						o.ia[i] = int32(i)
					}
				}
				data := func(k int) []float32 {
					v := make([]float32, k)
					for i := range v {
						v[i] = float32(rng.NormFloat64())
					}
					return v
				}
				a, b, gy := data(m), data(nb), data(m)
				gy[3], gy[4], gy[5] = float32(math.Copysign(0, -1)), 0, float32(math.NaN())
				run := func(write bool) (ga, gb []float32) {
					n := &Net{threads: 2, vals: []*tensor{{data: a, grad: make([]float32, m)}, {data: b, grad: make([]float32, nb)}, {grad: gy}}}
					o.writeA, o.writeB = write, write
					if write {
						for _, v := range n.vals[:2] {
							for i := range v.grad {
								v.grad[i] = float32(math.NaN())
							}
						}
					}
					o.backward(n)
					return n.vals[0].grad, n.vals[1].grad
				}
				wa, wb := run(false)
				ga, gb := run(true)
				bits := func(v []float32) []uint32 {
					u := make([]uint32, len(v))
					for i, f := range v {
						u[i] = math.Float32bits(f)
					}
					return u
				}
				require.Equal(t, bits(wa), bits(ga), "a's gradient")
				require.Equal(t, bits(wb), bits(gb), "b's gradient")
			})
		}
	}
}

// TestFusionsExact checks that the program's fusions change nothing: the
// residual joins' Adds absorbing their operands' fake quantizations and the next
// range's min/max (fuse_add.go), gradients written by the last of several
// readers, no input gradient behind the input's fake quantization
// (markGradFree), fake quantizations applied as a convolution lays its input
// out (fuseFakeQuantIntoConv), and the earlier fusions (Relu into fake quantization,
// straight-through masks and min/max in the convolutions' stores). Two training
// steps with the fusions and two of the same net built without them
// (Config.unfused) give the same logits, parameter gradients, ranges and (learned
// ranges) range gradients, bit for bit, at one and two threads, on the bundled
// models and torch.onnx's export of assorted blocks.
func TestFusionsExact(t *testing.T) {
	type result struct {
		logits, grads, rangeGrads [][]float32
		ranges                    quantizer.Ranges
	}
	for _, name := range []string{"fmnist_resnet", "fmnist_cnn", "fmnist_mlp", "torch_cnn_blocks"} {
		m, err := graph.Load("../testdata/models/" + name + ".onnx")
		require.NoError(t, err)
		for _, threads := range []int{1, 2} {
			for _, learned := range []bool{false, true} {
				run := func(unfused bool) result {
					n, err := New(m, Config{Threads: threads, unfused: unfused})
					require.NoError(t, err)
					if name == "fmnist_resnet" && !unfused {
						absorbed, joins, written, laidOut := 0, 0, 0, 0
						for _, o := range n.ops {
							if c, ok := o.(*convOp); ok && c.fqIn != nil {
								laidOut++
							}
							if a, ok := o.(*binaryOp); ok {
								if a.rangeOf != nil {
									joins++
								}
								for _, f := range a.fq {
									if f != nil {
										absorbed++
									}
								}
							}
						}
						for s := range n.gradWritten {
							if s == 4 || s == 12 || s == 20 {
								written++
							}
						}
						// conv2's FakeQuant in each of the six blocks and the two
						// projections'; each block's join; the first blocks' inputs
						require.Equal(t, 8, absorbed)
						require.Equal(t, 6, joins)
						require.Equal(t, 3, written)
						// each block's second convolution and the stem
						require.Equal(t, 7, laidOut)
						require.Len(t, n.gradFree, 1)
					}
					shape := append([]int{8}, n.inShape...)
					x := make([]float32, numel(shape))
					for i := range x {
						x[i] = float32(i*7%255)/255 - 0.3
					}
					r := quantizer.Ranges{}
					for k := range n.ranges {
						r[k] = [2]float32{-1, 3}
					}
					require.NoError(t, n.SetRanges(r))
					n.training, n.emaRanges, n.emaConst, n.learnRanges = true, !learned, 0.1, learned
					var out result
					for step := 0; step < 2; step++ {
						_, logits, err := n.Forward(x, 8)
						require.NoError(t, err)
						out.logits = append(out.logits, append([]float32(nil), logits...))
						grad := make([]float32, len(logits))
						SoftmaxCrossEntropy(logits, len(logits)/8, []int{0, 1, 2, 3, 4, 5, 6, 7}, grad)
						n.ZeroGrad()
						n.Backward(grad)
						for _, p := range n.params {
							out.grads = append(out.grads, append([]float32(nil), p.G...))
							for i := range p.W {
								p.W[i] -= 0.01 * p.G[i]
							}
						}
						names := make([]string, 0, len(n.ranges))
						for k := range n.ranges {
							names = append(names, k)
						}
						sort.Strings(names)
						for _, k := range names {
							rg := n.ranges[k]
							out.rangeGrads = append(out.rangeGrads, []float32{float32(rg.glo), float32(rg.ghi)})
							rg.glo, rg.ghi = 0, 0
						}
					}
					out.ranges = n.Ranges()
					return out
				}
				require.Equal(t, run(true), run(false), "%s, threads %d, learned ranges %v", name, threads, learned)
			}
		}
	}
}
