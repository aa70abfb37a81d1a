package qat

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"strings"
	"time"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
	"github.com/warboy-sim/warboy/quantizer"
)

// Data is a training set: Sample writes sample i (preprocessed float32, the model
// input without the batch dimension) into dst and returns its class (any value
// for the losses that need no labels, "distill" and "outputs"), or the error that kept it
// from reading the sample (an image file gone mid-run).
type Data interface {
	Len() int
	Sample(i int, dst []float32) (int, error)
}

// Options configure Fit. Zero values take the defaults noted.
type Options struct {
	Epochs int // default 1
	Batch  int // default 64
	// MicroBatch, when > 0 and below Batch, runs each step's batch that many
	// samples at a time (forward and backward) and accumulates the gradients of
	// the batch's mean loss before the one optimizer step (gradient
	// accumulation): the same step as the whole batch would take, for a model
	// that fixes its batch inside (exported at batch 1: MicroBatch 1) or one
	// whose batch does not fit in memory. The activation ranges move once per
	// step toward the whole batch's min/max (microbatch.go); with MicroBatch 1
	// BatchNorm uses its running statistics (one sample has no batch
	// statistics), with more each part's statistics, as PyTorch's accumulation
	// computes them. 0: the whole batch at once.
	MicroBatch int
	LR         float64 // peak learning rate, default 0.01 (SGD) or 1e-4 (AdamW)
	// Warmup is the fraction of all steps over which the learning rate rises linearly
	// from LR/steps to LR before the schedule starts (0: none).
	Warmup    float64
	Optimizer string // "sgd" (momentum 0.9, default) or "adamw"
	// WeightDecay (weights only; default 0 for SGD, 0.01 for AdamW).
	WeightDecay float64
	// Schedule: "cosine" (default: cosine decay to 0 over all steps) or "constant".
	Schedule string
	// FreezeBNAfter freezes the BatchNorm statistics of Conv+BN layers after this many
	// epochs (fractions allowed: 0.5 is half-way through the first epoch; 0: from the
	// start; < 0: never). From then on the layer computes the folded conv the int8
	// model runs.
	FreezeBNAfter float64
	// FreezeRangesAfter stops the EMA update of the activation ranges after this many
	// epochs (fractions allowed; < 0 or 0 with Ranges "fixed": never updated; PyTorch's
	// disable_observer): the weights then adapt to fixed int8 grids.
	FreezeRangesAfter float64
	// Ranges: "ema" (default: activation ranges follow each batch's min/max with
	// averaging constant 0.01, as PyTorch's MovingAverageMinMaxObserver), "ema-clip"
	// (the moving min/max scaled by the clipping the calibration chose: clipRef),
	// "fixed" (the calibrated ranges are kept) or "learned" (each range is a trainable
	// parameter, started from the calibrated range and stepped by the optimizer with
	// the LSQ gradient: lsq.go).
	Ranges string
	// Average, when > 0, writes the mean of the weights over the last Average fraction
	// of all steps (stochastic weight averaging, a sample after every step) instead of
	// the last weights (0: off, PyTorch's recipe).
	Average float64
	// Reestimate, when > 0, runs that many batches of training images forward after the
	// last step (and after Average) and sets the BatchNorm running statistics and the
	// activation ranges that are not frozen to the mean of those batches' statistics
	// (0: off, PyTorch's recipe: the moving averages of training are kept).
	Reestimate int
	// Distill, when > 0 (at most 1), is the weight of the distillation from Teacher in
	// the loss (DistillCrossEntropy; the labels' cross-entropy keeps 1 - Distill); 0:
	// off, PyTorch's recipe. Temperature is its temperature (default 1).
	Distill     float64
	Temperature float64
	Teacher     *Teacher
	// LabelSmoothing, when > 0 (below 1), trains the cross-entropy against labels
	// smoothed towards the uniform distribution (Szegedy et al., 2016; PyTorch's
	// CrossEntropyLoss(label_smoothing=...)): the true class gets 1 - LabelSmoothing +
	// LabelSmoothing/K, every class LabelSmoothing/K. 0: off, PyTorch's QAT recipe.
	LabelSmoothing float64
	// Loss: "ce" (default: the cross-entropy of the labels on the one [N, classes]
	// output), "distill" (that output's softmax matched to Teacher's, the float
	// model's, at Temperature, without labels: DistillKL) or "outputs" (every
	// output matched to Teacher's, without labels: outputloss.go).
	Loss string
	Seed int64
	// Progress is called after every step with the running loss and accuracy.
	Progress func(epoch, done, total int, loss, acc float64)
	// EpochEnd is called after every epoch.
	EpochEnd func(EpochStats)
	// Checkpoint, when not nil, is called before the first step (at 0) and
	// CheckpointsPerEpoch times per epoch (the last one after the epoch's last step),
	// with the training progress in epochs; the net may be exported there (for a
	// validation score, for example). An error stops training.
	Checkpoint          func(epochs float64) error
	CheckpointsPerEpoch int // default 1
}

