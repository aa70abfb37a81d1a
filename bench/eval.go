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

// Evaluate runs the session over the data set and scores top-1 accuracy. The model
// must have one image input and a [N, classes] first output. Inputs converted to
// uint8/int8 by the model editor are fed raw pixels.
func Evaluate(s *runtime.Session, ds *dataset.Dataset, opts EvalOptions) (*EvalResult, error) {
	if ds.Labels == nil {
		return nil, errors.New("evaluate: the data set has no labels")
	}
	if len(s.Inputs()) != 1 {
		return nil, fmt.Errorf("evaluate: model has %d inputs, want 1 image input", len(s.Inputs()))
	}
	in := s.Inputs()[0]
	if _, err := dataset.NewFeed(ds, s.Inputs(), 0); err != nil {
		return nil, err
	}
	outName := s.Outputs()[0].Name
	n := ds.N
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
	if in.HasShape && len(in.Shape) > 0 && in.Shape[0].Known() {
		batch = in.Shape[0].Size // fixed batch dimension
		if n%batch != 0 {
			n -= n % batch
			if n == 0 {
				return nil, fmt.Errorf("evaluate: model has fixed batch %d, more than the %d images", batch, ds.N)
			}
		}
	}
	res := &EvalResult{Images: n, Mode: s.Mode().String(), Predictions: make([]int, 0, n)}
	start := time.Now()
	for i := 0; i < n; i += batch {
		b := batch
		if i+b > n {
			b = n - i
		}
		x := dataset.InputBatch(in, ds, i, b)
		out, err := s.RunTensors(map[string]*graph.Tensor{in.Name: x})
		if err != nil {
			return nil, fmt.Errorf("images %d-%d: %w", i, i+b-1, err)
		}
		logits := out[outName]
		if logits == nil {
			return nil, fmt.Errorf("output %q missing", outName)
		}
		if len(logits.Shape) != 2 {
			return nil, fmt.Errorf("output %q has shape %v, want [N, classes]", outName, logits.Shape)
		}
		pred, err := dataset.Top1(logits)
		if err != nil {
			return nil, err
		}
		for j, p := range pred {
			res.Predictions = append(res.Predictions, p)
			if p == ds.Labels[i+j] {
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
