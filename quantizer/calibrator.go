package quantizer

import (
	"errors"
	"fmt"
	"math"
	goruntime "runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// DefaultPercentile is the percentage of values the PERCENTILE methods keep
// (TensorRT's tooling and FuriosaAI use 99.99).
const DefaultPercentile = 99.99

// DefaultMethod is the calibration method `warboy quantize` uses when none is given:
// on the bundled models it keeps the float accuracy (docs/quantizer.md has the table
// of every method), and it never clips more than (100-p)/200 of a tensor's values, so
// it cannot fail the way ENTROPY does on tensors with spikes.
const DefaultMethod = PercentileAsym

// DefaultClipWarn is the fraction of values a method may clip before a warning.
const DefaultClipWarn = 0.01

// CalibOptions configure a Calibrator.
type CalibOptions struct {
	// Percentile is the percentage of values kept by the PERCENTILE methods, in
	// (0, 100] (default 99.99).
	Percentile float64
	// ClipWarn is the fraction of a tensor's values whose clipping triggers a warning
	// (default 0.01 = 1%).
	ClipWarn float64
	// Warn receives warnings: a method that picked the MIN_MAX range, a range that
	// clips more than ClipWarn of the values, a tensor that is always zero.
	Warn func(string)
	// Progress is called after each Collect with the number of samples seen so far and
	// ExpectedSamples.
	Progress        func(done, total int)
	ExpectedSamples int
	// BatchSize is the number of samples per Collect in Calibrate (default
	// DefaultCalibBatch); a model with a static batch (StaticBatch) is fed batches of
	// its own size whatever BatchSize says.
	BatchSize int
	// Exclude names nodes that will stay float32 (QuantOptions.Exclude): excluding a
	// node changes which tensors are quantized, so calibration must know.
	Exclude []string
	// Threads bounds the goroutines used by the executor and the histogram updates
	// (default GOMAXPROCS).
	Threads int
}

// ErrNoData is returned by ComputeRanges when Collect was never called with data.
var ErrNoData = errors.New("calibration: no data collected (the calibration set is empty)")

// Calibrator collects activation statistics over calibration data, batch by batch,
// and computes quantization ranges. Memory is O(tensors x bins), independent of the
// number of samples: nothing of a batch is kept after Collect returns.
type Calibrator struct {
	model  *graph.Model // optimized
	method Method
	opts   CalibOptions
	// sess runs a model with static inputs; plan, for a model with symbolic
	// input dimensions, runs each batch on a session planned for its shapes
	// (runtime.Replanner) instead, keeping only the last one: one session,
	// so one copy of the packed weights, at any time.
	sess *runtime.Session
	plan *runtime.Replanner
	// inputs describes the model inputs a batch must provide.
	inputs []*graph.Value
	// names lists the calibrated tensors: the first nacts are the activations the plan
	// quantizes (reported), the rest every other float activation (ranges only).
	names []string
	nacts int
	hists []*histogram
	// index maps a calibrated tensor to its position in names; seen marks the
	// tensors observed during the current Collect (both only touched under mu).
	index map[string]int
	// nanOK marks the tensors an IsNaN reads (plan_mask.go nanGuarded): their NaNs
	// are expected and left out of the statistics.
	nanOK map[string]bool
	seen  []bool
	// src says which tensors take another tensor's parameters (shared-scale
	// operators, Concat inputs) or fixed ones; consts holds constant tensors they may
	// refer to.
	src     map[string]paramSrc
	consts  map[string]*graph.Tensor
	mu      sync.Mutex
	samples int
	batches int
	elapsed time.Duration
	// gc samples the memory at each observed tensor while Calibrate runs
	// (calibrate_gc.go); nil otherwise.
	gc *gcControl
	// rows measures the row spread of the layer normalizations' inputs
	// (plan_normrows.go; only touched under mu).
	rows map[string]*rowStat
}

// NewCalibrator prepares the calibration of m. The model is optimized first (see
// Optimize), and the tensors calibrated are exactly the activations Quantize will
// quantize, named as in the optimized model.
func NewCalibrator(m *graph.Model, method Method, opts CalibOptions) (*Calibrator, error) {
	if !method.Valid() {
		return nil, fmt.Errorf("calibration: invalid method %d", int(method))
	}
	if opts.Percentile == 0 {
		opts.Percentile = DefaultPercentile
	}
	if !(opts.Percentile > 0 && opts.Percentile <= 100) {
		return nil, fmt.Errorf("calibration: percentile %v is outside (0, 100]", opts.Percentile)
	}
	if opts.ClipWarn == 0 {
		opts.ClipWarn = DefaultClipWarn
	}
	if opts.Threads <= 0 {
		opts.Threads = goruntime.GOMAXPROCS(0)
	}
	if m == nil || m.Graph == nil {
		return nil, errors.New("calibration: nil model")
	}
	if err := checkNotQuantized(m); err != nil {
		return nil, err
	}
	opt, err := Optimize(m)
	if err != nil {
		return nil, err
	}
	planned := opt.Clone()
	p, err := planModel(planned, opts.Exclude)
	if err != nil {
		return nil, err
	}
	if len(p.acts) == 0 {
		if err := mlOnlyError(planned.Graph); err != nil {
			return nil, err
		}
		if err := subgraphOnlyError(planned.Graph); err != nil {
			return nil, err // plan_subgraph.go
		}
		return nil, errors.New("calibration: the model has no operator the quantizer can quantize")
	}
	// Every other float activation is calibrated too, so that the ranges serve any
	// later Exclude list or float fallback (which quantize tensors this plan fuses or
	// leaves float).
	names := append(append([]string(nil), p.acts...), otherActivations(planned.Graph, p.acts)...)
	c := &Calibrator{model: planned, method: method, opts: opts, names: names, nacts: len(p.acts), src: p.src, consts: map[string]*graph.Tensor{},
		index: make(map[string]int, len(names)), seen: make([]bool, len(names)), nanOK: nanGuarded(planned.Graph)}
	for i, n := range names {
		c.index[n] = i
	}
	c.rows = make(map[string]*rowStat, len(p.normInputs))
	for name, in := range p.normInputs {
		c.rows[name] = &rowStat{in: in}
	}
	// The activations are streamed to observe as the executor produces them, so a
	// batch's memory is the float executor's own plus the tensor being observed, not
	// every activation of the batch at once (docs/quantizer.md, calibration memory).
	sessOpts := []runtime.Option{runtime.WithMode(runtime.ModeFloat), runtime.WithTaps(names...),
		runtime.WithTapFunc(c.observe), runtime.WithTapPieces(c.observePiece), runtime.WithTapChannelsLast(c.observeRows),
		runtime.WithThreads(opts.Threads)}
	for _, in := range planned.Graph.Inputs {
		if planned.Graph.Initializers[in.Name] == nil {
			c.inputs = append(c.inputs, in)
		}
	}
	if runtime.HasSymbolicInputs(planned) {
		// Calibrate feeds the data set's shape groups one after the other: a
		// shape, once left, does not come back, so the last session is enough.
		c.plan = runtime.NewReplanner(planned, sessOpts...).Keep(1)
	} else if c.sess, err = runtime.NewSession(planned, sessOpts...); err != nil {
		return nil, fmt.Errorf("calibration: %w", err)
	}
	for name := range p.consts {
		c.consts[name] = planned.Graph.Initializers[name]
	}
	c.hists = make([]*histogram, len(c.names))
	for i := range c.hists {
		c.hists[i] = newHistogram()
	}
	return c, nil
}

// Model returns the optimized model the calibrator runs (the one whose tensor names
// the ranges use).
func (c *Calibrator) Model() *graph.Model { return c.model }

// Tensors lists the tensors the plan quantizes, in graph order (the ranges also cover
// every other float activation).
func (c *Calibrator) Tensors() []string { return append([]string(nil), c.names[:c.nacts]...) }

// otherActivations lists the float32 tensors computed by g (graph inputs and node
// outputs, not initializers) that are not in acts, in graph order.
func otherActivations(g *graph.Graph, acts []string) []string {
	seen := map[string]bool{}
	for _, a := range acts {
		seen[a] = true
	}
	var out []string
	add := func(name string) {
		if name == "" || seen[name] || g.Initializers[name] != nil {
			return
		}
		seen[name] = true
		if v := g.Values[name]; v != nil && v.DType == graph.Float32 && !v.Seq { // sequences stay float32, uncalibrated
			out = append(out, name)
		}
	}
	for _, in := range g.Inputs {
		add(in.Name)
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			add(o)
		}
	}
	return out
}