// EpochStats summarises one epoch of training.
type EpochStats struct {
	Epoch    int     `json:"epoch"`
	Loss     float64 `json:"loss"`
	Accuracy float64 `json:"train_accuracy"`
	Seconds  float64 `json:"seconds"`
	LR       float64 `json:"last_lr"`
	// CPUSeconds is the process's CPU time (user + system, every thread) spent
	// in the epoch's training steps: the checkpoints scored during the epoch are
	// left out (Seconds, the wall-clock time, includes them). 0 where the system
	// has no process CPU time. On a shared machine it is the steadier figure:
	// other processes delay a step, they hardly make it use more CPU.
	CPUSeconds float64 `json:"cpu_seconds,omitempty"`
}

// DefaultOptions is the recommended training configuration, the one `warboy qat`
// starts from: PyTorch's eager QAT recipe (SGD with momentum, cosine decay, EMA
// activation ranges, BatchNorm statistics and ranges never frozen, no warmup). It
// differs from the zero Options, whose FreezeBNAfter of 0 freezes BatchNorm from the
// start; docs/quantizer.md ("QAT measurements") has what each choice costs.
func DefaultOptions() Options {
	return Options{
		Epochs:              1,
		Batch:               64,
		Optimizer:           "sgd",
		Schedule:            "cosine",
		Ranges:              "ema",
		Loss:                "ce",
		FreezeBNAfter:       -1,
		FreezeRangesAfter:   -1,
		Temperature:         1,
		CheckpointsPerEpoch: 1,
	}
}

// WithDefaults returns the options with the defaults filled in, or an error for an
// unknown optimizer, schedule or range mode.
func (o Options) WithDefaults() (Options, error) {
	err := o.defaults()
	return o, err
}

