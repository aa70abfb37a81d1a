package runtime

import (
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// A torch.onnx export with symbolic batch, height and width (the small
// YOLO-style detector of testdata/exported) is planned for the shapes fed:
// same outputs as the unplanned session, the shape subgraphs folded away,
// one plan per distinct input shape.
func TestReplannerBindsFedShapes(t *testing.T) {
	m, err := graph.Load(filepath.Join("..", "testdata", "exported", "detector_opset13.onnx"))
	require.NoError(t, err)
	require.True(t, HasSymbolicInputs(m))
	unplanned, err := NewSession(m, WithMode(ModeFloat), WithThreads(1))
	require.NoError(t, err)
	r := NewReplanner(m, WithMode(ModeFloat), WithThreads(1))
	rng := rand.New(rand.NewSource(5))
	for i, tc := range []struct {
		shape []int
		plans int
	}{
		{[]int{1, 3, 64, 64}, 1},
		{[]int{1, 3, 64, 64}, 1}, // same shape: the same plan
		{[]int{1, 3, 96, 64}, 2}, // another height: planned again
		{[]int{2, 3, 96, 64}, 3},
		{[]int{2, 3, 96, 64}, 3},
	} {
		x := graph.FromFloat32(tc.shape, make([]float32, tc.shape[0]*tc.shape[1]*tc.shape[2]*tc.shape[3]))
		for j := range x.F32() {
			x.F32()[j] = rng.Float32()
		}
		in := map[string]*graph.Tensor{"images": x}
		got, err := r.RunTensors(in)
		require.NoError(t, err)
		want, err := unplanned.RunTensors(in)
		require.NoError(t, err)
		require.Equal(t, want["pred"].Shape, got["pred"].Shape, "case %d", i)
		require.NoError(t, CompareTensors(got["pred"], want["pred"], Tolerance{Rtol: 1e-5, Atol: 1e-5}), "case %d", i)
		assert.Equal(t, tc.plans, r.Plans(), "case %d", i)

		s, err := r.Session(in)
		require.NoError(t, err)
		dims, ok := s.Inputs()[0].Shape.Concrete()
		require.True(t, ok, "the planned session's input is bound")
		assert.Equal(t, tc.shape, dims)
		// The Shape -> Gather -> ... -> Reshape/Resize chains are constants once
		// the shapes are bound: fewer steps, none of them a Shape.
		assert.Less(t, len(s.steps), len(unplanned.steps))
		for _, st := range s.steps {
			assert.NotEqual(t, "Shape", st.node.OpType)
		}
	}

	// A shape that does not fit the declaration is refused, naming the input.
	_, err = r.RunTensors(map[string]*graph.Tensor{"images": graph.FromFloat32([]int{1, 3, 64}, make([]float32, 192))})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "images")
}

// A model with static inputs is planned once, whatever is fed.
func TestReplannerStaticModelPlansOnce(t *testing.T) {
	m, err := graph.Load(filepath.Join("..", "testdata", "exported", "detector_opset13.onnx"))
	require.NoError(t, err)
	bound, err := m.WithInputShapes(map[string][]int{"images": {1, 3, 32, 32}})
	require.NoError(t, err)
	require.False(t, HasSymbolicInputs(bound))
	require.True(t, HasSymbolicInputs(m), "binding works on a copy")
	r := NewReplanner(bound, WithMode(ModeFloat), WithThreads(1))
	x := graph.FromFloat32([]int{1, 3, 32, 32}, make([]float32, 3*32*32))
	for i := 0; i < 2; i++ {
		_, err := r.RunTensors(map[string]*graph.Tensor{"images": x})
		require.NoError(t, err)
	}
	assert.Equal(t, 1, r.Plans())
}

// Concurrent runs of two shapes: each gets the session of its own shapes (the
// cache holds the last one; a session handed out stays usable after a re-plan).
func TestReplannerConcurrent(t *testing.T) {
	m, err := graph.Load(filepath.Join("..", "testdata", "exported", "detector_opset13.onnx"))
	require.NoError(t, err)
	r := NewReplanner(m, WithMode(ModeFloat), WithThreads(1))
	shapes := [][]int{{1, 3, 32, 32}, {1, 3, 32, 64}}
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		s := shapes[i%2]
		go func() {
			x := graph.FromFloat32(s, make([]float32, s[1]*s[2]*s[3]))
			out, err := r.RunTensors(map[string]*graph.Tensor{"images": x})
			if err == nil && out["pred"].Shape[2] != s[2]/8 {
				err = assert.AnError
			}
			errs <- err
		}()
	}
	for i := 0; i < 8; i++ {
		require.NoError(t, <-errs)
	}
	assert.GreaterOrEqual(t, r.Plans(), 2)
}