// Inputs describes the model inputs a batch must provide.
func (c *Calibrator) Inputs() []*graph.Value { return c.inputs }

// Samples is the number of samples collected so far (the sum of the batch sizes).
func (c *Calibrator) Samples() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.samples
}

// Collect runs the float model on one batch (input name -> tensor) and adds the
// activations to the statistics. It may be called any number of times, with batches
// of any size. If it fails the statistics of the batch may be partly recorded; start
// over with a new Calibrator.
func (c *Calibrator) Collect(batch map[string]*graph.Tensor) error { return c.collect(batch, false) }

// collect is Collect; with owned the batch is handed to the executor
// (runtime.Session.RunTensorsOwned), which empties the map and drops each input
// after its last reader.
func (c *Calibrator) collect(batch map[string]*graph.Tensor, owned bool) error {
	if len(batch) == 0 {
		return errors.New("calibration: empty batch")
	}
	n := -1
	common := true
	for _, in := range c.inputs {
		t, ok := batch[in.Name]
		if !ok || t == nil {
			return fmt.Errorf("calibration: batch has no input %q", in.Name)
		}
		if t.IsSeq() {
			common = false // a sequence has no batch axis: one whole sample
			continue
		}
		if len(t.Shape) > 0 {
			if n >= 0 && t.Shape[0] != n {
				common = false
			}
			n = t.Shape[0]
		}
	}
	if !common {
		// Inputs without a shared batch axis (EmbeddingBag's tokens and bag offsets,
		// a post-processing cut fed whole tensors): the data reader hands them over
		// as one whole sample; the executor checks them against the model.
		n = 1
	}
	if n == 0 {
		return errors.New("calibration: batch of zero samples")
	}
	if n < 0 {
		n = 1
	}
	start := time.Now()
	// mu is held for the whole run: observe, called by the executor on this
	// goroutine, updates the statistics, so Collects are serialized.
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.seen)
	sess := c.sess
	if c.plan != nil {
		var err error
		if sess, err = c.plan.Session(batch); err != nil {
			return fmt.Errorf("calibration: %w", err)
		}
	}
	run := sess.RunTensors
	if owned {
		run = sess.RunTensorsOwned
	}
	if _, err := run(batch); err != nil {
		return fmt.Errorf("calibration: %w", err)
	}
	for i, ok := range c.seen {
		// With the shapes bound, tensors computed from shapes alone fold to
		// constants and may leave the plan; they are never quantized
		// (plan_shape.go), only the activations the plan quantizes must be seen.
		if !ok && (c.plan == nil || i < c.nacts) {
			return fmt.Errorf("calibration: tensor %q was not computed", c.names[i])
		}
	}
	c.samples += n
	c.batches++
	c.elapsed += time.Since(start)
	if c.opts.Progress != nil {
		c.opts.Progress(c.samples, c.opts.ExpectedSamples)
	}
	return nil
}

