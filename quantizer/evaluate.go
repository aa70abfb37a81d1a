package quantizer

import (
	"errors"
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// EvalOptions configure an Evaluator.
type EvalOptions struct {
	// N is the number of samples scored (all of the data when <= 0).
	N int
	// BatchSize is the number of samples per run (default 100).
	BatchSize int
	Threads   int
	// Labels, one per sample, make scores report top-1 accuracy too.
	Labels []int
	// Progress, when not nil, is called after every batch of the float model's run
	// (SetProgress changes it for the runs of Score).
	Progress func(done, total int)
}

// Score says how close a quantized model's outputs are to the float model's on the
// evaluator's data. It is task-agnostic: the SQNR of the graph outputs against float,
// plus, when the first output looks like class scores ([N, classes]), the top-1
// agreement with float (and the accuracy when labels were given).
type Score struct {
	// SQNR is 10*log10(sum f^2 / sum (f-q)^2) over all graph outputs, in dB.
	SQNR DB `json:"output_sqnr_db"`
	// Classes is set when the first output is [N, classes]: Agreement (and Accuracy)
	// are then defined.
	Classes   bool    `json:"class_scores"`
	Agreement float64 `json:"top1_agreement"`
	Accuracy  float64 `json:"accuracy"`
	Labelled  bool    `json:"labelled"`
	Samples   int     `json:"samples"`
	// Unmatched counts the batches' outputs left out of the SQNR because they
	// have another length than float32's (an output whose length is set by the
	// values: the points a threshold keeps, the boxes NMS keeps); String says so.
	Unmatched int `json:"-"`
}

// Better reports whether s ranks above o: the top-1 agreement first for class
// scores (what a classifier's user sees; equal counts tie), then the output SQNR.
func (s Score) Better(o Score) bool {
	if s.Classes && o.Classes {
		a, b := math.Round(s.Agreement*float64(s.Samples)), math.Round(o.Agreement*float64(o.Samples))
		if a != b {
			return a > b
		}
	}
	return s.SQNR > o.SQNR
}

func (s Score) String() string {
	out := fmt.Sprintf("output SQNR %.2f dB", float64(s.SQNR))
	if s.Classes {
		out += fmt.Sprintf(", top-1 agreement %.2f %%", 100*s.Agreement)
	}
	if s.Labelled {
		out += fmt.Sprintf(", accuracy %.2f %%", 100*s.Accuracy)
	}
	if s.Unmatched > 0 {
		out += fmt.Sprintf(" (%d batch outputs of another length than float32's not compared)", s.Unmatched)
	}
	return out
}

// Evaluator scores quantized versions of one float model on fixed data. The float
// model runs once; its outputs are kept (for a classifier, 10 floats a sample).
type Evaluator struct {
	data    Batches
	opts    EvalOptions
	n       int
	outputs []string
	ref     map[string][]float32
	// refLen: each output's length in each batch (an output whose length is
	// set by the values differs from batch to batch)
	refLen  map[string][]int
	refTop1 []int
	classes bool
	float   Score
}

// NewEvaluator runs floatModel on the first opts.N samples of data and keeps its
// outputs.
func NewEvaluator(floatModel *graph.Model, data Batches, opts EvalOptions) (*Evaluator, error) {
	if floatModel == nil || floatModel.Graph == nil {
		return nil, errors.New("evaluate: nil model")
	}
	if data == nil || data.Len() == 0 {
		return nil, errors.New("evaluate: no validation data")
	}
	n := opts.N
	if n <= 0 || n > data.Len() {
		n = data.Len()
	}
	// A model with a static batch runs only batches of that size (n is cut to a
	// multiple of it).
	bs, n, _, err := runBatches(floatModel, data, opts.BatchSize, 100, n)
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	opts.BatchSize = bs
	if opts.Labels != nil && len(opts.Labels) < n {
		return nil, fmt.Errorf("evaluate: %d labels for %d samples", len(opts.Labels), n)
	}
	e := &Evaluator{data: data, opts: opts, n: n, ref: map[string][]float32{}, refLen: map[string][]int{}}
	for _, o := range floatModel.Graph.Outputs {
		// Outputs that are not float (ArgMax labels, counts, masks) are not scored:
		// the SQNR is over the float outputs, as quantization changes only them.
		// float16 and float64 outputs (a model that keeps its outputs' type
		// through a Cast) are scored on their values as float32 (floatValues)
		if o.DType != graph.Undefined && !o.DType.IsFloat() {
			continue
		}
		e.outputs = append(e.outputs, o.Name)
	}
	if len(e.outputs) == 0 {
		return nil, errors.New("evaluate: the model has no float32 output to score")
	}
	s, err := runtime.NewSession(floatModel, runtime.WithMode(runtime.ModeFloat), runtime.WithThreads(opts.Threads))
	if err != nil {
		return nil, fmt.Errorf("evaluate: float model: %w", err)
	}
	e.classes = true
	err = e.run(s, nil, func(outs map[string][]float32, top []int, ok bool) {
		for k, v := range outs {
			e.ref[k] = append(e.ref[k], v...)
			e.refLen[k] = append(e.refLen[k], len(v))
		}
		e.refTop1 = append(e.refTop1, top...)
		e.classes = e.classes && ok
	})
	if err != nil {
		return nil, fmt.Errorf("evaluate: float model: %w", err)
	}
	e.float = Score{SQNR: DB(math.Inf(1)), Classes: e.classes, Samples: n}
	if e.classes {
		e.float.Agreement = 1
		if opts.Labels != nil {
			e.float.Labelled = true
			e.float.Accuracy = accuracy(e.refTop1, opts.Labels)
		}
	}
	return e, nil
}

// SetProgress sets the function called after every batch of the next runs of
// Score (nil: none): a caller that shows one progress bar per model scored.
func (e *Evaluator) SetProgress(f func(done, total int)) { e.opts.Progress = f }

// Samples is the number of samples scored.
func (e *Evaluator) Samples() int { return e.n }

// Float is the float model's own score (its accuracy when labelled).
func (e *Evaluator) Float() Score { return e.float }

// Score runs a quantized model (on the int8 executor when it can) and compares its
// outputs with the float model's.
func (e *Evaluator) Score(q *graph.Model) (Score, error) {
	s, err := runtime.NewSession(q, runtime.WithMode(runtime.ModeAuto), runtime.WithThreads(e.opts.Threads))
	if err != nil {
		return Score{}, fmt.Errorf("evaluate: quantized model: %w", err)
	}
	var ff, dd float64
	var top []int
	off := map[string]int{}
	batch, unmatched := 0, 0
	err = e.run(s, q, func(outs map[string][]float32, t []int, _ bool) {
		for k, v := range outs {
			want := e.refLen[k][batch]
			ref := e.ref[k][off[k] : off[k]+want]
			off[k] += want
			if len(v) != want {
				unmatched++
				continue
			}
			for i, x := range v {
				f := float64(ref[i])
				d := f - float64(x)
				ff += f * f
				dd += d * d
			}
		}
		top = append(top, t...)
		batch++
	})
	if err != nil {
		return Score{}, fmt.Errorf("evaluate: quantized model: %w", err)
	}
	sc := Score{Classes: e.classes, Samples: e.n, Unmatched: unmatched}
	switch {
	case dd == 0:
		sc.SQNR = DB(math.Inf(1))
	case ff == 0:
		sc.SQNR = DB(math.Inf(-1))
	default:
		sc.SQNR = DB(10 * math.Log10(ff/dd))
	}
	if e.classes {
		sc.Agreement = accuracy(top, e.refTop1)
		if e.opts.Labels != nil {
			sc.Labelled = true
			sc.Accuracy = accuracy(top, e.opts.Labels)
		}
	}
	return sc, nil
}

// run feeds the evaluation samples to s and hands every batch's outputs (as float,
// raw outputs decoded with qm's recorded encoding) to f with the top-1 of the first
// output (ok false when it is not [N, classes]).
func (e *Evaluator) run(s *runtime.Session, qm *graph.Model, f func(map[string][]float32, []int, bool)) error {
	for start, bn := 0, 0; start < e.n; start += bn {
		bn = batchLen(e.data, start, e.opts.BatchSize, e.n)
		in, err := e.data.Batch(start, bn)
		if err != nil {
			return fmt.Errorf("batch at %d: %w", start, err)
		}
		if qm != nil {
			if in, err = encodeInputs(qm, in); err != nil {
				return err
			}
		}
		out, err := s.RunTensors(in)
		if err != nil {
			return err
		}
		vals := map[string][]float32{}
		for _, name := range e.outputs {
			t := out[name]
			if t == nil {
				return fmt.Errorf("output %q was not computed", name)
			}
			v := floatValues(t)
			if qm != nil {
				if v, err = decodeTensor(qm, name, t); err != nil {
					return err
				}
			}
			if v == nil {
				return fmt.Errorf("output %q is %s, not float32", name, t.DType)
			}
			vals[name] = v
		}
		first := out[e.outputs[0]]
		top, err := top1(first, vals[e.outputs[0]])
		ok := err == nil && len(top) == bn
		if !ok {
			top = make([]int, bn)
		}
		f(vals, top, ok)
		if e.opts.Progress != nil {
			e.opts.Progress(start+bn, e.n)
		}
	}
	return nil
}

func accuracy(pred, ref []int) float64 {
	if len(pred) == 0 {
		return 0
	}
	ok := 0
	for i, p := range pred {
		if p == ref[i] {
			ok++
		}
	}
	return float64(ok) / float64(len(pred))
}

// top1 is the arg-max of each row of an output that looks like class scores
// (classCount: [N, C] or [N, C, 1, 1]); vals are its values (t's own when nil).
func top1(t *graph.Tensor, vals []float32) ([]int, error) {
	if t == nil {
		return nil, errors.New("no output")
	}
	c := classCount(t.Shape)
	if c == 0 {
		return nil, fmt.Errorf("output shape %s is not class scores", graph.FormatDims(t.Shape))
	}
	if vals == nil {
		vals = t.F32()
	}
	if vals == nil {
		return nil, errors.New("not float")
	}
	n := t.Shape[0]
	out := make([]int, n)
	for i := range out {
		out[i] = argmax(vals[i*c : (i+1)*c])
	}
	return out, nil
}