func detectorInput(shape []int, seed int64) map[string]*graph.Tensor {
	x := graph.FromFloat32(shape, make([]float32, graph.NumElements(shape)))
	rng := rand.New(rand.NewSource(seed))
	for j := range x.F32() {
		x.F32()[j] = rng.Float32()
	}
	return map[string]*graph.Tensor{"images": x}
}

// A stream alternating input sizes (images of two aspect ratios) plans each
// size once while they fit in the cache; beyond it the least recently used
// is evicted and planned again when it comes back.
func TestReplannerKeepsRecentShapes(t *testing.T) {
	m, err := graph.Load(filepath.Join("..", "testdata", "exported", "detector_opset13.onnx"))
	require.NoError(t, err)
	a, b, c := []int{1, 3, 32, 32}, []int{1, 3, 32, 64}, []int{1, 3, 64, 32}
	for _, tc := range []struct {
		name   string
		keep   int // 0: the default
		stream [][]int
		plans  int
		held   int
	}{
		{"alternating two sizes", 0, [][]int{a, b, a, b, a, b}, 2, 2},
		{"three sizes, default cache", 0, [][]int{a, b, c, a, b, c}, 3, 3},
		{"keep 2: a evicted by c", 2, [][]int{a, b, c, a}, 4, 2},
		{"keep 2: b used last, a evicted", 2, [][]int{a, b, a, c, a, b}, 4, 2},
		{"keep 1: every change plans", 1, [][]int{a, b, a, b}, 4, 1},
		{"keep 1: grouped stream plans once per group", 1, [][]int{a, a, b, b, c}, 3, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReplanner(m, WithMode(ModeFloat), WithThreads(1))
			if tc.keep > 0 {
				r.Keep(tc.keep)
			}
			for i, s := range tc.stream {
				in := detectorInput(s, int64(i))
				out, err := r.RunTensors(in)
				require.NoError(t, err)
				assert.Equal(t, s[2]/8, out["pred"].Shape[2], "step %d", i)
			}
			assert.Equal(t, tc.plans, r.Plans())
			assert.Equal(t, tc.held, r.Held())
		})
	}
}

// Many goroutines on three shapes with a cache of two: every run gets the
// session of its own shapes and the right outputs (run with -race).
func TestReplannerConcurrentEviction(t *testing.T) {
	m, err := graph.Load(filepath.Join("..", "testdata", "exported", "detector_opset13.onnx"))
	require.NoError(t, err)
	ref, err := NewSession(m, WithMode(ModeFloat), WithThreads(1))
	require.NoError(t, err)
	shapes := [][]int{{1, 3, 32, 32}, {1, 3, 32, 64}, {1, 3, 64, 32}}
	ins := make([]map[string]*graph.Tensor, len(shapes))
	wants := make([]*graph.Tensor, len(shapes))
	for i, s := range shapes {
		ins[i] = detectorInput(s, int64(i))
		out, err := ref.RunTensors(ins[i])
		require.NoError(t, err)
		wants[i] = out["pred"]
	}
	r := NewReplanner(m, WithMode(ModeFloat), WithThreads(1)).Keep(2)
	const runs = 18
	errs := make(chan error, runs)
	for i := 0; i < runs; i++ {
		k := i % len(shapes)
		go func() {
			out, err := r.RunTensors(ins[k])
			if err == nil {
				err = CompareTensors(out["pred"], wants[k], Tolerance{Rtol: 1e-5, Atol: 1e-5})
			}
			errs <- err
		}()
	}
	for i := 0; i < runs; i++ {
		require.NoError(t, <-errs)
	}
	assert.GreaterOrEqual(t, r.Plans(), 3)
	assert.LessOrEqual(t, r.Held(), 2)
}

// A shape that fails to plan is not kept: the error comes back on every try.
func TestReplannerFailedPlanNotKept(t *testing.T) {
	m, err := graph.Load(filepath.Join("..", "testdata", "exported", "detector_opset13.onnx"))
	require.NoError(t, err)
	r := NewReplanner(m, WithMode(ModeFloat), WithThreads(1))
	bad := map[string]*graph.Tensor{"images": graph.FromFloat32([]int{1, 3, 64}, make([]float32, 192))}
	for i := 0; i < 2; i++ {
		_, err := r.Session(bad)
		require.Error(t, err)
	}
	assert.Equal(t, 0, r.Held())
	assert.Equal(t, 0, r.Plans())
}