// observe adds one activation of the batch being collected to its statistics. The
// session calls it (runtime.WithTapFunc) as soon as the tensor is produced, on the
// goroutine running Collect, which holds c.mu; t's buffer is reused once it returns.
func (c *Calibrator) observe(name string, t *graph.Tensor) error {
	i, ok := c.index[name]
	if !ok {
		return fmt.Errorf("calibration: tensor %q was not asked for", name)
	}
	d := t.F32()
	if d == nil {
		return fmt.Errorf("calibration: tensor %q is %s, not float32", name, t.DType)
	}
	// Attention masks hold -Inf (torch's masked_fill with float("-inf")): those
	// tensors are not quantized (plan_mask.go); their range is of the finite values.
	// addPar finds a non-finite value without changing the histogram, so the
	// infinities are dropped only then, not searched for in every tensor first.
	err := c.hists[i].addPar(d, c.opts.Threads)
	if nf, ok := err.(errNonFinite); ok && c.nanOK[name] {
		err = c.hists[i].addPar(dropNonFinite(d), c.opts.Threads)
	} else if ok && math.IsInf(float64(nf.value), 0) {
		err = c.hists[i].addPar(dropInfinities(d), c.opts.Threads)
	}
	if err != nil {
		return fmt.Errorf("calibration: tensor %q (batch %d): %w", name, c.batches+1, err)
	}
	if s := c.rows[name]; s != nil && s.setShape(t.Shape) {
		s.add(d)
	}
	c.seen[i] = true
	c.gc.sample()
	return nil
}