func (o *Options) defaults() error {
	if o.Epochs <= 0 {
		o.Epochs = 1
	}
	if o.Batch <= 0 {
		o.Batch = 64
	}
	o.Optimizer = strings.ToLower(o.Optimizer)
	switch o.Optimizer {
	case "", "sgd":
		o.Optimizer = "sgd"
		if o.LR == 0 {
			o.LR = 0.01
		}
	case "adamw":
		if o.LR == 0 {
			o.LR = 1e-4
		}
		if o.WeightDecay == 0 {
			o.WeightDecay = 0.01
		}
	default:
		return fmt.Errorf("qat: unknown optimizer %q (sgd, adamw)", o.Optimizer)
	}
	if o.CheckpointsPerEpoch <= 0 {
		o.CheckpointsPerEpoch = 1
	}
	if !(o.Warmup >= 0 && o.Warmup < 1) {
		return fmt.Errorf("qat: warmup %v is not a fraction of the steps in [0, 1)", o.Warmup)
	}
	switch o.Schedule {
	case "", "cosine", "constant":
	default:
		return fmt.Errorf("qat: unknown learning-rate schedule %q (cosine, constant)", o.Schedule)
	}
	switch o.Ranges {
	case "", "ema", "ema-clip", "fixed", "learned":
	default:
		return fmt.Errorf("qat: unknown range mode %q (ema, ema-clip, fixed, learned)", o.Ranges)
	}
	if !(o.Average >= 0 && o.Average <= 1) {
		return fmt.Errorf("qat: weight averaging over %v of the steps is not a fraction in [0, 1]", o.Average)
	}
	switch o.Loss {
	case "", "ce":
		o.Loss = "ce"
	case "distill", "outputs":
		if o.Distill > 0 {
			return fmt.Errorf("qat: distillation mixes the teacher into the labels' cross-entropy; the %s loss is the teacher's alone", o.Loss)
		}
	default:
		return fmt.Errorf("qat: unknown loss %q (ce, distill, outputs)", o.Loss)
	}
	if !(o.Distill >= 0 && o.Distill <= 1) {
		return fmt.Errorf("qat: distillation weight %v is not in [0, 1]", o.Distill)
	}
	if o.Temperature == 0 {
		o.Temperature = 1
	}
	if !(o.Temperature > 0) || math.IsInf(o.Temperature, 0) {
		return fmt.Errorf("qat: distillation temperature %v", o.Temperature)
	}
	if !(o.LabelSmoothing >= 0 && o.LabelSmoothing < 1) {
		return fmt.Errorf("qat: label smoothing %v is not in [0, 1)", o.LabelSmoothing)
	}
	if o.LabelSmoothing > 0 && (o.Distill > 0 || o.Loss != "ce") {
		return errors.New("qat: label smoothing softens the labels' cross-entropy; distillation already trains on soft targets (use one)")
	}
	if o.Reestimate < 0 {
		return fmt.Errorf("qat: %d re-estimation batches", o.Reestimate)
	}
	if o.MicroBatch < 0 {
		return fmt.Errorf("qat: micro-batch of %d samples", o.MicroBatch)
	}
	if o.MicroBatch >= o.Batch {
		o.MicroBatch = 0
	}
	if o.MicroBatch > 0 && o.Reestimate > 0 {
		return errors.New("qat: re-estimating the statistics runs whole batches; the model trains in micro-batches (use one)")
	}
	if o.LR < 0 || math.IsNaN(o.LR) || math.IsInf(o.LR, 0) {
		return fmt.Errorf("qat: learning rate %v", o.LR)
	}
	return nil
}

// SoftmaxCrossEntropy returns the mean cross-entropy of logits [N, K] against labels,
// the number of correct top-1 predictions, and writes d(loss)/d(logits) into grad.
func SoftmaxCrossEntropy(logits []float32, k int, labels []int, grad []float32) (float64, int) {
	return SmoothedCrossEntropy(logits, k, labels, 0, grad)
}

// SmoothedCrossEntropy is SoftmaxCrossEntropy against labels smoothed by eps (in
// [0, 1)): the target of row i is (1 - eps) on labels[i] plus eps/K on every class,
// so the loss is (1 - eps) * CE(labels) + eps * the mean over classes of
// (log-sum-exp - logit) and the gradient softmax - target.
func SmoothedCrossEntropy(logits []float32, k int, labels []int, eps float64, grad []float32) (float64, int) {
	n := len(labels)
	var loss float64
	correct := 0
	for i := 0; i < n; i++ {
		row := logits[i*k : (i+1)*k]
		mx, arg := row[0], 0
		for j, v := range row {
			if v > mx {
				mx, arg = v, j
			}
		}
		if arg == labels[i] {
			correct++
		}
		var sum, mean float64
		for _, v := range row {
			sum += math.Exp(float64(v - mx))
			mean += float64(v)
		}
		mean /= float64(k)
		lse := float64(mx) + math.Log(sum)
		loss += lse - float64(row[labels[i]])
		if eps != 0 {
			loss += eps * (float64(row[labels[i]]) - mean)
		}
		if grad != nil {
			g := grad[i*k : (i+1)*k]
			u := eps / float64(k)
			for j, v := range row {
				g[j] = float32((math.Exp(float64(v)-lse) - u) / float64(n))
			}
			if eps == 0 {
				g[labels[i]] -= 1 / float32(n) // as before smoothing existed, bit for bit
			} else {
				g[labels[i]] -= float32((1 - eps) / float64(n))
			}
		}
	}
	return loss / float64(n), correct
}

