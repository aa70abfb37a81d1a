package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/progress"
	"github.com/warboy-sim/warboy/qat"
	"github.com/warboy-sim/warboy/quantizer"
)

// The learning rate of `warboy qat`. The rate that fine-tunes best differs between
// networks: on the bundled architectures retrained on 50,000 training images and
// scored on the 10,000 they never saw (docs/quantizer.md, "QAT, a learning rate
// chosen per model"), the MLP and the CNN did best at 0.01 and the ResNet at 0.003,
// by 0.1-0.26 point either way. The int8 models' accuracy on 10,000 training images
// picked the better rate in each of the nine model-seed pairs there, where the
// training loss (always lower at the lower rate: less of what the float model
// memorised is forgotten) and the 1,000 check images did not; on the bundled models
// (new seeds, test set) the same rule kept 0.01 for the MLP and the CNN and chose
// 0.003 for the ResNet, +0.09 point. So by default SGD trains once per rate of
// defaultSGDRates from the same post-training start and writes the run that scores
// best on those images.

// defaultSGDRates are the SGD learning rates tried when --lr is not given, in order
// of preference on a tie.
var defaultSGDRates = []float64{0.01, 0.003}

// selectImages is the number of training images the learning rates are compared on
// when none are held back.
const selectImages = 10000

// resolveLRs returns the rates to train with: those given (0 standing for the
// optimizer's default rate), or by default defaultSGDRates for SGD and the
// optimizer's default rate otherwise.
func resolveLRs(given []float64, base qat.Options) ([]float64, error) {
	def := base
	def.LR = 0
	def, err := def.WithDefaults()
	if err != nil {
		return nil, err
	}
	if len(given) == 0 {
		if def.Optimizer == "sgd" {
			return append([]float64(nil), defaultSGDRates...), nil
		}
		return []float64{def.LR}, nil
	}
	out := make([]float64, len(given))
	seen := map[float64]bool{}
	for i, v := range given {
		if v == 0 {
			v = def.LR
		}
		if seen[v] {
			return nil, fmt.Errorf("--lr: %g given twice (0 stands for the optimizer's default, %g)", v, def.LR)
		}
		seen[v] = true
		out[i] = v
	}
	return out, nil
}

// parseLRs reads --lr: empty for the defaults, else one or more comma-separated
// rates; 0 stands for the optimizer's default rate.
func parseLRs(s string) ([]float64, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, fmt.Errorf("--lr: %q is not a learning rate (a number >= 0, or a comma-separated list of them)", strings.TrimSpace(f))
		}
		out = append(out, v)
	}
	return out, nil
}

