package quantizer

import (
	"math"
	"math/rand"
	goruntime "runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// nchwTapSession is a session planned as the calibrator plans its own (streamed
// taps, elementwise chains in pieces, tensors held channels-last: the same
// kernels, so the same values) whose run returns every tapped tensor whole, in
// NCHW order: the reference the calibrator's statistics must match bit for bit.
func nchwTapSession(t *testing.T, c *Calibrator) func(map[string]*graph.Tensor) map[string][]float32 {
	got := map[string][]float32{}
	buf := func(name string, n int) []float32 {
		if len(got[name]) != n {
			got[name] = make([]float32, n)
		}
		return got[name]
	}
	whole := func(name string, x *graph.Tensor) error {
		copy(buf(name, x.Len()), x.F32())
		return nil
	}
	piece := func(name string, d []float32, off, total int) error {
		copy(buf(name, total)[off:], d)
		return nil
	}
	rows := func(name string, d []float32, first int, l runtime.ChannelsLast) error {
		plane := l.H * l.W
		out := buf(name, l.N*l.C*plane)
		for j := 0; j < len(d)/l.Stride; j++ {
			n, p := (first+j)/plane, (first+j)%plane
			for k := 0; k < l.C; k++ {
				out[(n*l.C+k)*plane+p] = d[j*l.Stride+k]
			}
		}
		return nil
	}
	// Planned for each batch's shapes, as the calibrator's own.
	plan := runtime.NewReplanner(c.model, runtime.WithMode(runtime.ModeFloat), runtime.WithTaps(c.names...),
		runtime.WithTapFunc(whole), runtime.WithTapPieces(piece), runtime.WithTapChannelsLast(rows)).Keep(1)
	return func(batch map[string]*graph.Tensor) map[string][]float32 {
		clear(got)
		sess, err := plan.Session(batch)
		require.NoError(t, err)
		_, err = sess.RunTensors(batch)
		require.NoError(t, err)
		return got
	}
}

// The calibrator observes activations as the executor streams them
// (runtime.WithTapFunc), most of them channels-last (WithTapChannelsLast). Its
// statistics, and so the ranges and reports of all ten methods, are bit-identical
// to those of adding each tensor of the batch whole, in NCHW order, to its
// histogram (the former path, which kept every tapped tensor of a batch).
func TestCalibratorStreamingMatchesRetainedTaps(t *testing.T) {
	train, _ := fmnist(t)
	for _, model := range []string{"fmnist_cnn", "fmnist_resnet"} {
		t.Run(model, func(t *testing.T) {
			m := loadBundled(t, model)
			streamed, err := NewCalibrator(m, MinMaxSym, CalibOptions{})
			require.NoError(t, err)
			retained, err := NewCalibrator(m, MinMaxSym, CalibOptions{})
			require.NoError(t, err)
			run := nchwTapSession(t, retained)
			// Uneven batches: the statistics must not depend on where a batch ends.
			for _, b := range [][2]int{{0, 100}, {100, 37}, {137, 63}} {
				batch := map[string]*graph.Tensor{"input": train.Batch(b[0], b[1])}
				require.NoError(t, streamed.Collect(batch))
				out := run(batch)
				for i, name := range retained.names {
					require.NotNil(t, out[name], name)
					require.NoError(t, retained.hists[i].add(out[name]))
				}
				retained.samples += b[1]
				retained.batches++
			}
			require.Equal(t, retained.names, streamed.names)
			for i, name := range retained.names {
				assert.Equal(t, histStats(retained.hists[i]), histStats(streamed.hists[i]), "histogram of %q", name)
			}
			for _, meth := range Methods() {
				want, wrep, err := retained.ComputeRangesFor(meth)
				require.NoError(t, err)
				got, grep, err := streamed.ComputeRangesFor(meth)
				require.NoError(t, err)
				assert.Equal(t, want, got, "%s ranges", meth)
				assert.Equal(t, wrep.Tensors, grep.Tensors, "%s report", meth)
			}
		})
	}
}

// histStats is a histogram without the piece bookkeeping (tail, rows).
func histStats(h *histogram) histogram {
	c := *h
	c.tail = [2]float32{}
	c.rows = nil
	return c
}

// The same on an exported detector whose activation chains (Conv -> HardSigmoid ->
// Mul) the executor runs in pieces (runtime.WithTapPieces): the HardSigmoid outputs,
// saturated at 0 and 1 in long runs, reach the calibrator piece by piece only.
func TestCalibratorPiecesMatchRetainedTaps(t *testing.T) {
	m, err := graph.Load("../testdata/exported/detector_opset13.onnx")
	require.NoError(t, err)
	streamed, err := NewCalibrator(m, MinMaxSym, CalibOptions{})
	require.NoError(t, err)
	retained, err := NewCalibrator(m, MinMaxSym, CalibOptions{})
	require.NoError(t, err)
	run := nchwTapSession(t, retained)
	rng := rand.New(rand.NewSource(11))
	for _, n := range []int{2, 1, 3} {
		x := graph.NewTensor(graph.Float32, []int{n, 3, 96, 128})
		for i := range x.F32() {
			x.F32()[i] = rng.Float32()
		}
		batch := map[string]*graph.Tensor{"images": x}
		out := run(batch)
		require.NoError(t, streamed.collect(batch, true))
		assert.Empty(t, batch, "an owned batch is handed to the executor")
		for i, name := range retained.names {
			require.NotNil(t, out[name], name)
			require.NoError(t, retained.hists[i].add(out[name]))
		}
		retained.samples += n
		retained.batches++
	}
	for i, name := range retained.names {
		assert.Equal(t, histStats(retained.hists[i]), histStats(streamed.hists[i]), "histogram of %q", name)
	}
	for _, meth := range Methods() {
		want, wrep, err := retained.ComputeRangesFor(meth)
		require.NoError(t, err)
		got, grep, err := streamed.ComputeRangesFor(meth)
		require.NoError(t, err)
		assert.Equal(t, want, got, "%s ranges", meth)
		assert.Equal(t, wrep.Tensors, grep.Tensors, "%s report", meth)
	}
}

// Pieces of any lengths, runs of equal values across their ends included, give the
// histogram one add of the whole tensor gives.
func TestHistogramAddPieceMatchesWhole(t *testing.T) {
	rng := rand.New(rand.NewSource(12))
	for trial := 0; trial < 50; trial++ {
		n := 1 + rng.Intn(3000)
		data := make([]float32, n)
		for i := range data {
			switch r := rng.Intn(10); {
			case r < 3:
				data[i] = 0
			case r < 7 && i > 0:
				data[i] = data[i-1]
			default:
				data[i] = float32(rng.NormFloat64())
			}
		}
		whole, pieced := newHistogram(), newHistogram()
		for rep := 0; rep < 2; rep++ { // two tensors: the second starts at offset 0 again
			require.NoError(t, whole.add(data))
			for off := 0; off < n; {
				l := 1 + rng.Intn(min(n-off, 1+rng.Intn(40)))
				require.NoError(t, pieced.addPiece(data[off:off+l], off, 1+rng.Intn(3)))
				off += l
			}
		}
		assert.Equal(t, whole.reps, pieced.reps, "trial %d", trial)
		assert.Equal(t, whole.count, pieced.count)
		assert.Equal(t, whole.zeros, pieced.zeros)
		assert.Equal(t, whole.side(false), pieced.side(false))
		assert.Equal(t, whole.side(true), pieced.side(true))
	}
	h := newHistogram()
	require.NoError(t, h.addPiece([]float32{1, 2}, 0, 1))
	err := h.addPiece([]float32{3, float32(math.Inf(1))}, 2, 1)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "element 3")
}