// Fit trains the net on data.
func (n *Net) Fit(data Data, opts Options) ([]EpochStats, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	if data == nil || data.Len() == 0 {
		return nil, errors.New("qat: no training data")
	}
	if (opts.Distill > 0 || opts.Loss != "ce") && opts.Teacher == nil {
		return nil, errors.New("qat: distillation needs a teacher")
	}
	for _, r := range n.ranges {
		if r.fixed == nil && !r.fromConst && !r.set {
			return nil, fmt.Errorf("qat: activation %q has no range (call SetRanges with calibrated ranges)", r.name)
		}
	}
	clip := opts.Ranges == "ema-clip"
	ema := opts.Ranges == "" || opts.Ranges == "ema" || clip
	n.emaRanges = ema
	for _, r := range n.ranges {
		r.clip, r.clipRef = clip, clipRef{}
	}
	learned := opts.Ranges == "learned"
	var rps []rangeParam
	var rangeOpt *optimizer
	if learned {
		rps, rangeOpt = n.learnedRanges(), newOptimizer(opts)
	}
	if n.cfg.WholeInputs && opts.Batch > 1 {
		opts.MicroBatch = 1 // whole inputs are not stacked
	}
	if err := n.fitFixedBatch(&opts, data.Len()); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewSource(opts.Seed))
	N := data.Len()
	plan, err := newBatchPlan(n, data, opts.Batch)
	if err != nil {
		return nil, err
	}
	if plan.ends != nil && opts.Reestimate > 0 {
		return nil, errors.New("qat: re-estimating the statistics reads batches of one shape; the data has several")
	}
	steps := plan.steps
	total := steps * opts.Epochs
	sched := newSchedule(opts, total)
	bnStep, rangeStep := atStep(opts.FreezeBNAfter, steps), atStep(opts.FreezeRangesAfter, steps)
	// Checkpoints fall after these steps of each epoch (the last after the epoch).
	var ckpt []int
	if opts.Checkpoint != nil {
		for c := 1; c <= opts.CheckpointsPerEpoch; c++ {
			ckpt = append(ckpt, (c*steps+opts.CheckpointsPerEpoch-1)/opts.CheckpointsPerEpoch)
		}
	}
	var ckCPU float64 // CPU seconds of the checkpoints scored in the current epoch
	checkpoint := func(at float64) error {
		if opts.Checkpoint == nil {
			return nil
		}
		c0, _ := cpuClock()
		err := opts.Checkpoint(at)
		c1, _ := cpuClock()
		ckCPU += c1 - c0
		if err != nil {
			return fmt.Errorf("qat: checkpoint at epoch %.2f: %w", at, err)
		}
		return nil
	}
	opt := newOptimizer(opts)
	avg := newWeightAverage(opts.Average, total)
	var x []float32
	labels := make([]int, opts.Batch)
	var grad []float32
	var outGrads [][]float32
	var stats []EpochStats
	step := 0
	n.training = true
	defer func() { n.training, n.emaRanges, n.frozenBN, n.learnRanges = false, ema, false, false }()
	if err := checkpoint(0); err != nil {
		return nil, err
	}
	for ep := 0; ep < opts.Epochs; ep++ {
		batches, groups := plan.epoch(rng)
		start := time.Now()
		cpu0, cpuOK := cpuClock()
		ckCPU = 0
		var lossSum float64
		correct, seen, next := 0, 0, 0
		lr := opts.LR
		for s := 0; s < steps; s++ {
			n.frozenBN = (bnStep >= 0 && step >= bnStep) || opts.MicroBatch == 1
			n.emaRanges = ema && !(rangeStep >= 0 && step >= rangeStep)
			n.learnRanges = learned && !(rangeStep >= 0 && step >= rangeStep)
			idx := batches[s]
			b := len(idx)
			if groups != nil {
				if err := n.SetSampleShapes(plan.shapes[groups[s]]); err != nil {
					return stats, err
				}
				if opts.Teacher != nil {
					if err := opts.Teacher.net.SetSampleShapes(plan.shapes[groups[s]]); err != nil {
						return stats, fmt.Errorf("qat teacher: %w", err)
					}
				}
			}
			per := n.SampleLen()
			x = grow(x, b*per)
			for i, j := range idx {
				l, err := data.Sample(j, x[i*per:(i+1)*per])
				if err != nil {
					return stats, fmt.Errorf("qat: training sample %d: %w", j, err)
				}
				labels[i] = l
			}
			loss, c, err := n.batchGrads(opts, x[:b*per], labels[:b], per, rps, &grad, &outGrads)
			if err != nil {
				return stats, err
			}
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				if ep == 0 && s == 0 {
					// before any update: no learning rate would help
					return stats, fmt.Errorf("qat: the loss is %v at the first step, before any update: the model or its fake quantization computes non-finite values on the training data", loss)
				}
				return stats, fmt.Errorf("qat: %w (%v) at epoch %d step %d; lower --lr", ErrDiverged, loss, ep+1, s+1)
			}
			if step == 0 {
				if p := nonFiniteGrad(n.params); p != "" {
					// before any update, as a non-finite loss: no rate would help
					return stats, fmt.Errorf("qat: the gradient of %s is not finite at the first step, before any update: the model's gradient overflows float32 or is undefined on the training data (an output the int8 net computes far from the float model's, a square root at 0)", p)
				}
			}
			lr = sched.lr(step)
			opt.step(n.params, lr, n.threads)
			if p := nonFiniteParam(n.params); p != "" {
				// The loss alone does not show it: fake quantization clamps an
				// exploded activation to its range (which takes finite values only).
				return stats, fmt.Errorf("qat: %w (%s is no longer finite) at epoch %d step %d; lower --lr", ErrDiverged, p, ep+1, s+1)
			}
			if n.learnRanges {
				rangeOpt.step(rangeGradsToParams(rps), lr, 1)
				paramsToRanges(rps)
			}
			avg.add(n.params, step)
			step++
			if step == total && (avg != nil || opts.Reestimate > 0) {
				// The written weights and statistics, before the last checkpoint scores them.
				avg.apply(n.params)
				if opts.Reestimate > 0 {
					if err := n.reestimate(data, opts.Reestimate, opts.Batch, rng); err != nil {
						return stats, err
					}
				}
			}
			lossSum += loss * float64(b)
			correct += c
			seen += b
			if opts.Progress != nil {
				opts.Progress(ep+1, seen, N, lossSum/float64(seen), float64(correct)/float64(seen))
			}
			if next < len(ckpt) && s+1 == ckpt[next] {
				next++
				if err := checkpoint(float64(ep) + float64(s+1)/float64(steps)); err != nil {
					return stats, err
				}
			}
		}
		st := EpochStats{Epoch: ep + 1, Loss: lossSum / float64(seen), Accuracy: float64(correct) / float64(seen),
			Seconds: time.Since(start).Seconds(), LR: lr}
		if cpu1, ok := cpuClock(); ok && cpuOK {
			st.CPUSeconds = max(0, cpu1-cpu0-ckCPU)
		}
		stats = append(stats, st)
		if opts.EpochEnd != nil {
			opts.EpochEnd(st)
		}
	}
	return stats, nil
}

