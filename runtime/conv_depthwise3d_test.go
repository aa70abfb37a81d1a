package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestDepthwise3DF32VsReference runs depthwise 3-D Convs (the width
// interleaving on the 2-D depthwise kernel) against the direct definition:
// X3D's 3x3x3 with stride (1,2,2), (3,1,1), depth stride and dilation,
// height dilation, asymmetric pads, windows wholly in the depth padding, a
// channel multiplier of 2, with and without bias, batch 2, 1 and 2 threads.
func TestDepthwise3DF32VsReference(t *testing.T) {
	cases := []struct {
		x         []int
		mult      int
		k, s, dil []int
		pads      []int
		bias      bool
	}{
		{[]int{1, 54, 8, 14, 14}, 1, []int{3, 3, 3}, []int{1, 1, 1}, []int{1, 1, 1}, []int{1, 1, 1, 1, 1, 1}, true},
		{[]int{2, 24, 4, 9, 10}, 1, []int{3, 3, 3}, []int{1, 2, 2}, []int{1, 1, 1}, []int{1, 1, 1, 1, 1, 1}, false},
		{[]int{1, 16, 6, 5, 5}, 1, []int{3, 1, 1}, []int{1, 1, 1}, []int{1, 1, 1}, []int{1, 0, 0, 1, 0, 0}, true},
		{[]int{1, 20, 7, 6, 7}, 1, []int{2, 3, 3}, []int{2, 1, 2}, []int{2, 2, 1}, []int{2, 2, 0, 1, 1, 2}, true},
		{[]int{1, 8, 3, 5, 6}, 2, []int{3, 3, 3}, []int{1, 1, 1}, []int{1, 1, 1}, []int{1, 1, 1, 1, 1, 1}, true},
		{[]int{1, 7, 2, 4, 4}, 1, []int{5, 3, 3}, []int{1, 1, 1}, []int{1, 1, 1}, []int{3, 1, 1, 3, 1, 1}, false},
	}
	r := rand.New(rand.NewSource(41))
	for _, tc := range cases {
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("%v k%v s%v d%v threads %d", tc.x, tc.k, tc.s, tc.dil, threads), func(t *testing.T) {
				c := tc.x[1]
				oc := c * tc.mult
				x := randF32(r, tc.x...)
				w := randF32(r, oc, 1, tc.k[0], tc.k[1], tc.k[2])
				ins := []*graph.Tensor{x, w}
				nin := 2
				var bd []float32
				if tc.bias {
					b := randF32(r, oc)
					ins, nin, bd = append(ins, b), 3, b.F32()
				}
				n := mk("Conv", nin, 1, aInts("kernel_shape", toI64(tc.k)...), aInts("strides", toI64(tc.s)...), aInts("dilations", toI64(tc.dil)...),
					aInts("pads", toI64(tc.pads)...), aInt("group", int64(c)))
				got, err := runNodeWith(t, 13, threads, n, nil, ins...)
				require.NoError(t, err)
				// the definition
				dims, out := tc.x[2:], make([]int, 3)
				for a := 0; a < 3; a++ {
					out[a] = (dims[a]+tc.pads[a]+tc.pads[3+a]-tc.dil[a]*(tc.k[a]-1)-1)/tc.s[a] + 1
				}
				want := make([]float32, tc.x[0]*oc*out[0]*out[1]*out[2])
				xd, wd := x.F32(), w.F32()
				i := 0
				for b := 0; b < tc.x[0]; b++ {
					for o := 0; o < oc; o++ {
						ci := o / tc.mult
						for z := 0; z < out[0]; z++ {
							for y := 0; y < out[1]; y++ {
								for xo := 0; xo < out[2]; xo++ {
									var s float64
									if bd != nil {
										s = float64(bd[o])
									}
									for kt := 0; kt < tc.k[0]; kt++ {
										for ki := 0; ki < tc.k[1]; ki++ {
											for kj := 0; kj < tc.k[2]; kj++ {
												p := [3]int{z*tc.s[0] - tc.pads[0] + kt*tc.dil[0], y*tc.s[1] - tc.pads[1] + ki*tc.dil[1], xo*tc.s[2] - tc.pads[2] + kj*tc.dil[2]}
												if p[0] < 0 || p[0] >= dims[0] || p[1] < 0 || p[1] >= dims[1] || p[2] < 0 || p[2] >= dims[2] {
													continue
												}
												s += float64(xd[(((b*c+ci)*dims[0]+p[0])*dims[1]+p[1])*dims[2]+p[2]]) * float64(wd[((o*tc.k[0]+kt)*tc.k[1]+ki)*tc.k[2]+kj])
											}
										}
									}
									want[i] = float32(s)
									i++
								}
							}
						}
					}
				}
				require.Equal(t, []int{tc.x[0], oc, out[0], out[1], out[2]}, got[0].Shape)
				require.NoError(t, CompareTensors(got[0], graph.FromFloat32(got[0].Shape, want), Tolerance{Rtol: 1e-4, Atol: 1e-5}))
			})
		}
	}
}
