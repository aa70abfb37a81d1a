package qat

import (
	"math"
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/ortoracle"
	"github.com/warboy-sim/warboy/quantizer"
	"github.com/warboy-sim/warboy/runtime"
)

// seqData is random sequences [L, 64] in groups of one length, for the symbolic
// transformer of testdata/exported (input x [batch, seq, 64]).
type seqData struct {
	lens []int // length of each group
	per  int   // samples per group
}

func (d seqData) Len() int { return len(d.lens) * d.per }

func (d seqData) values(i int) []float32 {
	rng := rand.New(rand.NewSource(int64(i)))
	x := make([]float32, d.lens[i/d.per]*64)
	for j := range x {
		x[j] = float32(rng.NormFloat64())
	}
	return x
}

func (d seqData) Sample(i int, dst []float32) (int, error) {
	copy(dst, d.values(i))
	return -1, nil
}

func (d seqData) Groups() ([]int, [][][]int) {
	var ends []int
	var shapes [][][]int
	for g, l := range d.lens {
		ends = append(ends, (g+1)*d.per)
		shapes = append(shapes, [][]int{{l, 64}})
	}
	return ends, shapes
}

// Batch feeds the calibration, one shape group at a time (GroupEnd).
func (d seqData) Batch(start, n int) (map[string]*graph.Tensor, error) {
	var all []float32
	for i := start; i < start+n; i++ {
		all = append(all, d.values(i)...)
	}
	return map[string]*graph.Tensor{"x": graph.FromFloat32([]int{n, d.lens[start/d.per], 64}, all)}, nil
}

func (d seqData) GroupEnd(start int) int { return (start/d.per + 1) * d.per }

// TestSequencesOfSeveralLengths: a transformer whose sequence length is symbolic
// trains on sequences of three lengths without being bound to one, every batch of
// one length (and in a shuffled order of lengths); at each length the written
// model computes on the int8 runtime what the fake-quantized net computes.
func TestSequencesOfSeveralLengths(t *testing.T) {
	m, err := graph.Load("../testdata/exported/transformer_opset13.onnx")
	require.NoError(t, err)
	n, err := New(m, Config{Threads: 2})
	require.NoError(t, err)
	require.True(t, n.Symbolic())
	data := seqData{lens: []int{5, 9, 12}, per: 24}
	setCalibratedRanges(t, n, data)
	teacher, err := NewTeacher(m, Config{Threads: 2})
	require.NoError(t, err)
	lengths := map[int]int{}
	opts := Options{Loss: "outputs", Teacher: teacher, Optimizer: "adamw", LR: 1e-3, Batch: 8, Epochs: 2, FreezeBNAfter: -1, FreezeRangesAfter: -1, Seed: 3,
		Progress: func(_, _, _ int, _, _ float64) { lengths[n.inputs[0].shape[0]]++ }}
	before := append([]float32(nil), n.Params()[0].W...)
	stats, err := n.Fit(data, opts)
	require.NoError(t, err)
	require.Len(t, stats, 2)
	require.Equal(t, map[int]int{5: 6, 9: 6, 12: 6}, lengths, "3 batches of each length per epoch")
	require.False(t, math.IsNaN(stats[1].Loss))
	require.NotEqual(t, before, n.Params()[0].W, "the weights train")

	q, err := n.Export(quantizer.QuantOptions{})
	require.NoError(t, err)
	require.False(t, q.Graph.Inputs[0].Shape[1].Known(), "written with its symbolic length")
	for _, l := range []int{5, 12, 7} {
		require.NoError(t, n.SetSampleShapes([][]int{{l, 64}}))
		feed, err := seqData{lens: []int{l}, per: 2}.Batch(0, 2)
		require.NoError(t, err)
		sqnr := exportSQNR(t, n, feed["x"].F32(), 2, feed, "y")
		t.Logf("length %d: fake-quantized forward against the int8 runtime %.1f dB", l, sqnr)
		require.Greater(t, sqnr, 30.0, "length %d", l)
	}
	// ONNX Runtime runs the written model at each length and agrees.
	if err := ortoracle.Available(); err != nil {
		t.Log(err)
	} else {
		path := filepath.Join(t.TempDir(), "seq.onnx")
		require.NoError(t, q.Save(path))
		s, err := runtime.NewSession(q, runtime.WithMode(runtime.ModeInt8))
		require.NoError(t, err)
		for _, l := range []int{5, 12} {
			feed, err := seqData{lens: []int{l}, per: 3}.Batch(0, 3)
			require.NoError(t, err)
			ours, err := s.RunTensors(feed)
			require.NoError(t, err)
			theirs, err := ortoracle.Run(path, feed, 2)
			require.NoError(t, err)
			a, b := ours["y"].F32(), theirs["y"].F32()
			require.Len(t, a, len(b))
			var sig, noise float64
			for i := range b {
				sig += float64(b[i]) * float64(b[i])
				noise += float64(a[i]-b[i]) * float64(a[i]-b[i])
			}
			sqnr := 10 * math.Log10(sig/noise)
			t.Logf("length %d: int8 runtime against ONNX Runtime %.1f dB", l, sqnr)
			require.Greater(t, sqnr, 30.0, "length %d", l)
		}
	}
	// Shapes that do not fit the declared input are refused.
	require.ErrorContains(t, n.SetSampleShapes([][]int{{5, 32}}), `input "x" is declared [?,64] per sample`)
	// A symbolic net needs the shapes from its data.
	_, err = n.Fit(randomLabelled{randomBatches{"x", []int{5, 64}, 8, 1}, 2}, Options{Batch: 4})
	require.ErrorContains(t, err, "the data gives no sample shapes")
}