// crossEntropyStep computes the cross-entropy of the labels (mixed with the
// teacher's distillation when opts.Distill > 0) on the output of the last
// Forward, its gradient into *grad, and the number of correct predictions.
func (n *Net) crossEntropyStep(opts Options, x []float32, labels []int, grad *[]float32) (float64, int, error) {
	b := len(labels)
	shape, logits := n.lossLogits()
	if len(shape) != 2 || shape[0] != b {
		return 0, 0, fmt.Errorf("qat: the output has shape %v; the cross-entropy needs [N, classes] (the outputs loss trains on the float model's outputs instead)", shape)
	}
	k := shape[1]
	if k < 2 {
		return 0, 0, fmt.Errorf("qat: the output has shape %v: one score is not class scores (the outputs loss trains on it)", shape)
	}
	for _, l := range labels {
		if l < 0 || l >= k {
			return 0, 0, fmt.Errorf("qat: label %d outside the %d classes of the output", l, k)
		}
	}
	*grad = grow(*grad, b*k)
	if opts.Distill == 0 {
		loss, c := SmoothedCrossEntropy(logits, k, labels, opts.LabelSmoothing, *grad)
		return loss, c, nil
	}
	tshape, tl, err := opts.Teacher.logits(x, b)
	if err != nil {
		return 0, 0, err
	}
	if len(tshape) != 2 || tshape[0] != b || tshape[1] != k {
		return 0, 0, fmt.Errorf("qat: the teacher's output has shape %v, the net's %v", tshape, shape)
	}
	loss, c := DistillCrossEntropy(logits, tl, k, labels, opts.Distill, opts.Temperature, *grad)
	return loss, c, nil
}

