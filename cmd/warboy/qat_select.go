package main

import (
	"fmt"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/qat"
	"github.com/warboy-sim/warboy/quantizer"
)

// Checkpoint selection of `warboy qat`: the int8 model exported at each checkpoint
// (the post-training starting point at 0 included) is scored on images of the
// training set held back from training, and the best is written. QAT therefore never
// returns a model that scores below its starting point on that validation split.

// qatCheckpoint is one scored checkpoint (--json "checkpoints").
type qatCheckpoint struct {
	Epochs   float64 `json:"epochs"`
	Accuracy float64 `json:"val_accuracy"`
	Chosen   bool    `json:"chosen"`
}

// checkpointPicker keeps the best exported model on the validation split.
type checkpointPicker struct {
	net    *qat.Net
	ev     *quantizer.Evaluator
	qopts  quantizer.QuantOptions
	scored []qatCheckpoint
	best   *graph.Model
	bestI  int
}

// checkpoint exports the net, scores it, and keeps it when its validation accuracy is
// at least the best so far (a later checkpoint wins a tie: it has trained longer).
func (p *checkpointPicker) checkpoint(epochs float64) error {
	q, err := p.net.Export(p.qopts)
	if err != nil {
		return err
	}
	sc, err := p.ev.Score(q)
	if err != nil {
		return err
	}
	p.scored = append(p.scored, qatCheckpoint{Epochs: epochs, Accuracy: sc.Accuracy})
	if p.best == nil || sc.Accuracy >= p.scored[p.bestI].Accuracy {
		p.best, p.bestI = q, len(p.scored)-1
	}
	return nil
}

// result marks and returns the chosen checkpoint.
func (p *checkpointPicker) result() (*graph.Model, []qatCheckpoint, float64) {
	p.scored[p.bestI].Chosen = true
	return p.best, p.scored, p.scored[p.bestI].Epochs
}

// qatValidation returns the float model's evaluator on the last valN of the first
// trainN images of the training set (held back from training).
func qatValidation(m *graph.Model, ds *dataset.Dataset, trainN, valN, threads int) (*quantizer.Evaluator, error) {
	set, err := dataset.FromDataset(ds, modelInputs(m.Graph))
	if err != nil {
		return nil, fmt.Errorf("validation data: %w", err)
	}
	set = set.Slice(trainN-valN, valN)
	return quantizer.NewEvaluator(m, set, quantizer.EvalOptions{Threads: threads, Labels: set.Labels})
}

// valImages is the number of training images held back for validation: --val-n,
// at most a tenth of the training images.
func valImages(valN, trainN int) int {
	return max(0, min(valN, trainN/10))
}
