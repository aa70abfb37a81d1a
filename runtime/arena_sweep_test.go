package runtime

import (
	"math/rand"
	goruntime "runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/warboy-sim/warboy/graph"
)

func TestBufPoolReuseAndTrim(t *testing.T) {
	var p bufPool
	p.beginRun()
	require.Nil(t, p.get(8192))
	a, b := make([]float32, 8192), make([]float32, 8192)
	p.put(&a)
	p.put(&b)
	got := []*[]float32{p.get(8192), p.get(8192)}
	require.ElementsMatch(t, []*[]float32{&a, &b}, got)
	require.Nil(t, p.get(8192), "each buffer is handed out once")
	c := make([]float32, 4096)
	p.put(&c)
	require.Nil(t, p.get(8192), "lengths are not mixed")
	p.put(&a)
	// A length asked for in each run stays; one nobody asks for goes after
	// keepRuns runs.
	for range keepRuns + 1 {
		p.beginRun()
		require.Nil(t, p.get(16384))
	}
	require.NotContains(t, p.free, 8192)
	require.NotContains(t, p.free, 4096)
	require.Contains(t, p.free, 16384)
}

// mbconvModel is an EfficientNet-style block on a 14x14 map between two 1x1
// convolutions (1x1 expansion with SiLU, depthwise 3x3 with SiLU, squeeze-excite
// gate, 1x1 projection, residual), written as in the fused-step tests
// (fuse_dw_pw_test.go): its expansion, depthwise convolution and pool make
// one fused step, which at one thread runs its parts apart, each part's
// output taken from the arena.
func mbconvModel() *graph.Model {
	b := newMB(3)
	b.Input("x", graph.Dim{Size: 2}, graph.Dim{Size: 16}, graph.Dim{Size: 14}, graph.Dim{Size: 14})
	x := tConv(b, "x", 16, 80, 1, 1, 1)
	y := tSiLU(b, tConv(b, x, 80, 480, 1, 1, 1))
	y = tSiLU(b, tConv(b, y, 480, 480, 3, 1, 480))
	g := tSiLU(b, tConv(b, b.Node("GlobalAveragePool", []string{y}), 480, 20, 1, 1, 1))
	g = b.Node("Sigmoid", []string{tConv(b, g, 20, 480, 1, 1, 1)})
	x = b.Node("Add", []string{x, tConv(b, b.Node("Mul", []string{y, g}), 480, 80, 1, 1, 1)})
	b.Output(b.Node("GlobalAveragePool", []string{tConv(b, x, 80, 32, 1, 1, 1)}))
	return b.Model()
}

// After warm-up a run takes every activation buffer from the session's
// pool: it allocates less than one 14x14x480 feature map (376 KB), at one and
// two threads, and its outputs do not change from run to run.
func TestRunsReuseArenaBuffers(t *testing.T) {
	m := mbconvModel()
	x := graph.NewTensor(graph.Float32, []int{2, 16, 14, 14})
	r := rand.New(rand.NewSource(1))
	for i := range x.F32() {
		x.F32()[i] = r.Float32()*2 - 1
	}
	in := map[string]*graph.Tensor{"x": x}
	for _, th := range []int{1, 2} {
		s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th))
		require.NoError(t, err)
		fused := 0
		for _, st := range s.steps {
			if _, ok := st.kernel.(*expandDWSEKernel); ok {
				fused++
			}
		}
		require.Equal(t, 1, fused, "the expansion + depthwise + pool step")
		first, err := s.RunTensors(in)
		require.NoError(t, err)
		for range 2 {
			_, err := s.RunTensors(in)
			require.NoError(t, err)
		}
		const runs = 5
		var before, after goruntime.MemStats
		goruntime.ReadMemStats(&before)
		for range runs {
			out, err := s.RunTensors(in)
			require.NoError(t, err)
			for k, v := range out {
				require.Equal(t, first[k].F32(), v.F32())
			}
		}
		goruntime.ReadMemStats(&after)
		perRun := (after.TotalAlloc - before.TotalAlloc) / runs
		t.Logf("threads %d: %d bytes allocated per run", th, perRun)
		if raceEnabled {
			continue
		}
		require.Less(t, perRun, uint64(14*14*480*4), "threads %d: %d bytes allocated per run", th, perRun)
	}
}

// A buffer a step takes from the arena and does not return (the part of a
// fused step that runs apart) goes back to the pool after the step, so that
// a run after the first allocates its output (handed to the caller) and
// nothing else of that size.
func TestSweepRecyclesStepIntermediates(t *testing.T) {
	b := newMB(1)
	x := b.Input("x", graph.Dim{Size: 1}, graph.Dim{Size: 8}, graph.Dim{Size: 32}, graph.Dim{Size: 32})
	b.Output(b.Node("Relu", []string{b.Node("Relu", []string{x})}))
	s, err := NewSession(b.Model(), WithMode(ModeFloat), WithThreads(1))
	require.NoError(t, err)
	require.Len(t, s.steps, 2)
	inner := s.steps[0].kernel
	s.steps[0].kernel = KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		tmp := ctx.AllocF32(in[0].Len())
		copy(tmp, in[0].F32())
		return inner.Run(ctx, []*graph.Tensor{{DType: graph.Float32, Shape: in[0].Shape, Data: tmp}})
	})
	xt := graph.NewTensor(graph.Float32, []int{1, 8, 32, 32})
	for i := range xt.F32() {
		xt.F32()[i] = float32(i%7) - 3
	}
	run := func() {
		out, err := s.RunTensors(map[string]*graph.Tensor{"x": xt})
		require.NoError(t, err)
		for i, v := range out[s.outputs[0].Name].F32() {
			require.Equal(t, max(xt.F32()[i], 0), v)
		}
	}
	run()
	run()
	const runs = 4
	var before, after goruntime.MemStats
	goruntime.ReadMemStats(&before)
	for range runs {
		run()
	}
	goruntime.ReadMemStats(&after)
	perRun := (after.TotalAlloc - before.TotalAlloc) / runs
	if raceEnabled {
		t.Skipf("race detector: %d bytes allocated per run, not checked", perRun)
	}
	require.Less(t, perRun, uint64(2*xt.Len()*4), "%d bytes allocated per run", perRun)
}