// distillStep computes the label-free distillation loss (DistillKL) of the output of
// the last Forward against the teacher's on the same batch, its gradient into *grad,
// and the number of rows whose top-1 class is the teacher's.
func (n *Net) distillStep(opts Options, x []float32, b int, grad *[]float32) (float64, int, error) {
	shape, logits := n.lossLogits()
	if len(shape) != 2 || shape[0] != b {
		return 0, 0, fmt.Errorf("qat: the output has shape %v; distillation needs [N, classes] (the outputs loss matches outputs of any shape)", shape)
	}
	if shape[1] < 2 {
		return 0, 0, fmt.Errorf("qat: the output has shape %v: one score is not class scores (the outputs loss trains on it)", shape)
	}
	tshape, tl, err := opts.Teacher.logits(x, b)
	if err != nil {
		return 0, 0, fmt.Errorf("qat teacher: %w", err)
	}
	if !equalShape(tshape, shape) {
		return 0, 0, fmt.Errorf("qat: the teacher's output has shape %v, the net's %v", tshape, shape)
	}
	*grad = grow(*grad, len(logits))
	loss, agree := DistillKL(logits, tl, shape[1], opts.Temperature, *grad)
	return loss, agree, nil
}

// outputsStep computes the output-matching loss (outputloss.go) of the last
// Forward against the teacher on the same batch (with the teacher variances vars
// of the whole batch when x is a part of it, nil otherwise, and the teacher's
// outputs on x when pre holds them), its gradients into *grads, and
// the number of rows whose top-1 class agrees with the teacher's when the first
// output is [N, classes] (0 otherwise).
func (n *Net) outputsStep(t *Teacher, x []float32, b int, grads *[][]float32, vars []float64, pre *teacherOutputs) (float64, int, error) {
	shapes, s := n.outputValues()
	var tshapes [][]int
	var ts [][]float32
	if pre != nil {
		tshapes, ts = pre.shapes, pre.vals // run on this part already (batchOutputVars)
	} else {
		var err error
		if tshapes, ts, err = t.outputs(x, b); err != nil {
			return 0, 0, fmt.Errorf("qat teacher: %w", err)
		}
	}
	if len(tshapes) != len(shapes) {
		return 0, 0, fmt.Errorf("qat: the teacher has %d outputs, the net %d", len(tshapes), len(shapes))
	}
	for i := range shapes {
		if !equalShape(shapes[i], tshapes[i]) {
			return 0, 0, fmt.Errorf("qat: output %d has shape %v, the teacher's %v", i, shapes[i], tshapes[i])
		}
	}
	g := *grads
	if len(g) != len(s) {
		g = make([][]float32, len(s))
	}
	for i := range s {
		g[i] = grow(g[i], len(s[i]))
	}
	*grads = g
	loss, err := outputMatchLoss(s, ts, g, vars)
	if err != nil {
		return 0, 0, err
	}
	agree, _ := top1Agreement(shapes[0], s[0], ts[0])
	return loss, agree, nil
}

