package bench

import (
	"errors"
	"fmt"
	"time"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// EvalOptions configure Evaluate.
type EvalOptions struct {
	// N limits the number of images (0 = all).
	N int
	// Batch is the batch size (default 100).
	Batch int
	// Progress, when set, is called after each batch.
	Progress func(done, total int)
}

// EvalResult is the outcome of an accuracy evaluation.
type EvalResult struct {
	Images          int     `json:"images"`
	Correct         int     `json:"correct"`
	Accuracy        float64 `json:"accuracy"`
	Seconds         float64 `json:"seconds"`
	ImagesPerSecond float64 `json:"images_per_second"`
	Mode            string  `json:"mode"`
	// Predictions holds the top-1 class of every image (not serialised).
	Predictions []int `json:"-"`
}

// Evaluate runs the session over an in-memory data set and scores top-1 accuracy (see
// EvaluateSet).
func Evaluate(s *runtime.Session, ds *dataset.Dataset, opts EvalOptions) (*EvalResult, error) {
	if ds.Labels == nil {
		return nil, errors.New("evaluate: the data set has no labels")
	}
	set, err := dataset.FromDataset(ds, s.Inputs())
	if err != nil {
		return nil, err
	}
	return EvaluateSet(s, set, opts)
}

// EvaluateSet runs the session over a labelled data set and scores top-1 accuracy on
// the model's first output, which must hold class scores ([N, classes], or
// [N, classes, 1, 1]). Samples of different shapes run one shape group at a time.
func EvaluateSet(s *runtime.Session, set *dataset.Set, opts EvalOptions) (*EvalResult, error) {
	if set.Labels == nil {
		return nil, fmt.Errorf("evaluate: %s has no labels (labels.txt); top-1 accuracy needs them (warboy compare measures unlabelled data)", set.Name)
	}
	outName := s.Outputs()[0].Name
	n := set.Len()
	if opts.N > 0 && opts.N < n {
		n = opts.N
	}
	if n == 0 {
		return nil, errors.New("evaluate: no images")
	}
	batch := opts.Batch
	if batch <= 0 {
		batch = 100
	}
	for _, in := range s.Inputs() {
		if in.HasShape && len(in.Shape) > 0 && in.Shape[0].Known() {
			batch = in.Shape[0].Size // fixed batch dimension
			if n%batch != 0 {
				n -= n % batch
				if n == 0 {
					return nil, fmt.Errorf("evaluate: model has fixed batch %d, more than the %d samples", batch, set.Len())
				}
			}
		}
	}
	res := &EvalResult{Images: n, Mode: s.Mode().String(), Predictions: make([]int, 0, n)}
	start := time.Now()
	for i, b := 0, 0; i < n; i += b {
		b = min(batch, n-i, set.GroupEnd(i)-i)
		x, err := set.Batch(i, b)
		if err != nil {
			return nil, fmt.Errorf("samples %d-%d: %w", i, i+b-1, err)
		}
		out, err := s.RunTensors(x)
		if err != nil {
			return nil, fmt.Errorf("samples %d-%d: %w", i, i+b-1, err)
		}
		logits := out[outName]
		if logits == nil {
			return nil, fmt.Errorf("output %q missing", outName)
		}
		shape := logits.Shape
		ok := len(shape) >= 2
		for _, d := range shape[min(2, len(shape)):] {
			ok = ok && d == 1
		}
		if !ok {
			return nil, fmt.Errorf("output %q has shape %v, want class scores [N, classes]; for other outputs use warboy compare", outName, shape)
		}
		if err := set.CheckClasses(shape[1]); err != nil {
			return nil, err
		}
		pred, err := dataset.Top1(&graph.Tensor{DType: logits.DType, Shape: shape[:2], Data: logits.Data})
		if err != nil {
			return nil, err
		}
		for j, p := range pred {
			// A label the output has no class for can never be right: the labels
			// belong to another model (or are off by one), and the accuracy would be
			// silently low.
			if l := set.Labels[i+j]; l >= shape[1] {
				return nil, fmt.Errorf("evaluate: sample %d of %s has label %d, but output %q has %d classes (0 to %d): the labels do not fit this model", i+j, set.Name, l, outName, shape[1], shape[1]-1)
			}
			res.Predictions = append(res.Predictions, p)
			if p == set.Labels[i+j] {
				res.Correct++
			}
		}
		if opts.Progress != nil {
			opts.Progress(i+b, n)
		}
	}
	res.Seconds = time.Since(start).Seconds()
	res.Accuracy = float64(res.Correct) / float64(n)
	if res.Seconds > 0 {
		res.ImagesPerSecond = float64(n) / res.Seconds
	}
	return res, nil
}