// addPar splits a tensor over goroutines; the histogram is the sequential one bit
// for bit, including runs of equal values and zeros that straddle chunk boundaries,
// and a non-finite value is reported at the same index.
func TestHistogramAddParMatchesSequential(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	n := 5*histChunk + 123
	data := make([]float32, n)
	for i := range data {
		switch r := rng.Intn(10); {
		case r < 3:
			data[i] = 0
		case r < 6 && i > 0:
			data[i] = data[i-1] // runs, across chunk boundaries too
		default:
			data[i] = float32(rng.NormFloat64() * 3)
		}
	}
	for _, threads := range []int{2, 3, 4, 8} {
		for _, split := range [][]int{{0, n}, {0, n / 3, n}} {
			seq, par := newHistogram(), newHistogram()
			for j := 0; j+1 < len(split); j++ {
				require.NoError(t, seq.add(data[split[j]:split[j+1]]))
				require.NoError(t, par.addPar(data[split[j]:split[j+1]], threads))
			}
			assert.Equal(t, seq, par, "threads %d, split %v", threads, split)
		}
	}
	bad := append([]float32(nil), data...)
	bad[4*histChunk+5] = float32(math.Inf(1))
	bad[4*histChunk+9] = float32(math.NaN())
	errSeq, errPar := newHistogram().add(bad), newHistogram().addPar(bad, 4)
	require.Error(t, errSeq)
	assert.Equal(t, errSeq, errPar)
}

// Calibration memory is flat in the number of samples: after each batch, what the
// calibrator keeps besides its histograms (each bounded by 2*histMaxBins+2 bins
// whatever the data) does not grow. Bytes after a collection, not time.
func TestCalibratorMemoryFlatInSamples(t *testing.T) {
	m, err := graph.Load("../testdata/exported/detector_opset13.onnx")
	require.NoError(t, err)
	c, err := NewCalibrator(m, PercentileAsym, CalibOptions{})
	require.NoError(t, err)
	rng := rand.New(rand.NewSource(13))
	var base int64
	for b := 0; b < 8; b++ {
		x := graph.NewTensor(graph.Float32, []int{2, 3, 96, 128})
		for i := range x.F32() {
			x.F32()[i] = rng.Float32() * float32(1+b) // growing ranges: the grids grow too
		}
		require.NoError(t, c.collect(map[string]*graph.Tensor{"images": x}, true))
		x = nil
		goruntime.GC()
		goruntime.GC() // the executor's buffer pool (a sync.Pool) empties on the second
		var ms goruntime.MemStats
		goruntime.ReadMemStats(&ms)
		hb := 0
		for _, h := range c.hists {
			hb += h.memBytes()
			assert.LessOrEqual(t, len(h.bins), 2*histMaxBins+2)
		}
		other := int64(ms.HeapAlloc) - int64(hb)
		if b == 0 {
			base = other
			continue
		}
		assert.LessOrEqual(t, other-base, int64(256<<10), "batch %d: %d bytes besides the histograms, %d after the first", b+1, other, base)
	}
}