// observePiece is observe for a tensor the executor streams in pieces (the interior
// of an elementwise chain, runtime.WithTapPieces): the pieces come in order, and the
// statistics are those of the whole tensor.
func (c *Calibrator) observePiece(name string, d []float32, offset, total int) error {
	i, ok := c.index[name]
	if !ok {
		return fmt.Errorf("calibration: tensor %q was not asked for", name)
	}
	// Infinities are dropped as in observe: a streamed chain holds them too (T5's
	// relative position buckets take Log of |i - j| / 8, -Inf on the diagonal, in
	// an elementwise chain computed from the sequence length).
	err := c.hists[i].addPiece(d, offset, c.opts.Threads)
	if nf, ok := err.(errNonFinite); ok && c.nanOK[name] {
		err = c.hists[i].addPiece(dropNonFinite(d), offset, c.opts.Threads)
	} else if ok && math.IsInf(float64(nf.value), 0) {
		err = c.hists[i].addPiece(dropInfinities(d), offset, c.opts.Threads)
	}
	if err != nil {
		return fmt.Errorf("calibration: tensor %q (batch %d): %w", name, c.batches+1, err)
	}
	if s := c.rows[name]; s != nil && ((offset > 0 && s.rowLen > 0) || s.setShape(c.staticShape(name))) {
		s.add(d)
	}
	if offset+len(d) == total {
		c.seen[i] = true
	}
	c.gc.sample()
	return nil
}

// observeRows is observe for a tensor the executor holds channels-last
// (runtime.WithTapChannelsLast), whole or in pieces of pixels: the statistics are
// those of the tensor in NCHW order (histogram_rows.go), with observe's rules for
// non-finite values: infinities are dropped, NaNs too where an IsNaN reads the
// tensor, and any other NaN is an error.
func (c *Calibrator) observeRows(name string, d []float32, first int, l runtime.ChannelsLast) error {
	i, ok := c.index[name]
	if !ok {
		return fmt.Errorf("calibration: tensor %q was not asked for", name)
	}
	if s := c.rows[name]; s != nil {
		s.bad = true // rows of a channels-last tensor are not its normalized rows
	}
	if err := c.hists[i].addRows(d, first, l, c.opts.Threads, c.nanOK[name]); err != nil {
		return fmt.Errorf("calibration: tensor %q (batch %d, channels-last): %w", name, c.batches+1, err)
	}
	if first+len(d)/l.Stride == l.Pixels() {
		c.seen[i] = true
	}
	c.gc.sample()
	return nil
}

// staticShape is the shape of a calibrated tensor as inferred (-1 for an unknown
// dimension; nil without a shape).
func (c *Calibrator) staticShape(name string) []int {
	v := c.model.Graph.Values[name]
	if v == nil || !v.HasShape {
		return nil
	}
	out := make([]int, len(v.Shape))
	for i, d := range v.Shape {
		out[i] = -1 // unknown: only the normalized axes need a size
		if d.Known() {
			out[i] = int(d.Size)
		}
	}
	return out
}

// RowSpread returns, for every layer normalization's input calibrated, the spread
// of its rows' scales in dB (plan_normrows.go), for QuantOptions.RowSpread.
func (c *Calibrator) RowSpread() map[string]float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]float64{}
	for name, s := range c.rows {
		if db, ok := s.spreadDB(); ok {
			out[name] = db
		}
	}
	return out
}