// atStep converts a point of training in epochs to a step (-1 for a negative point:
// never).
func atStep(epochs float64, stepsPerEpoch int) int {
	if epochs < 0 || math.IsNaN(epochs) {
		return -1
	}
	return int(math.Round(epochs * float64(stepsPerEpoch)))
}

// schedule is the learning rate of each step: a linear warmup over the first warm
// steps, then cosine decay to 0 at the last step (or constant).
type schedule struct {
	peak        float64
	warm, total int
	cosine      bool
}

func newSchedule(o Options, total int) schedule {
	warm := int(math.Round(o.Warmup * float64(total)))
	return schedule{peak: o.LR, warm: min(warm, total-1), total: total, cosine: o.Schedule != "constant"}
}

func (s schedule) lr(step int) float64 {
	if step < s.warm {
		return s.peak * float64(step+1) / float64(s.warm+1)
	}
	if !s.cosine {
		return s.peak
	}
	return s.peak * 0.5 * (1 + math.Cos(math.Pi*float64(step-s.warm)/float64(s.total-s.warm)))
}

// optimizer is SGD with momentum 0.9 or AdamW (decoupled weight decay).
type optimizer struct {
	kind   string
	wd     float64
	t      int
	b1, b2 float64
}

func newOptimizer(o Options) *optimizer {
	return &optimizer{kind: o.Optimizer, wd: o.WeightDecay, b1: 0.9, b2: 0.999}
}

func (o *optimizer) step(ps []*Param, lr float64, threads int) {
	o.t++
	for _, p := range ps {
		if p.frozen {
			continue
		}
		if p.m == nil {
			p.m = make([]float32, len(p.W))
			if o.kind == "adamw" {
				p.v = make([]float32, len(p.W))
			}
		}
		wd := 0.0
		if p.Decay {
			wd = o.wd
		}
		// Element-wise: the split over threads does not change the result.
		th := 1
		if len(p.W) >= 1<<14 {
			th = threads
		}
		parallel(len(p.W), th, func(lo, hi int) { o.update(p, lr, wd, lo, hi) })
	}
}

func (o *optimizer) update(p *Param, lr, wd float64, lo, hi int) {
	switch o.kind {
	case "adamw":
		c1 := 1 - math.Pow(o.b1, float64(o.t))
		c2 := 1 - math.Pow(o.b2, float64(o.t))
		for i := lo; i < hi; i++ {
			g := p.G[i]
			m := o.b1*float64(p.m[i]) + (1-o.b1)*float64(g)
			v := o.b2*float64(p.v[i]) + (1-o.b2)*float64(g)*float64(g)
			p.m[i], p.v[i] = float32(m), float32(v)
			w := float64(p.W[i]) * (1 - lr*wd)
			p.W[i] = float32(w - lr*(m/c1)/(math.Sqrt(v/c2)+1e-8))
		}
	default: // SGD, PyTorch's form: v = 0.9 v + (g + wd w); w -= lr v
		for i := lo; i < hi; i++ {
			d := float64(p.G[i]) + wd*float64(p.W[i])
			v := 0.9*float64(p.m[i]) + d
			p.m[i] = float32(v)
			p.W[i] = float32(float64(p.W[i]) - lr*v)
		}
	}
}

