package quantizer

import (
	"errors"
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// MethodScore is one calibration method's score in an automatic choice.
type MethodScore struct {
	Method Method `json:"method"`
	Score  Score  `json:"score"`
	// Error is set when the method could not be scored.
	Error string `json:"error"`
}

// AutoResult is the outcome of AutoMethod.
type AutoResult struct {
	// Best is the chosen method; Scores lists every method in enum order.
	Best   Method        `json:"best"`
	Scores []MethodScore `json:"scores"`
	Float  Score         `json:"float"`
	// Ranges, Report and Model are the chosen method's.
	Ranges Ranges       `json:"-"`
	Report *CalibReport `json:"-"`
	Model  *graph.Model `json:"-"`
}

// AutoMethod chooses the calibration method for m: from the statistics c collected
// once, it quantizes m with each of the ten methods, scores each quantized model
// with ev (data held back from calibration), and keeps the best (Score.Better; ties
// go to the earlier method in enum order). Only the chosen method's range warnings
// go to the calibrator's Warn. progress, when not nil, is called after each method.
func AutoMethod(m *graph.Model, c *Calibrator, ev *Evaluator, qopts QuantOptions, progress func(done, total int)) (*AutoResult, error) {
	if c == nil || ev == nil {
		return nil, errors.New("auto: nil calibrator or evaluator")
	}
	res := &AutoResult{Best: -1, Float: ev.Float()}
	var bestScore Score
	for i, meth := range Methods() {
		ms := MethodScore{Method: meth}
		sc, q, err := scoreMethod(m, c, ev, meth, qopts)
		if err != nil {
			ms.Error = err.Error()
		} else {
			ms.Score = sc
			if res.Best < 0 || sc.Better(bestScore) {
				res.Best, bestScore, res.Model = meth, sc, q
			}
		}
		res.Scores = append(res.Scores, ms)
		if progress != nil {
			progress(i+1, len(Methods()))
		}
	}
	if res.Best < 0 {
		return nil, fmt.Errorf("auto: no method could be scored: %s", res.Scores[0].Error)
	}
	r, rep, err := c.ComputeRangesFor(res.Best) // once more, for the warnings and the report
	if err != nil {
		return nil, err
	}
	res.Ranges, res.Report = r, rep
	return res, nil
}

func scoreMethod(m *graph.Model, c *Calibrator, ev *Evaluator, meth Method, qopts QuantOptions) (Score, *graph.Model, error) {
	r, rep, err := c.computeRanges(meth, nil)
	if err != nil {
		return Score{}, nil, err
	}
	qopts.CalibMethod, qopts.CalibSamples, qopts.Notes = meth.String(), rep.Samples, nil
	if meth.Kind() == KindPercentile {
		qopts.Percentile = c.opts.Percentile
	} else {
		qopts.Percentile = 0
	}
	q, err := Quantize(m, r, qopts)
	if err != nil {
		return Score{}, nil, err
	}
	sc, err := ev.Score(q)
	return sc, q, err
}