// parallelFor runs f(0..n-1) on up to threads goroutines. It returns the error of the
// lowest index that failed, so that messages do not depend on scheduling.
func parallelFor(n, threads int, f func(i int) error) error {
	errs := make([]error, n)
	if threads <= 1 || n <= 1 {
		for i := 0; i < n; i++ {
			if errs[i] = f(i); errs[i] != nil {
				return errs[i]
			}
		}
		return nil
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		next int
	)
	for w := 0; w < min(threads, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				errs[i] = f(i)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// TensorReport describes the range chosen for one tensor.
type TensorReport struct {
	Name string `json:"name"`
	// Min and Max are the chosen range; ObservedMin and ObservedMax what calibration
	// saw.
	Min         float32 `json:"min"`
	Max         float32 `json:"max"`
	ObservedMin float32 `json:"observed_min"`
	ObservedMax float32 `json:"observed_max"`
	// Clipped is the fraction of the values outside [Min, Max].
	Clipped float64 `json:"clipped"`
	// Collapsed is set when a histogram method picked the MIN_MAX range.
	Collapsed bool `json:"collapsed_to_min_max"`
	// LongTail is set when a few outliers set the observed range (all but 0.1% of the
	// values fit in less than half of it on one side): the tensors where a clipping
	// method that collapsed to MIN_MAX matters.
	LongTail bool `json:"long_tail"`
	// SharedWith names the tensor whose range this one takes (the input of MaxPool,
	// Reshape..., the output of a Concat), or "fixed" for spec-fixed parameters.
	SharedWith string  `json:"shared_with"`
	Zeros      float64 `json:"zero_fraction"`
	Values     int64   `json:"values"`
	Bins       int     `json:"bins"`
}

// CalibReport is the verbose result of a range computation.
type CalibReport struct {
	Method     Method         `json:"method"`
	Percentile float64        `json:"percentile,omitempty"`
	Samples    int            `json:"samples"`
	Batches    int            `json:"batches"`
	Tensors    []TensorReport `json:"tensors"`
	// CollectTime is the time spent in Collect, SearchTime in the range search.
	CollectTime time.Duration `json:"collect_ns"`
	SearchTime  time.Duration `json:"search_ns"`
	// HistogramBytes is the memory held by the statistics.
	HistogramBytes int `json:"histogram_bytes"`
}

// ComputeRanges computes the range of every calibrated tensor with the calibrator's
// method. It fails if no data was collected.
func (c *Calibrator) ComputeRanges() (Ranges, error) {
	r, _, err := c.ComputeRangesFor(c.method)
	return r, err
}

// ComputeRangesFor computes ranges with any method from the same statistics (one
// calibration pass serves all ten methods) and returns a per-tensor report. Warnings
// go to CalibOptions.Warn.
func (c *Calibrator) ComputeRangesFor(method Method) (Ranges, *CalibReport, error) {
	return c.computeRanges(method, c.opts.Warn)
}

// computeRanges is ComputeRangesFor with the warnings sent to warn (nil: dropped).
func (c *Calibrator) computeRanges(method Method, warn func(string)) (Ranges, *CalibReport, error) {
	if !method.Valid() {
		return nil, nil, fmt.Errorf("calibration: invalid method %d", int(method))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.samples == 0 {
		return nil, nil, ErrNoData
	}
	start := time.Now()
	rep := &CalibReport{Method: method, Samples: c.samples, Batches: c.batches, CollectTime: c.elapsed,
		Tensors: make([]TensorReport, len(c.names))}
	if method.Kind() == KindPercentile {
		rep.Percentile = c.opts.Percentile
	}
	_ = parallelFor(len(c.names), c.opts.Threads, func(i int) error {
		h := c.hists[i]
		m := method
		if s := c.src[c.names[i]]; s.kind == srcFixed && s.observed {
			m = MinMaxAsym // observedRange: the observed [min, max] whatever the method
			if method.Symmetric() {
				m = MinMaxSym
			}
		}
		res := searchRange(h, m, c.opts.Percentile)
		tr := TensorReport{
			Name: c.names[i], Min: float32(res.lo), Max: float32(res.hi),
			ObservedMin: float32(math.Min(h.min, 0)), ObservedMax: float32(math.Max(h.max, 0)),
			Clipped: res.clipped, Collapsed: res.collapsed, LongTail: longTail(h), Values: h.count, Bins: len(h.bins),
		}
		if h.count > 0 {
			tr.ObservedMin, tr.ObservedMax = float32(h.min), float32(h.max)
			tr.Zeros = float64(h.zeros) / float64(h.count)
		}
		rep.Tensors[i] = tr
		return nil
	})
	c.applySharing(rep)
	r := make(Ranges, len(c.names))
	for _, t := range rep.Tensors {
		r[t.Name] = [2]float32{t.Min, t.Max}
	}
	// The report lists the quantized activations; the others only get ranges.
	rep.Tensors = rep.Tensors[:c.nacts]
	for _, h := range c.hists {
		rep.HistogramBytes += h.memBytes()
	}
	rep.SearchTime = time.Since(start)
	if warn != nil {
		for _, w := range rangeWarnings(rep, c.opts.ClipWarn) {
			warn(w)
		}
	}
	return r, rep, nil
}

// applySharing gives tensors whose parameters Quantize takes from elsewhere the range
// that is actually used, so that the ranges (and a ranges file) describe the model.
func (c *Calibrator) applySharing(rep *CalibReport) {
	idx := make(map[string]int, len(c.names))
	for i, n := range c.names {
		idx[n] = i
	}
	var resolve func(name string, depth int) ([2]float64, bool)
	resolve = func(name string, depth int) ([2]float64, bool) {
		if depth > len(c.names) {
			return [2]float64{}, false
		}
		if t, ok := c.consts[name]; ok {
			p := constParams(t)
			return paramsRange(p), true
		}
		i, ok := idx[name]
		if !ok {
			return [2]float64{}, false
		}
		s := c.src[name]
		switch s.kind {
		case srcInput:
			return resolve(s.other, depth+1)
		case srcFixed:
			if !s.narrowed(float64(rep.Tensors[i].Min), float64(rep.Tensors[i].Max)) {
				return paramsRange(s.fixed), true
			}
		}
		return [2]float64{float64(rep.Tensors[i].Min), float64(rep.Tensors[i].Max)}, true
	}
	for i, name := range c.names {
		s := c.src[name]
		if s.kind != srcInput && s.kind != srcFixed {
			continue
		}
		if s.narrowed(float64(rep.Tensors[i].Min), float64(rep.Tensors[i].Max)) {
			continue // keeps its calibrated range
		}
		r, ok := resolve(name, 0)
		if !ok {
			continue
		}
		tr := &rep.Tensors[i]
		tr.Min, tr.Max = float32(r[0]), float32(r[1])
		tr.Clipped = c.hists[i].clippedFraction(r[0], r[1])
		tr.Collapsed = false
		tr.SharedWith = "fixed"
		if s.kind == srcInput {
			tr.SharedWith = s.other
		}
	}
}

// paramsRange is the real range an int8 encoding represents.
func paramsRange(p qparams) [2]float64 {
	s := float64(p.scale)
	return [2]float64{(-128 - float64(p.zp)) * s, (127 - float64(p.zp)) * s}
}

// rangeWarnings lists what a user should know about the chosen ranges.
func rangeWarnings(rep *CalibReport, clipWarn float64) []string {
	var out []string
	var collapsed []string
	for _, t := range rep.Tensors {
		switch {
		case t.Values > 0 && t.Zeros == 1:
			out = append(out, fmt.Sprintf("tensor %q is zero on every calibration sample; its range is [0, 0]", t.Name))
		case t.Clipped > clipWarn:
			out = append(out, fmt.Sprintf("tensor %q: %s clips %.2f%% of the values (range [%g, %g], observed [%g, %g])",
				t.Name, rep.Method, 100*t.Clipped, t.Min, t.Max, t.ObservedMin, t.ObservedMax))
		}
		// Only where outliers set the range does it matter that nothing was clipped;
		// the other collapsed tensors are in the report (Collapsed) for verbose output.
		if t.Collapsed && t.LongTail && rep.Method.Kind() != KindMinMax {
			collapsed = append(collapsed, t.Name)
		}
	}
	if len(collapsed) > 0 {
		sort.Strings(collapsed)
		list := collapsed
		if len(list) > 6 {
			list = append(list[:6:6], fmt.Sprintf("... (%d more)", len(collapsed)-6))
		}
		advice := "more calibration samples may let it clip them"
		if rep.Method.Kind() == KindPercentile {
			advice = fmt.Sprintf("it needs more than %.0f values per tensor to clip any at %g %%: calibrate on more samples or lower the percentile",
				200/(100-rep.Percentile), rep.Percentile)
		}
		out = append(out, fmt.Sprintf("%s picked the MIN_MAX range on %d of %d tensors although a few outliers set their range (%s): %v",
			rep.Method, len(collapsed), len(rep.Tensors), advice, list))
	}
	return out
}

// CollapsedNote lists the tensors whose range a histogram method left at MIN_MAX
// without outliers to clip (input pixels, logits ...): expected, so it is not a
// warning, but verbose output says it. It is "" when there are none.
func (rep *CalibReport) CollapsedNote() string {
	if rep.Method.Kind() == KindMinMax {
		return ""
	}
	var names []string
	for _, t := range rep.Tensors {
		if t.Collapsed && !t.LongTail {
			names = append(names, t.Name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	sort.Strings(names)
	return fmt.Sprintf("%s kept the MIN_MAX range (no outliers to clip) on %d of %d tensors: %s",
		rep.Method, len(names), len(rep.Tensors), strings.Join(names, ", "))
}
