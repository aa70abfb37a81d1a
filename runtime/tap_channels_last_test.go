package runtime

import (
	"math"
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// A streaming session with WithTapChannelsLast holds tapped activations
// channels-last (the tensors of conv chains reach the TapChannelsLastFunc as pixel
// rows, whole or in pieces), every tapped tensor still arrives exactly once, and,
// put back in NCHW order, each equals the one WithTaps returns (the NCHW kernels)
// to float32 rounding; the graph outputs too. The models: the bundled CNNs, an
// exported detector (Conv -> HardSigmoid -> Mul chains, run in pieces) and one
// with padded pixels (24 channels).
func TestTapChannelsLastMatchesTaps(t *testing.T) {
	for _, tc := range []struct {
		path  string
		shape []int
	}{
		{"models/fmnist_cnn.onnx", []int{3, 1, 28, 28}},
		{"models/fmnist_resnet.onnx", []int{2, 1, 28, 28}},
		{"exported/detector_opset13.onnx", []int{2, 3, 64, 96}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			m, err := graph.Load(filepath.Join("..", "testdata", tc.path))
			require.NoError(t, err)
			names := floatActivations(t, m)
			got := map[string][]float32{}
			calls := map[string]int{}
			whole := func(name string, x *graph.Tensor) error {
				calls[name]++
				got[name] = append([]float32(nil), x.F32()...)
				return nil
			}
			piece := func(name string, d []float32, off, total int) error {
				if off == 0 {
					calls[name]++
					got[name] = make([]float32, total)
				}
				copy(got[name][off:], d)
				return nil
			}
			nrows := 0
			rows := func(name string, d []float32, first int, l ChannelsLast) error {
				nrows++
				plane := l.H * l.W
				if first == 0 {
					calls[name]++
					got[name] = make([]float32, l.N*l.C*plane)
				}
				require.Zero(t, len(d)%l.Stride)
				for j := 0; j < len(d)/l.Stride; j++ {
					n, p := (first+j)/plane, (first+j)%plane
					for k := 0; k < l.C; k++ {
						got[name][(n*l.C+k)*plane+p] = d[j*l.Stride+k]
					}
				}
				return nil
			}
			// Sessions planned for the input's shapes (the detector's are symbolic).
			x := randF32(rand.New(rand.NewSource(5)), tc.shape...)
			in := map[string]*graph.Tensor{m.Graph.Inputs[0].Name: x}
			ref, err := NewReplanner(m, WithMode(ModeFloat), WithTaps(names...)).Session(in)
			require.NoError(t, err)
			s, err := NewReplanner(m, WithMode(ModeFloat), WithTaps(names...), WithTapFunc(whole), WithTapPieces(piece),
				WithTapChannelsLast(rows), withTapPieceLen(1000)).Session(in)
			require.NoError(t, err)
			assert.NotEmpty(t, s.tapCL, "no tapped tensor is held channels-last")
			want, err := ref.RunTensors(in)
			require.NoError(t, err)
			outs, err := s.RunTensors(in)
			require.NoError(t, err)
			assert.Positive(t, nrows)
			for _, name := range names {
				assert.Equal(t, 1, calls[name], "tensor %q streamed once", name)
				assertClose(t, want[name].F32(), got[name], name)
			}
			for _, o := range m.Graph.Outputs {
				assertClose(t, want[o.Name].F32(), outs[o.Name].F32(), "output "+o.Name)
			}
		})
	}
}

// assertClose checks b against a to float32 rounding of sums (relative to the
// largest magnitude of a).
func assertClose(t *testing.T, a, b []float32, what string) {
	t.Helper()
	require.Len(t, b, len(a), what)
	scale := 0.0
	for _, v := range a {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	for i := range a {
		if d := math.Abs(float64(a[i]) - float64(b[i])); d > 1e-5*math.Max(scale, 1) {
			t.Errorf("%s: element %d is %v, want %v", what, i, b[i], a[i])
			return
		}
	}
}
