package main

import (
	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/qat"
	"github.com/warboy-sim/warboy/quantizer"
)

// Checkpoint selection of `warboy qat`: the int8 model exported at each checkpoint
// is scored on images of the training set held back from training, and the best is
// written; the post-training starting point (epoch 0) is scored too and written
// instead when the best checkpoint falls more than a margin below it. The margin is
// there because the float model has usually been trained on those images (they are
// training images): its score on them is inflated by memorization, which fine-tuning
// without them gradually forgets, so a trained checkpoint that is better on unseen
// data typically scores a few tenths below the start there. A larger drop means the
// training went wrong (a divergence, a learning rate far too high).
//
// With no images held back (--val-n 0, the default) the last weights are written, as
// PyTorch's recipe does, and the check against the start is made on training images
// (the ones --method auto scored). The float model has seen them for many epochs
// and a short fine-tune does not keep all it memorised, so a few tenths of a drop
// there are normal; a drop beyond the margin means the training failed (a loss that
// diverged without reaching a NaN). The choice never looks at the test data.

// qatCheckpoint is one scored checkpoint (--json "checkpoints"): its accuracy
// (null on unlabelled images), its top-1 agreement with the float model (null
// unless the first output is class scores) and its output SQNR against float.
type qatCheckpoint struct {
	Epochs    float64      `json:"epochs"`
	Accuracy  *float64     `json:"val_accuracy"`
	Agreement *float64     `json:"val_top1_agreement"`
	SQNR      quantizer.DB `json:"val_output_sqnr_db"`
	Chosen    bool         `json:"chosen"`
	score     quantizer.Score
}

// checkpointPicker keeps the best exported model on the validation split.
type checkpointPicker struct {
	net    *qat.Net
	ev     *quantizer.Evaluator
	qopts  quantizer.QuantOptions
	margin float64 // accuracy, as a fraction
	rank   ranker
	// last: the candidate is the last trained checkpoint, not the best (the scoring
	// images are training images); only the start and the end are scored.
	last   bool
	epochs float64 // length of the training, for last
	scored []qatCheckpoint
	start  *graph.Model
	best   *graph.Model
	bestI  int
}

// checkpoint exports the net, scores it, and keeps it when its validation accuracy is
// at least the best trained checkpoint's so far (a later checkpoint wins a tie: it has
// trained longer). The first call (epoch 0) is the post-training start.
func (p *checkpointPicker) checkpoint(epochs float64) error {
	if p.last && epochs != 0 && epochs < p.epochs {
		return nil
	}
	q, err := p.net.Export(p.qopts)
	if err != nil {
		return err
	}
	sc, err := p.ev.Score(q)
	if err != nil {
		return err
	}
	p.add(epochs, sc, q)
	return nil
}

func (p *checkpointPicker) add(epochs float64, sc quantizer.Score, q *graph.Model) {
	c := qatCheckpoint{Epochs: epochs, score: sc}
	c.Accuracy, c.Agreement, c.SQNR = scoreFields(sc)
	p.scored = append(p.scored, c)
	switch i := len(p.scored) - 1; {
	case i == 0:
		p.start = q
	case p.best == nil || p.last || !p.rank.better(p.scored[p.bestI].score, sc):
		p.best, p.bestI = q, i
	}
}

// result marks and returns the chosen checkpoint: the best trained one, or the start
// when the best trained one scores more than the margin below it.
func (p *checkpointPicker) result() (*graph.Model, []qatCheckpoint, float64) {
	if p.best == nil || p.rank.belowStart(p.scored[p.bestI].score, p.scored[0].score, p.margin) {
		p.best, p.bestI = p.start, 0
	}
	p.scored[p.bestI].Chosen = true
	return p.best, p.scored, p.scored[p.bestI].Epochs
}

// qatValidation returns the float model's evaluator on n images of the data set
// from the index from (with their labels, when the set has some); progress, when
// not nil, follows the float model's run.
func qatValidation(m *graph.Model, ds *dataset.Set, from, n, threads int, progress func(done, total int)) (*quantizer.Evaluator, error) {
	set := ds.Slice(from, n)
	labels, err := scoredLabels(set, m)
	if err != nil {
		return nil, err
	}
	return quantizer.NewEvaluator(m, set, quantizer.EvalOptions{Threads: threads, Labels: labels, Progress: progress})
}

// checkImages is the number of training images --method auto and the check against
// the start score when none are held back (quantize --method auto's --val-n).
const checkImages = 1000

// checkSlice returns the training images scored when none are held back: the
// checkImages after the calibration images (as quantize --method auto validates on
// the samples after its calibration set), or when the calibration took every image,
// the first ones.
func checkSlice(poolN, calibN int) (from, n int) {
	if poolN > calibN {
		return calibN, min(checkImages, poolN-calibN)
	}
	return 0, min(checkImages, poolN)
}

// valImages is the number of training images held back for validation: --val-n,
// at most a tenth of the training images.
func valImages(valN, trainN int) int {
	return max(0, min(valN, trainN/10))
}
