package runtime

import (
	"fmt"
	"math/rand"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/warboy-sim/warboy/graph"
)

// inPlaceProbe wraps a fused residual convolution and records whether its
// output shares the residual input's memory.
type inPlaceProbe struct {
	inner Kernel
	pos   int
	mu    *sync.Mutex
	seen  map[string]bool
	name  string
}

func (k inPlaceProbe) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	res := in[k.pos].F32()
	out, err := k.inner.Run(ctx, in)
	if err == nil {
		k.mu.Lock()
		k.seen[k.name] = len(res) > 0 && &out[0].F32()[0] == &res[0]
		k.mu.Unlock()
	}
	return out, err
}

// TestResidualInPlace runs bottleneck blocks whose last 1x1 convolution adds
// the shortcut (64 and 512 channels: a padded pixel stride) against the
// NCHW executor, at 1 and 2 threads and over repeated runs (the arena hands
// the buffers round): a shortcut that dies at the block's end is
// overwritten by the block's output, one that a later step still reads (a
// second consumer, a tapped tensor) is not, and the outputs agree.
func TestResidualInPlace(t *testing.T) {
	relu := func(b *mb, x string) string { return b.Node("Relu", []string{x}) }
	block := func(b *mb, x string, c, mid int) string {
		a := relu(b, b.conv(x, c, mid, 1, 1, 0, 1, true))
		a = relu(b, b.conv(a, mid, mid, 3, 1, 1, 1, true))
		return relu(b, b.Node("Add", []string{b.conv(a, mid, c, 1, 1, 0, 1, true), x}))
	}
	for _, c := range []int{64, 512} {
		b := newMB(29)
		b.Input("x", graph.Dim{Size: 2}, graph.Dim{Size: 8}, graph.Dim{Size: 9}, graph.Dim{Size: 7})
		s := relu(b, b.conv("x", 8, c, 3, 1, 1, 1, true))
		r1 := block(b, s, c, 16)  // s dies here: in place
		r2 := block(b, r1, c, 32) // r1 dies here: in place
		r3 := block(b, r2, c, 16) // r2 is read again below: not in place
		b.Output(b.Node("GlobalAveragePool", []string{r3}))
		b.Output(b.Node("GlobalMaxPool", []string{r2}))
		m := b.Model()
		x := randInput(rand.New(rand.NewSource(3)), []int{2, 8, 9, 7}, -1, 1)
		in := map[string]*graph.Tensor{"x": x}
		defer func(v bool) { channelsLastMode = v }(channelsLastMode)
		channelsLastMode = false
		ref, err := NewSession(m, WithMode(ModeFloat))
		require.NoError(t, err)
		want, err := ref.RunTensors(in)
		require.NoError(t, err)
		channelsLastMode = true
		for _, tap := range []bool{false, true} {
			for _, th := range []int{1, 2} {
				var opts []Option
				if tap {
					opts = append(opts, WithTaps(r1)) // kept: never overwritten
				}
				s, err := NewSession(m, append(opts, WithMode(ModeFloat), WithThreads(th))...)
				require.NoError(t, err)
				seen := map[string]bool{}
				var mu sync.Mutex
				var order []string
				for i, st := range s.steps {
					if k, ok := st.kernel.(*rowsConvKernel); ok && k.residual {
						name := st.node.Name
						order = append(order, name)
						s.steps[i].kernel = inPlaceProbe{inner: k, pos: k.nConvIn, mu: &mu, seen: seen, name: name}
					}
				}
				require.Len(t, order, 3)
				for run := 0; run < 3; run++ {
					got, err := s.RunTensors(in)
					require.NoError(t, err)
					for name, w := range want {
						require.NoError(t, CompareTensors(got[name], w, gemmTol), fmt.Sprintf("c=%d tap=%v %s, %d threads, run %d", c, tap, name, th, run))
					}
					msg := fmt.Sprintf("c=%d tap=%v threads=%d run=%d", c, tap, th, run)
					require.Equal(t, !tap, seen[order[0]], msg)
					require.Equal(t, !tap, seen[order[1]], msg)
					require.False(t, seen[order[2]], msg)
				}
			}
		}
	}
}