func formatLRs(lrs []float64) string {
	s := make([]string, len(lrs))
	for i, v := range lrs {
		s[i] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strings.Join(s, ", ")
}

// lrCandidate is one learning rate tried (--json "lr_candidates"), scored as a
// checkpoint is (qatCheckpoint).
type lrCandidate struct {
	LR        float64          `json:"lr"`
	Accuracy  *float64         `json:"select_accuracy"`
	Agreement *float64         `json:"select_top1_agreement"`
	SQNR      quantizer.DB     `json:"select_output_sqnr_db"`
	Diverged  bool             `json:"diverged"`
	Chosen    bool             `json:"chosen"`
	EpochLog  []qat.EpochStats `json:"epoch_log,omitempty"`
	score     quantizer.Score
}

// lrRun is the outcome of one training: the model its checkpoint choice wrote.
type lrRun struct {
	lr          float64
	model       *graph.Model
	stats       []qat.EpochStats
	checkpoints []qatCheckpoint
	at          float64
	// bound: why the model was written at the training input size rather than
	// with the symbolic dimensions the float model declares (qat.Net.BoundExport).
	bound error
}

// qatTrainer runs one fine-tune from the post-training start.
type qatTrainer struct {
	model    *graph.Model
	cfg      qat.Config
	ranges   quantizer.Ranges
	qopts    quantizer.QuantOptions
	data     qat.Data
	ev       *quantizer.Evaluator
	margin   float64
	rank     ranker
	classes  bool // the first output is class scores
	last     bool
	checkSet string
	multi    bool // several rates: name the rate in the progress and the log
	// stacked: the samples, of one shape, ran two at a time before training
	// (chooseMicroBatch): a failure in training is not a batch fixed inside
	stacked bool
	quiet   bool
	stdout  io.Writer
	stderr  io.Writer
}

// train fine-tunes net (or, when nil, a fresh net at the calibrated ranges) with
// opts and returns the checkpoint its picker chose.
func (t *qatTrainer) train(net *qat.Net, opts qat.Options) (*lrRun, error) {
	var err error
	if net == nil {
		if net, err = qat.New(t.model, t.cfg); err != nil {
			return nil, err
		}
		if err := net.SetRanges(t.ranges); err != nil {
			return nil, err
		}
	}
	if opts, err = opts.WithDefaults(); err != nil {
		return nil, usageErr("%v", err)
	}
	prefix := ""
	if t.multi {
		prefix = fmt.Sprintf("lr %g: ", opts.LR)
	}
	var bar *progress.Bar
	opts.Progress = func(ep, done, total int, loss, acc float64) {
		if bar == nil {
			bar = progress.New(t.stderr, fmt.Sprintf("%sepoch %d/%d", prefix, ep, opts.Epochs), total)
		}
		bar.Set(done)
	}
	opts.EpochEnd = func(s qat.EpochStats) {
		if bar != nil {
			bar.Done()
			bar = nil
		}
		switch {
		case t.quiet:
		case !t.rank.vsFloat:
			fmt.Fprintf(t.stdout, "%sepoch %d/%d: loss %.4f  train accuracy (fake-quant) %.2f %%  %.1f s\n", prefix, s.Epoch, opts.Epochs, s.Loss, 100*s.Accuracy, s.Seconds)
		case t.classes:
			fmt.Fprintf(t.stdout, "%sepoch %d/%d: loss %.4g  top-1 agreement with float32 (fake-quant) %.2f %%  %.1f s\n", prefix, s.Epoch, opts.Epochs, s.Loss, 100*s.Accuracy, s.Seconds)
		default:
			fmt.Fprintf(t.stdout, "%sepoch %d/%d: loss %.4g  %.1f s\n", prefix, s.Epoch, opts.Epochs, s.Loss, s.Seconds)
		}
	}
	pick := &checkpointPicker{net: net, ev: t.ev, qopts: t.qopts, margin: t.margin, rank: t.rank, last: t.last, epochs: float64(opts.Epochs)}
	opts.Checkpoint = pick.checkpoint
	if t.last {
		opts.CheckpointsPerEpoch = 1 // only the start and the end are scored
	}
	stats, err := net.Fit(t.data, opts)
	if bar != nil {
		bar.Done()
	}
	if err != nil {
		if in := batchOneInput(t.model.Graph); in != nil && opts.Batch > 1 && opts.MicroBatch != 1 && !t.stacked && !errors.Is(err, qat.ErrDiverged) {
			// A model exported at batch 1 often fixes it inside (a reshape to
			// [1, ...], a Resize to constant sizes) once Optimize folds its
			// shapes (--micro-batch 0 given, or a later shape of the data).
			return nil, fmt.Errorf("%w (the model declares batch 1, input %q %v, and may fix it inside: train with --micro-batch 1, or export the model with a dynamic batch axis)", err, in.Name, in.Shape)
		}
		return nil, err
	}
	run := &lrRun{lr: opts.LR, stats: stats, bound: net.BoundExport()}
	run.model, run.checkpoints, run.at = pick.result()
	if !t.quiet {
		fmt.Fprintf(t.stdout, "%scheckpoints (%s on %s):", prefix, t.rank.scoreName(t.classes), t.checkSet)
		for _, c := range run.checkpoints {
			mark := ""
			if c.Chosen {
				mark = "*"
			}
			fmt.Fprintf(t.stdout, " %.2f:%s%s", c.Epochs, t.rank.formatScore(c.score), mark)
		}
		fmt.Fprintf(t.stdout, "\n%schosen: the checkpoint at epoch %.2f\n", prefix, run.at)
	}
	return run, nil
}

// lrSelection returns the evaluator the learning rates are compared on: the held-back
// images when there are some (they also chose the checkpoint), else selectImages
// training images after the calibration and check images (as many as cut leaves),
// or, when the training set is too small for that, the check images.
func lrSelection(m *graph.Model, ds *dataset.Set, check *quantizer.Evaluator, checkSet string, valN, poolN, calibN int, cut func(int) int, threads int) (*quantizer.Evaluator, string, error) {
	if valN > 0 {
		return check, checkSet, nil
	}
	from, n := selectSlice(poolN, calibN)
	if n == 0 {
		return check, checkSet, nil
	}
	n = cut(n)
	ev, err := qatValidation(m, ds, from, n, threads, nil)
	if err != nil {
		return nil, "", err
	}
	return ev, fmt.Sprintf("training %s %d-%d, also trained on", sampleNoun(ds), from, from+n-1), nil
}

// selectSlice returns the training images the learning rates are compared on when
// none are held back: up to selectImages after the calibration and check images, or
// none (n = 0) when fewer than checkImages are left there.
func selectSlice(poolN, calibN int) (from, n int) {
	from = min(calibN, poolN) + checkImages
	if poolN-from < checkImages {
		return 0, 0
	}
	return from, min(selectImages, poolN-from)
}

// chooseLR scores each run's model on the selection images and returns the best run
// (the earlier rate wins a tie) and every rate tried, in the order tried.
func chooseLR(lrs []float64, runs []*lrRun, ev *quantizer.Evaluator, rank ranker) (*lrRun, []lrCandidate, error) {
	var best *lrRun
	byLR := map[float64]*lrCandidate{}
	for _, lr := range lrs {
		// select_accuracy has read 0 for a diverged rate since it was added
		byLR[lr] = &lrCandidate{LR: lr, Accuracy: new(float64), Diverged: true}
	}
	for _, r := range runs {
		sc, err := ev.Score(r.model)
		if err != nil {
			return nil, nil, fmt.Errorf("learning rate %g: %w", r.lr, err)
		}
		c := lrCandidate{LR: r.lr, EpochLog: r.stats, score: sc}
		c.Accuracy, c.Agreement, c.SQNR = scoreFields(sc)
		*byLR[r.lr] = c
		if best == nil || rank.better(sc, byLR[best.lr].score) {
			best = r
		}
	}
	byLR[best.lr].Chosen = true
	cands := make([]lrCandidate, len(lrs))
	for i, lr := range lrs {
		cands[i] = *byLR[lr]
	}
	return best, cands, nil
}

// batchOneInput returns an input of g when every input declares a batch of
// exactly 1 (a model exported for one sample), nil otherwise.
func batchOneInput(g *graph.Graph) *graph.Value {
	var first *graph.Value
	for _, in := range g.Inputs {
		if g.Initializers[in.Name] != nil {
			continue
		}
		if !in.HasShape || len(in.Shape) == 0 || !in.Shape[0].Known() || in.Shape[0].Size != 1 {
			return nil
		}
		if first == nil {
			first = in
		}
	}
	return first
}
