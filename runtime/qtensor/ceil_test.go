package qtensor

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestCeilExtraMatchesCeilMode checks that floor-mode pooling over the input
// padded at the end by CeilExtra has the ceil-mode output size of
// graph.ResolveConvGeom, on every small geometry (including one window running
// past a map smaller than the kernel, GoogLeNet's last MaxPool at 28x28).
func TestCeilExtraMatchesCeilMode(t *testing.T) {
	for in := 1; in <= 7; in++ {
		for k := 1; k <= 4; k++ {
			for s := 1; s <= 3; s++ {
				for d := 1; d <= 2; d++ {
					for pb := 0; pb < k; pb++ {
						for pe := 0; pe < k; pe++ {
							n := &graph.Node{OpType: "MaxPool", Attrs: map[string]*graph.Attr{
								"strides": graph.IntsAttr("strides", []int{s}), "dilations": graph.IntsAttr("dilations", []int{d}),
								"pads": graph.IntsAttr("pads", []int{pb, pe})}}
							g, err := graph.ResolveConvGeom(n, []int{in}, []int{k}, true)
							extra := CeilExtra(in, k, s, d, pb, pe)
							span := in + pb + pe + extra - d*(k-1) - 1
							name := fmt.Sprintf("in%d k%d s%d d%d pads %d+%d", in, k, s, d, pb, pe)
							if err != nil {
								require.Less(t, span, 0, name)
								continue
							}
							require.GreaterOrEqual(t, span, 0, name)
							require.Equal(t, g.Out[0], span/s+1, name)
						}
					}
				}
			}
		}
	}
}