// Export writes the trained weights (Conv+BN layers folded with their running
// statistics) and activation ranges into the quantize-ready graph and returns the
// standard QDQ model that quantizer.Quantize writes.
func (n *Net) Export(opts quantizer.QuantOptions) (*graph.Model, error) {
	opts.Exclude = n.cfg.Exclude
	n.boundExport = n.declaredErr
	if n.declared != nil {
		// Trained at Config.SampleShape: the weights and ranges go into the model as
		// declared, so that the int8 model takes every input size the float one
		// took. When they do not carry over by name (Optimize rewrote a layer for
		// the known sizes: a convolution whose outer taps read only padding at this
		// size is cut to its centre taps, and its outer weights were never trained),
		// the model is written at the sample shape and BoundExport says why.
		q, err := n.exportDeclared(opts)
		if err == nil {
			return q, nil
		}
		n.boundExport = err
	}
	m, err := n.floatModel(n.plan)
	if err != nil {
		return nil, err
	}
	return quantizer.Quantize(m, n.Ranges(), opts)
}

func (n *Net) exportDeclared(opts quantizer.QuantOptions) (*graph.Model, error) {
	inits := n.declared.Model.Graph.Initializers
	for _, p := range n.params { // sorted by name: the same weight named every time
		if name := p.Name; n.byName[name] == p && inits[name] == nil {
			return nil, fmt.Errorf("the trained weight %q exists only at this size (the graph optimizer rewrote its layer for it, e.g. cut a convolution to the taps that read the input)", name)
		}
	}
	m, err := n.floatModel(n.declared)
	if err != nil {
		return nil, err
	}
	return quantizer.Quantize(m, n.Ranges(), opts)
}

// BoundExport is nil when the last Export wrote the model with its input as
// declared; for a model trained at Config.SampleShape whose trained weights fit
// only that size, it is the reason the model was written at that size.
func (n *Net) BoundExport() error { return n.boundExport }

// FloatModel returns the quantize-ready float graph with the trained weights (at
// the sample shape it trained at, see Config.SampleShape).
func (n *Net) FloatModel() (*graph.Model, error) { return n.floatModel(n.plan) }

func (n *Net) floatModel(plan *quantizer.TrainingPlan) (*graph.Model, error) {
	m := plan.Model.Clone()
	g := m.Graph
	set := func(name string, data []float32) error {
		t := g.Initializers[name]
		if t == nil || t.DType != graph.Float32 || t.Len() != len(data) {
			return fmt.Errorf("qat export: initializer %q does not match the trained parameter", name)
		}
		g.Initializers[name] = graph.FromFloat32(t.Shape, append([]float32(nil), data...))
		return nil
	}
	for name, p := range n.byName {
		if err := set(name, p.W); err != nil {
			return nil, err
		}
	}
	for _, c := range n.convBNs {
		w, b := c.folded()
		if err := set(c.fused.Input(1), w); err != nil {
			return nil, err
		}
		if c.fused.Input(2) == "" {
			return nil, fmt.Errorf("qat export: folded conv %s has no bias", c.node)
		}
		if err := set(c.fused.Input(2), b); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// cpuClock reads the process CPU time for EpochStats.CPUSeconds (a variable so
// that a test can count instead).
var cpuClock = processCPUSeconds

// nonFiniteParam names a parameter holding an infinity or a NaN ("" if none).
func nonFiniteParam(ps []*Param) string {
	return nonFinite(ps, func(p *Param) []float32 { return p.W })
}

// nonFiniteGrad names a parameter whose gradient is not finite ("" if none).
func nonFiniteGrad(ps []*Param) string {
	return nonFinite(ps, func(p *Param) []float32 { return p.G })
}

func nonFinite(ps []*Param, of func(*Param) []float32) string {
	for _, p := range ps {
		v := of(p)
		if len(v) == 0 {
			continue
		}
		if lo, hi := kernels.MinMaxF32(v); isInfOrNaN(lo) || isInfOrNaN(hi) {
			return p.Name
		}
	}
	return ""
}
