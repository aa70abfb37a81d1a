package runtime

import (
	"errors"
	"math/rand"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// Streamed taps (WithTapFunc) see exactly the tensors WithTaps returns, each once,
// and RunTensors then returns the outputs only; concurrent runs are safe (-race).
func TestTapFuncMatchesTaps(t *testing.T) {
	for _, model := range []string{"fmnist_cnn.onnx", "fmnist_resnet.onnx"} {
		t.Run(model, func(t *testing.T) {
			m, err := graph.Load(filepath.Join("..", "testdata", "models", model))
			require.NoError(t, err)
			g := m.Graph
			var names []string
			for _, in := range g.Inputs {
				names = append(names, in.Name)
			}
			for _, n := range g.Nodes {
				for _, o := range n.Outputs {
					if v := g.Values[o]; o != "" && v != nil && v.DType == graph.Float32 {
						names = append(names, o)
					}
				}
			}
			ref, err := NewSession(m, WithMode(ModeFloat), WithTaps(names...))
			require.NoError(t, err)
			var mu sync.Mutex
			got := map[int]map[string][]float32{}
			stream, err := NewSession(m, WithMode(ModeFloat), WithTaps(names...), WithTapFunc(func(name string, tt *graph.Tensor) error {
				// The run's batch size tells the concurrent runs apart.
				mu.Lock()
				defer mu.Unlock()
				b := 0
				if len(tt.Shape) > 0 {
					b = tt.Shape[0]
				}
				if got[b] == nil {
					got[b] = map[string][]float32{}
				}
				_, dup := got[b][name]
				assert.False(t, dup, "tensor %q streamed twice", name)
				got[b][name] = append([]float32(nil), tt.F32()...)
				return nil
			}))
			require.NoError(t, err)
			in := g.Inputs[0]
			rng := rand.New(rand.NewSource(3))
			inputs := map[int]*graph.Tensor{}
			for _, b := range []int{2, 3, 5} {
				shape := []int{b, 1, 28, 28}
				inputs[b] = randF32(rng, shape...)
			}
			var wg sync.WaitGroup
			outs := make(map[int]map[string]*graph.Tensor)
			var omu sync.Mutex
			for b, x := range inputs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					o, err := stream.RunTensors(map[string]*graph.Tensor{in.Name: x})
					assert.NoError(t, err)
					omu.Lock()
					outs[b] = o
					omu.Unlock()
				}()
			}
			wg.Wait()
			for b, x := range inputs {
				want, err := ref.RunTensors(map[string]*graph.Tensor{in.Name: x})
				require.NoError(t, err)
				assert.Len(t, outs[b], len(g.Outputs), "only the outputs are returned")
				for _, o := range g.Outputs {
					assert.Equal(t, want[o.Name].F32(), outs[b][o.Name].F32(), "output %q", o.Name)
				}
				for _, name := range names {
					require.Contains(t, got[b], name)
					assert.Equal(t, want[name].F32(), got[b][name], "tensor %q batch %d", name, b)
				}
				assert.Len(t, got[b], len(names))
			}
		})
	}
}

// An error from the callback stops the run and is returned unchanged.
func TestTapFuncError(t *testing.T) {
	m, err := graph.Load(filepath.Join("..", "testdata", "models", "fmnist_cnn.onnx"))
	require.NoError(t, err)
	stop := errors.New("stop here")
	var calls int
	target := m.Graph.Nodes[1].Outputs[0]
	s, err := NewSession(m, WithMode(ModeFloat), WithTaps(m.Graph.Inputs[0].Name, target), WithTapFunc(func(name string, _ *graph.Tensor) error {
		calls++
		if name == target {
			return stop
		}
		return nil
	}))
	require.NoError(t, err)
	_, err = s.RunTensors(map[string]*graph.Tensor{m.Graph.Inputs[0].Name: randF32(rand.New(rand.NewSource(1)), 1, 1, 28, 28)})
	assert.ErrorIs(t, err, stop)
	assert.Equal(t, 2, calls)
}
