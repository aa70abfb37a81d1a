package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestChannelsLastUpsampling runs a UNet-style decoder (bilinear and
// nearest Resize and a 2x2 stride-2 ConvTranspose between convolutions, into
// a Concat; a Resize, a 4x Resize as a segmentation head's and a 3x3
// stride-3 ConvTranspose as graph outputs) and ESPCN-style DepthToSpace heads
// (CRD as the graph output, DCR into a convolution) with the channels-last
// pass and without: the Resize, ConvTranspose and DepthToSpace steps run
// channels-last (writing channels-last into the chain, straight into the
// Concat's buffer, and NCHW for the graph outputs) and the outputs agree.
func TestChannelsLastUpsampling(t *testing.T) {
	defer func(v bool) { channelsLastMode = v }(channelsLastMode)
	for _, ctm := range []string{"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"} {
		t.Run(ctm, func(t *testing.T) {
			b := newMB(5)
			b.Input("x", graph.Dim{Size: 1}, graph.Dim{Size: 8}, graph.Dim{Size: 10}, graph.Dim{Size: 12})
			c1 := b.Node("Relu", []string{b.conv("x", 8, 16, 3, 1, 1, 1, true)})
			scales := b.Init("scales", graph.FromFloat32([]int{4}, []float32{1, 1, 2, 2}))
			u1 := b.Node("Resize", []string{c1, "", scales}, graph.StringAttr("mode", "linear"), graph.StringAttr("coordinate_transformation_mode", ctm))
			sizes := b.Init("sizes", graph.FromInt64([]int{4}, []int64{1, 8, 20, 24}))
			u2 := b.Node("Resize", []string{b.conv("x", 8, 8, 1, 1, 0, 1, true), "", "", sizes}, graph.StringAttr("mode", "nearest"),
				graph.StringAttr("coordinate_transformation_mode", "asymmetric"), graph.StringAttr("nearest_mode", "floor"))
			ct := b.Node("ConvTranspose", []string{c1, b.RandInit("wt", []int{16, 8, 2, 2}, 0.3), b.RandInit("bt", []int{8}, 0.2)},
				graph.IntsAttr("kernel_shape", []int{2, 2}), graph.IntsAttr("strides", []int{2, 2}))
			cat := b.Node("Concat", []string{u1, u2, ct}, graph.IntAttr("axis", 1))
			o1 := b.conv(cat, 32, 8, 3, 1, 1, 1, true)
			ct2 := b.Node("ConvTranspose", []string{c1, b.RandInit("wt", []int{16, 4, 3, 3}, 0.3)}, graph.IntsAttr("strides", []int{3, 3}))
			scales3 := b.Init("scales", graph.FromFloat32([]int{4}, []float32{1, 1, 1.5, 1.75}))
			o2 := b.Node("Resize", []string{c1, "", scales3}, graph.StringAttr("mode", "linear"), graph.StringAttr("coordinate_transformation_mode", ctm))
			scales4 := b.Init("scales", graph.FromFloat32([]int{4}, []float32{1, 1, 4, 4}))
			o4 := b.Node("Resize", []string{c1, "", scales4}, graph.StringAttr("mode", "linear"), graph.StringAttr("coordinate_transformation_mode", ctm))
			d1 := b.Node("DepthToSpace", []string{b.conv("x", 8, 27, 3, 1, 1, 1, true)}, graph.IntAttr("blocksize", 3), graph.StringAttr("mode", "CRD"))
			d2 := b.Node("DepthToSpace", []string{b.conv("x", 8, 16, 3, 1, 1, 1, true)}, graph.IntAttr("blocksize", 2), graph.StringAttr("mode", "DCR"))
			o3 := b.conv(d2, 4, 8, 3, 1, 1, 1, true)
			b.Output(o1, o2, d1, o3, ct2, o4)
			m := b.Model()
			in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(6)), []int{1, 8, 10, 12}, -2, 2)}
			channelsLastMode = false
			ref, err := NewSession(m, WithMode(ModeFloat))
			require.NoError(t, err)
			want, err := ref.RunTensors(in)
			require.NoError(t, err)
			channelsLastMode = true
			for _, th := range []int{1, 2} {
				s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th))
				require.NoError(t, err)
				kinds := map[string]int{}
				for _, st := range s.steps {
					switch k := st.kernel.(type) {
					case *nhwcResizeKernel:
						kinds[fmt.Sprintf("resize out nhwc %v", k.out)]++
						if k.view != nil {
							kinds["in a Concat's buffer"]++
						}
					case *nhwcDepthToSpaceKernel:
						kinds[fmt.Sprintf("d2s out nhwc %v", k.out)]++
					case *nhwcConvTransposeKernel:
						kinds[fmt.Sprintf("convT out nhwc %v", k.out)]++
						if k.view != nil {
							kinds["in a Concat's buffer"]++
						}
					}
				}
				require.Equal(t, map[string]int{"resize out nhwc true": 2, "resize out nhwc false": 2, "d2s out nhwc true": 1, "d2s out nhwc false": 1,
					"convT out nhwc true": 1, "convT out nhwc false": 1, "in a Concat's buffer": 3}, kinds)
				got, err := s.RunTensors(in)
				require.NoError(t, err)
				for _, o := range s.Outputs() {
					require.Equal(t, want[o.Name].Shape, got[o.Name].Shape, o.Name)
					require.NoError(t, CompareTensors(got[o.Name], want[o.Name], gemmTol), fmt.Sprintf("%s, %d threads", o.Name, th))
				}
			}
		})
	}
}
